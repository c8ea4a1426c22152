package main

// bench/mv -season: settlement over a season. The simulated population
// runs through the event plan once; every (event, method) request is
// settled by the chain's path with the chain's minimum bonds, without and
// with a control group, and each home's settlements are then netted in
// settlement order by ledger.ApplySeason, the function the ledger runs
// (a negative signed delivery is a debt, held against later payouts, then
// the bonds). Each complying home is also settled as a home that never
// responds (its twin's readings from the posting on) and each gaming home
// against its honest rerun.

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter/sim"
)

// seasonControlPPM is the control share of the "with control" runs.
const seasonControlPPM = 150_000

// seasonAccount is one home's season under one method, in one variant
// (honest, never-responding, gaming, or the gaming home's honest rerun).
type seasonAccount struct {
	events                 int
	paid, taken, slashed   uint64 // base units: payouts after withholding, bonds taken, slashes
	debt                   uint64 // still owed at the end
	netWh, floorWh, trueWh int64  // Σ (paid − debt Wh), Σ paid Wh, Σ true Wh
	// signedWh is Σ SeasonNetWh (the signed delivery the chain nets,
	// uncapped); windowWh the same without the guard's min(0, guard).
	signedWh, windowWh int64
	// fullWh: the window with the whole guard (not min(0, guard)).
	fullWh int64
}

// net is the home's net season payout in base units: what it was paid,
// less the bonds its debt took, its slashes and the debt it still owes.
func (a seasonAccount) net() int64 {
	return int64(a.paid) - int64(a.taken) - int64(a.slashed) - int64(a.debt)
}

// variant of a settled pair in the season tables.
const (
	varHonest = iota // a complying population home
	varNever         // the same home, never responding
	varGame          // a gaming home
	varRerun         // the gaming home's honest rerun
	varOther         // partial, ignoring: in the population bias only
	numVariants
)

func variantOf(p settledPair) int {
	switch {
	case p.never:
		return varNever
	case p.honest:
		return varRerun
	case p.behaviour == sim.BehaviourComply:
		return varHonest
	case p.behaviour == sim.BehaviourGame:
		return varGame
	}
	return varOther
}

// seasonEvent is one pair's settlement as netted.
type seasonEvent struct {
	event    int
	netWh    int64 // paid Wh − the debt it added, in Wh
	inflated bool
}

// seasonResult is one method's season in one run.
type seasonResult struct {
	accounts [numVariants]map[int]*seasonAccount
	events   [numVariants]map[int][]seasonEvent
}

// season nets every home's settlements of method mi in settlement order
// (by the event's end, then its plan order) with ledger.ApplySeason.
func (tr *truthRun) season(mi int) (seasonResult, error) {
	var sr seasonResult
	for v := range numVariants {
		sr.accounts[v], sr.events[v] = map[int]*seasonAccount{}, map[int][]seasonEvent{}
	}
	ps := slices.Clone(tr.pairs[mi])
	slices.SortStableFunc(ps, func(a, b settledPair) int {
		ea, eb := tr.events[a.event], tr.events[b.event]
		return cmp.Or(cmp.Compare(ea.end, eb.end), cmp.Compare(a.event, b.event))
	})
	params := ledger.DefaultParams()
	for _, p := range ps {
		v := variantOf(p)
		acc := sr.accounts[v][p.home]
		if acc == nil {
			acc = &seasonAccount{}
			sr.accounts[v][p.home] = acc
		}
		fs := &ledger.FlexSettlement{PayoutsBaseUnits: p.res.PayoutBaseUnits, BondsReturn: p.res.BondReturnedBaseUnits,
			Commitments: []ledger.FlexCommitmentResult{p.res}}
		req := &ledger.FlexRequest{Terms: ledger.FlexTerms{PriceBaseUnitsPerKWh: simPrice}, Commitments: make([]ledger.FlexCommitment, 1)}
		if err := ledger.ApplySeason(fs, req, []uint64{acc.debt}, 0, &params); err != nil {
			return sr, err
		}
		c := fs.Commitments[0]
		acc.events++
		acc.paid += c.PayoutBaseUnits
		acc.taken += c.BondTakenBaseUnits
		acc.slashed += c.SlashBaseUnits
		acc.debt = c.DebtAfterBaseUnits
		added := int64(c.DebtAddedBaseUnits) * 1000 / simPrice // Wh at the simulation's price
		if !p.noBaseline {
			// The accuracy sums leave out settlements without a baseline
			// (nothing measured), as the against-truth tables do.
			acc.netWh += c.PaidWh - added
			acc.floorWh += c.PaidWh
			acc.trueWh += p.trueWh
			acc.signedWh += c.SeasonNetWh
			if c.SeasonNetWh != 0 {
				acc.windowWh += c.SeasonNetWh - min(0, c.GuardNetWh)
				acc.fullWh += c.SeasonNetWh - min(0, c.GuardNetWh) + c.GuardNetWh
			}
		}
		sr.events[v][p.home] = append(sr.events[v][p.home], seasonEvent{event: p.event, netWh: c.PaidWh - added, inflated: p.usedGamedDay})
	}
	return sr, nil
}

