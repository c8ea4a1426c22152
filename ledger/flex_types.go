package ledger

import (
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// Flexibility request directions (the values of baseline.Direction).
const (
	FlexDown = uint8(baseline.Down) // less net import
	FlexUp   = uint8(baseline.Up)   // more net import
)

// Channels a baseline is computed on.
const (
	ChannelNet     uint8 = 0 // grid import − grid export (whole-site methods)
	ChannelBattery uint8 = 1 // battery charge − discharge (device method), paid at most baseline.BatteryProvenWh
	ChannelEV      uint8 = 2 // EV charging (device method)
)

// Request statuses.
const (
	FlexOpen      uint8 = 1
	FlexCancelled uint8 = 2
	FlexSettled   uint8 = 3
	// FlexVoided: the settlement could not be computed (see settleDue);
	// the escrow and every bond were returned in full.
	FlexVoided uint8 = 4
)

// Limits of the flexibility rules.
const (
	maxFlexHolidays    = 32
	maxFlexCommitments = 4096
	maxSiteEvents      = 192 // a 45-day lookback with several events a day, and their posting days
)

// BaselineRules override a method's default rules; a zero field keeps the
// default. They let a utility pick, say, "3 of 5" for a young network.
type BaselineRules struct {
	WeekdayX, WeekdayY uint16
	WeekendX, WeekendY uint16
	LookbackDays       uint16
	AdjustCapPPM       uint32
}

func (r *BaselineRules) encodeTo(e *codec.Encoder) {
	e.Uint16(r.WeekdayX)
	e.Uint16(r.WeekdayY)
	e.Uint16(r.WeekendX)
	e.Uint16(r.WeekendY)
	e.Uint16(r.LookbackDays)
	e.Uint32(r.AdjustCapPPM)
}

func (r *BaselineRules) decodeFrom(d *codec.Decoder) {
	r.WeekdayX = d.Uint16()
	r.WeekdayY = d.Uint16()
	r.WeekendX = d.Uint16()
	r.WeekendY = d.Uint16()
	r.LookbackDays = d.Uint16()
	r.AdjustCapPPM = d.Uint32()
}

// FlexTerms are what a utility asks for; they are the payload of a
// FlexRequest transaction and part of the stored request.
type FlexTerms struct {
	Zone                 string
	Direction            uint8
	Start, End           uint64 // event window [Start, End), interval indexes
	TargetW              uint64
	PriceBaseUnitsPerKWh uint64
	Deadline             uint64 // commitments are accepted while the current interval < Deadline ≤ Start
	Method               uint8  // baseline.Method
	Channel              uint8  // ChannelNet for day-matching methods; battery or EV for the device method
	UTCOffsetSeconds     int32  // local time of the zone, for baseline days
	Holidays             []int64
	Rules                BaselineRules
	// ControlSharePPM asks for a randomized control group: when
	// commitments close, the chain puts ⌊n · share / 10^6⌋ of the n
	// committed sites, chosen by a seed from a block after the deadline,
	// in the control group (see flexSplit). At most FlexMaxControlSharePPM;
	// 0 for none.
	ControlSharePPM uint32
	// ControlPayPPM is a control site's participation payment, as a share
	// of what exact compliance would pay its commitment (see
	// controlPayment): at most 10^6, and small enough that committing
	// with no intent to deliver is no lottery (ValidateFlexTerms). 0 with
	// no control group.
	ControlPayPPM uint32
}

// hasControl reports whether the terms carry a control group's fields.
func (t *FlexTerms) hasControl() bool { return t.ControlSharePPM != 0 || t.ControlPayPPM != 0 }

// encodeControl writes the control fields, which follow the terms in the
// encodings that carry them (TxFlexRequestControl, FlexRequest v2).
func (t *FlexTerms) encodeControl(e *codec.Encoder) {
	e.Uint32(t.ControlSharePPM)
	e.Uint32(t.ControlPayPPM)
}

// decodeControl reads them; a share of 0 there is not canonical (such
// terms encode without the fields).
func (t *FlexTerms) decodeControl(d *codec.Decoder) {
	t.ControlSharePPM = d.Uint32()
	t.ControlPayPPM = d.Uint32()
	if d.Err() == nil && t.ControlSharePPM == 0 {
		d.Failf("control group fields with a share of 0")
	}
}

func (t *FlexTerms) encodeTo(e *codec.Encoder) {
	e.String(t.Zone)
	e.Uint8(t.Direction)
	e.Uint64(t.Start)
	e.Uint64(t.End)
	e.Uint64(t.TargetW)
	e.Uint64(t.PriceBaseUnitsPerKWh)
	e.Uint64(t.Deadline)
	e.Uint8(t.Method)
	e.Uint8(t.Channel)
	e.Int64(int64(t.UTCOffsetSeconds))
	e.Uvarint(uint64(len(t.Holidays)))
	for _, h := range t.Holidays {
		e.Int64(h)
	}
	t.Rules.encodeTo(e)
}

func (t *FlexTerms) decodeFrom(d *codec.Decoder) {
	t.Zone = d.String(maxZoneLen)
	t.Direction = d.Uint8()
	t.Start = d.Uint64()
	t.End = d.Uint64()
	t.TargetW = d.Uint64()
	t.PriceBaseUnitsPerKWh = d.Uint64()
	t.Deadline = d.Uint64()
	t.Method = d.Uint8()
	t.Channel = d.Uint8()
	off := d.Int64()
	n := d.Count(maxFlexHolidays, 8)
	if n > 0 {
		t.Holidays = make([]int64, n)
	}
	for i := range t.Holidays {
		t.Holidays[i] = d.Int64()
	}
	t.Rules.decodeFrom(d)
	if d.Err() == nil && (off < -18*3600 || off > 18*3600) {
		d.Failf("UTC offset %d s", off)
	}
	t.UTCOffsetSeconds = int32(off)
}

// FlexCommitment is one site's promise in a request.
type FlexCommitment struct {
	Site          wallet.Address
	Owner         wallet.Address
	CommittedW    uint64
	BondBaseUnits uint64
}

// FlexRequest is a utility's request with its escrow and commitments.
type FlexRequest struct {
	ID      uint64
	Utility wallet.Address
	Terms   FlexTerms
	// PostedInterval is the interval of the block that accepted the
	// request: no baseline day is on or after its local day.
	PostedInterval  uint64
	PostedHeight    uint64
	EscrowBaseUnits uint64
	Status          uint8
	CommittedW      uint64           // Σ commitments
	Commitments     []FlexCommitment // sorted by site

	// The control group (Terms.ControlSharePPM > 0; all zero otherwise).
	// ClosedHeight is the first block whose interval reached the deadline;
	// in the next block (SplitHeight = ClosedHeight + 1) the chain drew
	// the split from that block's hash: Seed = FlexControlSeed(chain,
	// ID, hash of block ClosedHeight), and Control[i] says commitment i is
	// in the control group (FlexControlSplit). A request that settles
	// before its split (the window and grace passed in the block that
	// closed it) has SplitHeight 0 and settles without a control group.
	ClosedHeight, SplitHeight uint64
	Seed                      [32]byte
	Control                   []bool // nil before the split
}

// EncodeTo writes version 1 for a request without a control group (as
// before control groups existed) and version 2 with one.
func (r *FlexRequest) EncodeTo(e *codec.Encoder) {
	v2 := r.Terms.hasControl()
	if v2 {
		e.Uint8(2)
	} else {
		e.Uint8(1)
	}
	e.Uint64(r.ID)
	e.Fixed(r.Utility[:])
	r.Terms.encodeTo(e)
	if v2 {
		r.Terms.encodeControl(e)
	}
	e.Uint64(r.PostedInterval)
	e.Uint64(r.PostedHeight)
	e.Uint64(r.EscrowBaseUnits)
	e.Uint8(r.Status)
	e.Uint64(r.CommittedW)
	e.Uvarint(uint64(len(r.Commitments)))
	for _, c := range r.Commitments {
		e.Fixed(c.Site[:])
		e.Fixed(c.Owner[:])
		e.Uint64(c.CommittedW)
		e.Uint64(c.BondBaseUnits)
	}
	if v2 {
		e.Uint64(r.ClosedHeight)
		e.Uint64(r.SplitHeight)
		if r.SplitHeight != 0 {
			e.Fixed(r.Seed[:])
			for _, c := range r.Control {
				e.Bool(c)
			}
		}
	}
}

func (r *FlexRequest) DecodeFrom(d *codec.Decoder) {
	v := d.Uint8()
	if d.Err() == nil && v != 1 && v != 2 {
		d.Fail(fmt.Errorf("%w: %d, want 1 or 2", codec.ErrBadVersion, v))
	}
	r.ID = d.Uint64()
	d.Fixed(r.Utility[:])
	r.Terms.decodeFrom(d)
	if v == 2 {
		r.Terms.decodeControl(d)
	}
	r.PostedInterval = d.Uint64()
	r.PostedHeight = d.Uint64()
	r.EscrowBaseUnits = d.Uint64()
	r.Status = d.Uint8()
	r.CommittedW = d.Uint64()
	n := d.Count(maxFlexCommitments, 56)
	if n > 0 {
		r.Commitments = make([]FlexCommitment, n)
	}
	for i := range r.Commitments {
		c := &r.Commitments[i]
		d.Fixed(c.Site[:])
		d.Fixed(c.Owner[:])
		c.CommittedW = d.Uint64()
		c.BondBaseUnits = d.Uint64()
	}
	if v != 2 || d.Err() != nil {
		return
	}
	r.ClosedHeight = d.Uint64()
	r.SplitHeight = d.Uint64()
	if d.Err() == nil && (r.ClosedHeight == 0 && r.SplitHeight != 0 || r.SplitHeight != 0 && r.SplitHeight != r.ClosedHeight+1) {
		d.Failf("control split at height %d of a request closed at %d", r.SplitHeight, r.ClosedHeight)
	}
	if r.SplitHeight == 0 {
		return
	}
	d.Fixed(r.Seed[:])
	r.Control = make([]bool, len(r.Commitments))
	for i := range r.Control {
		r.Control[i] = d.Bool()
	}
}

// Held is the money the request holds: escrow plus bonds. (It fits 64
// bits: it was all debited from balances, and the supply fits.)
func (r *FlexRequest) Held() uint64 {
	h, _ := r.heldChecked()
	return h
}

// heldChecked is Held and whether the sum fits.
func (r *FlexRequest) heldChecked() (uint64, bool) {
	h := r.EscrowBaseUnits
	for _, c := range r.Commitments {
		var ok bool
		if h, ok = addU(h, c.BondBaseUnits); !ok {
			return 0, false
		}
	}
	return h, true
}

// FlexIntervalResult is one event interval of a commitment's settlement.
type FlexIntervalResult struct {
	BaselineWh, ImportWh, ExportWh int64
	Missing                        bool
	// ProvenWh: the interval's proof (baseline.IntervalSettlement.ProvenWh),
	// stored only when the commitment's Proven is set.
	ProvenWh int64
}

// FlexCommitmentResult is the whole settlement of one commitment: enough to
// redo every step by hand (see baseline.Settle for the rules).
type FlexCommitmentResult struct {
	Site, Owner wallet.Address
	CommittedW  uint64
	Status      uint8 // baseline.Status
	// Reason (baseline.Reason) says why Status is not settled: a missing
	// reading (forfeited; MissingInterval is the first missing interval
	// found) or a baseline that could not be built (no-baseline).
	Reason          uint8
	MissingInterval int64
	// The baseline: day type, the days averaged (local day numbers), the
	// adjustment (kind, applied, ratio ppm or additive numerator).
	DayType       uint8
	SelectedDays  []int64
	AdjustKind    uint8
	AdjustApplied bool
	AdjustRatio   int64
	AdjustNumWh   int64
	// Intervals are the settlement's intervals: first the pre-event guard
	// (GuardIntervals of them: min(FlexGuardIntervals, Start − posted)),
	// then the window.
	GuardIntervals uint32
	Intervals      []FlexIntervalResult

	// GuardNetWh is the signed net over the guard intervals; NetDeltaWh
	// over the window (baseline.Settlement).
	GuardNetWh int64
	NetDeltaWh int64
	// Proven: the proof cap applied (battery requests), with ProvenNetWh
	// the window's Σ ProvenWh; DeliveredWh = max(0, min(NetDeltaWh,
	// ProvenNetWh) + min(0, GuardNetWh)).
	Proven                                                                          bool
	ProvenNetWh                                                                     int64
	CommittedWhPerInterval, CommittedWh, DeliveredWh, PerformancePPM, CapWh, PaidWh int64
	ClaimBaseUnits, PayoutBaseUnits                                                 uint64
	ShortfallPPM                                                                    int64
	BondBaseUnits, SlashBaseUnits, BondReturnedBaseUnits                            uint64
	// Control: the site was in the control group (Status is control, or
	// forfeited / no-baseline); CorrectionWh is the control estimate
	// subtracted from a dispatched commitment's NetDeltaWh (0 for a
	// control site, or where the estimate did not apply).
	Control      bool
	CorrectionWh int64

	// Season netting (season.go; stored only when the settlement has a
	// season, FlexSettlement.HasSeason). SeasonNetWh is the signed delivery
	// this request adds to the site's season — min(NetDeltaWh −
	// CorrectionWh, max(ProvenNetWh, 0) if Proven) + min(0, GuardNetWh) for a
	// dispatched commitment that settled, 0 otherwise — and
	// DebtAddedBaseUnits its negative part valued at the request's price
	// (⌊price × min(−SeasonNetWh, CapWh) / 1000⌋). DebtBeforeBaseUnits is
	// the site's outstanding debt before this settlement; of the debt
	// (before + added), WithheldBaseUnits was kept from this payout
	// (PayoutBaseUnits is after it), then BondTakenBaseUnits from the bond
	// returned (BondReturnedBaseUnits is after it), both to the utility;
	// DebtAfterBaseUnits = before + added − withheld − taken remains.
	SeasonNetWh                                               int64
	DebtBeforeBaseUnits, DebtAddedBaseUnits                   uint64
	WithheldBaseUnits, BondTakenBaseUnits, DebtAfterBaseUnits uint64
}

// FlexSettlement is a settled request: the totals and every commitment.
type FlexSettlement struct {
	RequestID                                     uint64
	Height                                        uint64
	EscrowBaseUnits, ClaimsBaseUnits              uint64
	Scaled                                        bool
	PayoutsBaseUnits, RefundBaseUnits             uint64
	BondsBaseUnits, SlashedBaseUnits, BondsReturn uint64
	Commitments                                   []FlexCommitmentResult

	// HasControl: the request had a control split (stored as version 4;
	// version 3 without). ControlPlacebos is how many control sites
	// settled with a placebo (Status control), ControlUsed how many of
	// them the trimmed mean averaged, ControlEstimateWh the estimate
	// (baseline.ControlEstimate), ControlApplied whether it corrected the
	// dispatched sites (at least baseline.MinControlSites placebos).
	HasControl        bool
	ControlPlacebos   uint32
	ControlUsed       uint32
	ControlApplied    bool
	ControlEstimateWh int64

	// HasSeason: the request settled under season netting (stored as
	// version 5, which carries HasControl as a flag); Season is the season
	// of the settling block's interval (Params.SeasonOf), whose statement
	// (FlexSeason) each site's part was added to. WithheldBaseUnits and
	// BondTakenBaseUnits sum the commitments' (both went to the utility:
	// the withheld part is in RefundBaseUnits, the bond taken is not in
	// BondsReturn).
	HasSeason                             bool
	Season                                uint64
	WithheldBaseUnits, BondTakenBaseUnits uint64
}

func (s *FlexSettlement) EncodeTo(e *codec.Encoder) {
	switch {
	case s.HasSeason:
		e.Uint8(5)
	case s.HasControl:
		e.Uint8(4)
	default:
		e.Uint8(3)
	}
	e.Uint64(s.RequestID)
	e.Uint64(s.Height)
	e.Uint64(s.EscrowBaseUnits)
	e.Uint64(s.ClaimsBaseUnits)
	e.Bool(s.Scaled)
	e.Uint64(s.PayoutsBaseUnits)
	e.Uint64(s.RefundBaseUnits)
	e.Uint64(s.BondsBaseUnits)
	e.Uint64(s.SlashedBaseUnits)
	e.Uint64(s.BondsReturn)
	if s.HasSeason {
		e.Uint64(s.Season)
		e.Uint64(s.WithheldBaseUnits)
		e.Uint64(s.BondTakenBaseUnits)
		e.Bool(s.HasControl)
	}
	if s.HasControl {
		e.Uint32(s.ControlPlacebos)
		e.Uint32(s.ControlUsed)
		e.Bool(s.ControlApplied)
		e.Int64(s.ControlEstimateWh)
	}
	e.Uvarint(uint64(len(s.Commitments)))
	for i := range s.Commitments {
		c := &s.Commitments[i]
		e.Fixed(c.Site[:])
		e.Fixed(c.Owner[:])
		e.Uint64(c.CommittedW)
		e.Uint8(c.Status)
		e.Uint8(c.Reason)
		e.Int64(c.MissingInterval)
		e.Uint8(c.DayType)
		e.Uvarint(uint64(len(c.SelectedDays)))
		for _, d := range c.SelectedDays {
			e.Int64(d)
		}
		e.Uint8(c.AdjustKind)
		e.Bool(c.AdjustApplied)
		e.Int64(c.AdjustRatio)
		e.Int64(c.AdjustNumWh)
		e.Uint32(c.GuardIntervals)
		e.Bool(c.Proven)
		e.Uvarint(uint64(len(c.Intervals)))
		for _, iv := range c.Intervals {
			e.Int64(iv.BaselineWh)
			e.Int64(iv.ImportWh)
			e.Int64(iv.ExportWh)
			e.Bool(iv.Missing)
			if c.Proven {
				e.Int64(iv.ProvenWh)
			}
		}
		if c.Proven {
			e.Int64(c.ProvenNetWh)
		}
		for _, v := range []int64{c.GuardNetWh, c.NetDeltaWh, c.CommittedWhPerInterval, c.CommittedWh, c.DeliveredWh, c.PerformancePPM, c.CapWh, c.PaidWh} {
			e.Int64(v)
		}
		e.Uint64(c.ClaimBaseUnits)
		e.Uint64(c.PayoutBaseUnits)
		e.Int64(c.ShortfallPPM)
		e.Uint64(c.BondBaseUnits)
		e.Uint64(c.SlashBaseUnits)
		e.Uint64(c.BondReturnedBaseUnits)
		if s.HasControl {
			e.Bool(c.Control)
			e.Int64(c.CorrectionWh)
		}
		if s.HasSeason {
			e.Int64(c.SeasonNetWh)
			e.Uint64(c.DebtBeforeBaseUnits)
			e.Uint64(c.DebtAddedBaseUnits)
			e.Uint64(c.WithheldBaseUnits)
			e.Uint64(c.BondTakenBaseUnits)
			e.Uint64(c.DebtAfterBaseUnits)
		}
	}
}

func (s *FlexSettlement) DecodeFrom(d *codec.Decoder) {
	v := d.Uint8()
	if d.Err() == nil && (v < 3 || v > 5) {
		d.Fail(fmt.Errorf("%w: %d, want 3, 4 or 5", codec.ErrBadVersion, v))
	}
	s.HasControl, s.HasSeason = v == 4, v == 5
	s.RequestID = d.Uint64()
	s.Height = d.Uint64()
	s.EscrowBaseUnits = d.Uint64()
	s.ClaimsBaseUnits = d.Uint64()
	s.Scaled = d.Bool()
	s.PayoutsBaseUnits = d.Uint64()
	s.RefundBaseUnits = d.Uint64()
	s.BondsBaseUnits = d.Uint64()
	s.SlashedBaseUnits = d.Uint64()
	s.BondsReturn = d.Uint64()
	if s.HasSeason {
		s.Season = d.Uint64()
		s.WithheldBaseUnits = d.Uint64()
		s.BondTakenBaseUnits = d.Uint64()
		s.HasControl = d.Bool()
	}
	if s.HasControl {
		s.ControlPlacebos = d.Uint32()
		s.ControlUsed = d.Uint32()
		s.ControlApplied = d.Bool()
		s.ControlEstimateWh = d.Int64()
		if d.Err() == nil && (s.ControlUsed > s.ControlPlacebos || s.ControlApplied != (s.ControlPlacebos >= baseline.MinControlSites) ||
			!s.ControlApplied && (s.ControlUsed != 0 || s.ControlEstimateWh != 0) || s.ControlApplied && s.ControlUsed == 0) {
			d.Failf("control estimate of %d placebos, %d used, applied %v, %d Wh", s.ControlPlacebos, s.ControlUsed, s.ControlApplied, s.ControlEstimateWh)
		}
	}
	n := d.Count(maxFlexCommitments, 100)
	if n > 0 {
		s.Commitments = make([]FlexCommitmentResult, n)
	}
	for i := range s.Commitments {
		c := &s.Commitments[i]
		d.Fixed(c.Site[:])
		d.Fixed(c.Owner[:])
		c.CommittedW = d.Uint64()
		c.Status = d.Uint8()
		c.Reason = d.Uint8()
		c.MissingInterval = d.Int64()
		c.DayType = d.Uint8()
		m := d.Count(366, 8)
		if m > 0 {
			c.SelectedDays = make([]int64, m)
		}
		for j := range c.SelectedDays {
			c.SelectedDays[j] = d.Int64()
		}
		c.AdjustKind = d.Uint8()
		c.AdjustApplied = d.Bool()
		c.AdjustRatio = d.Int64()
		c.AdjustNumWh = d.Int64()
		c.GuardIntervals = d.Uint32()
		c.Proven = d.Bool()
		m = d.Count(1024, 25)
		if m > 0 {
			c.Intervals = make([]FlexIntervalResult, m)
		}
		for j := range c.Intervals {
			iv := &c.Intervals[j]
			iv.BaselineWh = d.Int64()
			iv.ImportWh = d.Int64()
			iv.ExportWh = d.Int64()
			iv.Missing = d.Bool()
			if c.Proven {
				iv.ProvenWh = d.Int64()
			}
		}
		if c.Proven {
			c.ProvenNetWh = d.Int64()
		}
		if d.Err() == nil && c.GuardIntervals != 0 && int(c.GuardIntervals) >= len(c.Intervals) {
			d.Failf("%d guard intervals of %d", c.GuardIntervals, len(c.Intervals))
		}
		for _, p := range []*int64{&c.GuardNetWh, &c.NetDeltaWh, &c.CommittedWhPerInterval, &c.CommittedWh, &c.DeliveredWh, &c.PerformancePPM, &c.CapWh, &c.PaidWh} {
			*p = d.Int64()
		}
		c.ClaimBaseUnits = d.Uint64()
		c.PayoutBaseUnits = d.Uint64()
		c.ShortfallPPM = d.Int64()
		c.BondBaseUnits = d.Uint64()
		c.SlashBaseUnits = d.Uint64()
		c.BondReturnedBaseUnits = d.Uint64()
		if s.HasControl {
			c.Control = d.Bool()
			c.CorrectionWh = d.Int64()
			if d.Err() == nil && c.CorrectionWh != 0 && (c.Control || !s.ControlApplied || c.CorrectionWh != s.ControlEstimateWh) {
				d.Failf("commitment %d: correction %d Wh (control %v, estimate %d Wh)", i, c.CorrectionWh, c.Control, s.ControlEstimateWh)
			}
		}
		if s.HasSeason {
			c.SeasonNetWh = d.Int64()
			c.DebtBeforeBaseUnits = d.Uint64()
			c.DebtAddedBaseUnits = d.Uint64()
			c.WithheldBaseUnits = d.Uint64()
			c.BondTakenBaseUnits = d.Uint64()
			c.DebtAfterBaseUnits = d.Uint64()
			if d.Err() == nil && !c.seasonConsistent() {
				d.Failf("commitment %d: season debt %d + %d − %d − %d ≠ %d", i, c.DebtBeforeBaseUnits, c.DebtAddedBaseUnits,
					c.WithheldBaseUnits, c.BondTakenBaseUnits, c.DebtAfterBaseUnits)
			}
		}
	}
}

// dayPage holds one site's accepted readings for one genesis day (the
// intervals [Page·n, (Page+1)·n) with n intervals a day), in the form the
// baseline methods read: a present flag and the channels per interval.
// Settlement reads a few dozen pages per commitment instead of thousands of
// readings.
type dayPage struct {
	Present    []bool
	ImportWh   []uint32
	ExportWh   []uint32
	BatteryNet []int64 // charge − discharge (load when charging)
	EVWh       []uint32
}

func newDayPage(n int) *dayPage {
	return &dayPage{Present: make([]bool, n), ImportWh: make([]uint32, n), ExportWh: make([]uint32, n),
		BatteryNet: make([]int64, n), EVWh: make([]uint32, n)}
}

func (p *dayPage) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uvarint(uint64(len(p.Present)))
	for i := range p.Present {
		e.Bool(p.Present[i])
		e.Uint32(p.ImportWh[i])
		e.Uint32(p.ExportWh[i])
		e.Int64(p.BatteryNet[i])
		e.Uint32(p.EVWh[i])
	}
}

