package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/harness/launch"
	"github.com/servegate/servegate/internal/cpulock"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/require"
)

// fakeBin is harness/launch's stand-in framework (the simulator on a framework's paths),
// built once: the Servers tests start it through the launch configuration, as a user's
// SERVEGATE_VLLM_COMMAND would.
var fakeBin string

func TestMain(m *testing.M) {
	var err error
	if fakeBin, err = simproc.FakeFramework(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// These tests start the suite, whose test binary takes the timing lock: they hold it
	// themselves, and the suite they start (with the environment cpulock sets) runs under
	// it, instead of each run waiting for other packages' tests within its deadline.
	code := cpulock.Run(m.Run)
	simproc.RemoveBinaries()
	os.Exit(code)
}

// fakeFramework is launch configuration that starts the fake of framework on a free port.
func fakeFramework(t *testing.T, framework string) launch.Settings {
	t.Helper()
	set := launch.Settings{Command: []string{fakeBin, "-framework", framework, "-port", "{port}", "-model", "{model}"},
		Port: simproc.FreePort(t), StartTimeout: launch.Duration(30 * time.Second), Grace: launch.Duration(5 * time.Second)}
	if framework == "ollama" {
		set.Env = map[string]string{"OLLAMA_HOST": "127.0.0.1:" + strconv.Itoa(set.Port)}
	}
	return set
}

// start serves a dashboard for the test on 127.0.0.1 and closes it (runs interrupted,
// servers stopped) at the end.
func start(t *testing.T, cfg Config) (*Dashboard, *httptest.Server) {
	t.Helper()
	if cfg.Results == "" {
		cfg.Results = t.TempDir()
	}
	if cfg.Repo == "" {
		cfg.Repo = ".."
	}
	t.Setenv("SERVEGATE_CACHE_DIR", t.TempDir()) // launch's token calibrations
	d, err := New(cfg)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(d)
	srv.Config.BaseContext = func(net.Listener) context.Context { return d.Context() }
	srv.Start()
	t.Cleanup(func() {
		require.NoError(t, d.Close())
		srv.Close()
	})
	return d, srv
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// post submits a form as the page does (same origin).
func post(t *testing.T, srv *httptest.Server, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// sseEvent is one server-sent event as a browser receives it.
type sseEvent struct {
	ID   int64
	Type string
	Data string
}

func (e sseEvent) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(e.Data), v), "event %s: %s", e.Type, e.Data)
}

// events reads the stream at path until stop says so, the stream ends, or the timeout
// passes (a test failure naming what arrived).
func events(t *testing.T, srv *httptest.Server, path string, header http.Header, timeout time.Duration, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Type == "" {
				continue
			}
			out = append(out, cur)
			if stop(cur) {
				return out
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.ID, _ = strconv.ParseInt(line[4:], 10, 64)
		case strings.HasPrefix(line, "event: "):
			cur.Type = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.Data = line[6:]
		}
	}
	var seen []string
	for _, e := range out {
		seen = append(seen, e.Type+" "+e.Data)
	}
	t.Fatalf("stream %s ended or timed out (%v) before the awaited event; got:\n%s", path, ctx.Err(), strings.Join(seen, "\n"))
	return nil
}

// ofType keeps the events of one type.
func ofType(evs []sseEvent, typ string) []sseEvent {
	var out []sseEvent
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}
