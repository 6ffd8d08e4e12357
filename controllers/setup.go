package controllers

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/backbone-dev/backbone/internal/plan"
	"github.com/backbone-dev/backbone/internal/store"
)

// Options are the settings of every reconciler.
type Options struct {
	Store *store.Store
	Jobs  JobOptions
	// Plan holds the file-location settings ingestion plans are compiled with.
	Plan plan.IngestOptions
}

// Setup registers the field indexes and the three reconcilers with a manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return fmt.Errorf("registering field indexes: %w", err)
	}
	if err := (&DataSourceReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("backbone-datasource"),
		Store: opts.Store, Jobs: opts.Jobs, Plan: opts.Plan,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the DataSource controller: %w", err)
	}
	if err := (&InitiativeReconciler{
		Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("backbone-initiative"), Store: opts.Store, Jobs: opts.Jobs,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Initiative controller: %w", err)
	}
	if err := (&IndicatorReconciler{
		Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("backbone-indicator"), Store: opts.Store,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Indicator controller: %w", err)
	}
	return nil
}
