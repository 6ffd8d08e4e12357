// Package spec holds the plain, JSON-serialisable plans the pipeline executes: what one
// ingestion reads and how it validates and maps rows (Ingest), and what one aggregation
// computes for all indicators of an initiative (Aggregate). internal/plan compiles them from
// the API objects; a Job pod reads them from a file. The package imports nothing of
// Kubernetes.
package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Column types, as the API spells them.
const (
	TypeString    = "String"
	TypeInteger   = "Integer"
	TypeNumber    = "Number"
	TypeBoolean   = "Boolean"
	TypeDate      = "Date"
	TypeTimestamp = "Timestamp"
)

// Measure types, aggregates, grains, operators and value kinds, as the API spells them.
const (
	Count         = "Count"
	Sum           = "Sum"
	Mean          = "Mean"
	Proportion    = "Proportion"
	Ratio         = "Ratio"
	Rate          = "Rate"
	DistinctCount = "DistinctCount"

	GrainDay     = "Day"
	GrainWeek    = "Week"
	GrainMonth   = "Month"
	GrainQuarter = "Quarter"
	GrainYear    = "Year"

	OpIn           = "In"
	OpNotIn        = "NotIn"
	OpExists       = "Exists"
	OpDoesNotExist = "DoesNotExist"
	OpGt           = "Gt"
	OpLt           = "Lt"

	RowTotal = "RowTotal"
	PerUnit  = "PerUnit"

	AlignExact           = "Exact"
	AlignLatestAvailable = "LatestAvailable"

	HigherIsBetter = "HigherIsBetter"
	LowerIsBetter  = "LowerIsBetter"
)

// Dimension is a vocabulary dimension. Group i has code i; the unknown group has code
// len(Values).
type Dimension struct {
	Name    string   `json:"name"`
	Values  []string `json:"values"`
	Unknown string   `json:"unknown"`
	Ordered bool     `json:"ordered,omitempty"`
}

// Groups returns the dimension's groups in code order, the unknown group last.
func (d Dimension) Groups() []string {
	return append(append([]string(nil), d.Values...), d.Unknown)
}

// UnknownCode is the code of the unknown group.
func (d Dimension) UnknownCode() int { return len(d.Values) }

