"""Clients: query buffer in, argv out, replies back (Redis's ``networking.c``).

A ``Client`` is one connection (or a fake connection used to run commands
from AOF loading, Lua or the master stream, which has no socket).  Its life:

1. ``on_readable``: one ``recv`` of up to 16 KiB, fed to the client's
   ``RequestParser`` (``resp.py``).  ``process_input`` then pulls complete
   argument vectors and hands each to ``server.process_command``, until the
   parser needs more bytes, the client blocks, or a protocol error closes it
   (Redis's error is replied first, then the connection is closed after the
   reply is written).
2. Replies accumulate in ``self.reply``, a list of encoded chunks, and
   leave in one ``send`` per client and read (see "Writing replies").  Only
   if the socket does not take it all is a write handler installed, and
   removed again once drained.

Writing replies
---------------
As Redis (``handleClientsWithPendingWrites``), a client with output is
queued once on ``server.clients_pending_write`` and ``before_sleep`` writes
them all, after the AOF buffer was written.  Writing each client's replies
at the end of its own read instead saves the queue's ~35 Python operations
per read, but measured slower with 50 clients (redis-benchmark shape a,
alternating runs): the sends interleaved with the reads wake the clients
while the loop is still reading, and the server's system time rose ~15-25%.

The reply API (the ``add_reply_*`` methods) is the only code that knows RESP2
from RESP3: commands say "a map of n pairs", "a null", "a double", and the
client encodes it for the protocol it speaks (``self.resp``).  Errors pass
through ``add_reply_error`` so INFO errorstats and the failed-call counters
see every one of them.

With ``io-threads`` > 1, ``iothreads.py`` does the ``send``/``recv`` of
many clients in parallel and hands the rest back to the methods here.

Slow readers and output buffer limits
-------------------------------------
Redis counts reply bytes as it queues them and checks
``client-output-buffer-limit`` on every append.  Replies here are appended
to ``c.reply`` from many modules (pub/sub, tracking, replication), so the
accounting lives in the write path instead, where it costs nothing for the
common client:

* ``write_pending`` joins the queued chunks and sends them.  Only output
  larger than the smallest configured limit (``server.obuf_check_min``;
  8 MiB with the defaults) is checked against the limits first -- so, as in Redis, a reply bigger than the hard limit
  closes the client even when it reads fast.
* When the socket does not take everything, the unsent tail is kept and a
  write handler installed: the client is *backlogged*
  (``server.clients_backlogged``).  From then on ``_write_backlog`` runs for
  it (on writable, and whenever new output is queued): the chunks added
  since the last pass are joined once into one block, ``obuf_bytes`` is the
  exact total held, the limits are checked on it, and blocks are sent until
  the socket is full.  Output therefore never gets re-copied as it piles up.
* ``output_limit_reached`` is ``checkClientOutputBufferLimits``: the class is
  ``slave`` for replicas, ``pubsub`` for subscribed clients, else
  ``normal``; a hard limit closes at once, a soft limit once exceeded for
  more than soft-seconds (dropping under it resets the clock).  The client
  is closed with Redis's log line ("... scheduled to be closed ASAP for
  overcoming of output buffer limits.").

DIVERGENCE: the usage compared with the limits is the bytes of output
queued (Redis counts its reply blocks' allocation sizes and not its 16 KiB
static buffer); it is checked when output is written -- before the first
send of a pass and on every backlogged pass -- not at each append, so a
single command's reply is built whole before it can be refused.  A
replica's stream held back during a full sync lives in ``replication.py``,
which checks it with the same two functions.

Client eviction (maxmemory-clients)
-----------------------------------
``evict_clients`` is Redis 7.0's ``evictClients``: when the memory of the
normal and pub/sub clients is at or above the limit (``maxmemory-clients``
bytes, or a percentage of maxmemory when negative, never under 128 KiB),
free the biggest evictable clients first (``CLIENT NO-EVICT on``, replicas
and the master are never evicted) until under it; ``evicted_clients`` counts
them.  A client's memory is estimated by ``client_memory``: a fixed 2 KiB
per client (the object, parser, socket, registrations: the same base as
CLIENT LIST's tot-mem), the query bytes the parser holds, the output
queued, queued MULTI arguments and 64 bytes per subscription.  Redis keeps
clients in memory buckets updated after each command; here the sizes are
read when needed: every serverCron tick while client eviction is on, and
in beforeSleep after a client's buffers grew (a backlogged write, a query
buffer past 1 MiB).
"""
from __future__ import annotations

