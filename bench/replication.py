"""Replication costs: full sync time and replication lag under a write load.

For an omakase master and a Debian redis-server 7.0 master, each feeding a
real redis-server 7.0 replica, measures:

Full sync of N keys (default 1,000,000 keys of 16 bytes with 32-byte values,
``SET key:000000000000 000...0<i>``), one row per master and transfer mode:

* ``disk + sendfile``  ``repl-diskless-sync no``: a BGSAVE, then the file is
  sent with ``os.sendfile()`` (omakase's normal disk path);
* ``disk + read/write`` the same file sent by a ``pread()``+``send()`` loop
  (omakase: the undocumented ``DEBUG REPL-SENDFILE 0`` knob, which exists for
  this bench; redis-server: its only disk path -- Redis 7.0 reads the file
  16 KiB at a time and writes it to the socket, it has no sendfile switch,
  so the ``disk + sendfile`` row is n/a for redis);
* ``diskless``          ``repl-diskless-sync yes``, ``repl-diskless-sync-delay
  0``: a child writes the RDB into a pipe, the master relays it to the socket
  (omakase, with its one replica: ``os.splice()`` from the pipe to the
  socket; redis-server: a 16 KiB read()+write() relay, its only diskless
  path);
* ``diskless + read/send`` omakase only: the same with ``DEBUG REPL-SPLICE
  0`` (undocumented, for this bench), the relay several replicas get: the
  pipe read into a buffer that is sent to each socket.

Columns: ``sync s`` from REPLICAOF on the replica until its INFO says
``master_link_status:up`` (the replica's load of the payload included; the
replica is the same redis-server every time, emptied with FLUSHALL between
runs), ``keys/s`` = N / sync s, ``MB/s`` = the payload size
(the RDB file the disk modes sent; diskless sends the same RDB) / sync s,
``master CPU s`` = the master process's utime+stime during the sync (the
parent only: a fork child's CPU is not in it), ``RDB MB``.  The replica's log
(millisecond timestamps) splits ``sync s`` into ``snapshot wait s`` (sync
started until the payload begins: the fork and, for disk, the whole BGSAVE),
``transfer s`` (payload begins until it is all received; for diskless this
includes the child writing the RDB) with ``transfer MB/s``, and ``replica
load s`` (flush + load on the replica, the same redis-server every time).

Lag: the master (with its replica online) takes ``redis-benchmark -t set -c 50
-n 100000 -r 100000 -d 32``; every 50 ms a sampler reads the master's INFO
replication and reports ``master_repl_offset`` minus the replica's
acknowledged offset (``slave0:...,offset=``): ``ack lag max``/``p99`` in
bytes.  Replicas acknowledge once a second (and when asked by WAIT), so this
includes up to a second of stream by design; ``applied lag`` is the same
difference against the replica's own ``slave_repl_offset`` read right after
(what it has really applied).  ``catch-up s``: from the end of the load until
the replica's applied offset equals the master's (``ack catch-up s``: until
its acknowledged offset does).  ``load s`` is redis-benchmark's run time.

Masters run on core 1, the replica, redis-benchmark and the sampler on core 0
(skipped with a note where taskset or the cores are missing).  The machine
this runs on may be shared: absolute numbers move with its weather, the
comparison within one run is what to read.

Usage::

    python bench/replication.py                 # 1,000,000 keys
    python bench/replication.py --keys 200000 [--targets omakase,redis] [--out DIR]

Writes ``OUT/replication.json`` and ``OUT/replication.md`` (OUT = bench/out).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import Server  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
MODES = ("disk + sendfile", "disk + read/write", "diskless", "diskless + read/send")
SAMPLE_EVERY = 0.05


def _wait(pred: Any, timeout: float, what: str, step: float = 0.01) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


def _repl(c: Any) -> dict[str, Any]:
    """INFO replication as redis-py parses it (slave0 is a dict)."""
    return c.info("replication")


def _acked_offset(info: dict[str, Any]) -> int | None:
    """The offset= of slave0 in a master's INFO replication."""
    raw = info.get("slave0")
    if not isinstance(raw, dict) or "offset" not in raw:
        return None
    return int(raw["offset"])


PHASES = (("wait_s", "MASTER <-> REPLICA sync started", "MASTER <-> REPLICA sync: receiving"),
          ("transfer_s", "MASTER <-> REPLICA sync: receiving",
           "MASTER <-> REPLICA sync: Flushing old data"),
          ("load_s", "MASTER <-> REPLICA sync: Flushing old data",
           "MASTER <-> REPLICA sync: Finished with success"))


def _log_time(line: str) -> float:
    """The timestamp of a redis-server log line ("pid:R 26 Nov 2026 02:56:27.248 * ...")."""
    stamp = " ".join(line.split(" ", 5)[1:5])
    return datetime.strptime(stamp, "%d %b %Y %H:%M:%S.%f").timestamp()


