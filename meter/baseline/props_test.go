package baseline

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
)

// Property tests. Each draws from a fixed seed (math/rand/v2 PCG), so a
// failure reproduces exactly; the seed and iteration are in the message.

const propSeed = 20261123

func randCommitment(rng *rand.Rand) Commitment {
	n := 1 + rng.IntN(16)
	c := Commitment{
		Direction:            Direction(1 + rng.IntN(2)),
		IntervalSeconds:      []int64{300, 900, 3600}[rng.IntN(3)],
		CommittedW:           1000 + rng.Int64N(50_000),
		PriceBaseUnitsPerKWh: rng.Uint64N(1 << 40),
		PayoutCapPPM:         rng.Int64N(2 * PPM),
		BondBaseUnits:        rng.Uint64N(1 << 50),
		NoBaseline:           rng.IntN(10) == 0,
	}
	for range n {
		c.BaselineWh = append(c.BaselineWh, rng.Int64N(20_000)-2000)
		c.Actual = append(c.Actual, Reading{ImportWh: rng.Int64N(20_000), ExportWh: rng.Int64N(3000), Missing: rng.IntN(20) == 0})
	}
	return c
}

// Payouts never exceed the escrow, each payout never exceeds its claim, a
// slash never exceeds its bond, and nothing is created or lost:
// payouts + refund + slashes + bonds returned = escrow + bonds.
func TestPropertyEscrowConservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 1))
	for it := range 3000 {
		var escrow uint64
		switch rng.IntN(3) {
		case 0:
			escrow = rng.Uint64N(1000)
		case 1:
			escrow = rng.Uint64N(1 << 40)
		default:
			escrow = rng.Uint64() >> 1
		}
		cs := make([]Commitment, rng.IntN(9))
		for k := range cs {
			cs[k] = randCommitment(rng)
		}
		sched := SlashSchedule{ThresholdPPM: 1 + rng.Int64N(PPM), MaxSlashPPM: rng.Int64N(PPM + 1)}
		rs, err := SettleRequest(escrow, cs, sched)
		if err != nil {
			t.Fatalf("seed %d it %d: %v", propSeed, it, err)
		}
		if rs.PayoutsBaseUnits > escrow {
			t.Fatalf("it %d: payouts %d > escrow %d", it, rs.PayoutsBaseUnits, escrow)
		}
		lhs, rhs := new(big.Int), new(big.Int).SetUint64(escrow)
		var sumPay uint64
		for k, s := range rs.Commitments {
			if s.PayoutBaseUnits > s.ClaimBaseUnits || s.SlashBaseUnits > s.BondBaseUnits {
				t.Fatalf("it %d commitment %d: %+v", it, k, s)
			}
			if s.Status == NoBaseline && (s.PayoutBaseUnits != 0 || s.SlashBaseUnits != 0) {
				t.Fatalf("it %d commitment %d: no-baseline paid or slashed", it, k)
			}
			if s.PaidWh > s.DeliveredWh || s.PaidWh > s.CapWh {
				t.Fatalf("it %d commitment %d: paid %d Wh", it, k, s.PaidWh)
			}
			sumPay += s.PayoutBaseUnits
			lhs.Add(lhs, new(big.Int).SetUint64(s.PayoutBaseUnits))
			lhs.Add(lhs, new(big.Int).SetUint64(s.SlashBaseUnits))
			lhs.Add(lhs, new(big.Int).SetUint64(s.BondReturnedBaseUnits))
			rhs.Add(rhs, new(big.Int).SetUint64(cs[k].BondBaseUnits))
		}
		lhs.Add(lhs, new(big.Int).SetUint64(rs.RefundBaseUnits))
		if lhs.Cmp(rhs) != 0 || sumPay != rs.PayoutsBaseUnits {
			t.Fatalf("it %d: out %s != in %s", it, lhs, rhs)
		}
		if rs.PayoutsBaseUnits+rs.RefundBaseUnits+rs.SlashedBaseUnits+rs.BondsReturnedBaseUnits-rs.BondsBaseUnits != escrow {
			t.Fatalf("it %d: totals do not balance: %+v", it, rs)
		}
	}
}

