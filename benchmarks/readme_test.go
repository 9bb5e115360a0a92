package benchmarks

import (
	"os"
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
