"""Starting servers for tests: omakase or Debian's redis-server, as subprocesses."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

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

    def __init__(self, kind: str = "omakase", **config) -> None:
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
        base.update(config)
        self.config = base
        if kind == "omakase":
            cmd = [sys.executable, "-m", "omakase"]
        else:
            cmd = [shutil.which("redis-server") or "/usr/bin/redis-server"]
        self.argv = cmd + ["--port", str(self.port)] + config_args(base)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
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
