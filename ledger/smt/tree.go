package smt

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/gridmint/gridmint/codec"
)

// Limits on what the tree stores. Apply rejects larger keys and values.
const (
	// MaxKeyLen is the largest key, in bytes.
	MaxKeyLen = 1024
	// MaxValueLen is the largest value, in bytes.
	MaxValueLen = 4 << 20
)

// Errors callers decide on. Match them with errors.Is.
var (
	// ErrStale: the root record in the database is not the tree's committed
	// root, because a batch holding an Apply was committed and Commit was not
	// called (or the database was changed under the tree).
	ErrStale = errors.New("smt: database root differs from the tree's committed root")
	// ErrNotCommitted: Commit was called with a root that is not the one in
	// the database, usually because the batch was not committed.
	ErrNotCommitted = errors.New("smt: root is not committed in the database")
	// ErrDuplicateKey: one Apply named the same key twice.
	ErrDuplicateKey = errors.New("smt: duplicate key in one Apply")
	// ErrBadChange: a change has an empty, too long key or value.
	ErrBadChange = errors.New("smt: bad change")
	// ErrCorrupt: a record of the tree in the database does not decode or
	// breaks an invariant of the tree.
	ErrCorrupt = errors.New("smt: corrupt tree record")
	// ErrInvalidProof: a proof does not show what was asked.
	ErrInvalidProof = errors.New("smt: invalid proof")
)

// Sub-prefixes under the tree's prefix. See doc.go for the layout.
const (
	rootTag     = 'R'
	internalKey = 'I'
	leafKey     = 'L'
)

const recordVersion = 1

// kind is what a child slot holds.
type kind uint8

const (
	kindEmpty    kind = 0
	kindLeaf     kind = 1
	kindInternal kind = 2
)

// ref is a child slot: what sits at a position of the tree, with its hash.
// For a leaf it also carries the leaf's key hash and value hash, so that a
// walk knows which leaf it met and a proof can be made without reading the
// leaf record.
type ref struct {
	kind      kind
	hash      [32]byte
	keyHash   [32]byte // leaf only
	valueHash [32]byte // leaf only
}

func leafRef(keyHash, valueHash [32]byte) ref {
	return ref{kind: kindLeaf, hash: LeafHash(keyHash, valueHash), keyHash: keyHash, valueHash: valueHash}
}

func (r *ref) encodeTo(e *codec.Encoder) {
	e.Uint8(uint8(r.kind))
	switch r.kind {
	case kindLeaf:
		e.Fixed(r.keyHash[:])
		e.Fixed(r.valueHash[:])
	case kindInternal:
		e.Fixed(r.hash[:])
	}
}

func (r *ref) decodeFrom(d *codec.Decoder) {
	r.kind = kind(d.Uint8())
	switch r.kind {
	case kindEmpty:
	case kindLeaf:
		d.Fixed(r.keyHash[:])
		d.Fixed(r.valueHash[:])
		if d.Err() == nil {
			r.hash = LeafHash(r.keyHash, r.valueHash)
		}
	case kindInternal:
		d.Fixed(r.hash[:])
		if d.Err() == nil && r.hash == EmptyRoot {
			d.Fail(fmt.Errorf("%w: internal hash is the empty hash", codec.ErrNotCanon))
		}
	default:
		d.Fail(fmt.Errorf("%w: child kind %d", codec.ErrUnknownKind, r.kind))
	}
}

// node is an internal node: two children, and at least two leaves below it.
type node struct {
	left, right ref
}

func (n *node) hash() [32]byte { return InternalHash(n.left.hash, n.right.hash) }

func (n *node) EncodeTo(e *codec.Encoder) {
	e.Uint8(recordVersion)
	n.left.encodeTo(e)
	n.right.encodeTo(e)
}

func (n *node) DecodeFrom(d *codec.Decoder) {
	d.Version(recordVersion)
	n.left.decodeFrom(d)
	n.right.decodeFrom(d)
	if d.Err() == nil && !validChildren(n.left.kind, n.right.kind) {
		d.Failf("internal node with children %d, %d", n.left.kind, n.right.kind)
	}
}

// validChildren reports whether an internal node may have children of these
// kinds: an internal node has at least two leaves below it, so it never has
// two empty children nor one leaf beside an empty slot (that leaf would sit
// at this node's position instead).
func validChildren(l, r kind) bool {
	switch {
	case l == kindEmpty:
		return r == kindInternal
	case r == kindEmpty:
		return l == kindInternal
	}
	return true
}

// rootRecord is what the tree keeps under prefix+'R': the root slot and the
// number of leaves.
type rootRecord struct {
	root  ref
	count uint64
}

func (r *rootRecord) EncodeTo(e *codec.Encoder) {
	e.Uint8(recordVersion)
	r.root.encodeTo(e)
	e.Uvarint(r.count)
}

