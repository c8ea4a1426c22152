// Package blocksync lets a node that is behind (new, or back from a power
// cut) fetch decided blocks with their commit certificates from its libp2p
// peers, verify them and apply them in order.
//
// # Protocol
//
// One request per stream on /gridmint/<chain id>/blocksync/1: the client
// writes one frame (a minimal varint length, then the payload) and closes
// its side, the server answers with one frame. A request asks for the
// server's status (the lowest and highest height it serves) or for up to
// Count blocks from height From totalling at most MaxBytes. The answer is a
// status, 1..Count consecutive blocks from exactly From, or an error code
// (bad request, rate limited, busy, not available, internal). wire.go has
// the canonical encodings; the decoders reject trailing bytes, non-minimal
// lengths, unknown tags and out-of-range values, and bound every length
// before allocating (FuzzRequest, FuzzResponse, FuzzReadFrame).
//
// Blocks are opaque bytes here. The server serves a Store (Base, Height,
// Block); in a node a block is the encoded consensus.Message of kind
// MsgDecided that node.ServeBlocks builds. The server limits each peer with
// a token bucket and bounds concurrent streams per peer and in all
// (DefaultServerConfig, sized for a Raspberry Pi).
//
// # Syncer
//
// A Syncer drives an App: Height, Prepare (decode and verify one block; run
// on several goroutines at once, for different heights) and Apply (run on
// one goroutine, strictly in height order from Height()+1). It asks every
// connected peer for its status, then hands out windows of heights round
// robin, several requests in flight per peer, never more than MaxAhead
// beyond the applied height, each request with a deadline. Heights whose
// request failed go back to a pending list and are asked of another peer.
//
// Misbehaviour bans a peer for BanDuration (BanList, and Config.OnBan so the
// node can score it down or disconnect): a block that fails Prepare
// (ErrBadBlock), a response that breaks the protocol or answers another
// range (ErrBadResponse), a status height lower than before or a refusal of
// a height it claimed (ErrLiedHeight). A peer that only times out or
// refuses is not banned (a slow uplink is no proof of malice) but rests
// with exponential back-off, and after MaxFailures failed blocks requests
// in a row its claimed height no longer counts, so a peer that claims more
// than it serves cannot keep the sync from finishing. Prepare may answer
// ErrNotYet for a block it cannot verify before earlier ones are applied
// (a new epoch's validator set); such a block is prepared again later and
// no one is banned for it.
//
// Run returns nil once the app has applied the best height a usable peer
// claims and every usable peer confirmed its status after that. With no
// usable peer it waits, in state StateNoPeers, until one connects.
// Cancelling its context stops every goroutine it started before it
// returns; no App method is called after. Progress and Changed give a
// snapshot and a change notification for a progress bar and `gridmint
// status`.
//
// # What it does not do
//
// It does not decode or verify blocks itself, execute them, persist
// anything, or know validator sets: that is the App's (the node's). It
// does not dial or discover peers (it asks those the host is connected
// to), score them in gossipsub or close connections (OnBan is the hook),
// switch between syncing and consensus, or notice that a following node
// fell behind: the node decides when to Run it. It does not fetch state
// snapshots: every block from the app's height on is fetched and applied.
//
// # Tests
//
// Every test runs real libp2p hosts over TCP on 127.0.0.1 with seeded
// chains signed by secp256k1 validator keys: sync from several peers, a
// peer serving corrupt blocks, one lying about its height, one answering
// another range, one stalling, one claiming more than it serves, no peers
// then one, a chain growing during the sync, cancellation without leaked
// goroutines, and blocks not yet verifiable. BenchmarkSync syncs 6,000
// devnet-sized blocks (a 4-validator commit each, verified with
// consensus.VerifyCommit against precomputed keys) from 3 peers and
// reports blocks/s and CPU time per block.
package blocksync
