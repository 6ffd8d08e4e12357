package metrics

import (
	"bytes"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/result"
)

// odd is the fixture with labels that need escaping or repair (quotes, backslashes, a
// newline, invalid UTF-8, commas in groups) and values the text format spells out (NaN,
// ±Inf, -1, tiny and huge numbers).
func odd() (*result.Manifest, *aggregate.Result) {
	man, res := fixture()
	man.ID = "sha256:odd"
	for i := range res.Cells {
		c := &res.Cells[i]
		if g, ok := c.Dimensions["income"]; ok {
			c.Dimensions["income"] = g + "\\ \"q\"\n\xff, end"
		}
	}
	res.Cells[0].Value, res.Cells[0].CILower, res.Cells[0].CIUpper = f(math.NaN()), f(math.Inf(-1)), f(math.Inf(1))
	res.Cells[1].Numerator, res.Cells[1].Denominator = f(-1), f(1e-300)
	res.Cells[4].Value = f(123456789.125e20)
	return man, res
}

// TestMatchesReference: the exposition written from the compact form is, byte for byte,
// what the reference renderer (the former text lines, rendered from the cells) writes,
// in both formats, capped or not, by an Indicator's cap or by the global cap.
func TestMatchesReference(t *testing.T) {
	synthMan, synthRes := synthetic(3, 4)
	fixMan, fixRes := fixture()
	oddMan, oddRes := odd()
	oddMan.Initiative, oddMan.Plan.Initiative = "odd", "odd"
	for i := range oddRes.Cells {
		oddRes.Cells[i].Initiative = "odd"
	}
	results := []refResult{{fixMan, fixRes}, {synthMan, synthRes}, {oddMan, oddRes}}
	srcs := []refSources{
		{namespace: "north", initiative: "ready", snaps: snapshots()},
		{namespace: "north", initiative: "odd", snaps: snapshots(), withheld: []string{"kindergarten"}},
	}
	srcs[1].snaps[0].Initiative, srcs[1].snaps[0].Partner = "odd", "a \"quoted\"\\ partner"
	for _, tc := range []struct {
		name string
		opts Options
		caps map[string]int
	}{
		{"uncapped", Options{Region: "us-west"}, nil},
		{"indicator cap", Options{Region: `r"e\g`, IndicatorCap: 40}, nil},
		{"own cap", Options{}, map[string]int{"readiness": 10, "visits": 1_000_000}},
		{"global cap", Options{Region: "west", GlobalCap: 1000}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := New(tc.opts)
			x.SetIndicatorCaps("north", "ready", tc.caps)
			x.SetIndicatorCaps("north", "odd", tc.caps)
			for _, r := range results {
				if err := x.SetResult(r.man, r.res); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range srcs {
				x.SetSources(s.namespace, s.initiative, s.snaps, s.withheld)
			}
			capped := 0
			for _, s := range x.Series() {
				if s.Capped {
					capped++
				}
			}
			if tc.name != "uncapped" && capped == 0 {
				t.Fatal("no Indicator is capped")
			}
			for _, f := range []Format{Text, OpenMetrics} {
				got, want := render(t, x, f), refExposition(t, tc.opts.Region, results, srcs, x.Series(), f)
				if !bytes.Equal(got, want) {
					t.Fatalf("format %d: the exposition differs from the reference:\n%s", f, firstDiff(string(got), string(want)))
				}
			}
		})
	}
}

// spoil overwrites every cell and indicator result of res, so an Exposition still reading
// them would publish other values.
func spoil(res *aggregate.Result) {
	for i := range res.Cells {
		res.Cells[i] = aggregate.Cell{Indicator: res.Cells[i].Indicator, Period: "spoiled", Value: f(-42)}
	}
	for i := range res.Indicators {
		res.Indicators[i] = aggregate.IndicatorResult{Name: res.Indicators[i].Name}
	}
}

