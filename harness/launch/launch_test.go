package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/cpulock"
	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fakeBin string

func TestMain(m *testing.M) {
	var err error
	if fakeBin, err = simproc.FakeFramework(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// The adapter tests run three fake servers under load: not beside the timing tests.
	code := cpulock.Run(m.Run)
	simproc.RemoveBinaries()
	os.Exit(code)
}

var preset = models.Preset{Name: "tiny", HF: "org/tiny-model", Ollama: "tiny:1b"}

// fakeOptions launch the fake of framework through the configuration path a user takes:
// a command with placeholders, a port and environment in Settings.
func fakeOptions(t *testing.T, framework string, args ...string) Options {
	cmd := append([]string{fakeBin, "-framework", framework, "-port", "{port}", "-model", "{model}"}, args...)
	return Options{
		Settings: Settings{Command: cmd, Port: simproc.FreePort(t), StartTimeout: Duration(20 * time.Second), Grace: Duration(2 * time.Second),
			Env: map[string]string{"HF_TOKEN": "hf_secret"}},
		Preset: preset, LogPath: filepath.Join(t.TempDir(), framework+"_server.log"), ContextTokens: 3016,
		CacheDir: t.TempDir(), Nonce: "test", Logf: t.Logf,
	}
}

func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// getJSON decodes what url answers a request carrying key.
func getJSON(url, key string, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Each fake demands an API key on every path (-api-key): a probe, scrape, tokenizer call,
// cache reset or stream sent without it fails, and the assertions below see it.
func TestEachFrameworkRunsAPointThroughItsAdapter(t *testing.T) {
	const apiKey = "sk-adapter-test-9d3f"
	sc := scenario.Scenario{Name: "long", ResultName: "long"}
	point := scenario.Point{Name: "in3000", Concurrency: 4, InputTokens: 3000, OutputTokens: 16, Requests: 8, Warmup: 1, Prompts: scenario.Plain}
	tests := []struct {
		framework string
		env       map[string]string
		// wants
		model, reset string
		exact        bool // the server has a tokenizer: prompts are refitted exactly
		numCtx       int
		args         []string // added to the launch command
		slots        int      // what the server's API says it runs at once (-1), or its command line
		serverFigs   []string
	}{
		{framework: "vllm", env: map[string]string{"VLLM_SERVER_DEV_MODE": "1"}, model: "org/tiny-model", reset: "between trials", exact: true,
			args: []string{"--max-num-seqs", "3"}, slots: 3,
			serverFigs: []string{"server_generation_tokens", "server_prompt_tokens", "server_prefix_cache_hit_rate", "server_kv_cache_usage_peak_pct", "server_running_peak", "server_avg_ttft_ms"}},
		{framework: "sglang", model: "org/tiny-model", reset: "between trials", slots: -1,
			serverFigs: []string{"server_generation_tokens", "server_prompt_tokens", "server_prefix_cache_hit_rate", "server_kv_cache_usage_peak_pct", "server_running_peak", "server_waiting_peak"}},
		{framework: "ollama", model: "tiny:1b", reset: "unloaded and reloaded", numCtx: 4096, serverFigs: []string{"server_avg_ttft_ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.framework, func(t *testing.T) {
			spec, err := Lookup(tc.framework)
			require.NoError(t, err)
			opt := fakeOptions(t, tc.framework, append([]string{"-api-key", apiKey}, tc.args...)...)
			for k, v := range tc.env {
				opt.Settings.Env[k] = v
			}
			if tc.framework == "ollama" { // Ollama takes its address from OLLAMA_HOST, set by its Spec
				opt.Settings.Command = []string{fakeBin, "-framework", "ollama", "-model", "{model}", "-api-key", apiKey}
			}
			opt.Settings.APIKey = apiKey
			var said strings.Builder
			opt.Logf = func(f string, a ...any) { fmt.Fprintf(&said, f+"\n", a...); t.Logf(f, a...) }
			srv, err := Start(context.Background(), spec, opt)
			require.NoError(t, err)
			port := opt.Settings.Port
			assert.False(t, portFree(port))
			assert.Equal(t, tc.model, srv.Target.Model)
			assert.Contains(t, srv.Info.PrefixCacheReset, tc.reset)
			assert.Equal(t, tc.exact, srv.Target.Tokenize != nil)
			assert.Equal(t, tc.numCtx, srv.Target.NumCtx)
			assert.Equal(t, tc.numCtx > 0, srv.Target.KeepLoaded)
			assert.Contains(t, srv.Info.Env, "HF_TOKEN=***", "secrets are masked in the provenance")
			require.NotNil(t, srv.Info.Calibration)
			assert.InDelta(t, 1.0, srv.Info.Calibration.Slope, 0.01, "the fake counts as servegate does")
			assert.Less(t, srv.Info.Calibration.MaxError, 1.0)
			assert.NotEmpty(t, srv.Target.Version)
			switch tc.slots {
			case -1:
				var info struct {
					States []struct {
						Effective int `json:"effective_max_running_requests_per_dp"`
					} `json:"internal_states"`
				}
				require.NoError(t, getJSON(srv.Target.BaseURL+spec.VersionPath, apiKey, &info))
				require.Len(t, info.States, 1)
				assert.Positive(t, info.States[0].Effective)
				assert.Equal(t, info.States[0].Effective, srv.Info.ParallelSlots, "the fake's batch limit, as its API says")
				assert.Contains(t, srv.Info.ParallelSlotsFrom, "get_server_info")
			case 0:
				assert.Zero(t, srv.Info.ParallelSlots, "no log line or API says: %s", srv.Info.ParallelSlotsFrom)
			default:
				assert.Equal(t, tc.slots, srv.Info.ParallelSlots, srv.Info.ParallelSlotsFrom)
				assert.Contains(t, srv.Info.ParallelSlotsFrom, "command line: --max-num-seqs")
			}

			target := srv.Target
			target.MetricsInterval = 20 * time.Millisecond // the point is short: sample often
			r := &scenario.Runner{Target: target, Trials: 2, Nonce: "adapter-" + tc.framework, Logf: t.Logf}
			res, err := r.RunPoint(context.Background(), sc, point)
			require.NoError(t, err)
			assert.Empty(t, res.Warnings, "prompt tokens within 2%%, output length held, server and client agree")
			assert.Equal(t, 100.0, res.Metrics["success_rate"])
			assert.Equal(t, srv.Info.ParallelSlots, res.ParallelSlots, "the point records the slots")
			assert.Equal(t, tc.framework != "ollama", res.OutputLengthForced, "Ollama cannot force max_tokens")
			for _, s := range res.Requests {
				assert.Equal(t, 3000, s.InputTokens, "the server saw the whole prompt")
			}
			for _, k := range tc.serverFigs {
				assert.Contains(t, res.Metrics, k)
			}
			if v, ok := res.Metrics["server_running_peak"]; ok {
				assert.InDelta(t, 2.5, v, 1.5, "the server ran up to the point's 4 requests at once")
				if tc.slots > 0 {
					assert.LessOrEqual(t, v, float64(tc.slots), "and no more than the command line let it")
				}
				assert.Greater(t, res.Metrics["server_kv_cache_usage_peak_pct"], 0.0)
			}

			require.NoError(t, srv.Stop())
			assert.True(t, portFree(port), "the port is free after stop")
			log, err := os.ReadFile(opt.LogPath)
			require.NoError(t, err)
			assert.Contains(t, string(log), "INFO fake "+tc.framework)
			assert.NotContains(t, string(log), "ERROR 401", "every request carried the API key")
			info, err := json.Marshal(srv.Info)
			require.NoError(t, err)
			assert.NotContains(t, string(info), apiKey, "the key is in neither the provenance (it was on the command line)")
			assert.NotContains(t, said.String(), apiKey, "nor the output")
			assert.Contains(t, srv.Info.Command, "***")
		})
	}
}

func TestOllamaSilentTruncationIsCaught(t *testing.T) {
	opt := fakeOptions(t, "ollama")
	opt.Settings.Command = []string{fakeBin, "-framework", "ollama", "-model", "{model}"}
	srv, err := Start(context.Background(), mustLookup(t, "ollama"), opt)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
	target := srv.Target
	target.NumCtx = 0 // as a client that does not set num_ctx: Ollama's default window
	r := &scenario.Runner{Target: target, Trials: 1, Nonce: "trunc"}
	res, err := r.RunPoint(context.Background(), scenario.Scenario{Name: "long", ResultName: "long"},
		scenario.Point{Name: "in3000", Concurrency: 2, InputTokens: 3000, OutputTokens: 8, Requests: 2, Prompts: scenario.Plain})
	require.NoError(t, err)
	require.NotEmpty(t, res.Warnings)
	assert.Contains(t, res.Warnings[0], "differ from the target 3000 by more than 2% (seen 2048..2048): prompts were truncated")
}

func mustLookup(t *testing.T, name string) frameworks.Spec {
	spec, err := Lookup(name)
	require.NoError(t, err)
	return spec
}

func TestStartUpFaultsAreReportedClearly(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		setup func(t *testing.T, opt *Options)
		want  []string // substrings of the error; none means it starts
	}{
		{name: "slow start", args: []string{"-delay", "700ms"}},
		{name: "health flaps", args: []string{"-flaps", "3"}},
		{name: "crash while loading", args: []string{"-crash", "3"}, want: []string{"exited (exit code 3) before it became healthy", "CUDA out of memory"}},
		{name: "never healthy", args: []string{"-delay", "1h"}, setup: func(t *testing.T, opt *Options) { opt.Settings.StartTimeout = Duration(time.Second) },
			want: []string{"not healthy", "after 1s", "INFO fake vllm loading"}},
		{name: "port taken", setup: func(t *testing.T, opt *Options) {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(opt.Settings.Port))
			require.NoError(t, err)
			t.Cleanup(func() { ln.Close() })
		}, want: []string{"port already in use", "configure another port"}},
		{name: "model not served", setup: func(t *testing.T, opt *Options) { opt.Settings.Model = "org/other" },
			want: []string{"model not served", "vllm serve with org/other"}},
		{name: "venv without bin", setup: func(t *testing.T, opt *Options) { opt.Settings.Venv = t.TempDir() },
			want: []string{"venv", "the directory holding bin/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := fakeOptions(t, "vllm", tc.args...)
			if tc.name == "model not served" {
				opt.Settings.Command = []string{fakeBin, "-framework", "vllm", "-port", "{port}", "-model", "org/tiny-model"}
			}
			if tc.setup != nil {
				tc.setup(t, &opt)
			}
			srv, err := Start(context.Background(), mustLookup(t, "vllm"), opt)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				require.NoError(t, srv.Stop())
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			if tc.name != "port taken" {
				assert.True(t, portFree(opt.Settings.Port), "a failed start leaves nothing listening")
			}
		})
	}
}

