package dashboard_test

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

// prometheus is a running prometheus server.
type prometheus struct {
	url string
}

// startPrometheus starts prometheus scraping target every second, its TSDB in a temporary
// folder; it is killed when the test ends.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs("../../../config/prometheus/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
- job_name: backbone
  metrics_path: /metrics
  static_configs:
  - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
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
	p := &prometheus{url: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
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

func freeAddr(t *testing.T) string {
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

func (p *prometheus) get(t *testing.T, path string, q url.Values) json.RawMessage {
	t.Helper()
	data, err := p.fetch(path, q)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fetch calls the API; it may run off the test's goroutine.
func (p *prometheus) fetch(path string, q url.Values) (json.RawMessage, error) {
	resp, err := http.Get(p.url + path + "?" + q.Encode())
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

func (p *prometheus) strings(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal(p.get(t, path, nil), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sample is one series of an instant vector: its labels (region, job and instance left
// out) and value.
type sample struct {
	labels map[string]string
	value  float64
}

func (s sample) key() string {
	keys := slices.Sorted(maps.Keys(s.labels))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, s.labels[k])
	}
	return b.String()
}

// query runs an instant query at a time.
func (p *prometheus) query(t *testing.T, expr string, at time.Time) []sample {
	t.Helper()
	out, err := p.instant(expr, at)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// instant runs an instant query at a time; it may run off the test's goroutine.
func (p *prometheus) instant(expr string, at time.Time) ([]sample, error) {
	data, err := p.fetch("/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatInt(at.Unix(), 10)}})
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
	var out []sample
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
		out = append(out, sample{labels: l, value: f})
	}
	return out, nil
}
