"""``client-output-buffer-limit replica``: a replica that stops reading is
disconnected once the replication output the master holds for it passes the
hard limit, or stays over the soft limit for the soft seconds, as Redis 7.0
does (``closeClientOnOutputBufferLimitReached`` in networking.c).

A real redis-server replica "stops reading" under SIGSTOP.  The kernel's
socket buffers first absorb a few MB, so the writes go on until the master
drops the replica (or a cap is reached).  The snapshot phase is driven with a
raw socket playing a replica that never reads its payload.  Every scenario
runs twice: with omakase as the master, and with redis-server 7.0 as the
master, and asserts only what both show (the disconnect, the log lines,
INFO's connected_slaves, the resync).
"""
from __future__ import annotations

import re
import socket
import time

import pytest
import redis

from helpers import (ServerProcess, master_with_replica, redis_server_available,
                     replica_acked, resume_process as resume, stop_process as stop,
                     wait_value)

pytestmark = pytest.mark.skipif(not redis_server_available(),
                                reason="redis-server not installed")

KINDS = ["omakase", "redis"]
VALUE = b"v" * 10_000
SCHEDULED = re.compile(r"# Client id=\d+ addr=127\.0\.0\.1:\d+ laddr=\S+ fd=\d+ .*flags=S .*"
                       r"cmd=(\w+) .*scheduled to be closed ASAP for overcoming of output "
                       r"buffer limits\.$", re.M)
CLOSED = re.compile(r"# Client id=\d+ addr=127\.0\.0\.1:\d+ .*flags=S .*closed for overcoming "
                    r"of output buffer limits\.$", re.M)
LOST = re.compile(r"# Connection with replica 127\.0\.0\.1:\d+ lost\.$", re.M)


def replicas(mc: redis.Redis) -> int:
    return mc.info("replication")["connected_slaves"]


def write_until_dropped(mc: redis.Redis, max_bytes: int, prefix: str = "k") -> int:
    """SET 10 KB values (20 per pipeline) until the master has no replica
    or `max_bytes` were written; the number of keys written."""
    n = 0
    while n * len(VALUE) < max_bytes:
        pipe = mc.pipeline(transaction=False)
        for _ in range(20):
            pipe.set(f"{prefix}{n}", VALUE)
            n += 1
        pipe.execute()
        if replicas(mc) == 0:
            break
    return n


def write_bytes(mc: redis.Redis, nbytes: int, prefix: str = "k") -> int:
    n = 0
    while n * len(VALUE) < nbytes:
        pipe = mc.pipeline(transaction=False)
        for _ in range(20):
            pipe.set(f"{prefix}{n}", VALUE)
            n += 1
        pipe.execute()
    return n


def replica_omem(mc: redis.Redis) -> int | None:
    for line in mc.client_list():
        if "S" in line["flags"]:
            return int(line["omem"])
    return None


def assert_resynced(mc: redis.Redis, rc: redis.Redis, replica: ServerProcess) -> None:
    """After SIGCONT the replica reconnects, syncs and holds the master's data."""
    resume(replica)
    wait_value(lambda: rc.info("replication")["master_link_status"] == "up", timeout=60)
    wait_value(lambda: replicas(mc) == 1 and replica_acked(mc), timeout=60)
    assert rc.dbsize() == mc.dbsize()
    assert (rc.execute_command("DEBUG", "DIGEST")
            == mc.execute_command("DEBUG", "DIGEST"))


def assert_master_intact(mc: redis.Redis, nkeys: int, prefix: str = "k") -> None:
    assert mc.ping()
    assert mc.get("before") == b"sync"
    assert mc.get(f"{prefix}0") == VALUE
    assert mc.get(f"{prefix}{nkeys - 1}") == VALUE
    assert mc.set("after", "drop")


# ---------------------------------------------------------------------------
# An online replica that stops reading
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_hard_limit_drops_stopped_replica(kind):
    with master_with_replica(kind) as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 1mb 0 0")
        stop(replica)
        n = write_until_dropped(mc, 60 << 20)
        wait_value(lambda: replicas(mc) == 0)
        log = master.log_text()
        m = SCHEDULED.search(log)
        assert m, log
        assert m.group(1) == "replconf"
        # The limit line comes first, then freeClient's.
        assert LOST.search(log, m.end()), log
        assert_master_intact(mc, n)
        assert_resynced(mc, rc, replica)


