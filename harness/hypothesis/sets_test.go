package hypothesis

import (
	"path/filepath"
	"testing"

	"github.com/servegate/servegate/harness/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeRun writes a result file of framework and preset under dir with points of H-like
// shape: s/a and s/b of metric m.
func writeRun(t *testing.T, dir, framework, preset, scale string, a, b float64) string {
	t.Helper()
	path := results.Path(dir, framework, preset)
	f := results.File{Framework: framework, ModelPreset: preset, Settings: &results.Settings{Scale: scale, Preset: preset},
		Results: []results.Point{point("s", "a", "m", a, a*1.01, a*0.99), point("s", "b", "m", b, b*1.01, b*0.99)}}
	require.NoError(t, results.WriteFile(path, &f))
	return path
}

func TestSetsGroupFilesByPresetAndDecideAsTheSuiteDoes(t *testing.T) {
	dir := t.TempDir()
	vllmA := writeRun(t, dir, "vllm", "a", "full", 10, 2)
	sglA := writeRun(t, dir, "sglang", "a", "full", 3, 2)
	writeRun(t, dir, "vllm", "b", "full", 10, 2)
	require.NoError(t, results.WriteFile(filepath.Join(dir, "summary", "x_results.json"), &results.File{}))

	sets, err := LoadSets(dir)
	require.NoError(t, err)
	require.Len(t, sets, 2, "one set per preset; summary/ is the report's copy")
	a := sets[0]
	assert.Equal(t, "a", a.Preset)
	assert.Equal(t, []string{"sglang", "vllm"}, a.Frameworks())

	single := Hypothesis{ID: "S", MinTrials: 3, Frameworks: []string{"vllm", "sglang"}, Checks: []Check{{Num: Ref{"s", "a", "m"}, Den: &Ref{"s", "b", "m"}, Op: ">=", Threshold: 4}}}
	vs := a.Decide(single)
	require.Len(t, vs, 2, "a single-framework claim for each framework it is about")
	assert.Equal(t, "sglang", vs[0].Framework)
	assert.Equal(t, Fail, vs[0].Verdict)
	assert.Equal(t, []string{sglA}, vs[0].Sources)
	assert.Equal(t, "full", vs[0].Scale)
	assert.Equal(t, "vllm", vs[1].Framework)
	assert.Equal(t, Pass, vs[1].Verdict)
	assert.Equal(t, []string{vllmA}, vs[1].Sources)
	assert.Equal(t, "a", vs[1].Preset)

	cross := Hypothesis{ID: "X", MinTrials: 3, CrossFramework: true, Checks: []Check{{Num: Ref{"s", "a", "m"}, NumFrom: "fw:vllm", Den: &Ref{"s", "a", "m"}, DenFrom: "fw:sglang", Op: ">=", Threshold: 2}}}
	vs = a.Decide(cross)
	require.Len(t, vs, 1)
	assert.Equal(t, Pass, vs[0].Verdict)

	other := Hypothesis{ID: "O", Frameworks: []string{"ollama"}, Checks: single.Checks}
	vs = a.Decide(other)
	require.Len(t, vs, 1)
	assert.True(t, vs[0].Missing)
	assert.Contains(t, vs[0].Details, "among sglang, vllm")

	// A quick run is never compared with a full one: it is a set of its own.
	writeRun(t, dir, "ollama", "a", "quick", 3, 2)
	sets, err = LoadSets(dir)
	require.NoError(t, err)
	require.Len(t, sets, 3)
	assert.Equal(t, []string{"sglang", "vllm"}, sets[0].Frameworks())
	assert.Equal(t, []string{"ollama"}, sets[1].Frameworks())
	assert.Equal(t, "quick", sets[1].Scale["ollama"])

	writeRun(t, dir, "vllm-copy", "a", "full", 1, 1)
	require.NoError(t, results.WriteFile(results.Path(dir, "vllm-copy", "a"), &results.File{Framework: "vllm", ModelPreset: "a",
		Settings: &results.Settings{Scale: "full", Preset: "a", TargetVersion: "0.11"}}))
	_, err = LoadSets(dir)
	assert.ErrorContains(t, err, `both hold vllm results for preset a at scale "full"`)
	_, err = LoadSets(t.TempDir())
	assert.ErrorContains(t, err, "no result files under")
}
