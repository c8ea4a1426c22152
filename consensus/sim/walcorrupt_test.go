package sim

import (
	"errors"
	"testing"
)

// TestWALCorruptionScenario: over many seeds of the wal-corruption
// scenario, node 0 restarts on repaired WALs that lost signed records, and
// safety, liveness and "no honest node signs twice" hold. The same seeds
// without the guard make node 0 equivocate in some of them: the scenario
// reaches the case the guard is for.
func TestWALCorruptionScenario(t *testing.T) {
	var sc Scenario
	for _, s := range Scenarios() {
		if s.Name == "wal-corruption" {
			sc = s
		}
	}
	if sc.WALCorruption != WALRepaired {
		t.Fatal("no wal-corruption scenario")
	}
	repairs, dropped, equivocations := 0, 0, 0
	for seed := uint64(1); seed <= 60; seed++ {
		s, err := newSim(sc, seed)
		if err != nil {
			t.Fatal(err)
		}
		s.run()
		if s.err != nil {
			t.Fatalf("seed %d: %v", seed, s.err)
		}
		if gs := s.nodes[walVictim].gs; gs != nil {
			repairs += gs.repairs
			dropped += gs.droppedSigned
		}
		bare := sc
		bare.WALCorruption = walRepairedNoGuard
		if _, err := Run(bare, seed); errors.Is(err, ErrEquivocation) {
			equivocations++
		} else if err != nil && !errors.Is(err, ErrInternal) {
			t.Logf("seed %d without the guard: %v", seed, err)
		}
	}
	if repairs == 0 || dropped == 0 {
		t.Fatalf("%d repairs dropped %d signed records: the scenario tested nothing", repairs, dropped)
	}
	if equivocations == 0 {
		t.Fatalf("without the guard no seed equivocated: the scenario does not reach the double-sign case")
	}
	t.Logf("60 seeds: %d repairs dropped %d signed records, no double signing; without the guard %d seeds equivocated", repairs, dropped, equivocations)
}
