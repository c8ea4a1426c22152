package main

import (
	"strings"
	"testing"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/meter/sim"
)

// tinyTruth is a small population with more ignoring and gaming homes than
// the default, so that every behaviour is present: 40 homes, 35 days (21
// without events).
func tinyTruth(seed uint64) truthConfig {
	c := defaultTruthConfig(seed, 40, 35)
	c.Pop.PartialPpm, c.Pop.IgnorePpm, c.Pop.GamePpm = 100_000, 200_000, 150_000
	return c
}

func TestTruthSanity(t *testing.T) {
	tr, err := simulateTruth(tinyTruth(7))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.events) == 0 || len(tr.honest) == 0 {
		t.Fatalf("%d events, %d gaming homes", len(tr.events), len(tr.honest))
	}
	var beh [4]int
	for _, tk := range tr.tracks[:tr.nPop] {
		if tk.has {
			beh[tk.cfg.Behaviour]++
		}
	}
	for b, n := range beh {
		if n == 0 {
			t.Fatalf("no committing home with behaviour %v", sim.Behaviour(b))
		}
	}
	for mi, m := range tr.methods {
		var comply []Sample
		for _, p := range tr.pairs[mi] {
			// A home that ignores the dispatch behaves exactly like its
			// twin: true delivery 0, over the window and from the posting.
			if p.behaviour == sim.BehaviourIgnore && (p.trueWh != 0 || p.truePostedWh != 0) {
				t.Fatalf("%s: ignoring home %d, event %d: true %d Wh, from posting %d Wh", m.name, p.home, p.event, p.trueWh, p.truePostedWh)
			}
			if p.estWh < 0 || p.paidWh < 0 || p.paidWh > p.estWh || p.paidWh > p.committedWh || p.estWh != max(p.netWh, 0) {
				t.Fatalf("%s: %+v", m.name, p)
			}
			if p.behaviour == sim.BehaviourComply && !p.honest && !p.noBaseline && tr.events[p.event].dir == baseline.Down {
				comply = append(comply, p.sample())
			}
		}
		// The EV channel: most pauses find no car plugged in, but on
		// average a complying home delivers.
		st := AgainstTruth(comply)
		if st.N == 0 || st.MeanTrueWh <= 0 || st.MeanEstimatedWh <= 0 {
			t.Fatalf("%s: complying homes, down events: %+v", m.name, st)
		}
		if m.channel != ledger.ChannelEV && st.MeanTrueWh < 1000 {
			t.Fatalf("%s: complying homes deliver only %.0f Wh per event", m.name, st.MeanTrueWh)
		}
		// Gaming touches neither the EV channel nor its baseline: a gaming
		// home and its honest rerun are settled identically there.
		if m.channel == ledger.ChannelEV {
			if g := gamingSummary(tr.pairs[mi], sim.BehaviourGame); g.n > 0 && (g.gain != 0 || g.excess != 0) {
				t.Fatalf("EV channel: gaming changed the settlement: %+v", g)
			}
		}
	}
}

// The report is a pure function of the seeds.
func TestTruthDeterministic(t *testing.T) {
	out := func(seed uint64) string {
		var b strings.Builder
		if err := runTruth(&b, tinyTruth(seed), 0); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	a, b := out(11), out(11)
	if a != b {
		t.Fatal("two runs with one seed differ")
	}
	for _, m := range truthMethods() {
		if !strings.Contains(a, "## "+m.name+"\n") {
			t.Fatalf("no table for %s", m.name)
		}
	}
	if out(12) == a {
		t.Fatal("another seed gives the same report")
	}
}

// The truth of a whole-site pair is the simulator's own DeliveredWh summed
// over the window; check it on a replayed home.
func TestTrueDeliveredIsSimulatorTruth(t *testing.T) {
	cfg := tinyTruth(7)
	cfg.Pop.Homes = 12
	tr, err := simulateTruth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cal := tr.cal
	clk := sim.Clock{GenesisUnix: cal.GenesisUnix, IntervalS: simIntervalS}
	f, err := sim.NewPopulation(clk, cfg.Pop, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := -1
	for i, tk := range tr.tracks[:tr.nPop] {
		if tk.hasBattery {
			h = i
			break
		}
	}
	if h < 0 {
		t.Skip("no battery home")
	}
	home := f.Homes[h]
	for _, e := range tr.events {
		if err := dispatch(home, e); err != nil {
			t.Fatal(err)
		}
	}
	var sum int64
	e := tr.events[len(tr.events)-1]
	for i := int64(0); i < e.end; i++ {
		s := home.Step()
		if i >= e.start {
			sum += s.DeliveredWh()
		}
	}
	if e.dir == baseline.Up {
		sum = -sum
	}
	if got := tr.tracks[h].trueDelivered(ledger.ChannelNet, e.dir, e.start, e.end); got != sum {
		t.Fatalf("true delivered %d Wh, simulator %d Wh", got, sum)
	}
}

// TestSeasonNetting: in season mode every dispatched complying pair has a
// never-responding twin (same home and event, true delivery 0), and the
// season accounts of each method net (ledger.ApplySeason) without error.
func TestSeasonNetting(t *testing.T) {
	cfg := tinyTruth(7)
	cfg.Season = true
	tr, err := simulateTruth(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for mi, m := range tr.methods {
		type key struct{ home, event int }
		comply := map[key]bool{}
		var nev []settledPair
		for _, p := range tr.pairs[mi] {
			if p.never {
				nev = append(nev, p)
			} else if p.behaviour == sim.BehaviourComply && !p.honest {
				comply[key{p.home, p.event}] = true
			}
		}
		if len(nev) == 0 || len(nev) != len(comply) {
			t.Fatalf("%s: %d never-responding pairs for %d complying ones", m.name, len(nev), len(comply))
		}
		for _, p := range nev {
			if !comply[key{p.home, p.event}] || p.trueWh != 0 {
				t.Fatalf("%s: never-responding pair %+v", m.name, p)
			}
		}
		sr, err := tr.season(mi)
		if err != nil {
			t.Fatal(err)
		}
		if len(sr.accounts[varNever]) == 0 || len(sr.accounts[varHonest]) == 0 {
			t.Fatalf("%s: no season accounts", m.name)
		}
		row := summarise(tr, mi, sr, false)
		if row.homes == 0 {
			t.Fatalf("%s: %+v", m.name, row)
		}
	}
}
