"""SHUTDOWN waiting for lagging replicas (``shutdown-timeout``), as Redis 7.0
does (prepareForShutdown / finishShutdown / abortShutdown in server.c), and
WAIT counting replicas against the caller's own last write (``c->woff``).

Each test runs an omakase master with a Debian redis-server replica; a
replica "lags" when it is stopped with SIGSTOP after a write, so it can no
longer acknowledge the master's offset.  The same scenarios were run by hand
against redis-server 7.0.15 as the master: same replies, same log lines.
"""
from __future__ import annotations

import os
import re
import select
import signal
import socket
import time

import pytest
import redis

from helpers import (ServerProcess, master_with_replica, redis_server_available,
                     replica_acked, wait_value)

pytestmark = pytest.mark.skipif(not redis_server_available(),
                                reason="redis-server not installed")

WAITING = "Waiting for replicas before shutting down."
SHUTDOWN_ERR = b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
LAGGING = re.compile(r"Lagging replica 127\.0\.0\.1:\d+ reported offset \d+ behind master, "
                     r"lag=\d+, state=online\.")


def raw(srv: ServerProcess, payload: bytes) -> socket.socket:
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(payload)
    return s


def replied_within(s: socket.socket, seconds: float) -> bool:
    return bool(select.select([s], [], [], seconds)[0])


def read_reply(s: socket.socket, timeout: float = 10.0) -> bytes:
    s.settimeout(timeout)
    return s.recv(4096)


def abort(srv: ServerProcess) -> bytes:
    with raw(srv, b"SHUTDOWN ABORT\r\n") as s:
        return read_reply(s)


def wait_log(srv: ServerProcess, text: str, count: int = 1, timeout: float = 10.0) -> None:
    wait_value(lambda: srv.log_text().count(text) >= count, timeout)


def wait_exit(srv: ServerProcess, timeout: float = 10.0) -> int:
    return srv.proc.wait(timeout)


def lag(replica: ServerProcess, mc: redis.Redis) -> None:
    """Stop the replica, then write: the master's offset moves past its ack."""
    os.kill(replica.proc.pid, signal.SIGSTOP)
    mc.set("unacked", "write")


def test_shutdown_waits_for_lagging_replica_until_timeout():
    with master_with_replica(shutdown_timeout=2) as (master, replica, mc, _rc):
        lag(replica, mc)
        t0 = time.monotonic()
        shut = raw(master, b"SHUTDOWN\r\n")
        wait_log(master, WAITING)
        # Writes are paused, reads are served; SHUTDOWN itself gets no reply.
        writer = raw(master, b"SET paused 1\r\n")
        assert not replied_within(writer, 0.2)
        assert mc.get("before") == b"sync"
        line = next(ln for ln in mc.client_list() if ln["cmd"] == "shutdown")
        assert "b" in line["flags"]
        assert mc.execute_command("CLIENT", "UNBLOCK", line["id"]) == 0
        assert not replied_within(shut, 0)
        assert wait_exit(master) == 0
        assert time.monotonic() - t0 >= 1.5
        assert read_reply(shut) == b""          # closed, never answered
        assert read_reply(writer) == b""        # the paused write never ran
        log = master.log_text()
        assert LAGGING.search(log), log
        assert "0 of 1 replicas are in sync when shutting down." in log
        assert "Redis is now ready to exit, bye bye..." in log


def test_shutdown_abort_while_waiting():
    with master_with_replica(shutdown_timeout=30) as (master, replica, mc, _rc):
        lag(replica, mc)
        shut = raw(master, b"SHUTDOWN\r\n")
        wait_log(master, WAITING)
        writer = raw(master, b"SET paused 1\r\n")
        assert not replied_within(writer, 0.2)
        # A second SHUTDOWN joins the waiting one.
        shut2 = raw(master, b"SHUTDOWN\r\n")
        assert not replied_within(shut2, 0.2)
        assert master.log_text().count("User requested shutdown...") == 1
        assert abort(master) == b"+OK\r\n"
        assert read_reply(shut) == SHUTDOWN_ERR
        assert read_reply(shut2) == SHUTDOWN_ERR
        assert read_reply(writer) == b"+OK\r\n"   # writes resume
        assert mc.get("paused") == b"1"
        assert mc.set("after", "abort")
        assert master.proc.poll() is None
        assert "Shutdown manually aborted." in master.log_text()
        with pytest.raises(redis.ResponseError, match="^No shutdown in progress.$"):
            mc.execute_command("SHUTDOWN", "ABORT")
        for s in (shut, shut2, writer):
            s.close()


