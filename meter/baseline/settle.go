package baseline

import (
	"fmt"
	"slices"
)

// Direction is the direction of a flexibility request.
type Direction uint8

const (
	// Down asks for less net import: DeltaWh = baseline − actual per
	// interval, netted over the event (see Settle).
	Down Direction = iota + 1
	// Up asks for more net import (e.g. to soak up surplus solar):
	// DeltaWh = actual − baseline per interval, netted over the event.
	Up
)

func (d Direction) String() string {
	switch d {
	case Down:
		return "down"
	case Up:
		return "up"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Reading is the metered energy of one event interval. For whole-site
// methods ImportWh and ExportWh are the grid channels; for the device method
// pass the device channel signed as load (positive in ImportWh, negative as
// ExportWh). Missing marks an interval with no valid reading.
type Reading struct {
	ImportWh, ExportWh int64
	Missing            bool
}

// Commitment is everything Settle needs about one commitment.
type Commitment struct {
	Direction       Direction
	IntervalSeconds int64
	CommittedW      int64
	// BaselineWh[k] is the baseline of event interval k, from a baseline
	// method. Ignored when NoBaseline is set.
	BaselineWh []int64
	// NoBaseline says the method could not build a baseline
	// (ErrInsufficientData); see the NoBaseline rule on Settle.
	NoBaseline bool
	// Actual[k] is the reading of event interval k; its length is the
	// window length.
	Actual               []Reading
	PriceBaseUnitsPerKWh uint64
	// PayoutCapPPM caps the delivered energy that is paid at
	// CommittedWh·PayoutCapPPM/10^6 (10^6: pay up to the commitment).
	PayoutCapPPM  int64
	BondBaseUnits uint64
	// PenalizeMissing prices an interval without a valid reading as a full
	// miss: DeltaWh = −CommittedWhPerInterval instead of 0 (see Settle).
	// That still pays a site for withholding a reading worse than a full
	// miss; the ledger uses ForfeitMissing instead.
	PenalizeMissing bool
	// ForfeitMissing forfeits the commitment when any entry of Actual (the
	// guard's or the window's) is missing: the Forfeit rule on Settle, with
	// ReasonMissingGuard or ReasonMissingWindow. It overrides
	// PenalizeMissing, NoBaseline and Reason.
	ForfeitMissing bool
	// Reason, when set by the caller, says why the commitment is not
	// settled by comparing baseline and readings: a forfeit reason
	// (Reason.Forfeits: a reading the baseline needs is missing) applies the
	// Forfeit rule; with NoBaseline, ReasonNoBaseline or
	// ReasonNoGuardBaseline records which baseline could not be built.
	// BaselineWh is ignored for a forfeit.
	Reason Reason
	// FirstInterval is the interval index of Actual[0], used only to record
	// Settlement.MissingInterval; MissingInterval is the interval a
	// caller's forfeit reason is about.
	FirstInterval, MissingInterval int64
	// GuardIntervals is how many of the first entries of Actual and
	// BaselineWh lie before the window: the pre-event guard (see Settle).
	// 0 ≤ GuardIntervals < len(Actual).
	GuardIntervals int
	// ProvenWh, when not nil (same length as Actual), is for each interval
	// the delivery the site's own meters prove whatever it would have done
	// without the request, such as BatteryProvenWh; the window's net
	// delivery is then capped at their sum (see Settle, "proof cap").
	// Entries of guard intervals and of missing readings are not used.
	ProvenWh []int64
	// CorrectionWh is the control group's estimate of the method's error at
	// this event (ControlEstimate), subtracted from the window's NetDeltaWh
	// before the proof cap and the guard: a difference-in-differences. 0
	// without a control group; must be 0 for a control commitment.
	CorrectionWh int64
	// Control marks a commitment of the control group: the site was told at
	// dispatch that it is not dispatched. It settles by the Control rule on
	// Settle, with ControlPayBaseUnits as its claim.
	Control             bool
	ControlPayBaseUnits uint64
}

// SlashSchedule is the bond-slashing rule: below ThresholdPPM of
// performance, the bond is slashed in proportion to the shortfall, reaching
// MaxSlashPPM of the bond at zero performance:
//
//	slash = ⌊bond · (ThresholdPPM − perf) · MaxSlashPPM / (ThresholdPPM · 10^6)⌋
//
// and zero when perf ≥ ThresholdPPM.
type SlashSchedule struct {
	ThresholdPPM int64
	MaxSlashPPM  int64
}

// DefaultSlash slashes below 50 % performance, the whole bond at zero.
func DefaultSlash() SlashSchedule {
	return SlashSchedule{ThresholdPPM: 500_000, MaxSlashPPM: PPM}
}

// Status is the outcome class of a settlement.
type Status uint8

const (
	// Settled: baseline and readings were compared.
	Settled Status = iota + 1
	// NoBaseline: the baseline method had too few eligible days; nothing is
	// delivered, paid or slashed, the bond is returned in full.
	NoBaseline
	// Forfeited: a reading the settlement needs is missing; nothing is
	// delivered or paid and the bond is slashed as at zero performance
	// (see Settle, Forfeit rule).
	Forfeited
	// Control: a control-group site with its readings and baseline: its
	// NetDeltaWh is a placebo (what the method calls delivery where none was
	// asked), nothing is delivered, the participation payment is its claim,
	// nothing is slashed (see Settle, Control rule).
	Control
)

func (s Status) String() string {
	switch s {
	case Settled:
		return "settled"
	case NoBaseline:
		return "no-baseline"
	case Forfeited:
		return "forfeited"
	case Control:
		return "control"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Reason says why a commitment was not settled by comparing its baseline
// with its readings (Settlement.Reason).
type Reason uint8

const (
	ReasonNone Reason = iota
	// ReasonMissingWindow (Forfeited): an interval of the event window has
	// no reading.
	ReasonMissingWindow
	// ReasonMissingGuard (Forfeited): an interval of the pre-event guard
	// has no reading.
	ReasonMissingGuard
	// ReasonMissingBaseline (Forfeited): an interval the window's baseline
	// reads has no reading — on a baseline day chosen as if all data were
	// present, or in the event day's adjustment window (*MissingDataError).
	ReasonMissingBaseline
	// ReasonMissingGuardBaseline (Forfeited): the same for the guard's
	// baseline.
	ReasonMissingGuardBaseline
	// ReasonNoBaseline (NoBaseline): the window's baseline has too few
	// eligible days, or the site's history starts too late
	// (*InsufficientDataError).
	ReasonNoBaseline
	// ReasonNoGuardBaseline (NoBaseline): the window's baseline was built
	// but the guard's was not, and the window's method averaged no days
	// (so ReasonGuardFromWindowDays could not apply). The guard is never
	// dropped: the request settles by the NoBaseline rule, which pays
	// nothing.
	ReasonNoGuardBaseline
	// ReasonGuardFromWindowDays (Settled): the guard's own baseline had too
	// few eligible days, so the guard's baseline is the unadjusted average
	// of the window's baseline days at the guard's hours (AverageDays). The
	// guard still nets what was drawn above it, so the request is paid at
	// most what the window alone would pay.
	ReasonGuardFromWindowDays
)

// Forfeits reports whether r is a missing-reading reason.
func (r Reason) Forfeits() bool {
	return r >= ReasonMissingWindow && r <= ReasonMissingGuardBaseline
}

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonMissingWindow:
		return "missing-window-reading"
	case ReasonMissingGuard:
		return "missing-guard-reading"
	case ReasonMissingBaseline:
		return "missing-baseline-reading"
	case ReasonMissingGuardBaseline:
		return "missing-guard-baseline-reading"
	case ReasonNoBaseline:
		return "no-baseline"
	case ReasonNoGuardBaseline:
		return "no-guard-baseline"
	case ReasonGuardFromWindowDays:
		return "guard-from-window-days"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// IntervalSettlement is one event interval of a settlement.
//
// It has no per-interval "delivered" figure on purpose: delivery is only
// defined for the whole event (Settlement.DeliveredWh), because an interval
// above the baseline cancels one below it. DeltaWh is the interval's signed
// share of that sum.
type IntervalSettlement struct {
	BaselineWh, ImportWh, ExportWh int64
	// ActualWh = ImportWh − ExportWh (net load).
	ActualWh int64
	Missing  bool
	// Guard marks an interval of the pre-event guard (before the window):
	// its DeltaWh sums into GuardNetWh, not NetDeltaWh, and it commits 0 Wh.
	Guard bool
	// DeltaWh is the interval's signed contribution to the event's net
	// delivery, not floored: BaselineWh − ActualWh for Down, ActualWh −
	// BaselineWh for Up. It is negative when the site moved the wrong way
	// (or its load was simply noisy the other way). It is 0 when Missing
	// (−CommittedWh with Commitment.PenalizeMissing) and under the
	// NoBaseline rule.
	DeltaWh     int64
	CommittedWh int64
	// ProvenWh is Commitment.ProvenWh[k] for a window interval with a
	// reading, DeltaWh (the missing rule) for a missing one, 0 in the
	// guard or without a proof cap.
	ProvenWh int64
}

// Settlement is the whole calculation for one commitment.
type Settlement struct {
	Status Status
	// Reason says why Status is not Settled (ReasonNone when it is);
	// MissingInterval is, for a forfeit, the first missing interval found
	// (Commitment.FirstInterval + k for a reading of Actual).
	Reason          Reason
	MissingInterval int64
	Intervals       []IntervalSettlement
	// CommittedWhPerInterval = ⌊CommittedW · IntervalSeconds / 3600⌋;
	// CommittedWh is that times the number of window intervals.
	CommittedWhPerInterval, CommittedWh int64
	// GuardIntervals is Commitment.GuardIntervals; GuardNetWh = Σ DeltaWh
	// over them (signed).
	GuardIntervals int
	GuardNetWh     int64
	// NetDeltaWh = Σ DeltaWh over the window's intervals, signed;
	// DeliveredWh = max(0, NetDeltaWh + min(0, GuardNetWh)). The floor at
	// zero is applied once, to the event's net, never per interval.
	NetDeltaWh, DeliveredWh int64
	// CorrectionWh is Commitment.CorrectionWh: with a control group,
	// DeliveredWh = max(0, NetDeltaWh − CorrectionWh + min(0, GuardNetWh))
	// (the proof cap applies to NetDeltaWh − CorrectionWh).
	CorrectionWh int64
	// Proven says a proof cap applied: ProvenNetWh = Σ ProvenWh over the
	// window, and DeliveredWh = max(0, min(NetDeltaWh, ProvenNetWh) +
	// min(0, GuardNetWh)).
	Proven      bool
	ProvenNetWh int64
	// PerformancePPM = ⌊DeliveredWh · 10^6 / CommittedWh⌋ (may exceed 10^6).
	PerformancePPM int64
	// CapWh = ⌊CommittedWh · PayoutCapPPM / 10^6⌋; PaidWh = min(DeliveredWh,
	// CapWh).
	CapWh, PaidWh int64
	// ClaimBaseUnits = ⌊price · PaidWh / 1000⌋, the payout before the
	// escrow cap; PayoutBaseUnits is what is paid (equal to the claim
	// unless SettleRequest scaled it down to the escrow).
	ClaimBaseUnits, PayoutBaseUnits uint64
	// ShortfallPPM = max(0, ThresholdPPM − PerformancePPM);
	// SlashBaseUnits per the schedule; BondReturnedBaseUnits = bond − slash.
	ShortfallPPM                                         int64
	BondBaseUnits, SlashBaseUnits, BondReturnedBaseUnits uint64
}

func (c Commitment) validate() error {
	if c.Direction != Down && c.Direction != Up {
		return fmt.Errorf("%w: direction %d", ErrInput, c.Direction)
	}
	if c.IntervalSeconds <= 0 || c.IntervalSeconds > secondsPerDay {
		return fmt.Errorf("%w: interval %d s", ErrInput, c.IntervalSeconds)
	}
	if c.CommittedW <= 0 || c.CommittedW > 1<<40 {
		return fmt.Errorf("%w: committed %d W", ErrInput, c.CommittedW)
	}
	if len(c.Actual) == 0 || len(c.Actual) > 1<<20 {
		return fmt.Errorf("%w: %d event intervals", ErrInput, len(c.Actual))
	}
	if c.GuardIntervals < 0 || c.GuardIntervals >= len(c.Actual) {
		return fmt.Errorf("%w: %d guard intervals of %d", ErrInput, c.GuardIntervals, len(c.Actual))
	}
	if c.ProvenWh != nil && len(c.ProvenWh) != len(c.Actual) {
		return fmt.Errorf("%w: %d proven values for %d intervals", ErrInput, len(c.ProvenWh), len(c.Actual))
	}
	if c.Reason > ReasonGuardFromWindowDays || (c.Reason != ReasonNone && c.Reason != ReasonGuardFromWindowDays && !c.Reason.Forfeits() && !c.NoBaseline) ||
		(c.Reason == ReasonGuardFromWindowDays && (c.NoBaseline || c.GuardIntervals == 0)) {
		return fmt.Errorf("%w: reason %v", ErrInput, c.Reason)
	}
	if !c.NoBaseline && !c.Reason.Forfeits() && len(c.BaselineWh) != len(c.Actual) {
		return fmt.Errorf("%w: %d baseline values for %d intervals", ErrInput, len(c.BaselineWh), len(c.Actual))
	}
	if c.PayoutCapPPM < 0 || c.PayoutCapPPM > 100*PPM {
		return fmt.Errorf("%w: payout cap %d ppm", ErrInput, c.PayoutCapPPM)
	}
	for k, r := range c.Actual {
		if r.ImportWh < 0 || r.ExportWh < 0 {
			return fmt.Errorf("%w: interval %d: negative channel", ErrInput, k)
		}
	}
	if c.Control && c.CorrectionWh != 0 || !c.Control && c.ControlPayBaseUnits != 0 {
		return fmt.Errorf("%w: control %v with correction %d Wh and participation %d", ErrInput, c.Control, c.CorrectionWh, c.ControlPayBaseUnits)
	}
	return nil
}

func (s SlashSchedule) validate() error {
	if s.ThresholdPPM <= 0 || s.ThresholdPPM > PPM || s.MaxSlashPPM < 0 || s.MaxSlashPPM > PPM {
		return fmt.Errorf("%w: slash schedule %+v", ErrInput, s)
	}
	return nil
}

// Settle computes one commitment's settlement. Energy is netted over the
// whole event and floored at zero once; every later step is a floor (toward
// −∞) of non-negative quantities:
//
//  1. Per interval k: ActualWh = ImportWh − ExportWh; DeltaWh =
//     BaselineWh − ActualWh (Down) or ActualWh − BaselineWh (Up), an exact
//     signed integer, not floored. An interval without a valid reading has
//     DeltaWh = 0: it adds nothing (neither credit nor its baseline) —
//     proving delivery is the site's job, so a missing reading counts
//     against performance.
//  2. NetDeltaWh = Σ_k DeltaWh over the window (exact; missing intervals
//     add 0); GuardNetWh = Σ_k DeltaWh over the guard intervals before it;
//     DeliveredWh = max(0, NetDeltaWh + min(0, GuardNetWh)). Intervals
//     above and below the baseline cancel, so load noise that averages out
//     over the event is not paid, and a site cannot be paid for a down and
//     an up request on the same readings: their NetDeltaWh are opposite.
//  3. CommittedWhPerInterval = ⌊CommittedW · IntervalSeconds / 3600⌋ (must
//     be ≥ 1); CommittedWh = that × window intervals (missing ones
//     included; guard intervals commit nothing).
//  4. PerformancePPM = ⌊DeliveredWh · 10^6 / CommittedWh⌋.
//  5. CapWh = ⌊CommittedWh · PayoutCapPPM / 10^6⌋; PaidWh = min(DeliveredWh,
//     CapWh); ClaimBaseUnits = ⌊PriceBaseUnitsPerKWh · PaidWh / 1000⌋
//     (128-bit product).
//  6. Slash per the SlashSchedule; the rest of the bond is returned.
//
// In a spreadsheet with one row per interval: DeltaWh = B − (I − E) for
// Down, (I − E) − B for Up, 0 on a missing row (−CommittedWhPerInterval
// with PenalizeMissing); DeliveredWh = MAX(0, SUM(window DeltaWh) +
// MIN(0, SUM(guard DeltaWh))); then steps 3–6 with FLOOR. Steps 1–2 are exact
// (whole Wh in, whole Wh out), so the first rounding is step 3.
//
// A missing interval adds 0, while a reading on the wrong side of the
// baseline adds a negative DeltaWh. So a site that withholds exactly its
// unfavourable readings is credited Σ max(0, DeltaWh) of the others: the
// per-interval floor that this rule replaced. Settle cannot tell a withheld
// reading from a lost one. With Commitment.PenalizeMissing (the ledger's
// rule), a missing interval counts as a full miss instead: DeltaWh =
// −CommittedWhPerInterval. Withholding then gains only where the withheld
// interval was worse than missing the whole commitment, and a lost reading
// costs an honest site at most that one interval's commitment.
//
// Pre-event guard: the first GuardIntervals entries of Actual lie before
// the window, after the site learned of the event. Energy it moved the
// wrong way there (drawn above its baseline before a down event: charging
// a battery from the grid, pre-heating, or raising load to inflate a day-of
// adjustment) is netted against the event, because the grid paid for it;
// movement the right way there is not paid (it was not asked for). So
// GuardNetWh only ever lowers DeliveredWh, and a site that gains energy in
// the window by drawing it just before gains nothing. Missing guard
// readings follow the same missing rule as the window's.
//
// Proof cap: with Commitment.ProvenWh, the site's meters also bound what it
// delivered in each window interval whatever its counterfactual (for a
// battery request, BatteryProvenWh: the battery energy that provably
// reached the grid). ProvenNetWh = Σ ProvenWh over the window (a missing
// reading counts its DeltaWh, as in NetDeltaWh) and step 2 becomes
// DeliveredWh = max(0, min(NetDeltaWh, ProvenNetWh) + min(0, GuardNetWh)):
// the baseline's estimate, but never more than the meters prove. The cap
// is on the window's sums, not per interval, so that an honest site whose
// baseline is low in one interval and high in the next is not cut twice.
//
// Forfeit rule: with ForfeitMissing and a missing entry of Actual, or a
// forfeit Reason from the caller (a reading the baseline needs is missing,
// *MissingDataError), the missing reading counts as the worst case for the
// site: every DeltaWh and sum is 0, DeliveredWh, PaidWh and the claim are
// 0, PerformancePPM is 0, ShortfallPPM = ThresholdPPM and the bond is
// slashed as at zero performance, ⌊bond · MaxSlashPPM / 10^6⌋; Status =
// Forfeited, with Reason and MissingInterval. It comes before the
// NoBaseline rule. See the package doc, "Missing data never pays".
//
// Control rule: a control commitment (Commitment.Control) that is neither
// forfeited nor without a baseline has Status = Control: every interval and
// NetDeltaWh are computed as above (its placebo), but DeliveredWh, PaidWh
// and PerformancePPM are 0, ClaimBaseUnits = ControlPayBaseUnits (a
// participation payment the caller fixes in advance, independent of the
// readings), and nothing is slashed. A missing reading still forfeits it
// (a control site that stops reporting would leave the estimate at will).
//
// Difference-in-differences: a dispatched commitment's CorrectionWh (the
// control group's ControlEstimate) is subtracted from its NetDeltaWh, so the
// event's shared error — weather, day-of effects the adjustment missed — is
// removed: DeliveredWh = max(0, min(NetDeltaWh − CorrectionWh, ProvenNetWh)
// + min(0, GuardNetWh)).
//
// NoBaseline rule: when the baseline method could not build a baseline
// (Commitment.NoBaseline, after ErrInsufficientData), the site can neither
// be paid nor blamed: every DeltaWh, NetDeltaWh and DeliveredWh is 0, claim
// 0, slash 0, the bond returned in full, Status = NoBaseline. The readings
// are still listed.
func Settle(c Commitment, sched SlashSchedule) (Settlement, error) {
	if err := c.validate(); err != nil {
		return Settlement{}, err
	}
	if err := sched.validate(); err != nil {
		return Settlement{}, err
	}
	n := int64(len(c.Actual))
	s := Settlement{Status: Settled, BondBaseUnits: c.BondBaseUnits, Intervals: make([]IntervalSettlement, n)}
	var err error
	if s.CommittedWhPerInterval, err = FloorMulDiv(c.CommittedW, c.IntervalSeconds, 3600); err != nil {
		return s, err
	}
	if s.CommittedWhPerInterval < 1 {
		return s, fmt.Errorf("%w: %d W over %d s commits less than 1 Wh per interval", ErrInput, c.CommittedW, c.IntervalSeconds)
	}
	s.GuardIntervals = c.GuardIntervals
	if s.CommittedWh, err = mulI(s.CommittedWhPerInterval, n-int64(c.GuardIntervals)); err != nil {
		return s, err
	}
	if c.ForfeitMissing {
		for k, r := range c.Actual {
			if r.Missing {
				s.Reason, s.MissingInterval = ReasonMissingWindow, c.FirstInterval+int64(k)
				if k < c.GuardIntervals {
					s.Reason = ReasonMissingGuard
				}
				break
			}
		}
	}
	if s.Reason == ReasonNone && c.Reason.Forfeits() {
		s.Reason, s.MissingInterval = c.Reason, c.MissingInterval
	}
	if s.Reason != ReasonNone {
		return forfeit(c, sched, s)
	}
	if c.Reason == ReasonGuardFromWindowDays {
		s.Reason = c.Reason
	}
	for k, r := range c.Actual {
		iv := &s.Intervals[k]
		iv.ImportWh, iv.ExportWh, iv.Missing = r.ImportWh, r.ExportWh, r.Missing
		iv.Guard = k < c.GuardIntervals
		if !iv.Guard {
			iv.CommittedWh = s.CommittedWhPerInterval
		}
		iv.ActualWh = r.ImportWh - r.ExportWh // both ≥ 0: cannot overflow
		if c.NoBaseline {
			continue
		}
		iv.BaselineWh = c.BaselineWh[k]
		switch {
		case r.Missing && !c.PenalizeMissing:
			continue
		case r.Missing:
			iv.DeltaWh = -s.CommittedWhPerInterval
		case c.Direction == Down:
			iv.DeltaWh, err = subI(iv.BaselineWh, iv.ActualWh)
		default:
			iv.DeltaWh, err = subI(iv.ActualWh, iv.BaselineWh)
		}
		if err != nil {
			return s, fmt.Errorf("interval %d: %w", k, err)
		}
		sum := &s.NetDeltaWh
		if iv.Guard {
			sum = &s.GuardNetWh
		}
		if *sum, err = addI(*sum, iv.DeltaWh); err != nil {
			return s, fmt.Errorf("interval %d: net: %w", k, err)
		}
		if c.ProvenWh != nil && !iv.Guard {
			iv.ProvenWh = c.ProvenWh[k]
			if r.Missing {
				iv.ProvenWh = iv.DeltaWh
			}
			if s.ProvenNetWh, err = addI(s.ProvenNetWh, iv.ProvenWh); err != nil {
				return s, fmt.Errorf("interval %d: proven net: %w", k, err)
			}
		}
	}
	if c.NoBaseline {
		s.Status, s.Reason = NoBaseline, c.Reason
		if s.Reason == ReasonNone {
			s.Reason = ReasonNoBaseline
		}
		s.BondReturnedBaseUnits = c.BondBaseUnits
		return s, nil
	}
	if c.Control {
		s.Status, s.Proven = Control, c.ProvenWh != nil
		if s.CapWh, err = FloorMulDiv(s.CommittedWh, c.PayoutCapPPM, PPM); err != nil {
			return s, err
		}
		s.ClaimBaseUnits, s.PayoutBaseUnits = c.ControlPayBaseUnits, c.ControlPayBaseUnits
		s.BondReturnedBaseUnits = c.BondBaseUnits
		return s, nil
	}
	s.CorrectionWh = c.CorrectionWh
	net, err := subI(s.NetDeltaWh, c.CorrectionWh)
	if err != nil {
		return s, fmt.Errorf("net with correction: %w", err)
	}
	if c.ProvenWh != nil {
		s.Proven = true
		net = min(net, s.ProvenNetWh)
	}
	net, err = addI(net, min(s.GuardNetWh, 0))
	if err != nil {
		return s, fmt.Errorf("net with guard: %w", err)
	}
	s.DeliveredWh = max(net, 0)
	if s.PerformancePPM, err = FloorMulDiv(s.DeliveredWh, PPM, s.CommittedWh); err != nil {
		return s, err
	}
	if s.CapWh, err = FloorMulDiv(s.CommittedWh, c.PayoutCapPPM, PPM); err != nil {
		return s, err
	}
	s.PaidWh = min(s.DeliveredWh, s.CapWh)
	if s.ClaimBaseUnits, err = FloorMulDivU(c.PriceBaseUnitsPerKWh, uint64(s.PaidWh), 1000); err != nil {
		return s, err
	}
	s.PayoutBaseUnits = s.ClaimBaseUnits
	if s.PerformancePPM < sched.ThresholdPPM {
		s.ShortfallPPM = sched.ThresholdPPM - s.PerformancePPM
		// Both factors ≤ 10^6, so the products fit 64 bits exactly.
		if s.SlashBaseUnits, err = FloorMulDivU(c.BondBaseUnits,
			uint64(s.ShortfallPPM)*uint64(sched.MaxSlashPPM), uint64(sched.ThresholdPPM)*PPM); err != nil {
			return s, err
		}
	}
	s.BondReturnedBaseUnits = c.BondBaseUnits - s.SlashBaseUnits // slash ≤ bond
	return s, nil
}

// forfeit applies the Forfeit rule to s, whose Reason and MissingInterval
// are set: the readings are listed (with the baseline where there is one),
// every DeltaWh and sum is 0, nothing is delivered or paid, performance is
// 0 and the bond is slashed as at zero performance.
func forfeit(c Commitment, sched SlashSchedule, s Settlement) (Settlement, error) {
	s.Status = Forfeited
	withBaseline := !c.NoBaseline && len(c.BaselineWh) == len(c.Actual)
	for k, r := range c.Actual {
		iv := &s.Intervals[k]
		iv.ImportWh, iv.ExportWh, iv.Missing = r.ImportWh, r.ExportWh, r.Missing
		iv.Guard = k < c.GuardIntervals
		if !iv.Guard {
			iv.CommittedWh = s.CommittedWhPerInterval
		}
		iv.ActualWh = r.ImportWh - r.ExportWh
		if withBaseline {
			iv.BaselineWh = c.BaselineWh[k]
		}
	}
	var err error
	if s.CapWh, err = FloorMulDiv(s.CommittedWh, c.PayoutCapPPM, PPM); err != nil {
		return s, err
	}
	s.ShortfallPPM = sched.ThresholdPPM
	if s.SlashBaseUnits, err = FloorMulDivU(c.BondBaseUnits, uint64(sched.MaxSlashPPM), PPM); err != nil {
		return s, err
	}
	s.BondReturnedBaseUnits = c.BondBaseUnits - s.SlashBaseUnits
	return s, nil
}

// RequestSettlement settles every commitment of one request against its
// escrow.
type RequestSettlement struct {
	EscrowBaseUnits uint64
	Commitments     []Settlement
	// ClaimsBaseUnits = Σ claims. When it exceeds the escrow, Scaled is set
	// and each payout is ⌊claim · escrow / ClaimsBaseUnits⌋ (pro rata, so
	// the order of commitments does not matter); otherwise payout = claim.
	ClaimsBaseUnits uint64
	Scaled          bool
	// PayoutsBaseUnits = Σ payouts ≤ escrow; RefundBaseUnits = escrow −
	// PayoutsBaseUnits goes back to the utility.
	PayoutsBaseUnits, RefundBaseUnits uint64
	// Bonds = Σ bonds = SlashedBaseUnits + BondsReturnedBaseUnits.
	BondsBaseUnits, SlashedBaseUnits, BondsReturnedBaseUnits uint64
}

// SettleRequest settles each commitment with Settle and caps the payouts at
// the escrow. It keeps, exactly,
//
//	PayoutsBaseUnits + RefundBaseUnits + SlashedBaseUnits + BondsReturnedBaseUnits
//	  = EscrowBaseUnits + BondsBaseUnits
//
// and PayoutsBaseUnits ≤ EscrowBaseUnits. Where the slashed bonds go is the
// ledger's rule, not this package's.
func SettleRequest(escrowBaseUnits uint64, cs []Commitment, sched SlashSchedule) (RequestSettlement, error) {
	rs := RequestSettlement{EscrowBaseUnits: escrowBaseUnits, Commitments: make([]Settlement, 0, len(cs))}
	var err error
	for i, c := range cs {
		s, err := Settle(c, sched)
		if err != nil {
			return rs, fmt.Errorf("commitment %d: %w", i, err)
		}
		rs.Commitments = append(rs.Commitments, s)
		if rs.ClaimsBaseUnits, err = addU(rs.ClaimsBaseUnits, s.ClaimBaseUnits); err != nil {
			return rs, fmt.Errorf("commitment %d: claims: %w", i, err)
		}
		if rs.BondsBaseUnits, err = addU(rs.BondsBaseUnits, s.BondBaseUnits); err != nil {
			return rs, fmt.Errorf("commitment %d: bonds: %w", i, err)
		}
		rs.SlashedBaseUnits += s.SlashBaseUnits              // ≤ bonds: no overflow
		rs.BondsReturnedBaseUnits += s.BondReturnedBaseUnits // ≤ bonds
	}
	rs.Scaled = rs.ClaimsBaseUnits > escrowBaseUnits
	for i := range rs.Commitments {
		s := &rs.Commitments[i]
		if rs.Scaled {
			if s.PayoutBaseUnits, err = FloorMulDivU(s.ClaimBaseUnits, escrowBaseUnits, rs.ClaimsBaseUnits); err != nil {
				return rs, err
			}
		}
		rs.PayoutsBaseUnits += s.PayoutBaseUnits // ≤ escrow (floors of a partition, or claims ≤ escrow)
	}
	rs.RefundBaseUnits = escrowBaseUnits - rs.PayoutsBaseUnits
	rs.Commitments = slices.Clip(rs.Commitments)
	return rs, nil
}
