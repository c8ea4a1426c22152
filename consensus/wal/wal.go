// Package wal is the consensus write-ahead log on disk: an append-only file
// of records, each in one of two frames:
//
//	unsynced: u32 length | u32 CRC-32C(payload) | payload
//	synced:   u32 0xF5C3A7E1 | u32 length | u32 CRC-32C(u64 offset | payload) | payload
//
// (big-endian; length 1..MaxRecordBytes, so the synced frame's magic can
// never be read as a length). An Append with sync, and Replace, write
// synced frames, whose checksum also covers the frame's own byte offset in
// the file; an Append without sync writes unsynced frames (the format of
// logs written before synced frames existed, which read as before).
//
// What it does: appends records, fsyncs when asked (the engine asks for
// every message the validator signed, before the message is sent), reads
// them back in order, and on Open tells a torn tail, which it cuts, from
// a corrupt record, which it refuses to open. Replace rewrites the log
// atomically (temp file, fsync, rename, fsync of the directory), which is
// how the node drops the records of committed heights and how Open cuts a
// torn tail. Open also fsyncs the directory, so that a log it has just
// created cannot vanish in a crash with the records later synced into it.
// Repair sets a corrupt log aside and keeps its good prefix (the
// `gridmint wal repair` command).
//
// # Torn tail or corruption
//
// Open reads frames from the start until the first one that is not whole
// and intact (a short header, a length out of range or past the end of
// the file, a checksum that fails; a run of zeros reads as a length of 0,
// which is out of range). Call its offset X. What follows X is one of:
//
//   - a torn tail: nothing after X is an intact synced frame. The bytes
//     from X on are cut (and reported in TruncatedBytes, for the node's
//     log). A crash or a power cut leaves exactly this: an fsync makes
//     every byte before it durable, so the only bytes a crash can damage
//     are those written after the last fsync that returned, and those are
//     in unsynced frames or in the frames of the one synced Append whose
//     fsync had not returned (whose record was therefore never sent). File
//     systems that persist the blocks of those writes out of order leave
//     an incomplete last frame, a run of zeros, or zeros followed by a
//     later block's unsynced frames: all torn.
//   - corruption: an intact synced frame starts after X (found by
//     searching for the magic, with its checksum bound to the offset it
//     was written at, so a copy of one inside another record's payload
//     does not count). Its Append's fsync covered every byte before it,
//     so the damage at X is not a crash's but the disk's (or someone's),
//     and it may hide records the validator synced and then sent (its
//     votes). Open returns a
//     *CorruptError naming the file and X and changes nothing: a
//     validator that went on would forget what it signed.
//
// A torn tail therefore never contains a record whose Append with sync
// returned, with one ambiguity no format can lift: damage to the frames
// of the last synced Append, with no synced frame after them, looks
// exactly like a crash during that Append's fsync, so it is cut. That is
// why the node also keeps a double-sign guard (package consensus/privval)
// outside the WAL: the guard, not the WAL, stops it from signing again at
// or below the last step it signed. Conversely a crash in the middle of a
// synced Append's fsync on a disk that wrote a later block before an
// earlier one can look like corruption: the validator then stops, safely,
// and `gridmint wal repair` gets it going again.
//
// What it does not do: it does not know what records mean (package
// consensus encodes them) and it does not rotate segments: the node
// compacts it after every few heights, so it stays a few kilobytes.
//
// Tests: round trips; a torn tail at every byte offset of the last frame,
// bit flips in it and a zero-filled tail are cut on Open; a corrupt byte
// before a synced record, at every offset, is a *CorruptError with that
// record's offset and leaves the file as it was; Repair keeps the prefix
// and the original; a crash test over an in-memory file system that fails
// at every single write (with a partial write) and loses whatever was not
// fsynced, then checks that what Open reads back is a prefix of what was
// appended that holds every record appended with sync; fuzzing of the
// frame parser.
package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// MaxRecordBytes bounds one record: a proposal carries a value of up to
// consensus.MaxValueBytes (8 MiB) plus its envelope.
const MaxRecordBytes = 16 << 20

