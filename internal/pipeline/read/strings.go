package read

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
)

// stringBatch accumulates one batch of string columns, writing values and
// offsets straight into allocator buffers.
type stringBatch struct {
	mem    memory.Allocator
	sc     *arrow.Schema
	cols   []stringColumn
	rows   int // capacity in rows
	n      int // rows appended
	full   bool
	active bool
}

// stringColumn builds one column. A value is null exactly when it is empty,
// so the validity bitmap is derived from the offsets when the batch is
// finished instead of being kept up to date value by value.
type stringColumn struct {
	owner   *stringBatch
	offsets *memory.Buffer
	data    *memory.Buffer
	ob      []int32 // offsets
	db      []byte  // data, full capacity
	dn      int     // bytes of data used
	hint    int     // initial data capacity for the next batch
}

// maxStringBatchRows caps the rows of a text batch, whose offsets are
// allocated in full when the batch begins.
const maxStringBatchRows = 1 << 20

func newStringBatch(mem memory.Allocator, cols []string, rows int) *stringBatch {
	rows = min(rows, maxStringBatchRows)
	// Every byte of a batch's buffers within their lengths is written before it is read:
	// each row sets its offset in every column, the data up to the last offset is copied
	// in, finish cuts both buffers to what was written, and the validity bitmap is cleared
	// before its bits are set. A recycled buffer need not be cleared first.
	mem = mempool.Overwritten(mem)
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
		c.offsets = memory.NewResizableBuffer(b.mem)
		c.offsets.Reserve((b.rows + 1) * arrow.Int32SizeBytes)
		c.ob = arrow.Int32Traits.CastFromBytes(c.offsets.Buf())
		c.ob[0] = 0
		c.data = memory.NewResizableBuffer(b.mem)
		c.data.Reserve(c.hint)
		c.db = c.data.Buf()
		c.dn = 0
	}
}

// appendString sets value n of the column; an empty string is null.
// Values are appended in order, one per column and row, and the row is
// completed with endRow.
func (c *stringColumn) appendString(n int, s string) {
	if len(s) > len(c.db)-c.dn {
		c.grow(len(s))
	}
	c.dn += copy(c.db[c.dn:], s)
	c.ob[n+1] = int32(c.dn)
}

// appendBytes is appendString for a byte slice.
func (c *stringColumn) appendBytes(n int, s []byte) {
	if len(s) > len(c.db)-c.dn {
		c.grow(len(s))
	}
	c.dn += copy(c.db[c.dn:], s)
	c.ob[n+1] = int32(c.dn)
}

func (c *stringColumn) appendNull(n int) {
	c.ob[n+1] = int32(c.dn)
}

func (c *stringColumn) grow(extra int) {
	need := c.dn + extra
	c.data.Reserve(max(need, 2*len(c.db)))
	c.db = c.data.Buf()
	if need > maxBatchBytes {
		c.owner.full = true
	}
}

// validity returns the validity bitmap of the first n values, nil when none
// is null, and the number of nulls.
func (c *stringColumn) validity(mem memory.Allocator, n int) (*memory.Buffer, int) {
	ob := c.ob[:n+1]
	nulls := 0
	for i := range n {
		if ob[i+1] == ob[i] {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(int(bitutil.BytesForBits(int64(n))))
	vb := valid.Bytes()
	clear(vb)
	for i := range n {
		if ob[i+1] != ob[i] {
			bitutil.SetBit(vb, i)
		}
	}
	return valid, nulls
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
		valid, nulls := c.validity(b.mem, b.n)
		data := array.NewData(arrow.BinaryTypes.String, b.n,
			[]*memory.Buffer{valid, c.offsets, c.data}, nil, nulls, 0)
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
		c.offsets, c.data, c.ob, c.db = nil, nil, nil, nil
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
		c.offsets.Release()
		c.data.Release()
		c.offsets, c.data, c.ob, c.db = nil, nil, nil, nil
	}
	b.active = false
}
