package consensus

import (
	"crypto/sha256"
	"sync"

	"github.com/gridmint/gridmint/wallet"
)

// CachingVerifier remembers the signatures its inner Verifier accepted, so
// that one checked once is not checked again: a node verifies each
// precommit when the vote arrives and would otherwise verify it a second
// time inside the next block's commit certificate (VerifyCommit). Only
// successes are remembered, keyed by a SHA-256 over the validator's public
// key, the signing hash (tag, chain id, body) and the signature, so a hit is
// exactly a repeat of a verified call and the answers are the same as the
// inner verifier's. At most 2·Size keys are kept (two generations: when
// the newer fills, the older is dropped). Safe for concurrent use.
type CachingVerifier struct {
	Inner Verifier // nil means WalletVerifier
	Size  int      // keys per generation; 0 means 4096

	mu       sync.Mutex
	cur, old map[[32]byte]struct{}
	// Hits and Misses count lookups (for tests and benchmarks).
	Hits, Misses uint64
}

// key is SHA-256(public key ‖ wallet.SigningHash ‖ signature): the exact
// call, with the message framed by the one canonical signing encoding. ok
// is false when the tag or chain id is invalid (the call is not cached).
func (c *CachingVerifier) key(val *Validator, tag wallet.Tag, chainID string, body []byte, sig wallet.Signature) (k [32]byte, ok bool) {
	msg, err := wallet.SigningHash(tag, chainID, body)
	if err != nil {
		return k, false
	}
	h := sha256.New()
	h.Write(val.PubKey.Compressed())
	h.Write(msg[:])
	h.Write(sig[:])
	h.Sum(k[:0])
	return k, true
}

func (c *CachingVerifier) inner() Verifier {
	if c.Inner == nil {
		return WalletVerifier{}
	}
	return c.Inner
}

// VerifyTyped implements Verifier.
func (c *CachingVerifier) VerifyTyped(val *Validator, tag wallet.Tag, chainID string, body []byte, sig wallet.Signature) error {
	if val.PubKey == nil {
		return ErrUnknownValidator
	}
	k, ok := c.key(val, tag, chainID, body, sig)
	if !ok {
		return c.inner().VerifyTyped(val, tag, chainID, body, sig)
	}
	c.mu.Lock()
	_, hit := c.cur[k]
	if !hit {
		_, hit = c.old[k]
	}
	if hit {
		c.Hits++
		c.mu.Unlock()
		return nil
	}
	c.Misses++
	c.mu.Unlock()
	if err := c.inner().VerifyTyped(val, tag, chainID, body, sig); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	size := c.Size
	if size <= 0 {
		size = 4096
	}
	if c.cur == nil {
		c.cur = make(map[[32]byte]struct{}, size)
	}
	if len(c.cur) >= size {
		c.old, c.cur = c.cur, make(map[[32]byte]struct{}, size)
	}
	c.cur[k] = struct{}{}
	return nil
}
