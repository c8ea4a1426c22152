package baseline

import "fmt"

// ParseMethod is the inverse of Method.String ("x-of-y", "high-x-of-y",
// "device").
func ParseMethod(s string) (Method, error) {
	for _, m := range []Method{MethodXofY, MethodHighXofY, MethodDevice} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown baseline method %q", ErrInput, s)
}

// Params holds the rules of every method, so that one value (kept in chain
// parameters, say) decides all baselines.
type Params struct {
	XofY     DayMatchParams
	HighXofY DayMatchParams
	Device   DeviceParams
}

// DefaultParams returns DefaultXofY, DefaultHighXofY and DefaultDevice.
func DefaultParams() Params {
	return Params{XofY: DefaultXofY(), HighXofY: DefaultHighXofY(), Device: DefaultDevice()}
}

// Compute runs method m with its rules from p: the single entry point the
// ledger and `gridmint mv` share.
func Compute(m Method, s Series, e Event, c Calendar, p Params) (Result, error) {
	switch m {
	case MethodXofY:
		return XofY(s, e, c, p.XofY)
	case MethodHighXofY:
		return HighXofY(s, e, c, p.HighXofY)
	case MethodDevice:
		return DeviceProfile(s, e, c, p.Device)
	}
	return Result{}, fmt.Errorf("%w: baseline method %d", ErrInput, m)
}
