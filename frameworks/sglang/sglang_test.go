package sglang

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLaunchAsksForTheReasoningParserOfGPTOSS(t *testing.T) {
	for _, tc := range []struct {
		model string
		want  bool
	}{
		{"openai/gpt-oss-20b", true},
		{"openai/gpt-oss-120b", true},
		{"meta-llama/Llama-3.1-8B-Instruct", false},
	} {
		cmd := Spec.Launch(tc.model, "127.0.0.1", 30000)
		assert.Equal(t, tc.want, hasPair(cmd, "--reasoning-parser", "gpt-oss"), "%s: %v", tc.model, cmd)
		assert.True(t, hasPair(cmd, "--model-path", tc.model))
	}
}

func hasPair(cmd []string, flag, value string) bool {
	for i := 0; i+1 < len(cmd); i++ {
		if cmd[i] == flag && cmd[i+1] == value {
			return true
		}
	}
	return false
}

// The most requests SGLang runs at once, read from /get_server_info as SGLang's own
// documentation shows it (fixture) and in the forms a version or a configuration may take.
func TestSlotsInServerInfo(t *testing.T) {
	fixture, err := os.ReadFile("../testdata/sglang_server_info.json")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, body string
		want       int
		from       string
	}{
		{"the documented response", string(fixture), 128, "get_server_info: internal_states effective_max_running_requests_per_dp"},
		{"two data-parallel ranks", `{"max_running_requests": 64, "internal_states": [{"effective_max_running_requests_per_dp": 64}, {"effective_max_running_requests_per_dp": 64}]}`,
			128, "get_server_info: effective_max_running_requests_per_dp of its 2 data-parallel ranks, summed"},
		{"no effective limit: the scheduler's argument", `{"internal_states": [{"max_running_requests": 48}]}`, 48, "get_server_info: internal_states max_running_requests"},
		{"one scheduler that does not say: the server argument", `{"max_running_requests": 32, "internal_states": [{"last_gen_throughput": 1}]}`,
			32, "get_server_info: max_running_requests"},
		{"a rank of two that does not say: unknown", `{"max_running_requests": 32, "internal_states": [{"effective_max_running_requests_per_dp": 16}, {"last_gen_throughput": 1}]}`,
			0, ""},
		{"unset and no internal state says", `{"max_running_requests": null, "internal_states": [{"waiting_queue_size": 0}]}`, 0, ""},
		{"not JSON", `<html>`, 0, ""},
	} {
		n, from := Spec.SlotsInInfo([]byte(tc.body))
		assert.Equal(t, tc.want, n, tc.name)
		assert.Equal(t, tc.from, from, tc.name)
	}
}
