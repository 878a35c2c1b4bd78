"""Clients: query buffer in, argv out, replies back (Redis's ``networking.c``).

A ``Client`` is one connection (or a fake connection used to run commands
from AOF loading, Lua or the master stream, which has no socket).  Its life:

1. ``on_readable``: one ``recv`` of up to 16 KiB, fed to the client's
   ``RequestParser`` (``resp.py``).  ``process_input`` then pulls complete
   argument vectors and hands each to ``server.process_command``, until the
   parser needs more bytes, the client blocks, or a protocol error closes it
   (Redis's error is replied first, then the connection is closed after the
   reply is written).
2. Replies accumulate in ``self.reply``, a list of encoded chunks.  A client
   with output is queued once on ``server.clients_pending_write`` and
   ``before_sleep`` writes everything in one ``send`` per client
   (``handleClientsWithPendingWrites``).  Only if the socket does not take it
   all is a write handler installed, and removed again once drained.

The reply API (the ``add_reply_*`` methods) is the only code that knows RESP2
from RESP3: commands say "a map of n pairs", "a null", "a double", and the
client encodes it for the protocol it speaks (``self.resp``).  Errors pass
through ``add_reply_error`` so INFO errorstats and the failed-call counters
see every one of them.
"""
from __future__ import annotations

import socket
import time
from typing import Any, Iterable

import hiredis

from omakase import replies
from omakase.replies import (BULK_HDR, INTEGERS, MAP_HDR, MBULK_HDR, SET_HDR)
from omakase.resp import ProtocolError, RequestParser
from omakase.util import format_double

READ_CHUNK = 16 * 1024
MIN_QUERY_LIMIT = 1024 * 1024
BIG_BULK = 16 * 1024
_pack = hiredis.pack_command
_NULL_RESP3 = replies.NULL_RESP3
_NULL_BULK = replies.NULL_BULK_RESP2
_NULL_ARRAY = replies.NULL_ARRAY_RESP2


class ClientFlag:
    """Redis's CLIENT_* flags (server.h).  Plain ints, not enum.IntFlag:
    one IntFlag ``&`` costs about a microsecond (measured), and the input
    loop tests these flags for every request."""
    SLAVE = 1 << 0
    MASTER = 1 << 1
    MONITOR = 1 << 2
    MULTI = 1 << 3
    BLOCKED = 1 << 4
    DIRTY_CAS = 1 << 5
    CLOSE_AFTER_REPLY = 1 << 6
    UNBLOCKED = 1 << 7
    LUA = 1 << 8
    ASKING = 1 << 9
    CLOSE_ASAP = 1 << 10
    UNIX_SOCKET = 1 << 11
    DIRTY_EXEC = 1 << 12
    MASTER_FORCE_REPLY = 1 << 13
    FORCE_AOF = 1 << 14
    FORCE_REPL = 1 << 15
    PRE_PSYNC = 1 << 16
    READONLY = 1 << 17
    PUBSUB = 1 << 18
    PREVENT_AOF_PROP = 1 << 19
    PREVENT_REPL_PROP = 1 << 20
    PENDING_WRITE = 1 << 21
    REPLY_OFF = 1 << 22
    REPLY_SKIP_NEXT = 1 << 23
    REPLY_SKIP = 1 << 24
    LUA_DEBUG = 1 << 25
    TRACKING = 1 << 31
    TRACKING_BROKEN_REDIR = 1 << 32
    TRACKING_BCAST = 1 << 33
    TRACKING_OPTIN = 1 << 34
    TRACKING_OPTOUT = 1 << 35
    TRACKING_CACHING = 1 << 36
    TRACKING_NOLOOP = 1 << 37
    NO_EVICT = 1 << 40
    NO_TOUCH = 1 << 41
    FAKE = 1 << 42
    PROTECTED = 1 << 43


