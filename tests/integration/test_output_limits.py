"""Client output buffer limits and client eviction (maxmemory-clients).

Slow readers are raw sockets with a tiny receive buffer that never read:
their output piles up in the server once the kernel buffers are full.
"""
from __future__ import annotations

import socket
import time

import pytest
import redis

from rawclient import RawClient

def enc(*args) -> bytes:
    return RawClient.encode(*args)


def slow_socket(srv, name: str) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((srv.host, srv.port))
    s.sendall(enc("CLIENT", "SETNAME", name))
    assert s.recv(16) == b"+OK\r\n"
    return s


def client_fields(c: redis.Redis, name: str) -> dict | None:
    for entry in c.client_list():
        if entry.get("name") == name:
            return entry
    return None


def wait_gone(c: redis.Redis, name: str, timeout: float = 5.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if client_fields(c, name) is None:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def srv(start_server):
    return start_server()


def test_hard_limit_slow_reader_lrange(srv):
    c = srv.client()
    c.rpush("big", *(["v" * 1000] * 300))               # ~300 KB per LRANGE
    c.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    slow = slow_socket(srv, "slow")
    slow.sendall(enc("LRANGE", "big", 0, -1) * 60)      # ~18 MB, never read
    assert wait_gone(c, "slow")
    # normal clients are unaffected: replies under the limit still flow
    for _ in range(5):
        assert len(c.lrange("big", 0, -1)) == 300
    assert c.ping() and c.dbsize() == 1
    log = srv.log_text()
    assert "scheduled to be closed ASAP for overcoming of output buffer limits." in log
    assert "name=slow" in log
    slow.close()
    c.close()


def test_single_reply_over_hard_limit_closes_even_a_fast_reader(srv, oracle):
    """Redis checks the limit when the reply is queued: a reply bigger than
    the hard limit closes the client although it reads everything."""
    for s in (srv, oracle):
        c = s.client()
        c.flushall()
        c.rpush("l", *(["x" * 100] * 2000))            # ~210 KB reply
        c.config_set("client-output-buffer-limit", "normal 100000 0 0")
        raw = RawClient(s.host, s.port)
        assert raw.call("LRANGE", "l", 0, 9).startswith(b"*10\r\n")
        raw.send(enc("LRANGE", "l", 0, -1))
        assert raw.read_until_closed(timeout=3) == b""   # closed, nothing sent
        raw.close()
        # Pipelined with a small reply: the whole pending output is dropped.
        raw = RawClient(s.host, s.port)
        raw.send(enc("LRANGE", "l", 0, 9) + enc("LRANGE", "l", 0, -1))
        assert raw.read_until_closed(timeout=3) == b""
        raw.close()
        assert c.ping()
        c.config_set("client-output-buffer-limit", "normal 0 0 0")
        c.close()


def test_pubsub_flood_hard_limit(srv):
    c = srv.client()
    c.config_set("client-output-buffer-limit", "pubsub 256kb 0 0")
    slow = slow_socket(srv, "slowsub")
    slow.sendall(enc("SUBSCRIBE", "flood"))
    good = RawClient(srv.host, srv.port)
    assert good.call("SUBSCRIBE", "flood").startswith(b"*3\r\n$9\r\nsubscribe")
    time.sleep(0.1)
    msg = "m" * 1000
    receivers = 2
    for batch in range(400):                    # bounded: at most 40 MB
        pipe = c.pipeline(transaction=False)
        for _ in range(100):
            pipe.publish("flood", msg)
        receivers = min(pipe.execute())
        for _ in range(100):                    # the good subscriber keeps up
            good.read_reply()
        if receivers == 1:
            break
    assert receivers == 1
    assert wait_gone(c, "slowsub")
    assert c.publish("flood", "still here") == 1
    assert good.read_reply().endswith(b"$10\r\nstill here\r\n")
    assert "scheduled to be closed ASAP for overcoming of output buffer limits." in srv.log_text()
    good.close()
    slow.close()
    c.close()


def test_soft_limit_needs_soft_seconds_and_client_list_fields(srv):
    c = srv.client()
    c.config_set("client-output-buffer-limit", "pubsub 0 64kb 1")
    slow = slow_socket(srv, "softsub")
    slow.sendall(enc("SUBSCRIBE", "s"))
    time.sleep(0.1)
    msg = "m" * 1000
    fields = None
    for _ in range(200):                        # until 64 KB wait in the server
        c.pipeline(transaction=False).publish("s", msg).publish("s", msg).execute()
        for _ in range(20):
            c.publish("s", msg)
        fields = client_fields(c, "softsub")
        if fields is not None and int(fields["omem"]) > 64 * 1024:
            break
    assert fields is not None and int(fields["omem"]) > 64 * 1024
    # CLIENT LIST shows the held output.  DIVERGENCE: obl is 0 here (no
    # fixed 16 KiB reply buffer; everything held is in omem/oll).
    assert int(fields["oll"]) >= 1 and int(fields["obl"]) >= 0
    assert "w" in fields["events"]
    assert int(fields["tot-mem"]) > int(fields["omem"])
    deadline = time.time() + 2                  # sampled by serverCron
    while c.info("clients")["client_recent_max_output_buffer"] <= 64 * 1024:
        assert time.time() < deadline
        time.sleep(0.05)
    # Over the soft limit, but not for more than 1 s yet: still connected.
    assert c.publish("s", msg) == 1
    time.sleep(2.2)
    c.publish("s", msg)                         # the next output checks again
    assert wait_gone(c, "softsub")
    slow.close()
    c.close()


def test_client_eviction_biggest_first_and_no_evict(srv):
    c = srv.client()
    c.client_no_evict("on")
    c.rpush("big", *(["v" * 1000] * 500))               # ~500 KB per LRANGE
    victims = [slow_socket(srv, f"victim{i}") for i in range(2)]
    keeper = slow_socket(srv, "keeper")
    keeper.sendall(enc("CLIENT", "NO-EVICT", "on"))
    time.sleep(0.1)
    # victim0 ends up with the most output, victim1 with a little
    victims[0].sendall(enc("LRANGE", "big", 0, -1) * 12)
    victims[1].sendall(enc("LRANGE", "big", 0, -1) * 8)
    keeper.sendall(enc("LRANGE", "big", 0, -1) * 10)
    time.sleep(0.3)
    held = {n: int(client_fields(c, n)["omem"]) for n in ("victim0", "victim1", "keeper")}
    assert held["victim0"] > held["victim1"] > 256 * 1024
    assert c.info("stats")["evicted_clients"] == 0
    # Room for victim1 and keeper plus each client's fixed overhead (Redis
    # counts ~40 KB per idle client, omakase 2 KB): only victim0 must go.
    limit = held["keeper"] + held["victim1"] + 300 * 1024
    c.config_set("maxmemory-clients", limit)
    assert wait_gone(c, "victim0", timeout=3)
    time.sleep(0.3)
    assert client_fields(c, "victim1") is not None      # enough was freed
    assert client_fields(c, "keeper") is not None       # protected
    assert c.info("stats")["evicted_clients"] == 1
    assert "Evicting client: " in srv.log_text()
    # Lower the limit under what the protected client holds alone.
    c.config_set("maxmemory-clients", "128kb")
    assert wait_gone(c, "victim1", timeout=3)
    time.sleep(0.2)
    assert client_fields(c, "keeper") is not None
    assert c.info("stats")["evicted_clients"] == 2
    assert "Over client maxmemory after evicting all evictable clients" in srv.log_text()
    c.config_set("maxmemory-clients", 0)
    c.config_resetstat()
    assert c.info("stats")["evicted_clients"] == 0
    for s in victims + [keeper]:
        s.close()
    c.close()


def test_client_eviction_query_buffer_and_percent(srv):
    c = srv.client()
    c.client_no_evict("on")
    c.config_set("maxmemory", "40mb")
    c.config_set("maxmemory-clients", "5%")              # 2 MB
    assert c.config_get("maxmemory-clients") == {"maxmemory-clients": "5%"}
    q = socket.create_connection((srv.host, srv.port))
    q.sendall(b"*1\r\n$4\r\nPING\r\n")
    assert q.recv(16) == b"+PONG\r\n"
    # A big argument in flight: 2.5 MB of query buffer (Redis even counts
    # the whole declared bulk, allocated up front).
    q.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n" + b"x" * 2_500_000)
    q.settimeout(3)
    try:
        closed = q.recv(16) == b""
    except ConnectionResetError:
        closed = True
    assert closed
    assert c.info("stats")["evicted_clients"] == 1
    assert c.ping()
    c.config_set("maxmemory-clients", 0)
    c.config_set("maxmemory", 0)
    q.close()
    c.close()


def test_backlogged_output_arrives_whole_and_in_order(srv):
    """A slow reader's output is compacted into blocks while it lags: every
    byte still arrives, in order."""
    c = srv.client()
    values = [bytes([65 + i % 26]) * (15000 + 97 * i) for i in range(60)]
    for i, v in enumerate(values):
        c.set(f"k{i}", v)
    s = slow_socket(srv, "lagging")
    want = bytearray()
    for rnd in range(8):                    # ~9 MB: more than the kernel holds
        s.sendall(b"".join(enc("GET", f"k{i}") for i in range(60)))
        for v in values:
            want += b"$%d\r\n%b\r\n" % (len(v), v)
        time.sleep(0.05)                    # the server piles up output
    fields = client_fields(c, "lagging")
    assert fields is not None and int(fields["omem"]) > 0
    got = bytearray()
    s.settimeout(5)
    while len(got) < len(want):
        data = s.recv(65536)
        assert data
        got += data
    assert got == want
    assert client_fields(c, "lagging")["omem"] == "0"
    s.close()
    c.close()
