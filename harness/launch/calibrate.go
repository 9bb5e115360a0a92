package launch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/prompt"
	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/stream"
)

// Calibration maps servegate's own count of a prompt's tokens (the simulator's tokenizer:
// local, deterministic and cheap) to the server's, chat template included:
// server ≈ Intercept + Slope × local, fitted by least squares over probe prompts of several
// lengths. The scenarios' prompts are filler prose, like the probes, so the map holds
// across lengths; the runner's 2% check on the server-reported prompt tokens of every
// request confirms it, and servers with a tokenizer endpoint refit each prompt exactly.
type Calibration struct {
	Framework string `json:"framework"`
	Model     string `json:"model"`
	Version   string `json:"version"`
	// Key is what the calibration was cached under (see calibrationKey) and Fingerprint
	// its hash, which names the cache file.
	Key         *calibrationKey `json:"key,omitempty"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	// Method is "tokenize" (the server's tokenizer endpoint) or "usage" (the prompt-token
	// counts of one-token probe requests).
	Method    string  `json:"method"`
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	Probes    []Probe `json:"probes"`
	// MaxError is the largest |fit - server| over the probes, in tokens.
	MaxError float64 `json:"max_error_tokens"`
	At       string  `json:"at"`
}

// Probe is one calibration prompt: its local and server token counts.
type Probe struct {
	Local  int `json:"local"`
	Server int `json:"server"`
}

// Count estimates the server's count of msgs.
func (c *Calibration) Count(msgs []stream.Message) int {
	return int(math.Round(c.Intercept + c.Slope*float64(localCount(msgs))))
}

// localCount is the local estimate a calibration maps to the server's counts.
var localCount = prompt.Local

// probeWords are the filler lengths of the probes: short to long, so the fit sees the
// template's fixed cost and the prose's cost per token.
var probeWords = []int{16, 60, 200, 400, 800, 2400}

// probeMessages are shaped like the scenarios' prompts: an id, a question, then filler.
func probeMessages(nonce string, k, words int) []stream.Message {
	head := fmt.Sprintf("[%s-calibration-t1-%d] What is the capital of France?\n\n", nonce, k)
	return []stream.Message{{Role: "user", Content: head + prompt.Filler(k*97, words, 0)}}
}

// counter counts a prompt's tokens on the server.
type counter func(ctx context.Context, msgs []stream.Message) (int, error)

// tokenization is what a tokenizer endpoint answers: vLLM's TokenizeResponse.
type tokenization struct {
	Count  *int  `json:"count"`
	Tokens []int `json:"tokens"`
}

// tokenizeEndpoint asks spec's tokenizer endpoint for the tokens of chat messages (vLLM's
// /tokenize with chat messages: the template and the assistant header included, as a chat
// request renders them), each request bounded by timeout.
func tokenizeEndpoint(client *http.Client, spec frameworks.Spec, baseURL, model string, timeout time.Duration) func(ctx context.Context, msgs []stream.Message) (tokenization, error) {
	url := strings.TrimSuffix(baseURL, "/") + spec.TokenizePath
	return func(ctx context.Context, msgs []stream.Message) (tokenization, error) {
		var out tokenization
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		body, err := json.Marshal(map[string]any{"model": model, "messages": msgs, "add_generation_prompt": true})
		if err != nil {
			return out, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return out, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return out, fmt.Errorf("POST %s: %w", url, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			return out, fmt.Errorf("POST %s: HTTP %d: %s", url, resp.StatusCode, stream.ServerText(msg))
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Count == nil {
			return out, fmt.Errorf("POST %s: no token count in the answer (%v)", url, err)
		}
		return out, nil
	}
}

// tokenizer returns a counter that asks spec's tokenizer endpoint.
func tokenizer(client *http.Client, spec frameworks.Spec, baseURL, model string, timeout time.Duration) counter {
	tok := tokenizeEndpoint(client, spec, baseURL, model, timeout)
	return func(ctx context.Context, msgs []stream.Message) (int, error) {
		t, err := tok(ctx, msgs)
		if err != nil {
			return 0, err
		}
		return *t.Count, nil
	}
}

// renderer returns the token ids spec's tokenizer endpoint gives chat messages: the prompt
// the completions endpoint takes in their place.
func renderer(client *http.Client, spec frameworks.Spec, baseURL, model string, timeout time.Duration) func(ctx context.Context, msgs []stream.Message) ([]int, error) {
	tok := tokenizeEndpoint(client, spec, baseURL, model, timeout)
	return func(ctx context.Context, msgs []stream.Message) ([]int, error) {
		t, err := tok(ctx, msgs)
		if err != nil {
			return nil, err
		}
		if len(t.Tokens) == 0 || len(t.Tokens) != *t.Count {
			return nil, fmt.Errorf("%s answered %d token ids for a count of %d; the completions route needs the ids", spec.TokenizePath, len(t.Tokens), *t.Count)
		}
		return t.Tokens, nil
	}
}

// usageProbe returns a counter that sends a one-token request and reads the prompt tokens
// the server reports (usage.prompt_tokens, or Ollama's prompt_eval_count).
func usageProbe(c *stream.Client, numCtx int) counter {
	return func(ctx context.Context, msgs []stream.Message) (int, error) {
		var rec stream.Record
		c.Stream(ctx, stream.Request{ID: "servegate-calibration", Messages: msgs, MaxTokens: 1, NumCtx: numCtx}, &rec)
		if rec.Err != nil {
			return 0, rec.Err
		}
		if rec.PromptTokens < 0 {
			return 0, errors.New("the server reported no prompt token count (usage or prompt_eval_count)")
		}
		return rec.PromptTokens, nil
	}
}

// calibrate fits a Calibration from probes counted by count.
func calibrate(ctx context.Context, count counter, method, nonce string, maxTokens int) (*Calibration, error) {
	c := &Calibration{Method: method, At: time.Now().UTC().Format(time.RFC3339)}
	for k, words := range probeWords {
		msgs := probeMessages(nonce, k, words)
		local := localCount(msgs)
		n, err := count(ctx, msgs)
		if err != nil {
			return nil, fmt.Errorf("calibration probe of %d tokens: %w", local, err)
		}
		if n >= maxTokens {
			// At or past the context window the server may have cut the probe (Ollama does,
			// silently): its count says nothing about the prompt. Longer probes would not either.
			break
		}
		c.Probes = append(c.Probes, Probe{Local: local, Server: n})
	}
	// Least squares over the probes.
	var sx, sy, sxx, sxy float64
	n := float64(len(c.Probes))
	for _, p := range c.Probes {
		x, y := float64(p.Local), float64(p.Server)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	den := n*sxx - sx*sx
	if n < 2 || den == 0 {
		return nil, fmt.Errorf("calibration: fewer than two usable probes (%v) below the %d-token window", c.Probes, maxTokens)
	}
	c.Slope = (n*sxy - sx*sy) / den
	c.Intercept = (sy - c.Slope*sx) / n
	if c.Slope <= 0 {
		return nil, fmt.Errorf("calibration: the server's count does not grow with the prompt (%v)", c.Probes)
	}
	for _, p := range c.Probes {
		c.MaxError = max(c.MaxError, math.Abs(c.Intercept+c.Slope*float64(p.Local)-float64(p.Server)))
	}
	return c, nil
}

// calibrationKey is what changes how a server counts a prompt's tokens; a calibration is
// reused only by a server that matches it in every field. No vLLM or SGLang endpoint
// returns the chat template, so the server's own count of a fixed probe chat stands in
// for it (and for a tokenizer or template swapped under an unchanged version); the model
// revision is in the launch command where one is pinned (--revision), or in the served
// model's digest where the server lists one (Ollama).
type calibrationKey struct {
	Framework string `json:"framework"`
	Model     string `json:"model"`
	// Version is the server's; "" when it reports none.
	Version  string `json:"version"`
	Revision string `json:"model_revision,omitempty"`
	// Command and Env are how servegate launched the server; an attached server's are
	// unknown (Attached).
	Command  []string `json:"command,omitempty"`
	Env      []string `json:"env,omitempty"`
	Attached bool     `json:"attached"`
	// Reasoning and ChatFormat are the preset's: what the chat template renders.
	Reasoning  bool   `json:"reasoning"`
	ChatFormat string `json:"chat_format,omitempty"`
	// NumCtx is the context window set per request (Ollama), which bounds the probes.
	NumCtx int `json:"num_ctx,omitempty"`
	// Method is how the server counts (tokenize or usage); ProbeTokens its count of
	// fingerprintMessages.
	Method      string `json:"method"`
	ProbeTokens int    `json:"probe_tokens"`
}

// fingerprintMessages is the fixed chat whose count stands in for the chat template.
func fingerprintMessages() []stream.Message {
	return []stream.Message{{Role: "system", Content: "servegate calibration fingerprint"},
		{Role: "user", Content: "What is the capital of France? Answer in one word."}}
}

// Fingerprint hashes the key.
func (k calibrationKey) Fingerprint() string {
	b, _ := json.Marshal(k)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// cachePath is where the calibration of framework and model with fingerprint fp is kept.
func cachePath(dir, framework, model, fp string) string {
	name := unsafeName.ReplaceAllString(framework+"_"+model+"_"+fp, "-")
	return filepath.Join(dir, "calibration", name+".json")
}

// loadCalibration returns the cached calibration, or nil.
func loadCalibration(path string) *Calibration {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var c Calibration
	if json.Unmarshal(b, &c) != nil || c.Slope <= 0 {
		return nil
	}
	return &c
}

// defaultCacheDir is $SERVEGATE_CACHE_DIR, else servegate under the user's cache directory.
func defaultCacheDir() string {
	if d := os.Getenv("SERVEGATE_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "servegate")
	}
	return filepath.Join(os.TempDir(), "servegate-cache")
}

func saveCalibration(path string, c *Calibration) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return results.WriteFile(path, c)
}
