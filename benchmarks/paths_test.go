package benchmarks

import (
	"os"
	"path/filepath"
	"sync"
)

// Path flags (-out, -from, -hypotheses, -config, SERVEGATE_BASE, ...) name places relative
// to the repository root (the module root, where go.mod is), wherever go test was run
// from: go test runs the suite in benchmarks/ and tells it nothing of the directory the
// user typed the command in, so "the root" is the one choice that means the same from
// `make`, from the root and from a script. The Makefile passes absolute paths anyway.

// moduleRoot is the nearest directory at or above the working directory holding go.mod;
// the working directory itself when there is none (a test binary run elsewhere).
var moduleRoot = sync.OnceValue(func() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
})

// resolvePath makes a path flag's value absolute: relative paths are taken from the
// repository root. Empty stays empty.
func resolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(moduleRoot(), p)
}
