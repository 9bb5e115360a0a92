package scenario

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/stream"
)

// checks returns the fairness warnings for one trial's records, and whether successful
// requests' output lengths differed from the point's.
func (r *Runner) checks(p Point, trial int, recs []stream.Record) (warns []string, lengthVaried bool) {
	if p.InputTokens > 0 {
		var off []int
		for _, rec := range recs {
			if rec.OK() && rec.PromptTokens >= 0 && math.Abs(float64(rec.PromptTokens-p.InputTokens)) > 0.02*float64(p.InputTokens) {
				off = append(off, rec.PromptTokens)
			}
		}
		if len(off) > 0 {
			slices.Sort(off)
			warns = append(warns, fmt.Sprintf("trial %d: %d requests' server-reported prompt tokens differ from the target %d by more than 2%% (seen %d..%d): prompts were truncated or counted differently",
				trial, len(off), p.InputTokens, off[0], off[len(off)-1]))
		}
	}
	short := map[int]int{}
	for _, rec := range recs {
		if rec.OK() && rec.OutputTokens() != p.OutputTokens {
			short[rec.OutputTokens()]++
		}
	}
	if len(short) > 0 {
		lens := make([]int, 0, len(short))
		for l := range short {
			lens = append(lens, l)
		}
		sort.Ints(lens)
		why := "the server stopped at EOS although asked to ignore it (" + string(r.Target.lengthMethod()) + ")"
		if !r.Target.lengthMethod().Forced() {
			why = "the length is left to the model here (" + string(frameworks.Natural) + ")"
		}
		warns = append(warns, fmt.Sprintf("trial %d: output length not held at %d tokens (%v seen): %s; compare per-token latencies and throughput, not end-to-end latency, across frameworks",
			trial, p.OutputTokens, lens, why))
	}
	classes := map[stream.Class]int{}
	n, failed := 0, 0
	for i := range recs {
		rec := &recs[i]
		n++
		if c := rec.Class(); c != stream.Succeeded {
			classes[c]++
			if c != stream.Cancelled {
				failed++
			}
		}
	}
	if len(classes) > 0 {
		warns = append(warns, fmt.Sprintf("trial %d: %d of %d requests failed%s", trial, failed, n-classes[stream.Cancelled], classList(classes)))
	}
	return warns, len(short) > 0
}
