package node

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmint/gridmint/consensus"
	"github.com/gridmint/gridmint/p2p"
	"github.com/gridmint/gridmint/p2p/blocksync"
	"github.com/gridmint/gridmint/wallet"
)

// devnetNet is what the devnet's harness needs of its network: a clock,
// events at times of it, and a loop that runs them. SimNet is one (virtual
// time, deterministic); p2pCluster is the other (real libp2p hosts on
// loopback, the clock the wall clock sped up).
type devnetNet interface {
	Now() int64
	At(t int64, fn func())
	Run(stop func() bool, pace func(virtualMs int64)) error
	Stop()
	fail(err error)
}

// p2pCluster is the network of a devnet that is not --deterministic: each
// validator is a libp2p host on 127.0.0.1 (TCP, QUIC, Noise, yamux,
// gossipsub with scoring: what `gridmint run` runs) driven by its own
// P2PNet, and the homes and the utility publish through one more host, the
// gateway, as a home's node would. Nothing leaves the loopback: the hosts
// keep to it, with mDNS and port mapping off.
//
// Time: the devnet's clock is the wall clock sped up Speed times from the
// chain's start (a day in 144 s at the default 600), and the validators
// run on it: their block pause, consensus timeouts and clock-drift limit
// are scaled by Speed so that, on the wall clock, consensus waits as long
// as a real network would (a 3 s propose timeout stays 3 s).
//
// The harness's events (homes closing an interval, the utility posting)
// run on validator 0's goroutine (P2PNet.Do), where its commits are
// observed too, so the harness's state has one writer, as under SimNet.
type p2pCluster struct {
	speed     float64
	startMs   int64
	wallStart time.Time
	// running is set once every host has its topic peers: the clock
	// stands at startMs until then (connecting is not the chain's time).
	running atomic.Bool
	log     *slog.Logger

	hosts []*p2p.Host
	nets  []*P2PNet
	nodes []*Node
	gw    *p2p.Host

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	errs    chan error

	mu     sync.Mutex
	events eventQueue
	seq    uint64
	err    error
	wake   chan struct{}
}

