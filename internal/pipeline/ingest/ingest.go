// Package ingest turns one partner's file into a validated snapshot: it reads the file in
// bounded batches, validates every row against the declared schema, maps dimension values
// onto the vocabulary, writes rows that fail to a rejects file with row, column and reason,
// and writes the accepted rows as a content-addressed Parquet snapshot plus the engine
// layout the aggregation reads (an uncompressed Arrow IPC file of plain codes and day
// numbers). The manifest is written last, so a crash never leaves a snapshot that looks
// complete. The ledger rows_in = rows_ok + rows_rejected + rows_excluded always holds.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/backbone-dev/backbone/internal/pipeline/filter"
	"github.com/backbone-dev/backbone/internal/pipeline/mempool"
	"github.com/backbone-dev/backbone/internal/pipeline/period"
	"github.com/backbone-dev/backbone/internal/pipeline/read"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/store/layout"
)

// Store is where a snapshot's files and manifests go (internal/store's Store). The writer
// needs no more, so the engine links no blob SDK.
type Store interface {
	Exists(ctx context.Context, key string) (bool, error)
	// MoveFile puts a finished local file at key, taking it over.
	MoveFile(ctx context.Context, key, file string) error
	PutJSON(ctx context.Context, key string, v any) error
	// GetJSON reads key into v; a missing key gives an error satisfying
	// errors.Is(err, layout.ErrNotFound).
	GetJSON(ctx context.Context, key string, v any) error
	// URI names a key for people (in the reason a snapshot is not promoted).
	URI(key string) string
}

// Options are the settings of one run.
type Options struct {
	Store Store
	// TempDir holds files while they are written; default os.TempDir().
	TempDir string
	// Now stamps the manifest; default time.Now.
	Now func() time.Time
	// Progress, when set, is called after every batch with the rows read so far.
	Progress func(rows int64)
	// BatchRows is the number of rows read at a time; default 65536.
	BatchRows int
	// Allocator for Arrow buffers; default mempool.Shared(), which recycles released
	// buffers.
	Allocator memory.Allocator
}

// NotPromotedError says the snapshot was written but not promoted: too many rows were
// rejected. The manifest names the rejects file.
type NotPromotedError struct {
	Manifest *layout.SnapshotManifest
}

func (e *NotPromotedError) Error() string { return e.Manifest.Reason }

// Result is the outcome of a run.
type Result struct {
	Manifest    layout.SnapshotManifest
	ManifestKey string
}

// Run ingests the file of p into the store.
func Run(ctx context.Context, p *spec.Ingest, opts Options) (*Result, error) {
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Allocator == nil {
		opts.Allocator = mempool.Shared()
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", p.TimeZone, err)
	}
	// Stat first: opening a named pipe blocks until a writer comes, and a device has no
	// size to read to.
	if err := regularFile(p.Path, os.Stat); err != nil {
		return nil, err
	}
	in, err := os.Open(p.Path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", p.Path, err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return nil, err
	}
	if err := regularFile(p.Path, func(string) (os.FileInfo, error) { return st, nil }); err != nil {
		return nil, err
	}
	names := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		names[i] = c.Name
	}
	ropts := read.Options{
		Format:    read.Format(p.Format),
		Columns:   names,
		Header:    p.Header,
		Sheet:     p.Sheet,
		HeaderRow: p.HeaderRow,
		BatchRows: opts.BatchRows,
		Allocator: opts.Allocator,
	}
	if p.Delimiter != "" {
		ropts.Delimiter = []rune(p.Delimiter)[0]
	}
	rd, err := read.Open(in, st.Size(), ropts)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p.Path, err)
	}
	defer rd.Close()

	w, err := newWriter(p, loc, opts)
	if err != nil {
		return nil, err
	}
	defer w.cleanup()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p.Path, err)
		}
		err = w.batch(rec, rd.FirstRow(), rd.SourceRows(), rd.Problems())
		rec.Release()
		if err != nil {
			return nil, err
		}
		if opts.Progress != nil {
			opts.Progress(w.m.RowsIn)
		}
	}
	return w.finish(ctx)
}

