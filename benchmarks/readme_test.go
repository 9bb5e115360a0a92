package benchmarks

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeCommandsFitStartUp checks every go test command the documentation gives for a
// real framework: go test's default -timeout (10 minutes) is shorter than loading a model
// (the start-up timeout is 15 minutes), so such a command without a long -timeout dies in
// start-up with a goroutine dump.
func TestReadmeCommandsFitStartUp(t *testing.T) {
	framework := regexp.MustCompile(`-tags[= ]\S*\b(vllm|sglang|ollama)\b`)
	timeout := regexp.MustCompile(`-timeout[= ](\S+)`)
	seen := 0
	for _, path := range []string{"../README.md", "../ci/README.md", "../docs/METRICS.md"} {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "go test ") || !framework.MatchString(line) || strings.Contains(line, "fake") {
				continue
			}
			seen++
			// ./benchmarks/... takes in benchmarks/shards too, which defines none of the
			// suite's flags: go test fails there on the first -args flag.
			assert.False(t, strings.Contains(line, "./benchmarks/...") && strings.Contains(line, "-args"),
				"%s: %q passes the suite's flags to every package under benchmarks/", path, line)
			m := timeout.FindStringSubmatch(line)
			if !assert.NotNil(t, m, "%s: no -timeout in %q", path, line) {
				continue
			}
			d, err := time.ParseDuration(m[1])
			require.NoError(t, err, line)
			assert.GreaterOrEqual(t, d, time.Hour, "%s: %q leaves too little beyond 15 minutes of start-up", path, line)
		}
	}
	assert.NotZero(t, seen, "the README shows how to run a real framework")
}

// TestDocsStandAlone checks that README and docs/ name nothing a reader of the repository
// does not have (the internal product notes) and that every relative link in them resolves.
func TestDocsStandAlone(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	require.NoError(t, err)
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	for _, path := range append(docs, "../README.md") {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, internal := range []string{"SPEC.md", "ANCHORS.md", "seeds/"} {
			assert.NotContains(t, string(b), internal, "%s cites %s, which readers of the repository do not have", path, internal)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := filepath.Join(filepath.Dir(path), m[1])
			_, err := os.Stat(target)
			assert.NoError(t, err, "%s links to %s", path, m[1])
		}
	}
}
