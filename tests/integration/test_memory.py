"""Memory accounting and the MEMORY command (omakase.memory, memory_cmds):
reply shapes and errors against Redis 7.0, MEMORY USAGE estimates per type
and SAMPLES, INFO memory / MEMORY STATS fields, and used_memory against the
process RSS for 200k keys of mixed types."""
from __future__ import annotations

import socket
import time

import hiredis
import pytest
import redis


def used(c) -> int:
    return int(c.info("memory")["used_memory"])


def blast(port: int, commands, batch: int = 2000) -> None:
    """Send commands in pipelined batches over a raw socket (redis-py's
    pipeline costs more client CPU than the server spends)."""
    sock = socket.create_connection(("127.0.0.1", port))
    reader = hiredis.Reader()
    try:
        for i in range(0, len(commands), batch):
            chunk = commands[i:i + batch]
            sock.sendall(b"".join(hiredis.pack_command(tuple(cmd)) for cmd in chunk))
            got = 0
            while got < len(chunk):
                data = sock.recv(1 << 16)
                assert data
                reader.feed(data)
                while True:
                    rep = reader.gets()
                    if rep is False:
                        break
                    assert not isinstance(rep, hiredis.ReplyError), rep
                    got += 1
    finally:
        sock.close()


def test_memory_help_matches_redis(r, oracle):
    o = oracle.client()
    try:
        assert r.execute_command("MEMORY", "HELP") == o.execute_command("MEMORY", "HELP")
    finally:
        o.close()


@pytest.mark.parametrize("args", [
    ("nokey",), ("nokey", "SAMPLES"), ("nokey", "SAMPLES", "-1"), ("nokey", "SAMPLES", "x"),
    ("nokey", "foo", "1"), ("nokey", "samples", "0"), ("nokey", "SAMPLES", "5", "SAMPLES"),
])
def test_memory_usage_errors_match_redis(r, oracle, args):
    o = oracle.client()

    def run(c):
        try:
            return ("ok", c.execute_command("MEMORY", "USAGE", *args))
        except redis.exceptions.ResponseError as e:
            return ("err", str(e))
    try:
        assert run(r) == run(o)
    finally:
        o.close()


def test_memory_subcommand_errors_match_redis(r, oracle):
    o = oracle.client()
    try:
        for args in (("FOO",), ("STATS", "x"), ("DOCTOR", "x"), ("PURGE", "x")):
            errs = []
            for c in (r, o):
                with pytest.raises(redis.exceptions.ResponseError) as e:
                    c.execute_command("MEMORY", *args)
                errs.append(str(e.value))
            assert errs[0] == errs[1]
    finally:
        o.close()


def test_memory_usage_strings(r):
    r.set("small", "x")
    r.set("big", "x" * 10000)
    small = r.memory_usage("small")
    big = r.memory_usage("big")
    assert 40 < small < 300
    assert 10000 < big < 10400
    r.expire("big", 100)
    assert r.memory_usage("big") > big           # the expires entry
    r.append("small", "y" * 100)                  # raw (bytearray) form
    assert r.memory_usage("small") > small


def test_memory_usage_collections_and_samples(r):
    r.sadd("iset", *range(100))                    # intset
    r.sadd("hset", *[f"m{i}" for i in range(1000)])
    r.hset("hsmall", mapping={"a": "1"})
    r.hset("hbig", mapping={f"f{i}": "v" * 20 for i in range(1000)})
    r.zadd("zsmall", {"a": 1})
    r.zadd("zbig", {f"m{i}": i for i in range(1000)})
    r.rpush("list", *[f"e{i}" for i in range(5000)])
    for i in range(300):
        r.xadd("stream", {"f": i})
    r.xgroup_create("stream", "g", id="0")
    r.xreadgroup("g", "c", {"stream": ">"}, count=10)
    for k in ("iset", "hset", "hsmall", "hbig", "zsmall", "zbig", "list", "stream"):
        u = r.memory_usage(k)
        assert isinstance(u, int) and u > 0, k
    assert r.memory_usage("hbig") > r.memory_usage("hsmall") * 20
    assert r.memory_usage("zbig") > r.memory_usage("zsmall") * 20
    assert r.memory_usage("hset") > r.memory_usage("iset")
    # uniform members: sampling 5 or all gives about the same estimate
    for k in ("hset", "hbig", "zbig", "list"):
        five = r.memory_usage(k)
        every = r.memory_usage(k, samples=0)
        assert abs(five - every) < 0.2 * every, k


