"""The read-only sandbox of EVAL scripts and FUNCTION libraries: the
globals table (KEYS and ARGV included), the library tables and the load
environment's ``redis`` refuse assignments with Redis 7.0's "Attempt to
modify a readonly table"; KEYS and ARGV themselves stay writable; rawset /
rawget behave (and fail) as Lua's own.  Every reply is checked byte for
byte against what redis-server 7.0.15 sends, and against a live
redis-server when one is installed; after each case the server still
answers and later scripts see fresh KEYS and ARGV."""
from __future__ import annotations

import hashlib

import pytest
import redis

from rawclient import connect


def _err(script: str, line: int, msg: str, prefix: bool = True) -> bytes:
    """The error reply of an EVAL script that failed at ``line``."""
    sha = hashlib.sha1(script.encode()).hexdigest()
    where = f"user_script:{line}: " if prefix else ""
    return f"-ERR {where}{msg} script: {sha}, on @user_script:{line}.\r\n".encode()


def _ferr(name: str, line: int, msg: str) -> bytes:
    return f"-ERR user_function:{line}: {msg} script: {name}, on @user_function:{line}.\r\n".encode()


RO = "Attempt to modify a readonly table"
LOAD_RO = b"-ERR Error registering functions: ERR user_function:2: " + RO.encode() + b"\r\n"


def _eval(script: str, *args: str) -> tuple:
    return ("EVAL", script, *args)


LIB = ("#!lua name=ro_lib\n"
       "redis.register_function('ro_keys', function(keys, args) KEYS = nil return 1 end)\n"
       "redis.register_function('ro_argv', function(keys, args) ARGV = keys return 1 end)\n"
       "redis.register_function('ro_call', function(keys, args) redis.call = nil end)\n"
       "redis.register_function('ro_new', function(keys, args) x = 1 end)\n"
       "redis.register_function('ro_undef', function(keys, args) return y end)\n"
       "redis.register_function('ro_gkeys', function(keys, args) _G.KEYS = 1 end)\n"
       "redis.register_function('ro_cjson', function(keys, args) cjson.encode = nil end)\n"
       "redis.register_function('ro_mut', function(keys, args) keys[1] = 'x' "
       "table.insert(keys, 'y') rawset(args, 1, 'z') return {keys, args} end)\n"
       "redis.register_function('ro_read', function(keys, args) return KEYS end)\n")

NONEXISTENT = "Script attempted to access nonexistent global variable"

