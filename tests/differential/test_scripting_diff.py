"""Lua scripting and functions: omakase vs Debian's redis-server 7.0, byte
for byte, in RESP2 and RESP3.

The corpus runs each script with EVAL on both servers and compares the raw
replies (errors included).  It covers every conversion rule (Redis reply ->
Lua value with RESP2 and RESP3 via redis.setresp, Lua value -> reply for a
RESP2 and a RESP3 caller), the redis.* API and its errors, the sandbox, and
the cjson / cmsgpack / struct / bit libraries.  Scripts that use
math.random seed it first (the PRNG is shared and never reseeded by the
server).  Functions: FUNCTION LOAD/LIST/DUMP/RESTORE/FCALL sequences; FUNCTION
DUMP must be byte-identical and each server must restore the other's payload.
Unordered replies (FUNCTION LIST's dict order) are compared sorted.
"""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import close_pairs, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential

SETUP = [
    ("SET", "str", "hello"), ("SET", "num", "42"), ("RPUSH", "list", "a", "b", "c"),
    ("HSET", "hash", "f1", "v1"), ("SADD", "set", "m1"), ("ZADD", "zset", "1.5", "a", "2", "b"),
]

# (script, numkeys, *args)
CORPUS = [
    # Lua -> Redis reply
    ("return 1", 0), ("return -7", 0), ("return 3.99", 0), ("return -3.99", 0),
    ("return 0.5", 0), ("return 1e15", 0), ("return 2^53", 0), ("return -2^62", 0),
    ("return 'str'", 0), ("return ''", 0), ("return 'a\\0b'", 0),
    ("return true", 0), ("return false", 0), ("return nil", 0), ("return", 0),
    ("return {}", 0), ("return {1, 2, 3}", 0), ("return {1, 2, nil, 4}", 0),
    ("return {1, 'two', {3, {4, 'five'}}, true, false}", 0),
    ("return {1, 2, x = 3}", 0), ("return {x = 1}", 0),
    ("return {ok = 'fine'}", 0), ("return {ok = ''}", 0), ("return {ok = 'a\\r\\nb'}", 0),
    ("return {err = 'ERR custom'}", 0), ("return {err = 'MYCODE custom'}", 0),
    ("return {err = ''}", 0), ("return {err = 'x\\r\\ny'}", 0), ("return {err = '-x y'}", 0),
    ("return {ok = 1}", 0), ("return {err = 1}", 0), ("return {err = 'e', ok = 'o'}", 0),
    ("return {double = 1.5}", 0), ("return {double = 3}", 0), ("return {double = -0.1}", 0),
    ("return {double = 1/0}", 0), ("return {double = -1/0}", 0), ("return {double = 'x'}", 0),
    ("return {big_number = '123456789012345678901234567890'}", 0),
    ("return {big_number = 12}", 0),
    ("return {map = {a = 1}}", 0), ("return {map = {}}", 0), ("return {map = {a = {1, 2}}}", 0),
    ("return {set = {a = true}}", 0), ("return {set = {}}", 0),
    ("return {verbatim_string = {format = 'txt', string = 'hello'}}", 0),
    ("return {{ok = 'x'}, {err = 'ERR y'}, {double = 2.5}}", 0),
    ("return redis.status_reply('PONG')", 0), ("return redis.status_reply(1)", 0),
    ("return redis.error_reply('My error')", 0), ("return redis.error_reply('-My error')", 0),
    ("return redis.error_reply('ERR')", 0), ("return redis.error_reply('-ERR')", 0),
    ("return redis.error_reply(1)", 0), ("return redis.error_reply()", 0),
    ("return KEYS", 2, "k1", "k2", "a1"), ("return ARGV", 1, "k1", "a1", "a2"),
    ("return {#KEYS, #ARGV}", 0), ("KEYS[1] = 'changed' return KEYS", 1, "k"),
    # RESP3 booleans and doubles from Lua
    ("redis.setresp(3) return true", 0), ("redis.setresp(3) return false", 0),
    ("redis.setresp(3) return {true, false}", 0),
    # Redis reply -> Lua (RESP2)
    ("return redis.call('get', 'str')", 0), ("return redis.call('get', 'nokey')", 0),
    ("return type(redis.call('get', 'nokey'))", 0),
    ("return tostring(redis.call('get', 'nokey'))", 0),
    ("return redis.call('incr', 'counter')", 0),
    ("return type(redis.call('incr', 'counter'))", 0),
    ("return redis.call('set', 'k', 'v')", 0), ("return redis.call('set', 'k', 'v')['ok']", 0),
    ("return redis.call('ping')", 0), ("return redis.call('lrange', 'list', 0, -1)", 0),
    ("return redis.call('zrange', 'zset', 0, -1, 'withscores')", 0),
    ("return redis.call('hgetall', 'hash')", 0), ("return redis.call('smembers', 'set')", 0),
    ("return redis.call('zscore', 'zset', 'a')", 0),
    ("return redis.call('mget', 'str', 'nokey', 'num')", 0),
    ("return redis.call('exists', 'str', 'nokey')", 0),
    ("return redis.call('type', 'list')", 0),
    ("return redis.pcall('incr', 'str')", 0),
    ("return redis.pcall('incr', 'str')['err']", 0),
    ("return redis.pcall('lpush', 'str', 'x')", 0),
    ("return redis.call('lpush', 'str', 'x')", 0),
    ("return redis.pcall('nosuchcmd')", 0), ("return redis.call('nosuchcmd')", 0),
    ("return redis.pcall('get')", 0), ("return redis.call('get')", 0),
    ("return redis.pcall('get', 'a', 'b')", 0),
    ("return redis.call()", 0), ("return redis.pcall()", 0),
    ("return redis.call({})", 0), ("return redis.pcall('get', {})", 0),
    ("return redis.call('get', true)", 0),
    ("return redis.call('set', 'f', 3.5) and redis.call('get', 'f')", 0),
    ("redis.call('set', 'f', 0.1) return redis.call('get', 'f')", 0),
    ("redis.call('set', 'f', 1e20) return redis.call('get', 'f')", 0),
    ("redis.call('set', 'f', 2^53 + 1) return redis.call('get', 'f')", 0),
    ("return redis.call('subscribe', 'ch')", 0), ("return redis.call('multi')", 0),
    ("return redis.call('eval', 'return 1', 0)", 0),
    ("return redis.call('blpop', 'nolist', 0)", 0),
    ("return redis.call('brpoplpush', 'nolist', 'x', 0)", 0),
    ("return redis.call('blmove', 'nolist', 'x', 'left', 'left', 0)", 0),
    ("return redis.call('object', 'encoding', 'list')", 0),
    ("return redis.call('blmpop', 0, 1, 'nolist', 'left')", 0),
    ("return redis.call('blmpop', 0, 1, 'list', 'left')", 0),
    ("return redis.call('client', 'id') > 0", 0),
    ("return redis.call('debug', 'sleep', 0)", 0),
    ("return redis.call('script', 'load', 'return 1')", 0),
    ("return redis.call('function', 'list')", 0),
    ("return redis.call('fcall', 'f', 0)", 0),
    ("return redis.call('watch', 'x')", 0), ("return redis.call('exec')", 0),
    ("return redis.call('hello', '3')", 0), ("return redis.call('echo', 'e')", 0),
    ("return redis.call('publish', 'ch', 'm')", 0),
    ("return redis.call('select', 9)", 0),
    ("redis.call('select', 9) redis.call('set', 'db9key', 'x') "
     "return redis.call('get', 'db9key')", 0),
    ("return redis.call('get', 'db9key')", 0),
    ("local t = redis.call('lrange', 'list', 0, -1) return #t", 0),
    # Redis reply -> Lua (RESP3)
    ("redis.setresp(3) return redis.call('hgetall', 'hash')", 0),
    ("redis.setresp(3) return redis.call('hgetall', 'hash')['map']['f1']", 0),
    ("redis.setresp(3) return redis.call('smembers', 'set')", 0),
    ("redis.setresp(3) return type(redis.call('smembers', 'set')['set']['m1'])", 0),
    ("redis.setresp(3) return redis.call('zscore', 'zset', 'a')", 0),
    ("redis.setresp(3) return redis.call('zscore', 'zset', 'a')['double']", 0),
    ("redis.setresp(3) return redis.call('get', 'nokey')", 0),
    ("redis.setresp(3) return type(redis.call('get', 'nokey'))", 0),
    ("redis.setresp(3) return redis.call('zrange', 'zset', 0, -1, 'withscores')", 0),
    ("redis.setresp(3) return redis.call('ping')", 0),
    ("redis.setresp(3) return redis.call('hgetall', 'nokey')", 0),
    ("redis.setresp(3) return redis.call('incr', 'counter3')", 0),
    ("redis.setresp(3) redis.setresp(2) return redis.call('hgetall', 'hash')", 0),
    ("return redis.setresp(1)", 0), ("return redis.setresp()", 0), ("return redis.setresp('3')", 0),
    # errors from scripts
    ("error('boom')", 0), ("error('boom', 0)", 0), ("error({err = 'CODE boom'})", 0),
    ("error({err = 'boom'})", 0), ("error(nil)", 0), ("error(42)", 0), ("error(true)", 0),
    ("local x = nil; return x.field", 0), ("return 1 + {}", 0), ("return #nil", 0),
    ("return nosuchvar", 0), ("newglobal = 1", 0), ("function f() end", 0),
    ("_G.x = 1", 0), ("string.foo = 1", 0), ("redis.call = nil", 0), ("math.pi = 3", 0),
    ("rawset(_G, 'x', 1) return 1", 0),
    ("return loadfile", 0), ("return dofile", 0), ("return print", 0), ("return os", 0),
    ("return io", 0), ("return require", 0), ("return debug", 0), ("return package", 0),
    ("return module", 0),
    ("return {type(loadstring), type(setfenv), type(getfenv), type(newproxy), "
     "type(coroutine.create), type(gcinfo), type(collectgarbage), type(unpack), type(_G)}", 0),
    ("return _VERSION", 0),
    ("return 1 +", 0), ("syntax error here", 0), ("return 'unfinished", 0),
    ("end", 0), ("return 1\n\nerror('line3')", 0),
    ("local ok, e = pcall(function() error('x') end) return {tostring(ok), e}", 0),
    ("local ok, e = pcall(function() error({err = 'E tbl'}) end) return e", 0),
    ("local ok, e = pcall(function() redis.call('nosuchcmd') end) return e", 0),
    ("local ok, e = pcall(redis.call, 'incr', 'str') return e", 0),
    ("local ok, e = pcall(error) return tostring(e)", 0),
    ("local ok, e = pcall(function() local t = nil; return t.x end) return e", 0),
    ("return {pcall(function() return 1, 2 end)}", 0),
    ("return xpcall(function() error('x') end, function(e) return 'handled: ' .. e end)", 0),
    ("return redis.call('get', 'str') .. redis.call('get', 'nokey')", 0),
    # the redis.* API
    ("return redis.sha1hex('')", 0), ("return redis.sha1hex('abc')", 0),
    ("return redis.sha1hex(123)", 0), ("return redis.sha1hex()", 0),
    ("return redis.sha1hex('a', 'b')", 0),
    ("return redis.REDIS_VERSION", 0), ("return redis.REDIS_VERSION_NUM", 0),
    ("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", 0),
    ("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, "
     "redis.REPL_ALL}", 0),
    ("return redis.log(redis.LOG_DEBUG, 'debug message')", 0),
    ("return redis.log(redis.LOG_WARNING, 'a', 1, 2.5)", 0),
    ("return redis.log(1)", 0), ("return redis.log('x', 'y')", 0), ("return redis.log(7, 'y')", 0),
    ("return redis.log(-1, 'y')", 0),
    ("return redis.set_repl(redis.REPL_ALL)", 0), ("return redis.set_repl(8)", 0),
    ("return redis.set_repl()", 0),
    ("return redis.replicate_commands()", 0), ("return redis.breakpoint()", 0),
    ("return redis.debug('x')", 0),
    ("return redis.acl_check_cmd('get', 'x')", 0), ("return redis.acl_check_cmd('nosuch')", 0),
    ("return redis.acl_check_cmd()", 0),
    ("return redis.nosuchfunction", 0), ("return redis.nosuchfunction()", 0),
    # math.random (seeded)
    ("math.randomseed(7) return {math.random(100), math.random(5, 10), "
     "tostring(math.random())}", 0),
    ("math.randomseed(0) return tostring(math.random())", 0),
    ("math.randomseed(1) return math.random(0)", 0),
    ("math.randomseed(1) return math.random(5, 1)", 0),
    ("math.randomseed(1) return math.random(1, 2, 3)", 0),
    ("math.randomseed(1) return math.random('x')", 0),
    ("return math.randomseed()", 0),
    # Lua builtins
    ("return tostring(1/3)", 0), ("return tostring(1e100)", 0), ("return tostring(-0.0)", 0),
    ("return tostring(2^63)", 0), ("return tonumber('0x10')", 0), ("return tonumber('1e2')", 0),
    ("return string.format('%5.2f|%d|%s|%q', 1.5, 42, 'x', 'a\\nb')", 0),
    ("return string.rep('ab', 3)", 0), ("return ('x'):upper()", 0),
    ("return {string.byte('ABC', 1, 3)}", 0), ("return string.char(72, 105)", 0),
    ("return {string.find('hello world', 'o w')}", 0),
    ("return string.gsub('hello', 'l', 'L')", 0),
    ("return {string.match('key:123', '(%a+):(%d+)')}", 0),
    ("local t = {3, 1, 2} table.sort(t) return t", 0),
    ("local t = {} table.insert(t, 'a') table.insert(t, 1, 'b') return table.concat(t, ',')", 0),
    ("return {unpack({1, 2, 3})}", 0), ("return select('#', 1, nil, 3)", 0),
    ("return math.floor(3.7) + math.ceil(1.2) + math.abs(-3) + math.max(1, 9, 3)", 0),
    ("return tostring(math.huge)", 0), ("return math.fmod(7, 3)", 0),
    ("local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end) "
     "local _, x = coroutine.resume(co, 1) local _, y = coroutine.resume(co, 10) "
     "return {x, y}", 0),
    ("local f = loadstring('return 1 + 1') return f()", 0),
    ("local f = loadstring('x = 1') return f()", 0),
    ("return loadstring('syntax error')", 0),
    ("local t = setmetatable({}, {__index = function(t, k) return k .. '!' end}) return t.hi", 0),
    ("return type(getmetatable(_G))", 0),
    ("return next({})", 0),
    # cjson
    ("return cjson.encode({1, 2, 3})", 0), ("return cjson.encode({a = 1})", 0),
    ("return cjson.encode({})", 0), ("return cjson.encode('a\"b\\\\c/d\\n\\1')", 0),
    ("return cjson.encode(1.5)", 0), ("return cjson.encode(1/3)", 0),
    ("return cjson.encode(123456789012345)", 0), ("return cjson.encode(true)", 0),
    ("return cjson.encode(nil)", 0), ("return cjson.encode(cjson.null)", 0),
    ("return cjson.encode({1, nil, 3})", 0), ("return cjson.encode({[1] = 'a', [3] = 'c'})", 0),
    ("return cjson.encode({[1] = 'a', [20] = 'c'})", 0),
    ("return cjson.encode({1, {2, {3}}, {x = {y = 'z'}}})", 0),
    ("return cjson.encode({[1.5] = 'x'})", 0),
    ("return cjson.encode(function() end)", 0), ("return cjson.encode(1/0)", 0),
    ("return cjson.encode()", 0),
    ("return cjson.decode('[1,2,3]')", 0), ("return cjson.decode('{\"a\":[1,2,{\"b\":\"c\"}]}').a[3].b", 0),
    ("return cjson.decode('\"\\\\u0041\\\\n\"')", 0), ("return cjson.decode('1.5e2')", 0),
    ("return type(cjson.decode('null'))", 0), ("return cjson.decode('null') == cjson.null", 0),
    ("return cjson.decode('true')", 0), ("return cjson.decode('  [ ]  ')", 0),
    ("return cjson.decode('{\"a\":1')", 0), ("return cjson.decode('[1,]')", 0),
    ("return cjson.decode('')", 0), ("return cjson.decode('x')", 0),
    ("return cjson.decode('[1] x')", 0), ("return cjson.decode()", 0),
    ("return cjson.decode('\"\\\\u00e9\"')", 0),
    ("return cjson.encode(cjson.decode('{\"k\":[1,2.5,\"s\",true,false,null]}'))", 0),
    # cmsgpack
    ("return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129)", 0),
    ("return cmsgpack.pack(4294967295, 4294967296, -2147483648, -2147483649)", 0),
    ("return cmsgpack.pack(1.5, 0.1, -2.25)", 0),
    ("return cmsgpack.pack('', 'abc', string.rep('x', 40), string.rep('y', 300))", 0),
    ("return cmsgpack.pack(true, false, nil)", 0),
    ("return cmsgpack.pack({1, 2, 3}, {a = 1}, {})", 0),
    ("return cmsgpack.pack({1, 2, nil, 4})", 0),
    ("return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, 2.5, true))}", 0),
    ("local t = cmsgpack.unpack(cmsgpack.pack({a = 'b'})) return t.a", 0),
    ("return cmsgpack.unpack('\\217')", 0), ("return cmsgpack.unpack('\\193')", 0),
    ("return cmsgpack.pack()", 0),
    ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}", 0),
    ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", 0),
    # struct
    ("return struct.pack('>I2', 258)", 0), ("return struct.pack('<i4', -2)", 0),
    ("return struct.pack('bBhH', -1, 255, -2, 65535)", 0),
    ("return struct.pack('>d', 1.5)", 0), ("return struct.pack('<f', 0.5)", 0),
    ("return struct.pack('s', 'abc')", 0), ("return struct.pack('c3', 'abcdef')", 0),
    ("return struct.pack('>l', 1)", 0),
    ("return {struct.unpack('>I2', '\\1\\2')}", 0),
    ("return {struct.unpack('<i4', struct.pack('<i4', -5))}", 0),
    ("return {struct.unpack('bB', '\\255\\255')}", 0),
    ("return {struct.unpack('s', 'abc\\0rest')}", 0),
    ("return {struct.unpack('c2c1', 'xyz')}", 0),
    ("return {struct.unpack('>I2', '\\1\\2\\3\\4', 3)}", 0),
    ("return struct.size('>iIhd')", 0), ("return struct.size('bc5')", 0),
    ("return struct.unpack('>I4', 'ab')", 0), ("return struct.pack('y', 1)", 0),
    ("return struct.pack('>I2')", 0), ("return struct.size('s')", 0),
    ("return tostring(({struct.unpack('>d', struct.pack('>d', 1/3))})[1])", 0),
    # bit
    ("return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0)}", 0),
    ("return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), "
     "bit.rol(0x12345678, 8), bit.ror(0x12345678, 8)}", 0),
    ("return {bit.tobit(2^32 + 5), bit.tobit(-1), bit.tobit(2.5), bit.tobit(3.5)}", 0),
    ("return {bit.tohex(255), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -4)}", 0),
    ("return bit.bswap(0x12345678)", 0),
    ("return bit.band()", 0), ("return bit.band('x')", 0), ("return bit.band('12', 4)", 0),
    ("return {bit.tobit(1/0), bit.tobit(0/0), bit.tohex(255, 0), bit.tohex(255, 9), "
     "bit.tohex(255, -9), bit.lshift(1, 33)}", 0),
    # library errors
    ("return struct.pack('>I2s')", 0), ("return struct.pack('>s')", 0),
    ("return struct.size('c0')", 0), ("return struct.size('c')", 0),
    ("return struct.pack('i40', 1)", 0), ("return struct.unpack('z', 'a')", 0),
    ("return struct.unpack('s', 'ab')", 0), ("return struct.unpack('>I2', 'ab', 5)", 0),
    ("return struct.unpack('>I2', 'ab', 0)", 0),
    ("return cmsgpack.unpack()", 0), ("return cmsgpack.unpack(1)", 0),
    ("return cjson.encode({[true] = 1})", 0), ("return cjson.decode('[1,2')", 0),
    ("return cjson.decode('{\"a\" 1}')", 0), ("return cjson.decode('\"abc')", 0),
    ("return cjson.decode('nul')", 0), ("return cjson.decode('-')", 0),
    ("return cjson.decode('01')", 0), ("return cjson.decode('[1 2]')", 0),
    ("return cjson.decode('{1:2}')", 0), ("return cjson.encode({[1]=1,[2]=2,[4]=4})", 0),
    ("return cjson.encode({[1]=1,[2]=2,[30]=4})", 0), ("return cjson.encode({[11]=1})", 0),
    ("return cjson.encode({[3]=1})", 0), ("return cjson.encode({1,2,3,[5]=5, x=1})", 0),
    ("return cjson.encode(1e300)", 0),
    ("return cjson.encode(0/0)", 0), ("return cjson.decode('1e400')", 0),
    ("return rawset(string, 'x', 1)", 0), ("return rawset({}, 'x', 1).x", 0),
    ("return {type(getfenv), type(setfenv)}", 0), ("return newproxy", 0),
    ("return {loadstring(string.dump(function() return 1 end))}", 0),
    ("getmetatable('').__index = nil return 1", 0), ("return type(getmetatable(''))", 0),
    ("return ('x'):rep(2)", 0), ("return load(function() return nil end)", 0),
    ("local n = 0 return load(function() n = n + 1 if n == 1 then return 'return 5' end end)()",
     0),
    ("return 1e20", 0), ("return -1e20", 0), ("return 0/0", 0), ("return 1/0", 0),
    ("return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))", 0),
    ("return #cjson.encode(cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)))", 0),
    ("local t = {} for i = 1, 1001 do t = {t} end return cjson.encode(t)", 0),
    ("local t = {} for i = 1, 500 do t = {t} end return t", 0),
    ("return #redis.call('rpush', 'biglist', unpack(ARGV))", 0, *[str(i) for i in range(3000)]),
]


