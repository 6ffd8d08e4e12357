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
		if err := array.ValidateFull(col); err != nil {
			return fmt.Errorf("%w: column %q: %w", ErrMalformed, rec.ColumnName(c), err)
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
