"""Latency while the keyspace grows: what incremental rehashing buys.

One client grows db 0 from 0 to N keys (pipelined SETs in batches, raw
sockets) while a second client, in another process, sends one PING (or GET)
at a time and records each round trip.  The worst and the high percentiles
of those round trips show the stalls a single request can hit: in a plain
Python dict the insert that tips it over its load factor copies every entry
at once (hundreds of ms at millions of keys); omakase's ``HashTable`` moves
one small bucket per operation (see ``src/omakase/hashtable.py``).

Three servers are measured, one after the other:

* ``omakase``        -- the real design;
* ``omakase-plain``  -- the same server started with ``OMAKASE_PLAIN_DICT=1``,
  the benchmark-only switch that makes the table one bucket that never
  splits, i.e. one big Python dict;
* ``redis``          -- Debian's redis-server 7.0, for scale.

Usage::

    python bench/resize_latency.py                       # 5,000,000 keys
    python bench/resize_latency.py --keys 1000000 --targets omakase,omakase-plain
    python bench/resize_latency.py --probe get
    python bench/resize_latency.py --nice -10     # (root) less preemption noise
    python bench/resize_latency.py --table-only   # no server: the table alone

The machine's other load shows up in the numbers (the server, the loader and
the prober share the cores): compare the rows of one run, not runs.
``--nice`` runs servers, loader and prober at that niceness (inherited).
``--table-only`` inserts N keys into ``HashTable`` in this process, in
batches the size of one 16 KiB read of pipelined SETs (~370), and reports
the per-batch times, against the same table in plain-dict mode (a child
process with ``OMAKASE_PLAIN_DICT=1``): the stall a server would add to
every client waiting behind that read, without network or scheduling noise.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str) -> tuple[subprocess.Popen, int, str]:
    port = free_port()
    d = tempfile.mkdtemp(prefix=f"resize-bench-{kind}-")
    common = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--dir", d, "--logfile", os.path.join(d, "server.log")]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("OMAKASE_PLAIN_DICT", None)
    if kind == "redis":
        argv = [shutil.which("redis-server") or "/usr/bin/redis-server"] + common
    else:
        argv = [sys.executable, "-m", "omakase"] + common
        if kind == "omakase-plain":
            env["OMAKASE_PLAIN_DICT"] = "1"
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, port, d
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


def stop(proc: subprocess.Popen, d: str) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(d, ignore_errors=True)


def recv_exact(sock: socket.socket, n: int) -> None:
    got = 0
    while got < n:
        chunk = sock.recv(min(1 << 20, n - got))
        if not chunk:
            raise ConnectionError("server closed")
        got += len(chunk)


def prober(port: int, probe: str, stop_evt, out_q) -> None:
    """One request at a time until told to stop; report the latencies."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if probe == "get":
        req = b"*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n"
    else:
        req = b"*1\r\n$4\r\nPING\r\n"
    lat: list[float] = []
    worst_at = (0.0, 0.0)
    t_start = time.perf_counter()
    pc = time.perf_counter
    while not stop_evt.is_set():
        t0 = pc()
        sock.sendall(req)
        data = sock.recv(4096)
        while not data.endswith(b"\r\n"):
            data += sock.recv(4096)
        dt = pc() - t0
        lat.append(dt)
        if dt > worst_at[0]:
            worst_at = (dt, t0 - t_start)
        time.sleep(0.0002)
    sock.close()
    lat.sort()
    n = len(lat)

    def pct(p: float) -> float:
        return lat[min(n - 1, int(n * p))] * 1e3 if n else 0.0
    out_q.put({"n": n, "p50": pct(0.50), "p99": pct(0.99), "p999": pct(0.999),
               "worst": lat[-1] * 1e3 if n else 0.0, "worst_at": worst_at[1],
               "over10": sum(1 for x in lat if x > 0.010),
               "over50": sum(1 for x in lat if x > 0.050)})


def load(port: int, nkeys: int, batch: int) -> float:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    value = b"v" * 16
    tail = b"\r\n$%d\r\n%b\r\n" % (len(value), value)
    t0 = time.perf_counter()
    for start_i in range(0, nkeys, batch):
        end = min(nkeys, start_i + batch)
        parts = []
        for i in range(start_i, end):
            k = b"key:%d" % i
            parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%b%b" % (len(k), k, tail))
        sock.sendall(b"".join(parts))
        recv_exact(sock, 5 * (end - start_i))          # "+OK\r\n" each
    elapsed = time.perf_counter() - t0
    sock.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
    reply = sock.recv(64)
    assert reply == b":%d\r\n" % nkeys, reply
    sock.close()
    return elapsed


