"""Set commands through redis-py, every assertion run over both encodings.

The ``enc`` fixture keeps ``set-max-intset-entries`` at its default (integer
members give an intset) or sets it to 0 (every set is a hashtable); the
transition tests cross the thresholds exactly.  Propagation (SPOP as SREM /
DEL) and keyspace events are checked in process.
"""
from __future__ import annotations

import collections

import pytest

from helpers import err
from inproc import inproc_fixture, name_key

INTSET = "intset"
HASHTABLE = "hashtable"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


@pytest.fixture(params=[INTSET, HASHTABLE])
def enc(request, r):
    if request.param == HASHTABLE:
        r.config_set("set-max-intset-entries", 0)
    yield request.param
    r.config_set("set-max-intset-entries", 512)


def encoding(r, key) -> str:
    return r.object("encoding", key).decode()


def ints(*vals) -> set:
    return {b"%d" % v for v in vals}


def test_sadd_srem_basics(r, enc):
    assert r.sadd("s", 3, 1, 2, 1) == 3
    assert encoding(r, "s") == enc
    assert r.sadd("s", 2, 4) == 1
    assert r.scard("s") == 4
    assert r.scard("nokey") == 0
    assert r.smembers("s") == ints(1, 2, 3, 4)
    if enc == INTSET:
        assert r.execute_command("SMEMBERS", "s") == {b"1", b"2", b"3", b"4"}
        assert r.sort("s", by="nosort") == [b"1", b"2", b"3", b"4"]     # ascending
    assert r.sismember("s", 2) is True or r.sismember("s", 2) == 1
    assert r.sismember("s", 9) in (False, 0)
    assert r.sismember("s", "abc") in (False, 0)
    assert r.sismember("s", "02") in (False, 0)
    assert r.sismember("nokey", 1) in (False, 0)
    assert r.smismember("s", 1, 9, "x", 4) == [1, 0, 0, 1]
    assert r.smismember("nokey", 1, 2) == [0, 0]
    assert r.srem("s", 1, 9, "x") == 1
    assert r.srem("nokey", 1) == 0
    assert r.srem("s", 2, 3, 4, 5) == 3
    assert r.exists("s") == 0


def test_string_members(r, enc):
    members = [b"a", b"", b"1.5", b"01", b"-0", b"+1", b" 1", b"9223372036854775808",
               b"x" * 100, b"\x00\xff"]
    assert r.sadd("s", *members) == len(members)
    assert encoding(r, "s") == HASHTABLE
    assert r.smembers("s") == set(members)
    for m in members:
        assert r.sismember("s", m)
    assert r.srem("s", *members[:5]) == 5
    assert r.smembers("s") == set(members[5:])


def test_integer_edge_members(r, enc):
    vals = [0, -1, 32767, -32768, 32768, 2147483647, -2147483648, 2147483648,
            9223372036854775807, -9223372036854775808]
    assert r.sadd("s", *vals) == len(vals)
    assert encoding(r, "s") == enc
    assert r.smembers("s") == ints(*vals)
    for v in vals:
        assert r.sismember("s", v)
    assert r.srem("s", 32768, 9223372036854775807) == 2
    assert r.smembers("s") == ints(*[v for v in vals if v not in (32768, 9223372036854775807)])


def test_smove(r, enc):
    r.sadd("a", 1, 2, 3)
    r.sadd("b", 3, 4)
    assert r.smove("a", "b", 1) is True
    assert r.smove("a", "b", 9) is False
    assert r.smove("nokey", "b", 1) is False
    assert r.smove("a", "b", 3) is True                # already in b
    assert r.smembers("a") == ints(2) and r.smembers("b") == ints(1, 3, 4)
    assert r.smove("a", "c", 2) is True                # a emptied, c created
    assert r.exists("a") == 0 and r.smembers("c") == ints(2)
    assert r.smove("c", "c", 2) is True
    assert r.smove("c", "c", 5) is False
    r.set("str", "x")
    assert err(r, "SMOVE", "c", "str", "2") == WRONGTYPE
    assert err(r, "SMOVE", "str", "c", "2") == WRONGTYPE
    assert r.smove("nokey", "str", 2) is False
    r.sadd("d", "x")
    r.smove("d", "e", "x")
    assert encoding(r, "e") == HASHTABLE              # created for a non-integer
    r.sadd("f", 1)
    r.smove("f", "g", 1)
    assert encoding(r, "g") == enc


