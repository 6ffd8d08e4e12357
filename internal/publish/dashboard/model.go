package dashboard

// A minimal model of the Grafana dashboard JSON (schemaVersion 39): only the fields the
// dashboards use. Maps are avoided where order matters, so the JSON is the same bytes for
// the same input.

// SchemaVersion is the Grafana dashboard schema version the JSON is written for.
const SchemaVersion = 39

// Dashboard is a Grafana dashboard.
type Dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	Description   string      `json:"description,omitempty"`
	Tags          []string    `json:"tags"`
	Timezone      string      `json:"timezone"`
	Editable      bool        `json:"editable"`
	GraphTooltip  int         `json:"graphTooltip"`
	SchemaVersion int         `json:"schemaVersion"`
	Version       int         `json:"version"`
	Refresh       string      `json:"refresh"`
	Time          TimeRange   `json:"time"`
	Templating    Templating  `json:"templating"`
	Annotations   Annotations `json:"annotations"`
	Panels        []Panel     `json:"panels"`
}

// TimeRange is the dashboard's time range. The panels query instants (periods are labels,
// not timestamps), so it only bounds what Grafana asks for.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Annotations lists the dashboard's annotation queries (none).
type Annotations struct {
	List []any `json:"list"`
}

// Templating holds the template variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a template variable: a data source picker, a custom list or a query of
// label values.
type Variable struct {
	Type        string         `json:"type"` // "datasource", "custom" or "query"
	Name        string         `json:"name"`
	Label       string         `json:"label,omitempty"`
	Description string         `json:"description,omitempty"`
	Query       string         `json:"query"`
	Definition  string         `json:"definition,omitempty"`
	Datasource  *DatasourceRef `json:"datasource,omitempty"`
	// Refresh is when a query variable's values are asked again: 1 on load, 2 on a change
	// of the time range.
	Refresh int `json:"refresh,omitempty"`
	// Sort orders a query variable's values: 1 alphabetically, 2 alphabetically descending.
	Sort        int              `json:"sort,omitempty"`
	Current     VariableOption   `json:"current"`
	Options     []VariableOption `json:"options"`
	Hide        int              `json:"hide"`
	Multi       bool             `json:"multi"`
	IncludeAll  bool             `json:"includeAll"`
	SkipURLSync bool             `json:"skipUrlSync"`
}

// VariableOption is one value of a variable.
type VariableOption struct {
	Text     string `json:"text,omitempty"`
	Value    string `json:"value,omitempty"`
	Selected bool   `json:"selected"`
}

