package read

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// bombBook returns a workbook (sheet "Data", header a, b) whose part named part is
// replaced by content: a few KiB compressed, however long its text.
func bombBook(t *testing.T, part string, content func(w io.Writer)) []byte {
	t.Helper()
	f := excelize.NewFile()
	must(t, f.SetSheetName("Sheet1", "Data"))
	must(t, f.SetSheetRow("Data", "A1", &[]any{"a", "b"}))
	must(t, f.SetSheetRow("Data", "A2", &[]any{"x", "y"}))
	var book bytes.Buffer
	must(t, f.Write(&book))
	zr, err := zip.NewReader(bytes.NewReader(book.Bytes()), int64(book.Len()))
	must(t, err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		w, err := zw.Create(zf.Name)
		must(t, err)
		if zf.Name == part {
			content(w)
			continue
		}
		rc, err := zf.Open()
		must(t, err)
		_, err = io.Copy(w, rc)
		must(t, err)
		rc.Close()
	}
	must(t, zw.Close())
	return out.Bytes()
}

// repeat writes n bytes of one letter.
func repeat(w io.Writer, n int) {
	chunk := bytes.Repeat([]byte("A"), 64<<10)
	for ; n > 0; n -= len(chunk) {
		_, _ = w.Write(chunk[:min(n, len(chunk))])
	}
}

func sharedStrings(n int) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4"><si><t>a</t></si><si><t>b</t></si><si><t>x</t></si><si><t>`)
		repeat(w, n)
		io.WriteString(w, `</t></si></sst>`)
	}
}

func inlineSheet(n int) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`+
			`<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c></row>`+
			`<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c><c r="B2" t="inlineStr"><is><t>`)
		repeat(w, n)
		io.WriteString(w, `</t></is></c></row></sheetData></worksheet>`)
	}
}

// A workbook whose shared string or inline string is far longer than any cell is refused
// before excelize reads it, naming the string or the sheet and cell, with memory bounded
// by a buffer rather than by the string; a long cell within the limit is read; no
// temporary file is left behind.
func TestXLSXBombs(t *testing.T) {
	const bomb = 64 << 20
	for _, tc := range []struct {
		name    string
		part    string
		content func(io.Writer)
		wantErr string
		wantB   int // length of the b value read
	}{
		{"shared string bomb", "xl/sharedStrings.xml", sharedStrings(bomb), "shared string 3 has more than 1048576 bytes of text", 0},
		{"inline string bomb", "xl/worksheets/sheet1.xml", inlineSheet(bomb), `sheet "Data" cell B2 has more than 1048576 bytes of text`, 0},
		{"long shared string within the limit", "xl/sharedStrings.xml", sharedStrings(900 << 10), "", 900 << 10},
		{"long inline string within the limit", "xl/worksheets/sheet1.xml", inlineSheet(900 << 10), "", 900 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // excelize's temporary files
			p := filepath.Join(t.TempDir(), "book.xlsx")
			must(t, os.WriteFile(p, bombBook(t, tc.part, tc.content), 0o644))
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res, err := readFile(t, p, Options{Format: XLSX, Columns: []string{"a", "b"}})
			runtime.ReadMemStats(&after)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrCellTooLarge) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
					t.Errorf("allocated %d MiB refusing a %d MiB string, want under 8", alloc>>20, bomb>>20)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if len(res.rows) != 1 || len(res.rows[0][1]) != tc.wantB {
					t.Errorf("read %d rows, want one with b of %d bytes", len(res.rows), tc.wantB)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

// A sheet of more rows than a spreadsheet holds is refused naming the sheet (the bound
// lowered to 3 rows here: a header and two data rows pass, a third data row does not).
func TestXLSXRowBound(t *testing.T) {
	defer func(old int64) { maxSheetRows = old }(maxSheetRows)
	maxSheetRows = 3
	for _, tc := range []struct {
		rows    int
		wantErr string
	}{{2, ""}, {3, `sheet "Data" has more than 3 rows, more than a spreadsheet holds`}} {
		f := excelize.NewFile()
		must(t, f.SetSheetName("Sheet1", "Data"))
		must(t, f.SetSheetRow("Data", "A1", &[]any{"a", "b"}))
		for r := 0; r < tc.rows; r++ {
			must(t, f.SetSheetRow("Data", fmt.Sprintf("A%d", r+2), &[]any{r, r}))
		}
		p := filepath.Join(t.TempDir(), "rows.xlsx")
		must(t, f.SaveAs(p))
		f.Close()
		res, err := readFile(t, p, Options{Format: XLSX, Columns: []string{"a", "b"}})
		switch {
		case tc.wantErr == "" && (err != nil || len(res.rows) != tc.rows):
			t.Errorf("%d rows: %d read, error %v", tc.rows, len(res.rows), err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%d rows: error %v, want %q", tc.rows, err, tc.wantErr)
		}
	}
}

// lyingBook returns a workbook whose part named part declares size bytes uncompressed in
// its zip headers while holding its real, small content.
func lyingBook(t *testing.T, part string, size uint64) []byte {
	t.Helper()
	good := bombBook(t, "none", nil)
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	must(t, err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		h := zf.FileHeader
		if zf.Name == part {
			h.UncompressedSize64 = size
		}
		w, err := zw.CreateRaw(&h)
		must(t, err)
		rc, err := zf.OpenRaw()
		must(t, err)
		_, err = io.Copy(w, rc)
		must(t, err)
	}
	must(t, zw.Close())
	return out.Bytes()
}

// A part whose header claims gigabytes is refused before excelize allocates a buffer of
// the claimed size for it (found by FuzzXLSX: a 6 KB file made it allocate 3 GB).
func TestXLSXDeclaredSize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		part    string
		size    uint64
		wantErr string
	}{
		{"workbook part of 3 GB", "xl/workbook.xml", 3 << 30, "part xl/workbook.xml declares 3221225472 bytes uncompressed"},
		{"styles of 65 MiB", "xl/styles.xml", 65 << 20, "part xl/styles.xml declares 68157440 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			book := lyingBook(t, tc.part, tc.size)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Open(bytes.NewReader(book), int64(len(book)), Options{Format: XLSX, Columns: []string{"a", "b"}})
			runtime.ReadMemStats(&after)
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want ErrMalformed and %q", err, tc.wantErr)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d MiB refusing the workbook, want under 8", alloc>>20)
			}
		})
	}
}
