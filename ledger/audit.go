package ledger

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/wallet"
)

// Audit is the result of recomputing a settled request from the chain.
type Audit struct {
	Request    FlexRequest
	Chain      FlexSettlement // what the chain stored
	Recomputed FlexSettlement // what the audit computed
	Match      bool           // byte-identical
}

// AuditRequest recomputes the settlement of request id the way an outside
// auditor would: from the individual accepted readings (not the day pages
// the ledger itself read), with the site's prior events rebuilt from the
// other settled requests, through the same published rules (BuildFlexInputs,
// SettleFlex). It reports whether the result equals what the chain stored.
func (l *Ledger) AuditRequest(id uint64) (*Audit, error) {
	req, ok, err := l.FlexRequest(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: request %d", ErrNotFound, id)
	}
	chain, ok, err := l.FlexSettlement(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: request %d is not settled (status %d)", ErrNotFound, id, req.Status)
	}
	p, err := l.Params()
	if err != nil {
		return nil, err
	}
	prior, err := l.priorEvents(&req, &chain)
	if err != nil {
		return nil, err
	}
	cal := flexCalendar(l.genesis.GenesisTime, p.IntervalSeconds, &req.Terms)
	bp := FlexBaselineParams(req.Terms.Rules)
	inputs := make([]FlexInputs, len(req.Commitments))
	for i, c := range req.Commitments {
		var readErr error
		site := c.Site
		inputs[i] = BuildFlexInputs(&req.Terms, int64(req.PostedInterval), prior[site], cal, bp, p.FlexGuardIntervals,
			func(iv int64) (int64, int64, int64, int64, bool) {
				if iv < 0 || readErr != nil {
					return 0, 0, 0, 0, false
				}
				r, ok, err := l.Reading(site, uint64(iv))
				if err != nil {
					readErr = err
				}
				if !ok || err != nil {
					return 0, 0, 0, 0, false
				}
				return int64(r.GridImportWh), int64(r.GridExportWh),
					int64(r.BatteryChargeWh) - int64(r.BatteryDischargeWh), int64(r.EVWh), true
			})
		if readErr != nil {
			return nil, readErr
		}
		s, ok, err := l.Site(site)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: site %s of request %d", ErrNotFound, site, id)
		}
		inputs[i].SetHistoryStart(int64(s.RegisteredInterval))
	}
	fs, err := SettleFlex(&req, inputs, cal, &p)
	if err != nil {
		return nil, err
	}
	fs.Height = chain.Height
	return &Audit{Request: req, Chain: chain, Recomputed: *fs,
		Match: bytes.Equal(codec.Encode(fs), codec.Encode(&chain))}, nil
}

// priorEvents rebuilds, for each site of req, the event intervals the
// ledger knew when it settled req: the starts and posting intervals of the
// requests the site was committed to that settled earlier (at a lower
// height, or in the same block with a lower id), the latest maxSiteEvents.
func (l *Ledger) priorEvents(req *FlexRequest, fs *FlexSettlement) (map[wallet.Address][]uint64, error) {
	out := map[wallet.Address][]uint64{}
	for id := uint64(1); ; id++ {
		if id == req.ID {
			continue
		}
		other, ok, err := l.FlexRequest(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if other.Status != FlexSettled {
			continue
		}
		os, _, err := l.FlexSettlement(id)
		if err != nil {
			return nil, err
		}
		if os.Height > fs.Height || os.Height == fs.Height && id > req.ID {
			continue
		}
		for _, c := range other.Commitments {
			out[c.Site] = append(out[c.Site], other.PostedInterval, other.Terms.Start)
		}
	}
	for site, starts := range out {
		slices.Sort(starts)
		starts = slices.Compact(starts)
		if len(starts) > maxSiteEvents {
			starts = starts[len(starts)-maxSiteEvents:]
		}
		out[site] = starts
	}
	return out, nil
}

// SettledRequests lists the ids of every settled request.
func (l *Ledger) SettledRequests() ([]uint64, error) {
	var ids []uint64
	for id := uint64(1); ; id++ {
		r, ok, err := l.FlexRequest(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return ids, nil
		}
		if r.Status == FlexSettled {
			ids = append(ids, id)
		}
	}
}
