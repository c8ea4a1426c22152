package smt

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/gridmint/gridmint/codec"
)

// Change sets Key to Value, or deletes Key if Delete is set (Value must then
// be empty). Keys and values are non-empty byte strings of at most MaxKeyLen
// and MaxValueLen bytes; deleting an absent key is allowed and changes
// nothing.
type Change struct {
	Key    []byte
	Value  []byte
	Delete bool
}

// op is a validated change, with the hashes the tree needs.
type op struct {
	keyHash   [32]byte
	valueHash [32]byte
	key       []byte
	value     []byte
	del       bool
}

// applier carries one Apply: where it reads (the committed database) and
// where it writes (the caller's batch).
type applier struct {
	t     *Tree
	r     source
	b     *pebble.Batch
	count uint64 // leaves after the changes
	enc   codec.Encoder
	key   []byte
}

// Apply computes the root of the committed version with changes applied, and
// writes every new or changed record into b and a delete of every record the
// new version no longer has. It reads the committed version only and does
// not change the tree: Root, Get and Prove keep showing the old version until
// the caller commits b and calls Commit(newRoot). If b is never committed,
// nothing happened. At most one batch from Apply may be committed per
// committed version, and b must hold no other writes under the tree's prefix.
// If Apply returns an error, b may hold part of its writes and must be
// discarded.
//
// The order of changes does not matter; a key named twice is rejected with
// ErrDuplicateKey. Apply costs O(k log n) reads and writes for k changes in
// a tree of n keys.
func (t *Tree) Apply(changes []Change, b *pebble.Batch) (newRoot [32]byte, err error) {
	ops := make([]op, len(changes))
	for i := range changes {
		c := &changes[i]
		switch {
		case len(c.Key) == 0 || len(c.Key) > MaxKeyLen:
			return EmptyRoot, fmt.Errorf("%w: key of %d bytes", ErrBadChange, len(c.Key))
		case c.Delete && len(c.Value) != 0:
			return EmptyRoot, fmt.Errorf("%w: delete of %q with a value", ErrBadChange, c.Key)
		case !c.Delete && (len(c.Value) == 0 || len(c.Value) > MaxValueLen):
			return EmptyRoot, fmt.Errorf("%w: value of %d bytes for %q (delete the key instead of setting it empty)", ErrBadChange, len(c.Value), c.Key)
		}
		ops[i] = op{keyHash: HashKey(c.Key), key: c.Key, value: c.Value, del: c.Delete}
		if !c.Delete {
			ops[i].valueHash = HashValue(c.Value)
		}
	}
	// Sorted by position, so the slice's order cannot change the result.
	slices.SortFunc(ops, func(a, b op) int { return bytes.Compare(a.keyHash[:], b.keyHash[:]) })
	for i := 1; i < len(ops); i++ {
		if ops[i].keyHash == ops[i-1].keyHash {
			return EmptyRoot, fmt.Errorf("%w: %q", ErrDuplicateKey, ops[i].key)
		}
	}

	t.mu.RLock()
	committed := t.committed
	t.mu.RUnlock()
	// The database must hold the version the tree thinks is committed, or
	// the walk below would mix two versions.
	src, err := t.newIterSource(t.db)
	if err != nil {
		return EmptyRoot, err
	}
	defer src.close()
	rec, err := t.readRoot(src)
	if err != nil {
		return EmptyRoot, err
	}
	if rec != committed {
		return EmptyRoot, fmt.Errorf("%w: database has %x, tree has %x", ErrStale, rec.root.hash, committed.root.hash)
	}

	a := &applier{t: t, r: src, b: b, count: rec.count}
	var path [32]byte
	root, err := a.update(rec.root, 0, path, ops)
	if err != nil {
		return EmptyRoot, err
	}
	newRec := rootRecord{root: root, count: a.count}
	if err := a.setRoot(&newRec); err != nil {
		return EmptyRoot, err
	}
	return root.hash, nil
}

// The writes. pebble copies keys and values into the batch, so one key
// buffer and one encoder serve every write.

func (a *applier) setNode(depth int, path *[32]byte, n *node) error {
	a.key = a.t.appendNodeKey(a.key[:0], depth, path)
	a.enc.Reset()
	n.EncodeTo(&a.enc)
	return a.put()
}

func (a *applier) delNode(depth int, path *[32]byte) error {
	a.key = a.t.appendNodeKey(a.key[:0], depth, path)
	return a.delete()
}

func (a *applier) setLeaf(o *op) error {
	a.key = a.t.appendLeafKey(a.key[:0], &o.keyHash)
	a.enc.Reset()
	rec := leafRecord{key: o.key, value: o.value}
	rec.EncodeTo(&a.enc)
	return a.put()
}

