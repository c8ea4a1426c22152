package main

// The "against truth" half of the report: a seeded population of simulated
// homes (meter.NewPopulation) runs through many flexibility events; each
// home's twin (the same home without any dispatch or gaming) gives the true
// delivered energy, and the chain's own settlement path
// (ledger.BuildFlexInputs, ledger.SettleFlex) gives the estimate.

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/meter/sim"
)

// truthConfig sizes the simulation.
type truthConfig struct {
	Pop        sim.PopulationConfig
	Days       int // simulated days in total, from local midnight of the genesis day
	WarmupDays int // days without events at the start, so baselines have history
	EventSeed  uint64
	Rules      ledger.BaselineRules // zero: the chain's defaults
	// Genesis is the Unix time of interval 0, a local midnight (UTC−8);
	// 0 means Monday 2 June 2025.
	Genesis int64
	// ControlPPM > 0 settles every request with a randomized control group
	// of that share (ledger.FlexControlSplit, a seed per event): control
	// homes are not dispatched — from the posting on their readings are
	// their twin's — and are left out of the pairs; the dispatched homes'
	// delivery is corrected by the control estimate. The withholding
	// strategies are not run then.
	ControlPPM uint32
	// Season (bench/mv -season) settles each commitment with the chain's
	// minimum bond, settles every complying home a second time as a
	// never-responding home (its twin's readings from the posting on, in
	// a request with the same control sites), keeps each settlement's
	// numbers for season netting (season.go) and skips the withholding
	// strategies.
	Season bool
}

func defaultTruthConfig(seed uint64, homes, days int) truthConfig {
	return truthConfig{Pop: sim.DefaultPopulation(seed, homes), Days: days, WarmupDays: 21, EventSeed: seed}
}

func (c truthConfig) genesis() int64 {
	if c.Genesis != 0 {
		return c.Genesis
	}
	return simGenesis()
}

// Simulated time: 15-minute intervals from local midnight (PST, UTC−8) of
// Monday 2 June 2025; the calendar uses the same fixed offset and no
// holidays (the simulator knows none).
const (
	simIntervalS  = 900
	simUTCOffsetS = -8 * 3600
	simPrice      = 1_000_000 // base units per kWh: 1 FLX
)

func simGenesis() int64 {
	return time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC).Unix() - simUTCOffsetS
}

// Posting leads.
const (
	postDayBefore  = iota // 14:00 the day before
	postMorning           // 08:00 the same day
	postHourBefore        // one hour before the window (the day-of adjustment applies)
	numPostings
)

var postingNames = [numPostings]string{"posted 14:00 the day before", "posted 08:00 the same day", "posted 1 h before the window"}

// simEventPlan is one flexibility event of the whole neighbourhood.
type simEventPlan struct {
	dir                baseline.Direction
	posting            int
	posted, start, end int64 // intervals
}

// planEvents draws the events: on each day after the warm-up, a "down"
// event in the evening (start 16:00–18:00, 2–4 h, ending by 21:00) with
// probability 40 % on weekdays and 15 % on weekend days, and an "up" event
// around midday (start 11:00 or 12:00, 2–3 h, to soak up PV) with
// probability 15 %. Each is posted the day before at 14:00, at 08:00 on the
// day, or one hour before the window, uniformly.
func planEvents(cfg truthConfig, cal baseline.Calendar) []simEventPlan {
	r := rand.New(rand.NewPCG(cfg.EventSeed, 0xe1e7_0000))
	perHour := int64(3600 / simIntervalS)
	day0 := cal.DayOf(0)
	var evs []simEventPlan
	for d := int64(cfg.WarmupDays); d < int64(cfg.Days); d++ {
		ds := cal.DayStart(day0 + d)
		weekday := cal.TypeOf(day0+d) == baseline.Weekday
		pUp := r.IntN(100) < 15
		pDown := r.IntN(100) < 15 || (weekday && r.IntN(100) < 30)
		mk := func(dir baseline.Direction, startH, hours int64) simEventPlan {
			e := simEventPlan{dir: dir, posting: r.IntN(numPostings), start: ds + startH*perHour}
			e.end = e.start + hours*perHour
			switch e.posting {
			case postDayBefore:
				e.posted = ds - 24*perHour + 14*perHour
			case postMorning:
				e.posted = ds + 8*perHour
			default:
				e.posted = e.start - perHour
			}
			return e
		}
		if pUp {
			evs = append(evs, mk(baseline.Up, 11+int64(r.IntN(2)), 2+int64(r.IntN(2))))
		}
		if pDown {
			s := 16 + int64(r.IntN(3))
			h := min(2+int64(r.IntN(3)), 21-s)
			evs = append(evs, mk(baseline.Down, s, h))
		}
	}
	return evs
}

// truthMethod is one settlement method of the against-truth table.
type truthMethod struct {
	name, rules string
	method      baseline.Method
	channel     uint8
	up          bool // settles "up" events too
}

func truthMethods() []truthMethod {
	return []truthMethod{
		{"x-of-y (10 in 10)", "CAISO-style: 10 in 10 weekdays / 4 in 4 weekend days, 45-day lookback, ratio adjustment from the 3 h ending 1 h before the window, capped ±20 %; the adjustment only uses data from before the posting, so it applies only to the requests posted 1 h before the window; whole-site net import", baseline.MethodXofY, ledger.ChannelNet, true},
		{"high-x-of-y (high 4 of 5)", "PJM-style: high 4 of 5 weekdays / high 2 of 3 like weekend days, low-usage days (< 25 %) dropped, symmetric additive adjustment from the 3 h ending 1 h before the window (again only for requests posted 1 h before); whole-site net import", baseline.MethodHighXofY, ledger.ChannelNet, true},
		{"device method, battery channel", "meter-before/meter-after on the battery channel (charge − discharge as load). The flat meter-before level needs Event.Posted ≥ Start, which the ledger never produces (a request is accepted only while the current interval is before its deadline, and the deadline is at or before the start), so every settlement uses the fallback: the battery's own profile of its 10 most recent days (at least 5, 20-day lookback)", baseline.MethodDevice, ledger.ChannelBattery, true},
		{"device method, EV channel", "the same on the EV charging channel: the charger's own 10-day profile; down events only", baseline.MethodDevice, ledger.ChannelEV, false},
	}
}

// homeTrack is one home's readings (what the chain sees) and its twin's,
// per interval.
type homeTrack struct {
	imp, exp, batt, ev     []int32 // actual: grid import, export, battery charge − discharge, EV
	cfNet, cfBatt, cfEV    []int32 // twin: net import, battery net, EV
	hasBattery, hasEV, has bool    // has: any dispatchable device
	flexW                  int64
	cfg                    sim.HomeConfig
}

func newTrack(cfg sim.HomeConfig, n int) *homeTrack {
	t := &homeTrack{cfg: cfg, hasBattery: cfg.BatteryCapacityWh > 0, hasEV: cfg.EVChargerW > 0, flexW: cfg.FlexW}
	t.has = t.hasBattery || t.hasEV || t.flexW > 0
	for _, p := range []*[]int32{&t.imp, &t.exp, &t.batt, &t.ev, &t.cfNet, &t.cfBatt, &t.cfEV} {
		*p = make([]int32, n)
	}
	return t
}