// regularFile fails unless path (as stat sees it) is a regular file, naming what it is.
func regularFile(path string, stat func(string) (os.FileInfo, error)) error {
	fi, err := stat(path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	if fi.Mode().IsRegular() {
		return nil
	}
	kind := "special file"
	switch t := fi.Mode().Type(); {
	case t&os.ModeDir != 0:
		kind = "directory"
	case t&os.ModeNamedPipe != 0:
		kind = "named pipe"
	case t&os.ModeSocket != 0:
		kind = "socket"
	case t&os.ModeDevice != 0:
		kind = "device"
	}
	return fmt.Errorf("%s is a %s, not a regular file: only regular files are read", path, kind)
}

// writer converts batches and writes the snapshot files.
type writer struct {
	p    *spec.Ingest
	opts Options
	cols []*column
	m    layout.SnapshotManifest

	freq     int           // index of the frequency column, -1 without one
	excludes []excludePred // a row is excluded when it matches every one
	missing  *markers

	pqSchema, engSchema *arrow.Schema
	pqFile, engFile     *os.File
	pqSink, engSink     *hashingWriter
	pqw                 *pqarrow.FileWriter
	engw                *ipc.FileWriter
	pqOut, engOut       *sink
	rejFile             *os.File
	rej                 *csv.Writer
	rejSum              hash.Hash

	// plausible is, by column, the range of days a Date or Timestamp value may take.
	plausible []dayRange

	keep       []bool
	excl       []bool
	fails      []failure
	unknownU   []int64
	haveDay    bool
	dictionary []arrow.Array // per column: the groups of dimension columns
}

type excludePred struct {
	col  int
	pred *filter.Pred
}

func newWriter(p *spec.Ingest, loc *time.Location, opts Options) (*writer, error) {
	w := &writer{p: p, opts: opts, freq: -1, missing: newMarkers(p.MissingValues)}
	w.m = layout.SnapshotManifest{
		Namespace: p.Namespace, Initiative: p.Initiative, Source: p.Source, Partner: p.Partner,
		SchemaHash: schemaHash(p), MinDay: math.MaxInt32, MaxDay: math.MinInt32,
	}
	var pqFields, engFields []arrow.Field
	for i, c := range p.Columns {
		col, err := newColumn(c, p.Dimensions, loc)
		if err != nil {
			return nil, err
		}
		w.cols = append(w.cols, col)
		var r dayRange
		if c.Type == spec.TypeDate || c.Type == spec.TypeTimestamp {
			lo, hi, err := c.PlausibleDays()
			if err != nil {
				return nil, err
			}
			r = dayRange{lo, hi, true}
		}
		w.plausible = append(w.plausible, r)
		if c.Name == p.FrequencyColumn {
			w.freq = i
		}
		pq, eng := fieldTypes(c)
		sc := layout.SnapshotColumn{Name: c.Name, Type: c.Type, Dimension: c.Dimension, Groups: col.groups,
			ValueKind: c.ValueKind, Frequency: c.Name == p.FrequencyColumn, ParquetOnly: eng == nil}
		w.m.Columns = append(w.m.Columns, sc)
		pqFields = append(pqFields, arrow.Field{Name: c.Name, Type: pq, Nullable: c.Dimension == ""})
		if eng != nil {
			engFields = append(engFields, arrow.Field{Name: c.Name, Type: eng, Nullable: c.Dimension == ""})
		}
		var dict arrow.Array
		if c.Dimension != "" {
			b := array.NewStringBuilder(opts.Allocator)
			b.AppendValues(col.groups, nil)
			dict = b.NewArray()
			b.Release()
		}
		w.dictionary = append(w.dictionary, dict)
	}
	if p.FrequencyColumn != "" && w.freq < 0 {
		return nil, fmt.Errorf("frequency column %q is not a declared column", p.FrequencyColumn)
	}
	w.unknownU = make([]int64, len(w.cols))
	for _, f := range p.ExcludeRows {
		idx := -1
		for i, c := range p.Columns {
			if c.Name == f.Column {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("excludeRows: column %q is not declared", f.Column)
		}
		// Exclusions compare the partner's raw values (e.g. a subtotal row's "ALL"), before
		// validation: an excluded row is never rejected.
		typ := spec.TypeString
		if f.Operator == spec.OpGt || f.Operator == spec.OpLt {
			typ = spec.TypeNumber
		}
		pred, err := filter.Compile(f, typ, nil)
		if err != nil {
			return nil, fmt.Errorf("excludeRows on column %q: %w", f.Column, err)
		}
		w.excludes = append(w.excludes, excludePred{idx, pred})
	}
	w.pqSchema = arrow.NewSchema(pqFields, nil)
	w.engSchema = arrow.NewSchema(engFields, nil)

	var err error
	if w.pqFile, err = os.CreateTemp(opts.TempDir, "snapshot-*.parquet"); err != nil {
		return nil, err
	}
	// Dictionary pages pay off for dimension codes and dates; for ids and measurements they
	// are built, overflow and are thrown away row group after row group. Text columns have
	// no statistics: a dimension's row groups each hold every group, so its minimum and
	// maximum prune nothing, and arrow-go computes them with a hash pass over every batch's
	// codes; the minimum and maximum of ids, names or free text prune nothing a query asks
	// of them either, and cost a comparison of every value (each ≈ 5 % of an ingest's CPU).
	popts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(false),
		parquet.WithAllocator(opts.Allocator),
		parquet.WithCreatedBy("backbone"),
	}
	for _, c := range p.Columns {
		if c.Dimension != "" || c.Type == spec.TypeDate {
			popts = append(popts, parquet.WithDictionaryFor(c.Name, true))
		}
		if c.Dimension != "" || c.Type == spec.TypeString {
			popts = append(popts, parquet.WithStatsFor(c.Name, false))
		}
	}
	props := parquet.NewWriterProperties(popts...)
	w.pqSink = newHashingWriter(w.pqFile)
	if w.pqw, err = pqarrow.NewFileWriter(w.pqSchema, w.pqSink, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())); err != nil {
		return nil, fmt.Errorf("creating Parquet writer: %w", err)
	}
	if w.engFile, err = os.CreateTemp(opts.TempDir, "snapshot-*.arrow"); err != nil {
		return nil, err
	}
	w.engSink = newHashingWriter(w.engFile)
	if w.engw, err = ipc.NewFileWriter(w.engSink, ipc.WithSchema(w.engSchema), ipc.WithAllocator(opts.Allocator)); err != nil {
		return nil, fmt.Errorf("creating Arrow writer: %w", err)
	}
	w.pqOut = newSink(w.pqw.Write)
	w.engOut = newSink(w.engw.Write)
	if w.rejFile, err = os.CreateTemp(opts.TempDir, "rejects-*.csv"); err != nil {
		return nil, err
	}
	w.rejSum = sha256.New()
	w.rej = csv.NewWriter(io.MultiWriter(w.rejFile, w.rejSum))
	if err := w.rej.Write([]string{"row", "column", "value", "reason"}); err != nil {
		return nil, err
	}
	return w, nil
}