# (command, the reply of redis-server 7.0.15), run in this order.
CASES = [
    # Assigning the globals KEYS and ARGV fails; the script goes on seeing them.
    (_eval("KEYS = nil return 1", "0"), _err("KEYS = nil return 1", 1, RO)),
    (_eval("ARGV = KEYS return 1", "0"), _err("ARGV = KEYS return 1", 1, RO)),
    (_eval("KEYS = {} return 1", "1", "k"), _err("KEYS = {} return 1", 1, RO)),
    (_eval("\nARGV = nil", "0", "a"), _err("\nARGV = nil", 2, RO)),
    (_eval("_G.KEYS = 1 return 1", "0"), _err("_G.KEYS = 1 return 1", 1, RO)),
    (_eval("local g = _G g.ARGV = 1 return 1", "0"),
     _err("local g = _G g.ARGV = 1 return 1", 1, RO)),
    (_eval("local ok, e = pcall(function() KEYS = nil end) return {tostring(ok), e, type(KEYS)}",
           "0"),
     b"*3\r\n$5\r\nfalse\r\n$49\r\nuser_script:1: Attempt to modify a readonly table\r\n"
     b"$5\r\ntable\r\n"),
    (_eval("rawset(_G, 'KEYS', 1) return KEYS", "0"),
     _err("rawset(_G, 'KEYS', 1) return KEYS", 1, RO, prefix=False)),
    # ... while the KEYS and ARGV tables are writable.
    (_eval("KEYS[1] = 'x' return KEYS", "1", "k"), b"*1\r\n$1\r\nx\r\n"),
    (_eval("ARGV[1]='x' return ARGV", "0", "a"), b"*1\r\n$1\r\nx\r\n"),
    (_eval("table.insert(KEYS, 'a') return KEYS", "0"), b"*1\r\n$1\r\na\r\n"),
    (_eval("rawset(KEYS, 1, 'a') return KEYS", "0"), b"*1\r\n$1\r\na\r\n"),
    # Library tables and new globals.
    (_eval("redis = nil return 1", "0"), _err("redis = nil return 1", 1, RO)),
    (_eval("redis.call = nil return 1", "0"), _err("redis.call = nil return 1", 1, RO)),
    (_eval("string.x = 1 return 1", "0"), _err("string.x = 1 return 1", 1, RO)),
    (_eval("cjson.encode = nil return 1", "0"), _err("cjson.encode = nil return 1", 1, RO)),
    (_eval("x = 1 return 1", "0"), _err("x = 1 return 1", 1, RO)),
    (_eval("return y", "0"), _err("return y", 1, NONEXISTENT + " 'y'")),
    # rawget reads through _G and the library tables; rawset/rawget errors.
    (_eval("return {rawget(_G, 'KEYS'), rawget(_G, 'ARGV')}", "1", "k", "a"),
     b"*2\r\n*1\r\n$1\r\nk\r\n*1\r\n$1\r\na\r\n"),
    (_eval("return {rawget(_G, 'redis') ~= nil, rawget(redis, 'call') ~= nil, "
           "rawget(_G, 'nosuch')}", "0"),
     b"*2\r\n:1\r\n:1\r\n"),
    (_eval("return rawget(1, 2)", "0"),
     _err("return rawget(1, 2)", 1, "bad argument #1 to 'rawget' (table expected, got number)")),
    (_eval("return rawget({})", "0"),
     _err("return rawget({})", 1, "bad argument #2 to 'rawget' (value expected)")),
    (_eval("local ok, e = pcall(rawget) return e", "0"),
     b"$53\r\nbad argument #1 to '?' (table expected, got no value)\r\n"),
    (_eval("return rawset()", "0"),
     _err("return rawset()", 1, "bad argument #1 to 'rawset' (table expected, got no value)")),
    (_eval("rawset({}, 2)", "0"),
     _err("rawset({}, 2)", 1, "bad argument #3 to 'rawset' (value expected)")),
    (_eval("rawset({}, nil, 2)", "0"),
     _err("rawset({}, nil, 2)", 1, "table index is nil", prefix=False)),
    (_eval("local r = rawset r({}, 0/0, 1)", "0"),
     _err("local r = rawset r({}, 0/0, 1)", 1, "table index is NaN", prefix=False)),
    # Later runs get fresh KEYS and ARGV.
    (_eval("return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "1", "k", "a"),
     b"*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:1\r\n"),
    # FUNCTION LOAD: the load environment's redis is read-only too, and a
    # failed assignment leaves it intact for the next library.
    (("FUNCTION", "LOAD", "#!lua name=ro_bad\nredis.register_function = nil"), LOAD_RO),
    (("FUNCTION", "LOAD", "#!lua name=ro_bad2\nKEYS = nil"), LOAD_RO),
    (("FUNCTION", "LOAD", "#!lua name=ro_bad3\nredis.log = nil"), LOAD_RO),
    (("FUNCTION", "LOAD", LIB), b"$6\r\nro_lib\r\n"),
    (("FCALL", "ro_keys", "0"), _ferr("ro_keys", 2, RO)),
    (("FCALL", "ro_argv", "0"), _ferr("ro_argv", 3, RO)),
    (("FCALL", "ro_call", "0"), _ferr("ro_call", 4, RO)),
    (("FCALL", "ro_new", "0"), _ferr("ro_new", 5, RO)),
    (("FCALL", "ro_undef", "0"), _ferr("ro_undef", 6, NONEXISTENT + " 'y'")),
    (("FCALL", "ro_gkeys", "0"), _ferr("ro_gkeys", 7, RO)),
    (("FCALL", "ro_cjson", "0"), _ferr("ro_cjson", 8, RO)),
    (("FCALL", "ro_mut", "1", "k", "a"), b"*2\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n*1\r\n$1\r\nz\r\n"),
    (("FCALL", "ro_read", "0"), _ferr("ro_read", 10, NONEXISTENT + " 'KEYS'")),
]


def _run(srv) -> list[tuple[tuple, bytes]]:
    c = connect(srv, 2)
    try:
        c.call("FUNCTION", "FLUSH")
        out = []
        for cmd, _ in CASES:
            out.append((cmd, c.call(*cmd)))
            assert c.call("PING") == b"+PONG\r\n", cmd
        c.call("FUNCTION", "FLUSH")
        return out
    finally:
        c.close()


def _report(mismatches) -> str:
    return "\n".join(f"{cmd!r}\n  got:      {x!r}\n  expected: {y!r}" for cmd, x, y in mismatches)


def test_readonly_replies(server):
    got = _run(server)
    mismatches = [(cmd, x, want) for (cmd, x), (_, want) in zip(got, CASES) if x != want]
    assert not mismatches, _report(mismatches)


@pytest.mark.differential
def test_readonly_replies_match_redis(server, oracle):
    ours, theirs = _run(server), _run(oracle)
    mismatches = [(cmd, x, y) for (cmd, x), (_, y) in zip(ours, theirs) if x != y]
    assert not mismatches, _report(mismatches)


def test_keys_argv_assignment_through_redis_py(r):
    with pytest.raises(redis.ResponseError, match="Attempt to modify a readonly table"):
        r.eval("KEYS = nil return 1", 0)
    with pytest.raises(redis.ResponseError, match="Attempt to modify a readonly table"):
        r.eval("ARGV = KEYS return 1", 1, "k")
    # The globals are intact: the next scripts see their own KEYS and ARGV.
    assert r.eval("return {KEYS[1], ARGV[1]}", 1, "key", "arg") == [b"key", b"arg"]
    assert r.eval("return {#KEYS, #ARGV}", 0) == [0, 0]
    assert r.eval("return redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v") == b"OK"
    assert r.get("k") == b"v"