def test_set_algebra(r, enc):
    r.sadd("a", 1, 2, 3, 4, 5)
    r.sadd("b", 4, 5, 6)
    r.sadd("c", 5, 7)
    assert r.sinter("a", "b") == ints(4, 5)
    assert r.sinter("a", "b", "c") == ints(5)
    assert r.sinter("a", "nokey") == set()
    assert r.sinter("a", "a") == ints(1, 2, 3, 4, 5)
    assert r.sunion("a", "b", "nokey") == ints(1, 2, 3, 4, 5, 6)
    assert r.sdiff("a", "b", "c") == ints(1, 2, 3)
    assert r.sdiff("a", "a") == set()
    assert r.sdiff("nokey", "a") == set()
    assert r.sdiff("a", "nokey") == ints(1, 2, 3, 4, 5)
    assert r.sintercard(2, ["a", "b"]) == 2
    assert r.sintercard(3, ["a", "b", "c"]) == 1
    assert r.sintercard(2, ["a", "b"], limit=1) == 1
    assert r.sintercard(2, ["a", "b"], limit=0) == 2
    assert r.sintercard(2, ["a", "nokey"]) == 0
    assert r.sintercard(1, ["a"], limit=3) == 3
    r.sadd("x", "a", "b", "5")
    assert r.sinter("a", "x") == ints(5)
    assert r.sinter("x", "a") == ints(5)
    assert r.sunion("a", "x") == ints(1, 2, 3, 4, 5) | {b"a", b"b"}
    assert r.sdiff("x", "a") == {b"a", b"b"}
    assert r.sdiff("a", "x", "b") == ints(1, 2, 3)


def test_intset_reply_order(r):
    # Intset results come out ascending, exactly as Redis orders them.
    r.sadd("a", 30, -2, 10, 7)
    r.sadd("b", 10, 7, 99, -2)
    assert r.execute_command("SINTER", "a", "b") == {b"-2", b"7", b"10"}
    assert r.sort("a", by="nosort") == [b"-2", b"7", b"10", b"30"]
    r.sunionstore("u", "a", "b")
    assert r.sort("u", by="nosort") == [b"-2", b"7", b"10", b"30", b"99"]


def test_store_variants(r, enc):
    r.sadd("a", 1, 2, 3)
    r.sadd("b", 2, 3, 4)
    assert r.sinterstore("d", "a", "b") == 2
    assert r.smembers("d") == ints(2, 3)
    assert encoding(r, "d") == enc
    assert r.sunionstore("d", "a", "b") == 4
    assert r.smembers("d") == ints(1, 2, 3, 4)
    assert r.sdiffstore("d", "a", "b") == 1
    assert r.smembers("d") == ints(1)
    # destination overwritten whatever it held, TTL dropped
    r.set("d", "string")
    r.expire("d", 100)
    assert r.sunionstore("d", "a") == 3
    assert r.ttl("d") == -1
    assert r.type("d") == b"set"
    # empty results delete the destination
    assert r.sinterstore("d", "a", "nokey") == 0
    assert r.exists("d") == 0
    r.sadd("d", 1)
    assert r.sdiffstore("d", "a", "a") == 0
    assert r.exists("d") == 0
    r.sadd("d", 1)
    assert r.sunionstore("d", "nokey") == 0
    assert r.exists("d") == 0
    # the destination may be a source
    assert r.sunionstore("a", "a", "b") == 4
    assert r.smembers("a") == ints(1, 2, 3, 4)
    # string members make a hashtable result, integers an intset (when allowed)
    r.sadd("s", "x", 1)
    r.sinterstore("i", "s", "a")
    assert r.smembers("i") == ints(1)
    assert encoding(r, "i") == enc
    r.sunionstore("u", "s", "a")
    assert encoding(r, "u") == HASHTABLE


def test_spop(r, enc):
    assert r.spop("nokey") is None
    assert r.spop("nokey", 3) == []
    r.sadd("s", *range(10))
    m = r.spop("s")
    assert int(m) in range(10)
    assert r.scard("s") == 9
    assert r.spop("s", 0) == []
    got = r.spop("s", 3)
    assert len(got) == 3 and len(set(got)) == 3
    assert r.scard("s") == 6
    got2 = r.spop("s", 5)                          # the "keep 1" strategy
    assert len(got2) == 5
    assert r.scard("s") == 1
    left = r.smembers("s")
    assert not (left & set(got)) and not (left & set(got2)) and m not in left
    assert len(r.spop("s", 10)) == 1
    assert r.exists("s") == 0
    r.sadd("t", "only")
    assert r.spop("t") == b"only"
    assert r.exists("t") == 0
    assert err(r, "SPOP", "s", "-1") == "value is out of range, must be positive"
    assert err(r, "SPOP", "s", "x") == "value is out of range, must be positive"
    assert err(r, "SPOP", "s", "1", "2") == "syntax error"


def test_spop_case3_rebuilds_encoding(r):
    # SPOP's CASE 3 keeps the survivors in a new set: a hashtable set whose
    # survivors are all integers becomes an intset again, as in Redis.
    r.sadd("s", "a", 1, 2, 3, 4, 5)
    assert encoding(r, "s") == HASHTABLE
    while True:
        r.delete("s")
        r.sadd("s", "a", 1, 2, 3, 4, 5)
        popped = r.spop("s", 5)                    # remaining 1 * 5 > 5 is false
        if b"a" in popped:
            break
    assert encoding(r, "s") == INTSET


def test_spop_distribution(r, enc):
    r.sadd("s", *range(10))
    counts = collections.Counter()
    for _ in range(300):
        r.delete("s")
        r.sadd("s", *range(10))
        counts[r.spop("s")] += 1
    assert len(counts) == 10


def test_srandmember(r, enc):
    assert r.srandmember("nokey") is None
    assert r.srandmember("nokey", 5) == []
    assert r.srandmember("nokey", -5) == []
    r.sadd("s", *range(20))
    assert int(r.srandmember("s")) in range(20)
    assert r.srandmember("s", 0) == []
    for count in (1, 5, 10, 19, 20, 100):
        got = r.srandmember("s", count)
        assert len(got) == min(count, 20) and len(set(got)) == len(got)
        assert set(got) <= ints(*range(20))
    got = r.srandmember("s", -50)
    assert len(got) == 50 and set(got) <= ints(*range(20))
    if enc == INTSET:
        assert r.srandmember("s", 100) == [b"%d" % i for i in range(20)]
    seen = set()
    for _ in range(300):
        seen.add(r.srandmember("s"))
    assert len(seen) >= 15
    assert r.scard("s") == 20
    assert err(r, "SRANDMEMBER", "s", "x") == "value is not an integer or out of range"
    assert err(r, "SRANDMEMBER", "s", "1", "2") == "syntax error"
    assert err(r, "SRANDMEMBER", "s", "-9223372036854775808") == \
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"


def test_resp3_shapes(server, r, enc):
    from rawclient import RawClient
    r.sadd("s", 1, 2, 3)
    c = RawClient(server.host, server.port)
    try:
        c.call("HELLO", "3")
        assert c.call("SMEMBERS", "s").startswith(b"~3\r\n")       # a RESP3 set
        assert c.call("SRANDMEMBER", "s", 2).startswith(b"*2\r\n")  # an array
        assert c.call("SRANDMEMBER", "s", -5).startswith(b"*5\r\n")
        assert c.call("SRANDMEMBER", "s", 5).startswith(b"*3\r\n")
        assert c.call("SPOP", "s", 1).startswith(b"~1\r\n")         # a set
        assert c.call("SPOP", "nokey", 1) == b"~0\r\n"
        assert c.call("SPOP", "nokey") == b"_\r\n"
        assert c.call("SRANDMEMBER", "nokey", 2) == b"*0\r\n"
        assert c.call("SINTER", "s", "nokey") == b"~0\r\n"
        assert c.call("SUNION", "s").startswith(b"~2\r\n")
        assert c.call("SDIFF", "nokey") == b"~0\r\n"
        assert c.call("SMISMEMBER", "nokey", 1, 9) == b"*2\r\n:0\r\n:0\r\n"
    finally:
        c.close()


def test_sscan(r, enc):
    n = 400
    r.config_set("set-max-intset-entries", 1000 if enc == INTSET else 0)
    r.sadd("s", *range(n))
    assert encoding(r, "s") == enc
    seen = set()
    cursor = 0
    steps = 0
    while True:
        cursor, part = r.sscan("s", cursor, count=20)
        seen.update(part)
        steps += 1
        if cursor == 0:
            break
    assert seen == ints(*range(n))
    assert (steps == 1) == (enc == INTSET)
    cursor, part = r.sscan("s", 0, match="1?", count=10000)
    assert set(part) == ints(*range(10, 20))
    assert r.sscan("nokey", 0) == (0, [])


def test_sscan_guarantee_under_writes(r):
    r.sadd("s", *["m%d" % i for i in range(500)])
    seen = set()
    cursor = 0
    i = 0
    while True:
        cursor, part = r.sscan("s", cursor, count=10)
        seen.update(part)
        r.sadd("s", "new%d" % i)
        r.srem("s", "new%d" % (i - 2))
        i += 1
        if cursor == 0:
            break
    assert {b"m%d" % k for k in range(500)} <= seen


# -- encoding transitions ------------------------------------------------------
def test_transition_intset_entries(r):
    r.config_set("set-max-intset-entries", 4)
    try:
        r.sadd("s", 1, 2, 3, 4)
        assert encoding(r, "s") == INTSET
        r.sadd("s", 4)
        assert encoding(r, "s") == INTSET
        r.sadd("s", 5)
        assert encoding(r, "s") == HASHTABLE
        r.srem("s", 1, 2, 3, 4)
        assert encoding(r, "s") == HASHTABLE          # never back
        r.sadd("t", 1, 2, 3, 4, 5)
        assert encoding(r, "t") == HASHTABLE
    finally:
        r.config_set("set-max-intset-entries", 512)


def test_transition_non_integer(r):
    r.sadd("s", 1, 2)
    assert encoding(r, "s") == INTSET
    r.sadd("s", "a")
    assert encoding(r, "s") == HASHTABLE
    r.srem("s", "a")
    assert encoding(r, "s") == HASHTABLE
    for m in ("01", "+1", " 1", "1.0", "-0", "9223372036854775808", ""):
        r.delete("x")
        r.sadd("x", m)
        assert encoding(r, "x") == HASHTABLE, m
    for m in ("0", "-1", "9223372036854775807", "-9223372036854775808"):
        r.delete("x")
        r.sadd("x", m)
        assert encoding(r, "x") == INTSET, m
    r.delete("x")
    r.sadd("x", "a", 1)                              # first member decides creation
    assert encoding(r, "x") == HASHTABLE


def test_transition_default_limit(r):
    r.sadd("s", *range(512))
    assert encoding(r, "s") == INTSET
    r.sadd("s", 512)
    assert encoding(r, "s") == HASHTABLE
    assert r.scard("s") == 513


def test_wrongtype(r):
    r.set("str", "x")
    r.sadd("s", 1)
    for cmd in (["SADD", "str", "1"], ["SREM", "str", "1"], ["SCARD", "str"],
                ["SISMEMBER", "str", "1"], ["SMISMEMBER", "str", "1"], ["SMEMBERS", "str"],
                ["SRANDMEMBER", "str"], ["SRANDMEMBER", "str", "2"], ["SPOP", "str"],
                ["SPOP", "str", "2"], ["SINTER", "s", "str"], ["SINTER", "nokey", "str"],
                ["SINTERSTORE", "d", "s", "str"], ["SINTERCARD", "2", "s", "str"],
                ["SUNION", "str"], ["SUNIONSTORE", "d", "s", "str"], ["SDIFF", "nokey", "str"],
                ["SDIFFSTORE", "d", "str"], ["SSCAN", "str", "0"]):
        assert err(r, *cmd) == WRONGTYPE, cmd
    assert r.exists("d") == 0
    assert r.get("str") == b"x"


