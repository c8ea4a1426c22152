package adapters

import (
	"slices"
	"testing"

	"github.com/gridmint/gridmint/meter"
)

func TestKinds(t *testing.T) {
	if got, want := meter.Kinds(), []string{"mqtt", "sim", "sunspec"}; !slices.Equal(got, want) {
		t.Fatalf("registered kinds %v, want %v", got, want)
	}
}
