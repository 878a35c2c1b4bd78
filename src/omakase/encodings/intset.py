"""Intset: a sorted set of integers in a flat array of fixed-width values.

Mirrors Redis 7.0 ``src/intset.c`` (``intsetAdd``, ``intsetUpgradeAndAdd``,
``intsetRemove``, ``intsetSearch``, ``intsetFind``, ``intsetRandom``,
``intsetValidateIntegrity``).

Serialized layout (the RDB_TYPE_SET_INTSET payload), little endian::

    <encoding:uint32>  2, 4 or 8 = bytes per element (int16/int32/int64)
    <length:uint32>    number of elements
    <contents>         length * encoding bytes of signed ints, sorted
                       ascending, no duplicates

Every element uses the width of the widest one.  Adding a value that needs a
wider encoding upgrades the whole set ("upgrade on insert").  Such a value is
necessarily either below the current minimum or above the current maximum,
so it goes at the front or the back.  Nothing downgrades the encoding: after
removals the set keeps its width, as in Redis.

Python design
-------------
The elements live in an ``array.array`` of typecode ``'h'``, ``'i'`` or
``'q'`` (2/4/8 bytes), which *is* the contents section in host byte order.
``bisect`` binary-searches it in C, ``array.insert``/``del`` memmove it like
Redis's ``memmove``, and ``to_bytes()`` is a header plus ``tobytes()``
(byte-swapped on big-endian hosts).  No Python int per element is stored.

DIVERGENCE: ``from_bytes(validate=True)`` rejects an empty intset, as
``intsetValidateIntegrity`` does (an RDB never holds one), but an empty
``Intset()`` can be built and serialized.
"""

from __future__ import annotations

import random as _random
import struct
import sys
from array import array
from bisect import bisect_left
from typing import Iterable, Iterator, List, Optional, Union

__all__ = ["Intset", "INTSET_ENC_INT16", "INTSET_ENC_INT32", "INTSET_ENC_INT64", "value_encoding"]

INTSET_ENC_INT16 = 2
INTSET_ENC_INT32 = 4
INTSET_ENC_INT64 = 8

_TYPECODE = {2: "h", 4: "i", 8: "q"}
for _w, _tc in _TYPECODE.items():  # guard against exotic platforms
    assert array(_tc).itemsize == _w, "array typecode %r is not %d bytes here" % (_tc, _w)

_HDR = struct.Struct("<II")
_BIG_ENDIAN = sys.byteorder == "big"

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def value_encoding(v: int) -> int:
    """``_intsetValueEncoding``: bytes needed to store ``v``."""
    if INT16_MIN <= v <= INT16_MAX:
        return INTSET_ENC_INT16
    if INT32_MIN <= v <= INT32_MAX:
        return INTSET_ENC_INT32
    if INT64_MIN <= v <= INT64_MAX:
        return INTSET_ENC_INT64
    raise OverflowError("value out of int64 range: %r" % (v,))


