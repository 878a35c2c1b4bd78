"""Listpack: a compact, contiguous serialization of a sequence of strings.

Mirrors Redis 7.0 ``src/listpack.c`` (``lpInsert``, ``lpEncodeGetType``,
``lpEncodeBacklen``, ``lpDecodeBacklen``, ``lpGet``, ``lpFind``, ``lpSeek``,
``lpDeleteRange``, ``lpMerge``, ``lpValidateIntegrity``/``lpValidateNext``).

Layout (all multi-byte integers little endian)::

    <total-bytes:uint32> <num-elements:uint16> <entry> ... <entry> <0xFF>

``num-elements`` saturates at 65535, which means "unknown, count by scanning".
Every entry is ``<encoding+payload> <backlen>``.  The first byte selects the
encoding:

    0xxxxxxx                      7-bit unsigned int (0..127)
    10LLLLLL <data>               string, 6-bit length (0..63)
    110xxxxx yyyyyyyy             13-bit signed int
    1110LLLL LLLLLLLL <data>      string, 12-bit length (0..4095)
    11110000 <len:uint32> <data>  string, 32-bit length
    0xF1 / 0xF2 / 0xF3 / 0xF4     16/24/32/64-bit signed int (two's complement)
    0xFF                          end of listpack

``backlen`` stores the length of ``<encoding+payload>`` so the listpack can be
walked right to left.  It takes 1..5 bytes holding 7 bits each: the byte
closest to the next entry holds the low 7 bits, and every byte except the one
furthest from it has bit 7 set.  Redis's size thresholds are reproduced
exactly (``l <= 127`` -> 1 byte, ``l < 16383`` -> 2, ``l < 2097151`` -> 3,
``l < 268435455`` -> 4, else 5; note the strict ``<`` above one byte).

A string element is stored as an integer when it passes ``lpStringToInt64``:
optional ``-``, then either ``0`` alone or a digit 1-9 followed by digits, no
whitespace or ``+``, within int64.  So ``b"123"`` becomes an int entry while
``b"0123"``, ``b"+1"``, ``b"-0"`` and ``b" 1"`` stay strings.  Reading an
integer entry yields its decimal text, so the round trip is lossless.

Python design
-------------
The ``bytearray`` in ``_buf`` is the single source of truth for the entries.
Its 6-byte header is derived data (``len(_buf)`` and ``_n``, saturated):
the mutators here write it, but the quicklist's end fast paths (LPUSH/RPUSH/
LPOP/RPOP, see quicklist.py) edit the entries and ``_n`` and leave the header
stale, so every place that hands the blob out or checks it -- ``to_bytes()``,
``copy()``, ``validate()`` -- rewrites the header first (``_sync_header``);
nothing else reads it.  ``to_bytes()`` therefore always returns exact
listpack bytes.  Decoding builds no per-element objects: reads slice the
buffer on demand, and ``to_list()`` walks one ``bytes`` snapshot in a
table-driven loop (the common 7-bit-int and 6-bit-string cases take one table
lookup and one slice).

Random access uses an optional offset index, ``_offs`` (``array('i')``, 4
bytes per entry; ``'q'`` past 1 GiB).  Entry ``i`` starts at
``_offs[i] - _bias``.  Because of the bias, inserting or deleting at
position ``k`` only rewrites the shorter side: either the offsets after ``k``
are shifted, or the ones before ``k`` are shifted the other way and ``_bias``
absorbs the difference.  Pushes and pops at the ends are O(1) amortized.
The index costs memory, so it is built only when needed: listpacks of at
most 64 entries (most hashes and sorted sets) never get one, and positions
within 32 entries of either end are reached by walking the entries (the
fixed-size encodings take one table lookup per entry).  Otherwise the first
access to a deeper position builds the index and later operations keep it
up to date.  ``drop_index()`` releases it.  ``slice`` (a quicklist node
split) hands the new listpack its part of the index with the bias moved, so
a split node needs no rebuild.

Offset index shifts.  An entry that changes size in the middle (replace,
insert, delete, ``_splice``) still moves up to half the index by a byte
delta (``_shift``).  Spans up to 12 entries are updated one by one; longer
ones in C as one big-integer addition (SWAR: SIMD within a register): the
span's bytes are read as one little-endian integer, each lane's sign bit
flipped so every lane holds ``value + 2**31`` in ``[0, 2**32)``, the
integer ``delta * 0x00000001_00000001...`` added, the sign bits flipped back
and the bytes written back through a ``memoryview``.  No lane carries into
the next because every shifted offset still fits the lane (the ``_BIG``
limits above).  That is four O(bytes) C loops and about ten bytecodes
whatever the span, instead of one Python-level ``int`` per entry: a request
LSETting the middle of a 10,000-element list (1,100-entry nodes) went from
~250k to ~104k instructions (an LINDEX there costs ~45k).
The index keeps its layout (a flat sorted ``array``, 4 bytes per entry), so
``find``'s ``bisect`` and ``zseek``'s binary search are unchanged.  (A
two-level index with a bias per block would make a shift O(sqrt n) Python
steps, but it would make every read and search dearer and change every user
of the index; with the C-level shift a mid-node LSET already costs about
two LINDEXes.)

``find`` looks for the element's full encoded entry (encoding, payload and
backlen) with ``bytearray.find``, then checks that the hit starts an entry
whose position matches ``start``/``skip`` (``bisect`` on the index, or a
walk up to the hit when there is no index).  A miss therefore costs one
C-level search.  This is correct because every element has exactly one
canonical encoding.  A listpack loaded from foreign bytes that holds a non-canonical entry (say an
int-looking string stored as a string, or a 12-bit length under 64) is
flagged, and ``find`` then compares decoded values one by one the way
``lpCompare`` does.

DIVERGENCE: when ``num-elements`` is saturated, Redis sometimes leaves 65535
in the header after the count drops back below 65535, until an ``lpLength``
call repairs it.  Here the header always says ``min(count, 65535)`` (written
by every mutation or, after a quicklist fast path, by the export), which is
what Redis writes once it has counted.
DIVERGENCE: validation is stricter than ``lpValidateIntegrity``: the 0xFF
terminator must be the last byte (Redis stops at the first entry boundary
holding 0xFF), and each backlen must be byte-for-byte canonical.
DIVERGENCE: a listpack is an object that changes in place, where Redis
functions return a new pointer.

Key/value listpacks (hashes) read-modify-write with one search:
``find_value`` gives the value entry's index and byte offset, ``value_at``
reads it and ``replace_at`` rewrites it there (keeping the index).

``push_bytes``, ``pop_head`` and ``pop_tail`` are the quicklist's end
operations (LPUSH/RPUSH/LPOP/RPOP) outside its own fast paths: one call
each, the common encodings handled inline, the same bytes as
``prepend``/``append``/``pop``.

The module also holds the double<->string helpers that sorted-set listpacks
need (``d2string``, ``double2ll``, ``zset_score_entry``); see their
docstrings.

Sorted-set walks
----------------
A sorted-set listpack holds ``member, score`` pairs in (score, member)
order.  The ``z*`` methods are the walks of ``t_zset.c``'s ``zzl*``
functions, on byte positions of a pair's member entry: ``zwalk`` (the one
loop, ``_zwalk``) steps pair by pair forward or backward while the score --
or the member, for lex ranges -- stays on one side of a bound, at most a
limit, decoding only the keys it compares and only the pairs it collects
(no whole-listpack ``to_list``); ``zskip`` is LIMIT's offset; ``zseek``
finds the first (last) pair past a bound when the keys are in order (scores,
or members whose scores are all equal), by a binary search on the offset
index when the listpack keeps one and by a walk otherwise; and
``zdelete`` cuts a run of pairs found by a walk.  ``zupdate`` gives an
existing member a new score (ZINCRBY, ZADD of an existing member) and leaves
the bytes ``zzlDelete`` + ``zzlInsert`` leave, but it walks from the pair's
current place to its new one and rewrites only the bytes between them in
one splice (``_splice``, which keeps the offset index).  ``zinsert`` puts
a new pair where a ``zseek``/``zwalk`` stopped (ZADD of a new member: no
second search).
``from_zset_pairs`` builds a sorted-set listpack from ordered pairs with the
common entries encoded inline.  Score entries are compared as the doubles
``zzlGetScore`` reads (``_score_num``).
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from typing import Iterable, Iterator, List, Optional, Tuple, Union

__all__ = [
    "Listpack",
    "Element",
    "string_to_int64",
    "encode_entry",
    "backlen_bytes",
    "double2ll",
    "d2string",
    "format_double",
    "zset_score_entry",
    "entry_to_score",
    "HDR_SIZE",
    "NUMELE_UNKNOWN",
    "EMPTY_LISTPACK",
]

Element = Union[bytes, bytearray, memoryview, int]
Value = Union[bytes, int]

HDR_SIZE = 6
EOF = 0xFF
NUMELE_UNKNOWN = 65535
MAX_TOTAL_BYTES = 0xFFFFFFFF
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
EMPTY_LISTPACK = b"\x07\x00\x00\x00\x00\x00\xff"

# Offset-index policy (see the module docstring).
_INDEX_MIN_ENTRIES = 64  # listpacks up to this size never keep an index
_WALK_MAX = 32  # positions this close to an end are reached by walking
_BIG = 1 << 30  # int32 index entries stay safe while blob and bias are below this

# Index shifts: spans up to this long are shifted entry by entry, longer
# ones as one big-integer addition (``_shift``, ``_swar_lanes``).
_SHIFT_LOOP_MAX = 12
# The index array holds native-order integers; the lane arithmetic below is
# written for little endian (x86, ARM), and a big-endian machine keeps the
# per-entry loop.
_NATIVE = "little"
if sys.byteorder != "little":
    _SHIFT_LOOP_MAX = 1 << 62
_SWAR: dict = {}


def _swar_lanes(w: int, m: int) -> Tuple[int, int, int]:
    """``(ones, high, lanes)`` for ``w``-byte index entries, covering at
    least ``m`` of them: ``ones`` holds 1 in every ``w``-byte lane of
    ``lanes`` lanes (little endian), ``high`` each lane's top bit.  ``_shift``
    shifts them right to ``m`` lanes."""
    c = _SWAR.get(w)
    if c is None or c[2] < m:
        lanes = max(m, 1024 if c is None else 2 * c[2])
        ones = int.from_bytes((b"\x01" + bytes(w - 1)) * lanes, "little")
        c = _SWAR[w] = (ones, ones << (8 * w - 1), lanes)
    return c


_HDR = struct.Struct("<IH")
_pack_hdr_into = _HDR.pack_into
_S16 = struct.Struct("<Bh").pack
_S32 = struct.Struct("<Bi").pack
_S64 = struct.Struct("<Bq").pack
_U32 = struct.Struct("<I")

# Decoded text of small integers; the 13-bit table is indexed by the raw
# 13-bit field (two's complement), i.e. raw 8191 -> b"-1".
_DEC7: Tuple[bytes, ...] = tuple(b"%d" % i for i in range(128))
_DEC13: Tuple[bytes, ...] = tuple(b"%d" % (i - 8192 if i >= 4096 else i) for i in range(8192))
# Encoded 7-bit uint entries (value + backlen 1).
_ENC7: Tuple[bytes, ...] = tuple(bytes((i, 1)) for i in range(128))
_ONE: Tuple[bytes, ...] = tuple(bytes((i,)) for i in range(256))
# Encoding byte of a 6-bit-length string, by length.
_STR6: Tuple[bytes, ...] = tuple(bytes((0x80 | i,)) for i in range(64))
# First bytes that may start an integer-looking string ('-' and digits).
_INT_START: Tuple[bool, ...] = tuple(c == 45 or 48 <= c <= 57 for c in range(256))


def _build_entry_len_table() -> Tuple[int, ...]:
    """Total entry size (encoding + payload + backlen) decided by the first
    byte alone; 0 = variable (12/32-bit strings), -1 = invalid or EOF."""
    t = []
    for b in range(256):
        if b < 0x80:
            t.append(2)
        elif b < 0xC0:
            t.append((b & 0x3F) + 2)  # 1 + len payload, backlen <= 64 -> 1 byte
        elif b < 0xE0:
            t.append(3)
        elif b <= 0xF0:
            t.append(0)
        elif b <= 0xF4:
            t.append((0, 4, 5, 6, 10)[b - 0xF0])
        else:
            t.append(-1)
    return tuple(t)


_ELEN = _build_entry_len_table()


# ---------------------------------------------------------------------------
# Encoding helpers
# ---------------------------------------------------------------------------

def backlen_size(l: int) -> int:
    """Bytes used by the backlen of an entry whose encoded size is ``l``
    (``lpEncodeBacklen(NULL, l)``)."""
    if l <= 127:
        return 1
    if l < 16383:
        return 2
    if l < 2097151:
        return 3
    if l < 268435455:
        return 4
    return 5


def backlen_bytes(l: int) -> bytes:
    """The backlen field for an entry of encoded size ``l``, as stored."""
    if l <= 127:
        return _ONE[l]
    if l < 16383:
        return bytes((l >> 7, (l & 127) | 128))
    if l < 2097151:
        return bytes((l >> 14, ((l >> 7) & 127) | 128, (l & 127) | 128))
    if l < 268435455:
        return bytes((l >> 21, ((l >> 14) & 127) | 128, ((l >> 7) & 127) | 128, (l & 127) | 128))
    return bytes(
        (
            (l >> 28) & 0xFF,
            ((l >> 21) & 127) | 128,
            ((l >> 14) & 127) | 128,
            ((l >> 7) & 127) | 128,
            (l & 127) | 128,
        )
    )


def string_to_int64(s: bytes) -> Optional[int]:
    """``lpStringToInt64``: the int64 that ``s`` spells canonically, or None.

    Accepts ``0``, or an optional ``-`` followed by a non-zero leading digit and
    more digits, within int64.  Anything else (leading zeros, ``+``, spaces,
    ``-0``, empty, >20 chars) is not an integer for listpack purposes.
    """
    n = len(s)
    if n == 0 or n > 20:
        return None
    c = s[0]
    if 49 <= c <= 57:
        if not s.isdigit():
            return None
        v = int(s)
        return v if v <= INT64_MAX else None
    if c == 48:
        return 0 if n == 1 else None
    if c == 45 and n > 1 and 49 <= s[1] <= 57:
        if not s[1:].isdigit():
            return None
        v = int(s)
        return v if v >= INT64_MIN else None
    return None


def _encode_int(v: int) -> bytes:
    if 0 <= v <= 127:
        return _ENC7[v]
    if -4096 <= v <= 4095:
        u = v & 0x1FFF
        return bytes((0xC0 | (u >> 8), u & 0xFF, 2))
    if -32768 <= v <= 32767:
        return _S16(0xF1, v) + b"\x03"
    if -8388608 <= v <= 8388607:
        return b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little") + b"\x04"
    if -2147483648 <= v <= 2147483647:
        return _S32(0xF3, v) + b"\x05"
    if INT64_MIN <= v <= INT64_MAX:
        return _S64(0xF4, v) + b"\x09"
    raise OverflowError("integer out of int64 range for listpack: %r" % (v,))


def _encode_str(s: bytes) -> bytes:
    n = len(s)
    if n < 64:
        return b"".join((_ONE[0x80 | n], s, _ONE[n + 1]))
    if n < 4096:
        l = n + 2
        return b"".join((bytes((0xE0 | (n >> 8), n & 0xFF)), s, backlen_bytes(l)))
    if n > MAX_TOTAL_BYTES:
        raise OverflowError("string too long for listpack")
    return b"".join((b"\xf0", _U32.pack(n), s, backlen_bytes(n + 5)))


def encode_entry(elem: Element) -> bytes:
    """Encode one element as a complete listpack entry (with backlen), choosing
    the encoding exactly as ``lpEncodeGetType`` does.  Python ints are stored
    as integers directly (they must fit int64)."""
    if type(elem) is bytes:
        s = elem
    elif isinstance(elem, int) and not isinstance(elem, bool):
        return _encode_int(elem)
    elif isinstance(elem, (bytearray, memoryview)):
        s = bytes(elem)
    else:
        raise TypeError("listpack elements must be bytes-like or int, not %s" % type(elem).__name__)
    n = len(s)
    if n <= 20 and n:
        c = s[0]
        if 48 <= c <= 57 or c == 45:
            v = string_to_int64(s)
            if v is not None:
                return _encode_int(v)
    if n < 64:
        return b"".join((_ONE[0x80 | n], s, _ONE[n + 1]))
    return _encode_str(s)


def _as_bytes(elem: Element) -> bytes:
    """The bytes an element reads back as (ints in decimal)."""
    if type(elem) is bytes:
        return elem
    if isinstance(elem, int) and not isinstance(elem, bool):
        return b"%d" % elem
    return bytes(elem)


# ---------------------------------------------------------------------------
# Decoding helpers (operate on any buffer supporting indexing and slicing)
# ---------------------------------------------------------------------------

def _entry_size(buf, p: int) -> int:
    """Total size of the entry at ``p`` (encoding + payload + backlen)."""
    t = _ELEN[buf[p]]
    if t > 0:
        return t
    b = buf[p]
    if b < 0xF0:
        l = 2 + (((b & 0x0F) << 8) | buf[p + 1])
    elif b == 0xF0:
        l = 5 + _U32.unpack_from(buf, p + 1)[0]
    else:
        raise ValueError("invalid listpack entry encoding 0x%02x" % b)
    return l + backlen_size(l)


def skip_entries(buf, p: int, count: int) -> int:
    """Position after ``count`` entries from the entry at ``p`` (the
    fixed-size encodings take one table lookup each)."""
    elen = _ELEN
    while count:
        t = elen[buf[p]]
        p += t if t > 0 else _entry_size(buf, p)
        count -= 1
    return p


def _prev_start(buf, p: int) -> int:
    """Start of the entry that ends right before position ``p``."""
    q = p - 1
    b = buf[q]
    l = b & 127
    shift = 7
    while b & 128:
        q -= 1
        b = buf[q]
        l |= (b & 127) << shift
        shift += 7
    return q - l


def _decode_value(buf, p: int) -> Value:
    """Entry at ``p`` as int (integer encodings) or bytes (strings)."""
    b = buf[p]
    if b < 0x80:
        return b
    if b < 0xC0:
        return bytes(buf[p + 1:p + 1 + (b & 0x3F)])
    if b < 0xE0:
        v = ((b & 0x1F) << 8) | buf[p + 1]
        return v - 8192 if v >= 4096 else v
    if b < 0xF0:
        n = ((b & 0x0F) << 8) | buf[p + 1]
        return bytes(buf[p + 2:p + 2 + n])
    if b == 0xF1:
        return int.from_bytes(buf[p + 1:p + 3], "little", signed=True)
    if b == 0xF2:
        return int.from_bytes(buf[p + 1:p + 4], "little", signed=True)
    if b == 0xF3:
        return int.from_bytes(buf[p + 1:p + 5], "little", signed=True)
    if b == 0xF4:
        return int.from_bytes(buf[p + 1:p + 9], "little", signed=True)
    if b == 0xF0:
        n = _U32.unpack_from(buf, p + 1)[0]
        return bytes(buf[p + 5:p + 5 + n])
    raise ValueError("invalid listpack entry encoding 0x%02x" % b)


def _decode_bytes(buf, p: int) -> bytes:
    b = buf[p]
    if b < 0x80:
        return _DEC7[b]
    if b < 0xC0:
        return bytes(buf[p + 1:p + 1 + (b & 0x3F)])
    if b < 0xE0:
        return _DEC13[((b & 0x1F) << 8) | buf[p + 1]]
    v = _decode_value(buf, p)
    return b"%d" % v if type(v) is int else v


def _decode_run(data: bytes, p: int, count: int, values: bool) -> list:
    """Decode ``count`` consecutive entries starting at ``p`` in ``data``
    (a ``bytes`` snapshot, so slices are ``bytes`` directly)."""
    out: list = []
    app = out.append
    dec7 = _DEC7
    dec13 = _DEC13
    from_bytes = int.from_bytes
    while count > 0:
        count -= 1
        b = data[p]
        if b < 0x80:
            app(b if values else dec7[b])
            p += 2
        elif b < 0xC0:
            q = p + 1 + (b & 0x3F)
            app(data[p + 1:q])
            p = q + 1
        elif b < 0xE0:
            raw = ((b & 0x1F) << 8) | data[p + 1]
            if values:
                app(raw - 8192 if raw >= 4096 else raw)
            else:
                app(dec13[raw])
            p += 3
        elif b < 0xF0:
            n = ((b & 0x0F) << 8) | data[p + 1]
            q = p + 2 + n
            app(data[p + 2:q])
            p = q + (1 if n <= 125 else 2)
        elif b == 0xF0:
            n = _U32.unpack_from(data, p + 1)[0]
            q = p + 5 + n
            app(data[p + 5:q])
            p = q + backlen_size(n + 5)
        elif b <= 0xF4:
            w = (2, 3, 4, 8)[b - 0xF1]
            v = from_bytes(data[p + 1:p + 1 + w], "little", signed=True)
            app(v if values else b"%d" % v)
            p += w + 2
        else:
            raise ValueError("invalid listpack entry encoding 0x%02x" % b)
    return out


def _is_canonical_entry(buf, p: int, b: int, enc_len: int) -> bool:
    """True if the entry at ``p`` is the encoding Redis would write for its
    value (needed by the byte-search fast path of ``find``)."""
    if b < 0x80:
        return True
    if b < 0xC0:
        n = b & 0x3F
        if n == 0 or n > 20:
            return True
        c = buf[p + 1]
        if 48 <= c <= 57 or c == 45:
            return string_to_int64(bytes(buf[p + 1:p + 1 + n])) is None
        return True
    if b < 0xE0:
        v = _decode_value(buf, p)
        return not (0 <= v <= 127)
    if b < 0xF0:
        return enc_len - 2 >= 64
    if b == 0xF0:
        return enc_len - 5 >= 4096
    v = _decode_value(buf, p)
    if b == 0xF1:
        return not (-4096 <= v <= 4095)
    if b == 0xF2:
        return not (-32768 <= v <= 32767)
    if b == 0xF3:
        return not (-8388608 <= v <= 8388607)
    return not (-2147483648 <= v <= 2147483647)


def _scan(buf, deep: bool) -> Tuple[int, bool]:
    """Walk every entry, validating structure.  Returns (count, canonical).
    Raises ValueError on any inconsistency; never loops or reads out of
    bounds (every step advances by at least 2 bytes and is range-checked)."""
    size = len(buf)
    if size < HDR_SIZE + 1:
        raise ValueError("listpack too short (%d bytes)" % size)
    total, numele = _HDR.unpack_from(buf, 0)
    if total != size:
        raise ValueError("listpack header says %d bytes, blob has %d" % (total, size))
    if buf[size - 1] != EOF:
        raise ValueError("listpack not terminated by 0xFF")
    end = size - 1
    p = HDR_SIZE
    count = 0
    canon = True
    while p < end:
        b = buf[p]
        if b < 0x80:
            enc_len = 1
        elif b < 0xC0:
            enc_len = 1 + (b & 0x3F)
        elif b < 0xE0:
            enc_len = 2
        elif b < 0xF0:
            if p + 1 >= end:
                raise ValueError("listpack entry header runs past the end")
            enc_len = 2 + (((b & 0x0F) << 8) | buf[p + 1])
        elif b == 0xF0:
            if p + 4 >= end:
                raise ValueError("listpack entry header runs past the end")
            enc_len = 5 + _U32.unpack_from(buf, p + 1)[0]
        elif b <= 0xF4:
            enc_len = (3, 4, 5, 9)[b - 0xF1]
        else:
            raise ValueError("invalid listpack entry encoding 0x%02x at offset %d" % (b, p))
        bl = backlen_bytes(enc_len)
        q = p + enc_len + len(bl)
        if q > end:
            raise ValueError("listpack entry at offset %d runs past the end" % p)
        if deep and buf[p + enc_len:q] != bl:
            raise ValueError("listpack backlen mismatch at offset %d" % p)
        if deep and canon and not _is_canonical_entry(buf, p, b, enc_len):
            canon = False
        count += 1
        p = q
    if numele != NUMELE_UNKNOWN and numele != count:
        raise ValueError("listpack header says %d elements, found %d" % (numele, count))
    return count, canon


# ---------------------------------------------------------------------------
# Sorted-set pair walks (t_zset.c's zzl* walks; see "Sorted-set walks")
# ---------------------------------------------------------------------------

def _score_num(buf, p: int):
    """The score entry at ``p`` as ``zzlGetScore`` reads it: a ``float``
    (``(double)`` of an integer entry, strtod of ``d2string`` text), except
    that 7- and 13-bit integers stay ``int`` (exact doubles, and Python
    compares ints with floats exactly)."""
    b = buf[p]
    if b < 0x80:
        return b
    if 0xC0 <= b < 0xE0:
        v = ((b & 0x1F) << 8) | buf[p + 1]
        return v - 8192 if v >= 4096 else v
    return float(_decode_value(buf, p))


def _zprev(buf, p: int) -> int:
    """Member entry of the pair before the pair whose member is at ``p``
    (``zzlPrev``), or -1 at the head."""
    if p == HDR_SIZE:
        return -1
    bl = buf[p - 1]
    q = p - 1 - bl if bl < 128 else _prev_start(buf, p)
    bl = buf[q - 1]
    return q - 1 - bl if bl < 128 else _prev_start(buf, q)


def _zwalk(buf, p: int, reverse: bool, lex: bool, bound, ex: bool, limit: int,
           out: Optional[list]) -> Tuple[int, int]:
    """Walk the pairs of a sorted-set listpack from the member entry at
    ``p`` (toward the head when ``reverse``) while the pair's key -- its
    score, or its member when ``lex`` -- is on this side of ``bound``
    (forward: ``key < bound``, or ``<=`` unless ``ex``; reverse: ``>`` /
    ``>=``; ``bound`` None: no bound), at most ``limit`` pairs (negative: no
    limit).  Appends ``(member, float score)`` for every pair passed to
    ``out`` unless it is None.  Returns (pairs passed, member position of
    the pair that stopped the walk: the EOF byte forward, -1 reverse).

    Only what is compared or collected is decoded: a score walk reads one
    byte per member (its size) and decodes the score entry; the common
    encodings (7-bit ints, 6-bit strings) are handled inline."""
    need_m = lex or out is not None
    data = bytes(buf) if need_m else buf      # slices of a snapshot are bytes
    end = len(data) - 1
    elen = _ELEN
    dec7 = _DEC7
    app = None if out is None else out.append
    check = bound is not None
    steps = 0
    m = b""
    while limit and 0 <= p < end:
        b = data[p]
        if b < 0x80:
            m = dec7[b]
            q = p + 2
        elif b < 0xC0:
            q = p + 1 + (b & 0x3F)
            if need_m:
                m = data[p + 1:q]
            q += 1
        else:
            if need_m:
                m = _decode_bytes(data, p)
            q = p + _entry_size(data, p)
        b = data[q]
        if b < 0x80:
            s = b
            r = q + 2
        else:
            s = _score_num(data, q)
            t = elen[b]
            r = q + (t if t > 0 else _entry_size(data, q))
        if check:
            k = m if lex else s
            if reverse:
                if not (k > bound or (k == bound and not ex)):
                    break
            elif not (k < bound or (k == bound and not ex)):
                break
        if app is not None:
            app((m, float(s)))
        steps += 1
        limit -= 1
        if not reverse:
            p = r
        elif p == HDR_SIZE:
            p = -1
        else:
            bl = data[p - 1]
            q = p - 1 - bl if bl < 128 else _prev_start(data, p)
            bl = data[q - 1]
            p = q - 1 - bl if bl < 128 else _prev_start(data, q)
    return steps, p


# ---------------------------------------------------------------------------
# The Listpack class
# ---------------------------------------------------------------------------

class Listpack:
    """A Redis listpack held in one ``bytearray`` (see the module docstring).

    Indexes are 0-based; negative indexes count from the tail wherever an
    index is accepted.  Elements are given as bytes-like objects or ints and
    read back as ``bytes`` (integer entries as their decimal text), or as
    ``int | bytes`` through the ``*_value(s)`` accessors.
    """

    __slots__ = ("_buf", "_n", "_offs", "_bias", "_canon", "_resp")

    def __init__(self, elems: Iterable[Element] = ()) -> None:
        self._buf = bytearray(EMPTY_LISTPACK)
        self._n = 0
        self._offs: Optional[array] = None
        self._bias = 0
        self._canon: Optional[bool] = True
        self._resp: Optional[Tuple[bytes, array]] = None
        if elems:
            self.extend(elems)

    # -- construction / serialization ------------------------------------

    @classmethod
    def from_bytes(cls, buf: Union[bytes, bytearray, memoryview], validate: bool = True) -> "Listpack":
        """Adopt a serialized listpack.  With ``validate`` (default) the blob
        is checked deeply (header size/count, every entry and backlen, the
        terminator) and ValueError is raised on any corruption.  Without it,
        only the cheap header checks run and the blob is trusted."""
        self = cls.__new__(cls)
        data = bytearray(buf)
        if validate:
            n, canon = _scan(data, True)
            self._canon = canon
        else:
            if len(data) < HDR_SIZE + 1:
                raise ValueError("listpack too short")
            total, numele = _HDR.unpack_from(data, 0)
            if total != len(data) or data[-1] != EOF:
                raise ValueError("listpack header/terminator mismatch")
            n = numele if numele != NUMELE_UNKNOWN else _scan(data, False)[0]
            self._canon = None
        self._buf = data
        self._n = n
        self._offs = None
        self._bias = 0
        self._resp = None
        return self

    @classmethod
    def _adopt(cls, buf: bytearray, count: int, canonical: Optional[bool]) -> "Listpack":
        """Wrap a blob this process produced itself (no checks at all)."""
        self = cls.__new__(cls)
        self._buf = buf
        self._n = count
        self._offs = None
        self._bias = 0
        self._canon = canonical
        self._resp = None
        return self

    @classmethod
    def from_zset_pairs(cls, pairs: Iterable[Tuple[bytes, float]]) -> "Listpack":
        """A sorted-set listpack of ``(member, score)`` pairs already in
        order: the bytes of appending each member and its
        ``zset_score_entry`` (what ``zzlInsertAt`` writes), with the common
        entries (short non-numeric members, scores 0..127) encoded inline."""
        parts = [b"\0\0\0\0\0\0"]
        app = parts.append
        str6 = _STR6
        one = _ONE
        enc7 = _ENC7
        int_start = _INT_START
        count = 0
        for m, s in pairs:
            n = len(m)
            if type(m) is bytes and n < 64 and (n > 20 or not n or not int_start[m[0]]):
                app(str6[n])
                app(m)
                app(one[n + 1])
            else:
                app(encode_entry(m))
            if 0.0 <= s <= 127.0 and s == int(s):
                app(enc7[int(s)])
            else:
                app(encode_entry(zset_score_entry(s)))
            count += 2
        app(b"\xff")
        self = cls._adopt(bytearray(b"".join(parts)), count, True)
        if len(self._buf) > MAX_TOTAL_BYTES:
            raise OverflowError("listpack would exceed 4 GiB")
        self._set_header()
        return self

    @property
    def canonical(self) -> Optional[bool]:
        """True if every entry is known to use Redis's canonical encoding,
        False if one does not, None if not yet checked."""
        return self._canon

    def to_bytes(self) -> bytes:
        """The exact listpack blob (as embedded in RDB / DUMP payloads)."""
        self._sync_header()
        return bytes(self._buf)

    @property
    def nbytes(self) -> int:
        """Size of the blob in bytes (``lpBytes``)."""
        return len(self._buf)

    def copy(self) -> "Listpack":
        other = Listpack.__new__(Listpack)
        other._resp = None
        self._sync_header()
        other._buf = bytearray(self._buf)
        other._n = self._n
        other._offs = None
        other._bias = 0
        other._canon = self._canon
        return other

    def drop_index(self) -> None:
        """Release the offset index (rebuilt lazily when needed)."""
        self._offs = None
        self._bias = 0

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n != 0

    def __repr__(self) -> str:
        return "Listpack(%r)" % (self.to_list(),)

    # -- internals -----------------------------------------------------------

    def _set_header(self) -> None:
        self._resp = None
        n = self._n
        _pack_hdr_into(self._buf, 0, len(self._buf), n if n < NUMELE_UNKNOWN else NUMELE_UNKNOWN)

    def _sync_header(self) -> None:
        """Rewrite the header from ``len(_buf)`` and ``_n`` (see "Python
        design": the quicklist fast paths leave it stale)."""
        n = self._n
        _pack_hdr_into(self._buf, 0, len(self._buf), n if n < NUMELE_UNKNOWN else NUMELE_UNKNOWN)

    def _index(self) -> array:
        """The offset index, building it if needed."""
        offs = self._offs
        if offs is None:
            buf = self._buf
            offs = array("i" if len(buf) < _BIG else "q")
            app = offs.append
            elen = _ELEN
            p = HDR_SIZE
            end = len(buf) - 1
            while p < end:
                app(p)
                t = elen[buf[p]]
                p += t if t > 0 else _entry_size(buf, p)
            self._offs = offs
            self._bias = 0
        return offs

    def _shift(self, lo: int, hi: int, delta: int) -> None:
        """Add ``delta`` to index entries ``lo <= i < hi`` (see "Offset
        index shifts" in the module docstring)."""
        offs = self._offs
        m = hi - lo
        if m <= _SHIFT_LOOP_MAX:
            for i in range(lo, hi):
                offs[i] += delta
            return
        w = offs.itemsize
        ones, high, lanes = _swar_lanes(w, m)
        drop = 8 * w * (lanes - m)
        h = high >> drop
        a = lo * w
        b = hi * w
        with memoryview(offs) as whole, whole.cast("B") as mv:
            x = int.from_bytes(mv[a:b], _NATIVE) ^ h
            mv[a:b] = ((x + (ones >> drop) * delta) ^ h).to_bytes(b - a, _NATIVE)

    def _move_bias(self, delta: int) -> None:
        b = self._bias = self._bias + delta
        if (b >= _BIG or b <= -_BIG) and self._offs is not None and self._offs.typecode == "i":
            self.drop_index()

    def _will_grow(self, extra: int) -> None:
        """Drop a 32-bit index before the blob grows past the range where
        its entries are guaranteed to fit."""
        offs = self._offs
        if offs is not None and offs.typecode == "i" and len(self._buf) + extra >= _BIG:
            self.drop_index()

    def _norm(self, index: int) -> int:
        n = self._n
        if index < 0:
            index += n
        if index < 0 or index >= n:
            raise IndexError("listpack index out of range")
        return index

    def _offset(self, i: int, build: bool = True) -> int:
        """Byte offset of entry ``i`` (0 <= i <= n; i == n is the EOF byte).
        Uses the index if present; walks when ``i`` is near an end, the
        listpack is small or ``build`` is false; otherwise builds the index."""
        n = self._n
        if i == n:
            return len(self._buf) - 1
        if i == 0:
            return HDR_SIZE
        offs = self._offs
        if offs is not None:
            return offs[i] - self._bias
        back = n - i
        if build and n > _INDEX_MIN_ENTRIES and i > _WALK_MAX and back > _WALK_MAX:
            return self._index()[i] - self._bias
        buf = self._buf
        if i <= back:
            return skip_entries(buf, HDR_SIZE, i)
        p = len(buf) - 1
        while back:
            p = _prev_start(buf, p)
            back -= 1
        return p

    def _walk(self, p: int, count: int) -> int:
        """Position reached after skipping ``count`` entries from ``p``."""
        return skip_entries(self._buf, p, count)

    def _insert_encoded(self, k: int, enc: bytes, sizes: Optional[List[int]], pos: int = -1) -> None:
        """Insert the concatenated entries ``enc`` before entry ``k``, which
        starts at byte ``pos`` when known (else -1).  ``sizes`` lists each
        entry's size (None means a single entry)."""
        buf = self._buf
        n = self._n
        L = len(enc)
        if len(buf) + L > MAX_TOTAL_BYTES:
            raise OverflowError("listpack would exceed 4 GiB")
        self._will_grow(L)
        m = 1 if sizes is None else len(sizes)
        offs = self._offs
        if k == n:
            pos = len(buf) - 1
            buf[pos:pos] = enc
            if offs is not None:
                b = pos + self._bias
                if sizes is None:
                    offs.append(b)
                else:
                    for s in sizes:
                        offs.append(b)
                        b += s
        elif k == 0:
            buf[HDR_SIZE:HDR_SIZE] = enc
            if offs is not None:
                self._bias -= L
                b = HDR_SIZE + self._bias
                if sizes is None:
                    offs.insert(0, b)
                else:
                    new = array(offs.typecode)
                    for s in sizes:
                        new.append(b)
                        b += s
                    offs[0:0] = new
        else:
            if pos < 0:
                pos = self._offset(k)
            buf[pos:pos] = enc
            offs = self._offs
            if offs is not None:
                if k >= n - k:
                    self._shift(k, n, L)
                else:
                    self._shift(0, k, -L)
                    self._bias -= L
                b = pos + self._bias
                if sizes is None:
                    offs.insert(k, b)
                else:
                    new = array(offs.typecode)
                    for s in sizes:
                        new.append(b)
                        b += s
                    offs[k:k] = new
        self._n = n + m
        self._set_header()
        if offs is not None:
            self._move_bias(0)

    def _delete_span(self, k: int, c: int) -> None:
        """Delete ``c`` entries starting at entry ``k`` (already clamped)."""
        if c <= 0:
            return
        n = self._n
        buf = self._buf
        if k == 0 and c == n:
            del buf[HDR_SIZE:-1]
            if self._offs is not None:
                del self._offs[:]
                self._bias = 0
            self._n = 0
            self._set_header()
            return
        a = self._offset(k)
        if self._offs is not None:
            b = self._offset(k + c) if k + c < n else len(buf) - 1
        else:
            b = self._walk(a, c) if k + c < n else len(buf) - 1
        del buf[a:b]
        offs = self._offs
        if offs is not None:
            L = b - a
            del offs[k:k + c]
            rest = n - c - k
            if rest <= k:
                self._shift(k, n - c, -L)
            else:
                self._shift(0, k, L)
                self._move_bias(L)
        self._n = n - c
        self._set_header()

    # -- reading -------------------------------------------------------------

    def get(self, index: int, *, build_index: bool = True) -> bytes:
        """Element at ``index`` as bytes (IndexError when out of range).
        ``build_index=False`` never builds the offset index (for one-off
        reads of temporary listpacks)."""
        i = self._norm(index)
        return _decode_bytes(self._buf, self._offset(i, build_index))

    def get_value(self, index: int) -> Value:
        """Element at ``index``: an ``int`` for integer entries, else bytes
        (``lpGet`` with a NULL intbuf)."""
        i = self._norm(index)
        return _decode_value(self._buf, self._offset(i))

    def first(self) -> Optional[bytes]:
        return _decode_bytes(self._buf, HDR_SIZE) if self._n else None

    def last(self) -> Optional[bytes]:
        if not self._n:
            return None
        buf = self._buf
        return _decode_bytes(buf, _prev_start(buf, len(buf) - 1))

    def to_list(self) -> List[bytes]:
        """All elements as bytes, decoded in one pass."""
        return _decode_run(bytes(self._buf), HDR_SIZE, self._n, False)

    def to_values(self) -> List[Value]:
        """All elements as ``int | bytes`` (integer entries as ints)."""
        return _decode_run(bytes(self._buf), HDR_SIZE, self._n, True)

    def range(self, start: int, stop: int, values: bool = False, *, build_index: bool = True) -> list:
        """Elements with ``start <= index < stop`` (Python slice semantics for
        non-negative bounds; negative bounds count from the tail; clamped)."""
        n = self._n
        if start < 0:
            start = max(start + n, 0)
        if stop < 0:
            stop += n
        if stop > n:
            stop = n
        if start >= stop:
            return []
        p = HDR_SIZE if start == 0 else self._offset(start, build_index)
        return _decode_run(bytes(self._buf), p, stop - start, values)

    def resp_range(self, start: int, stop: int) -> bytes:
        """Entries ``start <= i < stop`` (non-negative, clamped by the
        caller) already encoded as consecutive RESP bulk strings.

        The whole listpack's encoding is built once and kept until the next
        change (every mutation resets ``_resp``), so repeated LRANGEs over an
        unchanged list cost a slice, not a decode and an encode per element
        (the cost PERFORMANCE.md measures at 6-9 us per 100 elements).  The
        cache costs about the listpack's size again while it lives."""
        cache = self._resp
        if cache is None:
            parts = []
            offsets = array("I", [0])
            pos = 0
            for elem in self.to_list():
                enc = b"$%d\r\n%b\r\n" % (len(elem), elem)
                parts.append(enc)
                pos += len(enc)
                offsets.append(pos)
            cache = self._resp = (b"".join(parts), offsets)
        data, offsets = cache
        if start == 0 and stop >= self._n:
            return data
        return data[offsets[start]:offsets[stop]]

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_from(0)

    def __reversed__(self) -> Iterator[bytes]:
        return self.iter_from(-1, reverse=True)

    def iter_from(self, index: int = 0, reverse: bool = False, values: bool = False) -> Iterator[Value]:
        """Lazily iterate from ``index`` towards the tail (or the head when
        ``reverse``).  Works on a snapshot, so mutation during iteration is
        safe (but not reflected)."""
        n = self._n
        if index < 0:
            index += n
        if index < 0 or index >= n:
            return iter(())
        data = bytes(self._buf)
        p = self._offset(index)
        return self._gen(data, p, index, reverse, values)

    @staticmethod
    def _gen(data: bytes, p: int, index: int, reverse: bool, values: bool) -> Iterator[Value]:
        dec = _decode_value if values else _decode_bytes
        if reverse:
            while True:
                yield dec(data, p)
                if p == HDR_SIZE:
                    return
                p = _prev_start(data, p)
        else:
            end = len(data) - 1
            elen = _ELEN
            while p < end:
                yield dec(data, p)
                t = elen[data[p]]
                p += t if t > 0 else _entry_size(data, p)

    def find(self, elem: Element, start: int = 0, skip: int = 0) -> int:
        """Index of the first entry equal to ``elem`` among indexes
        ``start, start+skip+1, start+2*(skip+1), ...`` or -1 (``lpFind``).

        ``skip=1`` searches the keys of a key/value listpack (hash fields,
        sorted-set members); ``start=1, skip=1`` searches the values.  Equality
        is on the element's string form, like ``lpCompare``."""
        return self._find(elem, start, skip)[0]

    def find_entry(self, elem: Element, start: int = 0, skip: int = 0) -> Tuple[int, int]:
        """``find`` that also gives the match's byte offset: (index,
        offset), or (-1, -1)."""
        return self._find(elem, start, skip)

    def lookup(self, key: Element, values: bool = False) -> Optional[Value]:
        """For key/value listpacks (hashes, sorted sets): the entry right
        after the first key (even index) equal to ``key``, or None.  Does
        the search and the read in one pass (HGET, ZSCORE).  ``values``
        returns integer entries as ints."""
        i, pos = self._find(key, 0, 1)
        if i < 0 or i + 1 >= self._n:
            return None
        buf = self._buf
        q = pos + _entry_size(buf, pos)
        return _decode_value(buf, q) if values else _decode_bytes(buf, q)

    def _find(self, elem: Element, start: int, skip: int) -> Tuple[int, int]:
        """(index, byte offset) of the match, or (-1, -1)."""
        n = self._n
        if start < 0:
            start += n
            if start < 0:
                start = 0
        if start >= n:
            return -1, -1
        step = skip + 1
        canon = self._canon
        if canon is None:
            canon = self._canon = _scan(self._buf, True)[1]
        if not canon:
            target = _as_bytes(elem)
            i = start
            for v in self.iter_from(start):
                if (i - start) % step == 0 and v == target:
                    return i, self._offset(i)
                i += 1
            return -1, -1
        enc = encode_entry(elem)
        if self._offs is None and n <= _INDEX_MIN_ENTRIES:
            return self._find_walk(enc, start, step)
        offs = self._index()
        bias = self._bias
        buf = self._buf
        end = len(buf) - 1
        bfind = buf.find
        i = start
        frm = offs[i] - bias
        while True:
            pos = bfind(enc, frm, end)
            if pos < 0:
                return -1, -1
            key = pos + bias
            j = bisect_left(offs, key, i)
            if j >= n:
                return -1, -1
            if offs[j] == key:
                r = (j - start) % step
                if r == 0:
                    return j, pos
                j += step - r
            else:
                r = (j - start) % step
                if r:
                    j += step - r
            if j >= n:
                return -1, -1
            i = j
            frm = offs[j] - bias

    def _find_walk(self, enc: bytes, start: int, step: int) -> Tuple[int, int]:
        """``find`` without an index: ``bytearray.find`` for the encoded
        entry, then walk entry boundaries up to the hit to check it."""
        buf = self._buf
        n = self._n
        end = len(buf) - 1
        elen = _ELEN
        bfind = buf.find
        p = self._offset(start)
        i = start
        while True:
            pos = bfind(enc, p, end)
            if pos < 0:
                return -1, -1
            while p < pos:
                t = elen[buf[p]]
                p += t if t > 0 else _entry_size(buf, p)
                i += 1
            if p == pos:
                r = (i - start) % step
                if r == 0:
                    return i, p
            else:
                r = (i - start) % step
            # advance to the next candidate boundary
            k = (step - r) % step if p != pos else step - r
            while k and i < n:
                t = elen[buf[p]]
                p += t if t > 0 else _entry_size(buf, p)
                i += 1
                k -= 1
            if i >= n:
                return -1, -1

    def may_contain(self, elem: Element) -> bool:
        """Cheap pre-check: False means ``elem`` is certainly absent (its
        encoded entry occurs nowhere in the blob).  True may be a false
        positive."""
        return self.may_contain_entry(encode_entry(elem))

    def may_contain_entry(self, enc: bytes) -> bool:
        """``may_contain`` for an already encoded entry (``encode_entry``)."""
        canon = self._canon
        if canon is None:
            canon = self._canon = _scan(self._buf, True)[1]
        if not canon:
            return True
        return self._buf.find(enc, HDR_SIZE) >= 0

    def __contains__(self, elem: object) -> bool:
        try:
            return self.find(elem) >= 0  # type: ignore[arg-type]
        except TypeError:
            return False

    # -- writing -------------------------------------------------------------

    def append(self, elem: Element) -> None:
        """Push at the tail (``lpAppend``)."""
        enc = encode_entry(elem)
        buf = self._buf
        if len(buf) + len(enc) > MAX_TOTAL_BYTES:
            raise OverflowError("listpack would exceed 4 GiB")
        pos = len(buf) - 1
        if self._offs is not None:
            self._will_grow(len(enc))
        buf[pos:pos] = enc
        offs = self._offs
        if offs is not None:
            offs.append(pos + self._bias)
        n = self._n = self._n + 1
        self._resp = None
        _pack_hdr_into(buf, 0, len(buf), n if n < NUMELE_UNKNOWN else NUMELE_UNKNOWN)

    def prepend(self, elem: Element) -> None:
        """Push at the head (``lpPrepend``)."""
        self._insert_encoded(0, encode_entry(elem), None)

    # Hot paths for quicklist pushes and pops (LPUSH/RPUSH/LPOP/RPOP): one
    # call each, the common encodings (7-bit ints, 6-bit strings) decoded or
    # encoded inline, and the blob edited directly when there is no offset
    # index to keep up to date.  Same bytes as append/prepend/pop.

    def push_bytes(self, v: bytes, head: bool) -> int:
        """``lpPrepend`` (``head``) or ``lpAppend`` of a ``bytes`` element;
        returns the new blob size."""
        n = len(v)
        if n < 64 and (n > 20 or not n or not _INT_START[v[0]]):
            enc = _STR6[n] + v + _ONE[n + 1]
        else:
            enc = encode_entry(v)
        buf = self._buf
        if self._offs is not None or len(buf) + len(enc) > MAX_TOTAL_BYTES:
            self._insert_encoded(0 if head else self._n, enc, None)
            return len(buf)
        if head:
            buf[HDR_SIZE:HDR_SIZE] = enc
        else:
            buf[-1:-1] = enc
        n = self._n = self._n + 1
        self._resp = None
        size = len(buf)
        _pack_hdr_into(buf, 0, size, n if n < NUMELE_UNKNOWN else NUMELE_UNKNOWN)
        return size

    def pop_head(self) -> bytes:
        """Remove and return the first element (IndexError when empty)."""
        n = self._n
        if not n:
            raise IndexError("pop from empty listpack")
        buf = self._buf
        b = buf[HDR_SIZE]
        if b < 0x80:
            v = _DEC7[b]
            end = HDR_SIZE + 2
        elif b < 0xC0:
            end = HDR_SIZE + 1 + (b & 0x3F)
            v = bytes(buf[HDR_SIZE + 1:end])
            end += 1
        else:
            v = _decode_bytes(buf, HDR_SIZE)
            end = HDR_SIZE + _entry_size(buf, HDR_SIZE)
        del buf[HDR_SIZE:end]
        offs = self._offs
        if offs is not None:
            del offs[0]
            self._move_bias(end - HDR_SIZE)
        n = self._n = n - 1
        self._resp = None
        _pack_hdr_into(buf, 0, len(buf), n if n < NUMELE_UNKNOWN else NUMELE_UNKNOWN)
        return v

    def pop_tail(self) -> bytes:
        """Remove and return the last element (IndexError when empty)."""
        n = self._n
        if not n:
            raise IndexError("pop from empty listpack")
        buf = self._buf
        bl = buf[-2]
        a = len(buf) - 2 - bl if bl < 128 else _prev_start(buf, len(buf) - 1)
        b = buf[a]
        if b < 0x80:
            v = _DEC7[b]
        elif b < 0xC0:
            v = bytes(buf[a + 1:a + 1 + (b & 0x3F)])
        else:
            v = _decode_bytes(buf, a)
        del buf[a:-1]
        offs = self._offs
        if offs is not None:
            del offs[-1]
        n = self._n = n - 1
        self._resp = None
        _pack_hdr_into(buf, 0, len(buf), n if n < NUMELE_UNKNOWN else NUMELE_UNKNOWN)
        return v

    def insert(self, index: int, elem: Element) -> None:
        """Insert so that the new element ends up at ``index`` (like
        ``list.insert``; ``index == len`` appends; negative counts from the
        tail; out-of-range indexes are clamped)."""
        n = self._n
        if index < 0:
            index += n
            if index < 0:
                index = 0
        elif index > n:
            index = n
        self._insert_encoded(index, encode_entry(elem), None)

    def insert_many(self, index: int, elems: Iterable[Element]) -> None:
        """Insert several elements at ``index`` with a single memmove."""
        parts = [encode_entry(e) for e in elems]
        if not parts:
            return
        n = self._n
        if index < 0:
            index = max(index + n, 0)
        elif index > n:
            index = n
        self._insert_encoded(index, b"".join(parts), [len(p) for p in parts])

    def extend(self, elems: Iterable[Element]) -> None:
        """Append several elements at once."""
        self.insert_many(self._n, elems)

    def replace(self, index: int, elem: Element) -> None:
        """Overwrite the element at ``index`` (``lpReplace``)."""
        k = self._norm(index)
        self.replace_at(k, self._offset(k), elem)

    def replace_at(self, k: int, a: int, elem: Element) -> None:
        """``replace`` of entry ``k``, known to start at byte ``a`` (from
        ``find_value``/``find_entry``, nothing changed since): no index
        normalisation, no walk; the offset index is kept up to date."""
        buf = self._buf
        self._splice(k, 1, a, a + _entry_size(buf, a), encode_entry(elem))

    def find_value(self, key: Element) -> Tuple[int, int]:
        """(index, byte offset) of the value entry stored under ``key`` in a
        key/value listpack (hash), or (-1, -1): one ``lpFind`` (skip 1) and
        one step, so the caller can read it (``value_at``) and replace it
        (``replace_at``) without a second search or walk."""
        i, pos = self._find(key, 0, 1)
        if i < 0 or i + 1 >= self._n:
            return -1, -1
        return i + 1, pos + _entry_size(self._buf, pos)

    def value_at(self, a: int) -> Value:
        """The entry starting at byte ``a`` (``get_value``'s types)."""
        return _decode_value(self._buf, a)

    def delete(self, index: int) -> None:
        """Remove the element at ``index`` (``lpDelete``)."""
        self._delete_span(self._norm(index), 1)

    def delete_range(self, start: int, count: int) -> int:
        """Remove up to ``count`` elements starting at ``start`` (negative
        start counts from the tail), like ``lpDeleteRange``.  Returns the number
        removed."""
        n = self._n
        if start < 0:
            start += n
            if start < 0:
                return 0
        if start >= n or count <= 0:
            return 0
        if count > n - start:
            count = n - start
        self._delete_span(start, count)
        return count

    def pop(self, index: int = -1) -> bytes:
        """Remove and return the element at ``index`` (default: the tail)."""
        n = self._n
        if n == 0:
            raise IndexError("pop from empty listpack")
        k = self._norm(index)
        buf = self._buf
        if k == n - 1 and self._offs is None:
            a = _prev_start(buf, len(buf) - 1)
            v = _decode_bytes(buf, a)
            del buf[a:-1]
            self._n = n - 1
            self._set_header()
            return v
        if k == 0:
            v = _decode_bytes(buf, HDR_SIZE)
            size = _entry_size(buf, HDR_SIZE)
            del buf[HDR_SIZE:HDR_SIZE + size]
            offs = self._offs
            if offs is not None:
                del offs[0]
                self._move_bias(size)
            self._n = n - 1
            self._set_header()
            return v
        v = _decode_bytes(buf, self._offset(k))
        self._delete_span(k, 1)
        return v

    def clear(self) -> None:
        self._resp = None
        self._buf = bytearray(EMPTY_LISTPACK)
        self._n = 0
        self._offs = None
        self._bias = 0
        self._canon = True

    # -- whole-listpack operations (quicklist support) -----------------------

    def slice(self, start: int, stop: int) -> "Listpack":
        """A new listpack holding entries ``start <= i < stop`` (clamped).
        Entries are self-contained, so this is a byte copy."""
        n = self._n
        if start < 0:
            start = max(start + n, 0)
        if stop < 0:
            stop += n
        stop = min(stop, n)
        out = Listpack()
        if start >= stop:
            return out
        a = self._offset(start)
        if self._offs is not None:
            b = self._offset(stop)
        else:
            b = self._walk(a, stop - start) if stop < n else len(self._buf) - 1
        buf = out._buf
        buf[HDR_SIZE:HDR_SIZE] = self._buf[a:b]
        out._n = stop - start
        out._canon = self._canon
        out._set_header()
        offs = self._offs
        if offs is not None and stop - start > _INDEX_MIN_ENTRIES:
            # The slice of the index stays valid with the bias moved by the
            # bytes cut off in front (a split quicklist node keeps its index).
            out._offs = offs[start:stop]
            out._bias = self._bias + a - HDR_SIZE
            out._move_bias(0)
        return out

    @classmethod
    def concat(cls, first: "Listpack", second: "Listpack") -> "Listpack":
        """A new listpack with ``first``'s entries followed by ``second``'s
        (``lpMerge``; the blob is identical to Redis's merge result)."""
        out = cls.__new__(cls)
        out._resp = None
        buf = bytearray(first._buf)
        buf[-1:] = memoryview(second._buf)[HDR_SIZE:]
        out._buf = buf
        out._n = first._n + second._n
        out._offs = None
        out._bias = 0
        a, b = first._canon, second._canon
        out._canon = False if (a is False or b is False) else (None if (a is None or b is None) else True)
        if len(buf) > MAX_TOTAL_BYTES:
            raise OverflowError("listpack would exceed 4 GiB")
        out._set_header()
        return out

    # -- sorted-set pair walks (t_zset.c zzl*; see "Sorted-set walks") ---------
    #
    # A sorted-set listpack holds ``member, score`` pairs in (score, member)
    # order.  Positions below are byte offsets of a pair's member entry, -1
    # before the head and ``nbytes - 1`` (the EOF byte) past the tail; pair
    # ranks are 0-based.  They stay valid until the next mutation.

    def zhead(self) -> int:
        """Member position of the first pair (the EOF byte when empty)."""
        return HDR_SIZE if self._n else len(self._buf) - 1

    def ztail(self) -> int:
        """Member position of the last pair (-1 when empty)."""
        if not self._n:
            return -1
        buf = self._buf
        return _zprev(buf, len(buf) - 1)

    def zpos(self, rank: int) -> int:
        """Member position of pair ``rank`` (0 <= rank <= pairs)."""
        return self._offset(2 * rank)

    def zvalid(self, p: int) -> bool:
        """True if ``p`` is a pair position (not -1 nor the EOF byte)."""
        return 0 <= p < len(self._buf) - 1

    def zmember_at(self, p: int) -> bytes:
        return _decode_bytes(self._buf, p)

    def zscore_at(self, p: int) -> float:
        """Score of the pair whose member is at ``p`` (``zzlGetScore``)."""
        buf = self._buf
        return float(_score_num(buf, p + _entry_size(buf, p)))

    def zwalk(self, p: int, reverse: bool, lex: bool, bound, ex: bool, limit: int = -1,
              out: Optional[list] = None) -> Tuple[int, int]:
        """``_zwalk`` on this listpack: from the pair at ``p``, pass pairs
        while their score (member when ``lex``) is below ``bound`` (above
        when ``reverse``; ``ex`` makes an equal key stop the walk; None: no
        bound), at most ``limit``, collecting (member, score) into ``out``.
        Returns (pairs passed, position of the stopping pair)."""
        return _zwalk(self._buf, p, reverse, lex, bound, ex, limit, out)

    def zseek(self, bound, ex: bool, reverse: bool, lex: bool = False, frm: int = -1,
              base: int = 0) -> Tuple[int, int]:
        """``zwalk`` from the head (the tail when ``reverse``) with no limit
        and nothing collected: (pairs passed, stopping position).  The keys
        must be in order (scores always are; members are when every score
        is equal), so on a listpack big enough to keep an offset index (see
        "Random access") this is a binary search instead of a walk.  A
        forward walk may start at ``frm``, a pair of rank ``base`` known not
        to be past the bound."""
        n = self._n
        buf = self._buf
        pairs = n >> 1
        if bound is None:
            return pairs, (-1 if reverse else len(buf) - 1)
        if n <= _INDEX_MIN_ENTRIES:
            if not n:
                return 0, (-1 if reverse else len(buf) - 1)
            if reverse:
                return _zwalk(buf, _zprev(buf, len(buf) - 1), True, lex, bound, ex, -1, None)
            if frm < 0:
                frm = HDR_SIZE
                base = 0
            steps, p = _zwalk(buf, frm, False, lex, bound, ex, -1, None)
            return base + steps, p
        offs = self._index()
        bias = self._bias
        lo = 0
        hi = pairs
        while lo < hi:
            mid = (lo + hi) >> 1
            if lex:
                k = _decode_bytes(buf, offs[2 * mid] - bias)
            else:
                x = offs[2 * mid + 1] - bias
                k = buf[x]
                if k >= 0x80:
                    k = _score_num(buf, x)
            if reverse:
                # passed from the tail: a suffix (keys above the bound)
                if k > bound or (k == bound and not ex):
                    hi = mid
                else:
                    lo = mid + 1
            elif k < bound or (k == bound and not ex):
                lo = mid + 1
            else:
                hi = mid
        if reverse:
            return pairs - lo, (offs[2 * lo - 2] - bias if lo else -1)
        return lo, (offs[2 * lo] - bias if lo < pairs else len(buf) - 1)

    def zskip(self, p: int, count: int, reverse: bool) -> int:
        """The position ``count`` pairs after ``p`` (before, ``reverse``),
        stopping at the ends (``zzlNext`` / ``zzlPrev``)."""
        return _zwalk(self._buf, p, reverse, False, None, False, count, None)[1]

    def zdelete(self, rank: int, count: int, p: int, q: int) -> None:
        """Delete ``count`` pairs from pair ``rank``, whose member is at
        ``p``, up to position ``q`` (the pair after them or the EOF byte)
        (``zzlDeleteRangeBy*``, positions already found by a walk)."""
        if count <= 0:
            return
        if self._offs is not None or (rank == 0 and 2 * count == self._n):
            self._delete_span(2 * rank, 2 * count)
            return
        del self._buf[p:q]
        self._n -= 2 * count
        self._set_header()

    def zinsert(self, rank: int, p: int, member: bytes, score: float) -> None:
        """``zzlInsertAt``: the pair ``member, score`` before pair ``rank``,
        whose member is at ``p`` (the EOF byte: at the tail), as a
        ``zseek``/``zwalk`` found it."""
        menc = encode_entry(member)
        senc = encode_entry(zset_score_entry(score))
        self._insert_encoded(2 * rank, menc + senc, [len(menc), len(senc)], p)

    def zupdate(self, rank: int, p: int, member: bytes, score: float) -> None:
        """Give the pair ``rank`` (member ``member`` at position ``p``) the
        new ``score``, leaving the bytes ``zzlDelete`` + ``zzlInsert`` leave:
        the pair moves past the pairs whose (score, member) its new key
        passes, found by walking from where it is, and the whole change is
        one splice of the bytes between its old and new places."""
        buf = self._buf
        t = _ELEN[buf[p]]
        q = p + (t if t > 0 else _entry_size(buf, p))
        t = _ELEN[buf[q]]
        e = q + (t if t > 0 else _entry_size(buf, q))
        menc = bytes(buf[p:q]) if self._canon else encode_entry(member)
        senc = encode_entry(zset_score_entry(score))
        cur = _score_num(buf, q)
        dec = _decode_bytes
        end = len(buf) - 1
        if score > cur:
            # zzlInsert's spot: before the first pair with a greater key.
            d = e
            passed = 0
            while d < end:
                t = _ELEN[buf[d]]
                r = d + (t if t > 0 else _entry_size(buf, d))
                s = _score_num(buf, r)
                if s > score or (s == score and dec(buf, d) > member):
                    break
                t = _ELEN[buf[r]]
                d = r + (t if t > 0 else _entry_size(buf, r))
                passed += 1
            if passed:
                self._splice_move(2 * rank, 2 * passed + 2, p, d, buf[e:d] + menc + senc,
                                  True, len(menc))
                return
        else:
            d = p
            passed = 0
            while True:
                c = _zprev(buf, d)
                if c < 0:
                    break
                t = _ELEN[buf[c]]
                s = _score_num(buf, c + (t if t > 0 else _entry_size(buf, c)))
                if s < score or (s == score and dec(buf, c) < member):
                    break
                d = c
                passed += 1
            if passed:
                k = 2 * (rank - passed)
                self._splice_move(k, 2 * passed + 2, d, e, menc + senc + buf[d:p],
                                  False, len(menc))
                return
        self._splice(2 * rank, 2, p, e, menc + senc)

    def _splice_bytes(self, a: int, b: int, data: bytes) -> int:
        """``buf[a:b] = data`` within the 4 GiB limit; the size change."""
        delta = len(data) - (b - a)
        if delta > 0:
            if len(self._buf) + delta > MAX_TOTAL_BYTES:
                raise OverflowError("listpack would exceed 4 GiB")
            self._will_grow(delta)
        self._buf[a:b] = data
        return delta

    def _absorb_delta(self, k: int, c: int, delta: int, head: int) -> None:
        """After entries ``k .. k+c-1`` changed size by ``delta`` bytes in
        all, move the index's shorter side: the entries after them by
        ``delta``, or the first ``head`` entries by ``-delta`` with the bias
        (which moves every entry) by ``-delta`` too."""
        if not delta:
            return
        n = self._n
        if n - k - c <= k:
            self._shift(k + c, n, delta)
        else:
            self._shift(0, head, -delta)
            self._move_bias(-delta)

    def _splice_move(self, k: int, c: int, a: int, b: int, data: bytes,
                     forward: bool, member_len: int) -> None:
        """``_splice`` for ``zupdate``'s move of one pair past ``c/2 - 1``
        others: ``data`` is the region with the pair taken from its front
        (``forward``) or back and a new pair (member entry ``member_len``
        bytes) put at the other end.  The passed pairs' index entries move
        by two slots and one byte distance each (an array slice copy and one
        ``_shift``) instead of being recomputed by walking them."""
        offs = self._offs
        if offs is not None:
            # Read the old layout from the index before the bytes change.
            if forward:
                passed_bytes = b - a - (offs[k + 2] - offs[k])
            else:
                passed_bytes = offs[k + c - 2] - offs[k]
        delta = self._splice_bytes(a, b, data)
        offs = self._offs
        if offs is not None:
            bias = self._bias
            if forward:
                # [old pair][passed] -> [passed][new pair]
                offs[k:k + c - 2] = offs[k + 2:k + c]
                self._shift(k, k + c - 2, passed_bytes - (b - a))
                new_at = a + passed_bytes
                i = k + c - 2
            else:
                # [passed][old pair] -> [new pair][passed]
                offs[k + 2:k + c] = offs[k:k + c - 2]
                self._shift(k + 2, k + c, len(data) - passed_bytes)
                new_at = a
                i = k
            offs[i] = new_at + bias
            offs[i + 1] = new_at + member_len + bias
            # The region's entries, computed with the old bias, move with
            # the head when the bias does.
            self._absorb_delta(k, c, delta, k + c)
        self._set_header()

    def _splice(self, k: int, c: int, a: int, b: int, data: bytes) -> None:
        """Replace entries ``k .. k+c-1`` (bytes ``a:b``) by ``data``, which
        holds ``c`` entries too, keeping the offset index up to date."""
        delta = self._splice_bytes(a, b, data)
        buf = self._buf
        offs = self._offs
        if offs is not None:
            self._absorb_delta(k, c, delta, k)
            offs = self._offs
            if offs is not None:
                elen = _ELEN
                x = a
                base = self._bias
                for i in range(k, k + c):
                    offs[i] = x + base
                    t = elen[buf[x]]
                    x += t if t > 0 else _entry_size(buf, x)
        self._set_header()

    # -- validation helpers for key/value listpacks --------------------------

    def validate(self) -> None:
        """Re-run the deep integrity check on the current blob."""
        self._sync_header()
        n, canon = _scan(self._buf, True)
        if n != self._n:
            raise ValueError("listpack count mismatch")
        self._canon = canon

    def check_pairs(self, unique_keys: bool = True) -> None:
        """For hash / sorted-set listpacks: require an even number of entries
        and (optionally) no duplicate keys, as ``lpValidateIntegrityAndDups``
        does when loading an RDB.  Raises ValueError."""
        if self._n & 1:
            raise ValueError("listpack of pairs has an odd number of entries")
        if unique_keys:
            keys = self.to_list()[0::2]
            if len(set(keys)) != len(keys):
                raise ValueError("listpack of pairs has duplicate keys")


# ---------------------------------------------------------------------------
# Doubles as Redis 7.0 formats them
# ---------------------------------------------------------------------------

_LL_HALF = 4611686018427387904.0  # (double)(LLONG_MAX/2) == 2**62


def double2ll(d: float) -> Optional[int]:
    """``double2ll`` (Redis 7.0 util.h): the integer value of ``d`` if ``d``
    is integral and within [-2**62, 2**62], else None.  Sorted-set listpacks
    store such scores as integer entries (``zzlInsertAt``), so -0.0 is stored
    as the integer 0."""
    if d != d or d < -_LL_HALF or d > _LL_HALF:
        return None
    ll = int(d)
    return ll if ll == d else None


def d2string(d: float) -> bytes:
    """``d2string`` from Redis 7.0 util.c: ``nan``, ``inf``, ``-inf``, ``-0``,
    ``0``, integers in plain decimal, everything else ``%.17g``.

    Redis 7.0 prints integral values inside +-2**52 with ``ll2string`` and the
    rest with ``%.17g``.  Both give the same text for such values, so this is
    ``%.17g`` except for NaN, which is always ``nan``.  (Redis 7.2 switched to
    the shortest round-trip form, fpconv_dtoa; 7.0 does not have it, so 0.1 is
    written ``0.10000000000000001``.)"""
    if d != d:
        return b"nan"
    return b"%.17g" % d


def format_double(d: float) -> bytes:
    """A double as Redis 7.0 replies with it (``addReplyDouble``): ``inf``
    and ``-inf`` spelled out, everything else ``%.17g``, e.g. 1.0 -> ``1``,
    0.1 -> ``0.10000000000000001``, -0.0 -> ``-0``, 1e20 -> ``1e+20``.  RESP3
    double replies use the same text."""
    if d != d:
        return b"nan"
    return b"%.17g" % d


def zset_score_entry(score: float) -> Value:
    """What ``zzlInsertAt`` stores for a score: the integer (as an int entry)
    when ``double2ll`` accepts it, else the ``d2string`` text."""
    ll = double2ll(score)
    if ll is not None:
        return ll
    return d2string(score)


def entry_to_score(v: Value) -> float:
    """Inverse of ``zset_score_entry`` (``zzlGetScore``: int entries convert
    directly, strings go through strtod)."""
    if type(v) is int:
        return float(v)
    return float(v)
