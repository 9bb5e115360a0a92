package reporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"

	"github.com/servegate/servegate/internal/secret"
	"github.com/servegate/servegate/reporter/compare"
)

var page = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>servegate report{{if .Simulated}} (simulated){{end}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1240px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.84rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ddd;padding:.2rem .4rem;text-align:right;white-space:nowrap;vertical-align:top}
td .pm{display:block;color:#777;font-size:.74rem}
td.wrap,th.wrap{white-space:normal;text-align:left}
.sim{background:#fff4e5;border:1px solid #ffc069;padding:.5rem .8rem;border-radius:4px;font-weight:600}
th{background:#f4f4f6} td.l,th.l{text-align:left}
tr.invalid td{background:#fff1f0;color:#a8071a}
tr.c-regressed td{background:#fff1f0;color:#a8071a} tr.c-improved td{color:#237804}
tr.v-pass td:nth-child(2){color:#237804} tr.v-fail td:nth-child(2){color:#a8071a} tr.v-inconclusive td:nth-child(2){color:#ad6800}
.sw{margin-right:.35rem;vertical-align:middle}
.warn{background:#fffbe6;border:1px solid #ffe58f;padding:.5rem .8rem;border-radius:4px}
.bad{background:#fff1f0;border:1px solid #ffa39e;padding:.5rem .8rem;border-radius:4px}
figure{margin:1rem 0} figure svg{max-width:100%;height:auto;border:1px solid #eee}
pre{background:#f7f7f9;padding:.5rem;overflow-x:auto;font-size:.78rem}
.muted{color:#666;font-size:.9rem}
</style></head><body>
<h1>servegate report{{if .Simulated}}: simulated{{end}}</h1>
{{if .Notice}}<p class="sim">{{.Notice}}</p>{{end}}
<p class="muted">{{len .Runs}} result file(s). Times in ms; ± (under a value) is the half-width of the 95% interval over trials; in is the prompt length a point aimed at. Each run keeps its colour and line style in every chart; shading is its 95% interval.</p>

<h2>Runs</h2>
<table><tr><th class="l">run</th><th class="l">kind</th><th class="l">model</th><th class="l">engine</th><th class="l">GPU</th><th class="l">run at (scale)</th><th class="l">servegate</th></tr>
{{range .Runs}}<tr><td class="l"><svg class="sw" width="40" height="10" aria-hidden="true"><line x1="1" y1="5" x2="39" y2="5" stroke="{{.Color}}" stroke-width="2.5" stroke-dasharray="{{.Dash}}"/></svg>{{.Label}}</td><td class="l">{{.Kind}}</td><td class="wrap">{{.Model}}</td><td class="wrap">{{.Engine}}</td><td class="wrap">{{.GPU}}</td><td class="l">{{.Timestamp}} ({{.Scale}})</td><td class="l">{{.Commit}}</td></tr>
{{end}}</table>
{{range .Runs}}<details><summary>{{.Label}}: server configuration and launch flags</summary><pre>{{.Config}}</pre></details>
{{end}}

{{if or .Invalid .Warnings .Problems}}<h2>Before trusting these numbers</h2>
{{if .Invalid}}<div class="bad"><b>Invalid points</b> (the client, not the server, was measured):<ul>{{range .Invalid}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{if .Warnings}}<div class="warn"><b>Fairness and reconciliation warnings</b><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{if .Problems}}<div class="bad"><b>Result files that could not be read</b><ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{end}}

{{if .Verdicts}}<h2>Hypotheses</h2>
<table><tr><th class="l">id</th><th class="l">about</th><th class="l">verdict</th><th class="wrap">claim</th><th>observed</th><th>95% interval</th><th>threshold</th><th class="l">scale</th><th class="l">decided</th><th class="wrap">details</th></tr>
{{range .Verdicts}}<tr class="v-{{.Verdict}}"><td class="l">{{.ID}}</td><td class="l">{{.Subject}}</td><td class="l"><b>{{.Label}}</b></td><td class="wrap">{{.Claim}}</td><td>{{.ObservedText}}</td><td>{{.Interval}}</td><td>{{printf "%.3g" .Threshold}}</td><td class="l">{{.Scale}}</td><td class="l">{{.DecidedAt}}</td><td class="wrap">{{if .Stale}}<b>STALE:</b> {{.Stale}}. {{end}}{{.Details}}</td></tr>
{{end}}</table>{{end}}

{{if .Compared}}<h2>Against the baseline</h2>
{{if .Changes}}<table><tr>{{range .ChangeHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .Changes}}<tr class="c-{{index . 7}}">{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{else}}<p>No significant change in {{.Compared}} comparisons.</p>{{end}}{{end}}

{{if .Findings}}<h2>Findings</h2><ul>{{range .Findings}}<li><b>{{.Scenario}}</b>: {{.Text}}</li>{{end}}</ul>{{end}}

{{range .Scenarios}}<h2 id="{{.Name}}">{{.Name}}</h2>
<table><tr>{{range $i, $h := $.Header}}<th{{if lt $i 2}} class="l"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Invalid}} class="invalid"{{end}}><td class="l">{{.Point}}</td><td class="l">{{.Label}}</td><td>{{.Conc}}</td><td>{{.In}}</td>{{range .Cells}}<td>{{.V}}{{if .PM}}<span class="pm">{{.PM}}</span>{{end}}</td>{{end}}<td class="wrap">{{.Notes}}</td></tr>
{{end}}</table>
<details><summary>measurement checks</summary><table><tr>{{range $i, $h := $.CheckHeader}}<th{{if lt $i 2}} class="l"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Checks}}<tr>{{range $i, $c := .}}<td{{if lt $i 2}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table></details>
{{if .Server}}<details><summary>what the servers reported (/metrics)</summary><table><tr>{{range $i, $h := $.ServerHeader}}<th{{if lt $i 2}} class="l"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Server}}<tr>{{range $i, $c := .}}<td{{if lt $i 2}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table></details>{{end}}
{{range .Charts}}<figure aria-label="{{.Title}}">{{.SVG}}</figure>{{end}}
{{end}}
{{if .Other}}<h2>GPU and other charts</h2>{{range .Other}}<figure aria-label="{{.Title}}">{{.SVG}}</figure>{{end}}{{end}}
{{if not .HasGPU}}<p class="muted">GPU memory and utilisation charts appear when a run has a GPU timeline (…_gpu_timeline.json beside its results); none of these does.</p>{{end}}
</body></html>
`))

type htmlRun struct {
	Label, Kind, Color, Dash, Model, Engine, GPU, Timestamp, Scale, Commit, Config string
}

// htmlRow is a comparison row with each value's interval under it.
type htmlRow struct {
	row
	Cells []htmlCell
}

type htmlCell struct{ V, PM string }

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

// HTML writes a self-contained page: tables, inline SVG charts, run metadata and warnings.
// svgs maps chart file names to their SVG, each having passed checkSVG.
func HTML(w io.Writer, runs []*Run, problems []Problem, charts []Chart, svgs map[string][]byte, verdicts []Verdict, changes []compare.Change) error {
	data := struct {
		Simulated                   bool
		Notice                      string
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
	}{Simulated: simulated(runs) == allSimulated, Notice: simulatedNotice(runs), Verdicts: verdicts, Compared: len(changes),
		ChangeHeader: changeHeader, Header: comparisonHeader(), CheckHeader: checkHeader(), ServerHeader: header(serverColumns)}
	for _, r := range runs {
		col, dash := runStyle(r.Style)
		// Masked again here: result files written before servegate masked them all.
		// (all_results.json masks the same parts: maskedKeys.)
		cfg, _ := json.MarshalIndent(secret.Value(map[string]any{"server_config": r.ServerConfig, "provenance": r.Provenance, "gpu_info": r.GPUInfo}), "", "  ")
		prov := func(k string) string {
			if v, ok := r.Provenance[k]; ok && v != nil {
				return fmt.Sprint(v)
			}
			return ""
		}
		kind := "measured"
		if r.Simulated {
			kind = "SIMULATED"
		}
		data.Runs = append(data.Runs, htmlRun{Label: r.Label, Kind: kind, Color: cssColor(col), Dash: cssDash(dash), Model: r.Model,
			Engine: prov("engine") + " " + prov("engine_version"), GPU: gpuName(r), Timestamp: r.Timestamp, Scale: prov("scale"),
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
	inline := func(c Chart) htmlChart {
		// Passed checkSVG: drawing only, its text escaped. The XML prolog and comment
		// before the <svg> element have no place in an HTML page.
		b := svgs[c.File]
		if i := bytes.Index(b, []byte("<svg")); i > 0 {
			b = b[i:]
		}
		return htmlChart{c.Title, template.HTML(b)}
	}
	for _, sc := range scenarios(runs) {
		hs := htmlScenario{Name: sc, Checks: checkRows(runs, sc), Server: serverRows(runs, sc)}
		for _, rw := range rows(runs, sc) {
			hr := htmlRow{row: rw}
			for i, v := range rw.Values {
				hr.Cells = append(hr.Cells, htmlCell{v, rw.Spreads[i]})
			}
			hs.Rows = append(hs.Rows, hr)
		}
		for _, c := range charts {
			if _, ok := svgs[c.File]; ok && c.scenario == sc {
				hs.Charts = append(hs.Charts, inline(c))
			}
		}
		data.Scenarios = append(data.Scenarios, hs)
	}
	for _, c := range charts {
		if _, ok := svgs[c.File]; ok && c.scenario == "" {
			data.Other = append(data.Other, inline(c))
			data.HasGPU = data.HasGPU || c.gpu
		}
	}
	return page.Execute(w, data)
}
