package baseline

import (
	"errors"
	"testing"
)

// Settlement worked example, continuing the CAISO example (baseline 2276,
// 2487, 2599, 2387 Wh, hourly). The site committed 1 kW down (1000 W ×
// 3600 s / 3600 = 1000 Wh per interval, 4000 Wh in all) at 0.25 FLX/kWh
// (250000 base units per kWh) with a 2 FLX bond.
//
//	hour | baseline | import export actual | delivered
//	14h  |   2276   |  1500     0    1500  |   776
//	15h  |   2487   |  1700   400    1300  |  1187
//	16h  |   2599   |  1800     0    1800  |   799
//	17h  |   2387   |  2500     0    2500  |     0 (floored at 0, not −113)
//
// Delivered 2762 Wh; performance ⌊2762·10^6/4000⌋ = 690500 ppm; paid
// min(2762, 4000) = 2762 Wh; payout ⌊250000·2762/1000⌋ = 690500 base units
// (0.6905 FLX); 69 % ≥ 50 %: no slash.
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
	var del []int64
	for _, iv := range s.Intervals {
		del = append(del, iv.DeliveredWh)
	}
	eqInts(t, "delivered", del, []int64{776, 1187, 799, 0})
	if s.Status != Settled || s.CommittedWhPerInterval != 1000 || s.CommittedWh != 4000 || s.DeliveredWh != 2762 ||
		s.PerformancePPM != 690500 || s.CapWh != 4000 || s.PaidWh != 2762 || s.ClaimBaseUnits != 690500 ||
		s.PayoutBaseUnits != 690500 || s.SlashBaseUnits != 0 || s.BondReturnedBaseUnits != 2_000_000 {
		t.Fatalf("settlement %+v", s)
	}

	// Under-delivery with a missing reading: delivered 76 + 87 + 0 + 0
	// (missing) = 163 Wh; performance ⌊163·10^6/4000⌋ = 40750 ppm;
	// shortfall 500000 − 40750 = 459250 ppm; slash
	// ⌊2000000·459250·10^6/(500000·10^6)⌋ = 1837000; payout
	// ⌊250000·163/1000⌋ = 40750.
	com.Actual = []Reading{{ImportWh: 2200}, {ImportWh: 2400}, {ImportWh: 2600}, {Missing: true}}
	s, err = Settle(com, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	if s.DeliveredWh != 163 || s.PerformancePPM != 40750 || s.ShortfallPPM != 459250 ||
		s.SlashBaseUnits != 1_837_000 || s.BondReturnedBaseUnits != 163_000 || s.PayoutBaseUnits != 40750 {
		t.Fatalf("under-delivery %+v", s)
	}

	// Over-delivery is paid up to the cap: 1.2 × 4000 = 4800 Wh.
	com.Actual = []Reading{{ExportWh: 3000}, {ExportWh: 3000}, {}, {}}
	com.PayoutCapPPM = 1_200_000
	s, _ = Settle(com, DefaultSlash())
	// delivered 5276 + 5487 + 2599 + 2387 = 15749 Wh
	if s.DeliveredWh != 15749 || s.PerformancePPM != 3937250 || s.CapWh != 4800 || s.PaidWh != 4800 || s.PayoutBaseUnits != 1_200_000 {
		t.Fatalf("over-delivery %+v", s)
	}

	// Up: more net import is the delivery.
	com = Commitment{Direction: Up, IntervalSeconds: 900, CommittedW: 2000, BaselineWh: []int64{-300, 100},
		Actual: []Reading{{ImportWh: 400}, {ImportWh: 50}}, PriceBaseUnitsPerKWh: 100_000, PayoutCapPPM: PPM}
	s, _ = Settle(com, DefaultSlash())
	// committed ⌊2000·900/3600⌋ = 500 Wh/interval; delivered 700 + 0.
	if s.DeliveredWh != 700 || s.CommittedWh != 1000 || s.PerformancePPM != 700000 || s.PayoutBaseUnits != 70000 {
		t.Fatalf("up %+v", s)
	}
}

// The NoBaseline rule: nothing delivered, paid or slashed.
func TestSettleNoBaseline(t *testing.T) {
	s, err := Settle(Commitment{Direction: Down, IntervalSeconds: 900, CommittedW: 3000, NoBaseline: true,
		Actual: []Reading{{ImportWh: 10}, {Missing: true}}, PriceBaseUnitsPerKWh: 1, PayoutCapPPM: PPM,
		BondBaseUnits: 5_000_000}, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != NoBaseline || s.DeliveredWh != 0 || s.PayoutBaseUnits != 0 || s.SlashBaseUnits != 0 ||
		s.BondReturnedBaseUnits != 5_000_000 || len(s.Intervals) != 2 {
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
	}
	for i, f := range bad {
		c := ok
		f(&c)
		if _, err := Settle(c, DefaultSlash()); !errors.Is(err, ErrInput) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if _, err := Settle(ok, SlashSchedule{}); !errors.Is(err, ErrInput) {
		t.Errorf("zero schedule accepted")
	}
}
