"""Active expiry: reclaiming expired keys nobody touches (Redis's ``expire.c``).

Lazy expiry (``Db.expire_if_needed``) only removes keys that are accessed.
``active_expire_cycle`` samples keys that have a TTL and deletes the expired
ones, as Redis 7.0's ``activeExpireCycle`` does:

* each database is visited in turn (up to 16 per call, resuming where the last
  call stopped); its ``expires`` table is walked with the SCAN cursor kept in
  ``db.expires_cursor``, sampling ``20 + 5*effort`` keys per loop;
* a database is looped over again while more than ``10 - effort`` percent of
  the sampled keys were expired (the "acceptable stale" ratio);
* the SLOW cycle runs from serverCron with a budget of ``25 + 2*effort``
  percent of one cron period; the FAST cycle runs from beforeSleep for at most
  ``1000 + 250*effort`` microseconds, and only when the last cycles found the
  keyspace staler than acceptable and not more often than twice its own
  duration.

``effort`` is ``active-expire-effort`` minus one (0..9).  The stale
percentage estimate and the time-cap counter feed INFO's
``expired_stale_perc`` and ``expired_time_cap_reached_count``.

Details kept from Redis 7.0 (bug-fix pass, see the report of the keyspace
issue): a key is expired when ``now > when`` (``activeExpireCycleTryExpire``,
``keyIsExpired``); nothing expires while clients are paused; a database
whose sample found nothing is sampled again (``sampled == 0`` loops, bounded
by the time check); after a time-limited call every database is visited;
``avg_ttl`` is reset when the db has no volatile keys and blended as
``avg/50*49 + sample/50`` from its first value.  Redis keeps
``stat_expired_stale_perc`` as a fraction but compares it with the
acceptable-stale *percentage* to decide whether a fast cycle may run, so in
practice a fast cycle runs only after a cycle that hit its time limit; we
store a percentage (what INFO prints) and make the same effective decision.
"""
from __future__ import annotations

import time
from typing import Any

SLOW_CYCLE = 0
FAST_CYCLE = 1
KEYS_PER_LOOP = 20
FAST_DURATION_US = 1000
SLOW_TIME_PERC = 25
ACCEPTABLE_STALE = 10
DBS_PER_CALL = 16


class CycleState:
    """What one cycle leaves for the next.  ``fast_wanted`` is the cheap
    test beforeSleep makes on every loop pass: only a cycle that ran out of
    time (or found the keyspace too stale) makes a FAST cycle worth trying."""
    __slots__ = ("current_db", "timelimit_exit", "last_fast_cycle", "fast_wanted")

    def __init__(self) -> None:
        self.current_db = 0
        self.timelimit_exit = False
        self.last_fast_cycle = 0.0
        self.fast_wanted = False


def active_expire_cycle(server: Any, cycle_type: int) -> None:
    state = server.expire_cycle_state
    effort = server.config.active_expire_effort - 1
    keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP // 4 * effort
    fast_duration = FAST_DURATION_US + FAST_DURATION_US // 4 * effort
    slow_perc = SLOW_TIME_PERC + 2 * effort
    acceptable_stale = ACCEPTABLE_STALE - effort

    if server.expire_paused():
        return
    if not any(db.expires.used for db in server.dbs):
        return
    start = time.perf_counter()
    if cycle_type == FAST_CYCLE:
        # Redis compares a fraction (0..1) with a percentage here.
        if (not state.timelimit_exit
                and server.stat_expired_stale_perc / 100.0 < acceptable_stale):
            return
        if start < state.last_fast_cycle + fast_duration * 2 / 1e6:
            return
        state.last_fast_cycle = start
        timelimit = fast_duration / 1e6
    else:
        timelimit = slow_perc / 100.0 / server.hz
    dbs_per_call = DBS_PER_CALL
    if dbs_per_call > len(server.dbs) or state.timelimit_exit:
        dbs_per_call = len(server.dbs)
    state.timelimit_exit = False
    deadline = start + timelimit
    total_sampled = total_expired = 0
    now_ms = server.expire_now_ms()
    iteration = 0
    for _ in range(dbs_per_call):
        if state.timelimit_exit:
            break
        db = server.dbs[state.current_db % len(server.dbs)]
        state.current_db += 1
        while True:
            if not db.expires.used:
                db.avg_ttl = 0
                break
            iteration += 1
            sampled = expired = 0
            ttl_sum = ttl_samples = 0
            found: list[tuple[bytes, int]] = []
            max_buckets = keys_per_loop * 20
            buckets = 0
            while len(found) < keys_per_loop and buckets < max_buckets:
                visited, db.expires_cursor = db.expires.scan_step(db.expires_cursor)
                for bucket in visited:
                    if bucket:
                        found.extend(bucket.items())
                buckets += 1
                if db.expires_cursor == 0:
                    break
            for key, when in found:
                sampled += 1
                if now_ms > when:
                    if db.expires.get(key) is not None:
                        server.delete_expired_key(db, key)
                        expired += 1
                else:
                    ttl_sum += when - now_ms
                    ttl_samples += 1
            total_sampled += sampled
            total_expired += expired
            if ttl_samples:
                avg = ttl_sum // ttl_samples
                if db.avg_ttl == 0:
                    db.avg_ttl = avg
                db.avg_ttl = (db.avg_ttl // 50) * 49 + avg // 50
            if iteration % 16 == 0 and time.perf_counter() > deadline:
                state.timelimit_exit = True
                server.stat_expired_time_cap_reached_count += 1
                break
            if sampled and expired * 100 // sampled <= acceptable_stale:
                break
    elapsed = time.perf_counter() - start
    server.stat_expire_cycle_time_used += int(elapsed * 1e6)
    current = total_expired / total_sampled if total_sampled else 0.0
    server.stat_expired_stale_perc = current * 100 * 0.05 + server.stat_expired_stale_perc * 0.95
    # Redis compares a fraction (0..1) with a percentage here, as above.
    state.fast_wanted = (state.timelimit_exit
                         or server.stat_expired_stale_perc / 100.0 >= acceptable_stale)
