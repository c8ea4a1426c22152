package node

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/gridmint/gridmint/meter"
	_ "github.com/gridmint/gridmint/meter/adapters" // the device families that [[device]] names
	"github.com/gridmint/gridmint/wallet"
)

// Config is a node's configuration, read from DIR/config.toml. Every field
// appears, commented, in ConfigTemplate, which `gridmint init` writes; a test
// keeps the two in step.
type Config struct {
	// ChainID names the chain this node joins; it is inside every signature.
	ChainID string `toml:"chain_id"`
	// Moniker is a human-readable name for this node in logs and peers' views.
	Moniker string `toml:"moniker"`
	// Account is the address of this node's account key in DIR/keystore.
	Account wallet.Address `toml:"account"`
	// NodeKeyFile holds the node's network identity key, relative to DIR.
	NodeKeyFile string `toml:"node_key_file"`

	Log       LogConfig       `toml:"log"`
	Consensus ConsensusConfig `toml:"consensus"`
	P2P       P2PConfig       `toml:"p2p"`
	API       APIConfig       `toml:"api"`
	Meter     MeterConfig     `toml:"meter"`

	// Devices are the site's devices, one [[device]] table each; "kind"
	// names the adapter family (see meter.Kinds) and the other keys are
	// that adapter's configuration (meter.SunSpecConfig, meter.MQTTConfig,
	// the simulator's). The template shows commented examples.
	Devices []map[string]any `toml:"device"`
}

// LogConfig sets logging.
type LogConfig struct {
	// Level is one of debug, info, warn, error.
	Level string `toml:"level"`
	// Format is text or json.
	Format string `toml:"format"`
}

// ConsensusConfig sets the node's consensus timing.
type ConsensusConfig struct {
	// BlockIntervalMs is the pause after a decided block before the next
	// height starts (CometBFT's timeout_commit), in ms.
	BlockIntervalMs int64 `toml:"block_interval_ms"`
}

// P2PConfig sets the peer-to-peer network (package p2p's Config, field
// for field).
type P2PConfig struct {
	// Listen is the list of multiaddrs the node listens on.
	Listen []string `toml:"listen"`
	// Announce, if not empty, replaces the listen addresses in what the
	// node tells peers (e.g. the router's public address and forwarded port).
	Announce []string `toml:"announce"`
	// Bootstrap is the list of peers' multiaddrs to dial at start.
	Bootstrap []string `toml:"bootstrap"`
	// MDNS turns on discovery of peers on the home LAN.
	MDNS bool `toml:"mdns"`
	// NATPortMap asks the home router for a port mapping (UPnP, NAT-PMP).
	NATPortMap bool `toml:"nat_port_map"`
	// LoopbackOnly keeps every address in 127.0.0.0/8 (testnets, devnet).
	LoopbackOnly bool `toml:"loopback_only"`
	// MaxPeers bounds the number of connected peers.
	MaxPeers int `toml:"max_peers"`
	// Resource manager limits (system-wide).
	LimitMemoryMiB      int `toml:"limit_memory_mib"`
	LimitFDs            int `toml:"limit_fds"`
	LimitConns          int `toml:"limit_conns"`
	LimitConnsInbound   int `toml:"limit_conns_inbound"`
	LimitStreams        int `toml:"limit_streams"`
	LimitStreamsPerPeer int `toml:"limit_streams_per_peer"`
}

// APIConfig sets the HTTP API.
type APIConfig struct {
	// Listen is host:port. The default is loopback only.
	Listen string `toml:"listen"`
	// AdminTokenFile holds the bearer token for state-changing admin calls,
	// relative to DIR.
	AdminTokenFile string `toml:"admin_token_file"`
}

// MeterConfig sets how the node reads the site's devices.
type MeterConfig struct {
	// Enabled makes this node read devices and sign readings for a site.
	Enabled bool `toml:"enabled"`
	// SiteKeyFile is the keystore file of the site key, relative to DIR.
	SiteKeyFile string `toml:"site_key_file"`
	// PollSeconds is how often devices are read.
	PollSeconds int `toml:"poll_seconds"`
}

