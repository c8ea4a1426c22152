package solar

import (
	"errors"
	"fmt"
)

// Valid input ranges. Inputs outside them are rejected with an error
// wrapping one of the sentinel errors below; nothing is clamped silently.
const (
	// MinUnix is 1900-01-01T00:00:00Z and MaxUnix is 2200-01-01T00:00:00Z:
	// the span over which the low-precision solar coordinates keep the
	// accuracy stated in doc.go.
	MinUnix int64 = -2208988800
	MaxUnix int64 = 7258118400

	MaxLatE6 int64 = 90_000_000  // latitude in [-90°, 90°], north positive
	MaxLonE6 int64 = 180_000_000 // longitude in [-180°, 180°], east positive

	// StandardPressureHPa and StandardTempC are the atmosphere assumed by
	// Position for refraction (the conventions of Reda & Andreas' SPA).
	StandardPressureHPa int64 = 1010
	StandardTempC       int64 = 10
)

// Sentinel errors; returned errors wrap them (test with errors.Is).
var (
	ErrTime       = errors.New("solar: time out of range [1900, 2200)")
	ErrLatitude   = errors.New("solar: latitude out of range [-90°, 90°]")
	ErrLongitude  = errors.New("solar: longitude out of range [-180°, 180°]")
	ErrAtmosphere = errors.New("solar: pressure or temperature out of range")
	ErrInterval   = errors.New("solar: interval end before start or too long")
	ErrThreshold  = errors.New("solar: threshold above the allowed maximum")
)

// SunPosition is the sun's position for one instant and site. Angles are in
// micro-degrees (1e-6 °).
type SunPosition struct {
	// ZenithE6 is the topocentric zenith angle of the sun's centre, as
	// seen through the atmosphere (refraction applied), in [0°, 180°].
	ZenithE6 int64
	// AzimuthE6 is measured eastward from north, in [0°, 360°).
	AzimuthE6 int64
	// ElevationE6 is 90° − ZenithE6: the apparent elevation.
	ElevationE6 int64
	// TrueElevationE6 is the topocentric elevation without refraction
	// (airless geometry, parallax included).
	TrueElevationE6 int64
	// RefractionE6 is ElevationE6 − TrueElevationE6 (≥ 0).
	RefractionE6 int64
	// DeclinationE6 is the sun's apparent geocentric declination.
	DeclinationE6 int64
	// HourAngleE6 is the local hour angle, in [-180°, 180°), negative
	// before local solar noon.
	HourAngleE6 int64
	// EquationOfTimeMs is apparent minus mean solar time, milliseconds.
	EquationOfTimeMs int64
	// DistanceE9 is the Earth–sun distance in 1e-9 AU.
	DistanceE9 int64
}

// ephemeris holds the geocentric quantities that depend on time only.
type ephemeris struct {
	decl       int64 // apparent declination, nd
	sinD, cosD int64 // Q30
	eot        int64 // equation of time as an angle, nd (4 min per degree)
	rQ30       int64 // radius vector, AU in Q30
}

const j2000Unix int64 = 946728000      // 2000-01-01T12:00:00Z (JD 2451545.0)
const secPerCentury int64 = 3155760000 // 36525 days

