// Package promtest runs Debian's prometheus for tests and checks a Grafana dashboard of
// Backbone against it: every panel's queries, run through Prometheus' HTTP API with the
// template variables set, return exactly the series a result says they should, name only
// metrics and labels Prometheus scraped, and no series of a suppressed cell carries a
// number. The expected series are computed from the result, the Indicators' specs and the
// snapshot manifests, independently of the exposition's code.
//
// The tests of `backbone local --listen` (internal/publish/dashboard) and of the manager
// (test/e2e) share it.
package promtest
