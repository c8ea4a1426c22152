package baseline

import (
	"errors"
	"reflect"
	"testing"
)

func TestComputeDispatch(t *testing.T) {
	c, h, ev := caisoExample(t)
	for _, name := range []string{"x-of-y", "high-x-of-y", "device"} {
		m, err := ParseMethod(name)
		if err != nil || m.String() != name {
			t.Fatalf("%s: %v %v", name, m, err)
		}
		got, err := Compute(m, h.s, ev, c, DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		var want Result
		switch m {
		case MethodXofY:
			want, _ = XofY(h.s, ev, c, DefaultXofY())
		case MethodHighXofY:
			want, _ = HighXofY(h.s, ev, c, DefaultHighXofY())
		case MethodDevice:
			want, _ = DeviceProfile(h.s, ev, c, DefaultDevice())
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: Compute differs from the method", name)
		}
	}
	if _, err := ParseMethod("10-in-10"); !errors.Is(err, ErrInput) {
		t.Fatal(err)
	}
	if _, err := Compute(Method(9), h.s, ev, c, DefaultParams()); !errors.Is(err, ErrInput) {
		t.Fatal(err)
	}
}
