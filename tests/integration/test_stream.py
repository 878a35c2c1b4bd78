"""Streams through redis-py: every X* command, its errors, blocking reads,
and (in process) propagation and keyspace events."""
from __future__ import annotations

import threading
import time

import pytest
import redis

from helpers import err
from inproc import inproc_fixture, name_only


def test_xadd_ids_and_errors(r):
    assert r.xadd("s", {"a": 1}, id="1-1") == b"1-1"
    assert r.xadd("s", {"a": 2}, id="1-*") == b"1-2"
    assert r.xadd("s", {"a": 3}, id="2") == b"2-0"
    auto = r.xadd("s", {"a": 4})
    ms, seq = map(int, auto.split(b"-"))
    assert ms > 2
    assert err(r, "XADD", "s", "1-1", "a", "b") == (
        "The ID specified in XADD is equal or smaller than the target stream top item")
    assert err(r, "XADD", "s", "0-0", "a", "b") == (
        "The ID specified in XADD must be greater than 0-0")
    assert err(r, "XADD", "s", "foo", "a", "b") == (
        "Invalid stream ID specified as stream command argument")
    assert err(r, "XADD", "s", "*", "a") == "wrong number of arguments for 'xadd' command"
    assert r.xadd("nokey", {"a": 1}, nomkstream=True) is None
    assert not r.exists("nokey")
    r.set("str", "x")
    assert err(r, "XADD", "str", "*", "a", "b").startswith("WRONGTYPE")
    assert r.type("s") == b"stream"
    assert r.object("encoding", "s") == b"stream"
    assert r.xlen("s") == 4
    assert r.xlen("nokey") == 0


def test_xadd_maxlen_minid(r):
    r.config_set("stream-node-max-entries", 2)
    try:
        for i in range(1, 11):
            r.xadd("s", {"f": i}, id=f"{i}-0")
        r.xadd("s", {"f": 11}, id="11-0", maxlen=5, approximate=False)
        assert r.xlen("s") == 5
        r.xadd("s", {"f": 12}, id="12-0", minid="10", approximate=False)
        assert [e[0] for e in r.xrange("s")] == [b"10-0", b"11-0", b"12-0"]
        assert err(r, "XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "a", "b") == (
            "syntax error, MAXLEN and MINID options at the same time are not compatible")
        assert err(r, "XADD", "s", "MAXLEN", "-1", "*", "a", "b") == (
            "The MAXLEN argument must be >= 0.")
        assert err(r, "XADD", "s", "MAXLEN", "1", "LIMIT", "1", "*", "a", "b") == (
            "syntax error, LIMIT cannot be used without the special ~ option")
        assert err(r, "XADD", "s", "LIMIT", "1", "*", "a", "b") == (
            "syntax error, LIMIT cannot be used without specifying a trimming strategy")
    finally:
        r.config_set("stream-node-max-entries", 100)


def test_xrange_xrevrange(r):
    for i in range(1, 6):
        r.xadd("s", {"f": i}, id=f"{i}-0")
    assert [e[0] for e in r.xrange("s", "(2-0", "+")] == [b"3-0", b"4-0", b"5-0"]
    assert [e[0] for e in r.xrange("s", "-", "(3-0", count=10)] == [b"1-0", b"2-0"]
    assert [e[0] for e in r.xrevrange("s", "+", "-", count=2)] == [b"5-0", b"4-0"]
    assert r.xrange("s", "1", "1") == [(b"1-0", {b"f": b"1"})]
    assert r.execute_command("XRANGE", "s", "-", "+", "COUNT", "0") is None
    assert r.xrange("nokey") == []
    assert err(r, "XRANGE", "s", "(-", "+") == (
        "Invalid stream ID specified as stream command argument")
    assert err(r, "XRANGE", "s", "-", "(0-0") == "invalid end ID for the interval"
    assert err(r, "XRANGE", "s", "-", "+", "FOO") == "syntax error"


