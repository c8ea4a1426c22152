package sim

// Scenarios are the fault scenarios the simulation runs, each over many
// seeds. Byzantine validators hold less than a third of the voting power in
// every one of them (the algorithm's assumption); everything else may fail.
func Scenarios() []Scenario {
	base := Scenario{
		Validators: 4, MinDelayMs: 1, MaxDelayMs: 40,
		GSTMs: 3000, ExtraHeights: 3, LivenessMs: 60_000,
	}
	with := func(name string, f func(*Scenario)) Scenario {
		sc := base
		sc.Name = name
		f(&sc)
		return sc
	}
	return []Scenario{
		with("healthy", func(sc *Scenario) { sc.ExtraHeights = 10 }),
		with("lossy", func(sc *Scenario) {
			sc.MaxDelayMs = 200 // wide jitter: heavy reordering
			sc.LossPPM, sc.DupPPM = 200_000, 100_000
		}),
		with("partition", func(sc *Scenario) {
			sc.Validators = 5
			sc.Partitions = true
			sc.GSTMs = 5000
		}),
		with("crash", func(sc *Scenario) {
			sc.Crashes, sc.MidReadyCrashes = true, true
			sc.LossPPM = 50_000
			sc.GSTMs = 5000
		}),
		with("wal-corruption", func(sc *Scenario) {
			// Crashes, and at some of node 0's restarts its WAL is
			// corrupt mid-file and repaired (its signed records from a
			// random one on are gone): with its double-sign guard it
			// rejoins without signing anything twice.
			sc.Crashes = true
			sc.WALCorruption = WALRepaired
			sc.LossPPM = 50_000
			sc.GSTMs = 5000
		}),
		with("equivocator", func(sc *Scenario) {
			sc.Byzantine = []Behaviour{Equivocator}
			sc.LossPPM = 50_000
		}),
		with("double-voter", func(sc *Scenario) {
			sc.Byzantine = []Behaviour{DoubleVoter}
			sc.LossPPM = 50_000
		}),
		with("silent", func(sc *Scenario) {
			sc.Byzantine = []Behaviour{Silent}
			sc.LossPPM = 50_000
		}),
		with("garbage", func(sc *Scenario) {
			sc.Byzantine = []Behaviour{Garbage}
			sc.LossPPM = 50_000
		}),
		with("colluders", func(sc *Scenario) {
			// Two Byzantine validators of seven: a proposer that sends two
			// values and backs each with its votes, and a double voter that
			// backs the second value. (This scenario finds a safety
			// violation at once if the quorum is lowered to a majority.)
			sc.Validators = 7
			sc.Byzantine = []Behaviour{Equivocator, DoubleVoter}
			sc.LossPPM = 20_000
		}),
		with("invalid-proposer", func(sc *Scenario) {
			// A validator whose proposals are signed but invalid: honest
			// nodes must prevote nil, and it must never be decided.
			sc.Byzantine = []Behaviour{InvalidProposer}
			sc.LossPPM = 50_000
		}),
		with("epochs", func(sc *Scenario) {
			// Six nodes, four validators per set, sets re-ranked by stake
			// every 3 heights, with crashes and partitions.
			sc.Candidates, sc.Validators, sc.Epoch = 6, 4, 3
			sc.Crashes, sc.Partitions = true, true
			sc.GSTMs = 4000
			sc.ExtraHeights = 7
		}),
		with("chaos", func(sc *Scenario) {
			// Seven validators, two Byzantine (an equivocating proposer
			// and a double voter), every network fault, crashes inside a
			// Ready, skewed clocks.
			sc.Validators = 7
			sc.Byzantine = []Behaviour{Equivocator, DoubleVoter}
			sc.MaxDelayMs = 150
			sc.LossPPM, sc.DupPPM = 100_000, 50_000
			sc.Partitions, sc.Crashes, sc.MidReadyCrashes = true, true, true
			sc.ClockSkewMs = 500
			sc.GSTMs = 6000
		}),
	}
}
