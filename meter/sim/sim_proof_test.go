package sim

import (
	"github.com/gridmint/gridmint/meter"

	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/meter/baseline"
)

// TestBatteryProofBoundsTruth checks baseline.BatteryProvenWh against the
// simulator's ground truth: over a population of battery homes of every
// behaviour (gaming included), dispatched to discharge (down) or charge
// (up) in windows at every time of day, the window's Σ BatteryProvenWh of
// the metered readings never exceeds what the home truly delivered (its
// twin's net import minus its own, summed over the window) by more than
// the meters' resolution. That bound is what lets settlement promise that
// a battery commitment is never paid more than it delivered.
func TestBatteryProofBoundsTruth(t *testing.T) {
	const days = 3
	pc := DefaultPopulation(41, 120)
	pc.BatteryPpm = 1_000_000
	clk := simTestClock(150)
	fleet, err := NewPopulation(clk, pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(41, 1))
	type window struct {
		start, end uint64
		up         bool
		proven     int64
		truth      int64
	}
	windows := make([][]window, len(fleet.Homes))
	for k, h := range fleet.Homes {
		cfg := h.Config()
		if cfg.BatteryCapacityWh == 0 {
			continue
		}
		for d := uint64(1); d < days; d++ {
			start := clk.Start + d*96 + uint64(rng.IntN(96-16))
			w := window{start: start, end: start + 1 + uint64(rng.IntN(16)), up: rng.IntN(3) == 0}
			kind := meter.DispatchBatteryDischarge
			if w.up {
				kind = meter.DispatchBatteryCharge
			}
			p := cfg.BatteryMaxW * int64(1+rng.IntN(4)) / 4
			if err := h.Schedule(Event{Posted: clk.Start + d*96 - 40, Start: w.start, End: w.end, Kind: kind, PowerW: p}); err != nil {
				t.Fatal(err)
			}
			windows[k] = append(windows[k], w)
		}
	}
	var n, binding, worst, over, overWh int64
	var truthSum, provenSum int64
	for range days * 96 {
		for k, h := range fleet.Homes {
			iv := h.Step()
			for j := range windows[k] {
				w := &windows[k][j]
				if iv.Index < w.start || iv.Index >= w.end {
					continue
				}
				a := iv.Actual
				dir, truth := baseline.Down, iv.DeliveredWh()
				if w.up {
					dir, truth = baseline.Up, -truth
				}
				w.proven += baseline.BatteryProvenWh(dir, a.GridImportWh, a.GridExportWh, a.BatteryChargeWh-a.BatteryDischargeWh)
				w.truth += truth
			}
		}
	}
	for k := range windows {
		for _, w := range windows[k] {
			n++
			truthSum += w.truth
			provenSum += max(w.proven, 0)
			if w.proven >= w.truth-2 {
				binding++
			}
			worst = max(worst, w.proven-w.truth)
			if w.proven > w.truth {
				over++
				overWh += w.proven - w.truth
			}
		}
	}
	t.Logf("%d windows: Σ truth %d Wh, Σ max(0, proven) %d Wh; proof within 2 Wh of the truth in %d; above it in %d, by %d Wh in all, at most %d Wh",
		n, truthSum, provenSum, binding, over, overWh, worst)
	// The bound is exact per instant (see BatteryProvenWh). On interval
	// energies it can exceed the truth by the meters' whole-Wh resolution
	// and, in an interval that switches between surplus and deficit, by
	// the deficit inside it: measured, 15 of 146 windows, 72 Wh in all and
	// at most 24 Wh (a 5.9 kWh window), against 503 kWh delivered. A wrong
	// formula (the discharge alone, or the export alone) is off by kWh.
	if worst > 50 || overWh*1000 > truthSum {
		t.Fatalf("the proof exceeded the truth by up to %d Wh, %d Wh in all", worst, overWh)
	}
}
