package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint/codec"
	"github.com/gridmint/gridmint/ledger/smt"
	"github.com/gridmint/gridmint/wallet"
)

// State keys. Every piece of chain state is one key of the authenticated
// tree; the key's first bytes name its kind. Keys are built by the functions
// below only.
const (
	pfxParams     = "params"
	pfxSupply     = "supply"
	pfxChain      = "chain"       // chain-wide counters (see chainState)
	pfxAccount    = "acct/"       // + address → Account
	pfxValCands   = "valcands"    // sorted list of validator candidates
	pfxValSet     = "valset"      // the active validator set
	pfxConsKey    = "conskey/"    // + consensus address → operator address
	pfxUnbondQ    = "unbondq/"    // + maturity height (8 bytes BE) → []unbonding
	pfxSite       = "site/"       // + site id → Site
	pfxReading    = "reading/"    // + site id + interval (8 bytes BE) → Reading
	pfxRECQueue   = "recq/"       // + hour index (8 bytes BE) + shard (1 byte) → sites with PV pending in that hour
	pfxREC        = "rec/"        // + certificate id (8 bytes BE) → REC
	pfxEvidence   = "evidence/"   // + consensus address + offence height → seen
	pfxFlexReq    = "flexreq/"    // + request id → FlexRequest
	pfxFlexSet    = "flexset/"    // + request id → FlexSettlement
	pfxFlexOpen   = "flexopen"    // open request ids (idList)
	pfxFlexDel    = "flexdel"     // delivered Wh per site this epoch
	pfxPage       = "page/"       // + site + genesis day (8 bytes BE) → dayPage
	pfxEvents     = "events/"     // + site → siteEvents
	pfxSiteFlex   = "siteflex/"   // + site → siteCommitments (open commitments)
	pfxFlexSeason = "flexseason/" // + site + season (8 bytes BE) → FlexSeason
	pfxFlexDebt   = "flexdebt/"   // + site → siteDebt (outstanding season debt)
)

func accountKey(a wallet.Address) []byte { return append([]byte(pfxAccount), a[:]...) }
func consKeyKey(a wallet.Address) []byte { return append([]byte(pfxConsKey), a[:]...) }
func siteKey(s wallet.Address) []byte    { return append([]byte(pfxSite), s[:]...) }
func u64Key(prefix string, v uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefix), v)
}
func readingKey(s wallet.Address, interval uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(pfxReading), s[:]...), interval)
}

// errInternal marks failures of the node itself (storage, corrupt state):
// they abort the block instead of failing one transaction.
var errInternal = errors.New("ledger: internal error")

// reader is where a view reads what it has not written.
type reader interface {
	get(key []byte) ([]byte, bool, error)
}

// treeReader reads the committed state.
type treeReader struct{ t *smt.Tree }

func (r treeReader) get(key []byte) ([]byte, bool, error) { return r.t.Get(key) }

// write is a pending change in a view.
type write struct {
	val []byte
	del bool
}

// view is a layer of uncommitted changes over a reader. A block executes in
// one view over the committed tree; each transaction executes in a child
// view that is merged into the block's view if the transaction succeeds and
// dropped if it fails, so a failed transaction changes nothing but its fee
// and nonce.
type view struct {
	parent reader
	writes map[string]write
}

func newView(parent reader) *view { return &view{parent: parent, writes: make(map[string]write)} }

func (v *view) get(key []byte) ([]byte, bool, error) {
	if w, ok := v.writes[string(key)]; ok {
		if w.del {
			return nil, false, nil
		}
		return w.val, true, nil
	}
	return v.parent.get(key)
}

func (v *view) set(key, val []byte) { v.writes[string(key)] = write{val: val} }
func (v *view) del(key []byte)      { v.writes[string(key)] = write{del: true} }

// merge copies v's writes into its parent view. Copying a map into a map
// gives the same result in any iteration order.
func (v *view) merge() {
	p := v.parent.(*view)
	for k, w := range v.writes {
		p.writes[k] = w
	}
	clear(v.writes)
}

// changes returns the view's writes sorted by key, for the tree.
func (v *view) changes() []smt.Change {
	keys := make([]string, 0, len(v.writes))
	for k := range v.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]smt.Change, 0, len(keys))
	for _, k := range keys {
		w := v.writes[k]
		out = append(out, smt.Change{Key: []byte(k), Value: w.val, Delete: w.del})
	}
	return out
}

// load decodes the value at key into dst; it reports whether it existed.
func (v *view) load(key []byte, dst codec.Decodable) (bool, error) {
	b, ok, err := v.get(key)
	if err != nil {
		return false, fmt.Errorf("%w: reading %q: %v", errInternal, key, err)
	}
	if !ok {
		return false, nil
	}
	if err := codec.Decode(b, dst); err != nil {
		return false, fmt.Errorf("%w: decoding %q: %v", errInternal, key, err)
	}
	return true, nil
}

// store encodes src at key.
func (v *view) store(key []byte, src codec.Encodable) { v.set(key, codec.Encode(src)) }
