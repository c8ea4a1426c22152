// Package sim is the home simulator: the devnet's and the tests' default
// source of readings, with ground truth. It is also a device family
// ("sim") of meter.Open, so a simulated home is just another adapter.
//
// A simulated Home has rooftop PV (solar geometry for its latitude,
// longitude and date, a clear-sky model, seeded cloud variation, inverter
// clipping at the AC limit), a household load (daily and weekly shape,
// seeded noise and appliance spikes), optionally a flexible load (a water
// heater or heat pump that can curtail and later recovers what it missed),
// a home battery (power and capacity limits, round-trip efficiency, state of
// charge, self-consumption control) and an EV charger (seeded arrival and
// departure sessions).
//
// Time is virtual. A home is stepped interval by interval (Step), each
// interval in one-minute sub-steps for the battery and EV physics, and
// produces the interval's energies directly, not by sampling: 1,000 homes
// for a simulated day take well under a second (signing the readings is the
// expensive part; see BenchmarkSimReadings). The same home is also a set of
// device adapters (Devices: a grid meter, PV inverter, battery, EV charger
// and flexible load implementing the capability interfaces of device.go),
// so the node's reading path and the integrator can be driven by it: a
// caller advances one sub-step at a time with Advance and reads the
// instantaneous powers and lifetime counters as it would from hardware.
// Registered as device kind "sim" (sim_adapter.go), a home is one
// Device that follows the node's real clock, for `gridmint run` and the
// devnet. HomeConfig.Capabilities is what the site registers, and every
// simulated reading passes CheckPlausible against it.
//
// Ground truth. Every home runs a twin in lockstep: the same seed, the same
// weather, the same household, but no dispatch and no gaming. Each
// Interval carries both the actual energies (what the meter reports) and
// the counterfactual ones (what the home would have done without the
// request), so the error of any baseline method against the truth can be
// measured. Randomness never depends on what the home did: every random
// value is a pure function of (seed, stream, time) — a math/rand/v2 PCG
// seeded with the seed and the time index, used as a counter-based
// generator — so the home and its twin see identical noise, a home can be
// rebuilt at any interval, and dispatching one home never changes another.
//
// Behaviour. Each home answers a dispatch in its configured way: Comply
// (does what is asked), Partial (does PartialPpm of it), Ignore (accepts the
// request and does nothing) or Game (complies during the window, but after
// the event is posted raises its load at the window's time of day on the
// days before it, to inflate a "10 in 10" baseline, and in the two hours
// before the window charges its battery from the grid or raises its load,
// to inflate a day-of adjustment). Dispatches come either from a schedule
// (Schedule, for the devnet's utility) or from the node through an adapter
// (Dispatch on the battery, charger or flexible-load device); every one is
// kept in the home's actuation log and logged with slog.
//
// Determinism. The simulator is not a state transition, but its output must
// be the same for a seed on amd64 and arm64 (tests compare readings byte for
// byte). So the physics is integer: power in W, energy in J (W·s) inside an
// interval and whole Wh at its end, ratios in ppm, angles in micro-degrees,
// sine from a table (sim_sun.go). There is no float anywhere in the
// simulator, hence no fused multiply-add or libm result that could differ
// between architectures.
//
// Energy balance. Inside a sub-step the grid takes what is left:
// grid = load + battery charge + EV − PV − battery discharge, imported when
// positive, exported when negative, so within an interval both import and
// export can be non-zero. Each channel's interval Wh is the difference of
// its floored lifetime counter, so rounding never loses or creates energy
// across intervals; import is then derived from the rounded channels, so
// that every reading balances exactly:
// HouseLoadWh() == the true house load Wh of the interval, and it is >= 0.
//
// Tests (sim_test.go, sim_solar_test.go, sim_golden_test.go): a simulated
// year of a mixed neighbourhood checked every interval (PV zero at night
// and within the inverter limit, battery within its power and capacity,
// EV within the charger, balance exact, twin equal to the home when nothing
// is dispatched, battery energy conserved over the year); the clear-sky PV
// peak within an hour of solar noon at four sites and five dates; clipping;
// the sun against float NOAA/Meeus and against meter/solar, and every PV
// interval against meter/solar's night check; each behaviour's response to
// a battery, charger and flexible-load dispatch; the twin against a replay
// without the dispatch; the device adapters; byte-identical readings for a
// seed and for any number of workers; and a golden digest of a simulated
// day that must match on amd64, arm64 and arm.
package sim

import (
	"github.com/gridmint/gridmint/meter"

	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gridmint/gridmint/wallet"
)

// SubStepS is the length of one simulation sub-step in seconds.
const SubStepS = 60

// Behaviour is how a simulated home answers a dispatch.
type Behaviour uint8

// Behaviours.
const (
	BehaviourComply  Behaviour = iota // does what the dispatch asks
	BehaviourPartial                  // does PartialPpm of what it asks
	BehaviourIgnore                   // accepts it and does nothing
	BehaviourGame                     // complies, but inflates its baseline once the event is posted
)

func (b Behaviour) String() string {
	switch b {
	case BehaviourComply:
		return "comply"
	case BehaviourPartial:
		return "partial"
	case BehaviourIgnore:
		return "ignore"
	case BehaviourGame:
		return "game"
	}
	return fmt.Sprintf("behaviour(%d)", uint8(b))
}

