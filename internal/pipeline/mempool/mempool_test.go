package mempool

import (
	"sync"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func aligned(b []byte) bool { return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%alignment == 0 }

func TestAllocateZeroedAlignedAndRecycled(t *testing.T) {
	a := New(1 << 20)
	for _, size := range []int{1, 100, 2047, 2048, 4096, 4097, 70000, 1 << 20} {
		b := a.Allocate(size)
		if len(b) != size || !aligned(b) {
			t.Fatalf("Allocate(%d): len %d, aligned %v", size, len(b), aligned(b))
		}
		for i := range b {
			b[i] = 0xAB
		}
		a.Free(b)
		c := a.Allocate(size)
		for i, x := range c {
			if x != 0 {
				t.Fatalf("Allocate(%d) after Free: byte %d is %#x, want 0", size, i, x)
			}
		}
		if size >= 4096 && size <= 1<<19 && unsafe.SliceData(c) != unsafe.SliceData(b) {
			t.Errorf("Allocate(%d): a released buffer of the class was not reused", size)
		}
		a.Free(c)
	}
}

func TestReallocateKeepsContentsAndZeroesGrowth(t *testing.T) {
	a := New(1 << 20)
	b := a.Allocate(5000)
	for i := range b {
		b[i] = byte(i)
	}
	b = a.Reallocate(3000, b) // shrink within capacity
	b = a.Reallocate(6000, b) // grow within the 8 KiB class: the regrown part is zero
	for i := 0; i < 3000; i++ {
		if b[i] != byte(i) {
			t.Fatalf("byte %d = %d after reallocation", i, b[i])
		}
	}
	for i := 3000; i < 6000; i++ {
		if b[i] != 0 {
			t.Fatalf("byte %d = %d, want 0", i, b[i])
		}
	}
	c := a.Reallocate(100000, b) // a new class
	if len(c) != 100000 || c[2999] != byte(2999%256) || c[99999] != 0 || !aligned(c) {
		t.Fatalf("reallocation into a larger class lost contents")
	}
}

// Growing into a larger class reuses a released buffer of that class, whose old bytes
// must not show through past the copied contents.
func TestReallocateIntoRecycledBufferZeroesGrowth(t *testing.T) {
	a := New(1 << 20)
	dirty := a.Allocate(16000)
	for i := range dirty {
		dirty[i] = 0xAB
	}
	a.Free(dirty) // the 16 KiB class now holds a dirty buffer
	b := a.Allocate(5000)
	for i := range b {
		b[i] = byte(i%251 + 1)
	}
	c := a.Reallocate(12000, b)
	if &c[0] != &dirty[:1][0] {
		t.Fatal("the reallocation did not reuse the released buffer; the test checks nothing")
	}
	for i := range c {
		want := byte(0)
		if i < 5000 {
			want = byte(i%251 + 1)
		}
		if c[i] != want {
			t.Fatalf("byte %d = %#x after growing, want %#x", i, c[i], want)
		}
	}
}

func TestHeldBytesBounded(t *testing.T) {
	a := New(3 * 4096)
	var bufs [][]byte
	for i := 0; i < 5; i++ {
		bufs = append(bufs, a.Allocate(4096))
	}
	for _, b := range bufs {
		a.Free(b)
	}
	if a.held != 3*4096 || len(a.free[minClass]) != 3 {
		t.Errorf("held %d bytes in %d buffers, want 3 buffers", a.held, len(a.free[minClass]))
	}
	// Buffers not from a pool (odd capacity, or unaligned) are left to Go.
	a.Free(make([]byte, 5000))
	odd := make([]byte, 8192+alignment)
	a.Free(odd[1:8193:8193])
	if a.held != 3*4096 {
		t.Errorf("foreign buffers were kept: held %d", a.held)
	}
}

func TestConcurrentUse(t *testing.T) {
	a := New(8 << 20)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				b := a.Allocate(4096 << (i % 4))
				for j := range b {
					if b[j] != 0 {
						t.Errorf("dirty buffer")
						return
					}
					b[j] = byte(g)
				}
				a.Free(b)
			}
		}(g)
	}
	wg.Wait()
}

func TestInstallDefault(t *testing.T) {
	before := memory.DefaultAllocator
	t.Cleanup(func() { memory.DefaultAllocator = before; install = sync.Once{} })
	if _, ok := Shared().(*Allocator); !ok || Shared() == Shared() {
		t.Fatal("before InstallDefault, Shared should return a new Allocator each time")
	}
	InstallDefault()
	InstallDefault()
	a, ok := memory.DefaultAllocator.(*Allocator)
	if !ok || Shared() != memory.Allocator(a) {
		t.Fatal("after InstallDefault, Shared should return the default allocator")
	}
	// Small sizes go to Go's allocator, not back to the default one (which is the pool itself).
	if b := memory.DefaultAllocator.Allocate(10); len(b) != 10 {
		t.Fatalf("Allocate(10) gave %d bytes", len(b))
	}
}

// TestOverwrittenSkipsClearing checks that Overwritten recycles the same buffers without
// clearing them, that fresh memory is still zero, and that Allocate still clears.
func TestOverwrittenSkipsClearing(t *testing.T) {
	a := New(1 << 20)
	o := Overwritten(a)
	b := o.Allocate(8000)
	if b[0] != 0 || b[7999] != 0 || !aligned(b) {
		t.Fatalf("fresh buffer not zero or not aligned")
	}
	for i := range b {
		b[i] = 0xAB
	}
	o.Free(b)
	c := o.Allocate(6000) // same 8 KiB class: the buffer comes back as it was left
	if unsafe.SliceData(c) != unsafe.SliceData(b) || c[0] != 0xAB || c[5999] != 0xAB {
		t.Fatalf("Overwritten: recycled buffer was cleared or not reused")
	}
	a.Free(c)
	if d := a.Allocate(6000); d[0] != 0 || d[5999] != 0 {
		t.Fatalf("Allocate after Overwritten: buffer not cleared")
	}
	if g := memory.NewGoAllocator(); Overwritten(g) != memory.Allocator(g) {
		t.Errorf("Overwritten of another allocator must return it unchanged")
	}
}
