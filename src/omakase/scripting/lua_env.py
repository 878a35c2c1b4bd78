"""One Lua 5.1 state: sandbox, ``redis.*`` API and type conversions
(Redis's ``script_lua.c``, plus the state set-up of ``eval.c`` and
``function_lua.c``).

The state is lupa's ``lua51.LuaRuntime`` with ``encoding=None``, so Lua
strings reach Python as ``bytes``.  A bootstrap chunk (named ``=omakase``, a
name no user chunk can have) receives a table of Python callbacks and builds
everything in Lua, then empties the real globals table:

* Sandbox.  Redis 7.0.15 makes the globals table and every table reachable
  from it read-only (its patched Lua has ``lua_enablereadonlytable``).  Stock
  Lua has no such flag, so here the globals table ``_G`` is kept *empty* with
  a metatable: ``__index`` goes to a hidden table holding the allowed globals
  (whose own ``__index`` raises "Script attempted to access nonexistent
  global variable"), ``__newindex`` raises "Attempt to modify a readonly
  table".  Library tables (``redis``, ``string``, ``math``...) are exposed as
  empty read-only proxies of the real tables.  KEYS and ARGV are stored with
  ``rawset`` into the hidden table, as Redis opens the protection to set
  them; kept out of ``_G`` itself, assigning them (``KEYS = nil``) fails
  as in Redis.  The load environment's ``redis`` is such a proxy too.
  ``rawset`` refuses these tables as Redis does; ``rawget`` of ``_G`` or a
  proxy reads the table behind it.  DIVERGENCE: ``pairs``, ``#`` and
  ``next`` over ``_G`` or a library proxy see an empty table (KEYS and
  ARGV included); ``type(redis.call)`` is "userdata" (a Python callable),
  not "function"; a Lua number argument ``-0.0`` reaches commands as "0" (lupa hands Python
  integral numbers as ints).
* API functions.  ``redis.call``, ``redis.log``, ``math.random``, the
  library functions... are the Python callables themselves: for Lua they are
  C functions, so ``return redis.call(...)`` is not a tail call and the
  caller's frame (the line Redis reports) stays on the stack.  They fail by
  raising ``ScriptRaise``; lupa turns that into a Lua error whose value is
  the exception, and the message handler (and ``pcall``) unwrap it into the
  error table or message.  A ``luaL_error``-style message gets the caller's
  position prefixed ("user_script:1: ") as ``luaL_where`` would.  lupa's
  ``attribute_filter`` denies every attribute access on Python objects, so
  the callables give no way into Python.
* The message handler walks up the stack past C frames and frames of the
  bootstrap chunk (Redis skips one C frame) and produces Redis's
  ``{err=..., source=..., line=...}`` table.
* lupa reads the global ``debug`` from C before each call into Lua.  So that
  this lookup stays one plain table read, the main thread's own globals
  (``setfenv(0, ...)``) are an empty table of their own, and every chunk
  (scripts, libraries, ``loadstring``) gets the sandbox's ``_G`` as its
  environment (closures inherit it).  Should a C lookup still reach the
  sandbox, the nonexistent-global error is raised only for Lua callers, and
  the count hook never fires inside bootstrap functions.
* ``pcall`` is Redis's: an error table with an ``err`` string is returned
  as that string.

* Runs.  ``make_runner`` builds, once per script, a Lua closure that sets
  KEYS and ARGV (fresh tables built in Lua from the arguments: a table made
  through lupa costs more than the whole run of ``return 1``) and makes the
  protected call.  The count hook is set apart (``set_hook``), only when
  the wanted count changes.
* Recursion.  Lua allows nesting (an 8000-slot C stack, cjson's 1000
  levels) deeper than Python's default recursion limit; the Python code
  that recurses per level (the cjson and cmsgpack functions,
  ``reply_from_lua`` of a table) runs under ``deep_recursion``, which
  raises the limit around it only.

Reply conversions follow ``redisProtocolToLuaType`` (the RESP bytes the
script's fake client received are parsed into Lua values) and
``luaReplyToRedisReply`` (a Lua value becomes calls on the caller's reply
API, so RESP2/RESP3 encoding stays in ``networking``).
"""
from __future__ import annotations

import hashlib
import math
import sys
from typing import Any, Callable

from lupa import lua51

from omakase.scripting import libs

LUA_TYPE = lua51.lua_type
LLONG_MIN = -(1 << 63)
LLONG_MAX = (1 << 63) - 1

