package smt

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestAbandonedBatch: an Apply whose batch is never committed leaves Root,
// Len, Get and Prove at the old version, Commit refuses the new root, and
// the next Apply starts from the old version.
func TestAbandonedBatch(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(21, 21))
	h.apply(randomChanges(rng, h.model, 200, 400))
	oldRoot, oldLen := h.tree.Root(), h.tree.Len()
	probe := []byte("acct/17")
	oldVal, oldOK, _ := h.tree.Get(probe)
	oldProof, _, _, _ := h.tree.Prove(probe)

	changes := randomChanges(rng, h.model, 100, 400)
	changes = append(changes, Change{Key: probe, Value: []byte("new")})
	for i := 0; i < len(changes)-1; i++ {
		if bytes.Equal(changes[i].Key, probe) {
			changes = slices.Delete(changes, i, i+1)
		}
	}
	b := h.db.NewBatch()
	newRoot, err := h.tree.Apply(changes, b)
	if err != nil {
		t.Fatal(err)
	}
	if newRoot == oldRoot {
		t.Fatal("changes did not change the root")
	}
	b.Close() // abandoned

	mustErrIs(t, h.tree.Commit(newRoot), ErrNotCommitted)
	if h.tree.Root() != oldRoot || h.tree.Len() != oldLen {
		t.Fatal("tree moved")
	}
	v, ok, err := h.tree.Get(probe)
	if err != nil || ok != oldOK || !bytes.Equal(v, oldVal) {
		t.Fatalf("Get %q %v %v", v, ok, err)
	}
	p, _, root, err := h.tree.Prove(probe)
	if err != nil || root != oldRoot || !slices.Equal(p.Siblings, oldProof.Siblings) {
		t.Fatalf("Prove moved: %v", err)
	}
	if err := VerifyProof(oldRoot, probe, oldVal, p); err != nil {
		t.Fatal(err)
	}
	h.checkStore()
	// The same changes again, committed this time, give the same root.
	if got := h.apply(changes); got != newRoot {
		t.Fatalf("root %x, abandoned Apply said %x", got, newRoot)
	}
	h.checkStore()
}

// TestStale: committing a batch and then calling Apply without Commit is a
// protocol error that Apply detects rather than mixing two versions.
func TestStale(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(22, 22))
	h.apply(randomChanges(rng, h.model, 50, 100))
	b := h.db.NewBatch()
	changes := randomChanges(rng, h.model, 50, 100)
	root, err := h.tree.Apply(changes, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	b2 := h.db.NewBatch()
	_, err = h.tree.Apply(randomChanges(rng, h.model, 5, 100), b2)
	mustErrIs(t, err, ErrStale)
	b2.Close()
	// Prove reads one consistent view, so in this window it proves against the
	// newer root and says so.
	_, _, proofRoot, err := h.tree.Prove([]byte("acct/1"))
	if err != nil || proofRoot != root {
		t.Fatalf("Prove in the window: root %x, err %v; want %x", proofRoot, err, root)
	}
	if err := h.tree.Commit(root); err != nil {
		t.Fatal(err)
	}
}

// TestReopen: after committed batches, closing and reopening the database
// on real files gives the same root, contents and proofs.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, nil, dir)
	h := newHarnessOn(t, db)
	h.sync = pebble.Sync
	rng := rand.New(rand.NewPCG(23, 23))
	for i := 0; i < 10; i++ {
		h.apply(randomChanges(rng, h.model, 60, 300))
	}
	root := h.tree.Root()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, nil, dir)
	defer db.Close()
	h2 := newHarnessOn(t, db)
	h2.model = h.model
	if h2.tree.Root() != root || h2.tree.Len() != uint64(len(h.model)) {
		t.Fatalf("reopened root %x len %d, want %x len %d", h2.tree.Root(), h2.tree.Len(), root, len(h.model))
	}
	h2.checkStore()
	for _, c := range makeProofs(t, h2, rng, 300, 50) {
		if err := VerifyProof(root, c.key, c.value, c.proof); err != nil {
			t.Fatal(err)
		}
	}
}

// version is a committed version: its root and contents.
type version struct {
	root  [32]byte
	model map[string][]byte
}

