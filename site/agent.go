package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// Sink takes signed readings: the node's reading pool and gossip. It may
// be handed the same reading (the same bytes) more than once, after a
// restart; it must treat that as one reading. An error leaves the reading
// in the agent's outbox, to be handed again at the next poll.
type Sink interface {
	SubmitReading(ctx context.Context, r *meter.Reading) error
}

// Config configures an agent.
type Config struct {
	ChainID  string
	Key      *wallet.PrivateKey // the site key; its address is the site
	Genesis  time.Time          // start of interval 0 (the chain's genesis)
	Interval time.Duration      // the chain's interval length
	// MaxGap: samples of a channel further apart than this are a gap, and
	// no energy is counted across it. 2 minutes when zero.
	MaxGap time.Duration
	// MaxPowerW bounds every channel's power (and counter rate); 100 kW
	// when zero.
	MaxPowerW int64
	// LateIntervals: an interval is signed once every channel has a sample
	// after it, or once this many further intervals have begun (a silent
	// device then counts as nothing for it). 1 when zero.
	LateIntervals uint64
	// Devices are the home's opened devices (see OpenDevices). The agent
	// does not close them. Their order names the journal's channels: keep
	// it stable across restarts.
	Devices []meter.Device
	Dir     string // the journal's directory
	FS      vfs.FS // the journal's filesystem; nil is the real one
	Sink    Sink
	Logger  *slog.Logger
}

// Errors of the agent.
var (
	ErrConfig  = errors.New("site: invalid agent configuration")
	ErrJournal = errors.New("site: journal")
)

// Agent is a running site agent. It is not safe for concurrent use: one
// goroutine polls (Run does).
type Agent struct {
	cfg   Config
	site  meter.SiteID
	db    *pebble.DB
	log   *slog.Logger
	chans []*channel
	socs  []meter.Battery // devices whose state of charge goes in the reading
	st    state
}

// DeviceSpec is one configured device: an adapter family and a decoder of
// its own options (node.Config.DeviceSpecs makes them from [[device]]).
type DeviceSpec struct {
	Kind   string
	Decode func(cfg any) error
}

