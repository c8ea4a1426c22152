package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/consensus/privval"
	"github.com/gridmint/gridmint/consensus/wal"
)

// readMemFile and writeMemFile read and (durably) rewrite a file of a
// validator's crashable file system, as a disk that flipped a byte would.
func readMemFile(t *testing.T, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeMemFile(t *testing.T, fs vfs.FS, name string, data []byte) {
	t.Helper()
	if err := writeFileDurable(fs, name, data); err != nil {
		t.Fatal(err)
	}
}

// guardLast records validator i's guard state in the sign log, as a
// signed message (when it is a vote): the guard holds what it signed,
// which must not conflict with anything sent either.
func (s *signLog) fromGuard(t *testing.T, i int, n *Node) privval.State {
	t.Helper()
	if n.guard == nil {
		t.Fatalf("validator %d does not sign through the guard", i)
	}
	st := n.guard.Last()
	if m, ok := st.Message(); ok {
		s.add(fmt.Sprintf("validator %d guard", i), m)
	}
	return st
}

// topSigned is the highest (height, round, step) among the signed records
// of a WAL.
func topSigned(entries []consensus.WALEntry) (uint64, int32, consensus.Step) {
	var h uint64
	var r int32
	var s consensus.Step
	for i := range entries {
		m := entries[i].Msg
		if entries[i].Kind != consensus.WALSigned {
			continue
		}
		var mh uint64
		var mr int32
		var ms consensus.Step
		if m.Kind == consensus.MsgVote {
			mh, mr, ms = m.Vote.Height, m.Vote.Round, consensus.StepPrevote
			if m.Vote.Type == consensus.Precommit {
				ms = consensus.StepPrecommit
			}
		} else {
			mh, mr, ms = m.Proposal.Height, m.Proposal.Round, consensus.StepPropose
		}
		if mh > h || mh == h && (mr > r || mr == r && ms > s) {
			h, r, s = mh, mr, ms
		}
	}
	return h, r, s
}

// TestCorruptWALRefusesToStart is issue 15's "Done when": one byte of a
// validator's WAL is corrupted in the middle (in a synced record with
// another synced record after it) while it is down. It refuses to start,
// with an error naming the file, the offset and the repair command, and
// leaves the file as it was; the other three go on. After RepairWAL (what
// `gridmint wal repair` runs), which drops the signed records after the
// damage, it starts, catches up and votes again, and neither on the wire
// nor in its WAL or its guard is there a conflicting signature (the sign
// log of TestValidatorCrashes); nobody submits evidence.
func TestCorruptWALRefusesToStart(t *testing.T) {
	signed := newSignLog()
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 2, Seed: 23, Blocks: 1 << 40, Deterministic: true,
		BlockIntervalMs: 1000, CrashableFS: true, sent: signed.sent})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const i = 2
	// Stop it in the middle of a height, with two signed records or more.
	if !d.runUntil(t, 600_000, func() bool {
		if d.height(0) < 5 {
			return false
		}
		entries, err := consensus.ReadWAL(d.nodes[i].wal)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.Kind == consensus.WALSigned {
				n++
			}
		}
		return n >= 2
	}) {
		t.Fatal("validator never had two signed records in its WAL")
	}
	entries, _ := consensus.ReadWAL(d.nodes[i].wal)
	var first *consensus.WALEntry
	for k := range entries {
		if entries[k].Kind == consensus.WALSigned {
			first = &entries[k]
			break
		}
	}
	stopped := d.height(i)
	if err := d.crash(i, 100); err != nil {
		t.Fatal(err)
	}
	path := PathsOf(d.ValidatorDir(i)).WAL
	data := readMemFile(t, d.fs[i], path)
	at := bytes.Index(data, codec.Encode(first))
	if at < 12 {
		t.Fatalf("first signed record not found in the WAL file (%d)", at)
	}
	data[at+7] ^= 0x40 // one byte of the record's payload
	writeMemFile(t, d.fs[i], path, data)

	err = d.restartCrashed(i)
	var ce *wal.CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("validator started on a WAL corrupt mid-file: %v", err)
	}
	if ce.File != path || ce.Offset != int64(at-12) {
		t.Fatalf("corrupt error %+v; want %s at %d", ce, path, at-12)
	}
	for _, want := range []string{path, fmt.Sprintf("byte %d", at-12), "gridmint wal repair --home " + d.ValidatorDir(i)} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error does not say %q: %v", want, err)
		}
	}
	if got := readMemFile(t, d.fs[i], path); !bytes.Equal(got, data) {
		t.Fatal("the failed start changed the corrupt WAL")
	}
	// The others go on without it.
	top := d.height(0)
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= top+3 }) {
		t.Fatal("the other three stopped")
	}
	if len(signed.conflicts) > 0 {
		t.Fatalf("before the repair: %q", signed.conflicts)
	}

	rep, err := RepairWAL(d.fs[i], d.ValidatorDir(i))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Corrupt || rep.Offset != int64(at-12) || rep.Backup != fmt.Sprintf("%s.corrupt-%d", path, at-12) {
		t.Fatalf("repair: %+v", rep.RepairResult)
	}
	if saved := readMemFile(t, d.fs[i], rep.Backup); !bytes.Equal(saved, data) {
		t.Fatal("the repair did not keep the original")
	}
	// The repair dropped signed records: the guard is now ahead of the WAL.
	l, err := wal.Open(walFS{fs: d.fs[i]}, filepath.Dir(path), filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := consensus.ReadWAL(l)
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	gh, gr, gs := rep.Guard.Height, rep.Guard.Round, rep.Guard.Step
	if h, r, s := topSigned(kept); !(gh > h || gh == h && (gr > r || gr == r && gs > s)) {
		t.Fatalf("guard at %s, repaired WAL at h=%d r=%d %s: the repair dropped nothing signed", rep.Guard.String(), h, r, s)
	}

	restarted := false
	d.restarted = func(k int, n *Node) {
		restarted = true
		signed.fromWAL(t, k, n)
		signed.fromGuard(t, k, n)
	}
	if err := d.restartCrashed(i); err != nil {
		t.Fatal(err)
	}
	if !restarted {
		t.Fatal("no restart")
	}
	top = max(d.height(0), d.height(1), d.height(3))
	if !d.runUntil(t, 600_000, func() bool {
		return min(d.height(0), d.height(1), d.height(2), d.height(3)) >= top+4
	}) {
		t.Fatalf("after the repair: heights %d %d %d %d", d.height(0), d.height(1), d.height(2), d.height(3))
	}
	signed.fromWAL(t, i, d.nodes[i])
	signed.fromGuard(t, i, d.nodes[i])
	if len(signed.conflicts) > 0 {
		t.Fatalf("after the repair: %q", signed.conflicts)
	}
	if !d.runUntil(t, 600_000, func() bool { return signed.precommitted[d.conKeys[i].Address()] > top }) {
		t.Fatalf("validator %d caught up but never voted again (last precommit at %d)", i, signed.precommitted[d.conKeys[i].Address()])
	}
	noEvidence(t, d.nodes[0], d.height(0))
	t.Logf("stopped at height %d; WAL corrupt at byte %d; repair kept %d records, dropped %d bytes; guard at %s; %d signed messages checked",
		stopped, ce.Offset, rep.Kept, rep.DroppedBytes, rep.Guard.String(), signed.seen)
}

