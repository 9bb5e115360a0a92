#!/usr/bin/env bash
# Runs the suite and its single-framework hypothesis gates for one framework on a GPU runner,
# then writes the job summary. The same command runs by hand on the benchmark machine.
# Usage: ci/run-framework.sh FRAMEWORK   (env: SCALE, TRIALS, PRESET, OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
fw=${1:?usage: ci/run-framework.sh vllm|sglang|ollama}
out=${OUT:-results}
status=0
make ci-bench TAGS="gpu,$fw" OUT="$out" SCALE="${SCALE:-full}" TRIALS="${TRIALS:-3}" PRESET="${PRESET:-gpt-oss-20b}" || status=$?
go run ./cmd/servegate-report -in "$out" -out "$out/summary" || true
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/summary/summary.md" ]; then
  cat "$out/summary/summary.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