// seasonRow is one (method, control, seed) line of the season tables.
type seasonRow struct {
	method  string
	control bool
	seed    uint64
	events  int
	// honest and never: homes, mean net season payout (FLX), never-
	// responding homes with a net season payout above 0.
	homes                        int
	honestNet, neverNet          float64
	neverPositive                int
	neverPaid, neverDebt         float64 // mean FLX paid and still owed by never-responders
	neverNetting                 float64 // mean FLX net of the netting alone: paid − bonds taken − still owed (no slashes)
	biasPct, floorBiasPct        float64 // population: Σ netted vs Σ true; Σ paid (floored, unnetted) vs Σ true
	signedBiasPct, windowBiasPct float64 // Σ signed (uncapped) vs Σ true; the same without the guard term
	fullBiasPct                  float64 // the window with the whole guard
	gameHomes, gameGained        int     // season pairs: gaming home's net season payout above its honest rerun's
	gameGainFLX                  float64 // mean over the gaming homes
	pairs                        [numStrategies]strategyPairs
}

// Gaming strategies, per event pair (gaming home against its honest
// rerun, the same event): the sim's gaming home pre-charges its battery
// from the grid (or raises its load) in the 2 h before the window, and
// after a day-ahead posting raises its load at the window's hours on the
// posting day, which later events may average as a baseline day.
const (
	stratPreSameDay  = iota // pre-charge, request posted the same day
	stratPreDayAhead        // pre-charge after a day-ahead posting (and the inflated posting day)
	stratInflated           // raising load on a day that became a baseline day of this event
	numStrategies
)

var strategyNames = [numStrategies]string{
	"pre-charge / pre-load in the 2 h before the window, posted the same day",
	"the same after a day-ahead posting (the home also raises its load on the posting day)",
	"raising load on a day that became one of this event's baseline days",
}

type strategyPairs struct{ n, gained int }