func (r *rootRecord) DecodeFrom(d *codec.Decoder) {
	d.Version(recordVersion)
	r.root.decodeFrom(d)
	r.count = d.Uvarint()
	if d.Err() != nil {
		return
	}
	switch {
	case r.root.kind == kindEmpty && r.count != 0,
		r.root.kind == kindLeaf && r.count != 1,
		r.root.kind == kindInternal && r.count < 2:
		d.Failf("root kind %d with %d leaves", r.root.kind, r.count)
	}
}

// leafRecord is what the tree keeps under prefix+'L'+SHA-256(key).
type leafRecord struct {
	key, value []byte
}

func (l *leafRecord) EncodeTo(e *codec.Encoder) {
	e.Uint8(recordVersion)
	e.BytesVar(l.key)
	e.BytesVar(l.value)
}

func (l *leafRecord) DecodeFrom(d *codec.Decoder) {
	d.Version(recordVersion)
	l.key = d.BytesVar(MaxKeyLen)
	l.value = d.BytesVar(MaxValueLen)
	if d.Err() == nil && (len(l.key) == 0 || len(l.value) == 0) {
		d.Failf("empty key or value in leaf")
	}
}

// Tree is a compact sparse Merkle tree kept in a pebble database under a key
// prefix. It holds the committed version only; see the package doc for the
// commit protocol.
//
// Root, Get, Prove and Iterate may be called from many goroutines, also while
// Apply runs. Apply and Commit are for one writer (the ledger).
type Tree struct {
	db     *pebble.DB
	prefix []byte

	mu        sync.RWMutex
	committed rootRecord // the root record of the last committed version

	top *topCache // the upper levels' nodes; see cache.go
}

// Open returns the tree kept in db under prefix. A database with no tree under
// prefix holds the empty tree. No key of the database outside the tree may
// start with prefix.
func Open(db *pebble.DB, prefix []byte) (*Tree, error) {
	t := &Tree{db: db, prefix: bytes.Clone(prefix), top: newTopCache()}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Root returns the root hash of the committed version: EmptyRoot for a tree
// without keys.
func (t *Tree) Root() [32]byte {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.committed.root.hash
}

// Len returns the number of keys in the committed version.
func (t *Tree) Len() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.committed.count
}

// Reload reads the root record from the database and makes it the committed
// version. Open calls it; a caller needs it only after changing the database
// behind the tree's back (e.g. restoring a snapshot).
func (t *Tree) Reload() error {
	rec, err := t.readRoot(dbSource{t.db})
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.committed = rec
	t.mu.Unlock()
	return nil
}

// Commit publishes newRoot, the result of an Apply whose batch the caller has
// committed. It checks the database: if its root is not newRoot (the batch
// was not committed, or failed), Commit returns ErrNotCommitted and the tree
// stays at its old version.
func (t *Tree) Commit(newRoot [32]byte) error {
	rec, err := t.readRoot(dbSource{t.db})
	if err != nil {
		return err
	}
	if rec.root.hash != newRoot {
		return fmt.Errorf("%w: database has %x, want %x", ErrNotCommitted, rec.root.hash, newRoot)
	}
	t.mu.Lock()
	t.committed = rec
	t.mu.Unlock()
	return nil
}

// Get returns the value of key in the committed database, or ok == false if
// the key is absent. The value is a fresh copy.
func (t *Tree) Get(key []byte) (value []byte, ok bool, err error) {
	kh := HashKey(key)
	rec, ok, err := t.readLeaf(dbSource{t.db}, kh)
	if err != nil || !ok {
		return nil, false, err
	}
	if !bytes.Equal(rec.key, key) {
		return nil, false, fmt.Errorf("%w: leaf %x holds another key", ErrCorrupt, kh)
	}
	return rec.value, true, nil
}

