"""Lazy free: big values and flushed keyspaces are freed by a background
thread (Redis's ``lazyfree.c`` on top of ``bio``).

WHAT GOES TO THE THREAD
-----------------------
``free_object_async(value)`` (freeObjAsync) measures the *free effort*
(``free_effort``, as ``lazyfreeGetFreeEffort``: the element count of a
hash-table set/hash, a skiplist zset's length, a list's quicklist node count,
a stream's node count plus its consumer groups' PEL sizes, 1 for strings and
compact encodings) and hands the value to the lazy-free worker when it is over
LAZYFREE_THRESHOLD (64); smaller ones are freed inline, by the caller dropping
its reference.  It serves UNLINK, and DEL/RENAME/MOVE/overwrites/expiry/eviction
when ``lazyfree-lazy-user-del``/``-server-del``/``-expire``/``-eviction`` say
so (``commands.generic.free_value_maybe_async`` calls it through
``server.lazyfree_hook``).  ``free_tables_async(keys, expires)`` (emptyDbAsync)
takes the detached tables of FLUSHALL/FLUSHDB ASYNC (or
``lazyfree-lazy-user-flush``), whatever their size.

INFO ``lazyfree_pending_objects`` counts objects handed over and not yet freed
(a flushed db counts its keys); ``lazyfreed_objects`` counts those freed since
the last CONFIG RESETSTAT.  The main thread only writes ``submitted`` and
``inline_done``, the worker only writes ``completed`` (no lock needed for the
counters).

WHAT IT BUYS IN CPYTHON
-----------------------
Freeing is Python deallocation and needs the GIL wherever it runs: if the
worker just dropped the last reference of a 2,000,000-member set, the main
thread would be stopped for the whole free exactly as with DEL.  So the worker
*dismantles* the value in slices of about FREE_BATCH elements -- popping the
buckets of a HashTable, the nodes of a quicklist, unlinking skiplist nodes
(which also breaks the node<->backward reference cycles the cyclic collector,
turned off in the server, would otherwise have to find), popping dict items --
and calls ``bio.yield_gil()`` between slices (``bio`` also lowers the switch
interval while a job runs).  The main thread then waits about one slice for
the GIL instead of the whole free; the total freeing work is the same (a bit
more: ~0.8 s instead of ~0.3-0.7 s for 2M members), spread over time.

Measured on the project machine (2 cores, load average ~4 from other work),
PING round trips of a second client while the command's work lasts:

  =====================================  ==========  =========  ========
  work                                   command     p99 PING   worst
  =====================================  ==========  =========  ========
  DEL of a 2,000,000-member set          290-690 ms  --         = DEL
  UNLINK of the same set                 1-6 ms      1.5-4 ms   9-13 ms
  FLUSHALL SYNC, 1,000,000 keys          205-360 ms  --         = FLUSH
  FLUSHALL ASYNC, 1,000,000 keys         3-6 ms      3-6 ms     7-32 ms
  =====================================  ==========  =========  ========

(the median PING goes from ~0.1 to ~0.2-0.5 ms while the worker runs: the
GIL is shared).

Only objects nobody else references are dismantled, as Redis checks
``refcount == 1``: the hook only collects them, and beforeSleep -- when no
command frame can still hold one -- checks ``sys.getrefcount`` and submits
them; anything still referenced elsewhere is just dropped (and counted as
freed).  The pending counter counts them from the hook on.
"""
from __future__ import annotations

import sys
from typing import Any, Iterator

from omakase import bio
from omakase.hashtable import HashTable

LAZYFREE_THRESHOLD = 64
FREE_BATCH = 1024


def free_effort(v: Any) -> int:
    """lazyfreeGetFreeEffort."""
    if v.__class__ is bytes:
        return 1
    t = v.type_name
    if t == "set" or t == "hash":
        d = v.data
        return d.used if d.__class__ is HashTable else 1
    if t == "zset":
        p = v.ptr
        return len(p.dict) if hasattr(p, "zsl") else 1
    if t == "list":
        return v.ql.node_count
    if t == "stream":
        effort = len(v.index.nodes)
        cg = v.cgroups
        if cg:
            first = next(iter(cg.values()))
            pel = getattr(first, "pel", None)
            effort += len(cg) * (1 + (len(pel) if pel is not None else 0))
        return effort
    return 1


# ---------------------------------------------------------------------------
# Dismantling (runs in the worker; yields after every ~FREE_BATCH elements)
# ---------------------------------------------------------------------------
def _free_hashtable(ht: HashTable, nested: bool) -> Iterator[int]:
    tables = [ht.t0] if ht.t1 is None else [ht.t0, ht.t1]
    ht.t0 = [{}]
    ht.t1 = None
    ht.mask0 = 0
    ht.rehashidx = -1
    ht.used = 0
    count = 0
    for t in tables:
        while t:
            b = t.pop()
            if not b:
                continue
            if nested:
                for v in b.values():
                    # refs: the bucket's, v's, getrefcount's -- a value also
                    # held elsewhere is left to the reference drop
                    if v.__class__ is not bytes and v.__class__ is not int \
                            and free_effort(v) > LAZYFREE_THRESHOLD \
                            and sys.getrefcount(v) <= 3:
                        for _ in _free_value(v):
                            yield 0
            count += len(b)
            b = None
            if count >= FREE_BATCH:
                yield count
                count = 0
    if count:
        yield count


