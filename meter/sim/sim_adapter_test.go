package sim

import (
	"github.com/gridmint/gridmint/meter"

	"context"
	"errors"
	"testing"
	"time"
)

func TestSimDeviceFromRegistry(t *testing.T) {
	ctx := context.Background()
	genesis := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 6, 20, 19, 40, 10, 0, time.UTC) // about local noon in Sacramento
	clock := func() time.Time { return now }
	// Find a home with everything, so every capability is exercised.
	home := -1
	for i := 0; i < 200 && home < 0; i++ {
		c := HomeConfigFor(DefaultPopulation(1, i+1), i)
		if c.PVNameplateW > 0 && c.BatteryCapacityWh > 0 && c.EVChargerW > 0 && c.Behaviour == BehaviourComply {
			home = i
		}
	}
	if home < 0 {
		t.Fatal("no home with PV, battery and EV in the first 200")
	}
	dev, err := meter.Open(ctx, "sim", meter.ConfigValue(DeviceConfig{Seed: 1, Home: home, Genesis: genesis, Clock: clock}))
	if err != nil {
		t.Fatal(err)
	}
	d := dev.(*Device)
	for _, c := range []meter.Capability{meter.CapGrid, meter.CapGridEnergy, meter.CapPV, meter.CapPVEnergy, meter.CapBattery, meter.CapCharger, meter.CapDispatch} {
		if !meter.Supports(d, c) {
			t.Fatalf("home %d does not support %v", home, c)
		}
	}
	// The home caught up to now.
	if got := d.Home().Now(); got.After(now) || now.Sub(got) >= time.Minute {
		t.Fatalf("home at %v, clock at %v", got, now)
	}
	// A restart finds the same home (nothing was dispatched yet).
	again, err := NewDevice(DeviceConfig{Seed: 1, Home: home, Genesis: genesis, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := d.Home().actual, again.Home().actual; a != b {
		t.Fatalf("restarted home differs: %+v vs %+v", a, b)
	}
	if d.Home().Site() != mustKey(t, 1, home).Address() {
		t.Fatal("site key is not the population's")
	}
	pv, err := d.PVPowerW(ctx)
	if err != nil || pv <= 0 {
		t.Fatalf("PV %d W at noon: %v", pv, err)
	}
	e0, _ := d.PVEnergyWh(ctx)
	now = now.Add(30 * time.Minute)
	e1, _ := d.PVEnergyWh(ctx)
	if e1 <= e0 {
		t.Fatalf("PV counter did not advance with the clock: %d → %d", e0, e1)
	}
	if _, err := d.BatterySoCPpm(ctx); err != nil {
		t.Fatal(err)
	}
	err = d.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchBatteryDischarge, PowerW: 2000, Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if w, _ := d.BatteryPowerW(ctx); w != -2000 {
		t.Fatalf("battery %d W under a 2 kW discharge", w)
	}
	if err := d.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchNone}); err != nil {
		t.Fatal(err)
	}
	if err := d.Dispatch(ctx, meter.Dispatch{Kind: 99, Until: now.Add(time.Hour)}); !errors.Is(err, ErrUnsupportedDispatch) {
		t.Fatalf("kind 99: %v", err)
	}
	// A home without PV or battery says so.
	bare := -1
	for i := 0; i < 200 && bare < 0; i++ {
		c := HomeConfigFor(DefaultPopulation(1, i+1), i)
		if c.PVNameplateW == 0 && c.BatteryCapacityWh == 0 && c.EVChargerW == 0 && c.FlexW == 0 {
			bare = i
		}
	}
	b, err := NewDevice(DeviceConfig{Seed: 1, Home: bare, Genesis: genesis, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PVPowerW(ctx); !errors.Is(err, meter.ErrNotSupported) {
		t.Fatalf("PV on a home without: %v", err)
	}
	if meter.Supports(b, meter.CapBattery) || meter.Supports(b, meter.CapDispatch) || !meter.Supports(b, meter.CapGrid) {
		t.Fatalf("capabilities %v", b.Capabilities())
	}
	for _, c := range []DeviceConfig{
		{Seed: 1, Home: -1, Genesis: genesis, Clock: clock},
		{Seed: 1, Home: 0, Clock: clock},
		{Seed: 1, Home: 0, Genesis: now.Add(time.Hour), Clock: clock},
		{Seed: 1, Home: 0, Genesis: genesis, Interval: meter.Duration(1500 * time.Millisecond), Clock: clock},
	} {
		if _, err := NewDevice(c); !errors.Is(err, ErrConfig) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
}

func mustKey(t *testing.T, seed uint64, i int) interface{ Address() meter.SiteID } {
	t.Helper()
	k, err := SiteKey(seed, i)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
