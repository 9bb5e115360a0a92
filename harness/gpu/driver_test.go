//go:build gpu

package gpu

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/servegate/servegate/harness/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealDriver checks the sampler against the machine's NVIDIA driver (go test -tags gpu,
// or ci/gpu-smoke.sh with a test binary built beforehand): every device and MIG instance
// NVML sees, memory, power, the energy counter and the process list, then a few seconds
// of sampling written as a timeline to $SERVEGATE_GPU_SMOKE_OUT (a temporary directory
// when unset).
func TestRealDriver(t *testing.T) {
	s, err := Open(nvml.New())
	require.NoError(t, err, "NVML against the real driver")
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	all := s.AllDevices()
	require.NotEmpty(t, all)
	for _, d := range all {
		t.Logf("device %d: NVML index %d, MIG %v, %s, %s, %.0f MiB, driver %s", d.ID, d.Index, d.MIG != nil, d.UUID, d.Name, d.MemoryTotalMB, d.Driver)
		assert.NotEmpty(t, d.UUID, "device %d has a UUID", d.ID)
		assert.Positive(t, d.MemoryTotalMB, "device %d reports its memory", d.ID)
	}

	t.Run("process list", func(t *testing.T) {
		for _, d := range s.devices {
			procs, r := d.h.GetComputeRunningProcesses()
			if r == nvml.ERROR_NOT_SUPPORTED {
				t.Logf("device %d: no process list (ERROR_NOT_SUPPORTED)", d.info.ID)
				continue
			}
			require.Equal(t, nvml.SUCCESS, r, "device %d: %s", d.info.ID, nvml.ErrorString(r))
			for _, p := range procs {
				t.Logf("device %d: pid %d holds %.0f MiB", d.info.ID, p.Pid, float64(p.UsedGpuMemory)/(1<<20))
			}
		}
	})

	t.Run("selection by index and UUID", func(t *testing.T) {
		require.NoError(t, s.Select([]string{all[0].UUID}, "smoke"))
		require.Len(t, s.Devices(), 1)
		require.NoError(t, s.Select([]string{"0"}, "smoke"))
		assert.Equal(t, all[0].UUID, s.Devices()[0].UUID)
	})

	// Every device and MIG instance, sampled for a few seconds.
	ids := make([]string, 0, len(all))
	for _, d := range all {
		ids = append(ids, d.UUID)
	}
	require.NoError(t, s.Select(ids, "every device and MIG instance"))
	base, err := s.Read()
	require.NoError(t, err)
	s.Watch(func() []int { return []int{os.Getpid()} }, base)
	s.Interval = 100 * time.Millisecond
	s.Start(context.Background())
	deadline := time.Now().Add(20 * time.Second)
	for len(s.All()) < 30*len(all) && time.Now().Before(deadline) {
		<-time.After(50 * time.Millisecond)
	}
	s.Stop()
	require.Empty(t, s.Errors(), "no device failed while sampled")
	samples := s.All()
	f := Summarize(samples, 0)
	for _, d := range s.Devices() {
		var first, last *Sample
		for i := range samples {
			if samples[i].Device == d.ID {
				if first == nil {
					first = &samples[i]
				}
				last = &samples[i]
			}
		}
		require.NotNil(t, first, "device %d was sampled", d.ID)
		t.Logf("device %d: unsupported %v; memory %.0f MiB used; utilisation %v %%; power %v W; energy counter %v -> %v mJ; server memory %.0f MiB by %s",
			d.ID, d.Unsupported, last.MemoryUsedMB, deref(last.UtilPct), deref(last.PowerW), deref(first.EnergyMJ), deref(last.EnergyMJ),
			last.ProcessMemoryMB, last.ProcessMemoryMethod)
		assert.Positive(t, last.MemoryUsedMB)
		if d.MIG == nil {
			assert.NotNil(t, last.PowerW, "a whole GPU reports its power")
		}
		if first.EnergyMJ != nil {
			assert.GreaterOrEqual(t, *last.EnergyMJ, *first.EnergyMJ, "the energy counter never runs backwards")
		}
	}
	t.Logf("over %d samples: peak memory %.0f MiB, energy %.1f J", f.Samples, f.PeakMemoryMB, f.EnergyJ)

	dir := os.Getenv("SERVEGATE_GPU_SMOKE_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "gpu_timeline.json")
	require.NoError(t, results.WriteFile(path, map[string]any{"interval_ms": s.Interval.Milliseconds(), "devices": s.AllDevices(),
		"selection": s.Selection(), "samples": samples, "figures": f}))
	t.Logf("timeline: %s", path)
}

func deref[T any](p *T) any {
	if p == nil {
		return "n/a"
	}
	return *p
}
