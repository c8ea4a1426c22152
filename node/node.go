package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/consensus/privval"
	"github.com/gridmint/gridmint/consensus/wal"
	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// Topic names a kind of message between nodes.
type Topic uint8

// Topics.
const (
	TopicConsensus Topic = 1 // consensus.Message
	TopicTx        Topic = 2 // ledger.Tx
	TopicReading   Topic = 3 // meter.Reading
)

// Transport is all a node knows of the network: broadcast on a topic, and
// ask peers for the decided blocks it lacks (their answers arrive as
// consensus messages carrying a decided value). The devnet's in-process
// network implements it; the libp2p one will.
type Transport interface {
	Broadcast(topic Topic, data []byte)
	RequestBlocks(from uint64)
}

// NodeConfig is what a node is built from.
type NodeConfig struct {
	Name    string
	Dir     string // data directory: the ledger and the consensus WAL
	Genesis *ledger.Genesis
	// Account signs the reading batches this validator proposes and
	// receives its fees and rewards. ConsKey signs votes (nil: a node that
	// follows without voting).
	Account *wallet.PrivateKey
	ConsKey *wallet.PrivateKey
	Net     Transport
	// BlockIntervalMs is the pause after a decided block before the next
	// height starts (CometBFT's timeout_commit).
	BlockIntervalMs int64
	Timeouts        consensus.Timeouts
	Log             *slog.Logger
	// OnCommit, if set, is called after each block is committed.
	OnCommit func(n *Node, b *ledger.Block, r *ledger.BlockResult)
	// MaxClockDriftMs: when this node's clock and the validators' (the
	// weighted median of the precommit timestamps of a block it just
	// decided) differ by more, it warns (default 2,000 ms).
	MaxClockDriftMs int64
	// FS holds the data directory: the ledger and the consensus WAL (nil:
	// the operating system's). Tests pass vfs.NewCrashableMem() and
	// restart the node on a CrashClone of it, as after a power cut.
	FS vfs.FS

	// UnsafeNoSync makes every fsync of the data directory (the ledger's
	// pebble store and log, the consensus WAL, the directories) a no-op.
	// UNSAFE: a node that stops without a clean exit (power cut, kill)
	// may restart below what it committed and sign a vote that conflicts
	// with one it sent, a slashable double-sign. Only the deterministic
	// devnet on a temporary directory, deleted when it ends, sets it
	// (DevnetConfig.UnsafeNoSync); a node of `gridmint run` never does.
	UnsafeNoSync bool

	// WALCompactEvery is how many heights are committed between two
	// compactions of the consensus WAL (0: DefaultWALCompactEvery). Each
	// compaction rewrites the log (a new file, two fsyncs and a rename);
	// in between, a restart replays the records of at most that many
	// heights, and the engine skips those below the height it starts at.
	WALCompactEvery int

	// walSynced, if set, is called after each fsync of the WAL or its
	// directory (with FS only): the devnet's tests crash the node there;
	// guardSynced likewise after each fsync of the double-sign guard.
	walSynced   func()
	guardSynced func()
}

