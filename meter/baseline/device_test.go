package baseline

import (
	"errors"
	"testing"
)

// EV charger, posted the day before: the baseline is the charger's own
// profile over the 10 most recent complete days. The charger ran 7.000 kWh
// an hour 18:00–20:00 on 7 of those days, 3.500 kWh on 2, nothing on 1:
// Σ = 7·7000 + 2·3500 + 0 = 56000 Wh → 5600 Wh per hour.
func TestDeviceProfileEV(t *testing.T) {
	c := exCalendar(t)
	h := newHist(24, 32, 0)
	for d := int64(18); d <= 27; d++ {
		h.set(d, 18, 7000, 7000)
	}
	h.set(27, 18, 3500, 3500)
	h.set(26, 18, 3500, 3500)
	h.set(25, 18, 0, 0)
	h.set(17, 18, 9999, 9999) // the 11th day back: not used
	h.set(28, 18, 9999, 9999) // the posting day: not used
	ev := Event{Start: h.iv(29, 18), End: h.iv(29, 20), Posted: h.iv(28, 12)}
	r, err := DeviceProfile(h.s, ev, c, DefaultDevice())
	if err != nil {
		t.Fatal(err)
	}
	if r.Device.Mode != ModeProfile || len(r.Selected) != 10 {
		t.Fatalf("mode %v, %d days", r.Device.Mode, len(r.Selected))
	}
	eqInts(t, "EV baseline", r.BaselineWh, []int64{5600, 5600})

	// Gaming: charging flat out from the posting to the event start does
	// not move the profile baseline.
	for i := ev.Posted; i < ev.Start; i++ {
		h.s.Wh[i] = 11000
	}
	r2, err := DeviceProfile(h.s, ev, c, DefaultDevice())
	if err != nil {
		t.Fatal(err)
	}
	eqInts(t, "EV baseline after gaming", r2.BaselineWh, r.BaselineWh)

	// Too little history: 3 days.
	short := Series{First: h.iv(26, 0), Wh: h.s.Wh[h.iv(26, 0):]}
	_, err = DeviceProfile(short, ev, c, DefaultDevice())
	var ide *InsufficientDataError
	if !errors.As(err, &ide) || ide.Have != 2 || ide.Need != 5 || ide.Method != MethodDevice {
		t.Fatalf("short history: %v", err)
	}
}

// Battery under real-time dispatch (posted at the window start), 15-minute
// intervals: the hour before, it charged 0.500 kWh each quarter hour (load
// +500 Wh); the meter-before level is ⌊2000/4⌋ = 500 Wh per interval.
// During the event it discharges 0.750 kWh a quarter (load −750): a "down"
// delivery of 500 − (−750) = 1250 Wh per interval.
func TestDeviceMeterBeforeBattery(t *testing.T) {
	c := Calendar{GenesisUnix: exGenesis, IntervalSeconds: 900, UTCOffsetSeconds: exOffset}
	h := newHist(96, 3, 0)
	start := h.iv(2, 17*4)
	for i := start - 4; i < start; i++ {
		h.s.Wh[i] = 500
	}
	for i := start; i < start+8; i++ {
		h.s.Wh[i] = -750
	}
	ev := Event{Start: start, End: start + 8, Posted: start}
	r, err := DeviceProfile(h.s, ev, c, DefaultDevice())
	if err != nil {
		t.Fatal(err)
	}
	if r.Device.Mode != ModeMeterBefore || r.Device.BeforeWh != 2000 || r.Device.BeforeIntervals != 4 {
		t.Fatalf("device %+v", r.Device)
	}
	eqInts(t, "battery baseline", r.BaselineWh, []int64{500, 500, 500, 500, 500, 500, 500, 500})
	s, err := Settle(Commitment{
		Direction: Down, IntervalSeconds: 900, CommittedW: 4000,
		BaselineWh: r.BaselineWh, Actual: netOnly(h.s.Wh[start : start+8]),
		PriceBaseUnitsPerKWh: 1_000_000, PayoutCapPPM: PPM, BondBaseUnits: 0,
	}, DefaultSlash())
	if err != nil {
		t.Fatal(err)
	}
	// Committed 4000 W × 900 s / 3600 = 1000 Wh per interval, 8000 in all;
	// delta 500 − (−750) = 1250 in each interval, net 8 × 1250 = 10000 Wh;
	// performance ⌊10000·10^6/8000⌋ = 1250000 ppm; paid up to the cap
	// ⌊8000·10^6/10^6⌋ = 8000 Wh → ⌊10^6·8000/1000⌋ = 8 FLX.
	if s.DeliveredWh != 10000 || s.CommittedWh != 8000 || s.PerformancePPM != 1_250_000 || s.PayoutBaseUnits != 8_000_000 {
		t.Fatalf("settlement %+v", s)
	}

	// A missing before-interval: fall back to the profile (which, with two
	// days of zero history, is zero).
	h.missing(2, 17*4-1)
	r, err = DeviceProfile(h.s, ev, c, DeviceParams{BeforeSeconds: 3600, ProfileDays: 2, MinProfileDays: 2, LookbackDays: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Device.Mode != ModeProfile {
		t.Fatalf("mode %v", r.Device.Mode)
	}
	eqInts(t, "fallback", r.BaselineWh, []int64{0, 0, 0, 0, 0, 0, 0, 0})
}

func netOnly(wh []int64) []Reading {
	out := make([]Reading, len(wh))
	for k, v := range wh {
		if v >= 0 {
			out[k].ImportWh = v
		} else {
			out[k].ExportWh = -v
		}
	}
	return out
}
