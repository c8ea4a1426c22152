package sim

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. The benchmark machine is
// shared, so wall-clock figures depend on the neighbours; CPU time per
// height does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHeights runs n validators with zero network delay and no faults;
// one op is one height decided by every validator. It reports heights per
// second of the whole simulated network (all validators run in this one
// process, so the figure is a floor for one real validator) and messages per
// height: broadcasts (messages a node hands to gossip) and deliveries
// (point-to-point). "fake" uses the simulation's MAC stand-in for
// signatures, to measure the engine; "secp256k1" signs and verifies for real.
func BenchmarkHeights(b *testing.B) {
	for _, crypto := range []string{"fake", "secp256k1"} {
		for _, n := range []int{4, 16, 64} {
			b.Run(fmt.Sprintf("%s/validators=%d", crypto, n), func(b *testing.B) {
				sc := Scenario{Name: "bench", Validators: n, RealCrypto: crypto == "secp256k1",
					StopAtHeight: uint64(b.N), LivenessMs: 1 << 40}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				res, err := Run(sc, 1)
				if err != nil {
					b.Fatal(err)
				}
				cpu := cpuTime() - cpu0
				b.StopTimer()
				h := float64(res.Heights)
				b.ReportMetric(h/cpu.Seconds(), "heights/cpu-s")
				b.ReportMetric(h/b.Elapsed().Seconds(), "heights/s")
				b.ReportMetric(float64(res.Broadcasts)/h, "broadcasts/height")
				b.ReportMetric(float64(res.Deliveries)/h, "deliveries/height")
			})
		}
	}
}

// BenchmarkCommitLatency50ms runs n validators with a fixed 50 ms one-way
// delay and reports the median and 99th percentile, in simulated ms, of the
// time to commit a height: the interval between a node's consecutive
// decisions (the engine does not wait between heights, so this is the
// whole propose-prevote-precommit path).
func BenchmarkCommitLatency50ms(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) {
			sc := Scenario{Name: "latency", Validators: n, MinDelayMs: 50, MaxDelayMs: 50,
				StopAtHeight: uint64(max(b.N, 20)), LivenessMs: 1 << 40}
			b.ReportAllocs()
			res, err := Run(sc, 1)
			if err != nil {
				b.Fatal(err)
			}
			iv := slices.Clone(res.CommitIntervalMs)
			slices.Sort(iv)
			b.ReportMetric(float64(iv[len(iv)/2]), "p50-ms")
			b.ReportMetric(float64(iv[(len(iv)*99)/100]), "p99-ms")
		})
	}
}

// TestLatencyFigures is a quick check of the latency benchmark's premise:
// with a 50 ms one-way delay and no faults, a height takes three message
// delays (proposal, prevotes, precommits).
func TestLatencyFigures(t *testing.T) {
	res, err := Run(Scenario{Name: "latency", Validators: 4, MinDelayMs: 50, MaxDelayMs: 50,
		StopAtHeight: 30, LivenessMs: 1 << 40}, 1)
	if err != nil {
		t.Fatal(err)
	}
	iv := slices.Clone(res.CommitIntervalMs)
	slices.Sort(iv)
	if med := iv[len(iv)/2]; med != 150 {
		t.Errorf("median time to commit %d ms, want 150", med)
	}
}
