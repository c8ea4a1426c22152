package smt

import (
	"bytes"
	"fmt"

	"github.com/gridmint/gridmint/codec"
)

// MaxProofDepth is the most siblings a proof can have: two distinct 256-bit
// positions share at most 255 bits, so an internal node is at depth 255 at
// most and a leaf or empty slot at depth 256 at most.
const MaxProofDepth = 256

const proofVersion = 1

// Proof shows that a key has a value under a root (inclusion), or that it has
// none (exclusion). It is the path from the root towards the key's position
// SHA-256(key), down to the first slot that is not an internal node:
//
//   - a leaf for the key itself: inclusion; the verifier checks the value;
//   - a leaf for another key whose position shares the path: exclusion,
//     since the key, were it present, would be in that slot;
//   - an empty slot: exclusion.
//
// Siblings[i] is the hash of the subtree beside the path at depth i+1 (the
// child of the path's node at depth i that the path does not take), from the
// root down; EmptyRoot for an empty subtree. Proofs are made against the
// latest committed root only.
type Proof struct {
	Siblings [][32]byte
	// HasLeaf tells whether the path ends in a leaf (else in an empty slot).
	HasLeaf bool
	// LeafKeyHash and LeafValueHash are that leaf's SHA-256(key) and
	// SHA-256(value); zero when HasLeaf is false.
	LeafKeyHash   [32]byte
	LeafValueHash [32]byte
}

// EncodeTo writes the canonical encoding of p:
//
//	version      uint8 = 1
//	depth        uvarint, at most MaxProofDepth: the number of siblings
//	bitmap       ceil(depth/8) bytes: bit i (MSB first) set if sibling i is
//	             not empty; bits past depth are zero
//	siblings     32 bytes for each non-empty sibling, root first
//	terminal     uint8: 0 = empty slot, 1 = leaf
//	leaf         if terminal is 1: key hash (32 bytes), value hash (32 bytes)
//
// Empty siblings are left out because the deep part of a path, where two
// keys share a long prefix, is mostly empty.
func (p *Proof) EncodeTo(e *codec.Encoder) {
	e.Uint8(proofVersion)
	e.Uvarint(uint64(len(p.Siblings)))
	bitmap := make([]byte, (len(p.Siblings)+7)/8)
	for i := range p.Siblings {
		if p.Siblings[i] != EmptyRoot {
			bitmap[i>>3] |= 1 << (7 - uint(i&7))
		}
	}
	e.Fixed(bitmap)
	for i := range p.Siblings {
		if p.Siblings[i] != EmptyRoot {
			e.Fixed(p.Siblings[i][:])
		}
	}
	e.Bool(p.HasLeaf)
	if p.HasLeaf {
		e.Fixed(p.LeafKeyHash[:])
		e.Fixed(p.LeafValueHash[:])
	}
}

// DecodeFrom reads the encoding EncodeTo writes and rejects every other form:
// a depth above MaxProofDepth, set padding bits, a sibling written out that
// is the empty hash, a terminal byte other than 0 or 1.
func (p *Proof) DecodeFrom(d *codec.Decoder) {
	d.Version(proofVersion)
	depth := d.Len(MaxProofDepth)
	bitmap := make([]byte, (depth+7)/8)
	d.Fixed(bitmap)
	if d.Err() != nil {
		return
	}
	if r := depth & 7; r != 0 && bitmap[len(bitmap)-1]&(0xff>>uint(r)) != 0 {
		d.Fail(fmt.Errorf("%w: padding bits set in sibling bitmap", codec.ErrNotCanon))
		return
	}
	p.Siblings = make([][32]byte, depth)
	for i := range p.Siblings {
		if bitmap[i>>3]&(1<<(7-uint(i&7))) == 0 {
			continue
		}
		d.Fixed(p.Siblings[i][:])
		if d.Err() == nil && p.Siblings[i] == EmptyRoot {
			d.Fail(fmt.Errorf("%w: empty sibling written out", codec.ErrNotCanon))
		}
	}
	p.HasLeaf = d.Bool()
	if p.HasLeaf {
		d.Fixed(p.LeafKeyHash[:])
		d.Fixed(p.LeafValueHash[:])
	}
}

