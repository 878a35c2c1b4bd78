"""HyperLogLog edits through omakase's per-value cache vs redis-server 7.0.

omakase keeps, next to an HLL's bytes, a register histogram and (sparse) an
index of the opcodes (``HLLBuffer`` in ``types/hyperloglog.py``), and builds
PFMERGE results into an empty sparse key in one pass.  These tests run
random PFADD / PFMERGE / PFCOUNT sequences on both servers and compare the
GET bytes of every HLL key after every step: the sparse opcodes after each
split and merge, the promotion to dense at several ``hll-sparse-max-bytes``
values, the cached cardinality and its stale bit.  In-place edits by other
commands (SETRANGE, APPEND) must invalidate the cache.
"""
from __future__ import annotations

import os
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_hll_diff  # noqa: E402  (its Pair and its module-scoped clients)
from test_hll_diff import clients  # noqa: E402,F401

pytestmark = pytest.mark.differential

KEYS = [b"h1", b"h2", b"h3"]


class Pair(test_hll_diff.Pair):
    def check_keys(self, keys=KEYS) -> None:
        for k in keys:
            self.both("GET", k)


def elements(rng: random.Random, n: int) -> list[bytes]:
    return [rng.randbytes(rng.randint(0, 20)) for _ in range(n)]


@pytest.mark.parametrize("max_bytes", [60, 700, 3000])
def test_single_adds_count_and_get_after_every_step(clients, max_bytes):
    """PFADD one element, PFCOUNT, GET: the cached histogram and opcode
    index stay in step with the bytes through promotion."""
    p = Pair(*clients[2])
    p.reset(max_bytes)
    rng = random.Random(max_bytes)
    for i, ele in enumerate(elements(rng, 1400)):
        p.both("PFADD", "h1", ele)
        if i % 3 == 0:
            p.both("PFCOUNT", "h1")
        p.both("GET", "h1")


@pytest.mark.parametrize("seed", range(4))
def test_pfmerge_into_empty_and_existing_sparse_near_the_limit(clients, seed):
    """PFMERGE into an empty destination (built in one pass) and into an
    existing sparse one, with hll-sparse-max-bytes just around the size of
    the result, so that the promotion point is exercised."""
    rng = random.Random(seed)
    p = Pair(*clients[2])
    p.reset(100000)
    sizes = [rng.choice([3, 30, 200, 600]) for _ in range(3)]
    blobs = []
    for n in sizes:
        p.both("DEL", "s")
        p.both("PFADD", "s", *elements(rng, n))
        blobs.append(p.b.call("GET", "s").split(b"\r\n", 1)[1][:-2])
    for i, blob in enumerate(blobs):
        p.both("SET", "x%d" % i, blob)
    p.both("PFMERGE", "full", "x0", "x1", "x2")
    full = len(p.b.call("GET", "full").split(b"\r\n", 1)[1][:-2])
    for max_bytes in range(full - 6, full + 6):
        p.both("CONFIG", "SET", "hll-sparse-max-bytes", str(max_bytes))
        for dest in ("e", "x0"):
            p.both("DEL", "e")
            p.both("SET", "x0", blobs[0])
            p.both("PFMERGE", dest, "x0", "x1", "x2")
            p.both("GET", dest)
            p.both("PFDEBUG", "ENCODING", dest)
            p.both("PFCOUNT", dest)
            p.both("PFADD", dest, *elements(rng, 3))
            p.both("GET", dest)


def test_in_place_string_edits_invalidate_the_cache(clients):
    p = Pair(*clients[2])
    p.reset()
    rng = random.Random(5)
    p.both("PFADD", "h1", *elements(rng, 200))
    p.both("PFCOUNT", "h1")
    body = p.b.call("GET", "h1").split(b"\r\n", 1)[1][:-2]
    # Rewrite a VAL opcode in place: the registers change under the cache.
    for off in range(16, len(body)):
        if body[off] >= 0x80 and body[off] & 3 == 0:
            p.both("SETRANGE", "h1", off, bytes([0x80 | (31 << 2)]))
            break
    p.both("SETRANGE", "h1", 15, b"\x80")
    p.both("PFCOUNT", "h1")
    p.both("GET", "h1")
    p.both("PFADD", "h1", *elements(rng, 50))
    p.both("GET", "h1")
    p.both("PFCOUNT", "h1")
    # Dense, then a register overwritten by SETRANGE.
    p.both("PFADD", "h2", *elements(rng, 3000))
    p.both("PFCOUNT", "h2")
    p.both("SETRANGE", "h2", 100, b"\xff\xff\xff")
    p.both("SETRANGE", "h2", 15, b"\x80")
    p.both("PFCOUNT", "h2")
    p.both("GET", "h2")
    p.both("PFADD", "h2", *elements(rng, 20))
    p.both("PFCOUNT", "h2")
    p.both("GET", "h2")
    # APPEND makes a sparse value malformed: same errors, same bytes.
    p.both("PFADD", "h3", *elements(rng, 20))
    p.both("PFCOUNT", "h3")
    p.both("APPEND", "h3", b"\x80")
    p.both("PFADD", "h3", *elements(rng, 5))
    p.both("PFCOUNT", "h3")
    p.both("GET", "h3")


ele_st = st.one_of(st.binary(max_size=10), st.integers(0, 3000).map(lambda i: b"%d" % i))
step_st = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(KEYS), st.lists(ele_st, min_size=1, max_size=4)),
    st.tuples(st.just("addmany"), st.sampled_from(KEYS), st.integers(0, 10**6), st.sampled_from([30, 150, 600])),
    st.tuples(st.just("count"), st.lists(st.sampled_from(KEYS + [b"none"]), min_size=1, max_size=3)),
    st.tuples(st.just("merge"), st.sampled_from(KEYS + [b"fresh"]), st.lists(st.sampled_from(KEYS), max_size=3)),
    st.tuples(st.just("del"), st.sampled_from(KEYS + [b"fresh"])),
    st.tuples(st.just("config"), st.sampled_from([0, 30, 200, 900, 3000])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step_st, min_size=1, max_size=30))
def test_random_pf_sequences_bytes_after_every_step(clients, steps):
    p = Pair(*clients[2])
    p.reset()
    keys = KEYS + [b"fresh"]
    for step in steps:
        kind = step[0]
        if kind == "add":
            p.both("PFADD", step[1], *step[2])
        elif kind == "addmany":
            _, key, seed, n = step
            p.both("PFADD", key, *[b"m%d:%d" % (seed, i) for i in range(n)])
        elif kind == "count":
            p.both("PFCOUNT", *step[1])
        elif kind == "merge":
            p.both("PFMERGE", step[1], *step[2])
        elif kind == "del":
            p.both("DEL", step[1])
        else:
            p.both("CONFIG", "SET", "hll-sparse-max-bytes", str(step[1]))
        p.check_keys(keys)
