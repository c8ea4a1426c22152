package wallet

import (
	"errors"
	"testing"
)

// TestSigCache: a signature found valid is checked once (then answered
// from memory, with the same answer); a bad one, or one that recovers to
// another signer than the claimed one, is never remembered; a change of
// claimed signer, key, tag, chain id, body or signature is a miss; the
// counters count exactly the secp256k1 calls made; a nil cache checks
// everything and counts nothing; at most two generations are kept.
func TestSigCache(t *testing.T) {
	k1, _ := GenerateKeyFrom(seeded(51))
	k2, _ := GenerateKeyFrom(seeded(52))
	const tag = Tag("test/sigcache")
	body := []byte("body")
	sig, err := k1.SignTyped(tag, "chain", body)
	if err != nil {
		t.Fatal(err)
	}
	c := &SigCache{Size: 2}
	r0, v0 := SecpCounts()
	for range 3 {
		got, err := c.RecoverSigner(k1.Address(), tag, "chain", body, sig)
		if err != nil || got != k1.Address() {
			t.Fatalf("recover: %s, %v", got, err)
		}
		if err := c.VerifyTyped(k1.Public(), tag, "chain", body, sig); err != nil {
			t.Fatal(err)
		}
	}
	if c.Recoveries() != 1 || c.Verifications() != 1 || c.Hits() != 4 {
		t.Fatalf("recoveries %d, verifications %d, hits %d", c.Recoveries(), c.Verifications(), c.Hits())
	}
	if r1, v1 := SecpCounts(); r1-r0 != 1 || v1-v0 != 1 {
		t.Fatalf("the process ran %d recoveries and %d verifications", r1-r0, v1-v0)
	}
	// Claimed by another signer: recovered (to k1) each time, never kept.
	for range 2 {
		if got, err := c.RecoverSigner(k2.Address(), tag, "chain", body, sig); err != nil || got != k1.Address() {
			t.Fatalf("recover for another claimed signer: %s, %v", got, err)
		}
	}
	if c.Recoveries() != 3 {
		t.Fatalf("wrong-signer recoveries were remembered: %d", c.Recoveries())
	}
	bad := sig
	bad[5] ^= 1
	for range 2 {
		if c.VerifyTyped(k1.Public(), tag, "chain", body, bad) == nil {
			t.Fatal("bad signature accepted")
		}
		if got, err := c.RecoverSigner(k1.Address(), tag, "chain", body, bad); err == nil && got == k1.Address() {
			t.Fatal("bad signature recovered to the signer")
		}
	}
	if c.Verifications() != 3 || c.Recoveries() != 5 {
		t.Fatalf("bad signatures were remembered: %d verifications, %d recoveries", c.Verifications(), c.Recoveries())
	}
	for name, call := range map[string]func() error{
		"other key":   func() error { return c.VerifyTyped(k2.Public(), tag, "chain", body, sig) },
		"other tag":   func() error { return c.VerifyTyped(k1.Public(), "test/other", "chain", body, sig) },
		"other chain": func() error { return c.VerifyTyped(k1.Public(), tag, "chain2", body, sig) },
		"other body":  func() error { return c.VerifyTyped(k1.Public(), tag, "chain", []byte("bodY"), sig) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := c.RecoverSigner(k1.Address(), "", "chain", body, sig); err == nil {
		t.Fatal("empty tag accepted")
	}
	// A custom check is called on a miss only and counted apart.
	calls := 0
	errNo := errors.New("no")
	custom := func() error { calls++; return errNo }
	if hit, err := c.VerifyTypedWith(k1.Public(), tag, "chain", []byte("x"), sig, custom); hit || !errors.Is(err, errNo) || calls != 1 {
		t.Fatalf("custom check: hit %v, %v, %d calls", hit, err, calls)
	}
	if hit, err := c.VerifyTypedWith(k1.Public(), tag, "chain", body, sig, custom); !hit || err != nil || calls != 1 {
		t.Fatalf("custom check of a remembered signature: hit %v, %v, %d calls", hit, err, calls)
	}
	// Generations: with Size 2, four more signatures push the first out.
	for i := range 4 {
		b := []byte{byte(i)}
		s, _ := k1.SignTyped(tag, "chain", b)
		if err := c.VerifyTyped(k1.Public(), tag, "chain", b, s); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() > 4 {
		t.Fatalf("cache holds %d keys", c.Len())
	}
	v := c.Verifications()
	if err := c.VerifyTyped(k1.Public(), tag, "chain", body, sig); err != nil || c.Verifications() != v+1 {
		t.Fatalf("evicted signature: %v, verifications %d → %d", err, v, c.Verifications())
	}
	// No cache: every call checks, nothing is counted.
	var none *SigCache
	for range 2 {
		if got, err := none.RecoverSigner(k1.Address(), tag, "chain", body, sig); err != nil || got != k1.Address() {
			t.Fatalf("nil cache: %s, %v", got, err)
		}
		if none.VerifyTyped(k1.Public(), tag, "chain", body, bad) == nil {
			t.Fatal("nil cache: bad signature accepted")
		}
	}
	if none.Recoveries() != 0 || none.Hits() != 0 || none.Len() != 0 {
		t.Fatal("nil cache counts")
	}
}

// TestSigCacheConcurrentOnce: goroutines that check one signature at the
// same time (a node's network workers and its pools) run one secp256k1
// check between them, all get the answer, and a check that panics does not
// leave the others waiting forever.
func TestSigCacheConcurrentOnce(t *testing.T) {
	k, _ := GenerateKeyFrom(seeded(53))
	const tag = Tag("test/sigcache")
	body := []byte("concurrent")
	sig, err := k.SignTyped(tag, "chain", body)
	if err != nil {
		t.Fatal(err)
	}
	c := &SigCache{}
	start := make(chan struct{})
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			<-start
			got, err := c.RecoverSigner(k.Address(), tag, "chain", body, sig)
			if err == nil && got != k.Address() {
				err = errors.New("recovered another signer")
			}
			if err == nil {
				err = c.VerifyTyped(k.Public(), tag, "chain", body, sig)
			}
			errs <- err
		}()
	}
	close(start)
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c.Recoveries() != 1 || c.Verifications() != 1 || c.Hits() != 30 {
		t.Fatalf("recoveries %d, verifications %d, hits %d", c.Recoveries(), c.Verifications(), c.Hits())
	}
	// A panicking check releases its key: the next caller checks itself.
	other := []byte("panics")
	sig2, _ := k.SignTyped(tag, "chain", other)
	func() {
		defer func() { _ = recover() }()
		_, _ = c.VerifyTypedWith(k.Public(), tag, "chain", other, sig2, func() error { panic("boom") })
	}()
	if _, err := c.VerifyTypedWith(k.Public(), tag, "chain", other, sig2, nil); err != nil {
		t.Fatal(err)
	}
}

// TestSigCacheAddSigned: a signature the node made itself is a hit for
// VerifyTyped against its key with nothing checked; the same signature
// against another key, or another body, is still checked.
func TestSigCacheAddSigned(t *testing.T) {
	k, _ := GenerateKeyFrom(seeded(54))
	other, _ := GenerateKeyFrom(seeded(55))
	const tag = Tag("test/sigcache")
	body := []byte("own vote")
	sig, err := k.SignTyped(tag, "chain", body)
	if err != nil {
		t.Fatal(err)
	}
	c := &SigCache{}
	c.AddSigned(k.Public(), tag, "chain", body, sig)
	if err := c.VerifyTyped(k.Public(), tag, "chain", body, sig); err != nil {
		t.Fatal(err)
	}
	if c.Verifications() != 0 || c.Hits() != 1 {
		t.Fatalf("verifications %d, hits %d", c.Verifications(), c.Hits())
	}
	if c.VerifyTyped(other.Public(), tag, "chain", body, sig) == nil {
		t.Fatal("accepted under another key")
	}
	if c.VerifyTyped(k.Public(), tag, "chain", []byte("other body"), sig) == nil {
		t.Fatal("accepted for another body")
	}
	if c.Verifications() != 2 {
		t.Fatalf("verifications %d", c.Verifications())
	}
}
