package plan

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// IngestOptions are the settings of the environment an ingestion runs in.
type IngestOptions struct {
	// AllowFileLocations permits location.file (local mode, single-node clusters, tests).
	AllowFileLocations bool
	// BaseDir resolves relative file paths (the manifests' folder in local mode).
	BaseDir string
	// SecretsDir is where Secrets are mounted, one folder per Secret name (its keys are
	// files); default DefaultSecretsDir. The manager never reads a Secret: the ingestion
	// pod mounts it.
	SecretsDir string
	// ConfigMapsDir is where ConfigMaps are mounted, one folder per ConfigMap name;
	// default DefaultConfigMapsDir.
	ConfigMapsDir string
	// AllowedNetworks are CIDRs that http and object store locations may reach although
	// they are loopback, link-local or cloud metadata addresses (tests, in-cluster servers).
	AllowedNetworks []string
	// MaxFetchBytes limits the size of a fetched input; 0 means the fetch step's default.
	MaxFetchBytes int64
}

// Where the ingestion pod finds mounted Secrets and ConfigMaps: a Secret (or ConfigMap)
// named n is mounted at <dir>/n, one file per key.
const (
	DefaultSecretsDir    = "/var/run/backbone/secrets"
	DefaultConfigMapsDir = "/var/run/backbone/configmaps"
)

// DefaultRetention is the number of snapshots kept by a retention that names none (the
// CRD's default, for manifests read without the API server, as `backbone local` reads them).
const DefaultRetention = 30

