package ledger

import (
	"runtime"
	"sync"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// sigCache is the ledger's handle on the node's signature cache
// (wallet.SigCache, Options.Sigs), so that a transaction or reading checked
// by the mempool or the reading pool, or pre-verified in parallel before a
// block runs, is not verified again inside the state transition.
//
// Verification is a pure function of the signed bytes and the signature,
// so a hit gives exactly the answer a fresh check would: the cache changes
// how fast a block runs, never what it does. Only successes are stored. A
// reading's signature is checked against its Site field, which is the
// address of the site key, so its validity does not depend on state.
type sigCache struct{ c *wallet.SigCache }

// Sigs is the signature cache the ledger verifies through (Options.Sigs, or
// its own): the node's pools verify through it too, and its counters say
// how many signatures were really checked.
func (l *Ledger) Sigs() *wallet.SigCache { return l.sigs.c }

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
		jobs = append(jobs, job{tx: tx})
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
					_ = j.tx.VerifySignatureCached(l.sigs.c, l.genesis.ChainID)
				} else {
					_ = j.r.VerifySiteCached(l.sigs.c, l.genesis.ChainID)
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
