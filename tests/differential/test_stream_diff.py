"""Streams: omakase vs Debian's redis-server 7.0, byte for byte.

Every command goes to both servers over raw sockets, in RESP2 and RESP3,
and the replies must be identical bytes, errors included.  Explicit IDs make
most replies deterministic.  What cannot be identical is relaxed, and only
that:

* replies holding generated IDs (``XADD ... *``) are compared by shape;
* replies holding times (XPENDING's idle, XINFO CONSUMERS' idle, XINFO STREAM
  FULL's delivery and seen times) have those integers masked first: the
  masking rewrites only the integer positions that are times, so every other
  field (counts, IDs, names, lag, entries-read) is still compared exactly.

Random sequences (hypothesis) mix XADD/XDEL/XTRIM/XRANGE/groups/claims with
small node sizes so that node splits, whole-node trims and tombstones all
happen, and check XINFO STREAM (radix-tree keys and nodes included) and
DEBUG DIGEST-VALUE after each sequence.
"""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import close_pairs, open_pairs  # noqa: E402
from resptree import shape, tree  # noqa: E402

pytestmark = pytest.mark.differential

DEFAULTS = [("stream-node-max-entries", "100"), ("stream-node-max-bytes", "4096")]


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs, *[("CONFIG", "SET", name, value) for name, value in DEFAULTS])


TIME_KEYS = {b"seen-time", b"idle"}


def mask_times(node, path=()):
    """Replace time integers (see the module docstring) by a marker."""
    t, v = node
    if not isinstance(v, list):
        return node
    items = list(v)
    # maps (RESP3 %) or flat key/value arrays: mask values of time keys
    for i in range(0, len(items) - 1):
        k = items[i]
        if k[0] == b"$" and k[1] in TIME_KEYS and items[i + 1][0] == b":":
            items[i + 1] = (b":", b"T")
    out = []
    for i, x in enumerate(items):
        if x[0] in (b"*", b"%") and isinstance(x[1], list):
            sub = x[1]
            # XPENDING extended rows: [id, consumer, idle, count]
            if path and path[-1] == "xpending" and len(sub) == 4 and sub[2][0] == b":":
                sub = [sub[0], sub[1], (b":", b"T"), sub[3]]
                x = (x[0], sub)
            # XINFO FULL pending rows: [id, consumer, time, count] / [id, time, count]
            if path and path[-1] == "full":
                if len(sub) == 4 and sub[2][0] == b":" and sub[0][0] == b"$" \
                        and sub[1][0] == b"$":
                    x = (x[0], [sub[0], sub[1], (b":", b"T"), sub[3]])
                elif len(sub) == 3 and sub[1][0] == b":" and sub[0][0] == b"$" \
                        and b"-" in (sub[0][1] or b""):
                    x = (x[0], [sub[0], (b":", b"T"), sub[2]])
        out.append(mask_times(x, path))
    return (t, out)


class Runner:
    def __init__(self, a, b) -> None:
        self.a, self.b = a, b

    def both(self, *cmd):
        return self.a.call(*cmd), self.b.call(*cmd)

    def reset(self) -> None:
        for name, value in DEFAULTS:
            self.both("CONFIG", "SET", name, value)
        self.both("FLUSHALL")

    def run(self, cmds) -> None:
        for cmd in cmds:
            self.one([x if isinstance(x, bytes) else str(x).encode() for x in cmd])

    def one(self, cmd, mode=None) -> None:
        ra, rb = self.both(*cmd)
        if ra == rb:
            return
        where = f"{cmd!r}: omakase {ra!r} != redis {rb!r}"
        name = cmd[0].upper()
        if mode is None:
            if name == b"XADD" and b"*" in cmd:
                mode = "shape"
            elif name == b"XPENDING":
                mode = "xpending"
            elif name == b"XINFO" and cmd[1].upper() in (b"CONSUMERS", b"STREAM"):
                mode = "full"
        assert mode is not None and not rb.startswith(b"-"), where
        ta, tb = tree(ra), tree(rb)
        if mode == "shape":
            assert shape(ta) == shape(tb), where
        else:
            assert mask_times(ta, (mode,)) == mask_times(tb, (mode,)), where


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def runner(request, clients):
    a, b = clients[request.param]
    r = Runner(a, b)
    r.reset()
    return r


