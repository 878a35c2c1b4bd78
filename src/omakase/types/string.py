"""Strings: the string type API and every string command (Redis's ``t_string.c``).

How a string is stored
----------------------
A string value is either a plain ``bytes`` (body + the 3-byte LRU/LFU trailer,
see ``objects``) or an ``objects.RawString`` (a ``bytearray`` plus an ``lru``
int).  Which form a command produces is what OBJECT ENCODING reports, so the
choice follows Redis's ``tryObjectEncoding`` / ``dbUnshareStringValue``:

* SET, SETNX, SETEX, PSETEX, GETSET, MSET, MSETNX, APPEND on a missing key,
  INCR* and INCRBYFLOAT store plain bytes: ``int`` when the body is a canonical
  64-bit integer, ``embstr`` up to 44 bytes, ``raw`` above;
* APPEND to an existing key and SETRANGE (even on a new key: Redis builds it
  with ``createObject(OBJ_STRING, sdsnewlen(...))``) store a ``RawString``,
  modified in place afterwards: ``bytearray +=`` gives the amortised growth
  of ``sdscatlen``, so appending n bytes k times costs O(n*k), not O(n*k^2).

A stored value never reaches a client as is: replies are built from
``v[:-3]`` (bytes) or a copy of ``v.buf`` (RawString; a live bytearray must not
sit in an output buffer while a later APPEND changes it).

The command shape
-----------------
Every command follows Redis's: validate all arguments, look the key up
(``lookup`` for reads, ``lookup_write`` for writes: lazy expiry happens
there), type check (WRONGTYPE for anything that is not a string), change the
keyspace, then ``signal_modified_key`` (``set_key`` does it itself),
``server.notify`` with Redis's event name, ``server.dirty += 1`` per change,
and the reply.  When Redis rewrites the command for AOF/replicas
(``rewriteClientCommandVector``) the handler sets ``c.rewritten_argv``:

* SET/SETEX/PSETEX with EX/PX/EXAT -> ``SET key value PXAT <abs-ms>``
  (PXAT is propagated as sent); SET ... GET without expire -> without GET;
* GETEX -> ``PEXPIREAT key <abs-ms>``, ``PERSIST key``, or ``DEL``/``UNLINK``
  when EXAT/PXAT is already in the past;
* GETDEL -> ``DEL``/``UNLINK`` (lazyfree-lazy-user-del); GETSET -> ``SET``;
* INCRBYFLOAT -> ``SET key <new value> KEEPTTL``.

Hot path
--------
GET, SET, INCR, MGET and MSET are what benchmarks measure.  SET with exactly
three arguments skips option parsing; GET is one lookup and one reply append
(for a bulk below 1 KiB it appends the pre-encoded header + body + CRLF
itself: bulk strings are the same in RESP2 and RESP3, and concatenation is
cheaper than ``%`` formatting; a large body is passed as a memoryview, not
copied); INCR/DECR parse the stored body inline instead of through ``parse_ll``,
and a small counter (-100..999) is one lookup in ``_SMALL_COUNTERS``.  A write
of a key only pays for lazy expiry (``lookupKeyWrite`` inside Redis's
``setKey``) when the database has keys with a TTL at all.

GET, SET (no options), MSET and INCR inline the hot case of the keyspace
calls they make (``Db.lookup``, ``Db.set_key``, ``Db.add``/``overwrite``,
``signal_modified_key``, ``server.notify``) when the state makes the
omitted work a no-op: the key table is not rehashing and no resize can
come due (else ``HashTable.set``/``add`` do it), no key has a TTL (else
the real lookups, with lazy expiry), no lazy free of overwritten values,
no client blocked on a key, and (GET/INCR) no LFU policy, whose touch
draws a random number.  WATCH and tracking hooks are still called when
set, and so is the notify hook (None while notify-keyspace-events enables
nothing, see ``notify.install``).  INCR skips the LRU touch of a value it
replaces; its error
paths, which keep the value, make the real lookup.  ``mset_command`` carries
its own copy of that hot case before falling back to ``_mset_generic``.  Keep these in step with
``keyspace.Db``.

INCRBYFLOAT and long double
---------------------------
Redis adds in C ``long double`` (x87 80-bit extended: 64-bit mantissa) and
prints with ``%.17Lf``.  A Python float would differ in the last digits
(``INCRBYFLOAT k 0.1`` on "10.5" and friends) and overflow at 1.8e308 where
Redis goes on to 1.19e4932.  So this module emulates the extended type
exactly with integers (a value is m * 2**q): ``strtold`` is a correctly rounded
(round-half-even) conversion to 64 mantissa bits, an addition is the exact
sum rounded the same way, and ``%.17Lf`` is the exact value rounded
half-even to 17 decimals (glibc's printf is exact).  Checked against a C
program using strtold/printf on 20,000 random and edge-case inputs
(overflow to 1.19e4932, subnormals, hex floats, ties at the 17th decimal).
It costs a few microseconds, which does not matter for this command; short
inputs (increments repeat) are parsed once and cached.  HINCRBYFLOAT does the
same arithmetic in Redis: ``incr_by_float`` is meant to be shared.

LCS
---
Redis fills the whole (alen+1)x(blen+1) dynamic-programming table and walks
it back.  In Python that is ~10^7 interpreted steps for two 3 KB strings, so
here each row of the table is one big integer, computed with the
bit-parallel recurrence of Allison-Dix/Hyyrö (``V' = (V + U) | (V - U)`` with
``U = V & match_mask[a_i]``): bit j of row i is 0 exactly when
``LCS(i, j+1) = LCS(i, j) + 1``, so any cell is a popcount.  The walk back,
the ranges it emits (IDX, MINMATCHLEN, WITHMATCHLEN) and the tie-breaking are
Redis's, step for step, so the replies are identical.

DIVERGENCE: none intended.  Known: INCRBYFLOAT's integral results are stored
as bytes and so report ``int`` where Redis says ``embstr`` (see ``objects``).
"""
from __future__ import annotations

