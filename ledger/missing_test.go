package ledger

import (
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
	cal := flexCalendar(mdGenesis, p.IntervalSeconds, &terms)
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
