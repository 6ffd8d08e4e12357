package result

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
)

// Cells read from a table keep their values after the table's buffers are reused. Every
// backbone command makes memory.DefaultAllocator a recycling allocator (mempool), and the
// manager publishes the cells it read for as long as their result is current, while it
// reads other results: a cell whose strings pointed into the released table changed its
// indicator, period or groups under the publisher.
func TestReadCellsKeepsValuesWhenBuffersAreReused(t *testing.T) {
	old := memory.DefaultAllocator
	memory.DefaultAllocator = mempool.New(mempool.DefaultLimit)
	t.Cleanup(func() { memory.DefaultAllocator = old })

	table := func(prefix string) ([]aggregate.Cell, []byte) {
		var cells []aggregate.Cell
		for i := range 3000 {
			cells = append(cells, aggregate.Cell{
				Namespace: prefix + "-namespace", Initiative: prefix + "-initiative",
				Indicator: fmt.Sprintf("%s-indicator-%04d", prefix, i), Period: "2025-08-01",
				Dimensions: map[string]string{"race_ethnicity": fmt.Sprintf("%s group %d", prefix, i%7)},
				Value:      f(float64(i)), N: n(int64(i)), Flags: []string{prefix + "-flag"}, Note: prefix + " note",
			})
		}
		var b bytes.Buffer
		if err := WriteCells(&b, cells); err != nil {
			t.Fatal(err)
		}
		return cells, b.Bytes()
	}
	wantA, a := table("alpha")
	_, b := table("bravo")
	gotA, err := ReadCells(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := ReadCells(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	for i := range wantA {
		if !reflect.DeepEqual(gotA[i], wantA[i]) {
			t.Fatalf("cell %d changed after other tables were read:\n%+v\nwant\n%+v", i, gotA[i], wantA[i])
		}
	}
}