// Simulator errors.
var (
	ErrConfig              = errors.New("meter: invalid simulator configuration")
	ErrUnsupportedDispatch = errors.New("meter: device cannot perform this dispatch")
	ErrDispatchExpired     = errors.New("meter: dispatch ends before the current time")
	ErrNothingToSign       = errors.New("meter: no closed interval to sign")
)

// Clock places the simulation in time: interval i covers
// [GenesisUnix + i·IntervalS, GenesisUnix + (i+1)·IntervalS) in UTC.
type Clock struct {
	GenesisUnix int64  // start of interval 0, Unix seconds
	IntervalS   int64  // interval length, a multiple of SubStepS (default 900)
	Start       uint64 // the first interval the home simulates
}

// IntervalStart returns the Unix second at which interval i starts.
func (c Clock) IntervalStart(i uint64) int64 { return c.GenesisUnix + int64(i)*c.IntervalS }

// IntervalAt returns the index of the interval containing Unix second s
// (s must not be before genesis).
func (c Clock) IntervalAt(s int64) uint64 { return uint64((s - c.GenesisUnix) / c.IntervalS) }

func (c Clock) validate() error {
	if c.IntervalS <= 0 || c.IntervalS%SubStepS != 0 || c.IntervalS > 86400 {
		return fmt.Errorf("%w: interval %d s is not a positive multiple of %d s up to a day", ErrConfig, c.IntervalS, SubStepS)
	}
	// The ephemeris arithmetic is exact up to about the year 2500.
	const maxUnix = 1 << 34
	if c.GenesisUnix < 0 || c.GenesisUnix >= maxUnix || c.Start >= uint64(maxUnix-c.GenesisUnix)/uint64(c.IntervalS) {
		return fmt.Errorf("%w: genesis %d s and start interval %d outside 1970–2514", ErrConfig, c.GenesisUnix, c.Start)
	}
	return nil
}

// HomeConfig describes one simulated home. A zero size leaves the device
// out: PVNameplateW 0 means no PV, BatteryCapacityWh 0 no battery,
// EVChargerW 0 no EV charger, FlexW 0 no flexible load.
type HomeConfig struct {
	LatE6, LonE6 int64 // location, micro-degrees

	PVNameplateW int64 // DC nameplate of the array
	InverterACW  int64 // inverter AC limit; output is clipped here (<= nameplate)

	BatteryCapacityWh   int64
	BatteryMaxW         int64 // charge and discharge power limit (AC side)
	BatteryRoundTripPpm int64 // round-trip efficiency, e.g. 900_000
	BatteryInitSoCPpm   int64 // state of charge at the start

	EVChargerW     int64 // charging power
	EVWeekdayPpm   int64 // chance of an evening session on a weekday
	EVWeekendPpm   int64 // chance of a daytime session on a weekend day
	EVSessionMaxWh int64 // a session needs a uniform 20–100 % of this
	DailyLoadWh    int64 // average household load per day, without EV and flexible load
	FlexW          int64 // flexible load nameplate (water heater, heat pump)
	Behaviour      Behaviour
	PartialPpm     int64 // BehaviourPartial: the share of a dispatch it performs
	GameExtraW     int64 // BehaviourGame: extra load while inflating its baseline
	Seed           uint64
	WeatherSeed    uint64 // clouds; homes in one neighbourhood share it
	ClearSky       bool   // no clouds (for tests of the solar shape)
	DisableNoise   bool   // a smooth load with no noise or spikes (for tests)
	Name           string // for logs; defaults to the site address
	NoAutoBattery  bool   // the battery only moves when dispatched
}

func (c *HomeConfig) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.LatE6 < -89_000_000 || c.LatE6 > 89_000_000:
		return bad("latitude %d µ° out of range", c.LatE6)
	case c.LonE6 < -180_000_000 || c.LonE6 > 180_000_000:
		return bad("longitude %d µ° out of range", c.LonE6)
	case c.PVNameplateW < 0 || c.PVNameplateW > 1_000_000:
		return bad("PV nameplate %d W", c.PVNameplateW)
	case c.PVNameplateW > 0 && (c.InverterACW <= 0 || c.InverterACW > c.PVNameplateW):
		return bad("inverter AC limit %d W must be in (0, nameplate %d W]", c.InverterACW, c.PVNameplateW)
	case c.BatteryCapacityWh < 0 || c.BatteryCapacityWh > 10_000_000:
		return bad("battery capacity %d Wh", c.BatteryCapacityWh)
	case c.BatteryCapacityWh > 0 && (c.BatteryMaxW <= 0 || c.BatteryMaxW > 1_000_000):
		return bad("battery power %d W", c.BatteryMaxW)
	case c.BatteryCapacityWh > 0 && (c.BatteryRoundTripPpm <= 0 || c.BatteryRoundTripPpm > 1_000_000):
		return bad("battery round trip %d ppm", c.BatteryRoundTripPpm)
	case c.BatteryInitSoCPpm < 0 || c.BatteryInitSoCPpm > meter.MaxSoCPpm:
		return bad("battery initial SoC %d ppm", c.BatteryInitSoCPpm)
	case c.EVChargerW < 0 || c.EVChargerW > 350_000:
		return bad("EV charger %d W", c.EVChargerW)
	case c.EVWeekdayPpm < 0 || c.EVWeekdayPpm > 1_000_000 || c.EVWeekendPpm < 0 || c.EVWeekendPpm > 1_000_000:
		return bad("EV session chance out of range")
	case c.EVSessionMaxWh < 0 || c.EVSessionMaxWh > 200_000:
		return bad("EV session energy %d Wh", c.EVSessionMaxWh)
	case c.DailyLoadWh < 0 || c.DailyLoadWh > 1_000_000:
		return bad("daily load %d Wh", c.DailyLoadWh)
	case c.FlexW < 0 || c.FlexW > 100_000:
		return bad("flexible load %d W", c.FlexW)
	case c.Behaviour > BehaviourGame:
		return bad("behaviour %d", c.Behaviour)
	case c.PartialPpm < 0 || c.PartialPpm > 1_000_000:
		return bad("partial share %d ppm", c.PartialPpm)
	case c.GameExtraW < 0 || c.GameExtraW > 100_000:
		return bad("gaming extra load %d W", c.GameExtraW)
	}
	return nil
}

