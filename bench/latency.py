"""Latency under internal work: what one client sees while the server is busy.

A prober process (pinned to the client core) sends one PING at a time, with
0.2 ms pauses, and records when each was sent and how long its reply took.
While it runs, the main process makes the server do a big piece of internal
work; the table shows the probes' p50, p99 and worst round trip inside that
work's window, beside an idle baseline.  Cases:

* ``growth``  the keyspace grows from 0 to N keys (default 5,000,000) by
              pipelined SETs: every hash-table resize lands inside the window.
              This case is bench/resize_latency.py's ``measure()`` (its own
              servers, loader and prober, unpinned); this script only puts its
              result in the table.  If that file is missing or its interface
              changed, an equivalent built-in run is used (noted in the table).
* ``bgsave``  BGSAVE of N keys (default 1,000,000 16-byte keys, 32-byte
              values); window = from sending BGSAVE until INFO persistence
              says ``rdb_bgsave_in_progress:0``.  The ``cmd ms`` column is the
              BGSAVE reply's round trip (the fork), and ``latest_fork_usec``
              is noted.
* ``aofrw``   the same with BGREWRITEAOF (servers started with
              ``appendonly yes`` and no automatic rewrites), until
              ``aof_rewrite_in_progress:0``.
* ``bigset``  DEL, then (after a refill) UNLINK, of one set of N members
              (default 5,000,000, ``m:<i>``, SADD 1000 members per command);
              window = from sending the command until INFO memory says
              ``lazyfree_pending_objects:0`` (at once for DEL).  ``cmd ms`` is
              the DEL/UNLINK round trip itself.

Windows are padded by 0.2 s at the end so the probe in flight when the work
ends is counted.  A command the server does not know (BGSAVE, UNLINK, SADD,
today or ever) gives "n/a (not implemented)" for that row; the run goes on.

Usage::

    python bench/latency.py                        # the sizes above
    python bench/latency.py --quick                # growth 200k, bgsave 100k, set 200k
    python bench/latency.py --cases bgsave,bigset --targets omakase

Writes ``OUT/latency.json`` and ``OUT/latency.md``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import sys
import time
from array import array
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import NOT_IMPLEMENTED, Server  # noqa: E402

PAD = 0.2


# ---------------------------------------------------------------- the prober

def _prober(port: int, cpu: int | None, stop_evt: Any, conn: Any) -> None:
    common.pin_self(cpu)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = b"*1\r\n$4\r\nPING\r\n"
    sent, took = array("d"), array("d")
    pc = time.perf_counter           # CLOCK_MONOTONIC: comparable across processes
    sleep = time.sleep
    conn.send("ready")
    while not stop_evt.is_set():
        t0 = pc()
        sock.sendall(req)
        data = sock.recv(64)
        while not data.endswith(b"\r\n"):
            more = sock.recv(64)
            if not more:
                break
            data += more
        sent.append(t0)
        took.append(pc() - t0)
        sleep(0.0002)
    sock.close()
    conn.send_bytes(sent.tobytes())
    conn.send_bytes(took.tobytes())
    conn.close()


class Prober:
    def __init__(self, port: int, cpu: int | None) -> None:
        ctx = mp.get_context("fork")
        self.stop_evt = ctx.Event()
        self.parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_prober, args=(port, cpu, self.stop_evt, child), daemon=True)
        self.proc.start()
        if not self.parent.poll(20) or self.parent.recv() != "ready":
            self.proc.kill()
            raise RuntimeError("prober did not start")

    def finish(self) -> tuple[array, array]:
        self.stop_evt.set()
        sent, took = array("d"), array("d")
        if not self.parent.poll(60):
            self.proc.kill()
            raise RuntimeError("prober did not report (server stuck?)")
        sent.frombytes(self.parent.recv_bytes())
        took.frombytes(self.parent.recv_bytes())
        self.proc.join(10)
        return sent, took


def window_stats(sent: array, took: array, start: float, end: float) -> dict[str, Any]:
    lat = sorted(d for t, d in zip(sent, took) if start <= t <= end)
    n = len(lat)
    if not n:
        return {"n": 0, "p50": None, "p99": None, "worst": None, "over10": 0}

    def pct(p: float) -> float:
        return lat[min(n - 1, int(n * p))] * 1e3
    return {"n": n, "p50": pct(0.50), "p99": pct(0.99), "worst": lat[-1] * 1e3,
            "over10": sum(1 for x in lat if x > 0.010)}


def wait_field(client: Any, section: str, field: str, done: str, timeout: float) -> bool:
    """Poll INFO until ``field`` reads ``done`` (True), or the field is absent (False)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        info = common.info_fields(client, section)
        if field not in info:
            return False
        if info[field] == done:
            return True
        time.sleep(0.01)
    raise RuntimeError(f"{field} still not {done} after {timeout:.0f}s")


