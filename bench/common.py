"""Shared plumbing for the benchmark scripts (run.py, memory.py, latency.py).

Nothing here measures anything by itself: it starts and stops the two
servers (omakase and Debian's redis-server 7.0) pinned to a core, reads a
process's CPU time and RSS from /proc, talks raw RESP for fast pipelined
fills, and probes whether a server knows a command, so that a command omakase
does not implement yet is reported as "n/a (not implemented)" instead of
breaking the run.

Servers are started exactly as the issue says, plus a private ``--dir`` (so a
BGSAVE never writes into the work tree) and ``--bind 127.0.0.1``:

    taskset -c 1 python -m omakase --port P --save "" --appendonly no --bind 127.0.0.1 --dir TMP
    taskset -c 1 redis-server    --port P --save "" --appendonly no --bind 127.0.0.1 --dir TMP

``taskset`` execs the server, so the Popen pid is the server's own pid and
/proc/PID/stat is the server's CPU time.

A third, optional kind is a *peer*: another Python Redis the throughput suite
can measure alongside (``bench/run.py --peer fakeredis`` or ``--peer minimal``).  It is not in
``KINDS`` (the scripts that take a ``--kinds`` list know only the two
servers); ``PEERS`` maps its name to a launcher run with ``sys.executable``
and only ``--port P --bind 127.0.0.1`` (a peer has no persistence to turn
off and no config file), pinned to the same core:

    taskset -c 1 python bench/fakeredis_server.py --port P --bind 127.0.0.1
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, NamedTuple

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
SRC = os.path.join(ROOT, "src")
KINDS = ("omakase", "redis")


class Peer(NamedTuple):
    """An optional peer: its launcher in bench/ (run as ``sys.executable
    SCRIPT --port P``), the module it needs (its version goes in the
    results), and the share of omakase's request count its runs use."""
    script: str
    module: str
    scale: float


PEERS = {
    # fakeredis is slow and stalls when pipelined: n/10 requests
    "fakeredis": Peer("fakeredis_server.py", "fakeredis", 0.1),
    # the minimal epoll + hiredis server: as many requests as omakase
    "minimal": Peer("minimal_server.py", "hiredis", 1.0),
}
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

NOT_IMPLEMENTED = "n/a (not implemented)"


def missing_tools(tools: tuple[str, ...] = ("redis-benchmark", "redis-server")) -> bool:
    """Print how to install each tool not on PATH; True if any is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    for t in missing:
        print(f"{t} not found (apt-get install redis-server redis-tools)", file=sys.stderr)
    return bool(missing)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_pin(cpus: tuple[int, ...] = (0, 1)) -> bool:
    """True when taskset exists and every core in ``cpus`` is ours to use."""
    if shutil.which("taskset") is None or not hasattr(os, "sched_getaffinity"):
        return False
    return set(cpus) <= os.sched_getaffinity(0)


def pin_prefix(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def pin_self(cpu: int | None) -> None:
    """Pin the calling process (a prober or a filler) to one core."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass


def install_sigterm_handler() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks stop our servers."""
    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


class Server:
    """One server subprocess (omakase, redis or a peer) on a free port, pinned to ``cpu``."""

    def __init__(self, kind: str, cpu: int | None = None, env_extra: dict | None = None,
                 extra_args: list[str] | None = None) -> None:
        if kind not in KINDS and kind not in PEERS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"omakase-bench-{kind}-")
        self.logfile = os.path.join(self.dir, "server.log")
        if kind in PEERS:
            args = ["--port", str(self.port), "--bind", "127.0.0.1"]
        else:
            args = ["--port", str(self.port), "--save", "", "--appendonly", "no",
                    "--bind", "127.0.0.1", "--dir", self.dir, "--logfile", self.logfile]
        args += extra_args or []
        env = dict(os.environ)
        env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
        env.update(env_extra or {})
        if kind == "omakase":
            exe = [sys.executable, "-m", "omakase"]
        elif kind in PEERS:
            exe = [sys.executable, os.path.join(BENCH_DIR, PEERS[kind].script)]
        else:
            exe = [shutil.which("redis-server") or "/usr/bin/redis-server"]
        self.argv = pin_prefix(cpu) + exe + args
        stderr: Any = subprocess.PIPE
        if kind in PEERS:        # no --logfile: its stderr is the log (a full pipe would stall it)
            stderr = open(self.logfile, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=stderr)
        finally:
            if stderr is not subprocess.PIPE:
                stderr.close()
        self.pid = self.proc.pid
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}: {err}\n"
                                   f"{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")    # RESP: a peer may not parse inline
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not answer PING on port {self.port}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, n: int = 20) -> str:
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def client(self, **kw: Any) -> Any:
        import redis
        kw.setdefault("socket_timeout", 120)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ---------------------------------------------------------------- /proc

def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat, in seconds.

    Resolution is one clock tick (1/CLK_TCK s, 10 ms here): measure enough
    requests that a test takes well over 100 ticks."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    # comm (field 2) may contain spaces: split after its closing parenthesis.
    fields = data[data.rindex(b")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])    # fields 14 and 15 of stat(5)
    return (utime + stime) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def info_fields(client: Any, section: str) -> dict[str, str]:
    """INFO <section> as a dict of raw strings (no type guessing)."""
    raw = client.execute_command("INFO", section)
    if isinstance(raw, dict):        # redis-py may already have parsed it
        return {k: str(v) for k, v in raw.items()}
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, v = line.partition(":")
            out[k] = v
    return out


# ---------------------------------------------------------------- probing commands

def probe(client: Any, *argv: Any) -> str | None:
    """Run one command; None if the server accepted it, else why it is n/a."""
    import redis
    try:
        client.execute_command(*argv)
    except redis.ResponseError as exc:
        msg = str(exc)
        if msg.lower().startswith(("unknown command", "err unknown command",
                                   "unknown subcommand", "err unknown subcommand")):
            return NOT_IMPLEMENTED
        return f"n/a (error: {msg[:80]})"
    return None


# ---------------------------------------------------------------- raw RESP fills

def encode(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)


class RawPipe:
    """A raw socket that sends batches of commands and counts one-line replies.

    Only for commands whose reply is one line (+OK, :n, or an error), which is
    every fill command used here (SET, HSET, ZADD, SADD).  The first error
    reply seen is raised as RuntimeError."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(1 << 20)

    def run_batch(self, payload: bytes, ncommands: int) -> None:
        self.sock.sendall(payload)
        need = ncommands
        tail = b""
        view = memoryview(self.buf)
        while need > 0:
            n = self.sock.recv_into(self.buf)
            if n == 0:
                raise ConnectionError("server closed the connection")
            chunk = tail + bytes(view[:n])      # always starts at a line start
            err = 0 if chunk.startswith(b"-") else chunk.find(b"\n-") + 1
            if err or chunk.startswith(b"-"):
                line = chunk[err:].split(b"\r\n")[0]
                raise RuntimeError("server error during fill: " + line.decode(errors="replace"))
            need -= chunk.count(b"\n")
            tail = chunk[chunk.rfind(b"\n") + 1:]

    def close(self) -> None:
        self.sock.close()


def fill(port: int, commands: Any, batch: int = 1000) -> float:
    """Send every command of the iterable (each a list of bytes args), ``batch``
    at a time, waiting for each batch's replies; returns the seconds taken."""
    pipe = RawPipe(port)
    t0 = time.perf_counter()
    try:
        parts: list[bytes] = []
        for args in commands:
            parts.append(encode(*args))
            if len(parts) >= batch:
                pipe.run_batch(b"".join(parts), len(parts))
                parts = []
        if parts:
            pipe.run_batch(b"".join(parts), len(parts))
    finally:
        pipe.close()
    return time.perf_counter() - t0


def string_fill(nkeys: int, prefix: bytes = b"key:", keylen: int = 16, vallen: int = 32):
    """SET commands for ``nkeys`` keys of exactly ``keylen`` bytes and values of ``vallen``."""
    width = keylen - len(prefix)
    kfmt = prefix + b"%0" + str(width).encode() + b"d"
    vfmt = b"%0" + str(vallen).encode() + b"d"
    for i in range(nkeys):
        yield (b"SET", kfmt % i, vfmt % i)


def fmt_num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"
