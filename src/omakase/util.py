"""Number parsing and formatting, glob matching: Redis's ``util.c`` in Python.

Redis is strict about what counts as a number, and clients can see it: "+1",
" 1", "01" and "-0" are not integers for ``string2ll``; doubles print with
``%.17g`` and integral doubles print without a fraction.  Every command that
reads or writes a number goes through these helpers, so the rules live in one
place.

The same goes for the small argument rules several types share: an option
word as ``strcasecmp`` compares it (``cstr_lower``), and the two ways Redis
turns a ``start end`` pair with negative indexes into positions:
``index_span`` (LRANGE, LTRIM, ZRANGE by rank: nothing selected is None) and
``clamp_range`` (GETRANGE, BITCOUNT, BITPOS: both ends clamped, the caller
checks ``start > end``).  The encodings (quicklist, skiplist) keep their own
copies of the first rule: they import nothing from the server.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Callable

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1


def parse_ll(s: bytes) -> tuple[bool, int]:
    """Redis's string2ll: canonical decimal, 64-bit signed range."""
    if not s or len(s) > 20:
        return False, 0
    try:
        v = int(s)
    except ValueError:
        return False, 0
    if b"%d" % v != s or v < LLONG_MIN or v > LLONG_MAX:
        return False, 0
    return True, v


def parse_double(s: bytes) -> float | None:
    """Redis's string2ld/strtod rules as used by getDoubleFromObject:
    no leading/trailing space, no NaN; "inf"/"-inf" accepted."""
    if not s or len(s) > 5000 or s[0] in b" \t\n\r\v\f" or s[-1] in b" \t\n\r\v\f":
        return None
    if b"_" in s:
        return None
    try:
        v = float(s)
    except ValueError:
        # strtod accepts hex floats
        try:
            v = float.fromhex(s.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            return None
    if math.isnan(v):
        return None
    return v


def format_double(d: float) -> bytes:
    """``%.17g`` as Redis's addReplyDouble/d2string print a double."""
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    if d == int(d) and abs(d) < 1e17:
        return b"%d" % int(d) if d != 0 or math.copysign(1, d) > 0 else b"-0"
    return b"%.17g" % d


def format_long_double(d: float) -> bytes:
    """INCRBYFLOAT's output: ``%.17Lf`` then trailing zeros removed
    (long double in Redis; a Python float here, see DIVERGENCE note in
    types/string.py)."""
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    s = b"%.17f" % d
    if b"." in s:
        s = s.rstrip(b"0").rstrip(b".")
    if s == b"-0":
        s = b"0"
    return s


def cstr_lower(a: bytes) -> bytes:
    """An option as strcasecmp sees it: cut at the first NUL, lower-cased."""
    i = a.find(b"\0")
    return (a if i < 0 else a[:i]).lower()


def index_span(start: int, end: int, length: int) -> tuple[int, int] | None:
    """An inclusive index range (LRANGE/LTRIM/ZRANGE ranks), negative indexes
    counted from the end and clamped; None when it selects nothing."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if start > end or start >= length:
        return None
    return start, min(end, length - 1)


def clamp_range(start: int, end: int, length: int) -> tuple[int, int]:
    """GETRANGE / BITCOUNT / BITPOS's range: negative indexes counted from
    the end, then both ends clamped into ``0..length-1`` (``end`` is -1 for
    an empty string); the range is empty when ``start > end``."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= length:
        end = length - 1
    return start, end


@lru_cache(maxsize=1024)
def _glob_regex(pattern: bytes, nocase: bool) -> re.Pattern[bytes]:
    out = bytearray()
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 42:  # *
            out += b".*"
        elif c == 63:  # ?
            out += b"."
        elif c == 91:  # [
            i += 1
            negate = i < n and pattern[i] == 94
            if negate:
                i += 1
            items = bytearray()
            while i < n and pattern[i] != 93:
                if pattern[i] == 92 and i + 1 < n:
                    i += 1
                    items += re.escape(bytes([pattern[i]]))
                elif i + 2 < n and pattern[i + 1] == 45 and pattern[i + 2] != 93:
                    lo, hi = pattern[i], pattern[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    items += re.escape(bytes([lo])) + b"-" + re.escape(bytes([hi]))
                    i += 2
                else:
                    items += re.escape(bytes([pattern[i]]))
                i += 1
            if not items:
                out += b"[^\\x00-\\xff]" if not negate else b"[\\x00-\\xff]"
            else:
                out += b"[" + (b"^" if negate else b"") + bytes(items) + b"]"
        elif c == 92 and i + 1 < n:  # backslash escape
            i += 1
            out += re.escape(bytes([pattern[i]]))
        else:
            out += re.escape(bytes([c]))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    return re.compile(bytes(out), flags)


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Redis's stringmatchlen."""
    return bool(glob_matcher(pattern, nocase)(string))


def glob_matcher(pattern: bytes, nocase: bool = False) -> Callable[[bytes], Any]:
    """``glob_match`` with the pattern bound: a callable whose result is
    truthy for a matching string, for filtering many strings in C
    (``list(filter(glob_matcher(p), strings))``)."""
    if pattern == b"*":
        return _always
    return _glob_regex(pattern, nocase).fullmatch


def _always(string: bytes) -> bool:
    return True
