package metrics

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/result"
)

var budget = flag.Bool("metrics.budget", false, "measure a 100k-series scrape against a client_golang GaugeVec registry and check the budget")

// synthetic is a result of indicators Proportions over periods months, each with the
// total, a dimension of 8 groups, another of 3 and their 24 intersections per period, and
// an equity summary per dimension and period. Every tenth group cell is suppressed.
func synthetic(indicators, periods int) (*result.Manifest, *aggregate.Result) {
	races := []string{"American Indian or Alaska Native", "Asian", "Black", "Hispanic or Latino", "Native Hawaiian or Pacific Islander", "White", "Two or more races", "Unknown"}
	incomes := []string{"Below poverty", "Low income", "Not low income"}
	plan := &spec.Aggregate{Namespace: "north-county", Initiative: "ready-by-five"}
	res := &aggregate.Result{}
	k := 0
	for ii := range indicators {
		name := fmt.Sprintf("kindergarten-readiness-%02d", ii)
		plan.Indicators = append(plan.Indicators, spec.Indicator{Name: name, Measure: spec.Proportion, Target: &spec.Target{Value: 0.8}})
		ir := aggregate.IndicatorResult{Name: name, Headline: &aggregate.Headline{Period: "2025-12-01", Progress: f(0.4)}, OnTrack: &aggregate.Track{Judged: true, OnTrack: true}}
		for p := range periods {
			period := time.Date(2024, time.Month(1+p), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			add := func(dims map[string]string) {
				k++
				c := aggregate.Cell{Namespace: plan.Namespace, Initiative: plan.Initiative, Indicator: name, Period: period, Dimensions: dims}
				if len(dims) > 0 && k%10 == 0 {
					c.Suppressed = true
				} else {
					num, den := float64(20+k%50), float64(80+k%30)
					c.Value, c.Numerator, c.Denominator, c.N = f(num/den), f(num), f(den), i(int64(den))
					c.CILower, c.CIUpper, c.Reliable = f(num/den-0.05), f(num/den+0.05), k%3 == 0
				}
				res.Cells = append(res.Cells, c)
			}
			add(map[string]string{})
			eqRace := aggregate.EquitySummary{Period: period, Dimension: "race_ethnicity", Reference: "White", Best: "Asian", Worst: "Black",
				IndexOfDisparity: f(12.5), Theil: f(0.01), Groups: 8, Differences: map[string]float64{}, Ratios: map[string]float64{}}
			for _, r := range races {
				add(map[string]string{"race_ethnicity": r})
				eqRace.Differences[r], eqRace.Ratios[r] = -0.1, 0.9
			}
			for _, in := range incomes {
				add(map[string]string{"income": in})
				for _, r := range races {
					add(map[string]string{"income": in, "race_ethnicity": r})
				}
			}
			ir.Equity = append(ir.Equity, eqRace)
		}
		res.Indicators = append(res.Indicators, ir)
	}
	man := &result.Manifest{ID: "sha256:synthetic", Namespace: plan.Namespace, Initiative: plan.Initiative, Created: computed, Plan: plan}
	return man, res
}

// bench100k is an Exposition of about 100,000 series (13 indicators × 24 months).
func bench100k(tb testing.TB) *Exposition {
	tb.Helper()
	x := New(Options{Region: "us-west", IndicatorCap: 1 << 30, GlobalCap: 1 << 30})
	man, res := synthetic(13, 24)
	if err := x.SetResult(man, res); err != nil {
		tb.Fatal(err)
	}
	return x
}

// gaugeVecRegistry is the baseline: a client_golang registry of GaugeVecs holding the same
// series as x.
func gaugeVecRegistry(tb testing.TB, x *Exposition) (*prometheus.Registry, int) {
	tb.Helper()
	var text bytes.Buffer
	if _, err := x.WriteTo(&text, Text); err != nil {
		tb.Fatal(err)
	}
	return registryOf(tb, text.Bytes())
}

func registryOf(tb testing.TB, text []byte) (*prometheus.Registry, int) {
	fams, err := parseText(text)
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	n := 0
	names := make([]string, 0, len(fams))
	for name := range fams {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		mf := fams[name]
		var labelNames []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labelNames = append(labelNames, lp.GetName())
		}
		gv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: mf.GetHelp()}, labelNames)
		reg.MustRegister(gv)
		for _, m := range mf.GetMetric() {
			values := make([]string, 0, len(labelNames))
			for _, lp := range m.GetLabel() {
				values = append(values, lp.GetValue())
			}
			gv.WithLabelValues(values...).Set(m.GetGauge().GetValue())
			n++
		}
	}
	return reg, n
}

// discard is a ResponseWriter that drops the body, so a scrape measures the server only.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func scrape(h http.Handler, accept string) int {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, req)
	return w.n
}

const promAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

