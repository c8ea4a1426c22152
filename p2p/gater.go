package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater is the host's connection gater: it refuses banned peers (those
// whose gossip score fell below the graylist threshold) in both directions
// until their ban ends, and with loopback set refuses to dial or accept
// any address outside 127.0.0.0/8 and ::1, before a packet is sent.
type gater struct {
	loopback bool
	now      func() time.Time

	mu     sync.Mutex
	banned map[peer.ID]time.Time // until
}

var _ connmgr.ConnectionGater = (*gater)(nil)

func newGater(loopback bool) *gater {
	return &gater{loopback: loopback, now: time.Now, banned: map[peer.ID]time.Time{}}
}

// ban keeps p out until now+d.
func (g *gater) ban(p peer.ID, d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.banned[p] = g.now().Add(d)
}

// isBanned reports whether p is banned now, forgetting expired bans.
func (g *gater) isBanned(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.banned[p]
	if !ok {
		return false
	}
	if !g.now().Before(until) {
		delete(g.banned, p)
		return false
	}
	return true
}

func (g *gater) InterceptPeerDial(p peer.ID) bool { return !g.isBanned(p) }

func (g *gater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	if g.loopback && !isLoopback(a) {
		return false
	}
	return !g.isBanned(p)
}

func (g *gater) InterceptAccept(c network.ConnMultiaddrs) bool {
	return !g.loopback || isLoopback(c.RemoteMultiaddr())
}

func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.isBanned(p)
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
