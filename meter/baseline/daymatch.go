package baseline

import (
	"errors"
	"fmt"
	"slices"
)

// PPM is one million parts per million: a ratio of 1.
const PPM = 1_000_000

// Method names a baseline method. A flexibility request carries one.
type Method uint8

const (
	// MethodXofY is CAISO-style "X of Y" averaging with a capped,
	// multiplicative day-of adjustment (default 10 in 10 / 4 in 4, ±20 %).
	MethodXofY Method = iota + 1
	// MethodHighXofY is PJM-style "high X of Y" with PJM's symmetric
	// additive adjustment (default high 4 of 5 / high 2 of 3).
	MethodHighXofY
	// MethodDevice is meter-before/meter-after for one device channel
	// against its own recent profile.
	MethodDevice
)

func (m Method) String() string {
	switch m {
	case MethodXofY:
		return "x-of-y"
	case MethodHighXofY:
		return "high-x-of-y"
	case MethodDevice:
		return "device"
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// AdjustmentKind selects the day-of adjustment of a day-matching baseline.
type AdjustmentKind uint8

const (
	// AdjustNone leaves the averaged days unadjusted.
	AdjustNone AdjustmentKind = iota
	// AdjustRatio scales the baseline by the ratio (in ppm) of the event
	// day's load to the averaged days' load over the adjustment window,
	// capped to 10^6 ± AdjustCapPPM (CAISO).
	AdjustRatio
	// AdjustAdditive adds to every interval the mean per-interval difference
	// between the event day and the averaged days over the adjustment window,
	// up or down, uncapped (PJM symmetric additive adjustment).
	AdjustAdditive
)

func (k AdjustmentKind) String() string {
	switch k {
	case AdjustNone:
		return "none"
	case AdjustRatio:
		return "ratio"
	case AdjustAdditive:
		return "additive"
	}
	return fmt.Sprintf("AdjustmentKind(%d)", uint8(k))
}

// DayCount is the X of Y rule for one day type: the Y most recent eligible
// days form the pool, X of them are averaged. Min is the fewest eligible days
// the method accepts; with Min ≤ pool size < Y it averages min(X, pool)
// days, below Min it fails with *InsufficientDataError. Min = 0 means Min = X.
type DayCount struct {
	X, Y, Min int
}

func (d DayCount) min() int {
	if d.Min == 0 {
		return d.X
	}
	return d.Min
}

// DayMatchParams are the rules of the two day-matching methods.
type DayMatchParams struct {
	Weekday        DayCount // used when the event starts on a weekday
	WeekendHoliday DayCount // used when it starts on a weekend day or holiday
	// LookbackDays: candidate days are the LookbackDays local days before the
	// day of posting, newest first.
	LookbackDays int
	// LowUsagePPM, when non-zero, drops a candidate whose event-window energy
	// is below LowUsagePPM/10^6 of the mean of the first pool (PJM: 25 %).
	LowUsagePPM int64
	Adjustment  AdjustmentKind
	// The adjustment window on each day is [Start − gap − span, Start − gap),
	// in seconds; both must be multiples of the interval length.
	AdjustGapSeconds  int64
	AdjustSpanSeconds int64
	// AdjustCapPPM caps the ratio adjustment to [10^6 − cap, 10^6 + cap].
	AdjustCapPPM int64
	// SplitWeekend matches Saturdays only with Saturdays and Sundays only
	// with Sundays and holidays (like days), both with the WeekendHoliday
	// count; off, all weekend days and holidays form one pool.
	SplitWeekend bool
	// AdjustAfterPosting lets the adjustment use event-day intervals at or
	// after the posting interval. Off by default: the adjustment is then
	// skipped (Adjustment.Skip = SkipAfterPosting) whenever its window does
	// not end by Posted, so a site that knows of the event cannot move its
	// baseline at all. On, the site can move it by at most the cap (ratio)
	// or without bound (additive) — the reason it is off.
	AdjustAfterPosting bool
	// StrictMissing chooses the days as if all data were present (the
	// ledger's rule; see "Missing data" on XofY). Off, a day with a missing
	// interval is rejected and the next older one taken, as the published
	// rules do — which lets a site that chooses what it sends choose its
	// baseline days.
	StrictMissing bool
}

// DefaultXofY returns the CAISO-style rules: 10 in 10 weekdays, 4 in 4
// weekend days and holidays, 45-day lookback, a ratio adjustment from the
// three hours ending one hour before the event, capped at ±20 %.
func DefaultXofY() DayMatchParams {
	return DayMatchParams{
		Weekday:           DayCount{X: 10, Y: 10},
		WeekendHoliday:    DayCount{X: 4, Y: 4},
		LookbackDays:      45,
		Adjustment:        AdjustRatio,
		AdjustGapSeconds:  3600,
		AdjustSpanSeconds: 3 * 3600,
		AdjustCapPPM:      200_000,
	}
}

// DefaultHighXofY returns the PJM-style rules: high 4 of 5 weekdays, high
// 2 of 3 like weekend days (Saturdays; Sundays and holidays), 45-day
// lookback, days below 25 % of the pool's mean event-window usage dropped,
// and the symmetric additive adjustment from the three hours ending one hour
// before the event.
func DefaultHighXofY() DayMatchParams {
	return DayMatchParams{
		Weekday:           DayCount{X: 4, Y: 5},
		WeekendHoliday:    DayCount{X: 2, Y: 3},
		LookbackDays:      45,
		LowUsagePPM:       250_000,
		SplitWeekend:      true,
		Adjustment:        AdjustAdditive,
		AdjustGapSeconds:  3600,
		AdjustSpanSeconds: 3 * 3600,
	}
}

func (p DayMatchParams) validate(c Calendar) error {
	for _, dc := range []DayCount{p.Weekday, p.WeekendHoliday} {
		if dc.X < 1 || dc.Y < dc.X || dc.Y > 366 || dc.min() < 1 || dc.min() > dc.X {
			return fmt.Errorf("%w: day count %+v", ErrInput, dc)
		}
	}
	if p.LookbackDays < 1 || p.LookbackDays > 366 {
		return fmt.Errorf("%w: lookback %d days", ErrInput, p.LookbackDays)
	}
	if p.LowUsagePPM < 0 || p.LowUsagePPM > PPM {
		return fmt.Errorf("%w: low-usage threshold %d ppm", ErrInput, p.LowUsagePPM)
	}
	switch p.Adjustment {
	case AdjustNone:
		return nil
	case AdjustRatio:
		if p.AdjustCapPPM < 0 || p.AdjustCapPPM > PPM {
			return fmt.Errorf("%w: adjustment cap %d ppm", ErrInput, p.AdjustCapPPM)
		}
	case AdjustAdditive:
	default:
		return fmt.Errorf("%w: adjustment kind %d", ErrInput, p.Adjustment)
	}
	g, _ := floorMod(p.AdjustGapSeconds, c.IntervalSeconds)
	s, _ := floorMod(p.AdjustSpanSeconds, c.IntervalSeconds)
	if p.AdjustGapSeconds < 0 || p.AdjustSpanSeconds <= 0 || g != 0 || s != 0 ||
		p.AdjustGapSeconds+p.AdjustSpanSeconds > secondsPerDay {
		return fmt.Errorf("%w: adjustment window gap %d s span %d s (interval %d s)",
			ErrInput, p.AdjustGapSeconds, p.AdjustSpanSeconds, c.IntervalSeconds)
	}
	return nil
}

// DayInfo is one candidate day with the energy it contributes.
type DayInfo struct {
	Day int64
	// WindowWh is the day's energy over the intervals matching the event
	// window (same offsets from local midnight).
	WindowWh int64
	// AdjustWh is its energy over the matching adjustment window (0 when
	// there is no adjustment).
	AdjustWh int64
}

// RejectReason says why a day of the right type was not a candidate.
type RejectReason uint8

const (
	// RejectPriorEvent: the site had an event that day.
	RejectPriorEvent RejectReason = iota + 1
	// RejectMissingData: an interval the method needs has no valid reading.
	RejectMissingData
	// RejectLowUsage: event-window energy below the low-usage threshold.
	RejectLowUsage
	// RejectAfterPosting: an interval the method needs lies on or after the
	// day of posting (an event window crossing midnight).
	RejectAfterPosting
	// RejectBeforeHistory: under StrictMissing, an interval the method
	// needs lies before Event.HistoryStart (the site did not exist yet);
	// the walk ends there, as at the end of the lookback.
	RejectBeforeHistory
)

func (r RejectReason) String() string {
	switch r {
	case RejectPriorEvent:
		return "prior-event"
	case RejectMissingData:
		return "missing-data"
	case RejectLowUsage:
		return "low-usage"
	case RejectAfterPosting:
		return "after-posting"
	case RejectBeforeHistory:
		return "before-history"
	}
	return fmt.Sprintf("RejectReason(%d)", uint8(r))
}

// Rejection is a day of the right type that was not used, and why.
type Rejection struct {
	Day    int64
	Reason RejectReason
}

// SkipReason says why an adjustment was not applied.
type SkipReason uint8

const (
	// SkipNone: the adjustment was applied (or none was configured).
	SkipNone SkipReason = iota
	// SkipAfterPosting: the event-day window does not end by the posting
	// interval and AdjustAfterPosting is off.
	SkipAfterPosting
	// SkipMissingData: an event-day interval of the window has no reading.
	SkipMissingData
	// SkipNonPositive: ratio adjustment with a non-positive averaged-days
	// window or a negative event-day window (net export), where a ratio
	// means nothing.
	SkipNonPositive
)

func (r SkipReason) String() string {
	switch r {
	case SkipNone:
		return "none"
	case SkipAfterPosting:
		return "after-posting"
	case SkipMissingData:
		return "missing-data"
	case SkipNonPositive:
		return "non-positive"
	}
	return fmt.Sprintf("SkipReason(%d)", uint8(r))
}

// Adjustment is the whole day-of adjustment calculation.
type Adjustment struct {
	Kind    AdjustmentKind
	Applied bool
	Skip    SkipReason
	// The event-day window is [WindowStart, WindowStart+Intervals).
	WindowStart, Intervals int64
	// EventDayWh is the event day's energy over the window; DaysWh is the sum
	// over the n averaged days of their window energy.
	EventDayWh, DaysWh int64
	// Ratio: RawRatioPPM = ⌊EventDayWh·n·10^6 / DaysWh⌋ (0 when not
	// computed), RatioPPM that value clamped to [10^6 − cap, 10^6 + cap]
	// (10^6 when not applied).
	RawRatioPPM, RatioPPM int64
	// Additive: the baseline of interval k is
	// ⌊(SumWh[k]·Intervals + AdditiveNumWh) / (n·Intervals)⌋ with
	// AdditiveNumWh = EventDayWh·n − DaysWh (0 when not applied).
	// DeltaWh = ⌊AdditiveNumWh / (n·Intervals)⌋ is shown for reading only.
	AdditiveNumWh, DeltaWh int64
}

// DeviceInfo is the device method's part of a Result.
type DeviceInfo struct {
	// Mode is "meter-before" or "profile" (the named fallback).
	Mode DeviceMode
	// BeforeStart, BeforeIntervals and BeforeWh describe the meter-before
	// window [BeforeStart, BeforeStart+BeforeIntervals) and its energy.
	BeforeStart, BeforeIntervals, BeforeWh int64
}

// Result is a baseline with every number that produced it.
type Result struct {
	Method    Method
	EventDay  int64 // local day of Event.Start
	PostedDay int64 // local day of Event.Posted
	DayType   DayType
	Rule      DayCount
	// Pool is the eligible days considered (at most Y), newest first.
	Pool []DayInfo
	// Rejected lists the days of the right type, newest first, that were
	// not used, down to the oldest pool day (all of the lookback when the
	// pool is short).
	Rejected []Rejection
	// Selected are the n days averaged, newest first.
	Selected []DayInfo
	// SumWh[k] is Σ over Selected of the energy of event interval k's
	// counterpart; UnadjustedWh[k] = ⌊SumWh[k]/n⌋.
	SumWh, UnadjustedWh []int64
	Adjustment          Adjustment
	Device              DeviceInfo
	// BaselineWh[k] is the baseline of interval Event.Start+k.
	BaselineWh []int64
}

// layout holds the event window and adjustment window as offsets from local
// midnight of the event day, in intervals, so the same offsets can be laid
// on any candidate day.
type layout struct {
	eventDay, postedDay    int64
	winOff, winLen         int64
	adjOff, adjLen         int64
	postedDayFirstInterval int64
}

func newLayout(c Calendar, e Event, gapSec, spanSec int64) layout {
	l := layout{eventDay: c.DayOf(e.Start), postedDay: c.DayOf(e.Posted)}
	l.winOff = e.Start - c.DayStart(l.eventDay)
	l.winLen = e.End - e.Start
	if spanSec > 0 {
		g, _ := FloorMulDiv(gapSec, 1, c.IntervalSeconds)
		s, _ := FloorMulDiv(spanSec, 1, c.IntervalSeconds)
		l.adjLen = s
		l.adjOff = l.winOff - g - s
	}
	l.postedDayFirstInterval = c.DayStart(l.postedDay)
	return l
}

// history is where a site's history begins, for StrictMissing.
type history struct {
	strict bool
	start  int64 // Event.HistoryStart
}

func newHistory(e Event, strict bool) history { return history{strict: strict, start: e.HistoryStart} }

// candidate evaluates day d: its window and adjustment energies, or a
// rejection reason. Under h.strict a missing interval on a day that lies
// within the site's history is a *MissingDataError, not a rejection: the
// day is chosen whatever the site sent.
func (l layout) candidate(c Calendar, s Series, d int64, priorEvents []int64, h history) (DayInfo, RejectReason, error) {
	if containsSorted(priorEvents, d) {
		return DayInfo{}, RejectPriorEvent, nil
	}
	ds := c.DayStart(d)
	last := ds + l.winOff + l.winLen
	if l.adjLen > 0 && ds+l.adjOff+l.adjLen > last {
		last = ds + l.adjOff + l.adjLen
	}
	if last > l.postedDayFirstInterval {
		return DayInfo{}, RejectAfterPosting, nil
	}
	if h.strict {
		first := ds + l.winOff
		if l.adjLen > 0 {
			first = min(first, ds+l.adjOff)
		}
		if first < h.start {
			return DayInfo{}, RejectBeforeHistory, nil
		}
		for _, rg := range [][2]int64{{ds + l.winOff, l.winLen}, {ds + l.adjOff, l.adjLen}} {
			if i, missing := s.firstMissing(rg[0], rg[1]); missing {
				return DayInfo{}, 0, &MissingDataError{Day: d, Interval: i}
			}
		}
	}
	info := DayInfo{Day: d}
	w, ok, err := s.sumRange(ds+l.winOff, l.winLen)
	if err != nil {
		return DayInfo{}, 0, err
	}
	if !ok {
		return DayInfo{}, RejectMissingData, nil
	}
	info.WindowWh = w
	if l.adjLen > 0 {
		a, ok, err := s.sumRange(ds+l.adjOff, l.adjLen)
		if err != nil {
			return DayInfo{}, 0, err
		}
		if !ok {
			return DayInfo{}, RejectMissingData, nil
		}
		info.AdjustWh = a
	}
	return info, 0, nil
}

// XofY computes the CAISO-style "X of Y" baseline for the event window.
//
// Rules, in order (defaults from DefaultXofY in brackets):
//
//  1. The day type is that of the local day of Event.Start: weekday, or
//     weekend/holiday (Calendar.Holidays) — or, with SplitWeekend [off],
//     Saturday and Sunday/holiday as separate like days. The rule is Weekday
//     [10 of 10] or WeekendHoliday [4 of 4].
//  2. Candidate days are the LookbackDays [45] local days before the day of
//     Event.Posted, newest first, of the same day type. A day is rejected if
//     it is in Event.PriorEventDays, if any interval of its event window or
//     adjustment window (same offsets from local midnight as on the event
//     day) has no reading, or if one of those intervals is on or after the
//     day of posting. Nothing the site does after the request is posted
//     reaches the averaged days.
//     Under StrictMissing (the ledger's rule) a missing interval does not
//     reject the day: the day is taken as if its data were present and
//     the result is *MissingDataError (the site forfeits); a day before
//     Event.HistoryStart ends the walk as the end of the lookback does.
//     See the package doc,
//     "Missing data never pays".
//  3. The pool is the first Y candidates. With fewer than Min [= X]
//     candidates the result is *InsufficientDataError (Have = pool size).
//  4. The n = min(X, pool) newest days of the pool are averaged:
//     SumWh[k] = Σ_d Wh_d[k], UnadjustedWh[k] = ⌊SumWh[k] / n⌋.
//  5. Ratio adjustment [on, window = the 3 h ending 1 h before Start, cap
//     ±20 %]: A = event-day energy over the window, B = Σ over the n days of
//     their window energy. RawRatioPPM = ⌊A·n·10^6 / B⌋, RatioPPM =
//     clamp(RawRatioPPM, 10^6 − cap, 10^6 + cap). Skipped (RatioPPM = 10^6)
//     when the window does not end by Event.Posted [unless
//     AdjustAfterPosting], when an event-day window interval is missing
//     (under StrictMissing: *MissingDataError instead), or when B ≤ 0 or
//     A < 0.
//  6. BaselineWh[k] = ⌊SumWh[k] · RatioPPM / (n · 10^6)⌋ — one rounding,
//     from the exact sum (without adjustment this is UnadjustedWh[k]).
//
// Noise bound: if every interval used (history and event day) is p_k + e
// with |e| ≤ N Wh, the site changes nothing, and P = max |p_k|, then per
// interval
//
//	|BaselineWh[k] − actual_k| ≤ b = 2N + 1 + ⌈(P + N)·|RatioPPM − 10^6| / 10^6⌉
//
// (the average of the history noise and the event-day noise each within
// ±N, the floor within 1, the ratio moving a value of at most P + N by
// |RatioPPM − 10^6| ppm). Settle nets the signed deltas over the event, so
// such a site is credited max(0, Σ_k delta_k) ≤ m·b Wh over m present
// intervals, in either direction, and never in both directions on the same
// readings. The sum reaches m·b only if the error leans the same way in
// every interval. The ratio term is such a common bias (one ratio scales
// every interval); the noise terms, when independent between intervals
// with mean 0, cancel, and their sum spreads like √m instead of adding up
// like m as the old per-interval floor made them (bench/mv measures the
// effect on a real building).
func XofY(s Series, e Event, c Calendar, p DayMatchParams) (Result, error) {
	return dayMatch(MethodXofY, s, e, c, p)
}

// HighXofY computes the PJM-style "high X of Y" customer baseline.
//
// Rules (defaults from DefaultHighXofY in brackets; PJM Manual 11, Economic
// Load Response CBL):
//
//  1. Day type and candidates exactly as XofY steps 1–2: same day type,
//     within LookbackDays [45] before the day of posting, prior event days,
//     days with missing readings and data on or after the posting day
//     rejected. [SplitWeekend: a Saturday event matches Saturdays, a Sunday
//     or holiday event Sundays and holidays.]
//  2. Low-usage days [LowUsagePPM = 25 %]: let the first pool be the first Y
//     candidates and M_num = Σ of their WindowWh over its size m. Walking
//     the candidates newest first, a day with WindowWh·m·10^6 <
//     M_num·LowUsagePPM is rejected (RejectLowUsage) and the next older
//     candidate takes its place, until the pool holds Y days.
//  3. Fewer than Min [= X] pool days: *InsufficientDataError.
//  4. Of the pool (the Y [5 weekday, 3 weekend/holiday] most recent eligible
//     days), the n = min(X, pool) [4, 2] with the highest WindowWh (ties:
//     the newer day) are averaged: SumWh and UnadjustedWh as in XofY.
//  5. Symmetric additive adjustment [on, the 3 h ending 1 h before Start,
//     uncapped]: A and B as in XofY, m = window intervals; AdditiveNumWh =
//     A·n − B. Skipped (0) under the same posting / missing-data rules.
//  6. BaselineWh[k] = ⌊(SumWh[k]·m + AdditiveNumWh) / (n·m)⌋ — one rounding;
//     it equals the CBL plus the mean per-interval difference A/m − B/(n·m).
//
// Noise bound (as in XofY): per interval, |BaselineWh[k] − actual_k| ≤
// b = 4N + 2 with the adjustment applied (its mean difference A/m −
// B/(n·m) adds up to 2N + 1), 2N + 1 without it. Netted over
// m present intervals, a no-change site is credited at most m·b Wh. The
// additive adjustment is one number added to every interval, so its up to
// 2N + 1 is a common bias that does not cancel; the other 2N + 1 is the
// interval's own noise and cancels as in XofY.
func HighXofY(s Series, e Event, c Calendar, p DayMatchParams) (Result, error) {
	return dayMatch(MethodHighXofY, s, e, c, p)
}

func dayMatch(m Method, s Series, e Event, c Calendar, p DayMatchParams) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	if err := s.validate(); err != nil {
		return Result{}, err
	}
	if err := e.validate(c); err != nil {
		return Result{}, err
	}
	if err := p.validate(c); err != nil {
		return Result{}, err
	}
	var gap, span int64
	if p.Adjustment != AdjustNone {
		gap, span = p.AdjustGapSeconds, p.AdjustSpanSeconds
	}
	l := newLayout(c, e, gap, span)
	typeOf := c.TypeOf
	if p.SplitWeekend {
		typeOf = c.LikeTypeOf
	}
	r := Result{Method: m, EventDay: l.eventDay, PostedDay: l.postedDay, DayType: typeOf(l.eventDay)}
	r.Rule = p.WeekendHoliday
	if r.DayType == Weekday {
		r.Rule = p.Weekday
	}
	r.Adjustment = Adjustment{Kind: p.Adjustment, RatioPPM: PPM}

	// Steps 1–2: candidates, newest first, produced lazily so that only the
	// days the pool needs are summed.
	d, oldest := l.postedDay-1, l.postedDay-int64(p.LookbackDays)
	h := newHistory(e, p.StrictMissing)
	short := false // the walk reached the start of the site's history
	next := func() (DayInfo, bool, error) {
		for ; d >= oldest; d-- {
			if typeOf(d) != r.DayType {
				continue
			}
			info, why, err := l.candidate(c, s, d, e.PriorEventDays, h)
			if err != nil {
				var me *MissingDataError
				if errors.As(err, &me) {
					me.Method = m
				}
				return DayInfo{}, false, err
			}
			if why == RejectBeforeHistory {
				// Every older day is before the history too: the walk
				// ends, as at the end of the lookback. HistoryStart is a
				// chain fact (the registration), so the site cannot move it.
				r.Rejected = append(r.Rejected, Rejection{Day: d, Reason: why})
				short, d = true, oldest-1
				return DayInfo{}, false, nil
			}
			if why != 0 {
				r.Rejected = append(r.Rejected, Rejection{Day: d, Reason: why})
				continue
			}
			d--
			return info, true, nil
		}
		return DayInfo{}, false, nil
	}
	y := r.Rule.Y
	var first []DayInfo
	for len(first) < y {
		info, ok, err := next()
		if err != nil {
			return r, err
		}
		if !ok {
			break
		}
		first = append(first, info)
	}

	// Pool, with the low-usage rule.
	if p.LowUsagePPM > 0 && len(first) > 0 {
		var sum int64
		for _, d := range first {
			var err error
			if sum, err = addI(sum, d.WindowWh); err != nil {
				return r, err
			}
		}
		thr, err := mulI(sum, p.LowUsagePPM)
		if err != nil {
			return r, err
		}
		scale := int64(len(first)) * PPM
		add := func(d DayInfo) error {
			lhs, err := mulI(d.WindowWh, scale)
			if err != nil {
				return err
			}
			if lhs < thr {
				r.Rejected = append(r.Rejected, Rejection{Day: d.Day, Reason: RejectLowUsage})
			} else {
				r.Pool = append(r.Pool, d)
			}
			return nil
		}
		for _, d := range first {
			if err := add(d); err != nil {
				return r, err
			}
		}
		for len(r.Pool) < y {
			info, ok, err := next()
			if err != nil {
				return r, err
			}
			if !ok {
				break
			}
			if err := add(info); err != nil {
				return r, err
			}
		}
		// Keep Rejected newest first.
		slices.SortStableFunc(r.Rejected, func(a, b Rejection) int { return cmpDesc(a.Day, b.Day) })
	} else {
		r.Pool = first
	}
	if len(r.Pool) == y {
		// Days older than the pool were not needed: do not list them.
		oldest := r.Pool[y-1].Day
		r.Rejected = slices.DeleteFunc(r.Rejected, func(x Rejection) bool { return x.Day < oldest })
	}
	if len(r.Pool) < r.Rule.min() {
		return r, &InsufficientDataError{Method: m, Have: len(r.Pool), Need: r.Rule.min(), DayType: r.DayType, BeforeHistory: short}
	}

	// Selection.
	n := min(r.Rule.X, len(r.Pool))
	if m == MethodHighXofY && n < len(r.Pool) {
		ranked := slices.Clone(r.Pool)
		// Stable on a newest-first slice: ties keep the newer day first.
		slices.SortStableFunc(ranked, func(a, b DayInfo) int { return cmpDesc(a.WindowWh, b.WindowWh) })
		chosen := ranked[:n]
		for _, d := range r.Pool {
			if slices.ContainsFunc(chosen, func(x DayInfo) bool { return x.Day == d.Day }) {
				r.Selected = append(r.Selected, d)
			}
		}
	} else {
		r.Selected = slices.Clone(r.Pool[:n])
	}

	if err := r.average(c, s, l); err != nil {
		return r, err
	}
	if err := r.adjust(s, e, l, p); err != nil {
		var me *MissingDataError
		if errors.As(err, &me) {
			me.Method = m
		}
		return r, err
	}
	return r, nil
}

// AverageDays is the unadjusted average of the given local days at the
// event window's offsets from local midnight: BaselineWh[k] =
// ⌊Σ_d Wh(DayStart(d) + offset_k) / n⌋, the offsets those of Event.Start+k
// from the event day's midnight (an offset before midnight reads the
// previous day). The ledger uses it for the pre-event guard when the
// guard's own baseline has too few days: the window's days, laid on the
// guard's hours. A missing interval is a *MissingDataError (Day = the day
// it was read for): the days were chosen whatever the site sent.
func AverageDays(s Series, e Event, c Calendar, days []int64) ([]int64, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := e.validate(c); err != nil {
		return nil, err
	}
	if len(days) == 0 || len(days) > 366 {
		return nil, fmt.Errorf("%w: %d days to average", ErrInput, len(days))
	}
	eventDay := c.DayOf(e.Start)
	off := e.Start - c.DayStart(eventDay)
	n := e.End - e.Start
	sum := make([]int64, n)
	for _, d := range days {
		if d < eventDay-366 || d >= eventDay {
			return nil, fmt.Errorf("%w: day %d is not before the event day %d", ErrInput, d, eventDay)
		}
		base := c.DayStart(d) + off
		for k := range n {
			v, ok := s.At(base + k)
			if !ok {
				return nil, &MissingDataError{Day: d, Interval: base + k}
			}
			var err error
			if sum[k], err = addI(sum[k], v); err != nil {
				return nil, err
			}
		}
	}
	out := make([]int64, n)
	for k := range sum {
		var err error
		if out[k], err = FloorMulDiv(sum[k], 1, int64(len(days))); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// average fills SumWh and UnadjustedWh from Selected.
func (r *Result) average(c Calendar, s Series, l layout) error {
	n := int64(len(r.Selected))
	r.SumWh = make([]int64, l.winLen)
	r.UnadjustedWh = make([]int64, l.winLen)
	for _, d := range r.Selected {
		base := c.DayStart(d.Day) + l.winOff
		for k := range l.winLen {
			v, _ := s.At(base + k) // present: checked by candidate
			var err error
			if r.SumWh[k], err = addI(r.SumWh[k], v); err != nil {
				return err
			}
		}
	}
	for k := range r.SumWh {
		var err error
		if r.UnadjustedWh[k], err = FloorMulDiv(r.SumWh[k], 1, n); err != nil {
			return err
		}
	}
	return nil
}

// adjust computes the day-of adjustment and BaselineWh.
func (r *Result) adjust(s Series, e Event, l layout, p DayMatchParams) error {
	n := int64(len(r.Selected))
	a := &r.Adjustment
	r.BaselineWh = slices.Clone(r.UnadjustedWh)
	if p.Adjustment == AdjustNone {
		return nil
	}
	a.Intervals = l.adjLen
	a.WindowStart = e.Start - (l.winOff - l.adjOff)
	for _, d := range r.Selected {
		var err error
		if a.DaysWh, err = addI(a.DaysWh, d.AdjustWh); err != nil {
			return err
		}
	}
	if a.WindowStart+a.Intervals > e.Posted && !p.AdjustAfterPosting {
		a.Skip = SkipAfterPosting
		return nil
	}
	if p.StrictMissing {
		if i, missing := s.firstMissing(a.WindowStart, a.Intervals); missing {
			return &MissingDataError{Day: r.EventDay, Interval: i, Adjustment: true}
		}
	}
	evWh, ok, err := s.sumRange(a.WindowStart, a.Intervals)
	if err != nil {
		return err
	}
	if !ok {
		a.Skip = SkipMissingData
		return nil
	}
	a.EventDayWh = evWh
	switch p.Adjustment {
	case AdjustRatio:
		if a.DaysWh <= 0 || a.EventDayWh < 0 {
			a.Skip = SkipNonPositive
			return nil
		}
		num, err := mulI(a.EventDayWh, n)
		if err != nil {
			return err
		}
		if a.RawRatioPPM, err = FloorMulDiv(num, PPM, a.DaysWh); err != nil {
			return err
		}
		a.RatioPPM = min(max(a.RawRatioPPM, PPM-p.AdjustCapPPM), PPM+p.AdjustCapPPM)
		a.Applied = true
		for k, sum := range r.SumWh {
			if r.BaselineWh[k], err = FloorMulDiv(sum, a.RatioPPM, n*PPM); err != nil {
				return err
			}
		}
	case AdjustAdditive:
		num, err := mulI(a.EventDayWh, n)
		if err != nil {
			return err
		}
		if a.AdditiveNumWh, err = addI(num, -a.DaysWh); err != nil {
			return err
		}
		den := n * a.Intervals
		if a.DeltaWh, err = FloorMulDiv(a.AdditiveNumWh, 1, den); err != nil {
			return err
		}
		a.Applied = true
		for k, sum := range r.SumWh {
			t, err := mulI(sum, a.Intervals)
			if err != nil {
				return err
			}
			if t, err = addI(t, a.AdditiveNumWh); err != nil {
				return err
			}
			if r.BaselineWh[k], err = FloorMulDiv(t, 1, den); err != nil {
				return err
			}
		}
	}
	return nil
}
