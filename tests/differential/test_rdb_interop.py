"""RDB interoperability with Debian's redis-server 7.0 and redis-check-rdb.

* An RDB written in-process by ``write_rdb`` from a dataset holding every type
  and encoding passes ``redis-check-rdb`` and, loaded by a redis-server
  (``--dir``/``--dbfilename``), gives the same DEBUG DIGEST, encodings and
  DUMP payloads as a redis-server that ran the same commands.
* An RDB saved by redis-server (SAVE) is loaded by ``load_rdb`` and every
  value dumps to the same bytes as redis-server's DUMP (hash tables, whose
  order is their own, are compared by content), with the same TTLs.
* DUMP payloads cross in both directions through RESTORE, byte-identical
  where Redis is deterministic (everything but hash-table sets and hashes).
* Old encodings (ziplist, zipmap, quicklist v1, text scores) built by the
  unit test's encoders are accepted by redis-server under
  ``sanitize-dump-payload yes`` and restore to the same value in both.
"""
from __future__ import annotations

import io
import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omakase.persistence import rdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "unit"))
from test_rdb import Local, old_payloads  # noqa: E402

pytestmark = pytest.mark.differential

FAR = 4102444800000            # 2100-01-01, as an absolute ms expire
CONFIG = {"list-compress-depth": "1"}
_RNG = random.Random(42)
RANDOM_BYTES = _RNG.randbytes(200)

DATASET = [
    ("SET", "str:small", "hello"), ("SET", "str:int", "12345"), ("SET", "str:neg", "-99"),
    ("SET", "str:bigint", "123456789012345"), ("SET", "str:lzf", "abc" * 50),
    ("SET", "str:rand", RANDOM_BYTES), ("SET", "str:empty", ""),
    ("SET", "str:raw", "x"), ("APPEND", "str:raw", "y" * 60),
    ("SET", "str:ttl", "v"), ("PEXPIREAT", "str:ttl", FAR),
    ("SET", "12345", "an integer key"), ("SET", "k" * 40, "a compressible key"),
    ("RPUSH", "list:small", "a", "b", 1, 2, -3, 70000, 1 << 40, "x" * 70),
    ("RPUSH", "list:big", *["element-%d" % (i % 13) for i in range(3000)]),
    ("LPUSH", "list:big", *range(500)),
    ("RPUSH", "list:rand", *[_RNG.randbytes(_RNG.randrange(1, 300)) for _ in range(200)]),
    ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"),
    ("RPUSH", "list:plain", "a", "b" * 200, "c", "d" * 150),
    ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"),
    ("SADD", "set:int16", 1, 2, 3, -5), ("SADD", "set:int32", 1, 70000),
    ("SADD", "set:int64", 1, 1 << 40), ("SADD", "set:ht", "a", "b", "c"),
    ("SADD", "set:manyints", *range(600)),
    ("HSET", "hash:lp", "f", "v", "n", 12, "e", "", "big", 1 << 50),
    ("HSET", "hash:long", "f", "x" * 100), ("PEXPIREAT", "hash:long", FAR),
    ("HSET", "hash:many", *[x for i in range(600) for x in ("field%d" % i, i)]),
    ("ZADD", "zset:lp", 1, "a", 2.5, "b", "-inf", "c", "+inf", "d", 0.1, "e", 1e20, "f",
     -0.0, "g", 12345678, "h"),
    ("ZADD", "zset:long", 1, "m" * 100, 2, "n"),
    ("ZADD", "zset:many", *[x for i in range(300) for x in (i * 0.5, "member%d" % i)]),
    ("SELECT", 2), ("SET", "db2:key", "v"), ("HSET", "db2:h", "a", "b"),
    ("RPUSH", "db2:l", "x"), ("SELECT", 0),
]


def run(client, cmds) -> None:
    for cmd in cmds:
        client.execute_command(*cmd)


def keys_of(client) -> list[tuple[int, bytes]]:
    out = []
    for db in (0, 2):
        client.execute_command("SELECT", db)
        out += [(db, k) for k in sorted(client.keys("*"))]
    client.execute_command("SELECT", 0)
    return out


