package meter

import (
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/meter/solar"
)

// Plausibility errors: each physical impossibility has its own value, so the
// ledger can keep the reason and the API can show it.
var (
	ErrPVNoDevice        = errors.New("PV generation at a site with no PV device")
	ErrPVAboveNameplate  = errors.New("PV generation above nameplate power × interval")
	ErrPVAtNight         = errors.New("PV generation while the sun is below the horizon for the whole interval")
	ErrBatteryNoDevice   = errors.New("battery energy or state of charge at a site with no battery")
	ErrBatteryPower      = errors.New("battery energy above its power rating × interval")
	ErrBatteryCapacity   = errors.New("battery energy above its storage capacity")
	ErrEVNoCharger       = errors.New("EV charging at a site with no charger")
	ErrEVPower           = errors.New("EV charging above the charger's power × interval")
	ErrNegativeHouseLoad = errors.New("energy balance implies a negative house load")
)

// Capabilities are what a site's registered devices can physically do: the
// sums of nameplate powers (W) and storage (Wh) per kind, and the location.
type Capabilities struct {
	PVW       uint64
	BatteryW  uint64
	BatteryWh uint64
	ChargerW  uint64
	LatE6     int64
	LonE6     int64
}

// maxWh is the energy a device of powerW can move in seconds, rounded down:
// an honest meter never reports more.
func maxWh(powerW uint64, seconds uint32) uint64 { return powerW * uint64(seconds) / 3600 }

// CheckPlausible applies the physical rules to a reading of an interval that
// starts at startUnix and lasts seconds. It returns the first rule broken,
// wrapped with the numbers, or nil. It is pure integer arithmetic (the
// ledger runs it inside its state transition).
//
// The rules, in order:
//   - PV needs a PV device; PV ≤ nameplate × interval; PV > 0 only if the
//     sun is above the horizon at some moment of the interval at the site
//     (meter/solar's conservative predicate, which never rejects real PV);
//   - battery channels and a non-zero state of charge need a battery; each
//     of charge and discharge ≤ power × interval and ≤ capacity;
//   - EV charging needs a charger and ≤ charger power × interval;
//   - house load (import + PV + discharge − export − charge − EV) ≥ 0.
//
// Counter resolution: a device's energy counter may step by more than 1 Wh
// (10 Wh for a SunSpec counter with WH_SF = +1). The sample-level rate check
// lives in the Integrator, which allows one step of the configured
// resolution (IntegratorConfig.CounterStepWh) between two polls, so coarse
// counters are counted, not rejected. The interval rules here allow no such
// slack: an interval read from a coarse counter carries at most one step
// more than was delivered, which matters only for a device that runs at
// its full rating for the whole interval (a PV inverter clipping at a
// nameplate equal to its registered PVW).
func CheckPlausible(r *Reading, c Capabilities, startUnix int64, seconds uint32) error {
	if r.PVWh > 0 {
		if c.PVW == 0 {
			return ErrPVNoDevice
		}
		if lim := maxWh(c.PVW, seconds); uint64(r.PVWh) > lim {
			return fmt.Errorf("%w: %d Wh > %d Wh", ErrPVAboveNameplate, r.PVWh, lim)
		}
		if solar.SunBelowHorizonThroughout(startUnix, startUnix+int64(seconds), c.LatE6, c.LonE6) {
			return fmt.Errorf("%w: %d Wh", ErrPVAtNight, r.PVWh)
		}
	}
	if r.BatteryChargeWh > 0 || r.BatteryDischargeWh > 0 || r.BatterySoCPpm > 0 {
		if c.BatteryW == 0 {
			return ErrBatteryNoDevice
		}
		lim := maxWh(c.BatteryW, seconds)
		for _, wh := range []uint32{r.BatteryChargeWh, r.BatteryDischargeWh} {
			if uint64(wh) > lim {
				return fmt.Errorf("%w: %d Wh > %d Wh", ErrBatteryPower, wh, lim)
			}
			if uint64(wh) > c.BatteryWh {
				return fmt.Errorf("%w: %d Wh > %d Wh", ErrBatteryCapacity, wh, c.BatteryWh)
			}
		}
	}
	if r.EVWh > 0 {
		if c.ChargerW == 0 {
			return ErrEVNoCharger
		}
		if lim := maxWh(c.ChargerW, seconds); uint64(r.EVWh) > lim {
			return fmt.Errorf("%w: %d Wh > %d Wh", ErrEVPower, r.EVWh, lim)
		}
	}
	if h := r.HouseLoadWh(); h < 0 {
		return fmt.Errorf("%w: %d Wh", ErrNegativeHouseLoad, h)
	}
	return nil
}
