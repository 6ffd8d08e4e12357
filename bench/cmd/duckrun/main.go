// Command duckrun runs one DuckDB step for the benchmark (database/sql with duckdb-go, an
// in-memory database) and prints a workload.Report as JSON on standard output.
//
//	duckrun ingest    -csv FILE -out FILE.parquet -threads N
//	duckrun aggregate -parquet FILE.parquet -threads N [-cells cells.json]
//
// ingest times one COPY of the CSV, its columns and types declared, into a Parquet file,
// with the month of each row computed as a column and nulls of the two dimensions mapped
// to the unknown group (what Backbone's ingest does: the period and the groups are then
// precomputed for both engines). aggregate times one query over that file with GROUPING
// SETS equal to Backbone's cells, including reading every result row. Creating the
// database instance and SET threads happen before the clock starts and are reported as
// startupNs.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/backbone-dev/backbone/bench/internal/workload"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: duckrun ingest|aggregate ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("duckrun "+os.Args[1], flag.ExitOnError)
	csvFile := fs.String("csv", "", "input CSV (ingest)")
	out := fs.String("out", "", "output Parquet (ingest)")
	pq := fs.String("parquet", "", "input Parquet (aggregate)")
	threads := fs.Int("threads", 1, "DuckDB threads (SET threads)")
	cells := fs.String("cells", "", "write the cells here as JSON (aggregate)")
	_ = fs.Parse(os.Args[2:])

	rep, err := run(os.Args[1], *csvFile, *out, *pq, *cells, *threads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckrun:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, "duckrun:", err)
		os.Exit(1)
	}
}

// quote makes a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// IngestSQL is the COPY of the CSV into Parquet.
func IngestSQL(csvFile, out string) string {
	return fmt.Sprintf(`COPY (
  SELECT %[1]s, %[2]s,
         CAST(date_trunc('month', %[2]s) AS DATE) AS month,
         coalesce(%[3]s, %[8]s) AS %[3]s,
         coalesce(%[4]s, %[9]s) AS %[4]s,
         %[5]s, %[6]s
  FROM read_csv(%[7]s, header = true, auto_detect = false, delim = ',', quote = '"',
       columns = {'%[1]s': 'VARCHAR', '%[2]s': 'DATE', '%[3]s': 'UTINYINT', '%[4]s': 'VARCHAR', '%[5]s': 'DOUBLE', '%[6]s': 'BOOLEAN'})
) TO %[10]s (FORMAT parquet, COMPRESSION snappy)`,
		workload.ColID, workload.ColDate, workload.ColRace, workload.ColDistrict, workload.ColScore, workload.ColReady,
		quote(csvFile), workload.RaceUnknownCode, quote(workload.Unknown), quote(out))
}

// AggregateSQL is the query whose groups are Backbone's cells: the total, each race and
// each district, per month.
func AggregateSQL(pq string) string {
	return fmt.Sprintf(`SELECT CAST(month AS VARCHAR) AS month, %[1]s, %[2]s,
       count(*) AS n, count(%[3]s) AS n_score, avg(%[3]s) AS mean_score,
       CAST(sum(%[4]s::INTEGER) AS BIGINT) AS n_ready, sum(%[4]s::INTEGER) / count(*) AS share
FROM read_parquet(%[5]s)
GROUP BY GROUPING SETS ((month), (month, %[1]s), (month, %[2]s))`,
		workload.ColRace, workload.ColDistrict, workload.ColScore, workload.ColReady, quote(pq))
}

func run(step, csvFile, out, pq, cellsFile string, threads int) (*workload.Report, error) {
	ctx := context.Background()
	t0 := time.Now()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// One connection: SET applies to the connection the statement runs on.
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET threads = %d", threads)); err != nil {
		return nil, err
	}
	startup := time.Since(t0)
	rep := &workload.Report{Engine: "duckdb", Op: step, Threads: threads, StartupNS: startup.Nanoseconds()}
	switch step {
	case "ingest":
		if csvFile == "" || out == "" {
			return nil, fmt.Errorf("ingest needs -csv and -out")
		}
		start, cpu := time.Now(), workload.CPUTime()
		res, err := conn.ExecContext(ctx, IngestSQL(csvFile, out))
		if err != nil {
			return nil, err
		}
		rep.ElapsedNS, rep.CPUNS = time.Since(start).Nanoseconds(), (workload.CPUTime() - cpu).Nanoseconds()
		rep.Rows, _ = res.RowsAffected()
		rep.Measure()
		if st, err := os.Stat(out); err == nil {
			rep.Bytes = map[string]int64{"parquet": st.Size()}
		}
	case "aggregate":
		if pq == "" {
			return nil, fmt.Errorf("aggregate needs -parquet")
		}
		start, cpu := time.Now(), workload.CPUTime()
		cells, err := query(ctx, conn, AggregateSQL(pq))
		if err != nil {
			return nil, err
		}
		rep.ElapsedNS, rep.CPUNS = time.Since(start).Nanoseconds(), (workload.CPUTime() - cpu).Nanoseconds()
		rep.Measure()
		rep.Cells = len(cells)
		for _, c := range cells {
			if c.Race == nil && c.District == nil {
				rep.Rows += c.N
			}
		}
		if cellsFile != "" {
			b, err := json.Marshal(cells)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(cellsFile, b, 0o644); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown step %q", step)
	}
	return rep, nil
}

func query(ctx context.Context, conn *sql.Conn, q string) ([]workload.DuckCell, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []workload.DuckCell
	for rows.Next() {
		var c workload.DuckCell
		var race sql.NullInt64
		var district sql.NullString
		var mean sql.NullFloat64
		var nReady sql.NullInt64
		var share sql.NullFloat64
		if err := rows.Scan(&c.Month, &race, &district, &c.N, &c.NScore, &mean, &nReady, &share); err != nil {
			return nil, err
		}
		if race.Valid {
			r := int(race.Int64)
			c.Race = &r
		}
		if district.Valid {
			c.District = &district.String
		}
		if mean.Valid {
			c.Mean = &mean.Float64
		}
		c.NReady, c.Share = nReady.Int64, share.Float64
		out = append(out, c)
	}
	return out, rows.Err()
}
