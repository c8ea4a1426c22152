package sunspec

import (
	"github.com/gridmint/gridmint/meter"

	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

func openSunSpec(t *testing.T, srv *testModbus, cfg Config) *Device {
	t.Helper()
	cfg.Address = srv.addr
	if cfg.Timeout == 0 {
		cfg.Timeout = meter.Duration(time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New unit %d: %v", cfg.UnitID, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func adapterCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSunSpecDiscovery(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	inv := openSunSpec(t, srv, Config{UnitID: 1})
	info := inv.Info()
	if info.Manufacturer != "Fronius" || info.Model != "Symo GEN24 10.0 Plus" || info.Serial != "34119102" || info.Version != "1.30.7-1" {
		t.Errorf("common model: %+v", info)
	}
	if info.Base != 40000 || !slices.Equal(info.Models, []uint16{1, 103, 120, 160, 124}) {
		t.Errorf("base %d models %v", info.Base, info.Models)
	}
	if got, want := inv.Capabilities(), meter.CapPV|meter.CapPVEnergy|meter.CapBattery; got != want {
		t.Errorf("capabilities %s, want %s", got, want)
	}
	if inv.Name() != "sunspec "+srv.addr+" unit 1 (Fronius Symo GEN24 10.0 Plus)" {
		t.Errorf("name %q", inv.Name())
	}
	if meter.Supports(inv, meter.CapGrid) || !meter.Supports(inv, meter.CapBattery) || meter.Supports(inv, meter.CapDispatch) {
		t.Error("Supports disagrees with the discovered models")
	}

	sma := openSunSpec(t, srv, Config{UnitID: 3})
	if i := sma.Info(); i.Base != 50000 || i.Manufacturer != "SMA" || !slices.Equal(i.Models, []uint16{1, 113, 213}) {
		t.Errorf("float unit: %+v", i)
	}

	// A unit without a SunSpec map, and a unit the gateway does not know.
	srv.mu.Lock()
	srv.units[4] = map[uint16]uint16{40000: 0x1234, 40001: 0x5678}
	srv.mu.Unlock()
	ctx := adapterCtx(t)
	if _, err := New(ctx, Config{Address: srv.addr, UnitID: 4, Timeout: meter.Duration(time.Second)}); !errors.Is(err, ErrNotSunSpec) {
		t.Errorf("unit without SunS: %v", err)
	}
	if _, err := New(ctx, Config{Address: srv.addr, UnitID: 9, Timeout: meter.Duration(time.Second)}); !errors.Is(err, modbus.ErrGWTargetFailedToRespond) {
		t.Errorf("unknown unit: %v", err)
	}
}

func TestSunSpecReadings(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	ctx := adapterCtx(t)
	inv := openSunSpec(t, srv, Config{UnitID: 1})
	mtr := openSunSpec(t, srv, Config{UnitID: 200})
	sma := openSunSpec(t, srv, Config{UnitID: 3, BaseAddress: 50000})

	check := func(what string, got, want int64, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", what, got, err, want)
		}
	}
	w, err := inv.PVPowerW(ctx)
	check("GEN24 PV power", w, 2843, err) // 28437 * 10^-1, floored
	wh, err := inv.PVEnergyWh(ctx)
	check("GEN24 PV energy", int64(wh), 12_345_670, err)
	soc, err := inv.BatterySoCPpm(ctx)
	check("GEN24 SoC", int64(soc), 654_300, err) // 65.43 %
	w, err = inv.BatteryPowerW(ctx)
	check("GEN24 battery power", w, -812, err) // StDisCha 812.5 W
	w, err = mtr.GridPowerW(ctx)
	check("smart meter power", w, -1520, err)
	imp, exp, err := mtr.GridEnergyWh(ctx)
	check("smart meter import", int64(imp), 4_567_890, err)
	check("smart meter export", int64(exp), 9_876_543, err)
	w, err = sma.PVPowerW(ctx)
	check("float PV power", w, 4321, err)
	wh, err = sma.PVEnergyWh(ctx)
	check("float PV energy", int64(wh), 98_765_432, err)
	w, err = sma.GridPowerW(ctx)
	check("float grid power", w, -251, err) // -250.5 floored
	imp, exp, err = sma.GridEnergyWh(ctx)
	check("float import", int64(imp), 7_654_321, err)
	check("float export", int64(exp), 1_234_567, err)

	if _, err := inv.GridPowerW(ctx); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("grid power from an inverter unit: %v", err)
	}
	if _, err := mtr.BatterySoCPpm(ctx); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("SoC from a meter unit: %v", err)
	}

	// The device changes its values and scale factors between reads.
	srv.setReg(1, 40000+2+67+2+invW, uint16(0x8000)) // W not implemented...
	srv.setReg(1, 40000+2+67+2+invSt, invStSleeping) // ...because the inverter sleeps
	check("sleeping inverter", mustInt64(inv.PVPowerW(ctx)), 0, nil)
	srv.setReg(1, 40000+2+67+2+invSt, 7) // FAULT: not implemented W is an error now
	if _, err := inv.PVPowerW(ctx); !errors.Is(err, ErrNotImplemented) {
		t.Errorf("W n/i while in fault: %v", err)
	}
	inverted := openSunSpec(t, srv, Config{UnitID: 200, InvertGridPower: true})
	w, err = inverted.GridPowerW(ctx)
	check("inverted meter", w, 1520, err)

	// Usage restricts what a unit offers.
	pvOnly := openSunSpec(t, srv, Config{UnitID: 1, Usage: []string{"pv"}})
	if _, err := pvOnly.BatterySoCPpm(ctx); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("battery with usage pv: %v", err)
	}
	if _, err := New(ctx, Config{Address: srv.addr, Usage: []string{"solar"}}); err == nil {
		t.Error("unknown usage accepted")
	}
}

