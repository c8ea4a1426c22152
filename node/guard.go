package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/consensus/privval"
	"github.com/gridmint/gridmint/consensus/wal"
	"github.com/gridmint/gridmint/wallet"
)

// ErrCatchingUp is what the node's signer answers while its ledger is below
// the height the node knows it committed before (see NewNode).
var ErrCatchingUp = errors.New("node: catching up: not signing below the height this node committed before")

// guardedSigner is the engine's signer on a validator: no signature while
// the ledger is catching up to what the node committed before, and every
// other one through the double-sign guard, which persists it before it is
// returned (and so before it can be sent).
type guardedSigner struct {
	n *Node
	g *privval.Guard
}

func (s guardedSigner) Address() wallet.Address { return s.g.Address() }

func (s guardedSigner) SignTyped(tag wallet.Tag, chainID string, body []byte) (wallet.Signature, error) {
	if h := s.n.l.Height(); h < s.n.catchUpTo {
		return wallet.Signature{}, fmt.Errorf("%w: ledger at %d, committed %d", ErrCatchingUp, h, s.n.catchUpTo)
	}
	sig, err := s.g.SignTyped(tag, chainID, body)
	if errors.Is(err, privval.ErrDoubleSign) {
		s.n.log.Warn("the double-sign guard refused a signature", "err", err)
	}
	if err == nil {
		// Its own precommit comes back in the next block's certificate:
		// no need to verify what this node just signed.
		s.n.l.Sigs().AddSigned(s.n.cfg.ConsKey.Public(), tag, chainID, body, sig)
	}
	return sig, err
}

// openGuard opens the validator's double-sign guard, or creates it on the
// node's first start (or the first start of a data directory from before
// the guard) from the last message the WAL says it signed. A guard file
// that exists but does not decode stops the node.
func openGuard(fs wal.FS, p Paths, chainID string, key consensus.Signer, entries []consensus.WALEntry, n *Node) (*privval.Guard, error) {
	dir, name := filepath.Dir(p.Guard), filepath.Base(p.Guard)
	g, err := privval.Open(fs, dir, name, key)
	if err == nil {
		return g, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	st := privval.State{ChainID: chainID}
	for i := range entries {
		e := &entries[i]
		if e.Kind != consensus.WALSigned {
			continue
		}
		tag, body := consensus.TagVote, []byte(nil)
		var sig wallet.Signature
		if e.Msg.Kind == consensus.MsgVote {
			body, sig = e.Msg.Vote.SignBytes(), e.Msg.Vote.Signature
		} else {
			tag, body, sig = consensus.TagProposal, e.Msg.Proposal.SignBytes(), e.Msg.Proposal.Signature
		}
		h, r, s, err := consensus.SignedStep(tag, body)
		if err != nil {
			return nil, fmt.Errorf("signed WAL record %d: %w", i, err)
		}
		if h > st.Height || h == st.Height && (r > st.Round || r == st.Round && s > st.Step) {
			st = privval.State{ChainID: chainID, Height: h, Round: r, Step: s, Tag: tag, SignBytes: body, Signature: sig}
		}
	}
	g, err = privval.Create(fs, dir, name, key, st)
	if err != nil {
		return nil, err
	}
	n.log.Info("created the double-sign guard", "file", p.Guard, "last_signed", st.String())
	return g, nil
}

// restoreGuardVote puts the guard's last signed vote back into entries
// and the WAL (synced) if the WAL lacks it (privval.Restore).
func restoreGuardVote(w *wal.Log, entries []consensus.WALEntry, g *privval.Guard, nextHeight uint64) ([]consensus.WALEntry, error) {
	out, added := privval.Restore(g, entries, nextHeight)
	if !added {
		return entries, nil
	}
	if err := w.Append([][]byte{codec.Encode(&out[len(out)-1])}, true); err != nil {
		return nil, err
	}
	return out, nil
}

// committedBefore is the height the node had committed, as far as its WAL
// and its guard know: each WAL entry and the guard's last signed step are
// of a height the engine was at, one above the ledger's.
func committedBefore(entries []consensus.WALEntry, g *privval.Guard) uint64 {
	var top uint64
	for i := range entries {
		top = max(top, entries[i].Height())
	}
	if g != nil {
		top = max(top, g.Last().Height)
	}
	if top == 0 {
		return 0
	}
	return top - 1
}

// WALRepair is what RepairWAL did.
type WALRepair struct {
	*wal.RepairResult
	// Guard is the double-sign guard's last signed step, which it goes on
	// refusing to sign at or below.
	GuardFile string
	Guard     privval.State
}

// RepairWAL is `gridmint wal repair`: it sets a corrupt consensus WAL of
// the node at home aside (whole, as consensus.wal.corrupt-<offset>) and
// keeps its intact records before the damage (wal.Repair), on fsys (nil:
// the operating system's). It refuses when the double-sign guard is
// missing or corrupt: the records it drops may be votes the validator sent,
// and only the guard remembers them then. A WAL that is not corrupt is
// left alone.
func RepairWAL(fsys vfs.FS, home string) (*WALRepair, error) {
	p := PathsOf(home)
	var fs wal.FS = wal.OSFS{}
	if fsys != nil {
		fs = walFS{fs: fsys}
	}
	g, err := privval.Open(fs, filepath.Dir(p.Guard), filepath.Base(p.Guard), nil)
	if err != nil {
		return nil, fmt.Errorf("not repairing %s: the double-sign guard %s cannot be read (%w), and without it the records a repair drops would be forgotten; a node that never signs can delete the WAL instead", p.WAL, p.Guard, err)
	}
	res, err := wal.Repair(fs, filepath.Dir(p.WAL), filepath.Base(p.WAL))
	if err != nil {
		return nil, err
	}
	return &WALRepair{RepairResult: res, GuardFile: p.Guard, Guard: g.Last()}, nil
}
