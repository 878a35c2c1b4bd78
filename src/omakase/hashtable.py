"""The keyspace hash table: Redis's ``dict.c`` with incremental rehashing.

HOW IT IS BUILT
---------------
Redis's dict is an array of buckets, each a chain of entries, and when the
table must grow it allocates a second array and moves one bucket per
operation (plus about 1 ms of buckets per cron tick) instead of rehashing
everything at once.  A plain Python ``dict`` cannot do that: when it grows it
copies every entry in one go, which for millions of keys is a stall of tens of
milliseconds for whichever client happened to insert the key that tipped it.

Here a *bucket* is a small Python dict (the chain), and a *table* is a list
of ``2**n`` buckets.  A key lives in bucket ``hash(key) & mask``.  Buckets are
kept at about ``BUCKET_LOAD`` keys on average: large enough that the extra
per-bucket dict headers are noise (one dict of 64 entries costs per entry what
one big dict does), small enough that moving a bucket is a few microseconds.

* ``t0`` is the main table; while rehashing, ``t1`` is the new one and
  ``rehashidx`` is the next bucket of ``t0`` to move.  Buckets below
  ``rehashidx`` are empty: their keys are in ``t1``.
* Lookups and writes step the rehash, as ``_dictRehashStep`` does, unless
  rehashing is paused (``pause_rehash`` while a safe iterator or a forked
  child would be hurt by moving entries).  One of our buckets is about
  BUCKET_LOAD of Redis's, so a step (one bucket) is taken every
  BUCKET_LOAD / 4 operations: about 4 entries moved per operation on
  average (Redis moves about one), and a rehash still ends after a quarter
  of the inserts that would make the table double again.  ``rehash_ms(1)`` is the cron's bounded share.
* ``t1`` is allocated as a list of ``None``: a bucket of the new table is
  created when the old bucket(s) that feed it are moved (every old index is
  processed, empty or not, so all of ``t1`` exists when the rehash ends).
  Allocating 2**17 dicts at once would itself be a stall of tens of ms.
  Moved buckets of ``t0`` are replaced by one shared read-only empty mapping,
  so finishing a rehash frees no per-bucket objects either.
* The table grows (double) when keys > buckets * BUCKET_LOAD and shrinks,
  from the cron, when it is under 10% full, as Redis's ``htNeedsResize``.
  While a fork child exists, growing waits until the load is 5x, like
  ``dict_force_resize_ratio``.

SCAN
----
``scan(cursor, fn)`` is ``dictScan``: the cursor is a bucket index advanced by
incrementing its *reversed* bits, so the buckets visited before a resize map
onto buckets of the new size that are also already visited.  Every key present
for a whole iteration is returned at least once, some maybe twice.  While
rehashing it visits the bucket of the small table and all the buckets of the
large table that expand from it.  ``scan_step(cursor)`` does the cursor
arithmetic and returns the visited buckets; ``scan_keys`` (the keyspace
SCAN) extends a list with their keys in C and active expiry reads their
items, so only ``scan(cursor, fn)`` (the hash and set encodings) pays a
Python call per entry.  Because one of our buckets holds about BUCKET_LOAD
of Redis's, a SCAN step returns about 64 keys where Redis's returns about
one, so SCAN with the default COUNT 10 replies about 64 keys per call:
COUNT is a hint in Redis too, and the guarantees above are unchanged.

Random sampling (RANDOMKEY, eviction, active expiry) picks a random non-empty
bucket and a random entry in it: bounded work, no listing of keys.

BENCHMARK-ONLY SWITCH
---------------------
``OMAKASE_PLAIN_DICT=1`` in the environment (read once, at import) turns the
table into the "plain dict" design for ``bench/resize_latency.py``: one
bucket that never splits, i.e. one big Python dict that rehashes everything
at once when it grows.  It exists only to measure what incremental
rehashing buys; never set it in production.

FIXES (keyspace issue): ``clear()`` keeps the rehash-pause count and the
fork resize policy; ``scan()`` pauses rehashing while it calls back, as
``dictScan`` does, so a callback that deletes cannot move buckets under it;
``sample()`` follows ``dictGetSomeKeys`` (skips the moved part of the old
table and the out-of-range part of the smaller one, caps count at the size)
and never returns an entry twice; rehash steps are rate-limited and ``t1``
is allocated lazily (see above), which removed the 30-50 ms stalls measured
by ``bench/resize_latency.py`` while a big table was rehashing.
"""
from __future__ import annotations

import os
import random
import time
from itertools import islice
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator

