package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/sim"
	"github.com/gridmint/gridmint/wallet"
)

// A node's device loop, driven by a simulated home: every few seconds it
// reads the grid meter's power and the inverter's energy counter, stamps
// each with its own clock, feeds one integrator per channel and saves their
// state; each closed interval gives that channel's Wh for the reading.
func Example_integrator() {
	key, _ := wallet.PrivateKeyFromHex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	clk := sim.Clock{GenesisUnix: 1767225600, IntervalS: 900, Start: 170 * 96}
	home, _ := sim.NewHome(clk, sim.HomeConfig{
		LatE6: 38_581_600, LonE6: -121_494_400, PVNameplateW: 5000, InverterACW: 4600,
		DailyLoadWh: 9000, ClearSky: true, Seed: 1,
	}, key, nil)
	devs := home.Devices()
	grid := devs[0].(meter.GridMeter)
	pv := devs[1].(meter.PVEnergyMeter)

	cfg := meter.IntegratorConfig{
		Genesis: time.Unix(clk.GenesisUnix, 0), Interval: 15 * time.Minute,
		MaxGap: 2 * time.Minute, MaxPowerW: 100_000,
	}
	cfg.Kind = meter.ChannelPower
	gridInt, _ := meter.NewIntegrator(cfg)
	cfg.Kind = meter.ChannelCounter
	pvInt, _ := meter.NewIntegrator(cfg)

	ctx := context.Background()
	var state []byte
	for range 22 * 60 { // 22 h of simulated minutes
		now := home.Now() // in a real node: time.Now(), NTP-synced
		if w, err := grid.GridPowerW(ctx); err == nil {
			for _, e := range must(gridInt.AddPower(now, w)) {
				_ = e // import e.PosWh, export e.NegWh for interval e.Interval
			}
		}
		if wh, err := pv.PVEnergyWh(ctx); err == nil {
			for _, e := range must(pvInt.AddCounter(now, wh)) {
				if e.Interval == clk.Start+80 { // 20:00 UTC, local solar noon
					fmt.Printf("interval %d: PV %d Wh, complete %v\n", e.Interval, e.PosWh, e.Complete(15*time.Minute))
				}
			}
		}
		state = append(gridInt.Encode(), pvInt.Encode()...) // persist both, e.g. in one batch
		home.Advance()
	}
	fmt.Println("saved state:", len(state), "bytes")
	// Output:
	// interval 16400: PV 1060 Wh, complete true
	// saved state: 238 bytes
}

func must(out []meter.IntervalEnergy, err error) []meter.IntervalEnergy {
	if err != nil {
		fmt.Println("sample rejected:", err)
	}
	return out
}
