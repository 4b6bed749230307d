{{/* The release's name, as every resource's name starts. */}}
{{- define "casework.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every resource; "component" is the service (or "web", "migrate"). */}}
{{- define "casework.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/name: casework
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: casework
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "casework.selectorLabels" -}}
app.kubernetes.io/name: casework
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "casework.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "casework.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "casework.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Environment every pod shares: the broker, the database (URL composed from a
Secret's username and password: never a value), tokens, telemetry, where the
definitions are. `.root` is the chart's context, `.owner` true for the
migration Job (it connects as the schemas' owner).
*/}}
{{- define "casework.env" -}}
{{- $v := .root.Values -}}
- name: CASEWORK__DATA_DIR
  value: /data
- name: CASEWORK__KAFKA__BOOTSTRAP_SERVERS
  value: {{ $v.kafka.bootstrapServers | quote }}
- name: CASEWORK__KAFKA__PARTITIONS
  value: {{ $v.kafka.partitions | quote }}
- name: CASEWORK__KAFKA__REPLICATION
  value: {{ $v.kafka.replication | quote }}
- name: CASEWORK__KAFKA__TOPIC_PREFIX
  value: {{ $v.kafka.topicPrefix | quote }}
- name: DB_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ ternary $v.database.ownerCredentialsSecret $v.database.credentialsSecret (default false .owner) }}
      key: username
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ ternary $v.database.ownerCredentialsSecret $v.database.credentialsSecret (default false .owner) }}
      key: password
- name: CASEWORK__DATABASE__URL
  value: {{ printf "postgresql://$(DB_USERNAME):$(DB_PASSWORD)@%s:%v/%s?sslmode=%s" $v.database.host $v.database.port $v.database.name $v.database.sslmode | quote }}
- name: CASEWORK__DATABASE__APP_ROLE
  value: {{ $v.database.appRole | quote }}
- name: CASEWORK__AUTH__ISSUER
  value: {{ $v.auth.issuer | quote }}
- name: CASEWORK__AUTH__AUDIENCE
  value: {{ $v.auth.audience | quote }}
- name: CASEWORK__AUTH__JWKS_URL
  value: {{ $v.auth.jwksUrl | quote }}
- name: CASEWORK__AUTH__OIDC_ISSUER
  value: {{ $v.auth.oidcIssuer | quote }}
- name: CASEWORK__AUTH__OIDC_CLIENT_ID
  value: {{ $v.auth.oidcClientId | quote }}
- name: CASEWORK__AUTH__TOKEN_URL
  value: {{ $v.auth.tokenUrl | quote }}
- name: CASEWORK__AUTH__ROLES_CLAIM
  value: {{ $v.auth.rolesClaim | quote }}
# The ingress controller's and the web front end's pods forward the
# applicant's address (per-address limits).
- name: CASEWORK__HTTP__TRUSTED_PROXIES
  value: {{ printf "127.0.0.1,::1,%s" $v.podNetwork | quote }}
- name: CASEWORK__TELEMETRY__LOG
  value: {{ $v.telemetry.log | quote }}
- name: CASEWORK__TELEMETRY__OTLP_ENDPOINT
  value: {{ $v.telemetry.otlpEndpoint | quote }}
- name: CASEWORK__PATHS__SCHEMAS
  value: /definitions/schemas
- name: CASEWORK__PATHS__PRODUCTS
  value: /definitions/config/products
- name: CASEWORK__PATHS__TEMPLATES
  value: /definitions/config/templates
- name: CASEWORK__PATHS__RULES
  value: /definitions/config/rules
- name: CASEWORK__PATHS__REHABILITATION
  value: /definitions/config/rehabilitation
- name: CASEWORK__PATHS__FORMS
  value: /definitions/config/forms
- name: CASEWORK__PATHS__BANK_HOLIDAYS
  value: /definitions/config/bank-holidays.json
- name: CASEWORK__PATHS__PERSON_MATCHING
  value: /definitions/config/matching/person.toml
{{- range $v.secrets.extra }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef: {name: {{ .name }}, key: {{ .key }}}
{{- end }}
{{- end -}}

{{/* Volumes every pod shares: its data directory, the definitions it
starts from, and (embedded auth) the shared signing key. */}}
{{- define "casework.volumes" -}}
{{- $v := .Values -}}
- name: data
  emptyDir: {}
- name: definitions
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- if $v.definitions.configMap }}
- name: definitions-overlay
  configMap: {name: {{ $v.definitions.configMap }}}
{{- end }}
{{- if $v.auth.embeddedKeySecret.name }}
- name: signing-key
  secret:
    secretName: {{ $v.auth.embeddedKeySecret.name }}
    defaultMode: 0400
{{- end }}
{{- end -}}

{{- define "casework.volumeMounts" -}}
- {name: data, mountPath: /data}
- {name: definitions, mountPath: /definitions, readOnly: true}
- {name: tmp, mountPath: /tmp}
{{- if .Values.auth.embeddedKeySecret.name }}
- name: signing-key
  mountPath: /data/signing.key
  subPath: {{ .Values.auth.embeddedKeySecret.key }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* Copies the image's definitions into the pod's definitions volume and
lays the ConfigMap's files over them (keys: paths with `/` as `__`). */}}
{{- define "casework.seedDefinitions" -}}
- name: definitions
  image: {{ include "casework.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-c"]
  args:
    - |
      set -eu
      cp -R /app/config /app/schemas /definitions/
      if [ -d /overlay ]; then
        for file in /overlay/*; do
          [ -f "$file" ] || continue
          target="/definitions/$(basename "$file" | sed 's|__|/|g')"
          mkdir -p "$(dirname "$target")"
          cp "$file" "$target"
        done
      fi
  securityContext: {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {memory: 64Mi}
  volumeMounts:
    - {name: definitions, mountPath: /definitions}
    {{- if .Values.definitions.configMap }}
    - {name: definitions-overlay, mountPath: /overlay, readOnly: true}
    {{- end }}
{{- end -}}

{{/* Every component as JSON, name → settings: each service (`service`
merged with its own entry in `services`) and the web front end. */}}
{{- define "casework.components" -}}
{{- $out := dict -}}
{{- range $name, $override := .Values.services -}}
{{- $_ := set $out $name (mergeOverwrite (deepCopy $.Values.service) (default dict $override)) -}}
{{- end -}}
{{- if .Values.web.enabled -}}
{{- $_ := set $out "web" (omit .Values.web "enabled" "secureCookies") -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
