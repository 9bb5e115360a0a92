package results

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/servegate/servegate/schema"
)

// ShardPath is where shard s of n writes its records under dir: beside the result file
// the merge writes, named <framework>_<preset>_shard-<s>-of-<n>_records.ndjson.gz (the
// result file name it is derived from is never written).
func ShardPath(dir, framework, preset string, s, n int) string {
	return Path(dir, framework, fmt.Sprintf("%s_shard-%d-of-%d", preset, s, n))
}

var shardName = regexp.MustCompile(`^(.+)_shard-(\d+)-of-(\d+)_records\.ndjson\.gz$`)

// Merge pools the records of the shards of one measurement into one group per point, as
// one process measuring the whole load would have written them: requests keep the
// point's numbering, and every metric is then computed over the pooled requests
// (Assemble), so percentiles are exact rather than combined. shards holds each shard's
// groups. Shards measured under different settings, with a different shard count, with
// a shard missing or twice, or whose trials did not start at one instant are refused.
//
// A trial's own figures are pooled by kind: counts and rates of the client (requests in
// flight, send rate, CPU seconds) add up; p99s, peaks and maxima take the largest
// shard's; the rest (CPU percentages, server and GPU figures every shard read from the
// same target) the mean; per-device GPU figures are the first shard's that has them.
// Warnings and invalid reasons are kept, each naming its shard.
func Merge(shards [][]schema.Group) ([]schema.Group, error) {
	type part struct {
		g     *schema.Group
		where string
	}
	byPoint := map[string][]part{}
	var order []string
	var first *schema.Group
	for si := range shards {
		for gi := range shards[si] {
			g := &shards[si][gi]
			where := fmt.Sprintf("shard file %d, %s", si, g.Head.Point.Key())
			if g.Head.Shard == nil {
				return nil, fmt.Errorf("%s: records of a whole measurement, not of a shard", where)
			}
			if first == nil {
				first = g
			}
			if err := sameMeasurement(first, g); err != nil {
				return nil, fmt.Errorf("%s (shard %d/%d): %w", where, g.Head.Shard.Index, g.Head.Shard.Count, err)
			}
			key := g.Head.Point.Key()
			if _, seen := byPoint[key]; !seen {
				order = append(order, key)
			}
			byPoint[key] = append(byPoint[key], part{g, where})
		}
	}
	if first == nil {
		return nil, fmt.Errorf("no shard records to merge")
	}
	n := first.Head.Shard.Count
	var out []schema.Group
	for _, key := range order {
		parts := byPoint[key]
		slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.g.Head.Shard.Index, b.g.Head.Shard.Index) })
		whole := len(parts) == n
		var have []int
		for i, p := range parts {
			have = append(have, p.g.Head.Shard.Index)
			whole = whole && p.g.Head.Shard.Index == i
		}
		if !whole {
			return nil, fmt.Errorf("%s: records of shards %v of %d: every shard once is needed", key, have, n)
		}
		base := parts[0].g
		m := schema.Group{Head: base.Head}
		m.Head.Shard = nil
		m.Head.Point.Shards = n
		m.Head.Stopped = ""
		for _, p := range parts {
			h := p.g.Head
			if h.Stopped != "" {
				m.Head.Stopped = appendReason(m.Head.Stopped, fmt.Sprintf("shard %d: %s", h.Shard.Index, h.Stopped))
			}
			if d := pointDifferences(base.Head.Point, h.Point); d != "" {
				return nil, fmt.Errorf("%s: shard %d measured another point: %s", key, h.Shard.Index, d)
			}
			if !slices.Equal(h.Shard.Starts, base.Head.Shard.Starts) {
				return nil, fmt.Errorf("%s: shard %d started its trials at %v, shard %d at %v: not one measurement",
					key, h.Shard.Index, h.Shard.Starts, base.Head.Shard.Index, base.Head.Shard.Starts)
			}
			if h.Point.MeasuredAt > m.Head.Point.MeasuredAt {
				m.Head.Point.MeasuredAt = h.Point.MeasuredAt
			}
			if len(p.g.Trials) != len(base.Trials) {
				return nil, fmt.Errorf("%s: shard %d has %d trials, shard %d %d", key, h.Shard.Index, len(p.g.Trials), base.Head.Shard.Index, len(base.Trials))
			}
			m.Requests = append(m.Requests, p.g.Requests...)
		}
		for ti := range base.Trials {
			t := schema.Trial{Trial: base.Trials[ti].Trial, Values: map[string]float64{}}
			values := map[string][]float64{}
			for _, p := range parts {
				tr := p.g.Trials[ti]
				for k, v := range tr.Values {
					values[k] = append(values[k], v)
				}
				for _, w := range tr.Warnings {
					t.Warnings = append(t.Warnings, fmt.Sprintf("shard %d: %s", p.g.Head.Shard.Index, w))
				}
				if tr.Invalid != "" {
					t.Invalid = appendReason(t.Invalid, fmt.Sprintf("shard %d %s", p.g.Head.Shard.Index, tr.Invalid))
				}
				if t.GPUs == nil {
					t.GPUs = tr.GPUs // the server's devices: every shard that sampled them saw the same
				}
			}
			for k, vs := range values {
				t.Values[k] = pool(k, vs)
			}
			m.Trials = append(m.Trials, t)
		}
		slices.SortStableFunc(m.Requests, func(a, b schema.Request) int {
			return cmp.Or(cmp.Compare(a.Trial, b.Trial), cmp.Compare(a.Index, b.Index))
		})
		for i := 1; i < len(m.Requests); i++ {
			if a, b := m.Requests[i-1], m.Requests[i]; a.Trial == b.Trial && a.Index == b.Index {
				return nil, fmt.Errorf("%s: trial %d request %d was sent by two shards", key, a.Trial, a.Index)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// pool combines the shards' values of one trial figure (see Merge).
func pool(key string, vs []float64) float64 {
	switch {
	case key == "client_max_in_flight" || key == "client_send_rate" || key == "client_cpu_sec":
		var sum float64
		for _, v := range vs {
			sum += v
		}
		return sum
	case strings.Contains(key, "p99") || strings.Contains(key, "peak") || strings.HasPrefix(key, "max_"):
		return slices.Max(vs)
	default:
		var sum float64
		for _, v := range vs {
			sum += v
		}
		return sum / float64(len(vs))
	}
}

// sameMeasurement says how g's measurement differs from first's: its settings, target,
// seed or shard count.
func sameMeasurement(first, g *schema.Group) error {
	a, b := first.Head.File, g.Head.File
	var diffs []string
	if a.Settings == nil || b.Settings == nil {
		diffs = append(diffs, "settings not recorded")
	} else {
		diffs = append(diffs, a.Settings.Differences(*b.Settings)...)
	}
	for _, f := range []struct{ name, x, y string }{
		{"framework", a.Framework, b.Framework}, {"model", a.Model, b.Model},
		{"seed", fmt.Sprint(a.Provenance.Seed), fmt.Sprint(b.Provenance.Seed)},
		{"shard count", fmt.Sprint(first.Head.Shard.Count), fmt.Sprint(g.Head.Shard.Count)},
	} {
		if f.x != f.y {
			diffs = append(diffs, fmt.Sprintf("%s %q in the first shard, %q here", f.name, f.x, f.y))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("measured under other settings than the first shard's (%s)", strings.Join(diffs, "; "))
	}
	return nil
}

// pointDifferences names the fields in which two shards' descriptions of a point differ
// (measured_at aside).
func pointDifferences(a, b schema.Point) string {
	a.MeasuredAt, b.MeasuredAt = "", ""
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return ""
	}
	var ma, mb map[string]any
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(ma)) {
		if fmt.Sprint(ma[k]) != fmt.Sprint(mb[k]) {
			diffs = append(diffs, fmt.Sprintf("%s %v vs %v", k, ma[k], mb[k]))
		}
	}
	return strings.Join(diffs, ", ")
}

// MergeDir merges every set of shard records under dir (<framework>/<framework>_<preset>
// _shard-<i>-of-<n>_records.ndjson.gz) into the result file and records of that framework
// and preset, added to what is there as a run's points are (opt.Fresh starts over). It
// returns the result files written.
func MergeDir(ctx context.Context, dir string, opt Options) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*_shard-*-of-*_records.ndjson.gz"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no shard records under %s (expected %s/<framework>/<framework>_<preset>_shard-<i>-of-<n>_records.ndjson.gz)", dir, dir)
	}
	sets := map[string][]string{}
	for _, p := range paths {
		m := shardName.FindStringSubmatch(filepath.Base(p))
		if m == nil {
			continue
		}
		stem := filepath.Join(filepath.Dir(p), m[1])
		sets[stem] = append(sets[stem], p)
	}
	var written []string
	for _, stem := range slices.Sorted(maps.Keys(sets)) {
		var shards [][]schema.Group
		for _, p := range sets[stem] {
			gs, err := schema.ReadRecords(p)
			if err != nil {
				return written, err
			}
			shards = append(shards, gs)
		}
		merged, err := Merge(shards)
		if err != nil {
			return written, fmt.Errorf("merge %s: %w", strings.Join(sets[stem], ", "), err)
		}
		head := merged[0].Head.File
		head.Results, head.Definitions = nil, nil
		// As a run does: beside a file of other settings, the merged points get their own.
		w, _, err := OpenApart(ctx, filepath.Dir(filepath.Dir(stem)), head, opt)
		if err != nil {
			return written, err
		}
		path := w.Path()
		for i := range merged {
			if _, err := w.Record(&merged[i]); err != nil {
				w.Close()
				return written, err
			}
		}
		if err := w.Close(); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}
