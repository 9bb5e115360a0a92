//go:build cgo

package scenario

import (
	"context"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGPUFiguresLandOnThePoint(t *testing.T) {
	var energy uint64
	dev := &mock.Device{
		GetNameFunc:                    func() (string, nvml.Return) { return "mock", nvml.SUCCESS },
		GetUUIDFunc:                    func() (string, nvml.Return) { return "GPU-mock", nvml.SUCCESS },
		GetMigModeFunc:                 func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED },
		GetMemoryInfoFunc:              func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 80 << 30, Used: 40 << 30}, nvml.SUCCESS },
		GetUtilizationRatesFunc:        func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: 90}, nvml.SUCCESS },
		GetPowerUsageFunc:              func() (uint32, nvml.Return) { return 300000, nvml.SUCCESS },
		GetTotalEnergyConsumptionFunc:  func() (uint64, nvml.Return) { energy += 1000; return energy, nvml.SUCCESS },
		GetTemperatureFunc:             func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 60, nvml.SUCCESS },
		GetClockInfoFunc:               func(nvml.ClockType) (uint32, nvml.Return) { return 1400, nvml.SUCCESS },
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.SUCCESS },
	}
	lib := &mock.Interface{
		InitFunc: func() nvml.Return { return nvml.SUCCESS }, ShutdownFunc: func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "570", nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(int) (nvml.Device, nvml.Return) { return dev, nvml.SUCCESS },
	}
	s, err := gpu.Open(lib)
	require.NoError(t, err)
	s.Interval = 2 * time.Millisecond
	s.Start(context.Background())
	t.Cleanup(func() { s.Close() })

	target, _ := startSimProcess(t)
	r := &Runner{Target: target, Nonce: "gpu", GPU: s}
	res, err := r.RunPoint(context.Background(), Scenario{Name: "test", ResultName: "test"},
		Point{Name: "c4", Concurrency: 4, InputTokens: 64, OutputTokens: 16, Requests: 8, Prompts: Plain})
	require.NoError(t, err)
	require.NotNil(t, res.GPUMemoryMB, "gpu_memory_mb is filled when a GPU was sampled")
	assert.Equal(t, 40*1024.0, *res.GPUMemoryMB)
	assert.Equal(t, 90.0, *res.GPUUtilizationPct)
	assert.Greater(t, res.Metrics["gpu_energy_j"], 0.0)
	require.NotEmpty(t, res.GPUs, "each device's figures, trial by trial")
	assert.Equal(t, 1, res.GPUs[0].Trial)
	assert.Equal(t, 40*1024.0, res.GPUs[0].PeakMemoryMB)
	assert.InDelta(t, res.Metrics["gpu_energy_j"]/res.Metrics["total_output_tokens"], res.Metrics["gpu_joules_per_output_token"], 1e-12)
}
