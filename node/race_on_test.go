//go:build race

package node

// raceDetector: the tests run with -race (several times slower).
const raceDetector = true
