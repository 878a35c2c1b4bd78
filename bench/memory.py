"""Memory suite: bytes per key (or per member) in omakase beside redis-server.

Three datasets, each loaded into a freshly started server (one server at a
time, pinned like run.py's), measured as the growth of process RSS
(/proc/PID/status VmRSS) and of INFO's ``used_memory`` from just after start
to just after the load, divided by the number of keys (members):

* ``strings``  N string keys (default 1,000,000): 16-byte keys
               ``key:000000000000`` .. and 32-byte values ``000..0<i>``;
               ``SET k v``, 1000 commands per pipelined batch.
* ``hashes``   N small hashes (default 1,000,000) of 10 fields: 16-byte keys
               ``hash:00000000000``, fields ``field:0``..``field:9``, 8-byte values;
               one ``HSET k f0 v0 .. f9 v9`` per key, 1000 per batch.
               (Redis keeps these as listpacks: hash-max-listpack-entries 128.)
* ``zset``     one sorted set of N members (default 1,000,000): 16-byte members
               ``member:000000000``, score = i; ``ZADD`` 1000 members per command,
               50 commands per batch.  Bytes are per member.

Loads are raw RESP over one socket (see common.fill).  Before a dataset is
loaded its command is sent once through redis-py; a server that does not know
it gets "n/a (not implemented)".

Until omakase has allocator accounting its ``used_memory`` is its RSS (see the
DIVERGENCE note in src/omakase/commands/info.py); the table says so when the
two are equal.  RSS is the number to compare: it is what the machine pays.

Usage::

    python bench/memory.py                          # 1,000,000 of each
    python bench/memory.py --quick                  # 100,000 of each
    python bench/memory.py --datasets strings --keys 2000000
    python bench/memory.py --targets omakase

Writes ``OUT/memory.json`` and ``OUT/memory.md`` beside printing the table.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Any, Callable, Iterable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Server  # noqa: E402


def strings_cmds(n: int) -> Iterable[tuple]:
    return common.string_fill(n, prefix=b"key:", keylen=16, vallen=32)


def hashes_cmds(n: int) -> Iterable[tuple]:
    fields = [b"field:%d" % j for j in range(10)]
    for i in range(n):
        args: list[bytes] = [b"HSET", b"hash:%011d" % i]
        for j, f in enumerate(fields):
            args += [f, b"%08d" % (i * 10 + j)]
        yield tuple(args)


def zset_cmds(n: int) -> Iterable[tuple]:
    per = 1000
    for start in range(0, n, per):
        args: list[bytes] = [b"ZADD", b"zset"]
        for i in range(start, min(n, start + per)):
            args += [b"%d" % i, b"member:%09d" % i]
        yield tuple(args)


# name -> (description, commands(n), batch, probe command, count check)
DATASETS: dict[str, tuple[str, Callable[[int], Iterable[tuple]], int, tuple, Callable[[Any], int]]] = {
    "strings": ("string keys (16 B key, 32 B value)", strings_cmds, 1000,
                ("SET", "__bench_probe__", "x"), lambda c: c.dbsize()),
    "hashes": ("hashes of 10 fields (16 B key, 7 B fields, 8 B values)", hashes_cmds, 1000,
               ("HSET", "__bench_probe__", "f", "v"), lambda c: c.dbsize()),
    "zset": ("members of one sorted set (16 B members)", zset_cmds, 50,
             ("ZADD", "__bench_probe__", "1", "m"), lambda c: c.zcard("zset")),
}


def settle_rss(srv: Server, wait: float = 0.5) -> int:
    """RSS once it stops moving (lazy frees, allocator trims), at most ~3 s."""
    time.sleep(wait)
    last = srv.rss_bytes()
    for _ in range(10):
        time.sleep(0.25)
        now = srv.rss_bytes()
        if abs(now - last) < 64 * 1024:
            return now
        last = now
    return last


def measure(kind: str, dataset: str, n: int, cpu: int | None) -> dict[str, Any]:
    desc, cmds, batch, probe_cmd, count = DATASETS[dataset]
    with Server(kind, cpu=cpu) as srv:
        c = srv.client()
        try:
            reason = common.probe(c, *probe_cmd)
            c.delete("__bench_probe__")
            if reason:
                return {"status": reason}
            rss0 = settle_rss(srv, 0.2)
            used0 = int(common.info_fields(c, "memory")["used_memory"])
            elapsed = common.fill(srv.port, cmds(n), batch)
            got = count(c)
            if got != n:
                return {"status": f"n/a (error: loaded {got} of {n})"}
            rss1 = settle_rss(srv)
            mem = common.info_fields(c, "memory")
            used1 = int(mem["used_memory"])
            return {"status": None, "n": n, "load_s": elapsed,
                    "rss_before": rss0, "rss_after": rss1,
                    "used_before": used0, "used_after": used1,
                    "rss_per": (rss1 - rss0) / n, "used_per": (used1 - used0) / n,
                    "used_is_rss": mem.get("used_memory") == mem.get("used_memory_rss")}
        finally:
            c.close()


def render(results: dict[str, Any], markdown: bool = False) -> str:
    head = ["dataset", "count", "server", "RSS B/each", "used_memory B/each", "RSS vs redis",
            "load s"]
    rows: list[list[str]] = []
    notes = set()
    for ds, per in results["datasets"].items():
        redis_rss = (per.get("redis") or {}).get("rss_per")
        for kind, r in per.items():
            if r["status"]:
                rows.append([ds, "", kind, r["status"], "", "", ""])
                continue
            used = common.fmt_num(r["used_per"], 1)
            if r.get("used_is_rss"):
                used += " (=RSS)"
                notes.add("(=RSS): this server reports its RSS as used_memory (no allocator "
                          "accounting yet)")
            ratio = (f"{r['rss_per'] / redis_rss:.2f}x" if redis_rss else "-")
            rows.append([ds, f"{r['n']:,}", kind, common.fmt_num(r["rss_per"], 1), used, ratio,
                         f"{r['load_s']:.1f}"])
    lines = []
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---", "---:", "---"] + ["---:"] * (len(head) - 3)) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        w = [max(len(x[i]) for x in [head] + [r for r in rows if not r[3].startswith("n/a")])
             for i in range(len(head))]
        fmt = lambda r: "  ".join(x.ljust(w[i]) if i in (0, 2) else x.rjust(w[i])  # noqa: E731
                                  for i, x in enumerate(r))
        lines.append(fmt(head))
        for r in rows:
            if r[3].startswith("n/a"):
                lines.append(f"{r[0].ljust(w[0])}  {''.rjust(w[1])}  {r[2].ljust(w[2])}  {r[3]}")
            else:
                lines.append(fmt(r))
    lines += [""] + sorted(notes)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="bytes per key: omakase beside redis-server")
    ap.add_argument("--keys", type=int, default=None,
                    help="keys (members for zset) per dataset (default 1000000, --quick 100000)")
    ap.add_argument("--datasets", default="strings,hashes,zset")
    ap.add_argument("--targets", default="omakase,redis")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(common.BENCH_DIR, "out"))
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--no-pin", action="store_true")
    args = ap.parse_args(argv)
    n = args.keys or (100_000 if args.quick else 1_000_000)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for d in datasets:
        if d not in DATASETS:
            ap.error(f"unknown dataset {d!r} (choose from {', '.join(DATASETS)})")
    for t in targets:
        if t not in common.KINDS:
            ap.error(f"unknown target {t!r}")
    common.install_sigterm_handler()
    pin = not args.no_pin and common.can_pin((args.server_cpu, args.client_cpu))
    if pin:
        common.pin_self(args.client_cpu)
    results: dict[str, Any] = {"meta": {"keys": n, "pinned": pin,
                                        "started": time.strftime("%Y-%m-%d %H:%M:%S")},
                               "datasets": {}}
    failed = False
    for d in datasets:
        results["datasets"][d] = {}
        for kind in targets:
            print(f"-- {d}: {n:,} {DATASETS[d][0]} into {kind} ...", file=sys.stderr, flush=True)
            try:
                r = measure(kind, d, n, args.server_cpu if pin else None)
            except (RuntimeError, OSError) as exc:
                r = {"status": f"n/a (error: {str(exc)[:100]})"}
                failed = failed or not str(exc).startswith("server error during fill")
            results["datasets"][d][kind] = r
            gc.collect()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "memory.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "memory.md"), "w") as f:
        f.write(render(results, markdown=True) + "\n")
    print(f"wrote {os.path.join(args.out, 'memory.json')} and memory.md")
    print()
    print(f"bytes per key (per member for zset), growth from empty to {n:,}:")
    print(render(results))
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
