"""Client-side caching: omakase vs Debian's redis-server 7.0, byte for byte.

A scripted sequence runs on several raw connections to each server: RESP3
default mode, BCAST with prefixes (and NOLOOP), OPTIN/OPTOUT with CLIENT
CACHING, NOLOOP, RESP2 with REDIRECT to a client subscribed to
``__redis__:invalidate``, a broken redirect, FLUSHALL/FLUSHDB, and every
CLIENT TRACKING error, and lazy expiry of a tracked key (with DEBUG
SET-ACTIVE-EXPIRE 0 for a moment).  After each step every connection is
synchronised with a marker command (``CLIENT GETNAME`` returning the
connection's own name; ``PING <name>`` for a RESP2 connection in subscribed
context), so the
transcript of a step is exactly the bytes each connection received because
of it: replies, invalidation pushes and pub/sub messages, in order.  The
transcripts of the two servers must be identical.  Client ids differ between
the servers, so steps that show ids replace them with the connection names.
"""
from __future__ import annotations

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import RawClient  # noqa: E402

pytestmark = pytest.mark.differential


class Id:
    """A placeholder for a connection's client id in a command."""

    def __init__(self, name: str) -> None:
        self.name = name


class Session:
    """Named raw connections to one server and the transcript of a script."""

    def __init__(self, srv) -> None:
        self.srv = srv
        self.conns: dict[str, RawClient] = {}
        self.ids: dict[str, int] = {}
        self.resp: dict[str, int] = {}
        self.subscribed: set[str] = set()
        self.in_multi: set[str] = set()

    def open(self, name: str, resp: int) -> None:
        c = RawClient(self.srv.host, self.srv.port)
        if resp == 3:
            c.call("HELLO", "3")
        c.call("CLIENT", "SETNAME", "sync-" + name)
        self.ids[name] = int(c.call("CLIENT", "ID")[1:-2])
        self.conns[name] = c
        self.resp[name] = resp

    def close(self) -> None:
        for c in self.conns.values():
            c.close()

    def _marker(self, name: str) -> tuple[list, bytes]:
        tag = ("sync-" + name).encode()
        if name in self.subscribed and self.resp[name] == 2:
            return (["PING", tag], b"*2\r\n$4\r\npong\r\n$%d\r\n%b\r\n" % (len(tag), tag))
        return (["CLIENT", "GETNAME"], b"$%d\r\n%b\r\n" % (len(tag), tag))

    def _sync(self, name: str) -> bytes:
        c = self.conns[name]
        args, expect = self._marker(name)
        c.send(c.encode(*args))
        out = []
        while True:
            reply = c.read_reply()
            if reply == expect:
                return b"".join(out)
            out.append(reply)

    def step(self, name: str, *args, ids: bool = False) -> dict[str, bytes]:
        real = [str(self.ids[a.name]) if isinstance(a, Id) else a for a in args]
        c = self.conns[name]
        c.send(c.encode(*real))
        word = str(args[0]).lower()
        got: dict[str, bytes] = {}
        if word == "subscribe":
            self.subscribed.add(name)
        if word in ("exec", "discard"):
            self.in_multi.discard(name)
        if word == "reset":             # back to RESP2 and no name: name it again
            got[name] = c.read_reply()
            self.resp[name] = 2
            self.in_multi.discard(name)
            self.subscribed.discard(name)
            c.send(c.encode("CLIENT", "SETNAME", "sync-" + name))
            got[name] += self._sync(name)
        elif name in self.in_multi or word == "multi":
            got[name] = c.read_reply()      # +QUEUED: a marker would be queued too
            self.in_multi.add(name)
        else:
            got[name] = self._sync(name)
        for other in self.conns:
            if other != name and other not in self.in_multi:
                got[other] = self._sync(other)
        if ids:
            for conn, data in got.items():
                for n, i in self.ids.items():
                    data = data.replace(b":%d\r\n" % i, b":<%b>\r\n" % n.encode())
                got[conn] = data
        return {k: v for k, v in got.items() if v}

    def kill(self, killer: str, victim: str) -> dict[str, bytes]:
        conn = self.conns.pop(victim)
        got = self.step(killer, "CLIENT", "KILL", "ID", Id(victim))
        conn.close()
        return got

    def info_tracking(self, name: str) -> list[bytes]:
        c = self.conns[name]
        c.send(c.encode("INFO", "all"))
        raw = self._sync(name)
        return [ln for ln in raw.split(b"\r\n") if ln.startswith(b"tracking_")]

    def flags(self, name: str) -> bytes:
        c = self.conns[name]
        c.send(c.encode("CLIENT", "INFO"))
        raw = self._sync(name)
        return b" ".join(f for f in raw.split() if f.startswith((b"flags=", b"resp=")))


