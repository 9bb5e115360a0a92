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
	// UtilPct and PowerW are absent where the device does not report them (MIG).
	UtilPct *float64 `json:"gpu_utilization_pct"`
	PowerW  *float64 `json:"power_w"`
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
	// Missing says evidence the claim needs was absent.
	Missing bool `json:"missing"`
	// Framework (single-framework claims) or Compared (cross-framework ones), Preset,
	// Scale and DecidedAt say what the verdict is about and when it was decided.
	Framework string   `json:"framework"`
	Compared  []string `json:"compared"`
	Preset    string   `json:"model_preset"`
	Scale     string   `json:"scale"`
	DecidedAt string   `json:"decided_at"`
	// Evidence names the points the verdict was decided on, as measured then.
	Evidence []struct {
		Framework  string `json:"framework"`
		Scenario   string `json:"scenario"`
		Point      string `json:"point"`
		MeasuredAt string `json:"measured_at"`
	} `json:"evidence"`
	// Stale, set by the reporter, says why the verdict may not describe the results beside
	// it: a point it was decided on has been measured again since, or it names none.
	Stale string `json:"-"`
}

// Subject names what a verdict is about: a framework, or the frameworks compared, and the
// preset.
func (v Verdict) Subject() string {
	s := v.Framework
	if s == "" {
		s = strings.Join(v.Compared, " vs ")
	}
	if s == "" {
		s = "no frameworks"
	}
	if v.Preset != "" {
		s += " (" + v.Preset + ")"
	}
	return s
}

// Label is the verdict as shown: marked when evidence was missing or the verdict is stale.
func (v Verdict) Label() string {
	s := v.Verdict
	if v.Missing {
		s += ", evidence missing"
	}
	if v.Stale != "" {
		s += " (STALE)"
	}
	return s
}

// markStale sets Stale on every verdict whose evidence the runs have measured again since,
// or that names no evidence at all (written before verdicts recorded it).
func markStale(vs []Verdict, runs []*Run) {
	for i := range vs {
		v := &vs[i]
		if len(v.Evidence) == 0 && !v.Missing {
			v.Stale = "the verdict names no points it was decided on (written by an older servegate): it may predate these results"
			continue
		}
		for _, ev := range v.Evidence {
			for _, r := range runs {
				if r.Framework != ev.Framework || v.Preset != "" && r.ModelPreset != v.Preset {
					continue
				}
				p := r.point(ev.Scenario, ev.Point)
				if p == nil || p.MeasuredAt == ev.MeasuredAt {
					continue
				}
				v.Stale = fmt.Sprintf("%s %s/%s was measured again (%s) after the measurement this verdict was decided on (%s)",
					ev.Framework, ev.Scenario, ev.Point, orUnknown(p.MeasuredAt), orUnknown(ev.MeasuredAt))
			}
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "time unknown"
	}
	return s
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
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Subject() < out[j].Subject()
	})
	return out, problems
}

// gpuCharts draws memory and utilisation over time for every run with a timeline, one
// series per run and device.
func gpuCharts(runs []*Run) ([]Chart, []Problem) {
	mem := Chart{File: "gpu_memory", Title: "GPU memory used over the run", XName: "time since start (s)", YName: "memory used (MiB)", sparse: true, gpu: true}
	util := Chart{File: "gpu_utilization", Title: "GPU utilisation over the run", XName: "time since start (s)", YName: "utilisation (%)", sparse: true, yCap: 100, gpu: true}
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
			m := series{Name: name, Style: r.Style, Marker: i}
			u := m
			for _, s := range byDev[d] {
				m.X, m.Y = append(m.X, s.T), append(m.Y, s.MemoryUsedMB)
				if s.UtilPct != nil {
					u.X, u.Y = append(u.X, s.T), append(u.Y, *s.UtilPct)
				}
			}
			if len(m.X) >= 2 {
				mem.series = append(mem.series, m)
			}
			if len(u.X) >= 2 {
				util.series = append(util.series, u)
			}
		}
	}
	var out []Chart
	for _, c := range []Chart{mem, util} {
		if !c.Empty() {
			out = append(out, marked(c, runs))
		}
	}
	return out, problems
}

// ObservedText formats the value a verdict was decided on, or "–" where nothing was
// observed (an inconclusive verdict without evidence writes a placeholder 0).
func (v Verdict) ObservedText() string {
	if v.Missing || v.Verdict != "pass" && v.Verdict != "fail" && v.Low == nil && v.High == nil && v.Observed == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3g", v.Observed)
}

// Interval formats a verdict's interval, or "-" without one.
func (v Verdict) Interval() string {
	if v.Low == nil || v.High == nil {
		return "-"
	}
	return fmt.Sprintf("[%.3g, %.3g]", *v.Low, *v.High)
}
