package ledger

import (
	"runtime"
	"sync"

	"github.com/gridmint/gridmint/meter"
)

// sigCache remembers signatures already found valid, keyed by the hash of
// the whole signed encoding (body and signature), so that a transaction or
// reading checked by the mempool, or pre-verified in parallel before a
// block runs, is not verified again inside the state transition.
//
// Verification is a pure function of those bytes, so a hit gives exactly
// the answer a fresh check would: the cache changes how fast a block runs,
// never what it does. Only successes are stored. A reading's signature is
// checked against its Site field, which is the address of the site key, so
// its validity does not depend on state.
type sigCache struct {
	mu sync.Mutex
	m  map[[32]byte]struct{}
}

// maxSigCache bounds the cache; when full it is emptied (about 10 MB).
const maxSigCache = 1 << 18

func (c *sigCache) has(h [32]byte) bool {
	c.mu.Lock()
	_, ok := c.m[h]
	c.mu.Unlock()
	return ok
}

func (c *sigCache) add(h [32]byte) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSigCache {
		c.m = make(map[[32]byte]struct{}, 1024)
	}
	c.m[h] = struct{}{}
	c.mu.Unlock()
}

// PreVerify checks the signatures of txs and of the readings inside them on
// all cores and remembers the valid ones, so that Propose and Execute, which
// run single-threaded, find them checked. It is not part of the state
// transition: it changes no state, and a block gives the same result with
// or without it (the node calls it before Propose and Execute). Invalid or
// undecodable input is simply not remembered.
func (l *Ledger) PreVerify(txs [][]byte) {
	type job struct {
		tx *Tx
		r  *meter.Reading
	}
	var jobs []job
	for _, raw := range txs {
		tx, err := DecodeTx(raw)
		if err != nil {
			continue
		}
		if !l.sigs.has(tx.Hash()) {
			jobs = append(jobs, job{tx: tx})
		}
		if p, ok := tx.Payload.(*Readings); ok {
			for i := range p.Readings {
				jobs = append(jobs, job{r: &p.Readings[i]})
			}
		}
	}
	if len(jobs) == 0 {
		return
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	var wg sync.WaitGroup
	next := make(chan job)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if j.tx != nil {
					if j.tx.VerifySignature(l.genesis.ChainID) == nil {
						l.sigs.add(j.tx.Hash())
					}
					continue
				}
				h := j.r.Hash()
				if l.sigs.has(h) {
					continue
				}
				if j.r.VerifySite(l.genesis.ChainID) == nil {
					l.sigs.add(h)
				}
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}
