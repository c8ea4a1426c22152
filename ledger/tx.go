package ledger

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/wallet"
)

// Signature domains of the ledger (ARCHITECTURE rule 3).
const (
	TxTag      wallet.Tag = "gridmint/tx/v1"
	SitePoPTag wallet.Tag = "gridmint/site-pop/v1"
)

const txVersion = 1

// TxType names a transaction's payload.
type TxType uint8

// Transaction types. Values 16–31 are kept for the proof-of-flexibility
// transactions (requests, commitments, cancellations).
const (
	TxTransfer     TxType = 1
	TxBond         TxType = 2
	TxUnbond       TxType = 3
	TxRegisterSite TxType = 4
	TxUpdateSite   TxType = 5
	TxReadings     TxType = 6
	TxRECTransfer  TxType = 7
	TxRECRetire    TxType = 8
	TxEvidence     TxType = 9
	// TxTransferMemo is a Transfer with a memo of 1 to MaxMemoBytes
	// bytes (a payment reference, an invoice id): its own type, so a
	// transfer without one keeps TxTransfer's encoding.
	TxTransferMemo TxType = 10
	TxFlexRequest  TxType = 16
	TxFlexCommit   TxType = 17
	TxFlexCancel   TxType = 18
	// TxFlexRequestControl is a FlexRequestTx whose terms ask for a
	// control group (FlexTerms.ControlSharePPM > 0): the payload is the
	// terms followed by ControlSharePPM and ControlPayPPM.
	TxFlexRequestControl TxType = 19
)

var txTypeNames = map[TxType]string{
	TxTransfer: "transfer", TxBond: "bond", TxUnbond: "unbond",
	TxRegisterSite: "register_site", TxUpdateSite: "update_site", TxReadings: "readings",
	TxRECTransfer: "rec_transfer", TxRECRetire: "rec_retire", TxEvidence: "evidence",
	TxTransferMemo: "transfer_memo",
	TxFlexRequest:  "flex_request", TxFlexCommit: "flex_commit", TxFlexCancel: "flex_cancel",
	TxFlexRequestControl: "flex_request_control",
}

func (t TxType) String() string {
	if n, ok := txTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("tx_type_%d", uint8(t))
}

// Payload is the type-specific part of a transaction.
type Payload interface {
	Type() TxType
	codec.Encodable
	codec.Decodable
}

// newPayload returns an empty payload of type t, or nil for an unknown type.
func newPayload(t TxType) Payload {
	switch t {
	case TxTransfer:
		return &Transfer{}
	case TxBond:
		return &Bond{}
	case TxUnbond:
		return &Unbond{}
	case TxRegisterSite:
		return &RegisterSite{}
	case TxUpdateSite:
		return &UpdateSite{}
	case TxReadings:
		return &Readings{}
	case TxRECTransfer:
		return &RECTransfer{}
	case TxRECRetire:
		return &RECRetire{}
	case TxEvidence:
		return &Evidence{}
	case TxTransferMemo:
		return &TransferMemo{}
	case TxFlexRequest, TxFlexRequestControl:
		return &FlexRequestTx{}
	case TxFlexCommit:
		return &FlexCommitTx{}
	case TxFlexCancel:
		return &FlexCancelTx{}
	}
	return nil
}

// Tx is a signed transaction. From must be the address that signed it;
// Nonce must be From's next nonce; Fee (base units) goes to the block's
// proposer.
type Tx struct {
	From    wallet.Address
	Nonce   uint64
	Fee     uint64
	Payload Payload
	Sig     wallet.Signature
}

func (tx *Tx) encodeBody(e *codec.Encoder) {
	e.Uint8(txVersion)
	e.Uint8(uint8(tx.Payload.Type()))
	e.Fixed(tx.From[:])
	e.Uint64(tx.Nonce)
	e.Uint64(tx.Fee)
	tx.Payload.EncodeTo(e)
}

// Body returns the bytes the sender signs.
func (tx *Tx) Body() []byte {
	var e codec.Encoder
	tx.encodeBody(&e)
	return e.Bytes()
}

