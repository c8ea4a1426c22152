package smt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gridmint/gridmint/codec"
)

// TestAgainstReference is the key correctness test: after every batch of
// seeded random inserts, updates and deletes, the root equals the reference
// SMT rebuilt from nothing, and the stored tree keeps all its invariants.
func TestAgainstReference(t *testing.T) {
	seeds := uint64(10)
	if testing.Short() { // under qemu in scripts/cross-test
		seeds = 3
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			h := newHarness(t)
			keySpace := 50 + int(seed)*150
			for round := 0; round < 80; round++ {
				n := 1 + rng.IntN(1+int(seed)*25)
				root := h.apply(randomChanges(rng, h.model, n, keySpace))
				if want := refRoot(h.model); root != want {
					t.Fatalf("round %d: root %x, reference %x", round, root, want)
				}
				if h.tree.Len() != uint64(len(h.model)) {
					t.Fatalf("round %d: Len %d, model %d", round, h.tree.Len(), len(h.model))
				}
				if round%10 == 9 {
					h.checkStore()
					checkGets(t, h, rng, keySpace)
				}
			}
		})
	}
}

func checkGets(t *testing.T, h *harness, rng *rand.Rand, keySpace int) {
	t.Helper()
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("acct/%d", rng.IntN(keySpace))
		v, ok, err := h.tree.Get([]byte(k))
		mv, mok := h.model[k]
		if err != nil || ok != mok || !bytes.Equal(v, mv) {
			t.Fatalf("Get(%q) = %q, %v, %v; model %q, %v", k, v, ok, err, mv, mok)
		}
	}
}

// TestKnownRoots pins roots so that a change of hashing or layout cannot go
// unnoticed, and so that another implementation (or arm64) can be compared.
func TestKnownRoots(t *testing.T) {
	h := newHarness(t)
	if h.tree.Root() != EmptyRoot || EmptyRoot != [32]byte{} {
		t.Fatalf("empty root %x", h.tree.Root())
	}
	// One key: the root is its leaf hash.
	root := h.apply([]Change{{Key: []byte("a"), Value: []byte("1")}})
	ka, va := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("1"))
	if want := sha256.Sum256(slices.Concat([]byte{0}, ka[:], va[:])); root != want {
		t.Fatalf("one-key root %x, want %x", root, want)
	}
	var changes []Change
	for i := 0; i < 100; i++ {
		changes = append(changes, Change{Key: fmt.Appendf(nil, "acct/%03d", i), Value: fmt.Appendf(nil, "v%d", i*i)})
	}
	root = h.apply(changes)
	if root != refRoot(h.model) {
		t.Fatalf("101-key root %x, reference %x", root, refRoot(h.model))
	}
	got := hex.EncodeToString(root[:])
	if got != knownRoot101 {
		t.Fatalf("101-key root %s, want %s", got, knownRoot101)
	}

	// A seeded mix of inserts, updates and deletes, and the encodings of
	// proofs of every kind against it, pinned by hash.
	rng := rand.New(rand.NewPCG(42, 42))
	for i := 0; i < 20; i++ {
		h.apply(randomChanges(rng, h.model, 100, 1000))
	}
	root = h.tree.Root()
	if root != refRoot(h.model) {
		t.Fatal("mixed root differs from the reference")
	}
	all := sha256.New()
	for i := 0; i < 1000; i += 7 {
		p, _, _, err := h.tree.Prove(fmt.Appendf(nil, "acct/%d", i))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(codec.Encode(&p))
	}
	if got := hex.EncodeToString(root[:]); got != knownRootMixed {
		t.Errorf("mixed root %s, want %s", got, knownRootMixed)
	}
	if got := hex.EncodeToString(all.Sum(nil)); got != knownProofsMixed {
		t.Errorf("mixed proofs hash %s, want %s", got, knownProofsMixed)
	}
}

const (
	knownRootMixed   = "390439a18c4c6cb01c098ef804a3008c5dcca3e8dce415e3748e5e1e6c5bdbf8"
	knownProofsMixed = "d63167fa6861681e8c143e8e4a732918d210c7209b6a66727d36a99f46d20a49"
)

const knownRoot101 = "ff3621cb1f6df4d07ef3d01ff1ad00d100f2aa37cdf090fe6c185a25170004a1"

func TestOrderIndependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	base := randomChanges(rng, map[string][]byte{}, 300, 1000)
	var roots [][32]byte
	for i := 0; i < 4; i++ {
		h := newHarness(t)
		// The same first batch, then the same second batch, in different
		// orders and split differently.
		changes := slices.Clone(base)
		rng.Shuffle(len(changes), func(a, b int) { changes[a], changes[b] = changes[b], changes[a] })
		var sets []Change
		for _, c := range changes {
			if !c.Delete {
				sets = append(sets, c)
			}
		}
		cut := rng.IntN(len(sets))
		h.apply(sets[:cut])
		h.apply(sets[cut:])
		roots = append(roots, h.tree.Root())
	}
	for i := range roots {
		if roots[i] != roots[0] {
			t.Fatalf("order %d: root %x, order 0: %x", i, roots[i], roots[0])
		}
	}
}

func TestDeleteToEmptyAndReinsert(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(3, 3))
	var sets []Change
	for i := 0; i < 500; i++ {
		sets = append(sets, Change{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%d", rng.Uint64())})
	}
	full := h.apply(sets)
	h.checkStore()
	// Delete in a few batches, checking the store each time.
	var dels []Change
	for _, c := range sets {
		dels = append(dels, Change{Key: c.Key, Delete: true})
	}
	rng.Shuffle(len(dels), func(a, b int) { dels[a], dels[b] = dels[b], dels[a] })
	for len(dels) > 0 {
		n := min(len(dels), 1+rng.IntN(150))
		h.apply(dels[:n])
		dels = dels[n:]
		h.checkStore()
	}
	if h.tree.Root() != EmptyRoot || h.tree.Len() != 0 {
		t.Fatalf("after deleting all: root %x, len %d", h.tree.Root(), h.tree.Len())
	}
	// Re-insert one by one: the same root as inserting all at once.
	for _, c := range sets {
		h.apply([]Change{c})
	}
	if h.tree.Root() != full {
		t.Fatalf("re-inserted root %x, first %x", h.tree.Root(), full)
	}
	h.checkStore()
}

// TestDeepPaths uses keys whose positions share long prefixes (found by
// search), so the tree has long chains of internal nodes with an empty side,
// which a delete must fold up again.
func TestDeepPaths(t *testing.T) {
	keys := groundKeys(t, 16, 6)
	h := newHarness(t)
	h.apply([]Change{{Key: []byte("x"), Value: []byte("1")}})
	for i, k := range keys {
		h.apply([]Change{{Key: k, Value: []byte{byte(i + 1)}}})
		h.checkStore()
	}
	for i, k := range keys {
		_, v, root, err := h.tree.Prove(k)
		_ = v
		if err != nil {
			t.Fatal(err)
		}
		p, _, _, _ := h.tree.Prove(k)
		if len(p.Siblings) < 16 {
			t.Fatalf("key %d: depth %d, want >= 16", i, len(p.Siblings))
		}
		if err := VerifyProof(root, k, []byte{byte(i + 1)}, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		h.apply([]Change{{Key: k, Delete: true}})
		h.checkStore()
	}
	if h.tree.Len() != 1 {
		t.Fatalf("len %d", h.tree.Len())
	}
}

// groundKeys finds n keys whose SHA-256 share their first bits bits.
func groundKeys(t *testing.T, bits, n int) [][]byte {
	t.Helper()
	var first [32]byte
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		k := fmt.Appendf(nil, "deep/%d", i)
		kh := sha256.Sum256(k)
		if len(out) == 0 {
			first = kh
			out = append(out, k)
			continue
		}
		if sharesPrefix(&kh, &first, bits) {
			out = append(out, k)
		}
		if i > 50<<20 {
			t.Fatal("search too long")
		}
	}
	return out
}

func TestApplyRejects(t *testing.T) {
	h := newHarness(t)
	h.apply([]Change{{Key: []byte("a"), Value: []byte("1")}})
	before := h.tree.Root()
	cases := []struct {
		name    string
		changes []Change
		want    error
	}{
		{"duplicate", []Change{{Key: []byte("b"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}}, ErrDuplicateKey},
		{"duplicate delete", []Change{{Key: []byte("a"), Delete: true}, {Key: []byte("a"), Value: []byte("2")}}, ErrDuplicateKey},
		{"empty key", []Change{{Key: nil, Value: []byte("1")}}, ErrBadChange},
		{"long key", []Change{{Key: make([]byte, MaxKeyLen+1), Value: []byte("1")}}, ErrBadChange},
		{"empty value", []Change{{Key: []byte("c"), Value: []byte{}}}, ErrBadChange},
		{"long value", []Change{{Key: []byte("c"), Value: make([]byte, MaxValueLen+1)}}, ErrBadChange},
		{"delete with value", []Change{{Key: []byte("a"), Value: []byte("1"), Delete: true}}, ErrBadChange},
	}
	for _, c := range cases {
		b := h.db.NewBatch()
		_, err := h.tree.Apply(c.changes, b)
		mustErrIs(t, err, c.want)
		b.Close()
	}
	if h.tree.Root() != before {
		t.Fatal("root changed")
	}
}

func TestNoOpChanges(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(9, 9))
	h.apply(randomChanges(rng, h.model, 200, 400))
	before := h.tree.Root()
	// Deleting absent keys and applying nothing keep the root and write only
	// the root record.
	b := h.db.NewBatch()
	root, err := h.tree.Apply([]Change{{Key: []byte("absent/1"), Delete: true}, {Key: []byte("absent/2"), Delete: true}}, b)
	if err != nil || root != before {
		t.Fatalf("root %x err %v, want %x", root, err, before)
	}
	if b.Count() != 1 {
		t.Fatalf("batch holds %d writes, want 1", b.Count())
	}
	b.Close()
	if r := h.apply(nil); r != before {
		t.Fatal("empty apply changed the root")
	}
	h.checkStore()
}

func TestIterate(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(11, 11))
	for i := 0; i < 5; i++ {
		h.apply(randomChanges(rng, h.model, 100, 300))
	}
	var got []string
	var last [32]byte
	err := h.tree.Iterate(func(k, v []byte) error {
		kh := HashKey(k)
		if len(got) > 0 && bytes.Compare(kh[:], last[:]) <= 0 {
			t.Fatalf("out of order at %q", k)
		}
		last = kh
		if !bytes.Equal(h.model[string(k)], v) {
			t.Fatalf("%q=%q, model %q", k, v, h.model[string(k)])
		}
		got = append(got, string(k))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(h.model) {
		t.Fatalf("iterated %d, model %d", len(got), len(h.model))
	}
	stop := fmt.Errorf("stop")
	n := 0
	err = h.tree.Iterate(func(k, v []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("stop: %v after %d", err, n)
	}
}

// TestSharedDB: the tree keeps to its prefix; two trees and other data share
// one database.
func TestSharedDB(t *testing.T) {
	db := openDB(t, nil, t.TempDir())
	defer db.Close()
	if err := db.Set([]byte("s"), []byte("ledger"), nil); err != nil { // just below the prefix
		t.Fatal(err)
	}
	if err := db.Set([]byte("s0"), []byte("ledger"), nil); err != nil { // just above
		t.Fatal(err)
	}
	h := newHarnessOn(t, db)
	other, err := Open(db, []byte("t/"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 5; i++ {
		h.apply(randomChanges(rng, h.model, 80, 200))
	}
	if other.Root() != EmptyRoot {
		t.Fatal("other tree changed")
	}
	h.checkStore()
}

// TestCacheNeverWrong: the in-memory cache of the upper levels is checked by
// hash, so garbage in it (or nodes of an abandoned Apply) changes no result.
func TestCacheNeverWrong(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(12, 12))
	h.apply(randomChanges(rng, h.model, 300, 600))
	// An abandoned Apply puts its new nodes into the cache.
	b := h.db.NewBatch()
	if _, err := h.tree.Apply(randomChanges(rng, h.model, 100, 600), b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// And garbage everywhere else.
	for i := range h.tree.top.entries {
		if i%3 == 0 {
			e := &h.tree.top.entries[i]
			e.hash[0] ^= 0x5a
			e.value.left.hash[1] ^= 1
		}
	}
	for i := 0; i < 10; i++ {
		h.apply(randomChanges(rng, h.model, 60, 600))
		if h.tree.Root() != refRoot(h.model) {
			t.Fatalf("batch %d: root differs from the reference", i)
		}
	}
	h.checkStore()
	for _, c := range makeProofs(t, h, rng, 600, 100) {
		if err := VerifyProof(c.root, c.key, c.value, c.proof); err != nil {
			t.Fatal(err)
		}
	}
}
