"""Sorted sets: the zset type API and every sorted-set command (Redis's ``t_zset.c``).

How a sorted set is stored
--------------------------
A zset value is a ``ZSetValue`` (``__slots__``: ``ptr``, ``lru``) whose
``ptr`` is one of Redis's two encodings, and OBJECT ENCODING says which:

* ``listpack``: an ``encodings.listpack.Listpack`` holding
  ``member, score, member, score, ...`` sorted by (score, member), exactly as
  the ``zzl*`` functions store them: members go through the listpack's own
  string/integer choice, scores that ``double2ll`` accepts are integer entries
  and the others are ``d2string`` text (``zset_score_entry``).  The blob is
  byte-identical to Redis's (checked against DUMP), so RDB can write
  ZSET_LISTPACK as is (``value.ptr.to_bytes()``).
* ``skiplist``: an ``encodings.skiplist.ZSet``: a dict member -> score, as
  Redis's, plus the (score, member) order.  DIVERGENCE: that order is kept
  in sorted buckets, not in a skiplist (measured cost; see the module
  docstring of ``encodings.skiplist``).  Replies, RDB/DUMP bytes and DEBUG
  DIGEST do not depend on it.

The choice and the conversions follow Redis 7.0 exactly (checked against
redis-server 7.0.15 with OBJECT ENCODING):

* ZADD/ZINCRBY on a missing key create a listpack unless
  ``zset-max-listpack-entries`` is 0 or the first member is longer than
  ``zset-max-listpack-value`` (7.0 has no size hint: ``ZADD k 1 a 2 a 3 a``
  with entries=2 stays a listpack);
* adding a NEW member to a listpack converts it first when the length would
  exceed ``zset-max-listpack-entries`` or the member is longer than
  ``zset-max-listpack-value`` (``zsetAdd``); updates never convert;
* results of ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE are a
  listpack when they hold at most ``entries`` members none longer than
  ``value``, else a skiplist (``zsetConvertToListpackIfNeeded`` / the
  incremental ``zsetAdd`` of ZRANGESTORE give the same rule);
* nothing converts back to listpack on shrink.

``zset_from_listpack`` / ``zset_from_pairs`` are the entry points for RDB
loading and RESTORE (rdbLoadObject's rules: a listpack longer than the limit
is converted; a skiplist payload small enough becomes a listpack).

Listpack access
---------------
Looking a member up uses ``Listpack.find_entry(member, 0, 1)`` (the
key/value search of ``zzlFind``: one C-level search for the encoded entry,
giving its index and byte offset).  A new pair is placed by ``Listpack.zseek``
(a binary search on the scores when the listpack keeps an offset index, else
the walk ``zzlInsert`` does; same position).  An existing
member's new score (ZINCRBY, ZADD with or without GT/LT/XX/INCR) is written
by ``Listpack.zupdate`` from the position the lookup found: the pair moves
from its place to its new one in one splice, with the bytes of Redis's
``zzlDelete`` + ``zzlInsert``.

Range commands walk the listpack incrementally, as Redis does, instead of
decoding it: ``_lp_edge_in`` is ``zzlFirstInRange`` / ``zzlLastInRange``
(and the lex forms; a score bound is found by
``Listpack.zseek``, a binary search when the listpack keeps an offset
index), ``_lp_walk_in`` steps from there while the pairs stay in range
(``Listpack.zwalk``: only compared keys and replied pairs are decoded), so
ZRANGE BYSCORE/BYLEX [REV] [LIMIT], the older Z[REV]RANGEBY* forms,
ZRANGESTORE, ZCOUNT, ZLEXCOUNT and ZREMRANGEBYSCORE/BYLEX (one cut,
``Listpack.zdelete``) cost a walk to the range plus the pairs in it, and
stop at LIMIT (counts and deletions seek the end of the run too).  Lex
ranges over members out of order (scores that differ) walk linearly like
Redis, so they give Redis's answers; when all scores are equal the members
are in order and are sought like scores.  The listpack decides itself when
an offset index is worth its memory (never for listpacks of at most 64
entries).

Hot path
--------
``ZADD key score member`` on an existing zset whose score is a number
(plain digits go straight to ``float``; other texts through a bounded cache
of parsed scores) skips option parsing; on a skiplist it inlines
``ZSet.add`` (a new member is a dict entry plus a deferred insert).  RESP2
``ZPOPMIN key`` on a skiplist inlines ``ZSet.pop_first`` (when no deferred
write is pending) and writes its reply in one piece (``b"%.17g" % score`` is
``format_double``'s text for every non-NaN double).  Both inline
``Db.lookup``'s hit case when the key table is not rehashing and no key has
a TTL (anything but a zset then goes to the generic path, whose own lookup
touches it).  Both read the WATCH/tracking/notification hooks
directly instead of calling ``signal_modified_key``/``notify`` when no one
listens.  ZPOPMIN/ZPOPMAX of one element otherwise use
``pop_first``/``pop_last``.

Score parsing and formatting
----------------------------
* scores and weights: ``getDoubleFromObject`` = strtod over the whole
  argument, no leading space, no NaN, and overflow (``1e400``) or underflow to
  zero (``1e-400``) rejected ("value is not a valid float"); hex floats as
  strtod reads them (``0x10`` is 16);
* score ranges: ``zslParseRange`` = optional ``(`` then strtod up to the end
  of the C string: leading spaces allowed, ``""`` and ``"("`` are 0,
  overflow gives +-inf, NaN is an error ("min or max is not a float");
* lex ranges: ``zslParseLexRange`` (``[x``, ``(x``, ``-``, ``+``);
* replies: ``c.add_reply_double`` (``%.17g``, ``inf``/``-inf``, a RESP3
  double); RESP2 WITHSCORES arrays are built as one bulk array with
  ``util.format_double`` (the same text) for speed.

RESP3 shapes are 7.0's: ZRANGE/ZUNION/ZRANDMEMBER WITHSCORES are arrays of
[member, score] pairs; ZPOPMIN/ZPOPMAX are flat without COUNT and nested with
it; BZPOPMIN/BZPOPMAX are flat [key, member, score]; ZMPOP/BZMPOP are
[key, [[member, score], ...]] in both protocols.

Set operations (``zunionInterDiffGenericCommand``)
---------------------------------------------------
Inputs may be sorted sets or sets (score 1).  Inputs are ordered by
cardinality with a stable sort (glibc's qsort is a merge sort here), scores
are aggregated in that order (so float sums round as in Redis), ``inf * 0``
weights give 0 as in Redis (``isnan -> 0`` for the weighted input score,
and SUM turning NaN into 0), MIN/MAX ignore a NaN value as C comparisons do.
Sets are read through ``types.set.Set``'s API (``len``, ``members()``,
``contains()``).

Blocking commands
-----------------
BZPOPMIN, BZPOPMAX and BZMPOP serve an existing key at once (and are
propagated as ZPOPMIN/ZPOPMAX, as Redis rewrites them); inside MULTI or a
script they reply with a null array, as Redis does for clients that may not
block (``blocking.deny_blocking``).  Otherwise they park the client with
``blocking.block_for_keys`` (BLOCKED_ZSET) and ``serve_blocked_client`` as
the ``on_ready`` callback: when a key the client waits on gets a zset it pops
from it, replies like the immediate path and propagates ZPOPMIN/ZPOPMAX; the
timeout reply is the module's default null array, as Redis 7.0.

ZSCAN
-----
A listpack is returned whole with cursor 0 and its scores as stored, as
Redis does.  DIVERGENCE: for the skiplist encoding Redis walks its dict
(``dictScan``); here the dict is a Python dict, which has no stable cursor,
so the scan walks the skiplist in score order instead: the cursor is an
order-preserving 64-bit code of the last returned score, plus one, and every
call returns whole groups of equal scores (so a skiplist whose members all
share one score comes back in one call, as a listpack does).  Every member
present with the same score for the whole iteration is returned exactly
once; cursor values differ from Redis's.

DIVERGENCE: ZRANDMEMBER's random choices differ from Redis's (the replies for
a count at least the cardinality are identical: the whole set, highest score
first, as Redis's reverse iteration gives).
"""
from __future__ import annotations

import random
import re
import struct
from functools import partial
from typing import Any, Callable

from omakase import replies
from omakase.blocking import BLOCKED_ZSET, block_for_keys, deny_blocking, parse_timeout
from omakase.commands.generic import scan_collection_command
from omakase.commands.registry import command
from omakase.types._members import delete_destination, remove_members
from omakase.encodings.listpack import Listpack, entry_to_score
from omakase.encodings.skiplist import LEX_MAX, LEX_MIN, ZLexRangeSpec, ZRangeSpec, ZSet
from omakase.objects import type_name
from omakase.util import format_double, index_span, parse_ll

