package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// The proof-of-flexibility rules. A utility posts a request (FlexRequestTx)
// and escrows the most it can pay; site owners commit (FlexCommitTx) with a
// bond before the deadline — a site to at most one request over any
// interval, so that one delivery is never paid twice (ErrSiteBusy); anyone
// may cancel their part before the deadline (FlexCancelTx). Once the
// window plus FlexGraceIntervals has passed — so every reading of the
// window that can still be accepted has been — the request settles by
// itself at the end of a block:
//
//   - each commitment's baseline comes from meter/baseline (Compute) on the
//     site's accepted readings, with the request's method, rules and
//     calendar; baseline days end before the day the request was posted;
//   - the readings settled begin FlexGuardIntervals before the window (not
//     before the posting), with a baseline of their own: energy drawn
//     above it in that pre-event guard is netted against the event, a
//     reduction there is never paid; the guard is never dropped;
//   - missing data never pays: a missing reading the settlement reads (in
//     the window, the guard, or on a baseline day chosen as if all data
//     were present) forfeits the commitment (flexReason);
//   - a request with a control group (FlexTerms.ControlSharePPM) is split
//     one block after its deadline by a seed from the closing block's hash;
//     control sites are settled as placebos and paid a participation
//     payment, and the placebos' trimmed mean corrects every dispatched
//     site's delivery (control.go);
//   - baseline.SettleRequest turns baselines and readings into delivered
//     Wh, performance, payout (capped, pro rata if claims exceed the
//     escrow), slash and refund — the same function `gridmint mv` calls;
//   - payouts and returned bonds go to the site owners; slashed bonds and
//     the unspent escrow go to the utility;
//   - season netting (season.go): a dispatched site's negative signed
//     delivery becomes a debt, held against this and later payouts first,
//     then its returned bonds, both to the utility;
//   - baseline days follow the zone's calendar in the chain parameters
//     (FlexCalendar), never holidays chosen by the request;
//   - the whole calculation is stored (FlexSettlement), and each site's
//     delivered Wh counts toward its share of the epoch's flexibility
//     reward.
//
// Invariant: the money a request holds (escrow + bonds) leaves it exactly
// once, on cancellation or settlement, and in full.

// currentInterval is the interval the block's time falls in.
func (x *executor) currentInterval() int64 {
	return floorDiv(x.timeSec-x.l.genesis.GenesisTime, int64(x.params.IntervalSeconds))
}

// calendar is the baseline calendar of a request.
func (x *executor) calendar(t *FlexTerms) baseline.Calendar {
	return FlexCalendar(x.l.genesis.GenesisTime, &x.params, t)
}

// FlexCalendar is the baseline calendar of a request in its zone: the
// zone's calendar from the chain parameters (Params.ZoneCalendars: its
// UTC offset and holidays), or, for a zone without one, the request's UTC
// offset and no holidays. Holidays never come from the request itself
// (ValidateFlexTerms refuses terms that carry any), so a utility cannot
// pick which days count as holidays for one request.
func FlexCalendar(genesis int64, p *Params, t *FlexTerms) baseline.Calendar {
	cal := baseline.Calendar{GenesisUnix: genesis, IntervalSeconds: int64(p.IntervalSeconds),
		UTCOffsetSeconds: int64(t.UTCOffsetSeconds)}
	if z, ok := p.ZoneCalendar(t.Zone); ok {
		cal.UTCOffsetSeconds, cal.Holidays = int64(z.UTCOffsetSeconds), slices.Clone(z.Holidays)
	}
	return cal
}

// FlexBaselineParams applies a request's rule overrides to the defaults,
// with StrictMissing on for every method: baseline days are chosen as if
// all data were present, and a missing reading the rule reads forfeits the
// commitment (see SettleFlex).
func FlexBaselineParams(r BaselineRules) baseline.Params {
	p := baseline.DefaultParams()
	p.XofY.StrictMissing, p.HighXofY.StrictMissing, p.Device.StrictMissing = true, true, true
	for _, dm := range []*baseline.DayMatchParams{&p.XofY, &p.HighXofY} {
		if r.WeekdayX != 0 {
			dm.Weekday = baseline.DayCount{X: int(r.WeekdayX), Y: int(r.WeekdayY)}
		}
		if r.WeekendX != 0 {
			dm.WeekendHoliday = baseline.DayCount{X: int(r.WeekendX), Y: int(r.WeekendY)}
		}
		if r.LookbackDays != 0 {
			dm.LookbackDays = int(r.LookbackDays)
		}
		if r.AdjustCapPPM != 0 {
			dm.AdjustCapPPM = int64(r.AdjustCapPPM)
		}
	}
	if r.LookbackDays != 0 {
		p.Device.LookbackDays = int(r.LookbackDays)
		p.Device.ProfileDays = min(p.Device.ProfileDays, int(r.LookbackDays))
		p.Device.MinProfileDays = min(p.Device.MinProfileDays, p.Device.ProfileDays)
	}
	return p
}

// lookbackDays is how far back a method looks, in days.
func lookbackDays(m baseline.Method, p baseline.Params) int64 {
	switch m {
	case baseline.MethodXofY:
		return int64(p.XofY.LookbackDays)
	case baseline.MethodHighXofY:
		return int64(p.HighXofY.LookbackDays)
	}
	return int64(p.Device.LookbackDays)
}

// committedWhPerInterval is ⌊W × L / 3600⌋.
func committedWhPerInterval(w uint64, intervalSeconds uint32) uint64 {
	return mulDivFloor(w, uint64(intervalSeconds), 3600)
}

// MaxPayout is the most a commitment of w watts over n intervals can be
// paid: ⌊price × ⌊⌊w × L / 3600⌋ × n × cap / 10^6⌋ / 1000⌋, the same steps
// and floors as baseline.Settle with DeliveredWh above the cap. Where that
// does not fit 64 bits it returns the largest uint64 (such terms are
// refused: see MaxPayoutChecked).
func MaxPayout(w uint64, n uint64, price uint64, p *Params) uint64 {
	v, err := MaxPayoutChecked(w, n, price, p)
	if err != nil {
		return math.MaxUint64
	}
	return v
}

