package ledger

import (
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/meter/baseline"
)

// Missing data never pays (issue 17): a site chooses which readings it
// sends, so withholding any subset of them must never pay it more than
// sending them all. Each test below is one of the holes the issue lists,
// settled through the chain's own path (BuildFlexInputs, SettleFlex).

// The synthetic site: genesis 2026-06-21 00:00 UTC (a Sunday), 15-minute
// intervals, calendar at UTC. Day 19 is Friday 2026-07-10.
const (
	mdGenesis  = 1_782_000_000
	mdEventDay = 19
	mdStart    = mdEventDay*perDay + 56 // 14:00
	mdEnd      = mdEventDay*perDay + 72 // 18:00
	mdPosted   = mdEventDay*perDay + 32 // 08:00 the same day: guard 8 intervals, no day-of adjustment
)

func mdTerms() FlexTerms {
	return FlexTerms{Zone: "CO-DEN", Direction: FlexDown, Start: mdStart, End: mdEnd, TargetW: 2000,
		PriceBaseUnitsPerKWh: 200_000, Deadline: mdStart - 4, Method: uint8(baseline.MethodXofY),
		Rules: BaselineRules{WeekdayX: 3, WeekdayY: 3, WeekendX: 1, WeekendY: 1, LookbackDays: 10}}
}

// mdSettle settles one 2000 W commitment of the site whose interval i has
// load(i) Wh of grid import, except the intervals in withheld.
func mdSettle(t *testing.T, terms FlexTerms, load func(i int64) int64, withheld func(i int64) bool) FlexCommitmentResult {
	t.Helper()
	p := DefaultParams()
	cal := FlexCalendar(mdGenesis, &p, &terms)
	bp := FlexBaselineParams(terms.Rules)
	escrow, err := MaxPayoutChecked(2000, terms.End-terms.Start, terms.PriceBaseUnitsPerKWh, &p)
	if err != nil {
		t.Fatal(err)
	}
	req := &FlexRequest{ID: 1, Terms: terms, PostedInterval: mdPosted, EscrowBaseUnits: escrow, Status: FlexOpen,
		Commitments: []FlexCommitment{{CommittedW: 2000, BondBaseUnits: 100_000}}}
	in := BuildFlexInputs(&req.Terms, mdPosted, nil, cal, bp, p.FlexGuardIntervals, func(i int64) (int64, int64, int64, int64, bool) {
		if i < 0 || i >= int64(terms.End) || withheld(i) {
			return 0, 0, 0, 0, false
		}
		return load(i), 0, 0, 0, true
	})
	fs, err := SettleFlex(req, []FlexInputs{in}, cal, &p)
	if err != nil {
		t.Fatal(err)
	}
	return fs.Commitments[0]
}

func none(int64) bool { return false }

// mdCheck fails unless withholding pays no more and slashes no less.
func mdCheck(t *testing.T, sent, held FlexCommitmentResult) {
	t.Helper()
	t.Logf("all sent: status %d, delivered %d Wh, paid %d, slash %d; withheld: status %d, delivered %d Wh, paid %d, slash %d",
		sent.Status, sent.DeliveredWh, sent.PayoutBaseUnits, sent.SlashBaseUnits, held.Status, held.DeliveredWh, held.PayoutBaseUnits, held.SlashBaseUnits)
	if held.PayoutBaseUnits > sent.PayoutBaseUnits {
		t.Fatalf("withholding pays %d base units, sending every reading %d", held.PayoutBaseUnits, sent.PayoutBaseUnits)
	}
	if held.SlashBaseUnits < sent.SlashBaseUnits {
		t.Fatalf("withholding slashes %d base units, sending every reading %d", held.SlashBaseUnits, sent.SlashBaseUnits)
	}
}

// A reading far above the baseline in the event window cost more than the
// committed Wh of its interval, the price of a missing one.
func TestMissingEventReadingNeverPays(t *testing.T) {
	bad := int64(mdStart + 5)
	load := func(i int64) int64 {
		switch {
		case i == bad:
			return 3000 // a kettle and an oven: delta −2500 Wh
		case i >= mdStart && i < mdEnd:
			return 0 // delivered 500 Wh an interval
		}
		return 500
	}
	sent := mdSettle(t, mdTerms(), load, none)
	if sent.Status != uint8(baseline.Settled) || sent.DeliveredWh != 15*500-2500 {
		t.Fatalf("all sent: %+v", sent)
	}
	mdCheck(t, sent, mdSettle(t, mdTerms(), load, func(i int64) bool { return i == bad }))
}

