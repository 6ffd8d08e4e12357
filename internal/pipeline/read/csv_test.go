package read

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func numberedCSV(n int) string {
	var b strings.Builder
	b.WriteString("b,a\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "x%d,%d\n", i, i)
	}
	return b.String()
}

func TestCSV(t *testing.T) {
	hdr := Options{Header: true}
	cases := []readCase{
		{
			name: "columns in another order than the file",
			file: "a,b,c\n1,2,3\n4,5,6\n",
			opts: Options{Header: true, Columns: []string{"c", "a"}},
			want: [][]string{{"3", "1"}, {"6", "4"}},
		},
		{
			name: "empty fields are null",
			file: "a,b\n,x\n\"\",y\n1,\n",
			opts: hdr,
			want: [][]string{{null, "x"}, {null, "y"}, {"1", null}},
		},
		{
			name: "quoted fields, delimiters and line breaks inside",
			file: "a,b\n\"1,5\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n",
			opts: hdr,
			want: [][]string{{"1,5", `say "hi"`}, {"two\nlines", "z"}},
		},
		{
			name:      "batches of 3 over 10 rows",
			file:      numberedCSV(10),
			opts:      Options{Header: true, BatchRows: 3},
			want:      numbered(10),
			wantFirst: []int64{1, 4, 7, 10},
		},
		{
			name:      "one batch when rows fit",
			file:      numberedCSV(10),
			opts:      Options{Header: true, BatchRows: 10},
			want:      numbered(10),
			wantFirst: []int64{1},
		},
		{
			name: "byte order mark, CRLF, blank lines, spaces around header names",
			file: "\ufeff a ,b\r\n1,2\r\n\r\n3,4\r\n",
			opts: hdr,
			want: [][]string{{"1", "2"}, {"3", "4"}},
		},
		{
			name: "semicolon delimiter",
			file: "a;b\n1,5;2\n",
			opts: Options{Header: true, Delimiter: ';'},
			want: [][]string{{"1,5", "2"}},
		},
		{
			name: "tab delimiter",
			file: "a\tb\n1\t2\n",
			opts: Options{Header: true, Delimiter: '\t'},
			want: [][]string{{"1", "2"}},
		},
		{
			name: "no header: columns by position, extra fields ignored",
			file: "1,2,3\n4,5\n",
			opts: Options{Columns: []string{"x", "y"}},
			want: [][]string{{"1", "2"}, {"4", "5"}},
		},
		{
			name: "header only",
			file: "a,b\n",
			opts: hdr,
			want: nil,
		},
		{
			name:    "CR-only line endings",
			file:    "a,b\r1,2\r3,4\r",
			opts:    hdr,
			wantErr: []string{`the lines end with a carriage return only ("\r", as old Mac exports do)`},
		},
		{
			name: "a carriage return at the very end only",
			file: "a,b\r",
			opts: hdr,
			want: nil,
		},
		{
			name:    "no header, empty file",
			file:    "",
			opts:    Options{},
			wantErr: []string{"the file is empty (0 bytes)"},
		},
		{
			name:    "missing column",
			file:    "a,c\n1,2\n",
			opts:    Options{Header: true, Columns: []string{"a", "b"}},
			wantIs:  ErrColumnNotFound,
			wantErr: []string{`column "b" not in the header, which has "a", "c"`},
		},
		{
			name:    "duplicate header",
			file:    "a,b,a\n1,2,3\n",
			opts:    hdr,
			wantIs:  ErrDuplicateColumn,
			wantErr: []string{`"a"`},
		},
		{
			name:    "empty file",
			file:    "",
			opts:    hdr,
			wantErr: []string{"the file is empty (0 bytes)"},
		},
		{
			name:    "short row",
			file:    "a,b\n1,2\n3\n",
			opts:    hdr,
			wantIs:  ErrFieldCount,
			wantErr: []string{"row 2 (line 3)", "has 1, the header has 2"},
		},
		{
			name:    "long row",
			file:    "a,b\n1,2\n3,4\n5,6,7\n",
			opts:    Options{Header: true, BatchRows: 1},
			wantIs:  ErrFieldCount,
			wantErr: []string{"row 3 (line 4)", "has 3, the header has 2"},
		},
		{
			name:    "row after a multi-line field",
			file:    "a,b\n\"x\ny\",2\n3,4,5\n",
			opts:    hdr,
			wantIs:  ErrFieldCount,
			wantErr: []string{"row 2 (line 4)"},
		},
		{
			name:    "no header, short row",
			file:    "1,2,3\n4,5\n",
			opts:    Options{Columns: []string{"x", "y", "z"}},
			wantIs:  ErrFieldCount,
			wantErr: []string{"row 2: ", "has 2, need at least 3"},
		},
		{
			name:    "bare quote",
			file:    "a,b\n1,2\n3,x\"y\n",
			opts:    hdr,
			wantIs:  csv.ErrBareQuote,
			wantErr: []string{"row 2 (line 3)", "line 3, column 4"},
		},
		{
			name:    "unterminated quote",
			file:    "a,b\n1,\"xy\n2,3\n",
			opts:    hdr,
			wantIs:  csv.ErrQuote,
			wantErr: []string{"row 1 (line 2)"},
		},
		{
			name:    "text after a closing quote",
			file:    "a,b\n\"1\"x,2\n",
			opts:    hdr,
			wantIs:  csv.ErrQuote,
			wantErr: []string{"row 1 (line 2)"},
		},
		{
			name:    "bad quote in the header",
			file:    "a,\"b\nc\n",
			opts:    hdr,
			wantIs:  csv.ErrQuote,
			wantErr: []string{"header"},
		},
	}
	run(t, CSV, cases, textFile("data.csv"))
}

