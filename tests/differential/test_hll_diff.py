"""HyperLogLog: omakase vs Debian's redis-server 7.0, byte for byte.

Every command goes to both servers over raw sockets and the replies must be
identical bytes (RESP2 and RESP3), errors included.  Since an HLL is a
string, GET after each step compares the stored representation itself:
header, cached cardinality and its "stale" bit, every sparse opcode (the
splits and merges of ``hllSparseSet``), the moment of promotion to dense
for several ``hll-sparse-max-bytes`` values, and the dense register packing.
Interop: HLL bytes made by one server are SET into the other and must count
and grow the same way.  Corrupted HLLs (random byte damage, truncation) must
get the same errors and leave the same bytes behind.  The dirty counter
(``rdb_changes_since_last_save``) must move the same way.
"""
from __future__ import annotations

import os
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import close_pairs, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs, ("CONFIG", "SET", "hll-sparse-max-bytes", "3000"))


class Pair:
    def __init__(self, a, b) -> None:
        self.a, self.b = a, b

    def both(self, *cmd) -> bytes:
        ra, rb = self.a.call(*cmd), self.b.call(*cmd)
        assert ra == rb, f"{[str(x)[:40] for x in cmd[:4]]}: omakase {ra[:300]!r} != redis {rb[:300]!r}"
        return ra

    def reset(self, max_bytes: int = 3000) -> None:
        self.both("FLUSHALL")
        self.both("CONFIG", "SET", "hll-sparse-max-bytes", str(max_bytes))

    def dirty(self) -> tuple[int, int]:
        def get(c):
            info = c.call("INFO", "persistence")
            line = next(x for x in info.split(b"\r\n")
                        if x.startswith(b"rdb_changes_since_last_save:"))
            return int(line.split(b":")[1])
        return get(self.a), get(self.b)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def pair(request, clients):
    a, b = clients[request.param]
    p = Pair(a, b)
    p.reset()
    return p


def elements(rng: random.Random, n: int) -> list[bytes]:
    return [rng.randbytes(rng.randint(0, 24)) for _ in range(n)]


# ---------------------------------------------------------------------------
# Fixed sequences: sparse growth, promotion, dense, for several thresholds
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("max_bytes", [0, 40, 300, 3000, 6000])
def test_pfadd_sequences_store_identical_bytes(clients, max_bytes):
    p = Pair(*clients[2])
    p.reset(max_bytes)
    rng = random.Random(max_bytes)
    for key in (b"a", b"b"):
        n = 0
        while n < 2500:
            batch = elements(rng, rng.choice([1, 1, 2, 5, 40]))
            n += len(batch)
            p.both("PFADD", key, *batch)
            p.both("GET", key)
            if rng.random() < 0.2:
                p.both("PFCOUNT", key)
                p.both("GET", key)
        p.both("PFDEBUG", "ENCODING", key)
        p.both("PFCOUNT", key)
        p.both("GET", key)
    p.both("PFCOUNT", "a", "b")
    p.both("PFMERGE", "m", "a", "b")
    p.both("GET", "m")
    p.both("PFCOUNT", "m")


def test_single_element_adds_through_promotion(pair):
    rng = random.Random(7)
    for ele in elements(rng, 1800):
        pair.both("PFADD", "h", ele)
    pair.both("GET", "h")
    pair.both("PFDEBUG", "ENCODING", "h")
    pair.both("PFCOUNT", "h")
    pair.both("GET", "h")


def test_dense_counts_and_bytes_at_larger_cardinalities(pair):
    rng = random.Random(11)
    total = 0
    for size in (3000, 10000, 30000):
        els = elements(rng, size - total)
        total = size
        for i in range(0, len(els), 1000):
            pair.both("PFADD", "big", *els[i:i + 1000])
        pair.both("PFCOUNT", "big")
        pair.both("GET", "big")


@pytest.mark.parametrize("max_bytes", [3000, 12000])
def test_pfmerge_into_sparse_and_dense_destinations(clients, max_bytes):
    p = Pair(*clients[2])
    p.reset(max_bytes)
    rng = random.Random(max_bytes + 1)
    sizes = {"s1": 20, "s2": 300, "s3": 1000, "d1": 5000}
    for key, n in sizes.items():
        els = elements(rng, n)
        for i in range(0, n, 500):
            p.both("PFADD", key, *els[i:i + 500])
    p.both("PFMERGE", "m1", "s1", "s2")          # sparse into new sparse
    p.both("GET", "m1")
    p.both("PFMERGE", "s1", "s3")                 # into an existing sparse
    p.both("GET", "s1")
    p.both("PFMERGE", "m2", "s2", "d1")           # a dense source: dense target
    p.both("GET", "m2")
    p.both("PFMERGE", "s2", "nosuchkey")          # only the destination
    p.both("GET", "s2")
    p.both("PFMERGE", "m3")                       # nothing at all
    p.both("GET", "m3")
    p.both("PFMERGE", "s3", "s1", "s2", "m1")
    p.both("GET", "s3")
    for k in ("m1", "s1", "m2", "s2", "m3", "s3"):
        p.both("PFDEBUG", "ENCODING", k)
        p.both("PFCOUNT", k)
    p.both("PFCOUNT", "s1", "s2", "s3", "d1", "m1", "m2", "nosuchkey")