// sunEphemeris evaluates the NOAA solar calculator's formulas (Meeus,
// Astronomical Algorithms, ch. 25, low accuracy) at Unix time t, which the
// caller has range-checked. Time is UT; ΔT (≈ 69 s) is neglected, which
// moves the sun by < 0.001°. Coefficients are the published decimal ones,
// scaled to integers (nd, 1e-12 century, micro-arcsecond) exactly.
func sunEphemeris(t int64) ephemeris {
	s := t - j2000Unix
	jc := mulDiv(s, 1e12, secPerCentury) // Julian centuries × 1e12
	jc2 := mulDiv(jc, jc, 1e12)          // JC² × 1e12

	// Geometric mean longitude L0 = 280.46646 + 36000.76983 T + 0.0003032 T².
	l0 := floorMod(280_466_460_000+mulDiv(s, 36_000_769_830_000, secPerCentury)+
		mulDiv(jc2, 303_200, 1e12), deg360)
	// Mean anomaly M = 357.52911 + 35999.05029 T − 0.0001537 T².
	m := floorMod(357_529_110_000+mulDiv(s, 35_999_050_290_000, secPerCentury)-
		mulDiv(jc2, 153_700, 1e12), deg360)
	// Eccentricity e = 0.016708634 − 0.000042037 T − 0.0000001267 T² (×1e12).
	eE12 := 16_708_634_000 - mulDiv(jc, 42_037_000, 1e12) - mulDiv(jc2, 126_700, 1e12)
	e := mulDiv(eE12, one, 1e12)

	// sin 2M and sin 3M by the double- and triple-angle identities: two
	// CORDIC runs fewer, same accuracy (a few Q30 LSB).
	sinM, cosM := sincos(m)
	sin2M := 2 * mulQ(sinM, cosM)
	sin3M := mulQ(sinM, 3*one-4*mulQ(sinM, sinM))
	// Equation of centre C (degrees coefficients in nd).
	c := mulDiv(sinM, 1_914_602_000-mulDiv(jc, 4_817_000, 1e12)-mulDiv(jc2, 14_000, 1e12), one) +
		mulDiv(sin2M, 19_993_000-mulDiv(jc, 101_000, 1e12), one) +
		mulDiv(sin3M, 289_000, one)
	trueLong := l0 + c
	_, cosNu := sincos(m + c) // true anomaly ν = M + C

	// Radius vector R = 1.000001018 (1 − e²) / (1 + e cos ν).
	num := mulDiv(one-mulQ(e, e), 1_000_001_018, 1_000_000_000)
	r := mulDiv(num, one, one+mulQ(e, cosNu))

	// Apparent longitude λ = ☉ − 0.00569 − 0.00478 sin Ω, Ω = 125.04 − 1934.136 T.
	omega := 125_040_000_000 - mulDiv(jc, 1_934_136_000_000, 1e12)
	sinO, cosO := sincos(omega)
	lambda := trueLong - 5_690_000 - mulDiv(sinO, 4_780_000, one)

	// Mean obliquity ε0 = 84381.448″ − 46.815″ T − 0.00059″ T² + 0.001813″ T³
	// (in micro-arcseconds), corrected by 0.00256° cos Ω.
	jc3 := mulDiv(jc2, jc, 1e12)
	eps0uas := 84_381_448_000 - mulDiv(jc, 46_815_000, 1e12) - mulDiv(jc2, 590, 1e12) + mulDiv(jc3, 1_813, 1e12)
	eps := mulDiv(eps0uas, 1000, 3600) + mulDiv(cosO, 2_560_000, one)

	sinEps, cosEps := sincos(eps)
	sinLam, _ := sincos(lambda)
	sinD := mulQ(sinEps, sinLam)
	decl := asin(sinD)
	cosD := sqrtQ(one - mulQ(sinD, sinD))

	// Equation of time (radians, Q30):
	// E = y sin 2L0 − 2e sin M + 4 e y sin M cos 2L0 − ½ y² sin 4L0 − 5/4 e² sin 2M,
	// y = tan²(ε/2) = (1 − cos ε)/(1 + cos ε).
	y := mulDiv(one-cosEps, one, one+cosEps)
	sin2L, cos2L := sincos(2 * l0)
	sin4L := 2 * mulQ(sin2L, cos2L)
	eq := mulQ(y, sin2L) - 2*mulQ(e, sinM) + 4*mulQ(mulQ(e, y), mulQ(sinM, cos2L)) -
		mulQ(mulQ(y, y), sin4L)/2 - mulQ(mulQ(mulQ(e, e), sin2M), 5*one/4)
	eot := mulDiv(eq, ndPerRadMilli, 1000*one)

	return ephemeris{decl: decl, sinD: sinD, cosD: cosD, eot: eot, rQ30: r}
}

// hourAngle returns the local hour angle in nd, in [-180°, 180°), for Unix
// time t, the equation of time eot (nd) and longitude lon (nd, east +).
func hourAngle(t, eot, lon int64) int64 {
	// The mean sun's hour angle at Greenwich is 360° per 86400 s, 180° at
	// 00:00 UTC: sod × 1e9/240 nd = sod × 12 500 000 / 3.
	sod := floorMod(t, 86400)
	return wrap180(mulDiv(sod, 12_500_000, 3) - deg180 + eot + lon)
}

// horizon is the airless topocentric direction of the sun at a site.
type horizon struct {
	elev    int64 // true (airless) topocentric elevation, nd
	geoElev int64 // geocentric elevation (no parallax), nd
	azimuth int64 // nd, [0°, 360°)
	ha      int64 // hour angle, nd
}

// siteTrig caches the sine and cosine of the latitude.
type siteTrig struct {
	lat, lon   int64 // nd
	sinP, cosP int64 // Q30
}

func newSite(latE6, lonE6 int64) siteTrig {
	lat, lon := latE6*1000, lonE6*1000
	sp, cp := sincos(lat)
	if cp < 0 {
		cp = 0
	}
	return siteTrig{lat: lat, lon: lon, sinP: sp, cosP: cp}
}

// solarParallaxNd is the sun's equatorial horizontal parallax at 1 AU,
// 8.794″, in nd.
const solarParallaxNd int64 = 2_442_778