BOOTSTRAP = r"""
local py, mode = ...
local type, tostring, select, unpack, error, rawset, rawget, setmetatable, rawpcall =
      type, tostring, select, unpack, error, rawset, rawget, setmetatable, pcall
local fmt = string.format
local pairs, ipairs, setfenv, xpcall, loadstring, lower = pairs, ipairs, setfenv, xpcall, loadstring, string.lower
local getinfo, sethook = debug.getinfo, debug.sethook
local INTERNAL = "=omakase"

local function ro_error() error("Attempt to modify a readonly table", 2) end
local protected = setmetatable({}, {__mode = 'k'})
-- proxy -> the table holding its contents (what rawget reads through)
local backing = setmetatable({}, {__mode = 'k'})
local function readonly(t)
  local p = setmetatable({}, {__index = t, __newindex = ro_error, __metatable = false})
  protected[p] = true
  backing[p] = t
  return p
end
local function nonexistent(_, k)
  -- lupa itself reads the global 'debug' from C before each call into Lua:
  -- only Lua code gets the error.
  local i = getinfo(2, 'S')
  if i == nil or i.what == 'C' then return nil end
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end

local py_push_error, py_unwrap = py.push_error, py.unwrap

local function fix_pcall(ok, ...)
  if ok then return true, ... end
  local e = ...
  if type(e) == 'userdata' then
    local v = py_unwrap(e)
    if v ~= nil then e = v end
  end
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then return false, m end
  end
  return false, e
end
local function lua_pcall(f, ...) return fix_pcall(rawpcall(f, ...)) end

local function errh(err)
  if type(err) == 'userdata' then
    local v = py_unwrap(err)
    if v ~= nil then err = v end
  end
  local lvl, i = 2, nil
  while true do
    i = getinfo(lvl, 'nSl')
    if not i or (i.what ~= 'C' and i.source ~= INTERNAL) then break end
    lvl = lvl + 1
  end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end

-- Debugger state and value representation (ldb.py, ldbCatStackValue).
-- ldb_on is true while a debugging session runs (the line hook installed).
local ldb_on = false
local ldb_hook      -- the debugger's line/count hook (defined below)
local ldb_line, ldb_breakpoint, ldb_debug = py.ldb_line, py.ldb_breakpoint, py.ldb_debug
local sfmt, sbyte, sgsub, sfind, smatch = string.format, string.byte, string.gsub, string.find, string.match
local tconcat, next = table.concat, next
local getlocal, dgetmetatable = debug.getlocal, debug.getmetatable
local LDB_MAX_DEPTH = 10    -- LDB_MAX_VALUES_DEPTH (LUA_MINSTACK/2)
local cjson_null = py.cjson_null
local ESC = {['\\'] = '\\\\', ['"'] = '\\"', ['\n'] = '\\n', ['\r'] = '\\r',
             ['\t'] = '\\t', ['\a'] = '\\a', ['\b'] = '\\b'}
local function esc(ch) return ESC[ch] or sfmt('\\x%02x', sbyte(ch)) end
-- sdscatrepr: quoted, escapes for what C's isprint refuses
local function repr_string(s) return '"' .. (sgsub(s, '[%c"\\\128-\255]', esc)) .. '"' end
-- The address tostring gives (as %p), without a __tostring metamethod.
local function pointer(v)
  local mt = dgetmetatable(v)
  local f = type(mt) == 'table' and rawget(mt, '__tostring') or nil
  if f ~= nil then rawset(mt, '__tostring', nil) end
  local s = tostring(v)
  if f ~= nil then rawset(mt, '__tostring', f) end
  return smatch(s, ': (.*)$') or s
end
local ldb_repr
ldb_repr = function(v, level)
  if level == LDB_MAX_DEPTH then return '<max recursion level reached! Nested table?>' end
  level = level + 1
  local t = type(v)
  if t == 'string' then return repr_string(v)
  elseif t == 'boolean' then return v and 'true' or 'false'
  elseif t == 'number' then return sfmt('%g', v)
  elseif t == 'nil' then return 'nil'
  elseif t == 'table' then
    -- both forms are built, the array one is kept if the keys were 1..n
    local expected, is_array, n = 1, true, 0
    local r1, r2 = {}, {}
    local k, val = next(v)
    while k ~= nil do
      if is_array and (type(k) ~= 'number' or k ~= expected) then is_array = false end
      n = n + 1
      r1[n] = ldb_repr(val, level)
      r2[n] = '[' .. ldb_repr(k, level) .. ']=' .. ldb_repr(val, level)
      expected = expected + 1
      k, val = next(v, k)
    end
    return '{' .. tconcat(is_array and r1 or r2, '; ') .. '}'
  end
  if t == 'userdata' then
    -- cjson.null is Redis's NULL light userdata; any other userdata a
    -- script reaches is an API function (a C function in Redis).
    if v == cjson_null then return '"light-userdata@(nil)"' end
    t = 'function'
  end
  return '"' .. t .. '@' .. pointer(v) .. '"'
end

local redis = {}
local noop = function() end
redis.call = py.call
redis.pcall = py.pcall
redis.log = py.log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REDIS_VERSION = py.version
redis.REDIS_VERSION_NUM = py.version_num
redis.setresp = py.setresp
redis.sha1hex = py.sha1hex
redis.error_reply = py.error_reply
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return py_push_error("wrong number or type of arguments")
  end
  return {ok = s}
end
redis.set_repl = py.set_repl
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.replicate_commands = function() return true end
redis.acl_check_cmd = py.acl_check
-- The Lua debugger's two functions (ldb.py): no-ops outside a session.
redis.breakpoint = function()
  if ldb_on then ldb_breakpoint() return true end
  return false
end
redis.debug = function(...)
  if not ldb_on then return end
  local parts = {}
  for i = 1, select('#', ...) do parts[i] = ldb_repr((select(i, ...)), 0) end
  ldb_debug(tconcat(parts, ', '))
end

local m = {}
for k, v in pairs(math) do m[k] = v end
m.random = py.random
m.randomseed = py.randomseed

local function lib(t)
  local out = {}
  for k, f in pairs(t) do out[k] = f end
  return out
end
local cjson = lib(py.cjson)
local cmsgpack = lib(py.cmsgpack)
local struct = lib(py.struct)
local bit = lib(py.bit)
cjson.null = py.cjson_null

local loadstring = loadstring
local G = {}
for _, k in ipairs({"xpcall", "tostring", "setmetatable", "next", "assert",
    "tonumber", "rawequal", "collectgarbage", "getmetatable", "rawset", "coroutine",
    "type", "select", "unpack", "gcinfo", "pairs", "rawget", "loadstring", "ipairs",
    "_VERSION", "load", "error"}) do
  G[k] = _G[k]
end
G.pcall = lua_pcall
G.rawset = py.rawset
G.rawget = py.rawget
G.string = readonly(string)
G.table = readonly(table)
G.math = readonly(m)
G.coroutine = readonly(coroutine)
G.cjson = readonly(cjson)
G.cmsgpack = readonly(cmsgpack)
G.struct = readonly(struct)
G.bit = readonly(bit)
-- Strings' metatable reaches the string library too: protect both.
local smt = getmetatable('')
smt.__index = G.string
smt.__metatable = readonly(smt)
-- Precompiled chunks are refused (Redis's Lua does not load bytecode).
local function no_binary(s)
  if type(s) == 'string' and s:byte(1) == 27 then
    return nil, "binary chunks are not allowed"
  end
  return s
end
-- Every chunk loaded runs in the sandbox's globals table (env), not in the
-- thread's own globals (host, see the end of this chunk).
local env = _G
local function load_chunk(code, name)
  local f, err = loadstring(code, name)
  if not f then return nil, err end
  return setfenv(f, env)
end
G.loadstring = function(s, name)
  local ok, err = no_binary(s)
  if not ok and err then return nil, err end
  return load_chunk(s, name)
end
local raw_load = load
G.load = function(f, name)
  if type(f) ~= 'function' then return raw_load(f, name) end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == '' then break end
    if type(piece) ~= 'string' then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  return G.loadstring(table.concat(parts), name or "=(load)")
end

local keys = {}
for k in pairs(env) do keys[#keys + 1] = k end
for _, k in ipairs(keys) do env[k] = nil end

local api = {}
local envmt = {__index = G, __newindex = ro_error, __metatable = readonly({})}
if mode == 'function' then
  -- The library-loading environment: only redis.register_function, log
  -- and the version; anything else is a nonexistent global.
  -- A read-only proxy like the others, so that assigning one of its
  -- fields fails too (a raw field would be overwritten without a word).
  local lr = setmetatable({}, {__index = nonexistent, __newindex = ro_error})
  local load_redis = readonly(lr)
  rawset(lr, 'log', redis.log)
  for _, k in ipairs({'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING',
                      'REDIS_VERSION', 'REDIS_VERSION_NUM'}) do rawset(lr, k, redis[k]) end
  local register = py.register_function
  local function perr(m) error(py_push_error(m)) end
  local function isstr(v) local t = type(v) return t == 'string' or t == 'number' end
  rawset(lr, 'register_function', function(...)
    local n = select('#', ...)
    if n < 1 or n > 2 then perr("wrong number of arguments to redis.register_function") end
    local name, cb, desc
    local fl = {}
    if n == 1 then
      local t = ...
      if type(t) ~= 'table' then
        perr("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
      end
      for k, v in pairs(t) do
        if not isstr(k) then perr("named argument key given to redis.register_function is not a string") end
        local lk = lower(tostring(k))
        if lk == 'function_name' then
          if not isstr(v) then perr("function_name argument given to redis.register_function must be a string") end
          name = tostring(v)
        elseif lk == 'description' then
          if not isstr(v) then perr("description argument given to redis.register_function must be a string") end
          desc = tostring(v)
        elseif lk == 'callback' then
          if type(v) ~= 'function' then perr("callback argument given to redis.register_function must be a function") end
          cb = v
        elseif lk == 'flags' then
          if type(v) ~= 'table' then perr("flags argument to redis.register_function must be a table representing function flags") end
          for _, f in pairs(v) do
            if type(f) ~= 'string' then perr("unknown flag given") end
            fl[#fl + 1] = f
          end
        else
          perr("unknown argument given to redis.register_function")
        end
      end
      if name == nil then perr("redis.register_function must get a function name argument") end
      if cb == nil then perr("redis.register_function must get a callback argument") end
    else
      name, cb = ...
      if not isstr(name) then perr("first argument to redis.register_function must be a string") end
      name = tostring(name)
      if type(cb) ~= 'function' then perr("second argument to redis.register_function must be a function") end
    end
    return register(name, cb, desc, unpack(fl))
  end)
  local load_G = setmetatable({redis = load_redis}, {__index = nonexistent, __newindex = ro_error})
  api.load = function(code)
    local f, err = load_chunk(code, "@user_function")
    if not f then return false, err end
    -- As Redis does, the globals' lookup is switched to the library API
    -- while the library loads (closures keep the real globals table).
    envmt.__index = load_G
    local ok, e = rawpcall(f)
    envmt.__index = G
    if ok then return true end
    if type(e) == 'userdata' then
      local v = py_unwrap(e)
      if v ~= nil then e = v end
    end
    return false, e
  end
end

G.redis = readonly(redis)
G._G = env
setmetatable(G, {__index = nonexistent, __newindex = ro_error})
setmetatable(env, envmt)
protected[env] = true
protected[G] = true
backing[env] = G

api.is_protected = function(t) return protected[t] == true end
api.rawset = rawset
-- rawget of a read-only proxy reads the table behind it, where Redis's
-- read-only tables hold their contents.
api.rawget = function(t, k) return rawget(backing[t] or t, k) end
api.compile = load_chunk
-- The count hook (scriptInterrupt).  Redis sets it before each run and
-- removes it after; debug.sethook costs far more here than lua_sethook in
-- C, so it stays installed between runs: Python changes it (api.sethook)
-- only when the wanted count changes (busy-reply-threshold set to 0 or
-- back), and a run that was killed (the hook switched to a line hook)
-- puts the count hook back before returning.  Outside a run the hook does
-- nothing (no run context: py.interrupt() is false), and inside one the
-- first check may come before 100000 instructions: it only compares the
-- elapsed time with the threshold, so nothing observable changes.
local hook
local hook_count = 0    -- the count hook installed (0: none)
local killed = false    -- the kill's line hook is installed
local interrupt = py.interrupt
hook = function()
  -- Never in the bootstrap's own functions.
  local i = getinfo(2, 'S')
  if i and i.source == INTERNAL then return end
  if interrupt() then
    killed = true
    sethook(hook, "l")
    error(py_push_error("Script killed by user with SCRIPT KILL..."))
  end
end
api.sethook = function(count)
  if count > 0 then sethook(hook, "", count) else sethook() end
  hook_count = count
end
-- The debugger (ldb.py, luaLdbLineHook).  Its hook replaces the count hook
-- for the session: every line, and every 100000 instructions (the
-- timeout check).  Lines of the bootstrap's own functions are not
-- reported (Redis's equivalents are C functions, which have no lines).
ldb_hook = function(event)
  local i = getinfo(2, 'Sl')
  if i == nil or i.source == INTERNAL then return end
  ldb_line(event == 'count', i.currentline, i.short_src)
end
api.ldb_sethook = function(on)
  ldb_on = on
  if on then sethook(ldb_hook, 'l', 100000)
  elseif hook_count > 0 then sethook(hook, '', hook_count) else sethook() end
end
-- The level, for the caller of this function, of the function the
-- debugger stopped in (the frame below ldb_hook's); nil outside the hook.
local function ldb_level()
  local l = 2
  while true do
    local i = getinfo(l, 'f')
    if i == nil then return nil end
    if i.func == ldb_hook then return l end
    l = l + 1
  end
end
-- ldbPrintAll: name, value, name, value... of the current frame's locals.
api.ldb_locals = function()
  local lvl = ldb_level()
  local out, n = {}, 0
  if lvl then
    local i = 1
    while true do
      local name, val = getlocal(lvl, i)
      if name == nil then break end
      if not sfind(name, '(*temporary)', 1, true) then
        out[n + 1] = name
        out[n + 2] = ldb_repr(val, 0)
        n = n + 2
      end
      i = i + 1
    end
  end
  return out
end
-- ldbPrint: the first local with that name from the current frame out
-- (the bootstrap's frames skipped), then the globals KEYS and ARGV.
api.ldb_print = function(name)
  local lvl = ldb_level()
  while lvl do
    local info = getinfo(lvl, 'S')
    if info == nil then break end
    if info.source ~= INTERNAL then
      local i = 1
      while true do
        local n, val = getlocal(lvl, i)
        if n == nil then break end
        if n == name then return ldb_repr(val, 0) end
        i = i + 1
      end
    end
    lvl = lvl + 1
  end
  if name == 'KEYS' or name == 'ARGV' then return ldb_repr(rawget(G, name), 0) end
  return nil
end
-- ldbTrace: "In"/"From", name, line for each frame of the script.
api.ldb_trace = function()
  local lvl = ldb_level()
  local first = lvl
  local out, n = {}, 0
  while lvl do
    local i = getinfo(lvl, 'Snl')
    if i == nil then break end
    if sfind(i.short_src, 'user_script', 1, true) then
      out[n + 1] = lvl == first and 'In' or 'From'
      out[n + 2] = i.name or 'top level'
      out[n + 3] = i.currentline
      n = n + 3
    end
    lvl = lvl + 1
  end
  return out
end
-- ldbEval: as an expression ("return " prepended), else as a statement;
-- (true, representation of the first value) or (false, message).
api.ldb_eval = function(code)
  local f, err = loadstring('return ' .. code, '@ldb_eval')
  if not f then
    f, err = loadstring(code, '@ldb_eval')
    if not f then return false, err end
  end
  setfenv(f, env)
  local ok, r = rawpcall(f)
  if ok then return true, ldb_repr(r, 0) end
  if type(r) == 'userdata' then
    local v = py_unwrap(r)
    if v ~= nil then r = v end
  end
  if type(r) == 'table' and type(r.err) == 'string' then r = r.err
  elseif type(r) == 'number' then r = tostring(r)
  elseif type(r) ~= 'string' then r = '(null)' end
  return false, r
end
local function unkill()
  killed = false
  if hook_count > 0 then sethook(hook, "", hook_count) else sethook() end
end
-- One runner per script, made once when the script is compiled or the
-- function first called: a run is one call from Python, with no argument
-- when there are no keys and no arguments, else with the number of keys
-- and the arguments themselves (Lua builds KEYS and ARGV: cheaper than two
-- tables made through lupa), or, for long argument lists (nkeys < 0), the
-- two tables made by Python.  KEYS and ARGV are fresh tables on every run,
-- as in Redis.  They are stored (rawset) in G, not in env: a raw field of
-- env could be reassigned by the script (KEYS = nil), while an assignment
-- to a name env lacks goes to __newindex and fails as in Redis.  It returns the script's one value on success, and two
-- values (false, error) on failure, so Python tells them apart by the
-- tuple.  (The protected call is inlined: no helper call per run.)
api.runner = function(f, eval_mode)
  if eval_mode then
    return function(nkeys, ...)
      if nkeys == nil then
        rawset(G, 'KEYS', {})
        rawset(G, 'ARGV', {})
      elseif nkeys == 0 then
        rawset(G, 'KEYS', {})
        rawset(G, 'ARGV', {...})
      elseif nkeys < 0 then
        local keys, args = ...
        rawset(G, 'KEYS', keys)
        rawset(G, 'ARGV', args)
      else
        local all, keys, args = {...}, {}, {}
        for i = 1, nkeys do keys[i] = all[i] end
        for i = nkeys + 1, select('#', ...) do args[i - nkeys] = all[i] end
        rawset(G, 'KEYS', keys)
        rawset(G, 'ARGV', args)
      end
      local ok, r = xpcall(f, errh)
      if killed then unkill() end
      if ok then return r end
      return false, r
    end
  end
  return function(nkeys, ...)
    local keys, args
    if nkeys == nil then
      keys, args = {}, {}
    elseif nkeys == 0 then
      keys, args = {}, {...}
    elseif nkeys < 0 then
      keys, args = ...
    else
      local all = {...}
      keys, args = {}, {}
      for i = 1, nkeys do keys[i] = all[i] end
      for i = nkeys + 1, select('#', ...) do args[i - nkeys] = all[i] end
    end
    local ok, r = xpcall(function() return f(keys, args) end, errh)
    if killed then unkill() end
    if ok then return r end
    return false, r
  end
end
-- luaL_where(L, 1) seen from a Python callback: the position of the Lua
-- code that called it ("" when that is a C function).
api.where = function()
  local i = getinfo(3, 'Sl')
  if i and i.currentline and i.currentline > 0 then
    return i.short_src .. ":" .. i.currentline .. ": "
  end
  return ""
end
-- luaL_argerror's message seen from a Python callback: the name is the one
-- Lua gives the callback's frame ('?' when called from C, the local's name
-- for 'local r = rawget').
api.argerror = function(narg, extramsg)
  local ar = getinfo(2, 'n')
  local name = ar and ar.name or '?'
  local i = getinfo(3, 'Sl')
  local w = ""
  if i and i.currentline and i.currentline > 0 then
    w = i.short_src .. ":" .. i.currentline .. ": "
  end
  if ar and ar.namewhat == 'method' then
    narg = narg - 1
    if narg == 0 then
      return w .. "calling '" .. name .. "' on bad self (" .. extramsg .. ")"
    end
  end
  return w .. "bad argument #" .. narg .. " to '" .. name .. "' (" .. extramsg .. ")"
end
-- The thread's globals become a table of their own: lupa looks up the
-- global 'debug' from C before each call into Lua, and in env that lookup
-- would end in nonexistent() on every call.  Scripts never see this table
-- (their chunks and closures run in env; coroutines inherit it but run
-- closures), only lua_getglobal from C does.
setfenv(0, {})
return api
"""


