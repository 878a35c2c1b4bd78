"""bench/minimal_server.py, the issue's minimal server used by
``bench/run.py --peer minimal``: its replies to the suite's commands are
redis-server's, byte for byte (a measuring stick that answered wrongly would
measure nothing), inline requests split across reads work, a reply larger
than the socket buffer arrives whole, and run.py measures it as a peer."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from helpers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")


@pytest.fixture(scope="module")
def minimal():
    port = free_port()
    p = subprocess.Popen([sys.executable, os.path.join(BENCH, "minimal_server.py"),
                          "--port", str(port)], stdin=subprocess.DEVNULL)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or p.poll() is not None:
                p.kill()
                pytest.fail("minimal_server.py did not start")
            time.sleep(0.05)
    yield port
    p.terminate()
    p.wait(10)


def raw(port: int, payload: bytes, chunks: int = 1, want: int | None = None) -> bytes:
    """Send ``payload`` (in ``chunks`` pieces) and read until the
    connection is idle (or ``want`` bytes came)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        step = max(1, len(payload) // chunks)
        for i in range(0, len(payload), step):
            s.sendall(payload[i:i + step])
            time.sleep(0.02)
        out = b""
        s.settimeout(0.5 if want is None else 5)
        while want is None or len(out) < want:
            try:
                data = s.recv(1 << 16)
            except socket.timeout:
                break
            if not data:
                break
            out += data
        return out


def enc(*args: str) -> bytes:
    out = b"*%d\r\n" % len(args)
    for a in args:
        b = a.encode()
        out += b"$%d\r\n%b\r\n" % (len(b), b)
    return out


SCRIPT = [
    ("PING",), ("PING", "hi"), ("SET", "k", "v"), ("GET", "k"), ("GET", "nokey"),
    ("INCR", "n"), ("INCR", "n"), ("INCR", "k"), ("LPUSH", "l", "a", "b"), ("RPUSH", "l", "c"),
    ("LRANGE", "l", "0", "-1"), ("LRANGE", "l", "-2", "99"), ("LRANGE", "l", "5", "9"),
    ("LRANGE", "nol", "0", "1"), ("LLEN", "l"), ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "nol"),
    ("GET", "l"), ("SADD", "s", "x", "y", "x"), ("SADD", "s", "x"), ("HSET", "h", "f", "1", "g", "2"),
    ("HSET", "h", "f", "3"), ("ZADD", "z", "2", "m"), ("ZADD", "z", "1", "n", "3", "m"),
    ("ZPOPMIN", "z"), ("ZPOPMIN", "z"), ("ZPOPMIN", "z"), ("MSET", "a", "1", "b", "2"),
    ("GET", "b"), ("LPUSH", "k", "x"), ("DEL", "a", "b", "nokey"), ("SPOP", "nos"),
]


def test_replies_match_redis_server(minimal, o):
    payload = b"".join(enc(*c) for c in SCRIPT)
    o.flushall()
    theirs = raw(o.connection_pool.connection_kwargs["port"], payload)
    ours = raw(minimal, payload, chunks=7)      # requests split across reads
    assert ours == theirs


def test_spop_and_unknown(minimal):
    out = raw(minimal, enc("SADD", "s2", "only") + enc("SPOP", "s2") + enc("SPOP", "s2")
              + enc("EVAL", "return 1", "0"))
    assert out == b":1\r\n$4\r\nonly\r\n$-1\r\n-ERR unknown command 'EVAL'\r\n"


def test_inline_split_across_reads(minimal):
    assert raw(minimal, b"PING\r\nPING\r\nSET x 1\r\nGET x\r\n", chunks=5) == \
        b"+PONG\r\n+PONG\r\n+OK\r\n$1\r\n1\r\n"


def test_large_reply_arrives_whole(minimal):
    n = 20000
    value = "v" * 100
    payload = enc("DEL", "big") + enc("RPUSH", "big", *([value] * n)) + enc("LRANGE", "big", "0", "-1")
    head = b":0\r\n:%d\r\n*%d\r\n" % (n, n)
    want = len(head) + n * len(b"$100\r\n" + b"v" * 100 + b"\r\n")
    out = raw(minimal, payload, want=want)
    assert len(out) == want and out.startswith(head)


def test_run_py_measures_it_as_a_peer(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, os.path.join(BENCH, "run.py"), "--rounds", "1",
                        "--requests", "1000", "--shapes", "b", "--tests", "ping_inline,get,eval",
                        "--peer", "minimal", "--no-plot", "--out", str(tmp_path)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.strip().splitlines()
    peer_line = [ln for ln in lines if ln.startswith("geomean ratio shape b (minimal): ")]
    assert len(peer_line) == 1
    assert "2 tests" in peer_line[0] and "excluded: EVAL n/a (not implemented)" in peer_line[0]
    assert lines[-1].startswith("geomean ratio shape b: ")
