"""The single-search paths of hashes, streams and lists vs redis-server 7.0.

HINCRBY / HINCRBYFLOAT / HSET / HSETNX find a listpack field once and replace
its value in place (``types/hash.py``); XRANGE / XREVRANGE / XREAD walk a
stream node incrementally (``encodings/stream_index.py``); LREM searches a
node instead of decoding it (``encodings/quicklist.py``).  Random sequences of
those commands (and the reads that observe them) go to omakase and to
Debian's redis-server, with the encoding thresholds varied so that values
change size, integer encodings change width and hashes convert mid-sequence.
Replies must be identical bytes (with the relaxations of the runners reused
from the per-type differential tests); after each sequence OBJECT ENCODING
and, where the bytes are deterministic (listpack hashes, lists, streams),
the DUMP payloads must be identical too.
"""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import examples  # noqa: E402
from rawclient import close_pairs, open_pairs  # noqa: E402
from test_hash_set_diff import DEFAULTS as HASH_DEFAULTS  # noqa: E402
from test_hash_set_diff import Runner as HashRunner  # noqa: E402
from test_list_diff import run_same as list_run_same  # noqa: E402
from test_stream_diff import DEFAULTS as STREAM_DEFAULTS  # noqa: E402
from test_stream_diff import Runner as StreamRunner  # noqa: E402

pytestmark = pytest.mark.differential

LIST_DEFAULTS = [("list-max-listpack-size", "-2"), ("list-compress-depth", "0")]


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs, *[("CONFIG", "SET", name, value)
                         for name, value in HASH_DEFAULTS + STREAM_DEFAULTS + LIST_DEFAULTS])


def same_dump(a, b, key: str) -> None:
    """OBJECT ENCODING, and DUMP when its bytes are deterministic (not a
    hashtable, whose order is the dict's), must be identical."""
    ea, eb = a.call("OBJECT", "ENCODING", key), b.call("OBJECT", "ENCODING", key)
    assert ea == eb, f"OBJECT ENCODING {key}: omakase {ea!r} != redis {eb!r}"
    if b"hashtable" not in eb:
        da, db = a.call("DUMP", key), b.call("DUMP", key)
        assert da == db, f"DUMP {key}: omakase {da!r} != redis {db!r}"


# ---------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------
FIELDS = st.sampled_from(["f0", "f1", "f2", "f3", "127", "x" * 70])
HVALUES = st.sampled_from(["0", "1", "-1", "127", "128", "4095", "-4096", "32767", "8388608",
                           "2147483648", "9223372036854775806", "-9223372036854775807",
                           "01", "1.5", "abc", " 1", "", "y" * 70, "3e2", "1e308"])
INCRS = st.sampled_from(["1", "-1", "100", "-5000", "70000", "9223372036854775807",
                         "-9223372036854775808", "x", "1.5"])
FLOAT_INCRS = st.sampled_from(["1", "0.1", "-2.5", "1e3", "1e-3", "10.50", "-0", "inf", "x",
                               "3", "1e308"])
HKEYS = st.sampled_from(["h", "h2"])

hash_cmd = st.one_of(
    st.tuples(st.just("HINCRBY"), HKEYS, FIELDS, INCRS),
    st.tuples(st.just("HINCRBYFLOAT"), HKEYS, FIELDS, FLOAT_INCRS),
    st.tuples(st.just("HSET"), HKEYS, FIELDS, HVALUES),
    st.tuples(st.just("HSET"), HKEYS, FIELDS, HVALUES, FIELDS, HVALUES),
    st.tuples(st.just("HSETNX"), HKEYS, FIELDS, HVALUES),
    st.tuples(st.just("HDEL"), HKEYS, FIELDS),
    st.tuples(st.just("HGET"), HKEYS, FIELDS),
    st.tuples(st.just("HMGET"), HKEYS, FIELDS, FIELDS, FIELDS),
    st.tuples(st.just("HEXISTS"), HKEYS, FIELDS),
    st.tuples(st.just("HLEN"), HKEYS),
    st.tuples(st.just("HGETALL"), HKEYS),
    st.tuples(st.just("HINCRBY"), st.just("str"), FIELDS, INCRS),
)


@settings(max_examples=examples(50), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proto=st.sampled_from([2, 3]), entries=st.sampled_from(["2", "5", "128"]),
       value=st.sampled_from(["3", "8", "64"]), seq=st.lists(hash_cmd, max_size=40))
def test_hash_sequences(clients, proto, entries, value, seq):
    a, b = clients[proto]
    r = HashRunner(a, b)
    r.reset()
    r.run([["CONFIG", "SET", "hash-max-listpack-entries", entries],
           ["CONFIG", "SET", "hash-max-listpack-value", value],
           ["SET", "str", "x"], ["HSET", "h", "f0", "10", "f1", "1.5"]])
    r.run(seq)
    for key in ("h", "h2"):
        r.run([["HGETALL", key]])
        same_dump(a, b, key)


