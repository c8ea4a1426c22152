package ledger

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// RejectReason says why a reading was not accepted. Values are stored in
// receipts: append only.
type RejectReason uint8

// Reasons. The first group changes nothing at all; the second (from
// RejectStale on) advances the site's hash chain, because the reading is
// the site's genuine next reading, but its energy counts for nothing.
const (
	RejectNone RejectReason = iota
	RejectUnknownSite
	RejectBadSignature
	RejectReplay            // this very reading is already on chain
	RejectDuplicateInterval // another reading holds this interval
	RejectOutOfOrder        // interval not after the site's last reading
	RejectFuture            // interval ends after block time + skew
	RejectBrokenChain       // counter or previous hash do not follow the chain head
	RejectStale             // older than the acceptance window
	RejectPVNoDevice
	RejectPVAboveNameplate
	RejectPVAtNight
	RejectBatteryNoDevice
	RejectBatteryPower
	RejectBatteryCapacity
	RejectEVNoCharger
	RejectEVPower
	RejectNegativeHouseLoad
	numRejectReasons
)

// Reading errors with no counterpart in package meter.
var (
	ErrReadingUnknownSite   = errors.New("reading from an unregistered site")
	ErrReadingBadSignature  = errors.New("reading not signed by the site key")
	ErrReadingReplay        = errors.New("reading already on chain")
	ErrReadingDuplicate     = errors.New("site already has a reading for this interval")
	ErrReadingOutOfOrder    = errors.New("reading's interval is not after the site's last")
	ErrReadingFuture        = errors.New("reading's interval ends in the future")
	ErrReadingBrokenChain   = errors.New("reading does not follow the site's hash chain")
	ErrReadingStale         = errors.New("reading older than the acceptance window")
	errReasonNone           = error(nil)
	plausibilityReasonTable = []struct {
		err    error
		reason RejectReason
	}{
		{meter.ErrPVNoDevice, RejectPVNoDevice},
		{meter.ErrPVAboveNameplate, RejectPVAboveNameplate},
		{meter.ErrPVAtNight, RejectPVAtNight},
		{meter.ErrBatteryNoDevice, RejectBatteryNoDevice},
		{meter.ErrBatteryPower, RejectBatteryPower},
		{meter.ErrBatteryCapacity, RejectBatteryCapacity},
		{meter.ErrEVNoCharger, RejectEVNoCharger},
		{meter.ErrEVPower, RejectEVPower},
		{meter.ErrNegativeHouseLoad, RejectNegativeHouseLoad},
	}
)

// Err returns the error value of a reason (nil for RejectNone).
func (r RejectReason) Err() error {
	switch r {
	case RejectNone:
		return errReasonNone
	case RejectUnknownSite:
		return ErrReadingUnknownSite
	case RejectBadSignature:
		return ErrReadingBadSignature
	case RejectReplay:
		return ErrReadingReplay
	case RejectDuplicateInterval:
		return ErrReadingDuplicate
	case RejectOutOfOrder:
		return ErrReadingOutOfOrder
	case RejectFuture:
		return ErrReadingFuture
	case RejectBrokenChain:
		return ErrReadingBrokenChain
	case RejectStale:
		return ErrReadingStale
	}
	for _, e := range plausibilityReasonTable {
		if e.reason == r {
			return e.err
		}
	}
	return fmt.Errorf("reject reason %d", uint8(r))
}

func (r RejectReason) String() string {
	if r == RejectNone {
		return "accepted"
	}
	return r.Err().Error()
}

// readings applies a batch of readings, each on its own.
func (x *executor) readings(v *view, p *Readings, rc *Receipt) error {
	if len(p.Readings) == 0 {
		return ErrNoReadings
	}
	if len(p.Readings) > int(x.params.MaxReadingsPerTx) {
		return fmt.Errorf("%w: %d > %d", ErrTooManyReadings, len(p.Readings), x.params.MaxReadingsPerTx)
	}
	rc.Readings = make([]ReadingResult, len(p.Readings))
	for i := range p.Readings {
		r := &p.Readings[i]
		reason, chained, err := x.reading(v, r)
		if err != nil {
			return err
		}
		rc.Readings[i] = ReadingResult{Site: r.Site, Interval: r.Interval, Reason: reason, Chained: chained}
		if reason != RejectUnknownSite && reason != RejectBadSignature {
			if n := len(rc.sites); n == 0 || rc.sites[n-1] != r.Site {
				rc.sites = append(rc.sites, r.Site)
			}
		}
	}
	return nil
}

// intervalStart is the Unix second interval i begins.
func (x *executor) intervalStart(i uint64) int64 {
	return x.l.genesis.GenesisTime + int64(i)*int64(x.params.IntervalSeconds)
}

