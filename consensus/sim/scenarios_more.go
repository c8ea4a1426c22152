package sim

// allScenarios is what TestSim runs: Scenarios and the scenarios added with
// the mutation testing of issue 15 (amnesia, larger sets, long delays
// before GST, the pause between blocks), kept in their own list.
func allScenarios() []Scenario { return append(Scenarios(), moreScenarios()...) }

// moreScenarios: Byzantine validators still hold less than a third of the
// power in each.
func moreScenarios() []Scenario {
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
		with("paced", func(sc *Scenario) {
			// A real node's rhythm: a pause of BlockIntervalMs (longer
			// than the propose timeout) after each decision, and nothing
			// wrong: every height must commit in round 0. (With the
			// engine ticked after Advance instead of before, the stale
			// clock fires the propose timeout at once and this fails at
			// the first height.)
			sc.GSTMs = 0
			sc.ExtraHeights = 10
			sc.BlockIntervalMs = 1000
			sc.RoundZero = true
		}),
		with("amnesia", func(sc *Scenario) {
			// One validator of four ignores its lock; partitions and loss
			// make locks in one round and proposals of other values in
			// later ones.
			sc.Byzantine = []Behaviour{Amnesiac}
			sc.Partitions = true
			sc.MaxDelayMs = 200
			sc.LossPPM = 150_000
			sc.GSTMs = 10_000
		}),
		with("amnesia-7", func(sc *Scenario) {
			// f = 2 amnesiacs of seven.
			sc.Validators = 7
			sc.Byzantine = []Behaviour{Amnesiac, Amnesiac}
			sc.Partitions = true
			sc.MaxDelayMs = 200
			sc.LossPPM = 150_000
			sc.GSTMs = 10_000
		}),
		with("amnesia-colluders", func(sc *Scenario) {
			// Seven validators: an equivocating proposer (two values, each
			// backed by its votes) and an amnesiac, so that honest nodes
			// lock on different values and the amnesiac's prevotes push
			// the other one.
			sc.Validators = 7
			sc.Byzantine = []Behaviour{Equivocator, Amnesiac}
			sc.LossPPM = 20_000
		}),
		with("large-10", func(sc *Scenario) {
			// Ten validators, f = 3 Byzantine of three kinds.
			sc.Validators = 10
			sc.QuickSeeds = 50
			sc.Byzantine = []Behaviour{Equivocator, DoubleVoter, Amnesiac}
			sc.LossPPM = 50_000
			sc.Partitions = true
			sc.GSTMs = 4000
		}),
		with("large-13", func(sc *Scenario) {
			// Thirteen validators, f = 4 Byzantine.
			sc.Validators = 13
			sc.QuickSeeds = 25 // 0.13 s of CPU a seed
			sc.Byzantine = []Behaviour{Equivocator, DoubleVoter, Amnesiac, Silent}
			sc.LossPPM = 20_000
			sc.GSTMs = 4000
		}),
		with("slow", func(sc *Scenario) {
			// Before GST every message takes up to 3 s, ten times the
			// first propose timeout and more than the timeouts of the
			// first dozens of rounds; two Byzantine of seven meanwhile.
			sc.Validators = 7
			sc.Byzantine = []Behaviour{Equivocator, Amnesiac}
			sc.PreGSTMaxDelayMs = 3000
			sc.GSTMs = 15_000
		}),
	}
}
