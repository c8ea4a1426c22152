package ledger

import (
	"errors"
	"fmt"

	"github.com/gridmint/gridmint/codec"
)

// BaseUnitsPerFLX is the number of base units in one FLX.
const BaseUnitsPerFLX = 1_000_000

// WhPerREC is the face value of one REC (1 MWh) in human output.
const WhPerREC = 1_000_000

// Params are the chain's rules, fixed at genesis and kept in the state (so
// the state root commits to them). Every quantity names its unit.
type Params struct {
	// IntervalSeconds is the metering interval; it must divide 3600 so that
	// hours (the REC period) are whole numbers of intervals.
	IntervalSeconds uint32 `json:"interval_seconds"`
	// ReadingWindowIntervals: a reading is accepted until this many
	// intervals after its interval ended; after that it is stale, and the
	// hour it belongs to can be certified.
	ReadingWindowIntervals uint32 `json:"reading_window_intervals"`
	// ReadingMaxSkewSeconds: a reading's interval may end at most this far
	// after the block's time (clock skew between a home and the validators).
	ReadingMaxSkewSeconds uint32 `json:"reading_max_skew_seconds"`
	// MaxReadingsPerTx bounds one reading-batch transaction.
	MaxReadingsPerTx uint32 `json:"max_readings_per_tx"`

	// MinFee is the smallest fee a transaction may carry, in base units.
	MinFee uint64 `json:"min_fee"`
	// MaxTxBytes bounds one transaction's encoding.
	MaxTxBytes uint32 `json:"max_tx_bytes"`
	// MaxBlockBytes bounds the sum of a block's transaction encodings.
	MaxBlockBytes uint32 `json:"max_block_bytes"`

	// SiteDeposit is what registering a site locks from its owner, in base
	// units; it is held in the site record.
	SiteDeposit uint64 `json:"site_deposit"`
	// MaxDevicesPerSite bounds a site's device list.
	MaxDevicesPerSite uint32 `json:"max_devices_per_site"`

	// MaxValidators is N: the validator set is the top N bonded accounts
	// with a consensus key, not jailed, recomputed at each epoch boundary.
	MaxValidators uint32 `json:"max_validators"`
	// MinValidatorStake is the least bonded stake of a validator, in base units.
	MinValidatorStake uint64 `json:"min_validator_stake"`
	// UnbondingBlocks is how long unbonded stake stays slashable before it
	// returns to the balance.
	UnbondingBlocks uint64 `json:"unbonding_blocks"`
	// DoubleSignSlashPpm is the share of a double-signer's stake (bonded and
	// unbonding) that is slashed, in ppm.
	DoubleSignSlashPpm uint32 `json:"double_sign_slash_ppm"`
	// JailBlocks is how long a slashed validator stays out of the set.
	JailBlocks uint64 `json:"jail_blocks"`
	// EvidenceMaxAgeBlocks: evidence older than this is refused. It must be
	// below UnbondingBlocks so that no offender escapes by unbonding.
	EvidenceMaxAgeBlocks uint64 `json:"evidence_max_age_blocks"`

	// EpochBlocks is the length of an epoch; rewards are paid and the
	// validator set is recomputed when height % EpochBlocks == 0.
	EpochBlocks uint64 `json:"epoch_blocks"`
	// InitialEmission is epoch 1's emission in base units.
	InitialEmission uint64 `json:"initial_emission"`
	// EmissionDecayPpm: each epoch emits floor(previous × (10^6 − decay) / 10^6).
	EmissionDecayPpm uint32 `json:"emission_decay_ppm"`
	// ValidatorRewardPpm is the validators' share of each epoch's emission;
	// the rest is the flexibility share, paid to sites by delivered Wh.
	ValidatorRewardPpm uint32 `json:"validator_reward_ppm"`

	// FlexGraceIntervals: a request settles in the first block whose
	// interval is at least End + FlexGraceIntervals. It must exceed
	// ReadingWindowIntervals, so that every reading of the window that can
	// still be accepted has been.
	FlexGraceIntervals uint32 `json:"flex_grace_intervals"`
	// FlexMaxWindowIntervals bounds an event window (at most a day).
	FlexMaxWindowIntervals uint32 `json:"flex_max_window_intervals"`
	// FlexPayoutCapPpm: delivered energy is paid up to committed × cap.
	FlexPayoutCapPpm uint32 `json:"flex_payout_cap_ppm"`
	// FlexSlashThresholdPpm and FlexMaxSlashPpm: below the threshold's
	// performance, the bond is slashed in proportion to the shortfall,
	// reaching FlexMaxSlashPpm of it at zero (baseline.SlashSchedule).
	FlexSlashThresholdPpm uint32 `json:"flex_slash_threshold_ppm"`
	FlexMaxSlashPpm       uint32 `json:"flex_max_slash_ppm"`
	// FlexMinBondPpm: a commitment's bond is at least this share of the
	// most it could be paid (price × committed energy).
	FlexMinBondPpm uint32 `json:"flex_min_bond_ppm"`
	// FlexGuardIntervals is the pre-event guard: up to this many intervals
	// before a window, and not before the request was posted, are settled
	// with it, and energy a site drew above its baseline there is netted
	// against its delivery (baseline.Settle). 0 turns the guard off.
	FlexGuardIntervals uint32 `json:"flex_guard_intervals"`

	// FlexSeasonDays is the length of a settlement season in days of the
	// chain (counted from the genesis, FlexSeasonDays × 86400 /
	// IntervalSeconds intervals): a site's deliveries are netted over its
	// requests (season.go), and each season has a statement per site
	// (FlexSeason). 0 turns season netting off (chains whose params
	// predate it, version 1).
	FlexSeasonDays uint32 `json:"flex_season_days"`
	// ZoneCalendars are the zones' calendars (local time and holidays),
	// sorted by zone: a request's baseline days come from its zone's
	// calendar, never from the request (FlexTerms.Holidays must be
	// empty). A zone without one has no holidays and takes the request's
	// UTC offset.
	ZoneCalendars []ZoneCalendar `json:"zone_calendars,omitempty"`
}

