package p2p

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmint/gridmint/wallet"
)

// Host is a gridmint node's libp2p host: its transports, gossip topics,
// peer scoring, discovery and stream protocols. Safe for concurrent use.
type Host struct {
	cfg     Config
	k       knobs
	chainID string
	log     *slog.Logger

	h     host.Host
	ps    *pubsub.PubSub
	kdht  *dht.IpfsDHT // nil with knobs.noDHT
	disc  *drouting.RoutingDiscovery
	gater *gater
	cm    *connmgr.BasicConnMgr
	mdns  mdnsService // nil unless cfg.MDNS
	mesh  *meshTracer

	shed   [4]atomic.Uint64 // per TopicID: messages Ignored by the ShedIf test
	shedIf [4]func() bool   // per TopicID: ShedIf's tests (under mu)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu     sync.Mutex
	topics map[TopicID]*joined
	scores map[peer.ID]float64 // last inspection

	oversized [4]atomic.Uint64 // per TopicID: messages rejected for size
	useless   *useless         // the app-specific score (see score.go)
}

// New starts a host with the node key as its libp2p identity (the
// secp256k1 key `gridmint init` writes; the peer id is derived from its
// public key, so it is stable across restarts). It listens, joins no topic
// yet (see Join), dials the bootstrap peers and starts discovery. ctx
// bounds nothing but New itself; Close stops the host.
func New(ctx context.Context, cfg Config, key *wallet.PrivateKey, chainID string, log *slog.Logger) (*Host, error) {
	if err := wallet.ValidateChainID(chainID); err != nil {
		return nil, fmt.Errorf("%w: chain id %q: %v", ErrConfig, chainID, err)
	}
	if key == nil {
		return nil, fmt.Errorf("%w: no node key", ErrConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	k := defaultKnobs()
	if cfg.knobs != nil {
		k = *cfg.knobs
	}
	raw := key.Bytes()
	priv, err := crypto.UnmarshalSecp256k1PrivateKey(raw)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("p2p: node key: %w", err)
	}
	rm, err := newResourceManager(cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	// The connection manager trims to 3/4 of max_peers when above it,
	// sparing connections younger than a minute and the bootstrap peers.
	cm, err := connmgr.NewConnManager(max(1, cfg.MaxPeers*3/4), cfg.MaxPeers, connmgr.WithGracePeriod(grace))
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	g := newGater(cfg.LoopbackOnly)
	lh, err := libp2p.New(hostOptions(&cfg, p, priv, rm, cm, g)...)
	if err != nil { // libp2p.New closed rm and cm
		return nil, fmt.Errorf("p2p: start host: %w", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	h := &Host{
		cfg: cfg, k: k, chainID: chainID, log: log.With("peer", lh.ID().ShortString()),
		h: lh, gater: g, cm: cm, mesh: newMeshTracer(), ctx: hctx, cancel: cancel,
		topics: map[TopicID]*joined{}, scores: map[peer.ID]float64{}, useless: newUseless(),
	}
	fail := func(err error) (*Host, error) {
		_ = h.Close()
		return nil, err
	}
	if !k.noDHT {
		opts := []dht.Option{
			dht.Mode(dht.ModeServer),
			dht.ProtocolPrefix(protocol.ID("/gridmint/" + chainID)),
			dht.DisableValues(), // only peer and provider records
			dht.BootstrapPeers(p.bootstrap...),
		}
		if cfg.LoopbackOnly {
			opts = append(opts, dht.AddressFilter(loopbackOnly))
		}
		if h.kdht, err = dht.New(lh, opts...); err != nil {
			return fail(fmt.Errorf("p2p: dht: %w", err))
		}
		h.disc = drouting.NewRoutingDiscovery(h.kdht)
	}
	if h.ps, err = pubsub.NewGossipSub(hctx, lh, h.pubsubOptions()...); err != nil {
		return fail(fmt.Errorf("p2p: gossipsub: %w", err))
	}
	for _, ai := range p.bootstrap {
		lh.Peerstore().AddAddrs(ai.ID, ai.Addrs, permanent)
		cm.Protect(ai.ID, "bootstrap")
	}
	if err := h.startDiscovery(p.bootstrap); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	h.log.Info("p2p host started", "id", lh.ID(), "addrs", h.Addrs(), "bootstrap", len(p.bootstrap),
		"dht", h.kdht != nil, "mdns", cfg.MDNS, "nat_port_map", cfg.NATPortMap)
	return h, nil
}

// hostOptions is the libp2p configuration: TCP and QUIC-v1, Noise, yamux,
// the resource and connection managers, the gater, and the announced
// addresses. No relay, no metrics registry, no default listen addresses or
// transports (each would open sockets or send packets we did not ask for);
// port mapping only when configured.
func hostOptions(cfg *Config, p parsed, priv crypto.PrivKey, rm network.ResourceManager, cm *connmgr.BasicConnMgr, g *gater) []libp2p.Option {
	announce, loopback := p.announce, cfg.LoopbackOnly
	opts := []libp2p.Option{
		libp2p.Identity(priv),
		libp2p.ListenAddrs(p.listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(g),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("gridmint"),
		libp2p.AddrsFactory(func(as []ma.Multiaddr) []ma.Multiaddr {
			if len(announce) > 0 {
				as = announce
			}
			if loopback {
				as = loopbackOnly(as)
			}
			return as
		}),
	}
	if cfg.NATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	return opts
}

// newResourceManager scales libp2p's default limits to l, then caps the
// system scope at l.
func newResourceManager(l Limits) (network.ResourceManager, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	mem := int64(l.MemoryMiB) << 20
	concrete := scaling.Scale(mem, l.FDs)
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Memory:       rcmgr.LimitVal64(mem),
			FD:           rcmgr.LimitVal(l.FDs),
			Conns:        rcmgr.LimitVal(l.Conns),
			ConnsInbound: rcmgr.LimitVal(l.ConnsInbound),
			Streams:      rcmgr.LimitVal(l.Streams),
		},
		PeerDefault: rcmgr.ResourceLimits{
			Streams: rcmgr.LimitVal(l.StreamsPerPeer),
		},
	}
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(partial.Build(concrete)))
}

// pubsubOptions: gossipsub with unsigned envelopes, content-addressed message
// ids, per-chain topics only, peer scoring and the graylist inspector.
func (h *Host) pubsubOptions() []pubsub.Option {
	names := map[TopicID]string{}
	var list []string
	maxMsg := 0
	for _, t := range allTopics {
		names[t] = h.TopicName(t)
		list = append(list, names[t])
		maxMsg = max(maxMsg, h.cfg.MaxMessageBytes.of(t))
	}
	policy := pubsub.StrictNoSign
	if h.k.signEnvelopes {
		policy = pubsub.StrictSign
	}
	return []pubsub.Option{
		// Envelopes are not signed (as Ethereum's consensus layer does): every
		// gridmint message already carries its author's signature over a
		// type tag and the chain id, which the topic validator checks, so a
		// libp2p signature would be a second secp256k1 signing per message
		// and a second verification per message per hop for nothing; peer
		// scoring charges the peer that sent an invalid message to us, not
		// its claimed author. BenchmarkGossip1KiB measures both policies.
		pubsub.WithMessageSignaturePolicy(policy),
		// Our own messages go to every topic peer with a score above the
		// publish threshold, not only to the mesh (as lotus does; off by
		// default in go-libp2p-pubsub v0.19): a vote or a transaction must
		// not wait for a mesh to form, and a network of homes is small.
		pubsub.WithFloodPublish(true),
		// The id of a message is the SHA-256 of its data: the same
		// transaction, reading or vote relayed by two peers (or by one
		// twice, or re-signed by another author) is seen once, and the
		// second copy is dropped before it reaches a validator.
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			sum := sha256.Sum256(m.Data)
			return string(sum[:])
		}),
		pubsub.WithSubscriptionFilter(pubsub.NewAllowlistSubscriptionFilter(list...)),
		// The RPC frame bound: the largest topic's bound plus room for the
		// envelope (signature, key, topic, control messages).
		pubsub.WithMaxMessageSize(maxMsg + 64<<10),
		pubsub.WithPeerScore(scoreParams(names, h.useless.score), scoreThresholds()),
		pubsub.WithPeerScoreInspect(h.inspect, h.k.inspectEvery),
		// Queues: 32 (the default) drops messages at a few hundred tx/s.
		pubsub.WithValidateQueueSize(1024),
		pubsub.WithPeerOutboundQueueSize(1024),
		pubsub.WithRawTracer(h.mesh),
	}
}

