package results

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/slo"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// streamed is a request sent at t0+at whose chunks arrived at the given offsets (ms), one
// token each, dated by the kernel.
func streamed(at time.Duration, offsets ...float64) stream.Record {
	rec := stream.Record{Scheduled: t0.Add(at), Sent: t0.Add(at + time.Millisecond), KernelStamps: true, PromptTokens: 100,
		CompletionTokens: len(offsets), TokenSource: stream.FromUsage, HTTPStatus: 200, FirstByte: time.Millisecond}
	for _, ms := range offsets {
		rec.Chunks = append(rec.Chunks, stream.Chunk{Offset: time.Duration(ms * float64(time.Millisecond)), Tokens: 1, Kernel: true})
	}
	rec.End = rec.Chunks[len(rec.Chunks)-1].Offset
	return rec
}

func measured(key string, trials ...[]stream.Record) *schema.Group {
	g := &schema.Group{Head: schema.Head{Point: schema.Point{Scenario: "concurrent", Point: key, Concurrency: 2, NumRequests: 2}}}
	for t, recs := range trials {
		g.Trials = append(g.Trials, schema.Trial{Trial: t + 1, Values: map[string]float64{"client_cpu_pct": float64(10 * (t + 1))},
			Warnings: []string{"trial " + string(rune('1'+t)) + ": a finding"}})
		for i := range recs {
			g.Requests = append(g.Requests, Request(t+1, i, &recs[i]))
		}
	}
	return g
}

func TestRequestRoundTrips(t *testing.T) {
	rec := streamed(0, 10, 20, 30)
	rec.ID, rec.PromptChars, rec.OutputChars, rec.ReasoningTokens = "r1", 400, 12, 1
	rec.KernelStamps = false
	rec.Chunks[1].Kernel, rec.Chunks[1].Lag = false, 3*time.Millisecond
	rec.Server = &stream.ServerTiming{Total: 5, Load: 1, PromptEval: 2, Eval: 2}
	rec.Err = errors.New("read stream: connection reset")
	q := Request(1, 7, &rec)
	assert.Equal(t, schema.DatedMixed, q.Dated)
	assert.Equal(t, []int{1}, q.ReadDated, "the chunk dated when read is named")
	back := Record(&q)
	assert.True(t, back.Sent.Equal(rec.Sent) && back.Scheduled.Equal(rec.Scheduled))
	back.Sent, back.Scheduled = rec.Sent, rec.Scheduled
	assert.Equal(t, rec.Err.Error(), back.Err.Error())
	back.Err = rec.Err
	assert.Equal(t, rec, back)
}

func TestAssembleComputesThePointFromItsRecords(t *testing.T) {
	g := measured("c2",
		[]stream.Record{streamed(0, 10, 12, 14), streamed(0, 20, 22, 24)},
		[]stream.Record{streamed(time.Second, 30, 32, 34), streamed(time.Second, 40, 42, 44)})
	g.Trials[1].Invalid = "client-bound: held 1 of 2 requests in flight"
	p, err := Assemble(g)
	require.NoError(t, err)
	assert.Equal(t, 2, p.Trials)
	assert.InDelta(t, (15.0+35)/2, p.Metrics["avg_ttft_ms"], 1e-9, "each trial's mean TTFT, averaged over trials")
	assert.InDelta(t, 2.0, p.Metrics["p50_itl_ms"], 1e-9)
	assert.Equal(t, 15.0, p.Metrics["client_cpu_pct"], "a trial's own figures are averaged too")
	assert.Equal(t, []float64{10, 20}, p.TrialStats["client_cpu_pct"].Values)
	assert.Equal(t, []string{"trial 1: a finding", "trial 2: a finding"}, p.Warnings)
	assert.Equal(t, "trial 2 client-bound: held 1 of 2 requests in flight", p.Invalid)
	require.Len(t, p.Requests, 4)
	assert.Equal(t, Sample{Trial: 2, Index: 1, QueueMs: 1, TTFTMs: 40, LatencyMs: 44, InputTokens: 100, OutputTokens: 3, Chunks: 3, Class: "ok"}, p.Requests[3])
}

