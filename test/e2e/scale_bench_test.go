//go:build linux

package e2e_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/controllers"
	"github.com/backbone-dev/backbone/test/e2e"
)

var (
	scaleNamespaces = flag.Int("scale.namespaces", 20, "namespaces of BenchmarkOperatorScale's fleet, each with 1 Initiative, 10 DataSources and 50 Indicators")
	scaleTimeout    = flag.Duration("scale.timeout", 10*time.Minute, "how long BenchmarkOperatorScale waits for every Indicator to be Ready")
	scaleResults    = flag.Bool("scale.results-metrics", true, "serve the results' metrics (--results-metrics-bind-address), as the chart deploys the manager")
	scaleConcurrent = flag.Int("scale.concurrency", 0, "the manager's --max-concurrent-reconciles (0: its default)")
	scaleMemLimit   = flag.String("scale.memory-limit", "512Mi", "the manager's --memory-limit, as the chart passes its container's default limit (Go's memory limit is 0.9 of it); empty: none")
	scaleListed     = flag.Bool("scale.watch-listed", false, "pass the fleet's namespaces to --watch-namespaces (an informer per namespace and kind) instead of watching every namespace, as the chart deploys the manager by default")
	scaleAPIProfile = flag.Duration("scale.apiserver-cpuprofile", 0, "when set, BenchmarkOperatorScale writes a CPU profile of the kube-apiserver's first seconds after the apply (this long) into the log folder")
	scaleCPUProfile = flag.Duration("scale.cpuprofile", 0, "when set, BenchmarkOperatorScale writes a CPU profile of the manager's first seconds after the apply (this long) into the log folder")
)

// The operator's targets at the full shape (20 namespaces: 20 Initiatives, 200 DataSources,
// 1,000 Indicators).
const (
	targetReady   = 60 * time.Second
	targetRSSMB   = 150.0
	scaleApplyers = 16 // concurrent server-side applies
)

// scaleResult is what one run of the fleet measured.
type scaleResult struct {
	fleet                     e2e.Fleet
	applied                   time.Duration // apply start → every object applied and every run-now requested
	sourcesReady, indsReady   time.Duration // apply start → every DataSource / Indicator Ready
	peakRSSKB, rssAtReadyKB   int64
	anonKB, fileKB            int64   // RssAnon and RssFile when every Indicator was Ready
	heapInuse, goSys          float64 // the Go runtime's heap in use and memory from the OS then
	heapProfile, cpuProfile   string
	series                    int                // series on the results' /metrics
	requests                  float64            // API requests the manager made during the run
	requestsByMethod          map[string]float64 // GET, LIST, PATCH, ... (client-go's method label)
	reconciles                map[string]float64 // by controller
	reconcileErrors, requeues float64
	// reconcileSecs and queueSecs are, by controller, the reconciliations' total time and
	// the requests' total wait in the work queue, with their counts.
	reconcileSecs, queueSecs map[string][2]float64
	jobs                     map[string]int // the managed Jobs by component (ingest, aggregate)
	jobPhases                map[string]jobPhases
	loadBefore, loadAfter    string
	// cpu is the CPU time (user + system) each part of the test cluster used from the apply
	// until every Indicator was Ready.
	cpu map[string]time.Duration
	// served is what the kube-apiserver served in that time, from every client, by verb,
	// resource and subresource.
	served map[string]float64
}

