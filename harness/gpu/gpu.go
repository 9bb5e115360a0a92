// Package gpu samples NVIDIA GPUs through NVML (github.com/NVIDIA/go-nvml) while a
// scenario point runs: memory, utilisation, power, the total-energy counter, temperature,
// SM clock and the memory of the server's own processes.
package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrUnavailable wraps every reason NVML cannot be used (no library, no driver, no GPU).
var ErrUnavailable = errors.New("GPU telemetry unavailable")

// DefaultInterval is how often the sampler reads each device.
const DefaultInterval = 200 * time.Millisecond

// Sample is one reading of one device.
type Sample struct {
	At     time.Time `json:"-"`
	T      float64   `json:"t_sec"`
	Device int       `json:"device"`
	// MemoryUsedMB and MemoryTotalMB are device memory in MiB.
	MemoryUsedMB  float64 `json:"memory_used_mb"`
	MemoryTotalMB float64 `json:"memory_total_mb"`
	// UtilPct and MemUtilPct are NVML's GPU and memory-controller utilisation.
	UtilPct    float64 `json:"gpu_utilization_pct"`
	MemUtilPct float64 `json:"memory_utilization_pct"`
	PowerW     float64 `json:"power_w"`
	// EnergyMJ is the device's total-energy counter (millijoules since driver load).
	EnergyMJ   uint64  `json:"energy_mj"`
	TempC      float64 `json:"temperature_c"`
	SMClockMHz float64 `json:"sm_clock_mhz"`
	// ProcessMemoryMB is the memory used by the watched processes (the server's) on it.
	ProcessMemoryMB float64 `json:"process_memory_mb"`
}

// Info describes one device.
type Info struct {
	Index         int     `json:"index"`
	Name          string  `json:"name"`
	Driver        string  `json:"driver"`
	MemoryTotalMB float64 `json:"memory_total_mb"`
}

// Sampler reads every device at an interval in the background.
type Sampler struct {
	lib      nvml.Interface
	devices  []nvml.Device
	infos    []Info
	Interval time.Duration
	// PIDs returns the processes whose GPU memory counts as the server's; nil counts none.
	PIDs func() []int

	mu      sync.Mutex
	samples []Sample
	errs    map[int]error // first error per device; a failing device is no longer read
	start   time.Time
	cancel  context.CancelFunc
	done    chan struct{}
}

func check(r nvml.Return, what string) error {
	if r == nvml.SUCCESS {
		return nil
	}
	return fmt.Errorf("%s: %s", what, nvml.ErrorString(r))
}

// Open initialises NVML through lib (nvml.New() for the real library) and finds the
// devices. Any failure wraps ErrUnavailable and says why.
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
	for i := 0; i < n; i++ {
		d, r := lib.DeviceGetHandleByIndex(i)
		if err := check(r, fmt.Sprintf("open device %d", i)); err != nil {
			lib.Shutdown()
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		name, _ := d.GetName()
		mem, _ := d.GetMemoryInfo()
		s.devices = append(s.devices, d)
		s.infos = append(s.infos, Info{Index: i, Name: name, Driver: driver, MemoryTotalMB: float64(mem.Total) / (1 << 20)})
	}
	return s, nil
}

// Devices describes the devices found.
func (s *Sampler) Devices() []Info { return s.infos }

// read takes one sample of device i.
func (s *Sampler) read(i int, now time.Time, pids []int) (Sample, error) {
	d := s.devices[i]
	smp := Sample{At: now, Device: i}
	mem, r := d.GetMemoryInfo()
	if err := check(r, "memory"); err != nil {
		return smp, err
	}
	smp.MemoryUsedMB, smp.MemoryTotalMB = float64(mem.Used)/(1<<20), float64(mem.Total)/(1<<20)
	util, r := d.GetUtilizationRates()
	if err := check(r, "utilisation"); err != nil {
		return smp, err
	}
	smp.UtilPct, smp.MemUtilPct = float64(util.Gpu), float64(util.Memory)
	// Power, energy, temperature and clock are missing on some boards: best effort.
	if p, r := d.GetPowerUsage(); r == nvml.SUCCESS {
		smp.PowerW = float64(p) / 1000
	}
	if e, r := d.GetTotalEnergyConsumption(); r == nvml.SUCCESS {
		smp.EnergyMJ = e
	}
	if t, r := d.GetTemperature(nvml.TEMPERATURE_GPU); r == nvml.SUCCESS {
		smp.TempC = float64(t)
	}
	if c, r := d.GetClockInfo(nvml.CLOCK_SM); r == nvml.SUCCESS {
		smp.SMClockMHz = float64(c)
	}
	if len(pids) > 0 {
		if procs, r := d.GetComputeRunningProcesses(); r == nvml.SUCCESS {
			for _, p := range procs {
				if slices.Contains(pids, int(p.Pid)) {
					smp.ProcessMemoryMB += float64(p.UsedGpuMemory) / (1 << 20)
				}
			}
		}
	}
	return smp, nil
}

