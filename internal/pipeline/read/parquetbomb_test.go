package read

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// peakAllocator records the most bytes held at once.
type peakAllocator struct {
	memory.Allocator
	mu        sync.Mutex
	cur, peak int
}

func (a *peakAllocator) Allocate(n int) []byte {
	a.mu.Lock()
	a.cur += n
	a.peak = max(a.peak, a.cur)
	a.mu.Unlock()
	return a.Allocator.Allocate(n)
}

func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	a.mu.Lock()
	a.cur += n - len(b)
	a.peak = max(a.peak, a.cur)
	a.mu.Unlock()
	return a.Allocator.Reallocate(n, b)
}

func (a *peakAllocator) Free(b []byte) {
	a.mu.Lock()
	a.cur -= len(b)
	a.mu.Unlock()
	a.Allocator.Free(b)
}

// A small, valid Parquet file of rows sharing one long dictionary-encoded string (text
// columns, no stored Arrow schema) is read in full with memory bounded by a slice of text,
// not by the rows times the string.
func TestParquetDictionaryBomb(t *testing.T) {
	const rows, long = 2000, 256 << 10 // 500 MiB of text as strings
	mem := memory.NewGoAllocator()
	dict := array.NewStringBuilder(mem)
	dict.Append(strings.Repeat("A", long))
	values := dict.NewArray()
	dict.Release()
	ib := array.NewInt32Builder(mem)
	for i := 0; i < rows; i++ {
		ib.Append(0)
	}
	idx := ib.NewArray()
	ib.Release()
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	col := array.NewDictionaryArray(dt, idx, values)
	sc := arrow.NewSchema([]arrow.Field{{Name: "note", Type: dt, Nullable: true}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, rows)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties())
	must(t, err)
	must(t, w.Write(rec))
	must(t, w.Close())
	rec.Release()
	col.Release()
	idx.Release()
	values.Release()
	if buf.Len() > 1<<20 {
		t.Fatalf("the file has %d bytes; want a small one", buf.Len())
	}

	peak := &peakAllocator{Allocator: memory.NewGoAllocator()}
	r, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Options{Format: Parquet, Columns: []string{"note"}, Allocator: peak})
	must(t, err)
	defer r.Close()
	if got := r.Schema().Field(0).Type; got.ID() != arrow.STRING {
		t.Errorf("note has type %v, want the file's utf8", got)
	}
	n := 0
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
		s := b.Column(0).(*array.String)
		for i := 0; i < s.Len(); i++ {
			if s.ValueLen(i) != long {
				t.Fatalf("row %d: %d bytes, want %d", n+i, s.ValueLen(i), long)
			}
		}
		n += s.Len()
		b.Release()
	}
	if n != rows {
		t.Errorf("read %d rows, want %d", n, rows)
	}
	if peak.peak > 200<<20 {
		t.Errorf("held %d MiB at once, want under 200", peak.peak>>20)
	}
}
