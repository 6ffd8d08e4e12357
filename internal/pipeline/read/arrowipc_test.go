package read

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
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
		readCase{name: "empty file", file: "nothing", opts: Options{Columns: typedColumns}, wantIs: ErrMalformed},
	)
	run(t, ArrowIPC, cases, func(t *testing.T, c readCase) string {
		return writeTemp(t, "data.arrow", arrowFiles[c.file](t))
	})
}

func FuzzArrowIPC(f *testing.F) {
	for _, name := range []string{"file", "stream", "empty file", "truncated file", "truncated stream", "garbled file", "garbled stream", "garbage"} {
		f.Add(arrowFiles[name](f))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		fuzzRead(t, data, Options{Format: ArrowIPC, Columns: typedColumns, BatchRows: 3})
	})
}