func TestAttachStartsAndStopsNothing(t *testing.T) {
	running := runFake(t, "sglang", nil)
	opt := Options{Settings: Settings{URL: running + "/"}, Preset: preset, CacheDir: t.TempDir(), Logf: t.Logf}
	srv, err := Start(context.Background(), mustLookup(t, "sglang"), opt)
	require.NoError(t, err)
	assert.Nil(t, srv.Process)
	assert.True(t, srv.Info.Attached)
	assert.Equal(t, running, srv.Target.BaseURL)
	assert.Positive(t, srv.Info.ParallelSlots, "an attached SGLang's slots come from its API: %s", srv.Info.ParallelSlotsFrom)
	require.NoError(t, srv.Stop())
	require.NoError(t, checkHealth(context.Background(), http.DefaultClient, srv.Spec, running), "an attached server keeps running")

	opt.Settings.URL = "http://127.0.0.1:" + strconv.Itoa(simproc.FreePort(t))
	_, err = Start(context.Background(), mustLookup(t, "sglang"), opt)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no server answers")
	assert.Contains(t, err.Error(), "remove the url setting")
}

// A URL with a user and password attaches with basic authentication; the password is
// in no field, message or target URL afterwards.
func TestAttachWithURLCredentials(t *testing.T) {
	running := runFake(t, "vllm", nil, "-basic-auth", "bench:hunter2")
	withCreds := strings.Replace(running, "http://", "http://bench:hunter2@", 1)
	var said strings.Builder
	opt := Options{Settings: Settings{URL: withCreds}, Preset: preset, CacheDir: t.TempDir(),
		Logf: func(f string, a ...any) { fmt.Fprintf(&said, f+"\n", a...) }}
	srv, err := Start(context.Background(), mustLookup(t, "vllm"), opt)
	require.NoError(t, err, "every probe carried the credentials (the fake refuses any without them)")
	assert.Equal(t, running, srv.Target.BaseURL)
	info, _ := json.Marshal(srv.Info)
	assert.NotContains(t, string(info)+said.String(), "hunter2")
	assert.Contains(t, srv.Info.PrefixCacheReset, "between trials")
}