// TestCSVUnclosedQuote checks that an unbalanced quote does not read the
// rest of a large file into one record.
func TestCSVUnclosedQuote(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 80 MiB")
	}
	var b bytes.Buffer
	b.WriteString("a,b\n1,\"oops\n")
	line := strings.Repeat("y", 1023) + "\n"
	for b.Len() < maxRecordBytes+bufferBytes+(8<<20) {
		b.WriteString(line)
	}
	p := writeTemp(t, "big.csv", b.Bytes())
	_, err := readFile(t, p, Options{Format: CSV, Header: true, Columns: []string{"a"}})
	if err == nil || !strings.Contains(err.Error(), "row 1 (line 2): row too large") {
		t.Fatalf("error %v, want row 1 too large", err)
	}
}

// TestCSVBatchBytes checks that a batch ends once a column holds more than
// maxBatchBytes, even when BatchRows would allow more rows.
func TestCSVBatchBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 160 MiB")
	}
	var b bytes.Buffer
	b.WriteString("a\n")
	v := strings.Repeat("v", 1<<20)
	const rows = 160
	for range rows {
		b.WriteString(v)
		b.WriteByte('\n')
	}
	p := writeTemp(t, "wide.csv", b.Bytes())
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Open(f, int64(b.Len()), Options{Format: CSV, Header: true, Columns: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var sizes []int64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, rec.NumRows())
		rec.Release()
	}
	if len(sizes) != 2 || sizes[0]+sizes[1] != rows || sizes[0] != maxBatchBytes>>20+1 {
		t.Errorf("batch sizes %v, want two batches, the first of %d rows", sizes, maxBatchBytes>>20+1)
	}
}

// BenchmarkCSV reads a 1M-row, 5-column CSV file into string batches: as
// most tools write it, and with every text field quoted, as R does.
func BenchmarkCSV(b *testing.B) {
	for _, quoted := range []bool{false, true} {
		name := "plain"
		if quoted {
			name = "quoted"
		}
		b.Run(name, func(b *testing.B) { benchmarkCSV(b, quoted) })
	}
}

