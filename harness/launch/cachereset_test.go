package launch

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/harness/scenario"
)

// attach starts an in-process simulator mimicking framework and attaches to it.
func attach(t *testing.T, cfg sim.Config, framework string, opt Options) (*sim.Server, *Server) {
	t.Helper()
	p, err := sim.LookupProfile("batching")
	require.NoError(t, err)
	cfg.Profile, cfg.Models, cfg.Mimic = p, []string{"org/tiny-model"}, framework
	if framework == "openai" {
		cfg.Mimic = "" // any OpenAI-compatible server: the simulator's own face
	}
	running, err := sim.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { running.Close() })
	opt.Settings.URL, opt.Preset = running.URL, preset
	if opt.CacheDir == "" {
		opt.CacheDir = t.TempDir()
	}
	if opt.Logf == nil {
		opt.Logf = t.Logf
	}
	srv, err := Start(context.Background(), mustLookup(t, framework), opt)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
	return running, srv
}

// An attached vLLM outside its development mode has no /reset_prefix_cache: the
// provenance and every point's result say prominently that trials shared a cache.
func TestAttachedVLLMWithoutDevModeSaysTrialsSharedACache(t *testing.T) {
	_, srv := attach(t, sim.Config{NoCacheReset: true}, "vllm", Options{})
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
	running, srv := attach(t, sim.Config{}, "sglang", Options{ResetBusyWait: 30 * time.Second})
	require.NotNil(t, srv.Target.ResetCache)
	// 149 more tokens, a few milliseconds each: the first attempt finds the server busy.
	done := streamUntilFirstToken(t, context.Background(), running.URL, 150)
	require.NoError(t, srv.Target.ResetCache(context.Background()), "the reset waited for the request to end")
	<-done

	_, impatient := attach(t, sim.Config{}, "sglang", Options{ResetBusyWait: 100 * time.Millisecond})
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
