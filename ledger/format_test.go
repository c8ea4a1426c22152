package ledger

import "testing"

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{FormatREC(2806), "0.002806 REC"},
		{FormatREC(1_000_000), "1.000000 REC"},
		{FormatREC(123_456_789), "123.456789 REC"},
		{FormatREC(0), "0.000000 REC"},
		{FormatFLX(12_000_345), "12.000345 FLX"},
		{FormatFLX(1), "0.000001 FLX"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}