# Each entry: ("conn", args...) or a keyword step; see run_script.
SCRIPT: list[tuple] = [
    # --- RESP3, default mode --------------------------------------------------
    ("open", "a", 3), ("open", "w", 2), ("open", "e", 3), ("open", "c", 3),
    ("w", "FLUSHALL"),
    ("a", "CLIENT", "TRACKING", "on"),
    ("a", "GET", "k1"), ("a", "MGET", "k2", "k3", "k2"), ("a", "HGET", "h", "f"),
    ("a", "EXISTS", "k5"), ("a", "STRLEN", "k6"),
    ("w", "SET", "k1", "v"),
    ("w", "MSET", "k2", "x", "k3", "y"),
    ("w", "SET", "k1", "again"),
    ("w", "HSET", "h", "f", "1"),
    ("w", "DEL", "k5", "k6"),
    ("w", "SET", "k6", "1"),
    ("a", "GET", "k1"), ("a", "SET", "k1", "mine"),
    ("a", "GET", "k1"), ("a", "MULTI"), ("a", "GET", "k1"), ("a", "SET", "k1", "z"),
    ("a", "GET", "k1"), ("a", "EXEC"),
    ("w", "APPEND", "k1", "!"),
    ("a", "CLIENT", "TRACKINGINFO"), ("a", "CLIENT", "GETREDIR"), ("flags", "a"),
    ("info", "a"),
    ("a", "GET", "k7"), ("w", "EXPIRE", "k7", "100"), ("w", "SET", "k7", "1"),
    ("a", "GET", "k7"), ("w", "EXPIRE", "k7", "100"), ("w", "PERSIST", "k7"),
    ("a", "GET", "k7"), ("w", "RENAME", "k7", "k8"),
    # lazy expiry by the reader: held back until after its reply
    ("w", "DEBUG", "SET-ACTIVE-EXPIRE", "0"),
    ("w", "SET", "ex1", "1", "PX", "100"), ("a", "GET", "ex1"), ("sleep", 0.25),
    ("a", "GET", "ex1"), ("w", "SET", "ex1", "2"),
    ("w", "SET", "ex2", "1", "PX", "100"), ("a", "GET", "ex2"), ("sleep", 0.25),
    ("w", "EXISTS", "ex2"),
    ("w", "DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ("a", "CLIENT", "TRACKING", "off"), ("a", "CLIENT", "GETREDIR"),
    ("a", "CLIENT", "TRACKINGINFO"),
    # --- BCAST with prefixes ---------------------------------------------------
    ("c", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:", "NOLOOP"),
    ("e", "CLIENT", "TRACKING", "on", "BCAST"),
    ("flags", "c"), ("info", "c"),
    ("w", "MSET", "user:2", "a", "user:1", "b", "obj:1", "c", "other", "d"),
    ("c", "SET", "user:3", "x"),
    ("c", "MSET", "user:4", "x", "obj:9", "y"),
    ("w", "SET", "user:3", "y"),
    ("w", "MULTI"), ("w", "SET", "obj:2", "1"), ("w", "DEL", "obj:2"), ("w", "EXEC"),
    ("c", "GET", "user:1"),
    # a key expired by the NOLOOP client's own read has no author: it is sent
    ("w", "DEBUG", "SET-ACTIVE-EXPIRE", "0"),
    ("w", "SET", "user:ex", "1", "PX", "100"), ("sleep", 0.25),
    ("c", "GET", "user:ex"), ("c", "SET", "user:ex2", "1"),
    ("w", "DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ("c", "CLIENT", "TRACKINGINFO"),
    ("c", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "us"),
    ("c", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "u"),
    ("c", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y", "PREFIX", "yz"),
    ("c", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "q", "PREFIX", "q"),
    ("c", "CLIENT", "TRACKINGINFO"),
    ("c", "CLIENT", "TRACKING", "on"),
    ("c", "CLIENT", "TRACKING", "on", "BCAST", "OPTIN"),
    ("info", "c"),
    ("w", "SET", "yz1", "1"),
    ("e", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a"),
    ("e", "CLIENT", "TRACKINGINFO"),
    ("w", "SET", "a1", "1"),
    ("c", "CLIENT", "TRACKING", "off"), ("e", "CLIENT", "TRACKING", "off"),
    ("c", "CLIENT", "TRACKINGINFO"), ("info", "c"),
    # --- OPTIN / OPTOUT ---------------------------------------------------------
    ("a", "CLIENT", "TRACKING", "on", "OPTIN"),
    ("a", "GET", "o1"), ("a", "CLIENT", "CACHING", "yes"), ("a", "CLIENT", "TRACKINGINFO"),
    ("a", "GET", "o2"), ("a", "GET", "o3"),
    ("w", "MSET", "o1", "1", "o2", "2", "o3", "3"),
    ("a", "CLIENT", "CACHING", "yes"), ("a", "PING"), ("a", "GET", "o4"),
    ("w", "SET", "o4", "1"),
    ("a", "CLIENT", "CACHING", "yes"), ("a", "NOSUCHCMD"), ("a", "GET", "o5"),
    ("w", "SET", "o5", "1"),
    ("a", "CLIENT", "CACHING", "yes"), ("a", "GET"), ("a", "GET", "o5"),
    ("w", "SET", "o5", "1"),
    ("a", "CLIENT", "CACHING", "yes"), ("a", "CLIENT", "CACHING", "maybe"),
    ("a", "CLIENT", "ID", "ids"), ("a", "GET", "o8"),
    ("w", "SET", "o8", "1"),
    ("a", "CLIENT", "CACHING", "yes"), ("a", "MULTI"), ("a", "GET", "o6"), ("a", "GET", "o7"),
    ("a", "EXEC"), ("a", "GET", "o9"),
    ("w", "MSET", "o6", "1", "o7", "1", "o9", "1"),
    ("a", "MULTI"), ("a", "CLIENT", "CACHING", "yes"), ("a", "GET", "o10"), ("a", "EXEC"),
    ("a", "GET", "o11"), ("w", "MSET", "o10", "1", "o11", "1"),
    ("a", "CLIENT", "CACHING", "no"),
    ("a", "CLIENT", "TRACKING", "on", "OPTOUT"),
    ("a", "CLIENT", "TRACKING", "on", "OPTIN", "NOLOOP"), ("a", "CLIENT", "TRACKINGINFO"),
    ("a", "CLIENT", "TRACKING", "off"),
    ("a", "CLIENT", "TRACKING", "on", "OPTOUT"),
    ("a", "CLIENT", "CACHING", "yes"),
    ("a", "CLIENT", "CACHING", "no"), ("a", "CLIENT", "TRACKINGINFO"),
    ("a", "GET", "p1"), ("a", "GET", "p2"),
    ("w", "MSET", "p1", "1", "p2", "2"),
    ("a", "CLIENT", "TRACKING", "off"),
    # --- NOLOOP, default mode ---------------------------------------------------
    ("a", "CLIENT", "TRACKING", "on", "NOLOOP"),
    ("a", "GET", "n1"), ("a", "SET", "n1", "x"), ("a", "GET", "n1"),
    ("w", "SET", "n1", "y"),
    ("a", "CLIENT", "TRACKING", "off"),
    # --- RESP2 with REDIRECT ---------------------------------------------------
    ("open", "b", 2), ("open", "r2", 2), ("open", "d", 3), ("open", "plain", 2),
    ("b", "SUBSCRIBE", "__redis__:invalidate"),
    ("r2", "CLIENT", "TRACKING", "on", "REDIRECT", Id("b")),
    ("r2", "GET", "q1"), ("w", "SET", "q1", "1"),
    ("r2", "GET", "q2"), ("r2", "SET", "q2", "x"),
    ("r2", "CLIENT", "GETREDIR", "ids"), ("r2", "CLIENT", "TRACKINGINFO", "ids"),
    ("flags", "r2"),
    ("a", "CLIENT", "TRACKING", "on", "REDIRECT", Id("b")),
    ("a", "GET", "q3"), ("w", "SET", "q3", "1"),
    ("e", "CLIENT", "TRACKING", "on", "REDIRECT", Id("d")),
    ("e", "GET", "q4"), ("w", "SET", "q4", "1"),
    ("c", "CLIENT", "TRACKING", "on", "REDIRECT", Id("plain")),
    ("c", "GET", "q5"), ("w", "SET", "q5", "1"),
    ("r2", "CLIENT", "TRACKING", "off"),
    # (Redis tells clients of a flush in its client-list order, which its
    # cron rotates: one tracking client per redirect target keeps it exact.)
    ("a", "GET", "q6"), ("e", "GET", "q6"),
    ("w", "FLUSHALL"),
    ("a", "CLIENT", "TRACKING", "off"),
    ("r2", "CLIENT", "TRACKING", "on", "REDIRECT", Id("b")),
    ("r2", "GET", "q7"), ("r2", "FLUSHDB"),
    ("info", "w"),
    ("c", "CLIENT", "TRACKING", "off"),
    ("e", "CLIENT", "TRACKING", "off"), ("r2", "CLIENT", "TRACKING", "off"),
    # --- BCAST with REDIRECT to RESP2 pub/sub --------------------------------------
    ("r2", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "bc", "REDIRECT", Id("b")),
    ("w", "MSET", "bc2", "1", "bc1", "1", "zz", "1"),
    ("r2", "CLIENT", "TRACKING", "off"),
    # --- broken redirect ----------------------------------------------------------
    ("open", "t", 2),
    ("a", "CLIENT", "TRACKING", "on", "REDIRECT", Id("t")),
    ("r2", "CLIENT", "TRACKING", "on", "REDIRECT", Id("t")),
    ("a", "GET", "z1"), ("a", "GET", "z2"), ("r2", "GET", "z1"),
    ("kill", "w", "t"),
    ("w", "SET", "z1", "1", "ids"),
    ("a", "CLIENT", "TRACKINGINFO", "ids"), ("r2", "CLIENT", "TRACKINGINFO", "ids"),
    ("flags", "a"), ("flags", "r2"),
    ("a", "SET", "z2", "2", "ids"),
    ("w", "FLUSHALL", "ids"),
    ("a", "CLIENT", "TRACKING", "off"), ("r2", "CLIENT", "TRACKING", "off"),
    # --- FLUSHALL / FLUSHDB -------------------------------------------------------
    ("a", "CLIENT", "TRACKING", "on"), ("e", "CLIENT", "TRACKING", "on", "BCAST"),
    ("c", "CLIENT", "TRACKING", "on", "NOLOOP"),
    ("a", "GET", "f1"), ("c", "GET", "f1"),
    ("w", "FLUSHALL"), ("info", "w"),
    ("a", "FLUSHDB"), ("c", "FLUSHALL", "ASYNC"),
    ("w", "SELECT", "1"), ("w", "FLUSHDB"), ("w", "SET", "f1", "1"),
    ("a", "GET", "f2"), ("w", "SWAPDB", "0", "1"), ("w", "SET", "f2", "x"),
    ("a", "RESET"), ("flags", "a"), ("info", "w"),
    ("kill", "w", "e"), ("info", "w"),
    ("c", "CLIENT", "TRACKING", "off"),
]

# Scripts (Redis 7.0): a READONLY redis.call() makes the caller remember the
# keys of its EVAL, not the keys the script read; EVAL_RO alone remembers none.
SCRIPT_LUA: list[tuple] = [
    ("open", "a", 3), ("open", "w", 2),
    ("w", "FLUSHALL"),
    ("a", "CLIENT", "TRACKING", "on"),
    ("a", "EVAL", "return redis.call('get', KEYS[1])", "1", "sk1"),
    ("a", "EVAL_RO", "return 1", "1", "sk2"),
    ("a", "EVAL_RO", "return redis.call('get', 'sk9')", "1", "sk3"),
    ("a", "EVAL", "redis.call('get', 'sk4') return redis.call('set', 'sk4', 'x')", "0"),
    ("a", "EVAL", "redis.call('get', 'sk5') return 1", "0"),
    ("a", "EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "sk6"),
    ("w", "MSET", "sk1", "1", "sk2", "2", "sk3", "3", "sk4", "4", "sk5", "5", "sk6", "6",
     "sk9", "9"),
    ("a", "GET", "sk7"), ("a", "EVAL", "return redis.call('set', 'sk7', 'x')", "0"),
    ("a", "CLIENT", "TRACKING", "off"),
]

ERRORS: list[tuple] = [
    ("CLIENT", "TRACKING", "on", "PREFIX", "a"),
    ("CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
    ("CLIENT", "TRACKING", "on", "BCAST", "OPTIN"),
    ("CLIENT", "TRACKING", "on", "BCAST", "OPTOUT"),
    ("CLIENT", "TRACKING", "on", "REDIRECT", "999999"),
    ("CLIENT", "TRACKING", "on", "REDIRECT", "abc"),
    ("CLIENT", "TRACKING", "on", "REDIRECT", "0"),
    ("CLIENT", "TRACKING", "on", "REDIRECT", "-1"),
    ("CLIENT", "TRACKING", "on", "REDIRECT"),
    ("CLIENT", "TRACKING", "maybe"),
    ("CLIENT", "TRACKING", "on", "foo"),
    ("CLIENT", "TRACKING", "on", "PREFIX"),
    ("CLIENT", "TRACKING", "off", "REDIRECT", "999999"),
    ("CLIENT", "TRACKING", "off", "PREFIX", "a"),
    ("CLIENT", "TRACKING", "off", "BCAST", "OPTIN", "OPTOUT"),
    ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab"),
    ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a"),
    ("CLIENT", "TRACKING"),
    ("CLIENT", "CACHING"),
    ("CLIENT", "CACHING", "yes"),
    ("CLIENT", "CACHING", "no"),
    ("CLIENT", "CACHING", "maybe"),
    ("CLIENT", "CACHING", "yes", "no"),
    ("CLIENT", "GETREDIR", "x"),
    ("CLIENT", "TRACKINGINFO", "x"),
    ("CLIENT", "GETREDIR"),
    ("CLIENT", "TRACKINGINFO"),
]


def run_script(srv, script: list[tuple] = SCRIPT) -> list[tuple[str, object]]:
    s = Session(srv)
    out: list[tuple[str, object]] = []
    try:
        for entry in script:
            kind = entry[0]
            if kind == "open":
                s.open(entry[1], entry[2])
                continue
            if kind == "sleep":
                time.sleep(entry[1])
                continue
            label = " ".join(str(getattr(x, "name", x)) for x in entry)
            if kind == "info":
                out.append((label, s.info_tracking(entry[1])))
            elif kind == "flags":
                out.append((label, s.flags(entry[1])))
            elif kind == "kill":
                out.append((label, s.kill(entry[1], entry[2])))
            else:
                args = list(entry[1:])
                ids = args[-1] == "ids"
                if ids:
                    args.pop()
                out.append((label, s.step(kind, *args, ids=ids)))
    finally:
        s.close()
        c = RawClient(srv.host, srv.port)
        c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        c.close()
    return out


def test_scripted_sequence(server, oracle):
    ours = run_script(server)
    theirs = run_script(oracle)
    assert len(ours) == len(theirs)
    for (label, a), (_, b) in zip(ours, theirs):
        assert a == b, f"step {label!r}: omakase {a!r} != redis {b!r}"


def test_scripts_remember_the_callers_keys(server, oracle):
    probe = RawClient(server.host, server.port)
    has_eval = probe.call("COMMAND", "INFO", "eval") != b"*1\r\n$-1\r\n"
    probe.close()
    if not has_eval:
        pytest.skip("needs EVAL")
    ours = run_script(server, SCRIPT_LUA)
    theirs = run_script(oracle, SCRIPT_LUA)
    for (label, a), (_, b) in zip(ours, theirs):
        assert a == b, f"step {label!r}: omakase {a!r} != redis {b!r}"


@pytest.mark.parametrize("resp", [2, 3])
def test_errors_and_info_replies(server, oracle, resp):
    """Every CLIENT TRACKING/CACHING/GETREDIR/TRACKINGINFO error, on a fresh
    connection each (then TRACKINGINFO), and all of them on one connection."""
    def connect(srv) -> RawClient:
        c = RawClient(srv.host, srv.port)
        if resp == 3:
            c.call("HELLO", "3")
        return c

    for args in ERRORS:
        got = []
        for srv in (server, oracle):
            c = connect(srv)
            got.append((c.call(*args), c.call("CLIENT", "TRACKINGINFO")))
            c.close()
        assert got[0] == got[1], args
    ours, theirs = connect(server), connect(oracle)
    try:
        for args in ERRORS:
            assert ours.call(*args) == theirs.call(*args), args
    finally:
        ours.close()
        theirs.close()
