package read

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// null renders a null value in test expectations.
const null = "<null>"

// readCase is one table-test case: read a file with opts and expect either
// rows (rendered with ValueStr) and the first row of every batch, or an
// error wrapping wantIs and containing each of wantErr.
type readCase struct {
	name      string
	file      string // file contents for the text formats; the builders' key otherwise
	opts      Options
	want      [][]string
	wantFirst []int64
	wantType  []arrow.Type // optional: the column types
	wantIs    error
	wantErr   []string
}

// writeTemp writes data to a file in a fresh temporary directory.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	rows   [][]string
	firsts []int64
	sc     *arrow.Schema
}

// readFile opens path with opts and reads every batch, checking that the
// batches agree with the schema and that rows are numbered consecutively.
func readFile(t testing.TB, path string, opts Options) (result, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(f, st.Size(), opts)
	if err != nil {
		return result{}, err
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	res := result{sc: r.Schema()}
	var want int64 = 1
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		if !rec.Schema().Equal(res.sc) {
			t.Errorf("batch schema %v, want %v", rec.Schema(), res.sc)
		}
		if rec.NumRows() == 0 {
			t.Errorf("empty batch")
		}
		if opts.BatchRows > 0 && rec.NumRows() > int64(opts.BatchRows) {
			t.Errorf("batch of %d rows, BatchRows is %d", rec.NumRows(), opts.BatchRows)
		}
		if r.FirstRow() != want {
			t.Errorf("FirstRow = %d, want %d", r.FirstRow(), want)
		}
		want += rec.NumRows()
		res.firsts = append(res.firsts, r.FirstRow())
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					row[j] = null
				} else {
					row[j] = col.ValueStr(i)
				}
			}
			res.rows = append(res.rows, row)
		}
		rec.Release()
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end: %v, want io.EOF", err)
	}
	return res, nil
}

// run runs table cases against files produced by write, with a checked
// allocator that must be empty afterwards.
func run(t *testing.T, format Format, cases []readCase, write func(t *testing.T, c readCase) string) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			opts := c.opts
			opts.Format = format
			opts.Allocator = mem
			if opts.Columns == nil {
				opts.Columns = []string{"a", "b"}
			}
			res, err := readFile(t, write(t, c), opts)
			// Third-party decoders may leave buffers behind when they fail
			// on a malformed file; everything else must be released.
			if !errors.Is(err, ErrMalformed) {
				mem.AssertSize(t, 0)
			}
			if err != nil {
				t.Log(err)
			}
			if c.wantIs != nil || c.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, want %v %q; read %q", c.wantIs, c.wantErr, res.rows)
				}
				if c.wantIs != nil && !errors.Is(err, c.wantIs) {
					t.Errorf("error %q does not wrap %q", err, c.wantIs)
				}
				for _, s := range c.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !slices.EqualFunc(res.rows, c.want, slices.Equal) {
				t.Errorf("rows:\n got %q\nwant %q", res.rows, c.want)
			}
			if c.wantFirst != nil && !slices.Equal(res.firsts, c.wantFirst) {
				t.Errorf("batches start at rows %v, want %v", res.firsts, c.wantFirst)
			}
			if res.sc.NumFields() != len(opts.Columns) {
				t.Fatalf("schema %v, want the columns %q", res.sc, opts.Columns)
			}
			for i, f := range res.sc.Fields() {
				if f.Name != opts.Columns[i] {
					t.Errorf("field %d is %q, want %q", i, f.Name, opts.Columns[i])
				}
				want := arrow.STRING
				if c.wantType != nil {
					want = c.wantType[i]
				}
				if f.Type.ID() != want {
					t.Errorf("field %q has type %v, want %v", f.Name, f.Type, want)
				}
			}
		})
	}
}

// textFile writes a case's file contents as they are.
func textFile(name string) func(t *testing.T, c readCase) string {
	return func(t *testing.T, c readCase) string { return writeTemp(t, name, []byte(c.file)) }
}

// numbered returns n rows of ["1", "x1"], ["2", "x2"], ….
func numbered(n int) [][]string {
	rows := make([][]string, n)
	for i := range rows {
		v := strconv.Itoa(i + 1)
		rows[i] = []string{v, "x" + v}
	}
	return rows
}

func TestOptions(t *testing.T) {
	p := writeTemp(t, "x.csv", []byte("a,b\n1,2\n"))
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no format", Options{Columns: []string{"a"}}, "no format"},
		{"unknown format", Options{Format: "TSV", Columns: []string{"a"}}, `unknown format "TSV"`},
		{"no columns", Options{Format: CSV}, "no columns"},
		{"duplicate columns", Options{Format: CSV, Columns: []string{"a", "a"}}, `"a": duplicate column name`},
		{"empty column", Options{Format: CSV, Columns: []string{""}}, "empty name"},
		{"bad delimiter", Options{Format: CSV, Columns: []string{"a"}, Delimiter: '"'}, "invalid CSV delimiter"},
		{"negative batch", Options{Format: CSV, Columns: []string{"a"}, BatchRows: -1}, "invalid batch size"},
		{"negative header row", Options{Format: XLSX, Columns: []string{"a"}, HeaderRow: -1}, "invalid XLSX header row"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readFile(t, p, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestNextAfterClose(t *testing.T) {
	data := []byte("a,b\n1,2\n")
	r, err := Open(strings.NewReader(string(data)), int64(len(data)), Options{Format: CSV, Header: true, Columns: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Next(); err == nil {
		t.Error("Next after Close: no error")
	}
}

func TestMatch(t *testing.T) {
	_, err := match([]string{"a", "z", "y"}, []string{"a", "b", ""}, "the header")
	want := `column not found: columns "z", "y" not in the header, which has "a", "b"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	many := make([]string, 120)
	for i := range many {
		many[i] = "c" + strconv.Itoa(i)
	}
	_, err = match([]string{"zz"}, many, "the header")
	if err == nil || !strings.Contains(err.Error(), `"c49", … (120 names)`) {
		t.Errorf("got %v, want a capped list", err)
	}
}
