package ledger

import (
	"bytes"
	"slices"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// Every state record has a version byte first and one canonical encoding;
// a record that does not decode is corruption (errInternal), never input.

// PubKeyLen is the length of a compressed secp256k1 public key.
const PubKeyLen = 33

// Account is one address's money: spendable balance, bonded stake and the
// next nonce. A validator's consensus key and jail state live here too.
type Account struct {
	Balance     uint64
	Nonce       uint64
	Bonded      uint64
	Unbonding   []Unbonding // in order of maturity
	ConsKey     []byte      // compressed consensus public key; empty if never bonded with one
	JailedUntil uint64      // height until which the account is out of the validator set
}

// Unbonding is stake on its way back to the balance. It stays slashable
// until it matures.
type Unbonding struct {
	Amount       uint64
	StartHeight  uint64
	MatureHeight uint64
}

// maxUnbondings bounds an account's concurrent unbonding entries.
const maxUnbondings = 32

func (a *Account) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(a.Balance)
	e.Uint64(a.Nonce)
	e.Uint64(a.Bonded)
	e.Uvarint(uint64(len(a.Unbonding)))
	for _, u := range a.Unbonding {
		e.Uint64(u.Amount)
		e.Uint64(u.StartHeight)
		e.Uint64(u.MatureHeight)
	}
	e.BytesVar(a.ConsKey)
	e.Uint64(a.JailedUntil)
}

func (a *Account) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	a.Balance = d.Uint64()
	a.Nonce = d.Uint64()
	a.Bonded = d.Uint64()
	n := d.Count(maxUnbondings, 24)
	if n > 0 {
		a.Unbonding = make([]Unbonding, n)
	}
	for i := range a.Unbonding {
		a.Unbonding[i].Amount = d.Uint64()
		a.Unbonding[i].StartHeight = d.Uint64()
		a.Unbonding[i].MatureHeight = d.Uint64()
	}
	a.ConsKey = d.BytesVar(PubKeyLen)
	a.JailedUntil = d.Uint64()
	if d.Err() == nil && len(a.ConsKey) != 0 && len(a.ConsKey) != PubKeyLen {
		d.Failf("consensus key of %d bytes", len(a.ConsKey))
	}
}

// UnbondingTotal sums the account's unbonding entries.
func (a *Account) UnbondingTotal() uint64 {
	var t uint64
	for _, u := range a.Unbonding {
		t += u.Amount
	}
	return t
}

func (a *Account) isEmpty() bool {
	return a.Balance == 0 && a.Nonce == 0 && a.Bonded == 0 && len(a.Unbonding) == 0 &&
		len(a.ConsKey) == 0 && a.JailedUntil == 0
}

// addressList is a sorted list of distinct addresses.
type addressList struct{ Addrs []wallet.Address }

func (l *addressList) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uvarint(uint64(len(l.Addrs)))
	for _, a := range l.Addrs {
		e.Fixed(a[:])
	}
}

func (l *addressList) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	n := d.Count(1<<20, wallet.AddressLen)
	l.Addrs = make([]wallet.Address, n)
	for i := range l.Addrs {
		d.Fixed(l.Addrs[i][:])
		if i > 0 && d.Err() == nil && bytes.Compare(l.Addrs[i-1][:], l.Addrs[i][:]) >= 0 {
			d.Failf("address list not sorted")
		}
	}
}

// insert adds a to the list in order; it reports false if a was there.
func (l *addressList) insert(a wallet.Address) bool {
	i, found := slices.BinarySearchFunc(l.Addrs, a, addrCmp)
	if found {
		return false
	}
	l.Addrs = slices.Insert(l.Addrs, i, a)
	return true
}

// Validator is a member of the active set.
type Validator struct {
	Account wallet.Address
	ConsKey []byte // compressed secp256k1
	Power   uint64 // bonded stake at the epoch boundary, base units
}

// ValidatorSet is the active set, ordered by power (descending), then
// account address (ascending). StartHeight is the first height it votes
// at; consensus restarts its proposer schedule there.
type ValidatorSet struct {
	Epoch       uint64
	StartHeight uint64
	Validators  []Validator
}

func (s *ValidatorSet) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(s.Epoch)
	e.Uint64(s.StartHeight)
	e.Uvarint(uint64(len(s.Validators)))
	for _, v := range s.Validators {
		e.Fixed(v.Account[:])
		e.Fixed(v.ConsKey)
		e.Uint64(v.Power)
	}
}

func (s *ValidatorSet) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	s.Epoch = d.Uint64()
	s.StartHeight = d.Uint64()
	n := d.Count(1000, wallet.AddressLen+PubKeyLen+8)
	s.Validators = make([]Validator, n)
	for i := range s.Validators {
		v := &s.Validators[i]
		d.Fixed(v.Account[:])
		v.ConsKey = make([]byte, PubKeyLen)
		d.Fixed(v.ConsKey)
		v.Power = d.Uint64()
	}
}

