package consensus

import (
	"fmt"

	"github.com/gridmint/gridmint/codec"
)

const walEntryVersion = 1

// WALKind says what a WAL entry records.
type WALKind uint8

// WAL entry kinds.
const (
	// WALReceived is a message from a peer that changed the engine's
	// state. It is written without fsync: losing the tail of them in a
	// crash only means re-learning them from peers.
	WALReceived WALKind = 1
	// WALTimeout is a timeout that fired.
	WALTimeout WALKind = 2
	// WALSigned is a message this validator signed. It must be durable
	// before the message is sent: on restart the engine re-sends it
	// rather than sign anything else at its height, round and step.
	WALSigned WALKind = 3
)

// Step is the paper's step_p.
type Step uint8

// Steps of a round.
const (
	StepPropose   Step = 1
	StepPrevote   Step = 2
	StepPrecommit Step = 3
)

func (s Step) String() string {
	switch s {
	case StepPropose:
		return "propose"
	case StepPrevote:
		return "prevote"
	case StepPrecommit:
		return "precommit"
	}
	return fmt.Sprintf("Step(%d)", uint8(s))
}

// TimeoutInfo names a timeout: the step it was scheduled in.
type TimeoutInfo struct {
	Height uint64
	Round  int32
	Step   Step
}

// WALEntry is one record of the consensus WAL.
//
// Canonical encoding (version 1): u8 version | u8 kind | payload, where the
// payload is a Message for WALReceived and WALSigned, and
// u64 height | u32 round | u8 step for WALTimeout.
type WALEntry struct {
	Kind    WALKind
	Msg     *Message
	Timeout TimeoutInfo
}

// Sync reports whether the entry must be durable before the messages of the
// same Ready are sent.
func (w *WALEntry) Sync() bool { return w.Kind == WALSigned }

// Height returns the height the entry belongs to.
func (w *WALEntry) Height() uint64 {
	if w.Kind == WALTimeout {
		return w.Timeout.Height
	}
	return w.Msg.Height()
}

// EncodeTo writes the canonical encoding.
func (w *WALEntry) EncodeTo(e *codec.Encoder) {
	e.Uint8(walEntryVersion)
	e.Uint8(uint8(w.Kind))
	switch w.Kind {
	case WALReceived, WALSigned:
		w.Msg.EncodeTo(e)
	case WALTimeout:
		e.Uint64(w.Timeout.Height)
		e.Uint32(uint32(w.Timeout.Round))
		e.Uint8(uint8(w.Timeout.Step))
	}
}

// DecodeFrom reads the canonical encoding.
func (w *WALEntry) DecodeFrom(d *codec.Decoder) {
	d.Version(walEntryVersion)
	w.Kind = WALKind(d.Uint8())
	w.Msg = nil
	w.Timeout = TimeoutInfo{}
	if d.Err() != nil {
		return
	}
	switch w.Kind {
	case WALReceived, WALSigned:
		w.Msg = new(Message)
		w.Msg.DecodeFrom(d)
		if d.Err() == nil && w.Kind == WALSigned && w.Msg.Kind == MsgDecided {
			d.Failf("a decided message is never signed by one validator")
		}
	case WALTimeout:
		w.Timeout.Height = d.Uint64()
		w.Timeout.Round = int32(d.Uint32())
		w.Timeout.Step = Step(d.Uint8())
		if d.Err() != nil {
			return
		}
		if w.Timeout.Height == 0 || w.Timeout.Round < 0 || w.Timeout.Round > MaxRound ||
			w.Timeout.Step < StepPropose || w.Timeout.Step > StepPrecommit {
			d.Failf("timeout %+v", w.Timeout)
		}
	default:
		d.Fail(fmt.Errorf("%w: WAL entry kind %d", codec.ErrUnknownKind, w.Kind))
	}
}

// Persist appends rd's WAL entries to w, with fsync if any of them must be
// durable before rd's messages are sent.
func Persist(w WAL, rd *Ready) error {
	if len(rd.WAL) == 0 {
		return nil
	}
	recs := make([][]byte, len(rd.WAL))
	sync := false
	for i := range rd.WAL {
		recs[i] = codec.Encode(&rd.WAL[i])
		sync = sync || rd.WAL[i].Sync()
	}
	return w.Append(recs, sync)
}

// ReadWAL decodes every record of w. A record that does not decode is an
// error: the file WAL's checksums already dropped a torn tail, so a bad
// record here means the log was written by something else.
func ReadWAL(w WAL) ([]WALEntry, error) {
	recs, err := w.ReadAll()
	if err != nil {
		return nil, err
	}
	out := make([]WALEntry, len(recs))
	for i, r := range recs {
		if err := codec.Decode(r, &out[i]); err != nil {
			return nil, fmt.Errorf("consensus WAL record %d: %w", i, err)
		}
	}
	return out, nil
}

// CompactWAL drops the entries of heights up to committedHeight, which the
// application has durably committed, so the log stays small.
func CompactWAL(w WAL, committedHeight uint64) error {
	entries, err := ReadWAL(w)
	if err != nil {
		return err
	}
	var keep [][]byte
	for i := range entries {
		if entries[i].Height() > committedHeight {
			keep = append(keep, codec.Encode(&entries[i]))
		}
	}
	if len(keep) == len(entries) {
		return nil
	}
	return w.Replace(keep)
}
