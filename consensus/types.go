package consensus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// Signature type tags. Each signed consensus message has its own tag, and
// the tag and the chain id are inside the signed hash (wallet.SigningHash),
// so a vote can never be replayed as a proposal, a reading or a transaction,
// nor on another chain (ARCHITECTURE rule 3). Height and round are inside
// the signed body, so a vote cannot be replayed at another height or round.
const (
	TagVote     wallet.Tag = "gridmint/vote/v1"
	TagProposal wallet.Tag = "gridmint/proposal/v1"
)

// Limits that bound what a decoder will allocate.
const (
	// MaxValueBytes bounds a proposed value (a block).
	MaxValueBytes = 8 << 20
	// MaxValidators bounds the size of a validator set and of a commit.
	MaxValidators = 1024
	// MaxRound bounds rounds so that round arithmetic never overflows int32.
	MaxRound = 1 << 30
)

const (
	voteVersion     = 1
	proposalVersion = 1
)

// Errors about messages. Callers (p2p) use them to score peers: every one of
// them means the sender sent something no honest node sends.
var (
	ErrBadHeight        = errors.New("consensus: height out of range")
	ErrBadRound         = errors.New("consensus: round out of range")
	ErrBadVoteType      = errors.New("consensus: unknown vote type")
	ErrBadSignature     = errors.New("consensus: bad signature")
	ErrUnknownValidator = errors.New("consensus: signer is not in the validator set")
	ErrWrongProposer    = errors.New("consensus: proposal not from the round's proposer")
	ErrValueHash        = errors.New("consensus: value does not match its hash")
	ErrNilBlockHash     = errors.New("consensus: block hash is nil where a block is required")
)

// Hash identifies a value: SHA-256 of its bytes. The zero Hash is "nil", the
// paper's vote for no value; no value hashes to it in practice.
type Hash [32]byte

// NilHash is the hash carried by a vote for nil.
var NilHash Hash

// HashValue returns id(v), the hash that votes carry for value v.
func HashValue(v []byte) Hash { return sha256.Sum256(v) }

// IsNil reports whether h is the nil vote.
func (h Hash) IsNil() bool { return h == NilHash }

// String returns a short hex prefix, for logs and test output.
func (h Hash) String() string {
	if h.IsNil() {
		return "nil"
	}
	return hex.EncodeToString(h[:4])
}

// VoteType says which of the two voting steps a vote belongs to.
type VoteType uint8

// Vote types.
const (
	Prevote   VoteType = 1
	Precommit VoteType = 2
)

func (t VoteType) valid() bool { return t == Prevote || t == Precommit }

func (t VoteType) String() string {
	switch t {
	case Prevote:
		return "prevote"
	case Precommit:
		return "precommit"
	}
	return fmt.Sprintf("VoteType(%d)", uint8(t))
}

// Vote is a signed PREVOTE or PRECOMMIT for a block hash (or nil) at a
// height and round.
//
// TimestampMs is the signer's clock (Unix milliseconds) when it voted; the
// time of a block is the power-weighted median of the timestamps in its
// commit (see Commit.TimeMs), so no single clock sets it.
//
// Canonical encoding (version 1):
//
//	u8 version | u8 type | u64 height | u32 round | [32] block hash |
//	i64 timestamp ms | [20] validator | [65] signature
//
// The signed body is the same without the signature, under TagVote.
type Vote struct {
	Type        VoteType
	Height      uint64
	Round       int32
	BlockHash   Hash
	TimestampMs int64
	Validator   wallet.Address
	Signature   wallet.Signature
}

// VoteEncodedLen is the length of an encoded vote.
const VoteEncodedLen = 1 + 1 + 8 + 4 + 32 + 8 + wallet.AddressLen + wallet.SignatureLen

func (v *Vote) encodeBody(e *codec.Encoder) {
	e.Uint8(voteVersion)
	e.Uint8(uint8(v.Type))
	e.Uint64(v.Height)
	e.Uint32(uint32(v.Round))
	e.Fixed(v.BlockHash[:])
	e.Int64(v.TimestampMs)
	e.Fixed(v.Validator[:])
}

// SignBytes returns the body that the vote's signature covers.
func (v *Vote) SignBytes() []byte {
	e := codec.NewEncoder(VoteEncodedLen)
	v.encodeBody(e)
	return e.Bytes()
}

// EncodeTo writes the canonical encoding.
func (v *Vote) EncodeTo(e *codec.Encoder) {
	v.encodeBody(e)
	e.Fixed(v.Signature[:])
}

// DecodeFrom reads the canonical encoding and rejects out-of-range fields.
func (v *Vote) DecodeFrom(d *codec.Decoder) {
	d.Version(voteVersion)
	v.Type = VoteType(d.Uint8())
	v.Height = d.Uint64()
	v.Round = int32(d.Uint32())
	d.Fixed(v.BlockHash[:])
	v.TimestampMs = d.Int64()
	d.Fixed(v.Validator[:])
	d.Fixed(v.Signature[:])
	if d.Err() != nil {
		return
	}
	if err := v.check(); err != nil {
		d.Fail(err)
	}
}

// check validates the fields that do not need a validator set.
func (v *Vote) check() error {
	switch {
	case !v.Type.valid():
		return fmt.Errorf("%w: %d", ErrBadVoteType, v.Type)
	case v.Height == 0:
		return ErrBadHeight
	case v.Round < 0 || v.Round > MaxRound:
		return fmt.Errorf("%w: %d", ErrBadRound, v.Round)
	}
	return nil
}

