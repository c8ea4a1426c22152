package sim

import (
	"github.com/gridmint/gridmint/meter"

	"bytes"
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// Tests of the simulator. The float arithmetic here is the independent
// reference (NOAA's solar formulas); the simulator itself has none.

const simChain = "gridmint-simtest"

// 2026-01-01 00:00 UTC.
const simTestGenesis = 1767225600

func simTestClock(startDay int) Clock {
	return Clock{GenesisUnix: simTestGenesis, IntervalS: 900, Start: uint64(startDay) * 96}
}

// noaaSun returns sin(elevation) and solar noon (Unix s of the same UTC
// day) by the NOAA solar calculator's formulas (Meeus, Astronomical
// Algorithms ch. 25, with the secular and nutation terms), in float64.
func noaaSun(latDeg, lonDeg float64, unixS int64) (sinEl float64, noonUnix float64) {
	rad := math.Pi / 180
	T := (float64(unixS)/86400 + 2440587.5 - 2451545) / 36525
	L0 := math.Mod(280.46646+T*(36000.76983+0.0003032*T), 360)
	M := 357.52911 + T*(35999.05029-0.0001537*T)
	e := 0.016708634 - T*(0.000042037+0.0000001267*T)
	C := math.Sin(M*rad)*(1.914602-T*(0.004817+0.000014*T)) + math.Sin(2*M*rad)*(0.019993-0.000101*T) + math.Sin(3*M*rad)*0.000289
	omega := 125.04 - 1934.136*T
	lambda := L0 + C - 0.00569 - 0.00478*math.Sin(omega*rad)
	eps0 := 23 + (26+(21.448-T*(46.815+T*(0.00059-T*0.001813)))/60)/60
	eps := eps0 + 0.00256*math.Cos(omega*rad)
	decl := math.Asin(math.Sin(eps*rad) * math.Sin(lambda*rad))
	y := math.Pow(math.Tan(eps*rad/2), 2)
	eqt := 4 / rad * (y*math.Sin(2*L0*rad) - 2*e*math.Sin(M*rad) + 4*e*y*math.Sin(M*rad)*math.Cos(2*L0*rad) -
		0.5*y*y*math.Sin(4*L0*rad) - 1.25*e*e*math.Sin(2*M*rad)) // minutes
	minOfDay := float64(unixS%86400) / 60
	tst := minOfDay + eqt + 4*lonDeg
	ha := (tst/4 - 180) * rad
	lat := latDeg * rad
	sinEl = math.Sin(lat)*math.Sin(decl) + math.Cos(lat)*math.Cos(decl)*math.Cos(ha)
	dayStart := float64(unixS - unixS%86400)
	noonUnix = dayStart + (720-4*lonDeg-eqt)*60
	return sinEl, noonUnix
}

func TestSimSunAgainstNOAA(t *testing.T) {
	sites := [][2]int64{{38_581_600, -121_494_400}, {52_520_000, 13_405_000}, {-33_868_800, 151_209_300}, {1_352_100, 103_819_800}, {64_146_600, -21_942_600}}
	worst := 0.0
	for _, s := range sites {
		for day := int64(0); day < 365; day += 7 {
			for m := int64(0); m < 1440; m += 17 {
				u := int64(simTestGenesis) + day*86400 + m*60
				got := float64(simSunSinElevationE9(s[0], s[1], u)) / 1e9
				want, _ := noaaSun(float64(s[0])/1e6, float64(s[1])/1e6, u)
				worst = max(worst, math.Abs(got-want))
			}
		}
	}
	// The same method in integers, without the slow secular and nutation
	// terms: about 0.01° of elevation.
	if worst > 0.0003 {
		t.Fatalf("sin(elevation) differs from NOAA by up to %.4f", worst)
	}
	t.Logf("worst |Δ sin(elevation)| vs NOAA: %.5f", worst)
}

func TestSimSinTable(t *testing.T) {
	for a := int64(-720_000_000); a <= 720_000_000; a += 1_234_567 {
		got := float64(simSinE9(a)) / 1e9
		want := math.Sin(float64(a) / 1e6 * math.Pi / 180)
		if math.Abs(got-want) > 5e-5 {
			t.Fatalf("sin(%d µ°) = %v, want %v", a, got, want)
		}
	}
	for _, n := range []int64{0, 1, 2, 3, 4, 15, 16, 17, 900_000_000_000, 1_000_000_000_000_000_000, math.MaxInt64} {
		r := simISqrt(n)
		if r*r > n || (r+1)*(r+1) <= n && r+1 < 3_037_000_500 {
			t.Fatalf("isqrt(%d) = %d", n, r)
		}
	}
}

// checkFlows checks one interval's flows of a home for plausibility.
func checkFlows(t *testing.T, h *Home, idx uint64, f Flows, what string) {
	t.Helper()
	cfg := h.cfg
	ivS := h.clk.IntervalS
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("home %s interval %d %s: "+format, append([]any{cfg.Name, idx, what}, a...)...)
	}
	for _, v := range []int64{f.GridImportWh, f.GridExportWh, f.PVWh, f.BatteryChargeWh, f.BatteryDischargeWh, f.EVWh, f.LoadWh} {
		if v < 0 || v > math.MaxUint32 {
			fail("channel out of range: %+v", f)
		}
	}
	// Balance: the reading's house load is the true house load.
	house := f.GridImportWh + f.PVWh + f.BatteryDischargeWh - f.GridExportWh - f.BatteryChargeWh - f.EVWh
	if house != f.LoadWh || house < 0 {
		fail("balance: derived house load %d, true %d (%+v)", house, f.LoadWh, f)
	}
	if f.PVWh > cfg.InverterACW*ivS/3600 {
		fail("PV %d Wh above the inverter limit %d W", f.PVWh, cfg.InverterACW)
	}
	start := h.clk.IntervalStart(idx)
	night := true
	for s := start; s <= start+ivS; s += 60 {
		if simSunSinElevationE9(cfg.LatE6, cfg.LonE6, s) > 0 {
			night = false
		}
	}
	if night && f.PVWh != 0 {
		fail("PV %d Wh at night", f.PVWh)
	}
	if f.BatteryChargeWh > cfg.BatteryMaxW*ivS/3600 || f.BatteryDischargeWh > cfg.BatteryMaxW*ivS/3600 {
		fail("battery above its power limit %d W: %+v", cfg.BatteryMaxW, f)
	}
	if f.BatterySoCPpm > meter.MaxSoCPpm || (cfg.BatteryCapacityWh == 0 && f.BatterySoCPpm != 0) {
		fail("SoC %d", f.BatterySoCPpm)
	}
	if f.EVWh > cfg.EVChargerW*ivS/3600 {
		fail("EV %d Wh above the charger's %d W", f.EVWh, cfg.EVChargerW)
	}
	// And the ledger's own check, against the capabilities the site
	// registers.
	r := meter.Reading{
		GridImportWh: uint32(f.GridImportWh), GridExportWh: uint32(f.GridExportWh), PVWh: uint32(f.PVWh),
		BatteryChargeWh: uint32(f.BatteryChargeWh), BatteryDischargeWh: uint32(f.BatteryDischargeWh),
		EVWh: uint32(f.EVWh), BatterySoCPpm: f.BatterySoCPpm,
	}
	if err := meter.CheckPlausible(&r, cfg.Capabilities(), start, uint32(ivS)); err != nil {
		fail("implausible: %v", err)
	}
}

