#!/usr/bin/env bash
# A real Ollama on CPU: builds Ollama 0.6.5 from the Go module proxy (cached between local
# runs; CI starts clean), writes servegate's tiny random llama model and creates it in a
# private model store, then runs the ollama-tagged suite at quick scale against it: the
# suite launches `ollama serve`, waits for health, measures, stops it and checks the port
# is free. Then the concurrent scenario under OLLAMA_NUM_PARALLEL=1 and =4.
# Usage: ci/ollama-cpu.sh [OUT [PARALLEL_OUT]]
#   OUT gets OUT/ollama/ollama_tiny_results.json and the server log (default results);
#   PARALLEL_OUT the two NUM_PARALLEL runs (default results-ollama-parallel).
#   env: SERVEGATE_OLLAMA_CACHE (where the built binary is kept), SERVEGATE_OLLAMA_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-results}")
par=$(realpath -m "${2:-results-ollama-parallel}")
version=0.6.5
cache=${SERVEGATE_OLLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/servegate/ollama-$version}
bin=$cache/bin/ollama
port=${SERVEGATE_OLLAMA_PORT:-21434}
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}"

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ! -x "$bin" ]; then
  # Headers Ollama's cgo build needs (newer tags do not build from the module proxy).
  dpkg -s nlohmann-json3-dev libstb-dev >/dev/null 2>&1 || need+=(nlohmann-json3-dev libstb-dev)
  command -v g++ >/dev/null 2>&1 || need+=(g++)
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
if [ ! -x "$bin" ]; then
  echo "ollama-cpu: building ollama $version (about 2-4 minutes on 2 cores)"
  GOBIN=$cache/bin go install -ldflags "-X github.com/ollama/ollama/version.Version=$version" \
    "github.com/ollama/ollama@v$version"
fi
"$bin" --version || true

work=$(mktemp -d /tmp/servegate-ollama.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export OLLAMA_MODELS=$work/models

# The model: written by servegate, created through a short-lived server of our own.
go run ./cmd/servegate-tinymodel -out "$work/model"
OLLAMA_HOST=127.0.0.1:$port "$bin" serve >"$work/create-server.log" 2>&1 &
pid=$!
if ! curl -sf --retry 60 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$port/api/version" >/dev/null; then
  cat "$work/create-server.log"; exit 1
fi
OLLAMA_HOST=127.0.0.1:$port "$bin" create servegate-tiny -f "$work/model/Modelfile"
kill "$pid"; wait "$pid" || true; pid=

suite() { # OUT, then go test args
  local dir=$1; shift
  SERVEGATE_OLLAMA_COMMAND="$bin serve" SERVEGATE_OLLAMA_PORT=$port SERVEGATE_CACHE_DIR=$work/cache \
    go test -tags=ollama ./benchmarks -count=1 -timeout 30m -v "$@" \
    -args -scale=quick -preset=tiny -out="$dir"
}
# The whole suite and the context-window checks, with Ollama's default parallelism.
suite "$out" -run 'Test(Single|Concurrent|LongContext|PrefixCache|Korean|OllamaContextWindow)$'
# H1's question on one framework: one slot against four.
for np in 1 4; do
  OLLAMA_NUM_PARALLEL=$np suite "$par/np$np" -run 'TestConcurrent$'
done
SERVEGATE_OLLAMA_NP1=$par/np1/ollama/ollama_tiny_results.json \
SERVEGATE_OLLAMA_NP4=$par/np4/ollama/ollama_tiny_results.json \
  suite "$out" -run 'TestOllamaParallelism$'
echo "ollama-cpu: results in $out/ollama (server log beside them); NUM_PARALLEL runs in $par"
