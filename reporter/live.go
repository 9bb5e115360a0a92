package reporter

import (
	"io"
	"sort"

	"github.com/servegate/servegate/reporter/compare"
)

// What the live dashboard (package dashboard) needs from the reporter, so that its pages
// and the offline report are drawn by the same code.

// LoadFiles reads the given result files as Load does; files that cannot be read are
// returned as problems.
func LoadFiles(paths []string) ([]*Run, []Problem) {
	var runs []*Run
	var problems []Problem
	for _, path := range paths {
		r, err := readRun(path)
		if err != nil {
			problems = append(problems, Problem{Path: path, Err: err})
			continue
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool {
		if runs[i].Framework != runs[j].Framework {
			return runs[i].Framework < runs[j].Framework
		}
		return runs[i].ModelPreset < runs[j].ModelPreset
	})
	label(runs)
	return runs, problems
}

// LoadVerdicts reads every hypotheses.json under dir, as the report shows them.
func LoadVerdicts(dir string) ([]Verdict, []Problem) { return loadVerdicts(dir) }

// Page writes the HTML report of runs exactly as index.html holds it: tables, every chart
// (GPU timelines included) as inline SVG, verdicts and, when changes are given, the
// comparison with a baseline.
func Page(w io.Writer, runs []*Run, problems []Problem, verdicts []Verdict, changes []compare.Change) error {
	charts := Charts(runs)
	gpu, gp := gpuCharts(runs)
	charts = append(charts, gpu...)
	svgs := map[string][]byte{}
	for _, c := range charts {
		svg, err := c.SVG()
		if err != nil {
			return err
		}
		svgs[c.File] = svg
	}
	return HTML(w, runs, append(problems, gp...), charts, svgs, verdicts, changes)
}

// Series is one line of a TimeChart.
type Series struct {
	Name string
	X, Y []float64
}

// TimeChart is a chart of values over time (x in seconds), drawn as the report draws a
// run's GPU timeline: each series its own colour and dash (in the order given), round time
// ticks, the y axis from zero (to yCap when set). Series with fewer than two values are
// left out; check Empty.
func TimeChart(file, title, yName string, yCap float64, ss []Series) Chart {
	c := Chart{File: file, Title: title, XName: "time (s)", YName: yName, sparse: true, yCap: yCap}
	for i, s := range ss {
		if len(s.X) < 2 || len(s.X) != len(s.Y) {
			continue
		}
		c.series = append(c.series, series{Name: s.Name, Style: i, X: s.X, Y: s.Y})
	}
	return c
}