def test_hash_big_listpack(clients):
    """A listpack of more than 64 entries keeps an offset index: the in-place
    replace then goes through Listpack.replace."""
    a, b = clients[2]
    r = HashRunner(a, b)
    r.reset()
    r.run([["HSET", "h", *[x for i in range(100) for x in ("f%d" % i, "%d" % i)]]])
    for i in range(0, 100, 7):
        r.run([["HINCRBY", "h", "f%d" % i, "1000"], ["HINCRBYFLOAT", "h", "f%d" % (i + 1), "0.5"],
               ["HSET", "h", "f%d" % (i + 2), "v" * (i % 30)], ["HSETNX", "h", "n%d" % i, "1"]])
    r.run([["HGETALL", "h"]])
    same_dump(a, b, "h")


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------
IDS = st.one_of(st.integers(1, 40).map(lambda n: "%d-%d" % (n // 4, n % 4)),
                st.sampled_from(["70000-0", "70000-5", "9000000000-1", "0-1"]))
BOUNDS = st.one_of(IDS, IDS.map(lambda i: "(" + i), st.sampled_from(["-", "+", "5", "(5"]))
PAIRS = st.sampled_from([["a", "1"], ["a", "2", "b", "x"], ["a", "300"], ["c", "-7"],
                         ["a", "z" * 70], ["a", "1", "b", "2", "c", "3"]])
COUNTS = st.sampled_from(["0", "1", "2", "5", "-1"])

stream_cmd = st.one_of(
    st.tuples(st.just("XADD"), st.just("s"), IDS, PAIRS).map(lambda t: [*t[:3], *t[3]]),
    st.tuples(st.just("XDEL"), st.just("s"), IDS),
    st.tuples(st.just("XRANGE"), st.just("s"), BOUNDS, BOUNDS),
    st.tuples(st.just("XRANGE"), st.just("s"), BOUNDS, BOUNDS, st.just("COUNT"), COUNTS),
    st.tuples(st.just("XREVRANGE"), st.just("s"), BOUNDS, BOUNDS),
    st.tuples(st.just("XREVRANGE"), st.just("s"), BOUNDS, BOUNDS, st.just("COUNT"), COUNTS),
    st.tuples(st.just("XREAD"), st.just("COUNT"), st.sampled_from(["1", "3"]),
              st.just("STREAMS"), st.just("s"), st.one_of(IDS, st.just("0"))),
    st.tuples(st.just("XLEN"), st.just("s")),
    st.tuples(st.just("XTRIM"), st.just("s"), st.just("MAXLEN"), st.sampled_from(["0", "2", "4"])),
)


@settings(max_examples=examples(50), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proto=st.sampled_from([2, 3]), max_entries=st.sampled_from(["2", "3", "100"]),
       max_bytes=st.sampled_from(["0", "60", "4096"]), seq=st.lists(stream_cmd, max_size=40))
def test_stream_sequences(clients, proto, max_entries, max_bytes, seq):
    a, b = clients[proto]
    r = StreamRunner(a, b)
    r.reset()
    r.run([["CONFIG", "SET", "stream-node-max-entries", max_entries],
           ["CONFIG", "SET", "stream-node-max-bytes", max_bytes],
           ["XADD", "s", "1-0", "a", "1"]])
    r.run(seq)
    r.run([["XRANGE", "s", "-", "+"], ["XREVRANGE", "s", "+", "-"], ["XLEN", "s"]])
    if a.call("EXISTS", "s") == b":1\r\n":
        same_dump(a, b, "s")


def test_stream_count_one_on_many_nodes(clients):
    """COUNT 1 at either end, and XREAD from the start, of a stream of many
    nodes with tombstones at both ends (the last valid ID skips them)."""
    a, b = clients[3]
    r = StreamRunner(a, b)
    r.reset()
    r.run([["XADD", "s", "%d-%d" % (i // 3, i % 3), "f", "v%d" % i, "g", "w"]
           for i in range(1, 400)])
    r.run([["XDEL", "s", "0-1", "0-2", "132-2", "133-0"],
           ["XRANGE", "s", "-", "+", "COUNT", "1"], ["XREVRANGE", "s", "+", "-", "COUNT", "1"],
           ["XREAD", "COUNT", "1", "STREAMS", "s", "0"], ["XREAD", "COUNT", "2", "STREAMS", "s", "132-1"],
           ["XRANGE", "s", "(50-1", "+", "COUNT", "3"], ["XREVRANGE", "s", "(100", "-", "COUNT", "3"],
           ["XINFO", "STREAM", "s"]])
    same_dump(a, b, "s")


# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------
LVALUES = st.sampled_from(["a", "b", "1", "-1", "300", "0123", "", "x" * 70, "12345678901"])
LINDEX = st.integers(-12, 12).map(str)

list_cmd = st.one_of(
    st.tuples(st.just("LSET"), st.just("l"), LINDEX, LVALUES),
    st.tuples(st.just("LINDEX"), st.just("l"), LINDEX),
    st.tuples(st.just("LINSERT"), st.just("l"), st.sampled_from(["BEFORE", "AFTER"]), LVALUES,
              LVALUES),
    st.tuples(st.just("LREM"), st.just("l"), st.integers(-3, 3).map(str), LVALUES),
    st.tuples(st.just("RPUSH"), st.just("l"), LVALUES),
    st.tuples(st.just("LPUSH"), st.just("l"), LVALUES),
)


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proto=st.sampled_from([2, 3]), layout=st.sampled_from([(-2, 0), (3, 0), (5, 1), (-1, 1)]),
       prefill=st.sampled_from([5, 200]), seq=st.lists(list_cmd, max_size=30))
def test_list_sequences(clients, proto, layout, prefill, seq):
    a, b = clients[proto]
    values = ["a", "b", "1", "300", "x" * 70, "c"]
    cmds = [["RPUSH", "l", *[values[i % len(values)] for i in range(prefill)]]]
    cmds += [list(c) for c in seq] + [["LRANGE", "l", "0", "-1"], ["LLEN", "l"]]
    list_run_same(a, b, cmds, layout)
    if a.call("EXISTS", "l") == b":1\r\n":
        same_dump(a, b, "l")
