// Command bench compares Backbone's engine with DuckDB on the same rows and the same output
// cells (docs/performance.md). Run it from this folder (make bench does):
//
//	go run . -shapes readiness,flights -rows 1M,10M -runs 9 -threads 1,2
//
// It builds the two runners (cmd/bbrun, cmd/duckrun), generates the data of each shape
// once into the cache folder (${XDG_CACHE_HOME:-$HOME/.cache}/backbone/bench), and runs each engine as a
// child process pinned with taskset: -threads 1 pins to CPU 0, -threads 2 to CPUs 0 and 1
// and sets DuckDB's threads to 2. Before any time counts, the cells of both engines are
// compared cell by cell (compare.go). Then, per thread count, each step gets one
// discarded warm-up run per engine and -runs timed runs, the engines alternated run by
// run (the order flipped every run), and the median is reported.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/backbone-dev/backbone/bench/internal/workload"
)

// Targets (docs/performance.md): DuckDB's whole-process time / Backbone's, one thread.
const (
	targetAggregate = 1.5
	targetIngest    = 1.0
	targetRSSMB     = 256
)

// Steps.
const (
	stepIngest        = "ingest"         // CSV → snapshot
	stepIngestParquet = "ingest-parquet" // Parquet written by DuckDB → snapshot (flights only)
	stepAggregate     = "aggregate"
)

type config struct {
	shapes  []workload.Shape
	rows    []int64
	runs    int
	threads []int
	seed    uint64
	cache   string
	steps   []string
	out     string
}

func main() {
	var cfg config
	rows := flag.String("rows", "1M", "comma-separated row counts (suffixes k and M)")
	threads := flag.String("threads", "1,2", "comma-separated thread counts: 1 pins to CPU 0, 2 to CPUs 0,1")
	shapes := flag.String("shapes", "readiness,flights", "comma-separated data sets: readiness, flights")
	steps := flag.String("steps", "ingest,ingest-parquet,aggregate", "steps to time (ingest-parquet: flights only)")
	flag.IntVar(&cfg.runs, "runs", 9, "timed runs per engine, step and thread count")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the data generator")
	flag.StringVar(&cfg.cache, "cache", "", "cache folder (default ${XDG_CACHE_HOME:-$HOME/.cache}/backbone/bench)")
	flag.StringVar(&cfg.out, "json", "", "also write every measurement here (default in the cache folder)")
	flag.Parse()
	var err error
	if cfg.rows, err = parseRows(*rows); err != nil {
		fatal(err)
	}
	for _, t := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || n < 1 || n > runtime.NumCPU() {
			fatal(fmt.Errorf("-threads: %q is not a thread count between 1 and %d", t, runtime.NumCPU()))
		}
		cfg.threads = append(cfg.threads, n)
	}
	for _, s := range strings.Split(*steps, ",") {
		s = strings.TrimSpace(s)
		if s != stepIngest && s != stepIngestParquet && s != stepAggregate {
			fatal(fmt.Errorf("-steps: %q is not ingest, ingest-parquet or aggregate", s))
		}
		cfg.steps = append(cfg.steps, s)
	}
	for _, s := range strings.Split(*shapes, ",") {
		sh, err := workload.ShapeNamed(strings.TrimSpace(s))
		if err != nil {
			fatal(fmt.Errorf("-shapes: %w", err))
		}
		cfg.shapes = append(cfg.shapes, sh)
	}
	if cfg.runs < 1 {
		fatal(fmt.Errorf("-runs must be at least 1"))
	}
	if cfg.cache == "" {
		if cfg.cache, err = workload.CacheDir(); err != nil {
			fatal(err)
		}
	}
	if err := run(&cfg); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func parseRows(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mul := int64(1)
		switch {
		case strings.HasSuffix(f, "M"):
			mul, f = 1_000_000, strings.TrimSuffix(f, "M")
		case strings.HasSuffix(f, "k"):
			mul, f = 1_000, strings.TrimSuffix(f, "k")
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-rows: %q is not a row count", f)
		}
		out = append(out, n*mul)
	}
	return out, nil
}

// measurement is one timed run of one engine.
type measurement struct {
	Shape   string `json:"shape"`
	Rows    int64  `json:"rows"`
	Step    string `json:"step"`
	Threads int    `json:"threads"`
	Engine  string `json:"engine"`
	Run     int    `json:"run"`
	WallNS  int64  `json:"wallNs"` // the child process, start to exit
	// ProcessCPUNS is the child's user and system CPU time, start to exit, every thread.
	ProcessCPUNS int64            `json:"processCpuNs"`
	Report       *workload.Report `json:"report"`
}

