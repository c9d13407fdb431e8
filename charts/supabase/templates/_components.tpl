{{/*
What each component needs beyond the shared skeleton in workloads.yaml. For component <c>:
  supabase.<c>.env      environment (secrets only through supabase.secretEnv)
  supabase.<c>.probes   liveness and readiness (and startup where boot runs migrations)
  supabase.<c>.mounts   extra volumeMounts (every pod also gets /tmp)
  supabase.<c>.volumes  extra volumes
  supabase.<c>.command  command/args when the image's default is not enough
  supabase.<c>.pod      extra pod spec fields
Facts (env names, ports, health paths, writable paths) come from each image's upstream
configuration; the notes say where they matter.
*/}}

{{/* ---------------------------------------------------------------- kong (API gateway) */}}
{{- define "supabase.kong.env" -}}
- name: KONG_DATABASE
  value: "off"
- name: KONG_DECLARATIVE_CONFIG
  value: /kong-run/kong.yml
- name: KONG_PREFIX
  value: /kong-run/prefix
- name: KONG_PROXY_LISTEN
  value: "0.0.0.0:{{ .Values.components.kong.port | int }}"
- name: KONG_STATUS_LISTEN
  value: "0.0.0.0:8100"
- name: KONG_ADMIN_LISTEN
  value: "off"
- name: KONG_DNS_ORDER
  value: LAST,A,CNAME
- name: KONG_PLUGINS
  value: request-transformer,cors,key-auth,acl,basic-auth,request-termination
- name: KONG_NGINX_PROXY_PROXY_BUFFER_SIZE
  value: 160k
- name: KONG_NGINX_PROXY_PROXY_BUFFERS
  value: 64 160k
- name: KONG_ANONYMOUS_REPORTS
  value: "off"
{{ include "supabase.secretEnv" (list . "SUPABASE_ANON_KEY" "anon-key") }}
{{ include "supabase.secretEnv" (list . "SUPABASE_SERVICE_KEY" "service-role-key") }}
{{- if include "supabase.studioPublic" . }}
{{ include "supabase.secretEnv" (list . "DASHBOARD_PASSWORD" "studio-dashboard-password") }}
{{- end }}
{{- end -}}

{{/* /status on the status listener answers 200 once the declarative config is loaded. */}}
{{- define "supabase.kong.probes" -}}
readinessProbe:
  httpGet: {path: /status, port: 8100}
  periodSeconds: 10
livenessProbe:
  httpGet: {path: /status, port: 8100}
  initialDelaySeconds: 15
  periodSeconds: 20
{{- end -}}

{{- define "supabase.kong.mounts" -}}
- name: kong-run
  mountPath: /kong-run
- name: kong-config
  mountPath: /etc/kong
  readOnly: true
{{- end -}}

{{- define "supabase.kong.volumes" -}}
- name: kong-run
  emptyDir: {sizeLimit: 64Mi}
- name: kong-config
  configMap:
    name: kong-config
{{- end -}}

{{/* resty (OpenResty's CLI, which kong's own CLI runs on) fills the placeholders, then kong starts. */}}
{{- define "supabase.kong.command" -}}
command: ["/bin/sh", "-c"]
args: ["umask 077 && resty /etc/kong/render.lua && exec /docker-entrypoint.sh kong docker-start"]
{{- end -}}

