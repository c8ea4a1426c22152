package meter

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

var integGenesis = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newInteg(t testing.TB, kind ChannelKind) *Integrator {
	t.Helper()
	g, err := NewIntegrator(IntegratorConfig{
		Kind: kind, Genesis: integGenesis, Interval: 15 * time.Minute, MaxGap: time.Minute, MaxPowerW: 100_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// at is genesis plus a number of seconds.
func at(s float64) time.Time { return integGenesis.Add(time.Duration(s * float64(time.Second))) }

func mustPower(t *testing.T, g *Integrator, s float64, w int64) []IntervalEnergy {
	t.Helper()
	out, err := g.AddPower(at(s), w)
	if err != nil {
		t.Fatalf("sample at %v s: %v", s, err)
	}
	return out
}

func mustCounter(t *testing.T, g *Integrator, s float64, wh uint64) []IntervalEnergy {
	t.Helper()
	out, err := g.AddCounter(at(s), wh)
	if err != nil {
		t.Fatalf("counter at %v s: %v", s, err)
	}
	return out
}

func TestIntegratorConstantPower(t *testing.T) {
	g := newInteg(t, ChannelPower)
	var got []IntervalEnergy
	for s := 0; s <= 3600; s += 5 {
		got = append(got, mustPower(t, g, float64(s), 1000)...)
	}
	if len(got) != 4 {
		t.Fatalf("%d intervals", len(got))
	}
	for i, e := range got {
		if e.Interval != uint64(i) || e.PosWh != 250 || e.NegWh != 0 || !e.Complete(15*time.Minute) {
			t.Fatalf("interval %d: %+v", i, e)
		}
	}
}

func TestIntegratorBoundarySplit(t *testing.T) {
	// 600 W from 14:30 to 15:30 (interval 0 ends at 15:00): 5 Wh each side.
	g := newInteg(t, ChannelPower)
	mustPower(t, g, 870, 600)
	out := mustPower(t, g, 930, 600)
	if len(out) != 1 || out[0].PosWh != 5 || out[0].Covered != 30*time.Second || out[0].Complete(15*time.Minute) {
		t.Fatalf("%+v", out)
	}
	if out := g.Flush(at(1000)); out != nil {
		t.Fatalf("flushed interval 1 while a sample could still reach it: %+v", out)
	}
	out = g.Flush(at(1900))
	if len(out) != 1 || out[0].Interval != 1 || out[0].PosWh != 5 || out[0].Gaps != 1 || out[0].Covered != 30*time.Second {
		t.Fatalf("flush: %+v", out)
	}
	// A ramp across a boundary is split in proportion to time: 0 → 1200 W
	// over 10 s across the boundary at 900 s is 1.67 Wh, 0.83 to each side.
	g = newInteg(t, ChannelPower)
	mustPower(t, g, 895, 0)
	out = mustPower(t, g, 905, 1200)
	if len(out) != 1 || out[0].PosWh != 0 || g.carryPos != 6_000_000 || g.accPos != 6_000_000 {
		t.Fatalf("%+v carry %d acc %d", out, g.carryPos, g.accPos)
	}
}

func TestIntegratorSignChange(t *testing.T) {
	// Grid power from +1000 W to −1000 W over 10 s: 5 s above zero
	// (2,500 J) and 5 s below (2,500 J).
	g := newInteg(t, ChannelPower)
	mustPower(t, g, 0, 1000)
	mustPower(t, g, 10, -1000)
	if g.accPos != 2500*2000 || g.accNeg != 2500*2000 {
		t.Fatalf("pos %d neg %d units", g.accPos, g.accNeg)
	}
	// Asymmetric: +300 → −100 over 4 s: crossing at 3 s, 450 J up, 50 J down.
	g = newInteg(t, ChannelPower)
	mustPower(t, g, 0, 300)
	mustPower(t, g, 4, -100)
	if g.accPos != 450*2000 || g.accNeg != 50*2000 {
		t.Fatalf("pos %d neg %d units", g.accPos, g.accNeg)
	}
	// And back: −100 → +300.
	mustPower(t, g, 8, 300)
	if g.accPos != 900*2000 || g.accNeg != 100*2000 {
		t.Fatalf("pos %d neg %d units", g.accPos, g.accNeg)
	}
}

func TestIntegratorCarry(t *testing.T) {
	// 1 W for 4 intervals: 0.25 Wh each, reported as 0, 0, 0, 1.
	g := newInteg(t, ChannelPower)
	var got []uint64
	for s := 0; s <= 3600; s += 30 {
		for _, e := range mustPower(t, g, float64(s), 1) {
			got = append(got, e.PosWh)
		}
	}
	if !reflect.DeepEqual(got, []uint64{0, 0, 0, 1}) || g.carryPos != 0 {
		t.Fatalf("%v carry %d", got, g.carryPos)
	}
}

func TestIntegratorCounterReset(t *testing.T) {
	g := newInteg(t, ChannelCounter)
	var got []IntervalEnergy
	v := uint64(5000)
	for s := 0; s <= 1800; s += 30 {
		if s == 300 {
			v = 7 // reset
		} else {
			v += 10
		}
		got = append(got, mustCounter(t, g, float64(s), v)...)
	}
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	// Interval 0: 30 segments of 10 Wh but the reset segment counts nothing.
	if got[0].PosWh != 290 || got[0].Resets != 1 || got[0].Complete(15*time.Minute) || got[0].Covered != 870*time.Second {
		t.Fatalf("interval 0: %+v", got[0])
	}
	if got[1].PosWh != 300 || !got[1].Complete(15*time.Minute) {
		t.Fatalf("interval 1: %+v", got[1])
	}
	// Wrap of a 32-bit register is a reset too.
	g = newInteg(t, ChannelCounter)
	mustCounter(t, g, 0, math.MaxUint32-5)
	mustCounter(t, g, 30, 4)
	if g.resets != 1 || g.accPos != 0 {
		t.Fatal("wrap not treated as reset")
	}
}

func TestIntegratorCounterImplausible(t *testing.T) {
	g := newInteg(t, ChannelCounter)
	mustCounter(t, g, 0, 100)
	// 100 kW for 30 s is 833 Wh (+1 of resolution); 5,000 Wh is not.
	if _, err := g.AddCounter(at(30), 5100); !errors.Is(err, ErrImplausible) {
		t.Fatalf("jump accepted: %v", err)
	}
	mustCounter(t, g, 60, 5110) // counted from the new base
	mustCounter(t, g, 90, 5110+834)
	if g.accPos != (10+834)*UnitsPerWh || g.rej != 1 {
		t.Fatalf("acc %d rej %d", g.accPos/UnitsPerWh, g.rej)
	}
	if _, err := g.AddCounter(at(120), 6800); !errors.Is(err, ErrImplausible) {
		t.Fatal("835 Wh in 30 s at a 100 kW limit accepted")
	}
	if _, err := g.AddPower(at(200), 1); !errors.Is(err, ErrWrongChannel) {
		t.Fatal("power sample on a counter channel")
	}
	p := newInteg(t, ChannelPower)
	if _, err := p.AddPower(at(0), 100_001); !errors.Is(err, ErrImplausible) {
		t.Fatal("power above the limit accepted")
	}
	if _, err := p.AddCounter(at(0), 1); !errors.Is(err, ErrWrongChannel) {
		t.Fatal("counter sample on a power channel")
	}
	if _, err := p.AddPower(integGenesis.Add(-time.Second), 1); !errors.Is(err, ErrBeforeGenesis) {
		t.Fatal("sample before genesis accepted")
	}
}

// TestIntegratorCoarseCounter: a SunSpec inverter with WH_SF = +1 steps
// its lifetime counter by 10 Wh. Polled every 0.5 s at 5 kW (0.69 Wh a
// poll) with a 10 kW plausibility limit (1.4 Wh a poll), every step is
// 10 Wh in 0.5 s. Without the counter's resolution each step is rejected
// as implausible and nothing is counted; with CounterStepWh = 10 the whole
// interval's energy is counted, to within one step, and a jump no counter
// of that resolution can make is still rejected.
func TestIntegratorCoarseCounter(t *testing.T) {
	cfg := IntegratorConfig{
		Kind: ChannelCounter, Genesis: integGenesis, Interval: 15 * time.Minute,
		MaxGap: time.Minute, MaxPowerW: 10_000,
	}
	run := func(stepWh uint64) (e IntervalEnergy, rejected int) {
		cfg.CounterStepWh = stepWh
		g, err := NewIntegrator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		// The true energy at 5 kW is 5000/7200 Wh per 0.5 s poll; the
		// register holds it truncated to tens of Wh (WH_SF = +1).
		const polls = 2 * 900
		var out []IntervalEnergy
		for i := int64(0); i <= polls; i++ {
			trueWh := uint64(1_000_000 + i*5000/7200)
			o, err := g.AddCounter(integGenesis.Add(time.Duration(i)*500*time.Millisecond), trueWh/10*10)
			if errors.Is(err, ErrImplausible) {
				rejected++
			} else if err != nil {
				t.Fatal(err)
			}
			out = append(out, o...)
		}
		if len(out) != 1 || out[0].Interval != 0 {
			t.Fatalf("step %d: closed %+v", stepWh, out)
		}
		return out[0], rejected
	}
	// 5 kW for 15 min = 1250 Wh; the truncated counter shows 1250 exactly
	// at the boundary sample (1,001,250), starting from 1,000,000.
	old, oldRej := run(1)
	if oldRej == 0 || old.PosWh > 50 {
		t.Fatalf("1 Wh resolution: %d rejected, %d Wh counted (the bug this guards: every step rejected)", oldRej, old.PosWh)
	}
	e, rej := run(10)
	if rej != 0 || e.PosWh != 1250 || !e.Complete(15*time.Minute) {
		t.Fatalf("10 Wh resolution: %d rejected, %+v; want 1250 Wh, complete", rej, e)
	}
	t.Logf("5 kW at a 0.5 s poll, WH_SF=+1: %d Wh counted with a 1 Wh step (%d steps rejected), %d Wh with a 10 Wh step", old.PosWh, oldRej, e.PosWh)

	// Still bounded: 10 kW for 0.5 s is 1.4 Wh, plus one 10 Wh step; two
	// steps (20 Wh) in one poll are implausible.
	cfg.CounterStepWh = 10
	g, _ := NewIntegrator(cfg)
	if _, err := g.AddCounter(at(0), 500); err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddCounter(at(0.5), 510); err != nil {
		t.Fatalf("one step rejected: %v", err)
	}
	if _, err := g.AddCounter(at(1), 530); !errors.Is(err, ErrImplausible) {
		t.Fatalf("two steps in 0.5 s accepted: %v", err)
	}
	if got := g.Config().CounterStepWh; got != 10 {
		t.Fatalf("config step %d", got)
	}
	h, err := DecodeIntegrator(g.Encode())
	if err != nil || h.Config().CounterStepWh != 10 {
		t.Fatalf("step lost in the encoding: %v", err)
	}
}

func TestIntegratorGap(t *testing.T) {
	g := newInteg(t, ChannelPower)
	var got []IntervalEnergy
	// 1 kW until 10:00 into interval 0 (600 s), silence until 40:00
	// (interval 2, 2,400 s), then 1 kW until 60:00.
	for s := 0; s <= 600; s += 10 {
		got = append(got, mustPower(t, g, float64(s), 1000)...)
	}
	if out := g.Flush(at(640)); out != nil {
		t.Fatal("flushed before MaxGap")
	}
	got = append(got, g.Flush(at(1000))...) // interval 0 closes: nothing can reach it now
	for s := 2400; s <= 3600; s += 10 {
		got = append(got, mustPower(t, g, float64(s), 1000)...)
	}
	// 600 s at 1 kW is 166.67 Wh: 166 reported, 0.67 carried into interval
	// 2, which the samples from 40:00 cover for 300 s (83.33 Wh): 84.
	want := []IntervalEnergy{
		{Interval: 0, PosWh: 166, Covered: 600 * time.Second, Gaps: 1},
		{Interval: 2, PosWh: 84, Covered: 300 * time.Second, Gaps: 1},
		{Interval: 3, PosWh: 250, Covered: 900 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Interval 1 lay wholly inside the gap: never emitted.
}

func TestIntegratorClockJumps(t *testing.T) {
	g := newInteg(t, ChannelPower)
	mustPower(t, g, 0, 2000)
	mustPower(t, g, 10, 2000)
	before := g.Encode()
	// Backward: rejected, nothing counted twice.
	for _, s := range []float64{5, 10, -0.001 + 10} {
		if _, err := g.AddPower(at(s), 2000); !errors.Is(err, ErrClockBackward) {
			t.Fatalf("sample at %v s after 10 s: %v", s, err)
		}
	}
	if g.rej != 3 {
		t.Fatalf("rejected %d", g.rej)
	}
	g.rej = 0
	if !bytes.Equal(g.Encode(), before) {
		t.Fatal("a rejected sample changed the state")
	}
	mustPower(t, g, 20, 2000)
	if g.accPos != 2*2000*20_000 {
		t.Fatalf("acc %d", g.accPos)
	}
	// Forward: the clock jumps 2 h ahead. A gap, no energy invented.
	out := mustPower(t, g, 20+7200, 2000)
	if len(out) != 1 || out[0].Interval != 0 || out[0].Gaps != 1 || out[0].PosWh != 11 || out[0].Covered != 20*time.Second {
		t.Fatalf("%+v", out)
	}
	for s := 7230; s <= 8100; s += 10 {
		out = mustPower(t, g, float64(s), 2000)
	}
	if len(out) != 1 || out[0].Interval != 8 || out[0].Gaps != 1 || out[0].Covered != 880*time.Second {
		t.Fatalf("%+v", out)
	}
}

// TestIntegratorRestartAfterWrongClock: the clock ran an hour ahead, then
// NTP set it back. Every sample is now "backward"; Restart lets the node
// go on, keeping the fraction of a Wh it carried.
func TestIntegratorRestartAfterWrongClock(t *testing.T) {
	g := newInteg(t, ChannelPower)
	for s := 3600; s <= 3900; s += 10 {
		mustPower(t, g, float64(s), 1000) // the wrong clock: an hour ahead
	}
	if _, err := g.AddPower(at(300), 1000); !errors.Is(err, ErrClockBackward) {
		t.Fatalf("corrected clock: %v", err)
	}
	out := g.Restart()
	// 300 s at 1 kW = 83.33 Wh in interval 4; 83 reported, 0.33 carried.
	if len(out) != 1 || out[0].Interval != 4 || out[0].PosWh != 83 || out[0].Gaps != 1 || g.carryPos != UnitsPerWh/3 {
		t.Fatalf("%+v carry %d", out, g.carryPos)
	}
	if g.Restart() != nil {
		t.Fatal("second restart emitted")
	}
	if _, err := DecodeIntegrator(g.Encode()); err != nil {
		t.Fatalf("restarted state: %v", err)
	}
	var got []IntervalEnergy
	for s := 310; s <= 900; s += 10 {
		got = append(got, mustPower(t, g, float64(s), 1000)...)
	}
	// 590 s = 163.89 Wh + 0.33 carried = 164.22: 164.
	if len(got) != 1 || got[0].Interval != 0 || got[0].PosWh != 164 {
		t.Fatalf("%+v", got)
	}
}

// integStep is one sample of a recorded stream.
type integStep struct {
	ms    int64
	value int64
}

// randomStream makes a power stream: 1–15 s apart with occasional gaps and
// backward jumps, power random walk across zero.
func randomStream(r *rand.Rand, n int) []integStep {
	var s []integStep
	ms, p := int64(r.IntN(1000)), int64(0)
	for range n {
		switch u := r.IntN(100); {
		case u < 2:
			ms += 60_001 + r.Int64N(3_600_000) // gap
		case u < 4:
			ms -= r.Int64N(20_000) // clock backward
		default:
			ms += 1 + r.Int64N(15_000)
		}
		p += r.Int64N(2001) - 1000
		p = max(min(p, 20_000), -20_000)
		s = append(s, integStep{ms, p})
	}
	return s
}

func feed(g *Integrator, st integStep) ([]IntervalEnergy, error) {
	if g.kind == ChannelCounter {
		return g.AddCounter(at(0).Add(time.Duration(st.ms)*time.Millisecond), uint64(st.value))
	}
	return g.AddPower(at(0).Add(time.Duration(st.ms)*time.Millisecond), st.value)
}

func TestIntegratorRestartMidInterval(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		stream := randomStream(r, 2000)
		kind := ChannelPower
		if seed%2 == 1 {
			kind = ChannelCounter
			// A counter from the same walk: rises, with rare resets.
			c := int64(10_000)
			for i := range stream {
				if r.IntN(200) == 0 {
					c = r.Int64N(100)
				}
				c += max(stream[i].value, 0) / 1000
				stream[i].value = c
			}
		}
		// Reference: one integrator, never restarted.
		ref := newInteg(t, kind)
		var want []IntervalEnergy
		var wantErrs int
		for _, st := range stream {
			out, err := feed(ref, st)
			want = append(want, out...)
			if err != nil {
				wantErrs++
			}
		}
		// Restarted after every sample: saved, dropped, restored.
		g := newInteg(t, kind)
		var got []IntervalEnergy
		var gotErrs int
		for _, st := range stream {
			out, err := feed(g, st)
			got = append(got, out...)
			if err != nil {
				gotErrs++
			}
			b := g.Encode()
			var rerr error
			if g, rerr = DecodeIntegrator(b); rerr != nil {
				t.Fatal(rerr)
			}
		}
		if !reflect.DeepEqual(got, want) || gotErrs != wantErrs || !bytes.Equal(g.Encode(), ref.Encode()) {
			t.Fatalf("seed %d: restarts changed the result", seed)
		}
		// A crash that loses the last saved state: the node restores an
		// older state and replays the samples it still has. It emits the
		// same intervals with the same energies again, so keeping the first
		// reading per interval counts nothing twice.
		g = newInteg(t, kind)
		var saved []byte
		byIndex := map[uint64]IntervalEnergy{}
		for i, st := range stream {
			if i%97 == 0 {
				saved = g.Encode()
			}
			out, _ := feed(g, st)
			for _, e := range out {
				if prev, ok := byIndex[e.Interval]; ok && prev != e {
					t.Fatalf("seed %d: interval %d emitted twice with different energy", seed, e.Interval)
				}
				byIndex[e.Interval] = e
			}
			if i%97 == 50 {
				g, _ = DecodeIntegrator(saved)
				for _, st2 := range stream[i-50 : i+1] {
					out, _ := feed(g, st2)
					for _, e := range out {
						if prev, ok := byIndex[e.Interval]; ok && prev != e {
							t.Fatalf("seed %d: replay changed interval %d: %+v vs %+v", seed, e.Interval, prev, e)
						}
						byIndex[e.Interval] = e
					}
				}
			}
		}
		if len(byIndex) != len(want) {
			t.Fatalf("seed %d: %d intervals after crashes, %d without", seed, len(byIndex), len(want))
		}
	}
}

// TestIntegratorExact: for a piecewise-linear power (which the trapezoid
// integrates exactly) the emitted Wh plus the carried remainder equal the
// true energy of each direction to within one unit (1/7,200,000 Wh) per
// zero crossing, whatever the sampling, boundaries and gaps.
func TestIntegratorExact(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 2))
		stream := randomStream(r, 3000)
		g := newInteg(t, ChannelPower)
		var sumPos, sumNeg uint64
		truePos, trueNeg := new(big.Rat), new(big.Rat)
		crossings := int64(0)
		var last *integStep
		for i := range stream {
			st := stream[i]
			out, err := feed(g, st)
			for _, e := range out {
				sumPos += e.PosWh
				sumNeg += e.NegWh
			}
			if err != nil {
				continue
			}
			if last != nil && st.ms-last.ms <= 60_000 {
				p1, p2, dt := last.value, st.value, st.ms-last.ms
				addTrue(truePos, trueNeg, p1, p2, dt)
				if (p1 > 0 && p2 < 0) || (p1 < 0 && p2 > 0) {
					crossings++
				}
			}
			last = &stream[i]
		}
		gotPos := new(big.Rat).SetInt64(int64(sumPos*UnitsPerWh + g.carryPos + g.accPos))
		gotNeg := new(big.Rat).SetInt64(int64(sumNeg*UnitsPerWh + g.carryNeg + g.accNeg))
		for _, c := range []struct {
			got, want *big.Rat
		}{{gotPos, truePos}, {gotNeg, trueNeg}} {
			d := new(big.Rat).Sub(c.want, c.got)
			if d.Sign() < 0 || d.Cmp(new(big.Rat).SetInt64(crossings)) > 0 {
				t.Fatalf("seed %d: integrated %s units, true %s (crossings %d)", seed, c.got.FloatString(2), c.want.FloatString(2), crossings)
			}
		}
	}
}

// addTrue adds the exact areas (units) above and below zero of a line from
// p1 to p2 over dt ms.
func addTrue(pos, neg *big.Rat, p1, p2, dt int64) {
	r := func(n, d int64) *big.Rat { return big.NewRat(n, d) }
	switch {
	case p1 >= 0 && p2 >= 0:
		pos.Add(pos, r((p1+p2)*dt, 1))
	case p1 <= 0 && p2 <= 0:
		neg.Add(neg, r(-(p1+p2)*dt, 1))
	case p1 > 0:
		up := r(p1*p1*dt, p1-p2)
		pos.Add(pos, up)
		neg.Add(neg, new(big.Rat).Sub(up, r((p1+p2)*dt, 1)))
	default:
		down := r(p1*p1*dt, p2-p1)
		neg.Add(neg, down)
		pos.Add(pos, new(big.Rat).Add(down, r((p1+p2)*dt, 1)))
	}
}

// TestIntegratorSmoothSignal: a smooth signal sampled every 5 s. The
// trapezoid's error over [a, b] is at most (b−a)·h²·max|p”|/12; for
// p = 3000 + 2000·sin(2πt/1h) over 24 h that is 24 h · (5 s)² ·
// 2000·(2π/3600 s)² / 12 ≈ 0.0002 Wh, far below the 1 Wh the carry allows.
func TestIntegratorSmoothSignal(t *testing.T) {
	g := newInteg(t, ChannelPower)
	var sum uint64
	const T = 86400
	for s := 0; s <= T; s += 5 {
		w := int64(math.Round(3000 + 2000*math.Sin(2*math.Pi*float64(s)/3600)))
		out := mustPower(t, g, float64(s), w)
		for _, e := range out {
			sum += e.PosWh
		}
	}
	// True energy: 3000 W · 24 h = 72,000 Wh (the sine integrates to 0);
	// rounding the samples to whole W adds at most 0.5 W · 24 h = 12 Wh.
	total := float64(sum) + float64(g.carryPos+g.accPos)/UnitsPerWh
	if math.Abs(total-72_000) > 12 {
		t.Fatalf("integrated %.3f Wh, true 72000", total)
	}
	t.Logf("smooth signal: %.4f Wh integrated, 72000 true", total)
}

func TestIntegratorConfigAndDecodeRejects(t *testing.T) {
	base := IntegratorConfig{Kind: ChannelPower, Genesis: integGenesis, Interval: 15 * time.Minute, MaxGap: time.Minute, MaxPowerW: 1000}
	for _, mod := range []func(*IntegratorConfig){
		func(c *IntegratorConfig) { c.Kind = 0 },
		func(c *IntegratorConfig) { c.Interval = 0 },
		func(c *IntegratorConfig) { c.Interval = 48 * time.Hour },
		func(c *IntegratorConfig) { c.MaxGap = 0 },
		func(c *IntegratorConfig) { c.MaxPowerW = 0 },
		func(c *IntegratorConfig) { c.MaxPowerW = 2_000_000_000 },
		func(c *IntegratorConfig) { c.Genesis = time.Unix(-1, 0) },
		func(c *IntegratorConfig) { c.CounterStepWh = 10 }, // a power channel has no counter step
		func(c *IntegratorConfig) { c.Kind, c.CounterStepWh = ChannelCounter, MaxCounterStepWh+1 },
	} {
		c := base
		mod(&c)
		if _, err := NewIntegrator(c); !errors.Is(err, ErrIntegratorConfig) {
			t.Fatalf("%+v accepted", c)
		}
	}
	g, _ := NewIntegrator(base)
	if got := g.Config(); got.Interval != base.Interval || !got.Genesis.Equal(base.Genesis) || got.MaxPowerW != 1000 {
		t.Fatalf("config %+v", got)
	}
	g.AddPower(at(0), 500)
	g.AddPower(at(30), -500)
	good := g.Encode()
	if _, err := DecodeIntegrator(good); err != nil {
		t.Fatal(err)
	}
	corrupt := func(off int, v byte) []byte {
		b := bytes.Clone(good)
		b[off] = v
		return b
	}
	// Offsets: version 0, kind 1, genesis 2–9, interval 10–17, gap 18–25,
	// power 26–33, step 34–41, hasLast 42, last 43–50, value 51–58,
	// open 59–66, accPos 67–74, accNeg 75–82, carryPos 83–90,
	// carryNeg 91–98, covered 99–106, gaps 107–110, resets 111–114,
	// rejected 115–118.
	for name, b := range map[string][]byte{
		"version":   corrupt(0, 1),
		"kind":      corrupt(1, 3),
		"step0":     corrupt(41, 0),
		"powerStep": corrupt(41, 10),
		"hasLast":   corrupt(42, 2),
		"carry":     corrupt(83, 0xff),
		"covered":   corrupt(99, 0xff),
		"power":     corrupt(51, 0x7f),
		"open":      corrupt(59, 0x7f),
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
		"noLast":    corrupt(42, 0),
	} {
		if _, err := DecodeIntegrator(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if len(good) != 119 {
		t.Fatalf("state is %d bytes", len(good))
	}
}

// FuzzIntegratorState: any accepted state re-encodes to the same bytes and
// can be fed samples without panicking.
func FuzzIntegratorState(f *testing.F) {
	g := newInteg(f, ChannelPower)
	f.Add(g.Encode())
	g.AddPower(at(0), 500)
	g.AddPower(at(30), -700)
	f.Add(g.Encode())
	c := newInteg(f, ChannelCounter)
	c.AddCounter(at(0), 10)
	c.AddCounter(at(899), 20)
	f.Add(c.Encode())
	coarse, _ := NewIntegrator(IntegratorConfig{Kind: ChannelCounter, Genesis: integGenesis, Interval: 15 * time.Minute,
		MaxGap: time.Minute, MaxPowerW: 10_000, CounterStepWh: 10})
	coarse.AddCounter(at(0), 500)
	coarse.AddCounter(at(0.5), 510)
	f.Add(coarse.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeIntegrator(b)
		if err != nil {
			return
		}
		if !bytes.Equal(g.Encode(), b) {
			t.Fatal("accepted a non-canonical state")
		}
		base := time.UnixMilli(g.lastMs)
		for i, d := range []time.Duration{-time.Second, 0, time.Second, time.Minute, 3 * time.Hour} {
			if g.kind == ChannelPower {
				g.AddPower(base.Add(d), int64(i*100-200))
			} else {
				g.AddCounter(base.Add(d), g.lastValue+uint64(i))
			}
		}
		g.Flush(base.Add(48 * time.Hour))
		if _, err := DecodeIntegrator(g.Encode()); err != nil {
			t.Fatalf("state after samples does not decode: %v", err)
		}
		g.Restart()
		if _, err := DecodeIntegrator(g.Encode()); err != nil {
			t.Fatalf("state after samples does not decode: %v", err)
		}
	})
}

// BenchmarkIntegratorPower is one power sample on one channel (the node
// samples every few seconds per channel; this is far from its budget).
func BenchmarkIntegratorPower(b *testing.B) {
	g := newInteg(b, ChannelPower)
	t0 := integGenesis
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		g.AddPower(t0.Add(time.Duration(i)*5*time.Second), int64(i%4000-2000))
	}
}

// BenchmarkIntegratorSaveRestore is a state save and restore, as a node
// that persists after each sample does.
func BenchmarkIntegratorSaveRestore(b *testing.B) {
	g := newInteg(b, ChannelPower)
	g.AddPower(at(0), 100)
	g.AddPower(at(5), 200)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeIntegrator(g.Encode()); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzIntegratorOps feeds an integrator a sequence of samples decoded from
// the input (time steps that may go backward or jump, powers or counters
// that may reset or leap) and checks what must always hold: the state
// round-trips after every step, intervals come out in increasing order
// with coverage at most their length, and no more energy comes out than
// the maximum power over the time that passed.
func FuzzIntegratorOps(f *testing.F) {
	f.Add(false, []byte{0, 10, 0, 100, 0, 20, 0, 200, 0xff, 0xf0, 0, 5})
	f.Add(true, []byte{0, 10, 0, 1, 0, 10, 0, 2, 0, 10, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, counter bool, ops []byte) {
		kind := ChannelPower
		if counter {
			kind = ChannelCounter
		}
		g, err := NewIntegrator(IntegratorConfig{Kind: kind, Genesis: integGenesis, Interval: time.Minute, MaxGap: 20 * time.Second, MaxPowerW: 5000})
		if err != nil {
			t.Fatal(err)
		}
		ms, maxMs, nOps := int64(0), int64(0), 0
		cval := uint64(0)
		var last uint64
		var total uint64
		emitted := false
		check := func(out []IntervalEnergy) {
			for _, e := range out {
				if emitted && e.Interval <= last {
					t.Fatalf("interval %d after %d", e.Interval, last)
				}
				if e.Covered < 0 || e.Covered > time.Minute {
					t.Fatalf("covered %v", e.Covered)
				}
				last, emitted = e.Interval, true
				total += e.PosWh + e.NegWh
			}
		}
		for len(ops) >= 4 {
			step := int64(int16(uint16(ops[0])<<8 | uint16(ops[1])))
			v := int64(int16(uint16(ops[2])<<8 | uint16(ops[3])))
			ops = ops[4:]
			ms += step * 37
			maxMs = max(maxMs, ms)
			nOps++
			when := integGenesis.Add(time.Duration(ms) * time.Millisecond)
			var out []IntervalEnergy
			if counter {
				if v < 0 {
					cval = uint64(-v) // a reset or a leap
				} else {
					cval += uint64(v)
				}
				out, _ = g.AddCounter(when, cval)
			} else {
				out, _ = g.AddPower(when, v)
			}
			check(out)
			if step%5 == 0 {
				check(g.Flush(when.Add(time.Duration(step) * time.Second)))
			}
			if step%97 == 0 {
				g.Restart()
				emitted = false // indices may repeat after a restart
			}
			b := g.Encode()
			g2, err := DecodeIntegrator(b)
			if err != nil {
				t.Fatalf("state does not decode: %v", err)
			}
			if !bytes.Equal(g2.Encode(), b) {
				t.Fatal("state does not round-trip")
			}
			g = g2
		}
		// At most 5 kW over the time the accepted samples span, plus a Wh
		// of counter resolution per sample and the carried Wh.
		if bound := uint64(5000*maxMs/3_600_000) + uint64(nOps) + 2; total > bound {
			t.Fatalf("%d Wh out of %d ms and %d samples (bound %d)", total, maxMs, nOps, bound)
		}
	})
}

// TestIntegratorSegmentAcrossSeveralIntervals: with MaxGap longer than an
// interval one segment can cover whole intervals; each gets its share.
func TestIntegratorSegmentAcrossSeveralIntervals(t *testing.T) {
	g, err := NewIntegrator(IntegratorConfig{Kind: ChannelPower, Genesis: integGenesis, Interval: 10 * time.Second, MaxGap: time.Minute, MaxPowerW: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	mustPower(t, g, 5, 3600)
	out := mustPower(t, g, 45, 3600) // 40 s at 3.6 kW: 10 Wh per full 10 s interval
	want := []IntervalEnergy{
		{Interval: 0, PosWh: 5, Covered: 5 * time.Second},
		{Interval: 1, PosWh: 10, Covered: 10 * time.Second},
		{Interval: 2, PosWh: 10, Covered: 10 * time.Second},
		{Interval: 3, PosWh: 10, Covered: 10 * time.Second},
	}
	if !reflect.DeepEqual(out, want) || g.accPos != 5*UnitsPerWh {
		t.Fatalf("%+v acc %d", out, g.accPos)
	}
}
