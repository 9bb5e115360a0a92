package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/harness/probe"
	"github.com/servegate/servegate/harness/stream"
)

func post(ctx context.Context, client *http.Client, url string, body any, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var r io.Reader = strings.NewReader("")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2<<10))
	return resp.StatusCode, stream.ServerText(msg), nil
}

// resetter returns the function that empties spec's prefix cache, after trying it once,
// and a line for the provenance: "between trials", or why not. Where the server refuses
// the reset while requests run (spec.ResetCacheBusy), the reset retries with backoff
// until the server is idle, for at most busyWait.
func resetter(ctx context.Context, client *http.Client, spec frameworks.Spec, base string, busyWait time.Duration) (func(context.Context) error, string) {
	if spec.ResetCachePath == "" {
		return nil, "not offered by " + spec.Name
	}
	url := base + spec.ResetCachePath
	reset := func(ctx context.Context) error {
		deadline := time.Now().Add(busyWait)
		backoff := 20 * time.Millisecond
		for waited := false; ; waited = true {
			code, msg, err := post(ctx, client, url, nil, time.Minute)
			if err != nil {
				return fmt.Errorf("reset %s prefix cache: %w", spec.Name, err)
			}
			if code/100 == 2 {
				return nil
			}
			busy := spec.ResetCacheBusy != 0 && code == spec.ResetCacheBusy
			if !busy || !time.Now().Add(backoff).Before(deadline) {
				why := spec.ResetCacheHint
				if busy && waited {
					why = fmt.Sprintf("the server was still busy after %v: requests from before are still running (%s)", busyWait, why)
				}
				return fmt.Errorf("reset %s prefix cache: POST %s: HTTP %d: %s (%s)", spec.Name, url, code, msg, why)
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("reset %s prefix cache while waiting for the server to go idle: %w", spec.Name, ctx.Err())
			case <-t.C:
			}
			backoff = min(2*backoff, 2*time.Second)
		}
	}
	if err := reset(ctx); err != nil {
		return nil, "unavailable: " + err.Error()
	}
	return reset, "between trials (POST " + spec.ResetCachePath + ")"
}

// getStatus sends a GET to url, discards the body and returns the status code.
func getStatus(ctx context.Context, client *http.Client, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// loadModel asks Ollama to load model with the run's context window and keep it loaded
// (a generate request without a prompt), so the first measured request does not pay for
// loading it, and no request reloads it with another num_ctx.
func loadModel(ctx context.Context, client *http.Client, base, model string, numCtx int, timeout time.Duration) error {
	if timeout == 0 {
		timeout = 15 * time.Minute
	}
	code, msg, err := post(ctx, client, base+"/api/generate", map[string]any{"model": model, "keep_alive": -1,
		"options": map[string]any{"num_ctx": numCtx}}, timeout)
	if err != nil {
		return fmt.Errorf("load %s: %w", model, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("load %s with num_ctx %d: HTTP %d: %s", model, numCtx, code, msg)
	}
	return nil
}

// unloadModel asks Ollama to unload model now (keep_alive 0), emptying its prompt cache.
func unloadModel(ctx context.Context, client *http.Client, base, model string) error {
	code, msg, err := post(ctx, client, base+"/api/generate", map[string]any{"model": model, "keep_alive": 0}, time.Minute)
	if err != nil {
		return fmt.Errorf("unload %s: %w", model, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("unload %s: HTTP %d: %s", model, code, msg)
	}
	return nil
}

// slots says how many requests the server decodes at once, where its Spec says its API
// (at base) or its log tells; "" where the framework tells neither way.
func (s *Server) slots(ctx context.Context, base string) (int, string) {
	if s.Spec.SlotsInInfo != nil {
		pctx, cancel := s.opt.probeCtx(ctx)
		defer cancel()
		n, from, err := probe.Slots(pctx, s.http, s.Spec, base)
		if err != nil {
			return 0, "unknown: " + err.Error()
		}
		return n, from
	}
	if s.Spec.SlotsFlag != "" {
		if s.Process == nil {
			return 0, "unknown: an attached server's command line is not at hand"
		}
		return slotsOnCommand(s.Spec.SlotsFlag, s.Spec.RanksFlags, s.Info.Command)
	}
	switch {
	case s.Spec.SlotsInLog == nil:
		return 0, ""
	case s.Process == nil:
		return 0, "unknown: an attached server's log is not at hand, and no API reports the slots"
	}
	return slotsInLog(s.Spec.SlotsInLog, s.Info.LogPath)
}

// slotsOnCommand reads the slots from the value of flag on a command line, unless one of
// ranks asks for more than one scheduler (each would have that cap).
func slotsOnCommand(flag string, ranks, cmd []string) (int, string) {
	val, found := lastFlag(cmd, flag)
	if !found {
		return 0, "unknown: no " + flag + " on the command line"
	}
	n, err := strconv.Atoi(val)
	if err != nil || n <= 0 {
		return 0, fmt.Sprintf("unknown: %s %q on the command line is no count", flag, val)
	}
	if r, ok := lastFlag(cmd, ranks...); ok && r != "1" {
		return 0, fmt.Sprintf("unknown: %s %d is per data-parallel rank, and the command line asks for %s ranks", flag, n, r)
	}
	return n, fmt.Sprintf("command line: %s %d", flag, n)
}

// lastFlag returns the value the last of names has on cmd ("--name N" or "--name=N"; the
// last wins, as with argparse, which also reads a long name spelt with underscores).
func lastFlag(cmd []string, names ...string) (string, bool) {
	val, found := "", false
	for i, a := range cmd {
		key, v, eq := strings.Cut(a, "=")
		if strings.HasPrefix(key, "--") {
			key = strings.ReplaceAll(key, "_", "-")
		}
		if !slices.Contains(names, key) {
			continue
		}
		switch {
		case eq:
			val, found = v, true
		case i+1 < len(cmd):
			val, found = cmd[i+1], true
		}
	}
	return val, found
}

// slotsInLog reads the slots from the log at path: re's first group in its last match (a
// reload logs them again), and the words it matched.
func slotsInLog(re *regexp.Regexp, path string) (int, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Sprintf("unknown: %v", err)
	}
	all := re.FindAllSubmatch(b, -1)
	if len(all) == 0 {
		return 0, "unknown: no line of " + path + " names them"
	}
	last := all[len(all)-1]
	n, err := strconv.Atoi(string(last[1]))
	if err != nil {
		return 0, fmt.Sprintf("unknown: %q in the server log is no number", last[0])
	}
	return n, fmt.Sprintf("server log: %q", last[0])
}
