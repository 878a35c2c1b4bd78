"""Threaded I/O (io-threads, io-threads-do-reads): same bytes as one thread.

The threaded server runs with OMAKASE_IO_THREADS_MIN_PENDING=1, so every
reply and every request goes through the worker threads (the main thread's
share rotates); a second omakase with io-threads 1 is the reference.  The
real activation rule (at least 2 x io-threads pending writes) is checked
separately with redis-benchmark.
"""
from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time

import pytest
import redis

from helpers import ServerProcess
from rawclient import RawClient

NCLIENTS = 12


@pytest.fixture(scope="module")
def threaded():
    old = os.environ.get("OMAKASE_IO_THREADS_MIN_PENDING")
    os.environ["OMAKASE_IO_THREADS_MIN_PENDING"] = "1"
    try:
        srv = ServerProcess("omakase", io_threads=4, io_threads_do_reads=True)
    finally:
        if old is None:
            del os.environ["OMAKASE_IO_THREADS_MIN_PENDING"]
        else:
            os.environ["OMAKASE_IO_THREADS_MIN_PENDING"] = old
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def single():
    srv = ServerProcess("omakase", io_threads=1)
    yield srv
    srv.stop()


def _info(srv, section: str = "everything") -> dict:
    c = srv.client()
    try:
        return c.info(section)
    finally:
        c.close()


def enc(*args) -> bytes:
    return RawClient.encode(*args)


def _script(i: int, rnd: random.Random) -> list[tuple[bytes, int]]:
    """Chunks of pipelined requests for client i, with their reply counts.
    Keys are private to the client, so replies do not depend on how the
    clients interleave."""
    k = f"c{i}:"
    big = bytes(rnd.getrandbits(8) for _ in range(40_000))   # > one 16 KiB read
    chunks: list[tuple[bytes, int]] = []
    chunks.append((enc("SET", k + "a", "1") + enc("INCR", k + "a") + enc("GET", k + "a"), 3))
    chunks.append((enc("SET", k + "big", big) + enc("STRLEN", k + "big")
                   + enc("GET", k + "big"), 3))
    chunks.append((b"PING\r\n" + b"ECHO hello\r\n" + enc("NOSUCHCOMMAND", "x"), 3))
    items = [str(j) * rnd.randint(1, 30) for j in range(200)]
    chunks.append((enc("RPUSH", k + "l", *items) + enc("LRANGE", k + "l", 0, -1)
                   + enc("LLEN", k + "l"), 3))
    chunks.append((enc("HSET", k + "h", "f1", "v1", "f2", "v2") + enc("HGETALL", k + "h")
                   + enc("HGET", k + "h", "nope"), 3))
    chunks.append((enc("MULTI") + enc("INCR", k + "n") + enc("INCRBY", k + "n", 10)
                   + enc("LPUSH", k + "l", "x") + enc("EXEC"), 5))
    chunks.append((enc("GET", k + "a", "extra") + enc("SET", k + "a") + enc("TYPE", k + "l"), 3))
    chunks.append((b"".join(enc("SET", f"{k}p{j}", "v" * j) for j in range(100))
                   + enc("MGET", *[f"{k}p{j}" for j in range(0, 100, 7)]), 101))
    return chunks


def _drive(srv, seed: int) -> list[list[bytes]]:
    """All clients send a chunk (split at random points), then all read its
    replies; many clients are readable in the same loop pass."""
    rnd = random.Random(seed)
    clients = [RawClient(srv.host, srv.port) for _ in range(NCLIENTS)]
    scripts = [_script(i, random.Random(seed * 100 + i)) for i in range(NCLIENTS)]
    out: list[list[bytes]] = [[] for _ in range(NCLIENTS)]
    try:
        for step in range(len(scripts[0])):
            for i, c in enumerate(clients):
                data = scripts[i][step][0]
                cut = rnd.randint(1, len(data))
                c.send(data[:cut])
                c.send(data[cut:])
            for i, c in enumerate(clients):
                for _ in range(scripts[i][step][1]):
                    out[i].append(c.read_reply())
    finally:
        for c in clients:
            c.close()
    return out


def test_threaded_replies_identical_to_single_threaded(threaded, single):
    for srv in (threaded, single):
        srv.client().flushall()
    before = _info(threaded, "stats")
    got = _drive(threaded, 7)
    want = _drive(single, 7)
    assert got == want
    after = _info(threaded, "stats")
    assert after["io_threaded_reads_processed"] > before["io_threaded_reads_processed"]
    assert after["io_threaded_writes_processed"] > before["io_threaded_writes_processed"]
    assert _info(threaded, "server")["io_threads_active"] == 1
    # the single-threaded server never used threads
    s = _info(single, "stats")
    assert s["io_threaded_reads_processed"] == 0 == s["io_threaded_writes_processed"]
    assert _info(single, "server")["io_threads_active"] == 0


