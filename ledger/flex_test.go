package ledger

import (
	"bytes"
	"slices"
	"testing"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// Days since genesis (2026-06-21, a Sunday): day 5 is Friday 2026-06-26.
const (
	perDay   = 96
	eventDay = 5
	// The event window is 14:00–18:00 UTC on day 5 (the test calendar is UTC).
	evStart = eventDay*perDay + 56
	evEnd   = eventDay*perDay + 72
)

// feed sends every interval of [from, to) for each site as readings, in
// blocks of 8 intervals with the clock just past the last one. load(site, i)
// gives the interval's grid import.
func (c *testChain) feed(sender *wallet.PrivateKey, sites []*siteChain, from, to uint64, load func(s int, i uint64) uint32) {
	c.t.Helper()
	c.feedReadings(sender, sites, from, to, func(s int, i uint64, r *meter.Reading) { r.GridImportWh = load(s, i) })
}

// feedReadings is feed with every channel of each reading set by fill.
func (c *testChain) feedReadings(sender *wallet.PrivateKey, sites []*siteChain, from, to uint64, fill func(s int, i uint64, r *meter.Reading)) {
	c.t.Helper()
	for a := from; a < to; a += 8 {
		b := min(a+8, to)
		var rs []meter.Reading
		for s, sc := range sites {
			for i := a; i < b; i++ {
				rs = append(rs, sc.next(i, func(r *meter.Reading) { fill(s, i, r) }))
			}
		}
		end := c.intervalEndMs(b-1) + 1000
		if end <= c.timeMs {
			end = c.timeMs + 1000
		}
		c.timeMs = end - 5000
		rc := c.one(c.signTx(sender, &Readings{Readings: rs}))
		for _, rr := range rc.Readings {
			if rr.Reason != RejectNone {
				c.t.Fatalf("reading %s/%d rejected: %v", rr.Site, rr.Interval, rr.Reason)
			}
		}
	}
}

func flexTerms() FlexTerms {
	return FlexTerms{Zone: "CO-DEN", Direction: FlexDown, Start: evStart, End: evEnd, TargetW: 2000,
		PriceBaseUnitsPerKWh: 200_000, Deadline: evStart - 4, Method: uint8(baseline.MethodXofY),
		Rules: BaselineRules{WeekdayX: 3, WeekdayY: 3, WeekendX: 1, WeekendY: 1, LookbackDays: 10}}
}

// TestFlexEndToEnd: two homes with a flat 250 Wh per interval commit 1 kW
// each to a 4-hour "down" request. Home A drops to 0 during the window,
// home B does nothing. A is paid 4 kWh at 0.2 FLX/kWh; B delivers nothing
// and loses its bond to the utility; the unspent escrow returns.
func TestFlexEndToEnd(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner := testKey(1), testKey(2)
	skA := c.registerSite(owner, 1)
	skB := c.registerSite(owner, 2)
	sites := []*siteChain{{key: skA}, {key: skB}}
	flat := func(int, uint64) uint32 { return 250 }
	// Days 0–4 and day 5 until 08:00.
	c.feed(owner, sites, 0, eventDay*perDay+32, flat)

	// Posted at 08:00 on day 5; the deadline is 13:00.
	terms := flexTerms()
	utilBefore := c.account(utility.Address()).Balance
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: terms}))
	req, ok, _ := c.l.FlexRequest(1)
	// Escrow: 2000 W → 500 Wh per interval × 16 = 8000 Wh × 0.2 FLX/kWh.
	if !ok || req.EscrowBaseUnits != 1_600_000 || req.PostedInterval != eventDay*perDay+32 {
		t.Fatalf("request %+v", req)
	}
	bond := uint64(100_000) // the minimum is 10 % of the most A can earn, 800,000
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 1000, BondBaseUnits: 79_999}), ErrBondTooLow)
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 1000, BondBaseUnits: bond}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skB.Address(), CommittedW: 1000, BondBaseUnits: bond}))
	ownerAfterBonds := c.account(owner.Address()).Balance

	// The rest of day 5: A drops to 0 in the window.
	c.feed(owner, sites, eventDay*perDay+32, (eventDay+1)*perDay, func(s int, i uint64) uint32 {
		if s == 0 && i >= evStart && i < evEnd {
			return 0
		}
		return 250
	})
	// It settled in the first block whose interval was ≥ End + 17 (during
	// the last readings of the day).
	fs, ok, _ := c.l.FlexSettlement(1)
	if blk, _ := c.l.Block(fs.Height); !ok || (blk.Header.TimeMs/1000-testGenesisTime)/900 < evEnd+17 {
		t.Fatalf("settled at height %d, too early or never", fs.Height)
	}
	if prev, _ := c.l.Block(fs.Height - 1); (prev.Header.TimeMs/1000-testGenesisTime)/900 >= evEnd+17 {
		t.Fatalf("settled at height %d, one block late", fs.Height)
	}
	if !ok || len(fs.Commitments) != 2 {
		t.Fatalf("settlement %+v", fs)
	}
	a, b := fs.Commitments[0], fs.Commitments[1]
	if a.Site != skA.Address() {
		a, b = b, a
	}
	if a.DeliveredWh != 4000 || a.PerformancePPM != 1_000_000 || a.PayoutBaseUnits != 800_000 || a.SlashBaseUnits != 0 {
		t.Fatalf("home A: %+v", a)
	}
	if len(a.SelectedDays) != 3 || a.SelectedDays[0] != 20629 /* Thursday, the day before the event */ || a.Intervals[0].BaselineWh != 250 {
		t.Fatalf("home A baseline: days %v, first interval %+v", a.SelectedDays, a.Intervals[0])
	}
	if b.DeliveredWh != 0 || b.PayoutBaseUnits != 0 || b.SlashBaseUnits != bond {
		t.Fatalf("home B: %+v", b)
	}
	if fs.RefundBaseUnits != 800_000 {
		t.Fatalf("refund %d", fs.RefundBaseUnits)
	}
	util := c.account(utility.Address()).Balance
	// The utility paid two fees... one request fee; it gets the refund and B's bond.
	if want := utilBefore - c.g.Params.MinFee - 1_600_000 + 800_000 + bond; util != want {
		t.Fatalf("utility balance %d, want %d", util, want)
	}
	// The owner got A's payout and bond back (and paid fees for the readings).
	if got := c.account(owner.Address()).Balance; got < ownerAfterBonds+800_000+bond-100*c.g.Params.MinFee {
		t.Fatalf("owner balance %d", got)
	}
	if r, _, _ := c.l.FlexRequest(1); r.Status != FlexSettled {
		t.Fatal("request not marked settled")
	}

	// The audit path: rebuild the inputs from the stored readings, one by
	// one, and settle again: the same bytes.
	settledReq, _, _ := c.l.FlexRequest(1)
	again := auditFromReadings(t, c, &settledReq)
	again.Height = fs.Height
	if !bytes.Equal(codec.Encode(again), codec.Encode(&fs)) {
		t.Fatalf("recomputed settlement differs:\n%+v\n%+v", again, fs)
	}
	if a, err := c.l.AuditRequest(1); err != nil || !a.Match {
		t.Fatalf("AuditRequest: %v %+v", err, a)
	}

	// The epoch's flexibility share goes to A, the only site that delivered.
	for c.l.Height()%c.g.Params.EpochBlocks != 0 {
		c.block(1000)
	}
	found := false
	for h := c.l.Height(); h > c.l.Height()-c.g.Params.EpochBlocks; h-- {
		res, _ := c.l.Results(h)
		for _, ev := range res.Events {
			if ev.Kind == EventFlexReward {
				found = true
				if ev.Site != skA.Address() || ev.Wh != 4000 || ev.Amount == 0 {
					t.Fatalf("flex reward %+v", ev)
				}
			}
		}
	}
	if !found {
		t.Fatal("no flexibility reward paid")
	}
}