# ---------------------------------------------------------------------------
# Fixed scenarios
# ---------------------------------------------------------------------------
def test_xadd_xrange_basics(runner):
    runner.run([
        ["XADD", "s", "1-1", "a", "1", "b", "2"],
        ["XADD", "s", "1-2", "a", "1", "b", "2"],
        ["XADD", "s", "1-2", "a", "1"],
        ["XADD", "s", "1-*", "x", "y"],
        ["XADD", "s", "2", "c", "3"],
        ["XADD", "s", "0-0", "c", "3"],
        ["XADD", "new", "0-0", "c", "3"],
        ["XADD", "s", "abc", "c", "3"],
        ["XADD", "s", "5-1", "c"],
        ["XADD", "s", "MAXLEN"],
        ["XADD", "s", "NOMKSTREAM", "6-1", "c", "3"],
        ["XADD", "nokey", "NOMKSTREAM", "6-1", "c", "3"],
        ["XADD", "s", "MAXLEN", "-1", "7-1", "c", "3"],
        ["XADD", "s", "MAXLEN", "2", "MINID", "1", "7-1", "c", "3"],
        ["XADD", "s", "LIMIT", "5", "7-1", "c", "3"],
        ["XADD", "s", "MAXLEN", "5", "LIMIT", "5", "7-1", "c", "3"],
        ["XADD", "s", "18446744073709551615-18446744073709551615", "a", "b"],
        ["XADD", "s", "18446744073709551615-18446744073709551615", "a", "b"],
        ["XADD", "s", "*", "a", "b"],
        ["XADD", "t", "+5-3", "a", "b"],
        ["XADD", "t", " 6-3", "a", "b"],
        ["XADD", "t", "7--0", "a", "b"],
        ["XADD", "t", "8--1", "a", "b"],
        ["XADD", "t", "-", "a", "b"],
        ["XADD", "t", "9-18446744073709551616", "a", "b"],
        ["XLEN", "s"], ["XLEN", "nokey"],
        ["XRANGE", "s", "-", "+"],
        ["XRANGE", "s", "(1-1", "+"],
        ["XRANGE", "s", "-", "(2"],
        ["XRANGE", "s", "(-", "+"],
        ["XRANGE", "s", "1", "1"],
        ["XRANGE", "s", "-", "+", "COUNT", "2"],
        ["XRANGE", "s", "-", "+", "COUNT", "0"],
        ["XRANGE", "s", "-", "+", "COUNT", "-5"],
        ["XRANGE", "s", "-", "+", "COUNT"],
        ["XRANGE", "s", "-", "+", "COUNT", "x"],
        ["XRANGE", "nokey", "-", "+", "COUNT", "0"],
        ["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"],
        ["XRANGE", "s", "-", "(0-0"],
        ["XREVRANGE", "s", "+", "-"],
        ["XREVRANGE", "s", "+", "-", "COUNT", "1"],
        ["XREVRANGE", "s", "(2-0", "-"],
        ["SET", "str", "x"],
        ["XADD", "str", "1-1", "a", "b"],
        ["XRANGE", "str", "-", "+"],
        ["XLEN", "str"],
        ["TYPE", "s"], ["OBJECT", "ENCODING", "s"],
    ])


