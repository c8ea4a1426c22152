package consensus

import (
	"github.com/gridmint/gridmint/wallet"
)

// Application is what the engine needs from the ledger and the mempool:
// a value to propose and a verdict on a value someone else proposed. Values
// are opaque bytes to the engine, identified by their SHA-256 hash.
//
// Both methods must be deterministic for a given committed state:
// ValidateValue in particular must give every honest validator the same
// answer, or the algorithm's validity property does not hold.
type Application interface {
	// ProposeValue returns the value this validator proposes at height.
	// lastCommit is the certificate of height-1 (nil at the first height
	// the engine runs); a block embeds it so that its time
	// (lastCommit.TimeMs) and the signatures that decided its parent are
	// on chain.
	ProposeValue(height uint64, lastCommit *Commit) ([]byte, error)
	// ValidateValue returns nil if value may be decided at height.
	ValidateValue(height uint64, value []byte) error
}

// BlockTimer is an optional Application capability: the block time a value
// carries (Unix ms), as the application validated it. When the application
// has it, the engine timestamps its precommit for a value strictly after
// that value's time, CometBFT's rule that keeps block times increasing:
// the next block's time is the weighted median of these precommits, which
// lies above at least one honest timestamp.
type BlockTimer interface {
	BlockTimeMs(value []byte) (int64, bool)
}

// ValidatorSets returns the validator set that votes at a height. Sets
// change only at epoch boundaries (see EpochSets). It returns an error
// wrapping ErrSetNotReady if the set is not known yet; the engine retries
// on the next Tick.
type ValidatorSets interface {
	ValidatorSet(height uint64) (*ValidatorSet, error)
}

// Signer is the validator's own consensus key. *wallet.PrivateKey is one;
// a remote signer or an HSM can be another.
type Signer interface {
	Address() wallet.Address
	SignTyped(tag wallet.Tag, chainID string, body []byte) (wallet.Signature, error)
}

// Verifier checks a typed signature by a validator. WalletVerifier is the
// real one; the simulation may use a cheaper stand-in.
type Verifier interface {
	VerifyTyped(val *Validator, tag wallet.Tag, chainID string, body []byte, sig wallet.Signature) error
}

// WalletVerifier verifies secp256k1 typed signatures against the
// validator's public key.
type WalletVerifier struct{}

// VerifyTyped implements Verifier.
func (WalletVerifier) VerifyTyped(val *Validator, tag wallet.Tag, chainID string, body []byte, sig wallet.Signature) error {
	if val.PubKey == nil {
		return ErrUnknownValidator
	}
	return wallet.VerifyTyped(val.PubKey, tag, chainID, body, sig)
}

// WAL is the durable, append-only log the engine's caller keeps (see
// consensus/wal for the file implementation). Records are opaque here;
// the engine's WALEntry gives them meaning.
type WAL interface {
	// Append adds records in order. If sync is true it returns only once
	// they (and every record before them) are durable.
	Append(records [][]byte, sync bool) error
	// ReadAll returns every intact record in order; a torn tail left by a
	// crash is dropped, never reported as data.
	ReadAll() ([][]byte, error)
	// Replace atomically replaces the whole log with records (durably), to
	// drop the entries of heights the application has committed.
	Replace(records [][]byte) error
}
