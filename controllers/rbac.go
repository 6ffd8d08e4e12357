// Package controllers holds Backbone's reconcilers, one file per kind. The RBAC markers below
// declare what the manager may do; `make manifests` turns them into config/rbac/role.yaml.
package controllers

// +kubebuilder:rbac:groups=impact.backbone.dev,resources=initiatives;datasources;indicators,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=impact.backbone.dev,resources=initiatives/status;datasources/status;indicators/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=impact.backbone.dev,resources=initiatives/finalizers;datasources/finalizers;indicators/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=cronjobs;jobs,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