// Capabilities returns what the home's devices can physically do, as the
// site registration declares them and the plausibility checks use them:
// PV at its DC nameplate, the battery at its power and capacity, the
// charger at its power.
func (c HomeConfig) Capabilities() meter.Capabilities {
	return meter.Capabilities{
		PVW: uint64(c.PVNameplateW), BatteryW: uint64(c.BatteryMaxW), BatteryWh: uint64(c.BatteryCapacityWh),
		ChargerW: uint64(c.EVChargerW), LatE6: c.LatE6, LonE6: c.LonE6,
	}
}

// Flows are one interval's energies in whole Wh: the six reading channels,
// the house load they imply and the battery state of charge at the end.
type Flows struct {
	GridImportWh       int64
	GridExportWh       int64
	PVWh               int64
	BatteryChargeWh    int64
	BatteryDischargeWh int64
	EVWh               int64
	LoadWh             int64 // house load including the flexible load, without battery and EV
	BatterySoCPpm      uint32
}

// NetImportWh is import minus export.
func (f Flows) NetImportWh() int64 { return f.GridImportWh - f.GridExportWh }

// Interval is the ground truth of one home for one interval.
type Interval struct {
	Index          uint64
	Actual         Flows // what happened, and what the home's reading reports
	Counterfactual Flows // the twin: the same home with no dispatch and no gaming
	Dispatched     bool  // a dispatch was active during part of the interval
	Gaming         bool  // a gaming home inflated its load during part of the interval
}

// DeliveredWh is the reduction of net import the dispatch caused: positive
// for a home that delivered a "down" request.
func (s Interval) DeliveredWh() int64 {
	return s.Counterfactual.NetImportWh() - s.Actual.NetImportWh()
}

// Event is a scheduled flexibility event as a home sees it: posted at
// one interval, dispatching from Start (inclusive) to End (exclusive).
// PowerW is the battery's discharge or charge power (0 holds the battery
// idle) or the flexible load's curtailment; a charger pause ignores it.
type Event struct {
	Posted, Start, End uint64
	Kind               meter.DispatchKind
	PowerW             int64
}

// Actuation is one entry of a home's actuation log.
type Actuation struct {
	AtUnix    int64 // home time when the dispatch was received
	FromUnix  int64
	UntilUnix int64
	Device    string // "battery", "charger", "flex" or "schedule"
	Kind      meter.DispatchKind
	PowerW    int64
	Behaviour Behaviour
}

// simEvent is an event in seconds.
type simEvent struct {
	postedS, startS, endS int64
	kind                  meter.DispatchKind
	powerW                int64
}

// Channels of a homeState's counters.
const (
	simPV = iota
	simLoad
	simCharge
	simDischarge
	simEV
	simExport
	simImport
	simNumCh
)

// homeState is what differs between a home and its twin.
type homeState struct {
	socJ         int64 // stored energy, J
	evSession    int64 // local day of the session being served, -1 none
	evDeliveredJ int64 // energy delivered in that session
	flexDebtJ    int64 // flexible-load energy curtailed and not yet recovered

	cumJ    [simNumCh]int64 // lifetime energy, J
	emitted [simNumCh]int64 // lifetime energy reported in closed intervals, Wh

	// Powers of the last sub-step (for the device adapters).
	pvW, loadW, batteryW, evW, gridW int64
}

// Home is one simulated home with its twin. Its methods are safe for
// concurrent use (the node's device loop may read adapters while the
// devnet steps the home).
type Home struct {
	mu   sync.Mutex
	cfg  HomeConfig
	clk  Clock
	key  *wallet.PrivateKey
	site meter.SiteID // key's address, derived once
	log  *slog.Logger

	sinLat, cosLat int64     // × 1e9
	eph            simSunEph // the sun's ephemeris for the interval at ephAt
	ephAt          int64
	ephOK          bool

	limitWh [simNumCh]int64 // a device's power × interval, floored (0: no limit)

	effPpm    int64 // one-way battery efficiency, sqrt of the round trip
	capJ      int64
	loadScale int64 // DailyLoadWh relative to the shape tables, ppm

	interval uint64 // the interval being simulated
	sub      int64  // sub-steps of it done
	actual   homeState
	twin     homeState
	events   []simEvent
	actLog   []Actuation
	dispSeen bool // a dispatch was active in the current interval
	gameSeen bool

	last      Interval
	hasLast   bool
	lastSaved bool // last interval already signed
	counter   uint64
	prevHash  [32]byte
}