// TestGuardCrashes cuts a validator's power right after each sync of its
// double-sign guard, alternately after the temporary file's fsync (the
// signature computed, the guard's new state not yet durable: the
// signature is never returned) and after the directory's fsync (the state
// durable, the WAL not yet holding the message, nothing sent). After each
// restart nothing it signs conflicts with what it signed before (on the
// wire, in its WAL, in its guard), and it votes again.
func TestGuardCrashes(t *testing.T) {
	const seed = 29
	signed := newSignLog()
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 1, Seed: seed, Blocks: 1 << 40, Deterministic: true,
		BlockIntervalMs: 1000, CrashableFS: true, sent: signed.sent})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	restarts := 0
	d.restarted = func(i int, n *Node) {
		restarts++
		signed.fromWAL(t, i, n)
		signed.fromGuard(t, i, n)
	}
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) >= 3 }) {
		t.Fatal("no progress")
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	for round := 0; round < 8; round++ {
		i := rng.IntN(4)
		syncs := 1 + rng.IntN(3)*2 + round%2 // odd: before the rename is durable; even: after
		before := restarts
		d.armGuardCrash(i, syncs, rng.IntN(101))
		if !d.runUntil(t, 600_000, func() bool { return restarts > before }) {
			t.Fatalf("round %d: validator %d never crashed", round, i)
		}
		from := d.height(i)
		top := max(d.height(0), d.height(1), d.height(2), d.height(3))
		if !d.runUntil(t, 600_000, func() bool {
			return min(d.height(0), d.height(1), d.height(2), d.height(3)) >= top+3
		}) {
			t.Fatalf("round %d: heights %d %d %d %d", round, d.height(0), d.height(1), d.height(2), d.height(3))
		}
		if len(signed.conflicts) > 0 {
			t.Fatalf("round %d: %q", round, signed.conflicts)
		}
		if !d.runUntil(t, 600_000, func() bool { return signed.precommitted[d.conKeys[i].Address()] > from }) {
			t.Fatalf("round %d: validator %d never voted again (from %d, heights %d %d %d %d)", round, i, from, d.height(0), d.height(1), d.height(2), d.height(3))
		}
	}
	noEvidence(t, d.nodes[0], d.height(0))
	t.Logf("%d crashes at guard syncs, height %d, %d signed messages checked", restarts, d.height(0), signed.seen)
}

