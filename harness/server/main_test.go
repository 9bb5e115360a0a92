package server

import (
	"os"
	"testing"

	"github.com/servegate/servegate/internal/cpulock"
)

// The lifecycle tests start and stop server processes: not beside the timing tests, which measure
// against the simulator on the same two cores.
func TestMain(m *testing.M) { os.Exit(cpulock.Run(m.Run)) }
