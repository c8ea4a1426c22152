package ledger

import (
	"crypto/sha256"
	"fmt"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/wallet"
)

// The randomized control group (issue 17). A request may ask for one
// (FlexTerms.ControlSharePPM). The split cannot be known by any site when
// it commits, and anyone can redo it from the chain:
//
//   - In the first block whose interval reaches the deadline, commitments
//     close (no commit or cancel is accepted from then on) and the request
//     records ClosedHeight.
//   - In the next block the seed is drawn from the hash of block
//     ClosedHeight — a block made after every commitment was final, whose
//     hash no committer could know when it signed: Seed = SHA-256(tag,
//     chain id, request id, that hash) (FlexControlSeed).
//   - Each committed site's rank is SHA-256(tag, seed, site); the
//     ⌊n · share / 10^6⌋ lowest ranks are the control group
//     (baseline.ControlSplit). The rank depends on the site and the seed
//     only: not on the order, the time, the size or the bond of any
//     commitment.
//   - The block emits EventFlexDispatched or EventFlexControl per
//     commitment: control sites are told, before the window (the deadline
//     is before the start), that they are not dispatched.
//   - At settlement each control site's window is settled as a placebo
//     (baseline.Control status): what the method would call its delivery,
//     though none was asked. Their trimmed mean (baseline.ControlEstimate:
//     a quarter cut from each end, so a few control sites cannot move it)
//     is the method's error at this event, and it is subtracted from every
//     dispatched site's NetDeltaWh before the proof cap, the guard and the
//     floor at zero: a difference-in-differences that removes the event's
//     weather and day-of effects.
//
// Compensation. A control site gives up the chance to be paid for
// delivering, and its readings are what makes the correction possible, so
// it is paid a participation payment from the escrow: ControlPayPPM of
// what exact compliance would pay its commitment (controlPayment), fixed at
// commit time and independent of its readings — nothing a control site
// does changes it, except that a missing reading forfeits it (and slashes
// the bond, as for any site: a control site that stops reporting would
// otherwise leave the estimate at will). Its bond is returned in full. The
// payment is bounded twice (validateControl): at most compliance, so a
// site never prefers control to delivering; and share · pay ≤ (1 − share)
// · minimum bond · slash, so a site that commits intending not to deliver
// expects to lose at least as much when dispatched as it expects to gain
// when control: committing is no lottery. What a non-responder can still be
// paid by the noise of its own baseline when dispatched is not bounded
// here; season netting (season.go) is for that.
//
// Known limit: the proposer of block ClosedHeight chooses its contents and
// time, so it could try several blocks to steer the hash (as with any
// block-hash randomness); a VRF or commit-reveal beacon would close that.

// Signature/hash domains of the control split.
const (
	flexControlSeedTag = "gridmint/flex-control-seed/v1"
	flexControlRankTag = "gridmint/flex-control-rank/v1"
)

// FlexControlSeed is the seed of request id's control split: SHA-256 of
// the canonical encoding of the tag, the chain id, the request id and the
// hash of the block that closed its commitments (block ClosedHeight).
func FlexControlSeed(chainID string, requestID uint64, closedBlockHash [32]byte) [32]byte {
	var e codec.Encoder
	e.String(flexControlSeedTag)
	e.String(chainID)
	e.Uint64(requestID)
	e.Fixed(closedBlockHash[:])
	return sha256.Sum256(e.Bytes())
}

// flexControlRank is a site's rank under a seed.
func flexControlRank(seed [32]byte, site wallet.Address) [32]byte {
	var e codec.Encoder
	e.String(flexControlRankTag)
	e.Fixed(seed[:])
	e.Fixed(site[:])
	return sha256.Sum256(e.Bytes())
}

// FlexControlSplit is the control split of commitments under seed with a
// share of sharePPM: control[i] for commitments[i].
func FlexControlSplit(commitments []FlexCommitment, seed [32]byte, sharePPM uint32) ([]bool, error) {
	rank := make([][32]byte, len(commitments))
	for i, c := range commitments {
		rank[i] = flexControlRank(seed, c.Site)
	}
	return baseline.ControlSplit(rank, int64(sharePPM))
}

// controlPayment is a control commitment's participation payment:
// ⌊⌊price × min(CommittedWh, CapWh) / 1000⌋ × ControlPayPPM / 10^6⌋, where
// the first factor is what the commitment is paid for exact compliance
// (performance 10^6), the same floors as baseline.Settle.
func controlPayment(c *FlexCommitment, t *FlexTerms, p *Params) (uint64, error) {
	per, ok := mulDivU(c.CommittedW, uint64(p.IntervalSeconds), 3600)
	if !ok {
		return 0, ErrOverflow
	}
	wh, ok := mulU(per, t.End-t.Start)
	if !ok {
		return 0, ErrOverflow
	}
	capWh, ok := mulDivU(wh, uint64(p.FlexPayoutCapPpm), 1_000_000)
	if !ok {
		return 0, ErrOverflow
	}
	full, ok := mulDivU(t.PriceBaseUnitsPerKWh, min(wh, capWh), 1000)
	if !ok {
		return 0, ErrOverflow
	}
	pay, ok := mulDivU(full, uint64(t.ControlPayPPM), 1_000_000)
	if !ok {
		return 0, ErrOverflow
	}
	return pay, nil
}

// controlStep runs a control request's split steps in each block before
// settlement: it closes the request in the first block at the deadline,
// and splits it in the next. It reports whether it changed r (stored).
func (x *executor) controlStep(r *FlexRequest) error {
	if !r.Terms.hasControl() || r.SplitHeight != 0 || r.Status != FlexOpen {
		return nil
	}
	if r.ClosedHeight == 0 {
		if x.currentInterval() < int64(r.Terms.Deadline) {
			return nil
		}
		r.ClosedHeight = x.header.Height
		x.v.store(u64Key(pfxFlexReq, r.ID), r)
		return nil
	}
	if x.header.Height != r.ClosedHeight+1 {
		return fmt.Errorf("%w: request %d closed at %d, not split by %d", errInternal, r.ID, r.ClosedHeight, x.header.Height)
	}
	r.SplitHeight = x.header.Height
	r.Seed = FlexControlSeed(x.l.genesis.ChainID, r.ID, x.header.PrevBlockHash)
	control, err := FlexControlSplit(r.Commitments, r.Seed, r.Terms.ControlSharePPM)
	if err != nil {
		return fmt.Errorf("%w: request %d: control split: %v", errInternal, r.ID, err)
	}
	r.Control = control
	x.v.store(u64Key(pfxFlexReq, r.ID), r)
	for i, c := range r.Commitments {
		kind := EventFlexDispatched
		if control[i] {
			kind = EventFlexControl
		}
		x.emit(Event{Kind: kind, ID: r.ID, Account: c.Owner, Site: c.Site})
	}
	return nil
}

// Side reports what the chain told site about request r: whether the
// request has been split yet, and whether the site is in its control
// group (not dispatched). A site without a commitment is neither.
func (r *FlexRequest) Side(site wallet.Address) (split, control bool) {
	if r.SplitHeight == 0 {
		return false, false
	}
	for i, c := range r.Commitments {
		if c.Site == site {
			return true, r.Control[i]
		}
	}
	return true, false
}
