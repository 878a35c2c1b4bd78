"""Skiplist-encoded sorted sets: ``ZSet`` (and the range specs of ``t_zset.c``).

OBJECT ENCODING calls this encoding "skiplist", as Redis does, and every
reply, RDB/DUMP byte and DEBUG DIGEST is Redis's.  The range specifications
mirror Redis 7.0 ``src/t_zset.c``: ``zrangespec`` (``zslValueGteMin`` /
``zslValueLteMax``), ``zlexrangespec``, ``zslParseLexRange`` and
``sdscmplex``.

DIVERGENCE: the structure is not a skiplist
-------------------------------------------
Redis's skiplist encoding is a ``dict`` (member -> score) plus a skiplist
ordered by (score, member).  Here the dict is the same (``ZSet.dict``:
member -> score), but the ordered part is a list of *sorted buckets*: Python
lists of ``(score, member)`` tuples (``ZSet.buckets``), each bucket sorted,
every key of a bucket below every key of the next, with ``ZSet.maxes[i]``
the last (largest) key of bucket ``i``.  Why: measured cost.  A pure-Python
skiplist walk touches ~35-40 nodes per insert at 100,000 members (p = 0.25,
one interpreted loop step per node): ~40 us per ZADD and ~10 us per
ZPOPMIN in ``bench/hotpath.py``, against ~4 us and ~2.5 us now.  Two
C-level ``bisect`` calls (one over ``maxes``, one inside the bucket) and
one ``list.insert`` replace the walk, and the structure takes less memory
(RSS per member of a 1,000,000-member zset: 213 B, was 288 B; redis-server
133 B): a tuple and a pointer per member instead of a node object and a
level list.

* Order: tuples compare as (score, member) with members as raw bytes
  (``sdscmp`` is memcmp, then length: Python ``bytes`` ordering), and floats
  compare as C doubles (-0.0 == 0.0, ties broken by member), exactly
  ``zslInsert``'s order.
* Buckets hold between 1 and ``2 * LOAD`` keys: a bucket over ``2 * LOAD``
  is split in halves, an emptied bucket is dropped, and a bucket that falls
  under ``LOAD // 4`` by a deletion is merged into a neighbour.
  ``from_sorted`` fills buckets of ``LOAD``.
* Ranks: the rank of (bucket ``i``, offset ``j``) is the number of keys in
  buckets before ``i`` plus ``j``.  ``_cum`` caches the prefix sums of the
  bucket lengths (``itertools.accumulate``, C speed); every write drops it
  (one attribute store), the next rank lookup in the middle of the set
  rebuilds it in O(n / LOAD).  A lone rank query after a write instead sums
  the bucket lengths from the nearer end, and ranks inside the first or the
  last bucket never need it (ZPOPMIN, ZRANGE 0 9, ZREVRANGE 0 9).
* Positions are ``(i, j)`` pairs: bucket ``i``, offset ``j`` in it, with
  ``(len(buckets), 0)`` the end; they compare as tuples in key order.

Deferred writes
---------------
Even a bisect into a cold bucket costs several microseconds on a loaded
machine (every probe dereferences a tuple and a float), so writes that do
not need the order right away leave it for later: the dict is always
exact, and

* ``pend`` (member -> score) holds members whose key is not in the buckets
  yet (a new member, or the new score of an updated one);
* ``gone`` (member -> score) holds members whose key in the buckets is
  stale (updated or removed since); a member is in ``pend`` or its key in
  the buckets is current unless it is in ``gone``.

ZSCORE, ZMSCORE, ZCARD and the write side of ZADD/ZINCRBY/ZREM only touch
the dict and these two.  Every ordered operation calls ``_sync()`` first,
and so do writes once ``pend`` or ``gone`` hold more than ``_cap`` members
(8 times the keys in the buckets, at least ``_PENDING_MIN`` and at most
``_PENDING_MAX``, so the work one command can inherit is bounded).
``_sync`` applies them one by one (bisects) when they are few against the
buckets' size, else rebuilds the buckets from one ``list.sort`` (Timsort
merges the already sorted keys with the new ones).  The observable
behaviour (replies, ranks, ties, RDB, DIGEST) is the same either way; only
the cost moves: a burst of ZADDs then a read pays one sort at the read.

Skiplist specifics with no equivalent here: there are no random levels
(nothing consumes ``random`` on ZADD), and ``zslUpdateScore``'s in-place
fast path is a remove + insert of the key (same result: a member's place
follows its score).

Compatibility view
------------------
``ZSet.zsl`` is a read-mostly view for code outside this module that was
written against the skiplist (RDB writing, MEMORY USAGE sampling, lazy
free): ``length``, ``header``/``tail`` nodes with ``ele``, ``score``,
``backward`` and ``lv[0]`` (the next node), and ``iter_nodes(reverse=...)``.
Its nodes are made on demand (``_NodeView``); setting ``lv`` to None on the
last node of a bucket (what lazy free does as it walks) releases that
bucket, so a lazily freed zset is dismantled bucket by bucket.  New code
uses ``ZSet``'s own API (``iter_pairs``, ``items``, ``__len__``).

Ranks
-----
``ZSet`` is 0-based everywhere (as ZRANK, ZRANGE and ZREMRANGEBYRANK are).
"""