func TestSimPlausibleYear(t *testing.T) {
	days := 365
	homes := 12
	if testing.Short() {
		days = 60
	}
	pc := DefaultPopulation(7, homes)
	pc.PVPpm, pc.BatteryPpm, pc.EVPpm, pc.FlexPpm = 900_000, 700_000, 600_000, 500_000
	f, err := NewPopulation(simTestClock(0), pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []Interval
	var pvWh, loadWh int64
	for i := 0; i < days*96; i++ {
		out = f.Step(out)
		for j, iv := range out {
			h := f.Homes[j]
			checkFlows(t, h, iv.Index, iv.Actual, "actual")
			checkFlows(t, h, iv.Index, iv.Counterfactual, "counterfactual")
			if iv.Actual != iv.Counterfactual || iv.Dispatched || iv.Gaming {
				t.Fatalf("home %d interval %d: no dispatch, yet actual %+v != twin %+v", j, iv.Index, iv.Actual, iv.Counterfactual)
			}
			pvWh += iv.Actual.PVWh
			loadWh += iv.Actual.LoadWh
		}
	}
	// The battery's state of charge follows its channels: what went in times
	// η minus what came out over η, to a Wh per interval of rounding.
	for _, h := range f.Homes {
		if h.capJ == 0 {
			continue
		}
		s := &h.actual
		in := s.cumJ[simCharge] * h.effPpm / 1_000_000
		outJ := s.cumJ[simDischarge] * 1_000_000 / h.effPpm
		init := h.capJ * h.cfg.BatteryInitSoCPpm / meter.MaxSoCPpm
		if d := init + in - outJ - s.socJ; d < -int64(days*96*60) || d > int64(days*96*60) {
			t.Fatalf("home %s: battery energy off by %d J", h.cfg.Name, d)
		}
	}
	t.Logf("%d homes × %d days: PV %d kWh, house load %d kWh", homes, days, pvWh/1000, loadWh/1000)
	if pvWh == 0 || loadWh == 0 {
		t.Fatal("no energy")
	}
}

// TestSimOddRatingsStayPlausible: ratings whose power × interval is not a
// whole Wh, run flat out (clear sky, DC/AC 1.5, a dispatch at full power,
// a long EV session), never report a Wh more than the rating allows.
func TestSimOddRatingsStayPlausible(t *testing.T) {
	cfg := HomeConfig{
		LatE6: 38_581_600, LonE6: -121_494_400, PVNameplateW: 6999, InverterACW: 4601, ClearSky: true,
		BatteryCapacityWh: 40_000, BatteryMaxW: 3333, BatteryRoundTripPpm: 900_000, BatteryInitSoCPpm: 900_000,
		EVChargerW: 7401, EVWeekdayPpm: 1_000_000, EVWeekendPpm: 1_000_000, EVSessionMaxWh: 80_000,
		DailyLoadWh: 3000, Seed: 5, WeatherSeed: 5,
	}
	h, err := NewHome(simTestClock(170), cfg, testKey(t, 60), nil)
	if err != nil {
		t.Fatal(err)
	}
	for d := uint64(0); d < 10; d++ {
		s := uint64(170*96) + d*96 + 4 // every night, discharge flat out for 3 h
		if err := h.Schedule(Event{Posted: s, Start: s, End: s + 12, Kind: meter.DispatchBatteryDischarge, PowerW: 3333}); err != nil {
			t.Fatal(err)
		}
	}
	atLimit := map[string]int{}
	for range 10 * 96 {
		iv := h.Step()
		checkFlows(t, h, iv.Index, iv.Actual, "actual")
		checkFlows(t, h, iv.Index, iv.Counterfactual, "counterfactual")
		if iv.Actual.PVWh == 4601*900/3600 {
			atLimit["pv"]++
		}
		if iv.Actual.BatteryDischargeWh == 3333*900/3600 {
			atLimit["discharge"]++
		}
		if iv.Actual.EVWh == 7401*900/3600 {
			atLimit["ev"]++
		}
	}
	if atLimit["pv"] == 0 || atLimit["discharge"] == 0 || atLimit["ev"] == 0 {
		t.Fatalf("the test did not reach the limits: %v", atLimit)
	}
}

func TestSimClearSkyPeakAtSolarNoon(t *testing.T) {
	sites := [][2]int64{{38_581_600, -121_494_400}, {52_520_000, 13_405_000}, {-33_868_800, 151_209_300}, {19_432_600, -99_133_200}}
	for _, s := range sites {
		for _, day := range []int{0, 79, 171, 265, 355} {
			cfg := HomeConfig{LatE6: s[0], LonE6: s[1], PVNameplateW: 5000, InverterACW: 5000, ClearSky: true, DailyLoadWh: 8000}
			h, err := NewHome(simTestClock(day), cfg, testKey(t, 9), nil)
			if err != nil {
				t.Fatal(err)
			}
			// Simulate two UTC days so that the local day is whole whatever
			// the longitude, then look at the second.
			var best Interval
			var dayWh int64
			for i := 0; i < 2*96; i++ {
				iv := h.Step()
				if i >= 48 && i < 48+96 && iv.Actual.PVWh > best.Actual.PVWh {
					best = iv
				}
				if iv.Actual.PVWh > 5000/4+1 {
					t.Fatalf("PV %d Wh above nameplate", iv.Actual.PVWh)
				}
				dayWh += iv.Actual.PVWh
			}
			mid := h.clk.IntervalStart(best.Index) + 450
			_, noon := noaaSun(float64(s[0])/1e6, float64(s[1])/1e6, mid)
			// The noon of the UTC day of mid may be the neighbour's: take the nearest.
			for _, n := range []float64{noon - 86400, noon, noon + 86400} {
				if math.Abs(n-float64(mid)) < 12*3600 {
					noon = n
				}
			}
			if d := math.Abs(float64(mid) - noon); d > 3600 {
				t.Fatalf("site %v day %d: PV peak at %v, solar noon %v (%.0f min apart)",
					s, day, time.Unix(mid, 0).UTC(), time.Unix(int64(noon), 0).UTC(), d/60)
			}
			if dayWh == 0 {
				t.Fatalf("site %v day %d: no PV", s, day)
			}
		}
	}
}

func TestSimInverterClipping(t *testing.T) {
	// A DC/AC ratio of 1.5 at midsummer clips around noon.
	cfg := HomeConfig{LatE6: 38_581_600, LonE6: -121_494_400, PVNameplateW: 6000, InverterACW: 4000, ClearSky: true, DailyLoadWh: 8000}
	h, err := NewHome(simTestClock(171), cfg, testKey(t, 9), nil)
	if err != nil {
		t.Fatal(err)
	}
	clipped := 0
	for i := 0; i < 2*96; i++ {
		iv := h.Step()
		if iv.Actual.PVWh > 1001 {
			t.Fatalf("PV %d Wh above the 4 kW inverter", iv.Actual.PVWh)
		}
		if iv.Actual.PVWh >= 999 {
			clipped++
		}
	}
	if clipped < 8 {
		t.Fatalf("only %d clipped intervals", clipped)
	}
}

func TestSimDeterministic(t *testing.T) {
	run := func(seed uint64, workers int) []byte {
		f, err := NewPopulation(simTestClock(150), DefaultPopulation(seed, 20), nil)
		if err != nil {
			t.Fatal(err)
		}
		f.Workers = workers
		var buf bytes.Buffer
		var out []*meter.Reading
		for i := 0; i < 96; i++ {
			f.Step(nil)
			if out, err = f.Readings(simChain, out); err != nil {
				t.Fatal(err)
			}
			for _, r := range out {
				buf.Write(r.Encode())
			}
		}
		return buf.Bytes()
	}
	a, b, c := run(42, 1), run(42, 3), run(43, 1)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different readings")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same readings")
	}
}

