package smt

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/codec"
)

// proofCase is a proof the tree made, with what it claims.
type proofCase struct {
	key, value []byte // value nil: absence
	proof      Proof
	root       [32]byte
}

func makeProofs(t *testing.T, h *harness, rng *rand.Rand, keySpace, n int) []proofCase {
	t.Helper()
	var out []proofCase
	for i := 0; i < n; i++ {
		k := fmt.Appendf(nil, "acct/%d", rng.IntN(keySpace))
		p, v, root, err := h.tree.Prove(k)
		if err != nil {
			t.Fatal(err)
		}
		if root != h.tree.Root() {
			t.Fatalf("proof root %x, tree root %x", root, h.tree.Root())
		}
		if mv := h.model[string(k)]; !bytes.Equal(v, mv) {
			t.Fatalf("Prove(%q) value %q, model %q", k, v, mv)
		}
		out = append(out, proofCase{key: k, value: v, proof: p, root: root})
	}
	return out
}

func TestProofs(t *testing.T) {
	for _, size := range []int{0, 1, 2, 3, 50, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := newHarness(t)
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			var changes []Change
			for i := 0; i < size; i++ {
				changes = append(changes, Change{Key: fmt.Appendf(nil, "acct/%d", 2*i), Value: fmt.Appendf(nil, "v%d", rng.Uint64())})
			}
			h.apply(changes)
			var incl, exclLeaf, exclEmpty int
			for _, c := range makeProofs(t, h, rng, 2*size+10, 200) {
				switch {
				case c.value != nil:
					incl++
				case c.proof.HasLeaf:
					exclLeaf++
				default:
					exclEmpty++
				}
				if err := VerifyProof(c.root, c.key, c.value, c.proof); err != nil {
					t.Fatalf("%q: %v", c.key, err)
				}
				// The encoding round-trips and the decoded proof verifies.
				enc := codec.Encode(&c.proof)
				var p Proof
				if err := codec.Decode(enc, &p); err != nil {
					t.Fatalf("decode: %v", err)
				}
				if !bytes.Equal(codec.Encode(&p), enc) {
					t.Fatal("re-encoding differs")
				}
				if err := VerifyProof(c.root, c.key, c.value, p); err != nil {
					t.Fatalf("decoded %q: %v", c.key, err)
				}
				checkTampered(t, c)
			}
			t.Logf("%d inclusion, %d exclusion by leaf, %d exclusion by empty slot", incl, exclLeaf, exclEmpty)
			if size >= 50 && (incl == 0 || exclLeaf == 0 || exclEmpty == 0) {
				t.Fatal("some kind of proof was not exercised")
			}
		})
	}
}

// checkTampered changes each part of a valid proof, value, key or root and
// expects VerifyProof to fail.
func checkTampered(t *testing.T, c proofCase) {
	t.Helper()
	fail := func(what string, root [32]byte, key, value []byte, p Proof) {
		t.Helper()
		if err := VerifyProof(root, key, value, p); !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("%s: %q verified (err %v)", what, c.key, err)
		}
	}
	clone := func() Proof {
		p := c.proof
		p.Siblings = append([][32]byte(nil), c.proof.Siblings...)
		return p
	}
	root := c.root
	root[5] ^= 1
	fail("root", root, c.key, c.value, c.proof)
	if c.value != nil {
		// (Another absent key on the same path has the same exclusion
		// proof, so only an inclusion proof must fail for another key.)
		fail("key", c.root, append(bytes.Clone(c.key), 'x'), c.value, c.proof)
		fail("value", c.root, c.key, append(bytes.Clone(c.value), 'x'), c.proof)
		fail("absence of present key", c.root, c.key, nil, c.proof)
	} else {
		fail("presence of absent key", c.root, c.key, []byte("v"), c.proof)
	}
	for i := range c.proof.Siblings {
		p := clone()
		p.Siblings[i][31] ^= 0x80
		fail(fmt.Sprintf("sibling %d", i), c.root, c.key, c.value, p)
	}
	if len(c.proof.Siblings) > 0 {
		p := clone()
		p.Siblings = p.Siblings[1:]
		fail("sibling dropped", c.root, c.key, c.value, p)
	}
	p := clone()
	p.Siblings = append(p.Siblings, EmptyRoot)
	fail("sibling added", c.root, c.key, c.value, p)
	p = clone()
	p.HasLeaf = !p.HasLeaf
	fail("terminal kind", c.root, c.key, c.value, p)
	if c.proof.HasLeaf {
		p = clone()
		p.LeafKeyHash[0] ^= 1
		fail("leaf key hash", c.root, c.key, c.value, p)
		p = clone()
		p.LeafValueHash[0] ^= 1
		fail("leaf value hash", c.root, c.key, c.value, p)
	} else {
		p = clone()
		p.LeafKeyHash[0] = 1
		fail("hashes on empty terminal", c.root, c.key, c.value, p)
	}
}