NOTIFY_GENERIC = 1 << 2
NOTIFY_ZSET = 1 << 7

LLONG_MAX = (1 << 63) - 1
_INF = float("inf")
_NINF = -_INF
_SCORE_CACHE_MAX = 4096
_NUMERIC_START = frozenset(b"0123456789+-.")   # no ZADD option starts so

EMPTY_ARRAY = replies.EMPTY_ARRAY
_CZERO = replies.INTEGERS[0]
_CONE = replies.INTEGERS[1]
NAN_ERR = "resulting score is not a number (NaN)"
MINMAX_FLOAT_ERR = "min or max is not a float"
MINMAX_LEX_ERR = "min or max not valid string range item"

# zsetAdd input flags and output flags (server.h ZADD_IN_* / ZADD_OUT_*)
ZADD_INCR = 1
ZADD_NX = 2
ZADD_XX = 4
ZADD_GT = 8
ZADD_LT = 16
ZADD_OUT_NOP = 1
ZADD_OUT_NAN = 2
ZADD_OUT_ADDED = 4
ZADD_OUT_UPDATED = 8

_ZADD_OPTIONS = {b"nx": ZADD_NX, b"xx": ZADD_XX, b"incr": ZADD_INCR,
                 b"gt": ZADD_GT, b"lt": ZADD_LT, b"ch": 0}


# ---------------------------------------------------------------------------
# Number and range parsing (getDoubleFromObject, zslParseRange,
# zslParseLexRange)
# ---------------------------------------------------------------------------
_C_SPACES = b" \t\n\v\f\r"
_HEX_FLOAT = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                        rb"(?:[pP][+-]?[0-9]+)?")
_INF_WORD = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_MANT_SKIP = b"+-.0"


def _strtod_all(s: bytes) -> tuple[float, bool] | None:
    """strtod over all of ``s`` (no leading space): (value, erange), or None
    when ``s`` is not entirely a number or is NaN.  ``erange`` is strtod's
    ERANGE for an overflow to +-inf or an underflow to zero."""
    try:
        v = float(s)
    except ValueError:
        if _HEX_FLOAT.fullmatch(s) is None:
            return None
        try:
            v = float.fromhex(s.decode("ascii"))
        except OverflowError:
            return (_NINF if s[:1] == b"-" else _INF), True
        if v == 0.0:
            mant = s.lower().split(b"p", 1)[0].lstrip(b"+-")[2:]
            return v, bool(mant.translate(None, b".0"))
        return v, False
    # float() also takes surrounding spaces and "_" separators: strtod would
    # stop there, leaving part of the string unparsed.
    if s[0] in _C_SPACES or s[-1] in _C_SPACES or b"_" in s:
        return None
    if v != v:
        return None
    if v == _INF or v == _NINF:
        return v, _INF_WORD.fullmatch(s) is None
    if v == 0.0:
        e = s.find(b"e")
        if e < 0:
            e = s.find(b"E")
        mant = s if e < 0 else s[:e]
        return v, bool(mant.translate(None, _MANT_SKIP))
    return v, False


_score_cache: dict[bytes, float] = {}


def parse_score(s: bytes) -> float | None:
    """getDoubleFromObject: the score/weight, or None ("not a valid float").
    Short valid texts are remembered (scores repeat)."""
    v = _score_cache.get(s)
    if v is not None:
        return v
    if not s:
        return None
    r = _strtod_all(s)
    if r is None or r[1]:
        return None
    v = r[0]
    if len(s) <= 24:
        if len(_score_cache) >= _SCORE_CACHE_MAX:
            _score_cache.clear()
        _score_cache[s] = v
    return v


def _parse_bound(s: bytes) -> tuple[float, bool] | None:
    if s.isdigit():
        return float(s), False      # plain digits: strtod's value (inf past DBL_MAX)
    ex = False
    if s[:1] == b"(":
        ex = True
        s = s[1:]
    z = s.find(b"\0")
    if z >= 0:
        s = s[:z]
    if not s:
        return 0.0, ex              # strtod("") is 0 with eptr at the NUL
    t = s.lstrip(_C_SPACES)
    if not t:
        return None
    r = _strtod_all(t)
    if r is None:
        return None
    return r[0], ex


def parse_range(min_arg: bytes, max_arg: bytes) -> ZRangeSpec | None:
    """zslParseRange: None means "min or max is not a float"."""
    lo = _parse_bound(min_arg)
    if lo is None:
        return None
    hi = _parse_bound(max_arg)
    if hi is None:
        return None
    return ZRangeSpec(lo[0], hi[0], lo[1], hi[1])


def _parse_lex_item(s: bytes):
    if not s:
        return None
    c0 = s[0]
    if c0 == 43:        # '+'
        return (LEX_MAX, True) if len(s) == 1 or s[1] == 0 else None
    if c0 == 45:        # '-'
        return (LEX_MIN, True) if len(s) == 1 or s[1] == 0 else None
    if c0 == 40:        # '('
        return s[1:], True
    if c0 == 91:        # '['
        return s[1:], False
    return None


def parse_lex_range(min_arg: bytes, max_arg: bytes) -> ZLexRangeSpec | None:
    """zslParseLexRange: None means "min or max not valid string range item"."""
    lo = _parse_lex_item(min_arg)
    if lo is None:
        return None
    hi = _parse_lex_item(max_arg)
    if hi is None:
        return None
    return ZLexRangeSpec(lo[0], hi[0], lo[1], hi[1])


def _get_long(c: Any, raw: bytes, msg: str | None = None) -> int | None:
    """getLongFromObjectOrReply."""
    ok, v = parse_ll(raw)
    if not ok:
        c.add_reply_error(msg or replies.NOT_INTEGER)
        return None
    return v


def _get_range_long(c: Any, raw: bytes, lo: int, hi: int, msg: str | None = None) -> int | None:
    """getRangeLongFromObjectOrReply."""
    ok, v = parse_ll(raw)
    if not ok:
        c.add_reply_error(msg or replies.NOT_INTEGER)
        return None
    if v < lo or v > hi:
        c.add_reply_error(msg or replies.out_of_int_range(lo, hi))
        return None
    return v


def _get_positive_long(c: Any, raw: bytes, msg: str | None = None) -> int | None:
    """getPositiveLongFromObjectOrReply."""
    return _get_range_long(c, raw, 0, LLONG_MAX, msg or "value is out of range, must be positive")


# ---------------------------------------------------------------------------
# Sorted set API
# ---------------------------------------------------------------------------
def _cursor_of(score: float) -> int:
    """Order-preserving 64-bit code of a double (ZSCAN cursors)."""
    bits = struct.unpack("<Q", struct.pack("<d", score))[0]
    return (bits ^ 0xFFFFFFFFFFFFFFFF) if bits >> 63 else (bits | (1 << 63))


def _score_of(code: int) -> float:
    bits = (code ^ (1 << 63)) if code >> 63 else (code ^ 0xFFFFFFFFFFFFFFFF)
    return struct.unpack("<d", struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF))[0]


class ZSetValue:
    """A sorted set in the keyspace: ``ptr`` is a Listpack or a ZSet."""

    __slots__ = ("ptr", "lru")
    type_name = "zset"
    scan_pairs = True

    def __init__(self, ptr: Listpack | ZSet, lru: int) -> None:
        self.ptr = ptr
        self.lru = lru

    @property
    def encoding(self) -> str:
        return "listpack" if self.ptr.__class__ is Listpack else "skiplist"

    def __len__(self) -> int:
        p = self.ptr
        if p.__class__ is Listpack:
            return len(p) >> 1
        return len(p.dict)

    def __repr__(self) -> str:
        return "ZSetValue(%s, %r)" % (self.encoding, self.items())

    def copy(self) -> "ZSetValue":
        """zsetDup: same encoding, same content."""
        p = self.ptr
        if p.__class__ is Listpack:
            return ZSetValue(p.copy(), self.lru)
        return ZSetValue(p.copy(), self.lru)

    def items(self) -> list[tuple[bytes, float]]:
        """All (member, score) pairs, lowest score first."""
        p = self.ptr
        if p.__class__ is Listpack:
            return _lp_pairs(p)
        return p.items()

    def digest_into(self, digest: bytearray) -> None:
        """xorObjectDigest for a zset (DEBUG DIGEST)."""
        from omakase.commands.debug import xor_digest, zset_member_digest
        for member, score in self.items():
            xor_digest(digest, zset_member_digest(member, score))

    def scan(self, cursor: int, emit: Callable[[bytes, bytes], None]) -> int:
        """One ZSCAN step (see the module docstring)."""
        p = self.ptr
        if p.__class__ is Listpack:
            vals = p.to_list()
            for i in range(0, len(vals), 2):
                emit(vals[i], vals[i + 1])
            return 0
        group = p.score_group_after(None if cursor == 0 else _score_of(cursor - 1))
        if not group:
            return 0
        for m, s in group:
            emit(m, format_double(s))
        s0 = group[0][1]
        last = p.last()
        if last is None or last[1] == s0:
            return 0
        return _cursor_of(s0) + 1


