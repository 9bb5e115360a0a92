package reporter

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/servegate/servegate/internal/secret"
	"github.com/servegate/servegate/reporter/compare"
)

var page = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>servegate report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.86rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:right;white-space:nowrap}
th{background:#f4f4f6} td.l,th.l{text-align:left}
tr.invalid td{background:#fff1f0;color:#a8071a}
tr.c-regressed td{background:#fff1f0;color:#a8071a} tr.c-improved td{color:#237804}
tr.v-pass td:nth-child(2){color:#237804} tr.v-fail td:nth-child(2){color:#a8071a} tr.v-inconclusive td:nth-child(2){color:#ad6800}
.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.35rem;vertical-align:-1px}
.warn{background:#fffbe6;border:1px solid #ffe58f;padding:.5rem .8rem;border-radius:4px}
.bad{background:#fff1f0;border:1px solid #ffa39e;padding:.5rem .8rem;border-radius:4px}
figure{margin:1rem 0} figcaption{font-weight:600;margin-bottom:.3rem} figure svg{max-width:100%;height:auto;border:1px solid #eee}
pre{background:#f7f7f9;padding:.5rem;overflow-x:auto;font-size:.78rem}
.muted{color:#666;font-size:.9rem}
</style></head><body>
<h1>servegate report</h1>
<p class="muted">{{len .Runs}} result file(s). Times in ms; ± is the half-width of the 95% interval over trials. Charts are drawn from the same files.</p>

<h2>Runs</h2>
<table><tr><th class="l">framework</th><th class="l">model</th><th class="l">engine</th><th class="l">GPU</th><th class="l">run</th><th class="l">scale</th><th class="l">servegate</th></tr>
{{range .Runs}}<tr><td class="l"><span class="sw" style="background:{{.Color}}"></span>{{.Label}}</td><td class="l">{{.Model}}</td><td class="l">{{.Engine}}</td><td class="l">{{.GPU}}</td><td class="l">{{.Timestamp}}</td><td class="l">{{.Scale}}</td><td class="l">{{.Commit}}</td></tr>
{{end}}</table>
{{range .Runs}}<details><summary>{{.Label}}: server configuration and launch flags</summary><pre>{{.Config}}</pre></details>
{{end}}

{{if or .Invalid .Warnings .Problems}}<h2>Before trusting these numbers</h2>
{{if .Invalid}}<div class="bad"><b>Invalid points</b> (the client, not the server, was measured):<ul>{{range .Invalid}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{if .Warnings}}<div class="warn"><b>Fairness and reconciliation warnings</b><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{if .Problems}}<div class="bad"><b>Result files that could not be read</b><ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{end}}

{{if .Verdicts}}<h2>Hypotheses</h2>
<table><tr><th class="l">id</th><th class="l">about</th><th class="l">verdict</th><th class="l">claim</th><th>observed</th><th>95% interval</th><th>threshold</th><th class="l">scale</th><th class="l">decided</th><th class="l">details</th></tr>
{{range .Verdicts}}<tr class="v-{{.Verdict}}"><td class="l">{{.ID}}</td><td class="l">{{.Subject}}</td><td class="l"><b>{{.Label}}</b></td><td class="l" style="white-space:normal">{{.Claim}}</td><td>{{printf "%.3g" .Observed}}</td><td>{{.Interval}}</td><td>{{printf "%.3g" .Threshold}}</td><td class="l">{{.Scale}}</td><td class="l">{{.DecidedAt}}</td><td class="l" style="white-space:normal">{{if .Stale}}<b>STALE:</b> {{.Stale}}. {{end}}{{.Details}}</td></tr>
{{end}}</table>{{end}}

{{if .Compared}}<h2>Against the baseline</h2>
{{if .Changes}}<table><tr>{{range .ChangeHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .Changes}}<tr class="c-{{index . 7}}">{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{else}}<p>No significant change in {{.Compared}} comparisons.</p>{{end}}{{end}}

{{if .Findings}}<h2>Findings</h2><ul>{{range .Findings}}<li><b>{{.Scenario}}</b>: {{.Text}}</li>{{end}}</ul>{{end}}

{{range .Scenarios}}<h2>{{.Name}}</h2>
<table><tr>{{range $i, $h := $.Header}}<th{{if lt $i 2}} class="l"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Invalid}} class="invalid"{{end}}>{{range $i, $c := .Cells}}<td{{if lt $i 2}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
<details><summary>measurement checks</summary><table><tr>{{range $i, $h := $.CheckHeader}}<th{{if lt $i 2}} class="l"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Checks}}<tr>{{range $i, $c := .}}<td{{if lt $i 2}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table></details>
{{if .Server}}<details><summary>what the servers reported (/metrics)</summary><table><tr>{{range $i, $h := $.ServerHeader}}<th{{if lt $i 2}} class="l"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Server}}<tr>{{range $i, $c := .}}<td{{if lt $i 2}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table></details>{{end}}
{{range .Charts}}<figure><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>{{end}}
{{end}}
{{if .Other}}<h2>GPU and other charts</h2>{{range .Other}}<figure><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>{{end}}{{end}}
{{if not .HasGPU}}<p class="muted">GPU memory and utilisation charts appear when a run has a GPU timeline (…_gpu_timeline.json beside its results); none of these does.</p>{{end}}
</body></html>
`))

type htmlRun struct {
	Label, Color, Model, Engine, GPU, Timestamp, Scale, Commit, Config string
}

type htmlRow struct {
	Invalid bool
	Cells   []string
}

type htmlChart struct {
	Title string
	SVG   template.HTML
}

type htmlScenario struct {
	Name           string
	Rows           []htmlRow
	Checks, Server [][]string
	Charts         []htmlChart
}

// chartScenario says under which scenario a chart is shown.
var chartScenario = map[string]string{
	"ttft_by_input": "single_request", "throughput_vs_concurrency": "concurrent", "p99_latency_vs_concurrency": "concurrent",
	"long_context_ttft": "long_context", "prefix_cache_ttft": "prefix_cache", "korean_vs_english": "korean",
}

// HTML writes a self-contained page: tables, inline SVG charts, run metadata and warnings.
// svgs maps chart file names to their SVG; charts gives their titles.
func HTML(w io.Writer, runs []*Run, problems []Problem, charts []Chart, svgs map[string][]byte, verdicts []Verdict, changes []compare.Change) error {
	titles := map[string]string{}
	for _, c := range charts {
		titles[c.File] = c.Title
	}
	data := struct {
		Runs                        []htmlRun
		Invalid, Warnings, Problems []string
		Findings                    []finding
		Header, CheckHeader         []string
		ServerHeader                []string
		Scenarios                   []htmlScenario
		Other                       []htmlChart
		Verdicts                    []Verdict
		HasGPU                      bool
		Compared                    int
		ChangeHeader                []string
		Changes                     [][]string
	}{Verdicts: verdicts, Compared: len(changes), ChangeHeader: changeHeader, Header: comparisonHeader(), CheckHeader: checkHeader(),
		ServerHeader: header(serverColumns)}
	for _, r := range runs {
		c := colorOf(r)
		// Masked again here: result files written before servegate masked them all.
		cfg, _ := json.MarshalIndent(secret.Value(map[string]any{"server_config": r.ServerConfig, "provenance": r.Provenance, "gpu_info": r.GPUInfo}), "", "  ")
		prov := func(k string) string {
			if v, ok := r.Provenance[k]; ok && v != nil {
				return fmt.Sprint(v)
			}
			return ""
		}
		gpu := "none sampled"
		if r.GPUInfo != nil {
			gpu = fmt.Sprint(r.GPUInfo["name"])
		}
		data.Runs = append(data.Runs, htmlRun{Label: r.Label, Color: fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B), Model: r.Model,
			Engine: prov("engine") + " " + prov("engine_version"), GPU: gpu, Timestamp: r.Timestamp, Scale: prov("scale"),
			Commit: prov("servegate_commit"), Config: string(cfg)})
	}
	data.Invalid, data.Warnings = attention(runs)
	for _, p := range problems {
		data.Problems = append(data.Problems, p.String())
	}
	data.Findings = findings(runs)
	for _, c := range notable(changes) {
		data.Changes = append(data.Changes, changeRow(c))
	}
	placed := map[string]bool{}
	for _, sc := range scenarios(runs) {
		hs := htmlScenario{Name: sc, Checks: checkRows(runs, sc), Server: serverRows(runs, sc)}
		for _, rw := range rows(runs, sc) {
			hs.Rows = append(hs.Rows, htmlRow{Invalid: rw.Invalid, Cells: rw.strings()})
		}
		for _, name := range sortedKeys(svgs) {
			if chartScenario[name] == sc {
				// Passed checkSVG: drawing only, its text escaped.
				hs.Charts = append(hs.Charts, htmlChart{titles[name], template.HTML(svgs[name])})
				placed[name] = true
			}
		}
		data.Scenarios = append(data.Scenarios, hs)
	}
	for _, c := range charts {
		data.HasGPU = data.HasGPU || strings.HasPrefix(c.File, "gpu_")
	}
	for _, name := range sortedKeys(svgs) {
		if !placed[name] {
			data.Other = append(data.Other, htmlChart{titles[name], template.HTML(svgs[name])})
		}
	}
	return page.Execute(w, data)
}
