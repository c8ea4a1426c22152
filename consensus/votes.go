package consensus

// voteSet holds the votes of one type in one round.
//
// The paper counts messages: "2f+1 PREVOTE(h, r, id(v))" holds when
// validators with that much power sent a prevote for id(v), whatever else
// they may also have sent. A Byzantine validator that shows one vote to
// half the network and a conflicting one to the other half therefore counts
// towards both hashes, or honest nodes that saw different halves could
// never agree on a proof-of-lock. Each validator counts once towards the
// total ("2f+1 PREVOTE(h, r, *)") and at most once per hash. To bound
// memory, a conflicting vote is counted only for a hash the engine cares
// about (nil, or a proposed value); any conflict is reported as evidence.
type voteSet struct {
	votes      []*Vote // by validator index: the first vote received
	conflicted []bool  // by validator index: evidence already reported
	extra      []*Vote // conflicting votes that are counted, for distinct (validator, hash)
	extraIdx   []int   // validator index of each extra vote
	total      uint64  // power of the validators that voted, each once
	byHash     []hashPower
}

type hashPower struct {
	hash  Hash
	power uint64
}

func newVoteSet(n int) voteSet {
	return voteSet{votes: make([]*Vote, n), conflicted: make([]bool, n)}
}

// add records v from validator idx with power. It returns whether v was
// counted, and the earlier vote if v is the first conflict seen from idx
// (for evidence). counted says whether a conflicting vote's hash is worth
// counting.
func (s *voteSet) add(v *Vote, idx int, power uint64, counted func(Hash) bool) (added bool, conflict *Vote) {
	old := s.votes[idx]
	if old == nil {
		s.votes[idx] = v
		s.total += power
		s.addPower(v.BlockHash, power)
		return true, nil
	}
	if old.BlockHash == v.BlockHash {
		return false, nil
	}
	if !s.conflicted[idx] {
		s.conflicted[idx] = true
		conflict = old
	}
	for i, x := range s.extra {
		if s.extraIdx[i] == idx && x.BlockHash == v.BlockHash {
			return false, conflict
		}
	}
	if counted == nil || !counted(v.BlockHash) {
		return false, conflict
	}
	s.extra = append(s.extra, v)
	s.extraIdx = append(s.extraIdx, idx)
	s.addPower(v.BlockHash, power)
	return true, conflict
}

func (s *voteSet) addPower(h Hash, power uint64) {
	for i := range s.byHash {
		if s.byHash[i].hash == h {
			s.byHash[i].power += power
			return
		}
	}
	s.byHash = append(s.byHash, hashPower{h, power})
}

// voteFor returns validator idx's vote for h, if one is counted.
func (s *voteSet) voteFor(idx int, h Hash) *Vote {
	if v := s.votes[idx]; v != nil && v.BlockHash == h {
		return v
	}
	for i, x := range s.extra {
		if s.extraIdx[i] == idx && x.BlockHash == h {
			return x
		}
	}
	return nil
}

// has reports whether an identical vote is already recorded.
func (s *voteSet) has(idx int, v *Vote) bool {
	if old := s.votes[idx]; old != nil && sameVote(old, v) {
		return true
	}
	for i, x := range s.extra {
		if s.extraIdx[i] == idx && sameVote(x, v) {
			return true
		}
	}
	return false
}

// powerFor returns the power of the votes for h.
func (s *voteSet) powerFor(h Hash) uint64 {
	for i := range s.byHash {
		if s.byHash[i].hash == h {
			return s.byHash[i].power
		}
	}
	return 0
}

// roundState is everything the engine knows about one round of the
// current height.
type roundState struct {
	proposal    *Proposal
	validity    int8 // 0 not yet asked, 1 valid(v), -1 not valid
	proposerIdx int  // -1 until computed
	// proposalConflict: a second, different signed proposal was seen and
	// reported as evidence.
	proposalConflict bool

	prevotes   voteSet
	precommits voteSet

	// "for the first time" guards of the paper's upon-rules.
	prevoteWaitDone   bool // line 34
	lockOrValidDone   bool // line 36
	precommitWaitDone bool // line 47
}

func newRoundState(n int) *roundState {
	return &roundState{proposerIdx: -1, prevotes: newVoteSet(n), precommits: newVoteSet(n)}
}

func (r *roundState) votes(t VoteType) *voteSet {
	if t == Prevote {
		return &r.prevotes
	}
	return &r.precommits
}
