package report_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/backbone-dev/backbone/internal/publish/report"
)

// TestDeterministic renders the samples' site twice, and through the handler, and
// compares the bytes: no clock, no map order.
func TestDeterministic(t *testing.T) {
	ins, _ := samples(t)
	r, err := report.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := t.TempDir(), t.TempDir()
	if err := r.WriteSite(a, ins); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteSite(b, ins); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.html", "initiatives/default/ready-by-five.html", "initiatives/default/ready-by-five.csv"} {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two renderings of the same result", name)
		}
		if len(x) < 500 {
			t.Errorf("%s is %d bytes", name, len(x))
		}
	}
	page, _ := os.ReadFile(filepath.Join(a, "initiatives/default/ready-by-five.html"))
	for _, want := range []string{
		"Ready by Five — North County", "Every child in North County enters kindergarten ready to learn.",
		"Philanthropy", "North County Community Foundation", // partners by sector
		"Asthma emergency visits per 1,000 children under 5", "9.9 per 1,000",
		"Black: 29.0 per 1,000, 4.9 times the value for White.",
		"1 group is not shown to protect privacy", "How to read this page", "23 November 2026",
		`href="ready-by-five.csv"`, `href="../../index.html"`, "<svg", `role="img"`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if bytes.Contains(page, []byte("<script")) || bytes.Contains(page, []byte("http://")) && !bytes.Contains(page, []byte(`xmlns="http://www.w3.org/2000/svg"`)) {
		t.Error("the page loads a script or an external resource")
	}
	for _, bad := range []string{"%!", "<no value>", "NaN", "Inf"} {
		if strings.Contains(string(page), bad) {
			t.Errorf("the page shows %q", bad)
		}
	}
}

// TestHandler serves the samples: pages, CSV, ETag and 304, methods, unknown paths,
// and a page that changes when its result does.
func TestHandler(t *testing.T) {
	ins, _ := samples(t)
	r, err := report.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := report.NewHandler(r)
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	// Before any result: an index saying so, and no pages.
	if res, b := get("/", nil); res.StatusCode != 200 || !strings.Contains(string(b), report.English.IndexEmpty) {
		t.Errorf("empty index: %d %s", res.StatusCode, b)
	}
	if res, _ := get("/initiatives/default/ready-by-five", nil); res.StatusCode != 404 {
		t.Errorf("a page before its result: %d", res.StatusCode)
	}
	if err := h.Set(ins); err != nil {
		t.Fatal(err)
	}
	res, page := get("/initiatives/default/ready-by-five", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("Cache-Control") == "" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("headers: %v", res.Header)
	}
	if !bytes.Contains(page, []byte(`href="../../"`)) || bytes.Contains(page, []byte("index.html")) {
		t.Error("a served page links to the index by its path, not a file")
	}
	if res, b := get("/initiatives/default/ready-by-five", map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified || len(b) != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", res.StatusCode, len(b))
	}
	if res, _ := get("/initiatives/default/ready-by-five", map[string]string{"If-None-Match": `"other", ` + etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with a list: %d", res.StatusCode)
	}
	if res, _ := get("/initiatives/default/ready-by-five", map[string]string{"If-None-Match": `"other"`}); res.StatusCode != 200 {
		t.Errorf("a stale ETag: %d", res.StatusCode)
	}
	res, csvb := get("/initiatives/default/ready-by-five.csv", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !bytes.HasPrefix(csvb, []byte(strings.Join(report.CSVHeader, ","))) {
		t.Errorf("CSV: %d %s %.80s", res.StatusCode, res.Header.Get("Content-Type"), csvb)
	}
	if res, b := get("/", nil); res.StatusCode != 200 || !bytes.Contains(b, []byte(`href="initiatives/default/ready-by-five"`)) {
		t.Errorf("index: %d", res.StatusCode)
	}
	for _, p := range []string{"/initiatives/default/other", "/initiatives/default/ready-by-five.html", "/metrics", "/initiatives/", "/initiatives/default/ready-by-five/"} {
		if res, _ := get(p, nil); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	// A new result changes the page and its ETag.
	changed := *ins[0]
	res2 := *changed.Result
	res2.Cells = append(res2.Cells[:0:0], changed.Result.Cells...)
	for i := range res2.Cells {
		if res2.Cells[i].Indicator == "asthma-ed-visits" && len(res2.Cells[i].Dimensions) == 0 && res2.Cells[i].Value != nil {
			v := *res2.Cells[i].Value + 1
			res2.Cells[i].Value = &v
		}
	}
	changed.Result = &res2
	if err := h.Update(&changed); err != nil {
		t.Fatal(err)
	}
	res, _ = get("/initiatives/default/ready-by-five", map[string]string{"If-None-Match": etag})
	if res.StatusCode != 200 || res.Header.Get("ETag") == etag {
		t.Errorf("after Update: %d, ETag %s (was %s)", res.StatusCode, res.Header.Get("ETag"), etag)
	}
	if err := h.Delete("default", "ready-by-five"); err != nil {
		t.Fatal(err)
	}
	if res, _ := get("/initiatives/default/ready-by-five", nil); res.StatusCode != 404 {
		t.Errorf("after Delete: %d", res.StatusCode)
	}
}

// TestHandlerKeepsNoResult: the handler keeps rendered pages, not the results they were
// rendered from: after the cells of a published input change under it, updating another
// Initiative leaves the first page's bytes as they were, and the index lists both.
func TestHandlerKeepsNoResult(t *testing.T) {
	ins, _ := samples(t)
	r, err := report.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := report.NewHandler(r)
	other := *ins[0]
	man := *other.Manifest
	man.Initiative = "other"
	res := *other.Result
	res.Cells = slices.Clone(other.Result.Cells)
	other.Manifest, other.Result = &man, &res
	if err := h.Set(ins); err != nil {
		t.Fatal(err)
	}
	get := func(path string) []byte {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		return rec.Body.Bytes()
	}
	page, csv := get("/initiatives/default/ready-by-five"), get("/initiatives/default/ready-by-five.csv")
	big := 123456.0
	for i := range ins[0].Result.Cells {
		ins[0].Result.Cells[i].Value = &big
	}
	if err := h.Update(&other); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(get("/initiatives/default/ready-by-five"), page) || !bytes.Equal(get("/initiatives/default/ready-by-five.csv"), csv) {
		t.Error("updating another Initiative rendered the first page again from its input")
	}
	if idx := get("/"); !bytes.Contains(idx, []byte(`href="initiatives/default/ready-by-five"`)) || !bytes.Contains(idx, []byte(`href="initiatives/default/other"`)) {
		t.Error("the index does not list both Initiatives")
	}
	if b := get("/initiatives/default/other"); !bytes.Contains(b, []byte("9.9 per 1,000")) {
		t.Error("the other Initiative's page does not show its own values")
	}
}