// auditFromReadings settles a request again from the accepted readings
// (reading/ keys), not from the day pages the ledger used.
func auditFromReadings(t *testing.T, c *testChain, req *FlexRequest) *FlexSettlement {
	t.Helper()
	p, _ := c.l.Params()
	cal := FlexCalendar(c.g.GenesisTime, &p, &req.Terms)
	bp := FlexBaselineParams(req.Terms.Rules)
	var inputs []FlexInputs
	for _, cm := range req.Commitments {
		inputs = append(inputs, BuildFlexInputs(&req.Terms, int64(req.PostedInterval), nil, cal, bp, p.FlexGuardIntervals,
			func(i int64) (int64, int64, int64, int64, bool) {
				if i < 0 {
					return 0, 0, 0, 0, false
				}
				r, ok, err := c.l.Reading(cm.Site, uint64(i))
				if err != nil || !ok {
					return 0, 0, 0, 0, false
				}
				return int64(r.GridImportWh), int64(r.GridExportWh),
					int64(r.BatteryChargeWh) - int64(r.BatteryDischargeWh), int64(r.EVWh), true
			}))
	}
	fs, err := SettleFlex(req, inputs, cal, &p)
	if err != nil {
		t.Fatal(err)
	}
	chain, _, _ := c.l.FlexSettlement(req.ID)
	fs.Height = chain.Height
	if err := c.l.auditSeason(req, &chain, fs, &p); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFlexRequestRules(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner, other := testKey(1), testKey(2), testKey(3)
	c.timeMs = c.intervalEndMs(eventDay*perDay+30) + 1000
	for name, mod := range map[string]func(*FlexTerms){
		"bad zone":         func(t *FlexTerms) { t.Zone = "co den" },
		"direction":        func(t *FlexTerms) { t.Direction = 3 },
		"empty window":     func(t *FlexTerms) { t.End = t.Start },
		"window too long":  func(t *FlexTerms) { t.End = t.Start + 97 },
		"deadline passed":  func(t *FlexTerms) { t.Deadline = eventDay*perDay + 10 },
		"deadline > start": func(t *FlexTerms) { t.Deadline = t.Start + 1 },
		"no target":        func(t *FlexTerms) { t.TargetW = 0 },
		"no price":         func(t *FlexTerms) { t.PriceBaseUnitsPerKWh = 0 },
		"method":           func(t *FlexTerms) { t.Method = 9 },
		"device on net":    func(t *FlexTerms) { t.Method = uint8(baseline.MethodDevice) },
		"channel on xofy":  func(t *FlexTerms) { t.Channel = ChannelEV },
		"rules":            func(t *FlexTerms) { t.Rules.WeekdayX = 5; t.Rules.WeekdayY = 2 },
		"offset":           func(t *FlexTerms) { t.UTCOffsetSeconds = 100 },
		"holidays":         func(t *FlexTerms) { t.Holidays = []int64{3, 2} },
	} {
		terms := flexTerms()
		mod(&terms)
		rc := c.one(c.signTx(utility, &FlexRequestTx{Terms: terms}))
		if rc.Code == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	poor := testKey(79)
	c.ok(c.signTx(utility, &Transfer{To: poor.Address(), Amount: 10_000}))
	c.fails(c.signTx(poor, &FlexRequestTx{Terms: flexTerms()}), ErrInsufficientFunds)

	// A valid request; commitments' rules.
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: flexTerms()}))
	skA := c.registerSite(owner, 1)
	skOther := c.registerSite(other, 2)
	bond := uint64(100_000)
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 99, Site: skA.Address(), CommittedW: 1000, BondBaseUnits: bond}), ErrUnknownRequest)
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skOther.Address(), CommittedW: 1000, BondBaseUnits: bond}), ErrNotSiteOwner)
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 2001, BondBaseUnits: bond}), ErrOverCommitted)
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 0, BondBaseUnits: bond}), ErrZeroAmount)
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 1500, BondBaseUnits: 150_000}))
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 100, BondBaseUnits: bond}), ErrAlreadyCommitted)
	c.fails(c.signTx(other, &FlexCommitTx{RequestID: 1, Site: skOther.Address(), CommittedW: 501, BondBaseUnits: bond}), ErrOverCommitted)
	// A site in another zone.
	skZ := testKey(5007)
	p := c.registerPayload(other, skZ)
	p.Zone = "CO-BLD"
	c.ok(c.signTx(other, p))
	c.fails(c.signTx(other, &FlexCommitTx{RequestID: 1, Site: skZ.Address(), CommittedW: 100, BondBaseUnits: bond}), ErrWrongZone)

	// Cancels: a site withdraws, the bond returns in full.
	before := c.account(owner.Address()).Balance
	c.fails(c.signTx(other, &FlexCancelTx{RequestID: 1, Site: skA.Address()}), ErrNotSiteOwner)
	c.ok(c.signTx(owner, &FlexCancelTx{RequestID: 1, Site: skA.Address()}))
	if got := c.account(owner.Address()).Balance; got != before+150_000-c.g.Params.MinFee {
		t.Fatalf("bond not returned: %d", got-before)
	}
	c.fails(c.signTx(owner, &FlexCancelTx{RequestID: 1, Site: skA.Address()}), ErrNotCommitted)
	// Recommit, then the utility cancels the whole request: everything returns.
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 1000, BondBaseUnits: bond}))
	c.fails(c.signTx(owner, &FlexCancelTx{RequestID: 1}), ErrNotUtility)
	ub, ob := c.account(utility.Address()).Balance, c.account(owner.Address()).Balance
	c.ok(c.signTx(utility, &FlexCancelTx{RequestID: 1}))
	if c.account(utility.Address()).Balance != ub+1_600_000-c.g.Params.MinFee || c.account(owner.Address()).Balance != ob+bond {
		t.Fatal("cancel did not return escrow and bonds")
	}
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: skA.Address(), CommittedW: 1000, BondBaseUnits: bond}), ErrRequestClosed)

	// After the deadline nothing can be committed or cancelled.
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: flexTerms()}))
	c.timeMs = c.intervalEndMs(evStart-4) + 1000
	c.fails(c.signTx(owner, &FlexCommitTx{RequestID: 2, Site: skA.Address(), CommittedW: 1000, BondBaseUnits: bond}), ErrDeadlinePassed)
	c.fails(c.signTx(utility, &FlexCancelTx{RequestID: 2}), ErrDeadlinePassed)
}

