// Package privval is the validator's double-sign guard: a signer that
// wraps the consensus key and keeps, in its own small file, the last
// height, round and step it signed, with the chain id, tag, signed bytes
// and signature, as CometBFT's priv_validator_state.json does. It refuses
// to sign anything at or below that (height, round, step) unless it is
// exactly the message signed there, which gets the same signature back.
// A proposal is step 1, a prevote step 2, a precommit step 3
// (consensus.SignedStep).
//
// It is independent of the consensus WAL on purpose: the WAL records what
// the engine signed so that it re-sends rather than re-signs, but a WAL
// can be damaged or repaired (its last synced Append can be cut as a torn
// tail, and `gridmint wal repair` drops everything after a corrupt
// record), and a ledger can reopen lower than it was. The guard is what
// still refuses a second, conflicting signature.
//
// Durability: the new state is written to name.tmp, fsynced, renamed over
// name and the directory is fsynced, all before SignTyped returns the
// signature, so before the signature can leave the node. A crash before
// the rename is durable leaves the old state and a signature that was
// never returned; a crash after it leaves the new state, and the same
// message can be signed again (the same signature) but no other. If a
// write fails the guard refuses everything until it is reopened: the
// file may hold either state.
//
// File format (canonical, package codec): string "gridmint/privval/state"
// | u8 version 1 | string chain id | u64 height | u32 round | u8 step |
// string tag | bytes sign bytes | [65] signature | [32] SHA-256 of all
// the bytes before it. Height 0 is "nothing signed yet" (everything else
// empty or zero). The decoder rejects any other form, a bad checksum, a
// step out of range, and sign bytes whose own height, round and step are
// not the state's. A missing or corrupt file is an error (Open never
// resets a guard); the node creates the file once, from its WAL.
//
// Tests: the same message signed again gets the same signature; a lower
// or equal step with another message is refused; a higher one is signed
// and persisted first; a corrupt file (every byte flipped) is refused; a
// failed write makes the guard refuse until reopened; with DeferWrites
// the guard still refuses while the file waits for Flush; fuzzing of the
// decoder (corpus in testdata/fuzz).
package privval

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/consensus/wal"
	"github.com/gridmint/gridmint/wallet"
)

// FileName is the guard's file in a node's data directory.
const FileName = "sign_state"

const (
	stateTag     = "gridmint/privval/state"
	stateVersion = 1
	// maxSignBytes bounds the signed body (votes and proposals sign a few
	// dozen bytes).
	maxSignBytes = 256
	// maxFileBytes bounds what Open reads.
	maxFileBytes = 1024
)

// Errors.
var (
	// ErrDoubleSign: asked to sign at or below the last signed step a
	// message other than the one signed there.
	ErrDoubleSign = errors.New("privval: refusing to sign: conflicts with the last signed step")
	// ErrCorrupt: the state file does not decode or fails its checksum.
	ErrCorrupt = errors.New("privval: state file is corrupt")
	// ErrBroken: a write of the state failed; the guard signs nothing more.
	ErrBroken = errors.New("privval: state write failed earlier; reopen the guard")
)

// State is the last signed step.
type State struct {
	ChainID   string
	Height    uint64
	Round     int32
	Step      consensus.Step
	Tag       wallet.Tag
	SignBytes []byte
	Signature wallet.Signature
}

// IsZero reports whether nothing was signed.
func (s State) IsZero() bool { return s.Height == 0 }

func (s State) String() string {
	if s.IsZero() {
		return "nothing signed"
	}
	return fmt.Sprintf("%s at height %d round %d", s.Step, s.Height, s.Round)
}

// Message returns the signed vote as a consensus message, if the last
// signed message is a vote (a proposal's signed body holds only its
// value's hash, so it cannot be rebuilt).
func (s State) Message() (*consensus.Message, bool) {
	if s.IsZero() || s.Tag != consensus.TagVote {
		return nil, false
	}
	v, err := consensus.VoteFromSignBytes(s.SignBytes, s.Signature)
	if err != nil {
		return nil, false
	}
	return &consensus.Message{Kind: consensus.MsgVote, Vote: v}, true
}

// EncodeTo writes the canonical encoding (with its checksum).
func (s *State) EncodeTo(e *codec.Encoder) {
	var body codec.Encoder
	s.encodeBody(&body)
	sum := sha256.Sum256(body.Bytes())
	e.Fixed(body.Bytes())
	e.Fixed(sum[:])
}

