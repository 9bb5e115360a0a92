// Package launch brings a serving framework up as a scenario target: it launches the
// framework (its default command or a configured one, in its own virtualenv, with its log
// beside the results) or attaches to one already running, checks it serves the model,
// reads its version, calibrates prompt lengths against its tokenizer, sets what the
// framework needs for a fair run (Ollama's context window, the model kept loaded, the
// prefix-cache reset between trials) and, on stop, waits until its GPU memory is free
// before the next framework starts.
package launch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/frameworks/ollama"
	"github.com/servegate/servegate/frameworks/openai"
	"github.com/servegate/servegate/frameworks/sglang"
	"github.com/servegate/servegate/frameworks/vllm"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/servegate/servegate/harness/probe"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/server"
	"github.com/servegate/servegate/harness/stream"
	"github.com/servegate/servegate/internal/secret"
)

var specs = map[string]frameworks.Spec{
	vllm.Spec.Name: vllm.Spec, sglang.Spec.Name: sglang.Spec, ollama.Spec.Name: ollama.Spec, openai.Spec.Name: openai.Spec,
}

// Lookup returns the named framework or an error listing the known ones.
func Lookup(name string) (frameworks.Spec, error) {
	if s, ok := specs[name]; ok {
		return s, nil
	}
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return frameworks.Spec{}, fmt.Errorf("unknown framework %q: choose one of %s", name, strings.Join(names, ", "))
}

// Options configure Start.
type Options struct {
	Settings Settings
	Preset   models.Preset
	// LogPath receives a launched server's output (the suite puts it beside the results).
	LogPath string
	// ContextTokens is the longest prompt plus output the run will send; where the context
	// window is a request option (Ollama) the run sets it to this, rounded up.
	ContextTokens int
	// CacheDir keeps token calibrations between runs; "" is $SERVEGATE_CACHE_DIR or the
	// user's cache directory.
	CacheDir string
	// GPU, when set, counts the server's processes' memory and, on Stop, waits until the
	// memory is released. ReleaseTimeout bounds that wait (default 2 minutes).
	GPU            *gpu.Sampler
	ReleaseTimeout time.Duration
	// ResetBusyWait bounds how long a cache reset waits for a busy server to go idle
	// (default 2 minutes).
	ResetBusyWait time.Duration
	// Nonce makes calibration probes unique to this run.
	Nonce string
	// Logf prints progress; nil is silent.
	Logf func(format string, args ...any)
}