// BenchmarkOperatorScale applies a fleet of Initiatives, DataSources and Indicators (per
// namespace: 1, 10 and 50, with a CSV file per DataSource; -scale.namespaces, 20 by
// default) to the e2e control plane, with `backbone manager` running as a process watching
// every namespace; requests a run of every DataSource (the run-now annotation) and waits
// until every Indicator is Ready, its result read from the store. It reports the time from
// the apply until then, the manager's peak RSS (VmHWM) and the API requests it made, in
// total and per reconciliation (its own controller-runtime metrics), and prints them
// against the targets. `make bench-operator` runs it; it is not part of `make test`.
func BenchmarkOperatorScale(b *testing.B) {
	if skipReason != "" {
		b.Skip(skipReason)
	}
	c := cluster
	var last scaleResult
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		last = runScale(b, c, e2e.Fleet{Prefix: fmt.Sprintf("scale%d", i), Namespaces: *scaleNamespaces})
	}
	r := last
	reconciles := sum(r.reconciles)
	b.ReportMetric(r.indsReady.Seconds(), "s-to-ready")
	b.ReportMetric(float64(r.peakRSSKB)/1024, "MB-peak-rss")
	b.ReportMetric(r.requests, "api-requests")
	b.ReportMetric(r.requests/reconciles, "requests/reconcile")
	for _, ctl := range slices.Sorted(maps.Keys(r.reconciles)) {
		b.ReportMetric(r.reconciles[ctl], "reconciles-"+ctl)
	}
	b.ReportMetric(float64(r.jobs["aggregate"]), "aggregate-jobs")
	fmt.Print(r.table())
}

func sum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

// table prints the figures against the targets (target / measured: above 1 meets it).
func (r scaleResult) table() string {
	ini, src, ind := r.fleet.Objects()
	var s strings.Builder
	pods := os.Getenv(MaxPodsEnv)
	if pods == "" {
		pods = "3"
	}
	fmt.Fprintf(&s, "\noperator at scale: %d namespaces, %d Initiatives, %d DataSources, %d Indicators; %s Pods at once; load average %s before, %s after\n",
		r.fleet.Namespaces, ini, src, ind, pods, r.loadBefore, r.loadAfter)
	watch := "every namespace"
	if *scaleListed {
		watch = "--watch-namespaces (the fleet's, listed)"
	}
	fmt.Fprintf(&s, "manager --memory-limit %q, watching %s; kube-controller-manager %s\n", *scaleMemLimit, watch, strings.Join(e2e.ControllerManagerFlags, " "))
	fmt.Fprintf(&s, "| figure | measured | target | target / measured |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(&s, "| apply → every Indicator Ready | %.1f s | %.0f s | %.2f× |\n", r.indsReady.Seconds(), targetReady.Seconds(), targetReady.Seconds()/r.indsReady.Seconds())
	fmt.Fprintf(&s, "| manager peak RSS (VmHWM) | %.1f MB | %.0f MB | %.2f× |\n", float64(r.peakRSSKB)/1024, targetRSSMB, targetRSSMB*1024/float64(r.peakRSSKB))
	reconciles := sum(r.reconciles)
	fmt.Fprintf(&s, "| API requests (manager) | %.0f, %.2f per reconcile | reported | |\n", r.requests, r.requests/reconciles)
	fmt.Fprintf(&s, "apply and run-now requests: %.1f s; every DataSource Ready: %.1f s\n", r.applied.Seconds(), r.sourcesReady.Seconds())
	fmt.Fprintf(&s, "RSS when every Indicator was Ready: %.1f MB (anonymous %.1f MB, file-backed %.1f MB); Go heap in use %.1f MB, from the OS %.1f MB\n",
		float64(r.rssAtReadyKB)/1024, float64(r.anonKB)/1024, float64(r.fileKB)/1024, r.heapInuse/(1<<20), r.goSys/(1<<20))
	fmt.Fprintf(&s, "reconciles: %.0f (", reconciles)
	for i, ctl := range slices.Sorted(maps.Keys(r.reconciles)) {
		if i > 0 {
			s.WriteString(", ")
		}
		fmt.Fprintf(&s, "%s %.0f", ctl, r.reconciles[ctl])
	}
	fmt.Fprintf(&s, "); %.0f returned an error, %.0f requeued\n", r.reconcileErrors, r.requeues)
	fmt.Fprintf(&s, "mean reconciliation, mean wait in the work queue:")
	for i, ctl := range slices.Sorted(maps.Keys(r.reconcileSecs)) {
		if i > 0 {
			s.WriteString(";")
		}
		rt, qt := r.reconcileSecs[ctl], r.queueSecs[ctl]
		fmt.Fprintf(&s, " %s %.0f ms, %.0f ms", ctl, 1000*rt[0]/max(rt[1], 1), 1000*qt[0]/max(qt[1], 1))
	}
	s.WriteString("\n")
	var total time.Duration
	for _, d := range r.cpu {
		total += d
	}
	fmt.Fprintf(&s, "CPU from the apply to Ready: %.1f s in all (%.2f of the %d cores)", total.Seconds(), total.Seconds()/r.indsReady.Seconds(), runtime.NumCPU())
	for _, part := range slices.Sorted(maps.Keys(r.cpu)) {
		fmt.Fprintf(&s, ", %s %.1f s", part, r.cpu[part].Seconds())
	}
	s.WriteString("\n")
	keys := slices.Collect(maps.Keys(r.served))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(r.served[b], r.served[a]) })
	fmt.Fprintf(&s, "served by the kube-apiserver from every client, the most first:")
	for i, k := range keys {
		if i == 12 || r.served[k] < 1 {
			break
		}
		fmt.Fprintf(&s, " %s %.0f;", k, r.served[k])
	}
	s.WriteString("\n")
	fmt.Fprintf(&s, "API requests by method:")
	for _, m := range slices.Sorted(maps.Keys(r.requestsByMethod)) {
		fmt.Fprintf(&s, " %s %.0f", m, r.requestsByMethod[m])
	}
	fmt.Fprintf(&s, "\nJobs: %d ingest, %d aggregate; %d series on the results' /metrics\n", r.jobs["ingest"], r.jobs["aggregate"], r.series)
	for _, component := range slices.Sorted(maps.Keys(r.jobPhases)) {
		fmt.Fprintf(&s, "%s Jobs: %s\n", component, r.jobPhases[component])
	}
	fmt.Fprintf(&s, "manager heap profile at Ready: %s\n", r.heapProfile)
	if r.cpuProfile != "" {
		fmt.Fprintf(&s, "manager CPU profile: %s\n", r.cpuProfile)
	}
	return s.String()
}