// The same in the pre-event guard: charging from the grid there is netted
// against the event; a missing guard reading cost only its interval's
// commitment.
func TestMissingGuardReadingNeverPays(t *testing.T) {
	bad := int64(mdStart - 3)
	load := func(i int64) int64 {
		switch {
		case i == bad:
			return 4000 // pre-charging: delta −3500 Wh
		case i >= mdStart && i < mdEnd:
			return 0
		}
		return 500
	}
	sent := mdSettle(t, mdTerms(), load, none)
	if sent.Status != uint8(baseline.Settled) || sent.GuardNetWh != -3500 {
		t.Fatalf("all sent: %+v", sent)
	}
	mdCheck(t, sent, mdSettle(t, mdTerms(), load, func(i int64) bool { return i == bad }))
}

// One reading withheld at the same hour (13:15, in the guard, outside the
// window's and its adjustment's hours) on every earlier day left the
// guard's baseline without days, and the ledger silently dropped the
// guard: the site pre-cooled in the guard for free.
func TestGuardBaselineCannotBeDropped(t *testing.T) {
	load := func(i int64) int64 {
		switch {
		case i >= mdStart-8 && i < mdStart:
			return 2500 // pre-cooling in the guard: −2000 Wh an interval
		case i >= mdStart && i < mdEnd:
			return 0
		}
		return 500
	}
	sent := mdSettle(t, mdTerms(), load, none)
	if sent.Status != uint8(baseline.Settled) || sent.GuardIntervals != 8 || sent.GuardNetWh != -16000 || sent.PayoutBaseUnits != 0 {
		t.Fatalf("all sent: %+v", sent)
	}
	held := mdSettle(t, mdTerms(), load, func(i int64) bool { return i < mdEventDay*perDay && i%perDay == 53 })
	if held.Status == uint8(baseline.Settled) && held.GuardIntervals == 0 {
		t.Errorf("the guard was dropped: %+v", held)
	}
	mdCheck(t, sent, held)
}

// Withholding one window reading on each of the recent low-load days made
// them ineligible, so older high-load days formed the baseline: the site
// picked its baseline days.
func TestBaselineDaysCannotBePicked(t *testing.T) {
	low := func(d int64) bool { return d >= mdEventDay-5 } // the last three weekdays before the event
	load := func(i int64) int64 {
		d := i / perDay
		switch {
		case d == mdEventDay:
			return 500 // no change at all on the event day
		case low(d):
			return 200
		}
		return 1500
	}
	sent := mdSettle(t, mdTerms(), load, none)
	if sent.Status != uint8(baseline.Settled) || sent.PayoutBaseUnits != 0 {
		t.Fatalf("all sent: %+v", sent)
	}
	held := mdSettle(t, mdTerms(), load, func(i int64) bool {
		d := i / perDay
		return d < mdEventDay && low(d) && i%perDay == 60
	})
	mdCheck(t, sent, held)
}

