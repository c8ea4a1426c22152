package solar

import (
	"math"
	"testing"
	"time"
)

// refPosition is a float64 transcription of the same algorithm (NOAA solar
// calculator / Meeus low accuracy, direction from the east-north-up vector,
// parallax, SPA refraction), used to measure the fixed-point error alone.
type refPos struct {
	zenith, azimuth, trueElev, decl, eotMin float64 // degrees, minutes
	dist                                    float64 // AU
}

func refPosition(unix int64, latDeg, lonDeg, pHPa, tC float64) refPos {
	rad := math.Pi / 180
	T := float64(unix-j2000Unix) / float64(secPerCentury)
	l0 := math.Mod(280.46646+T*(36000.76983+T*0.0003032), 360)
	m := 357.52911 + T*(35999.05029-0.0001537*T)
	e := 0.016708634 - T*(0.000042037+0.0000001267*T)
	c := math.Sin(m*rad)*(1.914602-T*(0.004817+0.000014*T)) + math.Sin(2*m*rad)*(0.019993-0.000101*T) + math.Sin(3*m*rad)*0.000289
	trueLong := l0 + c
	nu := m + c
	r := 1.000001018 * (1 - e*e) / (1 + e*math.Cos(nu*rad))
	omega := 125.04 - 1934.136*T
	lambda := trueLong - 0.00569 - 0.00478*math.Sin(omega*rad)
	eps0 := 23 + (26+(21.448-T*(46.815+T*(0.00059-T*0.001813)))/60)/60
	eps := eps0 + 0.00256*math.Cos(omega*rad)
	decl := math.Asin(math.Sin(eps*rad) * math.Sin(lambda*rad))
	y := math.Tan(eps*rad/2) * math.Tan(eps*rad/2)
	eq := y*math.Sin(2*l0*rad) - 2*e*math.Sin(m*rad) + 4*e*y*math.Sin(m*rad)*math.Cos(2*l0*rad) -
		0.5*y*y*math.Sin(4*l0*rad) - 1.25*e*e*math.Sin(2*m*rad)
	eotMin := 4 * eq / rad
	sod := float64(((unix % 86400) + 86400) % 86400)
	ha := sod/240 - 180 + eotMin/4 + lonDeg
	phi, H := latDeg*rad, ha*rad
	east := -math.Cos(decl) * math.Sin(H)
	north := math.Sin(decl)*math.Cos(phi) - math.Cos(decl)*math.Cos(H)*math.Sin(phi)
	up := math.Sin(decl)*math.Sin(phi) + math.Cos(decl)*math.Cos(H)*math.Cos(phi)
	hor := math.Hypot(east, north)
	el := math.Atan2(up, hor) / rad
	el -= 8.794 / 3600 / r * hor
	az := math.Mod(math.Atan2(east, north)/rad+360, 360)
	ref := 0.0
	if el >= -0.83337 && pHPa > 0 {
		ref = pHPa / 1010 * 283 / (273 + tC) * 1.02 / (60 * math.Tan((el+10.3/(el+5.11))*rad))
		if ref < 0 {
			ref = 0
		}
	}
	return refPos{zenith: 90 - el - ref, azimuth: az, trueElev: el, decl: decl / rad, eotMin: eotMin, dist: r}
}

// TestSPAFloatReference checks that the float transcription itself
// reproduces SPA to the same level, so that comparing against it is
// meaningful.
func TestSPAFloatReference(t *testing.T) {
	r := refPosition(spaTime, spaLatE6/1e6, spaLonE6/1e6, 820, 11)
	t.Logf("float reference at SPA example: zenith %.5f°, azimuth %.5f°", r.zenith, r.azimuth)
	if math.Abs(r.zenith-50.11162) > 0.01 || math.Abs(r.azimuth-194.34024) > 0.01 {
		t.Errorf("float reference off: %+v", r)
	}
}

// TestPositionAgainstFloat compares Position with refPosition over
// latitudes −66..66° (every 6°), longitudes −179.65..180° (every 30°) and a
// year of instants (every 7 h 13 min 17 s through 2026, so that hours and
// minutes are sampled unevenly), plus instants spread over 1900–2200.
func TestPositionAgainstFloat(t *testing.T) {
	var maxZen, maxAz, maxDecl, maxEotS, maxTrue, maxDist float64
	n := 0
	check := func(ts, latE6, lonE6 int64) {
		p, err := Position(ts, latE6, lonE6)
		if err != nil {
			t.Fatal(err)
		}
		r := refPosition(ts, float64(latE6)/1e6, float64(lonE6)/1e6, 1010, 10)
		n++
		ez := math.Abs(float64(p.ZenithE6)/1e6 - r.zenith)
		et := math.Abs(float64(p.TrueElevationE6)/1e6 - r.trueElev)
		ed := math.Abs(float64(p.DeclinationE6)/1e6 - r.decl)
		ee := math.Abs(float64(p.EquationOfTimeMs)/1000 - r.eotMin*60)
		maxDist = math.Max(maxDist, math.Abs(float64(p.DistanceE9)/1e9-r.dist))
		ea := math.Abs(float64(p.AzimuthE6)/1e6 - r.azimuth)
		if ea > 180 {
			ea = 360 - ea
		}
		// Azimuth is undefined at the zenith; weight its error by sin(zenith).
		ea *= math.Sin(r.zenith * math.Pi / 180)
		maxZen, maxAz, maxDecl, maxEotS, maxTrue = math.Max(maxZen, ez), math.Max(maxAz, ea), math.Max(maxDecl, ed), math.Max(maxEotS, ee), math.Max(maxTrue, et)
		if ez > 1e-5 || ea > 1e-5 || ed > 1e-5 || ee > 0.005 || et > 1e-5 {
			t.Fatalf("t=%d lat=%d lon=%d: fixed %+v, float %+v", ts, latE6, lonE6, p, r)
		}
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	tStep := int64(7*3600 + 13*60 + 17)
	if testing.Short() {
		tStep *= 9
	}
	for lat := int64(-66); lat <= 66; lat += 6 {
		for lon := int64(-179); lon <= 180; lon += 30 {
			for ts := start; ts < start+365*86400; ts += tStep {
				check(ts, lat*1_000_000+123_457, lon*1_000_000-654_321)
			}
		}
	}
	for ts := MinUnix; ts < MaxUnix; ts += 86400*97 + 3607 {
		check(ts, 47_000_000, 8_000_000)
	}
	t.Logf("%d points; max |fixed − float|: zenith %.2g°, sin(z)·azimuth %.2g°, true elevation %.2g°, declination %.2g°, equation of time %.2g s, distance %.2g AU",
		n, maxZen, maxAz, maxTrue, maxDecl, maxEotS, maxDist)
	if maxDist > 1e-8 {
		t.Errorf("distance error %.2g AU", maxDist)
	}
}
