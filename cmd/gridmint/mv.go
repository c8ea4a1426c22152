package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter/baseline"
	"github.com/gridmint/gridmint/node"
)

// errMismatch is returned when an audit disagrees with the chain.
var errMismatch = errors.New("the recomputed settlement differs from the chain's")

func newMVCmd(a *app) *cobra.Command {
	var id uint64
	var all, asJSON, intervals bool
	var csvFile, termsFile string
	cmd := &cobra.Command{
		Use:   "mv",
		Short: "Measurement and verification: recompute flexibility settlements and check them against the chain",
		Long: `mv recomputes the settlement of flexibility requests — baseline, delivered
Wh, performance, payout, slash and refund for every commitment — from the
readings alone, with the same published rules the chain uses, and prints the
whole calculation.

From a node's data directory (--home) it audits settled requests on chain
(--request ID, or --all) and exits with status 1 if any number differs from
the chain's. From a CSV of one site's interval readings (--csv) and a JSON
file with the request's terms (--terms) it computes the settlement offline.

CSV columns: interval,import_wh,export_wh[,battery_charge_wh,battery_discharge_wh,ev_wh]
(interval indexes since genesis; one row per interval; a missing row is a
missing reading). The terms file is JSON:

  {"genesis_time": 1782000000, "interval_seconds": 900, "zone": "CO-DEN",
   "direction": "down", "start": 536, "end": 552, "posted_interval": 512,
   "method": "x-of-y", "channel": "net", "utc_offset_seconds": 0,
   "holidays": [], "rules": {"WeekdayX": 3, "WeekdayY": 3},
   "price_base_units_per_kwh": 200000, "committed_w": 1000,
   "bond_base_units": 100000}

(method: x-of-y, high-x-of-y or device; channel: net, battery or ev; rules,
escrow_base_units, history_start_interval and params are optional.)

Missing data never pays: a missing row in the window or the pre-event
guard, or on a baseline day the rule chose as if all data were present
(from history_start_interval, the interval the site registered in; default
0, the genesis), forfeits the commitment — nothing paid, the bond slashed
as at zero performance — and the output names the reason and the first
missing interval.

A request with a control group (control_share_ppm in its terms) is audited
from the chain alone: mv finds the block that closed the commitments (the
first at the deadline) by the blocks' own times, recomputes the seed from
its hash and each site's side of the split, and prints the control sites'
placebos (their net delta over the window, where nothing was asked), the
trimmed-mean estimate, and each dispatched site's net delta, correction and
corrected delivery. Offline mode (--csv) settles one site and has no
control group.

Season netting (flex_season_days in the chain's params): each request pays
on its own, and a dispatched site's negative signed delivery (the number
its delivered Wh floors at zero) becomes a debt valued at the request's
price, held against this and later payouts first, then against the bond it
would get back. mv prints each site's steps — signed Wh, debt before,
added, withheld from the payout, taken from the bond, debt after — and
recomputes the debt before from the site's previous settlement on chain,
not from what the settlement stored. Offline, debt_before_base_units in the
terms is the site's outstanding debt (default 0).

Holidays come from the zone's calendar in the chain's params
(zone_calendars), never from a request: offline, "holidays" and
"utc_offset_seconds" in the terms describe the zone's calendar.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if csvFile != "" || termsFile != "" {
				if csvFile == "" || termsFile == "" {
					return errors.New("offline mode needs both --csv and --terms")
				}
				return a.mvOffline(csvFile, termsFile, asJSON, intervals)
			}
			if !all && id == 0 {
				return errors.New("give --request ID, --all, or --csv with --terms")
			}
			return a.mvAudit(id, all, asJSON, intervals)
		},
	}
	cmd.Flags().Uint64Var(&id, "request", 0, "audit the settled request with this id")
	cmd.Flags().BoolVar(&all, "all", false, "audit every settled request")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	cmd.Flags().BoolVar(&intervals, "intervals", false, "also print every interval (baseline, actual, delta)")
	cmd.Flags().StringVar(&csvFile, "csv", "", "offline: CSV of one site's interval readings")
	cmd.Flags().StringVar(&termsFile, "terms", "", "offline: JSON file with the request's terms")
	return cmd
}

func (a *app) mvAudit(id uint64, all, asJSON, intervals bool) error {
	paths := node.PathsOf(a.home)
	g, err := ledger.LoadGenesis(paths.Genesis)
	if err != nil {
		return err
	}
	// A copy: the audit works on a read-only home and beside a running
	// node, and never writes to the home (see openLedgerSnapshot).
	l, done, err := openLedgerSnapshot(paths.Ledger, g)
	if err != nil {
		return err
	}
	defer done()
	ids := []uint64{id}
	if all {
		if ids, err = l.SettledRequests(); err != nil {
			return err
		}
	}
	var audits []*ledger.Audit
	bad := 0
	for _, id := range ids {
		au, err := l.AuditRequest(id)
		if err != nil {
			return err
		}
		audits = append(audits, au)
		if !au.Match {
			bad++
		}
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(audits); err != nil {
			return err
		}
	} else {
		for _, au := range audits {
			a.printAudit(au, intervals)
		}
		fmt.Fprintf(a.stdout, "%d settled request(s) audited, %d differ from the chain\n", len(audits), bad)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d: %w", bad, len(audits), errMismatch)
	}
	return nil
}

func directionName(d uint8) string { return baseline.Direction(d).String() }

// statusText is a commitment's status with the reason it was not settled
// by comparing baseline and readings, and the first missing interval of a
// forfeit: "forfeited: missing-guard-reading at 225".
func statusText(m *ledger.FlexCommitmentResult) string {
	st, why := baseline.Status(m.Status), baseline.Reason(m.Reason)
	switch {
	case why == baseline.ReasonNone:
		return st.String()
	case why.Forfeits():
		return fmt.Sprintf("%s: %s at %d", st, why, m.MissingInterval)
	}
	return fmt.Sprintf("%s: %s", st, why)
}

// reasonText explains a status other than settled in a sentence.
func reasonText(m *ledger.FlexCommitmentResult) string {
	why := baseline.Reason(m.Reason)
	switch {
	case why.Forfeits():
		return fmt.Sprintf("forfeited (%s): interval %d has no reading, and a missing reading counts as the worst case for the site — nothing delivered or paid, performance 0, bond slashed as at zero performance (%d of %d)",
			why, m.MissingInterval, m.SlashBaseUnits, m.BondBaseUnits)
	case why == baseline.ReasonNoGuardBaseline:
		return "no baseline for the pre-event guard (too few eligible days for its hours): the guard is never dropped, so the request settles by the no-baseline rule — nothing paid, nothing slashed"
	case why == baseline.ReasonNoBaseline:
		return "no baseline (too few eligible days, or the site's history starts too late): nothing paid, nothing slashed"
	}
	return ""
}

func (a *app) printAudit(au *ledger.Audit, intervals bool) {
	r, c, re := &au.Request, &au.Chain, &au.Recomputed
	verdict := "AGREES with the chain"
	if !au.Match {
		verdict = "DIFFERS from the chain"
	}
	fmt.Fprintf(a.stdout, "request %d: %s, zone %s, %s, window [%d, %d), %d W, %d base units/kWh, settled at height %d — %s\n",
		r.ID, directionName(r.Terms.Direction), r.Terms.Zone, baseline.Method(r.Terms.Method), r.Terms.Start, r.Terms.End,
		r.Terms.TargetW, r.Terms.PriceBaseUnitsPerKWh, c.Height, verdict)
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "site\tstatus\tcommitted Wh\tdelivered Wh (chain)\tdelivered Wh (mv)\tperf ppm\tpayout (chain)\tpayout (mv)\tslash (chain)\tslash (mv)\t")
	for i := range re.Commitments {
		m := &re.Commitments[i]
		var ch ledger.FlexCommitmentResult
		if i < len(c.Commitments) {
			ch = c.Commitments[i]
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", m.Site.Hex()[:10], statusText(m),
			m.CommittedWh, ch.DeliveredWh, m.DeliveredWh, m.PerformancePPM, ch.PayoutBaseUnits, m.PayoutBaseUnits,
			ch.SlashBaseUnits, m.SlashBaseUnits)
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "escrow %d  payouts %d (chain %d)  refund %d (chain %d)  slashed %d (chain %d)\n",
		re.EscrowBaseUnits, re.PayoutsBaseUnits, c.PayoutsBaseUnits, re.RefundBaseUnits, c.RefundBaseUnits,
		re.SlashedBaseUnits, c.SlashedBaseUnits)
	if au.Split != nil {
		a.printControl(au)
	}
	if re.HasSeason {
		a.printSeason(au)
	}
	if intervals {
		for _, m := range re.Commitments {
			a.printIntervals(&r.Terms, &m)
		}
	}
	fmt.Fprintln(a.stdout)
}

// printControl prints a control-group request's split, recomputed from the
// blocks, and its difference-in-differences: each control site's placebo,
// the trimmed mean, and each dispatched site's net delta, correction and
// corrected delivery.
func (a *app) printControl(au *ledger.Audit) {
	r, c, re, sp := &au.Request, &au.Chain, &au.Recomputed, au.Split
	fmt.Fprintf(a.stdout, "control group: share %d ppm, participation %d ppm of compliance\n", r.Terms.ControlSharePPM, r.Terms.ControlPayPPM)
	if r.SplitHeight == 0 {
		fmt.Fprintf(a.stdout, "  no split: the request settled in the block that closed its commitments (height %d); settled without a control group\n", r.ClosedHeight)
		return
	}
	verdict := "AGREES with the chain"
	if !sp.Match {
		verdict = "DIFFERS from the chain: " + sp.Problem
	}
	n := 0
	for _, b := range sp.Control {
		if b {
			n++
		}
	}
	fmt.Fprintf(a.stdout, "  commitments closed in block %d (the first at the deadline, interval %d); split in block %d\n", sp.ClosedHeight, r.Terms.Deadline, sp.SplitHeight)
	fmt.Fprintf(a.stdout, "  closing block hash %x\n", sp.ClosedBlockHash)
	fmt.Fprintf(a.stdout, "  seed (mv)    %x\n  seed (chain) %x\n", sp.Seed, r.Seed)
	fmt.Fprintf(a.stdout, "  control: the %d of %d sites with the lowest SHA-256(rank tag, seed, site) — split %s\n", n, len(sp.Control), verdict)
	var placebos []int64
	for _, m := range re.Commitments {
		if m.Control && baseline.Status(m.Status) == baseline.Control {
			placebos = append(placebos, m.NetDeltaWh)
		}
	}
	slices.Sort(placebos)
	applied := "applied to every dispatched site"
	if !re.ControlApplied {
		applied = fmt.Sprintf("not applied (fewer than %d placebos)", baseline.MinControlSites)
	}
	fmt.Fprintf(a.stdout, "  placebos (control sites' net delta over the window, Wh, sorted): %v\n", placebos)
	fmt.Fprintf(a.stdout, "  estimate: trimmed mean of the middle %d = %d Wh (chain %d Wh), %s\n", re.ControlUsed, re.ControlEstimateWh, c.ControlEstimateWh, applied)
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "site	side	net delta Wh	correction Wh	corrected Wh	delivered Wh	payout	")
	for _, m := range re.Commitments {
		side, corrected := "dispatched", fmt.Sprint(m.NetDeltaWh-m.CorrectionWh)
		if m.Control {
			side, corrected = "control", "-"
		}
		fmt.Fprintf(tw, "%s	%s	%d	%d	%s	%d	%d	\n", m.Site.Hex()[:10], side, m.NetDeltaWh, m.CorrectionWh, corrected, m.DeliveredWh, m.PayoutBaseUnits)
	}
	tw.Flush()
}

// printSeason prints the season netting of a settlement, recomputed
// (the debt before from each site's previous settlement on chain) next
// to what the chain stored.
func (a *app) printSeason(au *ledger.Audit) {
	r, c, re := &au.Request, &au.Chain, &au.Recomputed
	fmt.Fprintf(a.stdout, "season %d (chain %d): a dispatched site's negative signed delivery is a debt of ⌊price × min(−signed Wh, cap Wh) / 1000⌋ = ⌊%d × … / 1000⌋, held against the payout, then the bond returned; the rest carries\n",
		re.Season, c.Season, r.Terms.PriceBaseUnitsPerKWh)
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "site\tsigned Wh\tdebt before (mv)\tdebt before (chain)\tadded\twithheld\tbond taken\tdebt after (mv)\tdebt after (chain)\tpaid\tbond back\tsteps\t")
	for i := range re.Commitments {
		m := &re.Commitments[i]
		var ch ledger.FlexCommitmentResult
		if i < len(c.Commitments) {
			ch = c.Commitments[i]
		}
		ok := "ok"
		if in, out := m.DebtBeforeBaseUnits+m.DebtAddedBaseUnits, m.WithheldBaseUnits+m.BondTakenBaseUnits+m.DebtAfterBaseUnits; in != out ||
			m.DebtBeforeBaseUnits != ch.DebtBeforeBaseUnits || m.DebtAfterBaseUnits != ch.DebtAfterBaseUnits {
			ok = "DIFFERS"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", m.Site.Hex()[:10], m.SeasonNetWh,
			m.DebtBeforeBaseUnits, ch.DebtBeforeBaseUnits, m.DebtAddedBaseUnits, m.WithheldBaseUnits, m.BondTakenBaseUnits,
			m.DebtAfterBaseUnits, ch.DebtAfterBaseUnits, m.PayoutBaseUnits, m.BondReturnedBaseUnits, ok)
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "withheld %d (chain %d) to the refund, bonds taken %d (chain %d) to the utility\n",
		re.WithheldBaseUnits, c.WithheldBaseUnits, re.BondTakenBaseUnits, c.BondTakenBaseUnits)
}

// printIntervals prints one commitment's intervals: first the pre-event
// guard (marked "guard"), then the window. A device request shows its
// channel (a battery's charge and discharge), and a proof-capped one the
// proof of each window interval.
func (a *app) printIntervals(t *ledger.FlexTerms, m *ledger.FlexCommitmentResult) {
	guard := m.GuardIntervals
	fmt.Fprintf(a.stdout, "  site %s: baseline days %v, adjustment applied %v (ratio %d ppm, additive %d Wh)\n",
		m.Site.Hex(), m.SelectedDays, m.AdjustApplied, m.AdjustRatio, m.AdjustNumWh)
	in, out := "import Wh", "export Wh"
	switch t.Channel {
	case ledger.ChannelBattery:
		in, out = "charge Wh", "discharge Wh"
	case ledger.ChannelEV:
		in, out = "charging Wh", "-"
	}
	if baseline.Reason(m.Reason) == baseline.ReasonGuardFromWindowDays {
		fmt.Fprintf(a.stdout, "  the guard's own baseline had too few eligible days: its baseline is the window's baseline days at the guard's hours, unadjusted\n")
	}
	proof := ""
	if m.Proven {
		proof = "proven Wh\t"
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  interval\t\tbaseline Wh\t%s\t%s\tactual Wh\tdelta Wh\t%s\n", in, out, proof)
	first := t.Start - uint64(guard)
	for k, iv := range m.Intervals {
		part := "window"
		if k < int(guard) {
			part = "guard"
		}
		p := ""
		if m.Proven && part == "window" {
			p = fmt.Sprintf("%d\t", iv.ProvenWh)
		}
		actual := iv.ImportWh - iv.ExportWh
		delta := iv.BaselineWh - actual
		if t.Direction == ledger.FlexUp {
			delta = -delta
		}
		if iv.Missing {
			fmt.Fprintf(tw, "  %d\t%s\t%d\tmissing\t\t\t-\t%s\n", first+uint64(k), part, iv.BaselineWh, p)
			continue
		}
		if m.Status != uint8(baseline.Settled) {
			delta = 0
		}
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", first+uint64(k), part, iv.BaselineWh, iv.ImportWh, iv.ExportWh, actual, delta, p)
	}
	tw.Flush()
	if m.Status != uint8(baseline.Settled) {
		fmt.Fprintf(a.stdout, "  %s; delivered %d Wh of %d committed, paid %d Wh\n", reasonText(m), m.DeliveredWh, m.CommittedWh, m.PaidWh)
		return
	}
	if m.Proven {
		fmt.Fprintf(a.stdout, "  proven Wh: the battery energy the site's meters show reached the grid (down: min(discharge − charge, export − import)), or came from it (up)\n")
		fmt.Fprintf(a.stdout, "  window net %d Wh, proven %d Wh, guard net %d Wh → delivered max(0, min(%d, %d) + min(0, %d)) = %d Wh of %d committed (%d ppm), paid %d Wh\n",
			m.NetDeltaWh, m.ProvenNetWh, m.GuardNetWh, m.NetDeltaWh, m.ProvenNetWh, m.GuardNetWh, m.DeliveredWh, m.CommittedWh, m.PerformancePPM, m.PaidWh)
		return
	}
	fmt.Fprintf(a.stdout, "  window net %d Wh, guard net %d Wh → delivered max(0, %d + min(0, %d)) = %d Wh of %d committed (%d ppm), paid %d Wh\n",
		m.NetDeltaWh, m.GuardNetWh, m.NetDeltaWh, m.GuardNetWh, m.DeliveredWh, m.CommittedWh, m.PerformancePPM, m.PaidWh)
}

// offlineTerms is the --terms file: a request as a utility would describe
// it, and the chain rules it settles under.
type offlineTerms struct {
	GenesisTime     int64                `json:"genesis_time"`
	IntervalSeconds uint32               `json:"interval_seconds"`
	Zone            string               `json:"zone"`
	Direction       string               `json:"direction"` // "down" or "up"
	Start           uint64               `json:"start"`
	End             uint64               `json:"end"`
	PostedInterval  uint64               `json:"posted_interval"`
	Method          string               `json:"method"`  // "x-of-y", "high-x-of-y", "device"
	Channel         string               `json:"channel"` // "net" (default), "battery", "ev"
	UTCOffsetSecs   int32                `json:"utc_offset_seconds"`
	Holidays        []int64              `json:"holidays"`
	Rules           ledger.BaselineRules `json:"rules"`
	PriceBaseUnits  uint64               `json:"price_base_units_per_kwh"`
	CommittedW      uint64               `json:"committed_w"`
	BondBaseUnits   uint64               `json:"bond_base_units"`
	EscrowBaseUnits uint64               `json:"escrow_base_units"`      // 0: the most the commitment can be paid
	HistoryStart    uint64               `json:"history_start_interval"` // the site's registration interval (0: genesis)
	DebtBefore      uint64               `json:"debt_before_base_units"` // the site's outstanding season debt
	Params          *ledger.Params       `json:"params"`                 // nil: the default chain rules
}

func (a *app) mvOffline(csvFile, termsFile string, asJSON, intervals bool) (err error) {
	defer func() {
		// Terms are checked before they reach the settlement math; should
		// a bug remain, it is an error message, not a stack trace.
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: internal error settling these terms (a bug, please report it): %v", termsFile, r)
		}
	}()
	data, err := os.ReadFile(termsFile)
	if err != nil {
		return err
	}
	var ot offlineTerms
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ot); err != nil {
		return fmt.Errorf("%s: %w", termsFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the terms object (one JSON object only)", termsFile)
	}
	p := ledger.DefaultParams()
	if ot.Params != nil {
		p = *ot.Params
	}
	if ot.IntervalSeconds != 0 {
		p.IntervalSeconds = ot.IntervalSeconds
	}
	if err := p.Validate(); err != nil {
		return err
	}
	// The terms' holidays and offset are the zone's calendar (holidays
	// never come from a request), unless the params carry one already.
	if _, ok := p.ZoneCalendar(ot.Zone); !ok && len(ot.Holidays) > 0 {
		z := ledger.ZoneCalendar{Zone: ot.Zone, UTCOffsetSeconds: ot.UTCOffsetSecs, Holidays: ot.Holidays}
		i, _ := slices.BinarySearchFunc(p.ZoneCalendars, ot.Zone, func(c ledger.ZoneCalendar, z string) int { return strings.Compare(c.Zone, z) })
		p.ZoneCalendars = slices.Insert(slices.Clone(p.ZoneCalendars), i, z)
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%s: the zone's calendar: %w", termsFile, err)
		}
	}
	t := ledger.FlexTerms{Zone: ot.Zone, Start: ot.Start, End: ot.End, TargetW: ot.CommittedW,
		PriceBaseUnitsPerKWh: ot.PriceBaseUnits, UTCOffsetSeconds: ot.UTCOffsetSecs, Rules: ot.Rules}
	switch ot.Direction {
	case "down":
		t.Direction = ledger.FlexDown
	case "up":
		t.Direction = ledger.FlexUp
	default:
		return fmt.Errorf("%s: direction %q: want down or up", termsFile, ot.Direction)
	}
	m, err := baseline.ParseMethod(ot.Method)
	if err != nil {
		return fmt.Errorf("%s: %w", termsFile, err)
	}
	t.Method = uint8(m)
	switch ot.Channel {
	case "", "net":
	case "battery":
		t.Channel = ledger.ChannelBattery
	case "ev":
		t.Channel = ledger.ChannelEV
	default:
		return fmt.Errorf("%s: channel %q: want net, battery or ev", termsFile, ot.Channel)
	}
	if ot.Start >= ot.End || ot.PostedInterval > ot.Start || ot.CommittedW == 0 {
		return fmt.Errorf("%s: need start < end, posted_interval <= start and committed_w > 0", termsFile)
	}
	// The chain's own checks of the terms (bounds included: the most the
	// commitment can be paid must fit 64 bits).
	if err := ledger.ValidateFlexTerms(&t, &p, ot.GenesisTime); err != nil {
		return fmt.Errorf("%s: %w", termsFile, err)
	}
	rows, err := readReadingsCSV(csvFile)
	if err != nil {
		return err
	}
	escrow := ot.EscrowBaseUnits
	req := ledger.FlexRequest{ID: 0, Terms: t, PostedInterval: ot.PostedInterval,
		Commitments: []ledger.FlexCommitment{{CommittedW: ot.CommittedW, BondBaseUnits: ot.BondBaseUnits}}}
	if escrow == 0 {
		if escrow, err = ledger.MaxPayoutChecked(ot.CommittedW, ot.End-ot.Start, ot.PriceBaseUnits, &p); err != nil {
			return fmt.Errorf("%s: %w", termsFile, err)
		}
	}
	req.EscrowBaseUnits = escrow
	cal := ledger.FlexCalendar(ot.GenesisTime, &p, &t)
	if err := cal.Validate(); err != nil {
		return err
	}
	in := ledger.BuildFlexInputs(&t, int64(ot.PostedInterval), nil, cal, ledger.FlexBaselineParams(ot.Rules), p.FlexGuardIntervals,
		func(i int64) (int64, int64, int64, int64, bool) {
			r, ok := rows[i]
			return r[0], r[1], r[2] - r[3], r[4], ok
		})
	if ot.HistoryStart > ot.Start {
		return fmt.Errorf("%s: history_start_interval %d after the window start %d", termsFile, ot.HistoryStart, ot.Start)
	}
	in.SetHistoryStart(int64(ot.HistoryStart))
	fs, err := ledger.SettleFlex(&req, []ledger.FlexInputs{in}, cal, &p)
	if err != nil {
		return err
	}
	if err := ledger.ApplySeason(fs, &req, []uint64{ot.DebtBefore}, p.SeasonOf(int64(ot.End)), &p); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(fs)
	}
	au := &ledger.Audit{Request: req, Chain: *fs, Recomputed: *fs, Match: true}
	fmt.Fprintf(a.stdout, "offline settlement (%d readings from %s)\n", len(rows), csvFile)
	a.printAudit(au, intervals)
	return nil
}

// readingsCSVHeader is the CSV's header; the last three columns are optional.
var readingsCSVHeader = []string{"interval", "import_wh", "export_wh", "battery_charge_wh", "battery_discharge_wh", "ev_wh"}

// maxCSVWh bounds every value of the CSV (2^40 Wh is far above any meter).
const maxCSVWh = 1 << 40

// readReadingsCSV reads interval,import_wh,export_wh[,battery_charge_wh,
// battery_discharge_wh,ev_wh]. Every value must be a non-negative integer;
// an interval may appear once.
func readReadingsCSV(path string) (map[int64][5]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseReadingsCSV(path, f)
}

// parseReadingsCSV is readReadingsCSV on an open file; name is used in
// errors.
func parseReadingsCSV(name string, in io.Reader) (map[int64][5]int64, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	want := readingsCSVHeader
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, expected a header line %s (the last three columns optional) and one row per interval",
			name, strings.Join(want, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(header) < 3 || len(header) > len(want) || !slices.Equal(header, want[:len(header)]) {
		return nil, fmt.Errorf("%s: header must be %s (the last three optional)", name, strings.Join(want, ","))
	}
	cols := len(header)
	out := map[int64][5]int64{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != cols {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", name, line, len(rec), cols)
		}
		var v [6]int64
		for i, s := range rec {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || n < 0 || n > maxCSVWh {
				return nil, fmt.Errorf("%s:%d: %s %q is not a non-negative integer of at most %d", name, line, want[i], s, int64(maxCSVWh))
			}
			v[i] = n
		}
		if _, dup := out[v[0]]; dup {
			return nil, fmt.Errorf("%s:%d: interval %d appears twice", name, line, v[0])
		}
		out[v[0]] = [5]int64{v[1], v[2], v[3], v[4], v[5]}
	}
}
