{{/* ------------------------------------------------------------------------------------------
   Names and labels
------------------------------------------------------------------------------------------ */}}
{{- define "numflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "numflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "numflow.componentName" (dict "ctx" $ "component" "ingest"): the full name of a component,
     kept within 63 characters. */}}
{{- define "numflow.componentName" -}}
{{- printf "%s-%s" (include "numflow.fullname" .ctx | trunc (int (sub 62 (len .component)))) .component | trimSuffix "-" -}}
{{- end -}}

{{- define "numflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "numflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "numflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "numflow.labels" -}}
helm.sh/chart: {{ include "numflow.chart" . }}
{{ include "numflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: numflow
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* (dict "ctx" $ "component" "ingest") */}}
{{- define "numflow.componentLabels" -}}
{{ include "numflow.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "numflow.componentSelectorLabels" -}}
{{ include "numflow.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "numflow.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "numflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "numflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* ------------------------------------------------------------------------------------------
   Kafka
------------------------------------------------------------------------------------------ */}}
{{- define "numflow.kafka.securityProtocol" -}}
{{- $k := .Values.kafka -}}
{{- if $k.securityProtocol -}}{{ $k.securityProtocol }}
{{- else if and $k.sasl.enabled $k.tls.enabled -}}SASL_SSL
{{- else if $k.sasl.enabled -}}SASL_PLAINTEXT
{{- else if $k.tls.enabled -}}SSL
{{- end -}}
{{- end -}}

{{- define "numflow.kafka.saslSecretName" -}}
{{- .Values.kafka.sasl.existingSecret | default (printf "%s-kafka" (include "numflow.fullname" .)) -}}
{{- end -}}

{{- define "numflow.kafka.saslUsernameKey" -}}
{{- if .Values.kafka.sasl.existingSecret }}{{ .Values.kafka.sasl.usernameKey }}{{ else }}username{{ end -}}
{{- end -}}

{{- define "numflow.kafka.saslPasswordKey" -}}
{{- if .Values.kafka.sasl.existingSecret }}{{ .Values.kafka.sasl.passwordKey }}{{ else }}password{{ end -}}
{{- end -}}

{{/* librdkafka property name -> NUMFLOW_KAFKA_PROPERTY_<KEY> (dots become underscores). */}}
{{- define "numflow.kafka.propertyEnvName" -}}
NUMFLOW_KAFKA_PROPERTY_{{ . | upper | replace "." "_" }}
{{- end -}}

{{/* Environment shared by both services: brokers, topics, librdkafka properties, SASL, TLS. */}}
{{- define "numflow.kafka.env" -}}
{{- $k := .Values.kafka -}}
- name: NUMFLOW_BROKERS
  value: {{ $k.brokers | quote }}
- name: NUMFLOW_RAW_TOPIC
  value: {{ .Values.topics.raw | quote }}
- name: NUMFLOW_NUMBER_CHANGES_TOPIC
  value: {{ .Values.topics.numberChanges | quote }}
- name: NUMFLOW_EXTENSION_CHANGES_TOPIC
  value: {{ .Values.topics.extensionChanges | quote }}
- name: NUMFLOW_DEAD_LETTER_TOPIC
  value: {{ .Values.topics.deadLetter | quote }}
- name: NUMFLOW_TOPIC_PARTITIONS
  value: {{ .Values.topics.partitions | toString | quote }}
- name: NUMFLOW_TOPIC_REPLICATION_FACTOR
  value: {{ .Values.topics.replicationFactor | toString | quote }}
{{- range $key, $value := $k.properties }}
- name: {{ include "numflow.kafka.propertyEnvName" $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with (include "numflow.kafka.securityProtocol" .) }}
- name: NUMFLOW_KAFKA_PROPERTY_SECURITY_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- if $k.sasl.enabled }}
- name: NUMFLOW_KAFKA_PROPERTY_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: NUMFLOW_KAFKA_PROPERTY_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "numflow.kafka.saslSecretName" . }}
      key: {{ include "numflow.kafka.saslUsernameKey" . }}
