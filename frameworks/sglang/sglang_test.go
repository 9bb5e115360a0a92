package sglang

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
