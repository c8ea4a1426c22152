// Package solar computes the sun's position, sunrise and sunset, and
// clear-sky irradiance with integer arithmetic only, for gridmint's
// deterministic ledger (the plausibility rule "no PV generation while the
// sun is below the horizon") and for the meter simulator (the shape of a
// sunny day).
//
// # What it provides
//
//   - Position / PositionAtm: topocentric zenith, azimuth (eastward from
//     north), apparent and true elevation, refraction, declination, hour
//     angle, equation of time and Earth–sun distance for one instant and
//     site.
//   - SunriseSunset: transit, sunrise and sunset for a UTC date and site,
//     or a polar day or night.
//   - SunBelowHorizonThroughout, SunBelowThroughout, MaxElevationBound:
//     the ledger's predicate, "the sun stayed well below the horizon for
//     the whole interval", and the upper bound on elevation behind it.
//   - CosZenithPPM, ExtraterrestrialHorizontalWm2, ClearSkyGHIWm2:
//     integer clear-sky helpers for the simulator.
//
// It does not model terrain, shading, panels or weather, and it is not a
// high-precision ephemeris (see Accuracy).
//
// # Units and ranges
//
// Times are Unix seconds, UTC, in [MinUnix, MaxUnix) = 1900–2200.
// Latitude and longitude are micro-degrees (1e-6 °), north and east
// positive, in [−90°, 90°] and [−180°, 180°]. Angles returned are
// micro-degrees; irradiance W/m²; cosines parts per million. Inputs out of
// range are never clamped: they return an error wrapping ErrTime,
// ErrLatitude, ErrLongitude, ErrAtmosphere, ErrInterval or ErrThreshold,
// except SunBelowHorizonThroughout, which has no error result and answers
// false ("do not reject") for any invalid input.
//
// Inside, angles are nanodegrees in int64 and unit quantities (sines,
// eccentricity, AU) are Q30 (value × 2^30). sin/cos and atan2 are CORDIC
// (36 iterations, Q40 coordinates, an atan(2^-i) table in picodegrees);
// asin and acos are atan2 of (x, √(1−x²)); square roots are integer
// Newton iterations; a·b/c uses a 128-bit intermediate (math/bits) with
// round-to-nearest; exp(−x) (for the clear-sky model) is a range reduction
// by ln 2 and a 13-term Taylor series. Measured against the math package
// on dense grids (fixed_test.go, clearsky_test.go): sin/cos ≤ 5.0e-10
// absolute (0.54 Q30 LSB); atan2 ≤ 3.1e-9°; asin/acos ≤ 2e-6°, the worst
// at ±1 where one Q30 LSB of input is already 0.0025° of output (the
// position code therefore uses atan2 of vector components, never acos of
// a cosine near 1); isqrt and mulDiv exact; exp ≤ 8.1e-10.
//
// No floating-point type, no math package, no maps, no goroutines and no
// clock appear outside the _test.go files, so every result is a pure
// function of the inputs and bit-identical on every architecture. The
// golden test hashes all outputs over a grid; scripts/cross-test runs it
// under qemu as linux/arm64 and linux/arm.
//
// # Algorithm and its sources
//
// Solar coordinates follow the NOAA Solar Calculator (NOAA Global
// Monitoring Laboratory, "General Solar Position Calculations" and its
// spreadsheet), which implements J. Meeus, Astronomical Algorithms
// (2nd ed., 1998), ch. 25 "low accuracy": geometric mean longitude and
// anomaly, equation of centre, apparent longitude with the main nutation
// and aberration term, obliquity, declination, the equation of time and
// the radius vector. The published decimal coefficients are scaled to
// exact integers. Time is taken as UT throughout (ΔT ≈ 69 s neglected: it
// moves the sun by less than 0.001°).
//
// From declination δ, latitude φ and hour angle H the sun's unit vector in
// the local east-north-up frame is formed, and elevation and azimuth are
// atan2 of its components (well conditioned at the zenith, unlike acos).
// Topocentric parallax lowers the sun by 8.794″/R · cos(elevation).
// Refraction is Sæmundsson's formula as used by NREL's SPA (Reda &
// Andreas, NREL/TP-560-34302, eq. 42), scaled by pressure and temperature
// (Position uses 1010 hPa and 10 °C) and applied only while the sun's
// upper limb is up (true elevation ≥ −0.83337°).
//
// Why this algorithm: its published accuracy (about 0.01°, "within a
// minute of arc" per NOAA for 1800–2100) is far finer than anything the
// ledger decides with (a threshold 6° below the horizon) or the simulator
// needs (0.01° of zenith changes horizontal irradiance by 0.03 % at 60°
// zenith and 0.2 % at 85°); it needs only about a dozen trigonometric
// evaluations, which keeps a Raspberry Pi fast; and unlike Grena's fast
// algorithms it is valid over centuries, not just 2010–2110. SPA (±0.0003°) would cost a
// few hundred periodic terms for no gain here.
//
// # Accuracy (measured)
//
//   - Against NREL's SPA example (2003-10-17 12:30:30 UTC−7, Golden, CO,
//     820 hPa, 11 °C): zenith 50.11347° vs 50.11162° (+0.0019°), azimuth
//     194.34258° vs 194.34024° (+0.0023°); sunrise 06:12:43, equal to
//     SPA to the second. SPA's sunset figure, 17:20:19, is the sunset of
//     the day before (SPA wraps rise/set into the UT day; see
//     riseset_test.go): this package's sunset for 2003-10-16 is 17:20:18,
//     and for 2003-10-17 it is 17:18:51, which an independent float
//     bisection confirms to 0.1 s.
//   - Fixed point against a double-precision transcription of the same
//     algorithm over 336,000 points (latitudes −66..66°, all longitudes, a year of
//     instants, plus 1900–2200): zenith, elevation and sin(zenith)·azimuth
//     within 8e-7°, declination 5.4e-7°, equation of time 0.5 ms,
//     distance 2e-9 AU. The fixed-point error is negligible; the error
//     budget is the algorithm's (≈ 0.01°).
//   - Sunrise and sunset: the sun's centre is at −0.8333° at the returned
//     second to within 0.0021° (the sun moves up to 0.0042° per second).
//
// # The night predicate and its margin
//
// SunBelowHorizonThroughout(start, end, lat, lon) is true only if
// MaxElevationBound for [start, end] is below NightThresholdE6 = −6°. The
// bound is an upper bound, proven in MaxElevationBound's comment and
// tested, on the model's true elevation of the sun's centre at every
// instant of the interval, plus 0.05° for the model's own error (five
// times the published 0.01°, 25 times the 0.002° measured at the SPA
// example). It needs two or three position evaluations per 6 h of
// interval (no per-second loop).
//
// The −6° threshold (the end of civil twilight) is conservative because a
// false rejection costs a homeowner real rewards. Below −6° a PV array
// cannot produce measurable energy from any of:
//
//   - refraction lifting the sun: 0.57° at a standard horizon; strong
//     low-level inversions add up to about 1°;
//   - the sun's semi-diameter, 0.27° (a visible upper limb);
//   - the dip of the horizon for an elevated site, 0.0293°·√(height in
//     m): 0.9° for 1000 m above the surrounding land, 1.6° for 3000 m;
//   - twilight skylight: clear-sky horizontal illuminance falls from a few
//     hundred lux at sunset to a few lux at −6° (≈ 0.03 W/m², under 1 W
//     on a 10 kW array, below any inverter's start-up power);
//   - the model error and the edges of the interval, covered by the bound.
//
// The first three together reach about 4° only in extreme cases, leaving
// two degrees of twilight below them. The known exception is the polar
// Novaya Zemlya mirage, which has shown the sun from up to about 5° below
// the horizon; a ledger that serves polar sites can pass a lower threshold
// to SunBelowThroughout. Thresholds above MaxNightThresholdE6 = −1° are
// refused, so that no configuration can reject a sun that is truly up.
//
// On a real year (PVWatts, 4 kW in Golden, CO, hourly, replayed on
// 2023–2026) no producing hour is flagged, at −6° or at −1°, and of the
// 4511 zero-output hours 3561 are flagged at −6° (3931 at −1°): 99.7 % of
// the hours that a brute-force scan shows to be wholly below −6°.
//
// # Sunrise and sunset
//
// SunriseSunset uses the convention of NOAA and the almanacs: the sun's
// centre at −0°50′ geometric (34′ refraction + 16′ semi-diameter). The
// day is the one whose transit is nearest 12:00 local mean time of the
// given UTC date, so rise and set are the local day's even when the
// sunset falls after 00:00 UTC. Transit is found by iterating the hour
// angle to zero; rise and set by bisection on the elevation over the half
// days either side of transit, which cannot fail near polar days and
// nights as the classic hour-angle iteration can.
//
// # Tests
//
// fixed_test.go: CORDIC table, sin/cos, atan2, asin/acos, isqrt, mulDiv
// against math and math/big on dense grids. position_test.go and
// reference_test.go: the SPA example and the double-precision reference over a
// grid. riseset_test.go: SPA rise/set, self-consistency over latitudes and
// a year, polar cases. night_test.go: the declination-rate premise of the
// bound, the bound against dense sampling for 2000 random intervals (1 s
// to 7 days, poles included), error cases, and the PVWatts year.
// clearsky_test.go: exp and the irradiance helpers. fuzz_test.go: all
// public functions and the primitives on arbitrary int64 input (corpus in
// testdata/fuzz). golden_test.go: the cross-architecture hash.
// bench_test.go: Position, SunBelowHorizonThroughout, SunriseSunset,
// ClearSkyGHI, sin/cos and atan2. Under -short the dense grids are thinned
// for qemu.
package solar
