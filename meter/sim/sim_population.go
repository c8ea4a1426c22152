package sim

import (
	"github.com/gridmint/gridmint/meter"

	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/gridmint/gridmint/wallet"
)

// PopulationConfig generates a neighbourhood of homes from one seed: a mix
// of PV, batteries, EV chargers and flexible loads, and of behaviours.
// Shares are in ppm of the homes.
type PopulationConfig struct {
	Seed         uint64
	Homes        int
	LatE6, LonE6 int64 // centre of the neighbourhood
	SpreadE6     int64 // homes lie within ± SpreadE6 of the centre

	PVPpm      int64 // homes with PV
	BatteryPpm int64 // of the homes with PV, those with a battery
	EVPpm      int64 // homes with an EV charger
	FlexPpm    int64 // homes with a flexible load

	PartialPpm int64 // homes that follow a dispatch partly
	IgnorePpm  int64 // homes that ignore a dispatch
	GamePpm    int64 // homes that game their baseline; the rest comply
	// GameHomes, when positive, replaces GamePpm by an exact count: the
	// first GameHomes homes (by index) with a battery game — the device a
	// gaming home charges from the grid before the event — then, if there
	// are too few, the first with a flexible load; no other home does.
	// Those that would have gamed by GamePpm comply instead.
	GameHomes int
}

// DefaultPopulation is the devnet's neighbourhood: n homes around
// Sacramento, 60 % with PV, half of those with a battery, 35 % with an EV,
// 30 % with a flexible load; 10 % partial, 10 % ignoring, 5 % gaming.
func DefaultPopulation(seed uint64, n int) PopulationConfig {
	return PopulationConfig{
		Seed: seed, Homes: n, LatE6: 38_581_600, LonE6: -121_494_400, SpreadE6: 200_000,
		PVPpm: 600_000, BatteryPpm: 500_000, EVPpm: 350_000, FlexPpm: 300_000,
		PartialPpm: 100_000, IgnorePpm: 100_000, GamePpm: 50_000,
	}
}

// SiteKey derives the site key of home i of a population seed, so that
// a devnet can register the sites before it runs them.
func SiteKey(seed uint64, i int) (*wallet.PrivateKey, error) {
	var b [8 + 8 + 24]byte
	copy(b[16:], "gridmint/sim/site-key/v1")
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:16], uint64(i))
	return wallet.GenerateKeyFrom(rand.NewChaCha8(sha256.Sum256(b[:])))
}

// HomeConfigFor returns the configuration of home i of a population, by
// GamePpm (NewPopulation applies GameHomes, which depends on earlier homes).
func HomeConfigFor(pc PopulationConfig, i int) HomeConfig {
	r := rand.New(rand.NewPCG(pc.Seed, uint64(i)^0x5eed_0000_0000_0000))
	ppm := func() int64 { return r.Int64N(1_000_000) }
	between := func(lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }
	c := HomeConfig{
		LatE6: pc.LatE6, LonE6: pc.LonE6,
		DailyLoadWh: between(6_000, 18_000),
		Seed:        r.Uint64(),
		WeatherSeed: pc.Seed, // one neighbourhood, one sky
	}
	if pc.SpreadE6 > 0 {
		c.LatE6 += between(-pc.SpreadE6, pc.SpreadE6)
		c.LonE6 += between(-pc.SpreadE6, pc.SpreadE6)
	}
	if ppm() < pc.PVPpm {
		c.PVNameplateW = between(30, 100) * 100                 // 3–10 kWp
		c.InverterACW = c.PVNameplateW * between(75, 100) / 100 // DC/AC 1.0–1.33
		if ppm() < pc.BatteryPpm {
			c.BatteryCapacityWh = between(5, 20) * 1000
			c.BatteryMaxW = between(30, 60) * 100
			c.BatteryRoundTripPpm = between(85, 95) * 10_000
			c.BatteryInitSoCPpm = between(20, 80) * 10_000
		}
	}
	if ppm() < pc.EVPpm {
		c.EVChargerW = []int64{3_700, 7_400, 11_000}[r.IntN(3)]
		c.EVWeekdayPpm = between(400_000, 900_000)
		c.EVWeekendPpm = between(200_000, 600_000)
		c.EVSessionMaxWh = between(15, 40) * 1000
	}
	if ppm() < pc.FlexPpm {
		c.FlexW = between(10, 45) * 100
	}
	b := ppm()
	switch {
	case b < pc.PartialPpm:
		c.Behaviour = BehaviourPartial
		c.PartialPpm = between(200_000, 800_000)
	case b < pc.PartialPpm+pc.IgnorePpm:
		c.Behaviour = BehaviourIgnore
	case b < pc.PartialPpm+pc.IgnorePpm+pc.GamePpm:
		c.Behaviour = BehaviourGame
		c.GameExtraW = between(5, 20) * 100
	}
	return c
}

