package mempool

import (
	"os"
	"syscall"
	"unsafe"
)

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14).
const madvPopulateWrite = 23

var pageSize = uintptr(os.Getpagesize())

// populate maps the pages of a fresh buffer of at least 1 MiB in one system call, instead
// of one page fault per 4 KiB page on first write (the cost that dominates a short run).
// Older kernels refuse it; the pages then come one fault at a time, as without it.
func populate(b []byte) {
	if len(b) < 1<<20 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	end := start + uintptr(len(b))
	start = (start + pageSize - 1) &^ (pageSize - 1)
	end &^= pageSize - 1
	if end <= start {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvPopulateWrite)
}