func TestVLLMWithoutDevModeCannotResetItsCache(t *testing.T) {
	opt := fakeOptions(t, "vllm")
	srv, err := Start(context.Background(), mustLookup(t, "vllm"), opt)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
	// The Spec's own launch environment sets VLLM_SERVER_DEV_MODE=1.
	assert.Contains(t, srv.Info.PrefixCacheReset, "between trials")

	opt = fakeOptions(t, "vllm")
	opt.Settings.Env["VLLM_SERVER_DEV_MODE"] = "0"
	srv2, err := Start(context.Background(), mustLookup(t, "vllm"), opt)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv2.Stop()) })
	assert.Nil(t, srv2.Target.ResetCache)
	assert.Contains(t, srv2.Info.PrefixCacheReset, "VLLM_SERVER_DEV_MODE=1")
}

// A calibration is reused only by a server whose token counts cannot have changed: the
// same framework, model, version, launch settings, preset and count of a probe chat. A
// change of any of them calibrates anew.
func TestCalibrationIsCachedPerFingerprint(t *testing.T) {
	opt := fakeOptions(t, "sglang")
	var lines []string
	opt.Logf = func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }
	start := func() *Server {
		t.Helper()
		lines = nil
		opt.Settings.Port = simproc.FreePort(t)
		srv, err := Start(context.Background(), mustLookup(t, "sglang"), opt)
		require.NoError(t, err)
		require.NoError(t, srv.Stop())
		return srv
	}
	first := start()
	assert.Equal(t, "usage", first.Info.Calibration.Method, "SGLang has no chat tokenizer endpoint: probe requests")
	path := cachePath(opt.CacheDir, "sglang", "org/tiny-model", first.Info.Calibration.Fingerprint)
	assert.FileExists(t, path)
	require.NotNil(t, first.Info.Calibration.Key)
	assert.Positive(t, first.Info.Calibration.Key.ProbeTokens)

	again := start()
	assert.Contains(t, strings.Join(lines, "\n"), "token calibration from "+path, "the same server reuses it")
	assert.Equal(t, first.Info.Calibration.Fingerprint, again.Info.Calibration.Fingerprint)

	opt.Settings.Env["SGLANG_CHAT_TEMPLATE_OVERRIDE"] = "1" // launched otherwise
	relaunched := start()
	assert.NotContains(t, strings.Join(lines, "\n"), "token calibration from", "other launch settings calibrate anew")
	assert.NotEqual(t, first.Info.Calibration.Fingerprint, relaunched.Info.Calibration.Fingerprint)

	opt.Preset.Reasoning = true // another chat template rendering
	reasoning := start()
	assert.NotEqual(t, relaunched.Info.Calibration.Fingerprint, reasoning.Info.Calibration.Fingerprint)
}

