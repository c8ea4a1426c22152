package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MQTT payload decoding: a payload (a plain number, or JSON with a path to
// a number) becomes an integer in the wanted unit. No floating point is
// used: decimal text is parsed digit by digit and scaled by a power of ten,
// so "1.2345" kW is 1234 W everywhere. Like SunSpec scaling, the result is
// floored (rounded toward minus infinity). FuzzMQTTPayload, FuzzDecimal and
// FuzzJSONPath hold these decoders to "an error, never a panic".

// Errors of payload decoding.
var (
	// ErrNoValue is a payload that says there is no value: empty, JSON
	// null, or Home Assistant's "unavailable" / "unknown".
	ErrNoValue = errors.New("mqtt: no value in payload")
	// ErrBadNumber is text that is not a decimal number.
	ErrBadNumber = errors.New("mqtt: not a decimal number")
	// ErrBadPath is a malformed JSON path, or one that does not match the payload.
	ErrBadPath = errors.New("mqtt: JSON path")
)

// maxExponent bounds a number's exponent, so that "1e999999999" is an
// error after a bounded amount of work.
const maxExponent = 400

// parseDecimal parses a decimal number ("-12", "1234.5", "1.2e3", "+.5")
// and returns floor(value * 10^exp10). Values beyond int64 are errors.
func parseDecimal(s string, exp10 int) (int64, error) {
	orig := s
	bad := func() (int64, error) { return 0, fmt.Errorf("%w: %q", ErrBadNumber, truncate(orig, 40)) }
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	// Mantissa digits, without the point; exp counts the fractional digits.
	var digits []byte
	exp := exp10
	seenDigit, seenPoint, dropped := false, false, false
	i := 0
scan:
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			seenDigit = true
			if len(digits) == 0 && c == '0' {
				if seenPoint {
					exp--
				}
				continue // leading zeros
			}
			if len(digits) >= 40 {
				// Further digits cannot change an int64 result's integer
				// part unless they are before the point; keep exponent right.
				if !seenPoint {
					exp++
				} else if c != '0' {
					dropped = true // a non-zero fractional digit beyond the kept ones
				}
				continue
			}
			digits = append(digits, c)
			if seenPoint {
				exp--
			}
		case c == '.' && !seenPoint:
			seenPoint = true
		default:
			break scan
		}
	}
	if !seenDigit {
		return bad()
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return bad()
		}
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxExponent || e < -maxExponent {
			return bad()
		}
		exp += e
	}
	// value = digits * 10^exp
	var intDigits []byte
	fracNonZero := dropped
	switch {
	case exp >= 0:
		if len(digits)+exp > 19 && len(digits) > 0 {
			return 0, fmt.Errorf("%w: %q is beyond int64", ErrBadNumber, truncate(orig, 40))
		}
		intDigits = digits
	case -exp >= len(digits):
		fracNonZero = fracNonZero || len(digits) > 0
		exp = 0
	default:
		cut := len(digits) + exp
		intDigits = digits[:cut]
		for _, c := range digits[cut:] {
			if c != '0' {
				fracNonZero = true
			}
		}
		exp = 0
	}
	if len(intDigits) > 19 { // no leading zeros: at least 10^19, beyond int64
		return 0, fmt.Errorf("%w: %q is beyond int64", ErrBadNumber, truncate(orig, 40))
	}
	var v uint64
	for _, c := range intDigits {
		v = v*10 + uint64(c-'0') // at most 19 digits: no overflow of uint64
	}
	for ; exp > 0; exp-- {
		if v > (1<<64-1)/10 {
			return 0, fmt.Errorf("%w: %q is beyond int64", ErrBadNumber, truncate(orig, 40))
		}
		v *= 10
	}
	if neg {
		if fracNonZero {
			v++ // floor: -1.5 is -2
		}
		if v > 1<<63 {
			return 0, fmt.Errorf("%w: %q is beyond int64", ErrBadNumber, truncate(orig, 40))
		}
		return -int64(v), nil // -2^63 converts exactly
	}
	if v > 1<<63-1 {
		return 0, fmt.Errorf("%w: %q is beyond int64", ErrBadNumber, truncate(orig, 40))
	}
	return int64(v), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// jsonPath is a parsed path: object keys and array indexes.
type jsonPath []pathStep

type pathStep struct {
	key   string
	index int // >= 0 for an array index; -1 for a key
}

// maxPathSteps bounds a path.
const maxPathSteps = 32

