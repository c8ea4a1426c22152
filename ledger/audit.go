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
	Match      bool           // byte-identical, and the control split (if any) recomputed equal
	// Split is the control split recomputed from the stored blocks (nil
	// without a control group): see AuditSplit.
	Split *SplitAudit
}

// SplitAudit is a control split recomputed from the chain's blocks alone.
type SplitAudit struct {
	// ClosedHeight is the first block whose interval reached the deadline
	// (checked against its own time and its parent's), ClosedBlockHash its
	// hash, also the PrevBlockHash of block SplitHeight.
	ClosedHeight, SplitHeight uint64
	ClosedBlockHash           [32]byte
	Seed                      [32]byte // FlexControlSeed of that hash
	Control                   []bool   // FlexControlSplit under Seed
	// Match: the heights, the seed and every flag equal what the request
	// stored. Problem says what differed, if anything.
	Match   bool
	Problem string
}

// AuditSplit recomputes request req's control split from the stored
// blocks: which block closed the commitments (by the blocks' own times),
// its hash, the seed and each site's side.
func (l *Ledger) AuditSplit(req *FlexRequest) (*SplitAudit, error) {
	a := &SplitAudit{ClosedHeight: req.ClosedHeight, SplitHeight: req.SplitHeight}
	p, err := l.Params()
	if err != nil {
		return nil, err
	}
	if req.SplitHeight == 0 {
		a.Problem = "no split (the request settled in the block that closed it)"
		a.Match = req.Control == nil && req.Seed == [32]byte{}
		return a, nil
	}
	interval := func(h uint64) (int64, [32]byte, [32]byte, error) {
		b, err := l.Block(h)
		if err != nil {
			return 0, [32]byte{}, [32]byte{}, fmt.Errorf("block %d: %w", h, err)
		}
		ms := b.Header.TimeMs
		sec := floorDiv(ms, 1000)
		iv := floorDiv(sec-l.genesis.GenesisTime, int64(p.IntervalSeconds))
		return iv, b.Hash(), b.Header.PrevBlockHash, nil
	}
	ivClosed, hClosed, _, err := interval(req.ClosedHeight)
	if err != nil {
		return nil, err
	}
	a.ClosedBlockHash = hClosed
	_, _, prevOfSplit, err := interval(req.SplitHeight)
	if err != nil {
		return nil, err
	}
	switch {
	case ivClosed < int64(req.Terms.Deadline):
		a.Problem = fmt.Sprintf("block %d is in interval %d, before the deadline %d", req.ClosedHeight, ivClosed, req.Terms.Deadline)
	case req.SplitHeight != req.ClosedHeight+1 || prevOfSplit != hClosed:
		a.Problem = fmt.Sprintf("block %d does not follow block %d", req.SplitHeight, req.ClosedHeight)
	}
	if a.Problem == "" && req.ClosedHeight > 1 {
		if ivPrev, _, _, err := interval(req.ClosedHeight - 1); err != nil {
			return nil, err
		} else if ivPrev >= int64(req.Terms.Deadline) {
			a.Problem = fmt.Sprintf("block %d, before the closing block %d, already reached the deadline", req.ClosedHeight-1, req.ClosedHeight)
		}
	}
	a.Seed = FlexControlSeed(l.genesis.ChainID, req.ID, hClosed)
	if a.Control, err = FlexControlSplit(req.Commitments, a.Seed, req.Terms.ControlSharePPM); err != nil {
		return nil, err
	}
	if a.Problem == "" && a.Seed != req.Seed {
		a.Problem = "the seed differs from the request's"
	}
	if a.Problem == "" && !slices.Equal(a.Control, req.Control) {
		a.Problem = "the split differs from the request's"
	}
	a.Match = a.Problem == ""
	return a, nil
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
	cal := FlexCalendar(l.genesis.GenesisTime, &p, &req.Terms)
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
	// The control split is recomputed from the blocks, and the settlement
	// recomputed with it (not with the flags the request stored).
	var split *SplitAudit
	settleReq := req
	if req.Terms.hasControl() {
		if split, err = l.AuditSplit(&req); err != nil {
			return nil, err
		}
		if req.SplitHeight != 0 {
			settleReq.Control = split.Control
		}
	}
	fs, err := SettleFlex(&settleReq, inputs, cal, &p)
	if err != nil {
		return nil, err
	}
	fs.Height = chain.Height
	if err := l.auditSeason(&settleReq, &chain, fs, &p); err != nil {
		return nil, err
	}
	return &Audit{Request: req, Chain: chain, Recomputed: *fs, Split: split,
		Match: bytes.Equal(codec.Encode(fs), codec.Encode(&chain)) && (split == nil || split.Match)}, nil
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

// auditSeason applies season netting to fs, a recomputed settlement of
// req stored as chain: the debts from the sites' earlier settlements
// (their DebtAfterBaseUnits, priorDebts), not from what this one stored,
// and the season from the settling block's own time.
func (l *Ledger) auditSeason(req *FlexRequest, chain, fs *FlexSettlement, p *Params) error {
	if p.FlexSeasonDays == 0 {
		return nil
	}
	debts, err := l.priorDebts(req, chain)
	if err != nil {
		return err
	}
	b, err := l.Block(chain.Height)
	if err != nil {
		return fmt.Errorf("block %d: %w", chain.Height, err)
	}
	iv := floorDiv(floorDiv(b.Header.TimeMs, 1000)-l.genesis.GenesisTime, int64(p.IntervalSeconds))
	return ApplySeason(fs, req, debts, p.SeasonOf(iv), p)
}

// priorDebts rebuilds, for each site of req, its outstanding season debt
// when req settled: the DebtAfterBaseUnits of the site's latest earlier
// settlement (at a lower height, or in the same block with a lower id),
// 0 if it had none.
func (l *Ledger) priorDebts(req *FlexRequest, fs *FlexSettlement) ([]uint64, error) {
	type last struct {
		height, id, debt uint64
	}
	latest := map[wallet.Address]last{}
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
		if os.Height > fs.Height || os.Height == fs.Height && id > req.ID || !os.HasSeason {
			continue
		}
		for _, c := range os.Commitments {
			// Ids increase, so a later (height, id) replaces an earlier one.
			if p, seen := latest[c.Site]; !seen || os.Height > p.height || os.Height == p.height && id > p.id {
				latest[c.Site] = last{os.Height, id, c.DebtAfterBaseUnits}
			}
		}
	}
	out := make([]uint64, len(req.Commitments))
	for i, c := range req.Commitments {
		out[i] = latest[c.Site].debt
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