- name: NUMFLOW_KAFKA_PROPERTY_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "numflow.kafka.saslSecretName" . }}
      key: {{ include "numflow.kafka.saslPasswordKey" . }}
{{- end }}
{{- if $k.tls.enabled }}
{{- if $k.tls.caSecret }}
- name: NUMFLOW_KAFKA_PROPERTY_SSL_CA_LOCATION
  value: {{ printf "/etc/numflow/kafka-ca/%s" $k.tls.caKey | quote }}
{{- end }}
{{- if $k.tls.clientCertSecret }}
- name: NUMFLOW_KAFKA_PROPERTY_SSL_CERTIFICATE_LOCATION
  value: /etc/numflow/kafka-client-cert/tls.crt
- name: NUMFLOW_KAFKA_PROPERTY_SSL_KEY_LOCATION
  value: /etc/numflow/kafka-client-cert/tls.key
{{- end }}
- name: NUMFLOW_KAFKA_PROPERTY_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM
  value: {{ ternary "https" "none" $k.tls.verifyHostname | quote }}
{{- end }}
{{- end -}}

{{- define "numflow.kafka.volumeMounts" -}}
{{- $k := .Values.kafka -}}
{{- if and $k.tls.enabled $k.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/numflow/kafka-ca
  readOnly: true
{{- end }}
{{- if and $k.tls.enabled $k.tls.clientCertSecret }}
- name: kafka-client-cert
  mountPath: /etc/numflow/kafka-client-cert
  readOnly: true
{{- end }}
{{- end -}}

{{- define "numflow.kafka.volumes" -}}
{{- $k := .Values.kafka -}}
{{- if and $k.tls.enabled $k.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $k.tls.caSecret }}
    items:
      - key: {{ $k.tls.caKey }}
        path: {{ $k.tls.caKey }}
{{- end }}
{{- if and $k.tls.enabled $k.tls.clientCertSecret }}
- name: kafka-client-cert
  secret:
    secretName: {{ $k.tls.clientCertSecret }}
    defaultMode: 0440
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
{{- end }}
{{- end -}}

{{/* ------------------------------------------------------------------------------------------
   Provider secrets: which keys of the provider Secret ingest needs, as JSON
   [{"key": secret key, "file": file name, "env": NUMFLOW_..._FILE, "value": value from values}]
------------------------------------------------------------------------------------------ */}}
{{- define "numflow.providers.secretName" -}}
{{- .Values.providers.existingSecret | default (printf "%s-providers" (include "numflow.fullname" .)) -}}
{{- end -}}

{{- define "numflow.providers.secretItems" -}}
{{- $p := .Values.providers -}}
{{- $x := index $p "8x8" -}}
{{- $items := list -}}
{{- if eq $p.zoom.auth "signature" -}}
{{- $items = append $items (dict "key" $p.zoom.secretTokensKey "file" "zoom-secret-token" "env" "NUMFLOW_ZOOM_SECRET_TOKEN_FILE" "value" (join "," $p.zoom.secretTokens)) -}}
{{- end -}}
{{- if has $p.ringcentral.auth (list "verificationToken" "both") -}}
{{- $items = append $items (dict "key" $p.ringcentral.verificationTokenKey "file" "ringcentral-verification-token" "env" "NUMFLOW_RINGCENTRAL_VERIFICATION_TOKEN_FILE" "value" $p.ringcentral.verificationToken) -}}
{{- end -}}
{{- if has $p.ringcentral.auth (list "querySecret" "both") -}}
{{- $items = append $items (dict "key" $p.ringcentral.querySecretKey "file" "ringcentral-query-secret" "env" "NUMFLOW_RINGCENTRAL_QUERY_SECRET_FILE" "value" $p.ringcentral.querySecret) -}}
{{- end -}}
{{- if has $x.auth (list "header" "both") -}}
{{- $items = append $items (dict "key" $x.authHeaderKey "file" "8x8-auth-header" "env" "NUMFLOW_8X8_AUTH_HEADER_FILE" "value" $x.authHeader) -}}
{{- end -}}
{{- if $x.poller.enabled -}}
{{- /* The shared key and the per-subaccount keys (`id=key` lines): from values when the chart
       creates the Secret, as poller.existingSecretKeys says for an existing one. */ -}}
{{- $fromSecret := ne $p.existingSecret "" -}}
{{- $shared := ternary (has $x.poller.existingSecretKeys (list "shared" "both")) (ne $x.poller.apiKey "") $fromSecret -}}
{{- $perSubaccount := ternary (has $x.poller.existingSecretKeys (list "perSubaccount" "both")) (not (empty $x.poller.apiKeys)) $fromSecret -}}
{{- if $shared -}}
{{- $items = append $items (dict "key" $x.poller.apiKeyKey "file" "8x8-api-key" "env" "NUMFLOW_8X8_API_KEY_FILE" "value" $x.poller.apiKey) -}}
{{- end -}}
{{- if $perSubaccount -}}
{{- $lines := list -}}
{{- range $id, $key := $x.poller.apiKeys -}}
{{- $lines = append $lines (printf "%s=%s" $id $key) -}}
{{- end -}}
{{- $items = append $items (dict "key" $x.poller.apiKeysKey "file" "8x8-api-keys" "env" "NUMFLOW_8X8_API_KEYS_FILE" "value" (join "\n" $lines)) -}}
{{- end -}}
{{- end -}}
{{- toJson $items -}}
{{- end -}}

{{/* ------------------------------------------------------------------------------------------
   Config files. Keys the chart sets itself (environment) must not appear in ingest.config /
   transform.config: the environment would silently win over them.
------------------------------------------------------------------------------------------ */}}
{{- define "numflow.managedKeys" -}}
{{- toJson (list "config" "brokers" "raw-topic" "number-changes-topic" "extension-changes-topic" "dead-letter-topic" "topic-partitions" "topic-replication-factor" "listen" "metrics-listen" "zoom-auth" "ringcentral-auth" "8x8-auth" "zoom-secret-token" "zoom-secret-token-file" "ringcentral-verification-token" "ringcentral-verification-token-file" "ringcentral-query-secret" "ringcentral-query-secret-file" "8x8-auth-header" "8x8-auth-header-file" "8x8-api-key" "8x8-api-key-file" "8x8-api-keys" "8x8-api-keys-file" "8x8-poll-subaccounts" "8x8-allow-cidr" "trusted-proxies" "ringcentral-account" "group-id") -}}
{{- end -}}

{{/* Structured values that become settings: [value path, setting name] per service. */}}
{{- define "numflow.ingest.structured" -}}
{{- $i := .Values.ingest -}}
{{- $p := .Values.providers -}}
{{- toJson (dict "max-body-bytes" $i.maxBodyBytes "response-deadline-ms" $i.responseDeadlineMs "retry-after-seconds" $i.retryAfterSeconds "shed-backlog-ms" $i.shedBacklogMs "io-threads" $i.ioThreads "max-connections" $i.maxConnections "max-body-memory-bytes" $i.maxBodyMemoryBytes "read-timeout-ms" $i.readTimeoutMs "shutdown-grace-ms" $i.shutdownGraceMs "log-level" $i.logLevel "zoom-max-skew" $p.zoom.maxSkewSeconds "ringcentral-query-parameter" $p.ringcentral.queryParameter) -}}
{{- end -}}

{{- define "numflow.transform.structured" -}}
{{- $t := .Values.transform -}}
{{- toJson (dict "batch-max-messages" $t.batchMaxMessages "batch-max-ms" $t.batchMaxMs "batch-max-ms-behind" $t.batchMaxMsBehind "batch-idle-ms" $t.batchIdleMs "log-level" $t.logLevel "8x8-snapshot-webhooks-complete" (index .Values.providers "8x8").snapshotWebhooksComplete) -}}
{{- end -}}

{{/* Environment for the structured values that are set (not null). */}}
{{- define "numflow.structuredEnv" -}}
{{- range $name, $value := . }}
{{- if not (kindIs "invalid" $value) }}
- name: NUMFLOW_{{ $name | upper | replace "-" "_" }}
  {{- /* numbers come back from toJson/fromJson as float64: print them as integers */}}
  value: {{ ternary ($value | int64 | toString) ($value | toString) (kindIs "float64" $value) | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* (dict "config" map "structured" map "what" "ingest.config") -> fails on a managed or
     doubly-set key. */}}
{{- define "numflow.checkConfig" -}}
{{- $managed := include "numflow.managedKeys" . | fromJsonArray -}}
{{- range $key, $_ := .config }}
{{- if has $key $managed }}
{{- fail (printf "%s.%s: the chart sets this setting itself (see helm/numflow/README.md); use the structured value instead" $.what $key) }}
{{- end }}
{{- if and (hasKey $.structured $key) (not (kindIs "invalid" (get $.structured $key))) }}
{{- fail (printf "%s.%s is also set by a structured value (which would win): set only one" $.what $key) }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "numflow.ingest.configMap" -}}
{{- $cfg := merge (deepCopy .Values.ingest.config) (deepCopy (index .Values.providers "8x8").poller.settings) -}}
{{- toJson $cfg -}}
{{- end -}}

{{/* ------------------------------------------------------------------------------------------
   Pod pieces
------------------------------------------------------------------------------------------ */}}
{{/* (dict "probe" .Values.x.livenessProbe "path" "/healthz" "port" "http") */}}
{{- define "numflow.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end -}}

{{/* (dict "pdb" .Values.x.pdb) */}}
{{- define "numflow.pdbSpec" -}}
{{- if not (kindIs "invalid" .pdb.minAvailable) }}
minAvailable: {{ .pdb.minAvailable }}
{{- else }}
maxUnavailable: {{ .pdb.maxUnavailable }}
{{- end }}
{{- end -}}

{{/* ------------------------------------------------------------------------------------------
   Topics to provision (strimzi, job): JSON list of {name, partitions, replicationFactor, config}
------------------------------------------------------------------------------------------ */}}
{{- define "numflow.topics.list" -}}
{{- $t := .Values.topics -}}
{{- /* The raw topic holds the largest body ingest writes: --max-body-bytes (service default
       1 MiB), with the 8x8 poller on the larger of that and --8x8-poll-max-body-bytes (16 MiB),
       plus 64 KiB for key and headers; a dead letter carries a raw record back out, plus 64 KiB
       more (as the services size the topics they create). topics.config wins. */ -}}
{{- $ingestCfg := include "numflow.ingest.configMap" . | fromJson -}}
{{- $webhookMax := .Values.ingest.maxBodyBytes | default (get $ingestCfg "max-body-bytes") | default 1048576 | int64 -}}
{{- $pollMax := get $ingestCfg "8x8-poll-max-body-bytes" | default 16777216 | int64 -}}
{{- $largest := ternary (max $webhookMax $pollMax) $webhookMax (index .Values.providers "8x8").poller.enabled -}}
{{- $sized := dict "raw" (add $largest 65536) "deadLetter" (add $largest 131072) -}}
{{- $list := list -}}
{{- range $key := list "raw" "numberChanges" "extensionChanges" "deadLetter" -}}
{{- $config := deepCopy (default dict (index $t.config $key)) -}}
{{- if and (hasKey $sized $key) (not (hasKey $config "max.message.bytes")) -}}
{{- $_ := set $config "max.message.bytes" (get $sized $key | toString) -}}
{{- end -}}
{{- $list = append $list (dict "name" (index $t $key) "partitions" $t.partitions "replicationFactor" $t.replicationFactor "config" $config) -}}
{{- end -}}
{{- range $t.extra -}}
{{- $list = append $list (dict "name" .name "partitions" (default $t.partitions .partitions) "replicationFactor" (default $t.replicationFactor .replicationFactor) "config" (default dict .config)) -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}
