package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/consensus"
)

var _ consensus.WAL = (*Log)(nil)

// memFS is an in-memory file system that can crash: each file keeps what
// was fsynced and what was only written; a crash keeps a random prefix of
// the unsynced bytes. Names (creations, renames) are durable only once the
// directory is synced: a crash brings back the names of the last SyncDir.
// With failAfter > 0, the failAfter-th write is torn (a random prefix of
// it lands) and every later operation fails, as if the machine had lost
// power there.
type memFS struct {
	files     map[string]*memData
	durable   map[string]*memData // the names as of the last SyncDir
	failDir   bool                // SyncDir fails (an I/O error, not a crash)
	writes    int
	failAfter int
	dead      bool
	rng       *rand.Rand
}

type memData struct {
	data   []byte
	synced int
}

type memFile struct {
	fs  *memFS
	d   *memData
	off int64
}

var errPowerCut = errors.New("memfs: power cut")

func newMemFS(seed uint64) *memFS {
	return &memFS{files: map[string]*memData{}, rng: rand.New(rand.NewPCG(seed, 9))}
}

func (fs *memFS) OpenFile(name string, flag int, _ os.FileMode) (File, error) {
	if fs.dead {
		return nil, errPowerCut
	}
	d, ok := fs.files[name]
	if !ok {
		if flag&os.O_CREATE == 0 {
			return nil, os.ErrNotExist
		}
		d = &memData{}
		fs.files[name] = d
	}
	if flag&os.O_TRUNC != 0 {
		d.data, d.synced = nil, 0
	}
	return &memFile{fs: fs, d: d}, nil
}

// Rename is atomic; it is durable after SyncDir.
func (fs *memFS) Rename(oldpath, newpath string) error {
	if fs.dead {
		return errPowerCut
	}
	fs.files[newpath] = fs.files[oldpath]
	delete(fs.files, oldpath)
	return nil
}

func (fs *memFS) SyncDir(string) error {
	if fs.dead {
		return errPowerCut
	}
	if fs.failDir {
		return errors.New("memfs: directory sync failed")
	}
	fs.durable = maps.Clone(fs.files)
	return nil
}

// reboot simulates the machine coming back: names not made durable by
// SyncDir are lost, unsynced bytes are partly lost.
func (fs *memFS) reboot() {
	fs.files = maps.Clone(fs.durable)
	if fs.files == nil {
		fs.files = map[string]*memData{}
	}
	for _, d := range fs.files {
		keep := d.synced + fs.rng.IntN(len(d.data)-d.synced+1)
		d.data = d.data[:keep]
		d.synced = keep
	}
	fs.dead = false
	fs.failAfter = 0
	fs.writes = 0
}

