package result

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store"
)

// A result is read back as written, from the key Write returns and from latest.json; an
// object changed after the manifest was written is refused, a missing result is not found.
func TestWriteRead(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := &spec.Aggregate{Namespace: "ns", Initiative: "ini", TimeZone: "UTC", AsOf: "2026-11-23",
		Inputs:     []spec.Input{{Source: "s", Snapshot: "sha256:ab"}},
		Indicators: []spec.Indicator{{Name: "a", SpecHash: "sha256:cd", Numerator: spec.Operand{Source: "s"}}}}
	res := &aggregate.Result{
		Cells: []aggregate.Cell{{Namespace: "ns", Initiative: "ini", Indicator: "a", Period: "2026-01-01", Dimensions: map[string]string{}, Value: f(4), N: n(4), Reliable: true},
			{Namespace: "ns", Initiative: "ini", Indicator: "a", Period: "2026-01-01", Dimensions: map[string]string{"race": "Asian"}, Suppressed: true}},
		Indicators: []aggregate.IndicatorResult{{Name: "a", MinCellSize: 11, Cells: 2, SuppressedCells: 1, SpecHash: "sha256:cd",
			Headline: &aggregate.Headline{Period: "2026-01-01", Value: f(4), N: n(4), Reliable: true}}},
		Inputs: map[string]string{"s": "sha256:ab"},
	}
	key, man, err := Write(ctx, st, p, "v1", res, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := p.Hash("v1")
	if man.ID != id || key != "ns/ini/results/"+strings.TrimPrefix(id, "sha256:")+".json" || man.Cells != 2 || man.Suppressed != 1 || man.SpecHashes["a"] != "sha256:cd" {
		t.Errorf("manifest %+v at %s", man, key)
	}
	for _, k := range []string{key, LatestKey("ns", "ini")} {
		gotMan, got, err := Read(ctx, st, k)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, res) || !reflect.DeepEqual(gotMan, man) {
			t.Errorf("%s read back:\n%+v\n%+v", k, gotMan, got)
		}
	}
	if _, _, err := Read(ctx, st, Key("ns", "ini", "sha256:ef")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing result: %v", err)
	}
	if err := st.Put(ctx, man.Indicators, []byte("[]\n")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(ctx, st, key); err == nil || !strings.Contains(err.Error(), "is not the object the manifest names") {
		t.Errorf("a changed object: %v", err)
	}
}