// NewHome returns a home that starts at clk.Start. key is the site key its
// readings are signed with; log may be nil.
func NewHome(clk Clock, cfg HomeConfig, key *wallet.PrivateKey, log *slog.Logger) (*Home, error) {
	if err := clk.validate(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, fmt.Errorf("%w: no site key", ErrConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name = key.Address().String()
	}

	h := &Home{cfg: cfg, clk: clk, key: key, site: key.Address(), log: log, interval: clk.Start}
	h.capJ = cfg.BatteryCapacityWh * 3600
	h.sinLat, h.cosLat = simSinE9(cfg.LatE6), simCosE9(cfg.LatE6)
	h.limitWh[simPV] = cfg.InverterACW * clk.IntervalS / 3600
	h.limitWh[simCharge] = cfg.BatteryMaxW * clk.IntervalS / 3600
	h.limitWh[simDischarge] = h.limitWh[simCharge]
	h.limitWh[simEV] = cfg.EVChargerW * clk.IntervalS / 3600
	if cfg.BatteryRoundTripPpm > 0 {
		h.effPpm = simISqrt(cfg.BatteryRoundTripPpm * 1_000_000)
	}
	h.loadScale = cfg.DailyLoadWh * 1_000_000 / simLoadTableWh
	init := homeState{socJ: h.capJ * cfg.BatteryInitSoCPpm / meter.MaxSoCPpm, evSession: -1}
	h.actual, h.twin = init, init
	return h, nil
}

// Site returns the home's site id.
func (h *Home) Site() meter.SiteID { return h.site }

// Key returns the home's site key.
func (h *Home) Key() *wallet.PrivateKey { return h.key }

// Config returns the home's configuration.
func (h *Home) Config() HomeConfig { return h.cfg }

// Now returns the home's virtual time.
func (h *Home) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Unix(h.nowS(), 0).UTC()
}

func (h *Home) nowS() int64 { return h.clk.IntervalStart(h.interval) + h.sub*SubStepS }

// Interval returns the index of the interval being simulated (the next one
// Step closes).
func (h *Home) Interval() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.interval
}

// Schedule records a flexibility event. The home acts on it according to
// its behaviour: from Start to End it performs the dispatch, and a gaming
// home starts inflating its baseline from Posted.
func (h *Home) Schedule(e Event) error {
	if e.End <= e.Start || e.Posted > e.Start {
		return fmt.Errorf("%w: event window [%d, %d) posted at %d", ErrConfig, e.Start, e.End, e.Posted)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := simEvent{
		postedS: h.clk.IntervalStart(e.Posted), startS: h.clk.IntervalStart(e.Start),
		endS: h.clk.IntervalStart(e.End), kind: e.Kind, powerW: e.PowerW,
	}
	return h.addEvent("schedule", ev)
}

// addEvent checks the dispatch against the home's devices, records and logs
// it. h.mu is held.
func (h *Home) addEvent(device string, ev simEvent) error {
	switch ev.kind {
	case meter.DispatchBatteryDischarge, meter.DispatchBatteryCharge:
		if h.capJ == 0 {
			return fmt.Errorf("%w: %s has no battery", ErrUnsupportedDispatch, h.cfg.Name)
		}
	case meter.DispatchChargerPause:
		if h.cfg.EVChargerW == 0 {
			return fmt.Errorf("%w: %s has no EV charger", ErrUnsupportedDispatch, h.cfg.Name)
		}
	case meter.DispatchLoadCurtail:
		if h.cfg.FlexW == 0 {
			return fmt.Errorf("%w: %s has no flexible load", ErrUnsupportedDispatch, h.cfg.Name)
		}
	case meter.DispatchNone:
	default:
		return fmt.Errorf("%w: kind %d", ErrUnsupportedDispatch, ev.kind)
	}
	if ev.powerW < 0 {
		return fmt.Errorf("%w: negative dispatch power %d W", ErrConfig, ev.powerW)
	}
	now := h.nowS()
	if ev.kind == meter.DispatchNone {
		// Resume normal operation: end every running dispatch of the device.
		for i := range h.events {
			e := &h.events[i]
			if e.startS <= now && now < e.endS && simDeviceOf(e.kind) == device {
				e.endS = now
			}
		}
	} else {
		h.events = append(h.events, ev)
	}
	if len(h.actLog) >= simMaxActuationLog {
		h.actLog = append(h.actLog[:0], h.actLog[len(h.actLog)-simMaxActuationLog/2:]...)
	}
	h.actLog = append(h.actLog, Actuation{
		AtUnix: now, FromUnix: ev.startS, UntilUnix: ev.endS, Device: device,
		Kind: ev.kind, PowerW: ev.powerW, Behaviour: h.cfg.Behaviour,
	})
	h.log.Debug("sim dispatch", "home", h.cfg.Name, "device", device, "kind", ev.kind,
		"power_w", ev.powerW, "from", ev.startS, "until", ev.endS, "behaviour", h.cfg.Behaviour.String())
	return nil
}

func simDeviceOf(k meter.DispatchKind) string {
	switch k {
	case meter.DispatchBatteryDischarge, meter.DispatchBatteryCharge:
		return "battery"
	case meter.DispatchChargerPause:
		return "charger"
	case meter.DispatchLoadCurtail:
		return "flex"
	}
	return ""
}

// simMaxActuationLog bounds a home's actuation log; past it the older half
// is dropped.
const simMaxActuationLog = 4096

// ActuationLog returns a copy of the dispatches the home received (the
// latest few thousand), oldest first.
func (h *Home) ActuationLog() []Actuation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Actuation(nil), h.actLog...)
}