from __future__ import annotations

import random as _random
from bisect import bisect_left, bisect_right, insort
from itertools import accumulate, chain, islice
from operator import itemgetter, ge
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

from omakase.util import index_span

__all__ = [
    "ZSet",
    "ZRangeSpec",
    "ZLexRangeSpec",
    "LEX_MIN",
    "LEX_MAX",
    "LOAD",
    "parse_lex_range",
]

#: Target bucket size (see the module docstring).
LOAD = 512
_SPLIT = 2 * LOAD
_MERGE = LOAD // 4

#: Deferred writes wait until an ordered read, or until there are more of
#: them than 8 times the keys in the buckets, bounded by these two.  The
#: upper bound caps the work one command can inherit (16,384 keys bisected
#: in, in key order, or one sort: ~20-50 ms here); a larger bound lets more
#: bursts end in one sort instead (65,536: ~90 ms pauses for ~30% less ZADD
#: time in bench/hotpath.py).
_PENDING_MIN = 1024
_PENDING_MAX = 16384

_score_key = itemgetter(0)
_member_key = itemgetter(1)

Pair = Tuple[bytes, float]
Key = Tuple[float, bytes]


# ---------------------------------------------------------------------------
# ---------------------------------------------------------------------------
# Range specifications
# ---------------------------------------------------------------------------

class ZRangeSpec:
    """``zrangespec``: scores ``min``..``max``; ``minex``/``maxex`` make
    the bounds exclusive."""

    __slots__ = ("min", "max", "minex", "maxex")

    def __init__(self, min: float, max: float, minex: bool = False, maxex: bool = False) -> None:
        self.min = min
        self.max = max
        self.minex = minex
        self.maxex = maxex

    def gte_min(self, v: float) -> bool:
        """``zslValueGteMin``."""
        return v > self.min if self.minex else v >= self.min

    def lte_max(self, v: float) -> bool:
        """``zslValueLteMax``."""
        return v < self.max if self.maxex else v <= self.max

    def is_empty(self) -> bool:
        """True for ranges that can never match (min > max, or min == max
        with an exclusive bound)."""
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))

    def __repr__(self) -> str:
        return "ZRangeSpec(%s%r, %r%s)" % ("(" if self.minex else "[", self.min, self.max, ")" if self.maxex else "]")


