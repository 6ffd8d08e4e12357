package read

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The Arrow IPC decoder trusts the lengths in a message's FlatBuffers
// metadata: it sizes slices by them and follows nested fields without a
// depth limit, so a few corrupt bytes can make it allocate gigabytes or
// recurse until the stack overflows, which no recover can catch. The
// functions below check the metadata of every message (format/Message.fbs
// and Schema.fbs in the Arrow repository) before the decoder sees it.

var errMetadata = errors.New("corrupt message metadata")

const (
	maxFieldDepth = 64      // nesting of a schema's fields
	maxFields     = 100_000 // fields in a schema, nested ones included
	// maxAllocation bounds one buffer allocated while decoding Arrow IPC,
	// such as a decompressed body buffer.
	maxAllocation = 1 << 31
)

// FlatBuffers message header and type IDs.
const (
	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3
	typeUnion             = 14
)

// fbTable is a bounds-checked view of one FlatBuffers table.
type fbTable struct {
	b   []byte
	pos int // start of the table
	vt  int // start of its vtable
	vtn int // length of the vtable in bytes
}

func fbRoot(b []byte) (fbTable, error) {
	if len(b) < 4 {
		return fbTable{}, errMetadata
	}
	return fbTableAt(b, int(binary.LittleEndian.Uint32(b)))
}

func fbTableAt(b []byte, pos int) (fbTable, error) {
	if pos < 0 || pos > len(b)-4 {
		return fbTable{}, errMetadata
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(b[pos:])))
	if vt < 0 || vt > len(b)-4 {
		return fbTable{}, errMetadata
	}
	vtn := int(binary.LittleEndian.Uint16(b[vt:]))
	if vtn < 4 || vtn%2 != 0 || vt+vtn > len(b) {
		return fbTable{}, errMetadata
	}
	return fbTable{b: b, pos: pos, vt: vt, vtn: vtn}, nil
}

// field returns the position of a field of size bytes, or -1 when absent.
func (t fbTable) field(slot, size int) (int, error) {
	o := 4 + 2*slot
	if o+2 > t.vtn {
		return -1, nil
	}
	off := int(binary.LittleEndian.Uint16(t.b[t.vt+o:]))
	if off == 0 {
		return -1, nil
	}
	p := t.pos + off
	if p+size > len(t.b) {
		return 0, errMetadata
	}
	return p, nil
}

// target follows the offset stored at p.
func (t fbTable) target(p int) (int, error) {
	q := p + int(binary.LittleEndian.Uint32(t.b[p:]))
	if q > len(t.b)-4 {
		return 0, errMetadata
	}
	return q, nil
}

// table returns the table a field refers to; ok is false when absent.
func (t fbTable) table(slot int) (_ fbTable, ok bool, err error) {
	p, err := t.field(slot, 4)
	if err != nil || p < 0 {
		return fbTable{}, false, err
	}
	q, err := t.target(p)
	if err != nil {
		return fbTable{}, false, err
	}
	sub, err := fbTableAt(t.b, q)
	return sub, err == nil, err
}

// vector returns the start and length of a vector of elem-byte elements;
// n is 0 when the field is absent.
func (t fbTable) vector(slot, elem int) (start, n int, err error) {
	p, err := t.field(slot, 4)
	if err != nil || p < 0 {
		return 0, 0, err
	}
	q, err := t.target(p)
	if err != nil {
		return 0, 0, err
	}
	n = int(binary.LittleEndian.Uint32(t.b[q:]))
	start = q + 4
	if n > (len(t.b)-start)/elem {
		return 0, 0, errMetadata
	}
	return start, n, nil
}

// tables calls fn for each table of a vector of tables.
func (t fbTable) tables(slot int, fn func(fbTable) error) error {
	start, n, err := t.vector(slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		q, err := t.target(start + 4*i)
		if err != nil {
			return err
		}
		sub, err := fbTableAt(t.b, q)
		if err != nil {
			return err
		}
		if err := fn(sub); err != nil {
			return err
		}
	}
	return nil
}

func (t fbTable) int64(slot int) (int64, error) {
	p, err := t.field(slot, 8)
	if err != nil || p < 0 {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(t.b[p:])), nil
}