class Client:
    __slots__ = ("server", "sock", "fd", "id", "addr", "laddr", "db", "resp",
                 "name", "flags", "parser", "reply", "pending_write",
                 "authenticated", "user", "ctime", "last_interaction",
                 "argv", "cmd", "lastcmd", "mstate", "watched_keys",
                 "bpop", "pubsub_channels", "pubsub_patterns",
                 "pubsub_shard_channels", "lib_name", "lib_ver",
                 "reply_off", "skip_next_reply", "closing", "write_installed",
                 "tracking", "paused_cmd", "woff", "is_unix", "rewritten_argv",
                 "__weakref__")

    def __init__(self, server: Any, sock: socket.socket | None,
                 addr: str = "", laddr: str = "", is_unix: bool = False) -> None:
        self.server = server
        self.sock = sock
        self.fd = sock.fileno() if sock is not None else -1
        self.id = server.next_client_id()
        self.addr = addr
        self.laddr = laddr
        self.is_unix = is_unix
        self.db = server.dbs[0]
        self.resp = 2
        self.name: bytes | None = None
        self.flags = 0
        self.parser = RequestParser(server.config.proto_max_bulk_len)
        self.reply: list[bytes] = []
        self.pending_write = False
        self.authenticated = not server.auth_required()
        self.parser.auth_limits = not self.authenticated
        self.user = "default"
        self.ctime = time.time()
        self.last_interaction = self.ctime
        self.argv: list[bytes] = []
        self.cmd = None
        self.lastcmd = None
        self.mstate = None          # MULTI queue (multi module)
        self.watched_keys = None    # WATCH state (multi module)
        self.bpop = None            # blocking state (blocking module)
        self.pubsub_channels: set[bytes] | None = None
        self.pubsub_patterns: set[bytes] | None = None
        self.pubsub_shard_channels: set[bytes] | None = None
        self.lib_name = b""
        self.lib_ver = b""
        self.reply_off = False
        self.skip_next_reply = False
        self.closing = False
        self.write_installed = False
        self.tracking = None
        self.paused_cmd = None
        self.woff = 0
        self.rewritten_argv: list[bytes] | None = None

    # ------------------------------------------------------------------
    # Input
    # ------------------------------------------------------------------
    def on_readable(self, fd: int) -> None:
        try:
            data = self.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.server.log.verbose(f"Reading from client: {exc.strerror}")
            self.server.free_client(self)
            return
        if not data:
            self.server.free_client(self)
            return
        server = self.server
        if len(data) == READ_CHUNK and server.edge_triggered:
            data = self._drain_socket(data)
        self.last_interaction = server.unixtime
        server.stat_net_input_bytes += len(data)
        parser = self.parser
        parser.feed(data)
        # client-query-buffer-limit is at least 1 MiB: test cheaply first.
        if ((parser.retained_len if parser.fast else len(parser.buf)) > MIN_QUERY_LIMIT
                and parser.pending_bytes() > server.config.client_query_buffer_limit
                and not self.flags & ClientFlag.MASTER):
            server.log.warning(f"Closing client that reached max query buffer length: "
                               f"{self.info_line()} (qbuf initial bytes: "
                               f"{bytes(data[:64])!r})")
            server.free_client(self)
            return
        self.process_input()

    def _drain_socket(self, first: bytes) -> bytes:
        """Edge-triggered epoll reports readiness once: read until EAGAIN."""
        parts = [first]
        while True:
            try:
                more = self.sock.recv(READ_CHUNK)
            except OSError:
                break
            if not more:
                break
            parts.append(more)
            if len(more) < READ_CHUNK:
                break
        return b"".join(parts)

    def process_input(self) -> None:
        """processInputBuffer: run every complete request we have."""
        parser = self.parser
        process_command = self.server.process_command
        while not self.closing:
            if self.flags & ClientFlag.BLOCKED or self.paused_cmd is not None:
                break
            try:
                argv = parser.next()
            except ProtocolError as exc:
                self.server.log.verbose(
                    f"Protocol error ({exc}) from client: addr={self.addr}")
                self.add_reply_error(str(exc))
                self.flags |= ClientFlag.CLOSE_AFTER_REPLY
                self.closing = True
                break
            if argv is None:
                break
            if argv:
                process_command(self, argv)
                if self.reply_off or self.skip_next_reply:
                    reset_reply_skip(self)
        if self.reply and not self.pending_write:
            self.pending_write = True
            self.server.clients_pending_write.append(self)

    # ------------------------------------------------------------------
    # Output
    # ------------------------------------------------------------------
    def queue_write(self) -> None:
        """Make sure before_sleep writes this client's pending replies."""
        if not self.pending_write and self.sock is not None:
            self.pending_write = True
            self.server.clients_pending_write.append(self)

    def write_pending(self) -> bool:
        """writeToClient: False if the client was freed."""
        reply = self.reply
        if not reply:
            return True
        data = reply[0] if len(reply) == 1 else b"".join(reply)
        try:
            n = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as exc:
            self.server.log.verbose(f"Error writing to client: {exc.strerror}")
            self.server.free_client(self)
            return False
        self.server.stat_net_output_bytes += n
        if n < len(data):
            self.reply = [memoryview(data)[n:]]
            if not self.write_installed:
                self.write_installed = True
                self.server.el.add_writer(self.fd, self._on_writable)
            return True
        self.reply = []
        if self.write_installed:
            self.write_installed = False
            self.server.el.remove_writer(self.fd)
        if self.flags & ClientFlag.CLOSE_AFTER_REPLY:
            self.server.free_client(self)
            return False
        return True

    def _on_writable(self, fd: int) -> None:
        self.write_pending()

    # -- the reply API ---------------------------------------------------------
    def add_reply(self, data: bytes) -> None:
        if not self.reply_off:
            self.reply.append(data)

    def add_reply_ok(self) -> None:
        if not self.reply_off:
            self.reply.append(replies.OK)

    def add_reply_status(self, s: str | bytes) -> None:
        if isinstance(s, str):
            s = s.encode()
        self.add_reply(b"+%b\r\n" % s)

    def add_reply_error(self, msg: str | bytes) -> None:
        """addReplyError: 'msg' gets -ERR; '-CODE msg' is sent as is."""
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        if not msg.startswith("-"):
            msg = "-ERR " + msg
        if "\r" in msg or "\n" in msg:
            msg = msg.replace("\r", " ").replace("\n", " ")
        self.server.count_error_reply(msg)
        self.add_reply(msg.encode("utf-8", "surrogateescape") + b"\r\n")

    def add_reply_int(self, n: int) -> None:
        if not self.reply_off:
            self.reply.append(INTEGERS[n] if 0 <= n < 10000 else b":%d\r\n" % n)

    def add_reply_bulk(self, b: bytes) -> None:
        if self.reply_off:
            return
        n = len(b)
        if n < 1024:
            self.reply.append(BULK_HDR[n] + b + b"\r\n")
        elif n < BIG_BULK:
            self.reply.append(b"$%d\r\n%b\r\n" % (n, b))
        else:
            self.reply.extend((b"$%d\r\n" % n, b, b"\r\n"))

    def add_reply_bulk_str(self, s: str) -> None:
        self.add_reply_bulk(s.encode())

    def add_reply_null(self) -> None:
        if not self.reply_off:
            self.reply.append(_NULL_RESP3 if self.resp == 3 else _NULL_BULK)

    def add_reply_null_array(self) -> None:
        if not self.reply_off:
            self.reply.append(_NULL_RESP3 if self.resp == 3 else _NULL_ARRAY)

    def add_reply_bool(self, v: bool) -> None:
        if self.resp == 3:
            self.add_reply(b"#t\r\n" if v else b"#f\r\n")
        else:
            self.add_reply(replies.CONE if v else replies.CZERO)

    def add_reply_double(self, d: float) -> None:
        s = format_double(d)
        if self.resp == 3:
            self.add_reply(b",%b\r\n" % s)
        else:
            self.add_reply(b"$%d\r\n%b\r\n" % (len(s), s))

    def add_reply_bignum(self, digits: bytes) -> None:
        if self.resp == 3:
            self.add_reply(b"(%b\r\n" % digits)
        else:
            self.add_reply_bulk(digits)

    def add_reply_verbatim(self, text: bytes, fmt: bytes = b"txt") -> None:
        if self.resp == 3:
            self.add_reply(b"=%d\r\n%b:%b\r\n" % (len(text) + 4, fmt, text))
        else:
            self.add_reply_bulk(text)

    def add_reply_array_len(self, n: int) -> None:
        if not self.reply_off:
            self.reply.append(MBULK_HDR[n] if n < 1024 else b"*%d\r\n" % n)

    def add_reply_map_len(self, n: int) -> None:
        if self.resp == 3:
            self.add_reply(MAP_HDR[n] if n < 1024 else b"%%%d\r\n" % n)
        else:
            self.add_reply_array_len(n * 2)

    def add_reply_set_len(self, n: int) -> None:
        if self.resp == 3:
            self.add_reply(SET_HDR[n] if n < 1024 else b"~%d\r\n" % n)
        else:
            self.add_reply_array_len(n)

    def add_reply_push_len(self, n: int) -> None:
        self.add_reply(b">%d\r\n" % n if self.resp == 3 else b"*%d\r\n" % n)

    def add_reply_attribute_len(self, n: int) -> None:
        self.add_reply(b"|%d\r\n" % n)

    def add_reply_bulks(self, items: list[bytes]) -> None:
        """An array of bulk strings (fast: one C call)."""
        if self.reply_off:
            return
        if items:
            self.reply.append(_pack(tuple(items)))
        else:
            self.reply.append(replies.EMPTY_ARRAY)

    def add_reply_bulk_or_null_array(self, items: Iterable[bytes | None]) -> None:
        """An array whose elements may be null (MGET, HMGET...)."""
        items = list(items)
        self.add_reply_array_len(len(items))
        null = replies.NULL_RESP3 if self.resp == 3 else replies.NULL_BULK_RESP2
        out = self.reply
        if self.reply_off:
            return
        for it in items:
            if it is None:
                out.append(null)
            else:
                out.append(BULK_HDR[len(it)] + it + b"\r\n" if len(it) < 1024
                           else b"$%d\r\n%b\r\n" % (len(it), it))

    def add_reply_help(self, command: str, lines: list[str]) -> None:
        """addReplyHelp: the standard HELP layout."""
        head = f"{command.upper()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        body = [head] + lines + ["HELP", "    Prints this help."]
        self.add_reply_array_len(len(body))
        for line in body:
            self.add_reply_status(line)

    def add_reply_deferred_len(self) -> int:
        """Placeholder for an aggregate length known only later."""
        self.reply.append(b"")
        return len(self.reply) - 1

    def set_deferred_array_len(self, idx: int, n: int) -> None:
        if not self.reply_off:
            self.reply[idx] = b"*%d\r\n" % n

    def set_deferred_map_len(self, idx: int, n: int) -> None:
        if not self.reply_off:
            self.reply[idx] = (b"%%%d\r\n" % n) if self.resp == 3 else (b"*%d\r\n" % (2 * n))

    def set_deferred_set_len(self, idx: int, n: int) -> None:
        if not self.reply_off:
            self.reply[idx] = (b"~%d\r\n" % n) if self.resp == 3 else (b"*%d\r\n" % n)

    # ------------------------------------------------------------------
    # Introspection
    # ------------------------------------------------------------------
    def info_line(self) -> str:
        """One line of CLIENT LIST (catClientInfoString)."""
        return self.server.client_info_string(self)


def reset_reply_skip(c: Client) -> None:
    from omakase.commands.client import reset_reply_skip as reset
    reset(c)


class FakeClient(Client):
    """A client with no socket: AOF loading, Lua, replication stream."""
    __slots__ = ()

    def __init__(self, server: Any) -> None:
        super().__init__(server, None)
        self.flags |= ClientFlag.FAKE
        self.authenticated = True
        self.parser.auth_limits = False

    def take_reply(self) -> bytes:
        data = b"".join(self.reply)
        self.reply = []
        return data