// Each request's class survives its records: a point recomputed from them has the classes,
// Retry-After, HTTP status and usage disagreements it was measured with, and a request the
// run cancelled stays out of its figures. A point whose measuring stopped early says so.
func TestClassesSurviveTheRecords(t *testing.T) {
	recs := []stream.Record{streamed(0, 10, 20), streamed(0, 11, 21), streamed(0, 12), streamed(0, 13), streamed(0, 14), streamed(0, 15, 25)}
	recs[1].CompletionTokens, recs[1].UsageDisagrees = 1, true // the server counted 1 of the 2 streamed
	recs[2].Chunks, recs[2].HTTPStatus = nil, 429
	recs[2].Err = &stream.StatusError{URL: "http://x/v1/chat/completions", Code: 429, RetryAfter: "3"}
	recs[3].Err = fmt.Errorf("%w: no byte for 1s", stream.ErrStalled)
	recs[4].Err = fmt.Errorf("read stream: %w", context.Canceled)
	recs[5].Err = fmt.Errorf("%w: 2 of 16 tokens", stream.ErrTruncated)
	g := measured("c2", recs)
	g.Head.Point.Trials, g.Head.Stopped = 3, "interrupted: the suite's deadline"
	var buf bytes.Buffer
	require.NoError(t, schema.WriteGroup(&buf, g))
	read, err := schema.ReadGroups(&buf)
	require.NoError(t, err)
	require.Len(t, read, 1)

	p, err := Assemble(&read[0])
	require.NoError(t, err)
	var classes []string
	for _, smp := range p.Requests {
		classes = append(classes, smp.Class)
	}
	assert.Equal(t, []string{"ok", "ok", "rate_limited", "stalled", "cancelled", "truncated"}, classes)
	assert.Equal(t, map[string]int{"rate_limited": 1, "stalled": 1, "cancelled": 1, "truncated": 1}, p.ErrorClasses)
	assert.Equal(t, "3", p.Requests[2].RetryAfter)
	assert.Equal(t, 429, p.Requests[2].HTTPStatus)
	assert.Zero(t, p.Requests[0].HTTPStatus, "200 is not written")
	assert.True(t, p.Requests[1].UsageDisagrees)
	assert.Equal(t, 2, p.Requests[1].OutputTokens, "the stream's count where the server's is below it")
	assert.Equal(t, 1, p.UsageDisagreements)
	assert.Equal(t, "mixed", p.OutputTokensFrom)
	assert.InDelta(t, 100*2.0/5, p.Metrics["success_rate"], 1e-9, "the cancelled request is not counted")
	assert.Equal(t, "stopped after 1 of 3 trials: interrupted: the suite's deadline", p.Invalid)
}

func recordsOf(t *testing.T, path string) []schema.Group {
	t.Helper()
	gs, err := schema.ReadRecords(RecordsPath(path))
	require.NoError(t, err)
	return gs
}

func keys(gs []schema.Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Head.Point.Key())
	}
	return out
}

// Records accumulate as the result file does: a point measured again replaces its
// records, and every point of the result file has the records it was computed from.
func TestRecordsAccumulateWithTheirPoints(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	w := open(t, path, quick, Options{})
	c1, err := w.Record(measured("c1", []stream.Record{streamed(0, 10, 20)}))
	require.NoError(t, err)
	_, err = w.Record(measured("c8", []stream.Record{streamed(0, 11, 21)}))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, []string{"concurrent/c1", "concurrent/c8"}, keys(recordsOf(t, path)))
	assert.Equal(t, quick, *recordsOf(t, path)[0].Head.File.Settings, "the records say what they were measured under")

	w = open(t, path, quick, Options{})
	again, err := w.Record(measured("c1", []stream.Record{streamed(0, 50, 60)}))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.NotEqual(t, c1.Metrics["avg_ttft_ms"], again.Metrics["avg_ttft_ms"])
	assert.Len(t, recordsOf(t, path), 3, "appended while the run goes on")

	open(t, path, quick, Options{})
	gs := recordsOf(t, path)
	assert.Equal(t, []string{"concurrent/c8", "concurrent/c1"}, keys(gs), "the replaced point's records are dropped when the file is next opened")
	f, err := Read(path)
	require.NoError(t, err)
	for i, p := range f.Results {
		for _, g := range gs {
			if g.Head.Point.Key() == p.Key() {
				assert.Equal(t, p.MeasuredAt, g.Head.Point.MeasuredAt, "point %d has its own records", i)
			}
		}
	}
}

