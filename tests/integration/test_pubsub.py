"""Pub/Sub: differential (raw bytes vs redis-server 7.0) and redis-py tests."""
from __future__ import annotations

import itertools
import time

import pytest

from helpers import wait_for
from rawclient import RawClient

_tokens = itertools.count()


def sync(conn: RawClient) -> list[bytes]:
    """Everything the connection received so far: PING a unique token and
    read replies until its answer comes back (array form in RESP2 pub/sub)."""
    token = b"__sync_%d__" % next(_tokens)
    conn.send(conn.encode(b"PING", token))
    out = []
    while True:
        rep = conn.read_reply()
        if rep.endswith(token + b"\r\n") and (rep.startswith(b"$") or b"pong" in rep):
            return out
        out.append(rep)


def run_script(host: str, port: int, script: list, nconn: int = 2,
               protos: tuple = ()) -> list:
    """Run (conn_index, args...) steps; after each, sync every connection.
    Returns the transcript of replies per step and connection."""
    conns = [RawClient(host, port) for _ in range(nconn)]
    try:
        for i, p in enumerate(protos):
            if p == 3:
                conns[i].call("HELLO", "3")
        transcript = []
        in_multi = set()
        for step in script:
            who, args = step[0], step[1:]
            conns[who].send(RawClient.encode(*args))
            name = args[0].upper()
            if name == "MULTI":
                in_multi.add(who)
            elif name in ("EXEC", "DISCARD"):
                in_multi.discard(who)
            # a PING would be queued inside MULTI: read the one reply instead
            transcript.append([(n, ([c.read_reply()] if n == who else [])
                                if n in in_multi else sync(c))
                               for n, c in enumerate(conns)])
        return transcript
    finally:
        for c in conns:
            c.close()


def diff(server, oracle, script, nconn=2, protos=()):
    mine = run_script(server.host, server.port, script, nconn, protos)
    ref = run_script(oracle.host, oracle.port, script, nconn, protos)
    for step, a, b in zip(script, mine, ref):
        assert a == b, f"step {step}: omakase {a} != redis {b}"


SINGLE = [
    (0, "PUBSUB", "HELP"),
    (0, "UNSUBSCRIBE"), (0, "PUNSUBSCRIBE"), (0, "SUNSUBSCRIBE"), (0, "SUNSUBSCRIBE", "x"),
    (0, "UNSUBSCRIBE", "nope"), (0, "PUNSUBSCRIBE", "nope*"),
    (0, "PUBSUB", "NUMSUB", "a", "b"), (0, "PUBSUB", "NUMSUB"), (0, "PUBSUB", "NUMPAT"),
    (0, "PUBSUB", "SHARDNUMSUB", "a"), (0, "PUBSUB", "SHARDNUMSUB"),
    (0, "PUBSUB", "SHARDCHANNELS"), (0, "PUBSUB", "CHANNELS", "*"), (0, "PUBSUB", "CHANNELS"),
    (0, "PUBSUB", "CHANNELS", "a", "b"), (0, "PUBSUB", "NUMPAT", "x"),
    (0, "PUBSUB", "SHARDCHANNELS", "a", "b"), (0, "PUBSUB", "FOO"), (0, "PUBSUB"),
    (0, "SUBSCRIBE"), (0, "PUBLISH", "a"), (0, "SPUBLISH", "a"), (0, "PUBLISH", "a", "b"),
    (0, "SPUBLISH", "a", "b"),
    (0, "MULTI"), (0, "SSUBSCRIBE", "a"), (0, "SUBSCRIBE", "b"), (0, "EXEC"),
    (0, "PUBSUB", "NUMSUB", "b", "a"), (0, "GET", "x"), (0, "SET", "x", "1"),
    (0, "SSUBSCRIBE", "q"), (0, "SSUBSCRIBE", "q", "r"), (0, "SUNSUBSCRIBE", "q"),
    (0, "SUNSUBSCRIBE", "r"),
    (0, "UNSUBSCRIBE", "b"), (0, "GET", "x"),
    # the PUBSUB flag follows the total count (channels + patterns + shard)
    (0, "SUBSCRIBE", "a"), (0, "SSUBSCRIBE", "b"), (0, "UNSUBSCRIBE", "a"), (0, "GET", "x"),
    (0, "SUNSUBSCRIBE"), (0, "GET", "x"), (0, "SSUBSCRIBE", "b"), (0, "PSUBSCRIBE", "p"),
    (0, "PSUBSCRIBE", "p"), (0, "SUNSUBSCRIBE"), (0, "GET", "x"), (0, "PUNSUBSCRIBE"),
    (0, "GET", "x"),
    (0, "SUBSCRIBE", "a", "b", "a"), (0, "PSUBSCRIBE", "x*", "y*"), (0, "PUNSUBSCRIBE", "x*", "z"),
    (0, "UNSUBSCRIBE", "b", "a", "a"), (0, "PUNSUBSCRIBE"), (0, "PUNSUBSCRIBE"),
    (0, "SUBSCRIBE", "c"), (0, "RESET"), (0, "GET", "x"), (0, "PUBSUB", "NUMSUB", "c"),
]


@pytest.mark.parametrize("proto", [2, 3])
def test_single_connection_differential(server, oracle, proto):
    diff(server, oracle, SINGLE, nconn=1, protos=(proto,))