// DecodeFrom reads the canonical encoding and checks it.
func (s *State) DecodeFrom(d *codec.Decoder) {
	if tag := d.String(len(stateTag)); d.Err() == nil && tag != stateTag {
		d.Failf("not a privval state (tag %q)", tag)
	}
	d.Version(stateVersion)
	s.ChainID = d.String(64)
	s.Height = d.Uint64()
	s.Round = int32(d.Uint32())
	s.Step = consensus.Step(d.Uint8())
	s.Tag = wallet.Tag(d.String(64))
	s.SignBytes = d.BytesVar(maxSignBytes)
	d.Fixed(s.Signature[:])
	if d.Err() != nil {
		return
	}
	var e codec.Encoder
	s.encodeBody(&e)
	var sum [32]byte
	d.Fixed(sum[:])
	if d.Err() != nil {
		return
	}
	if sha256.Sum256(e.Bytes()) != sum {
		d.Failf("checksum mismatch")
		return
	}
	if err := s.check(); err != nil {
		d.Fail(err)
	}
}

func (s *State) encodeBody(e *codec.Encoder) {
	e.String(stateTag)
	e.Uint8(stateVersion)
	e.String(s.ChainID)
	e.Uint64(s.Height)
	e.Uint32(uint32(s.Round))
	e.Uint8(uint8(s.Step))
	e.String(string(s.Tag))
	e.BytesVar(s.SignBytes)
	e.Fixed(s.Signature[:])
}

func (s *State) check() error {
	if s.Height == 0 {
		if s.Round != 0 || s.Step != 0 || s.Tag != "" || len(s.SignBytes) != 0 || s.Signature != (wallet.Signature{}) {
			return errors.New("privval: height 0 with a signed step")
		}
		if s.ChainID != "" {
			return wallet.ValidateChainID(s.ChainID)
		}
		return nil
	}
	if err := wallet.ValidateChainID(s.ChainID); err != nil {
		return err
	}
	if len(s.SignBytes) == 0 {
		return errors.New("privval: a signed step without its sign bytes")
	}
	h, r, st, err := consensus.SignedStep(s.Tag, s.SignBytes)
	if err != nil {
		return err
	}
	if h != s.Height || r != s.Round || st != s.Step {
		return fmt.Errorf("privval: state says %s, its sign bytes %s at height %d round %d", s, st, h, r)
	}
	return nil
}

// Encode returns the file's bytes.
func (s *State) Encode() []byte { return codec.Encode(s) }

// Decode parses a state file.
func Decode(b []byte) (State, error) {
	var s State
	if err := codec.Decode(b, &s); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return s, nil
}

// RefusedError is a refusal to sign, with what was asked and what was
// signed last.
type RefusedError struct {
	File   string
	Height uint64
	Round  int32
	Step   consensus.Step
	Last   State
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("privval: refusing to sign a %s at height %d round %d: this validator last signed a different %s (%s)",
		e.Step, e.Height, e.Round, e.Last.String(), e.File)
}

func (e *RefusedError) Unwrap() error { return ErrDoubleSign }

// Guard is a consensus.Signer that refuses to double-sign. Not safe for
// concurrent use (the engine signs from one goroutine).
type Guard struct {
	fs     wal.FS
	dir    string
	path   string
	inner  consensus.Signer
	st     State
	broken error
	// deferred: new states are kept in memory and written by Flush
	// (DeferWrites); dirty: st is not in the file yet.
	deferred, dirty bool
}

var _ consensus.Signer = (*Guard)(nil)

// Open loads the guard's state file name in dir. A missing file is an
// error wrapping os.ErrNotExist (see Create); a corrupt one wraps
// ErrCorrupt and names the file.
func Open(fs wal.FS, dir, name string, inner consensus.Signer) (*Guard, error) {
	g := &Guard{fs: fs, dir: dir, path: filepath.Join(dir, name), inner: inner}
	f, err := fs.OpenFile(g.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("privval: open %s: %w", g.path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("privval: read %s: %w", g.path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorrupt, g.path, maxFileBytes)
	}
	st, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; the validator must not start without it (it could sign twice at a step it signed before): restore the file, or stop this key signing", g.path, err)
	}
	g.st = st
	return g, nil
}

// Create writes a new state file (replacing any) holding initial, durably,
// and returns its guard. The node calls it once, when the file does not
// exist yet, with the last message its WAL says it signed.
func Create(fs wal.FS, dir, name string, inner consensus.Signer, initial State) (*Guard, error) {
	if err := initial.check(); err != nil {
		return nil, err
	}
	g := &Guard{fs: fs, dir: dir, path: filepath.Join(dir, name), inner: inner}
	if err := g.write(&initial); err != nil {
		return nil, err
	}
	g.st = initial
	return g, nil
}

// Path is the state file.
func (g *Guard) Path() string { return g.path }

// Last returns the last signed step.
func (g *Guard) Last() State { return g.st }

// Address implements consensus.Signer.
func (g *Guard) Address() wallet.Address { return g.inner.Address() }