// fieldTypes returns a column's types in the Parquet snapshot and in the engine layout.
// Text is in the Parquet snapshot only (eng is nil): the aggregation reads it from there
// when an indicator filters on it or counts its distinct values, and otherwise never pays
// for writing, hashing and mapping it twice.
func fieldTypes(c spec.Column) (pq, eng arrow.DataType) {
	if c.Dimension != "" {
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint16, ValueType: arrow.BinaryTypes.String}, arrow.PrimitiveTypes.Uint16
	}
	switch c.Type {
	case spec.TypeInteger:
		return arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int64
	case spec.TypeNumber:
		return arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Float64
	case spec.TypeBoolean:
		return arrow.FixedWidthTypes.Boolean, arrow.FixedWidthTypes.Boolean
	case spec.TypeDate:
		return arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Date32
	case spec.TypeTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, arrow.FixedWidthTypes.Date32
	}
	return arrow.BinaryTypes.String, nil
}

// batch converts and writes one batch. Rejected rows are numbered from firstRow on, or by
// sourceRows (the worksheet rows of an XLSX sheet) when it is not nil.
func (w *writer) batch(rec arrow.RecordBatch, firstRow int64, sourceRows []int64, problems []read.CellProblem) error {
	n := int(rec.NumRows())
	w.m.RowsIn += int64(n)
	w.excl = grow(w.excl, n)
	for i := range w.excl {
		w.excl[i] = len(w.excludes) > 0 && w.excluded(rec, i)
	}
	w.fails = w.fails[:0]
	for i, c := range w.cols {
		w.fails = c.convert(rec.Column(i), w.missing, w.fails)
	}
	// A cell the reader could not read (a formula without its value, a merged cell) is
	// rejected with the reader's reason, in place of what its empty value gave.
	for _, p := range problems {
		name := rec.ColumnName(p.Column)
		w.fails = slices.DeleteFunc(w.fails, func(f failure) bool { return f.row == p.Row && f.column == name })
		w.fails = append(w.fails, failure{p.Row, name, "", p.Reason})
	}
	// Excluded rows are counted as excluded, whatever their values.
	w.fails = slices.DeleteFunc(w.fails, func(f failure) bool { return w.excl[f.row] })
	w.keep = grow(w.keep, n)
	for i := range w.keep {
		w.keep[i] = !w.excl[i]
		if w.excl[i] {
			w.m.RowsExcluded++
		}
	}
	if w.freq >= 0 {
		fc := w.cols[w.freq]
		for i := 0; i < n; i++ {
			if fc.valid[i] && fc.ints[i] < 0 {
				w.fails = append(w.fails, failure{i, fc.spec.Name, strconv.FormatInt(fc.ints[i], 10), "a frequency cannot be negative"})
			} else if !fc.valid[i] && !failed(w.fails, i, fc.spec.Name) {
				w.fails = append(w.fails, failure{i, fc.spec.Name, "", "the frequency column is missing: a row must say how many people it stands for"})
			}
		}
	}
	w.fails = w.implausible(rec, n, w.fails)
	w.fails = invalidText(rec, w.excl, w.fails)
	for _, f := range w.fails {
		w.keep[f.row] = false
	}
	// Rejected rows: one line per failing cell, counted once per row.
	rejected := 0
	for i := 0; i < n; i++ {
		if !w.keep[i] && !w.excl[i] {
			rejected++
		}
	}
	slices.SortStableFunc(w.fails, func(a, b failure) int { return a.row - b.row })
	for _, f := range w.fails {
		row := firstRow + int64(f.row)
		if sourceRows != nil {
			row = sourceRows[f.row]
		}
		if err := w.rej.Write([]string{strconv.FormatInt(row, 10), f.column, rejectValue(f.value), rejectReason(f)}); err != nil {
			return fmt.Errorf("writing rejects: %w", err)
		}
	}
	w.m.RowsRejected += int64(rejected)
	k := 0
	for i := 0; i < n; i++ {
		if w.keep[i] {
			k++
		}
	}
	w.m.RowsOK += int64(k)
	if k == 0 {
		return nil
	}
	return w.write(k)
}

