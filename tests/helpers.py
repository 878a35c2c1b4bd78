"""Starting servers for tests: omakase or Debian's redis-server, as subprocesses."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_args(config: dict) -> list[str]:
    args: list[str] = []
    for name, value in config.items():
        name = name.replace("_", "-")
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            args += [f"--{name}", *map(str, value)]
        else:
            args += [f"--{name}", str(value)]
    return args


class ServerProcess:
    """A server subprocess on a free port, in its own temporary dir."""

    def __init__(self, kind: str = "omakase", config_file: str | None = None,
                 **config) -> None:
        self.kind = kind
        self.port = config.pop("port", None) or free_port()
        self.host = "127.0.0.1"
        self.dir = tempfile.mkdtemp(prefix=f"{kind}-test-")
        base = {"save": "", "appendonly": False, "dir": self.dir,
                "bind": "127.0.0.1", "logfile": os.path.join(self.dir, "server.log")}
        if kind == "omakase":
            base["enable-debug-command"] = "yes"
        else:
            base["enable-debug-command"] = "yes"
        io_threads = os.environ.get("OMAKASE_TEST_IO_THREADS")
        if kind != "omakase" or {"io_threads", "io-threads"} & set(config):
            io_threads = None
        if io_threads:
            # Run the suite through threaded I/O: every reply and request goes
            # through the I/O threads (OMAKASE_IO_THREADS_MIN_PENDING=1).
            base["io-threads"] = io_threads
            base["io-threads-do-reads"] = "yes"
        base.update(config)
        self.config = base
        if kind == "omakase":
            cmd = [sys.executable, "-m", "omakase"]
        else:
            cmd = [shutil.which("redis-server") or "/usr/bin/redis-server"]
        # a config file first (CONFIG REWRITE needs one), then the overrides
        self.argv = (cmd + ([config_file] if config_file else []) + ["--port", str(self.port)]
                     + config_args(base))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
        if io_threads:
            env.setdefault("OMAKASE_IO_THREADS_MIN_PENDING", "1")
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}: {err}"
                                   f"\n{self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith((b"+PONG", b"-NOAUTH", b"-LOADING")):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer PING on port {self.port}")

    def log_text(self) -> str:
        try:
            with open(self.config["logfile"], errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def client(self, **kw) -> redis.Redis:
        kw.setdefault("protocol", 2)   # redis-py 8 defaults to RESP3
        return redis.Redis(host=self.host, port=self.port, **kw)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class ExternalServer:
    """A server someone else runs (--redis-url)."""

    def __init__(self, url: str) -> None:
        c = redis.Redis.from_url(url)
        kw = c.connection_pool.connection_kwargs
        self.host, self.port = kw["host"], kw["port"]
        self.kind = "external"
        c.close()

    def client(self, **kw) -> redis.Redis:
        kw.setdefault("protocol", 2)   # redis-py 8 defaults to RESP3
        return redis.Redis(host=self.host, port=self.port, **kw)

    def stop(self) -> None:
        pass


def redis_server_available() -> bool:
    return shutil.which("redis-server") is not None


# ---------------------------------------------------------------------------
# Waiting, spawning and state pictures shared by several test files
# ---------------------------------------------------------------------------
def wait_for(pred, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll pred() every `step` seconds until it is true (True) or `timeout`
    seconds have passed (False); pred() is tried once more at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def wait_value(pred, timeout: float = 10.0, step: float = 0.05,
               errors: tuple = (redis.ConnectionError, redis.ResponseError)):
    """Poll pred() until it returns something true and return that; `errors`
    raised meanwhile count as not yet.  Past `timeout`, AssertionError with
    the last value or error seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except errors as exc:
            last = exc
        time.sleep(step)
    raise AssertionError(f"timed out waiting: {last!r}")


def omakase_env() -> dict:
    """The environment for an omakase subprocess: src/ first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def omakase_argv(*args) -> list[str]:
    """`python -m omakase ARGS` with this interpreter."""
    return [sys.executable, "-m", "omakase", *map(str, args)]


def spawn_omakase(*args, **popen_kw) -> subprocess.Popen:
    """An omakase subprocess started as is (no readiness wait, no temp dir):
    for tests of start-up itself.  Output goes to /dev/null unless
    popen_kw says otherwise."""
    popen_kw.setdefault("stdout", subprocess.DEVNULL)
    popen_kw.setdefault("stderr", subprocess.DEVNULL)
    popen_kw.setdefault("env", omakase_env())
    return subprocess.Popen(omakase_argv(*args), **popen_kw)


def no_retry():
    """A redis-py retry policy that does not retry.  redis-py 8 retries a
    connection or authentication error ten times with backoff (about 5 s)
    before raising it: a client whose command is meant to fail that way
    (wrong password, SHUTDOWN, a killed connection) is made with
    ``retry=no_retry()`` so the test does not wait for nothing."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    return Retry(NoBackoff(), 0)


