// Package smt is the ledger's authenticated state: a compact sparse Merkle
// tree over the ledger's state keys, kept in the ledger's pebble database,
// whose root is the per-block state root. It computes a new root from a set
// of changes in O(k log n) for k changed keys among n, writes the changed
// nodes into the caller's pebble batch, and proves a key's value (or its
// absence) against the root, so that explorers and light clients can check
// what a node tells them.
//
// # The tree
//
// A key's position is SHA-256(key): 256 bits, read from the most significant
// bit of byte 0. Bit d says whether the key lies left (0) or right (1) of
// the node at depth d. A leaf commits to SHA-256(key) and SHA-256(value).
// The tree is defined by its set of leaves alone; for a set S of leaves whose
// positions share their first d bits, its hash at depth d is
//
//	H(S, d) = EmptyRoot (32 zero bytes)                    if S is empty
//	H(S, d) = SHA-256(0x00 || keyHash || valueHash)        if S = {one leaf}
//	H(S, d) = SHA-256(0x01 || H(S0, d+1) || H(S1, d+1))    otherwise,
//
// where S0 and S1 are the leaves of S with bit d equal to 0 and 1. The root
// is H(all leaves, 0). This is the "compact" sparse Merkle tree, the shape
// of the binary tree behind Diem's and Aptos's Jellyfish Merkle tree (whose
// 16-ary nodes each pack four binary levels; the hashing here is our own,
// so the roots are not Diem's): a subtree that holds one leaf is that leaf, placed at the
// shortest prefix that no other key shares, instead of a chain of 256
// internal nodes. So a tree of n keys has n leaves and n-1 internal nodes
// with two non-empty children; random positions put leaves at depth about
// log2 n (20 for a million keys). Internal nodes with one empty side remain
// where two keys share a prefix longer than their neighbours (about 0.44
// per leaf for random positions: a random trie has about n/ln 2 internal
// nodes). A key can only be forced deep by grinding SHA-256 prefixes, at
// 2^d work for depth d, and never below depth 256.
//
// The leaf tag 0x00 and internal tag 0x01 separate the domains: both inputs
// are 65 bytes, and no byte string is both, so a leaf cannot be presented as
// an internal node or the other way round. The empty subtree is the fixed
// placeholder EmptyRoot, not the hash of anything; the tree with no keys has
// the root EmptyRoot.
//
// # Why this structure
//
// The ledger needs a root that depends on the state only (every validator,
// on amd64 or arm64, whatever order its transactions touched the keys in,
// and whether it replayed from genesis or restored a snapshot, must get the
// same root), cheap updates, and proofs a light client can check with a few
// lines of code.
//
//   - History independence. The root is a function of the set of (key,
//     value) pairs. An IAVL tree (Cosmos) or any balanced search tree has a
//     shape, and so a root, that depends on the order of inserts and
//     deletes; replaying and snapshot restore must then reproduce the exact
//     history of rotations. A Merkle B-tree has the same problem (its
//     splits and merges depend on the order of operations). A Merkle
//     Patricia trie (Ethereum) is history-independent, but its nodes are
//     16-ary with extension nodes, of varying size, its depth follows the
//     raw keys, and its proofs take an RLP decoder to check.
//   - Simple proofs. A proof is the list of sibling hashes on one root-to-
//     leaf path plus what the path ends in; verification is one loop of
//     SHA-256 (see VerifyProof). Absence is proved the same way: the path
//     ends in an empty slot or in another key's leaf.
//   - O(k log n) updates. A batch of k changes walks only the paths to the
//     k keys (shared near the root), reading and rewriting about
//     k·(log2 n − log2 k) + 2k nodes; nothing is rehashed in full.
//   - Hashed positions make the tree balanced for any keys: the ledger's
//     keys share long prefixes ("acct/..."), which in a trie over raw keys
//     would make deep paths.
//   - The price: keys are not in their natural order in the tree, so a
//     range query by key (e.g. all of one account's RECs) is not served by
//     the tree; the ledger keeps its own indexes for that.
//
// # Storage
//
// Everything lives under the prefix given to Open, in the ledger's database;
// no other key of the database may start with that prefix. Under it:
//
//	prefix 'R'                         the root record: version 1, the root
//	                                   slot, the number of keys (uvarint)
//	prefix 'I' path depth              an internal node: version 1, left
//	                                   slot, right slot. path is the node's
//	                                   first depth position bits, padded
//	                                   with zero bits to 32 bytes; depth is
//	                                   one byte (0..255). So a subtree's
//	                                   nodes are contiguous and in pre-order,
//	                                   and a walk down a path or a sorted
//	                                   batch reads neighbouring keys
//	prefix 'L' SHA-256(key)            a leaf record: version 1, key, value
//	                                   (codec byte strings)
//
// A slot is one byte of kind (0 empty, 1 leaf, 2 internal), then for a leaf
// its key hash and value hash (64 bytes), for an internal node its hash (32
// bytes). Internal nodes are found by position, and since only the latest
// version is kept each position holds at most one node: an Apply overwrites
// the nodes on the changed paths, deletes those that no longer exist (a
// subtree that shrank to one leaf folds up into its parent's slot) and
// writes no garbage. Leaf records are keyed by key hash, not by position, so
// a leaf that moves up or down when its neighbours come and go is not
// rewritten, Get is one point lookup, and Iterate is one range scan (in
// key-hash order). Each internal node read is checked against the hash its
// parent holds, so a corrupt or missing record is an ErrCorrupt, never a
// wrong root. The upper 14 levels of internal nodes (at most 16383, about
// 4 MiB) are also kept in memory (cache.go); a cached node is used only if
// its hash is the one its parent's slot expects, so the cache cannot be
// stale and never changes a result. The tree stores values (not only their hashes): the ledger may
// read state through Get, and Prove returns the value with its proof. The
// ledger is free to keep its own copies too.
//
// # Commit protocol
//
// Apply reads only the committed version and never changes the Tree; it
// writes the new version's records into the caller's batch:
//
//	b := db.NewBatch()
//	... the block's own writes ...
//	root, err := tree.Apply(changes, b)  // root goes into the block header
//	err = b.Commit(pebble.Sync)          // the block, state and tree: atomic
//	err = tree.Commit(root)              // publish to Root, Len
//
// pebble applies a batch whole or not at all, also across a crash, so the
// database holds either the old or the new version, never a mix. A batch
// that is abandoned (not committed, or failed) leaves the tree at the old
// version: Commit(root) then returns ErrNotCommitted, since it checks the
// root record in the database. At most one Apply batch may be committed per
// committed version, and the batch must hold no other writes under the
// tree's prefix; Apply returns ErrStale if the database holds a newer
// version than the tree (a batch committed without Commit). After a restart
// Open reads the committed version from the database.
//
// Root and Len return the version published by Commit. Get and Iterate read
// the database (so in the moment between b.Commit and tree.Commit they
// already see the new version); Prove reads through one pebble iterator (a consistent view) and returns
// the root it proved against, so a proof, its value and its root always
// belong together. Only the latest version is kept: proofs are against the
// latest root only (historical proofs would need versioned node keys and
// pruning, and are a later issue).
//
// Changes in one Apply are sorted by key hash before use, so their order in
// the slice cannot change anything; a key named twice is rejected
// (ErrDuplicateKey) rather than resolved by position, which would make the
// order matter. A value must be non-empty (an empty value would be
// indistinguishable from absence in a proof); deleting an absent key is a
// no-op. There are no maps, floats, clocks or goroutines in Apply.
//
// # Proofs
//
// A Proof for key is the sibling hashes along the path to the key's
// position, root first, down to the first slot that is not an internal node,
// and what that slot holds: the key's own leaf (inclusion), another leaf on
// the path (exclusion: the key would be in that slot) or nothing
// (exclusion). Its canonical encoding (codec; see Proof.EncodeTo) is a
// version byte, the depth, a bitmap of non-empty siblings, the non-empty
// siblings, and the terminal leaf's key and value hashes if there is one;
// the decoder rejects every other form. VerifyProof(root, key, value, proof)
// recomputes the root from the terminal slot up; with an empty value it
// checks absence.
//
// # How it is tested
//
// Against pebble on t.TempDir() and on pebble's in-memory filesystems, no
// mocks:
//
//   - the root after each of hundreds of seeded random batches of inserts,
//     updates and deletes equals a reference SMT rebuilt from a sorted map
//     with crypto/sha256 straight from the definition above; a full walk
//     after many batches checks every stored invariant (hashes, compactness,
//     leaf records, and no record left that the tree does not reach);
//   - order independence, delete-to-empty gives EmptyRoot, re-inserting
//     gives the earlier root, keys ground to share 16-bit prefixes (long
//     chains that must fold up on delete), pinned roots;
//   - proofs: inclusion and both kinds of exclusion verify, survive an
//     encode/decode round trip, and fail when any sibling, the terminal, the
//     key, the value or the root is changed; a leaf forged from an internal
//     node's children fails; the decoder rejects non-canonical input, and
//     FuzzProofDecode (corpus in testdata/fuzz) checks decode→encode gives
//     the same bytes;
//   - crash safety: an abandoned batch leaves Root, Get and Prove at the old
//     version; reopening real files gives the committed root; crash images
//     of vfs.NewCrashableMem (with and without unsynced data) hold one
//     whole committed version; a child process SIGKILLed while committing
//     reopens at the last reported version or later;
//   - FuzzApply runs fuzzer-made scripts of batches against the reference
//     root and the store invariants; a concurrent-readers test (Prove, Get
//     and Root during Apply and Commit) runs clean under -race; garbage in
//     the node cache changes no result;
//   - TestKnownRoots pins roots and proof encodings, so scripts/cross-test
//     (qemu linux/arm64 and linux/arm) shows the architectures agree;
//   - benchmarks for Apply, Get, Prove and VerifyProof in bench_test.go.
//
// # Performance
//
// A walk is a few point reads per key below the cached levels. With the
// tree's internal nodes in pebble's block cache, an Apply costs about 30 µs
// per changed key at a million keys on one server core (reads, hashing,
// batch writes); with a 64 MiB block cache, a million keys make about 1.8
// block reads from the file system per changed key and about 50 µs. A
// database for the tree wants bloom filters (ConfigureOptions) and as
// much block cache as the device can give: the internal nodes take about
// 150 bytes per key.
package smt