func (p *dayPage) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	n := d.Count(1440, 21)
	*p = *newDayPage(n)
	for i := 0; i < n; i++ {
		p.Present[i] = d.Bool()
		p.ImportWh[i] = d.Uint32()
		p.ExportWh[i] = d.Uint32()
		p.BatteryNet[i] = d.Int64()
		p.EVWh[i] = d.Uint32()
	}
}

// siteEvents lists a site's recent event windows (start intervals) and the
// intervals their requests were posted in, so that neither an event day nor
// a day on which the site knew of a coming event (and could inflate its
// load) is ever a baseline day.
type siteEvents struct {
	Starts []uint64 // increasing, at most maxSiteEvents
}

func (s *siteEvents) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uvarint(uint64(len(s.Starts)))
	for _, v := range s.Starts {
		e.Uint64(v)
	}
}

func (s *siteEvents) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	n := d.Count(maxSiteEvents, 8)
	if n > 0 {
		s.Starts = make([]uint64, n)
	}
	for i := range s.Starts {
		s.Starts[i] = d.Uint64()
	}
}

// maxSiteCommitments bounds a site's open commitments.
const maxSiteCommitments = 64

// siteCommitments are a site's open commitments, by request id: a site
// commits to at most one request over any interval, so one delivery is
// never paid twice.
type siteCommitments struct {
	Open []siteCommitment // increasing ID
}

