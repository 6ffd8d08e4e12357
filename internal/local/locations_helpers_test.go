package local

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/backbone-dev/backbone/internal/testserver"
)

// copyCSV loads a CSV file with a header into table (its columns after the first, a serial
// line number), empty fields as NULL.
func copyCSV(t *testing.T, pg *testserver.Postgres, table, file string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cols := "student_id, assessed_on, school_district, school, race, frl, ready, score"
	if _, err := conn.PgConn().CopyFrom(ctx, f, "copy "+table+" ("+cols+") from stdin with (format csv, header true)"); err != nil {
		t.Fatal(err)
	}
}

// bucketKeys lists every key of a bucket of the S3 server.
func bucketKeys(t *testing.T, s3 *testserver.S3, bucket string) []string {
	t.Helper()
	keys, err := s3.Keys(bucket)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}
