package smt

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentReaders: while the ledger applies and commits versions, API
// readers call Root, Get and Prove from other goroutines; every proof
// verifies against the root Prove returned with it (one consistent view),
// also in the moment between a batch commit and Commit. Run with -race.
func TestConcurrentReaders(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(31, 31))
	h.apply(randomChanges(rng, h.model, 200, 500))
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := fmt.Appendf(nil, "acct/%d", (i*7+r)%500)
				p, v, root, err := h.tree.Prove(k)
				if err == nil {
					err = VerifyProof(root, k, v, p)
				}
				if err == nil {
					_, _, err = h.tree.Get(k)
				}
				_ = h.tree.Root()
				if err != nil {
					errs <- err
					return
				}
			}
		}(r)
	}
	for i := 0; i < 30; i++ {
		h.apply(randomChanges(rng, h.model, 50, 500))
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	h.checkStore()
}
