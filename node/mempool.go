package node

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// Mempool holds transactions waiting for a block: checked against the
// committed state on arrival, ordered by nonce per sender, and re-checked
// after every commit so that what the ledger now rejects is evicted.
// Senders are served in the order they first appeared, one nonce run each,
// so no sender can crowd out the rest.
type Mempool struct {
	l        *ledger.Ledger
	maxTxs   int
	byHash   map[[32]byte]struct{}
	bySender map[wallet.Address][]poolTx // sorted by nonce
	senders  []wallet.Address            // first-seen order
	// Counters, for logs and tests.
	Added, Rejected, Evicted, Included uint64
}

type poolTx struct {
	hash  [32]byte
	nonce uint64
	fee   uint64
	raw   []byte
	// recheck: the type has checks beyond form, signature, fee, nonce and
	// balance (ledger.CheckTx's bounds of flexibility requests and
	// commitments), so Update runs CheckTx again.
	recheck bool
}

// Errors of the mempool.
var (
	ErrMempoolFull = errors.New("mempool: full")
	ErrDuplicateTx = errors.New("mempool: transaction already pending")
	ErrNonceTaken  = errors.New("mempool: another transaction holds this nonce")
)

// NewMempool returns an empty pool over l holding at most maxTxs.
func NewMempool(l *ledger.Ledger, maxTxs int) *Mempool {
	return &Mempool{l: l, maxTxs: maxTxs, byHash: map[[32]byte]struct{}{}, bySender: map[wallet.Address][]poolTx{}}
}

// Len is the number of pending transactions.
func (m *Mempool) Len() int { return len(m.byHash) }

// Add checks raw against the committed state and keeps it. A bad
// transaction gets an error and changes nothing.
func (m *Mempool) Add(raw []byte) error {
	tx, err := m.l.CheckTx(raw)
	if err != nil {
		m.Rejected++
		return err
	}
	return m.insert(tx, raw)
}

// insert puts a checked transaction into the pool, ordered by nonce under
// its sender.
func (m *Mempool) insert(tx *ledger.Tx, raw []byte) error {
	h := tx.Hash()
	if _, ok := m.byHash[h]; ok {
		m.Rejected++
		return ErrDuplicateTx
	}
	if len(m.byHash) >= m.maxTxs {
		m.Rejected++
		return ErrMempoolFull
	}
	list := m.bySender[tx.From]
	i, found := slices.BinarySearchFunc(list, tx.Nonce, func(p poolTx, n uint64) int {
		switch {
		case p.nonce < n:
			return -1
		case p.nonce > n:
			return 1
		}
		return 0
	})
	if found {
		m.Rejected++
		return fmt.Errorf("%w: %d", ErrNonceTaken, tx.Nonce)
	}
	if len(list) == 0 {
		m.senders = append(m.senders, tx.From)
	}
	m.bySender[tx.From] = slices.Insert(list, i, poolTx{hash: h, nonce: tx.Nonce, fee: tx.Fee, raw: raw, recheck: needsRecheck(tx)})
	m.byHash[h] = struct{}{}
	m.Added++
	return nil
}

// Reap returns transactions for a block, up to maxBytes: for each sender
// in order, the run of consecutive nonces from its account's next nonce.
func (m *Mempool) Reap(maxBytes int) [][]byte {
	var out [][]byte
	size := 0
	for _, s := range m.senders {
		acc, err := m.l.Account(s)
		if err != nil {
			continue
		}
		next := acc.Nonce
		for _, p := range m.bySender[s] {
			if p.nonce != next || size+len(p.raw) > maxBytes {
				break
			}
			out = append(out, p.raw)
			size += len(p.raw)
			next++
		}
	}
	return out
}

// Update drops what a commit included and re-checks the rest against the
// new state, evicting what the ledger now rejects (a nonce now used, a fee
// no longer payable). It reads each sender's account once and the params
// once: what ledger.CheckTx found on arrival (form, signature) cannot
// change, so only the checks that depend on the state run again: the
// size and fee against the params, the nonce and the fee against the
// account. A type with more checks (needsRecheck) goes through CheckTx.
func (m *Mempool) Update() {
	p, perr := m.l.Params()
	var keep []wallet.Address
	for _, s := range m.senders {
		acc, aerr := m.l.Account(s)
		list := m.bySender[s][:0]
		for _, pt := range m.bySender[s] {
			var err error
			switch {
			case perr != nil || aerr != nil || pt.recheck:
				_, err = m.l.CheckTx(pt.raw)
			case pt.nonce < acc.Nonce:
				err = ledger.ErrBadNonce
			case len(pt.raw) > int(p.MaxTxBytes):
				err = ledger.ErrTxTooLarge
			case pt.fee < p.MinFee:
				err = ledger.ErrFeeTooLow
			case acc.Balance < pt.fee:
				err = ledger.ErrInsufficientFunds
			}
			if err != nil {
				delete(m.byHash, pt.hash)
				if errors.Is(err, ledger.ErrBadNonce) {
					m.Included++ // its nonce was used: included (or replaced)
				} else {
					m.Evicted++
				}
				continue
			}
			list = append(list, pt)
		}
		if len(list) == 0 {
			delete(m.bySender, s)
			continue
		}
		m.bySender[s] = list
		keep = append(keep, s)
	}
	m.senders = keep
}

