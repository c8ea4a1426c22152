package smt

import "sync"

// topDepth is how many levels of internal nodes the tree keeps in memory:
// depths 0..topDepth-1, at most 2^topDepth - 1 nodes (about 4 MiB). Those
// are the nodes every walk passes through; in the database they are spread
// over the whole key range (nodes are stored in pre-order), so caching them
// leaves each walk with reads from one small region: its key's subtree.
const topDepth = 14

// topCache holds internal nodes by position. An entry is used only when
// its hash equals the hash the walk expects at that position (the parent's
// slot), so it cannot be stale or from another version: by collision
// resistance a node with the expected hash is the node. Entries are filled
// by reads and by Apply's writes (committed or not, which the hash check
// makes harmless). It never affects a result, only how many reads are made.
type topCache struct {
	mu      sync.Mutex
	entries []topEntry // index (1<<depth) - 1 + the first depth bits of the path
}

type topEntry struct {
	hash  [32]byte // zero: empty entry (no internal node hashes to zero)
	value node
}

func newTopCache() *topCache {
	return &topCache{entries: make([]topEntry, 1<<topDepth-1)}
}

func topIndex(depth int, path *[32]byte) int {
	bits := (uint32(path[0])<<8 | uint32(path[1])) >> (16 - uint(depth))
	return 1<<uint(depth) - 1 + int(bits)
}

func (c *topCache) get(depth int, path *[32]byte, want [32]byte) (node, bool) {
	if depth >= topDepth {
		return node{}, false
	}
	i := topIndex(depth, path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := &c.entries[i]; e.hash == want && want != EmptyRoot {
		return e.value, true
	}
	return node{}, false
}

func (c *topCache) put(depth int, path *[32]byte, hash [32]byte, n node) {
	if depth >= topDepth {
		return
	}
	i := topIndex(depth, path)
	c.mu.Lock()
	c.entries[i] = topEntry{hash: hash, value: n}
	c.mu.Unlock()
}
