package blocksync

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// BanList remembers misbehaving peers until an expiry on an injected clock.
// It is safe for concurrent use.
type BanList struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[peer.ID]banEntry
}

type banEntry struct {
	until  time.Time
	reason error
}

// NewBanList returns an empty ban list on clock now (time.Now when nil).
func NewBanList(now func() time.Time) *BanList {
	if now == nil {
		now = time.Now
	}
	return &BanList{now: now, m: make(map[peer.ID]banEntry)}
}

// Ban bans p for d from now, extending an existing ban, never shortening it.
func (b *BanList) Ban(p peer.ID, d time.Duration, reason error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	until := b.now().Add(d)
	if e, ok := b.m[p]; ok && e.until.After(until) {
		return
	}
	b.m[p] = banEntry{until: until, reason: reason}
}

// Banned reports whether p is banned now, and why. An expired entry is
// removed.
func (b *BanList) Banned(p peer.ID) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[p]
	if !ok {
		return false, nil
	}
	if !b.now().Before(e.until) {
		delete(b.m, p)
		return false, nil
	}
	return true, e.reason
}

// Len is the number of peers banned now.
func (b *BanList) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	n := 0
	for p, e := range b.m {
		if now.Before(e.until) {
			n++
		} else {
			delete(b.m, p)
		}
	}
	return n
}
