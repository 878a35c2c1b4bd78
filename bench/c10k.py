"""C10K: the event-loop backends with many idle connections and a few busy ones.

The seed's argument for epoll over select/poll is that a loop pass should cost
in proportion to the *ready* sockets, not to all the watched ones.  This
script measures it.  For each backend (omakase's hidden
``event-loop-backend epoll|poll|select``; redis-server with its epoll beside
them) it opens ``--idle`` connections (default 10,000) that never send
anything, then:

* ``idle CPU %``   the server's CPU use over 3 s with only the idle
                   connections (serverCron's clients cron and the polls);
* ``rps``          redis-benchmark ``-c 50 -t ping_mbulk,set,get`` (50 busy
                   clients) while the idle connections stay open: requests/s,
                   summed over the three tests;
* ``µs/req``       server CPU microseconds per request in that run, from
                   /proc/PID/stat: with 50 busy clients a loop pass serves a
                   handful of ready sockets, so a backend whose pass costs
                   O(watched fds) shows here as extra µs per request.

``select`` cannot watch descriptors above FD_SETSIZE (1024): it is run with
``--select-idle`` connections (default 900) and the table says so.

Usage::

    python bench/c10k.py                # 10,000 idle connections
    python bench/c10k.py --idle 2000 --requests 50000

Writes ``OUT/c10k.json`` and ``OUT/c10k.md``.  Needs ``ulimit -n`` above the
idle count (the script raises its soft limit to the hard limit; servers
inherit it).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Server  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
TESTS = "ping_mbulk,set,get"


def open_idle(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        socks.append(s)
    # make sure the server accepted them all (a PING on one more connection
    # is answered only after the accept queue was drained)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"PING\r\n")
        s.recv(16)
    return socks


def benchmark(port: int, requests: int, cpu: int | None) -> float:
    out = subprocess.run(common.pin_prefix(cpu) + [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "50",
        "-n", str(requests), "-t", TESTS, "--csv"], capture_output=True, text=True,
        timeout=600).stdout
    total = 0.0
    for line in out.splitlines()[1:]:
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1:
            total += float(parts[1])
    return total


def measure(kind: str, backend: str | None, idle: int, requests: int,
            server_cpu: int | None, client_cpu: int | None) -> dict[str, Any]:
    extra = ["--maxclients", str(idle + 200)]
    if backend is not None:
        extra += ["--event-loop-backend", backend]
    srv = Server(kind, server_cpu, extra_args=extra)
    try:
        socks = open_idle(srv.port, idle)
        try:
            c0 = srv.cpu_seconds()
            time.sleep(3)
            idle_cpu = (srv.cpu_seconds() - c0) / 3 * 100
            c = srv.client()
            before = int(common.info_fields(c, "stats")["total_commands_processed"])
            c0 = srv.cpu_seconds()
            t0 = time.perf_counter()
            rps = benchmark(srv.port, requests, client_cpu)
            elapsed = time.perf_counter() - t0
            cpu = srv.cpu_seconds() - c0
            done = int(common.info_fields(c, "stats")["total_commands_processed"]) - before
            c.close()
        finally:
            for s in socks:
                s.close()
    finally:
        srv.stop()
    return {"idle": idle, "idle_cpu_pct": idle_cpu, "rps": rps / 3,
            "us_per_req": cpu / max(done, 1) * 1e6, "seconds": elapsed}


def render(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| server / backend | idle conns | idle CPU % | req/s (mean of 3 tests) | "
             "CPU µs/req |", "|---|---|---|---|---|"]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | {r.get('idle', '')} | {r['error']} | | |")
            continue
        lines.append(f"| {name} | {r['idle']:,} | {r['idle_cpu_pct']:.1f} | {r['rps']:,.0f} | "
                     f"{r['us_per_req']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--idle", type=int, default=10_000)
    p.add_argument("--select-idle", type=int, default=900)
    p.add_argument("--requests", type=int, default=100_000)
    args = p.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    common.install_sigterm_handler()
    pin = common.can_pin()
    server_cpu, client_cpu = (1, 0) if pin else (None, None)
    runs = [("omakase epoll", "omakase", "epoll", args.idle),
            ("omakase poll", "omakase", "poll", args.idle),
            ("omakase select", "omakase", "select", args.select_idle),
            ("omakase epoll (same idle as select)", "omakase", "epoll", args.select_idle),
            ("redis-server (epoll)", "redis", None, args.idle)]
    results: dict[str, dict[str, Any]] = {}
    for name, kind, backend, idle in runs:
        try:
            results[name] = measure(kind, backend, idle, args.requests, server_cpu, client_cpu)
        except Exception as exc:  # noqa: BLE001 - report and go on
            results[name] = {"idle": idle, "error": f"failed: {exc}"}
        print(name, results[name], flush=True)
    os.makedirs(OUT, exist_ok=True)
    text = render(results)
    with open(os.path.join(OUT, "c10k.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(OUT, "c10k.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