func benchmarkCSV(b *testing.B, quoted bool) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "bench.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "student_id,district,race_ethnicity,grade,score")
	races := []string{"Asian", "Black", "Hispanic or Latino", "White", ""}
	format := "%d,district-%02d,%s,%d,%d.%d\n"
	if quoted {
		format = "%d,\"district-%02d\",\"%s\",%d,%d.%d\n"
	}
	for i := range rows {
		fmt.Fprintf(w, format, 100000+i, i%37, races[i%len(races)], i%13, i%500, i%10)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	opts := Options{Format: CSV, Header: true, Columns: []string{"student_id", "district", "race_ethnicity", "grade", "score"}}
	b.ResetTimer()
	for b.Loop() {
		r, err := Open(in, st.Size(), opts)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += rec.NumRows()
			rec.Release()
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// csvSamples are inputs on which the CSV parser must agree with
// encoding/csv, and seeds for FuzzCSV.
var csvSamples = []string{
	"a,b\n1,2\n",
	"a,b\r\n1,2\r\n\r\n3,4",
	"a,b\n1,2\r",
	"a\r\r\nb\rc\n",
	"\n\n,\n,,\n",
	`"a","b"` + "\n" + `"x""y",",z"` + "\n",
	"\"multi\nline\r\nfield\",2\n3,4\n",
	`"a",` + "\n" + `"",""` + "\n",
	`a,"b` + "\n",
	`a,"b"c` + "\n",
	`a,b"c` + "\n",
	`"a""` + "\n",
	`"a"` + "\n" + `"` + "\n\n",
	"x,\"y\n\nz\",w\n",
	"\ufeffa;b\n1;2\n",
	`"é",ü` + "\n",
}

func TestCSVParserAgreesWithEncodingCSV(t *testing.T) {
	for _, in := range csvSamples {
		for _, comma := range []rune{',', ';', '\t', '|', 'é', '€'} {
			compareCSV(t, []byte(in), comma)
		}
	}
}

// TestCSVParserRandom compares the parsers on random CSV-like text.
func TestCSVParserRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{",", ",", ";", "\"", "\"\"", "\"a\"", "\"x,y\"", "\",", ",\"", "\n", "\r", "\r\n",
		"a", "bc", "12345678", " ", "é", "\xe9", "\t", "€"}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		var b []byte
		for k := rng.IntN(30); k > 0; k-- {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		for _, comma := range []rune{',', ';', '\t', 'é', '€'} {
			compareCSV(t, b, comma)
		}
	}
}

// compareCSV checks that csvParser splits data into the records, fields and
// errors that encoding/csv gives.
func compareCSV(t *testing.T, data []byte, comma rune) {
	t.Helper()
	std := csv.NewReader(bytes.NewReader(data))
	std.Comma = comma
	std.FieldsPerRecord = -1
	p := newCSVParser(bufio.NewReaderSize(bytes.NewReader(data), 16), comma)
	for rec := 1; ; rec++ {
		want, wantErr := std.Read()
		err := p.next()
		var got []string
		for i := range p.fields() {
			got = append(got, string(p.field(i)))
		}
		if wantErr == io.EOF {
			if err != io.EOF {
				t.Fatalf("%q, delimiter %q, record %d: got %q, %v; want io.EOF", data, comma, rec, got, err)
			}
			return
		}
		if wantErr != nil {
			var pe, wantPE *csv.ParseError
			if !errors.As(err, &pe) || !errors.As(wantErr, &wantPE) || *pe != *wantPE {
				t.Fatalf("%q, delimiter %q, record %d: error %v, want %v", data, comma, rec, err, wantErr)
			}
			return
		}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%q, delimiter %q, record %d: got %q, %v; want %q", data, comma, rec, got, err, want)
		}
		if line, _ := std.FieldPos(0); line != p.start {
			t.Fatalf("%q, delimiter %q, record %d: starts on line %d, want %d", data, comma, rec, p.start, line)
		}
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range csvSamples {
		f.Add([]byte(s), true, byte(','))
	}
	f.Add([]byte("1,\"2\n3\",4\n5\n"), false, byte(','))
	f.Add([]byte("a\tb\n1\tx\"y\n"), true, byte('\t'))
	f.Add([]byte("a\xe9b\n1\xe92\n"), true, byte(0xe9))
	f.Fuzz(func(t *testing.T, data []byte, header bool, delim byte) {
		if len(data) > 1<<16 {
			return
		}
		if comma := rune(delim); validDelimiter(comma) {
			compareCSV(t, data, comma)
		}
		fuzzRead(t, data, Options{Format: CSV, Header: header, Delimiter: rune(delim), Columns: []string{"a", "b"}, BatchRows: 3})
	})
}

// fuzzRead reads data to the end or the first error and checks the reader's
// invariants. Errors are fine; panics and leaks are not.
func fuzzRead(t *testing.T, data []byte, opts Options) {
	r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		return
	}
	defer r.Close()
	var rows int64
	for range 1000 {
		rec, err := r.Next()
		if err != nil {
			return
		}
		if rec.NumRows() == 0 || rec.NumRows() > int64(opts.BatchRows) {
			t.Fatalf("batch of %d rows", rec.NumRows())
		}
		if r.FirstRow() != rows+1 {
			t.Fatalf("FirstRow %d, want %d", r.FirstRow(), rows+1)
		}
		if int(rec.NumCols()) != len(opts.Columns) {
			t.Fatalf("%d columns, want %d", rec.NumCols(), len(opts.Columns))
		}
		for _, c := range rec.Columns() {
			if int64(c.Len()) != rec.NumRows() {
				t.Fatalf("column of %d values in a batch of %d rows", c.Len(), rec.NumRows())
			}
		}
		rows += rec.NumRows()
		rec.Release()
	}
}
