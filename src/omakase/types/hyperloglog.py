"""HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST (Redis 7.0's
``hyperloglog.c``).

The value is a string
---------------------
As in Redis, an HLL is no new type: it is a string value (TYPE ``string``,
GET returns its bytes) whose content is Redis's exact format, so bytes made
by redis-server can be SET here and vice versa.  The layout:

    "HYLL" | E (1 byte: 0 dense, 1 sparse) | 3 unused bytes | card (8 bytes)
    | registers

``card`` is the cached cardinality, little endian; the top bit of its last
byte (offset 15) set means "stale, recompute".  A new HLL
(``createHLLObject``) is sparse, two XZERO opcodes worth 16384 zero
registers, with a valid cached cardinality of 0.

* Dense: 16384 6-bit registers packed LSB first (register ``i`` starts at bit
  ``6*i`` of the 12288 register bytes), 12304 bytes in all.
* Sparse: run-length opcodes.  ``00xxxxxx`` ZERO (1..64 zero registers),
  ``01xxxxxx yyyyyyyy`` XZERO (1..16384 zero registers, 14-bit length - 1,
  high bits first), ``1vvvvvxx`` VAL (value 1..32, run 1..4).

Commands that change an HLL first turn the stored value into its in-place
form (``RawString``: a ``bytearray``), which is Redis's
``dbUnshareStringValue``; from then on a dense PFADD is a two-byte edit of
that bytearray, never a rebuild of the 12 KB string.

Hashing and the estimator
-------------------------
``hllPatLen``: MurmurHash64A (Redis's endian-neutral variant, seed
0xadc83b19) of the element; the low 14 bits pick the register, the count is
1 + the number of trailing zeros of the remaining 50 bits (with bit 50 forced
to one, so at most 51).  The cardinality is ``hllCount``'s: a histogram of
the register values, then Otmar Ertl's improved estimator (``hllTau``,
``hllSigma``) computed in IEEE doubles in the very order Redis's C code
does, and rounded half away from zero like ``llroundl``; so PFCOUNT gives
redis-server's number for the same registers.

Register bulk access without a Python loop per register
-------------------------------------------------------
Every 3 bytes hold 4 registers.  ``dense_registers`` splits the register
bytes into the three byte lanes (``data[k::3]``), extracts each register lane
with ``bytes.translate`` tables (shifts and masks of one byte) and joins the
two-byte registers with one big-integer OR (the two parts never overlap, so
the OR is a per-byte OR), then interleaves the four lanes with slice
assignment: 16384 registers, one byte each, in a few C-level passes.
``pack_dense`` is the inverse.  ``registers_max`` is the per-register max
of two such arrays as SWAR arithmetic on two 16384-byte integers (each byte
gets a guard bit: ``(a|0x80) - b`` keeps bit 7 exactly when ``a >= b``).
The histogram is ``bytes.count`` of each value present.

The sparse form is edited by ``sparse_set``, a step-by-step rendering of
``hllSparseSet`` (find the opcode, the A/B/C/D cases, the split into at most
five bytes, the ``hll-sparse-max-bytes`` check, the merge of adjacent VALs
scanning five opcodes from the previous one, promotion to dense when a value
exceeds 32 or the string would grow past the limit), because the byte layout
after each edit is observable (GET, DEBUG DIGEST, replicas).  Finding the
opcode is a linear scan from the start as in Redis, but done in C a chunk at
a time (``_locate_fast``: between two XZEROs every byte is a one-byte
opcode, so spans are a ``translate`` and a ``sum``); PFMERGE, which sets
registers in increasing order, instead resumes each scan where the previous
one stopped (``sparse_set``'s ``stack``), so a merge into a sparse key is one
pass, not quadratic.  ``sparse_set`` is the reference; the commands use it
only for malformed sparse values.

The per-value cache (``HLLBuffer``)
-----------------------------------
A value PF* commands have worked on keeps a ``bytearray`` subclass as its
``RawString.buf``: the bytes (still the only truth) plus the register
histogram and, sparse, ``starts``: for every opcode byte the first register
of its opcode, a sorted ``array('H')``.  ``_sparse_set_cached`` finds the
opcode with a bisect and mirrors each byte edit (the same cases, splits and
merges as ``sparse_set``) with the same slice edit of ``starts``; every
register change moves one histogram count, so PFCOUNT after PFADD is the
estimator alone.  The cache is trusted only while a snapshot of the bytes
still equals them (a memcmp), since SETRANGE, APPEND or SETBIT may edit the
bytes in place; otherwise it is rebuilt from the bytes.  A dense PFADD with
no valid cache edits the bytes alone.

PFCOUNT of several keys and PFMERGE (``hllMerge``) keep the maximum of
dense sources as packed integers (``packed_max``: SWAR on 6-bit lanes with
a guard bit, no unpacking) and of sparse ones as one byte per register.  A
PFMERGE into an empty sparse key writes the greedy encoding in one pass
(``sparse_from_empty``, equal to what ordered ``hllSparseSet`` calls leave);
into a non-empty sparse key only registers that grow are set (the others
are Redis's case A, a no-op).

Replies, dirty, notifications (as 7.0.15)
-----------------------------------------
PFADD: ``pfadd`` event, dirty += number of changes (+1 when the key is
created).  PFMERGE: ``pfadd`` event too, dirty += 1.  PFCOUNT of one key
writes the recomputed cardinality back into the value when the cache was
stale, and then signals the key and adds one to dirty (so the PFCOUNT is
propagated, as Redis does: the command is flagged MAY_REPLICATE).  PFDEBUG
GETREG/TODENSE add one to dirty when they convert a sparse value.

DIVERGENCE: PFSELFTEST runs a scaled-down version of Redis's self test
(register get/set on the dense form, sparse and dense agreement and the
error bound up to 5,000 elements instead of 10,000,000); it still answers
+OK when everything holds.
"""
from __future__ import annotations

import math
import random as _random
import re
import struct
from array import array
from bisect import bisect_right
from collections import Counter
from itertools import accumulate
from typing import Any

from omakase import replies
from omakase.commands.registry import command
from omakase.objects import RawString
from omakase.replies import INTEGERS
from omakase.types.string import unshare_string  # dbUnshareStringValue

try:  # the notify module defines these once it exists
    from omakase.notify import NOTIFY_STRING  # type: ignore
except ImportError:  # pragma: no cover
    NOTIFY_STRING = 1 << 3