func (a *applier) delLeaf(keyHash *[32]byte) error {
	a.key = a.t.appendLeafKey(a.key[:0], keyHash)
	return a.delete()
}

func (a *applier) setRoot(rec *rootRecord) error {
	a.key = append(a.key[:0], a.t.rootKey()...)
	a.enc.Reset()
	rec.EncodeTo(&a.enc)
	return a.put()
}

func (a *applier) put() error {
	if err := a.b.Set(a.key, a.enc.Bytes(), nil); err != nil {
		return fmt.Errorf("smt: batch set: %w", err)
	}
	return nil
}

func (a *applier) delete() error {
	if err := a.b.Delete(a.key, nil); err != nil {
		return fmt.Errorf("smt: batch delete: %w", err)
	}
	return nil
}

// update applies ops (sorted, all under path's first depth bits) to the
// subtree in slot r at depth, and returns the new slot.
func (a *applier) update(r ref, depth int, path [32]byte, ops []op) (ref, error) {
	if len(ops) == 0 {
		return r, nil
	}
	if r.kind != kindInternal {
		return a.replace(r, depth, path, ops)
	}
	n, err := a.t.readNode(a.r, depth, &path, r.hash)
	if err != nil {
		return ref{}, err
	}
	// ops are sorted, so those going left (bit 0) come first.
	split, _ := slices.BinarySearchFunc(ops, 1, func(o op, _ int) int {
		return int(bit(&o.keyHash, depth)) - 1
	})
	left, err := a.update(n.left, depth+1, path, ops[:split])
	if err != nil {
		return ref{}, err
	}
	right, err := a.update(n.right, depth+1, setBit(path, depth), ops[split:])
	if err != nil {
		return ref{}, err
	}
	if left == n.left && right == n.right {
		return r, nil // e.g. only deletes of absent keys
	}
	// Keep the tree compact: a node left with no leaves, or with a single
	// leaf and an empty slot, goes, and the leaf moves up into its slot.
	switch {
	case left.kind == kindEmpty && right.kind != kindInternal:
		return right, a.delNode(depth, &path)
	case right.kind == kindEmpty && left.kind != kindInternal:
		return left, a.delNode(depth, &path)
	}
	n = node{left: left, right: right}
	if err := a.setNode(depth, &path, &n); err != nil {
		return ref{}, err
	}
	h := n.hash()
	a.t.top.put(depth, &path, h, n)
	return ref{kind: kindInternal, hash: h}, nil
}

// replace applies ops to a slot that holds no internal node (empty, or one
// leaf): it works out the leaves the slot holds afterwards and builds their
// subtree. Leaf records are written and deleted here.
func (a *applier) replace(r ref, depth int, path [32]byte, ops []op) (ref, error) {
	leaves := make([]ref, 0, len(ops)+1)
	old := r.kind == kindLeaf
	for i := range ops {
		o := &ops[i]
		// Keep the old leaf in its sorted place among the new ones.
		if old && bytes.Compare(r.keyHash[:], o.keyHash[:]) < 0 {
			leaves = append(leaves, r)
			old = false
		}
		match := r.kind == kindLeaf && r.keyHash == o.keyHash
		if match {
			old = false
		}
		switch {
		case o.del && match:
			a.count--
			if err := a.delLeaf(&o.keyHash); err != nil {
				return ref{}, err
			}
		case o.del:
			// Deleting an absent key changes nothing.
		default:
			if !match {
				a.count++
			}
			if err := a.setLeaf(o); err != nil {
				return ref{}, err
			}
			leaves = append(leaves, leafRef(o.keyHash, o.valueHash))
		}
	}
	if old {
		leaves = append(leaves, r)
	}
	return a.build(depth, path, leaves)
}

// build writes the subtree at depth holding leaves (sorted, distinct, all
// under path's first depth bits), where no internal node was before, and
// returns its slot.
func (a *applier) build(depth int, path [32]byte, leaves []ref) (ref, error) {
	switch len(leaves) {
	case 0:
		return ref{}, nil
	case 1:
		return leaves[0], nil
	}
	split, _ := slices.BinarySearchFunc(leaves, 1, func(l ref, _ int) int {
		return int(bit(&l.keyHash, depth)) - 1
	})
	left, err := a.build(depth+1, path, leaves[:split])
	if err != nil {
		return ref{}, err
	}
	right, err := a.build(depth+1, setBit(path, depth), leaves[split:])
	if err != nil {
		return ref{}, err
	}
	n := node{left: left, right: right}
	if err := a.setNode(depth, &path, &n); err != nil {
		return ref{}, err
	}
	h := n.hash()
	a.t.top.put(depth, &path, h, n)
	return ref{kind: kindInternal, hash: h}, nil
}