// Verify checks the vote's fields and its signature by val.
func (v *Vote) Verify(chainID string, val *Validator, ver Verifier) error {
	if err := v.check(); err != nil {
		return err
	}
	if v.Validator != val.Address {
		return ErrUnknownValidator
	}
	if err := ver.VerifyTyped(val, TagVote, chainID, v.SignBytes(), v.Signature); err != nil {
		return fmt.Errorf("%w: vote %s: %v", ErrBadSignature, v, err)
	}
	return nil
}

// String is for logs and test output.
func (v *Vote) String() string {
	return fmt.Sprintf("%s{h=%d r=%d %s by %s}", v.Type, v.Height, v.Round, v.BlockHash, v.Validator.Hex()[:8])
}

// sameVote reports whether a and b are the same vote (same signed content).
func sameVote(a, b *Vote) bool { return *a == *b }

// Proposal is a signed PROPOSAL(height, round, value, validRound) from the
// round's proposer. ValidRound is the paper's vr: -1, or the round in which
// the proposer saw 2f+1 prevotes for Value (a proof-of-lock round).
//
// The signature covers the value's hash, not the value, so that a proposal's
// signed body is small and of fixed size.
//
// Canonical encoding (version 1):
//
//	u8 version | u64 height | u32 round | u32 validRound (two's complement,
//	-1 allowed) | bytes value | [20] proposer | [65] signature
//
// The signed body is u8 version | u64 height | u32 round | u32 validRound |
// [32] SHA-256(value) | [20] proposer, under TagProposal.
type Proposal struct {
	Height     uint64
	Round      int32
	ValidRound int32
	Value      []byte
	Proposer   wallet.Address
	Signature  wallet.Signature

	hash    Hash // cached HashValue(Value); set by ValueHash
	hashSet bool
}

// ValueHash returns id(Value), computing it once.
func (p *Proposal) ValueHash() Hash {
	if !p.hashSet {
		p.hash = HashValue(p.Value)
		p.hashSet = true
	}
	return p.hash
}

// SignBytes returns the body that the proposal's signature covers.
func (p *Proposal) SignBytes() []byte {
	return proposalSignBytes(p.Height, p.Round, p.ValidRound, p.ValueHash(), p.Proposer)
}

func proposalSignBytes(height uint64, round, validRound int32, h Hash, proposer wallet.Address) []byte {
	e := codec.NewEncoder(1 + 8 + 4 + 4 + 32 + wallet.AddressLen)
	e.Uint8(proposalVersion)
	e.Uint64(height)
	e.Uint32(uint32(round))
	e.Uint32(uint32(validRound))
	e.Fixed(h[:])
	e.Fixed(proposer[:])
	return e.Bytes()
}

// EncodeTo writes the canonical encoding.
func (p *Proposal) EncodeTo(e *codec.Encoder) {
	e.Uint8(proposalVersion)
	e.Uint64(p.Height)
	e.Uint32(uint32(p.Round))
	e.Uint32(uint32(p.ValidRound))
	e.BytesVar(p.Value)
	e.Fixed(p.Proposer[:])
	e.Fixed(p.Signature[:])
}

// DecodeFrom reads the canonical encoding and rejects out-of-range fields.
func (p *Proposal) DecodeFrom(d *codec.Decoder) {
	d.Version(proposalVersion)
	p.Height = d.Uint64()
	p.Round = int32(d.Uint32())
	p.ValidRound = int32(d.Uint32())
	p.Value = d.BytesVar(MaxValueBytes)
	d.Fixed(p.Proposer[:])
	d.Fixed(p.Signature[:])
	p.hashSet = false
	if d.Err() != nil {
		return
	}
	if err := p.check(); err != nil {
		d.Fail(err)
	}
}

func (p *Proposal) check() error {
	switch {
	case p.Height == 0:
		return ErrBadHeight
	case p.Round < 0 || p.Round > MaxRound:
		return fmt.Errorf("%w: %d", ErrBadRound, p.Round)
	case p.ValidRound < -1 || p.ValidRound >= p.Round:
		return fmt.Errorf("%w: valid round %d in round %d", ErrBadRound, p.ValidRound, p.Round)
	case len(p.Value) > MaxValueBytes:
		return fmt.Errorf("%w: value of %d bytes", codec.ErrTooLong, len(p.Value))
	}
	return nil
}

// Verify checks the proposal's fields and its signature by val.
func (p *Proposal) Verify(chainID string, val *Validator, ver Verifier) error {
	if err := p.check(); err != nil {
		return err
	}
	if p.Proposer != val.Address {
		return ErrWrongProposer
	}
	if err := ver.VerifyTyped(val, TagProposal, chainID, p.SignBytes(), p.Signature); err != nil {
		return fmt.Errorf("%w: proposal h=%d r=%d: %v", ErrBadSignature, p.Height, p.Round, err)
	}
	return nil
}

// sameProposal reports whether a and b carry the same signed content.
func sameProposal(a, b *Proposal) bool {
	return a.Height == b.Height && a.Round == b.Round && a.ValidRound == b.ValidRound &&
		a.Proposer == b.Proposer && a.Signature == b.Signature && bytes.Equal(a.Value, b.Value)
}

// String is for logs and test output.
func (p *Proposal) String() string {
	return fmt.Sprintf("proposal{h=%d r=%d vr=%d %s by %s}", p.Height, p.Round, p.ValidRound, p.ValueHash(), p.Proposer.Hex()[:8])
}