// TestPropertyWithholdingNeverPays: for random sites (load profiles, a
// battery channel, noise), random requests (method, direction, posting,
// window) and random withheld subsets of the readings — scattered, in the
// window, in the guard, at the window's or the guard's hours on earlier
// days, whole days — the payout with readings withheld is never greater
// than with every reading sent, in every pair, and the slash never smaller.
func TestPropertyWithholdingNeverPays(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2026))
	p := DefaultParams()
	pairs, changed, forfeits := 0, 0, 0
	for trial := range 300 {
		base := int64(200 + rng.IntN(800))
		amp := int64(rng.IntN(600))
		noise := int64(1 + rng.IntN(300))
		seed := rng.Uint64()
		method := []baseline.Method{baseline.MethodXofY, baseline.MethodHighXofY, baseline.MethodDevice}[rng.IntN(3)]
		terms := mdTerms()
		terms.Method = uint8(method)
		if method == baseline.MethodDevice {
			terms.Channel = ChannelBattery
		}
		terms.Direction = uint8(1 + rng.IntN(2))
		terms.Start = uint64(mdEventDay*perDay + 40 + rng.IntN(40))
		terms.End = terms.Start + uint64(1+rng.IntN(16))
		terms.Deadline = terms.Start
		if rng.IntN(2) == 0 {
			terms.Rules = BaselineRules{}
		}
		posted := int64(terms.Start) - int64(rng.IntN(30))
		respond := rng.IntN(3) // 0: nothing, 1: comply, 2: game (pre-charge, comply)
		// load(i): import, export, battery net.
		load := func(i int64) (int64, int64, int64) {
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			tod := i % perDay
			v := base + amp*(tod-48)*(tod-48)/2304 + r.Int64N(2*noise+1) - noise
			var batt int64
			inWin := i >= int64(terms.Start) && i < int64(terms.End)
			inGuard := i >= posted && i < int64(terms.Start)
			switch {
			case respond >= 1 && inWin && terms.Direction == FlexDown:
				batt = -400
			case respond >= 1 && inWin:
				batt = 400
			case respond == 2 && inGuard:
				batt = 500
			}
			v += batt
			if v < 0 {
				return 0, -v, batt
			}
			return v, 0, batt
		}
		settle := func(withheld func(i int64) bool) FlexCommitmentResult {
			cal := FlexCalendar(mdGenesis, &p, &terms)
			bp := FlexBaselineParams(terms.Rules)
			escrow, err := MaxPayoutChecked(2000, terms.End-terms.Start, terms.PriceBaseUnitsPerKWh, &p)
			if err != nil {
				t.Fatal(err)
			}
			req := &FlexRequest{ID: 1, Terms: terms, PostedInterval: uint64(posted), EscrowBaseUnits: escrow, Status: FlexOpen,
				Commitments: []FlexCommitment{{CommittedW: 2000, BondBaseUnits: 1_000_000}}}
			in := BuildFlexInputs(&req.Terms, posted, nil, cal, bp, p.FlexGuardIntervals, func(i int64) (int64, int64, int64, int64, bool) {
				if i < 0 || i >= int64(terms.End) || withheld(i) {
					return 0, 0, 0, 0, false
				}
				imp, exp, batt := load(i)
				return imp, exp, batt, 0, true
			})
			fs, err := SettleFlex(req, []FlexInputs{in}, cal, &p)
			if err != nil {
				t.Fatal(err)
			}
			return fs.Commitments[0]
		}
		sent := settle(none)
		start, end := int64(terms.Start), int64(terms.End)
		g := guardLen(terms.Start, posted, p.FlexGuardIntervals)
		for k := range 12 {
			wr := rand.New(rand.NewPCG(seed, uint64(1000+k)))
			var held func(i int64) bool
			switch k % 6 {
			case 0: // scattered over everything
				pm := 1 + wr.IntN(200)
				held = func(i int64) bool { return rand.New(rand.NewPCG(seed^uint64(k), uint64(i))).IntN(1000) < pm }
			case 1: // one window interval
				j := start + wr.Int64N(end-start)
				held = func(i int64) bool { return i == j }
			case 2: // one guard interval (or the window's first)
				j := start - 1 - wr.Int64N(max(g, 1))
				held = func(i int64) bool { return i == j }
			case 3: // one interval at a chosen hour on chosen earlier days
				tod := (start - wr.Int64N(24) + wr.Int64N(24)) % perDay
				days := wr.Uint64()
				held = func(i int64) bool { return i < start-g && i%perDay == tod && days>>(uint64(i/perDay)%64)&1 == 1 }
			case 4: // the window's hours on chosen earlier days
				days := wr.Uint64()
				lo, hi := start%perDay, (end-1)%perDay
				held = func(i int64) bool {
					return i < mdEventDay*perDay && i%perDay >= lo && i%perDay <= hi && days>>(uint64(i/perDay)%64)&1 == 1
				}
			default: // whole days
				days := wr.Uint64()
				held = func(i int64) bool { return i < start && days>>(uint64(i/perDay)%64)&1 == 1 }
			}
			got := settle(held)
			pairs++
			if got.PayoutBaseUnits != sent.PayoutBaseUnits || got.Status != sent.Status {
				changed++
			}
			if got.Status == uint8(baseline.Forfeited) {
				forfeits++
			}
			if got.PayoutBaseUnits > sent.PayoutBaseUnits {
				t.Fatalf("trial %d, strategy %d: withholding pays %d base units (%+v), sending all %d (%+v)", trial, k%6,
					got.PayoutBaseUnits, got, sent.PayoutBaseUnits, sent)
			}
			if got.SlashBaseUnits < sent.SlashBaseUnits {
				t.Fatalf("trial %d, strategy %d: withholding slashes %d, sending all %d", trial, k%6, got.SlashBaseUnits, sent.SlashBaseUnits)
			}
		}
	}
	t.Logf("%d pairs, %d changed by withholding, %d forfeited", pairs, changed, forfeits)
	if changed < pairs/4 || forfeits == 0 {
		t.Fatalf("withholding changed only %d of %d settlements (%d forfeits): the strategies miss what settlement reads", changed, pairs, forfeits)
	}
}

