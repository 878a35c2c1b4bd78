"""DUMP, RESTORE, RESTORE-ASKING and MIGRATE (the tail of Redis 7.0's ``cluster.c``).

DUMP serializes one value as a DUMP payload: the RDB type byte and value
encoding (``persistence.rdb``), the RDB version (10, two bytes little endian)
and a CRC64 of all that (eight bytes little endian) -- ``createDumpPayload``.

RESTORE (``restoreCommand``) checks, in Redis's order: the options (REPLACE,
ABSTTL, IDLETIME seconds, FREQ frequency -- IDLETIME and FREQ exclude each
other), the key (BUSYKEY unless REPLACE), the TTL, the payload footer
(``verifyDumpPayload``, skipped CRC under DEBUG SET-SKIP-CHECKSUM-VALIDATION 1),
then decodes the value (any failure, an empty value included, is "Bad data
format").  A relative TTL is propagated as an absolute one with ABSTTL
appended, as 7.0 does; a TTL already in the past on a master creates
nothing (and if REPLACE deleted a key, propagates DEL/UNLINK).  Events:
``restore``, or ``del`` in that already-expired case.  RESTORE-ASKING is the
same command (the ASKING flag only matters in a cluster).

MIGRATE (``migrateCommand``) talks to the target with a blocking socket from
the main thread, as Redis does: the whole server waits up to ``timeout``
milliseconds per operation.  Connections are cached per ``host:port`` for 10
seconds of idleness (at most 64, a random one dropped beyond), remembering the
db last SELECTed.  It sends AUTH (or AUTH2's username and password), SELECT
when needed, and one RESTORE (RESTORE-ASKING in a cluster) per key with its
remaining TTL, plus REPLACE if asked; then reads the replies.  Keys the
target accepted are deleted locally (events ``del``) unless COPY, and the
command is propagated as ``DEL`` of exactly those keys.  A socket error
closes the cached connection and is retried once unless it was a timeout;
then the reply is ``IOERR error or timeout writing|reading to target
instance``.  A host that cannot be resolved gives ``IOERR error or timeout
connecting to the client``.  A refused connection is reported as a write
error, as Redis's non-blocking connect does.

DEBUG SET-SKIP-CHECKSUM-VALIDATION <0|1> is registered here (it also makes
RDB loading skip the CRC).
"""
from __future__ import annotations

import random
import socket
import time
from typing import Any

from omakase import replies
from omakase.commands.debug import DEBUG_SUBCOMMANDS, _atoi
from omakase.commands.generic import db_delete
from omakase.commands.registry import command
from omakase.persistence.rdb import (RdbError, dump_payload, restore_value, set_lru_or_lfu,
                                     verify_dump_payload)
from omakase.util import cstr_lower, parse_ll

NOTIFY_GENERIC = 1 << 2

ERR_PAYLOAD = "DUMP payload version or checksum are wrong"
ERR_BAD_FORMAT = "Bad data format"
ERR_TTL = "Invalid TTL value, must be >= 0"
ERR_IDLETIME = "Invalid IDLETIME value, must be >= 0"
ERR_FREQ = "Invalid FREQ value, must be >= 0 and <= 255"
ERR_MIGRATE_KEYS = ("When using MIGRATE KEYS option, the key argument must be set to the "
                    "empty string")
ERR_CONNECT = "-IOERR error or timeout connecting to the client"

MIGRATE_SOCKET_CACHE_ITEMS = 64
MIGRATE_SOCKET_CACHE_TTL = 10
MIGRATE_CHUNK = 64 * 1024
READLINE_MAX = 1024


def _now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------
# DUMP / RESTORE
# ---------------------------------------------------------------------------
@command("dump")
def dump_command(c: Any, argv: list[bytes]) -> None:
    value = c.db.lookup_read(argv[1])
    if value is None:
        c.add_reply_null()
        return
    c.add_reply_bulk(dump_payload(value, c.server))


