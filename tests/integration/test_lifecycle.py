"""Start-up, shutdown, signals, pidfile, unix socket, client limits, timeouts."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from helpers import ServerProcess, free_port, no_retry, spawn_omakase, wait_ping


def test_sigterm_stops_cleanly_and_removes_pidfile(start_server, tmp_path):
    pidfile = str(tmp_path / "omakase.pid")
    srv = start_server(pidfile=pidfile)
    with open(pidfile) as f:
        assert int(f.read()) == srv.proc.pid
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0
    assert not os.path.exists(pidfile)
    log = srv.log_text()
    assert "Received SIGTERM scheduling shutdown..." in log
    assert "Redis is now ready to exit, bye bye..." in log


def test_log_lines_have_redis_format(start_server):
    srv = start_server(loglevel="verbose")
    srv.client().ping()
    line = srv.log_text().splitlines()[0]
    assert re.match(r"^\d+:[CM] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] ", line)


def test_shutdown_command(start_server):
    srv = start_server()
    c = srv.client(retry=no_retry())
    try:
        c.shutdown(nosave=True)   # redis-py swallows the closed connection
    except redis.ConnectionError:
        pass
    assert srv.proc.wait(10) == 0


def test_unix_socket(start_server, tmp_path):
    path = str(tmp_path / "omakase.sock")
    srv = start_server(unixsocket=path, unixsocketperm=700)
    assert oct(os.stat(path).st_mode & 0o777) == "0o700"
    c = redis.Redis(unix_socket_path=path, protocol=2)
    assert c.set("k", "v") and c.get("k") == b"v"
    info = c.client_info()
    assert info["addr"].startswith(path)


def test_maxclients(start_server):
    srv = start_server(maxclients=3)
    # The readiness probe's connection may not be freed yet (with I/O threads
    # its EOF is read in a later pass): retry until three clients fit.
    deadline = time.time() + 5
    while True:
        socks = [socket.create_connection((srv.host, srv.port)) for _ in range(3)]
        replies = []
        for s in socks:
            s.sendall(b"PING\r\n")
            replies.append(s.recv(100))
        if all(r == b"+PONG\r\n" for r in replies) or time.time() > deadline:
            break
        for s in socks:
            s.close()
        time.sleep(0.1)
    assert replies == [b"+PONG\r\n"] * 3
    extra = socket.create_connection((srv.host, srv.port))
    assert extra.recv(100) == b"-ERR max number of clients reached\r\n"
    for s in socks + [extra]:
        s.close()


def test_idle_timeout_closes_client(start_server):
    srv = start_server(timeout=1)
    s = socket.create_connection((srv.host, srv.port))
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
    s.settimeout(5)
    t = time.time()
    assert s.recv(100) == b""
    assert 0.5 < time.time() - t < 4


def test_bad_config_refuses_to_start(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 7000\nfoo bar\n")
    p = subprocess.run([sys.executable, "-m", "omakase", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1
    assert "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***" in p.stderr
    assert ">>> 'foo bar'" in p.stderr
    assert "Bad directive or wrong number of arguments" in p.stderr


def test_config_file_and_overrides(tmp_path):
    port = free_port()
    conf = tmp_path / "omakase.conf"
    conf.write_text(f"port 1\nhz 20\n# comment\nmaxmemory 10mb\n")
    p = spawn_omakase(conf, "--port", port, "--save", "", "--maxmemory", "20mb")
    try:
        c = wait_ping(redis.Redis(port=port, protocol=2), p)
        assert c.config_get("hz") == {"hz": "20"}
        assert c.config_get("maxmemory") == {"maxmemory": str(20 * 1024 * 1024)}
        assert c.config_get("port") == {"port": str(port)}
        c.config_set("hz", 30)
        c.config_rewrite()
        text = conf.read_text()
        assert "# comment" in text and "hz 30" in text
    finally:
        p.terminate()
        p.wait(10)


def test_daemonize(tmp_path):
    port = free_port()
    pidfile = tmp_path / "d.pid"
    p = subprocess.run([sys.executable, "-m", "omakase", "--port", str(port), "--daemonize", "yes",
                        "--pidfile", str(pidfile), "--save", "", "--dir", str(tmp_path),
                        "--logfile", str(tmp_path / "d.log")], timeout=30)
    assert p.returncode == 0
    deadline = time.time() + 15
    while time.time() < deadline and not pidfile.exists():
        time.sleep(0.1)
    pid = int(pidfile.read_text())
    c = redis.Redis(port=port, protocol=2)
    for _ in range(100):
        try:
            assert c.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not pidfile.exists():
            break
        time.sleep(0.1)
    assert not pidfile.exists()


def test_embedded_serve():
    import omakase
    with omakase.serve(hz=15) as srv:
        c = redis.Redis.from_url(srv.url, protocol=2)
        assert c.ping()
        assert c.config_get("hz") == {"hz": "15"}