# ---------------------------------------------------------------------------
# Random command sequences (hypothesis)
# ---------------------------------------------------------------------------
KEYS = [b"h1", b"h2", b"h3", b"str", b"lst"]
ele_st = st.one_of(st.binary(max_size=12), st.integers(0, 200).map(lambda i: b"%d" % i))
cmd_st = st.one_of(
    st.tuples(st.just(b"PFADD"), st.sampled_from(KEYS), st.lists(ele_st, max_size=6)),
    st.tuples(st.just(b"PFADD"), st.sampled_from(KEYS[:3]),
              st.integers(0, 10**6).map(lambda s: [b"r%d:%d" % (s, i) for i in range(150)])),
    st.tuples(st.just(b"PFCOUNT"), st.lists(st.sampled_from(KEYS + [b"none"]), min_size=1, max_size=3)),
    st.tuples(st.just(b"PFMERGE"), st.sampled_from(KEYS), st.lists(st.sampled_from(KEYS + [b"none"]), max_size=3)),
    st.tuples(st.just(b"PFDEBUG"), st.sampled_from([b"GETREG", b"DECODE", b"ENCODING", b"TODENSE", b"bogus"]),
              st.sampled_from(KEYS + [b"none"])),
    st.tuples(st.just(b"GET"), st.sampled_from(KEYS)),
    st.tuples(st.just(b"CONFIG"), st.sampled_from([b"0", b"50", b"400", b"3000"])),
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(cmds=st.lists(cmd_st, max_size=25))
def test_random_sequences(clients, cmds):
    p = Pair(*clients[2])
    p.reset()
    p.both("SET", "str", "hello")
    p.both("RPUSH", "lst", "x")
    for name, *rest in cmds:
        if name == b"PFADD":
            p.both(name, rest[0], *rest[1])
        elif name == b"PFCOUNT":
            p.both(name, *rest[0])
        elif name == b"PFMERGE":
            p.both(name, rest[0], *rest[1])
        elif name == b"PFDEBUG":
            p.both(name, rest[0], rest[1])
        elif name == b"GET":
            p.both(name, rest[0])
        else:
            p.both("CONFIG", "SET", "hll-sparse-max-bytes", rest[0])
    for k in KEYS[:3]:
        p.both("GET", k)


# ---------------------------------------------------------------------------
# Interop: bytes made by one server, used by the other
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 5, 200, 1500, 20000])
def test_interop_both_directions(clients, n):
    p = Pair(*clients[2])
    p.reset()
    a, b = p.a, p.b
    rng = random.Random(n)
    els = elements(rng, n)
    for i in range(0, n, 1000):
        a.call("PFADD", "mine", *els[i:i + 1000])
        b.call("PFADD", "theirs", *els[i:i + 1000])
    if n == 0:
        a.call("PFADD", "mine")
        b.call("PFADD", "theirs")
    ours = a.call("GET", "mine")
    theirs = b.call("GET", "theirs")
    assert ours == theirs
    # redis's bytes into omakase and omakase's bytes into redis
    body_theirs = theirs.split(b"\r\n", 1)[1][:-2]
    body_ours = ours.split(b"\r\n", 1)[1][:-2]
    assert a.call("SET", "x", body_theirs) == b"+OK\r\n"
    assert b.call("SET", "x", body_ours) == b"+OK\r\n"
    p.both("PFCOUNT", "x")
    p.both("GET", "x")
    more = elements(rng, 300)
    p.both("PFADD", "x", *more)
    p.both("GET", "x")
    p.both("PFCOUNT", "x")
    p.both("PFCOUNT", "x", "mine", "theirs")


def test_crafted_dense_values_beyond_the_hash_range(pair):
    """Dense registers may hold up to 63 when the bytes come from SET."""
    rng = random.Random(3)
    regs = bytearray(b"HYLL" + bytes(12)) + bytes(rng.choice([0, 0, 1, 5, 40, 51, 52, 63])
                                                   for _ in range(12288))
    pair.both("SET", "d", bytes(regs))
    pair.both("PFCOUNT", "d")
    pair.both("GET", "d")
    pair.both("SET", "d2", bytes(regs))
    pair.both("PFCOUNT", "d2", "d")
    pair.both("PFMERGE", "d3", "d2")
    pair.both("GET", "d3")
    pair.both("PFADD", "s", "a", "b")
    pair.both("PFMERGE", "s", "d")
    pair.both("GET", "s")


