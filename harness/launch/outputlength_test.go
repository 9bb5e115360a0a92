package launch

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/harness/stream"
)

// gptOSS is the gpt-oss preset under the fake's model name.
var gptOSS = models.Preset{Name: "gpt-oss-20b", HF: "org/tiny-model", Ollama: "tiny:1b", Reasoning: true, ChatFormat: "harmony"}

// gpt-oss on vLLM answers a chat completion with ignore_eos with a Harmony parser error
// whenever the model ends its turn early (the fake always does): its length is held on the
// completions endpoint instead, with the chat rendered by the server's template. On
// SGLang, which has no such route, it is left to the model. Each point records its method.
func TestGptOssHoldsItsOutputLengthWithoutTheHarmonyParser(t *testing.T) {
	sc := scenario.Scenario{Name: "long", ResultName: "long"}
	point := scenario.Point{Name: "in500", Concurrency: 2, InputTokens: 500, OutputTokens: 32, Requests: 4, Warmup: 1, Prompts: scenario.Plain}
	tests := []struct {
		framework string
		set       frameworks.OutputLength // the output_length setting, "" for the framework's choice
		// wants
		method  frameworks.OutputLength
		dialect stream.Dialect
		fails   string // the error every request of the point fails with, "" when they succeed
	}{
		{framework: "vllm", method: frameworks.CompletionsIgnoreEOS, dialect: stream.OpenAICompletions},
		{framework: "vllm", set: frameworks.IgnoreEOS, method: frameworks.IgnoreEOS, dialect: stream.OpenAI,
			fails: "Unexpected token 200002 while expecting start token 200006"},
		{framework: "sglang", method: frameworks.Natural, dialect: stream.OpenAI},
	}
	for _, tc := range tests {
		t.Run(tc.framework+"/"+string(tc.method), func(t *testing.T) {
			opt := fakeOptions(t, tc.framework, "-harmony")
			opt.Preset, opt.Settings.OutputLength = gptOSS, tc.set
			srv, err := Start(context.Background(), mustLookup(t, tc.framework), opt)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
			assert.Equal(t, tc.method, srv.Info.OutputLength)
			assert.Equal(t, tc.dialect, srv.Target.Dialect)

			r := &scenario.Runner{Target: srv.Target, Trials: 1, Nonce: "harmony-" + tc.framework, Logf: t.Logf}
			res, err := r.RunPoint(context.Background(), sc, point)
			require.NoError(t, err)
			if tc.fails != "" {
				// The point is measured and every request in it failed with the server's error.
				assert.Equal(t, 0.0, res.Metrics["success_rate"])
				assert.Equal(t, map[string]int{string(stream.ErrorEvent): point.Requests}, res.ErrorClasses)
				for msg := range res.Errors {
					assert.Contains(t, msg, tc.fails)
				}
				return
			}
			assert.Equal(t, 100.0, res.Metrics["success_rate"])
			assert.Equal(t, string(tc.method), res.OutputLengthMethod)
			assert.Equal(t, tc.method.Forced(), res.OutputLengthForced)
			assert.False(t, res.OutputLengthVaried, "the simulator's model never stops early")
			assert.Empty(t, res.Warnings)
			for _, s := range res.Requests {
				assert.Equal(t, 500, s.InputTokens, "the rendered prompt is exactly the target")
				assert.Equal(t, 32, s.OutputTokens)
			}
		})
	}
}

func TestOutputLengthSettingIsValidated(t *testing.T) {
	_, err := FromEnv("vllm", func(k string) string {
		return map[string]string{"SERVEGATE_VLLM_OUTPUT_LENGTH": "exact"}[k]
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `output_length "exact": choose one of [ignore_eos completions_ignore_eos natural]`)
	set, err := FromEnv("vllm", func(k string) string {
		return map[string]string{"SERVEGATE_VLLM_OUTPUT_LENGTH": "natural"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, frameworks.Natural, set.OutputLength)
}