def _free_dict(d: dict) -> Iterator[int]:
    while d:
        n = min(len(d), FREE_BATCH)
        for _ in range(n):
            d.popitem()
        yield n


def _free_value(v: Any) -> Iterator[int]:
    t = getattr(v, "type_name", None)
    if t == "set" or t == "hash":
        d = v.data
        if d.__class__ is HashTable:
            yield from _free_hashtable(d, False)
    elif t == "zset":
        zs = v.ptr
        if hasattr(zs, "zsl"):
            zsl = zs.zsl
            x = zsl.header
            zsl.tail = None
            n = 0
            while x is not None:
                nxt = x.lv[0]
                x.backward = None
                x.lv = None
                x = nxt
                n += 1
                if n >= FREE_BATCH:
                    yield 0
                    n = 0
            yield from _free_dict(zs.dict)
    elif t == "list":
        nodes = v.ql._nodes
        n = 0
        while nodes:
            nodes.pop()
            n += 1
            if n >= 64:
                yield n
                n = 0
    elif t == "stream":
        idx = v.index
        nodes, keys = idx.nodes, idx.keys
        while nodes:
            del nodes[-256:]
            del keys[-256:]
            yield 256
        cgs = v.cgroups
        if cgs:
            for cg in cgs.values():
                for consumer in (getattr(cg, "consumer_map", None) or {}).values():
                    consumer.pel = None
                pel = getattr(cg, "pel", None)
                if pel is not None and getattr(pel, "map", None) is not None:
                    pel.ids = []
                    yield from _free_dict(pel.map)
            cgs.clear()


# ---------------------------------------------------------------------------
# The state and the entry points
# ---------------------------------------------------------------------------
class LazyFree:
    __slots__ = ("server", "bio", "submitted", "completed", "inline_done",
                 "reset_base", "deferred")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.bio = bio.Bio()
        self.submitted = 0          # written by the main thread only
        self.inline_done = 0        # main thread: handed over, then freed inline
        self.completed = 0          # written by the worker only
        self.reset_base = 0
        self.deferred: list[tuple[Any, ...]] = []

    @property
    def pending(self) -> int:
        return self.submitted - self.completed - self.inline_done

    @property
    def freed(self) -> int:
        return self.completed + self.inline_done - self.reset_base

    def _done(self, n: int) -> None:
        self.completed += n         # worker thread

    def free_object_async(self, value: Any) -> bool:
        """freeObjAsync: True if the value goes to the worker (after the
        current command, see flush_deferred)."""
        if value.__class__ is bytes or free_effort(value) <= LAZYFREE_THRESHOLD:
            return False
        self.submitted += 1
        if not self.deferred:
            self.server.before_sleep_once.append(self.flush_deferred)
        self.deferred.append((value,))
        return True

    def free_tables_async(self, keys: HashTable, expires: HashTable) -> None:
        """emptyDbAsync: the flushed db's tables go to the worker."""
        n = keys.used
        self.submitted += n
        if not self.deferred:
            self.server.before_sleep_once.append(self.flush_deferred)
        self.deferred.append((keys, expires, n))

    def flush_deferred(self) -> None:
        """Hand the values collected during the last commands to the worker
        (beforeSleep).  By now no command frame refers to them: an object
        that is still referenced elsewhere (refcount over the queue's own
        reference, this frame's and getrefcount's) is only dropped, never
        dismantled under its other holder."""
        items = self.deferred
        self.deferred = []
        while items:
            item = items.pop()
            obj = item[0]
            if sys.getrefcount(obj) > 3:
                self.inline_done += item[2] if len(item) == 3 else 1
                continue
            if len(item) == 1:
                job = _job_free_value(self, obj)
            else:
                job = _job_free_tables(self, obj, item[1], item[2])
            item = obj = None
            self.bio.submit(bio.LAZY_FREE, job)

    def reset_stats(self) -> None:
        self.reset_base = self.completed + self.inline_done


def _job_free_value(lf: LazyFree, value: Any):
    def job() -> None:
        nonlocal value
        try:
            for _ in _free_value(value):
                bio.yield_gil()
        finally:
            value = None
            lf._done(1)
    return job


def _job_free_tables(lf: LazyFree, keys: HashTable, expires: HashTable, n: int):
    def job() -> None:
        nonlocal keys, expires
        reported = 0
        try:
            for _ in _free_hashtable(expires, False):
                bio.yield_gil()
            expires = None
            for freed in _free_hashtable(keys, True):
                step = min(freed, n - reported)
                if step > 0:       # keys of the flushed db freed so far
                    lf._done(step)
                    reported += step
                bio.yield_gil()
            keys = None
        finally:
            if n > reported:
                lf._done(n - reported)
    return job


def install(server: Any) -> None:
    lf = LazyFree(server)
    server.lazyfree = lf
    server.lazyfree_hook = lf.free_object_async
    server.lazyfree_tables_hook = lf.free_tables_async

    # read by Db.set_key/overwrite on every write: a plain attribute
    cfg = server.config
    server.lazyfree_server_del = bool(cfg.lazyfree_lazy_server_del)
    if hasattr(cfg, "add_listener"):
        def on_change(config: Any, old: Any, new: Any) -> None:
            server.lazyfree_server_del = bool(new)
        cfg.add_listener("lazyfree-lazy-server-del", on_change)
    hooks = getattr(server, "reset_stats_hooks", None)
    if hooks is None:
        hooks = server.reset_stats_hooks = []
    hooks.append(lf.reset_stats)
