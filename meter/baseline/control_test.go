package baseline

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestControlEstimateWorked: the trimmed mean by hand.
func TestControlEstimateWorked(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		est  int64
		used int
		ok   bool
	}{
		{nil, 0, 0, false},
		{[]int64{5, 7}, 0, 0, false},                           // below MinControlSites
		{[]int64{9, -800, 3}, 3, 1, true},                      // n = 3: the median
		{[]int64{1, 2, 3, 1000}, 2, 2, true},                   // t = 1: ⌊(2+3)/2⌋
		{[]int64{-1, -2, -3, -1000}, -3, 2, true},              // ⌊−5/2⌋ = −3, toward −∞
		{[]int64{10, 20, 30, 40, 50, 60, 70, 80}, 45, 4, true}, // t = 2: (30+40+50+60)/4
		{[]int64{math.MinInt64, 0, 0, 0, math.MaxInt64}, 0, 3, true},
	} {
		in := slices.Clone(tc.in)
		est, used, ok, err := ControlEstimate(tc.in)
		if err != nil || est != tc.est || used != tc.used || ok != tc.ok {
			t.Errorf("%v: %d %d %v %v, want %d %d %v", tc.in, est, used, ok, err, tc.est, tc.used, tc.ok)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("input modified")
		}
	}
	// Kept values whose sum overflows: an error, not a wrapped estimate.
	if _, _, _, err := ControlEstimate([]int64{math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64}); !errors.Is(err, ErrOverflow) {
		t.Fatal("overflow accepted")
	}
}

// TestPropertyControlEstimateRobust: a few control sites cannot move the
// estimate much. For 5,000 random control groups of 3–200 honest placebos
// (a shared event error plus each home's noise), up to t = max(1, ⌊n/4⌋)
// of them are replaced by any values an adversary likes (huge, tiny, all on
// one side); the estimate stays within the honest placebos' own order
// statistics h[t−k] … h[m−1−(t−k)] (m honest, k replaced), so it never
// leaves the honest range, and moves from the all-honest estimate by at
// most the spread between those statistics.
func TestPropertyControlEstimateRobust(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 1702))
	for trial := 0; trial < 5000; trial++ {
		n := MinControlSites + rng.IntN(198)
		shared := rng.Int64N(4001) - 2000
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = shared + rng.Int64N(1201) - 600
		}
		tr := max(1, n/4)
		k := 1 + rng.IntN(tr)
		honest := slices.Clone(vals[k:])
		slices.Sort(honest)
		m := len(honest)
		before, _, _, _ := ControlEstimate(vals)
		attack := slices.Clone(vals)
		for i := 0; i < k; i++ {
			switch rng.IntN(4) {
			case 0:
				attack[i] = math.MaxInt64 / int64(n+1)
			case 1:
				attack[i] = math.MinInt64 / int64(n+1)
			case 2:
				attack[i] = shared - 1_000_000
			default:
				attack[i] = rng.Int64N(2_000_001) - 1_000_000
			}
		}
		est, _, ok, err := ControlEstimate(attack)
		if err != nil || !ok {
			t.Fatalf("trial %d: %v", trial, err)
		}
		lo, hi := honest[tr-k], honest[m-1-(tr-k)]
		if est < lo || est > hi {
			t.Fatalf("trial %d: n %d, %d replaced: estimate %d outside the honest [%d, %d]", trial, n, k, est, lo, hi)
		}
		if d := est - before; d < -(hi-lo) || d > hi-lo {
			t.Fatalf("trial %d: moved %d, spread %d", trial, d, hi-lo)
		}
	}
}

// TestControlSplitCounts: ⌊n · share⌋ control, ties to the lower index,
// and a bad share refused.
func TestControlSplitCounts(t *testing.T) {
	rank := make([][32]byte, 10)
	for i := range rank {
		rank[i][0] = byte(10 - i) // the last has the lowest rank
	}
	got, err := ControlSplit(rank, 250_000)
	if err != nil || !slices.Equal(got, []bool{false, false, false, false, false, false, false, false, true, true}) {
		t.Fatalf("%v %v", got, err)
	}
	same := make([][32]byte, 4)
	if got, _ := ControlSplit(same, 500_000); !slices.Equal(got, []bool{true, true, false, false}) {
		t.Fatalf("ties: %v", got)
	}
	for _, bad := range []int64{-1, PPM + 1} {
		if _, err := ControlSplit(rank, bad); !errors.Is(err, ErrInput) {
			t.Fatalf("share %d: %v", bad, err)
		}
	}
}

// TestSettleControlRule: a control commitment's placebo is computed, it is
// paid its participation payment whatever its readings, nothing is
// slashed; a missing reading still forfeits it. A dispatched commitment's
// correction is subtracted before the floor.
func TestSettleControlRule(t *testing.T) {
	base := func() Commitment {
		return Commitment{Direction: Down, IntervalSeconds: 3600, CommittedW: 1000,
			BaselineWh: []int64{1000, 1000}, Actual: []Reading{{ImportWh: 1300}, {ImportWh: 1100}},
			PriceBaseUnitsPerKWh: 100_000, PayoutCapPPM: PPM, BondBaseUnits: 50_000}
	}
	c := base()
	c.Control, c.ControlPayBaseUnits = true, 40_000
	s, err := Settle(c, DefaultSlash())
	if err != nil || s.Status != Control || s.NetDeltaWh != -400 || s.DeliveredWh != 0 || s.PayoutBaseUnits != 40_000 ||
		s.SlashBaseUnits != 0 || s.BondReturnedBaseUnits != 50_000 || s.PerformancePPM != 0 {
		t.Fatalf("control: %+v %v", s, err)
	}
	c.Actual[0] = Reading{ImportWh: 0} // the readings do not change the payment
	if s2, _ := Settle(c, DefaultSlash()); s2.PayoutBaseUnits != 40_000 || s2.Status != Control {
		t.Fatalf("control with other readings: %+v", s2)
	}
	c.Actual[1].Missing, c.ForfeitMissing = true, true
	if s3, _ := Settle(c, DefaultSlash()); s3.Status != Forfeited || s3.PayoutBaseUnits != 0 || s3.SlashBaseUnits != 50_000 {
		t.Fatalf("control with a missing reading: %+v", s3)
	}
	d := base()
	d.CorrectionWh = -400 // the control group says the baseline is 400 Wh low
	s4, err := Settle(d, DefaultSlash())
	if err != nil || s4.NetDeltaWh != -400 || s4.CorrectionWh != -400 || s4.DeliveredWh != 0 {
		t.Fatalf("dispatched, no response: %+v %v", s4, err)
	}
	d.Actual = []Reading{{ImportWh: 800}, {ImportWh: 800}} // 1300+1100 → 1600: 800 Wh delivered
	if s5, _ := Settle(d, DefaultSlash()); s5.NetDeltaWh != 400 || s5.DeliveredWh != 800 || s5.PayoutBaseUnits != 80_000 {
		t.Fatalf("dispatched, responding: %+v", s5)
	}
	for name, bad := range map[string]func(*Commitment){
		"control with a correction":  func(c *Commitment) { c.Control, c.CorrectionWh = true, 1 },
		"participation, not control": func(c *Commitment) { c.ControlPayBaseUnits = 1 },
	} {
		x := base()
		bad(&x)
		if _, err := Settle(x, DefaultSlash()); !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