def test_nodes_trim_and_del(runner):
    runner.run([["CONFIG", "SET", "stream-node-max-entries", "3"]])
    cmds = [["XADD", "s", f"{i}-1", "f", str(i), "g", "v"] for i in range(1, 15)]
    cmds.append(["XADD", "s", "15-1", "other", "field"])
    cmds += [
        ["XINFO", "STREAM", "s"],
        ["XDEL", "s", "2-1", "3-1", "99-1", "bad"],
        ["XDEL", "s", "2-1", "3-1", "99-1"],
        ["XDEL", "s", "1-1"],
        ["XINFO", "STREAM", "s"],
        ["XTRIM", "s", "MAXLEN", "~", "9"],
        ["XINFO", "STREAM", "s"],
        ["XTRIM", "s", "MAXLEN", "=", "7"],
        ["XTRIM", "s", "MINID", "~", "12"],
        ["XTRIM", "s", "MINID", "11"],
        ["XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "2"],
        ["XTRIM", "s", "MAXLEN", "1", "LIMIT", "2"],
        ["XTRIM", "s"],
        ["XTRIM", "s", "FOO", "1"],
        ["XTRIM", "nokey", "MAXLEN", "1"],
        ["XINFO", "STREAM", "s"],
        ["XRANGE", "s", "-", "+"],
        ["XREVRANGE", "s", "+", "-"],
        ["XADD", "s", "MAXLEN", "~", "2", "20-1", "a", "b"],
        ["XADD", "s", "MINID", "=", "14", "21-1", "a", "b"],
        ["XINFO", "STREAM", "s"],
        ["DEBUG", "DIGEST-VALUE", "s"],
        ["XDEL", "s", "14-1", "15-1", "20-1", "21-1"],
        ["XINFO", "STREAM", "s"],
        ["XLEN", "s"],
        ["EXISTS", "s"],
        ["XSETID", "s", "1-1"],
        ["XSETID", "s", "30-1", "ENTRIESADDED", "50", "MAXDELETEDID", "25-0"],
        ["XSETID", "s", "30-1", "MAXDELETEDID", "31-0"],
        ["XSETID", "s", "20-1"],
        ["XSETID", "s", "30-1", "ENTRIESADDED", "-1"],
        ["XSETID", "s", "30-1", "FOO"],
        ["XSETID", "nokey", "30-1"],
        ["XINFO", "STREAM", "s"],
    ]
    runner.run(cmds)


def test_groups_and_pel(runner):
    runner.run([
        ["XADD", "s", "1-1", "a", "1"],
        ["XADD", "s", "1-2", "a", "2"],
        ["XADD", "s", "2-1", "b", "3"],
        ["XGROUP", "CREATE", "s", "g", "0"],
        ["XGROUP", "CREATE", "s", "g", "0"],
        ["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"],
        ["XGROUP", "CREATE", "nokey", "g", "$"],
        ["XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"],
        ["XGROUP", "CREATE", "s", "g3", "0", "FOO"],
        ["XGROUP", "CREATE", "s", "g3", "bad"],
        ["XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "-2"],
        ["XGROUP", "SETID", "s", "nog", "0"],
        ["XGROUP", "CREATECONSUMER", "s", "g", "zed"],
        ["XGROUP", "CREATECONSUMER", "s", "g", "zed"],
        ["XGROUP", "FOO", "s", "g"],
        ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "$"],
        ["XREADGROUP", "GROUP", "nog", "alice", "STREAMS", "s", ">"],
        ["XREADGROUP", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s"],
        ["XREAD", "GROUP", "g", "alice", "STREAMS", "s", ">"],
        ["XREAD", "STREAMS", "s", ">"],
        ["XREAD", "COUNT", "1", "STREAMS", "s", "mk", "0", "0"],
        ["XREAD", "STREAMS", "s", "$"],
        ["XINFO", "GROUPS", "s"],
        ["XINFO", "CONSUMERS", "s", "g"],
        ["XINFO", "CONSUMERS", "s", "nog"],
        ["XINFO", "STREAM", "s", "FULL"],
        ["XINFO", "STREAM", "s", "FULL", "COUNT", "1"],
        ["XINFO", "STREAM", "s", "FOO"],
        ["XINFO", "STREAM", "nokey"],
        ["XINFO", "HELP"],
        ["XGROUP", "HELP"],
        ["XPENDING", "s", "g"],
        ["XPENDING", "s", "g", "-", "+", "10"],
        ["XPENDING", "s", "g", "-", "+", "10", "alice"],
        ["XPENDING", "s", "g", "-", "+", "10", "nobody"],
        ["XPENDING", "s", "g", "IDLE", "0", "-", "+", "10"],
        ["XPENDING", "s", "g", "(1-1", "+", "1"],
        ["XPENDING", "s", "g", "-", "+"],
        ["XPENDING", "s", "nog"],
        ["XPENDING", "s", "g2"],
        ["XACK", "s", "g", "1-1", "9-9"],
        ["XACK", "s", "g", "1-1", "bad"],
        ["XACK", "s", "nog", "1-1"],
        ["XCLAIM", "s", "g", "carol", "0", "9-9"],
        ["XINFO", "CONSUMERS", "s", "g"],
        ["XCLAIM", "s", "g", "carol", "100000", "1-2"],
        ["XCLAIM", "s", "g", "carol", "0", "1-2", "JUSTID"],
        ["XCLAIM", "s", "g", "carol", "0", "1-2", "RETRYCOUNT", "7"],
        ["XCLAIM", "s", "g", "carol", "0", "1-1", "FORCE", "JUSTID"],
        ["XCLAIM", "s", "g", "carol", "0", "1-1", "BOGUS"],
        ["XCLAIM", "s", "g", "carol", "x", "1-1"],
        ["XCLAIM", "s", "g", "carol", "0", "1-1", "IDLE", "x"],
        ["XCLAIM", "s", "g", "carol", "0", "1-1", "LASTID", "5-5", "JUSTID"],
        ["XINFO", "GROUPS", "s"],
        ["XDEL", "s", "1-2"],
        ["XCLAIM", "s", "g", "dave", "0", "1-2", "2-1"],
        ["XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "1"],
        ["XAUTOCLAIM", "s", "g", "erin", "0", "0"],
        ["XAUTOCLAIM", "s", "g", "erin", "0", "0", "JUSTID"],
        ["XAUTOCLAIM", "s", "g", "erin", "0", "0", "COUNT", "0"],
        ["XAUTOCLAIM", "s", "g", "erin", "0", "0", "BAD"],
        ["XAUTOCLAIM", "s", "nog", "erin", "0", "0"],
        ["XGROUP", "DELCONSUMER", "s", "g", "erin"],
        ["XGROUP", "DELCONSUMER", "s", "g", "erin"],
        ["XGROUP", "SETID", "s", "g", "$"],
        ["XGROUP", "SETID", "s", "g", "-", "ENTRIESREAD", "0"],
        ["XINFO", "GROUPS", "s"],
        ["XGROUP", "DESTROY", "s", "g2"],
        ["XGROUP", "DESTROY", "s", "g2"],
        ["XINFO", "STREAM", "s"],
        ["DEBUG", "DIGEST-VALUE", "s"],
    ])


def test_xautoclaim_deleted_entries(runner):
    cmds = [["XADD", "s", f"{i}-0", "f", "v"] for i in range(1, 8)]
    cmds += [
        ["XGROUP", "CREATE", "s", "g", "0"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"],
        ["XDEL", "s", "2-0", "3-0", "5-0"],
        ["XAUTOCLAIM", "s", "g", "c2", "0", "0", "COUNT", "2"],
        ["XAUTOCLAIM", "s", "g", "c2", "0", "(1-0", "COUNT", "3"],
        ["XAUTOCLAIM", "s", "g", "c2", "0", "-", "COUNT", "10"],
        ["XPENDING", "s", "g", "-", "+", "10"],
        ["XINFO", "GROUPS", "s"],
        ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"],
        ["XREADGROUP", "GROUP", "g", "c2", "COUNT", "2", "STREAMS", "s", "0"],
    ]
    runner.run(cmds)


def test_lag_and_entries_read(runner):
    runner.run([
        ["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        ["XINFO", "GROUPS", "s"],
        ["XADD", "s", "1-0", "a", "1"],
        ["XADD", "s", "2-0", "a", "1"],
        ["XADD", "s", "3-0", "a", "1"],
        ["XADD", "s", "4-0", "a", "1"],
        ["XINFO", "GROUPS", "s"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"],
        ["XINFO", "GROUPS", "s"],
        ["XDEL", "s", "3-0"],
        ["XINFO", "GROUPS", "s"],
        ["XREADGROUP", "GROUP", "g", "c", "NOACK", "COUNT", "1", "STREAMS", "s", ">"],
        ["XINFO", "GROUPS", "s"],
        ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        ["XINFO", "GROUPS", "s"],
        ["XGROUP", "CREATE", "s", "g2", "0"],
        ["XGROUP", "CREATE", "s", "g3", "1-0"],
        ["XGROUP", "CREATE", "s", "g4", "2-0", "ENTRIESREAD", "2"],
        ["XINFO", "GROUPS", "s"],
        ["XTRIM", "s", "MAXLEN", "1"],
        ["XINFO", "GROUPS", "s"],
        ["XDEL", "s", "4-0"],
        ["XINFO", "GROUPS", "s"],
        ["XINFO", "STREAM", "s"],
        ["XINFO", "STREAM", "s", "FULL"],
    ])


# ---------------------------------------------------------------------------
# Random sequences
# ---------------------------------------------------------------------------
ids = st.integers(1, 40).map(lambda n: f"{n}-{n % 3}")
fields = st.sampled_from(["a", "b", "c", "12", "-3", "x" * 70])
small_int = st.integers(0, 12)

cmd = st.one_of(
    st.tuples(st.just("XADD"), st.just("s"), ids, fields, fields),
    st.tuples(st.just("XADD"), st.just("s"), ids, fields, fields, fields, fields),
    st.tuples(st.just("XDEL"), st.just("s"), ids, ids),
    st.tuples(st.just("XTRIM"), st.just("s"), st.just("MAXLEN"), st.sampled_from(["~", "="]),
              small_int),
    st.tuples(st.just("XTRIM"), st.just("s"), st.just("MINID"), st.sampled_from(["~", "="]),
              ids),
    st.tuples(st.just("XRANGE"), st.just("s"), ids, st.just("+"), st.just("COUNT"), small_int),
    st.tuples(st.just("XREVRANGE"), st.just("s"), st.just("+"), ids),
    st.tuples(st.just("XREADGROUP"), st.just("GROUP"), st.just("g"),
              st.sampled_from(["c1", "c2"]), st.just("COUNT"), st.integers(1, 3),
              st.just("STREAMS"), st.just("s"), st.sampled_from([">", "0"])),
    st.tuples(st.just("XACK"), st.just("s"), st.just("g"), ids),
    st.tuples(st.just("XCLAIM"), st.just("s"), st.just("g"), st.sampled_from(["c1", "c3"]),
              st.just("0"), ids, st.just("JUSTID")),
    st.tuples(st.just("XAUTOCLAIM"), st.just("s"), st.just("g"), st.just("c2"), st.just("0"),
              ids, st.just("COUNT"), st.integers(1, 4)),
    st.tuples(st.just("XINFO"), st.just("GROUPS"), st.just("s")),
    st.tuples(st.just("XPENDING"), st.just("s"), st.just("g")),
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(cmd, max_size=30), st.sampled_from(["2", "3", "5"]),
       st.sampled_from(["0", "100", "4096"]))
def test_random_sequences(clients, seq, max_entries, max_bytes):
    a, b = clients[2]
    r = Runner(a, b)
    r.reset()
    r.run([["CONFIG", "SET", "stream-node-max-entries", max_entries],
           ["CONFIG", "SET", "stream-node-max-bytes", max_bytes],
           ["XADD", "s", "1-0", "a", "b"],
           ["XGROUP", "CREATE", "s", "g", "0"]])
    r.run(seq)
    r.run([["XINFO", "STREAM", "s"], ["XINFO", "STREAM", "s", "FULL"],
           ["DEBUG", "DIGEST-VALUE", "s"], ["XRANGE", "s", "-", "+"]])