def measure(kind: str, nkeys: int, batch: int, probe: str) -> dict:
    proc, port, d = start(kind)
    try:
        ctx = mp.get_context("fork")
        stop_evt = ctx.Event()
        q = ctx.Queue()
        p = ctx.Process(target=prober, args=(port, probe, stop_evt, q))
        p.start()
        time.sleep(0.3)
        elapsed = load(port, nkeys, batch)
        time.sleep(0.2)
        stop_evt.set()
        res = q.get(timeout=60)
        p.join(10)
        res["load_s"] = elapsed
        res["kind"] = kind
        return res
    finally:
        stop(proc, d)


TABLE_SCRIPT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from omakase.hashtable import HashTable, PLAIN_DICT
n, batch = int(sys.argv[2]), int(sys.argv[3])
ht = HashTable(); put = ht.set; pc = time.perf_counter
v = b"v" * 19
lat = []
t_all = pc()
for start in range(0, n, batch):
    t = pc()
    for i in range(start, min(n, start + batch)):
        put(b"key:%d" % i, v)
    lat.append(pc() - t)
total = pc() - t_all
lat.sort()
m = len(lat)
print(PLAIN_DICT, total, lat[m // 2] * 1e3, lat[int(m * 0.99)] * 1e3,
      lat[int(m * 0.999)] * 1e3, lat[-1] * 1e3, sum(1 for x in lat if x > 0.05))
"""


def table_only(nkeys: int, batch: int) -> None:
    print(f"HashTable alone, {nkeys:,} inserts in batches of {batch} (one 16 KiB read)")
    hdr = (f"{'table':<15}{'total s':>8}{'p50 ms':>8}{'p99 ms':>8}{'p99.9 ms':>10}"
           f"{'worst ms':>10}{'>50ms':>7}")
    print(hdr)
    print("-" * len(hdr))
    for kind, plain in (("incremental", "0"), ("plain dict", "1")):
        env = dict(os.environ, OMAKASE_PLAIN_DICT=plain)
        out = subprocess.run([sys.executable, "-c", TABLE_SCRIPT, os.path.join(ROOT, "src"),
                              str(nkeys), str(batch)], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        total, p50, p99, p999, worst = map(float, out[1:6])
        print(f"{kind:<15}{total:>8.1f}{p50:>8.2f}{p99:>8.2f}{p999:>10.2f}{worst:>10.1f}"
              f"{int(out[6]):>7}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=5_000_000)
    ap.add_argument("--batch", type=int, default=1000, help="SETs per pipelined batch")
    ap.add_argument("--targets", default="omakase,omakase-plain,redis")
    ap.add_argument("--probe", choices=("ping", "get"), default="ping")
    ap.add_argument("--nice", type=int, default=0, help="niceness for every process (root)")
    ap.add_argument("--table-only", action="store_true", help="no server: HashTable alone")
    args = ap.parse_args()
    if args.nice:
        os.nice(args.nice)          # inherited by the servers, the prober, the tables
    if args.table_only:
        table_only(args.keys, 370)
        return
    rows = []
    for kind in args.targets.split(","):
        print(f"-- {kind}: growing to {args.keys:,} keys ...", flush=True)
        res = measure(kind, args.keys, args.batch, args.probe)
        rows.append(res)
        print(f"   done in {res['load_s']:.1f}s, {res['n']:,} probes, worst {res['worst']:.1f} ms",
              flush=True)
    print()
    print(f"{args.keys:,} keys, batches of {args.batch} SETs, probe {args.probe.upper()}")
    hdr = (f"{'server':<15}{'load s':>8}{'SET/s':>10}{'probes':>9}{'p50 ms':>8}"
           f"{'p99 ms':>8}{'p99.9 ms':>10}{'worst ms':>10}{'>10ms':>7}{'>50ms':>7}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['kind']:<15}{r['load_s']:>8.1f}{args.keys / r['load_s']:>10,.0f}{r['n']:>9,}"
              f"{r['p50']:>8.2f}{r['p99']:>8.2f}{r['p999']:>10.2f}{r['worst']:>10.1f}"
              f"{r['over10']:>7}{r['over50']:>7}")


if __name__ == "__main__":
    main()