// TestCapSwitchWithoutCells: once a result is set, its cells are not needed: changing an
// Indicator's cap, or the global cap's decision moving because another Initiative comes
// and goes, gives exactly the series of an exposition built afresh with the same caps.
func TestCapSwitchWithoutCells(t *testing.T) {
	fresh := func(opts Options, caps map[string]int, others bool) []byte {
		t.Helper()
		x := New(opts)
		x.SetIndicatorCaps("north", "ready", caps)
		man, res := fixture()
		if err := x.SetResult(man, res); err != nil {
			t.Fatal(err)
		}
		if others {
			oman, ores := synthetic(1, 2)
			if err := x.SetResult(oman, ores); err != nil {
				t.Fatal(err)
			}
		}
		return render(t, x, Text)
	}
	opts := Options{Region: "west", GlobalCap: 200}
	x := New(opts)
	man, res := fixture()
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	spoil(res)
	steps := []struct {
		name   string
		caps   map[string]int
		others bool
	}{
		{"readiness capped by its own cap", map[string]int{"readiness": 5}, false},
		{"both capped", map[string]int{"readiness": 5, "visits": 2}, false},
		{"caps lifted", nil, false},
		{"visits capped", map[string]int{"visits": 2}, false},
		{"global cap crossed by another Initiative", nil, true},
		{"the other Initiative gone", nil, false},
	}
	for _, st := range steps {
		x.SetIndicatorCaps("north", "ready", st.caps)
		oman, ores := synthetic(1, 2)
		if st.others {
			if err := x.SetResult(oman, ores); err != nil {
				t.Fatal(err)
			}
			spoil(ores)
		} else {
			x.Delete(oman.Namespace, oman.Initiative)
		}
		got, want := render(t, x, Text), fresh(opts, st.caps, st.others)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: the series differ from a fresh exposition's:\n%s", st.name, firstDiff(string(got), string(want)))
		}
		if st.others && !bytes.Contains(got, []byte(`backbone_indicator_series_capped{namespace="north-county",initiative="ready-by-five",indicator="kindergarten-readiness-00",region="west"} 1`)) {
			t.Fatalf("%s: the global cap cut nothing", st.name)
		}
	}
}

