package sim

import (
	"context"
	"testing"
	"time"

	"github.com/gridmint/gridmint/meter"
)

// TestIntegratorWithSimulator drives the integrator from the simulator's
// device adapters, as the node does: the PV inverter's lifetime counter
// sampled once a sub-step at the home's clock gives exactly the simulator's
// interval PV energy, and the grid meter's power within the trapezoid's
// error.
func TestIntegratorWithSimulator(t *testing.T) {
	ctx := context.Background()
	h := dispatchHome(t, BehaviourComply, 40)
	clk := h.clk
	cfg := meter.IntegratorConfig{
		Genesis: time.Unix(clk.GenesisUnix, 0), Interval: time.Duration(clk.IntervalS) * time.Second,
		MaxGap: 2 * time.Minute, MaxPowerW: 100_000,
	}
	cfg.Kind = meter.ChannelCounter
	pvC, _ := meter.NewIntegrator(cfg)
	cfg.Kind = meter.ChannelPower
	gridP, _ := meter.NewIntegrator(cfg)
	var pv *PVInverter
	var grid *GridMeter
	for _, d := range h.Devices() {
		switch d := d.(type) {
		case *PVInverter:
			pv = d
		case *GridMeter:
			grid = d
		}
	}
	truth := map[uint64]Interval{}
	var pvOut, gridOut []meter.IntervalEnergy
	sample := func() {
		now := h.Now()
		c, _ := pv.PVEnergyWh(ctx)
		out, err := pvC.AddCounter(now, c)
		if err != nil {
			t.Fatal(err)
		}
		pvOut = append(pvOut, out...)
		w, _ := grid.GridPowerW(ctx)
		// The simulator's power is constant over a sub-step: sample it at
		// both ends so the trapezoid sees a step, not a ramp.
		out, _ = gridP.AddPower(now.Add(-time.Minute+time.Millisecond), w)
		gridOut = append(gridOut, out...)
		out, _ = gridP.AddPower(now, w)
		gridOut = append(gridOut, out...)
	}
	sample()
	for range 2 * 96 * 15 {
		if h.Advance() {
			iv, _ := h.Last()
			truth[iv.Index] = iv
		}
		sample()
	}
	if len(pvOut) < 150 {
		t.Fatalf("%d PV intervals", len(pvOut))
	}
	for _, e := range pvOut {
		if tr, ok := truth[e.Interval]; ok && int64(e.PosWh) != tr.Actual.PVWh {
			t.Fatalf("interval %d: integrated PV %d Wh, simulator %d", e.Interval, e.PosWh, tr.Actual.PVWh)
		}
	}
	for _, e := range gridOut {
		tr, ok := truth[e.Interval]
		if !ok {
			continue
		}
		// The simulator derives import from its floored channels (a few
		// Wh), and the trapezoid adds a 1 ms ramp at each sub-step edge.
		if d := int64(e.PosWh) - tr.Actual.GridImportWh; d < -7 || d > 7 {
			t.Fatalf("interval %d: integrated import %d Wh, simulator %d", e.Interval, e.PosWh, tr.Actual.GridImportWh)
		}
		if d := int64(e.NegWh) - tr.Actual.GridExportWh; d < -7 || d > 7 {
			t.Fatalf("interval %d: integrated export %d Wh, simulator %d", e.Interval, e.NegWh, tr.Actual.GridExportWh)
		}
	}
}
