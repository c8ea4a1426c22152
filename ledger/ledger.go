package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/ledger/smt"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// Storage layout in pebble. The authenticated state lives in the tree under
// "s"; everything else is derived from committed blocks and kept for the
// API (blocks, results, indexes) and for restart (meta).
var (
	dbTree    = []byte("s")
	dbMeta    = []byte("m")
	dbGenesis = []byte("g")
	dbBlock   = "b" // + height → block
	dbHash    = "h" // + block hash → height
	dbResult  = "r" // + height → BlockResult
	dbTxIndex = "t" // + tx hash → height, index
	dbAddr    = "a" // + address + height + index → tx hash (txs sent by or to an address)
	dbSite    = "i" // + site + height + index → nothing (txs that touched a site)
	dbAux     = "x" // + caller's key → caller's value, written with a block (Pending.SetAux)
)

// EvidenceVerifier checks consensus evidence of double-signing. The node
// hands the ledger the consensus engine's pure verification function (the
// ledger does not import consensus). keyOf gives the consensus public key
// registered for a consensus address (from the state being executed). It
// returns the address of the offending consensus key and the height of the
// offence.
type EvidenceVerifier interface {
	VerifyEvidence(chainID string, data []byte, keyOf func(consAddr wallet.Address) (*wallet.PublicKey, bool)) (consAddr wallet.Address, height uint64, err error)
}

// Options tune Open.
type Options struct {
	// Evidence verifies double-signing evidence; without it, evidence
	// transactions fail with ErrNoEvidenceVerify.
	Evidence EvidenceVerifier
	// FS is the filesystem pebble uses; nil means the real one. Tests pass
	// vfs.NewCrashableMem() to drop unsynced writes.
	FS vfs.FS
	// CacheBytes is pebble's block cache size (default 32 MiB, fit for a Pi).
	CacheBytes int64
	// ReadOnly opens an existing store for reading only (audits, queries
	// from another process); Propose, Execute and Commit then fail.
	ReadOnly bool
	// Log receives the ledger's reports of its own bugs (a panic caught in
	// a transaction, a voided settlement), with their stacks; nil means
	// slog.Default().
	Log *slog.Logger
	// Sigs is the node's signature cache (transactions, readings, votes:
	// one per node); nil gives the ledger its own.
	Sigs *wallet.SigCache
}

// Ledger is the chain's state machine on pebble. Execute and Propose build
// a Pending block without changing anything; Commit writes one Pending
// atomically. Reads see the last committed block.
type Ledger struct {
	db      *pebble.DB
	tree    *smt.Tree
	genesis *Genesis
	opts    Options

	mu   sync.RWMutex // guards meta
	meta meta
	sigs sigCache // signatures known valid (see sigCache)
	// commitMu serialises Commit and Close; queries never wait for it.
	commitMu sync.Mutex
	closed   bool
}

// meta is the last committed block's summary, written in the same batch as
// the block.
type meta struct {
	Height    uint64
	BlockHash [32]byte
	StateRoot [32]byte
	TimeMs    int64
}

func (m *meta) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(m.Height)
	e.Fixed(m.BlockHash[:])
	e.Fixed(m.StateRoot[:])
	e.Int64(m.TimeMs)
}

func (m *meta) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	m.Height = d.Uint64()
	d.Fixed(m.BlockHash[:])
	d.Fixed(m.StateRoot[:])
	m.TimeMs = d.Int64()
}

// ErrGenesisMismatch: the data dir holds another chain.
var ErrGenesisMismatch = errors.New("ledger: data directory holds a different genesis")