// ZoneCalendar is one grid zone's calendar for baseline days: its fixed
// UTC offset (standard time) and its holidays, as local day numbers
// (days since 1970-01-01 in local time, strictly increasing), which the
// day-matching methods treat like weekend days (baseline.Calendar). The
// day types of the published rules (CAISO's and NYISO's weekday versus
// weekend/holiday pools, PJM's like days) all read the holidays from here.
type ZoneCalendar struct {
	Zone             string  `json:"zone"`
	UTCOffsetSeconds int32   `json:"utc_offset_seconds"`
	Holidays         []int64 `json:"holidays"`
}

// Limits of the zone calendars.
const (
	MaxZoneCalendars = 256
	MaxZoneHolidays  = 1024 // decades of holidays
	maxSeasonDays    = 3660
)

// ZoneCalendar returns zone's calendar, if the params have one.
func (p *Params) ZoneCalendar(zone string) (ZoneCalendar, bool) {
	lo, hi := 0, len(p.ZoneCalendars)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.ZoneCalendars[mid].Zone < zone {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(p.ZoneCalendars) && p.ZoneCalendars[lo].Zone == zone {
		return p.ZoneCalendars[lo], true
	}
	return ZoneCalendar{}, false
}

// SeasonIntervals is the length of a season in intervals (0: netting off).
func (p *Params) SeasonIntervals() uint64 {
	return uint64(p.FlexSeasonDays) * (86400 / uint64(p.IntervalSeconds))
}

// SeasonOf is the season of interval i (i ≥ 0; 0 with netting off).
func (p *Params) SeasonOf(i int64) uint64 {
	n := p.SeasonIntervals()
	if n == 0 || i < 0 {
		return 0
	}
	return uint64(i) / n
}

func (z *ZoneCalendar) validate() error {
	switch {
	case !validZone(z.Zone):
		return fmt.Errorf("zone calendar: zone %q", z.Zone)
	case z.UTCOffsetSeconds < -18*3600 || z.UTCOffsetSeconds > 18*3600:
		return fmt.Errorf("zone calendar %s: UTC offset %d s", z.Zone, z.UTCOffsetSeconds)
	case len(z.Holidays) > MaxZoneHolidays:
		return fmt.Errorf("zone calendar %s: %d holidays, at most %d", z.Zone, len(z.Holidays), MaxZoneHolidays)
	}
	for k, h := range z.Holidays {
		if h < -(1<<40) || h > 1<<40 || k > 0 && h <= z.Holidays[k-1] {
			return fmt.Errorf("zone calendar %s: holidays not strictly increasing day numbers at %d", z.Zone, k)
		}
	}
	return nil
}

// DefaultParams are the devnet's rules.
func DefaultParams() Params {
	return Params{
		IntervalSeconds:        900,
		ReadingWindowIntervals: 16,
		ReadingMaxSkewSeconds:  120,
		MaxReadingsPerTx:       1024,
		MinFee:                 1_000,
		MaxTxBytes:             256 << 10,
		MaxBlockBytes:          4 << 20,
		SiteDeposit:            10 * BaseUnitsPerFLX,
		MaxDevicesPerSite:      16,
		MaxValidators:          32,
		MinValidatorStake:      1_000 * BaseUnitsPerFLX,
		UnbondingBlocks:        20_000,
		DoubleSignSlashPpm:     50_000,
		JailBlocks:             2_000,
		EvidenceMaxAgeBlocks:   10_000,
		EpochBlocks:            600,
		InitialEmission:        1_000 * BaseUnitsPerFLX,
		EmissionDecayPpm:       1_000,
		ValidatorRewardPpm:     300_000,
		FlexGraceIntervals:     17,
		FlexMaxWindowIntervals: 96,
		FlexPayoutCapPpm:       1_000_000,
		FlexSlashThresholdPpm:  500_000,
		FlexMaxSlashPpm:        1_000_000,
		FlexMinBondPpm:         100_000,
		FlexGuardIntervals:     8,
		FlexSeasonDays:         91,
	}
}

// maxParamBlocks bounds the parameters counted in blocks, so that a
// height plus any of them fits 64 bits (2^40 blocks are 35,000 years of
// one-second blocks).
const maxParamBlocks = 1 << 40

// ErrParams is returned for parameters that break a rule.
var ErrParams = errors.New("ledger: invalid params")

// Validate checks the parameters' own rules.
func (p *Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrParams, fmt.Sprintf(format, args...))
	}
	switch {
	case p.IntervalSeconds < 60 || 3600%p.IntervalSeconds != 0:
		return bad("interval_seconds %d must be at least 60 and divide 3600", p.IntervalSeconds)
	case p.ReadingWindowIntervals < 1 || p.ReadingWindowIntervals > 96*7:
		return bad("reading_window_intervals %d: want 1..672", p.ReadingWindowIntervals)
	case p.ReadingMaxSkewSeconds > p.IntervalSeconds:
		return bad("reading_max_skew_seconds %d exceeds one interval", p.ReadingMaxSkewSeconds)
	case p.MaxReadingsPerTx < 1 || p.MaxReadingsPerTx > 65536:
		return bad("max_readings_per_tx %d: want 1..65536", p.MaxReadingsPerTx)
	case p.MaxTxBytes < 1024 || p.MaxBlockBytes < p.MaxTxBytes:
		return bad("max_tx_bytes %d / max_block_bytes %d", p.MaxTxBytes, p.MaxBlockBytes)
	case p.MaxDevicesPerSite < 1 || p.MaxDevicesPerSite > 256:
		return bad("max_devices_per_site %d: want 1..256", p.MaxDevicesPerSite)
	case p.MaxValidators < 1 || p.MaxValidators > 1000:
		return bad("max_validators %d: want 1..1000", p.MaxValidators)
	case p.UnbondingBlocks < 1 || p.UnbondingBlocks > maxParamBlocks:
		return bad("unbonding_blocks %d: want 1..%d", p.UnbondingBlocks, uint64(maxParamBlocks))
	case p.JailBlocks > maxParamBlocks:
		return bad("jail_blocks %d: want at most %d", p.JailBlocks, uint64(maxParamBlocks))
	case p.EvidenceMaxAgeBlocks >= p.UnbondingBlocks:
		return bad("evidence_max_age_blocks %d must be below unbonding_blocks %d", p.EvidenceMaxAgeBlocks, p.UnbondingBlocks)
	case p.DoubleSignSlashPpm > 1_000_000 || p.EmissionDecayPpm > 1_000_000 || p.ValidatorRewardPpm > 1_000_000:
		return bad("a ppm value exceeds 1,000,000")
	case p.EpochBlocks < 1 || p.EpochBlocks > maxParamBlocks:
		return bad("epoch_blocks %d: want 1..%d", p.EpochBlocks, uint64(maxParamBlocks))
	case p.FlexGraceIntervals <= p.ReadingWindowIntervals:
		return bad("flex_grace_intervals %d must exceed reading_window_intervals %d", p.FlexGraceIntervals, p.ReadingWindowIntervals)
	case p.FlexMaxWindowIntervals < 1 || uint64(p.FlexMaxWindowIntervals)*uint64(p.IntervalSeconds) > 86400:
		return bad("flex_max_window_intervals %d: want 1 up to a day", p.FlexMaxWindowIntervals)
	case p.FlexPayoutCapPpm < 1 || p.FlexPayoutCapPpm > 10_000_000:
		return bad("flex_payout_cap_ppm %d: want 1..10,000,000", p.FlexPayoutCapPpm)
	case p.FlexSlashThresholdPpm < 1 || p.FlexSlashThresholdPpm > 1_000_000 || p.FlexMaxSlashPpm > 1_000_000 || p.FlexMinBondPpm > 1_000_000:
		return bad("a flexibility ppm value is out of range")
	case p.FlexGuardIntervals > p.FlexMaxWindowIntervals:
		return bad("flex_guard_intervals %d exceeds flex_max_window_intervals %d", p.FlexGuardIntervals, p.FlexMaxWindowIntervals)
	case p.FlexSeasonDays > maxSeasonDays:
		return bad("flex_season_days %d: want at most %d", p.FlexSeasonDays, maxSeasonDays)
	case len(p.ZoneCalendars) > MaxZoneCalendars:
		return bad("%d zone calendars, at most %d", len(p.ZoneCalendars), MaxZoneCalendars)
	}
	for i := range p.ZoneCalendars {
		if err := p.ZoneCalendars[i].validate(); err != nil {
			return bad("%v", err)
		}
		if i > 0 && p.ZoneCalendars[i].Zone <= p.ZoneCalendars[i-1].Zone {
			return bad("zone calendars not sorted by zone at %d (%s)", i, p.ZoneCalendars[i].Zone)
		}
	}
	return nil
}