// Filter keeps (or, in ExcludeRows, drops) rows whose column matches.
type Filter struct {
	Column   string   `json:"column"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Column is a declared column of a source.
type Column struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Required  bool              `json:"required,omitempty"`
	Dimension string            `json:"dimension,omitempty"`
	ValueMap  map[string]string `json:"valueMap,omitempty"`
	Format    string            `json:"format,omitempty"`
	ValueKind string            `json:"valueKind,omitempty"`
	// Earliest and Latest bound a Date or Timestamp column's plausible days (YYYY-MM-DD,
	// inclusive); empty means DefaultEarliest and DefaultLatest.
	Earliest string `json:"earliest,omitempty"`
	Latest   string `json:"latest,omitempty"`
}

// The plausible range of a Date or Timestamp column that declares none: wide enough for
// birth dates and long projections, narrow enough to catch sentinels (9999-12-31,
// 0001-01-01, 1900-01-00 spreadsheet zeros are before it) and typos in the year.
const (
	DefaultEarliest = "1900-01-01"
	DefaultLatest   = "2100-12-31"
)

// PlausibleDays returns the column's plausible range as day numbers (days since
// 1970-01-01), defaults applied.
func (c Column) PlausibleDays() (lo, hi int32, err error) {
	day := func(field, s, def string) (int32, error) {
		if s == "" {
			s = def
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, fmt.Errorf("column %q: %s %q is not a date (YYYY-MM-DD)", c.Name, field, s)
		}
		return int32(t.Unix() / 86400), nil
	}
	if lo, err = day("earliest", c.Earliest, DefaultEarliest); err != nil {
		return 0, 0, err
	}
	hi, err = day("latest", c.Latest, DefaultLatest)
	return lo, hi, err
}

// Ingest is the plan of one ingestion: one DataSource into one snapshot.
type Ingest struct {
	Namespace  string `json:"namespace"`
	Initiative string `json:"initiative"`
	Source     string `json:"source"`
	Partner    string `json:"partner"`

	Format    string `json:"format"`
	Delimiter string `json:"delimiter,omitempty"`
	Header    bool   `json:"header"`
	Sheet     string `json:"sheet,omitempty"`
	HeaderRow int    `json:"headerRow,omitempty"`
	// Path of the input file (file locations; other locations are fetched to a file first).
	Path string `json:"path"`
	// Fetch says where the input is when it is not a local file: the fetch step
	// (internal/fetch, outside the engine) brings it to a local file before ingestion.
	Fetch *Fetch `json:"fetch,omitempty"`

	// TimeZone is the Initiative's: day numbers of dates and timestamps are in this zone.
	TimeZone string `json:"timeZone"`
	// Dimensions are the vocabulary dimensions the columns map onto.
	Dimensions      []Dimension `json:"dimensions"`
	Columns         []Column    `json:"columns"`
	FrequencyColumn string      `json:"frequencyColumn,omitempty"`
	MissingValues   []string    `json:"missingValues,omitempty"`
	ExcludeRows     []Filter    `json:"excludeRows,omitempty"`
	// MaxRejectPercent above which the snapshot is not promoted.
	MaxRejectPercent int `json:"maxRejectPercent"`
	// MaxShrinkPercent is the largest drop in accepted rows, against the source's promoted
	// snapshot, with which a snapshot is still promoted; a snapshot without accepted rows
	// is promoted only with 100. Nil means DefaultMaxShrinkPercent.
	MaxShrinkPercent *int `json:"maxShrinkPercent,omitempty"`
	// Retention is the number of the source's promoted snapshots kept in the store, newest
	// first, after a promoted ingestion; the promoted snapshot and the one the Initiative's
	// latest result reads are kept besides (run.PruneSnapshots). 0 keeps every snapshot.
	Retention int `json:"retention,omitempty"`
}

// Fetch kinds: the location kinds that are fetched before ingestion.
const (
	FetchHTTP        = "HTTP"
	FetchObjectStore = "ObjectStore"
	FetchConfigMap   = "ConfigMap"
	FetchPostgres    = "Postgres"
)

// Fetch is where a source's input is and how it is reached. Secrets and ConfigMaps are
// files: in a pod they are mounted as volumes, and the plan carries their paths, so the
// ingestion needs no access to the Kubernetes API.
type Fetch struct {
	// Kind is HTTP, ObjectStore, ConfigMap or Postgres.
	Kind string `json:"kind"`
	// URL of an HTTP or ObjectStore location.
	URL string `json:"url,omitempty"`
	// HeadersDir is the folder of a mounted Secret whose files are request headers
	// (HTTP): each file's name is a header, its content the value; the files username and
	// password give basic authentication.
	HeadersDir string `json:"headersDir,omitempty"`
	// Endpoint, Region and PathStyle address an S3-compatible server (ObjectStore).
	Endpoint  string `json:"endpoint,omitempty"`
	Region    string `json:"region,omitempty"`
	PathStyle bool   `json:"pathStyle,omitempty"`
	// CredentialsDir is the folder of a mounted Secret with the object store's credentials;
	// empty means the platform's workload identity (ambient credentials).
	CredentialsDir string `json:"credentialsDir,omitempty"`
	// File is the mounted ConfigMap key (ConfigMap).
	File string `json:"file,omitempty"`
	// DSNFile is the mounted Secret key holding the connection string, and Query the
	// SELECT statement whose rows are ingested (Postgres).
	DSNFile string `json:"dsnFile,omitempty"`
	Query   string `json:"query,omitempty"`
	// AllowedNetworks are CIDRs reachable even though they are loopback, link-local or a
	// cloud metadata address, which are refused otherwise (HTTP, ObjectStore endpoints).
	AllowedNetworks []string `json:"allowedNetworks,omitempty"`
	// MaxBytes is the largest input fetched; 0 means the default of internal/fetch.
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// DefaultMaxShrinkPercent is the shrink guard of a plan that sets none: a snapshot with
// fewer than half the accepted rows of the promoted one is not promoted.
const DefaultMaxShrinkPercent = 50

// ShrinkLimit returns MaxShrinkPercent or its default.
func (p *Ingest) ShrinkLimit() int {
	if p.MaxShrinkPercent == nil {
		return DefaultMaxShrinkPercent
	}
	return *p.MaxShrinkPercent
}

// Dimension returns the named vocabulary dimension.
func (p *Ingest) Dimension(name string) (Dimension, bool) {
	for _, d := range p.Dimensions {
		if d.Name == name {
			return d, true
		}
	}
	return Dimension{}, false
}

// Operand is one source aggregated one way after filters.
type Operand struct {
	Source     string   `json:"source"`
	Aggregate  string   `json:"aggregate,omitempty"`
	Column     string   `json:"column,omitempty"`
	TimeColumn string   `json:"timeColumn"`
	Filters    []Filter `json:"filters,omitempty"`
	Alignment  string   `json:"alignment,omitempty"`
}

// Target is an indicator's target.
type Target struct {
	Value          float64  `json:"value"`
	By             string   `json:"by,omitempty"`
	BaselinePeriod string   `json:"baselinePeriod,omitempty"`
	BaselineValue  *float64 `json:"baselineValue,omitempty"`
}

// Indicator is one indicator, with its effective dimensions and cell floor.
type Indicator struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName,omitempty"`
	Unit        string   `json:"unit,omitempty"`
	Polarity    string   `json:"polarity"`
	Measure     string   `json:"measure"`
	Numerator   Operand  `json:"numerator"`
	Denominator *Operand `json:"denominator,omitempty"`
	Per         float64  `json:"per,omitempty"`

	Grain                string `json:"grain"`
	FiscalYearStartMonth int    `json:"fiscalYearStartMonth"`

	// Dimensions: the Initiative's defaults plus the indicator's own, minus excluded ones.
	Dimensions    []string   `json:"dimensions"`
	Intersections [][]string `json:"intersections,omitempty"`
	MinCellSize   int        `json:"minCellSize"`
	Target        *Target    `json:"target,omitempty"`
	// SpecHash identifies the indicator's spec (provenance of results).
	SpecHash string `json:"specHash"`
}

