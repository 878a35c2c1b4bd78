"""Diskless full sync, the master's side (``repl-diskless-sync yes``): the
forked child writes the RDB into a pipe and the master relays it to every
replica socket (see "Diskless relay" in ``omakase.replication``).

The replicas are a Debian redis-server 7.0 and, where it matters, an omakase
replica; tests parametrized with ``kind`` run the same scenario with
redis-server as the master, so the log lines asserted are Redis's own.
"""
from __future__ import annotations

import os
import re
import signal
import time

import pytest
import redis

from helpers import ServerProcess, dataset, redis_server_available, wait_value

pytestmark = pytest.mark.skipif(not redis_server_available(),
                                reason="redis-server not installed")

KINDS = ["omakase", "redis"]
DONE_READING = "Diskless rdb transfer, done reading from pipe, {} replicas still up."
STREAMED = re.compile(r"Streamed RDB transfer with replica 127\.0\.0\.1:(\d+) succeeded "
                      r"\(socket\)\. Waiting for REPLCONF ACK from slave to enable streaming")
BIG = 1 << 20


def link_up(c: redis.Redis) -> bool:
    return c.info("replication").get("master_link_status") == "up"


def fill(mc: redis.Redis, big_values: int = 4) -> None:
    """Small keys of every type, expiries, and a few incompressible 1 MiB
    strings: a payload of several pipe-fulls."""
    mc.execute_command("DEBUG", "POPULATE", 2000, "key", 40)
    p = mc.pipeline(transaction=False)
    for i in range(big_values):
        p.set(f"big:{i}", os.urandom(BIG))
    p.rpush("list", *range(300))
    p.hset("hash", mapping={f"f{i}": i for i in range(200)})
    p.sadd("set", *range(150))
    p.zadd("zset", {f"m{i}": i / 3 for i in range(170)})
    p.xadd("stream", {"a": "1"})
    p.set("volatile", "v", px=3_600_000)
    p.execute()
    kw = mc.connection_pool.connection_kwargs
    with redis.Redis(host=kw["host"], port=kw["port"], db=3, protocol=2) as mc3:
        mc3.set("in-db-3", "x")


def replica_ports(log: str) -> list[int]:
    return [int(p) for p in STREAMED.findall(log)]


@pytest.mark.parametrize("kind", KINDS)
def test_two_replicas_share_one_transfer(kind):
    """One child, one pipe, two replicas (one of them an omakase replica
    under an omakase master): both end with the master's dataset, the
    master logs Redis's lines, and the stream then reaches both."""
    master = ServerProcess(kind, repl_diskless_sync_delay=30,
                           repl_diskless_sync_max_replicas=2)
    r1 = ServerProcess("redis")
    r2 = ServerProcess(kind)
    try:
        mc, c1, c2 = master.client(), r1.client(), r2.client()
        fill(mc)
        c1.replicaof(master.host, master.port)
        c2.replicaof(master.host, master.port)
        wait_value(lambda: link_up(c1) and link_up(c2), timeout=60)
        want = dataset(master)
        assert dataset(r1) == want
        assert dataset(r2) == want
        log = master.log_text()
        assert log.count("Starting BGSAVE for SYNC with target: replicas sockets") == 1
        assert DONE_READING.format(2) in log
        wait_value(lambda: sorted(replica_ports(master.log_text())) == sorted([r1.port,
                                                                                r2.port]))
        log = master.log_text()
        for port in (r1.port, r2.port):
            streamed = log.index(f"Streamed RDB transfer with replica 127.0.0.1:{port}")
            assert log.index(f"Synchronization with replica 127.0.0.1:{port} succeeded",
                             streamed) > streamed
        # The command stream starts at each replica's first ACK.
        mc.set("after", "sync")
        assert mc.execute_command("WAIT", 2, 10_000) == 2
        assert c1.get("after") == b"sync" and c2.get("after") == b"sync"
    finally:
        for s in (r2, r1, master):
            s.stop()


