package baseline

import (
	"errors"
	"fmt"
)

// DefaultIntervalSeconds is the chain's default metering interval (15 min).
const DefaultIntervalSeconds = 900

const secondsPerDay = 86400

// maxAbsInterval bounds interval indexes so that genesis + i·L never
// overflows; 2^40 intervals of one second is 34,000 years.
const maxAbsInterval = 1 << 40

// ErrCalendar is wrapped by every error about an invalid Calendar.
var ErrCalendar = errors.New("baseline: invalid calendar")

// Calendar maps interval indexes to local days. Interval i covers the UTC
// seconds [GenesisUnix + i·IntervalSeconds, GenesisUnix + (i+1)·IntervalSeconds).
// Local time is UTC plus a fixed UTCOffsetSeconds (no time-zone database, no
// daylight saving: a site in a DST zone picks its standard-time offset, and
// its event windows are then in local standard time).
//
// Day numbers count local days from 1970-01-01 (day 0, a Thursday):
// day(t) = ⌊(t + UTCOffsetSeconds) / 86400⌋ for a Unix time t.
type Calendar struct {
	GenesisUnix      int64
	IntervalSeconds  int64
	UTCOffsetSeconds int64
	// Holidays is a strictly increasing list of local day numbers treated
	// like weekend days.
	Holidays []int64
}

// Validate checks that the calendar is usable: the interval length divides a
// day, local midnight falls on an interval boundary ((GenesisUnix +
// UTCOffsetSeconds) is a multiple of IntervalSeconds), the offset is within
// ±18 h, and Holidays is strictly increasing.
func (c Calendar) Validate() error {
	if c.IntervalSeconds <= 0 || c.IntervalSeconds > secondsPerDay {
		return fmt.Errorf("%w: interval length %d s", ErrCalendar, c.IntervalSeconds)
	}
	if m, _ := floorMod(secondsPerDay, c.IntervalSeconds); m != 0 {
		return fmt.Errorf("%w: interval length %d s does not divide a day", ErrCalendar, c.IntervalSeconds)
	}
	if c.UTCOffsetSeconds < -18*3600 || c.UTCOffsetSeconds > 18*3600 {
		return fmt.Errorf("%w: UTC offset %d s", ErrCalendar, c.UTCOffsetSeconds)
	}
	if c.GenesisUnix < -(1<<50) || c.GenesisUnix > 1<<50 {
		return fmt.Errorf("%w: genesis %d", ErrCalendar, c.GenesisUnix)
	}
	if m, _ := floorMod(c.GenesisUnix+c.UTCOffsetSeconds, c.IntervalSeconds); m != 0 {
		return fmt.Errorf("%w: local midnight is not an interval boundary (genesis %d, offset %d, interval %d)",
			ErrCalendar, c.GenesisUnix, c.UTCOffsetSeconds, c.IntervalSeconds)
	}
	for k := 1; k < len(c.Holidays); k++ {
		if c.Holidays[k] <= c.Holidays[k-1] {
			return fmt.Errorf("%w: holidays not strictly increasing at %d", ErrCalendar, k)
		}
	}
	return nil
}

// IntervalsPerDay is 86400 / IntervalSeconds (exact after Validate).
func (c Calendar) IntervalsPerDay() int64 {
	n, _ := FloorMulDiv(secondsPerDay, 1, c.IntervalSeconds)
	return n
}

// DayOf returns the local day number of the day containing interval i.
func (c Calendar) DayOf(i int64) int64 {
	d, _ := FloorMulDiv(c.GenesisUnix+i*c.IntervalSeconds+c.UTCOffsetSeconds, 1, secondsPerDay)
	return d
}

// DayStart returns the index of the first interval of local day d.
func (c Calendar) DayStart(d int64) int64 {
	// Exact: midnight is an interval boundary after Validate.
	i, _ := FloorMulDiv(d*secondsPerDay-c.GenesisUnix-c.UTCOffsetSeconds, 1, c.IntervalSeconds)
	return i
}

// Weekday returns 0 for Sunday … 6 for Saturday (day 0 was a Thursday).
func (c Calendar) Weekday(d int64) int64 {
	w, _ := floorMod(d+4, 7)
	return w
}

// IsHoliday reports whether d is in Holidays (binary search).
func (c Calendar) IsHoliday(d int64) bool {
	lo, hi := 0, len(c.Holidays)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c.Holidays[mid] < d {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(c.Holidays) && c.Holidays[lo] == d
}

// DayType says which pool of days a day draws its baseline from.
type DayType uint8

const (
	// Weekday is Monday to Friday, not a holiday.
	Weekday DayType = iota + 1
	// WeekendHoliday is Saturday, Sunday or a holiday.
	WeekendHoliday
	// Saturday (not a holiday) and SundayHoliday (Sunday or a holiday) split
	// WeekendHoliday into like days, for rules that match Saturdays with
	// Saturdays (DayMatchParams.SplitWeekend).
	Saturday
	SundayHoliday
)

func (t DayType) String() string {
	switch t {
	case Weekday:
		return "weekday"
	case WeekendHoliday:
		return "weekend/holiday"
	case Saturday:
		return "saturday"
	case SundayHoliday:
		return "sunday/holiday"
	}
	return fmt.Sprintf("DayType(%d)", uint8(t))
}

// LikeTypeOf is TypeOf with weekend days split into Saturday and
// SundayHoliday (a holiday is SundayHoliday whatever its weekday).
func (c Calendar) LikeTypeOf(d int64) DayType {
	t := c.TypeOf(d)
	if t == WeekendHoliday && c.Weekday(d) == 6 && !c.IsHoliday(d) {
		return Saturday
	}
	if t == WeekendHoliday {
		return SundayHoliday
	}
	return t
}

// TypeOf returns the day type of local day d.
func (c Calendar) TypeOf(d int64) DayType {
	w := c.Weekday(d)
	if w == 0 || w == 6 || c.IsHoliday(d) {
		return WeekendHoliday
	}
	return Weekday
}
