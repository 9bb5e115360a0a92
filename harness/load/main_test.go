package load

import (
	"os"
	"testing"

	"github.com/servegate/servegate/internal/cpulock"
)

// TestOpenLoopHoldsRate times real sends; it must not share the cores with the suites.
func TestMain(m *testing.M) { os.Exit(cpulock.Run(m.Run)) }
