"""HyperLogLog commands through redis-py: PFADD, PFCOUNT, PFMERGE, PFDEBUG,
PFSELFTEST, the string format, caching, errors, notifications, WATCH and the
estimator's accuracy.  (Byte-for-byte comparison with redis-server is in
tests/differential/test_hll_diff.py.)"""
from __future__ import annotations

import math
import time

import pytest
import redis

NOT_HLL = "Key is not a valid HyperLogLog string value."
EMPTY = b"HYLL\x01\x00\x00\x00" + bytes(8) + b"\x7f\xff"


def add_many(r, key, items, batch=2000):
    p = r.pipeline(transaction=False)
    for i in range(0, len(items), batch):
        p.pfadd(key, *items[i:i + batch])
    return p.execute()


def test_pfadd_creates_a_sparse_string(r):
    assert r.pfadd("h", "a", "b", "c") == 1
    assert r.type("h") == b"string"
    v = r.get("h")
    assert v[:5] == b"HYLL\x01" and v[15] & 0x80        # sparse, cache stale
    assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"sparse"
    assert r.pfadd("h", "a", "b") == 0
    assert r.pfadd("h", "d") == 1
    assert r.object("encoding", "h") == b"raw"


def test_pfadd_without_elements(r):
    assert r.execute_command("PFADD", "e") == 1
    assert r.get("e") == EMPTY[:15] + b"\x80" + EMPTY[16:]
    assert r.execute_command("PFADD", "e") == 0
    assert r.pfcount("e") == 0


def test_pfcount_single_key_caches_the_cardinality(r):
    assert r.pfcount("missing") == 0
    r.pfadd("h", *[f"e{i}" for i in range(100)])
    n = r.pfcount("h")
    assert 95 <= n <= 105
    v = r.get("h")
    assert v[15] & 0x80 == 0 and int.from_bytes(v[8:16], "little") == n
    assert r.pfcount("h") == n
    r.pfadd("h", "new-one")
    assert r.get("h")[15] & 0x80


def test_pfcount_uses_a_valid_cached_value_as_is(r):
    r.set("h", EMPTY[:8] + (1234).to_bytes(8, "little") + EMPTY[16:])
    assert r.pfcount("h") == 1234                     # trusted, not recomputed
    r.set("h", EMPTY[:15] + b"\x80" + EMPTY[16:])
    assert r.pfcount("h") == 0


def test_pfcount_of_several_keys_is_the_union_and_changes_nothing(r):
    r.pfadd("a", *[f"x{i}" for i in range(500)])
    r.pfadd("b", *[f"x{i}" for i in range(250, 750)])
    before = (r.get("a"), r.get("b"))
    n = r.pfcount("a", "b", "missing")
    assert 730 <= n <= 770
    assert (r.get("a"), r.get("b")) == before
    assert not r.exists("missing")


def test_pfmerge(r):
    r.pfadd("a", *[f"x{i}" for i in range(300)])
    r.pfadd("b", *[f"x{i}" for i in range(200, 400)])
    assert r.pfmerge("d", "a", "b") is True
    assert r.pfcount("d") == r.pfcount("a", "b")
    assert r.get("d")[15] == 0                        # PFCOUNT refreshed it
    assert r.pfmerge("a", "b") is True                # destination is a source too
    assert r.pfcount("a") == r.pfcount("d")
    assert r.pfmerge("empty") is True
    assert r.pfcount("empty") == 0
    assert r.execute_command("PFDEBUG", "ENCODING", "empty") == b"sparse"


def test_pfmerge_with_a_dense_source_makes_a_dense_destination(r):
    add_many(r, "big", [f"y{i}" for i in range(3000)])
    r.pfadd("small", "a")
    assert r.execute_command("PFDEBUG", "ENCODING", "big") == b"dense"
    r.pfmerge("small", "big")
    assert r.execute_command("PFDEBUG", "ENCODING", "small") == b"dense"
    assert len(r.get("small")) == 12304
    assert r.pfcount("small") == r.pfcount("big", "small")


def test_promotion_follows_hll_sparse_max_bytes(r):
    try:
        r.config_set("hll-sparse-max-bytes", 100)
        r.pfadd("h", *[f"z{i}" for i in range(20)])
        assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"sparse"
        assert len(r.get("h")) <= 100
        r.pfadd("h", *[f"z{i}" for i in range(20, 80)])
        assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"dense"
        r.config_set("hll-sparse-max-bytes", 0)
        r.pfadd("h0", "one")
        assert r.execute_command("PFDEBUG", "ENCODING", "h0") == b"dense"
    finally:
        r.config_set("hll-sparse-max-bytes", 3000)


def test_pfdebug(r):
    r.pfadd("h", "a", "b", "c")
    decoded = r.execute_command("PFDEBUG", "DECODE", "h")
    assert decoded.count(b"v:") == 3 and decoded.startswith((b"Z:", b"z:", b"v:"))
    total = 0
    for op in decoded.split():
        if op[:1] in (b"z", b"Z"):
            total += int(op[2:])
        else:
            total += int(op[2:].split(b",")[1])
    assert total == 16384
    regs = r.execute_command("PFDEBUG", "GETREG", "h")         # converts to dense
    assert len(regs) == 16384 and sum(1 for x in regs if x) == 3
    assert r.execute_command("PFDEBUG", "ENCODING", "h") == b"dense"
    assert r.execute_command("PFDEBUG", "TODENSE", "h") == 0
    r.pfadd("s", "x")
    assert r.execute_command("PFDEBUG", "TODENSE", "s") == 1
    with pytest.raises(redis.ResponseError, match="HLL encoding is not sparse"):
        r.execute_command("PFDEBUG", "DECODE", "h")
    with pytest.raises(redis.ResponseError, match="Unknown PFDEBUG subcommand 'nope'"):
        r.execute_command("PFDEBUG", "nope", "h")
    with pytest.raises(redis.ResponseError, match="The specified key does not exist"):
        r.execute_command("PFDEBUG", "GETREG", "missing")


