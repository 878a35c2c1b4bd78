"""Throughput suite: redis-benchmark against omakase and redis-server, alternated.

One command starts both servers (server on core 1, redis-benchmark on core 0,
via taskset), then for every round, every shape and every test runs
redis-benchmark once against each server, back to back (which server goes
first flips every round), and reads the server's CPU time (utime+stime from
/proc/PID/stat) just before and just after each run.  On this noisy 2-core
machine one run means little, so the report is medians over rounds, and the
ratio column is the median of the per-round ratios omakase/redis (both runs
of a pair saw the same machine weather).  CPU microseconds per request are
steadier than requests/s when other work shares the machine.

Shapes (redis-benchmark's -c clients and -P pipeline depth):

    a   50 clients, unpipelined         -c 50 -P 1     -n N
    b   50 clients, pipelined 16 deep   -c 50 -P 16    -n N
    c   1 client, unpipelined           -c 1  -P 1     -n N/2   (+ p50/p99 latency)

Every run is ``taskset -c 0 redis-benchmark -h 127.0.0.1 -p PORT -n N -c C -P P
-r 100000 --csv <test>`` where <test> is ``-t name`` for redis-benchmark's
built-in tests and a literal command for two of them:

* LRANGE_100/300/600 run as ``LRANGE mylist 0 99`` (0 299, 0 599) on a list
  topped up to 600 elements of "xxx" before each run (what ``-t lrange_100``
  queries; but ``-t lrange_*`` first does N LPUSHes to build the list, and
  that fill would be counted in the CPU time).  They use N/2, N/4, N/8
  requests (they are 10-100x slower per request).
* EVAL runs as ``EVAL "return 1" 0``.

``-r 100000`` spreads SET/GET/INCR/MSET keys (key:__rand_int__), SADD/HSET/ZADD
members over 100,000 values.  Tests run in redis-benchmark's own order, on the
state the previous tests left (LPOP/RPOP pop what LPUSH/RPUSH pushed, SPOP and
ZPOPMIN pop what SADD and ZADD added), the same on both servers.

Before any run, every test's command is sent once to each server through
redis-py; a command a server rejects as unknown is shown as
"n/a (not implemented)" and left out of the geometric mean (with a note).  A
run that fails anyway (redis-benchmark exits non-zero or prints "Error from
server", or times out) is shown as "n/a (error ...)" the same way.

Usage::

    python bench/run.py                         # 5 rounds, -n 100000, shapes a,b,c
    python bench/run.py --quick                 # 2 rounds, -n 5000: does it work?
    python bench/run.py --shapes b --tests set,get,lrange_100 --rounds 7
    python bench/run.py --out /tmp/bench-out --no-plot
    python bench/run.py --peer fakeredis        # + the Python peer fakeredis, same rounds
    python bench/run.py --peer minimal          # + the issue's minimal epoll+hiredis server

``--peer fakeredis`` (``pip install -e '.[peers]'``) starts a third server,
fakeredis's TcpFakeServer through ``bench/fakeredis_server.py``, pinned to
the servers' core, and runs it in the same rounds against the same tests
(the order of the three flips every round), with n/10 requests, at least
1000 (never more than omakase's n): it is slow, and pipelined it stalls, so a
stalled run ends at the per-run timeout (computed from its own n) and is left
out with a note.  The tables gain ``fakeredis rps``, ``fakeredis ratio``
(median of per-round fakeredis/redis, redis's run of the same round) and
``fakeredis us/req``; a test the peer alone rejects (PING_INLINE: fakeredis
parses no inline commands) is n/a for the peer only.  Before omakase's
geomean lines come ``geomean ratio shape X (fakeredis): R`` lines, which also
give omakase's throughput over fakeredis's on the tests both ran.  A peer
that dies is noted and dropped; the exit status does not change.  Without
``--peer`` nothing of this appears.

``--peer minimal`` works the same way with ``bench/minimal_server.py``, the
minimal epoll + hiredis server the issue's targets are set against (no
semantics; EVAL is n/a for it), at omakase's own n.

Output: the tables on stdout, ending with one ``geomean ratio shape X: R``
line per shape (omakase's); ``OUT/shapes.json`` (every round's numbers), ``OUT/shapes.md``
(the tables), ``OUT/commands.txt`` (every command line run) and, when
matplotlib is installed, ``OUT/shapes.png``.  Exit status 0 when the suite ran
(n/a tests included), 2 when a server died or nothing could be measured.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import KINDS, NOT_IMPLEMENTED, Server  # noqa: E402

KEYSPACE = 100_000
LIST_LEN = 600
PEER_MIN = 1000         # a peer's runs use n * its scale requests, at least this many (never more than omakase's n)

SHAPES: dict[str, dict[str, Any]] = {
    "a": {"clients": 50, "pipeline": 1, "scale": 1.0, "title": "50 clients, unpipelined"},
    "b": {"clients": 50, "pipeline": 16, "scale": 1.0, "title": "50 clients, pipelined 16 deep"},
    "c": {"clients": 1, "pipeline": 1, "scale": 0.5, "title": "1 client, unpipelined"},
}

P = "__bench_probe__"
# name -> (redis-benchmark arguments, request scale, probe commands)
TESTS: dict[str, tuple[list[str], float, list[tuple]]] = {
    "PING_INLINE": (["-t", "ping_inline"], 1.0, [("PING",)]),
    "PING_MBULK": (["-t", "ping_mbulk"], 1.0, [("PING",)]),
    "SET": (["-t", "set"], 1.0, [("SET", P, "xxx")]),
    "GET": (["-t", "get"], 1.0, [("GET", P)]),
    "INCR": (["-t", "incr"], 1.0, [("INCR", P + "n")]),
    "LPUSH": (["-t", "lpush"], 1.0, [("LPUSH", P + "l", "xxx")]),
    "RPUSH": (["-t", "rpush"], 1.0, [("RPUSH", P + "l", "xxx")]),
    "LPOP": (["-t", "lpop"], 1.0, [("LPOP", P + "l")]),
    "RPOP": (["-t", "rpop"], 1.0, [("RPOP", P + "l")]),
    "SADD": (["-t", "sadd"], 1.0, [("SADD", P + "s", "element:1")]),
    "HSET": (["-t", "hset"], 1.0, [("HSET", P + "h", "element:1", "xxx")]),
    "SPOP": (["-t", "spop"], 1.0, [("SPOP", P + "s")]),
    "ZADD": (["-t", "zadd"], 1.0, [("ZADD", P + "z", "0", "element:1")]),
    "ZPOPMIN": (["-t", "zpopmin"], 1.0, [("ZPOPMIN", P + "z")]),
    "LRANGE_100": (["LRANGE", "mylist", "0", "99"], 1 / 2,
                   [("RPUSH", P + "l", "xxx"), ("LRANGE", P + "l", "0", "99")]),
    "LRANGE_300": (["LRANGE", "mylist", "0", "299"], 1 / 4,
                   [("RPUSH", P + "l", "xxx"), ("LRANGE", P + "l", "0", "299")]),
    "LRANGE_600": (["LRANGE", "mylist", "0", "599"], 1 / 8,
                   [("RPUSH", P + "l", "xxx"), ("LRANGE", P + "l", "0", "599")]),
    "MSET": (["-t", "mset"], 1.0, [("MSET", P + "1", "xxx", P + "2", "xxx")]),
    "EVAL": (["EVAL", "return 1", "0"], 1.0, [("EVAL", "return 1", "0")]),
}
PROBE_KEYS = [P, P + "n", P + "l", P + "s", P + "h", P + "z", P + "1", P + "2"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="redis-benchmark against omakase and redis-server, alternated round by round")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 5, --quick 2)")
    ap.add_argument("--requests", type=int, default=None,
                    help="-n for shapes a and b (default 100000, --quick 5000); shape c uses n/2")
    ap.add_argument("--shapes", default="a,b,c", help="comma list of a,b,c")
    ap.add_argument("--tests", default=None,
                    help="comma list of test names (default all: " + ",".join(TESTS).lower() + ")")
    ap.add_argument("--quick", action="store_true", help="2 rounds of 5000 requests")
    ap.add_argument("--out", default=os.path.join(common.BENCH_DIR, "out"),
                    help="directory for shapes.json/.md/.png and commands.txt")
    ap.add_argument("--no-plot", action="store_true", help="do not draw shapes.png")
    ap.add_argument("--server-cpu", type=int, default=1, help="core for the servers (taskset)")
    ap.add_argument("--client-cpu", type=int, default=0, help="core for redis-benchmark (taskset)")
    ap.add_argument("--no-pin", action="store_true", help="do not use taskset")
    ap.add_argument("--keyspace", type=int, default=KEYSPACE, help="redis-benchmark -r")
    ap.add_argument("--bench-timeout", type=float, default=None,
                    help="seconds before one redis-benchmark run is abandoned "
                         "(default 30 + n/200)")
    ap.add_argument("--peer", choices=sorted(common.PEERS), default=None,
                    help="also measure this Python peer: fakeredis (pip install -e '.[peers]'; "
                         f"n/10 requests, at least {PEER_MIN}) or minimal (the issue's epoll + "
                         "hiredis server with no semantics, bench/minimal_server.py; n requests)")
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.requests is None:
        args.requests = 5000 if args.quick else 100_000
    args.shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    for s in args.shapes:
        if s not in SHAPES:
            ap.error(f"unknown shape {s!r} (choose from a,b,c)")
    if args.tests:
        wanted = [t.strip().upper() for t in args.tests.split(",") if t.strip()]
        for t in wanted:
            if t not in TESTS:
                ap.error(f"unknown test {t!r} (choose from {', '.join(TESTS)})")
        args.tests = [t for t in TESTS if t in wanted]          # keep the canonical order
    else:
        args.tests = list(TESTS)
    if args.rounds < 1 or args.requests < 1:
        ap.error("--rounds and --requests must be positive")
    return args


def requests_for(args: argparse.Namespace, shape: str, test: str) -> int:
    return max(100, int(args.requests * SHAPES[shape]["scale"] * TESTS[test][1]))


def peer_requests_for(args: argparse.Namespace, shape: str, test: str) -> int:
    n = requests_for(args, shape, test)
    return min(n, max(PEER_MIN, int(n * common.PEERS[args.peer].scale)))


def bench_argv(args: argparse.Namespace, port: int, shape: str, test: str, pin: bool,
               n: int | None = None) -> list[str]:
    sh = SHAPES[shape]
    exe = shutil.which("redis-benchmark") or "redis-benchmark"
    n = requests_for(args, shape, test) if n is None else n
    argv = common.pin_prefix(args.client_cpu if pin else None) + [
        exe, "-h", "127.0.0.1", "-p", str(port), "-n", str(n),
        "-c", str(sh["clients"]), "-P", str(sh["pipeline"]), "-r", str(args.keyspace), "--csv"]
    return argv + TESTS[test][0]


def probe_tests(srv: Server, tests: list[str]) -> dict[str, str | None]:
    """Send each test's command once; test -> None (fine) or the n/a reason."""
    c = srv.client()
    out: dict[str, str | None] = {}
    try:
        for t in tests:
            reason = None
            for cmd in TESTS[t][2]:
                reason = common.probe(c, *cmd)
                if reason:
                    break
            out[t] = reason
        c.delete(*PROBE_KEYS)
    finally:
        c.close()
    return out


