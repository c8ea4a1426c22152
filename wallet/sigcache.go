package wallet

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
)

// SigCache remembers typed signatures already found valid, so that a node
// checks each signature once: a transaction or a reading verified when it
// arrives is not verified again when a block holding it is pre-verified,
// proposed or executed, and a vote verified on arrival is not verified
// again in the next block's commit certificate. A node keeps one SigCache
// for transactions, readings and votes (one bound, one eviction).
//
// A key is SHA-256 over the kind of check, the signer it was checked
// against (the claimed address for a recovery, the public key for a
// verification), the signing hash (SigningHash: tag, chain id and body in
// the one canonical signing encoding) and the signature: a hit is exactly
// a repeat of a check that succeeded, and recovery and verification are
// pure functions of those bytes. So the cache changes how fast a node
// runs, never an answer: only successes are stored, and a miss does the
// full check. Calls with an invalid tag or chain id are not cached.
//
// At most 2·Size keys are kept, in two generations: when the newer one
// fills, the older is dropped. A nil *SigCache caches and counts nothing.
// Safe for concurrent use: callers that ask for the same key while it is
// being checked wait for that check instead of running their own (a
// node's network workers and its pools may meet on one signature), so a
// signature is checked once however the calls interleave; after a failed
// check a waiter checks again itself (failures are not remembered).
type SigCache struct {
	Size int // keys per generation; 0 means DefaultSigCacheSize

	mu       sync.Mutex
	cur, old map[[32]byte]struct{}
	inflight map[[32]byte]chan struct{} // keys being checked; closed when done

	recoveries, verifications, hits atomic.Uint64
}

// DefaultSigCacheSize is the default keys per generation: 2^17, so at most
// 2^18 keys (about 10 MB) in all.
const DefaultSigCacheSize = 1 << 17

// Key kinds: a recovery checked against a claimed address, a verification
// against a known public key.
const (
	sigKeyRecover = 'R'
	sigKeyVerify  = 'V'
)

func sigKey(kind byte, signer []byte, msg [32]byte, sig *Signature) (k [32]byte) {
	h := sha256.New()
	h.Write([]byte{kind})
	h.Write(signer)
	h.Write(msg[:])
	h.Write(sig[:])
	h.Sum(k[:0])
	return k
}

func (c *SigCache) hasLocked(k [32]byte) bool {
	_, ok := c.cur[k]
	if !ok {
		_, ok = c.old[k]
	}
	return ok
}

// claim reports whether k is remembered (a hit); if not, it waits for any
// check of k in flight and looks again, and when there is none it
// registers the caller's check, which must end with release.
func (c *SigCache) claim(k [32]byte) (hit bool) {
	c.mu.Lock()
	for {
		if c.hasLocked(k) {
			c.mu.Unlock()
			c.hits.Add(1)
			return true
		}
		wait, busy := c.inflight[k]
		if !busy {
			break
		}
		c.mu.Unlock()
		<-wait
		c.mu.Lock()
	}
	if c.inflight == nil {
		c.inflight = map[[32]byte]chan struct{}{}
	}
	c.inflight[k] = make(chan struct{})
	c.mu.Unlock()
	return false
}

// release ends the check claim registered, remembering k if it succeeded.
func (c *SigCache) release(k [32]byte, ok bool) {
	c.mu.Lock()
	if ok {
		c.addLocked(k)
	}
	close(c.inflight[k])
	delete(c.inflight, k)
	c.mu.Unlock()
}

func (c *SigCache) addLocked(k [32]byte) {
	size := c.Size
	if size <= 0 {
		size = DefaultSigCacheSize
	}
	if c.cur == nil {
		c.cur = make(map[[32]byte]struct{}, min(size, 1024))
	}
	if len(c.cur) >= size {
		c.old, c.cur = c.cur, make(map[[32]byte]struct{}, min(size, 1024))
	}
	c.cur[k] = struct{}{}
}

