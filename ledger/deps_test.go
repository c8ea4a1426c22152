package ledger

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gridmint/gridmint/meter"
)

// forbiddenDeps are packages the ledger must never link: device protocols
// and their transports belong to the adapters (meter/sunspec, meter/mqtt,
// meter/sim, OCPP) and the node, not to the state machine. Each entry is a
// substring of an import path.
var forbiddenDeps = []string{
	"github.com/gridmint/gridmint/meter/sunspec",
	"github.com/gridmint/gridmint/meter/mqtt",
	"github.com/gridmint/gridmint/meter/sim",
	"github.com/gridmint/gridmint/meter/adapters",
	"github.com/gridmint/gridmint/node",
	"github.com/gridmint/gridmint/p2p",
	"github.com/gridmint/gridmint/api",
	"paho.mqtt",
	"modbus",
	"goburrow/serial",
	"ocpp",
	"websocket",
}

// TestNoDeviceCodeInLedger lists the ledger's dependencies with the go
// tool (skipped where there is none) and fails on any device protocol,
// transport or adapter package.
func TestNoDeviceCodeInLedger(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/gridmint/gridmint/ledger").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		for _, bad := range forbiddenDeps {
			if strings.Contains(strings.ToLower(d), bad) {
				t.Errorf("the ledger depends on %s (matches %q)", d, bad)
			}
		}
	}
}

// TestNoAdapterRegistered checks that no device family's init function ran
// in the ledger's (test) binary: the registry is empty.
func TestNoAdapterRegistered(t *testing.T) {
	if k := meter.Kinds(); len(k) != 0 {
		t.Fatalf("device families registered in the ledger's binary: %v", k)
	}
}