// Prove returns a proof for key, the key's value (nil if absent) and the
// root they are against: the latest committed version, read through one
// pebble iterator (a consistent view). The root equals Root() except in the moment between
// the ledger committing a batch and calling Commit, when it is already the
// newer one; a caller that answers a light client sends all three.
func (t *Tree) Prove(key []byte) (proof Proof, value []byte, root [32]byte, err error) {
	// One iterator: one consistent version, and the walk's keys increase.
	src, err := t.newIterSource(t.db)
	if err != nil {
		return Proof{}, nil, EmptyRoot, err
	}
	defer src.close()
	rec, err := t.readRoot(src)
	if err != nil {
		return Proof{}, nil, EmptyRoot, err
	}
	kh := HashKey(key)
	var path [32]byte
	r := rec.root
	depth := 0
	for r.kind == kindInternal {
		n, err := t.readNode(src, depth, &path, r.hash)
		if err != nil {
			return Proof{}, nil, EmptyRoot, err
		}
		if bit(&kh, depth) == 0 {
			proof.Siblings = append(proof.Siblings, n.right.hash)
			r = n.left
		} else {
			proof.Siblings = append(proof.Siblings, n.left.hash)
			r = n.right
			path = setBit(path, depth)
		}
		depth++
	}
	if r.kind == kindLeaf {
		proof.HasLeaf = true
		proof.LeafKeyHash = r.keyHash
		proof.LeafValueHash = r.valueHash
		if r.keyHash == kh {
			leaf, ok, err := t.readLeaf(src, kh)
			if err != nil {
				return Proof{}, nil, EmptyRoot, err
			}
			if !ok || !bytes.Equal(leaf.key, key) || HashValue(leaf.value) != r.valueHash {
				return Proof{}, nil, EmptyRoot, fmt.Errorf("%w: leaf record of %x does not match the tree", ErrCorrupt, kh)
			}
			value = leaf.value
		}
	}
	return proof, value, rec.root.hash, nil
}

// VerifyProof checks proof against root: with a non-empty value, that key
// has exactly that value; with an empty (or nil) value, that key is absent.
// It returns nil or an error wrapping ErrInvalidProof. It is pure: no state,
// no database.
func VerifyProof(root [32]byte, key, value []byte, proof Proof) error {
	if len(proof.Siblings) > MaxProofDepth {
		return fmt.Errorf("%w: %d siblings", ErrInvalidProof, len(proof.Siblings))
	}
	kh := HashKey(key)
	depth := len(proof.Siblings)
	var h [32]byte // the terminal slot's hash
	switch {
	case !proof.HasLeaf:
		if proof.LeafKeyHash != EmptyRoot || proof.LeafValueHash != EmptyRoot {
			return fmt.Errorf("%w: leaf hashes on an empty terminal", ErrInvalidProof)
		}
		if len(value) != 0 {
			return fmt.Errorf("%w: path ends in an empty slot: key is absent", ErrInvalidProof)
		}
		h = EmptyRoot
	case proof.LeafKeyHash == kh:
		if len(value) == 0 {
			return fmt.Errorf("%w: path ends in the key's leaf: key is present", ErrInvalidProof)
		}
		if HashValue(value) != proof.LeafValueHash {
			return fmt.Errorf("%w: value does not match the leaf", ErrInvalidProof)
		}
		h = LeafHash(proof.LeafKeyHash, proof.LeafValueHash)
	default:
		if len(value) != 0 {
			return fmt.Errorf("%w: path ends in another key's leaf: key is absent", ErrInvalidProof)
		}
		// The other leaf must sit on the key's path, or it says nothing
		// about the key.
		if !sharesPrefix(&proof.LeafKeyHash, &kh, depth) {
			return fmt.Errorf("%w: leaf is not on the key's path", ErrInvalidProof)
		}
		h = LeafHash(proof.LeafKeyHash, proof.LeafValueHash)
	}
	for i := depth - 1; i >= 0; i-- {
		if bit(&kh, i) == 0 {
			h = InternalHash(h, proof.Siblings[i])
		} else {
			h = InternalHash(proof.Siblings[i], h)
		}
	}
	if h != root {
		return fmt.Errorf("%w: computed root %x, want %x", ErrInvalidProof, h, root)
	}
	return nil
}
