package node

import (
	"testing"
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
