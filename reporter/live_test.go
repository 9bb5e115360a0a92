package reporter

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPageIsTheOfflineReportsIndex(t *testing.T) {
	out := t.TempDir()
	_, err := Write("testdata/results", out)
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(out, "index.html"))
	require.NoError(t, err)

	runs, problems := load(t)
	verdicts, vp := LoadVerdicts("testdata/results")
	var got bytes.Buffer
	require.NoError(t, Page(&got, runs, append(problems, vp...), verdicts, nil))
	assert.Equal(t, string(want), got.String(), "the dashboard shows what index.html holds")
}

func TestLoadFilesReadsOnlyTheFilesNamed(t *testing.T) {
	runs, problems := LoadFiles([]string{
		"testdata/results/sim-single-slot/sim-single-slot_gpt-oss-20b_results.json",
		"testdata/results/sim/broken_results.json",
	})
	require.Len(t, runs, 1)
	assert.Equal(t, "sim-single-slot", runs[0].Label)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].String(), "broken_results.json")
}

func TestTimeChartDrawsEverySeriesWithTwoValues(t *testing.T) {
	c := TimeChart("gpu_power", "Power draw", "W", 0, []Series{
		{Name: "gpu0", X: []float64{0, 2, 4}, Y: []float64{100, 250, 300}},
		{Name: "gpu1", X: []float64{0}, Y: []float64{90}},
	})
	require.False(t, c.Empty())
	assert.Len(t, c.series, 1, "one value makes no line")
	svg, err := c.SVG()
	require.NoError(t, err)
	assert.Contains(t, string(svg), "gpu0")
	assert.NotContains(t, string(svg), "gpu1")
	assert.True(t, TimeChart("x", "x", "x", 0, nil).Empty())
}
