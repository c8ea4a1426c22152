package site

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
	"github.com/gridmint/gridmint/meter/baseline"
)

// Policy is the homeowner's rule for committing to flexibility requests
// (the [policy] of config.toml). Its zero value commits to nothing: a home
// takes part only in what its owner allowed.
type Policy struct {
	Directions []baseline.Direction // the directions it commits to
	Methods    []baseline.Method    // the baseline methods it accepts
	// MaxCommitW is the most it commits to one request.
	MaxCommitW uint64
	// MaxBondBaseUnits is the most bond it puts up for one request; the
	// commitment is lowered until the ledger's minimum bond fits.
	MaxBondBaseUnits uint64
	// MinPriceBaseUnitsPerKWh is the lowest price it accepts.
	MinPriceBaseUnitsPerKWh uint64
	// QuietHours are local hours in which it never delivers: a request
	// whose window touches one is declined.
	QuietHours []HourRange
	// BatteryReservePpm is the state of charge the battery keeps for the
	// home (backup in a power cut): a "down" commitment never plans to
	// discharge below it.
	BatteryReservePpm uint32
}

// HourRange is [FromHour, ToHour) in local time, hours 0..24; a range with
// FromHour > ToHour wraps midnight (22 to 6).
type HourRange struct{ FromHour, ToHour uint8 }

func (h HourRange) has(hour uint8) bool {
	if h.FromHour <= h.ToHour {
		return hour >= h.FromHour && hour < h.ToHour
	}
	return hour >= h.FromHour || hour < h.ToHour
}

// Situation is what the agent knows about its home when it decides.
type Situation struct {
	Site             meter.SiteID
	Zone             string
	NowInterval      uint64 // the chain's current interval
	GenesisUnix      int64  // start of interval 0
	UTCOffsetSeconds int32  // the home's local time, for quiet hours
	Params           *ledger.Params
	// Busy are the windows [Start, End) of the site's open commitments: the
	// ledger lets a site commit to one request per interval.
	Busy [][2]uint64
	// What the home can shift: battery power (W) and capacity (Wh) and its
	// state of charge now, and the flexible loads' power (W) it may curtail
	// or add.
	BatteryW, BatteryWh uint64
	BatterySoCPpm       uint32
	FlexibleLoadW       uint64
}

// Reason says why a request was declined; ReasonCommit is no reason.
type Reason uint8

// Reasons, in the order Decide checks them.
const (
	ReasonCommit     Reason = iota // commit: Decision.Tx is the commitment
	ReasonNotOpen                  // cancelled, settled or void
	ReasonWrongZone                // a request for another zone
	ReasonDeadline                 // the commitment deadline has passed
	ReasonAlreadyIn                // the site already committed to it
	ReasonDirection                // the policy does not take this direction
	ReasonMethod                   // or this baseline method
	ReasonPrice                    // the price is below the policy's
	ReasonWindow                   // a window the ledger would not accept
	ReasonQuietHours               // the window touches a quiet hour
	ReasonBusy                     // the site is committed elsewhere in the window
	ReasonFull                     // the request's target is already committed
	ReasonNoCapacity               // the home cannot shift a whole Wh per interval
	ReasonBond                     // no commitment's minimum bond fits the policy's
)