func (f *memFile) Read(p []byte) (int, error) {
	if f.fs.dead {
		return 0, errPowerCut
	}
	if f.off >= int64(len(f.d.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.d.data[f.off:])
	f.off += int64(n)
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if f.fs.dead {
		return 0, errPowerCut
	}
	f.fs.writes++
	if f.fs.failAfter > 0 && f.fs.writes == f.fs.failAfter {
		part := p[:f.fs.rng.IntN(len(p)+1)]
		f.d.data = append(f.d.data[:f.off], part...)
		f.fs.dead = true
		return len(part), errPowerCut
	}
	f.d.data = append(f.d.data[:f.off], p...)
	f.off += int64(len(p))
	return len(p), nil
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekStart {
		return 0, errors.New("memfs: only SeekStart")
	}
	f.off = offset
	return offset, nil
}

func (f *memFile) Sync() error {
	if f.fs.dead {
		return errPowerCut
	}
	f.d.synced = len(f.d.data)
	return nil
}

func (f *memFile) Close() error { return nil }

func rec(i int) []byte {
	return []byte(fmt.Sprintf("record-%d-%s", i, bytes.Repeat([]byte{'x'}, i%17)))
}

func TestRoundTripOnDisk(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := l.Append([][]byte{rec(i)}, i%3 == 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := l.ReadAll()
	if len(got) != 10 || !bytes.Equal(got[9], rec(9)) {
		t.Fatalf("read %d records", len(got))
	}
	if err := l.Replace([][]byte{rec(42)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([][]byte{rec(43)}, true); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = l.ReadAll()
	if len(got) != 2 || !bytes.Equal(got[0], rec(42)) || !bytes.Equal(got[1], rec(43)) {
		t.Fatalf("after replace: %q", got)
	}
	l.Close()
}

// TestTornTail cuts the file at every offset inside the last frame and
// flips every bit of it: Open must keep the records before it, drop it and
// truncate, and the next append must be readable.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal")
	l, err := Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([][]byte{rec(1), rec(2), rec(3)}, true); err != nil {
		t.Fatal(err)
	}
	l.Close()
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := len(full) - syncedHeaderLen - len(rec(3))
	check := func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(OSFS{}, dir, "wal")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := l.ReadAll()
		if len(got) != 2 {
			t.Fatalf("got %d records, want 2", len(got))
		}
		if err := l.Append([][]byte{rec(4)}, true); err != nil {
			t.Fatal(err)
		}
		l.Close()
		l, _ = Open(OSFS{}, dir, "wal")
		got, _ = l.ReadAll()
		if len(got) != 3 || !bytes.Equal(got[2], rec(4)) || l.TruncatedBytes != 0 {
			t.Fatalf("after append: %d records, truncated %d", len(got), l.TruncatedBytes)
		}
		l.Close()
	}
	for cut := last; cut < len(full); cut++ {
		check(t, bytes.Clone(full[:cut]))
	}
	for i := last; i < len(full); i++ {
		for bit := 0; bit < 8; bit++ {
			d := bytes.Clone(full)
			d[i] ^= 1 << bit
			check(t, d)
		}
	}
}

// TestZeroTail: a file system may leave a run of zeros after the last
// synced byte (blocks allocated but never written before a crash). Zeros
// read as a frame of length 0 with checksum 0, which must end the log,
// not become empty records.
func TestZeroTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal")
	l, err := Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([][]byte{rec(1), rec(2)}, true); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([][]byte{{}}, true); !errors.Is(err, ErrEmptyRecord) {
		t.Fatalf("empty record: %v", err)
	}
	l.Close()
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(full, make([]byte, 4096)...), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err = Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := l.ReadAll()
	if len(got) != 2 || l.TruncatedBytes != 4096 {
		t.Fatalf("%d records, %d bytes cut; want 2 records, 4096 bytes", len(got), l.TruncatedBytes)
	}
	if err := l.Append([][]byte{rec(3)}, true); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, _ = Open(OSFS{}, dir, "wal")
	got, _ = l.ReadAll()
	if len(got) != 3 || !bytes.Equal(got[2], rec(3)) || l.TruncatedBytes != 0 {
		t.Fatalf("after append: %d records, %d bytes cut", len(got), l.TruncatedBytes)
	}
	l.Close()
}

// TestNewLogSurvivesCrash: a log just created, with a record synced into
// it, is there after a crash (its directory entry was made durable).
func TestNewLogSurvivesCrash(t *testing.T) {
	fs := newMemFS(1)
	l, err := Open(fs, "/d", "wal")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([][]byte{rec(1)}, true); err != nil {
		t.Fatal(err)
	}
	fs.reboot()
	l, err = Open(fs, "/d", "wal")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l.ReadAll(); len(got) != 1 {
		t.Fatalf("%d records after a crash, want the synced one", len(got))
	}
}

// TestReplaceDirSyncFails: when the directory sync after the rename
// fails, Replace reports it, and the log is the renamed file: what is
// appended next is in the file the log's name points to.
func TestReplaceDirSyncFails(t *testing.T) {
	fs := newMemFS(2)
	l, err := Open(fs, "/d", "wal")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([][]byte{rec(1), rec(2)}, true); err != nil {
		t.Fatal(err)
	}
	fs.failDir = true
	if err := l.Replace([][]byte{rec(2)}); err == nil {
		t.Fatal("Replace hid the failed directory sync")
	}
	fs.failDir = false
	if err := l.Append([][]byte{rec(3)}, true); err != nil {
		t.Fatal(err)
	}
	l, err = Open(fs, "/d", "wal")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := l.ReadAll()
	if len(got) != 2 || !bytes.Equal(got[0], rec(2)) || !bytes.Equal(got[1], rec(3)) {
		t.Fatalf("log holds %q, want records 2 and 3", got)
	}
}

// TestCrashAtEveryWrite runs a workload of appends (some synced) and
// replaces on a file system that loses power at write k, for every k, then
// reboots (dropping unsynced bytes at random) and reopens: what is read
// back must be a prefix of the records appended, and must contain every
// record whose Append with sync returned.
func TestCrashAtEveryWrite(t *testing.T) {
	type op struct {
		replace bool
		recs    [][]byte
		sync    bool
	}
	var ops []op
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	for i := 0; i < 60; i++ {
		if i%20 == 19 {
			ops = append(ops, op{replace: true, recs: [][]byte{rec(1000 + i)}})
			continue
		}
		var rs [][]byte
		for k := 1 + r.IntN(3); k > 0; k-- {
			rs = append(rs, rec(n))
			n++
		}
		ops = append(ops, op{recs: rs, sync: r.IntN(2) == 0})
	}
	for failAt := 1; ; failAt++ {
		for seed := uint64(0); seed < 4; seed++ {
			fs := newMemFS(uint64(failAt)*10 + seed)
			l, err := Open(fs, "/d", "wal")
			if err != nil {
				t.Fatal(err)
			}
			fs.failAfter = failAt
			var expect [][]byte // what the log should hold, in order
			durable := 0        // expect[:durable] must survive
			crashed := false
			for _, o := range ops {
				if o.replace {
					if err := l.Replace(o.recs); err != nil {
						crashed = true
						break
					}
					expect, durable = append([][]byte(nil), o.recs...), len(o.recs)
					continue
				}
				expect = append(expect, o.recs...)
				if err := l.Append(o.recs, o.sync); err != nil {
					crashed = true
					break
				}
				if o.sync {
					durable = len(expect)
				}
			}
			if !crashed {
				if seed == 0 {
					t.Logf("crashed at every one of %d writes", failAt-1)
					return
				}
				continue
			}
			fs.reboot()
			l, err = Open(fs, "/d", "wal")
			if err != nil {
				t.Fatalf("fail at write %d: reopen: %v", failAt, err)
			}
			got, _ := l.ReadAll()
			if len(got) < durable {
				t.Fatalf("fail at write %d: %d records survived, %d were synced", failAt, len(got), durable)
			}
			for i := range got {
				if i >= len(expect) || !bytes.Equal(got[i], expect[i]) {
					// A crash inside Replace may leave the old log: accept
					// it only if it is a prefix of what was there before.
					t.Fatalf("fail at write %d: record %d is %q, not the appended one", failAt, i, got[i])
				}
			}
		}
	}
}

// FuzzParse checks that parsing any file never panics, that the frames
// it accepts re-encode to exactly the bytes it consumed, and that a
// synced frame it reports past the damage is one.
func FuzzParse(f *testing.F) {
	f.Add(appendFrame(appendFrame(nil, []byte("a"), false, 0), []byte("bc"), false, 9))
	f.Add(appendFrame(appendFrame(nil, []byte("a"), true, 0), []byte("bc"), true, 13))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 'x'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := parse(data)
		var again []byte
		for i, r := range p.records {
			again = appendFrame(again, r, p.synced[i], int64(len(again)))
		}
		if !bytes.Equal(again, data[:p.size]) {
			t.Fatalf("accepted frames do not re-encode to the input")
		}
		if p.syncedAt >= 0 {
			if p.syncedAt <= p.size {
				t.Fatalf("synced frame at %d, damage at %d", p.syncedAt, p.size)
			}
			if _, n, synced, _ := frameAt(data, int(p.syncedAt)); n == 0 || !synced {
				t.Fatalf("no synced frame at %d", p.syncedAt)
			}
		}
	})
}

