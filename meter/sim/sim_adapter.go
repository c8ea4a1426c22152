package sim

import (
	"github.com/gridmint/gridmint/meter"

	"context"
	"fmt"
	"time"
)

// The simulated home as one device of the adapter registry, kind "sim":
// what `gridmint run` and the devnet open when a node's TOML file has
//
//	[[device]]
//	kind = "sim"
//	seed = 1                          # the population seed (the devnet's)
//	home = 7                          # which home of that population
//	genesis = 2026-01-01T00:00:00Z    # the chain's interval 0
//	interval = "15m"                  # the chain's interval length
//
// Unlike Home.Devices, which hands out one adapter per piece of hardware,
// Device is the whole home behind one connection (like a SunSpec
// inverter with a meter and a battery), reporting what it has through
// Capabilities. It runs in real time: each call first simulates every
// sub-step that has ended by the clock's now, so the node sees a home that
// lives on its own clock.

var (
	_ meter.Device             = (*Device)(nil)
	_ meter.CapabilityReporter = (*Device)(nil)
	_ meter.GridMeter          = (*Device)(nil)
	_ meter.GridEnergyMeter    = (*Device)(nil)
	_ meter.PVMeter            = (*Device)(nil)
	_ meter.PVEnergyMeter      = (*Device)(nil)
	_ meter.Battery            = (*Device)(nil)
	_ meter.Charger            = (*Device)(nil)
	_ meter.Dispatchable       = (*Device)(nil)
)

func init() {
	meter.Register("sim", func(ctx context.Context, decode func(any) error) (meter.Device, error) {
		var cfg DeviceConfig
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return NewDevice(cfg)
	})
}

// DeviceConfig configures a simulated home opened as a device.
type DeviceConfig struct {
	Seed     uint64         `toml:"seed"`     // population seed
	Home     int            `toml:"home"`     // index of the home in the population
	Genesis  time.Time      `toml:"genesis"`  // start of interval 0; required
	Interval meter.Duration `toml:"interval"` // interval length; 15 min when zero
	// Clock is the node's clock; time.Now when nil. Not in the TOML file:
	// tests and the devnet set it.
	Clock func() time.Time `toml:"-"`
}

// Device is one simulated home, stepped in real time.
type Device struct {
	home  *Home
	clock func() time.Time
	name  string
}

// NewDevice opens home cfg.Home of the default population of cfg.Seed,
// simulated up to the clock's now.
func NewDevice(cfg DeviceConfig) (*Device, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Interval == 0 {
		cfg.Interval = meter.Duration(15 * time.Minute)
	}
	if cfg.Home < 0 || cfg.Genesis.IsZero() {
		return nil, fmt.Errorf("%w: sim device needs a genesis time and a home index >= 0", ErrConfig)
	}
	ivS := int64(cfg.Interval.D() / time.Second)
	if time.Duration(ivS)*time.Second != cfg.Interval.D() {
		return nil, fmt.Errorf("%w: interval %v is not whole seconds", ErrConfig, cfg.Interval)
	}
	clk := Clock{GenesisUnix: cfg.Genesis.Unix(), IntervalS: ivS}
	if err := clk.validate(); err != nil {
		return nil, err
	}
	now := cfg.Clock().Unix()
	if now < clk.GenesisUnix {
		return nil, fmt.Errorf("%w: the clock (%d) is before genesis (%d)", ErrConfig, now, clk.GenesisUnix)
	}
	// Start at genesis, or at the last 28-day boundary since genesis once the
	// chain is older than that, and catch up (a day of one home is ~0.3 ms):
	// a node that restarts then finds its home exactly as it left it, as
	// long as nothing was dispatched.
	const periodS = 28 * 86400
	if startS := (now - clk.GenesisUnix) / periodS * periodS; startS > 0 {
		clk.Start = clk.IntervalAt(clk.GenesisUnix + startS)
	}
	key, err := SiteKey(cfg.Seed, cfg.Home)
	if err != nil {
		return nil, err
	}
	h, err := NewHome(clk, HomeConfigFor(DefaultPopulation(cfg.Seed, cfg.Home+1), cfg.Home), key, nil)
	if err != nil {
		return nil, err
	}
	d := &Device{home: h, clock: cfg.Clock, name: fmt.Sprintf("sim home %d of seed %d", cfg.Home, cfg.Seed)}
	d.sync()
	return d, nil
}

