"""Per-command survey: server CPU per request for ~60 commands beyond run.py's 19.

run.py measures the issue's fixed list of tests.  A user's workload is made of
other commands too (ZRANGEBYSCORE, HINCRBY, SCAN, XRANGE, MGET, ...), and a
command whose implementation takes a slow path stays invisible there.  This
script runs one redis-benchmark per command against omakase and redis-server,
alternated round by round exactly as run.py does, on the same small dataset
loaded into both (10,000 strings and counters, hashes of 10 and 1,000 fields,
sorted sets of 100 (listpack) and 10,000 (skiplist) members, lists of 100
and 10,000 elements, a set of 100 members, a 1,000-entry stream, a bitmap, an
HLL), and reports per command:

* server CPU microseconds per request (utime+stime from /proc/PID/stat, the
  steady measure on this machine) for each server, and their ratio
  (omakase / redis: how many times Redis's CPU omakase spends);
* requests/s of each and the median of the per-round ratios omakase/redis.

Rows are sorted by the CPU ratio, worst first, so the slow paths head the
table.  The default shape is run.py's shape b (50 clients, pipelined 16
deep), where the server's own work dominates; ``--clients``/``--pipeline``
change it.  Commands that write keep the dataset's size steady (updates of
existing members, XADD with MAXLEN ~), so every round sees the same data.

    python bench/commands.py [--rounds 3] [--requests 100000] [--only zset,hash] [--quick]

Outputs: the table on stdout ending with ``geomean cpu ratio: R`` and
``geomean rps ratio: R``; ``OUT/commands.json`` (every round) and
``OUT/commands.md`` (the table).  Benchmarks, not tests: the exit status is 0
when the survey ran (a command a server rejects is shown n/a), 2 when a
server died.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import KINDS, Server  # noqa: E402
from run import geomean, median, run_one  # noqa: E402

R = "__rand_int__"
N_STRINGS = 10_000

# group -> [(label, redis-benchmark command, -r keyspace or 0, request scale)]
# __rand_int__ is 12 digits (zero padded) drawn below the -r value.
SURVEY: dict[str, list[tuple[str, list[str], int, float]]] = {
    "keyspace": [
        ("EXISTS", ["EXISTS", f"key:{R}"], N_STRINGS, 1),
        ("TYPE", ["TYPE", f"key:{R}"], N_STRINGS, 1),
        ("TTL", ["TTL", f"key:{R}"], N_STRINGS, 1),
        ("EXPIRE", ["EXPIRE", f"key:{R}", "100000"], N_STRINGS, 1),
        ("SCAN 0", ["SCAN", "0"], 0, 0.5),
        ("SCAN MATCH COUNT 100", ["SCAN", "0", "MATCH", "key:00000000001*", "COUNT", "100"], 0, 0.25),
        ("DBSIZE", ["DBSIZE"], 0, 1),
        ("ECHO", ["ECHO", "hello"], 0, 1),
    ],
    "string": [
        ("GET", ["GET", f"key:{R}"], N_STRINGS, 1),
        ("SET", ["SET", f"key:{R}", "xxx"], N_STRINGS, 1),
        ("SET EX", ["SET", f"key:{R}", "xxx", "EX", "100000"], N_STRINGS, 1),
        ("GETRANGE", ["GETRANGE", f"key:{R}", "0", "1"], N_STRINGS, 1),
        ("STRLEN", ["STRLEN", f"key:{R}"], N_STRINGS, 1),
        ("MGET 10", ["MGET"] + [f"key:{R}"] * 10, N_STRINGS, 0.5),
        ("INCRBY", ["INCRBY", f"ctr:{R}", "3"], N_STRINGS, 1),
        ("INCRBYFLOAT", ["INCRBYFLOAT", f"fl:{R}", "1.5"], N_STRINGS, 1),
        ("GETBIT", ["GETBIT", "bm", "4000"], 0, 1),
        ("SETBIT", ["SETBIT", "bm", "4000", "1"], 0, 1),
        ("BITCOUNT", ["BITCOUNT", "bm"], 0, 1),
        ("PFADD", ["PFADD", "hll", f"e:{R}"], 100_000, 1),
        ("PFCOUNT", ["PFCOUNT", "hll"], 0, 1),
    ],
    "hash": [
        ("HGET 10", ["HGET", "h10", f"f:{R}"], 10, 1),
        ("HSET 10 existing", ["HSET", "h10", f"f:{R}", "yyy"], 10, 1),
        ("HINCRBY 10", ["HINCRBY", "hc10", f"f:{R}", "1"], 10, 1),
        ("HINCRBYFLOAT 10", ["HINCRBYFLOAT", "hc10", f"g:{R}", "0.5"], 10, 1),
        ("HMGET 10 3", ["HMGET", "h10", f"f:{R}", f"f:{R}", f"f:{R}"], 10, 1),
        ("HGETALL 10", ["HGETALL", "h10"], 0, 1),
        ("HEXISTS 10", ["HEXISTS", "h10", f"f:{R}"], 20, 1),
        ("HLEN 10", ["HLEN", "h10"], 0, 1),
        ("HGET 1000", ["HGET", "h1000", f"f:{R}"], 1000, 1),
        ("HINCRBY 1000", ["HINCRBY", "hc1000", f"f:{R}", "1"], 1000, 1),
    ],
    "list": [
        ("LINDEX 100", ["LINDEX", "l100", "50"], 0, 1),
        ("LSET 100", ["LSET", "l100", "50", "yyy"], 0, 1),
        ("LLEN 100", ["LLEN", "l100"], 0, 1),
        ("LRANGE 100 0 9", ["LRANGE", "l100", "0", "9"], 0, 1),
        ("LINDEX 10000", ["LINDEX", "l10000", "5000"], 0, 1),
        ("LSET 10000", ["LSET", "l10000", "5000", "yyy"], 0, 1),
        ("LRANGE 10000 mid 10", ["LRANGE", "l10000", "5000", "5009"], 0, 1),
        ("LPOS 100", ["LPOS", "l100", "v:000000000090"], 0, 0.5),
    ],
    "set": [
        ("SISMEMBER 100", ["SISMEMBER", "s100", f"m:{R}"], 200, 1),
        ("SCARD 100", ["SCARD", "s100"], 0, 1),
        ("SRANDMEMBER 100", ["SRANDMEMBER", "s100"], 0, 1),
        ("SMEMBERS 100", ["SMEMBERS", "s100"], 0, 0.25),
        ("SINTER 100 100", ["SINTER", "s100", "s100b"], 0, 0.25),
    ],
    "zset": [
        ("ZSCORE 100", ["ZSCORE", "z100", f"m:{R}"], 100, 1),
        ("ZRANK 100", ["ZRANK", "z100", f"m:{R}"], 100, 1),
        ("ZINCRBY 100", ["ZINCRBY", "zi100", "1", f"m:{R}"], 100, 1),
        ("ZADD 100 existing", ["ZADD", "zi100", R, f"m:{R}"], 100, 1),
        ("ZRANGE 100 0 9", ["ZRANGE", "z100", "0", "9"], 0, 1),
        ("ZREVRANGE 100 0 9 WITHSCORES", ["ZREVRANGE", "z100", "0", "9", "WITHSCORES"], 0, 1),
        ("ZRANGEBYSCORE 100 LIMIT 5", ["ZRANGEBYSCORE", "z100", "10", "50", "LIMIT", "0", "5"], 0, 1),
        ("ZCOUNT 100", ["ZCOUNT", "z100", "10", "50"], 0, 1),
        ("ZRANGEBYLEX 100 LIMIT 5", ["ZRANGEBYLEX", "zl100", "[m:000000000010", "+", "LIMIT", "0", "5"], 0, 1),
        ("ZSCORE 10000", ["ZSCORE", "z10000", f"m:{R}"], 10000, 1),
        ("ZRANK 10000", ["ZRANK", "z10000", f"m:{R}"], 10000, 1),
        ("ZADD 10000 existing", ["ZADD", "zi10000", R, f"m:{R}"], 10000, 1),
        ("ZRANGE 10000 mid 10", ["ZRANGE", "z10000", "5000", "5009"], 0, 1),
        ("ZRANGEBYSCORE 10000 LIMIT 10", ["ZRANGEBYSCORE", "z10000", "5000", "+inf", "LIMIT", "0", "10"], 0, 1),
        ("ZCOUNT 10000", ["ZCOUNT", "z10000", "2000", "8000"], 0, 1),
    ],
    "stream": [
        ("XADD MAXLEN ~ 1000", ["XADD", "st", "MAXLEN", "~", "1000", "*", "f", "v"], 0, 1),
        ("XLEN", ["XLEN", "st"], 0, 1),
        ("XRANGE COUNT 10", ["XRANGE", "st", "-", "+", "COUNT", "10"], 0, 1),
        ("XREVRANGE COUNT 1", ["XREVRANGE", "st", "+", "-", "COUNT", "1"], 0, 1),
        ("XREAD COUNT 10", ["XREAD", "COUNT", "10", "STREAMS", "st", "0"], 0, 1),
    ],
    "scripting": [
        ("EVAL GET", ["EVAL", "return redis.call('GET', KEYS[1])", "1", f"key:{R}"], N_STRINGS, 1),
        ("PUBLISH", ["PUBLISH", "chan", "hello"], 0, 1),
    ],
}


def dataset() -> list[tuple[bytes, ...]]:
    """The commands that build the survey's data, the same on both servers."""
    def k(i: int) -> bytes:
        return b"%012d" % i
    cmds: list[tuple[bytes, ...]] = []
    for i in range(N_STRINGS):
        cmds.append((b"SET", b"key:" + k(i), b"xxx"))
        cmds.append((b"SET", b"ctr:" + k(i), b"%d" % i))
        cmds.append((b"SET", b"fl:" + k(i), b"1.5"))
    for i in range(10):
        cmds.append((b"HSET", b"h10", b"f:" + k(i), b"xxx"))
        cmds.append((b"HSET", b"hc10", b"f:" + k(i), b"%d" % i, b"g:" + k(i), b"0.5"))
    for i in range(1000):
        cmds.append((b"HSET", b"h1000", b"f:" + k(i), b"xxx"))
        cmds.append((b"HSET", b"hc1000", b"f:" + k(i), b"%d" % i))
    for i in range(100):
        cmds.append((b"RPUSH", b"l100", b"v:" + k(i)))
        cmds.append((b"SADD", b"s100", b"m:" + k(i)))
        cmds.append((b"SADD", b"s100b", b"m:" + k(i * 2)))
        for key in (b"z100", b"zi100"):
            cmds.append((b"ZADD", key, b"%d" % i, b"m:" + k(i)))
        cmds.append((b"ZADD", b"zl100", b"0", b"m:" + k(i)))
    for i in range(10_000):
        cmds.append((b"RPUSH", b"l10000", b"v:" + k(i)))
        for key in (b"z10000", b"zi10000"):
            cmds.append((b"ZADD", key, b"%d" % i, b"m:" + k(i)))
    for i in range(1000):
        cmds.append((b"XADD", b"st", b"*", b"f", b"v:%d" % i))
        cmds.append((b"PFADD", b"hll", b"e:%d" % i))
    cmds.append((b"SETBIT", b"bm", b"7999", b"1"))
    return cmds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100_000, help="per run, before each command's scale")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--only", default="", help="comma-separated groups: " + ",".join(SURVEY))
    ap.add_argument("--quick", action="store_true", help="1 round, 2,000 requests: does it work?")
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--no-pin", action="store_true")
    ap.add_argument("--out", default=os.path.join(common.BENCH_DIR, "out"))
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.requests = 1, 2000
    groups = [g for g in args.only.split(",") if g] or list(SURVEY)
    unknown = [g for g in groups if g not in SURVEY]
    if unknown:
        ap.error(f"unknown group(s) {unknown}; known: {list(SURVEY)}")
    args.groups = groups
    return args


