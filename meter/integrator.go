package meter

// The integrator: from what a device reports (instantaneous power, or a
// lifetime energy counter) to whole Wh per interval, one channel at a time.
//
// Rules it keeps, and the tests that show it (integrator_test.go):
//
//   - No energy is lost or made up by rounding. Energy is kept in units of
//     half a watt-millisecond (7,200,000 units per Wh), in which a trapezoid
//     over millisecond timestamps is an exact integer; an interval reports
//     whole Wh and carries the remainder into the next one.
//   - Power samples are integrated with the trapezoid rule. A segment whose
//     power changes sign is split at the zero crossing of the straight line
//     between its samples, so the + and − directions (import/export,
//     charge/discharge) are each integrated separately; their difference is
//     the exact signed trapezoid.
//   - Counters: the energy is the counter's increase. A counter that goes
//     down is a reset (a replaced or restarted meter, a wrapped register):
//     the integrator re-bases on the new value, counts nothing for that
//     segment and reports the reset. An increase faster than MaxPowerW
//     allows, plus one step of the counter's resolution, is implausible:
//     rejected (an error), re-based, not counted. The resolution matters:
//     a counter that steps by CounterStepWh (a SunSpec inverter with
//     WH_SF = +1 steps by 10 Wh) rises by a whole step between two polls
//     however short the poll, so without that allowance every step at a
//     0.5 s poll would look like megawatts and be thrown away. The bound
//     is exact: a counter truncated to steps of s Wh rises by less than
//     the true energy plus s over any segment.
//   - A segment that crosses interval boundaries is split in proportion to
//     time (for a trapezoid this differs from the exact split by at most
//     |p2 − p1|·dt/8, which the next interval receives: nothing is lost).
//   - A gap (two samples further apart than MaxGap, which includes a node
//     clock that jumped forward) is reported, not invented: no energy is
//     counted across it and the intervals it touches are incomplete
//     (Covered < the interval length, Gaps > 0). Intervals that lie wholly
//     inside a gap are never emitted: no data, no interval.
//   - A sample that is not after the previous one (the node clock jumped
//     backward) is rejected with ErrClockBackward and counted in Rejected;
//     the integrator keeps its state, so nothing is counted twice. If the
//     earlier clock was the wrong one (set back by NTP), Restart drops the
//     last sample so that the integrator can go on.
//   - The state (configuration, last sample, the open interval's
//     accumulators and the carried remainders) has one canonical encoding
//     (codec). A node persists it after each sample, in the same write as
//     anything derived from it (the signed reading of an interval it
//     closed); a restart mid-interval then continues without loss or
//     double counting. Should an older state be restored anyway, it emits
//     again intervals that may already have been signed: the node drops
//     every interval at or before the last one its reading chain signed,
//     so no interval is signed twice. (Fed the same samples, a restored
//     integrator emits exactly what the original did: the tests check it.)
//
// Time is the node's clock (NTP-synced), passed in by the caller; a
// device's clock is never used. Timestamps are truncated to milliseconds.

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/gridmint/gridmint/codec"
)

// integratorVersion is the first byte of an encoded integrator state.
const integratorVersion = 2 // 2 added CounterStepWh

// UnitsPerWh is the integrator's internal energy unit: half a W·ms.
const UnitsPerWh = 7_200_000

// Limits on the configuration, chosen so that no product overflows 128-bit
// intermediates or int64 accumulators.
const (
	MaxIntegratorPowerW   = 1_000_000_000 // 1 GW
	MaxIntegratorPeriodMs = 86_400_000    // interval and gap at most a day
	MaxCounterStepWh      = 1_000         // a counter's resolution: at most 1 kWh per step (WH_SF = +3)
	maxIntegratorTimeMs   = 1 << 50       // about the year 37,600
)

// ChannelKind is what an integrator is fed.
type ChannelKind uint8

// Channel kinds.
const (
	ChannelPower   ChannelKind = 1 // instantaneous power samples, W (signed)
	ChannelCounter ChannelKind = 2 // lifetime energy counter, Wh
)

// Integrator errors. A rejected sample leaves the state as it was, except
// the Rejected count (and, for an implausible counter jump, the new base).
var (
	ErrIntegratorConfig = errors.New("meter: invalid integrator configuration")
	ErrClockBackward    = errors.New("meter: sample is not after the previous one (clock went backward)")
	ErrBeforeGenesis    = errors.New("meter: sample time outside the chain's time range")
	ErrImplausible      = errors.New("meter: implausible sample")
	ErrWrongChannel     = errors.New("meter: sample of the wrong kind for this channel")
)

