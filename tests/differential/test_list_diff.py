"""List commands, omakase vs Debian's redis-server 7.0, byte for byte.

Fixed cases cover every error path and reply shape (RESP2 and RESP3); a
hypothesis test then generates random sequences of the non-blocking list
commands (with options, out-of-range and malformed arguments, a string key and
a hash key for WRONGTYPE) under random quicklist layouts
(``list-max-listpack-size``, ``list-compress-depth``) and compares every raw
reply.  Blocking commands take part inside MULTI/EXEC, where they never block
and behave like their non-blocking forms.
"""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import examples  # noqa: E402
from rawclient import RawClient, close_pairs, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential

LLONG_MIN = "-9223372036854775808"
LLONG_MAX = "9223372036854775807"


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs, ("CONFIG", "SET", "list-max-listpack-size", "-2"),
                ("CONFIG", "SET", "list-compress-depth", "0"))


def run_same(a: RawClient, b: RawClient, cmds, layout=(-2, 0)) -> None:
    for c in (a, b):
        c.call("FLUSHALL")
        c.call("CONFIG", "SET", "list-max-listpack-size", str(layout[0]))
        c.call("CONFIG", "SET", "list-compress-depth", str(layout[1]))
        c.call("SET", "s", "string")
        c.call("HSET", "h", "f", "v")
    for cmd in cmds:
        ra = a.call(*cmd)
        rb = b.call(*cmd)
        assert ra == rb, f"{cmd!r}: omakase {ra!r} != redis {rb!r}"


S = str.split

