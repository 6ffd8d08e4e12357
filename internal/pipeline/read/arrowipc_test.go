package read

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// writeArrow writes record batches as an Arrow IPC file or stream.
func writeArrow(t testing.TB, file bool, sc *arrow.Schema, recs []arrow.RecordBatch) []byte {
	var buf bytes.Buffer
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if file {
		fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(sc))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	} else {
		w = ipc.NewWriter(&buf, ipc.WithSchema(sc))
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// arrowFiles builds the files the Arrow IPC tests read, by name.
var arrowFiles = map[string]func(t testing.TB) []byte{
	// Batches of 5, 0 and 5 rows.
	"file":   func(t testing.TB) []byte { return writeArrow(t, true, typedSchema, typedBatches(t, 5, 0, 5)) },
	"stream": func(t testing.TB) []byte { return writeArrow(t, false, typedSchema, typedBatches(t, 5, 0, 5)) },
	"empty file": func(t testing.TB) []byte {
		return writeArrow(t, true, typedSchema, nil)
	},
	"empty stream": func(t testing.TB) []byte {
		return writeArrow(t, false, typedSchema, nil)
	},
	"duplicate": func(t testing.TB) []byte {
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		}, nil)
		return writeArrow(t, false, sc, nil)
	},
	"truncated file": func(t testing.TB) []byte {
		b := writeArrow(t, true, typedSchema, typedBatches(t, 5, 5))
		return b[:len(b)*2/3]
	},
	"truncated stream": func(t testing.TB) []byte {
		b := writeArrow(t, false, typedSchema, typedBatches(t, 5, 5))
		return b[:len(b)*2/3]
	},
	"garbled file": func(t testing.TB) []byte {
		b := writeArrow(t, true, typedSchema, typedBatches(t, 5, 5))
		for i := 8; i < len(b)-10; i += 7 {
			b[i] ^= 0xa5
		}
		return b
	},
	"garbled stream": func(t testing.TB) []byte {
		b := writeArrow(t, false, typedSchema, typedBatches(t, 5, 5))
		for i := len(b) / 2; i < len(b); i += 5 {
			b[i] ^= 0xa5
		}
		return b
	},
	"garbage": func(t testing.TB) []byte { return []byte("ARROW1\x00\x00 not really") },
	"nothing": func(t testing.TB) []byte { return nil },
}