// MaxPayoutChecked is MaxPayout, or ErrOverflow where a step does not fit
// 64 bits.
func MaxPayoutChecked(w uint64, n uint64, price uint64, p *Params) (uint64, error) {
	perInterval, ok := mulDivU(w, uint64(p.IntervalSeconds), 3600)
	if !ok {
		return 0, fmt.Errorf("%w: %d W over %d s", ErrOverflow, w, p.IntervalSeconds)
	}
	wh, ok := mulU(perInterval, n)
	if !ok {
		return 0, fmt.Errorf("%w: %d Wh per interval over %d intervals", ErrOverflow, perInterval, n)
	}
	capWh, ok := mulDivU(wh, uint64(p.FlexPayoutCapPpm), 1_000_000)
	if !ok {
		return 0, fmt.Errorf("%w: %d Wh at a cap of %d ppm", ErrOverflow, wh, p.FlexPayoutCapPpm)
	}
	pay, ok := mulDivU(price, capWh, 1000)
	if !ok {
		return 0, fmt.Errorf("%w: %d Wh at %d base units per kWh does not fit 64 bits", ErrOverflow, capWh, price)
	}
	return pay, nil
}

// ValidateFlexTerms checks the terms of a request on their own, without
// the chain's state: everything but the deadline against the current
// interval and the baseline method's own rules (flexRequest checks those
// when it executes). The bounds keep every later product exact: TargetW ≤
// MaxFlexTargetW, price ≤ MaxFlexPrice, End ≤ MaxFlexInterval, the window
// at most FlexMaxWindowIntervals, and the escrow must fit 64 bits. The
// mempool (CheckTx), the execution and `gridmint mv` all call it.
func ValidateFlexTerms(t *FlexTerms, p *Params, genesisUnix int64) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrFlexTerms, fmt.Sprintf(format, args...))
	}
	switch {
	case !validZone(t.Zone):
		return fmt.Errorf("%w: %q", ErrBadZone, t.Zone)
	case t.Direction != FlexDown && t.Direction != FlexUp:
		return bad("direction %d", t.Direction)
	case t.Start >= t.End || t.End > MaxFlexInterval:
		return bad("window [%d, %d)", t.Start, t.End)
	case t.End-t.Start > uint64(p.FlexMaxWindowIntervals):
		return bad("window of %d intervals, at most %d", t.End-t.Start, p.FlexMaxWindowIntervals)
	case t.Deadline > t.Start:
		return bad("deadline %d after the start %d", t.Deadline, t.Start)
	case t.TargetW < 1 || t.TargetW > MaxFlexTargetW || committedWhPerInterval(t.TargetW, p.IntervalSeconds) < 1:
		return bad("target %d W (1 Wh per interval up to %d W)", t.TargetW, uint64(MaxFlexTargetW))
	case t.PriceBaseUnitsPerKWh < 1 || t.PriceBaseUnitsPerKWh > MaxFlexPrice:
		return bad("price %d base units per kWh (1 up to %d)", t.PriceBaseUnitsPerKWh, uint64(MaxFlexPrice))
	}
	m := baseline.Method(t.Method)
	if _, err := baseline.ParseMethod(m.String()); err != nil {
		return bad("baseline method %d", t.Method)
	}
	if (m == baseline.MethodDevice) != (t.Channel == ChannelBattery || t.Channel == ChannelEV) || t.Channel > ChannelEV {
		return bad("channel %d does not fit method %s", t.Channel, m)
	}
	for _, v := range []uint16{t.Rules.WeekdayX, t.Rules.WeekdayY, t.Rules.WeekendX, t.Rules.WeekendY, t.Rules.LookbackDays} {
		if v > 366 {
			return bad("baseline rule value %d above 366", v)
		}
	}
	if t.Rules.AdjustCapPPM > 1_000_000 {
		return bad("adjustment cap %d ppm", t.Rules.AdjustCapPPM)
	}
	if len(t.Holidays) != 0 {
		return bad("%d holidays in the request: holidays come from the zone's calendar in the chain parameters (zone_calendars)", len(t.Holidays))
	}
	if t.UTCOffsetSeconds < -18*3600 || t.UTCOffsetSeconds > 18*3600 {
		return bad("UTC offset %d s", t.UTCOffsetSeconds)
	}
	if z, ok := p.ZoneCalendar(t.Zone); ok && z.UTCOffsetSeconds != t.UTCOffsetSeconds {
		return bad("UTC offset %d s, but zone %s's calendar is at %d s", t.UTCOffsetSeconds, t.Zone, z.UTCOffsetSeconds)
	}
	if err := FlexCalendar(genesisUnix, p, t).Validate(); err != nil {
		return bad("%v", err)
	}
	if _, err := MaxPayoutChecked(t.TargetW, t.End-t.Start, t.PriceBaseUnitsPerKWh, p); err != nil {
		return fmt.Errorf("%w: the escrow (the most the request can pay) does not fit: %w", ErrFlexTerms, err)
	}
	return validateControl(t, p)
}

// FlexMaxControlSharePPM bounds a request's control share: at most half
// the committed sites are held back.
const FlexMaxControlSharePPM = 500_000

// validateControl checks a request's control-group terms. With a share s
// (ppm), a participation payment of pay ppm of compliance, and the chain's
// minimum bond b and slash at zero performance m (both ppm), it requires
//
//	s · pay · 10^6 ≤ (10^6 − s) · b · m
//
// so that a site committing with no intent to deliver expects to lose at
// least as much bond when dispatched as it expects to be paid as control:
// the participation payment is at most s·pay of compliance (pay ≤ 10^6:
// never more than compliance), the slash at least (1 − s)·b·m of the most
// the commitment can pay, which is at least compliance. Being in the
// control group is then no lottery worth entering. The deadline must be
// before the start, so the split (one block after the deadline) can be
// known before the window.
func validateControl(t *FlexTerms, p *Params) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrFlexTerms, fmt.Sprintf(format, args...))
	}
	if !t.hasControl() {
		return nil
	}
	switch {
	case t.ControlSharePPM == 0 || t.ControlSharePPM > FlexMaxControlSharePPM:
		return bad("control share %d ppm (1 up to %d)", t.ControlSharePPM, FlexMaxControlSharePPM)
	case t.ControlPayPPM > 1_000_000:
		return bad("control participation %d ppm of compliance, at most 10^6", t.ControlPayPPM)
	case t.Deadline >= t.Start:
		return bad("a control group needs the deadline %d before the start %d", t.Deadline, t.Start)
	}
	// Each factor ≤ 10^6: the products fit 64 bits.
	lhs := uint64(t.ControlSharePPM) * uint64(t.ControlPayPPM) * 1_000_000
	rhs := uint64(1_000_000-t.ControlSharePPM) * uint64(p.FlexMinBondPpm) * uint64(p.FlexMaxSlashPpm)
	if lhs > rhs {
		return bad("control participation %d ppm at a share of %d ppm exceeds what a dispatched non-responder loses (bond %d ppm, slash %d ppm): at most %d ppm",
			t.ControlPayPPM, t.ControlSharePPM, p.FlexMinBondPpm, p.FlexMaxSlashPpm, rhs/(uint64(t.ControlSharePPM)*1_000_000))
	}
	return nil
}

