package sim

import (
	"testing"

	"github.com/gridmint/gridmint/meter/solar"
)

// The simulator keeps its own table-driven sun (sim_sun.go) because it is
// evaluated once per home and sub-step; meter/solar is the reference the
// ledger's plausibility checks use. These tests tie the two together.

// TestSimSunAgainstSolarPackage: the simulator's elevation agrees with
// meter/solar's true (airless) elevation.
func TestSimSunAgainstSolarPackage(t *testing.T) {
	sites := [][2]int64{{38_581_600, -121_494_400}, {52_520_000, 13_405_000}, {-33_868_800, 151_209_300}, {64_146_600, -21_942_600}}
	worst := int64(0)
	for _, s := range sites {
		for day := int64(0); day < 366; day += 5 {
			for m := int64(0); m < 1440; m += 23 {
				u := int64(simTestGenesis) + day*86400 + m*60
				p, err := solar.Position(u, s[0], s[1])
				if err != nil {
					t.Fatal(err)
				}
				want := simSinE9(p.TrueElevationE6)
				got := simSunSinElevationE9(s[0], s[1], u)
				worst = max(worst, got-want, want-got)
			}
		}
	}
	// 2e-4 in sin(elevation) is about 0.01°.
	if worst > 200_000 {
		t.Fatalf("sin(elevation) differs from meter/solar by up to %d e-9", worst)
	}
	t.Logf("worst |Δ sin(elevation)| vs meter/solar: %d e-9", worst)
}

// TestSimReadingsPassNightCheck: no simulated interval with PV is one the
// plausibility check (solar.SunBelowHorizonThroughout) would reject.
func TestSimReadingsPassNightCheck(t *testing.T) {
	pc := DefaultPopulation(11, 8)
	pc.PVPpm = 1_000_000
	pc.LatE6 = 60_000_000 // long twilights make the edges hardest
	f, err := NewPopulation(simTestClock(0), pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	days := 60
	if testing.Short() {
		days = 10
	}
	checked := 0
	var out []Interval
	for d := 0; d < days; d++ {
		for range 96 {
			out = f.Step(out)
			for j, iv := range out {
				if iv.Actual.PVWh == 0 {
					continue
				}
				h := f.Homes[j]
				s := h.clk.IntervalStart(iv.Index)
				if solar.SunBelowHorizonThroughout(s, s+h.clk.IntervalS, h.cfg.LatE6, h.cfg.LonE6) {
					t.Fatalf("home %d interval %d: %d Wh PV, but the sun is below the horizon throughout", j, iv.Index, iv.Actual.PVWh)
				}
				checked++
			}
		}
		// Skip ahead through the year: the homes are rebuilt per season.
		if d%10 == 9 {
			clk := simTestClock((d + 1) * 6)
			if f, err = NewPopulation(clk, pc, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no PV at all")
	}
}

func BenchmarkSimSun(b *testing.B) {
	u := int64(simTestGenesis)
	for b.Loop() {
		u += 60
		simSunSinElevationE9(38_581_600, -121_494_400, u)
	}
}

func BenchmarkSolarPackageClearSky(b *testing.B) {
	u := int64(simTestGenesis)
	for b.Loop() {
		u += 60
		solar.ClearSkyGHIWm2(u, 38_581_600, -121_494_400)
	}
}
