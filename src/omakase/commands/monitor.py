"""MONITOR (Redis's ``monitorCommand`` in replication.c and
``replicationFeedMonitors``).

A monitor client is flagged ``SLAVE|MONITOR`` and kept in ``server.monitors``.
The after-call hook (``slowlog.py``) calls ``feed`` after every command that
is not flagged ``skip_monitor`` or ``admin``: as in Redis 7.0 the line is
built after the command ran, so it shows the db selected afterwards and
redacted AUTH/HELLO arguments.  The line is

    +<sec>.<usec> [<db> <addr>] "arg" "arg"...\\r\\n

with ``[<db> lua]`` for script clients and ``[<db> unix:<path>]`` for unix
socket clients; each argument is quoted as ``sdscatrepr`` does.  The same
bytes object is appended to every monitor.  QUIT closes the client; RESET
(``client_reset_hooks``) and disconnection (``client_free_hooks``) take it
out of the list.

While at least one monitor exists, a guard (``server.guard_hooks``) rejects
keyspace commands (write, read-only, may-replicate) sent by a monitor with
"Replica can't interact with the keyspace", as processCommand does for any
CLIENT_SLAVE client; it is removed with the last monitor, so the command path
pays nothing otherwise.  DIVERGENCE: guards run after MULTI queueing here,
so a monitor inside MULTI gets the error at EXEC rather than when queueing.
EVAL/FCALL (flagged skip_monitor) are fed by Redis before the script runs;
the scripting module would call ``feed`` itself.
"""
from __future__ import annotations

import re
import time
from typing import Any

from omakase.commands.registry import CmdFlag, command
from omakase.networking import ClientFlag

_SAFE = re.compile(rb'[\x20\x21\x23-\x5b\x5d-\x7e]*\Z')
_ESC = []
for _i in range(256):
    _ch = bytes([_i])
    if _ch in (b"\\", b'"'):
        _ESC.append(b"\\" + _ch)
    elif _ch == b"\n":
        _ESC.append(b"\\n")
    elif _ch == b"\r":
        _ESC.append(b"\\r")
    elif _ch == b"\t":
        _ESC.append(b"\\t")
    elif _ch == b"\x07":
        _ESC.append(b"\\a")
    elif _ch == b"\x08":
        _ESC.append(b"\\b")
    elif 0x20 <= _i <= 0x7e:
        _ESC.append(_ch)
    else:
        _ESC.append(b"\\x%02x" % _i)
del _i, _ch


_CLOSING = ClientFlag.CLOSE_AFTER_REPLY | ClientFlag.CLOSE_ASAP
_MONITOR = ClientFlag.MONITOR
_KEYSPACE = CmdFlag.WRITE | CmdFlag.READONLY | CmdFlag.MAY_REPLICATE
NO_KEYSPACE = "Replica can't interact with the keyspace"


def keyspace_guard(c: Any, cmd: Any, argv: list[bytes]) -> str | None:
    """processCommand's check for CLIENT_SLAVE clients (monitors here)."""
    if c.flags & _MONITOR and cmd.flags & _KEYSPACE:
        return NO_KEYSPACE
    return None


def _monitors_changed(server: Any) -> None:
    guards = server.guard_hooks
    if server.monitors:
        if keyspace_guard not in guards:
            guards.append(keyspace_guard)
    elif keyspace_guard in guards:
        guards.remove(keyspace_guard)
    server.refresh_guards()
    server.refresh_after_call_threshold()


def repr_arg(a: bytes) -> bytes:
    """sdscatrepr: a double-quoted, escaped representation."""
    if _SAFE.match(a):
        return b'"' + a + b'"'
    esc = _ESC
    return b'"' + b"".join([esc[b] for b in a]) + b'"'


def feed(server: Any, c: Any, argv: list[bytes]) -> None:
    """replicationFeedMonitors."""
    now = time.time()
    sec = int(now)
    usec = int((now - sec) * 1_000_000)
    if c.flags & ClientFlag.LUA:
        who = b"lua"
    elif c.flags & ClientFlag.UNIX_SOCKET:
        who = b"unix:" + str(server.config.unixsocket).encode()
    else:
        who = c.addr.encode()
    line = b"+%d.%06d [%d %b] %b\r\n" % (sec, usec, c.db.id, who,
                                           b" ".join([repr_arg(a) for a in argv]))
    for m in server.monitors:
        if m.flags & _CLOSING:      # prepareClientToWrite drops these replies
            continue
        m.add_reply(line)
        m.queue_write()


def remove_monitor(c: Any) -> None:
    """Client freed or RESET: it stops being a monitor."""
    if c.flags & ClientFlag.MONITOR:
        server = c.server
        try:
            server.monitors.remove(c)
        except ValueError:
            pass
        c.flags &= ~(ClientFlag.MONITOR | ClientFlag.SLAVE)
        _monitors_changed(server)


@command("monitor")
def monitor_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    if c.flags & ClientFlag.LUA or server.in_exec:
        c.add_reply_error("MONITOR isn't allowed for DENY BLOCKING client")
        return
    if c.flags & ClientFlag.SLAVE:     # already a replica or a monitor
        return
    c.flags |= ClientFlag.SLAVE | ClientFlag.MONITOR
    server.monitors.append(c)
    _monitors_changed(server)
    c.add_reply_ok()