def test_xdel_xtrim_xsetid(r):
    for i in range(1, 6):
        r.xadd("s", {"f": i}, id=f"{i}-0")
    assert r.xdel("s", "1-0", "9-0") == 1
    assert err(r, "XDEL", "s", "bad") == "Invalid stream ID specified as stream command argument"
    assert r.xtrim("s", maxlen=2, approximate=False) == 2
    assert r.xtrim("s", minid="5", approximate=False) == 1
    assert r.xtrim("nokey", maxlen=0) == 0
    assert err(r, "XTRIM", "s", "LIMIT", "1") == (
        "syntax error, LIMIT cannot be used without specifying a trimming strategy")
    info = r.xinfo_stream("s")
    assert info["length"] == 1 and info["max-deleted-entry-id"] == b"1-0"
    assert r.execute_command("XSETID", "s", "9-9") in (True, b"OK")
    assert err(r, "XSETID", "s", "1-0") == (
        "The ID specified in XSETID is smaller than the target stream top item")
    assert err(r, "XSETID", "nokey", "1-0") == "no such key"
    assert r.xinfo_stream("s")["last-generated-id"] == b"9-9"
    assert r.xadd("s", {"a": 1}, id="9-*") == b"9-10"


def test_groups_readgroup_ack_pending(r):
    for i in range(1, 4):
        r.xadd("s", {"f": i}, id=f"{i}-0")
    assert r.xgroup_create("s", "g", id="0") is True
    assert err(r, "XGROUP", "CREATE", "s", "g", "0") == "BUSYGROUP Consumer Group name already exists"
    assert err(r, "XGROUP", "CREATE", "nokey", "g", "0").startswith(
        "The XGROUP subcommand requires the key to exist.")
    assert r.xgroup_create("mk", "g", id="$", mkstream=True) is True
    assert r.xlen("mk") == 0
    got = r.xreadgroup("g", "alice", {"s": ">"}, count=2)
    assert [e[0] for e in got[0][1]] == [b"1-0", b"2-0"]
    assert err(r, "XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">") == (
        "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option")
    assert err(r, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$").startswith(
        "The $ ID is meaningless")
    summary = r.xpending("s", "g")
    assert summary["pending"] == 2 and summary["min"] == b"1-0" and summary["max"] == b"2-0"
    assert summary["consumers"] == [{"name": b"alice", "pending": 2}]
    rows = r.xpending_range("s", "g", "-", "+", 10)
    assert [(x["message_id"], x["times_delivered"]) for x in rows] == [(b"1-0", 1), (b"2-0", 1)]
    hist = r.xreadgroup("g", "alice", {"s": "0"})
    assert [e[0] for e in hist[0][1]] == [b"1-0", b"2-0"]
    assert r.xpending_range("s", "g", "-", "+", 10)[0]["times_delivered"] == 2
    assert r.xack("s", "g", "1-0", "7-0") == 1
    assert r.xack("s", "nog", "1-0") == 0
    assert err(r, "XPENDING", "s", "nog") == "NOGROUP No such key 's' or consumer group 'nog'"
    groups = r.xinfo_groups("s")
    assert groups[0]["name"] == b"g" and groups[0]["pending"] == 1
    assert groups[0]["last-delivered-id"] == b"2-0" and groups[0]["entries-read"] == 2
    assert groups[0]["lag"] == 1
    assert r.xgroup_createconsumer("s", "g", "zed") == 1
    assert r.xgroup_createconsumer("s", "g", "zed") == 0
    assert [c["name"] for c in r.xinfo_consumers("s", "g")] == [b"alice", b"zed"]
    assert r.xgroup_delconsumer("s", "g", "alice") == 1
    assert r.xpending("s", "g")["pending"] == 0
    assert r.xgroup_setid("s", "g", "0") is True
    assert err(r, "XGROUP", "SETID", "s", "nog", "0") == (
        "NOGROUP No such consumer group 'nog' for key name 's'")
    assert r.xgroup_destroy("s", "g") == 1
    assert r.xgroup_destroy("s", "g") == 0