// Step simulates the rest of the current interval, closes it and returns
// its ground truth.
func (h *Home) Step() Interval {
	h.mu.Lock()
	defer h.mu.Unlock()
	for !h.advance() {
	}
	return h.last
}

// Advance simulates one sub-step (SubStepS seconds). It reports whether
// that closed an interval, whose ground truth Last then returns.
func (h *Home) Advance() (closed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.advance()
}

// Last returns the ground truth of the last closed interval.
func (h *Home) Last() (Interval, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last, h.hasLast
}

// Reading returns the signed reading of the last closed interval, chained
// to the home's previous reading. Each interval is signed once.
func (h *Home) Reading(chainID string) (*meter.Reading, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.hasLast || h.lastSaved {
		return nil, ErrNothingToSign
	}
	a := h.last.Actual
	r := &meter.Reading{
		Site: h.site, Interval: h.last.Index, Counter: h.counter + 1, PrevHash: h.prevHash,
		GridImportWh: uint32(a.GridImportWh), GridExportWh: uint32(a.GridExportWh), PVWh: uint32(a.PVWh),
		BatteryChargeWh: uint32(a.BatteryChargeWh), BatteryDischargeWh: uint32(a.BatteryDischargeWh),
		EVWh: uint32(a.EVWh), BatterySoCPpm: a.BatterySoCPpm,
	}
	// What Reading.Sign does, without deriving the public key twice per
	// reading to check the site (h.site is the key's address by
	// construction): that derivation cost more than the signature.
	sig, err := h.key.SignTyped(meter.ReadingTag, chainID, r.Body())
	if err != nil {
		return nil, fmt.Errorf("home %s: %w", h.cfg.Name, err)
	}
	r.Sig = sig
	h.counter++
	h.prevHash = r.Hash()
	h.lastSaved = true
	return r, nil
}

// ResumeChain continues the home's reading chain from a head the chain
// already holds (its counter and hash): the next reading is counter+1 and
// carries prevHash. A devnet restarted on an existing home calls it with
// each site's head from the ledger, so that its readings are accepted.
func (h *Home) ResumeChain(counter uint64, prevHash [32]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counter, h.prevHash = counter, prevHash
}

// simControl is what the dispatch and the behaviour make a state do in
// one sub-step.
type simControl struct {
	batteryMode  meter.DispatchKind // DispatchNone: self-consumption
	batteryW     int64
	evScalePpm   int64 // 1e6 normal, 0 paused
	flexCurtailW int64
	extraLoadW   int64
	curtailing   bool
}

// simInputs are the exogenous powers of one sub-step, the same for the
// home and its twin.
type simInputs struct {
	pvW     int64
	loadW   int64 // household load without the flexible load
	flexW   int64 // flexible load as scheduled
	evDay   int64 // local day of a session plugged in now, -1 none
	evNeedJ int64
}

// advance runs one sub-step of the home and its twin. h.mu is held.
func (h *Home) advance() bool {
	t := h.nowS()
	in := h.inputs(t)
	ctl, active, gaming := h.control(t)
	if active {
		h.dispSeen = true
	}
	if gaming {
		h.gameSeen = true
	}
	h.actual.step(h, in, ctl)
	h.twin.step(h, in, simControl{evScalePpm: 1_000_000})
	h.sub++
	if h.sub*SubStepS < h.clk.IntervalS {
		return false
	}
	h.last = Interval{
		Index: h.interval, Actual: h.actual.close(h), Counterfactual: h.twin.close(h),
		Dispatched: h.dispSeen, Gaming: h.gameSeen,
	}
	h.hasLast, h.lastSaved = true, false
	h.dispSeen, h.gameSeen = false, false
	h.interval++
	h.sub = 0
	// Forget events that are over.
	now := h.nowS()
	kept := h.events[:0]
	for _, e := range h.events {
		if e.endS > now {
			kept = append(kept, e)
		}
	}
	h.events = kept
	return true
}

// followPpm is the share of a dispatch the home performs.
func (h *Home) followPpm() int64 {
	switch h.cfg.Behaviour {
	case BehaviourPartial:
		return h.cfg.PartialPpm
	case BehaviourIgnore:
		return 0
	}
	return 1_000_000
}

// simGameLeadS is how long before a window a gaming home pre-charges or
// raises its load (the usual day-of adjustment period).
const simGameLeadS = 2 * 3600

