"""Replication commands: REPLICAOF/SLAVEOF, ROLE, REPLCONF, PSYNC/SYNC,
WAIT, FAILOVER.

Thin handlers over ``omakase.replication`` (Redis's ``replicaofCommand``,
``roleCommand``, ``replconfCommand``, ``syncCommand``, ``waitCommand``,
``failoverCommand`` in ``replication.c``): they parse and validate, the
module does the work.
"""
from __future__ import annotations

import time
from typing import Any

from omakase.commands.registry import command
from omakase.networking import ClientFlag
from omakase.util import parse_ll

NOT_INTEGER = "value is not an integer or out of range"


def _parse_long(arg: bytes) -> int | None:
    """string2ll: None when not a canonical 64-bit integer."""
    ok, v = parse_ll(arg)
    return v if ok else None


@command("replicaof")
def replicaof_command(c: Any, argv: list[bytes]) -> None:
    _replicaof(c, argv)


@command("slaveof")
def slaveof_command(c: Any, argv: list[bytes]) -> None:
    _replicaof(c, argv)


def _replicaof(c: Any, argv: list[bytes]) -> None:
    server = c.server
    repl = server.repl
    if getattr(server.config, "cluster_enabled", False):
        c.add_reply_error("REPLICAOF not allowed in cluster mode.")
        return
    if repl.failover_state != "no-failover":
        c.add_reply_error("REPLICAOF not allowed while failing over.")
        return
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        if repl.masterhost is not None:
            repl.unset_master()
            server.log.notice(f"MASTER MODE enabled (user request from "
                              f"'{c.info_line()}')")
        c.add_reply_ok()
        return
    if c.flags & ClientFlag.SLAVE:
        c.add_reply_error("Command is not valid when client is a replica.")
        return
    port = _parse_long(argv[2])
    if port is None or port < 0 or port > 65535:
        c.add_reply_error("Invalid master port")
        return
    host = argv[1].decode("utf-8", "replace")
    if repl.masterhost is not None and repl.masterhost.lower() == host.lower() \
            and repl.masterport == port:
        server.log.notice("REPLICAOF would result into synchronization with the master we "
                          "are already connected with. No operation performed.")
        c.add_reply(b"+OK Already connected to specified master\r\n")
        return
    repl.set_master(host, port)
    server.log.notice(f"REPLICAOF {host}:{port} enabled (user request from "
                      f"'{c.info_line()}')")
    c.add_reply_ok()


@command("role")
def role_command(c: Any, argv: list[bytes]) -> None:
    c.server.repl.role_reply(c)


@command("replconf")
def replconf_command(c: Any, argv: list[bytes]) -> None:
    c.server.repl.replconf(c, argv)


@command("psync")
def psync_command(c: Any, argv: list[bytes]) -> None:
    c.server.repl.psync(c, argv)


@command("sync")
def sync_command(c: Any, argv: list[bytes]) -> None:
    c.server.repl.psync(c, argv)


@command("wait")
def wait_command(c: Any, argv: list[bytes]) -> None:
    from omakase.blocking import BLOCKED_WAIT, block_for_keys
    server = c.server
    repl = server.repl
    if repl.masterhost is not None:
        c.add_reply_error("WAIT cannot be used with replica instances. Please also note that "
                          "since Redis 4.0 if a replica is configured to be writable (which "
                          "is not the default) writes to replicas are just local and are not "
                          "propagated.")
        return
    numreplicas = _parse_long(argv[1])
    if numreplicas is None:
        c.add_reply_error(NOT_INTEGER)
        return
    timeout = _parse_long(argv[2])
    if timeout is None:
        c.add_reply_error("timeout is not an integer or out of range")
        return
    if timeout < 0:
        c.add_reply_error("timeout is negative")
        return
    # The offset of this client's last propagated write (c->woff): a client
    # that wrote nothing is served by every online replica at once.
    offset = c.woff
    acked = repl.replicas_acked(offset)
    if acked >= numreplicas or c.flags & ClientFlag.MULTI or c.sock is None:
        c.add_reply_int(acked)
        return
    deadline = int(time.time() * 1000) + timeout if timeout else 0
    repl.wait_info[c.id] = (numreplicas, offset)
    repl.waiting.append(c)

    def on_timeout(cl: Any) -> None:
        info = repl.wait_info.pop(cl.id, None)
        if cl in repl.waiting:
            repl.waiting.remove(cl)
        cl.add_reply_int(repl.replicas_acked(info[1] if info else offset))

    block_for_keys(c, [], deadline, lambda *a: False, on_timeout, BLOCKED_WAIT)
    repl.request_ack()


@command("failover")
def failover_command(c: Any, argv: list[bytes]) -> None:
    from omakase.commands.client import pause_writes_indefinitely
    from omakase import replication as R
    server = c.server
    repl = server.repl
    if getattr(server.config, "cluster_enabled", False):
        c.add_reply_error("FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER "
                          "command instead.")
        return
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if repl.failover_state == R.NO_FAILOVER:
            c.add_reply_error("No failover in progress.")
            return
        repl._failover_abort("Failover manually aborted")
        c.add_reply_ok()
        return
    timeout = 0
    force = False
    port = 0
    host = None
    j = 1
    while j < len(argv):
        word = argv[j].lower()
        if word == b"timeout" and j + 1 < len(argv) and timeout == 0:
            timeout = _parse_long(argv[j + 1])
            if timeout is None:
                c.add_reply_error(NOT_INTEGER)
                return
            if timeout <= 0:
                c.add_reply_error("FAILOVER timeout must be greater than 0")
                return
            j += 2
        elif word == b"to" and j + 2 < len(argv) and host is None:
            port = _parse_long(argv[j + 2])
            if port is None:
                c.add_reply_error(NOT_INTEGER)
                return
            host = argv[j + 1].decode("utf-8", "replace")
            j += 3
        elif word == b"force" and not force:
            force = True
            j += 1
        else:
            c.add_reply_error("syntax error")
            return
    if repl.failover_state != R.NO_FAILOVER:
        c.add_reply_error("FAILOVER already in progress.")
        return
    if repl.masterhost is not None:
        c.add_reply_error("FAILOVER is not valid when server is a replica.")
        return
    if not repl.replicas:
        c.add_reply_error("FAILOVER requires connected replicas.")
        return
    if force and (not timeout or host is None):
        c.add_reply_error("FAILOVER with force option requires both a timeout and target "
                          "HOST and IP.")
        return
    if host is not None:
        target = None
        for lk in repl.replicas:
            if lk.ip().lower() == host.lower() and lk.listening_port == port:
                target = lk
                break
        if target is None:
            c.add_reply_error("FAILOVER target HOST and PORT is not a replica.")
            return
        if target.state != R.ONLINE:
            c.add_reply_error("FAILOVER target replica is not online.")
            return
        repl.failover_target = (host, port)
        server.log.notice(f"FAILOVER requested to {host}:{port}.")
    else:
        repl.failover_target = None
        server.log.notice("FAILOVER requested to any replica.")
    repl.failover_end = time.time() + timeout / 1000.0 if timeout else 0.0
    repl.failover_force = force
    repl.failover_state = R.FAILOVER_WAIT_FOR_SYNC
    pause_writes_indefinitely(server)
    c.add_reply_ok()