def abs_ttl(client, key) -> int:
    """The key's absolute expire time for RESTORE ... ABSTTL (0: none), so
    that DEBUG DIGEST-VALUE (which mixes in "has a TTL") compares."""
    return max(0, client.execute_command("PEXPIRETIME", key))


def is_hashtable(client, key) -> bool:
    return client.object("encoding", key) == b"hashtable"


@pytest.fixture
def source(start_server):
    """A private redis-server and an in-process omakase, same commands."""
    red = start_server("redis", **{k.replace("-", "_"): v for k, v in CONFIG.items()})
    c = red.client()
    run(c, DATASET)
    local = Local(**{k.replace("-", "_"): v for k, v in CONFIG.items()})
    for cmd in DATASET:
        reply = local.call(*cmd)
        assert not reply.startswith(b"-"), (cmd, reply)
    yield red, c, local
    c.close()


def test_our_rdb_loads_in_redis(source, start_server, tmp_path):
    red, c, local = source
    path = tmp_path / "ours.rdb"
    with open(path, "wb") as f:
        rdb.write_rdb(local.server, f, aux_extra={b"repl-stream-db": b"0"})
    check = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "RDB looks OK" in check.stdout
    loaded = start_server("redis", dir=str(tmp_path), dbfilename="ours.rdb",
                          **{k.replace("-", "_"): v for k, v in CONFIG.items()})
    lc = loaded.client()
    assert lc.execute_command("DEBUG", "DIGEST") == c.execute_command("DEBUG", "DIGEST")
    assert c.execute_command("DEBUG", "DIGEST") != b"0" * 40
    for db, key in keys_of(c):
        c.select(db)
        lc.select(db)
        assert lc.object("encoding", key) == c.object("encoding", key), key
        assert lc.pttl(key) // 10000 == c.pttl(key) // 10000, key
        if is_hashtable(c, key):
            assert (lc.execute_command("DEBUG", "DIGEST-VALUE", key)
                    == c.execute_command("DEBUG", "DIGEST-VALUE", key)), key
        else:
            assert lc.dump(key) == c.dump(key), key
    lc.close()


def test_redis_rdb_loads_in_omakase(source):
    red, c, local = source
    assert c.save()
    other = Local(**{k.replace("-", "_"): v for k, v in CONFIG.items()})
    with open(os.path.join(red.dir, "dump.rdb"), "rb") as f:
        stats = rdb.load_rdb(other.server, f)
    expected = keys_of(c)
    assert stats.keys_loaded == len(expected)
    assert stats.aux[b"redis-ver"] == b"7.0.15"
    for db, key in expected:
        c.select(db)
        value = other.value(key, db)
        assert value is not None, key
        assert rdb.saved_object_len(other.server, value) + 11 >= 0
        mine = rdb.dump_payload(value, other.server)
        if is_hashtable(c, key):
            other.call("SELECT", db)
            t = c.type(key)
            if t == b"set":
                assert sorted(value.members()) == sorted(c.smembers(key)), key
            else:
                assert dict(value.items()) == c.hgetall(key), key
            assert c.restore("copy-of-" + key.decode(), abs_ttl(c, key), mine,
                             absttl=True) == b"OK"
            assert (c.execute_command("DEBUG", "DIGEST-VALUE", "copy-of-" + key.decode())
                    == c.execute_command("DEBUG", "DIGEST-VALUE", key))
        else:
            assert mine == c.dump(key), key
        exp = other.server.dbs[db].get_expire(key)
        assert exp == c.execute_command("PEXPIRETIME", key), key
    c.select(0)


def test_dump_payloads_cross_both_ways(source, r):
    red, c, local = source
    r.config_set("list-compress-depth", 1)
    try:
        for db, key in keys_of(c):
            c.select(db)
            theirs = c.dump(key)
            assert r.restore(key, 0, theirs, replace=True) == b"OK"
            ours = r.dump(key)
            if not is_hashtable(c, key):
                assert ours == theirs, key
            assert r.object("encoding", key) == c.object("encoding", key)
            assert c.restore(b"back:" + key, abs_ttl(c, key), ours, absttl=True) == b"OK"
            assert (c.execute_command("DEBUG", "DIGEST-VALUE", b"back:" + key)
                    == c.execute_command("DEBUG", "DIGEST-VALUE", key)), key
    finally:
        r.config_set("list-compress-depth", 0)
        c.select(0)


