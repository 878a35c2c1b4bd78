"""Bitmap commands, omakase vs Debian's redis-server 7.0, byte for byte.

Each case is a sequence of commands sent to both servers over raw sockets
(``rawclient``); every reply, errors included, must be identical, in RESP2
and RESP3.  A hypothesis test then generates random sequences of SETBIT,
GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO (good and bad
arguments, a key holding a list for WRONGTYPE) mixed with SET/SETRANGE/
APPEND/GET/STRLEN/OBJECT ENCODING, and also compares how much each server's
dirty counter (``rdb_changes_since_last_save``) moved over the sequence.
"""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient, close_pairs, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs)


def _dirty(c: RawClient) -> int:
    raw = c.call("INFO", "persistence")
    i = raw.index(b"rdb_changes_since_last_save:") + len(b"rdb_changes_since_last_save:")
    return int(raw[i:raw.index(b"\r\n", i)])


def run_same(a: RawClient, b: RawClient, cmds, check_dirty: bool = True) -> None:
    a.call("FLUSHALL")
    b.call("FLUSHALL")
    da, db = _dirty(a), _dirty(b)
    for cmd in cmds:
        ra = a.call(*cmd)
        rb = b.call(*cmd)
        assert ra == rb, f"{cmd!r}: omakase {ra!r} != redis {rb!r}"
    if check_dirty:
        assert _dirty(a) - da == _dirty(b) - db, "dirty counters moved differently"


S = str.split

