package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestALateBrowserReplaysTheLogFromTheStart(t *testing.T) {
	l := NewLog(0)
	srv := httptest.NewServer(l)
	defer srv.Close()
	l.Add("log", logLine{"a", "first"})
	l.Add("log", logLine{"a", "second"})

	// A browser that connects now gets both, then what follows, live.
	evs := events(t, srv, "/", nil, 10*time.Second, func(e sseEvent) bool {
		if e.ID == 2 {
			l.Add("log", logLine{"a", "third"}) // added while the stream waits
		}
		return e.ID == 3
	})
	require.Len(t, evs, 3)
	assert.Equal(t, []int64{1, 2, 3}, []int64{evs[0].ID, evs[1].ID, evs[2].ID})
	var line logLine
	evs[0].decode(t, &line)
	assert.Equal(t, "first", line.Line)

	// A reconnecting EventSource sends the last id it saw: nothing repeats.
	l.Close()
	h := http.Header{"Last-Event-ID": {"2"}}
	evs = events(t, srv, "/", h, 10*time.Second, func(e sseEvent) bool { return e.Type == "end" })
	require.Len(t, evs, 2)
	assert.Equal(t, "log", evs[0].Type)
	assert.Equal(t, int64(3), evs[0].ID)
	assert.Equal(t, "end", evs[1].Type, "a closed log ends with an end event, so the page stops reconnecting")

	l.Add("log", logLine{"a", "after close"})
	evs = events(t, srv, "/", nil, 10*time.Second, func(e sseEvent) bool { return e.Type == "end" })
	assert.Len(t, evs, 4, "nothing is added after Close")

	resp, err := http.DefaultClient.Do(func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		r.Header.Set("Last-Event-ID", "x")
		return r
	}())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestABoundedLogKeepsTheNewestEvents(t *testing.T) {
	l := NewLog(3)
	for i := 1; i <= 10; i++ {
		l.Add("sample", i)
	}
	evs, _, closed := l.After(0)
	require.Len(t, evs, 3)
	assert.False(t, closed)
	var ids []string
	for _, e := range evs {
		ids = append(ids, strconv.FormatInt(e.ID, 10)+"="+string(e.Data))
	}
	assert.Equal(t, []string{"8=8", "9=9", "10=10"}, ids, "ids keep counting, so a reconnect resumes correctly")
	evs, _, _ = l.After(9)
	require.Len(t, evs, 1)
	assert.Equal(t, int64(10), evs[0].ID)
}

func TestEveryWaitingStreamWakesOnAnEvent(t *testing.T) {
	l := NewLog(0)
	_, wake1, _ := l.After(0)
	_, wake2, _ := l.After(0)
	l.Add("x", 1)
	for _, w := range []<-chan struct{}{wake1, wake2} {
		select {
		case <-w:
		case <-time.After(5 * time.Second):
			t.Fatal("a waiting stream was not woken")
		}
	}
}
