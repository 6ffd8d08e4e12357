package aggregate

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ResultSchema is the schema of the result table: the columns of the output contract,
// dimensions as a JSON object.
var ResultSchema = arrow.NewSchema([]arrow.Field{
	{Name: "namespace", Type: arrow.BinaryTypes.String},
	{Name: "initiative", Type: arrow.BinaryTypes.String},
	{Name: "indicator", Type: arrow.BinaryTypes.String},
	{Name: "period", Type: arrow.FixedWidthTypes.Date32},
	{Name: "dimensions", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "numerator", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "denominator", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "suppressed", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "ciLower", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ciUpper", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "reliable", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "partial", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "note", Type: arrow.BinaryTypes.String},
	{Name: "flags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
}, nil)

// WriteParquet writes cells as the result table.
func WriteParquet(w io.Writer, cells []Cell) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, ResultSchema)
	defer b.Release()
	f64 := func(i int, v *float64) {
		fb := b.Field(i).(*array.Float64Builder)
		if v == nil {
			fb.AppendNull()
		} else {
			fb.Append(*v)
		}
	}
	for _, c := range cells {
		b.Field(0).(*array.StringBuilder).Append(c.Namespace)
		b.Field(1).(*array.StringBuilder).Append(c.Initiative)
		b.Field(2).(*array.StringBuilder).Append(c.Indicator)
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(mustDate(c.Period)))
		dims, _ := json.Marshal(c.Dimensions)
		b.Field(4).(*array.StringBuilder).Append(string(dims))
		f64(5, c.Value)
		f64(6, c.Numerator)
		f64(7, c.Denominator)
		if c.N == nil {
			b.Field(8).AppendNull()
		} else {
			b.Field(8).(*array.Int64Builder).Append(*c.N)
		}
		b.Field(9).(*array.BooleanBuilder).Append(c.Suppressed)
		f64(10, c.CILower)
		f64(11, c.CIUpper)
		b.Field(12).(*array.BooleanBuilder).Append(c.Reliable)
		b.Field(13).(*array.BooleanBuilder).Append(c.Partial)
		b.Field(14).(*array.StringBuilder).Append(c.Note)
		appendFlags(b.Field(15).(*array.ListBuilder), c.Flags)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCreatedBy("backbone"))
	fw, err := pqarrow.NewFileWriter(ResultSchema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fmt.Errorf("writing result table: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		return fmt.Errorf("writing result table: %w", err)
	}
	return fw.Close()
}

// appendFlags appends a cell's flags: null when it publishes no value (nil flags).
func appendFlags(lb *array.ListBuilder, flags []string) {
	if flags == nil {
		lb.AppendNull()
		return
	}
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for _, f := range flags {
		vb.Append(f)
	}
}
