package promtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running prometheus server.
type Server struct {
	// URL is its address, http://host:port.
	URL string
}

// Options are the settings Start runs prometheus with.
type Options struct {
	// Rules are rule files (absolute paths) prometheus loads.
	Rules []string
}

// Binary returns the path of the prometheus binary. Without one the test is skipped, or
// fails when the environment variable CI is set.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is missing (Debian package prometheus; .ci/run installs it)")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus); the queries are not run against it")
	}
	return bin
}

// Start starts prometheus scraping target (host:port, path /metrics, job "backbone")
// every second, its TSDB in a temporary folder; it is killed when the test ends, and its
// log printed if the test failed.
func Start(t testing.TB, target string, opts Options) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	rules, _ := json.Marshal(opts.Rules)
	if opts.Rules == nil {
		rules = []byte("[]")
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: %s
scrape_configs:
- job_name: backbone
  metrics_path: /metrics
  static_configs:
  - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	p := &Server{URL: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready on %s within 30 s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreeAddr returns a loopback address with a port free at the time of the call.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// apiResponse is the envelope of Prometheus' HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// Get calls the API and returns its data; an error fails the test.
func (p *Server) Get(t testing.TB, path string, q url.Values) json.RawMessage {
	t.Helper()
	data, err := p.Fetch(path, q)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Fetch calls the API and returns its data; it may run off the test's goroutine.
func (p *Server) Fetch(path string, q url.Values) (json.RawMessage, error) {
	resp, err := http.Get(p.URL + path + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s %v: %w", path, q, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s %v: %s: %s", path, q, r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// Strings calls an API path whose data is a list of strings.
func (p *Server) Strings(t testing.TB, path string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal(p.Get(t, path, nil), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Sample is one series of an instant vector: its labels (region, job and instance left
// out) and value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

func (s Sample) key() string {
	keys := slices.Sorted(maps.Keys(s.Labels))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, s.Labels[k])
	}
	return b.String()
}

// Query runs an instant query at a time; an error fails the test.
func (p *Server) Query(t testing.TB, expr string, at time.Time) []Sample {
	t.Helper()
	out, err := p.Instant(expr, at)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Instant runs an instant query at a time; it may run off the test's goroutine.
func (p *Server) Instant(expr string, at time.Time) ([]Sample, error) {
	data, err := p.Fetch("/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatInt(at.Unix(), 10)}})
	if err != nil {
		return nil, err
	}
	var v struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", expr, err)
	}
	if v.ResultType != "vector" {
		return nil, fmt.Errorf("%s: result type %s, want vector", expr, v.ResultType)
	}
	var out []Sample
	for _, r := range v.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %v: %w", expr, r.Value[1], err)
		}
		l := maps.Clone(r.Metric)
		delete(l, "job")
		delete(l, "instance")
		delete(l, "region")
		out = append(out, Sample{Labels: l, Value: f})
	}
	return out, nil
}

// WaitScraped waits until Prometheus holds as many backbone_ series of job "backbone" as
// count returns (the sample lines of the exposition it scrapes), count asked again on
// every try.
func (p *Server) WaitScraped(t testing.TB, timeout time.Duration, count func() (int, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		want, err := count()
		if err != nil {
			t.Fatal(err)
		}
		v := p.Query(t, `count({__name__=~"backbone_.+",job="backbone"})`, time.Now())
		if len(v) == 1 && v[0].Value == float64(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus has not scraped the %d series of the exposition within %s (has %v)", want, timeout, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// SampleLines counts the sample lines (not comments) of an exposition.
func SampleLines(exposition string) int {
	n := 0
	for l := range strings.Lines(exposition) {
		if !strings.HasPrefix(l, "#") && strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}
