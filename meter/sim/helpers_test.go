package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/gridmint/gridmint/wallet"
)

// testKey is a site key from a one-byte seed (the same keys as package
// meter's tests).
func testKey(t testing.TB, seed byte) *wallet.PrivateKey {
	t.Helper()
	var s [32]byte
	s[0] = seed
	k, err := wallet.GenerateKeyFrom(rand.NewChaCha8(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