// Node is one gridmint node: a ledger, a consensus engine with its WAL, a
// mempool and a reading pool, and a transport. It is driven from outside
// (Deliver, Tick) by one goroutine at a time: the devnet's event loop or a
// real-time loop.
type Node struct {
	cfg      NodeConfig
	l        *ledger.Ledger
	eng      *consensus.Engine
	wal      *wal.Log
	Pool     *Mempool
	Readings *ReadingPool
	log      *slog.Logger

	pending map[consensus.Hash]*ledger.Pending
	sets    map[uint64]*consensus.ValidatorSet
	// lastSet is the last set setAt built, from the ledger's set encoded
	// as lastSetEnc.
	lastSet    *consensus.ValidatorSet
	lastSetEnc []byte
	// consKeys are the validators' consensus keys of lastSet, by their
	// encoding, with the tables that make verifying their votes faster
	// (wallet.PublicKey.Precomputed, 110 KB and about 3 ms a key): a new
	// set rebuilds only the tables of its new keys.
	consKeys map[string]*wallet.PublicKey
	// ver verifies consensus signatures once: a precommit checked on
	// arrival is not checked again in the next block's certificate.
	ver           *consensus.CachingVerifier
	lastCommit    *consensus.Commit
	lastValueHash consensus.Hash
	advanceAt     int64 // >0: a decision was applied; Advance at this time
	now           int64
	syncFrom      uint64 // the last block-sync request: from height, at time
	syncAt        int64
	walCompacted  uint64               // the committed height of the WAL's last compaction
	held          []*consensus.Message // received during the pause after a block
	// catchUpTo > ledger height: the ledger reopened below what the node
	// had committed; it signs and proposes nothing until it is back there.
	catchUpTo uint64
	// syncedTo is the highest height block sync handed over (P2PNet with
	// a BlockSync): a decided block up to it is an old one fetched to
	// catch up, entered without the block pause and not used to check the
	// clock.
	syncedTo uint64
	guard    *privval.Guard // the double-sign guard (nil: not a validator)
	// next holds the validator sets of the ledger's height and the next,
	// for PreCheck on other goroutines (replaced after each commit).
	next atomic.Pointer[heightSets]

	// Bad counts what peers sent that was refused, by topic.
	Bad map[Topic]uint64
	// ClockDriftMs is this node's clock minus the validators' at the last
	// decision; DriftWarnings counts decisions where it exceeded the limit.
	ClockDriftMs  int64
	DriftWarnings uint64
}

// DefaultWALCompactEvery is NodeConfig.WALCompactEvery's default: the WAL
// holds the records of at most 64 heights (a few hundred KB at 4
// validators), rewritten once in 64 blocks instead of after every block.
const DefaultWALCompactEvery = 64

// ErrStopped is returned after a node has failed and stopped.
var ErrStopped = errors.New("node: stopped")

// Aux keys of the ledger store: each block's certificate and decided
// value, and each validator set that has been replaced, under the last
// height it voted at (setKey), in the canonical encoding of
// ledger.ValidatorSet.
func commitKey(h uint64) []byte { return binary.BigEndian.AppendUint64([]byte("commit/"), h) }
func valueKey(h uint64) []byte  { return binary.BigEndian.AppendUint64([]byte("value/"), h) }
func setKey(h uint64) []byte    { return binary.BigEndian.AppendUint64([]byte("valset/"), h) }

// evidenceVerifier hands the ledger the consensus package's pure check,
// for every kind of evidence (a double vote, a double proposal); the
// ledger punishes one offence per consensus key and height once.
type evidenceVerifier struct{}

func (evidenceVerifier) VerifyEvidence(chainID string, data []byte, keyOf func(wallet.Address) (*wallet.PublicKey, bool)) (wallet.Address, uint64, error) {
	ev, err := consensus.DecodeEvidence(data)
	if err != nil {
		return wallet.Address{}, 0, err
	}
	pub, ok := keyOf(ev.Offender())
	if !ok {
		return wallet.Address{}, 0, fmt.Errorf("no consensus key registered for %s", ev.Offender())
	}
	return consensus.VerifyEvidence(chainID, data, pub)
}

