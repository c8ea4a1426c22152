package baseline

import "testing"

// The worked examples use hourly intervals (L = 3600 s) in local standard
// time UTC−8. Relative day 0 is Monday 2026-11-02; genesis is its local
// midnight, 2026-11-02T08:00:00Z = 1793606400.
const (
	exGenesis = 1793606400
	exOffset  = -8 * 3600
)

// exDay converts a relative day (0 = Mon 2026-11-02) to a Calendar day
// number.
func exDay(c Calendar, rel int64) int64 { return c.DayOf(0) + rel }

func exCalendar(t testing.TB, holidaysRel ...int64) Calendar {
	t.Helper()
	c := Calendar{GenesisUnix: exGenesis, IntervalSeconds: 3600, UTCOffsetSeconds: exOffset}
	for _, h := range holidaysRel {
		c.Holidays = append(c.Holidays, exDay(c, h))
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Weekday(exDay(c, 0)) != 1 {
		t.Fatalf("relative day 0 is weekday %d, want Monday", c.Weekday(exDay(c, 0)))
	}
	return c
}

// hist is a series under construction, starting at interval 0.
type hist struct {
	perDay int64
	s      Series
}

func newHist(perDay, days, fill int64) *hist {
	h := &hist{perDay: perDay, s: Series{Wh: make([]int64, perDay*days)}}
	for k := range h.s.Wh {
		h.s.Wh[k] = fill
	}
	return h
}

// iv is the interval index of (relative day, interval of day).
func (h *hist) iv(day, k int64) int64 { return day*h.perDay + k }

// set writes consecutive values from (day, k) on.
func (h *hist) set(day, k int64, wh ...int64) {
	for j, v := range wh {
		h.s.Wh[h.iv(day, k)+int64(j)] = v
	}
}

func (h *hist) missing(day, k int64) {
	if h.s.Missing == nil {
		h.s.Missing = make([]bool, len(h.s.Wh))
	}
	h.s.Missing[h.iv(day, k)] = true
}

func eqInts(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for k := range got {
		if got[k] != want[k] {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func days(r Result) []int64 {
	var out []int64
	for _, d := range r.Selected {
		out = append(out, d.Day)
	}
	return out
}
