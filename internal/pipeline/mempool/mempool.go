// Package mempool is an Arrow memory allocator that recycles the buffers it gives out.
//
// A pipeline step builds, writes and releases the same shapes of buffers batch after batch.
// Go's allocator hands out fresh memory each time, which the kernel must map and zero and
// the collector must sweep; recycling released buffers keeps a step's working set warm and
// its memory flat. Buffers from 4 KiB to 64 MiB are recycled by power-of-two size class, up
// to a bound on the bytes held; others come from and go back to Go.
package mempool

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	alignment = 64
	minClass  = 12 // 4 KiB
	maxClass  = 26 // 64 MiB
)

// Allocator recycles released buffers. It is safe for concurrent use.
type Allocator struct {
	mu    sync.Mutex
	free  [maxClass + 1][][]byte
	held  int // bytes in free lists
	limit int
}

// New returns an allocator that keeps at most limit bytes of released buffers for reuse.
func New(limit int) *Allocator { return &Allocator{limit: limit} }

var _ memory.Allocator = (*Allocator)(nil)

// goAlloc serves the sizes not recycled (not memory.DefaultAllocator, which may be an
// Allocator itself).
var goAlloc = memory.NewGoAllocator()

func class(size int) int {
	if size <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(size - 1))
}

// Allocate returns a zeroed, 64-byte aligned buffer of size bytes.
func (a *Allocator) Allocate(size int) []byte { return a.allocate(size, true) }

// allocate returns a 64-byte aligned buffer of size bytes, a recycled one cleared only
// when zero is set (fresh memory is always zero).
func (a *Allocator) allocate(size int, zero bool) []byte {
	c := class(size)
	if c > maxClass || size < 1<<(minClass-1) {
		return goAlloc.Allocate(size)
	}
	a.mu.Lock()
	if n := len(a.free[c]); n > 0 {
		b := a.free[c][n-1]
		a.free[c] = a.free[c][:n-1]
		a.held -= cap(b)
		a.mu.Unlock()
		b = b[:size]
		if zero {
			clear(b)
		}
		return b
	}
	a.mu.Unlock()
	raw := make([]byte, 1<<c+alignment)
	populate(raw)
	shift := int(-uintptr(unsafe.Pointer(unsafe.SliceData(raw)))) & (alignment - 1)
	return raw[shift : shift+size : shift+1<<c]
}

// Reallocate returns a buffer of size bytes that starts with b's contents.
func (a *Allocator) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

// Free gives a buffer back for reuse.
func (a *Allocator) Free(b []byte) {
	c := bits.Len(uint(cap(b))) - 1
	if cap(b) == 0 || c < minClass || c > maxClass || cap(b) != 1<<c ||
		uintptr(unsafe.Pointer(unsafe.SliceData(b)))&(alignment-1) != 0 {
		return // not one of ours: Go collects it
	}
	a.mu.Lock()
	if a.held+cap(b) <= a.limit {
		a.free[c] = append(a.free[c], b[:0])
		a.held += cap(b)
	}
	a.mu.Unlock()
}

// Overwritten returns an allocator over mem's buffers whose recycled buffers keep their
// old bytes, when mem is an Allocator (mem itself otherwise). It is for a reader that
// overwrites every byte of every buffer it allocates: Arrow's IPC file reader over a file
// without dictionaries, which reads each message's metadata and body in full into the
// buffers it allocates, so clearing them first is wasted work.
func Overwritten(mem memory.Allocator) memory.Allocator {
	if a, ok := mem.(*Allocator); ok {
		return overwritten{a}
	}
	return mem
}

type overwritten struct{ a *Allocator }

func (o overwritten) Allocate(size int) []byte { return o.a.allocate(size, false) }

func (o overwritten) Reallocate(size int, b []byte) []byte { return o.a.Reallocate(size, b) }

func (o overwritten) Free(b []byte) { o.a.Free(b) }

// DefaultLimit is the bytes of released buffers an allocator of a pipeline step keeps.
const DefaultLimit = 64 << 20

var install sync.Once

// InstallDefault makes memory.DefaultAllocator an Allocator, for the allocations arrow-go
// makes on its own (the Parquet encoders' page buffers among them). A command calls it
// once, before any work; it is meant for processes that run pipeline steps.
func InstallDefault() {
	install.Do(func() { memory.DefaultAllocator = New(DefaultLimit) })
}

// Shared returns memory.DefaultAllocator when InstallDefault made it an Allocator, and a
// new Allocator otherwise.
func Shared() memory.Allocator {
	if a, ok := memory.DefaultAllocator.(*Allocator); ok {
		return a
	}
	return New(DefaultLimit)
}
