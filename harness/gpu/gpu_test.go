//go:build cgo

package gpu

import (
	"context"
	"errors"
	"fmt"
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
		GetNameFunc:    func() (string, nvml.Return) { return name, nvml.SUCCESS },
		GetUUIDFunc:    func() (string, nvml.Return) { return "GPU-" + name, nvml.SUCCESS },
		GetMigModeFunc: func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED },
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
	assert.Equal(t, []Info{{ID: 0, Index: 0, UUID: "GPU-NVIDIA A100-SXM4-80GB", Name: "NVIDIA A100-SXM4-80GB", Driver: "570.86.10", MemoryTotalMB: 80 * 1024}}, s.Devices())
	s.Watch(func() []int { return []int{4242} }, nil)
	from := time.Now()
	for i := 0; i < 5; i++ {
		s.SampleOnce()
	}
	smp := s.Samples(from, time.Now())
	require.Len(t, smp, 5)
	assert.Equal(t, 80.0, *smp[0].UtilPct)
	assert.Equal(t, 250.0, *smp[0].PowerW)
	assert.Equal(t, 61.0, *smp[0].TempC)
	assert.Equal(t, 1410.0, *smp[0].SMClockMHz)
	assert.Equal(t, 30*1024.0, smp[0].ProcessMemoryMB, "only the server's processes count")
	assert.Equal(t, ByPID, smp[0].ProcessMemoryMethod)

	f := Summarize(smp, 1000)
	// Memory read before each utilisation read: 40 GiB + 0, 100, ..., 400 MiB.
	assert.Equal(t, 40*1024.0+400, f.PeakMemoryMB)
	assert.Equal(t, 40*1024.0+200, f.MeanMemoryMB)
	assert.Equal(t, 80.0, f.MeanUtilPct)
	// Energy counter read after each utilisation read: 1,050,000 ... 1,250,000 mJ.
	assert.InDelta(t, 200.0, f.EnergyJ, 1e-9)
	assert.InDelta(t, 0.2, f.JoulesPerToken, 1e-12)
	require.Len(t, f.Devices, 1, "one device, its own figures")
	assert.Equal(t, f.PeakMemoryMB, f.Devices[0].PeakMemoryMB)
	assert.InDelta(t, 200.0, *f.Devices[0].EnergyJ, 1e-9)
	assert.Equal(t, ByPID, f.Devices[0].ProcessMemoryMethod)
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

// busyDevice is an 80 GiB GPU at a fixed utilisation holding used GiB.
func busyDevice(uuid string, util uint32, used uint64) *mock.Device {
	d := fakeDevice(uuid, 0)
	d.GetUUIDFunc = func() (string, nvml.Return) { return uuid, nvml.SUCCESS }
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: util}, nvml.SUCCESS }
	d.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
		return nvml.Memory{Total: 80 << 30, Used: used << 30}, nvml.SUCCESS
	}
	return d
}

// On an 8-GPU node a server on two of them is sampled on those two: its utilisation is not
// diluted by six idle GPUs, its memory not swollen by theirs, and each keeps its figures.
func TestSamplesOnlyTheServersGPUs(t *testing.T) {
	var devs []*mock.Device
	for i := range 8 {
		util, used := uint32(0), uint64(1)
		if i == 2 || i == 5 {
			util, used = 90, 60
		}
		devs = append(devs, busyDevice(fmt.Sprintf("GPU-%d1a2b3c4-0000-0000-0000-00000000000%d", i, i), util, used))
	}
	s, err := Open(fakeLib(devs...))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Select([]string{"2", "GPU-51a2"}, "CUDA_VISIBLE_DEVICES"), "an index and a UUID prefix, as CUDA takes them")
	assert.Equal(t, "2,5 (CUDA_VISIBLE_DEVICES)", s.Selection())
	require.Len(t, s.Devices(), 2)
	for range 3 {
		s.SampleOnce()
	}
	f := Summarize(s.All(), 100)
	assert.Equal(t, 90.0, f.MeanUtilPct, "not 22.5: six idle GPUs are not the server's")
	assert.Equal(t, 120*1024.0, f.PeakMemoryMB)
	require.Len(t, f.Devices, 2)
	assert.Equal(t, []int{2, 5}, []int{f.Devices[0].Device, f.Devices[1].Device})
	assert.Equal(t, 60*1024.0, f.Devices[1].PeakMemoryMB)
	assert.Equal(t, 90.0, *f.Devices[1].MeanUtilPct)

	err = s.Select([]string{"GPU-9"}, "gpus")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `GPU "GPU-9" names no device; NVML sees 0 (GPU-01a2b3c4`)
	assert.ErrorContains(t, s.Select([]string{"8"}, "gpus"), "names no device")
	assert.ErrorContains(t, s.Select([]string{"GPU-"}, "gpus"), "names several devices")
	s.SelectAll("none set")
	assert.Len(t, s.Devices(), 8)
	assert.Equal(t, "every GPU (none set)", s.Selection())
	require.NoError(t, s.Select([]string{}, "CUDA_VISIBLE_DEVICES="))
	assert.Empty(t, s.Devices(), "an empty list names no device")
}

