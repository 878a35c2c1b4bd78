"""SORT and SORT_RO through redis-py: lists, sets (both encodings) and sorted
sets (both encodings), BY / GET / LIMIT / ALPHA / DESC / STORE, the score
conversion rules and every error."""
from __future__ import annotations

import pytest

from helpers import err

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SCORES = "One or more scores can't be converted into double"


def sort(r, *args):
    return r.execute_command("SORT", *args)


@pytest.fixture(params=["list", "set-intset", "set-hashtable", "zset-listpack", "zset-skiplist"])
def numbers(request, r):
    """Key "k" holding 3 1 2 10 -5 as the given type/encoding."""
    vals = [3, 1, 2, 10, -5]
    kind = request.param
    if kind == "list":
        r.rpush("k", *vals)
    elif kind.startswith("set"):
        if kind == "set-hashtable":
            r.config_set("set-max-intset-entries", 0)
        r.sadd("k", *vals)
        assert r.object("encoding", "k") == kind.split("-")[1].encode()
    else:
        if kind == "zset-skiplist":
            r.config_set("zset-max-listpack-entries", 0)
        # scores that do not follow the member order
        r.zadd("k", {str(v): i for i, v in enumerate(vals)})
    yield kind
    r.config_set("set-max-intset-entries", 512)
    r.config_set("zset-max-listpack-entries", 128)


def test_numeric_and_alpha(r, numbers):
    assert sort(r, "k") == [b"-5", b"1", b"2", b"3", b"10"]
    assert sort(r, "k", "DESC") == [b"10", b"3", b"2", b"1", b"-5"]
    assert sort(r, "k", "ALPHA") == [b"-5", b"1", b"10", b"2", b"3"]
    assert sort(r, "k", "alpha", "desc") == [b"3", b"2", b"10", b"1", b"-5"]
    assert sort(r, "k", "LIMIT", 1, 2) == [b"1", b"2"]
    assert sort(r, "k", "LIMIT", -1, 2) == [b"-5", b"1"]
    assert sort(r, "k", "LIMIT", 3, -1) == [b"3", b"10"]
    assert sort(r, "k", "LIMIT", 5, 1) == []
    assert sort(r, "k", "LIMIT", 0, 0) == []
    assert sort(r, "k", "LIMIT", 2, 9223372036854775807) == [b"2", b"3", b"10"]
    assert sort(r, "k", "ASC", "DESC", "ASC") == [b"-5", b"1", b"2", b"3", b"10"]
    assert r.execute_command("SORT_RO", "k", "DESC", "LIMIT", 0, 1) == [b"10"]


def test_by_nosort_keeps_native_order(r, numbers):
    got = sort(r, "k", "BY", "nosort")
    if numbers == "list":
        assert got == [b"3", b"1", b"2", b"10", b"-5"]
        assert sort(r, "k", "BY", "nosort", "DESC") == [b"-5", b"10", b"2", b"1", b"3"]
        assert sort(r, "k", "BY", "nosort", "LIMIT", 1, 2) == [b"1", b"2"]
        assert sort(r, "k", "BY", "nosort", "DESC", "LIMIT", 1, 2) == [b"10", b"2"]
    elif numbers.startswith("zset"):
        assert got == [b"3", b"1", b"2", b"10", b"-5"]          # score order
        assert sort(r, "k", "BY", "nosort", "DESC", "LIMIT", 0, 2) == [b"-5", b"10"]
        assert sort(r, "k", "BY", "nosort", "LIMIT", 4, 10) == [b"-5"]
    elif numbers == "set-intset":
        assert got == [b"-5", b"1", b"2", b"3", b"10"]          # intset order
    else:
        assert sorted(got) == sorted([b"3", b"1", b"2", b"10", b"-5"])
    # STORE forces a deterministic (ALPHA) order for sets only
    assert sort(r, "k", "BY", "nosort", "STORE", "dst") == 5
    stored = r.lrange("dst", 0, -1)
    if numbers.startswith("set"):
        assert stored == [b"-5", b"1", b"10", b"2", b"3"]
    else:
        assert stored == [b"3", b"1", b"2", b"10", b"-5"]


