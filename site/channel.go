package site

import (
	"context"
	"fmt"
	"time"

	"github.com/gridmint/gridmint/meter"
)

// slot is the reading field (or pair of fields) a channel's energy goes to.
type slot uint8

const (
	slotGrid       slot = iota // power: + import, − export
	slotGridImport             // counter
	slotGridExport             // counter
	slotPV                     // counter or power, +
	slotBattery                // power: + charge, − discharge
	slotEV                     // power, +
)

// channel is one quantity of one device with its integrator. A device
// with an energy counter is read by its counter (exact, and immune to
// missed polls), otherwise by its power.
type channel struct {
	id        string // journal key: device index and quantity, e.g. "0/pv"
	slot      slot
	power     func(ctx context.Context) (int64, error)  // a power channel's read
	counter   func(ctx context.Context) (uint64, error) // a counter channel's read
	stepWh    uint64                                    // a counter's resolution (meter.CounterResolution)
	integ     *meter.Integrator
	hasSample bool
	through   uint64 // intervals before this one can get nothing more from the channel
	lastMs    int64  // unix ms of the last sample the integrator took
}

func (ch *channel) sample(ctx context.Context, now time.Time) ([]meter.IntervalEnergy, error) {
	if ch.power != nil {
		w, err := ch.power(ctx)
		if err != nil {
			return nil, err
		}
		return ch.integ.AddPower(now, w)
	}
	c, err := ch.counter(ctx)
	if err != nil {
		return nil, err
	}
	return ch.integ.AddCounter(now, c)
}

// buildChannels makes the channels of every device, in device order and
// then in a fixed order of quantities, so that a restart with the same
// devices finds the same channel ids.
func buildChannels(ctx context.Context, cfg Config) ([]*channel, []meter.Battery, error) {
	var chans []*channel
	var socs []meter.Battery
	add := func(i int, name string, s slot, kind meter.ChannelKind, ch *channel) error {
		ch.id, ch.slot = fmt.Sprintf("%d/%s", i, name), s
		ic := integratorConfig(cfg, kind)
		ic.CounterStepWh = ch.stepWh
		g, err := meter.NewIntegrator(ic)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		ch.integ = g
		chans = append(chans, ch)
		return nil
	}
	for i, d := range cfg.Devices {
		gridStep, gridOK := counterStep(ctx, d, meter.CapGridEnergy)
		pvStep, pvOK := counterStep(ctx, d, meter.CapPVEnergy)
		var err error
		switch {
		case gridOK:
			m := d.(meter.GridEnergyMeter)
			err = add(i, "grid_import", slotGridImport, meter.ChannelCounter, &channel{stepWh: gridStep, counter: func(ctx context.Context) (uint64, error) {
				imp, _, err := m.GridEnergyWh(ctx)
				return imp, err
			}})
			if err == nil {
				err = add(i, "grid_export", slotGridExport, meter.ChannelCounter, &channel{stepWh: gridStep, counter: func(ctx context.Context) (uint64, error) {
					_, exp, err := m.GridEnergyWh(ctx)
					return exp, err
				}})
			}
		case meter.Supports(d, meter.CapGrid):
			err = add(i, "grid", slotGrid, meter.ChannelPower, &channel{power: d.(meter.GridMeter).GridPowerW})
		}
		if err != nil {
			return nil, nil, err
		}
		switch {
		case pvOK:
			err = add(i, "pv", slotPV, meter.ChannelCounter, &channel{stepWh: pvStep, counter: d.(meter.PVEnergyMeter).PVEnergyWh})
		case meter.Supports(d, meter.CapPV):
			err = add(i, "pv", slotPV, meter.ChannelPower, &channel{power: d.(meter.PVMeter).PVPowerW})
		}
		if err != nil {
			return nil, nil, err
		}
		if meter.Supports(d, meter.CapBattery) {
			b := d.(meter.Battery)
			if err := add(i, "battery", slotBattery, meter.ChannelPower, &channel{power: b.BatteryPowerW}); err != nil {
				return nil, nil, err
			}
			socs = append(socs, b)
		}
		if meter.Supports(d, meter.CapCharger) {
			if err := add(i, "ev", slotEV, meter.ChannelPower, &channel{power: d.(meter.Charger).ChargePowerW}); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(chans) == 0 {
		return nil, nil, fmt.Errorf("%w: no device measures anything", ErrConfig)
	}
	return chans, socs, nil
}

// counterStep says whether d's counter behind c is used, and its
// resolution. A counter whose resolution the adapter cannot tell now is
// not used (the device's power is, if it has power); one that steps by
// more than meter.MaxCounterStepWh is too coarse for an interval reading.
func counterStep(ctx context.Context, d meter.Device, c meter.Capability) (uint64, bool) {
	if !meter.Supports(d, c) {
		return 0, false
	}
	r, ok := d.(meter.CounterResolution)
	if !ok {
		return 1, true
	}
	step, err := r.CounterStepWh(ctx, c)
	if err != nil || step < 1 || step > meter.MaxCounterStepWh {
		return 0, false
	}
	return step, true
}

func integratorConfig(cfg Config, kind meter.ChannelKind) meter.IntegratorConfig {
	return meter.IntegratorConfig{
		Kind: kind, Genesis: cfg.Genesis, Interval: cfg.Interval, MaxGap: cfg.MaxGap, MaxPowerW: cfg.MaxPowerW,
	}
}
