// Command servegate-tinymodel writes a tiny random llama model as GGUF and an Ollama
// Modelfile for it into a directory, for running a real Ollama without downloading a model:
//
//	servegate-tinymodel -out /tmp/tiny && ollama create servegate-tiny -f /tmp/tiny/Modelfile
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/servegate/servegate/fixtures/tinyllama"
)

func main() {
	out := flag.String("out", ".", "directory for tiny.gguf and Modelfile")
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
	abs, err := filepath.Abs(filepath.Join(dir, "tiny.gguf"))
	if err != nil {
		return err
	}
	if err := tinyllama.Model(seed).WriteFile(abs); err != nil {
		return fmt.Errorf("write %s: %w", abs, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Modelfile"), []byte(tinyllama.Modelfile(abs)), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %s (ollama create %s -f %s)\n", abs, filepath.Join(dir, "Modelfile"),
		tinyllama.Name, filepath.Join(dir, "Modelfile"))
	return nil
}
