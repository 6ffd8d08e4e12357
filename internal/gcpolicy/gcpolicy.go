// Package gcpolicy sets the garbage collector's policy of the Jobs' short batch processes
// (an aggregation, an ingestion) and of the long-running manager.
//
// An aggregation runs once in a fresh process and exits: with the runtime's default
// (GOGC=100, a 4 MB first goal) it collects a dozen times while its heap grows to a few
// tens of megabytes, and most of what it marks is live. Letting the heap grow further
// between collections costs little memory at this size and saves that work.
package gcpolicy

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// BatchPercent is the GOGC of a batch step: the heap may grow to five times the live
// heap before a collection.
const BatchPercent = 400

// ForBatch sets the collector's policy of a batch step, unless GOGC or GOMEMLIMIT is set
// in the environment: then the runtime has already taken the operator's choice, and it is
// left alone. It reports whether it changed anything. A command calls it once, at
// start-up, before any work.
func ForBatch() bool {
	return forBatch(os.LookupEnv)
}

func forBatch(lookup func(string) (string, bool)) bool {
	return setPercent(lookup, BatchPercent, "GOGC", "GOMEMLIMIT")
}

// AggregateFirstGoal is the heap an aggregation grows to before its first collection. An
// aggregation reads its snapshots in place (mapped, not on the heap) and holds its cells,
// their states and the protection problems: at 1M rows of the engine benchmark's flights
// shape about 18 MB, allocated in tens of milliseconds, of which it used to spend 7 ms
// on the one collection its batch policy (a 16 MB first goal) made it run. Under this goal
// most aggregations never collect; a larger one collects once there and from then on as
// a batch step does (GOGC 400, under the container's limit).
const AggregateFirstGoal = 64 << 20

// ForAggregate sets the collector's policy of an aggregation, unless GOGC or GOMEMLIMIT
// is set in the environment: no collection until the heap reaches AggregateFirstGoal
// (collection off, under that memory limit), then the batch step's policy (ForBatch)
// under nine tenths of the container's memory limit, if it has one (containerLimit). It
// reports whether it changed anything; called again (the early start-up's call, then the
// command's), it changes nothing more.
func ForAggregate() bool {
	applied := false
	aggregateOnce.Do(func() { applied = forAggregate(os.LookupEnv) })
	return applied
}

var aggregateOnce sync.Once

func forAggregate(lookup func(string) (string, bool)) bool {
	if !setPercent(lookup, -1, "GOGC", "GOMEMLIMIT") {
		return false
	}
	debug.SetMemoryLimit(AggregateFirstGoal)
	afterCollection(func() {
		debug.SetGCPercent(BatchPercent)
		debug.SetMemoryLimit(containerLimit(cgroupMemoryMax))
	})
	return true
}

// cgroupMemoryMax is the memory limit of the process's cgroup (v2): a Job container's
// limits.memory.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// containerLimit is the soft memory limit of a batch step past its first collection: nine
// tenths of its container's memory limit (the rest for the mapped engine layout's pages,
// the stacks and the runtime), so that a large aggregation, whose heap GOGC 400 would
// let grow to five times the live heap, collects harder as it nears the limit instead
// of being killed at it. No limit (math.MaxInt64) outside a container with one.
func containerLimit(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return math.MaxInt64
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 { // "max": no limit
		return math.MaxInt64
	}
	return n / 10 * 9
}

// afterCollection runs f once, after the next collection: the cleanup of an object that
// nothing references runs once a collection has found it unreachable.
func afterCollection(f func()) {
	sentinel := new([16]byte) // not a tiny allocation, which may share its block
	runtime.AddCleanup(sentinel, func(struct{}) { f() }, struct{}{})
}

// IngestMemoryLimit is the soft memory limit of an ingestion. Most ingestions are small
// (a partner's monthly export) and, with the runtime's default, spend a third of their CPU
// collecting a heap of a few megabytes: under this limit they never collect. A large one
// streams its input and keeps a few tens of megabytes live; the limit then keeps its heap,
// which GOGC 400 alone would let grow to five times the live heap, at about 128 MiB (a
// peak RSS of 150–183 MB in the engine's benchmark, 106–140 MB with the default).
const IngestMemoryLimit = 128 << 20

// ForIngest sets the collector's policy of an ingestion, a batch step's (ForBatch) under
// IngestMemoryLimit, unless GOGC or GOMEMLIMIT is set in the environment. It reports
// whether it changed anything.
func ForIngest() bool {
	return forIngest(os.LookupEnv)
}

func forIngest(lookup func(string) (string, bool)) bool {
	if !forBatch(lookup) {
		return false
	}
	debug.SetMemoryLimit(IngestMemoryLimit)
	return true
}

// setPercent sets GOGC to percent unless one of the environment variables unless names is
// set, and reports whether it did.
func setPercent(lookup func(string) (string, bool), percent int, unless ...string) bool {
	for _, v := range unless {
		if _, ok := lookup(v); ok {
			return false
		}
	}
	debug.SetGCPercent(percent)
	return true
}

// ServicePercent is the GOGC of the manager: the heap may grow by three tenths of the live
// heap before a collection. Most of what the manager allocates is garbage at once (objects
// decoded from watches, results decoded for publication) and its live heap is small, so
// the runtime's default let its resident memory reach about twice the live heap for
// little CPU saved. (40 until the store's drivers joined the manager's binary, whose
// pages its resident memory counts: at 1,000 Indicators the peak was 142.5–157.2 MB at 30
// and 145.9–165.0 MB at 40, for the same time to Ready.)
const ServicePercent = 30

// ForService sets the collector's policy of the manager, unless GOGC is set in the
// environment. It reports whether it changed anything.
func ForService() bool {
	return forService(os.LookupEnv)
}

func forService(lookup func(string) (string, bool)) bool {
	return setPercent(lookup, ServicePercent, "GOGC")
}
