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

// randGuarded is randCommitment with a random pre-event guard and missing
// rule.
func randGuarded(rng *rand.Rand) Commitment {
	c := randCommitment(rng)
	c.GuardIntervals = rng.IntN(len(c.Actual))
	c.PenalizeMissing = rng.IntN(2) == 0
	return c
}

// The pre-event guard only ever lowers delivery: settling the same
// commitment without its guard intervals delivers at least as much, and
// DeliveredWh = max(0, NetDeltaWh + min(0, GuardNetWh)) exactly.
func TestPropertyGuardNeverPays(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 9))
	for it := range 3000 {
		c := randGuarded(rng)
		s, err := Settle(c, DefaultSlash())
		if err != nil {
			t.Fatalf("it %d: %v", it, err)
		}
		w := c
		g := c.GuardIntervals
		w.GuardIntervals, w.Actual = 0, c.Actual[g:]
		if !c.NoBaseline {
			w.BaselineWh = c.BaselineWh[g:]
		}
		ws, err := Settle(w, DefaultSlash())
		if err != nil {
			t.Fatalf("it %d: window only: %v", it, err)
		}
		if s.DeliveredWh > ws.DeliveredWh || s.NetDeltaWh != ws.NetDeltaWh || s.CommittedWh != ws.CommittedWh {
			t.Fatalf("it %d: with guard %+v, without %+v", it, s, ws)
		}
		if want := max(0, s.NetDeltaWh+min(0, s.GuardNetWh)); s.DeliveredWh != want {
			t.Fatalf("it %d: delivered %d, want %d", it, s.DeliveredWh, want)
		}
	}
}

// The proof cap only ever lowers delivery, and never pays beyond the
// proof: with random ProvenWh, DeliveredWh ≤ the same settlement without
// it, DeliveredWh ≤ max(0, ProvenNetWh), and DeliveredWh = max(0,
// min(NetDeltaWh, ProvenNetWh) + min(0, GuardNetWh)) exactly.
func TestPropertyProofCap(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 10))
	for it := range 3000 {
		c := randGuarded(rng)
		plain, err := Settle(c, DefaultSlash())
		if err != nil {
			t.Fatalf("it %d: %v", it, err)
		}
		c.ProvenWh = make([]int64, len(c.Actual))
		for k := range c.ProvenWh {
			c.ProvenWh[k] = rng.Int64N(4001) - 1000
		}
		s, err := Settle(c, DefaultSlash())
		if err != nil {
			t.Fatalf("it %d: %v", it, err)
		}
		if s.NetDeltaWh != plain.NetDeltaWh || s.GuardNetWh != plain.GuardNetWh || s.DeliveredWh > plain.DeliveredWh ||
			s.PayoutBaseUnits > plain.PayoutBaseUnits {
			t.Fatalf("it %d: with proof %+v, without %+v", it, s, plain)
		}
		if c.NoBaseline {
			if s.DeliveredWh != 0 || s.Proven {
				t.Fatalf("it %d: no baseline but %+v", it, s)
			}
			continue
		}
		if want := max(0, min(s.NetDeltaWh, s.ProvenNetWh)+min(0, s.GuardNetWh)); !s.Proven || s.DeliveredWh != want ||
			s.DeliveredWh > max(0, s.ProvenNetWh) {
			t.Fatalf("it %d: delivered %d, want %d (proof %d)", it, s.DeliveredWh, want, s.ProvenNetWh)
		}
	}
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
			cs[k] = randGuarded(rng)
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