func mustInt64[T any](v T, err error) int64 {
	if err != nil {
		panic(err)
	}
	switch x := any(v).(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case uint32:
		return int64(x)
	}
	panic("type")
}

func TestSunSpecDispatch(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	ctx := adapterCtx(t)
	readOnly := openSunSpec(t, srv, Config{UnitID: 1})
	if err := readOnly.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchBatteryDischarge, PowerW: 1000, Until: time.Now().Add(time.Hour)}); !errors.Is(err, meter.ErrNotSupported) {
		t.Fatalf("dispatch without control = true: %v", err)
	}

	inv := openSunSpec(t, srv, Config{UnitID: 1, Control: true})
	if !meter.Supports(inv, meter.CapDispatch) {
		t.Fatal("control = true but no dispatch capability")
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	inv.now = func() time.Time { return now }
	var sto uint16
	for _, m := range inv.models {
		if m.ID == modelStorage {
			sto = m.Addr
		}
	}
	regs := func() (out, in int16, rvrt, mode, grid uint16) {
		return int16(srv.reg(1, sto+stoOutWRte)), int16(srv.reg(1, sto+stoInWRte)),
			srv.reg(1, sto+stoRvrtTms), srv.reg(1, sto+stoStorCtlMod), srv.reg(1, sto+stoChaGriSet)
	}
	srv.setReg(1, sto+stoChaGriSet, 0) // the owner does not allow grid charging

	// Discharge 5120 W of 10240 W for 15 minutes: 50.00 %.
	if err := inv.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchBatteryDischarge, PowerW: 5120, Until: now.Add(15 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if out, in, rvrt, mode, grid := regs(); out != 5000 || in != -5000 || rvrt != 900 || mode != 3 || grid != 0 {
		t.Errorf("discharge: OutWRte %d InWRte %d RvrtTms %d StorCtl_Mod %d ChaGriSet %d", out, in, rvrt, mode, grid)
	}
	// Charge above the rating: 100 %, grid charging on.
	if err := inv.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchBatteryCharge, PowerW: 20000, Until: now.Add(90 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if out, in, rvrt, mode, grid := regs(); out != -10000 || in != 10000 || rvrt != 90 || mode != 3 || grid != 1 {
		t.Errorf("charge: OutWRte %d InWRte %d RvrtTms %d StorCtl_Mod %d ChaGriSet %d", out, in, rvrt, mode, grid)
	}
	// Resume: limits off, rates back to 100 %, the owner's grid setting restored.
	if err := inv.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchNone}); err != nil {
		t.Fatal(err)
	}
	if out, in, rvrt, mode, grid := regs(); out != 10000 || in != 10000 || rvrt != 0 || mode != 0 || grid != 0 {
		t.Errorf("resume: OutWRte %d InWRte %d RvrtTms %d StorCtl_Mod %d ChaGriSet %d", out, in, rvrt, mode, grid)
	}
	for _, bad := range []meter.Dispatch{
		{Kind: meter.DispatchChargerPause, Until: now.Add(time.Minute)},
		{Kind: meter.DispatchBatteryDischarge, PowerW: 0, Until: now.Add(time.Minute)},
		{Kind: meter.DispatchBatteryDischarge, PowerW: 100, Until: now.Add(-time.Minute)},
	} {
		if err := inv.Dispatch(ctx, bad); err == nil {
			t.Errorf("dispatch %+v accepted", bad)
		}
	}
	// A write to a read-only register is refused by the device, and the
	// connection stays up (an exception is an answer).
	if err := inv.with(ctx, func(o *sunspecIO) error { return o.write(40002, []uint16{1}) }); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Errorf("write to the common model: %v", err)
	}
	if inv.conn.client == nil {
		t.Error("an exception response dropped the connection")
	}
}

