// The trusted Lua code that builds the sandbox, run once per VM with the real
// globals before any policy is loaded. It receives the host functions (C
// trampolines into Swift) and the globals, and returns the pieces the engine
// keeps: `make_env(config)` (a fresh _ENV per policy), the verdict registry,
// and the metatables of transaction and address objects.
//
// Read-only proxies: an empty table whose metatable (locked with __metatable)
// reads through to a hidden table and refuses writes; `rawset` refuses them too,
// so no policy can change what another one sees (string.upper, mailgate.next...).
// Verdicts are such proxies as well, registered in a weak table only this code
// writes: a policy cannot forge or alter one.

enum SandboxPrelude {
    static let source = #"""
local host, globals = ...

local type, error, next, select, tostring = type, error, next, select, tostring
local rawget, rawset, setmetatable, getmetatable = rawget, rawset, setmetatable, getmetatable
local tointeger = math.tointeger
local sformat, sfind, slower = string.format, string.find, string.lower
local tconcat, tunpack = table.concat, table.unpack
local raise = host.raise

local protected = setmetatable({}, { __mode = "k" })

local function deny() raise("attempt to modify a read-only table") end

local function readonly(backing)
  local proxy = {}
  setmetatable(proxy, {
    __index = backing,
    __newindex = deny,
    __metatable = "read-only",
    __len = function() return #backing end,
    __pairs = function() return function(_, key) return next(backing, key) end, proxy, nil end,
  })
  protected[proxy] = true
  return proxy
end

local function deep_readonly(value)
  if type(value) ~= "table" then return value end
  local copy = {}
  for key, element in next, value do copy[key] = deep_readonly(element) end
  return readonly(copy)
end

-- Method calls on strings (s:find) use the bounded library and cannot reach it.
getmetatable("").__metatable = "string"

-- Verdicts ------------------------------------------------------------------
local verdicts = setmetatable({}, { __mode = "k" })
local verdict_fields = { kind = 1, code = 2, enhanced = 3, text = 4 }
local verdict_mt = {
  __metatable = "verdict",
  __newindex = deny,
  __index = function(verdict, key)
    local slot = verdict_fields[key]
    if slot then return verdicts[verdict][slot] end
  end,
  __tostring = function(verdict)
    local data = verdicts[verdict]
    if data[2] then return sformat("%s %d %s %s", data[1], data[2], data[3] or "", data[4]) end
    if data[4] then return sformat("%s %s", data[1], data[4]) end
    return data[1]
  end,
}

local function verdict(kind, code, enhanced, text)
  local made = setmetatable({}, verdict_mt)
  verdicts[made] = { kind, code, enhanced, text }
  protected[made] = true
  return made
end

local function printable(text, limit)
  return type(text) == "string" and #text <= limit and not sfind(text, "[%c\127]")
end

local function reply(name, code, enhanced, text, low, high, default_text)
  local number = tointeger(code)
  if number == nil or number < low or number > high then
    raise(sformat("mailgate.%s: code must be an integer from %d to %d, got %s", name, low, high, tostring(code)))
  end
  local class = number // 100
  if enhanced ~= nil then
    if type(enhanced) ~= "string" or #enhanced > 11
       or not sfind(enhanced, "^%d%.%d%d?%d?%.%d%d?%d?$") or enhanced:byte(1) - 48 ~= class then
      raise(sformat("mailgate.%s: enhanced status must look like \"%d.x.y\" for code %d, got %s",
                    name, class, number, tostring(enhanced)))
    end
  end
  if text == nil then
    text = default_text
  elseif not printable(text, 400) then
    raise(sformat("mailgate.%s: text must be a string of at most 400 bytes without control characters", name))
  end
  return number, enhanced, text
end

local mailgate = {
  next = verdict("next"),
  accept = verdict("accept"),
  reject = function(code, enhanced, text)
    return verdict("reject", reply("reject", code, enhanced, text, 500, 599, "Rejected by policy"))
  end,
  defer = function(code, enhanced, text)
    return verdict("defer", reply("defer", code, enhanced, text, 400, 499, "Temporary failure, try again later"))
  end,
  disconnect = function(code, enhanced, text)
    return verdict("disconnect", reply("disconnect", code, enhanced, text, 400, 599, "Closing connection"))
  end,
  redirect = function(address)
    if type(address) ~= "string" or host.parse_address(address) == nil then
      raise("mailgate.redirect: expected a mail address such as \"user@example.com\", got " .. tostring(address))
    end
    return verdict("redirect", nil, nil, address)
  end,
  discard = function() return verdict("discard") end,
  folder = function(name)
    if not printable(name, 255) or name == "" then
      raise("mailgate.folder: expected a folder name of 1 to 255 bytes without control characters")
    end
    return verdict("folder", nil, nil, name)
  end,
  route = function(name)
    if not printable(name, 255) or name == "" then
      raise("mailgate.route: expected the name of a [routes] entry, got " .. tostring(name))
    end
    return verdict("route", nil, nil, name)
  end,
}

-- Host API --------------------------------------------------------------------
local function log_at(level)
  return function(message) host.log(level, tostring(message)) end
end
local log = setmetatable({}, {
  __index = { debug = log_at("debug"), info = log_at("info"), warn = log_at("warn"),
              warning = log_at("warn"), error = log_at("error") },
  __newindex = deny,
  __metatable = "read-only",
  __call = function(_, level, message) host.log(level, tostring(message)) end,
})
protected[log] = true
mailgate.log = log

local host_in_networks = host.in_networks
mailgate.domains = readonly { is_local = host.is_local, has_catchall = host.has_catchall }
mailgate.users = readonly { exists = host.user_exists, alias_exists = host.alias_exists }
mailgate.whitelist = readonly { contains = host.whitelist_contains, add = host.whitelist_add,
                                remove = host.whitelist_remove }
mailgate.counters = readonly { incr = host.counter_incr, get = host.counter_get }
mailgate.net = readonly {
  in_networks = function(ip, networks)
    if type(networks) == "table" then return host_in_networks(ip, tunpack(networks)) end
    return host_in_networks(ip, networks)
  end,
  parse_ip = host.parse_ip,
}
mailgate.now = host.now
mailgate.list = host.list
mailgate.duration = host.duration
mailgate.size = host.size
mailgate.parse_address = host.parse_address
mailgate.config = deep_readonly(globals)
mailgate.api_version = 2

local dns_query, dns_reverse = host.dns_query, host.dns_reverse
mailgate.dns = readonly {
  query = dns_query,
  query_all = host.dns_query_all,
  a = function(name) return dns_query(name, "A") end,
  aaaa = function(name) return dns_query(name, "AAAA") end,
  mx = function(name) return dns_query(name, "MX") end,
  txt = function(name) return dns_query(name, "TXT") end,
  ptr = function(ip)
    local name = type(ip) == "string" and dns_reverse(ip) or nil
    if name == nil then raise("mailgate.dns.ptr: expected an IP address, got " .. tostring(ip)) end
    return dns_query(name, "PTR")
  end,
  reverse = dns_reverse,
}

-- Safe globals ------------------------------------------------------------------
local real_setmetatable = setmetatable
local safe = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type,
  rawequal = rawequal, rawlen = rawlen, rawget = rawget,
  rawset = function(t, key, value)
    if protected[t] then raise("attempt to modify a read-only table") end
    return rawset(t, key, value)
  end,
  getmetatable = getmetatable,
  setmetatable = function(t, metatable)
    if type(metatable) == "table" and rawget(metatable, "__gc") ~= nil then
      raise("setmetatable: __gc metamethods are not allowed in policies")
    end
    return real_setmetatable(t, metatable)
  end,
  print = function(...)
    local parts = {}
    for index = 1, select("#", ...) do parts[index] = tostring((select(index, ...))) end
    host.log("info", tconcat(parts, "\t"))
  end,
  _VERSION = _VERSION,
  string = readonly(string),
  table = readonly(table),
  math = readonly(math),
  utf8 = readonly(utf8),
  coroutine = readonly(coroutine),
  os = readonly { time = os.time, clock = os.clock, date = os.date },
  mailgate = readonly(mailgate),
}

