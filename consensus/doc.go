// Package consensus decides gridmint's blocks with Tendermint's BFT
// algorithm ("The latest gossip on BFT consensus", Buchman, Kwon,
// Milosevic 2018, Algorithm 1), written as a pure state machine in the
// style of etcd's raft.
//
// # What it does
//
// An Engine holds the paper's state for one validator: height, round, step,
// lockedValue/lockedRound, validValue/validRound. It is driven by three
// inputs, all from the caller:
//
//   - Step(msg): a proposal, a vote or a decided block (value + commit) from
//     a peer or from block sync;
//   - Tick(nowMs): the caller's clock, in Unix milliseconds; timeouts that
//     are due fire (propose, prevote, precommit, each growing linearly with
//     the round) and the engine re-broadcasts its own messages;
//   - Start(nowMs, walEntries): the first call, with the WAL after a crash.
//
// and produces one output, Ready: WAL entries to persist (fsynced before
// anything else when they include a message this validator signed),
// messages to broadcast, decisions to apply (a value with its commit
// certificate), evidence (duplicate votes, duplicate proposals), and local
// errors to log. The
// caller does all of that and calls Advance; only then does the engine move
// to the next height, so the application has committed height h before it
// is asked to propose or validate at h+1.
//
// Each upon-rule of Algorithm 1 is one block of code, named by its line
// numbers (engine.go: ruleDecide is line 49, ruleRoundSkip line 55,
// ruleCurrentRound lines 22-48, onTimeout lines 57-67, startRound lines
// 11-21). 2f+1 means more than two thirds of the voting power, f+1 more
// than one third. Votes are counted as the paper counts messages: a
// validator that sends different votes to different peers counts towards
// each hash it voted for (and is reported as evidence), so honest nodes
// that saw different halves still agree on proofs-of-lock. A proposer that
// signs two different proposals for one round is reported too (the first
// one received is kept).
//
// Around the engine:
//
//   - Vote, Proposal, Commit, DuplicateVoteEvidence,
//     DuplicateProposalEvidence, Message and WALEntry have one canonical
//     binary encoding (package codec). The first byte of an evidence
//     encoding names its kind (1 duplicate vote, 2 duplicate proposal);
//     DecodeEvidence reads either. Duplicate-proposal evidence holds the
//     two signed parts (value hash, not value), so it is small. Votes and
//     proposals are signed with typed signatures (wallet.SignTyped) under
//     the tags "gridmint/vote/v1" and "gridmint/proposal/v1" and the chain
//     id, with height and round in the signed body, so no signature can be
//     replayed as another kind of message, at another height or round, or
//     on another chain.
//   - VerifyCommit checks a commit certificate against a validator set:
//     pure, for block sync, light clients and the ledger.
//     Commit.TimeMs is the block time: the power-weighted median of the
//     precommit timestamps, so no single clock decides it. Every node's
//     commit holds a possibly different set of precommits, so the agreed
//     time of block h is that of the commit that block h+1 embeds (the
//     application gets lastCommit in ProposeValue), as in CometBFT; the
//     engine dates its precommit for a value after that value's time
//     (BlockTimer), so block times strictly increase.
//   - VerifyEvidence is the pure function the node hands the ledger to
//     check evidence of either kind before slashing: chain id, encoded
//     evidence and the accused validator's key in, offender and height
//     out (VerifyDuplicateVoteEvidence accepts duplicate votes only). The
//     ledger punishes one offence per key and height once, whatever its
//     kind.
//   - ValidatorSet, with the proposer schedule: weighted round robin
//     (Tendermint's proposer priorities, restarted at each epoch), so a
//     validator proposes in proportion to its power. TopN and EpochSets
//     build the set of each epoch from the ledger's stakes (top N, N from
//     genesis), taken after the last block of the previous epoch.
//   - WAL is the log interface; consensus/wal is the file implementation.
//     On Start the engine first restores every message it signed at the
//     current height, then replays the received messages and timeouts. It
//     never signs a second vote or proposal for a height, round and type it
//     has signed before: it re-sends the first. Its lock is restored from
//     its own signed precommits even if received messages were lost.
//     A log damaged before a synced record is a *wal.CorruptError, never
//     silently cut (see consensus/wal for what counts as a torn tail).
//   - consensus/privval is the double-sign guard, independent of the WAL:
//     a Signer wrapping the key that persists the last signed height,
//     round and step (SignedStep orders a body: proposal, prevote,
//     precommit) before it returns a signature, and refuses anything at
//     or below it but the very message signed there, whatever the WAL
//     lost or a repair dropped. The node wraps its consensus key in it.
//
// # What it does not do
//
// No I/O, no goroutines, no clock reads, no randomness, no floats, no map
// iteration: the same inputs give the same outputs on every machine. It
// knows nothing of the ledger, p2p or storage; it is handed an Application
// (propose a value, validate a value), ValidatorSets, a Signer and a
// Verifier. Values are opaque bytes identified by SHA-256. It does not
// gossip: it broadcasts, and relies on the network (and on its periodic
// re-broadcast of its own messages and of proof-of-lock prevotes) for
// eventual delivery. It does not fetch missing blocks: block sync hands it
// MsgDecided. It does not slash: it reports evidence.
//
// # How it is tested
//
//   - paper_test.go: one data-driven script per rule of Algorithm 1
//     (harness_test.go has the script language), like etcd raft's
//     raft_paper_test.go; rules_test.go: the conditions those scripts
//     left unchecked (line 28 with lockedRound > vr and = vr, line 28's
//     own-lock and valid(v), line 34's 2f+1, lines 36 and 44 only from
//     step prevote, line 36's valid(v), line 55's target round, line 57's
//     step guard, the 2f+1 and f+1 boundaries) and restarts from only the
//     signed WAL entries (lock, round, step and own votes restored).
//   - Mutation testing (make mutate, scripts/mutate-consensus): each
//     condition of each rule, each lock and valid-value update, each part
//     of the WAL restore and each threshold is removed or inverted in turn
//     and must make a test fail; MUTATIONS.md has the latest table (which
//     test kills which mutation) and the mutations left out as
//     equivalent.
//   - crash_test.go: the validator is killed after each WAL write of a
//     reference run, restarted from that prefix and pushed by everyone
//     else towards another value; it never signs anything that conflicts
//     with what it signed before, keeps its lock, and with the full WAL
//     is back exactly where it was.
//   - types_test.go: signature domains, rejection of non-canonical
//     encodings, commit verification, BFT time, evidence, proposer
//     schedule, top-N and epochs; fuzz targets for every decoder, with
//     seed corpora in testdata/fuzz.
//   - consensus/sim: a deterministic, seeded simulation of 4 to 13
//     validators with message delay (also far beyond the timeouts before
//     GST), reordering, loss, duplication, partitions, crashes (also
//     part-way through a Ready), a node's pause between blocks and
//     Byzantine validators (silent, equivocating proposers, double voters,
//     garbage, invalid proposers, amnesiacs that ignore their lock),
//     checking safety, validity, liveness and, with no fault, one round
//     per height; `make sim` runs 1,000 seeds per scenario. Benchmarks
//     live there too.
package consensus