// Open opens (or creates from g) the ledger in dir. A data dir that holds a
// chain must have been created from the same genesis.
func Open(dir string, g *Genesis, opts Options) (*Ledger, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	cache := opts.CacheBytes
	if cache == 0 {
		cache = 32 << 20
	}
	c := pebble.NewCache(cache)
	defer c.Unref()
	po := &pebble.Options{Cache: c, FS: opts.FS, Logger: pebbleLogger{}, ReadOnly: opts.ReadOnly}
	// Bloom filters: most state reads are point lookups of leaves.
	smt.ConfigureOptions(po)
	db, err := pebble.Open(dir, po)
	if err != nil && lockHeld(err) {
		return nil, fmt.Errorf("%w: another gridmint is using %s (its lock file %s is held): stop it first",
			ErrInUse, dir, filepath.Join(dir, "LOCK"))
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: opening %s: %w", dir, err)
	}
	l := &Ledger{db: db, genesis: g, opts: opts, sigs: sigCache{opts.Sigs}}
	if l.sigs.c == nil {
		l.sigs.c = &wallet.SigCache{}
	}
	if err := l.load(); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

// log is where the ledger reports its own bugs.
func (l *Ledger) log() *slog.Logger {
	if l.opts.Log != nil {
		return l.opts.Log
	}
	return slog.Default()
}

// pebbleLogger keeps pebble's routine messages (WAL replay, compactions)
// out of the node's output; errors go to slog.
type pebbleLogger struct{}

func (pebbleLogger) Infof(string, ...any) {}
func (pebbleLogger) Errorf(format string, args ...any) {
	slog.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (pebbleLogger) Fatalf(format string, args ...any) {
	slog.Error("pebble: " + fmt.Sprintf(format, args...))
	os.Exit(1)
}

func genesisHash(g *Genesis) ([32]byte, error) {
	j, err := g.JSON()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(j), nil
}

func (l *Ledger) load() error {
	gh, err := genesisHash(l.genesis)
	if err != nil {
		return err
	}
	stored, closer, err := l.db.Get(dbGenesis)
	switch {
	case errors.Is(err, pebble.ErrNotFound) && l.opts.ReadOnly:
		return fmt.Errorf("ledger: %w: no chain in this store to read", ErrNotFound)
	case errors.Is(err, pebble.ErrNotFound):
		return l.initGenesis(gh)
	case err != nil:
		return fmt.Errorf("ledger: reading genesis: %w", err)
	}
	same := string(stored) == string(gh[:])
	closer.Close()
	if !same {
		return ErrGenesisMismatch
	}
	t, err := smt.Open(l.db, dbTree)
	if err != nil {
		return err
	}
	l.tree = t
	b, closer, err := l.db.Get(dbMeta)
	if err != nil {
		return fmt.Errorf("ledger: reading meta: %w", err)
	}
	err = codec.Decode(b, &l.meta)
	closer.Close()
	if err != nil {
		return fmt.Errorf("%w: meta: %v", errInternal, err)
	}
	// The meta and the tree are written in one batch; they must agree.
	if l.meta.StateRoot != t.Root() {
		return fmt.Errorf("%w: meta root %x, tree root %x", errInternal, l.meta.StateRoot, t.Root())
	}
	return nil
}

func (l *Ledger) initGenesis(gh [32]byte) error {
	t, err := smt.Open(l.db, dbTree)
	if err != nil {
		return err
	}
	l.tree = t
	v := newView(treeReader{t})
	if err := l.genesis.genesisState(v); err != nil {
		return err
	}
	b := l.db.NewBatch()
	defer b.Close()
	root, err := t.Apply(v.changes(), b)
	if err != nil {
		return err
	}
	m := meta{Height: 0, BlockHash: gh, StateRoot: root, TimeMs: l.genesis.GenesisTime * 1000}
	b.Set(dbGenesis, gh[:], nil)
	b.Set(dbMeta, codec.Encode(&m), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("ledger: writing genesis: %w", err)
	}
	if err := t.Commit(root); err != nil {
		return err
	}
	l.meta = m
	return nil
}

// Close closes the database; calling it again does nothing. Pending blocks
// must be discarded first.
func (l *Ledger) Close() error {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.db.Close()
}

// ChainID is the chain's id.
func (l *Ledger) ChainID() string { return l.genesis.ChainID }

// Genesis returns the genesis the ledger was opened with.
func (l *Ledger) Genesis() *Genesis { return l.genesis }

// Height is the last committed height (0 = genesis only).
func (l *Ledger) Height() uint64 { l.mu.RLock(); defer l.mu.RUnlock(); return l.meta.Height }

// LastBlockHash is the hash of the last committed block (the genesis hash at height 0).
func (l *Ledger) LastBlockHash() [32]byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.meta.BlockHash
}

// StateRoot is the root of the committed state.
func (l *Ledger) StateRoot() [32]byte { l.mu.RLock(); defer l.mu.RUnlock(); return l.meta.StateRoot }

// LastTimeMs is the last committed block's time.
func (l *Ledger) LastTimeMs() int64 { l.mu.RLock(); defer l.mu.RUnlock(); return l.meta.TimeMs }

func heightKey(prefix string, h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefix), h)
}