def test_protocol_error_and_quit_through_threads(threaded, single):
    for srv in (threaded, single):
        out = []
        socks = [RawClient(srv.host, srv.port) for _ in range(6)]
        for i, c in enumerate(socks):
            if i % 2:
                c.send(enc("SET", "pe", "1") + b"*1\r\n$x\r\n" + enc("PING"))
            else:
                c.send(enc("PING") + enc("QUIT") + enc("PING"))
        for c in socks:
            out.append(c.read_until_closed(timeout=3))
            c.close()
        if srv is threaded:
            got = out
        else:
            want = out
    assert got == want
    assert got[1] == b"+OK\r\n-ERR Protocol error: invalid bulk length\r\n"
    assert got[0] == b"+PONG\r\n+OK\r\n"


def test_blocking_and_pubsub_through_threads(threaded):
    c = threaded.client()
    c.delete("bq")
    blockers = [RawClient(threaded.host, threaded.port) for _ in range(5)]
    for b in blockers:
        b.send(enc("BLPOP", "bq", 5))
    time.sleep(0.2)
    sub = threaded.client().pubsub()
    sub.subscribe("ch")
    assert sub.get_message(timeout=2)["type"] == "subscribe"
    c.rpush("bq", *[f"v{i}" for i in range(5)])
    got = sorted(b.read_reply() for b in blockers)
    assert got == sorted(b"*2\r\n$2\r\nbq\r\n$2\r\nv%d\r\n" % i for i in range(5))
    for i in range(20):
        assert c.publish("ch", f"m{i}") == 1
    msgs = []
    deadline = time.time() + 5
    while len(msgs) < 20 and time.time() < deadline:
        m = sub.get_message(timeout=1)
        if m and m["type"] == "message":
            msgs.append(m["data"])
    assert msgs == [f"m{i}".encode() for i in range(20)]
    sub.close()
    for b in blockers:
        b.close()
    c.close()


def test_slow_reader_backlog_through_threads(threaded):
    """A reply the socket does not take at once is finished by the main
    thread (write handler), interleaved with threaded clients."""
    c = threaded.client()
    c.delete("bigl")
    c.rpush("bigl", *(["x" * 1000] * 3000))          # ~3 MB reply
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect((threaded.host, threaded.port))
    slow.sendall(enc("LRANGE", "bigl", 0, -1))
    time.sleep(0.2)
    fast = [threaded.client() for _ in range(6)]
    for f in fast:
        assert f.incr("ctr") > 0
    buf = bytearray()
    slow.settimeout(5)
    want = 3000 * (len(b"$1000\r\n") + 1002) + len(b"*3000\r\n")
    while len(buf) < want:
        data = slow.recv(65536)
        assert data
        buf += data
    assert bytes(buf[:7]) == b"*3000\r\n" and len(buf) == want
    slow.close()
    for f in fast:
        f.close()
    c.close()


def test_threads_engage_only_with_enough_clients(start_server):
    """stopThreadedIOIfNeeded: fewer than 2 x io-threads pending writes run
    single-threaded; a 50-client benchmark engages the threads."""
    srv = start_server(io_threads=2, io_threads_do_reads=True)
    c = srv.client()
    for _ in range(20):
        c.ping()
    stats = c.info("stats")
    assert stats["io_threaded_writes_processed"] == 0
    assert c.info("server")["io_threads_active"] == 0
    assert c.config_get("io-threads") == {"io-threads": "2"}
    with pytest.raises(redis.ResponseError):
        c.config_set("io-threads", 3)
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark not installed")
    subprocess.run(["redis-benchmark", "-h", srv.host, "-p", str(srv.port), "-c", "50",
                    "-n", "20000", "-t", "set,get", "-P", "4", "-q"],
                   capture_output=True, timeout=120, check=True)
    stats = c.info("stats")
    assert stats["io_threaded_writes_processed"] > 0
    assert stats["io_threaded_reads_processed"] > 0
    assert c.get("key:__rand_int__") is not None
    c.config_resetstat()
    stats = c.info("stats")
    assert stats["io_threaded_writes_processed"] == 0
    assert stats["io_threaded_reads_processed"] == 0
    c.close()
