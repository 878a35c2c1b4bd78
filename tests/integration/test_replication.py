"""Replication between omakase servers: full sync (disk and diskless), the
command stream, partial resync, PSYNC2 after a promotion, chained replicas,
WAIT, min-replicas-to-write, replica-serve-stale-data, FAILOVER, ROLE and
INFO replication, and the commands' error replies (checked against Redis 7.0).

Servers cost about a second and a half each to start, so one master and its
replicas live for the whole module and the tests run in order on them;
FAILOVER swaps their roles, and the last test restarts two of them from
their RDBs (SHUTDOWN SAVE) to check that both a replica and a master continue
with a partial resync.
"""
from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from helpers import ServerProcess, all_acked, wait_value


def _wait(pred, timeout=10.0, step=0.02):
    return wait_value(pred, timeout, step)


def start_many(*configs: dict) -> list[ServerProcess]:
    with ThreadPoolExecutor(len(configs)) as ex:
        return list(ex.map(lambda cfg: ServerProcess("omakase", **cfg), configs))


def link_up(c: redis.Redis) -> bool:
    return c.info("replication").get("master_link_status") == "up"


def synced(master: redis.Redis, *replicas: redis.Redis) -> bool:
    off = master.info("replication")["master_repl_offset"]
    return all(r.info("replication").get("slave_repl_offset") == off for r in replicas)


@pytest.fixture(scope="module")
def trio():
    base = dict(repl_diskless_sync_delay=0, repl_ping_replica_period=1)
    m, r1, r2 = start_many(base, base, dict(base, repl_diskless_load="swapdb"))
    yield m, r1, r2
    for s in (m, r1, r2):
        s.stop()


@pytest.fixture(scope="module")
def clients(trio):
    m, r1, r2 = trio
    mc, c1, c2 = (s.client() for s in trio)
    mc.set("before", "sync")
    mc.rpush("list", *range(300))
    mc.hset("hash", mapping={f"f{i}": i for i in range(200)})
    c1.replicaof("127.0.0.1", m.port)
    _wait(lambda: link_up(c1))
    yield mc, c1, c2
    for c in (mc, c1, c2):
        c.close()


def test_full_sync_and_stream(trio, clients):
    mc, c1, _ = clients
    assert c1.get("before") == b"sync"
    assert c1.lrange("list", 0, -1) == mc.lrange("list", 0, -1)
    mc.set("str", "v")
    mc.incrbyfloat("float", 1.5)
    mc.sadd("set", *range(10))
    mc.zadd("zset", {"a": 1, "b": 2.5})
    mc.set("ttl", "x", px=100000)
    mc.set("gone", "y", ex=1000)
    mc.persist("gone")
    with mc.pipeline(transaction=True) as p:
        p.incr("counter").lpush("list2", "a", "b").execute()
    m5 = redis.Redis(port=trio[0].port, db=5, protocol=2)
    m5.set("in5", "five")
    m5.close()
    _wait(lambda: synced(mc, c1))
    assert c1.execute_command("DEBUG", "DIGEST") == mc.execute_command("DEBUG", "DIGEST")
    assert 99000 < c1.pttl("ttl") <= 100000
    assert c1.ttl("gone") == -1
    r5 = redis.Redis(port=trio[1].port, db=5, protocol=2)
    assert r5.get("in5") == b"five"
    r5.close()