// TestLeafNotInternal: domain separation. A leaf's preimage (key hash, value
// hash) cannot be passed off as the two children of an internal node, nor
// the other way round: an exclusion proof that stops one level early,
// at a slot whose hash is an internal node, does not verify as a leaf.
func TestLeafNotInternal(t *testing.T) {
	h := newHarness(t)
	h.apply([]Change{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}})
	p, _, root, err := h.tree.Prove([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	sib := p.Siblings[len(p.Siblings)-1]
	own := LeafHash(p.LeafKeyHash, p.LeafValueHash)
	left, right := own, sib
	if bit(&p.LeafKeyHash, len(p.Siblings)-1) == 1 {
		left, right = sib, own
	}
	// Claim the internal node (left, right) is a leaf with key hash left
	// and value hash right.
	forged := Proof{Siblings: p.Siblings[:len(p.Siblings)-1], HasLeaf: true, LeafKeyHash: left, LeafValueHash: right}
	for _, k := range [][]byte{[]byte("a"), []byte("b"), []byte("c")} {
		if err := VerifyProof(root, k, nil, forged); err == nil {
			t.Fatalf("forged proof verified for %q", k)
		}
	}
	if InternalHash(left, right) == LeafHash(left, right) {
		t.Fatal("leaf and internal hashes agree")
	}
}

func TestProofDecodeRejects(t *testing.T) {
	valid := func() []byte {
		p := Proof{Siblings: make([][32]byte, 10), HasLeaf: true}
		p.Siblings[3][0] = 7
		p.LeafKeyHash[0] = 1
		return codec.Encode(&p)
	}
	cases := []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"version", func(b []byte) []byte { b[0] = 2; return b }, codec.ErrBadVersion},
		{"padding bit", func(b []byte) []byte { b[3] |= 1; return b }, codec.ErrNotCanon},
		{"empty sibling written", func(b []byte) []byte {
			// Mark sibling 4 as present and write 32 zero bytes for it.
			b[2] |= 0x08
			return append(b[:4+32], append(make([]byte, 32), b[4+32:]...)...)
		}, codec.ErrNotCanon},
		{"terminal kind", func(b []byte) []byte { b[4+32] = 2; return b }, codec.ErrBadBool},
		{"trailing", func(b []byte) []byte { return append(b, 0) }, codec.ErrTrailing},
		{"short", func(b []byte) []byte { return b[:len(b)-1] }, codec.ErrShort},
		{"too deep", func([]byte) []byte { return []byte{1, 0x81, 0x02} }, codec.ErrTooLong},
		{"non-minimal depth", func(b []byte) []byte { return append([]byte{1, 0x8a, 0x00}, b[2:]...) }, codec.ErrNonMinimal},
	}
	if err := codec.Decode(valid(), new(Proof)); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for _, c := range cases {
		var p Proof
		err := codec.Decode(c.edit(valid()), &p)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// FuzzProofDecode: any input either fails to decode or decodes to a proof
// that encodes back to the same bytes; verifying a decoded proof never
// panics.
func FuzzProofDecode(f *testing.F) {
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 1, 0x80, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Proof
		if err := codec.Decode(b, &p); err != nil {
			return
		}
		if got := codec.Encode(&p); !bytes.Equal(got, b) {
			t.Fatalf("decode→encode changed the bytes:\n in %x\nout %x", b, got)
		}
		if err := VerifyProof(EmptyRoot, []byte("k"), nil, p); err == nil && (len(p.Siblings) != 0 || p.HasLeaf) {
			t.Fatalf("non-trivial proof verified against the empty root: %+v", p)
		}
		_ = VerifyProof(EmptyRoot, []byte("k"), []byte("v"), p)
	})
}