def test_by_and_get_patterns(r, numbers):
    r.mset({"w_3": "1", "w_1": "5", "w_2": "4", "w_10": "3", "w_-5": "2"})
    assert sort(r, "k", "BY", "w_*") == [b"3", b"-5", b"10", b"2", b"1"]
    assert sort(r, "k", "BY", "w_*", "DESC", "LIMIT", 0, 2) == [b"1", b"2"]
    r.mset({"n_1": "one", "n_2": "two"})
    assert sort(r, "k", "GET", "n_*", "LIMIT", 1, 2) == [b"one", b"two"]
    assert sort(r, "k", "GET", "#", "GET", "n_*", "LIMIT", 0, 3) == \
        [b"-5", None, b"1", b"one", b"2", b"two"]
    for v in (3, 1, 2, 10, -5):
        r.hset("h_%d" % v, mapping={"score": 100 - v, "name": "N%d" % v})
    assert sort(r, "k", "BY", "h_*->score") == [b"10", b"3", b"2", b"1", b"-5"]
    assert sort(r, "k", "BY", "h_*->score", "GET", "h_*->name", "LIMIT", 0, 2) == \
        [b"N10", b"N3"]
    assert sort(r, "k", "GET", "h_*->missing", "LIMIT", 0, 1) == [None]
    # a missing BY key scores 0 (ties broken by the element)
    r.delete("w_10")
    assert sort(r, "k", "BY", "w_*") == [b"10", b"3", b"-5", b"2", b"1"]
    # BY a key of another type: no value (score 0)
    r.delete("w_3")
    r.rpush("w_3", "x")
    assert sort(r, "k", "BY", "w_*")[:2] == [b"10", b"3"]
    assert sort(r, "k", "GET", "w_*", "LIMIT", 3, 1) == [None]   # 3 -> a list: null


def test_alpha_by(r):
    r.rpush("l", "a", "b", "c", "d")
    r.mset({"x_a": "zeta", "x_b": "alpha", "x_d": "Beta"})
    # missing BY values first, then byte order; ties keep the input order
    assert sort(r, "l", "BY", "x_*", "ALPHA") == [b"c", b"d", b"b", b"a"]
    assert sort(r, "l", "BY", "x_*", "ALPHA", "DESC") == [b"a", b"b", b"d", b"c"]
    r.mset({"x_a": "same", "x_b": "same", "x_c": "same", "x_d": "same"})
    assert sort(r, "l", "BY", "x_*", "ALPHA") == [b"a", b"b", b"c", b"d"]


def test_score_conversion_rules(r):
    r.rpush("ok", " 1", "0x10", "1e-5", "-inf", "", "2.5", "1e308", "+3", ".5",
            "0x1p-1074", "1\x00junk")
    assert sort(r, "ok") == [b"-inf", b"", b"0x1p-1074", b"1e-5", b".5", b" 1",
                             b"1\x00junk", b"2.5", b"+3", b"0x10", b"1e308"]
    for bad in ("abc", "1 ", "nan", "1e400", "1e-310", "inf ", "1_0", "0x", "--1",
                " ", "1e", "infinit"):
        r.delete("bad")
        r.rpush("bad", "1", bad)
        assert err(r, "SORT", "bad") == SCORES, bad
        assert sort(r, "bad", "ALPHA") is not None
        assert sort(r, "bad", "BY", "nosort") == [b"1", bad.encode()]
    r.set("w_1", "abc")
    r.rpush("one", "1")
    assert err(r, "SORT", "one", "BY", "w_*") == SCORES
    assert sort(r, "one", "BY", "w_*", "ALPHA") == [b"1"]


