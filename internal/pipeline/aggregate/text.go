package aggregate

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

// textReader reads the text columns an aggregation needs from a Parquet snapshot, in
// step with its engine layout: both hold the same rows in the same order, so the next n
// rows of one are the next n rows of the other.
type textReader struct {
	pf   *file.Reader
	rr   pqarrow.RecordReader
	cols []int // manifest column of each column read
	cur  arrow.RecordBatch
	off  int64
}

func openText(r ReadAtSeeker, cols []int, mem memory.Allocator) (*textReader, error) {
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, fmt.Errorf("opening Parquet snapshot: %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, mem)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("opening Parquet snapshot: %w", err)
	}
	rr, err := fr.GetRecordReader(context.Background(), cols, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("reading Parquet snapshot: %w", err)
	}
	return &textReader{pf: pf, rr: rr, cols: cols}, nil
}

// next returns the next n rows of every column read; the caller releases them.
func (t *textReader) next(n int64) ([]arrow.Array, error) {
	pieces := make([][]arrow.Array, len(t.cols))
	for need := n; need > 0; {
		if t.cur == nil || t.off == t.cur.NumRows() {
			if t.cur != nil {
				t.cur.Release()
				t.cur = nil
			}
			if !t.rr.Next() {
				if err := t.rr.Err(); err != nil {
					return nil, fmt.Errorf("reading Parquet snapshot: %w", err)
				}
				return nil, fmt.Errorf("the Parquet snapshot has fewer rows than its engine layout")
			}
			t.cur = t.rr.RecordBatch()
			t.cur.Retain()
			t.off = 0
		}
		take := min(need, t.cur.NumRows()-t.off)
		for j := range t.cols {
			pieces[j] = append(pieces[j], array.NewSlice(t.cur.Column(j), t.off, t.off+take))
		}
		t.off += take
		need -= take
	}
	out := make([]arrow.Array, len(t.cols))
	for j, ps := range pieces {
		if len(ps) == 1 {
			out[j] = ps[0]
			continue
		}
		c, err := array.Concatenate(ps, memory.DefaultAllocator)
		for _, p := range ps {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("reading Parquet snapshot: %w", err)
		}
		out[j] = c
	}
	return out, nil
}

func (t *textReader) close() {
	if t.cur != nil {
		t.cur.Release()
	}
	t.rr.Release()
	t.pf.Close()
}

// NeedsParquet reports whether aggregating p reads a column of source's snapshot that only
// its Parquet file holds (text filtered on, or whose distinct values are counted).
func NeedsParquet(p *spec.Aggregate, source string, m *layout.SnapshotManifest) bool {
	only := map[string]bool{}
	for _, c := range m.Columns {
		if c.ParquetOnly {
			only[c.Name] = true
		}
	}
	if len(only) == 0 {
		return false
	}
	for _, ind := range p.Indicators {
		for _, op := range operands(ind) {
			if op.Source != source {
				continue
			}
			if only[op.Column] {
				return true
			}
			for _, f := range op.Filters {
				if only[f.Column] {
					return true
				}
			}
		}
	}
	return false
}
