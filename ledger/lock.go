package ledger

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
)

// ErrInUse is returned by Open when another process (another gridmint
// node, devnet or tool), or this one, has the store open: pebble holds a
// lock on DIR/LOCK while a store is open.
var ErrInUse = errors.New("ledger: store in use")

// lockHeld reports whether err is pebble failing to take the store's lock
// because someone holds it: fcntl's EAGAIN or EACCES (POSIX allows either)
// from another process, or pebble's own check within this process. A
// failure to create the LOCK file (a *fs.PathError, e.g. a read-only
// directory) is not that.
func lockHeld(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}
