"""Run a real omakase server from Python: ``omakase.serve(**config)``.

::

    import redis, omakase
    with omakase.serve(maxmemory="10mb", appendonly=True) as srv:
        r = redis.Redis.from_url(srv.url)
        r.set("k", "v")

``serve`` starts ``python -m omakase`` in a subprocess with a free port, no
snapshots (``save ""``), ``bind 127.0.0.1`` and a private temporary ``dir``,
then each keyword turned into a ``--name value`` option (``_`` becomes ``-``,
True/False become yes/no, a list or tuple gives several words, None skips
the option; any of the defaults can be overridden the same way).  It waits
until the server answers PING over a plain socket -- so nothing but the
standard library is needed at run time -- and yields a ``ServerHandle`` with
``host``, ``port``, ``url``, ``pid`` and ``dir``.  On exit it sends SHUTDOWN
NOSAVE, then terminates and finally kills the process if it lingers, and
removes the directory.  The server's log goes to ``<dir>/omakase.log`` and is
quoted in the exception if the server dies during start-up.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass
class ServerHandle:
    host: str
    port: int
    url: str
    pid: int
    dir: str
    password: str | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SHUTDOWN NOSAVE, then SIGTERM, then SIGKILL; returns the exit code."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                cmds = []
                if self.password is not None:
                    cmds.append([b"AUTH", self.password.encode("utf-8", "surrogateescape")])
                cmds.append([b"SHUTDOWN", b"NOSAVE"])
                _send(self.host, self.port, cmds, timeout=min(timeout, 2.0))
            except OSError:
                pass
            for sig in (None, "terminate", "kill"):
                if sig == "terminate":
                    proc.terminate()
                elif sig == "kill":
                    proc.kill()
                try:
                    proc.wait(timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        return proc.returncode


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _encode_command(args: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _send(host: str, port: int, commands: list[list[bytes]], timeout: float) -> list[bytes]:
    """Send commands on a fresh connection; return the first line of each reply."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"".join(_encode_command(c) for c in commands))
        replies: list[bytes] = []
        buf = b""
        while len(replies) < len(commands):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
            while b"\r\n" in buf and len(replies) < len(commands):
                line, buf = buf.split(b"\r\n", 1)
                replies.append(line)
        return replies


def _option_words(name: str, value: Any) -> list[str]:
    from omakase.config import ConfigFlag, lookup
    opt = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [opt, "yes" if value else "no"]
    if isinstance(value, (list, tuple)):
        words: list[str] = []
        for v in value:
            if isinstance(v, (list, tuple)):
                words.extend(str(x) for x in v)
            else:
                words.append(str(v))
        return [opt, *words] if words else [opt, ""]
    text = str(value)
    e = lookup(name.replace("_", "-"))
    if e is not None and e.flags & ConfigFlag.MULTI_ARG_CONFIG and text.strip():
        return [opt, *text.split()]
    return [opt, text]


@contextlib.contextmanager
def serve(*, startup_timeout: float = 20.0, python: str | None = None,
          **config: Any) -> Iterator[ServerHandle]:
    """Start a server configured by ``config``; stop it when the block ends."""
    with tempfile.TemporaryDirectory(prefix="omakase-") as tmp:
        opts: dict[str, Any] = {"port": None, "bind": "127.0.0.1", "save": "", "dir": tmp,
                                "daemonize": False}
        for k, v in config.items():
            opts[k.replace("_", "-")] = v
        bind = opts["bind"]
        words = bind.split() if isinstance(bind, str) else [str(b) for b in bind or ()]
        first = words[0].lstrip("-") if words else "127.0.0.1"
        host = {"*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::*": "::1", "::": "::1"}.get(first, first)
        if opts["port"] is None:
            opts["port"] = free_port(host)
        port = int(opts["port"])
        argv = [python or sys.executable, "-m", "omakase"]
        for k, v in opts.items():
            if v is not None:
                argv += _option_words(k, v)
        password = opts.get("requirepass") or None
        env = dict(os.environ)
        src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        log_path = os.path.join(tmp, "omakase.log")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=tmp, env=env)
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        auth = ":" + urllib.parse.quote(str(password), safe="") + "@" if password else ""
        handle = ServerHandle(host, port, f"redis://{auth}{netloc}", proc.pid, tmp,
                              str(password) if password else None, proc)
        try:
            _wait_ready(handle, proc, startup_timeout, log_path)
            yield handle
        finally:
            handle.stop()


def _wait_ready(handle: ServerHandle, proc: subprocess.Popen, timeout: float, log_path: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"omakase exited with code {proc.returncode} during start-up:\n"
                               + _tail(log_path))
        try:
            reply = _send(handle.host, handle.port, [[b"PING"]], timeout=1.0)
            if reply and (reply[0] == b"+PONG" or reply[0].startswith(b"-NOAUTH")):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            handle.stop()
            raise TimeoutError(f"omakase did not answer PING on {handle.host}:{handle.port} "
                               f"within {timeout}s:\n" + _tail(log_path))
        time.sleep(0.02)


def _tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
