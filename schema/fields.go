package schema

import (
	"reflect"
	"strings"
)

// jsonFields lists the JSON keys of struct T's exported fields (those not tagged "-"),
// omitempty or not.
func jsonFields[T any]() []string {
	var out []string
	t := reflect.TypeFor[T]()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
