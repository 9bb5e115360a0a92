//go:build ollama

package benchmarks

import "github.com/servegate/servegate/frameworks/ollama"

func init() { registerFramework(ollama.Spec) }