// TestFlexNoHistory: a site registered on the event day has no baseline
// days (its history starts after them): the NoBaseline rule pays nothing
// and slashes nothing; the escrow returns in full. If it sends no reading
// at all, not even in the guard and the window, it forfeits instead: a
// missing reading there is the worst case for the site.
func TestFlexNoHistory(t *testing.T) {
	for _, sendWindow := range []bool{true, false} {
		c := newTestChain(t, nil, Options{})
		utility, owner := testKey(1), testKey(2)
		c.timeMs = c.intervalEndMs(eventDay*perDay+30) + 1000
		sk := c.registerSite(owner, 1)
		site := &siteChain{key: sk}
		c.ok(c.signTx(utility, &FlexRequestTx{Terms: flexTerms()}))
		c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
		if sendWindow {
			c.feed(owner, []*siteChain{site}, evStart-8, evEnd, func(int, uint64) uint32 { return 300 })
		}
		for {
			c.timeMs += 900_000
			c.block(0)
			fs, ok, _ := c.l.FlexSettlement(1)
			if !ok {
				continue
			}
			cm := fs.Commitments[0]
			if sendWindow {
				if cm.Status != uint8(baseline.NoBaseline) || cm.Reason != uint8(baseline.ReasonNoBaseline) || cm.PayoutBaseUnits != 0 ||
					cm.SlashBaseUnits != 0 || cm.BondReturnedBaseUnits != 100_000 || fs.RefundBaseUnits != fs.EscrowBaseUnits {
					t.Fatalf("no-history settlement %+v", fs)
				}
			} else if cm.Status != uint8(baseline.Forfeited) || cm.Reason != uint8(baseline.ReasonMissingGuard) ||
				cm.MissingInterval != evStart-8 || cm.PayoutBaseUnits != 0 || cm.SlashBaseUnits != 100_000 || fs.RefundBaseUnits != fs.EscrowBaseUnits {
				t.Fatalf("no-readings settlement %+v", fs)
			}
			if a, err := c.l.AuditRequest(1); err != nil || !a.Match {
				t.Fatalf("AuditRequest: %v %+v", err, a)
			}
			break
		}
	}
}