// Home returns the simulated home, with its ground truth.
func (d *Device) Home() *Home { return d.home }

// sync simulates every sub-step that has ended by now.
func (d *Device) sync() {
	now := d.clock().Unix()
	h := d.home
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.nowS()+SubStepS <= now {
		h.advance()
	}
}

// read syncs and reads the home's state.
func (d *Device) read(ctx context.Context, has bool, f func(s *homeState)) error {
	if !has {
		return meter.ErrNotSupported
	}
	d.sync()
	return d.home.read(ctx, f)
}

// Name implements Device.
func (d *Device) Name() string { return d.name }

// Close implements Device.
func (d *Device) Close() error { return nil }

// Capabilities implements CapabilityReporter: a grid meter always, the rest
// as the home has them.
func (d *Device) Capabilities() meter.Capability {
	c := meter.CapGrid | meter.CapGridEnergy
	cfg := &d.home.cfg
	if cfg.PVNameplateW > 0 {
		c |= meter.CapPV | meter.CapPVEnergy
	}
	if d.home.capJ > 0 {
		c |= meter.CapBattery
	}
	if cfg.EVChargerW > 0 {
		c |= meter.CapCharger
	}
	if d.home.capJ > 0 || cfg.EVChargerW > 0 || cfg.FlexW > 0 {
		c |= meter.CapDispatch
	}
	return c
}

// GridPowerW implements GridMeter.
func (d *Device) GridPowerW(ctx context.Context) (w int64, err error) {
	err = d.read(ctx, true, func(s *homeState) { w = s.gridW })
	return w, err
}

// GridEnergyWh implements GridEnergyMeter.
func (d *Device) GridEnergyWh(ctx context.Context) (imp, exp uint64, err error) {
	err = d.read(ctx, true, func(s *homeState) {
		imp, exp = uint64(s.cumJ[simImport]/3600), uint64(s.cumJ[simExport]/3600)
	})
	return imp, exp, err
}

// PVPowerW implements PVMeter.
func (d *Device) PVPowerW(ctx context.Context) (w int64, err error) {
	err = d.read(ctx, d.home.cfg.PVNameplateW > 0, func(s *homeState) { w = s.pvW })
	return w, err
}

// PVEnergyWh implements PVEnergyMeter.
func (d *Device) PVEnergyWh(ctx context.Context) (wh uint64, err error) {
	err = d.read(ctx, d.home.cfg.PVNameplateW > 0, func(s *homeState) { wh = uint64(s.cumJ[simPV] / 3600) })
	return wh, err
}

// BatteryPowerW implements Battery.
func (d *Device) BatteryPowerW(ctx context.Context) (w int64, err error) {
	err = d.read(ctx, d.home.capJ > 0, func(s *homeState) { w = s.batteryW })
	return w, err
}

// BatterySoCPpm implements Battery.
func (d *Device) BatterySoCPpm(ctx context.Context) (ppm uint32, err error) {
	err = d.read(ctx, d.home.capJ > 0, func(s *homeState) { ppm = uint32(s.socJ * meter.MaxSoCPpm / d.home.capJ) })
	return ppm, err
}

// ChargePowerW implements Charger.
func (d *Device) ChargePowerW(ctx context.Context) (w int64, err error) {
	err = d.read(ctx, d.home.cfg.EVChargerW > 0, func(s *homeState) { w = s.evW })
	return w, err
}

// Dispatch implements Dispatchable: battery kinds go to the battery, a
// charger pause to the charger, a curtailment to the flexible load, and
// DispatchNone ends every running dispatch. A kind the home has no device
// for is ErrUnsupportedDispatch.
func (d *Device) Dispatch(ctx context.Context, disp meter.Dispatch) error {
	d.sync()
	if disp.Kind == meter.DispatchNone {
		for _, dev := range []string{"battery", "charger", "flex"} {
			if err := d.home.dispatch(ctx, dev, disp); err != nil {
				return err
			}
		}
		return nil
	}
	dev := simDeviceOf(disp.Kind)
	if dev == "" {
		return fmt.Errorf("%w: kind %d", ErrUnsupportedDispatch, disp.Kind)
	}
	return d.home.dispatch(ctx, dev, disp, disp.Kind)
}
