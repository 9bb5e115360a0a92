// Package probe asks a running server what it serves and which version it is, as each
// framework's API says (frameworks.Spec), so a run against the wrong model or an
// unreachable server stops with an error that names the fix.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/stream"
)

// ErrModelNotServed marks a server that does not serve the requested model.
var ErrModelNotServed = errors.New("model not served")

// DefaultTimeout bounds a probe whose context has no deadline: a server that does not
// answer a model list or version in this long will not answer.
const DefaultTimeout = time.Minute

func get(ctx context.Context, client *http.Client, url string, v any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w (is the server running and reachable?)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2<<10))
		return fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, stream.ServerText(body))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: not the JSON this framework answers: %w", url, err)
	}
	return nil
}

// served is one model a server lists: its names and, where the server gives one, the
// digest of its weights (Ollama's /api/tags).
type served struct {
	names  []string
	digest string
}

func list(ctx context.Context, client *http.Client, spec frameworks.Spec, baseURL string) ([]served, error) {
	url := strings.TrimSuffix(baseURL, "/") + spec.ModelsPath
	var body struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"` // OpenAI list
		Models []struct {
			Name   string `json:"name"`
			Model  string `json:"model"`
			Digest string `json:"digest"`
		} `json:"models"` // Ollama /api/tags
	}
	if err := get(ctx, client, url, &body); err != nil {
		return nil, fmt.Errorf("list %s models: %w", spec.Name, err)
	}
	var out []served
	for _, d := range body.Data {
		out = append(out, served{names: []string{d.ID}})
	}
	for _, m := range body.Models {
		e := served{names: []string{m.Name}, digest: m.Digest}
		if m.Model != "" && m.Model != m.Name {
			e.names = append(e.names, m.Model)
		}
		out = append(out, e)
	}
	return out, nil
}

// Models lists the models the server serves. The probes send through client (one that
// carries the server's API key, when it has one).
func Models(ctx context.Context, client *http.Client, spec frameworks.Spec, baseURL string) ([]string, error) {
	all, err := list(ctx, client, spec, baseURL)
	var out []string
	for _, e := range all {
		out = append(out, e.names...)
	}
	return out, err
}

// Digest returns the digest of model's weights where the server lists one (Ollama), else "".
func Digest(ctx context.Context, client *http.Client, spec frameworks.Spec, baseURL, model string) (string, error) {
	all, err := list(ctx, client, spec, baseURL)
	for _, e := range all {
		if slices.Contains(e.names, model) || slices.Contains(e.names, model+":latest") {
			return e.digest, nil
		}
	}
	return "", err
}

// CheckModel verifies that the server serves model, or says how to make it so.
func CheckModel(ctx context.Context, client *http.Client, spec frameworks.Spec, baseURL, model string) error {
	served, err := Models(ctx, client, spec, baseURL)
	if err != nil {
		return err
	}
	// Ollama names a tag without one as ":latest".
	if slices.Contains(served, model) || (spec.Dialect == "ollama" && !strings.Contains(model, ":") && slices.Contains(served, model+":latest")) {
		return nil
	}
	hint := ""
	if spec.MissingModelHint != nil {
		hint = "; " + spec.MissingModelHint(model)
	}
	return fmt.Errorf("%w: %s at %s serves %s, not %q%s", ErrModelNotServed, spec.Name, baseURL,
		stream.ServerText([]byte(fmt.Sprint(served))), model, hint)
}

// Version returns the server's version, or "" when it does not say.
func Version(ctx context.Context, client *http.Client, spec frameworks.Spec, baseURL string) (string, error) {
	if spec.VersionPath == "" {
		return "", nil
	}
	var body struct {
		Version string `json:"version"`
	}
	if err := get(ctx, client, strings.TrimSuffix(baseURL, "/")+spec.VersionPath, &body); err != nil {
		return "", fmt.Errorf("%s version: %w", spec.Name, err)
	}
	return stream.ServerText([]byte(body.Version)), nil
}

// Slots returns the most requests the server runs at once and the field that says so,
// where its version body tells (spec.SlotsInInfo: SGLang's /get_server_info); 0 and ""
// where the framework's body never tells, 0 and why where this one does not.
func Slots(ctx context.Context, client *http.Client, spec frameworks.Spec, baseURL string) (int, string, error) {
	if spec.SlotsInInfo == nil || spec.VersionPath == "" {
		return 0, "", nil
	}
	var body json.RawMessage
	if err := get(ctx, client, strings.TrimSuffix(baseURL, "/")+spec.VersionPath, &body); err != nil {
		return 0, "", fmt.Errorf("%s slots: %w", spec.Name, err)
	}
	n, from := spec.SlotsInInfo(body)
	if n == 0 {
		return 0, "unknown: " + spec.VersionPath + " does not say", nil
	}
	return n, from, nil
}

// LoadedContext returns the context window the server reports for model as loaded now
// (Ollama's /api/ps context_length), or 0 when it has no such report: no LoadedPath, a
// version without the field, or the model not loaded.
func LoadedContext(ctx context.Context, client *http.Client, spec frameworks.Spec, baseURL, model string) (int, error) {
	if spec.LoadedPath == "" {
		return 0, nil
	}
	var body struct {
		Models []struct {
			Name          string `json:"name"`
			Model         string `json:"model"`
			ContextLength int    `json:"context_length"`
		} `json:"models"`
	}
	if err := get(ctx, client, strings.TrimSuffix(baseURL, "/")+spec.LoadedPath, &body); err != nil {
		return 0, fmt.Errorf("%s loaded models: %w", spec.Name, err)
	}
	for _, m := range body.Models {
		for _, name := range []string{m.Name, m.Model} {
			if name == model || (!strings.Contains(model, ":") && name == model+":latest") {
				return m.ContextLength, nil
			}
		}
	}
	return 0, nil
}
