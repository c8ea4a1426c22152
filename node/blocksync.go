package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/p2p/blocksync"
)

// BlockSync plugs package p2p/blocksync into a P2PNet (its Sync seam): a
// blocksync.Server over the node's decided blocks, and a blocksync.Syncer
// that RequestBlocks starts, on a goroutine of the P2PNet's, when the
// node sees a peer ahead. Set it as P2PNet.Sync before Run; Run stops the
// server and the syncer before it returns.
//
// The syncer's App verifies blocks on its own goroutines (Prepare: the
// canonical decode and consensus.VerifyCommit through the node's signature
// cache) and applies them one at a time through Inject, so the node's
// goroutine applies each (Deliver, the engine's decided-value path, with
// no block pause after a synced block):
// nothing is applied concurrently with consensus, and the engine checks
// the certificate again against the set it knows.
type BlockSync struct {
	t      *P2PNet
	n      *Node
	syncer *blocksync.Syncer
	server *blocksync.Server

	running atomic.Bool
	// mu guards closed: the server's Store reads the ledger on libp2p's
	// goroutines, never after stopServing (so never after the node closes).
	mu     sync.RWMutex
	closed bool
}

// syncApplyTimeout bounds the wait for the node to apply one synced block.
const syncApplyTimeout = 30 * time.Second

// NewBlockSync serves n's blocks on t's host and returns the syncer side;
// n must be the node t will Run.
func NewBlockSync(t *P2PNet, n *Node, cfg blocksync.Config, scfg blocksync.ServerConfig) *BlockSync {
	if cfg.Logger == nil {
		cfg.Logger = t.log
	}
	if cfg.OnBan == nil {
		// A peer block sync bans (a bad block, a lie about its height) is
		// disconnected and kept out for as long: it must not stay on as
		// a gossip peer, nor come straight back.
		d := cfg.BanDuration
		if d <= 0 {
			d = blocksync.DefaultConfig().BanDuration
		}
		cfg.OnBan = func(p peer.ID, reason error) { t.host.Ban(p, d, reason) }
	}
	b := &BlockSync{t: t, n: n}
	h := t.host.LibP2P()
	b.server = blocksync.NewServer(h, t.host.ChainID(), blockStore{b}, scfg)
	b.syncer = blocksync.NewSyncer(h, t.host.ChainID(), syncApp{b}, cfg)
	return b
}

// Progress is the syncer's progress (for `gridmint status`).
func (b *BlockSync) Progress() blocksync.Progress { return b.syncer.Progress() }

// Changed is closed at the next change of Progress.
func (b *BlockSync) Changed() <-chan struct{} { return b.syncer.Changed() }

// Syncer is the underlying syncer (its ban list, for instance).
func (b *BlockSync) Syncer() *blocksync.Syncer { return b.syncer }

// Running reports whether a sync is under way.
func (b *BlockSync) Running() bool { return b.running.Load() }

// RequestBlocks starts a sync unless one runs; it does not block.
func (b *BlockSync) RequestBlocks(uint64) {
	t := b.t
	if t.ctx.Err() != nil || !b.running.CompareAndSwap(false, true) {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer b.running.Store(false)
		if err := b.syncer.Run(t.ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.log.Warn("block sync", "err", err)
		}
		p := b.syncer.Progress()
		t.log.Info("block sync done", "height", p.Current, "target", p.Target, "blocks_per_s", int64(p.BlocksPerSec))
	}()
}

// stopServing closes the server and makes its Store refuse (P2PNet.Run,
// on return).
func (b *BlockSync) stopServing() {
	b.server.Close()
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

var errSyncClosed = errors.New("node: block sync stopped")

// blockStore serves the node's decided blocks as ServeBlocks encodes them.
type blockStore struct{ b *BlockSync }

func (s blockStore) Base() uint64 { return 1 }

func (s blockStore) Height() uint64 {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	if s.b.closed {
		return 0
	}
	return s.b.n.l.Height()
}

func (s blockStore) Block(h uint64) ([]byte, error) {
	s.b.mu.RLock()
	defer s.b.mu.RUnlock()
	if s.b.closed {
		return nil, errSyncClosed
	}
	return s.b.n.decidedBlock(h)
}

// decidedBlock is the block of height h with its certificate, as a
// consensus message of kind MsgDecided. Safe on any goroutine (the ledger's
// reads are).
func (n *Node) decidedBlock(h uint64) ([]byte, error) {
	v, ok1, err1 := n.l.Aux(valueKey(h))
	cb, ok2, err2 := n.l.Aux(commitKey(h))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("node: block %d not stored", h)
	}
	var c consensus.Commit
	if err := codec.Decode(cb, &c); err != nil {
		return nil, fmt.Errorf("node: commit %d: %w", h, err)
	}
	return codec.Encode(&consensus.Message{Kind: consensus.MsgDecided, Decided: &consensus.DecidedMsg{Value: v, Commit: c}}), nil
}

// syncApp is the syncer's App over the node.
type syncApp struct{ b *BlockSync }

// syncedBlock is a verified block waiting for Apply.
type syncedBlock struct {
	height uint64
	raw    []byte
}

func (a syncApp) Height() uint64 { return a.b.n.l.Height() }

// Prepare decodes raw as a decided block of height h and verifies its
// certificate against the validator set of h: the ledger's next set (the
// node publishes it after each commit). For a block above the next height
// that set is a guess (an earlier block may replace it): a failure there
// is ErrNotYet, and the syncer tries again after more blocks are applied.
func (a syncApp) Prepare(h uint64, raw []byte) (blocksync.Prepared, error) {
	n := a.b.n
	var m consensus.Message
	if err := codec.Decode(raw, &m); err != nil {
		return nil, err
	}
	if m.Kind != consensus.MsgDecided || m.Decided == nil {
		return nil, errors.New("node: not a decided block")
	}
	if _, err := DecodeBlockValue(m.Decided.Value); err != nil {
		return nil, err
	}
	hs := n.next.Load()
	if hs == nil {
		return nil, fmt.Errorf("%w: no validator set yet", blocksync.ErrNotYet)
	}
	if h <= hs.low {
		return syncedBlock{h, raw}, nil // applied meanwhile: Apply skips it
	}
	set := hs.sets[1]
	if set == nil {
		return nil, fmt.Errorf("%w: validator set of %d unknown", blocksync.ErrNotYet, hs.low+1)
	}
	err := consensus.VerifyCommit(n.cfg.Genesis.ChainID, set, n.ver, h, consensus.HashValue(m.Decided.Value), &m.Decided.Commit)
	if err != nil {
		if h > hs.low+1 {
			return nil, fmt.Errorf("%w: %v", blocksync.ErrNotYet, err)
		}
		return nil, err
	}
	return syncedBlock{h, raw}, nil
}

// Apply hands the block to the node's goroutine (injectSynced: Inject
// without the block pause after it) and waits until the ledger holds it.
func (a syncApp) Apply(p blocksync.Prepared) error {
	blk := p.(syncedBlock)
	t, n := a.b.t, a.b.n
	if n.l.Height() >= blk.height {
		return nil
	}
	if !t.injectSynced(blk.height, blk.raw) {
		return context.Canceled
	}
	deadline := time.NewTimer(syncApplyTimeout)
	defer deadline.Stop()
	for n.l.Height() < blk.height {
		select {
		case <-t.committed:
		case <-deadline.C:
			return fmt.Errorf("node: synced block %d not applied in %s", blk.height, syncApplyTimeout)
		case <-t.ctx.Done():
			return t.ctx.Err()
		}
	}
	return nil
}