@pytest.fixture(scope="module")
def pairs(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs, ("SCRIPT", "FLUSH"), ("FUNCTION", "FLUSH"))


def _setup(a, b):
    for c in (a, b):
        c.call("FLUSHALL")
        for cmd in SETUP:
            c.call(*cmd)


@pytest.mark.parametrize("proto", [2, 3])
def test_eval_corpus(pairs, proto):
    a, b = pairs[proto]
    _setup(a, b)
    mismatches = []
    for entry in CORPUS:
        script, numkeys, *args = entry
        ra = a.call("EVAL", script, numkeys, *args)
        rb = b.call("EVAL", script, numkeys, *args)
        if ra != rb:
            mismatches.append((script, ra, rb))
    assert not mismatches, "\n".join(f"{s!r}\n  omakase: {x!r}\n  redis:   {y!r}"
                                     for s, x, y in mismatches)


SCRIPT_SEQ = [
    ("SCRIPT", "LOAD", "return 'loaded'"),
    ("SCRIPT", "EXISTS", "1f67b20e9bd1b6e1a8e5b5a4c9e5e6a1e8e1e5e5", "x"),
    ("EVALSHA", "b6d8c2a3e9a4c2d0ba48a1f0f9b9d3e8a5c8c0d1", "0"),
    ("EVAL", "return 1", "-1"), ("EVAL", "return 1", "3", "a"), ("EVAL", "return 1", "x"),
    ("EVAL", "#!lua\nreturn redis.call('set', 'a', 'b')", "0"),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", "0"),
    ("EVAL", "#!lua flags=no-writes,allow-oom\nreturn 1", "0"),
    ("EVAL", "#!lua flags=bad\nreturn 1", "0"), ("EVAL", "#!lua foo=bar\nreturn 1", "0"),
    ("EVAL", "#!python\nreturn 1", "0"), ("EVAL", "#!lua flags=\nreturn 1", "0"),
    ("EVAL", "#!lua", "0"), ("EVAL", "#!lua\nerror('x')", "0"),
    ("EVAL_RO", "#!lua\nreturn 1", "0"), ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"),
    ("EVAL_RO", "return redis.call('set', 'x', 'y')", "0"),
    ("EVAL_RO", "return redis.call('get', 'a')", "0"),
    ("EVAL_RO", "return redis.call('publish', 'ch', 'm')", "0"),
    ("EVAL", "#!lua flags=no-writes,no-cluster,allow-stale,allow-cross-slot-keys\nreturn 2", "0"),
    ("SCRIPT", "LOAD", "return +"), ("SCRIPT", "LOAD", "#!lua flags=x\nreturn 1"),
    ("SCRIPT", "FLUSH", "foo"), ("SCRIPT", "FLUSH", "ASYNC", "SYNC"), ("SCRIPT", "FOO"),
    ("SCRIPT", "KILL"), ("FUNCTION", "KILL"), ("SCRIPT", "HELP"),
    ("SCRIPT", "FLUSH", "SYNC"), ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
    ("SCRIPT", "LOAD", "return 1"),
    ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
     "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"),
    ("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"),
    ("EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
    ("EVAL", "return redis.sha1hex('return 2')", "0"), ("EVAL", "return 2", "0"),
    ("EVALSHA", "7f923f79fe76194c868d7e1d0820de36700eb649", "0"),
]

