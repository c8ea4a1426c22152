package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/gridmint/gridmint/wallet"
)

// TxLocation is where a committed transaction is: block height and index.
type TxLocation struct {
	Height uint64
	Index  uint32
	Hash   [32]byte
}

// ErrNotFound is returned by lookups of things that were never committed.
var ErrNotFound = errors.New("ledger: not found")

// FindTx returns where the transaction with hash h was committed.
func (l *Ledger) FindTx(h [32]byte) (TxLocation, error) {
	v, closer, err := l.db.Get(append([]byte(dbTxIndex), h[:]...))
	if errors.Is(err, pebble.ErrNotFound) {
		return TxLocation{}, ErrNotFound
	}
	if err != nil {
		return TxLocation{}, fmt.Errorf("ledger: tx index: %w", err)
	}
	defer closer.Close()
	if len(v) != 12 {
		return TxLocation{}, fmt.Errorf("%w: tx index entry of %d bytes", errInternal, len(v))
	}
	return TxLocation{Height: binary.BigEndian.Uint64(v), Index: binary.BigEndian.Uint32(v[8:]), Hash: h}, nil
}

// TxsByAddress lists the transactions sent by or to addr (transfers and REC
// transfers name their receiver), newest first, at most limit.
func (l *Ledger) TxsByAddress(addr wallet.Address, limit int) ([]TxLocation, error) {
	return l.scanIndex(append([]byte(dbAddr), addr[:]...), limit, true)
}

// TxsBySite lists the transactions that touched a site (registration,
// updates, reading batches with one of its readings), newest first.
func (l *Ledger) TxsBySite(site wallet.Address, limit int) ([]TxLocation, error) {
	return l.scanIndex(append([]byte(dbSite), site[:]...), limit, false)
}

// scanIndex walks prefix + height + index keys backwards. withHash: the
// value is the tx hash; otherwise the hash is read from the block.
func (l *Ledger) scanIndex(prefix []byte, limit int, withHash bool) ([]TxLocation, error) {
	upper := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("ledger: index: %w", err)
	}
	defer it.Close()
	var out []TxLocation
	for ok := it.Last(); ok && len(out) < limit; ok = it.Prev() {
		k := it.Key()[len(prefix):]
		if len(k) != 12 {
			return nil, fmt.Errorf("%w: index key of %d bytes", errInternal, len(k))
		}
		loc := TxLocation{Height: binary.BigEndian.Uint64(k), Index: binary.BigEndian.Uint32(k[8:])}
		if withHash {
			copy(loc.Hash[:], it.Value())
		} else {
			res, err := l.Results(loc.Height)
			if err != nil {
				return nil, err
			}
			if int(loc.Index) >= len(res.Receipts) {
				return nil, fmt.Errorf("%w: index points past block %d's receipts", errInternal, loc.Height)
			}
			loc.Hash = res.Receipts[loc.Index].TxHash
		}
		out = append(out, loc)
	}
	return out, it.Error()
}
