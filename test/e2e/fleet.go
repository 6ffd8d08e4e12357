//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Fleet is the shape of a generated fleet of Backbone resources: per namespace one
// Initiative (config/samples/initiative.yaml), Sources DataSources shaped like the
// ncusd-kindergarten sample, each reading its own CSV file, and IndicatorsPerSource
// Indicators reading each source. The scale benchmark applies it.
type Fleet struct {
	// Prefix names the namespaces: <Prefix>-00, <Prefix>-01, ...
	Prefix     string
	Namespaces int
	// Sources is the number of DataSources per namespace (default 10).
	Sources int
	// IndicatorsPerSource is at most len(FleetIndicators) (default all five).
	IndicatorsPerSource int
	// SampleEvery keeps about one row in SampleEvery of the sample file in each source's CSV
	// (default 8: about 1,500 rows, 90 KB).
	SampleEvery int
}

// FleetInitiative is the name of every namespace's Initiative.
const FleetInitiative = "ready-by-five"

// FleetLabel marks every generated object (value: the fleet's prefix).
const FleetLabel = "scale.backbone.dev/fleet"

// FleetIndicators are the Indicators generated for each source, by name suffix: the
// sample Indicators over the kindergarten assessments, and two with other dimensions.
var FleetIndicators = []string{"assessed", "ready", "score", "ready-by-race", "assessed-by-income"}

func (f Fleet) withDefaults() Fleet {
	if f.Sources <= 0 {
		f.Sources = 10
	}
	if f.IndicatorsPerSource <= 0 || f.IndicatorsPerSource > len(FleetIndicators) {
		f.IndicatorsPerSource = len(FleetIndicators)
	}
	if f.SampleEvery <= 0 {
		f.SampleEvery = 8
	}
	return f
}

// NamespaceNames are the fleet's namespaces.
func (f Fleet) NamespaceNames() []string {
	out := make([]string, f.Namespaces)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", f.Prefix, i)
	}
	return out
}

// SourceNames are the DataSources of every namespace.
func (f Fleet) SourceNames() []string {
	f = f.withDefaults()
	out := make([]string, f.Sources)
	for i := range out {
		out[i] = fmt.Sprintf("kindergarten-%02d", i)
	}
	return out
}

// Objects is the number of Initiatives, DataSources and Indicators of the fleet.
func (f Fleet) Objects() (initiatives, sources, indicators int) {
	f = f.withDefaults()
	return f.Namespaces, f.Namespaces * f.Sources, f.Namespaces * f.Sources * f.IndicatorsPerSource
}

// Write generates the fleet into dir: data/<namespace>/<source>.csv (rows of the sample
// file samples/data/ncusd-kindergarten.csv, a different seeded selection per source) and
// manifests/<namespace>.yaml (the Initiative first, then the DataSources, then the
// Indicators; no namespace field, so apply them with -n). DataSources name their file
// relative to dir: run the manager with --file-root dir. The same arguments write the
// same bytes.
func (f Fleet) Write(dir, samples string) (manifests []string, err error) {
	f = f.withDefaults()
	if f.Prefix == "" || f.Namespaces <= 0 {
		return nil, fmt.Errorf("fleet: Prefix %q and Namespaces %d must be set", f.Prefix, f.Namespaces)
	}
	initiative, err := os.ReadFile(filepath.Join(samples, "initiative.yaml"))
	if err != nil {
		return nil, fmt.Errorf("fleet: the sample Initiative: %w", err)
	}
	header, rows, err := readLines(filepath.Join(samples, "data", "ncusd-kindergarten.csv"))
	if err != nil {
		return nil, fmt.Errorf("fleet: the sample data: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "manifests"), 0o755); err != nil {
		return nil, err
	}
	for ni, ns := range f.NamespaceNames() {
		if err := os.MkdirAll(filepath.Join(dir, "data", ns), 0o755); err != nil {
			return nil, err
		}
		var m bytes.Buffer
		m.Write(labelled(initiative, f.Prefix))
		for si, src := range f.SourceNames() {
			rel := filepath.Join("data", ns, src+".csv")
			if err := writeSample(filepath.Join(dir, rel), header, rows, uint64(ni), uint64(si), f.SampleEvery); err != nil {
				return nil, err
			}
			fmt.Fprintf(&m, "---\n"+fleetDataSource, src, f.Prefix, FleetInitiative, rel)
			for _, kind := range FleetIndicators[:f.IndicatorsPerSource] {
				fmt.Fprintf(&m, "---\n"+fleetIndicatorHead, src+"-"+kind, f.Prefix, FleetInitiative)
				fmt.Fprintf(&m, fleetIndicatorMeasure[kind], src)
			}
		}
		path := filepath.Join(dir, "manifests", ns+".yaml")
		if err := os.WriteFile(path, m.Bytes(), 0o644); err != nil {
			return nil, err
		}
		manifests = append(manifests, path)
	}
	return manifests, nil
}

// labelled adds the fleet label to the metadata of a one-object manifest.
func labelled(manifest []byte, prefix string) []byte {
	s := strings.Replace(string(manifest), "metadata:\n", "metadata:\n  labels: {"+FleetLabel+": "+prefix+"}\n", 1)
	return []byte(strings.TrimRight(s, "\n") + "\n")
}

func readLines(path string) (header string, rows []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if header == "" {
			header = sc.Text()
			continue
		}
		rows = append(rows, sc.Text())
	}
	return header, rows, sc.Err()
}

