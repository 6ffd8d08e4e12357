package report

import (
	"fmt"
	"html/template"
	"math"
)

// Colours of the charts: each passes WCAG AA contrast (4.5:1 for text, 3:1 for marks)
// on white, and no meaning rests on colour alone: the reference group is a diamond and
// a dashed line, an unreliable value a hollow dot and a dashed bar, every mark labelled.
const (
	colInk       = "#1a1a1a" // text: 17:1
	colMark      = "#1d4f91" // dots and bars: 8.6:1
	colReference = "#595959" // the reference group: 7:1
	colTarget    = "#8a3b00" // the target line: 7.3:1
	colGrid      = "#767676" // axis: 4.5:1
)

// barRow is one group of a dot-and-bar chart.
type barRow struct {
	Label        string
	Value        float64
	Lower, Upper *float64
	Reliable     bool
	Reference    bool
}

// dotBars draws each group's value as a dot and its 95 % interval as a bar, one row per
// group, the label and value written above the bar; the reference group's value is a
// dashed line across every row.
func dotBars(f numFmt, id, title, desc string, rows []barRow) template.HTML {
	const w, rowH, lineH, top, maxChars = 300.0, 44.0, 16.0, 6.0, 40
	// A label longer than a line breaks before its value.
	labels := make([][]string, len(rows))
	h := top + 6
	for i, r := range rows {
		name, val := r.Label, f.value(r.Value)
		switch {
		case r.Reference:
			val += " (" + f.m.ReferenceMark + ")"
		case !r.Reliable:
			val += " (" + f.m.Unreliable + ")"
		}
		if len([]rune(name+" — "+val)) <= maxChars {
			labels[i] = []string{name + " — " + val}
		} else {
			labels[i] = []string{name, "— " + val}
		}
		h += rowH + lineH*float64(len(labels[i])-1)
	}
	var vals []float64
	for _, r := range rows {
		vals = append(vals, r.Value)
		if r.Lower != nil && r.Upper != nil {
			vals = append(vals, *r.Lower, *r.Upper)
		}
	}
	lo, hi := span(vals)
	sc := scale{lo: lo, hi: hi, a: 10, b: w - 10}
	s := newSVG(id, w, h, title, desc)
	// The reference value, as a dashed line through every row's bar (not its label).
	refX := math.NaN()
	for _, r := range rows {
		if r.Reference {
			refX = sc.at(r.Value)
		}
	}
	y := top
	for i, r := range rows {
		weight := "normal"
		if r.Reference {
			weight = "bold"
		}
		for j, l := range labels[i] {
			s.text(4, y+15+lineH*float64(j), l, "font-size", "13", "fill", colInk, "font-weight", weight)
		}
		by := y + 31 + lineH*float64(len(labels[i])-1)
		y += rowH + lineH*float64(len(labels[i])-1)
		if !math.IsNaN(refX) {
			s.el("line", "x1", coord(refX), "y1", coord(by-11), "x2", coord(refX), "y2", coord(by+11), "stroke", colReference, "stroke-width", "1.5", "stroke-dasharray", "3 2")
		}
		col := colMark
		if r.Reference {
			col = colReference
		}
		if r.Lower != nil && r.Upper != nil {
			attrs := []string{"x1", coord(sc.at(*r.Lower)), "y1", coord(by), "x2", coord(sc.at(*r.Upper)), "y2", coord(by), "stroke", col, "stroke-width", "3", "stroke-linecap", "round"}
			if !r.Reliable {
				attrs = append(attrs, "stroke-dasharray", "5 3")
			}
			s.el("line", attrs...)
		}
		x := sc.at(r.Value)
		switch {
		case r.Reference:
			s.el("path", "d", fmt.Sprintf("M%s %sl7 7l-7 7l-7 -7z", coord(x), coord(by-7)), "fill", col)
		case r.Reliable:
			s.el("circle", "cx", coord(x), "cy", coord(by), "r", "6", "fill", col)
		default:
			s.el("circle", "cx", coord(x), "cy", coord(by), "r", "5.5", "fill", "#ffffff", "stroke", col, "stroke-width", "2.5")
		}
	}
	return s.HTML()
}

// point is one period of a trend.
type point struct {
	Label        string // period label
	Value        *float64
	Lower, Upper *float64
	Reliable     bool
	Partial      bool
}

// trendOpts configure a trend chart.
type trendOpts struct {
	W, H      float64
	FontSize  float64
	Heading   string   // drawn at the top, e.g. the group's name
	Target    *float64 // a dashed target line, labelled
	Reference []point  // the reference group's trend, drawn dashed for comparison
	Lo, Hi    float64  // the scale (shared by small multiples); both 0: from the data
	Empty     string   // written across a chart with no published value
}