// EncodeTo writes the body and then the signature.
func (tx *Tx) EncodeTo(e *codec.Encoder) {
	tx.encodeBody(e)
	e.Fixed(tx.Sig[:])
}

// DecodeFrom reads a transaction; an unknown type is an error.
func (tx *Tx) DecodeFrom(d *codec.Decoder) {
	d.Version(txVersion)
	t := TxType(d.Uint8())
	d.Fixed(tx.From[:])
	tx.Nonce = d.Uint64()
	tx.Fee = d.Uint64()
	if d.Err() != nil {
		return
	}
	tx.Payload = newPayload(t)
	if tx.Payload == nil {
		d.Fail(fmt.Errorf("%w: transaction type %d", codec.ErrUnknownKind, t))
		return
	}
	if fr, ok := tx.Payload.(*FlexRequestTx); ok {
		fr.decode(d, t == TxFlexRequestControl)
	} else {
		tx.Payload.DecodeFrom(d)
	}
	d.Fixed(tx.Sig[:])
}

// Encode returns the canonical encoding.
func (tx *Tx) Encode() []byte { return codec.Encode(tx) }

// Hash is SHA-256 of the canonical encoding.
func (tx *Tx) Hash() [32]byte { return sha256.Sum256(tx.Encode()) }

// DecodeTx parses a transaction, rejecting non-canonical input.
func DecodeTx(b []byte) (*Tx, error) {
	var tx Tx
	if err := codec.Decode(b, &tx); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedTx, err)
	}
	return &tx, nil
}

// Sign sets From to k's address and signs the transaction under chainID.
func (tx *Tx) Sign(k *wallet.PrivateKey, chainID string) error {
	tx.From = k.Address()
	sig, err := k.SignTyped(TxTag, chainID, tx.Body())
	if err != nil {
		return err
	}
	tx.Sig = sig
	return nil
}

// VerifySignature checks that From signed the transaction under chainID.
func (tx *Tx) VerifySignature(chainID string) error { return tx.VerifySignatureCached(nil, chainID) }

// VerifySignatureCached is VerifySignature through a node's signature
// cache (see wallet.SigCache); the answer is the same with or without it.
func (tx *Tx) VerifySignatureCached(c *wallet.SigCache, chainID string) error {
	got, err := c.RecoverSigner(tx.From, TxTag, chainID, tx.Body(), tx.Sig)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadTxSignature, err)
	}
	if got != tx.From {
		return fmt.Errorf("%w: signed by %s, claims %s", ErrBadTxSignature, got, tx.From)
	}
	return nil
}

// Transfer moves Amount base units from the sender to To.
type Transfer struct {
	To     wallet.Address
	Amount uint64
}

func (*Transfer) Type() TxType { return TxTransfer }
func (p *Transfer) EncodeTo(e *codec.Encoder) {
	e.Fixed(p.To[:])
	e.Uint64(p.Amount)
}
func (p *Transfer) DecodeFrom(d *codec.Decoder) {
	d.Fixed(p.To[:])
	p.Amount = d.Uint64()
}

// MaxMemoBytes bounds a TransferMemo's memo.
const MaxMemoBytes = 1024

// TransferMemo is a Transfer carrying Memo, 1 to MaxMemoBytes opaque
// bytes the ledger keeps in the block and does not interpret. An empty
// memo does not decode: that transfer is a Transfer.
type TransferMemo struct {
	To     wallet.Address
	Amount uint64
	Memo   []byte
}

func (*TransferMemo) Type() TxType { return TxTransferMemo }
func (p *TransferMemo) EncodeTo(e *codec.Encoder) {
	e.Fixed(p.To[:])
	e.Uint64(p.Amount)
	e.BytesVar(p.Memo)
}
func (p *TransferMemo) DecodeFrom(d *codec.Decoder) {
	d.Fixed(p.To[:])
	p.Amount = d.Uint64()
	p.Memo = d.BytesVar(MaxMemoBytes)
	if d.Err() == nil && len(p.Memo) == 0 {
		d.Failf("empty memo (a transfer without one is a %s)", TxTransfer)
	}
}

