# Shell functions for running a real Ollama on CPU, sourced by ci/ollama-cpu.sh and
# ci/record-ollama.sh (run from the repository root).
#   ollama_build VERSION      prints the path of Ollama VERSION's binary, built from the Go
#                             module proxy on first use and cached under
#                             $SERVEGATE_OLLAMA_CACHE/ollama-VERSION (default ~/.cache/servegate)
#   ollama_serve BIN PORT LOG starts `BIN serve` on 127.0.0.1:PORT and waits for it (ollama_pid)
#   ollama_stop               stops the server ollama_serve started
#   ollama_models BIN PORT DIR writes servegate's tiny models into DIR and creates them in
#                             $OLLAMA_MODELS: servegate-tiny, and servegate-tiny-think where
#                             the server reports the thinking capability (Ollama 0.9 and later)

ollama_pid=

ollama_build() {
  local version=$1
  local cache=${SERVEGATE_OLLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/servegate}/ollama-$version
  local bin=$cache/bin/ollama need=()
  if [ ! -x "$bin" ]; then
    # Headers Ollama's cgo build includes that its module does not ship.
    dpkg -s nlohmann-json3-dev libstb-dev >/dev/null 2>&1 || need+=(nlohmann-json3-dev libstb-dev)
    command -v g++ >/dev/null 2>&1 || need+=(g++)
    if [ ${#need[@]} -gt 0 ]; then
      apt-get update -qq >&2 && apt-get install -y -qq "${need[@]}" >&2
    fi
    echo "ollama: building $version from the Go module proxy (2-8 minutes on 2 cores)" >&2
    # miniaudio.h is missing from the module of newer tags: ci/miniaudio-stub stands in.
    CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}" \
    CGO_CPPFLAGS="-I$PWD/ci/miniaudio-stub ${CGO_CPPFLAGS:-}" GOBIN=$cache/bin \
      go install -ldflags "-X github.com/ollama/ollama/version.Version=$version" \
      "github.com/ollama/ollama@v$version" >&2
  fi
  echo "$bin"
}

ollama_serve() {
  local bin=$1 port=$2 log=$3
  OLLAMA_HOST=127.0.0.1:$port "$bin" serve >"$log" 2>&1 &
  ollama_pid=$!
  if ! curl -sf --retry 60 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$port/api/version" >/dev/null; then
    cat "$log" >&2
    return 1
  fi
}

ollama_stop() {
  if [ -n "$ollama_pid" ] && kill -0 "$ollama_pid" 2>/dev/null; then
    kill "$ollama_pid"
    wait "$ollama_pid" || true
  fi
  ollama_pid=
}

ollama_models() {
  local bin=$1 port=$2 dir=$3
  go run ./cmd/servegate-tinymodel -out "$dir" >&2
  ollama_serve "$bin" "$port" "$dir/create-server.log"
  OLLAMA_HOST=127.0.0.1:$port "$bin" create servegate-tiny -f "$dir/Modelfile" >&2
  OLLAMA_HOST=127.0.0.1:$port "$bin" create servegate-tiny-think -f "$dir/Modelfile.think" >&2
  # Older servers create it but cannot render its template: keep it only where the server
  # itself says the model thinks.
  if ! curl -sf "http://127.0.0.1:$port/api/show" -d '{"model":"servegate-tiny-think"}' | grep -q '"thinking"'; then
    echo "ollama: this version has no thinking capability; servegate-tiny-think removed" >&2
    OLLAMA_HOST=127.0.0.1:$port "$bin" rm servegate-tiny-think >&2
  fi
  ollama_stop
}
