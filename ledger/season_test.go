package ledger

import (
	"errors"
	"slices"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter/baseline"
)

// TestApplySeasonSteps works the season rule by hand on three commitments
// of one request at 200,000 base units per kWh (CapWh 4,000):
//
//   - A settled at −800 Wh (no debt before): debt added ⌊200,000 × 800 /
//     1000⌋ = 160,000; no payout to hold it against; 30,000 of bond would
//     return, so 30,000 is taken and 130,000 remains.
//   - B settled at +3,000 Wh with 500,000 owed from before: its payout of
//     600,000 pays the debt (500,000 withheld, 100,000 paid), its bond
//     returns in full.
//   - C a control site, placebo −2,000 Wh: no debt added (nothing was
//     asked of it), but its participation payment of 50,000 is held
//     against its 70,000 owed, then 20,000 of its 100,000 bond.
//   - D settled at −9,000 Wh, beyond the cap: the debt is capped like a
//     payout, at 4,000 Wh = 800,000.
//   - E a battery, net +500 Wh but a proof of −300 Wh (it discharged into
//     a house still importing): a negative proof proves nothing, no debt.
//   - F a battery, net −400 Wh, proof −900 Wh: the debt is the net's
//     (80,000), the proof only caps from above.
func TestApplySeasonSteps(t *testing.T) {
	p := DefaultParams()
	r := &FlexRequest{Terms: FlexTerms{PriceBaseUnitsPerKWh: 200_000}, Commitments: make([]FlexCommitment, 6)}
	settled := uint8(baseline.Settled)
	fs := &FlexSettlement{PayoutsBaseUnits: 650_000, RefundBaseUnits: 950_000, BondsReturn: 230_000,
		Commitments: []FlexCommitmentResult{
			{Status: settled, NetDeltaWh: -600, GuardNetWh: -200, CapWh: 4000, BondReturnedBaseUnits: 30_000},
			{Status: settled, NetDeltaWh: 3200, CorrectionWh: 200, GuardNetWh: 100, CapWh: 4000, PayoutBaseUnits: 600_000, BondReturnedBaseUnits: 100_000},
			{Status: uint8(baseline.Control), Control: true, NetDeltaWh: -2000, CapWh: 4000, PayoutBaseUnits: 50_000, BondReturnedBaseUnits: 100_000},
			{Status: settled, NetDeltaWh: -9000, CapWh: 4000},
			{Status: settled, NetDeltaWh: 500, Proven: true, ProvenNetWh: -300, CapWh: 4000},
			{Status: settled, NetDeltaWh: -400, Proven: true, ProvenNetWh: -900, CapWh: 4000},
		}}
	if err := ApplySeason(fs, r, []uint64{0, 500_000, 70_000, 0, 0, 0}, 3, &p); err != nil {
		t.Fatal(err)
	}
	type want struct {
		net                                   int64
		before, added, withheld, taken, after uint64
		payout, bond                          uint64
	}
	for i, w := range []want{
		{-800, 0, 160_000, 0, 30_000, 130_000, 0, 0},
		{3000, 500_000, 0, 500_000, 0, 0, 100_000, 100_000},
		{0, 70_000, 0, 50_000, 20_000, 0, 0, 80_000},
		{-9000, 0, 800_000, 0, 0, 800_000, 0, 0},
		{0, 0, 0, 0, 0, 0, 0, 0},
		{-400, 0, 80_000, 0, 0, 80_000, 0, 0},
	} {
		c := fs.Commitments[i]
		got := want{c.SeasonNetWh, c.DebtBeforeBaseUnits, c.DebtAddedBaseUnits, c.WithheldBaseUnits, c.BondTakenBaseUnits,
			c.DebtAfterBaseUnits, c.PayoutBaseUnits, c.BondReturnedBaseUnits}
		if got != w {
			t.Errorf("commitment %d: got %+v, want %+v", i, got, w)
		}
		if !c.seasonConsistent() {
			t.Errorf("commitment %d inconsistent", i)
		}
	}
	if !fs.HasSeason || fs.Season != 3 || fs.WithheldBaseUnits != 550_000 || fs.BondTakenBaseUnits != 50_000 ||
		fs.PayoutsBaseUnits != 100_000 || fs.RefundBaseUnits != 1_500_000 || fs.BondsReturn != 180_000 {
		t.Fatalf("totals %+v", fs)
	}
	// The stored form round-trips.
	var back FlexSettlement
	if err := codec.Decode(codec.Encode(fs), &back); err != nil {
		t.Fatal(err)
	}
	// Netting off: nothing changes.
	off := p
	off.FlexSeasonDays = 0
	fs2 := &FlexSettlement{Commitments: []FlexCommitmentResult{{Status: settled, NetDeltaWh: -800, CapWh: 4000}}}
	if err := ApplySeason(fs2, &FlexRequest{Commitments: make([]FlexCommitment, 1)}, []uint64{0}, 0, &off); err != nil || fs2.HasSeason {
		t.Fatalf("netting off: %v %+v", err, fs2)
	}
}

