// Package benchmarks is servegate's suite: each scenario (single, concurrent,
// long_context, prefix_cache, korean) is a Go test here, run against the targets selected
// by build tags. With no tags the target is the embedded simulator (frameworks/sim).
//
//	go test ./benchmarks -v -args -scale=full -trials=3
package benchmarks
