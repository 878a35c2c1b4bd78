"""Persistence costs: SAVE, BGSAVE and start-up load of a mixed dataset.

For omakase and Debian's redis-server in the same run, on the same dataset
(default 1,000,000 keys: 70% strings, 10% hashes of 10 fields, 10% lists of
10 elements, 5% sets of 10 members, 5% sorted sets of 10 members), measures:

* ``save s``      SAVE's round trip (the blocking write of the whole file);
* ``bgsave s``    BGSAVE until INFO says it finished; ``fork ms`` is
                  ``latest_fork_usec``; ``cow MB`` is ``rdb_last_cow_size``
                  (what copy-on-write cost the child);
* ``load s``      a fresh server started on the file, until it answers PING
                  (for both servers: process start plus loading);
* ``MB``          the RDB file size.

Usage::

    python bench/persistence.py             # 1,000,000 keys
    python bench/persistence.py --keys 100000

Writes ``OUT/persistence.json`` and ``OUT/persistence.md`` (OUT = bench/out).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from typing import Any, Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Server  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def mixed_fill(n: int) -> Iterator[tuple[bytes, ...]]:
    """One command per key; the kinds cycle in a fixed 20-key pattern."""
    kinds = (["s"] * 14) + ["h", "h", "l", "l", "set", "z"]
    for i in range(n):
        kind = kinds[i % 20]
        key = b"k:%012d" % i
        if kind == "s":
            yield (b"SET", key, b"%032d" % i)
        elif kind == "h":
            args: list[bytes] = [b"HSET", key]
            for f in range(10):
                args += [b"field%d" % f, b"value-%d-%d" % (i, f)]
            yield tuple(args)
        elif kind == "l":
            yield (b"RPUSH", key, *[b"element-%d" % e for e in range(10)])
        elif kind == "set":
            yield (b"SADD", key, *[b"member-%d" % e for e in range(10)])
        else:
            args = [b"ZADD", key]
            for e in range(10):
                args += [b"%d" % e, b"zm-%d" % e]
            yield tuple(args)


def wait_bgsave(c: Any, timeout: float = 900) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if common.info_fields(c, "persistence").get("rdb_bgsave_in_progress") == "0":
            return
        time.sleep(0.02)
    raise RuntimeError("BGSAVE did not finish")


def measure(kind: str, n: int, cpu: int | None) -> dict[str, Any]:
    srv = Server(kind, cpu)
    result: dict[str, Any] = {}
    try:
        c = srv.client()
        result["fill_s"] = common.fill(srv.port, mixed_fill(n), 500)
        t0 = time.perf_counter()
        c.execute_command("SAVE")
        result["save_s"] = time.perf_counter() - t0
        path = os.path.join(srv.dir, "dump.rdb")
        result["file_mb"] = os.path.getsize(path) / 1e6
        t0 = time.perf_counter()
        c.execute_command("BGSAVE")
        wait_bgsave(c)
        result["bgsave_s"] = time.perf_counter() - t0
        stats = common.info_fields(c, "stats")
        pers = common.info_fields(c, "persistence")
        result["fork_ms"] = int(stats.get("latest_fork_usec", 0)) / 1000
        result["cow_mb"] = int(pers.get("rdb_last_cow_size", 0)) / 1e6
        result["rss_mb"] = srv.rss_bytes() / 1e6
        keep = os.path.join(os.path.dirname(srv.dir), f"omakase-bench-{kind}-dump.rdb")
        shutil.copy(path, keep)
        c.close()
    finally:
        srv.stop()
    load_dir = os.path.dirname(keep)
    t0 = time.perf_counter()
    loader = Server(kind, cpu, extra_args=["--dbfilename", os.path.basename(keep),
                                           "--dir", load_dir])
    result["load_s"] = time.perf_counter() - t0
    try:
        c = loader.client()
        got = c.dbsize()
        if got != n:
            raise RuntimeError(f"{kind} loaded {got} keys, expected {n}")
        c.close()
    finally:
        loader.stop()
        os.unlink(keep)
    return result


def render(results: dict[str, dict[str, Any]], n: int) -> str:
    cols = [("save s", "save_s", 2), ("bgsave s", "bgsave_s", 2), ("fork ms", "fork_ms", 1),
            ("cow MB", "cow_mb", 1), ("load s", "load_s", 2), ("MB", "file_mb", 1),
            ("RSS MB", "rss_mb", 0)]
    lines = [f"Persistence, {n:,} mixed keys", "",
             "| server | " + " | ".join(c[0] for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for kind, r in results.items():
        lines.append(f"| {kind} | " + " | ".join(common.fmt_num(r.get(k), d) for _, k, d in cols)
                     + " |")
    if "omakase" in results and "redis" in results:
        o, r = results["omakase"], results["redis"]
        ratios = [f"{name} {o[k] / r[k]:.1f}x" for name, k in
                  (("save", "save_s"), ("bgsave", "bgsave_s"), ("load", "load_s"),
                   ("file", "file_mb")) if r.get(k)]
        lines += ["", "omakase / redis: " + ", ".join(ratios)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--targets", default="omakase,redis")
    args = p.parse_args(argv)
    common.install_sigterm_handler()
    cpu = 0 if common.can_pin() else None
    results = {kind: measure(kind, args.keys, cpu) for kind in args.targets.split(",")}
    os.makedirs(OUT, exist_ok=True)
    text = render(results, args.keys)
    with open(os.path.join(OUT, "persistence.json"), "w") as f:
        json.dump({"keys": args.keys, "results": results}, f, indent=2)
    with open(os.path.join(OUT, "persistence.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
