package fetch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/backbone-dev/backbone/internal/pipeline/spec"
	"github.com/backbone-dev/backbone/internal/testserver"
)

func TestObjectStore(t *testing.T) {
	s3 := testserver.NewS3(t, "partner")
	// The server checks signatures: every request below is signed with the Secret's keys.
	s3.AccessKeys = map[string]string{"id": "secret"}
	s3.Put(t, "partner", "exports/k.csv", []byte(table))
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "accessKeyId"), []byte("id"), 0o600)
	os.WriteFile(filepath.Join(creds, "secretAccessKey"), []byte("secret\n"), 0o600)
	plan := func(url string) *spec.Ingest {
		return &spec.Ingest{Namespace: "ns", Source: "feed", Format: "CSV", Fetch: &spec.Fetch{
			Kind: spec.FetchObjectStore, URL: url, Endpoint: s3.URL, Region: "us-east-1", PathStyle: true,
			CredentialsDir: creds, AllowedNetworks: []string{"127.0.0.0/8"},
		}}
	}
	ctx := context.Background()
	opts := Options{TempDir: t.TempDir()}
	in, err := Fetch(ctx, plan("s3://partner/exports/k.csv"), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(in.Path)
	in.Close()
	if string(b) != table || in.Validator.ETag == "" {
		t.Fatalf("got %q, validator %+v", b, in.Validator)
	}
	again, err := Fetch(ctx, plan("s3://partner/exports/k.csv"), &in.Validator, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged {
		t.Fatal("an object with the recorded ETag was fetched again")
	}
	s3.Put(t, "partner", "exports/k.csv", []byte(table+"2026,4\n"))
	third, err := Fetch(ctx, plan("s3://partner/exports/k.csv"), &in.Validator, opts)
	if err != nil {
		t.Fatal(err)
	}
	third.Close()
	if third.Unchanged {
		t.Fatal("a changed object was taken as unchanged")
	}

	_, err = Fetch(ctx, plan("s3://partner/exports/missing.csv"), nil, opts)
	wantErr(t, err, "s3://partner/exports/missing.csv does not exist", "check the bucket and key")
	p := plan("s3://partner/exports/k.csv")
	p.Fetch.MaxBytes = 4
	_, err = Fetch(ctx, p, nil, opts)
	wantErr(t, err, "above the limit of 4 bytes")
	p = plan("s3://partner/exports/k.csv")
	p.Fetch.AllowedNetworks = nil
	_, err = Fetch(ctx, p, nil, opts)
	wantErr(t, err, "refused to connect to 127.0.0.1")
	p = plan("s3://partner/exports/k.csv")
	p.Fetch.CredentialsDir = t.TempDir()
	_, err = Fetch(ctx, p, nil, opts)
	wantErr(t, err, "needs the keys accessKeyId and secretAccessKey")
	// Credentials the server refuses: an unknown key id, a wrong secret key.
	for _, c := range []struct{ id, secret string }{{"old-id", "secret"}, {"id", "wrong"}} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "accessKeyId"), []byte(c.id), 0o600)
		os.WriteFile(filepath.Join(dir, "secretAccessKey"), []byte(c.secret), 0o600)
		p = plan("s3://partner/exports/k.csv")
		p.Fetch.CredentialsDir = dir
		_, err = Fetch(ctx, p, nil, opts)
		wantErr(t, err, "spec.location.objectStore", "access to s3://partner/exports/k.csv denied", "check the credentials Secret "+filepath.Base(dir)+" (spec.location.objectStore.credentialsSecretRef)")
	}
	if left, _ := os.ReadDir(opts.TempDir); len(left) != 0 {
		t.Errorf("%d spooled files left behind", len(left))
	}
}

func TestConfigMap(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.csv")
	os.WriteFile(small, []byte(table), 0o644)
	big := filepath.Join(dir, "big.csv")
	os.WriteFile(big, []byte(strings.Repeat("x", MaxConfigMapBytes+1)), 0o644)
	plan := func(file string) *spec.Ingest {
		return &spec.Ingest{Namespace: "ns", Source: "feed", Format: "CSV", Fetch: &spec.Fetch{Kind: spec.FetchConfigMap, File: file}}
	}
	in, err := Fetch(context.Background(), plan(small), nil, Options{})
	if err != nil || in.Path != small {
		t.Fatalf("got %+v, %v", in, err)
	}
	in.Close()
	if _, err := os.Stat(small); err != nil {
		t.Fatal("closing the input removed the ConfigMap's file")
	}
	_, err = Fetch(context.Background(), plan(big), nil, Options{})
	wantErr(t, err, "above a ConfigMap's limit of 1 MiB")
	_, err = Fetch(context.Background(), plan(filepath.Join(dir, "absent")), nil, Options{})
	wantErr(t, err, "check the ConfigMap's name and key")
}

