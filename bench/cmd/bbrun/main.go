// Command bbrun runs one Backbone engine step for the benchmark and prints a
// workload.Report as JSON on standard output.
//
//	bbrun ingest    -plan ingest.json -store /abs/dir [-tmp dir]
//	bbrun aggregate -plan aggregate.json -store /abs/dir [-as-of 2006-01-02] [-cells cells.json]
//
// ingest times ingest.Run: the CSV read, validated and mapped, the Parquet snapshot and the
// engine layout written, hashed and put into the file store, the manifests written.
// aggregate times everything from opening the store to aggregate.Run's result: reading the
// promoted manifest, pinning it and opening the engine layout (run.OpenInputs), the scan,
// measures, suppression and intervals. Writing the cells for the comparison happens after the clock stops.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/backbone-dev/backbone/internal/gcpolicy"
	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
	"github.com/backbone-dev/backbone/internal/pipeline/ingest"
	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/run"
	"github.com/backbone-dev/backbone/internal/store"

	"github.com/backbone-dev/backbone/bench/internal/workload"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bbrun ingest|aggregate -plan FILE -store DIR")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("bbrun "+os.Args[1], flag.ExitOnError)
	planFile := fs.String("plan", "", "plan file (JSON)")
	dir := fs.String("store", "", "absolute folder of the file store")
	tmp := fs.String("tmp", "", "folder for files being written (ingest); default the system's")
	cells := fs.String("cells", "", "write the cells here as JSON (aggregate)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed work here")
	memProfile := fs.String("memprofile", "", "write a heap profile (every allocation) of the timed work here")
	asOf := fs.String("as-of", workload.AsOf.Format(time.DateOnly), "the day that decides which periods are complete (aggregate)")
	repeat := fs.Int("repeat", 1, "run the aggregate this many times in the process (for profiles); the report is the last run's")
	_ = fs.Parse(os.Args[2:])
	day, err := time.Parse(time.DateOnly, *asOf)
	if *planFile == "" || *dir == "" || *repeat < 1 || err != nil {
		fs.Usage()
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bbrun:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bbrun:", err)
			os.Exit(1)
		}
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
	}
	mempool.InstallDefault() // as the backbone command does
	if os.Args[1] == "aggregate" {
		gcpolicy.ForAggregate() // as backbone aggregate does
	}
	var rep *workload.Report
	switch os.Args[1] {
	case "ingest":
		rep, err = runIngest(*planFile, *dir, *tmp)
	case "aggregate":
		for i := 0; i < *repeat && err == nil; i++ {
			rep, err = runAggregate(*planFile, *dir, *cells, day)
		}
	default:
		err = fmt.Errorf("unknown step %q", os.Args[1])
	}
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		if perr := writeHeapProfile(*memProfile); perr != nil {
			fmt.Fprintln(os.Stderr, "bbrun:", perr)
			os.Exit(1)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bbrun:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, "bbrun:", err)
		os.Exit(1)
	}
}

func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	runtime.GC() // the profile holds what the last collection saw
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readPlan(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func runIngest(planFile, dir, tmp string) (*workload.Report, error) {
	var p spec.Ingest
	if err := readPlan(planFile, &p); err != nil {
		return nil, err
	}
	ctx := context.Background()
	start, cpu := time.Now(), workload.CPUTime()
	st, err := store.Open(ctx, "file://"+dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var lastBatch time.Time
	progress := func(int64) { lastBatch = time.Now() }
	res, err := ingest.Run(ctx, &p, ingest.Options{Store: st, TempDir: tmp, Progress: progress})
	if err != nil {
		return nil, err
	}
	elapsed, cpuTime := time.Since(start), workload.CPUTime()-cpu
	tail := time.Since(lastBatch)
	rep := &workload.Report{Engine: "backbone", Op: "ingest", Threads: runtime.GOMAXPROCS(0), Rows: res.Manifest.RowsIn, ElapsedNS: elapsed.Nanoseconds(), CPUNS: cpuTime.Nanoseconds()}
	rep.Measure()
	m := res.Manifest
	if m.RowsRejected > 0 || m.RowsOK != m.RowsIn {
		return nil, fmt.Errorf("%d of %d rows rejected: the generated data should all be valid", m.RowsRejected, m.RowsIn)
	}
	rep.Bytes = map[string]int64{"parquet": m.ParquetBytes, "engine": m.EngineBytes}
	rep.TailNS = tail.Nanoseconds()
	return rep, nil
}

func runAggregate(planFile, dir, cellsFile string, asOf time.Time) (*workload.Report, error) {
	var p spec.Aggregate
	if err := readPlan(planFile, &p); err != nil {
		return nil, err
	}
	ctx := context.Background()
	start, cpu := time.Now(), workload.CPUTime()
	st, err := store.Open(ctx, "file://"+dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := pinLatest(ctx, st, &p); err != nil {
		return nil, err
	}
	inputs, release, err := run.OpenInputs(ctx, st, &p, os.TempDir())
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := aggregate.Run(ctx, &p, inputs, aggregate.Options{AsOf: asOf})
	if err != nil {
		return nil, err
	}
	elapsed, cpuTime := time.Since(start), workload.CPUTime()-cpu
	rep := &workload.Report{Engine: "backbone", Op: "aggregate", Threads: runtime.GOMAXPROCS(0), Rows: rowsOf(inputs), ElapsedNS: elapsed.Nanoseconds(), CPUNS: cpuTime.Nanoseconds(), Cells: len(res.Cells)}
	rep.Measure()
	if cellsFile != "" {
		b, err := json.Marshal(res.Cells)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(cellsFile, b, 0o644); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// pinLatest pins the plan to the promoted snapshot of every source it reads: the
// benchmark writes its plan before it ingests. (Backbone's own commands never do this:
// their plans name the snapshots.)
func pinLatest(ctx context.Context, st *store.Store, p *spec.Aggregate) error {
	p.Inputs = nil
	for _, src := range p.Sources() {
		var m store.SnapshotManifest
		if err := st.GetJSON(ctx, store.SourcePrefix(p.Namespace, p.Initiative, src)+"/latest.json", &m); err != nil {
			return fmt.Errorf("source %q has no promoted snapshot: %w", src, err)
		}
		p.Inputs = append(p.Inputs, spec.Input{Source: src, Snapshot: m.ID})
	}
	return nil
}

// rowsOf is the rows of the plan's sources.
func rowsOf(inputs map[string]aggregate.Input) int64 {
	var n int64
	for _, in := range inputs {
		n += in.Manifest.RowsOK
	}
	return n
}
