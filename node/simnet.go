package node

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// SimNet is an in-process network in virtual time: a discrete-event
// scheduler that delivers messages between nodes after a seeded delay,
// wakes each node when its timers are due, and runs the caller's own timed
// actions. Everything happens on one goroutine in time order (ties in the
// order they were scheduled), so the same seed gives the same run, byte for
// byte; Parallel only adds workers that check signatures ahead of it.
type SimNet struct {
	now   int64
	seq   uint64
	q     eventQueue
	rng   *rand.Rand
	nodes []*Node
	wake  []int64 // the wake-up time each node has scheduled (0: none)
	down  []bool  // a stopped or silenced node hears and says nothing
	// DelayMs and JitterMs: a message arrives DelayMs plus up to JitterMs
	// after it was sent.
	DelayMs, JitterMs int64
	// Err is the first error a node returned; Run stops on it.
	Err error
	// Delivered counts messages delivered.
	Delivered uint64

	// Parallel's workers: each message scheduled for delivery is checked
	// (Node.PreCheck) on them while the event loop goes on.
	checks *checkStack
}

// checkStack is Parallel's queue of checks. Workers take the newest: the
// event loop needs the oldest first and runs any it reaches before a
// worker has, so taking from the other end keeps the two from meeting on
// one check (and the loop from waiting for it).
type checkStack struct {
	mu      sync.Mutex
	cond    *sync.Cond
	items   []*precheck
	stopped bool
	wg      sync.WaitGroup
}

// maxQueuedChecks bounds the queue; past it a delivery checks for itself.
const maxQueuedChecks = 1 << 14

func (q *checkStack) push(c *precheck) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped || len(q.items) >= maxQueuedChecks {
		return false
	}
	q.items = append(q.items, c)
	q.cond.Signal()
	return true
}

// pop returns the newest check nobody has started, or nil once stopped.
func (q *checkStack) pop() *precheck {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.items) > 0 {
			c := q.items[len(q.items)-1]
			q.items[len(q.items)-1] = nil
			q.items = q.items[:len(q.items)-1]
			if c.state.Load() == 0 {
				return c
			}
		}
		if q.stopped {
			return nil
		}
		q.cond.Wait()
	}
}

// precheck is one message's signature check, ahead of its delivery: state
// 0 queued, 1 running, 2 done. Whoever moves it from 0 to 1 runs it (a
// worker, or the event loop when the delivery comes first); the delivery
// waits for a running one, so each signature is checked once, with the
// same counts as without workers.
type precheck struct {
	state atomic.Int32
	done  chan struct{}
	n     *Node
	topic Topic
	data  []byte
}

func (c *precheck) run() {
	if c.state.CompareAndSwap(0, 1) {
		_ = c.n.PreCheck(c.topic, c.data)
		c.state.Store(2)
		close(c.done)
	}
}

// wait runs the check if nobody has started it, else waits for it.
func (c *precheck) wait() {
	c.run()
	<-c.done
}

// Parallel starts workers goroutines that check the signatures of the
// messages in flight (Node.PreCheck, which only fills the receiving node's
// signature cache) while the event loop runs, so that a one-process
// network uses every core; the run is the same, event for event, as
// without them. Stop ends them. workers < 1 does nothing.
func (s *SimNet) Parallel(workers int) {
	if workers < 1 || s.checks != nil {
		return
	}
	q := &checkStack{}
	q.cond = sync.NewCond(&q.mu)
	s.checks = q
	for range workers {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for c := q.pop(); c != nil; c = q.pop() {
				c.run()
			}
		}()
	}
}

// Stop ends Parallel's workers. The checks still queued are dropped: a
// delivery runs its own if it comes.
func (s *SimNet) Stop() {
	q := s.checks
	if q == nil {
		return
	}
	q.mu.Lock()
	q.stopped, q.items = true, nil
	q.cond.Broadcast()
	q.mu.Unlock()
	q.wg.Wait()
	s.checks = nil
}

