"""String commands through redis-py (RESP2 ``r`` and RESP3 ``r3``).

Every assertion here is Redis 7.0's behaviour: the file also passes with
``--redis-url`` pointed at Debian's redis-server 7.0.
"""
from __future__ import annotations

import random
import time

import pytest
import redis
from redis.exceptions import ResponseError

from helpers import raw_reply as raw
from inproc import inproc_fixture

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "syntax error"
NOT_INT = "value is not an integer or out of range"
NOT_FLOAT = "value is not a valid float"


def err(r, *args) -> str:
    with pytest.raises(ResponseError) as exc:
        raw(r, *args)
    return str(exc.value)


_OTHER_TYPES = (("LPUSH", "x"), ("SADD", "x"), ("HSET", "f", "v"), ("ZADD", "1", "x"),
                ("XADD", "*", "f", "v"))


def make_other_type(r, key) -> None:
    """Store a value of a non-string type at key, with whichever collection
    command the server has (so WRONGTYPE paths are tested as soon as one
    exists)."""
    for cmd, *args in _OTHER_TYPES:
        try:
            raw(r, cmd, key, *args)
            return
        except ResponseError as exc:
            if "unknown command" not in str(exc):
                raise
    pytest.skip("no non-string type is implemented yet")


def encoding(r, key) -> bytes:
    return r.object("encoding", key)


# ---------------------------------------------------------------------------
# GET / SET
# ---------------------------------------------------------------------------
def test_set_get_basic(r):
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.get("missing") is None
    assert r.set("k", "") is True
    assert r.get("k") == b""


def test_set_binary_and_large(r):
    data = bytes(range(256)) * 100 + b"\r\n\x00"
    r.set("bin", data)
    assert r.get("bin") == data
    big = b"x" * (1 << 20)
    r.set("big", big)
    assert r.get("big") == big
    assert r.strlen("big") == 1 << 20


def test_get_wrongtype(r):
    make_other_type(r, "l")
    assert err(r, "GET", "l") == WRONGTYPE


def test_set_overwrites_other_type_and_ttl(r):
    make_other_type(r, "l")
    assert r.set("l", "v")
    assert r.type("l") == b"string"
    r.set("t", "v", ex=100)
    assert r.ttl("t") == 100
    r.set("t", "w")
    assert r.ttl("t") == -1


def test_set_nx_xx(r):
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == b"1"
    assert r.set("k", "3", xx=True) is True
    assert r.get("k") == b"3"
    assert r.set("nokey", "3", xx=True) is None
    assert r.exists("nokey") == 0
    assert err(r, "SET", "k", "v", "NX", "XX") == SYNTAX
    assert err(r, "SET", "k", "v", "XX", "NX") == SYNTAX
    # repeated flags are accepted
    assert raw(r, "SET", "k", "v", "XX", "XX") == b"OK"


def test_set_ex_px_exat_pxat(r):
    assert r.set("k", "v", ex=100)
    assert r.ttl("k") == 100
    assert r.set("k", "v", px=100000)
    assert 99000 < r.pttl("k") <= 100000
    now = int(time.time())
    assert r.set("k", "v", exat=now + 100)
    assert 98 <= r.ttl("k") <= 100
    assert r.set("k", "v", pxat=(now + 100) * 1000)
    assert 98 <= r.ttl("k") <= 100
    assert r.expiretime("k") == now + 100


def test_set_expire_options_case_insensitive(r):
    assert raw(r, "SET", "k", "v", "eX", "100", "nX") == b"OK"
    assert r.ttl("k") == 100


def test_set_repeated_expire_last_wins(r):
    assert raw(r, "SET", "k", "v", "EX", "10", "EX", "200") == b"OK"
    assert r.ttl("k") == 200


def test_set_option_conflicts(r):
    for args in (("EX", "10", "PX", "100"), ("PX", "10", "EX", "10"),
                 ("EX", "10", "EXAT", "10"), ("PXAT", "10", "EXAT", "10"),
                 ("EX", "10", "KEEPTTL"), ("KEEPTTL", "PX", "10"),
                 ("PERSIST",), ("EX",), ("PX",), ("EXAT",), ("PXAT",),
                 ("FOO",), ("GET", "FOO"), ("NX", "EX")):
        assert err(r, "SET", "k", "v", *args) == SYNTAX, args
    assert r.exists("k") == 0


