package read

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/xuri/excelize/v2"
)

// xlsxReader streams one worksheet with excelize's row iterator.
//
// A cell is read as the text that gives back what the user typed:
//   - text, and numbers formatted only with zero padding ("00000", so that a
//     code such as 02134 keeps its leading zero), as displayed;
//   - other numbers as their stored value, up to Excel's 15 significant
//     digits, without the display format: 1234.5 shown as "$1,234.50" or
//     "1,235" is read as 1234.5, and 0.25 shown as "25%" as 0.25;
//   - numbers formatted as dates as ISO 8601 text whatever the display
//     format: 2024-08-01 for a date, 2024-08-01T07:30:00 for a date and time,
//     07:30:00 for a time of day (elapsed times such as [h]:mm keep their
//     display format);
//   - booleans as TRUE or FALSE, errors as displayed (#N/A), formulas as their
//     last computed value.
//
// Rows whose cells are all empty are skipped and not counted; errors name the
// data row and the worksheet row.
type xlsxReader struct {
	f        *excelize.File
	rows     *excelize.Rows
	b        *stringBatch
	idx      []int
	sheet    string
	row      int64 // data rows read
	sheetRow int64 // worksheet rows read
	// sheetRows is the worksheet row of each row of the batch last returned.
	sheetRows []int64
	// cells: formulas without values, error values and merged ranges of the declared
	// columns, which excelize reads as empty or as bare text; problems are those of the
	// batch last returned.
	cells    *sheetCells
	problems []CellProblem
}

func (x *xlsxReader) sourceRows() []int64 { return x.sheetRows }

func (x *xlsxReader) cellProblems() []CellProblem { return x.problems }

func openXLSX(r io.ReaderAt, size int64, o *Options) (_ *xlsxReader, err error) {
	if err := checkXLSXCells(r, size); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{UnzipSizeLimit: maxUnzipped})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	x := &xlsxReader{f: f}
	defer func() {
		if p := recover(); p != nil {
			_ = x.close() // remove temporary files
			panic(p)
		}
		if err != nil {
			_ = x.close()
		}
	}()
	sheets := f.GetSheetList()
	x.sheet = o.Sheet
	if x.sheet == "" {
		if len(sheets) == 0 {
			return nil, fmt.Errorf("%w: the workbook has no worksheets", ErrSheetNotFound)
		}
		x.sheet = sheets[0]
	} else if idx, _ := f.GetSheetIndex(x.sheet); idx < 0 {
		return nil, fmt.Errorf("%w: %q; the workbook has %s", ErrSheetNotFound, x.sheet, listNames(sheets))
	}
	rewriteNumberFormats(f)
	x.rows, err = f.Rows(x.sheet)
	if err != nil {
		return nil, fmt.Errorf("sheet %q: %w", x.sheet, err)
	}
	var header []string
	for x.sheetRow < int64(o.HeaderRow) {
		if !x.rows.Next() {
			if err := x.rows.Error(); err != nil {
				return nil, fmt.Errorf("sheet %q: %w: %w", x.sheet, ErrMalformed, err)
			}
			// No header row, so none of the declared columns is found.
			return nil, fmt.Errorf("sheet %q: header row %d not found: the sheet has %d rows, so no declared column is there (%w)",
				x.sheet, o.HeaderRow, x.sheetRow, ErrColumnNotFound)
		}
		x.sheetRow++
		if x.sheetRow == int64(o.HeaderRow) {
			cells, err := x.rows.Columns()
			if err != nil {
				return nil, fmt.Errorf("sheet %q: header row %d: %w", x.sheet, o.HeaderRow, err)
			}
			header = make([]string, len(cells))
			for i, c := range cells {
				header[i] = strings.TrimSpace(c)
			}
		}
	}
	x.idx, err = match(o.Columns, header, fmt.Sprintf("header row %d of sheet %q", o.HeaderRow, x.sheet))
	if err != nil {
		return nil, err
	}
	cols := make(map[int]bool, len(x.idx))
	for _, i := range x.idx {
		cols[i+1] = true
	}
	if x.cells, err = scanSheetCells(r, size, x.sheet, cols); err != nil {
		return nil, fmt.Errorf("sheet %q: %w", x.sheet, err)
	}
	x.b = newStringBatch(o.Allocator, o.Columns, o.BatchRows)
	return x, nil
}

func (x *xlsxReader) schema() *arrow.Schema { return x.b.sc }

