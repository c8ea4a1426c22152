// Package site is the homeowner's side of gridmint: the site agent. It
// reads the home's devices (any meter.Device: SunSpec, MQTT, the
// simulator), integrates their samples into interval energies
// (meter.Integrator, one per device channel), builds one reading per
// interval, signs it with the site key (Reading.Sign, the one signing path),
// and hands it to a Sink (the node's reading pool and gossip).
//
// What it guarantees across a restart or a power cut at any instant: a
// reading of a closed interval is never lost and never signed twice. The
// journal (a small pebble store in the agent's directory) holds, in one
// atomic batch per poll, every channel's integrator state, the energies of
// intervals not yet signed, the reading chain's head (counter, hash, last
// signed interval) and an outbox of signed readings not yet handed off.
// A poll that signs a reading commits that batch with fsync before the
// reading leaves the agent, so a signed reading is on disk before anyone
// can have seen it; a poll that signs nothing commits without fsync (an SD
// card is not written through every few seconds), so a power cut loses at
// most the samples since the last signature, and an integrator restored
// from an older state re-emits intervals the chain already signed, which
// the agent drops (at or below the last signed interval). After a restart
// the outbox is handed off again: the same signed bytes, which a pool
// deduplicates, never a new signature for the same interval.
//
// Why pebble and not an fsynced append file: the state is a handful of
// keys rewritten each poll, plus an outbox whose entries come and go; that
// is a key-value store, and pebble gives an atomic, checksummed, fsynced
// batch and recovery from a torn write, which an append file would have to
// re-implement (framing, checksums, truncating a torn tail, compaction of
// an ever-growing file). The node already links pebble for its ledger, so
// it adds no dependency; the agent opens it with a small memtable for a
// Raspberry Pi.
//
// Commitments by policy: Decide (policy.go) applies the owner's Policy
// (directions, baseline methods, most W and bond per request, lowest
// price, quiet hours, battery reserve) to one flexibility request and the
// home's Situation, and returns the FlexCommitTx to send or a typed
// Reason why not. It is a pure integer function; the agent does not yet
// watch the chain's requests or send the transaction.
//
// What it does not do (yet): submit commitments, actuate devices during a
// committed window, or talk to a node; Sink is the seam the node satisfies.
//
// When is an interval signed: once every channel has a sample after it; a
// channel silent for longer than MaxGap is closed (its integrator flushed,
// with the energy it measured before it fell silent), so one dead device
// delays readings by MaxGap and the start of the next interval at most; a
// channel that never answered since the agent opened is waited for
// LateIntervals. Readings are signed in interval order, each chained on
// the last (Counter, PrevHash); an interval nothing measured has no
// reading. A counter is read at the resolution its adapter reports
// (meter.CounterResolution: a SunSpec WH_SF of +1 is 10 Wh).
//
// Time is the caller's: Poll takes the node's clock reading, so tests drive
// the agent sample by sample without sleeping. Run is the loop that polls
// on a ticker.
//
// Tests (agent_test.go): a real Modbus TCP server
// (meter/sunspec/sunspectest) serving a Fronius GEN24 map; readings match the register
// values; a restart mid-interval gives the same readings as an agent that
// never stopped; a sink that fails after signing keeps the reading in the
// outbox and a restarted agent hands off the very same bytes without
// signing again; a power cut (pebble's crashable in-memory filesystem,
// dropping unsynced writes) loses no signed reading and signs no interval
// twice; a device silent for part of the run (TestAgentSilentDevice); a
// 10 Wh counter at a 0.5 s poll (TestAgentCoarseCounter); a day of a
// simulated home opened as the "sim" family against its ground truth
// (sim_test.go). BenchmarkAgentPoll: about 135 µs a poll of five
// channels on a shared 2-core machine. policy_test.go: Decide's commitment (battery energy above the
// reserve over the window, the policy's and the request's limits, the
// ledger's minimum bond, the largest commitment whose bond fits the
// budget), each decline reason, and overflow-free extremes.
package site