CASES: dict[str, list] = {
    "push_range": [S("RPUSH l a b c"), S("LPUSH l x y"), S("LRANGE l 0 -1"),
                   S("LRANGE l -100 100"), S("LRANGE l 2 1"), S("LRANGE l 5 9"),
                   S("LRANGE l x 1"), S("LRANGE l 0 1.5"), S("LRANGE nokey 0 -1"),
                   ["LRANGE", "l", LLONG_MIN, LLONG_MAX], S("LLEN l"), S("LLEN nokey"),
                   S("OBJECT ENCODING l"), S("TYPE l")],
    "pushx": [S("LPUSHX l a"), S("RPUSHX l a b"), S("EXISTS l"), S("RPUSH l m"),
              S("LPUSHX l a b"), S("RPUSHX l y z"), S("LRANGE l 0 -1"), S("LPUSHX s a")],
    "linsert": [S("LINSERT l BEFORE a x"), S("RPUSH l a b c b"), S("LINSERT l before b x"),
                S("LINSERT l AFTER b y"), S("LINSERT l after zz q"),
                S("LINSERT l middle a x"), S("LINSERT nokey middle a x"),
                S("LINSERT s before a x"), S("LRANGE l 0 -1")],
    "lindex_lset": [S("RPUSH l 0 1 2 3 4 5"), S("LINDEX l 0"), S("LINDEX l -1"),
                    S("LINDEX l 6"), S("LINDEX l -7"), S("LINDEX l x"), S("LINDEX nokey x"),
                    ["LINDEX", "l", LLONG_MIN], S("LSET l 0 first"), S("LSET l -1 last"),
                    S("LSET l 6 v"), S("LSET l x v"), S("LSET nokey 0 v"), S("LSET s 0 v"),
                    S("LRANGE l 0 -1")],
    "ltrim_lrem": [S("RPUSH l a b a c a b a"), S("LTRIM l 1 -2"), S("LRANGE l 0 -1"),
                   S("LREM l 1 a"), S("LREM l -1 a"), S("LREM l 0 b"), S("LREM l x a"),
                   S("LREM nokey 0 a"), S("LRANGE l 0 -1"), S("LTRIM l 5 1"), S("EXISTS l"),
                   S("LTRIM nokey x 1"), S("LTRIM s 0 1"), S("RPUSH l a a"),
                   ["LREM", "l", LLONG_MIN, "a"], S("EXISTS l")],
    "lpos": [S("RPUSH l a b c a b a d"), S("LPOS l a"), S("LPOS l zz"), S("LPOS nokey a"),
             S("LPOS l a RANK 2"), S("LPOS l a RANK -1"), S("LPOS l a RANK -4"),
             S("LPOS l a RANK 0"), S("LPOS l a COUNT 0"), S("LPOS l a COUNT 2 RANK -1"),
             S("LPOS l a COUNT 0 MAXLEN 4"), S("LPOS l a COUNT -1"), S("LPOS l a COUNT x"),
             S("LPOS l a MAXLEN -1"), S("LPOS l a COUNT"), S("LPOS l a FOO 1"),
             S("LPOS nokey a COUNT 1"), S("LPOS nokey a RANK 0"), S("LPOS l zz COUNT 1"),
             ["LPOS", "l", "a", "RANK", LLONG_MIN], ["LPOS", "l", "a", "RANK", LLONG_MIN,
                                                     "COUNT", "1"],
             ["LPOS", "l", "a", "RANK", LLONG_MAX], S("LPOS l a rank 1 count 1 maxlen 1"),
             S("LPOS s a")],
    "pop": [S("RPUSH l 0 1 2 3 4 5 6 7 8 9"), S("LPOP l"), S("RPOP l"), S("LPOP l 3"),
            S("RPOP l 2"), S("LPOP l 0"), S("LPOP l -1"), S("LPOP l x"), S("RPOP l 1 2"),
            S("RPOP l 100"), S("EXISTS l"), S("LPOP l"), S("LPOP l 2"), S("LPOP l 0"),
            S("LPOP nokey -1"), S("LPOP s"), S("RPOP s 0")],
    "lmove": [S("RPUSH src a b c"), S("LMOVE src dst LEFT RIGHT"), S("LMOVE src dst right left"),
              S("RPOPLPUSH src dst"), S("EXISTS src"), S("LRANGE dst 0 -1"),
              S("LMOVE src dst LEFT LEFT"), S("RPOPLPUSH src dst"),
              S("LMOVE dst dst LEFT RIGHT"), S("RPOPLPUSH dst dst"), S("LRANGE dst 0 -1"),
              S("LMOVE dst x UP LEFT"), S("LMOVE dst x LEFT UP"), S("LMOVE dst s LEFT LEFT"),
              S("LMOVE s dst LEFT LEFT"), S("LMOVE nokey s LEFT LEFT"), S("LLEN dst")],
    "lmpop": [S("RPUSH b 0 1 2 3 4"), S("LMPOP 2 a b LEFT"), S("LMPOP 2 a b RIGHT COUNT 2"),
              S("LMPOP 1 b left count 10"), S("LMPOP 2 a b LEFT"), S("LMPOP 0 a LEFT"),
              S("LMPOP x a LEFT"), S("LMPOP -1 a LEFT"), S("LMPOP 2 a LEFT"),
              S("LMPOP 1 a UP"), S("LMPOP 1 a LEFT COUNT 0"), S("LMPOP 1 a LEFT COUNT x"),
              S("LMPOP 1 a LEFT COUNT 1 COUNT 1"), S("LMPOP 1 a LEFT FOO"),
              S("LMPOP 1 a LEFT COUNT"), S("LMPOP 2 nokey s LEFT"), S("RPUSH a 1"),
              S("LMPOP 2 a s LEFT")],
    "blocking_nonblocking_paths": [
        S("RPUSH a 1 2"), S("BLPOP nokey a 0"), S("BRPOP a 0"), S("EXISTS a"),
        S("BLPOP nokey s 0"), S("BLPOP nokey x"), S("BLPOP nokey -1"), S("BLPOP a inf"),
        S("RPUSH a 1 2 3"), S("BLMOVE a d LEFT RIGHT 0"), S("BRPOPLPUSH a d 0"),
        S("BLMOVE a d X RIGHT x"), S("BLMOVE a d LEFT RIGHT x"), S("BRPOPLPUSH a s 0"),
        S("BLMPOP 0 2 nokey a LEFT COUNT 5"), S("BLMPOP x 0 a LEFT"), S("BLMPOP x 1 a LEFT"),
        S("BLMPOP -1 1 a LEFT"), S("BLMPOP 0 1 a UP"), S("BLMPOP 0 1 s LEFT"),
        S("LRANGE d 0 -1")],
    "multi": [S("MULTI"), S("BLPOP k 0"), S("BRPOP k 0"), S("BLMOVE k d LEFT RIGHT 0"),
              S("BRPOPLPUSH k d 0"), S("BLMPOP 0 1 k LEFT"), S("BLPOP k x"),
              S("RPUSH k v"), S("BLMOVE k d LEFT RIGHT 0"), S("EXEC"), S("LRANGE d 0 -1")],
    "arity": [S("LPUSH l"), S("LRANGE l 0"), S("LINSERT l before a"), S("LMOVE a b LEFT"),
              S("LMPOP 1 a"), S("BLPOP l"), S("BLMPOP 0 1 a"), S("LPOS l"), S("LREM l 0"),
              S("RPOPLPUSH a"), S("LLEN"), S("LINDEX l")],
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("proto", [2, 3])
def test_cases(clients, name, proto):
    a, b = clients[proto]
    run_same(a, b, CASES[name])


TIMEOUTS = ["0", "1", "+1", "1.", ".5", "1e2", "1E+2", "0x10", "0x.8p1", "0X1P-3", "0x", "0x1p",
            "1e", ".", "-", "+", "", " 1", "1 ", "1_0", "nan", "NaN", "-nan", "inf", "-inf",
            "Infinity", "infinit", "1e400", "1e5000", "-1e5000", "1e-5000", "1e-4950", "-0",
            "-0.0001", "-0.5", "9.2e15", "9.3e15", "9223372036854775", "9223372036854776",
            LLONG_MAX, LLONG_MIN, "00001", "1\x00", "\xd9\xa1", "0.1e1", "1e-1"]


@pytest.mark.parametrize("proto", [2, 3])
def test_timeout_parsing(clients, proto):
    """Which timeout strings are refused, and with which error (the accepted
    ones pop at once from a non-empty list)."""
    a, b = clients[proto]
    cmds = []
    for t in TIMEOUTS:
        cmds += [["RPUSH", "k", "x"], ["BLPOP", "k", t], ["DEL", "k"]]
    run_same(a, b, cmds)


# -- random sequences -----------------------------------------------------------
KEYS = ["l1", "l2", "s", "h"]
VALUES = ["a", "b", "c", "1", "-1", "10", "0123", "", "x" * 70, "12345678901"]
INDEX = st.one_of(st.integers(-8, 8).map(str),
                  st.sampled_from(["x", "1.5", "", LLONG_MIN, LLONG_MAX, "-0", "+1"]))
COUNT = st.one_of(st.integers(-2, 6).map(str), st.sampled_from(["x", LLONG_MAX]))
key = st.sampled_from(KEYS)
value = st.sampled_from(VALUES)
side = st.sampled_from(["LEFT", "RIGHT", "left", "Right", "UP"])


def _lpos_options():
    opt = st.one_of(
        st.tuples(st.sampled_from(["RANK", "rank"]),
                  st.one_of(st.integers(-4, 4).map(str), st.sampled_from([LLONG_MIN, "x"]))),
        st.tuples(st.sampled_from(["COUNT", "count"]), COUNT),
        st.tuples(st.sampled_from(["MAXLEN", "maxlen"]), COUNT),
        st.tuples(st.just("BAD"), st.just("1")),
    )
    return st.lists(opt, max_size=3).map(lambda ops: [w for o in ops for w in o])


def _mpop(name: str, timeout: bool):
    def build(t, keys, where, count):
        out = [name] + ([t] if timeout else []) + [str(len(keys))] + keys + [where]
        if count is not None:
            out += ["COUNT", count]
        return out
    return st.builds(build, st.sampled_from(["0", "1", "x", "-1"]),
                     st.lists(key, min_size=1, max_size=3), side,
                     st.one_of(st.none(), COUNT))


non_blocking = st.one_of(
    st.builds(lambda c, k, vs: [c, k] + vs, st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]),
              key, st.lists(value, min_size=1, max_size=4)),
    st.builds(lambda k, w, p, v: ["LINSERT", k, w, p, v], key,
              st.sampled_from(["BEFORE", "after", "middle"]), value, value),
    st.builds(lambda c, k: [c, k], st.sampled_from(["LLEN", "LPOP", "RPOP", "TYPE", "EXISTS"]), key),
    st.builds(lambda k, i: ["LINDEX", k, i], key, INDEX),
    st.builds(lambda k, i, v: ["LSET", k, i, v], key, INDEX, value),
    st.builds(lambda c, k, i, j: [c, k, i, j], st.sampled_from(["LRANGE", "LTRIM"]), key, INDEX, INDEX),
    st.builds(lambda k, n, v: ["LREM", k, n, v], key, INDEX, value),
    st.builds(lambda k, v, o: ["LPOS", k, v] + o, key, value, _lpos_options()),
    st.builds(lambda c, k, n: [c, k, n], st.sampled_from(["LPOP", "RPOP"]), key, COUNT),
    st.builds(lambda s1, d, a, b: ["LMOVE", s1, d, a, b], key, key, side, side),
    st.builds(lambda s1, d: ["RPOPLPUSH", s1, d], key, key),
    _mpop("LMPOP", False),
)

