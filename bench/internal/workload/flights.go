package workload

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// The flights shape: a table shaped like a public on-time flights table. A timestamp
// written without an offset (2001-01-01 00:01:00), two integers (delay, distance), two
// strings of 229 codes each (origin, the dimension, and destination, which nothing reads),
// six months, group sizes skewed as airports' are, several row groups. DuckDB writes both
// inputs (FlightsGenerateSQL): a Parquet file, as another tool hands one over, and a CSV
// file of the same rows.
const (
	FlightsInitiative = "on-time-flights"
	FlightsSource     = "flights"

	FlColDate        = "date"
	FlColDelay       = "delay"
	FlColDistance    = "distance"
	FlColOrigin      = "origin"
	FlColDestination = "destination"

	DimOrigin = "origin"

	// OnTimeMinutes: a flight is on time when its delay is at most this.
	OnTimeMinutes = 15

	FlIndCount      = "flights"
	FlIndMean       = "mean_delay"
	FlIndProportion = "on_time_share"
)

// Airports is the number of origin codes: A000 … A228.
const Airports = 229

// Origins are the origin dimension's groups.
func Origins() []string {
	out := make([]string, Airports)
	for i := range out {
		out[i] = fmt.Sprintf("A%03d", i)
	}
	return out
}

// FlightsAsOf makes every period of the flights complete.
var FlightsAsOf = time.Date(2001, 12, 31, 0, 0, 0, 0, time.UTC)

// FlightsPaths are the cached CSV and Parquet files of rows rows.
func FlightsPaths(cache string, rows int64) (csv, parquet string) {
	base := filepath.Join(cache, "data", fmt.Sprintf("flights-%d-rows", rows))
	return base + ".csv", base + ".parquet"
}

// FlightsSelectSQL is the rows: deterministic functions of the row number i.
//
//   - date: seconds spread over 180 days from 2001-01-01 (six months), no offset;
//   - delay: -20 … 179 minutes, null for one row in 50 (cancelled flights);
//   - origin: a shifted Pareto law folded onto 229 codes: the largest airport has ≈ 13 %
//     of the flights, the smallest ≈ 0.01 %, so some months of small airports fall under
//     the cell floor;
//   - destination: uniform over 229 codes.
func FlightsSelectSQL(rows int64) string {
	return fmt.Sprintf(`SELECT TIMESTAMP '2001-01-01' + to_seconds((i*7919) %% 15552000) AS %[2]s,
       CASE WHEN i %% 50 = 7 THEN NULL ELSE ((i*31) %% 200 - 20)::BIGINT END AS %[3]s,
       ((i*17) %% 2000)::BIGINT AS %[4]s,
       'A' || lpad((CAST(floor(10 * pow(1 - (hash(i) %% 1000003) / 1000003.0, -1 / 1.5)) - 10 AS BIGINT) %% %[7]d)::VARCHAR, 3, '0') AS %[5]s,
       'D' || lpad((hash(i*3) %% %[7]d)::VARCHAR, 3, '0') AS %[6]s
FROM range(%[1]d) t(i)`, rows, FlColDate, FlColDelay, FlColDistance, FlColOrigin, FlColDestination, Airports)
}

// FlightsDimensions is the vocabulary.
func FlightsDimensions() []spec.Dimension {
	return []spec.Dimension{{Name: DimOrigin, Values: Origins(), Unknown: Unknown}}
}

// FlightsIngestPlan is Backbone's plan for ingesting the flights file at path, CSV or
// Parquet.
func FlightsIngestPlan(path string) *spec.Ingest {
	format := "CSV"
	if strings.HasSuffix(path, ".parquet") {
		format = "Parquet"
	}
	return &spec.Ingest{
		Namespace: Namespace, Initiative: FlightsInitiative, Source: FlightsSource, Partner: "airline-data",
		Format: format, Header: true, Path: path, TimeZone: "America/Los_Angeles",
		Dimensions: FlightsDimensions(),
		Columns: []spec.Column{
			{Name: FlColDate, Type: spec.TypeTimestamp, Required: true},
			{Name: FlColDelay, Type: spec.TypeInteger},
			{Name: FlColDistance, Type: spec.TypeInteger},
			{Name: FlColOrigin, Type: spec.TypeString, Dimension: DimOrigin},
			{Name: FlColDestination, Type: spec.TypeString},
		},
		MaxRejectPercent: 5,
	}
}

// FlightsAggregatePlan is Backbone's plan: the number of flights, the mean delay and the
// share on time (delay ≤ 15 minutes, over every flight), by origin, per month, with cell
// floor MinCellSize.
func FlightsAggregatePlan() *spec.Aggregate {
	dims := []string{DimOrigin}
	all := spec.Operand{Source: FlightsSource, Aggregate: spec.Count, TimeColumn: FlColDate}
	onTime := all
	onTime.Filters = []spec.Filter{{Column: FlColDelay, Operator: spec.OpLt, Values: []string{fmt.Sprint(OnTimeMinutes + 1)}}}
	ind := func(name, measure string, polarity string, num spec.Operand, den *spec.Operand) spec.Indicator {
		return spec.Indicator{
			Name: name, Polarity: polarity, Measure: measure,
			Numerator: num, Denominator: den, Grain: spec.GrainMonth, FiscalYearStartMonth: 1,
			Dimensions: dims, MinCellSize: MinCellSize, SpecHash: "sha256:" + name,
		}
	}
	return &spec.Aggregate{
		Namespace: Namespace, Initiative: FlightsInitiative, TimeZone: "America/Los_Angeles",
		Dimensions: FlightsDimensions(),
		Indicators: []spec.Indicator{
			ind(FlIndCount, spec.Count, spec.HigherIsBetter, all, nil),
			ind(FlIndMean, spec.Mean, spec.LowerIsBetter, spec.Operand{Source: FlightsSource, Column: FlColDelay, TimeColumn: FlColDate}, nil),
			ind(FlIndProportion, spec.Proportion, spec.HigherIsBetter, onTime, &all),
		},
	}
}
