package site

import (
	"context"
	"testing"
	"time"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/sim"
)

// BenchmarkAgentPoll: one poll of a simulated home (grid and PV counters,
// battery, EV: five channels) with its journal batch, on a real pebble
// directory; one reading is signed and fsynced every 15th poll (minute
// polls of 15-minute intervals).
func BenchmarkAgentPoll(b *testing.B) {
	start := genesis.Add(170 * 24 * time.Hour)
	now := start
	dev, err := sim.NewDevice(sim.DeviceConfig{Seed: 18, Home: 0, Genesis: genesis, Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	key, _ := sim.SiteKey(18, 0)
	a, err := Open(context.Background(), Config{ChainID: chainID, Key: key, Genesis: genesis, Interval: 15 * time.Minute,
		Devices: []meter.Device{dev}, Dir: b.TempDir(), Sink: &sink{}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = start.Add(time.Duration(i) * time.Minute)
		if err := a.Poll(context.Background(), now); err != nil {
			b.Fatal(err)
		}
	}
}
