"""Wire tests in raw bytes: inline, pipelining, split reads, protocol errors.

Each case runs against omakase and, where it matters, against Debian's
redis-server 7.0 (the `oracle`), comparing the exact bytes on the wire.
"""
from __future__ import annotations

import re
import socket
import time

import pytest

from rawclient import RawClient


def exchange(srv, data: bytes, pause: float = 0.0, chunks: int = 1) -> bytes:
    """Send data (optionally in pieces), return everything until close/idle."""
    s = socket.create_connection((srv.host, srv.port), timeout=3)
    step = max(1, len(data) // chunks)
    for i in range(0, len(data), step):
        s.sendall(data[i:i + step])
        if pause:
            time.sleep(pause)
    s.shutdown(socket.SHUT_WR) if False else None
    out = b""
    s.settimeout(0.5)
    while True:
        try:
            part = s.recv(65536)
        except socket.timeout:
            break
        if not part:
            break
        out += part
    s.close()
    return out


CASES = [
    b"PING\r\n",
    b"PING\n",
    b"ECHO hello\r\nECHO \"a b\"\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n",
    b"*abc\r\n",
    b"*1\r\n:5\r\n",
    b"*1\r\n+PING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$-5\r\n",
    b"*2\r\n$4\r\nECHO\r\n$x\r\n",
    b"*1\r\n$600000000\r\n",
    b'ECHO "unbalanced\r\n',
    b"ECHO 'unbalanced\r\n",
    b"\r\n\r\nPING\r\n",
    b"*0\r\n*-1\r\nPING\r\n",
    b"NOSUCHCOMMAND a b c\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n",
    b"PING a b\r\n",
    b"*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n*1\r\n$4\r\nPING\r\n",
]


@pytest.mark.parametrize("data", CASES)
def test_same_bytes_as_redis(server, oracle, data):
    server.client().flushall()
    oracle.client().flushall()
    assert exchange(server, data) == exchange(oracle, data)


@pytest.mark.parametrize("data", CASES[:4] + CASES[15:16])
def test_split_reads_give_same_result(server, data):
    whole = exchange(server, data)
    assert exchange(server, data, pause=0.02, chunks=len(data)) == whole


def test_deep_pipeline(server):
    reqs = b"".join(RawClient.encode("SET", f"k{i}", f"v{i}") for i in range(2000))
    reqs += b"".join(RawClient.encode("GET", f"k{i}") for i in range(2000))
    out = exchange(server, reqs)
    assert out.count(b"+OK\r\n") == 2000
    assert out.endswith(b"$5\r\nv1999\r\n")


def test_large_value_across_many_reads(server):
    value = b"x" * (3 * 1024 * 1024)
    c = RawClient(server.host, server.port)
    data = RawClient.encode("SET", "big", value)
    for i in range(0, len(data), 7000):
        c.send(data[i:i + 7000])
    assert c.read_reply() == b"+OK\r\n"
    assert c.call("STRLEN", "big") == b":3145728\r\n"
    got = c.call("GET", "big")
    assert got == b"$3145728\r\n" + value + b"\r\n"
    c.close()


def test_protocol_error_closes_connection_after_reply(server):
    out = exchange(server, b"*1\r\n:1\r\nPING\r\n")
    assert out == b"-ERR Protocol error: expected ':', got ':'\r\n".replace(b"':'", b"'$'", 1)


def test_server_keeps_serving_after_garbage(server):
    for junk in (b"\x00\xff" * 1000, b"*999999999999\r\n", b"$$$\r\n", b"*1\r\n$1\r\n"):
        exchange(server, junk)
    c = server.client()
    assert c.ping()


def test_unauthenticated_limits(start_server):
    srv = start_server(requirepass="secret")
    assert b"unauthenticated multibulk length" in exchange(srv, b"*100\r\n")
    assert b"unauthenticated bulk length" in exchange(srv, b"*1\r\n$100000\r\n")
    assert exchange(srv, b"PING\r\n") == b"-NOAUTH Authentication required.\r\n"
    assert exchange(srv, b"AUTH secret\r\nPING\r\n") == b"+OK\r\n+PONG\r\n"
    assert exchange(srv, b"AUTH wrong\r\n").startswith(b"-WRONGPASS")


def test_resp3_hello(server, oracle):
    for srv in (server, oracle):
        c = RawClient(srv.host, srv.port)
        reply = c.call("HELLO", "3")
        assert reply.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15")
        assert c.call("GET", "nosuchkey") == b"_\r\n"
        c.close()


def test_hello_errors_match(server, oracle):
    for args in (("HELLO", "4"), ("HELLO", "x"), ("HELLO", "3", "FOO"),
                 ("HELLO", "3", "AUTH", "default"), ("HELLO", "3", "AUTH", "default", "x"),
                 ("HELLO", "2", "SETNAME", "a b"), ("HELLO", "2", "SETNAME")):
        a = RawClient(server.host, server.port)
        b = RawClient(oracle.host, oracle.port)
        ra, rb = a.call(*args), b.call(*args)
        # the connection id differs between the two servers
        strip = re.compile(rb"\$2\r\nid\r\n:\d+\r\n")
        assert strip.sub(b"", ra) == strip.sub(b"", rb), args
        a.close()
        b.close()


def test_select_and_errors_match(server, oracle):
    for args in (("SELECT", "15"), ("SELECT", "16"), ("SELECT", "-1"), ("SELECT", "x"),
                 ("SELECT", "99999999999"), ("ECHO",), ("PING", "a", "b"), ("GET",),
                 ("get", "a", "b"), ("CONFIG", "NOPE"), ("CONFIG",),
                 ("CONFIG", "GET")):
        a = RawClient(server.host, server.port)
        b = RawClient(oracle.host, oracle.port)
        assert a.call(*args) == b.call(*args), args
        a.close()
        b.close()


def test_quit_and_reset(server):
    c = RawClient(server.host, server.port)
    assert c.call("SELECT", "3") == b"+OK\r\n"
    assert c.call("RESET") == b"+RESET\r\n"
    assert c.call("QUIT") == b"+OK\r\n"
    assert c.read_until_closed() == b""


@pytest.mark.parametrize("backend,edge", [("epoll", False), ("epoll", True),
                                          ("poll", False), ("select", False)])
def test_event_loop_backends(start_server, backend, edge):
    srv = start_server(event_loop_backend=backend, event_loop_edge_triggered=edge)
    c = srv.client()
    assert c.config_get("event-loop-backend") == {"event-loop-backend": backend}
    big = b"y" * 200_000
    pipe = c.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"k{i}", i)
    pipe.set("big", big)
    pipe.get("big")
    out = pipe.execute()
    assert out[-1] == big and all(out[:-1])
    assert c.get("k499") == b"499"