func (t *homeTrack) record(i int, s sim.Interval) {
	a, c := s.Actual, s.Counterfactual
	t.imp[i], t.exp[i] = int32(a.GridImportWh), int32(a.GridExportWh)
	t.batt[i] = int32(a.BatteryChargeWh - a.BatteryDischargeWh)
	t.ev[i] = int32(a.EVWh)
	t.cfNet[i] = int32(c.NetImportWh())
	t.cfBatt[i] = int32(c.BatteryChargeWh - c.BatteryDischargeWh)
	t.cfEV[i] = int32(c.EVWh)
}

// takesPart reports whether the home is dispatched in an event of dir:
// down needs a battery, a charger or a flexible load; up needs a battery.
func (t *homeTrack) takesPart(dir baseline.Direction) bool {
	if dir == baseline.Up {
		return t.hasBattery
	}
	return t.has
}

// commitment returns whether the home commits under method m for dir and
// its committed W: its dispatchable capacity on the settled channel.
func (t *homeTrack) commitment(m truthMethod, dir baseline.Direction) (int64, bool) {
	if dir == baseline.Up && !m.up {
		return 0, false
	}
	switch m.channel {
	case ledger.ChannelBattery:
		return t.cfg.BatteryMaxW, t.hasBattery
	case ledger.ChannelEV:
		return t.cfg.EVChargerW, t.hasEV
	}
	if !t.takesPart(dir) {
		return 0, false
	}
	w := int64(0)
	if t.hasBattery {
		w += t.cfg.BatteryMaxW
	}
	if dir == baseline.Down {
		w += t.cfg.EVChargerW + t.flexW
	}
	return w, true
}

// trueDelivered is twin − actual on the channel over [from, to), signed for
// the direction.
func (t *homeTrack) trueDelivered(channel uint8, dir baseline.Direction, from, to int64) int64 {
	var d int64
	for i := from; i < to; i++ {
		switch channel {
		case ledger.ChannelBattery:
			d += int64(t.cfBatt[i]) - int64(t.batt[i])
		case ledger.ChannelEV:
			d += int64(t.cfEV[i]) - int64(t.ev[i])
		default:
			d += int64(t.cfNet[i]) - (int64(t.imp[i]) - int64(t.exp[i]))
		}
	}
	if dir == baseline.Up {
		d = -d
	}
	return d
}

// dispatch schedules the event on every device of the home that can do it.
func dispatch(h *sim.Home, e simEventPlan) error {
	cfg := h.Config()
	var evs []sim.Event
	base := sim.Event{Posted: uint64(e.posted), Start: uint64(e.start), End: uint64(e.end)}
	add := func(k meter.DispatchKind, w int64) {
		ev := base
		ev.Kind, ev.PowerW = k, w
		evs = append(evs, ev)
	}
	if e.dir == baseline.Up {
		if cfg.BatteryCapacityWh > 0 {
			add(meter.DispatchBatteryCharge, cfg.BatteryMaxW)
		}
	} else {
		if cfg.BatteryCapacityWh > 0 {
			add(meter.DispatchBatteryDischarge, cfg.BatteryMaxW)
		}
		if cfg.EVChargerW > 0 {
			add(meter.DispatchChargerPause, 0)
		}
		if cfg.FlexW > 0 {
			add(meter.DispatchLoadCurtail, cfg.FlexW)
		}
	}
	for _, ev := range evs {
		if err := h.Schedule(ev); err != nil {
			return err
		}
	}
	return nil
}

// settledPair is one (home, event) commitment settled under one method.
type settledPair struct {
	home, event int
	track       int  // index into truthRun.tracks
	honest      bool // the honest rerun of a gaming home
	behaviour   sim.Behaviour
	// committedWh, the true delivery over the window and from the posting
	// to the window's end (which includes what a gaming home drew to
	// inflate its baseline), the chain's delivered and paid Wh.
	committedWh, trueWh, truePostedWh, estWh, netWh, paidWh int64
	siteTrueWh                                              int64 // twin − actual net import over the window (the grid's view)
	noBaseline                                              bool
	// usedEventDay: a baseline day was one of the home's own earlier
	// event days (the ledger keeps only the last 16 event starts per site).
	usedEventDay bool
	// usedGamedDay: a baseline day was the posting day of an event posted
	// the day before, when a gaming home raises its load in the window's
	// hours (for every home; it matters for gaming ones).
	usedGamedDay bool
	adjusted     bool // the day-of adjustment was applied
	// never: the never-responding run of a complying home (Season);
	// res its settlement without the intervals (Season).
	never bool
	res   ledger.FlexCommitmentResult
}

// truthRun is the whole simulation and its settlements.
type truthRun struct {
	cfg     truthConfig
	cal     baseline.Calendar
	events  []simEventPlan
	tracks  []*homeTrack // the population, then one honest rerun per gaming home
	honest  []int        // honest[j] = the gaming home rerun as tracks[len(pop)+j]
	nPop    int
	methods []truthMethod
	pairs   [][]settledPair // per method
	// held[m][k] sums the withholding pairs of strategy k under method m.
	held [][numWithhold]withholdStats
}

// Withholding strategies: a complying home sends every reading but one
// chosen set, knowing its own baseline (it can compute it as the chain
// does), and is settled against itself sending every reading.
const (
	withholdEvent         = iota // the window reading with the worst delta
	withholdGuard                // the guard reading with the worst delta
	withholdBaselineDays         // one window-hour reading on each averaged day on the wrong side of their mean
	withholdGuardBaseline        // the reading of the guard's last hour on every earlier day (drops the guard's days)
	numWithhold
)

var withholdNames = [numWithhold]string{
	"event: the window reading with the worst delta",
	"guard: the guard reading with the worst delta",
	"baseline days: one window-hour reading on each averaged day below (down) / above (up) their mean",
	"guard's baseline: the guard's last interval on every earlier day",
}

// withholdStats sums one strategy's pairs (same home, same event: every
// reading sent against the strategy's readings withheld).
type withholdStats struct {
	pairs, forfeited, noBaseline, paidMore int
	sentPaidWh, heldPaidWh                 int64
	maxGainWh                              int64 // the most a pair gained by withholding (≤ 0 when none did)
	sentSlash, heldSlash                   uint64
}

func (a *withholdStats) add(b withholdStats) {
	if a.pairs == 0 || b.pairs > 0 && b.maxGainWh > a.maxGainWh {
		a.maxGainWh = b.maxGainWh
	}
	a.pairs += b.pairs
	a.forfeited += b.forfeited
	a.noBaseline += b.noBaseline
	a.paidMore += b.paidMore
	a.sentPaidWh += b.sentPaidWh
	a.heldPaidWh += b.heldPaidWh
	a.sentSlash += b.sentSlash
	a.heldSlash += b.heldSlash
}

