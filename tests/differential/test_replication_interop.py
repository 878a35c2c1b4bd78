"""Replication interop with Debian's redis-server 7.0.15.

One omakase server plays every part in turn, next to real Redis servers:

1. master of real Redis replicas: diskless full sync (the 7.0 default) and
   disk-based full sync (BGSAVE + sendfile), then partial resyncs -- after
   CLIENT KILL TYPE replica, and after a replica restarts from its own RDB
   (its cached master: repl-id/repl-offset AUX fields) with ``replicaof``;
2. replica of a real Redis master, with its Redis replicas still attached: the
   chain redis -> omakase -> redis (disk load of a diskless payload);
3. partial resync of omakase from Redis after CLIENT KILL, then a full sync
   with ``repl-diskless-load swapdb`` from a disk-based Redis master;
4. restarts (SHUTDOWN SAVE, then the same dir): omakase, a replica of a Redis
   master, restarted from its RDB continues with a partial resync; so does
   it when that Redis master restarts; and Redis replicas of a restarted
   omakase master continue under its new id (the old one is its replid2,
   as Redis 7.0 does).

After every step the whole dataset is compared with DEBUG DIGEST, after a
mixed write load of every type (strings, lists, hashes, sets, zsets, expiries,
MULTI/EXEC, several dbs, SPOP/ZPOPMIN-style commands that must replicate as
their effects).
"""
from __future__ import annotations

import random
import re
import shutil
import socket
import tempfile

import pytest
import redis

from helpers import ServerProcess, all_acked, redis_server_available, wait_value

pytestmark = [pytest.mark.differential,
              pytest.mark.skipif(not redis_server_available(),
                                 reason="redis-server is not installed")]


def _wait(pred, timeout=10.0, step=0.02):
    return wait_value(pred, timeout, step)


def link_up(c: redis.Redis) -> bool:
    return c.info("replication").get("master_link_status") == "up"


def synced(master: redis.Redis, *replicas: redis.Redis) -> bool:
    off = master.info("replication")["master_repl_offset"]
    return all(r.info("replication").get("slave_repl_offset") == off for r in replicas)


def digests_equal(*clients: redis.Redis) -> bool:
    return len({c.execute_command("DEBUG", "DIGEST") for c in clients}) == 1


def converged(master: redis.Redis, *replicas: redis.Redis, timeout: float = 15.0) -> None:
    """Offsets equal, then digests equal (a key expiring on the master in
    between sends one more DEL: wait for that too)."""
    try:
        _wait(lambda: synced(master, *replicas) and digests_equal(master, *replicas), timeout)
    except AssertionError:
        state = [(c.info("replication").get("master_repl_offset"),
                  c.info("replication").get("slave_repl_offset"),
                  c.info("replication").get("master_link_status"),
                  c.execute_command("DEBUG", "DIGEST"), c.dbsize())
                 for c in (master, *replicas)]
        raise AssertionError(f"not converged: {state}") from None


def mixed_load(port: int, seed: int, n: int = 600) -> None:
    """Writes of every type, in two dbs, pipelined, some in MULTI/EXEC."""
    rnd = random.Random(seed)
    for db in (0, 3):
        c = redis.Redis(port=port, db=db, protocol=2)
        p = c.pipeline(transaction=False)
        for i in range(n):
            k = rnd.randrange(40)
            v = rnd.randrange(1000)
            op = rnd.randrange(22)
            if op == 0:
                p.set(f"s{k}", v)
            elif op == 1:
                p.append(f"s{k}", "x" * rnd.randrange(1, 300))
            elif op == 2:
                p.incrbyfloat(f"f{k}", rnd.random())
            elif op == 3:
                p.rpush(f"l{k}", *[rnd.randrange(100) for _ in range(rnd.randrange(1, 20))])
            elif op == 4:
                p.lpop(f"l{k}")
            elif op == 5:
                p.ltrim(f"l{k}", 0, rnd.randrange(5, 200))
            elif op == 6:
                p.hset(f"h{k}", f"f{v % 150}", "v" * rnd.randrange(1, 80))
            elif op == 7:
                p.hincrbyfloat(f"h{k}", "num", 1.25)
            elif op == 8:
                p.hdel(f"h{k}", f"f{v % 150}")
            elif op == 9:
                p.sadd(f"t{k}", *[rnd.randrange(600) for _ in range(rnd.randrange(1, 30))])
            elif op == 10:
                p.spop(f"t{k}", rnd.randrange(1, 4))
            elif op == 11:
                p.sadd(f"t{k}", f"member:{v}")
            elif op == 12:
                p.zadd(f"z{k}", {f"m{rnd.randrange(200)}": rnd.random() * 100
                                 for _ in range(rnd.randrange(1, 20))})
            elif op == 13:
                p.zincrby(f"z{k}", 2.5, f"m{v % 200}")
            elif op == 14:
                p.zpopmin(f"z{k}")
            elif op == 15:
                p.expire(f"s{k}", rnd.randrange(100, 10000))
            elif op == 16:
                p.pexpire(f"h{k}", rnd.randrange(100000, 1000000))
            elif op == 17:
                p.persist(f"s{k}")
            elif op == 18:
                p.set(f"e{k}", v, px=rnd.choice([1, 5, 600000]))
            elif op == 19:
                p.delete(f"s{k}", f"l{k}")
            elif op == 20:
                p.srandmember(f"t{k}")        # a read: never propagated
            else:
                p.execute_command("MULTI")
                p.incr(f"cnt{k}")
                p.lpush(f"l{k}", "m")
                p.execute_command("EXEC")
        p.execute()
        c.close()


