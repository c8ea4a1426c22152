package meter

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.D() != 90*time.Second {
		t.Errorf("1m30s: %v %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("marshal %s", b)
	}
	for _, bad := range []string{"", "5", "-1s", "soon"} {
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCapabilityString(t *testing.T) {
	for c, want := range map[Capability]string{0: "none", CapGrid: "grid", CapGrid | CapPV | CapDispatch: "grid+pv+dispatch", capEnd: "0x80", CapPV | capEnd: "pv+0x80"} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", c, got, want)
		}
	}
}
