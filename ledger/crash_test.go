package ledger

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// crashSeed is the stream the crash tests commit; its roots are recomputed
// in the parent to check what the child left behind.
const crashSeed = 7

// TestCrashChild is the child process of TestCrashKill: it commits blocks of
// a fixed random stream in GRIDMINT_CRASH_DIR and prints "H ROOT" after
// each commit has returned, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("GRIDMINT_CRASH_DIR")
	if dir == "" {
		t.Skip("child of TestCrashKill")
	}
	w := bufio.NewWriter(os.Stdout)
	randomStreamWith(t, streamOpts{seed: crashSeed, blocks: 100_000, dir: dir, onBlock: func(h uint64, root [32]byte) {
		fmt.Fprintf(w, "%d %x\n", h, root)
		w.Flush()
	}})
}

// TestCrashKill kills a child process with SIGKILL while it commits, at
// seeded random points, and checks that the store reopens at a committed
// block: at least the last one the child reported, at most the one after,
// and with exactly the root the same stream gives when replayed.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rounds := 6
	rng := rand.New(rand.NewPCG(11, 13))
	want, _ := randomStreamWith(t, streamOpts{seed: crashSeed, blocks: 400})
	for round := 0; round < rounds; round++ {
		dir := filepath.Join(t.TempDir(), "db")
		stopAfter := 5 + rng.IntN(60) // blocks reported before the kill
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GRIDMINT_CRASH_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var last uint64
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			h, _ := strconv.ParseUint(f[0], 10, 64)
			last = h
			if int(h) >= stopAfter {
				// Kill while the child is inside its next block's commit
				// or execution; where exactly is up to the scheduler.
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		// The child may have reported more before it died: read it all.
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 {
				last, _ = strconv.ParseUint(f[0], 10, 64)
			}
		}
		cmd.Wait()
		c := newTestChainAt(t, dir, nil, Options{})
		got := c.l.Height()
		if got < last || got > last+1 {
			t.Fatalf("round %d: reopened at height %d, child had reported %d", round, got, last)
		}
		if c.l.StateRoot() != want[got-1] {
			t.Fatalf("round %d: root at height %d is %x, the stream gives %x", round, got, c.l.StateRoot(), want[got-1])
		}
		blk, err := c.l.Block(got)
		if err != nil || blk.Header.StateRoot != c.l.StateRoot() || blk.Hash() != c.l.LastBlockHash() {
			t.Fatalf("round %d: block %d does not match the state: %v", round, got, err)
		}
		c.l.Close()
		t.Logf("round %d: killed after %d reported, reopened at %d", round, last, got)
	}
}

// TestCrashMem runs the stream on pebble's crashable in-memory filesystem
// and, after every few blocks, reopens a crash image that keeps only synced
// data (plus a random share of unsynced data): each must open at a block
// the stream committed, with that block's root.
func TestCrashMem(t *testing.T) {
	fs := vfs.NewCrashableMem()
	rng := rand.New(rand.NewPCG(3, 5))
	var roots [][32]byte
	images := 0
	randomStreamWith(t, streamOpts{seed: crashSeed, blocks: 60, dir: "db", fs: fs, onBlock: func(h uint64, root [32]byte) {
		roots = append(roots, root)
		if h%5 != 0 {
			return
		}
		img := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(h, 1))})
		l, err := Open("db", testGenesis(nil), Options{FS: img})
		if err != nil {
			t.Fatalf("crash image at height %d: %v", h, err)
		}
		defer l.Close()
		// Every commit is synced, so the image holds the latest block.
		if l.Height() != h || l.StateRoot() != roots[h-1] {
			r := l.StateRoot()
			t.Fatalf("crash image at height %d reopened at %d, root %s", h, l.Height(), hex.EncodeToString(r[:4]))
		}
		images++
	}})
	if images != 12 {
		t.Fatalf("%d crash images checked", images)
	}
}