local env_mt = { __index = safe, __metatable = "sandbox" }

local function make_env(config)
  local env = real_setmetatable({}, env_mt)
  env._G = env
  env.config = config
  return env
end

-- require(name): plugins/lib/name.lua, compiled once per VM into an environment of
-- its own (no config), while policies load.
local libraries, loading_library = {}, {}
local read_library, real_load = host.read_library, load
safe.require = function(name)
  if type(name) ~= "string" then raise("require: expected a library name, got " .. tostring(name)) end
  local value = libraries[name]
  if value ~= nil then return value end
  if loading_library[name] then raise("require: library \"" .. name .. "\" requires itself (a loop)") end
  local text, chunkname = read_library(name)
  local chunk, message = real_load(text, chunkname, "t", make_env(readonly {}))
  if chunk == nil then error(message, 0) end
  loading_library[name] = true
  value = chunk(name)
  loading_library[name] = nil
  if value == nil then value = true end
  libraries[name] = value
  return value
end

-- Transactions and addresses ------------------------------------------------------
local tx_methods = {  -- private: reached only through tx_mt.__index
  header = function(tx, name)
    if type(name) ~= "string" then raise("tx:header: expected a header name") end
    local wanted = slower(name)
    local headers = tx.headers
    if type(headers) ~= "table" then return nil end
    for index = 1, #headers do
      local field = headers[index]
      if slower(field.name) == wanted then return field.value end
    end
    return nil
  end,
  add_header = function(_, name, value) return host.add_header(name, value) end,
  set_subject = function(_, text) return host.set_subject(text) end,
  set_folder = function(_, name) return host.set_folder(name) end,
}
-- session, mail_from, recipients and headers are built on first use by the host, for
-- the hook call whose serial the transaction keeps under the private key `tx_call`.
local tx_call = {}
local tx_field = host.tx_field
local lazy_tx_fields = { session = true, mail_from = true, recipients = true, headers = true }
local tx_mt = {
  __index = function(tx, key)
    local method = tx_methods[key]
    if method ~= nil then return method end
    if lazy_tx_fields[key] then
      local value = tx_field(rawget(tx, tx_call), key)
      rawset(tx, key, value)
      return value
    end
    return nil
  end,
  __pairs = function(tx)
    for key in next, lazy_tx_fields do local _ = tx[key] end
    local function step(_, key)
      local found, value = next(tx, key)
      if found == tx_call then found, value = next(tx, found) end
      return found, value
    end
    return step, tx, nil
  end,
  __metatable = "transaction",
}
local address_mt = { __tostring = function(address) return rawget(address, "address") end,
                     __metatable = "address" }

