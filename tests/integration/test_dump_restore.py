"""DUMP, RESTORE, RESTORE-ASKING, MIGRATE and DEBUG SET-SKIP-CHECKSUM-VALIDATION
through redis-py: replies, errors, TTLs, LRU/LFU options, events,
propagation, and fuzzed payloads that must never crash the server nor leave
a key behind."""
from __future__ import annotations

import random
import time

import pytest
import redis

from omakase.networking import FakeClient

from inproc import argv_of


def err(fn, *args) -> str:
    with pytest.raises(redis.ResponseError) as e:
        fn(*args)
    return str(e.value)


# ---------------------------------------------------------------------------
# DUMP / RESTORE
# ---------------------------------------------------------------------------
def test_dump_restore_every_type(r):
    r.set("s", "hello")
    r.rpush("l", *range(50))
    r.sadd("is", 1, 2, 3)
    r.sadd("hs", "a", "b")
    r.hset("h", mapping={"a": 1, "b": "x" * 100})
    r.zadd("z", {"a": 1, "b": 2.5})
    for key in ("s", "l", "is", "hs", "h", "z"):
        d = r.dump(key)
        assert d[-10:-8] == b"\x0a\x00"
        assert r.restore(key + "2", 0, d) == b"OK"
        assert r.dump(key + "2") == d or key in ("hs",)
        assert r.type(key + "2") == r.type(key)
        assert r.object("encoding", key + "2") == r.object("encoding", key)
    assert r.lrange("l2", 0, -1) == r.lrange("l", 0, -1)
    assert r.hgetall("h2") == r.hgetall("h")
    assert r.zrange("z2", 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.5)]
    assert r.dump("nosuchkey") is None


def test_restore_errors(r):
    r.set("k", "v")
    d = r.dump("k")
    assert err(r.restore, "k", 0, d) == "BUSYKEY Target key name already exists."
    assert err(r.execute_command, "RESTORE", "n", "abc", d) == \
        "value is not an integer or out of range"
    assert err(r.execute_command, "RESTORE", "n", -1, d) == "Invalid TTL value, must be >= 0"
    assert err(r.execute_command, "RESTORE", "n", 0, d[:-1]) == \
        "DUMP payload version or checksum are wrong"
    assert err(r.execute_command, "RESTORE", "n", 0, b"\x00\x01") == \
        "DUMP payload version or checksum are wrong"
    newer = d[:-10] + b"\x0b\x00" + d[-8:]
    assert err(r.execute_command, "RESTORE", "n", 0, newer) == \
        "DUMP payload version or checksum are wrong"
    assert err(r.execute_command, "RESTORE", "n", 0, d, "IDLETIME", -1) == \
        "Invalid IDLETIME value, must be >= 0"
    assert err(r.execute_command, "RESTORE", "n", 0, d, "IDLETIME", "x") == \
        "value is not an integer or out of range"
    assert err(r.execute_command, "RESTORE", "n", 0, d, "FREQ", 256) == \
        "Invalid FREQ value, must be >= 0 and <= 255"
    assert err(r.execute_command, "RESTORE", "n", 0, d, "IDLETIME", 1, "FREQ", 2) == \
        "syntax error"
    assert err(r.execute_command, "RESTORE", "n", 0, d, "IDLETIME") == "syntax error"
    assert err(r.execute_command, "RESTORE", "n", 0, d, "BOGUS") == "syntax error"
    # options are parsed before the key is looked at
    assert err(r.execute_command, "RESTORE", "k", 0, d, "FREQ", -1) == \
        "Invalid FREQ value, must be >= 0 and <= 255"
    r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1)
    try:
        assert err(r.execute_command, "RESTORE", "n", 0, b"\xff" + d[1:]) == "Bad data format"
        assert err(r.execute_command, "RESTORE", "n", 0, b"\x12\x00" + d[-10:]) == \
            "Bad data format"
        assert r.execute_command("RESTORE", "n", 0, d[:-8] + b"\0" * 8) == b"OK"
    finally:
        r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 0)
    assert err(r.execute_command, "RESTORE", "n2", 0, d[:-8] + b"\0" * 8) == \
        "DUMP payload version or checksum are wrong"
    assert r.exists("n2") == 0