LIB1 = ("#!lua name=mylib\n"
        "redis.register_function('f1', function(keys, args) return keys[1] end)\n"
        "redis.register_function{function_name='f2', callback=function(k, a) "
        "return redis.call('set', k[1], a[1]) end, flags={'no-writes'}, description='desc'}\n"
        "redis.register_function{function_name='f3', callback=function(k, a) "
        "return redis.call('set', k[1], a[1]) end}\n"
        "local function helper() return 'helped' end\n"
        "redis.register_function('f4', function() return {helper(), type(redis.call), "
        "type(cjson), tostring(KEYS)} end)\n")
LIB2 = ("#!lua name=lib2\n"
        "redis.register_function('g', function() return redis.call('nosuch') end)\n"
        "redis.register_function('h', function() error('uu') end)\n"
        "redis.register_function('i', function() x = 1 end)\n"
        "redis.register_function('j', function() return y end)\n"
        "redis.register_function{function_name='k', callback=function() "
        "return redis.setresp(3) or redis.call('hgetall', 'hh') end, flags={'allow-oom', "
        "'allow-stale', 'no-cluster', 'allow-cross-slot-keys', 'no-writes'}}\n")

FUNCTION_SEQ = [
    ("FUNCTION", "LOAD", LIB1), ("FUNCTION", "LOAD", LIB1),
    ("FUNCTION", "LOAD", "REPLACE", LIB1), ("FUNCTION", "LOAD", "FOO", LIB1),
    ("FUNCTION", "LOAD"), ("FCALL", "f1", "1", "kk"), ("FCALL", "f2", "1", "kk", "vv"),
    ("FCALL_RO", "f2", "1", "kk", "vv"), ("FCALL_RO", "f1", "1", "kk"),
    ("FCALL", "f3", "1", "kk", "vv"), ("FCALL", "f4", "0"), ("FCALL", "F1", "1", "kk"),
    ("FCALL", "nosuch", "0"), ("FCALL", "f1", "-1"), ("FCALL", "f1", "5"),
    ("FCALL", "f1", "x"), ("FCALL", "nosuch", "x"),
    ("FUNCTION", "LOAD", LIB2), ("HSET", "hh", "a", "1"),
    ("FCALL", "g", "0"), ("FCALL", "h", "0"), ("FCALL", "i", "0"), ("FCALL", "j", "0"),
    ("FCALL", "k", "0"), ("FCALL_RO", "k", "0"),
    ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "FOO"),
    ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
    ("FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"),
    ("FUNCTION", "STATS"),
    ("FUNCTION", "LOAD", "return 1"), ("FUNCTION", "LOAD", "#!lua"),
    ("FUNCTION", "LOAD", "#!lua\n"), ("FUNCTION", "LOAD", "#!lua name=x name=y\n"),
    ("FUNCTION", "LOAD", "#!lua name=x foo=bar\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=x\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f1', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('1 2', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('g2', 1)"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function(1, function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='g2', "
     "callback=function() end, flags={'bad'}}"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='g2', "
     "callback=function() end, flags='no-writes'}"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='g2', "
     "callback=function() end, foo=1}"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='g2'}"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{callback=function() end}"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='g2', "
     "callback=1}"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function()"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a')"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a', function() end, 3)"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a2')"),
    ("FUNCTION", "LOAD", "#!lua name=x\nlocal a = b"),
    ("FUNCTION", "LOAD", "#!lua name=x\nfoo bar"),
    ("FUNCTION", "LOAD", "#!lua name=x\nerror('xx')"),
    ("FUNCTION", "LOAD", "#!lua name=x\nfoo = 1"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.foo = 1"),
    ("FUNCTION", "LOAD", "#!lua name=x\nlocal a = redis.setresp"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.log(redis.LOG_NOTICE, 'loading') "
     "redis.register_function('lv', function() return redis.REDIS_VERSION end)"),
    ("FCALL", "lv", "0"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('g2', function() end) "
     "redis.register_function('g2', function() end)"),
    ("FUNCTION", "LOAD", "#!notlua name=x\n"), ("FUNCTION", "LOAD", "#!lua name=1-2\n"),
    ("FUNCTION", "DELETE", "nosuch"), ("FUNCTION", "DELETE", "lib2"), ("FCALL", "g", "0"),
    ("FUNCTION", "RESTORE", "foo"), ("FUNCTION", "RESTORE", "foo", "bar"),
    ("FUNCTION", "RESTORE", "foo", "append", "x"),
    ("FUNCTION", "FLUSH", "foo"), ("FUNCTION", "FOO"), ("FUNCTION", "HELP"),
    ("FUNCTION", "FLUSH"), ("FUNCTION", "LIST"), ("FUNCTION", "DUMP"),
]


