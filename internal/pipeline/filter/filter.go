// Package filter evaluates the matchExpressions-shaped filters of the API (In, NotIn, Exists,
// DoesNotExist, Gt, Lt) on typed column values: dimension codes, strings, booleans and
// numbers. Filters are compiled once per column, then tested per value without allocating.
package filter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// Pred is a compiled filter on one column. Exactly one Match method applies, by the
// column's type; null (and, for dimensions, the unknown group) is passed as valid=false.
type Pred struct {
	op      string
	codes   []bool // dimension: code → in set
	strs    map[string]bool
	nums    []float64
	boolean int8 // -1 unset, 0 false, 1 true, 2 both
	bound   float64
}

// Compile compiles f for a column of the given type; groups are the dimension's groups in
// code order (nil for a non-dimension column).
func Compile(f spec.Filter, colType string, groups []string) (*Pred, error) {
	p := &Pred{op: f.Operator, boolean: -1}
	switch f.Operator {
	case spec.OpExists, spec.OpDoesNotExist:
		return p, nil
	case spec.OpGt, spec.OpLt:
		if len(f.Values) != 1 {
			return nil, fmt.Errorf("%s needs exactly one value", f.Operator)
		}
		v, err := strconv.ParseFloat(f.Values[0], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", f.Operator, f.Values[0])
		}
		p.bound = v
		return p, nil
	case spec.OpIn, spec.OpNotIn:
	default:
		return nil, fmt.Errorf("unknown operator %q", f.Operator)
	}
	switch {
	case groups != nil:
		p.codes = make([]bool, len(groups))
		for _, v := range f.Values {
			found := false
			for code, g := range groups {
				if strings.EqualFold(strings.TrimSpace(v), g) {
					p.codes[code], found = true, true
				}
			}
			if !found {
				return nil, fmt.Errorf("%q is not a group (groups: %s)", v, strings.Join(groups, ", "))
			}
		}
	case colType == spec.TypeBoolean:
		for _, v := range f.Values {
			var b int8
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				b = 1
			case "false":
				b = 0
			default:
				return nil, fmt.Errorf("%q is not true or false", v)
			}
			if p.boolean >= 0 && p.boolean != b {
				b = 2
			}
			p.boolean = b
		}
	case colType == spec.TypeInteger || colType == spec.TypeNumber:
		for _, v := range f.Values {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", v)
			}
			p.nums = append(p.nums, n)
		}
	default:
		p.strs = map[string]bool{}
		for _, v := range f.Values {
			p.strs[v] = true
		}
	}
	return p, nil
}

// Op is the filter's operator.
func (p *Pred) Op() string { return p.op }

// Bound is the bound of a Gt or Lt filter: MatchNumber(v, true) is v > Bound() or
// v < Bound().
func (p *Pred) Bound() float64 { return p.bound }

// result applies the operator to "the value is in the set" for a non-null value.
func (p *Pred) result(valid, in bool) bool {
	switch p.op {
	case spec.OpExists:
		return valid
	case spec.OpDoesNotExist:
		return !valid
	case spec.OpIn:
		return valid && in
	case spec.OpNotIn:
		// NotIn keeps nulls, as label selectors keep objects without the label.
		return !valid || !in
	}
	return false
}

// MatchCode tests a dimension code; unknown is the dimension's unknown code, which counts as
// "does not exist" for Exists/DoesNotExist but can be selected by name with In.
func (p *Pred) MatchCode(code uint16, unknown uint16) bool {
	switch p.op {
	case spec.OpExists:
		return code != unknown
	case spec.OpDoesNotExist:
		return code == unknown
	}
	return p.result(true, int(code) < len(p.codes) && p.codes[code])
}

// MatchString tests a string value.
func (p *Pred) MatchString(v string, valid bool) bool {
	return p.result(valid, valid && p.strs[v])
}

// MatchBool tests a boolean value.
func (p *Pred) MatchBool(v, valid bool) bool {
	in := p.boolean == 2 || (p.boolean == 1 && v) || (p.boolean == 0 && !v)
	return p.result(valid, valid && in)
}

// MatchNumber tests a number.
func (p *Pred) MatchNumber(v float64, valid bool) bool {
	switch p.op {
	case spec.OpGt:
		return valid && v > p.bound
	case spec.OpLt:
		return valid && v < p.bound
	}
	in := false
	for _, n := range p.nums {
		if n == v {
			in = true
			break
		}
	}
	return p.result(valid, valid && in)
}
