package reporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/servegate/servegate/internal/secret"
	"github.com/servegate/servegate/reporter/compare"
)

// Written lists what Write produced.
type Written struct {
	Files    []string
	Problems []Problem
}

// Write reads every result file under resultsDir and writes the report into outDir:
// all_results.json, comparison.md, analysis_report.md, summary.md, charts/*.png and
// charts/*.svg, and index.html. Unreadable result files are named in the report and in
// Written.Problems; the rest still render. It fails only when nothing can be reported.
func Write(resultsDir, outDir string) (Written, error) {
	return WriteWith(resultsDir, outDir, Options{})
}

// Options adds optional sections to a report.
type Options struct {
	// Baseline, when set, is a results directory (or file) to compare against; the report
	// then lists every significant change (see reporter/compare).
	Baseline string
	// Compare configures that comparison.
	Compare compare.Options
}

// WriteWith is Write with options.
func WriteWith(resultsDir, outDir string, opt Options) (Written, error) {
	runs, problems, err := Load(resultsDir)
	if err != nil {
		return Written{}, err
	}
	w := Written{Problems: problems}
	if len(runs) == 0 {
		return w, fmt.Errorf("no readable result files under %s (expected %s/<framework>/<framework>_<preset>_results.json)", resultsDir, resultsDir)
	}
	if err := os.MkdirAll(filepath.Join(outDir, "charts"), 0o755); err != nil {
		return w, err
	}
	put := func(name string, b []byte) error {
		path := filepath.Join(outDir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		w.Files = append(w.Files, path)
		return nil
	}
	all := struct {
		Runs []json.RawMessage `json:"runs"`
	}{}
	for _, r := range runs {
		m, err := masked(r.raw)
		if err != nil {
			return w, fmt.Errorf("all_results.json: %s: %w", r.Path, err)
		}
		all.Runs = append(all.Runs, m)
	}
	merged, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return w, err
	}
	svgs := map[string][]byte{}
	charts := Charts(runs)
	gpu, gp := gpuCharts(runs)
	charts = append(charts, gpu...)
	var changes []compare.Change
	if opt.Baseline != "" {
		pairs, err := compare.Paths(opt.Baseline, resultsDir)
		if err != nil {
			return w, fmt.Errorf("compare with baseline: %w", err)
		}
		for _, p := range pairs {
			cs, err := compare.Files(p[0], p[1], opt.Compare)
			if err != nil {
				return w, fmt.Errorf("compare with baseline: %w", err)
			}
			changes = append(changes, cs...)
		}
	}
	verdicts, vp := loadVerdicts(resultsDir)
	markStale(verdicts, runs)
	problems = append(append(problems, gp...), vp...)
	w.Problems = problems
	for _, c := range charts {
		png, err := c.PNG()
		if err != nil {
			return w, err
		}
		svg, err := c.SVG()
		if err != nil {
			return w, err
		}
		svgs[c.File] = svg
		if err := put(filepath.Join("charts", c.File+".png"), png); err != nil {
			return w, err
		}
		if err := put(filepath.Join("charts", c.File+".svg"), svg); err != nil {
			return w, err
		}
	}
	html := render(func(f io.Writer) { err = HTML(f, runs, problems, charts, svgs, verdicts, changes) })
	if err != nil {
		return w, fmt.Errorf("render index.html: %w", err)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{
		{"all_results.json", merged},
		{"comparison.md", render(func(f io.Writer) { Comparison(f, runs) })},
		{"analysis_report.md", render(func(f io.Writer) { Analysis(f, runs, problems); Verdicts(f, verdicts); Changes(f, changes) })},
		{"summary.md", render(func(f io.Writer) { Summary(f, runs, problems); Verdicts(f, verdicts); Changes(f, changes) })},
		{"index.html", html},
	} {
		if err := put(f.name, f.b); err != nil {
			return w, err
		}
	}
	return w, nil
}

// maskedKeys are the parts of a result file that carry how the server was brought up and
// where: the parts the page shows masked (html.go), and the only ones with secrets in them.
var maskedKeys = []string{"server_config", "provenance", "gpu_info"}

// masked is a result file with those parts masked as the page shows them (secret.Value):
// servegate masks what it writes, but a file from an older version or edited by hand may
// carry a key on a launch command. The rest (definitions, warnings, a probe's reasons,
// in whose words "token" and "pass" are no credentials) is kept as it was; numbers keep
// their digits.
func masked(raw json.RawMessage) (json.RawMessage, error) {
	var file map[string]json.RawMessage
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, err
	}
	for _, k := range maskedKeys {
		part, ok := file[k]
		if !ok {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(part))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		b, err := json.Marshal(secret.Value(v))
		if err != nil {
			return nil, err
		}
		file[k] = b
	}
	return json.Marshal(file)
}

func sortedKeys(m map[string][]byte) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