// NewNode opens (or creates) the node's data directory and starts its
// engine from the ledger's last block and the WAL, at Unix ms nowMs.
func NewNode(cfg NodeConfig, nowMs int64) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.UnsafeNoSync {
		if cfg.FS == nil {
			cfg.FS = vfs.Default
		}
		cfg.FS = unsafeNoSyncFS{cfg.FS}
	}
	fsys, walfs := cfg.FS, wal.FS(wal.OSFS{})
	if fsys == nil {
		fsys = vfs.Default
	} else {
		walfs = walFS{fs: fsys, afterSync: cfg.walSynced}
	}
	// The directories must survive a crash, or the store and the WAL in
	// them would (and with the WAL, what this validator signed).
	if err := mkdirAllDurable(fsys, filepath.Join(cfg.Dir, "data")); err != nil {
		return nil, err
	}
	paths := PathsOf(cfg.Dir)
	// One signature cache for the node: the pools, the ledger and the
	// consensus verifier check each signature once between them.
	sigs := &wallet.SigCache{}
	l, err := ledger.Open(paths.Ledger, cfg.Genesis, ledger.Options{Evidence: evidenceVerifier{}, FS: cfg.FS, Sigs: sigs})
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, l: l, log: cfg.Log.With("node", cfg.Name), pending: map[consensus.Hash]*ledger.Pending{},
		sets: map[uint64]*consensus.ValidatorSet{}, Bad: map[Topic]uint64{}, now: nowMs}
	n.Pool = NewMempool(l, 100_000)
	n.Readings = NewReadingPool(l, 1_000_000)
	w, err := wal.Open(walfs, filepath.Dir(paths.WAL), filepath.Base(paths.WAL))
	if err != nil {
		l.Close()
		if ce := (*wal.CorruptError)(nil); errors.As(err, &ce) {
			return nil, fmt.Errorf("node %s: %w (stop, then run: gridmint wal repair --home %s)", cfg.Name, err, cfg.Dir)
		}
		return nil, err
	}
	n.wal = w
	if w.TruncatedBytes > 0 {
		n.log.Warn("cut a torn tail off the consensus WAL (a write a crash interrupted)", "file", paths.WAL, "at", w.TornAt, "bytes", w.TruncatedBytes)
	}
	entries, err := consensus.ReadWAL(w)
	if err != nil {
		n.Close()
		return nil, err
	}
	h := l.Height()
	n.ver = &consensus.CachingVerifier{Cache: sigs}
	ccfg := consensus.Config{ChainID: cfg.Genesis.ChainID, App: app{n}, Sets: sets{n}, Timeouts: cfg.Timeouts,
		StartHeight: h + 1, LastBlockTimeMs: l.LastTimeMs(), Verifier: n.ver}
	if h > 0 {
		// The certificate and value of the last block were stored with it.
		cb, ok, err := l.Aux(commitKey(h))
		if err != nil || !ok {
			n.Close()
			return nil, fmt.Errorf("node %s: certificate of block %d missing: %v", cfg.Name, h, err)
		}
		var c consensus.Commit
		if err := codec.Decode(cb, &c); err != nil {
			n.Close()
			return nil, fmt.Errorf("node %s: certificate of block %d: %w", cfg.Name, h, err)
		}
		v, _, err := l.Aux(valueKey(h))
		if err != nil {
			n.Close()
			return nil, err
		}
		n.lastCommit, n.lastValueHash = &c, consensus.HashValue(v)
		ccfg.LastCommit, ccfg.LastValue = &c, v
	}
	var guard *privval.Guard
	if cfg.ConsKey != nil {
		gfs := walfs // the WAL's file system, with the guard's sync hook
		if wf, ok := walfs.(walFS); ok {
			wf.afterSync = cfg.guardSynced
			gfs = wf
		}
		if guard, err = openGuard(gfs, paths, cfg.Genesis.ChainID, cfg.ConsKey, entries, n); err != nil {
			n.Close()
			return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
		}
		if entries, err = restoreGuardVote(w, entries, guard, h+1); err != nil {
			n.Close()
			return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
		}
		if cfg.UnsafeNoSync {
			// Nothing is synced on this directory and no process reopens
			// it after a crash: the guard's file is written at Close.
			guard.DeferWrites()
		}
		ccfg.Signer, n.guard = guardedSigner{n: n, g: guard}, guard
	}
	if known := committedBefore(entries, guard); h < known {
		// The ledger lost blocks it had committed (a damaged or restored
		// store): follow by block sync, sign and propose nothing until
		// it is back there.
		n.catchUpTo = known
		n.log.Error("the ledger reopened below the height this node had committed; not signing or proposing until it has caught up by block sync",
			"ledger_height", h, "committed_height", known, "dir", cfg.Dir)
	}
	n.publishNextSet()
	eng, err := consensus.NewEngine(ccfg)
	if err != nil {
		n.Close()
		return nil, err
	}
	n.eng = eng
	if err := eng.Start(nowMs, entries); err != nil {
		n.Close()
		return nil, err
	}
	return n, n.drain()
}