class RedisRand48:
    """redisLrand48/redisSrand48 (rand.c): the 48-bit linear congruential
    generator of drand48, so math.random gives Redis's sequence."""
    __slots__ = ("x",)
    A = 0x5DEECE66D
    MASK = (1 << 48) - 1

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E      # the initial state of rand.c

    def seed(self, i: int) -> None:
        self.x = (((i & 0xFFFFFFFF) << 16) | 0x330E) & self.MASK

    def next31(self) -> int:
        self.x = (self.A * self.x + 0xB) & self.MASK
        return self.x >> 17


def _unwrap(e: Any) -> Any:
    if isinstance(e, ScriptRaise):
        return e.value
    if isinstance(e, BaseException):     # a bug in a Python callback
        return ("internal error in a script API function: %s: %s"
                % (type(e).__name__, e)).encode("utf-8", "replace")
    return None


def lua_number_to_ll(n: Any) -> int:
    """(long long) of a Lua number, x86-64 style for the undefined cases."""
    if isinstance(n, int):
        if LLONG_MIN <= n <= LLONG_MAX:
            return n
        return LLONG_MIN
    if math.isnan(n) or math.isinf(n):
        return LLONG_MIN
    v = int(n)
    if LLONG_MIN <= v <= LLONG_MAX:
        return v
    return LLONG_MIN


