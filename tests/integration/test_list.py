"""List commands through redis-py, looped over quicklist layouts.

In Redis 7.0 a list is always a quicklist; what the config changes is its
layout: ``list-max-listpack-size`` (entries or bytes per node) and
``list-compress-depth`` (LZF-compressed interior nodes).  The ``layout``
fixture runs each test under several layouts, from one element per node with
compression to the default, so every command crosses node boundaries,
compressed nodes and plain ones.  Non-blocking commands only; blocking ones are
in test_blocking.py.
"""
from __future__ import annotations

import os
import sys

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from inproc import QuietLog  # noqa: E402
from rawclient import RawClient  # noqa: E402

LAYOUTS = [(-2, 0), (1, 0), (3, 1), (2, 2), (-1, 1)]


@pytest.fixture(params=LAYOUTS, ids=lambda p: f"fill{p[0]}_depth{p[1]}")
def lr(request, r):
    fill, depth = request.param
    old = r.config_get("list-max-listpack-size")["list-max-listpack-size"]
    old_depth = r.config_get("list-compress-depth")["list-compress-depth"]
    r.config_set("list-max-listpack-size", fill)
    r.config_set("list-compress-depth", depth)
    yield r
    r.config_set("list-max-listpack-size", old)
    r.config_set("list-compress-depth", old_depth)


def vals(*xs):
    return [x.encode() if isinstance(x, str) else x for x in xs]


# -- push / length / range ------------------------------------------------------
def test_push_and_range(lr):
    assert lr.rpush("l", "a", "b", "c") == 3
    assert lr.lpush("l", "x", "y") == 5
    assert lr.lrange("l", 0, -1) == vals("y", "x", "a", "b", "c")
    assert lr.llen("l") == 5
    assert lr.lrange("l", 1, 2) == vals("x", "a")
    assert lr.lrange("l", -2, -1) == vals("b", "c")
    assert lr.lrange("l", -100, 100) == vals("y", "x", "a", "b", "c")
    assert lr.lrange("l", 3, 1) == []
    assert lr.lrange("l", 5, 10) == []
    assert lr.lrange("l", 0, -6) == []
    assert lr.lrange("nokey", 0, -1) == []
    assert lr.llen("nokey") == 0
    assert lr.object("encoding", "l") == b"quicklist"
    assert lr.type("l") == b"list"


def test_many_elements_across_nodes(lr):
    n = 500
    lr.rpush("l", *range(n))
    lr.lpush("l", *(f"h{i}" for i in range(n)))
    expected = [f"h{i}".encode() for i in reversed(range(n))] + [str(i).encode() for i in range(n)]
    assert lr.llen("l") == 2 * n
    assert lr.lrange("l", 0, -1) == expected
    assert lr.lrange("l", 250, 749) == expected[250:750]
    for i in (0, 1, 499, 500, 999, -1, -1000):
        assert lr.lindex("l", i) == expected[i]
    assert lr.lindex("l", 1000) is None
    assert lr.lindex("l", -1001) is None


def test_binary_and_integer_values(lr):
    items = [b"", b"\x00\xff\r\n", b"123", b"-0", b"0123", b"-9223372036854775808",
             b"9223372036854775808", b" 1", b"x" * 70, b"y" * 5000, b"+5", b"1.5"]
    lr.rpush("l", *items)
    assert lr.lrange("l", 0, -1) == items
    assert [lr.lindex("l", i) for i in range(len(items))] == items
    assert lr.lpos("l", b"123") == 2
    assert lr.lpos("l", b"-0") == 3
    assert lr.lpos("l", b"0") is None


def test_pushx(lr):
    assert lr.lpushx("l", "a") == 0
    assert lr.rpushx("l", "a", "b") == 0
    assert not lr.exists("l")
    lr.rpush("l", "m")
    assert lr.lpushx("l", "a", "b") == 3
    assert lr.rpushx("l", "y", "z") == 5
    assert lr.lrange("l", 0, -1) == vals("b", "a", "m", "y", "z")


def test_linsert(lr):
    assert lr.linsert("l", "before", "a", "x") == 0
    lr.rpush("l", "a", "b", "c", "b")
    assert lr.linsert("l", "before", "b", "x") == 5
    assert lr.linsert("l", "after", "b", "y") == 6
    assert lr.linsert("l", "AFTER", "c", "z") == 7
    assert lr.linsert("l", "before", "a", "0") == 8
    assert lr.linsert("l", "before", "nope", "q") == -1
    assert lr.lrange("l", 0, -1) == vals("0", "a", "x", "b", "y", "c", "z", "b")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        lr.execute_command("LINSERT", "l", "middle", "a", "x")


