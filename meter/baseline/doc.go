// Package baseline estimates what a site would have drawn without a
// flexibility request (its counterfactual baseline) and settles a
// commitment against it: delivered Wh, performance, payout, bond slash.
// The ledger and the audit tool `gridmint mv` both call these functions, so
// they agree to the Wh and to the base unit.
//
// # What it does
//
//   - XofY: CAISO-style "X of Y" day matching (default 10 in 10 weekdays,
//     4 in 4 weekend days and holidays, 45-day lookback) with a day-of ratio
//     adjustment from the 3 h ending 1 h before the event, capped at ±20 %.
//   - HighXofY: PJM-style "high X of Y" (default high 4 of 5 weekdays, high
//     2 of 3 weekend/holiday, low-usage days below 25 % dropped) with PJM's
//     symmetric additive adjustment.
//   - DeviceProfile: meter-before/meter-after for one device channel
//     (battery, EV charger): a flat meter-before level under real-time
//     dispatch, else the device's own 10-day profile.
//   - Compute(method, …, Params): the one entry point, so the ledger and
//     the audit tool run the same rules; ParseMethod reads a method name.
//   - Settle and SettleRequest: a signed delta per interval (baseline vs.
//     actual), netted over the whole event and only then floored at zero
//     into delivered Wh; committed Wh, performance in ppm, payout capped by
//     the commitment and by the escrow, bond slashed by an explicit
//     SlashSchedule.
//
// Every function is pure: inputs in, a result with every intermediate number
// out. Results list the days considered, rejected (and why), averaged, the
// sums, the unadjusted average, the adjustment with its raw and capped ratio,
// and the final baseline; settlements list each interval.
//
// # What it does not do
//
// It does not read the chain, the clock, the network or files; it does not
// decide which readings are valid (meter's plausibility checks do: rejected
// readings come here as Missing), nor where slashed bonds go (the ledger
// does). It has no regression or weather-matched baselines.
//
// # Units and rounding
//
// Energy is int64 Wh, power int64 W, money uint64 base units (1 FLX = 10^6),
// ratios int64 ppm (PPM = 10^6 is 1). There is no IEEE 754 arithmetic,
// no maps, no goroutines and no wall clock in the package.
//
// There is one division, divmod128: a 128-bit multiply then divide
// (math/bits). FloorMulDiv (signed) and FloorMulDivU (unsigned) wrap it and
// round toward −∞, also for negative numbers (⌊−7/2⌋ = −4). A test parses
// the package and fails on any other / or % operator. Each method rounds
// once per published quantity, from exact sums, so a spreadsheet with FLOOR
// reproduces every number:
//
//	unadjusted[k] = ⌊Σ_d Wh_d[k] / n⌋
//	ratio (ppm)   = ⌊A·n·10^6 / B⌋, clamped to 10^6 ± cap
//	x-of-y[k]     = ⌊Σ_d Wh_d[k] · ratio / (n·10^6)⌋
//	high-x-of-y[k]= ⌊(Σ_d Wh_d[k]·m + A·n − B) / (n·m)⌋
//	delta[k]      = baseline[k] − actual[k] (down), actual[k] − baseline[k]
//	                (up); exact, signed. A missing reading forfeits
//	                (ForfeitMissing, the ledger's rule): delivered 0, slash
//	                as at performance 0
//	guard         = Σ_k delta[k] over the guard intervals before the window
//	delivered     = max(0, Σ_k delta[k] + min(0, guard))   (one floor at 0,
//	                for the event; k over the window)
//	  with a proof = max(0, min(Σ_k delta[k], Σ_k proven[k]) + min(0, guard))
//	proven[k]     = min(discharge − charge, export − import) (battery, down;
//	                up: min(charge − discharge, import − export))
//	committed     = ⌊W · L / 3600⌋ per interval
//	performance   = ⌊delivered · 10^6 / committed⌋
//	paid Wh       = min(delivered, ⌊committed · cap / 10^6⌋)
//	payout        = ⌊price per kWh · paid Wh / 1000⌋
//	slash         = ⌊bond · (threshold − perf) · maxSlash / (threshold · 10^6)⌋
//	escrow cap    = ⌊claim · escrow / Σ claims⌋ when Σ claims > escrow
//
// where A is the event day's energy over the adjustment window, B the sum
// over the n averaged days of theirs, and m the window's length in
// intervals. There is no per-interval "delivered": an interval above the
// baseline cancels one below it, so an auditor sums the signed deltas (the
// Intervals[k].DeltaWh of a Settlement) and floors the total at 0. The full
// rules are on each function.
//
// # Time
//
// Interval i covers [GenesisUnix + i·L, GenesisUnix + (i+1)·L). Days are
// local days at a fixed UTC offset (Calendar.UTCOffsetSeconds; no time-zone
// database, no DST); weekends are Saturday and Sunday; holidays are a sorted
// list of day numbers supplied by the caller.
//
// # Gaming and missing data
//
// A site learns of an event when the request is posted. No baseline day is
// on or after the local day of posting, and the day-of adjustment is skipped
// unless its window ends by the posting interval, so nothing a site does
// after the posting moves its baseline (TestNoGamingAfterPosting,
// TestPropertyNoGaming). What it draws above its baseline in the guard
// intervals between the posting and the window (pre-charging a battery
// from the grid, pre-heating, inflating a day-of adjustment) is netted
// against the event, so moving energy out of the window into the hours
// just before it pays nothing (Settle, pre-event guard).
//
// A baseline is an estimate, and on one home and one event its error is
// large (bench/mv: 65–80 % relative RMSE for the whole-site methods), so
// the rules above stop gaming but not luck: a home can be paid above what
// it delivered because its baseline came out high. Where the meters prove
// a lower bound on what the site delivered, whatever it would have done
// without the request, settlement pays no more than that proof (Commitment.ProvenWh): for a battery,
// BatteryProvenWh, the battery energy that provably reached the grid (or,
// up, came from it), which a self-consumption battery never moves on its
// own. A battery commitment is then never paid more than it delivered, to
// the meters' resolution (TestBatteryProofBoundsTruth in package meter,
// against the simulator's ground truth). Whole-site commitments have no
// such proof and keep the baseline's noise.
//
// # Missing data never pays
//
// A site chooses which readings it sends, so every rule the ledger uses
// treats a missing reading as the worst case for the site, and
// withholding any set of readings never pays more than sending them all
// (ledger TestPropertyWithholdingNeverPays, bench/mv's withholding pairs):
//
//   - In the event window and the pre-event guard (Commitment.ForfeitMissing):
//     the reading that would pay the site least is the highest load its
//     meter could show (down; up: the lowest). No rule bounds a site's grid
//     import — house load has no nameplate — so that reading floors the
//     event's net at zero whatever the other intervals did. The commitment
//     is Forfeited: nothing delivered or paid, performance 0, the bond
//     slashed as at zero performance (the most the schedule takes), with
//     the reason and the first missing interval in the Settlement. Charging
//     only the interval's commitment (PenalizeMissing, the earlier rule)
//     paid a site to withhold any reading worse than a full miss.
//   - Baseline days (DayMatchParams.StrictMissing, DeviceParams.StrictMissing):
//     the days are chosen by the calendar and the rule as if all data were
//     present — a gap never makes the rule take another day. A gap in an
//     interval a rule reads (a baseline day's window or adjustment hours,
//     the event day's adjustment window, the device's meter-before window)
//     is a *MissingDataError, and the ledger forfeits the commitment the
//     same way (Reason ReasonMissingBaseline or ReasonMissingGuardBaseline).
//     Filling the gap at the site's expense was the alternative; it needs
//     the lowest net load the site could show for a down request (bounded
//     by its PV and battery) and the highest for an up request (unbounded,
//     as above), so it would forfeit up requests anyway and make down ones
//     depend on device lists the audit would also have to carry. One rule
//     for both is simpler to audit and never pays more.
//   - Days before the site's history (Event.HistoryStart: the ledger
//     passes the interval the site registered in, a fact the site cannot
//     move) are not gaps: they are not candidates, and the walk ends there
//     as at the end of the lookback; with too few days the result is
//     *InsufficientDataError and settlement applies the NoBaseline rule
//     (nothing delivered, paid or slashed, bond returned). The start of
//     the history is deliberately not the site's first reading: a site
//     that withheld its oldest readings could then shorten its pool.
//   - The guard is never dropped: where its own baseline has too few
//     eligible days, the ledger lays the window's baseline days on the
//     guard's hours (AverageDays, ReasonGuardFromWindowDays) — the guard
//     still nets what was drawn above it, so the request pays at most what
//     the window alone would; only where the window averaged no days either
//     does it settle by the NoBaseline rule (ReasonNoGuardBaseline), which
//     pays nothing.
//
// Without StrictMissing (the published rules, the placebo bench), days
// with a missing interval are rejected and the next older day taken; with
// too few days a method returns *InsufficientDataError with the count it
// had. Settle without ForfeitMissing counts a missing window reading as 0
// Wh (or −CommittedWhPerInterval with PenalizeMissing), so a site that
// withholds exactly its unfavourable readings is credited the per-interval
// floor Σ max(0, delta) of the rest.
//
// # A randomized control group
//
// A per-home, per-event baseline cannot be made accurate enough by a better
// average: much of its error is the event's own (a hot afternoon, a cloudy
// one), shared by every home in the zone. A request may hold back a random
// share of the committed sites as a control group (the ledger draws the
// split, ControlSplit, from a block after the commitment deadline and
// tells each site before the window). A control site's NetDeltaWh is a
// placebo: the method's error at this event plus the home's noise, since
// nothing was asked of it (Settle, Control rule). ControlEstimate takes a
// trimmed mean of the placebos (a quarter cut from each end, at least one:
// a few control sites cannot move it, TestPropertyControlEstimateRobust),
// and each dispatched site's CorrectionWh is that estimate:
//
//	corrected     = Σ_k delta[k] − estimate                  (window)
//	delivered     = max(0, min(corrected, Σ_k proven[k]) + min(0, guard))
//
// a difference-in-differences. It removes the shared error for day-ahead
// and same-day requests alike; it does not remove each home's own noise
// (that is what netting over a season is for). The correction is additive
// (Wh per site, not a ratio): the whole-site net load of a PV home crosses
// zero, where a ratio would explode. With fewer than MinControlSites
// placebos nothing is corrected. Control sites are paid a fixed
// participation payment the ledger sets at commit time (never more than
// compliance, and small enough that committing without intent to deliver
// expects a loss: see the ledger's control.go), their bond returned; a
// missing reading forfeits them like any site.
//
// # How it is tested
//
//   - Worked examples, to the Wh, for each method and for settlement, with
//     the rules' sources and the hand calculation in the test comments
//     (daymatch_test.go, device_test.go, settle_test.go).
//   - Seeded property tests (math/rand/v2): payouts ≤ escrow; payouts +
//     refund + slashes + bonds returned = escrow + bonds; delivered =
//     max(0, Σ deltas), never more than the per-interval floor, and paid in
//     at most one direction; a home that changes nothing is paid no more
//     than the noise bound in each method's doc; no movement after
//     posting; identical results on repeated runs (props_test.go).
//   - FloorMulDiv against math/big; the one-division rule by AST.
//   - Benchmarks per commitment and for 100,000 commitments (bench_test.go).
//   - Accuracy on a real building's load: `go run ./bench/mv` (placebo
//     events, NMBE and CV(RMSE) per method).
package baseline
