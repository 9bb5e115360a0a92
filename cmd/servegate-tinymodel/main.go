// Command servegate-tinymodel writes a tiny random llama model as GGUF and an Ollama
// Modelfile for it into a directory, for running a real Ollama without downloading a model,
// and its thinking variant beside it (Ollama 0.9 and later):
//
//	servegate-tinymodel -out /tmp/tiny && ollama create servegate-tiny -f /tmp/tiny/Modelfile
//	ollama create servegate-tiny-think -f /tmp/tiny/Modelfile.think
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/servegate/servegate/fixtures/gguf"
	"github.com/servegate/servegate/fixtures/tinyllama"
)

func main() {
	out := flag.String("out", ".", "directory for tiny.gguf and Modelfile, tiny-think.gguf and Modelfile.think")
	seed := flag.Uint64("seed", 1, "seed of the random weights")
	flag.Parse()
	if err := run(*out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "servegate-tinymodel:", err)
		os.Exit(1)
	}
}

func run(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, m := range []struct {
		gguf, modelfile, name string
		model                 func(uint64) *gguf.File
		text                  func(string) string
	}{
		{"tiny.gguf", "Modelfile", tinyllama.Name, tinyllama.Model, tinyllama.Modelfile},
		{"tiny-think.gguf", "Modelfile.think", tinyllama.ThinkingName, tinyllama.ThinkingModel, tinyllama.ThinkingModelfile},
	} {
		abs, err := filepath.Abs(filepath.Join(dir, m.gguf))
		if err != nil {
			return err
		}
		if err := m.model(seed).WriteFile(abs); err != nil {
			return fmt.Errorf("write %s: %w", abs, err)
		}
		mf := filepath.Join(dir, m.modelfile)
		if err := os.WriteFile(mf, []byte(m.text(abs)), 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote %s and %s (ollama create %s -f %s)\n", abs, mf, m.name, mf)
	}
	return nil
}