class Intset:
    """A Redis intset (see module docstring).  Iteration is ascending."""

    __slots__ = ("_a",)

    def __init__(self, values: Iterable[int] = ()) -> None:
        vals = sorted(set(values))
        enc = INTSET_ENC_INT16
        if vals:
            enc = max(value_encoding(vals[0]), value_encoding(vals[-1]))
        self._a = array(_TYPECODE[enc], vals)

    # -- serialization ---------------------------------------------------------

    @classmethod
    def from_bytes(cls, buf: Union[bytes, bytearray, memoryview], validate: bool = True) -> "Intset":
        """Adopt a serialized intset.  Header sizes are always checked; with
        ``validate`` (default) the contents must also be non-empty, strictly
        ascending and duplicate-free (``intsetValidateIntegrity`` deep mode).
        Raises ValueError on corruption."""
        data = bytes(buf)
        if len(data) < 8:
            raise ValueError("intset too short")
        enc, length = _HDR.unpack_from(data, 0)
        tc = _TYPECODE.get(enc)
        if tc is None:
            raise ValueError("invalid intset encoding %d" % enc)
        if 8 + length * enc != len(data):
            raise ValueError("intset length %d does not match blob size %d" % (length, len(data)))
        a = array(tc)
        a.frombytes(data[8:])
        if _BIG_ENDIAN:
            a.byteswap()
        if validate:
            if length == 0:
                raise ValueError("empty intset")
            lst = a.tolist()
            if len(set(lst)) != length or sorted(lst) != lst:
                raise ValueError("intset elements not strictly ascending")
        self = cls.__new__(cls)
        self._a = a
        return self

    def to_bytes(self) -> bytes:
        """The exact Redis intset blob."""
        a = self._a
        if _BIG_ENDIAN:
            a = array(a.typecode, a)
            a.byteswap()
        return _HDR.pack(a.itemsize, len(a)) + a.tobytes()

    @property
    def nbytes(self) -> int:
        """Blob size (``intsetBlobLen``)."""
        return 8 + len(self._a) * self._a.itemsize

    @property
    def encoding(self) -> int:
        """Current width in bytes: 2, 4 or 8."""
        return self._a.itemsize

    def copy(self) -> "Intset":
        other = Intset.__new__(Intset)
        other._a = array(self._a.typecode, self._a)
        return other

    # -- queries -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._a)

    def __bool__(self) -> bool:
        return len(self._a) != 0

    def __iter__(self) -> Iterator[int]:
        return iter(self._a)

    def __reversed__(self) -> Iterator[int]:
        return reversed(self._a)

    def __repr__(self) -> str:
        return "Intset(%r)" % (self._a.tolist(),)

    def __contains__(self, v: object) -> bool:
        if type(v) is not int:
            return False
        return self.contains(v)

    def contains(self, v: int) -> bool:
        """``intsetFind``."""
        a = self._a
        n = len(a)
        if not n:
            return False
        if v < a[0] or v > a[n - 1]:
            return False
        i = bisect_left(a, v)
        return a[i] == v

    def search(self, v: int) -> "tuple[bool, int]":
        """``intsetSearch``: (found, position where ``v`` is or would go)."""
        a = self._a
        i = bisect_left(a, v)
        return (i < len(a) and a[i] == v), i

    def get(self, i: int) -> int:
        """Element at position ``i`` (``intsetGet``; negative counts from the
        end; IndexError when out of range)."""
        return self._a[i]

    __getitem__ = get

    def min(self) -> Optional[int]:
        return self._a[0] if self._a else None

    def max(self) -> Optional[int]:
        return self._a[-1] if self._a else None

    def to_list(self) -> List[int]:
        return self._a.tolist()

    def random(self) -> int:
        """A uniformly random member (``intsetRandom``); IndexError if empty."""
        a = self._a
        if not a:
            raise IndexError("random member of empty intset")
        return a[_random.randrange(len(a))]

    # -- updates -----------------------------------------------------------------

    def add(self, v: int) -> bool:
        """Insert ``v``; returns False if it was already present.  Widens the
        encoding if ``v`` does not fit (``intsetUpgradeAndAdd``)."""
        a = self._a
        need = value_encoding(v)
        if need > a.itemsize:
            wider = array(_TYPECODE[need], a)
            if v < 0:
                wider.insert(0, v)
            else:
                wider.append(v)
            self._a = wider
            return True
        n = len(a)
        if n == 0 or v > a[n - 1]:
            a.append(v)
            return True
        if v < a[0]:
            a.insert(0, v)
            return True
        i = bisect_left(a, v)
        if a[i] == v:
            return False
        a.insert(i, v)
        return True

    def remove(self, v: int) -> bool:
        """Delete ``v``; returns False if absent.  Never narrows the encoding."""
        a = self._a
        if type(v) is not int or not value_encoding_fits(v, a.itemsize):
            return False
        i = bisect_left(a, v)
        if i < len(a) and a[i] == v:
            del a[i]
            return True
        return False

    discard = remove

    def pop_random(self) -> int:
        """Remove and return a random member (SPOP on an intset)."""
        a = self._a
        if not a:
            raise IndexError("pop from empty intset")
        i = _random.randrange(len(a))
        v = a[i]
        del a[i]
        return v


def value_encoding_fits(v: int, width: int) -> bool:
    """True if ``v`` fits in ``width`` bytes (False also for values beyond
    int64, so lookups of huge ints simply miss)."""
    if width == 2:
        return INT16_MIN <= v <= INT16_MAX
    if width == 4:
        return INT32_MIN <= v <= INT32_MAX
    return INT64_MIN <= v <= INT64_MAX
