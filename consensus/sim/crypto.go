package sim

import (
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"

	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/wallet"
)

// fakeKey is the simulation's stand-in for a secp256k1 key when a scenario
// does not need real signatures: a MAC under a per-validator secret over the
// same typed signing hash (wallet.SigningHash), so tag, chain id, height and
// round are covered exactly as with real keys, at a thousandth of the cost.
// Forging still needs the secret, which Byzantine nodes do not have for
// other validators.
type fakeKey struct {
	addr   wallet.Address
	secret [32]byte
}

func (k *fakeKey) Address() wallet.Address { return k.addr }

func (k *fakeKey) SignTyped(tag wallet.Tag, chainID string, body []byte) (wallet.Signature, error) {
	h, err := wallet.SigningHash(tag, chainID, body)
	if err != nil {
		return wallet.Signature{}, err
	}
	return fakeMAC(&k.secret, h), nil
}

func fakeMAC(secret *[32]byte, h [32]byte) wallet.Signature {
	var sig wallet.Signature
	m := sha256.New()
	m.Write(secret[:])
	m.Write(h[:])
	copy(sig[:32], m.Sum(nil))
	return sig
}

// fakeVerifier knows every validator's secret, by address.
type fakeVerifier struct {
	keys  []*fakeKey
	byAdr map[wallet.Address]*fakeKey
}

var errFakeSig = errors.New("sim: bad fake signature")

func (f *fakeVerifier) VerifyTyped(val *consensus.Validator, tag wallet.Tag, chainID string, body []byte, sig wallet.Signature) error {
	h, err := wallet.SigningHash(tag, chainID, body)
	if err != nil {
		return err
	}
	k, ok := f.byAdr[val.Address]
	if !ok || fakeMAC(&k.secret, h) != sig {
		return errFakeSig
	}
	return nil
}

// rngReader turns a seeded generator into an io.Reader for key generation.
type rngReader struct{ r *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

var _ io.Reader = rngReader{}
var _ consensus.Signer = (*fakeKey)(nil)
var _ consensus.Signer = (*wallet.PrivateKey)(nil)
var _ consensus.Verifier = (*fakeVerifier)(nil)
