package read

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// stringBatch accumulates one batch of string columns, writing values,
// offsets and validity bits straight into allocator buffers.
type stringBatch struct {
	mem    memory.Allocator
	sc     *arrow.Schema
	cols   []stringColumn
	rows   int // capacity in rows
	n      int // rows appended
	full   bool
	active bool
}

type stringColumn struct {
	owner   *stringBatch
	valid   *memory.Buffer
	offsets *memory.Buffer
	data    *memory.Buffer
	vb      []byte  // validity bits
	ob      []int32 // offsets
	db      []byte  // data, full capacity
	dn      int     // bytes of data used
	nulls   int
	hint    int // initial data capacity for the next batch
}

// maxStringBatchRows caps the rows of a text batch, whose offsets and
// validity buffers are allocated in full when the batch begins.
const maxStringBatchRows = 1 << 20

func newStringBatch(mem memory.Allocator, cols []string, rows int) *stringBatch {
	rows = min(rows, maxStringBatchRows)
	b := &stringBatch{mem: mem, sc: stringSchema(cols), cols: make([]stringColumn, len(cols)), rows: rows}
	for i := range b.cols {
		b.cols[i].owner = b
		b.cols[i].hint = min(rows, 1<<16) * 8
	}
	return b
}

// begin allocates the buffers of a new batch.
func (b *stringBatch) begin() {
	b.n, b.full, b.active = 0, false, true
	for i := range b.cols {
		c := &b.cols[i]
		c.valid = memory.NewResizableBuffer(b.mem)
		c.valid.Reserve(int(bitutil.BytesForBits(int64(b.rows))))
		c.vb = c.valid.Buf()
		clear(c.vb)
		c.offsets = memory.NewResizableBuffer(b.mem)
		c.offsets.Reserve((b.rows + 1) * arrow.Int32SizeBytes)
		c.ob = arrow.Int32Traits.CastFromBytes(c.offsets.Buf())
		c.ob[0] = 0
		c.data = memory.NewResizableBuffer(b.mem)
		c.data.Reserve(c.hint)
		c.db = c.data.Buf()
		c.dn, c.nulls = 0, 0
	}
}

// appendString appends a value; an empty string is null. The row is
// complete once every column has one more value; then call endRow.
func (c *stringColumn) appendString(s string) {
	n := c.owner.n
	if len(s) == 0 {
		c.nulls++
		c.ob[n+1] = int32(c.dn)
		return
	}
	if c.dn+len(s) > len(c.db) {
		c.grow(len(s))
	}
	copy(c.db[c.dn:], s)
	c.dn += len(s)
	c.vb[n>>3] |= 1 << (n & 7)
	c.ob[n+1] = int32(c.dn)
}

// appendBytes is appendString for a byte slice.
func (c *stringColumn) appendBytes(s []byte) {
	n := c.owner.n
	if len(s) == 0 {
		c.nulls++
		c.ob[n+1] = int32(c.dn)
		return
	}
	if c.dn+len(s) > len(c.db) {
		c.grow(len(s))
	}
	copy(c.db[c.dn:], s)
	c.dn += len(s)
	c.vb[n>>3] |= 1 << (n & 7)
	c.ob[n+1] = int32(c.dn)
}

func (c *stringColumn) appendNull() {
	c.nulls++
	c.ob[c.owner.n+1] = int32(c.dn)
}

func (c *stringColumn) grow(extra int) {
	need := c.dn + extra
	c.data.Reserve(max(need, 2*len(c.db)))
	c.db = c.data.Buf()
	if need > maxBatchBytes {
		c.owner.full = true
	}
}

// endRow completes a row and reports whether the batch can take another.
func (b *stringBatch) endRow() bool {
	b.n++
	return b.n < b.rows && !b.full
}

// finish returns the batch built so far and leaves the builder inactive.
func (b *stringBatch) finish() arrow.RecordBatch {
	cols := make([]arrow.Array, len(b.cols))
	for i := range b.cols {
		c := &b.cols[i]
		c.offsets.ResizeNoShrink((b.n + 1) * arrow.Int32SizeBytes)
		c.data.ResizeNoShrink(c.dn)
		valid := c.valid
		if c.nulls == 0 {
			valid.Release()
			valid = nil
		} else {
			valid.ResizeNoShrink(int(bitutil.BytesForBits(int64(b.n))))
		}
		data := array.NewData(arrow.BinaryTypes.String, b.n,
			[]*memory.Buffer{valid, c.offsets, c.data}, nil, c.nulls, 0)
		cols[i] = array.MakeFromData(data)
		data.Release()
		if valid != nil {
			valid.Release()
		}
		c.offsets.Release()
		c.data.Release()
		if b.n > 0 {
			// Expect the next batch to be about as dense as this one.
			perRow := c.dn/b.n + 1
			if perRow > maxBatchBytes/b.rows {
				c.hint = maxBatchBytes
			} else {
				c.hint = perRow * b.rows
			}
		}
		c.valid, c.offsets, c.data, c.vb, c.ob, c.db = nil, nil, nil, nil, nil, nil
	}
	rec := array.NewRecordBatch(b.sc, cols, int64(b.n))
	for _, a := range cols {
		a.Release()
	}
	b.active = false
	return rec
}

// discard drops the batch being built.
func (b *stringBatch) discard() {
	if !b.active {
		return
	}
	for i := range b.cols {
		c := &b.cols[i]
		c.valid.Release()
		c.offsets.Release()
		c.data.Release()
		c.valid, c.offsets, c.data, c.vb, c.ob, c.db = nil, nil, nil, nil, nil, nil
	}
	b.active = false
}