// Panel is a dashboard panel; a row is a panel of type "row".
type Panel struct {
	ID              int              `json:"id"`
	Type            string           `json:"type"`
	Title           string           `json:"title"`
	Description     string           `json:"description,omitempty"`
	GridPos         GridPos          `json:"gridPos"`
	Collapsed       *bool            `json:"collapsed,omitempty"`
	Datasource      *DatasourceRef   `json:"datasource,omitempty"`
	Targets         []Target         `json:"targets,omitempty"`
	FieldConfig     *FieldConfig     `json:"fieldConfig,omitempty"`
	Options         any              `json:"options,omitempty"`
	Transformations []Transformation `json:"transformations,omitempty"`
	// Panels are a collapsed row's panels (always empty: rows are open).
	Panels []Panel `json:"panels,omitempty"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// DatasourceRef names a data source; the panels name the ${datasource} variable.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is a Prometheus query of a panel.
type Target struct {
	RefID        string         `json:"refId"`
	Datasource   *DatasourceRef `json:"datasource,omitempty"`
	Expr         string         `json:"expr"`
	Instant      bool           `json:"instant"`
	Range        bool           `json:"range"`
	Format       string         `json:"format"` // "table" or "time_series"
	LegendFormat string         `json:"legendFormat,omitempty"`
}

// FieldConfig is a panel's field defaults and overrides.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []Override    `json:"overrides"`
}

// FieldDefaults are the display settings of every field of a panel.
type FieldDefaults struct {
	Unit        string         `json:"unit,omitempty"`
	Decimals    *int           `json:"decimals,omitempty"`
	Min         *float64       `json:"min,omitempty"`
	Max         *float64       `json:"max,omitempty"`
	NoValue     string         `json:"noValue,omitempty"`
	DisplayName string         `json:"displayName,omitempty"`
	Mappings    []ValueMapping `json:"mappings"`
	Thresholds  *Thresholds    `json:"thresholds,omitempty"`
	Color       *FieldColor    `json:"color,omitempty"`
	Custom      any            `json:"custom,omitempty"`
}

// Override changes properties of the fields a matcher selects.
type Override struct {
	Matcher    Matcher    `json:"matcher"`
	Properties []Property `json:"properties"`
}

// Matcher selects fields: byName, byFrameRefID, byRegexp…
type Matcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

// Property is one overridden field property (unit, displayName, mappings, custom.hidden…).
type Property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// ValueMapping maps values or special values (null, empty) to text.
type ValueMapping struct {
	Type    string `json:"type"` // "value" or "special"
	Options any    `json:"options"`
}

// MappingResult is what a mapped value is shown as.
type MappingResult struct {
	Text  string `json:"text"`
	Color string `json:"color,omitempty"`
	Index int    `json:"index"`
}

// SpecialMatch maps a special value ("null", "empty", "nan"…).
type SpecialMatch struct {
	Match  string        `json:"match"`
	Result MappingResult `json:"result"`
}

// Thresholds colour values by steps.
type Thresholds struct {
	Mode  string          `json:"mode"`
	Steps []ThresholdStep `json:"steps"`
}

// ThresholdStep is one step; the first has no value (the base).
type ThresholdStep struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// FieldColor is how a field is coloured.
type FieldColor struct {
	Mode string `json:"mode"`
}

// Transformation is a Grafana data transformation.
type Transformation struct {
	ID      string `json:"id"`
	Options any    `json:"options"`
}

// ReduceOptions are a stat panel's reduction.
type ReduceOptions struct {
	Calcs  []string `json:"calcs"`
	Fields string   `json:"fields"`
	Values bool     `json:"values"`
}

// StatOptions are a stat panel's options.
type StatOptions struct {
	ReduceOptions ReduceOptions `json:"reduceOptions"`
	ColorMode     string        `json:"colorMode"`
	GraphMode     string        `json:"graphMode"`
	JustifyMode   string        `json:"justifyMode"`
	TextMode      string        `json:"textMode"`
	Orientation   string        `json:"orientation"`
}

// TableOptions are a table panel's options.
type TableOptions struct {
	ShowHeader bool       `json:"showHeader"`
	CellHeight string     `json:"cellHeight"`
	SortBy     []SortBy   `json:"sortBy"`
	Footer     *TableFoot `json:"footer,omitempty"`
}

// SortBy sorts a table by a column.
type SortBy struct {
	DisplayName string `json:"displayName"`
	Desc        bool   `json:"desc"`
}

// TableFoot is a table's footer (hidden).
type TableFoot struct {
	Show bool `json:"show"`
}

// TextOptions are a text panel's options.
type TextOptions struct {
	Mode    string `json:"mode"` // "markdown"
	Content string `json:"content"`
}

// BarChartOptions are a bar chart panel's options.
type BarChartOptions struct {
	Orientation string        `json:"orientation"`
	XField      string        `json:"xField"`
	ShowValue   string        `json:"showValue"`
	Stacking    string        `json:"stacking"`
	GroupWidth  float64       `json:"groupWidth"`
	BarWidth    float64       `json:"barWidth"`
	Legend      LegendOptions `json:"legend"`
	Tooltip     TooltipOption `json:"tooltip"`
}

// LegendOptions are a panel's legend settings.
type LegendOptions struct {
	DisplayMode string `json:"displayMode"`
	Placement   string `json:"placement"`
	ShowLegend  bool   `json:"showLegend"`
}

// TooltipOption is a panel's tooltip mode.
type TooltipOption struct {
	Mode string `json:"mode"`
	Sort string `json:"sort"`
}
