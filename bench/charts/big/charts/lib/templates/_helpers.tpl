{{- define "lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "lib.fullname" -}}
{{- printf "%s-%s" .Release.Name (include "lib.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "lib.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.global }}
owner: {{ .owner | default "none" | quote }}
{{- end }}
{{- end }}
{{- define "lib.deployment" -}}
{{- $ctx := index . 0 }}{{- $suffix := index . 1 }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "lib.fullname" $ctx }}-{{ $suffix }}
  labels:
    {{- include "lib.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ $ctx.Values.replicaCount | default 1 }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ include "lib.name" $ctx }}-{{ $suffix }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ include "lib.name" $ctx }}-{{ $suffix }}
    spec:
      containers:
        - name: app
          image: "{{ $ctx.Values.image.repository | default "busybox" }}:{{ $ctx.Values.image.tag | default $ctx.Chart.AppVersion }}"
          env:
          {{- range $k, $v := $ctx.Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
          {{- end }}
          ports:
          {{- range $ctx.Values.ports }}
            - containerPort: {{ . }}
          {{- end }}
          resources:
            {{- toYaml $ctx.Values.resources | nindent 12 }}
{{- end }}
{{- define "lib.service" -}}
{{- $ctx := index . 0 }}{{- $suffix := index . 1 }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "lib.fullname" $ctx }}-{{ $suffix }}
  labels:
    {{- include "lib.labels" $ctx | nindent 4 }}
spec:
  ports:
  {{- range $i, $p := $ctx.Values.ports }}
    - name: p{{ $i }}
      port: {{ $p }}
      targetPort: {{ $p }}
  {{- end }}
{{- end }}
{{- define "lib.configmap" -}}
{{- $ctx := index . 0 }}{{- $suffix := index . 1 }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "lib.fullname" $ctx }}-{{ $suffix }}
  labels:
    {{- include "lib.labels" $ctx | nindent 4 }}
data:
  values.json: {{ toJson $ctx.Values | quote }}
  checksum: {{ toYaml $ctx.Values | sha256sum }}
  upper: {{ $suffix | upper | b64enc }}
{{- end }}
