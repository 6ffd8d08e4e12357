// Package controllers holds Backbone's reconcilers, one file per kind. The RBAC markers below
// declare what the manager may do; `make manifests` turns them into config/rbac/role.yaml.
package controllers

// The manager reads its three kinds and patches their status; it owns CronJobs, Jobs (and
// deletes finished run-now Jobs beyond the history limits), plan and dashboard ConfigMaps
// and, with --grafana-dashboard-crs, GrafanaDashboards (the finalizers rules let it set
// blockOwnerDeletion on what it owns),
// creates each namespace's Job ServiceAccount, reads Job pods' termination messages,
// records Events (events.k8s.io for its own; the core API for leader election's) and
// holds the leader Lease. It never reads Secrets: a Secret a source
// needs is mounted into the Job pod by name.
//
// +kubebuilder:rbac:groups=impact.backbone.dev,resources=initiatives;datasources;indicators,verbs=get;list;watch
// +kubebuilder:rbac:groups=impact.backbone.dev,resources=initiatives/status;datasources/status;indicators/status,verbs=patch
// +kubebuilder:rbac:groups=impact.backbone.dev,resources=initiatives/finalizers;datasources/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=cronjobs,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=batch,resources=jobs/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=grafana.integreatly.org,resources=grafanadashboards,verbs=get;create;update;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=create
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
