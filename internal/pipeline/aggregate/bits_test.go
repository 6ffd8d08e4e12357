package aggregate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/filter"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// keepSlots and booleanBits work a byte at a time; row by row they must agree with the
// plain definition at every offset and length, byte boundaries or not.
func TestBitmapsRowByRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 2000; it++ {
		total := rng.IntN(70)
		off := rng.IntN(total + 1)
		n := total - off
		// keepSlots over a random bitmap.
		bits := make([]byte, (total+7)/8)
		for i := range bits {
			switch rng.IntN(3) {
			case 0:
				bits[i] = 0xFF
			case 1:
				bits[i] = 0
			default:
				bits[i] = byte(rng.Uint32())
			}
		}
		slots := make([]int32, n)
		for i := range slots {
			slots[i] = 2 + rng.Int32N(100)
		}
		got := keepSlots(nil, slots, bits, off)
		for i := range slots {
			want := int32(slotDropped)
			if bits[(off+i)/8]&(1<<((off+i)%8)) != 0 {
				want = slots[i]
			}
			if got[i] != want {
				t.Fatalf("keepSlots, %d rows at offset %d: row %d is %d, want %d", n, off, i, got[i], want)
			}
		}
		// booleanBits over a random Boolean array with nulls, sliced at the offset.
		b := array.NewBooleanBuilder(memory.DefaultAllocator)
		for i := 0; i < total; i++ {
			if rng.IntN(4) == 0 {
				b.AppendNull()
			} else {
				b.Append(rng.IntN(2) == 0)
			}
		}
		whole := b.NewBooleanArray()
		b.Release()
		a := array.NewSlice(whole, int64(off), int64(total)).(*array.Boolean)
		for _, f := range []spec.Filter{
			{Column: "b", Operator: spec.OpIn, Values: []string{"true"}},
			{Column: "b", Operator: spec.OpNotIn, Values: []string{"true"}},
			{Column: "b", Operator: spec.OpExists},
			{Column: "b", Operator: spec.OpDoesNotExist},
		} {
			pred, err := filter.Compile(f, spec.TypeBoolean, nil)
			if err != nil {
				t.Fatal(err)
			}
			mask := make([]byte, (n+7)/8)
			for i := range mask {
				mask[i] = 0xFF
			}
			booleanBits(mask, a, pred)
			for i := 0; i < n; i++ {
				want := pred.MatchBool(a.IsValid(i) && a.Value(i), a.IsValid(i))
				if got := mask[i/8]&(1<<(i%8)) != 0; got != want {
					t.Fatalf("%s %v, %d rows at offset %d: row %d kept %v, want %v", f.Operator, f.Values, n, off, i, got, want)
				}
			}
		}
		a.Release()
		whole.Release()
	}
}

// An Integer column under Gt and Lt, in bulk, keeps exactly the rows MatchNumber keeps,
// nulls dropped, at every offset and length.
func TestIntegerBoundBitsRowByRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 2000; it++ {
		total := rng.IntN(70)
		off := rng.IntN(total + 1)
		n := total - off
		b := array.NewInt64Builder(memory.DefaultAllocator)
		for range total {
			if rng.IntN(5) == 0 {
				b.AppendNull()
			} else {
				b.Append(rng.Int64N(41) - 20)
			}
		}
		whole := b.NewInt64Array()
		a := array.NewSlice(whole, int64(off), int64(total)).(*array.Int64)
		op := []string{spec.OpGt, spec.OpLt}[rng.IntN(2)]
		bound := []string{"15", "16", "-3", "2.5", "0"}[rng.IntN(5)]
		pred, err := filter.Compile(spec.Filter{Column: "x", Operator: op, Values: []string{bound}}, spec.TypeInteger, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := &operandState{src: &source{scr: &scratch{}}, filters: []boundFilter{{col: 0, typ: spec.TypeInteger, pred: pred}}}
		bits := o.filterBits([]arrow.Array{a}, n)
		for i := 0; i < n; i++ {
			want := pred.MatchNumber(float64(a.Value(i)), a.IsValid(i))
			if got := bits[i>>3]&(1<<(i&7)) != 0; got != want {
				t.Fatalf("offset %d row %d (%v, valid %v) %s %s: kept %v, want %v", off, i, a.Value(i), a.IsValid(i), op, bound, got, want)
			}
		}
		a.Release()
		whole.Release()
	}
}

// Selected straight from the values, the slots of rows under one or two Gt and Lt filters
// of Integer columns are the rows MatchNumber keeps, nulls dropped, at every offset and
// length, with bounds beyond the integers a float64 holds exactly too.
func TestIntegerBoundSlotsRowByRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	values := []int64{-20, -3, 0, 2, 15, 16, 1<<53 - 1, 1 << 53, 1<<53 + 1, -(1 << 53) - 1, math.MaxInt64, math.MinInt64}
	bounds := []string{"15", "16", "-3", "2.5", "0", "-2.5", "9007199254740993", "9007199254740991.5", "-9007199254740993", "1e300", "-1e300"}
	for it := 0; it < 3000; it++ {
		total := rng.IntN(70)
		off := rng.IntN(total + 1)
		n := total - off
		var arrs []arrow.Array
		var filters []boundFilter
		var preds []*filter.Pred
		for c := range 1 + rng.IntN(2) {
			b := array.NewInt64Builder(memory.DefaultAllocator)
			for range total {
				switch rng.IntN(6) {
				case 0:
					b.AppendNull()
				case 1:
					b.Append(values[rng.IntN(len(values))])
				default:
					b.Append(rng.Int64N(41) - 20)
				}
			}
			whole := b.NewInt64Array()
			arrs = append(arrs, array.NewSlice(whole, int64(off), int64(total)))
			whole.Release()
			op := []string{spec.OpGt, spec.OpLt}[rng.IntN(2)]
			pred, err := filter.Compile(spec.Filter{Column: "x", Operator: op, Values: []string{bounds[rng.IntN(len(bounds))]}}, spec.TypeInteger, nil)
			if err != nil {
				t.Fatal(err)
			}
			filters = append(filters, boundFilter{col: c, typ: spec.TypeInteger, pred: pred})
			preds = append(preds, pred)
		}
		slots := make([]int32, n)
		for i := range slots {
			slots[i] = 2 + rng.Int32N(100)
		}
		o := &operandState{src: &source{scr: &scratch{}}, filters: filters}
		got := o.filterSlots(nil, slots, arrs, n)
		for i := 0; i < n; i++ {
			want := slots[i]
			for c, a := range arrs {
				x := a.(*array.Int64)
				if !preds[c].MatchNumber(float64(x.Value(i)), x.IsValid(i)) {
					want = slotDropped
				}
			}
			if got[i] != want {
				t.Fatalf("offset %d row %d, %d filters: slot %d, want %d", off, i, len(arrs), got[i], want)
			}
		}
		for _, a := range arrs {
			a.Release()
		}
	}
}
