// Package metrics renders results and snapshot manifests as a Prometheus exposition: what
// `backbone local --listen` serves on /metrics, and what the manager will serve.
//
// Model. Results change once per aggregation and are read on every scrape, so each
// Indicator and each DataSource is an entry built when its result (or snapshot) changes,
// in a compact form: the label sets of its series formatted once and shared by their
// samples (the entry's first three labels once, then each label set's others), and per
// metric family its samples as (label set, float64). A scrape renders the sample lines
// from it as it writes them: family by family, the family's HELP and TYPE once and then
// every entry's samples, in a fixed order (entries sorted by namespace, initiative and
// name), into a buffered writer; the whole text is never held, and the same results
// always give the same bytes. About 100k series are held in ≈ 23 bytes a series (the
// text lines took ≈ 270). A scrape allocates nothing per series; the entries are
// immutable and replaced whole, so a slow scraper never blocks an update. Nothing of the
// result is kept: an entry marks its groups' samples, so a cap switches it between every
// series and its totals without the cells.
//
// Formats. The Prometheus text format (0.0.4) and OpenMetrics 1.0 are negotiated from the
// Accept header (expfmt.NegotiateIncludingOpenMetrics; anything else gets text). Every
// family is a gauge without a unit line, and numbers are written as the text format
// writes them (a form OpenMetrics accepts), so both formats share the same lines;
// OpenMetrics only adds the closing "# EOF". Gzip is used when the client accepts it.
//
// Labels. A fixed schema, never a label named after data: namespace, initiative,
// indicator, period, dimension, group, and the constant region (Options.Region). The total
// has dimension="" and group=""; an intersection joins its dimension names, sorted, with
// "," and its groups in the same order (dimension="income,race_ethnicity",
// group="Low income,Black"; a "," or "\" inside a group is escaped with "\"). Data
// health series carry namespace, initiative, source, partner and region. Each family's
// labels are a subset of these, listed in docs/metrics.md.
//
// Disclosure. A suppressed cell carries only its suppressed and partial flags: no value,
// numerator, denominator, n, interval or reliability series. Equity series are the
// result's, computed over published groups only. The rows of a source are its snapshot
// manifest's counters, published as they are.
//
// Cardinality. Each Indicator publishes at most Options.IndicatorCap series, and all
// Indicators together at most Options.GlobalCap: an Indicator over its cap publishes only
// its totals (the total cells and the Indicator-level series) and says so in
// backbone_indicator_series_capped. An entry holds its groups' samples, capped or not, and
// a scrape of a capped Indicator leaves them out; backbone_indicator_series and
// backbone_indicator_series_capped are written from the entry's state at the scrape.
// When the Indicators together exceed the global cap, the largest are cut to their
// totals first (ties by key) until the rest fit.
package metrics
