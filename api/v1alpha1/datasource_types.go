package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Format is the file format of a partner's data.
// +kubebuilder:validation:Enum=CSV;Parquet;ArrowIPC;JSONLines;XLSX
type Format string

// Formats a DataSource can read.
const (
	FormatCSV       Format = "CSV"
	FormatParquet   Format = "Parquet"
	FormatArrowIPC  Format = "ArrowIPC"
	FormatJSONLines Format = "JSONLines"
	FormatXLSX      Format = "XLSX"
)

// ColumnType is the type a column's values are validated and parsed as.
// +kubebuilder:validation:Enum=String;Integer;Number;Boolean;Date;Timestamp
type ColumnType string

// Column types.
const (
	ColumnString    ColumnType = "String"
	ColumnInteger   ColumnType = "Integer"
	ColumnNumber    ColumnType = "Number"
	ColumnBoolean   ColumnType = "Boolean"
	ColumnDate      ColumnType = "Date"
	ColumnTimestamp ColumnType = "Timestamp"
)

// ValueKind says how a numeric column of an aggregated source relates to its frequency column.
// +kubebuilder:validation:Enum=RowTotal;PerUnit
type ValueKind string

// Value kinds.
const (
	// ValueRowTotal is a value already summed over the row's people (e.g. ready_students).
	ValueRowTotal ValueKind = "RowTotal"
	// ValuePerUnit is each person's value, weighted by the frequency.
	ValuePerUnit ValueKind = "PerUnit"
)

// DataSourceSpec describes one partner's feed: where it is, its format, its schema mapped
// onto the initiative's vocabulary, and when it is ingested.
// +kubebuilder:validation:XValidation:rule="self.initiativeRef == oldSelf.initiativeRef",message="spec.initiativeRef is immutable: create a new DataSource to feed another initiative",fieldPath=".initiativeRef",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="self.partner == oldSelf.partner",message="spec.partner is immutable: create a new DataSource for another partner",fieldPath=".partner",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.csv) || self.format == 'CSV'",message="spec.csv is only allowed with format CSV",fieldPath=".csv",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.xlsx) || self.format == 'XLSX'",message="spec.xlsx is only allowed with format XLSX",fieldPath=".xlsx",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.maxRejectPercent) || (self.maxRejectPercent >= 0 && self.maxRejectPercent <= 100)",message="spec.maxRejectPercent must be between 0 and 100",fieldPath=".maxRejectPercent",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.maxShrinkPercent) || (self.maxShrinkPercent >= 0 && self.maxShrinkPercent <= 100)",message="spec.maxShrinkPercent must be between 0 and 100",fieldPath=".maxShrinkPercent",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.schedule) || self.schedule.matches('^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$') || self.schedule.matches('^[^ \\t]+([ \\t]+[^ \\t]+){4}$')",message="spec.schedule must be five cron fields (minute hour day-of-month month day-of-week), e.g. \"0 6 * * *\", or a macro such as @daily",fieldPath=".schedule",reason=FieldValueInvalid
type DataSourceSpec struct {
	// InitiativeRef names the Initiative this source feeds, in the same namespace. Immutable.
	// +required
	InitiativeRef LocalObjectReference `json:"initiativeRef"`

	// Partner is the name of the Initiative's partner that provides this data. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Partner string `json:"partner"`

	// Format of the data: CSV, Parquet, ArrowIPC (file or stream), JSONLines or XLSX.
	// +required
	Format Format `json:"format"`

	// CSV holds the options of the CSV format.
	// +optional
	CSV *CSVOptions `json:"csv,omitempty"`

	// XLSX holds the options of the XLSX format.
	// +optional
	XLSX *XLSXOptions `json:"xlsx,omitempty"`

	// Location says where the data is: exactly one of http, objectStore, configMap, postgres, file.
	// +required
	Location Location `json:"location"`

	// Schema declares the columns read, their types and their mapping onto the vocabulary.
	// +required
	Schema Schema `json:"schema"`

	// Schedule is when the source is ingested, as five cron fields ("0 6 * * *") or a macro
	// (@daily). Without a schedule the source is ingested when created, when its spec changes
	// and when the impact.backbone.dev/requestedAt annotation changes.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Schedule string `json:"schedule,omitempty"`

	// TimeZone of the schedule (IANA name). Defaults to the controller's time zone.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`
	TimeZone string `json:"timeZone,omitempty"`

	// Suspend stops scheduled ingestion; existing snapshots stay published.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// MaxRejectPercent is the largest share of rejected rows (0–100) with which a snapshot is
	// still promoted. Rejected rows are always written to the rejects file.
	// +optional
	// +kubebuilder:default=5
	MaxRejectPercent *int32 `json:"maxRejectPercent,omitempty"`

	// MaxShrinkPercent is the largest drop (0–100) in accepted rows, against the source's
	// promoted snapshot, with which a new snapshot is still promoted. A snapshot without
	// accepted rows (an empty export, a CSV of only its header) is promoted only with 100.
	// A snapshot held back is kept in the store, and its status says why.
	// +optional
	// +kubebuilder:default=50
	MaxShrinkPercent *int32 `json:"maxShrinkPercent,omitempty"`

	// Retention says how many snapshots are kept in the store: after a promoted ingestion
	// the Job removes the older ones. Without it every snapshot is kept.
	// +optional
	Retention *Retention `json:"retention,omitempty"`
}

