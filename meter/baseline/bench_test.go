package baseline

import (
	"math/rand/v2"
	"testing"
)

// benchSites are distinct 15-minute histories: 14 days (10 weekdays, 4
// weekend days — the 10 eligible days a weekday 10-in-10 needs) before a
// weekday event day, plus the event day. Commitments cycle through them: the
// work per commitment is the same as with 100,000 distinct homes, without
// holding 1 GB of history in memory.
const benchSites = 64

type benchCase struct {
	s   Series
	cal Calendar
	ev  Event
	act []Reading
}

func benchCases(b *testing.B) []benchCase {
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]benchCase, benchSites)
	for i := range out {
		s := newSite(rng, 15)
		s.cal.Holidays = nil
		// Find a weekday event day at the end of the history.
		evDay := int64(14)
		for s.cal.TypeOf(s.cal.DayOf(s.h.iv(evDay, 0))) != Weekday {
			evDay--
		}
		start := s.h.iv(evDay, 56) // 14:00 local
		ev := Event{Start: start, End: start + 16, Posted: start}
		act := make([]Reading, 16)
		for k := range act {
			act[k].ImportWh = s.h.s.Wh[start+int64(k)] * 6 / 10
		}
		out[i] = benchCase{s: s.h.s, cal: s.cal, ev: ev, act: act}
		if _, err := XofY(out[i].s, ev, s.cal, DefaultXofY()); err != nil {
			b.Fatalf("site %d: %v", i, err)
		}
	}
	return out
}

func settleOne(bc benchCase, method Method) (Settlement, error) {
	var r Result
	var err error
	switch method {
	case MethodXofY:
		r, err = XofY(bc.s, bc.ev, bc.cal, DefaultXofY())
	case MethodHighXofY:
		r, err = HighXofY(bc.s, bc.ev, bc.cal, DefaultHighXofY())
	case MethodDevice: // posted at the start: meter-before
		r, err = DeviceProfile(bc.s, bc.ev, bc.cal, DefaultDevice())
	case 0: // posted the day before: the device's own 10-day profile
		ev := bc.ev
		ev.Posted -= 96
		r, err = DeviceProfile(bc.s, ev, bc.cal, DefaultDevice())
	}
	c := Commitment{Direction: Down, IntervalSeconds: 900, CommittedW: 2000, BaselineWh: r.BaselineWh,
		Actual: bc.act, PriceBaseUnitsPerKWh: 250_000, PayoutCapPPM: PPM, BondBaseUnits: 1_000_000}
	if err != nil {
		c.NoBaseline = true
	}
	return Settle(c, DefaultSlash())
}

func benchMethod(b *testing.B, m Method) {
	cases := benchCases(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := settleOne(cases[i%benchSites], m); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// Per commitment: baseline from 15 days of 15-minute history, then Settle.
func BenchmarkCommitmentXofY(b *testing.B)              { benchMethod(b, MethodXofY) }
func BenchmarkCommitmentHighXofY(b *testing.B)          { benchMethod(b, MethodHighXofY) }
func BenchmarkCommitmentDeviceMeterBefore(b *testing.B) { benchMethod(b, MethodDevice) }
func BenchmarkCommitmentDeviceProfile(b *testing.B)     { benchMethod(b, 0) }

// BenchmarkSettle100k settles 100,000 commitments (10-in-10 baselines) as
// 100 requests of 1,000 commitments each, escrow-capped. One op = all 100k.
func BenchmarkSettle100k(b *testing.B) {
	cases := benchCases(b)
	p := DefaultXofY()
	cs := make([]Commitment, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for req := range 100 {
			for k := range cs {
				bc := cases[(req*1000+k)%benchSites]
				r, err := XofY(bc.s, bc.ev, bc.cal, p)
				cs[k] = Commitment{Direction: Down, IntervalSeconds: 900, CommittedW: 2000, BaselineWh: r.BaselineWh,
					NoBaseline: err != nil, Actual: bc.act, PriceBaseUnitsPerKWh: 250_000, PayoutCapPPM: PPM,
					BondBaseUnits: 1_000_000}
			}
			if _, err := SettleRequest(1_000_000_000, cs, DefaultSlash()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