def _run_seq(a, b, seq):
    mismatches = []
    for cmd in seq:
        ra, rb = a.call(*cmd), b.call(*cmd)
        if ra != rb:
            mismatches.append((cmd, ra, rb))
    assert not mismatches, "\n".join(f"{s!r}\n  omakase: {x!r}\n  redis:   {y!r}"
                                     for s, x, y in mismatches)


@pytest.mark.parametrize("proto", [2, 3])
def test_script_commands(pairs, proto):
    a, b = pairs[proto]
    _setup(a, b)
    for c in (a, b):
        c.call("SCRIPT", "FLUSH")
    _run_seq(a, b, SCRIPT_SEQ)


@pytest.mark.parametrize("proto", [2, 3])
def test_function_commands(pairs, proto):
    a, b = pairs[proto]
    _setup(a, b)
    for c in (a, b):
        c.call("FUNCTION", "FLUSH")
    _run_seq(a, b, FUNCTION_SEQ)


def test_function_list_and_dump(pairs):
    """One function per library, so FUNCTION LIST order is fixed; DUMP is
    byte-identical and each server restores the other's payload."""
    a, b = pairs[2]
    libs = ["#!lua name=alpha\nredis.register_function{function_name='fa', callback="
            "function(k, a) return 'a' end, flags={'no-writes', 'allow-oom'}, "
            "description='the a function'}",
            "#!lua name=beta\nredis.register_function('fb', function() return 'b' end)\n"
            + "-- " + "padding " * 40]
    for c in (a, b):
        c.call("FUNCTION", "FLUSH")
        for code in libs[:1]:
            assert c.call("FUNCTION", "LOAD", code).startswith(b"$")
    _run_seq(a, b, [("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"),
                    ("FUNCTION", "DUMP")])
    # Two libraries: DUMP order is the dict's; compare one at a time.
    for code in libs:
        for c in (a, b):
            c.call("FUNCTION", "FLUSH")
            c.call("FUNCTION", "LOAD", code)
        dump_a, dump_b = a.call("FUNCTION", "DUMP"), b.call("FUNCTION", "DUMP")
        assert dump_a == dump_b
        payload = dump_b[dump_b.index(b"\r\n") + 2:-2]
        for c in (a, b):
            c.call("FUNCTION", "FLUSH")
        assert a.call("FUNCTION", "RESTORE", payload) == b"+OK\r\n"
        assert b.call("FUNCTION", "RESTORE", payload) == b"+OK\r\n"
        _run_seq(a, b, [("FUNCTION", "LIST", "WITHCODE"),
                        ("FUNCTION", "RESTORE", payload),
                        ("FUNCTION", "RESTORE", payload, "APPEND"),
                        ("FUNCTION", "RESTORE", payload, "REPLACE"),
                        ("FUNCTION", "RESTORE", payload, "FLUSH"),
                        ("FUNCTION", "RESTORE", payload[:-1] + b"x"),
                        ("FUNCTION", "RESTORE", payload, "BAD")])
    for c in (a, b):
        c.call("FUNCTION", "FLUSH")


