//go:build !cgo

package gpu

import (
	"fmt"
	"time"
)

// Without cgo there is no NVML to read devices through: no Sampler is ever opened.
type (
	handle  = struct{}
	library = struct{}
)

// OpenSystem says there is no GPU telemetry: NVML is reached through cgo, and this build
// has none (a cross-compiled binary, CGO_ENABLED=0).
func OpenSystem() (*Sampler, error) {
	return nil, fmt.Errorf("%w: built without cgo, which NVML needs (build with CGO_ENABLED=1 and a C compiler for GPU figures)", ErrUnavailable)
}

func (s *Sampler) read(d *device, now time.Time, w *watch, pids []int) (Sample, error) {
	return Sample{}, ErrUnavailable
}

func (s *Sampler) shutdown() error { return nil }
