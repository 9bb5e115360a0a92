//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -slo, like every path flag, names a file from the repository root wherever go test runs
// the suite (in benchmarks/): given a path relative to the root, which from benchmarks/
// names nothing, the run judges its points on that file's SLO.
func TestTheSLOFileIsTakenFromTheRepositoryRoot(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("a child run of this test")
	}
	file := filepath.Join(t.TempDir(), "slo.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"ttft": {"percentile": 90, "max_ms": 123}}`), 0o644))
	rel, err := filepath.Rel(moduleRoot(), file)
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(wd, rel))
	require.True(t, os.IsNotExist(err), "%s names nothing from %s: the test tells the two apart", rel, wd)

	out, code, f := runSuiteChild(t, nil, "-test.run", "^TestSingle$/^sim$/^in128$", "-slo", rel)
	require.Zero(t, code, "output:\n%s", out)
	p := point(f, "in128")
	require.NotNil(t, p, "output:\n%s", out)
	require.NotNil(t, p.SLO)
	require.NotNil(t, p.SLO.TTFT)
	assert.Equal(t, 90.0, p.SLO.TTFT.Percentile)
	assert.Equal(t, 123.0, p.SLO.TTFT.MaxMs)
}