func TestPostgres(t *testing.T) {
	pg := testserver.NewPostgres(t)
	pg.Exec(t, `create table visits (
		id int8, small int2, mid int4, score numeric(6,2), ratio float8, name text, code varchar(8),
		ok bool, day date, at timestamp, at_tz timestamptz, extra jsonb)`)
	pg.Exec(t, `insert into visits
		select g, (g % 100)::int2, g * 2, g / 4.0, g / 8.0, 'n' || g, 'c' || (g % 3), g % 2 = 0,
		       date '2025-01-01' + g % 365, timestamp '2025-01-01 08:30:00' + g * interval '1 minute',
		       timestamptz '2025-01-01 08:30:00+00' + g * interval '1 minute', '{}'
		from generate_series(1, 2500) g`)
	pg.Exec(t, `insert into visits (id) values (0)`) // a row of NULLs
	secret := t.TempDir()
	os.WriteFile(filepath.Join(secret, "dsn"), []byte(pg.DSN+"\n"), 0o600)
	plan := func(q string) *spec.Ingest {
		return &spec.Ingest{Namespace: "ns", Source: "feed", Format: "CSV", Fetch: &spec.Fetch{
			Kind: spec.FetchPostgres, DSNFile: filepath.Join(secret, "dsn"), Query: q}}
	}
	ctx := context.Background()
	opts := Options{TempDir: t.TempDir(), BatchRows: 1000}
	in, err := Fetch(ctx, plan("select id, small, mid, score, ratio, name, code, ok, day, at, at_tz from visits order by id"), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Format != "ArrowIPC" {
		t.Fatalf("format %q", in.Format)
	}
	f, err := os.Open(in.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	want := []string{"int64", "int64", "int64", "utf8", "float64", "utf8", "utf8", "bool", "date32", "timestamp[us]", "timestamp[us, tz=UTC]"}
	for i, fd := range r.Schema().Fields() {
		if fd.Type.String() != want[i] {
			t.Errorf("column %s: type %s, want %s", fd.Name, fd.Type, want[i])
		}
	}
	rows, batches := 0, 0
	for r.Next() {
		rec := r.RecordBatch()
		if rec.NumRows() > 1000 {
			t.Errorf("a batch of %d rows, above BatchRows", rec.NumRows())
		}
		if rows == 0 {
			if !rec.Column(1).IsNull(0) || !rec.Column(10).IsNull(0) {
				t.Error("NULLs were not written as nulls")
			}
			if s := rec.Column(3).(*array.String).Value(1); s != "0.25" {
				t.Errorf("numeric 1/4.0 = %q, want the exact text 0.25", s)
			}
			at := rec.Column(9).(*array.Timestamp).Value(1).ToTime(arrow.Microsecond)
			if at.Format("2006-01-02 15:04:05") != "2025-01-01 08:31:00" {
				t.Errorf("timestamp wall clock %v", at)
			}
			if d := rec.Column(8).(*array.Date32).Value(1).ToTime().Format("2006-01-02"); d != "2025-01-02" {
				t.Errorf("date %s", d)
			}
		}
		rows += int(rec.NumRows())
		batches++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 2501 || batches != 3 {
		t.Fatalf("%d rows in %d batches, want 2501 in 3", rows, batches)
	}

	_, err = Fetch(ctx, plan("select nope from visits"), nil, opts)
	wantErr(t, err, "spec.location.postgres.query", `column "nope" does not exist`, "42703")
	_, err = Fetch(ctx, plan("select day from visits where id = 1 union all select 'infinity'::date"), nil, opts)
	wantErr(t, err, `row 2, column "day"`, "infinity")
	_, err = Fetch(ctx, plan("select extra from visits"), nil, opts)
	wantErr(t, err, `column "extra" has type jsonb`, "extra::text")
	_, err = Fetch(ctx, plan("delete from visits"), nil, opts)
	wantErr(t, err, "read-only transaction")
	os.WriteFile(filepath.Join(secret, "bad"), []byte(strings.Replace(pg.DSN, "dbname=postgres", "dbname=absent", 1)), 0o600)
	p := plan("select 1")
	p.Fetch.DSNFile = filepath.Join(secret, "bad")
	_, err = Fetch(ctx, p, nil, opts)
	wantErr(t, err, "connecting to PostgreSQL", `database "absent" does not exist`, "check the connection string")
	p.Fetch.DSNFile = filepath.Join(secret, "absent")
	_, err = Fetch(ctx, p, nil, opts)
	wantErr(t, err, "dsnSecretRef", "check the Secret's name and key")
	if left, _ := os.ReadDir(opts.TempDir); len(left) != 1 {
		t.Errorf("%d spooled files, want only the successful one", len(left))
	}
}

// TestCloudCredentialSecrets checks the Secret forms of GCS and Azure credentials up to the
// point where a real service would be needed.
func TestCloudCredentialSecrets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := OpenBucket(ctx, Bucket{URL: "gs://b", CredentialsDir: dir})
	if err == nil || !strings.Contains(err.Error(), "credentials.json") {
		t.Errorf("a GCS Secret without a key: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "credentials.json"), []byte("{not json"), 0o600)
	_, err = OpenBucket(ctx, Bucket{URL: "gs://b", CredentialsDir: dir})
	if err == nil || !strings.Contains(err.Error(), "service account key") {
		t.Errorf("a GCS Secret with a broken key: %v", err)
	}
	_, err = OpenBucket(ctx, Bucket{URL: "azblob://c", CredentialsDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "connectionString, or accountName and accountKey") {
		t.Errorf("an Azure Secret without credentials: %v", err)
	}
	az := t.TempDir()
	os.WriteFile(filepath.Join(az, "accountName"), []byte("acct"), 0o600)
	os.WriteFile(filepath.Join(az, "accountKey"), []byte("a2V5"), 0o600)
	b, err := OpenBucket(ctx, Bucket{URL: "azblob://c", CredentialsDir: az})
	if err != nil {
		t.Fatalf("an Azure account key: %v", err)
	}
	b.Close()
}