// Info records how the server was brought up, for the results' provenance.
type Info struct {
	Attached bool     `json:"attached"`
	URL      string   `json:"url"`
	Command  []string `json:"command,omitempty"`
	// Env lists the environment added to the server's, with secrets masked.
	Env     []string `json:"env,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	Venv    string   `json:"venv,omitempty"`
	LogPath string   `json:"log_path,omitempty"`
	PID     int      `json:"pid,omitempty"`
	// ReadySeconds is how long the server took to answer its health check.
	ReadySeconds float64 `json:"ready_seconds,omitempty"`
	NumCtx       int     `json:"num_ctx,omitempty"`
	// LoadedContext is the context window the server reports for the loaded model
	// (Ollama's /api/ps, 0.17.4 has it, 0.6.5 not); absent where it does not say.
	LoadedContext int `json:"loaded_context,omitempty"`
	// ParallelSlots is how many requests the server decodes at once, as its own log says
	// (Ollama's runner; its default moved from 4 on CPU in 0.6.5 to 1 in 0.17.4), its
	// API (SGLang's /get_server_info: the most it runs at once) or its command line (vLLM's
	// --max-num-seqs); ParallelSlotsFrom is the log line's words, the field or the flag, or
	// why the number is unknown.
	ParallelSlots     int    `json:"parallel_slots,omitempty"`
	ParallelSlotsFrom string `json:"parallel_slots_from,omitempty"`
	// PrefixCacheReset says whether the prefix cache is emptied between trials, or why not;
	// TrialsShareCache is true when it is not.
	PrefixCacheReset string       `json:"prefix_cache_reset"`
	TrialsShareCache bool         `json:"trials_share_cache"`
	Calibration      *Calibration `json:"token_calibration,omitempty"`
	// GPUs says which devices GPU telemetry samples and why (the gpus setting,
	// CUDA_VISIBLE_DEVICES, or every GPU).
	GPUs string `json:"gpus,omitempty"`
	// OutputLength is how requests hold their output length (frameworks.OutputLength);
	// where it is natural, output lengths are checked per request and flagged.
	OutputLength frameworks.OutputLength `json:"output_length"`
}

// Server is a framework brought up for the suite.
type Server struct {
	Spec   frameworks.Spec
	Target scenario.Target
	Info   Info
	// Process is the launched server; nil when attached.
	Process *server.Process

	opt      Options
	baseline []gpu.Sample
	// auth is the Authorization header every request carries (see credentials); http sends
	// the probes and operations with it.
	auth string
	http *http.Client
}

// DefaultProbeTimeout bounds each probe and calibration request when the settings give
// no probe_timeout.
const DefaultProbeTimeout = time.Minute

func (o Options) probeTimeout() time.Duration {
	if d := time.Duration(o.Settings.ProbeTimeout); d > 0 {
		return d
	}
	return DefaultProbeTimeout
}

// probeCtx bounds one probe by the probe timeout.
func (o Options) probeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.probeTimeout())
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Start brings spec's framework up as opt says and returns it ready to measure.
func Start(ctx context.Context, spec frameworks.Spec, opt Options) (*Server, error) {
	set := opt.Settings
	model := set.Model
	if model == "" {
		model = spec.Model(opt.Preset)
	}
	s := &Server{Spec: spec, opt: opt}
	base, auth, err := credentials(set)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	s.auth, s.http = auth, stream.Authorize(&http.Client{}, auth)
	if set.URL != "" {
		s.Info.Attached, s.Info.URL = true, strings.TrimSuffix(base, "/")
		if err := checkHealth(ctx, s.http, spec, s.Info.URL); err != nil {
			return nil, err
		}
		opt.logf("%s: attached to %s (nothing launched; it is not stopped afterwards)", spec.Name, s.Info.URL)
		if opt.GPU != nil {
			if err := s.selectGPUs(nil); err != nil {
				return nil, err
			}
		}
	} else if err := s.launch(ctx, model); err != nil {
		return nil, err
	}
	if err := s.prepare(ctx, model); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

// credentials returns the attach URL without its userinfo and the Authorization header the
// requests carry: "Bearer KEY" for an API key, else HTTP basic authentication with the
// URL's user and password (as Go's client would send it), else none. Taking the password
// out of the URL keeps it out of every message and file that names the URL.
func credentials(set Settings) (base, auth string, err error) {
	base = set.URL
	if base != "" {
		u, err := url.Parse(base)
		if err != nil {
			return "", "", fmt.Errorf("url %s: %w", secret.URL(base), err)
		}
		if u.User != nil {
			pass, _ := u.User.Password()
			auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
			u.User = nil
			base = u.String()
		}
	}
	if set.APIKey != "" {
		auth = "Bearer " + set.APIKey
	}
	return base, auth, nil
}

func checkHealth(ctx context.Context, client *http.Client, spec frameworks.Spec, base string) error {
	code, err := getStatus(ctx, client, base+spec.HealthPath)
	if err != nil {
		return fmt.Errorf("attach to %s: no server answers at %s: %w (start it, or remove the url setting to let servegate launch it)", spec.Name, base, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("attach to %s: %s%s answers HTTP %d; is this a %s server, and has it finished loading?", spec.Name, base, spec.HealthPath, code, spec.Name)
	}
	return nil
}

// command resolves the launch command line and environment.
func (s *Server) command(model, host string, port int) ([]string, []string, error) {
	set, spec := s.opt.Settings, s.Spec
	cmd := slices.Clone(set.Command)
	if len(cmd) == 0 {
		if spec.Launch == nil {
			return nil, nil, fmt.Errorf("start %s: it has no launch command; set url to attach to a running server, or command to launch one", spec.Name)
		}
		cmd = spec.Launch(model, host, port)
	} else {
		r := strings.NewReplacer("{model}", model, "{host}", host, "{port}", strconv.Itoa(port))
		for i := range cmd {
			cmd[i] = r.Replace(cmd[i])
		}
	}
	cmd = append(cmd, set.ExtraArgs...)
	var env []string
	if spec.LaunchEnv != nil {
		env = spec.LaunchEnv(host, port)
	}
	keys := make([]string, 0, len(set.Env))
	for k := range set.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+set.Env[k])
	}
	if set.Venv != "" {
		bin := filepath.Join(set.Venv, "bin")
		if _, err := os.Stat(bin); err != nil {
			return nil, nil, fmt.Errorf("start %s: venv %s: %w (set venv to the framework's virtualenv, the directory holding bin/)", spec.Name, set.Venv, err)
		}
		if !strings.Contains(cmd[0], "/") {
			if _, err := os.Stat(filepath.Join(bin, cmd[0])); err == nil {
				cmd[0] = filepath.Join(bin, cmd[0])
			}
		}
		env = append(env, "VIRTUAL_ENV="+set.Venv, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	return cmd, env, nil
}

func (s *Server) launch(ctx context.Context, model string) error {
	set, spec := s.opt.Settings, s.Spec
	host, port := set.Host, set.Port
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = spec.DefaultPort
	}
	cmd, env, err := s.command(model, host, port)
	if err != nil {
		return err
	}
	if s.opt.GPU != nil {
		if err := s.selectGPUs(env); err != nil {
			return err
		}
		if s.baseline, err = s.opt.GPU.Read(); err != nil {
			s.opt.logf("%s: cannot read GPU memory before launch (%v); its release will not be checked", spec.Name, err)
		}
	}
	logPath := s.opt.LogPath
	if logPath == "" {
		logPath = filepath.Join(os.TempDir(), "servegate-"+spec.Name+".log")
	}
	s.opt.logf("%s: launching %s (log: %s)", spec.Name, strings.Join(secret.Args(cmd), " "), logPath)
	start := time.Now()
	p, err := server.Start(ctx, server.Config{Name: spec.Name, Command: cmd, Env: env, Dir: set.Dir, Host: host, Port: port,
		HealthPath: spec.HealthPath, Authorization: s.auth, LogPath: logPath, StartTimeout: time.Duration(set.StartTimeout), Grace: time.Duration(set.Grace)})
	if err != nil {
		return err
	}
	s.Process = p
	if s.opt.GPU != nil {
		s.opt.GPU.Watch(p.PIDs, s.baseline)
	}
	s.Info.URL, s.Info.Command, s.Info.Env, s.Info.Dir, s.Info.Venv = "http://"+net.JoinHostPort(host, strconv.Itoa(port)), secret.Args(cmd), secret.Env(env), set.Dir, set.Venv
	s.Info.LogPath, s.Info.PID, s.Info.ReadySeconds = logPath, p.PID(), time.Since(start).Seconds()
	s.opt.logf("%s: healthy after %.1f s (pid %d)", spec.Name, s.Info.ReadySeconds, p.PID())
	return nil
}

// prepare checks the served model and builds the target.
func (s *Server) prepare(ctx context.Context, model string) error {
	spec, base := s.Spec, s.Info.URL
	pctx, cancel := s.opt.probeCtx(ctx)
	defer cancel()
	if err := probe.CheckModel(pctx, s.http, spec, base, model); err != nil {
		return fmt.Errorf("start %s: %w", spec.Name, err)
	}
	vctx, cancel := s.opt.probeCtx(ctx)
	defer cancel()
	version, err := probe.Version(vctx, s.http, spec, base)
	if err != nil {
		s.opt.logf("%s: %v (recorded as unknown)", spec.Name, err)
	}
	t := scenario.Target{
		Framework: spec.Name, Model: model, BaseURL: base, Dialect: stream.Dialect(spec.Dialect), Authorization: s.auth,
		ContinuousUsage: spec.ContinuousUsage, HealthPath: spec.HealthPath,
		MetricsPath: spec.MetricsPath, Metrics: spec.Metrics, Version: version,
	}
	if spec.ContextOption {
		t.NumCtx = s.opt.Settings.NumCtx
		if t.NumCtx == 0 {
			t.NumCtx = contextWindow(s.opt.ContextTokens)
		}
		t.KeepLoaded = true
		s.Info.NumCtx = t.NumCtx
		if err := loadModel(ctx, s.http, base, model, t.NumCtx, time.Duration(s.opt.Settings.StartTimeout)); err != nil {
			return fmt.Errorf("start %s: %w", spec.Name, err)
		}
		s.opt.logf("%s: %s loaded with num_ctx %d, kept loaded", spec.Name, model, t.NumCtx)
		if n, err := probe.LoadedContext(ctx, s.http, spec, base, model); err != nil {
			s.opt.logf("%s: %v (the loaded context window is not checked)", spec.Name, err)
		} else if n > 0 {
			s.Info.LoadedContext = n
			if n < t.NumCtx {
				s.opt.logf("%s: WARNING: %s holds a %d-token context, not the %d asked for (Ollama caps num_ctx at the model's trained context): longer prompts will be truncated and flagged",
					spec.Name, model, n, t.NumCtx)
			}
		}
	}
	s.Info.ParallelSlots, s.Info.ParallelSlotsFrom = s.slots(ctx, base)
	t.ParallelSlots = s.Info.ParallelSlots
	if s.Info.ParallelSlotsFrom != "" {
		s.opt.logf("%s: parallel slots: %d (%s)", spec.Name, s.Info.ParallelSlots, s.Info.ParallelSlotsFrom)
	}
	busyWait := time.Duration(s.opt.ResetBusyWait)
	if busyWait == 0 {
		busyWait = 2 * time.Minute
	}
	t.ResetCache, s.Info.PrefixCacheReset = resetter(ctx, s.http, spec, base, busyWait)
	if spec.ResetByReload {
		if s.opt.Settings.KeepCache {
			s.Info.PrefixCacheReset = "kept between trials (keep_cache)"
		} else {
			timeout, numCtx := time.Duration(s.opt.Settings.StartTimeout), t.NumCtx
			t.ResetCache = func(ctx context.Context) error {
				if err := unloadModel(ctx, s.http, base, model); err != nil {
					return err
				}
				return loadModel(ctx, s.http, base, model, numCtx, timeout)
			}
			s.Info.PrefixCacheReset = "between trials: the model is unloaded and reloaded (no cache-reset endpoint)"
		}
	}
	if t.ResetCache == nil {
		// Trials and points then share whatever the server keeps cached: say so in every
		// point's result, and here, loudly.
		t.CacheShared, s.Info.TrialsShareCache = s.Info.PrefixCacheReset, true
		s.opt.logf("%s: WARNING: the prefix cache cannot be emptied between trials (%s); trials share a cache, and every point's result says so",
			spec.Name, s.Info.PrefixCacheReset)
	}
	if t.MetricsPath != "" {
		if code, err := getStatus(ctx, s.http, base+t.MetricsPath); err != nil || code != http.StatusOK {
			s.opt.logf("%s: no server metrics at %s (HTTP %d, %v); the results will lack the server's own figures", spec.Name, t.MetricsPath, code, err)
			t.MetricsPath = ""
		}
	}
	cal, tok, err := s.calibration(ctx, spec, base, model, version, t.NumCtx)
	if err != nil {
		return fmt.Errorf("start %s: %w", spec.Name, err)
	}
	t.Count, t.Tokenize, s.Info.Calibration = cal.Count, tok, cal
	if tok == nil {
		t.CountTolerance = 0.01
	}
	s.holdOutputLength(&t, tok != nil)
	t.Launch = s.Info
	s.Target = t
	return nil
}

// holdOutputLength chooses how t's requests hold their output length: the settings'
// choice, else the framework's for the preset's chat format. The completions route needs
// the server's tokenizer to render the chat; without one the length is left to the model,
// and the log and the provenance say so.
func (s *Server) holdOutputLength(t *scenario.Target, tokenizer bool) {
	spec := s.Spec
	method := spec.OutputLengthFor(s.opt.Preset)
	from := fmt.Sprintf("%s's choice for %s", spec.Name, s.opt.Preset.Name)
	if set := s.opt.Settings.OutputLength; set != "" {
		method, from = set, "the output_length setting"
	}
	if method == frameworks.CompletionsIgnoreEOS && !tokenizer {
		s.opt.logf("%s: output length: %s needs the server's tokenizer endpoint to render the chat, and it has none; the length is left to the model (%s)",
			spec.Name, method, frameworks.Natural)
		method, from = frameworks.Natural, "no tokenizer endpoint for "+string(frameworks.CompletionsIgnoreEOS)
	}
	t.OutputLength, s.Info.OutputLength = method, method
	if method == frameworks.CompletionsIgnoreEOS {
		t.Dialect, t.Render = stream.OpenAICompletions, renderer(s.http, spec, t.BaseURL, t.Model, s.opt.probeTimeout())
	}
	s.opt.logf("%s: output length held by %s (%s)", spec.Name, method, from)
}

// contextWindow is the Ollama num_ctx that holds the run's longest request: with room for
// the chat template, rounded up to a multiple of 1024.
func contextWindow(tokens int) int {
	n := max(tokens, 2048) + 256
	return (n + 1023) / 1024 * 1024
}

// calibration returns the cached calibration for this server, or makes one, and the exact
// counter where the server has a tokenizer.
func (s *Server) calibration(ctx context.Context, spec frameworks.Spec, base, model, version string, numCtx int) (*Calibration, counter, error) {
	dir := s.opt.CacheDir
	if dir == "" {
		dir = defaultCacheDir()
	}
	var tok counter
	if spec.TokenizePath != "" {
		tok = tokenizer(s.http, spec, base, model, s.opt.probeTimeout())
		if _, err := tok(ctx, probeMessages("check", 0, 1)); err != nil {
			s.opt.logf("%s: tokenizer endpoint unusable (%v); calibrating from usage counts", spec.Name, err)
			tok = nil
		}
	}
	count, method := tok, "tokenize"
	if count == nil {
		client := &stream.Client{HTTP: stream.Authorize(stream.NewHTTPClient(1), s.auth), BaseURL: base, Dialect: stream.Dialect(spec.Dialect), Model: model,
			KeepLoaded: spec.ContextOption, StallTimeout: s.opt.probeTimeout(), RequestTimeout: 2 * s.opt.probeTimeout()}
		count, method = usageProbe(client, numCtx), "usage"
	}
	key, err := s.calibrationKey(ctx, count, method, model, version, numCtx)
	if err != nil {
		return nil, nil, err
	}
	fp := key.Fingerprint()
	path := cachePath(dir, spec.Name, model, fp)
	if version == "" {
		s.opt.logf("%s: the server reports no version; its token calibration is cached by a fingerprint of what it does report "+
			"(its count of a probe chat: %d tokens; launch settings; model) rather than by version", spec.Name, key.ProbeTokens)
	}
	if c := loadCalibration(path); c != nil {
		s.opt.logf("%s: token calibration from %s (fingerprint %s; slope %.3f, intercept %.1f)", spec.Name, path, fp, c.Slope, c.Intercept)
		return c, tok, nil
	}
	limit := 1 << 30
	if numCtx > 0 {
		limit = numCtx * 95 / 100
	}
	c, err := calibrate(ctx, count, method, s.opt.Nonce, limit)
	if err != nil {
		return nil, nil, err
	}
	c.Framework, c.Model, c.Version, c.Key, c.Fingerprint = spec.Name, model, version, &key, fp
	s.opt.logf("%s: calibrated prompt tokens by %s: server = %.1f + %.3f x local (worst probe off by %.1f tokens)", spec.Name, method, c.Intercept, c.Slope, c.MaxError)
	if err := saveCalibration(path, c); err != nil {
		s.opt.logf("%s: calibration not cached: %v", spec.Name, err)
	}
	return c, tok, nil
}

// calibrationKey gathers what changes the server's token counts (see calibrationKey),
// counting the fingerprint chat once with count.
func (s *Server) calibrationKey(ctx context.Context, count counter, method, model, version string, numCtx int) (calibrationKey, error) {
	n, err := count(ctx, fingerprintMessages())
	if err != nil {
		return calibrationKey{}, fmt.Errorf("count the calibration fingerprint chat: %w", err)
	}
	revision, err := probe.Digest(ctx, s.http, s.Spec, s.Info.URL, model)
	if err != nil {
		s.opt.logf("%s: model digest unknown (%v)", s.Spec.Name, err)
	}
	return calibrationKey{Framework: s.Spec.Name, Model: model, Version: version, Revision: revision,
		Command: s.placeless(s.Info.Command), Env: s.placeless(s.Info.Env), Attached: s.Info.Attached, Reasoning: s.opt.Preset.Reasoning,
		ChatFormat: s.opt.Preset.ChatFormat, NumCtx: numCtx, Method: method, ProbeTokens: n}, nil
}

// placeless returns args with the server's listen address put back as {host} and {port}:
// where it listens changes no token count.
func (s *Server) placeless(args []string) []string {
	u, err := url.Parse(s.Info.URL)
	if err != nil || len(args) == 0 {
		return args
	}
	host, port := u.Hostname(), u.Port()
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, net.JoinHostPort(host, port), "{host}:{port}")
		switch {
		case a == port:
			a = "{port}"
		case a == host:
			a = "{host}"
		case strings.HasSuffix(a, "="+port):
			a = strings.TrimSuffix(a, port) + "{port}"
		}
		out[i] = a
	}
	return out
}

// Err is nil while the server can serve: an attached server is assumed to; a launched one
// that has exited says how.
func (s *Server) Err() error {
	if s.Process == nil {
		return nil
	}
	return s.Process.Err()
}

// Stop stops a launched server (SIGTERM to its group, grace, SIGKILL, port freed) and waits
// until the GPU memory it held is released, so the next framework starts on an empty GPU.
// An attached server is left running.
func (s *Server) Stop() error {
	if s.Process == nil {
		return nil
	}
	err := s.Process.Close()
	if s.opt.GPU != nil {
		s.opt.GPU.Unwatch()
		if s.baseline != nil {
			timeout := s.opt.ReleaseTimeout
			if timeout == 0 {
				timeout = 2 * time.Minute
			}
			if rerr := waitReleased(s.opt.GPU, s.baseline, timeout); rerr != nil {
				err = errors.Join(err, fmt.Errorf("stop %s: %w", s.Spec.Name, rerr))
			} else {
				s.opt.logf("%s: stopped; GPU memory back to its level before launch", s.Spec.Name)
			}
		}
	}
	return err
}
