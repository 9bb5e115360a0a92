package dashboard

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/launch"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statusUntil is the last status among evs.
func statusUntil(t *testing.T, evs []sseEvent) serverStatus {
	t.Helper()
	var st serverStatus
	for _, e := range ofType(evs, "status") {
		e.decode(t, &st)
	}
	return st
}

func TestServersStartAndStopConfiguredFrameworksThroughLaunch(t *testing.T) {
	vllm, sglang := fakeFramework(t, "vllm"), fakeFramework(t, "sglang")
	_, srv := start(t, Config{Frameworks: map[string]launch.Settings{"vllm": vllm, "sglang": sglang}})

	resp, body := get(t, srv, "/servers")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{`id="fw-vllm"`, `id="fw-sglang"`, fakeBin + " -framework vllm -port " + strconv.Itoa(vllm.Port) + " -model openai/gpt-oss-20b"} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, `id="fw-ollama"`, "only configured frameworks are listed")

	resp, _ = post(t, srv, "/servers/vllm/start", url.Values{"preset": {"llama3.1-8b"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/servers#fw-vllm", resp.Header.Get("Location"))
	evs := events(t, srv, "/events/server/vllm", nil, 60*time.Second, func(e sseEvent) bool {
		return e.Type == "status" && (strings.Contains(e.Data, `"ready"`) || strings.Contains(e.Data, `"failed"`))
	})
	st := statusUntil(t, evs)
	require.Equal(t, stateReady, st.State, "error: %s", st.Error)
	assert.Equal(t, "meta-llama/Llama-3.1-8B-Instruct", st.Model)
	assert.Equal(t, "http://127.0.0.1:"+strconv.Itoa(vllm.Port), st.URL)
	assert.NotZero(t, st.PID)
	var logs []string
	for _, e := range ofType(evs, "log") {
		var l logLine
		e.decode(t, &l)
		logs = append(logs, l.Source+": "+l.Line)
	}
	joined := strings.Join(logs, "\n")
	assert.Contains(t, joined, "servegate: vllm: launching", "launch's own progress is in the log")
	assert.Contains(t, joined, "calibrated prompt tokens", "the same bring-up as a run: calibration included")

	// The fake's own output arrives through the log tail.
	events(t, srv, "/events/server/vllm", nil, 30*time.Second, func(e sseEvent) bool {
		return e.Type == "log" && strings.Contains(e.Data, "INFO fake vllm loading")
	})

	resp, body = post(t, srv, "/servers/vllm/start", url.Values{"preset": {"llama3.1-8b"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode, "already up")
	assert.Contains(t, body, "vllm is ready")

	// One framework at a time: starting SGLang stops vLLM first.
	resp, _ = post(t, srv, "/servers/sglang/start", url.Values{"preset": {"gpt-oss-20b"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	evs = events(t, srv, "/events/server/sglang", nil, 60*time.Second, func(e sseEvent) bool {
		return e.Type == "status" && (strings.Contains(e.Data, `"ready"`) || strings.Contains(e.Data, `"failed"`))
	})
	require.Equal(t, stateReady, statusUntil(t, evs).State)
	assert.Contains(t, strings.Join(dataOf(ofType(evs, "log")), "\n"), "stopping vllm first")
	evs = events(t, srv, "/events/server/vllm", nil, 10*time.Second, func(e sseEvent) bool {
		return e.Type == "status" && strings.Contains(e.Data, `"stopped"`)
	})
	assert.Equal(t, stateStopped, statusUntil(t, evs).State)
	assert.True(t, portFree(vllm.Port), "vLLM's port is free again")

	resp, _ = post(t, srv, "/servers/sglang/stop", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	events(t, srv, "/events/server/sglang", nil, 30*time.Second, func(e sseEvent) bool {
		return e.Type == "status" && strings.Contains(e.Data, `"stopped"`)
	})
	assert.True(t, portFree(sglang.Port))
}

func dataOf(evs []sseEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Data)
	}
	return out
}

func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func TestServersStartNothingButConfiguredFrameworks(t *testing.T) {
	_, srv := start(t, Config{Frameworks: map[string]launch.Settings{"vllm": fakeFramework(t, "vllm")}})
	for _, path := range []string{"/servers/ollama/start", "/servers/bash/start", "/servers/..%2F..%2Fbin%2Fsh/start"} {
		resp, body := post(t, srv, path, url.Values{"preset": {"gpt-oss-20b"}})
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		assert.Contains(t, body, "the dashboard starts only [vllm]", path)
	}
	resp, body := post(t, srv, "/servers/vllm/start", url.Values{"preset": {"gpt-5"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body, "unknown model preset")
	resp, _ = get(t, srv, "/events/server/bash")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestAStartFailureIsShownWithItsCause(t *testing.T) {
	crash := fakeFramework(t, "vllm")
	crash.Command = append(crash.Command, "-crash", "3")
	_, srv := start(t, Config{Frameworks: map[string]launch.Settings{"vllm": crash}})
	resp, _ := post(t, srv, "/servers/vllm/start", url.Values{"preset": {"gpt-oss-20b"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	evs := events(t, srv, "/events/server/vllm", nil, 60*time.Second, func(e sseEvent) bool {
		return e.Type == "status" && strings.Contains(e.Data, `"failed"`)
	})
	st := statusUntil(t, evs)
	assert.Contains(t, st.Error, "exited")
	assert.Contains(t, st.Error, "CUDA out of memory", "the log's last lines say why")
}

func TestAServerRunningElsewhereIsShownNotStarted(t *testing.T) {
	set := fakeFramework(t, "vllm")
	// A server the dashboard did not start, answering on the configured port.
	other := fakeFramework(t, "vllm")
	other.Port = set.Port
	_, srv := start(t, Config{Frameworks: map[string]launch.Settings{"vllm": set}})
	l, err := launch.Start(t.Context(), mustSpec(t, "vllm"), launch.Options{Settings: other, Preset: mustPreset(t), LogPath: t.TempDir() + "/log",
		CacheDir: t.TempDir(), Nonce: "t"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Stop() })
	_, body := get(t, srv, "/servers")
	assert.Contains(t, body, `state-running-elsewhere`)
}

func mustSpec(t *testing.T, name string) frameworks.Spec {
	t.Helper()
	s, err := launch.Lookup(name)
	require.NoError(t, err)
	return s
}

func mustPreset(t *testing.T) models.Preset {
	t.Helper()
	p, err := models.Lookup(models.DefaultPreset)
	require.NoError(t, err)
	return p
}

func TestServersPageShowsNoCredentials(t *testing.T) {
	withKey := fakeFramework(t, "vllm")
	withKey.ExtraArgs = []string{"--api-key", "sk-live-123"}
	_, srv := start(t, Config{Frameworks: map[string]launch.Settings{
		"vllm":   withKey,
		"openai": {URL: "http://bob:hunter2@127.0.0.1:" + strconv.Itoa(simproc.FreePort(t))},
	}})
	_, page := get(t, srv, "/servers")
	assert.NotContains(t, page, "sk-live-123")
	assert.NotContains(t, page, "hunter2")
	assert.Contains(t, page, "--api-key &#39;***&#39;")
	assert.Contains(t, page, "http://bob:***@127.0.0.1:")
}