// inspect is called with every peer's score each inspection period. A peer
// below the graylist threshold is already ignored by the router; it is also
// disconnected and banned for knobs.banFor, so it stops costing us a
// connection and cannot come straight back (its score is retained for
// six hours in any case).
func (h *Host) inspect(scores map[peer.ID]float64) {
	h.mu.Lock()
	h.scores = scores
	h.mu.Unlock()
	for p, s := range scores {
		if s >= graylistThreshold || h.gater.isBanned(p) {
			continue
		}
		h.gater.ban(p, h.k.banFor)
		h.log.Warn("peer graylisted: disconnecting", "remote", p, "score", int64(s), "ban", h.k.banFor)
		_ = h.h.Network().ClosePeer(p)
	}
}

// Score is p's gossip score at the last inspection (every second).
func (h *Host) Score(p peer.ID) (float64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.scores[p]
	return s, ok
}

// Penalize records that p sent a message that is well formed and validly
// signed but useless by this node's state, which the topic validator
// answered Ignore (see score.go: a few are free, a flood graylists p).
func (h *Host) Penalize(p peer.ID) {
	if p != h.h.ID() {
		h.useless.add(p)
	}
}

// Ban disconnects p and refuses it in both directions for d: for a peer
// that misbehaved on a stream protocol (block sync: a bad block, a lie
// about its height), which gossip scoring does not see. reason is logged.
func (h *Host) Ban(p peer.ID, d time.Duration, reason error) {
	if p == h.h.ID() || d <= 0 {
		return
	}
	h.gater.ban(p, d)
	h.log.Warn("peer banned: disconnecting", "remote", p, "reason", reason, "ban", d)
	_ = h.h.Network().ClosePeer(p)
}

