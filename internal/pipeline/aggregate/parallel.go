package aggregate

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
)

// chunkBatches is the number of record batches (about 262,000 rows) whose partial
// aggregates are accumulated together before being merged into the source's.
const chunkBatches = 4

// A snapshot is scanned in chunks of chunkBatches batches. Each chunk is accumulated into a
// partial of its own (a fork of the source: the same operands, fresh accumulators) by one
// of the workers, and the partials are merged into the source in chunk order. Integer
// counts and sums are exact in any order; merging the floating-point sums in chunk order
// makes every result independent of the number of workers and of their timing.

// work is one batch for a worker: its columns by manifest index.
type work struct {
	cols []arrow.Array
	n    int
	freq *array.Int64
	last bool              // the chunk's last batch
	hold []arrow.Array     // released once scanned
	rec  arrow.RecordBatch // released once scanned
}

// scanFile reads the engine layout of a snapshot, and the text columns operands need from
// its Parquet file, batch by batch into recycled buffers, and accumulates every operand
// with up to workers goroutines, until ctx is done.
// inMemory is an engine layout whose bytes are in memory (a mapped file): its record
// batches are read in place.
type inMemory interface{ Bytes() []byte }

// openEngine opens an engine layout: in place when its bytes are in memory, otherwise
// into buffers of mem. Every buffer the reader allocates it reads in full: recycled ones
// need no clearing.
func openEngine(f ReadAtSeeker, mem memory.Allocator) (*ipc.FileReader, error) {
	if m, ok := f.(inMemory); ok && len(m.Bytes()) > 0 {
		return ipc.NewMappedFileReader(m.Bytes(), ipc.WithAllocator(mempool.Overwritten(mem)))
	}
	return ipc.NewFileReader(f, ipc.WithAllocator(mempool.Overwritten(mem)))
}

