package baseline

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loadIL reads testdata/il_hourly_2016_06_07.csv (OpenEEmeter/OpenDSM
// sample, Apache 2.0; see testdata/README.md) onto an hourly calendar at
// a fixed UTC−6, genesis 2016-06-01T00:00−06:00. kWh with up to three
// decimals become Wh exactly, by string (no rounding).
func loadIL(t *testing.T) (Series, Calendar) {
	t.Helper()
	genesis := time.Date(2016, 6, 1, 6, 0, 0, 0, time.UTC).Unix()
	c := Calendar{GenesisUnix: genesis, IntervalSeconds: 3600, UTCOffsetSeconds: -6 * 3600}
	c.Holidays = []int64{c.DayOf(0) + 33} // 2016-07-04
	f, err := os.Open("testdata/il_hourly_2016_06_07.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := Series{First: -1} // the first reading is 2016-05-31T23:00−06:00
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		ts, val, _ := strings.Cut(sc.Text(), ",")
		tm, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			t.Fatal(err)
		}
		if want := s.First + int64(len(s.Wh)); (tm.Unix()-genesis)/3600 != want {
			t.Fatalf("%s: not the next hour", ts)
		}
		whole, frac, _ := strings.Cut(val, ".")
		frac = (frac + "000")[:3]
		w, err1 := strconv.ParseInt(whole, 10, 64)
		m, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: value %q", ts, val)
		}
		s.Wh = append(s.Wh, w*1000+m)
	}
	if len(s.Wh) != 1464 {
		t.Fatalf("%d hours", len(s.Wh))
	}
	return s, c
}

// Real-shaped data, each expected number cross-checked by an independent
// implementation of the same rules (Python, exact fractions, floor), not by
// this package.
//
// Wed 2016-07-20, 14:00–18:00 CST, posted 13:00 the same day.
// 10 in 10: 07-19, 18, 15, 14, 13, 12, 11, 08, 07, 06 (07-04 a holiday, the
// weekends skipped). Sums 17280, 23640, 14070, 16280 Wh; adjustment window
// 10:00–13:00: event day A = 5610 Wh, days B = 41680 Wh; raw ratio
// ⌊5610·10·10^6/41680⌋ = 1345969 ppm, capped at 1200000: baseline 2073,
// 2836, 1688, 1953 Wh.
// High 4 of 5: pool 07-19 (3760 Wh in the window), 18 (9470), 15 (5100),
// 14 (3820), 13 (6580) — no low-usage day (threshold 25 % of 5746 = 1436.5);
// the four highest are 18, 13, 15, 14. Sums 3320, 9730, 5460, 6460; B =
// 18090; AdditiveNum = 5610·4 − 18090 = 4350; baseline ⌊(3·S + 4350)/12⌋ =
// 1192, 2795, 1727, 1977 Wh.
// Sat 2016-07-23, same window, posted Fri 14:00: 4 in 4 = 07-17, 16, 10, 09:
// sums 12250, 8710, 8800, 12410 → 3062, 2177, 2200, 3102 Wh.
// The device profile for that Saturday (10 days of any type, 07-21 back to
// 07-12): 1403, 1628, 1795, 1940 Wh.
func TestRealDataCrossChecked(t *testing.T) {
	s, c := loadIL(t)
	d0 := c.DayOf(0)
	wed := c.DayStart(d0+49) + 14 // 2016-07-20 14:00
	ev := Event{Start: wed, End: wed + 4, Posted: wed - 1}

	r, err := XofY(s, ev, c, DefaultXofY())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "10-in-10 sums", r.SumWh, []int64{17280, 23640, 14070, 16280})
	if r.Adjustment.EventDayWh != 5610 || r.Adjustment.DaysWh != 41680 || r.Adjustment.RawRatioPPM != 1345969 || r.Adjustment.RatioPPM != 1200000 {
		t.Fatalf("adjustment %+v", r.Adjustment)
	}
	eqInts(t, "10-in-10", r.BaselineWh, []int64{2073, 2836, 1688, 1953})

	r, err = HighXofY(s, ev, c, DefaultHighXofY())
	if err != nil {
		t.Fatal(err)
	}
	var pool []int64
	for _, d := range r.Pool {
		pool = append(pool, d.WindowWh)
	}
	eqInts(t, "pool window Wh", pool, []int64{3760, 9470, 5100, 3820, 6580})
	eqInts(t, "selected", days(r), []int64{d0 + 47, d0 + 44, d0 + 43, d0 + 42})
	if r.Adjustment.DaysWh != 18090 || r.Adjustment.AdditiveNumWh != 4350 {
		t.Fatalf("adjustment %+v", r.Adjustment)
	}
	eqInts(t, "high 4 of 5", r.BaselineWh, []int64{1192, 2795, 1727, 1977})

	sat := c.DayStart(d0+52) + 14 // 2016-07-23 14:00
	ev = Event{Start: sat, End: sat + 4, Posted: sat - 24}
	r, err = XofY(s, ev, c, DefaultXofY())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "weekend days", days(r), []int64{d0 + 46, d0 + 45, d0 + 39, d0 + 38})
	eqInts(t, "4-in-4", r.BaselineWh, []int64{3062, 2177, 2200, 3102})

	r, err = DeviceProfile(s, ev, c, DefaultDevice())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "profile", r.BaselineWh, []int64{1403, 1628, 1795, 1940})
}