// TotalPower is the sum of the set's voting power.
func (s *ValidatorSet) TotalPower() uint64 {
	var t uint64
	for _, v := range s.Validators {
		t += v.Power
	}
	return t
}

// DeviceKind is what a device of a site is.
type DeviceKind uint8

// Device kinds (ARCHITECTURE: pv, battery, ev_charger, meter, flexible_load).
const (
	DevicePV DeviceKind = iota + 1
	DeviceBattery
	DeviceEVCharger
	DeviceMeter
	DeviceFlexibleLoad
)

var deviceKindNames = [...]string{"", "pv", "battery", "ev_charger", "meter", "flexible_load"}

func (k DeviceKind) String() string {
	if int(k) < len(deviceKindNames) && k != 0 {
		return deviceKindNames[k]
	}
	return "unknown"
}

// Device is one device of a site.
type Device struct {
	Kind       DeviceKind
	NameplateW uint32 // AC power rating
	StorageWh  uint32 // usable capacity (batteries; 0 otherwise)
}

// Site is a registered metering point.
type Site struct {
	Owner   wallet.Address
	SiteKey []byte // compressed public key that signs readings
	Zone    string
	LatE6   int32 // micro-degrees, north positive
	LonE6   int32 // micro-degrees, east positive
	Devices []Device
	Deposit uint64 // base units locked at registration

	RegisteredHeight uint64
	// RegisteredInterval is the interval of the block that registered the
	// site: where its history begins for the baselines (a missing reading
	// from there on is the site's choice; see SettleFlex).
	RegisteredInterval uint64
	// The reading chain's head: the last accepted reading's counter, hash
	// and interval.
	Counter      uint64
	LastHash     [32]byte
	LastInterval uint64
	Accepted     uint64 // readings accepted
	CertifiedWh  uint64 // PV Wh certified as RECs, ever
	// PV Wh of accepted readings in hour PendingHour (since genesis), not
	// yet certified. A site has at most one pending hour: its readings come
	// in interval order, so a reading in a later hour makes the pending one
	// final.
	PendingHour uint64
	PendingWh   uint64
}

func encodeSiteDesc(e *codec.Encoder, zone string, latE6, lonE6 int32, devs []Device) {
	e.String(zone)
	e.Int64(int64(latE6))
	e.Int64(int64(lonE6))
	e.Uvarint(uint64(len(devs)))
	for _, dv := range devs {
		e.Uint8(uint8(dv.Kind))
		e.Uint32(dv.NameplateW)
		e.Uint32(dv.StorageWh)
	}
}

func decodeSiteDesc(d *codec.Decoder) (zone string, latE6, lonE6 int32, devs []Device) {
	zone = d.String(maxZoneLen)
	lat := d.Int64()
	lon := d.Int64()
	n := d.Count(256, 9)
	devs = make([]Device, n)
	for i := range devs {
		devs[i].Kind = DeviceKind(d.Uint8())
		devs[i].NameplateW = d.Uint32()
		devs[i].StorageWh = d.Uint32()
	}
	if d.Err() == nil {
		if lat < -90_000_000 || lat > 90_000_000 || lon < -180_000_000 || lon > 180_000_000 {
			d.Failf("location %d, %d micro-degrees", lat, lon)
		}
		for _, dv := range devs {
			if dv.Kind < DevicePV || dv.Kind > DeviceFlexibleLoad {
				d.Failf("device kind %d", dv.Kind)
				break
			}
		}
	}
	return zone, int32(lat), int32(lon), devs
}

func (s *Site) EncodeTo(e *codec.Encoder) {
	e.Uint8(2)
	e.Fixed(s.Owner[:])
	e.Fixed(s.SiteKey)
	encodeSiteDesc(e, s.Zone, s.LatE6, s.LonE6, s.Devices)
	e.Uint64(s.Deposit)
	e.Uint64(s.RegisteredHeight)
	e.Uint64(s.RegisteredInterval)
	e.Uint64(s.Counter)
	e.Fixed(s.LastHash[:])
	e.Uint64(s.LastInterval)
	e.Uint64(s.Accepted)
	e.Uint64(s.CertifiedWh)
	e.Uint64(s.PendingHour)
	e.Uint64(s.PendingWh)
}

func (s *Site) DecodeFrom(d *codec.Decoder) {
	d.Version(2)
	d.Fixed(s.Owner[:])
	s.SiteKey = make([]byte, PubKeyLen)
	d.Fixed(s.SiteKey)
	s.Zone, s.LatE6, s.LonE6, s.Devices = decodeSiteDesc(d)
	s.Deposit = d.Uint64()
	s.RegisteredHeight = d.Uint64()
	s.RegisteredInterval = d.Uint64()
	s.Counter = d.Uint64()
	d.Fixed(s.LastHash[:])
	s.LastInterval = d.Uint64()
	s.Accepted = d.Uint64()
	s.CertifiedWh = d.Uint64()
	s.PendingHour = d.Uint64()
	s.PendingWh = d.Uint64()
}