// TestSeasonDebtCarriesToLaterPayout: a site draws 50 Wh an interval
// above its baseline in one request's window (−800 Wh: nothing paid, its
// bond slashed as at zero performance, and 160,000 base units owed), then
// delivers 4,000 Wh in the next request: 160,000 of that payout is
// withheld, the rest paid. The season statement sums both, the debt
// record is gone, and the audit recomputes both settlements from the
// chain (the second's debt from the first's).
func TestSeasonDebtCarriesToLaterPayout(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner := testKey(1), testKey(2)
	sk := c.registerSite(owner, 1)
	sites := []*siteChain{{key: sk}}
	flat := func(int, uint64) uint32 { return 250 }
	c.feed(owner, sites, 0, eventDay*perDay+32, flat)
	const day2 = eventDay + 3 // Monday 2026-06-29
	terms2 := flexTerms()
	terms2.Start, terms2.End, terms2.Deadline = day2*perDay+56, day2*perDay+72, day2*perDay+52

	c.ok(c.signTx(utility, &FlexRequestTx{Terms: flexTerms()}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	c.feed(owner, sites, eventDay*perDay+32, day2*perDay+32, func(_ int, i uint64) uint32 {
		if i >= evStart && i < evEnd {
			return 300 // a hot afternoon, not answered
		}
		return 250
	})
	fs1, ok, _ := c.l.FlexSettlement(1)
	if !ok {
		t.Fatal("request 1 not settled")
	}
	a := fs1.Commitments[0]
	if !fs1.HasSeason || a.SeasonNetWh != -800 || a.PayoutBaseUnits != 0 || a.SlashBaseUnits != 100_000 ||
		a.DebtAddedBaseUnits != 160_000 || a.DebtAfterBaseUnits != 160_000 {
		t.Fatalf("request 1: %+v", a)
	}
	if d, _ := c.l.SiteDebt(sk.Address()); d != 160_000 {
		t.Fatalf("debt after request 1: %d", d)
	}

	c.ok(c.signTx(utility, &FlexRequestTx{Terms: terms2}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 2, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	ownerBefore := c.account(owner.Address()).Balance
	c.feed(owner, sites, day2*perDay+32, (day2+1)*perDay, func(_ int, i uint64) uint32 {
		if i >= terms2.Start && i < terms2.End {
			return 0
		}
		return 250
	})
	fs2, ok, _ := c.l.FlexSettlement(2)
	if !ok {
		t.Fatal("request 2 not settled")
	}
	b := fs2.Commitments[0]
	if b.DeliveredWh != 4000 || b.SeasonNetWh != 4000 || b.DebtBeforeBaseUnits != 160_000 || b.WithheldBaseUnits != 160_000 ||
		b.PayoutBaseUnits != 640_000 || b.BondReturnedBaseUnits != 100_000 || b.DebtAfterBaseUnits != 0 {
		t.Fatalf("request 2: %+v", b)
	}
	if fs2.RefundBaseUnits != 1_600_000-640_000 {
		t.Fatalf("refund %d", fs2.RefundBaseUnits)
	}
	fees := c.account(owner.Address()).Balance - ownerBefore
	if fees > 640_000+100_000 || fees < 640_000+100_000-40*c.g.Params.MinFee {
		t.Fatalf("owner received %d, want 740,000 less reading fees", fees)
	}
	if d, _ := c.l.SiteDebt(sk.Address()); d != 0 {
		t.Fatalf("debt after request 2: %d", d)
	}
	st, ok, _ := c.l.FlexSeason(sk.Address(), 0)
	if !ok || st.Settlements != 2 || st.NetWh != 3200 || st.PaidBaseUnits != 640_000 || st.DebtAddedBaseUnits != 160_000 ||
		st.WithheldBaseUnits != 160_000 || st.DebtBaseUnits != 0 || st.DebtInBaseUnits != 0 {
		t.Fatalf("season statement %+v", st)
	}
	for id := uint64(1); id <= 2; id++ {
		if au, err := c.l.AuditRequest(id); err != nil || !au.Match {
			t.Fatalf("audit of request %d: %v %+v", id, err, au)
		}
	}
}

// TestZoneCalendarFromParams: a zone's holidays come from the chain
// parameters. With Thursday 2026-06-25 (day 20629) a holiday of CO-DEN,
// a Friday request's weekday baseline skips it (3 of 3: Wed, Tue, Mon);
// a request that carries holidays of its own is refused, and so is one
// whose UTC offset differs from its zone's calendar.
func TestZoneCalendarFromParams(t *testing.T) {
	g := testGenesis(func(g *Genesis) {
		g.Params.ZoneCalendars = []ZoneCalendar{{Zone: "CO-DEN", Holidays: []int64{20629}}}
	})
	c := newTestChain(t, g, Options{})
	utility, owner := testKey(1), testKey(2)
	sk := c.registerSite(owner, 1)
	sites := []*siteChain{{key: sk}}
	flat := func(int, uint64) uint32 { return 250 }
	c.feed(owner, sites, 0, eventDay*perDay+32, flat)
	own := flexTerms()
	own.Holidays = []int64{20628}
	c.fails(c.signTx(utility, &FlexRequestTx{Terms: own}), ErrFlexTerms)
	off := flexTerms()
	off.UTCOffsetSeconds = -7 * 3600
	c.fails(c.signTx(utility, &FlexRequestTx{Terms: off}), ErrFlexTerms)
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: flexTerms()}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	c.feed(owner, sites, eventDay*perDay+32, (eventDay+1)*perDay, flat)
	fs, ok, _ := c.l.FlexSettlement(1)
	if !ok {
		t.Fatal("not settled")
	}
	if got := fs.Commitments[0].SelectedDays; !slices.Equal(got, []int64{20628, 20627, 20626}) {
		t.Fatalf("baseline days %v, want Wed, Tue, Mon (Thursday is the zone's holiday)", got)
	}
	if au, err := c.l.AuditRequest(1); err != nil || !au.Match {
		t.Fatalf("audit: %v %+v", err, au)
	}
}

// TestParamsV2 round-trips the params with and without the version-2
// fields, and refuses what breaks their rules.
func TestParamsV2(t *testing.T) {
	p := DefaultParams()
	p.ZoneCalendars = []ZoneCalendar{{Zone: "NY-J", UTCOffsetSeconds: -5 * 3600, Holidays: []int64{20454, 20635}}, {Zone: "NY-K"}}
	for _, q := range []Params{p, DefaultParams()} {
		var back Params
		if err := codec.Decode(codec.Encode(&q), &back); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(codec.Encode(&back), codec.Encode(&q)) {
			t.Fatal("params do not round-trip")
		}
	}
	v1 := DefaultParams()
	v1.FlexSeasonDays = 0
	if b := codec.Encode(&v1); b[0] != 1 {
		t.Fatalf("params without season or calendars encode as version %d", b[0])
	}
	for name, mod := range map[string]func(*Params){
		"unsorted zones":  func(p *Params) { p.ZoneCalendars[0], p.ZoneCalendars[1] = p.ZoneCalendars[1], p.ZoneCalendars[0] },
		"holiday order":   func(p *Params) { p.ZoneCalendars[0].Holidays = []int64{3, 3} },
		"bad zone":        func(p *Params) { p.ZoneCalendars[0].Zone = "a b" },
		"offset":          func(p *Params) { p.ZoneCalendars[0].UTCOffsetSeconds = 19 * 3600 },
		"season too long": func(p *Params) { p.FlexSeasonDays = 4000 },
	} {
		q := p
		q.ZoneCalendars = slices.Clone(p.ZoneCalendars)
		mod(&q)
		if err := q.Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