def _new_lru(server: Any) -> int:
    return int.from_bytes(server.new_object_trailer, "little")


# -- listpack helpers ---------------------------------------------------------
def _lp_pairs(lp: Listpack) -> list[tuple[bytes, float]]:
    vals = lp.to_list()
    return list(zip(vals[0::2], map(float, vals[1::2])))


def _lp_insert(lp: Listpack, member: bytes, score: float) -> None:
    """zzlInsert of a member known to be absent: the pair goes before the
    first greater (score, member).  Appending in score order is the common
    case, so the tail pair is checked first; otherwise ``zseek`` passes the
    lower scores (a binary search when the listpack keeps an offset index),
    ``zwalk`` counts the equal scores there (usually stopping at once) and a
    lex walk passes the equal-score pairs with a smaller member; then one
    insert where the walk stopped (``zinsert``, no second search)."""
    t = lp.ztail()
    if t >= 0:
        s = lp.zscore_at(t)
        if s < score or (s == score and lp.zmember_at(t) < member):
            lp.zinsert(len(lp) >> 1, lp.nbytes - 1, member, score)
            return
    rank, p = lp.zseek(score, True, False)
    equal = lp.zwalk(p, False, False, score, False)[0]
    if equal:
        passed, p = lp.zwalk(p, False, True, member, True, equal)
        rank += passed
    lp.zinsert(rank, p, member, score)


# -- creation and conversion ----------------------------------------------------
def zset_convert_to_skiplist(z: ZSetValue) -> None:
    """zsetConvert(OBJ_ENCODING_SKIPLIST)."""
    if z.ptr.__class__ is Listpack:
        z.ptr = ZSet.from_sorted(_lp_pairs(z.ptr))


def zset_convert_to_listpack(z: ZSetValue) -> None:
    """zsetConvert(OBJ_ENCODING_LISTPACK)."""
    if z.ptr.__class__ is not Listpack:
        z.ptr = Listpack.from_zset_pairs(z.ptr.items())


def _fits_listpack(cfg: Any, pairs: list) -> bool:
    if len(pairs) > cfg.zset_max_listpack_entries:
        return False
    limit = cfg.zset_max_listpack_value
    for m, _ in pairs:
        if len(m) > limit:
            return False
    return True


def zset_from_pairs(server: Any, pairs: list[tuple[bytes, float]]) -> ZSetValue:
    """A new zset from pairs sorted by (score, member), encoded as Redis
    encodes a computed result (zsetConvertToListpackIfNeeded) or an RDB
    skiplist payload."""
    if _fits_listpack(server.config, pairs):
        ptr: Listpack | ZSet = Listpack.from_zset_pairs(pairs)
    else:
        ptr = ZSet.from_sorted(pairs)
    return ZSetValue(ptr, _new_lru(server))


def zset_from_listpack(server: Any, lp: Listpack) -> ZSetValue:
    """A zset adopting a listpack blob (RDB ZSET_LISTPACK / RESTORE):
    converted when longer than zset-max-listpack-entries, as rdbLoadObject."""
    z = ZSetValue(lp, _new_lru(server))
    if (len(lp) >> 1) > server.config.zset_max_listpack_entries:
        zset_convert_to_skiplist(z)
    return z


# -- element operations -----------------------------------------------------------
def zset_add(z: ZSetValue, cfg: Any, score: float, member: bytes,
             flags: int) -> tuple[int, float]:
    """zsetAdd: (ZADD_OUT_* flags, new score)."""
    p = z.ptr
    if p.__class__ is ZSet:
        cur = p.dict.get(member)
        if cur is not None:
            if flags & ZADD_NX:
                return ZADD_OUT_NOP, score
            if flags & ZADD_INCR:
                score += cur
                if score != score:
                    return ZADD_OUT_NAN, score
            if (flags & ZADD_LT and score >= cur) or (flags & ZADD_GT and score <= cur):
                return ZADD_OUT_NOP, score
            if score != cur:
                p.update_score(member, score)
                return ZADD_OUT_UPDATED, score
            return 0, score
        if flags & ZADD_XX:
            return ZADD_OUT_NOP, score
        p.insert(score, member)
        return ZADD_OUT_ADDED, score
    lp = p
    i, pos = lp.find_entry(member, 0, 1)
    if i >= 0:
        if flags & ZADD_NX:
            return ZADD_OUT_NOP, score
        cur = lp.zscore_at(pos)
        if flags & ZADD_INCR:
            score += cur
            if score != score:
                return ZADD_OUT_NAN, score
        if (flags & ZADD_LT and score >= cur) or (flags & ZADD_GT and score <= cur):
            return ZADD_OUT_NOP, score
        if score != cur:
            # zzlDelete + zzlInsert as one move from where the pair is.
            lp.zupdate(i >> 1, pos, member, score)
            return ZADD_OUT_UPDATED, score
        return 0, score
    if flags & ZADD_XX:
        return ZADD_OUT_NOP, score
    if ((len(lp) >> 1) + 1 > cfg.zset_max_listpack_entries
            or len(member) > cfg.zset_max_listpack_value):
        zset_convert_to_skiplist(z)
        z.ptr.insert(score, member)
        return ZADD_OUT_ADDED, score
    _lp_insert(lp, member, score)
    return ZADD_OUT_ADDED, score


def zset_del(z: ZSetValue, member: bytes) -> bool:
    """zsetDel."""
    p = z.ptr
    if p.__class__ is ZSet:
        return p.remove(member)
    i = p.find(member, 0, 1)
    if i < 0:
        return False
    p.delete_range(i, 2)
    return True


def zset_score(z: ZSetValue, member: bytes) -> float | None:
    """zsetScore."""
    p = z.ptr
    if p.__class__ is ZSet:
        return p.dict.get(member)
    i = p.find(member, 0, 1)
    if i < 0:
        return None
    return entry_to_score(p.get_value(i + 1))


def zset_rank(z: ZSetValue, member: bytes, reverse: bool) -> int | None:
    """zsetRank: 0-based, None when absent."""
    p = z.ptr
    if p.__class__ is ZSet:
        return p.rank(member, reverse)
    i = p.find(member, 0, 1)
    if i < 0:
        return None
    r = i >> 1
    return (len(p) >> 1) - 1 - r if reverse else r


def zset_range_by_rank(z: ZSetValue, start: int, end: int,
                       reverse: bool) -> list[tuple[bytes, float]]:
    """Pairs of ranks start..end (sanitized, inclusive), from the top if
    ``reverse``."""
    p = z.ptr
    if p.__class__ is ZSet:
        return p.range_by_rank(start, end, reverse)
    n = len(p) >> 1
    if reverse:
        vals = p.range(2 * (n - 1 - end), 2 * (n - start))
        out = list(zip(vals[0::2], map(float, vals[1::2])))
        out.reverse()
        return out
    vals = p.range(2 * start, 2 * end + 2)
    return list(zip(vals[0::2], map(float, vals[1::2])))


