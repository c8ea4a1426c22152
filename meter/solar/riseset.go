package solar

import "fmt"

// DayKind says whether the sun rises and sets on a given day at a site.
type DayKind int8

const (
	// DayNormal: the sun rises and sets; SunriseUnix and SunsetUnix are set.
	DayNormal DayKind = iota
	// DayPolarDay: the sun stays above the sunrise altitude all day
	// (midnight sun).
	DayPolarDay
	// DayPolarNight: the sun stays below the sunrise altitude all day.
	DayPolarNight
)

// String returns the kind's name.
func (k DayKind) String() string {
	switch k {
	case DayNormal:
		return "normal"
	case DayPolarDay:
		return "polar-day"
	case DayPolarNight:
		return "polar-night"
	}
	return fmt.Sprintf("DayKind(%d)", int8(k))
}

// SunriseAltitudeE6 is the geometric altitude of the sun's centre at
// sunrise and sunset, −0°50′: 34′ of standard horizontal refraction plus
// the sun's 16′ semi-diameter, i.e. the upper limb touching a sea-level
// horizon (the convention of NOAA, the almanacs and SPA).
const SunriseAltitudeE6 int64 = -833_333

// SunTimes are the sun's transit, rise and set for one day at one site, as
// Unix seconds (UTC).
type SunTimes struct {
	Kind DayKind
	// TransitUnix is local apparent noon: the sun on the meridian.
	TransitUnix int64
	// SunriseUnix and SunsetUnix are set only when Kind == DayNormal.
	SunriseUnix int64
	SunsetUnix  int64
}

// haToSec converts an hour angle in nd to mean-solar seconds, rounded:
// 240 s per degree.
func haToSec(ha int64) int64 { return mulDiv(ha, 240, ndPerDeg) }

// SunriseSunset returns the sun's transit, rise and set at a site
// (latitude and longitude in micro-degrees, north and east positive) for
// the UTC calendar date containing dayUnix. "The day" is the one whose
// transit is nearest to 12:00 local mean time, i.e. to the date's
// 00:00 UTC + 12 h − longitude/15°; rise and set are the crossings of
// SunriseAltitudeE6 before and after that transit, so for a site in the
// Americas the sunset can fall on the next UTC date, as in local time.
//
// Accuracy: the returned second is the model's crossing to within one
// second; the model agrees with SPA to the second on its example (see
// doc.go). Where the sun grazes the horizon (days next to a polar day or
// night) the model's ≈ 0.01° error can move the times by minutes, and
// Kind may differ from other almanacs' on the boundary days.
func SunriseSunset(dayUnix, latE6, lonE6 int64) (SunTimes, error) {
	if err := checkSite(latE6, lonE6); err != nil {
		return SunTimes{}, err
	}
	if dayUnix < MinUnix+86400 || dayUnix >= MaxUnix-2*86400 {
		return SunTimes{}, fmt.Errorf("unix time %d: %w", dayUnix, ErrTime)
	}
	site := newSite(latE6, lonE6)
	day0 := floorDiv(dayUnix, 86400) * 86400

	// Transit: where the hour angle is zero. Three corrections reach the
	// fixed point to < 1 s (the equation of time changes by < 30 s a day).
	tt := day0 + 43200 - haToSec(site.lon)
	for i := 0; i < 3; i++ {
		eph := sunEphemeris(tt)
		tt -= haToSec(hourAngle(tt, eph.eot, site.lon))
	}
	out := SunTimes{TransitUnix: tt}
	h0 := SunriseAltitudeE6 * 1000
	geo := func(t int64) int64 { return direction(t, site, sunEphemeris(t)).geoElev }
	// The transit is the day's highest point: if the sun is below the
	// sunrise altitude there, it is below all day. Otherwise it must be
	// below it somewhere in each of the half days on either side (around
	// the lower culmination) for a rise and a set to exist.
	switch {
	case geo(tt) <= h0:
		out.Kind = DayPolarNight
		return out, nil
	case geo(tt-43200) >= h0 || geo(tt+43200) >= h0:
		out.Kind = DayPolarDay
		return out, nil
	}
	out.SunriseUnix = crossing(geo, h0, tt-43200, tt)
	out.SunsetUnix = crossing(geo, h0, tt+43200, tt)
	return out, nil
}

// crossing finds, by bisection, the second at which f crosses h between
// below (f(below) < h) and above (f(above) > h); below may be before or
// after above. Sixteen halvings take the 12 h bracket to one second; the
// result is the end of the last one-second bracket whose elevation is
// closer to h. Bisection is used rather than the usual hour-angle
// iteration because it cannot fail near a polar day or night, where
// that iteration converges slowly or not at all.
func crossing(f func(int64) int64, h, below, above int64) int64 {
	for below-above > 1 || above-below > 1 {
		mid := below + (above-below)/2
		if f(mid) < h {
			below = mid
		} else {
			above = mid
		}
	}
	if h-f(below) < f(above)-h {
		return below
	}
	return above
}
