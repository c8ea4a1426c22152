package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/gridmint/gridmint/ledger"
	"github.com/gridmint/gridmint/meter"
)

// Local submission: a transaction or a reading signed by the owner of a
// data directory reaches its node through the status socket
// (DIR/gridmint.sock, mode 0600), as geth's attach does through geth.ipc:
//
//	POST /v1/txs       the canonical bytes of a signed transaction
//	POST /v1/readings  the canonical bytes of a signed reading
//
// The body is application/octet-stream. The node checks the message as a
// peer's would be (decode, signature, chain id), then on its own goroutine
// admits it to the mempool or the reading pool, whose error (a nonce
// already used, a full pool) is the answer; only an admitted message is
// published to the peers. A 200 answer is {"hash": "<hex>"}; an error is
// {"code": "...", "message": "..."} with 400 (the message is invalid),
// 409 (a duplicate), 413 (too large), 503 (the node is stopping). Nothing
// is changed by a refused message. The public HTTP API (issue 19) will
// serve the same handler on its own listener.

// ErrNotDriving is a submission to a node whose Run has not started or
// has ended.
var ErrNotDriving = errors.New("node: not running (starting or stopping)")

// Do runs f on the node's goroutine, between two deliveries, and returns
// when f has returned; false if Run has ended (f did not run). f must not
// block.
func (t *P2PNet) Do(f func(*Node)) bool {
	done := make(chan struct{})
	select {
	case t.do <- func(n *Node) { f(n); close(done) }:
	case <-t.ctx.Done():
		return false
	}
	select {
	case <-done:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// SubmitLocal admits a message of this node's owner (TopicTx or
// TopicReading) and publishes it; the error says why it was refused.
func (t *P2PNet) SubmitLocal(topic Topic, data []byte) ([32]byte, error) {
	var hash [32]byte
	n := t.node.Load()
	if n == nil {
		return hash, ErrNotDriving
	}
	switch topic {
	case TopicTx:
		tx, err := ledger.DecodeTx(data)
		if err != nil {
			return hash, err
		}
		hash = tx.Hash()
	case TopicReading:
		r, err := meter.DecodeReading(data)
		if err != nil {
			return hash, err
		}
		hash = r.Hash()
	default:
		return hash, fmt.Errorf("node: topic %d cannot be submitted", topic)
	}
	if err := n.PreCheck(topic, data); err != nil {
		return hash, err
	}
	var err error
	if !t.Do(func(n *Node) {
		if topic == TopicTx {
			err = n.Pool.Add(data)
		} else {
			err = n.Readings.Add(data, n.cfg.Genesis.ChainID)
		}
	}) {
		return hash, ErrNotDriving
	}
	if err != nil {
		return hash, err
	}
	t.Broadcast(topic, data)
	return hash, nil
}

type submitError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// submitHandler serves POST /v1/txs (topic TopicTx) or /v1/readings.
func (t *P2PNet) submitHandler(topic Topic, maxBytes int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(maxBytes)))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeJSON(w, http.StatusRequestEntityTooLarge, submitError{"too_large", fmt.Sprintf("body over %d bytes", maxBytes)})
				return
			}
			writeJSON(w, http.StatusBadRequest, submitError{"bad_body", err.Error()})
			return
		}
		hash, err := t.SubmitLocal(topic, body)
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, map[string]string{"hash": hex.EncodeToString(hash[:])})
		case errors.Is(err, ErrNotDriving):
			writeJSON(w, http.StatusServiceUnavailable, submitError{"stopping", err.Error()})
		case errors.Is(err, ErrDuplicateTx):
			writeJSON(w, http.StatusConflict, submitError{"duplicate", err.Error()})
		default:
			writeJSON(w, http.StatusBadRequest, submitError{"invalid", err.Error()})
		}
	}
}

// SubmitError is a node's refusal of a local submission.
type SubmitError struct {
	Status  int
	Code    string
	Message string
}

func (e *SubmitError) Error() string {
	return fmt.Sprintf("node refused it (%s): %s", e.Code, e.Message)
}

// PostLocal submits a signed transaction (TopicTx) or reading
// (TopicReading) to the node running on data directory home, over its
// status socket, and returns the hash the node admitted; a *SubmitError
// says why the node refused it, ErrNotRunning that no node answers.
func PostLocal(ctx context.Context, home string, topic Topic, data []byte) ([32]byte, error) {
	var hash [32]byte
	path := map[Topic]string{TopicTx: "/v1/txs", TopicReading: "/v1/readings"}[topic]
	if path == "" {
		return hash, fmt.Errorf("node: topic %d cannot be submitted", topic)
	}
	sock := filepath.Join(home, StatusSocket)
	c := socketClient(sock)
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://gridmint"+path, bytes.NewReader(data))
	if err != nil {
		return hash, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return hash, fmt.Errorf("%w on %s: %v", ErrNotRunning, home, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		var e submitError
		if json.Unmarshal(b, &e) != nil || e.Code == "" {
			e = submitError{"http", strings.TrimSpace(string(b))}
		}
		return hash, &SubmitError{Status: resp.StatusCode, Code: e.Code, Message: e.Message}
	}
	var ok struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(b, &ok); err != nil {
		return hash, fmt.Errorf("submit: %w", err)
	}
	h, err := hex.DecodeString(ok.Hash)
	if err != nil || len(h) != 32 {
		return hash, fmt.Errorf("submit: bad hash %q", ok.Hash)
	}
	copy(hash[:], h)
	return hash, nil
}
