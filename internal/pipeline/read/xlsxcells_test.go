package read

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/xuri/excelize/v2"
)

// cellsBook writes a sheet with a formula saved without a value (as openpyxl and pandas
// write them), a formula with its value, a formula whose value is an error, merged cells
// and a formula outside the declared columns, then rewrites cell C6 as an error cell
// (excelize cannot write one).
func cellsBook(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"day", "visits", "site", "note"},
		{"2026-01-01", 1, "North", "ok"},       // 2
		{"2026-01-02", nil, "North", "ok"},     // 3: B3 formula without value
		{"2026-01-03", 3, "South", "ok"},       // 4: A4:A5 merged
		{nil, 4, "South", "ok"},                // 5: covered by A4:A5
		{"2026-01-06", 6, "#DIV/0!", "ok"},     // 6: C6 an error value
		{"2026-01-07", 7, "East", nil},         // 7: D7 formula without value, not declared
		{"2026-01-08", 8, "East", "ok"},        // 8: B8 formula with its value
		{"2026-01-09", 9, "West", "ok"},        // 9: C9:D9 merged across, C declared first
		{"2026-01-10", 10, "West", "ok"},       // 10
		{nil, nil, nil, nil},                   // 11: blank but B11 holds a formula without value
		{"2026-01-12", 12, "West", "trailing"}, // 12
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		must(t, f.SetSheetRow("Sheet1", cell, &r))
	}
	must(t, f.SetCellFormula("Sheet1", "B3", "B2+1"))
	must(t, f.MergeCell("Sheet1", "A4", "A5"))
	must(t, f.SetCellFormula("Sheet1", "D7", "UPPER(C7)"))
	must(t, f.SetCellFormula("Sheet1", "B8", "B7+1"))
	must(t, f.MergeCell("Sheet1", "C9", "D9"))
	must(t, f.SetCellFormula("Sheet1", "B11", "1/0"))
	var buf bytes.Buffer
	must(t, f.Write(&buf))
	return rewritePart(t, buf.Bytes(), "xl/worksheets/sheet1.xml", func(s string) string {
		// C6: an error value, as a spreadsheet application saves =1/0.
		i := strings.Index(s, `<c r="C6"`)
		j := i + strings.Index(s[i:], "</c>") + len("</c>")
		return s[:i] + `<c r="C6" t="e"><f>1/0</f><v>#DIV/0!</v></c>` + s[j:]
	})
}

// rewritePart returns the zip archive data with one part's text rewritten by edit.
func rewritePart(t *testing.T, data []byte, name string, edit func(string) string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	must(t, err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		must(t, err)
		b, err := io.ReadAll(rc)
		must(t, err)
		rc.Close()
		if f.Name == name {
			b = []byte(edit(string(b)))
		}
		w, err := zw.Create(f.Name)
		must(t, err)
		_, err = w.Write(b)
		must(t, err)
	}
	must(t, zw.Close())
	return out.Bytes()
}

func TestXLSXCellsWithoutValues(t *testing.T) {
	data := cellsBook(t)
	rd, err := Open(bytes.NewReader(data), int64(len(data)), Options{
		Format: XLSX, Columns: []string{"day", "visits", "site"}, BatchRows: 4,
	})
	must(t, err)
	defer rd.Close()
	type problem struct {
		sheetRow int64
		column   string
		reason   string
	}
	var got []problem
	var days []string
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		for _, p := range rd.Problems() {
			got = append(got, problem{rd.SourceRows()[p.Row], rec.ColumnName(p.Column), p.Reason})
		}
		d := rec.Column(0).(*array.String)
		for i := 0; i < d.Len(); i++ {
			days = append(days, d.Value(i))
		}
		rec.Release()
	}
	// Every non-blank row is read, and the blank row 11 too since it holds a formula.
	if want := "2026-01-01 2026-01-02 2026-01-03  2026-01-06 2026-01-07 2026-01-08 2026-01-09 2026-01-10  2026-01-12"; strings.Join(days, " ") != want {
		t.Errorf("days\n got %q\nwant %q", strings.Join(days, " "), want)
	}
	want := []struct {
		sheetRow int64
		column   string
		contains string
	}{
		{3, "visits", `cell B3 holds a formula saved without its value`},
		{5, "day", `cell A5 is covered by the merged cells A4:A5, whose value is shown once, in A4`},
		{6, "site", `cell C6 shows the error #DIV/0!`},
		{11, "visits", `cell B11 holds a formula saved without its value`},
	}
	if len(got) != len(want) {
		t.Fatalf("problems: got %d %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.sheetRow != w.sheetRow || g.column != w.column || !strings.Contains(g.reason, w.contains) {
			t.Errorf("problem %d: got %+v, want row %d column %s containing %q", i, g, w.sheetRow, w.column, w.contains)
		}
	}
}

func TestTagName(t *testing.T) {
	for _, c := range []struct {
		tag           string
		name          string
		closing, self bool
	}{
		{`c r="A1" t="e">`, "c", false, false},
		{`/c>`, "c", true, false},
		{`x:f>`, "f", false, false},
		{`v/>`, "v", false, true},
		{`mergeCell ref="A1:B2"/>`, "mergeCell", false, true},
		{"row\nr=\"3\">", "row", false, false},
	} {
		name, closing, self := tagName([]byte(c.tag))
		if name != c.name || closing != c.closing || self != c.self {
			t.Errorf("tagName(%q) = %q %v %v, want %q %v %v", c.tag, name, closing, self, c.name, c.closing, c.self)
		}
	}
	if v := attrValue([]byte("row\nr='3' spans=\"1:4\">"), "r"); v != "3" {
		t.Errorf("attrValue single-quoted after a newline = %q", v)
	}
}
