package node

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/consensus/wal"
)

// walFS runs the consensus WAL on a pebble vfs.FS, the file system the
// ledger uses, so that one crash-simulating file system (vfs.MemFS with
// CrashClone) holds the node's whole data directory. A file's Sync is the
// vfs file's Sync; SyncDir opens the directory and syncs it, which is what
// makes a creation or rename durable on vfs.MemFS as on a real disk.
type walFS struct {
	fs vfs.FS
	// afterSync, if set, is called after every file or directory sync
	// has returned (the devnet's tests cut the power there).
	afterSync func()
}

var _ wal.FS = walFS{}

// OpenFile implements wal.FS for the flags the log uses: O_RDWR with
// O_CREATE, optionally O_TRUNC.
func (w walFS) OpenFile(name string, flag int, _ os.FileMode) (wal.File, error) {
	var f vfs.File
	var err error
	switch {
	case flag&os.O_TRUNC != 0 && flag&os.O_CREATE != 0:
		f, err = w.fs.Create(name, vfs.WriteCategoryUnspecified)
	case flag&os.O_CREATE != 0:
		f, err = w.fs.OpenReadWrite(name, vfs.WriteCategoryUnspecified)
	case flag&(os.O_RDWR|os.O_WRONLY) != 0:
		if _, err = w.fs.Stat(name); err == nil {
			f, err = w.fs.OpenReadWrite(name, vfs.WriteCategoryUnspecified)
		}
	default:
		f, err = w.fs.Open(name)
	}
	if err != nil {
		return nil, err
	}
	return &walFile{f: f, afterSync: w.afterSync}, nil
}

// Rename implements wal.FS.
func (w walFS) Rename(oldpath, newpath string) error { return w.fs.Rename(oldpath, newpath) }

// SyncDir implements wal.FS.
func (w walFS) SyncDir(dir string) error {
	err := syncDir(w.fs, dir)
	if err == nil && w.afterSync != nil {
		w.afterSync()
	}
	return err
}

// walFile gives a vfs.File (positional reads and writes) the offset that
// wal.File's Read, Write and Seek use.
type walFile struct {
	f         vfs.File
	off       int64
	afterSync func()
}

func (f *walFile) Read(p []byte) (int, error) {
	n, err := f.f.ReadAt(p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *walFile) Write(p []byte) (int, error) {
	n, err := f.f.WriteAt(p, f.off)
	f.off += int64(n)
	return n, err
}

func (f *walFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		st, err := f.f.Stat()
		if err != nil {
			return f.off, err
		}
		offset += st.Size()
	default:
		return f.off, errors.New("node: seek: bad whence")
	}
	if offset < 0 {
		return f.off, errors.New("node: seek: negative offset")
	}
	f.off = offset
	return offset, nil
}

func (f *walFile) Sync() error {
	err := f.f.Sync()
	if err == nil && f.afterSync != nil {
		f.afterSync()
	}
	return err
}

func (f *walFile) Close() error { return f.f.Close() }

// mkdirAllDurable creates dir and any missing parents on fs and syncs the
// parent of each directory it created, so that the new directories
// survive a crash (pebble does the same for its own directory, but only
// up to the closest existing parent: one that was just created without a
// sync would vanish with everything under it).
func mkdirAllDurable(fs vfs.FS, dir string) error {
	var created []string // dir and its missing parents, deepest first
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := fs.Stat(p); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		created = append(created, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	if len(created) == 0 {
		return nil
	}
	if err := fs.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := syncDir(fs, filepath.Dir(created[i])); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs a directory.
func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if e := d.Close(); err == nil {
		err = e
	}
	return err
}

// writeFileDurable writes a whole file on fs through a temporary file,
// synced and renamed into place, then syncs the directory: after a crash
// the file is there whole, or as it was before.
func writeFileDurable(fs vfs.FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = fs.Rename(tmp, name)
	}
	if err == nil {
		err = syncDir(fs, filepath.Dir(name))
	}
	return err
}