@pytest.fixture(scope="module")
def omakase():
    srv = ServerProcess("omakase", repl_diskless_sync_delay=0, repl_ping_replica_period=1)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def redis_dir():
    d = tempfile.mkdtemp(prefix="redis-replica-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def world(omakase, redis_dir):
    """Real Redis servers around the omakase one (started lazily by tests)."""
    servers: dict[str, ServerProcess] = {}
    yield servers
    for s in servers.values():
        s.stop()


def test_redis_replicas_of_omakase_full_sync(omakase, world, redis_dir):
    oc = omakase.client()
    mixed_load(omakase.port, 1)
    # Diskless (the 7.0 default on both sides' configs).
    r1 = world["r1"] = ServerProcess("redis", dir=redis_dir, repl_diskless_load="disabled")
    c1 = r1.client()
    c1.replicaof("127.0.0.1", omakase.port)
    _wait(lambda: link_up(c1))
    assert "target: replicas sockets" in omakase.log_text()
    # Disk-based: BGSAVE then sendfile().
    oc.config_set("repl-diskless-sync", "no")
    r2 = world["r2"] = ServerProcess("redis")
    c2 = r2.client()
    c2.replicaof("127.0.0.1", omakase.port)
    _wait(lambda: link_up(c2))
    assert "target: disk" in omakase.log_text()
    oc.config_set("repl-diskless-sync", "yes")
    mixed_load(omakase.port, 2)
    converged(oc, c1, c2)
    info = oc.info("replication")
    assert info["connected_slaves"] == 2
    assert {info["slave0"]["port"], info["slave1"]["port"]} == {r1.port, r2.port}
    assert c1.info("replication")["master_replid"] == info["master_replid"]
    assert oc.wait(2, 2000) == 2


def test_redis_replicas_partial_resync(omakase, world, redis_dir):
    oc = omakase.client()
    c1, c2 = world["r1"].client(), world["r2"].client()
    stats = oc.info("stats")
    oc.client_kill_filter(_type="replica")
    oc.set("during-reconnect", 1)
    _wait(lambda: link_up(c1) and link_up(c2))
    after = oc.info("stats")
    assert after["sync_partial_ok"] == stats["sync_partial_ok"] + 2
    assert after["sync_full"] == stats["sync_full"]
    # Restart r1: it reloads its RDB, which names our replid and offset.
    r1 = world["r1"]
    port = r1.port
    c1.shutdown(save=True)
    r1.proc.wait(10)
    mixed_load(omakase.port, 3, 300)
    r1 = world["r1"] = ServerProcess("redis", port=port, dir=redis_dir,
                                     replicaof=["127.0.0.1", omakase.port])
    c1 = r1.client()
    _wait(lambda: link_up(c1))
    assert oc.info("stats")["sync_partial_ok"] == after["sync_partial_ok"] + 1
    assert oc.info("stats")["sync_full"] == stats["sync_full"]
    converged(oc, c1, c2)


def test_chain_redis_omakase_redis(omakase, world):
    """omakase becomes a replica of a real Redis master; its Redis replicas
    follow through it."""
    m = world["m"] = ServerProcess("redis", repl_diskless_sync_delay=0,
                                   repl_ping_replica_period=1)
    mc, oc = m.client(), omakase.client()
    c1, c2 = world["r1"].client(), world["r2"].client()
    mixed_load(m.port, 4)
    oc.replicaof("127.0.0.1", m.port)
    _wait(lambda: link_up(oc) and link_up(c1) and link_up(c2))
    mixed_load(m.port, 5)
    converged(mc, oc, c1, c2)
    assert oc.info("replication")["master_replid"] == mc.info("replication")["master_replid"]
    assert c1.info("replication")["master_replid"] == mc.info("replication")["master_replid"]
    # A short disconnect: omakase continues from Redis's backlog and its own
    # replicas are not disturbed (same replication id).
    partial = mc.info("stats")["sync_partial_ok"]
    full = oc.info("stats")["sync_full"]
    mc.client_kill_filter(_type="replica")
    mc.set("after-kill", "1")
    _wait(lambda: link_up(oc) and c2.get("after-kill") == b"1")
    assert mc.info("stats")["sync_partial_ok"] == partial + 1
    assert oc.info("stats")["sync_full"] == full
    mixed_load(m.port, 6, 500)
    converged(mc, oc, c1, c2)


def test_omakase_swapdb_load_from_disk_master(omakase, world):
    m = world["m"]
    mc, oc = m.client(), omakase.client()
    mc.config_set("repl-diskless-sync", "no")
    oc.config_set("repl-diskless-load", "swapdb")
    full = mc.info("stats")["sync_full"]
    oc.replicaof("no", "one")          # a new history: the next sync is full
    oc.replicaof("127.0.0.1", m.port)
    _wait(lambda: link_up(oc) and mc.info("stats")["sync_full"] == full + 1)
    assert "to parser" in omakase.log_text()
    mixed_load(m.port, 7, 500)
    c1, c2 = world["r1"].client(), world["r2"].client()
    _wait(lambda: link_up(c1) and link_up(c2))
    converged(mc, oc, c1, c2)
    oc.replicaof("no", "one")


def shutdown_save(srv: ServerProcess) -> None:
    """SHUTDOWN SAVE on a raw socket (redis-py retries a closed connection
    with back-off); back once the server closed it: the RDB is on disk and
    the port free."""
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.sendall(b"SHUTDOWN SAVE\r\n")
        assert s.recv(64) == b""


def restart(old: ServerProcess, **config) -> ServerProcess:
    return ServerProcess(old.kind, port=old.port, dir=old.dir, **config)


def test_omakase_replica_restart_partial_resync(world):
    """An omakase replica of a Redis master restarts from its own RDB and
    continues (+CONTINUE, no full sync); then the Redis master restarts and
    omakase continues under the master's new id."""
    cfg = dict(repl_diskless_sync_delay=0, repl_ping_replica_period=1)
    m = world["m2"] = ServerProcess("redis", **cfg)
    o = world["o"] = ServerProcess("omakase", **cfg)
    mc, oc = m.client(), o.client()
    mixed_load(m.port, 10, 300)
    oc.replicaof("127.0.0.1", m.port)
    _wait(lambda: link_up(oc))
    mixed_load(m.port, 11, 300)
    converged(mc, oc)
    stats = mc.info("stats")
    shutdown_save(o)
    mixed_load(m.port, 12, 200)
    o = world["o"] = restart(o, replicaof=["127.0.0.1", m.port], **cfg)
    oc = o.client()
    _wait(lambda: link_up(oc))
    after = mc.info("stats")
    assert after["sync_partial_ok"] == stats["sync_partial_ok"] + 1
    assert after["sync_full"] == stats["sync_full"]
    assert "Successful partial resynchronization with master" in o.log_text()
    mixed_load(m.port, 13, 200)
    converged(mc, oc)
    # The master restarts: Redis keeps its history as replid2.
    assert mc.wait(1, 2000) == 1
    old_id = mc.info("replication")["master_replid"]
    shutdown_save(m)
    m.proc.wait(10)
    m = world["m2"] = restart(m, **cfg)
    mc = m.client()
    _wait(lambda: link_up(oc) and mc.info("stats")["sync_partial_ok"] == 1)
    assert mc.info("stats")["sync_full"] == 0
    assert mc.info("replication")["master_replid2"] == old_id
    _wait(lambda: oc.info("replication")["master_replid"] ==
          mc.info("replication")["master_replid"])
    mixed_load(m.port, 14, 200)
    converged(mc, oc)


def test_omakase_master_restart_partial_resync(omakase, world):
    """omakase (a master with the two Redis replicas of the tests above)
    restarts from SHUTDOWN's RDB: the replicas continue under its new id."""
    oc = omakase.client()
    c1, c2 = world["r1"].client(), world["r2"].client()
    # Keys that expire now are dropped at the restart, and their DELs reach
    # the replicas through the backlog; no PING moves the offset meanwhile.
    oc.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    oc.config_set("repl-ping-replica-period", 3600)
    mixed_load(omakase.port, 15, 300)
    converged(oc, c1, c2)
    assert oc.wait(2, 2000) == 2
    # WAIT's GETACK is acked with the replicas' next periodic ACK; once
    # they acked the whole stream SHUTDOWN neither waits nor sends its own
    # GETACK, so the offset read below is the one it saves.
    _wait(lambda: all_acked(oc))
    info = oc.info("replication")
    shutdown_save(omakase)
    o2 = world["o2"] = restart(omakase, repl_diskless_sync_delay=0,
                               repl_ping_replica_period=1)
    nc = o2.client()
    _wait(lambda: link_up(c1) and link_up(c2) and nc.info("stats")["sync_partial_ok"] == 2)
    assert nc.info("stats")["sync_full"] == 0
    assert re.search(r"keys expired: [1-9]", o2.log_text())   # their DELs: backlog
    ni = nc.info("replication")
    assert ni["master_replid2"] == info["master_replid"]
    assert ni["second_repl_offset"] == info["master_repl_offset"] + 1
    assert ni["master_replid"] != info["master_replid"]
    mixed_load(o2.port, 16, 300)
    converged(nc, c1, c2)
    assert c1.info("replication")["master_replid"] == ni["master_replid"]
