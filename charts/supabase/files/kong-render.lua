-- Fill the ${NAME} placeholders of kong's declarative config from environment variables.
--
-- The API keys and the dashboard password reach kong as environment variables read from
-- Kubernetes Secrets (synced by External Secrets); the ConfigMap holds only placeholders.
-- Only the names listed below are substituted, and an unset one stops kong from starting,
-- rather than serving a config with an empty key. Lua's gsub with a function replacement
-- copies the value verbatim (no shell evaluation, no escaping rules to get wrong).
local allowed = { SUPABASE_ANON_KEY = true, SUPABASE_SERVICE_KEY = true, DASHBOARD_PASSWORD = true }
local source = assert(io.open("/etc/kong/kong.yml.tpl", "r"))
local text = source:read("*a")
source:close()
local rendered = text:gsub("%${([A-Z_]+)}", function(name)
  if not allowed[name] then
    error("kong.yml.tpl: unexpected placeholder " .. name)
  end
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("kong.yml.tpl: environment variable " .. name .. " is not set")
  end
  return value
end)
local target = assert(io.open("/kong-run/kong.yml", "w"))
target:write(rendered)
target:close()