def test_store(r):
    r.rpush("l", 3, 1, 2)
    assert sort(r, "l", "STORE", "dst") == 3
    assert r.lrange("dst", 0, -1) == [b"1", b"2", b"3"]
    assert r.object("encoding", "dst") == b"quicklist"
    r.set("n_1", "one")
    assert sort(r, "l", "GET", "#", "GET", "n_*", "STORE", "dst") == 6
    assert r.lrange("dst", 0, -1) == [b"1", b"one", b"2", b"", b"3", b""]
    # overwrites any type and drops the TTL
    r.set("dst", "x")
    r.expire("dst", 100)
    assert sort(r, "l", "STORE", "dst") == 3
    assert r.ttl("dst") == -1 and r.type("dst") == b"list"
    # an empty result deletes the destination
    assert sort(r, "nokey", "STORE", "dst") == 0
    assert r.exists("dst") == 0
    assert sort(r, "l", "LIMIT", 0, 0, "STORE", "dst") == 0
    # the source itself can be the destination
    assert sort(r, "l", "DESC", "STORE", "l") == 3
    assert r.lrange("l", 0, -1) == [b"3", b"2", b"1"]


def test_zset_converted_to_skiplist(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.object("encoding", "z") == b"listpack"
    assert r.execute_command("SORT_RO", "z", "ALPHA") == [b"a", b"b"]
    assert r.object("encoding", "z") == b"skiplist"        # as Redis 7.0 does


def test_missing_key_and_errors(r):
    assert sort(r, "nokey") == []
    assert sort(r, "nokey", "GET", "#") == []
    r.set("str", "x")
    r.hset("h", "a", "1")
    assert err(r, "SORT", "str") == WRONGTYPE
    assert err(r, "SORT", "h") == WRONGTYPE
    r.rpush("l", 1)
    assert err(r, "SORT", "l", "LIMIT", "x", "1") == "value is not an integer or out of range"
    assert err(r, "SORT", "l", "LIMIT", "1", "1.5") == "value is not an integer or out of range"
    assert err(r, "SORT", "l", "LIMIT", "1") == "syntax error"
    assert err(r, "SORT", "l", "FOO") == "syntax error"
    assert err(r, "SORT", "l", "GET") == "syntax error"
    assert err(r, "SORT", "l", "BY") == "syntax error"
    assert err(r, "SORT", "l", "STORE") == "syntax error"
    assert err(r, "SORT_RO", "l", "STORE", "dst") == "syntax error"
    # option errors come before the key lookup
    assert err(r, "SORT", "str", "FOO") == "syntax error"
    assert err(r, "SORT", "l", "asc\x00xyz", "FOO") == "syntax error"
    assert sort(r, "l", "desc\x00xyz") == [b"1"]


def test_large_sort(r):
    import random
    rnd = random.Random(5)
    vals = [rnd.randint(-10**6, 10**6) for _ in range(3000)]
    r.rpush("l", *vals)
    assert sort(r, "l") == [b"%d" % v for v in sorted(vals)]
    assert sort(r, "l", "LIMIT", 100, 10, "DESC") == \
        [b"%d" % v for v in sorted(vals, reverse=True)[100:110]]


def test_score_parser_matches_glibc_strtod():
    """sort_strtod against the C library Redis uses (glibc strtod + errno)."""
    import ctypes
    import ctypes.util
    import math
    import random
    from omakase.types.sort import sort_strtod
    name = ctypes.util.find_library("c")
    if not name:
        pytest.skip("no C library to compare with")
    libc = ctypes.CDLL(name, use_errno=True)
    libc.strtod.restype = ctypes.c_double
    libc.strtod.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]

    def ref(s: bytes):
        cs = s.split(b"\0")[0]
        buf = ctypes.create_string_buffer(cs)
        end = ctypes.c_char_p()
        ctypes.set_errno(0)
        v = libc.strtod(buf, ctypes.byref(end))
        used = ctypes.cast(end, ctypes.c_void_p).value - ctypes.addressof(buf)
        if used != len(cs) or ctypes.get_errno() == 34 or math.isnan(v):
            return None
        return v

    rnd = random.Random(7)
    alphabet = b"0123456789.eE+-xXpPabcdfinINFAty \t_()\0"
    cases = [b"1e-310", b"0x1p-1074", b"2.2250738585072011e-308", b"2.4703282292062328e-324",
             b"1.7976931348623159e308", b"0x1p1024", b"  -0x1P-3", b"nan(abc)", b"inFinity",
             b"1.e5", b".e5", b"1e+", b"0x.", b""]
    cases += [bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))
              for _ in range(8000)]
    for s in cases:
        assert sort_strtod(s) == ref(s), s