func (x *executor) flexRequest(v *view, from wallet.Address, p *FlexRequestTx, rc *Receipt) error {
	t := p.Terms
	if err := ValidateFlexTerms(&t, &x.params, x.l.genesis.GenesisTime); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrFlexTerms, fmt.Sprintf(format, args...))
	}
	cur := x.currentInterval()
	n := t.End - t.Start
	if int64(t.Deadline) <= cur {
		return bad("deadline %d must be after the current interval %d and not after the start %d", t.Deadline, cur, t.Start)
	}
	m := baseline.Method(t.Method)
	// The baseline package validates the calendar and rules; run it on no
	// data: it must fail only for lack of data (too few days, or, under
	// StrictMissing, a missing reading), never for its input.
	cal := x.calendar(&t)
	ev := baseline.Event{Start: int64(t.Start), End: int64(t.End), Posted: cur}
	if _, err := baseline.Compute(m, baseline.Series{}, ev, cal, FlexBaselineParams(t.Rules)); err != nil &&
		!errors.Is(err, baseline.ErrInsufficientData) && !errors.Is(err, baseline.ErrMissingData) {
		return bad("%v", err)
	}
	escrow, err := MaxPayoutChecked(t.TargetW, n, t.PriceBaseUnitsPerKWh, &x.params)
	if err != nil {
		return fmt.Errorf("%w: escrow: %w", ErrFlexTerms, err) // ValidateFlexTerms refused it already
	}
	if err := x.debit(v, from, escrow); err != nil {
		return fmt.Errorf("escrow: %w", err)
	}
	req := FlexRequest{ID: x.chain.NextFlexID, Utility: from, Terms: t, PostedInterval: uint64(cur),
		PostedHeight: x.header.Height, EscrowBaseUnits: escrow, Status: FlexOpen}
	x.chain.NextFlexID++
	v.store(u64Key(pfxFlexReq, req.ID), &req)
	var open idList
	if _, err := v.load([]byte(pfxFlexOpen), &open); err != nil {
		return err
	}
	open.IDs = append(open.IDs, req.ID) // ids increase: stays sorted
	v.store([]byte(pfxFlexOpen), &open)
	x.emit(Event{Kind: EventFlexPosted, ID: req.ID, Account: from, Amount: escrow})
	return nil
}

func (x *executor) loadRequest(v *view, id uint64) (*FlexRequest, error) {
	var r FlexRequest
	ok, err := v.load(u64Key(pfxFlexReq, id), &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrUnknownRequest, id)
	}
	return &r, nil
}

// openRequest loads a request that still takes commitments and
// cancellations: open, and before its deadline.
func (x *executor) openRequest(v *view, id uint64) (*FlexRequest, error) {
	r, err := x.loadRequest(v, id)
	if err != nil {
		return nil, err
	}
	if r.Status != FlexOpen {
		return nil, ErrRequestClosed
	}
	if x.currentInterval() >= int64(r.Terms.Deadline) {
		return nil, ErrDeadlinePassed
	}
	return r, nil
}

// commitmentCmp orders commitments by site, for binary search.
func commitmentCmp(c FlexCommitment, s wallet.Address) int { return addrCmp(c.Site, s) }

func (x *executor) flexCommit(v *view, from wallet.Address, p *FlexCommitTx, rc *Receipt) error {
	r, err := x.openRequest(v, p.RequestID)
	if err != nil {
		return err
	}
	var s Site
	ok, err := v.load(siteKey(p.Site), &s)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrUnknownSite, p.Site)
	case s.Owner != from:
		return fmt.Errorf("%w: %s", ErrNotSiteOwner, p.Site)
	case s.Zone != r.Terms.Zone:
		return fmt.Errorf("%w: site in %s, request in %s", ErrWrongZone, s.Zone, r.Terms.Zone)
	case p.CommittedW < 1 || committedWhPerInterval(p.CommittedW, x.params.IntervalSeconds) < 1:
		return fmt.Errorf("%w: %d W commits less than 1 Wh per interval", ErrZeroAmount, p.CommittedW)
	case r.CommittedW > r.Terms.TargetW || p.CommittedW > r.Terms.TargetW-r.CommittedW:
		return fmt.Errorf("%w: %d W asked, %d W left", ErrOverCommitted, p.CommittedW, r.Terms.TargetW-r.CommittedW)
	}
	i, found := slices.BinarySearchFunc(r.Commitments, p.Site, commitmentCmp)
	if found {
		return ErrAlreadyCommitted
	}
	if len(r.Commitments) >= maxFlexCommitments {
		return fmt.Errorf("%w: %d commitments", ErrOverCommitted, len(r.Commitments))
	}
	busy, err := x.siteCommitments(v, p.Site)
	if err != nil {
		return err
	}
	for _, o := range busy.Open {
		if o.Start < r.Terms.End && r.Terms.Start < o.End {
			return fmt.Errorf("%w: request %d, window [%d, %d)", ErrSiteBusy, o.ID, o.Start, o.End)
		}
	}
	if len(busy.Open) >= maxSiteCommitments {
		return fmt.Errorf("%w: the site has %d open commitments", ErrOverCommitted, len(busy.Open))
	}
	// CommittedW ≤ TargetW, so its most payable fits as the escrow did.
	most, err := MaxPayoutChecked(p.CommittedW, r.Terms.End-r.Terms.Start, r.Terms.PriceBaseUnitsPerKWh, &x.params)
	if err != nil {
		return err
	}
	minBond, _ := mulDivU(most, uint64(x.params.FlexMinBondPpm), 1_000_000) // ppm ≤ 10^6: fits
	if p.BondBaseUnits < minBond {
		return fmt.Errorf("%w: %d < %d", ErrBondTooLow, p.BondBaseUnits, minBond)
	}
	if err := x.debit(v, from, p.BondBaseUnits); err != nil {
		return fmt.Errorf("bond: %w", err)
	}
	r.Commitments = slices.Insert(r.Commitments, i, FlexCommitment{Site: p.Site, Owner: from, CommittedW: p.CommittedW, BondBaseUnits: p.BondBaseUnits})
	j, _ := slices.BinarySearchFunc(busy.Open, r.ID, func(o siteCommitment, id uint64) int { return cmp.Compare(o.ID, id) })
	busy.Open = slices.Insert(busy.Open, j, siteCommitment{ID: r.ID, Start: r.Terms.Start, End: r.Terms.End})
	v.store(siteFlexKey(p.Site), &busy)
	r.CommittedW += p.CommittedW
	v.store(u64Key(pfxFlexReq, r.ID), r)
	rc.sites = append(rc.sites, p.Site)
	return nil
}

