package node

import "github.com/cockroachdb/pebble/v2/vfs"

// unsafeNoSyncFS is a vfs.FS whose files and directories never reach
// stable storage on request: Sync, SyncData and SyncTo return at once. A
// node on it loses whatever the operating system had not yet written when
// the machine stops, the ledger's last blocks and the consensus WAL's
// signed votes included: it may restart below what it committed, or sign
// a conflicting vote. It exists only for NodeConfig.UnsafeNoSync, which
// only the deterministic devnet on a temporary directory sets (see
// DevnetConfig.UnsafeNoSync).
type unsafeNoSyncFS struct{ vfs.FS }

func (fs unsafeNoSyncFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return unsafeNoSyncFile{f}, nil
}

func (fs unsafeNoSyncFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, c))
}

func (fs unsafeNoSyncFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.Open(name, opts...))
}

func (fs unsafeNoSyncFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, c, opts...))
}

func (fs unsafeNoSyncFS) OpenDir(name string) (vfs.File, error) { return fs.wrap(fs.FS.OpenDir(name)) }

func (fs unsafeNoSyncFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname, c))
}

// unsafeNoSyncFile is a vfs.File whose syncs do nothing.
type unsafeNoSyncFile struct{ vfs.File }

func (unsafeNoSyncFile) Sync() error                { return nil }
func (unsafeNoSyncFile) SyncData() error            { return nil }
func (unsafeNoSyncFile) SyncTo(int64) (bool, error) { return false, nil }