CASES: dict[str, list] = {
    "setbit_getbit": [S("SETBIT k 7 1"), S("GET k"), S("SETBIT k 7 1"), S("SETBIT k 7 0"),
                      S("SETBIT k 100 1"), S("GET k"), S("STRLEN k"), S("OBJECT ENCODING k"),
                      S("GETBIT k 100"), S("GETBIT k 101"), S("GETBIT k 99999"),
                      S("GETBIT nokey 0"), S("SETBIT k -1 0"), S("SETBIT k x 0"),
                      S("SETBIT k 4294967296 1"), S("SETBIT k #1 1"), S("SETBIT k 1 2"),
                      S("SETBIT k 1 -1"), S("SETBIT k 1 x"), S("SETBIT k 1"),
                      S("GETBIT k -1"), S("GETBIT k 4294967296"), S("GETBIT k 4294967295"),
                      S("LPUSH l a"), S("SETBIT l 1 1"), S("GETBIT l 1"), S("GETBIT l -1"),
                      S("SET i 12345"), S("GETBIT i 2"), S("SETBIT i 7 0"), S("GET i"),
                      S("OBJECT ENCODING i"), S("SET e ab"), S("SETBIT e 7 1"),
                      S("OBJECT ENCODING e")],
    "bitcount": [S("SET s foobar"), S("BITCOUNT s"), S("BITCOUNT s 0 0"), S("BITCOUNT s 1 1"),
                 S("BITCOUNT s 1 1 BIT"), S("BITCOUNT s 5 30 bit"), S("BITCOUNT s -1 -2 FOO"),
                 S("BITCOUNT s -2 -1 BIT"), S("BITCOUNT s 0 -1 byte"), S("BITCOUNT s 0 -1 FOO"),
                 S("BITCOUNT s 0"), S("BITCOUNT s 0 1 2 3"), S("BITCOUNT s a 1"),
                 S("BITCOUNT s 1 b"), S("BITCOUNT nokey a"), S("BITCOUNT s 4 2"),
                 S("BITCOUNT s -100 100 BIT"), S("BITCOUNT s -9223372036854775808 -1"),
                 S("BITCOUNT s 0 9223372036854775807 BIT"), S("LPUSH l a"),
                 S("BITCOUNT l"), S("BITCOUNT l 0 1 FOO"), ["SET", "e", ""], S("BITCOUNT e"),
                 S("BITCOUNT e 0 -1 BIT"), S("SET n 255"), S("BITCOUNT n 0 -1 BIT")],
    "bitpos": [["SET", "f", b"\xff\xf0\x00"], S("BITPOS f 0"), S("BITPOS f 1"),
               S("BITPOS f 1 2"), S("BITPOS f 0 2"), S("BITPOS f 0 2 -1"),
               S("BITPOS f 1 7 15 BIT"), S("BITPOS f 0 7 15 BIT"), S("BITPOS f 0 7 15 FOO"),
               S("BITPOS f 0 a 15 FOO"), S("BITPOS f 0 1 a"), S("BITPOS f 0 1 a bit"),
               S("BITPOS f 0 1 2 bit x"), S("BITPOS f 3"), S("BITPOS f x"),
               S("BITPOS f 1 3 1"), S("BITPOS f 0 -100 100"), S("BITPOS f 1 13 -1 bit"),
               ["SET", "o", b"\xff\xff"], S("BITPOS o 0"), S("BITPOS o 0 0"),
               S("BITPOS o 0 0 -1"), S("BITPOS o 0 0 -1 bit"), S("BITPOS o 1 100"),
               S("BITPOS o 0 100"), S("BITPOS o 0 -1"), S("BITPOS nokey 1"),
               S("BITPOS nokey 0"), S("BITPOS nokey 0 a b c"), S("LPUSH l a"),
               S("BITPOS l 2"), S("BITPOS l 1"), ["SET", "e", ""], S("BITPOS e 0"),
               S("BITPOS e 1"), S("BITPOS e 0 0 -1 BIT"), S("SET i 100"), S("BITPOS i 0"),
               S("BITPOS i 1 1 2 BIT")],
    "bitop": [["SET", "a", b"\x0f\xf0"], ["SET", "b", b"\xff"], S("BITOP AND d a b"),
              S("GET d"), S("OBJECT ENCODING d"), S("BITOP or d a b nokey"), S("GET d"),
              S("BITOP XOR d a b a"), S("GET d"), S("BITOP NOT d a"), S("GET d"),
              S("BITOP NOT d a b"), S("BITOP NAND d a"), S("SET d x EX 100"),
              S("BITOP AND d nokey"), S("EXISTS d"), S("BITOP AND d nokey"), S("LPUSH l x"),
              S("BITOP AND d a l"), S("BITOP OR l a"), S("TYPE l"), S("SET i 12"),
              S("BITOP OR d i"), S("GET d"), S("OBJECT ENCODING d"), S("BITOP NOT a a"),
              S("GET a"), ["SET", "e", ""], S("BITOP OR d e"), S("EXISTS d"),
              ["BITOP", "and\x00x", "d", "a"], S("GET d")],
    "bitfield": [S("BITFIELD k SET u8 0 255 GET u8 0 GET i8 0 INCRBY u4 4 1 GET u8 0"),
                 S("BITFIELD k SET i5 #2 7 GET u16 0"), S("GET k"),
                 S("BITFIELD k GET i64 0 GET u63 1 GET u8 1000 GET i5 #3"),
                 S("OBJECT ENCODING k"), S("BITFIELD k GET u64 0"), S("BITFIELD k GET i65 0"),
                 S("BITFIELD k GET i0 0"), S("BITFIELD k GET x8 0"), S("BITFIELD k GET i08 0"),
                 ["BITFIELD", "k", "GET", "", "0"], ["BITFIELD", "k", "GET", "i8\x00z", "0"],
                 S("BITFIELD k GET i8 -1"), S("BITFIELD k GET i8 #-1"),
                 S("BITFIELD k GET i64 #9223372036854775807"), S("BITFIELD k GET i8"),
                 S("BITFIELD k SET i8 0"), S("BITFIELD k FOO"), S("BITFIELD k OVERFLOW"),
                 S("BITFIELD k OVERFLOW FOO GET i8 0"), S("BITFIELD k SET i8 0 x"),
                 S("BITFIELD k INCRBY i8 0 99999999999999999999"),
                 S("BITFIELD k SET u8 0 1 GET u64 0"), S("GET k"), S("BITFIELD k"),
                 S("BITFIELD k OVERFLOW WRAP"), S("LPUSH l a"), S("BITFIELD l GET i8 0"),
                 S("BITFIELD l SET i8 0 1"), S("BITFIELD nokey GET u8 0"), S("EXISTS nokey")],
    "bitfield_overflow": [
        S("BITFIELD n INCRBY i64 0 9223372036854775807 INCRBY i64 0 1 OVERFLOW SAT "
          "INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807 OVERFLOW FAIL INCRBY i64 0 1"),
        S("BITFIELD n SET i64 0 -9223372036854775808 INCRBY i64 0 -1 OVERFLOW SAT "
          "INCRBY i64 0 -1 OVERFLOW WRAP INCRBY i64 0 -9223372036854775808"),
        S("BITFIELD n SET u63 0 -1 GET u63 0 OVERFLOW SAT SET u63 0 -5 INCRBY u63 0 1 "
          "INCRBY u63 0 -9223372036854775808 OVERFLOW WRAP INCRBY u63 0 -1"),
        S("BITFIELD n SET i3 5 3 INCRBY i3 5 1 INCRBY i3 5 -9 OVERFLOW SAT INCRBY i3 5 100 "
          "INCRBY i3 5 -100 SET i3 5 100 SET i3 5 -100 OVERFLOW FAIL SET i3 5 4 "
          "SET i3 5 -5 SET i3 5 -4"),
        S("BITFIELD n SET u1 3 1 INCRBY u1 3 1 GET u1 3 SET u2 #7 7"), S("GET n"),
        S("BITFIELD n OVERFLOW fail INCRBY u8 #40 300 OVERFLOW Sat INCRBY u8 #41 -1"),
        S("STRLEN n"), S("BITFIELD m OVERFLOW FAIL INCRBY u2 100 9"), S("GET m"),
        S("OBJECT ENCODING m"), S("SET e ab"),
        S("BITFIELD e OVERFLOW FAIL INCRBY u8 0 999"), S("OBJECT ENCODING e"),
        S("SET i 12345"), S("BITFIELD i GET u8 0"), S("OBJECT ENCODING i"),
        S("BITFIELD i SET u8 0 49"), S("OBJECT ENCODING i")],
    "bitfield_ro": [S("SET k ab"), S("BITFIELD_RO k GET u8 0 GET i4 #1"),
                    S("BITFIELD_RO k OVERFLOW FAIL GET u8 0"), S("BITFIELD_RO nokey GET u8 0"),
                    S("BITFIELD_RO k"), S("BITFIELD_RO k SET u8 0 1"),
                    S("BITFIELD_RO k GET u8 0 INCRBY u8 0 1"), S("BITFIELD_RO k GET u64 0"),
                    S("BITFIELD_RO k GET u8"), S("LPUSH l a"), S("BITFIELD_RO l GET u8 0"),
                    S("BITFIELD_RO l INCRBY u8 0 1"), S("GET k")],
}


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_case(clients, name, proto):
    a, b = clients[proto]
    run_same(a, b, CASES[name])