// A MIG instance answers ERROR_NOT_SUPPORTED for utilisation, power and energy: those
// figures are absent, the rest is read, and the device is not given up.
func TestMIGInstanceWithUnsupportedFields(t *testing.T) {
	mig := busyDevice("MIG-7e3c0d6a-1111-2222-3333-444455556666", 0, 10)
	mig.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 20 << 30, Used: 10 << 30}, nvml.SUCCESS }
	mig.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED }
	mig.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	mig.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	parent := busyDevice("GPU-aaaa", 50, 30)
	parent.GetMigModeFunc = func() (int, int, nvml.Return) { return nvml.DEVICE_MIG_ENABLE, nvml.DEVICE_MIG_ENABLE, nvml.SUCCESS }
	parent.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 7, nvml.SUCCESS }
	parent.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i == 3 {
			return mig, nvml.SUCCESS
		}
		return nil, nvml.ERROR_NOT_FOUND
	}
	s, err := Open(fakeLib(parent))
	require.NoError(t, err)
	defer s.Close()
	require.Len(t, s.AllDevices(), 2, "the GPU and its one MIG instance")
	require.Len(t, s.Devices(), 1, "whole GPUs by default")
	require.NoError(t, s.Select([]string{"MIG-7e3c"}, "CUDA_VISIBLE_DEVICES"))
	assert.Equal(t, "0/mig3 (CUDA_VISIBLE_DEVICES)", s.Selection())
	for range 3 {
		s.SampleOnce()
	}
	assert.Empty(t, s.Errors(), "unsupported figures do not disable the device")
	all := s.All()
	require.Len(t, all, 3)
	assert.Equal(t, 10*1024.0, all[0].MemoryUsedMB)
	assert.Nil(t, all[0].UtilPct)
	assert.Nil(t, all[0].PowerW)
	assert.Nil(t, all[0].EnergyMJ)
	assert.Equal(t, 61.0, *all[0].TempC)
	assert.Equal(t, []string{"energy", "power", "utilization"}, s.Devices()[0].Unsupported)
	assert.Len(t, mig.GetPowerUsageCalls(), 1, "asked once, not on every tick")
	f := Summarize(all, 10)
	assert.False(t, f.HasUtil)
	assert.Nil(t, f.Devices[0].MeanUtilPct)
	assert.Nil(t, f.Devices[0].EnergyJ)
	assert.Zero(t, f.EnergyJ)
}

// Inside a container NVML lists host PIDs, never the server's: its memory is then the
// device's rise above the level before launch, and the samples say so.
func TestServerMemoryFallsBackToTheDelta(t *testing.T) {
	d := busyDevice("GPU-c", 90, 50)
	d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{{Pid: 987654, UsedGpuMemory: 40 << 30}}, nvml.SUCCESS // a host PID
	}
	s, err := Open(fakeLib(d))
	require.NoError(t, err)
	defer s.Close()
	s.Watch(func() []int { return []int{17} }, []Sample{{Device: 0, MemoryUsedMB: 8 * 1024}})
	s.SampleOnce()
	smp := s.All()
	require.Len(t, smp, 1)
	assert.Equal(t, 42*1024.0, smp[0].ProcessMemoryMB, "50 GiB used, 8 before launch")
	assert.Equal(t, ByMemoryDelta, smp[0].ProcessMemoryMethod)
	assert.Equal(t, ByMemoryDelta, Summarize(smp, 1).Devices[0].ProcessMemoryMethod)

	s.Watch(func() []int { return []int{987654} }, []Sample{{Device: 0, MemoryUsedMB: 8 * 1024}})
	s.SampleOnce()
	assert.Equal(t, 40*1024.0, s.All()[1].ProcessMemoryMB, "where the PIDs match, the process list counts")
	assert.Equal(t, ByPID, s.All()[1].ProcessMemoryMethod)
	assert.Equal(t, "memory_delta+pid", Summarize(s.All(), 1).Devices[0].ProcessMemoryMethod)
	s.Unwatch()
	s.SampleOnce()
	assert.Empty(t, s.All()[2].ProcessMemoryMethod, "nothing watched, nothing counted")
}

// The watched server is set and cleared while the background sampler reads it (go test
// -race finds a data race here when it is a bare field).
func TestWatchWhileSampling(t *testing.T) {
	s, err := Open(fakeLib(fakeDevice("gpu0", 0)))
	require.NoError(t, err)
	s.Interval = time.Millisecond
	s.Start(context.Background())
	defer s.Close()
	for i := range 200 {
		s.Watch(func() []int { return []int{i} }, nil)
		s.Unwatch()
	}
	_ = s.Devices()
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
	s.Watch(func() []int { return []int{4242} }, nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.SampleOnce()
		if i%4096 == 4095 {
			s.samples = s.samples[:0] // keep memory flat over long runs
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/sample")
}
