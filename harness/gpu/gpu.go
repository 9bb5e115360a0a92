// Package gpu samples NVIDIA GPUs through NVML (github.com/NVIDIA/go-nvml) while a
// scenario point runs: memory, utilisation, power, the total-energy counter, temperature,
// SM clock and the memory the server under test holds. It samples the devices the server
// uses (Select: indices or UUIDs, MIG instances included), keeps every device's figures
// apart, and reads a field a device does not support (a MIG instance has no utilisation
// of its own) as absent rather than as a failed device. NVML is reached through cgo
// (nvml.go); a build without cgo (a cross-compiled macOS binary) has no GPU telemetry, and
// OpenSystem says so.
package gpu

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable wraps every reason NVML cannot be used (no library, no driver, no GPU).
var ErrUnavailable = errors.New("GPU telemetry unavailable")

// DefaultInterval is how often the sampler reads each device.
const DefaultInterval = 200 * time.Millisecond

// How the server's memory on a device was found (Sample.ProcessMemoryMethod).
const (
	// ByPID sums the memory NVML lists for the server's processes.
	ByPID = "pid"
	// ByMemoryDelta is the device's used memory above its level before the server
	// started: used where NVML lists none of the server's PIDs (a container's PID
	// namespace hides the host PIDs NVML reports).
	ByMemoryDelta = "memory_delta"
)

// Sample is one reading of one device. The optional figures are nil where the device does
// not support them (NVML answers ERROR_NOT_SUPPORTED); they are never a made-up zero.
type Sample struct {
	At time.Time `json:"-"`
	T  float64   `json:"t_sec"`
	// Device is the device's ID (Info.ID).
	Device int `json:"device"`
	// MemoryUsedMB and MemoryTotalMB are device memory in MiB.
	MemoryUsedMB  float64 `json:"memory_used_mb"`
	MemoryTotalMB float64 `json:"memory_total_mb"`
	// UtilPct and MemUtilPct are NVML's GPU and memory-controller utilisation.
	UtilPct    *float64 `json:"gpu_utilization_pct,omitempty"`
	MemUtilPct *float64 `json:"memory_utilization_pct,omitempty"`
	PowerW     *float64 `json:"power_w,omitempty"`
	// EnergyMJ is the device's total-energy counter (millijoules since driver load).
	EnergyMJ   *uint64  `json:"energy_mj,omitempty"`
	TempC      *float64 `json:"temperature_c,omitempty"`
	SMClockMHz *float64 `json:"sm_clock_mhz,omitempty"`
	// ProcessMemoryMB is the memory the watched server holds on the device, found as
	// ProcessMemoryMethod says (ByPID or ByMemoryDelta); empty when nothing is watched.
	ProcessMemoryMB     float64 `json:"process_memory_mb"`
	ProcessMemoryMethod string  `json:"process_memory_method,omitempty"`
}

// Info describes one device.
type Info struct {
	// ID names the device in samples: its NVML index for a whole GPU; MIG instances
	// follow the GPUs.
	ID int `json:"id"`
	// Index is the NVML index of the GPU (the parent GPU of a MIG instance); MIG is the
	// instance's index on it, nil for a whole GPU.
	Index int    `json:"index"`
	MIG   *int   `json:"mig_index,omitempty"`
	UUID  string `json:"uuid,omitempty"`
	Name  string `json:"name"`
	// Driver is the NVIDIA driver version.
	Driver        string  `json:"driver"`
	MemoryTotalMB float64 `json:"memory_total_mb"`
	// Unsupported lists the figures the device answered ERROR_NOT_SUPPORTED for.
	Unsupported []string `json:"unsupported,omitempty"`
}

// device is one NVML handle and what the sampler learnt about it.
type device struct {
	h    handle
	info Info
	off  map[string]bool // figures not supported
}

// watch is the server whose memory is counted: its processes, and every device's used
// memory before it started (for ByMemoryDelta).
type watch struct {
	pids     func() []int
	baseline map[int]float64
}

// Sampler reads the selected devices at an interval in the background.
type Sampler struct {
	lib      library
	devices  []*device
	Interval time.Duration

	mu        sync.Mutex
	selected  []int // device IDs sampled
	selection string
	watching  *watch
	samples   []Sample
	errs      map[int]error // first error per device; a failing device is no longer read
	start     time.Time
	cancel    context.CancelFunc
	done      chan struct{}
}

// Devices describes the selected devices.
func (s *Sampler) Devices() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.selected))
	for _, id := range s.selected {
		out = append(out, s.devices[id].describe())
	}
	return out
}

// AllDevices describes every device NVML sees, selected or not.
func (s *Sampler) AllDevices() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.devices))
	for _, d := range s.devices {
		out = append(out, d.describe())
	}
	return out
}

func (d *device) describe() Info {
	info := d.info
	info.Unsupported = nil
	for f := range d.off {
		info.Unsupported = append(info.Unsupported, f)
	}
	slices.Sort(info.Unsupported)
	return info
}

