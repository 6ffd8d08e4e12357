package ingest

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// FuzzVocabulary maps arbitrary values of a dimension column, converted several times
// over in separate batches (each released before the next, as the reader recycles its
// buffers), and compares every answer with a naive reference built from fold() and the
// valueMap: a value maps to its declared group, or a missing value to the unknown group,
// or it is rejected.
func FuzzVocabulary(f *testing.F) {
	f.Add("Asian|black| hispanic  or\tlatino |White|Unknown", "1", uint8(0))
	f.Add("1| 1 |9|*| * |x", "9", uint8(4))
	f.Add("Whitey|White |WHITE|whit", "Whitey", uint8(2))
	f.Add("aB|Ab|bA|ab|ba", "aB", uint8(1))
	f.Add("\xff|\u00a0Asian\u00a0|Asian\u2003|", " Asian", uint8(3))
	f.Fuzz(func(t *testing.T, values, mapKey string, mapTo uint8) {
		groups := race.Groups()
		c := spec.Column{Name: "g", Type: spec.TypeString, Dimension: race.Name,
			ValueMap: map[string]string{mapKey: strings.ToUpper(groups[int(mapTo)%len(groups)])}}
		col, err := newColumn(c, []spec.Dimension{race}, nil)
		if err != nil {
			t.Fatal(err)
		}
		missing := newMarkers([]string{"*", "N/A"})
		vs := strings.Split(values, "|")
		if len(vs) > 64 {
			return
		}
		want := func(s string) (uint16, bool) {
			if missing.set[s] || missing.set[strings.TrimSpace(s)] {
				return uint16(race.UnknownCode()), true
			}
			for _, raw := range []string{s, strings.TrimSpace(s)} {
				if g, ok := c.ValueMap[raw]; ok {
					return vocabCode(groups, g)
				}
			}
			return vocabCode(groups, s)
		}
		// Three batches: the values, the values reversed, the values again.
		batches := [][]string{vs, reversed(vs), vs}
		for bi, batch := range batches {
			b := array.NewStringBuilder(memory.DefaultAllocator)
			b.AppendValues(batch, nil)
			arr := b.NewArray()
			b.Release()
			fails := col.convert(arr, missing, nil)
			rejected := map[int]bool{}
			for _, fl := range fails {
				rejected[fl.row] = true
			}
			for i, s := range batch {
				code, ok := want(s)
				switch {
				case ok != !rejected[i]:
					t.Fatalf("batch %d: %q rejected=%v, reference accepts=%v", bi, s, rejected[i], ok)
				case ok && (col.codes[i] != code || !col.valid[i]):
					t.Fatalf("batch %d: %q → code %d (valid %v), reference %d (%s)", bi, s, col.codes[i], col.valid[i], code, groups[code])
				}
			}
			arr.Release()
		}
	})
}

// vocabCode is the naive reference lookup: the group whose folded name equals the
// folded value.
func vocabCode(groups []string, s string) (uint16, bool) {
	for code, g := range groups {
		if fold(g) == fold(s) {
			return uint16(code), true
		}
	}
	return 0, false
}

func reversed(s []string) []string {
	r := make([]string, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}