func (x *executor) flexCancel(v *view, from wallet.Address, p *FlexCancelTx, rc *Receipt) error {
	r, err := x.openRequest(v, p.RequestID)
	if err != nil {
		return err
	}
	if p.Site.IsZero() {
		if from != r.Utility {
			return ErrNotUtility
		}
		for _, c := range r.Commitments {
			if err := x.credit(v, c.Owner, c.BondBaseUnits); err != nil {
				return err
			}
			if err := x.releaseSite(v, c.Site, r.ID); err != nil {
				return err
			}
		}
		if err := x.credit(v, r.Utility, r.EscrowBaseUnits); err != nil {
			return err
		}
		r.Status = FlexCancelled
		if err := x.closeRequest(v, r.ID); err != nil {
			return err
		}
	} else {
		i, found := slices.BinarySearchFunc(r.Commitments, p.Site, commitmentCmp)
		if !found {
			return ErrNotCommitted
		}
		c := r.Commitments[i]
		if c.Owner != from {
			return fmt.Errorf("%w: %s", ErrNotSiteOwner, p.Site)
		}
		if err := x.credit(v, c.Owner, c.BondBaseUnits); err != nil {
			return err
		}
		r.Commitments = slices.Delete(r.Commitments, i, i+1)
		r.CommittedW -= c.CommittedW
		if err := x.releaseSite(v, c.Site, r.ID); err != nil {
			return err
		}
		rc.sites = append(rc.sites, p.Site)
	}
	v.store(u64Key(pfxFlexReq, r.ID), r)
	x.emit(Event{Kind: EventFlexCancelled, ID: r.ID, Site: p.Site})
	return nil
}

func siteFlexKey(site wallet.Address) []byte { return append([]byte(pfxSiteFlex), site[:]...) }

// siteCommitments loads a site's open commitments.
func (x *executor) siteCommitments(v *view, site wallet.Address) (siteCommitments, error) {
	var s siteCommitments
	_, err := v.load(siteFlexKey(site), &s)
	return s, err
}

// releaseSite removes request id from the site's open commitments (on
// cancellation, withdrawal or settlement); the key goes when none is left.
func (x *executor) releaseSite(v *view, site wallet.Address, id uint64) error {
	s, err := x.siteCommitments(v, site)
	if err != nil {
		return err
	}
	j, found := slices.BinarySearchFunc(s.Open, id, func(o siteCommitment, id uint64) int { return cmp.Compare(o.ID, id) })
	if !found {
		return fmt.Errorf("ledger: site %s has no open commitment to request %d", site, id)
	}
	s.Open = slices.Delete(s.Open, j, j+1)
	if len(s.Open) == 0 {
		v.del(siteFlexKey(site))
		return nil
	}
	v.store(siteFlexKey(site), &s)
	return nil
}

// closeRequest removes id from the open list.
func (x *executor) closeRequest(v *view, id uint64) error {
	var open idList
	if _, err := v.load([]byte(pfxFlexOpen), &open); err != nil {
		return err
	}
	if i, ok := slices.BinarySearch(open.IDs, id); ok {
		open.IDs = slices.Delete(open.IDs, i, i+1)
	}
	v.store([]byte(pfxFlexOpen), &open)
	return nil
}

// recordReading keeps an accepted reading in the site's day page, where
// settlement reads it.
func (x *executor) recordReading(v *view, r *meter.Reading) error {
	perDay := uint64(86400 / x.params.IntervalSeconds)
	key := pageKey(r.Site, r.Interval/perDay)
	var pg dayPage
	ok, err := v.load(key, &pg)
	if err != nil {
		return err
	}
	if !ok || len(pg.Present) != int(perDay) {
		pg = *newDayPage(int(perDay))
	}
	i := r.Interval % perDay
	pg.Present[i] = true
	pg.ImportWh[i] = r.GridImportWh
	pg.ExportWh[i] = r.GridExportWh
	pg.BatteryNet[i] = int64(r.BatteryChargeWh) - int64(r.BatteryDischargeWh)
	pg.EVWh[i] = r.EVWh
	v.store(key, &pg)
	return nil
}

func pageKey(site wallet.Address, day uint64) []byte {
	return u64Key(pfxPage+string(site[:]), day)
}

// siteHistory reads the site's pages for intervals [from, to) into the
// channel a request is about, and the event window's readings.
type siteHistory struct {
	first   int64
	present []bool
	imp     []int64
	exp     []int64
	batt    []int64
	ev      []int64
}

func loadHistory(v *view, site wallet.Address, from, to int64, intervalSeconds uint32) (*siteHistory, error) {
	perDay := int64(86400 / intervalSeconds)
	from = max(from, 0)
	h := &siteHistory{first: from}
	n := max(to-from, 0)
	h.present = make([]bool, n)
	h.imp, h.exp, h.batt, h.ev = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for day := from / perDay; day*perDay < to; day++ {
		var pg dayPage
		ok, err := v.load(pageKey(site, uint64(day)), &pg)
		if err != nil {
			return nil, err
		}
		if !ok || int64(len(pg.Present)) != perDay {
			continue
		}
		for k := int64(0); k < perDay; k++ {
			i := day*perDay + k - from
			if i < 0 || i >= n || !pg.Present[k] {
				continue
			}
			h.present[i] = true
			h.imp[i], h.exp[i] = int64(pg.ImportWh[k]), int64(pg.ExportWh[k])
			h.batt[i], h.ev[i] = pg.BatteryNet[k], int64(pg.EVWh[k])
		}
	}
	return h, nil
}

// FlexInputs are the inputs of one commitment's settlement, as both the
// ledger and the audit tool build them from a site's readings.
type FlexInputs struct {
	Series baseline.Series
	// Event is the window's baseline event; GuardEvent the guard's (the
	// intervals before the window), each with its own day selection and
	// adjustment, so that the guard never changes the window's baseline.
	Event, GuardEvent baseline.Event
	// Actual holds the readings of the guard intervals, then the window's.
	Actual []baseline.Reading
	// Guard is how many intervals before the window are settled as the
	// pre-event guard: min(guard, Start − posted).
	Guard int
	// Proven, for a battery request, holds for each entry of Actual the
	// delivery its readings prove (baseline.BatteryProvenWh from the site's
	// import, export and battery channels); nil for other channels.
	Proven []int64
}