// needsRecheck: tx's type has checks in ledger.CheckTx beyond those
// Update repeats (checkBounds: flexibility requests and commitments).
func needsRecheck(tx *ledger.Tx) bool {
	switch tx.Payload.(type) {
	case *ledger.FlexRequestTx, *ledger.FlexCommitTx:
		return true
	}
	return false
}

// ReadingPool holds signed readings heard from homes until a block carries
// them. It keeps each site's readings in counter order and drops those the
// site's chain head has passed.
type ReadingPool struct {
	l      *ledger.Ledger
	max    int
	bySite map[wallet.Address][]meter.Reading // sorted by counter
	sites  []wallet.Address                   // first-seen order
	n      int
	// Rejected counts readings refused on arrival (malformed, bad
	// signature, pool full).
	Rejected uint64
}

// NewReadingPool returns an empty pool holding at most max readings.
func NewReadingPool(l *ledger.Ledger, max int) *ReadingPool {
	return &ReadingPool{l: l, max: max, bySite: map[wallet.Address][]meter.Reading{}}
}

// Len is the number of pending readings.
func (p *ReadingPool) Len() int { return p.n }

// Add keeps a reading that is well formed, signed by its site's key and
// ahead of the site's chain head. What the ledger will think of its
// contents is the ledger's business.
func (p *ReadingPool) Add(raw []byte, chainID string) error {
	r, err := meter.DecodeReading(raw)
	if err != nil {
		p.Rejected++
		return err
	}
	// Through the ledger's signature cache: the block that carries the
	// reading finds it checked (PreVerify, Propose, Execute).
	if err := r.VerifySiteCached(p.l.Sigs(), chainID); err != nil {
		p.Rejected++
		return err
	}
	if s, ok, err := p.l.Site(r.Site); err == nil && ok && r.Counter <= s.Counter {
		return nil // already on chain
	}
	list := p.bySite[r.Site]
	i, found := slices.BinarySearchFunc(list, r.Counter, func(x meter.Reading, c uint64) int {
		switch {
		case x.Counter < c:
			return -1
		case x.Counter > c:
			return 1
		}
		return 0
	})
	if found {
		return nil // first one kept
	}
	if p.n >= p.max {
		p.Rejected++
		return ErrMempoolFull
	}
	if len(list) == 0 {
		p.sites = append(p.sites, r.Site)
	}
	p.bySite[r.Site] = slices.Insert(list, i, *r)
	p.n++
	return nil
}

// Reap returns up to max readings: per site, the run of consecutive
// counters from the chain head. Sites are served in first-seen order.
//
// Only readings of intervals up to lastInterval are taken (the block's
// time has closed them; see ledger's check 3): a later one would be
// refused as from the future, and it waits here for a later block.
func (p *ReadingPool) Reap(max int, lastInterval uint64) []meter.Reading {
	var out []meter.Reading
	for _, id := range p.sites {
		var head uint64
		if s, ok, err := p.l.Site(id); err == nil && ok {
			head = s.Counter
		} else if !ok {
			continue // not registered yet
		}
		for _, r := range p.bySite[id] {
			if len(out) >= max || r.Counter != head+1 || r.Interval > lastInterval {
				break
			}
			out = append(out, r)
			head++
		}
	}
	return out
}

// CountSite is the number of pending readings of one site.
func (p *ReadingPool) CountSite(site wallet.Address) int { return len(p.bySite[site]) }

// Update drops readings the sites' chain heads have passed.
func (p *ReadingPool) Update() {
	var keep []wallet.Address
	for _, id := range p.sites {
		list := p.bySite[id]
		if s, ok, err := p.l.Site(id); err == nil && ok {
			i := 0
			for i < len(list) && list[i].Counter <= s.Counter {
				i++
			}
			p.n -= i
			list = list[i:]
		}
		if len(list) == 0 {
			delete(p.bySite, id)
			continue
		}
		p.bySite[id] = list
		keep = append(keep, id)
	}
	p.sites = keep
}
