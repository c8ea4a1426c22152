package sim

import (
	"github.com/gridmint/gridmint/meter"

	"crypto/sha256"
	"encoding/hex"
	"flag"
	"testing"

	"github.com/gridmint/gridmint/internal/golden"
)

var simUpdate = flag.Bool("sim.update", false, "rewrite testdata/sim_golden.txt")

// TestSimGolden pins the simulator's output: the SHA-256 of one day of
// signed readings of 25 homes. The simulator is integer-only, so the same
// digest must come out on amd64 and arm64 (make cross-test runs this
// package under qemu); a change of the model changes it on purpose, and
// -sim.update rewrites it.
func TestSimGolden(t *testing.T) {
	f, err := NewPopulation(simTestClock(170), DefaultPopulation(2026, 25), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.New()
	var rs []*meter.Reading
	for range 96 {
		f.Step(nil)
		if rs, err = f.Readings(simChain, rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			d.Write(r.Encode())
		}
	}
	got := hex.EncodeToString(d.Sum(nil))
	golden.Check(t, "testdata/sim_golden.txt", got, *simUpdate, "simulator output digest (-sim.update rewrites it)")
}