// RecoverSigner recovers who signed body under tag and chain id and
// returns that address, to be compared with the claimed signer. A hit (the
// same signature recovered to signer before) returns signer without
// recovering; otherwise it recovers (errors as RecoverTyped) and remembers
// the signature only if the signer is the claimed one.
func (c *SigCache) RecoverSigner(signer Address, tag Tag, chainID string, body []byte, sig Signature) (Address, error) {
	msg, err := SigningHash(tag, chainID, body)
	if err != nil {
		return Address{}, err
	}
	if c == nil {
		pub, err := RecoverHash(msg, sig)
		if err != nil {
			return Address{}, err
		}
		return pub.Address(), nil
	}
	k := sigKey(sigKeyRecover, signer[:], msg, &sig)
	if c.claim(k) {
		return signer, nil
	}
	ok := false
	defer func() { c.release(k, ok) }() // also if the check panics
	c.recoveries.Add(1)
	pub, err := RecoverHash(msg, sig)
	if err != nil {
		return Address{}, err
	}
	got := pub.Address()
	ok = got == signer
	return got, nil
}

// VerifyTyped is VerifyTyped through the cache.
func (c *SigCache) VerifyTyped(pub *PublicKey, tag Tag, chainID string, body []byte, sig Signature) error {
	_, err := c.VerifyTypedWith(pub, tag, chainID, body, sig, nil)
	return err
}

// VerifyTypedWith checks that pub signed body under tag and chain id,
// with verify doing the check on a miss (nil: secp256k1, VerifyTyped;
// only those are counted as Verifications). hit reports that a success was
// remembered and nothing was checked.
func (c *SigCache) VerifyTypedWith(pub *PublicKey, tag Tag, chainID string, body []byte, sig Signature,
	verify func() error) (hit bool, err error) {
	msg, err := SigningHash(tag, chainID, body)
	if err != nil {
		if verify != nil {
			return false, verify()
		}
		return false, err
	}
	check := func() error {
		if verify != nil {
			return verify()
		}
		if c != nil {
			c.verifications.Add(1)
		}
		return VerifyHash(pub, msg, sig)
	}
	if c == nil {
		return false, check()
	}
	k := sigKey(sigKeyVerify, pub.Compressed(), msg, &sig)
	if c.claim(k) {
		return true, nil
	}
	ok := false
	defer func() { c.release(k, ok) }() // also if the check panics
	err = check()
	ok = err == nil
	return false, err
}

// AddSigned remembers a signature the caller made itself, with the private
// key of pub (PrivateKey.SignTyped), as valid for VerifyTyped against pub:
// a node's own vote comes back to it in the next block's certificate, and
// a signature it just made needs no check (deterministic signing, RFC 6979,
// makes it valid by construction). Nothing is counted.
func (c *SigCache) AddSigned(pub *PublicKey, tag Tag, chainID string, body []byte, sig Signature) {
	if c == nil || pub == nil {
		return
	}
	msg, err := SigningHash(tag, chainID, body)
	if err != nil {
		return
	}
	k := sigKey(sigKeyVerify, pub.Compressed(), msg, &sig)
	c.mu.Lock()
	c.addLocked(k)
	c.mu.Unlock()
}

// Recoveries is how many secp256k1 public-key recoveries the cache ran
// (misses of RecoverSigner: calls of RecoverHash).
func (c *SigCache) Recoveries() uint64 {
	if c == nil {
		return 0
	}
	return c.recoveries.Load()
}

// Verifications is how many secp256k1 verifications against a known key
// the cache ran (misses of VerifyTyped: calls of VerifyHash).
func (c *SigCache) Verifications() uint64 {
	if c == nil {
		return 0
	}
	return c.verifications.Load()
}

// Hits is how many checks the cache answered from memory.
func (c *SigCache) Hits() uint64 {
	if c == nil {
		return 0
	}
	return c.hits.Load()
}

// Len is the number of signatures remembered.
func (c *SigCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
