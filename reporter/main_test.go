package reporter

import (
	"os"
	"testing"

	"github.com/servegate/servegate/internal/cpulock"
)

// Rendering every chart loads the CPU: not beside the timing tests, which measure
// against the simulator on the same two cores.
func TestMain(m *testing.M) { os.Exit(cpulock.Run(m.Run)) }
