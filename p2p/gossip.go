package p2p

import (
	"context"
	"errors"
	"fmt"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TopicID names a gossip topic. The values are node.Topic's (p2p does not
// import node; node imports p2p).
type TopicID uint8

// Topics.
const (
	TopicConsensus TopicID = 1 // consensus messages: proposals (with a block), votes
	TopicTx        TopicID = 2 // transactions
	TopicReading   TopicID = 3 // meter readings
)

var allTopics = [...]TopicID{TopicConsensus, TopicTx, TopicReading}

func (t TopicID) String() string {
	switch t {
	case TopicConsensus:
		return "consensus"
	case TopicTx:
		return "tx"
	case TopicReading:
		return "reading"
	}
	return fmt.Sprintf("topic(%d)", uint8(t))
}

// Verdict is a gossip validator's answer.
type Verdict int

const (
	// Accept: valid; deliver it and forward it to the mesh.
	Accept Verdict = iota
	// Reject: invalid whatever our state (malformed, bad signature, wrong
	// chain): drop it and count it against the peer that sent it
	// (P4, the heavily weighted invalid-message score).
	Reject
	// Ignore: not for us now (a duplicate by content, a vote of a height
	// we cannot check yet, a full pool): drop it without penalty.
	Ignore
)

func (v Verdict) result() pubsub.ValidationResult {
	switch v {
	case Accept:
		return pubsub.ValidationAccept
	case Ignore:
		return pubsub.ValidationIgnore
	}
	return pubsub.ValidationReject
}

// Validator checks a message before it is delivered or forwarded. from is
// the peer that sent it to us (not necessarily its author). Validators run
// concurrently on all cores (gossipsub's validation workers) and must be
// safe for that: node.Node.PreCheck is.
type Validator func(from peer.ID, data []byte) Verdict

// Handler receives each accepted message on a topic, one at a time per
// topic, never our own publications.
type Handler func(t TopicID, from peer.ID, data []byte)

// Errors of Join and Publish.
var (
	ErrUnknownTopic = errors.New("p2p: unknown topic")
	ErrNotJoined    = errors.New("p2p: topic not joined")
	ErrJoined       = errors.New("p2p: topic already joined")
	ErrTooLarge     = errors.New("p2p: message too large")
)

type joined struct {
	id    TopicID
	topic *pubsub.Topic
	sub   *pubsub.Subscription
	max   int
}

// TopicName is the gossipsub topic of t on this host's chain:
// /gridmint/<chain id>/<consensus|tx|reading>/1.
func (h *Host) TopicName(t TopicID) string {
	return "/gridmint/" + h.chainID + "/" + t.String() + "/1"
}

// validateConcurrency bounds the concurrent validations on a transaction
// or a reading topic (see Join).
var validateConcurrency = 16

// Join subscribes to topic t: every message a peer sends on it is checked
// for size (Config.MaxMessageBytes, then Reject) and by validate, and
// the accepted ones go to deliver, in the order of arrival. Gossipsub drops
// a message whose SHA-256 it has seen in the last two minutes before
// validate sees it.
func (h *Host) Join(t TopicID, validate Validator, deliver Handler) error {
	max := h.cfg.MaxMessageBytes.of(t)
	if max == 0 {
		return fmt.Errorf("%w: %d", ErrUnknownTopic, uint8(t))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return errors.New("p2p: host closed")
	}
	if _, ok := h.topics[t]; ok {
		return fmt.Errorf("%w: %s", ErrJoined, t)
	}
	name := h.TopicName(t)
	self := h.h.ID()
	shed := h.shedIf[t]
	var opts []pubsub.ValidatorOpt
	if t != TopicConsensus {
		// At most validateConcurrency transactions or readings are
		// checked at once; what arrives while they all are is dropped
		// unpenalised (gossipsub's throttle). With gossipsub's default of
		// 1,024, a flood of signature recoveries keeps a thousand
		// goroutines runnable, and the node's own goroutine, behind them
		// at every channel receive, stops committing (bench/chain: no
		// block for 29 s at 1,000 tx/s offered on 2 cores).
		opts = append(opts, pubsub.WithValidatorConcurrency(validateConcurrency))
	}
	err := h.ps.RegisterTopicValidator(name, func(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if from == self {
			return pubsub.ValidationAccept // our own publication: the node made it
		}
		if len(m.Data) > max {
			h.oversized[t].Add(1)
			return pubsub.ValidationReject
		}
		if shed != nil && shed() {
			h.shed[t].Add(1)
			return pubsub.ValidationIgnore
		}
		return validate(from, m.Data).result()
	}, opts...)
	if err != nil {
		return fmt.Errorf("p2p: validator for %s: %w", name, err)
	}
	topic, err := h.ps.Join(name)
	if err != nil {
		_ = h.ps.UnregisterTopicValidator(name)
		return fmt.Errorf("p2p: join %s: %w", name, err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(1024))
	if err != nil {
		_ = topic.Close()
		_ = h.ps.UnregisterTopicValidator(name)
		return fmt.Errorf("p2p: subscribe %s: %w", name, err)
	}
	h.topics[t] = &joined{id: t, topic: topic, sub: sub, max: max}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			m, err := sub.Next(h.ctx)
			if err != nil {
				return // cancelled: Close
			}
			if m.ReceivedFrom == self {
				continue
			}
			deliver(t, m.ReceivedFrom, m.Data)
		}
	}()
	return nil
}

// Publish sends data on a joined topic to the peers subscribed to it.
func (h *Host) Publish(t TopicID, data []byte) error {
	h.mu.Lock()
	j, ok := h.topics[t]
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotJoined, t)
	}
	if len(data) > j.max {
		return fmt.Errorf("%w: %s: %d bytes > %d", ErrTooLarge, t, len(data), j.max)
	}
	return j.topic.Publish(h.ctx, data)
}

// TopicPeers are the peers known to be subscribed to topic t.
func (h *Host) TopicPeers(t TopicID) []peer.ID { return h.ps.ListPeers(h.TopicName(t)) }

// Oversized counts messages on t rejected for their size.
func (h *Host) Oversized(t TopicID) uint64 {
	if int(t) >= len(h.oversized) {
		return 0
	}
	return h.oversized[t].Load()
}

// ShedIf sets, before Join, a shed test for topic t: while shed() is
// true, a message from a peer on t is Ignored before the validator sees
// it (not delivered, not forwarded, no penalty) and counted in Shed. A
// node that cannot keep up with transactions sheds them at the door: it
// spends no signature check on them and does not fill its peers' queues,
// where its consensus messages wait too.
func (h *Host) ShedIf(t TopicID, shed func() bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if int(t) < len(h.shedIf) {
		h.shedIf[t] = shed
	}
}

// Shed counts messages on t Ignored by the ShedIf test.
func (h *Host) Shed(t TopicID) uint64 {
	if int(t) >= len(h.shed) {
		return 0
	}
	return h.shed[t].Load()
}

// Gossip adapts a Host to the shape of node.Transport's Broadcast, with
// plain topic ids (1 consensus, 2 tx, 3 reading).
type Gossip struct{ H *Host }

// Broadcast publishes data on topic; a failure (not joined, too large,
// host closed) is logged, as gossip is best effort.
func (g Gossip) Broadcast(topic uint8, data []byte) {
	if err := g.H.Publish(TopicID(topic), data); err != nil {
		g.H.log.Debug("broadcast dropped", "topic", TopicID(topic), "bytes", len(data), "err", err)
	}
}