func (t fbTable) uint8(slot int) (uint8, error) {
	p, err := t.field(slot, 1)
	if err != nil || p < 0 {
		return 0, err
	}
	return t.b[p], nil
}

// checkMessage checks the metadata of one IPC message and returns the
// length of its body.
func checkMessage(meta []byte) (int64, error) {
	m, err := fbRoot(meta)
	if err != nil {
		return 0, err
	}
	kind, err := m.uint8(1)
	if err != nil {
		return 0, err
	}
	body, err := m.int64(3)
	if err != nil {
		return 0, err
	}
	if body < 0 {
		return 0, fmt.Errorf("%w: negative body length", errMetadata)
	}
	if err := checkKeyValues(m, 4); err != nil {
		return 0, err
	}
	header, ok, err := m.table(2)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%w: no message header", errMetadata)
	}
	switch kind {
	case headerSchema:
		err = checkSchema(header)
	case headerRecordBatch:
		err = checkRecordBatch(header, body)
	case headerDictionaryBatch:
		data, ok, derr := header.table(1)
		switch {
		case derr != nil:
			err = derr
		case !ok:
			err = fmt.Errorf("%w: dictionary batch without data", errMetadata)
		default:
			err = checkRecordBatch(data, body)
		}
	default:
		err = fmt.Errorf("%w: unsupported message type %d", errMetadata, kind)
	}
	return body, err
}

func checkSchema(s fbTable) error {
	var fields int
	var field func(f fbTable, depth int) error
	field = func(f fbTable, depth int) error {
		fields++
		switch {
		case depth > maxFieldDepth:
			return fmt.Errorf("%w: fields nested more than %d deep", errMetadata, maxFieldDepth)
		case fields > maxFields:
			return fmt.Errorf("%w: more than %d fields", errMetadata, maxFields)
		}
		kind, err := f.uint8(2)
		if err != nil {
			return err
		}
		typ, ok, err := f.table(3)
		if err != nil {
			return err
		}
		if ok && kind == typeUnion {
			if _, _, err := typ.vector(1, 4); err != nil { // typeIds
				return err
			}
		}
		if dict, ok, err := f.table(4); err != nil {
			return err
		} else if ok {
			if _, _, err := dict.table(1); err != nil { // indexType
				return err
			}
		}
		if err := f.tables(5, func(c fbTable) error { return field(c, depth+1) }); err != nil {
			return err
		}
		return checkKeyValues(f, 6)
	}
	if err := s.tables(1, func(f fbTable) error { return field(f, 1) }); err != nil {
		return err
	}
	if err := checkKeyValues(s, 2); err != nil {
		return err
	}
	_, _, err := s.vector(3, 8) // features
	return err
}