// DefaultConfig returns the configuration `gridmint init` writes.
func DefaultConfig() Config {
	return Config{
		ChainID:     "gridmint-devnet",
		Moniker:     "gridmint-node",
		NodeKeyFile: "node_key",
		Log:         LogConfig{Level: "info", Format: "text"},
		Consensus:   ConsensusConfig{BlockIntervalMs: 5000},
		P2P: P2PConfig{
			Listen:              []string{"/ip4/0.0.0.0/tcp/26656", "/ip4/0.0.0.0/udp/26656/quic-v1"},
			Announce:            []string{},
			Bootstrap:           []string{},
			MDNS:                true,
			NATPortMap:          true,
			LoopbackOnly:        false,
			MaxPeers:            32,
			LimitMemoryMiB:      256,
			LimitFDs:            512,
			LimitConns:          128,
			LimitConnsInbound:   64,
			LimitStreams:        1024,
			LimitStreamsPerPeer: 64,
		},
		API: APIConfig{Listen: "127.0.0.1:8645", AdminTokenFile: "admin_token"},
		Meter: MeterConfig{
			Enabled:     false,
			SiteKeyFile: "",
			PollSeconds: 5,
		},
	}
}

// ConfigTemplate is config.toml as `gridmint init` writes it: every option,
// each with a comment. %s placeholders: chain id, moniker, account address.
const ConfigTemplate = `# gridmint node configuration.
# Paths are relative to the data directory (the folder this file is in).

# The chain this node joins. It is inside every signature the node makes.
chain_id = %q

# A human-readable name for this node in logs and in peers' views.
moniker = %q

# The address of this node's account key (a file in keystore/). Rewards and
# flexibility payouts go to this account.
account = %q

# The node's network identity key (secp256k1, 64 hex digits, mode 0600).
node_key_file = "node_key"

[log]
# One of: debug, info, warn, error.
level = "info"
# text (for people) or json (for log collectors).
format = "text"

[consensus]
# The pause after each block before the next height starts, in ms. Readings
# come every 15 minutes, so a few seconds keep the chain small on an SD card.
block_interval_ms = 5000

[p2p]
# Multiaddrs to listen on (TCP and QUIC).
listen = ["/ip4/0.0.0.0/tcp/26656", "/ip4/0.0.0.0/udp/26656/quic-v1"]
# Addresses to tell peers instead of the listen addresses, e.g. your router's
# public address with a forwarded port ([] = the listen addresses).
announce = []
# Peers to dial at start, as multiaddrs ending in /p2p/<peer id>. The node
# only talks to these, peers they tell it about, and (with mdns) the LAN.
bootstrap = []
# Find peers on the home LAN with mDNS.
mdns = true
# Ask the home router to forward a port (UPnP / NAT-PMP) so peers can dial in.
nat_port_map = true
# Only use 127.0.0.0/8 addresses (local testnets; nothing leaves the machine).
loopback_only = false
# Upper bound on connected peers; keep it low on a Raspberry Pi.
max_peers = 32
# Resource limits for libp2p, sized for a Raspberry Pi 4 with 2 GB:
# memory: 1/8 of 2 GB, the share libp2p's own autoscaling gives itself.
limit_memory_mib = 256
# file descriptors: half the Pi's default ulimit -n of 1024; pebble needs the rest.
limit_fds = 512
# connections: max_peers plus room for DHT queries and peers being trimmed.
limit_conns = 128
# inbound connections: a home node is dialled by a few peers at a time.
limit_conns_inbound = 64
# streams: gossipsub, the DHT and block sync use a handful per peer.
limit_streams = 1024
# streams per peer: no one peer can take more than 1/16 of them.
limit_streams_per_peer = 64

[api]
# The HTTP API and explorer. Loopback only unless you change it.
listen = "127.0.0.1:8645"
# Bearer token for state-changing admin calls (created by init, mode 0600).
admin_token_file = "admin_token"

[meter]
# Read this home's devices and sign one reading per interval.
enabled = false
# The keystore file of the site key that signs readings ("" = none yet).
site_key_file = ""
# How often to read the devices, in seconds.
poll_seconds = 5

# The site's devices, one [[device]] table each. "kind" picks the adapter:
# "sim" (a simulated home), "sunspec" (SunSpec Modbus TCP inverters, meters,
# batteries) or "mqtt" (values published by evcc, Home Assistant, Tasmota).
# Examples (remove the leading "# " to use one):
#
# [[device]]
# kind = "sunspec"               # a Fronius GEN24 with battery
# address = "192.168.1.20:502"
# unit_id = 1
# usage = ["pv", "battery"]
# control = true                 # may force the battery during committed windows
#
# [[device]]
# kind = "sunspec"               # its smart meter at the grid connection point
# address = "192.168.1.20:502"
# unit_id = 200
# usage = ["grid"]
#
# [[device]]
# kind = "mqtt"                  # evcc's MQTT topics
# broker = "tcp://192.168.1.10:1883"
# max_age = "90s"
# grid_power    = { topic = "evcc/site/gridPower" }
# pv_power      = { topic = "evcc/site/pvPower" }
# battery_power = { topic = "evcc/site/batteryPower", invert = true }
# battery_soc   = { topic = "evcc/site/batterySoc", unit = "%%" }
# charge_power  = { topic = "evcc/loadpoints/1/chargePower" }
# [device.dispatch]
# charger_pause = [{ topic = "evcc/loadpoints/1/mode/set", payload = "off" }]
# resume        = [{ topic = "evcc/loadpoints/1/mode/set", payload = "pv" }]
`

