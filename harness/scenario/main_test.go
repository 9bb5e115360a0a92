package scenario

import (
	"os"
	"testing"

	"github.com/servegate/servegate/internal/cpulock"
)

// The fidelity and load checks here must not share the cores with the scenario suite.
func TestMain(m *testing.M) { os.Exit(cpulock.Run(m.Run)) }