// IntegratorConfig configures one channel's integrator.
type IntegratorConfig struct {
	Kind      ChannelKind
	Genesis   time.Time     // start of interval 0
	Interval  time.Duration // interval length (at least 1 s, at most a day)
	MaxGap    time.Duration // samples further apart than this are a gap
	MaxPowerW int64         // |power| above this, or a counter rising faster, is implausible
	// CounterStepWh is a counter channel's resolution: the Wh by which the
	// device's counter steps (10 for a SunSpec counter with WH_SF = +1).
	// Zero means 1 Wh. A power channel leaves it zero (or 1).
	CounterStepWh uint64
}

// IntervalEnergy is one closed interval of one channel.
type IntervalEnergy struct {
	Interval uint64
	PosWh    uint64 // energy in the + direction (import, charge, PV, EV; a counter's increase)
	NegWh    uint64 // energy in the − direction (export, discharge); 0 for counters
	Covered  time.Duration
	Gaps     uint32 // gaps that touch the interval
	Resets   uint32 // counter resets seen in it
	Rejected uint32 // samples rejected in it
}

// Complete reports whether samples covered the whole interval with no gap
// and no reset: only then is it the interval's full energy.
func (e IntervalEnergy) Complete(interval time.Duration) bool {
	return e.Covered == interval && e.Gaps == 0 && e.Resets == 0
}

// Integrator turns one channel's samples into interval energies. It is not
// safe for concurrent use.
type Integrator struct {
	kind       ChannelKind
	genesisMs  int64
	intervalMs int64
	maxGapMs   int64
	maxPowerW  int64
	stepWh     uint64 // counter resolution, >= 1 (1 for a power channel)

	hasLast   bool
	lastMs    int64
	lastValue uint64 // power (int64 bits) or counter Wh

	open               uint64 // the first interval not yet emitted; accumulators are its
	accPos, accNeg     uint64 // units
	carryPos, carryNeg uint64 // units < UnitsPerWh, carried from emitted intervals
	coveredMs          int64
	gaps, resets, rej  uint32
}

// NewIntegrator returns an integrator with no samples.
func NewIntegrator(cfg IntegratorConfig) (*Integrator, error) {
	g := &Integrator{
		kind: cfg.Kind, genesisMs: cfg.Genesis.UnixMilli(), intervalMs: cfg.Interval.Milliseconds(),
		maxGapMs: cfg.MaxGap.Milliseconds(), maxPowerW: cfg.MaxPowerW, stepWh: cfg.CounterStepWh,
	}
	if g.stepWh == 0 {
		g.stepWh = 1
	}
	if err := g.checkConfig(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntegratorConfig, err)
	}
	return g, nil
}

func (g *Integrator) checkConfig() error {
	switch {
	case g.kind != ChannelPower && g.kind != ChannelCounter:
		return fmt.Errorf("channel kind %d", g.kind)
	case g.genesisMs < 0 || g.genesisMs >= maxIntegratorTimeMs:
		return fmt.Errorf("genesis %d ms", g.genesisMs)
	case g.intervalMs < 1000 || g.intervalMs > MaxIntegratorPeriodMs:
		return fmt.Errorf("interval %d ms", g.intervalMs)
	case g.maxGapMs < 1 || g.maxGapMs > MaxIntegratorPeriodMs:
		return fmt.Errorf("max gap %d ms", g.maxGapMs)
	case g.maxPowerW < 1 || g.maxPowerW > MaxIntegratorPowerW:
		return fmt.Errorf("max power %d W", g.maxPowerW)
	case g.stepWh < 1 || g.stepWh > MaxCounterStepWh || (g.kind == ChannelPower && g.stepWh != 1):
		return fmt.Errorf("counter step %d Wh", g.stepWh)
	}
	return nil
}

// Config returns the integrator's configuration.
func (g *Integrator) Config() IntegratorConfig {
	return IntegratorConfig{
		Kind: g.kind, Genesis: time.UnixMilli(g.genesisMs).UTC(), Interval: time.Duration(g.intervalMs) * time.Millisecond,
		MaxGap: time.Duration(g.maxGapMs) * time.Millisecond, MaxPowerW: g.maxPowerW,
		CounterStepWh: g.stepWh,
	}
}

func (g *Integrator) intervalOf(ms int64) uint64 { return uint64((ms - g.genesisMs) / g.intervalMs) }
func (g *Integrator) startOf(k uint64) int64     { return g.genesisMs + int64(k)*g.intervalMs }

