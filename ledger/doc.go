// Package ledger is gridmint's deterministic state machine: accounts and
// stake, sites and their signed readings, renewable energy certificates
// (RECs) and rewards, kept in pebble under a Merkle state root.
//
// # What it does
//
// A block is a header and a list of signed transactions (Tx: transfer,
// bond, unbond, register/update site, readings, REC transfer, REC retire,
// evidence). The ledger checks each transaction (canonical form, signature
// under TxTag and the chain id, nonce, fee), charges the fee to the
// proposer, and applies the payload in a child view that is merged only if
// the payload succeeds: a failed transaction changes nothing but its fee
// and nonce, and its receipt names the reason (TxErrors). Readings are
// judged one by one (see executor.reading for the rules and RejectReason
// for the reasons); a rejected reading's energy counts for nothing.
//
// After the transactions, the block's end certifies the hours whose
// reading window has closed (one REC per site per hour of accepted PV, in
// whole Wh), pays the epoch's emission at epoch boundaries (validators by
// voting power; the flexibility share through payFlexibilityShare, the hook
// for the proof-of-flexibility rules) and recomputes the validator set (the
// top MaxValidators bonded accounts with a consensus key, not jailed).
//
// # Execution API
//
// The node and the consensus engine use: CheckTx (mempool admission),
// Propose (build the next block from candidates, leaving out what cannot be
// included, and fill in its roots), Execute (re-run a proposed block and
// compare its state root), Commit (write one executed block atomically),
// ValidatorSet, and the queries (Account, Site, REC, Block, Results, Prove).
// Execute and Propose change nothing until Commit. PreVerify, which the
// node calls first, checks a block's signatures on all cores and caches the
// valid ones; it is outside the state transition (a block's result is the
// same with or without it), which itself runs on one goroutine. The cache
// is the node's wallet.SigCache (Options.Sigs, Ledger.Sigs), which the
// node's mempool and reading pool fill too.
//
// # The state root
//
// Every piece of state is one key of a compact sparse Merkle tree
// (ledger/smt): position SHA-256(key), leaves committing to the key and
// SHA-256(value), empty subtrees collapsed. It was chosen over an IAVL tree
// or a Merkle B-tree because its root depends only on the set of keys and
// values, not on the order of the updates that made it (two nodes that
// reached the same state by different paths agree, and a snapshot can be
// checked against a root by rebuilding it); its proofs are a list of
// sibling hashes, for inclusion and for exclusion alike; and an update of k
// keys costs O(k log n) node writes without rebalancing. The header of each
// block carries the state root after the block, so a commit certificate for
// a block also certifies its state.
//
// # Storage
//
// pebble v2 (github.com/cockroachdb/pebble/v2), not v1: v2 is the line
// CockroachDB develops and fixes today, with the current on-disk format,
// while v1 receives only maintenance. Everything of one block — the block,
// its results, the tx/address/site indexes, the state's tree nodes and the
// meta record — goes into one batch committed with Sync. Readers of the
// committed state go through the tree (a leaf is one point lookup).
//
// # Determinism
//
// Integers only (Wh, W, base units, ppm, micro-degrees); divisions round
// toward −∞ (floorDiv, mulDivFloor); no wall clock (time is the block's
// header time, which consensus derives from votes and which must increase);
// no map iteration where order could matter (views sort their writes); no
// goroutines. The same blocks give the same roots on every architecture;
// the tests compare against a golden root kept in testdata, and
// `make cross-test` runs them as linux/arm64 and linux/arm under qemu.
//
// # Invariants
//
//   - Supply: the sum of balances, bonded and unbonding stake and site
//     deposits equals Supply.Genesis + Supply.Emitted after every block.
//     Fees go to the proposer and slashes to the community pool; nothing
//     burns money.
//   - Each Wh of accepted PV is certified once, ever; the Wh of all
//     certificates of a site equals its CertifiedWh.
//   - A retired certificate never changes again.
//   - A crash at any instant reopens at the last committed block: a block,
//     its results, indexes, state and tree nodes are one synced batch.
//
// # Tests
//
// Table tests for each transaction type and each rejection reason; a
// property test that drives random valid and invalid transaction streams
// and checks the invariants after every block; determinism (two runs, one
// golden root); fuzz targets for every decoder (testdata/fuzz); a crash
// test that kills a child process while it commits and reopens the store;
// benchmarks for reading batches and blocks of 1,000 and 10,000
// transactions.
package ledger
