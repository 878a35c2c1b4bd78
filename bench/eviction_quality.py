"""Eviction quality: how well does allkeys-lru keep the hot keys?

The same workload runs against omakase and Debian's redis-server 7.0 (and a
perfect LRU simulated in Python, for reference):

1. capacity: ``--capacity`` keys of the workload's shape are written to an
   empty server and the used_memory they add is measured; after a flush,
   ``maxmemory`` is set to the empty server's used_memory plus that, with
   ``allkeys-lru`` and ``maxmemory-samples`` 5 or 10;
2. a cache workload over ``--keys`` keys (3x the capacity by default) whose
   popularity follows a Zipf law (exponent ``--zipf``, rank 0 hottest; at
   s=1 and 12,000 keys the hottest 10% get ~78% of the accesses) runs for
   ``--seconds`` seconds in rounds of 0.1 s: each round GETs ``--batch`` keys
   drawn from that law (pipelined) and SETs the ones that missed.  Redis's LRU
   clock has a one-second resolution, so the run must last several seconds
   for idle times to differ;
3. at the end: the fraction of the hottest 10% of keys still present
   (EXISTS), and the hit rate over the second half of the run.  Since the
   memory-derived capacity is not exactly the same number of keys on two
   servers (their per-key costs and measurement noise differ), each run is
   also compared with a perfect LRU holding as many keys as the run kept.

The access sequence is seeded, so every server sees the same requests.

Usage::

    python bench/eviction_quality.py                  # 12k keys, 4k capacity, 20 s per run
    python bench/eviction_quality.py --quick          # 3k keys, 1k capacity, 5 s per run
    python bench/eviction_quality.py --targets omakase --samples 5

Writes ``OUT/eviction_quality.json`` and ``.md`` (``--out``, default
bench/out).  ``run_workload`` is also used by the integration test
``tests/integration/test_eviction.py`` (a short run, lenient threshold).
"""
from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import sys
import time
from collections import OrderedDict
from typing import Any

VALUE = b"v" * 100


def zipf_cum_weights(nkeys: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(nkeys)))