// TestFlexPostingDayIsNotABaselineDay: a site that knew of an event from
// the day before could inflate that day's load; so once the event settles,
// the posting day joins the site's event days and later baselines skip it.
func TestFlexPostingDayIsNotABaselineDay(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner := testKey(1), testKey(2)
	sk := c.registerSite(owner, 1)
	sites := []*siteChain{{key: sk}}
	flat := func(int, uint64) uint32 { return 250 }
	// Day 4 (Thursday) 12:00: post a request for day 5 (Friday).
	c.feed(owner, sites, 0, 4*perDay+48, flat)
	terms := flexTerms()
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: terms}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	c.feed(owner, sites, 4*perDay+48, 7*perDay+4, flat)
	if _, ok, _ := c.l.FlexSettlement(1); !ok {
		t.Fatal("first request did not settle")
	}
	// A request for day 7 (Sunday → weekend rules: 1 of 1) and one for
	// Monday day 8 with weekday rules: its 3 weekdays must skip Thursday
	// (posting day) and Friday (event day): Wednesday, Tuesday, Monday.
	t2 := terms
	t2.Start, t2.End, t2.Deadline = 8*perDay+56, 8*perDay+72, 8*perDay+50
	c.feed(owner, sites, 7*perDay+4, 8*perDay+40, flat)
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: t2}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 2, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	c.feed(owner, sites, 8*perDay+40, 9*perDay+4, flat)
	fs, ok, _ := c.l.FlexSettlement(2)
	if !ok {
		t.Fatal("second request did not settle")
	}
	got := fs.Commitments[0].SelectedDays
	want := []int64{20625 + 3, 20625 + 2, 20625 + 1}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("baseline days %v, want %v (Thursday, the posting day, and Friday, the event day, skipped)", got, want)
	}
	if a, err := c.l.AuditRequest(2); err != nil || !a.Match {
		t.Fatalf("audit: %v", err)
	}
}

