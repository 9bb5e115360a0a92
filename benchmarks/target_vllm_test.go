//go:build vllm

package benchmarks

import "github.com/servegate/servegate/frameworks/vllm"

func init() { registerFramework(vllm.Spec) }
