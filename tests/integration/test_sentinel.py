"""Real Redis Sentinels managing omakase: a master and two replicas.

Three ``redis-sentinel`` processes (``redis-server --sentinel`` when the
``redis-sentinel`` binary is not installed) monitor an omakase master with two
omakase replicas.  The master is killed with SIGKILL; the sentinels must agree
it is down, promote one replica (REPLICAOF NO ONE inside MULTI/EXEC), point
the other at it (a PSYNC2 partial resync through ``replid2``), and a redis-py
``Sentinel`` client must keep writing through the new master.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from redis.sentinel import Sentinel

from helpers import ServerProcess, free_port, redis_server_available, wait_value

pytestmark = pytest.mark.skipif(not redis_server_available(),
                                reason="redis-server is not installed")


def _wait(pred, timeout=15.0, step=0.05):
    return wait_value(pred, timeout, step,
                      (redis.ConnectionError, redis.ResponseError, redis.TimeoutError))


class SentinelProcess:
    def __init__(self, master_port: int) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="sentinel-test-")
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"logfile {os.path.join(self.dir, 'sentinel.log')}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {master_port} 2\n"
                    f"sentinel down-after-milliseconds mymaster 1000\n"
                    f"sentinel failover-timeout mymaster 5000\n"
                    f"sentinel parallel-syncs mymaster 1\n")
        binary = shutil.which("redis-sentinel")
        argv = [binary, conf] if binary else [shutil.which("redis-server"), conf, "--sentinel"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c = redis.Redis(port=self.port, protocol=2)
        _wait(lambda: c.ping(), 10)
        c.close()

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "sentinel.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster(tmp_path):
    cfg = dict(repl_diskless_sync_delay=0, repl_ping_replica_period=1)
    master = ServerProcess("omakase", **cfg)
    confs = []
    for i in range(2):        # Sentinel persists its changes with CONFIG REWRITE
        conf = tmp_path / f"replica{i}.conf"
        conf.write_text(f"replicaof 127.0.0.1 {master.port}\n")
        confs.append(str(conf))
    with ThreadPoolExecutor(2) as ex:
        replicas = list(ex.map(
            lambda conf: ServerProcess("omakase", config_file=conf, **cfg), confs))
    for rep, conf in zip(replicas, confs):
        rep.conf_path = conf
    sentinels: list[SentinelProcess] = []
    try:
        for rep in replicas:
            c = rep.client()
            _wait(lambda: c.info("replication")["master_link_status"] == "up")
            c.close()
        sentinels = [SentinelProcess(master.port) for _ in range(3)]
        yield master, replicas, sentinels
    finally:
        for s in sentinels:
            s.stop()
        for srv in [master] + replicas:
            srv.stop()


def test_sentinel_failover(cluster):
    master, replicas, sentinels = cluster
    sentinel = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=1.0,
                        protocol=2)
    s0 = redis.Redis(port=sentinels[0].port, protocol=2, decode_responses=True)
    # Every sentinel sees both replicas and the other sentinels.
    _wait(lambda: len(s0.sentinel_slaves("mymaster")) == 2
          and s0.sentinel_master("mymaster")["num-other-sentinels"] == 2, 20)
    w = sentinel.master_for("mymaster", socket_timeout=1.0)
    for i in range(50):
        w.set(f"before:{i}", i)
    assert sentinel.discover_master("mymaster") == ("127.0.0.1", master.port)

    os.kill(master.proc.pid, signal.SIGKILL)
    master.proc.wait()

    ports = {r.port: r for r in replicas}
    new_addr = _wait(lambda: (lambda a: a if a[1] in ports else None)(
        sentinel.discover_master("mymaster")), 30, 0.2)
    promoted = ports[new_addr[1]]
    other = next(r for r in replicas if r is not promoted)
    pc = promoted.client(decode_responses=True)
    oc = other.client(decode_responses=True)
    _wait(lambda: pc.info("replication")["role"] == "master")
    _wait(lambda: oc.info("replication").get("master_port") == promoted.port
          and oc.info("replication")["master_link_status"] == "up", 20, 0.2)
    # The Sentinel-managed client finds the new master and keeps writing.
    _wait(lambda: w.set("after", "yes"), 15, 0.2)
    for i in range(50):
        w.set(f"after:{i}", i)
    _wait(lambda: oc.get("after:49") == "49", 10)
    assert oc.get("before:49") == "49"
    assert pc.execute_command("DEBUG", "DIGEST") == oc.execute_command("DEBUG", "DIGEST")
    # The other replica continued from its old history (PSYNC2 via replid2).
    assert pc.info("replication")["master_replid2"] != "0" * 40
    assert pc.info("stats")["sync_partial_ok"] >= 1
    # Sentinel made the change permanent with CONFIG REWRITE on both.
    _wait(lambda: "replicaof" not in open(promoted.conf_path).read(), 10, 0.2)
    _wait(lambda: f"replicaof 127.0.0.1 {promoted.port}" in open(other.conf_path).read(),
          10, 0.2)