// site draws a home whose load is a fixed daily profile p plus uniform
// noise in [−noise, noise] Wh, on a 15-minute calendar with a random UTC
// offset and random holidays.
type site struct {
	cal   Calendar
	h     *hist
	p     []int64
	noise int64
}

func newSite(rng *rand.Rand, days int64) site {
	offset := int64(rng.IntN(25)-12) * 3600
	// Genesis at local midnight of day 20000 (2024-10-04), so day 0 of the
	// series is Calendar day 20000.
	c := Calendar{GenesisUnix: 20000*secondsPerDay - offset, IntervalSeconds: 900, UTCOffsetSeconds: offset}
	for d := int64(20000); d < 20000+days; d++ {
		if rng.IntN(15) == 0 {
			c.Holidays = append(c.Holidays, d)
		}
	}
	s := site{cal: c, h: newHist(96, days, 0), noise: rng.Int64N(150)}
	s.p = make([]int64, 96)
	base := 100 + rng.Int64N(1500)
	for k := range s.p {
		s.p[k] = base + rng.Int64N(base)
	}
	for d := range days {
		for k := range int64(96) {
			s.h.set(d, k, s.p[k]+rng.Int64N(2*s.noise+1)-s.noise)
		}
	}
	return s
}

func absI(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// A home that changes nothing is paid nothing beyond the noise bound each
// method's doc comment states.
func TestPropertyNoChangeNoPay(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 2))
	var nX, nXadj, nH, nHadj, nMB int
	defer func() {
		t.Logf("x-of-y %d (%d adjusted), high-x-of-y %d (%d adjusted), meter-before %d of 120", nX, nXadj, nH, nHadj, nMB)
		if nX < 40 || nXadj < 10 || nH < 40 || nHadj < 10 || nMB < 10 {
			t.Errorf("the property barely exercised the methods")
		}
	}()
	for it := range 120 {
		s := newSite(rng, 60)
		evDay := int64(50 + rng.IntN(9))
		start := s.h.iv(evDay, int64(20+rng.IntN(60)))
		end := start + 1 + rng.Int64N(16)
		posted := start // real-time: the day-of adjustment and meter-before apply
		if rng.IntN(2) == 0 {
			posted = s.h.iv(evDay-1, int64(rng.IntN(96)))
		}
		ev := Event{Start: start, End: end, Posted: posted}
		var pmax int64
		for _, v := range s.p {
			pmax = max(pmax, v)
		}
		N := s.noise
		actual := make([]Reading, end-start)
		for k := range actual {
			actual[k].ImportWh = s.h.s.Wh[start+int64(k)]
		}

		check := func(name string, r Result, bound func(k int) int64) {
			var sumBound int64
			for k, b := range r.BaselineWh {
				lim := bound(k)
				sumBound += lim
				if d := absI(b - actual[k].ImportWh); d > lim {
					t.Fatalf("seed %d it %d %s: interval %d |%d − %d| = %d > bound %d (N %d, adj %+v)",
						propSeed, it, name, k, b, actual[k].ImportWh, d, lim, N, r.Adjustment)
				}
			}
			for _, dir := range []Direction{Down, Up} {
				st, err := Settle(Commitment{Direction: dir, IntervalSeconds: 900, CommittedW: 4000, BaselineWh: r.BaselineWh,
					Actual: actual, PriceBaseUnitsPerKWh: 1_000_000, PayoutCapPPM: 10 * PPM}, DefaultSlash())
				if err != nil {
					t.Fatal(err)
				}
				if st.DeliveredWh > sumBound || st.PayoutBaseUnits > uint64(sumBound)*1000 {
					t.Fatalf("it %d %s %v: delivered %d beyond noise bound %d", it, name, dir, st.DeliveredWh, sumBound)
				}
			}
		}

		if r, err := XofY(s.h.s, ev, s.cal, DefaultXofY()); err == nil {
			nX++
			if r.Adjustment.Applied {
				nXadj++
			}
			dev := absI(r.Adjustment.RatioPPM - PPM)
			check("x-of-y", r, func(int) int64 { return 2*N + 1 + ((pmax+N)*dev+PPM-1)/PPM })
		} else if !errors.Is(err, ErrInsufficientData) {
			t.Fatal(err)
		}
		if r, err := HighXofY(s.h.s, ev, s.cal, DefaultHighXofY()); err == nil {
			nH++
			b := 2*N + 1
			if r.Adjustment.Applied {
				nHadj++
				b = 4*N + 2
			}
			check("high-x-of-y", r, func(int) int64 { return b })
		} else if !errors.Is(err, ErrInsufficientData) {
			t.Fatal(err)
		}
		r, err := DeviceProfile(s.h.s, ev, s.cal, DefaultDevice())
		if err != nil {
			t.Fatal(err)
		}
		if r.Device.Mode == ModeMeterBefore {
			nMB++
			var sp int64
			for i := r.Device.BeforeStart; i < start; i++ {
				sp += s.p[(i%96+96)%96]
			}
			b := r.Device.BeforeIntervals
			check("device meter-before", r, func(k int) int64 {
				pk := s.p[((start+int64(k))%96+96)%96]
				return 2*N + 2 + (absI(sp-b*pk)+b-1)/b
			})
		} else {
			check("device profile", r, func(int) int64 { return 2*N + 1 })
		}
	}
}