import socket
import time
_now_ns = time.perf_counter_ns
from typing import Any, Iterable

import hiredis

from omakase import replies
from omakase.replies import (BULK_HDR, INTEGERS, MAP_HDR, MBULK_HDR, SET_HDR)
from omakase.resp import ProtocolError, RequestParser
from omakase.util import format_double

CLIENT_BASE_MEM = 2048      # the same estimate as CLIENT LIST's tot-mem

READ_CHUNK = 16 * 1024
NET_MAX_WRITES_PER_EVENT = 1024 * 1024
BIG_BULK = 16 * 1024
_pack = hiredis.pack_command
_join = b"".join
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
    PENDING_READ = 1 << 29      # queued for a threaded read (iothreads.py)
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
    # 1 << 44 is acl.ACL_RESTRICTED
    PAUSED = 1 << 45            # a command is parked by CLIENT PAUSE
    NEEDS_AUTH = 1 << 46        # not authenticated yet (Client.authenticated)
    CLOSING = 1 << 47           # Client.closing (mark_closing)


_CLOSE_AFTER_REPLY = ClientFlag.CLOSE_AFTER_REPLY
_STOP_INPUT = ClientFlag.BLOCKED | ClientFlag.PAUSED
_REPLY_SKIP_BITS = (ClientFlag.REPLY_OFF | ClientFlag.REPLY_SKIP | ClientFlag.REPLY_SKIP_NEXT
                    | ClientFlag.TRACKING_CACHING)
_CLOSING = ClientFlag.CLOSING
_BLOCKED = ClientFlag.BLOCKED
_STOP_OR_CLOSING = _STOP_INPUT | _CLOSING
# Client states under which a request takes the full Server.process_command
# (1 << 44 is acl.ACL_RESTRICTED, which imports this module).
CHECKED_CLIENT_FLAGS = (ClientFlag.NEEDS_AUTH | ClientFlag.MULTI | (1 << 44)
                        | ClientFlag.PUBSUB | ClientFlag.NO_TOUCH)
# After a command, any of these needs a step in the input loop.
_AFTER_COMMAND = _STOP_OR_CLOSING | _REPLY_SKIP_BITS | CHECKED_CLIENT_FLAGS
_NO_PLAIN: dict = {}


