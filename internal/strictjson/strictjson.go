// Package strictjson checks a JSON document's keys against the Go type it decodes into,
// so a typo in a hand-written file ("treshold") is an error naming the field and the valid
// ones rather than a silently ignored key. encoding/json's DisallowUnknownFields names the
// unknown key but not the valid ones, and stops at nested types it cannot see through.
package strictjson

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Check reports the first key of raw, or of its nested objects and lists of objects,
// that the type t does not have, with the keys it does. at prefixes the error (a file and
// entry).
func Check(at string, raw json.RawMessage, t reflect.Type) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s: want a JSON object: %w", at, err)
	}
	fields := Fields(t)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			return fmt.Errorf("%s: unknown field %q: valid are %s", at, k, strings.Join(sortedKeys(fields), ", "))
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			if string(m[k]) == "null" {
				continue
			}
			if err := Check(at+": "+k, m[k], ft); err != nil {
				return err
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			var items []json.RawMessage
			if json.Unmarshal(m[k], &items) != nil {
				continue // the typed decode names the mistake
			}
			for i, item := range items {
				if err := Check(fmt.Sprintf("%s: %s[%d]", at, k, i), item, ft.Elem()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Fields maps the JSON names of t's fields (embedded structs flattened) to their types.
func Fields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k, v := range Fields(f.Type) {
				out[k] = v
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
