"""Generic keyspace and TTL commands: omakase vs Debian's redis-server 7.0,
byte for byte (tests/rawclient.py), errors included, RESP2 and RESP3.

Replies whose element order is the hash table's (KEYS, SCAN) are compared
after sorting their elements; everything else must be identical bytes.
Time-dependent replies are avoided (absolute PEXPIREAT times, TTLs far from
a rounding boundary).  A seeded random walk over a small keyspace (three
keys, three databases) then compares thousands of mixed commands.
"""
from __future__ import annotations

import random

import hiredis
import pytest

from rawclient import RawClient

pytestmark = pytest.mark.differential


def _parse(raw: bytes):
    reader = hiredis.Reader(notEnoughData=None)
    reader.feed(raw)
    return reader.gets()


def _sorted_reply(raw: bytes):
    """KEYS -> sorted list; SCAN -> (cursor == 0, sorted keys)."""
    v = _parse(raw)
    if isinstance(v, list) and len(v) == 2 and isinstance(v[1], list):
        return (v[0] == b"0", sorted(v[1]))
    if isinstance(v, list):
        return sorted(v)
    return raw


class Pair:
    def __init__(self, server, oracle) -> None:
        self.a = RawClient(server.host, server.port)
        self.b = RawClient(oracle.host, oracle.port)
        for c in (self.a, self.b):
            c.call("FLUSHALL")
            c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")

    def both(self, *args):
        return self.a.call(*args), self.b.call(*args)

    def same(self, *args) -> bytes:
        ra, rb = self.both(*args)
        assert ra == rb, f"{args}: omakase {ra!r} != redis {rb!r}"
        return ra

    def same_unordered(self, *args) -> None:
        ra, rb = self.both(*args)
        assert _sorted_reply(ra) == _sorted_reply(rb), f"{args}: {ra!r} != {rb!r}"

    def close(self) -> None:
        for c in (self.a, self.b):
            c.call("SELECT", "0")
            c.close()


@pytest.fixture
def pair(server, oracle):
    p = Pair(server, oracle)
    yield p
    p.close()