func (x *xlsxReader) next() (arrow.RecordBatch, error) {
	b := x.b
	b.begin()
	x.sheetRows = x.sheetRows[:0]
	x.problems = x.problems[:0]
	for x.rows.Next() {
		x.sheetRow++
		if x.sheetRow > maxSheetRows {
			b.discard()
			return nil, fmt.Errorf("sheet %q has more than %d rows, more than a spreadsheet holds", x.sheet, maxSheetRows)
		}
		cells, err := x.rows.Columns()
		if err != nil {
			b.discard()
			return nil, fmt.Errorf("row %d (sheet %q row %d): %w", x.row+1, x.sheet, x.sheetRow, err)
		}
		if blank(cells) && !x.cells.covers(int(x.sheetRow), x.idx) {
			continue
		}
		x.problems = x.cells.rowProblems(x.problems, int(x.sheetRow), b.n, x.idx, x.sheet)
		x.row++
		x.sheetRows = append(x.sheetRows, x.sheetRow)
		for j, i := range x.idx {
			if i < len(cells) {
				b.cols[j].appendString(b.n, cells[i])
			} else {
				b.cols[j].appendNull(b.n)
			}
		}
		if !b.endRow() {
			break
		}
	}
	if err := x.rows.Error(); err != nil {
		b.discard()
		return nil, fmt.Errorf("sheet %q row %d: %w", x.sheet, x.sheetRow+1, err)
	}
	if b.n == 0 {
		b.discard()
		return nil, io.EOF
	}
	return b.finish(), nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

func (x *xlsxReader) close() error {
	var errs []error
	if x.b != nil {
		x.b.discard()
	}
	if x.rows != nil {
		if err := x.rows.Close(); err != nil {
			errs = append(errs, err)
		}
		x.rows = nil
	}
	if x.f != nil {
		if err := x.f.Close(); err != nil {
			errs = append(errs, err)
		}
		x.f = nil
	}
	return errors.Join(errs...)
}

// maxUnzipped bounds the uncompressed size of a workbook's parts. Worksheets
// and the shared-string table over 16 MiB are unzipped to temporary files
// and streamed from there; other parts are held in memory.
const maxUnzipped = 4 << 30

// Number-format kinds, for rewriteNumberFormats.
const (
	fmtPlain    = iota // show the stored value
	fmtKeep            // show as formatted
	fmtDate            // ISO date
	fmtDateTime        // ISO date and time
	fmtTime            // ISO time of day
)

// noFormat is a number format ID that is neither built in nor defined, so
// excelize returns the stored value unformatted.
const noFormat = -1

// rewriteNumberFormats points every cell style of the workbook at the number
// format that gives back what the user typed (see xlsxReader): ISO 8601 for
// dates and times, the stored value for other numbers. The change is made to
// the workbook in memory, which is only read, never saved. A workbook whose
// styles excelize cannot extend keeps its display formats.
func rewriteNumberFormats(f *excelize.File) {
	defer func() { _ = recover() }()
	ss := f.Styles
	if ss == nil || ss.CellXfs == nil {
		return
	}
	custom := map[int]string{}
	if ss.NumFmts != nil {
		for _, nf := range ss.NumFmts.NumFmt {
			if nf == nil {
				continue
			}
			code := nf.FormatCode
			if nf.FormatCode16 != "" {
				code = nf.FormatCode16
			}
			custom[nf.NumFmtID] = code
		}
	}
	xfs := ss.CellXfs.Xf
	kinds := make([]int, len(xfs))
	for i, xf := range xfs {
		id := 0
		if xf.NumFmtID != nil {
			id = *xf.NumFmtID
		}
		if code, ok := custom[id]; ok {
			kinds[i] = formatKind(code)
		} else {
			kinds[i] = builtInFormatKind(id)
		}
	}
	// Create the ISO formats first: excelize looks for an existing equal
	// style, which must not see half-rewritten ones.
	ids := map[int]int{fmtPlain: noFormat}
	codes := map[int]string{
		fmtDate:     "yyyy-mm-dd",
		fmtDateTime: `yyyy-mm-dd"T"hh:mm:ss`,
		fmtTime:     "hh:mm:ss",
	}
	for _, k := range kinds {
		if _, ok := ids[k]; ok || k == fmtKeep {
			continue
		}
		code := codes[k]
		style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
		if err != nil || style < 0 || style >= len(ss.CellXfs.Xf) || ss.CellXfs.Xf[style].NumFmtID == nil {
			return
		}
		ids[k] = *ss.CellXfs.Xf[style].NumFmtID
	}
	for i, k := range kinds {
		if id, ok := ids[k]; ok {
			ss.CellXfs.Xf[i].NumFmtID = &id
		}
	}
}

// builtInFormatKind classifies the built-in number formats (ECMA-376 part 1,
// 18.8.30, with the en-US meaning of the locale-dependent IDs).
func builtInFormatKind(id int) int {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id == 36, id >= 50 && id <= 58:
		return fmtDate
	case id == 22:
		return fmtDateTime
	case id >= 18 && id <= 21, id >= 32 && id <= 35, id == 45, id == 47:
		return fmtTime
	case id == 46: // [h]:mm:ss
		return fmtKeep
	}
	return fmtPlain
}

// formatKind classifies a custom number format code by its first section.
func formatKind(code string) int {
	var y, d, h, s, m, elapsed bool
	section := strings.Builder{}
	lower := strings.ToLower(code)
	lower = strings.ReplaceAll(lower, "am/pm", "")
	lower = strings.ReplaceAll(lower, "a/p", "")
scan:
	for i := 0; i < len(lower); i++ {
		switch ch := lower[i]; ch {
		case ';':
			break scan
		case '"':
			for i++; i < len(lower) && lower[i] != '"'; i++ {
			}
		case '\\', '_', '*':
			i++ // escaped or padding character
		case '[':
			end := strings.IndexByte(lower[i:], ']')
			if end < 0 {
				break scan
			}
			inner := lower[i+1 : i+end]
			if inner != "" && strings.Trim(inner, string(inner[0])) == "" && strings.Contains("hms", inner[:1]) {
				elapsed = true
			}
			i += end
		default:
			section.WriteByte(ch)
			switch ch {
			case 'y':
				y = true
			case 'd':
				d = true
			case 'h':
				h = true
			case 's':
				s = true
			case 'm':
				m = true
			}
		}
	}
	switch {
	case elapsed:
		return fmtKeep
	case (y || d) && (h || s):
		return fmtDateTime
	case y || d || (m && !h && !s):
		return fmtDate
	case h || s:
		return fmtTime
	}
	if t := section.String(); len(t) > 1 && strings.Trim(t, "0") == "" {
		return fmtKeep // zero padding: 00000
	}
	return fmtPlain
}
