package local

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/backbone-dev/backbone/internal/pipeline/aggregate"
)

// Formats of Print.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// Print writes the cells of results in a format.
func Print(w io.Writer, format string, results []*aggregate.Result) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		for _, r := range results {
			for _, c := range r.Cells {
				if err := enc.Encode(c); err != nil {
					return err
				}
			}
		}
		return nil
	case FormatCSV:
		return printCSV(w, results)
	case FormatTable:
		return printTable(w, results)
	}
	return fmt.Errorf("--output: unknown format %q (want table, json or csv)", format)
}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func printCSV(w io.Writer, results []*aggregate.Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"namespace", "initiative", "indicator", "period", "dimensions", "value", "numerator", "denominator", "n", "suppressed", "ciLower", "ciUpper", "reliable", "partial", "note", "flags"})
	for _, r := range results {
		for _, c := range r.Cells {
			dims, _ := json.Marshal(c.Dimensions)
			n := ""
			if c.N != nil {
				n = strconv.FormatInt(*c.N, 10)
			}
			_ = cw.Write([]string{c.Namespace, c.Initiative, c.Indicator, c.Period, string(dims), num(c.Value), num(c.Numerator), num(c.Denominator), n,
				strconv.FormatBool(c.Suppressed), num(c.CILower), num(c.CIUpper), strconv.FormatBool(c.Reliable), strconv.FormatBool(c.Partial), c.Note, strings.Join(c.Flags, ";")})
		}
	}
	cw.Flush()
	return cw.Error()
}

// group describes a cell's groups: "total", or "race_ethnicity=Asian, income=Low income".
func group(dims map[string]string) string {
	if len(dims) == 0 {
		return "total"
	}
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + dims[k]
	}
	return strings.Join(parts, ", ")
}

// fmtValue formats a value with a precision fit for people.
func fmtValue(v float64) string {
	switch a := abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func printTable(w io.Writer, results []*aggregate.Result) error {
	anySuppressed, anyUnreliable, anyPartial := false, false, false
	for _, r := range results {
		if len(r.WithheldRowCounts) > 0 {
			fmt.Fprintf(w, "row counts withheld (they would disclose a suppressed cell): %s\n", strings.Join(r.WithheldRowCounts, ", "))
		}
		byInd := map[string][]aggregate.Cell{}
		var order []string
		for _, c := range r.Cells {
			if _, ok := byInd[c.Indicator]; !ok {
				order = append(order, c.Indicator)
			}
			byInd[c.Indicator] = append(byInd[c.Indicator], c)
		}
		info := map[string]aggregate.IndicatorResult{}
		for _, ir := range r.Indicators {
			info[ir.Name] = ir
		}
		for _, name := range order {
			cells := byInd[name]
			ir := info[name]
			loss := ""
			if ir.SuppressedAtLeastK > 0 {
				loss = fmt.Sprintf(", of them n ≥ k %d (%.1f%% of cells)", ir.SuppressedAtLeastK, 100*float64(ir.SuppressedAtLeastK)/float64(max(ir.Cells, 1)))
			}
			fmt.Fprintf(w, "%s/%s  indicator %s  (cells %d, suppressed %d%s, k=%d)\n", cells[0].Namespace, cells[0].Initiative, name, ir.Cells, ir.SuppressedCells, loss, ir.MinCellSize)
			if h := ir.Headline; h != nil {
				line := "  headline " + h.Period + ": "
				if h.Value != nil {
					line += fmtValue(*h.Value)
					if !h.Reliable {
						line += " * (" + strings.Join(h.Flags, ", ") + ")"
						anyUnreliable = true
					}
					if h.CILower != nil && h.CIUpper != nil {
						line += " (" + fmtValue(*h.CILower) + "–" + fmtValue(*h.CIUpper) + ")"
					}
					if h.Change != nil {
						line += "  change " + fmtValue(*h.Change)
						if h.ChangeLower != nil && h.ChangeUpper != nil {
							line += " (" + fmtValue(*h.ChangeLower) + "–" + fmtValue(*h.ChangeUpper) + ")"
						}
						line += " since " + h.PreviousPeriod
					}
				} else {
					line += "— (" + h.Note + ")"
				}
				if h.Target != nil {
					line += "  target " + fmtValue(*h.Target)
				}
				if h.Gap != nil {
					line += "  gap " + fmtValue(*h.Gap)
				}
				if h.Progress != nil {
					line += fmt.Sprintf("  progress %.0f%%", 100**h.Progress)
				}
				if ir.OnTrack != nil {
					line += "  on track: " + strconv.FormatBool(ir.OnTrack.OnTrack) + " (" + ir.OnTrack.Method + ")"
				}
				fmt.Fprintln(w, line)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  PERIOD\tGROUP\tVALUE\t95% CI\tN\tNOTE")
			for _, c := range cells {
				if c.N != nil && *c.N == 0 && c.Value == nil && !c.Suppressed {
					continue // an empty group with no value: nothing to read (JSON and CSV keep it)
				}
				period := c.Period
				if c.Partial {
					period += " (partial)"
					anyPartial = true
				}
				val, ci, n, note := "", "", "", ""
				switch {
				case c.Suppressed:
					val = "—"
					anySuppressed = true
				case c.Value == nil:
					val, note = "n/a", c.Note
				default:
					val = fmtValue(*c.Value)
					if !c.Reliable {
						val += " *"
						note = strings.Join(c.Flags, ", ")
						anyUnreliable = true
					}
				}
				if c.CILower != nil && c.CIUpper != nil {
					ci = fmtValue(*c.CILower) + "–" + fmtValue(*c.CIUpper)
				}
				if c.N != nil {
					n = strconv.FormatInt(*c.N, 10)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", period, group(c.Dimensions), val, ci, n, note)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, eq := range ir.Equity {
				if ir.Headline == nil || eq.Period != ir.Headline.Period {
					continue
				}
				line := fmt.Sprintf("  equity %s (%s): reference %s", eq.Dimension, eq.Coverage, eq.Reference)
				if eq.Best != "" {
					line += ", best " + eq.Best
				}
				if eq.Worst != "" {
					line += ", worst " + eq.Worst
				}
				if eq.IndexOfDisparity != nil {
					line += fmt.Sprintf(", index of disparity %.1f", *eq.IndexOfDisparity)
				}
				if eq.UnknownShare != nil {
					line += fmt.Sprintf(", unknown %.1f%%", 100**eq.UnknownShare)
				}
				fmt.Fprintln(w, line)
			}
			fmt.Fprintln(w)
		}
	}
	if anySuppressed {
		fmt.Fprintln(w, "— suppressed: fewer than k people, or a cell that would let a suppressed one be recomputed")
	}
	if anyUnreliable {
		fmt.Fprintln(w, "* unreliable, and why (NCHS and CDC WONDER standards): n<30 fewer than 30 units, events<20 fewer than 20 events,")
		fmt.Fprintln(w, "  cp-width a Clopper–Pearson interval 0.30 wide or more, cp-relative-width wider than 0.05 and 130% of the value, rse RSE 30% or more")
	}
	if anyPartial {
		fmt.Fprintln(w, "(partial) the period is not complete yet; it is left out of change and on-track judgements")
	}
	return nil
}