// Ingest compiles one DataSource of an Initiative into an ingestion plan.
func Ingest(ini *impactv1.Initiative, ds *impactv1.DataSource, opts IngestOptions) (*spec.Ingest, error) {
	e := &errs{kind: "DataSource", namespace: ds.Namespace, name: ds.Name}
	if ini.Name != ds.Spec.InitiativeRef.Name || ini.Namespace != ds.Namespace {
		e.add("spec.initiativeRef.name", "Initiative %q not found in namespace %q", ds.Spec.InitiativeRef.Name, ds.Namespace)
		return nil, e.err()
	}
	p := &spec.Ingest{
		Namespace:        ds.Namespace,
		Initiative:       ini.Name,
		Source:           ds.Name,
		Partner:          ds.Spec.Partner,
		Format:           string(ds.Spec.Format),
		Header:           true,
		TimeZone:         timeZone(ini),
		Dimensions:       dimensions(ini),
		FrequencyColumn:  string(ds.Spec.Schema.FrequencyColumn),
		MaxRejectPercent: 5,
	}
	if ds.Spec.MaxRejectPercent != nil {
		p.MaxRejectPercent = int(*ds.Spec.MaxRejectPercent)
	}
	shrink := spec.DefaultMaxShrinkPercent
	if ds.Spec.MaxShrinkPercent != nil {
		shrink = int(*ds.Spec.MaxShrinkPercent)
	}
	p.MaxShrinkPercent = &shrink
	if r := ds.Spec.Retention; r != nil {
		p.Retention = DefaultRetention
		if r.Snapshots > 0 {
			p.Retention = int(r.Snapshots)
		}
	}
	if ds.Spec.CSV != nil {
		p.Delimiter = ds.Spec.CSV.Delimiter
		if ds.Spec.CSV.Header != nil {
			p.Header = *ds.Spec.CSV.Header
		}
	}
	if ds.Spec.XLSX != nil {
		p.Sheet = ds.Spec.XLSX.Sheet
		if ds.Spec.XLSX.HeaderRow != nil {
			p.HeaderRow = int(*ds.Spec.XLSX.HeaderRow)
		}
	}
	if !hasPartner(ini, ds.Spec.Partner) {
		e.add("spec.partner", "%q is not a partner of Initiative %q (partners: %s)", ds.Spec.Partner, ini.Name, quoteAll(partnerNames(ini)))
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil {
		e.add("spec.timeZone", "the Initiative's time zone %q is not a known IANA time zone", p.TimeZone)
	}
	if ds.Spec.TimeZone != "" {
		if _, err := time.LoadLocation(ds.Spec.TimeZone); err != nil {
			e.add("spec.timeZone", "%q is not a known IANA time zone", ds.Spec.TimeZone)
		}
	}
	if ds.Spec.Schedule != "" {
		if _, err := cron.ParseStandard(ds.Spec.Schedule); err != nil {
			e.add("spec.schedule", "%q does not parse as a cron schedule: %v", ds.Spec.Schedule, err)
		}
	}
	secretsDir, configMapsDir := opts.SecretsDir, opts.ConfigMapsDir
	if secretsDir == "" {
		secretsDir = DefaultSecretsDir
	}
	if configMapsDir == "" {
		configMapsDir = DefaultConfigMapsDir
	}
	switch loc := ds.Spec.Location; {
	case loc.File != nil:
		if !opts.AllowFileLocations {
			e.add("spec.location.file", "file locations are refused unless the manager runs with --allow-file-locations")
		}
		p.Path = loc.File.Path
		if !filepath.IsAbs(p.Path) && opts.BaseDir != "" {
			p.Path = filepath.Join(opts.BaseDir, p.Path)
		}
	case loc.HTTP != nil:
		p.Fetch = &spec.Fetch{Kind: spec.FetchHTTP, URL: loc.HTTP.URL}
		if !strings.HasPrefix(loc.HTTP.URL, "https://") {
			e.add("spec.location.http.url", "%q is not an https URL: data is only fetched over https", loc.HTTP.URL)
		}
		if r := loc.HTTP.HeadersSecretRef; r != nil {
			p.Fetch.HeadersDir = filepath.Join(secretsDir, r.Name)
		}
	case loc.ObjectStore != nil:
		o := loc.ObjectStore
		p.Fetch = &spec.Fetch{Kind: spec.FetchObjectStore, URL: o.URL, Endpoint: o.Endpoint, Region: o.Region, PathStyle: o.PathStyle}
		if r := o.CredentialsSecretRef; r != nil {
			p.Fetch.CredentialsDir = filepath.Join(secretsDir, r.Name)
		}
		if scheme, _, ok := strings.Cut(o.URL, "://"); !ok || (scheme != "s3" && scheme != "gs" && scheme != "azblob") {
			e.add("spec.location.objectStore.url", "%q must be s3://bucket/key, gs://bucket/key or azblob://container/key", o.URL)
		} else if scheme != "s3" && (o.Endpoint != "" || o.Region != "" || o.PathStyle) {
			e.add("spec.location.objectStore", "endpoint, region and pathStyle are options of s3:// URLs only")
		}
	case loc.ConfigMap != nil:
		p.Fetch = &spec.Fetch{Kind: spec.FetchConfigMap, File: filepath.Join(configMapsDir, loc.ConfigMap.Name, loc.ConfigMap.Key)}
	case loc.Postgres != nil:
		pg := loc.Postgres
		p.Fetch = &spec.Fetch{Kind: spec.FetchPostgres, DSNFile: filepath.Join(secretsDir, pg.DSNSecretRef.Name, pg.DSNSecretRef.Key), Query: pg.Query}
		if strings.TrimSpace(pg.Query) == "" {
			e.add("spec.location.postgres.query", "a postgres location needs the SELECT statement whose rows are ingested")
		}
		// Rows arrive typed: the fetch step writes them as an Arrow IPC stream.
		p.Format = string(impactv1.FormatArrowIPC)
	default:
		e.add("spec.location", "set exactly one of http, objectStore, configMap, postgres, file")
	}
	if p.Fetch != nil {
		p.Fetch.AllowedNetworks = opts.AllowedNetworks
		p.Fetch.MaxBytes = opts.MaxFetchBytes
	}
	for _, m := range ds.Spec.Schema.MissingValues {
		p.MissingValues = append(p.MissingValues, string(m))
	}
	for i, c := range ds.Spec.Schema.Columns {
		field := fmt.Sprintf("spec.schema.columns[%d]", i)
		col := spec.Column{
			Name:      string(c.Name),
			Type:      string(c.Type),
			Required:  c.Required,
			Dimension: string(c.Dimension),
			Format:    c.Format,
			ValueKind: string(c.ValueKind),
			Earliest:  c.Earliest,
			Latest:    c.Latest,
		}
		checkRange(e, field, col)
		if c.Dimension != "" {
			d, ok := p.Dimension(col.Dimension)
			if !ok {
				e.add(field+".dimension", "%q is not a dimension of Initiative %q's vocabulary (dimensions: %s)", c.Dimension, ini.Name, quoteAll(dimensionNames(p.Dimensions)))
			} else if len(c.ValueMap) > 0 {
				col.ValueMap = map[string]string{}
				for code, group := range c.ValueMap {
					if !isGroup(d, string(group)) {
						e.add(field+".valueMap", "code %q maps to %q, which is neither a value of dimension %q nor its unknown group %q", code, group, d.Name, d.Unknown)
					}
					col.ValueMap[code] = string(group)
				}
			}
		}
		if c.Type == impactv1.ColumnInteger || c.Type == impactv1.ColumnNumber {
			if p.FrequencyColumn != "" && col.Name != p.FrequencyColumn && c.ValueKind == "" {
				e.add(field+".valueKind", "column %q of a source with a frequencyColumn must say whether it is a RowTotal or PerUnit value", c.Name)
			}
		}
		if c.Format != "" && c.Type != impactv1.ColumnDate && c.Type != impactv1.ColumnTimestamp {
			e.add(field+".format", "format is only used by Date and Timestamp columns")
		}
		p.Columns = append(p.Columns, col)
	}
	for i, f := range ds.Spec.Schema.ExcludeRows {
		field := fmt.Sprintf("spec.schema.excludeRows[%d]", i)
		p.ExcludeRows = append(p.ExcludeRows, filter(f))
		checkFilter(e, field, f, ds, nil)
	}
	return p, e.err()
}

// checkRange checks a column's plausible range: real dates, in order.
func checkRange(e *errs, field string, c spec.Column) {
	if c.Earliest == "" && c.Latest == "" {
		return
	}
	if c.Type != spec.TypeDate && c.Type != spec.TypeTimestamp {
		e.add(field+".type", "earliest and latest are only allowed on Date or Timestamp columns")
		return
	}
	lo, hi, err := c.PlausibleDays()
	if err != nil {
		e.add(field, "%v", err)
	} else if lo > hi {
		e.add(field+".earliest", "earliest %s is after latest %s", c.Earliest, c.Latest)
	}
}

func timeZone(ini *impactv1.Initiative) string {
	if ini.Spec.TimeZone == "" {
		return "UTC"
	}
	return ini.Spec.TimeZone
}

func dimensions(ini *impactv1.Initiative) []spec.Dimension {
	out := make([]spec.Dimension, 0, len(ini.Spec.Vocabulary))
	for _, d := range ini.Spec.Vocabulary {
		sd := spec.Dimension{Name: string(d.Name), Unknown: string(d.Unknown), Ordered: d.Ordered}
		if sd.Unknown == "" {
			sd.Unknown = impactv1.DefaultUnknownGroup
		}
		for _, v := range d.Values {
			sd.Values = append(sd.Values, string(v))
		}
		out = append(out, sd)
	}
	return out
}

func dimensionNames(ds []spec.Dimension) []string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	return names
}