// invalidText adds a failure for every text value of the input that is not valid UTF-8
// (a Latin-1 "ó" in a file read as UTF-8), unless the cell failed already: stored as it
// is, it would be a broken string in the snapshot's UTF-8 columns. A batch is checked in
// one pass over each column's bytes; rows are looked at only when that finds a bad byte.
func invalidText(rec arrow.RecordBatch, excl []bool, fails []failure) []failure {
	for ci, col := range rec.Columns() {
		a, ok := col.(*array.String)
		if !ok || utf8.Valid(a.ValueBytes()) {
			continue
		}
		name := rec.ColumnName(ci)
		for i := 0; i < a.Len(); i++ {
			v := a.Value(i)
			if a.IsNull(i) || excl[i] || utf8.ValidString(v) || failed(fails, i, name) {
				continue
			}
			at := 0
			for at < len(v) {
				r, size := utf8.DecodeRuneInString(v[at:])
				if r == utf8.RuneError && size <= 1 {
					break
				}
				at += size
			}
			fails = append(fails, failure{i, name, v, fmt.Sprintf(
				"not UTF-8 text: byte 0x%02X at position %d (the file is likely in another encoding, such as Latin-1 or Windows-1252); export it as UTF-8", v[at], at+1)})
		}
	}
	return fails
}

// dayRange is a plausible range of day numbers, inclusive.
type dayRange struct {
	lo, hi int32
	on     bool
}

