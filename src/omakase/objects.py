"""Value objects: how a value sits in the keyspace, its encoding, its LRU/LFU.

Redis's ``robj`` header carries a type, an encoding, a refcount and 24 bits of
LRU/LFU clock for every value (``object.c``).  A Python object per value costs
about 48 bytes more per key (see PERFORMANCE.md), which would be a third of
Redis's whole per-key cost, so omakase stores the common case, a string, as a
plain ``bytes`` object whose last three bytes are that 24-bit field:

    stored = body + lru24.to_bytes(3, "little")

The three bytes usually fit in the allocator's rounding slack (a 32-byte value
takes the same 80-byte block with or without them), so LRU/LFU metadata costs
nothing.  ``string_body(v)`` strips them.  A read refreshes them only when the
clock has moved (Redis's LRU clock has one-second resolution), which is an
``endswith`` test, not an allocation.

Every other value is an instance of a class with ``__slots__`` and an ``lru``
slot holding the same 24-bit field as an int, and class attributes
``type_name`` (TYPE's answer) and ``encoding`` (OBJECT ENCODING's answer, a
property where it depends on content).  ``RawString`` holds strings that were
modified in place (APPEND, SETRANGE, SETBIT): a ``bytearray`` that grows
amortised, which is exactly Redis's ``raw`` encoding with sds spare capacity.

The 24-bit field means, as in Redis, either the LRU clock in seconds (mod
2**24) or, under an LFU policy, 16 bits of minutes (mod 2**16) and an 8-bit
logarithmic counter.

Encodings reported for plain bytes follow ``tryObjectEncoding``: ``int`` when
the body is a canonical 64-bit integer of at most 20 characters, ``embstr`` up
to 44 bytes, ``raw`` above.
DIVERGENCE: Redis stores INCRBYFLOAT's integral results ("3") as embstr; here
any canonical integer string stored as bytes reports ``int``.
"""
from __future__ import annotations

from omakase.util import parse_ll

TRAILER = 3
EMBSTR_SIZE_LIMIT = 44
LRU_CLOCK_MAX = (1 << 24) - 1
OBJ_SHARED_INTEGERS = 10000
SHARED_REFCOUNT = 2147483647


def lru_trailer(clock: int) -> bytes:
    return clock.to_bytes(3, "little")


def string_body(v: bytes) -> bytes:
    return v[:-3]


def stored_lru(v) -> int:
    if v.__class__ is bytes:
        return int.from_bytes(v[-3:], "little")
    return v.lru


def with_lru(v, clock: int):
    """The value with its LRU/LFU field set (a new bytes for strings)."""
    if v.__class__ is bytes:
        return v[:-3] + clock.to_bytes(3, "little")
    v.lru = clock
    return v


class RawString:
    """A string modified in place (APPEND/SETRANGE/SETBIT): encoding raw."""
    __slots__ = ("buf", "lru")
    type_name = "string"
    encoding = "raw"

    def __init__(self, buf: bytearray, lru: int) -> None:
        self.buf = buf
        self.lru = lru


def is_string(v) -> bool:
    return v.__class__ is bytes or v.__class__ is RawString


def string_value(v) -> bytes:
    """The string content of a stored string value (either form)."""
    if v.__class__ is bytes:
        return v[:-3]
    return bytes(v.buf)


def string_len(v) -> int:
    if v.__class__ is bytes:
        return len(v) - 3
    return len(v.buf)


def type_name(v) -> str:
    if v.__class__ is bytes:
        return "string"
    return v.type_name


def encoding_name(v) -> str:
    if v.__class__ is bytes:
        n = len(v) - 3
        if n <= 20 and parse_ll(v[:-3])[0]:
            return "int"
        return "embstr" if n <= EMBSTR_SIZE_LIMIT else "raw"
    return v.encoding


def is_shared_integer(v, policy_uses_lru_or_lfu: bool) -> bool:
    """Redis shares the integers 0..9999 unless maxmemory uses LRU/LFU."""
    if v.__class__ is not bytes or policy_uses_lru_or_lfu or len(v) > 3 + 4:
        return False
    ok, n = parse_ll(v[:-3])
    return ok and 0 <= n < OBJ_SHARED_INTEGERS
