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
// # Flexibility settlement
//
// The proof-of-flexibility rules are in flex.go (requests, commitments,
// the pre-event guard, missing data), control.go (the randomized control
// group) and season.go (netting over a season). Each request settles on
// its own — delivered = max(0, signed delivery), paid per request, bond
// slashed per request — and then season netting applies:
//
//   - a dispatched commitment's signed delivery (the number floored at
//     zero: min(net − control correction, proof) + min(0, guard), a
//     negative proof counting as 0) counts for its site, negative ones
//     too. A negative one, capped at the
//     commitment's payout cap and valued at the request's price, is the
//     site's debt: ⌊price × min(−signed, CapWh) / 1000⌋, the mirror image
//     of the payout, so a site that never responds is owed as much as it
//     is paid in expectation, however its baseline's noise falls;
//   - the debt (what was owed before plus what this request added) is
//     held first against the site's payout in this settlement, then
//     against the bond it would get back, both kept by the utility; the
//     rest carries to the site's later settlements, in any request and any
//     season, and is never forgiven (FlexCommitmentResult's Debt* fields
//     show every step; `gridmint mv` recomputes them from the site's
//     previous settlement);
//   - a season is Params.FlexSeasonDays days of the chain; each site has
//     a statement per season (FlexSeason: its signed Wh, payouts, debts,
//     withheld and taken). FlexSeasonDays 0 turns netting off.
//
// Holidays and local time come from the zone's calendar in the chain
// parameters (Params.ZoneCalendars, FlexCalendar), never from a request:
// terms carrying holidays are refused, as are terms whose UTC offset
// differs from their zone's calendar.
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
// # Arithmetic
//
// No transaction can stop the chain. Every product and sum of quantities
// a user chose — amounts, fees, stake, bonds, deposits, W, Wh, prices,
// window lengths, REC Wh, reading channels — is either bounded first or
// checked (arith.go: addU, mulU, mulDivU, with math/bits); what does not
// fit is refused with ErrOverflow (or the payload's own error wrapping it),
// never wrapped and never a panic. The bounds:
//
//   - a flexibility request (ValidateFlexTerms): TargetW ≤ MaxFlexTargetW
//     (2^40 W), PriceBaseUnitsPerKWh ≤ MaxFlexPrice (2^40), End ≤
//     MaxFlexInterval (2^40), at most FlexMaxWindowIntervals intervals (a
//     day at most), and its escrow (MaxPayoutChecked) must fit 64 bits;
//     a commitment's CommittedW ≤ the request's TargetW;
//   - parameters counted in blocks (unbonding, jail, epoch) ≤ 2^40, so a
//     height plus any of them fits; the genesis supply must fit 64 bits
//     and emission checks it never overflows;
//   - readings: each channel is a uint32 of Wh, so a site's pending and
//     certified Wh grow by under 2^32 a reading, one reading an interval:
//     they fit for 2^32 intervals (over 100,000 years); a reading's
//     interval beyond 2^40 is from the future;
//   - money: every balance, stake, bond, escrow and deposit is part of the
//     supply, so sums of them fit while the supply does; credits, bonds and
//     the settlement's sums are checked anyway (ErrOverflow in a
//     transaction, an internal error at the block's end).
//
// Weights that are not money saturate: a site's delivered Wh for the
// epoch's share, and when their total does not fit 64 bits every weight
// is shifted right by the same amount before the shares are computed.
//
// The bounds that need no state are checked twice: by CheckTx (checkBounds),
// so that the mempool refuses such a transaction with its reason, and by
// execution, so that one forced into a block (a proposer that does not
// check) fails there, paying its fee. gridmint mv applies the same
// checks to offline terms.
//
// # Panics
//
// A panic is a bug, and the ledger contains it where it can do so
// deterministically (the same outcome on every node):
//
//   - in one transaction's payload: the transaction fails with the fixed
//     text of ErrTxPanicked (no stack or address in any receipt or state),
//     pays its fee and uses its nonce; its view is dropped and the
//     executor's counters, supply and events are restored; the panic and
//     its stack go to Options.Log as an Error (the way the Cosmos SDK's
//     runTx recovers);
//   - in a transaction's checks (decoding, signature, nonce, fee): the
//     transaction is refused (CheckTx) or left out (Propose), logged;
//   - in one flexibility request's settlement (or a settlement that
//     cannot be computed): the request is voided, FlexVoided, with its
//     escrow and bonds returned in full, logged;
//   - anywhere else in a block (its beginning or end, the tree): execute
//     logs it with its stack and panics again with ErrBlockPanic, so the
//     node stops with that message. Nothing has been written: Propose and
//     Execute only fill a batch, which is released, and only Commit writes
//     — a whole block or nothing.
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
// and checks the invariants after every block; a property test of
// extreme values (0, 1, max−1, max, 2^k ± 1) in every numeric field of
// every transaction type through CheckTx and execution on two ledgers
// (hostile_test.go), with injected panics in a transaction, a settlement
// and a block's end; determinism (two runs, one
// golden root); fuzz targets for every decoder (testdata/fuzz); a crash
// test that kills a child process while it commits and reopens the store;
// benchmarks for reading batches and blocks of 1,000 and 10,000
// transactions.
package ledger