// The fingerprint changes with the server's count of the probe chat, which is how a
// swapped chat template shows when no endpoint returns the template.
func TestCalibrationFingerprintFollowsTheTemplate(t *testing.T) {
	k := calibrationKey{Framework: "vllm", Model: "m", Version: "0.15.1", Method: "tokenize", ProbeTokens: 31}
	other := k
	other.ProbeTokens = 45
	assert.NotEqual(t, k.Fingerprint(), other.Fingerprint())
	assert.Equal(t, k.Fingerprint(), k.Fingerprint())
}

// A server that reports no version still has its calibration cached, keyed on what it
// does report, and the run says so.
func TestCalibrationWithoutAVersionIsCachedAndSaysWhy(t *testing.T) {
	opt := Options{CacheDir: t.TempDir()}
	var lines []string
	opt.Logf = func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }
	_, srv := attach(t, "openai", nil, opt)
	assert.Empty(t, srv.Target.Version, "the openai adapter reads no version")
	assert.FileExists(t, cachePath(opt.CacheDir, "openai", "org/tiny-model", srv.Info.Calibration.Fingerprint))
	assert.Contains(t, strings.Join(lines, "\n"), "the server reports no version; its token calibration is cached by a fingerprint")
}

func TestCalibrationFitsAnotherTokenizer(t *testing.T) {
	// A server whose tokenizer counts 1.3 tokens per local token plus a 7-token template.
	count := func(ctx context.Context, msgs []stream.Message) (int, error) {
		return 7 + int(1.3*float64(localCount(msgs))), nil
	}
	c, err := calibrate(context.Background(), count, "tokenize", "n", 1<<30)
	require.NoError(t, err)
	assert.InDelta(t, 1.3, c.Slope, 0.01)
	assert.InDelta(t, 7, c.Intercept, 2)
	msgs := probeMessages("x", 9, 5000)
	want, _ := count(context.Background(), msgs)
	assert.InDelta(t, want, c.Count(msgs), 0.005*float64(want), "within half a percent well beyond the probes")

	// A server that cuts prompts at a 2048-token window: probes at the window are dropped.
	capped := func(ctx context.Context, msgs []stream.Message) (int, error) {
		return min(4*localCount(msgs)+20, 2048), nil
	}
	c, err = calibrate(context.Background(), capped, "usage", "n", 2000)
	require.NoError(t, err)
	assert.InDelta(t, 4, c.Slope, 0.01)
	for _, p := range c.Probes {
		assert.Less(t, p.Server, 2000)
	}
	_, err = calibrate(context.Background(), capped, "usage", "n", 100)
	assert.ErrorContains(t, err, "fewer than two usable probes")

	flat := func(ctx context.Context, msgs []stream.Message) (int, error) { return 10, nil }
	_, err = calibrate(context.Background(), flat, "usage", "n", 1<<30)
	assert.ErrorContains(t, err, "does not grow")
}

func TestSettingsPrecedenceAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "servegate.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"frameworks": {"vllm": {"venv": "/opt/vllm", "port": 8100,
		"extra_args": ["--max-model-len", "32768"], "env": {"A": "1"}, "start_timeout": "20m"}}}`), 0o644))
	env := map[string]string{"SERVEGATE_VLLM_PORT": "8200", "SERVEGATE_VLLM_EXTRA_ARGS": "--enforce-eager --seed 1", "SERVEGATE_VLLM_API_KEY": "sk-env",
		"SERVEGATE_VLLM_PROBE_TIMEOUT": "90s"}
	s, err := Configured(path, "vllm", func(k string) string { return env[k] })
	require.NoError(t, err)
	s = s.Merge(Settings{Env: map[string]string{"B": "2"}})
	assert.Equal(t, "/opt/vllm", s.Venv)
	assert.Equal(t, 8200, s.Port, "env beats the file")
	assert.Equal(t, []string{"--enforce-eager", "--seed", "1"}, s.ExtraArgs)
	assert.Equal(t, map[string]string{"A": "1", "B": "2"}, s.Env)
	assert.Equal(t, Duration(20*time.Minute), s.StartTimeout)
	assert.Equal(t, "sk-env", s.APIKey)
	assert.Equal(t, Duration(90*time.Second), s.ProbeTimeout)

	bad := []struct{ body, want string }{
		{`{"frameworks": {"vllm": {"venv_dir": "/x"}}}`, `unknown field "venv_dir"`},
		{`{"frameworks": {"tgi": {}}}`, `unknown framework "tgi": choose one of ollama, openai, sglang, vllm`},
		{`{"frameworks": {"vllm": {"start_timeout": 20}}}`, `a duration is a string`},
		{`{"frameworks": {"vllm": {}}} {"frameworks": {"sglang": {}}}`, `text after the configuration`},
		{`{"frameworks": {"vllm": {}}}}`, `text after the configuration`},
	}
	for _, b := range bad {
		require.NoError(t, os.WriteFile(path, []byte(b.body), 0o644))
		_, err := LoadFile(path)
		assert.ErrorContains(t, err, b.want)
	}
	_, err = FromEnv("ollama", func(k string) string {
		return map[string]string{"SERVEGATE_OLLAMA_NUM_CTX": "big", "SERVEGATE_OLLAMA_START_TIMEOUT": "soon", "SERVEGATE_OLLAMA_KEEP_CACHE": "maybe",
			"SERVEGATE_OLLAMA_PROBE_TIMEOUT": "-5s"}[k]
	})
	assert.ErrorContains(t, err, "SERVEGATE_OLLAMA_KEEP_CACHE=\"maybe\": want 1 or 0")
	assert.ErrorContains(t, err, "SERVEGATE_OLLAMA_NUM_CTX=\"big\": want a positive integer")
	assert.ErrorContains(t, err, "SERVEGATE_OLLAMA_START_TIMEOUT=\"soon\"")
	assert.ErrorContains(t, err, "SERVEGATE_OLLAMA_PROBE_TIMEOUT=\"-5s\"")
	keep, err := FromEnv("ollama", func(k string) string { return map[string]string{"SERVEGATE_OLLAMA_KEEP_CACHE": "true"}[k] })
	require.NoError(t, err)
	assert.True(t, keep.KeepCache)
}

func TestCommandFromVenvAndPlaceholders(t *testing.T) {
	venv := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(venv, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(venv, "bin", "vllm"), []byte("#!/bin/sh\n"), 0o755))
	s := &Server{Spec: mustLookup(t, "vllm"), opt: Options{Settings: Settings{Venv: venv, ExtraArgs: []string{"--max-model-len", "8192"}}}}
	cmd, env, err := s.command("org/m", "127.0.0.1", 8001)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(venv, "bin", "vllm"), cmd[0])
	assert.Equal(t, []string{"serve", "org/m", "--host", "127.0.0.1", "--port", "8001"}, cmd[1:7])
	assert.Equal(t, []string{"--max-model-len", "8192"}, cmd[len(cmd)-2:])
	assert.Contains(t, env, "VIRTUAL_ENV="+venv)
	assert.Contains(t, env, "VLLM_SERVER_DEV_MODE=1")

	s.opt.Settings = Settings{Command: []string{"python3", "-m", "sglang.launch_server", "--model-path", "{model}", "--port", "{port}"}}
	cmd, _, err = s.command("org/m", "127.0.0.1", 30001)
	require.NoError(t, err)
	assert.Equal(t, []string{"python3", "-m", "sglang.launch_server", "--model-path", "org/m", "--port", "30001"}, cmd)

	s = &Server{Spec: mustLookup(t, "openai")}
	_, _, err = s.command("m", "127.0.0.1", 8000)
	assert.ErrorContains(t, err, "set url to attach")
}

func TestLookupNamesTheChoices(t *testing.T) {
	_, err := Lookup("tgi-x")
	assert.ErrorContains(t, err, "choose one of ollama, openai, sglang, vllm")
}

func TestContextWindowHoldsTheLongestRequest(t *testing.T) {
	for in, want := range map[int]int{0: 3072, 3016: 4096, 32768 + 256: 33792, 65536 + 512: 66560} {
		assert.Equal(t, want, contextWindow(in), "for %d tokens", in)
		assert.GreaterOrEqual(t, contextWindow(in), in+256)
	}
}

// memory is a GPU whose used memory falls by step MiB per read.
type memory struct {
	used, step float64
	reads      int
}

func (m *memory) Read() ([]gpu.Sample, error) {
	m.reads++
	m.used = max(m.used-m.step, 1000)
	return []gpu.Sample{{Device: 0, MemoryUsedMB: m.used}}, nil
}

func TestStopWaitsForTheGPUMemoryToBeReleased(t *testing.T) {
	base := []gpu.Sample{{Device: 0, MemoryUsedMB: 1000}}
	m := &memory{used: 70000, step: 30000}
	require.NoError(t, waitReleased(m, base, 10*time.Second))
	assert.GreaterOrEqual(t, m.reads, 3)

	stuck := &memory{used: 70000}
	err := waitReleased(stuck, base, 300*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "device 0 holds 70000 MiB (1000 before launch)")
}

func TestAServerThatDiesMidRunIsNamed(t *testing.T) {
	opt := fakeOptions(t, "sglang")
	srv, err := Start(context.Background(), mustLookup(t, "sglang"), opt)
	require.NoError(t, err)
	require.NoError(t, srv.Err())
	require.NoError(t, syscall.Kill(srv.Process.PID(), syscall.SIGKILL))
	<-srv.Process.Exited()
	err = srv.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sglang exited (killed by signal 9, killed) while serving")
	assert.Contains(t, err.Error(), "INFO fake sglang loading")
	assert.NoError(t, srv.Stop(), "stopping a dead server still frees its port")
}

// vLLM's slots come from --max-num-seqs on a launched server's command line, in the
// spellings vLLM's parser takes, and not where several data-parallel ranks share the load.
func TestSlotsOnTheCommandLine(t *testing.T) {
	ranks := []string{"--data-parallel-size", "-dp"}
	for _, tc := range []struct {
		cmd  []string
		want int
		from string
	}{
		{[]string{"vllm", "serve", "m", "--max-num-seqs", "64"}, 64, "command line: --max-num-seqs 64"},
		{[]string{"vllm", "serve", "m", "--max-num-seqs=32"}, 32, "command line: --max-num-seqs 32"},
		{[]string{"vllm", "serve", "m", "--max_num_seqs", "24"}, 24, "command line: --max-num-seqs 24"},
		{[]string{"vllm", "serve", "m", "--max-num-seqs", "8", "--max-num-seqs=16"}, 16, "command line: --max-num-seqs 16"},
		{[]string{"vllm", "serve", "m", "--max-num-seqs", "8", "-dp", "1"}, 8, "command line: --max-num-seqs 8"},
		{[]string{"vllm", "serve", "m", "--max-num-seqs", "8", "-dp", "2"}, 0, "unknown: --max-num-seqs 8 is per data-parallel rank, and the command line asks for 2 ranks"},
		{[]string{"vllm", "serve", "m", "--data-parallel-size=4", "--max-num-seqs", "8"}, 0, "asks for 4 ranks"},
		{[]string{"vllm", "serve", "m"}, 0, "unknown: no --max-num-seqs on the command line"},
		{[]string{"vllm", "serve", "m", "--max-num-seqs", "many"}, 0, `unknown: --max-num-seqs "many"`},
		{[]string{"vllm", "serve", "m", "--max-num-seqs"}, 0, "unknown: no --max-num-seqs"},
		{[]string{"vllm", "serve", "m", "--max-num-seqs-extra", "4"}, 0, "unknown: no --max-num-seqs"},
	} {
		n, from := slotsOnCommand("--max-num-seqs", ranks, tc.cmd)
		assert.Equal(t, tc.want, n, "%v", tc.cmd)
		assert.Contains(t, from, tc.from, "%v", tc.cmd)
	}
}

// Ollama's slots come from its own log, as 0.6.5 and 0.17.4 write it (recorded).
func TestOllamaSlotsFromItsLog(t *testing.T) {
	re := mustLookup(t, "ollama").SlotsInLog
	for version, want := range map[string]int{"0.6.5": 4, "0.17.4": 1} {
		n, from := slotsInLog(re, filepath.Join("testdata", "ollama", version, "server_load.log"))
		assert.Equal(t, want, n, version)
		assert.Contains(t, from, "server log:", version)
	}
	empty := filepath.Join(t.TempDir(), "server.log")
	require.NoError(t, os.WriteFile(empty, []byte("time=... msg=\"Listening on 127.0.0.1:11434\"\n"), 0o644))
	n, from := slotsInLog(re, empty)
	assert.Zero(t, n)
	assert.Contains(t, from, "unknown: no line")
	n, from = slotsInLog(re, filepath.Join(t.TempDir(), "absent.log"))
	assert.Zero(t, n)
	assert.Contains(t, from, "unknown:")
}

// TestAHungProbeEndsAtTheProbeTimeout: a server that is healthy but never answers one of
// the requests that bring it up (the model list, the tokenizer and the chat requests of
// the calibration) fails the start-up at the probe timeout, naming what hung. The fake
// vLLM runs as a process; a proxy in front of it holds the hung paths.
func TestAHungProbeEndsAtTheProbeTimeout(t *testing.T) {
	tests := []struct {
		hang []string
		has  []string
	}{
		{hang: []string{"/v1/models"}, has: []string{"list vllm models", "deadline exceeded"}},
		{hang: []string{"/tokenize", "/v1/chat/completions"}, has: []string{"calibration", "stalled", "no byte"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.hang, ","), func(t *testing.T) {
			backend, err := url.Parse(runFake(t, "vllm", nil))
			require.NoError(t, err)
			proxy := httputil.NewSingleHostReverseProxy(backend)
			hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if slices.Contains(tc.hang, r.URL.Path) {
					_, _ = io.Copy(io.Discard, r.Body)
					<-r.Context().Done()
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			t.Cleanup(hung.Close)
			opt := Options{Settings: Settings{URL: hung.URL, ProbeTimeout: Duration(300 * time.Millisecond)},
				Preset: preset, CacheDir: t.TempDir(), Logf: t.Logf}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err = Start(ctx, mustLookup(t, "vllm"), opt)
			require.Error(t, err)
			for _, h := range tc.has {
				assert.Contains(t, err.Error(), h)
			}
			assert.NoError(t, ctx.Err(), "ended by the probe timeout, not the test's deadline")
		})
	}
}