DELIVERY = [
    (0, "SUBSCRIBE", "news", "sport"), (1, "PSUBSCRIBE", "n*", "h?llo", "[ab]x"),
    (2, "PUBLISH", "news", "hi"), (2, "PUBLISH", "sport", ""), (2, "PUBLISH", "hello", "w"),
    (2, "PUBLISH", "bx", "w2"), (2, "PUBLISH", "none", "x"),
    (2, "PUBSUB", "NUMSUB", "news", "sport", "x"), (2, "PUBSUB", "NUMPAT"),
    (2, "PUBSUB", "CHANNELS", "n*"), (2, "PUBSUB", "CHANNELS", "s*"),
    (1, "SUBSCRIBE", "news"), (2, "PUBLISH", "news", "both"),
    (0, "SSUBSCRIBE", "sh"), (2, "SPUBLISH", "sh", "shard msg"), (2, "PUBLISH", "sh", "plain"),
    (2, "SPUBLISH", "news", "nobody"), (2, "PUBSUB", "SHARDCHANNELS"),
    (2, "PUBSUB", "SHARDCHANNELS", "s*"), (2, "PUBSUB", "SHARDNUMSUB", "sh", "news"),
    (0, "PUBLISH", "news", "self"), (2, "SUBSCRIBE", "news"), (1, "PUBLISH", "news", "x"),
    (0, "UNSUBSCRIBE", "news"), (1, "PUNSUBSCRIBE", "n*"), (3, "PUBLISH", "news", "after"),
    (0, "SUNSUBSCRIBE", "sh"), (3, "SPUBLISH", "sh", "gone"), (3, "PUBSUB", "SHARDNUMSUB", "sh"),
    (3, "PUBLISH", "news", "x" * 3000),
]


@pytest.mark.parametrize("protos", [(2, 2, 2, 2), (3, 2, 3, 2), (2, 3, 2, 3)])
def test_delivery_differential(server, oracle, protos):
    diff(server, oracle, DELIVERY, nconn=4, protos=protos)


def test_reply_off_does_not_hide_pubsub(server, oracle):
    """Pub/sub replies bypass CLIENT REPLY OFF (CLIENT_PUSHING)."""
    def run(srv, proto):
        c = RawClient(srv.host, srv.port)
        c.call("HELLO", str(proto))
        c.send(c.encode("CLIENT", "REPLY", "OFF") + c.encode("SUBSCRIBE", "zz")
               + c.encode("PUBLISH", "zz", "m") + c.encode("CLIENT", "REPLY", "ON")
               + c.encode("PING") + c.encode("UNSUBSCRIBE") + c.encode("PING"))
        time.sleep(0.2)
        c.sock.settimeout(0.3)
        data = b""
        try:
            while True:
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        c.close()
        return data
    for proto in (2, 3):
        assert run(server, proto) == run(oracle, proto)


def test_disconnect_unsubscribes(server, r):
    c = RawClient(server.host, server.port)
    c.call("SUBSCRIBE", "gone")
    c.call("PSUBSCRIBE", "g*")
    c.call("SSUBSCRIBE", "sgone")
    assert r.pubsub_numsub("gone") == [(b"gone", 1)]
    assert r.pubsub_numpat() == 1
    c.close()
    assert wait_for(lambda: r.pubsub_numsub("gone") == [(b"gone", 0)], 3.0)
    assert r.pubsub_numpat() == 0
    assert r.execute_command("PUBSUB", "SHARDNUMSUB", "sgone") == [b"sgone", 0]
    assert r.publish("gone", "x") == 0


def test_info_and_client_list(server, r):
    c = RawClient(server.host, server.port)
    c.call("SUBSCRIBE", "i1", "i2")
    c.read_reply()                      # one confirmation per channel
    c.call("PSUBSCRIBE", "p*")
    c.call("SSUBSCRIBE", "s1")
    # earlier tests' subscribers may still be closing on the server side
    deadline = time.time() + 5
    while r.info("stats")["pubsub_channels"] != 2 and time.time() < deadline:
        time.sleep(0.02)
    info = r.info("stats")
    assert info["pubsub_channels"] == 2
    assert info["pubsub_patterns"] == 1
    assert info["pubsubshard_channels"] == 1
    line = [cl for cl in r.client_list() if cl["sub"] == "2"]
    assert line and line[0]["psub"] == "1" and line[0]["ssub"] == "1"
    assert "P" in line[0]["flags"]
    c.call("RESET")
    assert r.info("stats")["pubsub_channels"] == 0
    assert r.pubsub_channels() == []
    c.close()


def test_redis_py_pubsub(server, r):
    p = r.pubsub()
    p.subscribe("chan")
    p.psubscribe("ch*")
    assert p.get_message(timeout=1)["type"] == "subscribe"
    assert p.get_message(timeout=1)["type"] == "psubscribe"
    assert r.publish("chan", "hello") == 2
    m1 = p.get_message(timeout=1)
    m2 = p.get_message(timeout=1)
    assert (m1["type"], m1["channel"], m1["data"]) == ("message", b"chan", b"hello")
    assert (m2["type"], m2["pattern"], m2["data"]) == ("pmessage", b"ch*", b"hello")
    p.unsubscribe()
    p.punsubscribe()
    p.close()


def test_resp3_client_can_run_commands_while_subscribed(server, r3):
    c = RawClient(server.host, server.port)
    c.call("HELLO", "3")
    c.call("SUBSCRIBE", "k")
    assert c.call("SET", "k", "v") == b"+OK\r\n"
    assert c.call("PUBLISH", "k", "me") == b">3\r\n$7\r\nmessage\r\n$1\r\nk\r\n$2\r\nme\r\n"
    assert c.read_reply() == b":1\r\n"
    c.close()


def test_many_subscribers_fanout(server, r):
    subs = [RawClient(server.host, server.port) for _ in range(20)]
    for s in subs:
        s.call("SUBSCRIBE", "fan")
    assert r.publish("fan", "m") == 20
    for s in subs:
        assert s.read_reply() == b"*3\r\n$7\r\nmessage\r\n$3\r\nfan\r\n$1\r\nm\r\n"
        s.close()
