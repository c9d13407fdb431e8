{{/*
Shared building blocks. Every workload gets the same pod and container security context
(restricted Pod Security Standard), a /tmp emptyDir, requests and limits, and its own
ServiceAccount without an API token. Components differ only in what the per-component
templates in _components.tpl define: env, probes, extra mounts and volumes, command.
*/}}

{{- define "supabase.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: supabase
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "supabase.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Numeric ids >= 10000 that no image maps to a real user (CKV_K8S_40). */}}
{{- define "supabase.uid" -}}10001{{- end -}}

{{- define "supabase.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ include "supabase.uid" . }}
runAsGroup: {{ include "supabase.uid" . }}
fsGroup: {{ include "supabase.uid" . }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "supabase.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ include "supabase.uid" . }}
runAsGroup: {{ include "supabase.uid" . }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Memory limit equals the request: a pod never counts on memory the node may not have. */}}
{{- define "supabase.resources" -}}
requests:
  cpu: {{ .cpu | quote }}
  memory: {{ .memory | quote }}
limits:
  cpu: {{ .cpuLimit | quote }}
  memory: {{ .memory | quote }}
{{- end -}}

{{/*
An environment variable read from a synced Secret: (list $ "ENV_NAME" "catalog-secret-name").
The Secret's name carries the Secrets Manager version token, so a rotation renames it and
rolls every pod that reads it (README: "Chart values").
*/}}
{{- define "supabase.secretEnv" -}}
{{- $root := index . 0 -}}
{{- $env := index . 1 -}}
{{- $secret := index . 2 -}}
{{- $item := index $root.Values.secrets.items $secret | default dict -}}
{{- if not $item.version -}}
{{- fail (printf "secrets.items.%s is missing: %s needs it" $secret $env) -}}
{{- end -}}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ printf "%s-%s" $secret $item.version }}
      key: value
{{- end -}}

{{/*
The chart's only copy of the database login roles (engine/catalog.py is the source; a test
renders the chart and compares): every login role, in the bootstrap's order, and the role each
component logs in as.
*/}}
{{- define "supabase.loginRoles" -}}
authenticator supabase_auth_admin supabase_storage_admin supabase_realtime_admin supabase_admin
{{- end -}}

{{- define "supabase.componentRoles" -}}
auth: supabase_auth_admin
rest: authenticator
realtime: supabase_realtime_admin
storage: supabase_storage_admin
meta: supabase_admin
studio: supabase_admin
functions: authenticator
analytics: supabase_admin
{{- end -}}

{{/* The login role of a component: (list $ "component"). */}}
{{- define "supabase.dbRole" -}}
{{- index (include "supabase.componentRoles" (index . 0) | fromYaml) (index . 1) -}}
{{- end -}}

{{/* Catalog name of the secret holding a login role's password: "role" -> db-<role, hyphenated>. */}}
{{- define "supabase.roleSecret" -}}
{{- printf "db-%s" (. | replace "_" "-") -}}
{{- end -}}

{{/* The password of a component's login role as an environment variable, DB_PASSWORD unless
     named. Unnamed, it comes with SUPA_DB_HOST, and dbUrl below reads both as $(...):
     (list $ "component" ["ENV_NAME"]). */}}
{{- define "supabase.dbPasswordEnv" -}}
{{- $root := index . 0 -}}
{{- $env := "DB_PASSWORD" -}}
{{- if gt (len .) 2 -}}{{- $env = index . 2 -}}{{- else -}}
{{ include "supabase.dbHostEnv" (list $root "SUPA_DB_HOST") }}
{{ end -}}
{{ include "supabase.secretEnv" (list $root $env (include "supabase.roleSecret" (include "supabase.dbRole" (list $root (index . 1))))) }}
{{- end -}}

{{/*
The database endpoint host as an environment variable: (list $ "ENV_NAME"). RDS assigns it, so
it is never a value: the data stack publishes it in SSM Parameter Store and External Secrets
syncs it into the Secret `database-endpoint` (templates/external-secrets.yaml).
*/}}
{{- define "supabase.dbHostEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "supabase.endpointSecret" (index . 0) }}
      key: host
{{- end -}}

{{- define "supabase.endpointSecret" -}}database-endpoint{{- end -}}

{{- define "supabase.caPath" -}}/etc/rds-ca/ca-bundle.pem{{- end -}}

{{/*
libpq-style URL with verify-full TLS against the mounted RDS CA: (list $ "component" "scheme").
The password and host are expanded by the kubelet from DB_PASSWORD and SUPA_DB_HOST (Secrets),
never written here.
*/}}
{{- define "supabase.dbUrl" -}}
{{- $root := index . 0 -}}
{{- $db := $root.Values.database -}}
{{- printf "%s://%s:$(DB_PASSWORD)@$(SUPA_DB_HOST):%d/%s?sslmode=verify-full&sslrootcert=%s" (index . 2) (include "supabase.dbRole" (list $root (index . 1))) (int $db.port) $db.name (include "supabase.caPath" $root) -}}
{{- end -}}

{{- define "supabase.caVolume" -}}
- name: rds-ca
  configMap:
    name: {{ .Values.database.tls.caConfigMap }}
    items:
      - key: {{ .Values.database.tls.caKey }}
        path: ca-bundle.pem
{{- end -}}

{{- define "supabase.caMount" -}}
- name: rds-ca
  mountPath: /etc/rds-ca
  readOnly: true
{{- end -}}

{{- define "supabase.url" -}}
{{- printf "http://%s.%s.svc.cluster.local:%d" .name .root.Release.Namespace (int (index .root.Values.components .name).port) -}}
{{- end -}}

{{- define "supabase.publicUrl" -}}
{{- printf "https://%s" .Values.platform.domain -}}
{{- end -}}

{{/* Hook annotations: (list "pre-install,pre-upgrade" weight "delete-policy"). */}}
{{- define "supabase.hook" -}}
helm.sh/hook: {{ index . 0 }}
helm.sh/hook-weight: {{ index . 1 | quote }}
helm.sh/hook-delete-policy: {{ index . 2 }}
{{- end -}}

{{/* Realtime's tenant: the first label of the Host header kong forwards with (the Service name,
     engine/catalog.py REALTIME_TENANT). */}}
{{- define "supabase.realtimeTenant" -}}realtime{{- end -}}
