package slo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"

	"github.com/servegate/servegate/internal/strictjson"
)

// Load returns the default SLO changed by the file at path (the default when path is
// empty): a JSON object whose fields replace the default's, e.g.
// {"ttft": {"percentile": 99, "max_ms": 300}, "e2e": {"percentile": 99, "max_ms": 4000}}.
// An objective given as null is not checked. Every field is checked: an unknown one is an
// error naming it and the valid ones, and a value out of range says the range.
func Load(path string) (SLO, error) {
	s := Default()
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return SLO{}, fmt.Errorf("read SLO file: %w", err)
	}
	if err := Parse(path, b, &s); err != nil {
		return SLO{}, err
	}
	return s, nil
}

// Parse applies the JSON object b (from where, for errors) to s and validates the result.
func Parse(where string, b []byte, s *SLO) error {
	if err := strictjson.Check(where, b, reflect.TypeFor[SLO]()); err != nil {
		return err
	}
	var given map[string]json.RawMessage
	_ = json.Unmarshal(b, &given) // Check has parsed it
	// An objective given replaces the default's whole, so a missing percentile is an
	// error rather than a silent 0.
	for _, name := range []string{"ttft", "itl", "e2e"} {
		if raw, ok := given[name]; ok && string(raw) != "null" {
			var fields map[string]json.RawMessage
			_ = json.Unmarshal(raw, &fields)
			for _, f := range []string{"percentile", "max_ms"} {
				if _, ok := fields[f]; !ok {
					return fmt.Errorf("%s: %s: needs %q (an objective is given whole: {\"percentile\": 95, \"max_ms\": 500})", where, name, f)
				}
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	// Decoding onto a default objective would keep the fields the file leaves out; an
	// objective given starts empty.
	for name, o := range map[string]**Objective{"ttft": &s.TTFT, "itl": &s.ITL, "e2e": &s.E2E} {
		if _, ok := given[name]; ok {
			*o = nil
		}
	}
	if err := dec.Decode(s); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return s.Validate(where)
}

// Validate checks every value of s is in range.
func (s SLO) Validate(where string) error {
	for _, o := range s.Objectives() {
		if !(o.Percentile > 0 && o.Percentile < 100) {
			return fmt.Errorf("%s: %s: percentile %g: want above 0 and below 100 (100 would need every request of an endless sample)", where, o.Name, o.Percentile)
		}
		if !(o.MaxMs > 0) || math.IsInf(o.MaxMs, 0) {
			return fmt.Errorf("%s: %s: max_ms %g: want a positive number of milliseconds", where, o.Name, o.MaxMs)
		}
	}
	if !(s.MaxErrorPct >= 0 && s.MaxErrorPct <= 100) {
		return fmt.Errorf("%s: max_error_pct %g: want a percentage, 0 to 100", where, s.MaxErrorPct)
	}
	if len(s.Objectives()) == 0 {
		return fmt.Errorf("%s: no objective left: set at least one of ttft, itl, e2e", where)
	}
	return nil
}
