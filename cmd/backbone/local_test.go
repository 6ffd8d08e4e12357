package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// backbone local --listen serves the exposition of the samples until it is stopped.
func TestLocalListen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	cmd := newRootCommand()
	cmd.SetOut(io.Discard)
	cmd.SetErr(pw)
	cmd.SetArgs([]string{"local", "-f", "../../config/samples", "--store", "mem://", "--as-of", "2026-11-23",
		"--listen", "127.0.0.1:0", "--region", "test-region"})
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
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatalf("no address printed; the command said:\n%s\n%v", preview.String(), <-done)
	}
	if !strings.Contains(preview.String(), "default/ready-by-five/kindergarten-readiness") {
		t.Errorf("no series count per Indicator printed:\n%s", preview.String())
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
