package sim

// Integer solar geometry for the simulator.
//
// The simulator's own fast sun; meter/solar is the reference the
// plausibility checks use, and the tests tie the two together. Everything here is integer
// arithmetic on micro-degrees and on values scaled by 1e9 or 1e6, so the
// result is bit-identical on every architecture (no float, hence no fused
// multiply-add or libm differences between amd64 and arm64).
//
// Accuracy: sine by linear interpolation in a 1° table (error < 4e-5),
// declination and equation of time from Meeus's low-accuracy solar
// longitude (the NOAA calculator's method, without the slow secular
// terms), longitude as local solar time; refraction and parallax are
// ignored. Measured against meter/solar (the integer NOAA/Meeus ephemeris
// the plausibility checks use) the elevation agrees to about 0.01°
// (sim_solar_test.go). Spencer's Fourier series, tried first, was 0.4° off
// near the 2026 equinoxes.
//
// Why not call meter/solar directly: the simulator evaluates the sun once
// per home and minute (1.4 million times per simulated day of 1,000
// homes), and meter/solar's full ephemeris costs ~25× more per call.

// simSinTableE9[k] is sin(k°) × 1e9, rounded.
var simSinTableE9 = [91]int64{
	0, 17452406, 34899497, 52335956, 69756474, 87155743,
	104528463, 121869343, 139173101, 156434465, 173648178, 190808995,
	207911691, 224951054, 241921896, 258819045, 275637356, 292371705,
	309016994, 325568154, 342020143, 358367950, 374606593, 390731128,
	406736643, 422618262, 438371147, 453990500, 469471563, 484809620,
	500000000, 515038075, 529919264, 544639035, 559192903, 573576436,
	587785252, 601815023, 615661475, 629320391, 642787610, 656059029,
	669130606, 681998360, 694658370, 707106781, 719339800, 731353702,
	743144825, 754709580, 766044443, 777145961, 788010754, 798635510,
	809016994, 819152044, 829037573, 838670568, 848048096, 857167301,
	866025404, 874619707, 882947593, 891006524, 898794046, 906307787,
	913545458, 920504853, 927183855, 933580426, 939692621, 945518576,
	951056516, 956304756, 961261696, 965925826, 970295726, 974370065,
	978147601, 981627183, 984807753, 987688341, 990268069, 992546152,
	994521895, 996194698, 997564050, 998629535, 999390827, 999847695,
	1000000000,
}

// simHaurwitzPpm[k] is the Haurwitz clear-sky global horizontal irradiance at
// sin(elevation) = k/50, as a fraction of 1000 W/m² in ppm:
// 1.098·s·exp(−0.057/s).
var simHaurwitzPpm = [51]int64{
	0, 1270, 10563, 25478, 43078, 62095, 81940, 102308,
	123028, 143995, 165142, 186425, 207811, 229279, 250813, 272400,
	294031, 315699, 337397, 359122, 380869, 402635, 424418, 446216,
	468027, 489850, 511682, 533524, 555374, 577231, 599095, 620965,
	642840, 664720, 686605, 708494, 730387, 752284, 774183, 796086,
	817992, 839900, 861810, 883723, 905638, 927555, 949473, 971394,
	993316, 1015239, 1037164,
}

const (
	simDeg90E6  = 90_000_000
	simDeg180E6 = 180_000_000
	simDeg360E6 = 360_000_000
)

// simSinE9 returns sin(angle) × 1e9 for an angle in micro-degrees.
func simSinE9(angleE6 int64) int64 {
	a := angleE6 % simDeg360E6
	if a < 0 {
		a += simDeg360E6
	}
	sign := int64(1)
	if a >= simDeg180E6 {
		a -= simDeg180E6
		sign = -1
	}
	if a > simDeg90E6 {
		a = simDeg180E6 - a
	}
	k := a / 1_000_000
	frac := a % 1_000_000
	v := simSinTableE9[k]
	if k < 90 {
		v += (simSinTableE9[k+1] - simSinTableE9[k]) * frac / 1_000_000
	}
	return sign * v
}

// simCosE9 returns cos(angle) × 1e9 for an angle in micro-degrees.
func simCosE9(angleE6 int64) int64 { return simSinE9(angleE6 + simDeg90E6) }