// Close releases the ledger and the WAL. Pending blocks are dropped.
func (n *Node) Close() error {
	for h, p := range n.pending {
		p.Discard()
		delete(n.pending, h)
	}
	var err error
	if n.guard != nil {
		err = n.guard.Flush()
	}
	if n.wal != nil {
		if e := n.wal.Close(); err == nil {
			err = e
		}
	}
	if n.l != nil {
		if e := n.l.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Ledger is the node's ledger.
func (n *Node) Ledger() *ledger.Ledger { return n.l }

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Sigs is the node's signature cache; its counters are the secp256k1
// recoveries and verifications this node really ran (all but those of
// double-sign evidence, which is checked outside it).
func (n *Node) Sigs() *wallet.SigCache { return n.l.Sigs() }

// Status is the consensus engine's state.
func (n *Node) Status() consensus.Status { return n.eng.Status() }

// NextWakeMs is when the node next needs Tick: an engine timeout or the
// end of the pause after a block.
func (n *Node) NextWakeMs() (int64, bool) {
	if n.advanceAt > 0 {
		return n.advanceAt, true
	}
	return n.eng.NextDeadlineMs()
}

// Tick gives the node the time.
func (n *Node) Tick(nowMs int64) error {
	n.now = nowMs
	if n.advanceAt > 0 {
		if nowMs < n.advanceAt {
			return nil
		}
		n.advanceAt = 0
		// The engine must see the time before it enters the next height:
		// enterHeight schedules the round-0 propose timeout from the
		// engine's clock, which did not move during the pause, so with a
		// stale clock the timeout would fire at the next Tick, before any
		// proposal could arrive, and every height would need round 1.
		// Ticking first is safe: the decided height's timeouts no longer
		// match the engine's height and fire as no-ops.
		if err := n.eng.Tick(nowMs); err != nil && !errors.Is(err, consensus.ErrSetNotReady) {
			n.log.Debug("tick", "err", err)
		}
		n.eng.Advance()
		if err := n.drain(); err != nil {
			return err
		}
		held := n.held
		n.held = nil
		for _, m := range held {
			if n.advanceAt > 0 {
				break // decided again already; the rest are stale
			}
			if err := n.step(m); err != nil {
				return err
			}
		}
	}
	if err := n.eng.Tick(nowMs); err != nil && !errors.Is(err, consensus.ErrSetNotReady) {
		n.log.Debug("tick", "err", err)
	}
	return n.drain()
}

// Deliver hands the node a message from a peer. Bad input is counted and
// changes nothing.
func (n *Node) Deliver(topic Topic, data []byte) error {
	switch topic {
	case TopicTx:
		if err := n.Pool.Add(data); err != nil {
			if !errors.Is(err, ErrDuplicateTx) {
				n.Bad[topic]++
			}
			return nil
		}
		return nil
	case TopicReading:
		if err := n.Readings.Add(data, n.cfg.Genesis.ChainID); err != nil {
			n.Bad[topic]++
		}
		return nil
	case TopicConsensus:
		var m consensus.Message
		if err := codec.Decode(data, &m); err != nil {
			n.Bad[topic]++
			return nil
		}
		if n.advanceAt > 0 {
			// Between a decision and the next height the engine is paused:
			// keep the message (most are for the next height) for then.
			if len(n.held) < maxHeld {
				n.held = append(n.held, &m)
			}
			return nil
		}
		return n.step(&m)
	}
	n.Bad[topic]++
	return nil
}

// floorDivMs is ms in whole seconds, rounded down (as the ledger's block
// time).
func floorDivMs(ms int64) int64 {
	if ms < 0 && ms%1000 != 0 {
		return ms/1000 - 1
	}
	return ms / 1000
}

// maxHeld bounds the messages kept during the pause after a block; past
// it they are dropped (peers re-broadcast their own messages).
const maxHeld = 4096

// step hands a consensus message to the engine and carries out its Ready.
func (n *Node) step(m *consensus.Message) error {
	if err := n.eng.Step(m); err != nil {
		if errors.Is(err, consensus.ErrHeightSkew) {
			// A peer is ahead: ask for the blocks we lack, at most once a
			// second for the same height.
			if from := n.l.Height() + 1; m.Height() > from && (from != n.syncFrom || n.now-n.syncAt >= 1000) {
				n.syncFrom, n.syncAt = from, n.now
				n.cfg.Net.RequestBlocks(from)
			}
		} else {
			n.Bad[TopicConsensus]++
			n.log.Debug("bad consensus message", "err", err)
		}
	}
	return n.drain()
}

// ServeBlocks returns decided blocks from height from on (at most max), as
// consensus messages, for a peer that is catching up.
func (n *Node) ServeBlocks(from uint64, max int) [][]byte {
	var out [][]byte
	for h := from; h <= n.l.Height() && len(out) < max; h++ {
		v, ok1, err1 := n.l.Aux(valueKey(h))
		cb, ok2, err2 := n.l.Aux(commitKey(h))
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			break
		}
		var c consensus.Commit
		if codec.Decode(cb, &c) != nil {
			break
		}
		m := &consensus.Message{Kind: consensus.MsgDecided, Decided: &consensus.DecidedMsg{Value: v, Commit: c}}
		out = append(out, codec.Encode(m))
	}
	return out
}

// drain carries out what the engine asks, in order: persist (fsync for
// own signed messages) before sending, send, apply decisions; then Advance
// unless a decision was applied. After a decision the next height is
// entered by Tick (at advanceAt, after the block pause, immediately without
// one), never here: drain also runs inside Deliver, which does not know the
// time, and the next height must start on the current clock.
func (n *Node) drain() error {
	for n.eng.HasReady() && n.advanceAt == 0 {
		rd := n.eng.Ready()
		if err := consensus.Persist(n.wal, &rd); err != nil {
			// A node that cannot persist must not send: stop here.
			return fmt.Errorf("node %s: %w: %v", n.cfg.Name, ErrStopped, err)
		}
		for _, m := range rd.Messages {
			n.cfg.Net.Broadcast(TopicConsensus, codec.Encode(m))
		}
		for _, ev := range rd.Evidence {
			n.submitEvidence(ev)
		}
		for _, e := range rd.LocalErrors {
			n.log.Debug("consensus", "err", e)
		}
		decided := false
		for _, d := range rd.Decisions {
			if err := n.apply(d); err != nil {
				return err
			}
			decided = true
		}
		if decided {
			// The block is committed (synced): the WAL's records of its
			// height and below are no longer needed; they are dropped
			// every WALCompactEvery heights. A log that cannot be
			// rewritten may not be the one a restart reads: stop.
			every := uint64(DefaultWALCompactEvery)
			if n.cfg.WALCompactEvery > 0 {
				every = uint64(n.cfg.WALCompactEvery)
			}
			if h := n.l.Height(); h >= n.walCompacted+every {
				if err := consensus.CompactWAL(n.wal, h); err != nil {
					return fmt.Errorf("node %s: %w: compacting the WAL: %v", n.cfg.Name, ErrStopped, err)
				}
				n.walCompacted = h
			}
			pause := n.cfg.BlockIntervalMs
			if n.l.Height() <= n.syncedTo {
				pause = 0
			}
			n.advanceAt = max(n.now+pause, 1)
			return nil
		}
		n.eng.Advance()
	}
	return nil
}

// submitEvidence turns double-signing into an evidence transaction from
// this node's account.
func (n *Node) submitEvidence(ev consensus.Evidence) {
	if n.cfg.Account == nil {
		return
	}
	acc, err := n.l.Account(n.cfg.Account.Address())
	if err != nil {
		return
	}
	p, _ := n.l.Params()
	tx := &ledger.Tx{Nonce: acc.Nonce + uint64(n.ownPending()), Fee: p.MinFee, Payload: &ledger.Evidence{Data: codec.Encode(ev)}}
	if tx.Sign(n.cfg.Account, n.cfg.Genesis.ChainID) == nil {
		raw := tx.Encode()
		if n.Pool.Add(raw) == nil {
			n.cfg.Net.Broadcast(TopicTx, raw)
		}
	}
}

// ownPending counts this node's own transactions in its mempool.
func (n *Node) ownPending() int {
	if n.cfg.Account == nil {
		return 0
	}
	return len(n.Pool.bySender[n.cfg.Account.Address()])
}

// apply commits a decided block (executing it if this node has not) with
// its certificate, and updates the pools.
func (n *Node) apply(d consensus.Decision) error {
	h := consensus.HashValue(d.Value)
	p := n.pending[h]
	delete(n.pending, h)
	if p == nil {
		bv, err := DecodeBlockValue(d.Value)
		if err != nil {
			return fmt.Errorf("node %s: decided value: %w", n.cfg.Name, err)
		}
		if p, err = n.l.Execute(&bv.Block); err != nil {
			return fmt.Errorf("node %s: decided block %d does not execute: %w", n.cfg.Name, d.Height, err)
		}
	}
	for k, other := range n.pending {
		other.Discard()
		delete(n.pending, k)
	}
	p.SetAux(commitKey(d.Height), codec.Encode(d.Commit))
	p.SetAux(valueKey(d.Height), d.Value)
	if replacesSet(p.Results) {
		// The set that voted up to this block ends with it (the ledger
		// keeps only the current one): keep it for setAt, with the block.
		ls, err := n.l.ValidatorSet()
		if err != nil {
			p.Discard()
			return fmt.Errorf("node %s: %w", n.cfg.Name, err)
		}
		p.SetAux(setKey(d.Height), codec.Encode(&ls))
	}
	if err := n.l.Commit(p); err != nil {
		return fmt.Errorf("node %s: %w", n.cfg.Name, err)
	}
	n.lastCommit, n.lastValueHash = d.Commit, h
	n.publishNextSet()
	if d.Height > n.syncedTo {
		n.checkClock(d)
	}
	n.Pool.Update()
	n.Readings.Update()
	if n.cfg.OnCommit != nil {
		n.cfg.OnCommit(n, p.Block, p.Results)
	}
	return nil
}

// heightSets holds the validator sets of two heights: the ledger's last
// (low: votes for it still arrive after its commit, and the next block's
// certificate carries them) and the next one (low+1).
type heightSets struct {
	low  uint64
	sets [2]*consensus.ValidatorSet
}

// publishNextSet makes the sets of the ledger's height and the next the
// ones PreCheck checks against.
func (n *Node) publishNextSet() {
	h := n.l.Height()
	hs := &heightSets{low: h}
	if h > 0 {
		hs.sets[0], _ = n.setAt(h)
	}
	hs.sets[1], _ = n.setAt(h + 1)
	n.next.Store(hs)
}

// PreCheck checks the signature a message from a peer carries, through the
// node's signature cache, ahead of Deliver: a transaction's and a
// reading's against the signer they claim, a vote's and a proposal's
// against the validator set of its height if that is the ledger's or the
// next (a message of another height, and a decided value, are left to
// Deliver). Safe to call
// from any goroutine, concurrently with Deliver and Tick: it changes
// nothing but the cache, so Deliver's answer is the same with or without
// it, only faster. The gossip validators run it on all cores; so do
// SimNet's workers (SimNet.Parallel). An error means the message is
// invalid whatever the node's state; nil means valid or not checkable
// here.
func (n *Node) PreCheck(topic Topic, data []byte) error {
	chainID := n.cfg.Genesis.ChainID
	switch topic {
	case TopicTx:
		tx, err := ledger.DecodeTx(data)
		if err != nil {
			return err
		}
		return tx.VerifySignatureCached(n.l.Sigs(), chainID)
	case TopicReading:
		r, err := meter.DecodeReading(data)
		if err != nil {
			return err
		}
		return r.VerifySiteCached(n.l.Sigs(), chainID)
	case TopicConsensus:
		var m consensus.Message
		if err := codec.Decode(data, &m); err != nil {
			return err
		}
		hs := n.next.Load()
		if hs == nil || m.Kind == consensus.MsgDecided || m.Height() < hs.low || m.Height() > hs.low+1 {
			return nil
		}
		set := hs.sets[m.Height()-hs.low]
		if set == nil {
			return nil
		}
		if m.Height() == hs.low && (m.Kind != consensus.MsgVote || m.Vote.Type != consensus.Precommit) {
			// Of a committed height only precommits still matter (the
			// next block's certificate carries them).
			return nil
		}
		return consensus.CheckSignature(chainID, set, n.ver, &m)
	}
	return fmt.Errorf("node: unknown topic %d", topic)
}

// checkClock compares this node's clock with the validators' clocks as the
// decision shows them: the weighted median of the precommit timestamps.
// Readings are stamped by this clock, so a node that drifts must know.
func (n *Node) checkClock(d consensus.Decision) {
	set, err := n.setAt(d.Height)
	if err != nil {
		return
	}
	peers := d.Commit.TimeMs(set)
	if peers == 0 {
		return
	}
	n.ClockDriftMs = n.now - peers
	limit := n.cfg.MaxClockDriftMs
	if limit == 0 {
		limit = 2_000
	}
	if n.ClockDriftMs > limit || -n.ClockDriftMs > limit {
		n.DriftWarnings++
		n.log.Warn("this node's clock differs from the validators'; check NTP", "drift_ms", n.ClockDriftMs, "height", d.Height)
	}
}

// app is the consensus Application of a node.
type app struct{ n *Node }

var (
	_ consensus.Application = app{}
	_ consensus.BlockTimer  = app{}
)

// genesisBlockTimeMs is the time of block 1, which has no parent certificate.
func (n *Node) genesisBlockTimeMs() int64 { return n.cfg.Genesis.GenesisTime*1000 + 1 }

func (a app) ProposeValue(height uint64, lastCommit *consensus.Commit) ([]byte, error) {
	n := a.n
	if height != n.l.Height()+1 {
		return nil, fmt.Errorf("propose at %d with the ledger at %d", height, n.l.Height())
	}
	if height <= n.catchUpTo {
		return nil, fmt.Errorf("%w: propose at %d, committed %d", ErrCatchingUp, height, n.catchUpTo)
	}
	timeMs := n.genesisBlockTimeMs()
	if height > 1 {
		if lastCommit == nil {
			return nil, errors.New("no certificate of the previous block")
		}
		set, err := n.setAt(height - 1)
		if err != nil {
			return nil, err
		}
		timeMs = lastCommit.TimeMs(set)
	}
	params, err := n.l.Params()
	if err != nil {
		return nil, err
	}
	txs := n.Pool.Reap(int(params.MaxBlockBytes) / 2)
	if n.cfg.Account != nil {
		// The readings heard from homes, in one batch this node signs,
		// after any of its own transactions the pool holds.
		acc, err := n.l.Account(n.cfg.Account.Address())
		if err != nil {
			return nil, err
		}
		nonce := acc.Nonce
		for _, raw := range txs {
			if tx, err := ledger.DecodeTx(raw); err == nil && tx.From == n.cfg.Account.Address() {
				nonce++
			}
		}
		// As many as one transaction may carry, by count and by size.
		limit := min(int(params.MaxReadingsPerTx), (int(params.MaxTxBytes)-256)/meter.ReadingSize)
		// Intervals this block's time has closed (ledger check 3); none
		// yet in the chain's first interval.
		closed := (floorDivMs(timeMs) + int64(params.ReadingMaxSkewSeconds) - n.cfg.Genesis.GenesisTime) / int64(params.IntervalSeconds)
		var rs []meter.Reading
		if closed > 0 {
			rs = n.Readings.Reap(limit, uint64(closed-1))
		}
		if len(rs) > 0 {
			tx := &ledger.Tx{Nonce: nonce, Fee: params.MinFee, Payload: &ledger.Readings{Readings: rs}}
			if err := tx.Sign(n.cfg.Account, n.cfg.Genesis.ChainID); err != nil {
				return nil, err
			}
			txs = append(txs, tx.Encode())
		}
	}
	var proposer wallet.Address
	if n.cfg.Account != nil {
		proposer = n.cfg.Account.Address()
	}
	n.l.PreVerify(txs) // signatures on all cores, before the single-threaded execution
	p, skipped, err := n.l.Propose(ledger.Header{Height: height, TimeMs: timeMs, Proposer: proposer}, txs)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		n.log.Debug("left out of block", "err", s.Err)
	}
	v := codec.Encode(&BlockValue{LastCommit: lastCommit, Block: *p.Block})
	n.pending[consensus.HashValue(v)] = p
	return v, nil
}

