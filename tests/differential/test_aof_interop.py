"""AOF interoperability with Debian's redis-server 7.0.

* the same commands produce byte-identical INCR files in both servers;
* an AOF directory (manifest + base + incr) written by redis-server loads
  in omakase with the same data, and the other way round, with an RDB base
  (``aof-use-rdb-preamble yes``) and with a RESP base (``no``).

Each test runs its own servers in ``tmp_path``.
"""
from __future__ import annotations

import os
import shutil
import sys

import pytest
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import (ServerProcess, aof_preambles, dataset, digest,  # noqa: E402
                     redis_server_available, wait_for)
from rawclient import RawClient  # noqa: E402

pytestmark = [pytest.mark.differential,
              pytest.mark.skipif(not redis_server_available(), reason="no redis-server")]

PREAMBLES = aof_preambles()
INCR = os.path.join("appendonlydir", "appendonly.aof.1.incr.aof")
FAR = 4_102_444_800      # 2100-01-01, in seconds


def rewrite(srv) -> None:
    c = RawClient(srv.host, srv.port)
    assert c.call("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"
    c.close()
    r = srv.client()

    def done():
        i = r.info("persistence")
        return i["aof_rewrite_in_progress"] == 0 and i["aof_rewrites"] >= 1
    assert wait_for(done)
    r.close()


def populate(r, tag: str) -> None:
    p = r.pipeline(transaction=False)
    p.set(f"str{tag}", "hello")
    p.set(f"int{tag}", 42)
    p.set(f"bin{tag}", b"\x00\xff\r\n" * 20)
    p.append(f"raw{tag}", "abc")
    p.append(f"raw{tag}", "def")
    p.rpush(f"list{tag}", *range(20))
    p.rpush(f"biglist{tag}", *[f"item-{i}" * 3 for i in range(300)])
    p.sadd(f"iset{tag}", *range(50))
    p.sadd(f"set{tag}", *[f"m{i}" for i in range(200)])
    p.hset(f"hash{tag}", mapping={"a": "1", "b": "2"})
    p.hset(f"bighash{tag}", mapping={f"f{i}": f"v{i}" for i in range(200)})
    p.zadd(f"zset{tag}", {"a": 1.5, "b": -2, "c": 1e100})
    p.zadd(f"bigzset{tag}", {f"z{i}": i / 3 for i in range(200)})
    p.set(f"ttl{tag}", "v", exat=FAR)
    p.expireat(f"list{tag}", FAR + 1)
    p.execute()
    tx = r.pipeline(transaction=True)
    tx.incr(f"ctr{tag}")
    tx.lpop(f"biglist{tag}")
    tx.execute()
    kw = r.connection_pool.connection_kwargs
    r3 = redis.Redis(host=kw["host"], port=kw["port"], db=5, protocol=2)
    r3.set(f"db5{tag}", "x")
    r3.close()


def write_aof_dir(kind: str, path: str, preamble: str):
    """Populate, rewrite, write more, stop: a base and an incr with data."""
    srv = ServerProcess(kind, dir=path, appendonly=True, aof_use_rdb_preamble=preamble)
    try:
        r = srv.client()
        populate(r, "-a")
        rewrite(srv)
        populate(r, "-b")
        r.delete("str-a")
        r.close()
        return dataset(srv), digest(srv)
    finally:
        srv.stop()


def load_aof_dir(kind: str, path: str, preamble: str):
    srv = ServerProcess(kind, dir=path, appendonly=True, aof_use_rdb_preamble=preamble)
    try:
        return dataset(srv), digest(srv), srv.log_text()
    finally:
        srv.stop()


@pytest.mark.parametrize("preamble", PREAMBLES)
def test_redis_aof_dir_loads_in_omakase(tmp_path, preamble):
    src, dst = str(tmp_path / "redis"), str(tmp_path / "omakase")
    os.makedirs(src)
    os.makedirs(dst)
    data, dig = write_aof_dir("redis", src, preamble)
    shutil.copytree(os.path.join(src, "appendonlydir"), os.path.join(dst, "appendonlydir"))
    got, got_dig, log = load_aof_dir("omakase", dst, preamble)
    assert got == data
    if got_dig is not None:
        assert got_dig == dig
    assert "DB loaded from incr file appendonly.aof.2.incr.aof" in log


@pytest.mark.parametrize("preamble", PREAMBLES)
def test_omakase_aof_dir_loads_in_redis(tmp_path, preamble):
    src, dst = str(tmp_path / "omakase"), str(tmp_path / "redis")
    os.makedirs(src)
    os.makedirs(dst)
    data, dig = write_aof_dir("omakase", src, preamble)
    shutil.copytree(os.path.join(src, "appendonlydir"), os.path.join(dst, "appendonlydir"))
    got, got_dig, log = load_aof_dir("redis", dst, preamble)
    assert got == data
    if dig is not None:
        assert got_dig == dig
    assert "DB loaded from incr file appendonly.aof.2.incr.aof" in log


# The same commands, sent as the same bytes, must be logged identically:
# the command as sent, or the deterministic form Redis propagates.
SCRIPT = [
    ("SET", "s", "v"),
    ("set", "lower", "case"),
    ("SET", "e1", "v", "EXAT", str(FAR)),
    ("SET", "e2", "v", "PXAT", str(FAR * 1000)),
    ("EXPIREAT", "s", str(FAR)),
    ("PEXPIREAT", "lower", str(FAR * 1000 + 5)),
    ("GETEX", "s", "EXAT", str(FAR + 10)),
    ("GETEX", "s", "PERSIST"),
    ("SET", "g", "1", "GET"),
    ("SETNX", "g", "2"),
    ("INCR", "n"), ("INCRBY", "n", "5"), ("DECR", "n"),
    ("INCRBYFLOAT", "f", "1.5"),
    ("APPEND", "s", "x"), ("SETRANGE", "s", "3", "yy"),
    ("GETDEL", "g"),
    ("MSET", "m1", "1", "m2", "2"),
    ("RPUSH", "l", "a", "b", "c", "d"), ("LPUSH", "l", "z"),
    ("LPOP", "l"), ("RPOP", "l", "2"), ("LSET", "l", "0", "q"), ("LINSERT", "l", "BEFORE", "q", "p"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("RPOPLPUSH", "l", "l2"),
    ("BLPOP", "l2", "0"),
    ("HSET", "h", "a", "1", "b", "2"), ("HINCRBY", "h", "a", "3"), ("HINCRBYFLOAT", "h", "c", "2.5"),
    ("HDEL", "h", "b"), ("HSETNX", "h", "d", "x"),
    ("SADD", "st", "1", "2", "3"), ("SREM", "st", "2"), ("SMOVE", "st", "st2", "1"),
    ("SPOP", "st2", "5"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZINCRBY", "z", "2.5", "a"), ("ZREM", "z", "b"),
    ("ZPOPMIN", "z"), ("ZADD", "z", "NX", "5", "d"),
    ("MULTI",), ("SET", "t1", "1"), ("INCR", "t1"), ("DEL", "s"), ("EXEC",),
    ("MULTI",), ("GET", "t1"), ("EXEC",),
    ("SELECT", "3"), ("SET", "in3", "x"), ("RENAME", "in3", "in3b"), ("SELECT", "0"),
    ("SET", "back", "0"),
    ("DEL", "nothing"),
    ("EXPIRE", "m1", "-1"),
    ("PERSIST", "e1"),
    ("COPY", "m2", "m3"),
    ("FLUSHDB",),
    ("SET", "last", "1"),
]


def test_incr_file_bytes_match_redis(tmp_path):
    files = {}
    for kind in ("redis", "omakase"):
        d = str(tmp_path / kind)
        os.makedirs(d)
        srv = ServerProcess(kind, dir=d, appendonly=True, aof_use_rdb_preamble="no")
        try:
            c = RawClient(srv.host, srv.port)
            for args in SCRIPT:
                c.call(*args)
            c.close()
        finally:
            srv.stop()
        with open(os.path.join(d, INCR), "rb") as f:
            files[kind] = f.read()
    ours = files["omakase"].split(b"\r\n")
    theirs = files["redis"].split(b"\r\n")
    assert ours == theirs
