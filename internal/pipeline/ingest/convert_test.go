package ingest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// Many spellings that collide in the cache of recent lookups still map to their own groups,
// batch after batch, and unknown spellings are rejected every time.
func TestConvertDimensionSpellings(t *testing.T) {
	dim := spec.Dimension{Name: "district", Values: []string{"North", "South", "East"}, Unknown: "Unknown"}
	valueMap := map[string]string{}
	var values []string
	for i := 0; i < 600; i++ {
		raw := fmt.Sprintf("d%d", i)
		if i%4 != 3 { // every fourth spelling is not mapped
			valueMap[raw] = dim.Values[i%3]
		}
		values = append(values, raw)
	}
	values = append(values, " north ", "SOUTH", "East", "")
	col, err := newColumn(spec.Column{Name: "district", Type: spec.TypeString, Dimension: "district", ValueMap: valueMap}, []spec.Dimension{dim}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	for round := 0; round < 3; round++ {
		for _, v := range values {
			b.Append(v)
		}
	}
	arr := b.NewArray()
	defer arr.Release()
	fails := col.convert(arr, newMarkers([]string{""}), nil)
	failed := map[int]bool{}
	for _, f := range fails {
		failed[f.row] = true
	}
	for i := 0; i < arr.Len(); i++ {
		v := values[i%len(values)]
		var want int
		switch v {
		case "":
			want = 3 // missing: the unknown group
		case " north ":
			want = 0
		case "SOUTH":
			want = 1
		case "East":
			want = 2
		default:
			k, err := strconv.Atoi(strings.TrimPrefix(v, "d"))
			if err != nil {
				t.Fatal(err)
			}
			if k%4 == 3 {
				if !failed[i] {
					t.Errorf("row %d: %q accepted, want rejected", i, v)
				}
				continue
			}
			want = k % 3
		}
		if failed[i] || int(col.codes[i]) != want {
			t.Errorf("row %d: %q → code %d (rejected %v), want %d", i, v, col.codes[i], failed[i], want)
		}
	}
}

// The cache of recent lookups never holds a batch's own strings: once a batch is released
// its buffers are recycled, and a cached string rewritten in place ("A038" becoming "A048",
// which shares its cache slot) would send the next "A048" to A038's group.
func TestConvertCacheOutlivesBatchBuffers(t *testing.T) {
	dim := spec.Dimension{Name: "origin", Values: []string{"A038", "A048"}, Unknown: "Unknown"}
	col, err := newColumn(spec.Column{Name: "origin", Type: spec.TypeString, Dimension: "origin"}, []spec.Dimension{dim}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if recentSlot("A038") != recentSlot("A048") {
		t.Fatal("the test needs two values that share a cache slot")
	}
	// batch makes a one-row batch over data, as a reader's batch points into its buffers.
	batch := func(data []byte) arrow.Array {
		offsets := arrow.Int32Traits.CastToBytes([]int32{0, int32(len(data))})
		d := array.NewData(arrow.BinaryTypes.String, 1,
			[]*memory.Buffer{nil, memory.NewBufferBytes(offsets), memory.NewBufferBytes(data)}, nil, 0, 0)
		defer d.Release()
		return array.MakeFromData(d)
	}
	convert := func(data []byte) uint16 {
		a := batch(data)
		defer a.Release()
		if fails := col.convert(a, newMarkers(nil), nil); len(fails) > 0 {
			t.Fatalf("%s rejected: %+v", data, fails)
		}
		return col.codes[0]
	}
	convert([]byte("A038"))
	convert([]byte("A048")) // takes the slot
	recycled := []byte("A038")
	convert(recycled)      // back in the slot, found in the map this time
	copy(recycled, "A048") // the released batch's memory now holds another value
	if code := convert([]byte("A048")); code != 1 {
		t.Errorf("A048 → code %d (%s), want 1", code, dim.Groups()[code])
	}
}

// A sink reports the first write error to the next put and to close, releases every batch
// it was given, and never blocks after a failure.
func TestSinkReportsWriteErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	batch := func() arrow.RecordBatch {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues([]int64{1, 2, 3}, nil)
		col := b.NewArray()
		defer col.Release()
		return array.NewRecordBatch(schema, []arrow.Array{col}, 3)
	}
	writes := 0
	s := newSink(func(arrow.RecordBatch) error {
		writes++
		if writes == 2 {
			return errors.New("disk full")
		}
		return nil
	})
	var putErr error
	for i := 0; i < 50 && putErr == nil; i++ {
		putErr = s.put(batch())
	}
	if putErr == nil || putErr.Error() != "disk full" {
		t.Errorf("put: %v, want the write error", putErr)
	}
	if err := s.close(); err == nil || err.Error() != "disk full" {
		t.Errorf("close: %v, want the write error", err)
	}
	if writes != 2 {
		t.Errorf("%d writes, want none after the failure", writes)
	}
}