const (
	headerLen       = 8  // unsynced frame
	syncedHeaderLen = 12 // synced frame
	// syncMagic opens a synced frame. It is above MaxRecordBytes, so an
	// unsynced frame's length can never be read as it.
	syncMagic uint32 = 0xF5C3A7E1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of Append.
var (
	ErrRecordTooLarge = errors.New("wal: record too large")
	// ErrEmptyRecord: a frame of length 0 with checksum 0 is what a run of
	// zero bytes parses as, so Open treats it as the end of the log and
	// Append refuses to write one.
	ErrEmptyRecord = errors.New("wal: empty record")
)

// CorruptError is a log damaged before a record that was synced: not a
// write torn by a crash (see the package doc). Open returns it without
// changing the file; Repair keeps the records before Offset.
type CorruptError struct {
	File   string
	Offset int64 // the first byte of the first damaged frame
	Reason string
	// Records are the intact records before Offset; SyncedAt is the offset
	// of an intact synced frame after the damage.
	Records  int
	SyncedAt int64
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: %s is corrupt at byte %d (%s), before a record synced at byte %d: "+
		"this is not a write torn by a crash, and the records after the damage may hold votes this validator sent, "+
		"so the log is left as it is and the validator must not start on it; "+
		"`gridmint wal repair` keeps the %d records before byte %d and saves the file beside it",
		e.File, e.Offset, e.Reason, e.SyncedAt, e.Records, e.Offset)
}

// File is the part of *os.File the log uses.
type File interface {
	io.Reader
	io.Writer
	io.Seeker
	Sync() error
	Close() error
}

// FS is the part of the file system the log uses, so that tests can
// substitute one that crashes. OpenFile is called with O_RDWR|O_CREATE (the
// log), O_RDWR|O_CREATE|O_TRUNC (the temporary file of Replace) or O_RDWR
// (Repair, which must not create the log).
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	// SyncDir makes the creation or renaming of a file in dir durable.
	SyncDir(dir string) error
}

// OSFS is the real file system.
type OSFS struct{}

// OpenFile implements FS.
func (OSFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	return os.OpenFile(name, flag, perm)
}

// Rename implements FS.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Log is an open write-ahead log. It is not safe for concurrent use.
type Log struct {
	fs      FS
	path    string
	f       File
	size    int64 // bytes of whole, checked frames
	records [][]byte
	// TruncatedBytes is how much torn tail Open removed (0 after a clean
	// shutdown), for the node's log; TornAt is where it began.
	TruncatedBytes int64
	TornAt         int64
}

