"""FUNCTION * and FCALL/FCALL_RO through redis-py: libraries, flags, errors,
DUMP/RESTORE, STATS, FUNCTION KILL of a busy function, and the persistence
hooks (``functions.libraries_code`` / ``load_library_code``)."""
from __future__ import annotations

import threading
import time

import pytest
import redis

LIB = """#!lua name=mylib
local function get(keys, args) return redis.call('get', keys[1]) end
local function set(keys, args) return redis.call('set', keys[1], args[1]) end
redis.register_function('myget', get)
redis.register_function{function_name='myset', callback=set, description='sets a key'}
redis.register_function{function_name='ro_echo', callback=function(k, a) return a[1] end,
                        flags={'no-writes'}}
"""


@pytest.fixture(autouse=True)
def clean_functions(r):
    r.function_flush()
    yield
    r.function_flush()


def test_load_and_call(r):
    assert r.function_load(LIB) == b"mylib"
    assert r.fcall("myset", 1, "k", "v") == b"OK"
    assert r.fcall("myget", 1, "k") == b"v"
    assert r.fcall("MYGET", 1, "k") == b"v"           # names are case-insensitive
    assert r.fcall_ro("ro_echo", 0, "hello") == b"hello"
    with pytest.raises(redis.ResponseError, match="Can not execute a script with write flag"):
        r.fcall_ro("myget", 1, "k")
    with pytest.raises(redis.ResponseError, match="Function not found"):
        r.fcall("nosuch", 0)
    with pytest.raises(redis.ResponseError, match="Bad number of keys provided"):
        r.execute_command("FCALL", "myget", "x")


def test_load_errors(r):
    r.function_load(LIB)
    with pytest.raises(redis.ResponseError, match="Library 'mylib' already exists"):
        r.function_load(LIB)
    assert r.function_load(LIB, replace=True) == b"mylib"
    with pytest.raises(redis.ResponseError, match="Missing library metadata"):
        r.function_load("return 1")
    with pytest.raises(redis.ResponseError, match="No functions registered"):
        r.function_load("#!lua name=empty\nreturn 1")
    with pytest.raises(redis.ResponseError, match="Function myget already exists"):
        r.function_load("#!lua name=other\nredis.register_function('myget', function() end)")
    with pytest.raises(redis.ResponseError, match="Engine 'js' not found"):
        r.function_load("#!js name=x\n")
    with pytest.raises(redis.ResponseError, match="Error compiling function"):
        r.function_load("#!lua name=x\nthis is not lua")
    with pytest.raises(redis.ResponseError,
                       match="nonexistent global variable 'call'"):
        r.function_load("#!lua name=x\nredis.call('ping')")


def test_runtime_errors_name_the_function(r):
    r.function_load("#!lua name=e\nredis.register_function('boom', function() error('bad') end)")
    with pytest.raises(redis.ResponseError) as exc:
        r.fcall("boom", 0)
    assert str(exc.value) == "user_function:2: bad script: boom, on @user_function:2."