def test_xclaim_xautoclaim(r):
    for i in range(1, 5):
        r.xadd("s", {"f": i}, id=f"{i}-0")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "alice", {"s": ">"})
    assert r.xclaim("s", "g", "bob", 0, ["1-0"]) == [(b"1-0", {b"f": b"1"})]
    assert r.xclaim("s", "g", "bob", 100000, ["2-0"]) == []
    assert r.xclaim("s", "g", "bob", 0, ["2-0"], justid=True) == [b"2-0"]
    assert err(r, "XCLAIM", "s", "g", "bob", "x", "1-0") == (
        "Invalid min-idle-time argument for XCLAIM")
    assert err(r, "XCLAIM", "s", "g", "bob", "0", "1-0", "WHAT") == (
        "Unrecognized XCLAIM option 'WHAT'")
    assert err(r, "XCLAIM", "s", "nog", "bob", "0", "1-0") == (
        "NOGROUP No such key 's' or consumer group 'nog'")
    r.xdel("s", "3-0")
    res = r.xautoclaim("s", "g", "carol", 0, "0", count=10)
    assert res[0] == b"0-0"
    assert [e[0] for e in res[1]] == [b"1-0", b"2-0", b"4-0"]
    assert res[2] == [b"3-0"]
    assert err(r, "XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "0") == "COUNT must be > 0"
    res = r.xautoclaim("s", "g", "dave", 0, "0", count=1, justid=True)
    assert res == [b"1-0"]          # redis-py keeps only the claimed IDs


def test_xinfo(r):
    r.xadd("s", {"a": 1}, id="1-0")
    r.xadd("s", {"a": 2}, id="2-0")
    r.xgroup_create("s", "g", id="0")
    info = r.xinfo_stream("s")
    assert info["length"] == 2 and info["radix-tree-keys"] == 1
    assert info["radix-tree-nodes"] == 2 and info["groups"] == 1
    assert info["first-entry"] == (b"1-0", {b"a": b"1"})
    assert info["last-entry"] == (b"2-0", {b"a": b"2"})
    full = r.xinfo_stream("s", full=True)
    assert len(full["entries"]) == 2 and full["groups"][0]["name"] == b"g"
    assert err(r, "XINFO", "STREAM", "nokey") == "no such key"
    assert err(r, "XINFO", "STREAM", "s", "FOO") == (
        "unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")
    assert err(r, "XINFO", "CONSUMERS", "s", "nog") == (
        "NOGROUP No such consumer group 'nog' for key name 's'")
    assert r.execute_command("XINFO", "HELP")[0].startswith(b"XINFO <subcommand>")


def test_scan_type_and_digest(r):
    r.xadd("s", {"a": 1}, id="1-1")
    r.set("k", "v")
    assert r.scan(0, _type="stream")[1] == [b"s"]
    d1 = r.execute_command("DEBUG", "DIGEST-VALUE", "s")
    r.xgroup_create("s", "g", id="0")
    assert r.execute_command("DEBUG", "DIGEST-VALUE", "s") == d1
    assert r.copy("s", "s2")
    assert r.xrange("s2") == r.xrange("s")
    assert r.xinfo_groups("s2")[0]["name"] == b"g"


def test_digest_value_matches_redis(r):
    r.xadd("s", {"a": "1", "b": "2"}, id="1-1")
    d = r.execute_command("DEBUG", "DIGEST-VALUE", "s")
    assert d[0] == b"e4a21e3ca2d9a960e9859bb0985cc334bb4f2e58"


# -- blocking ------------------------------------------------------------------
def _later(fn, delay=0.15):
    t = threading.Timer(delay, fn)
    t.start()
    return t


def test_xread_block_served_by_xadd(server, r):
    r2 = server.client(protocol=2)
    r.xadd("s", {"a": 1}, id="1-0")
    t = _later(lambda: r2.xadd("s", {"b": 2}, id="2-0"))
    got = r.xread({"s": "$"}, block=3000)
    t.join()
    assert got == [[b"s", [(b"2-0", {b"b": b"2"})]]]
    t0 = time.time()
    assert r.xread({"s": "$"}, block=100) == []
    assert time.time() - t0 >= 0.09
    assert err(r, "XREAD", "BLOCK", "-1", "STREAMS", "s", "$") == "timeout is negative"
    assert err(r, "XREAD", "BLOCK", "1.5", "STREAMS", "s", "$") == (
        "timeout is not an integer or out of range")
    r2.close()


def test_xread_block_on_missing_key(server, r):
    r2 = server.client(protocol=2)
    t = _later(lambda: r2.xadd("new", {"x": 1}, id="5-0"))
    got = r.xread({"new": "$"}, block=3000, count=1)
    t.join()
    assert got == [[b"new", [(b"5-0", {b"x": b"1"})]]]
    r2.close()


def test_xreadgroup_block_and_errors(server, r):
    r2 = server.client(protocol=2)
    r.xgroup_create("s", "g", id="$", mkstream=True)
    t = _later(lambda: r2.xadd("s", {"x": 1}, id="1-0"))
    got = r.xreadgroup("g", "c", {"s": ">"}, block=3000)
    t.join()
    assert got == [[b"s", [(b"1-0", {b"x": b"1"})]]]
    assert r.xpending("s", "g")["pending"] == 1
    t = _later(lambda: r2.xgroup_destroy("s", "g"))
    with pytest.raises(redis.ResponseError) as ei:
        r.xreadgroup("g", "c", {"s": ">"}, block=3000)
    t.join()
    assert str(ei.value) == "NOGROUP the consumer group this client was blocked on no longer exists"
    r.xgroup_create("s", "g", id="$")
    t = _later(lambda: r2.delete("s"))
    with pytest.raises(redis.ResponseError) as ei:
        r.xreadgroup("g", "c", {"s": ">"}, block=3000)
    t.join()
    assert str(ei.value) == "UNBLOCKED the stream key no longer exists"
    r2.close()


def test_block_inside_multi_answers_null(r):
    p = r.pipeline(transaction=True)
    p.xread({"s": "$"}, block=0)
    assert p.execute() == [[]]


# -- in process: propagation and keyspace events ----------------------------------
inproc = inproc_fixture(event=name_only)


def test_propagation(inproc):
    out = inproc("XADD", "s", "*", "a", "1")
    gen = out.split(b"\r\n")[1]
    p, e = inproc.take()
    assert p == [[b"XADD", b"s", gen, b"a", b"1"]] and e == ["xadd"]
    inproc("FLUSHALL")
    inproc("XADD", "s", "9-*", "a", "2")
    assert inproc.take()[0] == [[b"FLUSHALL"], [b"XADD", b"s", b"9-0", b"a", b"2"]]
    inproc.take()
    for i in range(1, 6):
        inproc("XADD", "t", f"{i}-0", "f", "v")
    inproc.take()
    inproc("XADD", "t", "MAXLEN", "~", "2", "6-0", "f", "v")
    assert inproc.take()[0] == [[b"XADD", b"t", b"MAXLEN", b"=", b"6", b"6-0", b"f", b"v"]]
    inproc("XTRIM", "t", "MAXLEN", "3")
    p, e = inproc.take()
    assert p == [[b"XTRIM", b"t", b"MAXLEN", b"3"]] and e == ["xtrim"]
    inproc("XGROUP", "CREATE", "t", "g", "0")
    assert inproc.take()[1] == ["xgroup-create"]
    inproc("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "t", ">")
    p, e = inproc.take()
    assert e == ["xgroup-createconsumer"]
    (xc,) = p
    assert xc[:6] == [b"XCLAIM", b"t", b"g", b"c", b"0", b"4-0"]
    assert xc[6] == b"TIME" and xc[8:] == [b"RETRYCOUNT", b"1", b"FORCE", b"JUSTID",
                                           b"LASTID", b"4-0"]
    inproc("XREADGROUP", "GROUP", "g", "d", "NOACK", "COUNT", "1", "STREAMS", "t", ">")
    p, _ = inproc.take()
    assert p == [[b"MULTI"], [b"XGROUP", b"CREATECONSUMER", b"t", b"g", b"d"],
                 [b"XGROUP", b"SETID", b"t", b"g", b"5-0", b"ENTRIESREAD", b"5"], [b"EXEC"]]
    inproc("XCLAIM", "t", "g", "e", "0", "4", "JUSTID")
    p, _ = inproc.take()
    assert p[0][:6] == [b"XCLAIM", b"t", b"g", b"e", b"0", b"4"]
    inproc("XDEL", "t", "4-0")
    assert inproc.take() == ([[b"XDEL", b"t", b"4-0"]], ["xdel"])
    inproc("XSETID", "t", "99-0")
    assert inproc.take()[1] == ["xsetid"]
    inproc("XGROUP", "SETID", "t", "g", "0")
    inproc("XGROUP", "DELCONSUMER", "t", "g", "c")
    inproc("XGROUP", "DESTROY", "t", "g")
    assert inproc.take()[1] == ["xgroup-setid", "xgroup-delconsumer", "xgroup-destroy"]


def test_rdb_view(inproc):
    inproc("XADD", "s", "1-1", "a", "1")
    inproc("XGROUP", "CREATE", "s", "g", "0")
    inproc("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    s = inproc.server.dbs[0].peek(b"s")
    (key, blob), = list(s.rdb_nodes())
    assert key == (1).to_bytes(8, "big") + (1).to_bytes(8, "big")
    assert blob[-1] == 0xFF and int.from_bytes(blob[:4], "little") == len(blob)
    assert s.length == 1 and s.last_id == (1, 1) and s.first_id == (1, 1)
    assert s.entries_added == 1 and s.max_deleted_entry_id == (0, 0)
    (g,) = s.groups()
    assert g.name == b"g" and g.last_id == (1, 1) and g.entries_read == 1
    (pel,) = list(g.rdb_pel())
    assert pel[0] == key and pel[2] == 1 and pel[3] == b"c"
    (cons,) = g.consumers()
    assert cons.name == b"c" and len(cons.pel) == 1
