package plan

import (
	"fmt"
	"slices"

	impactv1 "github.com/backbone-dev/backbone/api/v1alpha1"
	"github.com/backbone-dev/backbone/internal/pipeline/spec"
)

// Pin pins the snapshot of every source p reads to the id snapshots gives it (source →
// sha256:<hex>), replacing any earlier pins, and fails naming the sources that have none:
// an aggregation reads exactly the snapshots its plan names.
func Pin(p *spec.Aggregate, snapshots map[string]string) error {
	var inputs []spec.Input
	var missing []string
	for _, src := range p.Sources() { // sorted, so the plan's bytes do not depend on map order
		id := snapshots[src]
		if id == "" {
			missing = append(missing, src)
			continue
		}
		inputs = append(inputs, spec.Input{Source: src, Snapshot: id})
	}
	if len(missing) > 0 {
		return fmt.Errorf("initiative %s/%s: no snapshot to pin for source(s) %s: ingest them first", p.Namespace, p.Initiative, quoteAll(missing))
	}
	p.Inputs = inputs
	return nil
}

// pinFromStatus pins the snapshots the DataSources' status names as promoted (what the
// controller knows); sources without one stay unpinned and p.Unpinned names them.
func pinFromStatus(p *spec.Aggregate, sources []impactv1.DataSource) {
	ids := map[string]string{}
	for _, ds := range sources {
		if ds.Status.Snapshot != nil && ds.Status.Snapshot.ID != "" {
			ids[ds.Name] = ds.Status.Snapshot.ID
		}
	}
	p.Inputs = nil
	for _, src := range p.Sources() {
		if id := ids[src]; id != "" {
			p.Inputs = append(p.Inputs, spec.Input{Source: src, Snapshot: id})
		}
	}
}

// Orphans reports DataSources and Indicators whose Initiative is not among initiatives.
func Orphans(initiatives []impactv1.Initiative, sources []impactv1.DataSource, indicators []impactv1.Indicator) error {
	has := func(namespace, name string) bool {
		return slices.ContainsFunc(initiatives, func(ini impactv1.Initiative) bool {
			return ini.Namespace == namespace && ini.Name == name
		})
	}
	var errs Errors
	for _, ds := range sources {
		if !has(ds.Namespace, ds.Spec.InitiativeRef.Name) {
			errs = append(errs, &Error{Kind: "DataSource", Namespace: ds.Namespace, Name: ds.Name, Field: "spec.initiativeRef.name",
				Message: fmt.Sprintf("Initiative %q not found in namespace %q", ds.Spec.InitiativeRef.Name, ds.Namespace)})
		}
	}
	for _, ind := range indicators {
		if !has(ind.Namespace, ind.Spec.InitiativeRef.Name) {
			errs = append(errs, &Error{Kind: "Indicator", Namespace: ind.Namespace, Name: ind.Name, Field: "spec.initiativeRef.name",
				Message: fmt.Sprintf("Initiative %q not found in namespace %q", ind.Spec.InitiativeRef.Name, ind.Namespace)})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