@pytest.mark.parametrize("splice", [1, 0], ids=["splice", "read-send"])
def test_single_replica_relay_paths(splice):
    """A lone replica is fed by splice() (or, DEBUG REPL-SPLICE 0, by the
    read/send relay): the same payload either way, counted as output."""
    master = ServerProcess("omakase", repl_diskless_sync_delay=0)
    replica = ServerProcess("redis")
    try:
        mc, rc = master.client(), replica.client()
        mc.execute_command("DEBUG", "REPL-SPLICE", splice)
        fill(mc, big_values=8)
        before = mc.info("stats")["total_net_output_bytes"]
        rc.replicaof(master.host, master.port)
        wait_value(lambda: link_up(rc), timeout=60)
        assert dataset(replica) == dataset(master)
        assert mc.info("stats")["total_net_output_bytes"] - before > 8 * BIG
        log = master.log_text()
        assert DONE_READING.format(1) in log
        assert replica_ports(log) == [replica.port]
        mc.set("after", "sync")
        assert mc.execute_command("WAIT", 1, 10_000) == 1
    finally:
        replica.stop()
        master.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_stalled_replica_is_dropped_and_the_other_completes(kind):
    """A replica that stops reading stalls the relay (the pipe is read only
    once every replica took the last chunk) until repl-timeout drops it;
    the other replica then gets the rest of the payload."""
    master = ServerProcess(kind, repl_diskless_sync_delay=30,
                           repl_diskless_sync_max_replicas=2, repl_timeout=2)
    stuck = ServerProcess("redis")
    other = ServerProcess("redis")
    try:
        mc, sc, oc = master.client(), stuck.client(), other.client()
        # Far more than the stuck replica's socket buffers hold.
        fill(mc, big_values=32)
        sc.replicaof(master.host, master.port)
        wait_value(lambda: mc.info("replication").get("connected_slaves") == 1)
        os.kill(stuck.proc.pid, signal.SIGSTOP)
        oc.replicaof(master.host, master.port)
        wait_value(lambda: "Disconnecting timedout replica (full sync): "
                           f"127.0.0.1:{stuck.port}" in master.log_text(), timeout=30)
        wait_value(lambda: link_up(oc), timeout=60)
        mc.config_set("repl-timeout", 60)
        assert dataset(other) == dataset(master)
        assert "last replica dropped" not in master.log_text()
    finally:
        try:
            os.kill(stuck.proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        for s in (other, stuck, master):
            s.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_replica_dropped_mid_transfer_leaves_the_other_running(kind):
    """One of two replicas gives up while the (slowed) child writes: the
    child goes on for the other one, which completes."""
    master = ServerProcess(kind, repl_diskless_sync_delay=30,
                           repl_diskless_sync_max_replicas=2)
    r1 = ServerProcess("redis")
    r2 = ServerProcess("redis")
    try:
        mc, c1, c2 = master.client(), r1.client(), r2.client()
        mc.execute_command("DEBUG", "POPULATE", 2000, "key", 20)
        mc.config_set("rdb-key-save-delay", 1000)         # about 2 s of child
        c1.replicaof(master.host, master.port)
        c2.replicaof(master.host, master.port)
        wait_value(lambda: "Background RDB transfer started" in master.log_text())
        time.sleep(0.3)
        c1.replicaof("no", "one")            # closes its transfer socket
        wait_value(lambda: f"Connection with replica 127.0.0.1:{r1.port} lost."
                           in master.log_text())
        wait_value(lambda: link_up(c2), timeout=30)
        log = master.log_text()
        assert "killing fork child" not in log
        assert DONE_READING.format(1) in log
        mc.config_set("rdb-key-save-delay", 0)
        mc.config_set("repl-diskless-sync-delay", 0)
        # r1 comes back and gets a transfer of its own.
        c1.replicaof(master.host, master.port)
        wait_value(lambda: link_up(c1), timeout=30)
        want = dataset(master)
        assert dataset(r1) == want
        assert dataset(r2) == want
    finally:
        for s in (r2, r1, master):
            s.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_shutdown_kills_the_diskless_child(kind):
    """SHUTDOWN NOSAVE during a (slowed) transfer kills the child and
    exits at once."""
    master = ServerProcess(kind, repl_diskless_sync_delay=0)
    replica = ServerProcess("redis")
    try:
        mc, rc = master.client(), replica.client()
        mc.execute_command("DEBUG", "POPULATE", 1000, "key", 20)
        mc.config_set("rdb-key-save-delay", 100_000)      # 100 s of child
        rc.replicaof(master.host, master.port)
        wait_value(lambda: "Background RDB transfer started" in master.log_text())
        pid = int(re.search(r"Background RDB transfer started by pid (\d+)",
                            master.log_text()).group(1))
        t0 = time.monotonic()
        try:
            mc.shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        master.proc.wait(10)
        assert time.monotonic() - t0 < 5
        assert "There is a child saving an .rdb. Killing it!" in master.log_text()

        def gone() -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False
        wait_value(gone)
    finally:
        replica.stop()
        master.stop()