import re

from omakase import replies
from omakase.commands.registry import command
from omakase.hashtable import BUCKET_LOAD
from omakase.keyspace import stored_string_mutable
from omakase.networking import ClientFlag
from omakase.notify import NOTIFY_GENERIC, NOTIFY_STRING
from omakase.objects import RawString
from omakase.replies import BULK_HDR, CRLF, WRONGTYPE
from omakase.util import LLONG_MAX, LLONG_MIN, clamp_range, cstr_lower, parse_ll



# Flags of parseExtendedStringArgumentsOrReply (server.h OBJ_*).
OBJ_SET_NX = 1 << 0
OBJ_SET_XX = 1 << 1
OBJ_EX = 1 << 2
OBJ_PX = 1 << 3
OBJ_KEEPTTL = 1 << 4
OBJ_SET_GET = 1 << 5
OBJ_EXAT = 1 << 6
OBJ_PXAT = 1 << 7
OBJ_PERSIST = 1 << 8

UNIT_SECONDS = 0
UNIT_MILLISECONDS = 1

COMMAND_GET = 0
COMMAND_SET = 1

_ANY_EXPIRE = OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT
_LLONG_MAX_DIV_1000 = LLONG_MAX // 1000
_EMPTY_BULK = replies.EMPTY_BULK
_OK = replies.OK
_CZERO = replies.CZERO
_CONE = replies.CONE
_INTEGERS = replies.INTEGERS

# Error strings of this file (shared ones are in replies.py).
ERR_OFFSET_RANGE = "offset is out of range"
ERR_DECR_OVERFLOW = "decrement would overflow"
ERR_NAN_INF = replies.NAN_OR_INFINITY
ERR_LCS_TYPE = "The specified keys must contain string values"
ERR_LCS_IDX_LEN = "If you want both the length and indexes, please just use IDX."
ERR_LCS_TOO_LONG = "String too long for LCS"
ERR_LCS_MEMORY = ("Insufficient memory, transient memory for LCS exceeds "
                  "proto-max-bulk-len")


# ---------------------------------------------------------------------------
# String type API
# ---------------------------------------------------------------------------
def string_body(v) -> bytes:
    """The content of a stored string (a copy for RawString)."""
    if v.__class__ is bytes:
        return v[:-3]
    return bytes(v.buf)


def string_length(v) -> int:
    if v.__class__ is bytes:
        return len(v) - 3
    return len(v.buf)


def is_string(v) -> bool:
    return v.__class__ is bytes or v.__class__ is RawString


def new_lru(server) -> int:
    return int.from_bytes(server.new_object_trailer, "little")


def unshare_string(db, key: bytes, v) -> RawString:
    """dbUnshareStringValue: the key's value in its in-place (raw) form."""
    if v.__class__ is RawString:
        return v
    rs = stored_string_mutable(v, db.server)
    db.overwrite(key, rs)
    return rs


def must_obey_client(c) -> bool:
    """mustObeyClient: the master and the AOF loader skip size limits."""
    return bool(c.flags & ClientFlag.MASTER) or (
        bool(c.flags & ClientFlag.FAKE) and c.server.loading)


def check_string_length(c, size: int, append: int) -> bool:
    """checkStringLength: False (and an error reply) if the result would
    exceed proto-max-bulk-len."""
    if must_obey_client(c):
        return True
    if size + append > c.server.config.proto_max_bulk_len:
        c.add_reply_error(replies.STRING_TOO_LONG)
        return False
    return True


def parse_extended_string_args(c, argv: list[bytes], command_type: int):
    """parseExtendedStringArgumentsOrReply for SET (from argv[3]) and GETEX
    (from argv[2]).  Returns (flags, unit, expire_arg) or None after an
    error reply.  A repeated option is accepted (the last value wins);
    conflicting ones are a syntax error, as in Redis."""
    flags = 0
    unit = UNIT_SECONDS
    expire = None
    is_set = command_type == COMMAND_SET
    j = 3 if is_set else 2
    argc = len(argv)
    while j < argc:
        opt = cstr_lower(argv[j])
        has_next = j < argc - 1
        if opt == b"nx" and is_set and not flags & OBJ_SET_XX:
            flags |= OBJ_SET_NX
        elif opt == b"xx" and is_set and not flags & OBJ_SET_NX:
            flags |= OBJ_SET_XX
        elif opt == b"get" and is_set:
            flags |= OBJ_SET_GET
        elif opt == b"keepttl" and is_set and not flags & (OBJ_PERSIST | _ANY_EXPIRE):
            flags |= OBJ_KEEPTTL
        elif opt == b"persist" and not is_set and not flags & (_ANY_EXPIRE | OBJ_KEEPTTL):
            flags |= OBJ_PERSIST
        elif (opt == b"ex" and has_next and not flags & (
                OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EXAT | OBJ_PX | OBJ_PXAT)):
            flags |= OBJ_EX
            expire = argv[j + 1]
            j += 1
        elif (opt == b"px" and has_next and not flags & (
                OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_EXAT | OBJ_PXAT)):
            flags |= OBJ_PX
            unit = UNIT_MILLISECONDS
            expire = argv[j + 1]
            j += 1
        elif (opt == b"exat" and has_next and not flags & (
                OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_PX | OBJ_PXAT)):
            flags |= OBJ_EXAT
            expire = argv[j + 1]
            j += 1
        elif (opt == b"pxat" and has_next and not flags & (
                OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_EXAT | OBJ_PX)):
            flags |= OBJ_PXAT
            unit = UNIT_MILLISECONDS
            expire = argv[j + 1]
            j += 1
        else:
            c.add_reply_error(replies.SYNTAX)
            return None
        j += 1
    return flags, unit, expire