// TestFlexGuardNetsPreEventLoad: a home that learns of the event at 08:00
// and raises its load from 250 to 500 Wh per interval in the two hours
// before the window (the pre-event guard, FlexGuardIntervals = 8) has the
// 8 × 250 = 2000 Wh it drew there netted against the 4000 Wh it cut in the
// window: delivered 2000 Wh, paid 0.4 FLX. The guard's intervals are stored
// first, and the audit path agrees.
func TestFlexGuardNetsPreEventLoad(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner := testKey(1), testKey(2)
	sk := c.registerSite(owner, 1)
	sites := []*siteChain{{key: sk}}
	c.feed(owner, sites, 0, eventDay*perDay+32, func(int, uint64) uint32 { return 250 })
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: flexTerms()}))
	c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}))
	c.feed(owner, sites, eventDay*perDay+32, (eventDay+1)*perDay, func(_ int, i uint64) uint32 {
		switch {
		case i >= evStart-8 && i < evStart:
			return 500
		case i >= evStart && i < evEnd:
			return 0
		}
		return 250
	})
	fs, ok, _ := c.l.FlexSettlement(1)
	if !ok || len(fs.Commitments) != 1 || fs.Commitments[0].GuardIntervals != 8 {
		t.Fatalf("settlement %+v", fs)
	}
	m := fs.Commitments[0]
	if len(m.Intervals) != 24 || m.Intervals[0].ImportWh != 500 || m.Intervals[8].ImportWh != 0 {
		t.Fatalf("intervals %+v", m.Intervals)
	}
	if m.GuardNetWh != -2000 || m.NetDeltaWh != 4000 || m.DeliveredWh != 2000 || m.CommittedWh != 4000 ||
		m.PaidWh != 2000 || m.PayoutBaseUnits != 400_000 {
		t.Fatalf("commitment %+v", m)
	}
	if a, err := c.l.AuditRequest(1); err != nil || !a.Match {
		t.Fatalf("AuditRequest: %v %+v", err, a)
	}
}

