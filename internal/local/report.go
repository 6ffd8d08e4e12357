package local

import (
	"context"

	"github.com/backbone-dev/backbone/internal/publish/report"
	"github.com/backbone-dev/backbone/internal/result"
	"github.com/backbone-dev/backbone/internal/store"
)

// ReportInputs pairs each result of a local run with the objects it was computed from:
// what the community page (`backbone local --report`, and the pages --listen serves)
// renders.
func ReportInputs(ctx context.Context, st *store.Store, m *Manifests, out *Output) ([]*report.Input, error) {
	var ins []*report.Input
	for i, key := range out.ResultKeys {
		man, err := result.ReadManifest(ctx, st, key)
		if err != nil {
			return nil, err
		}
		in := &report.Input{Manifest: man, Result: out.Results[i]}
		for j := range m.Initiatives {
			if ini := &m.Initiatives[j]; ini.Namespace == man.Namespace && ini.Name == man.Initiative {
				in.Initiative = ini
			}
		}
		for _, ind := range m.Indicators {
			if ind.Namespace == man.Namespace && ind.Spec.InitiativeRef.Name == man.Initiative {
				in.Indicators = append(in.Indicators, ind)
			}
		}
		for _, ds := range m.DataSources {
			if ds.Namespace == man.Namespace && ds.Spec.InitiativeRef.Name == man.Initiative {
				in.DataSources = append(in.DataSources, ds)
			}
		}
		ins = append(ins, in)
	}
	return ins, nil
}