@command("restore")
def restore_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    cfg = server.config
    replace = absttl = False
    lfu_freq = lru_idle = lru_clock = -1
    argc = len(argv)
    j = 4
    while j < argc:
        opt = cstr_lower(argv[j])
        additional = argc - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and additional >= 1 and lfu_freq == -1:
            ok, lru_idle = parse_ll(argv[j + 1])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            if lru_idle < 0:
                c.add_reply_error(ERR_IDLETIME)
                return
            lru_clock = server.lru_clock
            j += 1
        elif opt == b"freq" and additional >= 1 and lru_idle == -1:
            ok, lfu_freq = parse_ll(argv[j + 1])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            if lfu_freq < 0 or lfu_freq > 255:
                c.add_reply_error(ERR_FREQ)
                return
            j += 1
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1

    key = argv[1]
    db = c.db
    if not replace and db.lookup_write(key) is not None:
        c.add_reply_error(replies.BUSYKEY)
        return
    ok, ttl = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    if ttl < 0:
        c.add_reply_error(ERR_TTL)
        return
    payload = argv[3]
    if not verify_dump_payload(payload, bool(getattr(server, "skip_checksum_validation", 0))):
        c.add_reply_error(ERR_PAYLOAD)
        return
    try:
        obj = restore_value(server, payload)
    except RdbError as exc:
        server.log.verbose(f"RESTORE of a corrupt payload: {exc}")
        c.add_reply_error(ERR_BAD_FORMAT)
        return

    lazy = bool(cfg.lazyfree_lazy_server_del)
    deleted = db_delete(db, key, lazy) if replace else False
    now = _now_ms()
    if ttl and not absttl:
        ttl += now
    if ttl and ttl <= now and not server.loading and server.masterhost is None:
        # checkAlreadyExpired: nothing is created.
        if deleted:
            c.rewritten_argv = [b"UNLINK" if lazy else b"DEL", key]
            db.signal_modified_key(key)
            server.notify(NOTIFY_GENERIC, "del", key, db.id)
            server.dirty += 1
        c.add_reply_ok()
        return

    obj = set_lru_or_lfu(server, obj, lfu_freq, lru_idle, lru_clock)
    db.add(key, obj)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            rewritten = list(argv)
            rewritten[2] = b"%d" % ttl
            rewritten.append(b"ABSTTL")
            c.rewritten_argv = rewritten
    db.signal_modified_key(key)
    server.notify(NOTIFY_GENERIC, "restore", key, db.id)
    c.add_reply_ok()
    server.dirty += 1


@command("restore-asking")
def restore_asking_command(c: Any, argv: list[bytes]) -> None:
    restore_command(c, argv)


def _debug_skip_checksum(c: Any, argv: list[bytes]) -> bool:
    """DEBUG SET-SKIP-CHECKSUM-VALIDATION <0|1> (atoi, as Redis)."""
    if len(argv) != 3:
        return False
    c.server.skip_checksum_validation = _atoi(argv[2])
    c.add_reply_ok()
    return True


DEBUG_SUBCOMMANDS[b"set-skip-checksum-validation"] = _debug_skip_checksum


