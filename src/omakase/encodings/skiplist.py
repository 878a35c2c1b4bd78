"""Skiplist-encoded sorted sets: ``ZSkiplist`` and ``ZSet``.

Mirrors Redis 7.0 ``src/t_zset.c``: ``zslCreate``, ``zslRandomLevel``,
``zslInsert``, ``zslDeleteNode``, ``zslDelete``, ``zslUpdateScore``,
``zslGetRank``, ``zslGetElementByRank``, ``zslIsInRange``,
``zslFirstInRange``/``zslLastInRange`` (and their ``*Lex*`` twins),
``zslDeleteRangeByScore``/``ByLex``/``ByRank``, ``zslParseLexRange`` and
``sdscmplex``.

The skiplist
------------
Elements are ordered by (score, member), where members compare as raw bytes
(``sdscmp`` is memcmp, then length, which is Python ``bytes`` ordering).
Every node has 1..32 levels, each holding a forward pointer and a *span*: how
many level-0 steps that pointer jumps.  Summing spans along a search path
gives a rank in O(log n).  A node gets ``k`` levels with probability
0.25^(k-1)*0.75 (ZSKIPLIST_P = 0.25, ZSKIPLIST_MAXLEVEL = 32).  Level 0 also
has a backward pointer for reverse walks.  The header node has all 32 levels
and holds no element.

As in Redis, a span whose forward pointer is None counts the nodes after this
one (the header's counts all nodes).  Such spans are never used to move,
only kept consistent.

Python layout
-------------
``ZSkiplistNode`` has ``__slots__`` ``ele``, ``score``, ``backward`` and
``lv``.  ``lv`` is ONE list interleaving the per-level pairs:
``[forward0, span0, forward1, span1, ...]``.  Compared with one list for
forwards and one for spans, this saves a list object (about 70 bytes) per
node.  The search loops index it with ``2*i`` and ``2*i+1``.

Ranks
-----
``ZSkiplist`` follows Redis: ``get_rank`` is 1-based and returns 0 when the
element is absent, and ``get_by_rank``/``delete_range_by_rank`` take 1-based
ranks.  ``ZSet``, the type-level API, is 0-based everywhere (as ZRANK,
ZRANGE and ZREMRANGEBYRANK are).

``ZSet``
--------
``ZSet`` pairs the skiplist with a ``dict`` like Redis's ``zset`` struct.
DIVERGENCE: the dict maps member -> skiplist *node* (not member -> score).
The score is ``node.score``, so ZSCORE costs the same, but a score update
can try ``zslUpdateScore``'s in-place fast path in O(1), before any search.
The result is the same as Redis's: when the new score still sorts between
the node's neighbours the node stays where it is; otherwise it is unlinked
and re-inserted with a fresh random level (the same node object is reused,
where Redis allocates a new one).
"""

from __future__ import annotations

import random as _random
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

__all__ = [
    "ZSkiplist",
    "ZSkiplistNode",
    "ZSet",
    "ZRangeSpec",
    "ZLexRangeSpec",
    "LEX_MIN",
    "LEX_MAX",
    "parse_lex_range",
    "random_level",
    "ZSKIPLIST_MAXLEVEL",
    "ZSKIPLIST_P",
]

ZSKIPLIST_MAXLEVEL = 32
ZSKIPLIST_P = 0.25

_rand = _random.random


def random_level() -> int:
    """``zslRandomLevel``: 1 + the number of consecutive successes of a
    p=0.25 trial, capped at 32."""
    level = 1
    while _rand() < ZSKIPLIST_P and level < ZSKIPLIST_MAXLEVEL:
        level += 1
    return level


class ZSkiplistNode:
    """A skiplist node; ``lv`` is ``[fwd0, span0, fwd1, span1, ...]``."""

    __slots__ = ("ele", "score", "backward", "lv")

    def __init__(self, ele: Optional[bytes], score: float, level: int) -> None:
        self.ele = ele
        self.score = score
        self.backward: Optional[ZSkiplistNode] = None
        self.lv: list = [None, 0] * level

    @property
    def level(self) -> int:
        return len(self.lv) >> 1

    def __repr__(self) -> str:
        return "<ZSkiplistNode %r %r L%d>" % (self.ele, self.score, len(self.lv) >> 1)


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
# The skiplist
# ---------------------------------------------------------------------------

