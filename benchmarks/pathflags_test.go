//go:build !vllm && !sglang && !ollama && !openai

package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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

// -barrier, too: two shards given a root-relative barrier directory line up in it. They
// run in a stand-in repository (a go.mod and a benchmarks/ folder, in a temporary
// directory), so that a barrier taken from the wrong place is made there too, not beside
// the real repository.
func TestTheBarrierIsTakenFromTheRepositoryRoot(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("a child run of this test")
	}
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module standin\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(root, "benchmarks"), 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmds := make([]*exec.Cmd, 2)
	outs := make([]bytes.Buffer, 2)
	for i := range cmds {
		cmds[i] = exec.CommandContext(ctx, os.Args[0], "-test.count=1", "-test.run", "^TestSingle$/^sim$/^in128$",
			"-out", filepath.Join(root, "results"), "-scale", "quick", "-shard", fmt.Sprintf("%d/2", i), "-barrier", "barrier", "-run-id", "barrier-test")
		cmds[i].Dir = filepath.Join(root, "benchmarks")
		cmds[i].Env = append(os.Environ(), childEnv+"=1", "TMPDIR="+t.TempDir())
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		require.NoError(t, cmds[i].Start())
	}
	errs := make([]error, len(cmds))
	for i, c := range cmds {
		errs[i] = c.Wait() // both, before any assertion ends the test
	}
	for i, err := range errs {
		require.NoError(t, err, "shard %d:\n%s", i, &outs[i])
	}
	steps, err := os.ReadDir(filepath.Join(root, "barrier", "barrier-test"))
	require.NoError(t, err, "the shards lined up in the root's barrier/")
	assert.NotEmpty(t, steps)
	_, err = os.Stat(filepath.Join(root, "benchmarks", "barrier"))
	assert.True(t, os.IsNotExist(err), "nothing in benchmarks/barrier, where go test runs")
}