def _phases(logfile: str, start: int) -> dict[str, float]:
    """The replica's sync phases, from its log past byte ``start``."""
    with open(logfile, errors="replace") as f:
        f.seek(start)
        lines = f.read().splitlines()
    out = {}
    for name, first, last in PHASES:
        a = next((_log_time(ln) for ln in lines if first in ln), None)
        b = next((_log_time(ln) for ln in lines if last in ln), None)
        if a is not None and b is not None:
            out[name] = b - a
    return out


def _set_mode(kind: str, mc: Any, mode: str) -> str | None:
    """Configure the master for ``mode``; a reason when it does not apply."""
    if mode.startswith("diskless"):
        if kind == "redis" and mode != "diskless":
            return "n/a (redis's diskless row is its read/write relay)"
        mc.config_set("repl-diskless-sync", "yes")
        mc.config_set("repl-diskless-sync-delay", 0)
        if kind == "omakase":
            mc.execute_command("DEBUG", "REPL-SPLICE", 0 if "read/send" in mode else 1)
        return None
    mc.config_set("repl-diskless-sync", "no")
    if kind == "redis":
        if mode == "disk + sendfile":
            return "n/a (redis has no sendfile path)"
        return None
    mc.execute_command("DEBUG", "REPL-SENDFILE", 0 if mode == "disk + read/write" else 1)
    return None


def full_sync(kind: str, master: Server, replica: Server, n: int, mode: str,
              known_size: int) -> dict[str, Any]:
    mc, rc = master.client(), replica.client()
    try:
        why = _set_mode(kind, mc, mode)
        if why:
            return {"na": why}
        rc.execute_command("REPLICAOF", "NO", "ONE")
        rc.flushall()
        log_start = os.path.getsize(replica.logfile)
        cpu0 = master.cpu_seconds()
        t0 = time.perf_counter()
        rc.execute_command("REPLICAOF", "127.0.0.1", master.port)
        _wait(lambda: _repl(rc).get("master_link_status") == "up", 1800, "the full sync",
              step=0.005)
        secs = time.perf_counter() - t0
        cpu = master.cpu_seconds() - cpu0
        got = rc.dbsize()
        if got != n:
            raise RuntimeError(f"replica of {kind} has {got} keys, expected {n}")
        # The payload: the file a disk sync sent; diskless sends the same
        # RDB (between two 40-byte marks), so the disk runs' size.
        size = known_size
        if not mode.startswith("diskless"):
            size = os.path.getsize(os.path.join(master.dir, "dump.rdb"))
        phases = _phases(replica.logfile, log_start)
        transfer = phases.get("transfer_s")
        return {"sync_s": secs, "keys_per_s": n / secs, "mb_per_s": size / 1e6 / secs,
                "master_cpu_s": cpu, "rdb_mb": size / 1e6, **phases,
                "transfer_mb_per_s": size / 1e6 / transfer if transfer else None}
    finally:
        mc.close()
        rc.close()


def lag(kind: str, master: Server, replica: Server, cpu: int | None,
        requests: int) -> dict[str, Any]:
    mc, rc = master.client(), replica.client()
    sampler_m, sampler_r = master.client(), replica.client()
    try:
        _wait(lambda: _repl(rc).get("master_link_status") == "up", 60, "the link")
        samples: list[tuple[float, int, int, int]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                mi = _repl(sampler_m)
                ri = _repl(sampler_r)
                acked = _acked_offset(mi)
                moff = int(mi["master_repl_offset"])
                roff = int(ri.get("slave_repl_offset", "0"))
                if acked is not None:
                    samples.append((t, moff, acked, roff))
                stop.wait(max(0.0, SAMPLE_EVERY - (time.perf_counter() - t)))

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        argv = common.pin_prefix(cpu) + [
            shutil.which("redis-benchmark") or "redis-benchmark", "-h", "127.0.0.1",
            "-p", str(master.port), "-t", "set", "-c", "50", "-n", str(requests),
            "-r", "100000", "-d", "32", "-q"]
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=900)
        t_end = time.perf_counter()
        applied_at = acked_at = None
        deadline = t_end + 120
        while time.perf_counter() < deadline and (applied_at is None or acked_at is None):
            mi = _repl(mc)
            moff = int(mi["master_repl_offset"])
            now = time.perf_counter()
            if applied_at is None and int(_repl(rc).get("slave_repl_offset", "0")) >= moff:
                applied_at = now
            if acked_at is None and (_acked_offset(mi) or 0) >= moff:
                acked_at = now
            time.sleep(0.005)
        stop.set()
        th.join()
        during = [s for s in samples if t0 <= s[0] <= t_end]
        acked = sorted(m - a for _, m, a, _ in during)
        applied = sorted(max(0, m - r) for _, m, _, r in during)

        def p99(v: list[int]) -> int:
            return v[min(len(v) - 1, int(len(v) * 0.99))] if v else 0

        return {"load_s": t_end - t0, "samples": len(during),
                "ack_lag_max": acked[-1] if acked else 0, "ack_lag_p99": p99(acked),
                "applied_lag_max": applied[-1] if applied else 0,
                "applied_lag_p99": p99(applied),
                "catchup_s": None if applied_at is None else applied_at - t_end,
                "ack_catchup_s": None if acked_at is None else acked_at - t_end}
    finally:
        for c in (mc, rc, sampler_m, sampler_r):
            c.close()


