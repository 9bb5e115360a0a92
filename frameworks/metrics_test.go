package frameworks_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/sglang"
	"github.com/servegate/servegate/frameworks/sim"
	"github.com/servegate/servegate/frameworks/vllm"
)

// exposedFamilies reads a Prometheus text exposition and returns the metric families it
// declares (its # TYPE lines, kept even where no sample follows), after checking that the
// whole of it parses.
func exposedFamilies(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	_, err = parser.TextToMetricFamilies(bytes.NewReader(b))
	require.NoError(t, err, "not valid Prometheus text exposition")
	fams := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if fields := strings.Fields(line); len(fields) == 4 && fields[0] == "#" && fields[1] == "TYPE" {
			fams[fields[2]] = fields[3]
		}
	}
	return fams
}

// fixture reads one of testdata's expositions.
func fixture(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	return exposedFamilies(t, f)
}

// Every metric name a Spec reads must be one its framework exposes: the first candidate in
// the newest exposition servegate keeps, every fallback in some exposition. The fixtures
// were rebuilt from the frameworks' own sources (testdata/README.md).
func TestSpecMetricNamesAreInTheFrameworksExposition(t *testing.T) {
	tests := []struct {
		spec frameworks.Spec
		// fixtures, newest first
		fixtures []string
	}{
		{vllm.Spec, []string{"vllm_metrics.prom", "vllm-0.10_metrics.prom"}},
		{sglang.Spec, []string{"sglang_metrics.prom"}},
	}
	for _, tc := range tests {
		t.Run(tc.spec.Name, func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join("testdata", "README.md"))
			require.NoError(t, err)
			var all []map[string]string
			for _, f := range tc.fixtures {
				assert.Contains(t, string(readme), "`"+f+"`", "testdata/README.md says where %s comes from", f)
				all = append(all, fixture(t, f))
			}
			kinds := map[string]string{"PromptTokens": "counter", "GenerationTokens": "counter", "PrefixQueries": "counter",
				"PrefixHits": "counter", "Preemptions": "counter", "TTFT": "histogram", "KVCacheUsage": "gauge",
				"Running": "gauge", "Waiting": "gauge", "PrefixHitRate": "gauge"}
			tc.spec.Metrics.Each(func(figure string, names []string) {
				assert.Contains(t, all[0], names[0], "%s: %s is not in %s", figure, names[0], tc.fixtures[0])
				for _, n := range names {
					found := false
					for _, fams := range all {
						if kind, ok := fams[n]; ok {
							found = true
							assert.Equal(t, kinds[figure], kind, "%s: %s is read as a %s", figure, n, kinds[figure])
						}
					}
					assert.True(t, found, "%s: %s is in none of %v", figure, n, tc.fixtures)
				}
			})
		})
	}
}

// When it mimics a framework the simulator exposes only metric families that framework
// exposes, with the same types, and every family the framework's Spec reads that the
// simulator can produce: it never preempts, so it has no preemption counter to show.
func TestMimickedMetricsAreTheFrameworks(t *testing.T) {
	for _, tc := range []struct {
		spec    frameworks.Spec
		fixture string
	}{
		{vllm.Spec, "vllm_metrics.prom"},
		{sglang.Spec, "sglang_metrics.prom"},
	} {
		t.Run(tc.spec.Name, func(t *testing.T) {
			real := fixture(t, tc.fixture)
			s, err := sim.Start(sim.Config{Profile: sim.Profiles()["batching"], Mimic: tc.spec.Name})
			require.NoError(t, err)
			defer s.Close()
			// The same prompt twice: the second hits the prefix cache.
			for range 2 {
				resp, err := http.Post(s.URL+"/v1/chat/completions", "application/json", strings.NewReader(
					`{"model":"sim-model","max_tokens":4,"messages":[{"role":"user","content":"`+strings.Repeat("cached words ", 100)+`"}]}`))
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
			resp, err := http.Get(s.URL + "/metrics")
			require.NoError(t, err)
			defer resp.Body.Close()
			mimic := exposedFamilies(t, resp.Body)
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