HLL_P = 14
HLL_Q = 64 - HLL_P
HLL_REGISTERS = 1 << HLL_P
HLL_P_MASK = HLL_REGISTERS - 1
HLL_BITS = 6
HLL_REGISTER_MAX = (1 << HLL_BITS) - 1
HLL_HDR_SIZE = 16
HLL_DENSE_BYTES = (HLL_REGISTERS * HLL_BITS + 7) // 8       # 12288
HLL_DENSE_SIZE = HLL_HDR_SIZE + HLL_DENSE_BYTES               # 12304
HLL_DENSE = 0
HLL_SPARSE = 1
HLL_MAX_ENCODING = 1
HLL_ALPHA_INF = 0.721347520444481703680

HLL_SPARSE_VAL_MAX_VALUE = 32
HLL_SPARSE_VAL_MAX_LEN = 4
HLL_SPARSE_ZERO_MAX_LEN = 64
HLL_SPARSE_XZERO_MAX_LEN = 16384

HLL_SEED = 0xadc83b19
_M64 = (1 << 64) - 1
_MUR_M = 0xc6a4a7935bd1e995

ERR_INVALID_HLL = "-INVALIDOBJ Corrupted HLL object detected"
ERR_NOT_HLL = "-WRONGTYPE Key is not a valid HyperLogLog string value."
ERR_NO_KEY = "The specified key does not exist"
ERR_NOT_SPARSE = "HLL encoding is not sparse"

# A new HLL: sparse, XZERO:16384, cached cardinality 0 and valid.
EMPTY_SPARSE = b"HYLL\x01\x00\x00\x00" + bytes(8) + b"\x7f\xff"

# Registers covered by a one-byte opcode (0 marks the first byte of XZERO).
_SPAN = [(b + 1) if b < 0x40 else (0 if b < 0x80 else (b & 3) + 1)
         for b in range(256)]
_SPAN_BYTES = bytes(_SPAN)
_XZERO_RE = re.compile(rb"[\x40-\x7f]")
_XZERO_SPLIT = re.compile(rb"([\x40-\x7f][\x00-\xff]?)")
_NONZERO_RUN = re.compile(rb"[^\x00]+")

# bytes.translate tables for the dense (un)packing.
_T_AND63 = bytes(b & 63 for b in range(256))
_T_SHR6 = bytes(b >> 6 for b in range(256))
_T_LOW4_SHL2 = bytes((b & 15) << 2 for b in range(256))
_T_SHR4 = bytes(b >> 4 for b in range(256))
_T_LOW2_SHL4 = bytes((b & 3) << 4 for b in range(256))
_T_SHR2 = bytes(b >> 2 for b in range(256))
_T_LOW2_SHL6 = bytes(((b & 3) << 6) & 0xff for b in range(256))
_T_SHR2_LOW6 = bytes((b & 63) >> 2 for b in range(256))
_T_LOW4_SHL4 = bytes(((b & 15) << 4) & 0xff for b in range(256))
_T_SHR4_LOW6 = bytes((b & 63) >> 4 for b in range(256))
_T_LOW6_SHL2 = bytes(((b & 63) << 2) & 0xff for b in range(256))

_GUARD = int.from_bytes(b"\x80" * HLL_REGISTERS, "little")
_ALL_ONES = (1 << (8 * HLL_REGISTERS)) - 1
_EMPTY_REGS = bytes(HLL_REGISTERS)


# ---------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------
_BLOCKS = tuple(struct.Struct("<%dQ" % i).unpack_from for i in range(33))


def murmur64a(data: bytes, seed: int = HLL_SEED) -> int:
    """MurmurHash64A as in Redis (little-endian blocks, tail XOR-ed in)."""
    n = len(data)
    m = _MUR_M
    M = _M64
    h = (seed ^ (n * m)) & M
    nblocks = n >> 3
    if nblocks:
        unpack = _BLOCKS[nblocks] if nblocks <= 32 else struct.Struct("<%dQ" % nblocks).unpack_from
        for k in unpack(data):
            k = k * m & M
            h = ((k ^ (k >> 47)) * m & M ^ h) * m & M
        if n & 7:
            h = (h ^ int.from_bytes(data[n & ~7:], "little")) * m & M
    elif n:
        h = (h ^ int.from_bytes(data, "little")) * m & M
    h = (h ^ (h >> 47)) * m & M
    return h ^ (h >> 47)


def pat_len(ele: bytes) -> tuple[int, int]:
    """hllPatLen: (register index, run length of zeros + 1)."""
    h = murmur64a(ele)
    rest = (h >> HLL_P) | 0x4000000000000
    return h & 0x3fff, (rest & -rest).bit_length()


# ---------------------------------------------------------------------------
# Dense representation
# ---------------------------------------------------------------------------
def dense_get(buf, regnum: int) -> int:
    pos = regnum * 6
    byte = HLL_HDR_SIZE + (pos >> 3)
    fb = pos & 7
    if fb <= 2:
        return (buf[byte] >> fb) & 63
    return ((buf[byte] >> fb) | (buf[byte + 1] << (8 - fb))) & 63


def dense_raise(buf: bytearray, regnum: int, count: int) -> int:
    """Raise register 'regnum' to 'count' if it is lower: its old value,
    or -1 when it was not lower (nothing written)."""
    pos = regnum * 6
    byte = HLL_HDR_SIZE + (pos >> 3)
    fb = pos & 7
    b0 = buf[byte]
    if fb <= 2:
        old = (b0 >> fb) & 63
        if old >= count:
            return -1
        buf[byte] = (b0 & ~(63 << fb) & 0xff) | (count << fb)
        return old
    b1 = buf[byte + 1]
    old = ((b0 >> fb) | (b1 << (8 - fb))) & 63
    if old >= count:
        return -1
    buf[byte] = (b0 & ~(63 << fb) & 0xff) | ((count << fb) & 0xff)
    fb8 = 8 - fb
    buf[byte + 1] = (b1 & ~(63 >> fb8) & 0xff) | (count >> fb8)
    return old


def dense_set(buf: bytearray, regnum: int, count: int) -> int:
    """hllDenseSet: raise register 'regnum' to 'count'; 1 if it changed."""
    return 1 if dense_raise(buf, regnum, count) >= 0 else 0


def _or_bytes(a: bytes, b: bytes) -> bytes:
    n = len(a)
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(n, "little")


def dense_registers(buf) -> bytes:
    """The 16384 registers of a dense HLL, one byte each, in order."""
    data = bytes(buf[HLL_HDR_SIZE:HLL_DENSE_SIZE])
    a, b, c = data[0::3], data[1::3], data[2::3]
    regs = bytearray(HLL_REGISTERS)
    regs[0::4] = a.translate(_T_AND63)
    regs[1::4] = _or_bytes(a.translate(_T_SHR6), b.translate(_T_LOW4_SHL2))
    regs[2::4] = _or_bytes(b.translate(_T_SHR4), c.translate(_T_LOW2_SHL4))
    regs[3::4] = c.translate(_T_SHR2)
    return bytes(regs)