def expire_ms_or_reply(c, expire: bytes, flags: int, unit: int) -> int | None:
    """getExpireMillisecondsOrReply: the absolute unix time in ms, or None
    after an error reply (not an integer, <= 0, or overflowing)."""
    ok, ms = parse_ll(expire)
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return None
    if ms <= 0 or (unit == UNIT_SECONDS and ms > _LLONG_MAX_DIV_1000):
        c.add_reply_error(replies.INVALID_EXPIRE % c.cmd.fullname)
        return None
    if unit == UNIT_SECONDS:
        ms *= 1000
    if flags & (OBJ_PX | OBJ_EX):
        ms += c.server.expire_now_ms()
        if ms > LLONG_MAX:  # C would wrap to a negative number
            c.add_reply_error(replies.INVALID_EXPIRE % c.cmd.fullname)
            return None
    return ms


def get_generic(c, key: bytes) -> bool:
    """getGenericCommand: reply the value (or null); False on WRONGTYPE."""
    v = c.db.lookup(key)
    if v is None:
        c.add_reply_null()
    elif v.__class__ is bytes:
        c.add_reply_bulk(v[:-3])
    elif v.__class__ is RawString:
        c.add_reply_bulk(bytes(v.buf))
    else:
        c.add_reply_error(WRONGTYPE)
        return False
    return True


def set_generic(c, flags: int, key: bytes, val: bytes, expire: bytes | None,
                unit: int, ok_reply: bytes | None, abort_reply: bytes | None) -> None:
    """setGenericCommand: SET with options, SETNX, SETEX, PSETEX."""
    when = 0
    if expire is not None:
        when = expire_ms_or_reply(c, expire, flags, unit)
        if when is None:
            return
    if flags & OBJ_SET_GET:
        if not get_generic(c, key):
            return
    db = c.db
    found = db.lookup_write(key) is not None
    if (flags & OBJ_SET_NX and found) or (flags & OBJ_SET_XX and not found):
        if not flags & OBJ_SET_GET:
            if abort_reply is not None:
                c.add_reply(abort_reply)
            else:
                c.add_reply_null()
        return
    server = c.server
    db.set_key(key, val + server.new_object_trailer, bool(flags & OBJ_KEEPTTL))
    server.dirty += 1
    server.notify(NOTIFY_STRING, "set", key, db.id)
    if expire is not None:
        db.set_expire(key, when)
        if not flags & OBJ_PXAT:
            c.rewritten_argv = [b"SET", key, val, b"PXAT", b"%d" % when]
        server.notify(NOTIFY_GENERIC, "expire", key, db.id)
    if not flags & OBJ_SET_GET:
        c.add_reply(ok_reply if ok_reply is not None else _OK)
    elif expire is None:
        # Propagate without GET (it may be repeated); argv[0..2] stay.
        argv = c.argv
        c.rewritten_argv = argv[:3] + [a for a in argv[3:] if cstr_lower(a) != b"get"]


# ---------------------------------------------------------------------------
# long double emulation for INCRBYFLOAT (see the module docstring)
#
# A finite long double is a pair (m, q) of ints meaning m * 2**q exactly
# (m signed, |m| < 2**64 after rounding); INF is the overflow sentinel.  Only
# integer shifts, products and one division per rounding: no gcd, no floats.
# ---------------------------------------------------------------------------
MAX_LONG_DOUBLE_CHARS = 5 * 1024
_LD_MANT_BITS = 64
_LD_MIN_EXP = -16382                       # smallest normal: 2**-16382
_LD_MIN_QUANTUM = _LD_MIN_EXP - (_LD_MANT_BITS - 1)   # subnormal step 2**-16445
_LD_MAX_BITS = 16384                       # values >= 2**16384 are inf

_DEC_RE = re.compile(rb"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_HEX_RE = re.compile(rb"([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))"
                     rb"(?:[pP]([+-]?[0-9]+))?")
_INF_RE = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_SPACES = b" \t\n\v\f\r"
_LD_ZERO = (0, 0)
_POW10_17 = 10 ** 17

INF = "inf"          # sentinel: an infinite long double (never stored)

_CHUNK = 4000                   # below CPython's int<->str digit limit
_CHUNK_POW = 10 ** _CHUNK


def _big_int(digits: bytes) -> int:
    """int(digits) for strings longer than CPython's conversion limit."""
    if len(digits) <= _CHUNK:
        return int(digits)
    n = 0
    for i in range(0, len(digits), _CHUNK):
        part = digits[i:i + _CHUNK]
        n = n * 10 ** len(part) + int(part)
    return n


def _big_str(n: int) -> bytes:
    """b"%d" % n (n >= 0) for numbers longer than the conversion limit."""
    if n < _CHUNK_POW:
        return b"%d" % n
    parts = []
    while n >= _CHUNK_POW:
        n, r = divmod(n, _CHUNK_POW)
        parts.append(b"%0*d" % (_CHUNK, r))
    parts.append(b"%d" % n)
    return b"".join(reversed(parts))


def _round_half_even(num: int, den: int) -> int:
    """num / den rounded to the nearest int, ties to even (num, den >= 0)."""
    q, r = divmod(num, den)
    r2 = 2 * r
    if r2 > den or (r2 == den and q & 1):
        q += 1
    return q


def _shift_round(n: int, shift: int) -> int:
    """n / 2**shift rounded half-even (n >= 0, shift > 0)."""
    q = n >> shift
    r = n - (q << shift)
    half = 1 << (shift - 1)
    if r > half or (r == half and q & 1):
        q += 1
    return q


