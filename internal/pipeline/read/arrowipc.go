package read

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// arrowMagic opens (and closes) an Arrow IPC file; a stream has no magic.
var arrowMagic = []byte("ARROW1")

// arrowReader reads an Arrow IPC file or stream one record batch at a time
// and hands out the declared columns in slices of at most BatchRows rows.
type arrowReader struct {
	file   *ipc.FileReader // IPC file format
	stream *ipc.Reader     // IPC stream format
	nextAt int             // next record batch of file
	sc     *arrow.Schema
	perm   []int
	batch  int64
	cur    arrow.RecordBatch // record batch being sliced
	off    int64             // rows of cur already handed out
}

func openArrowIPC(r io.ReaderAt, size int64, o *Options) (_ *arrowReader, err error) {
	opts := []ipc.Option{ipc.WithAllocator(o.Allocator)}
	if size > 0 {
		// No message can be larger than the file that holds it.
		opts = append(opts, ipc.WithMetadataSizeLimit(size), ipc.WithBodySizeLimit(size))
	}
	a := &arrowReader{batch: int64(o.BatchRows)}
	defer func() {
		if err != nil {
			_ = a.close()
		}
	}()
	head := make([]byte, len(arrowMagic))
	n, _ := r.ReadAt(head, 0)
	var sc *arrow.Schema
	if n == len(head) && bytes.Equal(head, arrowMagic) {
		a.file, err = ipc.NewFileReader(io.NewSectionReader(r, 0, size), opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		sc = a.file.Schema()
	} else {
		src := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), bufferSize(size))
		a.stream, err = ipc.NewReader(src, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		sc = a.stream.Schema()
	}
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
	for {
		if a.cur != nil {
			a.cur.Release()
			a.cur, a.off = nil, 0
		}
		var rec arrow.RecordBatch
		if a.file != nil {
			if a.nextAt >= a.file.NumRecords() {
				return io.EOF
			}
			var err error
			rec, err = a.file.RecordBatchAt(a.nextAt) // owned by us
			if err != nil {
				return fmt.Errorf("record batch %d: %w: %w", a.nextAt, ErrMalformed, err)
			}
			a.nextAt++
		} else {
			if !a.stream.Next() {
				if err := a.stream.Err(); err != nil && err != io.EOF {
					return fmt.Errorf("%w: %w", ErrMalformed, err)
				}
				return io.EOF
			}
			rec = a.stream.RecordBatch() // owned by the stream reader
			rec.Retain()
		}
		if err := checkColumns(rec, a.perm); err != nil {
			rec.Release()
			return err
		}
		if rec.NumRows() > 0 {
			a.cur = rec
			return nil
		}
		rec.Release()
	}
}

// checkColumns guards against record batches that disagree with the schema.
func checkColumns(rec arrow.RecordBatch, perm []int) error {
	for _, c := range perm {
		if int64(c) >= rec.NumCols() || int64(rec.Column(c).Len()) != rec.NumRows() {
			return fmt.Errorf("%w: a record batch does not match the schema", ErrMalformed)
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
	var err error
	if a.file != nil {
		err = a.file.Close()
		a.file = nil
	}
	if a.stream != nil {
		a.stream.Release()
		a.stream = nil
	}
	return err
}