def test_set_invalid_expire(r):
    msg = "invalid expire time in 'set' command"
    for opt in ("EX", "PX", "EXAT", "PXAT"):
        assert err(r, "SET", "k", "v", opt, "0") == msg
        assert err(r, "SET", "k", "v", opt, "-5") == msg
        assert err(r, "SET", "k", "v", opt, "abc") == NOT_INT
        assert err(r, "SET", "k", "v", opt, "1.5") == NOT_INT
    assert err(r, "SET", "k", "v", "EX", "9223372036854775807") == msg
    assert err(r, "SET", "k", "v", "EX", str(9223372036854775807 // 1000 + 1)) == msg
    assert err(r, "SET", "k", "v", "PX", "9223372036854775000") == msg
    assert r.exists("k") == 0
    # absolute times up to LLONG_MAX are fine
    assert raw(r, "SET", "k", "v", "PXAT", "9223372036854775807") == b"OK"
    assert raw(r, "SET", "k", "v", "EXAT", "9223372036854775") == b"OK"


def test_set_past_exat_expires_key(r):
    assert raw(r, "SET", "k", "v", "EXAT", "1") == b"OK"
    assert r.get("k") is None
    assert raw(r, "SET", "k", "v", "PXAT", "1") == b"OK"
    assert r.exists("k") == 0


def test_set_keepttl(r):
    r.set("k", "v", ex=100)
    assert r.set("k", "w", keepttl=True)
    assert r.get("k") == b"w"
    assert r.ttl("k") == 100
    assert r.set("k", "x")
    assert r.ttl("k") == -1
    assert r.set("new", "v", keepttl=True)
    assert r.ttl("new") == -1


def test_set_get_option(r):
    assert r.set("k", "v1", get=True) is None
    assert r.get("k") == b"v1"
    assert r.set("k", "v2", get=True) == b"v1"
    assert r.get("k") == b"v2"
    make_other_type(r, "l")
    assert err(r, "SET", "l", "v", "GET") == WRONGTYPE
    assert r.type("l") not in (b"string", b"none")
    # GET with NX / XX: the old value is the reply even when not set
    assert raw(r, "SET", "k", "v3", "NX", "GET") == b"v2"
    assert r.get("k") == b"v2"
    assert raw(r, "SET", "nokey", "v", "XX", "GET") is None
    assert r.exists("nokey") == 0
    assert raw(r, "SET", "nokey", "v", "NX", "GET") is None
    assert r.get("nokey") == b"v"
    assert raw(r, "SET", "k", "v4", "GET", "GET", "EX", "100") == b"v2"
    assert r.ttl("k") == 100


def test_set_wrong_arity(r):
    assert err(r, "SET", "k") == "wrong number of arguments for 'set' command"
    assert err(r, "GET") == "wrong number of arguments for 'get' command"
    assert err(r, "GET", "a", "b") == "wrong number of arguments for 'get' command"


def test_set_on_expired_key(r):
    r.set("k", "v", px=1)
    time.sleep(0.01)
    assert r.set("k", "w", nx=True) is True
    assert r.get("k") == b"w"
    assert r.ttl("k") == -1


# ---------------------------------------------------------------------------
# SETNX / SETEX / PSETEX / GETSET / GETDEL / GETEX
# ---------------------------------------------------------------------------
def test_setnx(r):
    assert r.setnx("k", "a") is True
    assert r.setnx("k", "b") is False
    assert r.get("k") == b"a"
    make_other_type(r, "l")
    assert r.setnx("l", "b") is False


def test_setex_psetex(r):
    assert raw(r, "SETEX", "k", "100", "v") == b"OK"
    assert r.get("k") == b"v"
    assert r.ttl("k") == 100
    assert r.psetex("p", 100000, "v")
    assert 99000 < r.pttl("p") <= 100000
    assert err(r, "SETEX", "k", "0", "v") == "invalid expire time in 'setex' command"
    assert err(r, "SETEX", "k", "-1", "v") == "invalid expire time in 'setex' command"
    assert err(r, "SETEX", "k", "x", "v") == NOT_INT
    assert err(r, "PSETEX", "k", "0", "v") == "invalid expire time in 'psetex' command"
    assert err(r, "SETEX", "k", "9223372036854776", "v") == \
        "invalid expire time in 'setex' command"
    make_other_type(r, "l")
    assert raw(r, "SETEX", "l", "10", "v") == b"OK"
    assert r.get("l") == b"v"


def test_getset(r):
    assert r.getset("k", "a") is None
    assert r.getset("k", "b") == b"a"
    assert r.get("k") == b"b"
    r.set("t", "v", ex=100)
    r.getset("t", "w")
    assert r.ttl("t") == -1
    make_other_type(r, "l")
    assert err(r, "GETSET", "l", "v") == WRONGTYPE
    assert r.type("l") not in (b"string", b"none")


def test_getdel(r):
    r.set("k", "v")
    assert r.getdel("k") == b"v"
    assert r.exists("k") == 0
    assert r.getdel("k") is None
    make_other_type(r, "l")
    assert err(r, "GETDEL", "l") == WRONGTYPE
    assert r.exists("l") == 1


def test_getex(r):
    assert r.getex("missing") is None
    assert r.getex("missing", ex=-1) is None   # no key: no validation
    r.set("k", "v")
    assert r.getex("k") == b"v"
    assert r.ttl("k") == -1
    assert r.getex("k", ex=100) == b"v"
    assert r.ttl("k") == 100
    assert r.getex("k", px=50000) == b"v"
    assert 49000 < r.pttl("k") <= 50000
    now = int(time.time())
    assert r.getex("k", exat=now + 200) == b"v"
    assert 198 <= r.ttl("k") <= 200
    assert r.getex("k", pxat=(now + 300) * 1000) == b"v"
    assert 298 <= r.ttl("k") <= 300
    assert r.getex("k", persist=True) == b"v"
    assert r.ttl("k") == -1
    assert r.getex("k", persist=True) == b"v"


def test_getex_errors(r):
    r.set("k", "v")
    msg = "invalid expire time in 'getex' command"
    assert err(r, "GETEX", "k", "EX", "0") == msg
    assert err(r, "GETEX", "k", "PX", "-1") == msg
    assert err(r, "GETEX", "k", "EX", "abc") == NOT_INT
    assert err(r, "GETEX", "k", "EX", "9223372036854775807") == msg
    for args in (("EX", "10", "PX", "10"), ("PERSIST", "EX", "10"), ("EX", "10", "PERSIST"),
                 ("KEEPTTL",), ("NX",), ("XX",), ("GET",), ("EX",), ("FOO",)):
        assert err(r, "GETEX", "k", *args) == SYNTAX, args
    make_other_type(r, "l")
    assert err(r, "GETEX", "l") == WRONGTYPE
    assert err(r, "GETEX", "l", "EX", "0") == WRONGTYPE   # type checked first
    # syntax is checked before the key is looked up
    assert err(r, "GETEX", "missing", "FOO") == SYNTAX


def test_getex_past_absolute_time_deletes(r):
    r.set("k", "v")
    assert r.getex("k", exat=1) == b"v"
    assert r.exists("k") == 0
    r.set("k", "v")
    assert r.getex("k", pxat=int(time.time() * 1000) - 10) == b"v"
    assert r.exists("k") == 0


# ---------------------------------------------------------------------------
# MGET / MSET / MSETNX
# ---------------------------------------------------------------------------
def test_mget(r):
    r.set("a", "1")
    r.set("b", "2")
    make_other_type(r, "l")
    assert r.mget("a", "b", "c", "l", "a") == [b"1", b"2", None, None, b"1"]
    assert r.mget("a") == [b"1"]
    r.append("a", "z")       # raw encoding
    assert r.mget("a") == [b"1z"]


def test_mset(r):
    assert r.mset({"a": "1", "b": "2"})
    assert r.mget("a", "b") == [b"1", b"2"]
    make_other_type(r, "l")
    r.set("t", "v", ex=100)
    assert raw(r, "MSET", "l", "s", "t", "w", "a", "3", "a", "4") == b"OK"
    assert r.get("l") == b"s"
    assert r.ttl("t") == -1
    assert r.get("a") == b"4"
    assert err(r, "MSET", "a", "1", "b") == "wrong number of arguments for 'mset' command"
    assert err(r, "MSET", "a") == "wrong number of arguments for 'mset' command"


def test_msetnx(r):
    assert r.msetnx({"a": "1", "b": "2"}) is True
    assert r.msetnx({"b": "x", "c": "3"}) is False
    assert r.exists("c") == 0
    assert r.get("b") == b"2"
    assert raw(r, "MSETNX", "x", "1", "x", "2") == 1
    assert r.get("x") == b"2"
    assert err(r, "MSETNX", "a", "1", "b") == "wrong number of arguments for 'msetnx' command"
    make_other_type(r, "l")
    assert r.msetnx({"l": "1"}) is False


# ---------------------------------------------------------------------------
# INCR family
# ---------------------------------------------------------------------------
def test_incr_decr(r):
    assert r.incr("n") == 1
    assert r.incr("n") == 2
    assert r.decr("n") == 1
    assert r.decr("m") == -1
    assert r.incrby("n", 10) == 11
    assert r.incrby("n", -20) == -9
    assert r.decrby("n", 5) == -14
    assert r.decrby("n", -100) == 86
    assert r.get("n") == b"86"


def test_incr_keeps_ttl(r):
    r.set("n", "5", ex=100)
    assert r.incr("n") == 6
    assert r.ttl("n") == 100


def test_incr_errors(r):
    for v in ("abc", "1.5", " 1", "1 ", "+1", "01", "-0", "", "9223372036854775808",
              "1" * 30, "0x10"):
        r.set("n", v)
        assert err(r, "INCR", "n") == NOT_INT, v
        assert r.get("n") == v.encode()
    r.set("n", "1")
    assert err(r, "INCRBY", "n", "x") == NOT_INT
    assert err(r, "INCRBY", "n", "1.0") == NOT_INT
    assert err(r, "DECRBY", "n", "") == NOT_INT
    make_other_type(r, "l")
    assert err(r, "INCR", "l") == WRONGTYPE
    assert err(r, "DECRBY", "l", "1") == WRONGTYPE
    assert err(r, "INCRBY", "l", "x") == NOT_INT     # argument parsed first


def test_incr_overflow(r):
    r.set("n", "9223372036854775807")
    assert err(r, "INCR", "n") == "increment or decrement would overflow"
    assert r.get("n") == b"9223372036854775807"
    assert r.decr("n") == 9223372036854775806
    r.set("n", "-9223372036854775808")
    assert err(r, "DECR", "n") == "increment or decrement would overflow"
    assert err(r, "INCRBY", "n", "-1") == "increment or decrement would overflow"
    assert r.incrby("n", "9223372036854775807") == -1
    assert err(r, "DECRBY", "n", "-9223372036854775808") == "decrement would overflow"
    assert r.decrby("n", "9223372036854775807") == -9223372036854775808
    r.set("z", "0")
    assert r.incrby("z", "-9223372036854775808") == -9223372036854775808
    assert err(r, "INCRBY", "z", "-1") == "increment or decrement would overflow"


def test_incr_on_raw_string(r):
    r.set("n", "1")
    r.append("n", "0")     # raw "10"
    assert r.incr("n") == 11


def test_incrbyfloat(r):
    assert r.incrbyfloat("f", 10.5) == 10.5
    assert raw(r, "INCRBYFLOAT", "f", "0.1") == b"10.6"
    assert raw(r, "INCRBYFLOAT", "f", "-5") == b"5.6"
    r.set("g", "5.0e3")
    assert raw(r, "INCRBYFLOAT", "g", "2.0e2") == b"5200"
    r.set("h", "1")
    assert raw(r, "INCRBYFLOAT", "h", "1") == b"2"
    assert raw(r, "INCRBYFLOAT", "h", "-2") == b"0"
    assert raw(r, "INCRBYFLOAT", "x", "0.1") == b"0.1"
    assert raw(r, "INCRBYFLOAT", "x", "0.2") == b"0.3"
    assert raw(r, "INCRBYFLOAT", "y", "3.0e3") == b"3000"
    assert raw(r, "INCRBYFLOAT", "hx", "0x10") == b"16"
    assert raw(r, "INCRBYFLOAT", "tiny", "-0.000000000000000001") == b"0"


def test_incrbyfloat_long_double_precision(r):
    # long double arithmetic: results a double would get wrong
    r.set("k", "10.5")
    for _ in range(10):
        raw(r, "INCRBYFLOAT", "k", "0.1")
    assert r.get("k") == b"11.5"
    r.set("k", "1e30")
    assert raw(r, "INCRBYFLOAT", "k", "1") == b"1000000000000000000024696061952"
    r.set("big", "1")
    out = raw(r, "INCRBYFLOAT", "big", "1e400")
    assert out.startswith(b"10000000000000000000")
    assert len(out) == 401


def test_incrbyfloat_errors(r):
    r.set("k", "abc")
    assert err(r, "INCRBYFLOAT", "k", "1") == NOT_FLOAT
    r.set("k", "1")
    for bad in ("abc", "", " 1", "1 ", "nan", "1e", "1e5000", "1e-5000", "1.2.3", "0x"):
        assert err(r, "INCRBYFLOAT", "k", bad) == NOT_FLOAT, bad
    assert err(r, "INCRBYFLOAT", "k", "inf") == "increment would produce NaN or Infinity"
    assert err(r, "INCRBYFLOAT", "k", "-inf") == "increment would produce NaN or Infinity"
    assert err(r, "INCRBYFLOAT", "k", "1.2e4932") == NOT_FLOAT
    r.set("m", "1.18e4932")
    assert err(r, "INCRBYFLOAT", "m", "0.01e4932") == \
        "increment would produce NaN or Infinity"
    assert r.get("k") == b"1"
    make_other_type(r, "l")
    assert err(r, "INCRBYFLOAT", "l", "1") == WRONGTYPE


def test_incrbyfloat_keeps_ttl(r):
    r.set("k", "1", ex=100)
    r.incrbyfloat("k", 1.5)
    assert r.ttl("k") == 100


# ---------------------------------------------------------------------------
# APPEND / STRLEN / GETRANGE / SUBSTR / SETRANGE
# ---------------------------------------------------------------------------
def test_append(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.get("k") == b"Hello World"
    assert r.append("k", "") == 11
    assert r.append("e", "") == 0
    assert r.exists("e") == 1
    make_other_type(r, "l")
    assert err(r, "APPEND", "l", "x") == WRONGTYPE


def test_append_many_times(r):
    p = r.pipeline(transaction=False)
    for i in range(2000):
        p.append("k", "ab")
    res = p.execute()
    assert res[-1] == 4000
    assert r.get("k") == b"ab" * 2000


def test_append_keeps_ttl(r):
    r.set("k", "v", ex=100)
    r.append("k", "w")
    assert r.ttl("k") == 100


def test_strlen(r):
    assert r.strlen("missing") == 0
    r.set("k", "hello")
    assert r.strlen("k") == 5
    r.set("n", 12345)
    assert r.strlen("n") == 5
    r.append("n", "6")
    assert r.strlen("n") == 6
    make_other_type(r, "l")
    assert err(r, "STRLEN", "l") == WRONGTYPE


def test_getrange(r):
    r.set("k", "This is a string")
    assert r.getrange("k", 0, 3) == b"This"
    assert r.getrange("k", -3, -1) == b"ing"
    assert r.getrange("k", 0, -1) == b"This is a string"
    assert r.getrange("k", 10, 100) == b"string"
    assert r.getrange("k", 100, 200) == b""
    assert r.getrange("k", 5, 3) == b""
    assert r.getrange("k", -1, -2) == b""
    assert r.getrange("k", -100, 3) == b"This"
    assert r.getrange("k", 0, -100) == b"T"
    assert r.getrange("k", -9223372036854775808, 9223372036854775807) == b"This is a string"
    assert r.getrange("missing", 0, -1) == b""
    r.set("n", 1234)
    assert r.getrange("n", 1, 2) == b"23"
    r.set("e", "")
    assert r.getrange("e", 0, -1) == b""
    assert r.getrange("e", 0, 0) == b""
    assert r.substr("k", 0, 3) == b"This"
    assert err(r, "GETRANGE", "k", "a", "1") == NOT_INT
    assert err(r, "GETRANGE", "k", "0", "1.5") == NOT_INT
    assert err(r, "GETRANGE", "missing", "a", "1") == NOT_INT
    make_other_type(r, "l")
    assert err(r, "GETRANGE", "l", "0", "1") == WRONGTYPE
    r.append("k", "!")
    assert r.getrange("k", -2, -1) == b"g!"


def test_setrange(r):
    r.set("k", "Hello World")
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == b"Hello Redis"
    assert r.setrange("z", 5, "abc") == 8
    assert r.get("z") == b"\x00" * 5 + b"abc"
    assert r.setrange("k", 20, "!") == 21
    assert r.get("k") == b"Hello Redis" + b"\x00" * 9 + b"!"
    assert r.setrange("missing", 0, "") == 0
    assert r.exists("missing") == 0
    assert r.setrange("k", 100, "") == 21
    assert r.strlen("k") == 21
    r.set("n", 1234)
    assert r.setrange("n", 1, "x") == 4
    assert r.get("n") == b"1x34"
    assert err(r, "SETRANGE", "k", "-1", "x") == "offset is out of range"
    assert err(r, "SETRANGE", "k", "x", "x") == NOT_INT
    make_other_type(r, "l")
    assert err(r, "SETRANGE", "l", "0", "x") == WRONGTYPE
    assert err(r, "SETRANGE", "l", "-1", "x") == "offset is out of range"


def test_setrange_size_limit(r):
    msg = "string exceeds maximum allowed size (proto-max-bulk-len)"
    assert err(r, "SETRANGE", "k", str(512 * 1024 * 1024), "x") == msg
    assert err(r, "SETRANGE", "k", "9223372036854775807", "x") == msg
    assert r.exists("k") == 0
    r.set("k", "v")
    assert err(r, "SETRANGE", "k", str(512 * 1024 * 1024), "x") == msg
    assert r.get("k") == b"v"


def test_append_size_limit(r):
    msg = "string exceeds maximum allowed size (proto-max-bulk-len)"
    old = r.config_get("proto-max-bulk-len")["proto-max-bulk-len"]
    try:
        r.config_set("proto-max-bulk-len", 1024 * 1024)
        r.set("k", b"x" * (1024 * 1024 - 1))
        assert r.append("k", "y") == 1024 * 1024
        assert err(r, "APPEND", "k", "z") == msg
        assert err(r, "SETRANGE", "k", str(1024 * 1024), "z") == msg
        assert r.setrange("k", 1024 * 1024 - 1, "z") == 1024 * 1024
    finally:
        r.config_set("proto-max-bulk-len", old)


# ---------------------------------------------------------------------------
# LCS
# ---------------------------------------------------------------------------
def test_lcs_basic(r):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert r.lcs("key1", "key2") == b"mytext"
    assert r.lcs("key1", "key2", len=True) == 6
    assert r.lcs("key1", "missing") == b""
    assert r.lcs("missing", "missing2", len=True) == 0
    assert r.lcs("key1", "key1") == b"ohmytext"


def test_lcs_idx(r):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    res = raw(r, "LCS", "key1", "key2", "IDX")
    assert res == [b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6]
    res = raw(r, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4")
    assert res == [b"matches", [[[4, 7], [5, 8]]], b"len", 6]
    res = raw(r, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
    assert res == [b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    res = raw(r, "LCS", "key1", "key2", "idx", "withmatchlen", "minmatchlen", "-5")
    assert res == [b"matches", [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], b"len", 6]
    # WITHMATCHLEN / MINMATCHLEN without IDX are accepted and ignored
    assert raw(r, "LCS", "key1", "key2", "WITHMATCHLEN") == b"mytext"
    assert raw(r, "LCS", "key1", "key2", "LEN", "MINMATCHLEN", "3") == 6


def test_lcs_resp3_map(r3):
    r3.mset({"a": "ohmytext", "b": "mynewtext"})
    res = raw(r3, "LCS", "a", "b", "IDX")
    assert res == {b"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len": 6}


def test_lcs_errors(r):
    r.set("a", "abc")
    make_other_type(r, "l")
    assert err(r, "LCS", "a", "l") == "The specified keys must contain string values"
    assert err(r, "LCS", "l", "missing", "FOO") == "The specified keys must contain string values"
    assert err(r, "LCS", "a", "a", "IDX", "LEN") == \
        "If you want both the length and indexes, please just use IDX."
    assert err(r, "LCS", "a", "a", "FOO") == SYNTAX
    assert err(r, "LCS", "a", "a", "MINMATCHLEN") == SYNTAX
    assert err(r, "LCS", "a", "a", "MINMATCHLEN", "x") == NOT_INT
    assert err(r, "LCS", "a") == "wrong number of arguments for 'lcs' command"


def test_lcs_long_strings(r):
    rnd = random.Random(7)
    a = bytes(rnd.choice(b"ACGT") for _ in range(2000))
    b = bytes(rnd.choice(b"ACGT") for _ in range(2000))
    r.mset({"a": a, "b": b})
    res = r.lcs("a", "b")
    n = r.lcs("a", "b", len=True)
    assert len(res) == n
    # res is a subsequence of both
    for s in (a, b):
        it = iter(s)
        assert all(ch in it for ch in res)


def test_lcs_memory_limit(r):
    old = r.config_get("proto-max-bulk-len")["proto-max-bulk-len"]
    try:
        r.config_set("proto-max-bulk-len", 1024 * 1024)
        r.mset({"a": "x" * 600, "b": "x" * 600})
        assert err(r, "LCS", "a", "b", "LEN") == \
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    finally:
        r.config_set("proto-max-bulk-len", old)


# ---------------------------------------------------------------------------
# RESP3 reply types
# ---------------------------------------------------------------------------
def test_resp3_nulls(r3):
    assert r3.get("missing") is None
    assert r3.mget("a", "b") == [None, None]
    assert r3.getex("missing") is None
    assert r3.getdel("missing") is None
    assert r3.set("k", "v", xx=True) is None
    r3.set("k", "v")
    assert r3.set("k", "w", get=True) == b"v"
    assert r3.incrbyfloat("f", 1.5) == 1.5


# ---------------------------------------------------------------------------
# Encodings (OBJECT ENCODING)
# ---------------------------------------------------------------------------
def test_encodings_after_set(r):
    r.set("i", "12345")
    assert encoding(r, "i") == b"int"
    r.set("i", "-9223372036854775808")
    assert encoding(r, "i") == b"int"
    r.set("i", "9223372036854775808")
    assert encoding(r, "i") == b"embstr"
    r.set("i", "012")
    assert encoding(r, "i") == b"embstr"
    r.set("e", "x" * 44)
    assert encoding(r, "e") == b"embstr"
    r.set("e", "x" * 45)
    assert encoding(r, "e") == b"raw"
    r.mset({"m1": "7", "m2": "hello"})
    assert encoding(r, "m1") == b"int"
    assert encoding(r, "m2") == b"embstr"
    r.setex("s", 100, "hello")
    assert encoding(r, "s") == b"embstr"


def test_encodings_after_modification(r):
    r.set("k", "hello")
    r.append("k", "x")
    assert encoding(r, "k") == b"raw"
    r.append("new", "hello")
    assert encoding(r, "new") == b"embstr"
    r.append("num", "123")
    assert encoding(r, "num") == b"int"
    r.set("s", "hello")
    r.setrange("s", 0, "j")
    assert encoding(r, "s") == b"raw"
    r.setrange("s2", 0, "j")
    assert encoding(r, "s2") == b"raw"
    r.set("n", "hello")
    r.set("n", "10")
    r.incr("n")
    assert encoding(r, "n") == b"int"
    r.incr("fresh")
    assert encoding(r, "fresh") == b"int"
    r.set("raw", "1")
    r.append("raw", "2")
    assert encoding(r, "raw") == b"raw"
    r.incr("raw")
    assert encoding(r, "raw") == b"int"
    r.set("f", "1.5")
    r.incrbyfloat("f", "1")
    assert encoding(r, "f") == b"embstr"


# ---------------------------------------------------------------------------
# Bookkeeping: dirty counter, keyspace hits/misses, WATCH
# ---------------------------------------------------------------------------
def _dirty(r) -> int:
    return int(r.info("persistence")["rdb_changes_since_last_save"])


def test_dirty_counter(r):
    d0 = _dirty(r)
    r.set("a", "1")
    r.mset({"b": "1", "c": "2", "d": "3"})
    r.incr("a")
    r.append("a", "x")
    r.setrange("a", 0, "")     # no change
    r.get("a")
    assert _dirty(r) - d0 == 1 + 3 + 1 + 1


def test_watch_invalidated_by_string_writes(r):
    for cmd in (("SET", "k", "v"), ("APPEND", "k", "x"), ("INCR", "n"),
                ("SETRANGE", "k", "0", "z"), ("GETDEL", "k"), ("INCRBYFLOAT", "n", "1")):
        r.set("k", "abc")
        r.set("n", "1")
        p = r.pipeline()
        p.watch(cmd[1])
        p.multi()
        p.get(cmd[1])
        raw(r, *cmd)
        with pytest.raises(redis.WatchError):
            p.execute()
        p.reset()


# ---------------------------------------------------------------------------
# Propagation and keyspace events, in process (no socket, no AOF needed):
# what call() hands to AOF/replicas, and what reaches the notify hook.
# ---------------------------------------------------------------------------
inproc = inproc_fixture()


def test_propagate_set_relative_expire_as_pxat(inproc):
    before = int(time.time() * 1000)
    assert inproc("SET", "k", "v", "EX", 100) == b"+OK\r\n"
    (argv,), events = inproc.take()
    assert argv[:4] == [b"SET", b"k", b"v", b"PXAT"]
    assert before + 100000 <= int(argv[4]) <= int(time.time() * 1000) + 100000
    assert [e[1] for e in events] == ["set", "expire"]
    assert events[0][0] == 1 << 3 and events[1][0] == 1 << 2
    inproc("SET", "k", "v", "PX", 5000, "GET")
    (argv,), _ = inproc.take()
    assert argv[:4] == [b"SET", b"k", b"v", b"PXAT"]
    inproc("SETEX", "k", 10, "v")
    (argv,), _ = inproc.take()
    assert argv[:4] == [b"SET", b"k", b"v", b"PXAT"]
    inproc("PSETEX", "k", 10000, "v")
    (argv,), _ = inproc.take()
    assert argv[:4] == [b"SET", b"k", b"v", b"PXAT"]
    inproc("SET", "k", "v", "PXAT", "4102444800000")
    assert inproc.take()[0] == [[b"SET", b"k", b"v", b"PXAT", b"4102444800000"]]


def test_propagate_set_get_without_get(inproc):
    inproc("SET", "k", "v", "get", "NX", "GET")
    assert inproc.take()[0] == [[b"SET", b"k", b"v", b"NX"]]
    inproc("SET", "k", "get", "GET")
    assert inproc.take()[0] == [[b"SET", b"k", b"get"]]
    inproc("SET", "k", "w", "NX", "GET")       # not set: nothing to propagate
    assert inproc.take() == ([], [])


def test_propagate_getex(inproc):
    inproc("SET", "k", "v")
    inproc.take()
    inproc("GETEX", "k")
    assert inproc.take() == ([], [])
    inproc("GETEX", "k", "EX", 100)
    (argv,), events = inproc.take()
    assert argv[:2] == [b"PEXPIREAT", b"k"]
    assert events == [(1 << 2, "expire", b"k", 0)]
    inproc("GETEX", "k", "PERSIST")
    assert inproc.take() == ([[b"PERSIST", b"k"]], [(1 << 2, "persist", b"k", 0)])
    inproc("GETEX", "k", "PERSIST")              # no TTL: no change
    assert inproc.take() == ([], [])
    assert inproc("GETEX", "k", "EXAT", 1) == b"$1\r\nv\r\n"
    assert inproc.take() == ([[b"DEL", b"k"]], [(1 << 2, "del", b"k", 0)])


def test_propagate_getdel_getset_incrbyfloat(inproc):
    inproc("SET", "k", "v")
    inproc.take()
    inproc("GETDEL", "k")
    assert inproc.take() == ([[b"DEL", b"k"]], [(1 << 2, "del", b"k", 0)])
    inproc("GETDEL", "k")
    assert inproc.take() == ([], [])
    inproc("GETSET", "k", "w")
    assert inproc.take() == ([[b"SET", b"k", b"w"]], [(1 << 3, "set", b"k", 0)])
    inproc("INCRBYFLOAT", "f", "1.5")
    assert inproc.take() == ([[b"SET", b"f", b"1.5", b"KEEPTTL"]],
                             [(1 << 3, "incrbyfloat", b"f", 0)])


def test_events_and_dirty(inproc):
    srv = inproc.server
    cases = [
        (("SET", "k", "v"), ["set"], 1),
        (("APPEND", "k", "x"), ["append"], 1),
        (("SETRANGE", "k", 0, "z"), ["setrange"], 1),
        (("SETRANGE", "k", 0, ""), [], 0),
        (("INCR", "n"), ["incrby"], 1),
        (("DECRBY", "n", 5), ["incrby"], 1),
        (("MSET", "a", 1, "b", 2), ["set", "set"], 2),
        (("MSETNX", "a", 1, "c", 2), [], 0),
        (("MSETNX", "c", 1, "d", 2), ["set", "set"], 2),
        (("SETNX", "k", "v"), [], 0),
        (("GET", "k"), [], 0),
        (("INCR", "k"), [], 0),
    ]
    for args, names, dirty in cases:
        d0 = srv.dirty
        inproc(*args)
        _, events = inproc.take()
        assert [e[1] for e in events] == names, args
        assert srv.dirty - d0 == dirty, args


class _FakeList:
    """A stand-in non-string value, until the collection types exist."""
    __slots__ = ("lru",)
    type_name = "list"
    encoding = "listpack"

    def __init__(self) -> None:
        self.lru = 0


def test_wrongtype_in_process(inproc):
    """Every string command against a non-string value (planted directly in
    the keyspace, so this runs before any collection type is implemented)."""
    wrong = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    db = inproc.server.dbs[0]
    inproc("SET", "s", "abc")
    for args, expected in [
        (("GET", "l"), wrong), (("GETSET", "l", "v"), wrong), (("GETDEL", "l"), wrong),
        (("GETEX", "l"), wrong), (("GETEX", "l", "EX", "0"), wrong),
        (("GETEX", "l", "FOO"), b"-ERR syntax error\r\n"),
        (("SET", "l", "v", "GET"), wrong), (("SET", "l", "v", "GET", "NX"), wrong),
        (("SETNX", "l", "v"), b":0\r\n"), (("MSETNX", "l", "v"), b":0\r\n"),
        (("APPEND", "l", "x"), wrong), (("STRLEN", "l"), wrong),
        (("GETRANGE", "l", "0", "1"), wrong), (("SUBSTR", "l", "0", "1"), wrong),
        (("GETRANGE", "l", "x", "1"), b"-ERR value is not an integer or out of range\r\n"),
        (("SETRANGE", "l", "0", "x"), wrong), (("SETRANGE", "l", "0", ""), wrong),
        (("SETRANGE", "l", "-1", "x"), b"-ERR offset is out of range\r\n"),
        (("INCR", "l"), wrong), (("DECR", "l"), wrong), (("INCRBY", "l", "1"), wrong),
        (("DECRBY", "l", "1"), wrong), (("INCRBYFLOAT", "l", "1"), wrong),
        (("INCRBY", "l", "x"), b"-ERR value is not an integer or out of range\r\n"),
        (("MGET", "s", "l", "nokey"), b"*3\r\n$3\r\nabc\r\n$-1\r\n$-1\r\n"),
        (("LCS", "s", "l"), b"-ERR The specified keys must contain string values\r\n"),
        (("LCS", "l", "s", "FOO"), b"-ERR The specified keys must contain string values\r\n"),
    ]:
        db.set_key(b"l", _FakeList())
        assert inproc(*args) == expected, args
        assert db.peek(b"l").__class__ is _FakeList, args
    for args, expected in [(("SET", "l", "v"), b"+OK\r\n"), (("SETEX", "l", "10", "v"), b"+OK\r\n"),
                           (("PSETEX", "l", "10000", "v"), b"+OK\r\n"),
                           (("MSET", "l", "v"), b"+OK\r\n"), (("SET", "l", "v", "XX"), b"+OK\r\n")]:
        db.set_key(b"l", _FakeList())
        assert inproc(*args) == expected, args
        assert inproc("GET", "l") == b"$1\r\nv\r\n", args