// control returns what the home does at t given its events and behaviour.
func (h *Home) control(t int64) (c simControl, active, gaming bool) {
	c.evScalePpm = 1_000_000
	follow := h.followPpm()
	for _, e := range h.events {
		if e.startS <= t && t < e.endS {
			active = true
			p := e.powerW * follow / 1_000_000
			switch e.kind {
			case meter.DispatchBatteryDischarge, meter.DispatchBatteryCharge:
				if follow > 0 {
					c.batteryMode, c.batteryW = e.kind, p
				}
			case meter.DispatchChargerPause:
				c.evScalePpm = 1_000_000 - follow
			case meter.DispatchLoadCurtail:
				c.flexCurtailW = p
				c.curtailing = true
			}
			continue
		}
		if h.cfg.Behaviour != BehaviourGame || t < e.postedS || t >= e.startS {
			continue
		}
		// A gaming home that knows of a coming event.
		if t >= e.startS-simGameLeadS {
			gaming = true
			if h.capJ > 0 && e.kind == meter.DispatchBatteryDischarge && c.batteryMode == meter.DispatchNone {
				c.batteryMode, c.batteryW = meter.DispatchBatteryCharge, h.cfg.BatteryMaxW
			} else {
				c.extraLoadW = h.cfg.GameExtraW
			}
			continue
		}
		// Earlier days: the same time of day as the window.
		tod := simMod(t-e.startS, 86400)
		if tod < e.endS-e.startS {
			gaming = true
			c.extraLoadW = h.cfg.GameExtraW
		}
	}
	return c, active, gaming
}

func simMod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// step runs one sub-step of one state.
func (s *homeState) step(h *Home, in simInputs, c simControl) {
	const dt = SubStepS
	cfg := &h.cfg

	// Flexible load: curtailed power is owed and recovered later, at up to
	// the nameplate, once no curtailment is active.
	flexW := in.flexW
	if c.curtailing {
		cut := min(c.flexCurtailW, flexW)
		flexW -= cut
		s.flexDebtJ += cut * dt
	} else if s.flexDebtJ > 0 {
		extra := min(s.flexDebtJ/dt, cfg.FlexW-flexW)
		if extra > 0 {
			flexW += extra
			s.flexDebtJ -= extra * dt
		}
	}
	loadW := in.loadW + flexW + c.extraLoadW

	// EV: a new session starts from nothing delivered.
	evW := int64(0)
	if in.evDay >= 0 {
		if s.evSession != in.evDay {
			s.evSession, s.evDeliveredJ = in.evDay, 0
		}
		if remaining := in.evNeedJ - s.evDeliveredJ; remaining > 0 {
			evW = min(cfg.EVChargerW, (remaining+dt-1)/dt)
			evW = evW * c.evScalePpm / 1_000_000
			s.evDeliveredJ += evW * dt
		}
	}

	// Battery: positive charges, negative discharges (AC side).
	batW := int64(0)
	if h.capJ > 0 {
		switch c.batteryMode {
		case meter.DispatchBatteryDischarge:
			batW = -c.batteryW
		case meter.DispatchBatteryCharge:
			batW = c.batteryW
		default:
			if !cfg.NoAutoBattery {
				// Self-consumption: soak up the surplus left after the house
				// and the EV; cover the house's deficit, but never charge
				// the car from the home battery (as most installations are
				// set up).
				batW = in.pvW - loadW - evW
				if batW < 0 {
					batW = max(batW, min(in.pvW-loadW, 0))
				}
			}
		}
		batW = max(min(batW, cfg.BatteryMaxW), -cfg.BatteryMaxW)
		if batW > 0 {
			// Stored energy grows by P·dt·η; never beyond capacity.
			room := (h.capJ - s.socJ) * 1_000_000 / (h.effPpm * dt)
			batW = min(batW, room)
			s.socJ += batW * dt * h.effPpm / 1_000_000
		} else if batW < 0 {
			// Delivering P·dt takes P·dt/η out of storage (rounded up, so
			// the battery never delivers energy it did not have).
			avail := s.socJ * h.effPpm / (1_000_000 * dt)
			batW = max(batW, -avail)
			s.socJ -= (-batW*dt*1_000_000 + h.effPpm - 1) / h.effPpm
		}
		s.socJ = max(min(s.socJ, h.capJ), 0)
	}

	gridW := loadW + evW + batW - in.pvW
	s.cumJ[simPV] += in.pvW * dt
	s.cumJ[simLoad] += loadW * dt
	s.cumJ[simEV] += evW * dt
	if batW > 0 {
		s.cumJ[simCharge] += batW * dt
	} else {
		s.cumJ[simDischarge] -= batW * dt
	}
	if gridW > 0 {
		s.cumJ[simImport] += gridW * dt
	} else {
		s.cumJ[simExport] -= gridW * dt
	}
	s.pvW, s.loadW, s.batteryW, s.evW, s.gridW = in.pvW, loadW, batW, evW, gridW
}

