package reporter

import (
	"bytes"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/servegate/servegate/internal/terminal"
)

// What the Markdown documents share: a table writer, escaping, and the run notice.

func markdownTable(w io.Writer, header []string, body [][]string) {
	t := tablewriter.NewTable(w, tablewriter.WithRenderer(renderer.NewMarkdown()), tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(mdCells(header))
	for _, b := range body {
		_ = t.Append(mdCells(b))
	}
	_ = t.Render()
}

// mdEscaper keeps text from a result file in its place in Markdown: a pipe does not end a table
// cell, a newline does not end a row or a list item (and start a heading), and no HTML tag,
// link or code span forms. summary.md becomes the CI job summary, which GitHub renders.
var mdEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "`", "\\`", "](", `\](`, "<", "&lt;", ">", "&gt;",
	"\r\n", " ", "\n", " ", "\r", " ")

// mdText is s fit for one line or one cell of Markdown; control characters are dropped.
func mdText(s string) string { return mdEscaper.Replace(terminal.Text(s)) }

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = mdText(c)
	}
	return out
}

func render(f func(io.Writer)) []byte {
	var b bytes.Buffer
	f(&b)
	return b.Bytes()
}

// simulatedNotice is the sentence every document opens with when runs are simulated; ""
// when none is.
func simulatedNotice(runs []*Run) string {
	switch simulated(runs) {
	case allSimulated:
		return "SIMULATED: every run here is servegate's simulated engine, not a serving framework; its speeds are of a published measurement's magnitude, and no number here was measured on a GPU."
	case someSimulated:
		var names []string
		for _, r := range runs {
			if r.Simulated {
				names = append(names, r.Label)
			}
		}
		return "Includes SIMULATED runs (servegate's simulated engine, not a serving framework): " + strings.Join(names, ", ") + "."
	}
	return ""
}