// TestSunSpecReconnect stops the server mid-test and starts it again on the
// same port: reads fail, the adapter backs off, and reconnects by itself.
func TestSunSpecReconnect(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	ctx := adapterCtx(t)
	inv := openSunSpec(t, srv, Config{UnitID: 1, Timeout: meter.Duration(300 * time.Millisecond),
		MinBackoff: meter.Duration(50 * time.Millisecond), MaxBackoff: meter.Duration(200 * time.Millisecond)})
	if _, err := inv.PVPowerW(ctx); err != nil {
		t.Fatal(err)
	}

	srv.stop()
	if _, err := inv.PVPowerW(ctx); err == nil {
		t.Fatal("read from a stopped server succeeded")
	}
	if _, err := inv.PVPowerW(ctx); !errors.Is(err, ErrBackoff) {
		t.Fatalf("second read right after a failure: %v, want ErrBackoff", err)
	}
	// While the server is down, attempts keep failing (connection refused)
	// and the backoff grows to its cap.
	adapterWaitFor(t, 3*time.Second, func() bool {
		_, err := inv.PVPowerW(ctx)
		return err != nil && !errors.Is(err, ErrBackoff) && inv.conn.failures >= 3
	})

	srv.setReg(1, 40000+2+67+2+invW, 30000) // the inverter came back at 3000.0 W
	srv.start()
	adapterWaitFor(t, 5*time.Second, func() bool {
		w, err := inv.PVPowerW(ctx)
		return err == nil && w == 3000
	})
	if inv.conn.failures != 0 {
		t.Errorf("failures %d after a good read", inv.conn.failures)
	}
}

