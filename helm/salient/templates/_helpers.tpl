{{/* Chart name, overridable. */}}
{{- define "salient.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-<chart>", or the release name alone when it already contains the chart name. */}}
{{- define "salient.fullname" -}}
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

{{- define "salient.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "salient.labels" -}}
helm.sh/chart: {{ include "salient.chart" . }}
{{ include "salient.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: salient
{{- end }}

{{/* The labels Orleans' Kubernetes hosting finds a cluster's pods by. */}}
{{- define "salient.siloLabels" -}}
orleans/serviceId: {{ include "salient.fullname" . }}
orleans/clusterId: {{ include "salient.fullname" . }}
{{- end }}

{{- define "salient.selectorLabels" -}}
app.kubernetes.io/name: {{ include "salient.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of the coordinator pods. */}}
{{- define "salient.coordinatorSelectorLabels" -}}
{{ include "salient.selectorLabels" . }}
app.kubernetes.io/component: coordinator
{{- end }}

{{/* Selector labels of one worker pool's pods. Takes (dict "root" $ "pool" $pool). */}}
{{- define "salient.workerSelectorLabels" -}}
{{ include "salient.selectorLabels" .root }}
app.kubernetes.io/component: worker
salient/pool: {{ .pool.name }}
{{- end }}

{{- define "salient.coordinatorName" -}}
{{- printf "%s-coordinator" (include "salient.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of one worker pool's Deployment. Takes (dict "root" $ "pool" $pool). */}}
{{- define "salient.workerName" -}}
{{- printf "%s-worker-%s" (include "salient.fullname" .root) .pool.name }}
{{- end }}

{{- define "salient.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "salient.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "salient.image" -}}
{{- $image := .Values.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding a credential: its own secretName, else the chart's "<fullname>". Takes (dict "root" $ "entry" .Values.credentials.X). */}}
{{- define "salient.secretName" -}}
{{- default (include "salient.fullname" .root) .entry.secretName }}
{{- end }}

{{/*
An env var filled from a credential's Secret. Takes (dict "root" $ "name" "SALIENT_STORAGE" "entry"
.Values.credentials.storage "optional" false).
*/}}
{{- define "salient.credentialEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "salient.secretName" . }}
      key: {{ .entry.key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}

{{/* Environment common to both roles: every pod is a silo of the release's cluster, reached at its IP. */}}
{{- define "salient.commonEnv" -}}
- name: SALIENT_LISTEN
  value: {{ printf "http://0.0.0.0:%v" .Values.port | quote }}
- name: SALIENT_CLUSTER_ID
  value: {{ include "salient.fullname" . | quote }}
- name: SALIENT_ADVERTISE
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- /* Orleans' Kubernetes hosting: the silo is named after its pod and finds the release's other pods by label. */}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ORLEANS_SERVICE_ID
  value: {{ include "salient.fullname" . | quote }}
- name: ORLEANS_CLUSTER_ID
  value: {{ include "salient.fullname" . | quote }}
{{ include "salient.credentialEnv" (dict "root" . "name" "SALIENT_STORAGE" "entry" .Values.credentials.storage) }}
{{ include "salient.credentialEnv" (dict "root" . "name" "SALIENT_BLOB" "entry" .Values.credentials.blob) }}
{{ include "salient.credentialEnv" (dict "root" . "name" "SALIENT_WORKER_TOKEN" "entry" .Values.credentials.workerToken "optional" true) }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod annotations for Prometheus discovery by annotation. */}}
{{- define "salient.metricsAnnotations" -}}
{{- if .Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{/* A pod's annotations: metrics discovery, credentials checksum, then its own. Takes (dict "root" $ "extra" $podAnnotations). Returns YAML. */}}
{{- define "salient.podAnnotations" -}}
{{- $annotations := merge (dict) (include "salient.metricsAnnotations" .root | fromYaml) (include "salient.credentialsChecksum" .root | fromYaml) }}
{{- toYaml (merge (deepCopy (default (dict) .extra)) $annotations) }}
{{- end }}

{{/* Restarts pods when the chart-made credentials change (Secrets made elsewhere: restart by hand). */}}
{{- define "salient.credentialsChecksum" -}}
{{- if .Values.credentials.create }}
checksum/credentials: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* startup/liveness on /healthz, readiness on /readyz, against the container port "http". Takes (dict "probes" $probes). */}}
{{- define "salient.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml .probes.startup | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml .probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  {{- toYaml .probes.readiness | nindent 2 }}
{{- end }}

{{/* /tmp and the extra volumes (the model cache is added by the worker template). */}}
{{- define "salient.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "salient.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget's disruption limit: minAvailable when set, else maxUnavailable. */}}
{{- define "salient.disruptionLimit" -}}
{{- $min := index . "minAvailable" }}
{{- $max := index . "maxUnavailable" }}
{{- if not (kindIs "invalid" $min) -}}
minAvailable: {{ $min }}
{{- else if not (kindIs "invalid" $max) -}}
maxUnavailable: {{ $max }}
{{- else }}
{{- fail "podDisruptionBudget: set maxUnavailable or minAvailable" }}
{{- end }}
{{- end }}

{{/*
Deep merge of two value maps, "over" winning: maps merge key by key, anything else (lists, false,
0, null) replaces. Returns YAML. Written out because sprig's merge functions treat false and 0 as
absent in some Helm versions.
*/}}
{{- define "salient.mergeValues" -}}
{{- $merged := deepCopy .base }}
{{- range $key, $value := .over }}
{{- if and (kindIs "map" $value) (kindIs "map" (get $merged $key)) }}
{{- $_ := set $merged $key (include "salient.mergeValues" (dict "base" (get $merged $key) "over" $value) | fromYaml) }}
{{- else }}
{{- $_ := set $merged $key $value }}
{{- end }}
{{- end }}
{{- toYaml $merged }}
{{- end }}

{{/*
The worker pools, each merged over workers.defaults and checked, with `modelList` (the model keys,
empty for "any") added. Returns YAML {pools: [...]}.
*/}}
{{- define "salient.workerPools" -}}
{{- $pools := list }}
{{- $seen := dict }}
{{- range $index, $pool := .Values.workers.pools }}
{{- $merged := include "salient.mergeValues" (dict "base" $.Values.workers.defaults "over" $pool) | fromYaml }}
{{- $name := toString (default "" $merged.name) }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) }}
{{- fail (printf "workers.pools[%d].name %q: use lower-case letters, digits and '-'" $index $name) }}
{{- end }}
{{- if hasKey $seen $name }}
{{- fail (printf "workers.pools: the name %q is used twice" $name) }}
{{- end }}
{{- $_ := set $seen $name true }}
{{- if gt (len (include "salient.workerName" (dict "root" $ "pool" $merged))) 63 }}
{{- fail (printf "workers.pools[%d]: %q is longer than 63 characters; shorten the pool or release name" $index (include "salient.workerName" (dict "root" $ "pool" $merged))) }}
{{- end }}
{{- $models := $merged.models }}
{{- if kindIs "string" $models }}
{{- $models = ternary (list) (splitList "," $models) (eq $models "any") }}
{{- else if not (kindIs "slice" $models) }}
{{- fail (printf "workers.pools[%d].models: a list of model keys or \"any\"" $index) }}
{{- else if not $models }}
{{- fail (printf "workers.pools[%d].models: empty; list model keys or say \"any\"" $index) }}
{{- end }}
{{- range $models }}
{{- if not (regexMatch "^[A-Za-z0-9._-]+$" (toString .)) }}
{{- fail (printf "workers.pools[%d].models: %q is not a model key (letters, digits, '.', '_', '-')" $index (toString .)) }}
{{- end }}
{{- end }}
{{- $_ := set $merged "modelList" $models }}
{{- $pools = append $pools $merged }}
{{- end }}
{{- toYaml (dict "pools" $pools) }}
{{- end }}

{{/* --devices of a pool: its own value, else one cuda device per requested GPU, else cpu. */}}
{{- define "salient.workerDevices" -}}
{{- $gpus := 0 }}
{{- with .resources }}{{ with .limits }}{{ $gpus = int (index . "nvidia.com/gpu" | default 0) }}{{ end }}{{ end }}
{{- if .devices }}
{{- .devices }}
{{- else if gt $gpus 0 }}
{{- $devices := list }}
{{- range $i := until $gpus }}{{ $devices = append $devices (printf "cuda:%d" $i) }}{{ end }}
{{- join "," $devices }}
{{- else }}
{{- "cpu" }}
{{- end }}
{{- end }}

{{/* KEDA's metrics-api URL: the shards a pool's workers could take or hold now ({"pending": N}). */}}
{{- define "salient.pendingShardsUrl" -}}
{{- $base := printf "http://%s.%s.svc:%v/metrics/pending" (include "salient.coordinatorName" .root) .root.Release.Namespace .root.Values.coordinator.service.port }}
{{- if .pool.modelList }}
{{- printf "%s?models=%s" $base (join "," .pool.modelList) }}
{{- else }}
{{- $base }}
{{- end }}
{{- end }}

{{/* The silo and gateway ports of a silo's container and its serve arguments. */}}
{{- define "salient.siloArgs" -}}
- --silo-port
- {{ .Values.siloPort | quote }}
- --gateway-port
- {{ .Values.gatewayPort | quote }}
{{- end }}

{{- define "salient.ports" -}}
- name: http
  containerPort: {{ .Values.port }}
  protocol: TCP
- name: silo
  containerPort: {{ .Values.siloPort }}
  protocol: TCP
- name: gateway
  containerPort: {{ .Values.gatewayPort }}
  protocol: TCP
{{- end }}

{{/* True (non-empty) when some pool autoscales. */}}
{{- define "salient.anyAutoscaling" -}}
{{- range (include "salient.workerPools" . | fromYaml).pools }}{{ if .autoscaling.enabled }}true{{ end }}{{ end }}
{{- end }}
