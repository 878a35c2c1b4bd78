"""Threaded I/O: what ``io-threads N`` buys on this machine.

For each configuration (``io-threads 1`` and ``io-threads N`` with
``io-threads-do-reads yes`` for every N in ``--threads``) the script starts a
fresh omakase server and runs redis-benchmark against it in two shapes:

* ``unpipelined``  ``-c 50 -t set,get``          one request per round trip
* ``pipelined``    ``-c 50 -P 16 -t set,get``    16 requests per round trip

and reports, per shape, the throughput (requests/s, mean of the tests) and
the server's CPU time per request (µs, from /proc/PID/stat: utime + stime of
every thread of the process, so the I/O threads' work is counted).  Rounds
alternate the configurations so a noisy neighbour hurts them all alike; the
table shows the median over rounds.  The INFO counters
``io_threaded_writes_processed`` / ``io_threaded_reads_processed`` are shown so
a run where the threads never engaged is visible as such.

``--compare-src DIR`` adds an ``io-threads 1`` run of another source tree
(a copy of ``src/`` from before a change): the hot-path before/after check.

Usage::

    python bench/iothreads.py                       # 1, 2, 4 threads, 3 rounds
    python bench/iothreads.py --threads 1 --compare-src /tmp/before/src
    python bench/iothreads.py --requests 100000 --rounds 5

The server is not pinned to a core by default (threads need both cores);
``--pin`` pins it to core 1 and redis-benchmark to core 0.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Server  # noqa: E402

TESTS = "set,get"
SHAPES = {"unpipelined": [], "pipelined": ["-P", "16"]}


def run_benchmark(port: int, requests: int, extra: list[str], cpu: int | None) -> float:
    """Mean requests/s over the TESTS."""
    out = subprocess.run(common.pin_prefix(cpu) + [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "50", "-r", "100000",
        "-n", str(requests), "-t", TESTS, "--csv", *extra],
        capture_output=True, text=True, timeout=900).stdout
    rates = []
    for line in out.splitlines()[1:]:
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1:
            rates.append(float(parts[1]))
    return sum(rates) / len(rates) if rates else 0.0


def measure(label: str, threads: int, src: str | None, requests: int,
            pin: bool) -> dict[str, Any]:
    extra_args = ["--io-threads", str(threads)]
    if threads > 1:
        extra_args += ["--io-threads-do-reads", "yes"]
    env = {"PYTHONPATH": src} if src else None
    server_cpu, client_cpu = (1, 0) if pin else (None, None)
    result: dict[str, Any] = {"label": label}
    with Server("omakase", cpu=server_cpu, env_extra=env, extra_args=extra_args) as srv:
        for shape, extra in SHAPES.items():
            before = srv.cpu_seconds()
            rps = run_benchmark(srv.port, requests, extra, client_cpu)
            used = srv.cpu_seconds() - before
            total = requests * len(TESTS.split(","))
            result[shape] = (rps, used / total * 1e6)
        info = common.info_fields(srv.client(), "stats")
        result["threaded_writes"] = int(info.get("io_threaded_writes_processed", 0))
        result["threaded_reads"] = int(info.get("io_threaded_reads_processed", 0))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compare-src", default=None,
                    help="another src/ tree to run with io-threads 1 (before/after)")
    ap.add_argument("--pin", action="store_true")
    args = ap.parse_args()
    common.install_sigterm_handler()
    configs: list[tuple[str, int, str | None]] = []
    if args.compare_src:
        configs.append(("before (io-threads 1)", 1, args.compare_src))
    for n in (int(x) for x in args.threads.split(",")):
        configs.append((f"io-threads {n}" + (" +reads" if n > 1 else ""), n, None))
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in configs}
    for rnd in range(args.rounds):
        for label, n, src in configs:
            r = measure(label, n, src, args.requests, args.pin)
            runs[label].append(r)
            print(f"round {rnd + 1} {label:24s} "
                  + "  ".join(f"{s}: {r[s][0]:9.0f} rps {r[s][1]:6.2f} us/req" for s in SHAPES),
                  file=sys.stderr, flush=True)
    print(f"\nredis-benchmark -c 50 -t {TESTS} -n {args.requests}, median of "
          f"{args.rounds} rounds; CPU = server CPU µs per request (all threads)\n")
    print("| config | unpipelined rps | µs/req | pipelined (-P 16) rps | µs/req "
          "| threaded writes | threaded reads |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, _, _ in configs:
        rs = runs[label]
        cells = []
        for shape in SHAPES:
            cells.append(f"{statistics.median(r[shape][0] for r in rs):,.0f}")
            cells.append(f"{statistics.median(r[shape][1] for r in rs):.2f}")
        tw = statistics.median(r["threaded_writes"] for r in rs)
        tr = statistics.median(r["threaded_reads"] for r in rs)
        print(f"| {label} | " + " | ".join(cells) + f" | {tw:,.0f} | {tr:,.0f} |")


if __name__ == "__main__":
    main()