// Open opens (or creates) the log file name in dir on fs, reads every
// intact record and cuts a torn tail. A log damaged before a synced record
// is a *CorruptError, and the file is left as it was.
func Open(fs FS, dir, name string) (*Log, error) {
	l := &Log{fs: fs, path: filepath.Join(dir, name)}
	f, err := fs.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", l.path, err)
	}
	l.f = f
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("wal: read %s: %w", l.path, err)
	}
	// The log may have just been created: make its name durable before
	// anything is synced into it.
	if err := fs.SyncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("wal: sync directory %s: %w", dir, err)
	}
	p := parse(data)
	if err := p.corruption(l.path); err != nil {
		f.Close()
		return nil, err
	}
	l.records, l.size = p.records, p.size
	if l.size < int64(len(data)) {
		// Cut the torn tail by rewriting the intact records (a file
		// system need not offer truncation; Replace is atomic either way).
		l.TruncatedBytes, l.TornAt = int64(len(data))-l.size, l.size
		if err := l.Replace(l.records); err != nil {
			l.f.Close()
			return nil, fmt.Errorf("wal: cut torn tail of %s: %w", l.path, err)
		}
		return l, nil
	}
	if _, err := f.Seek(l.size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// parsed is what parse found in a log file.
type parsed struct {
	records [][]byte
	synced  []bool // per record: was it in a synced frame
	size    int64  // bytes of the intact frames before the first bad one
	reason  string // why the frame at size is bad ("" if size is the end)
	// syncedAt is the offset of the first intact synced frame after size,
	// or -1 if there is none (the tail is torn).
	syncedAt int64
}

// corruption returns the *CorruptError of a log damaged before a synced
// record, or nil.
func (p *parsed) corruption(path string) error {
	if p.syncedAt < 0 {
		return nil
	}
	return &CorruptError{File: path, Offset: p.size, Reason: p.reason, Records: len(p.records), SyncedAt: p.syncedAt}
}

// frameAt reads the frame at off: its payload and length in the file, or
// why it is not whole and intact. (The CRC-32C of nothing is 0, so
// without the non-empty rule a run of zeros would read as empty records.)
func frameAt(data []byte, off int) (payload []byte, n int, synced bool, reason string) {
	rest := data[off:]
	if len(rest) < headerLen {
		return nil, 0, false, "incomplete frame header"
	}
	first := binary.BigEndian.Uint32(rest)
	hl, length, sum := headerLen, first, binary.BigEndian.Uint32(rest[4:])
	if first == syncMagic {
		if len(rest) < syncedHeaderLen {
			return nil, 0, false, "incomplete frame header"
		}
		hl, synced = syncedHeaderLen, true
		length, sum = binary.BigEndian.Uint32(rest[4:]), binary.BigEndian.Uint32(rest[8:])
	}
	switch {
	case length == 0:
		return nil, 0, false, "zero length"
	case length > MaxRecordBytes:
		return nil, 0, false, fmt.Sprintf("length %d out of range", length)
	case uint64(len(rest)-hl) < uint64(length):
		return nil, 0, false, fmt.Sprintf("frame of %d bytes runs past the end of the file", length)
	}
	payload = rest[hl : hl+int(length)]
	if frameSum(payload, synced, int64(off)) != sum {
		return nil, 0, false, "checksum mismatch"
	}
	return payload, hl + int(length), synced, ""
}

func frameSum(payload []byte, synced bool, off int64) uint32 {
	if !synced {
		return crc32.Checksum(payload, castagnoli)
	}
	var o [8]byte
	binary.BigEndian.PutUint64(o[:], uint64(off))
	return crc32.Update(crc32.Checksum(o[:], castagnoli), castagnoli, payload)
}

// parse reads every whole, intact frame up to the first that is not, and
// looks past that one for an intact synced frame.
func parse(data []byte) parsed {
	p := parsed{syncedAt: -1}
	off := 0
	for off < len(data) {
		payload, n, synced, reason := frameAt(data, off)
		if n == 0 {
			p.reason = reason
			break
		}
		p.records = append(p.records, append([]byte(nil), payload...))
		p.synced = append(p.synced, synced)
		off += n
	}
	p.size = int64(off)
	if off == len(data) {
		return p
	}
	var magic [4]byte
	binary.BigEndian.PutUint32(magic[:], syncMagic)
	for at := off + 1; at < len(data); at++ {
		k := bytes.Index(data[at:], magic[:])
		if k < 0 {
			break
		}
		at += k
		if _, n, synced, _ := frameAt(data, at); n > 0 && synced {
			p.syncedAt = int64(at)
			break
		}
	}
	return p
}

// appendFrame appends rec's frame, written at file offset off.
func appendFrame(buf []byte, rec []byte, synced bool, off int64) []byte {
	if synced {
		buf = binary.BigEndian.AppendUint32(buf, syncMagic)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec)))
	buf = binary.BigEndian.AppendUint32(buf, frameSum(rec, synced, off))
	return append(buf, rec...)
}

// Append writes records in one write and, if sync, fsyncs (their frames
// are then synced frames). If the write fails part-way the log is unusable
// until reopened (Open cuts what was half written).
func (l *Log) Append(records [][]byte, sync bool) error {
	var buf []byte
	for _, r := range records {
		if len(r) > MaxRecordBytes {
			return fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(r))
		}
		if len(r) == 0 {
			return ErrEmptyRecord
		}
		buf = appendFrame(buf, r, sync, l.size+int64(len(buf)))
	}
	if len(buf) > 0 {
		if _, err := l.f.Write(buf); err != nil {
			return fmt.Errorf("wal: append: %w", err)
		}
	}
	if sync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("wal: sync: %w", err)
		}
	}
	l.size += int64(len(buf))
	for _, r := range records {
		l.records = append(l.records, append([]byte(nil), r...))
	}
	return nil
}