func TestArrowIPC(t *testing.T) {
	types := []arrow.Type{arrow.FLOAT64, arrow.DICTIONARY, arrow.INT64, arrow.STRING}
	var cases []readCase
	for _, kind := range []string{"file", "stream"} {
		cases = append(cases,
			readCase{
				name:     kind + ": columns in another order than the file, nulls, native types",
				file:     kind,
				opts:     Options{Columns: typedColumns},
				want:     typedRows(10),
				wantType: types,
			},
			readCase{
				name:      kind + ": batches of 3 over record batches of 5, 0 and 5 rows",
				file:      kind,
				opts:      Options{Columns: typedColumns, BatchRows: 3},
				want:      typedRows(10),
				wantFirst: []int64{1, 4, 6, 9},
				wantType:  types,
			},
			readCase{
				name:     kind + ": no rows",
				file:     "empty " + kind,
				opts:     Options{Columns: []string{"id"}},
				want:     nil,
				wantType: []arrow.Type{arrow.INT64},
			},
			readCase{
				name:    kind + ": missing column",
				file:    kind,
				opts:    Options{Columns: []string{"grade", "id", "sex"}},
				wantIs:  ErrColumnNotFound,
				wantErr: []string{`columns "grade", "sex" not in the schema, which has "id", "name", "score", "day", "race"`},
			},
			readCase{name: kind + ": truncated", file: "truncated " + kind, opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
			readCase{name: kind + ": garbled", file: "garbled " + kind, opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
		)
	}
	cases = append(cases,
		readCase{name: "duplicate field", file: "duplicate", opts: Options{Columns: []string{"id"}}, wantIs: ErrDuplicateColumn},
		readCase{name: "garbage", file: "garbage", opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
		readCase{name: "empty file", file: "nothing", opts: Options{Columns: typedColumns}, wantIs: ErrEmpty},
	)
	run(t, ArrowIPC, cases, func(t *testing.T, c readCase) string {
		return writeTemp(t, "data.arrow", arrowFiles[c.file](t))
	})
}

func FuzzArrowIPC(f *testing.F) {
	for _, name := range []string{"file", "stream", "empty file", "truncated file", "truncated stream", "garbled file", "garbled stream", "garbage"} {
		f.Add(arrowFiles[name](f))
	}
	for _, name := range []string{"dictionary-file.arrow", "types-file.arrow"} {
		b, err := os.ReadFile(filepath.Join("testdata", "arrowjs", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		fuzzRead(t, data, Options{Format: ArrowIPC, Columns: typedColumns, BatchRows: 3})
	})
}

// streamMessages returns the metadata of each message of an IPC stream, as
// slices of b that a test may patch.
func streamMessages(t *testing.T, b []byte) [][]byte {
	var out [][]byte
	for off := 0; off+8 <= len(b); {
		if binary.LittleEndian.Uint32(b[off:]) != 0xFFFFFFFF {
			t.Fatalf("no continuation marker at %d", off)
		}
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if n == 0 {
			break
		}
		meta := b[off+8 : off+8+n]
		body, err := checkMessage(meta)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, meta)
		off += 8 + n + int(body)
	}
	return out
}

// vectorLength returns the position of the length of a vector field of the
// message's header, or of the table at path below it.
func vectorLength(t *testing.T, meta []byte, slot int, path ...int) int {
	m, err := fbRoot(meta)
	if err != nil {
		t.Fatal(err)
	}
	tbl, _, err := m.table(2)
	for _, s := range path {
		if err != nil {
			break
		}
		tbl, _, err = tbl.table(s)
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := tbl.field(slot, 4)
	if err != nil || p < 0 {
		t.Fatalf("no field %d: %v", slot, err)
	}
	q, err := tbl.target(p)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestArrowIPCCorruptMetadata checks metadata that would make the IPC
// decoder allocate without bound or recurse without end.
func TestArrowIPCCorruptMetadata(t *testing.T) {
	nested := arrow.Field{Name: "leaf", Type: arrow.PrimitiveTypes.Int64}
	for range maxFieldDepth + 5 {
		nested = arrow.Field{Name: "s", Type: arrow.StructOf(nested)}
	}
	nested.Name = "id"
	views := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.StringView}}, nil)
	viewBatch := func() []arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, views)
		defer b.Release()
		b.Field(0).(*array.StringViewBuilder).Append("a value longer than twelve bytes")
		return []arrow.RecordBatch{b.NewRecordBatch()}
	}
	cases := []struct {
		name string
		data func(t *testing.T) []byte
		want string
	}{
		{"fields nested too deep", func(t *testing.T) []byte {
			return writeArrow(t, false, arrow.NewSchema([]arrow.Field{nested}, nil), nil)
		}, "nested more than 64 deep"},
		{"huge fields vector", func(t *testing.T) []byte {
			b := writeArrow(t, false, typedSchema, nil)
			meta := streamMessages(t, b)[0]
			binary.LittleEndian.PutUint32(meta[vectorLength(t, meta, 1):], 1<<30)
			return b
		}, "corrupt message metadata"},
		{"huge variadic buffer count", func(t *testing.T) []byte {
			b := writeArrow(t, false, views, viewBatch())
			meta := streamMessages(t, b)[1]
			at := vectorLength(t, meta, 4) + 4 // the first count
			binary.LittleEndian.PutUint64(meta[at:], 1<<40)
			return b
		}, "variadic buffers"},
		{"huge record batch", func(t *testing.T) []byte {
			b := writeArrow(t, true, views, viewBatch())
			meta := streamMessages(t, b[8:])[1]
			m, _ := fbRoot(meta)
			rb, _, _ := m.table(2)
			p, _ := rb.field(0, 8)
			binary.LittleEndian.PutUint64(meta[p:], 1<<40)
			return b
		}, "record batch of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, "bad.arrow", c.data(t))
			_, err := readFile(t, p, Options{Format: ArrowIPC, Columns: []string{"id"}})
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrMalformed and %q", err, c.want)
			}
		})
	}
}

func TestArrowIPCStringView(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.StringView, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	sb := b.Field(0).(*array.StringViewBuilder)
	sb.Append("short")
	sb.AppendNull()
	sb.Append("a value longer than twelve bytes")
	p := writeTemp(t, "views.arrows", writeArrow(t, false, sc, []arrow.RecordBatch{b.NewRecordBatch()}))
	res, err := readFile(t, p, Options{Format: ArrowIPC, Columns: []string{"id"}, BatchRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"short"}, {null}, {"a value longer than twelve bytes"}}
	if !slices.EqualFunc(res.rows, want, slices.Equal) || !slices.Equal(res.firsts, []int64{1, 3}) {
		t.Errorf("got %q in batches at %v", res.rows, res.firsts)
	}
}