blocking = st.one_of(
    st.builds(lambda c, ks, t: [c] + ks + [t], st.sampled_from(["BLPOP", "BRPOP"]),
              st.lists(key, min_size=1, max_size=3), st.sampled_from(["0", "1", "-1", "x"])),
    st.builds(lambda s1, d, a, b: ["BLMOVE", s1, d, a, b, "0"], key, key, side, side),
    st.builds(lambda s1, d: ["BRPOPLPUSH", s1, d, "0"], key, key),
    _mpop("BLMPOP", True),
)

step = st.one_of(
    non_blocking.map(lambda c: [c]),
    st.lists(st.one_of(blocking, non_blocking), min_size=1, max_size=4)
      .map(lambda cs: [["MULTI"]] + cs + [["EXEC"]]),
)


@settings(max_examples=examples(50), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proto=st.sampled_from([2, 3]),
       layout=st.sampled_from([(-2, 0), (1, 0), (2, 1), (3, 2), (-1, 1)]),
       steps=st.lists(step, max_size=30))
def test_random_sequences(clients, proto, layout, steps):
    a, b = clients[proto]
    cmds = [["RPUSH", "l1", "a", "b", "c", "1", "a"]] + [c for s in steps for c in s]
    cmds += [["LRANGE", "l1", "0", "-1"], ["LRANGE", "l2", "0", "-1"]]
    run_same(a, b, cmds, layout)