// CSVOptions are the options of the CSV format.
type CSVOptions struct {
	// Delimiter is the field delimiter: one character, "," by default ("\t" for tab).
	// +optional
	// +kubebuilder:default=","
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1
	Delimiter string `json:"delimiter,omitempty"`

	// Header says the first line names the columns. Without a header, columns are matched by
	// their position in spec.schema.columns.
	// +optional
	// +kubebuilder:default=true
	Header *bool `json:"header,omitempty"`
}

// XLSXOptions are the options of the XLSX format.
type XLSXOptions struct {
	// Sheet is the name of the worksheet to read; the first sheet by default.
	// +optional
	// +kubebuilder:validation:MaxLength=31
	Sheet string `json:"sheet,omitempty"`

	// HeaderRow is the 1-based row holding the column names; data starts on the next row.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1048576
	HeaderRow *int32 `json:"headerRow,omitempty"`
}

// Location says where a partner's data is. Exactly one field is set.
// +kubebuilder:validation:XValidation:rule="(has(self.http) ? 1 : 0) + (has(self.objectStore) ? 1 : 0) + (has(self.configMap) ? 1 : 0) + (has(self.postgres) ? 1 : 0) + (has(self.file) ? 1 : 0) == 1",message="spec.location must set exactly one of http, objectStore, configMap, postgres, file",reason=FieldValueInvalid
type Location struct {
	// HTTP fetches the data from an https URL.
	// +optional
	HTTP *HTTPLocation `json:"http,omitempty"`

	// ObjectStore reads one object of an S3-compatible, GCS or Azure blob store.
	// +optional
	ObjectStore *ObjectStoreLocation `json:"objectStore,omitempty"`

	// ConfigMap reads a key of a ConfigMap in the same namespace (small tables).
	// +optional
	ConfigMap *ConfigMapLocation `json:"configMap,omitempty"`

	// Postgres runs a query against a PostgreSQL database.
	// +optional
	Postgres *PostgresLocation `json:"postgres,omitempty"`

	// File reads a path on the ingest pod's filesystem. Refused unless the manager runs with
	// --allow-file-locations (local mode, single-node clusters, tests).
	// +optional
	File *FileLocation `json:"file,omitempty"`
}

// HTTPLocation fetches data over https.
type HTTPLocation struct {
	// URL of the data; https only.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https://[^\s]+$`
	URL string `json:"url"`

	// HeadersSecretRef names a Secret whose keys are sent as request headers
	// (e.g. Authorization); the keys username and password give basic authentication.
	// The Secret is mounted into the ingestion pod; the manager does not read it.
	// +optional
	HeadersSecretRef *LocalObjectReference `json:"headersSecretRef,omitempty"`
}

// ObjectStoreLocation reads one object of a blob store.
type ObjectStoreLocation struct {
	// URL of the object: s3://bucket/key, gs://bucket/key or azblob://container/key.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^(s3|gs|azblob)://[^\s/]+/[^\s]+$`
	URL string `json:"url"`

	// Endpoint of an S3-compatible server, e.g. https://minio.example.org.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	Endpoint string `json:"endpoint,omitempty"`

	// Region of the bucket.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Region string `json:"region,omitempty"`

	// PathStyle addresses the bucket in the path rather than the host name.
	// +optional
	PathStyle bool `json:"pathStyle,omitempty"`

	// CredentialsSecretRef names a Secret with the store's credentials: accessKeyId and
	// secretAccessKey (s3), credentials.json (gs), connectionString or accountName and
	// accountKey (azblob). Without it the platform's workload identity is used.
	// +optional
	CredentialsSecretRef *LocalObjectReference `json:"credentialsSecretRef,omitempty"`
}

