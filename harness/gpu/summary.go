package gpu

import (
	"slices"
	"strings"
	"time"

	"github.com/servegate/servegate/harness/results"
)

// Figures summarise a point's samples over the selected devices, and each device apart.
type Figures struct {
	// PeakMemoryMB and MeanMemoryMB sum the devices' used memory at each instant.
	PeakMemoryMB, MeanMemoryMB float64
	// MeanUtilPct is the mean over the devices that report utilisation and their samples;
	// HasUtil is false when none does (MIG instances).
	MeanUtilPct float64
	HasUtil     bool
	// PeakProcessMemoryMB sums the server's memory over devices at each instant.
	PeakProcessMemoryMB float64
	// EnergyJ is the total-energy counters' rise over the point, summed over devices;
	// JoulesPerToken divides it by the output tokens. Zero when no counter was read.
	EnergyJ, JoulesPerToken float64
	Samples                 int
	// Devices are each device's own figures.
	Devices []results.GPUFigures
}

// Summarize computes a point's figures.
func Summarize(samples []Sample, outputTokens int) Figures {
	f := Figures{Samples: len(samples)}
	if len(samples) == 0 {
		return f
	}
	byTime := map[time.Time]float64{}
	byTimeProc := map[time.Time]float64{}
	type acc struct {
		fig         results.GPUFigures
		mem, util   float64
		utilN       int
		first, last uint64
		energy      bool
		methods     []string
	}
	per := map[int]*acc{}
	var util float64
	var utilN int
	for _, s := range samples {
		byTime[s.At] += s.MemoryUsedMB
		byTimeProc[s.At] += s.ProcessMemoryMB
		a := per[s.Device]
		if a == nil {
			a = &acc{fig: results.GPUFigures{Device: s.Device}}
			per[s.Device] = a
		}
		a.fig.Samples++
		a.mem += s.MemoryUsedMB
		a.fig.PeakMemoryMB = max(a.fig.PeakMemoryMB, s.MemoryUsedMB)
		a.fig.PeakProcessMemoryMB = max(a.fig.PeakProcessMemoryMB, s.ProcessMemoryMB)
		if s.ProcessMemoryMethod != "" && !slices.Contains(a.methods, s.ProcessMemoryMethod) {
			a.methods = append(a.methods, s.ProcessMemoryMethod)
		}
		if s.UtilPct != nil {
			a.util += *s.UtilPct
			a.utilN++
			util += *s.UtilPct
			utilN++
		}
		if s.EnergyMJ != nil {
			if !a.energy {
				a.first, a.energy = *s.EnergyMJ, true
			}
			a.last = *s.EnergyMJ
		}
	}
	var memSum float64
	for at, m := range byTime {
		memSum += m
		f.PeakMemoryMB = max(f.PeakMemoryMB, m)
		f.PeakProcessMemoryMB = max(f.PeakProcessMemoryMB, byTimeProc[at])
	}
	f.MeanMemoryMB = memSum / float64(len(byTime))
	if utilN > 0 {
		f.MeanUtilPct, f.HasUtil = util/float64(utilN), true
	}
	ids := make([]int, 0, len(per))
	for id := range per {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		a := per[id]
		a.fig.MeanMemoryMB = a.mem / float64(a.fig.Samples)
		if a.utilN > 0 {
			u := a.util / float64(a.utilN)
			a.fig.MeanUtilPct = &u
		}
		if a.energy {
			e := float64(a.last-a.first) / 1000
			a.fig.EnergyJ = &e
			f.EnergyJ += e
		}
		slices.Sort(a.methods)
		a.fig.ProcessMemoryMethod = strings.Join(a.methods, "+")
		f.Devices = append(f.Devices, a.fig)
	}
	if outputTokens > 0 {
		f.JoulesPerToken = f.EnergyJ / float64(outputTokens)
	}
	return f
}