def _lp_edge_in(lp: Listpack, spec: Any, lex: bool, last: bool) -> tuple[int, int]:
    """zzlFirstInRange (zzlLastInRange when ``last``) and the lex forms:
    (rank, position) of the first (last) pair in ``spec`` -- a ZRangeSpec,
    or a ZLexRangeSpec when ``lex`` -- or (-1, -1): the first pair at or
    above the minimum if it is not above the maximum (from the tail: the
    first at or below the maximum if not below the minimum).  Scores are in
    order, so ``Listpack.zseek`` finds them (zzlIsInRange's early exits
    give the same answers).  Members are found as Redis does, also when
    they are not in order (mixed scores): give up at once when the last
    member is below the range or the first above it (zzlIsInLexRange),
    else walk from that end decoding only the members."""
    if not lp or spec.is_empty():
        return -1, -1
    if last:
        bound, ex, in_far = spec.max, spec.maxex, spec.gte_min
    else:
        bound, ex, in_far = spec.min, spec.minex, spec.lte_max
    if not lex:
        key_at = lp.zscore_at
        r, p = lp.zseek(bound, not ex, last)
    else:
        key_at = lp.zmember_at
        head, tail = lp.zhead(), lp.ztail()
        if not spec.gte_min(key_at(tail)) or not spec.lte_max(key_at(head)):
            return -1, -1
        start = tail if last else head
        if bound.__class__ is not bytes:
            r, p = 0, start         # "-" as the minimum, "+" as the maximum
        elif _lp_in_order(lp, True):
            r, p = lp.zseek(bound, not ex, last, True)
        else:
            r, p = lp.zwalk(start, last, True, bound, not ex)
    if not lp.zvalid(p) or not in_far(key_at(p)):
        return -1, -1
    return ((len(lp) >> 1) - 1 - r if last else r), p


def _lp_in_order(lp: Listpack, lex: bool) -> bool:
    """True when the listpack's keys are in order: always its scores, its
    members when the first and the last score (so all) are equal."""
    return not lex or lp.zscore_at(lp.zhead()) == lp.zscore_at(lp.ztail())


def _lp_run_in(lp: Listpack, spec: Any, lex: bool, r: int, p: int) -> tuple[int, int]:
    """The pairs in ``spec`` from the first one (rank ``r`` at ``p``):
    (count, position after them).  A seek when the keys are in order
    (the same pairs a walk passes), else Redis's walk."""
    if not _lp_in_order(lp, lex):
        return _lp_walk_in(lp, spec, lex, p, False, -1, None)
    bound = spec.max
    if lex and bound.__class__ is not bytes:
        bound = None
    steps, q = lp.zseek(bound, spec.maxex, False, lex, p, r)
    return steps - r, q


def _lp_walk_in(lp: Listpack, spec: Any, lex: bool, p: int, reverse: bool, limit: int,
                out: list | None) -> tuple[int, int]:
    """From the pair at ``p``, pass the pairs still in ``spec`` toward its
    maximum (its minimum when ``reverse``), at most ``limit`` (negative: no
    limit), collecting them into ``out`` unless None: (pairs, stop)."""
    if reverse:
        bound, ex = spec.min, spec.minex
    else:
        bound, ex = spec.max, spec.maxex
    if lex and bound.__class__ is not bytes:
        bound = None                # "-" / "+": that end never stops the walk
    return lp.zwalk(p, reverse, lex, bound, ex, limit, out)


def _lp_range(lp: Listpack, spec: Any, lex: bool, reverse: bool, offset: int,
              limit: int) -> list[tuple[bytes, float]]:
    """genericZrangebyscoreCommand / genericZrangebylexCommand on a
    listpack: the first (last) pair in range, ``offset`` pairs skipped
    without checking them, then at most ``limit`` pairs while in range."""
    p = _lp_edge_in(lp, spec, lex, reverse)[1]
    if p < 0:
        return []
    if offset:
        p = lp.zskip(p, offset, reverse)
    out: list = []
    _lp_walk_in(lp, spec, lex, p, reverse, limit, out)
    return out


def zset_range_by_score(z: ZSetValue, spec: ZRangeSpec, reverse: bool,
                        offset: int, limit: int) -> list[tuple[bytes, float]]:
    """genericZrangebyscoreCommand's selection (negative offset: nothing,
    negative limit: no limit)."""
    if offset < 0 or limit == 0:
        return []
    p = z.ptr
    if p.__class__ is ZSet:
        return p.range_by_score(spec, reverse, offset, limit)
    return _lp_range(p, spec, False, reverse, offset, limit)


def zset_range_by_lex(z: ZSetValue, spec: ZLexRangeSpec, reverse: bool,
                      offset: int, limit: int) -> list[tuple[bytes, float]]:
    """genericZrangebylexCommand's selection."""
    if offset < 0 or limit == 0:
        return []
    p = z.ptr
    if p.__class__ is ZSet:
        return p.range_by_lex(spec, reverse, offset, limit)
    return _lp_range(p, spec, True, reverse, offset, limit)


def _lp_count(lp: Listpack, spec: Any, lex: bool) -> int:
    """ZCOUNT / ZLEXCOUNT on a listpack: the run from the first pair in range."""
    r, p = _lp_edge_in(lp, spec, lex, False)
    if p < 0:
        return 0
    return _lp_run_in(lp, spec, lex, r, p)[0]


def zset_count(z: ZSetValue, spec: ZRangeSpec) -> int:
    """ZCOUNT."""
    p = z.ptr
    if p.__class__ is ZSet:
        return p.count_by_score(spec)
    return _lp_count(p, spec, False)


def zset_lex_count(z: ZSetValue, spec: ZLexRangeSpec) -> int:
    """ZLEXCOUNT."""
    p = z.ptr
    if p.__class__ is ZSet:
        return p.count_by_lex(spec)
    return _lp_count(p, spec, True)


def _lp_delete_in(lp: Listpack, spec: Any, lex: bool) -> int:
    """zzlDeleteRangeByScore / zzlDeleteRangeByLex: the pairs from the first
    in range while in range, deleted in one cut."""
    r, p = _lp_edge_in(lp, spec, lex, False)
    if p < 0:
        return 0
    count, q = _lp_run_in(lp, spec, lex, r, p)
    lp.zdelete(r, count, p, q)
    return count


def zset_delete_range_by_rank(z: ZSetValue, start: int, end: int) -> int:
    """zzlDeleteRangeByRank / zslDeleteRangeByRank (sanitized 0-based)."""
    p = z.ptr
    if p.__class__ is ZSet:
        return len(p.delete_range_by_rank(start, end))
    p.delete_range(2 * start, 2 * (end - start + 1))
    return end - start + 1


def zset_delete_range_by_score(z: ZSetValue, spec: ZRangeSpec) -> int:
    p = z.ptr
    if p.__class__ is ZSet:
        return len(p.delete_range_by_score(spec))
    return _lp_delete_in(p, spec, False)


def zset_delete_range_by_lex(z: ZSetValue, spec: ZLexRangeSpec) -> int:
    p = z.ptr
    if p.__class__ is ZSet:
        return len(p.delete_range_by_lex(spec))
    return _lp_delete_in(p, spec, True)


def zset_pop(z: ZSetValue, where_max: bool, count: int) -> list[tuple[bytes, float]]:
    """Remove and return up to ``count`` pairs from the low (or high) end,
    in pop order."""
    p = z.ptr
    if p.__class__ is ZSet:
        if count == 1:
            pair = p.pop_last() if where_max else p.pop_first()
            return [] if pair is None else [pair]
        return p.pop_max(count) if where_max else p.pop_min(count)
    n = len(p) >> 1
    k = count if count < n else n
    if where_max:
        vals = p.range(2 * (n - k), 2 * n)
        p.delete_range(2 * (n - k), 2 * k)
        out = list(zip(vals[0::2], map(float, vals[1::2])))
        out.reverse()
        return out
    vals = p.range(0, 2 * k)
    p.delete_range(0, 2 * k)
    return list(zip(vals[0::2], map(float, vals[1::2])))


def zset_random_pair(z: ZSetValue) -> tuple[bytes, float]:
    p = z.ptr
    if p.__class__ is ZSet:
        return p.random_pair()
    i = random.randrange(len(p) >> 1)
    return p.get(2 * i), entry_to_score(p.get_value(2 * i + 1))


# ---------------------------------------------------------------------------
# Replies
# ---------------------------------------------------------------------------
def _reply_pairs(c: Any, pairs: list, withscores: bool) -> None:
    """An array of members, with scores flat (RESP2) or as pairs (RESP3)."""
    if not withscores:
        c.add_reply_bulks([m for m, _ in pairs])
    elif c.resp == 2:
        out = []
        app = out.append
        for m, s in pairs:
            app(m)
            app(format_double(s))
        c.add_reply_bulks(out)
    else:
        c.add_reply_array_len(len(pairs))
        for m, s in pairs:
            c.add_reply_array_len(2)
            c.add_reply_bulk(m)
            c.add_reply_double(s)


def _lookup_write_zset(c: Any, key: bytes):
    """(value, ok): ok False when WRONGTYPE was replied."""
    v = c.db.lookup_write(key)
    if v is not None and v.__class__ is not ZSetValue:
        c.add_reply_error(replies.WRONGTYPE)
        return None, False
    return v, True


