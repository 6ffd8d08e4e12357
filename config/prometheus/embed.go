// Package prometheus embeds Backbone's alerting rules: rules.yaml, a Prometheus rule file
// (the source), and the PrometheusRule of the Prometheus Operator built from it, so that
// the file checked in as prometheusrule.yaml and what a manager would apply are the same.
package prometheus

import (
	_ "embed"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Rules is rules.yaml: the rule groups, as Prometheus' rule_files read them.
//
//go:embed rules.yaml
var Rules []byte

// header starts the generated prometheusrule.yaml.
const header = `# Generated from rules.yaml by ` + "`go test ./config/prometheus -update`" + `; edit rules.yaml.
# The PrometheusRule of the Prometheus Operator with the same groups (docs/alerts.md).
`

// RuleFile is the shape of a Prometheus rule file: its groups, kept as decoded.
type RuleFile struct {
	Groups []any `json:"groups"`
}

// PrometheusRule returns the PrometheusRule (monitoring.coreos.com/v1) named name whose
// spec is the groups of rules.yaml, with labels (for the Operator's ruleSelector), as
// YAML.
func PrometheusRule(name string, labels map[string]string) ([]byte, error) {
	var rf RuleFile
	if err := yaml.UnmarshalStrict(Rules, &rf); err != nil {
		return nil, fmt.Errorf("rules.yaml: %w", err)
	}
	if len(rf.Groups) == 0 {
		return nil, fmt.Errorf("rules.yaml: no rule groups")
	}
	meta := map[string]any{"name": name}
	if len(labels) > 0 {
		meta["labels"] = labels
	}
	obj := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata":   meta,
		"spec":       rf,
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("PrometheusRule %s: %w", name, err)
	}
	return append([]byte(header), b...), nil
}

// DefaultLabels are the labels of the checked-in PrometheusRule.
var DefaultLabels = map[string]string{
	"app.kubernetes.io/name":    "backbone",
	"app.kubernetes.io/part-of": "backbone",
}