def test_restore_replace_ttl_absttl(r):
    r.set("k", "v")
    d = r.dump("k")
    r.hset("k2", "f", "v")
    assert r.restore("k2", 0, d, replace=True) == b"OK"
    assert r.get("k2") == b"v"
    assert r.restore("t", 5000, d) == b"OK"
    assert 4000 < r.pttl("t") <= 5000
    when = int(time.time() * 1000) + 100000
    assert r.restore("a", when, d, absttl=True) == b"OK"
    assert 90000 < r.pttl("a") <= 100000
    # a TTL already in the past creates nothing (and REPLACE deleted the old key)
    assert r.restore("past", 1, d, absttl=True) == b"OK"
    assert r.exists("past") == 0
    assert r.restore("k2", 1, d, replace=True, absttl=True) == b"OK"
    assert r.exists("k2") == 0


def test_restore_idletime_and_freq(r):
    r.set("k", "v")
    d = r.dump("k")
    r.restore("i", 0, d, idletime=1000)
    assert 999 <= r.object("idletime", "i") <= 1002
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        r.restore("f", 0, d, frequency=77)
        assert r.object("freq", "f") == 77
    finally:
        r.config_set("maxmemory-policy", "noeviction")


def test_restore_asking_and_notifications(r, server):
    r.config_set("notify-keyspace-events", "KEA")
    p = server.client().pubsub()
    p.psubscribe("__keyevent@0__:*")
    p.get_message(timeout=1)
    try:
        r.set("k", "v")
        d = r.dump("k")
        assert r.execute_command("RESTORE-ASKING", "ra", 0, d) == b"OK"
        assert r.get("ra") == b"v"
        events = []
        deadline = time.time() + 2
        while time.time() < deadline and "restore" not in events:
            m = p.get_message(timeout=0.2)
            if m and m["type"] == "pmessage":
                events.append(m["channel"].decode().split(":", 1)[1])
        assert "restore" in events
    finally:
        p.close()
        r.config_set("notify-keyspace-events", "")


def test_restore_large_and_compressed_values(r):
    r.set("big", "abc" * 100000)
    r.rpush("bl", *["element-%d" % i for i in range(5000)])
    for key in ("big", "bl"):
        d = r.dump(key)
        r.restore(key + "2", 0, d)
        assert r.dump(key + "2") == d


def test_fuzzed_restore_never_crashes_nor_leaves_a_key(r):
    r.rpush("l", *range(30), "abc", "x" * 50)
    r.hset("h", mapping={"a": 1, "b": "hello", "c": "x" * 40})
    r.zadd("z", {"a": 1, "b": 2.5, "c": 3})
    r.sadd("s", 1, 2, 3, 100000)
    r.sadd("t", "a", "b", "c")
    r.set("str", "y" * 60)
    dumps = [r.dump(k) for k in ("l", "h", "z", "s", "t", "str")]
    r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1)
    rng = random.Random(1234)
    try:
        for i in range(400):
            d = bytearray(rng.choice(dumps))
            for _ in range(rng.randint(1, 4)):
                d[rng.randrange(len(d) - 10)] = rng.randrange(256)
            if rng.random() < 0.2:
                cut = rng.randrange(1, len(d) - 10)
                d = d[:cut] + d[-10:]
            key = "fz%d" % i
            try:
                r.restore(key, 0, bytes(d))
            except redis.ResponseError as e:
                assert str(e) in ("Bad data format",
                                  "DUMP payload version or checksum are wrong"), str(e)
                assert r.exists(key) == 0
                continue
            # accepted: the value must be complete and usable
            again = r.dump(key)
            assert r.restore(key + "x", 0, again) == b"OK"
            r.object("encoding", key)
            t = r.type(key)
            if t == b"list":
                r.lrange(key, 0, -1)
            elif t == b"hash":
                r.hgetall(key)
            elif t == b"zset":
                r.zrange(key, 0, -1, withscores=True)
            elif t == b"set":
                r.smembers(key)
        assert r.ping()
    finally:
        r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 0)


# ---------------------------------------------------------------------------
# MIGRATE
# ---------------------------------------------------------------------------
@pytest.fixture
def target(start_server):
    srv = start_server("omakase")
    c = srv.client()
    yield srv, c
    c.close()


def test_migrate_single_key_and_keys(r, target):
    srv, t = target
    r.set("a", "1")
    r.rpush("b", 1, 2, 3)
    r.set("c", "3", px=100000)
    assert r.migrate(srv.host, srv.port, "a", 0, 2000) == b"OK"
    assert r.exists("a") == 0 and t.get("a") == b"1"
    assert r.execute_command("MIGRATE", srv.host, srv.port, "", 3, 2000, "KEYS", "b", "c",
                             "missing") == b"OK"
    t.select(3)
    assert t.lrange("b", 0, -1) == [b"1", b"2", b"3"]
    assert 90000 < t.pttl("c") <= 100000
    assert r.exists("b", "c") == 0
    assert r.execute_command("MIGRATE", srv.host, srv.port, "missing", 0, 2000) == b"NOKEY"