def lookup_read_zset(c: Any, key: bytes):
    """(value or None, ok) of a read lookup (GEO* use it too); WRONGTYPE
    replies and gives ok False."""
    v = c.db.lookup_read(key)
    if v is not None and v.__class__ is not ZSetValue:
        c.add_reply_error(replies.WRONGTYPE)
        return None, False
    return v, True


# ---------------------------------------------------------------------------
# Sorted set commands
# ---------------------------------------------------------------------------
def _zadd_generic(c: Any, argv: list[bytes], flags: int) -> None:
    """zaddGenericCommand (ZADD and ZINCRBY)."""
    n = len(argv)
    i = 2
    ch = False
    opts = _ZADD_OPTIONS
    while i < n:
        a = argv[i]
        if len(a) > 4:
            break
        o = opts.get(a.lower())
        if o is None:
            break
        if o:
            flags |= o
        else:
            ch = True
        i += 1
    elements = n - i
    if elements & 1 or not elements:
        c.add_reply_error(replies.SYNTAX)
        return
    elements >>= 1
    incr = flags & ZADD_INCR
    nx = flags & ZADD_NX
    gt = flags & ZADD_GT
    lt = flags & ZADD_LT
    if nx and flags & ZADD_XX:
        c.add_reply_error("XX and NX options at the same time are not compatible")
        return
    if (gt and nx) or (lt and nx) or (gt and lt):
        c.add_reply_error("GT, LT, and/or NX options at the same time are not compatible")
        return
    if incr and elements > 1:
        c.add_reply_error("INCR option supports a single increment-element pair")
        return
    scores = []
    for j in range(i, n, 2):
        s = parse_score(argv[j])
        if s is None:
            c.add_reply_error(replies.NOT_FLOAT)
            return
        scores.append(s)
    db = c.db
    key = argv[1]
    server = c.server
    cfg = server.config
    z = db.lookup_write(key)
    added = updated = processed = 0
    score = 0.0
    if z is None:
        if flags & ZADD_XX:
            if incr:
                c.add_reply_null()
            else:
                c.add_reply_int(0)
            return
        if (cfg.zset_max_listpack_entries == 0
                or cfg.zset_max_listpack_value < len(argv[i + 1])):
            z = ZSetValue(ZSet(), _new_lru(server))
        else:
            z = ZSetValue(Listpack(), _new_lru(server))
        db.add(key, z)
    elif z.__class__ is not ZSetValue:
        c.add_reply_error(replies.WRONGTYPE)
        return
    nan = False
    for k in range(elements):
        ret, score = zset_add(z, cfg, scores[k], argv[i + 1 + 2 * k], flags)
        if ret:
            if ret & ZADD_OUT_NAN:
                nan = True
                break
            if ret & ZADD_OUT_ADDED:
                added += 1
            elif ret & ZADD_OUT_UPDATED:
                updated += 1
            if not ret & ZADD_OUT_NOP:
                processed += 1
        else:
            processed += 1
    if nan:
        c.add_reply_error(NAN_ERR)
    else:
        server.dirty += added + updated
        if incr:
            if processed:
                c.add_reply_double(score)
            else:
                c.add_reply_null()
        else:
            c.add_reply_int(added + updated if ch else added)
    if added or updated:
        db.signal_modified_key(key)
        server.notify(NOTIFY_ZSET, "zincr" if incr else "zadd", key, db.id)


@command("zadd")
def zadd_command(c: Any, argv: list[bytes]) -> None:
    if len(argv) == 4:
        # ZADD key score member on an existing zset whose score argument is
        # a number (never an option name): no option parsing, one zsetAdd.
        raw = argv[2]
        if raw.isdigit():
            score = float(raw)              # plain digits: strtod's value
            if score == _INF:               # ERANGE: "not a valid float"
                score = None
        else:
            score = _score_cache.get(raw)
            if score is None and raw and raw[0] in _NUMERIC_START:
                score = parse_score(raw)
        if score is not None:
            db = c.db
            key = argv[1]
            ht = db.keys
            server = c.server
            if ht.rehashidx < 0 and not db.expires.used:
                # db.lookup(key, True, False)'s hit case inline: only the
                # LRU/LFU touch is left (anything but a zset goes to
                # _zadd_generic, whose own lookup touches it).
                z = ht.t0[hash(key) & ht.mask0].get(key)
                if z.__class__ is not ZSetValue:
                    _zadd_generic(c, argv, 0)
                    return
                if not server.no_touch:
                    z.lru = server.lfu_touch(z.lru) if server.lfu else server.lru_clock
            else:
                z = db.lookup(key, True, False)         # lookupKeyWrite
                if z.__class__ is not ZSetValue:
                    _zadd_generic(c, argv, 0)
                    return
            p = z.ptr
            if p.__class__ is ZSet:
                # ZSet.add inlined (deferred insert).
                member = argv[3]
                d = p.dict
                old = d.get(member)
                if old is None:
                    added = 1
                elif old == score:
                    if not c.reply_off:
                        c.reply.append(_CZERO)
                    return
                else:
                    added = 0
                # ZSet.add's insert or update, inlined.
                d[member] = score
                pend = p.pend
                if not added and member not in pend:
                    p.gone[member] = old
                pend[member] = score
                if len(pend) > p._cap:
                    p._sync()
            else:
                ret = zset_add(z, server.config, score, argv[3], 0)[0]
                if not ret:
                    c.add_reply_int(0)
                    return
                added = 1 if ret & ZADD_OUT_ADDED else 0
            server.dirty += 1
            if db.watched_keys or db.tracking_hook is not None:
                db.signal_modified_key(key)
            hook = server.notify_hook
            if hook is not None:
                hook(NOTIFY_ZSET, "zadd", key, db.id)
            if not c.reply_off:
                c.reply.append(_CONE if added else _CZERO)
            return
    _zadd_generic(c, argv, 0)


@command("zincrby")
def zincrby_command(c: Any, argv: list[bytes]) -> None:
    _zadd_generic(c, argv, ZADD_INCR)


@command("zrem")
def zrem_command(c: Any, argv: list[bytes]) -> None:
    key = argv[1]
    z, ok = _lookup_write_zset(c, key)
    if not ok:
        return
    if z is None:
        c.add_reply_int(0)
        return
    deleted = remove_members(c, key, z, argv[2:], zset_del, NOTIFY_ZSET, "zrem")
    c.add_reply_int(deleted)


RANGE_RANK = 1
RANGE_SCORE = 2
RANGE_LEX = 3


def _zremrange_generic(c: Any, argv: list[bytes], rangetype: int) -> None:
    """zremrangeGenericCommand."""
    key = argv[1]
    if rangetype == RANGE_RANK:
        start = _get_long(c, argv[2])
        if start is None:
            return
        end = _get_long(c, argv[3])
        if end is None:
            return
        event = "zremrangebyrank"
    elif rangetype == RANGE_SCORE:
        spec = parse_range(argv[2], argv[3])
        if spec is None:
            c.add_reply_error(MINMAX_FLOAT_ERR)
            return
        event = "zremrangebyscore"
    else:
        lspec = parse_lex_range(argv[2], argv[3])
        if lspec is None:
            c.add_reply_error(MINMAX_LEX_ERR)
            return
        event = "zremrangebylex"
    z, ok = _lookup_write_zset(c, key)
    if not ok:
        return
    if z is None:
        c.add_reply_int(0)
        return
    if rangetype == RANGE_RANK:
        r = index_span(start, end, len(z))
        if r is None:
            c.add_reply_int(0)
            return
        deleted = zset_delete_range_by_rank(z, r[0], r[1])
    elif rangetype == RANGE_SCORE:
        deleted = zset_delete_range_by_score(z, spec)
    else:
        deleted = zset_delete_range_by_lex(z, lspec)
    db = c.db
    server = c.server
    keyremoved = False
    if not len(z):
        db.delete(key)
        keyremoved = True
    if deleted:
        db.signal_modified_key(key)
        server.notify(NOTIFY_ZSET, event, key, db.id)
        if keyremoved:
            server.notify(NOTIFY_GENERIC, "del", key, db.id)
    server.dirty += deleted
    c.add_reply_int(deleted)


@command("zremrangebyrank")
def zremrangebyrank_command(c: Any, argv: list[bytes]) -> None:
    _zremrange_generic(c, argv, RANGE_RANK)


@command("zremrangebyscore")
def zremrangebyscore_command(c: Any, argv: list[bytes]) -> None:
    _zremrange_generic(c, argv, RANGE_SCORE)


