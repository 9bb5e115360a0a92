//go:build gpu

package benchmarks

// With the gpu tag the suite refuses to start without working NVML.
const gpuRequired = true
