package site

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter"
)

// The journal's keys. Every value starts with a version byte.
var (
	keyHead      = []byte("h")
	prefixChan   = []byte("c/")
	prefixPend   = []byte("p/")
	prefixOutbox = []byte("o/")
)

const journalVersion = 1

func intervalKey(prefix []byte, k uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefix), k)
}
func outboxKey(k uint64) []byte { return intervalKey(prefixOutbox, k) }

// state is what the journal holds, in memory.
type state struct {
	counter    uint64   // the last signed reading's counter (0: none yet)
	prevHash   [32]byte // its hash
	lastSigned uint64   // its interval
	pending    map[uint64]*pend
	outbox     map[uint64]*meter.Reading
}

// pend is the energy gathered so far for one unsigned interval.
type pend struct {
	importWh, exportWh, pvWh, chargeWh, dischargeWh, evWh uint64
	hasSoC                                                bool
	socPpm                                                uint32
}

func (s *state) get(k uint64) *pend {
	if s.pending == nil {
		s.pending = map[uint64]*pend{}
	}
	p := s.pending[k]
	if p == nil {
		p = &pend{}
		s.pending[k] = p
	}
	return p
}

// add puts one channel's closed interval into the interval's energies.
// Channels of the same quantity (two inverters) add up.
func (s *state) add(k uint64, sl slot, e meter.IntervalEnergy) {
	if s.counter > 0 && k <= s.lastSigned {
		return // already signed (an integrator restored from an older state)
	}
	p := s.get(k)
	switch sl {
	case slotGrid:
		p.importWh += e.PosWh
		p.exportWh += e.NegWh
	case slotGridImport:
		p.importWh += e.PosWh
	case slotGridExport:
		p.exportWh += e.PosWh
	case slotPV:
		p.pvWh += e.PosWh
	case slotBattery:
		p.chargeWh += e.PosWh
		p.dischargeWh += e.NegWh
	case slotEV:
		p.evWh += e.PosWh
	}
}

// setSoC records the latest state of charge seen in interval k: the reading
// carries the state at the end of its interval.
func (s *state) setSoC(k uint64, ppm uint32) {
	if s.counter > 0 && k <= s.lastSigned {
		return
	}
	p := s.get(k)
	p.hasSoC, p.socPpm = true, ppm
}

func (s *state) pendingIntervals() []uint64 { return sortedKeys(s.pending) }

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

var errTooLarge = errors.New("energy beyond a reading's range")

// reading builds the unsigned reading of interval k.
func (p *pend) reading(site meter.SiteID, k uint64) (*meter.Reading, error) {
	r := &meter.Reading{Site: site, Interval: k}
	for _, f := range []struct {
		dst *uint32
		v   uint64
	}{{&r.GridImportWh, p.importWh}, {&r.GridExportWh, p.exportWh}, {&r.PVWh, p.pvWh},
		{&r.BatteryChargeWh, p.chargeWh}, {&r.BatteryDischargeWh, p.dischargeWh}, {&r.EVWh, p.evWh}} {
		if f.v > math.MaxUint32 {
			return nil, fmt.Errorf("%w: %d Wh", errTooLarge, f.v)
		}
		*f.dst = uint32(f.v)
	}
	if p.hasSoC {
		r.BatterySoCPpm = min(p.socPpm, meter.MaxSoCPpm)
	}
	return r, nil
}

func (p *pend) encode() []byte {
	e := codec.NewEncoder(64)
	e.Uint8(journalVersion)
	for _, v := range []uint64{p.importWh, p.exportWh, p.pvWh, p.chargeWh, p.dischargeWh, p.evWh} {
		e.Uint64(v)
	}
	e.Bool(p.hasSoC)
	e.Uint32(p.socPpm)
	return e.Bytes()
}

func decodePend(b []byte) (*pend, error) {
	d := codec.NewDecoder(b)
	d.Version(journalVersion)
	p := &pend{}
	for _, v := range []*uint64{&p.importWh, &p.exportWh, &p.pvWh, &p.chargeWh, &p.dischargeWh, &p.evWh} {
		*v = d.Uint64()
	}
	p.hasSoC = d.Bool()
	p.socPpm = d.Uint32()
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if p.socPpm > meter.MaxSoCPpm || (!p.hasSoC && p.socPpm != 0) {
		return nil, errors.New("state of charge out of range")
	}
	return p, nil
}

func (s *state) encodeHead() []byte {
	e := codec.NewEncoder(64)
	e.Uint8(journalVersion)
	e.Uint64(s.counter)
	e.Fixed(s.prevHash[:])
	e.Uint64(s.lastSigned)
	return e.Bytes()
}

// decodeHead reads the chain head. Before the first reading everything is
// zero; after it the counter is at least 1.
func (s *state) decodeHead(v []byte) error {
	d := codec.NewDecoder(v)
	d.Version(journalVersion)
	s.counter = d.Uint64()
	d.Fixed(s.prevHash[:])
	s.lastSigned = d.Uint64()
	if err := d.Finish(); err != nil {
		return err
	}
	if s.counter == 0 && (s.prevHash != [32]byte{} || s.lastSigned != 0) {
		return errors.New("chain head without a reading")
	}
	return nil
}