def test_migrate_copy_replace_and_target_errors(r, target):
    srv, t = target
    r.set("k", "new")
    t.set("k", "old")
    assert err(r.execute_command, "MIGRATE", srv.host, srv.port, "k", 0, 2000) == \
        "Target instance replied with error: BUSYKEY Target key name already exists."
    assert r.get("k") == b"new"
    assert r.execute_command("MIGRATE", srv.host, srv.port, "k", 0, 2000, "COPY",
                             "REPLACE") == b"OK"
    assert r.get("k") == b"new" and t.get("k") == b"new"
    assert err(r.execute_command, "MIGRATE", srv.host, srv.port, "k", 0, 2000, "KEYS", "k") == \
        "When using MIGRATE KEYS option, the key argument must be set to the empty string"
    assert err(r.execute_command, "MIGRATE", srv.host, srv.port, "k", 0, 2000, "AUTH") == \
        "syntax error"
    assert err(r.execute_command, "MIGRATE", srv.host, srv.port, "k", "x", 2000) == \
        "value is not an integer or out of range"
    assert err(r.execute_command, "MIGRATE", srv.host, srv.port, "k", 0, 2000, "AUTH", "pw") \
        .startswith("Target instance replied with error:")


def test_migrate_auth(r, start_server):
    srv = start_server("omakase", requirepass="sekret")
    r.set("k", "v")
    assert r.execute_command("MIGRATE", srv.host, srv.port, "k", 0, 2000, "AUTH",
                             "sekret") == b"OK"
    assert srv.client(password="sekret").get("k") == b"v"
    r.set("k2", "v")
    assert r.execute_command("MIGRATE", srv.host, srv.port, "k2", 0, 2000, "AUTH2", "default",
                             "sekret") == b"OK"


def test_migrate_io_errors(r):
    from helpers import free_port
    r.set("k", "v")
    port = free_port()
    assert err(r.execute_command, "MIGRATE", "127.0.0.1", port, "k", 0, 200) == \
        "IOERR error or timeout writing to target instance"
    assert r.get("k") == b"v"
    assert err(r.execute_command, "MIGRATE", "no-such-host.invalid", port, "k", 0, 200) == \
        "IOERR error or timeout connecting to the client"


def test_migrate_propagates_del_in_process(oracle):
    """In-process server: MIGRATE to a real redis-server is propagated as
    DEL of the moved keys; RESTORE with a relative TTL as ABSTTL."""
    from omakase.config import Config
    from omakase.server import Server
    cfg = Config(chdir=False)
    cfg.save = []
    s = Server(cfg)
    ops = []
    s.propagation_targets.append(lambda batch: ops.extend(batch))
    c = FakeClient(s)
    o = oracle.client()
    o.flushall()

    def call(*args):
        s.call_from(c, argv_of(args))
        return c.take_reply()

    call("SET", "a", "1")
    call("SET", "b", "2")
    ops.clear()
    assert call("MIGRATE", oracle.host, oracle.port, "", 0, 2000, "KEYS", "a", "b",
                "zz") == b"+OK\r\n"
    assert ops == [(0, [b"DEL", b"a", b"b"])]
    assert o.mget("a", "b") == [b"1", b"2"]
    call("SET", "c", "3")
    ops.clear()
    assert call("MIGRATE", oracle.host, oracle.port, "c", 0, 2000, "COPY") == b"+OK\r\n"
    assert ops == []
    d = o.dump("a")
    ops.clear()
    before = int(time.time() * 1000)
    assert call("RESTORE", "r", 10000, d) == b"+OK\r\n"
    (dbid, argv), = ops
    assert argv[:2] == [b"RESTORE", b"r"] and argv[-1] == b"ABSTTL"
    assert before + 10000 <= int(argv[2]) <= int(time.time() * 1000) + 10000
    ops.clear()
    assert call("RESTORE", "r2", 0, d, "IDLETIME", 5) == b"+OK\r\n"
    assert ops == [(0, [b"RESTORE", b"r2", b"0", d, b"IDLETIME", b"5"])]
    ops.clear()
    assert call("RESTORE", "r2", 1, d, "REPLACE", "ABSTTL") == b"+OK\r\n"
    assert ops == [(0, [b"DEL", b"r2"])]
    o.flushall()
    o.close()
