package smt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

var testPrefix = []byte("s/")

// quietLogger drops pebble's informational lines; errors still fail the test
// through the returned errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// openDB opens a pebble database in dir on fs (a real directory when fs is
// nil).
func openDB(t testing.TB, fs vfs.FS, dir string) *pebble.DB {
	t.Helper()
	opts := &pebble.Options{FS: fs, Logger: quietLogger{}}
	if fs == nil {
		opts.FS = vfs.Default
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		t.Fatalf("open pebble: %v", err)
	}
	return db
}

// harness is a tree on a real pebble database with a model of its contents.
type harness struct {
	t     testing.TB
	db    *pebble.DB
	tree  *Tree
	model map[string][]byte
	sync  *pebble.WriteOptions
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	db := openDB(t, nil, t.TempDir())
	t.Cleanup(func() { db.Close() })
	return newHarnessOn(t, db)
}

func newHarnessOn(t testing.TB, db *pebble.DB) *harness {
	t.Helper()
	tree, err := Open(db, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, db: db, tree: tree, model: map[string][]byte{}, sync: pebble.NoSync}
}

// apply runs one Apply, commits the batch and the tree, and updates the
// model. It returns the new root.
func (h *harness) apply(changes []Change) [32]byte {
	h.t.Helper()
	b := h.db.NewBatch()
	defer b.Close()
	root, err := h.tree.Apply(changes, b)
	if err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	if err := b.Commit(h.sync); err != nil {
		h.t.Fatalf("commit batch: %v", err)
	}
	if err := h.tree.Commit(root); err != nil {
		h.t.Fatalf("commit tree: %v", err)
	}
	for _, c := range changes {
		if c.Delete {
			delete(h.model, string(c.Key))
		} else {
			h.model[string(c.Key)] = c.Value
		}
	}
	if h.tree.Root() != root {
		h.t.Fatalf("Root() %x after Commit(%x)", h.tree.Root(), root)
	}
	return root
}

// refRoot is the reference: the root of a compact SMT over model, rebuilt
// from nothing and hashed with crypto/sha256 directly (not with this
// package's hash helpers), straight from the definition in doc.go.
func refRoot(model map[string][]byte) [32]byte {
	type kv struct{ kh, vh [32]byte }
	entries := make([]kv, 0, len(model))
	for k, v := range model {
		entries = append(entries, kv{sha256.Sum256([]byte(k)), sha256.Sum256(v)})
	}
	slices.SortFunc(entries, func(a, b kv) int { return bytes.Compare(a.kh[:], b.kh[:]) })
	var hash func(e []kv, depth int) [32]byte
	hash = func(e []kv, depth int) [32]byte {
		switch len(e) {
		case 0:
			return [32]byte{}
		case 1:
			return sha256.Sum256(slices.Concat([]byte{0}, e[0].kh[:], e[0].vh[:]))
		}
		i := 0
		for i < len(e) && e[i].kh[depth/8]&(0x80>>(depth%8)) == 0 {
			i++
		}
		l, r := hash(e[:i], depth+1), hash(e[i:], depth+1)
		return sha256.Sum256(slices.Concat([]byte{1}, l[:], r[:]))
	}
	return hash(entries, 0)
}

// checkStore walks the whole stored tree and checks every invariant: each
// node decodes, hashes to its parent's slot, is compact (no internal node
// with fewer than two leaves below, no leaf that could sit higher), each leaf
// slot's key hash lies under its position and matches a leaf record with the
// model's value, and the database holds no record the tree does not reach
// (obsolete nodes were deleted).
func (h *harness) checkStore() {
	h.t.Helper()
	if err := checkStore(h.db, h.tree, h.model); err != nil {
		h.t.Fatal(err)
	}
}