func (s *source) scanFile(ctx context.Context, in Input, workers int) error {
	if in.Engine == nil {
		return fmt.Errorf("snapshot %s: no engine layout", s.man.ID)
	}
	mem := mempool.Shared()
	r, err := openEngine(in.Engine, mem)
	if err != nil {
		return fmt.Errorf("opening engine layout of %s: %w", s.man.ID, err)
	}
	defer r.Close()
	// The engine column of every manifest column (-1: in the Parquet file only).
	engine := make([]int, len(s.man.Columns))
	freqCol := -1
	var textCols []int
	next := 0
	for i, c := range s.man.Columns {
		engine[i] = -1
		if !c.ParquetOnly {
			engine[i] = next
			next++
		} else if s.reads[i] {
			textCols = append(textCols, i)
		}
		if c.Frequency {
			freqCol = engine[i]
		}
	}
	if r.Schema().NumFields() != next {
		return fmt.Errorf("engine layout of %s has %d columns, its manifest names %d", s.man.ID, r.Schema().NumFields(), next)
	}
	var text *textReader
	if len(textCols) > 0 {
		if in.Parquet == nil {
			return fmt.Errorf("snapshot %s: column %q is in the Parquet file only, which was not opened", s.man.ID, s.man.Columns[textCols[0]].Name)
		}
		if text, err = openText(in.Parquet, textCols, mem); err != nil {
			return fmt.Errorf("snapshot %s: %w", s.man.ID, err)
		}
		defer text.close()
	}

	batches := r.NumRecords()
	chunks := (batches + chunkBatches - 1) / chunkBatches
	workers = max(1, min(workers, chunks))
	feeders := 1
	if text == nil {
		feeders = workers
	}
	readers := []*ipc.FileReader{r}
	for len(readers) < feeders {
		rd, err := openEngine(in.Engine, mem)
		if err != nil {
			return fmt.Errorf("opening engine layout of %s: %w", s.man.ID, err)
		}
		defer rd.Close()
		readers = append(readers, rd)
	}
	// Each worker owns two partials: it fills one while the other waits to be merged, so
	// sending a finished partial never blocks, and it waits only for one to come back.
	type result struct {
		part *source
		err  error
	}
	inbox := make([]chan work, workers)
	done := make([]chan result, workers)
	free := make([]chan *source, workers)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		// One batch ahead: enough to overlap reading and scanning, few buffers in flight.
		inbox[w] = make(chan work, 1)
		done[w] = make(chan result, 2)
		free[w] = make(chan *source, 2)
		scr := &scratch{slots: make([][]int32, len(s.timelines))}
		free[w] <- s.fork(scr)
		free[w] <- s.fork(scr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[w])
			var part *source
			var err error
			for job := range inbox[w] {
				if part == nil {
					part = <-free[w]
				}
				if err == nil {
					err = part.scanBatch(job.cols, job.n, job.freq)
				}
				job.rec.Release()
				for _, a := range job.hold {
					a.Release()
				}
				if job.last {
					done[w] <- result{part, err}
					part, err = nil, nil
				}
			}
			if part != nil { // the reader stopped within a chunk
				done[w] <- result{part, err}
			}
		}()
	}

	// Feeders read batches into the workers' inboxes, each chunk to one worker, round
	// robin. Without text, every worker has a feeder of its own, with a reader of its own
	// (reads at an offset of the same file are independent); text comes from one Parquet
	// reader in row order, so then a single feeder serves every worker.
	feed := func(rd *ipc.FileReader, only int) error {
		for b := 0; b < batches && !stop.Load(); b++ {
			chunk := b / chunkBatches
			w := chunk % workers
			if only >= 0 && w != only {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := rd.RecordBatch(b)
			if err != nil {
				return fmt.Errorf("reading batch %d of %s: %w", b, s.man.ID, err)
			}
			rec.Retain() // the reader releases its own reference on the next call
			cols := make([]arrow.Array, len(s.man.Columns))
			for i, e := range engine {
				if e >= 0 {
					cols[i] = rec.Column(e)
				}
			}
			var texts []arrow.Array
			if text != nil {
				if texts, err = text.next(rec.NumRows()); err != nil {
					rec.Release()
					return fmt.Errorf("snapshot %s: %w", s.man.ID, err)
				}
				for j, i := range textCols {
					cols[i] = texts[j]
				}
			}
			var freq *array.Int64
			if freqCol >= 0 {
				freq = rec.Column(freqCol).(*array.Int64)
			}
			inbox[w] <- work{cols: cols, n: int(rec.NumRows()), freq: freq, rec: rec, hold: texts,
				last: b%chunkBatches == chunkBatches-1 || b == batches-1}
		}
		return nil
	}
	readErr := make(chan error, feeders)
	for f := range feeders {
		go func() {
			only := f
			if feeders == 1 {
				only = -1
			}
			err := feed(readers[f], only)
			if feeders == 1 {
				for _, c := range inbox {
					close(c)
				}
			} else {
				close(inbox[f])
			}
			readErr <- err
		}()
	}

	// The merger: partials in chunk order.
	var mergeErr error
	merged := 0
	for ; merged < chunks; merged++ {
		w := merged % workers
		res, ok := <-done[w]
		if !ok {
			break // a worker stopped early: the reader failed
		}
		mergeErr = res.err
		if mergeErr == nil {
			mergeErr = s.merge(res.part)
		}
		res.part.reset()
		free[w] <- res.part
		if mergeErr != nil {
			break
		}
	}
	// On an error, stop the reader and give the workers back their partials until they end.
	stop.Store(true)
	var drain sync.WaitGroup
	for w := range workers {
		drain.Add(1)
		go func() {
			defer drain.Done()
			for res := range done[w] {
				free[w] <- res.part
			}
		}()
	}
	for range feeders {
		if ferr := <-readErr; err == nil {
			err = ferr
		}
	}
	wg.Wait()
	drain.Wait()
	switch {
	case err != nil:
		return err
	case mergeErr != nil:
		return mergeErr
	case merged != chunks:
		return fmt.Errorf("scanning %s: %d of %d chunks merged", s.man.ID, merged, chunks)
	}
	s.finish()
	return nil
}