def prepare(srv: Server, test: str) -> None:
    """State a test needs that redis-benchmark would build inside the measured run."""
    if test.startswith("LRANGE_"):
        c = srv.client()
        try:
            n = c.llen("mylist")
            if n < LIST_LEN:
                c.rpush("mylist", *([b"xxx"] * (LIST_LEN - n)))
        finally:
            c.close()


def run_one(argv: list[str], timeout: float) -> dict[str, Any]:
    """One redis-benchmark run: {'rps', 'p50', 'p99'} or {'error': ...}."""
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f}s"}
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    both = out + err
    if "Error from server" in both or p.returncode != 0:
        msg = ""
        for line in both.splitlines():
            if "Error from server" in line:     # before a peer's "WARNING: Could not fetch server CONFIG"
                msg = line.strip()
                break
        for line in both.splitlines():
            if not msg and ("Error" in line or "error" in line or "Could not" in line):
                msg = line.strip()
                break
        return {"error": (msg or f"redis-benchmark exited {p.returncode}")[:120]}
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r.get("test")]
    if len(rows) != 1:
        return {"error": f"expected one CSV row, got {len(rows)}: {out[:200]!r}"}
    row = rows[0]
    try:
        return {"rps": float(row["rps"]), "p50": float(row.get("p50_latency_ms") or "nan"),
                "p99": float(row.get("p99_latency_ms") or "nan"), "name": row["test"]}
    except (KeyError, ValueError) as exc:
        return {"error": f"unparsable CSV row {row!r}: {exc}"}


