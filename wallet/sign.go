package wallet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/gridmint/gridmint/codec"
)

// SignatureLen is the length of a recoverable signature: R (32) || S (32) || V (1).
const SignatureLen = 65

// Errors about signatures.
var (
	ErrBadSignature = errors.New("wallet: invalid signature")
	ErrHighS        = errors.New("wallet: signature S is not in the lower half of the order")
	ErrBadV         = errors.New("wallet: signature V out of range")
	ErrWrongSigner  = errors.New("wallet: signature is not by the expected key")
	ErrBadChainID   = errors.New("wallet: chain id must be 1-64 characters of a-z, 0-9, '-' or '_'")
	ErrBadTag       = errors.New("wallet: type tag must be 1-64 printable ASCII characters")
)

// Signature is a recoverable ECDSA signature R || S || V with V in {0, 1}
// (typed signatures) or {27, 28} (EIP-191 personal signatures).
type Signature [SignatureLen]byte

// Tag names what a signed message is. Each signed type in gridmint has one
// tag, versioned, e.g. "gridmint/reading/v1".
type Tag string

// sigMagic opens every typed signing preimage so that a typed signature can
// never be taken for a signature of some other scheme.
const sigMagic = "gridmint-signed-message"

// ValidateChainID checks the form of a chain id.
func ValidateChainID(id string) error {
	if len(id) == 0 || len(id) > 64 {
		return ErrBadChainID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ErrBadChainID
		}
	}
	return nil
}

func validateTag(t Tag) error {
	if len(t) == 0 || len(t) > 64 {
		return ErrBadTag
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e {
			return ErrBadTag
		}
	}
	return nil
}

// SigningHash is the 32-byte hash a typed signature covers:
//
//	SHA-256( String(magic) || String(tag) || String(chainID) || BytesVar(body) )
//
// in the canonical encoding of package codec. body is the canonical encoding
// of the message without its signature.
func SigningHash(tag Tag, chainID string, body []byte) ([32]byte, error) {
	if err := validateTag(tag); err != nil {
		return [32]byte{}, err
	}
	if err := ValidateChainID(chainID); err != nil {
		return [32]byte{}, err
	}
	e := codec.NewEncoder(len(sigMagic) + len(tag) + len(chainID) + len(body) + 8)
	e.String(sigMagic)
	e.String(string(tag))
	e.String(chainID)
	e.BytesVar(body)
	return sha256.Sum256(e.Bytes()), nil
}

// SignHash signs a 32-byte hash. The result has V in {0, 1} and low S.
func (k *PrivateKey) SignHash(hash [32]byte) Signature {
	compact := ecdsa.SignCompact(k.k, hash[:], false)
	var sig Signature
	copy(sig[:64], compact[1:])
	sig[64] = compact[0] - 27
	return sig
}

// SignTyped signs body under tag and chain id.
func (k *PrivateKey) SignTyped(tag Tag, chainID string, body []byte) (Signature, error) {
	h, err := SigningHash(tag, chainID, body)
	if err != nil {
		return Signature{}, err
	}
	return k.SignHash(h), nil
}

// RecoverTyped returns the public key that signed body under tag and chain id.
func RecoverTyped(tag Tag, chainID string, body []byte, sig Signature) (*PublicKey, error) {
	h, err := SigningHash(tag, chainID, body)
	if err != nil {
		return nil, err
	}
	return RecoverHash(h, sig)
}

// VerifyTyped checks that pub signed body under tag and chain id. It is
// cheaper than recovery when the signer's key is known (readings from a
// registered site key, votes from a known validator).
func VerifyTyped(pub *PublicKey, tag Tag, chainID string, body []byte, sig Signature) error {
	h, err := SigningHash(tag, chainID, body)
	if err != nil {
		return err
	}
	return VerifyHash(pub, h, sig)
}