def test_offset_limit(clients):
    a, b = clients[2]
    try:
        for c in (a, b):
            c.call("CONFIG", "SET", "proto-max-bulk-len", "1mb")
        run_same(a, b, [S("SETBIT x 8388607 1"), S("SETBIT x 8388608 1"),
                        S("BITFIELD x GET u8 #1048575 GET u8 #1048576"),
                        S("BITFIELD x GET u8 #1048575"), S("STRLEN x"),
                        S("BITFIELD x SET u16 8388600 1"), S("GETBIT x 8388608")])
    finally:
        for c in (a, b):
            c.call("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def test_large_bitmaps(clients):
    a, b = clients[2]
    n = 1 << 20
    run_same(a, b, [["SETRANGE", "z", str(n), b"\x01"], S("BITPOS z 1"), S("BITPOS z 0"),
                    ["BITPOS", "z", "1", "3", str(n - 1)], ["BITPOS", "z", "1", "0", "-1", "BIT"],
                    S("BITCOUNT z"), S("BITCOUNT z 3 -1 BIT"),
                    ["SET", "o", b"\xff" * n + b"\xfe\xff"], S("BITPOS o 0"), S("BITPOS o 1"),
                    ["BITPOS", "o", "0", "0", str(n - 1)], S("BITPOS o 0 -1"),
                    S("BITCOUNT o"), S("BITCOUNT o 5 -9 BIT"), S("BITOP XOR d o z"),
                    S("BITCOUNT d"), S("BITPOS d 0"), S("BITOP NOT d o"), S("BITPOS d 1"),
                    S("STRLEN d"), ["BITFIELD", "o", "GET", "u63", str(8 * n - 20),
                                    "INCRBY", "i64", str(8 * n - 5), "7"],
                    ["GETRANGE", "o", str(n - 2), "-1"]])


# ---------------------------------------------------------------------------
# Random command sequences
# ---------------------------------------------------------------------------
KEYS = [b"a", b"b", b"c"]
key = st.sampled_from(KEYS + [b"l"])      # "l" holds a list: WRONGTYPE paths
VALUES = [b"", b"0", b"12", b"-7", b"foobar", b"\xff", b"\xff\xff\xff", b"\x00\x00",
          b"\xf0\x0f", b"x" * 50]
value = st.sampled_from(VALUES) | st.binary(max_size=6)


def _num(lo, hi, extra=()):
    """Mostly integers in [lo, hi], sometimes one of ``extra`` (bad input)."""
    good = st.integers(lo, hi).map(lambda i: b"%d" % i)
    if not extra:
        return good
    return st.one_of(good, good, good, st.sampled_from(list(extra)))


BAD_NUMS = [b"x", b"", b"1.5", b"+1", b"01", b"99999999999999999999", b"-9223372036854775808",
            b"9223372036854775807"]
# No valid huge offset for writers: a 512 MB string per example is too costly.
offset = _num(0, 90, [b"-1", b"4294967296", b"#3", b"x", b""])
read_offset = _num(0, 90, [b"-1", b"4294967295", b"4294967296", b"#3", b"x", b""])
bit_value = st.sampled_from([b"0", b"1", b"0", b"1", b"2", b"-1", b"x"])
rng_index = _num(-40, 40, BAD_NUMS)
unit = st.sampled_from([b"BIT", b"BYTE", b"bit", b"byte", b"FOO"])
bit_arg = st.sampled_from([b"0", b"1", b"0", b"1", b"2", b"-1", b"x"])

signed_type = st.integers(1, 64).map(lambda n: b"i%d" % n)
unsigned_type = st.integers(1, 63).map(lambda n: b"u%d" % n)
bad_type = st.sampled_from([b"u64", b"i65", b"i0", b"x8", b"i", b"", b"I8", b"i-1"])
field_type = st.one_of(signed_type, unsigned_type, signed_type, unsigned_type,
                       unsigned_type, bad_type)
field_offset = st.one_of(st.integers(0, 80).map(lambda i: b"%d" % i),
                         st.integers(0, 80).map(lambda i: b"%d" % i),
                         st.integers(0, 10).map(lambda i: b"#%d" % i),
                         st.sampled_from([b"-1", b"#-1", b"x", b"#"]))
_good_value = (st.integers(-10, 10) | st.integers(-300, 300) | st.integers(-2**63, 2**63 - 1)
               | st.sampled_from([2**63 - 1, -2**63, 2**62, -1, 0])).map(lambda i: b"%d" % i)
field_value = st.one_of(_good_value, _good_value, _good_value,
                        st.sampled_from([b"x", b"99999999999999999999"]))
field_op = st.one_of(
    st.tuples(st.just(b"GET"), field_type, field_offset).map(list),
    st.tuples(st.sampled_from([b"SET", b"INCRBY", b"incrby"]), field_type, field_offset,
              field_value).map(list),
    st.tuples(st.sampled_from([b"SET", b"INCRBY"]), field_type, field_offset,
              field_value).map(list),
    st.sampled_from([[b"OVERFLOW", b"WRAP"], [b"OVERFLOW", b"SAT"], [b"OVERFLOW", b"FAIL"],
                     [b"OVERFLOW", b"fail"], [b"OVERFLOW", b"BAD"], [b"OVERFLOW"], [b"FOO"]]),
)


def _cmd(*parts):
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p)
                       for p in parts]).map(list)


