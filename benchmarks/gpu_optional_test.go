//go:build !gpu

package benchmarks

// Without the gpu tag a machine with no NVIDIA GPU runs the suite without telemetry.
const gpuRequired = false