// parseRS checks that R and S are in range and S is low, and returns them.
func parseRS(sig *Signature) (r, s secp256k1.ModNScalar, err error) {
	if overflow := r.SetByteSlice(sig[:32]); overflow || r.IsZero() {
		return r, s, ErrBadSignature
	}
	if overflow := s.SetByteSlice(sig[32:64]); overflow || s.IsZero() {
		return r, s, ErrBadSignature
	}
	if s.IsOverHalfOrder() {
		return r, s, ErrHighS
	}
	return r, s, nil
}

// secpRecoveries and secpVerifications count, for the whole process, the
// calls of RecoverHash and VerifyHash (the public-key recoveries and
// verifications, and the few that fail their range checks first): what
// SecpCounts reports.
var secpRecoveries, secpVerifications atomic.Uint64

// SecpCounts is how many secp256k1 recoveries and verifications this
// process has run, by every caller (a node's own count is its SigCache's):
// tests compare the two to show that every check went through a cache.
func SecpCounts() (recoveries, verifications uint64) {
	return secpRecoveries.Load(), secpVerifications.Load()
}

// RecoverHash recovers the signer of a 32-byte hash. V must be 0 or 1.
func RecoverHash(hash [32]byte, sig Signature) (*PublicKey, error) {
	secpRecoveries.Add(1)
	if sig[64] > 1 {
		return nil, fmt.Errorf("%w: %d", ErrBadV, sig[64])
	}
	if _, _, err := parseRS(&sig); err != nil {
		return nil, err
	}
	var compact [65]byte
	compact[0] = 27 + sig[64]
	copy(compact[1:], sig[:64])
	pub, _, err := ecdsa.RecoverCompact(compact[:], hash[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return &PublicKey{k: pub}, nil
}

// VerifyHash checks a signature against a known key. V is ignored: knowing
// the key, verification does not need it, but it must still be 0 or 1 so
// that only one encoding is valid.
func VerifyHash(pub *PublicKey, hash [32]byte, sig Signature) error {
	secpVerifications.Add(1)
	if sig[64] > 1 {
		return fmt.Errorf("%w: %d", ErrBadV, sig[64])
	}
	r, s, err := parseRS(&sig)
	if err != nil {
		return err
	}
	if pub.tab != nil {
		if !verifyTable(pub.tab, hash[:], &r, &s) {
			return ErrWrongSigner
		}
		return nil
	}
	if !ecdsa.NewSignature(&r, &s).Verify(hash[:], pub.k) {
		return ErrWrongSigner
	}
	return nil
}

// PersonalHash is the EIP-191 (version 0x45) hash of msg:
// Keccak-256("\x19Ethereum Signed Message:\n" || decimal len(msg) || msg).
func PersonalHash(msg []byte) [32]byte {
	prefix := "\x19Ethereum Signed Message:\n" + strconv.Itoa(len(msg))
	return Keccak256([]byte(prefix), msg)
}

// SignPersonal signs msg as Ethereum's personal_sign does; V is 27 or 28.
func (k *PrivateKey) SignPersonal(msg []byte) Signature {
	sig := k.SignHash(PersonalHash(msg))
	sig[64] += 27
	return sig
}

// RecoverPersonal returns the address that personal-signed msg. It accepts V
// as 27/28 (what wallets emit) or 0/1 (what some libraries emit).
func RecoverPersonal(msg []byte, sig Signature) (Address, error) {
	if sig[64] >= 27 {
		sig[64] -= 27
	}
	pub, err := RecoverHash(PersonalHash(msg), sig)
	if err != nil {
		return Address{}, err
	}
	return pub.Address(), nil
}

// ParseSignature reads 65 bytes of hex (0x optional).
func ParseSignature(s string) (Signature, error) {
	var sig Signature
	h := trim0x(s)
	if len(h) != 2*SignatureLen {
		return sig, fmt.Errorf("%w: want %d hex digits, got %d", ErrBadSignature, 2*SignatureLen, len(h))
	}
	if _, err := hex.Decode(sig[:], []byte(h)); err != nil {
		return sig, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return sig, nil
}

// Hex returns the 0x-prefixed hex form.
func (s Signature) Hex() string { return "0x" + hex.EncodeToString(s[:]) }