// Settle's netting rule, on random commitments: each DeltaWh is the signed
// baseline − actual (down) or actual − baseline (up), 0 when missing or
// without a baseline; NetDeltaWh is their sum and DeliveredWh = max(0,
// NetDeltaWh). Hence a down and an up request on the same readings have
// opposite nets and at most one of them delivers; netting never credits
// more than the per-interval floor Σ max(0, DeltaWh) it replaced; and a
// reading that goes missing moves the net by exactly −DeltaWh.
func TestPropertyNetting(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 5))
	var negNets, cancelled int
	for it := range 3000 {
		c := randCommitment(rng)
		if rng.IntN(3) == 0 { // baselines near the readings, so nets of both signs are common
			for k := range c.BaselineWh {
				c.BaselineWh[k] = c.Actual[k].ImportWh - c.Actual[k].ExportWh + rng.Int64N(1001) - 500
			}
		}
		var st [2]Settlement
		for i, dir := range []Direction{Down, Up} {
			c.Direction = dir
			s, err := Settle(c, DefaultSlash())
			if err != nil {
				t.Fatalf("seed %d it %d: %v", propSeed, it, err)
			}
			var net, floored int64
			for k, iv := range s.Intervals {
				var want int64
				if !c.NoBaseline && !c.Actual[k].Missing {
					want = c.BaselineWh[k] - (c.Actual[k].ImportWh - c.Actual[k].ExportWh)
					if dir == Up {
						want = -want
					}
				}
				if iv.DeltaWh != want || iv.Missing != c.Actual[k].Missing {
					t.Fatalf("it %d %v interval %d: delta %d, want %d (%+v)", it, dir, k, iv.DeltaWh, want, iv)
				}
				net += iv.DeltaWh
				floored += max(0, iv.DeltaWh)
			}
			if s.NetDeltaWh != net || s.DeliveredWh != max(0, net) || s.DeliveredWh > floored {
				t.Fatalf("it %d %v: net %d delivered %d, want net %d (floored %d)", it, dir, s.NetDeltaWh, s.DeliveredWh, net, floored)
			}
			if s.DeliveredWh < floored {
				cancelled++
			}
			st[i] = s
		}
		if st[0].NetDeltaWh != -st[1].NetDeltaWh || min(st[0].DeliveredWh, st[1].DeliveredWh) != 0 {
			t.Fatalf("it %d: down net %d delivered %d, up net %d delivered %d", it,
				st[0].NetDeltaWh, st[0].DeliveredWh, st[1].NetDeltaWh, st[1].DeliveredWh)
		}
		if st[0].NetDeltaWh < 0 {
			negNets++
		}
		// Drop one present reading: the net loses exactly its delta.
		k := rng.IntN(len(c.Actual))
		if c.NoBaseline || c.Actual[k].Missing {
			continue
		}
		c.Direction = Down
		c.Actual = append([]Reading(nil), c.Actual...)
		c.Actual[k].Missing = true
		s, err := Settle(c, DefaultSlash())
		if err != nil {
			t.Fatal(err)
		}
		if s.NetDeltaWh != st[0].NetDeltaWh-st[0].Intervals[k].DeltaWh || s.Intervals[k].DeltaWh != 0 {
			t.Fatalf("it %d: dropping interval %d moved the net from %d to %d (delta %d)", it, k,
				st[0].NetDeltaWh, s.NetDeltaWh, st[0].Intervals[k].DeltaWh)
		}
	}
	if negNets < 300 || cancelled < 300 {
		t.Errorf("negative nets %d, cancellations %d of 3000: the property barely ran", negNets, cancelled)
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
// method's doc comment states. Per interval the baseline is within ±b_k of
// the reading; Settle nets the signed deltas, so the home is credited
// max(0, Σ_k delta_k) ≤ Σ_k b_k, in at most one direction. That worst case
// is reached (TestNettingNoise), so the bound stays Σ_k b_k; what netting
// changes is the typical case: here the noise is independent and centred,
// and the test also checks, over all its settlements, that the netted
// credit is well below what the old per-interval floor Σ_k max(0, delta_k)
// paid on the same readings.
func TestPropertyNoChangeNoPay(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 2))
	var nX, nXadj, nH, nHadj, nMB int
	var netTotal, flooredTotal int64
	defer func() {
		t.Logf("x-of-y %d (%d adjusted), high-x-of-y %d (%d adjusted), meter-before %d of 120", nX, nXadj, nH, nHadj, nMB)
		t.Logf("credited in all: netted %d Wh, per-interval floor %d Wh", netTotal, flooredTotal)
		if nX < 40 || nXadj < 10 || nH < 40 || nHadj < 10 || nMB < 10 {
			t.Errorf("the property barely exercised the methods")
		}
		// A fixed-seed statistic, not a bound: with centred noise the net
		// of m deltas spreads like √m, their positive parts add up like m
		// (seeds 1–8 and this one give ratios of 0.39–0.48; the adjusted
		// methods' common bias does not cancel). A rule that floored per
		// interval again would give 1.
		if netTotal*5 > flooredTotal*3 {
			t.Errorf("netting credited %d Wh, more than 3/5 of the per-interval floor's %d Wh", netTotal, flooredTotal)
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
			var sumBound, net, floorDown, floorUp int64
			for k, b := range r.BaselineWh {
				lim := bound(k)
				sumBound += lim
				d := b - actual[k].ImportWh // the down delta; up is −d
				if absI(d) > lim {
					t.Fatalf("seed %d it %d %s: interval %d |%d − %d| = %d > bound %d (N %d, adj %+v)",
						propSeed, it, name, k, b, actual[k].ImportWh, absI(d), lim, N, r.Adjustment)
				}
				net += d
				floorDown += max(0, d)
				floorUp += max(0, -d)
			}
			var delivered [2]int64
			for i, dir := range []Direction{Down, Up} {
				st, err := Settle(Commitment{Direction: dir, IntervalSeconds: 900, CommittedW: 4000, BaselineWh: r.BaselineWh,
					Actual: actual, PriceBaseUnitsPerKWh: 1_000_000, PayoutCapPPM: 10 * PPM}, DefaultSlash())
				if err != nil {
					t.Fatal(err)
				}
				want := net
				if dir == Up {
					want = -net
				}
				if st.NetDeltaWh != want || st.DeliveredWh != max(0, want) {
					t.Fatalf("it %d %s %v: net %d delivered %d, want net %d", it, name, dir, st.NetDeltaWh, st.DeliveredWh, want)
				}
				if st.DeliveredWh > sumBound || st.PayoutBaseUnits > uint64(sumBound)*1000 {
					t.Fatalf("it %d %s %v: delivered %d beyond noise bound %d", it, name, dir, st.DeliveredWh, sumBound)
				}
				delivered[i] = st.DeliveredWh
			}
			if min(delivered[0], delivered[1]) != 0 {
				t.Fatalf("it %d %s: paid both down (%d Wh) and up (%d Wh)", it, name, delivered[0], delivered[1])
			}
			netTotal += delivered[0] + delivered[1]
			flooredTotal += floorDown + floorUp
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

// The netted noise bound, worked: a flat 1000 Wh home, hourly, event
// Monday (relative day 28) 14:00–22:00, posted the day before (no day-of
// adjustment), 10-in-10 baseline. Noise is at most N = 50 Wh, so each
// interval's bound is b = 2N + 1 = 101 Wh and the event's m·b = 808 Wh.
func TestNettingNoise(t *testing.T) {
	c := exCalendar(t)
	run := func(histWh int64, event ...int64) (Settlement, int64) {
		t.Helper()
		h := newHist(24, 29, histWh)
		h.set(28, 14, event...)
		ev := Event{Start: h.iv(28, 14), End: h.iv(28, 22), Posted: h.iv(27, 12)}
		r, err := XofY(h.s, ev, c, DefaultXofY())
		if err != nil {
			t.Fatal(err)
		}
		actual := netOnly(event)
		st, err := Settle(Commitment{Direction: Down, IntervalSeconds: 3600, CommittedW: 1000, BaselineWh: r.BaselineWh,
			Actual: actual, PriceBaseUnitsPerKWh: 1, PayoutCapPPM: PPM}, DefaultSlash())
		if err != nil {
			t.Fatal(err)
		}
		var floored int64
		for _, iv := range st.Intervals {
			floored += max(0, iv.DeltaWh)
		}
		return st, floored
	}
	// Centred noise: history exactly 1000, event day alternating 950 and
	// 1050. Baseline 1000; deltas +50, −50, … net 0: nothing is paid. The
	// per-interval floor paid 4 × 50 = 200 Wh for it.
	st, floored := run(1000, 950, 1050, 950, 1050, 950, 1050, 950, 1050)
	if st.NetDeltaWh != 0 || st.DeliveredWh != 0 || floored != 200 {
		t.Fatalf("centred noise: net %d delivered %d floored %d", st.NetDeltaWh, st.DeliveredWh, floored)
	}
	// Noise leaning one way all event: history at 1000 + N = 1050, the
	// event day at 1000 − N = 950. Baseline 1050, every delta +100 = 2N,
	// net 8 × 100 = 800 Wh ≤ m·b = 808: the worst case survives netting,
	// which is why the documented bound is still Σ_k b_k.
	st, floored = run(1050, 950, 950, 950, 950, 950, 950, 950, 950)
	if st.NetDeltaWh != 800 || st.DeliveredWh != 800 || floored != 800 {
		t.Fatalf("one-sided noise: net %d delivered %d floored %d", st.NetDeltaWh, st.DeliveredWh, floored)
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

// With ForfeitMissing, withholding readings never pays: for random
// commitments and random withheld subsets of their readings, the claim is
// never greater and the slash never smaller than with every reading, and
// any withheld reading forfeits (claim 0, slash as at zero performance).
// Under PenalizeMissing alone the same draw finds pairs where withholding
// pays (the rule ForfeitMissing replaced).
func TestPropertyForfeitMissingNeverPays(t *testing.T) {
	rng := rand.New(rand.NewPCG(propSeed, 17))
	penalizePays := 0
	for it := range 3000 {
		c := randGuarded(rng)
		for k := range c.Actual {
			c.Actual[k].Missing = false
		}
		c.NoBaseline = false
		all := c
		all.ForfeitMissing = true
		sent, err := Settle(all, DefaultSlash())
		if err != nil {
			t.Fatalf("it %d: %v", it, err)
		}
		held := all
		held.Actual = append([]Reading(nil), c.Actual...)
		held.Actual[rng.IntN(len(held.Actual))].Missing = true
		for k := range held.Actual {
			held.Actual[k].Missing = held.Actual[k].Missing || rng.IntN(4) == 0
		}
		hs, err := Settle(held, DefaultSlash())
		if err != nil {
			t.Fatalf("it %d: %v", it, err)
		}
		if hs.Status != Forfeited || hs.ClaimBaseUnits != 0 || hs.ClaimBaseUnits > sent.ClaimBaseUnits ||
			hs.SlashBaseUnits < sent.SlashBaseUnits || !hs.Reason.Forfeits() {
			t.Fatalf("it %d: all sent %+v, withheld %+v", it, sent, hs)
		}
		pen := held
		pen.ForfeitMissing, pen.PenalizeMissing = false, true
		ps, err := Settle(pen, DefaultSlash())
		if err != nil {
			t.Fatalf("it %d: %v", it, err)
		}
		penalizePays += b2i(ps.ClaimBaseUnits > sent.ClaimBaseUnits)
	}
	if penalizePays == 0 {
		t.Fatal("the draw never finds a pair where PenalizeMissing pays for withholding: it tests nothing")
	}
	t.Logf("PenalizeMissing alone paid for withholding in %d of 3000 pairs", penalizePays)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
