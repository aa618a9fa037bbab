{{/* Chart name, truncated for label values. */}}
{{- define "sqh.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix; short enough that "-webhook" and "-metrics" suffixes stay within 63. */}}
{{- define "sqh.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sqh.webhookName" -}}
{{- printf "%s-webhook" (include "sqh.fullname" .) }}
{{- end }}

{{- define "sqh.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Recommended labels for every object. */}}
{{- define "sqh.labels" -}}
helm.sh/chart: {{ include "sqh.chart" . }}
{{ include "sqh.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sgx-quote-helper
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Immutable selector: name + instance (+ component below, because the chart runs two workloads). */}}
{{- define "sqh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sqh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sqh.daemonSelectorLabels" -}}
{{ include "sqh.selectorLabels" . }}
app.kubernetes.io/component: quote-helper
{{- end }}

{{- define "sqh.webhookSelectorLabels" -}}
{{ include "sqh.selectorLabels" . }}
app.kubernetes.io/component: webhook
{{- end }}

{{/* True (non-empty) when the daemon talks to SGX hardware and needs devices and the DCAP image. */}}
{{- define "sqh.needsHardware" -}}
{{- if has .Values.provider.type (list "dcap" "auto") }}true{{ end }}
{{- end }}

{{- define "sqh.image" -}}
{{- $tag := .Values.image.tag | default (printf "%s%s" .Chart.AppVersion (ternary "-dcap" "" (eq (include "sqh.needsHardware" .) "true"))) }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{- define "sqh.webhookImage" -}}
{{- $repo := .Values.webhook.image.repository | default .Values.image.repository }}
{{- $tag := .Values.webhook.image.tag | default .Chart.AppVersion }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

{{/* Container securityContext shared by every container: nothing added back. */}}
{{- define "sqh.restrictedContainer" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{- define "sqh.drainSeconds" -}}
{{- int .Values.daemon.drainTimeoutSeconds }}
{{- end }}
