package gpu

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mib = 1 << 20

// fakeDevice is a mock device whose memory and energy grow with every reading and whose
// utilisation read fails from call failAfter on (0 = never).
func fakeDevice(name string, failAfter int64) *mock.Device {
	var reads atomic.Int64
	return &mock.Device{
		GetNameFunc: func() (string, nvml.Return) { return name, nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			n := uint64(reads.Load())
			return nvml.Memory{Total: 80 * 1024 * mib, Used: (40*1024 + 100*n) * mib}, nvml.SUCCESS
		},
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			n := reads.Add(1)
			if failAfter > 0 && n > failAfter {
				return nvml.Utilization{}, nvml.ERROR_GPU_IS_LOST
			}
			return nvml.Utilization{Gpu: 80, Memory: 40}, nvml.SUCCESS
		},
		GetPowerUsageFunc:             func() (uint32, nvml.Return) { return 250000, nvml.SUCCESS },
		GetTotalEnergyConsumptionFunc: func() (uint64, nvml.Return) { return 1_000_000 + 50_000*uint64(reads.Load()), nvml.SUCCESS },
		GetTemperatureFunc:            func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 61, nvml.SUCCESS },
		GetClockInfoFunc:              func(nvml.ClockType) (uint32, nvml.Return) { return 1410, nvml.SUCCESS },
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			return []nvml.ProcessInfo{{Pid: 4242, UsedGpuMemory: 30 * 1024 * mib}, {Pid: 7, UsedGpuMemory: 1024 * mib}}, nvml.SUCCESS
		},
	}
}

func fakeLib(devs ...*mock.Device) *mock.Interface {
	return &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "570.86.10", nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) { return devs[i], nvml.SUCCESS },
	}
}

func TestHealthyDevice(t *testing.T) {
	s, err := Open(fakeLib(fakeDevice("NVIDIA A100-SXM4-80GB", 0)))
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []Info{{Index: 0, Name: "NVIDIA A100-SXM4-80GB", Driver: "570.86.10", MemoryTotalMB: 80 * 1024}}, s.Devices())
	s.PIDs = func() []int { return []int{4242} }
	from := time.Now()
	for i := 0; i < 5; i++ {
		s.SampleOnce()
	}
	smp := s.Samples(from, time.Now())
	require.Len(t, smp, 5)
	assert.Equal(t, 80.0, smp[0].UtilPct)
	assert.Equal(t, 250.0, smp[0].PowerW)
	assert.Equal(t, 61.0, smp[0].TempC)
	assert.Equal(t, 1410.0, smp[0].SMClockMHz)
	assert.Equal(t, 30*1024.0, smp[0].ProcessMemoryMB, "only the server's processes count")

	f := Summarize(smp, 1000)
	// Memory read before each utilisation read: 40 GiB + 0, 100, ..., 400 MiB.
	assert.Equal(t, 40*1024.0+400, f.PeakMemoryMB)
	assert.Equal(t, 40*1024.0+200, f.MeanMemoryMB)
	assert.Equal(t, 80.0, f.MeanUtilPct)
	// Energy counter read after each utilisation read: 1,050,000 ... 1,250,000 mJ.
	assert.InDelta(t, 200.0, f.EnergyJ, 1e-9)
	assert.InDelta(t, 0.2, f.JoulesPerToken, 1e-12)
	assert.Empty(t, s.Errors())
}

func TestDeviceThatFailsMidRun(t *testing.T) {
	s, err := Open(fakeLib(fakeDevice("gpu0", 0), fakeDevice("gpu1", 2)))
	require.NoError(t, err)
	defer s.Close()
	for i := 0; i < 5; i++ {
		s.SampleOnce()
	}
	per := map[int]int{}
	for _, smp := range s.All() {
		per[smp.Device]++
	}
	assert.Equal(t, map[int]int{0: 5, 1: 2}, per, "the lost device stops being read; the other goes on")
	errs := s.Errors()
	require.Len(t, errs, 1, "reported once, not on every tick")
	assert.Contains(t, errs[0].Error(), "device 1")
	assert.Contains(t, errs[0].Error(), nvml.ErrorString(nvml.ERROR_GPU_IS_LOST))
}

func TestNoLibrary(t *testing.T) {
	lib := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
	_, err := Open(lib)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnavailable))
	assert.Contains(t, err.Error(), "libnvidia-ml.so")

	none := fakeLib()
	_, err = Open(none)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "no GPU")
}

func TestStartStopSamplesInTheBackground(t *testing.T) {
	s, err := Open(fakeLib(fakeDevice("gpu0", 0)))
	require.NoError(t, err)
	s.Interval = time.Millisecond
	s.Start(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for len(s.All()) < 3 && time.Now().Before(deadline) {
		<-time.After(time.Millisecond)
	}
	require.NoError(t, s.Close())
	n := len(s.All())
	assert.GreaterOrEqual(t, n, 3)
	assert.Equal(t, n, len(s.All()), "no sample after Close")
	assert.GreaterOrEqual(t, s.All()[n-1].T, s.All()[0].T)
}

func TestSummarizeNothing(t *testing.T) {
	assert.Equal(t, Figures{}, Summarize(nil, 10))
}

// BenchmarkSample is the sampler's own cost per reading of one device, NVML calls mocked:
// what sampling adds to the harness process beyond the driver's time.
func BenchmarkSample(b *testing.B) {
	s, err := Open(fakeLib(fakeDevice("gpu0", 0)))
	if err != nil {
		b.Fatal(err)
	}
	s.PIDs = func() []int { return []int{4242} }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.SampleOnce()
		if i%4096 == 4095 {
			s.samples = s.samples[:0] // keep memory flat over long runs
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/sample")
}
