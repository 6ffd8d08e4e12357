package report

import (
	"html/template"
	"math"
	"strconv"
	"strings"
)

// svg writes one SVG image: a small writer of our own, so the charts are plain markup the
// server renders, readable without JavaScript. Every text it is given is escaped; numbers
// are written with one decimal, so the same chart is the same bytes.
type svg struct {
	b strings.Builder
}

// newSVG starts an image of a width and height (user units, scaled to the page) with a
// title and a description, which assistive technology reads as the image's text.
func newSVG(id string, w, h float64, title, desc string) *svg {
	s := &svg{}
	s.b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `)
	s.b.WriteString(coord(w) + " " + coord(h))
	s.b.WriteString(`" role="img" aria-labelledby="` + esc(id) + `-t ` + esc(id) + `-d" class="chart">`)
	s.b.WriteString(`<title id="` + esc(id) + `-t">` + esc(title) + `</title>`)
	s.b.WriteString(`<desc id="` + esc(id) + `-d">` + esc(desc) + `</desc>`)
	return s
}

// el writes an empty element with attributes given as name, value pairs.
func (s *svg) el(name string, attrs ...string) {
	s.b.WriteString("<" + name)
	s.attrs(attrs)
	s.b.WriteString("/>")
}

// text writes a text element.
func (s *svg) text(x, y float64, body string, attrs ...string) {
	s.b.WriteString(`<text x="` + coord(x) + `" y="` + coord(y) + `"`)
	s.attrs(attrs)
	s.b.WriteString(">" + esc(body) + "</text>")
}

// open starts a group; close ends it.
func (s *svg) open(attrs ...string) {
	s.b.WriteString("<g")
	s.attrs(attrs)
	s.b.WriteString(">")
}

func (s *svg) close() { s.b.WriteString("</g>") }

func (s *svg) attrs(attrs []string) {
	for i := 0; i+1 < len(attrs); i += 2 {
		s.b.WriteString(" " + attrs[i] + `="` + esc(attrs[i+1]) + `"`)
	}
}

// HTML ends the image and returns it for a template.
func (s *svg) HTML() template.HTML {
	s.b.WriteString("</svg>")
	return template.HTML(s.b.String()) //nolint:gosec // every text and attribute is escaped by esc
}

// coord writes a coordinate with one decimal, without a trailing ".0".
func coord(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func esc(s string) string { return escaper.Replace(s) }

// scale maps [lo, hi] onto [a, b].
type scale struct{ lo, hi, a, b float64 }

func (sc scale) at(v float64) float64 {
	if sc.hi == sc.lo {
		return (sc.a + sc.b) / 2
	}
	return sc.a + (v-sc.lo)/(sc.hi-sc.lo)*(sc.b-sc.a)
}
