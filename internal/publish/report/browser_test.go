package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/store"
)

// shotsDir is where screenshots go: $BACKBONE_REPORT_SHOTS, else the test's temp dir.
func shotsDir(t *testing.T) string {
	if d := os.Getenv("BACKBONE_REPORT_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser starts headless Chromium (Debian's chromium; .ci/run installs it).
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing (Debian package chromium; .ci/run installs it)")
		}
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("hide-scrollbars", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelC := chromedp.NewContext(actx)
	// The first action starts the browser, on a context without a timeout.
	if err := chromedp.Do(bctx); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 8*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// visibleText is what the page says: the body's text (charts' titles, descriptions and
// labels, and the numbers behind "Show the numbers" included), and every aria-label.
const visibleText = `(() => {
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest('style,script') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const parts = [];
  while (w.nextNode()) parts.push(w.currentNode.nodeValue);
  const labels = [...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label'));
  return parts.join(' ') + '\n' + labels.join('\n');
})()`

type violation struct {
	ID    string   `json:"id"`
	Help  string   `json:"help"`
	Nodes []string `json:"nodes"`
}

const runAxe = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
  .then(r => JSON.stringify(r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}))))`

// visit loads url at a width, takes a full-page screenshot, runs axe-core and returns
// the page's text.
func visit(t *testing.T, ctx context.Context, url, shot string, width int64, axe string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(url)); err != nil {
		t.Fatalf("%s at %d px: %v", url, width, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s at %d px: screenshot: %v", url, width, err)
	}
	scrollWidth, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](visibleText))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[string](runAxe, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core: %v", err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", shot, len(png))
	if scrollWidth > width {
		t.Errorf("%s at %d px scrolls sideways: the page is %d px wide", url, width, scrollWidth)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(violations), &vs); err != nil {
		t.Fatalf("axe-core: %v: %s", err, violations)
	}
	for _, v := range vs {
		t.Errorf("%s at %d px: axe-core %s (%s): %d nodes, e.g. %s", url, width, v.ID, v.Help, len(v.Nodes), v.Nodes[0])
	}
	if strings.TrimSpace(text) == "" {
		t.Fatalf("%s has no text", url)
	}
	return text
}

// TestSamplesPageInBrowser loads the samples' page as `backbone local --report` writes it
// and as Handler serves it, in Chromium at 360 and 1280 px: screenshots, axe-core (no
// WCAG 2.1 AA violation), every number on the page one the result holds, and no number
// of a suppressed cell anywhere in the page or the CSV.
func TestSamplesPageInBrowser(t *testing.T) {
	ins, st := samples(t)
	in := ins[0]
	r, err := report.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	site := t.TempDir()
	if err := r.WriteSite(site, ins); err != nil {
		t.Fatal(err)
	}
	h := report.NewHandler(r)
	if err := h.Set(ins); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	axeJS, err := os.ReadFile("testdata/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(axeJS[:600], []byte("Mozilla Public")) {
		t.Fatal("testdata/axe.min.js lost its MPL-2.0 header")
	}
	ctx := browser(t)
	dir := shotsDir(t)
	page := filepath.Join(site, "initiatives", in.Namespace(), in.Name()+".html")
	targets := []struct{ name, url string }{
		{"file", "file://" + page},
		{"served", srv.URL + "/initiatives/" + in.Namespace() + "/" + in.Name()},
		{"index", "file://" + filepath.Join(site, "index.html")},
		{"served-index", srv.URL + "/"},
	}
	allowed := report.AllowedNumbers(in)
	var texts []string
	for _, tg := range targets {
		for _, w := range []int64{360, 1280} {
			text := visit(t, ctx, tg.url, filepath.Join(dir, fmt.Sprintf("%s-%d.png", tg.name, w)), w, string(axeJS))
			if strings.Contains(tg.name, "index") {
				if !strings.Contains(text, in.Initiative.Spec.DisplayName) {
					t.Errorf("%s does not name the initiative", tg.url)
				}
				continue
			}
			texts = append(texts, text)
			checkNumbers(t, tg.url, text, allowed)
		}
	}

	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	csvBytes, err := os.ReadFile(filepath.Join(site, "initiatives", in.Namespace(), in.Name()+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	checkSuppressed(t, st, in, r, append(texts, tagText(html)), csvBytes)
}

var tag = regexp.MustCompile(`(?s)<style>.*?</style>|<[^>]*>`)

// tagText is an HTML document's text as its source holds it, with its tags removed.
func tagText(b []byte) string { return tag.ReplaceAllString(string(b), " ") }

// checkNumbers checks that every number in text is one the result holds, formatted as
// the page formats it.
func checkNumbers(t *testing.T, url, text string, allowed map[string]bool) {
	t.Helper()
	tokens := report.Tokens(text)
	if len(tokens) < 100 {
		t.Fatalf("%s shows only %d numbers", url, len(tokens))
	}
	bad := map[string]bool{}
	for _, tok := range tokens {
		if !allowed[tok] {
			bad[tok] = true
		}
	}
	if len(bad) > 0 {
		list := make([]string, 0, len(bad))
		for b := range bad {
			list = append(list, b)
		}
		sort.Strings(list)
		t.Errorf("%s shows numbers the result does not hold (as the page formats them): %v", url, list)
	}
	t.Logf("%s: %d numbers, each one the result holds", url, len(tokens))
}

// checkSuppressed checks that no suppressed cell's value, numerator, denominator or n
// appears in the pages' texts or the CSV. A formatted string that is also a published
// number (a suppressed n of 12 where another cell publishes 12) proves nothing either
// way and is set aside; the rest must be absent. So that the check cannot pass for
// want of anything to find, the samples must have suppressed cells, some of their
// strings must be distinctive, and a page rendered from the unsuppressed result must
// show some of those.
func checkSuppressed(t *testing.T, st *store.Store, in *report.Input, r *report.Renderer, texts []string, csvBytes []byte) {
	t.Helper()
	truth := truthOf(t, st, in)
	truthCells := map[string]aggregate.Cell{}
	for _, c := range truth.Cells {
		truthCells[c.Indicator+"|"+report.CellKey(c.Period, c.Dimensions)] = c
	}
	allowed, csvAllowed := report.AllowedNumbers(in), report.CSVNumbers(in)
	distinct := map[string]string{}    // page string → the cell it discloses
	distinctCSV := map[string]string{} // CSV field → the cell it discloses
	suppressed, collisions := 0, 0
	for _, c := range in.Result.Cells {
		if !c.Suppressed {
			continue
		}
		suppressed++
		if c.Value != nil || c.Numerator != nil || c.Denominator != nil || c.N != nil || c.CILower != nil || c.CIUpper != nil {
			t.Errorf("suppressed cell %s %s %v carries a number in the result", c.Indicator, c.Period, c.Dimensions)
		}
		tc, ok := truthCells[c.Indicator+"|"+report.CellKey(c.Period, c.Dimensions)]
		if !ok {
			t.Fatalf("no unsuppressed twin of %s %s %v", c.Indicator, c.Period, c.Dimensions)
		}
		name := fmt.Sprintf("%s %s %v", c.Indicator, c.Period, c.Dimensions)
		page, csvs := report.Disclosing(in, tc)
		for _, s := range page {
			if allowed[s] {
				collisions++
				continue
			}
			distinct[s] = name
		}
		for _, s := range csvs {
			if csvAllowed[s] {
				collisions++
				continue
			}
			distinctCSV[s] = name
		}
	}
	if suppressed == 0 || len(distinct) == 0 || len(distinctCSV) == 0 {
		t.Fatalf("the samples have %d suppressed cells and %d+%d distinctive strings of them: nothing to check", suppressed, len(distinct), len(distinctCSV))
	}
	t.Logf("%d suppressed cells: %d distinctive page strings and %d CSV fields checked, %d equal to published numbers set aside", suppressed, len(distinct), len(distinctCSV), collisions)
	for i, text := range texts {
		for _, tok := range report.Tokens(text) {
			if cell, ok := distinct[tok]; ok {
				t.Errorf("page text %d shows %s, a number of the suppressed cell %s", i, tok, cell)
			}
		}
	}
	// The CSV: suppressed rows carry no number, and no field is a suppressed cell's.
	rows, err := csv.NewReader(bytes.NewReader(csvBytes)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seenSuppressed := 0
	for _, row := range rows[1:] {
		if row[14] == "true" {
			seenSuppressed++
			for _, col := range row[5:12] {
				if col != "" {
					t.Errorf("CSV: suppressed row %v has a value column set", row)
				}
			}
			if !strings.Contains(row[15], "privacy") {
				t.Errorf("CSV: suppressed row %v does not say why", row)
			}
		}
		for _, col := range row[5:11] {
			if cell, ok := distinctCSV[col]; ok {
				t.Errorf("CSV shows %s, a number of the suppressed cell %s", col, cell)
			}
		}
	}
	if seenSuppressed != suppressed {
		t.Errorf("CSV has %d suppressed rows, the result %d", seenSuppressed, suppressed)
	}
	// The detector finds them when they are there.
	open := *in
	open.Result = truth
	page, err := r.Page(&open, true)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, tok := range report.Tokens(tagText(page)) {
		if _, ok := distinct[tok]; ok {
			found++
		}
	}
	if found == 0 {
		t.Fatal("a page of the unsuppressed result shows none of the suppressed cells' strings: the check would find nothing")
	}
	t.Logf("a page of the unsuppressed result shows %d of those strings", found)
	openCSV, err := r.CSV(&open)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(bytes.NewReader(openCSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found = 0
	for _, row := range rows[1:] {
		for _, col := range row[5:11] {
			if _, ok := distinctCSV[col]; ok {
				found++
			}
		}
	}
	if found == 0 {
		t.Fatal("the CSV of the unsuppressed result shows none of the suppressed cells' fields: the check would find nothing")
	}
	t.Logf("the CSV of the unsuppressed result shows %d of those fields", found)
}
