"""String commands, omakase vs Debian's redis-server 7.0, byte for byte.

Each case is a sequence of commands sent to both servers over raw sockets
(``rawclient.RawClient``); every reply, errors included, must be identical,
in RESP2 and in RESP3.  A hypothesis test then generates random sequences of
string commands (with options, bad arguments and a key of the wrong type)
and compares the two servers the same way.
"""
from __future__ import annotations

import os
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import examples  # noqa: E402
from rawclient import RawClient, close_pairs, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential

FAR_S = b"4102444800"           # 2100-01-01, as EXAT
FAR_MS = b"4102444800000"       # the same as PXAT


# Marker for "store a non-string value at l": replaced by the first
# collection command omakase implements (LPUSH, SADD, ...), or by a plain SET
# while none exists, so WRONGTYPE paths get compared as soon as they can be.
OTHER = ["<other>", "l"]
_OTHER_TYPES = (["LPUSH", "x"], ["SADD", "x"], ["HSET", "f", "v"], ["ZADD", "1", "x"],
                ["XADD", "*", "f", "v"])
_other_cmd: list = []


def _probe_other_type(a: RawClient) -> list:
    for cmd, *args in _OTHER_TYPES:
        reply = a.call(cmd, "__probe__", *args)
        a.call("DEL", "__probe__")
        if not reply.startswith(b"-ERR unknown command"):
            return [cmd, None, *args]
    return ["SET", None, "x"]


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    _other_cmd[:] = _probe_other_type(pairs[2][0])
    yield pairs
    close_pairs(pairs)


def run_same(a: RawClient, b: RawClient, cmds) -> None:
    a.call("FLUSHALL")
    b.call("FLUSHALL")
    for cmd in cmds:
        if cmd[0] == "<other>":
            cmd = [_other_cmd[0], cmd[1], *_other_cmd[2:]]
        ra = a.call(*cmd)
        rb = b.call(*cmd)
        assert ra == rb, f"{cmd!r}: omakase {ra!r} != redis {rb!r}"


S = str.split   # "SET k v" -> ["SET", "k", "v"]

