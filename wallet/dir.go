package wallet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Errors about keystore directories.
var (
	ErrNoKey     = errors.New("wallet: no keystore file for this address")
	ErrKeyExists = errors.New("wallet: a keystore file for this address exists already")
)

// Dir is a directory of keystore files, one JSON file per key, named as geth
// names them (UTC--<RFC 3339 time>--<lower-case address>), so that the folder
// can be shared with geth or copied into it.
type Dir struct {
	Path string
}

// Entry is one keystore file in a Dir.
type Entry struct {
	Address Address
	Path    string
}

// CorruptFile is a file of a keystore directory that looks like a keystore
// (see List) but cannot be read as one.
type CorruptFile struct {
	Path string
	Err  error
}

// CorruptError is returned by List, with the entries it could read, when
// some files look like keystores but are not valid ones: a truncated copy,
// a file cut short by a full disk, a keystore damaged by an editor. Each is
// named, so that a lost key is never mistaken for "no keys". It wraps
// ErrBadKeystore.
type CorruptError struct {
	Dir   string
	Files []CorruptFile
}

func (e *CorruptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wallet: %d corrupt keystore file(s) in %s", len(e.Files), e.Dir)
	for _, f := range e.Files {
		fmt.Fprintf(&b, "; %s: %v", f.Path, f.Err)
	}
	return b.String()
}

func (e *CorruptError) Unwrap() error { return ErrBadKeystore }

// looksLikeKeystore says whether a file that fails to parse is a damaged
// keystore (to be reported) rather than some other file (a README, notes):
// it is named as keystores are (geth's UTC--... or *.json), or it holds a
// JSON object.
func looksLikeKeystore(name string, data []byte) bool {
	lower := strings.ToLower(name)
	if strings.HasPrefix(name, "UTC--") || strings.HasSuffix(lower, ".json") {
		return true
	}
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// List returns the keystore files in the directory, sorted by address. It
// skips sub-directories, hidden files (names starting with ".", such as
// WriteFileAtomic's temporary files), editors' backups (names ending in
// "~") and files that are plainly not keystores (a README). A file that
// looks like a keystore but cannot be read as one is reported: List then
// returns the good entries together with a *CorruptError naming every bad
// file. A missing directory is an empty list.
func (d Dir) List() ([]Entry, error) {
	ents, err := os.ReadDir(d.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: listing %s: %w", d.Path, err)
	}
	var out []Entry
	var corrupt []CorruptFile
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		p := filepath.Join(d.Path, name)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("wallet: reading %s: %w", p, err)
		}
		info, err := ReadKeystoreInfo(data)
		if err != nil {
			if looksLikeKeystore(name, data) {
				corrupt = append(corrupt, CorruptFile{Path: p, Err: err})
			}
			continue
		}
		out = append(out, Entry{Address: info.Address, Path: p})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Address != out[j].Address {
			return strings.Compare(string(out[i].Address[:]), string(out[j].Address[:])) < 0
		}
		return out[i].Path < out[j].Path
	})
	if len(corrupt) > 0 {
		return out, &CorruptError{Dir: d.Path, Files: corrupt}
	}
	return out, nil
}

// Find returns the keystore file of addr. A damaged file elsewhere in the
// directory does not stop it; if addr is not found and some file is
// damaged, the error says so (the key may be in it).
func (d Dir) Find(addr Address) (Entry, error) {
	list, err := d.List()
	var corrupt *CorruptError
	if err != nil && !errors.As(err, &corrupt) {
		return Entry{}, err
	}
	for _, e := range list {
		if e.Address == addr {
			return e, nil
		}
	}
	if corrupt != nil {
		// The key may be in one of the damaged files: say so.
		return Entry{}, fmt.Errorf("%w: %s in %s (%w)", ErrNoKey, addr, d.Path, corrupt)
	}
	return Entry{}, fmt.Errorf("%w: %s in %s", ErrNoKey, addr, d.Path)
}

// Store encrypts k under password and writes a new file. It refuses to
// write a second file for an address that already has one. now names the
// file only; it is never part of the key.
func (d Dir) Store(k *PrivateKey, password []byte, p ScryptParams, now time.Time) (Entry, error) {
	data, err := EncryptKey(k, password, p)
	if err != nil {
		return Entry{}, err
	}
	return d.write(k.Address(), data, now)
}

func (d Dir) write(addr Address, data []byte, now time.Time) (Entry, error) {
	if _, err := d.Find(addr); err == nil {
		return Entry{}, fmt.Errorf("%w: %s", ErrKeyExists, addr)
	} else if !errors.Is(err, ErrNoKey) {
		return Entry{}, err
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return Entry{}, fmt.Errorf("wallet: creating %s: %w", d.Path, err)
	}
	name := fmt.Sprintf("UTC--%s--%x", now.UTC().Format("2006-01-02T15-04-05.000000000Z"), addr[:])
	p := filepath.Join(d.Path, name)
	if err := WriteFileAtomic(p, data, 0o600); err != nil {
		return Entry{}, err
	}
	return Entry{Address: addr, Path: p}, nil
}

// WriteFileAtomic writes data to a new file at path: it writes a temporary
// file in the same directory, fsyncs it, links it into place (failing if
// path exists, so nothing is ever overwritten) and fsyncs the directory. A
// crash at any point leaves either no file or the whole file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Link rather than rename: link fails if path exists, rename would
	// replace it.
	if err := os.Link(tmpName, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// Import checks that data is a keystore that password opens, then stores the
// key re-encrypted under the same password with gridmint's parameters p. The
// source file is only read.
func (d Dir) Import(data, password []byte, p ScryptParams, now time.Time) (Entry, error) {
	k, err := DecryptKey(data, password)
	if err != nil {
		return Entry{}, err
	}
	defer k.Zero()
	return d.Store(k, password, p, now)
}