// fork returns a source with the same cube and operands and empty accumulators, scanning
// with the buffers scr.
func (s *source) fork(scr *scratch) *source {
	f := *s
	f.scr = scr
	f.timelines = make([]*timeline, len(s.timelines))
	tls := map[*timeline]*timeline{}
	for i, t := range s.timelines {
		nt := &timeline{grain: t.grain, timeCol: t.timeCol, timeYear: t.timeYear, name: t.name, size: t.size, idx: t.idx,
			ordinal: map[int32]int32{}, lastBase: -1, span: t.span}
		f.timelines[i] = nt
		tls[t] = nt
	}
	f.ops = make([]*operandState, len(s.ops))
	ops := map[*operandState]*operandState{}
	for i, o := range s.ops {
		no := &operandState{key: o.key, op: o.op, grain: o.grain, src: &f, valueCol: o.valueCol, integer: o.integer,
			perUnit: o.perUnit, distinct: o.distinct, subset: o.subset, filters: o.filters, tl: tls[o.tl],
			cross: o.cross, pairCol: o.pairCol, pairPerUnit: o.pairPerUnit}
		f.ops[i] = no
		ops[o] = no
	}
	for i, o := range s.ops {
		if o.unitsOf != nil {
			f.ops[i].unitsOf = ops[o.unitsOf]
		}
	}
	return &f
}

// reset empties a fork's accumulators for its next chunk; its periods stay.
func (s *source) reset() {
	for _, o := range s.ops {
		a := &o.acc
		for _, xs := range [][]int64{a.units, a.n, a.sumInt, a.rows} {
			clear(xs)
		}
		for _, xs := range [][]float64{a.sum, a.sumC, a.sq, a.sqC, a.psq} {
			clear(xs)
		}
		clear(a.sets)
		a.pending = 0
		a.mag = magnitude{}
	}
}

// merge adds a fork's partial aggregates into s, period by period.
func (s *source) merge(f *source) error {
	for j, fo := range f.ops {
		o := s.ops[j]
		fa := &fo.acc
		fa.grow(fo)
		fa.flush()
		// Map the fork's period ordinals onto s's; slot 0 (no period) maps onto itself.
		bases := make([][2]int32, 0, len(fo.tl.starts)+1)
		bases = append(bases, [2]int32{slotNoPeriod, slotNoPeriod})
		for ford, start := range fo.tl.starts {
			ord, err := o.tl.addPeriod(start)
			if err != nil {
				return err
			}
			bases = append(bases, [2]int32{fo.tl.base(int32(ford)), o.tl.base(ord)})
		}
		o.acc.grow(o)
		a := &o.acc
		a.mag.add(fa.mag.hi, fa.mag.lo)
		if !a.mag.fits() {
			return o.overflowError()
		}
		for bi, b := range bases {
			width := s.size
			if bi == 0 {
				width = 1
			}
			from, to := int(b[0]), int(b[1])
			if o.unitsOf == nil {
				addInts(a.units[to:to+width], fa.units[from:from+width])
				if a.rows != nil {
					addInts(a.rows[to:to+width], fa.rows[from:from+width])
				}
			}
			if o.valueCol < 0 {
				continue
			}
			addInts(a.n[to:to+width], fa.n[from:from+width])
			if o.integer {
				addInts(a.sumInt[to:to+width], fa.sumInt[from:from+width])
			} else {
				addSums(a.sum[to:to+width], a.sumC[to:to+width], fa.sum[from:from+width], fa.sumC[from:from+width])
			}
			addSums(a.sq[to:to+width], a.sqC[to:to+width], fa.sq[from:from+width], fa.sqC[from:from+width])
			if o.distinct {
				for k, set := range fa.sets[from : from+width] {
					if len(set) == 0 {
						continue
					}
					dst := a.sets[to+k]
					if dst == nil {
						dst = make(map[string]struct{}, len(set))
						a.sets[to+k] = dst
					}
					for v := range set {
						dst[v] = struct{}{}
					}
				}
			}
		}
	}
	return nil
}

func addInts(dst, src []int64) {
	for i, x := range src {
		dst[i] += x
	}
}

// addSums adds compensated sums (s, c) into (dst, dstC), both terms.
func addSums(dst, dstC, s, c []float64) {
	for i := range s {
		if s[i] != 0 || c[i] != 0 {
			add(&dst[i], &dstC[i], s[i])
			add(&dst[i], &dstC[i], c[i])
		}
	}
}