def pack_dense(regs: bytes) -> bytes:
    """The 12288 register bytes for 16384 register values (each < 64)."""
    r0, r1, r2, r3 = regs[0::4], regs[1::4], regs[2::4], regs[3::4]
    out = bytearray(HLL_DENSE_BYTES)
    out[0::3] = _or_bytes(r0.translate(_T_AND63), r1.translate(_T_LOW2_SHL6))
    out[1::3] = _or_bytes(r1.translate(_T_SHR2_LOW6), r2.translate(_T_LOW4_SHL4))
    out[2::3] = _or_bytes(r2.translate(_T_SHR4_LOW6), r3.translate(_T_LOW6_SHL2))
    return bytes(out)


def registers_max(a: bytes, b: bytes) -> bytes:
    """Per-register max of two register arrays (values < 128), SWAR style."""
    ia = int.from_bytes(a, "little")
    ib = int.from_bytes(b, "little")
    sel = ((((ia | _GUARD) - ib) & _GUARD) >> 7) * 255
    return ((ia & sel) | (ib & (_ALL_ONES ^ sel))).to_bytes(HLL_REGISTERS, "little")


def _dense_lanes(data) -> bytes:
    """The 16384 registers of the 12288 packed register bytes 'data', one
    byte each, in lane order (registers 0,4,8,..., then 1,5,9,...): enough
    for a histogram, and cheaper than ``dense_registers``'s interleave."""
    a, b, c = data[0::3], data[1::3], data[2::3]
    return b"".join((a.translate(_T_AND63),
                     _or_bytes(a.translate(_T_SHR6), b.translate(_T_LOW4_SHL2)),
                     _or_bytes(b.translate(_T_SHR4), c.translate(_T_LOW2_SHL4)),
                     c.translate(_T_SHR2)))


