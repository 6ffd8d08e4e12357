// Package testserver starts real servers for tests, in the test process or as throwaway
// local processes: an S3-compatible server (gofakes3 over HTTP) and a PostgreSQL cluster
// (Debian's postgresql binaries, initdb in a temporary folder).
package testserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is a running S3-compatible server.
type S3 struct {
	URL     string // http://127.0.0.1:port
	Backend *s3mem.Backend
	// Fail, when set, answers a request with 500 instead of the server when it returns true.
	Fail func(r *http.Request) bool
	// Keys, when set, are the access keys the server accepts (access key id → secret
	// key), checked as S3 checks them: a request signed (SigV4) with another key id is
	// refused with 403 InvalidAccessKeyId, one whose signature does not match the
	// secret key with 403 SignatureDoesNotMatch. Unset, any signature is accepted.
	AccessKeys map[string]string
}

// NewS3 starts an S3-compatible server with the given buckets, and sets the environment's
// AWS credentials and region for the test (the server accepts any).
func NewS3(t testing.TB, buckets ...string) *S3 {
	t.Helper()
	s := &S3{Backend: s3mem.New()}
	for _, b := range buckets {
		if err := s.Backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	h := gofakes3.New(s.Backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := s.Fail; f != nil && f(r) {
			http.Error(w, "<Error><Code>InternalError</Code><Message>injected failure</Message></Error>", http.StatusInternalServerError)
			return
		}
		if s.AccessKeys != nil {
			if code, msg := checkSignature(r, s.AccessKeys); code != "" {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	if t, ok := t.(interface{ Setenv(string, string) }); ok {
		for _, kv := range S3Env() {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
	}
	return s
}

// The access key NewS3 puts in the environment: the AWS SDK's default chain, and so an
// s3:// store, signs with it.
const (
	S3AccessKeyID     = "backbone"
	S3SecretAccessKey = "backbone-secret"
)

// S3Env is the environment NewS3 sets (KEY=value): the access key, the region, and no
// instance metadata service; processes a test starts without its environment need it.
func S3Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + S3AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + S3SecretAccessKey,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// StoreURL is the s3:// URL of a bucket on the server, as --store takes it.
func (s *S3) StoreURL(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true", bucket, s.URL)
}

// Put writes an object.
func (s *S3) Put(t testing.TB, bucket, key string, b []byte) {
	t.Helper()
	if _, err := s.Backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
		t.Fatal(err)
	}
}

// PostgresBin is the folder of Debian's PostgreSQL 15 server binaries.
const PostgresBin = "/usr/lib/postgresql/15/bin"

// Postgres is a running throwaway PostgreSQL cluster, reachable on a unix socket only.
type Postgres struct {
	// DSN connects as the superuser "backbone" to the database "postgres".
	DSN string
}

// NewPostgres starts a PostgreSQL cluster in a temporary folder; it skips the test when
// the binaries are absent (.ci/run installs them). Run as root, the server runs as the
// postgres system user (PostgreSQL refuses to run as root).
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	if _, err := os.Stat(filepath.Join(PostgresBin, "initdb")); err != nil {
		t.Skipf("PostgreSQL server binaries not found in %s (Debian package postgresql; .ci/run installs it)", PostgresBin)
	}
	base := t.TempDir()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres system user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// The server's user must reach its folders.
		for d := base; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data, sock := filepath.Join(base, "data"), filepath.Join(base, "sock")
	for _, d := range []string{sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(PostgresBin, name), args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		c.Dir = base
		c.Env = []string{"LANG=C", "LC_ALL=C", "TZ=UTC"}
		return c
	}
	if out, err := run("initdb", "-D", data, "-U", "backbone", "--auth=trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	srv := run("postgres", "-D", data, "-k", sock, "-p", strconv.Itoa(port), "-c", "listen_addresses=", "-c", "fsync=off", "-c", "log_min_messages=warning")
	logf, err := os.Create(filepath.Join(t.TempDir(), "postgres.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGINT) // fast shutdown
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
		logf.Close()
	})
	p := &Postgres{DSN: fmt.Sprintf("host=%s port=%d user=backbone dbname=postgres sslmode=disable", sock, port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, p.DSN)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return p
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("PostgreSQL did not start: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Exec runs SQL statements.
func (p *Postgres) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Keys lists every key of a bucket.
func (s *S3) Keys(bucket string) ([]string, error) {
	l, err := s.Backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, c := range l.Contents {
		keys = append(keys, c.Key)
	}
	return keys, nil
}