type event struct {
	at  int64
	seq uint64
	fn  func()
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// NewSimNet starts a network at virtual time startMs.
func NewSimNet(startMs int64, seed uint64) *SimNet {
	return &SimNet{now: startMs, rng: rand.New(rand.NewPCG(seed, 0x51e7)), DelayMs: 20, JitterMs: 30}
}

// Now is the virtual time in Unix ms.
func (s *SimNet) Now() int64 { return s.now }

// At runs fn at virtual time t (or now, if t is past).
func (s *SimNet) At(t int64, fn func()) {
	s.seq++
	heap.Push(&s.q, event{at: max(t, s.now), seq: s.seq, fn: fn})
}

// Endpoint returns the transport of node slot i (before the node exists).
func (s *SimNet) Endpoint(i int) Transport { return endpoint{s, i} }

// Client returns a transport for something that is not a node (homes, a
// utility's wallet): it can broadcast to every node.
func (s *SimNet) Client() Transport { return endpoint{s, -1} }

// Attach puts node n in slot i and schedules its first wake-up.
func (s *SimNet) Attach(i int, n *Node) {
	for len(s.nodes) <= i {
		s.nodes = append(s.nodes, nil)
		s.wake = append(s.wake, 0)
		s.down = append(s.down, false)
	}
	s.nodes[i] = n
	s.down[i] = false
	s.wake[i] = 0
	s.schedule(i)
}

// Detach removes node i (it crashed or was stopped).
func (s *SimNet) Detach(i int) {
	s.nodes[i] = nil
	s.down[i] = true
}

// SetDown silences node i (it stays in memory but hears and says nothing)
// or brings it back.
func (s *SimNet) SetDown(i int, down bool) {
	s.down[i] = down
	if !down {
		s.wake[i] = 0
		s.schedule(i)
	}
}

// schedule makes sure node i is woken at its next deadline.
func (s *SimNet) schedule(i int) {
	n := s.nodes[i]
	if n == nil || s.down[i] {
		return
	}
	t, ok := n.NextWakeMs()
	if !ok {
		return
	}
	t = max(t, s.now)
	if s.wake[i] != 0 && s.wake[i] <= t {
		return
	}
	s.wake[i] = t
	s.At(t, func() {
		if s.wake[i] != t || s.nodes[i] != n {
			return // superseded
		}
		if s.down[i] {
			s.wake[i] = 0 // SetDown(i, false) schedules it again
			return
		}
		s.wake[i] = 0
		s.fail(n.Tick(s.now))
		s.schedule(i)
	})
}

func (s *SimNet) fail(err error) {
	if err != nil && s.Err == nil {
		s.Err = err
	}
}

func (s *SimNet) delay() int64 {
	d := s.DelayMs
	if s.JitterMs > 0 {
		d += s.rng.Int64N(s.JitterMs + 1)
	}
	return d
}

// deliver hands data to node j after a delay.
func (s *SimNet) deliver(j int, topic Topic, data []byte) {
	var c *precheck
	if n := s.nodes[j]; s.checks != nil && n != nil && !s.down[j] {
		c = &precheck{done: make(chan struct{}), n: n, topic: topic, data: data}
		if !s.checks.push(c) {
			c = nil // the workers are far behind: the delivery checks
		}
	}
	s.At(s.now+s.delay(), func() {
		n := s.nodes[j]
		if n == nil || s.down[j] {
			return
		}
		if c != nil && c.n == n {
			c.wait()
		}
		s.Delivered++
		s.fail(n.Deliver(topic, data))
		s.schedule(j)
	})
}

// Run processes events until stop returns true, the queue empties or a
// node fails. Before each event, pace (if set) may wait for the wall clock.
func (s *SimNet) Run(stop func() bool, pace func(virtualMs int64)) error {
	for s.q.Len() > 0 && s.Err == nil && !stop() {
		e := heap.Pop(&s.q).(event)
		if pace != nil && e.at > s.now {
			pace(e.at)
		}
		s.now = e.at
		e.fn()
	}
	return s.Err
}

type endpoint struct {
	s  *SimNet
	id int
}

func (e endpoint) Broadcast(topic Topic, data []byte) {
	if e.id >= 0 && e.id < len(e.s.down) && e.s.down[e.id] {
		return
	}
	for j := range e.s.nodes {
		if j != e.id {
			e.s.deliver(j, topic, data)
		}
	}
}

// RequestBlocks asks the first live peer that is ahead for up to 64 blocks.
func (e endpoint) RequestBlocks(from uint64) {
	if e.id < 0 || e.id >= len(e.s.down) || e.s.down[e.id] {
		return
	}
	s := e.s
	s.At(s.now+s.delay(), func() {
		for j, p := range s.nodes {
			if j == e.id || p == nil || s.down[j] || p.Ledger().Height() < from {
				continue
			}
			for _, m := range p.ServeBlocks(from, 64) {
				s.deliver(e.id, TopicConsensus, m)
			}
			return
		}
	})
}