func summarise(tr *truthRun, mi int, sr seasonResult, control bool) seasonRow {
	row := seasonRow{method: tr.methods[mi].name, control: control, seed: tr.cfg.Pop.Seed, events: len(tr.events)}
	flx := func(b int64) float64 { return float64(b) / 1e6 }
	var sumH, sumN, sumNP, sumND, sumNN float64
	for h, a := range sr.accounts[varHonest] {
		nv, ok := sr.accounts[varNever][h]
		if !ok {
			continue
		}
		row.homes++
		sumH += flx(a.net())
		sumN += flx(nv.net())
		sumNP += flx(int64(nv.paid))
		sumND += flx(int64(nv.debt))
		sumNN += flx(nv.net() + int64(nv.slashed))
		if nv.net() > 0 {
			row.neverPositive++
		}
	}
	if row.homes > 0 {
		n := float64(row.homes)
		row.honestNet, row.neverNet, row.neverPaid, row.neverDebt, row.neverNetting = sumH/n, sumN/n, sumNP/n, sumND/n, sumNN/n
	}
	var net, floor, tru, signed, window, full int64
	for _, v := range []int{varHonest, varGame, varOther} {
		for _, a := range sr.accounts[v] {
			net += a.netWh
			floor += a.floorWh
			tru += a.trueWh
			signed += a.signedWh
			window += a.windowWh
			full += a.fullWh
		}
	}
	if tru > 0 {
		pct := func(x int64) float64 { return 100 * float64(x-tru) / float64(tru) }
		row.biasPct, row.floorBiasPct, row.signedBiasPct, row.windowBiasPct, row.fullBiasPct = pct(net), pct(floor), pct(signed), pct(window), pct(full)
	}
	var gain float64
	for h, g := range sr.accounts[varGame] {
		r, ok := sr.accounts[varRerun][h]
		if !ok {
			continue
		}
		row.gameHomes++
		if g.net() > r.net() {
			row.gameGained++
		}
		gain += flx(g.net() - r.net())
		honest := map[int]int64{}
		for _, e := range sr.events[varRerun][h] {
			honest[e.event] = e.netWh
		}
		for _, e := range sr.events[varGame][h] {
			hw, ok := honest[e.event]
			if !ok {
				continue
			}
			k := stratPreSameDay
			if tr.events[e.event].posting == postDayBefore {
				k = stratPreDayAhead
			}
			for _, s := range []int{k, stratInflated} {
				if s == stratInflated && !e.inflated {
					continue
				}
				row.pairs[s].n++
				if e.netWh > hw {
					row.pairs[s].gained++
				}
			}
		}
	}
	if row.gameHomes > 0 {
		row.gameGainFLX = gain / float64(row.gameHomes)
	}
	return row
}

// runSeason runs the season report for cfg's seed and seeds more.
func runSeason(w io.Writer, cfg truthConfig, seeds int) error {
	cfg.Season = true
	var rows []seasonRow
	var first *truthRun
	for k := 0; k <= seeds; k++ {
		c := cfg
		c.Pop.Seed, c.EventSeed = cfg.Pop.Seed+uint64(k), cfg.EventSeed+uint64(k)
		t0 := time.Now()
		tr, err := simulateTruth(c)
		if err != nil {
			return fmt.Errorf("seed %d: %w", c.Pop.Seed, err)
		}
		for _, control := range []bool{false, true} {
			if control {
				tr.cfg.ControlPPM = seasonControlPPM
				if err := tr.settle(); err != nil {
					return fmt.Errorf("seed %d, control: %w", c.Pop.Seed, err)
				}
			}
			for mi := range tr.methods {
				sr, err := tr.season(mi)
				if err != nil {
					return err
				}
				rows = append(rows, summarise(tr, mi, sr, control))
			}
		}
		fmt.Fprintf(w, "<!-- seed %d: %d events, %s -->\n", c.Pop.Seed, len(tr.events), time.Since(t0).Round(time.Second))
		if first == nil {
			first = tr
		}
		tr.tracks = nil
	}
	printSeason(w, first, cfg, seeds, rows)
	return nil
}

