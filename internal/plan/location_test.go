package plan

import (
	"reflect"
	"strings"
	"testing"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// TestLocationsCompile checks each location kind's plan: Secrets and ConfigMaps become the
// paths where the ingestion pod mounts them; the manager reads none.
func TestLocationsCompile(t *testing.T) {
	ini, srcs, _ := objects()
	ref := &impactv1.LocalObjectReference{Name: "token"}
	cases := []struct {
		loc  impactv1.Location
		want spec.Fetch
	}{
		{impactv1.Location{HTTP: &impactv1.HTTPLocation{URL: "https://d.example/k.csv", HeadersSecretRef: ref}},
			spec.Fetch{Kind: spec.FetchHTTP, URL: "https://d.example/k.csv", HeadersDir: DefaultSecretsDir + "/token"}},
		{impactv1.Location{ObjectStore: &impactv1.ObjectStoreLocation{URL: "s3://b/k.csv", Endpoint: "https://minio.example", Region: "eu-west-1", PathStyle: true, CredentialsSecretRef: ref}},
			spec.Fetch{Kind: spec.FetchObjectStore, URL: "s3://b/k.csv", Endpoint: "https://minio.example", Region: "eu-west-1", PathStyle: true, CredentialsDir: DefaultSecretsDir + "/token"}},
		{impactv1.Location{ObjectStore: &impactv1.ObjectStoreLocation{URL: "gs://b/k.csv"}},
			spec.Fetch{Kind: spec.FetchObjectStore, URL: "gs://b/k.csv"}},
		{impactv1.Location{ConfigMap: &impactv1.ConfigMapLocation{Name: "small", Key: "t.csv"}},
			spec.Fetch{Kind: spec.FetchConfigMap, File: DefaultConfigMapsDir + "/small/t.csv"}},
		{impactv1.Location{Postgres: &impactv1.PostgresLocation{DSNSecretRef: impactv1.SecretKeyReference{Name: "db", Key: "dsn"}, Query: "select 1"}},
			spec.Fetch{Kind: spec.FetchPostgres, DSNFile: DefaultSecretsDir + "/db/dsn", Query: "select 1"}},
	}
	for _, c := range cases {
		ds := srcs[0]
		ds.Spec.Location = c.loc
		p, err := Ingest(ini, &ds, IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Fetch == nil || !reflect.DeepEqual(*p.Fetch, c.want) {
			t.Errorf("%s: fetch %+v, want %+v", c.want.Kind, p.Fetch, c.want)
		}
		if c.want.Kind == spec.FetchPostgres && p.Format != "ArrowIPC" {
			t.Errorf("a postgres location is read as %q, want ArrowIPC", p.Format)
		}
	}
	ds := srcs[0]
	ds.Spec.Location = impactv1.Location{HTTP: &impactv1.HTTPLocation{URL: "https://d.example/k.csv"}}
	p, err := Ingest(ini, &ds, IngestOptions{SecretsDir: "/s", AllowedNetworks: []string{"10.0.0.0/8"}, MaxFetchBytes: 10})
	if err != nil || !reflect.DeepEqual(p.Fetch.AllowedNetworks, []string{"10.0.0.0/8"}) || p.Fetch.MaxBytes != 10 {
		t.Errorf("options not carried: %+v, %v", p.Fetch, err)
	}
	ds.Spec.Location = impactv1.Location{ObjectStore: &impactv1.ObjectStoreLocation{URL: "gs://b/k", Endpoint: "https://x"}}
	if _, err := Ingest(ini, &ds, IngestOptions{}); err == nil || !strings.Contains(err.Error(), "spec.location.objectStore") {
		t.Errorf("an endpoint on gs:// was accepted: %v", err)
	}
	ds.Spec.Location = impactv1.Location{}
	if _, err := Ingest(ini, &ds, IngestOptions{}); err == nil || !strings.Contains(err.Error(), "set exactly one of") {
		t.Errorf("an empty location was accepted: %v", err)
	}
}