@command("zremrangebylex")
def zremrangebylex_command(c: Any, argv: list[bytes]) -> None:
    _zremrange_generic(c, argv, RANGE_LEX)


def _store_result(c: Any, dstkey: bytes, pairs: list, event: str) -> None:
    """Store a computed (sorted ascending) result or delete the destination
    (zrangeResultFinalizeStore / the STORE branch of the set operations)."""
    db = c.db
    server = c.server
    if pairs:
        db.set_key(dstkey, zset_from_pairs(server, pairs))
        c.add_reply_int(len(pairs))
        server.notify(NOTIFY_ZSET, event, dstkey, db.id)
        server.dirty += 1
    else:
        c.add_reply_int(0)
        delete_destination(c, dstkey)


def _zrange_generic(c: Any, argv: list[bytes], argc_start: int, store: bool,
                    rangetype: int, direction: bool | None) -> None:
    """zrangeGenericCommand: ZRANGE, ZRANGESTORE and the older Z*RANGE*."""
    key = argv[argc_start]
    minidx = argc_start + 1
    maxidx = argc_start + 2
    withscores = False
    offset = 0
    limit = -1
    n = len(argv)
    j = argc_start + 3
    while j < n:
        left = n - j - 1
        a = argv[j].lower()
        if not store and a == b"withscores":
            withscores = True
        elif a == b"limit" and left >= 2:
            offset = _get_long(c, argv[j + 1])
            if offset is None:
                return
            limit = _get_long(c, argv[j + 2])
            if limit is None:
                return
            j += 2
        elif direction is None and a == b"rev":
            direction = True
        elif rangetype == 0 and a == b"bylex":
            rangetype = RANGE_LEX
        elif rangetype == 0 and a == b"byscore":
            rangetype = RANGE_SCORE
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    reverse = bool(direction)
    if rangetype == 0:
        rangetype = RANGE_RANK
    if limit != -1 and rangetype == RANGE_RANK:
        c.add_reply_error("syntax error, LIMIT is only supported in combination "
                          "with either BYSCORE or BYLEX")
        return
    if withscores and rangetype == RANGE_LEX:
        c.add_reply_error("syntax error, WITHSCORES not supported in combination with BYLEX")
        return
    if reverse and rangetype != RANGE_RANK:
        minidx, maxidx = maxidx, minidx
    if rangetype == RANGE_RANK:
        start = _get_long(c, argv[minidx])
        if start is None:
            return
        end = _get_long(c, argv[maxidx])
        if end is None:
            return
    elif rangetype == RANGE_SCORE:
        spec = parse_range(argv[minidx], argv[maxidx])
        if spec is None:
            c.add_reply_error(MINMAX_FLOAT_ERR)
            return
    else:
        lspec = parse_lex_range(argv[minidx], argv[maxidx])
        if lspec is None:
            c.add_reply_error(MINMAX_LEX_ERR)
            return
    z = c.db.lookup_read(key)
    if z is None:
        if store:
            _store_result(c, argv[1], [], "zrangestore")
        else:
            c.add_reply(EMPTY_ARRAY)
        return
    if z.__class__ is not ZSetValue:
        c.add_reply_error(replies.WRONGTYPE)
        return
    if rangetype == RANGE_RANK:
        r = index_span(start, end, len(z))
        pairs = [] if r is None else zset_range_by_rank(z, r[0], r[1], reverse)
    elif rangetype == RANGE_SCORE:
        pairs = zset_range_by_score(z, spec, reverse, offset, limit)
    else:
        pairs = zset_range_by_lex(z, lspec, reverse, offset, limit)
    if store:
        if reverse:
            pairs.reverse()
        _store_result(c, argv[1], pairs, "zrangestore")
    else:
        _reply_pairs(c, pairs, withscores)


@command("zrange")
def zrange_command(c: Any, argv: list[bytes]) -> None:
    _zrange_generic(c, argv, 1, False, 0, None)


@command("zrangestore")
def zrangestore_command(c: Any, argv: list[bytes]) -> None:
    _zrange_generic(c, argv, 2, True, 0, None)


@command("zrevrange")
def zrevrange_command(c: Any, argv: list[bytes]) -> None:
    _zrange_generic(c, argv, 1, False, RANGE_RANK, True)


@command("zrangebyscore")
def zrangebyscore_command(c: Any, argv: list[bytes]) -> None:
    _zrange_generic(c, argv, 1, False, RANGE_SCORE, False)


@command("zrevrangebyscore")
def zrevrangebyscore_command(c: Any, argv: list[bytes]) -> None:
    _zrange_generic(c, argv, 1, False, RANGE_SCORE, True)


@command("zrangebylex")
def zrangebylex_command(c: Any, argv: list[bytes]) -> None:
    _zrange_generic(c, argv, 1, False, RANGE_LEX, False)


@command("zrevrangebylex")
def zrevrangebylex_command(c: Any, argv: list[bytes]) -> None:
    _zrange_generic(c, argv, 1, False, RANGE_LEX, True)


@command("zcount")
def zcount_command(c: Any, argv: list[bytes]) -> None:
    spec = parse_range(argv[2], argv[3])
    if spec is None:
        c.add_reply_error(MINMAX_FLOAT_ERR)
        return
    z, ok = lookup_read_zset(c, argv[1])
    if ok:
        c.add_reply_int(0 if z is None else zset_count(z, spec))


@command("zlexcount")
def zlexcount_command(c: Any, argv: list[bytes]) -> None:
    spec = parse_lex_range(argv[2], argv[3])
    if spec is None:
        c.add_reply_error(MINMAX_LEX_ERR)
        return
    z, ok = lookup_read_zset(c, argv[1])
    if ok:
        c.add_reply_int(0 if z is None else zset_lex_count(z, spec))


@command("zcard")
def zcard_command(c: Any, argv: list[bytes]) -> None:
    z, ok = lookup_read_zset(c, argv[1])
    if ok:
        c.add_reply_int(0 if z is None else len(z))


@command("zscore")
def zscore_command(c: Any, argv: list[bytes]) -> None:
    z, ok = lookup_read_zset(c, argv[1])
    if not ok:
        return
    if z is None:
        c.add_reply_null()
        return
    s = zset_score(z, argv[2])
    if s is None:
        c.add_reply_null()
    else:
        c.add_reply_double(s)


@command("zmscore")
def zmscore_command(c: Any, argv: list[bytes]) -> None:
    z, ok = lookup_read_zset(c, argv[1])
    if not ok:
        return
    c.add_reply_array_len(len(argv) - 2)
    for member in argv[2:]:
        s = None if z is None else zset_score(z, member)
        if s is None:
            c.add_reply_null()
        else:
            c.add_reply_double(s)


def _zrank_generic(c: Any, argv: list[bytes], reverse: bool) -> None:
    z, ok = lookup_read_zset(c, argv[1])
    if not ok:
        return
    if z is None:
        c.add_reply_null()
        return
    r = zset_rank(z, argv[2], reverse)
    if r is None:
        c.add_reply_null()
    else:
        c.add_reply_int(r)


@command("zrank")
def zrank_command(c: Any, argv: list[bytes]) -> None:
    _zrank_generic(c, argv, False)


@command("zrevrank")
def zrevrank_command(c: Any, argv: list[bytes]) -> None:
    _zrank_generic(c, argv, True)


@command("zscan")
def zscan_command(c: Any, argv: list[bytes]) -> None:
    scan_collection_command(c, argv, "zset")


