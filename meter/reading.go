package meter

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// ReadingTag is the signature domain of a reading (ARCHITECTURE rule 3).
const ReadingTag wallet.Tag = "gridmint/reading/v1"

// readingVersion is the first byte of a reading's encoding.
const readingVersion = 1

// MaxSoCPpm is a full battery: state of charge is in parts per million.
const MaxSoCPpm = 1_000_000

// ReadingSize is the exact length of an encoded, signed reading.
const ReadingSize = 1 + wallet.AddressLen + 8 + 8 + 32 + 6*4 + 4 + wallet.SignatureLen

// ErrBadSoC is returned for a state of charge above 100 %.
var ErrBadSoC = errors.New("meter: battery state of charge above 1,000,000 ppm")

// SiteID names a metering point: the address of the key that signs its
// readings.
type SiteID = wallet.Address

// Reading is what one site measured over one interval, signed by the site
// key. Energies are whole Wh over the interval, each channel counted in one
// direction only, so every field is non-negative.
//
// Counter and PrevHash make each site's readings a hash chain: Counter is 1
// for a site's first reading and grows by exactly one per reading, PrevHash
// is the Hash of the previous reading (zero for the first). A gap, a replay
// or a deleted reading is therefore provable from the chain alone.
type Reading struct {
	Site     SiteID
	Interval uint64   // interval index since genesis
	Counter  uint64   // 1, 2, 3, ... per site
	PrevHash [32]byte // Hash of the site's previous reading

	GridImportWh       uint32
	GridExportWh       uint32
	PVWh               uint32
	BatteryChargeWh    uint32
	BatteryDischargeWh uint32
	EVWh               uint32
	BatterySoCPpm      uint32 // 0 when the site has no battery

	Sig wallet.Signature
}

// encodeBody writes every field but the signature.
func (r *Reading) encodeBody(e *codec.Encoder) {
	e.Uint8(readingVersion)
	e.Fixed(r.Site[:])
	e.Uint64(r.Interval)
	e.Uint64(r.Counter)
	e.Fixed(r.PrevHash[:])
	e.Uint32(r.GridImportWh)
	e.Uint32(r.GridExportWh)
	e.Uint32(r.PVWh)
	e.Uint32(r.BatteryChargeWh)
	e.Uint32(r.BatteryDischargeWh)
	e.Uint32(r.EVWh)
	e.Uint32(r.BatterySoCPpm)
}

// Body returns the canonical bytes the site key signs.
func (r *Reading) Body() []byte {
	e := codec.NewEncoder(ReadingSize)
	r.encodeBody(e)
	return e.Bytes()
}

// EncodeTo writes the canonical encoding: body then signature.
func (r *Reading) EncodeTo(e *codec.Encoder) {
	r.encodeBody(e)
	e.Fixed(r.Sig[:])
}

// DecodeFrom reads the canonical encoding. It checks form only (version,
// ranges); the signature and plausibility are checked by Verify and by the
// ledger.
func (r *Reading) DecodeFrom(d *codec.Decoder) {
	d.Version(readingVersion)
	d.Fixed(r.Site[:])
	r.Interval = d.Uint64()
	r.Counter = d.Uint64()
	d.Fixed(r.PrevHash[:])
	r.GridImportWh = d.Uint32()
	r.GridExportWh = d.Uint32()
	r.PVWh = d.Uint32()
	r.BatteryChargeWh = d.Uint32()
	r.BatteryDischargeWh = d.Uint32()
	r.EVWh = d.Uint32()
	r.BatterySoCPpm = d.Uint32()
	d.Fixed(r.Sig[:])
	if d.Err() == nil {
		if r.BatterySoCPpm > MaxSoCPpm {
			d.Fail(ErrBadSoC)
		}
		if r.Counter == 0 {
			d.Failf("reading counter 0")
		}
	}
}

// Encode returns the canonical encoding of the signed reading.
func (r *Reading) Encode() []byte { return codec.Encode(r) }

// DecodeReading parses a signed reading, rejecting non-canonical input.
func DecodeReading(b []byte) (*Reading, error) {
	var r Reading
	if err := codec.Decode(b, &r); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return &r, nil
}

// Hash identifies a reading: SHA-256 of its signed encoding. A site's next
// reading carries it as PrevHash.
func (r *Reading) Hash() [32]byte {
	e := codec.NewEncoder(ReadingSize)
	r.EncodeTo(e)
	return sha256.Sum256(e.Bytes())
}

// Sign signs the reading with the site key under chainID. The key's address
// must be the reading's Site.
func (r *Reading) Sign(k *wallet.PrivateKey, chainID string) error {
	if k.Address() != r.Site {
		return fmt.Errorf("meter: signing key %s is not the key of site %s", k.Address(), r.Site)
	}
	sig, err := k.SignTyped(ReadingTag, chainID, r.Body())
	if err != nil {
		return err
	}
	r.Sig = sig
	return nil
}

// Verify checks the signature against the site's registered public key.
func (r *Reading) Verify(sitePub *wallet.PublicKey, chainID string) error {
	if sitePub.Address() != r.Site {
		return fmt.Errorf("meter: key %s is not the key of site %s", sitePub.Address(), r.Site)
	}
	return wallet.VerifyTyped(sitePub, ReadingTag, chainID, r.Body(), r.Sig)
}

// VerifySite checks that the reading was signed by the key whose address is
// its Site, without knowing that key: it recovers the signer. It is
// equivalent to Verify with the site's registered key, because a site's id
// is its key's address.
func (r *Reading) VerifySite(chainID string) error { return r.VerifySiteCached(nil, chainID) }

// VerifySiteCached is VerifySite through a node's signature cache: a
// reading whose signature c has recovered to its Site before is not
// recovered again. The answer is the same with or without c.
func (r *Reading) VerifySiteCached(c *wallet.SigCache, chainID string) error {
	got, err := c.RecoverSigner(r.Site, ReadingTag, chainID, r.Body(), r.Sig)
	if err != nil {
		return err
	}
	if got != r.Site {
		return fmt.Errorf("%w: signed by %s, not by site %s", wallet.ErrWrongSigner, got, r.Site)
	}
	return nil
}

// NetImportWh is grid import minus grid export: the quantity a flexibility
// baseline is about. It is negative for a net-exporting interval.
func (r *Reading) NetImportWh() int64 { return int64(r.GridImportWh) - int64(r.GridExportWh) }

// HouseLoadWh is the energy the home itself used, apart from the EV and the
// battery: import + PV + battery discharge − export − battery charge − EV.
// A physically possible reading never makes it negative.
func (r *Reading) HouseLoadWh() int64 {
	return int64(r.GridImportWh) + int64(r.PVWh) + int64(r.BatteryDischargeWh) -
		int64(r.GridExportWh) - int64(r.BatteryChargeWh) - int64(r.EVWh)
}