// Select makes the sampler read only the devices ids name, as CUDA_VISIBLE_DEVICES names
// them: an NVML index ("0"; CUDA numbers devices the same way with
// CUDA_DEVICE_ORDER=PCI_BUS_ID), or a UUID or a unique prefix of one ("GPU-5d1…",
// "MIG-…"). An empty list selects nothing; an id NVML does not know is an error that lists
// the devices it does. why says where the list comes from (Selection).
func (s *Sampler) Select(ids []string, why string) error {
	var sel []int
	for _, id := range ids {
		id = strings.TrimSpace(id)
		var match []int
		for _, d := range s.devices {
			if n, err := strconv.Atoi(id); err == nil {
				if d.info.MIG == nil && d.info.Index == n {
					match = append(match, d.info.ID)
				}
			} else if id != "" && strings.HasPrefix(d.info.UUID, id) {
				match = append(match, d.info.ID)
			}
		}
		if len(match) != 1 {
			var seen []string
			for _, d := range s.devices {
				seen = append(seen, fmt.Sprintf("%s (%s)", d.label(), d.info.UUID))
			}
			what := "no device"
			if len(match) > 1 {
				what = "several devices"
			}
			return fmt.Errorf("GPU %q names %s; NVML sees %s: use an index or a UUID from that list", id, what, strings.Join(seen, ", "))
		}
		if !slices.Contains(sel, match[0]) {
			sel = append(sel, match[0])
		}
	}
	labels := make([]string, len(sel))
	for i, id := range sel {
		labels[i] = s.devices[id].label()
	}
	what := strings.Join(labels, ",")
	if what == "" {
		what = "no device"
	}
	s.mu.Lock()
	s.selected, s.selection = sel, fmt.Sprintf("%s (%s)", what, why)
	s.mu.Unlock()
	return nil
}

// SelectAll makes the sampler read every whole GPU (Open's choice); why says why.
func (s *Sampler) SelectAll(why string) {
	var sel []int
	for _, d := range s.devices {
		if d.info.MIG == nil {
			sel = append(sel, d.info.ID)
		}
	}
	s.mu.Lock()
	s.selected, s.selection = sel, "every GPU ("+why+")"
	s.mu.Unlock()
}

// Selection says which devices are sampled and why.
func (s *Sampler) Selection() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.selection == "" {
		return "every GPU"
	}
	return s.selection
}

func (d *device) label() string {
	if d.info.MIG != nil {
		return fmt.Sprintf("%d/mig%d", d.info.Index, *d.info.MIG)
	}
	return strconv.Itoa(d.info.Index)
}

// Watch counts the memory of the server whose processes pids returns, on every selected
// device; baseline is a reading taken before it started (Read), the level ByMemoryDelta
// subtracts. Unwatch stops counting.
func (s *Sampler) Watch(pids func() []int, baseline []Sample) {
	w := &watch{pids: pids, baseline: map[int]float64{}}
	for _, b := range baseline {
		w.baseline[b.Device] = b.MemoryUsedMB
	}
	s.mu.Lock()
	s.watching = w
	s.mu.Unlock()
}

// Unwatch stops counting a server's memory.
func (s *Sampler) Unwatch() {
	s.mu.Lock()
	s.watching = nil
	s.mu.Unlock()
}

// The optional figures, by the names Info.Unsupported uses.
const (
	figUtil    = "utilization"
	figPower   = "power"
	figEnergy  = "energy"
	figTemp    = "temperature"
	figClock   = "sm_clock"
	figProcess = "process_list"
)

// snapshot returns the watched server and its processes now, taken outside the lock
// (listing a process group reads /proc).
func (s *Sampler) snapshot() (*watch, []int) {
	s.mu.Lock()
	w := s.watching
	s.mu.Unlock()
	if w == nil || w.pids == nil {
		return w, nil
	}
	return w, w.pids()
}

// SampleOnce reads every selected, working device now.
func (s *Sampler) SampleOnce() {
	w, pids := s.snapshot()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.selected {
		if s.errs[id] != nil {
			continue
		}
		d := s.devices[id]
		smp, err := s.read(d, now, w, pids)
		if err != nil {
			s.errs[id] = fmt.Errorf("device %s: %w", d.label(), err)
			continue
		}
		if !s.start.IsZero() {
			smp.T = now.Sub(s.start).Seconds()
		}
		s.samples = append(s.samples, smp)
	}
}

// Read takes one reading of every selected, working device now, without keeping it in
// the timeline (the baseline before a launch, the check that a stopped server's memory
// is released).
func (s *Sampler) Read() ([]Sample, error) {
	w, pids := s.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sample
	for _, id := range s.selected {
		if s.errs[id] != nil {
			continue
		}
		d := s.devices[id]
		smp, err := s.read(d, time.Now(), w, pids)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", d.label(), err)
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
	return s.shutdown()
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
	for _, d := range s.devices {
		if e := s.errs[d.info.ID]; e != nil {
			out = append(out, e)
		}
	}
	return out
}
