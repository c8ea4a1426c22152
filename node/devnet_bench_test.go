package node

import "testing"

// BenchmarkDevnetDeterministic runs the README's devnet (4 validators, 24
// homes) for 0.05 simulated days in virtual time, without fsync on its
// temporary directory, as `gridmint devnet --deterministic` does: one
// iteration is 144 blocks with their readings, votes and WAL writes.
func BenchmarkDevnetDeterministic(b *testing.B) {
	for b.Loop() {
		d, err := NewDevnet(DevnetConfig{Validators: 4, Homes: 24, Seed: 1, Days: 0.05, Deterministic: true, UnsafeNoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		s, err := d.Run()
		if err != nil {
			b.Fatal(err)
		}
		if !s.RootsAgree {
			b.Fatal("roots disagree")
		}
		d.Close()
	}
}
