#!/usr/bin/env bash
# Final job: decides every hypothesis on the merged results of every framework (downloaded
# into OUT/<framework>/), builds the full report and the job summary. Strict: a framework's
# results that are missing, a point a gate needs that is missing, and an inconclusive gate
# all fail the job (STRICT=0 lets inconclusive gates skip; missing evidence always fails).
# Usage: ci/merge.sh   (env: OUT, default results; STRICT, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${OUT:-results}")
strict=true
case "${STRICT:-1}" in 0|false) strict=false ;; esac
if ! compgen -G "$out/*/*_results.json" >/dev/null; then
  echo "merge: no result files under $out (expected $out/<framework>/<framework>_<preset>_results.json)" >&2
  exit 1
fi
status=0
go tool gotestsum --format testname --junitfile "$out/junit-merge.xml" --jsonfile "$out/go-test-events-merge.json" -- \
  ./benchmarks -run 'TestHypothesis' -count=1 -args -from="$out" -out="$out" -strict="$strict" || status=$?
go run ./cmd/servegate-report -in "$out" -out "$out/summary" || status=1
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/summary/summary.md" ]; then
  cat "$out/summary/summary.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
