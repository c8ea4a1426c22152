package baseline

import (
	"errors"
	"fmt"
	"slices"
)

// DeviceMode says which rule of the device method produced the baseline.
type DeviceMode uint8

const (
	// ModeNone: not the device method.
	ModeNone DeviceMode = iota
	// ModeMeterBefore: a flat baseline at the level of the meter-before
	// window.
	ModeMeterBefore
	// ModeProfile: the device's own recent profile (the named fallback).
	ModeProfile
)

func (m DeviceMode) String() string {
	switch m {
	case ModeNone:
		return "none"
	case ModeMeterBefore:
		return "meter-before"
	case ModeProfile:
		return "profile"
	}
	return fmt.Sprintf("DeviceMode(%d)", uint8(m))
}

// DeviceParams are the rules of the device method.
type DeviceParams struct {
	// BeforeSeconds is the length of the meter-before window ending at the
	// event start (a multiple of the interval length).
	BeforeSeconds int64
	// ProfileDays is how many recent days (any day type) the profile
	// averages; MinProfileDays the fewest it accepts; LookbackDays how far
	// back before the day of posting it looks.
	ProfileDays, MinProfileDays, LookbackDays int
	// StrictMissing: as DayMatchParams.StrictMissing, for the profile days
	// and the meter-before window.
	StrictMissing bool
}

// DefaultDevice returns a one-hour meter-before window and a profile of the
// 10 most recent complete days (at least 5) within 20 days.
func DefaultDevice() DeviceParams {
	return DeviceParams{BeforeSeconds: 3600, ProfileDays: 10, MinProfileDays: 5, LookbackDays: 20}
}

func (p DeviceParams) validate(c Calendar) error {
	m, _ := floorMod(p.BeforeSeconds, c.IntervalSeconds)
	if p.BeforeSeconds <= 0 || m != 0 || p.BeforeSeconds > secondsPerDay {
		return fmt.Errorf("%w: meter-before window %d s (interval %d s)", ErrInput, p.BeforeSeconds, c.IntervalSeconds)
	}
	if p.ProfileDays < 1 || p.MinProfileDays < 1 || p.MinProfileDays > p.ProfileDays ||
		p.LookbackDays < p.ProfileDays || p.LookbackDays > 366 {
		return fmt.Errorf("%w: device profile days %d, min %d, lookback %d", ErrInput, p.ProfileDays, p.MinProfileDays, p.LookbackDays)
	}
	return nil
}

// DeviceProfile computes a meter-before/meter-after baseline for one device
// channel — a battery or an EV charger — so that the meter "after" (the
// channel during the event) is compared with what the device did before.
//
// The series must be signed as load, consumption positive: EV charging Wh
// as read; a battery as charge − discharge. Then, like the whole-site
// methods, "down" delivery is baseline − actual and "up" delivery is
// actual − baseline.
//
// Rules (defaults from DefaultDevice in brackets):
//
//  1. Meter-before: when the window [Start − b, Start) [b = 1 h] ends by
//     Event.Posted (the request was posted at the window start: real-time
//     dispatch) and every interval of it has a reading, the baseline is flat:
//     BaselineWh[k] = ⌊BeforeWh / b_intervals⌋ for every k (Mode =
//     meter-before). A request posted earlier lets the site move its
//     before-window, so it is not used.
//  2. Otherwise, the named fallback, the device's own recent profile (Mode =
//     profile): candidate days are the LookbackDays [20] local days before
//     the day of posting, newest first, of any day type; prior event days,
//     days with a missing interval in the event window's counterpart, and
//     counterparts on or after the day of posting are rejected. The newest
//     ProfileDays [10] are averaged: BaselineWh[k] = ⌊SumWh[k]/n⌋. Fewer
//     than MinProfileDays [5]: *InsufficientDataError.
//
// Noise bound: for a device whose every interval is p_k + e, |e| ≤ N Wh,
// with no change on the event day, per interval |BaselineWh[k] − actual_k|
// ≤ b_k = 2N + 1 (profile), and ≤ b_k = 2N + 1 + |p_k − p̄_before|
// (meter-before, flat level, p̄_before the mean of p over the before
// window). Netted over the event (Settle), a no-change device is credited
// at most max(0, Σ_k delta_k) ≤ Σ_k b_k Wh over its present intervals. The
// noise part cancels between intervals as in XofY; the meter-before term
// p_k − p̄_before is the device's own profile, not noise, and nets only to
// Σ_k (p̄_before − p_k), the energy by which its usual load in the window
// differs from the flat level.
func DeviceProfile(s Series, e Event, c Calendar, p DeviceParams) (Result, error) {
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
	l := newLayout(c, e, 0, 0)
	r := Result{
		Method: MethodDevice, EventDay: l.eventDay, PostedDay: l.postedDay, DayType: c.TypeOf(l.eventDay),
		Rule:       DayCount{X: p.ProfileDays, Y: p.ProfileDays, Min: p.MinProfileDays},
		Adjustment: Adjustment{Kind: AdjustNone, RatioPPM: PPM},
	}
	b, _ := FloorMulDiv(p.BeforeSeconds, 1, c.IntervalSeconds)
	r.Device = DeviceInfo{BeforeStart: e.Start - b, BeforeIntervals: b}
	if e.Start <= e.Posted {
		if i, missing := s.firstMissing(e.Start-b, b); missing && p.StrictMissing {
			return r, &MissingDataError{Method: MethodDevice, Day: l.eventDay, Interval: i, Adjustment: true}
		}
		sum, ok, err := s.sumRange(e.Start-b, b)
		if err != nil {
			return r, err
		}
		if ok {
			level, err := FloorMulDiv(sum, 1, b)
			if err != nil {
				return r, err
			}
			r.Device.Mode = ModeMeterBefore
			r.Device.BeforeWh = sum
			r.BaselineWh = make([]int64, l.winLen)
			for k := range r.BaselineWh {
				r.BaselineWh[k] = level
			}
			return r, nil
		}
	}
	r.Device.Mode = ModeProfile
	h := newHistory(e, p.StrictMissing)
	for d := l.postedDay - 1; d >= l.postedDay-int64(p.LookbackDays) && len(r.Pool) < p.ProfileDays; d-- {
		info, why, err := l.candidate(c, s, d, e.PriorEventDays, h)
		if err != nil {
			var me *MissingDataError
			if errors.As(err, &me) {
				me.Method = MethodDevice
			}
			return r, err
		}
		if why == RejectBeforeHistory {
			r.Rejected = append(r.Rejected, Rejection{Day: d, Reason: why})
			break // every older day is before the history too
		}
		if why != 0 {
			r.Rejected = append(r.Rejected, Rejection{Day: d, Reason: why})
			continue
		}
		r.Pool = append(r.Pool, info)
	}
	if len(r.Pool) < p.MinProfileDays {
		return r, &InsufficientDataError{Method: MethodDevice, Have: len(r.Pool), Need: p.MinProfileDays, DayType: r.DayType}
	}
	r.Selected = slices.Clone(r.Pool)
	if err := r.average(c, s, l); err != nil {
		return r, err
	}
	r.BaselineWh = slices.Clone(r.UnadjustedWh)
	return r, nil
}