// hasV2 reports whether the params carry the fields of version 2 (season
// netting, zone calendars); without them they encode as version 1, as
// before those existed.
func (p *Params) hasV2() bool { return p.FlexSeasonDays != 0 || len(p.ZoneCalendars) != 0 }

// IntervalsPerHour is 3600 / IntervalSeconds.
func (p *Params) IntervalsPerHour() uint64 { return 3600 / uint64(p.IntervalSeconds) }

// EncodeTo writes the canonical encoding (stored in the state).
func (p *Params) EncodeTo(e *codec.Encoder) {
	v2 := p.hasV2()
	if v2 {
		e.Uint8(2)
	} else {
		e.Uint8(1)
	}
	e.Uint32(p.IntervalSeconds)
	e.Uint32(p.ReadingWindowIntervals)
	e.Uint32(p.ReadingMaxSkewSeconds)
	e.Uint32(p.MaxReadingsPerTx)
	e.Uint64(p.MinFee)
	e.Uint32(p.MaxTxBytes)
	e.Uint32(p.MaxBlockBytes)
	e.Uint64(p.SiteDeposit)
	e.Uint32(p.MaxDevicesPerSite)
	e.Uint32(p.MaxValidators)
	e.Uint64(p.MinValidatorStake)
	e.Uint64(p.UnbondingBlocks)
	e.Uint32(p.DoubleSignSlashPpm)
	e.Uint64(p.JailBlocks)
	e.Uint64(p.EvidenceMaxAgeBlocks)
	e.Uint64(p.EpochBlocks)
	e.Uint64(p.InitialEmission)
	e.Uint32(p.EmissionDecayPpm)
	e.Uint32(p.ValidatorRewardPpm)
	e.Uint32(p.FlexGraceIntervals)
	e.Uint32(p.FlexMaxWindowIntervals)
	e.Uint32(p.FlexPayoutCapPpm)
	e.Uint32(p.FlexSlashThresholdPpm)
	e.Uint32(p.FlexMaxSlashPpm)
	e.Uint32(p.FlexMinBondPpm)
	e.Uint32(p.FlexGuardIntervals)
	if !v2 {
		return
	}
	e.Uint32(p.FlexSeasonDays)
	e.Uvarint(uint64(len(p.ZoneCalendars)))
	for _, z := range p.ZoneCalendars {
		e.String(z.Zone)
		e.Int64(int64(z.UTCOffsetSeconds))
		e.Uvarint(uint64(len(z.Holidays)))
		for _, h := range z.Holidays {
			e.Int64(h)
		}
	}
}