// ReadAll returns every record, oldest first.
func (l *Log) ReadAll() ([][]byte, error) { return l.records, nil }

// Replace atomically replaces the log's content with records: they are
// written to a temporary file that is fsynced and renamed over the log,
// and the rename is made durable before Replace returns. A crash at any
// point leaves either the old log or the new one. If it fails after the
// rename (the directory sync), the log is the new one but a crash may
// bring back the old: the caller must stop rather than go on appending
// what it relies on.
func (l *Log) Replace(records [][]byte) error {
	f, size, err := replaceFile(l.fs, l.path, records)
	if f == nil {
		return err
	}
	// From the rename on, the log is the new file: later appends must go
	// where the log's name points, even if the directory sync fails.
	l.f.Close()
	l.f = f
	l.size = size
	l.records = nil
	for _, r := range records {
		l.records = append(l.records, append([]byte(nil), r...))
	}
	return err
}

// replaceFile writes records in synced frames to path+".tmp", fsyncs it,
// renames it over path and syncs the directory. It returns the open new
// file once the rename is done (with the error of the directory sync, if
// that failed), or nil and the error.
func replaceFile(fs FS, path string, records [][]byte) (File, int64, error) {
	var buf []byte
	for _, r := range records {
		if len(r) == 0 {
			return nil, 0, ErrEmptyRecord
		}
		if len(r) > MaxRecordBytes {
			return nil, 0, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(r))
		}
		buf = appendFrame(buf, r, true, int64(len(buf)))
	}
	tmp := path + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("wal: replace: %w", err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("wal: replace: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("wal: replace: %w", err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("wal: replace: %w", err)
	}
	if err := fs.SyncDir(filepath.Dir(path)); err != nil {
		return f, int64(len(buf)), fmt.Errorf("wal: replace: the rename may not be durable: %w", err)
	}
	return f, int64(len(buf)), nil
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// RepairResult says what Repair did.
type RepairResult struct {
	File string
	// Corrupt is false if the log needed no repair (Repair then changes
	// nothing; a torn tail is left for Open to cut).
	Corrupt bool
	Offset  int64  // where the damage begins
	Reason  string // what is wrong there
	Backup  string // the original file, saved whole
	// Kept records (KeptBytes of frames) before the damage; DroppedBytes
	// from Offset to the end of the file, DroppedRecords of them intact
	// frames found past the damage (counted from the synced one on).
	Kept, DroppedRecords    int
	KeptBytes, DroppedBytes int64
}

// Repair fixes a log that Open refuses as corrupt: it saves the file whole
// as name.corrupt-<offset> beside it (fsynced, with its directory), then
// replaces the log with the intact records before the damage. A log that
// is not corrupt is left alone. The records after the damage are dropped:
// they may hold messages this validator signed, which is why the node's
// double-sign guard, not the WAL, must refuse to sign at or below them.
func Repair(fs FS, dir, name string) (*RepairResult, error) {
	path := filepath.Join(dir, name)
	f, err := fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("wal: repair: open %s: %w", path, err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("wal: repair: read %s: %w", path, err)
	}
	p := parse(data)
	res := &RepairResult{File: path, Kept: len(p.records), KeptBytes: p.size}
	if p.syncedAt < 0 {
		return res, nil
	}
	res.Corrupt, res.Offset, res.Reason = true, p.size, p.reason
	res.DroppedBytes = int64(len(data)) - p.size
	for off := int(p.syncedAt); off < len(data); {
		_, n, _, _ := frameAt(data, off)
		if n == 0 {
			break
		}
		res.DroppedRecords++
		off += n
	}
	res.Backup = fmt.Sprintf("%s.corrupt-%d", path, p.size)
	b, err := fs.OpenFile(res.Backup, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: repair: save %s: %w", res.Backup, err)
	}
	_, err = b.Write(data)
	if err == nil {
		err = b.Sync()
	}
	if e := b.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = fs.SyncDir(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("wal: repair: save %s: %w", res.Backup, err)
	}
	nf, _, err := replaceFile(fs, path, p.records)
	if nf != nil {
		nf.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("wal: repair %s (the original is saved as %s): %w", path, res.Backup, err)
	}
	return res, nil
}