def _ld_finish(neg: bool, m: int, q: int):
    if m.bit_length() + q > _LD_MAX_BITS:
        return INF
    return (-m if neg else m, q)


def ld_from_binary(n: int, q: int):
    """The long double nearest to n * 2**q (round half even)."""
    if n == 0:
        return _LD_ZERO
    neg = n < 0
    if neg:
        n = -n
    e = n.bit_length() - 1 + q                  # n * 2**q is in [2**e, 2**(e+1))
    qt = e - (_LD_MANT_BITS - 1)
    if qt < _LD_MIN_QUANTUM:
        qt = _LD_MIN_QUANTUM
    if qt <= q:
        return _ld_finish(neg, n, q)            # exact already
    return _ld_finish(neg, _shift_round(n, qt - q), qt)


def ld_from_ratio(num: int, den: int):
    """The long double nearest to num / den (den > 0)."""
    if num == 0:
        return _LD_ZERO
    neg = num < 0
    if neg:
        num = -num
    e = num.bit_length() - den.bit_length()     # floor(log2(num/den)) or one more
    if e >= 0:
        if num < den << e:
            e -= 1
    elif num << -e < den:
        e -= 1
    qt = e - (_LD_MANT_BITS - 1)
    if qt < _LD_MIN_QUANTUM:
        qt = _LD_MIN_QUANTUM
    if qt >= 0:
        m = _round_half_even(num, den << qt)
    else:
        m = _round_half_even(num << -qt, den)
    return _ld_finish(neg, m, qt)


def ld_add(a, b):
    """IEEE addition: the exact sum, rounded once."""
    m1, q1 = a
    m2, q2 = b
    if q1 < q2:
        return ld_from_binary(m1 + (m2 << (q2 - q1)), q1)
    return ld_from_binary((m1 << (q1 - q2)) + m2, q2)


_strtold_cache: dict[bytes, object] = {}


def strtold(s: bytes):
    """string2ld with a small cache for short strings (increments repeat)."""
    if len(s) > 24:
        return _strtold(s)
    v = _strtold_cache.get(s, _strtold_cache)
    if v is _strtold_cache:
        if len(_strtold_cache) >= 4096:
            _strtold_cache.clear()
        v = _strtold_cache[s] = _strtold(s)
    return v


def _strtold(s: bytes):
    """Redis's string2ld: a long double (m, q), ('inf', sign) for a literal
    infinity, or None when the string is not a valid float for Redis
    (empty, too long, spaces, trailing garbage, NaN, overflow, underflow to
    zero)."""
    if not s or len(s) >= MAX_LONG_DOUBLE_CHARS:
        return None
    if b"\0" in s:       # strtold would stop there: not all consumed
        return None
    if s[0] in _SPACES:
        return None
    m = _DEC_RE.fullmatch(s)
    if m is not None:
        sign, ipart, fpart, fonly, exp = m.groups()
        frac = fpart or fonly or b""
        digits = (ipart or b"") + frac
        exp10 = int(exp) if exp else 0
        stripped = digits.lstrip(b"0")
        if not stripped:
            return _LD_ZERO
        # Magnitude guard before exact arithmetic: 10**(mag-1) <= |x| < 10**mag.
        mag = len(stripped) - len(frac) + exp10
        if mag > 4934 or mag < -4952:
            return None     # ERANGE: HUGE_VAL or a zero result
        mant = _big_int(stripped)
        if sign == b"-":
            mant = -mant
        p = exp10 - len(frac)
        v = ld_from_ratio(mant * 10 ** p, 1) if p >= 0 else ld_from_ratio(mant, 10 ** -p)
    else:
        m = _HEX_RE.fullmatch(s)
        if m is None:
            if _INF_RE.fullmatch(s):
                return (INF, -1 if s[:1] == b"-" else 1)
            return None     # includes NaN, which Redis rejects
        sign, ipart, fpart, fonly, exp = m.groups()
        frac = fpart or fonly or b""
        mant = int((ipart or b"") + frac, 16)
        if mant == 0:
            return _LD_ZERO
        exp2 = (int(exp) if exp else 0) - 4 * len(frac)
        mag = mant.bit_length() + exp2
        if mag > _LD_MAX_BITS + 1 or mag < _LD_MIN_QUANTUM - 2:
            return None
        if sign == b"-":
            mant = -mant
        v = ld_from_binary(mant, exp2)
    if v is INF or v[0] == 0:
        return None         # ERANGE with HUGE_VAL or with a zero result
    return v


def ld_to_string(v) -> bytes:
    """ld2string(LD_STR_HUMAN): ``%.17Lf``, trailing zeros (and a bare dot)
    removed, "-0" printed as "0"."""
    m, q = v
    neg = m < 0
    if neg:
        m = -m
    if q >= 0:
        ipart, fpart = m << q, 0
    else:
        ipart, fpart = divmod(_shift_round(m * _POW10_17, -q), _POW10_17)
    if fpart:
        s = b"%s%s.%017d" % (b"-" if neg else b"", _big_str(ipart), fpart)
        s = s.rstrip(b"0")
    else:
        s = b"%s%s" % (b"-" if neg else b"", _big_str(ipart))
        if s == b"-0":
            s = b"0"
    if len(s) + 1 > MAX_LONG_DOUBLE_CHARS:
        return b""          # ld2string's "no room" case (unreachable in range)
    return s


def incr_by_float(value: bytes | None, incr: bytes):
    """The new value of INCRBYFLOAT as bytes, or an error string."""
    if value is None:
        cur = _LD_ZERO
    else:
        cur = strtold(value)
        if cur is None:
            return replies.NOT_FLOAT
    inc = strtold(incr)
    if inc is None:
        return replies.NOT_FLOAT
    if cur[0] is INF or inc[0] is INF:
        # inf + x is inf, inf - inf is NaN: both refused.
        return ERR_NAN_INF
    total = ld_add(cur, inc)
    if total is INF:
        return ERR_NAN_INF
    return ld_to_string(total)


