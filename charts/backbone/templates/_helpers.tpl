{{/*
The release's base name: the release name when it already holds the chart's name,
"<release>-backbone" otherwise. Cluster-scoped objects carry it, so two releases never share
one.
*/}}
{{- define "backbone.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The manager's objects: ServiceAccount, Deployment, roles and bindings. */}}
{{- define "backbone.managerName" -}}
{{- printf "%s-manager" (include "backbone.fullname" .) -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "backbone.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: backbone
{{- with .Values.region }}
impact.backbone.dev/region: {{ . | quote }}
{{- end }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The manager pods' selector. */}}
{{- define "backbone.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end -}}

{{/* The manager's image: repository@digest, or repository:tag (default appVersion). */}}
{{- define "backbone.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The leader election Lease's name, unique per release. */}}
{{- define "backbone.leaderElectionID" -}}
{{- printf "%s.impact.backbone.dev" (include "backbone.fullname" .) -}}
{{- end -}}

{{/* The manager's RBAC rules: config/rbac/role.yaml's, copied by `make chart`. */}}
{{- define "backbone.rules" -}}
{{- $role := .Files.Get "files/rbac/role.yaml" | fromYaml -}}
{{- if not $role.rules -}}
{{- fail "files/rbac/role.yaml has no rules: run make chart" -}}
{{- end -}}
{{ toYaml $role.rules }}
{{- end -}}

{{/* The community pages' Service and Ingress. */}}
{{- define "backbone.reportName" -}}
{{- printf "%s-report" (include "backbone.fullname" .) -}}
{{- end -}}

{{/*
The community pages' public address (--report-url): report.url, else the Ingress's host
(https:// with TLS), else nothing.
*/}}
{{- define "backbone.reportURL" -}}
{{- $r := .Values.report -}}
{{- if $r.url -}}
{{- $r.url -}}
{{- else if and $r.ingress.enabled $r.ingress.host -}}
{{- printf "%s://%s" (ternary "https" "http" $r.ingress.tls.enabled) $r.ingress.host -}}
{{- end -}}
{{- end -}}
