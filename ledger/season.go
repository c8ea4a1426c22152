package ledger

import (
	"fmt"
	"math"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// Settlement over a season (issue 17). A baseline's error on one home and
// one event is large, and the floor at zero of each event's delivery
// turns that noise into money: a site that never responds is paid
// whenever its noise falls above the baseline and charged nothing when it
// falls below. Season netting takes the floor out of the site's balance:
//
//   - Each request still settles and pays on its own (baseline.Settle:
//     delivered = max(0, …), payout per request, slash per request).
//   - A dispatched commitment that settled adds its signed delivery to the
//     site's season, SeasonNetWh = min(NetDeltaWh − CorrectionWh,
//     max(ProvenNetWh, 0) if proven) + min(0, GuardNetWh): the number
//     that was floored, except that a negative proof (a battery that
//     discharged into a house still importing) is no debt — a proof
//     bounds a delivery from below, and proves nothing when negative. Where it is negative, its magnitude, capped as a payout
//     is (CapWh), is valued at the request's price and becomes the site's
//     debt: DebtAddedBaseUnits = ⌊price × min(−SeasonNetWh, CapWh) /
//     1000⌋, the mirror image of the payout, so that for a site whose
//     signed delivery is noise around zero the payouts and the debts have
//     the same expectation.
//   - The debt (the site's outstanding debt before this settlement plus
//     what this one added) is held first against this settlement's
//     payout (WithheldBaseUnits: not paid, it stays with the utility in
//     the refund), then against the bond the settlement would return
//     (BondTakenBaseUnits, to the utility). What is left,
//     DebtAfterBaseUnits, is held against the site's later payouts and
//     bonds, in every request it commits to.
//   - Control sites (placebos, nothing was asked of them), forfeited
//     commitments (already slashed as at zero performance) and requests
//     without a baseline add no debt, but their payout and bond are held
//     against an outstanding debt like any.
//
// A season is Params.FlexSeasonDays days of the chain (from the genesis);
// the season of a settlement is that of the settling block's interval.
// Each site has a statement per season (FlexSeason: what it was paid,
// owed, had withheld and taken), and the debt carries from one season to
// the next: a debt is never forgiven, so waiting for a season to end
// cannot clear it. A site that stops committing keeps its debt; its bonds
// already paid what they could.
//
// So over a season a site is paid Σ payouts − Σ debts (as far as its
// payouts and bonds cover them): its net delivery valued at the price,
// which is zero in expectation for a site that never responds, whatever
// its noise (bench/mv -season measures it). The per-request slash still
// applies on top, so a non-responder loses its bonds' slashes.
//
// Determinism: integers only, commitments in the request's (site) order,
// requests in the block's settlement order (increasing id); the state is
// one FlexSeason record per (site, season) and one siteDebt per site with
// an outstanding debt. `gridmint mv` recomputes every step (ApplySeason)
// from the site's previous settlement's DebtAfterBaseUnits.

// FlexSeason is a site's statement for one season: the sums over its
// settlements whose block fell in the season.
type FlexSeason struct {
	Site        wallet.Address
	Season      uint64
	Settlements uint32 // commitments of the site settled in the season
	// NetWh is Σ SeasonNetWh (saturating): the site's signed delivery over
	// the season's dispatched requests.
	NetWh int64
	// PaidBaseUnits is Σ payouts after withholding; DebtInBaseUnits the
	// debt carried in from earlier seasons (outstanding at the season's
	// first settlement); DebtAdded, Withheld, BondTaken the sums of the
	// settlements'; DebtBaseUnits the debt outstanding after the season's
	// latest settlement.
	PaidBaseUnits                                        uint64
	DebtInBaseUnits, DebtAddedBaseUnits                  uint64
	WithheldBaseUnits, BondTakenBaseUnits, DebtBaseUnits uint64
}

func (f *FlexSeason) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Fixed(f.Site[:])
	e.Uint64(f.Season)
	e.Uint32(f.Settlements)
	e.Int64(f.NetWh)
	for _, v := range []uint64{f.PaidBaseUnits, f.DebtInBaseUnits, f.DebtAddedBaseUnits, f.WithheldBaseUnits, f.BondTakenBaseUnits, f.DebtBaseUnits} {
		e.Uint64(v)
	}
}

