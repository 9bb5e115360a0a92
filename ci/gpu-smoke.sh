#!/usr/bin/env bash
# GPU telemetry against a real NVIDIA driver, in under 5 minutes, with no Go toolchain on
# the GPU machine: it runs harness/gpu's test binary, built beforehand where Go is,
#   go test -c -tags gpu -o gpu.test ./harness/gpu
# which checks NVML (devices and MIG instances, memory, power, the energy counter, the
# process list, selection by index and UUID), runs the telemetry tests, samples every device
# for a few seconds and writes the timeline.
# Usage: ci/gpu-smoke.sh [TESTBIN [OUT]]   (defaults ./gpu.test and gpu-smoke/)
#   OUT gets gpu_timeline.json, test.log and, where nvidia-smi exists, nvidia-smi.txt.
# Exit status: 0 all passed, 1 a check failed, 2 no driver or no test binary.
set -euo pipefail
bin=${1:-./gpu.test}
out=${2:-gpu-smoke}

# NVML is the driver's libnvidia-ml.so.1; without it nothing here can run.
PATH=$PATH:/sbin:/usr/sbin
if ! { ldconfig -p 2>/dev/null || true; } | grep -q 'libnvidia-ml\.so\.1'; then
  echo "gpu-smoke: FAIL: no NVIDIA driver on this machine (libnvidia-ml.so.1 is not in the loader's cache, ldconfig -p)." >&2
  echo "gpu-smoke: run it where an NVIDIA GPU and its driver are installed." >&2
  exit 2
fi
if [ ! -x "$bin" ]; then
  echo "gpu-smoke: FAIL: no test binary at $bin; build it where Go is: go test -c -tags gpu -o gpu.test ./harness/gpu" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
  nvidia-smi --query-gpu=index,uuid,name,memory.used,memory.total,power.draw --format=csv || true
fi
start=$SECONDS
status=0
SERVEGATE_GPU_SMOKE_OUT=$out timeout 270 "$bin" -test.v -test.count=1 -test.timeout=4m 2>&1 | tee "$out/test.log" || status=$?
if [ "$status" -ne 0 ]; then
  echo "gpu-smoke: FAIL after $((SECONDS - start)) s (exit $status); see $out/test.log" >&2
  exit 1
fi
if [ ! -s "$out/gpu_timeline.json" ]; then
  echo "gpu-smoke: FAIL: the tests passed but wrote no timeline ($out/gpu_timeline.json): was the binary built with -tags gpu?" >&2
  exit 1
fi
echo "gpu-smoke: OK in $((SECONDS - start)) s: timeline $out/gpu_timeline.json, log $out/test.log"
