package filter

import (
	"strconv"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

var (
	fuzzOps   = []string{spec.OpIn, spec.OpNotIn, spec.OpExists, spec.OpDoesNotExist, spec.OpGt, spec.OpLt, "in", ""}
	fuzzTypes = []string{spec.TypeString, spec.TypeInteger, spec.TypeNumber, spec.TypeBoolean, spec.TypeDate, "dimension"}
)

// split reads a fuzzed list: items separated by '|'; the empty string is no items.
func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

// FuzzFilter compiles arbitrary operators and values for every column type and
// evaluates them on arbitrary values. It never panics; In and NotIn complement
// each other on non-null values and agree with a naive reference; Exists and
// DoesNotExist complement each other; Gt and Lt compare with the bound.
func FuzzFilter(f *testing.F) {
	f.Add(uint8(0), uint8(5), "female|Male", "Female|Male|Unknown", uint16(1), "Male", true, 0.0, true)
	f.Add(uint8(1), uint8(0), "a|b", "", uint16(0), "b", false, 0.0, true)
	f.Add(uint8(0), uint8(1), " 3|4.0", "", uint16(0), "", false, 4.0, true)
	f.Add(uint8(1), uint8(3), "TRUE|false", "", uint16(0), "", true, 0.0, true)
	f.Add(uint8(4), uint8(2), "2.5", "", uint16(0), "", false, 3.0, true)
	f.Add(uint8(5), uint8(2), "NaN", "", uint16(0), "", false, 1.0, true)
	f.Add(uint8(2), uint8(5), "", "a|b", uint16(7), "", false, 0.0, false)
	f.Add(uint8(0), uint8(5), "nope", "a|b", uint16(0), "", false, 0.0, true)
	f.Fuzz(func(t *testing.T, op, typ uint8, values, groupList string, code uint16, s string, b bool, n float64, valid bool) {
		flt := spec.Filter{Operator: fuzzOps[int(op)%len(fuzzOps)], Values: split(values)}
		colType := fuzzTypes[int(typ)%len(fuzzTypes)]
		var groups []string
		if colType == "dimension" {
			groups = split(groupList)
			if groups == nil {
				groups = []string{}
			}
			if len(groups) > 64 {
				return
			}
		}
		p, err := Compile(flt, colType, groups)
		if err != nil {
			return
		}
		unknown := uint16(len(groups))
		// Every Match method runs on every type without panicking.
		gotCode := p.MatchCode(code, unknown)
		gotStr := p.MatchString(s, valid)
		gotBool := p.MatchBool(b, valid)
		gotNum := p.MatchNumber(n, valid)

		switch flt.Operator {
		case spec.OpGt, spec.OpLt:
			bound, _ := strconv.ParseFloat(flt.Values[0], 64)
			want := valid && ((flt.Operator == spec.OpGt && n > bound) || (flt.Operator == spec.OpLt && n < bound))
			if gotNum != want {
				t.Fatalf("%s %v on %v (valid %v) = %v", flt.Operator, bound, n, valid, gotNum)
			}
			return
		case spec.OpExists, spec.OpDoesNotExist:
			q := &Pred{op: spec.OpExists}
			if flt.Operator == spec.OpExists {
				q.op = spec.OpDoesNotExist
			}
			if gotCode == q.MatchCode(code, unknown) || gotStr == q.MatchString(s, valid) ||
				gotNum == q.MatchNumber(n, valid) || gotBool == q.MatchBool(b, valid) {
				t.Fatalf("Exists and DoesNotExist agree on code %d, %q, %v, %v (valid %v)", code, s, n, b, valid)
			}
			return
		}
		other := spec.Filter{Operator: spec.OpNotIn, Values: flt.Values}
		if flt.Operator == spec.OpNotIn {
			other.Operator = spec.OpIn
		}
		q, err := Compile(other, colType, groups)
		if err != nil {
			t.Fatalf("%s compiles but %s on the same values fails: %v", flt.Operator, other.Operator, err)
		}
		in := p
		if flt.Operator == spec.OpNotIn {
			in = q
		}
		var got, comp, want bool
		switch {
		case groups != nil:
			got, comp = in.MatchCode(code, unknown), p.MatchCode(code, unknown) == q.MatchCode(code, unknown)
			want = int(code) < len(groups) && containsFold(flt.Values, groups[code])
			valid = true
		case colType == spec.TypeBoolean:
			got, comp = in.MatchBool(b, valid), p.MatchBool(b, valid) == q.MatchBool(b, valid)
			want = valid && containsFold(flt.Values, strconv.FormatBool(b))
		case colType == spec.TypeInteger || colType == spec.TypeNumber:
			got, comp = in.MatchNumber(n, valid), p.MatchNumber(n, valid) == q.MatchNumber(n, valid)
			want = valid && containsNumber(flt.Values, n)
		default:
			got, comp = in.MatchString(s, valid), p.MatchString(s, valid) == q.MatchString(s, valid)
			want = valid && containsString(flt.Values, s)
		}
		if got != want {
			t.Fatalf("In %q on %s (code %d, %q, %v, %v, valid %v) = %v, want %v", flt.Values, colType, code, s, b, n, valid, got, want)
		}
		// On a null too: In fails it, NotIn keeps it.
		if comp {
			t.Fatalf("In and NotIn %q on %s agree (code %d, %q, %v, %v, valid %v)", flt.Values, colType, code, s, b, n, valid)
		}
	})
}

func containsFold(values []string, v string) bool {
	for _, x := range values {
		if strings.EqualFold(strings.TrimSpace(x), v) {
			return true
		}
	}
	return false
}

func containsNumber(values []string, n float64) bool {
	for _, x := range values {
		if v, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && v == n {
			return true
		}
	}
	return false
}

func containsString(values []string, s string) bool {
	for _, x := range values {
		if x == s {
			return true
		}
	}
	return false
}
