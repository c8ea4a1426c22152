package solar

import (
	"errors"
	"testing"
)

func inSite(lat, lon int64) bool {
	return lat >= -MaxLatE6 && lat <= MaxLatE6 && lon >= -MaxLonE6 && lon <= MaxLonE6
}

func inTime(ts int64) bool { return ts >= MinUnix && ts < MaxUnix }

// FuzzPosition: any int64 inputs; out-of-range ones are rejected with the
// right sentinel error, in-range ones give a self-consistent position.
func FuzzPosition(f *testing.F) {
	f.Add(spaTime, int64(spaLatE6), int64(spaLonE6), int64(820), int64(11))
	f.Add(int64(0), int64(90_000_000), int64(-180_000_000), int64(0), int64(-100))
	f.Add(int64(-1<<63), int64(-1<<63), int64(1<<63-1), int64(-1), int64(1<<63-1))
	f.Fuzz(func(t *testing.T, ts, lat, lon, p, c int64) {
		pos, err := PositionAtm(ts, lat, lon, p, c)
		valid := inTime(ts) && inSite(lat, lon) && p >= 0 && p <= 2000 && c >= -100 && c <= 100
		if (err == nil) != valid {
			t.Fatalf("PositionAtm(%d,%d,%d,%d,%d) err = %v, valid = %v", ts, lat, lon, p, c, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrTime) && !errors.Is(err, ErrLatitude) && !errors.Is(err, ErrLongitude) && !errors.Is(err, ErrAtmosphere) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if pos.ZenithE6 < 0 || pos.ZenithE6 > 180_000_000 || pos.AzimuthE6 < 0 || pos.AzimuthE6 >= 360_000_000 ||
			pos.ZenithE6+pos.ElevationE6 != 90_000_000 || pos.RefractionE6 < 0 || pos.RefractionE6 > 1_500_000 ||
			pos.ElevationE6-pos.TrueElevationE6 != pos.RefractionE6 ||
			pos.DeclinationE6 < -23_500_000 || pos.DeclinationE6 > 23_500_000 ||
			pos.HourAngleE6 < -180_000_000 || pos.HourAngleE6 >= 180_000_000 ||
			pos.EquationOfTimeMs < -17*60_000 || pos.EquationOfTimeMs > 17*60_000 ||
			pos.DistanceE9 < 983_000_000 || pos.DistanceE9 > 1_017_000_000 {
			t.Fatalf("inconsistent position %+v", pos)
		}
	})
}

// FuzzSunriseSunset: no panics; rise < transit < set within a day.
func FuzzSunriseSunset(f *testing.F) {
	f.Add(spaTime, int64(spaLatE6), int64(spaLonE6))
	f.Add(int64(0), int64(66_560_000), int64(180_000_000))
	f.Add(int64(1<<63-1), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, day, lat, lon int64) {
		st, err := SunriseSunset(day, lat, lon)
		if err != nil {
			if inSite(lat, lon) && day >= MinUnix+86400 && day < MaxUnix-2*86400 {
				t.Fatalf("valid input rejected: %v", err)
			}
			return
		}
		day0 := floorDiv(day, 86400) * 86400
		if st.TransitUnix < day0-86400 || st.TransitUnix > day0+2*86400 {
			t.Fatalf("transit %d far from day %d", st.TransitUnix, day0)
		}
		switch st.Kind {
		case DayNormal:
			if !(st.SunriseUnix < st.TransitUnix && st.TransitUnix < st.SunsetUnix && st.SunsetUnix-st.SunriseUnix < 86400) {
				t.Fatalf("bad times %+v", st)
			}
		case DayPolarDay, DayPolarNight:
			if st.SunriseUnix != 0 || st.SunsetUnix != 0 {
				t.Fatalf("polar kind with times %+v", st)
			}
		default:
			t.Fatalf("kind %v", st.Kind)
		}
	})
}

