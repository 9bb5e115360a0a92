package launch

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/internal/simproc"
)

// runFake runs the fake of framework (the simulator as that framework) as a process on
// a free port, stopped when the test ends, and returns its URL. env adds to its
// environment; vLLM's development mode is on unless env says otherwise.
func runFake(t *testing.T, framework string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(fakeBin, append([]string{"-framework", framework, "-port", strconv.Itoa(simproc.FreePort(t)), "-model", "org/tiny-model"}, args...)...)
	cmd.Env = append(append(os.Environ(), "VLLM_SERVER_DEV_MODE=1"), env...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "INFO serving on "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return url
		}
	}
	t.Fatalf("the fake %s stopped before serving", framework)
	return ""
}

// attach runs the fake of framework and attaches to it.
func attach(t *testing.T, framework string, env []string, opt Options) (string, *Server) {
	t.Helper()
	url := runFake(t, framework, env)
	opt.Settings.URL, opt.Preset = url, preset
	if opt.CacheDir == "" {
		opt.CacheDir = t.TempDir()
	}
	if opt.Logf == nil {
		opt.Logf = t.Logf
	}
	srv, err := Start(context.Background(), mustLookup(t, framework), opt)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
	return url, srv
}

// An attached vLLM outside its development mode has no /reset_prefix_cache: the
// provenance and every point's result say prominently that trials shared a cache.
func TestAttachedVLLMWithoutDevModeSaysTrialsSharedACache(t *testing.T) {
	_, srv := attach(t, "vllm", []string{"VLLM_SERVER_DEV_MODE=0"}, Options{})
	assert.Nil(t, srv.Target.ResetCache)
	assert.True(t, srv.Info.TrialsShareCache)
	assert.Contains(t, srv.Info.PrefixCacheReset, "VLLM_SERVER_DEV_MODE=1")
	r := &scenario.Runner{Target: srv.Target, Trials: 2, Nonce: "shared", Logf: t.Logf}
	res, err := r.RunPoint(context.Background(), scenario.Scenario{Name: "t", ResultName: "t"},
		scenario.Point{Name: "p", Concurrency: 1, OutputTokens: 4, Requests: 2, Prompts: scenario.English})
	require.NoError(t, err)
	assert.True(t, res.TrialsSharedCache)
	require.NotEmpty(t, res.Warnings)
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "trials shared the server's prefix cache, which was not emptied between them (unavailable: ")
}

// streamUntilFirstToken starts a long streamed request and returns once its first token
// arrived: the server is then busy with it until it ends or ctx is cancelled.
func streamUntilFirstToken(t *testing.T, ctx context.Context, url string, maxTokens int) <-chan struct{} {
	t.Helper()
	body := `{"model":"org/tiny-model","stream":true,"ignore_eos":true,"max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"busy"}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, `"content":"`) && !strings.Contains(line, `"content":""`) {
			break
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		for sc.Scan() {
		}
	}()
	return done
}

// SGLang refuses /flush_cache with 400 while a request runs: the reset waits for the
// server to go idle and then empties the cache, or, past its deadline, says why it could
// not.
func TestSGLangCacheResetWaitsForIdle(t *testing.T) {
	url, srv := attach(t, "sglang", nil, Options{ResetBusyWait: 30 * time.Second})
	require.NotNil(t, srv.Target.ResetCache)
	// 149 more tokens, a few milliseconds each: the first attempt finds the server busy.
	done := streamUntilFirstToken(t, context.Background(), url, 150)
	require.NoError(t, srv.Target.ResetCache(context.Background()), "the reset waited for the request to end")
	<-done

	_, impatient := attach(t, "sglang", nil, Options{ResetBusyWait: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done = streamUntilFirstToken(t, ctx, impatient.Target.BaseURL, 100000)
	err := impatient.Target.ResetCache(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 400")
	assert.Contains(t, err.Error(), "the server was still busy after 100ms")
	cancel()
	<-done
}
