package meter

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"
)

// The adapter registry lets the node's TOML file name a device family by a
// string ("sunspec", "mqtt", "sim"). Each adapter package registers itself
// from an init function (a binary links the families it wants by importing
// their packages, or all of them through meter/adapters):
//
//	func init() { meter.Register("sunspec", open) }
//
// and the node opens a configured device with
//
//	dev, err := meter.Open(ctx, "sunspec", func(cfg any) error {
//		return md.PrimitiveDecode(devTable, cfg) // the TOML library fills the adapter's own config struct
//	})
//
// The factory hands decode a pointer to its own config type (sunspec.Config,
// mqtt.Config, ...), so each family keeps its config next to its code and the
// node needs no switch over families. ConfigValue adapts an already decoded
// struct.

// Factory opens one device of a family. decode fills the family's config
// struct (it is handed a pointer to it).
type Factory func(ctx context.Context, decode func(cfg any) error) (Device, error)

// ErrUnknownKind is returned by Open for a family no adapter registered.
var ErrUnknownKind = errors.New("meter: unknown device kind")

// ErrNotSupported is returned by a capability method of an adapter whose
// type can have that capability but whose configured or discovered device
// does not (a SunSpec inverter without a storage model, an MQTT device with
// no battery topic). Supports tells beforehand.
var ErrNotSupported = errors.New("meter: not supported by this device")

// ErrDeviceClosed is returned by an adapter's methods after Close.
var ErrDeviceClosed = errors.New("meter: device closed")

var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register makes a device family available under kind. It panics when kind
// is empty or registered twice: both are programming errors found at start.
func Register(kind string, f Factory) {
	if kind == "" || f == nil {
		panic("meter: Register with empty kind or nil factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[kind]; dup {
		panic("meter: device kind " + kind + " registered twice")
	}
	registry.m[kind] = f
}

// Kinds lists the registered families, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.m))
	for k := range registry.m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Open opens a device of the named family.
func Open(ctx context.Context, kind string, decode func(cfg any) error) (Device, error) {
	registry.RLock()
	f, ok := registry.m[kind]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownKind, kind, Kinds())
	}
	d, err := f(ctx, decode)
	if err != nil {
		return nil, fmt.Errorf("%s device: %w", kind, err)
	}
	return d, nil
}

// ConfigValue returns a decode function for Open that copies v, an already
// filled config struct (or a pointer to one), into the factory's config.
func ConfigValue(v any) func(cfg any) error {
	return func(cfg any) error {
		dst := reflect.ValueOf(cfg)
		if dst.Kind() != reflect.Pointer || dst.IsNil() {
			return fmt.Errorf("meter: config target %T is not a pointer", cfg)
		}
		src := reflect.ValueOf(v)
		if src.Kind() == reflect.Pointer && src.Type() == dst.Type() {
			src = src.Elem()
		}
		if src.Type() != dst.Elem().Type() {
			return fmt.Errorf("meter: config is a %T, want a %s", v, dst.Elem().Type())
		}
		dst.Elem().Set(src)
		return nil
	}
}

// Capability is one thing a device can do: a bit per capability interface.
type Capability uint16

// Capabilities, one per interface in device.go.
const (
	CapGrid       Capability = 1 << iota // GridMeter
	CapGridEnergy                        // GridEnergyMeter
	CapPV                                // PVMeter
	CapPVEnergy                          // PVEnergyMeter
	CapBattery                           // Battery
	CapCharger                           // Charger
	CapDispatch                          // Dispatchable
	capEnd
)

var capNames = [...]string{"grid", "grid_energy", "pv", "pv_energy", "battery", "charger", "dispatch"}

// String lists the set capabilities, e.g. "grid+pv".
func (c Capability) String() string {
	if c == 0 {
		return "none"
	}
	s := ""
	for i, n := range capNames {
		if c&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += n
		}
	}
	if c >= capEnd {
		if s != "" {
			s += "+"
		}
		s += fmt.Sprintf("0x%x", uint16(c&^(capEnd-1)))
	}
	return s
}

// CapabilityReporter is implemented by adapters whose capabilities depend on
// configuration or on what was discovered on the device. An adapter that
// does not implement it has exactly the capabilities its type implements.
type CapabilityReporter interface {
	Capabilities() Capability
}

// Supports says whether d can do c: its type implements the interface and,
// when it reports capabilities, the device has it.
func Supports(d Device, c Capability) bool {
	var ok bool
	switch c {
	case CapGrid:
		_, ok = d.(GridMeter)
	case CapGridEnergy:
		_, ok = d.(GridEnergyMeter)
	case CapPV:
		_, ok = d.(PVMeter)
	case CapPVEnergy:
		_, ok = d.(PVEnergyMeter)
	case CapBattery:
		_, ok = d.(Battery)
	case CapCharger:
		_, ok = d.(Charger)
	case CapDispatch:
		_, ok = d.(Dispatchable)
	default:
		return false
	}
	if !ok {
		return false
	}
	if r, isR := d.(CapabilityReporter); isR {
		return r.Capabilities()&c != 0
	}
	return true
}

// Duration is a time.Duration that config files write as text: "2s",
// "1m30s", "500ms". (TOML decoders do not all read time.Duration from a
// string; every one reads an encoding.TextUnmarshaler.)
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as text, e.g. "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a non-negative duration such as "2s" or "1m30s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("meter: duration %q: %w", b, err)
	}
	if v < 0 {
		return fmt.Errorf("meter: duration %q is negative", b)
	}
	*d = Duration(v)
	return nil
}