def test_memory_usage_no_touch(r):
    r.set("k", "v")
    r.config_set("maxmemory-policy", "allkeys-lru")
    try:
        r.execute_command("DEBUG", "SLEEP", "0")
        before = r.object("idletime", "k")
        r.memory_usage("k")
        assert r.object("idletime", "k") >= before
    finally:
        r.config_set("maxmemory-policy", "noeviction")


def test_memory_stats_fields_match_redis(r, oracle):
    o = oracle.client()
    try:
        for c in (r, o):
            c.flushall()
            c.set("a", "b")
            c.set("e", "f", ex=100)
        ours = r.execute_command("MEMORY", "STATS")
        theirs = o.execute_command("MEMORY", "STATS")
        ours_keys = ours[0::2]
        assert ours_keys == theirs[0::2]
        stats = dict(zip(ours[0::2], ours[1::2]))
        db0 = dict(zip(stats[b"db.0"][0::2], stats[b"db.0"][1::2]))
        assert list(db0) == list(dict(zip(theirs[0::2], theirs[1::2]))[b"db.0"][0::2])
        assert db0[b"overhead.hashtable.expires"] > 0
        assert stats[b"keys.count"] == 2
        assert stats[b"total.allocated"] >= stats[b"startup.allocated"]
        assert stats[b"peak.allocated"] >= stats[b"total.allocated"]
        assert float(stats[b"fragmentation"]) > 0
        o.flushall()
    finally:
        o.close()


def test_info_memory_fields_match_redis(r, oracle):
    o = oracle.client()
    try:
        assert list(r.info("memory")) == list(o.info("memory"))
        info = r.info("memory")
        assert info["used_memory_peak"] >= info["used_memory"] > info["used_memory_startup"] > 0
        assert info["used_memory_rss"] > 0
        assert info["used_memory_human"].endswith(("K", "M", "G", "B"))
        ratio = info["used_memory_rss"] / info["used_memory"]
        assert abs(info["mem_fragmentation_ratio"] - ratio) < 0.05
        assert info["lazyfree_pending_objects"] == 0
        assert info["mem_allocator"] == "pymalloc+libc"
    finally:
        o.close()


def test_doctor_malloc_stats_purge(r, r3):
    doc = r.execute_command("MEMORY", "DOCTOR")
    assert doc.startswith((b"Hi Sam", b"Sam, I detected"))
    assert r3.execute_command("MEMORY", "DOCTOR")            # verbatim in RESP3
    stats = r.execute_command("MEMORY", "MALLOC-STATS")
    assert b"mallinfo2" in stats
    assert r.execute_command("MEMORY", "PURGE") == b"OK"


def test_used_memory_follows_data_and_rss(start_server):
    """200k keys of mixed types: used_memory grows with the process RSS
    (within 20%), and falls back near startup after FLUSHALL while RSS
    keeps the freed pages (Redis's fragmentation picture)."""
    srv = start_server()
    c = srv.client()
    try:
        time.sleep(0.2)
        u0 = used(c)
        rss0 = int(c.info("memory")["used_memory_rss"])
        c.execute_command("DEBUG", "POPULATE", 150000, "s", 24)
        cmds: list = []
        for i in range(50000):
            kind = i % 4
            if kind == 0:
                cmds.append(("HSET", f"h:{i}", "a", i, "b", "x" * 10))
            elif kind == 1:
                cmds.append(("SADD", f"set:{i}", i, i + 1, i + 2))
            elif kind == 2:
                cmds.append(("RPUSH", f"l:{i}", "a", "b", i))
            else:
                cmds.append(("ZADD", f"z:{i}", 1, "m1", i, "m2"))
        blast(srv.port, cmds)
        assert c.dbsize() == 200000
        info = c.info("memory")
        du = int(info["used_memory"]) - u0
        drss = int(info["used_memory_rss"]) - rss0
        assert du > 200000 * 100
        assert abs(du - drss) < 0.2 * drss, (du, drss)
        assert info["used_memory_dataset"] > 0.7 * du    # the rest: table entries
        # a sample estimate: MEMORY USAGE of one key of each kind, scaled
        c.flushall()
        time.sleep(0.1)
        after = used(c)
        assert after - u0 < 0.1 * du
        assert int(c.info("memory")["used_memory_peak"]) >= u0 + du
    finally:
        c.close()