// close turns the state's lifetime counters into the interval's Wh.
func (s *homeState) close(h *Home) Flows {
	var wh [simNumCh]int64
	for _, ch := range [...]int{simPV, simLoad, simCharge, simDischarge, simEV, simExport} {
		wh[ch] = max(s.cumJ[ch]/3600-s.emitted[ch], 0)
		// A device never reports more than its power × the interval,
		// rounded down, which is what the plausibility check allows: the
		// difference of floored counters can exceed it by one Wh, which
		// then stays in the counter for the next interval.
		if lim := h.limitWh[ch]; lim > 0 {
			wh[ch] = min(wh[ch], lim)
		}
		s.emitted[ch] += wh[ch]
	}
	// Import is what balances the rounded channels; if rounding makes it
	// negative, the difference goes to export (and export's lifetime
	// counter runs ahead until the true export catches up).
	imp := wh[simLoad] + wh[simCharge] + wh[simEV] - wh[simPV] - wh[simDischarge] + wh[simExport]
	if imp < 0 {
		wh[simExport] -= imp
		s.emitted[simExport] -= imp
		imp = 0
	}
	wh[simImport] = imp
	s.emitted[simImport] += imp
	f := Flows{
		GridImportWh: imp, GridExportWh: wh[simExport], PVWh: wh[simPV],
		BatteryChargeWh: wh[simCharge], BatteryDischargeWh: wh[simDischarge],
		EVWh: wh[simEV], LoadWh: wh[simLoad],
	}
	if h.capJ > 0 {
		f.BatterySoCPpm = uint32(s.socJ * meter.MaxSoCPpm / h.capJ)
	}
	return f
}

// simISqrt is the integer square root (floor).
func simISqrt(n int64) int64 {
	if n <= 0 {
		return 0
	}
	// Start above the root (2^ceil(bits/2) >= sqrt n) and descend by
	// Newton's method: a few steps.
	x := int64(1) << ((bits.Len64(uint64(n)) + 1) / 2)
	y := (x + n/x) / 2
	for y < x {
		x = y
		y = (x + n/x) / 2
	}
	return x
}

// Random streams; each random value is a pure function of (seed, stream, k).
const (
	simStreamLoadHour = iota + 1
	simStreamLoadDay
	simStreamSpike
	simStreamSpikeW
	simStreamEVSession
	simStreamEVArrive
	simStreamEVStay
	simStreamEVEnergy
	simStreamCloudDay
	simStreamCloudVar
)

// simRand returns a uniform 64-bit value for (seed, stream, k): a PCG from
// math/rand/v2 seeded with the pair, used as a counter-based generator.
func simRand(seed, stream uint64, k int64) uint64 {
	var p rand.PCG
	p.Seed(seed^(stream*0x9e3779b97f4a7c15), uint64(k))
	return p.Uint64()
}

// simRandPpm returns a uniform value in [0, 1e6).
func simRandPpm(seed, stream uint64, k int64) int64 {
	return int64((simRand(seed, stream, k) >> 32) * 1_000_000 >> 32)
}

// simNoisePpm is smooth value noise in [0, 1e6): random knots every period
// units of pos, linearly interpolated.
func simNoisePpm(seed, stream uint64, pos, period int64) int64 {
	k := simFloorDiv(pos, period)
	frac := pos - k*period
	a, b := simRandPpm(seed, stream, k), simRandPpm(seed, stream, k+1)
	return a + (b-a)*frac/period
}

// Household load shape, W per local hour for a home using simLoadTableWh a
// day: a night base, a morning peak, a midday plateau and an evening peak;
// weekends have a later morning and a flatter day.
var (
	simLoadWeekdayW = [24]int64{260, 230, 220, 215, 220, 260, 420, 620, 560, 400, 340, 330,
		350, 330, 320, 340, 420, 600, 780, 820, 720, 580, 430, 320}
	simLoadWeekendW = [24]int64{300, 250, 230, 220, 220, 230, 280, 380, 540, 620, 600, 560,
		560, 520, 480, 470, 500, 620, 760, 800, 720, 600, 460, 350}
)

// simLoadTableWh is the daily energy of the weekday table, which defines
// the scale: DailyLoadWh is a weekday's load, and weekends use about 12 %
// more (people are at home).
const simLoadTableWh = 10_085

// Flexible load duty, ppm of its nameplate per local hour (a water heater
// or heat pump: morning and evening).
var simFlexDutyPpm = [24]int64{100_000, 50_000, 50_000, 50_000, 100_000, 300_000, 700_000, 800_000, 500_000, 200_000, 150_000, 150_000,
	150_000, 150_000, 150_000, 200_000, 300_000, 500_000, 700_000, 800_000, 600_000, 400_000, 250_000, 150_000}

// simLocalS is local mean solar time (Unix seconds shifted by longitude):
// household routines follow the sun's clock, not a time zone, which keeps
// the model free of time-zone tables.
func simLocalS(t, lonE6 int64) int64 { return t + lonE6*240/1_000_000 }

// simInterpHour interpolates an hourly table at a local second of the day.
func simInterpHour(tbl *[24]int64, secOfDay int64) int64 {
	hr := secOfDay / 3600
	frac := secOfDay % 3600
	a, b := tbl[hr], tbl[(hr+1)%24]
	return a + (b-a)*frac/3600
}

