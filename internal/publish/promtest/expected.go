package promtest

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/publish/dashboard"
)

// series is one series the result says the exposition holds.
type series struct {
	name   string
	labels map[string]string // without region; an empty value is left out
	value  float64
}

// expectedSeries are the series the dashboard may read, computed from the result, the
// Indicators' specs and the snapshot manifests, independently of the exposition's code.
func expectedSeries(t testing.TB, s Want) []series {
	t.Helper()
	var out []series
	add := func(name string, v float64, kv ...string) {
		l := map[string]string{"namespace": s.Initiative.Namespace, "initiative": s.Initiative.Name}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				l[kv[i]] = kv[i+1]
			}
		}
		out = append(out, series{name: name, labels: l, value: v})
	}
	proportion := map[string]bool{}
	for _, ind := range s.Indicators {
		p := ind.Spec.Measure.Type == impactv1.MeasureProportion
		proportion[ind.Name] = p
		if tg := ind.Spec.Target; tg != nil {
			v, err := strconv.ParseFloat(string(tg.Value), 64)
			if err != nil {
				t.Fatal(err)
			}
			add(fam("backbone_indicator_target", p), v, "indicator", ind.Name)
		}
	}
	for _, r := range s.Result.Indicators {
		if h := r.Headline; h != nil {
			if h.Progress != nil {
				add("backbone_indicator_progress_ratio", *h.Progress, "indicator", r.Name, "period", h.Period)
			}
			if tr := r.OnTrack; tr != nil && tr.Judged {
				add("backbone_indicator_on_track", b2f(tr.OnTrack), "indicator", r.Name, "period", h.Period)
			}
		}
		for _, e := range r.Equity {
			el := []string{"indicator", r.Name, "period", e.Period, "dimension", e.Dimension}
			if e.IndexOfDisparity != nil {
				add("backbone_equity_index_of_disparity_ratio", *e.IndexOfDisparity/100, el...)
			}
			add("backbone_equity_groups", float64(e.Groups), el...)
			add("backbone_equity_suppressed_groups", float64(e.SuppressedGroups), el...)
			for g, v := range e.Differences {
				add("backbone_equity_difference", v, append(el, "group", g)...)
			}
			for g, v := range e.Ratios {
				add("backbone_equity_ratio_to_reference", v, append(el, "group", g)...)
			}
			ref := e.Reference
			if ref == "total" {
				ref = ""
			}
			add("backbone_equity_reference", 1, append(el, "group", ref)...)
			if e.Best != "" {
				add("backbone_equity_best", 1, append(el, "group", e.Best)...)
			}
			if e.Worst != "" {
				add("backbone_equity_worst", 1, append(el, "group", e.Worst)...)
			}
		}
	}
	for _, c := range s.Result.Cells {
		p := proportion[c.Indicator]
		cl := []string{"indicator", c.Indicator, "period", c.Period, "dimension", dashboard.DimensionLabel(c.Dimensions), "group", GroupLabel(c.Dimensions)}
		add("backbone_indicator_suppressed", b2f(c.Suppressed), cl...)
		add("backbone_indicator_partial", b2f(c.Partial), cl...)
		if c.Suppressed {
			continue
		}
		if c.Value != nil {
			add(fam("backbone_indicator_value", p), *c.Value, cl...)
			add("backbone_indicator_reliable", b2f(c.Reliable), cl...)
		}
		if c.CILower != nil {
			add(fam("backbone_indicator_ci_lower", p), *c.CILower, cl...)
		}
		if c.CIUpper != nil {
			add(fam("backbone_indicator_ci_upper", p), *c.CIUpper, cl...)
		}
	}
	for _, m := range s.Snapshots {
		sl := []string{"source", m.Source, "partner", m.Partner}
		if m.Promoted {
			add("backbone_source_last_ingest_timestamp_seconds", float64(m.Created.UnixNano())/1e9, sl...)
		}
		add("backbone_source_promoted", b2f(m.Promoted), sl...)
		if slices.Contains(s.WithheldRowCounts, m.Source) {
			continue
		}
		add("backbone_source_input_rows", float64(m.RowsIn), sl...)
		add("backbone_source_accepted_rows", float64(m.RowsOK), sl...)
		add("backbone_source_rejected_rows", float64(m.RowsRejected), sl...)
		add("backbone_source_excluded_rows", float64(m.RowsExcluded), sl...)
		if m.RowsIn > 0 {
			add("backbone_source_reject_ratio", float64(m.RowsRejected)/float64(m.RowsIn), sl...)
		}
	}
	return out
}

