#!/usr/bin/env bash
# A real Ollama on CPU, two versions: 0.6.5 and 0.17.4 (the newest tag the Go module proxy
# serves), each built from the proxy (ci/ollama-lib.sh; cached between local runs, CI starts
# clean). For each it writes servegate's tiny models (and the thinking one where the server
# can think) into a private model store, then runs the ollama-tagged suite at quick scale:
# the suite launches `ollama serve`, waits for health, measures, stops it and checks the
# port is free. Then the concurrent scenario under OLLAMA_NUM_PARALLEL=1 and =4, compared.
# Usage: ci/ollama-cpu.sh [OUT [PARALLEL_OUT]]
#   OUT gets OUT/ollama-VERSION/ollama/ollama_tiny_results.json and the server log (default
#   results); PARALLEL_OUT the NUM_PARALLEL runs, PARALLEL_OUT/ollama-VERSION/np{1,4}
#   (default results-ollama-parallel).
#   env: SERVEGATE_OLLAMA_VERSIONS (default "0.6.5 0.17.4"), SERVEGATE_OLLAMA_CACHE (where
#   built binaries are kept, default ~/.cache/servegate), SERVEGATE_OLLAMA_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/ollama-lib.sh
out=$(realpath -m "${1:-results}")
par=$(realpath -m "${2:-results-ollama-parallel}")
read -r -a versions <<<"${SERVEGATE_OLLAMA_VERSIONS:-0.6.5 0.17.4}"
port=${SERVEGATE_OLLAMA_PORT:-21434}
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}"
command -v curl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq curl; }

work=$(mktemp -d /tmp/servegate-ollama.XXXXXX)
trap 'ollama_stop; rm -rf "$work"' EXIT

suite() { # BIN OUT, then go test args
  local bin=$1 dir=$2; shift 2
  SERVEGATE_OLLAMA_COMMAND="$bin serve" SERVEGATE_OLLAMA_PORT=$port SERVEGATE_CACHE_DIR=$work/cache \
    go test -tags=ollama ./benchmarks -count=1 -timeout 30m -v "$@" \
    -args -scale=quick -preset=tiny -out="$dir"
}

for version in "${versions[@]}"; do
  start=$SECONDS
  bin=$(ollama_build "$version")
  "$bin" --version || true
  export OLLAMA_MODELS=$work/$version/models
  ollama_models "$bin" "$port" "$work/$version/model"
  # The whole suite, the capacity search and the Ollama checks, with this version's default
  # parallelism.
  suite "$bin" "$out/ollama-$version" \
    -run 'Test(Single|Concurrent|LongContext|PrefixCache|Korean|Capacity|OllamaContextWindow|OllamaThinking)$'
  # H1's question on one framework: one slot against four.
  for np in 1 4; do
    OLLAMA_NUM_PARALLEL=$np suite "$bin" "$par/ollama-$version/np$np" -run 'TestConcurrent$'
  done
  SERVEGATE_OLLAMA_NP1=$par/ollama-$version/np1/ollama/ollama_tiny_results.json \
  SERVEGATE_OLLAMA_NP4=$par/ollama-$version/np4/ollama/ollama_tiny_results.json \
    suite "$bin" "$out/ollama-$version" -run 'TestOllamaParallelism$'
  echo "ollama-cpu: $version done in $((SECONDS - start)) s: results in $out/ollama-$version/ollama (server log beside them); NUM_PARALLEL runs in $par/ollama-$version"
done
