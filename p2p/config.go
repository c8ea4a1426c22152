package p2p

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// ErrConfig wraps every configuration error New returns.
var ErrConfig = errors.New("p2p config")

// Config is what a Host is built from. node.P2PConfig (config.toml's [p2p])
// maps onto it one to one; MaxMessageBytes comes from the genesis
// parameters instead.
type Config struct {
	// Listen is the multiaddrs to listen on (TCP and QUIC-v1).
	Listen []string
	// Announce, if not empty, replaces the listen addresses in what the
	// host tells peers (identify, DHT records): a home behind a router
	// with a forwarded port announces the router's public address.
	Announce []string
	// Bootstrap is the peers dialled at start and redialled with backoff
	// while disconnected, each a multiaddr ending in /p2p/<peer id>. They
	// seed the DHT. Nothing else is ever dialled unless learned from them
	// (or from mDNS on the LAN when MDNS is set).
	Bootstrap []string
	// MDNS finds peers on the home LAN (multicast: never in tests).
	MDNS bool
	// NATPortMap asks the home router for a port mapping with UPnP or
	// NAT-PMP (sends to the LAN gateway: never in tests).
	NATPortMap bool
	// MaxPeers bounds connected peers: the connection manager trims above
	// it and discovery stops dialling at it.
	MaxPeers int
	// LoopbackOnly keeps every listen, announced and dialled address in
	// 127.0.0.0/8 (and ::1): testnets, the devnet and CI.
	LoopbackOnly bool
	// Limits size the resource manager.
	Limits Limits
	// MaxMessageBytes bounds a gossip message per topic.
	MaxMessageBytes TopicSizes

	// knobs shortens timers for tests only; nil in production.
	knobs *knobs
}

// Limits are the resource manager's system-wide limits. The defaults
// (DefaultLimits) are sized for a Raspberry Pi 4 with 2 GB of RAM that also
// runs pebble and the node.
type Limits struct {
	// MemoryMiB bounds memory libp2p reserves (stream windows, buffers).
	MemoryMiB int
	// FDs bounds file descriptors libp2p holds (sockets).
	FDs int
	// Conns bounds connections in all states, Inbound those the peer opened.
	Conns        int
	ConnsInbound int
	// Streams bounds streams in total, StreamsPerPeer for one peer.
	Streams        int
	StreamsPerPeer int
}

// DefaultLimits: the reason for each value is in node.ConfigTemplate, which
// repeats them.
func DefaultLimits() Limits {
	return Limits{
		MemoryMiB:      256,  // 1/8 of 2 GB, libp2p's own autoscale fraction
		FDs:            512,  // half of the Pi's default ulimit -n 1024; pebble needs the rest
		Conns:          128,  // max_peers plus room for DHT queries and peers being trimmed
		ConnsInbound:   64,   // a home node is mostly dialled by a few peers
		Streams:        1024, // gossipsub, DHT and block sync use a handful per peer
		StreamsPerPeer: 64,   // one peer cannot take more than 1/16 of the streams
	}
}

// TopicSizes gives a value per gossip topic.
type TopicSizes struct {
	Consensus, Tx, Reading int
}

func (s TopicSizes) of(t TopicID) int {
	switch t {
	case TopicConsensus:
		return s.Consensus
	case TopicTx:
		return s.Tx
	case TopicReading:
		return s.Reading
	}
	return 0
}

// DefaultMaxMessageBytes follows ledger.DefaultParams: a proposal carries a
// whole block (MaxBlockBytes = 4 MiB of transactions) plus its header and
// the previous block's commit certificate (32 validators' precommits, under
// 8 KiB), so consensus gets 4 MiB + 64 KiB; a transaction is at most
// MaxTxBytes = 256 KiB; a reading is 162 bytes (meter.ReadingSize), so
// 1 KiB leaves room for a future version and nothing more. A genesis with
// other parameters should pass its own.
func DefaultMaxMessageBytes() TopicSizes {
	return TopicSizes{Consensus: 4<<20 + 64<<10, Tx: 256 << 10, Reading: 1 << 10}
}

// DefaultConfig is a home node's: all interfaces on port 26656, mDNS and
// port mapping on, 32 peers. Tests use LoopbackConfig.
func DefaultConfig() Config {
	return Config{
		Listen:          []string{"/ip4/0.0.0.0/tcp/26656", "/ip4/0.0.0.0/udp/26656/quic-v1"},
		MDNS:            true,
		NATPortMap:      true,
		MaxPeers:        32,
		Limits:          DefaultLimits(),
		MaxMessageBytes: DefaultMaxMessageBytes(),
	}
}

