// Package dashboard builds the Grafana dashboard of an Initiative from its Indicators and
// their latest result: JSON that reads the /metrics series (docs/metrics.md) through a
// Prometheus data source, and the ConfigMap that ships it to Grafana's dashboard sidecar.
//
// Model. The JSON is encoded from small typed structs (model.go), a subset of Grafana's
// dashboard schema (schemaVersion 39). The same Initiative, Indicators and result give the
// same bytes: panels in a fixed order with sequential ids, Indicators sorted by name,
// dimensions and periods sorted, a uid derived from namespace and name.
//
// Content. An About text (what the numbers are, how suppression reads, each Indicator's
// minimum cell size); a headline stat per Indicator (its latest complete period's total,
// target, progress, reliability, on-track judgement); for the Indicator, dimension and
// period picked in the template variables, the value of every group per period with its
// interval and reliability, the suppressed cells as words ("withheld", never a number),
// the gap and ratio of each group to the reference group, and the index of disparity and
// coverage (k of m groups) per dimension; and a data-health table, one row per DataSource
// with its partner: last ingest, age, promotion, rows in, accepted, rejected, excluded,
// and the reject ratio.
//
// Units. A Proportion is shown in percent of its 0–1 value; other measures take their
// spec.unit, mapped to a Grafana unit when Grafana has one, else shown as a suffix. A
// panel of the selected Indicator holds one query per Indicator, each matching its own
// name and $indicator, so only the selected Indicator's returns data and its field
// override carries that Indicator's unit.
//
// Every query is an instant query of the series' labels (periods are labels, not
// timestamps), using only families and labels of the exposition; the Prometheus
// end-to-end test runs each against a real Prometheus scraping `backbone local`.
package dashboard
