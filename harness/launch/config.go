package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/servegate/servegate/frameworks"
)

// Settings say how to bring one framework up: launch it (the default command of its Spec,
// or Command), or attach to one already running at URL and start nothing. Every field is
// optional. They come from a config file and are overridden by environment variables
// (SERVEGATE_<FRAMEWORK>_<FIELD>) and flags, in that order.
type Settings struct {
	// URL attaches to a running server (http://host:port) instead of launching one. A
	// user and password in it (http://user:pass@host) are sent as basic authentication.
	URL string `json:"url,omitempty"`
	// APIKey is sent as "Authorization: Bearer KEY" on every request (the server's
	// --api-key). It is never written: not in results, output or the report.
	APIKey string `json:"api_key,omitempty"`
	// Command replaces the framework's launch command; {model}, {host} and {port} in it
	// are replaced. ExtraArgs are appended to whichever command runs.
	Command   []string `json:"command,omitempty"`
	ExtraArgs []string `json:"extra_args,omitempty"`
	// Env is added to the server's environment; Dir is its working directory.
	Env map[string]string `json:"env,omitempty"`
	Dir string            `json:"dir,omitempty"`
	// Venv is the framework's own Python virtualenv (or any prefix with a bin/): its bin/
	// leads PATH, and a command named without a path is taken from it.
	Venv string `json:"venv,omitempty"`
	// Host and Port are where a launched server listens (default 127.0.0.1 and the
	// framework's port).
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	// Model is the name the server serves the model under, when not the preset's.
	Model string `json:"model,omitempty"`
	// StartTimeout bounds model loading (default 15m); Grace is how long SIGTERM has
	// before SIGKILL (default 30s).
	StartTimeout Duration `json:"start_timeout,omitempty"`
	Grace        Duration `json:"grace,omitempty"`
	// ProbeTimeout bounds each request sent to bring the server up besides model loading:
	// the model and version probes, the tokenizer and each calibration request (default
	// 1m). A server that takes longer will not answer.
	ProbeTimeout Duration `json:"probe_timeout,omitempty"`
	// NumCtx overrides the context window the suite sets where the API takes one (Ollama).
	NumCtx int `json:"num_ctx,omitempty"`
	// OutputLength overrides how requests hold their output length: ignore_eos,
	// completions_ignore_eos or natural (see frameworks.OutputLength); empty keeps the
	// framework's choice for the model.
	OutputLength frameworks.OutputLength `json:"output_length,omitempty"`
	// KeepCache skips the reload that empties Ollama's prompt cache between trials (the
	// model then stays loaded for the whole run, and each trial sees what the earlier ones
	// left cached).
	KeepCache bool `json:"keep_cache,omitempty"`
	// GPUs are the devices the server uses, by NVML index or UUID, for GPU telemetry to
	// sample only them; unset, a launched server's CUDA_VISIBLE_DEVICES says, and
	// without either every GPU is sampled.
	GPUs []string `json:"gpus,omitempty"`
}

// Duration is a time.Duration written as "90s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "90s", "15m" and the like.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"90s\" or \"15m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// File is a servegate launch configuration file:
//
//	{"frameworks": {"vllm": {"venv": "/opt/venvs/vllm", "extra_args": ["--max-model-len", "32768"]},
//	                "ollama": {"url": "http://127.0.0.1:11434"}}}
type File struct {
	Frameworks map[string]Settings `json:"frameworks"`
}

// LoadFile reads a configuration file; unknown fields and frameworks are errors, so a typo
// does not silently launch the defaults.
func LoadFile(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("launch config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("launch config %s: %w (see README, \"Launch configuration\")", path, err)
	}
	// A second object or a stray brace is a mistake (two files concatenated, a bad edit),
	// not something to ignore.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return f, fmt.Errorf("launch config %s: text after the configuration at byte %d; a file holds one JSON object", path, dec.InputOffset())
	}
	for name, set := range f.Frameworks {
		if _, err := Lookup(name); err != nil {
			return f, fmt.Errorf("launch config %s: %w", path, err)
		}
		if err := set.validate(); err != nil {
			return f, fmt.Errorf("launch config %s: %s: %w", path, name, err)
		}
	}
	return f, nil
}