// implausible adds a failure for every valid Date or Timestamp value outside its column's
// plausible range.
func (w *writer) implausible(rec arrow.RecordBatch, n int, fails []failure) []failure {
	for ci, c := range w.cols {
		r := w.plausible[ci]
		if !r.on {
			continue
		}
		for i := 0; i < n; i++ {
			if !c.valid[i] || w.excl[i] || (c.days[i] >= r.lo && c.days[i] <= r.hi) {
				continue
			}
			fails = append(fails, failure{i, c.spec.Name, rec.Column(ci).ValueStr(i), fmt.Sprintf(
				"%s is outside the plausible range %s to %s of the column (a sentinel such as 9999-12-31, or a typo in the year?); if such dates are real, declare earliest or latest on the column",
				period.Format(c.days[i]), period.Format(r.lo), period.Format(r.hi))})
		}
	}
	return fails
}

// maxRejectValue bounds a value as the rejects file shows it.
const maxRejectValue = 256

// rejectValue returns a rejected value as the rejects file shows it: whole when short,
// else its first maxRejectValue bytes (whole characters) with its length and hash, so a
// 10 MB bad value neither doubles into the rejects file nor loses what identifies it.
func rejectValue(v string) string {
	shown := v
	if !utf8.ValidString(v) {
		// The rejects file is UTF-8: invalid bytes are shown escaped (\xF3).
		q := strconv.Quote(v)
		shown = q[1 : len(q)-1]
	}
	if len(shown) <= maxRejectValue {
		return shown
	}
	cut := maxRejectValue
	for cut > 0 && !utf8.RuneStart(shown[cut]) {
		cut--
	}
	sum := sha256.Sum256([]byte(v))
	return fmt.Sprintf("%s… (%d bytes, sha256:%s)", shown[:cut], len(v), hex.EncodeToString(sum[:]))
}

// rejectReason returns a failure's reason with a long value quoted in it shortened as
// rejectValue shortens it, and bounded as a whole.
func rejectReason(f failure) string {
	r := f.reason
	if len(f.value) > maxRejectValue {
		r = strings.ReplaceAll(r, f.value, rejectValue(f.value))
	}
	if len(r) <= 4*maxRejectValue {
		return r
	}
	cut := 4 * maxRejectValue
	for cut > 0 && !utf8.RuneStart(r[cut]) {
		cut--
	}
	return r[:cut] + "…"
}

func failed(fails []failure, row int, col string) bool {
	for _, f := range fails {
		if f.row == row && f.column == col {
			return true
		}
	}
	return false
}

// excluded reports whether raw row i matches every declared exclusion expression.
func (w *writer) excluded(rec arrow.RecordBatch, i int) bool {
	for _, e := range w.excludes {
		a := rec.Column(e.col)
		valid := !a.IsNull(i)
		var raw string
		if valid {
			raw = strings.TrimSpace(a.ValueStr(i))
			valid = !w.missing.is(raw) // raw is trimmed already
		}
		var ok bool
		switch e.pred.Op() {
		case spec.OpGt, spec.OpLt:
			v, err := strconv.ParseFloat(raw, 64)
			ok = e.pred.MatchNumber(v, valid && err == nil)
		default:
			ok = e.pred.MatchString(raw, valid)
		}
		if !ok {
			return false
		}
	}
	return true
}