def test_lindex_lset(lr):
    lr.rpush("l", *range(20))
    assert lr.lindex("l", 0) == b"0"
    assert lr.lindex("l", -1) == b"19"
    assert lr.lindex("l", 20) is None
    assert lr.lindex("nokey", 0) is None
    assert lr.lset("l", 0, "first")
    assert lr.lset("l", -1, "last")
    assert lr.lset("l", 10, "x" * 100)
    assert lr.lindex("l", 0) == b"first"
    assert lr.lindex("l", 19) == b"last"
    assert lr.lindex("l", 10) == b"x" * 100
    with pytest.raises(redis.ResponseError, match="index out of range"):
        lr.lset("l", 20, "v")
    with pytest.raises(redis.ResponseError, match="no such key"):
        lr.lset("nokey", 0, "v")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        lr.execute_command("LINDEX", "l", "x")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        lr.execute_command("LSET", "l", "1.0", "v")


def test_ltrim(lr):
    lr.rpush("l", *range(10))
    assert lr.ltrim("l", 2, -3)
    assert lr.lrange("l", 0, -1) == vals(*map(str, range(2, 8)))
    assert lr.ltrim("l", -100, 100)
    assert lr.llen("l") == 6
    assert lr.ltrim("l", 1, 1)
    assert lr.lrange("l", 0, -1) == [b"3"]
    assert lr.ltrim("l", 5, 1)
    assert not lr.exists("l")
    assert lr.ltrim("nokey", 0, 1)


def test_lrem(lr):
    lr.rpush("l", "a", "b", "a", "c", "a", "b", "a")
    assert lr.lrem("l", 2, "a") == 2
    assert lr.lrange("l", 0, -1) == vals("b", "c", "a", "b", "a")
    assert lr.lrem("l", -1, "a") == 1
    assert lr.lrange("l", 0, -1) == vals("b", "c", "a", "b")
    assert lr.lrem("l", 0, "b") == 2
    assert lr.lrem("l", 0, "zz") == 0
    assert lr.lrange("l", 0, -1) == vals("c", "a")
    assert lr.lrem("l", 0, "c") == 1
    assert lr.lrem("l", 0, "a") == 1
    assert not lr.exists("l")
    assert lr.lrem("nokey", 0, "a") == 0
    lr.rpush("l", *(["x", "y"] * 50))
    assert lr.lrem("l", -9223372036854775808, "x") == 50
    assert lr.llen("l") == 50


def test_lpos(lr):
    lr.rpush("l", "a", "b", "c", "a", "b", "a", "d")
    assert lr.lpos("l", "a") == 0
    assert lr.lpos("l", "d") == 6
    assert lr.lpos("l", "zz") is None
    assert lr.lpos("nokey", "a") is None
    assert lr.lpos("l", "a", rank=2) == 3
    assert lr.lpos("l", "a", rank=-1) == 5
    assert lr.lpos("l", "a", rank=-3) == 0
    assert lr.lpos("l", "a", rank=4) is None
    assert lr.lpos("l", "a", count=0) == [0, 3, 5]
    assert lr.lpos("l", "a", count=2) == [0, 3]
    assert lr.lpos("l", "a", count=2, rank=-1) == [5, 3]
    assert lr.lpos("l", "a", count=0, maxlen=4) == [0, 3]
    assert lr.lpos("l", "a", rank=-1, maxlen=1) is None
    assert lr.lpos("l", "a", rank=-1, maxlen=2) == 5
    assert lr.lpos("l", "zz", count=3) == []
    assert lr.lpos("nokey", "a", count=3) == []
    assert lr.execute_command("LPOS", "l", "a", "RANK", "-9223372036854775808") == 5
    assert lr.execute_command("LPOS", "l", "a", "RANK", "-9223372036854775808",
                              "COUNT", "1") == [5, 3, 0]
    with pytest.raises(redis.ResponseError, match="RANK can't be zero"):
        lr.lpos("l", "a", rank=0)
    with pytest.raises(redis.ResponseError, match="COUNT can't be negative"):
        lr.lpos("l", "a", count=-1)
    with pytest.raises(redis.ResponseError, match="MAXLEN can't be negative"):
        lr.lpos("l", "a", maxlen=-1)
    with pytest.raises(redis.ResponseError, match="syntax error"):
        lr.execute_command("LPOS", "l", "a", "COUNT")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        lr.execute_command("LPOS", "l", "a", "FOO", "1")