// Pending is an executed, uncommitted block: the block (with its state
// root), its results, and the batch that Commit will write. Discard it if
// it is not committed.
type Pending struct {
	Block   *Block
	Results *BlockResult
	batch   *pebble.Batch
	root    [32]byte
	base    [32]byte // the committed block this one builds on
	height  uint64
}

// SetAux stores key → value in the same batch as the block: the node keeps
// the consensus certificate of each block this way, so that a crash can
// never leave a block without its certificate or the reverse. It is not
// part of the state root.
func (p *Pending) SetAux(key, value []byte) {
	if p.batch != nil {
		p.batch.Set(append([]byte(dbAux), key...), value, nil)
	}
}

// Aux returns a value stored with SetAux.
func (l *Ledger) Aux(key []byte) ([]byte, bool, error) {
	v, closer, err := l.db.Get(append([]byte(dbAux), key...))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("ledger: aux: %w", err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}

// Discard releases a pending block that will not be committed.
func (p *Pending) Discard() {
	if p.batch != nil {
		p.batch.Close()
		p.batch = nil
	}
}

// Errors of blocks (the block is invalid as a whole).
var (
	ErrBadHeader     = errors.New("ledger: bad block header")
	ErrBadTxInBlock  = errors.New("ledger: invalid transaction in block")
	ErrStateMismatch = errors.New("ledger: state root differs from the block's")
	ErrStalePending  = errors.New("ledger: pending block does not build on the committed state")
)

// Execute runs a block received from a proposer, without committing it: it
// checks the header, executes every transaction and compares the resulting
// state root with the header's. A block that is invalid as a whole
// (malformed or unpayable transactions, wrong root) returns an error.
func (l *Ledger) Execute(b *Block) (*Pending, error) {
	p, _, err := l.execute(b, false)
	if err != nil {
		return nil, err
	}
	if p.root != b.Header.StateRoot {
		p.Discard()
		return nil, fmt.Errorf("%w: computed %x, block has %x", ErrStateMismatch, p.root, b.Header.StateRoot)
	}
	return p, nil
}

// Skipped is a transaction the proposer left out of its block, and why.
type Skipped struct {
	Tx  []byte
	Err error
}

// Propose builds the next block from candidate transactions in the given
// order: it leaves out those that could not be included (undecodable, bad
// signature, wrong nonce, fee not payable, over the size limit) and reports
// them, executes the rest and fills in TxRoot and StateRoot. h gives
// Height, TimeMs and Proposer; ChainID and PrevBlockHash are filled in.
func (l *Ledger) Propose(h Header, candidates [][]byte) (*Pending, []Skipped, error) {
	b := &Block{Header: h, Txs: candidates}
	p, skipped, err := l.execute(b, true)
	if err != nil {
		return nil, nil, err
	}
	return p, skipped, nil
}

// Commit writes a pending block, its results, indexes and the new state in
// one synced pebble batch: after a crash the ledger reopens at the previous
// block or at this one, never between.
func (l *Ledger) Commit(p *Pending) error {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	if p.batch == nil {
		return fmt.Errorf("%w: already committed or discarded", ErrStalePending)
	}
	if l.StateRoot() != p.base || l.Height()+1 != p.height {
		return ErrStalePending
	}
	hash := p.Block.Hash()
	m := meta{Height: p.height, BlockHash: hash, StateRoot: p.root, TimeMs: p.Block.Header.TimeMs}
	b := p.batch
	b.Set(heightKey(dbBlock, p.height), p.Block.Encode(), nil)
	b.Set(append([]byte(dbHash), hash[:]...), binary.BigEndian.AppendUint64(nil, p.height), nil)
	b.Set(heightKey(dbResult, p.height), codec.Encode(p.Results), nil)
	for i, r := range p.Results.Receipts {
		loc := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, p.height), uint32(i))
		b.Set(append([]byte(dbTxIndex), r.TxHash[:]...), loc, nil)
		for _, a := range r.addresses {
			b.Set(append(append([]byte(dbAddr), a[:]...), loc...), r.TxHash[:], nil)
		}
		for _, s := range r.sites {
			b.Set(append(append([]byte(dbSite), s[:]...), loc...), nil, nil)
		}
	}
	b.Set(dbMeta, codec.Encode(&m), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("ledger: committing block %d: %w", p.height, err)
	}
	p.Discard()
	if err := l.tree.Commit(p.root); err != nil {
		return err
	}
	l.mu.Lock()
	l.meta = m
	l.mu.Unlock()
	return nil
}