class ScriptRaise(Exception):
    """Raised by a Python function called from Lua: lupa turns it into a
    Lua error whose value is this exception, which the message handler and
    ``pcall`` unwrap into ``value`` (an error table or a message)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


DEEP_RECURSION_LIMIT = 20000
_getrecursionlimit = sys.getrecursionlimit
_setrecursionlimit = sys.setrecursionlimit


def deep_recursion(fn: Callable) -> Callable:
    """``fn`` run under a Python recursion limit deep enough for the
    nesting Lua allows (Lua's 8000-slot C stack, cjson's 1000 levels): the
    only paths that recurse per nesting level are the cjson and cmsgpack
    functions and ``reply_from_lua`` of a table (see ``ScriptingState.run``),
    so the limit is raised around them, not around every run."""
    def call(*args: Any) -> Any:
        limit = _getrecursionlimit()
        if limit >= DEEP_RECURSION_LIMIT:
            return fn(*args)
        _setrecursionlimit(DEEP_RECURSION_LIMIT)
        try:
            return fn(*args)
        finally:
            _setrecursionlimit(limit)
    return call


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("access denied")


class LuaEngine:
    """A Lua state plus the Python side of its ``redis.*`` API.  ``mode`` is
    "eval" (EVAL scripts) or "function" (libraries, with the loading
    environment for ``redis.register_function``).

    The API functions are the Python callables themselves (for Lua, C
    functions: a ``return redis.call(...)`` keeps the caller's frame, so
    error positions are those Redis reports).  They raise ``ScriptRaise``."""

    def __init__(self, scripting: Any, mode: str) -> None:
        from omakase import REDIS_VERSION
        self.scripting = scripting
        self.mode = mode
        self.lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True,
                                    register_eval=False, register_builtins=False,
                                    attribute_filter=_deny_attributes)
        self.rand = scripting.rand
        self.register_hook: Callable | None = None   # set while loading a library
        lua = self.lua
        py = lua.table()
        st = scripting
        py[b"call"] = lambda *a: st.lua_call(True, a)
        py[b"pcall"] = lambda *a: st.lua_call(False, a)
        py[b"acl_check"] = st.lua_acl_check
        py[b"push_error"] = self.push_error
        py[b"unwrap"] = _unwrap
        py[b"log"] = st.lua_log
        py[b"setresp"] = st.lua_setresp
        py[b"set_repl"] = st.lua_set_repl
        py[b"sha1hex"] = self._sha1hex
        py[b"error_reply"] = self._error_reply
        py[b"interrupt"] = st.lua_interrupt
        # The debugger's callbacks go to the session running (ldb.py).
        py[b"ldb_line"] = lambda *a: st.ldb_session.line_hook(*a)
        py[b"ldb_breakpoint"] = lambda: st.ldb_session.breakpoint()
        py[b"ldb_debug"] = lambda s: st.ldb_session.debug(s)
        py[b"random"] = self._random
        py[b"randomseed"] = self._randomseed
        py[b"register_function"] = self._register_function
        py[b"rawset"] = self._rawset
        py[b"rawget"] = self._rawget
        major, minor, patch = (int(x) for x in REDIS_VERSION.split("."))
        py[b"version"] = REDIS_VERSION.encode()
        py[b"version_num"] = (major << 16) | (minor << 8) | patch
        for name, table in (("cjson", libs.CJSON), ("cmsgpack", libs.CMSGPACK),
                            ("struct", libs.STRUCT), ("bit", libs.BIT)):
            t = lua.table()
            deep = name in ("cjson", "cmsgpack")     # they recurse per nesting level
            for fname, fn in table.items():
                f = libs.bind(self, fn)
                t[fname.encode()] = deep_recursion(f) if deep else f
            py[name.encode()] = t
        self.cjson_null = lua.eval(b"newproxy()")
        py[b"cjson_null"] = self.cjson_null
        chunk = lua.eval(b"function(code) return loadstring(code, '=omakase') end")
        fn = chunk(BOOTSTRAP.encode())
        if isinstance(fn, tuple):
            raise RuntimeError(fn[1])
        api = fn(py, mode.encode())
        self.api = api
        self._compile = api[b"compile"]
        self._runner = api[b"runner"]
        self.set_hook = api[b"sethook"]
        self.hook_threshold = None  # the busy-reply-threshold the hook was set for
        self.table_from = lua.table_from
        # Tables are made through the C API (no Lua call, no per-call setup).
        self._table = lua.table
        self.where = api[b"where"]
        self._is_protected = api[b"is_protected"]
        self._raw_rawset = api[b"rawset"]
        self._raw_rawget = api[b"rawget"]
        self._argerror = api[b"argerror"]
        self._load = api[b"load"] if mode == "function" else None
        self.ldb_sethook = api[b"ldb_sethook"]
        self.ldb_locals = api[b"ldb_locals"]
        self.ldb_print = api[b"ldb_print"]
        self.ldb_trace = api[b"ldb_trace"]
        self.ldb_eval = api[b"ldb_eval"]

    def raise_error(self, msg: str | bytes) -> None:
        """luaL_error from a Python callback: the message, prefixed with the
        calling Lua code's position."""
        if isinstance(msg, str):
            msg = msg.encode()
        raise ScriptRaise(self.where() + msg)

    def raise_table(self, msg: str | bytes) -> None:
        """luaPushError + luaError: raise the error table {err=...}."""
        raise ScriptRaise(self.push_error(msg))

    # -- helpers called from Lua -------------------------------------------
    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            self.raise_table("wrong number of arguments")
        s = args[0]
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            s = _lua_tostring(s)
        elif not isinstance(s, bytes):
            s = b""
        return hashlib.sha1(s).hexdigest().encode()

    def _error_reply(self, *args: Any) -> Any:
        if len(args) != 1 or not isinstance(args[0], bytes):
            return self.push_error("wrong number or type of arguments")
        err = args[0]
        if not err.startswith(b"-"):
            err = b"-" + err
        return self.push_error(err)

    def _rawset(self, *args: Any) -> Any:
        """rawset, refusing the read-only tables (C in Redis: no position)."""
        self._check_raw_args(args, 3)
        t, k = args[0], args[1]
        if self._is_protected(t):
            raise ScriptRaise(b"Attempt to modify a readonly table")
        if k is None:
            raise ScriptRaise(b"table index is nil")
        if isinstance(k, float) and k != k:
            raise ScriptRaise(b"table index is NaN")
        return self._raw_rawset(t, k, args[2])

    def _rawget(self, *args: Any) -> Any:
        """rawget; of ``_G`` or a library proxy it reads the table behind
        (``api.rawget``).  A Python callable for Lua (a C function), so the
        argument errors get the caller's position as Lua's own do."""
        self._check_raw_args(args, 2)
        return self._raw_rawget(args[0], args[1])

    def _check_raw_args(self, args: tuple, n: int) -> None:
        """luaL_checktype(L, 1, LUA_TTABLE) and luaL_checkany for the
        arguments after it, with Lua's messages (``api.argerror``)."""
        if not args or LUA_TYPE(args[0]) != "table":
            got = "no value" if not args else libs._typename(args[0])
            raise ScriptRaise(self._argerror(1, b"table expected, got " + got.encode()))
        if len(args) < n:
            raise ScriptRaise(self._argerror(len(args) + 1, b"value expected"))

    def _checkint(self, v: Any, i: int, fname: str) -> int:
        n = v
        if isinstance(v, bytes):
            try:
                n = float(v)
            except ValueError:
                n = None
        if n is None or isinstance(n, bool) or not isinstance(n, (int, float)):
            got = "no value" if v is None else libs._typename(v)
            self.raise_error(f"bad argument #{i} to '{fname}' (number expected, got {got})")
        return int(n)

    def _random(self, *args: Any) -> Any:
        if self.scripting.ctx is None:
            self.raise_error("math.random can only be called inside a script invocation")
        r = (self.rand.next31() % 0x7FFFFFFF) / 0x7FFFFFFF
        n = len(args)
        if n == 0:
            return r
        if n == 1:
            u = self._checkint(args[0], 1, "random")
            if u < 1:
                self.raise_error("bad argument #1 to 'random' (interval is empty)")
            return math.floor(r * u) + 1
        if n == 2:
            lo = self._checkint(args[0], 1, "random")
            u = self._checkint(args[1], 2, "random")
            if lo > u:
                self.raise_error("bad argument #2 to 'random' (interval is empty)")
            return math.floor(r * (u - lo + 1)) + lo
        self.raise_error("wrong number of arguments")

    def _randomseed(self, *args: Any) -> None:
        if self.scripting.ctx is None:
            self.raise_error("math.randomseed can only be called inside a script invocation")
        self.rand.seed(self._checkint(args[0] if args else None, 1, "randomseed"))

    def _register_function(self, name: bytes, cb: Any, desc: Any, *flags: bytes) -> None:
        if self.register_hook is None:
            self.raise_table("redis.register_function can only be called on FUNCTION LOAD command")
        err = self.register_hook(name, cb, desc, flags)
        if err is not None:
            self.raise_table(err)

    # -- errors and tables --------------------------------------------------
    def push_error(self, msg: Any) -> Any:
        """luaPushErrorBuff: a table {err="CODE message"}."""
        if isinstance(msg, str):
            msg = msg.encode()
        ldb = self.scripting.ldb_session
        if ldb is not None and ldb.step:
            # luaPushErrorBuff logs the error while the debugger steps.
            ldb.log(b"<error> " + msg)
        if msg.startswith(b"-"):
            sp = msg.find(b" ")
            if sp < 0:
                code, text = b"ERR", msg[1:]
            else:
                code, text = msg[1:sp], msg[sp + 1:]
        else:
            code, text = b"ERR", msg
        text = text.strip(b"\r\n")
        t = self._table()
        t[b"err"] = code + b" " + text
        return t

    # -- compile and run ----------------------------------------------------
    def compile(self, code: bytes, chunkname: bytes) -> tuple[Any, bytes | None]:
        r = self._compile(code, chunkname)
        if isinstance(r, tuple):
            err = r[1]
            return None, err if isinstance(err, bytes) else str(err).encode()
        return r, None

    def load_library(self, code: bytes) -> tuple[bool, Any]:
        r = self._load(code)
        if isinstance(r, tuple):
            return r[0], r[1] if len(r) > 1 else None
        return bool(r), None

    def make_runner(self, f: Any, eval_mode: bool) -> Any:
        """The Lua closure that runs ``f`` (see ``api.runner`` in the
        bootstrap): ``runner()`` (no keys, no arguments) or
        ``runner(nkeys, *keys_and_args)`` returns the script's value, or a
        tuple ``(False, error)``; with ``nkeys`` -1 the two arguments after
        it are the KEYS and ARGV tables.  The count hook is set apart
        (``set_hook``, ``hook_threshold``)."""
        return self._runner(f, eval_mode)

    # -- Redis protocol -> Lua (redisProtocolToLuaType) -----------------------
    def reply_to_lua(self, buf: bytes) -> tuple[Any, bool]:
        """The Lua value for one RESP reply; is_error tells if it is an
        error (redis.call raises it)."""
        if buf[:1] == b"-":
            end = buf.find(b"\r\n")
            t = self.push_error(buf[:end])
            t[b"ignore_error_stats_update"] = True
            return t, True
        v, _ = self._parse(buf, 0)
        return v, False

    def _parse(self, buf: bytes, pos: int) -> tuple[Any, int]:
        t = buf[pos]
        eol = buf.index(b"\r\n", pos)
        head = buf[pos + 1:eol]
        pos = eol + 2
        if t == 36:    # $
            n = int(head)
            if n < 0:
                return False, pos
            return buf[pos:pos + n], pos + n + 2
        if t == 58:    # :
            return int(head), pos
        if t == 42:    # *
            n = int(head)
            if n < 0:
                return False, pos
            tbl = self._table()
            for i in range(1, n + 1):
                v, pos = self._parse(buf, pos)
                tbl[i] = v
            return tbl, pos
        if t == 43:    # +
            tbl = self._table()
            tbl[b"ok"] = head
            return tbl, pos
        if t == 45:    # - (nested error)
            e = self.push_error(head and b"-" + head)
            return e, pos
        if t == 37:    # %
            n = int(head)
            inner = self._table()
            for _ in range(n):
                k, pos = self._parse(buf, pos)
                v, pos = self._parse(buf, pos)
                if k is not None:
                    inner[k] = v
            tbl = self._table()
            tbl[b"map"] = inner
            return tbl, pos
        if t == 126:   # ~
            n = int(head)
            inner = self._table()
            for _ in range(n):
                k, pos = self._parse(buf, pos)
                if k is not None:
                    inner[k] = True
            tbl = self._table()
            tbl[b"set"] = inner
            return tbl, pos
        if t == 95:    # _
            return None, pos
        if t == 35:    # #
            return head == b"t", pos
        if t == 44:    # ,
            tbl = self._table()
            tbl[b"double"] = float(head)
            return tbl, pos
        if t == 40:    # (
            tbl = self._table()
            tbl[b"big_number"] = head
            return tbl, pos
        if t == 61:    # =
            n = int(head)
            body = buf[pos:pos + n]
            inner = self._table()
            inner[b"string"] = body[4:]
            inner[b"format"] = body[:3]
            tbl = self._table()
            tbl[b"verbatim_string"] = inner
            return tbl, pos + n + 2
        if t == 124:   # | attribute: skipped
            n = int(head)
            for _ in range(2 * n):
                _, pos = self._parse(buf, pos)
            return self._parse(buf, pos)
        if t == 62:    # > push
            n = int(head)
            tbl = self._table()
            for i in range(1, n + 1):
                v, pos = self._parse(buf, pos)
                tbl[i] = v
            return tbl, pos
        raise ValueError("bad reply type %r" % chr(t))


