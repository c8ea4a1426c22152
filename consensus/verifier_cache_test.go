package consensus

import (
	"errors"
	"testing"

	"github.com/gridmint/gridmint/wallet"
)

type countingVerifier struct {
	calls int
	inner WalletVerifier
}

func (c *countingVerifier) VerifyTyped(val *Validator, tag wallet.Tag, chainID string, body []byte, sig wallet.Signature) error {
	c.calls++
	return c.inner.VerifyTyped(val, tag, chainID, body, sig)
}

// TestCachingVerifier: a verified signature is checked once; a bad one is
// never remembered (it fails every time); any change of key, tag, chain,
// body or signature misses; the cache holds at most two generations.
func TestCachingVerifier(t *testing.T) {
	keys := testKeys(t, 2)
	k1, k2 := keys[0], keys[1]
	v1 := &Validator{Address: k1.Address(), PubKey: k1.Public(), Power: 1}
	v2 := &Validator{Address: k2.Address(), PubKey: k2.Public(), Power: 1}
	const tag = wallet.Tag("test/vote")
	body := []byte("body")
	sig, err := k1.SignTyped(tag, "chain", body)
	if err != nil {
		t.Fatal(err)
	}
	inner := &countingVerifier{}
	c := &CachingVerifier{Inner: inner, Size: 2}
	for range 3 {
		if err := c.VerifyTyped(v1, tag, "chain", body, sig); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 1 || c.Hits != 2 {
		t.Fatalf("inner calls %d, hits %d", inner.calls, c.Hits)
	}
	bad := sig
	bad[5] ^= 1
	for range 2 {
		if err := c.VerifyTyped(v1, tag, "chain", body, bad); err == nil {
			t.Fatal("bad signature accepted")
		}
	}
	for name, call := range map[string]func() error{
		"other key":   func() error { return c.VerifyTyped(v2, tag, "chain", body, sig) },
		"other tag":   func() error { return c.VerifyTyped(v1, "test/other", "chain", body, sig) },
		"other chain": func() error { return c.VerifyTyped(v1, tag, "chain2", body, sig) },
		"other body":  func() error { return c.VerifyTyped(v1, tag, "chain", []byte("bodY"), sig) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := c.VerifyTyped(&Validator{Address: k1.Address()}, tag, "chain", body, sig); !errors.Is(err, ErrUnknownValidator) {
		t.Fatalf("no key: %v", err)
	}
	// Generations: with Size 2, four more signatures push the first out.
	for i := range 4 {
		b := []byte{byte(i)}
		s, _ := k1.SignTyped(tag, "chain", b)
		if err := c.VerifyTyped(v1, tag, "chain", b, s); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Cache.Len(); n > 4 {
		t.Fatalf("cache holds %d keys", n)
	}
	calls := inner.calls
	if err := c.VerifyTyped(v1, tag, "chain", body, sig); err != nil || inner.calls != calls+1 {
		t.Fatalf("evicted signature: %v, calls %d → %d", err, calls, inner.calls)
	}
}
