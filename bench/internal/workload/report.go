package workload

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Report is what a runner prints on standard output, as one JSON object.
type Report struct {
	Engine  string `json:"engine"`
	Op      string `json:"op"`
	Threads int    `json:"threads"`
	Rows    int64  `json:"rows"`
	// ElapsedNS is the runner's own measure of the work (see the runners for what it spans).
	ElapsedNS int64 `json:"elapsedNs"`
	// CPUNS is the user and system CPU time of the process over the same span as
	// ElapsedNS, every thread included: less disturbed than ElapsedNS by other work on a
	// shared machine.
	CPUNS int64 `json:"cpuNs"`
	// StartupNS is work done before ElapsedNS starts that belongs to no engine's data path
	// (DuckDB: creating the database instance); reported, not counted.
	StartupNS int64 `json:"startupNs,omitempty"`
	// MaxRSSKB is getrusage(RUSAGE_SELF).ru_maxrss: the peak resident set, anonymous and
	// file-backed (memory-mapped) pages together.
	MaxRSSKB int64 `json:"maxRssKb"`
	// RSSAnonKB and RSSFileKB split the resident set at the end of the work
	// (/proc/self/status).
	RSSAnonKB int64 `json:"rssAnonKb"`
	RSSFileKB int64 `json:"rssFileKb"`
	// TailNS is, for Backbone's ingest, the time after the last batch was converted:
	// closing the Parquet and Arrow files, hashing them and putting them into the store.
	TailNS int64 `json:"tailNs,omitempty"`
	// Bytes are the sizes of the files written (ingest).
	Bytes map[string]int64 `json:"bytes,omitempty"`
	// Cells is the number of cells (aggregate).
	Cells int `json:"cells,omitempty"`
}

// CPUTime is the process's user and system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Measure fills the memory fields of r.
func (r *Report) Measure() {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		r.MaxRSSKB = ru.Maxrss // kilobytes on Linux
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "RssAnon":
			r.RSSAnonKB = n
		case "RssFile":
			r.RSSFileKB = n
		}
	}
}

// DuckCell is one row of DuckDB's aggregate: one group of the GROUPING SETS query.
type DuckCell struct {
	Month string `json:"month"`
	// Group is "" for the month's total, else "dimension=group" with Backbone's group name.
	Group string `json:"group"`
	// N counts the rows; NValue the rows with a value of the mean's column, whose mean is
	// Mean; NNum the rows of the proportion's numerator, Share = NNum / N.
	N      int64    `json:"n"`
	NValue int64    `json:"nValue"`
	Mean   *float64 `json:"mean"`
	NNum   int64    `json:"nNum"`
	Share  float64  `json:"share"`
}