func simulateTruth(cfg truthConfig) (*truthRun, error) {
	if cfg.Days <= cfg.WarmupDays || cfg.WarmupDays < 1 {
		return nil, fmt.Errorf("%d days with %d warm-up days", cfg.Days, cfg.WarmupDays)
	}
	cal := baseline.Calendar{GenesisUnix: cfg.genesis(), IntervalSeconds: simIntervalS, UTCOffsetSeconds: simUTCOffsetS}
	if err := cal.Validate(); err != nil {
		return nil, err
	}
	clk := sim.Clock{GenesisUnix: cal.GenesisUnix, IntervalS: simIntervalS}
	fleet, err := sim.NewPopulation(clk, cfg.Pop, nil)
	if err != nil {
		return nil, err
	}
	tr := &truthRun{cfg: cfg, cal: cal, events: planEvents(cfg, cal), nPop: len(fleet.Homes), methods: truthMethods()}
	n := cfg.Days * int(cal.IntervalsPerDay())
	for i, h := range fleet.Homes {
		tr.tracks = append(tr.tracks, newTrack(h.Config(), n))
		if h.Config().Behaviour == sim.BehaviourGame {
			tr.honest = append(tr.honest, i)
		}
	}
	// Each gaming home once more, complying honestly: the same seed, key
	// and weather, so the difference is the gaming alone.
	for _, i := range tr.honest {
		c := sim.HomeConfigFor(cfg.Pop, i)
		c.Behaviour, c.GameExtraW = sim.BehaviourComply, 0
		k, err := sim.SiteKey(cfg.Pop.Seed, i)
		if err != nil {
			return nil, err
		}
		h, err := sim.NewHome(clk, c, k, nil)
		if err != nil {
			return nil, err
		}
		fleet.Homes = append(fleet.Homes, h)
		tr.tracks = append(tr.tracks, newTrack(c, n))
	}
	byPost := make(map[int64][]int)
	for j, e := range tr.events {
		byPost[e.posted] = append(byPost[e.posted], j)
	}
	var out []sim.Interval
	for iv := 0; iv < n; iv++ {
		for _, j := range byPost[int64(iv)] { // slice order: events in plan order
			for hi, h := range fleet.Homes {
				if tr.tracks[hi].takesPart(tr.events[j].dir) {
					if err := dispatch(h, tr.events[j]); err != nil {
						return nil, fmt.Errorf("home %d, event %d: %w", hi, j, err)
					}
				}
			}
		}
		out = fleet.Step(out)
		for hi, s := range out {
			tr.tracks[hi].record(iv, s)
		}
	}
	return tr, tr.settle()
}

// maxSiteEvents is the ledger's per-site list of recent event starts
// (ledger.maxSiteEvents, unexported): older events fall out of it and their
// days become baseline days again.
const maxSiteEvents = 16

// priorStarts is what the ledger's site event list holds when event j
// settles: the starts of the home's earlier events that settled before it
// (events settle in the order of their ends), at most the newest 16.
func (tr *truthRun) priorStarts(home, j int) []uint64 {
	var s []uint64
	for _, e := range tr.events {
		if e.end < tr.events[j].end && tr.tracks[home].takesPart(e.dir) {
			s = append(s, uint64(e.start))
		}
	}
	slices.Sort(s)
	if len(s) > maxSiteEvents {
		s = s[len(s)-maxSiteEvents:]
	}
	return s
}

// eventDays are the local days of all the home's events before event j.
func (tr *truthRun) eventDays(home, j int) []int64 {
	var d []int64
	for _, e := range tr.events {
		if e.start < tr.events[j].start && tr.tracks[home].takesPart(e.dir) {
			d = append(d, tr.cal.DayOf(e.start))
		}
	}
	return d
}

// settle runs every (event, method) request through the ledger's
// settlement, in parallel; the results do not depend on the order.
func (tr *truthRun) settle() error {
	params := ledger.DefaultParams()
	type job struct{ m, j int }
	var jobs []job
	for m := range tr.methods {
		for j := range tr.events {
			jobs = append(jobs, job{m, j})
		}
	}
	res := make([][]settledPair, len(jobs))
	held := make([][numWithhold]withholdStats, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				res[k], held[k], errs[k] = tr.settleOne(tr.methods[jobs[k].m], jobs[k].j, &params)
			}
		}()
	}
	for k := range jobs {
		next <- k
	}
	close(next)
	wg.Wait()
	tr.pairs = make([][]settledPair, len(tr.methods))
	tr.held = make([][numWithhold]withholdStats, len(tr.methods))
	for k, jb := range jobs {
		if errs[k] != nil {
			return fmt.Errorf("%s, event %d: %w", tr.methods[jb.m].name, jb.j, errs[k])
		}
		tr.pairs[jb.m] = append(tr.pairs[jb.m], res[k]...)
		for w := range numWithhold {
			tr.held[jb.m][w].add(held[k][w])
		}
	}
	return nil
}