// TestGuardFromWindowDays: a PV home exports in the guard's hours every
// day, so PJM's low-usage rule drops every day of the guard's own
// high-x-of-y baseline. The guard is not dropped (as on main, which paid
// the pre-charging home in full): it takes the window's baseline days at
// the guard's hours. An honest home is paid in full; one that pre-charges
// from the grid in the guard is netted.
func TestGuardFromWindowDays(t *testing.T) {
	terms := mdTerms()
	terms.Method = uint8(baseline.MethodHighXofY)
	terms.Rules = BaselineRules{}
	for _, precharge := range []bool{false, true} {
		load := func(i int64) (int64, int64) {
			switch {
			case i%perDay >= 56 && i%perDay < 72: // 14:00–18:00, the window's hours
				if i/perDay == mdEventDay {
					return 0, 0 // the window: load shed
				}
				return 500, 0
			case i%perDay >= 48 && i%perDay < 56: // 12:00–14:00, the guard's hours
				if precharge && i/perDay == mdEventDay {
					return 2000, 0
				}
				return 0, 300
			}
			return 400, 0
		}
		p := DefaultParams()
		cal := FlexCalendar(mdGenesis, &p, &terms)
		escrow, _ := MaxPayoutChecked(2000, terms.End-terms.Start, terms.PriceBaseUnitsPerKWh, &p)
		req := &FlexRequest{ID: 1, Terms: terms, PostedInterval: mdPosted, EscrowBaseUnits: escrow, Status: FlexOpen,
			Commitments: []FlexCommitment{{CommittedW: 2000, BondBaseUnits: 100_000}}}
		in := BuildFlexInputs(&req.Terms, mdPosted, nil, cal, FlexBaselineParams(terms.Rules), p.FlexGuardIntervals,
			func(i int64) (int64, int64, int64, int64, bool) {
				if i < 0 || i >= int64(terms.End) {
					return 0, 0, 0, 0, false
				}
				imp, exp := load(i)
				return imp, exp, 0, 0, true
			})
		fs, err := SettleFlex(req, []FlexInputs{in}, cal, &p)
		if err != nil {
			t.Fatal(err)
		}
		c := fs.Commitments[0]
		if c.Status != uint8(baseline.Settled) || c.Reason != uint8(baseline.ReasonGuardFromWindowDays) || c.GuardIntervals != 8 ||
			c.Intervals[0].BaselineWh != -300 {
			t.Fatalf("precharge %v: %+v", precharge, c)
		}
		if want := int64(0); !precharge && (c.GuardNetWh != want || c.PaidWh != 8000) {
			t.Fatalf("honest: guard net %d, paid %d Wh", c.GuardNetWh, c.PaidWh)
		}
		if want := int64(-8 * 2300); precharge && (c.GuardNetWh != want || c.PaidWh != 0) {
			t.Fatalf("pre-charging: guard net %d (want %d), paid %d Wh", c.GuardNetWh, want, c.PaidWh)
		}
	}
}
