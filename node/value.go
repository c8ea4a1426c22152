package node

import (
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/ledger"
)

// BlockValue is what validators decide at a height: the ledger block and
// the commit certificate of its parent (none at height 1). The parent's
// certificate puts on chain the signatures that decided it and fixes the
// block's time: Header.TimeMs must equal the certificate's weighted-median
// time, so no single clock sets it.
type BlockValue struct {
	LastCommit *consensus.Commit
	Block      ledger.Block
}

// EncodeTo writes the canonical encoding.
func (v *BlockValue) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Bool(v.LastCommit != nil)
	if v.LastCommit != nil {
		v.LastCommit.EncodeTo(e)
	}
	v.Block.EncodeTo(e)
}

// DecodeFrom reads the canonical encoding.
func (v *BlockValue) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	if d.Bool() {
		v.LastCommit = &consensus.Commit{}
		v.LastCommit.DecodeFrom(d)
	}
	v.Block.DecodeFrom(d)
}

// DecodeBlockValue parses a decided value, rejecting non-canonical input.
func DecodeBlockValue(b []byte) (*BlockValue, error) {
	var v BlockValue
	if err := codec.Decode(b, &v); err != nil {
		return nil, fmt.Errorf("block value: %w", err)
	}
	return &v, nil
}
