package aggregate_test

import (
	"os"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
)

// The tests run as the backbone command does: with Arrow's default allocator recycling
// buffers, so a buffer used after its release would show as a wrong cell.
func TestMain(m *testing.M) {
	mempool.InstallDefault()
	os.Exit(m.Run())
}
