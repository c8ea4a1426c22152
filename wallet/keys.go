package wallet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Errors about keys.
var (
	ErrBadPrivateKey = errors.New("wallet: private key must be 32 bytes in [1, n-1]")
	ErrBadPublicKey  = errors.New("wallet: malformed public key")
)

// PrivateKey is a secp256k1 private key. The zero value is not a key. The
// public key and address are derived once, when the key is made: deriving
// them is a scalar multiplication, as costly as a signature.
type PrivateKey struct {
	k    *secp256k1.PrivateKey
	pub  *PublicKey
	addr Address
}

// PublicKey is a secp256k1 public key.
type PublicKey struct {
	k *secp256k1.PublicKey
	// tab, when set (Precomputed), speeds up VerifyHash.
	tab *keyTable
}

// GenerateKey makes a new key from crypto/rand.
func GenerateKey() (*PrivateKey, error) { return GenerateKeyFrom(rand.Reader) }

// GenerateKeyFrom makes a key from r. Tests and the simulator pass a seeded
// reader so that keys are reproducible; nodes use crypto/rand.
func GenerateKeyFrom(r io.Reader) (*PrivateKey, error) {
	var b [32]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("wallet: reading randomness: %w", err)
		}
		if k, err := PrivateKeyFromBytes(b[:]); err == nil {
			return k, nil
		}
		// Out of range (probability about 2^-128): draw again.
	}
}

// PrivateKeyFromBytes parses a 32-byte big-endian scalar and rejects zero and
// values at or above the group order, rather than silently reducing them.
func PrivateKeyFromBytes(b []byte) (*PrivateKey, error) {
	if len(b) != 32 {
		return nil, ErrBadPrivateKey
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(b); overflow || s.IsZero() {
		return nil, ErrBadPrivateKey
	}
	k := &PrivateKey{k: secp256k1.NewPrivateKey(&s)}
	k.pub = &PublicKey{k: k.k.PubKey()}
	k.addr = k.pub.Address()
	return k, nil
}

// PrivateKeyFromHex parses 64 hex digits, with or without a 0x prefix.
func PrivateKeyFromHex(s string) (*PrivateKey, error) {
	b, err := hex.DecodeString(trim0x(s))
	if err != nil {
		return nil, ErrBadPrivateKey
	}
	return PrivateKeyFromBytes(b)
}

// Bytes returns the 32-byte big-endian scalar. Handle with care: it is the
// secret.
func (k *PrivateKey) Bytes() []byte {
	b := k.k.Key.Bytes()
	return b[:]
}

// Public returns the public key.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Address returns the key's Ethereum-style address.
func (k *PrivateKey) Address() Address { return k.addr }

// Zero overwrites the secret scalar. The key is unusable afterwards.
func (k *PrivateKey) Zero() { k.k.Zero() }

// ParsePublicKey parses a 33-byte compressed or 65-byte uncompressed key.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != 33 && len(b) != 65 {
		return nil, ErrBadPublicKey
	}
	k, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPublicKey, err)
	}
	return &PublicKey{k: k}, nil
}

// Compressed returns the 33-byte compressed form, the form gridmint stores.
func (p *PublicKey) Compressed() []byte { return p.k.SerializeCompressed() }

// Uncompressed returns the 65-byte uncompressed form (0x04 || X || Y).
func (p *PublicKey) Uncompressed() []byte { return p.k.SerializeUncompressed() }

// Address returns Keccak-256 of X||Y, last 20 bytes.
func (p *PublicKey) Address() Address {
	u := p.k.SerializeUncompressed()
	h := Keccak256(u[1:])
	var a Address
	copy(a[:], h[12:])
	return a
}

// Equal reports whether two public keys are the same point.
func (p *PublicKey) Equal(q *PublicKey) bool { return p.k.IsEqual(q.k) }

func trim0x(s string) string {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:]
	}
	return s
}
