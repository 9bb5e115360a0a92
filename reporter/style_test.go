package reporter

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// svgElement is a <text> or <path> of a chart, in document order.
type svgElement struct {
	text     string // a text's content; "" for a path
	x        float64
	stroke   string // a path's stroke colour and dash pattern
	dash     string
	width    string
	xs       []float64 // a path's x coordinates
	isText   bool
	fillOnly bool
}

var coord = regexp.MustCompile(`[ML]([-0-9.e]+),([-0-9.e]+)`)

// parseChart reads a chart SVG as a browser would see its texts and strokes.
func parseChart(t *testing.T, b []byte) []svgElement {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []svgElement
	var cur *svgElement
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			style := map[string]string{}
			for _, kv := range strings.Split(attr["style"], ";") {
				if k, v, ok := strings.Cut(strings.TrimSpace(kv), ":"); ok {
					style[k] = v
				}
			}
			switch el.Name.Local {
			case "text":
				x, _ := strconv.ParseFloat(attr["x"], 64)
				out = append(out, svgElement{isText: true, x: x})
				cur = &out[len(out)-1]
			case "path":
				e := svgElement{stroke: style["stroke"], dash: style["stroke-dasharray"], width: style["stroke-width"]}
				for _, m := range coord.FindAllStringSubmatch(attr["d"], -1) {
					x, _ := strconv.ParseFloat(m[1], 64)
					e.xs = append(e.xs, x)
				}
				e.fillOnly = e.stroke == ""
				out = append(out, e)
			}
		case xml.CharData:
			if cur != nil {
				cur.text += string(el)
			}
		case xml.EndElement:
			if el.Name.Local == "text" {
				cur = nil
			}
		}
	}
}

// legendEntry is one entry of a chart's legend: its text and the stroke of its line sample.
type legendEntry struct {
	text, stroke, dash string
	x                  float64
	// samples are the indexes of the entry's line sample and marker among the elements.
	samples []int
}

// legendOf finds the legend entries: texts naming a series, each drawn after its samples
// (gonum's legend draws a line sample, then a marker, then the text).
func legendOf(els []svgElement, names func(string) bool) []legendEntry {
	var out []legendEntry
	for i, e := range els {
		if !e.isText || !names(e.text) {
			continue
		}
		le := legendEntry{text: e.text, x: e.x}
		for j := i - 1; j >= max(0, i-2) && !els[j].isText; j-- { // a marker, a line sample
			le.samples = append(le.samples, j)
			if els[j].width == "2" && len(els[j].xs) == 2 { // the line sample
				le.stroke, le.dash = els[j].stroke, els[j].dash
				break
			}
		}
		out = append(out, le)
	}
	return out
}

// The report drawn from the committed results of two frameworks, each with two presets:
// in every chart SVG a browser gets, each run has a colour and dash of its own, the same in
// every chart; every series with data is in its chart's legend, drawn in its legend's
// style; and the legend stands right of all the data, covering none of it.
func TestEveryRunHasItsOwnStyleInEveryChartAndLegend(t *testing.T) {
	runs, _ := load(t)
	require.Len(t, runs, 4)
	out := t.TempDir()
	_, err := Write("testdata/results", out)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(out, "charts", "*.svg"))
	require.NoError(t, err)
	require.Len(t, files, 8)

	ownerOf := func(text string) *Run {
		var best *Run
		for _, r := range runs {
			if (text == r.Label || strings.HasPrefix(text, r.Label+" ")) && (best == nil || len(r.Label) > len(best.Label)) {
				best = r
			}
		}
		return best
	}
	styleOf := map[string]string{} // run label -> "colour dash", over every chart
	for _, path := range files {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		els := parseChart(t, b)
		name := filepath.Base(path)
		if strings.Contains(name, "korean") {
			// Grouped bars: the languages are the legend, in a fixed order; the runs name
			// the groups.
			leg := legendOf(els, func(s string) bool { return s == "English" || s == "Korean" })
			require.Len(t, leg, 2, name)
			assert.Equal(t, "English", leg[0].text, "%s: English first, always", name)
			all := strings.Join(textsOf(els), "")
			for _, r := range runs {
				assert.Contains(t, all, r.Label, "%s: %s names its group (on two lines)", name, r.Label)
			}
			continue
		}
		leg := legendOf(els, func(s string) bool { return ownerOf(s) != nil })
		seen := map[string]bool{}
		for _, e := range leg {
			r := ownerOf(e.text)
			seen[r.Label] = true
			require.NotEmpty(t, e.stroke, "%s: %q has a line sample", name, e.text)
			style := e.stroke + " " + e.dash
			if prev, ok := styleOf[r.Label]; ok {
				assert.Equal(t, prev, style, "%s: %s keeps its style in every chart", name, r.Label)
			}
			styleOf[r.Label] = style
		}
		for _, r := range runs {
			if strings.Contains(name, "attainment") && len(r.points("capacity")) == 0 {
				continue // only the gpt-oss-20b fixtures have a capacity search
			}
			assert.True(t, seen[r.Label], "%s: %s has data here and is in the legend", name, r.Label)
		}
		// Every data line is drawn in a style its legend shows; none reaches the legend.
		legendStyles, legendX := map[string]bool{}, 1e9
		for _, e := range leg {
			legendStyles[e.stroke+" "+e.dash] = true
			legendX = min(legendX, e.x)
		}
		inLegend := map[int]bool{}
		for _, e := range leg {
			for _, j := range e.samples {
				inLegend[j] = true
			}
		}
		lines := 0
		for i, e := range els {
			if e.isText || e.width != "2" || inLegend[i] {
				continue
			}
			lines++
			assert.True(t, legendStyles[e.stroke+" "+e.dash], "%s: a line in %s %s is in no legend entry", name, e.stroke, e.dash)
			for _, x := range e.xs {
				assert.Less(t, x, legendX, "%s: data under the legend", name)
			}
		}
		assert.NotZero(t, lines, name)
	}
	require.Len(t, styleOf, len(runs))
	distinct := map[string]string{}
	for label, style := range styleOf {
		other, taken := distinct[style]
		assert.False(t, taken, "%s and %s share the colour and dash %s", label, other, style)
		distinct[style] = label
	}
}

func textsOf(els []svgElement) []string {
	var out []string
	for _, e := range els {
		if e.isText {
			out = append(out, e.text)
		}
	}
	return out
}
