// Command duckrun runs one DuckDB step for the benchmark (database/sql with duckdb-go, an
// in-memory database) and prints a workload.Report as JSON on standard output.
//
//	duckrun ingest    -shape S -csv FILE | -in FILE.parquet -out FILE.parquet -threads N
//	duckrun aggregate -shape S -parquet FILE.parquet -threads N [-cells cells.json]
//	duckrun generate  -shape flights -rows N -csv FILE -parquet FILE
//
// ingest times one COPY of the CSV (its columns and types declared) or of a Parquet file
// into a Parquet file, with the month of each row computed as a column and nulls of the
// dimensions mapped to the unknown group (what Backbone's ingest does: the period and the
// groups are then precomputed for both engines). aggregate times one query over that file
// with GROUPING SETS equal to Backbone's cells, including reading every result row.
// Creating the database instance and SET threads happen before the clock starts and are
// reported as startupNs. generate writes the flights shape's inputs (not timed).
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
		fmt.Fprintln(os.Stderr, "usage: duckrun ingest|aggregate|generate ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("duckrun "+os.Args[1], flag.ExitOnError)
	var a args
	shape := fs.String("shape", "readiness", "data set: readiness or flights")
	fs.StringVar(&a.csv, "csv", "", "input CSV (ingest; output of generate)")
	fs.StringVar(&a.in, "in", "", "input Parquet (ingest)")
	fs.StringVar(&a.out, "out", "", "output Parquet (ingest)")
	fs.StringVar(&a.parquet, "parquet", "", "input Parquet (aggregate; output of generate)")
	fs.IntVar(&a.threads, "threads", 1, "DuckDB threads (SET threads)")
	fs.StringVar(&a.cells, "cells", "", "write the cells here as JSON (aggregate)")
	fs.Int64Var(&a.rows, "rows", 0, "rows to generate (generate)")
	_ = fs.Parse(os.Args[2:])
	var err error
	if a.shape, err = workload.ShapeNamed(*shape); err != nil {
		fmt.Fprintln(os.Stderr, "duckrun:", err)
		os.Exit(2)
	}
	rep, err := run(os.Args[1], a)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckrun:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, "duckrun:", err)
		os.Exit(1)
	}
}

type args struct {
	shape                        workload.Shape
	csv, in, out, parquet, cells string
	threads                      int
	rows                         int64
}

// quote makes a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// IngestSQL is the COPY of the input (CSV, or Parquet when in is set) into Parquet.
func IngestSQL(a args) string {
	if a.shape.Name == "flights" {
		from := fmt.Sprintf(`read_csv(%s, header = true, auto_detect = false, delim = ',', quote = '"',
       columns = {'%s': 'TIMESTAMP', '%s': 'BIGINT', '%s': 'BIGINT', '%s': 'VARCHAR', '%s': 'VARCHAR'})`,
			quote(a.csv), workload.FlColDate, workload.FlColDelay, workload.FlColDistance, workload.FlColOrigin, workload.FlColDestination)
		if a.in != "" {
			from = fmt.Sprintf("read_parquet(%s)", quote(a.in))
		}
		return fmt.Sprintf(`COPY (
  SELECT %[1]s, CAST(date_trunc('month', %[1]s) AS DATE) AS month, %[2]s, %[3]s,
         coalesce(%[4]s, %[6]s) AS %[4]s, %[5]s
  FROM %[7]s
) TO %[8]s (FORMAT parquet, COMPRESSION snappy)`,
			workload.FlColDate, workload.FlColDelay, workload.FlColDistance, workload.FlColOrigin, workload.FlColDestination,
			quote(workload.Unknown), from, quote(a.out))
	}
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
		quote(a.csv), workload.RaceUnknownCode, quote(workload.Unknown), quote(a.out))
}