// TestLedgerRollbackCatchesUp: a validator's pebble ledger (real files on
// t.TempDir) is replaced, while it is stopped, by an older copy of itself,
// 20 blocks lower, under its newer WAL and guard. It logs an error with
// both heights and the data directory, signs and proposes nothing at or
// below the height it had committed, follows by block sync, and then
// votes again; the chain agrees on every root.
func TestLedgerRollbackCatchesUp(t *testing.T) {
	const i = 3
	sentBy := map[uint64]int{} // height → signed messages validator i sent (after the rollback)
	var watching bool
	signed := newSignLog()
	d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 0, Seed: 31, Blocks: 1 << 40, Deterministic: true,
		BlockIntervalMs: 1000, Dir: t.TempDir(), sent: func(k int, topic Topic, data []byte) {
			// Counted: what validator i signs anew. What it re-sends of
			// what it signed before (from its WAL, which keeps the records
			// of several heights) is the same signature and harmless.
			var m consensus.Message
			if k == i && watching && topic == TopicConsensus && codec.Decode(data, &m) == nil && m.Kind != consensus.MsgDecided && !signed.has(&m) {
				sentBy[m.Height()]++
			}
			signed.sent(k, topic, data)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stop := func() {
		d.net.Detach(i)
		d.links[i].cut = true
		if err := d.nodes[i].Close(); err != nil {
			t.Fatal(err)
		}
	}
	ledgerDir := PathsOf(d.ValidatorDir(i)).Ledger
	backup := filepath.Join(t.TempDir(), "ledger")
	if !d.runUntil(t, 600_000, func() bool { return d.height(i) >= 5 }) {
		t.Fatal("no progress")
	}
	stop()
	old := d.nodes[i].Ledger().Height()
	if err := os.CopyFS(backup, os.DirFS(ledgerDir)); err != nil {
		t.Fatal(err)
	}
	if err := d.startValidator(i); err != nil {
		t.Fatal(err)
	}
	if !d.runUntil(t, 600_000, func() bool { return d.height(i) >= old+20 }) {
		t.Fatal("no progress")
	}
	stop()
	newer := d.nodes[i].Ledger().Height()
	if err := os.RemoveAll(ledgerDir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(ledgerDir, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	lk := &link{d: d, i: i}
	d.links[i] = lk
	n, err := NewNode(NodeConfig{Name: "validator-3", Dir: d.ValidatorDir(i), Genesis: d.genesis,
		Account: d.valKeys[i], ConsKey: d.conKeys[i], Net: lk, BlockIntervalMs: d.cfg.BlockIntervalMs,
		Timeouts: consensus.DefaultTimeouts(), Log: slog.New(slog.NewTextHandler(&logBuf, nil))}, d.net.Now())
	if err != nil {
		t.Fatal(err)
	}
	d.nodes[i] = n
	// The ledger opened at old (the log says so, below); replaying the
	// WAL, which keeps the records of up to WALCompactEvery heights, may
	// have decided some of the heights above it again.
	if h := n.Ledger().Height(); h < old || h > newer {
		t.Fatalf("the old ledger reopened at %d, want %d (or above it by what the WAL replays, up to %d)", h, old, newer)
	}
	// Stopped in the pause after block newer, the WAL compacted: the
	// guard's precommit for block newer says at least newer-1.
	if n.catchUpTo+1 < newer {
		t.Fatalf("catching up to %d, but the node had committed %d", n.catchUpTo, newer)
	}
	for _, want := range []string{"level=ERROR", fmt.Sprintf("ledger_height=%d", old), fmt.Sprintf("committed_height=%d", n.catchUpTo), d.ValidatorDir(i)} {
		if !strings.Contains(logBuf.String(), want) {
			t.Fatalf("the log does not say %q:\n%s", want, logBuf.String())
		}
	}
	known := n.catchUpTo
	watching = true
	d.net.Attach(i, n)
	if !d.runUntil(t, 600_000, func() bool { return d.height(i) >= known+4 }) {
		t.Fatalf("never caught up: ledger at %d, committed %d before", d.height(i), known)
	}
	for h, c := range sentBy {
		if h <= known {
			t.Fatalf("validator signed %d new messages at height %d, at or below the %d it had committed", c, h, known)
		}
	}
	if !d.runUntil(t, 600_000, func() bool { return signed.precommitted[d.conKeys[i].Address()] > known }) {
		t.Fatal("caught up but never voted again")
	}
	if len(signed.conflicts) > 0 {
		t.Fatalf("%q", signed.conflicts)
	}
	h := d.height(i)
	if !d.runUntil(t, 600_000, func() bool { return d.height(0) > h && d.height(i) > h }) {
		t.Fatal("stalled")
	}
	b0, err0 := d.nodes[0].Ledger().Block(h)
	bi, erri := d.nodes[i].Ledger().Block(h)
	if err0 != nil || erri != nil || b0.Header.StateRoot != bi.Header.StateRoot {
		t.Fatalf("roots at %d disagree: %v %v", h, err0, erri)
	}
	t.Logf("ledger rolled back from %d to %d; caught up to %d; precommitted again at height %d", newer, old, known, signed.precommitted[d.conKeys[i].Address()])
}
