// Package sunspectest serves SunSpec register maps over a real Modbus TCP
// server on 127.0.0.1 (the server of github.com/simonvetter/modbus), for
// tests outside meter/sunspec that need a SunSpec device: the site agent,
// the node's `gridmint run` tests. Register dumps are the text format of
// meter/sunspec/testdata/*.regs. The storage model (124) is writable, as
// on a real device; every other register is read only.
package sunspectest

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// Model ids the helpers locate.
const (
	ModelInverter3P = 103
	ModelMeterWye   = 203
	ModelStorage    = 124
)

// Server is a Modbus TCP server serving register maps by unit id.
type Server struct {
	Addr string // host:port on 127.0.0.1

	mu       sync.Mutex
	units    map[uint8]map[uint16]uint16
	writable map[uint8]map[uint16]bool
	writes   int
	srv      *modbus.ModbusServer
}

// FroniusDump is the path of the checked-in Fronius GEN24 dump (unit 1:
// inverter 103, storage 124, battery model 160; unit 200: meter 203).
func FroniusDump() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "fronius_gen24.regs")
}

// LoadDump reads a register dump file.
func LoadDump(t testing.TB, path string) map[uint8]map[uint16]uint16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	units, err := ParseDump(string(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return units
}

// ParseDump reads the dump format: "unit N" lines, then "ADDR: hex words".
func ParseDump(text string) (map[uint8]map[uint16]uint16, error) {
	units := map[uint8]map[uint16]uint16{}
	var cur map[uint16]uint16
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "unit "); ok {
			u, err := strconv.ParseUint(rest, 10, 8)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			cur = map[uint16]uint16{}
			units[uint8(u)] = cur
			continue
		}
		addrS, words, ok := strings.Cut(line, ":")
		if !ok || cur == nil {
			return nil, fmt.Errorf("line %d: want 'unit N' or 'ADDR: words'", n)
		}
		a, err := strconv.ParseUint(addrS, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		for _, w := range strings.Fields(words) {
			v, err := strconv.ParseUint(w, 16, 16)
			if err != nil || a > 0xFFFF {
				return nil, fmt.Errorf("line %d: bad word %q", n, w)
			}
			cur[uint16(a)] = uint16(v)
			a++
		}
	}
	return units, sc.Err()
}

// ModelData returns the address of the first data register of the first
// model id of a unit's map (the walk starts at the "SunS" marker at 40000,
// 0 or 50000), or false.
func ModelData(regs map[uint16]uint16, id uint16) (uint16, bool) {
	for _, base := range []uint16{40000, 0, 50000} {
		if regs[base] != 0x5375 || regs[base+1] != 0x6e53 {
			continue
		}
		for a := uint32(base) + 2; a+1 < 0x10000; {
			mid, l := regs[uint16(a)], regs[uint16(a+1)]
			if mid == 0xFFFF {
				break
			}
			if mid == id {
				return uint16(a + 2), true
			}
			a += 2 + uint32(l)
		}
	}
	return 0, false
}

// Start serves units on a free 127.0.0.1 port until the test ends.
func Start(t testing.TB, units map[uint8]map[uint16]uint16) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String(), units: units, writable: map[uint8]map[uint16]bool{}}
	l.Close()
	for u, regs := range units {
		s.writable[u] = map[uint16]bool{}
		if a, ok := ModelData(regs, ModelStorage); ok {
			for i := uint16(0); i < regs[a-1]; i++ {
				s.writable[u][a+i] = true
			}
		}
	}
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL: "tcp://" + s.Addr, Timeout: 10 * time.Second, MaxClients: 8, Logger: log.New(io.Discard, "", 0),
	}, s)
	if err != nil {
		t.Fatal(err)
	}
	// The port was just released: retry a bind briefly.
	deadline := time.Now().Add(5 * time.Second)
	for err = srv.Start(); err != nil && time.Now().Before(deadline); err = srv.Start() {
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("modbus server on %s: %v", s.Addr, err)
	}
	s.srv = srv
	t.Cleanup(func() { srv.Stop() })
	return s
}

// Reg reads a register.
func (s *Server) Reg(unit uint8, addr uint16) uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.units[unit][addr]
}

// SetReg sets a register, as the device would.
func (s *Server) SetReg(unit uint8, addr, v uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.units[unit][addr] = v
}

// SetU32 sets a 32-bit value (high word first) at addr, addr+1.
func (s *Server) SetU32(unit uint8, addr uint16, v uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.units[unit][addr], s.units[unit][addr+1] = uint16(v>>16), uint16(v)
}

// Writes counts the write requests the server accepted.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// HandleHoldingRegisters serves reads and the storage model's writes.
func (s *Server) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	regs, ok := s.units[req.UnitId]
	if !ok {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	if req.IsWrite {
		for i := range req.Args {
			if !s.writable[req.UnitId][req.Addr+uint16(i)] {
				return nil, modbus.ErrIllegalDataAddress
			}
		}
		for i, v := range req.Args {
			regs[req.Addr+uint16(i)] = v
		}
		s.writes++
		return nil, nil
	}
	out := make([]uint16, req.Quantity)
	for i := range out {
		a := uint32(req.Addr) + uint32(i)
		v, ok := regs[uint16(a)]
		if !ok || a > 0xFFFF {
			return nil, modbus.ErrIllegalDataAddress
		}
		out[i] = v
	}
	return out, nil
}

// HandleInputRegisters: SunSpec uses holding registers only.
func (s *Server) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleCoils: not served.
func (s *Server) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleDiscreteInputs: not served.
func (s *Server) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
