package reporter

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// payload closes the SVG text element and the SVG, then adds an element with a handler.
const payload = `x</text></svg><img src=x onerror=alert(4)>`

// hostileResults copies the fixture results and gives the sim run hostile text where a
// result file carries text: its framework name (the label of every table and chart), its
// model, a point's warning and error, and a launch command with an API key on it.
func hostileResults(t *testing.T, framework string) string {
	t.Helper()
	dir := copyResults(t)
	path := filepath.Join(dir, "sim", "sim_gpt-oss-20b_results.json")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	quoted := func(s string) string { q, _ := json.Marshal(s); return string(q) }
	s := strings.Replace(string(b), `"framework": "sim"`, `"framework": `+quoted(framework), 1)
	s = strings.Replace(s, `"model": "openai/gpt-oss-20b"`, `"model": `+quoted("m|"+payload), 1)
	s = strings.Replace(s, `"launch": {`, `"launch": {"command": ["vllm", "serve", "--api-key", "sk-live-report-1234"], "url": "http://u:hunter2@h:8000",`, 1)
	s = strings.Replace(s, `"scenario": "concurrent"`, `"warnings": [`+quoted("warn "+payload+"\n| row")+`], "scenario": "concurrent"`, 1)
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	return dir
}

// TestHostileTextStaysText writes a report from results whose labels carry markup and
// parses what a browser would: index.html and every chart SVG hold no element or
// attribute the payload brought, and the payload still shows, as text.
func TestHostileTextStaysText(t *testing.T) {
	out, dir := t.TempDir(), hostileResults(t, payload)
	_, err := Write(dir, out)
	require.NoError(t, err)

	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	require.NoError(t, err)
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	var texts []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			assert.NotContains(t, []string{"img", "script", "iframe", "object", "embed", "a"}, n.Data, "element injected into index.html")
			for _, a := range n.Attr {
				assert.False(t, strings.HasPrefix(strings.ToLower(a.Key), "on"), "handler attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
			}
		}
		if n.Type == html.TextNode {
			texts = append(texts, n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	all := strings.Join(texts, "\n")
	assert.Contains(t, all, "onerror=alert(4)", "the label is shown as text")
	assert.GreaterOrEqual(t, strings.Count(all, "<img src=x onerror=alert(4)>"), 3, "in the tables and in the charts' legends")
	assert.NotContains(t, string(page), "sk-live-report-1234", "launch flags are masked in the report")
	assert.NotContains(t, string(page), "hunter2")
	merged, err := os.ReadFile(filepath.Join(out, "all_results.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(merged), "sk-live-report-1234", "all_results.json masks what the page does")
	assert.NotContains(t, string(merged), "hunter2")
	assert.Contains(t, string(merged), `"http://u:***@h:8000"`)
	// Only how the server was brought up is masked: text that merely speaks of tokens or
	// of a pass is kept, as the result file has it.
	var merge struct {
		Runs []schema.File `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(merged, &merge))
	got := map[string]schema.File{}
	for _, r := range merge.Runs {
		got[r.Framework+" "+r.Model] = r
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*_results.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		var file schema.File
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		if json.Unmarshal(src, &file) != nil {
			continue // the fixtures' unreadable file, a problem the report lists
		}
		run, ok := got[file.Framework+" "+file.Model]
		require.True(t, ok, "%s is in all_results.json", path)
		assert.Equal(t, file.Definitions, run.Definitions, path)
		assert.Equal(t, file.Results, run.Results, "%s: warnings, probes' reasons and figures as they were", path)
	}

	svgs, err := filepath.Glob(filepath.Join(out, "charts", "*.svg"))
	require.NoError(t, err)
	require.NotEmpty(t, svgs)
	for _, path := range svgs {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		dec := xml.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			require.NoError(t, err, "%s is well-formed XML", path)
			if el, ok := tok.(xml.StartElement); ok {
				assert.NotEqual(t, "img", el.Name.Local, path)
				for _, a := range el.Attr {
					assert.False(t, strings.HasPrefix(a.Name.Local, "on"), "%s: handler attribute %s", path, a.Name.Local)
				}
			}
		}
	}
}

// TestMarkdownCellsKeepTheirTable checks summary.md (the CI job summary) and the other
// Markdown files: a label with a pipe, a newline and markup stays in its cell.
func TestMarkdownCellsKeepTheirTable(t *testing.T) {
	out := t.TempDir()
	_, err := Write(hostileResults(t, "a|b\n# heading"+payload), out)
	require.NoError(t, err)
	for _, name := range []string{"summary.md", "comparison.md", "analysis_report.md"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		md := string(b)
		assert.NotContains(t, md, "<img", name)
		assert.NotContains(t, md, "\n# heading", "%s: a newline in a label starts no line", name)
		assert.NotContains(t, md, "sk-live-report-1234", name)
		// Every row of a table has as many unescaped pipes as its header.
		var want int
		for _, line := range strings.Split(md, "\n") {
			if !strings.HasPrefix(line, "|") {
				want = 0
				continue
			}
			n := strings.Count(line, "|") - strings.Count(line, `\|`)
			if want == 0 {
				want = n
			}
			assert.Equal(t, want, n, "%s: row %q", name, line)
		}
	}
}