// write appends the k kept rows to both files.
func (w *writer) write(k int) error {
	mem := w.opts.Allocator
	pqCols := make([]arrow.Array, len(w.cols))
	engCols := make([]arrow.Array, len(w.cols))
	defer func() {
		for i := range w.cols {
			if pqCols[i] != nil {
				pqCols[i].Release()
			}
			if engCols[i] != nil && engCols[i] != pqCols[i] {
				engCols[i].Release()
			}
		}
	}()
	var units []int64 // the people each kept row stands for, with a frequency column
	if w.freq >= 0 {
		fc := w.cols[w.freq].ints
		units = make([]int64, 0, k)
		for i, keep := range w.keep {
			if keep {
				units = append(units, fc[i])
			}
		}
	}
	for ci, c := range w.cols {
		valid := compact(c.valid, w.keep)
		switch {
		case c.spec.Dimension != "":
			codes := compact(c.codes, w.keep)
			for i, code := range codes {
				if code == c.unknown {
					if units != nil {
						w.unknownU[ci] += units[i]
					} else {
						w.unknownU[ci]++
					}
				}
			}
			engCols[ci] = build(array.NewUint16Builder(mem), codes, nil)
			pqCols[ci] = array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint16, ValueType: arrow.BinaryTypes.String}, engCols[ci], w.dictionary[ci])
		case c.spec.Type == spec.TypeInteger:
			pqCols[ci] = build(array.NewInt64Builder(mem), compact(c.ints, w.keep), valid)
			engCols[ci] = pqCols[ci]
		case c.spec.Type == spec.TypeNumber:
			pqCols[ci] = build(array.NewFloat64Builder(mem), compact(c.nums, w.keep), valid)
			engCols[ci] = pqCols[ci]
		case c.spec.Type == spec.TypeBoolean:
			pqCols[ci] = build(array.NewBooleanBuilder(mem), compact(c.bools, w.keep), valid)
			engCols[ci] = pqCols[ci]
		case c.spec.Type == spec.TypeDate || c.spec.Type == spec.TypeTimestamp:
			days := compact(c.days, w.keep)
			for i, d := range days {
				if valid[i] {
					w.haveDay = true
					w.m.MinDay = min(w.m.MinDay, d)
					w.m.MaxDay = max(w.m.MaxDay, d)
				}
			}
			engCols[ci] = build(array.NewDate32Builder(mem), arrow.Date32Traits.CastFromBytes(arrow.Int32Traits.CastToBytes(days)), valid)
			if c.spec.Type == spec.TypeDate {
				pqCols[ci] = engCols[ci]
			} else {
				pqCols[ci] = build(array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}),
					arrow.TimestampTraits.CastFromBytes(arrow.Int64Traits.CastToBytes(compact(c.ints, w.keep))), valid)
			}
		default:
			if src, ok := c.src.(*array.String); ok && k == src.Len() {
				// Every row kept: the input's text, with the missing markers made null.
				pqCols[ci] = withValidity(src, valid, mem)
			} else {
				pqCols[ci] = build(array.NewStringBuilder(mem), compact(c.strs, w.keep), valid)
			}
		}
	}
	if units != nil {
		// Frequencies are not negative: a sum past the largest int64 wraps below zero. Every
		// count the aggregation makes is a sum over a subset of these rows, so a total that
		// fits makes all of them exact.
		for _, u := range units {
			if u > math.MaxInt64-w.m.Units {
				return fmt.Errorf("frequency column %q: the frequencies sum past %d, more people than an exact count can hold; check the column for sentinel or corrupt values",
					w.p.FrequencyColumn, int64(math.MaxInt64))
			}
			w.m.Units += u
		}
	} else {
		w.m.Units += int64(k)
	}
	// The sinks take the batches over and write them while the next batch is converted.
	if err := w.pqOut.put(array.NewRecordBatch(w.pqSchema, pqCols, int64(k))); err != nil {
		return fmt.Errorf("writing Parquet snapshot: %w", err)
	}
	var engOnly []arrow.Array
	for ci, c := range engCols {
		if !w.m.Columns[ci].ParquetOnly {
			engOnly = append(engOnly, c)
		}
	}
	if err := w.engOut.put(array.NewRecordBatch(w.engSchema, engOnly, int64(k))); err != nil {
		return fmt.Errorf("writing engine layout: %w", err)
	}
	return nil
}

// sink writes record batches in a goroutine of its own, in order.
type sink struct {
	ch   chan arrow.RecordBatch
	done chan struct{}
	err  atomic.Pointer[error]
	once sync.Once
}

func newSink(write func(arrow.RecordBatch) error) *sink {
	s := &sink{ch: make(chan arrow.RecordBatch, 2), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for rec := range s.ch {
			if s.err.Load() == nil {
				if err := write(rec); err != nil {
					s.err.Store(&err)
				}
			}
			rec.Release()
		}
	}()
	return s
}

// put hands rec over to be written and released; it returns an earlier write's error.
func (s *sink) put(rec arrow.RecordBatch) error {
	if err := s.err.Load(); err != nil {
		rec.Release()
		return *err
	}
	s.ch <- rec
	return nil
}

// close waits for every batch to be written and returns the first error.
func (s *sink) close() error {
	s.once.Do(func() { close(s.ch) })
	<-s.done
	if err := s.err.Load(); err != nil {
		return *err
	}
	return nil
}