def median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(xs) if xs else None


def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def run_medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median rps, p50, p99 and CPU µs/req over a server's runs that did not fail."""
    return {f: median([r.get(f) for r in runs if "error" not in r])
            for f in ("rps", "p50", "p99", "cpu_us")}


def paired_ratios(runs: list[dict[str, Any]],
                  redis_runs: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Per-round rps and CPU ratios of ``runs`` to redis's runs of the same rounds."""
    pairs = [(o, r) for o, r in zip(runs, redis_runs) if "error" not in o and "error" not in r]
    return ([o["rps"] / r["rps"] for o, r in pairs if r.get("rps")],
            [o["cpu_us"] / r["cpu_us"] for o, r in pairs if r.get("cpu_us")])


def store_geomeans(sh: dict[str, Any], prefix: str, ratios: list[float],
                   cpu_ratios: list[float], excluded: list[str]) -> None:
    """A shape's summary fields (``prefix`` "peer_": the peer's), as
    ``geomean_lines`` reads them."""
    sh[prefix + "geomean"] = geomean(ratios)
    sh[prefix + "cpu_geomean"] = geomean(cpu_ratios)
    sh[prefix + "n_tests"] = len(ratios)
    sh[prefix + "excluded"] = excluded


def summarize(results: dict[str, Any]) -> None:
    """Add medians, per-test ratio and per-shape geomean to the results in place."""
    for sh in results["shapes"].values():
        ratios, cpu_ratios, excluded = [], [], []
        for name, t in sh["tests"].items():
            med: dict[str, Any] = {}
            for k in KINDS:
                med[k] = run_medians(t[k])
            paired, cpu_paired = paired_ratios(t["omakase"], t["redis"])
            t["ratios"] = paired
            t["errors"] = [f"{k} round {r['round'] + 1}: {r['error']}"
                           for k in KINDS for r in t[k] if "error" in r]
            med["ratio"] = median(paired)
            med["cpu_ratio"] = median(cpu_paired)
            t["median"] = med
            if t["status"] is None and med["ratio"] is None:
                errs = [r["error"] for k in KINDS for r in t[k] if "error" in r]
                t["status"] = "n/a (error: " + (errs[0] if errs else "no run") + ")"
            if t["status"] is None:
                ratios.append(med["ratio"])
                if med["cpu_ratio"]:
                    cpu_ratios.append(med["cpu_ratio"])
            else:
                excluded.append(f"{name} {t['status']}")
        store_geomeans(sh, "", ratios, cpu_ratios, excluded)
        if results["meta"].get("peer"):
            summarize_peer(sh, results["meta"]["peer"])


def summarize_peer(sh: dict[str, Any], peer: str) -> None:
    """The peer's medians, ratios to redis-server (same rounds) and geomean, for one shape."""
    ratios, cpu_ratios, vs_omakase, excluded = [], [], [], []
    for name, t in sh["tests"].items():
        runs = t[peer]
        med = run_medians(runs)
        paired, cpu_paired = paired_ratios(runs, t["redis"])
        t["peer_ratios"] = paired
        t["peer_errors"] = [f"{peer} round {r['round'] + 1}: {r['error']}" for r in runs if "error" in r]
        t["median"][peer] = med
        t["median"]["peer_ratio"] = median(paired)
        t["median"]["peer_cpu_ratio"] = median(cpu_paired)
        if t["peer_status"] is None and t["median"]["peer_ratio"] is None:
            errs = [r["error"] for r in runs if "error" in r] + \
                   [r["error"] for r in t["redis"] if "error" in r]
            t["peer_status"] = "n/a (error: " + (errs[0] if errs else "no run") + ")"
        if t["peer_status"] is None:
            ratios.append(t["median"]["peer_ratio"])
            if t["median"]["peer_cpu_ratio"]:
                cpu_ratios.append(t["median"]["peer_cpu_ratio"])
            if t["status"] is None and t["median"]["ratio"]:
                vs_omakase.append(t["median"]["ratio"] / t["median"]["peer_ratio"])
        else:
            excluded.append(f"{name} {t['peer_status']}")
    store_geomeans(sh, "peer_", ratios, cpu_ratios, excluded)
    # omakase's throughput over the peer's, on the tests both were measured on
    sh["omakase_over_peer"] = geomean(vs_omakase)
    sh["omakase_over_peer_n"] = len(vs_omakase)


def render(results: dict[str, Any], markdown: bool = False) -> str:
    lines: list[str] = []
    peer = results["meta"].get("peer")
    for key, sh in results["shapes"].items():
        latency = sh["clients"] == 1
        head = ["test", "omakase rps", "redis rps", "ratio", "omakase us/req", "redis us/req"]
        if latency:
            head += ["omakase p50/p99 ms", "redis p50/p99 ms"]
        if peer:
            head += [f"{peer} rps", f"{peer} ratio", f"{peer} us/req"]
        rows = []
        for name, t in sh["tests"].items():
            m = t["median"]
            if t["status"] is not None:
                rows.append([name, t["status"]] + [""] * (len(head) - 2))
                continue
            row = [name, common.fmt_num(m["omakase"]["rps"]), common.fmt_num(m["redis"]["rps"]),
                   common.fmt_num(m["ratio"], 2), common.fmt_num(m["omakase"]["cpu_us"], 1),
                   common.fmt_num(m["redis"]["cpu_us"], 1)]
            if latency:
                for k in KINDS:
                    row.append(f"{common.fmt_num(m[k]['p50'], 3)}/{common.fmt_num(m[k]['p99'], 3)}")
            if peer and t["peer_status"] is not None:
                row += ["n/a", "-", "-"]
            elif peer:
                row += [common.fmt_num(m[peer]["rps"]), common.fmt_num(m["peer_ratio"], 3),
                        common.fmt_num(m[peer]["cpu_us"], 1)]
            rows.append(row)
        title = (f"shape {key}: {sh['title']} (redis-benchmark -c {sh['clients']} -P {sh['pipeline']}"
                 f" -n {sh['requests']} -r {results['meta']['keyspace']}, LRANGE_100/300/600 n/2, n/4, n/8;"
                 f" medians of "
                 f"{results['meta']['rounds']} rounds; ratio = median of per-round omakase/redis)")
        if peer:
            scale = results["meta"]["peer_scale"]
            share = "n" if scale == 1 else f"n/{round(1 / scale)} (at least {PEER_MIN})"
            title += (f"; {peer}: {share} requests per run, "
                      f"{peer} ratio = median of per-round {peer}/redis")
        if markdown:
            lines.append(f"### {title}\n")
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
            for r in rows:
                lines.append("| " + " | ".join(r) + " |")
            lines.append("")
        else:
            widths = [max(len(str(x[i])) for x in [head] + [r for r in rows if r[2] != ""])
                      for i in range(len(head))]
            lines.append(title)
            lines.append("  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i])
                                   for i, h in enumerate(head)))
            for r in rows:
                if r[2] == "" and r[1].startswith("n/a"):
                    lines.append(r[0].ljust(widths[0]) + "  " + r[1])
                else:
                    lines.append("  ".join(str(x).ljust(widths[0]) if i == 0 else str(x).rjust(widths[i])
                                           for i, x in enumerate(r)))
            lines.append("")
        for name, t in sh["tests"].items():
            if t["status"] is None and t.get("errors"):
                lines.append(f"note: {name} had {len(t['errors'])} failed run(s), left out of its "
                             f"medians: {t['errors'][0]}")
                lines.append("")
            if peer and t["status"] is None:
                if t["peer_status"] is not None:
                    lines.append(f"note: {name} {peer} {t['peer_status']}")
                    lines.append("")
                elif t.get("peer_errors"):
                    lines.append(f"note: {name} had {len(t['peer_errors'])} failed {peer} run(s), "
                                 f"left out of its medians: {t['peer_errors'][0]}")
                    lines.append("")
    if peer and results["meta"].get("peer_failure"):
        lines.append(f"note: {results['meta']['peer_failure'].splitlines()[0]}; "
                     f"its later runs are missing")
        lines.append("")
    if peer:
        lines += peer_geomean_lines(results, markdown)
    lines += geomean_lines(results, markdown)
    return "\n".join(lines)