// Iterate calls fn with every key and value of the committed database, in
// the order of SHA-256(key) (the tree's order, not the order of the keys).
// It reads one consistent version. fn must not keep the slices after it
// returns. An error from fn stops the iteration and is returned.
func (t *Tree) Iterate(fn func(key, value []byte) error) error {
	lo := t.leafKey(EmptyRoot)[:len(t.prefix)+1]
	hi := append(bytes.Clone(lo[:len(t.prefix)]), leafKey+1)
	it, err := t.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("smt: iterate: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("smt: iterate: %w", err)
		}
		var rec leafRecord
		if err := codec.Decode(v, &rec); err != nil {
			it.Close()
			return fmt.Errorf("%w: leaf %x: %v", ErrCorrupt, it.Key(), err)
		}
		if err := fn(rec.key, rec.value); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// Storage keys.

func (t *Tree) rootKey() []byte {
	k := make([]byte, 0, len(t.prefix)+1)
	k = append(k, t.prefix...)
	return append(k, rootTag)
}

func (t *Tree) leafKey(keyHash [32]byte) []byte {
	return t.appendLeafKey(make([]byte, 0, len(t.prefix)+33), &keyHash)
}

func (t *Tree) appendLeafKey(k []byte, keyHash *[32]byte) []byte {
	k = append(k, t.prefix...)
	k = append(k, leafKey)
	return append(k, keyHash[:]...)
}

// nodeKey is prefix + 'I' + path + depth: path is the node's position, its
// first depth bits followed by zero bits, all 32 bytes; depth is one byte
// (0..255). With this order a subtree's nodes are contiguous in the database
// and in pre-order (a node before its left subtree before its right
// subtree), so the walk down one path, and a batch of changes sorted by
// position, read neighbouring keys from the same blocks.
func (t *Tree) nodeKey(depth int, path *[32]byte) []byte {
	return t.appendNodeKey(make([]byte, 0, len(t.prefix)+34), depth, path)
}

func (t *Tree) appendNodeKey(k []byte, depth int, path *[32]byte) []byte {
	k = append(k, t.prefix...)
	k = append(k, internalKey)
	k = append(k, path[:]...)
	return append(k, byte(depth))
}

// Reads.

// source is where the tree reads its records: lookup returns the value of
// key, valid until the next lookup, or ok == false if key is absent.
type source interface {
	lookup(key []byte) (value []byte, ok bool, err error)
}

// dbSource reads with point lookups (Get), for single reads.
type dbSource struct{ r pebble.Reader }

func (s dbSource) lookup(key []byte) ([]byte, bool, error) {
	v, closer, err := s.r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v = bytes.Clone(v)
	if err := closer.Close(); err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// iterSource reads through one pebble iterator: one consistent version of
// the database, and cheap when the keys asked for increase, which is the
// case for the walks of Apply and Prove (nodes are stored in pre-order, see
// nodeKey): the iterator then steps forward in the block it is in instead
// of searching from the top of the LSM for every node.
type iterSource struct{ it *pebble.Iterator }

func (t *Tree) newIterSource(r pebble.Reader) (iterSource, error) {
	lo := bytes.Clone(t.prefix)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return iterSource{}, fmt.Errorf("smt: new iterator: %w", err)
	}
	return iterSource{it}, nil
}

func (s iterSource) lookup(key []byte) ([]byte, bool, error) {
	if !s.it.SeekGE(key) || !bytes.Equal(s.it.Key(), key) {
		return nil, false, s.it.Error()
	}
	v, err := s.it.ValueAndErr()
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (s iterSource) close() error { return s.it.Close() }

// prefixEnd returns the smallest key above every key that starts with p, or
// nil (no bound) if there is none.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func (t *Tree) readRoot(r source) (rootRecord, error) {
	v, ok, err := r.lookup(t.rootKey())
	if err != nil {
		return rootRecord{}, fmt.Errorf("smt: read root: %w", err)
	}
	if !ok {
		return rootRecord{}, nil // the empty tree
	}
	var rec rootRecord
	if err := codec.Decode(v, &rec); err != nil {
		return rootRecord{}, fmt.Errorf("%w: root: %v", ErrCorrupt, err)
	}
	return rec, nil
}

func (t *Tree) readNode(r source, depth int, path *[32]byte, want [32]byte) (node, error) {
	if n, ok := t.top.get(depth, path, want); ok {
		return n, nil
	}
	v, ok, err := r.lookup(t.nodeKey(depth, path))
	if err != nil {
		return node{}, fmt.Errorf("smt: read node at depth %d: %w", depth, err)
	}
	if !ok {
		return node{}, fmt.Errorf("%w: missing node at depth %d, path %x", ErrCorrupt, depth, path[:(depth+7)>>3])
	}
	var n node
	if err := codec.Decode(v, &n); err != nil {
		return node{}, fmt.Errorf("%w: node at depth %d: %v", ErrCorrupt, depth, err)
	}
	if n.hash() != want {
		return node{}, fmt.Errorf("%w: node at depth %d, path %x does not hash to its parent's slot", ErrCorrupt, depth, path[:(depth+7)>>3])
	}
	t.top.put(depth, path, want, n)
	return n, nil
}

func (t *Tree) readLeaf(r source, keyHash [32]byte) (leafRecord, bool, error) {
	v, ok, err := r.lookup(t.leafKey(keyHash))
	if err != nil {
		return leafRecord{}, false, fmt.Errorf("smt: read leaf: %w", err)
	}
	if !ok {
		return leafRecord{}, false, nil
	}
	var rec leafRecord
	if err := codec.Decode(v, &rec); err != nil {
		return leafRecord{}, false, fmt.Errorf("%w: leaf %x: %v", ErrCorrupt, keyHash, err)
	}
	return rec, true, nil
}
