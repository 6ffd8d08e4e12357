package read

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Format is the encoding of an input file, spelled as in the DataSource API.
type Format string

// The formats a DataSource may declare.
const (
	CSV       Format = "CSV"
	Parquet   Format = "Parquet"
	ArrowIPC  Format = "ArrowIPC"
	JSONLines Format = "JSONLines"
	XLSX      Format = "XLSX"
)

// DefaultBatchRows is the number of rows in a batch when Options.BatchRows is
// not set.
const DefaultBatchRows = 65536

const (
	// maxRecordBytes bounds one CSV record or JSON line.
	maxRecordBytes = 64 << 20
	// maxBatchBytes ends a text batch early once a column holds this much.
	maxBatchBytes = 128 << 20
	// bufferBytes is the read-ahead buffer of the sequential readers.
	bufferBytes = 1 << 20
	// maxListedNames caps the names an error message lists.
	maxListedNames = 50
)

// Sentinel errors, wrapped by the errors the package returns.
var (
	// ErrColumnNotFound: a declared column is not in the file's header or schema.
	ErrColumnNotFound = errors.New("column not found")
	// ErrDuplicateColumn: a name appears twice in the header, the schema or
	// the declared columns.
	ErrDuplicateColumn = errors.New("duplicate column name")
	// ErrFieldCount: a CSV row has the wrong number of fields.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrNotObject: a JSON line is not a JSON object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrNested: a declared JSON key holds an object or an array.
	ErrNested = errors.New("nested value")
	// ErrTooLarge: a CSV record or a JSON line exceeds 64 MiB.
	ErrTooLarge = errors.New("row too large")
	// ErrSheetNotFound: the requested XLSX sheet does not exist.
	ErrSheetNotFound = errors.New("sheet not found")
	// ErrEmpty: the file has no bytes at all (an export cut short), in any format.
	ErrEmpty = errors.New("the file is empty (0 bytes)")
	// ErrMalformed: a decoder failed on a malformed file.
	ErrMalformed = errors.New("malformed file")
)

// Options says how to read a file.
type Options struct {
	// Format of the file; required.
	Format Format
	// Columns are the declared columns to read, by name. Every batch has
	// exactly these fields, in this order. Required and without duplicates.
	Columns []string
	// Delimiter separates CSV fields; default ','.
	Delimiter rune
	// Header says whether the first CSV record names the columns. When false,
	// Columns are matched by position: column i is field i.
	Header bool
	// Sheet is the XLSX worksheet to read; default the first sheet.
	Sheet string
	// HeaderRow is the 1-based XLSX row holding the column names; default 1.
	// Data starts on the next row.
	HeaderRow int
	// BatchRows is the largest number of rows in a batch; default
	// DefaultBatchRows.
	BatchRows int
	// Allocator allocates the batches' buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator
}

// Reader is a stream of record batches read from one file. It is not safe
// for concurrent use.
type Reader interface {
	// Schema is the schema of every batch: the declared columns, in order.
	Schema() *arrow.Schema
	// Next returns the next batch, which holds at least one row, or io.EOF
	// after the last. The caller releases the batch. After an error other
	// than io.EOF, Next returns the same error again.
	Next() (arrow.RecordBatch, error)
	// FirstRow is the 1-based row number of the first row of the batch last
	// returned by Next (0 before the first batch). Rows count data rows
	// only, and run on across batches.
	FirstRow() int64
	// SourceRows, when not nil, is the row of the source of each row of the batch last
	// returned: for XLSX the worksheet row, as the partner sees it in the sheet (blank rows
	// are skipped, so data rows do not count them). Nil means the rows are numbered from
	// FirstRow on.
	SourceRows() []int64
	// Problems lists the cells of the batch last returned that the file shows with
	// something but that hold no value to read (an XLSX formula saved without its value,
	// an error such as #DIV/0!, a cell covered by merged cells): their rows are to be
	// rejected with the reason given, not read as empty. Nil for most files.
	Problems() []CellProblem
	// Close releases the reader's resources. It does not close the
	// io.ReaderAt given to Open.
	Close() error
}