// settleOne builds one request of event j under method m, with every home
// that commits, and settles it exactly as the ledger does.
func (tr *truthRun) settleOne(m truthMethod, j int, params *ledger.Params) ([]settledPair, [numWithhold]withholdStats, error) {
	var held [numWithhold]withholdStats
	e := tr.events[j]
	terms := ledger.FlexTerms{Zone: "sim", Direction: uint8(e.dir), Start: uint64(e.start), End: uint64(e.end),
		PriceBaseUnitsPerKWh: simPrice, Deadline: uint64(e.start), Method: uint8(m.method), Channel: m.channel,
		UTCOffsetSeconds: simUTCOffsetS, Rules: tr.cfg.Rules}
	req := &ledger.FlexRequest{ID: uint64(j + 1), Terms: terms, PostedInterval: uint64(e.posted), Status: ledger.FlexOpen}
	bp := ledger.FlexBaselineParams(terms.Rules)
	var inputs []ledger.FlexInputs
	var pairs []settledPair
	n := e.end - e.start
	for hi, t := range tr.tracks {
		w, ok := t.commitment(m, e.dir)
		if !ok {
			continue
		}
		home := hi
		if hi >= tr.nPop {
			home = tr.honest[hi-tr.nPop]
		}
		k, err := sim.SiteKey(tr.cfg.Pop.Seed, home)
		if err != nil {
			return nil, held, err
		}
		site := k.Address()
		req.Commitments = append(req.Commitments, ledger.FlexCommitment{Site: site, Owner: site, CommittedW: uint64(w)})
		req.Terms.TargetW += uint64(w)
		// Escrow: the most each commitment can be paid, so that no claim
		// is scaled down.
		capWh := w * int64(params.IntervalSeconds) / 3600 * n * int64(params.FlexPayoutCapPpm) / 1_000_000
		req.EscrowBaseUnits += simPrice * uint64(capWh) / 1000
		if tr.cfg.Season {
			// The chain's minimum bond: FlexMinBondPpm of the most it can be paid.
			req.Commitments[len(req.Commitments)-1].BondBaseUnits = simPrice * uint64(capWh) / 1000 * uint64(params.FlexMinBondPpm) / 1_000_000
		}
		inputs = append(inputs, ledger.BuildFlexInputs(&req.Terms, e.posted, tr.priorStarts(hi, j), tr.cal, bp, params.FlexGuardIntervals,
			t.history(nil)))
		pairs = append(pairs, settledPair{home: home, event: j, honest: hi >= tr.nPop, behaviour: t.cfg.Behaviour, track: hi,
			trueWh:       t.trueDelivered(m.channel, e.dir, e.start, e.end),
			truePostedWh: t.trueDelivered(m.channel, e.dir, e.posted, e.end),
			siteTrueWh:   t.trueDelivered(ledger.ChannelNet, e.dir, e.start, e.end)})
	}
	if len(pairs) == 0 {
		return nil, held, nil
	}
	if tr.cfg.ControlPPM > 0 {
		// The split, as the chain draws it, from a seed per event; the
		// control homes' readings from the posting on are their twin's.
		var h [32]byte
		for b := 0; b < 8; b++ {
			h[b] = byte(tr.cfg.EventSeed >> (8 * b))
		}
		req.Terms.ControlSharePPM = tr.cfg.ControlPPM
		req.ClosedHeight, req.SplitHeight = 1, 2
		req.Seed = ledger.FlexControlSeed("gridmint-bench-mv", uint64(j+1), h)
		ctl, err := ledger.FlexControlSplit(req.Commitments, req.Seed, tr.cfg.ControlPPM)
		if err != nil {
			return nil, held, err
		}
		req.Control = ctl
		for i, c := range ctl {
			if c {
				t := tr.tracks[pairs[i].track]
				inputs[i] = ledger.BuildFlexInputs(&req.Terms, e.posted, tr.priorStarts(pairs[i].track, j), tr.cal, bp, params.FlexGuardIntervals,
					t.twinHistory(e.posted, e.end))
				pairs[i].trueWh, pairs[i].truePostedWh, pairs[i].siteTrueWh = 0, 0, 0
			}
		}
	}
	fs, err := ledger.SettleFlex(req, inputs, tr.cal, params)
	if err != nil {
		return nil, held, err
	}
	if fs.Scaled {
		return nil, held, fmt.Errorf("payouts scaled to the escrow")
	}
	if tr.cfg.Season {
		nev, err := tr.neverResponding(j, req, inputs, pairs, params)
		if err != nil {
			return nil, held, err
		}
		for i := range pairs {
			pairs[i].res = stripped(fs.Commitments[i])
		}
		pairs = append(pairs, nev...)
	} else if tr.cfg.ControlPPM == 0 {
		if held, err = tr.withhold(m, j, req, pairs, fs, params); err != nil {
			return nil, held, err
		}
	}
	var gamed []int64
	for _, o := range tr.events {
		if o.posting == postDayBefore && o.posted < e.posted {
			gamed = append(gamed, tr.cal.DayOf(o.posted))
		}
	}
	for i, c := range fs.Commitments {
		p := &pairs[i]
		if p.never {
			break // the never-responding runs follow the request's own
		}
		net := c.NetDeltaWh - c.CorrectionWh // the control estimate, if any
		if c.Proven {
			net = min(net, c.ProvenNetWh)
		}
		p.committedWh, p.estWh, p.netWh, p.paidWh = c.CommittedWh, c.DeliveredWh, net+min(0, c.GuardNetWh), c.PaidWh
		p.noBaseline = c.Status == uint8(baseline.NoBaseline)
		p.adjusted = c.AdjustApplied
		hi := p.home
		if p.honest {
			hi = tr.nPop + slices.Index(tr.honest, p.home)
		}
		ed := tr.eventDays(hi, j)
		for _, d := range c.SelectedDays {
			p.usedEventDay = p.usedEventDay || slices.Contains(ed, d)
			p.usedGamedDay = p.usedGamedDay || slices.Contains(gamed, d)
		}
	}
	if req.Control != nil {
		var dispatched []settledPair
		for i, p := range pairs {
			if i >= len(req.Control) || !req.Control[i] {
				dispatched = append(dispatched, p)
			}
		}
		pairs = dispatched
	}
	return pairs, held, nil
}

// stripped is a settlement without its intervals and days (season
// netting reads only the totals).
func stripped(c ledger.FlexCommitmentResult) ledger.FlexCommitmentResult {
	c.Intervals, c.SelectedDays = nil, nil
	return c
}

// neverResponding settles each dispatched complying home of request j
// once more as a home that never responds: its twin's readings (the home
// without the dispatch) from the posting on, in a request with the same
// terms and the same control sites (so the same control estimate), and
// returns those settlements as pairs marked never.
func (tr *truthRun) neverResponding(j int, req *ledger.FlexRequest, inputs []ledger.FlexInputs, pairs []settledPair, params *ledger.Params) ([]settledPair, error) {
	e := tr.events[j]
	r := *req
	r.Commitments, r.Control = nil, nil
	var in []ledger.FlexInputs
	var out []settledPair
	bp := ledger.FlexBaselineParams(req.Terms.Rules)
	for i := range pairs {
		if req.Control != nil && req.Control[i] {
			r.Commitments = append(r.Commitments, req.Commitments[i])
			r.Control = append(r.Control, true)
			in = append(in, inputs[i])
			out = append(out, settledPair{})
		}
	}
	for i, p := range pairs {
		if p.honest || p.behaviour != sim.BehaviourComply || req.Control != nil && req.Control[i] {
			continue
		}
		t := tr.tracks[p.track]
		r.Commitments = append(r.Commitments, req.Commitments[i])
		if req.Control != nil {
			r.Control = append(r.Control, false)
		}
		in = append(in, ledger.BuildFlexInputs(&r.Terms, e.posted, tr.priorStarts(p.track, j), tr.cal, bp, params.FlexGuardIntervals,
			t.twinHistory(e.posted, e.end)))
		q := p
		q.never, q.trueWh, q.truePostedWh, q.siteTrueWh = true, 0, 0, 0
		out = append(out, q)
	}
	if len(in) == 0 {
		return nil, nil
	}
	fs, err := ledger.SettleFlex(&r, in, tr.cal, params)
	if err != nil {
		return nil, fmt.Errorf("never-responding: %w", err)
	}
	var nev []settledPair
	for i, c := range fs.Commitments {
		if !out[i].never {
			continue
		}
		q := out[i]
		q.committedWh, q.estWh, q.paidWh = c.CommittedWh, c.DeliveredWh, c.PaidWh
		q.noBaseline = c.Status == uint8(baseline.NoBaseline)
		q.res = stripped(c)
		nev = append(nev, q)
	}
	return nev, nil
}

// twinHistory is history with the twin's readings (the home without the
// dispatch) over [from, to): what a control home, told at the posting that
// it is not dispatched, shows.
func (t *homeTrack) twinHistory(from, to int64) func(i int64) (int64, int64, int64, int64, bool) {
	actual := t.history(nil)
	return func(i int64) (int64, int64, int64, int64, bool) {
		if i < from || i >= to {
			return actual(i)
		}
		net := int64(t.cfNet[i])
		return max(net, 0), max(-net, 0), int64(t.cfBatt[i]), int64(t.cfEV[i]), true
	}
}

// history is the track's readings as BuildFlexInputs reads them, without
// the intervals in withheld.
func (t *homeTrack) history(withheld map[int64]bool) func(i int64) (int64, int64, int64, int64, bool) {
	return func(i int64) (int64, int64, int64, int64, bool) {
		if i < 0 || i >= int64(len(t.imp)) || withheld[i] {
			return 0, 0, 0, 0, false
		}
		return int64(t.imp[i]), int64(t.exp[i]), int64(t.batt[i]), int64(t.ev[i]), true
	}
}

// channelWh is interval i of the settled channel, signed as load.
func (t *homeTrack) channelWh(channel uint8, i int64) int64 {
	switch channel {
	case ledger.ChannelBattery:
		return int64(t.batt[i])
	case ledger.ChannelEV:
		return int64(t.ev[i])
	}
	return int64(t.imp[i]) - int64(t.exp[i])
}

