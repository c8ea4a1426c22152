package wallet

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Verification against a key that is checked again and again (a
// validator's consensus key signs two votes at every height, and every
// node checks each of them) spends most of its time in u2·Q, a scalar
// multiplication of a point known only at run time: about 128 doublings
// and 86 additions in dcrd's ScalarMultNonConst. For a key kept in memory
// the multiples of Q can be computed once, as the generator's are: with a
// table of the affine points j·2^(w·i)·Q (i < tableWindows, 1 ≤ j ≤
// 2^(w-1)), u2·Q is one signed digit per window and one mixed addition per
// non-zero digit, with no doubling (the fixed-base comb of [GECC] §3.3.2,
// signed digits halving the table). Verify then costs about 40 % of
// dcrd's (BenchmarkVerifyPrecomputed beside BenchmarkVerify).
//
// The table of w = 6 holds 43 × 32 points of 80 bytes: 110 KB a key.

const (
	tableW       = 6
	tableWindows = 256/tableW + 1 // the signed recoding can carry out of the top bits
	tableHalf    = 1 << (tableW - 1)
)

// affinePoint is a point with Z = 1, X and Y normalized.
type affinePoint struct{ x, y secp256k1.FieldVal }

// keyTable is the precomputed multiples of one public key.
type keyTable [tableWindows][tableHalf]affinePoint

// Precomputed returns a copy of p that verifies signatures faster (see
// above), at the cost of 110 KB and about as much time as ten
// verifications to build. Meant for keys checked many times: validators'
// consensus keys, kept for as long as the validator set does not change.
// The copy is immutable and safe for concurrent use.
func (p *PublicKey) Precomputed() *PublicKey {
	if p.tab != nil {
		return p
	}
	return &PublicKey{k: p.k, tab: buildTable(p.k)}
}

// buildTable computes j·2^(w·i)·Q in Jacobian coordinates, then converts
// them all to affine with one field inversion (Montgomery's trick).
func buildTable(q *secp256k1.PublicKey) *keyTable {
	const total = tableWindows * tableHalf
	pts := make([]secp256k1.JacobianPoint, total)
	var base secp256k1.JacobianPoint
	q.AsJacobian(&base)
	for i := 0; i < tableWindows; i++ {
		row := pts[i*tableHalf : (i+1)*tableHalf]
		row[0].Set(&base)
		for j := 1; j < tableHalf; j++ {
			secp256k1.AddNonConst(&row[j-1], &base, &row[j])
		}
		// The next window's base, 2^w times this one: twice the last
		// point of the row.
		secp256k1.DoubleNonConst(&row[tableHalf-1], &base)
	}
	// prefix[i] = Z_0 ⋯ Z_i; one inversion of the whole product, then walk
	// back: inv(Z_i) = prefix[i-1] · inv(Z_0 ⋯ Z_i).
	prefix := make([]secp256k1.FieldVal, total)
	prefix[0].Set(&pts[0].Z)
	for i := 1; i < total; i++ {
		prefix[i].Mul2(&prefix[i-1], &pts[i].Z)
	}
	var inv secp256k1.FieldVal
	inv.Set(&prefix[total-1]).Inverse()
	t := new(keyTable)
	for i := total - 1; i >= 0; i-- {
		var zInv secp256k1.FieldVal
		if i > 0 {
			zInv.Mul2(&inv, &prefix[i-1])
			inv.Mul(&pts[i].Z)
		} else {
			zInv.Set(&inv)
		}
		var z2, z3 secp256k1.FieldVal
		z2.SquareVal(&zInv)
		z3.Mul2(&z2, &zInv)
		a := &t[i/tableHalf][i%tableHalf]
		a.x.Mul2(&pts[i].X, &z2).Normalize()
		a.y.Mul2(&pts[i].Y, &z3).Normalize()
	}
	return t
}

// mul sets r = k·Q from the table.
func (t *keyTable) mul(k *secp256k1.ModNScalar, r *secp256k1.JacobianPoint) {
	b := k.Bytes()
	r.X.Zero()
	r.Y.Zero()
	r.Z.Zero()
	var p secp256k1.JacobianPoint
	p.Z.SetInt(1)
	carry := 0
	for i := 0; i < tableWindows; i++ {
		d := bitsAt(&b, i*tableW) + carry
		carry = 0
		if d > tableHalf {
			d -= 1 << tableW
			carry = 1
		}
		switch {
		case d > 0:
			a := &t[i][d-1]
			p.X.Set(&a.x)
			p.Y.Set(&a.y)
		case d < 0:
			a := &t[i][-d-1]
			p.X.Set(&a.x)
			p.Y.NegateVal(&a.y, 1).Normalize()
		default:
			continue
		}
		secp256k1.AddNonConst(r, &p, r)
	}
}

// bitsAt returns the tableW bits of the big-endian 256-bit b starting at
// bit off (bit 0 is the least significant), zero past the top.
func bitsAt(b *[32]byte, off int) int {
	v := 0
	for k := tableW - 1; k >= 0; k-- {
		bit := off + k
		v <<= 1
		if bit < 256 && b[31-bit/8]>>(bit%8)&1 == 1 {
			v |= 1
		}
	}
	return v
}

// orderField is the group order N as a field element.
var orderField = func() secp256k1.FieldVal {
	var f secp256k1.FieldVal
	n := secp256k1.Params().N.Bytes()
	f.SetByteSlice(n)
	return f
}()

// verifyTable is ECDSA verification (SEC 1 §4.1.4, steps as in dcrd's
// ecdsa.Signature.Verify) with u2·Q from the table. r and s are in
// [1, N-1] (parseRS).
func verifyTable(t *keyTable, hash []byte, r, s *secp256k1.ModNScalar) bool {
	var e secp256k1.ModNScalar
	e.SetByteSlice(hash)
	w := new(secp256k1.ModNScalar).InverseValNonConst(s)
	u1 := new(secp256k1.ModNScalar).Mul2(&e, w)
	u2 := new(secp256k1.ModNScalar).Mul2(r, w)
	var x, u1G, u2Q secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(u1, &u1G)
	t.mul(u2, &u2Q)
	secp256k1.AddNonConst(&u1G, &u2Q, &x)
	if (x.X.IsZero() && x.Y.IsZero()) || x.Z.IsZero() {
		return false
	}
	// x.X / Z² == r (mod P), or r + N when r + N < P.
	z := new(secp256k1.FieldVal).SquareVal(&x.Z)
	rb := r.Bytes()
	var rf secp256k1.FieldVal
	rf.SetBytes(&rb)
	var res secp256k1.FieldVal
	res.Mul2(&rf, z).Normalize()
	x.X.Normalize()
	if res.Equals(&x.X) {
		return true
	}
	if rf.IsGtOrEqPrimeMinusOrder() {
		return false
	}
	rf.Add(&orderField)
	res.Mul2(&rf, z).Normalize()
	return res.Equals(&x.X)
}
