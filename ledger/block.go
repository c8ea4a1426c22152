package ledger

import (
	"crypto/sha256"
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

const blockVersion = 1

// Header is what consensus signs for a block (through the block hash). It
// commits to the block's transactions (TxRoot) and to the state after
// executing them (StateRoot), so a commit certificate for a block is also a
// certificate for the state it produces.
type Header struct {
	ChainID       string
	Height        uint64
	TimeMs        int64 // Unix milliseconds, from consensus (weighted median of votes)
	PrevBlockHash [32]byte
	Proposer      wallet.Address // the proposer's account; fees go to it
	TxRoot        [32]byte
	StateRoot     [32]byte
}

// Block is a header and the transactions, each in its canonical encoding.
type Block struct {
	Header Header
	Txs    [][]byte
}

func (h *Header) EncodeTo(e *codec.Encoder) {
	e.Uint8(blockVersion)
	e.String(h.ChainID)
	e.Uint64(h.Height)
	e.Int64(h.TimeMs)
	e.Fixed(h.PrevBlockHash[:])
	e.Fixed(h.Proposer[:])
	e.Fixed(h.TxRoot[:])
	e.Fixed(h.StateRoot[:])
}

func (h *Header) DecodeFrom(d *codec.Decoder) {
	d.Version(blockVersion)
	h.ChainID = d.String(64)
	h.Height = d.Uint64()
	h.TimeMs = d.Int64()
	d.Fixed(h.PrevBlockHash[:])
	d.Fixed(h.Proposer[:])
	d.Fixed(h.TxRoot[:])
	d.Fixed(h.StateRoot[:])
}

// Hash is SHA-256 of the header's encoding: the block's identity.
func (h *Header) Hash() [32]byte { return sha256.Sum256(codec.Encode(h)) }

// Hash is the header's hash.
func (b *Block) Hash() [32]byte { return b.Header.Hash() }

// maxBlockTxs bounds a block's transaction count in decoding.
const maxBlockTxs = 1 << 20

func (b *Block) EncodeTo(e *codec.Encoder) {
	b.Header.EncodeTo(e)
	e.Uvarint(uint64(len(b.Txs)))
	for _, tx := range b.Txs {
		e.BytesVar(tx)
	}
}

func (b *Block) DecodeFrom(d *codec.Decoder) {
	b.Header.DecodeFrom(d)
	n := d.Count(maxBlockTxs, 1)
	b.Txs = make([][]byte, n)
	for i := range b.Txs {
		b.Txs[i] = d.BytesVar(16 << 20)
	}
}

// Encode returns the block's canonical encoding.
func (b *Block) Encode() []byte { return codec.Encode(b) }

// DecodeBlock parses a block, rejecting non-canonical input.
func DecodeBlock(data []byte) (*Block, error) {
	var b Block
	if err := codec.Decode(data, &b); err != nil {
		return nil, fmt.Errorf("block: %w", err)
	}
	return &b, nil
}

// TxRoot is the Merkle root of a block's transactions in the layout of
// RFC 6962 (leaf hash SHA-256(0x00 || tx), node hash SHA-256(0x01 || l || r),
// the split at the largest power of two below n), so that a transaction's
// inclusion can be proven with log n hashes. The root of no transactions is
// SHA-256 of the empty string.
func TxRoot(txs [][]byte) [32]byte {
	if len(txs) == 0 {
		return sha256.Sum256(nil)
	}
	hashes := make([][32]byte, len(txs))
	for i, tx := range txs {
		h := sha256.New()
		h.Write([]byte{0})
		h.Write(tx)
		h.Sum(hashes[i][:0])
	}
	return merkleRoot(hashes)
}

func merkleRoot(h [][32]byte) [32]byte {
	if len(h) == 1 {
		return h[0]
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	l, r := merkleRoot(h[:k]), merkleRoot(h[k:])
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}
