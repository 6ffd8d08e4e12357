package read

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

type csvReader struct {
	p         *csvParser
	b         *stringBatch
	idx       []int // field of each declared column
	header    int   // fields in the header; 0 without a header
	minFields int   // fields a row needs without a header
	row       int64 // data rows read
}

func openCSV(r io.ReaderAt, size int64, o *Options) (*csvReader, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), bufferSize(size))
	if p, _ := br.Peek(len(utf8BOM)); bytes.Equal(p, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	if crOnly(br) {
		return nil, errors.New(`the lines end with a carriage return only ("\r", as old Mac exports do): save the file with LF or CRLF line endings`)
	}
	c := &csvReader{p: newCSVParser(br, o.Delimiter)}
	if o.Header {
		err := c.p.next()
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
		names := make([]string, c.p.fields())
		for i := range names {
			names[i] = strings.TrimSpace(string(c.p.field(i)))
		}
		idx, err := match(o.Columns, names, "the header")
		if err != nil {
			return nil, err
		}
		c.idx, c.header = idx, len(names)
	} else {
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
	p, cols, idx := c.p, b.cols, c.idx
	for {
		if err := p.next(); err != nil {
			if err == io.EOF {
				break
			}
			b.discard()
			return nil, c.readError(err)
		}
		c.row++
		nf := p.fields()
		if c.header > 0 && nf != c.header {
			b.discard()
			return nil, fmt.Errorf("%s: %w: has %d, the header has %d",
				rowRef(c.row, int64(p.start)), ErrFieldCount, nf, c.header)
		}
		if nf < c.minFields {
			b.discard()
			return nil, fmt.Errorf("%s: %w: has %d, need at least %d (one per declared column)",
				rowRef(c.row, int64(p.start)), ErrFieldCount, nf, c.minFields)
		}
		// The hot loop: appendBytes, inlined by hand.
		n := b.n
		for j := range cols {
			col := &cols[j]
			s := p.field(idx[j])
			if len(s) > len(col.db)-col.dn {
				col.grow(len(s))
			}
			col.dn += copy(col.db[col.dn:], s)
			col.ob[n+1] = int32(col.dn)
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

func (c *csvReader) readError(err error) error {
	row := c.row + 1
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("%s: %w: more than 64 MiB (is a closing quote missing?)",
			rowRef(row, int64(c.p.start)), err)
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("row %d: %w", row, err)
	}
	return fmt.Errorf("%s: %w (line %d, column %d)", rowRef(row, int64(pe.StartLine)), pe.Err, pe.Line, pe.Column)
}

func (c *csvReader) close() error {
	c.b.discard()
	return nil
}

// crOnly says the file's start has carriage returns but no line feed: its lines end with
// "\r" alone, which CSV readers take as one long line.
func crOnly(br *bufio.Reader) bool {
	head, _ := br.Peek(64 << 10)
	if bytes.IndexByte(head, '\n') >= 0 {
		return false
	}
	i := bytes.IndexByte(head, '\r')
	return i >= 0 && i < len(head)-1
}
