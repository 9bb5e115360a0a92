package hypothesis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/servegate/servegate/harness/metrics"
	"github.com/servegate/servegate/harness/scenario"
	"github.com/servegate/servegate/internal/strictjson"
)

// Ops are the comparisons a check may make.
var Ops = []string{"<=", ">=", "within", "outside"}

// override is one entry of an override file: a hypothesis, and whether it merges into the
// default of the same id rather than replacing it.
type override struct {
	Hypothesis
	// Merge keeps the default's fields the entry does not give; a field it gives (checks
	// included) replaces the default's whole.
	Merge bool `json:"merge,omitempty"`
}

// Load returns the defaults changed by the override file at path (none when path is
// empty): a JSON list of hypotheses. An entry whose id is a default's replaces that
// hypothesis whole, so it must give claim and checks; with "merge": true it changes only
// the fields it gives. Other ids add hypotheses. Every field, scenario, point, metric and
// operator is checked: an unknown one is an error naming it and the valid ones.
func Load(path string) ([]Hypothesis, error) {
	hs := Defaults()
	if path == "" {
		return hs, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read hypotheses: %w", err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("parse hypotheses %s (a JSON list of hypotheses): %w", path, err)
	}
	for i, raw := range entries {
		where := fmt.Sprintf("%s: entry %d", path, i)
		if err := strictjson.Check(where, raw, reflect.TypeFor[override]()); err != nil {
			return nil, err
		}
		var o override
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if o.ID == "" {
			return nil, fmt.Errorf("%s: no \"id\"", where)
		}
		where = fmt.Sprintf("%s (%s)", where, o.ID)
		at := slices.IndexFunc(hs, func(h Hypothesis) bool { return h.ID == o.ID })
		h := o.Hypothesis
		switch {
		case o.Merge && at < 0:
			return nil, fmt.Errorf("%s: \"merge\" needs a default hypothesis to merge into; there is no %s (defaults: %s)", where, o.ID, ids(Defaults()))
		case o.Merge:
			// Decoding onto a copy of the default changes only the fields given.
			h = hs[at]
			var given map[string]json.RawMessage
			_ = json.Unmarshal(raw, &given)
			if _, ok := given["checks"]; ok {
				h.Checks = nil
			}
			if _, ok := given["frameworks"]; ok {
				h.Frameworks = nil
			}
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		default:
			var missing []string
			if h.Claim == "" {
				missing = append(missing, "claim")
			}
			if len(h.Checks) == 0 {
				missing = append(missing, "checks")
			}
			if len(missing) > 0 && at >= 0 {
				return nil, fmt.Errorf("%s replaces the default %s whole, so it needs %s; to change only some fields set \"merge\": true",
					where, o.ID, strings.Join(missing, " and "))
			}
			if len(missing) > 0 {
				return nil, fmt.Errorf("%s: a new hypothesis needs %s", where, strings.Join(missing, " and "))
			}
		}
		if err := h.validate(where, raw); err != nil {
			return nil, err
		}
		if at >= 0 {
			hs[at] = h
		} else {
			hs = append(hs, h)
		}
	}
	return hs, nil
}

func ids(hs []Hypothesis) string {
	var out []string
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return strings.Join(out, ", ")
}

// validate checks h's checks: operators, thresholds, references and framework pickers.
// raw is the entry as written, to tell an absent threshold from a zero one.
func (h Hypothesis) validate(where string, raw json.RawMessage) error {
	if h.MinTrials != 0 && h.MinTrials < 2 {
		return fmt.Errorf("%s: min_trials %d: an interval needs at least 2", where, h.MinTrials)
	}
	var given struct {
		Checks []map[string]json.RawMessage `json:"checks"`
	}
	_ = json.Unmarshal(raw, &given)
	for j, c := range h.Checks {
		at := fmt.Sprintf("%s: checks[%d]", where, j)
		var keys map[string]json.RawMessage
		if j < len(given.Checks) {
			keys = given.Checks[j]
		}
		if err := c.validate(at, keys, h.CrossFramework); err != nil {
			return err
		}
	}
	return nil
}

func (c Check) validate(at string, given map[string]json.RawMessage, cross bool) error {
	has := func(k string) bool {
		if given == nil {
			return true // a default's check, not written in the file
		}
		_, ok := given[k]
		return ok
	}
	switch c.Op {
	case "<=", ">=":
		if !has("threshold") {
			return fmt.Errorf("%s: op %q needs \"threshold\"", at, c.Op)
		}
	case "within", "outside":
		if !has("low") || !has("high") || c.Low >= c.High {
			return fmt.Errorf("%s: op %q needs \"low\" below \"high\" (got %g, %g)", at, c.Op, c.Low, c.High)
		}
	default:
		return fmt.Errorf("%s: unknown op %q: valid are %s", at, c.Op, strings.Join(Ops, ", "))
	}
	if err := c.Num.validate(at + ": num"); err != nil {
		return err
	}
	if c.Den != nil {
		if err := c.Den.validate(at + ": den"); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{{"num_from", c.NumFrom}, {"den_from", c.DenFrom}} {
		if f.v == "" {
			if cross {
				return fmt.Errorf("%s: a cross-framework check needs %q (\"fw:<framework>\" or \"any\")", at, f.name)
			}
			continue
		}
		if !cross {
			return fmt.Errorf("%s: %q compares frameworks: set \"cross_framework\": true on the hypothesis", at, f.name)
		}
		if name, ok := strings.CutPrefix(f.v, "fw:"); !(f.v == "any" || ok && name != "") {
			return fmt.Errorf("%s: %s %q: valid are \"fw:<framework>\" and \"any\"", at, f.name, f.v)
		}
	}
	if cross && c.Den == nil {
		return fmt.Errorf("%s: a cross-framework check compares a ratio: it needs \"den\"", at)
	}
	return nil
}

// validate checks that r names a point of the suite and a metric servegate writes.
func (r Ref) validate(at string) error {
	var scenarios []string
	for _, sc := range scenario.Suite(scenario.Full) {
		scenarios = append(scenarios, sc.ResultName)
		if sc.Name != r.Scenario && sc.ResultName != r.Scenario {
			continue
		}
		var points []string
		for _, p := range sc.Points {
			if p.Name == r.Point {
				if err := metrics.Check(r.Metric); err != nil {
					return fmt.Errorf("%s: %w", at, err)
				}
				if searched := p.Search != nil; searched != (r.Metric == CapacityMetric) {
					return fmt.Errorf("%s: %s/%s %s: a capacity point's one metric is %s, and only a capacity point has it", at, r.Scenario, r.Point, r.Metric, CapacityMetric)
				}
				return nil
			}
			points = append(points, p.Name)
		}
		return fmt.Errorf("%s: scenario %s has no point %q: valid are %s", at, sc.ResultName, r.Point, strings.Join(points, ", "))
	}
	return fmt.Errorf("%s: unknown scenario %q: valid are %s", at, r.Scenario, strings.Join(scenarios, ", "))
}
