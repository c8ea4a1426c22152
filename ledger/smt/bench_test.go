package smt

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// Benchmarks run against trees of 100k and 1M keys, built once per process
// in a temporary directory (building 1M keys takes a while) and shared by
// the benchmarks. Keys are "acct/" + a 20-byte big-endian index, values 64
// bytes, like an account record.

var benchSizes = []int{100_000, 1_000_000}

type benchTree struct {
	db   *pebble.DB
	tree *Tree
	n    int    // keys 0..n-1 are present
	next uint64 // the next key index to insert
}

var (
	benchMu    sync.Mutex
	benchTrees = map[int]*benchTree{}
	benchDirs  []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, bt := range benchTrees {
		bt.db.Close()
	}
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func benchKey(i uint64) []byte {
	k := make([]byte, 5+20)
	copy(k, "acct/")
	binary.BigEndian.PutUint64(k[5+12:], i)
	return k
}

func benchValue(rng *rand.Rand) []byte {
	v := make([]byte, 64)
	for i := 0; i < len(v); i += 8 {
		binary.LittleEndian.PutUint64(v[i:], rng.Uint64())
	}
	return v
}

// openBenchDB opens pebble as a node would: with Options.Configure's bloom
// filters and a 64 MiB block cache (a Raspberry Pi's budget).
func openBenchDB(b *testing.B, dir string) *pebble.DB {
	cache := pebble.NewCache(64 << 20)
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, Logger: quietLogger{}}
	ConfigureOptions(opts)
	db, err := pebble.Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	return db
}

func getBenchTree(b *testing.B, n int) *benchTree {
	benchMu.Lock()
	defer benchMu.Unlock()
	if bt := benchTrees[n]; bt != nil {
		return bt
	}
	dir, err := os.MkdirTemp("", "smt-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs = append(benchDirs, dir)
	db := openBenchDB(b, dir)
	tree, err := Open(db, testPrefix)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(n), 0))
	const chunk = 50_000
	for lo := 0; lo < n; lo += chunk {
		changes := make([]Change, 0, chunk)
		for i := lo; i < min(n, lo+chunk); i++ {
			changes = append(changes, Change{Key: benchKey(uint64(i)), Value: benchValue(rng)})
		}
		batch := db.NewBatch()
		root, err := tree.Apply(changes, batch)
		if err != nil {
			b.Fatal(err)
		}
		if err := batch.Commit(pebble.NoSync); err != nil {
			b.Fatal(err)
		}
		batch.Close()
		if err := tree.Commit(root); err != nil {
			b.Fatal(err)
		}
	}
	// Settle the LSM, as a long-running node's would be.
	if err := db.Compact(context.Background(), []byte("s"), []byte("t"), true); err != nil {
		b.Fatal(err)
	}
	bt := &benchTree{db: db, tree: tree, n: n, next: uint64(n)}
	benchTrees[n] = bt
	return bt
}

// changes returns k changes on bt: 80% updates of present keys, 10%
// inserts of new keys, 10% deletes of keys inserted earlier by this
// function (so the tree keeps its size).
func (bt *benchTree) changes(rng *rand.Rand, k int) []Change {
	out := make([]Change, 0, k)
	used := map[uint64]bool{}
	start := bt.next // deletes pick among keys of earlier batches
	for len(out) < k {
		switch r := rng.IntN(10); {
		case r == 0:
			out = append(out, Change{Key: benchKey(bt.next), Value: benchValue(rng)})
			bt.next++
		case r == 1 && start > uint64(bt.n)+uint64(k):
			i := uint64(bt.n) + rng.Uint64N(start-uint64(bt.n))
			if used[i] {
				continue
			}
			used[i] = true
			// May be absent already: deleting an absent key is allowed.
			out = append(out, Change{Key: benchKey(i), Delete: true})
		default:
			i := rng.Uint64N(uint64(bt.n))
			if used[i] {
				continue
			}
			used[i] = true
			out = append(out, Change{Key: benchKey(i), Value: benchValue(rng)})
		}
	}
	return out
}

// BenchmarkApply: Apply of k changed keys into a tree of n keys, the batch
// committed (without fsync) and the tree committed, per iteration. The cost
// per changed key is ns/op divided by k (no float metric: the package keeps
// to integers).
func BenchmarkApply(b *testing.B) {
	for _, n := range benchSizes {
		for _, k := range []int{1_000, 10_000} {
			b.Run(fmt.Sprintf("n=%d/k=%d", n, k), func(b *testing.B) {
				bt := getBenchTree(b, n)
				rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					changes := bt.changes(rng, k)
					b.StartTimer()
					batch := bt.db.NewBatch()
					root, err := bt.tree.Apply(changes, batch)
					if err != nil {
						b.Fatal(err)
					}
					if err := batch.Commit(pebble.NoSync); err != nil {
						b.Fatal(err)
					}
					batch.Close()
					if err := bt.tree.Commit(root); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkGet(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			bt := getBenchTree(b, n)
			rng := rand.New(rand.NewPCG(1, 1))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok, err := bt.tree.Get(benchKey(rng.Uint64N(uint64(n)))); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

func BenchmarkProve(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			bt := getBenchTree(b, n)
			rng := rand.New(rand.NewPCG(2, 2))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, _, err := bt.tree.Prove(benchKey(rng.Uint64N(uint64(n)))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyProof(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			bt := getBenchTree(b, n)
			key := benchKey(uint64(n / 2))
			p, v, root, err := bt.tree.Prove(key)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("proof depth %d", len(p.Siblings))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := VerifyProof(root, key, v, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