# ---------------------------------------------------------------- cases

def case_idle(srv: Server, cpu: int | None, seconds: float = 1.0) -> dict[str, Any]:
    pr = Prober(srv.port, cpu)
    t0 = time.perf_counter()
    time.sleep(seconds)
    t1 = time.perf_counter()
    sent, took = pr.finish()
    return {"status": None, **window_stats(sent, took, t0, t1)}


def case_growth_builtin(kind: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    with Server(kind, cpu=args.server_cpu_eff) as srv:
        pr = Prober(srv.port, args.client_cpu_eff)
        time.sleep(0.3)
        t0 = time.perf_counter()
        load_s = common.fill(srv.port, common.string_fill(n), 1000)
        t1 = time.perf_counter()
        time.sleep(PAD)
        sent, took = pr.finish()
        return {"status": None, "load_s": load_s, "via": "built-in",
                **window_stats(sent, took, t0, t1 + PAD)}


def case_growth(kind: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """bench/resize_latency.py's measure() when it is there (see the docstring)."""
    try:
        import resize_latency
        measure = resize_latency.measure
    except (ImportError, AttributeError):
        return case_growth_builtin(kind, n, args)
    # Its servers inherit our affinity: give it the cores we were started with.
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, args.all_cpus)
    try:
        r = measure(kind, n, 1000, "ping")
        return {"status": None, "n": r["n"], "p50": r["p50"], "p99": r["p99"],
                "worst": r["worst"], "over10": r.get("over10", 0), "load_s": r["load_s"],
                "via": "resize_latency.py"}
    except Exception as exc:   # noqa: BLE001 - its interface changed or it broke: do it ourselves
        why = f"resize_latency.py failed ({type(exc).__name__}: {str(exc)[:60]}); built-in"
    finally:
        os.sched_setaffinity(0, mine)
    r = case_growth_builtin(kind, n, args)
    r["via"] = why
    return r


def case_background(srv: Server, n: int, cpu: int | None, command: str, flag: str,
                    field: str) -> dict[str, Any]:
    """A fork-based background job (BGSAVE or BGREWRITEAOF) over n keys:
    the window runs from sending the command until INFO persistence says
    ``flag:0``; ``field`` is the COW size reported for it."""
    c = srv.client()
    try:
        common.fill(srv.port, common.string_fill(n), 1000)
        pr = Prober(srv.port, cpu)
        try:
            time.sleep(0.3)
            t0 = time.perf_counter()
            reason = None
            try:
                c.execute_command(command)
            except Exception as exc:   # noqa: BLE001 - classify any refusal
                reason = _reason(exc)
            t_reply = time.perf_counter()
            observed = True
            if reason is None:
                observed = wait_field(c, "persistence", flag, "0", 600)
            t1 = time.perf_counter()
            time.sleep(PAD)
        finally:
            sent, took = pr.finish()
        if reason:
            return {"status": reason}
        stats = common.info_fields(c, "stats")
        pers = common.info_fields(c, "persistence")
        note = (f"fork {int(stats.get('latest_fork_usec', 0)) / 1000:.1f} ms, "
                f"COW {int(pers.get(field, 0)) / 1e6:.1f} MB")
        if not observed:
            note += ", end not observable"
        return {"status": None, "cmd_ms": (t_reply - t0) * 1e3, "work_s": t1 - t0, "note": note,
                **window_stats(sent, took, t0, t1 + PAD)}
    finally:
        c.close()


def case_bgsave(srv: Server, n: int, cpu: int | None) -> dict[str, Any]:
    return case_background(srv, n, cpu, "BGSAVE", "rdb_bgsave_in_progress",
                           "rdb_last_cow_size")


def case_aofrw(srv: Server, n: int, cpu: int | None) -> dict[str, Any]:
    return case_background(srv, n, cpu, "BGREWRITEAOF", "aof_rewrite_in_progress",
                           "aof_last_cow_size")


def _reason(exc: Exception) -> str:
    msg = str(exc)
    if msg.lower().startswith(("unknown command", "err unknown command")):
        return NOT_IMPLEMENTED
    return f"n/a (error: {msg[:80]})"


def fill_set(port: int, n: int) -> float:
    def cmds():
        per = 1000
        for start in range(0, n, per):
            yield (b"SADD", b"bigset") + tuple(b"m:%d" % i for i in range(start, min(n, start + per)))
    return common.fill(port, cmds(), 20)


def case_bigset(srv: Server, n: int, cpu: int | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    c = srv.client()
    try:
        sadd = common.probe(c, "SADD", "__bench_probe__", "x")
        for cmd in ("DEL", "UNLINK"):
            if sadd:
                out[cmd] = {"status": sadd + " (SADD)"}
                continue
            reason = common.probe(c, cmd, "__bench_probe__")
            if reason:
                out[cmd] = {"status": reason}
                continue
            fill_s = fill_set(srv.port, n)
            if c.scard("bigset") != n:
                out[cmd] = {"status": "n/a (error: set not filled)"}
                continue
            pr = Prober(srv.port, cpu)
            try:
                time.sleep(0.3)
                t0 = time.perf_counter()
                c.execute_command(cmd, "bigset")
                t_reply = time.perf_counter()
                observed = wait_field(c, "memory", "lazyfree_pending_objects", "0", 600)
                t1 = time.perf_counter()
                time.sleep(PAD)
            finally:
                sent, took = pr.finish()
            note = f"fill {fill_s:.1f}s"
            if not observed:
                note += ", no lazyfree_pending_objects in INFO"
            out[cmd] = {"status": None, "cmd_ms": (t_reply - t0) * 1e3, "work_s": t1 - t0,
                        "note": note, **window_stats(sent, took, t0, t1 + PAD)}
    finally:
        c.close()
    return out


# ---------------------------------------------------------------- report

def render(results: dict[str, Any], markdown: bool = False) -> str:
    head = ["case", "server", "cmd ms", "probes", "p50 ms", "p99 ms", "worst ms", ">10ms", "note"]
    rows = []
    for case, per in results["cases"].items():
        for kind, r in per.items():
            if r["status"]:
                rows.append([case, kind, r["status"]] + [""] * 6)
                continue
            note = r.get("note", "")
            if "load_s" in r:
                note = (f"load {r['load_s']:.1f}s" + (f" via {r['via']}" if r.get("via") else "")
                        + (", " + note if note else ""))
            rows.append([case, kind, common.fmt_num(r.get("cmd_ms"), 1), f"{r['n']:,}",
                         common.fmt_num(r["p50"], 2), common.fmt_num(r["p99"], 2),
                         common.fmt_num(r["worst"], 1), str(r["over10"]), note])
    if markdown:
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join(["---", "---"] + ["---:"] * 6 + ["---"]) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    ok = [r for r in rows if not r[2].startswith("n/a")]
    w = [max(len(x[i]) for x in [head] + ok) for i in range(len(head))]
    lines = []
    for r in [head] + rows:
        if r is not head and r[2].startswith("n/a"):
            lines.append(f"{r[0].ljust(w[0])}  {r[1].ljust(w[1])}  {r[2]}")
        else:
            lines.append("  ".join(x.ljust(w[i]) if i in (0, 1, 8) else x.rjust(w[i])
                                   for i, x in enumerate(r)).rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="client latency while the server does big internal work")
    ap.add_argument("--cases", default="growth,bgsave,aofrw,bigset")
    ap.add_argument("--targets", default="omakase,redis")
    ap.add_argument("--growth-keys", type=int, default=None, help="default 5000000 (--quick 200000)")
    ap.add_argument("--bgsave-keys", type=int, default=None, help="default 1000000 (--quick 100000)")
    ap.add_argument("--set-members", type=int, default=None, help="default 5000000 (--quick 200000)")
    ap.add_argument("--idle-seconds", type=float, default=1.0, help="length of the idle baseline")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(common.BENCH_DIR, "out"))
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--no-pin", action="store_true")
    args = ap.parse_args(argv)
    q = args.quick
    args.growth_keys = args.growth_keys or (200_000 if q else 5_000_000)
    args.bgsave_keys = args.bgsave_keys or (100_000 if q else 1_000_000)
    args.set_members = args.set_members or (200_000 if q else 5_000_000)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for c in cases:
        if c not in ("growth", "bgsave", "aofrw", "bigset"):
            ap.error(f"unknown case {c!r} (growth, bgsave, aofrw, bigset)")
    for t in targets:
        if t not in common.KINDS:
            ap.error(f"unknown target {t!r}")
    common.install_sigterm_handler()
    pin = not args.no_pin and common.can_pin((args.server_cpu, args.client_cpu))
    args.server_cpu_eff = args.server_cpu if pin else None
    args.client_cpu_eff = args.client_cpu if pin else None
    args.all_cpus = os.sched_getaffinity(0)
    if pin:
        common.pin_self(args.client_cpu)

    titles = {"idle": f"idle (baseline, {args.idle_seconds:g} s)",
              "growth": f"growth to {args.growth_keys:,} keys",
              "bgsave": f"BGSAVE of {args.bgsave_keys:,} keys",
              "aofrw": f"BGREWRITEAOF of {args.bgsave_keys:,} keys",
              "DEL": f"DEL {args.set_members:,}-member set",
              "UNLINK": f"UNLINK {args.set_members:,}-member set"}
    results: dict[str, Any] = {"meta": {"pinned": pin, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                        "growth_keys": args.growth_keys,
                                        "bgsave_keys": args.bgsave_keys,
                                        "set_members": args.set_members},
                               "cases": {}}

    def put(key: str, kind: str, r: dict[str, Any]) -> None:
        results["cases"].setdefault(titles[key], {})[kind] = r

    failed = False
    for kind in targets:
        try:
            with Server(kind, cpu=args.server_cpu_eff) as srv:
                print(f"-- {kind}: idle baseline", file=sys.stderr, flush=True)
                put("idle", kind, case_idle(srv, args.client_cpu_eff, args.idle_seconds))
        except (RuntimeError, OSError) as exc:
            put("idle", kind, {"status": f"n/a (error: {str(exc)[:100]})"})
            failed = True
    for case in cases:
        for kind in targets:
            print(f"-- {kind}: {case}", file=sys.stderr, flush=True)
            try:
                if case == "growth":
                    put("growth", kind, case_growth(kind, args.growth_keys, args))
                    continue
                # no automatic rewrite: the fill alone passes auto-aof-rewrite-min-size
                extra = (["--appendonly", "yes", "--auto-aof-rewrite-percentage", "0"]
                         if case == "aofrw" else None)
                with Server(kind, cpu=args.server_cpu_eff, extra_args=extra) as srv:
                    if case == "bgsave":
                        put("bgsave", kind, case_bgsave(srv, args.bgsave_keys, args.client_cpu_eff))
                    elif case == "aofrw":
                        put("aofrw", kind, case_aofrw(srv, args.bgsave_keys, args.client_cpu_eff))
                    else:
                        for cmd, r in case_bigset(srv, args.set_members, args.client_cpu_eff).items():
                            put(cmd, kind, r)
                    if not srv.alive():
                        raise RuntimeError(f"{kind} died:\n{srv.log_tail()}")
            except (RuntimeError, OSError, AssertionError) as exc:
                key = case if case != "bigset" else "DEL"
                put(key, kind, {"status": f"n/a (error: {str(exc)[:100]})"})
                failed = True
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "latency.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "latency.md"), "w") as f:
        f.write(render(results, markdown=True) + "\n")
    print(f"wrote {os.path.join(args.out, 'latency.json')} and latency.md")
    print()
    print("PING round trips seen by one client during each piece of work "
          f"({'pinned' if pin else 'unpinned'}; growth is unpinned):")
    print(render(results))
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