func fam(name string, proportion bool) string {
	if proportion {
		return name + "_ratio"
	}
	return name
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// GroupLabel is the group label of a cell: its groups in the order of its sorted dimension
// names, "," and "\" escaped with "\", joined with ",".
func GroupLabel(dims map[string]string) string {
	names := slices.Sorted(maps.Keys(dims))
	var gs []string
	for _, d := range names {
		g := strings.ReplaceAll(dims[d], `\`, `\\`)
		gs = append(gs, strings.ReplaceAll(g, `,`, `\,`))
	}
	return strings.Join(gs, ",")
}

var (
	selectorRE = regexp.MustCompile(`(backbone_[a-z_]+)\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)("(?:[^"\\]|\\.)*")`)
)

type matcher struct {
	label, op, value string
	re               *regexp.Regexp
}

func (m matcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// parseSelector returns the metric and matchers of the one selector of a query.
func parseSelector(t testing.TB, expr string) (string, []matcher) {
	t.Helper()
	sels := selectorRE.FindAllStringSubmatch(expr, -1)
	if len(sels) != 1 {
		t.Fatalf("query %s: %d selectors, want 1", expr, len(sels))
	}
	var ms []matcher
	for _, m := range matcherRE.FindAllStringSubmatch(sels[0][2], -1) {
		v, err := strconv.Unquote(m[3])
		if err != nil {
			t.Fatalf("query %s: matcher %s: %v", expr, m[0], err)
		}
		mt := matcher{label: m[1], op: m[2], value: v}
		if strings.Contains(mt.op, "~") {
			mt.re = regexp.MustCompile("^(?:" + v + ")$")
		}
		ms = append(ms, mt)
	}
	return sels[0][1], ms
}

// expect evaluates a query on the expected series: the selector, then the operations the
// dashboard uses (a "== 1" filter, "time() - " for an age).
func expect(t testing.TB, universe []series, expr string, at time.Time) []Sample {
	t.Helper()
	name, ms := parseSelector(t, expr)
	var out []Sample
	for _, s := range universe {
		if s.name != name {
			continue
		}
		ok := true
		for _, m := range ms {
			if !m.matches(s.labels[m.label]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		l := maps.Clone(s.labels)
		v := s.value
		switch {
		case strings.HasSuffix(expr, " == 1"):
			if v != 1 {
				continue
			}
			l["__name__"] = name
		case strings.HasPrefix(expr, "time() - "):
			v = float64(at.Unix()) - v
		default:
			l["__name__"] = name
		}
		out = append(out, Sample{Labels: l, Value: v})
	}
	return out
}

// compare checks that a query returned exactly the expected series and values.
func compare(t testing.TB, what, expr string, got, want []Sample) {
	t.Helper()
	g := map[string]float64{}
	for _, s := range got {
		g[s.key()] = s.Value
	}
	w := map[string]float64{}
	for _, s := range want {
		w[s.key()] = s.Value
	}
	for k, v := range w {
		gv, ok := g[k]
		switch {
		case !ok:
			t.Errorf("%s: %s\n  lacks %s (the result has %v)", what, expr, k, v)
		case gv != v && math.Abs(gv-v) > 1e-9*math.Max(1, math.Abs(v)):
			t.Errorf("%s: %s\n  %s = %v, the result has %v", what, expr, k, gv, v)
		}
	}
	for k, v := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s: %s\n  returns %s = %v, which the result does not hold", what, expr, k, v)
		}
	}
}