// AggregateSQL is the query whose groups are Backbone's cells: the total and each group
// of each dimension, per month. Its columns: month, the group columns as text, then n,
// n_value, mean, n_num, share.
func AggregateSQL(sh workload.Shape, pq string) string {
	value, num := workload.ColScore, workload.ColReady+"::INTEGER"
	if sh.Name == "flights" {
		value, num = workload.FlColDelay, fmt.Sprintf("(%s <= %d)::INTEGER", workload.FlColDelay, workload.OnTimeMinutes)
	}
	var cols, sets []string
	for _, g := range sh.Groups {
		cols = append(cols, fmt.Sprintf("CAST(%s AS VARCHAR)", g.Column))
		sets = append(sets, "(month, "+g.Column+")")
	}
	return fmt.Sprintf(`SELECT CAST(month AS VARCHAR) AS month, %[1]s,
       count(*) AS n, count(%[2]s) AS n_value, avg(%[2]s) AS mean,
       CAST(sum(%[3]s) AS BIGINT) AS n_num, sum(%[3]s) / count(*) AS share
FROM read_parquet(%[4]s)
GROUP BY GROUPING SETS ((month), %[5]s)`,
		strings.Join(cols, ", "), value, num, quote(pq), strings.Join(sets, ", "))
}

func run(step string, a args) (*workload.Report, error) {
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
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET threads = %d", a.threads)); err != nil {
		return nil, err
	}
	startup := time.Since(t0)
	rep := &workload.Report{Engine: "duckdb", Op: step, Threads: a.threads, StartupNS: startup.Nanoseconds()}
	switch step {
	case "generate":
		if a.shape.Name != "flights" || a.rows < 1 || a.csv == "" || a.parquet == "" {
			return nil, fmt.Errorf("generate needs -shape flights, -rows, -csv and -parquet")
		}
		// The Parquet file as DuckDB writes it by default (several row groups, dictionary
		// strings), and the CSV of its rows.
		sel := workload.FlightsSelectSQL(a.rows)
		for _, q := range []string{
			fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", sel, quote(a.parquet)),
			fmt.Sprintf("COPY (SELECT * FROM read_parquet(%s)) TO %s (FORMAT csv, HEADER true)", quote(a.parquet), quote(a.csv)),
		} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("generating: %w", err)
			}
		}
		rep.Rows = a.rows
	case "ingest":
		if (a.csv == "") == (a.in == "") || a.out == "" || a.in != "" && a.shape.Name != "flights" {
			return nil, fmt.Errorf("ingest needs -out and one of -csv or -in (-in with -shape flights)")
		}
		start, cpu := time.Now(), workload.CPUTime()
		res, err := conn.ExecContext(ctx, IngestSQL(a))
		if err != nil {
			return nil, err
		}
		rep.ElapsedNS, rep.CPUNS = time.Since(start).Nanoseconds(), (workload.CPUTime() - cpu).Nanoseconds()
		rep.Rows, _ = res.RowsAffected()
		rep.Measure()
		if st, err := os.Stat(a.out); err == nil {
			rep.Bytes = map[string]int64{"parquet": st.Size()}
		}
	case "aggregate":
		if a.parquet == "" {
			return nil, fmt.Errorf("aggregate needs -parquet")
		}
		start, cpu := time.Now(), workload.CPUTime()
		cells, err := query(ctx, conn, a.shape, AggregateSQL(a.shape, a.parquet))
		if err != nil {
			return nil, err
		}
		rep.ElapsedNS, rep.CPUNS = time.Since(start).Nanoseconds(), (workload.CPUTime() - cpu).Nanoseconds()
		rep.Measure()
		rep.Cells = len(cells)
		for _, c := range cells {
			if c.Group == "" {
				rep.Rows += c.N
			}
		}
		if a.cells != "" {
			b, err := json.Marshal(cells)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(a.cells, b, 0o644); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown step %q", step)
	}
	return rep, nil
}

func query(ctx context.Context, conn *sql.Conn, sh workload.Shape, q string) ([]workload.DuckCell, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []workload.DuckCell
	groups := make([]sql.NullString, len(sh.Groups))
	for rows.Next() {
		var c workload.DuckCell
		var mean sql.NullFloat64
		var nNum sql.NullInt64
		var share sql.NullFloat64
		dest := []any{&c.Month}
		for i := range groups {
			dest = append(dest, &groups[i])
		}
		dest = append(dest, &c.N, &c.NValue, &mean, &nNum, &share)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i, g := range groups {
			if !g.Valid {
				continue
			}
			if c.Group != "" {
				return nil, fmt.Errorf("group %s: more than one dimension", c.Month)
			}
			c.Group = sh.Groups[i].Key(g.String)
		}
		if mean.Valid {
			c.Mean = &mean.Float64
		}
		c.NNum, c.Share = nNum.Int64, share.Float64
		out = append(out, c)
	}
	return out, rows.Err()
}
