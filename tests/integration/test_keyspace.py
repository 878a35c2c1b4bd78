"""Generic keyspace commands through redis-py (db.c): DEL UNLINK EXISTS TYPE
RENAME RENAMENX MOVE COPY SWAPDB TOUCH DBSIZE FLUSHDB FLUSHALL KEYS SCAN
RANDOMKEY TIME LOLWUT OBJECT, plus keyspace notification events (checked
in-process on an embedded Server, so they do not depend on pub/sub).

Every assertion here is Redis 7.0's behaviour: the file passes with
``--redis-url`` against Debian's redis-server.
"""
from __future__ import annotations

import time

import pytest
import redis

from redis.exceptions import ResponseError

from helpers import err
from inproc import QuietLog, argv_of


def has_command(r, name: str) -> bool:
    try:
        reply = r.execute_command("COMMAND", "INFO", name)
    except (ResponseError, TypeError):
        return False
    return bool(reply) and any(v for v in (reply.values() if isinstance(reply, dict) else reply))


def full_scan(r, **kw) -> list[bytes]:
    out = []
    cursor = 0
    for _ in range(100000):
        cursor, keys = r.scan(cursor, **kw)
        out.extend(keys)
        if cursor == 0:
            return out
    raise AssertionError("SCAN did not terminate")


# -- DEL / UNLINK / EXISTS / TYPE / TOUCH / DBSIZE ------------------------------
@pytest.mark.parametrize("cmd", ["DEL", "UNLINK"])
def test_del_unlink(r, cmd):
    r.mset({"a": 1, "b": 2, "c": 3})
    assert r.execute_command(cmd, "a", "a", "b", "nokey") == 2
    assert r.exists("a", "b", "c") == 1
    assert r.execute_command(cmd, "nokey") == 0
    assert err(r, cmd) == f"wrong number of arguments for '{cmd.lower()}' command"


