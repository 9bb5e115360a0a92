//go:build sglang

package benchmarks

import "github.com/servegate/servegate/frameworks/sglang"

func init() { registerFramework(sglang.Spec) }