// timeMs checks a sample time and returns it in ms.
func (g *Integrator) timeMs(at time.Time) (int64, error) {
	ms := at.UnixMilli()
	if ms < g.genesisMs || ms >= maxIntegratorTimeMs {
		g.rej++
		return 0, fmt.Errorf("%w: %s", ErrBeforeGenesis, at.UTC().Format(time.RFC3339Nano))
	}
	if g.hasLast && ms <= g.lastMs {
		g.rej++
		return 0, fmt.Errorf("%w: %s after %s", ErrClockBackward,
			at.UTC().Format(time.RFC3339Nano), time.UnixMilli(g.lastMs).UTC().Format(time.RFC3339Nano))
	}
	return ms, nil
}

// AddPower feeds a power sample (W, + and − as the channel defines) taken
// at the node's time at. It returns the intervals the sample closed.
func (g *Integrator) AddPower(at time.Time, powerW int64) ([]IntervalEnergy, error) {
	if g.kind != ChannelPower {
		return nil, ErrWrongChannel
	}
	if powerW > g.maxPowerW || powerW < -g.maxPowerW {
		g.rej++
		return nil, fmt.Errorf("%w: %d W beyond ±%d W", ErrImplausible, powerW, g.maxPowerW)
	}
	ms, err := g.timeMs(at)
	if err != nil {
		return nil, err
	}
	var out []IntervalEnergy
	if !g.hasLast {
		g.first(ms)
	} else if dt := ms - g.lastMs; dt > g.maxGapMs {
		out = g.gap(out, ms)
	} else {
		p1, p2 := int64(g.lastValue), powerW
		pos, neg := trapezoidUnits(p1, p2, dt)
		out = g.segment(out, g.lastMs, ms, pos, neg)
	}
	g.lastMs, g.lastValue = ms, uint64(powerW)
	return g.advanceTo(out, g.intervalOf(ms)), nil
}

// AddCounter feeds a lifetime energy counter (Wh) read at the node's time
// at. It returns the intervals the sample closed. A counter that went down
// is a reset: nothing is counted for the segment and the interval's Resets
// is incremented; the sample is accepted. A rise faster than MaxPowerW
// (plus one CounterStepWh of resolution) is rejected with ErrImplausible; the counter is re-based on it and the
// segment is not counted.
func (g *Integrator) AddCounter(at time.Time, counterWh uint64) ([]IntervalEnergy, error) {
	if g.kind != ChannelCounter {
		return nil, ErrWrongChannel
	}
	ms, err := g.timeMs(at)
	if err != nil {
		return nil, err
	}
	var out []IntervalEnergy
	switch {
	case !g.hasLast:
		g.first(ms)
	case ms-g.lastMs > g.maxGapMs:
		out = g.gap(out, ms)
	case counterWh < g.lastValue:
		g.resets++
	default:
		dt := ms - g.lastMs
		delta := counterWh - g.lastValue
		// At most MaxPowerW for dt, plus one step of the counter's
		// resolution: a counter truncated to steps of s Wh rises by less
		// than the true energy plus s.
		limit := uint64(g.maxPowerW)*uint64(dt)/3_600_000 + g.stepWh
		if delta > limit {
			g.rej++
			g.lastMs, g.lastValue = ms, counterWh
			return g.advanceTo(out, g.intervalOf(ms)), fmt.Errorf("%w: counter rose %d Wh in %d ms (limit %d Wh)", ErrImplausible, delta, dt, limit)
		}
		out = g.segment(out, g.lastMs, ms, delta*UnitsPerWh, 0)
	}
	g.lastMs, g.lastValue = ms, counterWh
	return g.advanceTo(out, g.intervalOf(ms)), nil
}

// first starts the integrator at its first sample.
func (g *Integrator) first(ms int64) {
	g.hasLast = true
	g.open = g.intervalOf(ms)
}

// gap records a gap from the last sample to ms in the intervals at both
// ends; nothing is counted across it.
func (g *Integrator) gap(out []IntervalEnergy, ms int64) []IntervalEnergy {
	g.gaps++
	k := g.intervalOf(ms)
	if k > g.open {
		out = g.advanceTo(out, k)
		g.gaps++
	}
	return out
}

// Flush closes the open interval when no sample can contribute to it any
// more: the last sample is more than MaxGap before now, so the next one will
// be a gap. It returns the interval (incomplete), or nothing.
func (g *Integrator) Flush(now time.Time) []IntervalEnergy {
	ms := now.UnixMilli()
	if !g.hasLast || ms-g.lastMs <= g.maxGapMs || ms >= maxIntegratorTimeMs {
		return nil
	}
	k := g.intervalOf(ms)
	if k <= g.open {
		return nil
	}
	g.gaps++
	return g.advanceTo(nil, k)
}

