//go:build cgo

package gpu

import (
	"fmt"
	"slices"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// What a Sampler reads devices through: NVML.
type (
	handle  = nvml.Device
	library = nvml.Interface
)

func check(r nvml.Return, what string) error {
	if r == nvml.SUCCESS {
		return nil
	}
	return fmt.Errorf("%s: %s", what, nvml.ErrorString(r))
}

// OpenSystem opens the machine's NVML library (Open(nvml.New())).
func OpenSystem() (*Sampler, error) { return Open(nvml.New()) }

// Open initialises NVML through lib (nvml.New() for the real library) and finds the GPUs
// and their MIG instances. It selects every whole GPU. Any failure wraps ErrUnavailable and
// says why.
func Open(lib nvml.Interface) (*Sampler, error) {
	if err := check(lib.Init(), "initialise NVML"); err != nil {
		return nil, fmt.Errorf("%w: %v (no NVIDIA driver or libnvidia-ml.so on this machine?)", ErrUnavailable, err)
	}
	n, r := lib.DeviceGetCount()
	if err := check(r, "count devices"); err != nil {
		lib.Shutdown()
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if n == 0 {
		lib.Shutdown()
		return nil, fmt.Errorf("%w: NVML sees no GPU", ErrUnavailable)
	}
	driver, _ := lib.SystemGetDriverVersion()
	s := &Sampler{lib: lib, Interval: DefaultInterval, errs: map[int]error{}}
	describe := func(h nvml.Device, index int, mig *int) {
		name, _ := h.GetName()
		uuid, _ := h.GetUUID()
		mem, _ := h.GetMemoryInfo()
		s.devices = append(s.devices, &device{h: h, off: map[string]bool{}, info: Info{ID: len(s.devices), Index: index, MIG: mig,
			UUID: uuid, Name: name, Driver: driver, MemoryTotalMB: float64(mem.Total) / (1 << 20)}})
	}
	gpus := make([]nvml.Device, n)
	for i := range n {
		h, r := lib.DeviceGetHandleByIndex(i)
		if err := check(r, fmt.Sprintf("open device %d", i)); err != nil {
			lib.Shutdown()
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		gpus[i] = h
		describe(h, i, nil)
		s.selected = append(s.selected, i)
	}
	for i, h := range gpus {
		if mode, _, r := h.GetMigMode(); r != nvml.SUCCESS || mode != nvml.DEVICE_MIG_ENABLE {
			continue
		}
		most, r := h.GetMaxMigDeviceCount()
		if r != nvml.SUCCESS {
			continue
		}
		for j := range most {
			if mh, r := h.GetMigDeviceHandleByIndex(j); r == nvml.SUCCESS {
				describe(mh, i, &j)
			}
		}
	}
	return s, nil
}

// optional reads one figure the device may not support: a value, nil when not supported
// (and from then on not asked), or the error of any other failure.
func optional[T any](d *device, name string, get func() (T, nvml.Return)) (*T, error) {
	if d.off[name] {
		return nil, nil
	}
	v, r := get()
	switch r {
	case nvml.SUCCESS:
		return &v, nil
	case nvml.ERROR_NOT_SUPPORTED:
		d.off[name] = true
		return nil, nil
	}
	return nil, check(r, name)
}

func f64[T uint32 | uint64](v *T, scale float64) *float64 {
	if v == nil {
		return nil
	}
	x := float64(*v) * scale
	return &x
}

// read takes one sample of device d; s.mu is held.
func (s *Sampler) read(d *device, now time.Time, w *watch, pids []int) (Sample, error) {
	smp := Sample{At: now, Device: d.info.ID}
	mem, r := d.h.GetMemoryInfo()
	if err := check(r, "memory"); err != nil {
		return smp, err
	}
	smp.MemoryUsedMB, smp.MemoryTotalMB = float64(mem.Used)/(1<<20), float64(mem.Total)/(1<<20)
	util, err := optional(d, figUtil, d.h.GetUtilizationRates)
	if err != nil {
		return smp, err
	}
	if util != nil {
		g, m := float64(util.Gpu), float64(util.Memory)
		smp.UtilPct, smp.MemUtilPct = &g, &m
	}
	power, err := optional(d, figPower, d.h.GetPowerUsage)
	if err != nil {
		return smp, err
	}
	smp.PowerW = f64(power, 1e-3)
	if smp.EnergyMJ, err = optional(d, figEnergy, d.h.GetTotalEnergyConsumption); err != nil {
		return smp, err
	}
	temp, err := optional(d, figTemp, func() (uint32, nvml.Return) { return d.h.GetTemperature(nvml.TEMPERATURE_GPU) })
	if err != nil {
		return smp, err
	}
	smp.TempC = f64(temp, 1)
	clock, err := optional(d, figClock, func() (uint32, nvml.Return) { return d.h.GetClockInfo(nvml.CLOCK_SM) })
	if err != nil {
		return smp, err
	}
	smp.SMClockMHz = f64(clock, 1)
	if w == nil {
		return smp, nil
	}
	procs, err := optional(d, figProcess, d.h.GetComputeRunningProcesses)
	if err != nil {
		return smp, err
	}
	matched := false
	if procs != nil {
		for _, p := range *procs {
			// UsedGpuMemory is NVML_VALUE_NOT_AVAILABLE where the driver withholds it.
			if slices.Contains(pids, int(p.Pid)) && p.UsedGpuMemory != ^uint64(0) {
				smp.ProcessMemoryMB += float64(p.UsedGpuMemory) / (1 << 20)
				matched = true
			}
		}
	}
	smp.ProcessMemoryMethod = ByPID
	if base, ok := w.baseline[d.info.ID]; !matched && ok {
		smp.ProcessMemoryMB, smp.ProcessMemoryMethod = max(smp.MemoryUsedMB-base, 0), ByMemoryDelta
	}
	return smp, nil
}

func (s *Sampler) shutdown() error { return check(s.lib.Shutdown(), "shut down NVML") }