// FuzzSunBelow: no panics; invalid input never flags; a flagged interval
// has the sun below the threshold at both ends and in the middle.
func FuzzSunBelow(f *testing.F) {
	f.Add(int64(1_766_304_000), int64(900), int64(39_730_000), int64(-105_180_000), int64(-6_000_000))
	f.Add(int64(-1<<63), int64(1<<63-1), int64(0), int64(0), int64(-1<<63))
	f.Add(int64(1_766_304_000), int64(7*86400), int64(85_000_000), int64(0), int64(-1_000_000))
	f.Fuzz(func(t *testing.T, start, length, lat, lon, th int64) {
		end := start + length // may wrap; then it is rejected
		below, err := SunBelowThroughout(start, end, lat, lon, th)
		def := SunBelowHorizonThroughout(start, end, lat, lon)
		if err != nil && below {
			t.Fatal("flagged with an error")
		}
		if def {
			b, err := SunBelowThroughout(start, end, lat, lon, NightThresholdE6)
			if err != nil || !b {
				t.Fatal("wrapper disagrees")
			}
		}
		// The same inputs folded into the valid ranges (2020–2051, up to two
		// days, thresholds −1°..−11°): a flagged interval must have the float
		// reference's elevation below the threshold at 64 points inside it.
		vs, vl := 1_600_000_000+floorMod(start, 1_000_000_000), floorMod(length, 2*86400)
		vlat, vlon := floorMod(lat, 180_000_001)-90_000_000, floorMod(lon, 360_000_001)-180_000_000
		vth := MaxNightThresholdE6 - floorMod(th, 10_000_000)
		if b, err := SunBelowThroughout(vs, vs+vl, vlat, vlon, vth); err != nil {
			t.Fatal(err)
		} else if b {
			for k := int64(0); k <= 63; k++ {
				ts := vs + vl*k/63
				if el := refPosition(ts, float64(vlat)/1e6, float64(vlon)/1e6, 0, 10).trueElev; el >= float64(vth)/1e6 {
					t.Fatalf("flagged [%d, +%d] at (%d, %d) below %d but elevation %.4f° at %d", vs, vl, vlat, vlon, vth, el, ts)
				}
			}
		}
		if !below {
			return
		}
		for _, ts := range []int64{start, start + (end-start)/2, end} {
			p, err := Position(ts, lat, lon)
			if err != nil {
				t.Fatal(err)
			}
			if p.TrueElevationE6 >= th {
				t.Fatalf("flagged but elevation %d ≥ %d at %d", p.TrueElevationE6, th, ts)
			}
		}
	})
}

// FuzzClearSky: no panics; values within physical bounds.
func FuzzClearSky(f *testing.F) {
	f.Add(spaTime, int64(spaLatE6), int64(spaLonE6))
	f.Add(int64(-1<<63), int64(1<<63-1), int64(0))
	f.Fuzz(func(t *testing.T, ts, lat, lon int64) {
		cz, err1 := CosZenithPPM(ts, lat, lon)
		et, err2 := ExtraterrestrialHorizontalWm2(ts, lat, lon)
		ghi, err3 := ClearSkyGHIWm2(ts, lat, lon)
		valid := inTime(ts) && inSite(lat, lon)
		if (err1 == nil) != valid || (err2 == nil) != valid || (err3 == nil) != valid {
			t.Fatalf("errors %v %v %v, valid %v", err1, err2, err3, valid)
		}
		if cz < 0 || cz > 1_000_000 || et < 0 || et > 1420 || ghi < 0 || ghi > 1098 || ghi > et {
			t.Fatalf("out of bounds: cz %d et %d ghi %d", cz, et, ghi)
		}
	})
}

// FuzzTrig: the fixed-point primitives on any int64 inputs.
func FuzzTrig(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0))
	f.Add(int64(-1<<63), int64(-1<<63), int64(1<<63-1))
	f.Fuzz(func(t *testing.T, a, y, x int64) {
		s, c := sincos(a)
		if n := s*s + c*c; n < (one-8)*(one-8) || n > (one+8)*(one+8) {
			t.Fatalf("sin²+cos² off: %d %d", s, c)
		}
		if r := atan2(y, x); r <= -deg180 || r > deg180 {
			t.Fatalf("atan2 out of range: %d", r)
		}
		if r := asin(y); r < -deg90 || r > deg90 {
			t.Fatalf("asin out of range: %d", r)
		}
		if r := acos(x); r < 0 || r > deg180 {
			t.Fatalf("acos out of range: %d", r)
		}
		if r := expNegQ30(x); r < 0 || r > one {
			t.Fatalf("expNeg out of range: %d", r)
		}
		if c := y; c != 0 {
			_ = mulDiv(a, x, c)
		}
	})
}
