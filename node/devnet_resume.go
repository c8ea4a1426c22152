package node

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter/sim"
	"github.com/gridmint/gridmint/wallet"
)

// devnetResume is where an existing devnet home stands: validator 0's
// chain, opened read-only before anything is written, kept open until the
// homes have taken their reading chains' heads from it.
type devnetResume struct {
	l        *ledger.Ledger
	height   uint64
	timeMs   int64  // when the clock starts: the last block's time, or the first interval's start
	interval uint64 // the first interval the homes simulate now: after every reading on chain
}

// openHome checks an existing home before anything is written to it: the
// genesis files there must be this genesis (the same --seed, --validators,
// --homes and --block-ms), and validator 0's chain, if there is one, must
// open (read-only) under it. It returns where that chain stands (nil for a
// new home). A refused home is left exactly as it was.
func (d *Devnet) openHome(genesisJSON []byte) (*devnetResume, error) {
	if d.tempDir {
		return nil, nil
	}
	files := []string{filepath.Join(d.dir, "genesis.json")}
	if !d.cfg.CrashableFS {
		for i := 0; i < d.cfg.Validators; i++ {
			files = append(files, filepath.Join(d.ValidatorDir(i), "genesis.json"))
		}
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
		if !bytes.Equal(b, genesisJSON) {
			return nil, fmt.Errorf("devnet: %s holds another chain's genesis: this home was made with other options "+
				"(--seed, --validators, --homes or --block-ms); nothing was changed. Run with the options it was made with, or use another --home", p)
		}
	}
	if d.cfg.CrashableFS {
		return nil, nil
	}
	store := PathsOf(d.ValidatorDir(0)).Ledger
	if _, err := os.Stat(store); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	l, err := ledger.Open(store, d.genesis, ledger.Options{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("devnet: %s: %w", d.ValidatorDir(0), err)
	}
	if l.Height() == 0 {
		l.Close()
		return nil, nil
	}
	r := &devnetResume{l: l, height: l.Height(), timeMs: l.LastTimeMs()}
	clk := d.genesis.GenesisTime * 1000
	iv := int64(d.genesis.Params.IntervalSeconds) * 1000
	if r.timeMs > clk {
		r.interval = uint64((r.timeMs - clk) / iv)
	}
	// A block may hold readings of intervals that end up to
	// ReadingMaxSkewSeconds after its time: the homes go on after the
	// latest interval any of them has on chain.
	for i := 0; i < d.cfg.Homes; i++ {
		k, err := sim.SiteKey(d.cfg.Seed, i)
		if err != nil {
			l.Close()
			return nil, err
		}
		if s, ok, err := l.Site(k.Address()); err != nil {
			l.Close()
			return nil, err
		} else if ok && s.Counter > 0 && s.LastInterval >= r.interval {
			r.interval = s.LastInterval + 1
		}
	}
	r.timeMs = max(r.timeMs, clk+int64(r.interval)*iv)
	return r, nil
}

// resume continues the homes and accounts of an existing chain: each home
// signs its next reading after the head the chain holds for its site (a
// reading signed but not yet in a block when the devnet stopped is gone;
// the chain only needs its counters to follow on), registered sites are
// not registered again, and transactions take up the accounts' nonces.
// Dispatches scheduled before the stop are not: commitments still open
// then are settled on what the homes do without them.
func (d *Devnet) resume(r *devnetResume) error {
	defer r.l.Close()
	d.registered = map[int]bool{}
	for i, h := range d.fleet.Homes {
		s, ok, err := r.l.Site(h.Site())
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		d.registered[i] = true
		h.ResumeChain(s.Counter, s.LastHash)
		if s.Counter > 0 && s.LastInterval >= r.interval {
			// openHome started the homes after every site's last
			// reading: a home must never sign an interval twice.
			return fmt.Errorf("devnet: site %s has a reading for interval %d, after the chain's time", h.Site(), s.LastInterval)
		}
	}
	accts := []*wallet.PrivateKey{d.utility}
	accts = append(accts, d.owners...)
	for _, k := range accts {
		a, err := r.l.Account(k.Address())
		if err != nil {
			return err
		}
		d.nonces[k.Address()] = a.Nonce
	}
	d.resumedAt = r.height
	d.logf("resuming the chain in %s at height %d, interval %d", d.dir, r.height, r.interval)
	return nil
}