func checkKeyValues(t fbTable, slot int) error {
	return t.tables(slot, func(kv fbTable) error {
		for s := range 2 {
			if _, _, err := kv.vector(s, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

func checkRecordBatch(rb fbTable, body int64) error {
	length, err := rb.int64(0)
	if err != nil {
		return err
	}
	if length < 0 || length > math.MaxInt32 {
		return fmt.Errorf("%w: record batch of %d rows", errMetadata, length)
	}
	start, n, err := rb.vector(1, 16) // nodes
	if err != nil {
		return err
	}
	for i := range n {
		p := start + 16*i
		l := int64(binary.LittleEndian.Uint64(rb.b[p:]))
		nulls := int64(binary.LittleEndian.Uint64(rb.b[p+8:]))
		if l < 0 || l > math.MaxInt32 || nulls < 0 || nulls > l {
			return fmt.Errorf("%w: array of %d values with %d nulls", errMetadata, l, nulls)
		}
	}
	start, buffers, err := rb.vector(2, 16)
	if err != nil {
		return err
	}
	for i := range buffers {
		p := start + 16*i
		off := int64(binary.LittleEndian.Uint64(rb.b[p:]))
		l := int64(binary.LittleEndian.Uint64(rb.b[p+8:]))
		if off < 0 || l < 0 || off > body || l > body-off {
			return fmt.Errorf("%w: buffer outside the message body", errMetadata)
		}
	}
	start, n, err = rb.vector(4, 8) // variadicBufferCounts
	if err != nil {
		return err
	}
	var sum int64
	for i := range n {
		c := int64(binary.LittleEndian.Uint64(rb.b[start+8*i:]))
		if c < 0 || c > int64(buffers) {
			return fmt.Errorf("%w: %d variadic buffers", errMetadata, c)
		}
		if sum += c; sum > int64(buffers) {
			return fmt.Errorf("%w: %d variadic buffers", errMetadata, sum)
		}
	}
	return nil
}

// messageReader reads IPC stream messages, checking each message's metadata
// before handing it to the decoder. It implements ipc.MessageReader.
type messageReader struct {
	r      io.Reader
	mem    memory.Allocator
	remain int64 // bytes of input not yet read
	msg    *ipc.Message
	refs   int
}

func newMessageReader(r io.Reader, size int64, mem memory.Allocator) *messageReader {
	return &messageReader{r: r, mem: mem, remain: size, refs: 1}
}

func (m *messageReader) Retain() { m.refs++ }

func (m *messageReader) Release() {
	if m.refs--; m.refs == 0 && m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
}

func (m *messageReader) read(p []byte) error {
	if int64(len(p)) > m.remain {
		return io.ErrUnexpectedEOF
	}
	n, err := io.ReadFull(m.r, p)
	m.remain -= int64(n)
	return err
}

// Message returns the next message, valid until the next call, or io.EOF
// at the end of the stream.
func (m *messageReader) Message() (*ipc.Message, error) {
	if m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
	if m.remain == 0 {
		return nil, io.EOF
	}
	var word [4]byte
	if err := m.read(word[:]); err != nil {
		return nil, fmt.Errorf("message length: %w", unexpected(err))
	}
	n := binary.LittleEndian.Uint32(word[:])
	if n == 0xFFFFFFFF { // continuation marker, then the length
		if err := m.read(word[:]); err != nil {
			return nil, fmt.Errorf("message length: %w", unexpected(err))
		}
		n = binary.LittleEndian.Uint32(word[:])
	}
	if n == 0 { // end of stream
		return nil, io.EOF
	}
	if int64(n) > m.remain || int32(n) < 0 {
		return nil, fmt.Errorf("%w: message metadata of %d bytes", errMetadata, n)
	}
	meta := make([]byte, n)
	if err := m.read(meta); err != nil {
		return nil, fmt.Errorf("message metadata: %w", unexpected(err))
	}
	bodyLen, err := checkMessage(meta)
	if err != nil {
		return nil, err
	}
	if bodyLen > m.remain {
		return nil, fmt.Errorf("%w: message body of %d bytes", errMetadata, bodyLen)
	}
	body := memory.NewResizableBuffer(m.mem)
	defer body.Release()
	body.Resize(int(bodyLen))
	if err := m.read(body.Bytes()); err != nil {
		return nil, fmt.Errorf("message body: %w", unexpected(err))
	}
	metaBuf := memory.NewBufferBytes(meta)
	defer metaBuf.Release()
	m.msg = ipc.NewMessage(metaBuf, body)
	return m.msg, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkSchemaStream checks the first message of a serialized IPC stream,
// such as the Arrow schema stored in a Parquet file's metadata.
func checkSchemaStream(b []byte) error {
	m := newMessageReader(bytes.NewReader(b), int64(len(b)), boundedAllocator{memory.DefaultAllocator})
	defer m.Release()
	_, err := m.Message()
	if err == io.EOF {
		return nil // the decoder reports the missing schema
	}
	return err
}

// boundedAllocator refuses allocations larger than maxAllocation with a
// panic, which the decoders recover from and report as an error; the Go
// runtime would otherwise abort the process when it cannot satisfy them.
type boundedAllocator struct{ memory.Allocator }

func (a boundedAllocator) Allocate(n int) []byte {
	if n > maxAllocation {
		panic(fmt.Errorf("%w: a buffer of %d bytes", ErrMalformed, n))
	}
	return a.Allocator.Allocate(n)
}

func (a boundedAllocator) Reallocate(n int, b []byte) []byte {
	if n > maxAllocation {
		panic(fmt.Errorf("%w: a buffer of %d bytes", ErrMalformed, n))
	}
	return a.Allocator.Reallocate(n, b)
}