# ---------------------------------------------------------------------------
# LCS (see the module docstring for the bit-parallel table)
# ---------------------------------------------------------------------------
def _lcs_rows(a: bytes, b: bytes, keep_rows: bool):
    """Bit-parallel LCS rows.  rows[i] has bit j clear iff
    LCS(a[:i], b[:j+1]) == LCS(a[:i], b[:j]) + 1."""
    blen = len(b)
    full = (1 << blen) - 1
    masks: dict[int, int] = {}
    if blen:
        rb = b[::-1]
        for ch in set(b):
            table = bytearray(b"0" * 256)
            table[ch] = 0x31
            masks[ch] = int(rb.translate(bytes(table)), 2)
    v = full
    rows = [v] if keep_rows else None
    get = masks.get
    for ch in a:
        u = v & get(ch, 0)
        v = ((v + u) | (v - u)) & full
        if keep_rows:
            rows.append(v)
    return v, rows


def lcs_reply(c, a: bytes, b: bytes, getidx: bool, getlen: bool,
              withmatchlen: bool, minmatchlen: int) -> None:
    alen, blen = len(a), len(b)
    computelcs = getidx or not getlen
    last, rows = _lcs_rows(a, b, computelcs)
    total = blen - last.bit_count()
    if not computelcs:
        c.add_reply_int(total)
        return

    def cell(i: int, j: int) -> int:
        return j - (rows[i] & ((1 << j) - 1)).bit_count()

    result = bytearray(total)
    idx = total
    out = []                      # emitted ranges when IDX
    arange_start = alen           # alen means "no range being tracked"
    arange_end = brange_start = brange_end = 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit_range = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if arange_start == alen:
                arange_start = arange_end = i - 1
                brange_start = brange_end = j - 1
            elif arange_start == i and brange_start == j:
                arange_start -= 1
                brange_start -= 1
            else:
                emit_range = True
            if arange_start == 0 or brange_start == 0:
                emit_range = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if cell(i - 1, j) > cell(i, j - 1):
                i -= 1
            else:
                j -= 1
            if arange_start != alen:
                emit_range = True
        if emit_range:
            match_len = (arange_end - arange_start + 1) & 0xFFFFFFFF
            if getidx and (minmatchlen == 0 or match_len >= minmatchlen):
                out.append((arange_start, arange_end, brange_start, brange_end, match_len))
            arange_start = alen
    if getidx:
        c.add_reply_map_len(2)
        c.add_reply_bulk(b"matches")
        c.add_reply_array_len(len(out))
        for a0, a1, b0, b1, mlen in out:
            c.add_reply_array_len(3 if withmatchlen else 2)
            c.add_reply_array_len(2)
            c.add_reply_int(a0)
            c.add_reply_int(a1)
            c.add_reply_array_len(2)
            c.add_reply_int(b0)
            c.add_reply_int(b1)
            if withmatchlen:
                c.add_reply_int(mlen)
        c.add_reply_bulk(b"len")
        c.add_reply_int(total)
    else:
        c.add_reply_bulk(bytes(result))


# ---------------------------------------------------------------------------
# String commands
# ---------------------------------------------------------------------------
@command("get")
def get_command(c, argv: list[bytes]) -> None:
    key = argv[1]
    db = c.db
    ht = db.keys
    server = c.server
    if ht.rehashidx < 0 and not db.expires.used and not server.lfu:
        # Db.lookup's hot case inlined (no rehash step, nothing can have
        # expired, LRU touch): hits/misses and the touch as it does them.
        b = ht.t0[hash(key) & ht.mask0]
        v = b.get(key)
        if v is None:
            server.stat_keyspace_misses += 1
            c.add_reply_null()
            return
        server.stat_keyspace_hits += 1
        if v.__class__ is bytes:
            if not server.no_touch and not v.endswith(server.lru_trailer):
                v = v[:-3] + server.lru_trailer
                b[key] = v
        elif not server.no_touch:
            v.lru = server.lru_clock
    else:
        v = db.lookup(key)
    if v.__class__ is bytes:
        # One reply append (bulk strings are the same in RESP2/3).
        if not c.reply_off:
            n = len(v) - 3
            if n < 1024:
                c.reply.append(BULK_HDR[n] + v[:-3] + CRLF)
            else:               # big: no copy of the body (bytes are immutable)
                c.add_reply_bulk(memoryview(v)[:-3])
    elif v is None:
        c.add_reply_null()
    elif v.__class__ is RawString:
        c.add_reply_bulk(bytes(v.buf))
    else:
        c.add_reply_error(WRONGTYPE)


@command("set")
def set_command(c, argv: list[bytes]) -> None:
    if len(argv) == 3:
        # Fast path: no options.
        db = c.db
        key = argv[1]
        expires = db.expires
        if expires.used:
            db.expire_if_needed(key)       # setKey's lookupKeyWrite
        server = c.server
        val = argv[2] + server.new_object_trailer
        if not server.lazyfree_server_del and not db.blocking_keys:
            # Db.set_key inlined when no value goes to lazy free and no
            # blocked client waits; the table's own set is inlined too when
            # no rehash step is due.
            ht = db.keys
            if ht.rehashidx < 0:
                t0 = ht.t0
                b = t0[hash(key) & ht.mask0]
                if key in b:
                    b[key] = val
                    if expires.used:
                        expires.pop(key)
                elif ht.used < len(t0) * BUCKET_LOAD:   # no resize due: plain insert
                    b[key] = val
                    ht.used += 1
                else:
                    ht.add(key, val)
            elif not ht.set(key, val) and expires.used:
                expires.pop(key)
            if db.watched_keys:
                server.touch_watched_key(db, key)
            if db.tracking_hook is not None:
                db.tracking_hook(key)
        else:
            db.set_key(key, val)
        server.dirty += 1
        hook = server.notify_hook          # None while no event is enabled
        if hook is not None:
            hook(NOTIFY_STRING, "set", key, db.id)
        if not c.reply_off:
            c.reply.append(_OK)
        return
    parsed = parse_extended_string_args(c, argv, COMMAND_SET)
    if parsed is None:
        return
    flags, unit, expire = parsed
    set_generic(c, flags, argv[1], argv[2], expire, unit, None, None)