def test_list_delete_stats(r):
    r.function_load(LIB)
    libs = r.function_list()
    assert len(libs) == 1
    lib = libs[0]
    assert b"mylib" in lib
    listed = r.execute_command("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "my*")
    assert len(listed) == 1
    assert LIB.encode() in listed[0]
    assert r.execute_command("FUNCTION", "LIST", "LIBRARYNAME", "nomatch") == []
    stats = r.execute_command("FUNCTION", "STATS")
    assert stats[0] == b"running_script" and stats[1] is None
    assert stats[3][1][1] == 1 and stats[3][1][3] == 3
    assert r.function_delete("mylib") in (True, b"OK")
    with pytest.raises(redis.ResponseError, match="Library not found"):
        r.function_delete("mylib")
    with pytest.raises(redis.ResponseError, match="Function not found"):
        r.fcall("myget", 1, "k")


def test_dump_restore(r):
    r.function_load(LIB)
    payload = r.function_dump()
    r.function_flush()
    assert r.function_restore(payload) in (True, b"OK")
    assert r.fcall_ro("ro_echo", 0, "x") == b"x"
    with pytest.raises(redis.ResponseError, match="Library mylib already exists"):
        r.function_restore(payload)
    assert r.function_restore(payload, "REPLACE") in (True, b"OK")
    assert r.function_restore(payload, "FLUSH") in (True, b"OK")
    with pytest.raises(redis.ResponseError, match="payload version or checksum are wrong"):
        r.function_restore(payload[:-1] + b"\x00")
    with pytest.raises(redis.ResponseError, match="Wrong restore policy"):
        r.function_restore(payload, "MERGE")


def test_function_kill(server, r):
    old = r.config_get("busy-reply-threshold")["busy-reply-threshold"]
    r.config_set("busy-reply-threshold", 100)
    r.function_load("#!lua name=busy\nredis.register_function('spin', function() "
                    "local i = 0 while true do i = i + 1 end end)")
    t = None
    try:
        out = {}

        def run():
            c = server.client(protocol=2)
            try:
                c.fcall("spin", 0)
            except redis.ResponseError as exc:
                out["error"] = str(exc)
            finally:
                c.close()
        t = threading.Thread(target=run)
        t.start()
        deadline = time.time() + 5
        msg = None
        while time.time() < deadline:
            try:
                r.ping()
            except redis.ResponseError as exc:
                msg = str(exc)
                break
            time.sleep(0.02)
        assert msg == ("BUSY Redis is busy running a script. You can only call FUNCTION KILL "
                       "or SHUTDOWN NOSAVE.")
        stats = r.execute_command("FUNCTION", "STATS")
        assert stats[1][1] == b"spin"
        assert [a.lower() for a in stats[1][3]] == [b"fcall", b"spin", b"0"]
        with pytest.raises(redis.ResponseError, match="^BUSY.*FUNCTION KILL"):
            r.script_kill()
        assert r.execute_command("FUNCTION", "KILL") in (True, b"OK")
        t.join(5)
        assert out["error"] == ("Script killed by user with SCRIPT KILL... script: spin, "
                                "on @user_function:2.")
    finally:
        if t is not None and t.is_alive():
            r.execute_command("FUNCTION", "KILL")
            t.join(5)
        r.config_set("busy-reply-threshold", old)


def test_persistence_hooks():
    from omakase.config import Config
    from omakase.scripting import functions
    from omakase.server import Server

    srv = Server(Config())
    assert functions.libraries_code(srv) == []
    code = LIB.encode()
    assert functions.load_library_code(srv, code, False) == b"mylib"
    assert functions.libraries_code(srv) == [code]
    with pytest.raises(functions.LoadError, match="already exists"):
        functions.load_library_code(srv, code, False)
    assert functions.load_library_code(srv, code, True) == b"mylib"


PERSIST_LIB = "#!lua name=persisted\nredis.register_function('hello', function() return 'hi' end)"


def test_functions_persist_in_rdb_and_debug_reload(start_server, tmp_path):
    srv = start_server(dir=str(tmp_path))
    r = srv.client()
    r.function_load(PERSIST_LIB)
    r.set("k", "v")
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert r.fcall("hello", 0) == b"hi"
    r.save()
    srv.stop()
    srv2 = start_server(dir=str(tmp_path))
    assert srv2.client().fcall("hello", 0) == b"hi"


def test_functions_persist_in_aof(start_server, tmp_path):
    for preamble in ("yes", "no"):
        d = tmp_path / preamble
        d.mkdir()
        srv = start_server(dir=str(d), appendonly="yes", aof_use_rdb_preamble=preamble)
        r = srv.client()
        r.function_load(PERSIST_LIB)
        r.bgrewriteaof()
        deadline = time.time() + 10
        while r.info("persistence")["aof_rewrite_in_progress"] and time.time() < deadline:
            time.sleep(0.05)
        r.function_load(PERSIST_LIB.replace("'hi'", "'again'"), replace=True)
        srv.stop()
        srv2 = start_server(dir=str(d), appendonly="yes", aof_use_rdb_preamble=preamble)
        assert srv2.client().fcall("hello", 0) == b"again", preamble
