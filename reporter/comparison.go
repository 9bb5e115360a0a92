package reporter

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// column is one metric column of a table.
type column struct {
	Title  string
	Metric string
	Prec   int
}

// columns are the comparison table's metric columns (times in ms).
var columns = []column{
	{"ok %", "success_rate", 0},
	{"TTFT p50", "p50_ttft_ms", 1},
	{"TTFT p99", "p99_ttft_ms", 1},
	{"ITL p50", "p50_itl_ms", 2},
	{"TPOT p50", "p50_tpot_ms", 2},
	{"E2E p99", "p99_latency_ms", 0},
	{"out tok/s", "output_token_throughput", 0},
	{"req/s", "request_throughput", 2},
	{"SLO %", "slo_attainment_pct", 0},
	{"goodput req/s", "request_goodput", 2},
}

// value formats a metric of p, or "-" where it has none.
func value(p Point, c column) string {
	v, ok := p.Metrics[c.Metric]
	if !ok {
		return "-"
	}
	if fractions[c.Metric] {
		v *= 100
	}
	return fmt.Sprintf("%.*f", c.Prec, v)
}

// spread is the half-width of p's 95% interval over trials for a metric, or "" where
// there is none or it rounds to nothing (every trial at 100% success).
func spread(p Point, c column) string {
	lo, ok := p.Low[c.Metric]
	if !ok {
		return ""
	}
	hw := (p.High[c.Metric] - lo) / 2
	if fractions[c.Metric] {
		hw *= 100
	}
	s := fmt.Sprintf("%.*f", c.Prec, hw)
	if strings.Trim(s, "0.") == "" {
		return ""
	}
	return "±" + s
}

// cell formats a metric with its interval's half-width when trials gave one.
func cell(p Point, c column) string {
	s := value(p, c)
	if pm := spread(p, c); pm != "" && s != "-" {
		s += " " + pm
	}
	return s
}

// row is one line of a comparison table.
type row struct {
	Point, Label string
	Conc, In     string
	// Values and Spreads are the metric columns' values and interval half-widths.
	Values, Spreads []string
	Notes           string
	Invalid         bool
}

// runPoint is one run's point of a scenario.
type runPoint struct {
	r *Run
	p Point
}

// pointsOf returns every run's points of a scenario in reading order: points in natural
// order (c1, c8, c16, c64; in128 before in1024), then runs in report order.
func pointsOf(runs []*Run, scenario string) []runPoint {
	var out []runPoint
	for _, r := range runs {
		for _, p := range r.points(scenario) {
			out = append(out, runPoint{r, p})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].p.Point, out[j].p.Point; a != b {
			return naturalLess(a, b)
		}
		return out[i].r.Style < out[j].r.Style
	})
	return out
}

// naturalLess orders names by their runs of digits as numbers: c8 < c16 < c64,
// in2048_c4 < in4096_c1.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		ca, ra := chunk(a)
		cb, rb := chunk(b)
		if ca != cb {
			na, errA := strconv.Atoi(ca)
			nb, errB := strconv.Atoi(cb)
			if errA == nil && errB == nil && na != nb {
				return na < nb
			}
			return ca < cb
		}
		a, b = ra, rb
	}
	return len(a) < len(b)
}

// chunk splits s after its leading run of digits or of non-digits.
func chunk(s string) (string, string) {
	digit := unicode.IsDigit(rune(s[0]))
	i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsDigit(r) != digit })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// aimed is the prompt length a point aimed at; files written before every point recorded
// it have the server's mean count instead.
func aimed(p Point) string {
	if p.InputTokens > 0 {
		return fmt.Sprint(p.InputTokens)
	}
	if v, ok := p.Metrics["mean_input_tokens"]; ok {
		return fmt.Sprintf("%.0f", v)
	}
	return "-"
}

// rows returns the comparison rows of one scenario.
func rows(runs []*Run, scenario string) []row {
	var out []row
	for _, rp := range pointsOf(runs, scenario) {
		r, p := rp.r, rp.p
		rw := row{Point: p.Point, Label: r.Label, Conc: fmt.Sprint(p.Concurrency), In: aimed(p)}
		for _, c := range columns {
			rw.Values, rw.Spreads = append(rw.Values, value(p, c)), append(rw.Spreads, spread(p, c))
		}
		var notes []string
		if p.Invalid != "" {
			notes = append(notes, "INVALID")
			rw.Invalid = true
		}
		if f := failures(p.ErrorClasses); f != "" {
			notes = append(notes, "failed: "+f)
		}
		if n := len(p.Warnings); n > 0 {
			notes = append(notes, fmt.Sprintf("%d warning(s)", n))
		}
		if p.Trials > 1 {
			notes = append(notes, fmt.Sprintf("%d trials", p.Trials))
		}
		rw.Notes = strings.Join(notes, ", ")
		out = append(out, rw)
	}
	return out
}

// failures says how many requests failed in each class, the most first ("rate_limited 20,
// http_error 3"); "" when none did.
func failures(classes map[string]int) string {
	names := make([]string, 0, len(classes))
	for c, n := range classes {
		if n > 0 {
			names = append(names, c)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if classes[names[i]] != classes[names[j]] {
			return classes[names[i]] > classes[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, c := range names {
		parts[i] = fmt.Sprintf("%s %d", c, classes[c])
	}
	return strings.Join(parts, ", ")
}

func comparisonHeader() []string {
	h := []string{"point", "run", "conc", "in"}
	for _, c := range columns {
		h = append(h, c.Title)
	}
	return append(h, "notes")
}

func (rw row) strings() []string {
	cells := []string{rw.Point, rw.Label, rw.Conc, rw.In}
	for i, v := range rw.Values {
		if rw.Spreads[i] != "" && v != "-" {
			v += " " + rw.Spreads[i]
		}
		cells = append(cells, v)
	}
	return append(cells, rw.Notes)
}

// Comparison writes comparison.md: for each scenario, every point of every run.
func Comparison(w io.Writer, runs []*Run) {
	fmt.Fprintf(w, "# servegate comparison\n\n")
	if n := simulatedNotice(runs); n != "" {
		fmt.Fprintf(w, "**%s**\n\n", mdText(n))
	}
	fmt.Fprintf(w, "Times in ms; ± is the half-width of the 95%% interval over trials; in is the prompt length each point aimed at.\n")
	for _, sc := range scenarios(runs) {
		if sc == "capacity" { // an answer and its probes, not a point's figures
			capacityComparison(w, runs)
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n", mdText(sc))
		var body [][]string
		for _, rw := range rows(runs, sc) {
			body = append(body, rw.strings())
		}
		markdownTable(w, comparisonHeader(), body)
	}
}