// Bond moves Amount from the sender's balance to its bonded stake. ConsKey
// (a compressed secp256k1 key) registers the key the validator signs votes
// with; it may be empty once a key is registered, and may not change while
// stake is bonded.
type Bond struct {
	Amount  uint64
	ConsKey []byte
}

func (*Bond) Type() TxType { return TxBond }
func (p *Bond) EncodeTo(e *codec.Encoder) {
	e.Uint64(p.Amount)
	e.BytesVar(p.ConsKey)
}
func (p *Bond) DecodeFrom(d *codec.Decoder) {
	p.Amount = d.Uint64()
	p.ConsKey = d.BytesVar(PubKeyLen)
	if d.Err() == nil && len(p.ConsKey) != 0 && len(p.ConsKey) != PubKeyLen {
		d.Failf("consensus key of %d bytes", len(p.ConsKey))
	}
}

// Unbond starts returning Amount of bonded stake; it reaches the balance
// after UnbondingBlocks and stays slashable until then.
type Unbond struct {
	Amount uint64
}

func (*Unbond) Type() TxType                  { return TxUnbond }
func (p *Unbond) EncodeTo(e *codec.Encoder)   { e.Uint64(p.Amount) }
func (p *Unbond) DecodeFrom(d *codec.Decoder) { p.Amount = d.Uint64() }

// RegisterSite registers a metering point owned by the sender. SiteKey is
// the compressed public key that will sign the site's readings; PoP is that
// key's typed signature (SitePoPTag) over the owner's address, proving that
// whoever registers the site holds the key. The site's id is the site key's
// address. SiteDeposit is locked from the owner's balance.
type RegisterSite struct {
	SiteKey []byte
	PoP     wallet.Signature
	Zone    string
	LatE6   int32
	LonE6   int32
	Devices []Device
}

func (*RegisterSite) Type() TxType { return TxRegisterSite }
func (p *RegisterSite) EncodeTo(e *codec.Encoder) {
	e.Fixed(p.SiteKey)
	e.Fixed(p.PoP[:])
	encodeSiteDesc(e, p.Zone, p.LatE6, p.LonE6, p.Devices)
}
func (p *RegisterSite) DecodeFrom(d *codec.Decoder) {
	p.SiteKey = make([]byte, PubKeyLen)
	d.Fixed(p.SiteKey)
	d.Fixed(p.PoP[:])
	p.Zone, p.LatE6, p.LonE6, p.Devices = decodeSiteDesc(d)
}

// SitePoPBody is what a site key signs to prove possession for owner.
func SitePoPBody(owner wallet.Address) []byte { return append([]byte(nil), owner[:]...) }

// UpdateSite changes a site's zone, location and devices. Only the owner
// may; the reading chain and deposit are untouched.
type UpdateSite struct {
	Site    wallet.Address
	Zone    string
	LatE6   int32
	LonE6   int32
	Devices []Device
}

func (*UpdateSite) Type() TxType { return TxUpdateSite }
func (p *UpdateSite) EncodeTo(e *codec.Encoder) {
	e.Fixed(p.Site[:])
	encodeSiteDesc(e, p.Zone, p.LatE6, p.LonE6, p.Devices)
}
func (p *UpdateSite) DecodeFrom(d *codec.Decoder) {
	d.Fixed(p.Site[:])
	p.Zone, p.LatE6, p.LonE6, p.Devices = decodeSiteDesc(d)
}

// Readings carries signed readings of any sites (a node batches what it
// heard on the network). Each reading is accepted or rejected on its own;
// the receipt lists every reading's outcome. The transaction itself
// succeeds when it is well formed.
type Readings struct {
	Readings []meter.Reading
}

func (*Readings) Type() TxType { return TxReadings }
func (p *Readings) EncodeTo(e *codec.Encoder) {
	e.Uvarint(uint64(len(p.Readings)))
	for i := range p.Readings {
		p.Readings[i].EncodeTo(e)
	}
}
func (p *Readings) DecodeFrom(d *codec.Decoder) {
	n := d.Count(65536, meter.ReadingSize)
	p.Readings = make([]meter.Reading, n)
	for i := range p.Readings {
		p.Readings[i].DecodeFrom(d)
	}
}