// Files written by apache-arrow for JavaScript (hack/arrowjs/gen.mjs): its IPC files hold
// the schema only in the footer, and its strings are dictionaries.
func TestArrowIPCFromJavaScript(t *testing.T) {
	days := [][]string{{"2026-01-01", "1"}, {"2026-01-02", "2"}, {"2026-01-15", "3"}, {"2026-02-03", "4"}, {"2026-02-04", "5"}}
	for _, c := range []struct {
		file string
		cols []string
		want [][]string
	}{
		{"dictionary-file.arrow", []string{"day", "visits"}, days},
		{"dictionary-stream.arrow", []string{"day", "visits"}, days},
		{"types-file.arrow", []string{"visits", "site", "day", "score", "ok"}, [][]string{
			{"0", "North0", "2026-01-01", "0.5", "true"},
			{null, null, "2026-01-02", "1.25", "false"},
			{"7", "South0", null, null, null},
			{"10", "North10", "2026-01-11", "0.5", "true"},
			{null, null, "2026-01-12", "1.25", "false"},
			{"7", "South10", null, null, null},
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			res, err := readFile(t, filepath.Join("testdata", "arrowjs", c.file), Options{Format: ArrowIPC, Columns: c.cols, BatchRows: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.rows, c.want) {
				t.Errorf("rows\n got %q\nwant %q", res.rows, c.want)
			}
		})
	}
}

func TestSchemaMessageFromFooter(t *testing.T) {
	// A file written here has its schema at the start of the stream and in the footer.
	// With the first message cut out, the footer's schema stands in for it.
	sc := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{4, 5, 6}, nil)
	col := b.NewArray()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 3)
	data := writeArrow(t, true, sc, []arrow.RecordBatch{rec})
	col.Release()
	rec.Release()
	n := int(binary.LittleEndian.Uint32(data[12:])) // the schema message's metadata length
	cut := append(append([]byte{}, data[:8]...), data[16+n:]...)
	res, err := readFile(t, writeTemp(t, "cut.arrow", cut), Options{Format: ArrowIPC, Columns: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"4"}, {"5"}, {"6"}}; !reflect.DeepEqual(res.rows, want) {
		t.Errorf("rows %q, want %q", res.rows, want)
	}
}

// A corrupt offsets buffer of a text column is reported as such, naming the column; an
// offset far past the data used to surface as "slice bounds out of range".
func TestArrowIPCCorruptOffsets(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}, {Name: "site", Type: arrow.BinaryTypes.String}}, nil)
	good := func(file bool) []byte {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
		b.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "bb", "ccc"}, nil)
		return writeArrow(t, file, sc, []arrow.RecordBatch{b.NewRecordBatch()})
	}
	offsets := func(v ...uint32) []byte {
		b := make([]byte, 4*len(v))
		for i, o := range v {
			binary.LittleEndian.PutUint32(b[4*i:], o)
		}
		return b
	}
	for _, file := range []bool{false, true} {
		for _, c := range []struct {
			offsets []uint32
			want    string
		}{
			{[]uint32{0, 1, 0x7fffffff, 6}, `column "site": corrupt offsets: value 2 starts or ends at byte 2147483647, outside the column's 6 bytes of data`},
			{[]uint32{0, 3, 1, 6}, `column "site": corrupt offsets: value 1 ends at byte 1, before it starts (3)`},
			{[]uint32{0, 1, 3, 0xffffff00}, `column "site": corrupt offsets: value 3 starts or ends at byte -256`},
		} {
			data := good(file)
			at := bytes.Index(data, offsets(0, 1, 3, 6))
			if at < 0 {
				t.Fatal("offsets not found")
			}
			copy(data[at:], offsets(c.offsets...))
			_, err := readFile(t, writeTemp(t, "bad.arrow", data), Options{Format: ArrowIPC, Columns: []string{"n", "site"}})
			if !errors.Is(err, ErrMalformed) || err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("file %v, offsets %v: got %v, want %q", file, c.offsets, err, c.want)
			}
		}
	}
}
