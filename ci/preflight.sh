#!/usr/bin/env bash
# Pre-flight for a GPU benchmark job (the original run guide's checklist): the GPU is
# visible, no other process holds it, there is disk space, the framework's port is free.
# Usage: ci/preflight.sh FRAMEWORK [MIN_FREE_GB]
set -euo pipefail
fw=${1:?usage: ci/preflight.sh vllm|sglang|ollama [min-free-GB]}
min_gb=${2:-100}
fail() { echo "preflight: $*" >&2; exit 1; }

case "$fw" in
  vllm) port=8000 ;;
  sglang) port=30000 ;;
  ollama) port=11434 ;;
  *) fail "unknown framework '$fw': use vllm, sglang or ollama" ;;
esac

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this runner has no NVIDIA driver"
nvidia-smi -L || fail "no GPU visible (nvidia-smi -L failed)"
busy=$(nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader || true)
[ -z "$busy" ] || fail "the GPU is in use by another process; stop it first:
$busy"

free_gb=$(df -Pk "${SERVEGATE_OUT:-.}" | awk 'NR==2 {print int($4/1024/1024)}')
[ "$free_gb" -ge "$min_gb" ] || fail "only ${free_gb} GB free under ${SERVEGATE_OUT:-.}; need ${min_gb} GB"

if ss -ltn "sport = :$port" | grep -q LISTEN; then
  fail "port $port ($fw's default) is already in use: $(ss -ltnp "sport = :$port" | tail -n +2)"
fi
command -v go >/dev/null || fail "Go is not installed"
echo "preflight: ok for $fw (GPU free, ${free_gb} GB disk free, port $port free)"