def wait_ping(client: redis.Redis, proc: subprocess.Popen | None = None,
              timeout: float = 15.0) -> redis.Redis:
    """Return `client` once its server answers PING (polled without
    redis-py's retries, which are restored after).  Past `timeout`, or when
    `proc` has exited, `proc` is killed and the ConnectionError raised."""
    deadline = time.monotonic() + timeout
    retry = client.get_retry()
    client.set_retry(no_retry())
    try:
        while True:
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                    if proc is not None:
                        proc.kill()
                    raise
                time.sleep(0.05)
    finally:
        client.set_retry(retry)


def dataset(srv) -> dict:
    """A client-side picture of every key of every db: type, value (sets and
    hashes sorted), absolute expiry."""
    out = {}
    c0 = srv.client()
    dbs = [int(name[2:]) for name in c0.info("keyspace")]
    c0.close()
    for n in dbs:
        c = srv.client(db=n)
        for key in c.scan_iter(count=1000):
            t = c.type(key)
            if t == b"string":
                v = c.get(key)
            elif t == b"list":
                v = c.lrange(key, 0, -1)
            elif t == b"set":
                v = sorted(c.smembers(key))
            elif t == b"zset":
                v = c.execute_command("ZRANGE", key, 0, -1, "WITHSCORES")
            elif t == b"hash":
                v = sorted(c.hgetall(key).items())
            else:
                v = None
            out[(n, key)] = (t, v, c.execute_command("PEXPIRETIME", key))
        c.close()
    return out


def digest(srv) -> str | None:
    """DEBUG DIGEST, or None where this server cannot compute it (a type
    without a digest yet)."""
    c = srv.client()
    try:
        return c.execute_command("DEBUG", "DIGEST")
    except redis.ResponseError:
        return None
    finally:
        c.close()


def raw_reply(r: redis.Redis, *args):
    """The reply as redis-py's protocol layer parses it, without the
    per-command response callbacks (which turn OK into True etc.)."""
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def examples(n: int) -> int:
    """A hypothesis max_examples: `n` (the project keeps them modest, <= 50,
    so the suite stays fast), times the factor in $OMAKASE_EXAMPLES_SCALE
    for a deeper run (e.g. 8)."""
    return max(1, int(n * float(os.environ.get("OMAKASE_EXAMPLES_SCALE", "1"))))


def err(r: redis.Redis, *args) -> str:
    """The error text r.execute_command(*args) gets (the test fails if the
    command does not fail)."""
    import pytest
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command(*args)
    return str(e.value)


def aof_preambles() -> list:
    """The two AOF base formats as pytest params for a ``preamble`` argument:
    a RESP base (``aof-use-rdb-preamble no``) and an RDB base (``yes``, skipped
    while the RDB module is missing)."""
    import pytest
    try:
        import omakase.persistence.rdb  # noqa: F401
        have_rdb = True
    except ImportError:
        have_rdb = False
    return [pytest.param("no", id="resp-base"),
            pytest.param("yes", id="rdb-base",
                         marks=pytest.mark.skipif(not have_rdb, reason="no rdb module yet"))]


def all_acked(c: redis.Redis) -> bool:
    """Every replica acked the master's whole stream."""
    info = c.info("replication")
    return all(v["offset"] == info["master_repl_offset"]
               for k, v in info.items() if k.startswith("slave") and isinstance(v, dict))


def replica_acked(c: redis.Redis) -> bool:
    """The (first) replica is attached and acked the master's whole stream."""
    info = c.info("replication")
    slave = info.get("slave0")
    return bool(slave) and slave["offset"] == info["master_repl_offset"]


def stop_process(srv: "ServerProcess") -> None:
    """SIGSTOP: the server stops reading (a lagging replica)."""
    os.kill(srv.proc.pid, signal.SIGSTOP)


def resume_process(srv: "ServerProcess") -> None:
    try:
        os.kill(srv.proc.pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


@contextmanager
def master_with_replica(kind: str = "omakase", **config):
    """A master (omakase, or redis-server to compare) and a redis-server
    replica in sync with it: (master, replica, master client, replica
    client).  On exit the replica is resumed (if stopped) and both are
    stopped."""
    master = ServerProcess(kind, repl_diskless_sync_delay=0, **config)
    replica = None
    try:
        replica = ServerProcess("redis")
        mc, rc = master.client(), replica.client()
        mc.set("before", "sync")
        rc.replicaof(master.host, master.port)
        wait_value(lambda: rc.info("replication")["master_link_status"] == "up")
        wait_value(lambda: replica_acked(mc))
        yield master, replica, mc, rc
    finally:
        if replica is not None:
            resume_process(replica)
            replica.stop()
        master.stop()