// runScale runs one fleet: generate, start the manager, apply, request the runs, wait.
// The benchmark timer runs from the apply until every Indicator is Ready.
func runScale(b *testing.B, c *e2e.Cluster, fleet e2e.Fleet) scaleResult {
	ctx := b.Context()
	dir := c.TempDir(b)
	manifests, err := fleet.Write(dir, samplesDir(c))
	if err != nil {
		b.Fatal(err)
	}
	namespaces := fleet.NamespaceNames()
	for _, ns := range namespaces {
		c.KubectlT(b, "create", "namespace", ns)
	}
	addr, pprofAddr, resultsAddr := freeAddress(b), freeAddress(b), freeAddress(b)
	args := []string{"manager",
		"--store", "file://" + filepath.Join(dir, "store"),
		"--allow-file-locations", "--file-root", dir,
		"--metrics-bind-address", addr, "--health-probe-bind-address=0",
		"--pprof-bind-address", pprofAddr,
	}
	if *scaleListed {
		args = append(args, "--watch-namespaces", strings.Join(namespaces, ","))
	}
	if *scaleResults {
		args = append(args, "--results-metrics-bind-address", resultsAddr)
	}
	if *scaleMemLimit != "" {
		args = append(args, "--memory-limit", *scaleMemLimit)
	}
	if *scaleConcurrent > 0 {
		args = append(args, "--max-concurrent-reconciles", strconv.Itoa(*scaleConcurrent))
	}
	mgr := c.StartBackbone(b, "manager-"+fleet.Prefix, args...)
	before := waitMetrics(b, addr, mgr)
	objs := readManifests(b, manifests, namespaces)
	r := scaleResult{fleet: fleet, loadBefore: loadAverage()}
	rss := watchRSS(mgr.Cmd.Process.Pid)
	defer rss.stop()

	var profiled sync.WaitGroup
	if *scaleCPUProfile > 0 {
		r.cpuProfile = filepath.Join(c.LogDir, "manager-"+fleet.Prefix+".cpu.pprof")
		profiled.Go(func() {
			if err := fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, int(scaleCPUProfile.Seconds())), r.cpuProfile); err != nil {
				b.Errorf("CPU profile: %v", err)
			}
		})
	}
	if *scaleAPIProfile > 0 {
		path := filepath.Join(c.LogDir, "kube-apiserver-"+fleet.Prefix+".cpu.pprof")
		profiled.Go(func() {
			data, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
				Param("seconds", strconv.Itoa(int(scaleAPIProfile.Seconds()))).Timeout(*scaleAPIProfile + time.Minute).DoRaw(ctx)
			if err == nil {
				err = os.WriteFile(path, data, 0o644)
			}
			if err != nil {
				b.Errorf("kube-apiserver CPU profile: %v", err)
				return
			}
			b.Logf("kube-apiserver CPU profile: %s", path)
		})
	}
	// The fleet's DataSources and Indicators are watched, as `kubectl wait` does: listing
	// 1,000 Indicators with their status from the API server twice a second would take a
	// good part of its CPU, which the operator's work shares.
	watched := watchFleet(b, c, fleet.Prefix)
	cpuBefore := cpuByPart(mgr.Cmd.Process.Pid)
	served := apiserverRequests(b, c)
	b.StartTimer()
	start := time.Now()
	for _, kind := range []string{"Initiative", "DataSource", "Indicator"} {
		applyAll(b, c, objs[kind])
	}
	requested := time.Now().UTC().Format(time.RFC3339)
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, impactv1.RequestedAtAnnotation, requested)
	parallel(b, objs["DataSource"], func(u *unstructured.Unstructured) error {
		ds := &impactv1.DataSource{}
		ds.Namespace, ds.Name = u.GetNamespace(), u.GetName()
		return c.Client.Patch(ctx, ds, client.RawPatch(types.MergePatchType, patch))
	})
	r.applied = time.Since(start)

	_, nSources, nInds := fleet.Objects()
	lastLog := time.Now()
	for {
		var sources impactv1.DataSourceList
		var inds impactv1.IndicatorList
		// Read only: the cache's own objects, not 1,200 deep copies every 100 ms.
		if err := watched.List(ctx, &sources, client.UnsafeDisableDeepCopy); err != nil {
			b.Fatal(err)
		}
		if err := watched.List(ctx, &inds, client.UnsafeDisableDeepCopy); err != nil {
			b.Fatal(err)
		}
		readySources, readyInds := 0, 0
		for _, ds := range sources.Items {
			if ds.Status.LastHandledRequestedAt == requested && meta.IsStatusConditionTrue(ds.Status.Conditions, impactv1.ConditionReady) {
				readySources++
			}
		}
		for _, ind := range inds.Items {
			if ind.Status.Result != nil && meta.IsStatusConditionTrue(ind.Status.Conditions, impactv1.ConditionReady) {
				readyInds++
			}
		}
		now := time.Now()
		if r.sourcesReady == 0 && readySources == nSources {
			r.sourcesReady = now.Sub(start)
		}
		if readyInds == nInds {
			r.indsReady = now.Sub(start)
			r.rssAtReadyKB = rss.current()
			r.anonKB = procStatus(mgr.Cmd.Process.Pid, "RssAnon")
			r.fileKB = procStatus(mgr.Cmd.Process.Pid, "RssFile")
			r.cpu = cpuByPart(mgr.Cmd.Process.Pid)
			r.served = apiserverRequests(b, c)
			for k, v := range served {
				r.served[k] -= v
			}
			for part, d := range cpuBefore {
				r.cpu[part] -= d
			}
			break
		}
		if now.Sub(start) > *scaleTimeout {
			describe(b, c, namespaces[0])
			b.Fatalf("after %s: %d of %d DataSources and %d of %d Indicators Ready; manager log %s", *scaleTimeout, readySources, nSources, readyInds, nInds, mgr.LogPath)
		}
		if now.Sub(lastLog) >= 10*time.Second {
			b.Logf("%4.0f s: %d/%d DataSources, %d/%d Indicators Ready; manager RSS %.0f MB", now.Sub(start).Seconds(), readySources, nSources, readyInds, nInds, float64(rss.current())/1024)
			lastLog = now
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	r.loadAfter = loadAverage()

	after := scrape(b, addr)
	for _, s := range after.values("go_memstats_heap_inuse_bytes") {
		r.heapInuse = s.value
	}
	for _, s := range after.values("go_memstats_sys_bytes") {
		r.goSys = s.value
	}
	if *scaleResults {
		resultsPath := filepath.Join(c.LogDir, "results-"+fleet.Prefix+".prom")
		if err := fetch("http://"+resultsAddr+"/metrics", resultsPath); err != nil {
			b.Fatalf("the results' metrics: %v", err)
		}
		results, err := parseMetricsFile(resultsPath)
		if err != nil {
			b.Fatalf("the results' metrics: %v", err)
		}
		for _, f := range results {
			r.series += len(f.GetMetric())
		}
	}
	r.heapProfile = filepath.Join(c.LogDir, "manager-"+fleet.Prefix+".heap.pprof")
	if err := fetch("http://"+pprofAddr+"/debug/pprof/heap", r.heapProfile); err != nil {
		b.Errorf("heap profile: %v", err)
	}
	profiled.Wait()
	r.peakRSSKB = procStatus(mgr.Cmd.Process.Pid, "VmHWM")
	r.requestsByMethod = map[string]float64{}
	for _, s := range after.values("rest_client_requests_total") {
		r.requestsByMethod[s.labels["method"]] += s.value
	}
	for _, s := range before.values("rest_client_requests_total") {
		r.requestsByMethod[s.labels["method"]] -= s.value
	}
	r.requests = sum(r.requestsByMethod)
	r.reconciles = map[string]float64{}
	for _, s := range after.values("controller_runtime_reconcile_total") {
		r.reconciles[s.labels["controller"]] += s.value
		switch s.labels["result"] {
		case "error":
			r.reconcileErrors += s.value
		case "requeue", "requeue_after":
			r.requeues += s.value
		}
	}
	for _, s := range before.values("controller_runtime_reconcile_total") {
		r.reconciles[s.labels["controller"]] -= s.value
		switch s.labels["result"] {
		case "error":
			r.reconcileErrors -= s.value
		case "requeue", "requeue_after":
			r.requeues -= s.value
		}
	}
	r.reconcileSecs = histogramDelta(before, after, "controller_runtime_reconcile_time_seconds", "controller")
	r.queueSecs = histogramDelta(before, after, "workqueue_queue_duration_seconds", "name")
	var jobs batchv1.JobList
	if err := c.Client.List(ctx, &jobs, client.MatchingLabels{controllers.LabelManagedBy: controllers.ManagedBy}); err != nil {
		b.Fatal(err)
	}
	r.jobs = map[string]int{}
	r.jobPhases = map[string]jobPhases{}
	for _, j := range jobs.Items {
		if slices.Contains(namespaces, j.Namespace) {
			component := j.Labels[controllers.LabelComponent]
			r.jobs[component]++
			p := r.jobPhases[component]
			p.add(start, &j)
			r.jobPhases[component] = p
		}
	}
	if err := mgr.Stop(); err != nil {
		b.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
	return r
}

// freeAddress is a loopback address with a port free at the time of the call.
func freeAddress(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// metricFamilies is one scrape of a /metrics endpoint.
type metricFamilies map[string]*dto.MetricFamily

// sample is one series of a family: its labels and value.
type sample struct {
	labels map[string]string
	value  float64
}

// histogramDelta returns, by the value of label, the sum and count a histogram gained
// between two scrapes.
func histogramDelta(before, after metricFamilies, name, label string) map[string][2]float64 {
	out := map[string][2]float64{}
	for sign, m := range []metricFamilies{before, after} {
		f := float64(2*sign - 1) // before subtracts, after adds
		for _, s := range m[name].GetMetric() {
			var key string
			for _, l := range s.GetLabel() {
				if l.GetName() == label {
					key = l.GetValue()
				}
			}
			h := s.GetHistogram()
			v := out[key]
			v[0] += f * h.GetSampleSum()
			v[1] += f * float64(h.GetSampleCount())
			out[key] = v
		}
	}
	return out
}

// values returns the series of a counter or gauge family.
func (m metricFamilies) values(name string) []sample {
	var out []sample
	for _, s := range m[name].GetMetric() {
		ls := map[string]string{}
		for _, l := range s.GetLabel() {
			ls[l.GetName()] = l.GetValue()
		}
		out = append(out, sample{ls, s.GetCounter().GetValue() + s.GetGauge().GetValue() + s.GetUntyped().GetValue()})
	}
	return out
}

// apiserverRequests counts the requests the kube-apiserver has served, from every client,
// by verb, resource and subresource ("PATCH indicators/status").
func apiserverRequests(b *testing.B, c *e2e.Cluster) map[string]float64 {
	b.Helper()
	data, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(b.Context())
	if err != nil {
		b.Fatalf("the kube-apiserver's metrics: %v", err)
	}
	m, err := parseExposition(bytes.NewReader(data))
	if err != nil {
		b.Fatalf("the kube-apiserver's metrics: %v", err)
	}
	out := map[string]float64{}
	for _, s := range m.values("apiserver_request_total") {
		key := s.labels["verb"] + " " + s.labels["resource"]
		if sub := s.labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		out[key] += s.value
	}
	return out
}

// fetch writes what a GET of url returns into path.
func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func scrape(b *testing.B, addr string) metricFamilies {
	m, err := tryScrape(addr)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func tryScrape(addr string) (metricFamilies, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET /metrics: %s: %s", resp.Status, body)
	}
	return parseExposition(resp.Body)
}

func parseMetricsFile(path string) (metricFamilies, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseExposition(f)
}

// parseExposition parses a Prometheus text exposition.
func parseExposition(r io.Reader) (metricFamilies, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// waitMetrics waits until the manager serves /metrics with its controllers started, and
// returns that first scrape.
func waitMetrics(b *testing.B, addr string, mgr *e2e.Process) metricFamilies {
	deadline := time.Now().Add(90 * time.Second)
	for {
		m, err := tryScrape(addr)
		if err == nil && len(m.values("controller_runtime_active_workers")) >= 3 {
			return m
		}
		if time.Now().After(deadline) {
			b.Fatalf("the manager's /metrics on %s: %v; log %s:\n%s", addr, err, mgr.LogPath, mgr.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readManifests reads the fleet's manifests into objects by kind, each in its namespace.
func readManifests(b *testing.B, manifests, namespaces []string) map[string][]*unstructured.Unstructured {
	out := map[string][]*unstructured.Unstructured{}
	for i, path := range manifests {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				b.Fatalf("%s: %v", path, err)
			}
			u.SetNamespace(namespaces[i])
			out[u.GetKind()] = append(out[u.GetKind()], u)
		}
	}
	return out
}

// applyAll applies objects with server-side apply, scaleApplyers at a time.
func applyAll(b *testing.B, c *e2e.Cluster, objs []*unstructured.Unstructured) {
	ctx := b.Context()
	parallel(b, objs, func(u *unstructured.Unstructured) error {
		return c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("backbone-scale"), client.ForceOwnership)
	})
}

// parallel calls f on every object, scaleApplyers at a time; the first error fails.
func parallel(b *testing.B, objs []*unstructured.Unstructured, f func(*unstructured.Unstructured) error) {
	work := make(chan *unstructured.Unstructured)
	errs := make(chan error, len(objs))
	var wg sync.WaitGroup
	for range scaleApplyers {
		wg.Go(func() {
			for u := range work {
				if err := f(u); err != nil {
					errs <- fmt.Errorf("%s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
				}
			}
		})
	}
	for _, u := range objs {
		work <- u
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		b.Fatal(err)
	}
}

// watchFleet starts an informer cache of the fleet's DataSources and Indicators and waits
// until it has synced; it stops with the benchmark.
func watchFleet(b *testing.B, c *e2e.Cluster, prefix string) client.Reader {
	b.Helper()
	sel, err := labels.Parse(e2e.FleetLabel + "=" + prefix)
	if err != nil {
		b.Fatal(err)
	}
	cc, err := cache.New(c.Config, cache.Options{Scheme: c.Client.Scheme(), DefaultLabelSelector: sel})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	for _, o := range []client.Object{&impactv1.DataSource{}, &impactv1.Indicator{}} {
		if _, err := cc.GetInformer(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	go func() { _ = cc.Start(ctx) }()
	if !cc.WaitForCacheSync(ctx) {
		b.Fatal("the fleet's informers did not sync")
	}
	return cc
}

// cpuByPart is the CPU time (user + system) used so far by the control plane's processes
// (by command name), the manager (its pid), the benchmark's own process (the process
// kubelet, the informers) and the children it has waited for (the Pods' processes).
func cpuByPart(manager int) map[string]time.Duration {
	out := map[string]time.Duration{}
	const tick = time.Second / 100 // USER_HZ
	if self, err := os.ReadFile("/proc/self/stat"); err == nil {
		f := statFields(string(self))
		out["benchmark and process kubelet"] = tick * time.Duration(f[13]+f[14])
		out["Pods' processes"] = tick * time.Duration(f[15]+f[16])
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		comm := string(data[strings.IndexByte(string(data), '(')+1 : strings.LastIndexByte(string(data), ')')])
		part := comm
		switch {
		case pid == manager:
			part = "manager"
		case comm == "kube-apiserver" || comm == "etcd" || comm == "kube-controller":
		default:
			continue
		}
		f := statFields(string(data))
		out[part] += tick * time.Duration(f[13]+f[14])
	}
	return out
}

// statFields are the numeric fields of a /proc/<pid>/stat line by their index in proc(5)
// less one (utime is [13]); the command name, which may hold spaces, is skipped.
func statFields(line string) []int64 {
	rest := line[strings.LastIndexByte(line, ')')+2:]
	out := []int64{0, 0} // pid and comm
	for _, f := range strings.Fields(rest) {
		n, _ := strconv.ParseInt(f, 10, 64)
		out = append(out, n)
	}
	return out
}

// procStatus reads a "kB" field of /proc/<pid>/status (VmRSS, VmHWM); 0 when absent.
func procStatus(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// rssWatch samples a process's VmRSS, for the progress lines.
type rssWatch struct {
	mu   sync.Mutex
	last int64
	done chan struct{}
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{done: make(chan struct{}), last: procStatus(pid, "VmRSS")}
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				v := procStatus(pid, "VmRSS")
				w.mu.Lock()
				w.last = v
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *rssWatch) current() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func (w *rssWatch) stop() { close(w.done) }

// loadAverage is the 1, 5 and 15 minute load average of the machine.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// jobPhases are the times of a kind of Job, in seconds after the apply (the API server's
// timestamps have whole seconds): created by the manager, started by kube-controller-manager
// (status.startTime), completed (status.completionTime, the Pod's run and the Job
// controller's bookkeeping).
type jobPhases struct {
	created, startDelay, runTime []float64
}

func (p *jobPhases) add(start time.Time, j *batchv1.Job) {
	created := j.CreationTimestamp.Time
	p.created = append(p.created, created.Sub(start).Seconds())
	if j.Status.StartTime != nil {
		p.startDelay = append(p.startDelay, j.Status.StartTime.Sub(created).Seconds())
		if j.Status.CompletionTime != nil {
			p.runTime = append(p.runTime, j.Status.CompletionTime.Sub(j.Status.StartTime.Time).Seconds())
		}
	}
}

func (p jobPhases) String() string {
	q := func(v []float64) string {
		if len(v) == 0 {
			return "none"
		}
		v = slices.Sorted(slices.Values(v))
		return fmt.Sprintf("median %.0f s, max %.0f s", v[len(v)/2], v[len(v)-1])
	}
	created := slices.Sorted(slices.Values(p.created))
	if len(created) == 0 {
		return "none"
	}
	return fmt.Sprintf("created %.0f–%.0f s after the apply; started after their creation: %s; complete after their start: %s",
		created[0], created[len(created)-1], q(p.startDelay), q(p.runTime))
}