func (f *FlexSeason) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	d.Fixed(f.Site[:])
	f.Season = d.Uint64()
	f.Settlements = d.Uint32()
	f.NetWh = d.Int64()
	for _, p := range []*uint64{&f.PaidBaseUnits, &f.DebtInBaseUnits, &f.DebtAddedBaseUnits, &f.WithheldBaseUnits, &f.BondTakenBaseUnits, &f.DebtBaseUnits} {
		*p = d.Uint64()
	}
}

// siteDebt is a site's outstanding debt and the season of its latest
// settlement; the key exists only while the debt is not zero.
type siteDebt struct {
	Season        uint64
	DebtBaseUnits uint64
}

func (s *siteDebt) EncodeTo(e *codec.Encoder) {
	e.Uint8(1)
	e.Uint64(s.Season)
	e.Uint64(s.DebtBaseUnits)
}

func (s *siteDebt) DecodeFrom(d *codec.Decoder) {
	d.Version(1)
	s.Season = d.Uint64()
	s.DebtBaseUnits = d.Uint64()
	if d.Err() == nil && s.DebtBaseUnits == 0 {
		d.Failf("site debt record with no debt")
	}
}

func seasonKey(site wallet.Address, season uint64) []byte {
	return u64Key(pfxFlexSeason+string(site[:]), season)
}

func siteDebtKey(site wallet.Address) []byte { return append([]byte(pfxFlexDebt), site[:]...) }

// seasonConsistent checks a commitment's season arithmetic: before + added
// = withheld + taken + after, exactly.
func (c *FlexCommitmentResult) seasonConsistent() bool {
	in, ok1 := addU(c.DebtBeforeBaseUnits, c.DebtAddedBaseUnits)
	out, ok2 := sumU(c.WithheldBaseUnits, c.BondTakenBaseUnits, c.DebtAfterBaseUnits)
	return ok1 && ok2 && in == out
}

// seasonNetWh is the signed delivery of a settled dispatched commitment:
// the number its DeliveredWh floors at zero, except that a proof only
// caps it from above. A proof is a lower bound of what reached the grid
// when it is positive; a negative one (a battery discharging at full
// power into a house that still imports) proves nothing, and is no debt.
// The negative side comes from the baseline alone.
func seasonNetWh(c *FlexCommitmentResult) int64 {
	if c.Status != uint8(baseline.Settled) || c.Control {
		return 0
	}
	net := c.NetDeltaWh - c.CorrectionWh
	if c.Proven {
		net = min(net, max(c.ProvenNetWh, 0))
	}
	return net + min(0, c.GuardNetWh)
}