// Input pins the snapshot of one source that an aggregation reads.
type Input struct {
	Source string `json:"source"`
	// Snapshot is the snapshot's id, sha256:<hex of its Parquet file>.
	Snapshot string `json:"snapshot"`
}

// Aggregate is the plan of one aggregation: every indicator of one initiative, over pinned
// snapshots of its sources. Its Hash names the result it computes.
type Aggregate struct {
	Namespace  string `json:"namespace"`
	Initiative string `json:"initiative"`
	TimeZone   string `json:"timeZone"`
	// AsOf is the calendar date (YYYY-MM-DD, in TimeZone) that decides which periods are
	// complete. Empty until the run fills in today's date.
	AsOf string `json:"asOf,omitempty"`
	// Inputs pin the snapshot of every source the indicators read, sorted by source. An
	// aggregation reads exactly these, never whichever snapshot is the latest.
	Inputs     []Input     `json:"inputs,omitempty"`
	Dimensions []Dimension `json:"dimensions"`
	// ReferenceGroups maps a dimension to its fixed reference group.
	ReferenceGroups map[string]string `json:"referenceGroups,omitempty"`
	Indicators      []Indicator       `json:"indicators"`
}

// Dimension returns the named vocabulary dimension.
func (p *Aggregate) Dimension(name string) (Dimension, bool) {
	for _, d := range p.Dimensions {
		if d.Name == name {
			return d, true
		}
	}
	return Dimension{}, false
}

// Sources returns the names of the sources the indicators read, sorted.
func (p *Aggregate) Sources() []string {
	var out []string
	for _, ind := range p.Indicators {
		ops := []Operand{ind.Numerator}
		if ind.Denominator != nil {
			ops = append(ops, *ind.Denominator)
		}
		for _, op := range ops {
			if !slices.Contains(out, op.Source) {
				out = append(out, op.Source)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Snapshot returns the snapshot id the plan pins for a source.
func (p *Aggregate) Snapshot(source string) (string, bool) {
	for _, in := range p.Inputs {
		if in.Source == source {
			return in.Snapshot, in.Snapshot != ""
		}
	}
	return "", false
}

// Unpinned returns the sources the indicators read that the plan pins no snapshot of.
func (p *Aggregate) Unpinned() []string {
	var out []string
	for _, s := range p.Sources() {
		if _, ok := p.Snapshot(s); !ok {
			out = append(out, s)
		}
	}
	return out
}

// Hash is the content hash of the plan as computed by an engine version: sha256 of the
// plan's JSON (struct fields in declaration order, map keys sorted, so the same plan always
// gives the same bytes) after the engine version. It covers the pinned inputs, the as-of
// date, the vocabulary and every indicator with its spec hash: whatever changes a number
// changes the hash.
func (p *Aggregate) Hash(engine string) (string, error) {
	b, err := json.Marshal(struct {
		Engine string     `json:"engine"`
		Plan   *Aggregate `json:"plan"`
	}{engine, p})
	if err != nil {
		return "", fmt.Errorf("hashing the aggregation plan: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