{{- define "supabase.kong.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- auth (GoTrue) */}}
{{- define "supabase.auth.env" -}}
{{- $auth := .Values.auth -}}
- name: GOTRUE_API_HOST
  value: 0.0.0.0
- name: GOTRUE_API_PORT
  value: {{ .Values.components.auth.port | int | quote }}
- name: API_EXTERNAL_URL
  value: {{ include "supabase.publicUrl" . }}
{{ include "supabase.dbPasswordEnv" (list . "auth") }}
- name: GOTRUE_DB_DRIVER
  value: postgres
- name: GOTRUE_DB_DATABASE_URL
  value: {{ include "supabase.dbUrl" (list . "auth" "postgres") | quote }}
- name: GOTRUE_SITE_URL
  value: {{ .Values.platform.siteUrl | quote }}
- name: GOTRUE_URI_ALLOW_LIST
  value: {{ join "," .Values.platform.redirectUrls | quote }}
- name: GOTRUE_DISABLE_SIGNUP
  value: {{ not $auth.signupEnabled | quote }}
- name: GOTRUE_JWT_ADMIN_ROLES
  value: service_role
- name: GOTRUE_JWT_AUD
  value: authenticated
- name: GOTRUE_JWT_DEFAULT_GROUP_NAME
  value: authenticated
- name: GOTRUE_JWT_EXP
  value: {{ $auth.jwtExpirySeconds | int | quote }}
{{ include "supabase.secretEnv" (list . "GOTRUE_JWT_SECRET" "jwt-secret") }}
- name: GOTRUE_EXTERNAL_EMAIL_ENABLED
  value: "true"
- name: GOTRUE_MAILER_AUTOCONFIRM
  value: {{ $auth.emailAutoconfirm | quote }}
- name: GOTRUE_MAILER_URLPATHS_INVITE
  value: /auth/v1/verify
- name: GOTRUE_MAILER_URLPATHS_CONFIRMATION
  value: /auth/v1/verify
- name: GOTRUE_MAILER_URLPATHS_RECOVERY
  value: /auth/v1/verify
- name: GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE
  value: /auth/v1/verify
{{- with $auth.smtp }}
- name: GOTRUE_SMTP_HOST
  value: {{ .host | quote }}
- name: GOTRUE_SMTP_PORT
  value: {{ .port | int | quote }}
- name: GOTRUE_SMTP_USER
  value: {{ .user | quote }}
- name: GOTRUE_SMTP_ADMIN_EMAIL
  value: {{ .sender | quote }}
- name: GOTRUE_SMTP_SENDER_NAME
  value: {{ .senderName | quote }}
{{ include "supabase.secretEnv" (list $ "GOTRUE_SMTP_PASS" "smtp-password") }}
{{- end }}
{{- range $key, $url := $auth.emailTemplates }}
- name: GOTRUE_MAILER_TEMPLATES_{{ $key }}
  value: {{ $url | quote }}
{{- end }}
{{- /* External providers: GOTRUE_EXTERNAL_<NAME>_* (GoTrue v2.180.0 internal/conf); the client
       secret comes from its own Secrets Manager secret. */}}
{{- range $p := $auth.providers }}
- name: GOTRUE_EXTERNAL_{{ .envName }}_ENABLED
  value: "true"
- name: GOTRUE_EXTERNAL_{{ .envName }}_CLIENT_ID
  value: {{ .clientId | quote }}
- name: GOTRUE_EXTERNAL_{{ .envName }}_REDIRECT_URI
  value: {{ $auth.callbackUrl | quote }}
{{- with .url }}
- name: GOTRUE_EXTERNAL_{{ $p.envName }}_URL
  value: {{ . | quote }}
{{- end }}
{{ include "supabase.secretEnv" (list $ (printf "GOTRUE_EXTERNAL_%s_SECRET" .envName) .secret) }}
{{- end }}
- name: GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED
  value: {{ $auth.anonymousUsers | quote }}
- name: GOTRUE_MFA_TOTP_ENROLL_ENABLED
  value: {{ $auth.mfa.totp | quote }}
- name: GOTRUE_MFA_TOTP_VERIFY_ENABLED
  value: {{ $auth.mfa.totp | quote }}
- name: GOTRUE_MFA_MAX_ENROLLED_FACTORS
  value: {{ $auth.mfa.maxEnrolledFactors | int | quote }}
{{- with $auth.rateLimits }}
- name: GOTRUE_RATE_LIMIT_EMAIL_SENT
  value: {{ .emailSent | int | quote }}
- name: GOTRUE_RATE_LIMIT_SMS_SENT
  value: {{ .smsSent | int | quote }}
- name: GOTRUE_RATE_LIMIT_VERIFY
  value: {{ .verify | int | quote }}
- name: GOTRUE_RATE_LIMIT_TOKEN_REFRESH
  value: {{ .tokenRefresh | int | quote }}
- name: GOTRUE_RATE_LIMIT_OTP
  value: {{ .otp | int | quote }}
- name: GOTRUE_RATE_LIMIT_ANONYMOUS_USERS
  value: {{ .anonymousUsers | int | quote }}
{{- end }}
{{- with $auth.sessions }}
{{- with .timebox }}
- name: GOTRUE_SESSIONS_TIMEBOX
  value: {{ . | quote }}
{{- end }}
{{- with .inactivityTimeout }}
- name: GOTRUE_SESSIONS_INACTIVITY_TIMEOUT
  value: {{ . | quote }}
{{- end }}
- name: GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED
  value: {{ .refreshTokenRotation | quote }}
- name: GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL
  value: {{ .refreshTokenReuseInterval | int | quote }}
{{- end }}
{{- with $auth.sms }}
{{- $prefix := printf "GOTRUE_SMS_%s" (upper .provider) }}
- name: GOTRUE_EXTERNAL_PHONE_ENABLED
  value: "true"
- name: GOTRUE_SMS_PROVIDER
  value: {{ .provider | quote }}
- name: GOTRUE_SMS_OTP_LENGTH
  value: {{ .otpLength | int | quote }}
- name: GOTRUE_SMS_OTP_EXP
  value: {{ .otpExpirySeconds | int | quote }}
{{- range $key, $value := .settings }}
- name: {{ printf "%s_%s" $prefix $key }}
  value: {{ $value | quote }}
{{- end }}
{{ include "supabase.secretEnv" (list $ (printf "%s_%s" $prefix .secretSetting) .secret) }}
{{- else }}
- name: GOTRUE_EXTERNAL_PHONE_ENABLED
  value: "false"
{{- end }}
{{- end -}}

{{- define "supabase.auth.probes" -}}
readinessProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 10
livenessProbe:
  httpGet: {path: /health, port: http}
  initialDelaySeconds: 15
  periodSeconds: 20
{{- end -}}

{{- define "supabase.auth.mounts" -}}{{ include "supabase.caMount" . }}{{- end -}}
{{- define "supabase.auth.volumes" -}}{{ include "supabase.caVolume" . }}{{- end -}}
{{- define "supabase.auth.command" -}}{{- end -}}
{{- define "supabase.auth.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- rest (PostgREST) */}}
{{- define "supabase.rest.env" -}}
{{ include "supabase.dbPasswordEnv" (list . "rest") }}
- name: PGRST_DB_URI
  value: {{ include "supabase.dbUrl" (list . "rest" "postgres") | quote }}
- name: PGRST_DB_SCHEMAS
  value: public,storage,graphql_public
- name: PGRST_DB_ANON_ROLE
  value: anon
- name: PGRST_DB_USE_LEGACY_GUCS
  value: "false"
- name: PGRST_DB_MAX_ROWS
  value: "1000"
- name: PGRST_DB_EXTRA_SEARCH_PATH
  value: public,extensions
- name: PGRST_SERVER_PORT
  value: {{ .Values.components.rest.port | int | quote }}
- name: PGRST_ADMIN_SERVER_PORT
  value: "3001"
{{ include "supabase.secretEnv" (list . "PGRST_JWT_SECRET" "jwt-secret") }}
{{ include "supabase.secretEnv" (list . "PGRST_APP_SETTINGS_JWT_SECRET" "jwt-secret") }}
- name: PGRST_APP_SETTINGS_JWT_EXP
  value: {{ .Values.auth.jwtExpirySeconds | int | quote }}
{{- end -}}

{{/* PostgREST's admin server: /live (process up) and /ready (schema cache loaded, pool usable). */}}
{{- define "supabase.rest.probes" -}}
readinessProbe:
  httpGet: {path: /ready, port: 3001}
  periodSeconds: 10
livenessProbe:
  httpGet: {path: /live, port: 3001}
  initialDelaySeconds: 10
  periodSeconds: 20
{{- end -}}

{{- define "supabase.rest.mounts" -}}{{ include "supabase.caMount" . }}{{- end -}}
{{- define "supabase.rest.volumes" -}}{{ include "supabase.caVolume" . }}{{- end -}}
{{- define "supabase.rest.command" -}}{{- end -}}
{{- define "supabase.rest.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- realtime */}}
{{/*
Clustering: libcluster's DNS strategy polls the headless Service `realtime-headless` and connects
to `realtime@<pod ip>`. The release names its node `$APP_NAME@$POD_IP` (rel/env.sh.eex; POD_IP
from the downward API). The Erlang distribution port is pinned (9100) so NetworkPolicies can
name it; epmd is 4369 and gen_rpc 5369. The cookie comes from a Secret, never the image's
public default. The tenant is not seeded here: the realtime-tenant Job does it once per release.
*/}}
{{/* The control-plane connection (schema _realtime): shared by the pods and the tenant Job, which
     also writes it into the tenant's settings, so both always name the same role and database. */}}
{{- define "supabase.realtime.dbEnv" -}}
{{- $db := .Values.database -}}
{{ include "supabase.dbHostEnv" (list . "DB_HOST") }}
- name: DB_PORT
  value: {{ $db.port | int | quote }}
- name: DB_NAME
  value: {{ $db.name | quote }}
- name: DB_USER
  value: {{ include "supabase.dbRole" (list . "realtime") }}
{{ include "supabase.dbPasswordEnv" (list . "realtime" "DB_PASSWORD") }}
- name: DB_SSL
  value: "true"
- name: DB_SSL_CA_CERT
  value: {{ include "supabase.caPath" . }}
- name: DB_IP_VERSION
  value: ipv4
- name: DB_AFTER_CONNECT_QUERY
  value: SET search_path TO _realtime
{{ include "supabase.secretEnv" (list . "DB_ENC_KEY" "realtime-db-enc-key") }}
{{- end -}}

{{- define "supabase.realtime.env" -}}
- name: PORT
  value: {{ .Values.components.realtime.port | int | quote }}
{{ include "supabase.realtime.dbEnv" . }}
{{ include "supabase.secretEnv" (list . "API_JWT_SECRET" "jwt-secret") }}
{{ include "supabase.secretEnv" (list . "METRICS_JWT_SECRET" "jwt-secret") }}
{{ include "supabase.secretEnv" (list . "SECRET_KEY_BASE" "realtime-secret-key-base") }}
{{ include "supabase.secretEnv" (list . "RELEASE_COOKIE" "realtime-erlang-cookie") }}
- name: APP_NAME
  value: realtime
- name: POD_IP
  valueFrom:
    fieldRef: {fieldPath: status.podIP}
- name: RUN_JANITOR
  value: "true"
- name: ERL_AFLAGS
  value: -proto_dist inet_tcp -kernel inet_dist_listen_min 9100 inet_dist_listen_max 9100
- name: CLUSTER_STRATEGIES
  value: DNS
- name: DNS_NODES
  value: {{ printf "realtime-headless.%s.svc.cluster.local" .Release.Namespace | quote }}
- name: RELEASE_TMP
  value: /tmp
- name: ERL_CRASH_DUMP
  value: /tmp/erl_crash.dump
{{- end -}}

{{/* Boot runs the control-plane migrations: a startup probe gives it time; tcp because the
     HTTP health routes are per tenant and need a JWT. */}}
{{- define "supabase.realtime.probes" -}}
startupProbe:
  tcpSocket: {port: http}
  periodSeconds: 5
  failureThreshold: 60
readinessProbe:
  tcpSocket: {port: http}
  periodSeconds: 10
livenessProbe:
  tcpSocket: {port: http}
  periodSeconds: 20
{{- end -}}

{{- define "supabase.realtime.mounts" -}}{{ include "supabase.caMount" . }}{{- end -}}
{{- define "supabase.realtime.volumes" -}}{{ include "supabase.caVolume" . }}{{- end -}}
{{/* The image's entrypoint (run.sh) runs migrate and seed through `sudo -u nobody`, which this
     non-root pod without privilege escalation cannot do; the release's own scripts need no sudo.
     tini stays PID 1 (as in the image); the file limit is run.sh's RLIMIT_NOFILE. */}}
{{- define "supabase.realtime.command" -}}
command: ["/usr/bin/tini", "-s", "-g", "--", "/bin/sh", "-c"]
args: ["ulimit -Sn 10000 || true; /app/bin/migrate && exec /app/bin/server"]
{{- end -}}
{{- define "supabase.realtime.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- storage (Storage API) */}}
{{/* Env names are the ones storage-api v1.28.0 reads (src/config.ts). Its S3-compatible endpoint
     is off: it would need static access keys, and clients use the HTTP API through kong.
     S3 through IRSA: no AWS keys anywhere. EKS's pod identity webhook mounts a web identity token
     (audience sts.amazonaws.com) for the annotated ServiceAccount, independently of
     automountServiceAccountToken, which stays false: the pod holds no Kubernetes API token. */}}
{{- define "supabase.storage.env" -}}
- name: PORT
  value: {{ .Values.components.storage.port | int | quote }}
{{ include "supabase.secretEnv" (list . "ANON_KEY" "anon-key") }}
{{ include "supabase.secretEnv" (list . "SERVICE_KEY" "service-role-key") }}
{{ include "supabase.secretEnv" (list . "PGRST_JWT_SECRET" "jwt-secret") }}
{{ include "supabase.secretEnv" (list . "AUTH_JWT_SECRET" "jwt-secret") }}
{{ include "supabase.dbPasswordEnv" (list . "storage") }}
- name: DATABASE_URL
  value: {{ include "supabase.dbUrl" (list . "storage" "postgres") | quote }}
- name: STORAGE_BACKEND
  value: s3
- name: GLOBAL_S3_BUCKET
  value: {{ .Values.storage.bucket | quote }}
- name: REGION
  value: {{ .Values.storage.region | quote }}
- name: AWS_REGION
  value: {{ .Values.storage.region | quote }}
- name: AWS_STS_REGIONAL_ENDPOINTS
  value: regional
- name: TENANT_ID
  value: stub
- name: FILE_SIZE_LIMIT
  value: {{ .Values.storage.fileSizeLimitBytes | int | quote }}
- name: S3_PROTOCOL_ENABLED
  value: "false"
- name: REQUEST_ALLOW_X_FORWARDED_PATH
  value: "true"
{{- if .Values.components.imgproxy.enabled }}
- name: ENABLE_IMAGE_TRANSFORMATION
  value: "true"
- name: IMGPROXY_URL
  value: {{ include "supabase.url" (dict "root" . "name" "imgproxy") }}
{{- else }}
- name: ENABLE_IMAGE_TRANSFORMATION
  value: "false"
{{- end }}
{{- end -}}

{{- define "supabase.storage.probes" -}}
readinessProbe:
  httpGet: {path: /status, port: http}
  periodSeconds: 10
livenessProbe:
  httpGet: {path: /status, port: http}
  initialDelaySeconds: 20
  periodSeconds: 20
{{- end -}}

{{- define "supabase.storage.mounts" -}}{{ include "supabase.caMount" . }}{{- end -}}
{{- define "supabase.storage.volumes" -}}{{ include "supabase.caVolume" . }}{{- end -}}
{{- define "supabase.storage.command" -}}{{- end -}}
{{- define "supabase.storage.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- imgproxy */}}
{{/* Storage hands imgproxy short-lived presigned S3 URLs, so imgproxy needs no credentials. */}}
{{- define "supabase.imgproxy.env" -}}
- name: IMGPROXY_BIND
  value: ":{{ .Values.components.imgproxy.port | int }}"
- name: IMGPROXY_USE_ETAG
  value: "true"
- name: IMGPROXY_ENABLE_WEBP_DETECTION
  value: "true"
- name: IMGPROXY_MAX_SRC_RESOLUTION
  value: "16.8"
{{- end -}}

{{- define "supabase.imgproxy.probes" -}}
readinessProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 10
livenessProbe:
  httpGet: {path: /health, port: http}
  initialDelaySeconds: 10
  periodSeconds: 20
{{- end -}}

{{- define "supabase.imgproxy.mounts" -}}{{- end -}}
{{- define "supabase.imgproxy.volumes" -}}{{- end -}}
{{- define "supabase.imgproxy.command" -}}{{- end -}}
{{- define "supabase.imgproxy.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- meta (postgres-meta) */}}
{{/* postgres-meta takes the CA as PEM text (PG_META_DB_SSL_ROOT_CERT) and verifies the server. */}}
{{- define "supabase.meta.env" -}}
{{- $db := .Values.database -}}
- name: PG_META_PORT
  value: {{ .Values.components.meta.port | int | quote }}
{{ include "supabase.dbHostEnv" (list . "PG_META_DB_HOST") }}
- name: PG_META_DB_PORT
  value: {{ $db.port | int | quote }}
- name: PG_META_DB_NAME
  value: {{ $db.name | quote }}
- name: PG_META_DB_USER
  value: {{ include "supabase.dbRole" (list . "meta") }}
{{ include "supabase.dbPasswordEnv" (list . "meta" "PG_META_DB_PASSWORD") }}
- name: PG_META_DB_SSL_MODE
  value: verify-full
- name: PG_META_DB_SSL_ROOT_CERT
  valueFrom:
    configMapKeyRef:
      name: {{ $db.tls.caConfigMap }}
      key: {{ $db.tls.caKey }}
{{ include "supabase.secretEnv" (list . "CRYPTO_KEY" "meta-crypto-key") }}
{{- end -}}

{{- define "supabase.meta.probes" -}}
readinessProbe:
  tcpSocket: {port: http}
  periodSeconds: 10
livenessProbe:
  tcpSocket: {port: http}
  initialDelaySeconds: 10
  periodSeconds: 20
{{- end -}}

{{- define "supabase.meta.mounts" -}}{{- end -}}
{{- define "supabase.meta.volumes" -}}{{- end -}}
{{- define "supabase.meta.command" -}}{{- end -}}
{{- define "supabase.meta.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- studio */}}
{{/* Studio never connects to the database itself: it sends an encrypted connection string
     (supabase_admin, PG_META_CRYPTO_KEY) to postgres-meta. Next.js writes its cache under .next. */}}
{{- define "supabase.studio.env" -}}
{{- $db := .Values.database -}}
- name: HOSTNAME
  value: 0.0.0.0
- name: PORT
  value: {{ .Values.components.studio.port | int | quote }}
- name: STUDIO_PG_META_URL
  value: {{ include "supabase.url" (dict "root" . "name" "meta") }}
- name: SUPABASE_URL
  value: {{ include "supabase.url" (dict "root" . "name" "kong") }}
- name: SUPABASE_PUBLIC_URL
  value: {{ include "supabase.publicUrl" . }}
{{ include "supabase.dbHostEnv" (list . "POSTGRES_HOST") }}
- name: POSTGRES_PORT
  value: {{ $db.port | int | quote }}
- name: POSTGRES_DB
  value: {{ $db.name | quote }}
{{ include "supabase.dbPasswordEnv" (list . "studio" "POSTGRES_PASSWORD") }}
{{ include "supabase.secretEnv" (list . "PG_META_CRYPTO_KEY" "meta-crypto-key") }}
{{ include "supabase.secretEnv" (list . "SUPABASE_ANON_KEY" "anon-key") }}
{{ include "supabase.secretEnv" (list . "SUPABASE_SERVICE_KEY" "service-role-key") }}
{{ include "supabase.secretEnv" (list . "AUTH_JWT_SECRET" "jwt-secret") }}
- name: DEFAULT_ORGANIZATION_NAME
  value: {{ .Values.platform.prefix | quote }}
- name: DEFAULT_PROJECT_NAME
  value: {{ .Values.platform.prefix | quote }}
- name: NEXT_TELEMETRY_DISABLED
  value: "1"
{{- if .Values.components.analytics.enabled }}
- name: NEXT_PUBLIC_ENABLE_LOGS
  value: "true"
- name: NEXT_ANALYTICS_BACKEND_PROVIDER
  value: postgres
- name: LOGFLARE_URL
  value: {{ include "supabase.url" (dict "root" . "name" "analytics") }}
{{ include "supabase.secretEnv" (list . "LOGFLARE_API_KEY" "logflare-api-key") }}
{{- else }}
- name: NEXT_PUBLIC_ENABLE_LOGS
  value: "false"
{{- end }}
{{- end -}}

{{- define "supabase.studio.probes" -}}
readinessProbe:
  httpGet: {path: /api/platform/profile, port: http}
  periodSeconds: 10
  timeoutSeconds: 5
livenessProbe:
  httpGet: {path: /api/platform/profile, port: http}
  initialDelaySeconds: 30
  periodSeconds: 20
  timeoutSeconds: 5
{{- end -}}

{{- define "supabase.studio.mounts" -}}
- name: next-cache
  mountPath: /app/apps/studio/.next/cache
{{- end -}}
{{- define "supabase.studio.volumes" -}}
- name: next-cache
  emptyDir: {sizeLimit: 256Mi}
{{- end -}}
{{- define "supabase.studio.command" -}}{{- end -}}
{{- define "supabase.studio.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- functions (edge runtime) */}}
{{/* SUPABASE_DB_URL is handed to user code: it logs in as the least privileged login role, which
     can do nothing by itself, and starts every session as service_role (the libpq `options`
     parameter), what user code expects of this URL. */}}
{{- define "supabase.functions.env" -}}
{{ include "supabase.secretEnv" (list . "JWT_SECRET" "jwt-secret") }}
{{ include "supabase.secretEnv" (list . "SUPABASE_ANON_KEY" "anon-key") }}
{{ include "supabase.secretEnv" (list . "SUPABASE_SERVICE_ROLE_KEY" "service-role-key") }}
{{ include "supabase.dbPasswordEnv" (list . "functions") }}
- name: SUPABASE_DB_URL
  value: {{ printf "%s&options=-c%%20role%%3Dservice_role" (include "supabase.dbUrl" (list . "functions" "postgresql")) | quote }}
- name: SUPABASE_URL
  value: {{ include "supabase.url" (dict "root" . "name" "kong") }}
- name: SUPABASE_PUBLIC_URL
  value: {{ include "supabase.publicUrl" . }}
- name: VERIFY_JWT
  value: "true"
- name: DENO_DIR
  value: /tmp/deno
{{- end -}}

{{- define "supabase.functions.probes" -}}
readinessProbe:
  tcpSocket: {port: http}
  periodSeconds: 10
livenessProbe:
  tcpSocket: {port: http}
  initialDelaySeconds: 10
  periodSeconds: 20
{{- end -}}

{{- define "supabase.functions.mounts" -}}
{{ include "supabase.caMount" . }}
- name: functions-main
  mountPath: /home/deno/functions/main
  readOnly: true
{{- end -}}
{{- define "supabase.functions.volumes" -}}
{{ include "supabase.caVolume" . }}
- name: functions-main
  configMap:
    name: functions-main
{{- end -}}
{{- define "supabase.functions.command" -}}
args: ["start", "--main-service", "/home/deno/functions/main", "--port", "{{ .Values.components.functions.port | int }}"]
{{- end -}}
{{- define "supabase.functions.pod" -}}{{- end -}}

{{/* ---------------------------------------------------------------- analytics (Logflare) */}}
{{- define "supabase.analytics.env" -}}
{{- $db := .Values.database -}}
- name: LOGFLARE_NODE_HOST
  value: 127.0.0.1
- name: PORT
  value: {{ .Values.components.analytics.port | int | quote }}
{{ include "supabase.dbHostEnv" (list . "DB_HOSTNAME") }}
- name: DB_PORT
  value: {{ $db.port | int | quote }}
- name: DB_DATABASE
  value: {{ $db.name | quote }}
- name: DB_USERNAME
  value: {{ include "supabase.dbRole" (list . "analytics") }}
- name: DB_SCHEMA
  value: _analytics
{{ include "supabase.dbPasswordEnv" (list . "analytics") }}
- name: DB_SSL
  value: "true"
- name: POSTGRES_BACKEND_URL
  value: {{ include "supabase.dbUrl" (list . "analytics" "postgresql") | quote }}
- name: POSTGRES_BACKEND_SCHEMA
  value: _analytics
- name: LOGFLARE_SINGLE_TENANT
  value: "true"
- name: LOGFLARE_SUPABASE_MODE
  value: "true"
- name: LOGFLARE_FEATURE_FLAG_OVERRIDE
  value: multibackend=true
{{ include "supabase.secretEnv" (list . "LOGFLARE_API_KEY" "logflare-api-key") }}
- name: RELEASE_TMP
  value: /tmp
{{- end -}}

{{- define "supabase.analytics.probes" -}}
startupProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 5
  failureThreshold: 60
readinessProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 10
livenessProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 20
{{- end -}}

{{- define "supabase.analytics.mounts" -}}{{ include "supabase.caMount" . }}{{- end -}}
{{- define "supabase.analytics.volumes" -}}{{ include "supabase.caVolume" . }}{{- end -}}
{{- define "supabase.analytics.command" -}}{{- end -}}
{{- define "supabase.analytics.pod" -}}{{- end -}}

{{/* Studio is served through kong (basic auth) only when operator CIDRs are listed. */}}
{{- define "supabase.studioPublic" -}}
{{- if and .Values.components.studio.enabled .Values.ingress.enabled .Values.ingress.studioCidrs -}}true{{- end -}}
{{- end -}}
