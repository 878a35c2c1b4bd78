"""Keyspace notifications: the same commands on omakase and redis-server 7.0
must publish the same events, in the same order, to real subscribers."""
from __future__ import annotations

import time

import pytest
import redis

from rawclient import RawClient
from test_pubsub import sync


@pytest.fixture
def pair(server, oracle, r, o):
    """(omakase client, redis client) with notifications on, flushed."""
    yield r, o
    for c in (r, o):
        c.config_set("notify-keyspace-events", "")


def capture(srv, client, classes, commands, pattern="__key*__:*", db=0):
    client.config_set("notify-keyspace-events", classes)
    sub = RawClient(srv.host, srv.port)
    sub.call("PSUBSCRIBE", pattern)
    errors = []
    try:
        for cmd in commands:
            if cmd[0] == "sleep":
                time.sleep(cmd[1])
                continue
            try:
                client.execute_command(*cmd)
            except redis.ResponseError as exc:  # errors are part of the sequence too
                errors.append((cmd, str(exc)))
        return sync(sub) + [repr(e).encode() for e in errors]
    finally:
        sub.close()


def check(pair, server, oracle, classes, commands, pattern="__key*__:*"):
    r, o = pair
    mine = capture(server, r, classes, commands, pattern)
    ref = capture(oracle, o, classes, commands, pattern)
    assert mine == ref
    return mine


CASES = {
    "strings": [("SET", "s", "1"), ("SET", "s", "2", "EX", "100"), ("INCR", "s"),
                ("INCRBY", "n", "5"), ("APPEND", "s", "x"), ("SETRANGE", "s", "0", "z"),
                ("MSET", "a", "1", "b", "2"), ("GETDEL", "a"), ("GETSET", "b", "3"),
                ("SETNX", "b", "4"), ("SETNX", "c", "4"), ("INCRBYFLOAT", "f", "1.5"),
                ("DECR", "f"), ("GETEX", "b", "PX", "10000"), ("GETEX", "b", "PERSIST")],
    "generic": [("SET", "k", "v"), ("EXPIRE", "k", "100"), ("PERSIST", "k"),
                ("PEXPIRE", "k", "100000"), ("RENAME", "k", "k2"), ("DEL", "k2", "nokey"),
                ("SET", "x", "1"), ("EXPIRE", "x", "-1"), ("SET", "y", "1"),
                ("EXPIREAT", "y", "1"), ("SET", "z", "1"), ("UNLINK", "z")],
    "expired": [("SET", "e", "v", "PX", "1"), ("sleep", 0.05), ("GET", "e"),
                ("SET", "e2", "v"), ("PEXPIRE", "e2", "1"), ("sleep", 0.05), ("EXISTS", "e2")],
    "active_expired": [("SET", "ae", "v", "PX", "1"),
                       ("sleep", 0.5), ("DBSIZE",)],
    "list": [("LPUSH", "l", "a", "b"), ("RPUSH", "l", "c"), ("LPOP", "l"), ("RPOP", "l"),
             ("LSET", "l", "0", "q"), ("LINSERT", "l", "BEFORE", "q", "p"),
             ("LREM", "l", "0", "p"), ("LPOP", "l"), ("RPUSH", "l2", "x", "y"),
             ("LTRIM", "l2", "0", "0"), ("LMOVE", "l2", "l3", "LEFT", "RIGHT")],
    "hash": [("HSET", "h", "a", "1", "b", "2"), ("HSETNX", "h", "c", "3"),
             ("HINCRBY", "h", "a", "2"), ("HINCRBYFLOAT", "h", "b", "0.5"),
             ("HDEL", "h", "a"), ("HDEL", "h", "b", "c")],
    "zset": [("ZADD", "z", "1", "a", "2", "b"), ("ZINCRBY", "z", "3", "a"), ("ZREM", "z", "a"),
             ("ZADD", "z", "5", "c"), ("ZREMRANGEBYSCORE", "z", "0", "3"),
             ("ZPOPMIN", "z"), ("ZADD", "z2", "1", "x")],
    "set": [("SADD", "s", "a", "b", "c"), ("SREM", "s", "a"), ("SMOVE", "s", "t", "b"),
            ("SPOP", "s"), ("SADD", "u", "1"), ("SINTERSTORE", "d", "t", "u")],
    "rename_types": [("RPUSH", "l", "a"), ("RENAME", "l", "l2"), ("HSET", "h", "f", "v"),
                     ("RENAMENX", "h", "h2"), ("ZADD", "z", "1", "m"), ("RENAME", "z", "h2"),
                     ("DEL", "l2", "h2")],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_events_all_classes(pair, server, oracle, case):
    got = check(pair, server, oracle, "KEA", CASES[case])
    assert got  # every case publishes something


@pytest.mark.parametrize("classes", ["K$", "Eg", "El", "Kh", "Ez", "Ex", "KEg$lshzx", "g", "Ks"])
def test_event_class_filters(pair, server, oracle, classes):
    commands = [cmd for case in ("strings", "generic", "list", "hash", "zset", "expired", "set")
                for cmd in CASES[case]]
    commands = [("FLUSHALL",)] + commands
    check(pair, server, oracle, classes, commands)


def test_exact_messages(pair, server):
    r, _ = pair
    got = capture(server, r, "KEA", [("SET", "foo", "bar"), ("DEL", "foo")])
    assert got == [
        b"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyspace@0__:foo\r\n$3\r\nset\r\n",
        b"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:set\r\n$3\r\nfoo\r\n",
        b"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyspace@0__:foo\r\n$3\r\ndel\r\n",
        b"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:del\r\n$3\r\nfoo\r\n",
    ]


def test_channel_subscribers_and_other_db(pair, server, oracle):
    """Plain SUBSCRIBE to one keyspace channel; events in another db."""
    r, o = pair

    def run(srv, client):
        client.config_set("notify-keyspace-events", "KEA")
        sub = RawClient(srv.host, srv.port)
        sub.call("SUBSCRIBE", "__keyspace@3__:k", "__keyevent@3__:lpush")
        sub.read_reply()
        w = RawClient(srv.host, srv.port)
        for cmd in (("SELECT", "3"), ("SET", "k", "1"), ("LPUSH", "q", "1"),
                    ("SELECT", "0"), ("SET", "k", "2"), ("SELECT", "3"), ("DEL", "k", "q")):
            w.call(*cmd)
        w.close()
        out = sync(sub)
        sub.close()
        return out
    mine, ref = run(server, r), run(oracle, o)
    assert mine == ref and len(mine) == 3


def test_disabled_publishes_nothing(pair, server):
    r, _ = pair
    assert capture(server, r, "", [("SET", "a", "1"), ("LPUSH", "l", "x")]) == []
    # classes without K or E publish nothing either
    assert capture(server, r, "A", [("SET", "a", "1")]) == []


def test_resp3_subscriber_gets_push(pair, server, oracle):
    r, o = pair

    def run(srv, client):
        client.config_set("notify-keyspace-events", "E$")
        sub = RawClient(srv.host, srv.port)
        sub.call("HELLO", "3")
        sub.call("SUBSCRIBE", "__keyevent@0__:set")
        sub.call("SET", "self", "1")   # its own write: push then +OK, in that order
        client.set("other", "2")
        out = sync(sub)
        sub.close()
        return out
    assert run(server, r) == run(oracle, o)
