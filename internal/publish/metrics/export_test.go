package metrics

// Test helpers for the tests of package metrics_test.
var (
	CheckSchema     = checkSchema
	CheckSuppressed = checkSuppressed
	Parse           = parse
	Render          = render
	// DocumentedFamilies are the metrics docs/metrics.md lists, with their labels.
	DocumentedFamilies = documentedFamilies
)
