package main

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/meter/baseline"
)

func TestASHRAE(t *testing.T) {
	// y = 10, 20, 30; ŷ = 12, 18, 33: errors −2, 2, −3; ȳ = 20.
	st := ashrae([]pair{{10, 12}, {20, 18}, {30, 33}})
	if st.n != 3 || st.mean != 20 {
		t.Fatalf("%+v", st)
	}
	if want := -3.0 / (3 * 20) * 100; math.Abs(st.nmbe-want) > 1e-12 {
		t.Fatalf("NMBE %v, want %v", st.nmbe, want)
	}
	if want := math.Sqrt(17.0/3) / 20 * 100; math.Abs(st.cv-want) > 1e-12 {
		t.Fatalf("CV %v, want %v", st.cv, want)
	}
}

func TestAgainstTruth(t *testing.T) {
	st := AgainstTruth([]Sample{{TrueWh: 1000, EstimatedWh: 1100}, {TrueWh: 3000, EstimatedWh: 2700}})
	if st.N != 2 || st.MeanTrueWh != 2000 || st.BiasWh != -100 || st.MAEWh != 200 ||
		math.Abs(st.RMSEWh-math.Sqrt(50000)) > 1e-9 || math.Abs(st.NMBEPct-5) > 1e-12 {
		t.Fatalf("%+v", st)
	}
	if z := AgainstTruth([]Sample{{TrueWh: 0, EstimatedWh: 5}}); !math.IsNaN(z.NMBEPct) || z.BiasWh != 5 {
		t.Fatalf("%+v", z)
	}
}

// TestRunOnSample runs the whole report on the shared sample when it is
// present (it lives outside the repository).
func TestRunOnSample(t *testing.T) {
	const path = "../../../shared/data/il_hourly.csv"
	if _, err := os.Stat(path); err != nil {
		t.Skip("sample data not present:", err)
	}
	var b strings.Builder
	if err := run(&b, path, 14, 4); err != nil {
		t.Fatal(err)
	}
	for _, m := range methods() {
		if !strings.Contains(b.String(), "## "+m.name) {
			t.Fatalf("no table for %s", m.name)
		}
	}
}

// A no-change site with baseline 100, 100 Wh and readings 50, 150 Wh: the
// down deltas +50 and −50 net to 0, so Settle credits nothing; withholding
// the 150 Wh reading leaves +50, the per-interval floor.
func TestWithholding(t *testing.T) {
	b := []int64{100, 100}
	actual := []baseline.Reading{{ImportWh: 50}, {ImportWh: 150}}
	for _, tc := range []struct {
		dir           baseline.Direction
		net, withheld int64
	}{{baseline.Down, 0, 50}, {baseline.Up, 0, 50}} {
		st, err := baseline.Settle(baseline.Commitment{Direction: tc.dir, IntervalSeconds: 3600, CommittedW: 1000,
			BaselineWh: b, Actual: actual, PriceBaseUnitsPerKWh: 1, PayoutCapPPM: 100 * baseline.PPM}, baseline.DefaultSlash())
		if err != nil {
			t.Fatal(err)
		}
		w, err := withholding(tc.dir, b, actual, st)
		if err != nil || st.DeliveredWh != tc.net || w != tc.withheld {
			t.Fatalf("%v: netted %d, withheld %d (%v); want %d, %d", tc.dir, st.DeliveredWh, w, err, tc.net, tc.withheld)
		}
	}
}