// ApplySeason applies season netting to a settlement fs of request r
// (SettleFlex's result): debtsBefore[i] is the outstanding debt of the
// site of r.Commitments[i] before this settlement, season the season of
// the settling block. It sets every commitment's season fields, lowers
// payouts and returned bonds by what the debt takes, and keeps the
// totals: payouts + refund = escrow, bonds returned + slashed + taken =
// bonds. It is the one function the ledger and `gridmint mv` call. With
// netting off (FlexSeasonDays 0) it does nothing.
func ApplySeason(fs *FlexSettlement, r *FlexRequest, debtsBefore []uint64, season uint64, p *Params) error {
	if p.FlexSeasonDays == 0 {
		return nil
	}
	if len(debtsBefore) != len(fs.Commitments) || len(fs.Commitments) != len(r.Commitments) {
		return fmt.Errorf("ledger: season: %d debts for %d commitments", len(debtsBefore), len(fs.Commitments))
	}
	fs.HasSeason, fs.Season = true, season
	fs.WithheldBaseUnits, fs.BondTakenBaseUnits = 0, 0
	for i := range fs.Commitments {
		c := &fs.Commitments[i]
		c.SeasonNetWh = seasonNetWh(c)
		c.DebtBeforeBaseUnits, c.DebtAddedBaseUnits = debtsBefore[i], 0
		if c.SeasonNetWh < 0 {
			neg := uint64(max(c.CapWh, 0))
			if c.SeasonNetWh > math.MinInt64 && -c.SeasonNetWh < c.CapWh {
				neg = uint64(-c.SeasonNetWh)
			}
			added, ok := mulDivU(r.Terms.PriceBaseUnitsPerKWh, neg, 1000)
			if !ok {
				return fmt.Errorf("%w: season debt of %d Wh at %d base units per kWh", ErrOverflow, neg, r.Terms.PriceBaseUnitsPerKWh)
			}
			c.DebtAddedBaseUnits = added
		}
		// A debt is a claim, not money in the supply: it saturates.
		debt := satAdd(c.DebtBeforeBaseUnits, c.DebtAddedBaseUnits)
		if debt == math.MaxUint64 {
			c.DebtAddedBaseUnits = debt - c.DebtBeforeBaseUnits
		}
		c.WithheldBaseUnits = min(debt, c.PayoutBaseUnits)
		c.PayoutBaseUnits -= c.WithheldBaseUnits
		debt -= c.WithheldBaseUnits
		c.BondTakenBaseUnits = min(debt, c.BondReturnedBaseUnits)
		c.BondReturnedBaseUnits -= c.BondTakenBaseUnits
		c.DebtAfterBaseUnits = debt - c.BondTakenBaseUnits
		// The totals: payouts ≤ escrow and bonds are sums of 64-bit money.
		fs.PayoutsBaseUnits -= c.WithheldBaseUnits
		fs.RefundBaseUnits += c.WithheldBaseUnits
		fs.BondsReturn -= c.BondTakenBaseUnits
		fs.WithheldBaseUnits += c.WithheldBaseUnits
		fs.BondTakenBaseUnits += c.BondTakenBaseUnits
	}
	return nil
}

// seasonDebts loads the outstanding debt of each committed site.
func (x *executor) seasonDebts(r *FlexRequest) ([]uint64, error) {
	out := make([]uint64, len(r.Commitments))
	for i, c := range r.Commitments {
		var d siteDebt
		if _, err := x.v.load(siteDebtKey(c.Site), &d); err != nil {
			return nil, err
		}
		out[i] = d.DebtBaseUnits
	}
	return out, nil
}

// recordSeason adds a settled commitment to its site's season statement
// and stores the site's outstanding debt.
func (x *executor) recordSeason(fs *FlexSettlement, c *FlexCommitmentResult) error {
	if !fs.HasSeason {
		return nil
	}
	key := seasonKey(c.Site, fs.Season)
	var st FlexSeason
	ok, err := x.v.load(key, &st)
	if err != nil {
		return err
	}
	if !ok {
		st = FlexSeason{Site: c.Site, Season: fs.Season, DebtInBaseUnits: c.DebtBeforeBaseUnits}
	}
	st.Settlements++
	st.NetWh = satAddI(st.NetWh, c.SeasonNetWh)
	st.PaidBaseUnits = satAdd(st.PaidBaseUnits, c.PayoutBaseUnits)
	st.DebtAddedBaseUnits = satAdd(st.DebtAddedBaseUnits, c.DebtAddedBaseUnits)
	st.WithheldBaseUnits = satAdd(st.WithheldBaseUnits, c.WithheldBaseUnits)
	st.BondTakenBaseUnits = satAdd(st.BondTakenBaseUnits, c.BondTakenBaseUnits)
	st.DebtBaseUnits = c.DebtAfterBaseUnits
	x.v.store(key, &st)
	if c.DebtAfterBaseUnits == 0 {
		x.v.del(siteDebtKey(c.Site))
	} else {
		x.v.store(siteDebtKey(c.Site), &siteDebt{Season: fs.Season, DebtBaseUnits: c.DebtAfterBaseUnits})
	}
	return nil
}

// satAddI is a + b, saturating at the int64 bounds.
func satAddI(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// FlexSeason returns a site's statement for a season.
func (l *Ledger) FlexSeason(site wallet.Address, season uint64) (FlexSeason, bool, error) {
	var s FlexSeason
	ok, err := l.state().load(seasonKey(site, season), &s)
	return s, ok, err
}

// SiteDebt returns a site's outstanding season debt (0 when none).
func (l *Ledger) SiteDebt(site wallet.Address) (uint64, error) {
	var d siteDebt
	_, err := l.state().load(siteDebtKey(site), &d)
	return d.DebtBaseUnits, err
}