CASES: dict[str, list] = {
    "get_set": [S("GET k"), S("SET k v"), S("GET k"), ["SET", "k", ""], S("GET k"),
                S("SET k"), S("GET"), S("GET a b")],
    "set_nx_xx": [S("SET k 1 NX"), S("SET k 2 NX"), S("GET k"), S("SET k 3 XX"),
                  S("SET nk 3 XX"), S("GET nk"), S("SET k v NX XX"), S("SET k v xx nx"),
                  S("SET k v XX XX"), S("SET k v nx NX")],
    "set_expire": [S("SET k v EX 100"), S("TTL k"), S("SET k v PX 100000"), S("TTL k"),
                   ["SET", "k", "v", "EXAT", FAR_S], S("EXPIRETIME k"),
                   ["SET", "k", "v", "PXAT", FAR_MS], S("PEXPIRETIME k"),
                   S("SET k v ex 10 ex 200"), S("TTL k"), S("SET k w"), S("TTL k"),
                   S("SET k v EXAT 1"), S("GET k"), S("EXISTS k")],
    "set_expire_errors": [S("SET k v EX 0"), S("SET k v EX -1"), S("SET k v PX 0"),
                          S("SET k v EXAT 0"), S("SET k v PXAT -5"), S("SET k v EX abc"),
                          S("SET k v EX 1.5"), S("SET k v EX 9223372036854775807"),
                          S("SET k v EX 9223372036854776"), S("SET k v EX 9223372036854775"),
                          S("SET k v PX 9223372036854775000"),
                          S("SET k v PXAT 9223372036854775807"),
                          S("SET k v EX 99999999999999999999"), S("SET k v EX"),
                          S("SET k v PX"), S("SET k v EX 10 PX 10"), S("SET k v PX 10 EX 10"),
                          S("SET k v EXAT 10 PXAT 10"), S("SET k v EX 10 KEEPTTL"),
                          S("SET k v KEEPTTL EX 10"), S("SET k v PERSIST"), S("SET k v FOO"),
                          S("SET k v EX 10 FOO"), ["SET", "k", "v", "EX\x00x", "10"],
                          S("SET k v EX 10 NX XX")],
    "set_keepttl": [S("SET k v EX 100"), S("SET k w KEEPTTL"), S("TTL k"), S("GET k"),
                    S("SET k x keepttl KEEPTTL"), S("TTL k"), S("SET k y"), S("TTL k")],
    "set_get": [S("SET k v1 GET"), S("SET k v2 GET"), S("GET k"), S("SET k v3 NX GET"),
                S("SET nk v XX GET"), S("EXISTS nk"), S("SET nk v NX GET"),
                S("SET k v4 GET GET EX 100"), S("TTL k"), OTHER, S("SET l v GET"),
                S("TYPE l"), S("SET l v GET NX"), S("SET l v XX GET")],
    "setnx_setex": [S("SETNX k a"), S("SETNX k b"), S("GET k"), S("SETEX k 100 v"),
                    S("TTL k"), S("PSETEX p 100000 v"), S("GET p"), S("SETEX k 0 v"),
                    S("SETEX k -1 v"), S("SETEX k x v"), S("PSETEX k 0 v"),
                    S("SETEX k 9223372036854776 v"), S("PSETEX k 9223372036854775000 v"),
                    S("SETEX k 10"), S("SETNX k"), OTHER, S("SETNX l v"),
                    S("SETEX l 10 v"), S("TYPE l")],
    "getset_getdel": [S("GETSET k a"), S("GETSET k b"), S("GET k"), S("SET t v EX 100"),
                      S("GETSET t w"), S("TTL t"), S("GETDEL k"), S("GETDEL k"),
                      S("EXISTS k"), OTHER, S("GETSET l v"), S("GETDEL l"),
                      S("TYPE l")],
    "getex": [S("GETEX nk"), S("GETEX nk EX -1"), S("GETEX nk FOO"), S("SET k v"),
              S("GETEX k"), S("TTL k"), S("GETEX k EX 100"), S("TTL k"),
              S("GETEX k PX 200000"), S("TTL k"), ["GETEX", "k", "EXAT", FAR_S],
              S("EXPIRETIME k"), ["GETEX", "k", "PXAT", FAR_MS], S("EXPIRETIME k"),
              S("GETEX k PERSIST"), S("TTL k"), S("GETEX k PERSIST"), S("GETEX k EX 0"),
              S("GETEX k PX -1"), S("GETEX k EX abc"), S("GETEX k EX 9223372036854775807"),
              S("GETEX k EX 10 PX 10"), S("GETEX k PERSIST EX 10"), S("GETEX k EX 10 PERSIST"),
              S("GETEX k KEEPTTL"), S("GETEX k NX"), S("GETEX k GET"), S("GETEX k EX"),
              S("GETEX k ex 10 ex 20"), S("TTL k"), S("GETEX k EXAT 1"), S("EXISTS k"),
              S("SET k v"), S("GETEX k PXAT 1"), S("EXISTS k"), OTHER,
              S("GETEX l"), S("GETEX l EX 0"), S("GETEX l FOO")],
    "mget_mset": [S("MSET a 1 b 2"), S("MGET a b c"), OTHER, S("MGET a l b l"),
                  S("MSET a"), S("MSET a 1 b"), S("MSET l s a 3 a 4"), S("MGET l a"),
                  S("MSETNX a 1 z 2"), S("EXISTS z"), S("MSETNX x 1 y 2"), S("MGET x y"),
                  S("MSETNX q 1 q 2"), S("GET q"), S("MSETNX q"), S("MSETNX a 1 b"),
                  S("APPEND a z"), S("MGET a")],
    "incr": [S("INCR n"), S("INCR n"), S("DECR n"), S("DECR m"), S("INCRBY n 10"),
             S("INCRBY n -20"), S("DECRBY n 5"), S("DECRBY n -100"), S("GET n"),
             S("SET n 9223372036854775807"), S("INCR n"), S("INCRBY n 0"), S("DECR n"),
             S("SET n -9223372036854775808"), S("DECR n"), S("INCRBY n -1"),
             S("INCRBY n 9223372036854775807"), S("DECRBY n -9223372036854775808"),
             S("DECRBY n 9223372036854775807"), S("DECRBY n 1"), S("INCRBY n x"),
             S("INCRBY n 1.0"), S("INCRBY n 9223372036854775808"), ["DECRBY", "n", ""],
             S("SET n 1"), S("APPEND n 0"), S("INCR n"), S("SET n 5 EX 100"), S("INCR n"),
             S("TTL n"), OTHER, S("INCR l"), S("INCRBY l x"), S("DECRBY l 1")],
    "incr_not_integer": [["SET", "n", v] for v in
                         ("abc", "1.5", " 1", "1 ", "+1", "01", "-0", "", "0x10", "1" * 30,
                          "9223372036854775808", "-9223372036854775809", "1\x00")]
    + [S("INCR n"), S("GET n")],
    "incrbyfloat": [S("INCRBYFLOAT f 10.5"), S("INCRBYFLOAT f 0.1"), S("INCRBYFLOAT f -5"),
                    S("SET g 5.0e3"), S("INCRBYFLOAT g 2.0e2"), S("SET h 1"),
                    S("INCRBYFLOAT h 1"), S("INCRBYFLOAT h -2"), S("INCRBYFLOAT x 0.1"),
                    S("INCRBYFLOAT x 0.2"), S("INCRBYFLOAT x 3.0e3"), S("INCRBYFLOAT x 1e400"),
                    S("INCRBYFLOAT y 0x10"), S("INCRBYFLOAT y 0x1.8p-3"),
                    S("INCRBYFLOAT y -0.000000000000000001"), S("INCRBYFLOAT z 1e-400"),
                    S("SET k 1e30"), S("INCRBYFLOAT k 1"), S("SET k 10.5"),
                    *[S("INCRBYFLOAT k 0.1")] * 10, S("INCRBYFLOAT k 1.2e4932"),
                    S("SET m 1.18e4932"), S("INCRBYFLOAT m 0.01e4932"),
                    S("INCRBYFLOAT m 1"), S("INCRBYFLOAT m inf"), S("INCRBYFLOAT m -inf"),
                    S("INCRBYFLOAT m nan"), S("INCRBYFLOAT m abc"), ["INCRBYFLOAT", "m", ""],
                    ["INCRBYFLOAT", "m", " 1"], ["INCRBYFLOAT", "m", "1 "],
                    S("INCRBYFLOAT m 1e"), S("INCRBYFLOAT m 1e5000"), S("INCRBYFLOAT m 1e-5000"),
                    ["INCRBYFLOAT", "m", "1\x00abc"], ["INCRBYFLOAT", "m", "\x00"],
                    S("SET s abc"), S("INCRBYFLOAT s 1"), S("SET s inf"), S("INCRBYFLOAT s 1"),
                    S("SET t 1 EX 100"), S("INCRBYFLOAT t 1.5"), S("TTL t"), OTHER,
                    S("INCRBYFLOAT l 1"), S("INCRBYFLOAT l abc"),
                    ["INCRBYFLOAT", "big", "1" * 5119], ["INCRBYFLOAT", "big", "1" * 5120],
                    ["INCRBYFLOAT", "big", "0." + "0" * 5000 + "1"]],
    "append_strlen": [S("APPEND k Hello"), ["APPEND", "k", " World"], S("GET k"),
                      ["APPEND", "k", ""], ["APPEND", "e", ""], S("EXISTS e"), S("STRLEN k"),
                      S("STRLEN nk"), S("SET n 12345"), S("STRLEN n"), S("APPEND n 6"),
                      S("STRLEN n"), S("GET n"), S("SET t v EX 100"), S("APPEND t w"),
                      S("TTL t"), OTHER, S("APPEND l x"), S("STRLEN l")],
    "getrange": [["SET", "k", "This is a string"], S("GETRANGE k 0 3"), S("GETRANGE k -3 -1"),
                 S("GETRANGE k 0 -1"), S("GETRANGE k 10 100"), S("GETRANGE k 100 200"),
                 S("GETRANGE k 5 3"), S("GETRANGE k -1 -2"), S("GETRANGE k -100 3"),
                 S("GETRANGE k 0 -100"), S("GETRANGE k -100 -100"), S("GETRANGE k -100 -99"),
                 S("GETRANGE k -9223372036854775808 9223372036854775807"),
                 S("GETRANGE nk 0 -1"), S("SET n 1234"), S("GETRANGE n 1 2"),
                 ["SET", "e", ""], S("GETRANGE e 0 -1"), S("GETRANGE e 0 0"),
                 S("GETRANGE e -1 0"), S("SUBSTR k 0 3"), S("GETRANGE k a 1"),
                 S("GETRANGE k 0 1.5"), S("GETRANGE nk a 1"), S("GETRANGE k 0"),
                 OTHER, S("GETRANGE l 0 1"), S("GETRANGE l a 1"), S("APPEND k !"),
                 S("GETRANGE k -2 -1")],
    "setrange": [["SET", "k", "Hello World"], S("SETRANGE k 6 Redis"), S("GET k"),
                 S("SETRANGE z 5 abc"), S("GET z"), S("SETRANGE k 20 !"), S("GET k"),
                 ["SETRANGE", "nk", "0", ""], S("EXISTS nk"), ["SETRANGE", "k", "100", ""],
                 S("STRLEN k"), S("SET n 1234"), S("SETRANGE n 1 x"), S("GET n"),
                 S("SETRANGE k -1 x"), S("SETRANGE k x x"), S("SETRANGE k 536870912 x"),
                 S("SETRANGE k 536870911 xy"),
                 S("SETRANGE k 9223372036854775807 x"), S("SETRANGE nk 536870912 x"),
                 S("EXISTS nk"), OTHER, S("SETRANGE l 0 x"), S("SETRANGE l -1 x"),
                 ["SETRANGE", "l", "0", ""]],
    "lcs": [S("MSET key1 ohmytext key2 mynewtext"), S("LCS key1 key2"), S("LCS key1 key2 LEN"),
            S("LCS key1 key2 IDX"), S("LCS key1 key2 IDX MINMATCHLEN 4"),
            S("LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN"),
            S("LCS key1 key2 idx withmatchlen minmatchlen -5"), S("LCS key1 key2 WITHMATCHLEN"),
            S("LCS key1 key2 LEN MINMATCHLEN 3"), S("LCS key1 nk"), S("LCS nk nk2 LEN"),
            S("LCS nk nk2 IDX"), S("LCS key1 key1 IDX WITHMATCHLEN"), S("LCS key1 key2 IDX LEN"),
            S("LCS key1 key2 FOO"), S("LCS key1 key2 MINMATCHLEN"),
            S("LCS key1 key2 MINMATCHLEN x"), S("LCS key1 key2 IDX IDX LEN LEN"),
            S("LCS key1"), OTHER, S("LCS key1 l"), S("LCS l nk FOO"),
            S("MSET a abcabcabc b cbacbacba"), S("LCS a b IDX WITHMATCHLEN"), S("LCS b a IDX"),
            S("MSET c aaaa d aa"), S("LCS c d IDX"), S("LCS d c IDX WITHMATCHLEN")],
    "encodings": [S("SET i 12345"), S("OBJECT ENCODING i"), S("SET i 9223372036854775808"),
                  S("OBJECT ENCODING i"), ["SET", "e", "x" * 44], S("OBJECT ENCODING e"),
                  ["SET", "e", "x" * 45], S("OBJECT ENCODING e"), S("APPEND e y"),
                  S("OBJECT ENCODING e"), S("APPEND a hello"), S("OBJECT ENCODING a"),
                  S("APPEND a x"), S("OBJECT ENCODING a"), S("SETRANGE s 0 j"),
                  S("OBJECT ENCODING s"), S("INCR s2"), S("OBJECT ENCODING s2"),
                  S("SET f 1.5"), S("INCRBYFLOAT f 1"), S("OBJECT ENCODING f"),
                  S("SET r 1"), S("APPEND r 2"), S("OBJECT ENCODING r"), S("INCR r"),
                  S("OBJECT ENCODING r")],
}


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_case(clients, name, proto):
    a, b = clients[proto]
    run_same(a, b, CASES[name])


