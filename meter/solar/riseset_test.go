package solar

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestSPASunriseSunset: SPA Table A5.2 gives sunrise 06:12:43 and sunset
// 17:20:19 local time (UTC−7) for the example site on 2003-10-17.
//
// The sunrise matches. The SPA sunset does not belong to 2003-10-17: SPA
// computes rise and set as fractions of the UT day and wraps them into
// [0, 1), so a sunset after 00:00 UT (17:00 local here) is evaluated with
// the ephemeris of the UT day before, i.e. it is 2003-10-16's sunset (see
// pvlib/pvlib-python#2833 for the same day-shift in SPA rise/set). This
// package's 2003-10-16 sunset is 1 s from the SPA figure, and its
// 2003-10-17 sunset (17:18:51) is checked against an independent float
// bisection of the reference position instead.
func TestSPASunriseSunset(t *testing.T) {
	mst := time.FixedZone("UTC-7", -7*3600)
	st, err := SunriseSunset(spaTime, spaLatE6, spaLonE6)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := SunriseSunset(spaTime-86400, spaLatE6, spaLonE6)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kind != DayNormal || prev.Kind != DayNormal {
		t.Fatalf("kind %v %v", st.Kind, prev.Kind)
	}
	wantRise := time.Date(2003, 10, 17, 6, 12, 43, 0, mst).Unix()
	wantSet := time.Date(2003, 10, 17, 17, 20, 19, 0, mst).Unix()
	dr, ds := st.SunriseUnix-wantRise, prev.SunsetUnix+86400-wantSet
	clock := func(u int64) string { return time.Unix(u, 0).In(mst).Format("01-02 15:04:05") }
	t.Logf("SPA example: sunrise %s (SPA 06:12:43, error %+d s); transit %s; sunset %s; sunset of the day before %s (SPA 17:20:19, error %+d s)",
		clock(st.SunriseUnix), dr, clock(st.TransitUnix), clock(st.SunsetUnix), clock(prev.SunsetUnix), ds)
	// Tolerance 10 s (brief: 60 s).
	if dr < -10 || dr > 10 || ds < -10 || ds > 10 {
		t.Errorf("sunrise/sunset error %+d s / %+d s", dr, ds)
	}

	// Independent check of the 2003-10-17 sunset: bisect the float
	// reference's geocentric elevation (parallax added back) for −0.8333°.
	geo := func(u float64) float64 {
		r := refPosition(int64(u), spaLatE6/1e6, spaLonE6/1e6, 0, 10)
		return r.trueElev + 8.794/3600*math.Cos(r.trueElev*math.Pi/180)
	}
	lo, hi := float64(st.TransitUnix), float64(st.TransitUnix+43200)
	for hi-lo > 0.5 {
		mid := (lo + hi) / 2
		if geo(mid) > -50.0/60 {
			lo = mid
		} else {
			hi = mid
		}
	}
	if d := float64(st.SunsetUnix) - lo; math.Abs(d) > 3 {
		t.Errorf("sunset %s vs float bisection %s", clock(st.SunsetUnix), clock(int64(lo)))
	} else {
		t.Logf("2003-10-17 sunset vs float bisection: %+.1f s", d)
	}
}

// TestSunriseSunsetConsistency checks, over latitudes −66..66° and every 5th
// day of 2026, that the geocentric elevation at the returned times is the
// sunrise altitude (to 0.003°, i.e. about a second of time), that the sun
// rises at sunrise and sets at sunset, and that transit is the maximum.
func TestSunriseSunsetConsistency(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	var maxErr float64
	dStep := int64(5)
	if testing.Short() {
		dStep = 23
	}
	for lat := int64(-66); lat <= 66; lat += 6 {
		for _, lon := range []int64{-179_999_999, -105_178_600, 0, 13_400_000, 151_200_000, 180_000_000} {
			site := newSite(lat*1_000_000, lon)
			for d := int64(0); d < 365; d += dStep {
				day := start + d*86400
				st, err := SunriseSunset(day, lat*1_000_000, lon)
				if err != nil {
					t.Fatal(err)
				}
				if st.Kind != DayNormal {
					continue
				}
				geo := func(ts int64) float64 {
					return float64(direction(ts, site, sunEphemeris(ts)).geoElev) / 1e9
				}
				for _, ev := range []struct {
					ts   int64
					sign float64
				}{{st.SunriseUnix, 1}, {st.SunsetUnix, -1}} {
					e := math.Abs(geo(ev.ts) - float64(SunriseAltitudeE6)/1e6)
					maxErr = math.Max(maxErr, e)
					if e > 0.003 || (geo(ev.ts+60)-geo(ev.ts-60))*ev.sign <= 0 {
						t.Fatalf("lat %d lon %d day %d: event %d at elevation %.5f°", lat, lon, d, ev.ts, geo(ev.ts))
					}
				}
				if !(st.SunriseUnix < st.TransitUnix && st.TransitUnix < st.SunsetUnix) ||
					geo(st.TransitUnix) < geo(st.TransitUnix-120) || geo(st.TransitUnix) < geo(st.TransitUnix+120) {
					t.Fatalf("lat %d lon %d day %d: order or transit wrong: %+v", lat, lon, d, st)
				}
				// The transit is within 13 h of 12:00 local mean time of the date.
				mid := day + 43200 - lon*240/1_000_000
				if st.TransitUnix < mid-1800 || st.TransitUnix > mid+1800 {
					t.Fatalf("transit %d far from local mean noon %d", st.TransitUnix, mid)
				}
			}
		}
	}
	t.Logf("max |elevation − sunrise altitude| at returned times: %.2g°", maxErr)
}

func TestPolarDays(t *testing.T) {
	dec21 := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC).Unix()
	jun21 := time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC).Unix()
	cases := []struct {
		day, lat int64
		want     DayKind
	}{
		{dec21, 78_220_000, DayPolarNight}, // Longyearbyen
		{jun21, 78_220_000, DayPolarDay},
		{dec21, -77_850_000, DayPolarDay}, // McMurdo
		{jun21, -77_850_000, DayPolarNight},
		{jun21, 90_000_000, DayPolarDay},
		{jun21, -90_000_000, DayPolarNight},
		{dec21, 0, DayNormal},
	}
	for _, c := range cases {
		st, err := SunriseSunset(c.day, c.lat, 15_000_000)
		if err != nil {
			t.Fatal(err)
		}
		if st.Kind != c.want {
			t.Errorf("lat %d day %d: %v, want %v", c.lat, c.day, st.Kind, c.want)
		}
		if st.Kind != DayNormal && (st.SunriseUnix != 0 || st.SunsetUnix != 0) {
			t.Errorf("polar kind with rise/set set: %+v", st)
		}
	}
	if DayPolarNight.String() != "polar-night" || DayKind(9).String() != "DayKind(9)" {
		t.Error("DayKind.String")
	}
	if _, err := SunriseSunset(MaxUnix, 0, 0); !errors.Is(err, ErrTime) {
		t.Errorf("err %v", err)
	}
	if _, err := SunriseSunset(0, 0, 181_000_000); !errors.Is(err, ErrLongitude) {
		t.Errorf("err %v", err)
	}
}
