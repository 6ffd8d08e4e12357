package read

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// arrowMagic opens (and closes) an Arrow IPC file; a stream has no magic.
var arrowMagic = []byte("ARROW1")

// arrowReader reads an Arrow IPC stream, or the stream inside an Arrow IPC
// file, one record batch at a time, and hands out the declared columns in
// slices of at most BatchRows rows.
//
// An IPC file is the magic, padding to 8 bytes, an IPC stream and a footer
// indexing the stream's record batches for random access. Reading the file
// in order does not need the footer, so both forms go through the same
// stream decoder, behind a message reader that checks each message's
// metadata first (see ipcmeta.go). Every record batch is validated before
// its columns are handed out, so that a corrupt file fails here rather than
// making a later step index out of range.
type arrowReader struct {
	stream *ipc.Reader
	sc     *arrow.Schema
	perm   []int
	batch  int64
	cur    arrow.RecordBatch // record batch being sliced
	off    int64             // rows of cur already handed out
}

func openArrowIPC(r io.ReaderAt, size int64, o *Options) (_ *arrowReader, err error) {
	mem := boundedAllocator{o.Allocator}
	var start int64
	end := size
	var src io.Reader
	head := make([]byte, 8)
	if n, _ := r.ReadAt(head, 0); n >= len(arrowMagic) && bytes.Equal(head[:len(arrowMagic)], arrowMagic) {
		start = 8
		schemaMsg, footer, err := footerSchema(r, size)
		if err != nil {
			return nil, err
		}
		if footer > 0 {
			end = footer
		}
		if schemaMsg != nil {
			src = io.MultiReader(bytes.NewReader(schemaMsg), io.NewSectionReader(r, start, max(end-start, 0)))
			end += int64(len(schemaMsg))
		}
	}
	if src == nil {
		src = io.NewSectionReader(r, start, max(end-start, 0))
	}
	msgs := newMessageReader(bufio.NewReaderSize(src, bufferSize(size)), max(end-start, 0), mem)
	stream, err := ipc.NewReaderFromMessageReader(msgs, ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	a := &arrowReader{stream: stream, batch: int64(o.BatchRows)}
	defer func() {
		if err != nil {
			_ = a.close()
		}
	}()
	sc := stream.Schema()
	if sc == nil {
		return nil, fmt.Errorf("%w: no schema", ErrMalformed)
	}
	a.sc, a.perm, err = project(sc, o.Columns)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (a *arrowReader) schema() *arrow.Schema { return a.sc }

// load makes cur the next record batch with rows, or returns io.EOF.
func (a *arrowReader) load() error {
	if a.cur != nil {
		a.cur.Release()
		a.cur, a.off = nil, 0
	}
	for a.stream.Next() {
		rec := a.stream.RecordBatch() // owned by the stream reader
		if rec.NumRows() == 0 {
			continue
		}
		if err := validate(rec, a.perm); err != nil {
			return err
		}
		rec.Retain()
		a.cur = rec
		return nil
	}
	if err := a.stream.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return io.EOF
}

// validate checks the declared columns of a decoded record batch.
func validate(rec arrow.RecordBatch, perm []int) error {
	for _, c := range perm {
		if int64(c) >= rec.NumCols() {
			return fmt.Errorf("%w: a record batch does not match the schema", ErrMalformed)
		}
		col := rec.Column(c)
		if int64(col.Len()) != rec.NumRows() {
			return fmt.Errorf("%w: column %q has %d values in a batch of %d rows",
				ErrMalformed, rec.ColumnName(c), col.Len(), rec.NumRows())
		}
		if err := validateColumn(col); err != nil {
			return fmt.Errorf("%w: column %q: %w", ErrMalformed, rec.ColumnName(c), err)
		}
	}
	return nil
}

// validateColumn checks one column in full. The offsets of text and binary columns are
// checked here first, since the library's check slices the data by an offset before it
// looks at its bounds; any other failure of the check that panics is returned as an
// error, so that the caller can name the column.
func validateColumn(col arrow.Array) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	if col.Len() > 0 {
		switch a := col.(type) {
		case *array.String:
			err = checkOffsets(a.ValueOffsets(), dataBytes(col), col.Data().Offset(), col.Len())
		case *array.Binary:
			err = checkOffsets(a.ValueOffsets(), dataBytes(col), col.Data().Offset(), col.Len())
		case *array.LargeString:
			err = checkOffsets(a.ValueOffsets(), dataBytes(col), col.Data().Offset(), col.Len())
		case *array.LargeBinary:
			err = checkOffsets(a.ValueOffsets(), dataBytes(col), col.Data().Offset(), col.Len())
		}
		if err != nil {
			return err
		}
	}
	return array.ValidateFull(col)
}

// dataBytes is the size of the data buffer of a variable-length column (ValueBytes would
// slice it by the offsets being checked).
func dataBytes(col arrow.Array) int {
	if bufs := col.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		return bufs[2].Len()
	}
	return 0
}

// checkOffsets checks the n+1 offsets of a variable-length column, from offset off in its
// offsets buffer: within the column's data of size bytes and non-decreasing.
func checkOffsets[T int32 | int64](offsets []T, size, off, n int) error {
	if len(offsets) < off+n+1 {
		return fmt.Errorf("corrupt offsets: %d offsets for %d values", len(offsets), off+n)
	}
	for i, o := range offsets[off : off+n+1] {
		if o < 0 || int64(o) > int64(size) {
			return fmt.Errorf("corrupt offsets: value %d starts or ends at byte %d, outside the column's %d bytes of data", off+i, o, size)
		}
		if i > 0 && o < offsets[off+i-1] {
			return fmt.Errorf("corrupt offsets: value %d ends at byte %d, before it starts (%d)", off+i-1, o, offsets[off+i-1])
		}
	}
	return nil
}

func (a *arrowReader) next() (arrow.RecordBatch, error) {
	if a.cur == nil || a.off >= a.cur.NumRows() {
		if err := a.load(); err != nil {
			return nil, err
		}
	}
	end := min(a.off+a.batch, a.cur.NumRows())
	out := projectBatch(a.sc, a.perm, a.cur, a.off, end)
	a.off = end
	return out, nil
}

func (a *arrowReader) close() error {
	if a.cur != nil {
		a.cur.Release()
		a.cur = nil
	}
	if a.stream != nil {
		a.stream.Release()
		a.stream = nil
	}
	return nil
}
