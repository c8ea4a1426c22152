package smt

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// ConfigureOptions sets what the tree wants of the pebble database it lives
// in, on options the caller is about to pass to pebble.Open: a 10-bit bloom
// filter on every level that has none (Apply and Prove are point lookups,
// about log2 n of them per key, most of them in the lower levels; without a
// filter each lookup searches every L0 table). It leaves everything else to
// the caller.
func ConfigureOptions(o *pebble.Options) {
	for i := range o.Levels {
		if o.Levels[i].FilterPolicy == nil {
			o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		}
	}
}