func (a app) ValidateValue(height uint64, value []byte) error {
	n := a.n
	bv, err := DecodeBlockValue(value)
	if err != nil {
		return err
	}
	if bv.Block.Header.Height != height {
		return fmt.Errorf("block of height %d proposed at %d", bv.Block.Header.Height, height)
	}
	if height == 1 {
		if bv.LastCommit != nil || bv.Block.Header.TimeMs != n.genesisBlockTimeMs() {
			return errors.New("block 1 must have no parent certificate and the genesis time")
		}
	} else {
		if bv.LastCommit == nil {
			return errors.New("no certificate of the previous block")
		}
		set, err := n.setAt(height - 1)
		if err != nil {
			return err
		}
		if err := consensus.VerifyCommit(n.cfg.Genesis.ChainID, set, n.ver, height-1, n.lastValueHash, bv.LastCommit); err != nil {
			return fmt.Errorf("parent certificate: %w", err)
		}
		if t := bv.LastCommit.TimeMs(set); bv.Block.Header.TimeMs != t {
			return fmt.Errorf("block time %d, the parent certificate says %d", bv.Block.Header.TimeMs, t)
		}
	}
	h := consensus.HashValue(value)
	if _, ok := n.pending[h]; ok {
		return nil // proposed or validated already
	}
	n.l.PreVerify(bv.Block.Txs)
	p, err := n.l.Execute(&bv.Block)
	if err != nil {
		return err
	}
	n.pending[h] = p
	return nil
}

