package report

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

//go:embed templates/page.html templates/index.html templates/style.css
var files embed.FS

// Renderer renders pages in one language.
type Renderer struct {
	m     *Messages
	page  *template.Template
	index *template.Template
}

// New returns a renderer of pages in the language of m (English when nil).
func New(m *Messages) (*Renderer, error) {
	if m == nil {
		m = &English
	}
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"css":  func() template.CSS { return template.CSS(css) }, //nolint:gosec // our own stylesheet
		"join": func(s []string) string { return strings.Join(s, ", ") },
	}
	r := &Renderer{m: m}
	if r.page, err = template.New("page.html").Funcs(funcs).ParseFS(files, "templates/page.html"); err != nil {
		return nil, fmt.Errorf("report: parsing the page template: %w", err)
	}
	if r.index, err = template.New("index.html").Funcs(funcs).ParseFS(files, "templates/index.html"); err != nil {
		return nil, fmt.Errorf("report: parsing the index template: %w", err)
	}
	return r, nil
}

// Page renders one Initiative's page. static says the page is a file of a static site
// (links name .html files) rather than served by Handler.
func (r *Renderer) Page(in *Input, static bool) ([]byte, error) {
	v, err := build(r.m, in, static)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := r.page.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("report: rendering %s/%s: %w", in.Namespace(), in.Name(), err)
	}
	return b.Bytes(), nil
}

type indexView struct {
	M     *Messages
	Pages []indexEntry
}

type indexEntry struct{ Href, Title, Agenda, AsOf string }

// Index renders the list of pages, in namespace and name order.
func (r *Renderer) Index(ins []*Input, static bool) ([]byte, error) {
	v := indexView{M: r.m}
	for _, in := range sorted(ins) {
		href := "initiatives/" + in.Namespace() + "/" + in.Name()
		if static {
			href += ".html"
		}
		e := indexEntry{Href: href, Title: in.Name(), AsOf: dateLabel(r.m, in.Manifest.AsOf)}
		if in.Initiative != nil {
			e.Title, e.Agenda = orName(in.Initiative.Spec.DisplayName, in.Name()), in.Initiative.Spec.Agenda
		}
		v.Pages = append(v.Pages, e)
	}
	var b bytes.Buffer
	if err := r.index.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("report: rendering the index: %w", err)
	}
	return b.Bytes(), nil
}

func sorted(ins []*Input) []*Input {
	out := append([]*Input(nil), ins...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace() != out[j].Namespace() {
			return out[i].Namespace() < out[j].Namespace()
		}
		return out[i].Name() < out[j].Name()
	})
	return out
}

// CSVHeader is the header of the download.
var CSVHeader = []string{"namespace", "initiative", "indicator", "period", "groups", "value", "ci_lower", "ci_upper", "numerator", "denominator", "n", "reliable", "flags", "partial", "suppressed", "note"}

// CSV writes every cell of a result: a suppressed cell with its value columns empty and
// the reason it is withheld in its note, never a number about it.
func (r *Renderer) CSV(in *Input) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(CSVHeader)
	k := map[string]int{}
	for _, ir := range in.Result.Indicators {
		k[ir.Name] = ir.MinCellSize
	}
	for i := range in.Result.Cells {
		c := &in.Result.Cells[i]
		row := []string{c.Namespace, c.Initiative, c.Indicator, c.Period, groupsOf(c), "", "", "", "", "", "", "", "", strconv.FormatBool(c.Partial), strconv.FormatBool(c.Suppressed), ""}
		if c.Suppressed {
			row[15] = fmt.Sprintf(r.m.SuppressedReason, k[c.Indicator])
		} else {
			row[5], row[6], row[7], row[8], row[9] = fnum(c.Value), fnum(c.CILower), fnum(c.CIUpper), fnum(c.Numerator), fnum(c.Denominator)
			if c.N != nil {
				row[10] = strconv.FormatInt(*c.N, 10)
			}
			if c.Value != nil {
				row[11] = strconv.FormatBool(c.Reliable)
				row[12] = strings.Join(c.Flags, ";")
			}
			row[15] = c.Note
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// groupsOf writes a cell's groups: "" for the total, "race_ethnicity=Black;income=Low income".
func groupsOf(c *aggregate.Cell) string {
	k := cellKey("", c.Dimensions)
	return strings.ReplaceAll(strings.TrimPrefix(k, "|"), ",", ";")
}

func fnum(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// WriteSite writes a static site into dir: index.html, and per Initiative
// initiatives/<namespace>/<name>.html (charts inline) and <name>.csv.
func (r *Renderer) WriteSite(dir string, ins []*Input) error {
	idx, err := r.Index(ins, true)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), idx, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, in := range ins {
		page, err := r.Page(in, true)
		if err != nil {
			return err
		}
		data, err := r.CSV(in)
		if err != nil {
			return fmt.Errorf("report: the CSV of %s/%s: %w", in.Namespace(), in.Name(), err)
		}
		sub := filepath.Join(dir, "initiatives", in.Namespace())
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := os.WriteFile(filepath.Join(sub, in.Name()+".html"), page, 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := os.WriteFile(filepath.Join(sub, in.Name()+".csv"), data, 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}
