package read

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// jsonLinesReader reads one JSON object per line. Values of the declared keys
// become strings: a string as is, a number as its exact text, a boolean as
// "true" or "false"; null, an absent key and "" are null.
type jsonLinesReader struct {
	br   *bufio.Reader
	b    *stringBatch
	cols []string
	row  int64 // data rows read
	line int64 // lines read
	long []byte
	obj  map[string]json.RawMessage
	str  string
}

func openJSONLines(r io.ReaderAt, size int64, o *Options) (*jsonLinesReader, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), bufferSize(size))
	if p, _ := br.Peek(len(utf8BOM)); bytes.Equal(p, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	return &jsonLinesReader{
		br:   br,
		b:    newStringBatch(o.Allocator, o.Columns, o.BatchRows),
		cols: o.Columns,
		obj:  make(map[string]json.RawMessage, len(o.Columns)),
	}, nil
}

func (j *jsonLinesReader) schema() *arrow.Schema { return j.b.sc }

// readLine returns the next line without its line ending, or io.EOF.
func (j *jsonLinesReader) readLine() ([]byte, error) {
	line, err := j.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		j.long = append(j.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(j.long) > maxRecordBytes {
				return nil, fmt.Errorf("%s: %w: more than 64 MiB", rowRef(j.row+1, j.line+1), ErrTooLarge)
			}
			line, err = j.br.ReadSlice('\n')
			j.long = append(j.long, line...)
		}
		line = j.long
		if cap(j.long) > 4*bufferBytes {
			j.long = nil // do not keep a large buffer
		}
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == io.EOF && len(line) == 0 {
		return nil, io.EOF
	}
	j.line++
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, nil
}

func (j *jsonLinesReader) next() (arrow.RecordBatch, error) {
	b := j.b
	b.begin()
	for {
		line, err := j.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.discard()
			return nil, err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		j.row++
		if err := j.parse(line); err != nil {
			b.discard()
			return nil, fmt.Errorf("%s: %w", rowRef(j.row, j.line), err)
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

// parse appends the declared keys of one JSON object to the batch. On error
// the batch is discarded by the caller, so a partly appended row is harmless.
func (j *jsonLinesReader) parse(line []byte) error {
	if line[0] != '{' {
		return ErrNotObject
	}
	clear(j.obj)
	if err := json.Unmarshal(line, &j.obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %v (at byte %d)", ErrNotObject, se, se.Offset)
		}
		return fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	if members(line) != len(j.obj) {
		return duplicateKey(line)
	}
	n := j.b.n
	for i, key := range j.cols {
		c := &j.b.cols[i]
		raw, ok := j.obj[key]
		if !ok || len(raw) == 0 {
			c.appendNull(n)
			continue
		}
		switch raw[0] {
		case 'n':
			c.appendNull(n)
		case 't':
			c.appendString(n, "true")
		case 'f':
			c.appendString(n, "false")
		case '"':
			if bytes.IndexByte(raw, '\\') < 0 {
				c.appendBytes(n, raw[1:len(raw)-1])
				continue
			}
			if err := json.Unmarshal(raw, &j.str); err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
			c.appendString(n, j.str)
		case '{', '[':
			return fmt.Errorf("key %q: %w: objects and arrays are not supported", key, ErrNested)
		default: // a number, kept as written
			c.appendBytes(n, raw)
		}
	}
	return nil
}

// members counts the members of a valid JSON object: the colons outside strings at
// depth 1. One pass over the bytes; a count above the decoded map's size means a key
// appears twice.
func members(obj []byte) int {
	n, depth, inString := 0, 0, false
	for i := 0; i < len(obj); i++ {
		c := obj[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// duplicateKey names the first key that appears twice in a valid JSON object: the
// object's meaning would depend on which one a reader keeps.
func duplicateKey(obj []byte) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	seen := map[string]bool{}
	if _, err := dec.Token(); err != nil { // {
		return fmt.Errorf("%w: %v", ErrNotObject, err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNotObject, err)
		}
		key, _ := t.(string)
		if seen[key] {
			return fmt.Errorf("%w: key %q appears twice in the object", ErrDuplicateColumn, key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: %v", ErrNotObject, err)
		}
	}
	return fmt.Errorf("%w: a key appears twice in the object", ErrDuplicateColumn)
}

func (j *jsonLinesReader) close() error {
	j.b.discard()
	return nil
}
