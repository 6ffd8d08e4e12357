package read

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"io"
	"math/bits"
	"unicode/utf8"
)

// csvParser splits CSV records by the rules of encoding/csv with LazyQuotes
// and TrimLeadingSpace off and no comment character: fields are separated by
// the delimiter; a field that starts with a quote is quoted, may hold
// delimiters, line breaks and doubled quotes, and must end with a quote
// followed by the delimiter or the end of the line; any other quote is an
// error; "\r\n" reads as "\n"; empty lines are skipped. Errors are
// *csv.ParseError values with the lines and columns encoding/csv reports,
// and FuzzCSV checks that both parsers agree on every input.
//
// It exists for speed. encoding/csv allocates a string and a slice of
// strings per record; here a record's fields are byte slices into the read
// buffer — or into a record buffer when the record has quotes — that the
// caller copies straight into its column buffers, so a record costs no
// allocation.
type csvParser struct {
	br    *bufio.Reader
	comma []byte // the delimiter, UTF-8 encoded
	c0    byte   // its first byte, when it is a single byte
	multi bool   // the delimiter takes more than one byte

	line   int    // lines read
	start  int    // line on which the last record started
	long   []byte // a line longer than the read buffer
	rec    []byte // the fields of a record that split did not take
	data   []byte // the record: the line, or rec
	starts []int  // where each field starts in data
	ends   []int  // where each field ends in data
}

func newCSVParser(br *bufio.Reader, comma rune) *csvParser {
	p := &csvParser{br: br, comma: utf8.AppendRune(nil, comma)}
	p.c0, p.multi = p.comma[0], len(p.comma) > 1
	return p
}

// readLine returns the next line, with "\r\n" rewritten as "\n", or io.EOF.
// The line is valid until the next call.
func (p *csvParser) readLine() ([]byte, error) {
	line, err := p.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		p.long = append(p.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(p.long) > maxRecordBytes {
				return nil, ErrTooLarge
			}
			line, err = p.br.ReadSlice('\n')
			p.long = append(p.long, line...)
		}
		line = p.long
	}
	if len(line) > 0 && err == io.EOF {
		err = nil
		// As encoding/csv: a "\r" right before the end of input is dropped.
		if line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
	}
	if err != nil {
		return nil, err
	}
	p.line++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, nil
}

// lengthNL is 1 when b ends with a newline, else 0.
func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// index returns the position of the first delimiter in b, or -1.
func (p *csvParser) index(b []byte) int {
	if p.multi {
		return bytes.Index(b, p.comma)
	}
	return bytes.IndexByte(b, p.c0)
}

// next reads the next record, or returns io.EOF. Field i of the record is
// field(i); the fields are valid until the next call. With a
// *csv.ParseError the fields read before the error are kept.
func (p *csvParser) next() error {
	var line []byte
	for {
		p.start = p.line + 1
		l, err := p.readLine()
		if err != nil {
			p.data, p.starts, p.ends = nil, p.starts[:0], p.ends[:0]
			return err
		}
		if len(l) > lengthNL(l) {
			line = l
			break
		}
	}
	var ok bool
	if p.data, ok = p.split(line); ok {
		return nil
	}
	var err error
	p.data, err = p.quoted(line)
	return err
}

// fields is the number of fields of the record.
func (p *csvParser) fields() int { return len(p.ends) }

// field returns field i of the record.
func (p *csvParser) field(i int) []byte { return p.data[p.starts[i]:p.ends[i]] }

