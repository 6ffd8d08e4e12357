package store

import (
	"fmt"
	"os"
	"syscall"
)

// Map memory-maps a file read-only. The returned function unmaps it. An empty file maps to
// an empty slice.
func Map(file string) ([]byte, func() error, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", file, err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

// Evict drops the pages of a read-only shared file mapping from this process's memory; they
// stay in the page cache and come back on the next access. Only for slices returned by Map.
func Evict(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return syscall.Madvise(data, syscall.MADV_DONTNEED)
}