class Client:
    __slots__ = ("server", "sock", "fd", "id", "addr", "laddr", "db", "resp",
                 "name", "flags", "parser", "reply", "pending_write",
                 "auth_ok", "user", "ctime", "last_interaction",
                 "argv", "cmd", "mstate", "watched_keys",
                 "bpop", "pubsub_channels", "pubsub_patterns",
                 "pubsub_shard_channels", "lib_name", "lib_ver",
                 "reply_off", "skip_next_reply", "write_installed",
                 "tracking", "paused_cmd", "woff", "is_unix", "rewritten_argv",
                 "obuf_blocks", "obuf_bytes", "obuf_soft_since",
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
        self.cmd = None             # also c->lastcmd: see the property
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
        self.write_installed = False
        self.tracking = None
        self.paused_cmd = None
        self.woff = 0
        self.rewritten_argv: list[bytes] | None = None
        # Output held back by a slow reader (see "Output buffer limits"):
        # the first obuf_blocks entries of self.reply hold obuf_bytes bytes.
        self.obuf_blocks = 0
        self.obuf_bytes = 0
        self.obuf_soft_since = 0    # obuf_soft_limit_reached_time

    @property
    def authenticated(self) -> bool:
        return self.auth_ok

    @authenticated.setter
    def authenticated(self, ok: bool) -> None:
        # Mirrored in a flag: the request path tests c.flags once for every
        # per-client check (CHECKED_CLIENT_FLAGS).
        self.auth_ok = ok
        if ok:
            self.flags &= ~ClientFlag.NEEDS_AUTH
        else:
            self.flags |= ClientFlag.NEEDS_AUTH

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
        n = len(data)
        if n == READ_CHUNK and server.edge_triggered:
            data = self._drain_socket(data)
            n = len(data)
        self.last_interaction = server.unixtime
        server.stat_net_input_bytes += n
        if self.parser.feed(data) and self.query_buffer_too_big(data):
            return
        self.process_input()

    def query_buffer_too_big(self, data: bytes) -> bool:
        """Over client-query-buffer-limit: close (True).  Called when the
        parser holds more than 1 MiB, which is also when a big query buffer
        asks for a client-eviction check."""
        server = self.server
        if server.client_evict_limit:
            server.client_mem_dirty = True
        if (self.parser.pending_bytes() > server.config.client_query_buffer_limit
                and not self.flags & ClientFlag.MASTER):
            server.log.warning(f"Closing client that reached max query buffer length: "
                               f"{self.info_line()} (qbuf initial bytes: "
                               f"{bytes(data[:64])!r})")
            server.free_client(self)
            return True
        return False

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
        """processInputBuffer: run every complete request we have.

        The fast engine hands over a read's requests as one list
        (``parser.ready``); the exact engine one request at a time.  A
        request whose (name, argument count) is in ``plain_commands`` (a
        command that needs no check, at an argument count its arity allows)
        skips process_command for a client without checked states (the
        conditions are listed in ``Server.process_command``, which runs every
        other request); it runs ``call()``'s body inline.  After each
        command one test of the flags decides whether anything else must
        happen: a CLIENT REPLY OFF/SKIP or CACHING bookkeeping step, a stop
        (the client blocked, was paused or is closing: the requests not run
        yet go back to the parser), or a checked state that began.

        A client with replies is then queued for beforeSleep's write."""
        server = self.server
        # A closing, blocked or paused client runs nothing, but what it
        # was already given to say is still written (QUIT, CLIENT KILL).
        if not self.flags & _STOP_OR_CLOSING:
            parser = self.parser
            while True:
                reqs = parser.ready
                if reqs:
                    parser.ready = []
                elif parser.fast:
                    break
                else:
                    try:
                        argv = parser._next_exact()
                    except ProtocolError as exc:
                        self.protocol_error(exc)
                        break
                    if argv is None:
                        break
                    reqs = [argv]
                # A client in a checked state finds nothing in _NO_PLAIN:
                # each of its requests takes process_command.
                plain = (_NO_PLAIN if self.flags & CHECKED_CLIENT_FLAGS
                         else server.plain_commands)
                # in_call around each plain command, as two stores (this
                # loop runs at the depth it was entered at: top level, or
                # inside a busy script's event processing).
                outside = server.in_call
                inside = outside + 1
                for argv in reqs:
                    try:
                        cmd = plain.get((argv[0], len(argv)))
                    except IndexError:
                        continue        # "*0": an empty request runs nothing
                    if cmd is not None:
                        # Server.call(), inline (see its docstring).
                        dirty = server.dirty
                        errors = server.stat_total_error_replies
                        self.argv = argv
                        self.cmd = cmd          # also self.lastcmd
                        server.in_call = inside
                        start = _now_ns()
                        try:
                            cmd.proc(self, argv)
                        except Exception as exc:  # a command's bug must not stop us
                            server._internal_error(self, cmd, exc)
                        duration = (_now_ns() - start) // 1000
                        server.in_call = outside
                        cmd.latency_samples.append(duration)
                        if server.stat_total_error_replies != errors:
                            cmd.failed_calls += 1
                        if (duration >= server.after_call_us or self.rewritten_argv is not None
                                or server.propagation_targets and server.dirty != dirty
                                or server.pending_propagate):
                            server.after_call(self, cmd, argv, duration, dirty)
                        if server.ready_keys:
                            server.ready_keys_handler()
                    else:
                        server.process_command(self, argv)
                    flags = self.flags
                    if flags & _AFTER_COMMAND:
                        if flags & _REPLY_SKIP_BITS:
                            reset_reply_skip(self)
                        if flags & _STOP_OR_CLOSING:
                            if flags & _BLOCKED and cmd is not None:
                                # (process_command did this for its own call)
                                server.blocking_state.note_blocked_call(self, cmd)
                            if not flags & _CLOSING:
                                # the rest go back (found by identity: each
                                # request is its own list)
                                done = 1 + next(k for k, r in enumerate(reqs) if r is argv)
                                parser.ready[:0] = reqs[done:]
                            break
                        plain = (_NO_PLAIN if flags & CHECKED_CLIENT_FLAGS
                                 else server.plain_commands)
                else:
                    if parser.fast:     # it hands over all it has at once
                        break
                    continue
                break                   # stopped (blocked, paused, closing)
        if self.reply and not self.pending_write:
            self.pending_write = True
            server.clients_pending_write.append(self)

    def protocol_error(self, exc: ProtocolError) -> None:
        """Redis's error is replied, then the client is closed after it."""
        self.server.log.verbose(f"Protocol error ({exc}) from client: addr={self.addr}")
        self.add_reply_error(str(exc))
        self.close_after_reply()

    @property
    def lastcmd(self) -> Any:
        """Redis keeps c->cmd (the command running) and c->lastcmd (the last
        one looked up) apart because freeClientArgv clears c->cmd; nothing
        here reads ``cmd`` between commands, so one attribute is both (one
        store per command less)."""
        return self.cmd

    @property
    def closing(self) -> bool:
        """No more requests run (the CLOSING flag, which the input loop
        tests with the other flags in one ``&``)."""
        return self.flags & _CLOSING != 0

    def mark_closing(self) -> None:
        self.flags |= _CLOSING

    def close_after_reply(self) -> None:
        """What is queued is written, then the client is closed."""
        self.flags |= ClientFlag.CLOSE_AFTER_REPLY
        self.mark_closing()

    # ------------------------------------------------------------------
    # Output
    # ------------------------------------------------------------------
    def queue_write(self) -> None:
        """Make sure before_sleep writes this client's pending replies."""
        if not self.pending_write and self.sock is not None:
            self.pending_write = True
            self.server.clients_pending_write.append(self)

    def write_pending(self) -> bool:
        """writeToClient: False if the client was freed.

        The common case is one ``send`` of everything queued.  Output larger
        than the smallest output-buffer limit is checked against the limits
        first (as Redis checks them when the reply is queued); a client whose socket did not take everything last time
        (``write_installed``) goes through ``_write_backlog``."""
        reply = self.reply
        if not reply:
            return True
        if self.write_installed:
            return self._write_backlog()
        data = _join(reply)             # one chunk: the chunk itself, no copy
        server = self.server
        size = len(data)
        checked = size > server.obuf_check_min
        if checked and output_limit_reached(self, size):
            # Output above the smallest limit: checked before it is sent,
            # as Redis checks when the reply is queued.
            close_on_output_limit(self)
            return False
        try:
            n = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as exc:
            server.log.verbose(f"Error writing to client: {exc.strerror}")
            server.free_client(self)
            return False
        server.stat_net_output_bytes += n
        if n < size:
            self._start_backlog(data, n)
            return True
        self.reply = []
        if checked:
            self.obuf_soft_since = 0
        if self.flags & _CLOSE_AFTER_REPLY:
            server.free_client(self)
            return False
        return True

    def _start_backlog(self, data: bytes, n: int) -> None:
        """The socket took n bytes of data: keep the rest, write on writable."""
        server = self.server
        self.reply = [memoryview(data)[n:]]
        self.obuf_blocks = 1
        self.obuf_bytes = len(data) - n
        self.write_installed = True
        server.el.add_writer(self.fd, self._on_writable)
        server.clients_backlogged.add(self)
        if server.client_evict_limit:
            server.client_mem_dirty = True

    def _write_backlog(self) -> bool:
        """A slow reader: its socket was full last time.

        The chunks queued since the last pass are joined once into one block
        (so a byte is copied at most once more however long the client lags:
        re-joining the whole backlog on every pass would be quadratic), the
        output-buffer limits are checked on the exact total
        (``obuf_bytes``), then blocks are sent until the socket is full again
        or NET_MAX_WRITES_PER_EVENT bytes went out."""
        server = self.server
        reply = self.reply
        k = self.obuf_blocks
        if k > len(reply):              # the list was replaced under us
            k = 0
            self.obuf_bytes = 0
        grew = len(reply) - k
        if grew:
            if grew == 1:
                block = reply[k]
            else:
                block = b"".join(reply[k:])
                del reply[k:]
                reply.append(block)
            self.obuf_bytes += len(block)
            k += 1
            if server.client_evict_limit:
                server.client_mem_dirty = True
        used = self.obuf_bytes
        if used > server.obuf_check_min and output_limit_reached(self, used):
            close_on_output_limit(self)
            return False
        sock = self.sock
        cap = NET_MAX_WRITES_PER_EVENT if not server.edge_triggered else 1 << 62
        sent = 0
        i = 0
        try:
            while i < len(reply):
                buf = reply[i]
                n = sock.send(buf)
                sent += n
                if n < len(buf):
                    reply[i] = memoryview(buf)[n:]
                    break
                i += 1
                if sent >= cap:
                    break
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            server.log.verbose(f"Error writing to client: {exc.strerror}")
            server.free_client(self)
            return False
        if i:
            del reply[:i]
        server.stat_net_output_bytes += sent
        if reply:
            self.obuf_blocks = k - i if k > i else 0
            self.obuf_bytes = used - sent if used > sent else 0
            return True
        self.obuf_blocks = 0
        self.obuf_bytes = 0
        self.obuf_soft_since = 0
        self.write_installed = False
        server.el.remove_writer(self.fd)
        server.clients_backlogged.discard(self)
        if self.flags & ClientFlag.CLOSE_AFTER_REPLY:
            server.free_client(self)
            return False
        return True

    def _on_writable(self, fd: int) -> None:
        if self.reply:
            self.write_pending()
        elif self.write_installed:      # emptied by someone else
            self.write_installed = False
            self.obuf_blocks = self.obuf_bytes = 0
            self.server.el.remove_writer(fd)
            self.server.clients_backlogged.discard(self)

    def output_bytes(self) -> int:
        """Bytes of output queued (getClientOutputBufferMemoryUsage)."""
        reply = self.reply
        if not reply:
            return 0
        k = self.obuf_blocks if self.write_installed else 0
        if k > len(reply):
            k = 0
        return (self.obuf_bytes if k else 0) + sum(map(len, reply[k:]))

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


# --------------------------------------------------------------------------
# Output buffer limits (checkClientOutputBufferLimits)
# --------------------------------------------------------------------------
_CLASS_SLAVE = ClientFlag.SLAVE
_CLASS_MONITOR = ClientFlag.MONITOR
_CLASS_PUBSUB = ClientFlag.PUBSUB
NO_LIMIT = 1 << 62


def output_limit_class(c: Client) -> str:
    """getClientType for the limits: a master counts as normal, a monitor
    as normal, a subscribed client as pubsub."""
    flags = c.flags
    if flags & _CLASS_SLAVE and not flags & _CLASS_MONITOR:
        return "slave"
    if flags & _CLASS_PUBSUB and not flags & ClientFlag.MASTER:
        return "pubsub"
    return "normal"


def output_limit_reached(c: Client, used: int) -> bool:
    """checkClientOutputBufferLimits: the hard limit at once, the soft limit
    once it has been exceeded for more than soft-seconds (the first time it
    is seen only starts the clock; dropping under it resets the clock)."""
    if c.sock is None or c.flags & ClientFlag.CLOSE_ASAP:
        return False
    server = c.server
    cfg = server.config
    kind = output_limit_class(c)
    hard_lim, soft_lim, secs = cfg.client_output_buffer_limit[kind]
    if kind == "slave" and hard_lim and hard_lim < cfg.repl_backlog_size:
        # Redis 7.0: a replica shares the backlog's memory, so its hard
        # limit is never under repl-backlog-size (a partial resync would
        # otherwise be followed by a disconnect).
        hard_lim = cfg.repl_backlog_size
    hard = hard_lim and used >= hard_lim
    soft = soft_lim and used >= soft_lim
    if soft:
        now = server.unixtime
        if not c.obuf_soft_since:
            c.obuf_soft_since = now
            soft = False
        elif now - c.obuf_soft_since <= secs:
            soft = False
    else:
        c.obuf_soft_since = 0
    return bool(hard or soft)


def close_on_output_limit(c: Client, scheduled: bool = True) -> None:
    """closeClientOnOutputBufferLimitReached: nothing more is written.
    Redis schedules the close (freeClientAsync) when it checks while a
    command adds replies, and logs "scheduled to be closed ASAP" before the
    client goes; here that check runs in the write path (beforeSleep or a
    writable event), never inside a command, so the client is freed at once
    after the same line.  ``scheduled`` False is the cron's check (Redis's
    ``async`` 0): the client is freed first, then "closed for overcoming"
    is logged."""
    server = c.server
    info = c.info_line()
    c.flags |= ClientFlag.CLOSE_ASAP
    if scheduled:
        server.log.warning(f"Client {info} scheduled to be closed ASAP for overcoming "
                           f"of output buffer limits.")
        server.free_client(c)
    else:
        server.free_client(c)
        server.log.warning(f"Client {info} closed for overcoming of output buffer limits.")


def update_output_limit_threshold(server: Any, *_: Any) -> None:
    """obuf_check_min: the smallest non-zero limit of any class.  Output at
    or under it cannot reach a limit, so the write path checks nothing."""
    lims = server.config.client_output_buffer_limit
    vals = [v for lim in lims.values() for v in (lim[0], lim[1]) if v]
    # ``>`` in the write path: a limit L is reached by used >= L.
    server.obuf_check_min = min(vals) - 1 if vals else NO_LIMIT


# --------------------------------------------------------------------------
# Client eviction (maxmemory-clients; evictClients)
# --------------------------------------------------------------------------
CLIENT_MIN_EVICTION_LIMIT = 128 * 1024
SUBSCRIPTION_MEM = 64       # per channel/pattern subscription (set entry)
PEAK_SLOTS = 8              # CLIENTS_PEAK_MEM_USAGE_SLOTS


def client_eviction_limit(server: Any) -> int:
    """getClientEvictionLimit: bytes, or 0 when client eviction is off.
    A negative maxmemory-clients is a percentage of maxmemory; a limit is
    never under 128 KiB (so a bad setting cannot lock everyone out)."""
    cfg = server.config
    mc = cfg.maxmemory_clients
    if mc < 0 and cfg.maxmemory > 0:
        limit = int(cfg.maxmemory * (-mc) / 100)
    elif mc > 0:
        limit = mc
    else:
        return 0
    return max(limit, CLIENT_MIN_EVICTION_LIMIT)


def client_memory(c: Client) -> int:
    """getClientMemoryUsage, estimated: a fixed per-client base (the Client,
    its parser, socket and registrations: CLIENT_BASE_MEM, as CLIENT LIST's
    tot-mem), the query buffer still held by the parser, the output queued,
    the arguments of queued MULTI commands and a per-subscription overhead.
    Reading the sizes costs O(1) per client plus O(chunks) of output queued
    since the last write pass."""
    mem = CLIENT_BASE_MEM + c.output_bytes()
    parser = c.parser
    if parser is not None:
        mem += parser.pending_bytes()
    if c.flags & ClientFlag.MULTI and c.mstate:
        for entry in c.mstate:
            argv = entry[1] if isinstance(entry, tuple) else getattr(entry, "argv", ())
            mem += sum(map(len, argv))
    subs = (len(c.pubsub_channels or ()) + len(c.pubsub_patterns or ())
            + len(c.pubsub_shard_channels or ()))
    return mem + subs * SUBSCRIPTION_MEM


def evict_clients(server: Any) -> int:
    """evictClients: while the memory of normal and pub/sub clients is at or
    over the limit, free the biggest evictable client (not NO-EVICT, not a
    replica or master).  Redis keeps clients in power-of-two memory buckets
    updated after every command; here the sizes are read when asked (from
    serverCron, and from beforeSleep after a client's buffers grew), and the
    clients are sorted exactly.  Returns the number evicted."""
    server.client_mem_dirty = False
    limit = server.client_evict_limit
    if not limit:
        return 0
    total = 0
    candidates = []
    skip = ClientFlag.MASTER | ClientFlag.FAKE
    for c in server.clients.values():
        flags = c.flags
        if c.sock is None or flags & skip or (flags & _CLASS_SLAVE and not flags & _CLASS_MONITOR):
            continue
        mem = client_memory(c)
        total += mem
        if not flags & (ClientFlag.NO_EVICT | ClientFlag.CLOSE_ASAP):
            candidates.append((mem, c.id, c))
    if total < limit:
        return 0
    candidates.sort(reverse=True, key=lambda t: (t[0], t[1]))
    evicted = 0
    for mem, _, c in candidates:
        if total < limit:
            break
        server.log.notice(f"Evicting client: {c.info_line()}")
        server.free_client(c)
        server.stat_evictedclients += 1
        evicted += 1
        total -= mem
    if total >= limit:
        server.log.warning("Over client maxmemory after evicting all evictable clients")
    return evicted


def recent_max_output_buffer(server: Any) -> int:
    """INFO client_recent_max_output_buffer: the biggest output buffer seen
    by serverCron in the last PEAK_SLOTS seconds, or now."""
    now = max((c.obuf_bytes for c in server.clients_backlogged), default=0)
    return max(now, max(server.clients_peak_out))


def _clients_cron(server: Any) -> None:
    """clientsCronTrackExpansiveClients (output side) and the periodic
    client-eviction check.  Only backlogged clients can hold output at cron
    time (everyone else was written in beforeSleep), so this costs
    O(backlogged) unless maxmemory-clients is set."""
    slot = server.unixtime % PEAK_SLOTS
    peaks = server.clients_peak_out
    if server.clients_peak_slot != slot:
        # Zero the slots skipped since the last call, then the new one.
        j = server.clients_peak_slot
        while j != slot:
            j = (j + 1) % PEAK_SLOTS
            peaks[j] = 0
        server.clients_peak_slot = slot
    if server.clients_backlogged:
        peak = max(c.obuf_bytes for c in server.clients_backlogged)
        if peak > peaks[slot]:
            peaks[slot] = peak
    if server.client_evict_limit:
        evict_clients(server)


def install(server: Any) -> None:
    """Attach output limits and client eviction to a server."""
    server.clients_backlogged = set()
    server.clients_peak_out = [0] * PEAK_SLOTS
    server.clients_peak_slot = 0
    server.client_mem_dirty = False
    server.stat_evictedclients = 0
    update_output_limit_threshold(server)

    def evict_if_grown() -> None:
        if server.client_mem_dirty:
            evict_clients(server)

    def update_evict_limit(*_: Any) -> None:
        # The beforeSleep check exists only while client eviction is on.
        server.client_evict_limit = client_eviction_limit(server)
        hooks = server.before_sleep_hooks
        if server.client_evict_limit:
            server.client_mem_dirty = True     # check at the next beforeSleep
            if evict_if_grown not in hooks:
                hooks.append(evict_if_grown)
        elif evict_if_grown in hooks:
            hooks.remove(evict_if_grown)
    update_evict_limit()
    cfg = server.config
    if hasattr(cfg, "add_listener"):
        cfg.add_listener("client-output-buffer-limit",
                         lambda *a: update_output_limit_threshold(server))
        cfg.add_listener("maxmemory-clients", update_evict_limit)
        cfg.add_listener("maxmemory", update_evict_limit)

    def forget(c: Client) -> None:
        server.clients_backlogged.discard(c)
    server.client_free_hooks.append(forget)
    server.cron_hooks.append(lambda: _clients_cron(server))

    def reset() -> None:
        server.stat_evictedclients = 0
    hooks = getattr(server, "reset_stats_hooks", None)
    if hooks is None:
        hooks = server.reset_stats_hooks = []
    hooks.append(reset)


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
