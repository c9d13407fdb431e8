# Creates realtime's one tenant, or brings its settings up to date; never removes it (that
# would drop every live connection). Run once per release by the realtime-tenant Job with
# `/app/bin/realtime eval`, after the control-plane migrations. Only the control-plane Repo is
# started: running realtime pods pick the change up when their tenant cache entry expires.
#
# The tenant's database connection is the Job's own (DB_* env): same host, database, role and
# password as the realtime pods, over TLS (`ssl_enforced`), which RDS with rds.force_ssl requires.

alias Realtime.Api.Tenant
alias Realtime.Repo

external_id = System.fetch_env!("SELF_HOST_TENANT_NAME")
cdc = "postgres_cdc_rls"

settings = %{
  "db_host" => System.fetch_env!("DB_HOST"),
  "db_port" => System.fetch_env!("DB_PORT"),
  "db_name" => System.fetch_env!("DB_NAME"),
  "db_user" => System.fetch_env!("DB_USER"),
  "db_password" => System.fetch_env!("DB_PASSWORD"),
  "region" => System.fetch_env!("REGION"),
  "ssl_enforced" => true
}

Application.load(:realtime)

upsert = fn _repo ->
  case Repo.get_by(Tenant, external_id: external_id) do
    nil ->
      attrs = %{
        "name" => external_id,
        "external_id" => external_id,
        "jwt_secret" => System.fetch_env!("API_JWT_SECRET"),
        "extensions" => [%{"type" => cdc, "settings" => settings}]
      }

      {:inserted, %Tenant{} |> Tenant.changeset(attrs) |> Repo.insert!()}

    found ->
      found = Repo.preload(found, :extensions)
      # Existing extensions are passed back by id: the cdc one is updated in place, any other is
      # kept unchanged (an extension missing from the list would be removed).
      extensions =
        Enum.map(found.extensions, fn
          %{type: ^cdc, id: id} -> %{"id" => id, "type" => cdc, "settings" => settings}
          %{id: id} -> %{"id" => id}
        end)

      extensions =
        if Enum.any?(found.extensions, &(&1.type == cdc)),
          do: extensions,
          else: [%{"type" => cdc, "settings" => settings} | extensions]

      attrs = %{"jwt_secret" => System.fetch_env!("API_JWT_SECRET"), "extensions" => extensions}
      {:updated, found |> Tenant.changeset(attrs) |> Repo.update!()}
  end
end

{:ok, {outcome, tenant}, _} = Ecto.Migrator.with_repo(Repo, upsert)
IO.puts("realtime tenant #{tenant.external_id}: #{outcome}")
