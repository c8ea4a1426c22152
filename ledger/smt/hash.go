package smt

import (
	"crypto/sha256"
)

// Domain-separation tags: the first byte of every hashed node. A leaf hash
// input is 65 bytes starting 0x00 and an internal hash input is 65 bytes
// starting 0x01, so no SHA-256 input is both, and a leaf can never be passed
// off as an internal node or the other way round.
const (
	leafTag     = 0x00
	internalTag = 0x01
)

// EmptyRoot is the root of the tree with no keys, and the hash of every empty
// subtree: 32 zero bytes. It is a placeholder, not the hash of anything; no
// leaf or internal hash equals it except with negligible probability.
var EmptyRoot [32]byte

// HashKey returns the tree position of key: SHA-256(key). Bit 0 (the most
// significant bit of byte 0) chooses the child of the root, bit 1 the child
// below that, and so on.
func HashKey(key []byte) [32]byte { return sha256.Sum256(key) }

// HashValue returns SHA-256(value), which a leaf commits to.
func HashValue(value []byte) [32]byte { return sha256.Sum256(value) }

// LeafHash returns SHA-256(0x00 || keyHash || valueHash).
func LeafHash(keyHash, valueHash [32]byte) [32]byte {
	var buf [65]byte
	buf[0] = leafTag
	copy(buf[1:33], keyHash[:])
	copy(buf[33:], valueHash[:])
	return sha256.Sum256(buf[:])
}

// InternalHash returns SHA-256(0x01 || left || right), where an empty child is
// EmptyRoot.
func InternalHash(left, right [32]byte) [32]byte {
	var buf [65]byte
	buf[0] = internalTag
	copy(buf[1:33], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// bit returns bit i (0 = most significant bit of byte 0) of h.
func bit(h *[32]byte, i int) uint8 {
	return (h[i>>3] >> (7 - uint(i&7))) & 1
}

// setBit returns h with bit i set.
func setBit(h [32]byte, i int) [32]byte {
	h[i>>3] |= 1 << (7 - uint(i&7))
	return h
}

// sharesPrefix reports whether a and b agree on their first n bits.
func sharesPrefix(a, b *[32]byte, n int) bool {
	full := n >> 3
	for i := 0; i < full; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	if r := n & 7; r != 0 {
		mask := byte(0xff) << (8 - uint(r))
		return a[full]&mask == b[full]&mask
	}
	return true
}
