package node

import (
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/gridmint/gridmint/consensus/wal"
)

// syncCountingFS counts the syncs that reach it.
type syncCountingFS struct {
	vfs.FS
	syncs *atomic.Int64
}

func (fs syncCountingFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return syncCountingFile{f, fs.syncs}, nil
}
func (fs syncCountingFS) Create(n string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(n, c))
}
func (fs syncCountingFS) OpenReadWrite(n string, c vfs.DiskWriteCategory, o ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(n, c, o...))
}
func (fs syncCountingFS) OpenDir(n string) (vfs.File, error) { return fs.wrap(fs.FS.OpenDir(n)) }
func (fs syncCountingFS) ReuseForWrite(a, b string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(a, b, c))
}

type syncCountingFile struct {
	vfs.File
	syncs *atomic.Int64
}

func (f syncCountingFile) Sync() error     { f.syncs.Add(1); return f.File.Sync() }
func (f syncCountingFile) SyncData() error { f.syncs.Add(1); return f.File.SyncData() }
func (f syncCountingFile) SyncTo(n int64) (bool, error) {
	f.syncs.Add(1)
	return f.File.SyncTo(n)
}

type quietLogger struct{ t *testing.T }

func (quietLogger) Infof(string, ...any)        {}
func (l quietLogger) Errorf(f string, a ...any) { l.t.Logf(f, a...) }
func (l quietLogger) Fatalf(f string, a ...any) { l.t.Fatalf(f, a...) }

// TestUnsafeNoSyncFS: through unsafeNoSyncFS no sync of pebble (its log,
// with pebble.Sync writes, and its directory) or of the consensus WAL
// reaches the file system below, while the same writes without it do;
// the data is still written (read back).
func TestUnsafeNoSyncFS(t *testing.T) {
	for _, unsafe := range []bool{false, true} {
		var syncs atomic.Int64
		var fs vfs.FS = syncCountingFS{vfs.NewMem(), &syncs}
		if unsafe {
			fs = unsafeNoSyncFS{fs}
		}
		if err := mkdirAllDurable(fs, "/d/ledger"); err != nil {
			t.Fatal(err)
		}
		db, err := pebble.Open("/d/ledger", &pebble.Options{FS: fs, Logger: quietLogger{t}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if err := db.Set([]byte{byte(i)}, []byte("v"), pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}
		if v, c, err := db.Get([]byte{3}); err != nil || string(v) != "v" {
			t.Fatalf("read back: %q, %v", v, err)
		} else {
			c.Close()
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		w, err := wal.Open(walFS{fs: fs}, "/d", "cs.wal")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Append([][]byte{[]byte("record")}, true); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if got := syncs.Load(); unsafe && got != 0 || !unsafe && got < 10 {
			t.Fatalf("unsafe %v: %d syncs reached the file system", unsafe, got)
		}
		t.Logf("unsafe %v: %d syncs reached the file system", unsafe, syncs.Load())
	}
}

// TestDevnetUnsafeNoSync: skipping fsync is refused for a devnet whose
// data is kept, or that runs on the wall clock, or on the crashable file
// system; where it is allowed the chain is the same, byte for byte.
func TestDevnetUnsafeNoSync(t *testing.T) {
	for _, cfg := range []DevnetConfig{
		{Validators: 1, Deterministic: true, Dir: t.TempDir(), UnsafeNoSync: true},
		{Validators: 1, UnsafeNoSync: true},
		{Validators: 1, Deterministic: true, CrashableFS: true, UnsafeNoSync: true},
	} {
		if d, err := NewDevnet(cfg); err == nil {
			d.Close()
			t.Fatalf("%+v: accepted", cfg)
		}
	}
	cfg := DevnetConfig{Validators: 4, Homes: 3, Seed: 9, Blocks: 40, Deterministic: true}
	a := runDevnet(t, cfg)
	cfg.UnsafeNoSync = true
	b := runDevnet(t, cfg)
	if !a.RootsAgree || !b.RootsAgree || a.Height != b.Height || a.StateRoot != b.StateRoot {
		t.Fatalf("with fsync: height %d root %x; without: height %d root %x", a.Height, a.StateRoot, b.Height, b.StateRoot)
	}
}