def test_large_values(clients):
    a, b = clients[2]
    big = "x" * 100000
    run_same(a, b, [["SET", "k", big], S("GET k"), S("STRLEN k"), ["APPEND", "k", big],
                    S("STRLEN k"), S("GETRANGE k 99990 100010"), S("SETRANGE k 199999 yz"),
                    S("GETRANGE k -3 -1"), ["MSET", "a", big, "b", "1"], S("MGET a b k")])


def test_lcs_long(clients):
    rnd = random.Random(11)
    for n, m in ((300, 200), (40, 500), (257, 1)):
        x = "".join(rnd.choice("ACGT") for _ in range(n))
        y = "".join(rnd.choice("ACGT") for _ in range(m))
        for proto in (2, 3):
            a, b = clients[proto]
            run_same(a, b, [["MSET", "x", x, "y", y], S("LCS x y"), S("LCS x y LEN"),
                            S("LCS x y IDX WITHMATCHLEN"), S("LCS y x IDX MINMATCHLEN 3")])


# ---------------------------------------------------------------------------
# Random command sequences
# ---------------------------------------------------------------------------
KEYS = [b"a", b"b", b"c"]
VALUES = [b"", b"0", b"1", b"-1", b"10", b"42", b"abc", b"hello world", b"3.5", b"-0",
          b"01", b"9223372036854775807", b"-9223372036854775808", b"1e3", b"0.1", b"x" * 50,
          b" 1", b"inf", b"1.5e-3", b"0x10", b"get", b"nx"]
