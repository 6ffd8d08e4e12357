package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// documentedFamilies reads docs/metrics.md: every metric named in the first column of a
// table row, with the labels the page says it carries, in the page's order: the code of
// the row's labels column resolved through the legend (**I** = …; **H** = I + period …)
// for the Indicators' table, the "Labels:" line above it for the DataSources' table.
func documentedFamilies(t testing.TB) map[string][]string {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	legendRE := regexp.MustCompile(`\*\*([A-Z]+)\*\* = ([^;.(]+)`)
	nameRE := regexp.MustCompile("`(backbone_[a-z_]+)`")
	codes := map[string][]string{}
	out := map[string][]string{}
	var section []string // labels of the current table without a labels column
	var paragraph strings.Builder
	for line := range strings.Lines(string(doc)) {
		line = strings.TrimRight(line, "\n")
		if strings.TrimSpace(line) == "" {
			paragraph.Reset()
			continue
		}
		if !strings.HasPrefix(line, "|") {
			paragraph.WriteString(line + " ")
			p := paragraph.String()
			if strings.HasPrefix(p, "Labels: **") {
				for _, m := range legendRE.FindAllStringSubmatch(p, -1) {
					var ls []string
					for _, part := range strings.Split(m[2], ",") {
						for _, l := range strings.Split(part, "+") {
							l = strings.TrimSpace(l)
							if base, ok := codes[l]; ok {
								ls = append(ls, base...)
							} else if l != "" {
								ls = append(ls, l)
							}
						}
					}
					codes[m[1]] = ls
				}
			} else if rest, ok := strings.CutPrefix(p, "Labels: "); ok {
				section = nil
				for _, l := range strings.Split(strings.SplitN(rest, ".", 2)[0], ",") {
					section = append(section, strings.TrimSpace(l))
				}
			}
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 4 {
			continue
		}
		names := nameRE.FindAllStringSubmatch(cols[1], -1)
		if len(names) == 0 {
			continue
		}
		labels := section
		if len(cols) >= 5 {
			code := strings.TrimSpace(cols[2])
			var ok bool
			if labels, ok = codes[code]; !ok {
				t.Fatalf("docs/metrics.md: row %q: labels %q are not in the legend %v", line, code, codes)
			}
		}
		for _, n := range names {
			if _, dup := out[n[1]]; dup {
				t.Errorf("docs/metrics.md lists %s twice", n[1])
			}
			out[n[1]] = labels
		}
	}
	return out
}

// TestDocsListEveryFamily: docs/metrics.md lists every family the exposition can write,
// with the labels its series carry (in any order), and no metric the exposition does not
// write.
func TestDocsListEveryFamily(t *testing.T) {
	docs := documentedFamilies(t)
	if len(docs) == 0 {
		t.Fatal("no metric found in docs/metrics.md")
	}
	for _, f := range families {
		want := slices.Sorted(slices.Values(labelNames[f.labels]))
		got, ok := docs[f.name]
		got = slices.Sorted(slices.Values(got))
		switch {
		case !ok:
			t.Errorf("docs/metrics.md does not list %s", f.name)
		case !slices.Equal(got, want):
			t.Errorf("docs/metrics.md gives %s the labels %v, its series carry %v", f.name, got, want)
		}
	}
	for name := range docs {
		if !slices.ContainsFunc(families[:], func(f family) bool { return f.name == name }) {
			t.Errorf("docs/metrics.md lists %s, which the exposition does not write", name)
		}
	}
}
