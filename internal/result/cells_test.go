package result

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

func f(v float64) *float64 { return &v }
func n(v int64) *int64     { return &v }

// The cells table gives back exactly the cells written: null stays null, zero stays zero,
// an empty group map stays empty, and every field keeps its value.
func TestCellsRoundTrip(t *testing.T) {
	cells := []aggregate.Cell{
		{Namespace: "ns", Initiative: "ini", Indicator: "a", Period: "2021-01-01", Dimensions: map[string]string{},
			Value: f(0), Numerator: f(0), Denominator: f(-0.5), N: n(0), CILower: f(0), CIUpper: f(3.6888794541139363), Reliable: true},
		{Namespace: "ns", Initiative: "ini", Indicator: "a", Period: "1999-12-31", Dimensions: map[string]string{"race": "Black", "income": "Low – under $25k"},
			Suppressed: true, Partial: true},
		{Namespace: "ns", Initiative: "ini", Indicator: "b", Period: "2026-11-01", Dimensions: nil,
			Value: f(math.MaxFloat64), N: n(math.MaxInt64), CILower: f(math.SmallestNonzeroFloat64), Note: "no units in this cell ✓"},
	}
	var b bytes.Buffer
	if err := WriteCells(&b, cells); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCells(context.Background(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cells) {
		t.Errorf("read back:\n%+v\nwritten:\n%+v", got, cells)
	}
	if got[0].Value == nil || got[1].Value != nil {
		t.Error("a zero value and a null value are told apart")
	}
	schema := CellSchema()
	for name, typ := range map[string]string{"period": "date32", "dimensions": "utf8", "value": "float64", "n": "int64", "suppressed": "bool"} {
		idx := schema.FieldIndices(name)
		if len(idx) != 1 || schema.Field(idx[0]).Type.String() != typ {
			t.Errorf("column %s: want type %s in %s", name, typ, schema)
		}
	}
}

// No cells is a table of no rows, read back as no cells.
func TestCellsEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCells(&b, nil); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCells(context.Background(), b.Bytes())
	if err != nil || got != nil {
		t.Errorf("read back %v, %v; want no cells", got, err)
	}
}