def test_pop(lr):
    lr.rpush("l", *range(10))
    assert lr.lpop("l") == b"0"
    assert lr.rpop("l") == b"9"
    assert lr.lpop("l", 3) == vals("1", "2", "3")
    assert lr.rpop("l", 2) == vals("8", "7")
    assert lr.lpop("l", 0) == []
    assert lr.rpop("l", 100) == vals("6", "5", "4")
    assert not lr.exists("l")
    assert lr.lpop("l") is None
    assert lr.lpop("l", 2) is None
    assert lr.lpop("l", 0) is None
    with pytest.raises(redis.ResponseError, match="must be positive"):
        lr.lpop("l", -1)
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'lpop'"):
        lr.execute_command("LPOP", "l", "1", "2")


def test_null_replies_resp2_resp3(server):
    """LPOP with a count: null array on a missing key, empty array for 0;
    LPOS/LINDEX/LPOP without count: null bulk.  Byte-exact in both protocols."""
    expected = {
        2: [b"*-1\r\n", b"$-1\r\n", b"$-1\r\n", b"$-1\r\n", b"*0\r\n", b"*-1\r\n"],
        3: [b"_\r\n", b"_\r\n", b"_\r\n", b"_\r\n", b"*0\r\n", b"_\r\n"],
    }
    for proto in (2, 3):
        c = RawClient(server.host, server.port)
        try:
            if proto == 3:
                c.call("HELLO", "3")
            c.call("DEL", "nl", "l")
            got = [c.call("LPOP", "nl", "2"), c.call("LPOP", "nl"), c.call("LPOS", "nl", "a"),
                   c.call("LINDEX", "nl", "0")]
            c.call("RPUSH", "l", "a")
            got += [c.call("LPOP", "l", "0"), c.call("LMPOP", "1", "nl", "LEFT")]
            assert got == expected[proto]
        finally:
            c.call("DEL", "l")
            c.close()


def test_lmove_and_rpoplpush(lr):
    lr.rpush("src", "a", "b", "c")
    assert lr.lmove("src", "dst", "LEFT", "RIGHT") == b"a"
    assert lr.lmove("src", "dst", "RIGHT", "LEFT") == b"c"
    assert lr.lrange("dst", 0, -1) == vals("c", "a")
    assert lr.rpoplpush("src", "dst") == b"b"
    assert not lr.exists("src")
    assert lr.lrange("dst", 0, -1) == vals("b", "c", "a")
    assert lr.lmove("src", "dst", "LEFT", "LEFT") is None
    assert lr.rpoplpush("src", "dst") is None
    # Rotation on the same key, including a one-element list.
    assert lr.lmove("dst", "dst", "LEFT", "RIGHT") == b"b"
    assert lr.lrange("dst", 0, -1) == vals("c", "a", "b")
    assert lr.rpoplpush("dst", "dst") == b"b"
    assert lr.lrange("dst", 0, -1) == vals("b", "c", "a")
    lr.rpush("one", "x")
    assert lr.lmove("one", "one", "RIGHT", "LEFT") == b"x"
    assert lr.lrange("one", 0, -1) == [b"x"]
    with pytest.raises(redis.ResponseError, match="syntax error"):
        lr.execute_command("LMOVE", "dst", "x", "UP", "LEFT")
    lr.set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        lr.lmove("dst", "str", "LEFT", "LEFT")
    assert lr.llen("dst") == 3           # nothing popped on the error


def test_lmpop(lr):
    lr.rpush("b", *range(5))
    assert lr.lmpop(2, "a", "b", direction="LEFT") == [b"b", [b"0"]]
    assert lr.lmpop(2, "a", "b", direction="RIGHT", count=2) == [b"b", [b"4", b"3"]]
    assert lr.lmpop(1, "b", direction="LEFT", count=10) == [b"b", [b"1", b"2"]]
    assert not lr.exists("b")
    assert lr.lmpop(2, "a", "b", direction="LEFT") is None
    for args, msg in ((["0", "a", "LEFT"], "numkeys should be greater than 0"),
                      (["x", "a", "LEFT"], "numkeys should be greater than 0"),
                      (["2", "a", "LEFT"], "syntax error"),
                      (["1", "a", "UP"], "syntax error"),
                      (["1", "a", "LEFT", "COUNT", "0"], "count should be greater than 0"),
                      (["1", "a", "LEFT", "COUNT", "1", "COUNT", "1"], "syntax error")):
        with pytest.raises(redis.ResponseError, match=msg):
            lr.execute_command("LMPOP", *args)


