package server

import (
	"reflect"
	"testing"
)

// Every rule names a real JSON field of its type, so renaming a field
// cannot silently drop its documented constraints.
func TestFieldRulesNameRealFields(t *testing.T) {
	for typ, rules := range fieldRules {
		fields := jsonFields(typ)
		for name, r := range rules {
			if _, ok := fields[name]; !ok {
				t.Errorf("fieldRules[%s][%q]: no such JSON field", typ, name)
			}
			if r.as != nil && r.as.Kind() != reflect.Struct {
				t.Errorf("fieldRules[%s][%q]: documented as %s, not a struct", typ, name, r.as)
			}
		}
	}
}