// Restart forgets the last sample, for a node whose clock was wrong: after
// the clock is corrected backward, every sample is rejected with
// ErrClockBackward until real time passes the wrong one, which may be
// never. Restart closes the open interval as it stands (marked with a gap)
// and returns it; the next sample starts afresh, with the carried fractions
// of a Wh kept. Intervals emitted after a restart may repeat indices
// already emitted; the node keeps the first (it never signs an interval
// twice).
func (g *Integrator) Restart() []IntervalEnergy {
	if !g.hasLast {
		return nil
	}
	g.gaps++
	out := g.advanceTo(nil, g.open+1)
	g.hasLast, g.lastMs, g.lastValue, g.open, g.gaps, g.resets, g.rej = false, 0, 0, 0, 0, 0, 0
	return out
}

// advanceTo emits the open interval if k is past it and opens k. Intervals
// in between had no samples and are not emitted.
func (g *Integrator) advanceTo(out []IntervalEnergy, k uint64) []IntervalEnergy {
	if k <= g.open {
		return out
	}
	if g.coveredMs == 0 && g.accPos == 0 && g.accNeg == 0 && g.resets == 0 && g.rej == 0 {
		// No data, only the mark of a gap: the interval was not observed.
		g.open, g.gaps = k, 0
		return out
	}
	pos, neg := g.carryPos+g.accPos, g.carryNeg+g.accNeg
	e := IntervalEnergy{
		Interval: g.open, PosWh: pos / UnitsPerWh, NegWh: neg / UnitsPerWh,
		Covered: time.Duration(g.coveredMs) * time.Millisecond,
		Gaps:    g.gaps, Resets: g.resets, Rejected: g.rej,
	}
	g.carryPos, g.carryNeg = pos%UnitsPerWh, neg%UnitsPerWh
	out = append(out, e)
	g.open = k
	g.accPos, g.accNeg, g.coveredMs = 0, 0, 0
	g.gaps, g.resets, g.rej = 0, 0, 0
	return out
}

// segment adds a segment's energy (units) from t1 to t2 (ms, t1 < t2,
// t2 − t1 <= MaxGap) to the intervals it spans, in proportion to time.
// Pieces in intervals already emitted (only after Flush) are dropped.
func (g *Integrator) segment(out []IntervalEnergy, t1, t2 int64, pos, neg uint64) []IntervalEnergy {
	dt := uint64(t2 - t1)
	var donePos, doneNeg uint64 // energy of the pieces before
	for k := g.intervalOf(t1); ; k++ {
		end := min(g.startOf(k+1), t2)
		// Cumulative floors: the pieces add up to the segment exactly.
		cumPos, cumNeg := pos, neg
		if end < t2 {
			cumPos, cumNeg = mulDiv(pos, uint64(end-t1), dt), mulDiv(neg, uint64(end-t1), dt)
		}
		if k >= g.open {
			out = g.advanceTo(out, k)
			g.accPos += cumPos - donePos
			g.accNeg += cumNeg - doneNeg
			g.coveredMs += end - max(g.startOf(k), t1)
		}
		donePos, doneNeg = cumPos, cumNeg
		if end == t2 {
			return out
		}
	}
}

// trapezoidUnits integrates a straight line from p1 to p2 W over dt ms and
// returns the energy above and below zero in units (half W·ms). pos − neg
// is exactly the signed trapezoid (p1+p2)·dt.
func trapezoidUnits(p1, p2, dt int64) (pos, neg uint64) {
	switch {
	case p1 >= 0 && p2 >= 0:
		return uint64(p1+p2) * uint64(dt), 0
	case p1 <= 0 && p2 <= 0:
		return 0, uint64(-(p1 + p2)) * uint64(dt)
	case p1 > 0: // p2 < 0: + triangle up to the crossing at dt·p1/(p1−p2)
		pos = mulDiv(uint64(p1)*uint64(p1), uint64(dt), uint64(p1-p2))
		return pos, uint64(int64(pos) - (p1+p2)*dt)
	default: // p1 < 0 < p2
		neg = mulDiv(uint64(p1)*uint64(p1), uint64(dt), uint64(p2-p1))
		return uint64((p1+p2)*dt + int64(neg)), neg
	}
}