INTS = [b"0", b"1", b"-1", b"2", b"5", b"-3", b"100", b"9223372036854775807",
        b"-9223372036854775808", b"9223372036854775808", b"abc", b"1.5", b"", b"+1"]

key = st.sampled_from(KEYS + [b"l"])     # "l" holds a list: WRONGTYPE paths
value = st.sampled_from(VALUES) | st.binary(max_size=6)
integer = st.sampled_from(INTS) | st.integers(-2**65, 2**65).map(lambda i: b"%d" % i)
small_int = st.integers(-20, 20).map(lambda i: b"%d" % i)
floatish = st.sampled_from([b"0.1", b"-0.1", b"1", b"1e3", b"-2.5", b"abc", b"inf", b"1e400",
                            b"0x1p-2", b""]) | st.floats(allow_nan=False, width=64).map(
                                lambda f: repr(f).encode())
expire_opt = st.sampled_from([
    [], [b"EX", b"1000"], [b"PX", b"1000000"], [b"EXAT", FAR_S], [b"PXAT", FAR_MS],
    [b"EXAT", b"1"], [b"PXAT", b"1"], [b"EX", b"0"], [b"PX", b"-1"], [b"EX", b"x"],
    [b"KEEPTTL"], [b"EX"], [b"ex", b"100", b"PX", b"100"]])