func checkStore(db *pebble.DB, tree *Tree, model map[string][]byte) error {
	// Read the nodes from the database, not from tree's cache.
	fresh := &Tree{db: db, prefix: tree.prefix, top: newTopCache()}
	rec, err := tree.readRoot(dbSource{db})
	if err != nil {
		return err
	}
	if rec != tree.committed {
		return fmt.Errorf("db root %x, tree root %x", rec.root.hash, tree.committed.root.hash)
	}
	if rec.count != uint64(len(model)) {
		return fmt.Errorf("count %d, model has %d", rec.count, len(model))
	}
	if rec.root.hash != refRoot(model) {
		return fmt.Errorf("root %x, reference %x", rec.root.hash, refRoot(model))
	}
	nodes, leaves := 0, 0
	var walk func(r ref, depth int, path [32]byte) (int, error)
	walk = func(r ref, depth int, path [32]byte) (int, error) {
		switch r.kind {
		case kindEmpty:
			return 0, nil
		case kindLeaf:
			leaves++
			if !sharesPrefix(&r.keyHash, &path, depth) {
				return 0, fmt.Errorf("leaf %x off its path at depth %d", r.keyHash, depth)
			}
			lr, ok, err := tree.readLeaf(dbSource{db}, r.keyHash)
			if err != nil || !ok {
				return 0, fmt.Errorf("leaf record %x: ok=%v err=%v", r.keyHash, ok, err)
			}
			if HashKey(lr.key) != r.keyHash || HashValue(lr.value) != r.valueHash {
				return 0, fmt.Errorf("leaf record %x does not match its slot", r.keyHash)
			}
			if mv, ok := model[string(lr.key)]; !ok || !bytes.Equal(mv, lr.value) {
				return 0, fmt.Errorf("leaf %q=%q, model %q (%v)", lr.key, lr.value, mv, ok)
			}
			return 1, nil
		}
		nodes++
		n, err := fresh.readNode(dbSource{db}, depth, &path, r.hash)
		if err != nil {
			return 0, err
		}
		l, err := walk(n.left, depth+1, path)
		if err != nil {
			return 0, err
		}
		rr, err := walk(n.right, depth+1, setBit(path, depth))
		if err != nil {
			return 0, err
		}
		if l+rr < 2 {
			return 0, fmt.Errorf("internal node at depth %d with %d leaves", depth, l+rr)
		}
		return l + rr, nil
	}
	var path [32]byte
	if _, err := walk(rec.root, 0, path); err != nil {
		return err
	}
	if leaves != len(model) {
		return fmt.Errorf("%d leaves reached, model has %d", leaves, len(model))
	}
	// Everything under the prefix: one root record (or none for a tree that
	// never had an Apply), the reached nodes and leaves, nothing else.
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: testPrefix, UpperBound: []byte("s0")})
	if err != nil {
		return err
	}
	defer it.Close()
	var gotNodes, gotLeaves, other int
	for it.First(); it.Valid(); it.Next() {
		switch it.Key()[len(testPrefix)] {
		case internalKey:
			gotNodes++
		case leafKey:
			gotLeaves++
		case rootTag:
		default:
			other++
		}
	}
	if gotNodes != nodes || gotLeaves != leaves || other != 0 {
		return fmt.Errorf("stored %d nodes, %d leaves, %d other; reachable %d nodes, %d leaves", gotNodes, gotLeaves, other, nodes, leaves)
	}
	return nil
}

// randomChanges makes n changes against model: inserts of new keys, updates,
// deletes of present keys and deletes of absent keys, with distinct keys.
func randomChanges(rng *rand.Rand, model map[string][]byte, n int, keySpace int) []Change {
	present := make([]string, 0, len(model))
	for k := range model {
		present = append(present, k)
	}
	slices.Sort(present) // map order must not reach the test's choices
	used := map[string]bool{}
	var out []Change
	for len(out) < n {
		var key string
		r := rng.IntN(10)
		if r < 5 || len(present) == 0 {
			key = fmt.Sprintf("acct/%d", rng.IntN(keySpace))
		} else {
			key = present[rng.IntN(len(present))]
		}
		if used[key] {
			continue
		}
		used[key] = true
		if r >= 8 {
			out = append(out, Change{Key: []byte(key), Delete: true})
			continue
		}
		val := make([]byte, 1+rng.IntN(40))
		for i := range val {
			val[i] = byte(rng.UintN(256))
		}
		out = append(out, Change{Key: []byte(key), Value: val})
	}
	return out
}

func mustErrIs(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}