def cross_soft_limit(mc: redis.Redis, over: int = 300_000) -> int:
    """Write until the master holds more than `over` bytes unsent for the
    stopped replica; the number of keys written."""
    n = 0
    deadline = time.monotonic() + 30
    while (replica_omem(mc) or 0) <= over:
        assert time.monotonic() < deadline, "the replica's output never grew"
        n += write_bytes(mc, 200_000, prefix=f"s{n}-")
    return n


@pytest.mark.parametrize("kind", KINDS)
def test_full_resync_after_hard_limit_drop_past_backlog(kind):
    # The default 1mb backlog cannot cover what the dropped replica missed.
    with master_with_replica(kind) as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 1mb 0 0")
        full = mc.info("stats")["sync_full"]
        stop(replica)
        write_until_dropped(mc, 60 << 20)
        wait_value(lambda: replicas(mc) == 0)
        assert_resynced(mc, rc, replica)
        assert mc.info("stats")["sync_full"] == full + 1
        assert "Unable to partial resync with replica 127.0.0.1:" in master.log_text()


@pytest.mark.parametrize("kind", KINDS)
def test_partial_resync_after_soft_limit_drop(kind):
    # A backlog bigger than what the replica missed: it continues.
    with master_with_replica(kind, repl_backlog_size="32mb") as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 0 256kb 1")
        partial = mc.info("stats")["sync_partial_ok"]
        stop(replica)
        n = cross_soft_limit(mc)
        wait_value(lambda: replicas(mc) == 0, timeout=15)
        assert CLOSED.search(master.log_text())
        assert mc.dbsize() == n + 1
        assert mc.get("s0-0") == VALUE
        assert_resynced(mc, rc, replica)
        assert mc.info("stats")["sync_partial_ok"] == partial + 1
        assert "Partial resynchronization request from 127.0.0.1:" in master.log_text()


@pytest.mark.parametrize("kind", ["omakase", "redis"])
def test_hard_limit_is_raised_to_backlog_size(kind):
    # 7.0: a replica's hard limit below repl-backlog-size counts as the
    # backlog size.
    with master_with_replica(kind, repl_backlog_size="64mb") as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 1mb 0 0")
        stop(replica)
        write_bytes(mc, 16 << 20)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            assert replicas(mc) == 1
            time.sleep(0.1)
        assert "output buffer limits" not in master.log_text()
        assert_resynced(mc, rc, replica)


@pytest.mark.parametrize("kind", KINDS)
def test_soft_limit_drops_idle_replica_after_soft_seconds(kind):
    with master_with_replica(kind) as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 0 256kb 2")
        stop(replica)
        cross_soft_limit(mc)
        crossed = time.monotonic()
        assert replicas(mc) == 1           # over the soft limit: not yet
        # No more writes: the periodic check closes it after soft seconds.
        wait_value(lambda: replicas(mc) == 0, timeout=15)
        assert time.monotonic() - crossed >= 1.0
        log = master.log_text()
        assert CLOSED.search(log), log
        assert not SCHEDULED.search(log)
        assert_resynced(mc, rc, replica)


@pytest.mark.parametrize("kind", KINDS)
def test_soft_limit_drops_replica_that_keeps_being_fed(kind):
    with master_with_replica(kind) as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 0 256kb 1")
        stop(replica)
        t0 = time.monotonic()
        n = 0
        while replicas(mc) and time.monotonic() - t0 < 30:
            mc.set(f"f{n}", VALUE)
            n += 1
            time.sleep(0.01)
        assert replicas(mc) == 0
        log = master.log_text()
        # Which check sees it first is a matter of timing in Redis too.
        assert SCHEDULED.search(log) or CLOSED.search(log), log
        assert LOST.search(log)
        assert_master_intact(mc, n, prefix="f")
        assert_resynced(mc, rc, replica)


@pytest.mark.parametrize("kind", KINDS)
def test_replica_under_limits_is_kept(kind):
    with master_with_replica(kind) as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 64mb 32mb 60")
        stop(replica)
        n = write_bytes(mc, 12 << 20)
        # A few serverCron periods: still attached.
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            assert replicas(mc) == 1
            time.sleep(0.1)
        assert "output buffer limits" not in master.log_text()
        assert_master_intact(mc, n)
        resume(replica)
        wait_value(lambda: replica_acked(mc), timeout=60)
        assert rc.dbsize() == mc.dbsize()
        assert "Connection with replica" not in master.log_text()


