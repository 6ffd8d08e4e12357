package read

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// xlsxBooks builds the workbooks the XLSX tests read, by name.
var xlsxBooks = map[string]func(t *testing.T, f *excelize.File){
	// "Data": a typed sheet; "Other": a second sheet.
	"typed": func(t *testing.T, f *excelize.File) {
		must(t, f.SetSheetName("Sheet1", "Data"))
		_, err := f.NewSheet("Other")
		must(t, err)
		style := func(s excelize.Style) int {
			id, err := f.NewStyle(&s)
			must(t, err)
			return id
		}
		isoDate := style(excelize.Style{NumFmt: 14})                  // m/d/yy
		dmy := style(excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy")}) // a custom date
		dateTime := style(excelize.Style{NumFmt: 22})                 // m/d/yy h:mm
		clock := style(excelize.Style{NumFmt: 20})                    // h:mm
		money := style(excelize.Style{NumFmt: 4})                     // #,##0.00
		percent := style(excelize.Style{NumFmt: 9})                   // 0%
		zip := style(excelize.Style{CustomNumFmt: ptr("00000")})
		bold := style(excelize.Style{Font: &excelize.Font{Bold: true}})
		elapsed := style(excelize.Style{NumFmt: 46}) // [h]:mm:ss

		set := func(cell string, v any, s int) {
			must(t, f.SetCellValue("Data", cell, v))
			if s != 0 {
				must(t, f.SetCellStyle("Data", cell, cell, s))
			}
		}
		for i, h := range []string{"label", "value", "note"} {
			cell, _ := excelize.CoordinatesToCellName(i+1, 1)
			set(cell, h, 0)
		}
		aug1 := 45505.0 // 2024-08-01
		rows := []struct {
			label string
			value any
			style int
			note  string
		}{
			{"date", aug1, isoDate, "short date"},
			{"custom date", aug1, dmy, ""},
			{"date and time", aug1 + 0.3125, dateTime, ""},
			{"time", 0.3125, clock, ""},
			{"money", 1234.5, money, ""},
			{"percent", 0.25, percent, ""},
			{"zip", 2134, zip, ""},
			{"big", 123456789012, bold, ""},
			{"float", 0.1, 0, ""},
			{"bool", true, 0, ""},
			{"text in a date cell", "n/a", isoDate, ""},
			{"elapsed", 1.5, elapsed, ""},
			{"time.Time", time.Date(2023, 2, 28, 0, 0, 0, 0, time.UTC), 0, ""},
		}
		for i, r := range rows {
			n := strconv.Itoa(i + 2)
			set("A"+n, r.label, 0)
			set("B"+n, r.value, r.style)
			if r.note != "" {
				set("C"+n, r.note, 0)
			}
		}
		// A blank row, then a row with an empty value and a formula.
		set("A17", "empty", 0)
		set("C17", "", 0)
		set("B18", 2, 0) // the cached result
		must(t, f.SetCellFormula("Data", "B18", "1+1"))
		set("A18", "formula", 0)
		must(t, f.SetCellValue("Other", "A1", "x"))
	},
	// Ten numbered rows under a title row and a header on row 3, with
	// columns b, a.
	"numbered": func(t *testing.T, f *excelize.File) {
		sw, err := f.NewStreamWriter("Sheet1")
		must(t, err)
		must(t, sw.SetRow("A1", []any{"Enrollment by school"}))
		must(t, sw.SetRow("A3", []any{"b", "a"}))
		for i := 1; i <= 10; i++ {
			cell, _ := excelize.CoordinatesToCellName(1, i+3)
			must(t, sw.SetRow(cell, []any{"x" + strconv.Itoa(i), i}))
		}
		must(t, sw.Flush())
	},
	"duplicate": func(t *testing.T, f *excelize.File) {
		must(t, f.SetSheetRow("Sheet1", "A1", &[]any{"a", "b", "a"}))
	},
	"empty": func(t *testing.T, f *excelize.File) {},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func writeXLSX(t *testing.T, c readCase) string {
	switch c.file {
	case "garbage":
		return writeTemp(t, "garbage.xlsx", []byte("PK\x03\x04 this is not a workbook"))
	case "nothing":
		return writeTemp(t, "nothing.xlsx", nil)
	}
	f := excelize.NewFile()
	defer f.Close()
	xlsxBooks[c.file](t, f)
	p := filepath.Join(t.TempDir(), c.file+".xlsx")
	must(t, f.SaveAs(p))
	return p
}

func TestXLSX(t *testing.T) {
	cases := []readCase{
		{
			name: "values as typed, columns reordered, first sheet by default",
			file: "typed",
			opts: Options{Columns: []string{"value", "label", "note"}},
			want: [][]string{
				{"2024-08-01", "date", "short date"},
				{"2024-08-01", "custom date", null},
				{"2024-08-01T07:30:00", "date and time", null},
				{"07:30:00", "time", null},
				{"1234.5", "money", null},
				{"0.25", "percent", null},
				{"02134", "zip", null},
				{"123456789012", "big", null},
				{"0.1", "float", null},
				{"TRUE", "bool", null},
				{"n/a", "text in a date cell", null},
				{"36:00:00", "elapsed", null},
				{"2023-02-28", "time.Time", null},
				{null, "empty", null},
				{"2", "formula", null},
			},
		},
		{
			name: "sheet by name",
			file: "typed",
			opts: Options{Sheet: "Data", Columns: []string{"label"}, BatchRows: 14},
			want: [][]string{
				{"date"}, {"custom date"}, {"date and time"}, {"time"}, {"money"}, {"percent"},
				{"zip"}, {"big"}, {"float"}, {"bool"}, {"text in a date cell"}, {"elapsed"},
				{"time.Time"}, {"empty"}, {"formula"},
			},
			wantFirst: []int64{1, 15},
		},
		{
			name:      "header row 3, batches of 3 over 10 rows",
			file:      "numbered",
			opts:      Options{HeaderRow: 3, BatchRows: 3},
			want:      numbered(10),
			wantFirst: []int64{1, 4, 7, 10},
		},
		{
			name:    "missing column",
			file:    "numbered",
			opts:    Options{HeaderRow: 3, Columns: []string{"a", "c"}},
			wantIs:  ErrColumnNotFound,
			wantErr: []string{`column "c" not in header row 3 of sheet "Sheet1", which has "b", "a"`},
		},
		{
			name:    "header row past the end",
			file:    "numbered",
			opts:    Options{HeaderRow: 20},
			wantIs:  ErrColumnNotFound,
			wantErr: []string{"header row 20 not found: the sheet has 13 rows"},
		},
		{
			name:    "duplicate header",
			file:    "duplicate",
			wantIs:  ErrDuplicateColumn,
			wantErr: []string{`"a"`},
		},
		{
			name:    "unknown sheet",
			file:    "typed",
			opts:    Options{Sheet: "Nope"},
			wantIs:  ErrSheetNotFound,
			wantErr: []string{`"Nope"; the workbook has "Data", "Other"`},
		},
		{
			name:    "empty sheet",
			file:    "empty",
			wantIs:  ErrColumnNotFound,
			wantErr: []string{"header row 1 not found"},
		},
		{
			name:   "not a workbook",
			file:   "garbage",
			wantIs: ErrMalformed,
		},
		{
			name:   "zero bytes",
			file:   "nothing",
			wantIs: ErrEmpty,
		},
	}
	run(t, XLSX, cases, writeXLSX)
}

func TestFormatKind(t *testing.T) {
	cases := []struct {
		code string
		want int
	}{
		{"yyyy-mm-dd", fmtDate},
		{"d mmmm yyyy", fmtDate},
		{"mmm-yy", fmtDate},
		{`[$-409]mmmm d, yyyy;@`, fmtDate},
		{"m/d/yyyy h:mm AM/PM", fmtDateTime},
		{"h:mm:ss AM/PM", fmtTime},
		{"mm:ss.0", fmtTime},
		{"[h]:mm:ss", fmtKeep},
		{"[mm]:ss", fmtKeep},
		{"00000", fmtKeep},
		{"0", fmtPlain},
		{"#,##0.00", fmtPlain},
		{`"$"#,##0.00_);[Red]\("$"#,##0.00\)`, fmtPlain},
		{`0.00 "days"`, fmtPlain},
		{`0.00\h`, fmtPlain},
		{"0.00E+00", fmtPlain},
		{"General", fmtPlain},
		{"@", fmtPlain},
		{`[Red]0.0%`, fmtPlain},
	}
	for _, c := range cases {
		if got := formatKind(c.code); got != c.want {
			t.Errorf("formatKind(%q) = %d, want %d", c.code, got, c.want)
		}
	}
}