// ConfigMapLocation reads one key of a ConfigMap in the same namespace.
type ConfigMapLocation struct {
	// Name of the ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key of the ConfigMap's data (or binaryData) holding the table.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// PostgresLocation runs a query against PostgreSQL.
// +kubebuilder:validation:XValidation:rule="has(self.query) && self.query.trim().size() > 0",message="spec.location.postgres.query is required: the SELECT statement whose rows are ingested",fieldPath=".query",reason=FieldValueRequired
type PostgresLocation struct {
	// DSNSecretRef names the Secret key holding the connection string.
	// +required
	DSNSecretRef SecretKeyReference `json:"dsnSecretRef"`

	// Query is the SELECT statement whose rows are ingested.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Query string `json:"query,omitempty"`
}

// FileLocation reads a file on the ingest pod's filesystem.
type FileLocation struct {
	// Path of the file. A relative path is resolved against the manifest's folder in local mode.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Path string `json:"path"`
}

// Schema declares the columns of a source and how they map onto the vocabulary.
// +kubebuilder:validation:XValidation:rule="!has(self.frequencyColumn) || self.columns.exists(c, c.name == self.frequencyColumn && c.type == 'Integer')",message="spec.schema.frequencyColumn must name an Integer column of spec.schema.columns",fieldPath=".frequencyColumn",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="has(self.frequencyColumn) || self.columns.all(c, !has(c.valueKind))",message="spec.schema.columns[].valueKind is only allowed with spec.schema.frequencyColumn",fieldPath=".columns",reason=FieldValueForbidden
type Schema struct {
	// Columns read from the source. Columns of the data not listed here are ignored.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=512
	Columns []Column `json:"columns"`

	// FrequencyColumn makes this an aggregated source: each row stands for this many people.
	// Every other numeric column then says whether it is a RowTotal or PerUnit value.
	// +optional
	FrequencyColumn ColumnName `json:"frequencyColumn,omitempty"`

	// MissingValues are markers the partner uses for missing data ("*", "<10", "N/A"),
	// read as null in every column.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	MissingValues []GroupName `json:"missingValues,omitempty"`

	// ExcludeRows declares rows to leave out, such as a partner's subtotal rows. Excluded rows
	// are counted in the snapshot's ledger, never dropped silently. A row is excluded when it
	// matches every expression.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	ExcludeRows []Filter `json:"excludeRows,omitempty"`
}

// Column declares one column of a source.
// +kubebuilder:validation:XValidation:rule="!has(self.dimension) || self.type == 'String'",message="a dimension column must have type String (codes are mapped through valueMap)",fieldPath=".type",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.valueMap) || has(self.dimension)",message="valueMap is only allowed on a dimension column: set dimension too",fieldPath=".valueMap",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.valueKind) || self.type == 'Integer' || self.type == 'Number'",message="valueKind is only allowed on Integer or Number columns",fieldPath=".valueKind",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="(!has(self.earliest) && !has(self.latest)) || self.type == 'Date' || self.type == 'Timestamp'",message="earliest and latest are only allowed on Date or Timestamp columns",fieldPath=".type",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.earliest) || !has(self.latest) || self.earliest <= self.latest",message="earliest must not be after latest",fieldPath=".earliest",reason=FieldValueInvalid
type Column struct {
	// Name of the column in the data (the header, the field name, or the SQL column).
	// +required
	Name ColumnName `json:"name"`

	// Type of the column's values: String, Integer, Number, Boolean, Date or Timestamp.
	// +required
	Type ColumnType `json:"type"`

	// Required rejects rows where this column is null or a missing-value marker.
	// +optional
	Required bool `json:"required,omitempty"`

	// Dimension maps this column onto a vocabulary dimension of the Initiative. Values are
	// mapped through valueMap, or matched to a canonical value ignoring case and surrounding
	// spaces; null and missing-value markers become the dimension's unknown group; any other
	// value is rejected with its row.
	// +optional
	Dimension DimensionName `json:"dimension,omitempty"`

	// ValueMap maps the partner's codes to the dimension's values (or its unknown group),
	// e.g. {"1": Asian, "9": Unknown}.
	// +optional
	// +kubebuilder:validation:MaxProperties=1000
	ValueMap map[string]GroupName `json:"valueMap,omitempty"`

	// Format is the layout of Date and Timestamp values, in Go's reference-time notation
	// (e.g. "01/02/2006"). By default dates are ISO 8601 (2006-01-02) and timestamps RFC 3339,
	// with or without an offset; a timestamp without offset is local time in the Initiative's
	// time zone.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Format string `json:"format,omitempty"`

	// ValueKind says, for a source with a frequencyColumn, whether this numeric column is a
	// RowTotal (already summed over the row's people) or PerUnit (each person's value).
	// +optional
	ValueKind ValueKind `json:"valueKind,omitempty"`

	// Earliest and Latest are the plausible range of a Date or Timestamp column, as dates
	// (YYYY-MM-DD, inclusive; a timestamp is compared by its day in the Initiative's time
	// zone). A row outside is rejected with its value and the range: a "no end date"
	// sentinel such as 9999-12-31 or a year-1 typo would otherwise stretch every indicator
	// over thousands of years. Defaults 1900-01-01 and 2100-12-31.
	// +optional
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	Earliest string `json:"earliest,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	Latest string `json:"latest,omitempty"`
}

// Retention says how many snapshots are kept.
type Retention struct {
	// Snapshots is the number of promoted snapshots kept in the store, newest first. The
	// promoted snapshot and the one the Initiative's latest result reads are kept besides.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Snapshots int32 `json:"snapshots,omitempty"`
}

// SnapshotStatus describes the latest promoted snapshot of a source.
type SnapshotStatus struct {
	// ID is the content hash of the snapshot, sha256:<hex>.
	// +kubebuilder:validation:MaxLength=80
	ID string `json:"id"`
	// URI of the snapshot's manifest in the store.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	URI string `json:"uri,omitempty"`
	// Rows is the number of rows accepted.
	Rows int64 `json:"rows"`
	// RejectedRows is the number of rows written to the rejects file.
	RejectedRows int64 `json:"rejectedRows"`
	// ExcludedRows is the number of rows left out by spec.schema.excludeRows.
	ExcludedRows int64 `json:"excludedRows"`
	// Bytes is the size of the snapshot's data in the store.
	// +optional
	Bytes int64 `json:"bytes,omitempty"`
	// SchemaHash is the hash of the schema the snapshot was validated against.
	// +optional
	// +kubebuilder:validation:MaxLength=80
	SchemaHash string `json:"schemaHash,omitempty"`
	// Time the snapshot was written.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
}

// DataSourceStatus is the observed state of a DataSource.
type DataSourceStatus struct {
	CommonStatus `json:",inline"`

	// Snapshot is the latest promoted snapshot.
	// +optional
	Snapshot *SnapshotStatus `json:"snapshot,omitempty"`

	// LastScheduleTime is when ingestion last started.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// NextScheduleTime is when ingestion will start next.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
}

// DataSource is one partner's feed: where the data is, its format, its schema mapped onto
// the Initiative's vocabulary, and when it is ingested into content-addressed snapshots.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dsrc,categories=backbone
// +kubebuilder:printcolumn:name="Partner",type=string,JSONPath=`.spec.partner`
// +kubebuilder:printcolumn:name="Format",type=string,JSONPath=`.spec.format`
// +kubebuilder:printcolumn:name="Rows",type=integer,JSONPath=`.status.snapshot.rows`
// +kubebuilder:printcolumn:name="Rejected",type=integer,JSONPath=`.status.snapshot.rejectedRows`
// +kubebuilder:printcolumn:name="Last success",type=date,JSONPath=`.status.snapshot.time`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,priority=1
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="metadata.name of a DataSource must be at most 52 characters (it names the ingestion CronJob)",reason=FieldValueInvalid
type DataSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the feed.
	// +required
	Spec DataSourceSpec `json:"spec"`

	// Status is the observed state.
	// +optional
	Status DataSourceStatus `json:"status,omitempty"`
}

// DataSourceList is a list of DataSources.
//
// +kubebuilder:object:root=true
type DataSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DataSource `json:"items"`
}