def bench_argv(args: argparse.Namespace, port: int, cmd: list[str], keyspace: int, n: int,
               pin: bool) -> list[str]:
    exe = shutil.which("redis-benchmark") or "redis-benchmark"
    argv = common.pin_prefix(args.client_cpu if pin else None) + [
        exe, "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "-c", str(args.clients),
        "-P", str(args.pipeline), "--csv"]
    if keyspace:
        argv += ["-r", str(keyspace)]
    return argv + cmd


def render(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    head = (f"# Per-command survey: {meta['clients']} clients, pipeline {meta['pipeline']}, "
            f"{meta['rounds']} round(s), {meta['started']}\n\n"
            "| command | omakase µs/req | redis µs/req | CPU ratio | omakase rps | redis rps | rps ratio |\n"
            "|---|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        if r.get("status"):
            lines.append(f"| {r['label']} | {r['status']} | | | | | |")
            continue
        lines.append("| {} | {} | {} | {} | {} | {} | {} |".format(
            r["label"], common.fmt_num(r["omakase_cpu"], 1), common.fmt_num(r["redis_cpu"], 2),
            common.fmt_num(r["cpu_ratio"], 2), common.fmt_num(r["omakase_rps"]),
            common.fmt_num(r["redis_rps"]), common.fmt_num(r["rps_ratio"], 3)))
    lines.append("")
    lines.append(f"geomean cpu ratio: {common.fmt_num(meta['cpu_geomean'], 2)}")
    lines.append(f"geomean rps ratio: {common.fmt_num(meta['rps_geomean'], 3)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.install_sigterm_handler()
    if common.missing_tools():
        return 2
    pin = not args.no_pin and common.can_pin((args.server_cpu, args.client_cpu))
    os.makedirs(args.out, exist_ok=True)
    tests = [t for g in args.groups for t in SURVEY[g]]
    meta: dict[str, Any] = {"rounds": args.rounds, "requests": args.requests,
                            "clients": args.clients, "pipeline": args.pipeline, "pinned": pin,
                            "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {t[0]: {k: [] for k in KINDS} for t in tests}
    status: dict[str, str | None] = {t[0]: None for t in tests}
    servers: dict[str, Server] = {}
    try:
        for k in KINDS:
            servers[k] = Server(k, cpu=args.server_cpu if pin else None)
            common.fill(servers[k].port, dataset())
            c = servers[k].client()
            try:
                for label, cmd, _, _ in tests:
                    probe_cmd = [a.replace(R, "000000000001") for a in cmd]
                    reason = common.probe(c, *probe_cmd)
                    if reason and status[label] is None:
                        status[label] = reason if k == "omakase" else f"{reason} in redis-server"
            finally:
                c.close()
        for rnd in range(args.rounds):
            order = KINDS if rnd % 2 == 0 else tuple(reversed(KINDS))
            for label, cmd, keyspace, scale in tests:
                if status[label]:
                    continue
                n = max(100, int(args.requests * scale))
                for k in order:
                    srv = servers[k]
                    c0 = srv.cpu_seconds()
                    res = run_one(bench_argv(args, srv.port, cmd, keyspace, n, pin), 60 + n / 200)
                    c1 = srv.cpu_seconds()
                    if not srv.alive():
                        print(f"{k} died during {label}:\n{srv.log_tail()}", file=sys.stderr)
                        return 2
                    if "error" not in res:
                        res["cpu_us"] = (c1 - c0) / n * 1e6
                    runs[label][k].append(res)
            print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        for srv in servers.values():
            srv.stop()

    rows = []
    for label, _, _, _ in tests:
        o, r = runs[label]["omakase"], runs[label]["redis"]
        row: dict[str, Any] = {"label": label, "status": status[label]}
        errors = [x["error"] for x in o + r if "error" in x]
        if not row["status"] and errors:
            row["status"] = f"n/a ({errors[0][:60]})"
        if not row["status"]:
            pairs = [(a, b) for a, b in zip(o, r)]
            row.update({
                "omakase_cpu": median([a["cpu_us"] for a in o]),
                "redis_cpu": median([b["cpu_us"] for b in r]),
                "omakase_rps": median([a["rps"] for a in o]),
                "redis_rps": median([b["rps"] for b in r]),
                "cpu_ratio": median([a["cpu_us"] / b["cpu_us"] for a, b in pairs if b["cpu_us"]]),
                "rps_ratio": median([a["rps"] / b["rps"] for a, b in pairs if b["rps"]]),
            })
        rows.append(row)
    measured = [r for r in rows if not r["status"]]
    measured.sort(key=lambda r: -(r["cpu_ratio"] or 0))
    rows = measured + [r for r in rows if r["status"]]
    meta["cpu_geomean"] = geomean([r["cpu_ratio"] for r in measured])
    meta["rps_geomean"] = geomean([r["rps_ratio"] for r in measured])
    text = render(rows, meta)
    print(text, end="")
    with open(os.path.join(args.out, "commands.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "commands.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "runs": runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