// threeSynced writes three records, each in its own synced Append (as the
// node writes its signed votes), and returns the file and each frame's
// offset.
func threeSynced(t *testing.T, dir string) ([]byte, []int64) {
	t.Helper()
	l, err := Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for i := 1; i <= 3; i++ {
		offs = append(offs, l.size)
		if err := l.Append([][]byte{rec(i)}, true); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	full, err := os.ReadFile(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	return full, offs
}

// TestCorruptBeforeSynced flips every bit of every byte of the first two
// of three synced records: each time Open returns a *CorruptError naming
// the file and the offset of the damaged frame, and the file is left
// byte for byte as it was (the old Open dropped all three records and
// rewrote the file empty).
func TestCorruptBeforeSynced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal")
	full, offs := threeSynced(t, dir)
	checked := 0
	for i := 0; i < int(offs[2]); i++ {
		for bit := 0; bit < 8; bit++ {
			d := bytes.Clone(full)
			d[i] ^= 1 << bit
			if err := os.WriteFile(path, d, 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(OSFS{}, dir, "wal")
			var ce *CorruptError
			if !errors.As(err, &ce) {
				if l != nil {
					got, _ := l.ReadAll()
					t.Fatalf("byte %d bit %d: Open read %d records, err %v; want a CorruptError", i, bit, len(got), err)
				}
				t.Fatalf("byte %d bit %d: %v; want a CorruptError", i, bit, err)
			}
			want := offs[0]
			if int64(i) >= offs[1] {
				want = offs[1]
			}
			if ce.File != path || ce.Offset != want || ce.Records != int(want/offs[1]) {
				t.Fatalf("byte %d bit %d: %+v; want offset %d", i, bit, ce, want)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fmt.Sprintf("byte %d", want)) ||
				!strings.Contains(err.Error(), "gridmint wal repair") {
				t.Fatalf("message does not name the file, the offset and the repair: %v", err)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, d) {
				t.Fatalf("byte %d bit %d: Open changed the corrupt file", i, bit)
			}
			checked++
		}
	}
	t.Logf("%d corruptions refused", checked)
}

// TestTornAfterLastSynced: damage after the last synced record (in the
// unsynced records that follow it, or a hole of zeros a crash leaves
// before a later unsynced block) is a torn tail: cut, the synced records
// kept.
func TestTornAfterLastSynced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal")
	l, err := Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([][]byte{rec(1), rec(2)}, true); err != nil {
		t.Fatal(err)
	}
	synced := l.size
	for i := 3; i < 9; i++ {
		if err := l.Append([][]byte{rec(i)}, false); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, data []byte, atLeast int) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(OSFS{}, dir, "wal")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, _ := l.ReadAll()
		l.Close()
		if len(got) < atLeast || l.TruncatedBytes == 0 {
			t.Fatalf("%s: %d records, %d bytes cut", what, len(got), l.TruncatedBytes)
		}
		for i := range got {
			if !bytes.Equal(got[i], rec(i+1)) {
				t.Fatalf("%s: record %d is %q", what, i, got[i])
			}
		}
	}
	for i := int(synced); i < len(full); i++ {
		d := bytes.Clone(full)
		d[i] ^= 0x10
		check(fmt.Sprintf("flip at %d", i), d, 2)
	}
	// A hole: the first unsynced record's bytes lost (zeros), later ones kept.
	d := bytes.Clone(full)
	clear(d[synced : synced+20])
	check("zero hole", d, 2)
}

