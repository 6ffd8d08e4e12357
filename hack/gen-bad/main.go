// Command gen-bad writes the binary inputs (Parquet, Arrow IPC, XLSX) of the bad-input
// corpus in testdata/bad. The output is deterministic: running it again rewrites the same
// bytes.
//
//	go run ./hack/gen-bad [-dir testdata/bad]
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
)

// input is one binary file of the corpus: the case folder, the file name and its writer.
type input struct {
	dir, name string
	write     func(*bytes.Buffer) error
}

var inputs = []input{
	{"parquet-missing-column", "data.parquet", parquetFile(dayCountRecord)},
	{"parquet-text-in-integer-column", "data.parquet", parquetFile(textVisitsRecord)},
	{"parquet-uint64-out-of-range", "data.parquet", parquetFile(uint64VisitsRecord)},
	{"parquet-double-in-integer-column", "data.parquet", parquetFile(doubleVisitsRecord)},
	{"parquet-boolean-in-number-column", "data.parquet", parquetFile(booleanVisitsRecord)},
	{"arrow-ipc-stream", "data.arrow", arrowStream(dayVisitsRecord)},
	{"arrow-ipc-file", "data.arrow", arrowFile(dayVisitsRecord)},
	{"arrow-ipc-missing-column", "data.arrow", arrowFile(dayCountRecord)},
	{"arrow-ipc-corrupt-offsets", "data.arrow", corruptOffsets(arrowFile(textDayRecord))},
	{"xlsx-sheet-not-found", "data.xlsx", workbook("Visits 2026", 1, visitRows)},
	{"xlsx-header-row-offset", "data.xlsx", workbook("Visits", 3, visitRows)},
	{"xlsx-missing-column", "data.xlsx", workbook("Sheet1", 1, countRows)},
	{"xlsx-header-row-past-end", "data.xlsx", workbook("Sheet1", 1, visitRows)},
	{"xlsx-date-cells", "data.xlsx", workbook("Sheet1", 1, dateCellRows)},
	{"xlsx-formula-without-value", "data.xlsx", workbook("Sheet1", 1, visitRows, formulasWithoutValues)},
	{"xlsx-merged-cells", "data.xlsx", workbook("Sheet1", 1, siteRows, mergedSites)},
}

func main() {
	dir := flag.String("dir", "testdata/bad", "the corpus folder")
	flag.Parse()
	for _, in := range inputs {
		var buf bytes.Buffer
		if err := in.write(&buf); err != nil {
			log.Fatalf("%s/%s: %v", in.dir, in.name, err)
		}
		if err := os.WriteFile(filepath.Join(*dir, in.dir, in.name), buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// days are the dates of the records' rows: 1 January to 4 February 2026, so two months.
var days = []string{"2026-01-01", "2026-01-02", "2026-01-15", "2026-02-03", "2026-02-04"}

func date32(s string) arrow.Date32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return arrow.Date32FromTime(t)
}

// record builds a two-column record batch: day as date32 and a second column named name
// filled by fill.
func record(name string, typ arrow.DataType, fill func(array.Builder, int)) arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: name, Type: typ, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, d := range days {
		b.Field(0).(*array.Date32Builder).Append(date32(d))
		fill(b.Field(1), i)
	}
	return b.NewRecordBatch()
}

func dayVisitsRecord() arrow.RecordBatch {
	return record("visits", arrow.PrimitiveTypes.Int64, func(b array.Builder, i int) {
		b.(*array.Int64Builder).Append(int64(i + 1))
	})
}

// dayCountRecord has the counts under another name than the declared visits.
func dayCountRecord() arrow.RecordBatch {
	return record("count", arrow.PrimitiveTypes.Int64, func(b array.Builder, i int) {
		b.(*array.Int64Builder).Append(int64(i + 1))
	})
}

// uint64VisitsRecord stores the counts as unsigned 64-bit integers, one past the largest
// signed one.
func uint64VisitsRecord() arrow.RecordBatch {
	return record("visits", arrow.PrimitiveTypes.Uint64, func(b array.Builder, i int) {
		b.(*array.Uint64Builder).Append([]uint64{1, 2, math.MaxUint64, 4, 5}[i])
	})
}

// doubleVisitsRecord stores the counts as doubles, one with a fraction and one too large
// to be an exact integer.
func doubleVisitsRecord() arrow.RecordBatch {
	return record("visits", arrow.PrimitiveTypes.Float64, func(b array.Builder, i int) {
		b.(*array.Float64Builder).Append([]float64{1, 2.5, 1e20, 4, 5}[i])
	})
}

// booleanVisitsRecord stores yes/no flags where numbers are declared.
func booleanVisitsRecord() arrow.RecordBatch {
	return record("visits", arrow.FixedWidthTypes.Boolean, func(b array.Builder, i int) {
		b.(*array.BooleanBuilder).Append(i%2 == 0)
	})
}

// textVisitsRecord stores the counts as text, one of them not a number.
func textVisitsRecord() arrow.RecordBatch {
	vals := []string{"1", "2", "three", "4", "5"}
	return record("visits", arrow.BinaryTypes.String, func(b array.Builder, i int) {
		b.(*array.StringBuilder).Append(vals[i])
	})
}

// textDayRecord stores the days as text, ten bytes each.
func textDayRecord() arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "day", Type: arrow.BinaryTypes.String},
		{Name: "visits", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, d := range days {
		b.Field(0).(*array.StringBuilder).Append(d)
		b.Field(1).(*array.Int64Builder).Append(int64(i + 1))
	}
	return b.NewRecordBatch()
}

// corruptOffsets rewrites the third offset of the day column (0, 10, 20, … in the file)
// to point two gigabytes past its data, as a damaged file or a faulty writer leaves it.
func corruptOffsets(write func(*bytes.Buffer) error) func(*bytes.Buffer) error {
	return func(buf *bytes.Buffer) error {
		if err := write(buf); err != nil {
			return err
		}
		le := binary.LittleEndian
		want := le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0), 10), 20)
		at := bytes.Index(buf.Bytes(), want)
		if at < 0 {
			return fmt.Errorf("offsets of the day column not found")
		}
		le.PutUint32(buf.Bytes()[at+8:], 0x7fffffff)
		return nil
	}
}

func parquetFile(rec func() arrow.RecordBatch) func(*bytes.Buffer) error {
	return func(buf *bytes.Buffer) error {
		r := rec()
		defer r.Release()
		props := parquet.NewWriterProperties(parquet.WithCreatedBy("Partner"))
		w, err := pqarrow.NewFileWriter(r.Schema(), buf, props, pqarrow.DefaultWriterProps())
		if err != nil {
			return err
		}
		if err := w.Write(r); err != nil {
			return err
		}
		return w.Close()
	}
}

func arrowStream(rec func() arrow.RecordBatch) func(*bytes.Buffer) error {
	return func(buf *bytes.Buffer) error {
		r := rec()
		defer r.Release()
		w := ipc.NewWriter(buf, ipc.WithSchema(r.Schema()))
		if err := w.Write(r); err != nil {
			return err
		}
		return w.Close()
	}
}

func arrowFile(rec func() arrow.RecordBatch) func(*bytes.Buffer) error {
	return func(buf *bytes.Buffer) error {
		r := rec()
		defer r.Release()
		w, err := ipc.NewFileWriter(buf, ipc.WithSchema(r.Schema()))
		if err != nil {
			return err
		}
		if err := w.Write(r); err != nil {
			return err
		}
		return w.Close()
	}
}

func visitRows() [][]any {
	rows := [][]any{{"day", "visits"}}
	for i, d := range days {
		rows = append(rows, []any{d, i + 1})
	}
	return rows
}

// dateCellRows stores the days as spreadsheet dates (serial numbers with a date format), as
// a partner typing dates into Excel does, and one count as a decimal number.
func dateCellRows() [][]any {
	rows := visitRows()
	for _, row := range rows[1:] {
		t, err := time.Parse(time.DateOnly, row[0].(string))
		if err != nil {
			panic(err)
		}
		row[0] = t
	}
	rows[3][1] = 3.0
	rows[4][1] = 4.5
	return rows
}

// formulasWithoutValues replaces two counts by formulas saved without their computed
// value, as openpyxl and pandas write them (=B2+1, and =1/0, an error once calculated).
func formulasWithoutValues(f *excelize.File, sheet string) error {
	for _, c := range [][2]string{{"B3", "B2+1"}, {"B5", "1/0"}} {
		cell, formula := c[0], c[1]
		if err := f.SetCellValue(sheet, cell, nil); err != nil {
			return err
		}
		if err := f.SetCellFormula(sheet, cell, formula); err != nil {
			return err
		}
	}
	return nil
}

// siteRows adds a site to each visit row.
func siteRows() [][]any {
	rows := visitRows()
	rows[0] = append(rows[0], "site")
	for i, row := range rows[1:] {
		rows[i+1] = append(row, []string{"North", "North", "North", "South", "South"}[i])
	}
	return rows
}

// mergedSites merges the site of the first three rows into one cell (C2:C4), as a
// spreadsheet laid out for reading does.
func mergedSites(f *excelize.File, sheet string) error {
	for _, cell := range []string{"C3", "C4"} {
		if err := f.SetCellValue(sheet, cell, nil); err != nil {
			return err
		}
	}
	return f.MergeCell(sheet, "C2", "C4")
}

func countRows() [][]any {
	rows := visitRows()
	rows[0][1] = "count"
	return rows
}

// workbook writes one sheet named sheet whose header is on row header, under title rows.
// edits, when given, change the sheet after the rows are written.
func workbook(sheet string, header int, rows func() [][]any, edits ...func(*excelize.File, string) error) func(*bytes.Buffer) error {
	return func(buf *bytes.Buffer) error {
		f := excelize.NewFile()
		defer f.Close()
		if err := f.SetDocProps(&excelize.DocProperties{
			Creator: "Partner", Created: "2026-01-15T08:00:00Z", Modified: "2026-01-15T08:00:00Z",
		}); err != nil {
			return err
		}
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return err
		}
		if header > 1 {
			if err := f.SetCellValue(sheet, "A1", "Clinic visits by day"); err != nil {
				return err
			}
		}
		for i, row := range rows() {
			cell, err := excelize.CoordinatesToCellName(1, header+i)
			if err != nil {
				return err
			}
			if err := f.SetSheetRow(sheet, cell, &row); err != nil {
				return fmt.Errorf("row %d: %w", header+i, err)
			}
		}
		for _, edit := range edits {
			if err := edit(f, sheet); err != nil {
				return err
			}
		}
		return f.Write(buf)
	}
}
