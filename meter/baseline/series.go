package baseline

import (
	"errors"
	"fmt"
)

// ErrInput is wrapped by every error about malformed input (as opposed to
// too little data, which is ErrInsufficientData).
var ErrInput = errors.New("baseline: invalid input")

// Series is one channel of a site's interval history: Wh[k] is the energy of
// interval First+k. For the whole-site methods it is net load, grid import −
// grid export, and may be negative. For the device method it is the device
// channel signed as load (see DeviceProfile).
//
// Missing, when not nil, has the same length as Wh and marks intervals with no
// valid reading (none received, or rejected by the plausibility checks); the
// value in Wh is then ignored. Intervals outside [First, First+len(Wh)) are
// missing too.
type Series struct {
	First   int64
	Wh      []int64
	Missing []bool
}

func (s Series) validate() error {
	if s.Missing != nil && len(s.Missing) != len(s.Wh) {
		return fmt.Errorf("%w: series has %d values but %d missing flags", ErrInput, len(s.Wh), len(s.Missing))
	}
	if s.First < -maxAbsInterval || s.First > maxAbsInterval || int64(len(s.Wh)) > maxAbsInterval {
		return fmt.Errorf("%w: series first interval %d out of range", ErrInput, s.First)
	}
	return nil
}

// At returns the energy of interval i and whether it is present.
func (s Series) At(i int64) (int64, bool) {
	k := i - s.First
	if k < 0 || k >= int64(len(s.Wh)) {
		return 0, false
	}
	if s.Missing != nil && s.Missing[k] {
		return 0, false
	}
	return s.Wh[k], true
}

// firstMissing returns the first interval of [from, from+n) without a
// reading, and false if every one of them has one.
func (s Series) firstMissing(from, n int64) (int64, bool) {
	for i := from; i < from+n; i++ {
		if _, ok := s.At(i); !ok {
			return i, true
		}
	}
	return 0, false
}

// sumRange returns the sum of intervals [from, from+n) and false if any of
// them is missing.
func (s Series) sumRange(from, n int64) (int64, bool, error) {
	var sum int64
	for i := from; i < from+n; i++ {
		v, ok := s.At(i)
		if !ok {
			return 0, false, nil
		}
		var err error
		if sum, err = addI(sum, v); err != nil {
			return 0, false, err
		}
	}
	return sum, true, nil
}

// Event is the event window of one flexibility request as seen by one site.
type Event struct {
	// Start and End are interval indexes: the window is [Start, End).
	Start, End int64
	// Posted is the interval in which the request was posted (accepted on
	// chain). No data from the local day containing Posted or later enters
	// the averaged days, so a site that learns of the event cannot inflate
	// its own baseline. Posted ≤ Start.
	Posted int64
	// PriorEventDays is a strictly increasing list of local day numbers on
	// which this site had an event (or a declared outage); they are never
	// baseline days.
	PriorEventDays []int64
	// HistoryStart is used only under StrictMissing: the first interval of
	// the site's history (the ledger: the interval it registered in). A day
	// the rule would read an earlier interval of is not a candidate and ends
	// the walk, as the end of the lookback does; a missing interval from
	// HistoryStart on is the site's choice (*MissingDataError). It must be
	// a fact the site cannot move (not, say, its first reading).
	HistoryStart int64
}

func (e Event) validate(c Calendar) error {
	if e.Start >= e.End {
		return fmt.Errorf("%w: empty event window [%d,%d)", ErrInput, e.Start, e.End)
	}
	if e.Posted > e.Start {
		return fmt.Errorf("%w: request posted at interval %d after the window start %d", ErrInput, e.Posted, e.Start)
	}
	for _, v := range []int64{e.Start, e.End, e.Posted, e.HistoryStart} {
		if v < -maxAbsInterval || v > maxAbsInterval {
			return fmt.Errorf("%w: interval %d out of range", ErrInput, v)
		}
	}
	if e.End-e.Start > c.IntervalsPerDay() {
		return fmt.Errorf("%w: event window of %d intervals is longer than a day", ErrInput, e.End-e.Start)
	}
	for k := 1; k < len(e.PriorEventDays); k++ {
		if e.PriorEventDays[k] <= e.PriorEventDays[k-1] {
			return fmt.Errorf("%w: prior event days not strictly increasing at %d", ErrInput, k)
		}
	}
	return nil
}

func containsSorted(xs []int64, v int64) bool {
	lo, hi := 0, len(xs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if xs[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(xs) && xs[lo] == v
}

// ErrInsufficientData is matched (errors.Is) by *InsufficientDataError.
var ErrInsufficientData = errors.New("baseline: not enough eligible days")

// InsufficientDataError says a method could not build a baseline because it
// found fewer eligible days than it needs. Settlement treats it by the
// NoBaseline rule (see Settle): nothing delivered, nothing paid, no slash.
type InsufficientDataError struct {
	Method Method
	// Have is how many eligible days were found, Need how many the method
	// requires.
	Have, Need int
	DayType    DayType
	// BeforeHistory: under StrictMissing, the walk ended at
	// Event.HistoryStart (the site is younger than the rule's days).
	BeforeHistory bool
}

func (e *InsufficientDataError) Error() string {
	if e.BeforeHistory {
		return fmt.Sprintf("baseline: %s: %d eligible %s days since the site's history began, need %d", e.Method, e.Have, e.DayType, e.Need)
	}
	return fmt.Sprintf("baseline: %s: %d eligible %s days, need %d", e.Method, e.Have, e.DayType, e.Need)
}

// Is makes errors.Is(err, ErrInsufficientData) true.
func (e *InsufficientDataError) Is(target error) bool { return target == ErrInsufficientData }

// ErrMissingData is matched (errors.Is) by *MissingDataError.
var ErrMissingData = errors.New("baseline: a reading the rule needs is missing")

// MissingDataError says that, under StrictMissing, an interval the method
// reads has no valid reading: on a baseline day the rule chose as if all
// data were present, in the event day's adjustment window, or in the
// device method's meter-before window. A site chooses which readings it
// sends, so the settlement treats it as the worst case for the site (the
// ledger forfeits the commitment, see Settle).
type MissingDataError struct {
	Method Method
	// Day is the local day the interval was read for (a baseline day, or
	// the event day); Interval the first missing interval found.
	Day, Interval int64
	// Adjustment: the interval is in the event day's adjustment window (or
	// the device's meter-before window), not on a baseline day.
	Adjustment bool
}

func (e *MissingDataError) Error() string {
	part := "baseline day"
	if e.Adjustment {
		part = "event-day adjustment window"
	}
	return fmt.Sprintf("baseline: %s: interval %d (%s %d) has no reading", e.Method, e.Interval, part, e.Day)
}

// Is makes errors.Is(err, ErrMissingData) true.
func (e *MissingDataError) Is(target error) bool { return target == ErrMissingData }
