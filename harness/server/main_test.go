package server

import (
	"os"
	"testing"

	"github.com/servegate/servegate/internal/cpulock"
)

// orphanEnv makes this test binary, run again by TestKilledTestBinaryLeavesNoServer (Linux),
// the victim: it launches a server and waits to be killed.
const orphanEnv = "SERVEGATE_ORPHAN_VICTIM"

// The lifecycle tests start and stop server processes: not beside the timing tests, which measure
// against the simulator on the same two cores.
// A victim of TestKilledTestBinaryLeavesNoServer runs while its parent holds the lock.
func TestMain(m *testing.M) {
	if os.Getenv(orphanEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(cpulock.Run(m.Run))
}