def test_info_and_role(trio, clients):
    m, r1, _ = trio
    mc, c1, _ = clients
    _wait(lambda: synced(mc, c1))
    mi = mc.info("replication")
    assert mi["role"] == "master" and mi["connected_slaves"] == 1
    assert mi["slave0"]["port"] == r1.port and mi["slave0"]["state"] == "online"
    assert mi["repl_backlog_active"] == 1
    assert mi["repl_backlog_first_byte_offset"] == \
        mi["master_repl_offset"] - mi["repl_backlog_histlen"] + 1
    ri = c1.info("replication")
    for field in ("master_host", "master_port", "master_link_status",
                  "master_last_io_seconds_ago", "master_sync_in_progress",
                  "slave_read_repl_offset", "slave_repl_offset", "slave_priority",
                  "slave_read_only", "replica_announced", "connected_slaves",
                  "master_failover_state", "master_replid", "master_replid2",
                  "master_repl_offset", "second_repl_offset", "repl_backlog_active"):
        assert field in ri, field
    assert ri["role"] == "slave" and ri["master_port"] == m.port
    assert ri["master_replid"] == mi["master_replid"]
    role = c1.execute_command("ROLE")
    assert role[:4] == [b"slave", b"127.0.0.1", m.port, b"connected"]
    assert role[4] == ri["slave_repl_offset"]
    mrole = mc.execute_command("ROLE")
    assert mrole[0] == b"master" and mrole[2][0][1] == str(r1.port).encode()


def test_replica_is_read_only(trio, clients):
    _, c1, _ = clients
    with pytest.raises(redis.ResponseError, match="^You can't write against a read only"):
        c1.set("x", 1)
    assert c1.execute_command("REPLICAOF", "127.0.0.1", trio[0].port) == \
        b"OK Already connected to specified master"


def test_wait(clients):
    mc, c1, _ = clients
    mc.set("w", 1)
    assert mc.wait(1, 2000) == 1
    t = time.time()
    assert mc.wait(2, 200) == 1
    assert time.time() - t >= 0.15
    assert mc.wait(0, 0) >= 0
    with pytest.raises(redis.ResponseError, match="WAIT cannot be used with replica"):
        c1.wait(1, 10)


def test_min_replicas_to_write(clients):
    mc, _, _ = clients
    mc.config_set("min-replicas-to-write", 2)
    try:
        with pytest.raises(redis.ResponseError, match="^NOREPLICAS Not enough good replicas"):
            mc.set("x", 1)
        assert mc.get("before") == b"sync"
        assert "min_slaves_good_slaves" in mc.info("replication")
    finally:
        mc.config_set("min-replicas-to-write", 0)
    mc.set("x", 1)


def test_partial_resync_after_disconnect(trio, clients):
    mc, c1, _ = clients
    before = mc.info("stats")["sync_partial_ok"]
    c1.client_kill_filter(_type="master")
    mc.set("while-down", "1")
    _wait(lambda: link_up(c1) and c1.get("while-down") == b"1")
    assert mc.info("stats")["sync_partial_ok"] == before + 1


def test_serve_stale_data(trio, clients):
    m, _, _ = trio
    mc, c1, _ = clients
    from helpers import free_port
    c1.config_set("replica-serve-stale-data", "no")
    try:
        c1.replicaof("127.0.0.1", free_port())
        _wait(lambda: c1.info("replication")["master_link_status"] == "down")
        with pytest.raises(redis.ResponseError) as exc:
            c1.get("before")
        # redis-py strips the MASTERDOWN code into the exception class.
        assert type(exc.value).__name__ == "MasterDownError"
        assert str(exc.value) == ("Link with MASTER is down and replica-serve-stale-data "
                                  "is set to 'no'.")
        with pytest.raises(redis.ResponseError):
            c1.ping()                       # PING has no STALE flag in 7.0
        info = c1.info("replication")      # INFO has
        assert info["master_link_down_since_seconds"] >= 0
        assert c1.execute_command("ROLE")[3:] == [b"connect", -1] or \
            c1.execute_command("ROLE")[3] == b"connecting"
    finally:
        c1.config_set("replica-serve-stale-data", "yes")
    before = mc.info("stats")["sync_partial_ok"]
    c1.replicaof("127.0.0.1", m.port)
    _wait(lambda: link_up(c1))
    assert mc.info("stats")["sync_partial_ok"] == before + 1   # the cached master


