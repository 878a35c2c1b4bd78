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
pass, not quadratic.

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
def murmur64a(data: bytes, seed: int = HLL_SEED) -> int:
    """MurmurHash64A as in Redis (little-endian blocks, tail XOR-ed in)."""
    n = len(data)
    m = _MUR_M
    h = (seed ^ (n * m)) & _M64
    nblocks = n >> 3
    if nblocks:
        for k in struct.unpack_from("<%dQ" % nblocks, data):
            k = (k * m) & _M64
            k ^= k >> 47
            h ^= (k * m) & _M64
            h = (h * m) & _M64
    rem = n & 7
    if rem:
        h ^= int.from_bytes(data[n - rem:], "little")
        h = (h * m) & _M64
    h ^= h >> 47
    h = (h * m) & _M64
    return h ^ (h >> 47)


def pat_len(ele: bytes) -> tuple[int, int]:
    """hllPatLen: (register index, run length of zeros + 1)."""
    h = murmur64a(ele)
    rest = (h >> HLL_P) | (1 << HLL_Q)
    return h & HLL_P_MASK, (rest & -rest).bit_length()


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


def dense_set(buf: bytearray, regnum: int, count: int) -> int:
    """hllDenseSet: raise register 'regnum' to 'count'; 1 if it changed."""
    pos = regnum * 6
    byte = HLL_HDR_SIZE + (pos >> 3)
    fb = pos & 7
    b0 = buf[byte]
    if fb <= 2:
        if ((b0 >> fb) & 63) >= count:
            return 0
        buf[byte] = (b0 & ~(63 << fb) & 0xff) | (count << fb)
        return 1
    b1 = buf[byte + 1]
    if (((b0 >> fb) | (b1 << (8 - fb))) & 63) >= count:
        return 0
    buf[byte] = (b0 & ~(63 << fb) & 0xff) | ((count << fb) & 0xff)
    fb8 = 8 - fb
    buf[byte + 1] = (b1 & ~(63 >> fb8) & 0xff) | (count >> fb8)
    return 1


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
    regs = sparse_registers(buf)
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
    count = regs.count
    return [count(v) if v in regs else 0 for v in range(64)]


def hll_count(buf) -> int | None:
    """hllCount of a stored HLL (dense or sparse); None if corrupted."""
    if buf[4] == HLL_DENSE:
        return count_from_histogram(registers_histogram(dense_registers(buf)))
    histo = sparse_histogram(buf)
    if histo is None:
        return None
    return count_from_histogram(histo)


def hll_registers(buf) -> bytes | None:
    """All 16384 registers (``hllMerge``'s input), None if corrupted."""
    if buf[4] == HLL_DENSE:
        return dense_registers(buf)
    return sparse_registers(buf)


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
    buf = o.buf
    max_bytes = server.config.hll_sparse_max_bytes
    for ele in argv[2:]:
        index, count = pat_len(ele)
        if buf[4] == HLL_DENSE:
            r = dense_set(buf, index, count)
        else:
            r = sparse_set(buf, index, count, max_bytes)
        if r == 1:
            updated += 1
        elif r < 0:
            c.add_reply_error(ERR_INVALID_HLL)
            return
    if updated:
        buf[15] |= 0x80
        db.signal_modified_key(key)
        server.notify(NOTIFY_STRING, "pfadd", key, db.id)
        server.dirty += updated
    c.add_reply(replies.CONE if updated else replies.CZERO)


def _merge_keys(c: Any, keys: list[bytes]) -> tuple[Any, bool] | None:
    """hllMerge over every existing key (PFCOUNT of several keys, PFMERGE):
    the register-wise maximum (``_EMPTY_REGS`` when no key exists) and
    whether any source was dense; None after the error reply."""
    db = c.db
    acc = _EMPTY_REGS
    any_dense = False
    for key in keys:
        o = db.lookup_read(key)
        if o is None:
            continue
        if not is_hll_or_reply(c, o):
            return None
        content = hll_content(o)
        if content[4] == HLL_DENSE:
            any_dense = True
        regs = hll_registers(content)
        if regs is None:
            c.add_reply_error(ERR_INVALID_HLL)
            return None
        acc = regs if acc is _EMPTY_REGS else registers_max(acc, regs)
    return acc, any_dense


@command("pfcount")
def pfcount_command(c: Any, argv: list[bytes]) -> None:
    db = c.db
    if len(argv) > 2:
        merged = _merge_keys(c, argv[1:])
        if merged is not None:
            c.add_reply_int(count_from_histogram(registers_histogram(merged[0])))
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
        card = hll_count(buf)
        if card is None:
            c.add_reply_error(ERR_INVALID_HLL)
            return
        buf[8:16] = card.to_bytes(8, "little")
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
    acc, use_dense = merged
    dest = argv[1]
    o = db.lookup_write(dest)
    if o is None:
        o = _new_hll(server)
        db.add(dest, o)
    else:
        o = unshare_string(db, dest, o)
    buf = o.buf
    if use_dense and not sparse_to_dense(buf):
        c.add_reply_error(ERR_INVALID_HLL)
        return
    if buf[4] == HLL_SPARSE:
        max_bytes = server.config.hll_sparse_max_bytes
        stack: list = []
        j = 0
        n = HLL_REGISTERS
        while j < n:
            v = acc[j]
            if v:
                sparse_set(buf, j, v, max_bytes, stack)
                if buf[4] == HLL_DENSE:
                    break
            j += 1
    if buf[4] == HLL_DENSE:
        buf[HLL_HDR_SIZE:] = pack_dense(registers_max(dense_registers(buf), acc))
    buf[15] |= 0x80
    db.signal_modified_key(dest)
    server.notify(NOTIFY_STRING, "pfadd", dest, db.id)
    server.dirty += 1
    c.add_reply(replies.OK)


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