// SetHistoryStart sets where the site's history begins for both baselines
// (baseline.Event.HistoryStart): the ledger and the audit pass the site's
// RegisteredInterval; BuildFlexInputs leaves 0, the genesis. Days before it
// are not baseline days; a missing reading from it on forfeits.
func (in *FlexInputs) SetHistoryStart(interval int64) {
	in.Event.HistoryStart, in.GuardEvent.HistoryStart = interval, interval
}

// BuildFlexInputs turns a site's history into the baseline series and the
// window's readings for a request. history(i) returns the accepted reading
// of interval i, if any. The channel rule: ChannelNet uses import − export;
// the device channels use the channel signed as load (battery: charge −
// discharge; EV: charging), split into ImportWh/ExportWh by sign. guard is
// the chain's FlexGuardIntervals: the readings from max(Start − guard,
// posted) are settled, those before Start as the pre-event guard (with a
// baseline of their own, GuardEvent). A battery request also gets the
// proof cap (FlexInputs.Proven): it is never paid more battery energy than
// provably reached the grid (or, up, came from it).
func BuildFlexInputs(t *FlexTerms, posted int64, priorEventStarts []uint64, cal baseline.Calendar, p baseline.Params,
	guard uint32, history func(i int64) (imp, exp, batt, ev int64, ok bool)) FlexInputs {
	m := baseline.Method(t.Method)
	perDay := cal.IntervalsPerDay()
	from := max(int64(t.Start)-(lookbackDays(m, p)+2)*perDay, 0)
	to := int64(t.End)
	g := guardLen(t.Start, posted, guard)
	first := int64(t.Start) - g
	in := FlexInputs{Series: baseline.Series{First: from, Wh: make([]int64, to-from), Missing: make([]bool, to-from)},
		Guard: int(g)}
	channel := func(imp, exp, batt, ev int64) int64 {
		switch t.Channel {
		case ChannelBattery:
			return batt
		case ChannelEV:
			return ev
		}
		return imp - exp
	}
	for i := from; i < to; i++ {
		imp, exp, batt, ev, ok := history(i)
		if !ok {
			in.Series.Missing[i-from] = true
			continue
		}
		in.Series.Wh[i-from] = channel(imp, exp, batt, ev)
	}
	for i := first; i < to; i++ {
		imp, exp, batt, ev, ok := history(i)
		r := baseline.Reading{Missing: !ok}
		if t.Channel == ChannelBattery {
			var p int64
			if ok {
				p = baseline.BatteryProvenWh(baseline.Direction(t.Direction), imp, exp, batt)
			}
			in.Proven = append(in.Proven, p)
		}
		if ok {
			if t.Channel == ChannelNet {
				r.ImportWh, r.ExportWh = imp, exp
			} else if c := channel(imp, exp, batt, ev); c >= 0 {
				r.ImportWh = c
			} else {
				r.ExportWh = -c
			}
		}
		in.Actual = append(in.Actual, r)
	}
	var days []int64
	for _, s := range priorEventStarts {
		if s < t.Start {
			d := cal.DayOf(int64(s))
			if len(days) == 0 || days[len(days)-1] < d {
				days = append(days, d)
			}
		}
	}
	in.Event = baseline.Event{Start: int64(t.Start), End: to, Posted: posted, PriorEventDays: days}
	in.GuardEvent = baseline.Event{Start: first, End: int64(t.Start), Posted: posted, PriorEventDays: days}
	return in
}

// guardLen is the pre-event guard of a window starting at start, for a
// request posted at interval posted: min(guard, start − posted), and 0
// when posted is not before start.
func guardLen(start uint64, posted int64, guard uint32) int64 {
	if posted >= int64(start) {
		return 0
	}
	return min(int64(guard), int64(start)-posted)
}

