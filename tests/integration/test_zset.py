"""Sorted-set commands through redis-py, looped over both encodings.

The ``enc`` fixture runs a test twice: once with the default thresholds
(small sorted sets are listpacks) and once with ``zset-max-listpack-entries
0`` (every sorted set is a skiplist); ``make`` checks that the key really has
the encoding under test.  Encoding transitions, RESP3 reply shapes (raw
bytes), blocking commands and every error are tested separately.  Every
assertion is Redis 7.0's behaviour: the file also passes with
``--redis-url`` pointed at Debian's redis-server 7.0 (ZSCAN is only checked
for its guarantees, not its cursors).
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time

import pytest
from redis.exceptions import ResponseError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import raw_reply as raw  # noqa: E402
from rawclient import RawClient  # noqa: E402

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "syntax error"
NOT_INT = "value is not an integer or out of range"
NOT_FLOAT = "value is not a valid float"
MINMAX = "min or max is not a float"
MINMAX_LEX = "min or max not valid string range item"

ENCODINGS = {
    "listpack": ("128", "64"),
    "skiplist": ("0", "64"),
}


def err(r, *args) -> str:
    with pytest.raises(ResponseError) as exc:
        raw(r, *args)
    return str(exc.value)


def set_limits(r, entries, value) -> None:
    r.config_set("zset-max-listpack-entries", entries)
    r.config_set("zset-max-listpack-value", value)


@pytest.fixture
def limits(r):
    """Restore the default thresholds after a test that changes them."""
    yield r
    set_limits(r, "128", "64")


@pytest.fixture(params=list(ENCODINGS))
def enc(request, r):
    set_limits(r, *ENCODINGS[request.param])
    yield request.param
    set_limits(r, "128", "64")


def make(r, enc, key, mapping) -> None:
    r.zadd(key, mapping)
    assert r.object("encoding", key) == enc.encode()


@pytest.fixture
def rc(server):
    """Raw byte clients (RESP2, RESP3) for exact reply shapes."""
    a = RawClient(server.host, server.port)
    b = RawClient(server.host, server.port)
    b.call("HELLO", "3")
    yield a, b
    a.close()
    b.close()


# ---------------------------------------------------------------------------
# ZADD / ZINCRBY
# ---------------------------------------------------------------------------
def test_zadd_basic(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2})
    assert raw(r, "ZADD", "z", "3", "c", "1", "a") == 1
    assert raw(r, "ZADD", "z", "5", "a") == 0
    assert r.zrange("z", 0, -1, withscores=True) == [(b"b", 2), (b"c", 3), (b"a", 5)]
    assert r.zcard("z") == 3
    assert r.type("z") == b"zset"


def test_zadd_options(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2})
    assert raw(r, "ZADD", "z", "NX", "10", "a", "3", "c") == 1
    assert r.zscore("z", "a") == 1
    assert raw(r, "ZADD", "z", "XX", "10", "a", "4", "d") == 0
    assert r.zscore("z", "a") == 10 and r.zscore("z", "d") is None
    assert raw(r, "ZADD", "z", "XX", "CH", "11", "a", "2", "b") == 1
    assert raw(r, "ZADD", "z", "GT", "CH", "5", "a", "5", "b") == 1      # only b grows
    assert r.zscore("z", "a") == 11 and r.zscore("z", "b") == 5
    assert raw(r, "ZADD", "z", "LT", "CH", "12", "a", "1", "b", "7", "e") == 2
    assert r.zscore("z", "a") == 11 and r.zscore("z", "b") == 1 and r.zscore("z", "e") == 7
    assert raw(r, "ZADD", "z", "xx", "gt", "ch", "20", "a", "0", "b") == 1
    assert raw(r, "ZADD", "z", "ch", "20", "a") == 0                     # same score
    assert raw(r, "ZADD", "nokey", "XX", "1", "a") == 0
    assert r.exists("nokey") == 0


def test_zadd_incr(r, enc):
    make(r, enc, "z", {"a": 1})
    assert raw(r, "ZADD", "z", "INCR", "2.5", "a") == b"3.5"
    assert raw(r, "ZADD", "z", "INCR", "1", "new") == b"1"
    assert raw(r, "ZADD", "z", "INCR", "NX", "1", "a") is None
    assert raw(r, "ZADD", "z", "INCR", "XX", "1", "zz") is None
    assert raw(r, "ZADD", "z", "INCR", "GT", "-1", "a") is None
    assert raw(r, "ZADD", "z", "INCR", "LT", "-1", "a") == b"2.5"
    assert raw(r, "ZADD", "z", "INCR", "LT", "0", "a") is None
    assert raw(r, "ZADD", "nokey", "INCR", "XX", "1", "a") is None


def test_zincrby(r, enc):
    make(r, enc, "z", {"a": 1})
    assert raw(r, "ZINCRBY", "z", "2", "a") == b"3"
    assert raw(r, "ZINCRBY", "z", "0.1", "a") == b"3.1000000000000001"
    assert raw(r, "ZINCRBY", "z", "-3.1", "b") == b"-3.1000000000000001"
    assert raw(r, "ZINCRBY", "z", "inf", "a") == b"inf"
    assert err(r, "ZINCRBY", "z", "-inf", "a") == "resulting score is not a number (NaN)"
    assert err(r, "ZADD", "z", "INCR", "-inf", "a") == "resulting score is not a number (NaN)"
    assert r.zscore("z", "a") == math.inf
    assert err(r, "ZINCRBY", "z", "x", "a") == NOT_FLOAT
    assert err(r, "ZINCRBY", "z", "nan", "a") == NOT_FLOAT
    assert raw(r, "ZINCRBY", "new", "5", "m") == b"5"


def test_zadd_errors(r):
    assert err(r, "ZADD", "z", "NX", "XX", "1", "a") == \
        "XX and NX options at the same time are not compatible"
    for opts in (("GT", "LT"), ("NX", "GT"), ("LT", "NX")):
        assert err(r, "ZADD", "z", *opts, "1", "a") == \
            "GT, LT, and/or NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "INCR", "1", "a", "2", "b") == \
        "INCR option supports a single increment-element pair"
    assert err(r, "ZADD", "z", "1", "a", "2") == SYNTAX
    assert err(r, "ZADD", "z", "NX", "1") == SYNTAX
    assert err(r, "ZADD", "z") == "wrong number of arguments for 'zadd' command"
    for bad in ("x", "nan", "", " 1", "1 ", "1e400", "-1e400", "1e-400", "1_0", "0x"):
        assert err(r, "ZADD", "z", bad, "a") == NOT_FLOAT, bad
    # A bad score anywhere rejects the whole command.
    assert err(r, "ZADD", "z", "1", "a", "x", "b") == NOT_FLOAT
    assert r.exists("z") == 0


def test_zadd_score_parsing(r, enc):
    make(r, enc, "z", {"a": 1})
    for text, value in (("0x10", b"16"), ("-0x1p-2", b"-0.25"), ("1e3", b"1000"),
                        (".5", b"0.5"), ("+7", b"7"), ("-inf", b"-inf"), ("INF", b"inf"),
                        ("+Infinity", b"inf"), ("1e-310", b"9.9999999999999694e-311"),
                        ("0.1", b"0.10000000000000001"), ("1e20", b"1e+20"),
                        ("123456789012345678", b"1.2345678901234568e+17")):
        r.zadd("z", {"m": 0})
        raw(r, "ZADD", "z", text, "m")
        assert raw(r, "ZSCORE", "z", "m") == value, text


def test_negative_zero(r, enc):
    make(r, enc, "z", {"long-member": 1})
    raw(r, "ZADD", "z", "-0", "a")
    # A listpack stores -0 as the integer 0; a skiplist keeps the sign.
    expected = b"0" if enc == "listpack" else b"-0"
    assert raw(r, "ZSCORE", "z", "a") == expected
    assert raw(r, "ZADD", "z", "INCR", "-0", "new") == b"-0"


# ---------------------------------------------------------------------------
# ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK
# ---------------------------------------------------------------------------
def test_zrem(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2, "c": 3})
    assert r.zrem("z", "a", "x", "a") == 1
    assert r.zrange("z", 0, -1) == [b"b", b"c"]
    assert r.zrem("z", "b", "c", "d") == 2
    assert r.exists("z") == 0
    assert r.zrem("z", "a") == 0


def test_zscore_zmscore_zcard(r, enc):
    make(r, enc, "z", {"a": 1.5, "b": -2, "123": 7})
    assert raw(r, "ZSCORE", "z", "a") == b"1.5"
    assert raw(r, "ZSCORE", "z", "123") == b"7"
    assert raw(r, "ZSCORE", "z", "x") is None
    assert raw(r, "ZSCORE", "nokey", "x") is None
    assert raw(r, "ZMSCORE", "z", "a", "x", "b") == [b"1.5", None, b"-2"]
    assert raw(r, "ZMSCORE", "nokey", "a", "b") == [None, None]
    assert r.zcard("z") == 3 and r.zcard("nokey") == 0


def test_zrank(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2, "c": 3, "d": 3})
    assert [r.zrank("z", m) for m in "abcd"] == [0, 1, 2, 3]
    assert [r.zrevrank("z", m) for m in "abcd"] == [3, 2, 1, 0]
    assert r.zrank("z", "x") is None and r.zrank("nokey", "a") is None
    assert err(r, "ZRANK", "z", "a", "WITHSCORE") == \
        "wrong number of arguments for 'zrank' command"


# ---------------------------------------------------------------------------
# Ranges
# ---------------------------------------------------------------------------
def test_zrange_by_rank(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert r.zrange("z", 0, -1) == [b"a", b"b", b"c", b"d", b"e"]
    assert r.zrange("z", 1, 2) == [b"b", b"c"]
    assert r.zrange("z", -2, -1) == [b"d", b"e"]
    assert r.zrange("z", -100, 1) == [b"a", b"b"]
    assert r.zrange("z", 3, 100) == [b"d", b"e"]
    assert r.zrange("z", 3, 1) == [] and r.zrange("z", 5, 10) == []
    assert raw(r, "ZRANGE", "z", "0", "1", "REV") == [b"e", b"d"]
    assert raw(r, "ZREVRANGE", "z", "1", "2", "WITHSCORES") == [b"d", b"4", b"c", b"3"]
    assert raw(r, "ZRANGE", "z", "-1", "-1", "WITHSCORES") == [b"e", b"5"]
    assert raw(r, "ZRANGE", "z", "0", "1", "LIMIT", "5", "-1") == [b"a", b"b"]  # LIMIT 0 -1 ok
    assert raw(r, "ZRANGE", "nokey", "0", "-1") == []


def test_zrange_by_score(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": math.inf})
    assert raw(r, "ZRANGEBYSCORE", "z", "2", "4") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGEBYSCORE", "z", "(2", "(4") == [b"c"]
    assert raw(r, "ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2") == [b"b", b"c"]
    assert raw(r, "ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "4", "-1") == [b"e", b"f"]
    assert raw(r, "ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "-1", "5") == []
    assert raw(r, "ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "0", "0") == []
    assert raw(r, "ZRANGEBYSCORE", "z", "5", "(inf", "WITHSCORES") == [b"e", b"5"]
    assert raw(r, "ZRANGEBYSCORE", "z", "(5", "inf", "WITHSCORES") == [b"f", b"inf"]
    assert raw(r, "ZREVRANGEBYSCORE", "z", "4", "2") == [b"d", b"c", b"b"]
    assert raw(r, "ZREVRANGEBYSCORE", "z", "(4", "-inf", "LIMIT", "1", "1") == [b"b"]
    assert raw(r, "ZRANGE", "z", "(1", "3", "BYSCORE", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZRANGE", "z", "3", "(1", "BYSCORE", "REV") == [b"c", b"b"]
    assert raw(r, "ZRANGE", "z", "3", "1", "BYSCORE") == []
    assert raw(r, "ZRANGEBYSCORE", "z", "(3", "3") == []
    # strtod rules: "" and "(" are 0, leading spaces are fine.
    assert raw(r, "ZRANGEBYSCORE", "z", "", "(") == []
    assert raw(r, "ZRANGEBYSCORE", "z", " 2", "\t3") == [b"b", b"c"]
    assert raw(r, "ZRANGEBYSCORE", "z", "1e400", "inf") == [b"f"]
    assert raw(r, "ZCOUNT", "z", "(1", "5") == 4
    assert raw(r, "ZCOUNT", "z", "-inf", "+inf") == 6
    assert raw(r, "ZCOUNT", "z", "6", "1") == 0
    assert raw(r, "ZCOUNT", "nokey", "0", "1") == 0


def test_zrange_by_lex(r, enc):
    make(r, enc, "z", {m: 0 for m in ("a", "b", "c", "d", "e", "f", "g")})
    assert raw(r, "ZRANGEBYLEX", "z", "-", "+") == [b"a", b"b", b"c", b"d", b"e", b"f", b"g"]
    assert raw(r, "ZRANGEBYLEX", "z", "[b", "(e") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGEBYLEX", "z", "(b", "[e", "LIMIT", "1", "2") == [b"d", b"e"]
    assert raw(r, "ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "2", "3") == [b"e", b"d", b"c"]
    assert raw(r, "ZREVRANGEBYLEX", "z", "(f", "[b") == [b"e", b"d", b"c", b"b"]
    assert raw(r, "ZRANGE", "z", "[f", "(b", "BYLEX", "REV", "LIMIT", "0", "2") == [b"f", b"e"]
    assert raw(r, "ZRANGEBYLEX", "z", "+", "-") == []
    assert raw(r, "ZRANGEBYLEX", "z", "[c", "[c") == [b"c"]
    assert raw(r, "ZRANGEBYLEX", "z", "(c", "[c") == []
    assert raw(r, "ZRANGEBYLEX", "z", "[", "(b") == [b"a"]
    assert raw(r, "ZLEXCOUNT", "z", "[b", "[f") == 5
    assert raw(r, "ZLEXCOUNT", "z", "-", "+") == 7
    assert raw(r, "ZLEXCOUNT", "z", "(g", "+") == 0
    assert raw(r, "ZLEXCOUNT", "nokey", "-", "+") == 0


def test_zrange_errors(r):
    r.zadd("z", {"a": 1})
    assert err(r, "ZRANGE", "z", "0", "1", "LIMIT", "0", "1") == \
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert err(r, "ZRANGE", "z", "a", "b", "BYLEX", "WITHSCORES") == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(r, "ZREVRANGEBYLEX", "z", "+", "-", "WITHSCORES") == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"
    for args in (("0", "1", "REV", "REV"), ("0", "1", "BYSCORE", "BYLEX"),
                 ("0", "1", "LIMIT", "0"), ("0", "1", "foo")):
        assert err(r, "ZRANGE", "z", *args) == SYNTAX, args
    assert err(r, "ZREVRANGE", "z", "0", "1", "REV") == SYNTAX
    assert err(r, "ZRANGEBYSCORE", "z", "0", "1", "BYSCORE") == SYNTAX
    assert err(r, "ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES") == SYNTAX
    assert err(r, "ZRANGE", "z", "x", "1") == NOT_INT
    assert err(r, "ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1") == NOT_INT
    assert err(r, "ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "0", "1.5") == NOT_INT
    for a, b in (("x", "1"), ("1", "nan"), ("(", "((1"), ("1 ", "2"), ("  ", "1")):
        assert err(r, "ZRANGEBYSCORE", "z", a, b) == MINMAX, (a, b)
        assert err(r, "ZCOUNT", "z", a, b) == MINMAX
        assert err(r, "ZREMRANGEBYSCORE", "z", a, b) == MINMAX
    for a, b in (("a", "b"), ("-", "+x"), ("", "+"), ("[a", "b")):
        assert err(r, "ZRANGEBYLEX", "z", a, b) == MINMAX_LEX, (a, b)
        assert err(r, "ZLEXCOUNT", "z", a, b) == MINMAX_LEX
        assert err(r, "ZREMRANGEBYLEX", "z", a, b) == MINMAX_LEX
    # Argument errors come before the type check.
    r.set("s", "v")
    assert err(r, "ZRANGE", "s", "x", "1") == NOT_INT
    assert err(r, "ZRANGE", "s", "0", "1") == WRONGTYPE


def test_zrangestore(r, enc):
    make(r, enc, "src", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert raw(r, "ZRANGESTORE", "dst", "src", "1", "2") == 2
    assert r.zrange("dst", 0, -1, withscores=True) == [(b"b", 2), (b"c", 3)]
    assert raw(r, "ZRANGESTORE", "dst", "src", "0", "1", "REV") == 2
    assert r.zrange("dst", 0, -1, withscores=True) == [(b"c", 3), (b"d", 4)]
    assert raw(r, "ZRANGESTORE", "dst", "src", "(1", "3", "BYSCORE", "LIMIT", "1", "5") == 1
    assert r.zrange("dst", 0, -1) == [b"c"]
    assert raw(r, "ZRANGESTORE", "dst", "src", "[a", "[b", "BYLEX") == 2
    r.expire("dst", 100)
    assert raw(r, "ZRANGESTORE", "dst", "src", "5", "10") == 0
    assert r.exists("dst") == 0
    r.set("dst", "string")
    assert raw(r, "ZRANGESTORE", "dst", "src", "0", "0") == 1
    assert r.type("dst") == b"zset" and r.ttl("dst") == -1
    assert raw(r, "ZRANGESTORE", "dst", "nokey", "0", "-1") == 0
    assert r.exists("dst") == 0
    assert raw(r, "ZRANGESTORE", "src", "src", "0", "0") == 1     # dst == src
    assert r.zrange("src", 0, -1) == [b"a"]


def test_zremrange(r, enc):
    make(r, enc, "z", {m: i for i, m in enumerate("abcdefg")})
    assert r.zremrangebyrank("z", 1, 2) == 2
    assert r.zrange("z", 0, -1) == [b"a", b"d", b"e", b"f", b"g"]
    assert r.zremrangebyrank("z", -2, -1) == 2
    assert r.zremrangebyrank("z", 5, 10) == 0
    assert r.zremrangebyscore("z", "(3", "4") == 1
    assert r.zrange("z", 0, -1) == [b"a", b"d"]
    assert r.zremrangebyscore("z", "-inf", "inf") == 2
    assert r.exists("z") == 0
    make(r, enc, "z", {m: 0 for m in "abcde"})
    assert r.zremrangebylex("z", "(a", "[c") == 2
    assert r.zremrangebylex("z", "-", "+") == 3
    assert r.exists("z") == 0
    assert r.zremrangebyrank("nokey", 0, -1) == 0
    assert err(r, "ZREMRANGEBYRANK", "z", "x", "1") == NOT_INT


# ---------------------------------------------------------------------------
# ZPOPMIN / ZPOPMAX / ZMPOP / ZRANDMEMBER
# ---------------------------------------------------------------------------
def test_zpop(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert raw(r, "ZPOPMIN", "z") == [b"a", b"1"]
    assert raw(r, "ZPOPMAX", "z", "2") == [b"d", b"4", b"c", b"3"]
    assert raw(r, "ZPOPMIN", "z", "0") == []
    assert raw(r, "ZPOPMIN", "z", "10") == [b"b", b"2"]
    assert r.exists("z") == 0
    assert raw(r, "ZPOPMIN", "z") == [] and raw(r, "ZPOPMAX", "z", "3") == []
    assert err(r, "ZPOPMIN", "z", "-1") == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", "x") == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", "1", "2") == SYNTAX


def test_zmpop(r, enc):
    make(r, enc, "z2", {"a": 1, "b": 2, "c": 3})
    assert raw(r, "ZMPOP", "2", "z1", "z2", "MIN") == [b"z2", [[b"a", b"1"]]]
    assert raw(r, "ZMPOP", "2", "z1", "z2", "max", "COUNT", "5") == \
        [b"z2", [[b"c", b"3"], [b"b", b"2"]]]
    assert r.exists("z2") == 0
    assert raw(r, "ZMPOP", "2", "z1", "z2", "MIN") is None
    assert err(r, "ZMPOP", "0", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "x", "z", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "1", "z", "foo") == SYNTAX
    assert err(r, "ZMPOP", "2", "z", "MIN") == SYNTAX
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT", "0") == "count should be greater than 0"
    assert err(r, "ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1") == SYNTAX
    r.set("s", "v")
    assert err(r, "ZMPOP", "2", "nokey", "s", "MIN") == WRONGTYPE


def test_zrandmember(r, enc):
    members = {f"m{i}": i for i in range(20)}
    make(r, enc, "z", members)
    assert raw(r, "ZRANDMEMBER", "z") in [m.encode() for m in members]
    assert raw(r, "ZRANDMEMBER", "nokey") is None
    assert raw(r, "ZRANDMEMBER", "nokey", "5") == []
    assert raw(r, "ZRANDMEMBER", "z", "0") == []
    for count in (1, 5, 7, 19):
        got = raw(r, "ZRANDMEMBER", "z", str(count))
        assert len(got) == count == len(set(got))
        assert set(got) <= {m.encode() for m in members}
    # At least the cardinality: the whole set, highest score first.
    everything = raw(r, "ZRANDMEMBER", "z", "100", "WITHSCORES")
    assert everything == [x for i in reversed(range(20)) for x in (b"m%d" % i, b"%d" % i)]
    got = raw(r, "ZRANDMEMBER", "z", "-50", "WITHSCORES")
    assert len(got) == 100
    for m, s in zip(got[0::2], got[1::2]):
        assert members[m.decode()] == int(s)
    assert err(r, "ZRANDMEMBER", "z", "x") == NOT_INT
    assert err(r, "ZRANDMEMBER", "z", "1", "foo") == SYNTAX
    assert err(r, "ZRANDMEMBER", "z", "1", "WITHSCORES", "x") == SYNTAX
    assert err(r, "ZRANDMEMBER", "z", "-9223372036854775808") == \
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    assert err(r, "ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES") == \
        "value is out of range"


# ---------------------------------------------------------------------------
# ZUNION / ZINTER / ZDIFF and their STORE forms
# ---------------------------------------------------------------------------
def test_zunion_zinter_zdiff(r, enc):
    make(r, enc, "a", {"x": 1, "y": 2, "z": 3})
    make(r, enc, "b", {"y": 10, "z": 20, "w": 30})
    assert raw(r, "ZUNION", "2", "a", "b", "WITHSCORES") == \
        [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert raw(r, "ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX") == \
        [b"x", b"y", b"z", b"w"]
    assert raw(r, "ZINTER", "2", "a", "b", "AGGREGATE", "min", "WITHSCORES") == \
        [b"y", b"2", b"z", b"3"]
    assert raw(r, "ZINTER", "3", "a", "b", "nokey") == []
    assert raw(r, "ZDIFF", "2", "a", "b", "WITHSCORES") == [b"x", b"1"]
    assert raw(r, "ZDIFF", "2", "a", "a") == []
    assert raw(r, "ZDIFF", "1", "nokey") == []
    assert raw(r, "ZINTERCARD", "2", "a", "b") == 2
    assert raw(r, "ZINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert raw(r, "ZINTERCARD", "2", "a", "b", "LIMIT", "0") == 2
    assert raw(r, "ZUNIONSTORE", "d", "2", "a", "b") == 4
    assert r.zrange("d", 0, -1, withscores=True) == \
        [(b"x", 1), (b"y", 12), (b"z", 23), (b"w", 30)]
    assert raw(r, "ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1") == 2
    assert r.zrange("d", 0, -1, withscores=True) == [(b"z", -17), (b"y", -8)]
    assert raw(r, "ZDIFFSTORE", "d", "2", "b", "a") == 1
    assert r.zrange("d", 0, -1) == [b"w"]
    assert raw(r, "ZINTERSTORE", "d", "2", "a", "nokey") == 0
    assert r.exists("d") == 0


def test_zset_ops_inf_and_nan(r, enc):
    make(r, enc, "i", {"a": math.inf, "b": -math.inf, "c": 0})
    assert raw(r, "ZUNION", "2", "i", "i", "WEIGHTS", "0", "1", "WITHSCORES") == \
        [b"b", b"-inf", b"c", b"0", b"a", b"inf"]
    assert raw(r, "ZUNION", "2", "i", "i", "WEIGHTS", "1", "-1", "WITHSCORES") == \
        [b"a", b"0", b"b", b"0", b"c", b"0"]
    assert raw(r, "ZINTER", "2", "i", "i", "WEIGHTS", "1", "0", "AGGREGATE", "MIN",
               "WITHSCORES") == [b"b", b"-inf", b"c", b"0", b"a", b"inf"]
    make(r, enc, "j", {"a": 5, "b": 5})
    assert raw(r, "ZINTER", "2", "j", "i", "WEIGHTS", "1", "0", "WITHSCORES") == \
        [b"a", b"0", b"b", b"0"]


def test_zset_ops_with_sets(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2})
    r.sadd("s", "a", "b", "c")
    r.sadd("ints", 1, 2, 3)
    assert raw(r, "ZUNION", "2", "z", "s", "WITHSCORES") == \
        [b"c", b"1", b"a", b"2", b"b", b"3"]
    assert raw(r, "ZINTER", "2", "s", "z", "WEIGHTS", "3", "1", "WITHSCORES") == \
        [b"a", b"4", b"b", b"5"]
    assert raw(r, "ZDIFF", "2", "s", "z", "WITHSCORES") == [b"c", b"1"]
    assert raw(r, "ZUNION", "1", "ints", "WITHSCORES") == [b"1", b"1", b"2", b"1", b"3", b"1"]
    assert raw(r, "ZINTERCARD", "2", "s", "z") == 2


def test_zset_ops_errors(r):
    r.zadd("z", {"a": 1})
    for cmd, args in (("ZUNION", ("0", "z")), ("ZINTER", ("-1", "z")),
                      ("ZUNIONSTORE", ("d", "0", "z")), ("ZDIFFSTORE", ("d", "0", "z")),
                      ("ZINTERCARD", ("0", "z"))):
        assert err(r, cmd, *args) == \
            f"at least 1 input key is needed for '{cmd.lower()}' command"
    assert err(r, "ZUNION", "x", "z") == NOT_INT
    assert err(r, "ZUNION", "2", "z") == SYNTAX
    assert err(r, "ZUNION", "1", "z", "WEIGHTS", "x") == "weight value is not a float"
    assert err(r, "ZUNION", "1", "z", "WEIGHTS", "1", "2") == SYNTAX
    assert err(r, "ZUNION", "1", "z", "AGGREGATE", "avg") == SYNTAX
    assert err(r, "ZUNIONSTORE", "d", "1", "z", "WITHSCORES") == SYNTAX
    assert err(r, "ZDIFF", "1", "z", "WEIGHTS", "1") == SYNTAX
    assert err(r, "ZINTERCARD", "1", "z", "LIMIT", "-1") == "LIMIT can't be negative"
    assert err(r, "ZINTERCARD", "1", "z", "WITHSCORES") == SYNTAX
    r.set("s", "v")
    assert err(r, "ZUNION", "2", "nokey", "s") == WRONGTYPE
    # The type check comes before the options.
    assert err(r, "ZINTERCARD", "2", "s", "z", "LIMIT", "-1") == WRONGTYPE


# ---------------------------------------------------------------------------
# ZSCAN
# ---------------------------------------------------------------------------
def _full_scan(r, key, **kw):
    cursor, seen = 0, []
    while True:
        cursor, items = r.zscan(key, cursor, **kw)
        seen += items
        if cursor == 0:
            return seen


def test_zscan(r, enc):
    members = {f"m{i}": i / 2 for i in range(100)}
    make(r, enc, "z", members)
    got = _full_scan(r, "z")
    assert sorted(got) == sorted((m.encode(), s) for m, s in members.items())
    got = _full_scan(r, "z", match="m1*", count=5)
    assert sorted(m for m, _ in got) == sorted(m.encode() for m in members if m.startswith("m1"))
    assert raw(r, "ZSCAN", "nokey", "0") == [b"0", []]
    assert err(r, "ZSCAN", "z", "x") == "invalid cursor"
    assert err(r, "ZSCAN", "z", "0", "COUNT", "0") == SYNTAX
    assert err(r, "ZSCAN", "z", "0", "foo") == SYNTAX


def test_zscan_listpack_is_one_call(r):
    r.zadd("z", {"a": 1, "b": 2.5})
    assert raw(r, "ZSCAN", "z", "0", "COUNT", "1") == [b"0", [b"a", b"1", b"b", b"2.5"]]


def test_zscan_guarantee_under_writes(r, limits):
    """Members present for the whole scan are returned, even while other
    members are added and removed between calls."""
    set_limits(r, "0", "64")
    r.zadd("z", {f"keep{i}": i % 7 for i in range(300)})
    cursor, seen, i = 0, set(), 0
    while True:
        cursor, items = r.zscan("z", cursor, count=20)
        seen.update(m for m, _ in items)
        r.zadd("z", {f"new{i}": i % 5, f"tmp{i}": 3})
        r.zrem("z", f"tmp{i}", f"new{i - 3}")
        i += 1
        if cursor == 0:
            break
    assert {f"keep{i}".encode() for i in range(300)} <= seen


# ---------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------
def test_encoding_transitions(r, limits):
    set_limits(r, "4", "8")
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.object("encoding", "z") == b"listpack"
    r.zadd("z", {"a": 10})                         # updates never convert
    assert r.object("encoding", "z") == b"listpack"
    r.zadd("z", {"e": 5})
    assert r.object("encoding", "z") == b"skiplist"
    r.zrem("z", "a", "b", "c", "d")                # never back on shrink
    assert r.object("encoding", "z") == b"skiplist"
    r.zadd("v", {"short": 1})
    r.zadd("v", {"muchlonger": 2})                 # member longer than 8
    assert r.object("encoding", "v") == b"skiplist"
    r.zadd("w", {"muchlonger": 1})                 # created as skiplist
    assert r.object("encoding", "w") == b"skiplist"
    raw(r, "ZADD", "dup", "1", "a", "2", "a", "3", "a", "4", "a", "5", "a", "6", "a")
    assert r.object("encoding", "dup") == b"listpack"   # 7.0: no size hint
    raw(r, "ZINCRBY", "inc", "1", "0123456789")
    assert r.object("encoding", "inc") == b"skiplist"
    r.zadd("xx", {"a": 1})
    raw(r, "ZADD", "xx", "XX", "1", "b", "1", "c", "1", "d", "1", "e", "1", "f")
    assert r.object("encoding", "xx") == b"listpack"
    set_limits(r, "0", "8")
    r.zadd("zero", {"a": 1})
    assert r.object("encoding", "zero") == b"skiplist"


def test_encoding_of_stored_results(r, limits):
    set_limits(r, "2", "8")
    r.zadd("big", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.object("encoding", "big") == b"skiplist"
    for cmd in (("ZRANGESTORE", "d", "big", "0", "1"),
                ("ZRANGESTORE", "d", "big", "(1", "3", "BYSCORE"),
                ("ZUNIONSTORE", "d", "1", "big", "WEIGHTS", "0"),
                ("ZINTERSTORE", "d", "2", "big", "big")):
        raw(r, "DEL", "d")
        raw(r, *cmd)
        n = r.zcard("d")
        assert r.object("encoding", "d") == (b"listpack" if n <= 2 else b"skiplist"), cmd
    raw(r, "ZRANGESTORE", "small", "big", "0", "1")
    assert r.object("encoding", "small") == b"listpack"      # back to listpack
    raw(r, "ZUNIONSTORE", "u", "1", "small")
    assert r.object("encoding", "u") == b"listpack"
    r.zadd("long", {"a-long-member": 1})
    raw(r, "ZUNIONSTORE", "u", "1", "long")
    assert r.object("encoding", "u") == b"skiplist"
    raw(r, "ZRANGESTORE", "u", "long", "0", "-1")
    assert r.object("encoding", "u") == b"skiplist"


def test_conversion_keeps_content(r, limits):
    set_limits(r, "16", "64")
    data = {f"m{i}": (i * 7919) % 101 / 3 for i in range(16)}
    data.update({"123": -1, "-5": 2.5, "": 0, "x" * 40: 1e20})
    r.zadd("z", dict(list(data.items())[:16]))
    before = r.zrange("z", 0, -1, withscores=True)
    assert r.object("encoding", "z") == b"listpack"
    r.zadd("z", dict(list(data.items())[16:]))
    assert r.object("encoding", "z") == b"skiplist"
    after = r.zrange("z", 0, -1, withscores=True)
    assert sorted(before + [(m.encode(), s) for m, s in list(data.items())[16:]],
                  key=lambda p: (p[1], p[0])) == after


def test_copy_keeps_encoding(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2})
    assert r.copy("z", "z2") == 1
    assert r.object("encoding", "z2") == enc.encode()
    r.zadd("z", {"c": 3})
    assert r.zrange("z2", 0, -1, withscores=True) == [(b"a", 1), (b"b", 2)]


def test_digest_same_for_both_encodings(r, limits):
    r.zadd("lp", {"a": 1.5, "b": -2, "c": math.inf})
    set_limits(r, "0", "64")
    r.zadd("sl", {"a": 1.5, "b": -2, "c": math.inf})
    assert r.object("encoding", "sl") == b"skiplist"
    assert raw(r, "DEBUG", "DIGEST-VALUE", "lp") == raw(r, "DEBUG", "DIGEST-VALUE", "sl")


# ---------------------------------------------------------------------------
# RESP3 reply shapes (raw bytes)
# ---------------------------------------------------------------------------
def test_resp3_shapes(rc):
    a, b = rc
    a.call("ZADD", "z", "1", "a", "2.5", "b", "3", "c")
    assert b.call("ZSCORE", "z", "b") == b",2.5\r\n"
    assert a.call("ZSCORE", "z", "b") == b"$3\r\n2.5\r\n"
    assert b.call("ZSCORE", "z", "x") == b"_\r\n"
    assert b.call("ZRANGE", "z", "0", "0", "WITHSCORES") == b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    assert a.call("ZRANGE", "z", "0", "0", "WITHSCORES") == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert b.call("ZRANGE", "z", "0", "0") == b"*1\r\n$1\r\na\r\n"
    assert b.call("ZPOPMIN", "z") == b"*2\r\n$1\r\na\r\n,1\r\n"
    assert b.call("ZPOPMIN", "z", "1") == b"*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    assert b.call("ZMPOP", "1", "z", "MAX") == b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    assert b.call("ZMPOP", "1", "z", "MAX") == b"_\r\n"
    assert a.call("ZMPOP", "1", "z", "MAX") == b"*-1\r\n"
    a.call("ZADD", "z", "inf", "a", "-inf", "b")
    assert b.call("ZUNION", "1", "z", "WITHSCORES") == \
        b"*2\r\n*2\r\n$1\r\nb\r\n,-inf\r\n*2\r\n$1\r\na\r\n,inf\r\n"
    assert b.call("ZRANDMEMBER", "z", "5", "WITHSCORES") == \
        b"*2\r\n*2\r\n$1\r\na\r\n,inf\r\n*2\r\n$1\r\nb\r\n,-inf\r\n"
    assert b.call("ZADD", "z", "INCR", "1", "a") == b",inf\r\n"
    assert b.call("ZADD", "z", "XX", "INCR", "1", "nope") == b"_\r\n"
    assert b.call("BZPOPMAX", "z", "0") == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,inf\r\n"


# ---------------------------------------------------------------------------
# Blocking commands
# ---------------------------------------------------------------------------
def test_bzpop_immediate(r, enc):
    make(r, enc, "z", {"a": 1, "b": 2, "c": 3})
    assert raw(r, "BZPOPMIN", "nokey", "z", "0") == [b"z", b"a", b"1"]
    assert raw(r, "BZPOPMAX", "z", "0") == [b"z", b"c", b"3"]
    assert raw(r, "BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "5") == [b"z", [[b"b", b"2"]]]
    assert r.exists("z") == 0


def test_bzpop_timeout_and_errors(r):
    start = time.time()
    assert raw(r, "BZPOPMIN", "nokey", "0.05") is None
    assert raw(r, "BZMPOP", "0.05", "1", "nokey", "MAX") is None
    assert time.time() - start >= 0.09
    assert err(r, "BZPOPMIN", "z", "-1") == "timeout is negative"
    assert err(r, "BZPOPMIN", "z", "inf") == "timeout is negative"
    assert err(r, "BZPOPMIN", "z", "x") == "timeout is not a float or out of range"
    assert err(r, "BZMPOP", "x", "1", "z", "MIN") == "timeout is not a float or out of range"
    assert err(r, "BZMPOP", "0", "1", "z", "MIN", "COUNT", "0") == "count should be greater than 0"
    assert err(r, "BZMPOP", "0", "0", "z", "MIN") == "numkeys should be greater than 0"
    r.set("s", "v")
    assert err(r, "BZPOPMIN", "nokey", "s", "0") == WRONGTYPE


def test_bzpop_in_multi_does_not_block(r):
    r.zadd("z", {"a": 1})
    p = r.pipeline(transaction=True)
    p.execute_command("BZPOPMIN", "nokey", "0")
    p.execute_command("BZMPOP", "0", "1", "nokey", "MIN")
    p.execute_command("BZPOPMIN", "z", "0")
    assert p.execute() == [None, None, (b"z", b"a", 1.0)]


def _blocked(server, *args):
    """Run a blocking command in a thread; returns (thread, result list)."""
    c = server.client()
    out: list = []

    def run():
        try:
            out.append(raw(c, *args))
        except Exception as exc:  # pragma: no cover - reported by the test
            out.append(exc)
        finally:
            c.close()
    t = threading.Thread(target=run)
    t.start()
    return t, out


def _wait_blocked(r, n):
    deadline = time.time() + 5
    while time.time() < deadline:
        if r.info("clients")["blocked_clients"] >= n:
            return
        time.sleep(0.01)
    raise AssertionError("clients did not block")


def test_bzpop_served_by_zadd(server, r, enc):
    t1, out1 = _blocked(server, "BZPOPMIN", "k1", "k2", "5")
    _wait_blocked(r, 1)
    t2, out2 = _blocked(server, "BZMPOP", "5", "2", "k3", "k2", "MAX", "COUNT", "2")
    _wait_blocked(r, 2)
    r.zadd("k2", {"a": 1, "b": 2, "c": 3, "d": 4})
    t1.join(5)
    t2.join(5)
    assert out1 == [[b"k2", b"a", b"1"]]                # first come, first served
    assert out2 == [[b"k2", [[b"d", b"4"], [b"c", b"3"]]]]
    assert r.zrange("k2", 0, -1) == [b"b"]


def test_bzpop_waits_through_wrong_type(server, r):
    t, out = _blocked(server, "BZPOPMAX", "k", "5")
    _wait_blocked(r, 1)
    r.set("k", "string")
    time.sleep(0.1)
    assert out == []
    r.delete("k")
    r.zadd("k", {"x": 7})
    t.join(5)
    assert out == [[b"k", b"x", b"7"]]
    assert r.exists("k") == 0


def test_bzpop_served_by_zunionstore(server, r):
    r.zadd("src", {"m": 2})
    t, out = _blocked(server, "BZPOPMIN", "dst", "5")
    _wait_blocked(r, 1)
    raw(r, "ZUNIONSTORE", "dst", "1", "src")
    t.join(5)
    assert out == [[b"dst", b"m", b"2"]]


# ---------------------------------------------------------------------------
# WRONGTYPE everywhere
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ("ZADD", "s", "1", "a"), ("ZINCRBY", "s", "1", "a"), ("ZREM", "s", "a"),
    ("ZCARD", "s"), ("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a"), ("ZRANK", "s", "a"),
    ("ZREVRANK", "s", "a"), ("ZCOUNT", "s", "0", "1"), ("ZLEXCOUNT", "s", "-", "+"),
    ("ZRANGE", "s", "0", "1"), ("ZRANGESTORE", "d", "s", "0", "1"),
    ("ZREVRANGE", "s", "0", "1"), ("ZRANGEBYSCORE", "s", "0", "1"),
    ("ZREVRANGEBYSCORE", "s", "1", "0"), ("ZRANGEBYLEX", "s", "-", "+"),
    ("ZREVRANGEBYLEX", "s", "+", "-"), ("ZREMRANGEBYRANK", "s", "0", "1"),
    ("ZREMRANGEBYSCORE", "s", "0", "1"), ("ZREMRANGEBYLEX", "s", "-", "+"),
    ("ZPOPMIN", "s"), ("ZPOPMAX", "s", "0"), ("ZMPOP", "1", "s", "MIN"),
    ("ZRANDMEMBER", "s"), ("ZRANDMEMBER", "s", "0"), ("ZUNION", "1", "s"),
    ("ZINTER", "1", "s"), ("ZDIFF", "1", "s"), ("ZUNIONSTORE", "d", "1", "s"),
    ("ZINTERSTORE", "d", "1", "s"), ("ZDIFFSTORE", "d", "1", "s"),
    ("ZINTERCARD", "1", "s"), ("ZSCAN", "s", "0"), ("BZPOPMIN", "s", "0"),
    ("BZPOPMAX", "s", "0"), ("BZMPOP", "0", "1", "s", "MAX"),
])
def test_wrongtype(r, args):
    r.set("s", "string")
    assert err(r, *args) == WRONGTYPE
    assert r.get("s") == b"string"


def test_argument_errors_before_wrongtype(r):
    r.set("s", "v")
    assert err(r, "ZADD", "s", "x", "a") == NOT_FLOAT
    assert err(r, "ZCOUNT", "s", "x", "1") == MINMAX
    assert err(r, "ZLEXCOUNT", "s", "x", "1") == MINMAX_LEX
    assert err(r, "ZPOPMIN", "s", "-1") == "value is out of range, must be positive"
    assert err(r, "ZSCAN", "s", "x") == "invalid cursor"
