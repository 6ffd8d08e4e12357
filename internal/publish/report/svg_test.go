package report

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestSVGWriter(t *testing.T) {
	s := newSVG("c1", 300, 100.25, `A & B <"x">`, "desc")
	s.el("line", "x1", coord(1.04), "y1", coord(-0.04), "stroke", `a"b`)
	s.text(2, 3, "<script>alert(1)</script>")
	s.open("class", "g")
	s.close()
	got := string(s.HTML())
	want := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100.3" role="img" aria-labelledby="c1-t c1-d" class="chart">` +
		`<title id="c1-t">A &amp; B &lt;&#34;x&#34;&gt;</title><desc id="c1-d">desc</desc>` +
		`<line x1="1" y1="0" stroke="a&#34;b"/><text x="2" y="3">&lt;script&gt;alert(1)&lt;/script&gt;</text><g class="g"></g></svg>`
	got = strings.ReplaceAll(got, "&quot;", "&#34;")
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	wellFormed(t, got)
}

// wellFormed checks that an SVG parses as XML.
func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
	}
}

func TestCharts(t *testing.T) {
	rows := []barRow{
		{Label: "White", Value: 5.9, Lower: fp(4.4), Upper: fp(7.9), Reliable: true, Reference: true},
		{Label: "Black", Value: 29, Lower: fp(20.2), Upper: fp(40.3), Reliable: true},
		{Label: "American Indian or Alaska Native", Value: 13.7, Lower: fp(7.8), Upper: fp(22.2)},
	}
	a := string(dotBars(rateFmt, "g", "Race, 2025", "d", rows))
	b := string(dotBars(rateFmt, "g", "Race, 2025", "d", rows))
	if a != b {
		t.Fatal("the same chart renders to different bytes")
	}
	wellFormed(t, a)
	for _, want := range []string{
		"White — 5.9 per 1,000 (reference)", // the reference is named, and drawn as a diamond
		`<path d="M`,
		"Black — 29.0 per 1,000",
		// a long label breaks before its value; an unreliable value is hollow and dashed
		">American Indian or Alaska Native</text>", "— 13.7 per 1,000 (unreliable)", `fill="#ffffff"`, `stroke-dasharray="5 3"`,
	} {
		if !strings.Contains(a, want) {
			t.Errorf("the dot-and-bar chart lacks %q:\n%s", want, a)
		}
	}
	pts := []point{
		{Label: "2021", Value: fp(11.1), Lower: fp(9.9), Upper: fp(12.5), Reliable: true},
		{Label: "2022"},
		{Label: "2023", Value: fp(11.6), Lower: fp(10.3), Upper: fp(13), Reliable: true},
		{Label: "2024", Value: fp(9.8), Reliable: true, Partial: true},
	}
	tr := string(trend(rateFmt, "t", "Over time", "d", pts, trendOpts{W: 300, H: 130, FontSize: 12, Target: fp(8)}))
	wellFormed(t, tr)
	for _, want := range []string{"Target 8.0 per 1,000", ">2021</text>", ">2024</text>", ">9.8 per 1,000</text>"} {
		if !strings.Contains(tr, want) {
			t.Errorf("the trend lacks %q:\n%s", want, tr)
		}
	}
	// The line breaks at the withheld period: two moves, not one.
	if n := strings.Count(tr, `d="M`) + strings.Count(tr, " M"); n < 2 {
		t.Errorf("the line does not break at the withheld period:\n%s", tr)
	}
	empty := string(trend(rateFmt, "e", "x", "d", []point{{Label: "2021"}, {Label: "2022"}}, trendOpts{W: 170, H: 110, FontSize: 13, Empty: "withheld"}))
	if !strings.Contains(empty, ">withheld</text>") || strings.Contains(empty, "<circle") {
		t.Errorf("a chart with nothing published should say withheld and draw no dot:\n%s", empty)
	}
}

func TestSpan(t *testing.T) {
	for _, c := range []struct {
		vals   []float64
		lo, hi float64
	}{
		{nil, 0, 1},
		{[]float64{0.8, 0.9}, 0.79, 0.91},
		{[]float64{0, 10}, 0, 11},
		{[]float64{-2, 2}, -2.4, 2.4},
		{[]float64{5, 5}, 4.5, 5.5},
	} {
		lo, hi := span(c.vals)
		if d := lo - c.lo; d > 1e-9 || d < -1e-9 {
			t.Errorf("span(%v) = %v, %v; want %v, %v", c.vals, lo, hi, c.lo, c.hi)
		}
		if d := hi - c.hi; d > 1e-9 || d < -1e-9 {
			t.Errorf("span(%v) = %v, %v; want %v, %v", c.vals, lo, hi, c.lo, c.hi)
		}
	}
}
