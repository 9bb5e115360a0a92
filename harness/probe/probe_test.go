package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/servegate/servegate/frameworks"
	"github.com/servegate/servegate/frameworks/models"
	"github.com/servegate/servegate/frameworks/ollama"
	"github.com/servegate/servegate/frameworks/sglang"
	"github.com/servegate/servegate/frameworks/vllm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Responses shaped as each framework answers (written for these tests).
var answers = map[string]map[string]string{
	"vllm": {
		"/v1/models": `{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","owned_by":"vllm","max_model_len":131072}]}`,
		"/version":   `{"version":"0.15.1"}`,
	},
	"sglang": {
		"/v1/models":       `{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","owned_by":"sglang","root":"openai/gpt-oss-20b"}]}`,
		"/get_server_info": `{"model_path":"openai/gpt-oss-20b","tp_size":1,"version":"0.5.8.post1"}`,
	},
	"ollama": {
		"/api/tags":    `{"models":[{"name":"gpt-oss:20b","model":"gpt-oss:20b","size":13780173734,"details":{"family":"gptoss","parameter_size":"20.9B","quantization_level":"MXFP4"}},{"name":"llama3.1:latest","model":"llama3.1:latest"}]}`,
		"/api/version": `{"version":"0.16.2"}`,
	},
}

func serve(t *testing.T, fw string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body, ok := answers[fw][r.URL.Path]; ok {
			io.WriteString(w, body)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestEachFrameworkServesItsPreset(t *testing.T) {
	preset, err := models.Lookup("gpt-oss-20b")
	require.NoError(t, err)
	want := map[string]string{"vllm": "0.15.1", "sglang": "0.5.8.post1", "ollama": "0.16.2"}
	for fw, version := range want {
		t.Run(fw, func(t *testing.T) {
			spec := specs[fw]
			url := serve(t, fw)
			require.NoError(t, CheckModel(context.Background(), http.DefaultClient, spec, url, spec.Model(preset)))
			v, err := Version(context.Background(), http.DefaultClient, spec, url)
			require.NoError(t, err)
			assert.Equal(t, version, v)
		})
	}
}

func TestMissingModelSaysHowToGetIt(t *testing.T) {
	tests := []struct{ fw, model, hint string }{
		{"ollama", "llama3.1:8b", "ollama pull llama3.1:8b"},
		{"vllm", "meta-llama/Llama-3.1-8B-Instruct", "vllm serve"},
	}
	for _, tc := range tests {
		spec := specs[tc.fw]
		err := CheckModel(context.Background(), http.DefaultClient, spec, serve(t, tc.fw), tc.model)
		require.ErrorIs(t, err, ErrModelNotServed)
		assert.Contains(t, err.Error(), tc.hint)
	}
	assert.NoError(t, CheckModel(context.Background(), http.DefaultClient, ollama.Spec, serve(t, "ollama"), "llama3.1"), "an untagged name means :latest")
}

func TestUnreachableServerIsNamed(t *testing.T) {
	err := CheckModel(context.Background(), http.DefaultClient, sglang.Spec, "http://127.0.0.1:1", "m")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is the server running")
}

func TestLaunchDefaultsFollowTheOriginalGuide(t *testing.T) {
	assert.Equal(t, []string{"vllm", "serve", "openai/gpt-oss-20b", "--host", "127.0.0.1", "--port", "8000", "--tensor-parallel-size", "1",
		"--gpu-memory-utilization", "0.85", "--enable-prefix-caching"}, vllm.Spec.Launch("openai/gpt-oss-20b", "127.0.0.1", 8000))
	assert.Equal(t, []string{"OLLAMA_HOST=127.0.0.1:11434", "OLLAMA_KEEP_ALIVE=-1"}, ollama.Spec.LaunchEnv("127.0.0.1", 11434))
}

var specs = map[string]frameworks.Spec{"vllm": vllm.Spec, "sglang": sglang.Spec, "ollama": ollama.Spec}

// The loaded context comes from /api/ps as real Ollama answers it (recorded, see
// harness/launch/testdata/README.md): 0.17.4 reports its default window, 0.6.5 nothing.
func TestLoadedContextFromRecordedOllama(t *testing.T) {
	for version, want := range map[string]int{"0.17.4": 4096, "0.6.5": 0} {
		t.Run(version, func(t *testing.T) {
			ps, err := os.ReadFile(filepath.Join("..", "launch", "testdata", "ollama", version, "api_ps.json"))
			require.NoError(t, err)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/ps" {
					http.NotFound(w, r)
					return
				}
				w.Write(ps)
			}))
			t.Cleanup(srv.Close)
			n, err := LoadedContext(context.Background(), http.DefaultClient, ollama.Spec, srv.URL, "servegate-tiny")
			require.NoError(t, err)
			assert.Equal(t, want, n)
			n, err = LoadedContext(context.Background(), http.DefaultClient, ollama.Spec, srv.URL, "llama3.1:8b")
			require.NoError(t, err)
			assert.Zero(t, n, "a model not loaded has no window yet")
		})
	}
	n, err := LoadedContext(context.Background(), http.DefaultClient, vllm.Spec, "http://127.0.0.1:1", "m")
	require.NoError(t, err)
	assert.Zero(t, n, "no list, no request")
}