def test_wrongtype_everywhere(r):
    r.set("s", "v")
    r.rpush("l", "a")
    calls = [("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"),
             ("RPUSHX", "s", "a"), ("LINSERT", "s", "BEFORE", "a", "b"), ("LLEN", "s"),
             ("LINDEX", "s", "0"), ("LSET", "s", "0", "a"), ("LRANGE", "s", "0", "-1"),
             ("LTRIM", "s", "0", "1"), ("LREM", "s", "0", "a"), ("LPOS", "s", "a"),
             ("LPOP", "s"), ("RPOP", "s", "2"), ("LMOVE", "s", "l", "LEFT", "LEFT"),
             ("LMOVE", "l", "s", "LEFT", "LEFT"), ("RPOPLPUSH", "s", "l"),
             ("RPOPLPUSH", "l", "s"), ("LMPOP", "2", "nokey", "s", "LEFT"),
             ("BLPOP", "nokey", "s", "0"), ("BRPOP", "s", "0"),
             ("BLMOVE", "s", "l", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "l", "s", "0"),
             ("BLMPOP", "0", "1", "s", "LEFT")]
    for call in calls:
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            r.execute_command(*call)
    assert r.lrange("l", 0, -1) == [b"a"]
    assert r.get("s") == b"v"


def test_empty_list_is_deleted(lr):
    for pop in (lambda: lr.lpop("l"), lambda: lr.rpop("l", 5), lambda: lr.lrem("l", 0, "a"),
                lambda: lr.ltrim("l", 1, 0), lambda: lr.lmove("l", "other", "LEFT", "LEFT"),
                lambda: lr.lmpop(1, "l", direction="LEFT")):
        lr.rpush("l", "a")
        pop()
        assert not lr.exists("l")


def test_config_applies_to_new_lists(r):
    r.config_set("list-max-listpack-size", 2)
    try:
        r.rpush("l", *range(100))
        assert r.lrange("l", 0, -1) == [str(i).encode() for i in range(100)]
        assert r.object("encoding", "l") == b"quicklist"
    finally:
        r.config_set("list-max-listpack-size", -2)
    r.rpush("l", *range(100))
    assert r.llen("l") == 200


def test_copy_is_independent(r):
    r.rpush("l", "a", "b")
    try:
        assert r.copy("l", "l2")
    except redis.ResponseError:
        pytest.skip("COPY not available")
    r.rpush("l2", "c")
    assert r.lrange("l", 0, -1) == [b"a", b"b"]
    assert r.lrange("l2", 0, -1) == [b"a", b"b", b"c"]


def test_arity_errors(r):
    for cmd in (("LPUSH", "l"), ("LRANGE", "l", "0"), ("LINSERT", "l", "before", "a"),
                ("LMOVE", "a", "b", "LEFT"), ("LMPOP", "1", "a"), ("BLPOP", "l"),
                ("BLMPOP", "0", "1", "a")):
        with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
            r.execute_command(*cmd)


def test_keyspace_events_in_process():
    """The events Redis 7.0 emits for the same sequence (checked against
    redis-server with notify-keyspace-events KEA)."""
    from omakase.config import Config
    from omakase.networking import Client
    from omakase.server import Server

    srv = Server(Config(), logger=QuietLog())
    events: list[tuple[str, str]] = []
    srv.notify_hook = lambda flag, event, key, dbid: events.append((key.decode(), event))
    c = Client(srv, None)
    cmds = [("RPUSH", "l", "a", "b", "c"), ("LPUSH", "l", "z"), ("LPUSHX", "l", "y"),
            ("LINSERT", "l", "BEFORE", "a", "q"), ("LINSERT", "l", "BEFORE", "nope", "q"),
            ("LSET", "l", "0", "w"), ("LTRIM", "l", "0", "4"), ("LREM", "l", "0", "q"),
            ("LREM", "l", "0", "nope"), ("LPOP", "l"), ("RPOP", "l", "2"),
            ("LMOVE", "l", "m", "LEFT", "RIGHT"), ("RPUSH", "x", "1"), ("RPOPLPUSH", "x", "x"),
            ("LMPOP", "1", "x", "LEFT"), ("LTRIM", "m", "1", "0"), ("RPUSH", "l2", "1"),
            ("LPOP", "l2", "0"), ("BLPOP", "m", "l2", "0")]
    for cmd in cmds:
        srv.process_command(c, [a.encode() for a in cmd])
        assert not any(x.startswith(b"-") for x in c.reply), (cmd, c.reply)
        c.reply = []
    assert events == [
        ("l", "rpush"), ("l", "lpush"), ("l", "lpush"), ("l", "linsert"), ("l", "lset"),
        ("l", "ltrim"), ("l", "lrem"), ("l", "lpop"), ("l", "rpop"), ("m", "rpush"),
        ("l", "lpop"), ("l", "del"), ("x", "rpush"), ("x", "lpush"), ("x", "rpop"),
        ("x", "lpop"), ("x", "del"), ("m", "ltrim"), ("m", "del"), ("l2", "rpush"),
        ("l2", "lpop"), ("l2", "del")]