def test_chain_disk_sync_and_promotion(trio, clients):
    """r2 replicates r1 (disk-based full sync, swapdb load); r1 is promoted and
    r2 continues with a partial resync (PSYNC2: r1's replid2)."""
    m, r1, r2 = trio
    mc, c1, c2 = clients
    c1.config_set("repl-diskless-sync", "no")
    c2.replicaof("127.0.0.1", r1.port)
    _wait(lambda: link_up(c2))
    assert "target: disk" in r1.log_text()
    mc.hset("chained", "f", "v")
    _wait(lambda: synced(mc, c1, c2))
    assert c2.hgetall("chained") == {b"f": b"v"}
    assert c2.execute_command("DEBUG", "DIGEST") == mc.execute_command("DEBUG", "DIGEST")
    old_id = c1.info("replication")["master_replid"]
    partial = c1.info("stats")["sync_partial_ok"]
    c1.replicaof("no", "one")
    info = c1.info("replication")
    assert info["role"] == "master" and info["master_replid2"] == old_id
    assert info["second_repl_offset"] == info["master_repl_offset"] + 1
    _wait(lambda: link_up(c2) and c1.info("stats")["sync_partial_ok"] == partial + 1)
    c1.set("promoted", "yes")
    _wait(lambda: c2.get("promoted") == b"yes")
    # Back under m: r1's new history is unknown there, so a full sync.
    c1.config_set("repl-diskless-sync", "yes")
    c1.replicaof("127.0.0.1", m.port)
    _wait(lambda: link_up(c1) and link_up(c2) and c1.get("promoted") is None)
    mc.set("again", 1)
    _wait(lambda: synced(mc, c1, c2))
    assert c2.execute_command("DEBUG", "DIGEST") == mc.execute_command("DEBUG", "DIGEST")
    c2.replicaof("no", "one")


def test_command_errors(clients):
    r = clients[2]          # a master without replicas since the last test
    for args, msg in [
        (("REPLICAOF", "host", "abc"), "Invalid master port"),
        (("REPLICAOF", "host", "70000"), "Invalid master port"),
        (("WAIT", "1", "abc"), "timeout is not an integer or out of range"),
        (("WAIT", "0", "-1"), "timeout is negative"),
        (("REPLCONF", "foo", "bar"), "Unrecognized REPLCONF option: foo"),
        (("REPLCONF", "ack"), "syntax error"),
        (("FAILOVER", "ABORT"), "No failover in progress."),
        (("FAILOVER", "TO"), "syntax error"),
        (("FAILOVER", "TIMEOUT", "-1"), "FAILOVER timeout must be greater than 0"),
        (("FAILOVER",), "FAILOVER requires connected replicas."),
    ]:
        with pytest.raises(redis.ResponseError) as exc:
            r.execute_command(*args)
        assert str(exc.value) == msg, args
    assert r.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert r.execute_command("REPLCONF", "listening-port", "1") == b"OK"
    assert r.execute_command("ROLE")[0] == b"master"
    assert r.wait(0, 0) == 0


def test_failover(trio, clients):
    m, r1, _ = trio
    mc, c1, _ = clients
    mc.set("pre-failover", "1")
    assert mc.execute_command("FAILOVER", "TO", "127.0.0.1", r1.port, "TIMEOUT", 5000) == b"OK"
    _wait(lambda: c1.info("replication")["role"] == "master"
          and mc.info("replication")["role"] == "slave" and link_up(mc))
    assert mc.info("replication")["master_failover_state"] == "no-failover"
    assert c1.get("pre-failover") == b"1"
    c1.set("post-failover", "2")
    _wait(lambda: mc.get("post-failover") == b"2")
    mc.replicaof("no", "one")


def _digest(c: redis.Redis) -> bytes:
    return c.execute_command("DEBUG", "DIGEST")


def shutdown_save(srv: ServerProcess) -> None:
    """SHUTDOWN SAVE on a raw socket (redis-py retries a closed connection
    with back-off), back once the server closed it: the RDB is written and
    the listening socket closed, so the port can be reused."""
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.sendall(b"SHUTDOWN SAVE\r\n")
        assert s.recv(64) == b""