def access_sequence(nkeys: int, s: float, rounds: int, batch: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    cum = zipf_cum_weights(nkeys, s)
    total = cum[-1]
    out = []
    for _ in range(rounds):
        out.append([bisect.bisect_left(cum, rng.random() * total) for _ in range(batch)])
    return out


def key(rank: int) -> bytes:
    return b"key:%d" % rank


def _used(c: Any) -> int:
    return int(c.info("memory")["used_memory"])


def set_capacity(c: Any, capacity: int, policy: str = "allkeys-lru", samples: int = 5) -> int:
    """maxmemory = empty used_memory + what `capacity` workload keys add
    (measured on the second of two fills, so one-time allocations of a
    fresh server are not counted as per-key memory)."""
    c.config_set("maxmemory", 0)
    for _ in range(2):
        c.flushall()
        time.sleep(0.05)
        u0 = _used(c)
        p = c.pipeline(transaction=False)
        for i in range(capacity):
            p.set(b"cal:%d" % i, VALUE)
            if i % 500 == 499:
                p.execute()
        p.execute()
        u1 = _used(c)
    c.flushall()
    time.sleep(0.05)
    limit = _used(c) + (u1 - u0)
    c.config_set("maxmemory-policy", policy)
    c.config_set("maxmemory-samples", samples)
    c.config_set("maxmemory", limit)
    return limit


def run_workload(c: Any, nkeys: int, capacity: int, seconds: float, samples: int = 5,
                 zipf: float = 1.0, batch: int = 100, seed: int = 7,
                 policy: str = "allkeys-lru") -> dict[str, Any]:
    """Steps 1-3 of the module docstring on client ``c``; the results."""
    limit = set_capacity(c, capacity, policy, samples)
    rounds = max(1, int(seconds / 0.1))
    seq = access_sequence(nkeys, zipf, rounds, batch, seed)
    hits = misses = 0
    start = time.perf_counter()
    for i, ranks in enumerate(seq):
        p = c.pipeline(transaction=False)
        for r in ranks:
            p.get(key(r))
        got = p.execute()
        p = c.pipeline(transaction=False)
        missed = 0
        for r, v in zip(ranks, got):
            if v is None:
                p.set(key(r), VALUE)
                missed += 1
        if missed:
            p.execute()
        if i >= rounds // 2:
            hits += len(ranks) - missed
            misses += missed
        wait = start + (i + 1) * 0.1 - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
    hot = nkeys // 10
    p = c.pipeline(transaction=False)
    for r in range(hot):
        p.exists(key(r))
    retained = sum(p.execute())
    info = c.info()
    c.config_set("maxmemory", 0)
    return {"hot_retained": retained / hot, "hit_rate": hits / max(1, hits + misses),
            "evicted": int(info["evicted_keys"]), "keys": int(c.dbsize()),
            "used": int(info["used_memory"]), "maxmemory": limit}


def perfect_lru(nkeys: int, capacity: int, seconds: float, zipf: float, batch: int,
                seed: int) -> dict[str, Any]:
    """The same sequence through an exact LRU cache of `capacity` keys."""
    rounds = max(1, int(seconds / 0.1))
    seq = access_sequence(nkeys, zipf, rounds, batch, seed)
    cache: OrderedDict[int, None] = OrderedDict()
    hits = misses = 0
    for i, ranks in enumerate(seq):
        for r in ranks:
            hit = r in cache
            if hit:
                cache.move_to_end(r)
            else:
                cache[r] = None
                if len(cache) > capacity:
                    cache.popitem(last=False)
            if i >= rounds // 2:
                hits += hit
                misses += not hit
    hot = nkeys // 10
    return {"hot_retained": sum(1 for r in range(hot) if r in cache) / hot,
            "hit_rate": hits / max(1, hits + misses)}


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import common  # noqa: E402

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keys", type=int, default=None)
    ap.add_argument("--capacity", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--zipf", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--samples", default="5,10")
    ap.add_argument("--targets", default="omakase,redis")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(here, "out"))
    a = ap.parse_args()
    nkeys = a.keys or (3000 if a.quick else 12000)
    capacity = a.capacity or nkeys // 3
    seconds = a.seconds or (5.0 if a.quick else 20.0)
    samples_list = [int(x) for x in a.samples.split(",")]
    results: dict[str, Any] = {"keys": nkeys, "capacity": capacity, "seconds": seconds,
                               "zipf": a.zipf, "batch": a.batch, "runs": []}
    ref = perfect_lru(nkeys, capacity, seconds, a.zipf, a.batch, a.seed)
    results["perfect_lru"] = ref
    for kind in a.targets.split(","):
        with common.Server(kind) as srv:
            c = srv.client()
            for samples in samples_list:
                r = run_workload(c, nkeys, capacity, seconds, samples, a.zipf, a.batch, a.seed)
                r.update(server=kind, samples=samples)
                # an exact LRU holding as many keys as this run ended with
                r["perfect_same_keys"] = perfect_lru(nkeys, max(1, r["keys"]), seconds, a.zipf,
                                                     a.batch, a.seed)["hot_retained"]
                results["runs"].append(r)
                print(f"{kind:8s} samples={samples:<3d} hot10% retained {r['hot_retained']:.3f}  "
                      f"(perfect LRU of {r['keys']} keys: {r['perfect_same_keys']:.3f})  "
                      f"hit rate {r['hit_rate']:.3f}  evicted {r['evicted']}", flush=True)
            c.close()
    print(f"perfect LRU              hot10% retained {ref['hot_retained']:.3f}  "
          f"hit rate {ref['hit_rate']:.3f}")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "eviction_quality.json"), "w") as f:
        json.dump(results, f, indent=2)
    lines = [f"allkeys-lru, {nkeys} keys (Zipf s={a.zipf}), capacity ~{capacity} keys, "
             f"{seconds:g} s per run", "",
             "| server | samples | keys kept | hot 10% retained | perfect LRU, same keys "
             "| hit rate (2nd half) | evicted |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results["runs"]:
        lines.append(f"| {r['server']} | {r['samples']} | {r['keys']} | {r['hot_retained']:.3f} | "
                     f"{r['perfect_same_keys']:.3f} | {r['hit_rate']:.3f} | {r['evicted']} |")
    lines.append(f"| perfect LRU | - | {capacity} | {ref['hot_retained']:.3f} | - | "
                 f"{ref['hit_rate']:.3f} | - |")
    with open(os.path.join(a.out, "eviction_quality.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
