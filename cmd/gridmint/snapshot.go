package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/gridmint/gridmint/ledger"
)

// openLedgerSnapshot opens a read-only copy of the pebble store in dir, for
// audits that must work on a store they may not touch: a read-only
// directory, or the store of a running node or devnet.
//
// Opening the store itself, even with pebble's ReadOnly option, takes its
// lock: pebble creates (truncates) DIR/LOCK and locks it with fcntl, so it
// fails on a read-only directory ("permission denied"), fails while a node
// has the store open ("resource temporarily unavailable"), and, run as root
// on a directory chmod'ed read-only, still writes the LOCK file. So the
// store's files are copied to a temporary directory (only read, never
// locked or written) and the copy is opened.
//
// The copy is consistent when the store's set of file names is the same
// before and after it: pebble never rewrites a file in place, so while the
// names stay the same the only changes are appends to the live WAL and
// MANIFEST, and the copy is what a crash at some instant would have left
// (pebble drops a torn WAL tail on open). A flush, a compaction or a new
// MANIFEST adds or removes names; the copy is then made again (up to five
// times). The cost is a copy of the store: small for a devnet, the size of
// the chain's state for a long-running node.
func openLedgerSnapshot(dir string, g *ledger.Genesis) (*ledger.Ledger, func(), error) {
	tmp, err := os.MkdirTemp("", "gridmint-mv-snapshot-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		snap := filepath.Join(tmp, fmt.Sprintf("ledger-%d", attempt))
		if err := copyStore(dir, snap); err != nil {
			lastErr = err
			if errors.Is(err, errStoreMissing) {
				break
			}
			continue
		}
		l, err := ledger.Open(snap, g, ledger.Options{ReadOnly: true})
		if err != nil {
			lastErr = err
			if errors.Is(err, ledger.ErrGenesisMismatch) || errors.Is(err, ledger.ErrNotFound) {
				break
			}
			continue
		}
		return l, func() { l.Close(); cleanup() }, nil
	}
	cleanup()
	return nil, nil, fmt.Errorf("reading the store %s: %w", dir, lastErr)
}

var errStoreMissing = errors.New("no store there")

// errStoreChanged says the store changed its files while being copied.
var errStoreChanged = errors.New("the store changed while being copied")

// copyStore copies the regular files of the pebble store src (not its
// LOCK) into a new directory dst, and fails with errStoreChanged if src's
// file names changed meanwhile.
func copyStore(src, dst string) error {
	before, err := storeFiles(src)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %v", errStoreMissing, err)
	}
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	for _, name := range before {
		if err := copyFile(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%w: %s went away", errStoreChanged, name)
			}
			return err
		}
	}
	after, err := storeFiles(src)
	if err != nil {
		return err
	}
	if !slices.Equal(before, after) {
		return errStoreChanged
	}
	return nil
}

func storeFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name() != "LOCK" {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
