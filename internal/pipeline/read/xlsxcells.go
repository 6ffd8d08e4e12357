package read

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// CellProblem is a cell of a batch that holds no value the reader can give, although the
// file shows something there: the row is to be rejected with Reason rather than read as
// empty.
type CellProblem struct {
	// Row is the row's index in the batch.
	Row int
	// Column is the index of the declared column.
	Column int
	// Reason says what is wrong and what the partner can do about it.
	Reason string
}

// Problem kinds of a worksheet cell found by scanSheetCells.
const (
	cellFormulaNoValue = iota + 1 // a formula saved without its computed value
	cellError                     // a formula whose value is an error (#DIV/0!, #N/A…)
)

// sheetCells holds what excelize's row iterator does not tell: cells of the declared
// columns that hold a formula with no saved value or an error value, and the merged
// ranges that cover a declared column.
type sheetCells struct {
	// problems, sorted by key (row<<16 | column, both 1-based), with their kind.
	keys  []uint64
	kinds []uint8
	vals  []string // the error text of cellError cells, else ""
	// merges sorted by first row; active holds those covering the current row.
	merges []mergeRange
	next   int
	active []mergeRange
}

type mergeRange struct {
	ref            string
	r1, c1, r2, c2 int
}

// maxSheetProblems bounds the cells sheetCells records (16 bytes each, and the text of
// an error value), so that a sheet of formulas without values cannot exhaust memory;
// past it the sheet is refused.
const maxSheetProblems = 1 << 22

func cellKey(row, col int) uint64 { return uint64(row)<<16 | uint64(col) }

