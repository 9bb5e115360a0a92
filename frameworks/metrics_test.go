package frameworks_test

import (
	"bufio"
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
	"github.com/servegate/servegate/frameworks/vllm"
)

// exposedFamilies reads a Prometheus text exposition and returns the metric families it
// declares (its # TYPE lines), after checking that the whole file parses.
func exposedFamilies(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	_, err = parser.TextToMetricFamilies(f)
	require.NoError(t, err, "%s is not valid Prometheus text exposition", path)
	_, err = f.Seek(0, 0)
	require.NoError(t, err)
	fams := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 4 && fields[0] == "#" && fields[1] == "TYPE" {
			fams[fields[2]] = fields[3]
		}
	}
	require.NoError(t, sc.Err())
	return fams
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
				all = append(all, exposedFamilies(t, filepath.Join("testdata", f)))
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
