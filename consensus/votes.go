package consensus

// voteSet holds the votes of one type in one round: at most one counted
// vote per validator (the first one received; a second, conflicting one is
// evidence, never counted), and the power behind each block hash.
type voteSet struct {
	votes      []*Vote // by validator index
	conflicted []bool  // by validator index: evidence already reported
	total      uint64  // power of all counted votes
	byHash     []hashPower
}

type hashPower struct {
	hash  Hash
	power uint64
}

func newVoteSet(n int) voteSet {
	return voteSet{votes: make([]*Vote, n), conflicted: make([]bool, n)}
}

// add counts v from validator idx with power. It returns whether v was new,
// and the earlier vote if v conflicts with it (same validator, different
// block hash).
func (s *voteSet) add(v *Vote, idx int, power uint64) (added bool, conflict *Vote) {
	if old := s.votes[idx]; old != nil {
		if old.BlockHash != v.BlockHash && !s.conflicted[idx] {
			s.conflicted[idx] = true
			return false, old
		}
		return false, nil
	}
	s.votes[idx] = v
	s.total += power
	for i := range s.byHash {
		if s.byHash[i].hash == v.BlockHash {
			s.byHash[i].power += power
			return true, nil
		}
	}
	s.byHash = append(s.byHash, hashPower{v.BlockHash, power})
	return true, nil
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
