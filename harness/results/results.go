// Package results writes servegate's result file (the layout and field names of the
// original project, a superset of them; declared in package schema) and the raw records
// beside it, after every scenario point, so an interrupted run keeps everything already
// measured; and it computes a point from its records (Assemble), at run time and again
// from the file (servegate-report -recompute, servegate-merge).
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/servegate/servegate/schema"
)

// SchemaVersion is the result file's schema version (schema.Version).
const SchemaVersion = schema.Version

// The result file's types are declared once, in package schema, for the writer here and
// every reader (the reporter, the comparison, the gates, servegate-merge).
type (
	// File is one result file.
	File = schema.File
	// Point is one scenario point of a result file.
	Point = schema.Point
	// Sample is one measured request of a point.
	Sample = schema.Sample
	// ServerConfig describes the target.
	ServerConfig = schema.ServerConfig
	// GPUInfo is the run's GPU snapshot.
	GPUInfo = schema.GPUInfo
	// GPUFigures are one device's figures over one trial of a point.
	GPUFigures = schema.GPUFigures
	// Provenance says what produced the numbers.
	Provenance = schema.Provenance
	// Settings are what a file's points were measured under.
	Settings = schema.Settings
)

// Path returns where a framework's result file for preset lives under dir.
func Path(dir, framework, preset string) string {
	return filepath.Join(dir, framework, fmt.Sprintf("%s_%s_results.json", framework, preset))
}

// RecordsPath returns the records file beside the result file at path.
func RecordsPath(resultPath string) string {
	return strings.TrimSuffix(resultPath, "_results.json") + "_records.ndjson.gz"
}

// SettingsPath returns where a run's points go when the framework's file for its preset
// holds points measured under other settings: a file named by every setting,
// <framework>_<preset>_<scale>[_<profile>][_<target version>]_results.json, each part kept
// to letters, digits, dots and dashes.
func SettingsPath(dir, framework string, s Settings) string {
	name := []string{framework, s.Preset, s.Scale}
	for _, v := range []string{s.Profile, s.TargetVersion} {
		if v != "" {
			name = append(name, v)
		}
	}
	for i, v := range name {
		name[i] = strings.Map(func(r rune) rune {
			if r == '.' || r == '-' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return r
			}
			return '-'
		}, v)
	}
	return filepath.Join(dir, framework, strings.Join(name, "_")+"_results.json")
}

// WriteFile writes v as indented JSON to path atomically: to a temporary file in the same
// directory, synced, then renamed over path. A reader sees the old file or the new one.
func WriteFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeAtomic(path, append(b, '\n'))
}

// writeAtomic writes b to path through a synced temporary file renamed over it.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	// CreateTemp makes the file 0600; a result file is read by others (CI, a web server).
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp.Name(), path, err)
	}
	return nil
}

// Read loads a result file; one of a newer schema is refused (schema.ReadFile).
func Read(path string) (*File, error) { return schema.ReadFile(path) }