// mulDiv returns floor(a·b/c) for a result that fits in 64 bits.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// EncodeTo writes the integrator's state in its canonical encoding.
func (g *Integrator) EncodeTo(e *codec.Encoder) {
	e.Uint8(integratorVersion)
	e.Uint8(uint8(g.kind))
	e.Int64(g.genesisMs)
	e.Uint64(uint64(g.intervalMs))
	e.Uint64(uint64(g.maxGapMs))
	e.Uint64(uint64(g.maxPowerW))
	e.Uint64(g.stepWh)
	e.Bool(g.hasLast)
	e.Int64(g.lastMs)
	e.Uint64(g.lastValue)
	e.Uint64(g.open)
	e.Uint64(g.accPos)
	e.Uint64(g.accNeg)
	e.Uint64(g.carryPos)
	e.Uint64(g.carryNeg)
	e.Uint64(uint64(g.coveredMs))
	e.Uint32(g.gaps)
	e.Uint32(g.resets)
	e.Uint32(g.rej)
}

// maxIntegratorAcc bounds an accumulator: a full interval at the maximum
// power with MaxCounterStepWh of counter slack per millisecond
// (1,000 Wh · 7.2e6 units · 8.64e7 ms ≈ 6.2e17) is below it.
const maxIntegratorAcc = 1 << 62

// DecodeFrom reads an integrator state, rejecting any state the integrator
// could not have reached.
func (g *Integrator) DecodeFrom(d *codec.Decoder) {
	d.Version(integratorVersion)
	g.kind = ChannelKind(d.Uint8())
	g.genesisMs = d.Int64()
	g.intervalMs = int64(d.Uint64())
	g.maxGapMs = int64(d.Uint64())
	g.maxPowerW = int64(d.Uint64())
	g.stepWh = d.Uint64()
	g.hasLast = d.Bool()
	g.lastMs = d.Int64()
	g.lastValue = d.Uint64()
	g.open = d.Uint64()
	g.accPos = d.Uint64()
	g.accNeg = d.Uint64()
	g.carryPos = d.Uint64()
	g.carryNeg = d.Uint64()
	g.coveredMs = int64(d.Uint64())
	g.gaps = d.Uint32()
	g.resets = d.Uint32()
	g.rej = d.Uint32()
	if d.Err() != nil {
		return
	}
	if err := g.checkConfig(); err != nil {
		d.Failf("integrator: %v", err)
		return
	}
	if !g.hasLast {
		if g.lastMs != 0 || g.lastValue != 0 || g.open != 0 || g.accPos != 0 || g.accNeg != 0 ||
			g.coveredMs != 0 || g.gaps != 0 || g.resets != 0 {
			d.Failf("integrator: state without a sample")
		}
		if g.carryPos >= UnitsPerWh || g.carryNeg >= UnitsPerWh || (g.kind == ChannelCounter && g.carryNeg != 0) {
			d.Failf("integrator: carry out of range")
		}
		return
	}
	switch {
	case g.lastMs < g.genesisMs || g.lastMs >= maxIntegratorTimeMs:
		d.Failf("integrator: last sample at %d ms", g.lastMs)
	case g.kind == ChannelPower && (int64(g.lastValue) > g.maxPowerW || int64(g.lastValue) < -g.maxPowerW):
		d.Failf("integrator: last power %d W", int64(g.lastValue))
	case g.open < g.intervalOf(g.lastMs) || g.open > g.intervalOf(maxIntegratorTimeMs):
		d.Failf("integrator: open interval %d", g.open)
	case g.carryPos >= UnitsPerWh || g.carryNeg >= UnitsPerWh:
		d.Failf("integrator: carry of a whole Wh")
	case g.accPos > maxIntegratorAcc || g.accNeg > maxIntegratorAcc:
		d.Failf("integrator: accumulator out of range")
	case g.kind == ChannelCounter && (g.accNeg != 0 || g.carryNeg != 0):
		d.Failf("integrator: counter with energy in the − direction")
	case g.coveredMs < 0 || g.coveredMs > g.intervalMs:
		d.Failf("integrator: covered %d ms", g.coveredMs)
	}
}

// Encode returns the canonical encoding of the state.
func (g *Integrator) Encode() []byte { return codec.Encode(g) }

// DecodeIntegrator restores an integrator from its encoded state.
func DecodeIntegrator(b []byte) (*Integrator, error) {
	var g Integrator
	if err := codec.Decode(b, &g); err != nil {
		return nil, fmt.Errorf("integrator state: %w", err)
	}
	return &g, nil
}