// newP2PCluster starts n validator hosts and the gateway on loopback;
// keyOf(i) is host i's libp2p identity (the validators first, then the
// gateway at i = n).
func newP2PCluster(n int, chainID string, startMs int64, speed float64, keyOf func(i int) *wallet.PrivateKey, log *slog.Logger) (*p2pCluster, error) {
	c := &p2pCluster{speed: speed, startMs: startMs, wallStart: time.Now(), log: log, errs: make(chan error, n+1), wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var boot []string
	for i := 0; i <= n; i++ {
		cfg := p2p.LoopbackConfig()
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.Bootstrap = boot
		k := keyOf(i)
		h, err := p2p.New(c.ctx, cfg, k, chainID, log.With("host", i))
		k.Zero()
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("devnet: host %d: %w", i, err)
		}
		if i == n {
			c.gw = h
			break
		}
		c.hosts = append(c.hosts, h)
		c.nets = append(c.nets, NewP2PNet(h, log.With("net", i)))
		c.nets[i].Now, c.nets[i].Speed = c.Now, speed
		boot = append(boot, h.Addrs()...)
	}
	// The gateway publishes transactions and readings; it accepts what
	// it hears (it keeps nothing) so that it forwards like any peer.
	for _, t := range []p2p.TopicID{p2p.TopicTx, p2p.TopicReading} {
		if err := c.gw.Join(t, func(peer.ID, []byte) p2p.Verdict { return p2p.Accept }, func(p2p.TopicID, peer.ID, []byte) {}); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Now is the devnet's clock in Unix ms: the wall clock since the network
// was up, sped up.
func (c *p2pCluster) Now() int64 {
	if !c.running.Load() {
		return c.startMs
	}
	return c.startMs + int64(float64(time.Since(c.wallStart).Microseconds())*c.speed/1000)
}

// wallUntil is how long on the wall clock until devnet time t.
func (c *p2pCluster) wallUntil(t int64) time.Duration {
	return time.Duration(float64(t-c.Now()) / c.speed * float64(time.Millisecond))
}

// At runs fn on validator 0's goroutine at devnet time t.
func (c *p2pCluster) At(t int64, fn func()) {
	c.mu.Lock()
	c.seq++
	heap.Push(&c.events, event{at: t, seq: c.seq, fn: fn})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *p2pCluster) fail(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// gateway is the homes' and the utility's transport.
type gateway struct{ h *p2p.Host }

func (g gateway) Broadcast(topic Topic, data []byte) { _ = g.h.Publish(p2p.TopicID(topic), data) }
func (g gateway) RequestBlocks(uint64)               {}

// attach hands validator i's node to its P2PNet (Run starts it) with
// block sync (the node was built with scaledTimeouts).
func (c *p2pCluster) attach(i int, n *Node) {
	for len(c.nodes) <= i {
		c.nodes = append(c.nodes, nil)
	}
	c.nodes[i] = n
	c.nets[i].Sync = NewBlockSync(c.nets[i], n, blocksync.Config{}, blocksync.ServerConfig{})
}

// scaledTimeouts are consensus.DefaultTimeouts on the devnet's clock.
func scaledTimeouts(speed float64) consensus.Timeouts {
	t := consensus.DefaultTimeouts()
	for _, p := range []*int64{&t.ProposeMs, &t.ProposeDeltaMs, &t.PrevoteMs, &t.PrevoteDeltaMs, &t.PrecommitMs, &t.PrecommitDeltaMs} {
		*p = int64(float64(*p) * speed)
	}
	return t
}

// Run starts the validators (the first time) and runs the events that
// come due until stop says so (asked on validator 0's goroutine, after
// each batch of events and at least every 100 ms), a validator fails, or
// an event fails. pace is SimNet's; here the clock is real.
func (c *p2pCluster) Run(stop func() bool, _ func(int64)) error {
	if !c.started {
		c.started = true
		for i, nt := range c.nets {
			n := c.nodes[i]
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				if err := nt.Run(c.ctx, n); err != nil {
					c.errs <- fmt.Errorf("validator %d: %w", i, err)
				}
			}()
		}
		if err := c.waitConnected(30 * time.Second); err != nil {
			return err
		}
		c.wallStart = time.Now()
		c.running.Store(true)
	}
	for {
		now := c.Now()
		var due []func()
		c.mu.Lock()
		for len(c.events) > 0 && c.events[0].at <= now {
			due = append(due, heap.Pop(&c.events).(event).fn)
		}
		next := time.Duration(-1)
		if len(c.events) > 0 {
			next = c.wallUntil(c.events[0].at)
		}
		c.mu.Unlock()
		var done bool
		if !c.nets[0].Do(func(*Node) {
			for _, fn := range due {
				fn()
			}
			done = stop()
		}) {
			select {
			case err := <-c.errs:
				return err
			default:
				return errors.New("devnet: validator 0 stopped")
			}
		}
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		wait := 100 * time.Millisecond
		if next >= 0 && next < wait {
			wait = next
		}
		select {
		case err := <-c.errs:
			return err
		case <-c.wake:
		case <-time.After(wait):
		}
	}
}

// waitConnected waits until the gateway has every validator as a peer
// of the transaction and reading topics and each validator every other
// one on the consensus topic: a message published before would reach
// nobody (gossipsub does not queue it).
func (c *p2pCluster) waitConnected(limit time.Duration) error {
	n := len(c.hosts)
	ready := func() bool {
		if len(c.gw.TopicPeers(p2p.TopicTx)) < n || len(c.gw.TopicPeers(p2p.TopicReading)) < n {
			return false
		}
		for _, h := range c.hosts {
			if len(h.TopicPeers(p2p.TopicConsensus)) < n-1 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(limit)
	for !ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("devnet: the %d validators and the gateway did not connect within %s", n, limit)
		}
		select {
		case err := <-c.errs:
			return err
		case <-time.After(10 * time.Millisecond): // polling interval
		}
	}
	return nil
}

// Stop ends the validators' loops and closes every host; the nodes are
// closed by Devnet.Close.
func (c *p2pCluster) Stop() {
	c.cancel()
	c.wg.Wait()
	for _, h := range c.hosts {
		h.Close()
	}
	if c.gw != nil {
		c.gw.Close()
	}
	c.hosts, c.gw = nil, nil
}