def measure(kind: str, n: int, requests: int, pin: bool) -> dict[str, Any]:
    master_cpu, other_cpu = (1, 0) if pin else (None, None)
    extra = ["--enable-debug-command", "yes", "--repl-ping-replica-period", "10"]
    master = Server(kind, master_cpu, extra_args=extra)
    replica = None
    out: dict[str, Any] = {"sync": {}}
    try:
        out["fill_s"] = common.fill(master.port, common.string_fill(n), 1000)
        replica = Server("redis", other_cpu)
        size = 0
        for mode in MODES:
            out["sync"][mode] = r = full_sync(kind, master, replica, n, mode, size)
            size = size or int(r.get("rdb_mb", 0) * 1e6)
            print(f"  {kind} {mode}: {out['sync'][mode]}", file=sys.stderr)
        out["lag"] = lag(kind, master, replica, other_cpu, requests)
        print(f"  {kind} lag: {out['lag']}", file=sys.stderr)
    finally:
        if replica is not None:
            replica.stop()
        master.stop()
    return out


def render(results: dict[str, Any], n: int, requests: int, pinned: bool) -> str:
    fmt = common.fmt_num
    lines = [f"Full sync of {n:,} keys (16-byte keys, 32-byte values) to a redis-server "
             f"7.0 replica", "",
             "| master | mode | sync s | keys/s | MB/s | snapshot wait s | transfer s | "
             "transfer MB/s | replica load s | master CPU s | RDB MB |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, r in results.items():
        for mode in MODES:
            s = r["sync"][mode]
            if "na" in s:
                lines.append(f"| {kind} | {mode} | {s['na']} |" + " |" * 9)
                continue
            lines.append(f"| {kind} | {mode} | {fmt(s['sync_s'], 2)} | "
                         f"{fmt(s['keys_per_s'])} | {fmt(s['mb_per_s'], 1)} | "
                         f"{fmt(s.get('wait_s'), 3)} | {fmt(s.get('transfer_s'), 3)} | "
                         f"{fmt(s.get('transfer_mb_per_s'), 1)} | {fmt(s.get('load_s'), 3)} | "
                         f"{fmt(s['master_cpu_s'], 2)} | {fmt(s['rdb_mb'], 1)} |")
    lines += ["", f"Replication lag under `redis-benchmark -t set -c 50 -n {requests:,} "
              f"-d 32`, sampled every {int(SAMPLE_EVERY * 1000)} ms (bytes)", "",
              "| master | load s | samples | ack lag max | ack lag p99 | applied lag max | "
              "applied lag p99 | catch-up s | ack catch-up s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, r in results.items():
        g = r["lag"]
        lines.append(f"| {kind} | {fmt(g['load_s'], 2)} | {g['samples']} | "
                     f"{fmt(g['ack_lag_max'])} | {fmt(g['ack_lag_p99'])} | "
                     f"{fmt(g['applied_lag_max'])} | {fmt(g['applied_lag_p99'])} | "
                     f"{fmt(g['catchup_s'], 3)} | {fmt(g['ack_catchup_s'], 3)} |")
    lines += ["", "Phases come from the replica's log (1 ms resolution): a transfer of a few "
              "MB over loopback takes a few ms, so transfer MB/s is coarse at small --keys.",
              "Replicas acknowledge their offset once a second, so ack lag includes up "
              "to a second of stream; applied lag uses the replica's own slave_repl_offset "
              "(read just after the master's INFO: a lower bound).",
              "redis-server has no sendfile path (it reads the RDB 16 KiB at a time).",
              "Masters on core 1; replica, redis-benchmark and the sampler on core 0."
              if pinned else "Not pinned (taskset or cores 0-1 unavailable)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keys", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--targets", default="omakase,redis")
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    common.install_sigterm_handler()
    pin = common.can_pin()
    if pin:
        common.pin_self(0)
    results = {kind: measure(kind, args.keys, args.requests, pin)
               for kind in args.targets.split(",")}
    os.makedirs(args.out, exist_ok=True)
    text = render(results, args.keys, args.requests, pin)
    with open(os.path.join(args.out, "replication.json"), "w") as f:
        json.dump({"keys": args.keys, "requests": args.requests, "results": results}, f,
                  indent=2)
    with open(os.path.join(args.out, "replication.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
