package sim

import (
	"github.com/gridmint/gridmint/meter"

	"context"
	"fmt"
)

// The simulated home as device adapters. Each device implements only the
// capabilities its real counterpart has; all of them read the home's last
// sub-step (Advance moves time on). Time is never reported: the node
// stamps samples with its own clock, which in a simulation is Home.Now.

var (
	_ meter.GridMeter       = (*GridMeter)(nil)
	_ meter.GridEnergyMeter = (*GridMeter)(nil)
	_ meter.PVMeter         = (*PVInverter)(nil)
	_ meter.PVEnergyMeter   = (*PVInverter)(nil)
	_ meter.Battery         = (*Battery)(nil)
	_ meter.Dispatchable    = (*Battery)(nil)
	_ meter.Charger         = (*Charger)(nil)
	_ meter.Dispatchable    = (*Charger)(nil)
	_ meter.Dispatchable    = (*FlexLoad)(nil)
	_ meter.Device          = (*GridMeter)(nil)
	_ meter.Device          = (*PVInverter)(nil)
	_ meter.Device          = (*Battery)(nil)
	_ meter.Device          = (*Charger)(nil)
	_ meter.Device          = (*FlexLoad)(nil)
)

// Devices returns the home's device adapters: always a grid meter, and a
// PV inverter, battery, EV charger and flexible load when the home has them.
func (h *Home) Devices() []meter.Device {
	ds := []meter.Device{&GridMeter{h}}
	if h.cfg.PVNameplateW > 0 {
		ds = append(ds, &PVInverter{h})
	}
	if h.capJ > 0 {
		ds = append(ds, &Battery{h})
	}
	if h.cfg.EVChargerW > 0 {
		ds = append(ds, &Charger{h})
	}
	if h.cfg.FlexW > 0 {
		ds = append(ds, &FlexLoad{h})
	}
	return ds
}

// read runs f on the home's actual state under its lock.
func (h *Home) read(ctx context.Context, f func(s *homeState)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.actual)
	return nil
}

// dispatch applies d from the home's current time until d.Until.
func (h *Home) dispatch(ctx context.Context, device string, d meter.Dispatch, allowed ...meter.DispatchKind) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok := d.Kind == meter.DispatchNone
	for _, k := range allowed {
		ok = ok || d.Kind == k
	}
	if !ok {
		return fmt.Errorf("%w: %s cannot do kind %d", ErrUnsupportedDispatch, device, d.Kind)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.nowS()
	until := d.Until.Unix()
	if d.Kind == meter.DispatchNone {
		until = now
	} else if until <= now {
		return fmt.Errorf("%w: until %d, now %d", ErrDispatchExpired, until, now)
	}
	return h.addEvent(device, simEvent{postedS: now, startS: now, endS: until, kind: d.Kind, powerW: d.PowerW})
}

// GridMeter is the home's grid connection meter.
type GridMeter struct{ h *Home }

// Name implements Device.
func (m *GridMeter) Name() string { return "sim grid meter " + m.h.cfg.Name }

// Close implements Device.
func (m *GridMeter) Close() error { return nil }

// GridPowerW implements GridMeter (+ import, − export).
func (m *GridMeter) GridPowerW(ctx context.Context) (w int64, err error) {
	err = m.h.read(ctx, func(s *homeState) { w = s.gridW })
	return w, err
}

// GridEnergyWh implements GridEnergyMeter: lifetime counters, floored.
func (m *GridMeter) GridEnergyWh(ctx context.Context) (imp, exp uint64, err error) {
	err = m.h.read(ctx, func(s *homeState) {
		imp, exp = uint64(s.cumJ[simImport]/3600), uint64(s.cumJ[simExport]/3600)
	})
	return imp, exp, err
}

// PVInverter is the home's PV inverter.
type PVInverter struct{ h *Home }

// Name implements Device.
func (p *PVInverter) Name() string { return "sim pv " + p.h.cfg.Name }

// Close implements Device.
func (p *PVInverter) Close() error { return nil }

// PVPowerW implements PVMeter.
func (p *PVInverter) PVPowerW(ctx context.Context) (w int64, err error) {
	err = p.h.read(ctx, func(s *homeState) { w = s.pvW })
	return w, err
}

// PVEnergyWh implements PVEnergyMeter.
func (p *PVInverter) PVEnergyWh(ctx context.Context) (wh uint64, err error) {
	err = p.h.read(ctx, func(s *homeState) { wh = uint64(s.cumJ[simPV] / 3600) })
	return wh, err
}

// Battery is the home battery. It accepts DispatchBatteryDischarge,
// DispatchBatteryCharge and DispatchNone.
type Battery struct{ h *Home }

// Name implements Device.
func (b *Battery) Name() string { return "sim battery " + b.h.cfg.Name }

// Close implements Device.
func (b *Battery) Close() error { return nil }

// BatteryPowerW implements Battery (+ charging, − discharging).
func (b *Battery) BatteryPowerW(ctx context.Context) (w int64, err error) {
	err = b.h.read(ctx, func(s *homeState) { w = s.batteryW })
	return w, err
}

// BatterySoCPpm implements Battery.
func (b *Battery) BatterySoCPpm(ctx context.Context) (ppm uint32, err error) {
	err = b.h.read(ctx, func(s *homeState) { ppm = uint32(s.socJ * meter.MaxSoCPpm / b.h.capJ) })
	return ppm, err
}

// Dispatch implements Dispatchable.
func (b *Battery) Dispatch(ctx context.Context, d meter.Dispatch) error {
	return b.h.dispatch(ctx, "battery", d, meter.DispatchBatteryDischarge, meter.DispatchBatteryCharge)
}

// Charger is the home's EV charger. It accepts DispatchChargerPause and
// DispatchNone.
type Charger struct{ h *Home }

// Name implements Device.
func (c *Charger) Name() string { return "sim charger " + c.h.cfg.Name }

// Close implements Device.
func (c *Charger) Close() error { return nil }

// ChargePowerW implements Charger.
func (c *Charger) ChargePowerW(ctx context.Context) (w int64, err error) {
	err = c.h.read(ctx, func(s *homeState) { w = s.evW })
	return w, err
}

// Dispatch implements Dispatchable.
func (c *Charger) Dispatch(ctx context.Context, d meter.Dispatch) error {
	return c.h.dispatch(ctx, "charger", d, meter.DispatchChargerPause)
}

// FlexLoad is the home's flexible load. It accepts DispatchLoadCurtail
// and DispatchNone.
type FlexLoad struct{ h *Home }

// Name implements Device.
func (l *FlexLoad) Name() string { return "sim flexible load " + l.h.cfg.Name }

// Close implements Device.
func (l *FlexLoad) Close() error { return nil }

// Dispatch implements Dispatchable.
func (l *FlexLoad) Dispatch(ctx context.Context, d meter.Dispatch) error {
	return l.h.dispatch(ctx, "flex", d, meter.DispatchLoadCurtail)
}