// direction computes the sun's airless elevation and azimuth at a site.
func direction(t int64, s siteTrig, eph ephemeris) horizon {
	ha := hourAngle(t, eph.eot, s.lon)
	sinH, cosH := sincos(ha)
	// Unit vector of the sun in the local east-north-up frame (Q30):
	//   east  = −cos δ sin H
	//   north =  sin δ cos φ − cos δ cos H sin φ
	//   up    =  sin δ sin φ + cos δ cos H cos φ
	// Elevation and azimuth come from atan2 of these components, which is
	// well conditioned everywhere (acos of "up" is not near the zenith).
	cdch := mulQ(eph.cosD, cosH)
	east := -mulQ(eph.cosD, sinH)
	north := (eph.sinD*s.cosP - cdch*s.sinP + 1<<29) >> 30
	up := (eph.sinD*s.sinP + cdch*s.cosP + 1<<29) >> 30
	hor := int64(isqrt(uint64(east*east + north*north)))
	el := atan2(up, hor)
	az := floorMod(atan2(east, north), deg360)
	// Parallax lowers the sun by ξ cos(elevation), ξ = 8.794″/R.
	par := mulDiv(mulDiv(solarParallaxNd, one, eph.rQ30), hor, one)
	return horizon{elev: el - par, geoElev: el, azimuth: az, ha: ha}
}

// refraction returns the atmospheric refraction in nd for a true
// elevation el (nd) with Sæmundsson's formula as used by SPA (Reda &
// Andreas 2004, eq. 42):
//
//	Δe = (P/1010)(283/(273+T)) · 1.02 / (60 tan(e + 10.3/(e + 5.11)))  [°]
//
// applied when e ≥ −0.83337° (the sun's upper limb at or above the
// horizon) and zero below, clamped at ≥ 0 (the formula turns slightly
// negative within 0.1° of the zenith).
func refraction(el, pressureHPa, tempC int64) int64 {
	if el < -833_370_000 || pressureHPa == 0 {
		return 0
	}
	x := el + mulDiv(10_300_000_000, ndPerDeg, el+5_110_000_000)
	sx, cx := sincos(x)
	if sx <= 0 || cx <= 0 {
		return 0
	}
	d := mulDiv(17_000_000, cx, sx) // 1.02/60 ° = 0.017°
	return mulDiv(d, pressureHPa*283, 1010*(273+tempC))
}

func checkSite(latE6, lonE6 int64) error {
	if latE6 < -MaxLatE6 || latE6 > MaxLatE6 {
		return fmt.Errorf("latitude %d µ°: %w", latE6, ErrLatitude)
	}
	if lonE6 < -MaxLonE6 || lonE6 > MaxLonE6 {
		return fmt.Errorf("longitude %d µ°: %w", lonE6, ErrLongitude)
	}
	return nil
}

func checkTime(t int64) error {
	if t < MinUnix || t >= MaxUnix {
		return fmt.Errorf("unix time %d: %w", t, ErrTime)
	}
	return nil
}

// Position returns the sun's topocentric position at Unix time unixSec
// (UTC) for a site at latitude latE6 and longitude lonE6 (micro-degrees,
// north and east positive), with refraction for the standard atmosphere
// (1010 hPa, 10 °C). Out-of-range inputs give an error wrapping ErrTime,
// ErrLatitude or ErrLongitude.
func Position(unixSec, latE6, lonE6 int64) (SunPosition, error) {
	return PositionAtm(unixSec, latE6, lonE6, StandardPressureHPa, StandardTempC)
}

// PositionAtm is Position with refraction for the given local pressure
// (hPa, 0..2000; 0 means no atmosphere) and temperature (°C, −100..100).
func PositionAtm(unixSec, latE6, lonE6, pressureHPa, tempC int64) (SunPosition, error) {
	if err := checkTime(unixSec); err != nil {
		return SunPosition{}, err
	}
	if err := checkSite(latE6, lonE6); err != nil {
		return SunPosition{}, err
	}
	if pressureHPa < 0 || pressureHPa > 2000 || tempC < -100 || tempC > 100 {
		return SunPosition{}, fmt.Errorf("%d hPa, %d °C: %w", pressureHPa, tempC, ErrAtmosphere)
	}
	eph := sunEphemeris(unixSec)
	h := direction(unixSec, newSite(latE6, lonE6), eph)
	ref := refraction(h.elev, pressureHPa, tempC)
	app := roundDiv(h.elev+ref, 1000)
	return SunPosition{
		ZenithE6:         90_000_000 - app,
		AzimuthE6:        floorMod(roundDiv(h.azimuth, 1000), 360_000_000),
		ElevationE6:      app,
		TrueElevationE6:  roundDiv(h.elev, 1000),
		RefractionE6:     app - roundDiv(h.elev, 1000),
		DeclinationE6:    roundDiv(eph.decl, 1000),
		HourAngleE6:      roundDiv(h.ha, 1000),
		EquationOfTimeMs: mulDiv(eph.eot, 240_000, ndPerDeg),
		DistanceE9:       mulDiv(eph.rQ30, 1e9, one),
	}, nil
}