// TestFlexBatteryProofCap: a battery request (device method) pays no more
// than the battery energy that provably reached the grid. Three homes with
// an idle battery until the window (so the battery's own baseline is 0)
// each discharge 1000 Wh per interval in it and commit 4 kW: A's house
// uses 600 Wh of that and 400 Wh is exported; B's house uses nothing, all
// 1000 Wh exported; C's house uses 1200 Wh, so it still imports 200 Wh.
// The battery's baseline credits each 16,000 Wh; the proof cap pays A
// 16 × 400 = 6,400 Wh, B the full 16,000 Wh and C nothing — without the
// dispatch a self-consumption battery would have covered C's house.
func TestFlexBatteryProofCap(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner := testKey(1), testKey(2)
	var sites []*siteChain
	for k := range 3 {
		sites = append(sites, &siteChain{key: c.registerSite(owner, 1+k)})
	}
	house := []uint32{600, 0, 1200}
	c.feed(owner, sites, 0, eventDay*perDay+32, func(s int, _ uint64) uint32 { return house[s] })
	terms := flexTerms()
	terms.Method, terms.Channel, terms.Rules = uint8(baseline.MethodDevice), ChannelBattery, BaselineRules{LookbackDays: 5}
	terms.TargetW = 12_000
	c.ok(c.signTx(utility, &FlexRequestTx{Terms: terms}))
	for _, sc := range sites {
		c.ok(c.signTx(owner, &FlexCommitTx{RequestID: 1, Site: sc.key.Address(), CommittedW: 4000, BondBaseUnits: 400_000}))
	}
	c.feedReadings(owner, sites, eventDay*perDay+32, (eventDay+1)*perDay, func(s int, i uint64, r *meter.Reading) {
		r.GridImportWh = house[s]
		if i >= evStart && i < evEnd {
			r.BatteryDischargeWh = 1000
			r.GridImportWh, r.GridExportWh = max(house[s], 1000)-1000, max(house[s], 1000)-house[s]
		}
	})
	fs, ok, _ := c.l.FlexSettlement(1)
	if !ok || len(fs.Commitments) != 3 {
		t.Fatalf("settlement %+v", fs)
	}
	want := []struct{ proven, delivered int64 }{{6400, 6400}, {16_000, 16_000}, {-3200, 0}}
	for _, m := range fs.Commitments {
		k := slices.IndexFunc(sites, func(sc *siteChain) bool { return sc.key.Address() == m.Site })
		if !m.Proven || m.NetDeltaWh != 16_000 || m.ProvenNetWh != want[k].proven || m.DeliveredWh != want[k].delivered ||
			m.PaidWh != want[k].delivered || m.PayoutBaseUnits != uint64(want[k].delivered)*200 {
			t.Fatalf("home %c: %+v", 'A'+k, m)
		}
		iv := m.Intervals[m.GuardIntervals]
		if iv.ProvenWh != want[k].proven/16 || iv.ImportWh != 0 || iv.ExportWh != 1000 {
			t.Fatalf("home %c: first window interval %+v", 'A'+k, iv)
		}
	}
	if a, err := c.l.AuditRequest(1); err != nil || !a.Match {
		t.Fatalf("AuditRequest: %v %+v", err, a)
	}
}

// TestFlexSiteCommitsOnceAtATime: a site can be committed to one request
// per interval, so one delivery is never paid twice: a second request
// whose window overlaps is refused (ErrSiteBusy) until the first
// commitment is withdrawn, cancelled or settled; a request that does not
// overlap is fine. The site's index of open commitments empties again.
func TestFlexSiteCommitsOnceAtATime(t *testing.T) {
	c := newTestChain(t, nil, Options{})
	utility, owner := testKey(1), testKey(2)
	sk := c.registerSite(owner, 1)
	sites := []*siteChain{{key: sk}}
	c.feed(owner, sites, 0, eventDay*perDay+32, func(int, uint64) uint32 { return 250 })
	overlap := flexTerms()
	overlap.Start, overlap.End = evStart+4, evEnd
	later := flexTerms()
	later.Start, later.End, later.Deadline = evEnd, evEnd+8, evEnd-4
	for _, terms := range []FlexTerms{flexTerms(), overlap, later} {
		c.ok(c.signTx(utility, &FlexRequestTx{Terms: terms}))
	}
	commit := func(id uint64) *FlexCommitTx {
		return &FlexCommitTx{RequestID: id, Site: sk.Address(), CommittedW: 1000, BondBaseUnits: 100_000}
	}
	c.ok(c.signTx(owner, commit(1)))
	c.fails(c.signTx(owner, commit(2)), ErrSiteBusy)
	c.ok(c.signTx(owner, commit(3))) // [evEnd, evEnd+8) touches [evStart, evEnd) only at its end
	// Withdrawing from request 1 frees the window for request 2.
	c.ok(c.signTx(owner, &FlexCancelTx{RequestID: 1, Site: sk.Address()}))
	c.ok(c.signTx(owner, commit(2)))
	c.fails(c.signTx(owner, commit(1)), ErrSiteBusy)
	// The utility cancels request 2 altogether: free again.
	c.ok(c.signTx(utility, &FlexCancelTx{RequestID: 2}))
	c.ok(c.signTx(owner, commit(1)))
	// Both remaining commitments settle; nothing is left in the index.
	c.feed(owner, sites, eventDay*perDay+32, (eventDay+2)*perDay, func(int, uint64) uint32 { return 250 })
	for _, id := range []uint64{1, 3} {
		if _, ok, _ := c.l.FlexSettlement(id); !ok {
			t.Fatalf("request %d not settled", id)
		}
	}
	if _, ok, err := c.l.state().get(siteFlexKey(sk.Address())); ok || err != nil {
		t.Fatalf("open commitments left after settlement: %v %v", ok, err)
	}
}