@pytest.mark.parametrize("kind", KINDS)
def test_zero_limits_mean_no_limit(kind):
    with master_with_replica(kind) as (master, replica, mc, rc):
        mc.config_set("client-output-buffer-limit", "replica 0 0 0")
        stop(replica)
        n = write_bytes(mc, 16 << 20)
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            assert replicas(mc) == 1
            time.sleep(0.1)
        assert "output buffer limits" not in master.log_text()
        assert_master_intact(mc, n)
        resume(replica)
        wait_value(lambda: replica_acked(mc), timeout=60)
        assert (rc.execute_command("DEBUG", "DIGEST")
                == mc.execute_command("DEBUG", "DIGEST"))


@pytest.mark.parametrize("kind", KINDS)
def test_client_kill_of_stopped_replica(kind):
    with master_with_replica(kind) as (master, replica, mc, rc):
        stop(replica)
        write_bytes(mc, 1 << 20)
        assert mc.execute_command("CLIENT", "KILL", "TYPE", "replica") == 1
        wait_value(lambda: replicas(mc) == 0)
        assert LOST.search(master.log_text())
        assert_resynced(mc, rc, replica)


# ---------------------------------------------------------------------------
# The snapshot phase: the stream accumulated during the RDB transfer counts
# ---------------------------------------------------------------------------
def fake_replica(srv: ServerProcess) -> socket.socket:
    """A replica that asks for a full sync and then reads nothing."""
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"REPLCONF listening-port 7777\r\nREPLCONF capa eof capa psync2\r\n")
    buf = b""
    while buf.count(b"+OK\r\n") < 2:
        data = s.recv(64)
        assert data, buf
        buf += data
    s.sendall(b"PSYNC ? -1\r\n")
    return s


def slave_state(mc: redis.Redis) -> str | None:
    slave = mc.info("replication").get("slave0")
    return slave["state"] if slave else None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("diskless", [True, False], ids=["diskless", "disk"])
def test_snapshot_phase_output_counts(kind, diskless):
    master = ServerProcess(kind, repl_diskless_sync=diskless, repl_diskless_sync_delay=0)
    s = None
    try:
        mc = master.client()
        # A payload far bigger than the socket buffers: its transfer stalls.
        mc.execute_command("DEBUG", "POPULATE", 200_000, "key", 100)
        mc.config_set("client-output-buffer-limit", "replica 1mb 0 0")
        s = fake_replica(master)
        wait_value(lambda: slave_state(mc) in ("wait_bgsave", "send_bulk"))
        n = write_until_dropped(mc, 40 << 20, prefix="w")
        wait_value(lambda: replicas(mc) == 0)
        log = master.log_text()
        m = SCHEDULED.search(log)
        assert m, log
        assert m.group(1) == "psync"
        assert LOST.search(log, m.end())
        if diskless:
            wait_value(lambda: "Diskless rdb transfer, last replica dropped, killing fork "
                               "child." in master.log_text())
        assert mc.dbsize() == 200_000 + n
        assert mc.get(f"w{n - 1}") == VALUE
        # The master is free to fork again.
        wait_value(lambda: mc.info("persistence")["rdb_bgsave_in_progress"] == 0)
        assert mc.bgsave()
    finally:
        if s is not None:
            s.close()
        master.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_replica_waiting_for_bgsave_start_does_not_count(kind):
    # The diskless delay keeps the replica in WAIT_BGSAVE_START: it has no
    # fork point yet, so nothing is held for it.
    master = ServerProcess(kind, repl_diskless_sync=True, repl_diskless_sync_delay=60)
    s = None
    try:
        mc = master.client()
        mc.config_set("client-output-buffer-limit", "replica 1mb 0 0")
        s = fake_replica(master)
        wait_value(lambda: slave_state(mc) == "wait_bgsave")
        write_bytes(mc, 4 << 20)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            assert replicas(mc) == 1
            time.sleep(0.1)
        assert "output buffer limits" not in master.log_text()
    finally:
        if s is not None:
            s.close()
        master.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_omem_counts_the_stream_held_during_the_snapshot(kind):
    # CLIENT LIST's omem for a replica is what it references of the stream,
    # the part held back while its snapshot is produced or sent included.
    master = ServerProcess(kind, repl_diskless_sync=False)
    s = None
    try:
        mc = master.client()
        mc.execute_command("DEBUG", "POPULATE", 200_000, "key", 100)
        mc.config_set("client-output-buffer-limit", "replica 0 0 0")
        s = fake_replica(master)
        wait_value(lambda: slave_state(mc) in ("wait_bgsave", "send_bulk"))
        before = replica_omem(mc) or 0
        write_bytes(mc, 2 << 20, prefix="w")
        assert (replica_omem(mc) or 0) >= before + (2 << 20)
    finally:
        if s is not None:
            s.close()
        master.stop()