// TestRepair: Repair saves a corrupt log whole beside it and keeps the
// records before the damage; the log then opens; a sound log is left alone.
func TestRepair(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wal")
	full, offs := threeSynced(t, dir)
	if r, err := Repair(OSFS{}, dir, "wal"); err != nil || r.Corrupt || r.Kept != 3 {
		t.Fatalf("sound log: %+v %v", r, err)
	}
	d := bytes.Clone(full)
	d[offs[1]+syncedHeaderLen+2] ^= 0xff
	if err := os.WriteFile(path, d, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Repair(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Corrupt || r.Offset != offs[1] || r.Kept != 1 || r.KeptBytes != offs[1] || r.DroppedRecords != 1 ||
		r.DroppedBytes != int64(len(d))-offs[1] || r.Backup != fmt.Sprintf("%s.corrupt-%d", path, offs[1]) {
		t.Fatalf("repair: %+v", r)
	}
	saved, err := os.ReadFile(r.Backup)
	if err != nil || !bytes.Equal(saved, d) {
		t.Fatalf("backup: %v, same %v", err, bytes.Equal(saved, d))
	}
	l, err := Open(OSFS{}, dir, "wal")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := l.ReadAll()
	l.Close()
	if len(got) != 1 || !bytes.Equal(got[0], rec(1)) {
		t.Fatalf("after repair: %q", got)
	}
	if _, err := Repair(OSFS{}, dir, "absent"); err == nil {
		t.Fatal("Repair of a missing log succeeded")
	}
}