-- Key-value store, per-transaction results and the message -------------------------
-- (LuaVM+KeyValue.swift, LuaVM+Message.swift). What tx:body/message/parts return is
-- cached per tx table (so per policy call) in a weak table: a policy asking twice
-- gets the same string without a second copy.
mailgate.kv = readonly { get = host.kv_get, set = host.kv_set, incr = host.kv_incr, delete = host.kv_delete }
local tx_set_result, tx_result = host.tx_set_result, host.tx_result
local tx_message_bytes, tx_parts, tx_part_text = host.tx_message_bytes, host.tx_parts, host.tx_part_text
local tx_cache = setmetatable({}, { __mode = "k" })
local function tx_serial(tx, method)
  if type(tx) ~= "table" or getmetatable(tx) ~= "transaction" then
    raise("tx:" .. method .. ": call it as a method (tx:" .. method .. "(...))")
  end
  return rawget(tx, tx_call)
end
local function tx_cached(tx)
  local cache = tx_cache[tx]
  if cache == nil then cache = {}; tx_cache[tx] = cache end
  return cache
end
local function whole(which)
  return function(tx, offset, length)
    local serial = tx_serial(tx, which)
    if offset ~= nil or length ~= nil then return tx_message_bytes(serial, which, offset, length) end
    local cache = tx_cached(tx)
    if cache[which] == nil then cache[which], cache[which .. "_size"] = tx_message_bytes(serial, which) end
    return cache[which], cache[which .. "_size"]
  end
end
tx_methods.set_result = function(tx, name, value) return tx_set_result(tx_serial(tx, "set_result"), name, value) end
tx_methods.result = function(tx, name) return tx_result(tx_serial(tx, "result"), name) end
tx_methods.body = whole("body")
tx_methods.message = whole("message")
tx_methods.parts = function(tx)
  local serial = tx_serial(tx, "parts")
  local cache = tx_cached(tx)
  if cache.parts == nil then cache.parts, cache.parts_complete = tx_parts(serial) end
  return cache.parts, cache.parts_complete
end
tx_methods.part_text = function(tx, index, max) return tx_part_text(tx_serial(tx, "part_text"), index, max) end