def test_sigterm_waits_and_abort_cancels_it():
    with master_with_replica(shutdown_timeout=30) as (master, replica, mc, _rc):
        lag(replica, mc)
        os.kill(master.proc.pid, signal.SIGTERM)
        wait_log(master, WAITING)
        writer = raw(master, b"SET paused 1\r\n")
        assert not replied_within(writer, 0.2)
        assert abort(master) == b"+OK\r\n"
        assert read_reply(writer) == b"+OK\r\n"
        assert master.proc.poll() is None and mc.ping()
        writer.close()
        # Resumed, the replica catches up: a new SIGTERM exits once it acked.
        os.kill(replica.proc.pid, signal.SIGCONT)
        wait_value(lambda: replica_acked(mc))
        os.kill(master.proc.pid, signal.SIGTERM)
        assert wait_exit(master) == 0


def test_shutdown_with_healthy_replica_completes_after_its_ack():
    with master_with_replica(shutdown_timeout=30) as (master, _replica, mc, rc):
        mc.set("last", "write")
        t0 = time.monotonic()
        shut = raw(master, b"SHUTDOWN\r\n")
        assert wait_exit(master) == 0
        assert time.monotonic() - t0 < 10        # far below shutdown-timeout
        assert read_reply(shut) == b""
        # The replica had acked the last write before the master exited.
        assert rc.get("last") == b"write"
        log = master.log_text()
        assert "1 of 1 replicas are in sync when shutting down." in log
        assert "Lagging replica" not in log


def test_shutdown_now_does_not_wait():
    with master_with_replica(shutdown_timeout=30) as (master, replica, mc, _rc):
        lag(replica, mc)
        t0 = time.monotonic()
        shut = raw(master, b"SHUTDOWN NOW\r\n")
        assert wait_exit(master) == 0
        assert time.monotonic() - t0 < 10
        assert read_reply(shut) == b""
        log = master.log_text()
        assert WAITING not in log
        assert LAGGING.search(log), log       # finishShutdown still reports it


def test_failed_final_save_cancels_the_shutdown(tmp_path):
    with master_with_replica(shutdown_timeout=1, enable_protected_configs="yes") as (
            master, replica, mc, _rc):
        gone = tmp_path / "gone"
        gone.mkdir()
        mc.config_set("dir", str(gone))
        gone.rmdir()                            # the final save cannot open its file
        lag(replica, mc)
        shut = raw(master, b"SHUTDOWN SAVE\r\n")
        wait_log(master, WAITING)
        writer = raw(master, b"SET paused 1\r\n")
        assert read_reply(shut) == SHUTDOWN_ERR
        assert read_reply(writer) == b"+OK\r\n"
        assert master.proc.poll() is None and mc.get("paused") == b"1"
        log = master.log_text()
        assert "Error trying to save the DB, can't exit." in log
        assert "Errors trying to shut down the server. Check the logs" in log
        for s in (shut, writer):
            s.close()


@pytest.mark.parametrize("kind", ["omakase", "redis"])
def test_wait_uses_the_callers_last_write(kind):
    """WAIT waits for the offset of the calling client's last propagated
    write: with the replica stopped, a client that wrote nothing is answered
    1 at once, the writer gets 0 at its timeout; a read that propagates
    nothing leaves the writer's offset as it was."""
    with master_with_replica(kind, shutdown_timeout=0) as (master, replica, mc, _rc):
        reader = master.client()
        writer = master.client()
        try:
            assert writer.set("w", "1")
            wait_value(lambda: replica_acked(mc))
            assert writer.execute_command("WAIT", 1, 0) == 1   # acked already
            os.kill(replica.proc.pid, signal.SIGSTOP)
            assert writer.set("w", "2")
            t0 = time.monotonic()
            assert reader.execute_command("WAIT", 1, 2000) == 1
            assert time.monotonic() - t0 < 1.0
            assert writer.get("w") == b"2"
            t0 = time.monotonic()
            assert writer.execute_command("WAIT", 1, 300) == 0
            assert time.monotonic() - t0 >= 0.25
        finally:
            reader.close()
            writer.close()
