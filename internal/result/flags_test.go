package result

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

// The cells table carries every cell's reliability flags: a list, empty when reliable,
// null when the cell publishes no value; they read back as written.
func TestCellsCarryFlags(t *testing.T) {
	v := 3.0
	cells := []aggregate.Cell{
		{Indicator: "a", Period: "2024-01-01", Value: &v, Reliable: true, Flags: []string{}},
		{Indicator: "a", Period: "2024-01-01", Value: &v, Flags: []string{"n<30", "rse"}},
		{Indicator: "a", Period: "2024-01-01", Suppressed: true},
	}
	var buf bytes.Buffer
	if err := WriteCells(&buf, cells); err != nil {
		t.Fatal(err)
	}
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(buf.Bytes()), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices("flags")
	if len(idx) != 1 {
		t.Fatalf("no flags column in %v", tbl.Schema())
	}
	col := tbl.Column(idx[0]).Data().Chunk(0).(*array.List)
	values := col.ListValues().(*array.String)
	want := []string{"[]", "[n<30 rse]", "null"}
	for i, w := range want {
		got := "null"
		if col.IsValid(i) {
			from, to := col.ValueOffsets(i)
			var fs []string
			for j := from; j < to; j++ {
				fs = append(fs, values.Value(int(j)))
			}
			got = fmt.Sprint(fs)
		}
		if got != w {
			t.Errorf("row %d: flags %s, want %s", i, got, w)
		}
	}
	back, err := ReadCells(context.Background(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for i := range cells {
		if got, want := back[i].Flags, cells[i].Flags; (got == nil) != (want == nil) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("row %d: read back flags %#v, wrote %#v", i, got, want)
		}
	}
}