// SettleFlex is the settlement of a request from its inputs: the single
// function the ledger and `gridmint mv` both call, so that they agree to
// the Wh and base unit. inputs[i] belongs to r.Commitments[i].
func SettleFlex(r *FlexRequest, inputs []FlexInputs, cal baseline.Calendar, p *Params) (*FlexSettlement, error) {
	bp := FlexBaselineParams(r.Terms.Rules)
	m := baseline.Method(r.Terms.Method)
	cms := make([]baseline.Commitment, len(r.Commitments))
	results := make([]baseline.Result, len(r.Commitments))
	guard := guardLen(r.Terms.Start, int64(r.PostedInterval), p.FlexGuardIntervals)
	if len(inputs) != len(r.Commitments) {
		return nil, fmt.Errorf("ledger: %d settlement inputs for %d commitments", len(inputs), len(r.Commitments))
	}
	for i, c := range r.Commitments {
		if inputs[i].Guard != int(guard) {
			return nil, fmt.Errorf("ledger: commitment %d: guard of %d intervals, the request's is %d", i, inputs[i].Guard, guard)
		}
		in := &inputs[i]
		if len(in.Actual) != int(in.Event.End-in.Event.Start)+in.Guard {
			return nil, fmt.Errorf("ledger: commitment %d: %d readings for a window of %d and a guard of %d", i,
				len(in.Actual), in.Event.End-in.Event.Start, in.Guard)
		}
		if in.Proven != nil && len(in.Proven) != len(in.Actual) {
			return nil, fmt.Errorf("ledger: commitment %d: %d proven values for %d readings", i, len(in.Proven), len(in.Actual))
		}
		res, err := baseline.Compute(m, in.Series, in.Event, cal, bp)
		// The guard's baseline, from its own days. It is never dropped:
		// where it cannot be built the request settles by a rule that pays
		// nothing (reasons below).
		var gres baseline.Result
		var gerr error
		if in.Guard > 0 {
			gres, gerr = baseline.Compute(m, in.Series, in.GuardEvent, cal, bp)
		}
		reason, missingAt := flexReason(err, gerr)
		if reason == baseline.ReasonNoGuardBaseline && len(res.Selected) > 0 {
			// The guard's own days are too few: lay the window's days on
			// the guard's hours instead (see flexReason).
			days := make([]int64, len(res.Selected))
			for k, d := range res.Selected {
				days[k] = d.Day
			}
			gres.BaselineWh, gerr = baseline.AverageDays(in.Series, in.GuardEvent, cal, days)
			reason, missingAt = flexReason(nil, gerr)
			if gerr == nil {
				reason = baseline.ReasonGuardFromWindowDays
			}
		}
		bl := res.BaselineWh
		if in.Guard > 0 {
			bl = append(slices.Clone(gres.BaselineWh), res.BaselineWh...)
		}
		cms[i] = baseline.Commitment{
			Direction: baseline.Direction(r.Terms.Direction), IntervalSeconds: int64(p.IntervalSeconds),
			CommittedW: int64(c.CommittedW), BaselineWh: bl, Actual: in.Actual,
			GuardIntervals: in.Guard, ProvenWh: in.Proven,
			PriceBaseUnitsPerKWh: r.Terms.PriceBaseUnitsPerKWh, PayoutCapPPM: int64(p.FlexPayoutCapPpm),
			BondBaseUnits: c.BondBaseUnits,
			// A missing reading in the guard or the window forfeits the
			// commitment: see flexReason for why that is the worst case.
			ForfeitMissing: true, Reason: reason, MissingInterval: missingAt,
			FirstInterval: in.Event.Start - int64(in.Guard),
		}
		if err != nil || gerr != nil {
			cms[i].NoBaseline = !reason.Forfeits()
			cms[i].BaselineWh = nil
		}
		if reason == baseline.ReasonGuardFromWindowDays {
			cms[i].Reason = reason
		}
		results[i] = res
	}
	sched := baseline.SlashSchedule{ThresholdPPM: int64(p.FlexSlashThresholdPpm), MaxSlashPPM: int64(p.FlexMaxSlashPpm)}
	ctl, err := applyControl(r, cms, sched, p)
	if err != nil {
		return nil, err
	}
	rs, err := baseline.SettleRequest(r.EscrowBaseUnits, cms, sched)
	if err != nil {
		return nil, err
	}
	fs := &FlexSettlement{RequestID: r.ID, EscrowBaseUnits: rs.EscrowBaseUnits, ClaimsBaseUnits: rs.ClaimsBaseUnits,
		Scaled: rs.Scaled, PayoutsBaseUnits: rs.PayoutsBaseUnits, RefundBaseUnits: rs.RefundBaseUnits,
		BondsBaseUnits: rs.BondsBaseUnits, SlashedBaseUnits: rs.SlashedBaseUnits, BondsReturn: rs.BondsReturnedBaseUnits,
		HasControl: ctl.has, ControlPlacebos: ctl.placebos, ControlUsed: ctl.used, ControlApplied: ctl.applied, ControlEstimateWh: ctl.estimateWh}
	for i, s := range rs.Commitments {
		c := r.Commitments[i]
		res := results[i]
		cr := FlexCommitmentResult{Site: c.Site, Owner: c.Owner, CommittedW: c.CommittedW, Status: uint8(s.Status),
			Reason: uint8(s.Reason), MissingInterval: s.MissingInterval,
			DayType: uint8(res.DayType), AdjustKind: uint8(res.Adjustment.Kind), AdjustApplied: res.Adjustment.Applied,
			AdjustRatio: res.Adjustment.RatioPPM, AdjustNumWh: res.Adjustment.AdditiveNumWh,
			GuardIntervals: uint32(s.GuardIntervals), GuardNetWh: s.GuardNetWh, NetDeltaWh: s.NetDeltaWh, Proven: s.Proven, ProvenNetWh: s.ProvenNetWh, CommittedWhPerInterval: s.CommittedWhPerInterval, CommittedWh: s.CommittedWh, DeliveredWh: s.DeliveredWh,
			PerformancePPM: s.PerformancePPM, CapWh: s.CapWh, PaidWh: s.PaidWh, ClaimBaseUnits: s.ClaimBaseUnits,
			PayoutBaseUnits: s.PayoutBaseUnits, ShortfallPPM: s.ShortfallPPM, BondBaseUnits: s.BondBaseUnits,
			SlashBaseUnits: s.SlashBaseUnits, BondReturnedBaseUnits: s.BondReturnedBaseUnits,
			Control: cms[i].Control, CorrectionWh: s.CorrectionWh}
		if s.Status != baseline.Settled && s.Status != baseline.Control {
			cr.DayType, cr.AdjustKind, cr.AdjustApplied, cr.AdjustRatio, cr.AdjustNumWh = 0, 0, false, 0, 0
		} else {
			for _, d := range res.Selected {
				cr.SelectedDays = append(cr.SelectedDays, d.Day)
			}
		}
		for _, iv := range s.Intervals {
			cr.Intervals = append(cr.Intervals, FlexIntervalResult{BaselineWh: iv.BaselineWh, ImportWh: iv.ImportWh,
				ExportWh: iv.ExportWh, Missing: iv.Missing, ProvenWh: iv.ProvenWh})
		}
		fs.Commitments = append(fs.Commitments, cr)
	}
	return fs, nil
}

// controlResult is what applyControl found.
type controlResult struct {
	has            bool
	placebos, used uint32
	applied        bool
	estimateWh     int64
}

// applyControl marks the control commitments of a split request (with
// their participation payments), settles each alone for its placebo,
// and sets the control estimate as every dispatched commitment's
// correction (see control.go). A request without a split is unchanged.
func applyControl(r *FlexRequest, cms []baseline.Commitment, sched baseline.SlashSchedule, p *Params) (controlResult, error) {
	var res controlResult
	if r.SplitHeight == 0 {
		return res, nil
	}
	if len(r.Control) != len(cms) {
		return res, fmt.Errorf("ledger: %d control flags for %d commitments", len(r.Control), len(cms))
	}
	res.has = true
	var placebos []int64
	for i := range cms {
		if !r.Control[i] {
			continue
		}
		pay, err := controlPayment(&r.Commitments[i], &r.Terms, p)
		if err != nil {
			return res, fmt.Errorf("commitment %d: participation payment: %w", i, err)
		}
		cms[i].Control, cms[i].ControlPayBaseUnits = true, pay
		s, err := baseline.Settle(cms[i], sched)
		if err != nil {
			return res, fmt.Errorf("control commitment %d: %w", i, err)
		}
		if s.Status == baseline.Control {
			placebos = append(placebos, s.NetDeltaWh)
		}
	}
	est, used, ok, err := baseline.ControlEstimate(placebos)
	if err != nil {
		return res, err
	}
	res.placebos, res.used, res.applied, res.estimateWh = uint32(len(placebos)), uint32(used), ok, est
	if ok {
		for i := range cms {
			if !r.Control[i] {
				cms[i].CorrectionWh = est
			}
		}
	}
	return res, nil
}

