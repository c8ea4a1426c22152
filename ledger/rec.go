package ledger

import (
	"fmt"
	"unicode/utf8"

	"github.com/gridmint/gridmint/wallet"
)

// issueREC certifies a site's pending hour: one certificate for its whole
// Wh, owned by the site's owner.
//
// Invariant (each Wh certified once, ever): a Wh enters PendingWh once,
// when its reading is accepted, and leaves it here, once; a reading for an
// hour that was certified can never be accepted (readings arrive in
// interval order, and the sweep waits for the hour's window to close).
func (x *executor) issueREC(v *view, id wallet.Address, s *Site) error {
	if s.PendingWh == 0 {
		return nil
	}
	start := x.l.genesis.GenesisTime + int64(s.PendingHour)*3600
	r := REC{
		ID: x.chain.NextRECID, Owner: s.Owner, Site: id, Zone: s.Zone, Technology: TechSolarPV,
		PeriodStart: start, PeriodEnd: start + 3600, Wh: s.PendingWh, IssuedHeight: x.header.Height,
	}
	x.chain.NextRECID++
	v.store(u64Key(pfxREC, r.ID), &r)
	s.CertifiedWh += s.PendingWh
	s.PendingWh = 0
	x.emit(Event{Kind: EventRECIssued, Account: s.Owner, Site: id, ID: r.ID, Wh: r.Wh})
	return nil
}

// sweepRECs certifies every hour whose reading window has closed at this
// block's time: no reading of that hour can be accepted any more.
func (x *executor) sweepRECs() error {
	secs := int64(x.params.IntervalSeconds)
	window := int64(x.params.ReadingWindowIntervals) * secs
	for {
		h := x.chain.NextRECHour
		hourEnd := x.l.genesis.GenesisTime + int64(h+1)*3600
		// Same comparison as the stale rule: a reading of the hour's last
		// interval is stale exactly when hourEnd + window < block time.
		if hourEnd+window >= x.timeSec {
			return nil
		}
		for shard := byte(0); shard < recShards; shard++ {
			key := recQueueKey(h, shard)
			var q addressList
			ok, err := x.v.load(key, &q)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			for _, id := range q.Addrs {
				var s Site
				if ok, err := x.v.load(siteKey(id), &s); err != nil {
					return err
				} else if !ok {
					return fmt.Errorf("%w: queued site %s missing", errInternal, id)
				}
				if s.PendingWh > 0 && s.PendingHour == h {
					if err := x.issueREC(x.v, id, &s); err != nil {
						return err
					}
					x.v.store(siteKey(id), &s)
				}
			}
			x.v.del(key)
		}
		x.chain.NextRECHour++
	}
}

func (x *executor) ownedREC(v *view, from wallet.Address, id, wh uint64) (*REC, error) {
	var r REC
	ok, err := v.load(u64Key(pfxREC, id), &r)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %d", ErrUnknownREC, id)
	case r.Owner != from:
		return nil, fmt.Errorf("%w: %d is owned by %s", ErrNotRECOwner, id, r.Owner)
	case r.Retired:
		return nil, fmt.Errorf("%w: %d", ErrRECRetired, id)
	case wh == 0 || wh > r.Wh:
		return nil, fmt.Errorf("%w: %d of %d", ErrRECAmount, wh, r.Wh)
	}
	return &r, nil
}

// split takes wh off certificate r (which keeps its id and the rest) into a
// new certificate owned by owner. Moving all of r just changes its owner.
//
// Invariant: the Wh of a certificate and of all certificates split from it
// always sum to the Wh issued.
func (x *executor) split(v *view, r *REC, wh uint64, owner wallet.Address) *REC {
	if wh == r.Wh {
		r.Owner = owner
		return r
	}
	child := *r
	child.ID = x.chain.NextRECID
	x.chain.NextRECID++
	child.Parent = r.ID
	child.Owner = owner
	child.Wh = wh
	r.Wh -= wh
	v.store(u64Key(pfxREC, r.ID), r)
	return &child
}

func (x *executor) recTransfer(v *view, from wallet.Address, p *RECTransfer, rc *Receipt) error {
	if p.To == from {
		return ErrSelfTransfer
	}
	r, err := x.ownedREC(v, from, p.ID, p.Wh)
	if err != nil {
		return err
	}
	moved := x.split(v, r, p.Wh, p.To)
	v.store(u64Key(pfxREC, moved.ID), moved)
	rc.addresses = append(rc.addresses, p.To)
	return nil
}

func (x *executor) recRetire(v *view, from wallet.Address, p *RECRetire) error {
	if len(p.Beneficiary) == 0 || !utf8.ValidString(p.Beneficiary) {
		return ErrBadBeneficiary
	}
	for _, c := range p.Beneficiary {
		if c < 0x20 || c == 0x7f {
			return ErrBadBeneficiary
		}
	}
	r, err := x.ownedREC(v, from, p.ID, p.Wh)
	if err != nil {
		return err
	}
	retired := x.split(v, r, p.Wh, from)
	retired.Retired = true
	retired.Beneficiary = p.Beneficiary
	retired.RetiredHeight = x.header.Height
	v.store(u64Key(pfxREC, retired.ID), retired)
	return nil
}