// Open opens a reader over the size bytes of r. Parquet files are read with
// random access, only where the declared columns are; the other formats are
// read in order from offset 0.
func Open(r io.ReaderAt, size int64, opts Options) (rd Reader, err error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	format := strings.ToLower(string(opts.Format))
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, recovered(opts.Format, p)
		}
	}()
	if size == 0 {
		// Every format alike: an export cut to nothing is an error, not a file without rows.
		return nil, fmt.Errorf("%s: %w", format, ErrEmpty)
	}
	var in batchReader
	switch opts.Format {
	case CSV:
		in, err = openCSV(r, size, &opts)
	case JSONLines:
		in, err = openJSONLines(r, size, &opts)
	case XLSX:
		in, err = openXLSX(r, size, &opts)
	case Parquet:
		in, err = openParquet(r, size, &opts)
	case ArrowIPC:
		in, err = openArrowIPC(r, size, &opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return &guarded{in: in, format: opts.Format}, nil
}

func (o *Options) normalize() error {
	switch o.Format {
	case CSV, JSONLines, XLSX, Parquet, ArrowIPC:
	case "":
		return errors.New("read: no format given")
	default:
		return fmt.Errorf("read: unknown format %q (want CSV, Parquet, ArrowIPC, JSONLines or XLSX)", o.Format)
	}
	if len(o.Columns) == 0 {
		return errors.New("read: no columns declared")
	}
	seen := make(map[string]bool, len(o.Columns))
	for _, c := range o.Columns {
		if c == "" {
			return errors.New("read: a declared column has an empty name")
		}
		if seen[c] {
			return fmt.Errorf("read: declared column %q: %w", c, ErrDuplicateColumn)
		}
		seen[c] = true
	}
	if o.Delimiter == 0 {
		o.Delimiter = ','
	}
	if o.Format == CSV && !validDelimiter(o.Delimiter) {
		return fmt.Errorf("read: invalid CSV delimiter %q", o.Delimiter)
	}
	if o.HeaderRow < 0 {
		return fmt.Errorf("read: invalid XLSX header row %d", o.HeaderRow)
	}
	if o.HeaderRow == 0 {
		o.HeaderRow = 1
	}
	if o.BatchRows < 0 {
		return fmt.Errorf("read: invalid batch size %d", o.BatchRows)
	}
	if o.BatchRows == 0 {
		o.BatchRows = DefaultBatchRows
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	return nil
}

// validDelimiter applies encoding/csv's rule.
// bufferSize is the read-ahead buffer for a file of size bytes.
func bufferSize(size int64) int {
	return int(min(max(size+1, 4096), bufferBytes))
}

func validDelimiter(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// batchReader is what each format implements; guarded adds the common
// bookkeeping and turns panics into errors.
type batchReader interface {
	schema() *arrow.Schema
	// next returns a batch of at least one row, or io.EOF.
	next() (arrow.RecordBatch, error)
	close() error
}

type guarded struct {
	in       batchReader
	format   Format
	first    int64 // first row of the last batch
	nextRow  int64 // first row of the next batch, minus one
	err      error
	closed   bool
	closeErr error
}

func (g *guarded) Schema() *arrow.Schema { return g.in.schema() }

func (g *guarded) FirstRow() int64 { return g.first }

func (g *guarded) SourceRows() []int64 {
	if s, ok := g.in.(interface{ sourceRows() []int64 }); ok {
		return s.sourceRows()
	}
	return nil
}

func (g *guarded) Problems() []CellProblem {
	if s, ok := g.in.(interface{ cellProblems() []CellProblem }); ok {
		return s.cellProblems()
	}
	return nil
}

func (g *guarded) Next() (rec arrow.RecordBatch, err error) {
	if g.closed {
		return nil, errors.New("read: Next called after Close")
	}
	if g.err != nil {
		return nil, g.err
	}
	defer func() {
		if p := recover(); p != nil {
			if rec != nil {
				rec.Release()
			}
			rec, err = nil, recovered(g.format, p)
		}
		if err != nil {
			g.err = err
		}
	}()
	rec, err = g.in.next()
	if err != nil {
		if err != io.EOF {
			err = fmt.Errorf("%s: %w", strings.ToLower(string(g.format)), err)
		}
		return nil, err
	}
	g.first = g.nextRow + 1
	g.nextRow += rec.NumRows()
	return rec, nil
}

func (g *guarded) Close() (err error) {
	if g.closed {
		return g.closeErr
	}
	g.closed = true
	defer func() {
		if p := recover(); p != nil {
			err = recovered(g.format, p)
		}
		g.closeErr = err
	}()
	return g.in.close()
}

func recovered(f Format, p any) error {
	return fmt.Errorf("%s: %w: %v", strings.ToLower(string(f)), ErrMalformed, p)
}

// match finds each declared column among the names a file provides and
// returns their positions. Empty names in the file are ignored; any other
// name appearing twice is an error. what describes the names ("the header").
func match(declared, found []string, what string) ([]int, error) {
	pos := make(map[string]int, len(found))
	for i, n := range found {
		if n == "" {
			continue
		}
		if _, dup := pos[n]; dup {
			return nil, fmt.Errorf("%s: %q: %w", what, n, ErrDuplicateColumn)
		}
		pos[n] = i
	}
	idx := make([]int, len(declared))
	var missing []string
	for j, c := range declared {
		i, ok := pos[c]
		if !ok {
			missing = append(missing, strconv.Quote(c))
			continue
		}
		idx[j] = i
	}
	if len(missing) == 0 {
		return idx, nil
	}
	noun := "column"
	if len(missing) > 1 {
		noun = "columns"
	}
	return nil, fmt.Errorf("%w: %s %s not in %s, which has %s",
		ErrColumnNotFound, noun, strings.Join(missing, ", "), what, listNames(found))
}

func listNames(names []string) string {
	var b strings.Builder
	n := 0
	for _, s := range names {
		if s == "" {
			continue
		}
		if n == maxListedNames {
			fmt.Fprintf(&b, ", … (%d names)", len(names))
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(s))
		n++
	}
	if n == 0 {
		return "no column names"
	}
	return b.String()
}

// rowRef names a data row, with its line in the file when that differs.
func rowRef(row, line int64) string {
	if line <= 0 || line == row {
		return "row " + strconv.FormatInt(row, 10)
	}
	return fmt.Sprintf("row %d (line %d)", row, line)
}

func stringSchema(cols []string) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}
