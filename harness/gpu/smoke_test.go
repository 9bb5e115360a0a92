package gpu

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ci/gpu-smoke.sh says plainly that a machine has no NVIDIA driver, and fails (exit 2),
// rather than running tests that can only fail or skip.
func TestSmokeScriptFailsClearlyWithoutADriver(t *testing.T) {
	ld, _ := exec.Command("sh", "-c", "PATH=$PATH:/sbin:/usr/sbin ldconfig -p").Output()
	if bytes.Contains(ld, []byte("libnvidia-ml.so.1")) {
		t.Skip("this machine has an NVIDIA driver: run ci/gpu-smoke.sh for real")
	}
	out, err := exec.Command("bash", filepath.Join("..", "..", "ci", "gpu-smoke.sh"),
		filepath.Join(t.TempDir(), "gpu.test"), t.TempDir()).CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the script fails: %v\n%s", err, out)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, string(out), "gpu-smoke: FAIL: no NVIDIA driver on this machine")
}