// appender is an Arrow builder of T values.
type appender[T any] interface {
	array.Builder
	AppendValues(v []T, valid []bool)
}

// build makes an array of vals (valid: nil for all valid) and releases the builder.
func build[T any, B appender[T]](b B, vals []T, valid []bool) arrow.Array {
	defer b.Release()
	b.AppendValues(vals, valid)
	return b.NewArray()
}

// withValidity returns a's values with the validity valid, sharing a's buffers.
func withValidity(a *array.String, valid []bool, mem memory.Allocator) arrow.Array {
	nulls := 0
	for _, v := range valid {
		if !v {
			nulls++
		}
	}
	if nulls == 0 && a.NullN() == 0 {
		a.Retain()
		return a
	}
	d := a.Data()
	bitmap := memory.NewResizableBuffer(mem)
	bitmap.Resize(int(bitutil.BytesForBits(int64(d.Offset() + len(valid)))))
	bits := bitmap.Bytes()
	for i, v := range valid {
		bitutil.SetBitTo(bits, d.Offset()+i, v)
	}
	bufs := d.Buffers()
	nd := array.NewData(d.DataType(), d.Len(), []*memory.Buffer{bitmap, bufs[1], bufs[2]}, nil, nulls, d.Offset())
	bitmap.Release()
	defer nd.Release()
	return array.MakeFromData(nd)
}

// compact returns the kept values, in place.
func compact[T any](s []T, keep []bool) []T {
	k := 0
	for i, v := range s {
		if keep[i] {
			s[k] = v
			k++
		}
	}
	return s[:k]
}

