package sim

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/sglang"
	"github.com/servegate/servegate/frameworks/vllm"
)

// typeLines returns the families a Prometheus text exposition declares, with their types.
func typeLines(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	fams := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			fams[f[2]] = f[3]
		}
	}
	require.NoError(t, sc.Err())
	return fams
}

// post sends a chat request and reads its whole answer.
func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// When it mimics a framework the simulator exposes only metric families that framework
// exposes, with the same types (the fixtures in frameworks/testdata were rebuilt from the
// frameworks' sources), and every family the framework's Spec reads that the simulator
// can produce: it never preempts, so it has no preemption counter to show.
func TestMimickedMetricsAreTheFrameworks(t *testing.T) {
	for _, tc := range []struct {
		spec    frameworks.Spec
		fixture string
	}{
		{vllm.Spec, "vllm_metrics.prom"},
		{sglang.Spec, "sglang_metrics.prom"},
	} {
		t.Run(tc.spec.Name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "testdata", tc.fixture))
			require.NoError(t, err)
			defer f.Close()
			real := typeLines(t, f)
			s, err := Start(Config{Profile: Profiles()["batching"], Mimic: tc.spec.Name})
			require.NoError(t, err)
			defer s.Close()
			// The same prompt twice: the second hits the prefix cache.
			for range 2 {
				post(t, s.URL, `{"model":"sim-model","max_tokens":4,"messages":[{"role":"user","content":"`+strings.Repeat("cached words ", 100)+`"}]}`)
			}
			resp, err := http.Get(s.URL + "/metrics")
			require.NoError(t, err)
			defer resp.Body.Close()
			mimic := typeLines(t, resp.Body)
			for name, kind := range mimic {
				if assert.Contains(t, real, name, "the simulator invents %s", name) {
					assert.Equal(t, real[name], kind, name)
				}
			}
			tc.spec.Metrics.Each(func(figure string, names []string) {
				if figure == "Preemptions" && tc.spec.Name == "sglang" {
					return
				}
				assert.Contains(t, mimic, names[0], "%s: the simulator lacks %s", figure, names[0])
			})
		})
	}
}
