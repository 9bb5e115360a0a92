package scenario

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/load"
	"github.com/servegate/servegate/harness/stream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientBoundRunIsFlagged(t *testing.T) {
	target, _ := startSimProcess(t)
	r := &Runner{Target: target, Nonce: "clientbound"}
	sc := Scenario{Name: "test", ResultName: "test"}
	// 1,500 requests due within 1.5 ms: no client on this machine sends that fast, so the
	// sends fall behind their schedule and the point must say it measured the client.
	flood := Point{Name: "flood", RequestRate: 1e6, InputTokens: 64, OutputTokens: 2, Requests: 1500, Prompts: Plain}
	res, err := r.RunPoint(context.Background(), sc, flood)
	require.NoError(t, err)
	assert.Contains(t, res.Invalid, "client-bound")
	assert.Contains(t, res.Invalid, "sent")
	assert.Greater(t, res.Metrics["client_send_lag_p99_ms"], 10.0)

	calm := Point{Name: "calm", Concurrency: 4, InputTokens: 64, OutputTokens: 8, Requests: 8, Prompts: Plain}
	res, err = r.RunPoint(context.Background(), sc, calm)
	require.NoError(t, err)
	assert.Empty(t, res.Invalid)
	assert.Equal(t, 4.0, res.Metrics["client_max_in_flight"])
}

func TestJudgeClient(t *testing.T) {
	t0 := time.Unix(100, 0)
	recs := func(n int, gap, lag time.Duration) []stream.Record {
		out := make([]stream.Record, n)
		for i := range out {
			out[i].Scheduled = t0.Add(time.Duration(i) * gap)
			out[i].Sent = out[i].Scheduled.Add(lag)
			out[i].Chunks = []stream.Chunk{{Offset: time.Millisecond, Tokens: 1}} // a served request
		}
		return out
	}
	// slowed spreads the sends k times wider than their schedule.
	slowed := func(rs []stream.Record, k int) []stream.Record {
		for i := range rs {
			rs[i].Sent = t0.Add(time.Duration(k) * rs[i].Scheduled.Sub(t0))
		}
		return rs
	}
	failing := func(rs []stream.Record) []stream.Record {
		for i := range rs {
			rs[i].Err = errors.New("HTTP 400")
		}
		return rs
	}
	// lastFirst makes the last-scheduled request the first one sent.
	lastFirst := func(rs []stream.Record) []stream.Record {
		rs[len(rs)-1].Sent = rs[0].Sent.Add(-time.Microsecond)
		return rs
	}
	ms := time.Millisecond
	tests := []struct {
		name    string
		p       Point
		rep     load.Report
		recs    []stream.Record
		lags    []time.Duration
		invalid string
	}{
		{"healthy closed loop", Point{Concurrency: 8}, load.Report{MaxInFlight: 8}, recs(16, 0, 0), []time.Duration{ms}, ""},
		{"closed loop that never held its concurrency", Point{Concurrency: 8}, load.Report{MaxInFlight: 5}, recs(16, 0, 0), nil, "held 5 of 8"},
		{"failed requests explain unfilled slots", Point{Concurrency: 8}, load.Report{MaxInFlight: 2}, failing(recs(16, 0, 0)), nil, ""},
		{"a point with fewer requests than slots is not short", Point{Concurrency: 64}, load.Report{MaxInFlight: 4}, recs(4, 0, 0), nil, ""},
		{"scheduler lag", Point{Concurrency: 1}, load.Report{MaxInFlight: 1}, recs(4, 0, 0), []time.Duration{ms, 30 * ms}, "goroutines ran"},
		{"open loop on time", Point{RequestRate: 100}, load.Report{}, recs(50, 10*ms, ms), nil, ""},
		{"open loop lagging", Point{RequestRate: 100}, load.Report{}, recs(50, 10*ms, 20*ms), nil, "sends lagged"},
		{"capped open loop may queue for slots", Point{RequestRate: 100, Concurrency: 2}, load.Report{}, recs(50, 10*ms, 20*ms), nil, ""},
		{"uncapped open loop below its rate", Point{RequestRate: 100}, load.Report{}, slowed(recs(50, 10*ms, 0), 2), nil, "sent"},
		{"the last scheduled request sent first", Point{RequestRate: 100}, load.Report{}, lastFirst(slowed(recs(50, 10*ms, 0), 2)), nil, "sent"},
		{"capped open loop slowed by full slots", Point{RequestRate: 100, Concurrency: 2}, load.Report{}, slowed(recs(50, 10*ms, 0), 2), nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := judgeClient(tc.p, tc.rep, tc.recs, tc.lags, 0, time.Second)
			if tc.invalid == "" {
				assert.Empty(t, s.Invalid)
			} else {
				assert.Contains(t, s.Invalid, tc.invalid)
			}
		})
	}
}

func TestSlotWaitShowsInQueueInclusiveLatency(t *testing.T) {
	// Requests due every 2 ms but only two in flight, each taking ~30 ms: most wait for a
	// slot. Latency from send hides the wait; latency from the schedule shows it.
	target, _ := startSimProcess(t)
	r := &Runner{Target: target, Nonce: "slotwait"}
	res, err := r.RunPoint(context.Background(), Scenario{Name: "test", ResultName: "test"},
		Point{Name: "capped", RequestRate: 500, Concurrency: 2, InputTokens: 64, OutputTokens: 8, Requests: 20, Prompts: Plain})
	require.NoError(t, err)
	m := res.Metrics
	assert.Greater(t, m["avg_queue_ms"], 20.0)
	assert.Greater(t, m["p99_latency_incl_queue_ms"], m["p99_latency_ms"]+50)
	assert.InDelta(t, m["avg_latency_ms"]+m["avg_queue_ms"], m["avg_latency_incl_queue_ms"], 0.01)
	assert.Empty(t, res.Invalid, "waiting for a capped slot is the server's slowness, not the client's")
	assert.LessOrEqual(t, m["client_max_in_flight"], 2.0)
}