set_flags = st.lists(st.sampled_from([b"NX", b"XX", b"GET", b"get", b"KEEPTTL", b"FOO"]),
                     max_size=2)


def _cmd(*parts):
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p)
                       for p in parts]).map(list)


command_strategy = st.one_of(
    _cmd(b"GET", key),
    _cmd(b"SET", key, value),
    st.tuples(key, value, set_flags, expire_opt).map(
        lambda t: [b"SET", t[0], t[1], *t[2], *t[3]]),
    _cmd(b"SETNX", key, value),
    _cmd(b"SETEX", key, st.sampled_from([b"100", b"0", b"-1", b"x"]), value),
    _cmd(b"PSETEX", key, st.sampled_from([b"100000", b"0", b"x"]), value),
    _cmd(b"GETSET", key, value),
    _cmd(b"GETDEL", key),
    st.tuples(key, expire_opt | st.just([b"PERSIST"]) | st.just([b"PERSIST", b"EX", b"1"])).map(
        lambda t: [b"GETEX", t[0], *t[1]]),
    st.lists(key, min_size=1, max_size=4).map(lambda ks: [b"MGET", *ks]),
    st.lists(st.tuples(key, value), min_size=1, max_size=3).map(
        lambda kv: [b"MSET", *[x for p in kv for x in p]]),
    st.lists(st.tuples(key, value), min_size=1, max_size=3).map(
        lambda kv: [b"MSETNX", *[x for p in kv for x in p]]),
    _cmd(b"APPEND", key, value),
    _cmd(b"STRLEN", key),
    _cmd(b"GETRANGE", key, small_int, small_int),
    _cmd(b"SUBSTR", key, small_int, small_int),
    _cmd(b"SETRANGE", key, st.integers(-1, 12).map(lambda i: b"%d" % i), value),
    _cmd(b"INCR", key),
    _cmd(b"DECR", key),
    _cmd(b"INCRBY", key, integer),
    _cmd(b"DECRBY", key, integer),
    _cmd(b"INCRBYFLOAT", key, floatish),
    st.tuples(key, key, st.lists(st.sampled_from(
        [[b"LEN"], [b"IDX"], [b"WITHMATCHLEN"], [b"MINMATCHLEN", b"2"], [b"MINMATCHLEN"],
         [b"FOO"]]), max_size=3)).map(
             lambda t: [b"LCS", t[0], t[1], *[x for o in t[2] for x in o]]),
    _cmd(b"EXISTS", key),
)


@settings(max_examples=examples(50), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proto=st.sampled_from([2, 3]), cmds=st.lists(command_strategy, max_size=25))
def test_random_sequences(clients, proto, cmds):
    a, b = clients[proto]
    run_same(a, b, [OTHER] + cmds)
