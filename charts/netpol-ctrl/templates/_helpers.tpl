{{/* Names and labels. */}}
{{- define "netpol-ctrl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's object name: the release name when it already contains the chart's. */}}
{{- define "netpol-ctrl.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "netpol-ctrl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "netpol-ctrl.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name the existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* On every object. deploy/ has app.kubernetes.io/name and part-of; the rest is Helm's. */}}
{{- define "netpol-ctrl.labels" -}}
app.kubernetes.io/name: {{ include "netpol-ctrl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: netpol-ctrl
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The controller's pods (Deployment selector, NetworkPolicy, anti-affinity, Service). */}}
{{- define "netpol-ctrl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netpol-ctrl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/*
The config file: .Values.config without the keys left to the binary's
default (null, "" or []). false and 0 are kept: they are settings.
*/}}
{{- define "netpol-ctrl.configFile" -}}
{{- $out := dict }}
{{- range $k, $v := .Values.config }}
{{- if kindIs "invalid" $v }}
{{- else if and (kindIs "string" $v) (eq $v "") }}
{{- else if and (kindIs "slice" $v) (eq (len $v) 0) }}
{{- else }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* "true" when config KEY is on: true, or null/absent and the binary's default (DEFAULT) is on. */}}
{{- define "netpol-ctrl.flagOn" -}}
{{- $v := index .root.Values.config .key }}
{{- if kindIs "invalid" $v }}{{ .default }}{{ else }}{{ $v }}{{ end }}
{{- end }}

{{/*
The port of a bind address ("host:port", ":port"), "" when it is "0" (off).
Fails on anything else, naming the key.
*/}}
{{- define "netpol-ctrl.bindPort" -}}
{{- $addr := toString (index .root.Values.config .key) }}
{{- if ne $addr "0" }}
{{- $port := regexReplaceAll "^.*:" $addr "" }}
{{- if not (and (contains ":" $addr) (regexMatch "^[0-9]+$" $port)) }}
{{- fail (printf "config.%s: %q is not host:port, :port or 0" .key $addr) }}
{{- end }}
{{- $port }}
{{- end }}
{{- end }}

{{- define "netpol-ctrl.metricsPort" -}}
{{- include "netpol-ctrl.bindPort" (dict "root" . "key" "metrics-bind-address") }}
{{- end }}

{{- define "netpol-ctrl.healthPort" -}}
{{- include "netpol-ctrl.bindPort" (dict "root" . "key" "health-probe-bind-address") }}
{{- end }}

{{- define "netpol-ctrl.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Settings that cannot work together fail the render with what to change. */}}
{{- define "netpol-ctrl.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (ne (include "netpol-ctrl.flagOn" (dict "root" . "key" "leader-elect" "default" "false")) "true") }}
{{- fail (printf "replicas: %d needs config.leader-elect: true (replicas without leader election would all write the same policies)" (int .Values.replicas)) }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (eq (include "netpol-ctrl.metricsPort" .) "") }}
{{- fail "serviceMonitor.enabled needs metrics: config.metrics-bind-address is \"0\"" }}
{{- end }}
{{- end }}
