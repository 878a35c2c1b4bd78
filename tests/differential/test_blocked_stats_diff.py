"""What the slowlog and the latency histograms record for a command that
blocks: the same as redis-server 7.0.15 (updateStatsOnUnblock).

A call that blocks counts in INFO commandstats' calls at once, but its
slowlog entry and latency-histogram sample are taken when it is served,
with its whole duration; a timeout (or WAIT) takes neither; CLIENT UNBLOCK
takes both, with an empty slowlog entry."""
from __future__ import annotations

import threading
import time

import pytest
import redis

pytestmark = pytest.mark.differential


def later(fn, delay: float = 0.2) -> threading.Thread:
    t = threading.Thread(target=lambda: (time.sleep(delay), fn()))
    t.start()
    return t


def slowlog_commands(c) -> list[list[bytes]]:
    """Newest first, without the SLOWLOG/LATENCY/CLIENT LIST reads."""
    out = []
    for entry in c.execute_command("SLOWLOG", "GET", 20):
        args = entry[3]
        if args[:1] in ([b"SLOWLOG"], [b"LATENCY"]) or args[:2] == [b"CLIENT", b"LIST"]:
            continue
        out.append(args)
    return out


def histogram_calls(c, name: str) -> int:
    reply = c.execute_command("LATENCY", "HISTOGRAM", name)
    return reply[1][1] if reply else 0


def blocked_client_id(c) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for info in c.client_list():
            if info["cmd"] == "blpop" and "b" in info["flags"]:
                return int(info["id"])
        time.sleep(0.01)
    raise AssertionError("no client blocked in BLPOP")


def scenario(port: int) -> list:
    c = redis.Redis(port=port, protocol=2)
    waiter = redis.Redis(port=port, protocol=2)
    other = redis.Redis(port=port, protocol=2)
    c.config_resetstat()
    c.slowlog_reset()
    c.config_set("slowlog-log-slower-than", 0)
    try:
        seen = []
        waiter.ping()
        # Times out: neither a slowlog entry nor a histogram sample.
        seen.append(waiter.blpop("none", 0.1))
        seen.append((slowlog_commands(c)[:1], histogram_calls(c, "blpop")))
        # Served after blocking: logged when served, after the RPUSH.
        t = later(lambda: other.rpush("q", "x"))
        seen.append(waiter.blpop("q", 0))
        t.join()
        seen.append((slowlog_commands(c)[:2], histogram_calls(c, "blpop")))
        # Served at once: an ordinary call.
        other.rpush("q", "y")
        seen.append(waiter.blpop("q", 0))
        seen.append((slowlog_commands(c)[:1], histogram_calls(c, "blpop")))
        # CLIENT UNBLOCK ... ERROR: an entry with no arguments, a sample.
        t = later(lambda: other.client_unblock(blocked_client_id(other), error=True))
        with pytest.raises(redis.ResponseError, match="UNBLOCKED"):
            waiter.blpop("never", 0)
        t.join()
        entries = slowlog_commands(c)
        seen.append((entries[0][:2], entries[1], histogram_calls(c, "blpop")))
        # A blocked XREAD and BZPOPMIN, served.
        t = later(lambda: other.xadd("s", {"f": "v"}, id="1-1"))
        seen.append(waiter.xread({"s": "$"}, block=0))
        t.join()
        t = later(lambda: other.zadd("z", {"m": 1}))
        seen.append(waiter.bzpopmin("z", 0))
        t.join()
        seen.append((slowlog_commands(c)[:4], histogram_calls(c, "xread"),
                     histogram_calls(c, "bzpopmin")))
        # WAIT that times out (no replicas): nothing recorded.
        seen.append(waiter.execute_command("WAIT", 1, 50))
        seen.append((slowlog_commands(c)[:1], histogram_calls(c, "wait")))
        stats = c.info("commandstats")
        seen.append({name: (stats[name]["calls"], stats[name]["failed_calls"])
                     for name in ("cmdstat_blpop", "cmdstat_xread", "cmdstat_bzpopmin",
                                  "cmdstat_wait")})
        return seen
    finally:
        c.config_set("slowlog-log-slower-than", 10000)
        for x in (c, waiter, other):
            x.close()


def test_blocked_command_statistics_match(r, o, server, oracle):
    ours = scenario(server.port)
    theirs = scenario(oracle.port)
    assert ours == theirs
    # and what it says, spelled out once
    assert ours[1][1] == 0 and ours[1][0][0][0] != b"BLPOP"   # the timeout left nothing
    assert ours[3] == ([[b"BLPOP", b"q", b"0"], [b"RPUSH", b"q", b"x"]], 1)
    assert ours[6][1] == []             # CLIENT UNBLOCK's entry has no arguments
