package consensus

import (
	"sync"

	"github.com/gridmint/gridmint/wallet"
)

// CachingVerifier remembers the signatures its inner Verifier accepted, so
// that one checked once is not checked again: a node verifies each
// precommit when the vote arrives and would otherwise verify it a second
// time inside the next block's commit certificate (VerifyCommit). The
// store is a wallet.SigCache: a node passes the one it also verifies
// transactions and readings through (one cache per node, one bound). Only
// successes are remembered, keyed by a SHA-256 over the validator's public
// key, the signing hash (tag, chain id, body) and the signature, so a hit
// is exactly a repeat of a verified call and the answers are the same as
// the inner verifier's. Safe for concurrent use.
type CachingVerifier struct {
	Inner Verifier // nil means WalletVerifier, run (and counted) by the cache
	// Cache is the store (nil: one of its own, of Size keys per
	// generation; 0 means 4096).
	Cache *wallet.SigCache
	Size  int

	once sync.Once
	mu   sync.Mutex
	// Hits and Misses count lookups (for tests and benchmarks).
	Hits, Misses uint64
}

func (c *CachingVerifier) cache() *wallet.SigCache {
	c.once.Do(func() {
		if c.Cache == nil {
			size := c.Size
			if size <= 0 {
				size = 4096
			}
			c.Cache = &wallet.SigCache{Size: size}
		}
	})
	return c.Cache
}

// VerifyTyped implements Verifier.
func (c *CachingVerifier) VerifyTyped(val *Validator, tag wallet.Tag, chainID string, body []byte, sig wallet.Signature) error {
	if val.PubKey == nil {
		return ErrUnknownValidator
	}
	var verify func() error // nil: secp256k1 in the cache
	if c.Inner != nil {
		verify = func() error { return c.Inner.VerifyTyped(val, tag, chainID, body, sig) }
	}
	hit, err := c.cache().VerifyTypedWith(val.PubKey, tag, chainID, body, sig, verify)
	c.mu.Lock()
	if hit {
		c.Hits++
	} else {
		c.Misses++
	}
	c.mu.Unlock()
	return err
}