// Whatever a home does from the posting on, its baseline does not move
// (default rules of every method).
func TestPropertyNoGaming(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 3))
	ok := 0
	defer func() {
		if ok < 200 {
			t.Errorf("only %d of 300 baselines were built: the property barely ran", ok)
		}
	}()
	for it := range 100 {
		s := newSite(rng, 60)
		evDay := int64(50 + rng.IntN(9))
		start := s.h.iv(evDay, int64(rng.IntN(90)))
		end := start + 1 + rng.Int64N(24)
		posted := start - rng.Int64N(3*96)
		ev := Event{Start: start, End: end, Posted: posted}
		gamed := Series{Wh: append([]int64(nil), s.h.s.Wh...)}
		for i := posted; i < int64(len(gamed.Wh)); i++ {
			gamed.Wh[i] += rng.Int64N(10_000) - 2000
		}
		for _, m := range []struct {
			name string
			f    func(Series) (Result, error)
		}{
			{"x-of-y", func(x Series) (Result, error) { return XofY(x, ev, s.cal, DefaultXofY()) }},
			{"high-x-of-y", func(x Series) (Result, error) { return HighXofY(x, ev, s.cal, DefaultHighXofY()) }},
			{"device", func(x Series) (Result, error) { return DeviceProfile(x, ev, s.cal, DefaultDevice()) }},
		} {
			a, errA := m.f(s.h.s)
			b, errB := m.f(gamed)
			if errA == nil {
				ok++
			}
			if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a.BaselineWh, b.BaselineWh) {
				t.Fatalf("seed %d it %d %s: baseline moved from %v (%v) to %v (%v); posted %d start %d adj %+v",
					propSeed, it, m.name, a.BaselineWh, errA, b.BaselineWh, errB, posted, start, b.Adjustment)
			}
		}
	}
}

// Results are identical under repeated runs, down to every intermediate
// number.
func TestPropertyDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 4))
	for it := range 30 {
		s := newSite(rng, 50)
		start := s.h.iv(48, int64(rng.IntN(80)))
		ev := Event{Start: start, End: start + 8, Posted: start}
		run := func() []any {
			a, e1 := XofY(s.h.s, ev, s.cal, DefaultXofY())
			b, e2 := HighXofY(s.h.s, ev, s.cal, DefaultHighXofY())
			c, e3 := DeviceProfile(s.h.s, ev, s.cal, DefaultDevice())
			var rs RequestSettlement
			var e4 error
			if e1 == nil {
				cs := []Commitment{{Direction: Down, IntervalSeconds: 900, CommittedW: 2000, BaselineWh: a.BaselineWh,
					Actual: make([]Reading, 8), PriceBaseUnitsPerKWh: 123_457, PayoutCapPPM: PPM, BondBaseUnits: 999}}
				rs, e4 = SettleRequest(10_000, cs, DefaultSlash())
			}
			return []any{a, e1, b, e2, c, e3, rs, e4}
		}
		first := run()
		for range 3 {
			if !reflect.DeepEqual(first, run()) {
				t.Fatalf("it %d: results differ between runs", it)
			}
		}
	}
}
