package aggregate

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The text reader hands out exactly the rows asked for, whatever the row groups and batches
// of the Parquet file: slices within a batch, concatenations across them.
func TestTextReaderAlignsRows(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(3)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	const rows = 23
	nb := array.NewInt64Builder(memory.DefaultAllocator)
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	for i := 0; i < rows; i++ {
		nb.Append(int64(i))
		if i%5 == 4 {
			sb.AppendNull()
		} else {
			sb.Append(fmt.Sprintf("v%d", i))
		}
	}
	rec := array.NewRecordBatch(schema, []arrow.Array{nb.NewArray(), sb.NewArray()}, rows)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err := openText(bytes.NewReader(buf.Bytes()), []int{1}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	row := 0
	for _, n := range []int64{1, 2, 7, 3, 10} { // 23 rows in row groups of 3
		cols, err := tr.next(n)
		if err != nil {
			t.Fatalf("next(%d): %v", n, err)
		}
		s := cols[0].(*array.String)
		if int64(s.Len()) != n {
			t.Fatalf("next(%d) gave %d rows", n, s.Len())
		}
		for i := 0; i < s.Len(); i++ {
			want := fmt.Sprintf("v%d", row)
			if row%5 == 4 {
				if !s.IsNull(i) {
					t.Errorf("row %d: %q, want null", row, s.Value(i))
				}
			} else if s.IsNull(i) || s.Value(i) != want {
				t.Errorf("row %d: %q, want %q", row, s.ValueStr(i), want)
			}
			row++
		}
		cols[0].Release()
	}
	if _, err := tr.next(1); err == nil {
		t.Error("reading past the last row: no error")
	}
}