class ZSkiplist:
    """Redis's ``zskiplist``.  Callers guarantee (like Redis) that a member
    is inserted at most once; ``ZSet`` enforces it."""

    __slots__ = ("header", "tail", "length", "level")

    def __init__(self) -> None:
        self.header = ZSkiplistNode(None, 0.0, ZSKIPLIST_MAXLEVEL)
        self.tail: Optional[ZSkiplistNode] = None
        self.length = 0
        self.level = 1

    def __len__(self) -> int:
        return self.length

    def __del__(self) -> None:
        # Each node's backward pointer and its predecessor's forward pointer
        # form a reference cycle.  The server runs without the cyclic
        # collector's full passes (see server.py), so a dropped skiplist
        # breaks its cycles itself and plain reference counting frees it.
        x = self.tail
        while x is not None:
            x.backward, x = None, x.backward

    # -- insertion / deletion -------------------------------------------------

    def insert(self, score: float, ele: bytes) -> ZSkiplistNode:
        """``zslInsert``: add a new node and return it."""
        return self._link(ZSkiplistNode(ele, score, random_level()))

    def _link(self, node: ZSkiplistNode) -> ZSkiplistNode:
        score = node.score
        ele = node.ele
        x = self.header
        lvl = self.level
        update: list = [None] * lvl
        rank = [0] * lvl
        r = 0
        i = lvl - 1
        while i >= 0:
            j = i << 1
            lv = x.lv
            nxt = lv[j]
            while nxt is not None:
                s = nxt.score
                if s < score or (s == score and nxt.ele < ele):
                    r += lv[j + 1]
                    x = nxt
                    lv = x.lv
                    nxt = lv[j]
                else:
                    break
            update[i] = x
            rank[i] = r
            i -= 1
        nlv = node.lv
        level = len(nlv) >> 1
        if level > lvl:
            header = self.header
            hlv = header.lv
            length = self.length
            for i in range(lvl, level):
                update.append(header)
                rank.append(0)
                hlv[(i << 1) + 1] = length
            self.level = level
        r0 = rank[0]
        for i in range(level):
            j = i << 1
            ulv = update[i].lv
            nlv[j] = ulv[j]
            ulv[j] = node
            d = r0 - rank[i]
            nlv[j + 1] = ulv[j + 1] - d
            ulv[j + 1] = d + 1
        for i in range(level, self.level):
            update[i].lv[(i << 1) + 1] += 1
        u0 = update[0]
        node.backward = None if u0 is self.header else u0
        nxt = nlv[0]
        if nxt is not None:
            nxt.backward = node
        else:
            self.tail = node
        self.length += 1
        return node

    def _update_path(self, score: float, ele: bytes) -> list:
        """For each level, the last node before (score, ele)."""
        x = self.header
        lvl = self.level
        update: list = [None] * lvl
        i = lvl - 1
        while i >= 0:
            j = i << 1
            nxt = x.lv[j]
            while nxt is not None:
                s = nxt.score
                if s < score or (s == score and nxt.ele < ele):
                    x = nxt
                    nxt = x.lv[j]
                else:
                    break
            update[i] = x
            i -= 1
        return update

    def _unlink(self, x: ZSkiplistNode, update: list) -> None:
        """``zslDeleteNode``."""
        xlv = x.lv
        for i in range(self.level):
            j = i << 1
            ulv = update[i].lv
            if ulv[j] is x:
                ulv[j + 1] += xlv[j + 1] - 1
                ulv[j] = xlv[j]
            else:
                ulv[j + 1] -= 1
        nxt = xlv[0]
        if nxt is not None:
            nxt.backward = x.backward
        else:
            self.tail = x.backward
        hlv = self.header.lv
        while self.level > 1 and hlv[(self.level - 1) << 1] is None:
            self.level -= 1
        self.length -= 1

    def delete(self, score: float, ele: bytes) -> Optional[ZSkiplistNode]:
        """``zslDelete``: unlink the node with this score and member and
        return it, or None if there is none."""
        update = self._update_path(score, ele)
        x = update[0].lv[0]
        if x is not None and x.score == score and x.ele == ele:
            self._unlink(x, update)
            return x
        return None

    def update_score(self, curscore: float, ele: bytes, newscore: float) -> ZSkiplistNode:
        """``zslUpdateScore``: the element must exist with ``curscore``.
        Updates in place when the order is preserved, else re-links the node
        at its new position.  Returns the (same) node."""
        update = self._update_path(curscore, ele)
        x = update[0].lv[0]
        if x is None or x.score != curscore or x.ele != ele:
            raise KeyError(ele)
        return self._rescore(x, newscore, update)

    def _rescore(self, x: ZSkiplistNode, newscore: float, update: Optional[list]) -> ZSkiplistNode:
        back = x.backward
        nxt = x.lv[0]
        if (back is None or back.score < newscore) and (nxt is None or nxt.score > newscore):
            x.score = newscore
            return x
        if update is None:
            update = self._update_path(x.score, x.ele)  # type: ignore[arg-type]
        self._unlink(x, update)
        x.score = newscore
        x.backward = None
        x.lv = [None, 0] * random_level()
        return self._link(x)

    # -- rank ----------------------------------------------------------------

    def get_rank(self, score: float, ele: bytes) -> int:
        """``zslGetRank``: 1-based rank of (score, ele), 0 if absent."""
        x = self.header
        r = 0
        i = self.level - 1
        while i >= 0:
            j = i << 1
            lv = x.lv
            nxt = lv[j]
            while nxt is not None:
                s = nxt.score
                if s < score or (s == score and nxt.ele <= ele):
                    r += lv[j + 1]
                    x = nxt
                    lv = x.lv
                    nxt = lv[j]
                else:
                    break
            if x.ele is not None and x.score == score and x.ele == ele:
                return r
            i -= 1
        return 0

    def get_by_rank(self, rank: int) -> Optional[ZSkiplistNode]:
        """``zslGetElementByRank``: the node at 1-based ``rank`` or None."""
        if rank < 1 or rank > self.length:
            return None
        x = self.header
        traversed = 0
        i = self.level - 1
        while i >= 0:
            j = i << 1
            lv = x.lv
            nxt = lv[j]
            while nxt is not None and traversed + lv[j + 1] <= rank:
                traversed += lv[j + 1]
                x = nxt
                lv = x.lv
                nxt = lv[j]
            if traversed == rank:
                return x
            i -= 1
        return None

    @property
    def first(self) -> Optional[ZSkiplistNode]:
        return self.header.lv[0]

    # -- score ranges ----------------------------------------------------------

    def is_in_range(self, spec: ZRangeSpec) -> bool:
        """``zslIsInRange``: whether any element could be in ``spec``."""
        if spec.is_empty():
            return False
        x = self.tail
        if x is None or not spec.gte_min(x.score):
            return False
        x = self.header.lv[0]
        if x is None or not spec.lte_max(x.score):
            return False
        return True

    def _advance_while(self, keep_going: Callable[[ZSkiplistNode], bool]) -> ZSkiplistNode:
        """From the header, go as far right as ``keep_going`` allows on every
        level; returns the last node passed (the header if none)."""
        x = self.header
        i = self.level - 1
        while i >= 0:
            j = i << 1
            nxt = x.lv[j]
            while nxt is not None and keep_going(nxt):
                x = nxt
                nxt = x.lv[j]
            i -= 1
        return x

    def first_in_range(self, spec: ZRangeSpec) -> Optional[ZSkiplistNode]:
        """``zslFirstInRange``: lowest node whose score is in ``spec``."""
        if not self.is_in_range(spec):
            return None
        gte = spec.gte_min
        x = self._advance_while(lambda n: not gte(n.score)).lv[0]
        if x is None or not spec.lte_max(x.score):
            return None
        return x

    def last_in_range(self, spec: ZRangeSpec) -> Optional[ZSkiplistNode]:
        """``zslLastInRange``: highest node whose score is in ``spec``."""
        if not self.is_in_range(spec):
            return None
        lte = spec.lte_max
        x = self._advance_while(lambda n: lte(n.score))
        if x is self.header or not spec.gte_min(x.score):
            return None
        return x

    # -- lex ranges ------------------------------------------------------------

    def is_in_lex_range(self, spec: ZLexRangeSpec) -> bool:
        """``zslIsInLexRange``."""
        if spec.is_empty():
            return False
        x = self.tail
        if x is None or not spec.gte_min(x.ele):  # type: ignore[arg-type]
            return False
        x = self.header.lv[0]
        if x is None or not spec.lte_max(x.ele):
            return False
        return True

    def first_in_lex_range(self, spec: ZLexRangeSpec) -> Optional[ZSkiplistNode]:
        """``zslFirstInLexRange``."""
        if not self.is_in_lex_range(spec):
            return None
        gte = spec.gte_min
        x = self._advance_while(lambda n: not gte(n.ele)).lv[0]
        if x is None or not spec.lte_max(x.ele):
            return None
        return x

    def last_in_lex_range(self, spec: ZLexRangeSpec) -> Optional[ZSkiplistNode]:
        """``zslLastInLexRange``."""
        if not self.is_in_lex_range(spec):
            return None
        lte = spec.lte_max
        x = self._advance_while(lambda n: lte(n.ele))
        if x is self.header or not spec.gte_min(x.ele):  # type: ignore[arg-type]
            return None
        return x

    # -- range deletion ----------------------------------------------------------

    def _delete_from(self, update: list, x: Optional[ZSkiplistNode], keep) -> List[ZSkiplistNode]:
        removed: List[ZSkiplistNode] = []
        while x is not None and keep(x):
            nxt = x.lv[0]
            self._unlink(x, update)
            removed.append(x)
            x = nxt
        return removed

    def delete_range_by_score(self, spec: ZRangeSpec) -> List[ZSkiplistNode]:
        """``zslDeleteRangeByScore``: unlink and return every node in range."""
        x = self.header
        lvl = self.level
        update: list = [None] * lvl
        gte = spec.gte_min
        i = lvl - 1
        while i >= 0:
            j = i << 1
            nxt = x.lv[j]
            while nxt is not None and not gte(nxt.score):
                x = nxt
                nxt = x.lv[j]
            update[i] = x
            i -= 1
        lte = spec.lte_max
        return self._delete_from(update, x.lv[0], lambda n: lte(n.score))

    def delete_range_by_lex(self, spec: ZLexRangeSpec) -> List[ZSkiplistNode]:
        """``zslDeleteRangeByLex``."""
        x = self.header
        lvl = self.level
        update: list = [None] * lvl
        gte = spec.gte_min
        i = lvl - 1
        while i >= 0:
            j = i << 1
            nxt = x.lv[j]
            while nxt is not None and not gte(nxt.ele):
                x = nxt
                nxt = x.lv[j]
            update[i] = x
            i -= 1
        lte = spec.lte_max
        return self._delete_from(update, x.lv[0], lambda n: lte(n.ele))

    def delete_range_by_rank(self, start: int, end: int) -> List[ZSkiplistNode]:
        """``zslDeleteRangeByRank``: 1-based, both ends inclusive."""
        x = self.header
        lvl = self.level
        update: list = [None] * lvl
        traversed = 0
        i = lvl - 1
        while i >= 0:
            j = i << 1
            lv = x.lv
            nxt = lv[j]
            while nxt is not None and traversed + lv[j + 1] < start:
                traversed += lv[j + 1]
                x = nxt
                lv = x.lv
                nxt = lv[j]
            update[i] = x
            i -= 1
        removed: List[ZSkiplistNode] = []
        traversed += 1
        x = x.lv[0]
        while x is not None and traversed <= end:
            nxt = x.lv[0]
            self._unlink(x, update)
            removed.append(x)
            traversed += 1
            x = nxt
        return removed

    # -- iteration -------------------------------------------------------------

    def iter_nodes(self, start: Optional[ZSkiplistNode] = None, reverse: bool = False) -> Iterator[ZSkiplistNode]:
        """Walk nodes from ``start`` (default: first, or last if ``reverse``)."""
        x = start if start is not None else (self.tail if reverse else self.header.lv[0])
        if reverse:
            while x is not None:
                yield x
                x = x.backward
        else:
            while x is not None:
                yield x
                x = x.lv[0]

    def __iter__(self) -> Iterator[Tuple[bytes, float]]:
        x = self.header.lv[0]
        while x is not None:
            yield x.ele, x.score  # type: ignore[misc]
            x = x.lv[0]

    # -- consistency check (tests / DEBUG) ---------------------------------------

    def check(self) -> None:
        """Verify ordering, spans, backward pointers, level and length;
        raises AssertionError."""
        nodes = []
        x = self.header.lv[0]
        prev = None
        while x is not None:
            assert x.backward is prev, "bad backward pointer"
            if prev is not None:
                assert (prev.score, prev.ele) < (x.score, x.ele), "order violated"
            nodes.append(x)
            prev = x
            x = x.lv[0]
        assert self.tail is prev
        assert len(nodes) == self.length
        pos = {id(n): i + 1 for i, n in enumerate(nodes)}
        pos[id(self.header)] = 0
        maxlvl = 1
        for n in [self.header] + nodes:
            lvl = len(n.lv) >> 1
            if n is not self.header:
                maxlvl = max(maxlvl, lvl)
            for i in range(min(lvl, self.level)):
                f = n.lv[2 * i]
                span = n.lv[2 * i + 1]
                if f is not None:
                    assert span == pos[id(f)] - pos[id(n)], "bad span"
                else:
                    assert span == self.length - pos[id(n)], "bad span to end"
        assert self.level == maxlvl, "level not minimal"


