package site

import (
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint/meter"
	_ "github.com/gridmint/gridmint/meter/adapters"
	"github.com/gridmint/gridmint/meter/sim"
)

// TestAgentWithSimulator: the simulator is just another device family. A
// simulated home opened with meter.Open("sim", ...) on the test's clock,
// polled once a simulated minute for a day, gives one reading per
// interval signed by the home's site key, whose PV counter equals the
// simulator's ground truth exactly, whose net import (from the grid
// counters) is within the simulator's own rounding (it derives a reading's
// import from floored channels: a few Wh), and whose power channels (battery, EV: trapezoids
// over one-minute samples of a load that steps each minute) are within
// a bounded error of it.
func TestAgentWithSimulator(t *testing.T) {
	const seed = 18
	homeIdx := -1 // the first home of the population with PV and a battery
	for i := range 24 {
		if c := sim.HomeConfigFor(sim.DefaultPopulation(seed, i+1), i); c.PVNameplateW > 0 && c.BatteryCapacityWh > 0 {
			homeIdx = i
			break
		}
	}
	if homeIdx < 0 {
		t.Fatal("no home with PV and a battery")
	}
	start := genesis.Add(170 * 24 * time.Hour) // June: PV
	var mu sync.Mutex
	now := start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := testCtx(t)
	dev, err := meter.Open(ctx, "sim", meter.ConfigValue(sim.DeviceConfig{Seed: seed, Home: homeIdx, Genesis: genesis, Clock: clock}))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	key, err := sim.SiteKey(seed, homeIdx)
	if err != nil {
		t.Fatal(err)
	}
	sk := &sink{}
	a, err := Open(ctx, Config{ChainID: chainID, Key: key, Genesis: genesis, Interval: 15 * time.Minute,
		Devices: []meter.Device{dev}, Dir: t.TempDir(), Sink: sk})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	home := dev.(*sim.Device).Home()
	truth := map[uint64]sim.Interval{}
	for m := 0; m <= 24*60; m++ {
		mu.Lock()
		now = start.Add(time.Duration(m) * time.Minute)
		mu.Unlock()
		if err := a.Poll(ctx, now); err != nil {
			t.Fatal(err)
		}
		if iv, ok := home.Last(); ok {
			truth[iv.Index] = iv
		}
	}
	rs := sk.readings()
	if len(rs) < 95 {
		t.Fatalf("%d readings in a day", len(rs))
	}
	var pvWh, maxGridErr, maxBattErr, maxEVErr int64
	compared := 0
	for _, r := range rs {
		if r.Site != key.Address() {
			t.Fatal("not signed as the simulated home's site")
		}
		tr, ok := truth[r.Interval]
		if !ok {
			continue
		}
		compared++
		x := tr.Actual
		// The simulator's reading nets import against export within an
		// interval; its meter's counters, which the agent reads, count
		// each minute's flow gross. Net import is the same quantity.
		gridErr := absI(r.NetImportWh() - x.NetImportWh())
		if int64(r.PVWh) != x.PVWh || gridErr > 7 {
			t.Fatalf("interval %d: pv %d import %d export %d; simulator %d %d %d", r.Interval,
				r.PVWh, r.GridImportWh, r.GridExportWh, x.PVWh, x.GridImportWh, x.GridExportWh)
		}
		maxGridErr = max(maxGridErr, gridErr)
		pvWh += x.PVWh
		battErr := max(absI(int64(r.BatteryChargeWh)-x.BatteryChargeWh), absI(int64(r.BatteryDischargeWh)-x.BatteryDischargeWh))
		maxBattErr = max(maxBattErr, battErr)
		maxEVErr = max(maxEVErr, absI(int64(r.EVWh)-x.EVWh))
	}
	if compared < 95 || pvWh == 0 {
		t.Fatalf("%d intervals compared, %d Wh PV", compared, pvWh)
	}
	if maxGridErr > 7 || maxBattErr > 50 || maxEVErr > 100 {
		t.Fatalf("power channels off by up to %d Wh (battery), %d Wh (EV)", maxBattErr, maxEVErr)
	}
	t.Logf("%d intervals: PV %d Wh exact; net import within %d Wh, battery within %d Wh, EV within %d Wh of the truth", compared, pvWh, maxGridErr, maxBattErr, maxEVErr)
}

func absI(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