PLAIN_DICT = os.environ.get("OMAKASE_PLAIN_DICT") == "1"   # benchmark-only
BUCKET_LOAD = 1 << 62 if PLAIN_DICT else 64
INITIAL_BUCKETS = 1 if PLAIN_DICT else 4
MIN_FILL_PERCENT = 10
FORCE_RESIZE_RATIO = 5
_M64 = (1 << 64) - 1
_MOVED = MappingProxyType({})     # a moved bucket of t0: empty, never written


def _next_cursor(v: int, mask: int) -> int:
    """dictScan's cursor step for a table of ``mask + 1`` buckets.

    Redis sets the bits above the mask, reverses all 64 bits, adds one and
    reverses back.  The carry runs through the (reversed) high bits, which
    are all ones, into the reversed masked bits and clears the high bits on
    the way, so the result is the masked bits, reversed, incremented and
    reversed again, or 0 when that increment overflows the mask: the same
    arithmetic on ``mask.bit_length()`` bits instead of 64."""
    n = mask.bit_length()
    if not n:
        return 0
    r = int(f"{v & mask:0{n}b}"[::-1], 2) + 1
    if r > mask:
        return 0
    return int(f"{r:0{n}b}"[::-1], 2)


def buckets_for(n: int) -> int:
    """How many buckets a table made for n keys starts with, so that it
    holds them without growing (``_dictNextExp`` in ``dictExpand``)."""
    size = INITIAL_BUCKETS
    while size * BUCKET_LOAD < n:
        size *= 2
    return size


