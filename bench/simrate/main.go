// Command simrate measures the home simulator at devnet scale: how many
// home-intervals per second it steps (each with its counterfactual twin)
// and how many readings per second it produces and signs.
//
//	go run ./bench/simrate -homes 1000 -days 1
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/sim"
)

func main() {
	homes := flag.Int("homes", 1000, "simulated homes")
	days := flag.Int("days", 1, "simulated days (96 intervals of 15 min each)")
	seed := flag.Uint64("seed", 1, "population seed")
	workers := flag.Int("workers", 0, "goroutines (0: GOMAXPROCS)")
	sign := flag.Bool("sign", true, "sign a reading per home and interval")
	flag.Parse()

	clk := sim.Clock{GenesisUnix: 1767225600, IntervalS: 900, Start: 150 * 96}
	t0 := time.Now()
	f, err := sim.NewPopulation(clk, sim.DefaultPopulation(*seed, *homes), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "simrate:", err)
		os.Exit(1)
	}
	f.Workers = *workers
	setup := time.Since(t0)

	var out []sim.Interval
	var rs []*meter.Reading
	var stepT, signT time.Duration
	var pvWh, deliveredWh int64
	n := *days * 96
	for range n {
		t := time.Now()
		out = f.Step(out)
		stepT += time.Since(t)
		if *sign {
			t = time.Now()
			if rs, err = f.Readings("gridmint-simrate", rs); err != nil {
				fmt.Fprintln(os.Stderr, "simrate:", err)
				os.Exit(1)
			}
			signT += time.Since(t)
		}
		for _, iv := range out {
			pvWh += iv.Actual.PVWh
			deliveredWh += iv.DeliveredWh()
		}
	}
	hi := float64(*homes * n)
	fmt.Printf("homes %d, days %d, GOMAXPROCS %d, workers %d\n", *homes, *days, runtime.GOMAXPROCS(0), *workers)
	fmt.Printf("setup (site keys)  %v\n", setup.Round(time.Millisecond))
	fmt.Printf("step               %v  %.0f home-intervals/s  (%.2f s per simulated day of %d homes)\n",
		stepT.Round(time.Millisecond), hi/stepT.Seconds(), stepT.Seconds()/float64(*days), *homes)
	if *sign {
		fmt.Printf("sign               %v  %.0f readings/s\n", signT.Round(time.Millisecond), hi/signT.Seconds())
		fmt.Printf("step + sign        %.0f readings/s\n", hi/(stepT+signT).Seconds())
	}
	fmt.Printf("PV %d kWh, delivered %d Wh (no dispatch: must be 0)\n", pvWh/1000, deliveredWh)
}
