package mqtt

import (
	"context"
	"testing"
	"time"
)

// adapterCtx bounds one test's device calls.
func adapterCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func fuzzAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