def _restart(old: ServerProcess, **config) -> ServerProcess:
    """Start again on the same port and dir (the RDB SHUTDOWN saved)."""
    base = dict(repl_diskless_sync_delay=0, repl_ping_replica_period=1)
    return ServerProcess("omakase", port=old.port, dir=old.dir, **base, **config)


def test_restart_with_partial_resync(trio):
    """A replica restarted from its own RDB (repl-id/repl-offset/
    repl-stream-db AUX fields) continues with a partial resync; so do
    replicas of a restarted master (its old id becomes replid2), which also
    sends the DEL of a key that expired while it was down."""
    m, _, r = trio                           # two masters since the tests above
    restarted: list[ServerProcess] = []
    try:
        mc, rc = m.client(), r.client()
        m3 = redis.Redis(port=m.port, db=3, protocol=2)
        mc.set("a", 1)
        m3.rpush("l", *range(50))
        rc.replicaof("127.0.0.1", m.port)
        _wait(lambda: link_up(rc))
        m3.hset("h", "f", "v")              # the stream is now in db 3
        _wait(lambda: synced(mc, rc))
        # The replica's save names its master's history.
        rc.save()
        with open(f"{r.dir}/dump.rdb", "rb") as f:
            blob = f.read()
        replid = mc.info("replication")["master_replid"].encode()
        assert b"repl-stream-db\xc0\x03" in blob and b"repl-id(" + replid in blob
        stats = mc.info("stats")
        shutdown_save(r)
        m3.sadd("s", "x", "y")               # no SELECT: still db 3
        r2 = _restart(r, replicaof=["127.0.0.1", m.port])
        restarted.append(r2)
        rc = r2.client()
        _wait(lambda: link_up(rc) and synced(mc, rc))
        after = mc.info("stats")
        assert after["sync_partial_ok"] == stats["sync_partial_ok"] + 1
        assert after["sync_full"] == stats["sync_full"]
        assert "Successful partial resynchronization" in r2.log_text()
        assert redis.Redis(port=r2.port, db=3, protocol=2).smembers("s") == {b"x", b"y"}
        m3.incr("n")
        _wait(lambda: synced(mc, rc))
        assert _digest(rc) == _digest(mc)

        # The master restarts: its replica continues under the new id.
        mc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        mc.config_set("repl-ping-replica-period", 3600)   # the offset holds still
        mc.set("short", "lived", px=300)
        assert mc.wait(1, 2000) == 1
        # WAIT's GETACK is acked with the replicas' next periodic ACK; once
        # they acked the whole stream SHUTDOWN neither waits nor sends its own
        # GETACK, so the offset read below is the one it saves.
        _wait(lambda: all_acked(mc))
        mi = mc.info("replication")
        shutdown_save(m)
        m2 = _restart(m)
        restarted.append(m2)
        mc = m2.client()
        _wait(lambda: link_up(rc) and mc.info("stats")["sync_partial_ok"] == 1)
        assert mc.info("stats")["sync_full"] == 0
        ni = mc.info("replication")
        assert ni["master_replid2"] == mi["master_replid"]
        assert ni["second_repl_offset"] == mi["master_repl_offset"] + 1
        assert ni["master_replid"] != mi["master_replid"]
        assert "keys expired: 1" in m2.log_text()
        # As redis-server 7.0.15 does: the backlog starts right after the
        # saved offset and holds the expired key's DEL (after a SELECT).
        dels = len(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$5\r\nshort\r\n")
        assert ni["repl_backlog_first_byte_offset"] == mi["master_repl_offset"] + 1
        assert ni["repl_backlog_histlen"] == dels
        assert ni["master_repl_offset"] == mi["master_repl_offset"] + dels
        _wait(lambda: rc.info("replication")["master_replid"] == ni["master_replid"])
        mc.set("after", "restart")
        _wait(lambda: synced(mc, rc) and rc.get("after") == b"restart")
        assert rc.exists("short") == 0       # the DEL came through the backlog
        assert _digest(rc) == _digest(mc)
    finally:
        for s in restarted:
            s.stop()