// summary is the median of one engine's runs of one step.
type summary struct {
	shape              string
	rows               int64
	step               string
	threads            int
	engine             string
	median, lo, hi     time.Duration
	cpu                time.Duration // median CPU time over the same span
	wall               time.Duration
	procCPU            time.Duration // median CPU time of the whole process
	peakRSS            int64         // KB, the largest of the runs
	anonKB, fileKB     int64         // at the end of the run with the largest peak
	startup            time.Duration
	parquetMB, engineM float64
}

type harness struct {
	cfg     *config
	bin     string
	results []measurement
	sums    []summary
	checks  []string
}

func run(cfg *config) error {
	if b, err := os.ReadFile("go.mod"); err != nil || !bytes.Contains(b, []byte("module github.com/backbone-dev/backbone/bench\n")) {
		return fmt.Errorf("run from the bench module's folder (make bench does)")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return fmt.Errorf("taskset (util-linux) is needed to pin the engines to cores: %w", err)
	}
	h := &harness{cfg: cfg, bin: filepath.Join(cfg.cache, "bin")}
	if out, err := exec.Command("git", "-C", "..", "describe", "--always", "--dirty").Output(); err == nil {
		fmt.Printf("engine at %s\n", strings.TrimSpace(string(out)))
	}
	fmt.Printf("building the runners into %s\n", h.bin)
	for _, r := range []string{"bbrun", "duckrun"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(h.bin, r), "./cmd/"+r)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", r, err)
		}
	}
	for _, sh := range cfg.shapes {
		for _, n := range cfg.rows {
			if err := h.size(sh, n); err != nil {
				return err
			}
		}
	}
	h.print()
	out := cfg.out
	if out == "" {
		out = filepath.Join(cfg.cache, "results", time.Now().UTC().Format("20060102T150405Z")+".json")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(h.results, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("\nevery measurement: %s\n", out)
	return nil
}

// cpus is the taskset list for a thread count: 0, 0-1, …
func cpus(threads int) string {
	if threads == 1 {
		return "0"
	}
	return fmt.Sprintf("0-%d", threads-1)
}

// child runs one runner pinned to the thread count's cores and decodes its report.
func (h *harness) child(threads int, name string, args ...string) (*workload.Report, time.Duration, error) {
	rep, wall, _, err := h.childCPU(threads, name, args...)
	return rep, wall, err
}

// childCPU is child, with the process's CPU time from start to exit.
func (h *harness) childCPU(threads int, name string, args ...string) (*workload.Report, time.Duration, time.Duration, error) {
	cmd := exec.Command("taskset", append([]string{"-c", cpus(threads), filepath.Join(h.bin, name)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	var rep workload.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: reading its report: %w\n%s", name, err, stdout.String())
	}
	// The kernel's view of the child's peak, a cross-check of the runner's own.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > rep.MaxRSSKB {
		rep.MaxRSSKB = ru.Maxrss
	}
	return &rep, wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// paths of one shape's and data size's files.
type paths struct {
	csv, parquet, work        string // parquet: the flights' Parquet input
	ingestPlan, aggregatePlan string
	ingestParquetPlan         string // flights
	bbStore, duckParquet      string // the aggregate's inputs
	bbStoreParquet            string // flights: the snapshot of the Parquet input
	bbScratch, duckScratch    string // written by the timed ingest runs
	bbTmp, bbCells, duckCells string
}

// input makes sure the shape's input files exist, generating them once.
func (h *harness) input(sh workload.Shape, n int64, p *paths) error {
	start := time.Now()
	var created bool
	var err error
	switch sh.Name {
	case "flights":
		p.csv, p.parquet = workload.FlightsPaths(h.cfg.cache, n)
		if _, err = os.Stat(p.csv); err != nil {
			if err := os.MkdirAll(filepath.Dir(p.csv), 0o755); err != nil {
				return err
			}
			// Written under temporary names and renamed: a file exists only when complete.
			tmpCSV, tmpPQ := p.csv+".tmp.csv", p.parquet+".tmp.parquet"
			if _, _, err := h.child(runtime.NumCPU(), "duckrun", "generate", "-shape", sh.Name, "-rows", strconv.FormatInt(n, 10),
				"-csv", tmpCSV, "-parquet", tmpPQ, "-threads", strconv.Itoa(runtime.NumCPU())); err != nil {
				return fmt.Errorf("generating the flights: %w", err)
			}
			if err := os.Rename(tmpPQ, p.parquet); err != nil {
				return err
			}
			if err := os.Rename(tmpCSV, p.csv); err != nil {
				return err
			}
			created = true
		}
	default:
		p.csv = workload.CSVPath(h.cfg.cache, n, h.cfg.seed)
		if created, err = workload.Generate(p.csv, n, h.cfg.seed); err != nil {
			return fmt.Errorf("generating %s: %w", p.csv, err)
		}
	}
	st, err := os.Stat(p.csv)
	if err != nil {
		return err
	}
	if created {
		fmt.Printf("generated %s (%.0f MB) in %s\n", p.csv, mb(st.Size()), time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Printf("reusing %s (%.0f MB)\n", p.csv, mb(st.Size()))
	}
	if p.parquet != "" {
		if st, err = os.Stat(p.parquet); err != nil {
			return err
		}
		fmt.Printf("and %s (%.0f MB)\n", p.parquet, mb(st.Size()))
	}
	return nil
}

func (h *harness) size(sh workload.Shape, n int64) error {
	p := paths{work: filepath.Join(h.cfg.cache, "work", sh.Name, strconv.FormatInt(n, 10))}
	p.ingestPlan = filepath.Join(p.work, "ingest-plan.json")
	p.ingestParquetPlan = filepath.Join(p.work, "ingest-parquet-plan.json")
	p.aggregatePlan = filepath.Join(p.work, "aggregate-plan.json")
	p.bbStore = filepath.Join(p.work, "backbone-store")
	p.bbStoreParquet = filepath.Join(p.work, "backbone-store-parquet")
	p.duckParquet = filepath.Join(p.work, "duckdb.parquet")
	p.bbScratch = filepath.Join(p.work, "backbone-store-ingest")
	p.duckScratch = filepath.Join(p.work, "duckdb-ingest.parquet")
	p.bbTmp = filepath.Join(p.work, "tmp")
	p.bbCells = filepath.Join(p.work, "backbone-cells.json")
	p.duckCells = filepath.Join(p.work, "duckdb-cells.json")

	fmt.Printf("\n== %s, %d rows ==\n", sh.Name, n)
	if err := h.input(sh, n, &p); err != nil {
		return err
	}
	if err := os.RemoveAll(p.work); err != nil {
		return err
	}
	if err := os.MkdirAll(p.bbTmp, 0o755); err != nil {
		return err
	}
	plans := map[string]any{p.ingestPlan: workload.IngestPlan(p.csv), p.aggregatePlan: workload.AggregatePlan()}
	if sh.Name == "flights" {
		plans = map[string]any{
			p.ingestPlan:        workload.FlightsIngestPlan(p.csv),
			p.ingestParquetPlan: workload.FlightsIngestPlan(p.parquet),
			p.aggregatePlan:     workload.FlightsAggregatePlan(),
		}
	}
	for file, plan := range plans {
		b, _ := json.MarshalIndent(plan, "", "  ")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return err
		}
	}

	// The aggregate's inputs: one ingest of the CSV per engine, on one thread. These runs
	// also warm the page cache with the CSV.
	fmt.Println("ingesting the aggregate's inputs")
	if _, _, err := h.child(1, "bbrun", "ingest", "-plan", p.ingestPlan, "-store", p.bbStore, "-tmp", p.bbTmp); err != nil {
		return err
	}
	if _, _, err := h.child(1, "duckrun", "ingest", "-shape", sh.Name, "-csv", p.csv, "-out", p.duckParquet, "-threads", "1"); err != nil {
		return err
	}
	// The snapshot of the Parquet input must give the same cells as the CSV's (checked
	// when its ingest is timed).
	stores := []string{p.bbStore}
	if p.parquet != "" && slices.Contains(h.cfg.steps, stepIngestParquet) {
		if _, _, err := h.child(1, "bbrun", "ingest", "-plan", p.ingestParquetPlan, "-store", p.bbStoreParquet, "-tmp", p.bbTmp); err != nil {
			return err
		}
		stores = append(stores, p.bbStoreParquet)
	}

	// The correctness check, for every thread count, before any time counts.
	for _, t := range h.cfg.threads {
		if _, _, err := h.child(t, "duckrun", "aggregate", "-shape", sh.Name, "-parquet", p.duckParquet, "-threads", strconv.Itoa(t), "-cells", p.duckCells); err != nil {
			return err
		}
		for _, store := range stores {
			input := "CSV"
			if store == p.bbStoreParquet {
				input = "Parquet"
			}
			if _, _, err := h.child(t, "bbrun", "aggregate", "-plan", p.aggregatePlan, "-store", store, "-as-of", sh.AsOf.Format(time.DateOnly), "-cells", p.bbCells); err != nil {
				return err
			}
			cmp, err := compareCells(sh, p.bbCells, p.duckCells)
			if err != nil {
				return err
			}
			fmt.Printf("cells, %s input, %d thread(s): %s\n", input, t, cmp)
			if !cmp.ok() {
				for i, pr := range cmp.problems {
					if i == 30 {
						fmt.Printf("  … and %d more\n", len(cmp.problems)-i)
						break
					}
					fmt.Println("  " + pr)
				}
				return fmt.Errorf("%s, %d rows, %s input, %d thread(s): the engines' cells differ; nothing is timed", sh.Name, n, input, t)
			}
			h.checks = append(h.checks, fmt.Sprintf("%s, %d rows, %s input, %d thread(s): %s", sh.Name, n, input, t, cmp))
		}
	}

	for _, t := range h.cfg.threads {
		for _, step := range h.cfg.steps {
			if step == stepIngestParquet && p.parquet == "" {
				continue
			}
			if err := h.step(sh, n, t, step, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// step times one step at one thread count: a warm-up run per engine, then runs
// alternated between the engines.
func (h *harness) step(sh workload.Shape, n int64, threads int, step string, p paths) error {
	type engine struct {
		name   string
		before func() error
		args   []string
	}
	ts := strconv.Itoa(threads)
	var engines []engine
	switch step {
	case stepIngest:
		engines = []engine{
			{"backbone", func() error { return os.RemoveAll(p.bbScratch) }, []string{"bbrun", "ingest", "-plan", p.ingestPlan, "-store", p.bbScratch, "-tmp", p.bbTmp}},
			{"duckdb", func() error { return removeIfExists(p.duckScratch) }, []string{"duckrun", "ingest", "-shape", sh.Name, "-csv", p.csv, "-out", p.duckScratch, "-threads", ts}},
		}
	case stepIngestParquet:
		engines = []engine{
			{"backbone", func() error { return os.RemoveAll(p.bbScratch) }, []string{"bbrun", "ingest", "-plan", p.ingestParquetPlan, "-store", p.bbScratch, "-tmp", p.bbTmp}},
			{"duckdb", func() error { return removeIfExists(p.duckScratch) }, []string{"duckrun", "ingest", "-shape", sh.Name, "-in", p.parquet, "-out", p.duckScratch, "-threads", ts}},
		}
	case stepAggregate:
		engines = []engine{
			{"backbone", nil, []string{"bbrun", "aggregate", "-plan", p.aggregatePlan, "-store", p.bbStore, "-as-of", sh.AsOf.Format(time.DateOnly)}},
			{"duckdb", nil, []string{"duckrun", "aggregate", "-shape", sh.Name, "-parquet", p.duckParquet, "-threads", ts}},
		}
	}
	fmt.Printf("%s, %d thread(s), load average %s: warm-up and %d runs per engine ", step, threads, loadAverage(), h.cfg.runs)
	byEngine := map[string][]measurement{}
	for r := 0; r <= h.cfg.runs; r++ { // run 0 is the warm-up
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, i := range order {
			e := engines[i]
			if e.before != nil {
				if err := e.before(); err != nil {
					return err
				}
			}
			rep, wall, cpu, err := h.childCPU(threads, e.args[0], e.args[1:]...)
			if err != nil {
				return err
			}
			fmt.Print(".")
			if r == 0 {
				continue
			}
			m := measurement{Shape: sh.Name, Rows: n, Step: step, Threads: threads, Engine: e.name, Run: r, WallNS: wall.Nanoseconds(), ProcessCPUNS: cpu.Nanoseconds(), Report: rep}
			h.results = append(h.results, m)
			byEngine[e.name] = append(byEngine[e.name], m)
		}
	}
	fmt.Println()
	for _, e := range engines {
		h.sums = append(h.sums, summarize(sh.Name, n, step, threads, e.name, byEngine[e.name]))
	}
	// The timed ingests' outputs are not needed after the step.
	if err := os.RemoveAll(p.bbScratch); err != nil {
		return err
	}
	return removeIfExists(p.duckScratch)
}

// loadAverage is the one-minute load average: other work on the machine shows here.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func removeIfExists(file string) error {
	if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(shape string, n int64, step string, threads int, engine string, ms []measurement) summary {
	s := summary{shape: shape, rows: n, step: step, threads: threads, engine: engine}
	var el, cpu, wall, procCPU, startup []time.Duration
	for _, m := range ms {
		el = append(el, time.Duration(m.Report.ElapsedNS))
		cpu = append(cpu, time.Duration(m.Report.CPUNS))
		wall = append(wall, time.Duration(m.WallNS))
		procCPU = append(procCPU, time.Duration(m.ProcessCPUNS))
		startup = append(startup, time.Duration(m.Report.StartupNS))
		if m.Report.MaxRSSKB > s.peakRSS {
			s.peakRSS, s.anonKB, s.fileKB = m.Report.MaxRSSKB, m.Report.RSSAnonKB, m.Report.RSSFileKB
		}
		if b := m.Report.Bytes; b != nil {
			s.parquetMB, s.engineM = mb(b["parquet"]), mb(b["engine"])
		}
	}
	s.median, s.cpu, s.wall, s.procCPU, s.startup = median(el), median(cpu), median(wall), median(procCPU), median(startup)
	s.lo, s.hi = slices.Min(el), slices.Max(el)
	return s
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

// print writes the table: per shape, size, step and thread count, both engines and the
// ratios. The targets are judged on whole processes, one thread: on their CPU time, which
// other work on a shared machine disturbs far less than their elapsed time (both are
// shown).
func (h *harness) print() {
	fmt.Println("\ncorrectness:")
	for _, c := range h.checks {
		fmt.Println("  " + c)
	}
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "shape\trows\tstep\tthreads\tengine\tmedian ms\tmin–max ms\tCPU ms\tprocess ms\tprocess CPU ms\trows/s\tpeak RSS MB\t(anon+file at end)\tDuckDB/Backbone\tprocesses (CPU)\ttarget\t")
	for i := 0; i+1 < len(h.sums); i += 2 {
		bb, duck := h.sums[i], h.sums[i+1]
		ratio := float64(duck.median) / float64(bb.median)
		proc := float64(duck.wall) / float64(bb.wall)
		procCPU := float64(duck.procCPU) / float64(bb.procCPU)
		target := targetIngest
		if bb.step == stepAggregate {
			target = targetAggregate
		}
		verdict := fmt.Sprintf("≥ %.1f× %s", target, pass(procCPU >= target))
		switch {
		case bb.step == stepIngestParquet:
			verdict = "(no floor)" // the floors are the aggregate's and the CSV ingest's
		case bb.threads != 1:
			verdict = "(1 thread only)"
		}
		for _, s := range []summary{bb, duck} {
			r, pr, v := "", "", ""
			if s.engine == "backbone" {
				r = fmt.Sprintf("%.2f× (CPU %.2f×)", ratio, float64(duck.cpu)/float64(bb.cpu))
				pr = fmt.Sprintf("%.2f× (%.2f×)", proc, procCPU)
				v = verdict
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s–%s\t%s\t%s\t%s\t%.2fM\t%.0f %s\t%.0f+%.0f\t%s\t%s\t%s\t\n",
				s.shape, s.rows, s.step, s.threads, s.engine, ms(s.median), ms(s.lo), ms(s.hi), ms(s.cpu), ms(s.wall), ms(s.procCPU),
				float64(s.rows)/s.median.Seconds()/1e6, float64(s.peakRSS)/1024, rssVerdict(s),
				float64(s.anonKB)/1024, float64(s.fileKB)/1024, r, pr, v)
		}
	}
	tw.Flush()
	type key struct {
		shape, step string
		rows        int64
	}
	files := map[key]bool{}
	for i := 0; i+1 < len(h.sums); i += 2 {
		bb, duck := h.sums[i], h.sums[i+1]
		k := key{bb.shape, bb.step, bb.rows}
		if bb.step != stepAggregate && !files[k] {
			files[k] = true
			fmt.Printf("\nfiles, %s %s at %d rows: Backbone snapshot %.0f MB Parquet + %.0f MB engine layout; DuckDB %.0f MB Parquet\n", bb.shape, bb.step, bb.rows, bb.parquetMB, bb.engineM, duck.parquetMB)
		}
	}
	for _, s := range h.sums {
		if s.engine == "duckdb" && s.startup > 0 {
			fmt.Printf("DuckDB instance start-up before its clock, in its process time (median, %s, %d rows, %s, %d thread(s)): %s ms\n", s.shape, s.rows, s.step, s.threads, ms(s.startup))
		}
	}
}

func pass(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func rssVerdict(s summary) string {
	if s.engine != "backbone" {
		return ""
	}
	if float64(s.peakRSS)/1024 < targetRSSMB {
		return "(< 256)"
	}
	return "(≥ 256!)"
}