// A run stopped between writing a point's records and its result, or in the middle of
// writing records, leaves records no point rests on: they are dropped, the rest kept.
func TestRecordsWithoutTheirPointAreDropped(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	w := open(t, path, quick, Options{})
	_, err := w.Record(measured("c1", []stream.Record{streamed(0, 10, 20)}))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	orphan := measured("c8", []stream.Record{streamed(0, 10, 20)})
	orphan.Head.Point.MeasuredAt = "2026-01-02T03:04:05.000Z"
	require.NoError(t, appendGroup(RecordsPath(path), orphan))
	f, err := os.OpenFile(RecordsPath(path), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0x1f, 0x8b, 8, 0}) // a member cut after its first bytes
	require.NoError(t, err)
	require.NoError(t, f.Close())

	open(t, path, quick, Options{})
	assert.Equal(t, []string{"concurrent/c1"}, keys(recordsOf(t, path)))
}

func TestFreshStartsTheRecordsOver(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b")
	w := open(t, path, quick, Options{})
	_, err := w.Record(measured("c1", []stream.Record{streamed(0, 10, 20)}))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	open(t, path, quick, Options{Fresh: true})
	_, err = os.Stat(RecordsPath(path))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// A shard writes records only, and a shard's records of other settings are not mixed in.
func TestRecordsOnly(t *testing.T) {
	path := Path(t.TempDir(), "sim", "gpt-oss-20b_shard-0-of-2")
	w := open(t, path, quick, Options{RecordsOnly: true})
	_, err := w.Record(measured("c1", []stream.Record{streamed(0, 10, 20)}))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "no result file")
	assert.Len(t, recordsOf(t, path), 1)

	other := quick
	other.Scale = "full"
	_, err = Open(t.Context(), path, File{Settings: &other}, Options{RecordsOnly: true})
	var se *SettingsError
	require.ErrorAs(t, err, &se)
	assert.ErrorContains(t, err, "scale")
}

// A point's SLO attainment and goodput are judged from its records (so a recomputed file
// agrees with the run's), and a capacity point, which holds its search's answer and
// probes rather than trials, is written with its records and survives -recompute whole.
func TestSLOAndCapacityPointsSurviveRecompute(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, "sim", "gpt-oss-20b")
	w := open(t, path, quick, Options{})
	def := slo.Default()
	g := measured("c2", []stream.Record{streamed(0, 10, 12, 14), streamed(0, 600, 602, 604)})
	g.Head.SLO = SLO(&def)
	p, err := w.Record(g)
	require.NoError(t, err)
	assert.Equal(t, 50.0, p.Metrics["slo_attainment_pct"], "the request with a 600 ms TTFT misses TTFT p95 <= 500 ms")
	assert.InDelta(t, 1/p.Metrics["total_time_sec"], p.Metrics["request_goodput"], 1e-9)
	assert.Equal(t, SLO(&def), p.SLO)

	c := &schema.Capacity{Mode: UsersMode, Value: 48, Low: 48, High: 51, Ceiling: 256, Binding: "itl", SLO: schema.SLO(def),
		Sentence: "sim serves 48 concurrent users (48–51)", Probes: []schema.Probe{
			{Level: 32, Verdict: ProbePass, Measurements: 1, Requests: 80, AttainmentPct: 100},
			{Level: 64, Verdict: ProbeFail, Measurements: 1, Requests: 128, Failed: 2, ErrorClasses: map[string]int{"stalled": 2},
				AttainmentPct: 60, Binding: "itl"}}}
	cp, err := w.Record(&schema.Group{Head: schema.Head{Point: schema.Point{Scenario: "capacity", Point: "users",
		Framework: "sim", Trials: 1, NumRequests: 208, Capacity: c}, SLO: SLO(&def)}})
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"capacity_value": 48}, cp.Metrics)
	assert.Equal(t, c, cp.Capacity)
	assert.Empty(t, cp.Invalid)
	// A search stopped mid-way keeps its probes, marked invalid.
	sp, err := w.Record(&schema.Group{Head: schema.Head{Point: schema.Point{Scenario: "capacity", Point: "rate",
		Framework: "sim", Trials: 1, Capacity: &schema.Capacity{Mode: RateMode, Probes: c.Probes[:1]}},
		Stopped: "context canceled"}})
	require.NoError(t, err)
	assert.Equal(t, "capacity search stopped after 1 probes: context canceled", sp.Invalid)
	require.NoError(t, w.Close())

	before, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := Read(path)
	require.NoError(t, err)
	require.Len(t, f.Results, 3)
	assert.Equal(t, c, f.Results[1].Capacity, "every probe is in the file")
	assert.NotEmpty(t, f.Results[2].Invalid, "the stopped search is kept, invalid, through -recompute too")
	changed, err := RecomputeDir(dir)
	require.NoError(t, err)
	assert.Empty(t, changed, "recomputed from its records, the file is what the run wrote")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
}
