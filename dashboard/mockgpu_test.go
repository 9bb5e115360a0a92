//go:build cgo

package dashboard

import (
	"sync/atomic"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/stretchr/testify/require"
)

// mockSampler samples mockGPU, closed when the test ends.
func mockSampler(t *testing.T) *gpu.Sampler {
	t.Helper()
	s, err := gpu.Open(mockGPU())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// mockGPU is an NVML library with one device whose readings move with every read (go-nvml's
// mock package).
func mockGPU() nvml.Interface {
	var reads atomic.Int64
	dev := &mock.Device{
		GetNameFunc:    func() (string, nvml.Return) { return "NVIDIA H100 80GB HBM3", nvml.SUCCESS },
		GetUUIDFunc:    func() (string, nvml.Return) { return "GPU-5d1a7c3e-0000-0000-0000-000000000000", nvml.SUCCESS },
		GetMigModeFunc: func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: 80 << 30, Used: uint64(20+reads.Load()%40) << 30}, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			n := reads.Add(1)
			return nvml.Utilization{Gpu: uint32(40 + 13*n%60), Memory: 30}, nvml.SUCCESS
		},
		GetPowerUsageFunc:             func() (uint32, nvml.Return) { return uint32(200000 + 5000*(reads.Load()%20)), nvml.SUCCESS },
		GetTotalEnergyConsumptionFunc: func() (uint64, nvml.Return) { return uint64(reads.Load()) * 1000, nvml.SUCCESS },
		GetTemperatureFunc:            func(nvml.TemperatureSensors) (uint32, nvml.Return) { return uint32(55 + reads.Load()%10), nvml.SUCCESS },
		GetClockInfoFunc:              func(nvml.ClockType) (uint32, nvml.Return) { return 1980, nvml.SUCCESS },
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			return nil, nvml.SUCCESS
		},
	}
	return &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "570.86.10", nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(int) (nvml.Device, nvml.Return) { return dev, nvml.SUCCESS },
	}
}