// SampleOnce reads every working device now.
func (s *Sampler) SampleOnce() {
	now := time.Now()
	var pids []int
	if s.PIDs != nil {
		pids = s.PIDs()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.devices {
		if s.errs[i] != nil {
			continue
		}
		smp, err := s.read(i, now, pids)
		if err != nil {
			s.errs[i] = fmt.Errorf("device %d: %w", i, err)
			continue
		}
		if !s.start.IsZero() {
			smp.T = now.Sub(s.start).Seconds()
		}
		s.samples = append(s.samples, smp)
	}
}

// Read takes one reading of every working device now, without keeping it in the
// timeline (for the check that a stopped server's memory is released).
func (s *Sampler) Read() ([]Sample, error) {
	var pids []int
	if s.PIDs != nil {
		pids = s.PIDs()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sample
	for i := range s.devices {
		if s.errs[i] != nil {
			continue
		}
		smp, err := s.read(i, time.Now(), pids)
		if err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		out = append(out, smp)
	}
	return out, nil
}

// Start samples in the background until Stop or ctx ends.
func (s *Sampler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	s.mu.Lock()
	s.start = time.Now()
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		s.SampleOnce()
		for {
			select {
			case <-t.C:
				s.SampleOnce()
			case <-ctx.Done():
				return
			}
		}
	}()
}

// Stop ends sampling and waits for the sampler's goroutine.
func (s *Sampler) Stop() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
		s.cancel = nil
	}
}

// Close stops sampling and shuts NVML down.
func (s *Sampler) Close() error {
	s.Stop()
	return check(s.lib.Shutdown(), "shut down NVML")
}

// Samples returns the samples taken between from and to.
func (s *Sampler) Samples(from, to time.Time) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sample
	for _, smp := range s.samples {
		if !smp.At.Before(from) && !smp.At.After(to) {
			out = append(out, smp)
		}
	}
	return out
}

// All returns every sample so far (the run's timeline).
func (s *Sampler) All() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// Errors returns the devices that stopped being read, and why.
func (s *Sampler) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []error
	for i := range s.devices {
		if e := s.errs[i]; e != nil {
			out = append(out, e)
		}
	}
	return out
}

// Figures summarise a point's samples.
type Figures struct {
	PeakMemoryMB, MeanMemoryMB float64
	MeanUtilPct                float64
	PeakProcessMemoryMB        float64
	// EnergyJ is the total-energy counters' rise over the point, summed over devices;
	// JoulesPerToken divides it by the output tokens. Zero when no counter was read.
	EnergyJ, JoulesPerToken float64
	Samples                 int
}

// Summarize computes a point's figures. Memory sums devices at each instant; utilisation is
// the mean over devices and samples.
func Summarize(samples []Sample, outputTokens int) Figures {
	f := Figures{Samples: len(samples)}
	if len(samples) == 0 {
		return f
	}
	byTime := map[time.Time]float64{}
	byTimeProc := map[time.Time]float64{}
	first, last := map[int]uint64{}, map[int]uint64{}
	var util float64
	for _, s := range samples {
		byTime[s.At] += s.MemoryUsedMB
		byTimeProc[s.At] += s.ProcessMemoryMB
		util += s.UtilPct
		if s.EnergyMJ > 0 {
			if _, ok := first[s.Device]; !ok {
				first[s.Device] = s.EnergyMJ
			}
			last[s.Device] = s.EnergyMJ
		}
	}
	var memSum float64
	for at, m := range byTime {
		memSum += m
		f.PeakMemoryMB = max(f.PeakMemoryMB, m)
		f.PeakProcessMemoryMB = max(f.PeakProcessMemoryMB, byTimeProc[at])
	}
	f.MeanMemoryMB = memSum / float64(len(byTime))
	f.MeanUtilPct = util / float64(len(samples))
	for d, e := range last {
		f.EnergyJ += float64(e-first[d]) / 1000
	}
	if outputTokens > 0 {
		f.JoulesPerToken = f.EnergyJ / float64(outputTokens)
	}
	return f
}