def peer_geomean_lines(results: dict[str, Any], markdown: bool = False) -> list[str]:
    """``geomean ratio shape X (PEER): R`` per shape (before omakase's lines, which end the report)."""
    return geomean_lines(results, markdown, prefix="peer_", label=results["meta"]["peer"])


def geomean_lines(results: dict[str, Any], markdown: bool = False, prefix: str = "",
                  label: str | None = None) -> list[str]:
    """``geomean ratio shape X: R`` per shape, from the shape's summary
    fields (``prefix`` "peer_" and ``label`` the peer's name: the peer's)."""
    out = []
    for key, sh in results["shapes"].items():
        g = sh[prefix + "geomean"]
        gtxt = f"{g:.3f}" if g is not None else "n/a"
        note = f"{sh[prefix + 'n_tests']} tests"
        if sh[prefix + "cpu_geomean"] is not None:
            note += f"; CPU/req {sh[prefix + 'cpu_geomean']:.2f}x redis"
        if label is not None and sh["omakase_over_peer"] is not None:
            note += (f"; omakase {sh['omakase_over_peer']:.3g}x {label} "
                     f"on {sh['omakase_over_peer_n']} common tests")
        if sh[prefix + "excluded"]:
            note += "; excluded: " + ", ".join(sh[prefix + "excluded"])
        who = f" ({label})" if label is not None else ""
        line = f"geomean ratio shape {key}{who}: {gtxt} ({note})"
        out.append(("- " + line) if markdown else line)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.install_sigterm_handler()
    if common.missing_tools():
        return 2
    if args.peer and importlib.util.find_spec(common.PEERS[args.peer].module) is None:
        print(f"--peer {args.peer}: {common.PEERS[args.peer].module} is not installed "
              f"(pip install -e '.[peers]')", file=sys.stderr)
        return 2
    pin = not args.no_pin and common.can_pin((args.server_cpu, args.client_cpu))
    if not pin and not args.no_pin:
        print("note: cannot pin with taskset here; running unpinned", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)

    results: dict[str, Any] = {
        "meta": {"rounds": args.rounds, "requests": args.requests, "keyspace": args.keyspace,
                 "pinned": pin, "server_cpu": args.server_cpu if pin else None,
                 "client_cpu": args.client_cpu if pin else None,
                 "started": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(),
                 "python": platform.python_version(), "clk_tck": common.CLK_TCK},
        "shapes": {},
    }
    peer = args.peer
    kinds = KINDS + ((peer,) if peer else ())
    if peer:
        results["meta"]["peer"] = peer
        results["meta"]["peer_scale"] = common.PEERS[peer].scale
        results["meta"]["peer_min"] = PEER_MIN
    commands: list[str] = []
    servers: dict[str, Server] = {}
    failure = None
    peer_dead = None          # why the peer stopped being measured (it may die; the suite goes on)
    try:
        for k in kinds:
            servers[k] = Server(k, cpu=args.server_cpu if pin else None)
            commands.append(" ".join(repr(a) if a == "" else a for a in servers[k].argv))
        rinfo = servers["redis"].client().info("server")
        results["meta"]["redis_version"] = rinfo.get("redis_version")
        bv = subprocess.run(["redis-benchmark", "--version"], capture_output=True, text=True)
        results["meta"]["redis_benchmark"] = bv.stdout.strip()
        if peer:
            mod = common.PEERS[peer].module
            pv = subprocess.run([sys.executable, "-c", f"import {mod}; print({mod}.__version__)"],
                                capture_output=True, text=True)
            results["meta"]["peer_version"] = pv.stdout.strip() or None

        status = {t: None for t in args.tests}
        for k in KINDS:
            for t, reason in probe_tests(servers[k], args.tests).items():
                if reason and status[t] is None:
                    status[t] = reason if k == "omakase" else f"{reason} in redis-server"
        peer_status = probe_tests(servers[peer], args.tests) if peer else {}
        for key in args.shapes:
            sh = SHAPES[key]
            results["shapes"][key] = {
                "title": sh["title"], "clients": sh["clients"], "pipeline": sh["pipeline"],
                "requests": requests_for(args, key, "SET"),
                "tests": {t: {"status": status[t], "n": requests_for(args, key, t),
                              "omakase": [], "redis": []} for t in args.tests}}
            if peer:
                for t, entry in results["shapes"][key]["tests"].items():
                    entry.update({"peer_status": status[t] or peer_status[t],
                                  "peer_n": peer_requests_for(args, key, t), peer: []})

        todo = sum(1 for t in args.tests if status[t] is None) * len(args.shapes) * args.rounds
        done = 0
        t_start = time.time()
        for rnd in range(args.rounds):
            order = kinds if rnd % 2 == 0 else tuple(reversed(kinds))
            for key in args.shapes:
                for t in args.tests:
                    entry = results["shapes"][key]["tests"][t]
                    if status[t] is not None:
                        continue
                    for k in order:
                        if k == peer and (entry["peer_status"] is not None or peer_dead):
                            continue
                        n = entry["peer_n"] if k == peer else entry["n"]
                        timeout = args.bench_timeout or (30 + n / 200)
                        srv = servers[k]
                        argv = bench_argv(args, srv.port, key, t, pin, n)
                        if rnd == 0:
                            commands.append(f"# shape {key}, {t}, {k}\n" + " ".join(
                                f'"{a}"' if " " in a else a for a in argv))
                        prepare(srv, t)
                        c0 = srv.cpu_seconds()
                        w0 = time.perf_counter()
                        res = run_one(argv, timeout)
                        wall = time.perf_counter() - w0
                        c1 = srv.cpu_seconds()
                        if not srv.alive():
                            if k == peer:
                                peer_dead = f"{k} died during {t} (shape {key}):\n{srv.log_tail()}"
                                print(f"\nnote: {peer_dead}; going on without it",
                                      file=sys.stderr)
                                continue
                            failure = f"{k} died during {t} (shape {key}):\n{srv.log_tail()}"
                            raise RuntimeError(failure)
                        if "error" not in res:
                            res["cpu_us"] = (c1 - c0) * 1e6 / n
                        res["round"] = rnd
                        res["wall_s"] = round(wall, 3)
                        entry[k].append(res)
                    done += 1
                    print(f"\r[{done}/{todo}] round {rnd + 1}/{args.rounds} shape {key} {t:<12} "
                          f"{time.time() - t_start:6.0f}s", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    except RuntimeError as exc:
        failure = failure or str(exc)
        print(f"\nbenchmark aborted: {failure}", file=sys.stderr)
    finally:
        for srv in servers.values():
            srv.stop()

    if not results["shapes"]:
        return 2
    summarize(results)
    results["meta"]["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    results["meta"]["failure"] = failure
    if peer:
        results["meta"]["peer_failure"] = peer_dead
    with open(os.path.join(args.out, "shapes.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "shapes.md"), "w") as f:
        f.write(render(results, markdown=True) + "\n")
    with open(os.path.join(args.out, "commands.txt"), "w") as f:
        f.write("\n".join(commands) + "\n")
    notes = [f"wrote {os.path.join(args.out, n)}" for n in ("shapes.json", "shapes.md", "commands.txt")]
    if not args.no_plot:
        try:
            import plot
            path = plot.plot_shapes(results, os.path.join(args.out, "shapes.png"))
            notes.append(f"wrote {path}" if path else
                         "no plot: matplotlib is not installed (pip install matplotlib)")
        except Exception as exc:                      # a plot must never cost the numbers
            notes.append(f"no plot: {exc}")
    print("\n".join(notes))
    print()
    print(render(results))
    measured = any(sh["n_tests"] for sh in results["shapes"].values())
    return 2 if failure or not measured else 0


if __name__ == "__main__":
    sys.exit(main())