@command("setnx")
def setnx_command(c, argv: list[bytes]) -> None:
    set_generic(c, OBJ_SET_NX, argv[1], argv[2], None, UNIT_SECONDS, _CONE, _CZERO)


@command("setex")
def setex_command(c, argv: list[bytes]) -> None:
    set_generic(c, OBJ_EX, argv[1], argv[3], argv[2], UNIT_SECONDS, None, None)


@command("psetex")
def psetex_command(c, argv: list[bytes]) -> None:
    set_generic(c, OBJ_PX, argv[1], argv[3], argv[2], UNIT_MILLISECONDS, None, None)


@command("getex")
def getex_command(c, argv: list[bytes]) -> None:
    parsed = parse_extended_string_args(c, argv, COMMAND_GET)
    if parsed is None:
        return
    flags, unit, expire = parsed
    key = argv[1]
    db = c.db
    v = db.lookup(key)
    if v is None:
        c.add_reply_null()
        return
    if not is_string(v):
        c.add_reply_error(WRONGTYPE)
        return
    when = 0
    if expire is not None:
        when = expire_ms_or_reply(c, expire, flags, unit)
        if when is None:
            return
    c.add_reply_bulk(string_body(v))
    server = c.server
    if (flags & (OBJ_PXAT | OBJ_EXAT) and when <= server.expire_now_ms()
            and not server.loading and not server.masterhost):
        # An absolute time already past: the key goes now.
        db.delete(key)
        lazy = server.config.lazyfree_lazy_expire
        c.rewritten_argv = [b"UNLINK" if lazy else b"DEL", key]
        db.signal_modified_key(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
        server.dirty += 1
    elif expire is not None:
        db.set_expire(key, when)
        c.rewritten_argv = [b"PEXPIREAT", key, b"%d" % when]
        db.signal_modified_key(key)
        server.notify(NOTIFY_GENERIC, "expire", key, db.id)
        server.dirty += 1
    elif flags & OBJ_PERSIST:
        if db.remove_expire(key):
            db.signal_modified_key(key)
            c.rewritten_argv = [b"PERSIST", key]
            server.notify(NOTIFY_GENERIC, "persist", key, db.id)
            server.dirty += 1


@command("getdel")
def getdel_command(c, argv: list[bytes]) -> None:
    key = argv[1]
    if not get_generic(c, key):
        return
    db = c.db
    if db.delete(key):
        server = c.server
        lazy = server.config.lazyfree_lazy_user_del
        c.rewritten_argv = [b"UNLINK" if lazy else b"DEL", key]
        db.signal_modified_key(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
        server.dirty += 1


@command("getset")
def getset_command(c, argv: list[bytes]) -> None:
    key = argv[1]
    if not get_generic(c, key):
        return
    db = c.db
    server = c.server
    db.set_key(key, argv[2] + server.new_object_trailer)
    server.notify(NOTIFY_STRING, "set", key, db.id)
    server.dirty += 1
    c.rewritten_argv = [b"SET", key, argv[2]]


@command("mget")
def mget_command(c, argv: list[bytes]) -> None:
    lookup = c.db.lookup
    out = []
    append = out.append
    nulls = False
    for key in argv[1:]:
        v = lookup(key)
        if v.__class__ is bytes:
            append(v[:-3])
        elif v.__class__ is RawString:
            append(bytes(v.buf))
        else:                           # missing or not a string: null
            append(None)
            nulls = True
    if nulls:
        c.add_reply_bulk_or_null_array(out)
    else:
        c.add_reply_bulks(out)


def _mset_generic(c, argv: list[bytes], nx: bool) -> None:
    argc = len(argv)
    if argc % 2 == 0:
        c.add_reply_error(replies.wrong_arity(c.cmd.fullname))
        return
    db = c.db
    server = c.server
    npairs = (argc - 1) >> 1
    ht = db.keys
    hook = server.notify_hook              # None while no event is enabled
    if (not nx and not db.expires.used and not server.lazyfree_server_del
            and not db.blocking_keys and not db.watched_keys and db.tracking_hook is None):
        # Hot case: Db.set_key inlined when there is nothing to expire,
        # lazily free, wake, invalidate or mark dirty for WATCH; the table's
        # own set is inlined too when neither a rehash step nor a resize can
        # come due with these keys.
        trailer = server.new_object_trailer
        dbid = db.id
        it = iter(argv)
        next(it)
        if ht.rehashidx < 0 and ht.used + npairs <= len(ht.t0) * BUCKET_LOAD:
            t0 = ht.t0
            mask = ht.mask0
            used = ht.used
            if hook is None:
                for key, val in zip(it, it):
                    b = t0[hash(key) & mask]
                    if key not in b:
                        used += 1
                    b[key] = val + trailer
            else:
                for key, val in zip(it, it):
                    b = t0[hash(key) & mask]
                    if key not in b:
                        used += 1
                    b[key] = val + trailer
                    hook(NOTIFY_STRING, "set", key, dbid)
            ht.used = used
        else:
            ht_set = ht.set
            for key, val in zip(it, it):
                ht_set(key, val + trailer)
                if hook is not None:
                    hook(NOTIFY_STRING, "set", key, dbid)
        server.dirty += npairs
        if not c.reply_off:
            c.reply.append(_OK)
        return
    if nx:
        lookup_write = db.lookup_write
        for j in range(1, argc, 2):
            if lookup_write(argv[j]) is not None:
                c.add_reply(_CZERO)
                return
    trailer = server.new_object_trailer
    set_key = db.set_key
    notify = server.notify
    dbid = db.id
    check_expired = db.expire_if_needed if db.expires.used and not nx else None
    for j in range(1, argc, 2):
        key = argv[j]
        if check_expired is not None:
            check_expired(key)
        set_key(key, argv[j + 1] + trailer)
        notify(NOTIFY_STRING, "set", key, dbid)
    server.dirty += npairs
    c.add_reply(_CONE if nx else _OK)


@command("mset")
def mset_command(c, argv: list[bytes]) -> None:
    db = c.db
    server = c.server
    ht = db.keys
    argc = len(argv)
    if (argc & 1 and ht.rehashidx < 0 and server.notify_hook is None
            and not db.expires.used and not server.lazyfree_server_del
            and not db.blocking_keys and not db.watched_keys and db.tracking_hook is None):
        npairs = argc >> 1
        used = ht.used
        t0 = ht.t0
        if used + npairs <= len(t0) * BUCKET_LOAD:
            # _mset_generic's hot case (see there) when no event is
            # enabled, inline.
            mask = ht.mask0
            trailer = server.new_object_trailer
            it = iter(argv)
            next(it)
            for key, val in zip(it, it):
                b = t0[hash(key) & mask]
                if key not in b:
                    used += 1
                b[key] = val + trailer
            ht.used = used
            server.dirty += npairs
            if not c.reply_off:
                c.reply.append(_OK)
            return
    _mset_generic(c, argv, False)


@command("msetnx")
def msetnx_command(c, argv: list[bytes]) -> None:
    _mset_generic(c, argv, True)


# The canonical bodies of -100..999 -> their value (~100 KB): what string2ll
# would return for them, without the checks and the parse.
_SMALL_COUNTERS = {b"%d" % i: i for i in range(-100, 1000)}


def _incr_decr(c, key: bytes, incr: int) -> None:
    """incrDecrCommand."""
    db = c.db
    ht = db.keys
    server = c.server
    b = None
    if ht.rehashidx < 0 and not db.expires.used and not server.lfu:
        # Db.lookup's hot case inlined (lookupKeyWrite: no stats).  Its LRU
        # touch is left out because the value is replaced below; the error
        # paths, which keep the value, make the real lookup (and touch).
        # (Under LFU the touch draws a random number: the real lookup.)
        b = ht.t0[hash(key) & ht.mask0]
        v = b.get(key)
    else:
        v = db.lookup(key, True, False)
    if v is None:
        value = 0
    else:
        if v.__class__ is bytes:
            body = v[:-3]
        elif v.__class__ is RawString:
            body = bytes(v.buf)
        else:
            if b is not None:
                db.lookup(key, True, False)
            c.add_reply_error(WRONGTYPE)
            return
        # string2ll: a small counter is one lookup; otherwise inline, a
        # canonical decimal (digits, no leading zero, "-" only before a
        # non-zero digit) within 64 bits.
        value = _SMALL_COUNTERS.get(body)
        if value is not None:
            ok = True
        else:
            n = len(body)
            if (0 < n <= 20 and (body.isdigit() and (n == 1 or body[0] != 48)
                                 or n > 1 and body[0] == 45 and body[1] != 48
                                 and body[1:].isdigit())):
                value = int(body)
                ok = n < 19 or LLONG_MIN <= value <= LLONG_MAX
            else:
                ok = False
        if not ok:
            if b is not None:
                db.lookup(key, True, False)
            c.add_reply_error(replies.NOT_INTEGER)
            return
    value += incr
    if value < LLONG_MIN or value > LLONG_MAX:
        if b is not None and v is not None:
            db.lookup(key, True, False)
        c.add_reply_error(replies.OVERFLOW)
        return
    new = b"%d" % value + server.new_object_trailer
    if b is not None and not db.blocking_keys and (
            v is not None and not server.lazyfree_server_del
            or v is None and ht.used < len(ht.t0) * BUCKET_LOAD):
        # dbAdd / dbOverwrite inlined: same bucket, no resize due, nothing
        # to free lazily, no blocked client to wake.
        if v is None:
            ht.used += 1
        b[key] = new
    elif v is None:
        db.add(key, new)
    else:
        db.overwrite(key, new)
    if db.watched_keys:
        server.touch_watched_key(db, key)
    if db.tracking_hook is not None:
        db.tracking_hook(key)
    hook = server.notify_hook              # None while no event is enabled
    if hook is not None:
        hook(NOTIFY_STRING, "incrby", key, db.id)
    server.dirty += 1
    if not c.reply_off:
        c.reply.append(_INTEGERS[value] if 0 <= value < 10000 else b":%d\r\n" % value)


@command("incr")
def incr_command(c, argv: list[bytes]) -> None:
    _incr_decr(c, argv[1], 1)


@command("decr")
def decr_command(c, argv: list[bytes]) -> None:
    _incr_decr(c, argv[1], -1)


@command("incrby")
def incrby_command(c, argv: list[bytes]) -> None:
    ok, incr = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    _incr_decr(c, argv[1], incr)


@command("decrby")
def decrby_command(c, argv: list[bytes]) -> None:
    ok, incr = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    if incr == LLONG_MIN:
        c.add_reply_error(ERR_DECR_OVERFLOW)
        return
    _incr_decr(c, argv[1], -incr)


@command("incrbyfloat")
def incrbyfloat_command(c, argv: list[bytes]) -> None:
    key = argv[1]
    db = c.db
    v = db.lookup_write(key)
    if v is not None and not is_string(v):
        c.add_reply_error(WRONGTYPE)
        return
    new = incr_by_float(None if v is None else string_body(v), argv[2])
    if new.__class__ is str:
        c.add_reply_error(new)
        return
    server = c.server
    stored = new + server.new_object_trailer
    if v is None:
        db.add(key, stored)
    else:
        db.overwrite(key, stored)
    db.signal_modified_key(key)
    server.notify(NOTIFY_STRING, "incrbyfloat", key, db.id)
    server.dirty += 1
    c.add_reply_bulk(new)
    # Propagated as SET with the final value, so replicas never redo the math.
    c.rewritten_argv = [b"SET", key, new, b"KEEPTTL"]


@command("append")
def append_command(c, argv: list[bytes]) -> None:
    key, val = argv[1], argv[2]
    db = c.db
    server = c.server
    v = db.lookup_write(key)
    if v is None:
        db.add(key, val + server.new_object_trailer)
        totlen = len(val)
    else:
        if not is_string(v):
            c.add_reply_error(WRONGTYPE)
            return
        if not check_string_length(c, string_length(v), len(val)):
            return
        rs = unshare_string(db, key, v)
        rs.buf += val
        totlen = len(rs.buf)
    db.signal_modified_key(key)
    server.notify(NOTIFY_STRING, "append", key, db.id)
    server.dirty += 1
    c.add_reply_int(totlen)


@command("strlen")
def strlen_command(c, argv: list[bytes]) -> None:
    v = c.db.lookup(argv[1])
    if v is None:
        c.add_reply(_CZERO)
    elif v.__class__ is bytes:
        c.add_reply_int(len(v) - 3)
    elif v.__class__ is RawString:
        c.add_reply_int(len(v.buf))
    else:
        c.add_reply_error(WRONGTYPE)


@command("getrange")
def getrange_command(c, argv: list[bytes]) -> None:
    ok1, start = parse_ll(argv[2])
    if not ok1:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    ok2, end = parse_ll(argv[3])
    if not ok2:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    v = c.db.lookup(argv[1])
    if v is None:
        c.add_reply(_EMPTY_BULK)
        return
    if v.__class__ is bytes:
        data = v
        strlen = len(v) - 3
    elif v.__class__ is RawString:
        data = v.buf
        strlen = len(data)
    else:
        c.add_reply_error(WRONGTYPE)
        return
    if start < 0 and end < 0 and start > end:
        c.add_reply(_EMPTY_BULK)
        return
    start, end = clamp_range(start, end, strlen)
    if start > end or strlen == 0:
        c.add_reply(_EMPTY_BULK)
        return
    if data.__class__ is bytes:
        c.add_reply_bulk(data[start:end + 1])
    else:
        c.add_reply_bulk(memoryview(data)[start:end + 1].tobytes())


command("substr")(getrange_command)


@command("setrange")
def setrange_command(c, argv: list[bytes]) -> None:
    key, value = argv[1], argv[3]
    ok, offset = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    if offset < 0:
        c.add_reply_error(ERR_OFFSET_RANGE)
        return
    db = c.db
    server = c.server
    vlen = len(value)
    v = db.lookup_write(key)
    if v is None:
        if vlen == 0:
            c.add_reply(_CZERO)
            return
        if not check_string_length(c, offset, vlen):
            return
        buf = bytearray(offset)
        buf += value
        rs = RawString(buf, new_lru(server))
        db.add(key, rs)
    else:
        if not is_string(v):
            c.add_reply_error(WRONGTYPE)
            return
        olen = string_length(v)
        if vlen == 0:
            c.add_reply_int(olen)
            return
        if not check_string_length(c, offset, vlen):
            return
        rs = unshare_string(db, key, v)
        buf = rs.buf
        if offset > len(buf):
            buf.extend(bytes(offset - len(buf)))
        buf[offset:offset + vlen] = value
    db.signal_modified_key(key)
    server.notify(NOTIFY_STRING, "setrange", key, db.id)
    server.dirty += 1
    c.add_reply_int(len(rs.buf))


@command("lcs")
def lcs_command(c, argv: list[bytes]) -> None:
    db = c.db
    oa = db.lookup(argv[1])
    ob = db.lookup(argv[2])
    if (oa is not None and not is_string(oa)) or (ob is not None and not is_string(ob)):
        c.add_reply_error(ERR_LCS_TYPE)
        return
    a = string_body(oa) if oa is not None else b""
    b = string_body(ob) if ob is not None else b""
    getidx = getlen = withmatchlen = False
    minmatchlen = 0
    j = 3
    argc = len(argv)
    while j < argc:
        opt = cstr_lower(argv[j])
        moreargs = argc - 1 - j
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and moreargs:
            ok, minmatchlen = parse_ll(argv[j + 1])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            if minmatchlen < 0:
                minmatchlen = 0
            j += 1
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    if getidx and getlen:
        c.add_reply_error(ERR_LCS_IDX_LEN)
        return
    if len(a) >= 0xFFFFFFFF - 1 or len(b) >= 0xFFFFFFFF - 1:
        c.add_reply_error(ERR_LCS_TOO_LONG)
        return
    if (len(a) + 1) * (len(b) + 1) * 4 > c.server.config.proto_max_bulk_len:
        c.add_reply_error(ERR_LCS_MEMORY)
        return
    lcs_reply(c, a, b, getidx, getlen, withmatchlen, minmatchlen)