// OpenDevices opens every configured device with meter.Open. On an error
// it closes what it opened.
func OpenDevices(ctx context.Context, specs []DeviceSpec) ([]meter.Device, error) {
	var out []meter.Device
	for i, s := range specs {
		d, err := meter.Open(ctx, s.Kind, s.Decode)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("device %d: %w", i+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Open opens (or creates) the agent's journal in cfg.Dir and restores its
// state: the reading chain, every channel's integrator, the energies of
// unsigned intervals and the outbox. ctx bounds asking the devices for
// their counters' resolution.
func Open(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.MaxGap == 0 {
		cfg.MaxGap = 2 * time.Minute
	}
	if cfg.MaxPowerW == 0 {
		cfg.MaxPowerW = 100_000
	}
	if cfg.LateIntervals == 0 {
		cfg.LateIntervals = 1
	}
	switch {
	case cfg.Key == nil:
		return nil, fmt.Errorf("%w: no site key", ErrConfig)
	case cfg.ChainID == "":
		return nil, fmt.Errorf("%w: no chain id", ErrConfig)
	case cfg.Sink == nil:
		return nil, fmt.Errorf("%w: no sink", ErrConfig)
	case cfg.Dir == "":
		return nil, fmt.Errorf("%w: no journal directory", ErrConfig)
	case len(cfg.Devices) == 0:
		return nil, fmt.Errorf("%w: no devices", ErrConfig)
	case cfg.Interval < time.Second || cfg.Interval%time.Second != 0:
		return nil, fmt.Errorf("%w: interval %s", ErrConfig, cfg.Interval)
	}
	a := &Agent{cfg: cfg, site: cfg.Key.Address(), log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	chans, socs, err := buildChannels(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.chans, a.socs = chans, socs
	db, err := pebble.Open(cfg.Dir, &pebble.Options{FS: cfg.FS, MemTableSize: 1 << 20, Logger: quietPebble{}})
	if err != nil {
		return nil, fmt.Errorf("%w: opening %s: %v", ErrJournal, cfg.Dir, err)
	}
	a.db = db
	if err := a.load(); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the journal (not the devices). What the last poll
// committed is kept.
func (a *Agent) Close() error {
	if a.db == nil {
		return nil
	}
	err := a.db.Close()
	a.db = nil
	return err
}

// Site is the site id: the address of the site key.
func (a *Agent) Site() meter.SiteID { return a.site }

// Head is the reading chain's head: the counter and hash of the last
// signed reading and its interval (zero values before the first).
func (a *Agent) Head() (counter uint64, hash [32]byte, interval uint64) {
	return a.st.counter, a.st.prevHash, a.st.lastSigned
}

// Pending is the number of signed readings not yet taken by the sink.
func (a *Agent) Pending() int { return len(a.st.outbox) }

// Run polls every period until ctx ends, with the wall clock. Poll errors
// (a journal that cannot be written) end it; device errors do not.
func (a *Agent) Run(ctx context.Context, period time.Duration) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := a.Poll(ctx, time.Now()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *Agent) intervalOf(at time.Time) uint64 {
	d := at.Sub(a.cfg.Genesis)
	if d < 0 {
		return 0
	}
	return uint64(d / a.cfg.Interval)
}

// Poll reads every channel once at the node's time now, feeds the
// integrators, signs the readings of every interval that is ready, commits
// the journal, and hands the outbox to the sink. A device that cannot be
// read is logged and skipped; only a journal error is returned.
func (a *Agent) Poll(ctx context.Context, now time.Time) error {
	nowK := a.intervalOf(now)
	for _, ch := range a.chans {
		out, err := ch.sample(ctx, now)
		switch {
		case err == nil || errors.Is(err, meter.ErrImplausible):
			// (An implausible counter re-bases: the channel has moved on.)
			ch.through, ch.hasSample, ch.lastMs = nowK, true, now.UnixMilli()
		case ch.hasSample && now.UnixMilli()-ch.lastMs > a.cfg.MaxGap.Milliseconds():
			// Silent for longer than MaxGap: its next sample will be a
			// gap, so nothing more can reach the intervals before now's.
			// Close them, with the energy it measured before it fell
			// silent, instead of waiting for LateIntervals.
			out = ch.integ.Flush(now)
			ch.through = max(ch.through, nowK)
			a.log.Debug("site: sample", "channel", ch.id, "err", err)
		default:
			a.log.Debug("site: sample", "channel", ch.id, "err", err)
		}
		for _, e := range out {
			a.st.add(e.Interval, ch.slot, e)
		}
	}
	for _, b := range a.socs {
		if soc, err := b.BatterySoCPpm(ctx); err == nil {
			a.st.setSoC(nowK, soc)
		}
	}
	signed, err := a.signReady(nowK)
	if err != nil {
		return err
	}
	if err := a.commit(signed > 0); err != nil {
		return err
	}
	return a.handOff(ctx)
}

// ready reports whether interval k can be signed: every channel has been
// sampled after it, or the agent is LateIntervals past it.
func (a *Agent) ready(k, nowK uint64) bool {
	if nowK > k+a.cfg.LateIntervals {
		return true
	}
	for _, ch := range a.chans {
		if !ch.hasSample || ch.through <= k {
			return false
		}
	}
	return true
}

// signReady signs, in interval order, every pending interval that is ready
// and after the last one signed; pending intervals at or before it (an
// integrator restored from an older state emits them again) are dropped.
func (a *Agent) signReady(nowK uint64) (int, error) {
	n := 0
	for _, k := range a.st.pendingIntervals() {
		if a.st.counter > 0 && k <= a.st.lastSigned {
			delete(a.st.pending, k)
			continue
		}
		if !a.ready(k, nowK) {
			break // later intervals wait too: readings are signed in order
		}
		p := a.st.pending[k]
		r, err := p.reading(a.site, k)
		if err != nil {
			a.log.Warn("site: interval dropped", "interval", k, "err", err)
			delete(a.st.pending, k)
			continue
		}
		r.Counter, r.PrevHash = a.st.counter+1, a.st.prevHash
		if err := r.Sign(a.cfg.Key, a.cfg.ChainID); err != nil {
			return n, fmt.Errorf("site: signing interval %d: %w", k, err)
		}
		a.st.counter, a.st.prevHash, a.st.lastSigned = r.Counter, r.Hash(), k
		a.st.outbox[k] = r
		delete(a.st.pending, k)
		n++
	}
	return n, nil
}

// handOff gives the outbox to the sink in interval order. A reading the
// sink took leaves the outbox (without fsync: should that be lost, the
// same reading is handed again, which the sink treats as one).
func (a *Agent) handOff(ctx context.Context) error {
	var done []uint64
	var sinkErr error
	for _, k := range sortedKeys(a.st.outbox) {
		if err := a.cfg.Sink.SubmitReading(ctx, a.st.outbox[k]); err != nil {
			sinkErr = err
			break // keep the order: a later reading never overtakes an earlier one
		}
		done = append(done, k)
	}
	if len(done) == 0 {
		if sinkErr != nil {
			a.log.Debug("site: sink", "err", sinkErr)
		}
		return nil
	}
	b := a.db.NewBatch()
	for _, k := range done {
		delete(a.st.outbox, k)
		if err := b.Delete(outboxKey(k), nil); err != nil {
			return fmt.Errorf("%w: %v", ErrJournal, err)
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	return nil
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
