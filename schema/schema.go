// Package schema declares servegate's result file and the raw records beside it, once, for
// every program that writes or reads them: the suite's writer (harness/results), the
// reporter, the regression comparison, the hypothesis gates and servegate-merge. It uses
// the standard library only, so a reader of results pulls in none of the run-time code.
//
// A result file (<framework>_<preset>_results.json) holds one entry per scenario point
// (Point): its description and its metrics as flat top-level fields, as the original
// project wrote them. The records file beside it (<framework>_<preset>_records.ndjson.gz)
// holds what those metrics were computed from: one line per request (Request), one per
// trial (Trial), after a line describing the point (Head). See docs/RESULTS.md.
package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Version is the major version of the result and records schema this code writes and
// reads. It changes when a field changes meaning or goes away; new fields leave it alone
// (readers ignore fields they do not know). A reader refuses a larger version: it would
// read numbers whose meaning it does not know.
const Version = 1

// VersionError says a file was written under a newer schema than this reader knows.
type VersionError struct {
	// Path is the file, where known.
	Path string
	// Found is the file's schema_version.
	Found int
}

func (e *VersionError) Error() string {
	where := "the file"
	if e.Path != "" {
		where = e.Path
	}
	return fmt.Sprintf("%s has schema_version %d, newer than this servegate reads (%d): read it with the servegate that wrote it, or a newer one",
		where, e.Found, Version)
}

// checkVersion reads schema_version from a JSON object and refuses a newer one. A file
// without the field (the original project's) is version 1.
func checkVersion(path string, b []byte) error {
	var v struct {
		Version *int `json:"schema_version"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Version != nil && *v.Version > Version {
		return &VersionError{Path: path, Found: *v.Version}
	}
	return nil
}

// Decode parses a result file read from path (named in a *VersionError only). A file of
// a newer schema is refused with a *VersionError before anything else is read; other
// errors are the JSON decoder's. Points of the original project, which name none, are
// named c<concurrency>_in<input tokens>.
func Decode(path string, b []byte) (*File, error) {
	if err := checkVersion(path, b); err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	for i := range f.Results {
		if p := &f.Results[i]; p.Point == "" {
			p.Point = fmt.Sprintf("c%d_in%d", p.Concurrency, p.InputTokens)
		}
	}
	return &f, nil
}

// ReadFile reads and decodes the result file at path (see Decode).
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read result file: %w", err)
	}
	f, err := Decode(path, b)
	var ve *VersionError
	if err != nil && !errors.As(err, &ve) {
		return nil, fmt.Errorf("parse result file %s: %w", path, err)
	}
	return f, err
}
