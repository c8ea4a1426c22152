// Package p2p is gridmint's network: the one package that imports libp2p.
//
// A Host (New) is a libp2p host whose identity is the node's secp256k1 key
// (the node_key `gridmint init` writes), listening on TCP and QUIC-v1 with
// Noise and yamux, under a resource manager and a connection manager sized
// for a Raspberry Pi 4 with 2 GB (DefaultLimits; config.toml repeats them
// with their reasons). On top of it:
//
//   - Gossip: gossipsub topics /gridmint/<chain id>/{consensus,tx,reading}/1
//     (Join, Publish; Gossip adapts Publish to node.Transport's Broadcast
//     with plain topic ids). A message's id is the SHA-256 of its data, so a
//     duplicate is dropped before any validator runs; envelopes are
//     unsigned because every message is signed by its author. Each topic
//     has a size bound (DefaultMaxMessageBytes) and the node's validator
//     (Accept, Reject, Ignore), which is where node.Node.PreCheck checks
//     the signature once, through the node's one signature cache.
//   - Peer scoring (score.go): gossipsub v1.1 scores after lotus and prysm;
//     an invalid message costs its sender 100 to 500 points, the graylist is
//     at -2500, and a graylisted peer is disconnected and banned by the
//     connection gater. A message the node Ignores as useless by its state
//     (validly signed but unfundable, of an unregistered site) is charged
//     with Penalize to an app-specific score: 20 are free, a flood of them
//     graylists its sender. Ban cuts off a peer a stream protocol caught
//     lying (block sync's OnBan). Loopback addresses are exempt from the
//     IP-colocation penalty, so a testnet on one machine is not penalised.
//   - Discovery (discovery.go): the configured bootstrap peers, dialled at
//     start and redialled with backoff; a Kademlia DHT under the protocol
//     prefix /gridmint/<chain id> with no default bootstrap peers, and a
//     per-chain rendezvous in it; mDNS on the LAN only when Config.MDNS is
//     set. A node never contacts a peer it was not configured with or did
//     not learn from one it was. Port mapping (UPnP, NAT-PMP) only when
//     Config.NATPortMap is set. Config.LoopbackOnly keeps every listen,
//     announced and dialled address on 127.0.0.0/8 and ::1.
//   - Request/response protocols (stream.go): HandleRequests and Request,
//     one length-prefixed frame each way under /gridmint/<chain id>/<name>;
//     LibP2P exposes the host for protocols in other packages (block sync).
//
// PeerIDOf gives a node key's peer id without starting a host (testnet
// init writes bootstrap lists with it).
//
// It does not decode gridmint messages (the validators passed to Join do)
// and knows nothing of package node, which imports it.
//
// Tests run real hosts on 127.0.0.1 with kernel-chosen ports, never mDNS or
// port mapping (their wiring is tested without starting them), and wait on
// conditions with deadlines, never on sleeps; only timers (score
// inspection, discovery, backoff) are shortened for them, through an
// unexported field; the score parameters are the production ones.
// BenchmarkGossip1KiB measures gossip between four hosts.
package p2p
