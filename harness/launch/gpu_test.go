//go:build cgo

// go-nvml's mock, like NVML, needs cgo.

package launch

import (
	"os"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/servegate/servegate/harness/gpu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fourGPUs is a sampler over four mock GPUs with UUIDs GPU-a…, GPU-b…, GPU-c…, GPU-d….
func fourGPUs(t *testing.T) *gpu.Sampler {
	t.Helper()
	var devs []nvml.Device
	for _, uuid := range []string{"GPU-a0", "GPU-b1", "GPU-c2", "GPU-d3"} {
		devs = append(devs, &mock.Device{
			GetNameFunc:       func() (string, nvml.Return) { return "H100", nvml.SUCCESS },
			GetUUIDFunc:       func() (string, nvml.Return) { return uuid, nvml.SUCCESS },
			GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 80 << 30}, nvml.SUCCESS },
			GetMigModeFunc:    func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED },
		})
	}
	s, err := gpu.Open(&mock.Interface{
		InitFunc: func() nvml.Return { return nvml.SUCCESS }, ShutdownFunc: func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "570", nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) { return devs[i], nvml.SUCCESS },
	})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestGPUTelemetryFollowsTheServersDevices(t *testing.T) {
	tests := []struct {
		name      string
		set       Settings
		attached  bool
		env       []string // the launch environment
		inherited string   // this process's CUDA_VISIBLE_DEVICES ("" unset)
		want      string
		err       string
	}{
		{name: "gpus setting", set: Settings{GPUs: []string{"1", "GPU-d"}}, env: []string{"CUDA_VISIBLE_DEVICES=0"},
			want: "1,3 (the gpus setting)"},
		{name: "launch environment", env: []string{"OLLAMA_HOST=x", "CUDA_VISIBLE_DEVICES=GPU-c2,0"}, inherited: "1",
			want: "2,0 (CUDA_VISIBLE_DEVICES in its launch environment)"},
		{name: "inherited", inherited: "3,-1,2", want: "3 (CUDA_VISIBLE_DEVICES the server inherits)"},
		{name: "none", want: "every GPU (neither gpus nor CUDA_VISIBLE_DEVICES is set)"},
		{name: "attached", attached: true, inherited: "1", want: "every GPU (attached, and no gpus setting names the server's)"},
		{name: "attached with gpus", attached: true, set: Settings{GPUs: []string{"2"}}, want: "2 (the gpus setting)"},
		{name: "hidden", env: []string{"CUDA_VISIBLE_DEVICES="}, want: "no device (CUDA_VISIBLE_DEVICES in its launch environment)"},
		{name: "unknown", set: Settings{GPUs: []string{"GPU-ff"}}, err: `start vllm: sample its GPUs: GPU "GPU-ff" names no device; NVML sees 0 (GPU-a0), 1 (GPU-b1)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.inherited != "" {
				t.Setenv("CUDA_VISIBLE_DEVICES", tc.inherited)
			} else {
				t.Setenv("CUDA_VISIBLE_DEVICES", "")
				unsetenv(t, "CUDA_VISIBLE_DEVICES")
			}
			s := &Server{Spec: mustLookup(t, "vllm"), opt: Options{Settings: tc.set, GPU: fourGPUs(t)}}
			s.Info.Attached = tc.attached
			err := s.selectGPUs(tc.env)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Info.GPUs)
		})
	}
}

func TestGPUSettingFromTheEnvironment(t *testing.T) {
	s, err := FromEnv("vllm", func(k string) string {
		return map[string]string{"SERVEGATE_VLLM_GPUS": "0, GPU-b1"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "GPU-b1"}, s.GPUs)
	assert.Equal(t, []string{"0", "GPU-b1"}, Settings{}.Merge(s).GPUs)
}

// unsetenv removes k for the test (t.Setenv first, so it is restored afterwards).
func unsetenv(t *testing.T, k string) {
	t.Helper()
	require.NoError(t, os.Unsetenv(k))
}
