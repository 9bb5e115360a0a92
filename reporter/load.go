// Package reporter turns servegate result files into what people read: Markdown comparison
// tables, an analysis report, a short CI summary, PNG and SVG charts and a self-contained
// HTML page. It reads result JSON only; it imports none of the harness's run-time code, so
// a report can be made from results of another machine or another day.
package reporter

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/servegate/servegate/schema"
)

// Run is one result file.
type Run struct {
	Path        string
	Framework   string `json:"framework"`
	ModelPreset string `json:"model_preset"`
	Model       string `json:"model"`
	Timestamp   string `json:"timestamp"`
	// Simulated says servegate's simulated engine produced the numbers (files written
	// before the field existed: framework "sim").
	Simulated bool `json:"simulated"`
	// ServerConfig, GPUInfo and Provenance are shown as they are.
	ServerConfig map[string]any `json:"server_config"`
	GPUInfo      map[string]any `json:"gpu_info"`
	Provenance   map[string]any `json:"provenance"`
	// Settings are what the run measured under (scale, preset, profile, target version):
	// runs under other settings write files of their own.
	Settings map[string]any `json:"settings"`
	Points   []Point        `json:"-"`
	// Label names the run in tables and legends: the framework, or framework/preset when
	// several presets of one framework are reported, with the engine's version when one
	// framework and preset ran under several, and the scale and profile when those differ.
	Label string `json:"-"`
	// Style is the run's place among the runs reported: its colour and dash in every chart
	// (runStyle).
	Style int `json:"-"`
	raw   json.RawMessage
}

// Point is one scenario point of a run.
type Point struct {
	Scenario     string
	Point        string
	Concurrency  int
	InputTokens  int
	OutputTokens int
	NumRequests  int
	Trials       int
	Invalid      string
	Warnings     []string
	// MeasuredAt is when the point was measured (empty in older files).
	MeasuredAt string
	Metrics    map[string]float64
	// Low and High hold the 95% interval of a metric where trials gave one.
	Low, High map[string]float64
	Requests  []schema.Sample
	// Capacity is a capacity point's answer; nil elsewhere.
	Capacity *schema.Capacity
	// ErrorClasses counts the point's failed requests by how they ended.
	ErrorClasses map[string]int
}

// Problem is a result file that could not be used, and why.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) String() string { return fmt.Sprintf("%s: %v", p.Path, p.Err) }

// Load reads every results/<framework>/*_results.json under dir (the summary directory
// excepted). Files that cannot be read or parsed are returned as problems; the rest load.
func Load(dir string) ([]*Run, []Problem, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, fmt.Errorf("results directory: %w", err)
	}
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "summary" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_results.json") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("walk %s: %w", dir, err)
	}
	runs, problems := LoadFiles(paths)
	return runs, problems, nil
}

func label(runs []*Run) {
	presets := map[string]map[string]bool{}
	for _, r := range runs {
		if presets[r.Framework] == nil {
			presets[r.Framework] = map[string]bool{}
		}
		presets[r.Framework][r.ModelPreset] = true
	}
	for _, r := range runs {
		r.Label = r.Framework
		if len(presets[r.Framework]) > 1 {
			r.Label = r.Framework + "/" + r.ModelPreset
		}
	}
	// Runs of one framework and preset under several versions (ci/ollama-cpu.sh runs two
	// Ollamas), scales or simulator profiles are told apart by what differs among them.
	attrs := []func(*Run) string{
		func(r *Run) string { v, _ := r.Provenance["engine_version"].(string); return v },
		func(r *Run) string { v, _ := r.Settings["scale"].(string); return v },
		func(r *Run) string { v, _ := r.Settings["profile"].(string); return v },
	}
	groups := map[string][]*Run{}
	for _, r := range runs {
		groups[r.Label] = append(groups[r.Label], r)
	}
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		for _, attr := range attrs {
			values := map[string]bool{}
			for _, r := range g {
				values[attr(r)] = true
			}
			if len(values) < 2 {
				continue
			}
			for _, r := range g {
				if v := attr(r); v != "" {
					r.Label += " " + v
				}
			}
			if distinct(g) {
				break // a further setting would only repeat what tells them apart
			}
		}
	}
	// A run's colour and dash follow its place among the runs reported (runStyle).
	for i, r := range runs {
		r.Style = i
	}
}

// distinct says whether the runs' labels differ from one another.
func distinct(runs []*Run) bool {
	seen := map[string]bool{}
	for _, r := range runs {
		if seen[r.Label] {
			return false
		}
		seen[r.Label] = true
	}
	return true
}

// How many of the runs reported are simulated.
const (
	noneSimulated = iota
	someSimulated
	allSimulated
)

func simulated(runs []*Run) int {
	n := 0
	for _, r := range runs {
		if r.Simulated {
			n++
		}
	}
	switch {
	case n == 0:
		return noneSimulated
	case n == len(runs):
		return allSimulated
	}
	return someSimulated
}

func readRun(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := schema.Decode(path, b)
	if err != nil {
		var ve *schema.VersionError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, fmt.Errorf("not a servegate result file: %w", err)
	}
	// The head is shown as it is written, fields this reader does not know included.
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("not a servegate result file: %w", err)
	}
	if f.Framework == "" || f.Results == nil {
		return nil, fmt.Errorf("not a servegate result file: no framework or results")
	}
	for _, sp := range f.Results {
		p := Point{Scenario: sp.Scenario, Point: sp.Point, Concurrency: sp.Concurrency, InputTokens: sp.InputTokens,
			OutputTokens: sp.OutputTokens, NumRequests: sp.NumRequests, Trials: sp.Trials, Invalid: sp.Invalid,
			Warnings: sp.Warnings, MeasuredAt: sp.MeasuredAt, Metrics: sp.Metrics, Requests: sp.Requests,
			Capacity: sp.Capacity, ErrorClasses: sp.ErrorClasses, Low: map[string]float64{}, High: map[string]float64{}}
		for k, iv := range sp.TrialStats {
			if iv.Low != nil && iv.High != nil {
				p.Low[k], p.High[k] = *iv.Low, *iv.High
			}
		}
		r.Points = append(r.Points, p)
	}
	r.Path, r.raw = path, b
	r.Simulated = r.Simulated || r.Framework == "sim"
	return &r, nil
}

// scenarioOrder is the suite's order; other scenarios follow alphabetically.
var scenarioOrder = []string{"single_request", "concurrent", "long_context", "prefix_cache", "korean", "capacity"}

// scenarios lists the scenarios present in runs, in suite order.
func scenarios(runs []*Run) []string {
	seen := map[string]bool{}
	for _, r := range runs {
		for _, p := range r.Points {
			seen[p.Scenario] = true
		}
	}
	var out []string
	for _, s := range scenarioOrder {
		if seen[s] {
			out = append(out, s)
			delete(seen, s)
		}
	}
	var rest []string
	for s := range seen {
		rest = append(rest, s)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// point returns the named point of a scenario, or nil.
func (r *Run) point(scenario, name string) *Point {
	for i := range r.Points {
		if r.Points[i].Scenario == scenario && r.Points[i].Point == name {
			return &r.Points[i]
		}
	}
	return nil
}

// points returns a run's points of one scenario in file order.
func (r *Run) points(scenario string) []Point {
	var out []Point
	for _, p := range r.Points {
		if p.Scenario == scenario {
			out = append(out, p)
		}
	}
	return out
}
