package report

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

// number matches a number as the page writes one: an optional minus, digits with
// thousands commas, decimals, an optional percent sign.
var number = regexp.MustCompile(`[−-]?\d[\d,]*(?:\.\d+)?%?`)

// Tokens returns the numbers in s, each without its sign, a percent sign kept.
func Tokens(s string) []string {
	var out []string
	for _, t := range number.FindAllString(s, -1) {
		t = strings.TrimPrefix(strings.TrimPrefix(t, "−"), "-")
		out = append(out, strings.TrimSuffix(t, ","))
	}
	return out
}

// AllowedNumbers is every number the page of in may show, as the page formats it: the
// result's values, intervals, changes, targets, progress, ratios, differences and counts
// of withheld groups; its periods and dates; and numbers written by people in the
// objects (names, descriptions, units) and in the messages (the rules' thresholds).
func AllowedNumbers(in *Input) map[string]bool {
	m := &English
	ok := map[string]bool{}
	add := func(ss ...string) {
		for _, s := range ss {
			for _, t := range Tokens(s) {
				ok[t] = true
			}
		}
	}
	// Messages: every string field and the flag texts.
	mv := reflect.ValueOf(*m)
	for i := 0; i < mv.NumField(); i++ {
		if f := mv.Field(i); f.Kind() == reflect.String {
			add(f.String())
		}
	}
	for _, s := range m.FlagText {
		add(s)
	}
	// What people wrote.
	ini := in.Initiative
	add(ini.Spec.DisplayName, ini.Spec.Agenda, ini.Spec.Backbone)
	for _, p := range ini.Spec.Partners {
		add(p.DisplayName, p.Name)
	}
	for _, d := range ini.Spec.Vocabulary {
		add(d.DisplayName)
		for _, v := range d.Values {
			add(string(v))
		}
	}
	for _, ind := range in.Indicators {
		add(ind.Spec.DisplayName, ind.Spec.Description, ind.Spec.Unit)
	}
	for _, ds := range in.DataSources {
		add(ds.Name)
	}
	add(dateLabel(m, in.Manifest.AsOf), dateLabel(m, in.Manifest.Created.UTC().Format("2006-01-02")))
	// The result.
	p := in.Manifest.Plan
	for i := range p.Indicators {
		ind := &p.Indicators[i]
		f := fmtFor(ind, m)
		if ind.Target != nil && ind.Target.By != "" {
			add(dateLabel(m, ind.Target.By))
		}
		for _, c := range in.Result.Cells {
			if c.Indicator != ind.Name {
				continue
			}
			add(periodLabel(m, c.Period, ind.Grain, ind.FiscalYearStartMonth))
			for _, v := range []*float64{c.Value, c.CILower, c.CIUpper} {
				if v != nil {
					add(f.value(*v))
				}
			}
		}
		for _, ir := range in.Result.Indicators {
			if ir.Name != ind.Name {
				continue
			}
			add(strconv.Itoa(ir.MinCellSize))
			if h := ir.Headline; h != nil {
				for _, v := range []*float64{h.Value, h.CILower, h.CIUpper, h.Target} {
					if v != nil {
						add(f.value(*v))
					}
				}
				if h.Change != nil {
					add(f.amount(*h.Change))
				}
				for _, v := range []*float64{h.ChangeLower, h.ChangeUpper} {
					if v != nil {
						add(f.signed(*v))
					}
				}
				if h.Progress != nil {
					add(percentInt(*h.Progress))
				}
			}
			for _, eq := range ir.Equity {
				add(strconv.Itoa(eq.SuppressedGroups))
				for _, r := range eq.Ratios {
					add(ratio(r))
				}
				for _, d := range eq.Differences {
					add(f.amount(d))
				}
				if eq.UnknownShare != nil {
					add(percentInt(*eq.UnknownShare))
				}
			}
		}
	}
	return ok
}

// Disclosing is every string that would disclose a suppressed cell: its value,
// numerator, denominator and n as the page formats them (page), and as the CSV writes
// them (csv). c is the cell as computed without suppression.
func Disclosing(in *Input, c aggregate.Cell) (page, csv []string) {
	for i := range in.Manifest.Plan.Indicators {
		ind := &in.Manifest.Plan.Indicators[i]
		if ind.Name != c.Indicator {
			continue
		}
		f := fmtFor(ind, &English)
		if c.Value != nil {
			page = append(page, Tokens(f.value(*c.Value))...)
			csv = append(csv, fnum(c.Value))
		}
		for _, v := range []*float64{c.Numerator, c.Denominator} {
			if v != nil {
				page = append(page, plain(*v, true), plain(*v, false))
				csv = append(csv, fnum(v))
			}
		}
		if c.N != nil {
			page = append(page, plain(float64(*c.N), true))
			csv = append(csv, strconv.FormatInt(*c.N, 10))
		}
	}
	return page, csv
}

// CSVNumbers is every number field the CSV of in writes for published cells.
func CSVNumbers(in *Input) map[string]bool {
	ok := map[string]bool{}
	for _, c := range in.Result.Cells {
		if c.Suppressed {
			continue
		}
		for _, v := range []*float64{c.Value, c.CILower, c.CIUpper, c.Numerator, c.Denominator} {
			if v != nil {
				ok[fnum(v)] = true
			}
		}
		if c.N != nil {
			ok[strconv.FormatInt(*c.N, 10)] = true
		}
	}
	return ok
}

// CellKey exposes cellKey.
func CellKey(period string, dims map[string]string) string { return cellKey(period, dims) }