CASES = [
    # DEL / UNLINK / EXISTS / TYPE / TOUCH / DBSIZE
    [("SET", "a", "1"), ("SET", "b", "2"), ("DEL", "a", "a", "b", "x"), ("DEL", "a"),
     ("DEL",), ("UNLINK",), ("SET", "c", "3"), ("UNLINK", "c", "c"), ("DBSIZE",),
     ("DBSIZE", "x")],
    [("SET", "a", "1"), ("EXISTS", "a", "a", "b"), ("EXISTS",), ("TYPE", "a"), ("TYPE", "b"),
     ("TYPE",), ("TYPE", "a", "b"), ("TOUCH", "a", "b", "a"), ("TOUCH",)],
    # RENAME / RENAMENX
    [("RENAME", "a", "b"), ("RENAME", "a", "a"), ("RENAMENX", "a", "b"), ("SET", "a", "1"),
     ("RENAME", "a", "a"), ("RENAMENX", "a", "a"), ("SET", "b", "2"), ("RENAMENX", "a", "b"),
     ("RENAME", "a", "b"), ("GET", "b"), ("EXISTS", "a"), ("RENAME", "b"),
     ("SET", "t", "x"), ("PEXPIREAT", "t", "99999999999999"), ("RENAME", "t", "u"),
     ("PEXPIRETIME", "u"), ("PEXPIRETIME", "t")],
    # MOVE
    [("SET", "k", "v"), ("MOVE", "k", "x"), ("MOVE", "k", "1.0"), ("MOVE", "k", "2147483648"),
     ("MOVE", "k", "-2147483649"), ("MOVE", "k", "16"), ("MOVE", "k", "-1"),
     ("MOVE", "k", "0"), ("MOVE", "nokey", "1"), ("MOVE", "nokey", "99"),
     ("PEXPIREAT", "k", "99999999999999"), ("MOVE", "k", "1"), ("MOVE", "k", "1"),
     ("SELECT", "1"), ("PEXPIRETIME", "k"), ("SET", "j", "1"), ("SELECT", "0"),
     ("SET", "j", "0"), ("MOVE", "j", "1"), ("GET", "j"), ("MOVE", "k"), ("SELECT", "0")],
    # COPY
    [("SET", "a", "hello"), ("COPY", "a", "a"), ("COPY", "a", "a", "DB", "0"),
     ("COPY", "a", "b", "DB"), ("COPY", "a", "b", "DB", "x"), ("COPY", "a", "b", "DB", "16"),
     ("COPY", "a", "b", "DB", "2147483648"), ("COPY", "a", "b", "FOO"),
     ("COPY", "a", "b", "REPLACE", "REPLACE", "DB", "1", "DB", "2"),
     ("COPY", "nokey", "b"), ("COPY", "a", "b"), ("COPY", "a", "b"),
     ("SET", "a", "12"), ("COPY", "a", "b", "REPLACE"), ("GET", "b"), ("OBJECT", "ENCODING", "b"),
     ("PEXPIREAT", "a", "99999999999999"), ("COPY", "a", "c", "db", "3"), ("SELECT", "3"),
     ("PEXPIRETIME", "c"), ("GET", "c"), ("SELECT", "0"), ("COPY", "a")],
    # SWAPDB
    [("SWAPDB", "x", "1"), ("SWAPDB", "0", "y"), ("SWAPDB", "x", "y"), ("SWAPDB", "0", "16"),
     ("SWAPDB", "-1", "0"), ("SWAPDB", "2147483648", "0"), ("SWAPDB", "0", "0"),
     ("SET", "k", "v"), ("SWAPDB", "0", "5"), ("EXISTS", "k"), ("SELECT", "5"), ("GET", "k"),
     ("SWAPDB", "5", "0"), ("GET", "k"), ("SELECT", "0"), ("GET", "k"), ("SWAPDB", "0")],
    # FLUSHDB / FLUSHALL
    [("SET", "a", "1"), ("FLUSHDB", "x"), ("FLUSHDB", "SYNC", "ASYNC"), ("FLUSHDB", "async"),
     ("DBSIZE",), ("SET", "a", "1"), ("FLUSHDB", "SYNC"), ("FLUSHALL", "bad"),
     ("FLUSHALL", "SYNC", "x"), ("SET", "a", "1"), ("FLUSHALL", "ASYNC"), ("DBSIZE",),
     ("FLUSHALL",), ("FLUSHDB",)],
    # KEYS (single results: order free)
    [("KEYS", "*"), ("SET", "hello", "1"), ("KEYS", "h?llo"), ("KEYS", "h[a-z]llo"),
     ("KEYS", "h[^e]llo"), ("KEYS", "hel*"), ("KEYS", "x*"), ("KEYS",), ("KEYS", "a", "b")],
    # SCAN
    [("SCAN", "0"), ("SCAN", ""), ("SCAN", "-0"), ("SCAN", "+0"), ("SCAN", "x"), ("SCAN", " 0"),
     ("SCAN", "0 "), ("SCAN", "18446744073709551616"), ("SCAN", "0", "COUNT", "0"),
     ("SCAN", "0", "COUNT", "-5"), ("SCAN", "0", "COUNT", "x"),
     ("SCAN", "0", "COUNT", "9223372036854775808"), ("SCAN", "0", "COUNT"),
     ("SCAN", "0", "MATCH"), ("SCAN", "0", "TYPE"), ("SCAN", "0", "BAD", "x"),
     ("SCAN", "x", "COUNT", "0"), ("SCAN", "0", "COUNT", "0", "MATCH"),
     ("SET", "k1", "v"), ("SCAN", "0"), ("SCAN", "0", "MATCH", "k*", "COUNT", "100"),
     ("SCAN", "0", "TYPE", "string"), ("SCAN", "0", "TYPE", "STRING"),
     ("SCAN", "0", "TYPE", "list"), ("SCAN", "0", "TYPE", "none"), ("SCAN", "0", "MATCH", "z*"),
     ("SCAN",)],
    # RANDOMKEY / TIME arity
    [("RANDOMKEY",), ("SET", "only", "1"), ("RANDOMKEY",), ("RANDOMKEY", "x"), ("TIME", "x")],
    # LOLWUT
    [("LOLWUT",), ("LOLWUT", "x", "y"), ("LOLWUT", "VERSION"), ("LOLWUT", "VERSION", "x"),
     ("LOLWUT", "VERSION", "4"), ("LOLWUT", "VERSION", "7", "x"),
     ("LOLWUT", "VERSION", "5", "4", "1", "1"), ("LOLWUT", "VERSION", "5", "10", "2", "2"),
     ("LOLWUT", "VERSION", "5", "0", "0", "0"), ("LOLWUT", "VERSION", "5", "3", "-4", "2"), ("LOLWUT", "VERSION", "5", "2000", "300", "-1"),
     ("LOLWUT", "VERSION", "5", "x"), ("LOLWUT", "VERSION", "5", "1", "x"),
     ("LOLWUT", "VERSION", "6", "1", "1"), ("LOLWUT", "VERSION", "6", "x"),
     ("LOLWUT", "VERSION", "6", "2", "y"), ("LOLWUT", "VERSION", "4294967301", "4", "1", "1"),
     ("LOLWUT", "version", "-1")],
    # OBJECT
    [("SET", "i", "123"), ("SET", "n", "12345"), ("SET", "e", "x" * 44), ("SET", "w", "x" * 45),
     ("SET", "neg", "-1"), ("SET", "f", "1.5"), ("SET", "lz", "01"),
     ("OBJECT", "ENCODING", "i"), ("OBJECT", "ENCODING", "n"), ("OBJECT", "ENCODING", "e"),
     ("OBJECT", "ENCODING", "w"), ("OBJECT", "ENCODING", "neg"), ("OBJECT", "ENCODING", "f"),
     ("OBJECT", "ENCODING", "lz"), ("OBJECT", "ENCODING", "nokey"),
     ("OBJECT", "REFCOUNT", "i"), ("OBJECT", "REFCOUNT", "n"), ("OBJECT", "REFCOUNT", "e"),
     ("OBJECT", "REFCOUNT", "neg"), ("OBJECT", "REFCOUNT", "nokey"),
     ("OBJECT", "IDLETIME", "e"), ("OBJECT", "IDLETIME", "nokey"),
     ("OBJECT", "FREQ", "e"), ("OBJECT", "FREQ", "nokey"), ("OBJECT", "HELP"),
     ("OBJECT", "help"), ("OBJECT",), ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "a", "b"),
     ("OBJECT", "HELP", "x"), ("OBJECT", "FOO"), ("OBJECT", "FOO", "bar"),
     ("APPEND", "e", "y"), ("OBJECT", "ENCODING", "e")],
    # EXPIRE family errors and flags
    [("SET", "k", "v"), ("EXPIRE", "k", "10", "NX", "XX"), ("EXPIRE", "k", "10", "GT", "LT"),
     ("EXPIRE", "k", "10", "NX", "GT"), ("EXPIRE", "k", "x", "LT", "NX"),
     ("EXPIRE", "k", "10", "foo"), ("EXPIRE", "k", "x", "foo"), ("EXPIRE", "k", "x"),
     ("EXPIRE", "k", "10", b"\xffx"), ("EXPIRE", "k", "10", "a\x00b"),
     ("EXPIRE", "k", "10", "a\r\nb"),
     ("EXPIRE", "k", "1.0"), ("EXPIRE", "k", "9223372036854775"),
     ("EXPIRE", "k", "-9223372036854776"), ("PEXPIRE", "k", "9223372036854775807"),
     ("EXPIREAT", "k", "9223372036854775807"), ("EXPIREAT", "k", "9223372036854776"),
     ("PEXPIREAT", "k", "9223372036854775808"), ("EXPIRE", "nokey", "9223372036854776"),
     ("EXPIRE", "nokey", "10"), ("TTL", "k"), ("EXPIRE", "k", "100", "XX"),
     ("EXPIRE", "k", "100", "GT"), ("EXPIRE", "k", "100", "LT"), ("TTL", "k"),
     ("EXPIRE", "k", "200", "NX"), ("EXPIRE", "k", "200", "LT"), ("EXPIRE", "k", "50", "GT"),
     ("EXPIRE", "k", "300", "GT", "XX"), ("TTL", "k"), ("PERSIST", "k"), ("PERSIST", "k"),
     ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
     ("PEXPIREAT", "k", "99999999999999"), ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"),
     ("PEXPIREAT", "k", "99999999999499"), ("EXPIRETIME", "k"),
     ("PEXPIREAT", "k", "99999999999500", "GT"), ("EXPIRETIME", "k"),
     ("EXPIREAT", "k", "99999999999", "LT"), ("PEXPIRETIME", "k"),
     ("EXPIRE", "k", "-1"), ("EXISTS", "k"), ("TTL", "k"), ("PTTL", "k"),
     ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"), ("PERSIST", "k"),
     ("SET", "k", "v"), ("PEXPIREAT", "k", "1", "NX"), ("EXISTS", "k"),
     ("SET", "k", "v"), ("EXPIREAT", "k", "0"), ("EXISTS", "k"),
     ("EXPIRE", "k"), ("TTL",), ("PERSIST", "a", "b"), ("PEXPIRETIME",)],
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("proto", [2, 3])
def test_cases(pair, case, proto):
    if proto == 3:
        pair.both("HELLO", "3")        # client ids differ
    for cmd in CASES[case]:
        if cmd[0] in ("KEYS", "SCAN"):
            pair.same_unordered(*cmd)
        else:
            pair.same(*cmd)


