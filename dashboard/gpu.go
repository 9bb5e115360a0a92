package dashboard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/reporter"
)

// gpuKeep bounds the GPU page's timeline and event log: an hour at the default interval.
const gpuKeep = 1800

// gpuReading is a "sample" event: every device read at one instant.
type gpuReading struct {
	T       float64      `json:"t_sec"`
	Devices []gpu.Sample `json:"devices"`
}

// gpuMonitor reads every GPU at an interval through the harness's NVML sampler and keeps
// the newest readings for the GPU page's charts and its event log.
type gpuMonitor struct {
	sampler  *gpu.Sampler // nil without NVML
	why      string       // why there is no telemetry
	interval time.Duration
	log      *Log

	mu       sync.Mutex
	start    time.Time
	readings []gpuReading
}

func newGPUMonitor(s *gpu.Sampler, why string, interval time.Duration) *gpuMonitor {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	return &gpuMonitor{sampler: s, why: why, interval: interval, log: NewLog(gpuKeep)}
}

// run samples until ctx ends.
func (g *gpuMonitor) run(ctx context.Context) {
	if g.sampler == nil {
		return
	}
	g.mu.Lock()
	g.start = time.Now()
	g.mu.Unlock()
	tick := time.NewTicker(g.interval)
	defer tick.Stop()
	for {
		g.sample()
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (g *gpuMonitor) sample() {
	samples, err := g.sampler.Read()
	if err != nil {
		g.log.Add("error", map[string]string{"error": err.Error()})
		return
	}
	g.mu.Lock()
	r := gpuReading{T: time.Since(g.start).Seconds(), Devices: samples}
	for i := range r.Devices {
		r.Devices[i].T = r.T
	}
	g.readings = append(g.readings, r)
	if len(g.readings) > gpuKeep {
		g.readings = append([]gpuReading(nil), g.readings[len(g.readings)-gpuKeep:]...)
	}
	g.mu.Unlock()
	g.log.Add("sample", r)
}

// gpuMetric is one chart of the GPU page. value is nil where the device does not report
// the figure (a MIG instance has no utilisation or power of its own): no point is drawn.
type gpuMetric struct {
	Name, Title, Unit string
	Cap               float64
	value             func(gpu.Sample) *float64
}

var gpuMetrics = []gpuMetric{
	{"memory", "GPU memory used", "MiB", 0, func(s gpu.Sample) *float64 { return &s.MemoryUsedMB }},
	{"utilization", "GPU utilisation", "%", 100, func(s gpu.Sample) *float64 { return s.UtilPct }},
	{"power", "Power draw", "W", 0, func(s gpu.Sample) *float64 { return s.PowerW }},
	{"temperature", "Temperature", "°C", 0, func(s gpu.Sample) *float64 { return s.TempC }},
}

func lookupGPUMetric(name string) (gpuMetric, bool) {
	for _, m := range gpuMetrics {
		if m.Name == name {
			return m, true
		}
	}
	return gpuMetric{}, false
}

// chart draws one metric of the kept timeline, one line per device, with the reporter's
// chart code (the offline report draws a run's GPU timeline the same way).
func (g *gpuMonitor) chart(m gpuMetric) ([]byte, error) {
	g.mu.Lock()
	byDev := map[int]*reporter.Series{}
	var order []int
	for _, r := range g.readings {
		for _, s := range r.Devices {
			ser, ok := byDev[s.Device]
			if !ok {
				ser = &reporter.Series{Name: fmt.Sprintf("gpu%d", s.Device)}
				byDev[s.Device] = ser
				order = append(order, s.Device)
			}
			if v := m.value(s); v != nil {
				ser.X, ser.Y = append(ser.X, r.T), append(ser.Y, *v)
			}
		}
	}
	g.mu.Unlock()
	var series []reporter.Series
	for _, d := range order {
		series = append(series, *byDev[d])
	}
	c := reporter.TimeChart("gpu_"+m.Name, m.Title, fmt.Sprintf("%s (%s)", m.Title, m.Unit), m.Cap, series)
	return c.SVG()
}
