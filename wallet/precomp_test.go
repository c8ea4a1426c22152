package wallet

import (
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// scalarOf reduces v mod N into a ModNScalar.
func scalarOf(v *big.Int) *secp256k1.ModNScalar {
	var b [32]byte
	new(big.Int).Mod(v, secp256k1.Params().N).FillBytes(b[:])
	var s secp256k1.ModNScalar
	s.SetBytes(&b)
	return &s
}

// TestTableMulMatchesScalarMult: k·Q from the table equals dcrd's
// ScalarMultNonConst for edge scalars (0, 1, N-1, powers of two at and
// around every window boundary, digits at the carry threshold 2^(w-1),
// all ones) and for seeded random ones.
func TestTableMulMatchesScalarMult(t *testing.T) {
	k, _ := GenerateKeyFrom(seeded(71))
	tab := buildTable(k.Public().k)
	var q secp256k1.JacobianPoint
	k.Public().k.AsJacobian(&q)
	n := secp256k1.Params().N
	var ks []*big.Int
	for _, v := range []int64{0, 1, 2, 31, 32, 33, 63, 64, 65} {
		ks = append(ks, big.NewInt(v))
	}
	ks = append(ks, new(big.Int).Sub(n, big.NewInt(1)), new(big.Int).Sub(n, big.NewInt(2)), new(big.Int).Rsh(n, 1))
	for i := 0; i <= 256; i++ {
		p := new(big.Int).Lsh(big.NewInt(1), uint(i))
		ks = append(ks, p, new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Add(p, big.NewInt(1)))
		// A digit exactly at the carry threshold in window i/w, and one past it.
		ks = append(ks, new(big.Int).Lsh(big.NewInt(tableHalf), uint(i)), new(big.Int).Lsh(big.NewInt(tableHalf+1), uint(i)))
	}
	// Every window's digit 32 (carries everywhere) and every digit 31.
	var d32, d31 big.Int
	for i := 0; i < tableWindows; i++ {
		d32.Add(&d32, new(big.Int).Lsh(big.NewInt(32), uint(tableW*i)))
		d31.Add(&d31, new(big.Int).Lsh(big.NewInt(31), uint(tableW*i)))
	}
	ks = append(ks, &d32, &d31)
	r := seeded(72)
	for i := 0; i < 300; i++ {
		var b [32]byte
		r.Read(b[:])
		ks = append(ks, new(big.Int).SetBytes(b[:]))
	}
	for _, v := range ks {
		s := scalarOf(v)
		var want, got secp256k1.JacobianPoint
		secp256k1.ScalarMultNonConst(s, &q, &want)
		tab.mul(s, &got)
		if !want.EquivalentNonConst(&got) {
			want.ToAffine()
			got.ToAffine()
			t.Fatalf("k = %x: table gives (%v, %v), ScalarMult (%v, %v)", v, &got.X, &got.Y, &want.X, &want.Y)
		}
	}
}

// TestVerifyPrecomputedMatches: for seeded keys, the precomputed key
// accepts exactly what dcrd's Verify accepts: valid signatures, and not
// signatures by another key, of another hash, or with R or S changed.
func TestVerifyPrecomputedMatches(t *testing.T) {
	r := seeded(73)
	var keys []*PrivateKey
	for i := 0; i < 4; i++ {
		k, _ := GenerateKeyFrom(r)
		keys = append(keys, k)
	}
	pre := make([]*PublicKey, len(keys))
	for i, k := range keys {
		pre[i] = k.Public().Precomputed()
		if pre[i].Precomputed() != pre[i] {
			t.Fatal("Precomputed of a precomputed key built a new table")
		}
	}
	rounds := 400
	if testing.Short() {
		rounds = 60 // under qemu in make cross-test
	}
	accepted, refused := 0, 0
	for i := 0; i < rounds; i++ {
		var h [32]byte
		r.Read(h[:])
		signer := keys[i%len(keys)]
		sig := signer.SignHash(h)
		cases := []struct {
			h   [32]byte
			sig Signature
		}{{h, sig}}
		h2 := h
		h2[i%32] ^= 1 << (i % 8)
		cases = append(cases, struct {
			h   [32]byte
			sig Signature
		}{h2, sig})
		bad := sig
		bad[31-i%8] ^= 1
		cases = append(cases, struct {
			h   [32]byte
			sig Signature
		}{h, bad})
		bad = sig
		bad[63-i%8] ^= 1
		cases = append(cases, struct {
			h   [32]byte
			sig Signature
		}{h, bad})
		for j, pub := range pre {
			for _, c := range cases {
				want := plainVerify(keys[j].Public(), c.h, c.sig)
				got := VerifyHash(pub, c.h, c.sig)
				if (want == nil) != (got == nil) {
					t.Fatalf("key %d, hash %x, sig %x: dcrd %v, precomputed %v", j, c.h, c.sig, want, got)
				}
				if got == nil {
					accepted++
				} else {
					refused++
				}
			}
		}
	}
	if accepted != rounds || refused == 0 {
		t.Fatalf("accepted %d, refused %d", accepted, refused)
	}
}

// TestVerifyPrecomputedLargeR: a signature whose R is the x-coordinate of
// kG reduced mod N when that x is at least N (the R + N branch). Such R
// cannot be made by signing (x ≥ N has probability about 2^-128), so the
// point is built directly: Q = r⁻¹(sX - eG) for the point X with x ≥ N,
// here the point with x = N + 1 if it is on the curve, or the next one.
func TestVerifyPrecomputedLargeR(t *testing.T) {
	n := secp256k1.Params().N
	var xp secp256k1.JacobianPoint
	x := new(big.Int).Add(n, big.NewInt(1))
	for ; ; x.Add(x, big.NewInt(1)) {
		var xf secp256k1.FieldVal
		var xb [32]byte
		x.FillBytes(xb[:])
		xf.SetBytes(&xb)
		var y secp256k1.FieldVal
		if secp256k1.DecompressY(&xf, false, &y) {
			xp.X.Set(&xf)
			xp.Y.Set(&y)
			xp.Z.SetInt(1)
			break
		}
	}
	rv := new(big.Int).Sub(x, n) // r = x mod N
	r := scalarOf(rv)
	s := scalarOf(big.NewInt(12345))
	var h [32]byte
	h[31] = 7
	e := scalarOf(new(big.Int).SetBytes(h[:]))
	// Q = r⁻¹ (s·X − e·G)
	var sX, eG, q secp256k1.JacobianPoint
	secp256k1.ScalarMultNonConst(s, &xp, &sX)
	secp256k1.ScalarBaseMultNonConst(new(secp256k1.ModNScalar).NegateVal(e), &eG)
	secp256k1.AddNonConst(&sX, &eG, &q)
	secp256k1.ScalarMultNonConst(new(secp256k1.ModNScalar).InverseValNonConst(r), &q, &q)
	q.ToAffine()
	pub := &PublicKey{k: secp256k1.NewPublicKey(&q.X, &q.Y)}
	var sig Signature
	rb, sb := r.Bytes(), s.Bytes()
	copy(sig[:32], rb[:])
	copy(sig[32:64], sb[:])
	if err := plainVerify(pub, h, sig); err != nil {
		t.Fatalf("dcrd refuses the constructed signature: %v", err)
	}
	if err := VerifyHash(pub.Precomputed(), h, sig); err != nil {
		t.Fatalf("precomputed refuses the R + N signature: %v", err)
	}
	sig[40] ^= 1
	if plainVerify(pub, h, sig) == nil || VerifyHash(pub.Precomputed(), h, sig) == nil {
		t.Fatal("a changed S verified")
	}
}

// plainVerify is VerifyHash without the table.
func plainVerify(pub *PublicKey, h [32]byte, sig Signature) error {
	return VerifyHash(&PublicKey{k: pub.k}, h, sig)
}

// FuzzVerifyPrecomputed: for any key seed, hash and signature bytes, the
// precomputed key and dcrd's Verify agree.
func FuzzVerifyPrecomputed(f *testing.F) {
	k, _ := GenerateKeyFrom(seeded(74))
	h := [32]byte{1, 2, 3}
	sig := k.SignHash(h)
	f.Add(uint8(0), h[:], sig[:])
	f.Add(uint8(1), h[:], sig[:])
	var keys [4]*PrivateKey
	var pre [4]*PublicKey
	for i := range keys {
		keys[i], _ = GenerateKeyFrom(seeded(74 + uint64(i)))
		pre[i] = keys[i].Public().Precomputed()
	}
	f.Fuzz(func(t *testing.T, ki uint8, hash, sigb []byte) {
		if len(hash) != 32 || len(sigb) != 65 {
			return
		}
		var hh [32]byte
		copy(hh[:], hash)
		var s Signature
		copy(s[:], sigb)
		i := int(ki) % len(keys)
		want := plainVerify(keys[i].Public(), hh, s)
		got := VerifyHash(pre[i], hh, s)
		if (want == nil) != (got == nil) {
			t.Fatalf("dcrd %v, precomputed %v", want, got)
		}
	})
}

// TestPrecomputedVerifiesSign: what ecdsa.Sign makes verifies against the
// precomputed key (a cross-check outside wallet's own signing path).
func TestPrecomputedVerifiesSign(t *testing.T) {
	k, _ := GenerateKeyFrom(seeded(79))
	pub := k.Public().Precomputed()
	for i := 0; i < 50; i++ {
		h := [32]byte{byte(i), 9}
		es := ecdsa.Sign(k.k, h[:])
		var sig Signature
		rr, ss := es.R(), es.S()
		rb, sb := rr.Bytes(), ss.Bytes()
		copy(sig[:32], rb[:])
		copy(sig[32:64], sb[:])
		if err := VerifyHash(pub, h, sig); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkVerifyPrecomputed(b *testing.B) {
	k, h, sig := benchKeyAndSig(b)
	pub := k.Public().Precomputed()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := VerifyHash(pub, h, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrecompute(b *testing.B) {
	k, _, _ := benchKeyAndSig(b)
	pub := k.Public()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = pub.Precomputed()
	}
}
