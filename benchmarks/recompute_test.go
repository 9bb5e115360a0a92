//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"os"
	"testing"

	"github.com/servegate/servegate/harness/results"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// servegate-report -recompute rebuilds a result file from the records beside it, and what
// it rebuilds is the file the run wrote, byte for byte: the run's points were computed
// from those same records. Points with several trials (intervals), a closed loop and a
// point with the chat template measured are among them.
func TestRecomputeRebuildsTheResultFileIdentically(t *testing.T) {
	s := simSuite(t, true, nil)
	for _, pick := range []struct {
		scenario, point string
		trials          int
	}{{"concurrent", "c1", 3}, {"concurrent", "c8", 1}, {"korean", "ko", 2}} {
		sc, err := scenario.Lookup(pick.scenario, scenario.Quick)
		require.NoError(t, err)
		for _, p := range sc.Points {
			if p.Name == pick.point {
				t.Run(pick.scenario+"/"+p.Name, func(t *testing.T) { s.measure(t, sc, p, pick.trials) })
			}
		}
	}
	path := s.writer.Path()
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := results.Read(path)
	require.NoError(t, err)
	require.Len(t, f.Results, 3)
	assert.Contains(t, f.Results[0].TrialStats, "p50_ttft_ms", "three trials give intervals")

	changed, err := results.RecomputeDir(s.out)
	require.NoError(t, err)
	assert.Empty(t, changed, "recomputed from its records, the file is what the run wrote")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))

	// A file whose numbers were edited is rebuilt from its records.
	f.Results[1].Metrics["p50_ttft_ms"] = 12345
	require.NoError(t, results.WriteFile(path, f))
	changed, err = results.RecomputeDir(s.out)
	require.NoError(t, err)
	assert.Equal(t, []string{path}, changed)
	after, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
}