// reading applies one reading. The checks, in order, and what they keep:
//
//  1. the site exists and the site key signed the reading (else: nothing
//     happened — anyone can put garbage in a batch);
//  2. the interval is after the site's last reading (replays and second
//     readings of an interval are refused: first valid one wins);
//  3. the interval has ended (with ReadingMaxSkewSeconds of slack) at block
//     time — a reading from the future waits, unchanged, until it is valid;
//  4. Counter is the chain head's + 1 and PrevHash its hash (else the chain
//     is broken: a reading before it is missing; the site's node must send
//     it first);
//
// From here the reading is the site's genuine next reading and the chain
// head moves to it, whatever follows, so a later reading can chain on it:
//
//  5. not stale: its interval ended at most ReadingWindowIntervals ago;
//  6. physically plausible (meter.CheckPlausible).
//
// Only a reading that passes all six is accepted: stored, counted and its
// PV added to the site's pending REC hour.
func (x *executor) reading(v *view, r *meter.Reading) (RejectReason, bool, error) {
	var s Site
	ok, err := v.load(siteKey(r.Site), &s)
	if err != nil {
		return 0, false, err
	}
	if !ok {
		return RejectUnknownSite, false, nil
	}
	// The site id is the site key's address, so recovering the signer
	// checks the registered key (and lets PreVerify do it in parallel).
	if r.VerifySiteCached(x.l.sigs.c, x.l.genesis.ChainID) != nil {
		return RejectBadSignature, false, nil
	}
	if s.Counter > 0 && r.Interval <= s.LastInterval {
		stored, ok, err := v.get(readingKey(r.Site, r.Interval))
		if err != nil {
			return 0, false, fmt.Errorf("%w: %v", errInternal, err)
		}
		switch {
		case ok && bytes.Equal(stored, r.Encode()):
			return RejectReplay, false, nil
		case ok || r.Interval == s.LastInterval:
			return RejectDuplicateInterval, false, nil
		}
		return RejectOutOfOrder, false, nil
	}
	secs := int64(x.params.IntervalSeconds)
	start := x.intervalStart(r.Interval)
	if r.Interval > 1<<40 || start+secs > x.timeSec+int64(x.params.ReadingMaxSkewSeconds) {
		return RejectFuture, false, nil
	}
	if r.Counter != s.Counter+1 || r.PrevHash != s.LastHash {
		return RejectBrokenChain, false, nil
	}
	s.Counter = r.Counter
	s.LastHash = r.Hash()
	s.LastInterval = r.Interval
	reason := RejectNone
	if start+secs+int64(x.params.ReadingWindowIntervals)*secs < x.timeSec {
		reason = RejectStale
	} else if err := meter.CheckPlausible(r, s.capabilities(), start, x.params.IntervalSeconds); err != nil {
		reason = RejectBrokenChain // replaced below; every plausibility error has a reason
		for _, e := range plausibilityReasonTable {
			if errors.Is(err, e.err) {
				reason = e.reason
				break
			}
		}
		if reason == RejectBrokenChain {
			return 0, false, fmt.Errorf("%w: plausibility error without a reason: %v", errInternal, err)
		}
	}
	if reason == RejectNone {
		s.Accepted++
		v.set(readingKey(r.Site, r.Interval), r.Encode())
		if err := x.recordReading(v, r); err != nil {
			return 0, false, err
		}
		if r.PVWh > 0 {
			if err := x.addPendingPV(v, r.Site, &s, r.Interval/x.params.IntervalsPerHour(), uint64(r.PVWh)); err != nil {
				return 0, false, err
			}
		}
	}
	v.store(siteKey(r.Site), &s)
	return reason, true, nil
}

// recShards is how many queue keys one hour's pending sites are spread over,
// so that no single value grows with the number of sites.
const recShards = 16

func recQueueKey(hour uint64, shard byte) []byte {
	return append(u64Key(pfxRECQueue, hour), shard)
}

// addPendingPV adds accepted PV to the site's pending hour. A reading in a
// later hour first certifies the pending one: the site's readings arrive in
// interval order, so nothing more can be added to it.
func (x *executor) addPendingPV(v *view, id wallet.Address, s *Site, hour, wh uint64) error {
	if s.PendingWh > 0 && s.PendingHour != hour {
		if err := x.issueREC(v, id, s); err != nil {
			return err
		}
	}
	if s.PendingWh == 0 {
		s.PendingHour = hour
		// Queue the site for the sweep at the hour's close, in case no later
		// reading comes.
		key := recQueueKey(hour, id[0]%recShards)
		var q addressList
		if _, err := v.load(key, &q); err != nil {
			return err
		}
		if q.insert(id) {
			v.store(key, &q)
		}
	}
	s.PendingWh += wh
	return nil
}
