// Package sim runs many consensus engines in one process through a
// simulated network, deterministically from a seed, and checks that the
// algorithm keeps its promises whatever the network and the Byzantine
// validators do.
//
// What it does. Run(scenario, seed) builds N validators (each an Engine
// with its own application, in-memory WAL and clock skew) and drives them
// with a discrete-event loop: message deliveries with random delay (hence
// reordering), loss and duplication; random partitions that heal at GST;
// crashes, some landing part-way through a Ready (a torn WAL write, or the
// WAL durable and only some messages out), followed by restarts that
// rebuild the engine from the application's chain and the WAL; block sync
// between reachable nodes; and Byzantine validators: silent ones,
// equivocating proposers (two valid values, each backed by the proposer's
// votes), double voters (colluding with the proposer's second value), ones
// that send garbage or invalid proposals, and amnesiacs (they prevote for
// the round's proposal against their own lock, and propose fresh values
// instead of their valid value). A node may pause between blocks as
// node.Node does (BlockIntervalMs): it holds what arrives, then ticks its
// engine with the current time and only then calls Advance. Every message crosses the network encoded, so
// the decoders are exercised on every delivery.
//
// What it checks, on every run:
//
//   - safety: no two honest nodes commit different blocks at one height;
//   - no honest node ever signs two different messages for one height,
//     round and type (crashes included), and no evidence names one;
//   - validity: every committed block passes the honest validity rule
//     (right height, a parent commit that VerifyCommit accepts, block time
//     equal to that commit's weighted median and after the parent's) and
//     the node's own commit certificate verifies;
//   - honest nodes never reject one another's signed messages;
//   - liveness: once faults stop (GST), every honest node reaches
//     ExtraHeights beyond the highest height decided at GST within
//     LivenessMs of simulated time;
//   - with RoundZero (scenario "paced": no fault, a 1 s pause between
//     blocks, longer than the propose timeout), every height commits in
//     round 0: Advance before Tick, the engine's clock stale by the pause,
//     would fire the propose timeout at once and fail this.
//
// Scenarios (Scenarios and moreScenarios): healthy, lossy, partition,
// crash, one Byzantine of each kind, colluders and chaos (7 validators),
// epochs (changing sets), amnesia (1 of 4), amnesia-7 (2 of 7) and
// amnesia-colluders (an equivocating proposer and an amnesiac of 7), large-10
// and large-13 (f mixed Byzantine), slow (delays up to 3 s before GST, 7
// validators with an equivocator and an amnesiac) and paced. TestSim also
// checks over many seeds that each one exercised what it is about
// (evidence of double votes and of double proposals, prevotes against a
// lock, decisions in late rounds).
//
// A failure is a *Failure naming the scenario and the seed, with the
// command that reproduces it (-sim.scenario, -sim.seed).
//
// What it does not do: it does not model bandwidth or CPU time, and its
// block sync is an oracle (a node behind a reachable peer gets the next
// block); the multi-process fault tests with real networking are node's.
//
// How to run: `go test ./consensus/sim/` runs a quick set of seeds per
// scenario; `make sim` runs 1,000 (-sim.seeds); -sim.first moves the seed
// range. Benchmarks: `go test -bench . ./consensus/sim/`.
package sim