// RECTransfer moves Wh of certificate ID to To; the rest stays with the
// sender. Moving all of it moves the certificate itself.
type RECTransfer struct {
	ID uint64
	Wh uint64
	To wallet.Address
}

func (*RECTransfer) Type() TxType { return TxRECTransfer }
func (p *RECTransfer) EncodeTo(e *codec.Encoder) {
	e.Uint64(p.ID)
	e.Uint64(p.Wh)
	e.Fixed(p.To[:])
}
func (p *RECTransfer) DecodeFrom(d *codec.Decoder) {
	p.ID = d.Uint64()
	p.Wh = d.Uint64()
	d.Fixed(p.To[:])
}

// RECRetire retires Wh of certificate ID for Beneficiary (who claims the
// renewable energy). Retired Wh never move again.
type RECRetire struct {
	ID          uint64
	Wh          uint64
	Beneficiary string
}

func (*RECRetire) Type() TxType { return TxRECRetire }
func (p *RECRetire) EncodeTo(e *codec.Encoder) {
	e.Uint64(p.ID)
	e.Uint64(p.Wh)
	e.String(p.Beneficiary)
}
func (p *RECRetire) DecodeFrom(d *codec.Decoder) {
	p.ID = d.Uint64()
	p.Wh = d.Uint64()
	p.Beneficiary = d.String(maxBeneficiaryLen)
}

// Evidence carries consensus evidence of double-signing, in the consensus
// engine's encoding. The ledger does not parse it: the node hands the ledger
// an EvidenceVerifier (the consensus package's pure verification function).
type Evidence struct {
	Data []byte
}

func (*Evidence) Type() TxType                  { return TxEvidence }
func (p *Evidence) EncodeTo(e *codec.Encoder)   { e.BytesVar(p.Data) }
func (p *Evidence) DecodeFrom(d *codec.Decoder) { p.Data = d.BytesVar(64 << 10) }

// FlexRequestTx posts a flexibility request; the sender (the utility) pays
// the escrow: the most the request can pay out,
// ⌊price × ⌊TargetW × L / 3600⌋ × intervals × FlexPayoutCapPpm / 10^9⌋.
type FlexRequestTx struct {
	Terms FlexTerms
}

// Type is TxFlexRequestControl when the terms ask for a control group
// (either control field set), TxFlexRequest otherwise: each request has one
// encoding, and a request without a control group encodes as it always has.
func (p *FlexRequestTx) Type() TxType {
	if p.Terms.hasControl() {
		return TxFlexRequestControl
	}
	return TxFlexRequest
}

func (p *FlexRequestTx) EncodeTo(e *codec.Encoder) {
	p.Terms.encodeTo(e)
	if p.Terms.hasControl() {
		p.Terms.encodeControl(e)
	}
}

// DecodeFrom reads a TxFlexRequest payload (no control group); Tx.DecodeFrom
// reads either type.
func (p *FlexRequestTx) DecodeFrom(d *codec.Decoder) { p.decode(d, false) }

func (p *FlexRequestTx) decode(d *codec.Decoder, control bool) {
	p.Terms.decodeFrom(d)
	if control {
		p.Terms.decodeControl(d)
	}
}

// FlexCommitTx commits a site (owned by the sender) to a request with a
// bond, before the request's deadline.
type FlexCommitTx struct {
	RequestID     uint64
	Site          wallet.Address
	CommittedW    uint64
	BondBaseUnits uint64
}

func (*FlexCommitTx) Type() TxType { return TxFlexCommit }
func (p *FlexCommitTx) EncodeTo(e *codec.Encoder) {
	e.Uint64(p.RequestID)
	e.Fixed(p.Site[:])
	e.Uint64(p.CommittedW)
	e.Uint64(p.BondBaseUnits)
}
func (p *FlexCommitTx) DecodeFrom(d *codec.Decoder) {
	p.RequestID = d.Uint64()
	d.Fixed(p.Site[:])
	p.CommittedW = d.Uint64()
	p.BondBaseUnits = d.Uint64()
}

