package smt

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// FuzzApply reads the input as a script of changes over 64 keys, cut into
// batches, and checks after each batch that the root equals the reference
// and, at the end, that the store keeps its invariants. Two bytes per step:
// the first's low 6 bits name the key and its top 2 bits the action (0, 1:
// set; 2: delete; 3: end the batch before this step), the second is the
// value. A step naming a key already in the batch ends the batch first.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 2, 3, 0xc0, 0, 0x80, 0, 0x81, 0})
	f.Add([]byte{5, 9, 6, 9, 7, 9, 8, 9, 0xc0, 0, 0x85, 0, 0x86, 0, 0x87, 0, 0x88, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 2000 {
			return
		}
		db, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem(), Logger: quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		h := newHarnessOn(t, db)
		var batch []Change
		inBatch := map[string]bool{}
		flush := func() {
			h.apply(batch)
			if root := h.tree.Root(); root != refRoot(h.model) {
				t.Fatalf("root %x, reference %x", root, refRoot(h.model))
			}
			batch, inBatch = nil, map[string]bool{}
		}
		for i := 0; i+1 < len(script); i += 2 {
			key := fmt.Sprintf("k%d", script[i]&63)
			action := script[i] >> 6
			if action == 3 || inBatch[key] {
				flush()
			}
			if action == 3 {
				continue
			}
			inBatch[key] = true
			if action == 2 {
				batch = append(batch, Change{Key: []byte(key), Delete: true})
			} else {
				batch = append(batch, Change{Key: []byte(key), Value: []byte{script[i+1]}})
			}
		}
		flush()
		h.checkStore()
	})
}