# ---------------------------------------------------------------------------
# Corrupted values and wrong types: same errors, same bytes left behind
# ---------------------------------------------------------------------------
def test_corrupted_sparse_values(clients):
    p = Pair(*clients[2])
    rng = random.Random(99)
    p.reset()
    base = []
    for n in (3, 40, 400):
        p.both("DEL", "src")
        p.both("PFADD", "src", *elements(rng, n))
        base.append(p.b.call("GET", "src").split(b"\r\n", 1)[1][:-2])
    for trial in range(150):
        blob = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.5 and len(blob) > 16:
                blob[rng.randrange(16, len(blob))] = rng.randrange(256)
            elif kind < 0.7 and len(blob) > 16:
                del blob[rng.randrange(16, len(blob))]
            elif kind < 0.8:
                blob.insert(rng.randrange(16, len(blob) + 1), rng.randrange(256))
            elif kind < 0.9:
                blob[15] ^= 0x80
            else:
                del blob[-1]
        p.both("SET", "c", bytes(blob))
        op = trial % 6
        if op == 0:
            p.both("PFCOUNT", "c")
        elif op == 1:
            p.both("PFADD", "c", *elements(rng, rng.randint(1, 30)))
        elif op == 2:
            p.both("PFMERGE", "dst", "c")
            p.both("GET", "dst")
        elif op == 3:
            p.both("PFDEBUG", "DECODE", "c")
            p.both("PFDEBUG", "TODENSE", "c")
        elif op == 4:
            p.both("PFCOUNT", "c", "src")
        else:
            p.both("PFMERGE", "c", "src")
        p.both("GET", "c")


@pytest.mark.parametrize("blob", [
    b"", b"HYLL", b"HYLL\x01\x00\x00", b"HYLX\x01\x00\x00\x00" + bytes(8) + b"\x7f\xff",
    b"HYLL\x02\x00\x00\x00" + bytes(8) + b"\x7f\xff",
    b"HYLL\x00\x00\x00\x00" + bytes(8) + b"\x7f\xff",           # dense, wrong size
    b"HYLL\x01\x00\x00\x00" + bytes(8),                          # no opcodes at all
    b"HYLL\x01\x00\x00\x00" + bytes(8) + b"\x7f",                # truncated XZERO
    b"HYLL\x01\x00\x00\x00" + bytes(8) + b"\x7f\xff\x00",        # one register too many
    b"HYLL\x01\x07\x07\x07" + bytes(7) + b"\x80\x7f\xfe\x80",   # notused bytes kept
    b"12345678901234567",
])
def test_invalid_hll_strings(pair, blob):
    pair.both("SET", "k", blob)
    for cmd in (("PFCOUNT", "k"), ("PFCOUNT", "k", "k"), ("PFADD", "k", "a", "b", "c"),
                ("PFMERGE", "m", "k"), ("PFDEBUG", "ENCODING", "k"), ("PFDEBUG", "GETREG", "k"),
                ("PFDEBUG", "DECODE", "k"), ("PFDEBUG", "TODENSE", "k"), ("GET", "k"),
                ("GET", "m")):
        pair.both(*cmd)


def test_wrong_types_and_missing_keys(pair):
    pair.both("RPUSH", "l", "a")
    pair.both("SET", "s", "not an hll at all, long enough")
    for cmd in (("PFADD", "l", "x"), ("PFADD", "s", "x"), ("PFCOUNT", "l"), ("PFCOUNT", "s"),
                ("PFCOUNT", "nokey", "l"), ("PFMERGE", "d", "l"), ("PFMERGE", "l", "nokey"),
                ("PFMERGE", "d", "s"), ("EXISTS", "d"), ("PFDEBUG", "GETREG", "nokey"),
                ("PFDEBUG", "GETREG", "l"), ("PFDEBUG", "nosuch", "nokey"),
                ("PFCOUNT", "nokey"), ("PFCOUNT", "nokey", "nokey2"), ("PFADD",),
                ("PFCOUNT",), ("PFDEBUG", "GETREG"), ("PFDEBUG", "GETREG", "k", "x")):
        pair.both(*cmd)
    pair.both("PFADD", "h", "a")
    pair.both("PFDEBUG", "nosuch", "h")
    pair.both("PFDEBUG", "DECODE", "h")
    pair.both("PFDEBUG", "GETREG", "h")
    pair.both("PFDEBUG", "DECODE", "h")
    pair.both("PFDEBUG", "TODENSE", "h")
    pair.both("PFDEBUG", "ENCODING", "h")
    pair.both("TYPE", "h")
    pair.both("OBJECT", "ENCODING", "h")


# ---------------------------------------------------------------------------
# Dirty counter (propagation follows it)
# ---------------------------------------------------------------------------
def test_dirty_moves_like_redis(pair):
    steps = [("PFADD", "h", "a", "b", "c"), ("PFADD", "h", "a"), ("PFADD", "h"),
             ("PFADD", "new"), ("PFCOUNT", "h"), ("PFCOUNT", "h"), ("PFCOUNT", "h", "new"),
             ("PFMERGE", "m", "h"), ("PFMERGE", "m"), ("PFDEBUG", "ENCODING", "h"),
             ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "TODENSE", "h"),
             ("PFDEBUG", "GETREG", "m"), ("PFCOUNT", "m"), ("PFADD", "h", "zz", "yy")]
    a0, b0 = pair.dirty()
    for cmd in steps:
        pair.both(*cmd)
        a1, b1 = pair.dirty()
        assert a1 - a0 == b1 - b0, cmd
        a0, b0 = a1, b1