type siteCommitment struct {
	ID, Start, End uint64
}

func (s *siteCommitments) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uvarint(uint64(len(s.Open)))
	for _, c := range s.Open {
		e.Uint64(c.ID)
		e.Uint64(c.Start)
		e.Uint64(c.End)
	}
}

func (s *siteCommitments) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	n := d.Count(maxSiteCommitments, 24)
	if n > 0 {
		s.Open = make([]siteCommitment, n)
	}
	for i := range s.Open {
		c := &s.Open[i]
		c.ID, c.Start, c.End = d.Uint64(), d.Uint64(), d.Uint64()
		if d.Err() == nil && (c.Start >= c.End || i > 0 && c.ID <= s.Open[i-1].ID) {
			d.Failf("site commitments out of order")
		}
	}
}

// flexDelivered is the verified delivered Wh per site in the current epoch,
// sorted by site: the flexibility share of the epoch's emission is paid by it.
type flexDelivered struct {
	Entries []flexDeliveredEntry
}

type flexDeliveredEntry struct {
	Site wallet.Address
	Wh   uint64
}

func (f *flexDelivered) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uvarint(uint64(len(f.Entries)))
	for _, x := range f.Entries {
		e.Fixed(x.Site[:])
		e.Uint64(x.Wh)
	}
}

func (f *flexDelivered) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	n := d.Count(1<<24, 28)
	if n > 0 {
		f.Entries = make([]flexDeliveredEntry, n)
	}
	for i := range f.Entries {
		d.Fixed(f.Entries[i].Site[:])
		f.Entries[i].Wh = d.Uint64()
	}
}

// idList is a sorted list of ids.
type idList struct{ IDs []uint64 }

func (l *idList) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uvarint(uint64(len(l.IDs)))
	for _, v := range l.IDs {
		e.Uint64(v)
	}
}

func (l *idList) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	n := d.Count(1<<20, 8)
	if n > 0 {
		l.IDs = make([]uint64, n)
	}
	for i := range l.IDs {
		l.IDs[i] = d.Uint64()
		if i > 0 && d.Err() == nil && l.IDs[i] <= l.IDs[i-1] {
			d.Failf("id list not increasing")
		}
	}
}