// FlexCancelTx cancels before the request's deadline. From the utility
// with a zero Site, it cancels the whole request: the escrow and every bond
// are returned in full. From a site's owner with its Site, it withdraws
// that commitment: the bond is returned in full. After the deadline
// nothing can be cancelled.
type FlexCancelTx struct {
	RequestID uint64
	Site      wallet.Address
}

func (*FlexCancelTx) Type() TxType { return TxFlexCancel }
func (p *FlexCancelTx) EncodeTo(e *codec.Encoder) {
	e.Uint64(p.RequestID)
	e.Fixed(p.Site[:])
}
func (p *FlexCancelTx) DecodeFrom(d *codec.Decoder) {
	p.RequestID = d.Uint64()
	d.Fixed(p.Site[:])
}

// Errors of transactions. Each rejection reason is its own value, so callers
// (the mempool, the API) decide on them with errors.Is.
var (
	ErrMalformedTx       = errors.New("malformed transaction")
	ErrBadTxSignature    = errors.New("bad transaction signature")
	ErrBadNonce          = errors.New("wrong nonce")
	ErrFeeTooLow         = errors.New("fee below the minimum")
	ErrTxTooLarge        = errors.New("transaction too large")
	ErrInsufficientFunds = errors.New("insufficient balance")
	ErrZeroAmount        = errors.New("amount is zero")
	ErrSelfTransfer      = errors.New("transfer to self")
	ErrModuleAccount     = errors.New("module accounts cannot send or be the sender")
	ErrInsufficientStake = errors.New("insufficient bonded stake")
	ErrNoConsKey         = errors.New("first bond needs a consensus key")
	ErrConsKeyChange     = errors.New("consensus key cannot change while stake is bonded")
	ErrConsKeyTaken      = errors.New("consensus key already registered by another account")
	ErrBadConsKey        = errors.New("malformed consensus key")
	ErrBadSiteKey        = errors.New("malformed site key")
	ErrBadPoP            = errors.New("proof of possession of the site key is invalid")
	ErrSiteExists        = errors.New("site already registered")
	ErrUnknownSite       = errors.New("unknown site")
	ErrNotSiteOwner      = errors.New("sender does not own the site")
	ErrBadZone           = errors.New("zone must be 1-32 characters of A-Z, 0-9, '-' or '_'")
	ErrBadDevices        = errors.New("invalid device list")
	ErrTooManyReadings   = errors.New("too many readings in one transaction")
	ErrNoReadings        = errors.New("no readings")
	ErrUnknownREC        = errors.New("unknown certificate")
	ErrNotRECOwner       = errors.New("sender does not own the certificate")
	ErrRECRetired        = errors.New("certificate is retired and can never move")
	ErrRECAmount         = errors.New("Wh must be between 1 and the certificate's Wh")
	ErrBadBeneficiary    = errors.New("beneficiary must be 1-256 bytes of printable UTF-8")
	ErrBadEvidence       = errors.New("invalid evidence")
	ErrDuplicateEvidence = errors.New("evidence already processed")
	ErrEvidenceTooOld    = errors.New("evidence too old")
	ErrNotValidator      = errors.New("evidence names an account with no stake")
	ErrNoEvidenceVerify  = errors.New("this node has no evidence verifier")
	ErrFlexTerms         = errors.New("invalid flexibility request terms")
	ErrUnknownRequest    = errors.New("unknown flexibility request")
	ErrRequestClosed     = errors.New("request is no longer open for this")
	ErrDeadlinePassed    = errors.New("the request's commitment deadline has passed")
	ErrWrongZone         = errors.New("site is not in the request's zone")
	ErrAlreadyCommitted  = errors.New("site already committed to this request")
	ErrOverCommitted     = errors.New("commitment would exceed the request's target")
	ErrBondTooLow        = errors.New("bond below the minimum")
	ErrNotCommitted      = errors.New("site has no commitment in this request")
	ErrSiteBusy          = errors.New("site is committed to another request over an overlapping window")
	ErrNotUtility        = errors.New("only the utility that posted the request can cancel it")
)