-- Mail authentication (LuaVM+MailAuth.swift) ----------------------------------------
-- tx:add_auth_result(method, result, properties, reason): properties is a list of
-- {name, value} pairs (kept in order) or a map (written sorted by name).
local tx_add_auth_result = host.tx_add_auth_result
tx_methods.add_auth_result = function(tx, method, result, properties, reason)
  local serial = tx_serial(tx, "add_auth_result")
  local flat = {}
  if properties ~= nil then
    if type(properties) ~= "table" then
      raise("tx:add_auth_result: expected properties as a table such as {[\"smtp.mailfrom\"] = domain}")
    end
    if #properties > 0 then
      for index = 1, #properties do
        local pair = properties[index]
        if type(pair) ~= "table" then raise("tx:add_auth_result: property #" .. index .. " must be {name, value}") end
        flat[#flat + 1] = pair[1]; flat[#flat + 1] = pair[2]
      end
    else
      local names = {}
      for name in next, properties do names[#names + 1] = name end
      table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
      for index = 1, #names do flat[#flat + 1] = names[index]; flat[#flat + 1] = properties[names[index]] end
    end
  end
  return tx_add_auth_result(serial, method, result, reason, tunpack(flat))
end
mailgate.spf = readonly { check = host.spf_check }
local dkim_verify, dmarc_check = host.dkim_verify, host.dmarc_check
local function tx_argument(tx, api)
  if type(tx) ~= "table" or getmetatable(tx) ~= "transaction" then
    raise(api .. ": expected the transaction (tx) as argument #1")
  end
  return rawget(tx, tx_call)
end
mailgate.dkim = readonly {
  verify = function(tx) return dkim_verify(tx_argument(tx, "mailgate.dkim.verify")) end,
}
local arc_verify = host.arc_verify
mailgate.arc = readonly {
  verify = function(tx) return arc_verify(tx_argument(tx, "mailgate.arc.verify")) end,
}
mailgate.dmarc = readonly {
  -- spf: the table mailgate.spf.check gave (or nil); dkim: mailgate.dkim.verify's list.
  check = function(tx, spf, dkim)
    local serial = tx_argument(tx, "mailgate.dmarc.check")
    if spf ~= nil and type(spf) ~= "table" then raise("mailgate.dmarc.check: expected the SPF result table (or nil) as argument #2") end
    if dkim ~= nil and type(dkim) ~= "table" then raise("mailgate.dmarc.check: expected the DKIM result list (or nil) as argument #3") end
    local flat = {}
    for index = 1, (dkim and #dkim or 0) do
      local signature = dkim[index]
      if type(signature) ~= "table" then raise("mailgate.dmarc.check: dkim[" .. index .. "] is not a result table") end
      flat[#flat + 1] = signature.result; flat[#flat + 1] = signature.domain or ""; flat[#flat + 1] = signature.selector or ""
    end
    if spf then return dmarc_check(serial, spf.result, spf.domain or "", spf.identity or "mailfrom", tunpack(flat)) end
    return dmarc_check(serial, nil, nil, nil, tunpack(flat))
  end,
}

-- mailgate.http.request{…} (LuaVM+HTTP.swift): the options checked and flattened here,
-- in Lua, so the host reads plain values. Headers are {Name = "value"} or
-- {Name = {"v1", "v2"}} (a repeated header), sent sorted by name; body = tx sends
-- the received message without copying it into Lua.
local http_request, ssort = host.http_request, table.sort
local http_options = { method = true, url = true, headers = true, body = true, timeout = true, max_response = true }
local function http_fail(text) raise("mailgate.http.request: " .. text) end
local function http_headers(headers)
  if headers == nil then return nil end
  if type(headers) ~= "table" then http_fail("headers must be a table {Name = \"value\"}") end
  local names = {}
  for name in next, headers do
    if type(name) ~= "string" then http_fail("header names must be strings, got " .. type(name)) end
    names[#names + 1] = name
    if #names > 100 then http_fail("more than 100 headers") end
  end
  ssort(names)
  local flat = {}
  for index = 1, #names do
    local name = names[index]
    local value = rawget(headers, name)
    if type(value) == "table" then
      local count = rawlen(value)
      if count > 100 then http_fail("more than 100 values for header " .. name) end
      for item = 1, count do
        flat[#flat + 1] = name
        flat[#flat + 1] = rawget(value, item)
      end
    else
      flat[#flat + 1] = name
      flat[#flat + 1] = value
    end
    if #flat > 200 then http_fail("more than 100 headers") end
  end
  return flat
end
mailgate.json = readonly { decode = host.json_decode }
mailgate.http = readonly {
  request = function(options)
    if type(options) ~= "table" then
      http_fail("expected a table such as {url = \"http://127.0.0.1:11333/checkv2\", method = \"POST\", body = tx}")
    end
    for key in next, options do
      if not http_options[key] then http_fail("unknown option " .. tostring(key) .. " (method, url, headers, body, timeout, max_response)") end
    end
    local body, serial = rawget(options, "body"), nil
    if type(body) == "table" and getmetatable(body) == "transaction" then
      serial, body = rawget(body, tx_call), nil
    elseif body ~= nil and type(body) ~= "string" then
      http_fail("body must be a string or the transaction (body = tx), got " .. type(body))
    end
    return http_request(rawget(options, "method"), rawget(options, "url"), http_headers(rawget(options, "headers")),
                        body, serial, rawget(options, "timeout"), rawget(options, "max_response"))
  end,
}

return { make_env = make_env, verdicts = verdicts, tx_mt = tx_mt, address_mt = address_mt, tx_call = tx_call,
         next_verdict = mailgate.next }
"""#
}
