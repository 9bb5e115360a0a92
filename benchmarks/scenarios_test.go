package benchmarks

import "testing"

// One test per scenario; each point is a subtest (go test -run 'Concurrent/c64').

func TestSingle(t *testing.T)      { runScenario(t, "single") }
func TestConcurrent(t *testing.T)  { runScenario(t, "concurrent") }
func TestLongContext(t *testing.T) { runScenario(t, "long_context") }
func TestPrefixCache(t *testing.T) { runScenario(t, "prefix_cache") }
func TestKorean(t *testing.T)      { runScenario(t, "korean") }