// Fleet is a set of homes stepped together.
type Fleet struct {
	Homes []*Home
	// Workers is how many goroutines step and sign; 0 means GOMAXPROCS.
	// Every home is independent, so the output does not depend on it.
	Workers int
}

// NewPopulation builds the homes of pc, all starting at clk.Start.
func NewPopulation(clk Clock, pc PopulationConfig, log *slog.Logger) (*Fleet, error) {
	if pc.Homes < 0 || pc.Homes > 10_000_000 {
		return nil, fmt.Errorf("%w: %d homes", ErrConfig, pc.Homes)
	}
	f := &Fleet{Homes: make([]*Home, pc.Homes)}
	cfgs := make([]HomeConfig, pc.Homes)
	for i := range cfgs {
		cfgs[i] = HomeConfigFor(pc, i)
	}
	if pc.GameHomes > 0 {
		gamers := 0
		for i := range cfgs {
			if cfgs[i].Behaviour == BehaviourGame {
				cfgs[i].Behaviour, cfgs[i].GameExtraW = BehaviourComply, 0
			}
		}
		for _, battery := range []bool{true, false} {
			for i := range cfgs {
				c := &cfgs[i]
				able := c.BatteryCapacityWh > 0 || !battery && c.FlexW > 0
				if gamers < pc.GameHomes && able && c.Behaviour != BehaviourGame {
					gamers++
					c.Behaviour, c.PartialPpm = BehaviourGame, 0
					c.GameExtraW = 500 + int64(c.Seed%16)*100 // 500–2000 W, as by GamePpm
				}
			}
		}
	}
	for i := range f.Homes {
		k, err := SiteKey(pc.Seed, i)
		if err != nil {
			return nil, err
		}
		c := cfgs[i]
		h, err := NewHome(clk, c, k, log)
		if err != nil {
			return nil, fmt.Errorf("home %d: %w", i, err)
		}
		f.Homes[i] = h
	}
	return f, nil
}

// parallel runs fn over every home index in Workers goroutines.
func (f *Fleet) parallel(fn func(i int)) {
	w := f.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	w = min(w, len(f.Homes))
	if w <= 1 {
		for i := range f.Homes {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(f.Homes) + w - 1) / w
	for lo := 0; lo < len(f.Homes); lo += chunk {
		hi := min(lo+chunk, len(f.Homes))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// Step closes one interval of every home; out[i] is home i's ground truth.
// out is reused when it has the right length.
func (f *Fleet) Step(out []Interval) []Interval {
	if len(out) != len(f.Homes) {
		out = make([]Interval, len(f.Homes))
	}
	f.parallel(func(i int) { out[i] = f.Homes[i].Step() })
	return out
}

// Readings signs the last closed interval of every home.
func (f *Fleet) Readings(chainID string, out []*meter.Reading) ([]*meter.Reading, error) {
	if len(out) != len(f.Homes) {
		out = make([]*meter.Reading, len(f.Homes))
	}
	errs := make([]error, len(f.Homes))
	f.parallel(func(i int) { out[i], errs[i] = f.Homes[i].Reading(chainID) })
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("home %d: %w", i, err)
		}
	}
	return out, nil
}

// Schedule posts e to every home that has the device it needs (a battery,
// an EV charger or a flexible load) and returns their indices.
func (f *Fleet) Schedule(e Event) ([]int, error) {
	var took []int
	for i, h := range f.Homes {
		err := h.Schedule(e)
		switch {
		case err == nil:
			took = append(took, i)
		case errors.Is(err, ErrUnsupportedDispatch):
		default:
			return took, fmt.Errorf("home %d: %w", i, err)
		}
	}
	return took, nil
}
