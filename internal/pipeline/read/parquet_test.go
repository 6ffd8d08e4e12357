package read

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// typedSchema has a column of each kind the binary readers must keep.
var typedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "race", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
}, nil)

// typedBatches returns record batches of typedSchema holding rows ids
// [from, to): name "n<id>" (null when id is 2), score id/2 (null when id is 3),
// day 2024-08-01 plus id days, race cycling through three values.
func typedBatches(t testing.TB, sizes ...int) []arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, typedSchema)
	defer b.Release()
	var out []arrow.RecordBatch
	id := 1
	races := []string{"Asian", "Black", "White"}
	for _, n := range sizes {
		for range n {
			b.Field(0).(*array.Int64Builder).Append(int64(id))
			if id == 2 {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append("n" + strconv.Itoa(id))
			}
			if id == 3 {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Float64Builder).Append(float64(id) / 2)
			}
			b.Field(3).(*array.Date32Builder).Append(arrow.Date32(19936 + id))
			if err := b.Field(4).(*array.BinaryDictionaryBuilder).AppendString(races[id%3]); err != nil {
				t.Fatal(err)
			}
			id++
		}
		out = append(out, b.NewRecordBatch())
	}
	return out
}

// typedRows is what reading typedBatches gives for the columns score, race,
// id, name.
func typedRows(n int) [][]string {
	races := []string{"Asian", "Black", "White"}
	rows := make([][]string, n)
	for i := range rows {
		id := i + 1
		score := strconv.FormatFloat(float64(id)/2, 'g', -1, 64)
		name := "n" + strconv.Itoa(id)
		if id == 2 {
			name = null
		}
		if id == 3 {
			score = null
		}
		rows[i] = []string{score, races[id%3], strconv.Itoa(id), name}
	}
	return rows
}

var typedColumns = []string{"score", "race", "id", "name"}

func writeParquet(t testing.TB, sc *arrow.Schema, recs []arrow.RecordBatch, rowGroup int64) []byte {
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf,
		parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WriteBuffered(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parquetFiles builds the files the Parquet tests read, by name.
var parquetFiles = map[string]func(t testing.TB) []byte{
	"typed": func(t testing.TB) []byte {
		return writeParquet(t, typedSchema, typedBatches(t, 10), 4)
	},
	"empty": func(t testing.TB) []byte {
		return writeParquet(t, typedSchema, nil, 4)
	},
	"truncated": func(t testing.TB) []byte {
		b := writeParquet(t, typedSchema, typedBatches(t, 10), 4)
		return b[:len(b)-len(b)/3]
	},
	"bad footer": func(t testing.TB) []byte {
		b := writeParquet(t, typedSchema, typedBatches(t, 10), 4)
		// Keep the magic numbers, garble the metadata before the footer length.
		for i := len(b) - 200; i < len(b)-8; i++ {
			b[i] ^= 0x5a
		}
		return b
	},
	"bad pages": func(t testing.TB) []byte {
		b := writeParquet(t, typedSchema, typedBatches(t, 10), 4)
		for i := 4; i < 300 && i < len(b); i++ {
			b[i] = 0xff
		}
		return b
	},
	"garbage": func(t testing.TB) []byte {
		return []byte("PAR1 this is not a parquet file PAR1")
	},
	"nothing": func(t testing.TB) []byte { return nil },
}

func TestParquet(t *testing.T) {
	int64s := []arrow.Type{arrow.INT64}
	cases := []readCase{
		{
			name:     "columns in another order than the file, nulls, native types",
			file:     "typed",
			opts:     Options{Columns: typedColumns},
			want:     typedRows(10),
			wantType: []arrow.Type{arrow.FLOAT64, arrow.DICTIONARY, arrow.INT64, arrow.STRING},
		},
		{
			name:      "batches of 3 over 10 rows in row groups of 4",
			file:      "typed",
			opts:      Options{Columns: typedColumns, BatchRows: 3},
			want:      typedRows(10),
			wantFirst: []int64{1, 4, 7, 10},
			wantType:  []arrow.Type{arrow.FLOAT64, arrow.DICTIONARY, arrow.INT64, arrow.STRING},
		},
		{
			name:     "one column",
			file:     "typed",
			opts:     Options{Columns: []string{"id"}, BatchRows: 6},
			want:     [][]string{{"1"}, {"2"}, {"3"}, {"4"}, {"5"}, {"6"}, {"7"}, {"8"}, {"9"}, {"10"}},
			wantType: int64s,
		},
		{
			name:     "no rows",
			file:     "empty",
			opts:     Options{Columns: []string{"id"}},
			want:     nil,
			wantType: int64s,
		},
		{
			name:    "missing column",
			file:    "typed",
			opts:    Options{Columns: []string{"id", "grade"}},
			wantIs:  ErrColumnNotFound,
			wantErr: []string{`column "grade" not in the schema, which has "id", "name", "score", "day", "race"`},
		},
		{name: "truncated", file: "truncated", opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
		{name: "garbled footer", file: "bad footer", opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
		{name: "garbled pages", file: "bad pages", opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
		{name: "not parquet", file: "garbage", opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
		{name: "empty file", file: "nothing", opts: Options{Columns: typedColumns}, wantIs: ErrEmpty},
	}
	run(t, Parquet, cases, func(t *testing.T, c readCase) string {
		return writeTemp(t, "data.parquet", parquetFiles[c.file](t))
	})
}

// TestParquetCorruptStoredSchema checks the Arrow schema stored in a Parquet
// file's metadata, which the Arrow IPC decoder would otherwise trust.
func TestParquetCorruptStoredSchema(t *testing.T) {
	stream := writeArrow(t, false, typedSchema, nil)
	meta := streamMessages(t, stream)[0]
	binary.LittleEndian.PutUint32(meta[vectorLength(t, meta, 1):], 1<<30)
	md := arrow.NewMetadata([]string{"ARROW:schema"}, []string{base64.StdEncoding.EncodeToString(stream)})
	sc := arrow.NewSchema(typedSchema.Fields(), &md)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range typedBatches(t, 3) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := writeTemp(t, "bad.parquet", buf.Bytes())
	_, err = readFile(t, p, Options{Format: Parquet, Columns: []string{"id"}})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "stored Arrow schema") {
		t.Errorf("error %v, want ErrMalformed in the stored Arrow schema", err)
	}
}

func FuzzParquet(f *testing.F) {
	for _, name := range []string{"typed", "empty", "truncated", "bad footer", "bad pages", "garbage"} {
		f.Add(parquetFiles[name](f))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		fuzzRead(t, data, Options{Format: Parquet, Columns: typedColumns, BatchRows: 3})
		fuzzRead(t, data, Options{Format: Parquet, Columns: []string{"id"}, BatchRows: 3})
	})
}