def test_keys_and_scan_unordered(pair):
    for i in range(300):
        pair.same("SET", f"key:{i}", str(i))
    for pat in ("*", "key:1*", "key:?", "key:[12]?", "*9", "key:\\*", "[k]ey:2[^0-4]"):
        pair.same_unordered("KEYS", pat)
        pair.same_unordered("SCAN", "0", "MATCH", pat, "COUNT", "100000")
    pair.same_unordered("SCAN", "0", "TYPE", "string", "COUNT", "100000")


def _random_command(rng: random.Random) -> tuple:
    keys = ["a", "b", "c"]
    k = rng.choice(keys)
    k2 = rng.choice(keys)
    db = str(rng.choice([0, 1, 2]))
    flags = rng.choice([[], [], ["NX"], ["XX"], ["GT"], ["LT"], ["XX", "GT"], ["NX", "LT"],
                        ["GT", "LT"], ["bogus"]])
    choice = rng.randrange(22)
    if choice == 0:
        return ("SET", k, rng.choice(["1", "hello", "12345", "x" * 50]))
    if choice == 1:
        return ("DEL", *rng.sample(keys, rng.randrange(1, 4)))
    if choice == 2:
        return ("UNLINK", k, k2)
    if choice == 3:
        return ("EXISTS", k, k2, k)
    if choice == 4:
        return ("TYPE", k)
    if choice == 5:
        return ("RENAME", k, k2)
    if choice == 6:
        return ("RENAMENX", k, k2)
    if choice == 7:
        return ("MOVE", k, db)
    if choice == 8:
        extra = rng.choice([[], ["REPLACE"], ["DB", db], ["DB", db, "REPLACE"]])
        return ("COPY", k, k2, *extra)
    if choice == 9:
        return ("SWAPDB", db, str(rng.choice([0, 1, 2])))
    if choice == 10:
        return ("SELECT", db)
    if choice == 11:
        return ("EXPIRE", k, str(rng.choice([100, 200, 300, -1])), *flags)
    if choice == 12:
        return ("PEXPIRE", k, str(rng.choice([150000, 250000, 0])), *flags)
    if choice == 13:
        return ("PEXPIREAT", k, str(rng.choice([99999999990000, 99999999999000, 5])), *flags)
    if choice == 14:
        return ("EXPIREAT", k, str(rng.choice([99999999990, 99999999999, 1])), *flags)
    if choice == 15:
        return ("PERSIST", k)
    if choice == 16:
        return ("TTL", k)
    if choice == 17:
        return ("PEXPIRETIME", k)
    if choice == 18:
        return ("DBSIZE",)
    if choice == 19:
        return ("TOUCH", k, k2)
    if choice == 20:
        return ("KEYS", "*")
    return ("FLUSHDB",) if rng.random() < 0.3 else ("OBJECT", "ENCODING", k)


@pytest.mark.parametrize("seed", range(4))
def test_random_walk(pair, seed):
    rng = random.Random(seed)
    for _ in range(600):
        cmd = _random_command(rng)
        if cmd[0] == "KEYS":
            pair.same_unordered(*cmd)
        elif cmd[0] == "PEXPIRETIME":
            ra, rb = pair.both(*cmd)
            # relative expires differ by the few ms between the two calls
            if ra != rb:
                va, vb = int(ra[1:-2]), int(rb[1:-2])
                assert abs(va - vb) < 1000, (cmd, ra, rb)
        else:
            pair.same(*cmd)
    for db in "012":
        pair.same("SELECT", db)
        pair.same_unordered("KEYS", "*")