// flexReason turns the errors of the window's and the guard's baseline into
// the settlement's reason, and the missing interval for a forfeit. Missing
// data come first, because a site chooses which readings it sends: the
// rules must treat a missing reading as the worst case for the site, so
// that withholding any set of readings never pays more than sending them
// all (TestPropertyWithholdingNeverPays).
//
//   - A missing reading in the window or the guard (found by Settle,
//     ForfeitMissing): the worst reading a meter could show there is
//     unbounded — no rule bounds a site's grid import (house load has no
//     nameplate) — so the event's net delivery floors at 0 whatever the
//     rest: the commitment is forfeited, nothing paid, performance 0, the
//     bond slashed as at zero performance.
//   - A missing reading on a baseline day, or in the event day's
//     adjustment window (*baseline.MissingDataError): the days are chosen
//     by the calendar as if all data were present (StrictMissing), so a
//     gap is never a reason to pick another day; filling it "at the site's
//     expense" would need the lowest net load the site could show (for a
//     down request) or the highest (up), and the latter is unbounded as
//     above, so the site loses the request the same way (forfeited).
//   - Otherwise a baseline with too few eligible days
//     (*baseline.InsufficientDataError: prior events, a short lookback, or
//     a history that starts too late) settles by the NoBaseline rule —
//     nothing paid, nothing slashed. Where only the guard's baseline cannot
//     be built (its own days are too few: PJM's low-usage rule, say, drops
//     most days of a PV home's afternoon), the guard is not dropped: its
//     baseline is the window's baseline days laid on the guard's hours,
//     unadjusted (baseline.AverageDays; ReasonGuardFromWindowDays, a gap
//     there forfeits like any baseline day). The guard then still nets
//     what the site drew above it, so the request pays at most what the
//     window alone would. Where the window's method averaged no days
//     either, the request settles by the NoBaseline rule
//     (ReasonNoGuardBaseline), which pays nothing.
func flexReason(err, gerr error) (baseline.Reason, int64) {
	var me *baseline.MissingDataError
	switch {
	case errors.As(err, &me):
		return baseline.ReasonMissingBaseline, me.Interval
	case errors.As(gerr, &me):
		return baseline.ReasonMissingGuardBaseline, me.Interval
	case err != nil:
		return baseline.ReasonNoBaseline, 0
	case gerr != nil:
		return baseline.ReasonNoGuardBaseline, 0
	}
	return baseline.ReasonNone, 0
}