// split splits a one-line record into fields and returns the line without
// its newline, the fields being slices of it. It takes the common cases:
// unquoted fields, and quoted fields that end on the same line and hold no
// doubled quote. For anything else — including every error — ok is false
// and quoted parses the record. A one-byte delimiter and quotes are looked
// for eight bytes at a time.
func (p *csvParser) split(line []byte) (data []byte, ok bool) {
	data = line[:len(line)-lengthNL(line)]
	p.starts, p.ends = p.starts[:0], p.ends[:0]
	if p.multi {
		if bytes.IndexByte(data, '"') >= 0 {
			return nil, false
		}
		for s := 0; ; {
			i := bytes.Index(data[s:], p.comma)
			if i < 0 {
				p.starts, p.ends = append(p.starts, s), append(p.ends, len(data))
				return data, true
			}
			p.starts, p.ends = append(p.starts, s), append(p.ends, s+i)
			s += i + len(p.comma)
		}
	}
	n, c0 := len(data), p.c0
	comma := uint64(c0) * lsb
	// from is where the current field starts, after its opening quote if it
	// is quoted; positions before skip have been dealt with.
	from, skip, inQuotes := 0, 0, false
	if n > 0 && data[0] == '"' {
		from, skip, inQuotes = 1, 1, true
	}
	for i := 0; i < n; i += 8 {
		var m uint64 // the high bit of byte k is set when data[i+k] is a delimiter or a quote
		if i+8 <= n {
			w := binary.LittleEndian.Uint64(data[i:])
			m = zeroBytes(w^comma) | zeroBytes(w^quotes)
		} else {
			for k := i; k < n; k++ {
				if data[k] == c0 || data[k] == '"' {
					m |= 0x80 << (8 * (k - i))
				}
			}
		}
		for ; m != 0; m &= m - 1 {
			k := i + bits.TrailingZeros64(m)/8
			switch {
			case k < skip:
			case !inQuotes && data[k] == c0: // the end of an unquoted field
				p.starts, p.ends = append(p.starts, from), append(p.ends, k)
				from, skip = k+1, k+1
				if from < n && data[from] == '"' {
					from, skip, inQuotes = from+1, from+1, true
				}
			case !inQuotes: // a quote inside an unquoted field
				return nil, false
			case data[k] == '"': // the end of a quoted field, or a doubled quote
				if k+1 == n {
					p.starts, p.ends = append(p.starts, from), append(p.ends, k)
					return data, true
				}
				if data[k+1] != c0 {
					return nil, false
				}
				p.starts, p.ends = append(p.starts, from), append(p.ends, k)
				from, skip, inQuotes = k+2, k+2, false
				if from < n && data[from] == '"' {
					from, skip, inQuotes = from+1, from+1, true
				}
			}
		}
	}
	if inQuotes { // the field goes on on the next line
		return nil, false
	}
	p.starts, p.ends = append(p.starts, from), append(p.ends, n)
	return data, true
}

const (
	lsb    = 0x0101010101010101
	low7   = 0x7f7f7f7f7f7f7f7f
	quotes = '"' * lsb
)

// zeroBytes has the high bit set in each byte of w that is zero, and no
// other bit set.
func zeroBytes(w uint64) uint64 {
	return ^((w&low7 + low7) | w | low7)
}

// quoted parses a record that split did not take, copying its fields into
// p.rec.
func (p *csvParser) quoted(line []byte) ([]byte, error) {
	p.rec = p.rec[:0]
	p.starts, p.ends = p.starts[:0], p.ends[:0]
	lineNo, col := p.line, 1 // position of line[0]; columns count bytes from 1
	for {
		if len(line) == 0 || line[0] != '"' {
			// An unquoted field.
			i := p.index(line)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				return p.rec, &csv.ParseError{StartLine: p.start, Line: lineNo, Column: col + j, Err: csv.ErrBareQuote}
			}
			p.starts = append(p.starts, len(p.rec))
			p.rec = append(p.rec, field...)
			p.ends = append(p.ends, len(p.rec))
			if i < 0 {
				return p.rec, nil
			}
			line = line[i+len(p.comma):]
			col += i + len(p.comma)
			continue
		}
		// A quoted field.
		p.starts = append(p.starts, len(p.rec))
		line = line[1:]
		col++
	quoted:
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				p.rec = append(p.rec, line[:i]...)
				line = line[i+1:]
				col += i + 1
				switch {
				case len(line) > 0 && line[0] == '"': // a doubled quote
					p.rec = append(p.rec, '"')
					line = line[1:]
					col++
				case bytes.HasPrefix(line, p.comma): // end of the field
					p.ends = append(p.ends, len(p.rec))
					line = line[len(p.comma):]
					col += len(p.comma)
					break quoted
				case len(line) == lengthNL(line): // end of the record
					p.ends = append(p.ends, len(p.rec))
					return p.rec, nil
				default:
					return p.rec, &csv.ParseError{StartLine: p.start, Line: lineNo, Column: col - 1, Err: csv.ErrQuote}
				}
			case len(line) > 0: // the field goes on on the next line
				p.rec = append(p.rec, line...)
				if len(p.rec) > maxRecordBytes {
					return p.rec, ErrTooLarge
				}
				col += len(line)
				next, err := p.readLine()
				if err == io.EOF {
					next = nil
				} else if err != nil {
					return p.rec, err
				}
				line = next
				if len(line) > 0 {
					lineNo, col = p.line, 1
				}
			default: // the input ends inside the quotes
				return p.rec, &csv.ParseError{StartLine: p.start, Line: lineNo, Column: col, Err: csv.ErrQuote}
			}
		}
	}
}