// parseJSONPath parses the subset of JSONPath that home-energy payloads
// need: keys separated by dots and array indexes in brackets, with an
// optional leading "$" or "$.": "ENERGY.Power[0]", "$.site.gridPower",
// "[2].value". A key is any text without '.', '[' or ']'. The empty path
// means the whole payload.
func parseJSONPath(p string) (jsonPath, error) {
	s := p
	if rest, ok := strings.CutPrefix(p, "$"); ok {
		s = strings.TrimPrefix(rest, ".")
	}
	if s == "" {
		return nil, nil
	}
	var out jsonPath
	for s != "" {
		if len(out) >= maxPathSteps {
			return nil, fmt.Errorf("%w %q: more than %d steps", ErrBadPath, p, maxPathSteps)
		}
		if s[0] == '[' {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("%w %q: unclosed [", ErrBadPath, p)
			}
			n, err := strconv.Atoi(s[1:end])
			if err != nil || n < 0 || n > 1<<20 || s[1] == '+' || s[1] == '-' {
				return nil, fmt.Errorf("%w %q: index %q", ErrBadPath, p, s[1:end])
			}
			out = append(out, pathStep{index: n})
			s = s[end+1:]
		} else {
			end := strings.IndexAny(s, ".[]")
			if end < 0 {
				end = len(s)
			}
			if end == 0 || s[end:] != "" && s[end] == ']' {
				return nil, fmt.Errorf("%w %q: empty key or stray ]", ErrBadPath, p)
			}
			out = append(out, pathStep{key: s[:end], index: -1})
			s = s[end:]
		}
		if s != "" {
			switch s[0] {
			case '.':
				s = s[1:]
				if s == "" || s[0] == '.' || s[0] == '[' {
					return nil, fmt.Errorf("%w %q: empty key", ErrBadPath, p)
				}
			case '[':
			default:
				return nil, fmt.Errorf("%w %q: unexpected %q", ErrBadPath, p, s[0])
			}
		}
	}
	return out, nil
}

// String formats the path back in the syntax parseJSONPath reads.
func (p jsonPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if s.index >= 0 {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// maxPayload bounds a payload that is decoded.
const maxPayload = 64 << 10

// payloadNumber extracts floor(value * 10^exp10) from a payload: with an
// empty path the payload is the number (plain text or a JSON number or
// string); otherwise the payload is JSON and path selects a number, or a
// string holding one.
func payloadNumber(payload []byte, path jsonPath, exp10 int) (int64, error) {
	if len(payload) > maxPayload {
		return 0, fmt.Errorf("mqtt: payload of %d bytes is too large", len(payload))
	}
	if len(path) == 0 {
		s := strings.TrimSpace(string(payload))
		if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
			if u, err := strconv.Unquote(s); err == nil {
				s = strings.TrimSpace(u)
			}
		}
		return textNumber(s, exp10)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, fmt.Errorf("mqtt: payload is not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, errors.New("mqtt: payload has data after the JSON value")
	}
	for i, step := range path {
		switch x := v.(type) {
		case map[string]any:
			if step.index >= 0 {
				return 0, fmt.Errorf("%w %s: step %d indexes an object", ErrBadPath, path, i+1)
			}
			var ok bool
			if v, ok = x[step.key]; !ok {
				return 0, fmt.Errorf("%w %s: no key %q", ErrBadPath, path, step.key)
			}
		case []any:
			if step.index < 0 {
				return 0, fmt.Errorf("%w %s: key %q on an array", ErrBadPath, path, step.key)
			}
			if step.index >= len(x) {
				return 0, fmt.Errorf("%w %s: index %d past %d elements", ErrBadPath, path, step.index, len(x))
			}
			v = x[step.index]
		case nil:
			return 0, fmt.Errorf("%w at %s", ErrNoValue, path[:i])
		default:
			return 0, fmt.Errorf("%w %s: step %d into a %T", ErrBadPath, path, i+1, x)
		}
	}
	switch x := v.(type) {
	case json.Number:
		return parseDecimal(string(x), exp10)
	case string:
		return textNumber(strings.TrimSpace(x), exp10)
	case nil:
		return 0, ErrNoValue
	default:
		return 0, fmt.Errorf("%w: %s is a %T", ErrBadNumber, path, x)
	}
}

// textNumber parses a plain-text value, recognising the words Home
// Assistant and others send for "no value".
func textNumber(s string, exp10 int) (int64, error) {
	switch strings.ToLower(s) {
	case "", "null", "unavailable", "unknown", "none", "nan", "n/a":
		return 0, ErrNoValue
	}
	return parseDecimal(s, exp10)
}
