package ingest

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
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

// Typed values (Parquet, Arrow IPC) convert when they are what the column declares, and
// otherwise get a reason that says what is wrong with the value.
func TestConvertNativeReasons(t *testing.T) {
	mem := memory.DefaultAllocator
	build := func(b array.Builder, add func()) arrow.Array {
		add()
		return b.NewArray()
	}
	u64 := array.NewUint64Builder(mem)
	f64 := array.NewFloat64Builder(mem)
	boo := array.NewBooleanBuilder(mem)
	d128 := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: 2})
	dict := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int64}).(*array.Int64DictionaryBuilder)
	date := array.NewDate32Builder(mem)
	for _, c := range []struct {
		name string
		typ  string
		arr  arrow.Array
		want []string // the value or the reason, per row
	}{
		{"uint64 as Integer", spec.TypeInteger, build(u64, func() { u64.AppendValues([]uint64{7, math.MaxUint64}, nil) }),
			[]string{"7", "18446744073709551615 is larger than the largest integer, 9223372036854775807"}},
		{"uint64 as Number", spec.TypeNumber, build(u64, func() { u64.AppendValues([]uint64{math.MaxUint64}, nil) }),
			[]string{"1.8446744073709552e+19"}},
		{"double as Integer", spec.TypeInteger, build(f64, func() { f64.AppendValues([]float64{3, 2.5, 1e20, math.NaN(), math.Inf(-1)}, nil) }),
			[]string{"3", "2.5 is not a whole number", "1e+20 is a floating-point number too large to be an exact integer (beyond 2^53): store the column as integers", "NaN is not a number", "-Inf is not a finite number"}},
		{"double as Number", spec.TypeNumber, build(f64, func() { f64.AppendValues([]float64{1e20, math.Inf(1)}, nil) }),
			[]string{"1e+20", "+Inf is not a finite number"}},
		{"boolean as Number", spec.TypeNumber, build(boo, func() { boo.AppendValues([]bool{true}, nil) }),
			[]string{"a boolean (true) is not a number: declare the column as Boolean"}},
		{"boolean as Integer", spec.TypeInteger, build(boo, func() { boo.AppendValues([]bool{false}, nil) }),
			[]string{"a boolean (false) is not an integer: declare the column as Boolean, or store counts"}},
		{"decimal as Integer", spec.TypeInteger, build(d128, func() {
			d128.AppendValues([]decimal128.Num{decimal128.FromI64(1200), decimal128.FromI64(1250), decimal128.FromBigInt(new(big.Int).Mul(new(big.Int).Lsh(big.NewInt(1), 100), big.NewInt(100)))}, nil)
		}), []string{"12", "12.5 is not a whole number", "1267650600228229401496703205376 is outside the range of integers (±9223372036854775807)"}},
		{"decimal as Number", spec.TypeNumber, build(d128, func() { d128.Append(decimal128.FromI64(1250)) }),
			[]string{"12.5"}},
		{"dictionary of integers", spec.TypeInteger, build(dict, func() { _ = dict.AppendValueFromString("40"); _ = dict.AppendValueFromString("2") }),
			[]string{"40", "2"}},
		{"date as Integer", spec.TypeInteger, build(date, func() { date.Append(arrow.Date32(20000)) }),
			[]string{"a date32 value is not an integer: the column holds date32 values"}},
		{"double as Boolean", spec.TypeBoolean, build(f64, func() { f64.Append(1) }),
			[]string{"a float64 value is not a boolean: the column holds float64 values"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer c.arr.Release()
			col, err := newColumn(spec.Column{Name: "v", Type: c.typ}, nil, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			fails := col.convert(c.arr, newMarkers(nil), nil)
			got := make([]string, c.arr.Len())
			for i := range got {
				switch c.typ {
				case spec.TypeInteger:
					got[i] = strconv.FormatInt(col.ints[i], 10)
				case spec.TypeNumber:
					got[i] = strconv.FormatFloat(col.nums[i], 'g', -1, 64)
				}
			}
			for _, f := range fails {
				got[f.row] = f.reason
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
