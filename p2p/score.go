package p2p

import (
	"math"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Gossipsub v1.1 peer scoring. The shape follows lotus
// (filecoin-project/lotus node/modules/lp2p/pubsub.go: thresholds -500 /
// -1000 / -2500, accept-PX 1000, opportunistic graft 2.5; invalid message
// deliveries weighted -1000 decaying over an hour; a 1 s decay interval and
// a 6 h retained score) and prysm (prysmaticlabs/prysm
// beacon-chain/p2p/gossip_scoring_params.go: time in the mesh worth at most
// 10, behaviour penalty threshold 6, a topic score cap, mesh-delivery
// penalties P3 switched off "so as to prevent the average nodes from being
// penalised"). We keep lotus's thresholds and invalid-message weights
// because a gridmint network is, like Filecoin's, small and its messages
// are few and each checked by signature, so one invalid message is already
// strong evidence; we take prysm's choice to switch P3 off because readings
// and transactions come in bursts (one reading per site per 15 minutes),
// and a quiet mesh is not a misbehaving one.
//
// What one invalid message costs (P4 = weight x topic weight x count^2):
//
//	consensus: -1000 x 0.5 = -500 (1: below gossip, 2: below publish, 3: graylisted)
//	tx:        -1000 x 0.1 = -100 (5 messages: graylisted at -2500)
//	reading:   -1000 x 0.1 = -100 (5 messages: graylisted)
//
// while all the positive score a peer can earn is capped at TopicScoreCap
// = 100 (first deliveries and time in the mesh), so good behaviour cannot
// buy room for more than a handful of invalid messages, and the quadratic
// term makes a flood of them hit the graylist within one decay interval.
// Below the graylist threshold the router ignores the peer, and the Host
// also disconnects and bans it (see Host.inspect).
//
// P4 counts only what a validator Rejects: what is invalid whatever our
// state. A message that is well formed and validly signed but useless by
// our state (a transaction from an account that cannot pay its fee, a
// reading of a site that is not registered or of an interval that has not
// ended) is Ignored, since an honest peer a block ahead of or behind us
// may relay one; but a peer that sends them by the hundred is flooding.
// The node reports each such message with Host.Penalize, and the
// app-specific score (P5) charges
//
//	-10 x max(0, n - 20)^2   (n: useless messages, halving every 10 minutes)
//
// so a peer gets 20 free (a few state races per block are normal), and
// about 37 within a few minutes take it past the graylist threshold
// (36 → -2560), below which it is disconnected and banned like one that
// sent invalid messages.

// Thresholds, from lotus.
const (
	gossipThreshold             = -500
	publishThreshold            = -1000
	graylistThreshold           = -2500
	acceptPXThreshold           = 1000 // only bootstrappers would reach it; PX is off anyway
	opportunisticGraftThreshold = 2.5
)

func scoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           graylistThreshold,
		AcceptPXThreshold:           acceptPXThreshold,
		OpportunisticGraftThreshold: opportunisticGraftThreshold,
	}
}

// topicWeights: consensus messages matter most (a bad one is an attack on
// liveness); transactions and readings are equally cheap to check.
var topicWeights = [...]float64{TopicConsensus: 0.5, TopicTx: 0.1, TopicReading: 0.1}

// firstDeliveryCaps: how many first deliveries (decaying over an hour)
// count. Votes arrive ~3 per validator per block; transactions and
// readings by the hundred.
var firstDeliveryCaps = [...]float64{TopicConsensus: 100, TopicTx: 1000, TopicReading: 1000}

func scoreParams(topics map[TopicID]string, app func(peer.ID) float64) *pubsub.PeerScoreParams {
	if app == nil {
		app = func(peer.ID) float64 { return 0 }
	}
	p := &pubsub.PeerScoreParams{
		Topics:        map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap: 100,

		AppSpecificScore:  app,
		AppSpecificWeight: 1,

		// More than 5 peers from one IP cost 100 x (n-5)^2 (lotus weighs
		// -100 from the second; homes behind one carrier-grade NAT share
		// an address, so we allow a few, as prysm allows 10). Loopback
		// testnets run every node on 127.0.0.x and are never penalised.
		IPColocationFactorWeight:    -100,
		IPColocationFactorThreshold: 5,
		IPColocationFactorWhitelist: loopbackNets(),

		// Protocol misbehaviour (GRAFT during backoff, broken IWANT
		// promises): prysm's threshold 6, lotus-like weight and an hour's decay.
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(time.Hour),

		DecayInterval: time.Second,
		DecayToZero:   0.01,
		RetainScore:   6 * time.Hour, // a graylisted peer that reconnects is still graylisted
	}
	for id, name := range topics {
		w := topicWeights[id]
		p.Topics[name] = &pubsub.TopicScoreParams{
			TopicWeight: w,

			// P1: at most 10 after an hour in the mesh (prysm's maxInMeshScore).
			TimeInMeshWeight:  10.0 / 3600,
			TimeInMeshQuantum: time.Second,
			TimeInMeshCap:     3600,

			// P2: first deliveries, decaying over an hour.
			FirstMessageDeliveriesWeight: 1,
			FirstMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
			FirstMessageDeliveriesCap:    firstDeliveryCaps[id],

			// P3/P3b off (weight 0), as prysm; the decays must still be valid.
			MeshMessageDeliveriesDecay: pubsub.ScoreParameterDecay(time.Hour),
			MeshFailurePenaltyDecay:    pubsub.ScoreParameterDecay(time.Hour),

			// P4: invalid messages, lotus's weight and decay.
			InvalidMessageDeliveriesWeight: -1000,
			InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
		}
	}
	return p
}

// The useless-message penalty (P5): see the top of this file.
const (
	uselessFree     = 20
	uselessWeight   = -10
	uselessHalfLife = 10 * time.Minute
)

// useless counts, per peer, the messages the node found useless by its
// state (Host.Penalize), decaying exponentially with uselessHalfLife.
// Safe for concurrent use: Penalize runs on gossipsub's validation
// workers, score on its scoring loop.
type useless struct {
	now func() time.Time

	mu sync.Mutex
	m  map[peer.ID]uselessCount
}

type uselessCount struct {
	n  float64
	at time.Time
}

func newUseless() *useless { return &useless{now: time.Now, m: map[peer.ID]uselessCount{}} }

// decayed is c's count at now.
func (c uselessCount) decayed(now time.Time) float64 {
	dt := now.Sub(c.at)
	if dt <= 0 {
		return c.n
	}
	return c.n * math.Exp2(-float64(dt)/float64(uselessHalfLife))
}

func (u *useless) add(p peer.ID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	c := u.m[p]
	u.m[p] = uselessCount{n: c.decayed(now) + 1, at: now}
}

// score is p's P5 term; a count that has decayed below one is forgotten.
func (u *useless) score(p peer.ID) float64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	c, ok := u.m[p]
	if !ok {
		return 0
	}
	n := c.decayed(u.now())
	if n < 1 {
		delete(u.m, p)
		return 0
	}
	if n <= uselessFree {
		return 0
	}
	return uselessWeight * (n - uselessFree) * (n - uselessFree)
}