// RenderConfig returns config.toml for the given chain, moniker and account.
func RenderConfig(chainID, moniker string, account wallet.Address) []byte {
	return []byte(fmt.Sprintf(ConfigTemplate, chainID, moniker, account.Hex()))
}

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("config")

// ParseConfig reads TOML over the defaults. Unknown keys are errors (a typo
// must not be silently ignored), and values are validated.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return Config{}, fmt.Errorf("%w: line %d column %d: %v", ErrConfig, row, col, de)
		}
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			return Config{}, fmt.Errorf("%w: unknown option: %s", ErrConfig, strings.TrimSpace(sm.String()))
		}
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadConfig reads and validates a config file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks values that TOML types alone do not.
func (c *Config) Validate() error {
	if err := wallet.ValidateChainID(c.ChainID); err != nil {
		return fmt.Errorf("%w: chain_id %q: %v", ErrConfig, c.ChainID, err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%w: log.level %q: want debug, info, warn or error", ErrConfig, c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("%w: log.format %q: want text or json", ErrConfig, c.Log.Format)
	}
	if c.Consensus.BlockIntervalMs < 0 || c.Consensus.BlockIntervalMs > 600_000 {
		return fmt.Errorf("%w: consensus.block_interval_ms %d: want 0..600000", ErrConfig, c.Consensus.BlockIntervalMs)
	}
	if c.P2P.MaxPeers < 1 || c.P2P.MaxPeers > 1000 {
		return fmt.Errorf("%w: p2p.max_peers %d: want 1..1000", ErrConfig, c.P2P.MaxPeers)
	}
	for _, l := range []struct {
		key      string
		val, min int
	}{
		{"limit_memory_mib", c.P2P.LimitMemoryMiB, 16},
		{"limit_fds", c.P2P.LimitFDs, 16},
		{"limit_conns", c.P2P.LimitConns, 2},
		{"limit_conns_inbound", c.P2P.LimitConnsInbound, 1},
		{"limit_streams", c.P2P.LimitStreams, 16},
		{"limit_streams_per_peer", c.P2P.LimitStreamsPerPeer, 8},
	} {
		if l.val < l.min || l.val > 1<<20 {
			return fmt.Errorf("%w: p2p.%s %d: want %d..%d", ErrConfig, l.key, l.val, l.min, 1<<20)
		}
	}
	if _, err := netip.ParseAddrPort(c.API.Listen); err != nil {
		return fmt.Errorf("%w: api.listen %q: want ip:port, e.g. 127.0.0.1:8645", ErrConfig, c.API.Listen)
	}
	if c.Meter.PollSeconds < 1 || c.Meter.PollSeconds > 900 {
		return fmt.Errorf("%w: meter.poll_seconds %d: want 1..900", ErrConfig, c.Meter.PollSeconds)
	}
	if c.Meter.Enabled && c.Meter.SiteKeyFile == "" {
		return fmt.Errorf("%w: meter.enabled needs meter.site_key_file", ErrConfig)
	}
	kinds := meter.Kinds()
	for i, d := range c.Devices {
		kind, _ := d["kind"].(string)
		if !slices.Contains(kinds, kind) {
			return fmt.Errorf("%w: device %d: kind %q: want one of %s", ErrConfig, i+1, kind, strings.Join(kinds, ", "))
		}
	}
	return nil
}

// DeviceSpec is one configured device: its adapter family and a decoder
// for its own configuration that rejects unknown keys.
type DeviceSpec struct {
	Kind   string
	Decode func(cfg any) error
}

// DeviceSpecs turns the [[device]] tables into what meter.Open takes.
func (c *Config) DeviceSpecs() ([]DeviceSpec, error) {
	var out []DeviceSpec
	for i, d := range c.Devices {
		rest := make(map[string]any, len(d))
		for k, v := range d {
			if k != "kind" {
				rest[k] = v
			}
		}
		b, err := toml.Marshal(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: device %d: %v", ErrConfig, i+1, err)
		}
		kind, _ := d["kind"].(string)
		out = append(out, DeviceSpec{Kind: kind, Decode: func(cfg any) error {
			dec := toml.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(cfg); err != nil {
				return fmt.Errorf("%w: device %d (%s): %v", ErrConfig, i+1, kind, err)
			}
			return nil
		}})
	}
	return out, nil
}