class _LexBound:
    """The ``-``/``+`` bounds of a lex range (Redis's shared.minstring /
    shared.maxstring): below / above every member."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return "LEX_MIN" if self.name == "-" else "LEX_MAX"


LEX_MIN = _LexBound("-")
LEX_MAX = _LexBound("+")

LexValue = Union[bytes, _LexBound]


def _cmplex(a: LexValue, b: LexValue) -> int:
    """``sdscmplex``: compare two lex bounds or members."""
    if a is b:
        return 0
    if a is LEX_MIN or b is LEX_MAX:
        return -1
    if a is LEX_MAX or b is LEX_MIN:
        return 1
    return -1 if a < b else (1 if a > b else 0)  # type: ignore[operator]


class ZLexRangeSpec:
    """``zlexrangespec``: ``min``/``max`` are bytes or LEX_MIN / LEX_MAX."""

    __slots__ = ("min", "max", "minex", "maxex")

    def __init__(self, min: LexValue, max: LexValue, minex: bool, maxex: bool) -> None:
        self.min = min
        self.max = max
        self.minex = minex
        self.maxex = maxex

    def gte_min(self, v: bytes) -> bool:
        """``zslLexValueGteMin``."""
        m = self.min
        if m is LEX_MIN:
            return True
        if m is LEX_MAX:
            return False
        return v > m if self.minex else v >= m  # type: ignore[operator]

    def lte_max(self, v: bytes) -> bool:
        """``zslLexValueLteMax``."""
        m = self.max
        if m is LEX_MAX:
            return True
        if m is LEX_MIN:
            return False
        return v < m if self.maxex else v <= m  # type: ignore[operator]

    def is_empty(self) -> bool:
        cmp = _cmplex(self.min, self.max)
        return cmp > 0 or (cmp == 0 and (self.minex or self.maxex))

    def __repr__(self) -> str:
        return "ZLexRangeSpec(%r%s, %r%s)" % (self.min, " excl" if self.minex else "", self.max, " excl" if self.maxex else "")


def _parse_lex_item(item: bytes) -> Optional[Tuple[LexValue, bool]]:
    if not item:
        return None
    c = item[0]
    if c == 43:  # '+'
        return (LEX_MAX, True) if len(item) == 1 else None
    if c == 45:  # '-'
        return (LEX_MIN, True) if len(item) == 1 else None
    if c == 40:  # '('
        return bytes(item[1:]), True
    if c == 91:  # '['
        return bytes(item[1:]), False
    return None


def parse_lex_range(min_arg: bytes, max_arg: bytes) -> Optional[ZLexRangeSpec]:
    """``zslParseLexRange``: ``[x`` inclusive, ``(x`` exclusive, ``-`` and
    ``+`` the open ends (only as the whole argument).  Returns None on a
    syntax error (Redis replies "min or max not valid string range item")."""
    lo = _parse_lex_item(min_arg)
    hi = _parse_lex_item(max_arg)
    if lo is None or hi is None:
        return None
    return ZLexRangeSpec(lo[0], hi[0], lo[1], hi[1])




# ---------------------------------------------------------------------------
# The sorted set
# ---------------------------------------------------------------------------

class ZSet:
    """A skiplist-encoded sorted set: ``dict`` member -> score plus sorted
    buckets of ``(score, member)`` keys (see the module docstring).  All
    ranks here are 0-based."""

    __slots__ = ("dict", "buckets", "maxes", "pend", "gone", "_cap", "_cum")

    def __init__(self) -> None:
        self.dict: Dict[bytes, float] = {}
        self.buckets: List[List[Key]] = []
        self.maxes: List[Key] = []
        #: members whose key is not in the buckets yet: member -> score
        self.pend: Dict[bytes, float] = {}
        #: members whose key in the buckets is stale: member -> that score
        self.gone: Dict[bytes, float] = {}
        self._cap = _PENDING_MIN
        self._cum: Optional[List[int]] = None

    @classmethod
    def from_sorted(cls, pairs: Iterable[Pair]) -> "ZSet":
        """Build from (member, score) pairs already sorted by (score, member)
        and duplicate-free, in O(n) (RDB load, ZUNIONSTORE results,
        listpack conversion).  Raises ValueError if the input is not strictly
        ascending or repeats a member."""
        keys = [(s, m) for m, s in pairs]
        if any(map(ge, keys, islice(keys, 1, None))):
            raise ValueError("pairs not sorted by (score, member)")
        zs = cls()
        d = zs.dict = {m: s for s, m in keys}
        if len(d) != len(keys):
            raise ValueError("duplicate member")
        buckets = zs.buckets = [keys[k:k + LOAD] for k in range(0, len(keys), LOAD)]
        zs.maxes = [b[-1] for b in buckets]
        zs._set_cap(len(keys))
        return zs

    def copy(self) -> "ZSet":
        """zsetDup: an independent copy (keys are immutable and shared)."""
        self._sync()
        zs = ZSet()
        zs.dict = self.dict.copy()
        zs.buckets = [b[:] for b in self.buckets]
        zs.maxes = self.maxes[:]
        return zs

    # -- membership ------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.dict)

    def __bool__(self) -> bool:
        return bool(self.dict)

    def __contains__(self, member: object) -> bool:
        return member in self.dict

    def score(self, member: bytes) -> Optional[float]:
        """ZSCORE: the member's score or None."""
        return self.dict.get(member)

    def __repr__(self) -> str:
        return "ZSet(%r)" % (self.items(),)

    # -- keys ------------------------------------------------------------------

    def _insert_key(self, key: Key) -> None:
        """Place a key whose member is not in the buckets yet."""
        maxes = self.maxes
        self._cum = None
        if maxes:
            i = bisect_left(maxes, key)
            if i == len(maxes):
                i -= 1
                b = self.buckets[i]
                b.append(key)
                maxes[i] = key
            else:
                b = self.buckets[i]
                insort(b, key)
            if len(b) > _SPLIT:
                self._split(i)
        else:
            self.buckets.append([key])
            maxes.append(key)

    def _split(self, i: int) -> None:
        b = self.buckets[i]
        half = len(b) >> 1
        self.buckets.insert(i + 1, b[half:])
        del b[half:]
        self.maxes.insert(i, b[-1])

    def _remove_key(self, key: Key) -> None:
        """Unlink a key that is in the buckets."""
        maxes = self.maxes
        i = bisect_left(maxes, key)
        b = self.buckets[i]
        j = bisect_left(b, key)
        if b[j] != key:
            raise KeyError(key)
        del b[j]
        self._cum = None
        if j == len(b):
            if not b:
                del self.buckets[i]
                del maxes[i]
                return
            maxes[i] = b[-1]
        if len(b) < _MERGE:
            self._merge(i)

    def _merge(self, i: int) -> None:
        """Merge the small bucket ``i`` into a neighbour (then split the
        result if it is too big)."""
        buckets = self.buckets
        if len(buckets) < 2:
            return
        if i + 1 == len(buckets):
            i -= 1
        buckets[i] += buckets[i + 1]
        del buckets[i + 1]
        maxes = self.maxes
        maxes[i] = maxes[i + 1]
        del maxes[i + 1]
        if len(buckets[i]) > _SPLIT:
            self._split(i)

    # -- updates ---------------------------------------------------------------

    def insert(self, score: float, member: bytes) -> None:
        """Add a member that is not present (ValueError if it is)."""
        d = self.dict
        if member in d:
            raise ValueError("member already present")
        d[member] = score
        pend = self.pend
        pend[member] = score
        if len(pend) > self._cap:
            self._sync()

    def add(self, member: bytes, score: float) -> bool:
        """Insert or update; True if the member is new.  (``zadd_command``
        in types/zset.py inlines this; keep the two in step.)"""
        d = self.dict
        old = d.get(member)
        pend = self.pend
        if old is None:
            d[member] = score
            pend[member] = score
            if len(pend) > self._cap:
                self._sync()
            return True
        if old != score:
            d[member] = score
            if member not in pend:
                self.gone[member] = old
            pend[member] = score
            if len(pend) > self._cap:
                self._sync()
        return False

    def update_score(self, member: bytes, newscore: float) -> float:
        """Change an existing member's score (KeyError if absent); returns
        the old score."""
        old = self.dict[member]
        if old != newscore:
            self.add(member, newscore)
        return old

    def remove(self, member: bytes) -> bool:
        """ZREM of one member; True if it was present."""
        old = self.dict.pop(member, None)
        if old is None:
            return False
        pend = self.pend
        if member in pend:
            del pend[member]
        else:
            gone = self.gone
            gone[member] = old
            if len(gone) > self._cap:
                self._sync()
        return True

    def delete(self, score: float, member: bytes) -> bool:
        """Remove (score, member) if that exact pair is present."""
        old = self.dict.get(member)
        if old is None or old != score:
            return False
        return self.remove(member)

    # -- deferred writes -----------------------------------------------------------

    def _set_cap(self, nkeys: int) -> None:
        cap = nkeys * 8
        if cap > _PENDING_MAX:
            cap = _PENDING_MAX
        self._cap = cap if cap > _PENDING_MIN else _PENDING_MIN

    def _sync(self) -> None:
        """Apply the deferred writes to the buckets (see the module
        docstring): one by one when they are few, else by rebuilding the
        buckets from one sort."""
        pend = self.pend
        gone = self.gone
        if not pend and not gone:
            return
        buckets = self.buckets
        nkeys = sum(map(len, buckets))
        if (len(pend) + len(gone)) * 2 < nkeys:
            if gone:
                rm = self._remove_key
                for m, s in gone.items():
                    rm((s, m))
                gone.clear()
            if pend:
                new = [(s, m) for m, s in pend.items()]
                pend.clear()
                new.sort()
                ins = self._insert_key
                for key in new:
                    ins(key)
            nkeys = len(self.dict)
        else:
            if gone:
                keys = [k for b in buckets for k in b if k[1] not in gone]
                gone.clear()
            else:
                keys = list(chain.from_iterable(buckets))
            if pend:
                keys += zip(pend.values(), pend.keys())
                pend.clear()
                keys.sort()
            buckets = self.buckets = [keys[k:k + LOAD] for k in range(0, len(keys), LOAD)]
            self.maxes = [b[-1] for b in buckets]
            self._cum = None
            nkeys = len(keys)
        self._set_cap(nkeys)

    # -- positions ---------------------------------------------------------------

    def _prefix(self, i: int) -> int:
        """Number of keys in the buckets before bucket ``i``."""
        cum = self._cum
        if cum is not None:
            return cum[i]
        buckets = self.buckets
        if i <= len(buckets) >> 1:
            return sum(map(len, buckets[:i]))
        return len(self.dict) - sum(map(len, buckets[i:]))

    def _locate(self, r: int) -> Tuple[int, int]:
        """Position of the key of rank ``r`` (0 <= r < len)."""
        buckets = self.buckets
        n0 = len(buckets[0])
        if r < n0:
            return 0, r
        cum = self._cum
        if cum is None:
            base = len(self.dict) - len(buckets[-1])
            if r >= base:
                return len(buckets) - 1, r - base
            cum = self._cum = list(accumulate(map(len, buckets), initial=0))
        i = bisect_right(cum, r) - 1
        return i, r - cum[i]

    def _pos_of(self, key: Key) -> Tuple[int, int]:
        """Position of a key that is present."""
        i = bisect_left(self.maxes, key)
        return i, bisect_left(self.buckets[i], key)

    def _span_len(self, i1: int, j1: int, i2: int, j2: int) -> int:
        """Keys from position (i1, j1) up to (excluding) (i2, j2)."""
        if i1 == i2:
            return j2 - j1
        cum = self._cum
        if cum is not None:
            return cum[i2] - cum[i1] + j2 - j1
        return sum(map(len, self.buckets[i1:i2])) + j2 - j1

    def _score_pos(self, x: float, excl: bool) -> Tuple[int, int]:
        """First position whose score is >= x (> x when ``excl``)."""
        f = bisect_right if excl else bisect_left
        maxes = self.maxes
        i = f(maxes, x, key=_score_key)
        if i == len(maxes):
            return i, 0
        return i, f(self.buckets[i], x, key=_score_key)

    def _lex_pos(self, v: LexValue, excl: bool) -> Tuple[int, int]:
        """First position whose member is >= v (> v when ``excl``); LEX_MIN
        is the start and LEX_MAX the end."""
        if v is LEX_MIN:
            return 0, 0
        maxes = self.maxes
        if v is LEX_MAX:
            return len(maxes), 0
        f = bisect_right if excl else bisect_left
        i = f(maxes, v, key=_member_key)
        if i == len(maxes):
            return i, 0
        return i, f(self.buckets[i], v, key=_member_key)

    def _score_span(self, spec: "ZRangeSpec") -> Tuple[int, int, int, int]:
        i1, j1 = self._score_pos(spec.min, spec.minex)
        i2, j2 = self._score_pos(spec.max, not spec.maxex)
        return i1, j1, i2, j2

    def _lex_span(self, spec: "ZLexRangeSpec") -> Tuple[int, int, int, int]:
        i1, j1 = self._lex_pos(spec.min, spec.minex)
        mx = spec.max
        if mx is LEX_MIN:
            return i1, j1, 0, 0
        i2, j2 = self._lex_pos(mx, not spec.maxex)
        return i1, j1, i2, j2

    def _advance(self, i: int, j: int, k: int) -> Tuple[int, int]:
        """The position ``k`` keys after (i, j) (the end if past it)."""
        buckets = self.buckets
        nb = len(buckets)
        if k > 8 * LOAD:
            r = self._prefix(i) + j + k
            return self._locate(r) if r < len(self.dict) else (nb, 0)
        while k:
            room = len(buckets[i]) - j
            if k < room:
                return i, j + k
            k -= room
            i += 1
            j = 0
            if i == nb:
                return nb, 0
        return i, j

    def _retreat(self, i: int, j: int, k: int) -> Tuple[int, int]:
        """The position ``k`` keys before (i, j); (-1, 0) if before the
        start."""
        buckets = self.buckets
        if k > 8 * LOAD:
            r = self._prefix(i) + j - k
            return self._locate(r) if r >= 0 else (-1, 0)
        while k > j:
            k -= j + 1
            i -= 1
            if i < 0:
                return -1, 0
            j = len(buckets[i]) - 1
        return i, j - k

    def _take(self, i: int, j: int, i2: int, j2: int, limit: int) -> List[Key]:
        """Keys from (i, j) forward, up to (excluding) (i2, j2), at most
        ``limit`` (negative: no limit)."""
        buckets = self.buckets
        out: List[Key] = []
        while limit and (i < i2 or (i == i2 and j < j2)):
            b = buckets[i]
            stop = j2 if i == i2 else len(b)
            if limit > 0:
                if stop - j > limit:
                    stop = j + limit
                limit -= stop - j
            out += b[j:stop]
            i += 1
            j = 0
        return out

    def _take_back(self, i: int, j: int, i1: int, j1: int, limit: int) -> List[Key]:
        """Keys from (i, j) (included) backward down to (i1, j1) (included),
        at most ``limit`` (negative: no limit); highest first."""
        buckets = self.buckets
        out: List[Key] = []
        while limit and (i > i1 or (i == i1 and j >= j1)):
            b = buckets[i]
            lo = j1 if i == i1 else 0
            if limit > 0:
                if j + 1 - lo > limit:
                    lo = j + 1 - limit
                limit -= j + 1 - lo
            chunk = b[lo:j + 1]
            chunk.reverse()
            out += chunk
            i -= 1
            if i >= 0:
                j = len(buckets[i]) - 1
        return out

    def _range(self, i1: int, j1: int, i2: int, j2: int, reverse: bool,
               offset: int, limit: int) -> List[Pair]:
        """The pairs of span [(i1, j1), (i2, j2)) after skipping ``offset``
        from the low end (the high end if ``reverse``), at most ``limit``."""
        if (i2, j2) <= (i1, j1):
            return []
        if reverse:
            i, j = self._retreat(i2, j2, 1 + offset)
            if i < 0:
                return []
            keys = self._take_back(i, j, i1, j1, limit)
        else:
            i, j = self._advance(i1, j1, offset) if offset else (i1, j1)
            keys = self._take(i, j, i2, j2, limit)
        return [(m, s) for s, m in keys]

    def _delete_span(self, i1: int, j1: int, i2: int, j2: int) -> List[Key]:
        """Unlink the keys of span [(i1, j1), (i2, j2)) (not empty) from the
        buckets and return them in order (the dict is the caller's)."""
        buckets = self.buckets
        maxes = self.maxes
        self._cum = None
        b = buckets[i1]
        if i1 == i2:
            removed = b[j1:j2]
            del b[j1:j2]
        else:
            removed = b[j1:]
            del b[j1:]
            for k in range(i1 + 1, i2):
                removed += buckets[k]
            del buckets[i1 + 1:i2]
            del maxes[i1 + 1:i2]
            if i1 + 1 < len(buckets) and j2:
                b2 = buckets[i1 + 1]
                removed += b2[:j2]
                del b2[:j2]
        if b:
            maxes[i1] = b[-1]
            if len(b) < _MERGE:
                self._merge(i1)
                return removed
            i1 += 1
        else:
            del buckets[i1]
            del maxes[i1]
        if i1 < len(buckets) and len(buckets[i1]) < _MERGE:
            self._merge(i1)
        return removed

    def _forget(self, keys: List[Key]) -> List[bytes]:
        d = self.dict
        out = [m for _, m in keys]
        for m in out:
            del d[m]
        return out

    # -- ranks -------------------------------------------------------------------

    def rank(self, member: bytes, reverse: bool = False) -> Optional[int]:
        """ZRANK / ZREVRANK: 0-based, or None if absent."""
        self._sync()
        d = self.dict
        s = d.get(member)
        if s is None:
            return None
        i, j = self._pos_of((s, member))
        r = self._prefix(i) + j
        return len(d) - 1 - r if reverse else r

    def by_rank(self, index: int, reverse: bool = False) -> Optional[Pair]:
        """(member, score) at 0-based ``index`` (from the top if
        ``reverse``), None if out of range."""
        self._sync()
        n = len(self.dict)
        if index < 0 or index >= n:
            return None
        i, j = self._locate(n - 1 - index if reverse else index)
        s, m = self.buckets[i][j]
        return m, s

    def iter_from_rank(self, index: int, reverse: bool = False) -> Iterator[Pair]:
        """Iterate (member, score) from 0-based ``index`` (counted from the
        top when ``reverse``) to the end."""
        self._sync()
        n = len(self.dict)
        if index < 0 or index >= n:
            return iter(())
        if reverse:
            i, j = self._locate(n - 1 - index)
            return self._iter_back(i, j)
        i, j = self._locate(index)
        return self._iter_fwd(i, j)

    def _iter_fwd(self, i: int, j: int) -> Iterator[Pair]:
        buckets = self.buckets
        for b in islice(buckets, i, None):
            for s, m in islice(b, j, None):
                yield m, s
            j = 0

    def _iter_back(self, i: int, j: int) -> Iterator[Pair]:
        buckets = self.buckets
        while i >= 0:
            b = buckets[i]
            while j >= 0:
                s, m = b[j]
                yield m, s
                j -= 1
            i -= 1
            if i >= 0:
                j = len(buckets[i]) - 1

    def __iter__(self) -> Iterator[Pair]:
        self._sync()
        return ((m, s) for b in self.buckets for s, m in b)

    def iter_pairs(self, reverse: bool = False) -> Iterator[Pair]:
        """(member, score) pairs, lowest first (highest first if
        ``reverse``)."""
        self._sync()
        if not reverse:
            return ((m, s) for b in self.buckets for s, m in b)
        return ((m, s) for b in reversed(self.buckets) for s, m in reversed(b))

    def items(self) -> List[Pair]:
        self._sync()
        return [(m, s) for b in self.buckets for s, m in b]

    def first(self) -> Optional[Pair]:
        """The lowest (member, score) or None."""
        self._sync()
        buckets = self.buckets
        if not buckets:
            return None
        s, m = buckets[0][0]
        return m, s

    def last(self) -> Optional[Pair]:
        """The highest (member, score) or None."""
        self._sync()
        buckets = self.buckets
        if not buckets:
            return None
        s, m = buckets[-1][-1]
        return m, s

    def range_by_rank(self, start: int, end: int, reverse: bool = False) -> List[Pair]:
        """ZRANGE start end [REV]: both ends inclusive, negative indexes
        from the end, clamped exactly as ``zrangeGenericCommand`` does."""
        self._sync()
        llen = len(self.dict)
        span = index_span(start, end, llen)
        if span is None:
            return []
        start, end = span
        count = end - start + 1
        if reverse:
            i, j = self._locate(llen - 1 - start)
            keys = self._take_back(i, j, 0, 0, count)
        else:
            i, j = self._locate(start)
            keys = self._take(i, j, len(self.buckets), 0, count)
        return [(m, s) for s, m in keys]

    def range_by_score(self, spec: "ZRangeSpec", reverse: bool = False, offset: int = 0,
                       limit: int = -1) -> List[Pair]:
        """ZRANGEBYSCORE / ZREVRANGEBYSCORE with LIMIT offset count
        (``limit < 0`` = no limit)."""
        self._sync()
        if not self.buckets:
            return []
        i1, j1, i2, j2 = self._score_span(spec)
        return self._range(i1, j1, i2, j2, reverse, offset, limit)

    def range_by_lex(self, spec: "ZLexRangeSpec", reverse: bool = False, offset: int = 0,
                     limit: int = -1) -> List[Pair]:
        """ZRANGEBYLEX / ZREVRANGEBYLEX with LIMIT."""
        self._sync()
        if not self.buckets:
            return []
        i1, j1, i2, j2 = self._lex_span(spec)
        return self._range(i1, j1, i2, j2, reverse, offset, limit)

    def count_by_score(self, spec: "ZRangeSpec") -> int:
        """ZCOUNT."""
        self._sync()
        if not self.buckets:
            return 0
        i1, j1, i2, j2 = self._score_span(spec)
        if (i2, j2) <= (i1, j1):
            return 0
        return self._span_len(i1, j1, i2, j2)

    def count_by_lex(self, spec: "ZLexRangeSpec") -> int:
        """ZLEXCOUNT."""
        self._sync()
        if not self.buckets:
            return 0
        i1, j1, i2, j2 = self._lex_span(spec)
        if (i2, j2) <= (i1, j1):
            return 0
        return self._span_len(i1, j1, i2, j2)

    def score_group_after(self, x: Optional[float]) -> List[Pair]:
        """The pairs sharing the lowest score above ``x`` (the lowest score
        of all when ``x`` is None), in order (ZSCAN steps)."""
        self._sync()
        buckets = self.buckets
        if not buckets:
            return []
        if x is None:
            i, j = 0, 0
        else:
            i, j = self._score_pos(x, True)
            if i == len(buckets):
                return []
        s0 = buckets[i][j][0]
        i2, j2 = self._score_pos(s0, True)
        return [(m, s) for s, m in self._take(i, j, i2, j2, -1)]

    # -- range deletion ----------------------------------------------------------

    def delete_range_by_score(self, spec: "ZRangeSpec") -> List[bytes]:
        """ZREMRANGEBYSCORE; returns the removed members in order."""
        self._sync()
        if not self.buckets:
            return []
        i1, j1, i2, j2 = self._score_span(spec)
        if (i2, j2) <= (i1, j1):
            return []
        return self._forget(self._delete_span(i1, j1, i2, j2))

    def delete_range_by_lex(self, spec: "ZLexRangeSpec") -> List[bytes]:
        """ZREMRANGEBYLEX; returns the removed members in order."""
        self._sync()
        if not self.buckets:
            return []
        i1, j1, i2, j2 = self._lex_span(spec)
        if (i2, j2) <= (i1, j1):
            return []
        return self._forget(self._delete_span(i1, j1, i2, j2))

    def _delete_ranks(self, start: int, end: int) -> List[Key]:
        """Unlink the keys of ranks start..end (valid, inclusive)."""
        self._sync()
        i1, j1 = self._locate(start)
        if end + 1 < len(self.dict):
            i2, j2 = self._locate(end + 1)
        else:
            i2, j2 = len(self.buckets), 0
        keys = self._delete_span(i1, j1, i2, j2)
        d = self.dict
        for _, m in keys:
            del d[m]
        return keys

    def delete_range_by_rank(self, start: int, end: int) -> List[bytes]:
        """ZREMRANGEBYRANK: 0-based inclusive, negative from the end, clamped
        like ``zremrangeGenericCommand``."""
        span = index_span(start, end, len(self.dict))
        if span is None:
            return []
        return [m for _, m in self._delete_ranks(*span)]

    def pop_first(self) -> Optional[Pair]:
        """ZPOPMIN of one: remove and return the lowest (member, score)
        pair, or None if empty (``zpopmin_command``'s fast path)."""
        if self.pend or self.gone:
            self._sync()
        buckets = self.buckets
        if not buckets:
            return None
        b = buckets[0]
        s, m = b[0]
        del b[0]
        del self.dict[m]
        self._cum = None
        if not b:
            del buckets[0]
            del self.maxes[0]
        return m, s

    def pop_last(self) -> Optional[Pair]:
        """ZPOPMAX of one: remove and return the highest pair (None if
        empty)."""
        self._sync()
        buckets = self.buckets
        if not buckets:
            return None
        b = buckets[-1]
        s, m = b.pop()
        del self.dict[m]
        self._cum = None
        if b:
            self.maxes[-1] = b[-1]
        else:
            del buckets[-1]
            del self.maxes[-1]
        return m, s

    def pop_min(self, count: int = 1) -> List[Pair]:
        """ZPOPMIN: remove and return up to ``count`` lowest pairs."""
        n = len(self.dict)
        if count <= 0 or not n:
            return []
        if count > n:
            count = n
        return [(m, s) for s, m in self._delete_ranks(0, count - 1)]

    def pop_max(self, count: int = 1) -> List[Pair]:
        """ZPOPMAX: remove and return up to ``count`` highest pairs, highest
        first."""
        n = len(self.dict)
        if count <= 0 or not n:
            return []
        if count > n:
            count = n
        keys = self._delete_ranks(n - count, n - 1)
        keys.reverse()
        return [(m, s) for s, m in keys]

    def random_pair(self) -> Pair:
        """A uniformly random (member, score) (IndexError if empty)."""
        n = len(self.dict)
        if not n:
            raise IndexError("random member of empty zset")
        return self.by_rank(_random.randrange(n))  # type: ignore[return-value]

    # -- consistency check (tests / DEBUG) ---------------------------------------

    def check(self) -> None:
        """Verify bucket order, sizes, maxes and the dict; raises
        AssertionError."""
        buckets = self.buckets
        d = self.dict
        pend = self.pend
        gone = self.gone
        assert len(self.maxes) == len(buckets), "maxes and buckets differ in length"
        for m, s in pend.items():
            assert d.get(m) is s, "pending key not in the dict"
        prev = None
        total = 0
        seen_gone = 0
        for b, mx in zip(buckets, self.maxes):
            assert b, "empty bucket"
            assert len(b) <= _SPLIT, "bucket over the split size"
            assert b[-1] is mx, "bad max"
            for key in b:
                if prev is not None:
                    assert prev < key, "order violated"
                m = key[1]
                if m in gone:
                    assert gone[m] is key[0], "stale key and gone disagree"
                    seen_gone += 1
                else:
                    assert m not in pend, "member both pending and in the buckets"
                    assert d.get(m) is key[0], "dict and buckets disagree"
                prev = key
            total += len(b)
        assert seen_gone == len(gone), "gone member without a key"
        assert total - seen_gone + len(pend) == len(d), "length mismatch"
        if self._cum is not None:
            assert self._cum == list(accumulate(map(len, buckets), initial=0)), "stale _cum"

    # -- skiplist-shaped view (see the module docstring) --------------------------

    @property
    def zsl(self) -> "_ZslView":
        return _ZslView(self)

    def _node(self, i: int, j: int) -> Optional["_NodeView"]:
        """The view node of position (i, j), normalising j past a bucket's
        end to the next bucket; None past the end."""
        buckets = self.buckets
        while i < len(buckets) and j >= len(buckets[i]):
            j -= len(buckets[i])
            i += 1
        if i >= len(buckets):
            return None
        return _NodeView(self, i, j)


class _NodeView:
    """A skiplist-node-shaped view of one key (``ZSet.zsl``)."""

    __slots__ = ("ele", "score", "_zs", "_i", "_j")

    def __init__(self, zs: ZSet, i: int, j: int) -> None:
        self._zs = zs
        self._i = i
        self._j = j
        if i < 0:
            self.ele = None
            self.score = 0.0
        else:
            self.score, self.ele = zs.buckets[i][j]

    @property
    def lv(self) -> Optional[list]:
        nxt = self._zs._node(max(self._i, 0), self._j + 1)
        return [nxt, 1]

    @lv.setter
    def lv(self, value: object) -> None:
        # Lazy free walks the nodes setting lv to None: release a bucket
        # once its last node is passed (the zset is being dismantled).
        if value is None and self._i >= 0:
            buckets = self._zs.buckets
            b = buckets[self._i]
            if self._j == len(b) - 1:
                buckets[self._i] = []

    @property
    def backward(self) -> Optional["_NodeView"]:
        i, j = self._zs._retreat(self._i, self._j, 1) if self._i >= 0 else (-1, 0)
        return None if i < 0 else _NodeView(self._zs, i, j)

    @backward.setter
    def backward(self, value: object) -> None:
        pass

    def __repr__(self) -> str:
        return "<node %r %r>" % (self.ele, self.score)


class _ZslView:
    """The skiplist-shaped view of a ``ZSet`` (``ZSet.zsl``)."""

    __slots__ = ("_zs",)

    def __init__(self, zs: ZSet) -> None:
        self._zs = zs

    @property
    def length(self) -> int:
        return len(self._zs.dict)

    def __len__(self) -> int:
        return len(self._zs.dict)

    @property
    def header(self) -> _NodeView:
        self._zs._sync()
        return _NodeView(self._zs, -1, -1)

    @property
    def tail(self) -> Optional[_NodeView]:
        self._zs._sync()
        b = self._zs.buckets
        return _NodeView(self._zs, len(b) - 1, len(b[-1]) - 1) if b else None

    @tail.setter
    def tail(self, value: object) -> None:
        pass

    def iter_nodes(self, start: None = None, reverse: bool = False) -> Iterator["_Pair"]:
        """Every key as an object with ``ele`` and ``score``, lowest first
        (highest first if ``reverse``)."""
        self._zs._sync()
        for m, s in self._zs.iter_pairs(reverse):
            yield _Pair(m, s)

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._zs)

    def check(self) -> None:
        self._zs.check()


class _Pair:
    __slots__ = ("ele", "score")

    def __init__(self, ele: bytes, score: float) -> None:
        self.ele = ele
        self.score = score
