package sim

import (
	"flag"
	"fmt"
	"testing"
)

var (
	flagSeeds    = flag.Int("sim.seeds", 100, "seeds per fault scenario (make sim runs 1000)")
	flagSeed     = flag.Uint64("sim.seed", 0, "run only this seed (with -sim.scenario) to reproduce a failure")
	flagScenario = flag.String("sim.scenario", "", "run only this scenario")
	flagFirst    = flag.Uint64("sim.first", 1, "first seed of the range")
)

// TestSim runs every fault scenario over -sim.seeds seeds and checks, in each
// run, safety (no two blocks at one height), validity (every committed
// block passes the honest validity rule and carries a verifying commit),
// that no honest validator is ever accused of double signing, and liveness
// (after GST every honest node gets ExtraHeights past the highest height
// decided at GST). A failure names the seed that reproduces it.
func TestSim(t *testing.T) {
	seedsGiven := false
	flag.Visit(func(f *flag.Flag) { seedsGiven = seedsGiven || f.Name == "sim.seeds" })
	for _, sc := range allScenarios() {
		if *flagScenario != "" && sc.Name != *flagScenario {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			first, n := *flagFirst, uint64(*flagSeeds)
			if !seedsGiven && sc.QuickSeeds > 0 {
				n = uint64(sc.QuickSeeds)
			}
			if *flagSeed != 0 {
				first, n = *flagSeed, 1
			}
			var heights, evidence, propEvidence, crashes, broadcasts, lockIgnored uint64
			var maxRound int32
			for seed := first; seed < first+n; seed++ {
				res, err := Run(sc, seed)
				if err != nil {
					t.Fatal(err)
				}
				heights += res.Heights
				evidence += uint64(res.Evidence)
				crashes += uint64(res.Crashes)
				broadcasts += res.Broadcasts
				propEvidence += uint64(res.ProposalEvidence)
				lockIgnored += uint64(res.LockIgnored)
				maxRound = max(maxRound, res.MaxRound)
			}
			t.Logf("%s: %d seeds from %d ok; %d heights, %d crashes, %d evidence (%d of proposals), %d broadcasts, highest decision round %d, %d prevotes against a lock",
				sc.Name, n, first, heights, crashes, evidence, propEvidence, broadcasts, maxRound, lockIgnored)
			// Each scenario must have exercised what it is about.
			if sc.Name == "double-voter" && evidence == 0 {
				t.Error("a double voter ran and no evidence was produced")
			}
			if sc.Name == "equivocator" && n >= 50 && propEvidence == 0 {
				t.Error("an equivocating proposer ran and no duplicate-proposal evidence was produced")
			}
			// (Only over many seeds: the mutation test runs few.)
			if sc.Name == "amnesia-7" && n >= 50 && lockIgnored == 0 {
				t.Error("the amnesiacs ran and never prevoted against their locks")
			}
			if sc.PreGSTMaxDelayMs > 0 && n >= 50 && maxRound < 3 {
				t.Errorf("long delays before GST, but no height took more than %d rounds", maxRound+1)
			}
		})
	}
}

// TestSimDeterministic checks that a seed is a complete description of a
// run: the same seed twice gives the same measurements.
func TestSimDeterministic(t *testing.T) {
	sc := Scenarios()[len(Scenarios())-1] // chaos
	a, err := Run(sc, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(sc, 7)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("seed 7 ran twice differently:\n%+v\n%+v", a, b)
	}
}

// TestSimRealCrypto runs a few seeds of the colluders scenario with real
// secp256k1 signatures, so that the evidence the engines report is also
// checked with VerifyDuplicateVoteEvidence, the function the ledger uses.
func TestSimRealCrypto(t *testing.T) {
	var sc Scenario
	for _, s := range Scenarios() {
		if s.Name == "colluders" {
			sc = s
		}
	}
	sc.Name += "-secp256k1"
	sc.RealCrypto = true
	sc.ExtraHeights = 2
	var evidence int
	for seed := uint64(1); seed <= 3; seed++ {
		res, err := Run(sc, seed)
		if err != nil {
			t.Fatal(err)
		}
		evidence += res.Evidence
	}
	if evidence == 0 {
		t.Fatal("no evidence reported")
	}
	t.Logf("3 seeds, %d evidence reports verified", evidence)
}
