package consensus

import (
	"fmt"

	"github.com/gridmint/gridmint/codec"
)

// MsgKind says what a Message carries.
type MsgKind uint8

// Message kinds.
const (
	MsgProposal MsgKind = 1
	MsgVote     MsgKind = 2
	// MsgDecided carries a decided value and its commit certificate: what
	// block sync hands a node that is behind, and what the engine
	// re-broadcasts when it sees a validator still voting on the height it
	// has just decided.
	MsgDecided MsgKind = 3
)

// Message is what validators exchange. Exactly one of the pointers, the one
// named by Kind, is set.
//
// Canonical encoding: u8 kind | the encoding of the payload; a decided
// message is value bytes then the commit.
type Message struct {
	Kind     MsgKind
	Proposal *Proposal
	Vote     *Vote
	Decided  *DecidedMsg
}

// DecidedMsg is a value with the commit certificate that decided it.
type DecidedMsg struct {
	Value  []byte
	Commit Commit
}

// Height returns the height a message is about.
func (m *Message) Height() uint64 {
	switch m.Kind {
	case MsgProposal:
		return m.Proposal.Height
	case MsgVote:
		return m.Vote.Height
	case MsgDecided:
		return m.Decided.Commit.Height
	}
	return 0
}

// EncodeTo writes the canonical encoding.
func (m *Message) EncodeTo(e *codec.Encoder) {
	e.Uint8(uint8(m.Kind))
	switch m.Kind {
	case MsgProposal:
		m.Proposal.EncodeTo(e)
	case MsgVote:
		m.Vote.EncodeTo(e)
	case MsgDecided:
		e.BytesVar(m.Decided.Value)
		m.Decided.Commit.EncodeTo(e)
	}
}

// DecodeFrom reads the canonical encoding.
func (m *Message) DecodeFrom(d *codec.Decoder) {
	m.Kind = MsgKind(d.Uint8())
	m.Proposal, m.Vote, m.Decided = nil, nil, nil
	if d.Err() != nil {
		return
	}
	switch m.Kind {
	case MsgProposal:
		m.Proposal = new(Proposal)
		m.Proposal.DecodeFrom(d)
	case MsgVote:
		m.Vote = new(Vote)
		m.Vote.DecodeFrom(d)
	case MsgDecided:
		m.Decided = new(DecidedMsg)
		m.Decided.Value = d.BytesVar(MaxValueBytes)
		m.Decided.Commit.DecodeFrom(d)
	default:
		d.Fail(fmt.Errorf("%w: message kind %d", codec.ErrUnknownKind, m.Kind))
	}
}

// String is for logs and test output.
func (m *Message) String() string {
	switch m.Kind {
	case MsgProposal:
		return m.Proposal.String()
	case MsgVote:
		return m.Vote.String()
	case MsgDecided:
		return fmt.Sprintf("decided{h=%d r=%d %s}", m.Decided.Commit.Height, m.Decided.Commit.Round, m.Decided.Commit.BlockHash)
	}
	return fmt.Sprintf("Message(kind %d)", m.Kind)
}
