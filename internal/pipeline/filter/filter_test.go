package filter

import (
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

func TestPredicates(t *testing.T) {
	groups := []string{"Asian", "Black", "Unknown"}
	unknown := uint16(2)
	for _, tc := range []struct {
		name   string
		f      spec.Filter
		typ    string
		groups []string
		check  func(p *Pred) bool
	}{
		{"in code", spec.Filter{Operator: "In", Values: []string{"black"}}, "String", groups,
			func(p *Pred) bool {
				return p.MatchCode(1, unknown) && !p.MatchCode(0, unknown) && !p.MatchCode(2, unknown)
			}},
		{"in unknown by name", spec.Filter{Operator: "In", Values: []string{"Unknown"}}, "String", groups,
			func(p *Pred) bool { return p.MatchCode(2, unknown) }},
		{"notin code", spec.Filter{Operator: "NotIn", Values: []string{"Asian"}}, "String", groups,
			func(p *Pred) bool {
				return !p.MatchCode(0, unknown) && p.MatchCode(1, unknown) && p.MatchCode(2, unknown)
			}},
		{"exists code", spec.Filter{Operator: "Exists"}, "String", groups,
			func(p *Pred) bool { return p.MatchCode(0, unknown) && !p.MatchCode(2, unknown) }},
		{"doesnotexist code", spec.Filter{Operator: "DoesNotExist"}, "String", groups,
			func(p *Pred) bool { return !p.MatchCode(0, unknown) && p.MatchCode(2, unknown) }},
		{"in string", spec.Filter{Operator: "In", Values: []string{"K", "TK"}}, "String", nil,
			func(p *Pred) bool {
				return p.MatchString("K", true) && !p.MatchString("1", true) && !p.MatchString("", false)
			}},
		{"notin string keeps null", spec.Filter{Operator: "NotIn", Values: []string{"K"}}, "String", nil,
			func(p *Pred) bool {
				return !p.MatchString("K", true) && p.MatchString("1", true) && p.MatchString("", false)
			}},
		{"bool true", spec.Filter{Operator: "In", Values: []string{"true"}}, "Boolean", nil,
			func(p *Pred) bool {
				return p.MatchBool(true, true) && !p.MatchBool(false, true) && !p.MatchBool(false, false)
			}},
		{"bool both", spec.Filter{Operator: "In", Values: []string{"true", "FALSE"}}, "Boolean", nil,
			func(p *Pred) bool {
				return p.MatchBool(true, true) && p.MatchBool(false, true) && !p.MatchBool(false, false)
			}},
		{"gt", spec.Filter{Operator: "Gt", Values: []string{"3"}}, "Integer", nil,
			func(p *Pred) bool {
				return p.MatchNumber(4, true) && !p.MatchNumber(3, true) && !p.MatchNumber(9, false)
			}},
		{"lt", spec.Filter{Operator: "Lt", Values: []string{"-1.5"}}, "Number", nil,
			func(p *Pred) bool { return p.MatchNumber(-2, true) && !p.MatchNumber(-1.5, true) }},
		{"in number", spec.Filter{Operator: "In", Values: []string{"1", "2.5"}}, "Number", nil,
			func(p *Pred) bool { return p.MatchNumber(2.5, true) && !p.MatchNumber(2, true) }},
		{"exists number", spec.Filter{Operator: "Exists"}, "Number", nil,
			func(p *Pred) bool { return p.MatchNumber(0, true) && !p.MatchNumber(0, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.f, tc.typ, tc.groups)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(p) {
				t.Errorf("predicate %+v does not behave as expected", tc.f)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		f      spec.Filter
		typ    string
		groups []string
	}{
		{spec.Filter{Operator: "In", Values: []string{"Purple"}}, "String", []string{"Asian", "Unknown"}},
		{spec.Filter{Operator: "In", Values: []string{"maybe"}}, "Boolean", nil},
		{spec.Filter{Operator: "In", Values: []string{"x"}}, "Number", nil},
		{spec.Filter{Operator: "Gt", Values: []string{"x"}}, "Number", nil},
		{spec.Filter{Operator: "Gt", Values: []string{"1", "2"}}, "Number", nil},
		{spec.Filter{Operator: "Like", Values: []string{"1"}}, "String", nil},
	} {
		if _, err := Compile(tc.f, tc.typ, tc.groups); err == nil {
			t.Errorf("Compile(%+v) accepted it", tc.f)
		}
	}
}