# ---------------------------------------------------------------------------
# The sorted set
# ---------------------------------------------------------------------------

Pair = Tuple[bytes, float]


class ZSet:
    """A skiplist-encoded sorted set: ``dict`` member -> node plus the
    skiplist.  All ranks here are 0-based."""

    __slots__ = ("zsl", "dict")

    def __init__(self) -> None:
        self.zsl = ZSkiplist()
        self.dict: Dict[bytes, ZSkiplistNode] = {}

    @classmethod
    def from_sorted(cls, pairs: Iterable[Pair]) -> "ZSet":
        """Build from (member, score) pairs already sorted by (score, member)
        and duplicate-free, in O(n) (RDB load, ZUNIONSTORE results,
        listpack conversion).  Raises ValueError if the input is not strictly
        ascending or repeats a member."""
        zs = cls()
        zsl = zs.zsl
        d = zs.dict
        header = zsl.header
        last: list = [header] * ZSKIPLIST_MAXLEVEL
        last_rank = [0] * ZSKIPLIST_MAXLEVEL
        maxlvl = 1
        prev: Optional[ZSkiplistNode] = None
        r = 0
        for member, score in pairs:
            if prev is not None:
                ps = prev.score
                if not (ps < score or (ps == score and prev.ele < member)):  # type: ignore[operator]
                    raise ValueError("pairs not sorted by (score, member)")
            if member in d:
                raise ValueError("duplicate member %r" % (member,))
            r += 1
            lvl = random_level()
            node = ZSkiplistNode(member, score, lvl)
            for i in range(lvl):
                j = i << 1
                llv = last[i].lv
                llv[j] = node
                llv[j + 1] = r - last_rank[i]
                last[i] = node
                last_rank[i] = r
            if lvl > maxlvl:
                maxlvl = lvl
            node.backward = prev
            prev = node
            d[member] = node
        for i in range(maxlvl):
            last[i].lv[(i << 1) + 1] = r - last_rank[i]
        zsl.tail = prev
        zsl.length = r
        zsl.level = maxlvl
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
        node = self.dict.get(member)
        return None if node is None else node.score

    def __repr__(self) -> str:
        return "ZSet(%r)" % (list(self.zsl),)

    # -- updates ---------------------------------------------------------------

    def insert(self, score: float, member: bytes) -> None:
        """Add a member that is not present (ValueError if it is)."""
        d = self.dict
        if member in d:
            raise ValueError("member already present")
        d[member] = self.zsl.insert(score, member)

    def add(self, member: bytes, score: float) -> bool:
        """Insert or update; True if the member is new."""
        d = self.dict
        node = d.get(member)
        if node is None:
            d[member] = self.zsl.insert(score, member)
            return True
        if node.score != score:
            self.zsl._rescore(node, score, None)
        return False

    def update_score(self, member: bytes, newscore: float) -> float:
        """Change an existing member's score (KeyError if absent); returns
        the old score.  Uses ``zslUpdateScore``'s in-place fast path."""
        node = self.dict[member]
        old = node.score
        if old != newscore:
            self.zsl._rescore(node, newscore, None)
        return old

    def remove(self, member: bytes) -> bool:
        """ZREM of one member; True if it was present."""
        node = self.dict.pop(member, None)
        if node is None:
            return False
        self.zsl.delete(node.score, member)
        return True

    def delete(self, score: float, member: bytes) -> bool:
        """Remove (score, member) if that exact pair is present."""
        node = self.dict.get(member)
        if node is None or node.score != score:
            return False
        return self.remove(member)

    # -- ranks -------------------------------------------------------------------

    def rank(self, member: bytes, reverse: bool = False) -> Optional[int]:
        """ZRANK / ZREVRANK: 0-based, or None if absent."""
        node = self.dict.get(member)
        if node is None:
            return None
        r = self.zsl.get_rank(node.score, member)
        return self.zsl.length - r if reverse else r - 1

    def by_rank(self, index: int, reverse: bool = False) -> Optional[Pair]:
        """(member, score) at 0-based ``index`` (from the top if
        ``reverse``), None if out of range."""
        n = self.zsl.length
        if index < 0 or index >= n:
            return None
        node = self.zsl.get_by_rank(n - index if reverse else index + 1)
        return (node.ele, node.score) if node is not None else None  # type: ignore[return-value]

    def iter_from_rank(self, index: int, reverse: bool = False) -> Iterator[Pair]:
        """Iterate (member, score) from 0-based ``index`` (counted from the
        top when ``reverse``) to the end."""
        n = self.zsl.length
        if index < 0 or index >= n:
            return iter(())
        node = self.zsl.get_by_rank(n - index if reverse else index + 1)
        return ((x.ele, x.score) for x in self.zsl.iter_nodes(node, reverse))  # type: ignore[misc]

    def __iter__(self) -> Iterator[Pair]:
        return iter(self.zsl)

    def items(self) -> List[Pair]:
        return list(self.zsl)

    def range_by_rank(self, start: int, end: int, reverse: bool = False) -> List[Pair]:
        """ZRANGE start end [REV]: both ends inclusive, negative indexes
        from the end, clamped exactly as ``zrangeGenericCommand`` does."""
        llen = self.zsl.length
        if start < 0:
            start += llen
        if end < 0:
            end += llen
        if start < 0:
            start = 0
        if start > end or start >= llen:
            return []
        if end >= llen:
            end = llen - 1
        count = end - start + 1
        zsl = self.zsl
        if reverse:
            x = zsl.tail if start == 0 else zsl.get_by_rank(llen - start)
        else:
            x = zsl.header.lv[0] if start == 0 else zsl.get_by_rank(start + 1)
        out: List[Pair] = []
        app = out.append
        if reverse:
            while count and x is not None:
                app((x.ele, x.score))  # type: ignore[arg-type]
                x = x.backward
                count -= 1
        else:
            while count and x is not None:
                app((x.ele, x.score))  # type: ignore[arg-type]
                x = x.lv[0]
                count -= 1
        return out

    def _skip(self, x: Optional[ZSkiplistNode], offset: int, reverse: bool) -> Optional[ZSkiplistNode]:
        if x is None or offset <= 0:
            return x
        if offset > 16:
            zsl = self.zsl
            r = zsl.get_rank(x.score, x.ele)  # type: ignore[arg-type]
            r = r - offset if reverse else r + offset
            return zsl.get_by_rank(r)
        while x is not None and offset:
            x = x.backward if reverse else x.lv[0]
            offset -= 1
        return x

    def range_by_score(self, spec: ZRangeSpec, reverse: bool = False, offset: int = 0, limit: int = -1) -> List[Pair]:
        """ZRANGEBYSCORE / ZREVRANGEBYSCORE with LIMIT offset count
        (``limit < 0`` = no limit)."""
        zsl = self.zsl
        x = zsl.last_in_range(spec) if reverse else zsl.first_in_range(spec)
        x = self._skip(x, offset, reverse)
        out: List[Pair] = []
        if reverse:
            ok = spec.gte_min
            while x is not None and limit != 0 and ok(x.score):
                out.append((x.ele, x.score))  # type: ignore[arg-type]
                x = x.backward
                limit -= 1
        else:
            ok = spec.lte_max
            while x is not None and limit != 0 and ok(x.score):
                out.append((x.ele, x.score))  # type: ignore[arg-type]
                x = x.lv[0]
                limit -= 1
        return out

    def range_by_lex(self, spec: ZLexRangeSpec, reverse: bool = False, offset: int = 0, limit: int = -1) -> List[Pair]:
        """ZRANGEBYLEX / ZREVRANGEBYLEX with LIMIT."""
        zsl = self.zsl
        x = zsl.last_in_lex_range(spec) if reverse else zsl.first_in_lex_range(spec)
        x = self._skip(x, offset, reverse)
        out: List[Pair] = []
        if reverse:
            ok = spec.gte_min
            while x is not None and limit != 0 and ok(x.ele):  # type: ignore[arg-type]
                out.append((x.ele, x.score))  # type: ignore[arg-type]
                x = x.backward
                limit -= 1
        else:
            ok2 = spec.lte_max
            while x is not None and limit != 0 and ok2(x.ele):  # type: ignore[arg-type]
                out.append((x.ele, x.score))  # type: ignore[arg-type]
                x = x.lv[0]
                limit -= 1
        return out

    def count_by_score(self, spec: ZRangeSpec) -> int:
        """ZCOUNT in O(log n) via ranks."""
        zsl = self.zsl
        first = zsl.first_in_range(spec)
        if first is None:
            return 0
        last = zsl.last_in_range(spec)
        return zsl.get_rank(last.score, last.ele) - zsl.get_rank(first.score, first.ele) + 1  # type: ignore[union-attr,arg-type]

    def count_by_lex(self, spec: ZLexRangeSpec) -> int:
        """ZLEXCOUNT in O(log n) via ranks."""
        zsl = self.zsl
        first = zsl.first_in_lex_range(spec)
        if first is None:
            return 0
        last = zsl.last_in_lex_range(spec)
        return zsl.get_rank(last.score, last.ele) - zsl.get_rank(first.score, first.ele) + 1  # type: ignore[union-attr,arg-type]

    # -- range deletion ----------------------------------------------------------

    def _forget(self, nodes: List[ZSkiplistNode]) -> List[bytes]:
        d = self.dict
        out = []
        for n in nodes:
            del d[n.ele]  # type: ignore[arg-type]
            out.append(n.ele)
        return out  # type: ignore[return-value]

    def delete_range_by_score(self, spec: ZRangeSpec) -> List[bytes]:
        """ZREMRANGEBYSCORE; returns the removed members in order."""
        return self._forget(self.zsl.delete_range_by_score(spec))

    def delete_range_by_lex(self, spec: ZLexRangeSpec) -> List[bytes]:
        """ZREMRANGEBYLEX; returns the removed members in order."""
        return self._forget(self.zsl.delete_range_by_lex(spec))

    def delete_range_by_rank(self, start: int, end: int) -> List[bytes]:
        """ZREMRANGEBYRANK: 0-based inclusive, negative from the end, clamped
        like ``zremrangeGenericCommand``."""
        llen = self.zsl.length
        if start < 0:
            start += llen
        if end < 0:
            end += llen
        if start < 0:
            start = 0
        if start > end or start >= llen:
            return []
        if end >= llen:
            end = llen - 1
        return self._forget(self.zsl.delete_range_by_rank(start + 1, end + 1))

    def pop_min(self, count: int = 1) -> List[Pair]:
        """ZPOPMIN: remove and return up to ``count`` lowest pairs."""
        out = self.range_by_rank(0, count - 1) if count > 0 else []
        if out:
            self._forget(self.zsl.delete_range_by_rank(1, len(out)))
        return out

    def pop_max(self, count: int = 1) -> List[Pair]:
        """ZPOPMAX: remove and return up to ``count`` highest pairs, highest
        first."""
        out = self.range_by_rank(0, count - 1, reverse=True) if count > 0 else []
        if out:
            n = self.zsl.length
            self._forget(self.zsl.delete_range_by_rank(n - len(out) + 1, n))
        return out

    def random_pair(self) -> Pair:
        """A uniformly random (member, score) in O(log n) (IndexError if
        empty)."""
        n = self.zsl.length
        if not n:
            raise IndexError("random member of empty zset")
        node = self.zsl.get_by_rank(_random.randrange(n) + 1)
        return node.ele, node.score  # type: ignore[union-attr,return-value]
