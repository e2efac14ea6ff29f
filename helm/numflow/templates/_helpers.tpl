{{- define "numflow.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "numflow.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "numflow.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "numflow.kafkaEnv" -}}
- name: NUMFLOW_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: NUMFLOW_RAW_TOPIC
  value: {{ .Values.topics.raw | quote }}
- name: NUMFLOW_NUMBER_CHANGES_TOPIC
  value: {{ .Values.topics.numberChanges | quote }}
- name: NUMFLOW_EXTENSION_CHANGES_TOPIC
  value: {{ .Values.topics.extensionChanges | quote }}
- name: NUMFLOW_DEAD_LETTER_TOPIC
  value: {{ .Values.topics.deadLetter | quote }}
{{- range $k, $v := .Values.kafka.properties }}
- name: NUMFLOW_KAFKA_PROPERTY_{{ $k | upper | replace "." "_" }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}
