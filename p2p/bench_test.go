package p2p

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkGossip1KiB: one host of four (fully connected on loopback,
// TCP) publishes 1 KiB transactions; each of the other three validates
// every message with a SHA-256 of it. One op is one message delivered to
// all three. At most 256 messages are in flight, so the queues never drop.
// Reports msgs/s and the publish-to-delivery latency (median, p99).
// window=1 is one message at a time (latency unloaded); envelope=signed
// is gossipsub's StrictSign, for comparison with the unsigned envelopes
// the host uses.
func BenchmarkGossip1KiB(b *testing.B) {
	for _, signed := range []bool{false, true} {
		for _, window := range []int{256, 1} {
			env := "unsigned"
			if signed {
				env = "signed"
			}
			b.Run(fmt.Sprintf("envelope=%s/window=%d", env, window), func(b *testing.B) { benchGossip(b, signed, window) })
		}
	}
}

func benchGossip(b *testing.B, signed bool, window int) {
	opt := func(c *Config) {
		c.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		c.knobs.noDHT = true
		c.knobs.signEnvelopes = signed
	}
	var hs []*Host
	for range 4 {
		hs = append(hs, newHost(b, chain, opt, bootstrap(hs...)))
	}
	var (
		mu        sync.Mutex
		lat       []time.Duration
		remaining []atomic.Int32
		sem       = make(chan struct{}, window)
		done      = make(chan struct{}, 1)
		left      atomic.Int64
	)
	validate := func(_ peer.ID, data []byte) Verdict {
		sum := sha256.Sum256(data)
		if sum[0] == 0 && sum[1] == 0 && sum[2] == 0 && sum[3] == 0 && len(data) == 0 {
			return Reject // never: keeps the hash from being optimised away
		}
		return Accept
	}
	deliver := func(_ TopicID, _ peer.ID, data []byte) {
		seq := binary.BigEndian.Uint64(data)
		sent := int64(binary.BigEndian.Uint64(data[8:]))
		d := time.Duration(time.Now().UnixNano() - sent)
		mu.Lock()
		lat = append(lat, d)
		r := &remaining[seq]
		mu.Unlock()
		if r.Add(-1) == 0 {
			<-sem
			if left.Add(-1) == 0 {
				done <- struct{}{}
			}
		}
	}
	for i, h := range hs {
		if i == 0 {
			if err := h.Join(TopicTx, validate, func(TopicID, peer.ID, []byte) {}); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if err := h.Join(TopicTx, validate, deliver); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, "full mesh", func() bool {
		return len(hs[0].Peers()) == 3 && subscribed(hs[0], TopicTx, hs[1], hs[2], hs[3]) && inMesh(hs[1], TopicTx, hs[0])
	})
	msg := make([]byte, 1024)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	b.ReportAllocs()
	b.ResetTimer()
	remaining = make([]atomic.Int32, b.N)
	for i := range remaining {
		remaining[i].Store(3)
	}
	left.Store(int64(b.N))
	start := time.Now()
	for i := range b.N {
		sem <- struct{}{}
		m := slices.Clone(msg)
		binary.BigEndian.PutUint64(m, uint64(i))
		binary.BigEndian.PutUint64(m[8:], uint64(time.Now().UnixNano()))
		if err := hs[0].Publish(TopicTx, m); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatalf("%d of %d messages not delivered to all", left.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
