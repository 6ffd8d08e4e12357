package read

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetReader reads the declared columns, and only those, a batch at a
// time through buffered column-chunk streams.
type parquetReader struct {
	pf   *file.Reader
	rr   pqarrow.RecordReader
	sc   *arrow.Schema
	perm []int // column of rr's batches for each declared column
}

func openParquet(r io.ReaderAt, size int64, o *Options) (_ *parquetReader, err error) {
	mem := boundedAllocator{o.Allocator}
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	props.BufferSize = bufferBytes
	// A page cannot be larger than the file that holds it.
	props.MaxCompressedPageSize = min(parquet.DefaultMaxCompressedPageSize, max(size, 1))
	pf, err := file.NewParquetReader(io.NewSectionReader(r, 0, size), file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	p := &parquetReader{pf: pf}
	defer func() {
		if err != nil {
			_ = p.close()
		}
	}()
	if err := checkStoredSchema(pf); err != nil {
		return nil, err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(o.BatchRows)}, mem)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	fields := fr.Manifest.Fields
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Field.Name
	}
	idx, err := match(o.Columns, names, "the schema")
	if err != nil {
		return nil, err
	}
	var leaves []int
	for _, i := range idx {
		leaves = appendLeaves(leaves, &fields[i])
	}
	if len(leaves) == 0 {
		return nil, fmt.Errorf("%w: the declared columns have no data columns", ErrMalformed)
	}
	p.rr, err = fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	p.sc, p.perm, err = project(p.rr.Schema(), o.Columns)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkStoredSchema checks the Arrow schema that Arrow writers store in a
// Parquet file's metadata, which pqarrow decodes with the IPC decoder.
func checkStoredSchema(pf *file.Reader) error {
	kv := pf.MetaData().KeyValueMetadata()
	if kv == nil {
		return nil
	}
	s := kv.FindValue("ARROW:schema")
	if s == nil {
		return nil
	}
	// Decoded as pqarrow does: padded base64, else unpadded.
	var b []byte
	var err error
	if len(*s)%4 == 0 {
		b, err = base64.StdEncoding.DecodeString(*s)
	}
	if len(b) == 0 || err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(*s); err != nil {
			return nil // pqarrow reports it
		}
	}
	if err := checkSchemaStream(b); err != nil {
		return fmt.Errorf("%w: the stored Arrow schema: %w", ErrMalformed, err)
	}
	return nil
}

func appendLeaves(dst []int, f *pqarrow.SchemaField) []int {
	if f.IsLeaf() {
		return append(dst, f.ColIndex)
	}
	for i := range f.Children {
		dst = appendLeaves(dst, &f.Children[i])
	}
	return dst
}

// project finds the declared columns in a schema and returns the schema of
// the projection and the position of each column.
func project(sc *arrow.Schema, cols []string) (*arrow.Schema, []int, error) {
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	idx, err := match(cols, names, "the schema")
	if err != nil {
		return nil, nil, err
	}
	fields := make([]arrow.Field, len(idx))
	for j, i := range idx {
		fields[j] = sc.Field(i)
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md), idx, nil
}

// projectBatch returns rows [i, j) of the declared columns of rec.
func projectBatch(sc *arrow.Schema, perm []int, rec arrow.RecordBatch, i, j int64) arrow.RecordBatch {
	cols := make([]arrow.Array, len(perm))
	for k, c := range perm {
		cols[k] = array.NewSlice(rec.Column(c), i, j)
	}
	out := array.NewRecordBatch(sc, cols, j-i)
	for _, a := range cols {
		a.Release()
	}
	return out
}

func (p *parquetReader) schema() *arrow.Schema { return p.sc }

func (p *parquetReader) next() (arrow.RecordBatch, error) {
	for p.rr.Next() {
		rec := p.rr.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		return projectBatch(p.sc, p.perm, rec, 0, rec.NumRows()), nil
	}
	if err := p.rr.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil, io.EOF
}

func (p *parquetReader) close() error {
	if p.rr != nil {
		p.rr.Release()
		p.rr = nil
	}
	if p.pf != nil {
		err := p.pf.Close()
		p.pf = nil
		return err
	}
	return nil
}
