package benchmarks

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Dependencies point one way, and the harness knows no simulator: the simulator is a
// target like any other, built here (benchmarks/simtarget) and run by the harness's own
// tests as a process (internal/simproc). Nor does the reporter, which reads result files
// only, pull in run-time code.
func TestDependenciesPointOneWay(t *testing.T) {
	deps := func(pkgs ...string) []string {
		out, err := exec.Command("go", append([]string{"list", "-deps", "-test"}, pkgs...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.Fields(string(out))
	}
	const mod = "github.com/servegate/servegate/"
	for _, d := range deps(mod + "harness/...") {
		assert.False(t, strings.HasPrefix(d, mod+"frameworks/sim"), "harness depends on %s", d)
		assert.False(t, strings.HasPrefix(d, mod+"benchmarks"), "harness depends on %s", d)
	}
	for _, d := range deps(mod+"reporter/...", mod+"schema") {
		assert.False(t, strings.HasPrefix(d, mod+"harness/") || strings.HasPrefix(d, mod+"frameworks/"), "a reader of results depends on %s", d)
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", mod+"schema").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, []string{mod + "schema"}, strings.Fields(string(out)), "schema is the standard library's alone")
}