func isGroup(d spec.Dimension, g string) bool {
	if g == d.Unknown {
		return true
	}
	for _, v := range d.Values {
		if v == g {
			return true
		}
	}
	return false
}

func hasPartner(ini *impactv1.Initiative, name string) bool {
	for _, p := range ini.Spec.Partners {
		if p.Name == name {
			return true
		}
	}
	return false
}

func partnerNames(ini *impactv1.Initiative) []string {
	var names []string
	for _, p := range ini.Spec.Partners {
		names = append(names, p.Name)
	}
	return names
}

func filter(f impactv1.Filter) spec.Filter {
	sf := spec.Filter{Column: string(f.Column), Operator: string(f.Operator)}
	for _, v := range f.Values {
		sf.Values = append(sf.Values, string(v))
	}
	return sf
}

func column(ds *impactv1.DataSource, name string) (impactv1.Column, bool) {
	for _, c := range ds.Spec.Schema.Columns {
		if string(c.Name) == name {
			return c, true
		}
	}
	return impactv1.Column{}, false
}

func columnNames(ds *impactv1.DataSource) []string {
	var names []string
	for _, c := range ds.Spec.Schema.Columns {
		names = append(names, string(c.Name))
	}
	return names
}

// checkFilter checks a filter against the source's schema: the column exists, Gt/Lt test a
// number, In/NotIn values are valid for the column's type (groups for a dimension column,
// unless dims is nil: excludeRows compare the partner's raw values, such as "ALL").
func checkFilter(e *errs, field string, f impactv1.Filter, ds *impactv1.DataSource, dims []spec.Dimension) {
	c, ok := column(ds, string(f.Column))
	if !ok {
		e.add(field+".column", "column %q is not in DataSource %q's spec.schema.columns (columns: %s)", f.Column, ds.Name, quoteAll(columnNames(ds)))
		return
	}
	switch f.Operator {
	case impactv1.FilterGt, impactv1.FilterLt:
		switch c.Type {
		case impactv1.ColumnInteger, impactv1.ColumnNumber:
		default:
			e.add(field+".operator", "%s compares numbers, but column %q has type %s", f.Operator, c.Name, c.Type)
		}
	case impactv1.FilterIn, impactv1.FilterNotIn:
		for j, v := range f.Values {
			vf := fmt.Sprintf("%s.values[%d]", field, j)
			switch {
			case c.Dimension != "" && dims == nil:
			case c.Dimension != "":
				for _, d := range dims {
					if d.Name == string(c.Dimension) && !isGroup(d, string(v)) {
						e.add(vf, "%q is not a group of dimension %q (groups: %s)", v, d.Name, quoteAll(d.Groups()))
					}
				}
			case c.Type == impactv1.ColumnBoolean && dims != nil:
				if s := strings.ToLower(string(v)); s != "true" && s != "false" {
					e.add(vf, "column %q is Boolean: values must be \"true\" or \"false\", not %q", c.Name, v)
				}
			case (c.Type == impactv1.ColumnDate || c.Type == impactv1.ColumnTimestamp) && dims != nil:
				e.add(field+".operator", "%s is not supported on %s column %q; filter periods with the indicator's time settings", f.Operator, c.Type, c.Name)
				return
			}
		}
	}
}
