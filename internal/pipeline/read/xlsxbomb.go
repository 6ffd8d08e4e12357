package read

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// A cell holds at most 32,767 characters in Excel; as XML text (UTF-8, entities such as
// &amp; or &#x1F600;) that is at most about 330,000 bytes. maxCellBytes leaves room above
// that and bounds what excelize, which holds a whole string in memory (several times
// over while it is decoded), is ever given.
const maxCellBytes = 1 << 20

// maxSheetRows is the number of rows a worksheet holds (a variable for tests).
var maxSheetRows int64 = 1 << 20

// ErrCellTooLarge: a cell's text is longer than any spreadsheet cell (a decompression
// bomb, or not an export of a spreadsheet).
var ErrCellTooLarge = errors.New("cell too large")

// checkXLSXCells streams the shared-string table and the worksheets of a workbook and
// fails on the first string or cell whose text exceeds maxCellBytes, naming it, before
// excelize reads the workbook. Memory stays at one buffer whatever the parts' size. Parts
// smaller than the limit cannot hold such a cell and are not read. A file that is not a
// zip archive is left for excelize to report.
func checkXLSXCells(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil
	}
	if err := checkXLSXParts(zr); err != nil {
		return err
	}
	var sheets map[string]string // part path → sheet name, read when needed
	for _, f := range zr.File {
		name := strings.TrimPrefix(f.Name, "/")
		isSST := name == "xl/sharedStrings.xml"
		isSheet := strings.HasPrefix(name, "xl/worksheets/") && strings.HasSuffix(name, ".xml")
		if (!isSST && !isSheet) || f.UncompressedSize64 <= maxCellBytes {
			continue
		}
		elem := "c" // a worksheet's cells
		if isSST {
			elem = "si"
		}
		at, long, err := longestElement(f, elem)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
		}
		if long <= maxCellBytes {
			continue
		}
		if isSST {
			return fmt.Errorf("%w: shared string %s has more than %d bytes of text, more than a spreadsheet cell holds", ErrCellTooLarge, at, maxCellBytes)
		}
		if sheets == nil {
			sheets = sheetNames(zr)
		}
		sheet := sheets[name]
		if sheet == "" {
			sheet = name
		}
		return fmt.Errorf("%w: sheet %q cell %s has more than %d bytes of text, more than a spreadsheet cell holds", ErrCellTooLarge, sheet, at, maxCellBytes)
	}
	return nil
}

// excelize unzips worksheets and the shared-string table over excelizeXMLLimit to
// temporary files and holds every other part in memory, in a buffer allocated up front at
// the size the zip header declares. maxPartBytes bounds one such part that is not a
// worksheet or the shared-string table (styles, theme, workbook: kilobytes in a real
// export); maxHeldBytes bounds all the parts held in memory together.
const (
	excelizeXMLLimit = 16 << 20
	maxPartBytes     = 64 << 20
	maxHeldBytes     = 512 << 20
)

// checkXLSXParts fails on a workbook whose parts declare more uncompressed bytes than
// excelize should hold in memory: a header can claim gigabytes for a part of a few bytes,
// and excelize would allocate them before reading it.
func checkXLSXParts(zr *zip.Reader) error {
	var held uint64
	for _, f := range zr.File {
		name := strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))
		size := f.UncompressedSize64
		streamed := name == "xl/sharedstrings.xml" || strings.HasPrefix(name, "xl/worksheets/sheet")
		if streamed && size > excelizeXMLLimit {
			continue
		}
		if !streamed && size > maxPartBytes {
			return fmt.Errorf("%w: part %s declares %d bytes uncompressed, more than the %d a workbook part other than a worksheet holds",
				ErrMalformed, f.Name, size, maxPartBytes)
		}
		if held += size; held > maxHeldBytes {
			return fmt.Errorf("%w: the parts read into memory declare more than %d bytes uncompressed", ErrMalformed, maxHeldBytes)
		}
	}
	return nil
}

// longestElement scans an XML part for the elements named elem (si: shared strings,
// counted from 0; c: cells, named by their r attribute) and returns the first whose text
// exceeds maxCellBytes, or the longest text met.
func longestElement(f *zip.File, elem string) (at string, longest int, err error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	index := -1 // shared strings met
	text := 0   // text bytes of the current element
	var tag []byte
	for {
		// Text up to the next tag.
		chunk, err := br.ReadSlice('<')
		n := len(chunk)
		if err == nil {
			n-- // the '<'
		}
		text += n
		if text > maxCellBytes {
			return at, text, nil
		}
		longest = max(longest, text)
		if err == io.EOF {
			return at, longest, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return "", 0, err
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		// A tag: only its first bytes are kept, enough for a cell's reference.
		tag = tag[:0]
		for {
			part, err := br.ReadSlice('>')
			if len(tag) < 256 {
				tag = append(tag, part[:min(len(part), 256-len(tag))]...)
			}
			if err == nil {
				break
			}
			if err != bufio.ErrBufferFull {
				return "", 0, err
			}
		}
		if !isStart(tag, elem) {
			continue
		}
		text = 0
		if elem == "si" {
			index++
			at = fmt.Sprint(index)
		} else {
			at = attr(tag, "r")
		}
	}
}

// isStart says tag (the bytes after '<') opens an element named name.
func isStart(tag []byte, name string) bool {
	if !bytes.HasPrefix(tag, []byte(name)) || len(tag) == len(name) {
		return false
	}
	switch tag[len(name)] {
	case ' ', '>', '/', '\t', '\r', '\n':
		return true
	}
	return false
}

// attr returns the value of attribute name in a tag's first bytes.
func attr(tag []byte, name string) string {
	i := bytes.Index(tag, []byte(" "+name+`="`))
	if i < 0 {
		return "?"
	}
	v := tag[i+len(name)+3:]
	if j := bytes.IndexByte(v, '"'); j >= 0 {
		return string(v[:j])
	}
	return "?"
}

// sheetNames maps worksheet parts to their sheet names, from the workbook and its
// relationships (small parts; larger ones are not read).
func sheetNames(zr *zip.Reader) map[string]string {
	read := func(name string, v any) bool {
		for _, f := range zr.File {
			if strings.TrimPrefix(f.Name, "/") != name || f.UncompressedSize64 > 16<<20 {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return false
			}
			defer rc.Close()
			return xml.NewDecoder(rc).Decode(v) == nil
		}
		return false
	}
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	out := map[string]string{}
	if !read("xl/workbook.xml", &wb) || !read("xl/_rels/workbook.xml.rels", &rels) {
		return out
	}
	targets := map[string]string{}
	for _, r := range rels.Rels {
		t := r.Target
		if strings.HasPrefix(t, "/") {
			t = strings.TrimPrefix(t, "/")
		} else {
			t = path.Join("xl", t)
		}
		targets[r.ID] = t
	}
	for _, s := range wb.Sheets {
		if t, ok := targets[s.ID]; ok {
			out[t] = s.Name
		}
	}
	return out
}
