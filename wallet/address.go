package wallet

import (
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/sha3"
)

// AddressLen is the length of an address in bytes.
const AddressLen = 20

// Errors about addresses.
var (
	ErrBadAddress  = errors.New("wallet: address must be 40 hex digits")
	ErrBadChecksum = errors.New("wallet: address fails its EIP-55 checksum")
)

// Address is an Ethereum-style account address.
type Address [AddressLen]byte

// Keccak256 returns the legacy Keccak-256 hash (as used by Ethereum, not
// SHA3-256) of the concatenation of its arguments.
func Keccak256(data ...[]byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	for _, d := range data {
		h.Write(d)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Hex returns the 0x-prefixed EIP-55 mixed-case checksummed form.
func (a Address) Hex() string {
	var lower [40]byte
	hex.Encode(lower[:], a[:])
	h := Keccak256(lower[:])
	out := make([]byte, 42)
	out[0], out[1] = '0', 'x'
	for i, c := range lower {
		// EIP-55: a letter is upper case when the matching nibble of the
		// hash of the lower-case hex is 8 or more.
		nibble := h[i/2]
		if i%2 == 0 {
			nibble >>= 4
		}
		if c >= 'a' && nibble&0x0f >= 8 {
			c -= 'a' - 'A'
		}
		out[2+i] = c
	}
	return string(out)
}

// String returns Hex().
func (a Address) String() string { return a.Hex() }

// IsZero reports whether a is the all-zero address.
func (a Address) IsZero() bool { return a == Address{} }

// ParseAddress reads 40 hex digits with an optional 0x prefix. All-lower or
// all-upper input is accepted as is; mixed case must carry a valid EIP-55
// checksum, so that a mistyped address is caught rather than paid.
func ParseAddress(s string) (Address, error) {
	var a Address
	h := trim0x(s)
	if len(h) != 40 {
		return a, fmt.Errorf("%w: %q", ErrBadAddress, s)
	}
	if _, err := hex.Decode(a[:], []byte(h)); err != nil {
		return a, fmt.Errorf("%w: %q", ErrBadAddress, s)
	}
	hasLower, hasUpper := false, false
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'f':
			hasLower = true
		case c >= 'A' && c <= 'F':
			hasUpper = true
		}
	}
	if hasLower && hasUpper && a.Hex()[2:] != h {
		return Address{}, fmt.Errorf("%w: %q", ErrBadChecksum, s)
	}
	return a, nil
}

// MarshalText implements encoding.TextMarshaler (checksummed hex).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.Hex()), nil }

// UnmarshalText implements encoding.TextUnmarshaler via ParseAddress.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