// TestScrapesDuringUpdates: scrapes run while results are set and caps switch them
// (go test -race); every scrape is, byte for byte, one of the states' expositions.
func TestScrapesDuringUpdates(t *testing.T) {
	man, res := fixture()
	man2, res2 := odd()
	var states [][]byte
	for _, st := range []struct {
		man  *result.Manifest
		res  *aggregate.Result
		caps map[string]int
	}{{man, res, nil}, {man, res, map[string]int{"readiness": 3}}, {man2, res2, nil}, {man2, res2, map[string]int{"readiness": 3}}} {
		y := New(Options{Region: "west"})
		y.SetIndicatorCaps("north", "ready", st.caps)
		if err := y.SetResult(st.man, st.res); err != nil {
			t.Fatal(err)
		}
		states = append(states, render(t, y, OpenMetrics))
	}
	x := New(Options{Region: "west"})
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var scrapes atomic.Int64
	stop := make(chan struct{})
	bad := make(chan string, 1)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var b bytes.Buffer
				if _, err := x.WriteTo(&b, OpenMetrics); err != nil {
					panic(err)
				}
				scrapes.Add(1)
				known := false
				for _, s := range states {
					known = known || bytes.Equal(b.Bytes(), s)
				}
				if !known {
					select {
					case bad <- b.String():
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < 300 || scrapes.Load() < 100; i++ {
		m, r := man, res
		if i%4 >= 2 {
			m, r = man2, res2
		}
		if err := x.SetResult(m, r); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			x.SetIndicatorCaps("north", "ready", map[string]int{"readiness": 3})
		} else {
			x.SetIndicatorCaps("north", "ready", nil)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case s := <-bad:
		t.Fatalf("a scrape wrote an exposition of no state:\n%s", s)
	default:
	}
}

// heldPerSeries builds about 100k series and returns the heap the Exposition holds per
// series published (the result, allocated before, is not counted), and the series.
func heldPerSeries(tb testing.TB) (float64, int) {
	man, res := synthetic(13, 24)
	base := heap()
	x := New(Options{Region: "us-west", IndicatorCap: 1 << 30, GlobalCap: 1 << 30})
	if err := x.SetResult(man, res); err != nil {
		tb.Fatal(err)
	}
	held := heap() - base
	runtime.KeepAlive(res)
	series := 0
	for _, s := range x.Series() {
		series += s.Published
	}
	runtime.KeepAlive(x)
	return float64(held) / float64(series), series
}

// TestHeldBytesPerSeries: the compact form holds about 100k series in a few tens of bytes
// a series (the text lines took ≈ 250); the bound is generous so that only a regression
// to text-sized entries fails it.
func TestHeldBytesPerSeries(t *testing.T) {
	per, series := heldPerSeries(t)
	t.Logf("%d series, %.1f bytes a series held", series, per)
	if series < 100_000 {
		t.Fatalf("%d series, want about 100k", series)
	}
	if per >= 64 {
		t.Errorf("the exposition holds %.1f bytes a series, want < 64", per)
	}
}

// BenchmarkHeld100k reports the heap held per series of about 100k series.
func BenchmarkHeld100k(b *testing.B) {
	var per float64
	for b.Loop() {
		per, _ = heldPerSeries(b)
	}
	b.ReportMetric(per, "B/series")
}

// TestAppendFloat: numbers are written as strconv's shortest 'g' form (what expfmt
// writes), with its special spellings, integers included on both sides of a million.
func TestAppendFloat(t *testing.T) {
	special := map[float64]string{1: "1", 0: "0", -1: "-1", math.Inf(1): "+Inf", math.Inf(-1): "-Inf"}
	for v, want := range special {
		if got := string(appendFloat(nil, v)); got != want {
			t.Errorf("appendFloat(%v) = %q, want %q", v, got, want)
		}
	}
	if got := string(appendFloat(nil, math.NaN())); got != "NaN" {
		t.Errorf("appendFloat(NaN) = %q", got)
	}
	if got := string(appendFloat(nil, math.Copysign(0, -1))); got != "0" {
		t.Errorf("appendFloat(-0) = %q", got)
	}
	values := []float64{2, -2, 10, 99, 100000, -100000, 999999, -999999, 1e6, -1e6, 1e6 + 1, 1234567, 1e15, 1e21, 0.5, -0.25, 1e-5, 0.0001, 123.456, 999999.5, -999999.5, 1 << 53, 5e-324, math.MaxFloat64}
	for k := range 2000 {
		values = append(values, float64(k*k*k)-1e6, float64(k)/7, -float64(k)*1e3)
	}
	for _, v := range values {
		if v == 0 || v == 1 || v == -1 {
			continue
		}
		if got, want := string(appendFloat(nil, v)), strconv.FormatFloat(v, 'g', -1, 64); got != want {
			t.Errorf("appendFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestRetain: Retain cuts a published result to some of its Indicators without the cells,
// as SetResult of the cut result would; the result is then held under the id given.
func TestRetain(t *testing.T) {
	x := New(Options{Region: "west"})
	if x.Retain("north", "ready", "sha256:aa/cut", []string{"visits"}) {
		t.Fatal("Retain of an Initiative without a result reported true")
	}
	man, res := fixture()
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	spoil(res)
	if !x.Retain("north", "ready", "sha256:aa/cut", []string{"visits", "gone"}) {
		t.Fatal("Retain of a published result reported false")
	}
	cman, cres := fixture()
	cman.ID = "sha256:aa/cut"
	cman.Plan.Indicators = cman.Plan.Indicators[1:]
	cres.Cells, cres.Indicators = cres.Cells[5:], cres.Indicators[1:]
	y := New(Options{Region: "west"})
	if err := y.SetResult(cman, cres); err != nil {
		t.Fatal(err)
	}
	if got, want := render(t, x, Text), render(t, y, Text); !bytes.Equal(got, want) {
		t.Fatalf("after Retain the series differ from the cut result's:\n%s", firstDiff(string(got), string(want)))
	}
	// The id given is the one held: the cut result is not built again, another id is.
	before := x.indicators["north/ready/visits"].lines
	if err := x.SetResult(cman, cres); err != nil {
		t.Fatal(err)
	}
	if x.indicators["north/ready/visits"].lines != before {
		t.Error("the result held under the id given was built again")
	}
	man, res = fixture()
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	if len(x.Series()) != 2 {
		t.Errorf("the whole result again publishes %d Indicators, want 2", len(x.Series()))
	}
}