// withholdSet is the set of intervals strategy k withholds for one
// complying home, chosen from its honest settlement cr (the home knows its
// baseline: it is computed from its own readings by published rules), or
// nil when the strategy has nothing to withhold.
func (tr *truthRun) withholdSet(k int, t *homeTrack, m truthMethod, e simEventPlan, cr *ledger.FlexCommitmentResult) map[int64]bool {
	g := int64(cr.GuardIntervals)
	first := e.start - g
	delta := func(idx int) int64 {
		iv := cr.Intervals[idx]
		d := iv.BaselineWh - (iv.ImportWh - iv.ExportWh)
		if e.dir == baseline.Up {
			d = -d
		}
		return d
	}
	worst := func(from, to int) map[int64]bool {
		if from >= to {
			return nil
		}
		w := from
		for idx := from; idx < to; idx++ {
			if delta(idx) < delta(w) {
				w = idx
			}
		}
		return map[int64]bool{first + int64(w): true}
	}
	tod := e.start - tr.cal.DayStart(tr.cal.DayOf(e.start))
	switch k {
	case withholdEvent:
		return worst(int(g), len(cr.Intervals))
	case withholdGuard:
		return worst(0, int(g))
	case withholdBaselineDays:
		if len(cr.SelectedDays) < 2 {
			return nil
		}
		wins := make([]int64, len(cr.SelectedDays))
		var sum int64
		for x, d := range cr.SelectedDays {
			for i := tr.cal.DayStart(d) + tod; i < tr.cal.DayStart(d)+tod+e.end-e.start; i++ {
				wins[x] += t.channelWh(m.channel, i)
			}
			sum += wins[x]
		}
		out := map[int64]bool{}
		for x, d := range cr.SelectedDays {
			n := int64(len(wins))
			if (e.dir == baseline.Down && wins[x]*n < sum) || (e.dir == baseline.Up && wins[x]*n > sum) {
				out[tr.cal.DayStart(d)+tod] = true
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case withholdGuardBaseline:
		if g == 0 {
			return nil
		}
		out := map[int64]bool{}
		for d := tr.cal.DayOf(0); d < tr.cal.DayOf(e.posted); d++ {
			out[tr.cal.DayStart(d)+tod-1] = true
		}
		return out
	}
	return nil
}

// withhold settles, for every complying home of the request that settled
// with a baseline, each withholding strategy against the same home sending
// every reading (the request's own settlement fs), in one request per
// strategy with the same terms and escrow.
func (tr *truthRun) withhold(m truthMethod, j int, req *ledger.FlexRequest, pairs []settledPair, fs *ledger.FlexSettlement, params *ledger.Params) ([numWithhold]withholdStats, error) {
	var out [numWithhold]withholdStats
	e := tr.events[j]
	bp := ledger.FlexBaselineParams(req.Terms.Rules)
	for k := range numWithhold {
		r := *req
		r.Commitments = nil
		var inputs []ledger.FlexInputs
		var sent []*ledger.FlexCommitmentResult
		for i := range pairs {
			p, cr := &pairs[i], &fs.Commitments[i]
			if p.honest || p.behaviour != sim.BehaviourComply || cr.Status != uint8(baseline.Settled) {
				continue
			}
			t := tr.tracks[p.track]
			set := tr.withholdSet(k, t, m, e, cr)
			if set == nil {
				continue
			}
			r.Commitments = append(r.Commitments, req.Commitments[i])
			inputs = append(inputs, ledger.BuildFlexInputs(&r.Terms, e.posted, tr.priorStarts(p.track, j), tr.cal, bp, params.FlexGuardIntervals, t.history(set)))
			sent = append(sent, cr)
		}
		if len(inputs) == 0 {
			continue
		}
		hs, err := ledger.SettleFlex(&r, inputs, tr.cal, params)
		if err != nil {
			return out, fmt.Errorf("withholding %d: %w", k, err)
		}
		st := &out[k]
		for i, h := range hs.Commitments {
			s := sent[i]
			gain := h.PaidWh - s.PaidWh
			if st.pairs == 0 || gain > st.maxGainWh {
				st.maxGainWh = gain
			}
			st.pairs++
			st.forfeited += b2i(h.Status == uint8(baseline.Forfeited))
			st.noBaseline += b2i(h.Status == uint8(baseline.NoBaseline))
			st.paidMore += b2i(h.PayoutBaseUnits > s.PayoutBaseUnits)
			st.sentPaidWh += s.PaidWh
			st.heldPaidWh += h.PaidWh
			st.sentSlash += s.SlashBaseUnits
			st.heldSlash += h.SlashBaseUnits
		}
	}
	return out, nil
}

// sample turns a settled pair into an AgainstTruth sample.
func (p settledPair) sample() Sample {
	return Sample{TrueWh: p.trueWh, EstimatedWh: p.estWh, PaidWh: p.paidWh, CommittedWh: p.committedWh, NetWh: p.netWh}
}

// runTruth simulates, settles and prints the against-truth report for
// cfg, then repeats the simulation for seeds more population and event
// seeds (cfg's seed + 1, + 2, …) and prints their headline figures.
func runTruth(w io.Writer, cfg truthConfig, seeds int) error {
	tr, err := simulateTruth(cfg)
	if err != nil {
		return err
	}
	tr.print(w)
	runs := []*truthRun{tr}
	for k := 1; k <= seeds; k++ {
		c := cfg
		c.Pop.Seed, c.EventSeed = cfg.Pop.Seed+uint64(k), cfg.EventSeed+uint64(k)
		r, err := simulateTruth(c)
		if err != nil {
			return fmt.Errorf("seed %d: %w", c.Pop.Seed, err)
		}
		r.tracks = nil // the readings are no longer needed
		runs = append(runs, r)
	}
	if seeds > 0 {
		printSeeds(w, runs)
	}
	return nil
}

// printSeeds prints each method's headline figures for every run.
func printSeeds(w io.Writer, runs []*truthRun) {
	fmt.Fprintf(w, "## Other seeds\n\n")
	fmt.Fprintf(w, "The headline figures again for %d populations and event plans (the same sizes, seeds %d–%d; the first is the run above). \"Inflated-day excess\" is gaming − honest paid − true over the gaming pairs whose baseline averaged a day the home inflated.\n\n",
		len(runs), runs[0].cfg.Pop.Seed, runs[len(runs)-1].cfg.Pop.Seed)
	fmt.Fprintln(w, "| method | seed | events | n | no baseline | bias Wh | bias % | relative RMSE % | false payouts | gaming pairs | gaming paid − true Wh | gaming − honest: paid − true Wh | inflated-day excess Wh (pairs) | withholding pairs paid more (of) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for mi, m := range runs[0].methods {
		for _, r := range runs {
			var s []Sample
			nb := 0
			var with []settledPair
			for _, p := range r.pairs[mi] {
				if p.honest || p.usedGamedDay {
					with = append(with, p)
				}
				if p.honest {
					continue
				}
				if p.noBaseline {
					nb++
					continue
				}
				s = append(s, p.sample())
			}
			st := AgainstTruth(s)
			g := gamingSummary(r.pairs[mi], sim.BehaviourGame)
			gi := gamingSummary(with, sim.BehaviourGame)
			var wh withholdStats
			for _, h := range r.held[mi] {
				wh.add(h)
			}
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %+.0f | %s | %s | %s | %d | %+.0f | %+.0f | %+.0f (%d) | %d of %d |\n", m.name, r.cfg.Pop.Seed, len(r.events), st.N, nb,
				st.BiasWh, pct(st.BiasPct), unsigned(st.CVRMSEPct), share(st.FalsePaid, st.Nothing), g.n, g.meanPaid-g.meanTrue, g.excess, gi.excess, gi.n, wh.paidMore, wh.pairs)
		}
	}
	fmt.Fprintln(w)
}

func (tr *truthRun) print(w io.Writer) {
	cfg := tr.cfg
	var nPV, nBat, nEV, nFlex, nNone int
	var nBeh [4]int
	for _, t := range tr.tracks[:tr.nPop] {
		c := t.cfg
		nPV += b2i(c.PVNameplateW > 0)
		nBat += b2i(t.hasBattery)
		nEV += b2i(t.hasEV)
		nFlex += b2i(t.flexW > 0)
		nNone += b2i(!t.has)
		nBeh[c.Behaviour]++
	}
	var nDown, nUp int
	var nPost [numPostings]int
	for _, e := range tr.events {
		if e.dir == baseline.Down {
			nDown++
		} else {
			nUp++
		}
		nPost[e.posting]++
	}
	fmt.Fprintf(w, "# Baseline accuracy against truth (simulated homes)\n\n")
	fmt.Fprintf(w, "Generated by `go run ./bench/mv` (flags `-homes %d -days %d -seed %d`).\n\n", cfg.Pop.Homes, cfg.Days, cfg.Pop.Seed)
	fmt.Fprintf(w, "The simulator runs every home next to a twin with no dispatch and no gaming (same seed, weather and household), so the true delivered energy of each (home, event) is known; the estimate is what the chain computes.\n\n")
	fmt.Fprintf(w, "Setup:\n\n")
	fmt.Fprintf(w, "- Population: `meter.DefaultPopulation(%d, %d)` around Sacramento: %d with PV, %d with a battery, %d with an EV charger, %d with a flexible load, %d with none of the three (they never commit). Behaviours: %d comply, %d partial, %d ignore, %d game.\n",
		cfg.Pop.Seed, cfg.Pop.Homes, nPV, nBat, nEV, nFlex, nNone, nBeh[sim.BehaviourComply], nBeh[sim.BehaviourPartial], nBeh[sim.BehaviourIgnore], nBeh[sim.BehaviourGame])
	fmt.Fprintf(w, "- Time: %d days of 15-minute intervals from Monday 2 June 2025, 00:00 PST (calendar at UTC−8, no holidays); the first %d days have no events, so a 10-in-10 baseline has its days.\n", cfg.Days, cfg.WarmupDays)
	fmt.Fprintf(w, "- Events (seed %d): %d down (evening, start 16:00–18:00, 2–4 h, on 40 %% of weekdays and 15 %% of weekend days) and %d up (start 11:00 or 12:00, 2–3 h, on 15 %% of days, to soak up PV); %d %s, %d %s, %d %s. Every home with a battery, EV charger or flexible load is dispatched with `Home.Schedule` on each of them (down: battery discharge at its full power, charger pause, flexible load curtailed by its nameplate; up: battery charge at full power) and commits to every event it can serve.\n",
		cfg.EventSeed, nDown, nUp, nPost[0], postingNames[0], nPost[1], postingNames[1], nPost[2], postingNames[2])
	fmt.Fprintf(w, "- Committed W: the home's dispatchable capacity on the settled channel (whole site down: battery power + charger power + flexible-load nameplate; whole site up and battery channel: battery power; EV channel: charger power). Price 1 FLX/kWh; payouts capped at the commitment (`FlexPayoutCapPpm` = 100 %%); escrow large enough that no claim is scaled.\n")
	fmt.Fprintf(w, "- Estimate: one request per (event, method) with every committing home, settled by `ledger.BuildFlexInputs` (history over the homes' import, export, battery charge − discharge and EV channels; every reading present) and `ledger.SettleFlex` with `ledger.DefaultParams()` and the default baseline rules (missing data never pays: a missing reading the settlement reads forfeits the commitment, baseline days are chosen as if all data were present). Prior event days as the ledger keeps them: each home's event starts that settled before, at most the newest %d.\n", maxSiteEvents)
	fmt.Fprintf(w, "- Truth: twin − actual over the window, signed for the direction: net grid import for the whole-site methods (`SimInterval.DeliveredWh`), battery charge − discharge for the battery channel, EV charging for the EV channel. The twin never had any dispatch, so an earlier event's after-effects (a battery not yet refilled, a flexible load still recovering) count as part of the truth.\n")
	fmt.Fprintf(w, "- Estimated = the settlement's DeliveredWh (the net of the signed interval deltas, floored at 0 once per event). Bias = mean(estimated − true); bias %% and relative RMSE %% are relative to the mean true delivery. Settlements under the NoBaseline rule are counted apart and left out of the statistics.\n")
	fmt.Fprintf(w, "- Did nothing: true delivered ≤ 1 %% of the committed Wh (that includes every Ignore pair, whose true delivery is exactly 0, and complying homes whose device had nothing to give, e.g. a charger paused with no car plugged in). A false payout is such a pair with PaidWh > 0.\n\n")

	for mi, m := range tr.methods {
		ps := tr.pairs[mi]
		fmt.Fprintf(w, "## %s\n\n%s.\n\n", m.name, m.rules)
		var rows []AccuracyRow
		add := func(label string, keep func(p settledPair) bool) {
			var s []Sample
			nb := 0
			for _, p := range ps {
				if p.honest || !keep(p) {
					continue
				}
				if p.noBaseline {
					nb++
					continue
				}
				s = append(s, p.sample())
			}
			if len(s) > 0 || nb > 0 {
				rows = append(rows, AccuracyRow{Label: label, NoBaseline: nb, Stats: AgainstTruth(s)})
			}
		}
		add("all", func(settledPair) bool { return true })
		for _, b := range []sim.Behaviour{sim.BehaviourComply, sim.BehaviourPartial, sim.BehaviourIgnore, sim.BehaviourGame} {
			add("behaviour "+b.String(), func(p settledPair) bool { return p.behaviour == b })
		}
		for _, dir := range []baseline.Direction{baseline.Down, baseline.Up} {
			add(dir.String()+" events", func(p settledPair) bool { return tr.events[p.event].dir == dir })
		}
		for k := range numPostings {
			add(postingNames[k], func(p settledPair) bool { return tr.events[p.event].posting == k })
		}
		printAccuracyTable(w, rows)
		used, settled, adj, late := 0, 0, 0, 0
		var usedS, otherS []Sample
		for _, p := range ps {
			if !p.honest && !p.noBaseline {
				settled++
				used += b2i(p.usedEventDay)
				adj += b2i(p.adjusted)
				late += b2i(tr.events[p.event].posting == postHourBefore)
				if p.usedEventDay {
					usedS = append(usedS, p.sample())
				} else {
					otherS = append(otherS, p.sample())
				}
			}
		}
		fmt.Fprintln(w)
		if m.method != baseline.MethodDevice {
			fmt.Fprintf(w, "Day-of adjustment applied in %d of the %d settlements of requests posted 1 h before the window (a ratio adjustment is skipped when the adjustment window's net import is ≤ 0, as for a home exporting PV).\n\n", adj, late)
		}
		if used > 0 {
			fmt.Fprintf(w, "Settlements whose baseline averaged one of the home's own earlier event days, fallen off the ledger's %d-entry list of a site's events: %d of %d, bias before the floor %+.0f Wh (the others: %+.0f Wh).\n\n",
				maxSiteEvents, used, settled, AgainstTruth(usedS).NetBiasWh, AgainstTruth(otherS).NetBiasWh)
		}
	}

	tr.printPortfolio(w)
	fmt.Fprintf(w, "## Gaming homes: paid against truly delivered\n\n")
	fmt.Fprintf(w, "A gaming home complies in the window, but once an event is posted it raises its load (by its `GameExtraW`, 500–2000 W) at the window's time of day on the days before it, and in the 2 h before the window charges its battery from the grid or raises its load. Each gaming home was also simulated a second time, complying honestly (same seed, key, weather and events). \"Paid > true\" counts pairs paid more Wh than the window's true delivery; \"true from posting\" also counts what the home drew to game between the posting and the window (negative delivery). The complying homes' row is the reference: paid > true from baseline noise alone. Settlement includes the pre-event guard (ledger FlexGuardIntervals, 2 h before the window and after the posting): energy drawn above the baseline there is netted against delivery and a reduction there is not paid, so a gaming home loses what it drew to game, and an honest home loses the negative part of its pre-window noise (the complying row's paid − true).\n\n")
	fmt.Fprintln(w, "| method | homes | pairs | no baseline | mean true Wh | mean true from posting Wh | mean paid Wh | paid − true Wh | paid − true from posting Wh | pairs paid > true | max paid − true Wh | honest rerun: true Wh | honest rerun: paid Wh | gaming − honest: paid Wh | gaming − honest: paid − true Wh | pairs gaming paid > honest (max Wh) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for mi, m := range tr.methods {
		g := gamingSummary(tr.pairs[mi], sim.BehaviourGame)
		c := gamingSummary(tr.pairs[mi], sim.BehaviourComply)
		fmt.Fprintf(w, "| %s: gaming | %d | %d | %d | %.0f | %.0f | %.0f | %+.0f | %+.0f | %d (%s) | %+d | %.0f | %.0f | %+.0f | %+.0f | %d of %d (%d) |\n", m.name, g.homes, g.n, g.noBaseline,
			g.meanTrue, g.meanTruePosted, g.meanPaid, g.meanPaid-g.meanTrue, g.meanPaid-g.meanTruePosted, g.over, share(g.over, g.n), g.maxOver,
			g.honestTrue, g.honestPaid, g.gain, g.excess, g.gained, g.matched, g.maxGain)
		fmt.Fprintf(w, "| %s: complying (reference) | %d | %d | %d | %.0f | %.0f | %.0f | %+.0f | %+.0f | %d (%s) | %+d | — | — | — | — | — |\n", m.name, c.homes, c.n, c.noBaseline,
			c.meanTrue, c.meanTruePosted, c.meanPaid, c.meanPaid-c.meanTrue, c.meanPaid-c.meanTruePosted, c.over, share(c.over, c.n), c.maxOver)
	}
	fmt.Fprintln(w)
	for mi, m := range tr.methods {
		if m.channel != ledger.ChannelBattery {
			continue
		}
		var over [2]int
		var n [2]int
		var most [2]int64
		for _, p := range tr.pairs[mi] {
			k := -1
			switch {
			case p.behaviour == sim.BehaviourGame && !p.honest:
				k = 0
			case p.behaviour == sim.BehaviourComply && !p.honest:
				k = 1
			}
			if k < 0 || p.noBaseline {
				continue
			}
			n[k]++
			if p.paidWh > max(p.siteTrueWh, 0) {
				over[k]++
				most[k] = max(most[k], p.paidWh-max(p.siteTrueWh, 0))
			}
		}
		fmt.Fprintf(w, "%s settlements are capped by the proof (`baseline.BatteryProvenWh`: the battery energy that provably reached the grid). Its guarantee is against the whole site's true delivery, the grid's view, when only the battery was dispatched. Here every device of a home is dispatched at once and the table's truth is the battery's own, so a paused charger or curtailed load in the same window can lift the site's export, and so the proof, above the battery's truth. The proof also assumes the site's other loads in the window are no higher than they would have been: a gaming home raising its load in this window's hours to inflate a later event's baseline, or a car or flexible load catching up after an earlier event, can leave the true delivery below the proof. Against the whole site's truth, paid > true in %d of %d gaming pairs (most %d Wh) and %d of %d complying pairs (most %d Wh).\n\n",
			m.name, over[0], n[0], most[0], over[1], n[1], most[1])
	}
	tr.printWithholding(w)
	fmt.Fprintf(w, "The same by posting (whole-site methods; the device methods gain only the energy pre-charged into the battery): gaming − honest paid Wh / gaming − honest paid − true Wh / pairs paid > true:\n\n")
	fmt.Fprintln(w, "| method | "+strings.Join(postingNames[:], " | ")+" |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: |")
	for mi, m := range tr.methods[:2] {
		fmt.Fprintf(w, "| %s |", m.name)
		for k := range numPostings {
			var sel []settledPair
			for _, p := range tr.pairs[mi] {
				if tr.events[p.event].posting == k {
					sel = append(sel, p)
				}
			}
			g := gamingSummary(sel, sim.BehaviourGame)
			fmt.Fprintf(w, " %+.0f / %+.0f / %d of %d |", g.gain, g.excess, g.over, g.n)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Baseline days a gaming home inflated: an event posted the day before makes the posting day a normal (non-event) day on which the gaming home raised its load in the window's hours, so it can enter later events' baselines. Gaming − honest paid − true, Wh per pair, split by whether the baseline averaged such a day:\n\n")
	fmt.Fprintln(w, "| method | pairs with an inflated day | excess | pairs without | excess |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	for mi, m := range tr.methods[:2] {
		var with, without []settledPair
		for _, p := range tr.pairs[mi] {
			if p.usedGamedDay {
				with = append(with, p)
			} else {
				without = append(without, p)
			}
		}
		a, b := gamingSummary(with, sim.BehaviourGame), gamingSummary(without, sim.BehaviourGame)
		fmt.Fprintf(w, "| %s | %d | %+.0f | %d | %+.0f |\n", m.name, a.n, a.excess, b.n, b.excess)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Events:\n\n| # | local day | direction | window (PST) | posting | homes dispatched |\n| ---: | --- | --- | --- | --- | ---: |\n")
	perHour := int64(3600 / simIntervalS)
	for j, e := range tr.events {
		d := tr.cal.DayOf(e.start)
		n := 0
		for _, t := range tr.tracks[:tr.nPop] {
			n += b2i(t.takesPart(e.dir))
		}
		sod := e.start - tr.cal.DayStart(d)
		fmt.Fprintf(w, "| %d | %s | %s | %02d:00–%02d:00 | %s | %d |\n", j+1, time.Unix(d*86400, 0).UTC().Format("Mon 2006-01-02"), e.dir,
			sod/perHour, (sod+e.end-e.start)/perHour, postingNames[e.posting], n)
	}
	fmt.Fprintln(w)
}

// printWithholding prints the withholding pairs of every method and
// strategy.
func (tr *truthRun) printWithholding(w io.Writer) {
	fmt.Fprintf(w, "## Withholding readings: paid against the same home sending every reading\n\n")
	fmt.Fprintf(w, "Every complying home whose honest settlement had a baseline is settled once more per strategy with the chosen readings withheld (the home knows its baseline: the chain computes it from the home's own readings by published rules), against itself sending every reading (same home, event, terms and escrow). Before issue 17 a missing window or guard reading was charged only its interval's committed Wh (that pays only where the withheld reading was worse than a full miss, which a complying home rarely has: ledger TestMissingEventReadingNeverPays shows one), a gap on a baseline day made the rule take the next older day, and a guard without baseline days was dropped; the last two paid complying homes in most pairs (RESULTS.md, \"Before the fix\"). Now a missing reading the settlement reads forfeits the commitment (nothing paid, the bond slashed as at zero performance; these simulated commitments carry no bond, so the slash columns stay 0). The device method's guard is a meter-before level on the event day (the guard's window starts at its own posting), so the guard's-baseline strategy withholds nothing it reads when a request is posted 1 h before the window: those pairs settle exactly as with every reading sent. Pairs paid more must be 0 in every row, and for every seed (last column of the seeds table).\n\n")
	fmt.Fprintln(w, "| method | strategy | pairs | forfeited | no baseline | pairs paid more than sending all | most gained Wh | mean paid Wh, all sent | mean paid Wh, withheld | slashed, all sent (FLX) | slashed, withheld (FLX) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for mi, m := range tr.methods {
		for k := range numWithhold {
			st := tr.held[mi][k]
			if st.pairs == 0 {
				fmt.Fprintf(w, "| %s | %s | 0 | — | — | — | — | — | — | — | — |\n", m.name, withholdNames[k])
				continue
			}
			n := float64(st.pairs)
			fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %+d | %.0f | %.0f | %.1f | %.1f |\n", m.name, withholdNames[k], st.pairs, st.forfeited, st.noBaseline,
				st.paidMore, st.maxGainWh, float64(st.sentPaidWh)/n, float64(st.heldPaidWh)/n, float64(st.sentSlash)/1e6, float64(st.heldSlash)/1e6)
		}
	}
	fmt.Fprintln(w)
}

// withholdTotals sums a run's withholding pairs over methods and
// strategies.
func (tr *truthRun) withholdTotals() withholdStats {
	var t withholdStats
	for _, hs := range tr.held {
		for _, h := range hs {
			t.add(h)
		}
	}
	return t
}

type gaming struct {
	homes, n, noBaseline, over           int
	maxOver                              int64
	meanTrue, meanTruePosted, meanPaid   float64
	honestTrue, honestPaid, gain, excess float64
	// matched: gaming pairs with an honest rerun; gained: of those, the
	// pairs where gaming was paid more than honesty, by at most maxGain Wh.
	matched, gained int
	maxGain         int64
}

// gamingSummary summarises the settled pairs of homes with behaviour b and,
// for gaming homes, their honest reruns (paired by home and event).
func gamingSummary(ps []settledPair, b sim.Behaviour) gaming {
	var g gaming
	homes := map[int]bool{}
	type key struct{ home, event int }
	honest := map[key]settledPair{}
	for _, p := range ps {
		if p.honest {
			honest[key{p.home, p.event}] = p
		}
	}
	var sumT, sumTP, sumP, sumGP, sumGT, sumHT, sumHP float64
	nh := 0
	for _, p := range ps {
		if p.honest || p.behaviour != b {
			continue
		}
		if p.noBaseline {
			g.noBaseline++
			continue
		}
		homes[p.home] = true
		g.n++
		sumT += float64(p.trueWh)
		sumTP += float64(p.truePostedWh)
		sumP += float64(p.paidWh)
		if p.paidWh > p.trueWh {
			g.over++
		}
		if g.n == 1 || p.paidWh-p.trueWh > g.maxOver {
			g.maxOver = p.paidWh - p.trueWh
		}
		if h, ok := honest[key{p.home, p.event}]; ok && !h.noBaseline {
			nh++
			if d := p.paidWh - h.paidWh; d > 0 {
				g.gained++
				g.maxGain = max(g.maxGain, d)
			}
			sumGP += float64(p.paidWh)
			sumGT += float64(p.trueWh)
			sumHT += float64(h.trueWh)
			sumHP += float64(h.paidWh)
		}
	}
	g.homes = len(homes)
	if g.n > 0 {
		n := float64(g.n)
		g.meanTrue, g.meanTruePosted, g.meanPaid = sumT/n, sumTP/n, sumP/n
	}
	g.matched = nh
	if nh > 0 {
		g.honestTrue, g.honestPaid = sumHT/float64(nh), sumHP/float64(nh)
		g.gain = (sumGP - sumHP) / float64(nh) // over the matched pairs
		g.excess = (sumGP - sumGT - sumHP + sumHT) / float64(nh)
	}
	return g
}

func share(k, n int) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f %%", float64(k)/float64(n)*100)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// printPortfolio prints, per method, the portfolio's delivered energy per
// event against the truth: for each (event, method) request, Σ estimated
// over Σ true delivered Wh of the dispatched homes (settlements with a
// baseline, honest reruns left out), and the median and spread of that
// error over the events.
func (tr *truthRun) printPortfolio(w io.Writer) {
	mode := "every committed home dispatched (no control group)"
	if tr.cfg.ControlPPM > 0 {
		mode = fmt.Sprintf("a control group of %d ppm per request, its trimmed-mean placebo subtracted from every dispatched home's net delta", tr.cfg.ControlPPM)
	}
	fmt.Fprintf(w, "## Portfolio per event\n\n%s. Per (event, method): (Σ estimated − Σ true) / Σ true over the dispatched homes' settlements with a baseline; events with Σ true ≤ 0 are left out.\n\n", mode)
	fmt.Fprintln(w, "| method | events | median error % | 10th pct % | 90th pct % | events within ±5 % | Σ est / Σ true, all events % |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for mi, m := range tr.methods {
		est := map[int]int64{}
		tru := map[int]int64{}
		var events []int
		var allEst, allTrue int64
		for _, p := range tr.pairs[mi] {
			if p.honest || p.noBaseline {
				continue
			}
			if _, ok := tru[p.event]; !ok {
				events = append(events, p.event)
			}
			est[p.event] += p.estWh
			tru[p.event] += p.trueWh
			allEst += p.estWh
			allTrue += p.trueWh
		}
		var errs []float64
		for _, e := range events {
			if tru[e] > 0 {
				errs = append(errs, 100*float64(est[e]-tru[e])/float64(tru[e]))
			}
		}
		if len(errs) == 0 {
			continue
		}
		slices.Sort(errs)
		q := func(f float64) float64 { return errs[int(f*float64(len(errs)-1)+0.5)] }
		within := 0
		for _, x := range errs {
			if x >= -5 && x <= 5 {
				within++
			}
		}
		fmt.Fprintf(w, "| %s | %d | %+.2f | %+.2f | %+.2f | %d | %.2f |\n", m.name, len(errs), q(0.5), q(0.1), q(0.9), within, 100*float64(allEst)/float64(max(allTrue, 1)))
	}
	fmt.Fprintln(w)
}