def _flat(prefix, ops):
    return [*prefix, *[x for op in ops for x in op]]


range_args = st.one_of(
    st.just([]),
    st.tuples(rng_index).map(list),
    st.tuples(rng_index, rng_index).map(list),
    st.tuples(rng_index, rng_index, unit).map(list),
    st.tuples(rng_index, rng_index, unit, unit).map(list),
)

command_strategy = st.one_of(
    _cmd(b"SETBIT", key, offset, bit_value),
    _cmd(b"SETBIT", key, st.integers(0, 40).map(lambda i: b"%d" % i),
         st.sampled_from([b"0", b"1"])),
    _cmd(b"GETBIT", key, read_offset),
    st.tuples(key, range_args).map(lambda t: [b"BITCOUNT", t[0], *t[1]]),
    st.tuples(key, bit_arg, range_args).map(lambda t: [b"BITPOS", t[0], t[1], *t[2]]),
    st.tuples(st.sampled_from([b"AND", b"OR", b"XOR", b"NOT", b"not", b"NAND"]), key,
              st.lists(key | st.just(b"nokey"), min_size=1, max_size=3)).map(
                  lambda t: [b"BITOP", t[0], t[1], *t[2]]),
    st.tuples(key, st.lists(field_op, max_size=5)).map(
        lambda t: _flat([b"BITFIELD", t[0]], t[1])),
    st.tuples(key, st.lists(field_op, max_size=3)).map(
        lambda t: _flat([b"BITFIELD_RO", t[0]], t[1])),
    _cmd(b"SET", key, value),
    _cmd(b"SETRANGE", key, st.integers(0, 8).map(lambda i: b"%d" % i), value),
    _cmd(b"APPEND", key, value),
    _cmd(b"GET", key),
    _cmd(b"STRLEN", key),
    _cmd(b"OBJECT", b"ENCODING", key),
    _cmd(b"DEL", key),
)


@settings(max_examples=int(os.environ.get("BITMAP_EXAMPLES", "50")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proto=st.sampled_from([2, 3]), cmds=st.lists(command_strategy, max_size=30))
def test_random_sequences(clients, proto, cmds):
    a, b = clients[proto]
    run_same(a, b, [[b"RPUSH", b"l", b"x"]] + cmds)
