package secret

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestName(t *testing.T) {
	for name, want := range map[string]bool{
		"HF_TOKEN": true, "HUGGING_FACE_HUB_TOKEN": true, "OPENAI_API_KEY": true, "api_key": true, "--api-key": true,
		"--token": true, "AWS_SECRET_ACCESS_KEY": true, "PGPASSWORD": true, "DB_PASSWD": true, "MYSQL_PWD": true,
		"REGISTRY_AUTH": true, "GOOGLE_APPLICATION_CREDENTIALS": true, "passphrase": true, "Authorization": true,
		"HFTOKEN": true, "apikey": true,
		"CUDA_VISIBLE_DEVICES": false, "--max-num-batched-tokens": false, "--tokenizer": false, "--tokenizer-mode": false,
		"--max-total-tokens": false, "OLLAMA_KEEP_ALIVE": false, "VLLM_SERVER_DEV_MODE": false, "PATH": false,
		"--ssl-keyfile": false, "DATABASE_URL": false, "PWD": false, "OLDPWD": false,
	} {
		assert.Equal(t, want, Name(name), name)
	}
}

func TestArgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"vllm", "serve", "m", "--api-key", "sk-live-1234"}, []string{"vllm", "serve", "m", "--api-key", "***"}},
		{[]string{"vllm", "serve", "--api-key=sk-live-1234", "--port", "8000"}, []string{"vllm", "serve", "--api-key=***", "--port", "8000"}},
		{[]string{"server", "--token", "abc", "--hf-token=xyz"}, []string{"server", "--token", "***", "--hf-token=***"}},
		{[]string{"docker", "run", "-e", "HF_TOKEN=hf_abc", "-e", "CUDA_VISIBLE_DEVICES=0"}, []string{"docker", "run", "-e", "HF_TOKEN=***", "-e", "CUDA_VISIBLE_DEVICES=0"}},
		{[]string{"--max-num-batched-tokens", "8192", "--tokenizer", "org/tok"}, []string{"--max-num-batched-tokens", "8192", "--tokenizer", "org/tok"}},
		{[]string{"--db", "postgres://bench:hunter2@db:5432/x"}, []string{"--db", "postgres://bench:***@db:5432/x"}},
		{[]string{"sh", "-c", "vllm serve m --api-key sk-live-1234 --port 8000"}, []string{"sh", "-c", "vllm serve m --api-key *** --port 8000"}},
		{[]string{"sh", "-c", "export HF_TOKEN=hf_abc; vllm serve m"}, []string{"sh", "-c", "export HF_TOKEN=***; vllm serve m"}},
		// A credential flag as the last argument has nothing to mask.
		{[]string{"serve", "--api-key"}, []string{"serve", "--api-key"}},
	} {
		assert.Equal(t, tc.want, Args(tc.in), strings.Join(tc.in, " "))
	}
}

func TestEnv(t *testing.T) {
	in := []string{"HF_TOKEN=hf_abc", "VLLM_API_KEY=k", "MY_PASSWD=p", "REGISTRY_AUTH=a", "GCP_CREDENTIALS=c",
		"DATABASE_URL=postgres://u:hunter2@db/x", "CUDA_VISIBLE_DEVICES=0,1", "PATH=/opt/venv/bin:/usr/bin"}
	want := []string{"HF_TOKEN=***", "VLLM_API_KEY=***", "MY_PASSWD=***", "REGISTRY_AUTH=***", "GCP_CREDENTIALS=***",
		"DATABASE_URL=postgres://u:***@db/x", "CUDA_VISIBLE_DEVICES=0,1", "PATH=/opt/venv/bin:/usr/bin"}
	assert.Equal(t, want, Env(in))
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:pass@10.0.0.1:8000":       "http://user:***@10.0.0.1:8000",
		"https://tok3n@example.com/v1":         "https://***@example.com/v1",
		"http://127.0.0.1:8000/v1":             "http://127.0.0.1:8000/v1",
		"GET http://a:b@h/v1/models: refused":  "GET http://a:***@h/v1/models: refused",
		"mailto-like text user@example.com ok": "mailto-like text user@example.com ok",
	} {
		assert.Equal(t, want, URL(in), in)
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// vLLM logs its arguments at start-up; a log tail quotes them.
		{"INFO non-default args: {'model': 'm', 'api_key': 'sk-live-1234', 'port': 8000}",
			"INFO non-default args: {'model': 'm', 'api_key': '***', 'port': 8000}"},
		{"args: Namespace(host='127.0.0.1', api_key=['sk-live-1234'], token=None)", "args: Namespace(host='127.0.0.1', api_key=[***], token=***)"},
		{`{"HF_TOKEN": "hf_abc", "model": "m"}`, `{"HF_TOKEN": "***", "model": "m"}`},
		{"curl -H 'Authorization: Bearer sk-live-1234' http://h", "curl -H 'Authorization: Bearer ***' http://h"},
		{"request headers: Authorization: Basic dXNlcjpwYXNz", "request headers: Authorization: Basic ***"},
		{"sent with bearer sk-live-123456789", "sent with bearer ***"},
		{"launching vllm serve m --api-key=sk-1 --port 8000", "launching vllm serve m --api-key=*** --port 8000"},
		{"GET http://user:pass@h:8000/health: connection refused", "GET http://user:***@h:8000/health: connection refused"},
		{"callback?token=abc123&x=1", "callback?token=***&x=1"},
		// Prose and figures stay as they are.
		{"usage says 10 tokens while 32 arrived; max_num_batched_tokens=8192", "usage says 10 tokens while 32 arrived; max_num_batched_tokens=8192"},
		{"the api key was rejected: HTTP 401", "the api key was rejected: HTTP 401"},
		{"first token after 12 ms", "first token after 12 ms"},
	} {
		assert.Equal(t, tc.want, Text(tc.in), tc.in)
	}
}

func TestValue(t *testing.T) {
	in := map[string]any{
		"launch": map[string]any{
			"command":           []any{"vllm", "serve", "--api-key", "sk-1"},
			"env":               []any{"HF_TOKEN=hf_abc", "CUDA_VISIBLE_DEVICES=0"},
			"url":               "http://u:hunter2@h:8000",
			"api_key":           "sk-2",
			"port":              8000.0,
			"token_calibration": map[string]any{"slope": 1.0, "method": "tokenize"},
		},
		"mixed": []any{1.0, "password=x"},
	}
	want := map[string]any{
		"launch": map[string]any{
			"command":           []any{"vllm", "serve", "--api-key", "***"},
			"env":               []any{"HF_TOKEN=***", "CUDA_VISIBLE_DEVICES=0"},
			"url":               "http://u:***@h:8000",
			"api_key":           "***",
			"port":              8000.0,
			"token_calibration": map[string]any{"slope": 1.0, "method": "tokenize"},
		},
		"mixed": []any{1.0, "password=***"},
	}
	assert.Equal(t, want, Value(in))
}