// writeSample writes the header and about one row in every of rows, chosen by a PCG
// seeded with the namespace and source numbers, in file order.
func writeSample(path, header string, rows []string, ns, src uint64, every int) error {
	r := rand.New(rand.NewPCG(ns+1, src+1))
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for _, row := range rows {
		if r.IntN(every) == 0 {
			b.WriteString(row + "\n")
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// fleetDataSource is the ncusd-kindergarten sample reading another file, with no schedule:
// only run-now requests start its Jobs.
const fleetDataSource = `apiVersion: impact.backbone.dev/v1alpha1
kind: DataSource
metadata:
  name: %s
  labels: {` + FleetLabel + `: %s}
spec:
  initiativeRef: {name: %s}
  partner: ncusd
  format: CSV
  csv: {delimiter: ",", header: true}
  location:
    file: {path: %s}
  schema:
    columns:
    - {name: student_id, type: String, required: true}
    - {name: assessed_on, type: Date, required: true}
    - {name: school_district, type: String, dimension: district}
    - {name: school, type: String}
    - name: race
      type: String
      dimension: race_ethnicity
      valueMap: {"1": American Indian or Alaska Native, "2": Asian, "3": Black, "4": Hispanic or Latino, "5": Pacific Islander, "6": White, "7": Multiracial, "9": Unknown}
    - {name: frl, type: String, dimension: income, valueMap: {"0": Not low income, "1": Low income, "2": Below poverty}}
    - {name: ready, type: Boolean, required: true}
    - {name: score, type: Number}
    missingValues: ["NA", "n/a"]
  timeZone: America/Los_Angeles
  maxRejectPercent: 5
`

const fleetIndicatorHead = `apiVersion: impact.backbone.dev/v1alpha1
kind: Indicator
metadata:
  name: %s
  labels: {` + FleetLabel + `: %s}
spec:
  initiativeRef: {name: %s}
`

// fleetIndicatorMeasure is the rest of each Indicator's spec; %[1]s is its source.
var fleetIndicatorMeasure = map[string]string{
	"assessed": `  displayName: Kindergarteners assessed
  unit: children
  polarity: HigherIsBetter
  measure:
    type: Count
    numerator: {sourceRef: {name: %[1]s}, aggregate: Count, timeColumn: assessed_on}
  time: {grain: Year, fiscalYearStartMonth: 8}
  disaggregateBy: [district]
`,
	"ready": `  displayName: Children ready for kindergarten
  unit: proportion
  polarity: HigherIsBetter
  measure:
    type: Proportion
    denominator: {sourceRef: {name: %[1]s}, aggregate: Count, timeColumn: assessed_on}
    numerator:
      sourceRef: {name: %[1]s}
      aggregate: Count
      timeColumn: assessed_on
      filters:
      - {column: ready, operator: In, values: ["true"]}
  time: {grain: Year, fiscalYearStartMonth: 8}
  disaggregateBy: [district]
  intersections:
  - {dimensions: [race_ethnicity, income]}
  target: {value: "0.80", by: "2030-08-01", baseline: {period: "2021-08-01", value: "0.59"}}
`,
	"score": `  displayName: Mean kindergarten readiness score
  unit: points
  polarity: HigherIsBetter
  measure:
    type: Mean
    numerator: {sourceRef: {name: %[1]s}, column: score, timeColumn: assessed_on}
  time: {grain: Year, fiscalYearStartMonth: 8}
  disaggregateBy: [district]
`,
	"ready-by-race": `  displayName: Children ready for kindergarten, by race and ethnicity
  unit: proportion
  polarity: HigherIsBetter
  measure:
    type: Proportion
    denominator: {sourceRef: {name: %[1]s}, aggregate: Count, timeColumn: assessed_on}
    numerator:
      sourceRef: {name: %[1]s}
      aggregate: Count
      timeColumn: assessed_on
      filters:
      - {column: ready, operator: In, values: ["true"]}
  time: {grain: Year, fiscalYearStartMonth: 8}
  disaggregateBy: [race_ethnicity]
`,
	"assessed-by-income": `  displayName: Kindergarteners assessed, by household income
  unit: children
  polarity: HigherIsBetter
  measure:
    type: Count
    numerator: {sourceRef: {name: %[1]s}, aggregate: Count, timeColumn: assessed_on}
  time: {grain: Year, fiscalYearStartMonth: 8}
  disaggregateBy: [income]
`,
}