func TestSimReadingsChainAndVerify(t *testing.T) {
	f, err := NewPopulation(simTestClock(10), DefaultPopulation(5, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := make([]*meter.Reading, 3)
	for i := 0; i < 8; i++ {
		f.Step(nil)
		rs, err := f.Readings(simChain, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range rs {
			if err := r.Verify(f.Homes[j].Key().Public(), simChain); err != nil {
				t.Fatal(err)
			}
			if r.Counter != uint64(i+1) || r.Interval != uint64(10*96+i) {
				t.Fatalf("counter %d interval %d", r.Counter, r.Interval)
			}
			if prev[j] != nil && r.PrevHash != prev[j].Hash() {
				t.Fatal("chain broken")
			}
			prev[j] = r
		}
	}
	if _, err := f.Homes[0].Reading(simChain); !errors.Is(err, ErrNothingToSign) {
		t.Fatalf("signed one interval twice: %v", err)
	}
}

// dispatchHome is a home with every device, a smooth load and clear sky.
func dispatchHome(t *testing.T, b Behaviour, seed byte) *Home {
	cfg := HomeConfig{
		LatE6: 38_581_600, LonE6: -121_494_400, PVNameplateW: 6000, InverterACW: 5000,
		BatteryCapacityWh: 13_500, BatteryMaxW: 5000, BatteryRoundTripPpm: 900_000, BatteryInitSoCPpm: 500_000,
		EVChargerW: 7400, EVWeekdayPpm: 1_000_000, EVWeekendPpm: 1_000_000, EVSessionMaxWh: 30_000,
		DailyLoadWh: 12_000, FlexW: 3000, Behaviour: b, PartialPpm: 500_000, GameExtraW: 1500,
		Seed: 77, WeatherSeed: 78,
	}
	h, err := NewHome(simTestClock(150), cfg, testKey(t, seed), nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSimDispatchBehaviours(t *testing.T) {
	// Posted at the start of day 150, for 18:00–20:00 local on day 153.
	const day0 = 150 * 96
	// Local solar time is UTC − 8.1 h here, so 18:00 local ≈ 02:06 UTC the
	// next UTC day: interval 96·(d+1) + 8.
	start := uint64(day0 + 4*96 + 8)
	end := start + 8 // two hours
	events := []Event{
		{Posted: day0, Start: start, End: end, Kind: meter.DispatchBatteryDischarge, PowerW: 5000},
		{Posted: day0, Start: start, End: end, Kind: meter.DispatchChargerPause},
		{Posted: day0, Start: start, End: end, Kind: meter.DispatchLoadCurtail, PowerW: 3000},
	}
	type result struct {
		window, before, preDays, after int64 // delivered Wh; load inflation Wh
		equal                          bool
	}
	results := map[Behaviour]result{}
	for i, b := range []Behaviour{BehaviourComply, BehaviourPartial, BehaviourIgnore, BehaviourGame} {
		h := dispatchHome(t, b, byte(20+i))
		for _, e := range events {
			if err := h.Schedule(e); err != nil {
				t.Fatal(err)
			}
		}
		var r result
		r.equal = true
		for k := 0; k < 6*96; k++ {
			iv := h.Step()
			checkFlows(t, h, iv.Index, iv.Actual, "actual")
			checkFlows(t, h, iv.Index, iv.Counterfactual, "counterfactual")
			if iv.Actual != iv.Counterfactual {
				r.equal = false
			}
			switch {
			case iv.Index >= start && iv.Index < end:
				r.window += iv.DeliveredWh()
				if !iv.Dispatched {
					t.Fatal("window interval not marked dispatched")
				}
			case iv.Index < start-8 && iv.Index >= day0:
				r.preDays += iv.Actual.LoadWh - iv.Counterfactual.LoadWh
			case iv.Index >= start-8 && iv.Index < start:
				r.before += iv.Actual.NetImportWh() - iv.Counterfactual.NetImportWh()
			case iv.Index >= end:
				r.after += iv.Actual.NetImportWh() - iv.Counterfactual.NetImportWh()
			}
		}
		results[b] = r
		t.Logf("%-8s delivered in window %6d Wh, extra import 2 h before %6d Wh, load inflation on earlier days %6d Wh, rebound after %6d Wh",
			b, r.window, r.before, r.preDays, r.after)
		if len(h.ActuationLog()) != len(events) {
			t.Fatalf("actuation log has %d entries", len(h.ActuationLog()))
		}
	}
	c, p, ig, g := results[BehaviourComply], results[BehaviourPartial], results[BehaviourIgnore], results[BehaviourGame]
	if c.window < 3000 { // more battery, a paused EV and a curtailed flex load for 2 h
		t.Fatalf("compliant home delivered only %d Wh", c.window)
	}
	if p.window <= 0 || p.window >= c.window {
		t.Fatalf("partial home delivered %d Wh (compliant %d)", p.window, c.window)
	}
	if !ig.equal || ig.window != 0 {
		t.Fatalf("ignoring home differs from its twin (delivered %d Wh)", ig.window)
	}
	if g.preDays < 3*2*1500*9/10 || g.before <= 0 || g.window < c.window {
		t.Fatalf("gaming home: inflation %d Wh on earlier days, %d Wh before, delivered %d Wh", g.preDays, g.before, g.window)
	}
	if c.preDays != 0 || c.before != 0 {
		t.Fatalf("compliant home changed before the window: %d, %d", c.preDays, c.before)
	}
	if c.after <= 0 {
		t.Fatalf("no rebound after the window: %d Wh", c.after)
	}
}

// TestSimTwinIsReplay: the counterfactual is what the same home, rebuilt
// from its configuration and run without the dispatch, does.
func TestSimTwinIsReplay(t *testing.T) {
	a := dispatchHome(t, BehaviourGame, 50)
	b := dispatchHome(t, BehaviourGame, 50)
	start := uint64(150*96 + 2*96 + 8)
	for _, e := range []Event{
		{Posted: 150 * 96, Start: start, End: start + 8, Kind: meter.DispatchBatteryDischarge, PowerW: 4000},
		{Posted: 150 * 96, Start: start, End: start + 8, Kind: meter.DispatchChargerPause},
	} {
		if err := a.Schedule(e); err != nil {
			t.Fatal(err)
		}
	}
	differ := 0
	for range 4 * 96 {
		x, y := a.Step(), b.Step()
		if x.Counterfactual != y.Actual || y.Actual != y.Counterfactual {
			t.Fatalf("interval %d: twin %+v, replay %+v", x.Index, x.Counterfactual, y.Actual)
		}
		if x.Actual != x.Counterfactual {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the dispatch changed nothing")
	}
}

func TestSimDeviceAdapters(t *testing.T) {
	ctx := context.Background()
	h := dispatchHome(t, BehaviourComply, 30)
	devs := h.Devices()
	if len(devs) != 5 {
		t.Fatalf("%d devices", len(devs))
	}
	var grid *GridMeter
	var pv *PVInverter
	var bat *Battery
	var ch *Charger
	for _, d := range devs {
		switch d := d.(type) {
		case *GridMeter:
			grid = d
		case *PVInverter:
			pv = d
		case *Battery:
			bat = d
		case *Charger:
			ch = d
		}
		if d.Name() == "" || d.Close() != nil {
			t.Fatal("name/close")
		}
	}
	if _, ok := meter.Device(grid).(meter.Dispatchable); ok {
		t.Fatal("grid meter claims to be dispatchable")
	}
	// Noon local ≈ 20:06 UTC: step there.
	for h.Now().Hour() != 20 {
		h.Advance()
	}
	g, _ := grid.GridPowerW(ctx)
	p, _ := pv.PVPowerW(ctx)
	b, _ := bat.BatteryPowerW(ctx)
	e, _ := ch.ChargePowerW(ctx)
	if p <= 0 {
		t.Fatal("no PV at noon")
	}
	if g != h.actual.loadW+b+e-p {
		t.Fatalf("grid %d W != load %d + battery %d + EV %d − PV %d", g, h.actual.loadW, b, e, p)
	}
	imp0, _, _ := grid.GridEnergyWh(ctx)
	err := bat.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchBatteryDischarge, PowerW: 3000, Until: h.Now().Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if err := bat.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchChargerPause, Until: h.Now().Add(time.Hour)}); !errors.Is(err, ErrUnsupportedDispatch) {
		t.Fatalf("battery paused a charger: %v", err)
	}
	if err := ch.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchChargerPause, Until: h.Now().Add(-time.Hour)}); !errors.Is(err, ErrDispatchExpired) {
		t.Fatalf("expired dispatch: %v", err)
	}
	h.Advance()
	if b, _ := bat.BatteryPowerW(ctx); b != -3000 {
		t.Fatalf("battery at %d W under a 3 kW discharge dispatch", b)
	}
	soc0, _ := bat.BatterySoCPpm(ctx)
	for range 10 {
		h.Advance()
	}
	if soc, _ := bat.BatterySoCPpm(ctx); soc >= soc0 {
		t.Fatal("SoC did not fall while discharging")
	}
	if err := bat.Dispatch(ctx, meter.Dispatch{Kind: meter.DispatchNone}); err != nil {
		t.Fatal(err)
	}
	h.Advance()
	if b, _ := bat.BatteryPowerW(ctx); b == -3000 {
		t.Fatal("battery still dispatched after DispatchNone")
	}
	log := h.ActuationLog()
	if len(log) != 2 || log[0].Device != "battery" || log[0].Kind != meter.DispatchBatteryDischarge || log[1].Kind != meter.DispatchNone {
		t.Fatalf("actuation log %+v", log)
	}
	imp1, _, _ := grid.GridEnergyWh(ctx)
	if imp1 < imp0 {
		t.Fatal("import counter went down")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pv.PVPowerW(cancelled); err == nil {
		t.Fatal("read with a cancelled context")
	}
	// A home without a battery refuses a battery dispatch.
	h2, _ := NewHome(simTestClock(0), HomeConfig{DailyLoadWh: 5000}, testKey(t, 31), nil)
	if err := h2.Schedule(Event{Start: 1, End: 2, Kind: meter.DispatchBatteryDischarge}); !errors.Is(err, ErrUnsupportedDispatch) {
		t.Fatalf("battery dispatch on a home without one: %v", err)
	}
	if len(h2.Devices()) != 1 {
		t.Fatal("home without devices has more than a grid meter")
	}
}

// TestSimFleetEvent: an event posted to a neighbourhood reaches the homes
// with a battery; together the compliant ones deliver, the others do what
// their behaviour says, and the fleet's truth adds up.
func TestSimFleetEvent(t *testing.T) {
	f, err := NewPopulation(simTestClock(150), DefaultPopulation(3, 40), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := uint64(150*96 + 96 + 8) // 18:00 local on the next day
	took, err := f.Schedule(Event{Posted: 150 * 96, Start: start, End: start + 8, Kind: meter.DispatchBatteryDischarge, PowerW: 3000})
	if err != nil {
		t.Fatal(err)
	}
	batteries := 0
	for _, h := range f.Homes {
		if h.cfg.BatteryCapacityWh > 0 {
			batteries++
		}
	}
	if len(took) != batteries || batteries == 0 {
		t.Fatalf("%d homes took the event, %d have a battery", len(took), batteries)
	}
	if _, err := f.Schedule(Event{Start: 5, End: 5}); !errors.Is(err, ErrConfig) {
		t.Fatalf("empty window: %v", err)
	}
	byBehaviour := map[Behaviour]int64{}
	var out []Interval
	for range 3 * 96 {
		out = f.Step(out)
		for j, iv := range out {
			if iv.Index >= start && iv.Index < start+8 {
				byBehaviour[f.Homes[j].cfg.Behaviour] += iv.DeliveredWh()
			}
		}
	}
	t.Logf("delivered by behaviour: %v", byBehaviour)
	if byBehaviour[BehaviourComply] <= 0 || byBehaviour[BehaviourIgnore] != 0 {
		t.Fatalf("delivered: %v", byBehaviour)
	}
}

func TestSimConfigRejects(t *testing.T) {
	k := testKey(t, 1)
	good := HomeConfig{PVNameplateW: 5000, InverterACW: 4000, DailyLoadWh: 8000}
	if _, err := NewHome(simTestClock(0), good, k, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []HomeConfig{
		{PVNameplateW: 5000, InverterACW: 6000},
		{PVNameplateW: 5000},
		{BatteryCapacityWh: 1000},
		{BatteryCapacityWh: 1000, BatteryMaxW: 100, BatteryRoundTripPpm: 2_000_000},
		{LatE6: 91_000_000},
		{Behaviour: 9},
	} {
		if _, err := NewHome(simTestClock(0), c, k, nil); !errors.Is(err, ErrConfig) {
			t.Fatalf("%+v accepted: %v", c, err)
		}
	}
	for _, c := range []Clock{{IntervalS: 100}, {IntervalS: 900, GenesisUnix: -1}, {IntervalS: 900, Start: 1 << 40}, {IntervalS: 900, GenesisUnix: 1 << 40}} {
		if _, err := NewHome(c, good, k, nil); !errors.Is(err, ErrConfig) {
			t.Fatalf("clock %+v accepted", c)
		}
	}
}

// BenchmarkSimReadings steps N homes one interval and signs their readings:
// the devnet's readings produced and signed per second.
func BenchmarkSimReadings(b *testing.B) {
	for _, n := range []int{1000} {
		f, err := NewPopulation(simTestClock(150), DefaultPopulation(1, n), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("homes=1000", func(b *testing.B) {
			var out []Interval
			var rs []*meter.Reading
			b.ReportAllocs()
			for b.Loop() {
				out = f.Step(out)
				if rs, err = f.Readings(simChain, rs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}

// BenchmarkSimStep is the physics alone: one interval of 1,000 homes and
// their twins, unsigned.
func BenchmarkSimStep(b *testing.B) {
	f, err := NewPopulation(simTestClock(150), DefaultPopulation(1, 1000), nil)
	if err != nil {
		b.Fatal(err)
	}
	f.Workers = 1
	var out []Interval
	b.ReportAllocs()
	for b.Loop() {
		out = f.Step(out)
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "home-intervals/s")
}

// TestPopulationGameHomes: GameHomes makes exactly that many homes game,
// the first ones with a battery (with a flexible load where there are too
// few batteries), and changes nothing else about any home.
func TestPopulationGameHomes(t *testing.T) {
	clk := Clock{GenesisUnix: 1_780_000_000, IntervalS: 900}
	pc := DefaultPopulation(1, 60)
	byPpm, err := NewPopulation(clk, pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc.GameHomes = 2
	exact, err := NewPopulation(clk, pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var gamers []int
	for i, h := range exact.Homes {
		c, c0 := h.Config(), byPpm.Homes[i].Config()
		if c.Behaviour == BehaviourGame {
			gamers = append(gamers, i)
			if c.BatteryCapacityWh == 0 || c.GameExtraW < 500 || c.GameExtraW > 2000 {
				t.Fatalf("home %d games without a battery, or with %d W", i, c.GameExtraW)
			}
			continue
		}
		if c0.Behaviour != BehaviourGame && c != c0 {
			t.Fatalf("home %d changed: %+v vs %+v", i, c, c0)
		}
	}
	if len(gamers) != 2 {
		t.Fatalf("gaming homes %v", gamers)
	}
	for i := 0; i < gamers[1]; i++ {
		c := exact.Homes[i].Config()
		if i != gamers[0] && c.BatteryCapacityWh > 0 {
			t.Fatalf("home %d has a battery but does not game before home %d", i, gamers[1])
		}
	}
	// Without enough battery homes, homes with a flexible load game.
	pc.BatteryPpm, pc.FlexPpm = 0, 1_000_000
	flexOnly, err := NewPopulation(clk, pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range flexOnly.Homes {
		if want := i < 2; (h.Config().Behaviour == BehaviourGame) != want {
			t.Fatalf("flexible-load population: home %d gaming %v", i, !want)
		}
	}
}
