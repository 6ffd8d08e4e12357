//go:build linux

package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/testserver"
	"github.com/backbone-dev/backbone/test/e2e"
)

// sampleFileLocation is a sample DataSource's location line.
var sampleFileLocation = regexp.MustCompile(`(?m)^    file: \{path: data/([^}]+)\}$`)

// connectorServers are the real servers the operator's Jobs fetch from: https (TLS, a
// bearer token), S3 (signatures checked) and PostgreSQL (a unix socket).
type connectorServers struct {
	https     *httptest.Server
	downloads atomic.Int32 // successful https downloads
	s3        *testserver.S3
	pg        *testserver.Postgres
}

const (
	partnerToken  = "Bearer partner-token"
	partnerKeyID  = "partner"
	partnerSecret = "partner-secret"
)

// startConnectorServers starts the servers with the samples' data: every data file over
// https and in the S3 bucket "partner" under exports/, the kindergarten CSV as a table of
// text columns in PostgreSQL. The S3 server also holds the store (bucket "backbone").
func startConnectorServers(t *testing.T, c *e2e.Cluster) *connectorServers {
	t.Helper()
	data := filepath.Join(samplesDir(c), "data")
	s := &connectorServers{}
	files := http.FileServer(http.Dir(data))
	s.https = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != partnerToken {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		rec := &statusWriter{ResponseWriter: w}
		files.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			s.downloads.Add(1)
		}
	}))
	t.Cleanup(s.https.Close)
	// The Pods trust the certificate main_test wrote; it must be this server's.
	ca, err := os.ReadFile(filepath.Join(c.LogDir, "httptest-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(ca); block == nil || !bytes.Equal(block.Bytes, s.https.Certificate().Raw) {
		t.Fatal("the https test server's certificate is not the one the Pods trust (httptest-ca.pem)")
	}

	s.s3 = testserver.NewS3(t, "partner", "backbone")
	s.s3.AccessKeys = map[string]string{testserver.S3AccessKeyID: testserver.S3SecretAccessKey, partnerKeyID: partnerSecret}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s.s3.Put(t, "partner", "exports/"+e.Name(), b)
	}

	s.pg = testserver.NewPostgres(t)
	s.pg.Exec(t, `create table kindergarten (line serial, student_id text, assessed_on text,
		school_district text, school text, race text, frl text, ready text, score text)`)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, s.pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	f, err := os.Open(filepath.Join(data, "ncusd-kindergarten.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := conn.PgConn().CopyFrom(ctx, f, "copy kindergarten (student_id, assessed_on, school_district, school, race, frl, ready, score) from stdin with (format csv, header true)"); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitIndicatorsReady waits until every Indicator of ns is Ready; a DataSource whose run
// failed fails the test at once, with its message.
func waitIndicatorsReady(t *testing.T, c *e2e.Cluster, ns string, timeout time.Duration, mgr *e2e.Process) {
	t.Helper()
	ctx := t.Context()
	deadline := time.Now().Add(timeout)
	for {
		var sources impactv1.DataSourceList
		var indicators impactv1.IndicatorList
		if err := c.Client.List(ctx, &sources, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if err := c.Client.List(ctx, &indicators, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, ds := range sources.Items {
			if r := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionReady); r != nil && r.Reason == "JobFailed" {
				describe(t, c, ns)
				t.Fatalf("DataSource %s failed: %s\nmanager log: %s", ds.Name, r.Message, mgr.LogPath)
			}
		}
		ready := 0
		for _, ind := range indicators.Items {
			if meta.IsStatusConditionTrue(ind.Status.Conditions, impactv1.ConditionReady) {
				ready++
			}
		}
		if len(indicators.Items) > 0 && ready == len(indicators.Items) {
			return
		}
		if time.Now().After(deadline) {
			describe(t, c, ns)
			t.Fatalf("%d of %d Indicators Ready after %s\nmanager log: %s", ready, len(indicators.Items), timeout, mgr.LogPath)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Location lines of a sample DataSource, by kind.
func (s *connectorServers) httpsLocation(file string) string {
	return fmt.Sprintf("    http: {url: %q, headersSecretRef: {name: partner-token}}", s.https.URL+"/"+file)
}

func (s *connectorServers) s3Location(file, secret string) string {
	return fmt.Sprintf("    objectStore: {url: \"s3://partner/exports/%s\", endpoint: %q, region: us-east-1, pathStyle: true, credentialsSecretRef: {name: %s}}", file, s.s3.URL, secret)
}

const postgresLocation = "    postgres:\n      dsnSecretRef: {name: district-db, key: dsn}\n" +
	"      query: select student_id, assessed_on, school_district, school, race, frl, ready, score from kindergarten order by line"

func yamlSecret(name string, data map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata: {name: %s}\nstringData:\n", name)
	for k, v := range data {
		fmt.Fprintf(&b, "  %s: %q\n", k, v)
	}
	return b.String()
}

// writeManifests writes the samples' manifests into a new folder, each DataSource's file
// location replaced by location(file) (a DataSource whose location is "" is left out),
// with the extra manifests; it returns the folder.
func writeManifests(t *testing.T, c *e2e.Cluster, location func(file string) string, extra ...string) string {
	t.Helper()
	dir := c.TempDir(t)
	entries, err := os.ReadDir(samplesDir(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(samplesDir(c), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if m := sampleFileLocation.FindStringSubmatch(text); m != nil {
			loc := location(m[1])
			if loc == "" {
				continue
			}
			text = strings.Replace(text, m[0], loc, 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range extra {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("extra-%d.yaml", i)), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The operator end to end with each DataSource's data behind another kind of location,
// against real servers: children-hospital-asthma and family-resource-network over https
// (TLS, a bearer token from a Secret), county-births in S3 (keys from a Secret, signatures
// checked), census-population in a ConfigMap key (binary), ncusd-kindergarten from a
// PostgreSQL query (DSN from a Secret); the store itself on S3. The Jobs' pods read the
// Secrets and ConfigMaps where the compiled plans name them, /var/run/backbone/...; every
// Indicator becomes Ready with the result `backbone local` computes from the files, and
// every snapshot is local's. Then a DataSource whose https URL answers 404 and one whose
// S3 keys are wrong fail, and their condition and Warning Event name the DataSource and
// the field to fix.
func TestOperatorConnectors(t *testing.T) {
	c := cl(t)
	srv := startConnectorServers(t, c) // sets the AWS environment: not parallel
	ns := c.Namespace(t)
	bad := c.Namespace(t)
	ctx := t.Context()
	mgr := c.StartBackbone(t, "manager-"+ns, "manager",
		"--store", srv.s3.StoreURL("backbone"),
		"--allow-network", "127.0.0.1/32",
		"--watch-namespaces", ns+","+bad,
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
	)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("backbone manager log: %s", mgr.LogPath)
		}
	})

	census, err := os.ReadFile(filepath.Join(samplesDir(c), "data", "census-population.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		yamlSecret("partner-token", map[string]string{"Authorization": partnerToken}),
		yamlSecret("partner-s3", map[string]string{"accessKeyId": partnerKeyID, "secretAccessKey": partnerSecret}),
		yamlSecret("district-db", map[string]string{"dsn": srv.pg.DSN}),
	}
	censusCM := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: census-population}\nbinaryData:\n  census-population.parquet: %s\n",
		base64.StdEncoding.EncodeToString(census))
	dir := writeManifests(t, c, func(file string) string {
		switch file {
		case "children-hospital-asthma.xlsx", "family-resource-network.arrow":
			return srv.httpsLocation(file)
		case "county-births.jsonl":
			return srv.s3Location(file, "partner-s3")
		case "census-population.parquet":
			return "    configMap: {name: census-population, key: census-population.parquet}"
		case "ncusd-kindergarten.csv":
			return postgresLocation
		}
		t.Fatalf("no location for the sample data file %s", file)
		return ""
	}, append(secrets, censusCM)...)
	c.KubectlT(t, "apply", "-f", dir, "-n", ns)
	const requested = "2026-12-05T12:00:00Z"
	c.KubectlT(t, "annotate", "datasources", "--all", "-n", ns, impactv1.RequestedAtAnnotation+"="+requested)
	waitIndicatorsReady(t, c, ns, 300*time.Second, mgr)

	// Every DataSource ran, from its location, and is Ready; the plans name the mounts.
	for _, ds := range samplesRan(t, c, ns, requested) {
		if ds.Status.Snapshot != nil && !strings.HasPrefix(ds.Status.Snapshot.URI, "s3://backbone/") {
			t.Errorf("DataSource %s: snapshot %s is not in the S3 store", ds.Name, ds.Status.Snapshot.URI)
		}
	}
	for src, path := range map[string]string{
		"children-hospital-asthma": "/var/run/backbone/secrets/partner-token",
		"county-births":            "/var/run/backbone/secrets/partner-s3",
		"census-population":        "/var/run/backbone/configmaps/census-population/census-population.parquet",
		"ncusd-kindergarten":       "/var/run/backbone/secrets/district-db/dsn",
	} {
		out := c.KubectlT(t, "get", "configmap", src+"-plan", "-n", ns, "-o", "jsonpath={.data.plan\\.json}")
		if !strings.Contains(out, path) {
			t.Errorf("the plan of %s does not name %s:\n%s", src, path, out)
		}
	}
	if n := srv.downloads.Load(); n < 2 {
		t.Errorf("%d downloads from the https server, want at least the 2 https sources'", n)
	}
	keys, err := srv.s3.Keys("backbone")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Error("nothing in the S3 store")
	}

	// The Indicators hold what `backbone local` computes from the same data as files.
	sameAsLocal(t, c, ns)

	t.Run("failures name the DataSource and the fix", func(t *testing.T) {
		failing := writeManifests(t, c, func(file string) string {
			switch file {
			case "census-population.parquet": // a URL with no data behind it
				return srv.httpsLocation("census-population-2030.parquet")
			case "county-births.jsonl": // keys the server does not accept
				return srv.s3Location(file, "partner-s3-old")
			}
			return ""
		}, secrets[0], yamlSecret("partner-s3-old", map[string]string{"accessKeyId": partnerKeyID, "secretAccessKey": "rotated-away"}))
		c.KubectlT(t, "apply", "-f", failing, "-n", bad)
		c.KubectlT(t, "annotate", "datasources", "--all", "-n", bad, impactv1.RequestedAtAnnotation+"="+requested)
		want := map[string][]string{
			"census-population": {"DataSource " + bad + "/census-population:", srv.https.URL + "/census-population-2030.parquet",
				"404 Not Found", "check spec.location.http.url"},
			"county-births": {"DataSource " + bad + "/county-births:", "spec.location.objectStore",
				"access to s3://partner/exports/county-births.jsonl denied", "check the credentials Secret partner-s3-old (spec.location.objectStore.credentialsSecretRef)"},
		}
		for name, parts := range want {
			ds := &impactv1.DataSource{}
			eventually(t, 180*time.Second, "DataSource "+name+" failed", func() (bool, error) {
				if err := c.Client.Get(ctx, client.ObjectKey{Namespace: bad, Name: name}, ds); err != nil {
					return false, err
				}
				ready := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionReady)
				return ready != nil && ready.Reason == "JobFailed", fmt.Errorf("Ready %+v", ready)
			})
			ready := meta.FindStatusCondition(ds.Status.Conditions, impactv1.ConditionReady)
			if ready.Status != "False" {
				t.Errorf("DataSource %s: Ready %s after a failed run", name, ready.Status)
			}
			for _, p := range parts {
				if !strings.Contains(ready.Message, p) {
					t.Errorf("DataSource %s: Ready message %q does not say %q", name, ready.Message, p)
				}
			}
			var note string
			eventually(t, 30*time.Second, "a JobFailed Event for "+name, func() (bool, error) {
				var events eventsv1.EventList
				if err := c.Client.List(ctx, &events, client.InNamespace(bad)); err != nil {
					return false, err
				}
				for _, e := range events.Items {
					if e.Regarding.Kind == "DataSource" && e.Regarding.Name == name && e.Type == "Warning" && e.Reason == "JobFailed" {
						note = e.Note
						return true, nil
					}
				}
				return false, fmt.Errorf("%d events, none a Warning JobFailed regarding DataSource %s", len(events.Items), name)
			})
			for _, p := range parts {
				if !strings.Contains(note, p) {
					t.Errorf("DataSource %s: Event %q does not say %q", name, note, p)
				}
			}
			t.Logf("DataSource %s: %s", name, ready.Message)
		}
	})

	if err := mgr.Stop(); err != nil {
		t.Errorf("backbone manager exited with %v; log %s", err, mgr.LogPath)
	}
}