// Merge returns s with every field that over sets replacing s's; Env maps are merged.
func (s Settings) Merge(over Settings) Settings {
	if over.URL != "" {
		s.URL = over.URL
	}
	if over.APIKey != "" {
		s.APIKey = over.APIKey
	}
	if len(over.Command) > 0 {
		s.Command = over.Command
	}
	if len(over.ExtraArgs) > 0 {
		s.ExtraArgs = over.ExtraArgs
	}
	if len(over.Env) > 0 {
		env := map[string]string{}
		for k, v := range s.Env {
			env[k] = v
		}
		for k, v := range over.Env {
			env[k] = v
		}
		s.Env = env
	}
	if over.Dir != "" {
		s.Dir = over.Dir
	}
	if over.Venv != "" {
		s.Venv = over.Venv
	}
	if over.Host != "" {
		s.Host = over.Host
	}
	if over.Port != 0 {
		s.Port = over.Port
	}
	if over.Model != "" {
		s.Model = over.Model
	}
	if over.StartTimeout != 0 {
		s.StartTimeout = over.StartTimeout
	}
	if over.Grace != 0 {
		s.Grace = over.Grace
	}
	if over.ProbeTimeout != 0 {
		s.ProbeTimeout = over.ProbeTimeout
	}
	if over.NumCtx != 0 {
		s.NumCtx = over.NumCtx
	}
	if over.KeepCache {
		s.KeepCache = true
	}
	if over.OutputLength != "" {
		s.OutputLength = over.OutputLength
	}
	if len(over.GPUs) > 0 {
		s.GPUs = over.GPUs
	}
	return s
}

// validate reports a setting that names nothing servegate knows.
func (s Settings) validate() error {
	if s.OutputLength != "" && !slices.Contains(frameworks.OutputLengths, s.OutputLength) {
		return fmt.Errorf("output_length %q: choose one of %v", s.OutputLength, frameworks.OutputLengths)
	}
	return nil
}

// FromEnv reads the overrides for framework from getenv: SERVEGATE_<FRAMEWORK>_URL,
// _API_KEY, _COMMAND and _EXTRA_ARGS (split on spaces), _VENV, _DIR, _HOST, _PORT, _MODEL,
// _START_TIMEOUT, _GRACE, _PROBE_TIMEOUT, _NUM_CTX, _KEEP_CACHE (1 or true), _OUTPUT_LENGTH and
// _GPUS (comma-separated).
func FromEnv(framework string, getenv func(string) string) (Settings, error) {
	prefix := "SERVEGATE_" + strings.ToUpper(framework) + "_"
	get := func(k string) string { return strings.TrimSpace(getenv(prefix + k)) }
	s := Settings{URL: get("URL"), APIKey: get("API_KEY"), Command: strings.Fields(get("COMMAND")), ExtraArgs: strings.Fields(get("EXTRA_ARGS")),
		Venv: get("VENV"), Dir: get("DIR"), Host: get("HOST"), Model: get("MODEL"),
		OutputLength: frameworks.OutputLength(get("OUTPUT_LENGTH")), GPUs: deviceList(get("GPUS"))}
	var errs []error
	num := func(k string, dst *int) {
		if v := get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s%s=%q: want a positive integer", prefix, k, v))
			}
			*dst = n
		}
	}
	dur := func(k string, dst *Duration) {
		if v := get(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s%s=%q: want a duration such as 20m", prefix, k, v))
			}
			*dst = Duration(d)
		}
	}
	switch strings.ToLower(get("KEEP_CACHE")) {
	case "", "0", "false":
	case "1", "true":
		s.KeepCache = true
	default:
		errs = append(errs, fmt.Errorf("%sKEEP_CACHE=%q: want 1 or 0", prefix, get("KEEP_CACHE")))
	}
	if err := s.validate(); err != nil {
		errs = append(errs, fmt.Errorf("%sOUTPUT_LENGTH: %w", prefix, err))
	}
	num("PORT", &s.Port)
	num("NUM_CTX", &s.NumCtx)
	dur("START_TIMEOUT", &s.StartTimeout)
	dur("GRACE", &s.Grace)
	dur("PROBE_TIMEOUT", &s.ProbeTimeout)
	return s, errors.Join(errs...)
}

// Configured returns a framework's settings as the suite reads them: the configuration file
// at path ("" for none), overridden by the framework's SERVEGATE_<FRAMEWORK>_* variables
// from getenv. The live dashboard reads them the same way, so it starts what a run would.
func Configured(path, framework string, getenv func(string) string) (Settings, error) {
	var set Settings
	if path != "" {
		f, err := LoadFile(path)
		if err != nil {
			return set, err
		}
		set = f.Frameworks[framework]
	}
	env, err := FromEnv(framework, getenv)
	if err != nil {
		return set, err
	}
	return set.Merge(env), nil
}

// deviceList splits a CUDA_VISIBLE_DEVICES-style list ("0,1" or "GPU-…,GPU-…"). As CUDA
// reads it, a negative entry ends the list.
func deviceList(v string) []string {
	var out []string
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		if id == "" || strings.HasPrefix(id, "-") {
			break
		}
		out = append(out, id)
	}
	return out
}
