package read

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// parquetReader reads the declared columns, and only those, a batch at a
// time through buffered column-chunk streams.
type parquetReader struct {
	pf   *file.Reader
	rr   pqarrow.RecordReader
	sc   *arrow.Schema
	perm []int // column of rr's batches for each declared column
	mem  memory.Allocator

	// The batch being handed out in slices, and the next row of it.
	rec arrow.RecordBatch
	off int64
}

// maxSliceText bounds the text made strings from dictionaries at a time: a batch whose
// text would exceed it is handed out in slices of fewer rows.
const maxSliceText = 64 << 20

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
	// Text is read as dictionaries, as it is stored: a dictionary of one long string can
	// stand for thousands of rows, which are made strings a bounded slice at a time.
	aprops := pqarrow.ArrowReadProperties{BatchSize: int64(o.BatchRows)}
	for i, sch := 0, pf.MetaData().Schema; i < sch.NumColumns(); i++ {
		if c := sch.Column(i); c.PhysicalType() == parquet.Types.ByteArray && isStringColumn(c) {
			aprops.SetReadDict(i, true)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, aprops, mem)
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
	p.mem = o.Allocator
	// Columns stored as dictionaries stay dictionaries; text read as one is made strings.
	stored, err := pqarrow.FromParquet(pf.MetaData().Schema, &pqarrow.ArrowReadProperties{}, pf.MetaData().KeyValueMetadata())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	p.sc = undictionary(p.sc, stored)
	return p, nil
}

// isStringColumn says a leaf holds UTF-8 text.
func isStringColumn(c *schema.Column) bool {
	if _, ok := c.LogicalType().(*schema.StringLogicalType); ok {
		return true
	}
	return c.ConvertedType() == schema.ConvertedTypes.UTF8
}

// undictionary returns sc with dictionary fields replaced by their value type, unless
// the file's own schema, stored, declares them dictionaries.
func undictionary(sc, stored *arrow.Schema) *arrow.Schema {
	fields := sc.Fields()
	for i, f := range fields {
		dt, ok := f.Type.(*arrow.DictionaryType)
		if !ok {
			continue
		}
		if j := stored.FieldIndices(f.Name); len(j) == 1 && stored.Field(j[0]).Type.ID() == arrow.DICTIONARY {
			continue
		}
		fields[i].Type = dt.ValueType
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md)
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
	for p.rec != nil || p.rr.Next() {
		if p.rec == nil {
			p.rec, p.off = p.rr.RecordBatch(), 0
		}
		rec := p.rec
		if p.off >= rec.NumRows() {
			p.rec = nil
			continue
		}
		end := p.sliceEnd(rec, p.off)
		out, err := p.slice(rec, p.off, end)
		if err != nil {
			return nil, err
		}
		p.off = end
		return out, nil
	}
	if err := p.rr.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil, io.EOF
}

// sliceEnd returns the end of the slice of rec from row off on whose dictionary text fits
// maxSliceText (one row at least).
func (p *parquetReader) sliceEnd(rec arrow.RecordBatch, off int64) int64 {
	var dicts []*array.Dictionary
	for _, c := range p.perm {
		if d, ok := rec.Column(c).(*array.Dictionary); ok {
			dicts = append(dicts, d)
		}
	}
	if len(dicts) == 0 {
		return rec.NumRows()
	}
	text := 0
	for i := off; i < rec.NumRows(); i++ {
		row := 0
		for _, d := range dicts {
			if d.IsValid(int(i)) {
				row += dictValueLen(d, int(i))
			}
		}
		if text += row; text > maxSliceText && i > off {
			return i
		}
	}
	return rec.NumRows()
}

// dictValueLen is the length of row i's value of a dictionary of strings.
func dictValueLen(d *array.Dictionary, i int) int {
	if s, ok := d.Dictionary().(*array.String); ok {
		return s.ValueLen(d.GetValueIndex(i))
	}
	return 0
}

// slice returns rows [i, j) of the declared columns of rec, dictionaries of strings made
// strings.
func (p *parquetReader) slice(rec arrow.RecordBatch, i, j int64) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(p.perm))
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for k, c := range p.perm {
		col := rec.Column(c)
		d, ok := col.(*array.Dictionary)
		if !ok || p.sc.Field(k).Type.ID() == arrow.DICTIONARY {
			cols[k] = array.NewSlice(col, i, j)
			continue
		}
		dict, ok := d.Dictionary().(*array.String)
		if !ok {
			return nil, fmt.Errorf("column %q: a dictionary of %s, not of text", p.sc.Field(k).Name, d.Dictionary().DataType())
		}
		b := array.NewStringBuilder(p.mem)
		b.Reserve(int(j - i))
		for r := int(i); r < int(j); r++ {
			if d.IsNull(r) {
				b.AppendNull()
			} else {
				b.Append(dict.Value(d.GetValueIndex(r)))
			}
		}
		cols[k] = b.NewArray()
		b.Release()
	}
	return array.NewRecordBatch(p.sc, cols, j-i), nil
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