// capacity sums the site's devices of one kind: nameplate W and storage Wh.
func (s *Site) capacity(k DeviceKind) (powerW, storageWh uint64) {
	for _, dv := range s.Devices {
		if dv.Kind == k {
			powerW += uint64(dv.NameplateW)
			storageWh += uint64(dv.StorageWh)
		}
	}
	return powerW, storageWh
}

func (s *Site) has(k DeviceKind) bool {
	for _, dv := range s.Devices {
		if dv.Kind == k {
			return true
		}
	}
	return false
}

// TechSolarPV is the technology of certificates for PV generation.
const TechSolarPV = "solar_pv"

// REC is a granular renewable energy certificate: Wh of verified generation
// of one site in one hour (in the spirit of the EnergyTag Granular
// Certificate scheme). A transfer of part of a certificate splits it: the
// sender keeps a smaller certificate and the receiver gets a new one with
// Parent set. A retired certificate never moves again.
type REC struct {
	ID            uint64
	Parent        uint64 // 0 for an issued certificate
	Owner         wallet.Address
	Site          wallet.Address
	Zone          string
	Technology    string
	PeriodStart   int64 // Unix seconds, the hour's start
	PeriodEnd     int64 // Unix seconds, exclusive
	Wh            uint64
	IssuedHeight  uint64
	Retired       bool
	Beneficiary   string
	RetiredHeight uint64
}

func (r *REC) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(r.ID)
	e.Uint64(r.Parent)
	e.Fixed(r.Owner[:])
	e.Fixed(r.Site[:])
	e.String(r.Zone)
	e.String(r.Technology)
	e.Int64(r.PeriodStart)
	e.Int64(r.PeriodEnd)
	e.Uint64(r.Wh)
	e.Uint64(r.IssuedHeight)
	e.Bool(r.Retired)
	e.String(r.Beneficiary)
	e.Uint64(r.RetiredHeight)
}

func (r *REC) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	r.ID = d.Uint64()
	r.Parent = d.Uint64()
	d.Fixed(r.Owner[:])
	d.Fixed(r.Site[:])
	r.Zone = d.String(maxZoneLen)
	r.Technology = d.String(32)
	r.PeriodStart = d.Int64()
	r.PeriodEnd = d.Int64()
	r.Wh = d.Uint64()
	r.IssuedHeight = d.Uint64()
	r.Retired = d.Bool()
	r.Beneficiary = d.String(maxBeneficiaryLen)
	r.RetiredHeight = d.Uint64()
}

// chainState holds the chain-wide counters.
type chainState struct {
	Height        uint64   // last executed height
	TimeMs        int64    // last block's time
	LastBlockHash [32]byte // hash of the last block
	NextRECID     uint64   // the next certificate id (ids start at 1)
	NextRECHour   uint64   // the first hour (since genesis) not yet certified
	LastEmission  uint64   // the last epoch's emission (0 before epoch 1)
	NextFlexID    uint64   // the next flexibility request id (ids start at 1)
}

func (c *chainState) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(c.Height)
	e.Int64(c.TimeMs)
	e.Fixed(c.LastBlockHash[:])
	e.Uint64(c.NextRECID)
	e.Uint64(c.NextRECHour)
	e.Uint64(c.LastEmission)
	e.Uint64(c.NextFlexID)
}

func (c *chainState) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	c.Height = d.Uint64()
	c.TimeMs = d.Int64()
	d.Fixed(c.LastBlockHash[:])
	c.NextRECID = d.Uint64()
	c.NextRECHour = d.Uint64()
	c.LastEmission = d.Uint64()
	c.NextFlexID = d.Uint64()
}

// Supply is the money supply: what genesis created and what emission added
// since. The invariant the tests check after every block: the sum of all
// balances, bonded stake, unbonding stake and site deposits equals
// Genesis + Emitted. Fees move money (to the proposer), slashes move it (to
// the community pool); nothing burns it.
type Supply struct {
	Genesis uint64
	Emitted uint64
}

func (s *Supply) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(s.Genesis)
	e.Uint64(s.Emitted)
}

func (s *Supply) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	s.Genesis = d.Uint64()
	s.Emitted = d.Uint64()
}

// Total is Genesis + Emitted.
func (s *Supply) Total() uint64 { return s.Genesis + s.Emitted }

// Limits on strings in transactions and state.
const (
	maxZoneLen        = 32
	maxBeneficiaryLen = 256
)

// ModuleAddress is the account of a protocol module: Keccak-256 of
// "gridmint/module/" + name, last 20 bytes. No key is known for it, so only
// the ledger's rules move its money.
func ModuleAddress(name string) wallet.Address {
	h := wallet.Keccak256([]byte("gridmint/module/" + name))
	var a wallet.Address
	copy(a[:], h[12:])
	return a
}

// Module accounts.
var (
	// CommunityPool receives slashed stake and rounding remainders.
	CommunityPool = ModuleAddress("community")
	// FlexibilityPool receives the flexibility share of each epoch's
	// emission, until the proof-of-flexibility rules pay it to sites.
	FlexibilityPool = ModuleAddress("flexibility")
)
