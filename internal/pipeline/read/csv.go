package read

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

type csvReader struct {
	src       *guardedSource
	cr        *csv.Reader
	b         *stringBatch
	idx       []int // field of each declared column
	header    int   // fields in the header; 0 without a header
	minFields int   // fields a row needs without a header
	row       int64 // data rows read
}

// guardedSource stops a CSV record from growing without bound: encoding/csv
// keeps reading until a quoted field closes, so an unbalanced quote would
// otherwise pull the rest of the file into memory.
type guardedSource struct {
	r     io.Reader
	read  int64 // bytes handed out
	bom   int64 // bytes skipped before the CSV reader
	start int64 // CSV reader's offset at the end of the last whole record
}

func (g *guardedSource) Read(p []byte) (int, error) {
	if g.read-g.bom-g.start > maxRecordBytes+bufferBytes {
		return 0, ErrTooLarge
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

func openCSV(r io.ReaderAt, size int64, o *Options) (*csvReader, error) {
	src := &guardedSource{r: io.NewSectionReader(r, 0, size)}
	br := bufio.NewReaderSize(src, bufferSize(size))
	if p, _ := br.Peek(len(utf8BOM)); bytes.Equal(p, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
		src.bom = int64(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.Comma = o.Delimiter
	cr.ReuseRecord = true
	c := &csvReader{src: src, cr: cr}
	if o.Header {
		cr.FieldsPerRecord = 0 // set by the header
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, errors.New("the file is empty: no header")
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("header: %w (line %d, column %d)", pe.Err, pe.Line, pe.Column)
			}
			return nil, fmt.Errorf("header: %w", err)
		}
		src.start = cr.InputOffset()
		names := slices.Clone(rec)
		for i, n := range names {
			names[i] = strings.TrimSpace(n)
		}
		idx, err := match(o.Columns, names, "the header")
		if err != nil {
			return nil, err
		}
		c.idx, c.header = idx, len(names)
	} else {
		cr.FieldsPerRecord = -1
		c.idx = make([]int, len(o.Columns))
		for i := range c.idx {
			c.idx[i] = i
		}
		c.minFields = len(o.Columns)
	}
	c.b = newStringBatch(o.Allocator, o.Columns, o.BatchRows)
	return c, nil
}

func (c *csvReader) schema() *arrow.Schema { return c.b.sc }

func (c *csvReader) next() (arrow.RecordBatch, error) {
	b := c.b
	b.begin()
	cols, idx := b.cols, c.idx
	for {
		rec, err := c.cr.Read()
		if err != nil {
			if err == io.EOF {
				break
			}
			b.discard()
			return nil, c.readError(err, rec)
		}
		c.row++
		c.src.start = c.cr.InputOffset()
		if len(rec) < c.minFields {
			b.discard()
			line, _ := c.cr.FieldPos(0)
			return nil, fmt.Errorf("%s: %w: has %d, need at least %d (one per declared column)",
				rowRef(c.row, int64(line)), ErrFieldCount, len(rec), c.minFields)
		}
		for j := range cols {
			cols[j].appendString(rec[idx[j]])
		}
		if !b.endRow() {
			break
		}
	}
	if b.n == 0 {
		b.discard()
		return nil, io.EOF
	}
	return b.finish(), nil
}

func (c *csvReader) readError(err error, rec []string) error {
	row := c.row + 1
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("row %d: %w: more than 64 MiB (is a closing quote missing?)", row, err)
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("row %d: %w", row, err)
	}
	ref := rowRef(row, int64(pe.StartLine))
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return fmt.Errorf("%s: %w: has %d, the header has %d", ref, ErrFieldCount, len(rec), c.header)
	case errors.Is(pe.Err, csv.ErrBareQuote), errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Errorf("%s: %w (line %d, column %d)", ref, pe.Err, pe.Line, pe.Column)
	default:
		return fmt.Errorf("%s: %w", ref, pe.Err)
	}
}

func (c *csvReader) close() error {
	c.b.discard()
	return nil
}