func (w *writer) finish(ctx context.Context) (*Result, error) {
	if err := w.pqOut.close(); err != nil {
		return nil, fmt.Errorf("writing Parquet snapshot: %w", err)
	}
	if err := w.engOut.close(); err != nil {
		return nil, fmt.Errorf("writing engine layout: %w", err)
	}
	if err := w.pqw.Close(); err != nil {
		return nil, fmt.Errorf("closing Parquet snapshot: %w", err)
	}
	if err := w.engw.Close(); err != nil {
		return nil, fmt.Errorf("closing engine layout: %w", err)
	}
	w.rej.Flush()
	if err := w.rej.Error(); err != nil {
		return nil, fmt.Errorf("writing rejects: %w", err)
	}
	for _, f := range []*os.File{w.pqFile, w.engFile, w.rejFile} {
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	if !w.haveDay {
		w.m.MinDay, w.m.MaxDay = 0, 0
	}
	if w.m.Units > 0 {
		for i, c := range w.cols {
			if c.spec.Dimension != "" {
				if w.m.UnknownShare == nil {
					w.m.UnknownShare = map[string]float64{}
				}
				w.m.UnknownShare[c.spec.Name] = float64(w.unknownU[i]) / float64(w.m.Units)
			}
		}
	}
	st := w.opts.Store
	prefix := layout.SourcePrefix(w.p.Namespace, w.p.Initiative, w.p.Source)
	// Both files were hashed as they were written.
	pqHash, pqBytes := w.pqSink.sum()
	engHash, engBytes := w.engSink.sum()
	m := &w.m
	m.ID = "sha256:" + pqHash
	m.Created = w.opts.Now().UTC()
	m.Parquet = path.Join(prefix, "data", pqHash+".parquet")
	m.ParquetBytes = pqBytes
	m.Engine = path.Join(prefix, "data", engHash+".arrow")
	m.EngineBytes = engBytes
	if m.RowsRejected > 0 {
		m.Rejects = path.Join(prefix, "rejects", hex.EncodeToString(w.rejSum.Sum(nil))+".csv")
		if err := st.MoveFile(ctx, m.Rejects, w.rejFile.Name()); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct{ key, file string }{{m.Parquet, w.pqFile.Name()}, {m.Engine, w.engFile.Name()}} {
		if ok, err := st.Exists(ctx, f.key); err != nil {
			return nil, err
		} else if !ok {
			if err := st.MoveFile(ctx, f.key, f.file); err != nil {
				return nil, err
			}
		}
	}
	m.Promoted = true
	if m.RowsIn > 0 && float64(m.RowsRejected)*100 > float64(w.p.MaxRejectPercent)*float64(m.RowsIn) {
		m.Promoted = false
		m.Reason = fmt.Sprintf("%d of %d rows (%.1f%%) were rejected, above maxRejectPercent %d: the snapshot is not promoted; the rejected rows and reasons are in %s",
			m.RowsRejected, m.RowsIn, 100*float64(m.RowsRejected)/float64(m.RowsIn), w.p.MaxRejectPercent, st.URI(m.Rejects))
	} else {
		reason, err := w.shrunk(ctx, path.Join(prefix, "latest.json"))
		if err != nil {
			return nil, err
		}
		if reason != "" {
			m.Promoted, m.Reason = false, reason
		}
	}
	key := path.Join(prefix, "snapshots", pqHash+".json")
	if err := st.PutJSON(ctx, key, m); err != nil {
		return nil, err
	}
	if !m.Promoted {
		return &Result{Manifest: *m, ManifestKey: key}, &NotPromotedError{Manifest: m}
	}
	if err := st.PutJSON(ctx, path.Join(prefix, "latest.json"), m); err != nil {
		return nil, err
	}
	return &Result{Manifest: *m, ManifestKey: key}, nil
}

// shrunk returns why the snapshot must not replace the promoted one (latest, a key of the
// store), or "": an export cut short (empty, or only its header) would otherwise silently
// replace good data. A snapshot without accepted rows needs maxShrinkPercent 100; one whose
// accepted rows fell by more than maxShrinkPercent against the promoted snapshot is kept
// but not promoted.
func (w *writer) shrunk(ctx context.Context, latest string) (string, error) {
	m, limit := &w.m, w.p.ShrinkLimit()
	if limit >= 100 {
		return "", nil
	}
	const optIn = "; if the source really shrank, ingest it once with maxShrinkPercent 100 (now %d)"
	if m.RowsOK == 0 {
		return fmt.Sprintf("the input has no accepted rows (%d read): an empty export is not promoted over the source's data"+optIn, m.RowsIn, limit), nil
	}
	var prev layout.SnapshotManifest
	err := w.opts.Store.GetJSON(ctx, latest, &prev)
	if errors.Is(err, layout.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the promoted snapshot to compare sizes: %w", err)
	}
	if prev.RowsOK == 0 || m.RowsOK >= prev.RowsOK {
		return "", nil
	}
	drop := 100 * float64(prev.RowsOK-m.RowsOK) / float64(prev.RowsOK)
	if drop <= float64(limit) {
		return "", nil
	}
	return fmt.Sprintf("accepted rows fell from %d in the promoted snapshot %s to %d (%.1f%% fewer), above maxShrinkPercent %d: the snapshot is not promoted"+optIn,
		prev.RowsOK, prev.ID, m.RowsOK, drop, limit, limit), nil
}

func (w *writer) cleanup() {
	for _, s := range []*sink{w.pqOut, w.engOut} {
		if s != nil {
			_ = s.close()
		}
	}
	for _, d := range w.dictionary {
		if d != nil {
			d.Release()
		}
	}
	for _, f := range []*os.File{w.pqFile, w.engFile, w.rejFile} {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
}

// schemaHash identifies what rows were validated against.
func schemaHash(p *spec.Ingest) string {
	b, _ := json.Marshal(struct {
		Columns         []spec.Column
		Dimensions      []spec.Dimension
		FrequencyColumn string
		MissingValues   []string
		ExcludeRows     []spec.Filter
		TimeZone        string
	}{p.Columns, p.Dimensions, p.FrequencyColumn, p.MissingValues, p.ExcludeRows, p.TimeZone})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// hashingWriter writes to a file and hashes what it writes, so a content address needs no
// second read. It is not an io.Closer: the writers above it must not close the file.
type hashingWriter struct {
	f *os.File
	h hash.Hash
	n int64
}

func newHashingWriter(f *os.File) *hashingWriter { return &hashingWriter{f: f, h: sha256.New()} }

func (w *hashingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// sum returns the hex sha256 and the size of everything written.
func (w *hashingWriter) sum() (string, int64) { return hex.EncodeToString(w.h.Sum(nil)), w.n }
