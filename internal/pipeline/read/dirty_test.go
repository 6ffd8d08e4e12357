package read

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
)

// dirtyAllocator is a recycling allocator whose free lists hold buffers full of 0xA5: a
// reader that used a byte it did not write would show it.
func dirtyAllocator() *mempool.Allocator {
	a := mempool.New(64 << 20)
	var bufs [][]byte
	for size := 64; size <= 4<<20; size *= 2 {
		for range 4 {
			b := a.Allocate(size)
			for i := range b {
				b[i] = 0xA5
			}
			bufs = append(bufs, b)
		}
	}
	for _, b := range bufs {
		a.Free(b)
	}
	return a
}

// readAll returns every batch of a reader, each column's buffers as they are exported:
// the validity bitmap's bits of the rows, the offsets and the data within their lengths.
func readAll(t *testing.T, data []byte, opts Options) string {
	t.Helper()
	r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out strings.Builder
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, col := range rec.Columns() {
			d := col.Data()
			fmt.Fprintf(&out, "col %d rows %d nulls %d:", i, d.Len(), d.NullN())
			for row := range d.Len() {
				fmt.Fprintf(&out, " %v", col.IsValid(row))
			}
			for _, b := range d.Buffers()[1:] {
				fmt.Fprintf(&out, " [% x]", b.Bytes())
			}
			out.WriteString("\n")
		}
		rec.Release()
	}
	return out.String()
}

// The text batches of CSV and JSON Lines recycle buffers without clearing them: what they
// export is the same over buffers full of old bytes as over fresh ones, batch after batch,
// with nulls, empty values, values that outgrow the batch's first data buffer and a short
// last batch.
func TestTextBatchesOverDirtyBuffers(t *testing.T) {
	var csv, jsonl strings.Builder
	csv.WriteString("a,b\n")
	for i := range 50000 {
		a, b := fmt.Sprint(i), strings.Repeat("x", i%97)
		if i%7 == 0 {
			a = ""
		}
		fmt.Fprintf(&csv, "%s,%s\n", a, b)
		if a == "" {
			fmt.Fprintf(&jsonl, "{\"a\":null,\"b\":%q}\n", b)
		} else {
			fmt.Fprintf(&jsonl, "{\"a\":%q,\"b\":%q}\n", a, b)
		}
	}
	for _, tc := range []struct {
		name string
		data string
		opts Options
	}{
		{"CSV", csv.String(), Options{Format: CSV, Header: true, Columns: []string{"a", "b"}, BatchRows: 20000}},
		{"JSONLines", jsonl.String(), Options{Format: JSONLines, Columns: []string{"a", "b"}, BatchRows: 20000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := tc.opts
			fresh.Allocator = memory.NewGoAllocator()
			want := readAll(t, []byte(tc.data), fresh)
			dirty := tc.opts
			dirty.Allocator = dirtyAllocator()
			if got := readAll(t, []byte(tc.data), dirty); got != want {
				t.Errorf("over dirty buffers the batches differ from those over fresh ones")
			}
			if !strings.Contains(want, "false") {
				t.Fatal("no null read: the test does not cover nulls")
			}
		})
	}
}
