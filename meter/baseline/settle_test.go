package baseline

import (
	"errors"
	"math"
	"testing"
)

// Settlement worked example, continuing the CAISO example (baseline 2276,
// 2487, 2599, 2387 Wh, hourly). The site committed 1 kW down (1000 W ×
// 3600 s / 3600 = 1000 Wh per interval, 4000 Wh in all) at 0.25 FLX/kWh
// (250000 base units per kWh) with a 2 FLX bond.
//
//	hour | baseline | import export actual | delta = baseline − actual
//	14h  |   2276   |  1500     0    1500  |   776
//	15h  |   2487   |  1700   400    1300  |  1187
//	16h  |   2599   |  1800     0    1800  |   799
//	17h  |   2387   |  2500     0    2500  |  −113 (kept: it nets)
//
// Net 776 + 1187 + 799 − 113 = 2649 Wh; delivered max(0, 2649) = 2649 Wh
// (the per-interval floor would have paid 2762). Performance
// ⌊2649·10^6/4000⌋ = 662250 ppm; paid min(2649, 4000) = 2649 Wh; payout
// ⌊250000·2649/1000⌋ = 662250 base units (0.66225 FLX); 66 % ≥ 50 %: no
// slash.
func TestSettleWorkedExample(t *testing.T) {
	c, h, ev := caisoExample(t)
	r, err := XofY(h.s, ev, c, DefaultXofY())
	if err != nil {
		t.Fatal(err)
	}
	com := Commitment{
		Direction: Down, IntervalSeconds: 3600, CommittedW: 1000,
		BaselineWh: r.BaselineWh,
		Actual: []Reading{
			{ImportWh: 1500}, {ImportWh: 1700, ExportWh: 400}, {ImportWh: 1800}, {ImportWh: 2500},
		},
		PriceBaseUnitsPerKWh: 250_000, PayoutCapPPM: PPM, BondBaseUnits: 2_000_000,
	}
	s, err := Settle(com, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "actual", ivField(s, func(iv IntervalSettlement) int64 { return iv.ActualWh }), []int64{1500, 1300, 1800, 2500})
	eqInts(t, "delta", ivField(s, func(iv IntervalSettlement) int64 { return iv.DeltaWh }), []int64{776, 1187, 799, -113})
	if s.Status != Settled || s.CommittedWhPerInterval != 1000 || s.CommittedWh != 4000 || s.NetDeltaWh != 2649 ||
		s.DeliveredWh != 2649 || s.PerformancePPM != 662250 || s.CapWh != 4000 || s.PaidWh != 2649 ||
		s.ClaimBaseUnits != 662250 || s.PayoutBaseUnits != 662250 || s.ShortfallPPM != 0 || s.SlashBaseUnits != 0 ||
		s.BondReturnedBaseUnits != 2_000_000 {
		t.Fatalf("settlement %+v", s)
	}

	// Under-delivery with a missing reading:
	//	baseline 2276 2487 2599 2387
	//	actual   2200 2400 2600 (missing)
	//	delta      76   87   −1    0  (missing adds 0, not −2387 nor +2387)
	// Net 162 Wh; delivered 162; performance ⌊162·10^6/4000⌋ = 40500 ppm;
	// shortfall 500000 − 40500 = 459500 ppm; slash
	// ⌊2000000·459500·10^6/(500000·10^6)⌋ = 1838000, bond returned
	// 2000000 − 1838000 = 162000; payout ⌊250000·162/1000⌋ = 40500.
	com.Actual = []Reading{{ImportWh: 2200}, {ImportWh: 2400}, {ImportWh: 2600}, {Missing: true}}
	s, err = Settle(com, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "delta with a missing reading", ivField(s, func(iv IntervalSettlement) int64 { return iv.DeltaWh }), []int64{76, 87, -1, 0})
	if !s.Intervals[3].Missing || s.NetDeltaWh != 162 || s.DeliveredWh != 162 || s.PerformancePPM != 40500 ||
		s.ShortfallPPM != 459500 || s.SlashBaseUnits != 1_838_000 || s.BondReturnedBaseUnits != 162_000 ||
		s.PayoutBaseUnits != 40500 {
		t.Fatalf("under-delivery %+v", s)
	}

	// A site that used more than its baseline overall: deltas 276, −313,
	// −201, −213 net to −451 Wh, so nothing is delivered — the 276 Wh of
	// hour 14 does not survive on its own. Performance 0; shortfall 500000
	// ppm; slash ⌊2000000·500000·10^6/(500000·10^6)⌋ = 2000000, the whole
	// bond; payout 0.
	com.Actual = []Reading{{ImportWh: 2000}, {ImportWh: 2800}, {ImportWh: 2800}, {ImportWh: 2600}}
	s, err = Settle(com, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "delta, net negative", ivField(s, func(iv IntervalSettlement) int64 { return iv.DeltaWh }), []int64{276, -313, -201, -213})
	if s.NetDeltaWh != -451 || s.DeliveredWh != 0 || s.PerformancePPM != 0 || s.PaidWh != 0 || s.PayoutBaseUnits != 0 ||
		s.ShortfallPPM != 500_000 || s.SlashBaseUnits != 2_000_000 || s.BondReturnedBaseUnits != 0 {
		t.Fatalf("net negative %+v", s)
	}
	// The same readings on an up request: every delta flips sign, net +451
	// Wh, performance ⌊451·10^6/4000⌋ = 112750 ppm, payout
	// ⌊250000·451/1000⌋ = 112750; shortfall 387250 ppm, slash
	// ⌊2000000·387250·10^6/(500000·10^6)⌋ = 1549000.
	com.Direction = Up
	s, err = Settle(com, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	if s.NetDeltaWh != 451 || s.DeliveredWh != 451 || s.PerformancePPM != 112750 || s.PayoutBaseUnits != 112750 ||
		s.SlashBaseUnits != 1_549_000 {
		t.Fatalf("net negative, up %+v", s)
	}
	com.Direction = Down

	// Over-delivery is paid up to the cap: 1.2 × 4000 = 4800 Wh.
	com.Actual = []Reading{{ExportWh: 3000}, {ExportWh: 3000}, {}, {}}
	com.PayoutCapPPM = 1_200_000
	s, _ = Settle(com, DefaultSlash())
	// deltas 2276 + 3000 = 5276, 2487 + 3000 = 5487, 2599, 2387: net 15749
	// Wh; performance ⌊15749·10^6/4000⌋ = 3937250 ppm; paid min(15749,
	// 4800) = 4800 Wh; payout ⌊250000·4800/1000⌋ = 1200000.
	if s.DeliveredWh != 15749 || s.PerformancePPM != 3937250 || s.CapWh != 4800 || s.PaidWh != 4800 || s.PayoutBaseUnits != 1_200_000 {
		t.Fatalf("over-delivery %+v", s)
	}

	// Up: more net import is the delivery.
	com = Commitment{Direction: Up, IntervalSeconds: 900, CommittedW: 2000, BaselineWh: []int64{-300, 100},
		Actual: []Reading{{ImportWh: 400}, {ImportWh: 50}}, PriceBaseUnitsPerKWh: 100_000, PayoutCapPPM: PPM}
	s, _ = Settle(com, DefaultSlash())
	// committed ⌊2000·900/3600⌋ = 500 Wh/interval, 1000 in all; deltas
	// 400 − (−300) = 700 and 50 − 100 = −50, net 650 Wh; performance
	// ⌊650·10^6/1000⌋ = 650000 ppm; payout ⌊100000·650/1000⌋ = 65000.
	eqInts(t, "up delta", ivField(s, func(iv IntervalSettlement) int64 { return iv.DeltaWh }), []int64{700, -50})
	if s.DeliveredWh != 650 || s.CommittedWh != 1000 || s.PerformancePPM != 650000 || s.PayoutBaseUnits != 65000 {
		t.Fatalf("up %+v", s)
	}
}

func ivField(s Settlement, f func(IntervalSettlement) int64) []int64 {
	out := make([]int64, 0, len(s.Intervals))
	for _, iv := range s.Intervals {
		out = append(out, f(iv))
	}
	return out
}

// The NoBaseline rule: nothing delivered, paid or slashed.
// The pre-event guard, by hand. 1 kW down over two hourly intervals
// (1000 Wh each, 2000 Wh committed), with two guard hours before the
// window:
//
//	hour   | baseline | actual | delta
//	guard1 |   1500   |  2900  | −1400  (raised load after the posting)
//	guard2 |   1500   |  1300  |   200  (a decrease before the window)
//	win1   |   2000   |   800  |  1200
//	win2   |   2000   |   900  |  1100
//
// Window net 2300 Wh; guard net −1200 Wh; delivered max(0, 2300 +
// min(0, −1200)) = 1100 Wh; performance ⌊1100·10^6/2000⌋ = 550000 ppm;
// payout ⌊100000·1100/1000⌋ = 110000. Had the guard come out positive
// (+200 alone) it would not have been paid: delivered stays 2300.
func TestSettleGuard(t *testing.T) {
	com := Commitment{
		Direction: Down, IntervalSeconds: 3600, CommittedW: 1000, GuardIntervals: 2,
		BaselineWh:           []int64{1500, 1500, 2000, 2000},
		Actual:               []Reading{{ImportWh: 2900}, {ImportWh: 1300}, {ImportWh: 800}, {ImportWh: 900}},
		PriceBaseUnitsPerKWh: 100_000, PayoutCapPPM: PPM, BondBaseUnits: 1_000_000,
	}
	s, err := Settle(com, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "delta", ivField(s, func(iv IntervalSettlement) int64 { return iv.DeltaWh }), []int64{-1400, 200, 1200, 1100})
	eqInts(t, "committed", ivField(s, func(iv IntervalSettlement) int64 { return iv.CommittedWh }), []int64{0, 0, 1000, 1000})
	if !s.Intervals[0].Guard || !s.Intervals[1].Guard || s.Intervals[2].Guard {
		t.Fatalf("guard flags %+v", s.Intervals)
	}
	if s.GuardIntervals != 2 || s.GuardNetWh != -1200 || s.NetDeltaWh != 2300 || s.DeliveredWh != 1100 ||
		s.CommittedWh != 2000 || s.PerformancePPM != 550000 || s.PaidWh != 1100 || s.PayoutBaseUnits != 110000 ||
		s.SlashBaseUnits != 0 {
		t.Fatalf("settlement %+v", s)
	}
	// A guard that came out the right way is not paid.
	com.Actual[0].ImportWh = 1500
	if s, err = Settle(com, DefaultSlash()); err != nil || s.GuardNetWh != 200 || s.DeliveredWh != 2300 {
		t.Fatalf("positive guard: %+v, %v", s, err)
	}
	// A guard reading withheld counts as a full miss of an interval
	// (PenalizeMissing), so withholding the inflated hour does not pay.
	com.Actual[0] = Reading{Missing: true}
	com.PenalizeMissing = true
	if s, err = Settle(com, DefaultSlash()); err != nil || s.GuardNetWh != -800 || s.DeliveredWh != 1500 {
		t.Fatalf("missing guard reading: %+v, %v", s, err)
	}
	// The same delivery without a guard: the window alone.
	com = Commitment{Direction: Down, IntervalSeconds: 3600, CommittedW: 1000, BaselineWh: []int64{2000, 2000},
		Actual: []Reading{{ImportWh: 800}, {ImportWh: 900}}, PriceBaseUnitsPerKWh: 100_000, PayoutCapPPM: PPM}
	if s, err = Settle(com, DefaultSlash()); err != nil || s.DeliveredWh != 2300 || s.GuardNetWh != 0 {
		t.Fatalf("no guard: %+v, %v", s, err)
	}
}

func TestSettleNoBaseline(t *testing.T) {
	s, err := Settle(Commitment{Direction: Down, IntervalSeconds: 900, CommittedW: 3000, NoBaseline: true,
		Actual: []Reading{{ImportWh: 10}, {Missing: true}}, PriceBaseUnitsPerKWh: 1, PayoutCapPPM: PPM,
		BondBaseUnits: 5_000_000}, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != NoBaseline || s.NetDeltaWh != 0 || s.DeliveredWh != 0 || s.PayoutBaseUnits != 0 || s.SlashBaseUnits != 0 ||
		s.BondReturnedBaseUnits != 5_000_000 || len(s.Intervals) != 2 || s.Intervals[0].ImportWh != 10 ||
		s.Intervals[0].DeltaWh != 0 || !s.Intervals[1].Missing {
		t.Fatalf("%+v", s)
	}
}

// Escrow cap, pro rata: claims 600 + 300 + 200 = 1100 > escrow 1000:
// ⌊600·1000/1100⌋ = 545, ⌊300·1000/1100⌋ = 272, ⌊200·1000/1100⌋ = 181;
// Σ 998, refund 2.
func TestSettleRequestEscrowCap(t *testing.T) {
	mk := func(paidWh int64) Commitment {
		return Commitment{Direction: Down, IntervalSeconds: 3600, CommittedW: 10_000, BaselineWh: []int64{paidWh},
			Actual: []Reading{{}}, PriceBaseUnitsPerKWh: 1000, PayoutCapPPM: PPM, BondBaseUnits: 7}
	}
	rs, err := SettleRequest(1000, []Commitment{mk(600), mk(300), mk(200)}, SlashSchedule{ThresholdPPM: 10_000, MaxSlashPPM: PPM})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, s := range rs.Commitments {
		got = append(got, int64(s.PayoutBaseUnits))
	}
	eqInts(t, "payouts", got, []int64{545, 272, 181})
	if !rs.Scaled || rs.ClaimsBaseUnits != 1100 || rs.PayoutsBaseUnits != 998 || rs.RefundBaseUnits != 2 ||
		rs.BondsBaseUnits != 21 || rs.SlashedBaseUnits != 0 {
		t.Fatalf("%+v", rs)
	}
}

func TestSettleRejectsBadInput(t *testing.T) {
	ok := Commitment{Direction: Down, IntervalSeconds: 900, CommittedW: 1000, BaselineWh: []int64{1},
		Actual: []Reading{{}}, PayoutCapPPM: PPM}
	if _, err := Settle(ok, DefaultSlash()); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Commitment){
		func(c *Commitment) { c.Direction = 0 },
		func(c *Commitment) { c.CommittedW = 0 },
		func(c *Commitment) { c.CommittedW = 3 }, // 0 Wh per interval
		func(c *Commitment) { c.BaselineWh = nil },
		func(c *Commitment) { c.Actual = nil; c.BaselineWh = nil },
		func(c *Commitment) { c.Actual = []Reading{{ImportWh: -1}} },
		func(c *Commitment) { c.PayoutCapPPM = -1 },
		func(c *Commitment) { c.GuardIntervals = -1 },
		func(c *Commitment) { c.GuardIntervals = 1 }, // no window left
	}
	for i, f := range bad {
		c := ok
		f(&c)
		if _, err := Settle(c, DefaultSlash()); !errors.Is(err, ErrInput) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	// Deltas that fit int64 one by one but not in sum: an error, not a
	// wrapped net.
	huge := ok
	huge.BaselineWh, huge.Actual = []int64{math.MaxInt64 - 1, math.MaxInt64 - 1}, []Reading{{}, {}}
	if _, err := Settle(huge, DefaultSlash()); !errors.Is(err, ErrOverflow) {
		t.Errorf("net overflow: %v", err)
	}
	// actual − baseline with baseline = −2^63 does not fit: an error, not a
	// delta of the wrong sign.
	low := ok
	low.Direction, low.BaselineWh = Up, []int64{math.MinInt64}
	if _, err := Settle(low, DefaultSlash()); !errors.Is(err, ErrOverflow) {
		t.Errorf("delta overflow: %v", err)
	}
	if _, err := Settle(ok, SlashSchedule{}); !errors.Is(err, ErrInput) {
		t.Errorf("zero schedule accepted")
	}
}

// TestPenalizeMissing: with the ledger's rule, a missing interval counts as
// a full miss. Four intervals, 1 kW committed (250 Wh each), baseline 500:
// deltas +300, +400, missing, −200. Without the rule the net is 500 Wh;
// with it 500 − 250 = 250 Wh. Withholding the −200 interval instead would
// give 700 − 250 = 450 < 500: it no longer pays to hide a bad interval
// that is less bad than a full miss.
func TestPenalizeMissing(t *testing.T) {
	c := Commitment{Direction: Down, IntervalSeconds: 900, CommittedW: 1000,
		BaselineWh:           []int64{500, 500, 500, 500},
		Actual:               []Reading{{ImportWh: 200}, {ImportWh: 100}, {Missing: true}, {ImportWh: 700}},
		PriceBaseUnitsPerKWh: 1000, PayoutCapPPM: PPM, BondBaseUnits: 0}
	plain, err := Settle(c, DefaultSlash())
	if err != nil || plain.NetDeltaWh != 500 {
		t.Fatalf("without the rule: %d %v", plain.NetDeltaWh, err)
	}
	c.PenalizeMissing = true
	pen, err := Settle(c, DefaultSlash())
	if err != nil || pen.NetDeltaWh != 250 || pen.Intervals[2].DeltaWh != -250 || pen.DeliveredWh != 250 {
		t.Fatalf("with the rule: net %d, interval %+v, %v", pen.NetDeltaWh, pen.Intervals[2], err)
	}
	c.Actual[2], c.Actual[3] = Reading{ImportWh: 500}, Reading{Missing: true}
	hid, _ := Settle(c, DefaultSlash())
	if hid.NetDeltaWh != 450 {
		t.Fatalf("withholding the bad interval: %d", hid.NetDeltaWh)
	}
}

// TestSettleProofCap: with ProvenWh, the window's delivery is the smaller
// of the baseline's net and the proof's net, then the guard as before.
// Baseline 0 (an idle battery), discharge 1000 Wh per interval for 3
// hours, of which the site exported 400, 1000 and 300 Wh: the baseline
// credits 3000 Wh, the proof 1700 Wh; a 500 Wh draw in the guard nets it
// to 1200 Wh. The guard's own ProvenWh is not used.
func TestSettleProofCap(t *testing.T) {
	com := Commitment{
		Direction: Down, IntervalSeconds: 3600, CommittedW: 1000, GuardIntervals: 1,
		BaselineWh:           []int64{0, 0, 0, 0},
		Actual:               []Reading{{ImportWh: 500}, {ExportWh: 1000}, {ExportWh: 1000}, {ExportWh: 1000}},
		ProvenWh:             []int64{-9999, 400, 1000, 300},
		PriceBaseUnitsPerKWh: 100_000, PayoutCapPPM: PPM, BondBaseUnits: 1_000_000,
	}
	s, err := Settle(com, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "proven", ivField(s, func(iv IntervalSettlement) int64 { return iv.ProvenWh }), []int64{0, 400, 1000, 300})
	if !s.Proven || s.NetDeltaWh != 3000 || s.ProvenNetWh != 1700 || s.GuardNetWh != -500 || s.DeliveredWh != 1200 ||
		s.PerformancePPM != 400_000 || s.PaidWh != 1200 || s.PayoutBaseUnits != 120_000 || s.SlashBaseUnits != 200_000 {
		t.Fatalf("settlement %+v", s)
	}
	// The proof above the baseline's net: the baseline's net is paid.
	com.ProvenWh = []int64{0, 2000, 2000, 2000}
	if s, err = Settle(com, DefaultSlash()); err != nil || s.ProvenNetWh != 6000 || s.DeliveredWh != 2500 {
		t.Fatalf("proof above the baseline: %+v, %v", s, err)
	}
	// A missing window reading proves what the missing rule gives it.
	com.Actual[2], com.PenalizeMissing = Reading{Missing: true}, true
	if s, err = Settle(com, DefaultSlash()); err != nil || s.Intervals[2].ProvenWh != -1000 || s.ProvenNetWh != 3000 ||
		s.NetDeltaWh != 1000 || s.DeliveredWh != 500 {
		t.Fatalf("missing reading: %+v, %v", s, err)
	}
	// A proof of the wrong length is an input error.
	com.ProvenWh = com.ProvenWh[1:]
	if _, err = Settle(com, DefaultSlash()); !errors.Is(err, ErrInput) {
		t.Fatalf("short proof: %v", err)
	}
}

// TestBatteryProvenWh: the bound in each case its doc comment derives.
func TestBatteryProvenWh(t *testing.T) {
	for _, c := range []struct {
		name                  string
		dir                   Direction
		imp, exp, batt, proof int64
	}{
		{"down, deficit: export counts", Down, 0, 400, -1000, 400},
		{"down, deficit not covered: negative", Down, 200, 0, -1000, -200},
		{"down, surplus: the discharge counts", Down, 0, 1500, -1000, 1000},
		{"down, battery charging", Down, 0, 300, 200, -200},
		{"up, surplus: import counts", Up, 300, 0, 1000, 300},
		{"up, surplus not absorbed: negative", Up, 0, 200, 1000, -200},
		{"up, deficit: the charge counts", Up, 1500, 0, 1000, 1000},
		{"up, battery discharging", Up, 100, 0, -400, -400},
	} {
		if got := BatteryProvenWh(c.dir, c.imp, c.exp, c.batt); got != c.proof {
			t.Errorf("%s: %d, want %d", c.name, got, c.proof)
		}
	}
}
