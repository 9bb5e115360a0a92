#!/usr/bin/env bash
# Records real Ollama answers as test fixtures: for each version (default 0.6.5 0.17.4) it
# builds Ollama (ci/ollama-lib.sh), creates servegate's tiny models on CPU and writes into
# harness/launch/testdata/ollama/VERSION/ what the server answered, byte for byte:
#   api_chat.ndjson, v1_chat.sse            a streamed chat, native and OpenAI-compatible
#   api_chat_think.ndjson, v1_chat_think.sse the same with the thinking model (0.9 and later)
#   api_chat_long.ndjson                    an over-long prompt without num_ctx (truncated)
#   api_ps.json                             /api/ps after a load with the server's defaults
#   api_version.json, server_load.log       its version; the log lines that name its slots
# Usage: ci/record-ollama.sh [VERSION...]   env: SERVEGATE_OLLAMA_PORT (default 21434)
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ollama-lib.sh
port=${SERVEGATE_OLLAMA_PORT:-21434}
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(0.6.5 0.17.4)

work=$(mktemp -d /tmp/servegate-record.XXXXXX)
trap 'ollama_stop; rm -rf "$work"' EXIT
base=http://127.0.0.1:$port
# The suite's request shape (harness/stream): a system prompt, a question, greedy decoding.
messages='[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the capital of France?"}]'
long=$(printf 'the quick brown fox %.0s' $(seq 1500)) # about 6,000 tokens of servegate-tiny

chat() { # FILE MODEL: POST /api/chat
  curl -sfN "$base/api/chat" -o "$1" -d '{"model":"'"$2"'","messages":'"$messages"',"stream":true,"keep_alive":-1,"options":{"num_predict":32,"num_ctx":4096,"temperature":0}}'
}
v1() { # FILE MODEL: POST /v1/chat/completions
  curl -sfN "$base/v1/chat/completions" -o "$1" -d '{"model":"'"$2"'","messages":'"$messages"',"stream":true,"max_tokens":32,"temperature":0,"stream_options":{"include_usage":true}}'
}

for version in "${versions[@]}"; do
  bin=$(ollama_build "$version")
  out=harness/launch/testdata/ollama/$version
  mkdir -p "$out"
  export OLLAMA_MODELS=$work/$version/models
  ollama_models "$bin" "$port" "$work/$version/model"
  ollama_serve "$bin" "$port" "$work/$version/server.log"
  curl -sf "$base/api/version" -o "$out/api_version.json"
  # The server's own defaults: a load with no options, then what it reports loaded.
  curl -sf "$base/api/generate" -d '{"model":"servegate-tiny"}' >/dev/null
  curl -sf "$base/api/ps" -o "$out/api_ps.json"
  curl -sfN "$base/api/chat" -o "$out/api_chat_long.ndjson" \
    -d '{"model":"servegate-tiny","messages":[{"role":"user","content":"'"$long"'"}],"stream":true,"options":{"num_predict":4,"temperature":0}}'
  chat "$out/api_chat.ndjson" servegate-tiny
  v1 "$out/v1_chat.sse" servegate-tiny
  if curl -sf "$base/api/show" -d '{"model":"servegate-tiny-think"}' >/dev/null; then
    chat "$out/api_chat_think.ndjson" servegate-tiny-think
    v1 "$out/v1_chat_think.sse" servegate-tiny-think
  fi
  ollama_stop
  grep -E 'starting llama server|msg=load ' "$work/$version/server.log" | sed "s#$work#/tmp/servegate-record#g" >"$out/server_load.log"
  echo "record-ollama: $version -> $out"
done
