package read

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/xuri/excelize/v2"
)

// readSentinels are the errors every failure of a reader wraps.
var readSentinels = []error{
	ErrColumnNotFound, ErrDuplicateColumn, ErrFieldCount, ErrNotObject, ErrNested,
	ErrTooLarge, ErrSheetNotFound, ErrEmpty, ErrMalformed, ErrCellTooLarge,
}

func wrapsSentinel(err error) bool {
	for _, s := range readSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fuzzXLSXSeeds are small workbooks written by excelize: typed cells, styles,
// a second sheet, blank rows, a header further down.
func fuzzXLSXSeeds(f *testing.F) [][]byte {
	build := func(fill func(x *excelize.File) error) []byte {
		x := excelize.NewFile()
		defer x.Close()
		if err := fill(x); err != nil {
			f.Fatal(err)
		}
		buf, err := x.WriteToBuffer()
		if err != nil {
			f.Fatal(err)
		}
		return buf.Bytes()
	}
	rows := func(sheet string, start int, rs ...[]any) func(x *excelize.File) error {
		return func(x *excelize.File) error {
			for i, r := range rs {
				cell, err := excelize.CoordinatesToCellName(1, start+i)
				if err != nil {
					return err
				}
				if err := x.SetSheetRow(sheet, cell, &r); err != nil {
					return err
				}
			}
			return nil
		}
	}
	styled := func(x *excelize.File) error {
		if err := rows("Sheet1", 1, []any{"a", "b"}, []any{45505.0, 0.25}, []any{true, "x"})(x); err != nil {
			return err
		}
		date, err := x.NewStyle(&excelize.Style{NumFmt: 14})
		if err != nil {
			return err
		}
		pct, err := x.NewStyle(&excelize.Style{NumFmt: 9})
		if err != nil {
			return err
		}
		if err := x.SetCellStyle("Sheet1", "A2", "A2", date); err != nil {
			return err
		}
		return x.SetCellStyle("Sheet1", "B2", "B2", pct)
	}
	twoSheets := func(x *excelize.File) error {
		if _, err := x.NewSheet("Other"); err != nil {
			return err
		}
		if err := rows("Other", 1, []any{"z"})(x); err != nil {
			return err
		}
		return rows("Sheet1", 1, []any{"a", "b"}, []any{1, 2}, []any{}, []any{3, "four"})(x)
	}
	return [][]byte{
		build(rows("Sheet1", 1, []any{"a", "b"}, []any{1, "x"}, []any{2.5, "y"})),
		build(rows("Sheet1", 3, []any{"a", "b"}, []any{"only a"})),
		build(rows("Sheet1", 1, []any{"b", "a", "a"}, []any{1, 2, 3})),
		build(styled),
		build(twoSheets),
		build(func(*excelize.File) error { return nil }),
	}
}

// FuzzXLSX reads arbitrary bytes as a workbook. It must never panic or hang;
// every error wraps one of the package's sentinels; batches keep the reader's
// invariants. Memory is bounded by the XLSX bomb guards (see xlsxbomb.go).
func FuzzXLSX(f *testing.F) {
	for _, b := range fuzzXLSXSeeds(f) {
		f.Add(b, uint8(0))
		f.Add(b, uint8(3))
	}
	f.Add([]byte("PK\x03\x04 this is not a workbook"), uint8(0))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, header uint8) {
		if len(data) > 1<<20 {
			return
		}
		opts := Options{Format: XLSX, Columns: []string{"a", "b"}, HeaderRow: int(header % 4), BatchRows: 3}
		r, err := Open(bytes.NewReader(data), int64(len(data)), opts)
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("Open: error wraps no sentinel: %v", err)
			}
			return
		}
		r.Close()
		fuzzRead(t, data, opts)
		r, err = Open(bytes.NewReader(data), int64(len(data)), opts)
		if err != nil {
			t.Fatalf("second Open failed after the first succeeded: %v", err)
		}
		defer r.Close()
		for range 1000 {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !wrapsSentinel(err) {
					t.Fatalf("Next: error wraps no sentinel: %v", err)
				}
				if _, again := r.Next(); again == nil || (!errors.Is(again, err) && again.Error() != err.Error()) {
					t.Fatalf("Next after error %v returned %v", err, again)
				}
				return
			}
			rec.Release()
		}
	})
}