// TestCrashMem runs the tree on pebble's crashable in-memory filesystem and
// takes crash images: after synced commits the image holds exactly the last
// version; after unsynced commits, with a random part of the unsynced data
// kept, it holds one of the versions since the last sync, whole (each batch
// is atomic: no half-applied Apply).
func TestCrashMem(t *testing.T) {
	fs := vfs.NewCrashableMem()
	db := openDB(t, fs, "db")
	defer db.Close()
	h := newHarnessOn(t, db)
	rng := rand.New(rand.NewPCG(24, 24))
	reopen := func(img *vfs.MemFS) (*pebble.DB, *Tree) {
		t.Helper()
		db := openDB(t, img, "db")
		tree, err := Open(db, testPrefix)
		if err != nil {
			t.Fatal(err)
		}
		return db, tree
	}
	rounds := 8
	if testing.Short() { // under qemu in scripts/cross-test
		rounds = 2
	}
	for round := 0; round < rounds; round++ {
		// Synced: the crash image is exactly the last version.
		h.sync = pebble.Sync
		h.apply(randomChanges(rng, h.model, 80, 400))
		synced := version{h.tree.Root(), maps.Clone(h.model)}
		db2, tree2 := reopen(fs.CrashClone(vfs.CrashCloneCfg{}))
		if tree2.Root() != synced.root {
			t.Fatalf("round %d: synced root lost", round)
		}
		if err := checkStore(db2, tree2, synced.model); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		db2.Close()

		// Unsynced: any version since the sync, whole.
		h.sync = pebble.NoSync
		history := []version{synced}
		for i := 0; i < 4; i++ {
			h.apply(randomChanges(rng, h.model, 40, 400))
			history = append(history, version{h.tree.Root(), maps.Clone(h.model)})
		}
		for c := 0; c < 4; c++ {
			img := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(uint64(round), uint64(c)))})
			db2, tree2 := reopen(img)
			idx := slices.IndexFunc(history, func(v version) bool { return v.root == tree2.Root() })
			if idx < 0 {
				t.Fatalf("round %d: crash image has root %x, no committed version", round, tree2.Root())
			}
			if err := checkStore(db2, tree2, history[idx].model); err != nil {
				t.Fatalf("round %d, version %d: %v", round, idx, err)
			}
			db2.Close()
		}
	}
}

// killChildEnv names the directory the child of TestKillChild writes to.
const killChildEnv = "SMT_KILL_CHILD_DIR"

// killSchedule is the child's deterministic work: version i is the result of
// killChanges(i) on version i-1.
func killChanges(rng *rand.Rand, model map[string][]byte) []Change {
	return randomChanges(rng, model, 200, 2000)
}

// TestKillChild starts this test binary as a child process that commits
// versions with Sync and reports each root after its commit, kills it with
// SIGKILL at some point, reopens the database and expects the last reported
// version or a later one, whole.
func TestKillChild(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		runKillChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The parent replays the child's schedule to know every version.
	rng := rand.New(rand.NewPCG(25, 25))
	model := map[string][]byte{}
	history := []version{{EmptyRoot, map[string][]byte{}}}
	reported := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() && reported < 15 {
		line := sc.Text()
		if len(line) != 64 {
			continue
		}
		for _, c := range killChanges(rng, model) {
			if c.Delete {
				delete(model, string(c.Key))
			} else {
				model[string(c.Key)] = c.Value
			}
		}
		history = append(history, version{refRoot(model), maps.Clone(model)})
		reported++
		if want := hex.EncodeToString(history[reported].root[:]); line != want {
			t.Fatalf("child version %d root %s, replay %s", reported, line, want)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	db := openDB(t, nil, dir)
	defer db.Close()
	tree, err := Open(db, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	// The child may have committed more versions than the parent has read.
	idx := slices.IndexFunc(history, func(v version) bool { return v.root == tree.Root() })
	for idx < 0 && len(history) < reported+1000 {
		for _, c := range killChanges(rng, model) {
			if c.Delete {
				delete(model, string(c.Key))
			} else {
				model[string(c.Key)] = c.Value
			}
		}
		history = append(history, version{refRoot(model), maps.Clone(model)})
		if history[len(history)-1].root == tree.Root() {
			idx = len(history) - 1
		}
	}
	if idx < reported {
		t.Fatalf("reopened at version %d, child had reported %d committed", idx, reported)
	}
	if err := checkStore(db, tree, history[idx].model); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d reported versions; reopened at version %d", reported, idx)
}

func runKillChild(dir string) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		panic(err)
	}
	tree, err := Open(db, testPrefix)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(25, 25))
	model := map[string][]byte{}
	for {
		changes := killChanges(rng, model)
		b := db.NewBatch()
		root, err := tree.Apply(changes, b)
		if err != nil {
			panic(err)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			panic(err)
		}
		if err := tree.Commit(root); err != nil {
			panic(err)
		}
		for _, c := range changes {
			if c.Delete {
				delete(model, string(c.Key))
			} else {
				model[string(c.Key)] = c.Value
			}
		}
		fmt.Println(hex.EncodeToString(root[:]))
	}
}
