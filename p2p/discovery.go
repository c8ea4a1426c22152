package p2p

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

const (
	permanent   = peerstore.PermanentAddrTTL
	grace       = time.Minute      // connection manager: new connections are spared this long
	dialTimeout = 10 * time.Second // one dial attempt
)

// mdnsService is mdns.Service; tests substitute one that sends nothing.
type mdnsService interface {
	Start() error
	Close() error
}

// Rendezvous is the DHT namespace gridmint nodes of a chain advertise
// under and look each other up by.
func (h *Host) Rendezvous() string { return "/gridmint/" + h.chainID + "/peers/1" }

// startDiscovery dials the bootstrap peers and keeps them connected,
// starts the DHT and routing discovery, and mDNS if configured.
func (h *Host) startDiscovery(boot []peer.AddrInfo) error {
	wakes := map[peer.ID]chan struct{}{}
	for _, ai := range boot {
		wakes[ai.ID] = make(chan struct{}, 1)
	}
	if len(boot) > 0 {
		sub, err := h.h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
		if err != nil {
			return fmt.Errorf("p2p: event bus: %w", err)
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer sub.Close()
			for {
				select {
				case <-h.ctx.Done():
					return
				case e := <-sub.Out():
					ev := e.(event.EvtPeerConnectednessChanged)
					if w, ok := wakes[ev.Peer]; ok && ev.Connectedness != network.Connected {
						select {
						case w <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	for _, ai := range boot {
		h.wg.Add(1)
		go h.keepConnected(ai, wakes[ai.ID])
	}
	if h.kdht != nil {
		if err := h.kdht.Bootstrap(h.ctx); err != nil {
			return fmt.Errorf("p2p: dht bootstrap: %w", err)
		}
		h.wg.Add(2)
		go h.advertise()
		go h.findPeers()
	}
	if h.cfg.MDNS {
		newMDNS := h.k.newMDNS
		if newMDNS == nil {
			newMDNS = defaultMDNS
		}
		h.mdns = newMDNS(h)
		if err := h.mdns.Start(); err != nil {
			return fmt.Errorf("p2p: mdns: %w", err)
		}
	}
	return nil
}

// keepConnected dials a bootstrap peer at start and whenever it
// disconnects, backing off from knobs.backoffMin to knobs.backoffMax
// while it fails.
func (h *Host) keepConnected(ai peer.AddrInfo, wake <-chan struct{}) {
	defer h.wg.Done()
	backoff := h.k.backoffMin
	for {
		wait := h.k.backoffMax // connected: look again now and then
		if h.h.Network().Connectedness(ai.ID) != network.Connected && !h.gater.isBanned(ai.ID) {
			ctx, cancel := context.WithTimeout(h.ctx, dialTimeout)
			err := h.h.Connect(ctx, ai)
			cancel()
			if err != nil {
				if h.ctx.Err() != nil {
					return
				}
				h.log.Debug("bootstrap dial failed", "remote", ai.ID, "retry", backoff, "err", err)
				wait, backoff = backoff, min(2*backoff, h.k.backoffMax)
			} else {
				h.log.Debug("bootstrap peer connected", "remote", ai.ID)
				backoff = h.k.backoffMin
				if h.kdht != nil {
					h.kdht.RefreshRoutingTable() // learn its neighbours now, not in 10 minutes
				}
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// advertise keeps this host's provider record for the chain's rendezvous
// in the DHT.
func (h *Host) advertise() {
	defer h.wg.Done()
	for {
		wait := h.k.advertiseRetry
		ttl, err := h.disc.Advertise(h.ctx, h.Rendezvous())
		if err == nil && ttl > 0 {
			wait = ttl * 7 / 8
		} else if h.ctx.Err() == nil {
			h.log.Debug("advertise failed", "retry", wait, "err", err)
		}
		if !h.sleep(wait) {
			return
		}
	}
}

// findPeers looks up the rendezvous and dials what it finds, up to
// MaxPeers connections.
func (h *Host) findPeers() {
	defer h.wg.Done()
	self := h.h.ID()
	for {
		if n := len(h.Peers()); n > 0 && n < h.cfg.MaxPeers {
			ch, err := h.disc.FindPeers(h.ctx, h.Rendezvous(), discovery.Limit(h.cfg.MaxPeers))
			if err == nil {
				for ai := range ch {
					if ai.ID == self || len(ai.Addrs) == 0 || h.h.Network().Connectedness(ai.ID) == network.Connected {
						continue
					}
					if len(h.Peers()) >= h.cfg.MaxPeers {
						continue // drain the channel
					}
					ctx, cancel := context.WithTimeout(h.ctx, dialTimeout)
					if err := h.h.Connect(ctx, ai); err != nil {
						h.log.Debug("discovered peer: dial failed", "remote", ai.ID, "err", err)
					}
					cancel()
				}
			}
		}
		if !h.sleep(h.k.discoverEvery) {
			return
		}
	}
}

// sleep waits d or until Close; false means closed.
func (h *Host) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// defaultMDNS is libp2p's mDNS service under a per-chain service name
// (built, not started).
func defaultMDNS(h *Host) mdnsService {
	return mdns.NewMdnsService(h.h, mdnsServiceName(h.chainID), mdnsNotifee{h})
}

// mdnsServiceName keeps chains apart on one LAN.
func mdnsServiceName(chainID string) string { return "gridmint-" + chainID }

// mdnsNotifee dials peers found on the LAN.
type mdnsNotifee struct{ h *Host }

func (n mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	h := n.h
	if ai.ID == h.h.ID() || h.ctx.Err() != nil || len(h.Peers()) >= h.cfg.MaxPeers {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(h.ctx, dialTimeout)
		defer cancel()
		if err := h.h.Connect(ctx, ai); err != nil {
			h.log.Debug("mdns peer: dial failed", "remote", ai.ID, "err", err)
		}
	}()
}