def test_getreg_matches_the_dense_bytes(r):
    add_many(r, "h", [f"w{i}" for i in range(5000)])
    regs = r.execute_command("PFDEBUG", "GETREG", "h")
    raw = int.from_bytes(r.get("h")[16:], "little")
    assert regs == [(raw >> (6 * i)) & 63 for i in range(16384)]


def test_errors(r):
    r.rpush("l", "a")
    r.set("s", "plain string value, not an HLL")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE Operation against a key"):
        r.pfadd("l", "x")
    for cmd in (("PFADD", "s", "x"), ("PFCOUNT", "s"), ("PFCOUNT", "s", "l"),
                ("PFMERGE", "d", "s"), ("PFDEBUG", "GETREG", "s")):
        with pytest.raises(redis.ResponseError, match=NOT_HLL):
            r.execute_command(*cmd)
    assert not r.exists("d")
    r.set("c", b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80" + b"\x7f\xfe")   # 16383 registers
    with pytest.raises(redis.ResponseError, match="Corrupted HLL object detected"):
        r.pfcount("c")
    with pytest.raises(redis.ResponseError, match="Corrupted HLL object detected"):
        r.pfmerge("d", "c")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("PFADD")


def test_raw_error_codes(server):
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from rawclient import RawClient
    c = RawClient(server.host, server.port)
    try:
        c.call("SET", "s", "12345678901234567890")
        assert c.call("PFCOUNT", "s") == b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
        c.call("SET", "c", b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80")
        assert c.call("PFCOUNT", "c") == b"-INVALIDOBJ Corrupted HLL object detected\r\n"
        assert c.call("DEL", "s", "c") == b":2\r\n"
    finally:
        c.close()


def test_pfselftest(r):
    assert r.execute_command("PFSELFTEST") == b"OK"


def test_notifications(r, server):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        ps = server.client(protocol=2).pubsub()
        ps.psubscribe("__keyevent@0__:*")
        ps.get_message(timeout=1)
        r.pfadd("h", "a")
        r.pfadd("h", "a")          # no change: no event
        r.pfcount("h")             # never an event
        r.pfmerge("m", "h")
        events = []
        deadline = time.time() + 2
        while len(events) < 2 and time.time() < deadline:
            msg = ps.get_message(timeout=0.2)
            if msg and msg["type"] == "pmessage":
                events.append((msg["channel"], msg["data"]))
        assert events == [(b"__keyevent@0__:pfadd", b"h"), (b"__keyevent@0__:pfadd", b"m")]
        assert ps.get_message(timeout=0.2) is None
        ps.close()
    finally:
        r.config_set("notify-keyspace-events", "")


def test_pfcount_that_refreshes_the_cache_touches_watched_keys(r, server):
    r.pfadd("h", "a", "b")
    c = server.client(protocol=2)
    with c.pipeline() as p:
        p.watch("h")
        r.pfcount("h")                         # stale cache: rewritten, key modified
        p.multi()
        p.get("h")
        with pytest.raises(redis.WatchError):
            p.execute()
    with c.pipeline() as p:
        p.watch("h")
        r.pfcount("h")                         # valid cache: untouched
        p.multi()
        p.get("h")
        assert p.execute()[0] == r.get("h")
    c.close()


def test_oracle_made_bytes_count_the_same(r):
    """The example of hyperloglog.c: registers 1000,1020,1021 = 2,3,3."""
    blob = (b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80"
            + bytes((0x40 | (999 >> 8), 999 & 0xff))        # XZERO:1000
            + bytes((0x80 | (1 << 2) | 0,))                  # VAL:2,1
            + bytes((18,))                                   # ZERO:19
            + bytes((0x80 | (2 << 2) | 1,))                  # VAL:3,2
            + bytes((0x40 | (15361 >> 8), 15361 & 0xff)))    # XZERO:15362
    r.set("x", blob)
    assert r.execute_command("PFDEBUG", "DECODE", "x") == b"Z:1000 v:2,1 z:19 v:3,2 Z:15362"
    assert r.pfcount("x") == 3
    regs = r.execute_command("PFDEBUG", "GETREG", "x")
    assert (regs[1000], regs[1020], regs[1021]) == (2, 3, 3) and sum(regs) == 8


def test_standard_error(r):
    """~0.81% standard error: one 100k set within 3 sigma, and the RMS error
    of six 10k sets close to it."""
    n = 100000
    add_many(r, "big", [b"big:%d" % i for i in range(n)], batch=5000)
    est = r.pfcount("big")
    assert abs(est - n) / n < 3 * 0.0081
    errs = []
    for k in range(6):
        m = 10000
        add_many(r, f"s{k}", [b"s%d:%d" % (k, i) for i in range(m)], batch=5000)
        errs.append((r.pfcount(f"s{k}") - m) / m)
    rms = math.sqrt(sum(e * e for e in errs) / len(errs))
    assert rms < 2 * 0.0081
    assert r.pfcount(*[f"s{k}" for k in range(6)]) == pytest.approx(60000, rel=0.03)