LUAI_MAXCSTACK = 8000


def reply_from_lua(c: Any, v: Any, script_resp: int, slots: int = 2) -> None:
    """luaReplyToRedisReply: write Lua value v as the reply to client c.
    ``slots`` counts the Lua stack Redis would be using at this depth, so a
    too deeply nested table ends in the same "reached lua stack limit"
    error element."""
    if slots + 4 > LUAI_MAXCSTACK:
        c.add_reply_error("reached lua stack limit")
        return
    if v is None:
        c.add_reply_null()
        return
    if v is True or v is False:
        if script_resp == 2:
            if v:
                c.add_reply_int(1)
            else:
                c.add_reply_null()
        else:
            c.add_reply_bool(v)
        return
    if isinstance(v, bytes):
        c.add_reply_bulk(v)
        return
    if isinstance(v, (int, float)):
        c.add_reply_int(lua_number_to_ll(v))
        return
    if LUA_TYPE(v) != "table":
        c.add_reply_null()
        return
    err = v[b"err"]
    if isinstance(err, bytes):
        ignore = v[b"ignore_error_stats_update"] is True
        add_error(c, b"-" + err, ignore)
        return
    ok = v[b"ok"]
    if isinstance(ok, bytes):
        c.add_reply(b"+" + ok.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n")
        return
    d = v[b"double"]
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        c.add_reply_double(float(d))
        return
    big = v[b"big_number"]
    if isinstance(big, bytes):
        c.add_reply_bignum(big.replace(b"\r", b" ").replace(b"\n", b" "))
        return
    vs = v[b"verbatim_string"]
    if vs is not None and LUA_TYPE(vs) == "table":
        fmt, s = vs[b"format"], vs[b"string"]
        if isinstance(fmt, bytes) and isinstance(s, bytes):
            c.add_reply_verbatim(s, fmt)
            return
    mp = v[b"map"]
    if mp is not None and LUA_TYPE(mp) == "table":
        idx = c.add_reply_deferred_len()
        n = 0
        for k, val in mp.items():
            reply_from_lua(c, k, script_resp, slots + 4)
            reply_from_lua(c, val, script_resp, slots + 3)
            n += 1
        c.set_deferred_map_len(idx, n)
        return
    st = v[b"set"]
    if st is not None and LUA_TYPE(st) == "table":
        idx = c.add_reply_deferred_len()
        n = 0
        for k in st.keys():
            reply_from_lua(c, k, script_resp, slots + 3)
            n += 1
        c.set_deferred_set_len(idx, n)
        return
    idx = c.add_reply_deferred_len()
    n = 0
    j = 1
    while True:
        item = v[j]
        if item is None:
            break
        reply_from_lua(c, item, script_resp, slots + 1)
        n += 1
        j += 1
    c.set_deferred_array_len(idx, n)


def add_error(c: Any, msg: bytes, ignore_stats: bool) -> None:
    """An error reply; ``ignore_stats`` is ERR_REPLY_FLAG_NO_STATS_UPDATE
    (the error was counted when the command inside the script failed)."""
    if not ignore_stats:
        c.add_reply_error(msg)
        return
    if not msg.startswith(b"-"):
        msg = b"-ERR " + msg
    c.add_reply(msg.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n")
    cmd = c.cmd
    if cmd is not None:
        cmd.failed_calls += 1


def _lua_tostring(n: Any) -> bytes:
    """Lua 5.1's number formatting (%.14g)."""
    if isinstance(n, float) and n.is_integer() and abs(n) < 1e15:
        return b"%d" % int(n)
    return (b"%.14g" % n)
