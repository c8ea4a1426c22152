package meter

import (
	"context"
	"fmt"
)

// The simulated home as device adapters. Each device implements only the
// capabilities its real counterpart has; all of them read the home's last
// sub-step (Advance moves time on). Time is never reported: the node
// stamps samples with its own clock, which in a simulation is Home.Now.

var (
	_ GridMeter       = (*SimGridMeter)(nil)
	_ GridEnergyMeter = (*SimGridMeter)(nil)
	_ PVMeter         = (*SimPVInverter)(nil)
	_ PVEnergyMeter   = (*SimPVInverter)(nil)
	_ Battery         = (*SimBattery)(nil)
	_ Dispatchable    = (*SimBattery)(nil)
	_ Charger         = (*SimCharger)(nil)
	_ Dispatchable    = (*SimCharger)(nil)
	_ Dispatchable    = (*SimFlexLoad)(nil)
	_ Device          = (*SimGridMeter)(nil)
	_ Device          = (*SimPVInverter)(nil)
	_ Device          = (*SimBattery)(nil)
	_ Device          = (*SimCharger)(nil)
	_ Device          = (*SimFlexLoad)(nil)
)

// Devices returns the home's device adapters: always a grid meter, and a
// PV inverter, battery, EV charger and flexible load when the home has them.
func (h *Home) Devices() []Device {
	ds := []Device{&SimGridMeter{h}}
	if h.cfg.PVNameplateW > 0 {
		ds = append(ds, &SimPVInverter{h})
	}
	if h.capJ > 0 {
		ds = append(ds, &SimBattery{h})
	}
	if h.cfg.EVChargerW > 0 {
		ds = append(ds, &SimCharger{h})
	}
	if h.cfg.FlexW > 0 {
		ds = append(ds, &SimFlexLoad{h})
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
func (h *Home) dispatch(ctx context.Context, device string, d Dispatch, allowed ...DispatchKind) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok := d.Kind == DispatchNone
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
	if d.Kind == DispatchNone {
		until = now
	} else if until <= now {
		return fmt.Errorf("%w: until %d, now %d", ErrDispatchExpired, until, now)
	}
	return h.addEvent(device, simEvent{postedS: now, startS: now, endS: until, kind: d.Kind, powerW: d.PowerW})
}

// SimGridMeter is the home's grid connection meter.
type SimGridMeter struct{ h *Home }

// Name implements Device.
func (m *SimGridMeter) Name() string { return "sim grid meter " + m.h.cfg.Name }

// Close implements Device.
func (m *SimGridMeter) Close() error { return nil }

// GridPowerW implements GridMeter (+ import, − export).
func (m *SimGridMeter) GridPowerW(ctx context.Context) (w int64, err error) {
	err = m.h.read(ctx, func(s *homeState) { w = s.gridW })
	return w, err
}

// GridEnergyWh implements GridEnergyMeter: lifetime counters, floored.
func (m *SimGridMeter) GridEnergyWh(ctx context.Context) (imp, exp uint64, err error) {
	err = m.h.read(ctx, func(s *homeState) {
		imp, exp = uint64(s.cumJ[simImport]/3600), uint64(s.cumJ[simExport]/3600)
	})
	return imp, exp, err
}

// SimPVInverter is the home's PV inverter.
type SimPVInverter struct{ h *Home }

// Name implements Device.
func (p *SimPVInverter) Name() string { return "sim pv " + p.h.cfg.Name }

// Close implements Device.
func (p *SimPVInverter) Close() error { return nil }

// PVPowerW implements PVMeter.
func (p *SimPVInverter) PVPowerW(ctx context.Context) (w int64, err error) {
	err = p.h.read(ctx, func(s *homeState) { w = s.pvW })
	return w, err
}

// PVEnergyWh implements PVEnergyMeter.
func (p *SimPVInverter) PVEnergyWh(ctx context.Context) (wh uint64, err error) {
	err = p.h.read(ctx, func(s *homeState) { wh = uint64(s.cumJ[simPV] / 3600) })
	return wh, err
}

// SimBattery is the home battery. It accepts DispatchBatteryDischarge,
// DispatchBatteryCharge and DispatchNone.
type SimBattery struct{ h *Home }

// Name implements Device.
func (b *SimBattery) Name() string { return "sim battery " + b.h.cfg.Name }

// Close implements Device.
func (b *SimBattery) Close() error { return nil }

// BatteryPowerW implements Battery (+ charging, − discharging).
func (b *SimBattery) BatteryPowerW(ctx context.Context) (w int64, err error) {
	err = b.h.read(ctx, func(s *homeState) { w = s.batteryW })
	return w, err
}

// BatterySoCPpm implements Battery.
func (b *SimBattery) BatterySoCPpm(ctx context.Context) (ppm uint32, err error) {
	err = b.h.read(ctx, func(s *homeState) { ppm = uint32(s.socJ * MaxSoCPpm / b.h.capJ) })
	return ppm, err
}

// Dispatch implements Dispatchable.
func (b *SimBattery) Dispatch(ctx context.Context, d Dispatch) error {
	return b.h.dispatch(ctx, "battery", d, DispatchBatteryDischarge, DispatchBatteryCharge)
}

// SimCharger is the home's EV charger. It accepts DispatchChargerPause and
// DispatchNone.
type SimCharger struct{ h *Home }

// Name implements Device.
func (c *SimCharger) Name() string { return "sim charger " + c.h.cfg.Name }

// Close implements Device.
func (c *SimCharger) Close() error { return nil }

// ChargePowerW implements Charger.
func (c *SimCharger) ChargePowerW(ctx context.Context) (w int64, err error) {
	err = c.h.read(ctx, func(s *homeState) { w = s.evW })
	return w, err
}

// Dispatch implements Dispatchable.
func (c *SimCharger) Dispatch(ctx context.Context, d Dispatch) error {
	return c.h.dispatch(ctx, "charger", d, DispatchChargerPause)
}

// SimFlexLoad is the home's flexible load. It accepts DispatchLoadCurtail
// and DispatchNone.
type SimFlexLoad struct{ h *Home }

// Name implements Device.
func (l *SimFlexLoad) Name() string { return "sim flexible load " + l.h.cfg.Name }

// Close implements Device.
func (l *SimFlexLoad) Close() error { return nil }

// Dispatch implements Dispatchable.
func (l *SimFlexLoad) Dispatch(ctx context.Context, d Dispatch) error {
	return l.h.dispatch(ctx, "flex", d, DispatchLoadCurtail)
}