def _stats(c):
    info = c.call("INFO", "ALL").decode()
    out = {}
    for line in info.split("\r\n"):
        if line.startswith("errorstat_"):
            out[line.split(":")[0]] = line.split(":")[1]
        elif line.startswith(("cmdstat_eval:", "cmdstat_incr:", "cmdstat_get:")):
            name, fields = line.split(":")
            kv = dict(f.split("=") for f in fields.split(","))
            out[name] = (kv["calls"], kv["rejected_calls"], kv["failed_calls"])
    return out


def test_error_and_command_stats(pairs):
    """Errors inside scripts are counted once, as Redis counts them."""
    a, b = pairs[2]
    seq = [("SET", "s", "x"), ("EVAL", "return redis.call('nosuch')", "0"),
           ("EVAL", "return redis.call('incr', 's')", "0"),
           ("EVAL", "return redis.pcall('incr', 's')", "0"), ("EVAL", "error('x')", "0"),
           ("EVAL", "return {err='MY x'}", "0"),
           ("EVAL", "return redis.error_reply('OTHER x')", "0"),
           ("EVAL", "return redis.call('get', 's')", "0")]
    for c in (a, b):
        c.call("CONFIG", "RESETSTAT")
        for cmd in seq:
            c.call(*cmd)
    assert _stats(a) == _stats(b)
