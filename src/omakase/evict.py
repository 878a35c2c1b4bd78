"""Eviction: ``maxmemory`` and its eight policies (Redis's ``evict.c``).

THE APPROXIMATED LRU/LFU
------------------------
Redis never keeps keys ordered by access time.  Each value carries a 24-bit
field (``objects``: the last three bytes of a stored string, ``.lru`` of any
other value): under an LRU policy the LRU clock in seconds (mod 2**24), under
an LFU policy 16 bits of "last decrement time" in minutes and an 8-bit
logarithmic access counter.  To pick a victim, ``maxmemory-samples`` keys are
sampled from every database's table, scored, and offered to an *eviction
pool* of 16 candidates kept sorted by score and kept
across calls, so good candidates seen earlier survive until they are evicted
or beaten.  The score ("idle") is the idle time in ms for LRU, ``255 - freq``
(after decay) for LFU, and ``ULLONG_MAX - expire_ms`` for volatile-ttl; the
pool's best (right-most) entry that still exists is evicted.  ``allkeys-*``
sample ``db.keys``, ``volatile-*`` sample ``db.expires``.  The random
policies take one random key per eviction, visiting the databases in turn.

DIVERGENCE: Redis samples with ``dictGetSomeKeys`` (the entries of
consecutive buckets from a random one: about one entry per bucket at its load
factor).  A bucket of our HashTable holds ~64 keys in insertion order, so
taking consecutive entries would sample the *oldest* keys of one bucket --
for LFU that is exactly the long-lived hot keys.  Each sample here is
``HashTable.random_item`` instead: a random bucket and a random entry in it.

performEvictions (``perform_evictions``)
----------------------------------------
Runs before every command while ``maxmemory`` is set (the OOM guard that
``Server.process_command`` calls), from the eviction timer and from the cron:

* nothing happens while loading, on a replica with ``replica-ignore-maxmemory``
  or while clients are paused;
* the used memory (``memory.MemoryState.used()``: the last exact allocator
  sample plus the estimated growth, see ``memory``) minus what is not counted
  (AOF buffer, replica output buffers beyond the backlog) is compared with
  ``maxmemory``; over it and ``noeviction`` -> EVICT_FAIL;
* otherwise keys are evicted until the estimated freed bytes (MEMORY USAGE's
  estimate of each victim) cover the excess.  Every 16 keys, with
  ``lazyfree-lazy-eviction`` the memory state is checked again, and past the
  ``maxmemory-eviction-tenacity`` time limit (50 us per step up to 10, then
  15% geometric, unlimited at 100) the loop stops and a 0 ms timer keeps
  evicting from the event loop (EVICT_RUNNING) so clients are served between
  rounds;
* each victim is deleted (sync, or through ``lazyfree`` when
  ``lazyfree-lazy-eviction``), WATCHers are touched, an "evicted" keyspace
  event fires, ``DEL``/``UNLINK`` is propagated, ``evicted_keys`` counts it
  and an "eviction-del" latency sample is offered; the whole round is an
  "eviction-cycle" sample;
* with nothing left to evict while the lazyfree thread still has jobs, it
  waits up to the time limit for them.

A command is refused with ``-OOM command not allowed when used memory >
'maxmemory'.`` when the result is EVICT_FAIL and it is DENYOOM, or it is EXEC
of a transaction holding a DENYOOM command, or the client is in MULTI (any
command but EXEC/DISCARD/QUIT/RESET).  ``server.pre_command_oom_state`` keeps
the result for scripts.  ``total_eviction_exceeded_time`` and
``current_eviction_exceeded_time`` (INFO stats) measure how long memory stayed
over the limit.

THE LFU COUNTER
---------------
The 24-bit LRU/LFU field of every value (see ``objects``) holds, under an
LFU policy, 16 bits of "last decrement time" in minutes and an 8-bit
logarithmic access counter.  A read first decays the counter by one per
``lfu-decay-time`` minutes elapsed, then increments it with probability
``1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)``, so 255 means about a
million hits at the default factor.

DIVERGENCE: Redis measures each eviction's freed bytes as the allocator
counter's delta; here it is the victim's estimated size (the allocator is
sampled, not counted per allocation), corrected at the next exact sample.
DIVERGENCE: a reply waiting in a client's output list is memory in use from
its first byte; Redis first fills each client's 16 KB static buffer, which
is already counted, so small pending replies (the "evicted" keyspace events
an eviction sends a subscriber, say) do not add to used_memory there.
"""
from __future__ import annotations