// state returns a read-only view of the committed state.
func (l *Ledger) state() *view { return newView(treeReader{l.tree}) }

// Params returns the chain's parameters.
func (l *Ledger) Params() (Params, error) {
	var p Params
	_, err := l.state().load([]byte(pfxParams), &p)
	return p, err
}

// Account returns an account (the zero account if it never existed).
func (l *Ledger) Account(a wallet.Address) (Account, error) {
	var acc Account
	_, err := l.state().load(accountKey(a), &acc)
	return acc, err
}

// Site returns a registered site.
func (l *Ledger) Site(id wallet.Address) (Site, bool, error) {
	var s Site
	ok, err := l.state().load(siteKey(id), &s)
	return s, ok, err
}

// REC returns a certificate.
func (l *Ledger) REC(id uint64) (REC, bool, error) {
	var r REC
	ok, err := l.state().load(u64Key(pfxREC, id), &r)
	return r, ok, err
}

// Supply returns the money supply record.
func (l *Ledger) Supply() (Supply, error) {
	var s Supply
	_, err := l.state().load([]byte(pfxSupply), &s)
	return s, err
}

// ValidatorSet returns the active validator set (the set for the next height).
func (l *Ledger) ValidatorSet() (ValidatorSet, error) {
	var s ValidatorSet
	_, err := l.state().load([]byte(pfxValSet), &s)
	return s, err
}

// Block returns the committed block at height h.
func (l *Ledger) Block(h uint64) (*Block, error) {
	v, closer, err := l.db.Get(heightKey(dbBlock, h))
	if err != nil {
		return nil, fmt.Errorf("ledger: block %d: %w", h, err)
	}
	defer closer.Close()
	return DecodeBlock(v)
}

// Results returns the results of the committed block at height h.
func (l *Ledger) Results(h uint64) (*BlockResult, error) {
	v, closer, err := l.db.Get(heightKey(dbResult, h))
	if err != nil {
		return nil, fmt.Errorf("ledger: results %d: %w", h, err)
	}
	defer closer.Close()
	var r BlockResult
	if err := codec.Decode(v, &r); err != nil {
		return nil, fmt.Errorf("%w: results %d: %v", errInternal, h, err)
	}
	return &r, nil
}

// Prove returns a proof of a state key's value (or absence) against the
// committed root.
func (l *Ledger) Prove(key []byte) (smt.Proof, []byte, [32]byte, error) { return l.tree.Prove(key) }

// IterateState calls fn for every key and value of the committed state (in
// the tree's order). Tests use it to check invariants over the whole state.
func (l *Ledger) IterateState(fn func(key, value []byte) error) error { return l.tree.Iterate(fn) }

// FlexRequest returns a flexibility request.
func (l *Ledger) FlexRequest(id uint64) (FlexRequest, bool, error) {
	var r FlexRequest
	ok, err := l.state().load(u64Key(pfxFlexReq, id), &r)
	return r, ok, err
}

// FlexSettlement returns the stored settlement of a settled request.
func (l *Ledger) FlexSettlement(id uint64) (FlexSettlement, bool, error) {
	var s FlexSettlement
	ok, err := l.state().load(u64Key(pfxFlexSet, id), &s)
	return s, ok, err
}

// Reading returns the accepted reading of a site for an interval.
func (l *Ledger) Reading(site wallet.Address, interval uint64) (*meter.Reading, bool, error) {
	b, ok, err := l.state().get(readingKey(site, interval))
	if err != nil || !ok {
		return nil, false, err
	}
	r, err := meter.DecodeReading(b)
	if err != nil {
		return nil, false, fmt.Errorf("%w: reading: %v", errInternal, err)
	}
	return r, true, nil
}