// simFloorDiv is integer division rounding toward minus infinity.
func simFloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// simSunEph is the time-dependent part of the sun's position: it changes
// by at most 0.004° of declination and 0.2 s of equation of time in 15
// minutes, so the simulator evaluates it once per interval (at its middle)
// and only the hour angle per sub-step.
type simSunEph struct {
	sinDec, cosDec int64 // × 1e9
	eotS           int64 // equation of time, seconds
}

// simSunEphemeris evaluates the sun's declination and the equation of time
// at unixS.
func simSunEphemeris(unixS int64) simSunEph {
	// The sun's mean longitude L0 and mean anomaly M (Meeus, Astronomical
	// Algorithms ch. 25, low accuracy), advanced from J2000.0 at their
	// rates in µ°/s (scaled by 1e6), reduced modulo 360°.
	dt := unixS - 946728000 // seconds since 2000-01-01T12:00Z
	l0E6 := simMod(280_466_460+simFloorDiv(dt*11_407_956, 1_000_000), simDeg360E6)
	mE6 := simMod(357_529_110+simFloorDiv(dt*11_407_411, 1_000_000), simDeg360E6)
	sinM, sin2M := simSinE9(mE6), simSinE9(2*mE6)

	// True longitude λ = L0 + C (equation of centre), less 0.00569° of
	// aberration; declination from sin δ = sin ε · sin λ (ε = 23.4362°).
	cE6 := (1_914_602*sinM + 19_993*sin2M + 289*simSinE9(3*mE6)) / 1_000_000_000
	lambdaE6 := l0E6 + cE6 - 5_690
	sinDec := 397_727_657 * simSinE9(lambdaE6) / 1_000_000_000
	cosDec := simISqrt(1_000_000_000_000_000_000 - sinDec*sinDec)

	// Equation of time (Meeus eq. 28.3), coefficients in 1/100 s:
	// y·sin 2L0 − 2e·sin M + 4ey·sin M·cos 2L0 − y²/2·sin 4L0 − 5e²/4·sin 2M.
	cos2L0 := simCosE9(2 * l0E6)
	eotS := (59_161*simSinE9(2*l0E6) - 45_952*sinM + 3_954*(sinM*cos2L0/1_000_000_000) -
		1_273*simSinE9(4*l0E6) - 480*sin2M) / 100_000_000_000
	return simSunEph{sinDec: sinDec, cosDec: cosDec, eotS: eotS}
}

// sinElevationE9 returns sin(solar elevation) × 1e9 at unixS for a site
// with the given sin and cos of latitude (× 1e9) and longitude (µ°).
func (e simSunEph) sinElevationE9(sinLat, cosLat, lonE6, unixS int64) int64 {
	// Local solar time: 240 s per degree of longitude east of Greenwich.
	solarS := simMod(unixS, 86400) + lonE6*240/1_000_000 + e.eotS
	// Hour angle: 15° per hour from solar noon, i.e. 1/240 ° per second.
	hourE6 := (solarS - 43200) * 1_000_000 / 240
	return (sinLat*e.sinDec)/1_000_000_000 +
		((cosLat*e.cosDec)/1_000_000_000)*simCosE9(hourE6)/1_000_000_000
}

// simSunSinElevationE9 returns sin(solar elevation) × 1e9 at the site
// (latitude and longitude in micro-degrees) at unixS seconds (UTC).
// Negative values mean the sun is below the horizon.
func simSunSinElevationE9(latE6, lonE6, unixS int64) int64 {
	return simSunEphemeris(unixS).sinElevationE9(simSinE9(latE6), simCosE9(latE6), lonE6, unixS)
}

// simClearSkyPpm returns the clear-sky horizontal irradiance, as ppm of
// 1000 W/m², for sin(elevation) × 1e9 (0 below the horizon).
func simClearSkyPpm(sinElE9 int64) int64 {
	if sinElE9 <= 0 {
		return 0
	}
	if sinElE9 >= 1_000_000_000 {
		return simHaurwitzPpm[50]
	}
	const step = 1_000_000_000 / 50
	k := sinElE9 / step
	frac := sinElE9 % step
	return simHaurwitzPpm[k] + (simHaurwitzPpm[k+1]-simHaurwitzPpm[k])*frac/step
}
