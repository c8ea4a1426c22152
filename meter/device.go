package meter

import (
	"context"
	"time"
)

// Device adapters are small: each capability is its own interface, and an
// adapter implements only what its device can do (in the manner of evcc's
// api.Meter / api.Battery / api.Charger). The node finds a capability with a
// type assertion, and every adapter file asserts at compile time which ones
// it implements:
//
//	var _ meter.GridMeter = (*SunSpec)(nil)
//
// Power is in W, energy in Wh, state of charge in ppm. Signs are fixed:
// grid power is positive when importing, battery power is positive when
// charging. Adapters never report time: the node stamps every sample with
// its own (NTP-synced) clock, because a device's clock is not trusted.

// Device is anything the node reads.
type Device interface {
	// Name is a short label for logs, e.g. "sunspec 192.168.1.20:502 unit 1".
	Name() string
	// Close releases connections. It is safe to call more than once.
	Close() error
}

// GridMeter reports the power at the grid connection point (W, + import, − export).
type GridMeter interface {
	GridPowerW(ctx context.Context) (int64, error)
}

// GridEnergyMeter reports the grid meter's lifetime energy counters (Wh).
// Counters are preferred to integrated power when a device has them.
type GridEnergyMeter interface {
	GridEnergyWh(ctx context.Context) (importWh, exportWh uint64, err error)
}

// PVMeter reports the PV inverter's AC output power (W, >= 0).
type PVMeter interface {
	PVPowerW(ctx context.Context) (int64, error)
}

// PVEnergyMeter reports the inverter's lifetime AC energy counter (Wh).
type PVEnergyMeter interface {
	PVEnergyWh(ctx context.Context) (uint64, error)
}

// CounterResolution is implemented by adapters that know the resolution of
// an energy counter: the Wh by which the counter behind c (CapPVEnergy or
// CapGridEnergy) steps, e.g. 10 for a SunSpec counter with WH_SF = +1. The
// site agent configures the counter's integrator with it
// (IntegratorConfig.CounterStepWh), so that whole steps at a short poll
// are counted, not rejected as implausible. An adapter without it has
// 1 Wh counters.
type CounterResolution interface {
	CounterStepWh(ctx context.Context, c Capability) (uint64, error)
}

// Battery reports battery power (W, + charging, − discharging) and state of
// charge (ppm).
type Battery interface {
	BatteryPowerW(ctx context.Context) (int64, error)
	BatterySoCPpm(ctx context.Context) (uint32, error)
}

// Charger reports an EV charger's power (W, >= 0).
type Charger interface {
	ChargePowerW(ctx context.Context) (int64, error)
}

// DispatchKind is what the node asks a device to do during a committed
// flexibility window.
type DispatchKind uint8

// Dispatch kinds.
const (
	DispatchNone             DispatchKind = iota // resume normal operation
	DispatchBatteryDischarge                     // discharge at up to PowerW
	DispatchBatteryCharge                        // charge at up to PowerW (an "up" request)
	DispatchChargerPause                         // pause EV charging
	DispatchLoadCurtail                          // curtail a flexible load by PowerW
)

// Dispatch is one actuation request.
type Dispatch struct {
	Kind   DispatchKind
	PowerW int64
	Until  time.Time // the node resumes normal operation at this time at the latest
}

// Dispatchable is a device that can act on a dispatch. Not every device can;
// the node checks with a type assertion and logs what it did.
type Dispatchable interface {
	Dispatch(ctx context.Context, d Dispatch) error
}
