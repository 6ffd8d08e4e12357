// Package mapped opens a file as read-only memory, so that a reader that understands it
// (the Arrow IPC file reader's mapped mode) reads record batches in place: no copy into
// the heap, no buffers to allocate and clear, and the page cache shared with every other
// process reading the same snapshot.
//
// Only immutable files may be mapped: a file truncated while mapped makes a read of the
// lost pages fault. The store's objects qualify: they are content-addressed, written
// under a temporary name and renamed into place, never rewritten.
package mapped

import (
	"bytes"
	"fmt"
	"os"
)

// File is a file's bytes in memory. It is also an io.Reader, io.ReaderAt and io.Seeker
// over them, for readers that do not read in place.
type File struct {
	*bytes.Reader
	data  []byte
	unmap func() error
}

// Bytes returns the file's contents. They are valid until Close.
func (f *File) Bytes() []byte { return f.data }

// Close releases the mapping. Nothing read in place may be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data, f.Reader = nil, nil, bytes.NewReader(nil)
	return err
}

// Open maps the file at path. An empty file gives an empty File. Where the system cannot
// map files, Open reads the file into memory instead.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return &File{Reader: bytes.NewReader(nil)}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("mapping %s: %d bytes do not fit in memory", path, size)
	}
	data, unmap, err := mapFile(fd, int(size))
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return &File{Reader: bytes.NewReader(data), data: data, unmap: unmap}, nil
}