# The packed register bytes read as one little-endian integer hold register
# i in bits 6*i..6*i+5.  _E6 selects the even registers (a 6-bit value in
# every 12-bit slot), _G6 the bit just above each of them (the guard bit).
_E6 = sum(63 << (12 * i) for i in range(HLL_REGISTERS // 2))
_G6 = sum(64 << (12 * i) for i in range(HLL_REGISTERS // 2))


def packed_max(x: int, y: int) -> int:
    """Per-register max of two packed dense register arrays (as integers),
    SWAR style on the even and the odd registers in turn: in a 12-bit slot
    ``(a | 64) - b`` keeps bit 6 exactly when ``a >= b`` and never borrows
    from the next slot; the guard bit minus itself shifted down is the
    6-bit select mask."""
    E = _E6
    G = _G6
    a = x & E
    b = y & E
    t = ((a | G) - b) & G
    sel = t - (t >> 6)
    even = (a & sel) | (b & (sel ^ E))
    a = (x >> 6) & E
    b = (y >> 6) & E
    t = ((a | G) - b) & G
    sel = t - (t >> 6)
    return even | (((a & sel) | (b & (sel ^ E))) << 6)


def packed_registers(content) -> int:
    """The packed registers of a dense HLL as an integer."""
    return int.from_bytes(content[HLL_HDR_SIZE:HLL_DENSE_SIZE], "little")


# ---------------------------------------------------------------------------
# Sparse representation
# ---------------------------------------------------------------------------
def _xzero(n: int) -> bytes:
    n -= 1
    return bytes(((n >> 8) | 0x40, n & 0xff))


def _zero_run(n: int) -> bytes:
    return _xzero(n) if n > HLL_SPARSE_ZERO_MAX_LEN else bytes((n - 1,))


def _val(v: int, n: int) -> int:
    return ((v - 1) << 2 | (n - 1)) | 0x80


def sparse_registers(buf) -> bytes | None:
    """The registers of a sparse HLL (``hllMerge``/``hllSparseToDense``'s
    decoding), or None if the opcodes do not cover exactly 16384 registers."""
    regs = bytearray(HLL_REGISTERS)
    end = len(buf)
    p = HLL_HDR_SIZE
    idx = 0
    while p < end:
        b = buf[p]
        if b < 0x40:
            idx += b + 1
            p += 1
        elif b < 0x80:
            idx += ((b & 0x3f) << 8 | (buf[p + 1] if p + 1 < end else 0)) + 1
            p += 2
        else:
            runlen = (b & 3) + 1
            if runlen + idx > HLL_REGISTERS:
                break
            v = ((b >> 2) & 0x1f) + 1
            if runlen == 1:
                regs[idx] = v
            else:
                regs[idx:idx + runlen] = bytes((v,)) * runlen
            idx += runlen
            p += 1
    if idx != HLL_REGISTERS:
        return None
    return bytes(regs)


# The registers each one-byte opcode stands for (XZERO's first byte: none).
_EXPAND = tuple(bytes(b + 1) if b < 0x40 else
                (b"" if b < 0x80 else bytes((((b >> 2) & 0x1f) + 1,)) * ((b & 3) + 1))
                for b in range(256))


def sparse_registers_fast(buf) -> bytes | None:
    """``sparse_registers`` in C-level passes: the XZEROs are split off by
    the regex (as in ``sparse_histogram``) and each stretch of one-byte
    opcodes is expanded with ``map`` over a table of 256 expansions and one
    ``join``.  When the runs do not add up to exactly 16384 registers (a
    corrupted value), the step-by-step decoder decides, for Redis's exact
    treatment of overflowing runs."""
    parts = _XZERO_SPLIT.split(buf[HLL_HDR_SIZE:])
    exp = _EXPAND.__getitem__
    join = b"".join
    if len(parts) == 1:
        regs = join(map(exp, parts[0]))
    else:
        pieces = []
        add = pieces.append
        for i in range(0, len(parts) - 1, 2):
            add(join(map(exp, parts[i])))
            xz = parts[i + 1]
            if len(xz) != 2:
                return sparse_registers(buf)
            add(bytes(((xz[0] & 0x3f) << 8 | xz[1]) + 1))
        add(join(map(exp, parts[-1])))
        regs = join(pieces)
    if len(regs) != HLL_REGISTERS:
        return sparse_registers(buf)
    return regs


def sparse_histogram(buf) -> list[int] | None:
    """hllSparseRegHisto: the histogram, or None if the runs do not add up
    to 16384 registers.  The XZERO opcodes are split off in C (a regex that
    consumes two bytes per XZERO parses exactly as the opcode walk does,
    since every other opcode is one byte); the one-byte opcodes are then
    counted by value."""
    histo = [0] * 64
    parts = _XZERO_SPLIT.split(bytes(buf[HLL_HDR_SIZE:]))
    idx = 0
    for xz in parts[1::2]:
        idx += ((xz[0] & 0x3f) << 8 | (xz[1] if len(xz) > 1 else 0)) + 1
    zeros = idx
    for b, n in Counter(b"".join(parts[0::2])).items():
        if b < 0x40:
            zeros += (b + 1) * n
            idx += (b + 1) * n
        else:
            runlen = ((b & 3) + 1) * n
            histo[((b >> 2) & 0x1f) + 1] += runlen
            idx += runlen
    histo[0] = zeros
    if idx != HLL_REGISTERS:
        return None
    return histo


def sparse_to_dense(buf: bytearray) -> bool:
    """hllSparseToDense, in place.  False if the sparse form is corrupted."""
    if buf[4] == HLL_DENSE:
        return True
    regs = sparse_registers_fast(buf)
    if regs is None:
        return False
    hdr = bytearray(buf[:HLL_HDR_SIZE])
    hdr[4] = HLL_DENSE
    buf[:] = bytes(hdr) + pack_dense(regs)
    return True


def _locate_fast(buf, index: int) -> tuple[int, int, int, int]:
    """Find the opcode covering register 'index', scanning from the start:
    (position, its first register, previous opcode or -1, its span); the
    position is past the end if no opcode covers it.

    Between two XZERO opcodes every byte is a one-byte opcode, so such a
    stretch is summed in C (``translate`` to spans, ``sum``) a chunk at a
    time, and only the chunk holding the register is walked, with
    ``accumulate`` and ``bisect``."""
    end = len(buf)
    p = HLL_HDR_SIZE
    first = 0
    prev = -1
    search = _XZERO_RE.search
    table = _SPAN_BYTES
    while p < end:
        mt = search(buf, p)
        q = mt.start() if mt is not None else end
        while p < q:
            r = p + 512
            if r > q:
                r = q
            seg = buf[p:r].translate(table)
            s = sum(seg)
            if first + s > index:
                acc = list(accumulate(seg))
                k = bisect_right(acc, index - first)
                if k:
                    first += acc[k - 1]
                    prev = p + k - 1
                return p + k, first, prev, seg[k]
            first += s
            prev = r - 1
            p = r
        if q < end:
            b = buf[q]
            span = ((b & 0x3f) << 8 | (buf[q + 1] if q + 1 < end else 0)) + 1
            if index < first + span:
                return q, first, prev, span
            prev = q
            first += span
            p = q + 2
    return p, first, prev, 0


def _locate_scan(buf, index: int, p: int, first: int,
                 stack: list) -> tuple[int, int, int]:
    """Find the opcode covering 'index' from the boundary 'p' (first
    register 'first'), pushing every opcode passed on 'stack' as
    (position, first register)."""
    end = len(buf)
    span = 0
    table = _SPAN
    push = stack.append
    while p < end:
        b = buf[p]
        span = table[b]
        if span:
            if index < first + span:
                return p, first, span
            push((p, first))
            p += 1
        else:
            span = ((b & 0x3f) << 8 | (buf[p + 1] if p + 1 < end else 0)) + 1
            if index < first + span:
                return p, first, span
            push((p, first))
            p += 2
        first += span
    return p, first, span


def sparse_set(buf: bytearray, index: int, count: int, max_bytes: int,
               stack: list | None = None) -> int:
    """hllSparseSet: raise register 'index' to 'count' in a sparse HLL,
    promoting it to dense when needed.  Returns 1 (changed), 0 (no change)
    or -1 (corrupted).

    'stack', for callers that set registers in increasing order (PFMERGE),
    holds (position, first register) of the opcodes before the last one
    found, and each call resumes from its top.  An edit never changes the
    bytes before the opcode preceding the edited one, and the scan pops
    that opcode first, so every entry left on the stack stays valid and
    the whole merge is one pass over the sparse form."""
    if count > HLL_SPARSE_VAL_MAX_VALUE:
        return _promote(buf, index, count)
    if stack is None:
        p, first, prev, span = _locate_fast(buf, index)
    else:
        p, first = stack.pop() if stack else (HLL_HDR_SIZE, 0)
        if index < first:
            stack.clear()
            p, first = HLL_HDR_SIZE, 0
        p, first, span = _locate_scan(buf, index, p, first, stack)
        prev = stack[-1][0] if stack else -1
    end = len(buf)
    if span == 0 or p >= end:
        return -1
    b = buf[p]
    is_xzero = 0x40 <= b < 0x80
    if b >= 0x80:                       # VAL
        runlen = (b & 3) + 1
        oldcount = ((b >> 2) & 0x1f) + 1
        if oldcount >= count:           # case A
            return 0
        if runlen == 1:                 # case B
            buf[p] = _val(count, 1)
            return _merge_vals(buf, prev, end)
    elif b == 0:                        # case C: ZERO of length 1
        buf[p] = _val(count, 1)
        return _merge_vals(buf, prev, end)

    # Case D: split the opcode in at most three.
    last = first + span - 1
    if b < 0x80:                        # ZERO / XZERO
        seq = b""
        if index != first:
            seq = _zero_run(index - first)
        seq += bytes((_val(count, 1),))
        if index != last:
            seq += _zero_run(last - index)
    else:
        curval = ((b >> 2) & 0x1f) + 1
        parts = []
        if index != first:
            parts.append(_val(curval, index - first))
        parts.append(_val(count, 1))
        if index != last:
            parts.append(_val(curval, last - index))
        seq = bytes(parts)
    oldlen = 2 if is_xzero else 1
    deltalen = len(seq) - oldlen
    if deltalen > 0 and end + deltalen > max_bytes:
        return _promote(buf, index, count)
    if p + oldlen > end:
        # A truncated XZERO at the very end (corrupted input): Redis writes
        # the new sequence but the string only grows by 'deltalen'.
        buf[p:] = seq[:end + deltalen - p]
    else:
        buf[p:p + oldlen] = seq
    return _merge_vals(buf, prev, end + deltalen)


def _merge_vals(buf: bytearray, prev: int, end: int) -> int:
    """hllSparseSet's step 4: merge adjacent equal VALs, scanning up to five
    opcodes from the previous one; then invalidate the cached cardinality."""
    p = prev if prev >= 0 else HLL_HDR_SIZE
    scanlen = 5
    while p < end:
        if scanlen == 0:
            break
        scanlen -= 1
        b = buf[p]
        if b < 0x80:
            p += 2 if b >= 0x40 else 1
            continue
        if p + 1 < end:
            b2 = buf[p + 1]
            if b2 >= 0x80 and ((b >> 2) & 0x1f) == ((b2 >> 2) & 0x1f):
                n = (b & 3) + (b2 & 3) + 2
                if n <= HLL_SPARSE_VAL_MAX_LEN:
                    buf[p + 1] = _val(((b >> 2) & 0x1f) + 1, n)
                    del buf[p]
                    end -= 1
                    continue
        p += 1
    buf[15] |= 0x80
    return 1


def _promote(buf: bytearray, index: int, count: int) -> int:
    if not sparse_to_dense(buf):
        return -1
    dense_set(buf, index, count)
    return 1


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------
def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        zp = z
        y *= 0.5
        d = 1 - x
        z -= d * d * y
        if zp == z:
            return z / 3


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        zp = z
        z += x * y
        y += y
        if zp == z:
            return z


def count_from_histogram(histo: list[int]) -> int:
    """hllCount's estimate from the register histogram."""
    m = float(HLL_REGISTERS)
    z = m * _tau((m - histo[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = HLL_ALPHA_INF * m * m / z
    f = math.floor(e)
    return int(f) + 1 if e - f >= 0.5 else int(f)


def registers_histogram(regs: bytes) -> list[int]:
    """The histogram of register values (one byte each, any order):
    ``bytes.count`` of each value present (``in`` is a memchr), stopping
    once every register is accounted for."""
    histo = [0] * 64
    left = len(regs)
    count = regs.count
    for v in range(64):
        if v in regs:
            n = count(v)
            histo[v] = n
            left -= n
            if not left:
                break
    return histo


def hll_count(buf) -> int | None:
    """hllCount of a stored HLL (dense or sparse); None if corrupted."""
    if buf[4] == HLL_DENSE:
        return count_from_histogram(registers_histogram(_dense_lanes(buf[HLL_HDR_SIZE:])))
    histo = sparse_histogram(buf)
    if histo is None:
        return None
    return count_from_histogram(histo)


def hll_registers(buf) -> bytes | None:
    """All 16384 registers (``hllMerge``'s input), None if corrupted."""
    if buf[4] == HLL_DENSE:
        return dense_registers(buf)
    return sparse_registers_fast(buf)


def hll_add(buf: bytearray, ele: bytes, max_bytes: int) -> int:
    """hllAdd: 1 if a register changed, 0 if not, -1 if corrupted."""
    index, count = pat_len(ele)
    enc = buf[4]
    if enc == HLL_DENSE:
        return dense_set(buf, index, count)
    if enc == HLL_SPARSE:
        return sparse_set(buf, index, count, max_bytes)
    return -1


def sparse_decode(buf) -> bytes:
    """PFDEBUG DECODE's text."""
    out = []
    end = len(buf)
    p = HLL_HDR_SIZE
    while p < end:
        b = buf[p]
        if b < 0x40:
            out.append(b"z:%d" % (b + 1))
            p += 1
        elif b < 0x80:
            out.append(b"Z:%d" % (((b & 0x3f) << 8 | (buf[p + 1] if p + 1 < end else 0)) + 1))
            p += 2
        else:
            out.append(b"v:%d,%d" % (((b >> 2) & 0x1f) + 1, (b & 3) + 1))
            p += 1
    return b" ".join(out)


# ---------------------------------------------------------------------------
# The per-value cache: register histogram and sparse opcode index
# ---------------------------------------------------------------------------
class HLLBuffer(bytearray):
    """The ``RawString.buf`` of an HLL that PF* commands have worked on: the
    bytes themselves (the only truth, what GET, RDB and replicas see) plus
    what is derived from them, kept up to date by every edit made here:

    * ``histo``: the register histogram, so PFCOUNT after PFADD is the
      estimator alone, not a pass over 16384 registers;
    * ``starts`` (sparse only): an ``array('H')`` with one entry per opcode
      byte, the first register of the opcode that byte belongs to (both
      bytes of an XZERO carry the same value).  It is sorted, so the opcode
      covering register i is a ``bisect``, and an edit of the opcode bytes
      is mirrored by the same slice edit of ``starts`` (register numbers,
      unlike byte offsets, do not move when bytes are inserted or deleted);
    * ``snap``: a copy of the bytes when the rest was last valid.  Other
      commands (SETRANGE, APPEND, SETBIT, ...) may edit the bytes in place,
      so the cache is used only while ``snap == self`` (a memcmp)."""
    __slots__ = ("snap", "histo", "starts")


def _sparse_index(buf) -> tuple[array, list[int]] | None:
    """(``starts``, histogram) of a well-formed sparse HLL: every XZERO
    complete and the runs adding up to exactly 16384 registers; None
    otherwise (such a value is edited by the step-by-step ``sparse_set``,
    which reproduces Redis's behaviour on corrupted input)."""
    parts = _XZERO_SPLIT.split(buf[HLL_HDR_SIZE:])
    spans: list[int] = []
    ext = spans.extend
    table = _SPAN_BYTES
    for i in range(0, len(parts) - 1, 2):
        ext(parts[i].translate(table))
        xz = parts[i + 1]
        if len(xz) != 2:
            return None
        ext((0, ((xz[0] & 0x3f) << 8 | xz[1]) + 1))
    ext(parts[-1].translate(table))
    starts = list(accumulate(spans, initial=0))
    if starts.pop() != HLL_REGISTERS:
        return None
    histo = sparse_histogram(buf)
    if histo is None:  # pragma: no cover - same criterion
        return None
    return array("H", starts), histo


def _cached(o) -> HLLBuffer | None:
    """The value's buffer with a valid cache (built if needed; the buffer
    becomes an ``HLLBuffer``), or None for a malformed sparse value."""
    buf = o.buf
    if buf.__class__ is HLLBuffer:
        snap = buf.snap
        if snap is not None and snap == buf:
            return buf
    else:
        buf = HLLBuffer(buf)
        o.buf = buf
    buf.snap = None
    if buf[4] == HLL_DENSE:
        buf.starts = None
        buf.histo = registers_histogram(_dense_lanes(buf[HLL_HDR_SIZE:]))
    else:
        idx = _sparse_index(buf)
        if idx is None:
            buf.starts = None
            return None
        buf.starts, buf.histo = idx
    buf.snap = bytes(buf)
    return buf


def _valid_cache(buf) -> bool:
    return buf.__class__ is HLLBuffer and buf.snap is not None and buf.snap == buf


def _dense_set_cached(buf: HLLBuffer, index: int, count: int) -> int:
    """hllDenseSet keeping the histogram; 1 if the register changed."""
    old = dense_raise(buf, index, count)
    if old < 0:
        return 0
    histo = buf.histo
    histo[old] -= 1
    histo[count] += 1
    return 1


def _sparse_set_cached(buf: HLLBuffer, index: int, count: int, max_bytes: int) -> int:
    """``sparse_set`` on a well-formed sparse HLL through its cache: the
    same cases A-D, the same bytes, the same promotion; the opcode is found
    with a bisect instead of a scan.  1 if the register changed, else 0."""
    if count > HLL_SPARSE_VAL_MAX_VALUE:
        return _promote_cached(buf, index, count)
    starts = buf.starts
    k = bisect_right(starts, index) - 1
    first = starts[k]
    if k and starts[k - 1] == first:    # the second byte of an XZERO
        k -= 1
    p = k + HLL_HDR_SIZE
    b = buf[p]
    if b >= 0x80:                       # VAL
        old = ((b >> 2) & 0x1f) + 1
        if old >= count:                # case A
            return 0
        runlen = (b & 3) + 1
        if runlen == 1:                 # case B
            buf[p] = ((count - 1) << 2) | 0x80
            histo = buf.histo
            histo[old] -= 1
            histo[count] += 1
            _merge_cached(buf, starts, k)
            return 1
        last = first + runlen - 1
        oldlen = 1
        ops = []
        sts = []
        if index != first:
            ops.append(((old - 1) << 2 | (index - first - 1)) | 0x80)
            sts.append(first)
        ops.append(((count - 1) << 2) | 0x80)
        sts.append(index)
        if index != last:
            ops.append(((old - 1) << 2 | (last - index - 1)) | 0x80)
            sts.append(index + 1)
    else:
        old = 0
        if b == 0:                      # case C
            buf[p] = ((count - 1) << 2) | 0x80
            histo = buf.histo
            histo[0] -= 1
            histo[count] += 1
            _merge_cached(buf, starts, k)
            return 1
        if b < 0x40:
            last = first + b
            oldlen = 1
        else:
            last = first + ((b & 0x3f) << 8 | buf[p + 1])
            oldlen = 2
        ops = []
        sts = []
        n = index - first
        if n > HLL_SPARSE_ZERO_MAX_LEN:
            n -= 1
            ops += ((n >> 8) | 0x40, n & 0xff)
            sts += (first, first)
        elif n:
            ops.append(n - 1)
            sts.append(first)
        ops.append(((count - 1) << 2) | 0x80)
        sts.append(index)
        n = last - index
        if n > HLL_SPARSE_ZERO_MAX_LEN:
            n -= 1
            ops += ((n >> 8) | 0x40, n & 0xff)
            sts += (index + 1, index + 1)
        elif n:
            ops.append(n - 1)
            sts.append(index + 1)
    # Case D: the opcode becomes up to three (at most five bytes).
    if len(ops) > oldlen and len(buf) + len(ops) - oldlen > max_bytes:
        return _promote_cached(buf, index, count)
    buf[p:p + oldlen] = bytes(ops)
    starts[k:k + oldlen] = array("H", sts)
    histo = buf.histo
    histo[old] -= 1
    histo[count] += 1
    _merge_cached(buf, starts, k)
    return 1


def _merge_cached(buf: HLLBuffer, starts: array, k: int) -> None:
    """``_merge_vals`` for the opcode at payload offset 'k' (scan from the
    opcode before it), mirrored in ``starts``."""
    if k:
        k -= 1
        if k and starts[k - 1] == starts[k]:
            k -= 1
    p = k + HLL_HDR_SIZE
    end = len(buf)
    scanlen = 5
    while p < end and scanlen:
        scanlen -= 1
        b = buf[p]
        if b < 0x80:
            p += 2 if b >= 0x40 else 1
            continue
        if p + 1 < end:
            b2 = buf[p + 1]
            if b2 >= 0x80 and ((b ^ b2) & 0x7c) == 0:
                n = (b & 3) + (b2 & 3) + 2
                if n <= HLL_SPARSE_VAL_MAX_LEN:
                    buf[p + 1] = (b & 0xfc) | (n - 1)
                    del buf[p]
                    del starts[p - HLL_HDR_SIZE + 1]
                    end -= 1
                    continue
        p += 1
    buf[15] |= 0x80


def _promote_cached(buf: HLLBuffer, index: int, count: int) -> int:
    """The promotion of ``_promote``; the histogram stays valid."""
    regs = sparse_registers_fast(buf)
    buf[4] = HLL_DENSE
    buf[HLL_HDR_SIZE:] = pack_dense(regs)
    buf.starts = None
    return _dense_set_cached(buf, index, count)


# ---------------------------------------------------------------------------
# Values in the keyspace
# ---------------------------------------------------------------------------
def hll_content(v):
    """The HLL bytes of a stored string value (no copy for RawString)."""
    if v.__class__ is bytes:
        return v[:-3]
    return v.buf


def is_hll_or_reply(c: Any, v) -> bool:
    """isHLLObjectOrReply."""
    if v.__class__ is bytes:
        n = len(v) - 3
    elif v.__class__ is RawString:
        n = len(v.buf)
        v = v.buf
    else:
        c.add_reply_error(replies.WRONGTYPE)
        return False
    if (n < HLL_HDR_SIZE or v[0:4] != b"HYLL" or v[4] > HLL_MAX_ENCODING
            or (v[4] == HLL_DENSE and n != HLL_DENSE_SIZE)):
        c.add_reply_error(ERR_NOT_HLL)
        return False
    return True


def _new_hll(server) -> RawString:
    return RawString(bytearray(EMPTY_SPARSE),
                     int.from_bytes(server.new_object_trailer, "little"))


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
@command("pfadd")
def pfadd_command(c: Any, argv: list[bytes]) -> None:
    key = argv[1]
    db = c.db
    server = c.server
    updated = 0
    o = db.lookup_write(key)
    if o is None:
        o = _new_hll(server)
        db.add(key, o)
        updated += 1
    else:
        if not is_hll_or_reply(c, o):
            return
        o = unshare_string(db, key, o)
    if len(argv) > 2:
        buf = o.buf
        if buf[4] == HLL_DENSE and not _valid_cache(buf):
            # Dense with no cache: edit the bytes, leave the histogram to
            # the next PFCOUNT.
            for ele in argv[2:]:
                index, count = pat_len(ele)
                updated += dense_set(buf, index, count)
        else:
            cb = _cached(o)
            if cb is None:
                r = _pfadd_slow(o.buf, argv, server.config.hll_sparse_max_bytes)
                if r < 0:
                    c.add_reply_error(ERR_INVALID_HLL)
                    return
                updated += r
            else:
                changed = 0
                max_bytes = server.config.hll_sparse_max_bytes
                for ele in argv[2:]:
                    index, count = pat_len(ele)
                    if cb[4] == HLL_DENSE:
                        changed += _dense_set_cached(cb, index, count)
                    else:
                        changed += _sparse_set_cached(cb, index, count, max_bytes)
                if changed:
                    cb[15] |= 0x80
                    cb.snap = bytes(cb)
                    updated += changed
    if updated:
        o.buf[15] |= 0x80
        db.signal_modified_key(key)
        server.notify(NOTIFY_STRING, "pfadd", key, db.id)
        server.dirty += updated
    c.add_reply(replies.CONE if updated else replies.CZERO)


def _pfadd_slow(buf: bytearray, argv: list[bytes], max_bytes: int) -> int:
    """PFADD into a malformed sparse value, step by step as Redis does: the
    number of registers changed, or -1 once corruption is detected."""
    updated = 0
    for ele in argv[2:]:
        index, count = pat_len(ele)
        if buf[4] == HLL_DENSE:
            r = dense_set(buf, index, count)
        else:
            r = sparse_set(buf, index, count, max_bytes)
        if r < 0:
            return -1
        updated += r
    return updated


class _Merged:
    """hllMerge's running maximum over the source HLLs, kept in two forms so
    that no source is converted more than needed: the sparse sources as
    one byte per register (``registers_max``), the dense ones as packed
    integers (``packed_max``, no unpacking at all)."""
    __slots__ = ("regs", "packed", "any_dense")

    def __init__(self) -> None:
        self.regs: bytes | None = None
        self.packed: int | None = None
        self.any_dense = False

    def packed_all(self) -> int:
        """Everything as one packed integer (for a dense result)."""
        x = self.packed
        if self.regs is not None:
            y = int.from_bytes(pack_dense(self.regs), "little")
            x = y if x is None else packed_max(x, y)
        return 0 if x is None else x

    def histogram(self) -> list[int]:
        if self.packed is None:
            return registers_histogram(self.regs if self.regs is not None else _EMPTY_REGS)
        return registers_histogram(_dense_lanes(
            self.packed_all().to_bytes(HLL_DENSE_BYTES, "little")))


def _merge_keys(c: Any, keys: list[bytes]) -> _Merged | None:
    """hllMerge over every existing key (PFCOUNT of several keys, PFMERGE);
    None after the error reply."""
    db = c.db
    acc = _Merged()
    for key in keys:
        o = db.lookup_read(key)
        if o is None:
            continue
        if not is_hll_or_reply(c, o):
            return None
        content = hll_content(o)
        if content[4] == HLL_DENSE:
            acc.any_dense = True
            x = packed_registers(content)
            acc.packed = x if acc.packed is None else packed_max(acc.packed, x)
        else:
            regs = sparse_registers_fast(content)
            if regs is None:
                c.add_reply_error(ERR_INVALID_HLL)
                return None
            acc.regs = regs if acc.regs is None else registers_max(acc.regs, regs)
    return acc


@command("pfcount")
def pfcount_command(c: Any, argv: list[bytes]) -> None:
    db = c.db
    if len(argv) > 2:
        merged = _merge_keys(c, argv[1:])
        if merged is not None:
            c.add_reply_int(count_from_histogram(merged.histogram()))
        return
    key = argv[1]
    o = db.lookup_read(key)
    if o is None:
        c.add_reply(replies.CZERO)
        return
    if not is_hll_or_reply(c, o):
        return
    o = unshare_string(db, key, o)
    buf = o.buf
    if not buf[15] & 0x80:
        card = int.from_bytes(buf[8:16], "little")
    else:
        cb = _cached(o)
        if cb is None:
            card = hll_count(buf)
            if card is None:
                c.add_reply_error(ERR_INVALID_HLL)
                return
        else:
            buf = cb
            card = count_from_histogram(cb.histo)
        buf[8:16] = card.to_bytes(8, "little")
        if cb is not None:
            cb.snap = bytes(cb)
        db.signal_modified_key(key)
        c.server.dirty += 1
    c.add_reply_int(card)


@command("pfmerge")
def pfmerge_command(c: Any, argv: list[bytes]) -> None:
    db = c.db
    server = c.server
    merged = _merge_keys(c, argv[1:])
    if merged is None:
        return
    dest = argv[1]
    o = db.lookup_write(dest)
    if o is None:
        o = _new_hll(server)
        db.add(dest, o)
    else:
        o = unshare_string(db, dest, o)
    cb = None
    if merged.any_dense:
        buf = o.buf
        if not sparse_to_dense(buf):
            c.add_reply_error(ERR_INVALID_HLL)
            return
        # The destination, if it existed, is one of the sources: the
        # register-wise maximum is the result.
        x = packed_max(packed_registers(buf), merged.packed_all())
        buf[HLL_HDR_SIZE:] = x.to_bytes(HLL_DENSE_BYTES, "little")
        if buf.__class__ is HLLBuffer:
            buf.snap = None             # the histogram is rebuilt on demand
    elif merged.regs is not None:
        cb = _merge_into_sparse(o, merged.regs, server.config.hll_sparse_max_bytes)
    o.buf[15] |= 0x80
    if cb is not None:
        cb.snap = bytes(cb)
    db.signal_modified_key(dest)
    server.notify(NOTIFY_STRING, "pfadd", dest, db.id)
    server.dirty += 1
    c.add_reply(replies.OK)


_SPARSE_TOKEN = re.compile(rb"\x00+|([\x01-\x20])\1{0,3}")
_VAL_GROUPS = {bytes((v,)) * n: bytes((((v - 1) << 2 | (n - 1)) | 0x80,))
               for v in range(1, HLL_SPARSE_VAL_MAX_VALUE + 1)
               for n in range(1, HLL_SPARSE_VAL_MAX_LEN + 1)}


def _sparse_token(m) -> bytes:
    t = m[0]
    return _VAL_GROUPS.get(t) or _zero_run(len(t))


def sparse_from_empty(regs: bytes) -> bytes | None:
    """The opcodes that setting every nonzero register of 'regs', in
    increasing order, into an empty sparse HLL (one XZERO:16384) leaves.
    Each ``hllSparseSet`` then splits the trailing zero run into [zero run]
    VAL:v,1 [zero run], and its merge step, which starts at the opcode
    before, joins the new VAL to the previous one exactly when they are
    adjacent, equal and at most four long: so the result is the greedy
    encoding, left to right, of equal adjacent registers in runs of up to
    four, and of each zero run as one ZERO (up to 64) or one XZERO.  None
    when a value exceeds 32 (promotion)."""
    if _BIG_VALUE.search(regs):
        return None
    return _SPARSE_TOKEN.sub(_sparse_token, regs)


_BIG_VALUE = re.compile(rb"[\x21-\xff]")


def _merge_into_sparse(o, acc: bytes, max_bytes: int) -> HLLBuffer | None:
    """PFMERGE's ``hllSparseSet`` of every nonzero register, in increasing
    order, into a sparse destination (promoted as Redis would).  Registers
    the destination already holds at that value are case A (no-op) and are
    skipped; an empty destination gets ``sparse_from_empty``'s bytes when
    no intermediate step can reach ``hll-sparse-max-bytes`` (each step's
    length before its merge is at most the final length + 3).  Returns the
    buffer when its cache is still to be kept."""
    buf = o.buf
    if len(buf) == len(EMPTY_SPARSE) and buf[HLL_HDR_SIZE:] == b"\x7f\xff":
        payload = sparse_from_empty(acc)
        if payload is not None and HLL_HDR_SIZE + len(payload) + 3 <= max_bytes:
            buf[HLL_HDR_SIZE:] = payload
            buf[15] |= 0x80
            return None
    cb = _cached(o)
    if cb is None:
        stack: list = []
        for m in _NONZERO_RUN.finditer(acc):
            for j in range(m.start(), m.end()):
                sparse_set(buf, j, acc[j], max_bytes, stack)
                if buf[4] == HLL_DENSE:
                    buf[HLL_HDR_SIZE:] = pack_dense(registers_max(dense_registers(buf), acc))
                    return None
        return None
    own = sparse_registers_fast(cb)
    diff = (int.from_bytes(acc, "little") ^ int.from_bytes(own, "little")).to_bytes(
        HLL_REGISTERS, "little")
    for m in _NONZERO_RUN.finditer(diff):
        for j in range(m.start(), m.end()):
            _sparse_set_cached(cb, j, acc[j], max_bytes)
            if cb[4] == HLL_DENSE:
                cb[HLL_HDR_SIZE:] = pack_dense(registers_max(dense_registers(cb), acc))
                cb.snap = None
                return None
    return cb


def _cstr(a: bytes) -> bytes:
    i = a.find(b"\0")
    return a if i < 0 else a[:i]


@command("pfdebug")
def pfdebug_command(c: Any, argv: list[bytes]) -> None:
    sub = _cstr(argv[1])
    key = argv[2]
    db = c.db
    o = db.lookup_write(key)
    if o is None:
        c.add_reply_error(ERR_NO_KEY)
        return
    if not is_hll_or_reply(c, o):
        return
    o = unshare_string(db, key, o)
    buf = o.buf
    name = sub.lower()
    if name == b"getreg":
        if buf[4] == HLL_SPARSE:
            if not sparse_to_dense(buf):
                c.add_reply_error(ERR_INVALID_HLL)
                return
            c.server.dirty += 1
        regs = dense_registers(buf)
        ints = INTEGERS
        c.add_reply(b"*16384\r\n" + b"".join([ints[v] for v in regs]))
    elif name == b"decode":
        if buf[4] != HLL_SPARSE:
            c.add_reply_error(ERR_NOT_SPARSE)
            return
        c.add_reply_bulk(sparse_decode(buf))
    elif name == b"encoding":
        c.add_reply_status(b"dense" if buf[4] == HLL_DENSE else b"sparse")
    elif name == b"todense":
        conv = False
        if buf[4] == HLL_SPARSE:
            if not sparse_to_dense(buf):
                c.add_reply_error(ERR_INVALID_HLL)
                return
            conv = True
            c.server.dirty += 1
        c.add_reply(replies.CONE if conv else replies.CZERO)
    else:
        c.add_reply_error("Unknown PFDEBUG subcommand '%s'"
                          % sub.decode("utf-8", "surrogateescape"))


@command("pfselftest")
def pfselftest_command(c: Any, argv: list[bytes]) -> None:
    err = selftest()
    if err:
        c.add_reply_error(err)
    else:
        c.add_reply(replies.OK)


def selftest(max_elements: int = 5000, seed: int = 12345) -> str | None:
    """A scaled-down pfselftestCommand; None when every check passes."""
    rng = _random.Random(seed)
    # 1) Dense register get/set against a plain list.
    buf = bytearray(b"HYLL" + bytes(HLL_DENSE_SIZE - 4))
    model = [0] * HLL_REGISTERS
    for _ in range(3):
        for i in range(HLL_REGISTERS):
            v = rng.randrange(HLL_REGISTER_MAX + 1)
            model[i] = v
            _force_dense(buf, i, v)
        for i in range(HLL_REGISTERS):
            if dense_get(buf, i) != model[i]:
                return "TESTFAILED Register error: %d != %d" % (dense_get(buf, i), model[i])
        if list(dense_registers(buf)) != model:
            return "TESTFAILED Register unpack error"
        if pack_dense(bytes(model)) != bytes(buf[HLL_HDR_SIZE:]):
            return "TESTFAILED Register pack error"
    # 2) Sparse and dense agree, and the error is within bounds.
    sparse = bytearray(EMPTY_SPARSE)
    dense = bytearray(EMPTY_SPARSE)
    sparse_to_dense(dense)
    relerr = 1.04 / math.sqrt(HLL_REGISTERS)
    checkpoint = 1
    salt = rng.getrandbits(64)
    for j in range(1, max_elements + 1):
        ele = (salt + j).to_bytes(8, "little")
        hll_add(sparse, ele, 3000)
        hll_add(dense, ele, 3000)
        if j == checkpoint and j < max_elements:
            checkpoint *= 2
        elif j != max_elements:
            continue
        a, b = hll_count(sparse), hll_count(dense)
        if a != b:
            return "TESTFAILED dense/sparse disagree: %s != %s" % (a, b)
        maxerr = 1 if j < 10 else int(math.ceil(relerr * 6 * j))
        if abs(j - b) > maxerr:
            return "TESTFAILED Too big error. card:%d abserr:%d" % (j, abs(j - b))
    return None


def _force_dense(buf: bytearray, regnum: int, val: int) -> None:
    """HLL_DENSE_SET_REGISTER (unconditional), for the self test."""
    pos = regnum * 6
    byte = HLL_HDR_SIZE + (pos >> 3)
    fb = pos & 7
    buf[byte] = (buf[byte] & ~(63 << fb) & 0xff) | ((val << fb) & 0xff)
    if fb > 2:
        fb8 = 8 - fb
        buf[byte + 1] = (buf[byte + 1] & ~(63 >> fb8) & 0xff) | (val >> fb8)