var reasonNames = [...]string{"commit", "not open", "wrong zone", "deadline passed", "already committed",
	"direction", "method", "price too low", "window", "quiet hours", "site busy", "request full", "no capacity", "bond too high"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Decision is the outcome of Decide.
type Decision struct {
	Reason Reason
	Tx     ledger.FlexCommitTx // when Reason is ReasonCommit
}

// Decide applies the policy to one request: a pure function of its
// arguments (integers only, no clock), so that the agent's choices can be
// replayed and tested. The commitment is the most the home can deliver
// over the whole window, within the policy's kW and the request's unmet
// target, with the ledger's minimum bond for it (lowered until that bond
// fits the policy's).
func Decide(p *Policy, r *ledger.FlexRequest, s *Situation) Decision {
	no := func(why Reason) Decision { return Decision{Reason: why} }
	t := &r.Terms
	switch {
	case r.Status != ledger.FlexOpen:
		return no(ReasonNotOpen)
	case t.Zone != s.Zone:
		return no(ReasonWrongZone)
	case s.NowInterval >= t.Deadline:
		return no(ReasonDeadline)
	}
	if _, in := slices.BinarySearchFunc(r.Commitments, s.Site, func(c ledger.FlexCommitment, site meter.SiteID) int {
		return bytes.Compare(c.Site[:], site[:])
	}); in {
		return no(ReasonAlreadyIn)
	}
	dir := baseline.Direction(t.Direction)
	switch {
	case !slices.Contains(p.Directions, dir):
		return no(ReasonDirection)
	case !slices.Contains(p.Methods, baseline.Method(t.Method)):
		return no(ReasonMethod)
	case t.PriceBaseUnitsPerKWh < p.MinPriceBaseUnitsPerKWh:
		return no(ReasonPrice)
	case t.End <= t.Start || t.End-t.Start > uint64(s.Params.FlexMaxWindowIntervals):
		return no(ReasonWindow)
	}
	n := t.End - t.Start
	L := int64(s.Params.IntervalSeconds)
	if len(p.QuietHours) > 0 {
		for k := t.Start; k < t.End; k++ {
			local := s.GenesisUnix + int64(k)*L + int64(s.UTCOffsetSeconds)
			// Both the interval's first and last second: an interval may
			// straddle the hour.
			for _, u := range []int64{local, local + L - 1} {
				hour := uint8(((u%86400 + 86400) % 86400) / 3600)
				for _, q := range p.QuietHours {
					if q.has(hour) {
						return no(ReasonQuietHours)
					}
				}
			}
		}
	}
	for _, b := range s.Busy {
		if b[0] < t.End && t.Start < b[1] {
			return no(ReasonBusy)
		}
	}
	if r.CommittedW >= t.TargetW {
		return no(ReasonFull)
	}
	w := min(p.MaxCommitW, t.TargetW-r.CommittedW, capacityW(p, s, dir, n*uint64(L)))
	minW := 3600 / uint64(L) // the ledger refuses less than 1 Wh per interval (L divides 3600)
	if w < minW {
		return no(ReasonNoCapacity)
	}
	// The ledger's minimum bond grows with w: take the largest w whose bond
	// fits (binary search; bond(w) is monotone).
	bond := func(w uint64) (uint64, bool) {
		most, err := ledger.MaxPayoutChecked(w, n, t.PriceBaseUnitsPerKWh, s.Params)
		if err != nil {
			return 0, false
		}
		hi, lo := bits.Mul64(most, uint64(s.Params.FlexMinBondPpm))
		q, _ := bits.Div64(hi, lo, 1_000_000) // FlexMinBondPpm ≤ 10^6: hi < 10^6
		return q, true
	}
	if b, ok := bond(w); !ok || b > p.MaxBondBaseUnits {
		lo, hi := uint64(0), w // bond(lo) fits (or lo = 0), bond(hi) does not
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if b, ok := bond(mid); ok && b <= p.MaxBondBaseUnits {
				lo = mid
			} else {
				hi = mid
			}
		}
		w = lo
		if w < minW {
			return no(ReasonBond)
		}
	}
	b, _ := bond(w)
	return Decision{Reason: ReasonCommit, Tx: ledger.FlexCommitTx{
		RequestID: r.ID, Site: s.Site, CommittedW: w, BondBaseUnits: b,
	}}
}

// capacityW is the power the home can shift for the whole window of
// windowS seconds: the flexible loads, plus the battery's power as far as
// its energy lasts (down: the energy above the reserve; up: the room below
// full).
func capacityW(p *Policy, s *Situation, dir baseline.Direction, windowS uint64) uint64 {
	w := s.FlexibleLoadW
	if s.BatteryW == 0 || s.BatteryWh == 0 || windowS == 0 {
		return w
	}
	soc := uint64(min(s.BatterySoCPpm, meter.MaxSoCPpm))
	var ppm uint64
	switch dir {
	case baseline.Down:
		if reserve := uint64(p.BatteryReservePpm); soc > reserve {
			ppm = soc - reserve
		}
	case baseline.Up:
		ppm = meter.MaxSoCPpm - soc
	}
	// energy = capacity × ppm / 10^6 Wh; lasting W = energy × 3600 / windowS.
	hi, lo := bits.Mul64(s.BatteryWh, ppm) // ≤ 2^64 · 10^6: hi < 10^6
	energyWh, _ := bits.Div64(hi, lo, 1_000_000)
	hi, lo = bits.Mul64(energyWh, 3600)
	if hi >= windowS {
		return satAdd(w, s.BatteryW)
	}
	lasting, _ := bits.Div64(hi, lo, windowS)
	return satAdd(w, min(s.BatteryW, lasting))
}

func satAdd(a, b uint64) uint64 {
	if s, c := bits.Add64(a, b, 0); c == 0 {
		return s
	}
	return ^uint64(0)
}
