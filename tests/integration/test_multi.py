"""MULTI/EXEC/DISCARD/WATCH/UNWATCH, compared byte for byte with redis-server."""
from __future__ import annotations

import pytest
import redis

from rawclient import RawClient

SEQUENCES = [
    [("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"), ("EXEC",)],
    [("MULTI",), ("MULTI",), ("EXEC",)],
    [("EXEC",), ("DISCARD",)],
    [("MULTI",), ("SET", "a"), ("SET", "a", "1"), ("EXEC",), ("GET", "a")],
    [("MULTI",), ("NOSUCH",), ("EXEC",)],
    [("MULTI",), ("SET", "a", "x"), ("INCR", "a"), ("SET", "b", "2"), ("EXEC",), ("MGET", "a", "b")],
    [("MULTI",), ("WATCH", "a"), ("DISCARD",)],
    [("SET", "w", "1"), ("WATCH", "w"), ("SET", "w", "2"), ("MULTI",), ("GET", "w"), ("EXEC",)],
    [("WATCH", "w"), ("UNWATCH",), ("SET", "w", "2"), ("MULTI",), ("GET", "w"), ("EXEC",)],
    [("MULTI",), ("EXEC",)],
    [("MULTI",), ("PING",), ("DISCARD",), ("PING",)],
]


@pytest.mark.parametrize("seq", SEQUENCES)
@pytest.mark.parametrize("proto", ["2", "3"])
def test_transactions_match_redis(server, oracle, seq, proto):
    outs = []
    for srv in (server, oracle):
        c = RawClient(srv.host, srv.port)
        c.call("FLUSHALL")
        c.call("HELLO", proto)
        outs.append([c.call(*cmd) for cmd in seq])
        c.close()
    assert outs[0] == outs[1]


def test_watch_fails_on_change_from_other_client(r, server):
    other = server.client()
    r.set("k", "1")
    with r.pipeline() as p:
        p.watch("k")
        other.set("k", "2")
        p.multi()
        p.get("k")
        with pytest.raises(redis.WatchError):
            p.execute()


def test_watch_fails_on_expiry_and_flush(r):
    r.set("k", "1", px=50)
    with r.pipeline() as p:
        p.watch("k")
        import time
        time.sleep(0.1)
        assert r.get("k") is None      # lazily expired -> watched key touched
        p.multi()
        p.set("x", 1)
        with pytest.raises(redis.WatchError):
            p.execute()
    r.set("k", "1")
    with r.pipeline() as p:
        p.watch("k")
        r.flushdb()
        p.multi()
        p.set("x", 1)
        with pytest.raises(redis.WatchError):
            p.execute()


def test_exec_runs_through_call_path(r):
    before = r.info("commandstats").get("cmdstat_incrby", {}).get("calls", 0)
    with r.pipeline() as p:
        p.incr("n")
        p.incr("n")
        assert p.execute() == [1, 2]
    assert r.info("commandstats")["cmdstat_incrby"]["calls"] == before + 2
