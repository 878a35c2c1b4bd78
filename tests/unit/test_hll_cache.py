"""The fast HyperLogLog paths against the step-by-step reference ones in
``omakase.types.hyperloglog`` (Redis's algorithms rendered literally):
MurmurHash64A against a plain rendering, the cached sparse edits
(``_sparse_set_cached``) against ``sparse_set`` byte for byte, the cached
histogram and opcode index against a rebuild, the one-pass PFMERGE into an
empty sparse HLL, the packed SWAR maximum, the fast sparse decoder."""
from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omakase.types import hyperloglog as H


def murmur_reference(data: bytes, seed: int = 0xadc83b19) -> int:
    m = 0xc6a4a7935bd1e995
    mask = (1 << 64) - 1
    h = (seed ^ (len(data) * m)) & mask
    n8 = len(data) // 8 * 8
    for i in range(0, n8, 8):
        k = struct.unpack("<Q", data[i:i + 8])[0]
        k = (k * m) & mask
        k ^= k >> 47
        k = (k * m) & mask
        h ^= k
        h = (h * m) & mask
    tail = data[n8:]
    for i in range(len(tail) - 1, -1, -1):
        h ^= tail[i] << (8 * i)
    if tail:
        h = (h * m) & mask
    h ^= h >> 47
    h = (h * m) & mask
    h ^= h >> 47
    return h


@given(st.binary(max_size=300))
def test_murmur_and_pat_len(data):
    h = murmur_reference(data)
    assert H.murmur64a(data) == h
    index, count = H.pat_len(data)
    assert index == h & 16383
    rest = (h >> 14) | (1 << 50)
    assert count == (rest & -rest).bit_length()


class Value:
    """A stand-in for RawString: what ``_cached`` needs."""
    __slots__ = ("buf",)

    def __init__(self, buf) -> None:
        self.buf = buf


def check_cache(cb) -> None:
    regs = H.hll_registers(cb)
    assert cb.histo == H.registers_histogram(regs)
    if cb[4] == H.HLL_SPARSE:
        starts, histo = H._sparse_index(cb)
        assert cb.starts == starts and histo == cb.histo


@pytest.mark.parametrize("max_bytes", [0, 25, 300, 3000, 20000])
def test_cached_sparse_edits_match_step_by_step(max_bytes):
    rng = random.Random(max_bytes)
    ref = bytearray(H.EMPTY_SPARSE)
    v = Value(bytearray(H.EMPTY_SPARSE))
    for i in range(4000):
        ele = rng.randbytes(rng.randint(0, 12))
        index, count = H.pat_len(ele)
        if rng.random() < 0.02:
            count = rng.randint(1, 40)           # PFMERGE may set any value
        if ref[4] == H.HLL_DENSE:
            r1 = H.dense_set(ref, index, count)
        else:
            r1 = H.sparse_set(ref, index, count, max_bytes)
        cb = H._cached(v)
        if cb[4] == H.HLL_DENSE:
            r2 = H._dense_set_cached(cb, index, count)
        else:
            r2 = H._sparse_set_cached(cb, index, count, max_bytes)
        assert r1 == r2 and ref == cb, i
        if r2:
            cb.snap = bytes(cb)
        if i % 97 == 0:
            check_cache(cb)
    check_cache(H._cached(v))


def test_cache_is_dropped_when_the_bytes_change_underneath():
    v = Value(bytearray(H.EMPTY_SPARSE))
    cb = H._cached(v)
    for i in range(50):
        H._sparse_set_cached(cb, *H.pat_len(b"%d" % i), 3000)
    cb.snap = bytes(cb)
    old = cb.starts
    off = next(i for i in range(16, len(cb)) if cb[i] >= 0x80 and cb[i] & 3 == 0)
    cb[off] = 0x80 | (31 << 2)                # someone else's SETRANGE
    again = H._cached(v)
    assert again is cb and again.starts is not old
    check_cache(again)
    cb.extend(b"\x80")                         # APPEND: no longer well formed
    assert H._cached(v) is None


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 16383), st.integers(1, 32), st.integers(1, 6)), max_size=400))
def test_sparse_from_empty_is_the_ordered_sparse_set(runs):
    regs = bytearray(16384)
    for start, value, n in runs:
        regs[start:start + n] = bytes([value]) * len(regs[start:start + n])
    regs = bytes(regs)
    buf = bytearray(H.EMPTY_SPARSE)
    longest = len(buf)
    for j, value in enumerate(regs):
        if value:
            H.sparse_set(buf, j, value, 1 << 30)
            longest = max(longest, len(buf))
    payload = H.sparse_from_empty(regs)
    assert bytes(buf[16:]) == payload
    assert longest <= 16 + len(payload) + 3
    assert H.sparse_registers_fast(buf) == regs == H.sparse_registers(buf)


def test_packed_max_and_lanes():
    rng = random.Random(1)
    for _ in range(10):
        a = bytes(rng.choice([0, 1, 2, rng.randrange(64)]) for _ in range(16384))
        b = bytes(rng.choice([0, 1, 2, rng.randrange(64)]) for _ in range(16384))
        x = int.from_bytes(H.pack_dense(a), "little")
        y = int.from_bytes(H.pack_dense(b), "little")
        m = H.packed_max(x, y).to_bytes(12288, "little")
        assert m == H.pack_dense(bytes(map(max, a, b)))
        assert sorted(H._dense_lanes(H.pack_dense(a))) == sorted(a)
        assert H.registers_histogram(a) == [a.count(v) for v in range(64)]


def test_selftest_passes():
    assert H.selftest(2000) is None