# -- ZPOP family ----------------------------------------------------------------
def generic_zpop(c: Any, keys: list[bytes], where_max: bool, emitkey: bool, count: int,
                 nested: bool, nil_when_empty: bool) -> tuple[bytes, int] | None:
    """genericZpopCommand: pop from the first existing key of ``keys`` and
    reply.  Returns (key, number popped) when something was popped."""
    db = c.db
    z = None
    key = b""
    for key in keys:
        z = db.lookup_write(key)
        if z is None:
            continue
        if z.__class__ is not ZSetValue:
            c.add_reply_error(replies.WRONGTYPE)
            return None
        break
    if z is None:
        if nil_when_empty:
            c.add_reply_null_array()
        else:
            c.add_reply(EMPTY_ARRAY)
        return None
    if count == 0:
        c.add_reply(EMPTY_ARRAY)
        return None
    if count == -1:
        count = 1
    pairs = zset_pop(z, where_max, count)
    rangelen = len(pairs)
    if not nested and not emitkey and c.resp == 2:
        out = []
        for m, s in pairs:
            out.append(m)
            out.append(format_double(s))
        c.add_reply_bulks(out)
    else:
        if not nested:
            if emitkey:
                c.add_reply_array_len(rangelen * 2 + 1)
                c.add_reply_bulk(key)
            else:
                c.add_reply_array_len(rangelen * 2)
        elif emitkey:
            c.add_reply_array_len(2)
            c.add_reply_bulk(key)
            c.add_reply_array_len(rangelen)
        else:
            c.add_reply_array_len(rangelen)
        for m, s in pairs:
            if nested:
                c.add_reply_array_len(2)
            c.add_reply_bulk(m)
            c.add_reply_double(s)
    server = c.server
    server.dirty += rangelen
    server.notify(NOTIFY_ZSET, "zpopmax" if where_max else "zpopmin", key, db.id)
    if not len(z):
        db.delete(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
    db.signal_modified_key(key)
    return key, rangelen


def _zpop_minmax(c: Any, argv: list[bytes], where_max: bool) -> None:
    if len(argv) > 3:
        c.add_reply_error(replies.SYNTAX)
        return
    count = -1
    if len(argv) == 3:
        count = _get_positive_long(c, argv[2])
        if count is None:
            return
    generic_zpop(c, [argv[1]], where_max, False, count, c.resp > 2 and count != -1, False)


@command("zpopmin")
def zpopmin_command(c: Any, argv: list[bytes]) -> None:
    if len(argv) == 2 and c.resp == 2:
        # ZPOPMIN key (RESP2) on a skiplist: generic_zpop's work inlined.
        key = argv[1]
        db = c.db
        ht = db.keys
        server = c.server
        if ht.rehashidx < 0 and not db.expires.used:
            # db.lookup(key, True, False)'s hit case inline (anything but
            # a zset goes to _zpop_minmax, whose own lookup touches it).
            z = ht.t0[hash(key) & ht.mask0].get(key)
            if z.__class__ is ZSetValue and not server.no_touch:
                z.lru = server.lfu_touch(z.lru) if server.lfu else server.lru_clock
        else:
            z = db.lookup(key, True, False)         # lookupKeyWrite
            if z is None:
                if not c.reply_off:
                    c.reply.append(EMPTY_ARRAY)
                return
        if z.__class__ is ZSetValue:
            p = z.ptr
            if p.__class__ is ZSet:
                d = p.dict
                if p.pend or p.gone:
                    m, s = p.pop_first()            # syncs first
                else:
                    # ZSet.pop_first inlined: the set is not empty (it is
                    # in the keyspace) and has no deferred writes.
                    buckets = p.buckets
                    b = buckets[0]
                    s, m = b[0]
                    del b[0]
                    del d[m]
                    p._cum = None
                    if not b:
                        del buckets[0]
                        del p.maxes[0]
                if not c.reply_off:
                    t = b"%.17g" % s                # format_double's text
                    c.reply.append(b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
                                   % (len(m), m, len(t), t))
                server.dirty += 1
                hook = server.notify_hook
                if hook is not None:
                    hook(NOTIFY_ZSET, "zpopmin", key, db.id)
                if not d:
                    db.delete(key)
                    if hook is not None:
                        hook(NOTIFY_GENERIC, "del", key, db.id)
                if db.watched_keys or db.tracking_hook is not None:
                    db.signal_modified_key(key)
                return
    _zpop_minmax(c, argv, False)


@command("zpopmax")
def zpopmax_command(c: Any, argv: list[bytes]) -> None:
    _zpop_minmax(c, argv, True)


def _pop_rewrite(where_max: bool, key: bytes, count: int | None) -> list[bytes]:
    name = b"ZPOPMAX" if where_max else b"ZPOPMIN"
    return [name, key] if count is None else [name, key, b"%d" % count]


def serve_blocked_client(where_max: bool, count: int, nested: bool,
                         c: Any, db: Any, key: bytes) -> bool:
    """serveClientBlockedOnSortedSet (the blocking module's ``on_ready``):
    pop for a client blocked on ``key``, which just became ready.  Returns
    False (nothing replied, the client stays blocked) when the key does not
    hold a non-empty zset.  The pop is propagated as ZPOPMIN/ZPOPMAX (with
    the count for BZMPOP), as Redis does."""
    z = db.lookup_write(key)
    if z is None or z.__class__ is not ZSetValue or not len(z):
        return False
    llen = len(z)
    if generic_zpop(c, [key], where_max, True, count, nested, False) is None:
        return False
    argv = _pop_rewrite(where_max, key, None if count == -1 else min(count, llen))
    c.server.also_propagate(db.id, argv)
    return True


def _blocking_zpop(c: Any, keys: list[bytes], where_max: bool, timeout_raw: bytes,
                   count: int, nested: bool, nil_when_empty: bool) -> None:
    """blockingGenericZpopCommand."""
    deadline = parse_timeout(c, timeout_raw)
    if deadline is None:
        return
    db = c.db
    for key in keys:
        z = db.lookup_write(key)
        if z is None:
            continue
        if z.__class__ is not ZSetValue:
            c.add_reply_error(replies.WRONGTYPE)
            return
        llen = len(z)
        if not llen:
            continue
        generic_zpop(c, [key], where_max, True, count, nested, nil_when_empty)
        c.rewritten_argv = _pop_rewrite(where_max, key,
                                        None if count == -1 else min(count, llen))
        return
    if deny_blocking(c):
        c.add_reply_null_array()
        return
    block_for_keys(c, keys, deadline, partial(serve_blocked_client, where_max, count, nested),
                   None, BLOCKED_ZSET)


@command("bzpopmin")
def bzpopmin_command(c: Any, argv: list[bytes]) -> None:
    _blocking_zpop(c, argv[1:-1], False, argv[-1], -1, False, False)


@command("bzpopmax")
def bzpopmax_command(c: Any, argv: list[bytes]) -> None:
    _blocking_zpop(c, argv[1:-1], True, argv[-1], -1, False, False)


def _zmpop_generic(c: Any, argv: list[bytes], numkeys_idx: int, block: bool) -> None:
    """zmpopGenericCommand (ZMPOP and BZMPOP)."""
    numkeys = _get_range_long(c, argv[numkeys_idx], 1, LLONG_MAX,
                              "numkeys should be greater than 0")
    if numkeys is None:
        return
    where_idx = numkeys_idx + numkeys + 1
    n = len(argv)
    if where_idx >= n:
        c.add_reply_error(replies.SYNTAX)
        return
    w = argv[where_idx].lower()
    if w == b"min":
        where_max = False
    elif w == b"max":
        where_max = True
    else:
        c.add_reply_error(replies.SYNTAX)
        return
    count = -1
    j = where_idx + 1
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and n - 1 - j > 0:
            j += 1
            count = _get_range_long(c, argv[j], 1, LLONG_MAX, "count should be greater than 0")
            if count is None:
                return
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    if count == -1:
        count = 1
    keys = argv[numkeys_idx + 1:where_idx]
    if block:
        _blocking_zpop(c, keys, where_max, argv[1], count, True, True)
        return
    res = generic_zpop(c, keys, where_max, True, count, True, True)
    if res is not None:
        c.rewritten_argv = _pop_rewrite(where_max, res[0], res[1])


@command("zmpop")
def zmpop_command(c: Any, argv: list[bytes]) -> None:
    _zmpop_generic(c, argv, 1, False)


@command("bzmpop")
def bzmpop_command(c: Any, argv: list[bytes]) -> None:
    _zmpop_generic(c, argv, 2, True)


# -- ZRANDMEMBER ------------------------------------------------------------------
def _zrandmember_with_count(c: Any, key: bytes, l: int, withscores: bool) -> None:
    """zrandmemberWithCountCommand."""
    z, ok = lookup_read_zset(c, key)
    if not ok:
        return
    if z is None:
        c.add_reply(EMPTY_ARRAY)
        return
    size = len(z)
    if l >= 0:
        count = l
        uniq = True
    else:
        count = -l
        uniq = False
    if count == 0:
        c.add_reply(EMPTY_ARRAY)
        return
    if not uniq or count == 1:
        # CASE 1: independent draws (repetitions allowed), random order.
        p = z.ptr
        if p.__class__ is Listpack:
            pairs = _lp_pairs(p)
            picks = random.choices(pairs, k=count)
        else:
            rp = p.random_pair
            picks = [rp() for _ in range(count)]
        _reply_pairs(c, picks, withscores)
        return
    if count >= size:
        # CASE 2: the whole set, in Redis's reverse iteration order.
        pairs = z.items()
        pairs.reverse()
        _reply_pairs(c, pairs, withscores)
        return
    if z.ptr.__class__ is Listpack:
        # CASE 2.5: unique samples, in listpack order.
        pairs = _lp_pairs(z.ptr)
        idx = sorted(random.sample(range(size), count))
        _reply_pairs(c, [pairs[i] for i in idx], withscores)
        return
    zs = z.ptr
    if count * 3 > size:
        # CASE 3: drop random members from a copy of the whole set.
        picks = random.sample(zs.items(), count)
    else:
        # CASE 4: draw until enough distinct members.
        by_rank = zs.by_rank
        picks = [by_rank(i) for i in random.sample(range(size), count)]
    _reply_pairs(c, picks, withscores)


@command("zrandmember")
def zrandmember_command(c: Any, argv: list[bytes]) -> None:
    n = len(argv)
    if n >= 3:
        l = _get_range_long(c, argv[2], -LLONG_MAX, LLONG_MAX)
        if l is None:
            return
        if n > 4 or (n == 4 and argv[3].lower() != b"withscores"):
            c.add_reply_error(replies.SYNTAX)
            return
        withscores = n == 4
        if withscores and (l < -(LLONG_MAX // 2) or l > LLONG_MAX // 2):
            c.add_reply_error("value is out of range")
            return
        _zrandmember_with_count(c, argv[1], l, withscores)
        return
    z, ok = lookup_read_zset(c, argv[1])
    if not ok:
        return
    if z is None:
        c.add_reply_null()
        return
    c.add_reply_bulk(zset_random_pair(z)[0])


# -- ZUNION / ZINTER / ZDIFF family -------------------------------------------------
class _SetSource:
    """A set used as a sorted-set input: every member has score 1."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __len__(self) -> int:
        return len(self.obj)

    def items(self) -> list[tuple[bytes, float]]:
        return [(m, 1.0) for m in self.obj.members()]

    def find(self, member: bytes) -> float | None:
        return 1.0 if self.obj.contains(member) else None


class _ZSetSource:
    __slots__ = ("obj",)

    def __init__(self, obj: ZSetValue) -> None:
        self.obj = obj

    def __len__(self) -> int:
        return len(self.obj)

    def items(self) -> list[tuple[bytes, float]]:
        return self.obj.items()

    def find(self, member: bytes) -> float | None:
        return zset_score(self.obj, member)


class _Missing:
    __slots__ = ()
    obj = None

    def __len__(self) -> int:
        return 0

    def items(self) -> list:
        return []

    def find(self, member: bytes) -> None:
        return None


_MISSING = _Missing()

OP_UNION = 1
OP_INTER = 2
OP_DIFF = 3
AGGR_SUM = 1
AGGR_MIN = 2
AGGR_MAX = 3


def _aggregate(target: float, val: float, aggr: int) -> float:
    """zunionInterAggregate."""
    if aggr == AGGR_SUM:
        target = target + val
        return 0.0 if target != target else target
    if aggr == AGGR_MIN:
        return val if val < target else target
    return val if val > target else target


def _zsetop_generic(c: Any, argv: list[bytes], dstkey: bytes | None, numkeys_idx: int,
                    op: int, cardinality_only: bool = False) -> None:
    """zunionInterDiffGenericCommand."""
    setnum = _get_long(c, argv[numkeys_idx])
    if setnum is None:
        return
    if setnum < 1:
        c.add_reply_error("at least 1 input key is needed for '%s' command" % c.cmd.fullname)
        return
    n = len(argv)
    if setnum > n - (numkeys_idx + 1):
        c.add_reply_error(replies.SYNTAX)
        return
    db = c.db
    srcs: list = []
    weights: list[float] = []
    j = numkeys_idx + 1
    for _ in range(setnum):
        obj = db.lookup_read(argv[j])
        j += 1
        if obj is None:
            srcs.append(_MISSING)
        elif obj.__class__ is ZSetValue:
            srcs.append(_ZSetSource(obj))
        elif type_name(obj) == "set":
            srcs.append(_SetSource(obj))
        else:
            c.add_reply_error(replies.WRONGTYPE)
            return
        weights.append(1.0)
    aggr = AGGR_SUM
    withscores = False
    limit = 0
    while j < n:
        remaining = n - j
        a = argv[j].lower()
        if (op != OP_DIFF and not cardinality_only and remaining >= setnum + 1
                and a == b"weights"):
            j += 1
            for i in range(setnum):
                w = parse_score(argv[j])
                if w is None:
                    c.add_reply_error("weight value is not a float")
                    return
                weights[i] = w
                j += 1
        elif op != OP_DIFF and not cardinality_only and remaining >= 2 and a == b"aggregate":
            b = argv[j + 1].lower()
            if b == b"sum":
                aggr = AGGR_SUM
            elif b == b"min":
                aggr = AGGR_MIN
            elif b == b"max":
                aggr = AGGR_MAX
            else:
                c.add_reply_error(replies.SYNTAX)
                return
            j += 2
        elif dstkey is None and not cardinality_only and a == b"withscores":
            withscores = True
            j += 1
        elif cardinality_only and remaining >= 2 and a == b"limit":
            limit = _get_positive_long(c, argv[j + 1], "LIMIT can't be negative")
            if limit is None:
                return
            j += 2
        else:
            c.add_reply_error(replies.SYNTAX)
            return
    order = list(range(setnum))
    if op != OP_DIFF:
        order.sort(key=lambda i: len(srcs[i]))      # stable, like glibc's msort
    srcs = [srcs[i] for i in order]
    weights = [weights[i] for i in order]

    result: dict[bytes, float] = {}
    cardinality = 0
    if op == OP_INTER:
        if len(srcs[0]):
            first = srcs[0]
            w0 = weights[0]
            for member, s0 in first.items():
                score = w0 * s0
                if score != score:
                    score = 0.0
                for k in range(1, setnum):
                    src = srcs[k]
                    if src.obj is first.obj:
                        value = s0 * weights[k]
                    else:
                        v = src.find(member)
                        if v is None:
                            break
                        value = v * weights[k]
                    score = _aggregate(score, value, aggr)
                else:
                    if cardinality_only:
                        cardinality += 1
                        if limit and cardinality >= limit:
                            break
                    else:
                        result[member] = score
    elif op == OP_UNION:
        for k in range(setnum):
            src = srcs[k]
            if not len(src):
                continue
            w = weights[k]
            for member, s in src.items():
                score = w * s
                if score != score:
                    score = 0.0
                cur = result.get(member)
                if cur is None:
                    result[member] = score
                else:
                    result[member] = _aggregate(cur, score, aggr)
    else:
        first = srcs[0]
        if len(first) and not any(src.obj is first.obj for src in srcs[1:]):
            others = srcs[1:]
            for member, s in first.items():
                for src in others:
                    if src.find(member) is not None:
                        break
                else:
                    result[member] = s

    if cardinality_only:
        c.add_reply_int(cardinality)
        return
    pairs = sorted(result.items(), key=_pair_key)
    if dstkey is not None:
        event = ("zunionstore" if op == OP_UNION else
                 "zinterstore" if op == OP_INTER else "zdiffstore")
        _store_result(c, dstkey, pairs, event)
    else:
        _reply_pairs(c, pairs, withscores)


def _pair_key(p: tuple[bytes, float]) -> tuple[float, bytes]:
    return p[1], p[0]


@command("zunionstore")
def zunionstore_command(c: Any, argv: list[bytes]) -> None:
    _zsetop_generic(c, argv, argv[1], 2, OP_UNION)


@command("zinterstore")
def zinterstore_command(c: Any, argv: list[bytes]) -> None:
    _zsetop_generic(c, argv, argv[1], 2, OP_INTER)


@command("zdiffstore")
def zdiffstore_command(c: Any, argv: list[bytes]) -> None:
    _zsetop_generic(c, argv, argv[1], 2, OP_DIFF)


@command("zunion")
def zunion_command(c: Any, argv: list[bytes]) -> None:
    _zsetop_generic(c, argv, None, 1, OP_UNION)


@command("zinter")
def zinter_command(c: Any, argv: list[bytes]) -> None:
    _zsetop_generic(c, argv, None, 1, OP_INTER)


@command("zintercard")
def zintercard_command(c: Any, argv: list[bytes]) -> None:
    _zsetop_generic(c, argv, None, 1, OP_INTER, True)


@command("zdiff")
def zdiff_command(c: Any, argv: list[bytes]) -> None:
    _zsetop_generic(c, argv, None, 1, OP_DIFF)
