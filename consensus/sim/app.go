package sim

import (
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
)

// block is the simulated application's value: a height, the commit of the
// parent (so that the parent's signatures and time are on chain), the block
// time taken from that commit, the proposer and a nonce that makes values of
// different proposers (and of an equivocating proposer) differ.
type block struct {
	Height     uint64
	LastCommit []byte // canonical consensus.Commit, empty at height 1
	TimeMs     int64
	Proposer   uint32
	Nonce      uint64
}

func (b *block) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(b.Height)
	e.BytesVar(b.LastCommit)
	e.Int64(b.TimeMs)
	e.Uint32(b.Proposer)
	e.Uint64(b.Nonce)
}

func (b *block) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	b.Height = d.Uint64()
	b.LastCommit = d.BytesVar(1 << 20)
	b.TimeMs = d.Int64()
	b.Proposer = d.Uint32()
	b.Nonce = d.Uint64()
}

// committed is one block of a node's chain, as durable as a ledger.
type committed struct {
	hash   consensus.Hash
	value  []byte
	commit *consensus.Commit
	timeMs int64
	atMs   int64 // simulation time of the decision (for latency figures)
}

// app is one node's application: its committed chain and the validity rule
// that every honest node applies identically.
type app struct {
	s      *Sim
	n      *node
	chain  []committed
	nonces uint64
}

var errParentUnknown = errors.New("sim app: parent not committed")

func (a *app) ProposeValue(height uint64, lastCommit *consensus.Commit) ([]byte, error) {
	if height != uint64(len(a.chain))+1 {
		return nil, fmt.Errorf("propose at %d with %d committed: %w", height, len(a.chain), errParentUnknown)
	}
	b := block{Height: height, TimeMs: a.s.sc.GenesisTimeMs, Proposer: uint32(a.n.idx)}
	if height > 1 {
		if lastCommit == nil {
			return nil, errors.New("sim app: no last commit")
		}
		set, err := a.s.sets.ValidatorSet(height - 1)
		if err != nil {
			return nil, err
		}
		b.LastCommit = codec.Encode(lastCommit)
		b.TimeMs = lastCommit.TimeMs(set)
	}
	a.nonces++
	b.Nonce = uint64(a.n.idx)<<40 | a.nonces
	return codec.Encode(&b), nil
}

func (a *app) ValidateValue(height uint64, value []byte) error {
	var b block
	if err := codec.Decode(value, &b); err != nil {
		return err
	}
	if b.Height != height {
		return fmt.Errorf("block for height %d at %d", b.Height, height)
	}
	if height != uint64(len(a.chain))+1 {
		return errParentUnknown
	}
	if height == 1 {
		if len(b.LastCommit) != 0 || b.TimeMs != a.s.sc.GenesisTimeMs {
			return errors.New("first block must have no last commit and genesis time")
		}
		return nil
	}
	var c consensus.Commit
	if err := codec.Decode(b.LastCommit, &c); err != nil {
		return fmt.Errorf("last commit: %w", err)
	}
	set, err := a.s.sets.ValidatorSet(height - 1)
	if err != nil {
		return err
	}
	parent := &a.chain[height-2]
	if err := consensus.VerifyCommit(a.s.sc.ChainID, set, a.s.verifier, height-1, parent.hash, &c); err != nil {
		return fmt.Errorf("last commit: %w", err)
	}
	if b.TimeMs != c.TimeMs(set) {
		return fmt.Errorf("block time %d is not the last commit's %d", b.TimeMs, c.TimeMs(set))
	}
	if b.TimeMs <= parent.timeMs {
		return fmt.Errorf("block time %d not after parent's %d", b.TimeMs, parent.timeMs)
	}
	return nil
}

// BlockTimeMs implements consensus.BlockTimer.
func (a *app) BlockTimeMs(value []byte) (int64, bool) {
	var b block
	if codec.Decode(value, &b) != nil {
		return 0, false
	}
	return b.TimeMs, true
}

var _ consensus.Application = (*app)(nil)
var _ consensus.BlockTimer = (*app)(nil)