func (a app) BlockTimeMs(value []byte) (int64, bool) {
	bv, err := DecodeBlockValue(value)
	if err != nil {
		return 0, false
	}
	return bv.Block.Header.TimeMs, true
}

// sets serves the engine's validator sets from the ledger.
type sets struct{ n *Node }

func (s sets) ValidatorSet(height uint64) (*consensus.ValidatorSet, error) { return s.n.setAt(height) }

// replacesSet reports whether a block's execution replaced the validator
// set (at an epoch's end, or when a validator was jailed).
func replacesSet(r *ledger.BlockResult) bool {
	for _, ev := range r.Events {
		if ev.Kind == ledger.EventValidatorSet {
			return true
		}
	}
	return false
}

// setAt is the validator set voting at height (at most the ledger's
// height + 1): the ledger's set after block height-1. The current one
// comes from the ledger; an earlier one from the sets the node stored
// when they were replaced (apply), found by walking back from the current
// set's start height. Sets are cached for the heights this node has used.
func (n *Node) setAt(height uint64) (*consensus.ValidatorSet, error) {
	if s, ok := n.sets[height]; ok {
		return s, nil
	}
	if height == 0 {
		return nil, consensus.ErrBadHeight
	}
	if height > n.l.Height()+1 {
		return nil, fmt.Errorf("%w: height %d, ledger at %d", consensus.ErrSetNotReady, height, n.l.Height())
	}
	ls, err := n.l.ValidatorSet()
	if err != nil {
		return nil, err
	}
	for height < max(ls.StartHeight, 1) {
		end := ls.StartHeight - 1
		b, ok, err := n.l.Aux(setKey(end))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("node %s: the validator set that voted until height %d is not stored", n.cfg.Name, end)
		}
		var prev ledger.ValidatorSet
		if err := codec.Decode(b, &prev); err != nil {
			return nil, fmt.Errorf("node %s: validator set until height %d: %w", n.cfg.Name, end, err)
		}
		if prev.StartHeight > end {
			return nil, fmt.Errorf("node %s: validator set until height %d starts at %d", n.cfg.Name, end, prev.StartHeight)
		}
		ls = prev
	}
	enc := codec.Encode(&ls)
	if n.lastSet != nil && bytes.Equal(enc, n.lastSetEnc) {
		// The same set as the last one built (most heights): its keys
		// are parsed already.
		n.sets[height] = n.lastSet
		return n.lastSet, nil
	}
	vals := make([]consensus.Validator, 0, len(ls.Validators))
	keys := make(map[string]*wallet.PublicKey, len(ls.Validators))
	for _, v := range ls.Validators {
		pub := n.consKeys[string(v.ConsKey)]
		if pub == nil {
			p, err := wallet.ParsePublicKey(v.ConsKey)
			if err != nil {
				return nil, err
			}
			pub = p.Precomputed()
		}
		keys[string(v.ConsKey)] = pub
		vals = append(vals, consensus.Validator{Address: pub.Address(), PubKey: pub, Power: v.Power})
	}
	set, err := consensus.NewValidatorSet(max(ls.StartHeight, 1), vals)
	if err != nil {
		return nil, err
	}
	n.sets[height] = set
	n.lastSet, n.lastSetEnc, n.consKeys = set, enc, keys
	for h := range n.sets {
		if h+8 < height {
			delete(n.sets, h)
		}
	}
	return set, nil
}