@pytest.mark.parametrize("name", sorted(old_payloads()))
def test_old_encodings_match_redis(name, o, r):
    data, _ = old_payloads()[name]
    o.config_set("sanitize-dump-payload", "yes")
    try:
        assert o.restore("old", 0, data) == b"OK"
    finally:
        o.config_set("sanitize-dump-payload", "no")
    assert r.restore("old", 0, data) == b"OK"
    assert r.object("encoding", "old") == o.object("encoding", "old")
    if o.object("encoding", "old") == b"hashtable":
        assert o.restore("old2", 0, r.dump("old")) == b"OK"
        assert o.execute_command("DEBUG", "DIGEST-VALUE", "old2") == \
            o.execute_command("DEBUG", "DIGEST-VALUE", "old")
    else:
        assert r.dump("old") == o.dump("old")


def test_lru_idle_in_file_read_by_redis(start_server, tmp_path):
    local = Local(maxmemory_policy="allkeys-lru")
    local.call("SET", "a", "1")
    srv = local.server
    srv.dbs[0].keys.set(b"a", b"1" + ((srv.lru_clock - 500) & 0xFFFFFF).to_bytes(3, "little"))
    with open(tmp_path / "lru.rdb", "wb") as f:
        rdb.write_rdb(srv, f)
    red = start_server("redis", dir=str(tmp_path), dbfilename="lru.rdb",
                       maxmemory_policy="allkeys-lru")
    assert 499 <= red.client().object("idletime", "a") <= 503


HSETTINGS = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
ELEMS = st.one_of(st.binary(max_size=10), st.integers(-(1 << 63), (1 << 63) - 1).map(str),
                  st.sampled_from(["x" * 70, "0", "-1", "007"]))


@HSETTINGS
@given(st.sampled_from(["list", "set", "hash", "zset"]),
       st.lists(ELEMS, min_size=1, max_size=40), st.sampled_from([2, 16, 128]),
       st.sampled_from([(-2, 0), (4, 1), (-1, 2)]))
def test_random_values_dump_identically(o, r, kind, elems, entries, listcfg):
    fill, depth = listcfg
    names = {"hash-max-listpack-entries": entries, "zset-max-listpack-entries": entries,
             "set-max-intset-entries": entries, "list-max-listpack-size": fill,
             "list-compress-depth": depth}
    for c in (o, r):
        c.flushall()
        for k, v in names.items():
            c.config_set(k, v)
    try:
        if kind == "list":
            cmd = ("RPUSH", "k", *elems)
        elif kind == "set":
            cmd = ("SADD", "k", *elems)
        elif kind == "hash":
            cmd = ("HSET", "k", *[x for e in elems for x in (e, e)])
        else:
            cmd = ("ZADD", "k", *[x for i, e in enumerate(elems) for x in (i % 7 * 0.5, e)])
        for c in (o, r):
            c.execute_command(*cmd)
        assert r.object("encoding", "k") == o.object("encoding", "k")
        if o.object("encoding", "k") != b"hashtable":
            assert r.dump("k") == o.dump("k")
    finally:
        for c in (o, r):
            for k, v in (("hash-max-listpack-entries", 128), ("zset-max-listpack-entries", 128),
                         ("set-max-intset-entries", 512), ("list-max-listpack-size", -2),
                         ("list-compress-depth", 0)):
                c.config_set(k, v)


def test_redis_check_rdb_rejects_nothing_we_write_with_options(tmp_path):
    """No compression, no checksum, LFU policy: still a valid file."""
    local = Local(rdbcompression="no", maxmemory_policy="allkeys-lfu")
    local.server.config.rdbchecksum = False
    run_local = local.call
    run_local("SET", "a", "x" * 100)
    run_local("RPUSH", "l", *range(100))
    path = tmp_path / "plain.rdb"
    with open(path, "wb") as f:
        rdb.write_rdb(local.server, f)
    data = path.read_bytes()
    assert data[-8:] == b"\0" * 8 and b"\xf9" in data
    check = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout
    other = Local()
    assert rdb.load_rdb(other.server, io.BytesIO(data)).keys_loaded == 2
