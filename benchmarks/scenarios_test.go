package benchmarks

import "testing"

// One test per scenario; each framework is a subtest and each point one of it (go test
// -run 'Concurrent/vllm/c64'; 'Concurrent//c64' for any framework).

func TestSingle(t *testing.T)      { runScenario(t, "single") }
func TestConcurrent(t *testing.T)  { runScenario(t, "concurrent") }
func TestLongContext(t *testing.T) { runScenario(t, "long_context") }
func TestPrefixCache(t *testing.T) { runScenario(t, "prefix_cache") }
func TestKorean(t *testing.T)      { runScenario(t, "korean") }
