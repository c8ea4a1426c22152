// Package wal is the consensus write-ahead log on disk: an append-only file
// of records, each framed as
//
//	u32 length (big-endian) | u32 CRC-32C of the payload | payload
//
// What it does: appends records, fsyncs when asked (the engine asks for
// every message the validator signs, before the message is sent), reads
// them back in order, and on Open finds the first frame that is short,
// empty or whose checksum fails (a write torn by a crash or a power cut,
// or a run of zeros where a file system extended the file with blocks it
// never wrote) and cuts the log there, so a torn tail is never mistaken
// for data and the next append starts on a clean boundary. Replace
// rewrites the log atomically (temp file, fsync, rename, fsync of the
// directory), which is how the node drops the records of committed
// heights and how Open cuts a torn tail. Open also fsyncs the directory,
// so that a log it has just created cannot vanish in a crash with the
// records later synced into it.
//
// What it does not do: it does not know what records mean (package
// consensus encodes them) and it does not rotate segments: the node
// compacts it after every few heights, so it stays a few kilobytes.
//
// Tests: round trips; a torn tail at every byte offset of the last frame,
// bit flips in it and a zero-filled tail are cut on Open; and a crash test over an
// in-memory file system that fails at every single write (with a partial
// write) and loses whatever was not fsynced, then checks that what Open
// reads back is a prefix of what was appended that holds every record
// appended with sync.
package wal

import (
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

const headerLen = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of Append.
var (
	ErrRecordTooLarge = errors.New("wal: record too large")
	// ErrEmptyRecord: a frame of length 0 with checksum 0 is what a run of
	// zero bytes parses as, so Open treats it as the end of the log and
	// Append refuses to write one.
	ErrEmptyRecord = errors.New("wal: empty record")
)

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
// log) or O_RDWR|O_CREATE|O_TRUNC (the temporary file of Replace).
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
	// shutdown), for the node's log.
	TruncatedBytes int64
}

// Open opens (or creates) the log file name in dir on fs, reads every
// intact record and truncates a torn tail.
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
	l.records, l.size = parse(data)
	if l.size < int64(len(data)) {
		// Cut the torn tail by rewriting the intact records (a file
		// system need not offer truncation; Replace is atomic either way).
		l.TruncatedBytes = int64(len(data)) - l.size
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

// parse returns the records of every whole, non-empty frame with a good
// checksum, up to the first that is not, and the length of those frames.
// (The CRC-32C of nothing is 0, so without the non-empty rule a run of
// zeros would read as empty records.)
func parse(data []byte) ([][]byte, int64) {
	var recs [][]byte
	off := 0
	for len(data)-off >= headerLen {
		n := binary.BigEndian.Uint32(data[off:])
		sum := binary.BigEndian.Uint32(data[off+4:])
		if n == 0 || n > MaxRecordBytes || uint64(len(data)-off-headerLen) < uint64(n) {
			break
		}
		payload := data[off+headerLen : off+headerLen+int(n)]
		if crc32.Checksum(payload, castagnoli) != sum {
			break
		}
		recs = append(recs, append([]byte(nil), payload...))
		off += headerLen + int(n)
	}
	return recs, int64(off)
}

func frame(buf []byte, rec []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(rec, castagnoli))
	return append(buf, rec...)
}

// Append writes records in one write and, if sync, fsyncs. If the write
// fails part-way the log is unusable until reopened (Open truncates what
// was half written).
func (l *Log) Append(records [][]byte, sync bool) error {
	var buf []byte
	for _, r := range records {
		if len(r) > MaxRecordBytes {
			return fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(r))
		}
		if len(r) == 0 {
			return ErrEmptyRecord
		}
		buf = frame(buf, r)
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
	for _, r := range records {
		if len(r) == 0 {
			return ErrEmptyRecord
		}
	}
	tmp := l.path + ".tmp"
	f, err := l.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("wal: replace: %w", err)
	}
	var buf []byte
	for _, r := range records {
		buf = frame(buf, r)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("wal: replace: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("wal: replace: %w", err)
	}
	if err := l.fs.Rename(tmp, l.path); err != nil {
		f.Close()
		return fmt.Errorf("wal: replace: %w", err)
	}
	// From the rename on, the log is the new file: later appends must go
	// where the log's name points, even if the directory sync fails.
	l.f.Close()
	l.f = f
	l.size = int64(len(buf))
	l.records = nil
	for _, r := range records {
		l.records = append(l.records, append([]byte(nil), r...))
	}
	if err := l.fs.SyncDir(filepath.Dir(l.path)); err != nil {
		return fmt.Errorf("wal: replace: the rename may not be durable: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }
