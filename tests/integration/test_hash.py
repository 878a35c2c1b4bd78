"""Hash commands through redis-py, every assertion run over both encodings.

The ``enc`` fixture sets ``hash-max-listpack-entries`` high (listpack) or to
0 (every hash is a hashtable from its first field) and checks OBJECT
ENCODING along the way; the transition tests cross each threshold exactly.
Propagation and keyspace events are checked in process (no AOF needed).
"""
from __future__ import annotations

import pytest

from helpers import err
from inproc import flag_name_key, inproc_fixture

LISTPACK = "listpack"
HASHTABLE = "hashtable"


@pytest.fixture(params=[LISTPACK, HASHTABLE])
def enc(request, r):
    if request.param == HASHTABLE:
        r.config_set("hash-max-listpack-entries", 0)
    yield request.param
    r.config_set("hash-max-listpack-entries", 512)
    r.config_set("hash-max-listpack-value", 64)


def encoding(r, key) -> str:
    return r.object("encoding", key).decode()


def test_hset_hget_basics(r, enc):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert encoding(r, "h") == enc
    assert r.execute_command("HSET", "h", "a", "3", "c", "4", "a", "5") == 1
    assert r.hget("h", "a") == b"5"
    assert r.hget("h", "zz") is None
    assert r.hget("nokey", "a") is None
    assert r.hlen("h") == 3
    assert r.hlen("nokey") == 0
    assert r.hexists("h", "b") is True
    assert r.hexists("h", "zz") is False
    assert r.hexists("nokey", "b") is False
    assert r.hmget("h", "a", "zz", "c", "b") == [b"5", None, b"4", b"2"]
    assert r.hmget("nokey", "a", "b") == [None, None]
    assert r.hstrlen("h", "a") == 1
    assert r.hstrlen("h", "zz") == 0
    assert r.hstrlen("nokey", "a") == 0
    assert r.execute_command("HMSET", "h", "d", "x" * 10) is True
    assert r.hstrlen("h", "d") == 10
    assert encoding(r, "h") == enc


def test_hgetall_keys_vals_order(r, enc):
    fields = [(b"f%d" % i, b"v%d" % i) for i in (5, 1, 9, 3)]
    for f, v in fields:
        r.hset("h", f, v)
    pairs = list(r.hgetall("h").items())        # redis-py keeps reply order
    if enc == LISTPACK:
        assert pairs == fields                      # insertion order
        assert r.hkeys("h") == [f for f, _ in fields]
        assert r.hvals("h") == [v for _, v in fields]
    else:
        assert sorted(pairs) == sorted(fields)
    assert sorted(r.hkeys("h")) == sorted(f for f, _ in fields)
    assert r.hgetall("nokey") == {}
    assert r.hkeys("nokey") == [] and r.hvals("nokey") == []


def test_hgetall_resp3_map(r3, enc):
    if enc == HASHTABLE:
        r3.config_set("hash-max-listpack-entries", 0)
    r3.hset("h", mapping={"a": "1", "b": "2"})
    assert r3.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert r3.hgetall("nokey") == {}


def test_integer_like_values_roundtrip(r, enc):
    vals = ["0", "-1", "127", "128", "-4096", "4095", "32767", "-32768", "8388607",
            "2147483647", "-2147483648", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "01", "-0", "+1", " 1", "1.5", ""]
    for i, v in enumerate(vals):
        r.hset("h", "k%d" % i, v)
    for i, v in enumerate(vals):
        assert r.hget("h", "k%d" % i) == v.encode()
        assert r.hstrlen("h", "k%d" % i) == len(v)
    # integer-looking fields too
    r.hset("h", "12", "x")
    r.hset("h", "-7", "y")
    assert r.hget("h", "12") == b"x" and r.hget("h", "-7") == b"y"
    assert encoding(r, "h") == enc


def test_field_equal_to_a_value(r, enc):
    r.hset("h", mapping={"a": "b", "b": "a"})
    assert r.hget("h", "a") == b"b"
    assert r.hget("h", "b") == b"a"
    r.hset("h", "c", "c")
    assert r.hdel("h", "a") == 1
    assert r.hget("h", "b") == b"a"
    assert r.hexists("h", "a") is False
    assert r.hget("h", "c") == b"c"


def test_hsetnx(r, enc):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == b"1"
    assert r.hsetnx("h", "b", "2") == 1
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert encoding(r, "h") == enc


def test_hdel(r, enc):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hdel("h", "a", "zz", "a") == 1
    assert r.hdel("nokey", "a") == 0
    assert r.hdel("h", "zz") == 0
    assert r.hdel("h", "b", "c", "d") == 2
    assert r.exists("h") == 0                    # empty hashes are never stored


def test_hincrby(r, enc):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -10) == -5
    r.hset("h", "big", "9223372036854775806")
    assert r.hincrby("h", "big", 1) == 9223372036854775807
    assert err(r, "HINCRBY", "h", "big", "1") == "increment or decrement would overflow"
    r.hset("h", "small", "-9223372036854775807")
    assert r.hincrby("h", "small", -1) == -9223372036854775808
    assert err(r, "HINCRBY", "h", "small", "-1") == "increment or decrement would overflow"
    r.hset("h", "s", "abc")
    assert err(r, "HINCRBY", "h", "s", "1") == "hash value is not an integer"
    for bad in (" 1", "+1", "01", "1.0", ""):
        r.hset("h", "s", bad)
        assert err(r, "HINCRBY", "h", "s", "1") == "hash value is not an integer"
    assert err(r, "HINCRBY", "h", "n", "x") == "value is not an integer or out of range"
    assert err(r, "HINCRBY", "h", "n", "9223372036854775808") == \
        "value is not an integer or out of range"
    assert r.hget("h", "n") == b"-5"
    assert encoding(r, "h") == enc


def incrbyfloat(r, key, field, incr) -> bytes:
    """HINCRBYFLOAT's exact reply text (redis-py would turn it into a float)."""
    r.hincrbyfloat(key, field, incr)
    return r.hget(key, field)


def test_hincrbyfloat(r, enc):
    assert r.hincrbyfloat("h", "f", 10.5) == 10.5
    assert incrbyfloat(r, "h", "f", "0.1") == b"10.6"
    assert incrbyfloat(r, "h", "f", "-5") == b"5.6"
    r.hset("h", "i", "3")
    assert incrbyfloat(r, "h", "i", "1.5e2") == b"153"
    r.hset("h", "hx", "0x10")
    assert incrbyfloat(r, "h", "hx", "1") == b"17"
    assert err(r, "HINCRBYFLOAT", "h", "f", "abc") == "value is not a valid float"
    assert err(r, "HINCRBYFLOAT", "h", "f", "inf") == "value is NaN or Infinity"
    assert err(r, "HINCRBYFLOAT", "h", "f", "nan") == "value is not a valid float"
    r.hset("h", "s", "abc")
    assert err(r, "HINCRBYFLOAT", "h", "s", "1") == "hash value is not a float"
    r.hset("h", "s", " 1")
    assert err(r, "HINCRBYFLOAT", "h", "s", "1") == "hash value is not a float"
    r.hset("h", "inf", "inf")
    assert err(r, "HINCRBYFLOAT", "h", "inf", "1") == "increment would produce NaN or Infinity"
    r.hset("h", "m", "1.18e4932")
    assert err(r, "HINCRBYFLOAT", "h", "m", "0.01e4932") == \
        "increment would produce NaN or Infinity"
    # long double range and precision, as Redis prints it
    r.hset("h", "ld", "1.7e308")
    out = incrbyfloat(r, "h", "ld", "1.7e308")
    assert out.startswith(b"34000000000000000000") and len(out) == 309


def test_hrandfield(r, enc):
    assert r.hrandfield("nokey") is None
    assert r.hrandfield("nokey", 3) == []
    fields = {b"f%d" % i: b"v%d" % i for i in range(20)}
    r.hset("h", mapping=fields)
    assert r.hrandfield("h") in fields
    assert r.hrandfield("h", 0) == []
    # positive count: distinct fields, at most the hash size
    for count in (1, 5, 10, 19, 20, 50):
        got = r.hrandfield("h", count)
        assert len(got) == min(count, 20)
        assert len(set(got)) == len(got)
        assert set(got) <= set(fields)
    # the whole hash in its order when count >= size
    all_ = r.hrandfield("h", 100, withvalues=True)
    assert dict(zip(all_[0::2], all_[1::2])) == fields
    if enc == LISTPACK:
        assert all_[0::2] == list(fields)
    # negative count: repetitions allowed, exactly |count| elements
    got = r.hrandfield("h", -100)
    assert len(got) == 100 and set(got) <= set(fields)
    got = r.hrandfield("h", -7, withvalues=True)
    assert len(got) == 14
    for f, v in zip(got[0::2], got[1::2]):
        assert fields[f] == v
    got = r.hrandfield("h", 5, withvalues=True)
    for f, v in zip(got[0::2], got[1::2]):
        assert fields[f] == v
    # every field shows up eventually (not stuck on a few)
    seen = set()
    for _ in range(200):
        seen.add(r.hrandfield("h"))
    assert len(seen) >= 15


def test_hrandfield_resp3_shapes(r3, enc):
    if enc == HASHTABLE:
        r3.config_set("hash-max-listpack-entries", 0)
    r3.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    got = r3.execute_command("HRANDFIELD", "h", 2, "WITHVALUES")
    assert len(got) == 2 and all(isinstance(p, list) and len(p) == 2 for p in got)
    got = r3.execute_command("HRANDFIELD", "h", -5, "WITHVALUES")
    assert len(got) == 5 and all(len(p) == 2 for p in got)
    got = r3.execute_command("HRANDFIELD", "h", 5)
    assert sorted(got) == [b"a", b"b", b"c"]


def test_hrandfield_errors(r, enc):
    r.hset("h", "a", "1")
    assert err(r, "HRANDFIELD", "h", "x") == "value is not an integer or out of range"
    assert err(r, "HRANDFIELD", "h", "1", "foo") == "syntax error"
    assert err(r, "HRANDFIELD", "h", "1", "withvalues", "x") == "syntax error"
    assert err(r, "HRANDFIELD", "h", "-9223372036854775808") == \
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    assert err(r, "HRANDFIELD", "h", "4611686018427387904", "WITHVALUES") == \
        "value is out of range"
    assert err(r, "HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES") == \
        "value is out of range"
    assert r.execute_command("HRANDFIELD", "h", "1", "withVALUES\x00junk") == [b"a", b"1"]


def test_hscan(r, enc):
    fields = {b"f%d" % i: b"v%d" % i for i in range(300)}
    r.config_set("hash-max-listpack-entries", 1000 if enc == LISTPACK else 0)
    r.hset("h", mapping=fields)
    assert encoding(r, "h") == enc
    got = {}
    cursor = 0
    steps = 0
    while True:
        cursor, part = r.hscan("h", cursor, count=20)
        got.update(part)
        steps += 1
        if cursor == 0:
            break
    assert got == fields
    if enc == LISTPACK:
        assert steps == 1                        # a listpack answers in one go
    else:
        assert steps > 1
    cursor, part = r.hscan("h", 0, match="f1*", count=1000)
    assert set(part) == {f for f in fields if f.startswith(b"f1")}
    assert r.hscan("nokey", 0) == (0, {})


def test_hscan_guarantee_under_writes(r):
    r.config_set("hash-max-listpack-entries", 0)
    for i in range(500):
        r.hset("h", "f%d" % i, i)
    seen = set()
    cursor = 0
    i = 0
    while True:
        cursor, part = r.hscan("h", cursor, count=10)
        seen.update(part)
        # churn: add new fields and delete some that are not "stable"
        r.hset("h", "new%d" % i, i)
        r.hdel("h", "new%d" % (i - 3))
        i += 1
        if cursor == 0:
            break
    assert {b"f%d" % k for k in range(500)} <= seen
    r.config_set("hash-max-listpack-entries", 512)


# -- encoding transitions ------------------------------------------------------
def test_transition_entries(r):
    r.config_set("hash-max-listpack-entries", 4)
    try:
        r.hset("h", mapping={"a": 1, "b": 2, "c": 3, "d": 4})
        assert encoding(r, "h") == LISTPACK
        r.hset("h", "a", "updated")                  # update: no new entry
        assert encoding(r, "h") == LISTPACK
        r.hset("h", "e", 5)
        assert encoding(r, "h") == HASHTABLE
        r.hdel("h", "a", "b", "c", "d")              # never back to listpack
        assert encoding(r, "h") == HASHTABLE
        assert r.hgetall("h") == {b"e": b"5"}
        # created with more fields than the limit in one HSET
        r.hset("big", mapping={str(i): i for i in range(5)})
        assert encoding(r, "big") == HASHTABLE
        r.hset("ok", mapping={str(i): i for i in range(4)})
        assert encoding(r, "ok") == LISTPACK
        # HSETNX and HINCRBY* also count entries
        r.hsetnx("ok", "x", 1)
        assert encoding(r, "ok") == HASHTABLE
        r.hset("i", mapping={str(i): i for i in range(4)})
        r.hincrby("i", "new", 1)
        assert encoding(r, "i") == HASHTABLE
        r.hset("f", mapping={str(i): i for i in range(4)})
        r.hincrbyfloat("f", "new", 1.5)
        assert encoding(r, "f") == HASHTABLE
    finally:
        r.config_set("hash-max-listpack-entries", 512)


def test_transition_value_length(r):
    r.config_set("hash-max-listpack-value", 8)
    try:
        r.hset("h", "f", "x" * 8)
        assert encoding(r, "h") == LISTPACK
        r.hset("h", "f", "x" * 9)                    # an update converts too
        assert encoding(r, "h") == HASHTABLE
        r.hset("k", "x" * 9, "v")                    # a long field
        assert encoding(r, "k") == HASHTABLE
        # try-conversion looks at every argument before inserting anything
        r.hset("m", "a", "1")
        r.execute_command("HSET", "m", "a", "2", "b", "y" * 9)
        assert encoding(r, "m") == HASHTABLE
        assert r.hgetall("m") == {b"a": b"2", b"b": b"y" * 9}
        # HSETNX on an existing field does nothing, even with a long value
        r.hset("n", "a", "1")
        assert r.hsetnx("n", "a", "z" * 20) == 0
        assert encoding(r, "n") == LISTPACK
        assert r.hsetnx("n", "b", "z" * 20) == 1
        assert encoding(r, "n") == HASHTABLE
        # HINCRBY/HINCRBYFLOAT: results longer than the limit convert
        r.hset("p", "a", "1")
        r.hincrby("p", "a", 123456789)
        assert encoding(r, "p") == HASHTABLE
        r.hset("q", "a", "1")
        r.hincrbyfloat("q", "a", 0.123456789)
        assert encoding(r, "q") == HASHTABLE
        r.hincrby("q2", "x" * 9, 1)
        assert encoding(r, "q2") == HASHTABLE
        # a new hash with one long value
        r.hset("new", mapping={"a": "1", "b": "w" * 9})
        assert encoding(r, "new") == HASHTABLE
    finally:
        r.config_set("hash-max-listpack-value", 64)


def test_transition_zero_entries(r):
    r.config_set("hash-max-listpack-entries", 0)
    try:
        r.hset("h", "a", "1")
        assert encoding(r, "h") == HASHTABLE
    finally:
        r.config_set("hash-max-listpack-entries", 512)
    r.hset("g", "a", "1")
    assert encoding(r, "g") == LISTPACK


def test_big_hash_listpack(r):
    # a listpack hash with many fields (offset index kept) stays correct
    r.config_set("hash-max-listpack-entries", 2000)
    try:
        n = 1500
        r.hset("h", mapping={"field:%d" % i: "v%d" % i for i in range(n)})
        assert encoding(r, "h") == LISTPACK
        assert r.hget("h", "field:777") == b"v777"
        assert r.hdel("h", *["field:%d" % i for i in range(0, n, 2)]) == n // 2
        assert r.hlen("h") == n // 2
        assert r.hget("h", "field:777") == b"v777"
        assert r.hget("h", "field:778") is None
        r.hset("h", "field:1", "changed")
        assert r.hget("h", "field:1") == b"changed"
        r.hset("h", "x" * 100, "1")
        assert encoding(r, "h") == HASHTABLE
        assert r.hget("h", "field:777") == b"v777"
        assert r.hlen("h") == n // 2 + 1
    finally:
        r.config_set("hash-max-listpack-entries", 512)


# -- errors --------------------------------------------------------------------
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_wrongtype(r):
    r.set("s", "x")
    for cmd in (["HSET", "s", "f", "v"], ["HMSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"],
                ["HGET", "s", "f"], ["HMGET", "s", "f"], ["HGETALL", "s"], ["HDEL", "s", "f"],
                ["HLEN", "s"], ["HEXISTS", "s", "f"], ["HKEYS", "s"], ["HVALS", "s"],
                ["HSTRLEN", "s", "f"], ["HINCRBY", "s", "f", "1"],
                ["HINCRBYFLOAT", "s", "f", "1"], ["HRANDFIELD", "s"],
                ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"]):
        assert err(r, *cmd) == WRONGTYPE, cmd
    assert r.get("s") == b"x"
    # argument errors come before the type check where Redis parses first
    assert err(r, "HINCRBY", "s", "f", "x") == "value is not an integer or out of range"
    assert err(r, "HINCRBYFLOAT", "s", "f", "x") == "value is not a valid float"
    assert err(r, "HRANDFIELD", "s", "x") == "value is not an integer or out of range"
    assert err(r, "HSCAN", "s", "x") == "invalid cursor"


def test_arity_errors(r):
    assert err(r, "HSET", "h", "a") == "wrong number of arguments for 'hset' command"
    assert err(r, "HSET", "h", "a", "b", "c") == "wrong number of arguments for 'hset' command"
    assert err(r, "HMSET", "h", "a", "b", "c") == "wrong number of arguments for 'hmset' command"
    assert err(r, "HSETNX", "h", "a") == "wrong number of arguments for 'hsetnx' command"
    assert err(r, "HGET", "h") == "wrong number of arguments for 'hget' command"
    assert err(r, "HDEL", "h") == "wrong number of arguments for 'hdel' command"
    assert r.exists("h") == 0


def test_hscan_options(r):
    r.hset("h", mapping={"a": 1, "b": 2})
    assert err(r, "HSCAN", "h", "0", "COUNT", "0") == "syntax error"
    assert err(r, "HSCAN", "h", "0", "COUNT", "x") == "value is not an integer or out of range"
    assert err(r, "HSCAN", "h", "0", "FOO", "1") == "syntax error"
    assert err(r, "HSCAN", "h", "0", "TYPE", "string") == "syntax error"


# -- in process: propagation and keyspace events ----------------------------------
inproc = inproc_fixture(event=flag_name_key)


NOTIFY_GENERIC = 1 << 2
NOTIFY_HASH = 1 << 6


def test_propagation_and_events(inproc):
    assert inproc("HSET", "h", "a", "1", "b", "2") == b":2\r\n"
    assert inproc.take() == ([[b"HSET", b"h", b"a", b"1", b"b", b"2"]],
                             [(NOTIFY_HASH, "hset", b"h")])
    assert inproc("HINCRBYFLOAT", "h", "a", "0.5") == b"$3\r\n1.5\r\n"
    assert inproc.take() == ([[b"HSET", b"h", b"a", b"1.5"]],
                             [(NOTIFY_HASH, "hincrbyfloat", b"h")])
    inproc("HINCRBY", "h", "b", "3")
    assert inproc.take() == ([[b"HINCRBY", b"h", b"b", b"3"]],
                             [(NOTIFY_HASH, "hincrby", b"h")])
    inproc("HSETNX", "h", "a", "9")
    assert inproc.take() == ([], [])
    inproc("HSETNX", "h", "c", "9")
    assert inproc.take() == ([[b"HSETNX", b"h", b"c", b"9"]], [(NOTIFY_HASH, "hset", b"h")])
    inproc("HDEL", "h", "zz")
    assert inproc.take() == ([], [])
    inproc("HDEL", "h", "a", "b")
    assert inproc.take() == ([[b"HDEL", b"h", b"a", b"b"]], [(NOTIFY_HASH, "hdel", b"h")])
    inproc("HDEL", "h", "c")
    assert inproc.take() == ([[b"HDEL", b"h", b"c"]],
                             [(NOTIFY_HASH, "hdel", b"h"), (NOTIFY_GENERIC, "del", b"h")])
    dirty = inproc.server.dirty
    inproc("HMSET", "h", "a", "1", "b", "2", "a", "3")
    assert inproc.server.dirty == dirty + 3
    inproc("HINCRBYFLOAT", "h", "a", "x")
    inproc("HINCRBY", "h", "zz", "x")
    assert inproc.take()[0] == [[b"HMSET", b"h", b"a", b"1", b"b", b"2", b"a", b"3"]]


def test_copy_and_listpack_memory_shape(inproc):
    # COPY duplicates the value; the copy is independent.
    inproc("HSET", "h", "a", "1")
    inproc("COPY", "h", "h2")
    inproc("HSET", "h2", "a", "2")
    assert inproc("HGET", "h", "a") == b"$1\r\n1\r\n"
    # a small listpack hash keeps no per-field objects and no offset index
    from omakase.encodings.listpack import Listpack
    inproc("HSET", "m", *[x for i in range(10) for x in (b"field%d" % i, b"value-%d" % i)])
    inproc("HGET", "m", "field7")
    inproc("HSET", "m", "field3", "changed")
    inproc("HDEL", "m", "field1")
    obj = inproc.server.dbs[0].peek(b"m")
    assert obj.data.__class__ is Listpack
    assert obj.data._offs is None
    assert obj.data.to_list()[:4] == [b"field0", b"value-0", b"field2", b"value-2"]


@pytest.mark.parametrize("protocol", [2, 3])
def test_hgetall_after_every_kind_of_change(server, protocol):
    # HGETALL of a listpack hash replies from an encoding kept until the
    # hash changes: every write must be seen by the next HGETALL.
    c = server.client(protocol=protocol)
    c.delete("h")
    c.hset("h", mapping={"a": "1", "b": "2", "c": "x"})
    expect = {b"a": b"1", b"b": b"2", b"c": b"x"}
    assert c.hgetall("h") == expect
    steps = [
        (lambda: c.hset("h", "a", "10"), {b"a": b"10"}),
        (lambda: c.hset("h", "d", "4"), {b"d": b"4"}),
        (lambda: c.hsetnx("h", "e", "5"), {b"e": b"5"}),
        (lambda: c.hincrby("h", "b", 5), {b"b": b"7"}),
        (lambda: c.hincrbyfloat("h", "b", 0.5), {b"b": b"7.5"}),
        (lambda: c.hdel("h", "c"), {b"c": None}),
    ]
    for change, delta in steps:
        change()
        for k, v in delta.items():
            if v is None:
                expect.pop(k)
            else:
                expect[k] = v
        assert c.hgetall("h") == expect
        assert c.object("encoding", "h") == b"listpack" or c.object("encoding", "h") == "listpack"
    c.close()