// inputs computes the exogenous powers at t.
func (h *Home) inputs(t int64) simInputs {
	cfg := &h.cfg
	in := simInputs{evDay: -1}
	local := simLocalS(t, cfg.LonE6)
	day := simFloorDiv(local, 86400)
	sod := local - day*86400
	weekend := simMod(day+4, 7) == 0 || simMod(day+4, 7) == 6 // 1970-01-01 was a Thursday

	// PV: clear-sky irradiance × derate × clouds, clipped at the inverter.
	if cfg.PVNameplateW > 0 {
		if ivStart := h.clk.IntervalStart(h.interval); !h.ephOK || h.ephAt != ivStart {
			h.eph, h.ephAt, h.ephOK = simSunEphemeris(ivStart+h.clk.IntervalS/2), ivStart, true
		}
		sinEl := h.eph.sinElevationE9(h.sinLat, h.cosLat, cfg.LonE6, t+SubStepS/2)
		if cs := simClearSkyPpm(sinEl); cs > 0 {
			cloud := int64(1_000_000)
			if !cfg.ClearSky {
				cloud = simCloudPpm(cfg.WeatherSeed, t)
			}
			// 0.88 system derate (temperature, soiling, wiring), 0.965
			// inverter efficiency.
			dc := cfg.PVNameplateW * cs / 1_000_000 * 880_000 / 1_000_000 * cloud / 1_000_000
			in.pvW = min(dc*965_000/1_000_000, cfg.InverterACW)
		}
	}

	// Household load.
	tbl := &simLoadWeekdayW
	if weekend {
		tbl = &simLoadWeekendW
	}
	base := simInterpHour(tbl, sod) * h.loadScale / 1_000_000
	if !cfg.DisableNoise {
		hourF := 750_000 + simNoisePpm(cfg.Seed, simStreamLoadHour, local, 3600)/2 // 0.75–1.25
		dayF := 850_000 + simRandPpm(cfg.Seed, simStreamLoadDay, day)*3/10         // 0.85–1.15
		base = base * hourF / 1_000_000 * dayF / 1_000_000
		subIdx := simFloorDiv(t, SubStepS)
		if simRandPpm(cfg.Seed, simStreamSpike, subIdx) < 40_000 { // kettle, oven, dryer
			base += 800 + simRandPpm(cfg.Seed, simStreamSpikeW, subIdx)*1700/1_000_000
		}
	}
	if cfg.DailyLoadWh > 0 {
		base = max(base, 60) // fridge, standby
	}
	in.loadW = base
	if cfg.FlexW > 0 {
		in.flexW = cfg.FlexW * simInterpHour(&simFlexDutyPpm, sod) / 1_000_000
	}

	// EV: a session arriving on local day d may run into day d+1.
	if cfg.EVChargerW > 0 {
		for d := day; d >= day-1; d-- {
			arrive, depart, need, ok := h.evSession(d)
			if ok && local >= arrive && local < depart {
				in.evDay, in.evNeedJ = d, need
				break
			}
		}
	}
	return in
}

// evSession returns the EV session of local day d, in local seconds.
func (h *Home) evSession(d int64) (arrive, depart, needJ int64, ok bool) {
	cfg := &h.cfg
	weekend := simMod(d+4, 7) == 0 || simMod(d+4, 7) == 6
	chance := cfg.EVWeekdayPpm
	if weekend {
		chance = cfg.EVWeekendPpm
	}
	if simRandPpm(cfg.Seed, simStreamEVSession, d) >= chance {
		return 0, 0, 0, false
	}
	a := simRandPpm(cfg.Seed, simStreamEVArrive, d)
	s := simRandPpm(cfg.Seed, simStreamEVStay, d)
	if weekend {
		arrive = d*86400 + 10*3600 + a*8*3600/1_000_000 // 10:00–18:00
		depart = arrive + 2*3600 + s*4*3600/1_000_000   // 2–6 h
	} else {
		arrive = d*86400 + 17*3600 + a*3*3600/1_000_000    // 17:00–20:00
		depart = (d+1)*86400 + 6*3600 + s*2*3600/1_000_000 // 06:00–08:00 next day
	}
	e := simRandPpm(cfg.Seed, simStreamEVEnergy, d)
	needJ = cfg.EVSessionMaxWh * 3600 * (200_000 + e*8/10) / 1_000_000
	return arrive, depart, needJ, true
}

// simCloudPpm is the share of clear-sky irradiance reaching the panels:
// a seeded day type (clear, broken cloud, overcast) with fast variation
// around it, the same for every home sharing the weather seed.
func simCloudPpm(seed uint64, t int64) int64 {
	day := simFloorDiv(t, 86400)
	u := simRandPpm(seed, simStreamCloudDay, day)
	var level, amp int64
	switch {
	case u < 450_000: // clear
		level, amp = 900_000+u*100_000/450_000, 60_000
	case u < 800_000: // broken cloud
		level, amp = 450_000+(u-450_000)*450_000/350_000, 700_000
	default: // overcast
		level, amp = 150_000+(u-800_000)*300_000/200_000, 150_000
	}
	n := simNoisePpm(seed, simStreamCloudVar, t, 600) // knots every 10 min
	v := level + amp*(n-500_000)/1_000_000
	return max(min(v, 1_000_000), 50_000)
}