// TestSunSpecTimeout stalls the server past the client's timeout: the read
// fails with a timeout, the connection is dropped, and the next call after
// the backoff reconnects.
func TestSunSpecTimeout(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	ctx := adapterCtx(t)
	mtr := openSunSpec(t, srv, Config{UnitID: 200, Timeout: meter.Duration(150 * time.Millisecond),
		MinBackoff: meter.Duration(50 * time.Millisecond), MaxBackoff: meter.Duration(100 * time.Millisecond)})

	srv.setStall(400 * time.Millisecond)
	start := time.Now()
	_, err := mtr.GridPowerW(ctx)
	if !errors.Is(err, modbus.ErrRequestTimedOut) {
		t.Fatalf("stalled read: %v, want a timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timed-out read took %v", d)
	}
	if mtr.conn.client != nil {
		t.Error("connection kept after a timeout")
	}
	srv.setStall(0)
	adapterWaitFor(t, 5*time.Second, func() bool {
		w, err := mtr.GridPowerW(ctx)
		return err == nil && w == -1520
	})

	// A cancelled context fails before any request.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := mtr.GridPowerW(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	mtr.Close()
	if _, err := mtr.GridPowerW(ctx); !errors.Is(err, meter.ErrDeviceClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// waitFor polls cond until it holds or the time is up.
func adapterWaitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSunSpecRegistry(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	ctx := adapterCtx(t)
	if !slices.Contains(meter.Kinds(), "sunspec") {
		t.Fatalf("kinds %v", meter.Kinds())
	}
	d, err := meter.Open(ctx, "sunspec", meter.ConfigValue(Config{Address: srv.addr, UnitID: 200}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	g, ok := d.(meter.GridMeter)
	if !ok || !meter.Supports(d, meter.CapGrid) || meter.Supports(d, meter.CapPV) {
		t.Fatalf("opened %T with capabilities %v", d, d.(meter.CapabilityReporter).Capabilities())
	}
	if w, err := g.GridPowerW(ctx); err != nil || w != -1520 {
		t.Errorf("grid power %d, %v", w, err)
	}
	if _, err := meter.Open(ctx, "nonesuch", meter.ConfigValue(Config{})); !errors.Is(err, meter.ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := meter.Open(ctx, "sunspec", meter.ConfigValue(42)); err == nil {
		t.Error("a config of the wrong type was accepted")
	}
}

// TestSunSpecLongModel reads a model longer than one Modbus request (125
// registers): a model 160 with seven modules, the storage ones last.
func TestSunSpecLongModel(t *testing.T) {
	mppt := newModel(modelMPPT, mpptModules+7*mpptModLen).i16(mpptDCWSF, 0).set(mpptN, 7)
	for i := 0; i < 7; i++ {
		b := mpptModules + i*mpptModLen
		label, dcw := fmt.Sprintf("String %d", i+1), uint16(1000+i)
		switch i {
		case 5:
			label, dcw = "StCha 6", 2500
		case 6:
			label, dcw = "StDisCha 7", 0
		}
		mppt.set(b, uint16(i+1)).str(b+mpptModIDStr, 8, label).set(b+mpptModDCW, dcw)
	}
	storage := newModel(modelStorage, stoLen).set(stoChaState, 50).i16(stoChaStateSF, 0).i16(stoInOutWRSF, -2)
	plain := newModel(modelStorage, stoLen).set(stoChaState, 50)
	srv := startTestModbus(t, map[uint8]map[uint16]uint16{
		1: sunspecMap(40000, commonModel("Test", "Long", "1", "1"), mppt, storage),
		2: sunspecMap(0, commonModel("Test", "No160", "1", "1"), plain),
	})
	ctx := adapterCtx(t)
	if mppt := len(mppt.d); mppt <= maxRegsPerRead {
		t.Fatalf("model of %d registers fits one read", mppt)
	}
	long := openSunSpec(t, srv, Config{UnitID: 1})
	if w, err := long.BatteryPowerW(ctx); err != nil || w != 2500 {
		t.Errorf("battery power %d, %v", w, err)
	}
	if soc, err := long.BatterySoCPpm(ctx); err != nil || soc != 500_000 {
		t.Errorf("SoC %d, %v", soc, err)
	}
	no160 := openSunSpec(t, srv, Config{UnitID: 2})
	if _, err := no160.BatteryPowerW(ctx); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("battery power without model 160: %v", err)
	}
	if soc, err := no160.BatterySoCPpm(ctx); err != nil || soc != 500_000 {
		t.Errorf("SoC without model 160: %d, %v", soc, err)
	}
}

// TestSunSpecSharedConnection: a device that takes one Modbus TCP client
// serves every unit at its address, because the units share a connection.
func TestSunSpecSharedConnection(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	srv.stop()
	srv.clients = 1
	srv.start()
	ctx := adapterCtx(t)
	inv := openSunSpec(t, srv, Config{UnitID: 1})
	mtr := openSunSpec(t, srv, Config{UnitID: 200})
	if inv.conn != mtr.conn {
		t.Fatal("two units at one address have two connections")
	}
	for i := 0; i < 3; i++ {
		if _, err := inv.PVPowerW(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := mtr.GridPowerW(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Closing one unit keeps the connection for the other; closing the last
	// closes it.
	inv.Close()
	if _, err := mtr.GridPowerW(ctx); err != nil {
		t.Fatal(err)
	}
	mtr.Close()
	modbusConns.Lock()
	_, open := modbusConns.m[srv.addr]
	modbusConns.Unlock()
	if open || mtr.conn.client != nil {
		t.Error("connection kept after its last unit closed")
	}
	// A new unit at the address connects again. (The server is restarted
	// first: with one client slot, it frees the slot of the closed
	// connection only when its reader sees the close, which races with a
	// new dial.)
	srv.stop()
	srv.start()
	again := openSunSpec(t, srv, Config{UnitID: 200})
	if _, err := again.GridPowerW(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSunSpecCounterStep: the counters' resolution follows the scale
// factors (WH_SF = +1 is 10 Wh, TotWh_SF = +2 is 100 Wh), is 1 Wh for a
// scale factor <= 0, is the binary32 spacing for a float counter, and is asked of
// the capability that has a counter only.
func TestSunSpecCounterStep(t *testing.T) {
	srv := startTestModbus(t, loadDump(t))
	ctx := adapterCtx(t)
	inv := openSunSpec(t, srv, Config{UnitID: 1, Usage: []string{"pv", "battery"}})
	mtr := openSunSpec(t, srv, Config{UnitID: 200, Usage: []string{"grid"}})
	fl := openSunSpec(t, srv, Config{UnitID: 3, Usage: []string{"pv", "grid"}})
	var mtrData uint16
	for _, m := range mtr.models {
		if isMeterModel(m.ID) {
			mtrData = m.Addr
		}
	}
	step := func(d *Device, c meter.Capability) uint64 {
		t.Helper()
		s, err := d.CounterStepWh(ctx, c)
		if err != nil {
			t.Fatalf("%s %s: %v", d.Name(), c, err)
		}
		return s
	}
	srv.setReg(1, 40000+2+67+2+invWHSF, 1)
	srv.setReg(200, mtrData+mtrTotWhSF, 2)
	if got := step(inv, meter.CapPVEnergy); got != 10 {
		t.Errorf("WH_SF +1: step %d Wh", got)
	}
	if got := step(mtr, meter.CapGridEnergy); got != 100 {
		t.Errorf("TotWh_SF +2: step %d Wh", got)
	}
	srv.setReg(1, 40000+2+67+2+invWHSF, uint16(0xFFFF)) // −1
	if got := step(inv, meter.CapPVEnergy); got != 1 {
		t.Errorf("WH_SF −1: step %d Wh", got)
	}
	// The float inverter's counter is past 2^26 Wh: binary32 steps by 8 Wh there.
	flWh, err := fl.PVEnergyWh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := step(fl, meter.CapPVEnergy); got != 8 || flWh < 1<<26 || flWh >= 1<<27 {
		t.Errorf("float inverter at %d Wh: step %d Wh", flWh, got)
	}
	if _, err := inv.CounterStepWh(ctx, meter.CapBattery); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("battery has no counter: %v", err)
	}
	if _, err := inv.CounterStepWh(ctx, meter.CapGridEnergy); !errors.Is(err, meter.ErrNotSupported) {
		t.Errorf("the inverter unit has no grid counter: %v", err)
	}
	for wh, want := range map[uint64]uint64{0: 1, 1 << 24: 2, 1<<25 - 1: 2, 1 << 25: 4, 100_000_000: 8} {
		if got := float32StepWh(wh); got != want {
			t.Errorf("float32 step at %d Wh: %d, want %d", wh, got, want)
		}
	}
}
