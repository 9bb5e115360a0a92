package main

import (
	"os"
	"testing"

	"github.com/servegate/servegate/internal/simproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPresetIsServedUnderItsHuggingFaceIDToo(t *testing.T) {
	assert.Equal(t, []string{"llama3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", "other"}, servedNames("llama3.1-8b,other"))
	assert.Equal(t, []string{"sim-model"}, servedNames("sim-model"))
}

// Whoever reads the ready line may stop the simulator at once: an interrupt from then on is
// a clean stop (exit 0), never the default action that kills the process. Before, the line
// came before the signal handler and a loaded machine saw "signal: interrupt" in CI.
func TestAnInterruptRightAfterTheReadyLineIsACleanStop(t *testing.T) {
	for i := range 30 {
		s := simproc.Start(t, simproc.Options{})
		require.NoError(t, s.Stop(), "stop %d", i)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	simproc.RemoveBinaries()
	os.Exit(code)
}
