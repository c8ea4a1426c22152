package sim

import (
	"errors"
	"io"
	"os"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/consensus/privval"
	"github.com/gridmint/gridmint/consensus/wal"
)

// WALCorruption is what happens to a WAL found corrupt mid-file when its
// node restarts (Scenario.WALCorruption).
type WALCorruption uint8

const (
	// WALIntact: the WAL is never corrupted.
	WALIntact WALCorruption = iota
	// WALRepaired: at some restarts of node 0 its WAL was corrupt in the
	// middle and was repaired, as `gridmint wal repair` does: the records
	// from a random one on are gone, signed ones included. Every honest
	// node signs through a double-sign guard (consensus/privval) kept
	// apart from the WAL, and starts with privval.Restore, as the node
	// does. A signature the guard refuses is not an engine error.
	WALRepaired
	// walRepairedNoGuard: the same without the guard (tests only: it must
	// lead to an equivocation, which is what the guard is for).
	walRepairedNoGuard
)

// walVictim is the node whose WAL gets corrupted (one node, so that the
// validators that may forget a lock with their WAL stay below a third).
const walVictim = 0

// guardState is a node's double-sign guard and the file system it lives
// on, which survives crashes; and what the repairs did.
type guardState struct {
	fs    *memFS
	guard *privval.Guard
	// repairs counts restarts on a repaired WAL; droppedSigned the signed
	// records those repairs dropped.
	repairs, droppedSigned int
}

// engineSigner is the signer n's engine gets at (re)start: the raw key,
// or the guard reopened from its file (Byzantine behaviours sign with the
// raw key either way).
func (s *Sim) engineSigner(n *node) (consensus.Signer, error) {
	if s.sc.WALCorruption != WALRepaired || !n.honest() {
		return n.signer, nil
	}
	if n.gs == nil {
		n.gs = &guardState{fs: &memFS{files: map[string][]byte{}}}
		g, err := privval.Create(n.gs.fs, "/", privval.FileName, n.signer, privval.State{ChainID: s.sc.ChainID})
		if err != nil {
			return nil, err
		}
		n.gs.guard = g
		return g, nil
	}
	g, err := privval.Open(n.gs.fs, "/", privval.FileName, n.signer)
	if err != nil {
		return nil, err
	}
	n.gs.guard = g
	return g, nil
}

// corruptWAL runs when n crashes: for the victim, at random, the WAL is
// found corrupt mid-file at the restart and repaired, keeping a random
// prefix of what it holds.
func (s *Sim) corruptWAL(n *node) {
	if s.sc.WALCorruption == WALIntact || n.idx != walVictim || s.rng.IntN(2) == 0 || len(n.wal.durable) == 0 {
		return
	}
	if n.gs == nil {
		n.gs = &guardState{fs: &memFS{files: map[string][]byte{}}}
	}
	k := s.rng.IntN(len(n.wal.durable))
	for _, r := range n.wal.durable[k:] {
		var e consensus.WALEntry
		if err := codec.Decode(r, &e); err == nil && e.Kind == consensus.WALSigned {
			n.gs.droppedSigned++
		}
	}
	n.wal.durable = n.wal.durable[:k]
	n.gs.repairs++
}

// restoreFromGuard is privval.Restore on n's WAL entries, the entry
// appended to the WAL too, as the node does.
func (s *Sim) restoreFromGuard(n *node, entries []consensus.WALEntry, next uint64) []consensus.WALEntry {
	if n.gs == nil || n.gs.guard == nil {
		return entries
	}
	out, added := privval.Restore(n.gs.guard, entries, next)
	if added {
		_ = n.wal.Append([][]byte{codec.Encode(&out[len(out)-1])}, true)
	}
	return out
}

// guardRefused reports whether an engine error is the guard refusing a
// signature, which is what it is there for, not an engine fault.
func guardRefused(err error) bool { return errors.Is(err, privval.ErrDoubleSign) }

// memFS is a wal.FS in memory whose writes are durable at once (the
// guard's own crash safety is tested in privval and node).
type memFS struct{ files map[string][]byte }

type memFile struct {
	fs   *memFS
	name string
	off  int
}

func (m *memFS) OpenFile(name string, flag int, _ os.FileMode) (wal.File, error) {
	if _, ok := m.files[name]; !ok {
		if flag&os.O_CREATE == 0 {
			return nil, os.ErrNotExist
		}
		m.files[name] = nil
	}
	if flag&os.O_TRUNC != 0 {
		m.files[name] = nil
	}
	return &memFile{fs: m, name: name}, nil
}

func (m *memFS) Rename(oldpath, newpath string) error {
	d, ok := m.files[oldpath]
	if !ok {
		return os.ErrNotExist
	}
	m.files[newpath] = d
	delete(m.files, oldpath)
	return nil
}

func (m *memFS) SyncDir(string) error { return nil }

func (f *memFile) Read(p []byte) (int, error) {
	d := f.fs.files[f.name]
	if f.off >= len(d) {
		return 0, io.EOF
	}
	n := copy(p, d[f.off:])
	f.off += n
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	d := f.fs.files[f.name]
	d = append(d[:min(f.off, len(d))], p...)
	f.fs.files[f.name] = d
	f.off += len(p)
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekStart {
		return 0, errors.New("memfs: seek")
	}
	f.off = int(offset)
	return offset, nil
}

func (f *memFile) Sync() error  { return nil }
func (f *memFile) Close() error { return nil }
