package node

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gridmint/gridmint/ledger"
)

func runDevnet(t *testing.T, cfg DevnetConfig) *DevnetStats {
	t.Helper()
	d, err := NewDevnet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := d.Run()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDevnetDeterministic: the same seed gives the same chain, byte for
// byte; every validator ends on the same root.
func TestDevnetDeterministic(t *testing.T) {
	cfg := DevnetConfig{Validators: 4, Homes: 6, Seed: 7, Blocks: 120, Deterministic: true}
	a := runDevnet(t, cfg)
	b := runDevnet(t, cfg)
	if a.Height < 120 || !a.RootsAgree || !b.RootsAgree {
		t.Fatalf("height %d, roots agree %v %v", a.Height, a.RootsAgree, b.RootsAgree)
	}
	if a.StateRoot != b.StateRoot {
		t.Fatalf("two runs of one seed: %x vs %x", a.StateRoot, b.StateRoot)
	}
	cfg.Seed = 8
	if c := runDevnet(t, cfg); c.StateRoot == a.StateRoot {
		t.Fatal("another seed gave the same chain")
	}
}

// TestDevnetReadingsAccounted: after a run to a fixed time and the drain,
// every reading a home signed was accepted or rejected with a reason.
func TestDevnetReadingsAccounted(t *testing.T) {
	s := runDevnet(t, DevnetConfig{Validators: 4, Homes: 5, Seed: 3, Days: 0.2, Deterministic: true})
	var signed uint64
	for k := range s.ReadingsSigned {
		signed += s.ReadingsSigned[k]
		if s.ReadingsUnaccounted[k] != 0 || s.ReadingsPending[k] != 0 {
			t.Errorf("home %d: signed %d, accepted %d, rejected %v, pending %d, unaccounted %d", k,
				s.ReadingsSigned[k], s.ReadingsAccepted[k], s.ReadingsRejected[k], s.ReadingsPending[k], s.ReadingsUnaccounted[k])
		}
	}
	if signed < 5*19 {
		t.Fatalf("only %d readings signed in 0.2 days by 5 homes", signed)
	}
	if !s.RootsAgree {
		t.Fatal("roots disagree")
	}
}

// TestClockDriftWarning: a node whose clock runs ahead of the validators'
// notices it at the next decision.
func TestClockDriftWarning(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 0, Seed: 5, Blocks: 6, Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Run(); err != nil {
		t.Fatal(err)
	}
	n := d.Node(0)
	if n.DriftWarnings != 0 || n.ClockDriftMs > 2_000 || n.ClockDriftMs < -2_000 {
		t.Fatalf("in-sync clocks warned: drift %d ms, %d warnings", n.ClockDriftMs, n.DriftWarnings)
	}
	// The last decision again, seen by a clock 10 s ahead of the votes.
	h := n.Ledger().Height()
	n.now += 10_000
	n.checkClock(consensusDecisionFromStore(t, n, h))
	if n.DriftWarnings != 1 || n.ClockDriftMs < 9_000 {
		t.Fatalf("drift %d ms, %d warnings", n.ClockDriftMs, n.DriftWarnings)
	}
}

// resumeCfg is a small devnet with one-minute blocks, so that a few blocks
// span several reading intervals (and a reading still reaches a block
// within ReadingMaxSkewSeconds of its interval's end).
func resumeCfg(dir string) DevnetConfig {
	return DevnetConfig{Validators: 4, Homes: 3, Seed: 11, Dir: dir, Deterministic: true, BlockIntervalMs: 60_000}
}

// checkResumed runs the devnet again on dir for --days and checks that it
// went on from the chain there: higher, every reading of this run accepted
// (none "in flight" on a broken hash chain), each site's chain without a
// gap.
func checkResumed(t *testing.T, dir string, fromHeight uint64) {
	t.Helper()
	cfg := resumeCfg(dir)
	cfg.Days = 0.05 // 72 minutes: four or five intervals
	d, err := NewDevnet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.resumedAt != fromHeight {
		t.Fatalf("resumed at height %d, want %d", d.resumedAt, fromHeight)
	}
	s, err := d.Run()
	if err != nil {
		t.Fatal(err)
	}
	if s.Height <= fromHeight || !s.RootsAgree {
		t.Fatalf("height %d after resuming at %d, roots agree %v", s.Height, fromHeight, s.RootsAgree)
	}
	if s.SimulatedDays < 0.05 || s.SimulatedDays > 0.2 {
		t.Fatalf("this run simulated %.3f days, want --days 0.05 counted from where the chain stood (plus the drain)", s.SimulatedDays)
	}
	var accepted uint64
	for k := range s.ReadingsSigned {
		accepted += s.ReadingsAccepted[k]
		if s.ReadingsAccepted[k] != s.ReadingsSigned[k] || s.ReadingsUnaccounted[k] != 0 {
			t.Errorf("home %d: signed %d, accepted %d, rejected %v, unaccounted %d", k, s.ReadingsSigned[k],
				s.ReadingsAccepted[k], s.ReadingsRejected[k], s.ReadingsUnaccounted[k])
		}
		site, ok, err := d.Node(0).Ledger().Site(d.fleet.Homes[k].Site())
		if err != nil || !ok || site.Counter != site.Accepted {
			t.Errorf("home %d: site %+v (%v): its reading chain has a gap", k, site, err)
		}
	}
	if accepted < 3*3 {
		t.Fatalf("only %d readings accepted after the resume", accepted)
	}
}

// TestDevnetResumesOnItsHome: a devnet stopped cleanly and run again on
// its home goes on from its chain: height, reading chains, nonces.
func TestDevnetResumesOnItsHome(t *testing.T) {
	dir := t.TempDir()
	cfg := resumeCfg(dir)
	cfg.Blocks = 40 // 40 minutes: two intervals or more
	s := runDevnet(t, cfg)
	if s.Height < 40 {
		t.Fatalf("first run reached height %d", s.Height)
	}
	var accepted uint64
	for _, a := range s.ReadingsAccepted {
		accepted += a
	}
	if accepted == 0 {
		t.Fatal("first run: no reading accepted")
	}
	checkResumed(t, dir, s.Height)
}

// TestDevnetRefusesAnotherSeedUntouched: a home made with one seed is
// refused with another, and nothing in it is written.
func TestDevnetRefusesAnotherSeedUntouched(t *testing.T) {
	dir := t.TempDir()
	cfg := resumeCfg(dir)
	cfg.Blocks = 3
	runDevnet(t, cfg)
	before := snapshotTree(t, dir)
	cfg.Seed++
	if d, err := NewDevnet(cfg); err == nil {
		d.Close()
		t.Fatal("another seed accepted")
	} else if !strings.Contains(err.Error(), "genesis") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("error %v", err)
	}
	cfg.Seed--
	cfg.Homes++
	if _, err := NewDevnet(cfg); err == nil {
		t.Fatal("other --homes accepted")
	}
	if after := snapshotTree(t, dir); after != before {
		t.Fatalf("the refused home changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// snapshotTree lists every file under dir with its size, mode, mtime and
// content hash.
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		sum := ""
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(data))
		}
		fmt.Fprintf(&b, "%s %d %v %d %s\n", p, info.Size(), info.Mode(), info.ModTime().UnixNano(), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestDevnetResumesAfterSIGKILL: a devnet killed (SIGKILL, no clean
// shutdown) in a child process while it commits blocks resumes on its home.
func TestDevnetResumesAfterSIGKILL(t *testing.T) {
	if dir := os.Getenv("GRIDMINT_TEST_DEVNET_CHILD"); dir != "" {
		cfg := resumeCfg(dir)
		cfg.Days = 10
		cfg.Log = os.Stdout
		d, err := NewDevnet(cfg)
		if err != nil {
			fmt.Println("child:", err)
			os.Exit(2)
		}
		d.Run()
		os.Exit(3) // killed long before
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDevnetResumesAfterSIGKILL$")
	cmd.Env = append(os.Environ(), "GRIDMINT_TEST_DEVNET_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once blocks have taken readings twice: in the middle of its
	// work, wherever that is.
	sc := bufio.NewScanner(out)
	seen := 0
	for sc.Scan() && seen < 2 {
		if strings.Contains(sc.Text(), "readings accepted") {
			seen++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)
	cmd.Wait()
	if seen < 2 {
		t.Fatalf("the child stopped before committing readings")
	}
	g, err := ledger.LoadGenesis(filepath.Join(dir, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(PathsOf(filepath.Join(dir, "validator-0")).Ledger, g, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Height()
	l.Close()
	checkResumed(t, dir, h)
}

// TestSecondDevnetOnAHome: a second devnet on a home in use is refused
// with a message naming it, before it writes anything.
func TestSecondDevnetOnAHome(t *testing.T) {
	dir := t.TempDir()
	cfg := resumeCfg(dir)
	d, err := NewDevnet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	before := snapshotTree(t, dir)
	_, err = NewDevnet(cfg)
	if !errors.Is(err, ledger.ErrInUse) || !strings.Contains(err.Error(), "another gridmint is using "+filepath.Join(dir, "validator-0")) {
		t.Fatalf("second devnet: %v", err)
	}
	if after := snapshotTree(t, dir); after != before {
		t.Fatalf("the refused devnet wrote to the home:\n%s\n%s", before, after)
	}
}

// TestDevnetOnLibp2p: the devnet without --deterministic runs its
// validators as libp2p hosts on 127.0.0.1 (gossipsub, block sync) on a
// clock sped up 1500 times; the homes and the utility publish through a
// gateway host. Every validator ends at one root, every reading signed is
// accepted (none is refused as from the future: the proposer leaves a
// reading of an interval its block time has not closed for a later
// block), and the homes' sites are registered.
func TestDevnetOnLibp2p(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 3, Seed: 5, Days: 0.1, Speed: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Net() != nil || d.p2p == nil || len(d.p2p.hosts) != 4 {
		t.Fatal("not on libp2p")
	}
	for _, h := range d.p2p.hosts {
		for _, a := range h.Addrs() {
			if !strings.HasPrefix(a, "/ip4/127.0.0.1/") {
				t.Fatalf("a validator announces %s", a)
			}
		}
	}
	s, err := d.Run()
	if err != nil {
		t.Fatal(err)
	}
	if !s.RootsAgree || s.Height < 3 {
		t.Fatalf("height %d, roots agree %v", s.Height, s.RootsAgree)
	}
	var signed, accepted uint64
	for i := range s.ReadingsSigned {
		signed += s.ReadingsSigned[i]
		accepted += s.ReadingsAccepted[i]
		for reason, n := range s.ReadingsRejected[i] {
			t.Errorf("home %d: %d readings rejected (%v)", i, n, reason)
		}
	}
	if signed == 0 || accepted != signed {
		t.Fatalf("%d readings signed, %d accepted", signed, accepted)
	}
	for i := range d.fleet.Homes {
		if _, ok, _ := d.nodes[0].Ledger().Site(d.fleet.Homes[i].Site()); !ok {
			t.Fatalf("home %d not registered", i)
		}
	}
	if err := d.RestartValidator(1); err == nil {
		t.Fatal("a restart on libp2p was accepted")
	}
	t.Logf("%d blocks, %d readings over %.2f simulated days", s.Height, signed, s.SimulatedDays)
}
