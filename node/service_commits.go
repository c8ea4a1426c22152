package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/gridmint/gridmint/ledger"
)

// CommitRecord is one committed block as the status socket's
// /v1/commits shows it: its height, when this node committed it (Unix
// ms, this node's wall clock) and its transactions' hashes (SHA-256 of
// each canonical encoding, hex). A load driver (bench/chain) matches them
// to what it submitted for submit-to-commit latency.
type CommitRecord struct {
	Height uint64   `json:"height"`
	TimeMs int64    `json:"time_ms"`
	Txs    []string `json:"txs"`
}

// commitLogBlocks is how many recent commits /v1/commits keeps.
const commitLogBlocks = 1024

// commitLog keeps the last commitLogBlocks commits; the node's goroutine
// adds, the status server's reads.
type commitLog struct {
	mu   sync.Mutex
	recs []CommitRecord
}

func (c *commitLog) add(height uint64, timeMs int64, b *ledger.Block) {
	r := CommitRecord{Height: height, TimeMs: timeMs, Txs: make([]string, len(b.Txs))}
	for i, tx := range b.Txs {
		h := sha256.Sum256(tx)
		r.Txs[i] = hex.EncodeToString(h[:])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recs) == commitLogBlocks {
		c.recs = append(c.recs[:0], c.recs[1:]...)
	}
	c.recs = append(c.recs, r)
}

// since returns the kept commits above height from, oldest first.
func (c *commitLog) since(from uint64) []CommitRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []CommitRecord{}
	for _, r := range c.recs {
		if r.Height > from {
			out = append(out, r)
		}
	}
	return out
}

func (s *Service) serveCommits(w http.ResponseWriter, r *http.Request) {
	var from uint64
	if v := r.URL.Query().Get("after"); v != "" {
		var err error
		if from, err = strconv.ParseUint(v, 10, 64); err != nil {
			http.Error(w, "after: want a height", http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.commits.since(from))
}

// QueryCommits asks the node running on data directory home for the
// blocks it committed above height after (the last 1,024 at most), over
// DIR/gridmint.sock.
func QueryCommits(ctx context.Context, home string, after uint64) ([]CommitRecord, error) {
	var out []CommitRecord
	if err := getLocal(ctx, home, "commits", "/v1/commits?after="+strconv.FormatUint(after, 10), 1<<30, &out); err != nil {
		return nil, err
	}
	return out, nil
}
