package consensus

import "testing"

// TestPaperRules has one case per rule of Algorithm 1 of "The latest gossip
// on BFT consensus" (Buchman, Kwon, Milosevic 2018), named by its lines,
// in the style of etcd raft's raft_paper_test.go. The script language is
// described in harness_test.go. Validator 3 is the engine under test;
// 2f+1 is any three of the four validators, f+1 any two.
func TestPaperRules(t *testing.T) {
	cases := []struct {
		rule, name, script string
	}{
		{"11-21", "StartRound: a non-proposer waits for the proposal", `
			state height=1 round=0 step=propose locked=-1/nil valid=-1/nil
			sent -`},
		{"14-19", "StartRound: the proposer proposes getValue() when it has no valid value", `
			# rounds 0-2 fail by timeouts so that round 3 is ours
			timeout
			sent prevote 0 nil
			prevote 0 nil 0,1,2
			sent precommit 0 nil
			precommit 0 nil 0,1,2
			timeout
			state round=1 step=propose
			sent -
			timeout
			prevote 1 nil 0,1,2
			precommit 1 nil 0,1,2
			timeout
			timeout
			prevote 2 nil 0,1,2
			precommit 2 nil 0,1,2
			timeout
			state round=3
			sent prevote 1 nil; precommit 1 nil; prevote 2 nil; precommit 2 nil; proposal 3 M -1; prevote 3 M`},
		{"15-16", "StartRound: the proposer proposes its valid value with its valid round", `
			proposal 0 A
			sent prevote 0 A
			prevote 0 A 0,1
			sent precommit 0 A
			state valid=0/A locked=0/A
			precommit 0 nil 0,1,2
			timeout
			timeout
			prevote 1 nil 0,1,2
			precommit 1 nil 0,1,2
			timeout
			timeout
			prevote 2 nil 0,1,2
			precommit 2 nil 0,1,2
			timeout
			state round=3
			sent prevote 1 nil; precommit 1 nil; prevote 2 nil; precommit 2 nil; proposal 3 A 0; prevote 3 A`},
		{"22-27", "a valid proposal with vr=-1 gets a prevote when unlocked", `
			proposal 0 A
			sent prevote 0 A
			state step=prevote`},
		{"22-27", "an invalid proposal gets a nil prevote", `
			proposal 0 X
			sent prevote 0 nil
			state step=prevote`},
		{"22-27", "a locked validator prevotes nil for another value", `
			proposal 0 A
			prevote 0 A 0,1
			sent prevote 0 A; precommit 0 A
			state locked=0/A
			precommit 0 nil 0,1,2
			timeout
			proposal 1 B
			sent prevote 1 nil`},
		{"22-27", "a locked validator prevotes its locked value again", `
			proposal 0 A
			prevote 0 A 0,1
			precommit 0 nil 0,1,2
			timeout
			sent prevote 0 A; precommit 0 A
			proposal 1 A
			sent prevote 1 A`},
		{"28-33", "a proposal with a proof-of-lock from vr >= lockedRound gets a prevote", `
			proposal 0 A
			prevote 0 A 0,1
			sent prevote 0 A; precommit 0 A
			precommit 0 nil 0,1,2
			timeout
			# round 1: B gets 2f+1 prevotes but we miss its proposal
			prevote 1 B 0,1,2
			timeout
			timeout
			sent prevote 1 nil; precommit 1 nil
			precommit 1 nil 0,1,2
			timeout
			state round=2 locked=0/A
			proposal 2 B 1
			sent prevote 2 B`},
		{"28-33", "a proposal whose vr is below our lock gets a nil prevote", `
			# round 0 fails; we lock A in round 1
			timeout
			prevote 0 nil 0,1,2
			sent prevote 0 nil; precommit 0 nil
			precommit 0 nil 0,1,2
			timeout
			proposal 1 A
			prevote 1 A 0,1
			sent prevote 1 A; precommit 1 A
			state locked=1/A
			# B had a proof-of-lock in round 0, older than our lock
			prevote 0 B 0
			precommit 1 nil 0,1,2
			timeout
			proposal 2 B 0
			sent -
			state step=propose`},
		{"28-33", "a proposal with vr but no proof-of-lock waits for one", `
			proposal 0 A
			sent prevote 0 A
			prevote 0 nil 0,1,2
			sent precommit 0 nil
			precommit 0 nil 0,1,2
			timeout
			state round=1
			proposal 1 B 0
			sent -
			prevote 0 B 0
			sent -
			prevote 0 B 1
			sent -
			state step=propose`},
		{"34-35", "2f+1 prevotes for anything start timeoutPrevote", `
			proposal 0 A
			prevote 0 B 0
			prevote 0 nil 1
			sent prevote 0 A
			timeout
			sent precommit 0 nil
			state step=precommit`},
		{"36-43", "a proposal with 2f+1 prevotes at step prevote: lock, precommit, valid value", `
			proposal 0 A
			prevote 0 A 0,1
			sent prevote 0 A; precommit 0 A
			state step=precommit locked=0/A valid=0/A`},
		{"36-43", "at step precommit, 2f+1 prevotes (one equivocating) only update the valid value", `
			proposal 0 A
			prevote 0 nil 0
			prevote 0 B 1
			timeout
			sent prevote 0 A; precommit 0 nil
			prevote 0 A 2
			state step=precommit locked=-1/nil valid=-1/nil
			prevote 0 A 1
			state step=precommit locked=-1/nil valid=0/A
			sent -`},
		{"44-46", "2f+1 nil prevotes: precommit nil", `
			proposal 0 A
			prevote 0 nil 0,1,2
			sent prevote 0 A; precommit 0 nil
			state step=precommit locked=-1/nil`},
		{"47-48", "2f+1 precommits for anything start timeoutPrecommit; it starts the next round", `
			proposal 0 A
			precommit 0 A 0
			precommit 0 nil 1
			precommit 0 B 2
			state round=0
			timeout
			state round=1 step=propose`},
		{"49-54", "a proposal and 2f+1 precommits for it decide", `
			proposal 0 A
			precommit 0 A 0,1,2
			decided A
			state height=2 round=0 step=propose locked=-1/nil valid=-1/nil`},
		{"49-54", "a decision can come from an earlier round", `
			# we missed round 0; f+1 messages of round 1 move us there
			precommit 0 A 0,1
			prevote 1 nil 0,1
			state round=1
			proposal 0 A
			undecided
			precommit 0 A 2
			decided A
			state height=2 round=0`},
		{"49-54", "the proposal may come after the precommits", `
			precommit 0 A 0,1,2
			undecided
			proposal 0 A
			decided A`},
		{"49-54", "an invalid value is never decided", `
			proposal 0 X
			precommit 0 X 0,1,2
			undecided`},
		{"55-56", "f+1 messages of a later round skip to it", `
			prevote 5 nil 0
			state round=0
			precommit 5 nil 1
			state round=5 step=propose`},
		{"55-56", "f messages of a later round do not", `
			prevote 5 nil 0
			precommit 7 nil 0
			state round=0`},
		{"57-60", "timeoutPropose: prevote nil", `
			timeout
			sent prevote 0 nil
			state step=prevote`},
		{"61-64", "timeoutPrevote: precommit nil", `
			proposal 0 A
			prevote 0 nil 0
			prevote 0 B 1
			timeout
			sent prevote 0 A; precommit 0 nil
			state step=precommit`},
		{"65-67", "timeoutPrecommit: next round", `
			precommit 0 nil 0,1,2
			timeout
			state round=1`},
		{"evidence", "a second, different vote by one validator is evidence", `
			prevote 0 A 1
			prevote 0 B 1
			evidence 1`},
	}
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			newHarness(t).run(c.script)
		})
	}
}
