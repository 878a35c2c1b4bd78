"""Streams in RDB against Debian's redis-server 7.0 and redis-check-rdb.

* The same commands give byte-identical DUMPs where no clock is involved, and
  equal ``XINFO STREAM FULL`` (times masked) where consumers and PELs are.
* redis-server's DUMP of every stream RESTOREs into omakase, which DUMPs it
  back byte for byte; omakase's DUMP RESTOREs into redis-server with equal
  ``XINFO STREAM FULL``, ``DEBUG DIGEST-VALUE`` and DUMP.
* An RDB file written by ``write_rdb`` passes ``redis-check-rdb`` and, loaded
  by a redis-server started on it, gives the same ``DEBUG DIGEST`` and the
  same streams; a redis-server SAVE loads into omakase with identical DUMPs.
* Type-15 payloads (Redis 5/6) restore to the same stream in both servers.
* Corrupt stream payloads (``DEBUG SET-SKIP-CHECKSUM-VALIDATION 1``) never
  crash omakase, never leave a key when refused, and never load a value the
  stream commands trip over; what redis-server refuses under
  ``sanitize-dump-payload yes``, omakase refuses too.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
import redis

from omakase.persistence import rdb

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS, "unit"))
sys.path.insert(0, TESTS)
from rawclient import RawClient  # noqa: E402
from test_rdb import Local  # noqa: E402
from test_rdb_stream import SCENARIOS, build, convert, with_footer  # noqa: E402

pytestmark = pytest.mark.differential

CLOCKED = {"groups"}        # scenarios whose bytes hold delivery and seen times
NAMES = sorted(SCENARIOS)


def run_on(client, name: str, key: str = "s") -> None:
    config, cmds = SCENARIOS[name]
    for k, v in config.items():
        client.config_set(k, v)
    try:
        for cmd in cmds:
            client.execute_command(*[key if a == "s" else a for a in cmd])
    finally:
        for k in config:
            client.config_set(k, 100)


def resp_text(reply: bytes):
    """The payload of a raw status, bulk or array-of-one-bulk RESP reply."""
    if reply.startswith(b"*1\r\n"):
        return [resp_text(reply[4:])]
    if reply.startswith(b"+"):
        return reply[1:-2]
    assert reply.startswith(b"$"), reply
    return reply.split(b"\r\n")[1]


def mask(x):
    """Replace millisecond wall-clock times (the only clocked values in
    XINFO STREAM FULL) by a marker."""
    if isinstance(x, dict):
        return {k: mask(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [mask(v) for v in x]
    if isinstance(x, int) and 10 ** 12 <= x < 10 ** 14:
        return "<time>"
    return x


def full(client, key):
    return client.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0)


def consumers_masked(client, key):
    out = []
    for g in client.execute_command("XINFO", "GROUPS", key):
        g = dict(g) if isinstance(g, dict) else dict(zip(g[::2], g[1::2]))
        name = g.get("name", g.get(b"name"))
        out.append((g, [{k: v for k, v in c.items() if k not in ("idle", b"idle")}
                        for c in client.xinfo_consumers(key, name)]))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_same_commands_same_stream(name, o, r):
    run_on(o, name)
    run_on(r, name)
    assert mask(full(r, "s")) == mask(full(o, "s"))
    assert consumers_masked(r, "s") == consumers_masked(o, "s")
    assert (r.execute_command("DEBUG", "DIGEST-VALUE", "s")
            == o.execute_command("DEBUG", "DIGEST-VALUE", "s"))
    if name not in CLOCKED:
        assert r.dump("s") == o.dump("s")


@pytest.mark.parametrize("name", NAMES)
def test_redis_dump_restores_byte_identically(name, o, r):
    run_on(o, name)
    theirs = o.dump("s")
    assert r.restore("s", 0, theirs) == b"OK"
    assert r.dump("s") == theirs
    assert full(r, "s") == full(o, "s")
    assert r.execute_command("DEBUG", "DIGEST") == o.execute_command("DEBUG", "DIGEST")


@pytest.mark.parametrize("name", NAMES)
def test_our_dump_restores_in_redis(name, o, r):
    run_on(r, name)
    ours = r.dump("s")
    assert o.restore("s", 0, ours) == b"OK"
    assert full(o, "s") == full(r, "s")
    assert o.dump("s") == ours
    assert o.execute_command("DEBUG", "DIGEST") == r.execute_command("DEBUG", "DIGEST")
    assert consumers_masked(o, "s") == consumers_masked(r, "s")


@pytest.mark.parametrize("name", ["groups", "nodes-and-deletions", "empty-mkstream",
                                  "trimmed-to-zero", "count-zero-node"])
def test_type_15_payload_same_in_both(name, o, r):
    run_on(o, name)
    old = with_footer(convert(o.dump("s"), 15))
    assert o.restore("old", 0, old) == b"OK"
    assert r.restore("old", 0, old) == b"OK"
    assert full(r, "old") == full(o, "old")
    assert r.dump("old") == o.dump("old")


def _stream_local() -> Local:
    local = Local()
    for i, name in enumerate(NAMES):
        build(local, name, key="k%d" % i)
    local.call("SET", "str", "not a stream")
    local.call("PEXPIREAT", "k1", 4102444800000)
    return local


def test_our_rdb_file_loads_in_redis(start_server, tmp_path, r):
    local = _stream_local()
    path = tmp_path / "streams.rdb"
    with open(path, "wb") as f:
        rdb.write_rdb(local.server, f)
    check = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout
    red = start_server("redis", dir=str(tmp_path), dbfilename="streams.rdb",
                       sanitize_dump_payload="yes")
    c = red.client()
    assert c.execute_command("DEBUG", "DIGEST") == resp_text(local.call("DEBUG", "DIGEST"))
    assert c.dbsize() == len(NAMES) + 1
    for i in range(len(NAMES)):
        key = "k%d" % i
        ours = rdb.dump_payload(local.value(key.encode()), local.server)
        assert c.dump(key) == ours, key
        assert (c.execute_command("DEBUG", "DIGEST-VALUE", key)
                == resp_text(local.call("DEBUG", "DIGEST-VALUE", key)))
        assert r.restore(key, 0, ours) == b"OK"           # the same stream in omakase
        assert mask(full(c, key)) == mask(full(r, key)), key
    assert 0 < c.pttl("k1")
    c.close()


def test_redis_rdb_file_loads_in_omakase(start_server):
    red = start_server("redis")
    c = red.client()
    for i, name in enumerate(NAMES):
        run_on(c, name, key="k%d" % i)
    c.set("str", "x")
    assert c.save()
    other = Local()
    with open(os.path.join(red.dir, "dump.rdb"), "rb") as f:
        stats = rdb.load_rdb(other.server, f)
    assert stats.keys_loaded == len(NAMES) + 1
    for i in range(len(NAMES)):
        key = b"k%d" % i
        assert rdb.dump_payload(other.value(key), other.server) == c.dump(key), key
    assert resp_text(other.call("DEBUG", "DIGEST")) == c.execute_command("DEBUG", "DIGEST")
    c.close()


def _mutate(value: bytes, rng: random.Random) -> bytes:
    """A few random byte changes in the value, then a footer whose CRC is
    zero (checksum validation is skipped)."""
    b = bytearray(value)
    for _ in range(rng.choice((1, 1, 2, 3))):
        i = rng.randrange(1, len(b))
        roll = rng.random()
        if roll < 0.45:
            b[i] ^= 1 << rng.randrange(8)
        elif roll < 0.9:
            b[i] = rng.randrange(256)
        else:
            del b[i]
    return bytes(b) + rdb.RDB_VERSION.to_bytes(2, "little") + b"\0" * 8


EXERCISE = [("XINFO", "STREAM", "{k}", "FULL"), ("XRANGE", "{k}", "-", "+"),
            ("XREVRANGE", "{k}", "+", "-"), ("XREAD", "STREAMS", "{k}", "0"),
            ("DEBUG", "DIGEST-VALUE", "{k}"), ("DUMP", "{k}"), ("XINFO", "GROUPS", "{k}"),
            ("XDEL", "{k}", "3-0", "5-0"), ("XADD", "{k}", "*", "f", "v"),
            ("XTRIM", "{k}", "MAXLEN", 2), ("XINFO", "STREAM", "{k}", "FULL")]
GROUP_EXERCISE = [("XINFO", "CONSUMERS", "{k}", "{g}"), ("XPENDING", "{k}", "{g}"),
                  ("XPENDING", "{k}", "{g}", "-", "+", 50),
                  ("XREADGROUP", "GROUP", "{g}", "x", "STREAMS", "{k}", ">"),
                  ("XAUTOCLAIM", "{k}", "{g}", "y", 0, "0-0"),
                  ("XCLAIM", "{k}", "{g}", "z", 0, "1-1", "2-2", "4-1"),
                  ("XACK", "{k}", "{g}", "1-1", "4-1")]


def _exercise(raw: RawClient, client, key: str) -> None:
    """Stream commands on a key restored from a corrupt payload: no internal
    error (raw replies, so no client-side parsing gets in the way)."""
    names = [g["name"] for g in client.xinfo_groups(key)]
    cmds = [[a.format(k=key, g=g.decode("latin-1")) if isinstance(a, str) else a for a in cmd]
            for g in names for cmd in GROUP_EXERCISE]
    cmds += [[a.format(k=key) if isinstance(a, str) else a for a in cmd] for cmd in EXERCISE]
    for args in cmds:
        reply = raw.call(*args)
        assert b"internal error" not in reply, (args, reply)


@pytest.mark.parametrize("name", ["groups", "nodes-and-deletions"])
def test_corrupt_payloads_in_both_servers(name, r, server, start_server):
    red = start_server("redis", sanitize_dump_payload="yes")
    c = red.client()
    run_on(c, name)
    body = c.dump("s")[:-10]
    c.delete("s")
    r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1)
    c.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1)
    rng = random.Random(name)
    accepted = 0
    raw = RawClient(server.host, server.port)
    try:
        for _ in range(200):
            payload = _mutate(body, rng)
            try:
                ours = r.restore("k", 0, payload, replace=True) == b"OK"
            except redis.ResponseError as exc:
                assert "Bad data format" in str(exc), exc
                ours = False
                assert r.exists("k") == 0
            if ours:
                accepted += 1
                _exercise(raw, r, "k")
            try:
                theirs = c.restore("k", 0, payload, replace=True) == b"OK"
            except redis.ResponseError:
                theirs = False
            except redis.ConnectionError:       # redis-server itself fell over
                break
            if not theirs:
                assert not ours, payload        # whatever Redis refuses, we refuse
            r.delete("k")
            c.delete("k")
        assert r.ping()
    finally:
        r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 0)
        raw.close()
    assert accepted < 200


def test_debug_reload_keeps_streams(r, o):
    """SAVE + load through the running omakase (snapshot.py) and Redis."""
    for c in (r, o):
        run_on(c, "groups")
        run_on(c, "tombstone-above-last-id", key="t")
    before = [(full(r, k), r.dump(k)) for k in ("s", "t")]
    assert r.execute_command("DEBUG", "RELOAD") == b"OK"
    assert [(full(r, k), r.dump(k)) for k in ("s", "t")] == before
    assert o.execute_command("DEBUG", "RELOAD") == b"OK"
    assert mask(full(o, "s")) == mask(before[0][0])
    assert o.dump("t") == before[1][1]
