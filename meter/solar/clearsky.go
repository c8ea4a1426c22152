package solar

// SolarConstantWm2 is the total solar irradiance at 1 AU (Kopp & Lean
// 2011, 1360.8 ± 0.5 W/m²), rounded.
const SolarConstantWm2 int64 = 1361

// CosZenithPPM returns the cosine of the sun's true (airless, topocentric)
// zenith angle in parts per million, clamped to 0 when the sun is below
// the horizon: the factor by which a horizontal surface receives beam
// light. Inputs as for Position.
func CosZenithPPM(unixSec, latE6, lonE6 int64) (int64, error) {
	cz, _, err := cosZenithQ30(unixSec, latE6, lonE6)
	if err != nil {
		return 0, err
	}
	return mulDiv(cz, 1_000_000, one), nil
}

func cosZenithQ30(unixSec, latE6, lonE6 int64) (cz int64, eph ephemeris, err error) {
	if err := checkTime(unixSec); err != nil {
		return 0, ephemeris{}, err
	}
	if err := checkSite(latE6, lonE6); err != nil {
		return 0, ephemeris{}, err
	}
	eph = sunEphemeris(unixSec)
	h := direction(unixSec, newSite(latE6, lonE6), eph)
	if h.elev <= 0 {
		return 0, eph, nil
	}
	s, _ := sincos(h.elev)
	return s, eph, nil
}

// ExtraterrestrialHorizontalWm2 returns the irradiance on a horizontal
// plane at the top of the atmosphere above the site, W/m²:
// SolarConstantWm2 × (1 AU / R)² × cos(zenith), 0 with the sun down.
func ExtraterrestrialHorizontalWm2(unixSec, latE6, lonE6 int64) (int64, error) {
	cz, eph, err := cosZenithQ30(unixSec, latE6, lonE6)
	if err != nil || cz == 0 {
		return 0, err
	}
	r2 := mulQ(eph.rQ30, eph.rQ30)
	return mulDiv(SolarConstantWm2*cz, 1, r2), nil
}

// ClearSkyGHIWm2 returns a clear-sky global horizontal irradiance, W/m²,
// from Haurwitz's model (Haurwitz 1945; as in pvlib's
// clearsky.haurwitz): GHI = 1098 cos z · exp(−0.057 / cos z), 0 with the
// sun down. It needs no site data beyond position and is good to about
// 10 % on clear days at low-altitude sites; the simulator uses it as the
// shape of a sunny day, not as a bound.
func ClearSkyGHIWm2(unixSec, latE6, lonE6 int64) (int64, error) {
	cz, _, err := cosZenithQ30(unixSec, latE6, lonE6)
	if err != nil || cz == 0 {
		return 0, err
	}
	x := mulDiv(57*one, one, 1000*cz) // 0.057 / cos z in Q30
	return mulDiv(1098*cz, expNegQ30(x), one*one), nil
}

// ln2Q30 is ln 2 in Q30.
const ln2Q30 int64 = 744261118

// expNegQ30 returns exp(−x) in Q30 for x ≥ 0 in Q30 (negative x is taken
// as 0). x = k ln 2 + r with 0 ≤ r < ln 2, exp(−r) by its Taylor series to
// r¹³/13! (truncation < 2e-13), then a shift by k.
func expNegQ30(x int64) int64 {
	if x <= 0 {
		return one
	}
	if x >= 31*ln2Q30 {
		return 0
	}
	k := x / ln2Q30
	r := x - k*ln2Q30
	// Horner: 1 − r(1 − r/2(1 − r/3(…(1 − r/13)))), in Q30.
	acc := one
	for n := int64(13); n >= 1; n-- {
		acc = one - mulQ(r, acc)/n
	}
	return (acc + (1<<k)>>1) >> k
}
