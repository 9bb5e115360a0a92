//go:build openai

package benchmarks

import "github.com/servegate/servegate/frameworks/openai"

func init() { registerFramework(openai.Spec) }