// Banned reports whether p is banned (graylisted and disconnected).
func (h *Host) Banned(p peer.ID) bool { return h.gater.isBanned(p) }

// ID is this host's peer id.
func (h *Host) ID() peer.ID { return h.h.ID() }

// Addrs are the announced addresses, each ending in /p2p/<id>: what another
// node puts in its bootstrap list.
func (h *Host) Addrs() []string {
	var out []string
	for _, a := range h.h.Addrs() {
		out = append(out, a.String()+"/p2p/"+h.h.ID().String())
	}
	return out
}

// Peers are the peers connected now.
func (h *Host) Peers() []peer.ID { return h.h.Network().Peers() }

// LibP2P is the underlying libp2p host, for stream protocols in other
// packages (p2p/blocksync). Its lifetime is the Host's.
func (h *Host) LibP2P() host.Host { return h.h }

// ChainID is the chain this host's topics and protocols belong to.
func (h *Host) ChainID() string { return h.chainID }

// Close leaves the topics, stops discovery, closes every connection and
// waits for the host's goroutines. Idempotent.
func (h *Host) Close() error {
	var err error
	h.once.Do(func() {
		h.cancel()
		if h.mdns != nil {
			err = errors.Join(err, h.mdns.Close())
		}
		h.mu.Lock()
		for _, j := range h.topics {
			j.sub.Cancel()
		}
		h.mu.Unlock()
		h.wg.Wait()
		h.mu.Lock()
		for _, j := range h.topics {
			_ = h.ps.UnregisterTopicValidator(j.topic.String())
			_ = j.topic.Close()
		}
		h.topics = map[TopicID]*joined{}
		h.mu.Unlock()
		if h.kdht != nil {
			err = errors.Join(err, h.kdht.Close())
		}
		err = errors.Join(err, h.h.Close()) // and the resource and connection managers
	})
	return err
}

// PeerIDOf is the peer id a host with node key key has (New's identity),
// without starting one: `gridmint testnet init` writes each node's
// bootstrap list with it.
func PeerIDOf(key *wallet.PrivateKey) (peer.ID, error) {
	pub, err := crypto.UnmarshalSecp256k1PublicKey(key.Public().Compressed())
	if err != nil {
		return "", fmt.Errorf("p2p: node key: %w", err)
	}
	return peer.IDFromPublicKey(pub)
}