func printSeason(w io.Writer, tr *truthRun, cfg truthConfig, seeds int, rows []seasonRow) {
	fmt.Fprintf(w, "# Settlement over a season (simulated homes)\n\n")
	fmt.Fprintf(w, "Generated by `cd bench/mv && go run . -season -homes %d -days %d -seed %d -seeds %d -strategy-homes %d`.\n\n",
		cfg.Pop.Homes, cfg.Days, cfg.Pop.Seed, seeds, cfg.Pop.GameHomes)
	fmt.Fprintf(w, "Each seed simulates the population and its event plan once (as in the against-truth tables: %d days, the first %d without events; about 20–40 requests per home); every (event, method) request is settled by `ledger.SettleFlex` with the chain's minimum bond (`FlexMinBondPpm` of the most the commitment can be paid), without a control group and with one of %d ppm (control homes' readings are their twin's; they are left out of every figure), and then each home's settlements are netted in settlement order by `ledger.ApplySeason`, the chain's season rule: a negative signed delivery (the number a request floors at zero) is a debt at the request's price, held against later payouts, then the bonds, and never forgiven. The %d gaming homes (`GameHomes`: the first with a battery) are each paired with their honest rerun (same seed, weather, key); each complying home is also settled as a home that never responds (its twin's readings from the posting on, in a request with the same control sites).\n\n",
		cfg.Days, cfg.WarmupDays, seasonControlPPM, cfg.Pop.GameHomes)
	fmt.Fprintf(w, "- **net season payout** (FLX): payouts after withholding − bonds taken by the debt − slashes − debt still owed at the end. Honest = the complying homes; never = the same homes never responding. Target: never ≤ 1 %% of honest.\n")
	fmt.Fprintf(w, "- **population bias over the season**: (Σ netted Wh − Σ true Wh) / Σ true Wh over the dispatched population homes (complying, partial, ignoring, gaming), netted Wh = Σ paid Wh − Σ debt Wh; \"floored\" is the same with Σ paid Wh (no netting). Target: within ±2 %%.\n")
	fmt.Fprintf(w, "- **signed bias**: the same with Σ signed Wh, the uncapped number the chain nets (min(net − correction, proof) + min(0, guard)); \"window\" leaves out the guard's min(0, guard), \"window + guard\" nets the whole guard (a rule the chain does not have: what netting the guard symmetrically would measure). The payout cap (paid ≤ committed) is policy, not estimation error: the signed columns show the measurement's own bias.\n")
	fmt.Fprintf(w, "- **gaming pairs**: per event, the gaming home's netted Wh (paid − debt added) against its honest rerun's in the same event; \"season\" compares the homes' net season payouts. Target: gaming never above honest, in any pair.\n\n")
	fmt.Fprintln(w, "| method | control | seed | events | homes | honest net FLX | never net FLX | never / honest % | never-responders net > 0 | never paid FLX | never still owes FLX | never net before slashes FLX | season bias % | floored bias % | signed bias % | window bias % | window + guard bias % | gaming homes above honest (season) | mean gaming − honest FLX | "+
		strategyNames[0]+" | "+strategyNames[1]+" | "+strategyNames[2]+" |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	slices.SortStableFunc(rows, func(a, b seasonRow) int {
		return cmp.Or(cmp.Compare(a.method, b.method), cmp.Compare(b2i(a.control), b2i(b.control)), cmp.Compare(a.seed, b.seed))
	})
	for _, r := range rows {
		ctl := "none"
		if r.control {
			ctl = fmt.Sprintf("%d %%", seasonControlPPM/10_000)
		}
		ratio := "n/a"
		if r.honestNet != 0 {
			ratio = fmt.Sprintf("%+.1f", 100*r.neverNet/r.honestNet)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %.2f | %+.2f | %s | %s | %.2f | %.2f | %+.2f | %+.2f | %+.2f | %+.2f | %+.2f | %+.2f | %d of %d | %+.3f |", r.method, ctl, r.seed, r.events, r.homes,
			r.honestNet, r.neverNet, ratio, share(r.neverPositive, r.homes), r.neverPaid, r.neverDebt, r.neverNetting, r.biasPct, r.floorBiasPct,
			r.signedBiasPct, r.windowBiasPct, r.fullBiasPct, r.gameGained, r.gameHomes, r.gameGainFLX)
		for _, p := range r.pairs {
			fmt.Fprintf(w, " %d of %d |", p.gained, p.n)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}
