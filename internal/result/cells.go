package result

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

// The cells table has one column per field of aggregate.Cell, named by its JSON name and in
// its order, so a field added to Cell is a column of the table with no change here:
//
//	string            String (period: Date32)
//	bool              Boolean
//	float64, *float64 Float64 (a nil pointer is null)
//	int…, *int…       Int64 (a nil pointer is null)
//	[]string          List<String> (a nil slice is null, an empty one an empty list)
//	anything else     String holding its JSON (dimensions: {"race_ethnicity":"Asian"})

type kind int

const (
	kString kind = iota
	kDate
	kBool
	kFloat
	kInt
	kStrings
	kJSON
)

type column struct {
	name  string
	field int
	kind  kind
	ptr   bool // a pointer field: nil is null
}

var cellColumns, cellSchema = cellLayout()

// CellSchema is the schema of the cells table.
func CellSchema() *arrow.Schema { return cellSchema }

func cellLayout() ([]column, *arrow.Schema) {
	t := reflect.TypeFor[aggregate.Cell]()
	var cols []column
	var fields []arrow.Field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		c := column{name: name, field: i}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			switch ft.Elem().Kind() {
			case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int32, reflect.Int64:
				c.ptr, ft = true, ft.Elem()
			}
		}
		var at arrow.DataType
		switch ft.Kind() {
		case reflect.String:
			c.kind, at = kString, arrow.BinaryTypes.String
			if name == "period" {
				c.kind, at = kDate, arrow.FixedWidthTypes.Date32
			}
		case reflect.Bool:
			c.kind, at = kBool, arrow.FixedWidthTypes.Boolean
		case reflect.Float64, reflect.Float32:
			c.kind, at = kFloat, arrow.PrimitiveTypes.Float64
		case reflect.Int, reflect.Int32, reflect.Int64:
			c.kind, at = kInt, arrow.PrimitiveTypes.Int64
		case reflect.Slice:
			if ft.Elem().Kind() != reflect.String {
				c.kind, at = kJSON, arrow.BinaryTypes.String
				break
			}
			c.kind, at = kStrings, arrow.ListOf(arrow.BinaryTypes.String)
			c.ptr = true // a nil slice is null
		default:
			c.kind, at = kJSON, arrow.BinaryTypes.String
		}
		cols = append(cols, c)
		fields = append(fields, arrow.Field{Name: name, Type: at, Nullable: c.ptr})
	}
	return cols, arrow.NewSchema(fields, nil)
}

// WriteCells writes cells as the Parquet cells table.
func WriteCells(w io.Writer, cells []aggregate.Cell) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, cellSchema)
	defer b.Release()
	for i := range cells {
		v := reflect.ValueOf(&cells[i]).Elem()
		for j, c := range cellColumns {
			if err := appendValue(b.Field(j), c, v.Field(c.field)); err != nil {
				return fmt.Errorf("writing cells: %s: %w", c.name, err)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCreatedBy("backbone"))
	fw, err := pqarrow.NewFileWriter(cellSchema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fmt.Errorf("writing cells: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		return fmt.Errorf("writing cells: %w", err)
	}
	return fw.Close()
}

func appendValue(b array.Builder, c column, v reflect.Value) error {
	if c.kind == kStrings {
		lb := b.(*array.ListBuilder)
		if v.IsNil() {
			lb.AppendNull()
			return nil
		}
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, s := range v.Interface().([]string) {
			vb.Append(s)
		}
		return nil
	}
	if c.ptr {
		if v.IsNil() {
			b.AppendNull()
			return nil
		}
		v = v.Elem()
	}
	switch c.kind {
	case kString:
		b.(*array.StringBuilder).Append(v.String())
	case kDate:
		t, err := time.Parse(time.DateOnly, v.String())
		if err != nil {
			return err
		}
		b.(*array.Date32Builder).Append(arrow.Date32FromTime(t))
	case kBool:
		b.(*array.BooleanBuilder).Append(v.Bool())
	case kFloat:
		b.(*array.Float64Builder).Append(v.Float())
	case kInt:
		b.(*array.Int64Builder).Append(v.Int())
	case kJSON:
		j, err := json.Marshal(v.Interface())
		if err != nil {
			return err
		}
		b.(*array.StringBuilder).Append(string(j))
	}
	return nil
}

// ReadCells reads a cells table. Columns are matched to Cell's fields by name: a column the
// table lacks leaves its field zero, one Cell lacks is ignored.
func ReadCells(ctx context.Context, data []byte) ([]aggregate.Cell, error) {
	tbl, err := pqarrow.ReadTable(ctx, bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("reading cells: %w", err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	var cells []aggregate.Cell
	for tr.Next() {
		rec := tr.RecordBatch()
		base := len(cells)
		cells = append(cells, make([]aggregate.Cell, rec.NumRows())...)
		for _, c := range cellColumns {
			idx := rec.Schema().FieldIndices(c.name)
			if len(idx) == 0 {
				continue
			}
			arr := rec.Column(idx[0])
			for r := range int(rec.NumRows()) {
				f := reflect.ValueOf(&cells[base+r]).Elem().Field(c.field)
				if err := setValue(f, c, arr, r); err != nil {
					return nil, fmt.Errorf("reading cells: row %d, %s: %w", base+r, c.name, err)
				}
			}
		}
	}
	if err := tr.Err(); err != nil {
		return nil, fmt.Errorf("reading cells: %w", err)
	}
	return cells, nil
}

// setValue sets a Cell's field from row r of a column. Strings are copied: an Arrow
// string points into its array's buffer, which the allocator (every command installs a
// recycling one, internal/pipeline/mempool) hands to the next reader once the table is
// released, while the cells live on (the manager publishes them).
func setValue(f reflect.Value, c column, arr arrow.Array, r int) error {
	if arr.IsNull(r) {
		return nil // a nil pointer, or the zero value
	}
	if l, ok := arr.(*array.List); ok && c.kind == kStrings {
		values, ok := l.ListValues().(*array.String)
		if !ok {
			return fmt.Errorf("unexpected list of %s", l.ListValues().DataType())
		}
		from, to := l.ValueOffsets(r)
		list := make([]string, 0, to-from)
		for j := from; j < to; j++ {
			list = append(list, strings.Clone(values.Value(int(j))))
		}
		f.Set(reflect.ValueOf(list))
		return nil
	}
	dst := f
	if c.ptr {
		dst = reflect.New(f.Type().Elem()).Elem()
	}
	switch a := arr.(type) {
	case *array.String:
		if c.kind == kJSON {
			if err := json.Unmarshal([]byte(a.Value(r)), dst.Addr().Interface()); err != nil {
				return err
			}
		} else {
			dst.SetString(strings.Clone(a.Value(r)))
		}
	case *array.Date32:
		dst.SetString(a.Value(r).ToTime().Format(time.DateOnly))
	case *array.Boolean:
		dst.SetBool(a.Value(r))
	case *array.Float64:
		dst.SetFloat(a.Value(r))
	case *array.Int64:
		dst.SetInt(a.Value(r))
	default:
		return fmt.Errorf("unexpected column type %s", arr.DataType())
	}
	if c.ptr {
		f.Set(dst.Addr())
	}
	return nil
}