# ---------------------------------------------------------------------------
# MIGRATE
# ---------------------------------------------------------------------------
class _CachedSocket:
    """migrateCachedSocket: a connection to one target, its last SELECTed
    db, when it was last used, and bytes read past the last reply line."""
    __slots__ = ("sock", "last_dbid", "last_use_time", "rbuf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.last_dbid = -1
        self.last_use_time = time.time()
        self.rbuf = bytearray()


class _SocketFailure(Exception):
    def __init__(self, timed_out: bool) -> None:
        super().__init__()
        self.timed_out = timed_out


def _cache(server: Any) -> dict[bytes, _CachedSocket]:
    d = getattr(server, "migrate_cached_sockets", None)
    if d is None:
        d = server.migrate_cached_sockets = {}
        server.cron_hooks.append(lambda: _close_timedout_sockets(server))
    return d


def _close_timedout_sockets(server: Any) -> None:
    """migrateCloseTimedoutSockets (serverCron)."""
    d = server.migrate_cached_sockets
    if not d:
        return
    now = time.time()
    for name in [n for n, cs in d.items() if now - cs.last_use_time > MIGRATE_SOCKET_CACHE_TTL]:
        _close(d.pop(name))


def _close(cs: _CachedSocket) -> None:
    try:
        cs.sock.close()
    except OSError:
        pass


def _close_socket(server: Any, host: bytes, port: bytes) -> None:
    """migrateCloseSocket."""
    cs = _cache(server).pop(host + b":" + port, None)
    if cs is not None:
        _close(cs)


def _get_socket(c: Any, host: bytes, port: bytes, timeout_ms: int) -> _CachedSocket | None:
    """migrateGetSocket: the cached connection or a new one; None after
    replying the connect error (name resolution failed)."""
    d = _cache(c.server)
    name = host + b":" + port
    cs = d.get(name)
    if cs is not None:
        cs.last_use_time = time.time()
        return cs
    if len(d) >= MIGRATE_SOCKET_CACHE_ITEMS:
        victim = random.choice(list(d))
        _close(d.pop(victim))
    hostname = host.decode("utf-8", "surrogateescape")
    portnum = _atoi(port)
    try:
        infos = socket.getaddrinfo(hostname, portnum, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError, ValueError):
        c.add_reply_error(ERR_CONNECT)
        return None
    family, stype, proto, _, addr = infos[0]
    sock = socket.socket(family, stype, proto)
    sock.settimeout(max(timeout_ms, 1) / 1000)
    try:
        sock.connect(addr)
    except OSError as exc:
        sock.close()
        # Redis connects without blocking and finds out when it writes.
        raise _SocketFailure(isinstance(exc, TimeoutError)) from None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    cs = _CachedSocket(sock)
    d[name] = cs
    return cs


def _read_line(cs: _CachedSocket, timeout_ms: int) -> bytes:
    """syncReadLine: one reply line without its CRLF."""
    buf = cs.rbuf
    sock = cs.sock
    sock.settimeout(max(timeout_ms, 1) / 1000)
    while True:
        i = buf.find(b"\n")
        if i >= 0:
            line = bytes(buf[:i])
            del buf[:i + 1]
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                raise _SocketFailure(False)
            return line[:READLINE_MAX - 1]
        try:
            data = sock.recv(16384)
        except OSError as exc:
            raise _SocketFailure(isinstance(exc, TimeoutError)) from None
        if not data:
            raise _SocketFailure(False)
        buf += data


def _bulk(out: list[bytes], arg: bytes) -> None:
    out.append(b"$%d\r\n%b\r\n" % (len(arg), arg))


@command("migrate")
def migrate_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    copy = replace = False
    username: bytes | None = None
    password: bytes | None = None
    first_key = 3
    num_keys = 1
    argc = len(argv)
    j = 6
    while j < argc:
        opt = cstr_lower(argv[j])
        moreargs = argc - 1 - j
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not moreargs:
                c.add_reply_error(replies.SYNTAX)
                return
            j += 1
            password = argv[j]
        elif opt == b"auth2":
            if moreargs < 2:
                c.add_reply_error(replies.SYNTAX)
                return
            username = argv[j + 1]
            password = argv[j + 2]
            j += 2
        elif opt == b"keys":
            if argv[3]:
                c.add_reply_error(ERR_MIGRATE_KEYS)
                return
            first_key = j + 1
            num_keys = argc - j - 1
            break
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1

    ok, timeout = parse_ll(argv[5])
    if ok:
        ok, dbid = parse_ll(argv[4])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    if timeout <= 0:
        timeout = 1000

    db = c.db
    found: list[tuple[bytes, Any]] = []
    for key in argv[first_key:first_key + num_keys]:
        value = db.lookup_read(key)
        if value is not None:
            found.append((key, value))
    if not found:
        c.add_reply_status("NOKEY")
        return

    host, port = argv[1], argv[2]
    may_retry = True
    while True:
        write_error = False
        try:
            cs = _get_socket(c, host, port, timeout)
        except _SocketFailure as exc:
            write_error = True
            if not exc.timed_out and may_retry:
                may_retry = False
                continue
            break
        if cs is None:
            return
        outcome = _migrate_once(c, cs, found, dbid, timeout, copy, replace,
                                username, password, may_retry)
        if outcome is None:
            return
        write_error, timed_out, argv_rewritten = outcome
        if not argv_rewritten:
            _close_socket(server, host, port)
        if not timed_out and may_retry:
            may_retry = False
            continue
        break
    c.add_reply_error("-IOERR error or timeout %s to target instance"
                      % ("writing" if write_error else "reading"))


def _migrate_once(c: Any, cs: _CachedSocket, found: list[tuple[bytes, Any]], dbid: int,
                  timeout: int, copy: bool, replace: bool, username: bytes | None,
                  password: bytes | None, may_retry: bool) -> tuple[bool, bool, bool] | None:
    """One try of migrateCommand's body.  None when done (a reply was
    sent); else (write_error, timed_out, argv_rewritten) for socket_err."""
    server = c.server
    db = c.db
    cmd: list[bytes] = []
    if password is not None:
        cmd.append(b"*3\r\n" if username is not None else b"*2\r\n")
        _bulk(cmd, b"AUTH")
        if username is not None:
            _bulk(cmd, username)
        _bulk(cmd, password)
    select = cs.last_dbid != dbid
    if select:
        cmd.append(b"*2\r\n")
        _bulk(cmd, b"SELECT")
        _bulk(cmd, b"%d" % dbid)
    restore_name = (b"RESTORE-ASKING" if getattr(server.config, "cluster_enabled", False)
                    else b"RESTORE")
    moving: list[bytes] = []
    for key, value in found:
        ttl = 0
        expireat = db.get_expire(key)
        if expireat != -1:
            ttl = expireat - _now_ms()
            if ttl < 0:
                continue
            if ttl < 1:
                ttl = 1
        moving.append(key)
        cmd.append(b"*5\r\n" if replace else b"*4\r\n")
        _bulk(cmd, restore_name)
        _bulk(cmd, key)
        _bulk(cmd, b"%d" % ttl)
        _bulk(cmd, dump_payload(value, server))
        if replace:
            _bulk(cmd, b"REPLACE")
    data = b"".join(cmd)
    sock = cs.sock
    sock.settimeout(timeout / 1000)
    try:
        for pos in range(0, len(data), MIGRATE_CHUNK):
            sock.sendall(data[pos:pos + MIGRATE_CHUNK])
    except OSError as exc:
        return True, isinstance(exc, TimeoutError), False

    try:
        buf0 = _read_line(cs, timeout) if password is not None else b""
        buf1 = _read_line(cs, timeout) if select else b""
    except _SocketFailure as exc:
        return False, exc.timed_out, False

    error_from_target = False
    socket_error = False
    timed_out = False
    deleted: list[bytes] = []
    lazy = bool(server.config.lazyfree_lazy_server_del)
    j = 0
    for j, key in enumerate(moving):
        try:
            buf2 = _read_line(cs, timeout)
        except _SocketFailure as exc:
            socket_error = True
            timed_out = exc.timed_out
            break
        if buf0[:1] == b"-" or buf1[:1] == b"-" or buf2[:1] == b"-":
            if not error_from_target:
                cs.last_dbid = -1
                errbuf = buf0 if buf0[:1] == b"-" else buf1 if buf1[:1] == b"-" else buf2
                error_from_target = True
                c.add_reply_error("Target instance replied with error: "
                                  + errbuf[1:].decode("utf-8", "surrogateescape"))
        elif not copy:
            db_delete(db, key, lazy)
            db.signal_modified_key(key)
            server.notify(NOTIFY_GENERIC, "del", key, db.id)
            server.dirty += 1
            deleted.append(key)
    else:
        j = len(moving)

    if not error_from_target and socket_error and j == 0 and may_retry and not timed_out:
        return False, False, False
    if socket_error:
        _close_socket(server, c.argv[1], c.argv[2])
    argv_rewritten = False
    if deleted:
        c.rewritten_argv = [b"DEL"] + deleted
        argv_rewritten = True
    if not error_from_target and socket_error:
        return False, True, argv_rewritten    # no retry after this
    if not error_from_target:
        cs.last_dbid = dbid
        c.add_reply_ok()
    return None