// SignTyped implements consensus.Signer: it signs a vote or a proposal
// above the last signed step after persisting it, returns the stored
// signature for exactly the last signed message, and refuses anything
// else with a *RefusedError.
func (g *Guard) SignTyped(tag wallet.Tag, chainID string, body []byte) (wallet.Signature, error) {
	if g.broken != nil {
		return wallet.Signature{}, fmt.Errorf("%w: %v", ErrBroken, g.broken)
	}
	h, r, s, err := consensus.SignedStep(tag, body)
	if err != nil {
		return wallet.Signature{}, fmt.Errorf("privval: refusing to sign: %w", err)
	}
	if c := compare(h, r, s, &g.st); c <= 0 {
		if c == 0 && tag == g.st.Tag && chainID == g.st.ChainID && bytes.Equal(body, g.st.SignBytes) {
			return g.st.Signature, nil
		}
		return wallet.Signature{}, &RefusedError{File: g.path, Height: h, Round: r, Step: s, Last: g.st}
	}
	sig, err := g.inner.SignTyped(tag, chainID, body)
	if err != nil {
		return wallet.Signature{}, err
	}
	next := State{ChainID: chainID, Height: h, Round: r, Step: s, Tag: tag, SignBytes: bytes.Clone(body), Signature: sig}
	if g.deferred {
		g.st, g.dirty = next, true
		return sig, nil
	}
	if err := g.write(&next); err != nil {
		g.broken = err
		return wallet.Signature{}, err
	}
	g.st = next
	return sig, nil
}

// DeferWrites makes the guard keep each new state in memory only: it
// still refuses every conflicting signature while it runs, but the file
// is written by Flush (the node calls it when it closes), not before each
// signature is returned. UNSAFE across a crash: a process killed before
// Flush leaves the file behind what it signed, and a guard opened from it
// would sign again at a step it signed. Only for a data directory that no
// process ever reopens after a crash, where the file system's fsyncs are
// no-ops too (the deterministic devnet on a temporary directory,
// node.NodeConfig.UnsafeNoSync): there each write was a file creation and
// a rename per signature for nothing.
func (g *Guard) DeferWrites() { g.deferred = true }

// Flush writes a state that DeferWrites kept in memory (nothing if there
// is none). After a failed write the guard refuses everything.
func (g *Guard) Flush() error {
	if g.broken != nil {
		return fmt.Errorf("%w: %v", ErrBroken, g.broken)
	}
	if !g.dirty {
		return nil
	}
	if err := g.write(&g.st); err != nil {
		g.broken = err
		return err
	}
	g.dirty = false
	return nil
}

// compare orders (h, r, s) against the state's step: -1 below, 0 equal,
// 1 above. Nothing signed is below everything.
func compare(h uint64, r int32, s consensus.Step, st *State) int {
	switch {
	case st.IsZero():
		return 1
	case h != st.Height:
		return cmp3(h > st.Height)
	case r != st.Round:
		return cmp3(r > st.Round)
	case s != st.Step:
		return cmp3(s > st.Step)
	}
	return 0
}

func cmp3(above bool) int {
	if above {
		return 1
	}
	return -1
}

// write persists st: temporary file, fsync, rename, directory fsync.
func (g *Guard) write(st *State) error {
	tmp := g.path + ".tmp"
	f, err := g.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("privval: write %s: %w", tmp, err)
	}
	_, err = f.Write(st.Encode())
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = g.fs.Rename(tmp, g.path)
	}
	if err == nil {
		err = g.fs.SyncDir(g.dir)
	}
	if err != nil {
		return fmt.Errorf("privval: write %s: %w", g.path, err)
	}
	return nil
}

// Restore returns entries (a WAL's, about to be handed to Engine.Start)
// with the guard's last signed vote added as a signed entry if the WAL
// lacks a vote of its height, round and type, at or above nextHeight (the
// engine's start height); added reports whether it was. That is the case
// after a crash between the guard's write and the WAL's sync, and after a
// WAL repair: the engine then re-sends that vote (and restores the lock a
// precommit carries) instead of asking the guard for another at the same
// step, which the guard would refuse. The caller should append the entry
// to its WAL too.
func Restore(g *Guard, entries []consensus.WALEntry, nextHeight uint64) (out []consensus.WALEntry, added bool) {
	m, ok := g.Last().Message()
	if !ok || m.Vote.Height < nextHeight {
		return entries, false
	}
	for i := range entries {
		if e := &entries[i]; e.Kind == consensus.WALSigned && e.Msg.Kind == consensus.MsgVote &&
			e.Msg.Vote.Height == m.Vote.Height && e.Msg.Vote.Round == m.Vote.Round && e.Msg.Vote.Type == m.Vote.Type {
			return entries, false
		}
	}
	return append(entries, consensus.WALEntry{Kind: consensus.WALSigned, Msg: m}), true
}