def test_del_expired_key_counts_zero(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        r.set("k", "v", px=1)
        time.sleep(0.01)
        assert r.delete("k") == 0
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


def test_exists_counts_duplicates(r):
    r.set("a", 1)
    assert r.exists("a", "a", "a", "b") == 3
    assert r.exists("nokey") == 0


def test_type(r):
    r.set("s", "v")
    assert r.type("s") == b"string"
    assert r.type("nokey") == b"none"
    if has_command(r, "rpush"):
        r.rpush("l", "x")
        assert r.type("l") == b"list"
    if has_command(r, "sadd"):
        r.sadd("st", "x")
        assert r.type("st") == b"set"
    if has_command(r, "hset"):
        r.hset("h", "f", "v")
        assert r.type("h") == b"hash"
    if has_command(r, "zadd"):
        r.zadd("z", {"m": 1})
        assert r.type("z") == b"zset"


def test_type_resp3_is_simple_string(r3):
    r3.set("s", "v")
    assert r3.type("s") == b"string"


def test_touch_and_dbsize(r):
    assert r.dbsize() == 0
    r.mset({"a": 1, "b": 2})
    assert r.touch("a", "b", "c", "a") == 3
    assert r.dbsize() == 2


# -- RENAME / RENAMENX -----------------------------------------------------------
def test_rename(r):
    r.set("a", "1")
    assert r.rename("a", "b") is True
    assert r.get("b") == b"1" and r.exists("a") == 0
    assert err(r, "RENAME", "a", "b") == "no such key"
    assert err(r, "RENAME", "a", "a") == "no such key"
    assert r.rename("b", "b") is True          # same key: OK, nothing happens
    assert r.get("b") == b"1"


def test_rename_moves_ttl_and_replaces_target(r):
    r.set("src", "v", ex=100)
    r.set("dst", "old", ex=5000)
    r.rename("src", "dst")
    assert r.get("dst") == b"v"
    assert 90 < r.ttl("dst") <= 100
    r.set("plain", "p")
    r.rename("plain", "dst")                   # target's TTL goes with it
    assert r.ttl("dst") == -1


def test_renamenx(r):
    r.set("a", 1)
    r.set("b", 2)
    assert r.renamenx("a", "b") is False
    assert r.renamenx("a", "a") is False
    assert r.renamenx("a", "c") is True
    assert r.mget("a", "c") == [None, b"1"]
    assert err(r, "RENAMENX", "nokey", "x") == "no such key"


# -- MOVE ---------------------------------------------------------------------------
def test_move(r):
    r.set("k", "v", ex=100)
    assert r.move("k", 1) is True
    assert r.exists("k") == 0
    r.execute_command("SELECT", 1)
    try:
        assert r.get("k") == b"v"
        assert 90 < r.ttl("k") <= 100
        assert r.move("k", 0) is True
    finally:
        r.execute_command("SELECT", 0)
    assert r.get("k") == b"v"
    assert r.move("nokey", 1) is False


def test_move_target_exists(r):
    r.set("k", "src")
    r.execute_command("SELECT", 1)
    r.set("k", "dst")
    r.execute_command("SELECT", 0)
    assert r.move("k", 1) is False
    assert r.get("k") == b"src"


def test_move_errors(r):
    r.set("k", "v")
    assert err(r, "MOVE", "k", 0) == "source and destination objects are the same"
    assert err(r, "MOVE", "k", 16) == "DB index is out of range"
    assert err(r, "MOVE", "k", -1) == "DB index is out of range"
    assert err(r, "MOVE", "k", "x") == "value is not an integer or out of range"
    assert err(r, "MOVE", "k", 2**31) == \
        "value is out of range, value must between -2147483648 and 2147483647"
    assert err(r, "SWAPDB", 2**31, 0) == "invalid first DB index"
    # db checked before the key
    assert err(r, "MOVE", "nokey", 99) == "DB index is out of range"


# -- COPY ---------------------------------------------------------------------------
def test_copy(r):
    r.set("a", "hello", ex=100)
    assert r.copy("a", "b") is True
    assert r.get("b") == b"hello"
    assert 90 < r.ttl("b") <= 100
    assert r.copy("a", "b") is False
    r.set("a", "new")
    assert r.copy("a", "b", replace=True) is True
    assert r.get("b") == b"new" and r.ttl("b") == -1
    assert r.copy("nokey", "x") is False


def test_copy_to_db(r):
    r.set("a", "1")
    assert r.copy("a", "a", destination_db=3) is True
    assert r.copy("a", "a", destination_db=3) is False
    r.execute_command("SELECT", 3)
    try:
        assert r.get("a") == b"1"
    finally:
        r.execute_command("SELECT", 0)
    assert r.execute_command("COPY", "a", "a", "DB", 3, "REPLACE") == 1


def test_copy_errors(r):
    r.set("a", 1)
    assert err(r, "COPY", "a", "a") == "source and destination objects are the same"
    assert err(r, "COPY", "a", "a", "DB", 0) == "source and destination objects are the same"
    assert err(r, "COPY", "a", "b", "DB", 16) == "DB index is out of range"
    assert err(r, "COPY", "a", "b", "DB", "x") == "value is not an integer or out of range"
    assert err(r, "COPY", "a", "b", "DB") == "syntax error"
    assert err(r, "COPY", "a", "b", "FOO") == "syntax error"
    assert err(r, "COPY", "a", "b", "REPLACE", "x") == "syntax error"
    # options are validated even for a missing source
    assert err(r, "COPY", "nokey", "b", "BAD") == "syntax error"


def test_copy_is_independent_and_keeps_encoding(r):
    r.set("s", "abc")
    r.append("s", "def")                       # raw, modified in place
    assert r.object("encoding", "s") == b"raw"
    r.copy("s", "t")
    assert r.object("encoding", "t") == b"raw"
    r.append("t", "!")
    assert r.get("s") == b"abcdef" and r.get("t") == b"abcdef!"
    r.set("i", 12345)
    r.copy("i", "j")
    assert r.object("encoding", "j") == b"int"
    if has_command(r, "rpush"):
        r.rpush("l", "a", "b")
        r.copy("l", "l2")
        r.rpush("l2", "c")
        assert r.lrange("l", 0, -1) == [b"a", b"b"]
        assert r.lrange("l2", 0, -1) == [b"a", b"b", b"c"]


# -- SWAPDB -------------------------------------------------------------------------
def test_swapdb(r):
    r.set("k", "db0", ex=100)
    r.execute_command("SELECT", 1)
    r.set("only1", "x")
    assert r.swapdb(0, 1) is True
    assert r.get("k") == b"db0" and 90 < r.ttl("k") <= 100   # still in db 1
    assert r.exists("only1") == 0
    r.execute_command("SELECT", 0)
    assert r.get("only1") == b"x"
    assert r.swapdb(5, 5) is True


def test_swapdb_errors(r):
    assert err(r, "SWAPDB", "a", 1) == "invalid first DB index"
    assert err(r, "SWAPDB", 1, "b") == "invalid second DB index"
    assert err(r, "SWAPDB", 0, 16) == "DB index is out of range"
    assert err(r, "SWAPDB", -1, 0) == "DB index is out of range"


def test_swapdb_invalidates_watch(server):
    if not has_command(server.client(), "watch"):
        pytest.skip("WATCH not implemented yet")
    r = server.client()
    r.flushall()
    r.set("k", "1")
    p = r.pipeline()
    p.watch("k")
    r.swapdb(0, 1)
    p.multi()
    p.set("k", "2")
    with pytest.raises(redis.WatchError):
        p.execute()
    r.close()


# -- FLUSHDB / FLUSHALL ------------------------------------------------------------
@pytest.mark.parametrize("args", [(), ("SYNC",), ("ASYNC",), ("async",)])
def test_flushdb_flushall(r, args):
    r.set("a", 1)
    r.execute_command("SELECT", 1)
    r.set("b", 1)
    assert r.execute_command("FLUSHDB", *args) in (True, b"OK")
    assert r.dbsize() == 0
    r.execute_command("SELECT", 0)
    assert r.dbsize() == 1
    r.execute_command("SELECT", 1)
    r.set("b", 1)
    r.execute_command("SELECT", 0)
    assert r.execute_command("FLUSHALL", *args) in (True, b"OK")
    assert r.dbsize() == 0
    r.execute_command("SELECT", 1)
    assert r.dbsize() == 0
    r.execute_command("SELECT", 0)


def test_flush_errors(r):
    for cmd in ("FLUSHDB", "FLUSHALL"):
        assert err(r, cmd, "LATER") == "syntax error"
        assert err(r, cmd, "SYNC", "ASYNC") == "syntax error"


def test_flush_dirty_accounting(r):
    """server.dirty += keys removed (INFO rdb_changes_since_last_save)."""
    def changes():
        return r.info("persistence")["rdb_changes_since_last_save"]
    if "rdb_changes_since_last_save" not in r.info("persistence"):
        pytest.skip("INFO persistence not implemented yet")
    base = changes()
    r.mset({"a": 1, "b": 2, "c": 3})
    assert changes() == base + 3
    r.flushdb()
    assert changes() == base + 6
    r.flushall()                 # nothing left: dirty unchanged
    assert changes() == base + 6


# -- KEYS ---------------------------------------------------------------------------
def test_keys_patterns(r):
    r.mset({"hello": 1, "hallo": 1, "hxllo": 1, "hllo": 1, "heeeello": 1,
            "a*b": 1, "x": 1})
    def k(p):
        return sorted(r.keys(p))
    assert k("*") == sorted([b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"a*b", b"x"])
    assert k("h?llo") == [b"hallo", b"hello", b"hxllo"]
    assert k("h*llo") == [b"hallo", b"heeeello", b"hello", b"hllo", b"hxllo"]
    assert k("h[ae]llo") == [b"hallo", b"hello"]
    assert k("h[^e]llo") == [b"hallo", b"hxllo"]
    assert k("h[a-b]llo") == [b"hallo"]
    assert k("a\\*b") == [b"a*b"]
    assert k("nomatch*") == []


def test_keys_skips_expired(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        r.set("live", 1)
        r.set("dead", 1, px=1)
        time.sleep(0.01)
        assert r.keys("*") == [b"live"]
        assert r.dbsize() == 2           # not deleted by KEYS
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


# -- SCAN -----------------------------------------------------------------------------
def test_scan_full_iteration(r):
    keys = {b"key:%d" % i for i in range(1500)}
    p = r.pipeline(transaction=False)
    for k in keys:
        p.set(k, 1)
    p.execute()
    got = full_scan(r)
    assert set(got) == keys
    got = full_scan(r, count=1000)
    assert set(got) == keys


def test_scan_count_bounds_work(r):
    for i in range(200):
        r.set(f"k{i}", i)
    cursor, keys = r.scan(0, count=1)
    assert cursor != 0 and 1 <= len(keys) < 200


def test_scan_match_and_type(r):
    for i in range(100):
        r.set(f"user:{i}", i)
        r.set(f"item:{i}", i)
    got = full_scan(r, match="user:1*")
    assert sorted(got) == sorted({b"user:1"} | {b"user:1%d" % i for i in range(10)})
    assert len(full_scan(r, _type="string")) == 200
    assert full_scan(r, _type="STRING") != []            # case-insensitive
    assert full_scan(r, _type="list") == []
    assert full_scan(r, _type="none") == []
    if has_command(r, "rpush"):
        r.rpush("mylist", "a")
        assert full_scan(r, _type="list") == [b"mylist"]


def test_scan_skips_expired(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        r.set("live", 1)
        for i in range(10):
            r.set(f"dead{i}", 1, px=1)
        time.sleep(0.01)
        assert full_scan(r) == [b"live"]
        assert r.dbsize() == 1           # SCAN expired them lazily
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


@pytest.mark.parametrize("cursor", ["", "0", "-0", "+0", "00", "18446744073709551615", "-1"])
def test_scan_cursor_forms_accepted(r, cursor):
    r.set("a", 1)
    next_cursor, keys = r.execute_command("SCAN", cursor)
    assert isinstance(keys, list)


@pytest.mark.parametrize("cursor", ["abc", " 1", "1 ", "0x10", "1.5", "-", "+",
                                    "18446744073709551616"])
def test_scan_invalid_cursor(r, cursor):
    assert err(r, "SCAN", cursor) == "invalid cursor"


def test_scan_option_errors(r):
    assert err(r, "SCAN", 0, "COUNT", 0) == "syntax error"
    assert err(r, "SCAN", 0, "COUNT", -1) == "syntax error"
    assert err(r, "SCAN", 0, "COUNT", "x") == "value is not an integer or out of range"
    assert err(r, "SCAN", 0, "COUNT") == "syntax error"
    assert err(r, "SCAN", 0, "MATCH") == "syntax error"
    assert err(r, "SCAN", 0, "TYPE") == "syntax error"
    assert err(r, "SCAN", 0, "FOO", "bar") == "syntax error"
    assert err(r, "SCAN", "bad", "COUNT", 0) == "invalid cursor"


def test_scan_resp3(r3):
    r3.set("a", 1)
    assert r3.execute_command("SCAN", 0) == (0, [b"a"])


def test_sscan_helper_if_available(r):
    if not has_command(r, "sscan"):
        pytest.skip("SSCAN not implemented yet")
    assert r.execute_command("SSCAN", "nokey", 0, "COUNT", 0) == (0, [])
    r.sadd("s", *range(300))
    cursor, seen = 0, set()
    while True:
        cursor, items = r.sscan("s", cursor, match="1*")
        seen.update(items)
        if cursor == 0:
            break
    assert seen == {str(i).encode() for i in range(300) if str(i).startswith("1")}
    assert err(r, "SSCAN", "s", 0, "TYPE", "string") == "syntax error"
    assert err(r, "SSCAN", "s", "x") == "invalid cursor"
    r.set("str", 1)
    assert err(r, "SSCAN", "str", 0).startswith("WRONGTYPE")


# -- RANDOMKEY / TIME -------------------------------------------------------------
def test_randomkey(r, r3):
    assert r.randomkey() is None
    assert r3.randomkey() is None
    keys = {b"a", b"b", b"c"}
    for k in keys:
        r.set(k, 1)
    seen = {r.randomkey() for _ in range(200)}
    assert seen == keys


def test_randomkey_skips_expired(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        r.set("live", 1)
        r.set("dead", 1, px=1)
        time.sleep(0.01)
        for _ in range(20):
            assert r.randomkey() == b"live"
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


def test_time(r):
    sec, usec = r.time()       # the bulk strings are checked in the differential tests
    assert abs(sec - time.time()) < 5
    assert 0 <= usec < 1_000_000


# -- LOLWUT -------------------------------------------------------------------------
def test_lolwut_default(r):
    assert r.execute_command("LOLWUT") == b"Redis ver. 7.0.15\n"
    assert r.execute_command("LOLWUT", "1", "2") == b"Redis ver. 7.0.15\n"
    assert r.execute_command("LOLWUT", "VERSION", "7") == b"Redis ver. 7.0.15\n"


def test_lolwut_version5_schotter(r):
    # two rows of squares are never perturbed: deterministic output
    out = r.execute_command("LOLWUT", "VERSION", 5, 10, 2, 2).decode()
    assert out == ("⠀⡤⠤⠤⠤⡤⠤⠤⠤⡄\n⠀⡇⠀⠀⠀⡇⠀⠀⠀⡇\n⠀⡧⠤⠤⠤⡧⠤⠤⠤⡇\n⠀⡇⠀⠀⠀⡇⠀⠀⠀⡇\n⠀⠧⠤⠤⠤⠧⠤⠤⠤⠇\n\n"
                   "Georg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n")
    out = r.execute_command("LOLWUT", "VERSION", 5).decode()
    assert out.endswith("\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n")
    assert len(out.split("\n")[0]) == 66
    assert err(r, "LOLWUT", "VERSION", 5, "x") == "value is not an integer or out of range"


def test_lolwut_version6(r):
    out = r.execute_command("LOLWUT", "VERSION", 6, 1, 1)
    assert out == (b"\x1b[0;97;107m \x1b[0m\nDedicated to the 8 bit game developers of past "
                   b"and present.\nOriginal 8 bit image from Plaguemon by hikikomori. "
                   b"Redis ver. 7.0.15\n")
    assert err(r, "LOLWUT", "VERSION", 6, "x") == "value is not an integer or out of range"


def test_lolwut_errors_and_resp3(r, r3):
    assert err(r, "LOLWUT", "VERSION", "x") == "value is not an integer or out of range"
    raw = r3.execute_command("LOLWUT")
    assert b"Redis ver. 7.0.15" in (raw if isinstance(raw, bytes) else str(raw).encode())


# -- OBJECT ---------------------------------------------------------------------------
def test_object_encoding(r):
    r.set("i", 12345)
    r.set("e", "x" * 44)
    r.set("w", "x" * 45)
    assert r.object("encoding", "i") == b"int"
    assert r.object("encoding", "e") == b"embstr"
    assert r.object("encoding", "w") == b"raw"
    assert r.object("encoding", "nokey") is None
    if has_command(r, "rpush"):
        r.rpush("l", "a")
        assert r.object("encoding", "l") == b"quicklist"


def test_object_refcount(r):
    r.set("shared", 100)
    r.set("big", 10000)
    r.set("str", "abc")
    assert r.object("refcount", "shared") == 2147483647
    assert r.object("refcount", "big") == 1
    assert r.object("refcount", "str") == 1
    assert r.object("refcount", "nokey") is None


def test_object_idletime_no_touch(r):
    r.set("k", "v")
    time.sleep(2.2)
    idle = r.object("idletime", "k")
    assert idle >= 1
    r.object("encoding", "k")
    r.type("k")
    r.exists("k")
    r.ttl("k")
    assert r.object("idletime", "k") >= idle      # none of these touch
    r.get("k")
    assert r.object("idletime", "k") == 0


def test_object_idletime_freq_policy_errors(r):
    r.set("k", "v")
    lfu = ("An LFU maxmemory policy is selected, idle time not tracked. Please note that "
           "when switching between policies at runtime LRU and LFU data will take some "
           "time to adjust.")
    notlfu = ("An LFU maxmemory policy is not selected, access frequency not tracked. Please "
              "note that when switching between policies at runtime LRU and LFU data will "
              "take some time to adjust.")
    assert err(r, "OBJECT", "FREQ", "k") == notlfu
    assert r.object("freq", "nokey") is None
    old = r.config_get("maxmemory-policy")["maxmemory-policy"]
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        assert err(r, "OBJECT", "IDLETIME", "k") == lfu
        r.set("f", "v")
        assert 0 <= r.object("freq", "f") <= 255
        for _ in range(50):
            r.get("f")
        assert r.object("freq", "f") >= 5
    finally:
        r.config_set("maxmemory-policy", old)


def test_object_help_and_errors(r):
    lines = r.execute_command("OBJECT", "HELP")
    lines = [x.decode() if isinstance(x, bytes) else x for x in lines]
    assert lines[0] == "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[1] == "ENCODING <key>"
    assert lines[-2:] == ["HELP", "    Prints this help."]
    assert len(lines) == 15
    assert err(r, "OBJECT") == "wrong number of arguments for 'object' command"
    assert err(r, "OBJECT", "ENCODING") == "wrong number of arguments for 'object|encoding' command"
    assert err(r, "OBJECT", "FOO", "k") == "unknown subcommand 'FOO'. Try OBJECT HELP."


# -- keyspace notifications (in-process: the events omakase emits) ------------
@pytest.fixture
def embedded():
    from omakase.config import Config
    from omakase.networking import FakeClient
    from omakase.server import Server

    srv = Server(Config(), logger=QuietLog())
    events: list[tuple[str, bytes, int]] = []
    srv.notify_hook = lambda flag, event, key, dbid: events.append((event, key, dbid))
    c = FakeClient(srv)

    def run(*args):
        srv.process_command(c, argv_of(args))
        return c.take_reply()
    run.events = events
    run.server = srv
    yield run


def test_notification_events(embedded):
    run = embedded
    run("SET", "a", "1")
    run.events.clear()
    run("RENAME", "a", "b")
    assert run.events == [("rename_from", b"a", 0), ("rename_to", b"b", 0)]
    run.events.clear()
    run("MOVE", "b", "2")
    assert run.events == [("move_from", b"b", 0), ("move_to", b"b", 2)]
    run("SET", "c", "1")
    run.events.clear()
    run("COPY", "c", "d", "DB", "3")
    assert run.events == [("copy_to", b"d", 3)]
    run.events.clear()
    run("DEL", "c", "nokey")
    assert run.events == [("del", b"c", 0)]
    run("SET", "e", "1")
    run.events.clear()
    run("UNLINK", "e")
    assert run.events == [("del", b"e", 0)]
    run("SET", "f", "1")
    run.events.clear()
    run("EXPIRE", "f", "100")
    run("PERSIST", "f")
    run("PEXPIRE", "f", "-1")
    assert run.events == [("expire", b"f", 0), ("persist", b"f", 0), ("del", b"f", 0)]
    run.events.clear()
    run("RENAME", "f", "g")            # error: no event
    run("PERSIST", "nokey")
    assert run.events == []


def test_dirty_and_propagation(embedded):
    run = embedded
    srv = run.server
    sent = []
    srv.propagation_targets.append(lambda ops: sent.extend(ops))
    run("SET", "k", "v")
    sent.clear()
    d = srv.dirty
    run("EXPIRE", "k", "100")
    assert srv.dirty == d + 1
    (dbid, argv), = sent
    assert argv[0] == b"PEXPIREAT" and argv[1] == b"k"
    assert abs(int(argv[2]) - (time.time() * 1000 + 100000)) < 2000
    sent.clear()
    run("EXPIRE", "k", "50", "GT")
    assert sent == []                     # GT failed: nothing changed, nothing sent
    run("EXPIREAT", "k", str(int(time.time()) + 500), "GT")
    assert sent[0][1][0] == b"PEXPIREAT" and sent[0][1][3] == b"GT"
    sent.clear()
    run("PEXPIREAT", "k", "99999999999999")
    assert sent == [(0, [b"PEXPIREAT", b"k", b"99999999999999"])]
    sent.clear()
    run("EXPIRE", "k", "-5")
    assert sent == [(0, [b"DEL", b"k"])]
    srv.config.lazyfree_lazy_expire = True
    run("SET", "k", "v")
    sent.clear()
    run("PEXPIREAT", "k", "1")
    assert sent == [(0, [b"UNLINK", b"k"])]
    sent.clear()
    # FLUSHDB/FLUSHALL propagate even when nothing was removed
    run("FLUSHDB")
    run("FLUSHALL", "ASYNC")
    assert sent == [(0, [b"FLUSHDB"]), (0, [b"FLUSHALL", b"ASYNC"])]
    d = srv.dirty
    run("MSET", "a", "1", "b", "2")
    run("SELECT", "1")
    run("SET", "c", "3")
    d = srv.dirty
    run("FLUSHALL")
    assert srv.dirty == d + 3
    run("SWAPDB", "0", "1")
    assert srv.dirty == d + 4