def test_sintercard_errors(r):
    r.sadd("s", 1, 2)
    assert err(r, "SINTERCARD", "0", "s") == "numkeys should be greater than 0"
    assert err(r, "SINTERCARD", "x", "s") == "numkeys should be greater than 0"
    assert err(r, "SINTERCARD", "2", "s") == \
        "Number of keys can't be greater than number of args"
    assert err(r, "SINTERCARD", "1", "s", "LIMIT") == "syntax error"
    assert err(r, "SINTERCARD", "1", "s", "LIMIT", "-1") == "LIMIT can't be negative"
    assert err(r, "SINTERCARD", "1", "s", "LIMIT", "x") == "LIMIT can't be negative"
    assert err(r, "SINTERCARD", "1", "s", "FOO", "1") == "syntax error"
    assert r.execute_command("SINTERCARD", "1", "s", "limit", "1", "LIMIT", "5") == 2


# -- in process: propagation and keyspace events ----------------------------------
inproc = inproc_fixture(event=name_key)


def test_spop_propagation(inproc):
    inproc("SADD", "s", *range(10))
    inproc.take()
    reply = inproc("SPOP", "s")
    member = reply.split(b"\r\n")[1]
    assert inproc.take() == ([[b"SREM", b"s", member]], [("spop", b"s")])
    # CASE 2: one SREM per popped member, wrapped in MULTI/EXEC
    inproc("SPOP", "s", "2")
    prop, events = inproc.take()
    assert prop[0] == [b"MULTI"] and prop[-1] == [b"EXEC"]
    assert len(prop) == 4 and all(p[:2] == [b"SREM", b"s"] for p in prop[1:3])
    assert events == [("spop", b"s")]
    # CASE 3: still one SREM per popped member
    inproc("SPOP", "s", "6")
    prop, _ = inproc.take()
    assert len(prop) == 8
    assert {p[2] for p in prop[1:-1]}.isdisjoint({m for m in inproc("SMEMBERS", "s").split()})
    # CASE 1: the whole set -> DEL
    inproc("SPOP", "s", "100")
    assert inproc.take() == ([[b"DEL", b"s"]], [("spop", b"s"), ("del", b"s")])
    # a single SPOP count 1 is one SREM, no transaction
    inproc("SADD", "t", "a", "b")
    inproc.take()
    inproc("SPOP", "t", "1")
    prop, _ = inproc.take()
    assert len(prop) == 1 and prop[0][:2] == [b"SREM", b"t"]
    # the last member of a single SPOP: SREM, then the key is gone
    inproc("SPOP", "t")
    prop, events = inproc.take()
    assert prop[0][:2] == [b"SREM", b"t"] and events == [("spop", b"t"), ("del", b"t")]
    # nothing to pop: nothing propagated
    inproc("SPOP", "t", "3")
    inproc("SPOP", "t")
    assert inproc.take() == ([], [])


def test_set_events(inproc):
    inproc("SADD", "a", "1", "2")
    assert inproc.take()[1] == [("sadd", b"a")]
    inproc("SADD", "a", "1")
    assert inproc.take() == ([], [])
    inproc("SREM", "a", "1")
    assert inproc.take()[1] == [("srem", b"a")]
    inproc("SMOVE", "a", "b", "2")
    assert inproc.take()[1] == [("srem", b"a"), ("del", b"a"), ("sadd", b"b")]
    inproc("SADD", "c", "3")
    inproc("SINTERSTORE", "d", "b", "c")
    inproc("SUNIONSTORE", "d", "b", "c")
    inproc("SDIFFSTORE", "e", "b", "c")
    inproc("SINTERSTORE", "e", "b", "c")
    assert inproc.take()[1] == [("sadd", b"c"), ("sunionstore", b"d"),
                                ("sdiffstore", b"e"), ("del", b"e")]
    dirty = inproc.server.dirty
    inproc("SADD", "f", "1", "2", "3")
    assert inproc.server.dirty == dirty + 3


def test_copy_is_independent(r, enc):
    r.sadd("s", 1, 2, "x" if enc == HASHTABLE else 3)
    assert r.copy("s", "t") == 1
    assert encoding(r, "t") == encoding(r, "s")
    r.sadd("t", 99)
    r.srem("s", 1)
    assert r.scard("s") == 2 and r.scard("t") == 4
    assert r.sismember("t", 1) and not r.sismember("s", 99)