class HashTable:
    __slots__ = ("t0", "mask0", "t1", "mask1", "rehashidx", "used",
                 "pause_rehash", "resize_allowed", "step_credit", "step_every")

    def __init__(self) -> None:
        self.t0: list[dict] = [{} for _ in range(INITIAL_BUCKETS)]
        self.mask0 = INITIAL_BUCKETS - 1
        self.t1: list[dict | None] | None = None
        self.mask1 = 0
        self.rehashidx = -1
        self.used = 0
        self.step_credit = 0
        self.step_every = 1
        self.pause_rehash = 0
        # False while a child process shares our pages (see module docstring).
        self.resize_allowed = True

    def __len__(self) -> int:
        return self.used

    # -- building (loaders: RDB, RESTORE) --------------------------------------
    @classmethod
    def presized(cls, n: int) -> "HashTable":
        """An empty table with room for n keys (``dictExpand``)."""
        ht = cls()
        if n > INITIAL_BUCKETS * BUCKET_LOAD:
            size = buckets_for(n)
            ht.t0 = [{} for _ in range(size)]
            ht.mask0 = size - 1
        return ht

    @classmethod
    def from_keys(cls, keys: Iterable[bytes], n: int, value: Any = None) -> "HashTable | None":
        """A table of the n ``keys`` (each mapped to ``value``), built in
        one pass without rehashing; None as soon as a key repeats, so a
        lazy ``keys`` is left just after the duplicate."""
        ht = cls.presized(n)
        t0, mask = ht.t0, ht.mask0
        for k in keys:
            b = t0[hash(k) & mask]
            if k in b:
                return None
            b[k] = value
        ht.used = sum(map(len, t0))
        return ht

    def insert_absent(self, key: bytes, value: Any) -> bool:
        """Insert key unless it is present (then False): ``set``'s bucket
        lookup and ``_insert_new`` in one call, for loaders."""
        if self.rehashidx >= 0:
            b = self.bucket_for(key)
        else:
            b = self.t0[hash(key) & self.mask0]
            if key in b:
                return False
            if self.used < len(self.t0) * BUCKET_LOAD:    # cannot grow
                b[key] = value
                self.used += 1
                return True
        if key in b:
            return False
        self._insert_new(b, key, value)
        return True

    # -- bucket lookup ------------------------------------------------------
    def bucket_for(self, key: bytes) -> dict:
        """The bucket that holds (or would hold) key, stepping a rehash."""
        if self.rehashidx >= 0:
            if not self.pause_rehash:
                self.step_credit += 1
                if self.step_credit >= self.step_every:
                    self.step_credit = 0
                    self.rehash_step()
            if self.rehashidx >= 0:
                h = hash(key)
                i = h & self.mask0
                if i >= self.rehashidx:
                    return self.t0[i]
                return self.t1[h & self.mask1]
        return self.t0[hash(key) & self.mask0]

    def get(self, key: bytes, default: Any = None) -> Any:
        return self.bucket_for(key).get(key, default)

    def __contains__(self, key: bytes) -> bool:
        return key in self.bucket_for(key)

    def set(self, key: bytes, value: Any) -> bool:
        """Insert or overwrite; True if the key is new."""
        b = self.bucket_for(key)
        if key in b:
            b[key] = value
            return False
        self._insert_new(b, key, value)
        return True

    def _insert_new(self, bucket: dict, key: bytes, value: Any) -> None:
        bucket[key] = value
        self.used += 1
        if self.rehashidx < 0 and self.used > len(self.t0) * BUCKET_LOAD:
            if self.resize_allowed or self.used > len(self.t0) * BUCKET_LOAD * FORCE_RESIZE_RATIO:
                self._start_resize(len(self.t0) * 2)

    def add(self, key: bytes, value: Any) -> None:
        """Insert a key known to be absent."""
        self._insert_new(self.bucket_for(key), key, value)

    def pop(self, key: bytes, default: Any = None) -> Any:
        b = self.bucket_for(key)
        if key in b:
            self.used -= 1
            return b.pop(key)
        return default

    def clear(self) -> None:
        pause, allowed = self.pause_rehash, self.resize_allowed
        self.__init__()
        self.pause_rehash, self.resize_allowed = pause, allowed

    # -- resizing -----------------------------------------------------------
    def _start_resize(self, nbuckets: int) -> None:
        size = INITIAL_BUCKETS
        while size < nbuckets:
            size *= 2
        if size == len(self.t0) or self.rehashidx >= 0:
            return
        self.t1 = [None] * size
        self.mask1 = size - 1
        self.rehashidx = 0
        self.step_credit = 0
        self.step_every = max(1, BUCKET_LOAD // 4)

    def needs_shrink(self) -> bool:
        n = len(self.t0)
        return (self.rehashidx < 0 and n > INITIAL_BUCKETS
                and self.used * 100 // (n * BUCKET_LOAD) < MIN_FILL_PERCENT)

    def try_shrink(self) -> None:
        """Cron's tryResizeHashTables: shrink a table under 10% full."""
        if self.needs_shrink() and self.resize_allowed:
            target = max(INITIAL_BUCKETS, -(-self.used // BUCKET_LOAD))
            self._start_resize(target)

    def rehash_step(self, buckets: int = 1) -> bool:
        """Move `buckets` buckets (skipping at most 10x as many empty ones).
        Returns True while more rehashing remains."""
        if self.rehashidx < 0:
            return False
        t0, t1, mask1 = self.t0, self.t1, self.mask1
        n0, n1 = len(t0), len(t1)
        empty_visits = buckets * 10
        idx = self.rehashidx
        while buckets and idx < n0:
            # create the buckets of t1 that old bucket idx feeds
            if n1 > n0:
                for j in range(idx, n1, n0):
                    t1[j] = {}
            elif t1[idx & mask1] is None:
                t1[idx & mask1] = {}
            b = t0[idx]
            t0[idx] = _MOVED
            idx += 1
            if not b:
                empty_visits -= 1
                if empty_visits == 0:
                    break
                continue
            for k, v in b.items():
                t1[hash(k) & mask1][k] = v
            buckets -= 1
        if idx >= n0:
            self.t0, self.mask0 = t1, mask1
            self.t1, self.mask1 = None, 0
            self.rehashidx = -1
            return False
        self.rehashidx = idx
        return True

    def rehash_ms(self, ms: float) -> int:
        """Rehash for about `ms` milliseconds (serverCron's share).
        dictRehashMilliseconds checks the clock every 100 of Redis's
        buckets (~100 entries); ours hold ~BUCKET_LOAD entries each, so the
        clock is checked every ~128 entries, not every 100 buckets (which
        made one cron tick a 15-20 ms stall at a few million keys)."""
        if self.rehashidx < 0 or self.pause_rehash:
            return 0
        chunk = max(1, 128 // BUCKET_LOAD)
        deadline = time.perf_counter() + ms / 1000.0
        steps = 0
        while self.rehash_step(chunk):
            steps += chunk
            if time.perf_counter() > deadline:
                break
        return steps

    @property
    def rehashing(self) -> bool:
        return self.rehashidx >= 0

    def bucket_count(self) -> int:
        return len(self.t0) + (len(self.t1) if self.t1 is not None else 0)

    # -- iteration ----------------------------------------------------------
    def buckets(self) -> Iterator[dict]:
        """Every bucket (moved ones are empty; t1's not yet created skipped)."""
        yield from self.t0
        if self.t1 is not None:
            for b in self.t1:
                if b is not None:
                    yield b

    def keys(self) -> Iterator[bytes]:
        """All keys. The caller must not add or remove keys meanwhile
        (rehash steps are paused for the duration)."""
        self.pause_rehash += 1
        try:
            for b in self.buckets():
                yield from list(b)
        finally:
            self.pause_rehash -= 1

    def key_list(self) -> list[bytes]:
        """All keys as a list, bucket by bucket in C (same order as keys())."""
        out: list[bytes] = []
        for b in self.buckets():
            out.extend(b)
        return out

    def filter_present(self, keys: list[bytes]) -> list[bytes]:
        """The keys of ``keys`` that are in the table, in their order: one
        comprehension when no rehash is running; otherwise a lookup per key
        that steps the rehash as ``dictFind`` does."""
        if self.rehashidx >= 0:
            return [k for k in keys if k in self]
        t0 = self.t0
        mask = self.mask0
        return [k for k in keys if k in t0[hash(k) & mask]]

    def items(self) -> Iterator[tuple[bytes, Any]]:
        self.pause_rehash += 1
        try:
            for b in self.buckets():
                yield from list(b.items())
        finally:
            self.pause_rehash -= 1

    def scan_step(self, cursor: int) -> tuple[list[dict], int]:
        """One dictScan step: the bucket(s) the cursor visits and the next
        cursor.  The buckets are live; the caller reads them before the next
        write (``scan`` and ``scan_keys`` do)."""
        if self.used == 0:
            return [], 0
        v = cursor & _M64
        if self.rehashidx < 0:
            m0 = self.mask0
            return [self.t0[v & m0]], _next_cursor(v, m0)
        small, large = self.t0, self.t1
        if len(small) > len(large):
            small, large = large, small
        m0, m1 = len(small) - 1, len(large) - 1
        visited = [small[v & m0]]
        while True:
            visited.append(large[v & m1])
            v = _next_cursor(v, m1)
            if not (v & (m0 ^ m1)):
                return visited, v

    def scan(self, cursor: int, fn: Callable[[bytes, Any], None]) -> int:
        """dictScan: call fn(key, value) for one cursor step; next cursor.
        Rehashing is paused meanwhile, so a callback that deletes cannot move
        buckets under the walk."""
        buckets, cursor = self.scan_step(cursor)
        self.pause_rehash += 1
        try:
            for b in buckets:
                if b:
                    for k, val in list(b.items()):
                        fn(k, val)
        finally:
            self.pause_rehash -= 1
        return cursor

    def scan_keys(self, cursor: int, out: list) -> int:
        """``scan`` for the keys alone, appended to ``out`` in C (the
        keyspace SCAN: no callback per key)."""
        buckets, cursor = self.scan_step(cursor)
        for b in buckets:
            if b:
                out.extend(b)
        return cursor

    # -- random sampling ----------------------------------------------------
    def random_item(self, rng: random.Random = random._inst) -> tuple[bytes, Any] | None:
        """A random entry (dictGetFairRandomKey-like): bounded work."""
        if self.used == 0:
            return None
        while True:
            if self.rehashidx >= 0:
                n0 = len(self.t0)
                i = rng.randrange(self.rehashidx, n0 + len(self.t1))
                b = self.t0[i] if i < n0 else self.t1[i - n0]
            else:
                b = self.t0[rng.getrandbits(62) & self.mask0]
            if b:
                k = next(islice(iter(b), rng.randrange(len(b)), None))
                return k, b[k]

    def sample(self, count: int, rng: random.Random = random._inst) -> list[tuple[bytes, Any]]:
        """dictGetSomeKeys: up to `count` distinct entries from consecutive
        buckets starting at a random one (jumping elsewhere after a run of
        empty buckets); bounded work, so it may return fewer."""
        if self.used == 0 or count <= 0:
            return []
        if count > self.used:
            count = self.used
        if self.rehashidx >= 0 and not self.pause_rehash:
            for _ in range(count):
                if not self.rehash_step():
                    break
        out: list[tuple[bytes, Any]] = []
        t0, t1 = self.t0, self.t1
        tables = [t0] if t1 is None else [t0, t1]
        rehashidx = self.rehashidx
        maxmask = max(len(t) for t in tables) - 1
        maxsteps = count * 10
        i = rng.getrandbits(62) & maxmask
        empty_run = 0
        seen: set[tuple[int, int]] = set()
        while len(out) < count and maxsteps:
            maxsteps -= 1
            for j, t in enumerate(tables):
                if j == 0 and t1 is not None and i < rehashidx:
                    # t0 below rehashidx is empty; past t1's end both are.
                    if i >= len(t1):
                        i = rehashidx
                    else:
                        continue
                if i >= len(t):
                    continue
                b = t[i]
                if not b:
                    empty_run += 1
                    if empty_run >= 5 and empty_run > count:
                        i = rng.getrandbits(62) & maxmask
                        empty_run = 0
                    continue
                empty_run = 0
                if (j, i) in seen:
                    continue
                seen.add((j, i))
                for item in b.items():
                    out.append(item)
                    if len(out) >= count:
                        return out
            i = (i + 1) & maxmask
        return out