// settleDue settles every open request whose window and grace have passed.
// Each settlement runs in a view of its own: one that cannot be computed
// (an error of the settlement math, an overflow, or a panic — a bug) is
// voided instead (voidRequest), so that no request can stop the chain.
func (x *executor) settleDue() error {
	var open idList
	if _, err := x.v.load([]byte(pfxFlexOpen), &open); err != nil {
		return err
	}
	cur := x.currentInterval()
	for _, id := range slices.Clone(open.IDs) {
		r, err := x.loadRequest(x.v, id)
		if err != nil {
			return fmt.Errorf("%w: open request %d: %v", errInternal, id, err)
		}
		if err := x.controlStep(r); err != nil {
			return err
		}
		if cur < int64(r.Terms.End)+int64(x.params.FlexGraceIntervals) {
			continue
		}
		parent, snap := x.v, x.snapshot()
		x.v = newView(parent)
		err = x.guarded(func() error { return x.settle(r) }, "settling flexibility request", "request", id)
		child := x.v
		x.v = parent
		switch {
		case err == nil:
			child.merge()
		case errors.Is(err, errInternal) && !errors.Is(err, errSettlement):
			return err // storage or corrupt state: the block cannot be executed
		default:
			x.restore(snap)
			x.l.log().Error("ledger: flexibility request cannot be settled; voided, escrow and bonds returned",
				"request", id, "height", x.header.Height, "err", err)
			r, lerr := x.loadRequest(x.v, id)
			if lerr != nil {
				return fmt.Errorf("%w: open request %d: %v", errInternal, id, lerr)
			}
			if err := x.voidRequest(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// voidRequest closes a request whose settlement could not be computed:
// every bond returns to its owner and the escrow to the utility, in full,
// as on cancellation, with the status FlexVoided.
func (x *executor) voidRequest(r *FlexRequest) error {
	for _, c := range r.Commitments {
		if err := x.credit(x.v, c.Owner, c.BondBaseUnits); err != nil {
			return fmt.Errorf("%w: voiding request %d: %v", errInternal, r.ID, err)
		}
		if err := x.releaseSite(x.v, c.Site, r.ID); err != nil {
			return fmt.Errorf("%w: %v", errInternal, err)
		}
	}
	if err := x.credit(x.v, r.Utility, r.EscrowBaseUnits); err != nil {
		return fmt.Errorf("%w: voiding request %d: %v", errInternal, r.ID, err)
	}
	r.Status = FlexVoided
	x.v.store(u64Key(pfxFlexReq, r.ID), r)
	x.emit(Event{Kind: EventFlexCancelled, ID: r.ID, Account: r.Utility, Amount: r.EscrowBaseUnits})
	return x.closeRequest(x.v, r.ID)
}

func (x *executor) settle(r *FlexRequest) error {
	cal := x.calendar(&r.Terms)
	bp := FlexBaselineParams(r.Terms.Rules)
	inputs := make([]FlexInputs, len(r.Commitments))
	for i, c := range r.Commitments {
		var evs siteEvents
		if _, err := x.v.load(append([]byte(pfxEvents), c.Site[:]...), &evs); err != nil {
			return err
		}
		m := baseline.Method(r.Terms.Method)
		from := int64(r.Terms.Start) - (lookbackDays(m, bp)+2)*cal.IntervalsPerDay()
		h, err := loadHistory(x.v, c.Site, from, int64(r.Terms.End), x.params.IntervalSeconds)
		if err != nil {
			return err
		}
		inputs[i] = BuildFlexInputs(&r.Terms, int64(r.PostedInterval), evs.Starts, cal, bp, x.params.FlexGuardIntervals, func(i int64) (int64, int64, int64, int64, bool) {
			k := i - h.first
			if k < 0 || k >= int64(len(h.present)) || !h.present[k] {
				return 0, 0, 0, 0, false
			}
			return h.imp[k], h.exp[k], h.batt[k], h.ev[k], true
		})
		var site Site
		if ok, err := x.v.load(siteKey(c.Site), &site); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: committed site %s missing", errInternal, c.Site)
		}
		inputs[i].SetHistoryStart(int64(site.RegisteredInterval))
	}
	if testHookSettle != nil {
		testHookSettle(r)
	}
	fs, err := SettleFlex(r, inputs, cal, &x.params)
	if err != nil {
		return fmt.Errorf("%w: settling request %d: %v", errSettlement, r.ID, err)
	}
	fs.Height = x.header.Height
	debts, err := x.seasonDebts(r)
	if err != nil {
		return err
	}
	if err := ApplySeason(fs, r, debts, x.params.SeasonOf(x.currentInterval()), &x.params); err != nil {
		return fmt.Errorf("%w: request %d: season: %v", errSettlement, r.ID, err)
	}
	var paid, back uint64
	var deliveredWh uint64
	for i := range fs.Commitments {
		c := &fs.Commitments[i]
		if err := x.recordSeason(fs, c); err != nil {
			return err
		}
		owed, ok := addU(c.PayoutBaseUnits, c.BondReturnedBaseUnits)
		if !ok {
			return fmt.Errorf("%w: %w: payout and bond of %s", errSettlement, ErrOverflow, c.Site)
		}
		if err := x.credit(x.v, c.Owner, owed); err != nil {
			return err
		}
		if err := x.releaseSite(x.v, c.Site, r.ID); err != nil {
			return fmt.Errorf("%w: %v", errInternal, err)
		}
		// The slash and the bond a season debt took go to the utility.
		if err := x.credit(x.v, r.Utility, c.SlashBaseUnits+c.BondTakenBaseUnits); err != nil { // ≤ the bond: fits
			return err
		}
		var ok1, ok2 bool
		paid, ok1 = addU(paid, c.PayoutBaseUnits)
		back, ok2 = sumU(back, c.BondReturnedBaseUnits, c.SlashBaseUnits, c.BondTakenBaseUnits)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: %w: request %d's payouts", errSettlement, ErrOverflow, r.ID)
		}
		if c.DeliveredWh > 0 {
			deliveredWh = satAdd(deliveredWh, uint64(c.DeliveredWh))
			if err := x.addDelivered(c.Site, uint64(c.DeliveredWh)); err != nil {
				return err
			}
		}
		x.emit(Event{Kind: EventFlexPayout, ID: r.ID, Account: c.Owner, Site: c.Site, Amount: c.PayoutBaseUnits, Wh: uint64(max(c.DeliveredWh, 0))})
		// The event's day and the day it was posted on are not baseline
		// days of later requests: between posting and start a site knows
		// of the event and could raise its load to inflate them.
		for _, iv := range []uint64{r.PostedInterval, r.Terms.Start} {
			if err := x.noteEvent(c.Site, iv); err != nil {
				return err
			}
		}
	}
	if err := x.credit(x.v, r.Utility, fs.RefundBaseUnits); err != nil {
		return err
	}
	out, ok1 := sumU(paid, back, fs.RefundBaseUnits)
	held, ok2 := r.heldChecked()
	if !ok1 || !ok2 || out != held {
		return fmt.Errorf("%w: request %d pays out %d of %d held", errSettlement, r.ID, out, held)
	}
	r.Status = FlexSettled
	x.v.store(u64Key(pfxFlexReq, r.ID), r)
	x.v.store(u64Key(pfxFlexSet, r.ID), fs)
	x.emit(Event{Kind: EventFlexSettled, ID: r.ID, Amount: paid, Wh: deliveredWh})
	return x.closeRequest(x.v, r.ID)
}

// noteEvent adds an event window to the site's recent events, so that the
// event's day is not a baseline day of later requests.
func (x *executor) noteEvent(site wallet.Address, start uint64) error {
	key := append([]byte(pfxEvents), site[:]...)
	var evs siteEvents
	if _, err := x.v.load(key, &evs); err != nil {
		return err
	}
	i, found := slices.BinarySearch(evs.Starts, start)
	if !found {
		evs.Starts = slices.Insert(evs.Starts, i, start)
	}
	if len(evs.Starts) > maxSiteEvents {
		evs.Starts = evs.Starts[len(evs.Starts)-maxSiteEvents:]
	}
	x.v.store(key, &evs)
	return nil
}

func (x *executor) addDelivered(site wallet.Address, wh uint64) error {
	var f flexDelivered
	if _, err := x.v.load([]byte(pfxFlexDel), &f); err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(f.Entries, site, func(e flexDeliveredEntry, s wallet.Address) int { return addrCmp(e.Site, s) })
	if found {
		// A weight for the epoch's share, not money: saturate.
		f.Entries[i].Wh = satAdd(f.Entries[i].Wh, wh)
	} else {
		f.Entries = slices.Insert(f.Entries, i, flexDeliveredEntry{Site: site, Wh: wh})
	}
	x.v.store([]byte(pfxFlexDel), &f)
	return nil
}

// payFlexibilityShare pays the flexibility share of an epoch's emission,
// together with whatever the flexibility pool holds from epochs without
// deliveries, to the owners of the sites that delivered in the epoch, in
// proportion to their verified delivered Wh. Rounding remainders stay in
// the pool. With no deliveries, the share waits in the pool.
func (x *executor) payFlexibilityShare(amount uint64) error {
	if err := x.credit(x.v, FlexibilityPool, amount); err != nil {
		return err
	}
	var f flexDelivered
	if _, err := x.v.load([]byte(pfxFlexDel), &f); err != nil {
		return err
	}
	x.emit(Event{Kind: EventFlexibilityShare, Account: FlexibilityPool, Amount: amount})
	// The shares are by Wh; if the total does not fit 64 bits, every
	// weight is shifted right until it does (the same shift for all).
	shift := uint(0)
	var hi, total uint64
	for _, e := range f.Entries {
		var carry uint64
		total, carry = bits.Add64(total, e.Wh, 0)
		hi += carry // at most 2^24 entries: hi cannot overflow
	}
	if hi > 0 {
		shift = uint(bits.Len64(hi))
		total = 0
		for _, e := range f.Entries {
			total += e.Wh >> shift // Σ (w >> s) ≤ (Σ w) >> s < 2^64
		}
	}
	if total == 0 {
		return nil
	}
	pool, err := x.account(x.v, FlexibilityPool)
	if err != nil {
		return err
	}
	budget := pool.Balance
	var paid uint64
	for _, e := range f.Entries {
		share, _ := mulDivU(budget, e.Wh>>shift, total) // weight ≤ total: fits
		var s Site
		if ok, err := x.v.load(siteKey(e.Site), &s); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: delivered site %s missing", errInternal, e.Site)
		}
		if err := x.credit(x.v, s.Owner, share); err != nil {
			return err
		}
		paid += share
		x.emit(Event{Kind: EventFlexReward, Account: s.Owner, Site: e.Site, Amount: share, Wh: e.Wh})
	}
	if err := x.debit(x.v, FlexibilityPool, paid); err != nil {
		return fmt.Errorf("%w: flexibility pool: %v", errInternal, err)
	}
	x.v.del([]byte(pfxFlexDel))
	return nil
}