func BenchmarkScrape100k(b *testing.B) {
	x := bench100k(b)
	reg, _ := gaugeVecRegistry(b, x)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"exposition", x},
		{"gaugevec", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})},
	} {
		for _, accept := range []string{"text/plain;version=0.0.4", promAccept} {
			b.Run(bc.name+"/"+map[bool]string{true: "text", false: "openmetrics"}[accept[0] == 't'], func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					b.SetBytes(int64(scrape(bc.h, accept)))
				}
			})
		}
	}
}

// measured is one handler's figures: the median scrape, the bytes a scrape allocates and
// the heap the series hold.
type measured struct {
	scrape    time.Duration
	alloc     uint64
	retained  uint64
	bodyBytes int
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// measure serves h over loopback HTTP and reads whole bodies: the median of reps scrapes
// after one to warm up, and the bytes the process allocates per scrape (server and client).
func measure(t *testing.T, h http.Handler, accept string, gzip bool, reps int, retained uint64) measured {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func() int {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	m := measured{retained: retained, bodyBytes: get()}
	var times []time.Duration
	var allocs []uint64
	for range reps {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		get()
		times = append(times, time.Since(start))
		runtime.ReadMemStats(&after)
		allocs = append(allocs, after.TotalAlloc-before.TotalAlloc)
	}
	slices.Sort(times)
	slices.Sort(allocs)
	m.scrape, m.alloc = times[len(times)/2], allocs[len(allocs)/2]
	return m
}

// TestScrapeBudget (make bench-metrics) serves about 100k series from the exposition and
// from a client_golang GaugeVec registry holding the same series, in the same process,
// prints both and their ratio, and fails when the exposition takes 0.5 s or more, or
// allocates or holds 64 MB or more.
func TestScrapeBudget(t *testing.T) {
	if !*budget {
		t.Skip("run with -metrics.budget (make bench-metrics)")
	}
	man, res := synthetic(13, 24)
	base := heap()
	start := time.Now()
	x := New(Options{Region: "us-west", IndicatorCap: 1 << 30, GlobalCap: 1 << 30})
	if err := x.SetResult(man, res); err != nil {
		t.Fatal(err)
	}
	rendered := time.Since(start)
	xHeap := heap() - base // the compact form only: the result was allocated before
	runtime.KeepAlive(res)
	series := 0
	for _, s := range x.Series() {
		series += s.Published
	}
	base = heap()
	reg, regSeries := gaugeVecRegistry(t, x)
	regHeap := heap() - base
	if regSeries != series {
		t.Fatalf("the registry holds %d series, the exposition %d", regSeries, series)
	}
	gv := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	const mb = 1 << 20
	fmt.Printf("%d series, %d indicators, built in %v, %.1f bytes a series held\n", series, len(x.Series()), rendered.Round(time.Millisecond), float64(xHeap)/float64(series))
	fmt.Printf("served over loopback HTTP; median of 7 scrapes (exposition), 3 (GaugeVec)\n")
	fmt.Printf("%-11s %-19s %10s %14s %12s %10s\n", "handler", "format", "scrape", "alloc/scrape", "held heap", "body")
	for _, format := range []struct {
		name, accept string
		gzip         bool
	}{{"text", "text/plain;version=0.0.4", false}, {"openmetrics+gzip", promAccept, true}} {
		e := measure(t, x, format.accept, format.gzip, 7, xHeap)
		g := measure(t, gv, format.accept, format.gzip, 3, regHeap)
		for _, r := range []struct {
			name string
			m    measured
		}{{"exposition", e}, {"gaugevec", g}} {
			fmt.Printf("%-11s %-19s %10s %11.1f MB %9.1f MB %7.1f MB\n", r.name, format.name, r.m.scrape.Round(time.Millisecond),
				float64(r.m.alloc)/mb, float64(r.m.retained)/mb, float64(r.m.bodyBytes)/mb)
		}
		fmt.Printf("%-11s %-19s %9.1fx %13.1fx %11.1fx\n", "ratio", format.name, float64(g.scrape)/float64(e.scrape),
			float64(g.alloc)/float64(max(e.alloc, 1)), float64(g.retained)/float64(e.retained))
		if e.scrape >= 500*time.Millisecond || e.alloc >= 64*mb || e.retained >= 64*mb {
			t.Errorf("%s: over budget: scrape %v (< 0.5 s), alloc %d MB, held %d MB (< 64 MB)", format.name, e.scrape, e.alloc/mb, e.retained/mb)
		}
	}
}

// BenchmarkRender100k builds the compact form of about 100k series: the cost of a new
// result.
func BenchmarkRender100k(b *testing.B) {
	man, res := synthetic(13, 24)
	b.ReportAllocs()
	for b.Loop() {
		x := New(Options{IndicatorCap: 1 << 30, GlobalCap: 1 << 30})
		if err := x.SetResult(man, res); err != nil {
			b.Fatal(err)
		}
	}
}