// scanSheetCells streams the worksheet part of sheet and records, for the 1-based
// columns in cols, the cells excelize would read as empty or as a bare error code
// although the spreadsheet application shows a formula result, and the merged ranges.
// It reads tags only, one buffer at a time.
func scanSheetCells(r io.ReaderAt, size int64, sheet string, cols map[int]bool) (*sheetCells, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil // excelize opened it; leave the reading to excelize
	}
	var part *zip.File
	for name, s := range sheetNames(zr) {
		if s != sheet {
			continue
		}
		for _, f := range zr.File {
			if strings.TrimPrefix(f.Name, "/") == name {
				part = f
			}
		}
	}
	if part == nil {
		return nil, nil
	}
	rc, err := part.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, part.Name, err)
	}
	defer rc.Close()
	sc := &sheetCells{}
	if err := sc.scan(bufio.NewReaderSize(rc, 64<<10), cols); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, part.Name, err)
	}
	order := make([]int, len(sc.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch ka, kb := sc.keys[a], sc.keys[b]; {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	keys, kinds, vals := make([]uint64, len(order)), make([]uint8, len(order)), make([]string, len(order))
	for i, o := range order {
		keys[i], kinds[i], vals[i] = sc.keys[o], sc.kinds[o], sc.vals[o]
	}
	sc.keys, sc.kinds, sc.vals = keys, kinds, vals
	slices.SortStableFunc(sc.merges, func(a, b mergeRange) int { return a.r1 - b.r1 })
	return sc, nil
}

func (sc *sheetCells) scan(br *bufio.Reader, cols map[int]bool) error {
	var (
		tag           []byte
		row, col      int
		inCell        bool
		isError       bool
		hasF, hasV    bool
		inV           bool
		vText         []byte
		sawValueBytes bool
	)
	endCell := func() error {
		if !inCell {
			return nil
		}
		inCell = false
		if !cols[col] {
			return nil
		}
		kind, val := 0, ""
		switch {
		case hasF && !hasV:
			kind = cellFormulaNoValue
		case isError && hasV:
			kind, val = cellError, string(vText)
		}
		if kind == 0 {
			return nil
		}
		if len(sc.keys) >= maxSheetProblems {
			return fmt.Errorf("more than %d cells hold a formula without a saved value or an error", maxSheetProblems)
		}
		sc.keys = append(sc.keys, cellKey(row, col))
		sc.kinds = append(sc.kinds, uint8(kind))
		sc.vals = append(sc.vals, val)
		return nil
	}
	for {
		chunk, err := br.ReadSlice('<')
		if inV {
			n := len(chunk)
			if err == nil {
				n--
			}
			if n > 0 {
				sawValueBytes = true
				if len(vText) < 64 {
					vText = append(vText, chunk[:min(n, 64-len(vText))]...)
				}
			}
		}
		if err == io.EOF {
			return endCell()
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return err
		}
		tag = tag[:0]
		for {
			part, err := br.ReadSlice('>')
			if len(tag) < 512 {
				tag = append(tag, part[:min(len(part), 512-len(tag))]...)
			}
			if err == nil {
				break
			}
			if err != bufio.ErrBufferFull {
				return err
			}
		}
		name, closing, selfClosing := tagName(tag)
		switch {
		case name == "row" && !closing:
			if r, ok := refNumber(attrValue(tag, "r")); ok {
				row = r
			} else {
				row++
			}
			col = 0
		case name == "c" && !closing:
			if err := endCell(); err != nil {
				return err
			}
			inCell, hasF, hasV, isError, inV = true, false, false, false, false
			vText, sawValueBytes = vText[:0], false
			if ref := attrValue(tag, "r"); ref != "" {
				if c, r, err := excelize.CellNameToCoordinates(ref); err == nil {
					col, row = c, r
				} else {
					col++
				}
			} else {
				col++
			}
			isError = attrValue(tag, "t") == "e"
			if selfClosing {
				if err := endCell(); err != nil {
					return err
				}
			}
		case name == "c" && closing:
			if inV {
				inV = false
			}
			if err := endCell(); err != nil {
				return err
			}
		case name == "f" && inCell && !closing:
			hasF = true
		case (name == "v" || name == "is") && inCell && !closing:
			if name == "is" {
				hasV = true
			} else if !selfClosing {
				inV, sawValueBytes = true, false
			}
		case name == "v" && closing && inV:
			inV = false
			hasV = hasV || sawValueBytes
		case name == "mergeCell" && !closing:
			if m, ok := parseMerge(attrValue(tag, "ref")); ok {
				covers := false
				for c := m.c1; c <= m.c2 && !covers; c++ {
					covers = cols[c]
				}
				if covers {
					sc.merges = append(sc.merges, m)
				}
			}
		}
	}
}

// tagName splits the bytes after '<' of a tag into its local name (without a namespace
// prefix), whether it closes an element (</x>) and whether it is empty (<x/>).
func tagName(tag []byte) (name string, closing, selfClosing bool) {
	t := bytes.TrimSuffix(tag, []byte(">"))
	selfClosing = bytes.HasSuffix(t, []byte("/"))
	if len(t) > 0 && t[0] == '/' {
		closing, t = true, t[1:]
	}
	end := bytes.IndexAny(t, " \t\r\n/")
	if end < 0 {
		end = len(t)
	}
	n := t[:end]
	if i := bytes.IndexByte(n, ':'); i >= 0 {
		n = n[i+1:]
	}
	return string(n), closing, selfClosing
}

// attrValue returns the value of attribute name in a tag's first bytes, or "".
func attrValue(tag []byte, name string) string {
	for _, sep := range []string{" ", "\t", "\n", "\r"} {
		for _, q := range []string{`"`, `'`} {
			key := []byte(sep + name + "=" + q)
			if i := bytes.Index(tag, key); i >= 0 {
				v := tag[i+len(key):]
				if j := bytes.IndexByte(v, q[0]); j >= 0 {
					return string(v[:j])
				}
			}
		}
	}
	return ""
}

func refNumber(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

func parseMerge(ref string) (mergeRange, bool) {
	a, b, ok := strings.Cut(ref, ":")
	if !ok {
		return mergeRange{}, false
	}
	c1, r1, err1 := excelize.CellNameToCoordinates(a)
	c2, r2, err2 := excelize.CellNameToCoordinates(b)
	if err1 != nil || err2 != nil {
		return mergeRange{}, false
	}
	if r1 > r2 {
		r1, r2 = r2, r1
	}
	if c1 > c2 {
		c1, c2 = c2, c1
	}
	return mergeRange{ref: ref, r1: r1, c1: c1, r2: r2, c2: c2}, true
}

// rowProblems returns the problems of worksheet row sheetRow (rows are asked for in
// increasing order) for the declared columns, where idx[j] is the 0-based worksheet
// column of declared column j, appending to out with batch row index bi.
func (sc *sheetCells) rowProblems(out []CellProblem, sheetRow, bi int, idx []int, sheet string) []CellProblem {
	if sc == nil {
		return out
	}
	// Merged ranges: activate those starting at or before this row, drop those ended.
	for sc.next < len(sc.merges) && sc.merges[sc.next].r1 <= sheetRow {
		sc.active = append(sc.active, sc.merges[sc.next])
		sc.next++
	}
	sc.active = slices.DeleteFunc(sc.active, func(m mergeRange) bool { return m.r2 < sheetRow })
	lo, _ := slices.BinarySearch(sc.keys, cellKey(sheetRow, 0))
	for j, i := range idx {
		col := i + 1
		cell, _ := excelize.CoordinatesToCellName(col, sheetRow)
		if k, found := slices.BinarySearch(sc.keys[lo:], cellKey(sheetRow, col)); found {
			k += lo
			var reason string
			if sc.kinds[k] == cellFormulaNoValue {
				reason = fmt.Sprintf("sheet %q cell %s holds a formula saved without its value "+
					"(the program that wrote the file did not calculate it): open and save the workbook in a spreadsheet application, or export values instead of formulas", sheet, cell)
			} else {
				reason = fmt.Sprintf("sheet %q cell %s shows the error %s, not a value: correct the formula or leave the cell empty", sheet, cell, sc.vals[k])
			}
			out = append(out, CellProblem{Row: bi, Column: j, Reason: reason})
			continue
		}
		for _, m := range sc.active {
			if col < m.c1 || col > m.c2 || (col == m.c1 && sheetRow == m.r1) {
				continue
			}
			top, _ := excelize.CoordinatesToCellName(m.c1, m.r1)
			out = append(out, CellProblem{Row: bi, Column: j, Reason: fmt.Sprintf(
				"sheet %q cell %s is covered by the merged cells %s, whose value is shown once, in %s: unmerge the cells and fill in the value of each row",
				sheet, cell, m.ref, top)})
			break
		}
	}
	return out
}

// covers says whether the sheet has anything recorded for the row (so that a row whose
// declared cells read as empty is not skipped as blank).
func (sc *sheetCells) covers(sheetRow int, idx []int) bool {
	if sc == nil {
		return false
	}
	lo, _ := slices.BinarySearch(sc.keys, cellKey(sheetRow, 0))
	if lo < len(sc.keys) && sc.keys[lo]>>16 == uint64(sheetRow) {
		for k := lo; k < len(sc.keys) && sc.keys[k]>>16 == uint64(sheetRow); k++ {
			for _, i := range idx {
				if sc.keys[k]&0xffff == uint64(i+1) {
					return true
				}
			}
		}
	}
	for _, m := range sc.merges {
		if m.r1 < sheetRow && sheetRow <= m.r2 {
			for _, i := range idx {
				if i+1 >= m.c1 && i+1 <= m.c2 {
					return true
				}
			}
		}
	}
	return false
}