import random
import time
from typing import Any

from omakase.memory import GROWTH_PER_ARG
from omakase.networking import ClientFlag

LFU_INIT_VAL = 5


def lfu_minutes(server: Any = None) -> int:
    """LFUGetTimeInMinutes (from the server's cached unix time, as Redis)."""
    now = server.unixtime if server is not None else int(time.time())
    return (now // 60) & 0xFFFF


def lfu_time_elapsed(ldt: int, server: Any = None) -> int:
    now = lfu_minutes(server)
    if now >= ldt:
        return now - ldt
    return 65535 - ldt + now


def lfu_decr_and_return(server: Any, field: int) -> int:
    ldt = field >> 8
    counter = field & 255
    decay = server.config.lfu_decay_time
    periods = lfu_time_elapsed(ldt, server) // decay if decay else 0
    if periods:
        counter = 0 if periods > counter else counter - periods
    return counter


def lfu_log_incr(server: Any, counter: int) -> int:
    if counter == 255:
        return 255
    base = max(0, counter - LFU_INIT_VAL)
    p = 1.0 / (base * server.config.lfu_log_factor + 1)
    if random.random() < p:
        counter += 1
    return counter


def lfu_update(server: Any, field: int) -> int:
    counter = lfu_log_incr(server, lfu_decr_and_return(server, field))
    return (lfu_minutes(server) << 8) | counter


# ---------------------------------------------------------------------------
# performEvictions
# ---------------------------------------------------------------------------
EVPOOL_SIZE = 16
EVICT_OK = 0
EVICT_RUNNING = 1
EVICT_FAIL = 2
LRU_CLOCK_MAX = (1 << 24) - 1
ULLONG_MAX = (1 << 64) - 1
NOTIFY_EVICTED = 1 << 9
_NOMORE = -1                  # eventloop.NOMORE

# policy -> (kind, allkeys); kind: 0 LRU, 1 LFU, 2 TTL, 3 random, None noeviction
_POLICIES = {
    "volatile-lru": (0, False), "allkeys-lru": (0, True),
    "volatile-lfu": (1, False), "allkeys-lfu": (1, True),
    "volatile-ttl": (2, False),
    "volatile-random": (3, False), "allkeys-random": (3, True),
    "noeviction": (None, False),
}
_OOM_MULTI_OK = frozenset(("exec", "discard", "quit", "reset"))


class EvictionState:
    """The eviction pool (kept across calls) and the timer/metrics state."""
    __slots__ = ("pool", "next_db", "proc_running", "exceeded_since")

    def __init__(self) -> None:
        # ascending by score: [score, key, dbid]; at most EVPOOL_SIZE
        self.pool: list[list] = []
        self.next_db = 0
        self.proc_running = False
        self.exceeded_since = 0.0


def estimate_idle_ms(lru_clock: int, field: int) -> int:
    """estimateObjectIdleTime."""
    if lru_clock >= field:
        return (lru_clock - field) * 1000
    return (lru_clock + (LRU_CLOCK_MAX - field)) * 1000


def eviction_time_limit_us(tenacity: int) -> float:
    """evictionTimeLimitUs."""
    if tenacity <= 10:
        return 50.0 * tenacity
    if tenacity < 100:
        return 500.0 * 1.15 ** (tenacity - 10.0)
    return float("inf")


def pool_populate(server: Any, pool: list, dbid: int, sample_ht: Any, keys_ht: Any,
                  kind: int) -> None:
    """evictionPoolPopulate: offer maxmemory-samples keys to the pool."""
    lru_clock = server.lru_clock
    random_item = sample_ht.random_item
    for _ in range(server.config.maxmemory_samples):
        item = random_item()
        if item is None:
            break
        key, val = item
        if kind != 2:
            o = val if sample_ht is keys_ht else keys_ht.get(key)
            if o is None:
                continue
            field = (int.from_bytes(o[-3:], "little") if o.__class__ is bytes else o.lru)
            if kind == 0:
                idle = estimate_idle_ms(lru_clock, field)
            else:
                idle = 255 - lfu_decr_and_return(server, field)
        else:
            idle = ULLONG_MAX - val
        n = len(pool)
        k = 0
        while k < n and pool[k][0] < idle:
            k += 1
        if n >= EVPOOL_SIZE:
            if k == 0:
                continue        # worse than every candidate of a full pool
            del pool[0]
            pool.insert(k - 1, [idle, key, dbid])
        else:
            pool.insert(k, [idle, key, dbid])


def _candidate_dbs(server: Any, allkeys: bool) -> list:
    """The databases with something to sample (the loops below skip the
    empty ones, as Redis's do with dictSize, but without visiting them)."""
    if allkeys:
        return [db for db in server.dbs if db.keys.used]
    return [db for db in server.dbs if db.expires.used]


def _pick_from_pool(server: Any, st: EvictionState, kind: int, allkeys: bool, dbs: list):
    pool = st.pool
    all_dbs = server.dbs
    while True:
        total = 0
        for db in dbs:
            ht = db.keys if allkeys else db.expires
            if ht.used:
                pool_populate(server, pool, db.id, ht, db.keys, kind)
                total += ht.used
        if not total:
            return None, 0
        while pool:
            _, key, dbid = pool.pop()
            db = all_dbs[dbid]
            ht = db.keys if allkeys else db.expires
            if ht.get(key) is not None:
                return key, dbid
            # a ghost: deleted since it was sampled


def _pick_random(server: Any, st: EvictionState, allkeys: bool, dbs: list):
    n = len(dbs)
    for _ in range(n):
        st.next_db = (st.next_db + 1) % n
        db = dbs[st.next_db]
        ht = db.keys if allkeys else db.expires
        if ht.used:
            item = ht.random_item()
            if item is not None:
                return item[0], db.id
    return None, 0


def evictions_allowed(server: Any) -> bool:
    """isSafeToPerformEvictions."""
    if server.loading or server.in_call:
        # in_call: events are being processed inside a long command (a busy
        # script): isInsideYieldingLongCommand
        return False
    if server.masterhost and server.config.replica_ignore_maxmemory:
        return False
    if server.clients_paused_until and server.expire_paused():
        return False
    return True


def over_limit(server: Any, resample: bool) -> int:
    """getMaxmemoryState: bytes to free (0 if within the limit)."""
    maxmemory = server.config.maxmemory
    if not maxmemory:
        return 0
    mem = server.memory
    used = mem.used()
    if used <= maxmemory:
        return 0
    if resample and mem.resample_due():
        used = mem.exact()
        if used <= maxmemory:
            return 0
    logical = used - mem.not_counted_for_evict()
    return logical - maxmemory if logical > maxmemory else 0


def perform_evictions(server: Any) -> int:
    """performEvictions: EVICT_OK, EVICT_RUNNING or EVICT_FAIL."""
    if not evictions_allowed(server):
        return EVICT_OK
    st: EvictionState = server.evict_state
    tofree = over_limit(server, True)
    if not tofree:
        _update_metrics(server, st, EVICT_OK)
        return EVICT_OK
    cfg = server.config
    kind, allkeys = _POLICIES.get(cfg.maxmemory_policy, (None, False))
    if kind is None:
        _update_metrics(server, st, EVICT_FAIL)
        return EVICT_FAIL
    from omakase.commands.generic import db_delete
    from omakase.memory import key_usage
    limit_s = eviction_time_limit_us(cfg.maxmemory_eviction_tenacity) / 1e6
    lazy = bool(cfg.lazyfree_lazy_eviction)
    mem = server.memory
    latency = getattr(server, "latency", None)
    start = time.perf_counter()
    freed = 0
    keys_freed = 0
    result = EVICT_FAIL
    del_cmd = b"UNLINK" if lazy else b"DEL"
    exhausted = False
    dbs = _candidate_dbs(server, allkeys)
    while freed < tofree:
        if kind == 3:
            key, dbid = _pick_random(server, st, allkeys, dbs)
        else:
            key, dbid = _pick_from_pool(server, st, kind, allkeys, dbs)
        if key is None:
            dbs = _candidate_dbs(server, allkeys)
            if dbs:
                continue
            exhausted = True                    # nothing left to evict
            break
        db = server.dbs[dbid]
        size = key_usage(key, db.peek(key), 5, bool(db.expires.used) and key in db.expires)
        t0 = time.perf_counter()
        db_delete(db, key, lazy)
        if latency is not None:
            latency.add_sample_if_needed(b"eviction-del", int((time.perf_counter() - t0) * 1000))
        freed += size
        mem.freed += size
        server.stat_evictedkeys += 1
        db.signal_modified_key(key)
        server.notify(NOTIFY_EVICTED, "evicted", key, dbid)
        server.propagate_now(dbid, [del_cmd, key])
        keys_freed += 1
        if keys_freed % 16 == 0:
            if lazy and not over_limit(server, False):
                break
            if time.perf_counter() - start > limit_s:
                start_eviction_proc(server)
                break
    if not exhausted:
        result = EVICT_RUNNING if st.proc_running else EVICT_OK
    else:
        lz = getattr(server, "lazyfree", None)
        if lz is not None and lz.pending:
            # cant_free: give the lazyfree thread a moment (GIL released)
            lz.flush_deferred()
            deadline = start + max(limit_s, 0.0005)
            while lz.pending and time.perf_counter() < deadline:
                time.sleep(0.0001)
            mem.exact()
            if not over_limit(server, False):
                result = EVICT_OK
    if latency is not None:
        latency.add_sample_if_needed(b"eviction-cycle", int((time.perf_counter() - start) * 1000))
    _update_metrics(server, st, result)
    return result


def _update_metrics(server: Any, st: EvictionState, result: int) -> None:
    if result != EVICT_OK:
        now = time.perf_counter()
        if not st.exceeded_since:
            st.exceeded_since = now
        server.current_eviction_exceeded_time = int((now - st.exceeded_since) * 1e6)
    elif st.exceeded_since:
        server.current_eviction_exceeded_time = 0
        server.stat_total_eviction_exceeded_time += int(
            (time.perf_counter() - st.exceeded_since) * 1e6)
        st.exceeded_since = 0.0


def start_eviction_proc(server: Any) -> None:
    """startEvictionTimeProc: keep evicting from the event loop."""
    st: EvictionState = server.evict_state
    if st.proc_running:
        return
    st.proc_running = True

    def proc() -> int:
        if perform_evictions(server) == EVICT_RUNNING:
            return 0
        st.proc_running = False
        return _NOMORE
    server.el.add_timer(0, proc)


def oom_guard(c: Any, cmd: Any, argv: list[bytes]) -> str | None:
    """processCommand's maxmemory step: evict, then refuse what would grow.
    The common case (under the limit, not evicting) is one comparison."""
    server = c.server
    mem = server.memory
    if (mem.sample + mem.grown - mem.freed <= server.config.maxmemory
            and not server.evict_state.exceeded_since
            and not (mem.freed and mem.resample_due())):
        # (after evictions, the freed estimate is trusted only until the
        # next sample is due: the slow path then takes one)
        oom = False
    else:
        oom = perform_evictions(server) == EVICT_FAIL
    server.pre_command_oom_state = oom
    if not oom:
        if cmd.is_denyoom:
            # memory.arg_growth, inlined (hot path)
            mem.grown += sum(map(len, argv)) + _GROWTH_PER_ARG * (len(argv) - 1)
        return None
    if cmd.is_denyoom:
        return OOM_ERR
    name = cmd.name
    if c.flags & _MULTI_FLAG and name not in _OOM_MULTI_OK:
        return OOM_ERR
    if name == "exec" and c.mstate:
        for qcmd, _ in c.mstate:
            if qcmd.is_denyoom:
                return OOM_ERR
    return None


def install(server: Any) -> None:
    server.evict_state = EvictionState()
    server.pre_command_oom_state = False
    server.stat_total_eviction_exceeded_time = 0
    server.current_eviction_exceeded_time = 0
    server.oom_guard = oom_guard

    def cron() -> None:
        if server.config.maxmemory and not server.evict_state.proc_running:
            perform_evictions(server)
    server.cron_hooks.append(cron)

    def on_maxmemory(cfg: Any, old: Any, new: Any) -> None:
        """updateMaxmemory: warn when under current usage, start evicting."""
        if not new:
            return
        mem = server.memory
        used = mem.exact() - mem.not_counted_for_evict()
        if new < used:
            server.log.warning(
                f"WARNING: the new maxmemory value set via CONFIG SET ({new}) is smaller "
                f"than the current memory usage ({used}). This will result in key eviction "
                f"and/or the inability to accept new write commands depending on the "
                f"maxmemory-policy.")
        start_eviction_proc(server)
    if hasattr(server.config, "add_listener"):
        server.config.add_listener("maxmemory", on_maxmemory)
    hooks = getattr(server, "reset_stats_hooks", None)
    if hooks is None:
        hooks = server.reset_stats_hooks = []

    def reset() -> None:
        server.stat_total_eviction_exceeded_time = 0
    hooks.append(reset)


OOM_ERR = "-OOM command not allowed when used memory > 'maxmemory'."
_MULTI_FLAG = int(ClientFlag.MULTI)
_GROWTH_PER_ARG = GROWTH_PER_ARG
