package fetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// PostgreSQL types and the Arrow types their values are written as. numeric keeps its
// exact decimal text (the schema's Integer or Number type parses it); timestamp (without
// time zone) is local time, read in the Initiative's time zone; timestamptz is an instant.
// Any other type is refused: cast it in the query (e.g. col::text).
var pgArrow = map[uint32]arrow.DataType{
	pgtype.Int2OID:        arrow.PrimitiveTypes.Int64,
	pgtype.Int4OID:        arrow.PrimitiveTypes.Int64,
	pgtype.Int8OID:        arrow.PrimitiveTypes.Int64,
	pgtype.Float4OID:      arrow.PrimitiveTypes.Float64,
	pgtype.Float8OID:      arrow.PrimitiveTypes.Float64,
	pgtype.NumericOID:     arrow.BinaryTypes.String,
	pgtype.TextOID:        arrow.BinaryTypes.String,
	pgtype.VarcharOID:     arrow.BinaryTypes.String,
	pgtype.BPCharOID:      arrow.BinaryTypes.String,
	pgtype.NameOID:        arrow.BinaryTypes.String,
	pgtype.BoolOID:        arrow.FixedWidthTypes.Boolean,
	pgtype.DateOID:        arrow.FixedWidthTypes.Date32,
	pgtype.TimestampOID:   &arrow.TimestampType{Unit: arrow.Microsecond},
	pgtype.TimestamptzOID: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
}

// fetchPostgres runs the query and writes its rows, as they arrive, into an Arrow IPC
// stream of opts.BatchRows-row batches: memory holds one batch, whatever the table's size.
func fetchPostgres(ctx context.Context, f *spec.Fetch, opts Options) (*Input, error) {
	const field = "spec.location.postgres"
	b, err := os.ReadFile(f.DSNFile)
	if err != nil {
		return nil, fmt.Errorf("%s.dsnSecretRef: reading the connection string at %s: %w; check the Secret's name and key", field, f.DSNFile, err)
	}
	dsn := strings.TrimSpace(string(b))
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The error of a DSN that does not parse may quote it, password included.
		return nil, fmt.Errorf("%s.dsnSecretRef: the connection string in %s does not parse; it must be a postgres:// URL or key=value pairs", field, f.DSNFile)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: connecting to PostgreSQL at %s (database %q, user %q): %v; check the connection string in the Secret and that the server is reachable", field, cfg.Host, cfg.Database, cfg.User, pgMessage(err))
	}
	defer conn.Close(context.Background())
	// A read-only transaction: the query cannot change the partner's data.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("%s: starting a read-only transaction: %v", field, pgMessage(err))
	}
	defer tx.Rollback(context.Background())
	rows, err := tx.Query(ctx, f.Query)
	if err != nil {
		return nil, fmt.Errorf("%s.query: %v; check the query", field, pgMessage(err))
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	fields := make([]arrow.Field, len(fds))
	for i, fd := range fds {
		t, ok := pgArrow[fd.DataTypeOID]
		if !ok {
			name := fmt.Sprintf("OID %d", fd.DataTypeOID)
			if dt, ok := conn.TypeMap().TypeForOID(fd.DataTypeOID); ok {
				name = dt.Name
			}
			return nil, fmt.Errorf("%s.query: column %q has type %s, which is not read; cast it in the query (e.g. %s::text)", field, fd.Name, name, fd.Name)
		}
		fields[i] = arrow.Field{Name: fd.Name, Type: t, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	out, err := spool(opts, "fetch-*.arrows")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	w := ipc.NewWriter(out, ipc.WithSchema(schema))
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	n, row := 0, int64(0)
	flush := func() error {
		rec := rb.NewRecordBatch()
		defer rec.Release()
		return w.Write(rec)
	}
	for rows.Next() {
		row++
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("%s.query: row %d: %v", field, row, err)
		}
		for i, v := range vals {
			if err := appendValue(rb.Field(i), v); err != nil {
				return nil, fmt.Errorf("%s.query: row %d, column %q: %v", field, row, fds[i].Name, err)
			}
		}
		if n++; n == opts.BatchRows {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("writing the query's rows: %w", err)
			}
			n = 0
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s.query: %v (after %d rows); check the query", field, pgMessage(err), row)
	}
	if n > 0 || row == 0 {
		if err := flush(); err != nil {
			return nil, fmt.Errorf("writing the query's rows: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("writing the query's rows: %w", err)
	}
	if err := out.Close(); err != nil {
		return nil, fmt.Errorf("writing the query's rows: %w", err)
	}
	ok = true
	return &Input{Path: out.Name(), Format: "ArrowIPC", temp: true}, nil
}

func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %s (SQLSTATE %s)", pe.Severity, pe.Message, pe.Code)
	}
	return err.Error()
}

// appendValue appends one decoded value to its column's builder.
func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		switch x := v.(type) {
		case int16:
			b.Append(int64(x))
		case int32:
			b.Append(int64(x))
		case int64:
			b.Append(x)
		default:
			return fmt.Errorf("unexpected %T for an integer", v)
		}
	case *array.Float64Builder:
		switch x := v.(type) {
		case float32:
			b.Append(float64(x))
		case float64:
			b.Append(x)
		default:
			return fmt.Errorf("unexpected %T for a float", v)
		}
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			b.Append(x)
		case pgtype.Numeric:
			dv, err := x.Value()
			if err != nil {
				return err
			}
			s, _ := dv.(string)
			b.Append(s)
		default:
			return fmt.Errorf("unexpected %T for text", v)
		}
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("unexpected %T for a boolean", v)
		}
		b.Append(x)
	case *array.Date32Builder:
		x, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("%v is not a date the schema can read", v)
		}
		b.Append(arrow.Date32FromTime(x))
	case *array.TimestampBuilder:
		x, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("%v is not a timestamp the schema can read", v)
		}
		// timestamp without time zone comes as its wall clock in UTC: its microseconds
		// are the wall clock's, as Arrow's zone-less timestamps are.
		b.Append(arrow.Timestamp(x.UnixMicro()))
	default:
		return fmt.Errorf("no builder for %T", v)
	}
	return nil
}
