package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/publish/dashboard"
)

// backbone local --listen serves the exposition and the community pages of the samples
// until it is stopped; --dashboards first writes the Initiative's dashboard and --report
// the pages as a static site.
func TestLocalListen(t *testing.T) {
	dashboards := filepath.Join(t.TempDir(), "dashboards")
	site := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	cmd := newRootCommand()
	cmd.SetOut(io.Discard)
	cmd.SetErr(pw)
	cmd.SetArgs([]string{"local", "-f", "../../config/samples", "--store", "mem://", "--as-of", "2026-11-23",
		"--listen", "127.0.0.1:0", "--region", "test-region", "--dashboards", dashboards, "--report", site})
	done := make(chan error, 1)
	go func() {
		done <- cmd.ExecuteContext(ctx)
		pw.Close()
	}()
	var url string
	var preview strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		preview.WriteString(line + "\n")
		if rest, ok := strings.CutPrefix(line, "serving metrics on "); ok {
			url = rest
			break
		}
	}
	// Keep draining what the command prints, so that it never blocks on the pipe.
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if url == "" {
		t.Fatalf("no address printed; the command said:\n%s\n%v", preview.String(), <-done)
	}
	if !strings.Contains(preview.String(), "default/ready-by-five/kindergarten-readiness") {
		t.Errorf("no series count per Indicator printed:\n%s", preview.String())
	}
	file := filepath.Join(dashboards, "ready-by-five.json")
	if !strings.Contains(preview.String(), "dashboard written to "+file) {
		t.Errorf("the dashboard written is not named:\n%s", preview.String())
	}
	var d dashboard.Dashboard
	if b, err := os.ReadFile(file); err != nil {
		t.Error(err)
	} else if err := json.Unmarshal(b, &d); err != nil || d.Title != "Ready by Five — North County" {
		t.Errorf("%s: title %q: %v", file, d.Title, err)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text; version=1.0.0") {
		t.Errorf("Content-Type %q", ct)
	}
	text := string(body)
	if !strings.HasSuffix(text, "# EOF\n") || !strings.Contains(text, `indicator="kindergarten-readiness"`) || !strings.Contains(text, `region="test-region"`) {
		t.Errorf("unexpected exposition (%d bytes): %.300s", len(text), text)
	}
	page, err := http.Get(strings.TrimSuffix(url, "/metrics") + "/initiatives/default/ready-by-five")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(body), "Ready by Five — North County") || page.Header.Get("ETag") == "" {
		t.Errorf("community page: %d %.200s", page.StatusCode, body)
	}
	for _, f := range []string{"index.html", "initiatives/default/ready-by-five.html", "initiatives/default/ready-by-five.csv"} {
		if st, err := os.Stat(filepath.Join(site, f)); err != nil || st.Size() == 0 {
			t.Errorf("--report wrote no %s: %v", f, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stopping: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not stop")
	}
}
