//go:build !cgo

package dashboard

import (
	"testing"

	"github.com/servegate/servegate/harness/gpu"
)

// mockSampler skips the test: go-nvml's mock, like NVML, needs cgo.
func mockSampler(t *testing.T) *gpu.Sampler {
	t.Helper()
	t.Skip("go-nvml's mock GPU needs cgo")
	return nil
}