// DecodeFrom reads the canonical encoding and validates it.
func (p *Params) DecodeFrom(d *codec.Decoder) {
	v := d.Uint8()
	if d.Err() == nil && v != 1 && v != 2 {
		d.Fail(fmt.Errorf("%w: %d, want 1 or 2", codec.ErrBadVersion, v))
	}
	p.IntervalSeconds = d.Uint32()
	p.ReadingWindowIntervals = d.Uint32()
	p.ReadingMaxSkewSeconds = d.Uint32()
	p.MaxReadingsPerTx = d.Uint32()
	p.MinFee = d.Uint64()
	p.MaxTxBytes = d.Uint32()
	p.MaxBlockBytes = d.Uint32()
	p.SiteDeposit = d.Uint64()
	p.MaxDevicesPerSite = d.Uint32()
	p.MaxValidators = d.Uint32()
	p.MinValidatorStake = d.Uint64()
	p.UnbondingBlocks = d.Uint64()
	p.DoubleSignSlashPpm = d.Uint32()
	p.JailBlocks = d.Uint64()
	p.EvidenceMaxAgeBlocks = d.Uint64()
	p.EpochBlocks = d.Uint64()
	p.InitialEmission = d.Uint64()
	p.EmissionDecayPpm = d.Uint32()
	p.ValidatorRewardPpm = d.Uint32()
	p.FlexGraceIntervals = d.Uint32()
	p.FlexMaxWindowIntervals = d.Uint32()
	p.FlexPayoutCapPpm = d.Uint32()
	p.FlexSlashThresholdPpm = d.Uint32()
	p.FlexMaxSlashPpm = d.Uint32()
	p.FlexMinBondPpm = d.Uint32()
	p.FlexGuardIntervals = d.Uint32()
	p.FlexSeasonDays, p.ZoneCalendars = 0, nil
	if v == 2 {
		p.FlexSeasonDays = d.Uint32()
		n := d.Count(MaxZoneCalendars, 10)
		if n > 0 {
			p.ZoneCalendars = make([]ZoneCalendar, n)
		}
		for i := range p.ZoneCalendars {
			z := &p.ZoneCalendars[i]
			z.Zone = d.String(maxZoneLen)
			off := d.Int64()
			if d.Err() == nil && (off < -18*3600 || off > 18*3600) {
				d.Failf("zone calendar UTC offset %d s", off)
			}
			z.UTCOffsetSeconds = int32(off)
			m := d.Count(MaxZoneHolidays, 8)
			if m > 0 {
				z.Holidays = make([]int64, m)
			}
			for k := range z.Holidays {
				z.Holidays[k] = d.Int64()
			}
		}
		if d.Err() == nil && !p.hasV2() {
			d.Failf("params version 2 without its fields")
		}
	}
	if d.Err() == nil {
		if err := p.Validate(); err != nil {
			d.Fail(err)
		}
	}
}