// LoopbackConfig listens on 127.0.0.1 with ports chosen by the kernel, with
// mDNS and port mapping off: nothing leaves the machine.
func LoopbackConfig() Config {
	return Config{
		Listen:          []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
		MaxPeers:        32,
		LoopbackOnly:    true,
		Limits:          DefaultLimits(),
		MaxMessageBytes: DefaultMaxMessageBytes(),
	}
}

// knobs are timers tests shorten. The production values are in
// defaultKnobs.
type knobs struct {
	inspectEvery   time.Duration // score inspection (graylist disconnects)
	discoverEvery  time.Duration // routing-discovery FindPeers
	advertiseRetry time.Duration // after a failed Advertise
	backoffMin     time.Duration // bootstrap redial backoff
	backoffMax     time.Duration
	banFor         time.Duration // a graylisted peer stays disconnected
	noDHT          bool          // bootstrap links only (line topologies)
	signEnvelopes  bool          // StrictSign instead of StrictNoSign (benchmark comparison)
	newMDNS        func(h *Host) mdnsService
}

func defaultKnobs() knobs {
	return knobs{
		inspectEvery:   time.Second,
		discoverEvery:  30 * time.Second,
		advertiseRetry: 30 * time.Second,
		backoffMin:     time.Second,
		backoffMax:     5 * time.Minute,
		banFor:         30 * time.Minute,
	}
}

// parsed is a validated Config.
type parsed struct {
	listen    []ma.Multiaddr
	announce  []ma.Multiaddr
	bootstrap []peer.AddrInfo
}

// validate parses every address and checks ranges.
func (c *Config) validate() (parsed, error) {
	var p parsed
	var err error
	if p.listen, err = parseAddrs("listen", c.Listen, c.LoopbackOnly); err != nil {
		return p, err
	}
	if len(p.listen) == 0 {
		return p, fmt.Errorf("%w: no listen address left (loopback only: %v)", ErrConfig, c.LoopbackOnly)
	}
	if p.announce, err = parseAddrs("announce", c.Announce, c.LoopbackOnly); err != nil {
		return p, err
	}
	for _, s := range c.Bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return p, fmt.Errorf("%w: bootstrap %q: want a multiaddr ending in /p2p/<peer id>: %v", ErrConfig, s, err)
		}
		if c.LoopbackOnly {
			ai.Addrs = loopbackOnly(ai.Addrs)
			if len(ai.Addrs) == 0 {
				return p, fmt.Errorf("%w: bootstrap %q: not a loopback address and loopback_only is set", ErrConfig, s)
			}
		}
		p.bootstrap = append(p.bootstrap, *ai)
	}
	if c.MaxPeers < 1 || c.MaxPeers > 1000 {
		return p, fmt.Errorf("%w: max_peers %d: want 1..1000", ErrConfig, c.MaxPeers)
	}
	l := c.Limits
	if l.MemoryMiB < 16 || l.FDs < 16 || l.Conns < 2 || l.ConnsInbound < 1 || l.Streams < 16 || l.StreamsPerPeer < 8 {
		return p, fmt.Errorf("%w: limits %+v too small (memory >= 16 MiB, fds >= 16, conns >= 2, streams >= 16, per peer >= 8)", ErrConfig, l)
	}
	s := c.MaxMessageBytes
	if s.Consensus < 1024 || s.Tx < 1024 || s.Reading < 128 {
		return p, fmt.Errorf("%w: max message sizes %+v too small", ErrConfig, s)
	}
	return p, nil
}

// parseAddrs parses multiaddrs; with loopback set, others are dropped.
func parseAddrs(what string, ss []string, loopback bool) ([]ma.Multiaddr, error) {
	var out []ma.Multiaddr
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q: %v", ErrConfig, what, s, err)
		}
		if loopback && !isLoopback(a) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// isLoopback: the address's first component is an IP in 127.0.0.0/8 or ::1.
// DNS names and unspecified addresses (0.0.0.0) are not loopback.
func isLoopback(a ma.Multiaddr) bool {
	ip, err := manet.ToIP(a)
	return err == nil && ip.IsLoopback()
}

func loopbackOnly(as []ma.Multiaddr) []ma.Multiaddr {
	out := make([]ma.Multiaddr, 0, len(as))
	for _, a := range as {
		if isLoopback(a) {
			out = append(out, a)
		}
	}
	return out
}

// loopbackNets is the IP-colocation whitelist: peers on one machine (a
// testnet, the devnet) share 127.0.0.1 by design.
func loopbackNets() []*net.IPNet {
	_, v4, _ := net.ParseCIDR("127.0.0.0/8")
	_, v6, _ := net.ParseCIDR("::1/128")
	return []*net.IPNet{v4, v6}
}
