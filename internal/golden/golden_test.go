package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// fakeT records a Fatalf and stops its goroutine, as testing.T does.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatal(args ...any) {
	f.failed = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func check(path, got string, rewrite bool) string {
	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(f, path, got, rewrite, "value")
	}()
	<-done
	return f.failed
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "golden.txt")
	if msg := check(path, "abc", false); msg == "" {
		t.Fatal("a missing file passed")
	}
	if msg := check(path, "abc", true); msg != "" {
		t.Fatalf("rewrite: %s", msg)
	}
	if b, _ := os.ReadFile(path); string(b) != "abc\n" {
		t.Fatalf("written %q", b)
	}
	if msg := check(path, "abc", false); msg != "" {
		t.Fatalf("equal value: %s", msg)
	}
	if msg := check(path, "abd", false); msg == "" {
		t.Fatal("a different value passed")
	}
}
