package solar

import "fmt"

const (
	// NightThresholdE6 is the default threshold of SunBelowHorizonThroughout:
	// the true (airless, topocentric) elevation of the sun's centre, −6°,
	// the end of civil twilight. doc.go explains the margin it keeps.
	NightThresholdE6 int64 = -6_000_000

	// MaxNightThresholdE6 is the highest threshold SunBelowThroughout
	// accepts, −1°: below it the sun's upper limb is under a sea-level
	// horizon even with standard refraction (0.83°) and the model error
	// (0.05°), with 0.12° to spare.
	MaxNightThresholdE6 int64 = -1_000_000

	// MaxIntervalSec is the longest interval the predicate evaluates
	// (7 days); longer ones are rejected with ErrInterval.
	MaxIntervalSec int64 = 7 * 86400
)

const (
	// pieceSec is the length of the pieces an interval is cut into. A piece
	// is shorter than half a day, so it holds at most one local noon.
	pieceSec int64 = 6 * 3600

	// declRateNdPerSec bounds |dδ/dt|: the declination never changes faster
	// than 0.3985°/day (at the equinoxes; checked in night_test.go), here
	// rounded up to 0.4147°/day = 4800 nd/s.
	declRateNdPerSec int64 = 4800

	// modelSlackNd covers the model's own error against the true sun
	// (≤ 0.01° for NOAA/Meeus over 1900–2200, 0.002° measured on the SPA
	// example), the fixed-point error (< 1e-6°) and the error of locating
	// a noon inside a piece (< 2 s of time, < 0.01° of elevation), with
	// room to spare: 0.05°.
	modelSlackNd int64 = 50_000_000
)

// SunBelowHorizonThroughout reports whether the sun's true elevation stays
// below NightThresholdE6 (−6°) at the site for the whole closed interval
// [startUnix, endUnix] (Unix seconds, UTC; latitude and longitude in
// micro-degrees, north and east positive): a PV generation reading for
// such an interval cannot be real. For a reading covering [s, s+L), pass
// endUnix = s+L: including the end second only makes the test stricter.
//
// It is conservative by construction: any invalid input (out-of-range
// time, coordinates, an interval ending before it starts or longer than
// MaxIntervalSec) gives false, i.e. "do not reject". Callers that need to
// tell these cases apart use SunBelowThroughout.
func SunBelowHorizonThroughout(startUnix, endUnix, latE6, lonE6 int64) bool {
	below, err := SunBelowThroughout(startUnix, endUnix, latE6, lonE6, NightThresholdE6)
	return err == nil && below
}

// SunBelowThroughout is SunBelowHorizonThroughout with an explicit
// threshold (true elevation of the sun's centre, micro-degrees), which must
// not exceed MaxNightThresholdE6. It returns true only if
// MaxElevationBound over the interval is below the threshold.
func SunBelowThroughout(startUnix, endUnix, latE6, lonE6, thresholdE6 int64) (bool, error) {
	if thresholdE6 > MaxNightThresholdE6 {
		return false, fmt.Errorf("threshold %d µ°: %w", thresholdE6, ErrThreshold)
	}
	bound, err := MaxElevationBound(startUnix, endUnix, latE6, lonE6)
	if err != nil {
		return false, err
	}
	return bound < thresholdE6, nil
}

// MaxElevationBound returns an upper bound, in micro-degrees, on the sun's
// true (airless, topocentric) elevation at the site during the closed
// interval [startUnix, endUnix], which may be at most MaxIntervalSec long.
//
// Method (no per-second loop): the interval is cut into pieces of at most
// 6 h. With the declination δ frozen at its value at the start of a piece,
// sin(elevation) = sin φ sin δ + cos φ cos δ cos H is monotone in the hour
// angle H on each side of H = 0, and H grows monotonically with time, so
// the maximum over a piece lies at one of its ends or at local noon
// (H = 0) if the piece contains one. The true δ moves by at most
// declRateNdPerSec × length over a piece, and elevation is 1-Lipschitz in
// the sun's position on the sphere, so the frozen and true elevations
// differ by at most that much; the bound adds it twice (once for the
// frozen maximum, once for the evaluated points), plus modelSlackNd.
func MaxElevationBound(startUnix, endUnix, latE6, lonE6 int64) (int64, error) {
	if err := checkTime(startUnix); err != nil {
		return 0, err
	}
	if err := checkTime(endUnix); err != nil {
		return 0, err
	}
	if err := checkSite(latE6, lonE6); err != nil {
		return 0, err
	}
	if endUnix < startUnix || endUnix-startUnix > MaxIntervalSec {
		return 0, fmt.Errorf("interval [%d, %d]: %w", startUnix, endUnix, ErrInterval)
	}
	site := newSite(latE6, lonE6)
	best := int64(-1 << 62)
	var drift int64
	// elevAt evaluates the true elevation and returns the hour angle too.
	elevAt := func(t int64) (int64, int64) {
		h := direction(t, site, sunEphemeris(t))
		return h.elev, h.ha
	}
	ps := startUnix
	elS, haS := elevAt(ps)
	for {
		pe := ps + pieceSec
		if pe > endUnix {
			pe = endUnix
		}
		elE, haE := elevAt(pe)
		best = max(best, elS, elE)
		// Next noon after ps: H advances 360° per 86 400 s (15°/h), up to
		// the equation of time's drift of < 30 s a day. One correction
		// with the hour angle at the estimate puts it within a second.
		if tn := ps + haToSec(floorMod(-haS, deg360)); tn <= pe+600 {
			_, haN := elevAt(tn)
			tn -= haToSec(haN)
			if tn > ps && tn < pe {
				elN, _ := elevAt(tn)
				best = max(best, elN)
			}
		}
		drift = max(drift, 2*declRateNdPerSec*(pe-ps))
		if pe == endUnix {
			break
		}
		ps, elS, haS = pe, elE, haE
	}
	return roundUpDiv(best+drift+modelSlackNd, 1000), nil
}

// roundUpDiv returns ⌈a/b⌉ for b > 0.
func roundUpDiv(a, b int64) int64 { return -floorDiv(-a, b) }