func encodeChannel(ch *channel) []byte {
	e := codec.NewEncoder(160)
	e.Uint8(journalVersion)
	e.Bool(ch.hasSample)
	e.Uint64(ch.through)
	e.Int64(ch.lastMs)
	e.BytesVar(ch.integ.Encode())
	return e.Bytes()
}

// commit writes the whole state in one batch: fsynced when it holds a newly
// signed reading (before the reading is handed to anyone), not otherwise.
func (a *Agent) commit(sync bool) error {
	b := a.db.NewBatch()
	defer b.Close()
	set := func(k, v []byte) error { return b.Set(k, v, nil) }
	if err := set(keyHead, a.st.encodeHead()); err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	for _, ch := range a.chans {
		if err := set(append(bytes.Clone(prefixChan), ch.id...), encodeChannel(ch)); err != nil {
			return fmt.Errorf("%w: %v", ErrJournal, err)
		}
	}
	if err := b.DeleteRange(prefixPend, []byte("p0"), nil); err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	for k, p := range a.st.pending {
		if err := set(intervalKey(prefixPend, k), p.encode()); err != nil {
			return fmt.Errorf("%w: %v", ErrJournal, err)
		}
	}
	for k, r := range a.st.outbox {
		if err := set(outboxKey(k), r.Encode()); err != nil {
			return fmt.Errorf("%w: %v", ErrJournal, err)
		}
	}
	opt := pebble.NoSync
	if sync {
		opt = pebble.Sync
	}
	if err := b.Commit(opt); err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	return nil
}

// load restores the state from the journal. A channel whose stored
// integrator was made for another configuration (interval, limits) starts
// afresh; a damaged value is an error naming its key.
func (a *Agent) load() error {
	a.st = state{pending: map[uint64]*pend{}, outbox: map[uint64]*meter.Reading{}}
	v, closer, err := a.db.Get(keyHead)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("%w: %v", ErrJournal, err)
	default:
		err := a.st.decodeHead(v)
		closer.Close()
		if err != nil {
			return fmt.Errorf("%w: chain head: %v", ErrJournal, err)
		}
	}
	byID := map[string]*channel{}
	for _, ch := range a.chans {
		byID[ch.id] = ch
	}
	it, err := a.db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		switch {
		case bytes.HasPrefix(k, prefixChan):
			ch := byID[string(k[len(prefixChan):])]
			if ch == nil {
				continue // a device no longer configured
			}
			if err := a.restoreChannel(ch, v); err != nil {
				return fmt.Errorf("%w: channel %s: %v", ErrJournal, ch.id, err)
			}
		case bytes.HasPrefix(k, prefixPend) && len(k) == len(prefixPend)+8:
			p, err := decodePend(v)
			if err != nil {
				return fmt.Errorf("%w: pending %x: %v", ErrJournal, k, err)
			}
			a.st.pending[binary.BigEndian.Uint64(k[len(prefixPend):])] = p
		case bytes.HasPrefix(k, prefixOutbox) && len(k) == len(prefixOutbox)+8:
			r, err := meter.DecodeReading(v)
			if err != nil {
				return fmt.Errorf("%w: outbox %x: %v", ErrJournal, k, err)
			}
			a.st.outbox[binary.BigEndian.Uint64(k[len(prefixOutbox):])] = r
		}
	}
	return it.Error()
}

// decodeChannel reads a channel's journal value.
func decodeChannel(v []byte) (ch *channel, err error) {
	d := codec.NewDecoder(v)
	d.Version(journalVersion)
	ch = &channel{}
	ch.hasSample = d.Bool()
	ch.through = d.Uint64()
	ch.lastMs = d.Int64()
	st := d.BytesVar(1 << 10)
	if err := d.Finish(); err != nil {
		return nil, err
	}
	if !ch.hasSample && (ch.through != 0 || ch.lastMs != 0) {
		return nil, errors.New("channel state without a sample")
	}
	if ch.integ, err = meter.DecodeIntegrator(st); err != nil {
		return nil, err
	}
	return ch, nil
}

func (a *Agent) restoreChannel(ch *channel, v []byte) error {
	got, err := decodeChannel(v)
	if err != nil {
		return err
	}
	want := ch.integ.Config()
	g := got.integ.Config()
	if g.Kind != want.Kind || !g.Genesis.Equal(want.Genesis) || g.Interval != want.Interval ||
		g.MaxGap != want.MaxGap || g.MaxPowerW != want.MaxPowerW || g.CounterStepWh != want.CounterStepWh {
		a.log.Info("site: channel configuration changed, its integrator starts afresh", "channel", ch.id)
		return nil
	}
	ch.integ, ch.hasSample, ch.through, ch.lastMs = got.integ, got.hasSample, got.through, got.lastMs
	return nil
}
