// Package node wires one gridmint node together: its data directory (the
// ledger's pebble store and the consensus WAL, on the real file system or
// any pebble vfs.FS), a mempool (checked against the current state, per
// sender in nonce order, evicting what the ledger now rejects) and a pool
// of meter readings, block building for the proposer (transactions and
// reading batches up to the size limits), execution and commit through the
// ledger's API (PreVerify, Propose, Execute, Commit), and the consensus
// engine (package consensus) driven by Tick and Deliver. A node enters
// each height from Tick, on the current clock, so that with no faulty
// validator every height commits in round 0. It keeps one signature cache
// (wallet.SigCache) for transactions, readings and votes: the pools, the
// ledger and the consensus verifier check each signature once between
// them, and Node.Sigs counts the secp256k1 work really done.
// PreCheck checks a peer's message's signature into that cache from any
// goroutine, ahead of Deliver (the network's workers and gossip validators
// run it on all cores; Deliver's answers do not change). The consensus WAL
// is compacted every WALCompactEvery heights (64), so a restart replays at
// most that many. NodeConfig.UnsafeNoSync skips every fsync and defers the
// double-sign guard's writes to Close; only the deterministic devnet on a
// temporary directory sets it.
//
// A node reaches other nodes only through Transport: Broadcast a message on
// a topic, and RequestBlocks from a peer for heights it lacks (ServeBlocks
// answers). SimNet is the in-process implementation, in virtual time
// (deterministic by seed, with delays, silenced or detached nodes). P2PNet is the libp2p one (package p2p): the three
// gossip topics, whose validators answer with GossipVerdict (the canonical
// decode and PreCheck, so what a validator accepted is not verified again;
// a consensus message is forwarded only if its signature was checked) and
// the state checks of stateVerdict (a useless transaction or reading is
// not forwarded and is charged to its sender's score),
// the real-time loop that owns the node (P2PNet.Run: one goroutine
// delivers and ticks from the wall clock), and a catch-up request
// (catchup/1, ServeBlocks) behind the BlockSyncer seam; BlockSync fills
// that seam with p2p/blocksync (a server over the decided blocks, a syncer
// that verifies on its goroutines and applies through the node's loop, and
// whose bans the host enforces).
// Service is the node of a data directory as `gridmint run` runs it, with
// its status on the unix socket DIR/gridmint.sock (QueryStatus), where the
// owner also submits signed transactions and readings (PostLocal);
// InitTestnet writes the data directories of a loopback testnet.
// A decided value is the block plus its parent's commit certificate
// (BlockValue); each block's certificate, value and any validator set it
// replaced are stored with it in one batch, so a restarted node resumes
// from its data directory alone.
//
// Devnet runs a whole chain in one process: validators (on SimNet when
// deterministic, else libp2p hosts on loopback on a sped-up clock:
// p2pCluster), the meter
// simulator's homes (each signing its readings with its site key), a
// utility posting flexibility requests, homes committing and following
// dispatches, and a summary that compares the chain's settlements with the
// simulator's truth. `gridmint devnet` is its command line.
//
// Startup checks (NewNode), in order: the consensus WAL opens, or the node
// stops with the *wal.CorruptError (file, offset) and the command that
// repairs it, `gridmint wal repair --home DIR` (RepairWAL); a torn tail
// is cut with a warning. A validator's votes and proposals are signed
// through the double-sign guard in data/sign_state (consensus/privval),
// created on the first start from the last message the WAL says it
// signed; a guard file that does not decode stops the node. If the
// guard's last vote is missing from the WAL (a crash between the guard's
// write and the WAL's sync, or a repair), it is put back, so the engine
// re-sends it instead of being refused. Then the height the node had
// committed (one below the highest height in its WAL or its guard) is
// compared with its ledger's: a ledger below it (a damaged or restored
// store) is logged as an error with both heights and the data directory,
// and the node signs and proposes nothing until block sync has brought
// the ledger back there.
//
// What it does not do: it has no libp2p code of its own (package p2p has
// it), no block sync beyond the catch-up request (p2p/blocksync, at the
// BlockSyncer seam), no HTTP API but the status socket, and no device I/O of its own (the meter package's adapters
// read devices).
//
// Tests: the configuration template names every option and parses back to
// the defaults; the mempool's order and eviction; the decided-value decoder
// (fuzzed); a devnet of one seed gives the same root on two runs and a
// golden root on amd64, arm64 and arm (TestDevnetGoldenRoot, run under qemu
// by `make cross-test`); every signed reading is accepted or rejected with
// a reason; one silent validator of four does not stop the chain, two do
// and it resumes; validators restarted cleanly (TestValidatorRestart) and
// after power cuts on a crash-simulating file system at seeded instants,
// also between a WAL sync and the ledger commit (TestValidatorCrashes: no
// conflicting signature, no evidence, the same roots); a restart after an
// epoch change (TestRestartAfterEpochChange); a WAL corrupt mid-file keeps
// a validator from starting until RepairWAL, with no conflicting
// signature before or after (TestCorruptWALRefusesToStart); power cuts
// right after each sync of the guard (TestGuardCrashes); a ledger replaced
// by an older copy of itself catches up before it signs
// (TestLedgerRollbackCatchesUp); bad input from peers changes nothing and
// is counted; the clock-drift warning; every height commits in round 0
// (TestDevnetOneRoundPerHeight); each reading's and transaction's
// signature is recovered once per validator and nothing is checked outside
// the caches (TestDevnetSignaturesCheckedOnce); SimNet's parallel checks
// give the same run as its event loop alone
// (TestDevnetParallelChecksSameRun); no sync reaches the disk
// with UnsafeNoSync, which a kept devnet refuses (TestUnsafeNoSyncFS,
// TestDevnetUnsafeNoSync); four validators on real libp2p hosts on
// loopback commit with the same roots and a submitted transfer, and a
// stopped one catches up (TestP2PNetCommits, TestP2PNetCatchUp); the
// gossip validators' verdicts and no second recovery after one
// (TestGossipVerdict); testnet init's directories (TestInitTestnet); a
// Service's status socket, clean stop and restart
// (TestServiceRunStatusAndRestart). The multi-process test (four `gridmint
// run` processes, one SIGKILLed and restarted) is cmd/gridmint's
// TestTestnetProcesses, `make testnet-test`.
package node
