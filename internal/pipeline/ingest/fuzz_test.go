package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// FuzzConvert feeds arbitrary text to every column type's parser: a value is either
// converted or rejected with a reason, never both, and nothing panics.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{"", " ", "2024-02-29", "2023-02-29", "2024-08-15T23:30:00", "2024-08-15T07:30:00Z",
		"1", "-9", "12.0", "1e3", "NaN", "Inf", "true", "YES", "0", " hispanic  or latino ", "9", "*", "N/A", "\xff\xfe",
		" N/A\t", "\u00a0*\u00a0", "\u2003", "N/A "} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		f.Fatal(err)
	}
	cols := []spec.Column{
		{Name: "s", Type: spec.TypeString},
		{Name: "i", Type: spec.TypeInteger},
		{Name: "n", Type: spec.TypeNumber},
		{Name: "b", Type: spec.TypeBoolean},
		{Name: "d", Type: spec.TypeDate},
		{Name: "dl", Type: spec.TypeDate, Format: "01/02/2006"},
		{Name: "t", Type: spec.TypeTimestamp},
		{Name: "g", Type: spec.TypeString, Dimension: "race_ethnicity", ValueMap: map[string]string{"1": "Asian", "9": "Unknown"}},
	}
	missing := newMarkers([]string{"*", "N/A", " ", "a marker longer than sixty-four bytes, which the length table does not cover"})
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := missing.has(s), missing.set[s] || missing.set[strings.TrimSpace(s)]; got != want {
			t.Fatalf("markers.has(%q) = %v, want %v", s, got, want)
		}
		b := array.NewStringBuilder(memory.DefaultAllocator)
		b.Append(s)
		arr := b.NewArray()
		defer arr.Release()
		for _, c := range cols {
			col, err := newColumn(c, []spec.Dimension{race}, loc)
			if err != nil {
				t.Fatal(err)
			}
			fails := col.convert(arr, missing, nil)
			if len(fails) > 1 {
				t.Fatalf("%s: %d failures for one value", c.Name, len(fails))
			}
			if len(fails) == 1 && (fails[0].reason == "" || col.valid[0]) {
				t.Fatalf("%s: failure %+v with valid=%v", c.Name, fails[0], col.valid[0])
			}
			if c.Dimension != "" && len(fails) == 0 && int(col.codes[0]) > len(race.Values) {
				t.Fatalf("code %d out of range", col.codes[0])
			}
		}
	})
}
