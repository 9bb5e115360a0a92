#!/usr/bin/env bash
# Final job: decides the cross-framework hypotheses on the merged results of every framework
# (downloaded into OUT/<framework>/), builds the full report and the job summary.
# Usage: ci/merge.sh   (env: OUT, default results)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-results}
status=0
go tool gotestsum --format testname --junitfile "$out/junit-merge.xml" --jsonfile "$out/go-test-events-merge.json" -- \
  ./benchmarks -run 'TestHypothesis' -count=1 -args -from="$(realpath "$out")" -out="$(realpath "$out")" || status=$?
go run ./cmd/servegate-report -in "$out" -out "$out/summary"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$out/summary/summary.md" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
