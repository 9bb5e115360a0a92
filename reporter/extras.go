package reporter

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// GPUSample is one reading of a GPU timeline file,
// results/<framework>/<framework>_<preset>_gpu_timeline.json: {"samples": [...]}. The NVML
// sampler writes it; the reporter charts it when it exists.
type GPUSample struct {
	// T is seconds since the run started.
	T             float64 `json:"t_sec"`
	Device        int     `json:"device"`
	MemoryUsedMB  float64 `json:"memory_used_mb"`
	MemoryTotalMB float64 `json:"memory_total_mb"`
	UtilPct       float64 `json:"gpu_utilization_pct"`
	PowerW        float64 `json:"power_w"`
}

// Verdict is one hypothesis result of results/summary/hypotheses.json (or any
// hypotheses.json under the results directory): {"hypotheses": [...]}.
type Verdict struct {
	ID       string  `json:"id"`
	Claim    string  `json:"claim"`
	Verdict  string  `json:"verdict"`
	Observed float64 `json:"observed"`
	// Low and High bound the 95% interval; null when there was none.
	Low       *float64 `json:"ci95_low"`
	High      *float64 `json:"ci95_high"`
	Threshold float64  `json:"threshold"`
	Details   string   `json:"details"`
}

// timelinePath is where a run's GPU timeline lives, beside its result file.
func timelinePath(r *Run) string {
	return strings.TrimSuffix(r.Path, "_results.json") + "_gpu_timeline.json"
}

// loadTimeline reads a run's GPU timeline; absent is not a problem, malformed is.
func loadTimeline(r *Run) ([]GPUSample, *Problem) {
	b, err := os.ReadFile(timelinePath(r))
	if os.IsNotExist(err) {
		return nil, nil
	}
	var f struct {
		Samples []GPUSample `json:"samples"`
	}
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		return nil, &Problem{Path: timelinePath(r), Err: fmt.Errorf("not a GPU timeline: %w", err)}
	}
	return f.Samples, nil
}

// loadVerdicts reads every hypotheses.json under dir.
func loadVerdicts(dir string) ([]Verdict, []Problem) {
	var out []Verdict
	var problems []Problem
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "hypotheses.json" {
			return nil
		}
		b, err := os.ReadFile(path)
		var f struct {
			Hypotheses []Verdict `json:"hypotheses"`
		}
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		if err != nil {
			problems = append(problems, Problem{Path: path, Err: fmt.Errorf("not a hypotheses file: %w", err)})
			return nil
		}
		out = append(out, f.Hypotheses...)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, problems
}

// gpuCharts draws memory and utilisation over time for every run with a timeline, one line
// per run and device.
func gpuCharts(runs []*Run) ([]Chart, []Problem) {
	mem := Chart{File: "gpu_memory", Title: "GPU memory used over the run", XName: "time since start (s)", YName: "memory used (MiB)"}
	util := Chart{File: "gpu_utilization", Title: "GPU utilisation over the run", XName: "time since start (s)", YName: "utilisation (%)", yCap: 100}
	var problems []Problem
	for _, r := range runs {
		samples, p := loadTimeline(r)
		if p != nil {
			problems = append(problems, *p)
			continue
		}
		byDev := map[int][]GPUSample{}
		for _, s := range samples {
			byDev[s.Device] = append(byDev[s.Device], s)
		}
		devs := make([]int, 0, len(byDev))
		for d := range byDev {
			devs = append(devs, d)
		}
		sort.Ints(devs)
		for i, d := range devs {
			name := r.Label
			if len(devs) > 1 {
				name = fmt.Sprintf("%s gpu%d", r.Label, d)
			}
			m := line{Name: name, Color: colorOf(r), Dashed: i > 0}
			u := m
			for _, s := range byDev[d] {
				m.X, m.Y = append(m.X, s.T), append(m.Y, s.MemoryUsedMB)
				u.X, u.Y = append(u.X, s.T), append(u.Y, s.UtilPct)
			}
			if len(m.X) >= 2 {
				mem.lines, util.lines = append(mem.lines, m), append(util.lines, u)
			}
		}
	}
	var out []Chart
	for _, c := range []Chart{mem, util} {
		if !c.Empty() {
			c.sparse = true
			out = append(out, c)
		}
	}
	return out, problems
}

// Interval formats a verdict's interval, or "-" without one.
func (v Verdict) Interval() string {
	if v.Low == nil || v.High == nil {
		return "-"
	}
	return fmt.Sprintf("[%.3g, %.3g]", *v.Low, *v.High)
}