// trend draws values over periods: a dot per published period with its interval as an
// error bar, joined by a line that breaks at withheld periods; the first and last
// periods and the last value are written on the chart.
func trend(f numFmt, id, title, desc string, pts []point, o trendOpts) template.HTML {
	s := newSVG(id, o.W, o.H, title, desc)
	fs := o.FontSize
	top := 8.0
	if o.Heading != "" {
		top = fs + 10
		s.text(4, fs+2, o.Heading, "font-size", coord(fs), "font-weight", "bold", "fill", colInk)
	}
	bottom := o.H - fs - 8
	lo, hi := o.Lo, o.Hi
	if lo == 0 && hi == 0 {
		var vals []float64
		for _, p := range append(append([]point{}, pts...), o.Reference...) {
			vals = append(vals, p.values()...)
		}
		if o.Target != nil {
			vals = append(vals, *o.Target)
		}
		lo, hi = span(vals)
	}
	ys := scale{lo: lo, hi: hi, a: bottom, b: top + fs + 4}
	left, right := 8.0, o.W-8
	xs := scale{lo: 0, hi: float64(max(len(pts)-1, 1)), a: left + 6, b: right - 6}
	if len(pts) == 1 {
		xs = scale{lo: 0, hi: 0, a: left, b: right}
	}
	s.el("line", "x1", coord(left), "y1", coord(bottom), "x2", coord(right), "y2", coord(bottom), "stroke", colGrid, "stroke-width", "1")
	if o.Target != nil {
		y := ys.at(*o.Target)
		s.el("line", "x1", coord(left), "y1", coord(y), "x2", coord(right), "y2", coord(y), "stroke", colTarget, "stroke-width", "1.5", "stroke-dasharray", "6 4")
		s.text(left, y-4, f.m.Target+" "+f.value(*o.Target), "font-size", coord(fs), "fill", colTarget)
	}
	line := func(ps []point, col, dash string, width string) {
		d := ""
		for i, p := range ps {
			if p.Value == nil {
				d += " "
				continue
			}
			cmd := "L"
			if i == 0 || ps[i-1].Value == nil {
				cmd = "M"
			}
			d += cmd + coord(xs.at(float64(i))) + " " + coord(ys.at(*p.Value))
		}
		if d != "" {
			attrs := []string{"d", d, "fill", "none", "stroke", col, "stroke-width", width}
			if dash != "" {
				attrs = append(attrs, "stroke-dasharray", dash)
			}
			s.el("path", attrs...)
		}
	}
	if len(o.Reference) == len(pts) {
		line(o.Reference, colReference, "4 3", "1.5")
	}
	line(pts, colMark, "", "2")
	var last *point
	lastI := 0
	for i := range pts {
		p := &pts[i]
		if p.Value == nil {
			continue
		}
		x := xs.at(float64(i))
		if p.Lower != nil && p.Upper != nil {
			s.el("line", "x1", coord(x), "y1", coord(ys.at(*p.Lower)), "x2", coord(x), "y2", coord(ys.at(*p.Upper)), "stroke", colMark, "stroke-width", "1.5")
		}
		if p.Reliable && !p.Partial {
			s.el("circle", "cx", coord(x), "cy", coord(ys.at(*p.Value)), "r", "3.5", "fill", colMark)
		} else {
			s.el("circle", "cx", coord(x), "cy", coord(ys.at(*p.Value)), "r", "3.5", "fill", "#ffffff", "stroke", colMark, "stroke-width", "1.5")
		}
		last, lastI = p, i
	}
	if last != nil {
		x := xs.at(float64(lastI))
		anchor := "end"
		if lastI == 0 && len(pts) > 1 {
			anchor = "start"
		}
		y := ys.at(*last.Value) - 7
		if last.Upper != nil {
			y = math.Min(y, ys.at(*last.Upper)-3)
		}
		// Beside the point's interval, not across it.
		if anchor == "end" {
			x -= 5
		} else {
			x += 5
		}
		s.text(x, math.Max(y, top+fs), f.value(*last.Value), "font-size", coord(fs), "fill", colInk, "text-anchor", anchor)
	}
	if last == nil && o.Empty != "" {
		s.text(o.W/2, (top+bottom)/2+fs/2, o.Empty, "font-size", coord(fs-1), "fill", colInk, "text-anchor", "middle")
	}
	if len(pts) > 0 {
		s.text(left, o.H-4, pts[0].Label, "font-size", coord(fs-1), "fill", colInk)
		if len(pts) > 1 {
			s.text(right, o.H-4, pts[len(pts)-1].Label, "font-size", coord(fs-1), "fill", colInk, "text-anchor", "end")
		}
	}
	return s.HTML()
}

// values are the numbers of a point that a scale must hold.
func (p point) values() []float64 {
	var out []float64
	for _, v := range []*float64{p.Value, p.Lower, p.Upper} {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}

// span is the range a chart shows: the values' range widened by a tenth on each side
// (dot-and-bar and line charts encode position, not length, so they need not start at
// zero), never below zero when no value is, and one unit wide when all are equal.
func span(vals []float64) (lo, hi float64) {
	if len(vals) == 0 {
		return 0, 1
	}
	lo, hi = vals[0], vals[0]
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	pad := (hi - lo) / 10
	if pad == 0 {
		pad = math.Max(math.Abs(hi)/10, 0.5)
	}
	nonNeg := lo >= 0
	lo, hi = lo-pad, hi+pad
	if nonNeg && lo < 0 {
		lo = 0
	}
	return lo, hi
}
