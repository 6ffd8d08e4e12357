package local

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backbone-dev/backbone/internal/store"
)

const samples = "../../config/samples"

func runSamples(t *testing.T) *Output {
	t.Helper()
	out, _ := runSamplesInto(t, "")
	return out
}

// runSamplesInto runs the shipped example as of 2026-11-23 into a fresh mem:// store,
// writing the compiled plans to planDir when it is set, and returns the store too.
func runSamplesInto(t *testing.T, planDir string) (*Output, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := Load(ctx, samples, "default")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(ctx, m, Options{Store: st, AsOf: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), PlanDir: planDir})
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

// TestSamples runs the shipped example end to end and checks what users rely on.
func TestSamples(t *testing.T) {
	out := runSamples(t)
	if len(out.Results) != 1 {
		t.Fatalf("want one Initiative's result, got %d", len(out.Results))
	}
	// The ledger holds for every snapshot, and the deliberately bad rows were rejected.
	rejected := int64(0)
	for _, s := range out.Snapshots {
		if s.RowsIn != s.RowsOK+s.RowsRejected+s.RowsExcluded {
			t.Errorf("%s: ledger broken: in %d, ok %d, rejected %d, excluded %d", s.Source, s.RowsIn, s.RowsOK, s.RowsRejected, s.RowsExcluded)
		}
		if !s.Promoted {
			t.Errorf("%s: not promoted: %s", s.Source, s.Reason)
		}
		rejected += s.RowsRejected
	}
	if rejected == 0 {
		t.Error("the samples carry bad rows; none were rejected")
	}
	res := out.Results[0]
	k := map[string]int{}
	measures := map[string]bool{}
	for _, ir := range res.Indicators {
		k[ir.Name] = ir.MinCellSize
		measures[ir.Name] = true
	}
	if len(measures) < 6 {
		t.Fatalf("want at least 6 indicators, got %d", len(measures))
	}
	suppressed := 0
	for _, c := range res.Cells {
		if c.Suppressed {
			suppressed++
			if c.Value != nil || c.N != nil || c.Numerator != nil || c.Denominator != nil || c.CILower != nil || c.CIUpper != nil {
				t.Errorf("suppressed cell publishes a number: %+v", c)
			}
			continue
		}
		if c.N != nil && *c.N > 0 && *c.N < int64(k[c.Indicator]) {
			t.Errorf("published cell with 0 < n < k: %s %s %v n=%d", c.Indicator, c.Period, c.Dimensions, *c.N)
		}
	}
	if suppressed == 0 {
		t.Error("the samples have small groups; nothing was suppressed")
	}
}

func TestPrintFormats(t *testing.T) {
	out := runSamples(t)
	var b bytes.Buffer
	if err := Print(&b, FormatJSON, out.Results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(out.Results[0].Cells) {
		t.Fatalf("%d JSON lines for %d cells", len(lines), len(out.Results[0].Cells))
	}
	var cell map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &cell); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"namespace", "initiative", "indicator", "period", "dimensions", "value", "numerator", "denominator", "n", "suppressed", "ciLower", "ciUpper", "reliable", "partial", "note", "flags"} {
		if _, ok := cell[key]; !ok {
			t.Errorf("JSON cell lacks %q: %s", key, lines[0])
		}
	}
	if len(cell) != 16 {
		t.Errorf("JSON cell has %d keys, the output contract has 16: %s", len(cell), lines[0])
	}

	b.Reset()
	if err := Print(&b, FormatCSV, out.Results); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "\n"); got < len(out.Results[0].Cells)+1 {
		t.Errorf("CSV has %d lines for %d cells", got, len(out.Results[0].Cells))
	}
	// Every output says why a cell is unreliable.
	if header, _, _ := strings.Cut(b.String(), "\n"); !strings.HasSuffix(header, ",note,flags") {
		t.Errorf("CSV header %q lacks the flags column", header)
	}
	if !strings.Contains(b.String(), ",events<20\n") || !strings.Contains(b.String(), ",cp-width\n") {
		t.Error("CSV has no cell flagged events<20 and no cell flagged cp-width; the samples have both")
	}

	b.Reset()
	if err := Print(&b, FormatTable, out.Results); err != nil {
		t.Fatal(err)
	}
	table := b.String()
	for _, want := range []string{"indicator kindergarten-readiness", "—", "— suppressed:", "headline", "equity race_ethnicity", "events<20", "cp-width"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if err := Print(&b, "yaml", out.Results); err == nil {
		t.Error("unknown format accepted")
	}
}

// copySamples copies the example into a temporary folder a test may break.
func copySamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(samples)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func edit(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(file, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Errors name the file, the object and the field.
func TestErrorsNameFileObjectField(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		file, old string
		new       string
		want      []string
	}{
		{"schema rule", "indicator-kindergarten-readiness.yaml", "polarity: HigherIsBetter", "polarity: Up",
			[]string{"indicator-kindergarten-readiness.yaml", "Indicator default/kindergarten-readiness", "spec.polarity", `Unsupported value: "Up"`}},
		{"cross-object: unknown column", "indicator-kindergarten-readiness.yaml", "column: ready,", "column: readyy,",
			[]string{"indicator-kindergarten-readiness.yaml", "Indicator kindergarten-readiness", "spec.measure.numerator.filters[0].column", `column "readyy" is not in DataSource`}},
		{"cross-object: unknown partner", "datasource-ncusd-kindergarten.yaml", "partner: ncusd", "partner: ncsud",
			[]string{"datasource-ncusd-kindergarten.yaml", "DataSource ncusd-kindergarten", "spec.partner", `"ncsud" is not a partner`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copySamples(t)
			edit(t, filepath.Join(dir, tc.file), tc.old, tc.new)
			st, _ := store.Open(ctx, "mem://")
			defer st.Close()
			m, err := Load(ctx, dir, "default")
			if err == nil {
				_, err = Run(ctx, m, Options{Store: st})
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
