package node

import (
	"testing"
)

// TestDevnetOneRoundPerHeight: with no faulty validator and the devnet's
// delays far below the propose timeout, every height commits in round 0
// on every validator (the round is the one of the stored commit
// certificate). It failed, every height in round 1, while the node
// entered each height on the engine clock of before the block pause, so
// that the round-0 propose timeout fired before the proposal arrived.
func TestDevnetOneRoundPerHeight(t *testing.T) {
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 6, Seed: 7, Blocks: 60, Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := d.Run()
	if err != nil {
		t.Fatal(err)
	}
	if s.Height < 60 || !s.RootsAgree {
		t.Fatalf("height %d, roots agree %v", s.Height, s.RootsAgree)
	}
	for i, n := range d.nodes {
		late := 0
		for h := uint64(1); h <= n.Ledger().Height(); h++ {
			if r := consensusDecisionFromStore(t, n, h).Commit.Round; r != 0 {
				if late < 5 {
					t.Errorf("validator %d: height %d committed in round %d", i, h, r)
				}
				late++
			}
		}
		if late > 0 {
			t.Errorf("validator %d: %d of %d heights committed after round 0", i, late, n.Ledger().Height())
		}
	}
}
