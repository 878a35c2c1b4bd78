"""Master/replica replication, as Redis 7.0 speaks it (``replication.c``).

One ``Replication`` object per server (``server.repl``) holds both halves:
an instance is always a potential master (its replication id, offset and
backlog) and, after REPLICAOF, also a replica of someone else.

The replication stream and its offset
-------------------------------------
Everything a master sends to its replicas after a full sync is one byte
stream: the commands as propagated by ``call()`` (``server.propagation_targets``
hands us ``(db, argv)`` batches, MULTI/EXEC-wrapped by ``flush_propagation``),
a ``SELECT`` whenever the db differs from the last one sent (``slaveseldb``),
a ``PING`` every ``repl-ping-replica-period`` seconds and ``REPLCONF GETACK *``
when WAIT asks.  ``feed_stream`` appends those bytes to the backlog, adds
their length to ``master_repl_offset`` and queues them on every replica: the
same bytes go everywhere, which is what makes offsets comparable between a
master and its replicas (``replicationFeedSlaves``).

The backlog (``Backlog``) is a circular ``bytearray`` of ``repl-backlog-size``
bytes holding the last ``histlen`` bytes of the stream; it is created with the
first replica and freed ``repl-backlog-ttl`` seconds after the last one left.
Its first byte's offset is ``master_repl_offset - histlen + 1``.

PSYNC (``masterTryPartialResynchronization``).  A replica asking for
``<replid> <offset>`` continues (``+CONTINUE <replid>``, then the backlog from
``offset``) if the id is ours, or is our previous id (``replid2``) and the
offset is not past the point where we switched (``second_replid_offset``:
PSYNC2, so a promoted replica serves its old master's other replicas), and
the offset is inside the backlog.  Otherwise ``+FULLRESYNC <replid> <offset>``
and a snapshot:

* disk (``repl-diskless-sync no``, or a replica without ``capa eof``): a BGSAVE
  through ``persistence.snapshot.rdb_save_background`` (with the
  ``repl-stream-db``/``repl-id``/``repl-offset`` AUX fields); when it ends
  (``rdb_done_hooks``) each waiting replica gets ``$<len>\\r\\n`` and the file,
  streamed with ``os.sendfile()`` from its writable handler.  A replica
  arriving while such a BGSAVE runs for another replica attaches to it: it
  copies that replica's buffered stream and initial offset.
* diskless (the 7.0 default): after ``repl-diskless-sync-delay`` seconds (or
  ``repl-diskless-sync-max-replicas`` waiting) a child writes
  ``$EOF:<40 random hex chars>\\r\\n``, the RDB and the same 40 chars to a pipe;
  the parent reads the pipe and relays each chunk to every replica socket,
  and stops reading while any replica still has unsent bytes
  (``rdbPipeReadHandler``/``rdbPipeWriteHandler``; see "Diskless relay"
  below).  As in 7.0 the command stream to a diskless replica starts at its
  first ``REPLCONF ACK``.

Meanwhile the stream after the fork point accumulates in the replica's
``pending`` list and becomes its output once the snapshot is sent.

The replica side (``syncWithMaster``/``readSyncBulkPayload``)
--------------------------------------------------------------
REPLICAOF starts a non-blocking connect; the handshake is a small state
machine driven by the socket's events: ``PING``, then pipelined ``AUTH``
(``masterauth``/``masteruser``), ``REPLCONF listening-port``,
``REPLCONF ip-address`` (``replica-announce-ip``), ``REPLCONF capa eof capa
psync2``, then ``PSYNC <cached replid> <offset+1>`` or ``PSYNC ? -1``.  The
payload (``$len`` or the EOF-mark form, with keepalive newlines skipped) goes
to a temp file in ``dir`` that is renamed over ``dbfilename`` and loaded
(``repl-diskless-load disabled``) or, for ``swapdb``/``on-empty-db``, is kept
in memory and loaded from there; either way ``rdb.read_rdb`` builds new tables
and the old dataset is replaced only when the whole payload is valid.  Then
the socket becomes the master client (flag MASTER), whose stream is parsed
here (exact byte counts are needed for the offset) and run through
``server.process_command``; its replies are dropped, except the
``REPLCONF ACK <offset>`` answer to GETACK.  After each command that is not
inside MULTI the applied bytes are fed unchanged to our own backlog and
replicas (chained replication: ``replicationFeedStreamFromMasterStream``).
A lost link keeps the master's id and offset (the cached master) so the next
connection can ``+CONTINUE``; a new id there moves ours to ``replid2``.

Restarts (rdbPopulateSaveInfo, loadDataFromDisk)
------------------------------------------------
Every RDB written while we are part of a replication history -- SAVE,
BGSAVE, save points, SHUTDOWN's and FLUSHALL's saves, the snapshot for a
replica -- carries ``repl-stream-db``, ``repl-id`` and ``repl-offset``
(``save_info``): on a master with a backlog, on a replica with a master link
or a cached master; never on a lone master.  At start-up, after the RDB is
loaded, ``restore_from_rdb`` puts them back: a replica (``replicaof`` in the
config) takes them as its own id/offset and its cached master, so its first
PSYNC asks to continue and gets ``+CONTINUE`` if its master's backlog still
covers it; a master (7.0, checked against 7.0.15) keeps them as ``replid2``
and ``second_replid_offset`` under a new id, with an empty backlog starting
at ``offset + 1``, so replicas that were in sync when it stopped continue
(+CONTINUE with the new id).  A master drops keys that expired while it was
down and sends their DELs through that backlog.

REPLICAOF NO ONE shifts the id (``replid2`` = old id, ``second_replid_offset``
= offset + 1) and disconnects our replicas so they PSYNC again and continue.
A master turned replica caches itself as the master to continue from.

WAIT blocks the client (``blocking.BLOCKED_WAIT``) until enough replicas
acknowledged the offset, asking them with ``REPLCONF GETACK *`` in
``before_sleep``.  ``min-replicas-to-write``/``-max-lag`` refuse writes with
NOREPLICAS.  FAILOVER pauses writes, waits for the target to catch up, then
turns this master into a replica of it with ``PSYNC <replid> <offset>
FAILOVER``, which makes the target a master.

SHUTDOWN waits for lagging replicas (``Server.prepare_for_shutdown``, Redis's
``prepareForShutdown``/``isReadyToShutdown``): while some replica's acked
offset differs from ``master_repl_offset`` and ``shutdown-timeout`` allows,
writes are paused, the replicas get ``REPLCONF GETACK *``
(``send_getack``) and the shutdown finishes from serverCron -- or as soon as
an ACK makes every replica current (``replconf`` schedules the check) -- or
when the timeout passes; ``log_lagging_replicas`` then writes finishShutdown's
"Lagging replica ..." lines.  A replica answers GETACK with its offset
before the GETACK, so right after a write even a healthy replica is current
only at its next once-a-second ACK: such a SHUTDOWN waits up to about a
second, as in Redis 7.0.

WAIT waits for the offset of the calling client's last write (``c.woff``,
set by ``Server.after_call`` when a top-level call's propagation is
flushed), as Redis does.
DIVERGENCE: the diskless-load replica buffers the payload in memory and
parses it once complete (Redis parses it from the socket while reading,
blocking its event loop); clients keep being served (stale data) meanwhile.

Diskless relay (rdbSaveToSlavesSockets, rdbPipeReadHandler)
-----------------------------------------------------------
The child writes the payload into a pipe enlarged to 1 MiB (F_SETPIPE_SZ)
in the serialiser's 64 KiB pieces.  The parent reads the pipe into one
reused 1 MiB buffer (``os.readv``), hands each piece to every replica with
one ``send`` and goes on reading, up to 4 MiB per wakeup, while every
replica took all of it.  A replica that took less keeps the rest in
``link.out`` and gets a writable handler; the pipe is not read again until
every replica's ``out`` is empty (Redis's rule: a slow replica slows the
others, it does not make us buffer the RDB), and the writable handler is
removed as soon as ``out`` is empty -- a writable handler left on a socket
with nothing to send fires at every loop pass (that busy loop once cost
2 s of CPU per 34 MB, on the core the child needed).  A replica that has
not taken a byte for ``repl-timeout`` seconds is dropped ("Disconnecting
timedout replica (full sync)"), which frees the others.
With exactly one replica on a plain socket, ``os.splice`` moves the pipe's
pages to the socket inside the kernel (no copy through Python); when
splice would block, FIONREAD on the pipe tells which side is the reason
(data left: the socket is full, wait for writable; else wait for the
child).  ``DEBUG REPL-SPLICE 0`` turns it off (for the bench).  The relay
costs the parent about 0.15 s of CPU per 34 MB either way: the transfer
is as fast as the child serialises.
At the pipe's EOF the parent logs "Diskless rdb transfer, done reading
from pipe, N replicas still up."; if the child wrote its one-byte "whole"
note to a second pipe (it does so after the end mark, before closing the
payload pipe, so the note is there when the EOF is) the replicas go online
at once ("Streamed RDB transfer with replica ... succeeded (socket). Waiting
for REPLCONF ACK from slave to enable streaming"); otherwise the child
failed and its reaping drops them.  A child reaped before its relay ends
(it may exit while the pipe still holds its last bytes) leaves the relay
running; no new diskless child starts until it is done.  The last replica
dropping before the EOF kills the child.

Output-buffer limits of replicas (client-output-buffer-limit replica)
----------------------------------------------------------------------
Redis 7.0 keeps one shared buffer for the backlog and all replicas, and a
replica's usage is the part of it the replica still references: from its
fork point during a full sync (WAIT_BGSAVE_END, SEND_BULK, and until the
first ACK of a diskless one), or its unsent stream once online.  The
hard limit closes at once, the soft one after soft-seconds over it, with
``networking.output_limit_reached`` (checkClientOutputBufferLimits) deciding
and ``close_on_output_limit`` closing with Redis's "... scheduled to be
closed ASAP for overcoming of output buffer limits." line.  Here:

* an online replica's stream is its ordinary output, so networking's write
  path checks it as it grows;
* the stream held in ``pending`` is counted (``pending_bytes``) and checked
  in ``feed_stream`` once past ``server.obuf_check_min`` (nothing is checked
  below it, and nothing at all is added for an online replica);
* serverCron's pass (``check_output_limits``, clientsCron's
  ``closeClientOnOutputBufferLimitReached(c, 0)``) catches a replica that is
  over the soft limit while no more writes come; as in Redis it frees it at
  once and logs "... closed for overcoming of output buffer limits." after
  "Connection with replica ... lost.";
* 7.0 raises a replica's hard limit to ``repl-backlog-size`` when it is
  lower (in ``output_limit_reached``), so a replica with a big backlog
  behind it is not dropped at a small hard limit;
* after ``+CONTINUE`` the backlog goes out from our own writable handler,
  not as one reply: a replica reading it fast is not refused for its size
  (in Redis it merely references the backlog's blocks).

A replica dropped this way reconnects and PSYNCs: it continues if the
backlog still covers its offset (a soft-limit drop with a big backlog),
else it gets a full sync.
CLIENT LIST's ``omem`` for a replica is ``output_usage``.
DIVERGENCE: the usage is the exact bytes held (Redis counts whole 16 KiB
blocks from the one the replica is in, plus their headers, so an idle
replica shows about 20 KB there and 0 here); ``oll`` counts our reply
chunks, not its blocks.
"""
from __future__ import annotations

import errno
import io
import os
import socket
import struct
import time
from typing import Any

import hiredis

from omakase.networking import (Client, ClientFlag, close_on_output_limit,
                                output_limit_reached)

_pack = hiredis.pack_command

# Replica states as seen by the master (server.h SLAVE_STATE_*).
WAIT_BGSAVE_START = 6
WAIT_BGSAVE_END = 7
SEND_BULK = 8
ONLINE = 9

# The replica's link with its master (server.h REPL_STATE_*).
REPL_NONE = 0
REPL_CONNECT = 1
REPL_CONNECTING = 2
REPL_RECEIVE_PING = 3
REPL_RECEIVE_HANDSHAKE = 4
REPL_RECEIVE_PSYNC = 5
REPL_TRANSFER = 6
REPL_CONNECTED = 7

# What holds a replica's stream in ``ReplicaLink.pending`` once it is online.
HOLD_NONE = 0
HOLD_ACK = 1        # diskless: until its first REPLCONF ACK
HOLD_BACKLOG = 2    # after +CONTINUE: until the backlog is sent

CAPA_EOF = 1
CAPA_PSYNC2 = 2

EOF_MARK_SIZE = 40
READ_CHUNK = 64 * 1024
# The diskless relay (see "Diskless relay" above).
F_SETPIPE_SZ = 1031
PIPE_SIZE = 1 << 20          # the child's pipe (the default is 64 KiB)
RELAY_BUF = 1 << 20          # the parent reads the pipe into one reused buffer
SPLICE_CHUNK = 1 << 20
RELAY_BUDGET = 4 << 20       # bytes relayed per pipe event before yielding

NO_FAILOVER = "no-failover"
FAILOVER_WAIT_FOR_SYNC = "waiting-for-sync"
FAILOVER_IN_PROGRESS = "failover-in-progress"

NOREPLICAS = "-NOREPLICAS Not enough good replicas to write."
MASTERDOWN = ("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
              "is set to 'no'.")


def _new_replid() -> str:
    return os.urandom(20).hex()


def _parse_save_info(aux: dict[bytes, bytes]) -> tuple[str, int, int] | None:
    """``(repl-id, repl-offset, repl-stream-db)`` from an RDB's AUX fields,
    or None unless all three are there and usable (rdbLoad's checks: a
    40-char id, an offset and a db that are not -1)."""
    rid = aux.get(b"repl-id")
    if rid is None or len(rid) != 40:
        return None
    try:
        offset = int(aux.get(b"repl-offset", b"-1"))
        dbid = int(aux.get(b"repl-stream-db", b"-1"))
    except ValueError:
        return None
    if offset == -1 or dbid == -1:
        return None
    return rid.decode("latin-1"), offset, dbid


class Backlog:
    """The circular replication backlog (``replBacklog``)."""
    __slots__ = ("buf", "size", "idx", "histlen")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buf = bytearray(size)
        self.idx = 0          # where the next byte goes
        self.histlen = 0

    def feed(self, data: bytes) -> None:
        n = len(data)
        size = self.size
        if n >= size:
            self.buf[:] = data[n - size:]
            self.idx = 0
            self.histlen = size
            return
        mv = memoryview(data)
        idx = self.idx
        first = min(n, size - idx)
        self.buf[idx:idx + first] = mv[:first]
        if first < n:
            self.buf[:n - first] = mv[first:]
        self.idx = (idx + n) % size
        self.histlen = min(self.histlen + n, size)

    def tail(self, count: int) -> bytes:
        """The last ``count`` bytes (count <= histlen)."""
        if count <= 0:
            return b""
        start = (self.idx - count) % self.size
        if start + count <= self.size:
            return bytes(self.buf[start:start + count])
        return bytes(self.buf[start:]) + bytes(self.buf[:self.idx])

    def resized(self, size: int) -> "Backlog":
        keep = min(self.histlen, size)
        new = Backlog(size)
        new.feed(self.tail(keep))
        return new


class ReplicaLink:
    """What a master keeps about one replica client (the slave fields of
    Redis's ``client``)."""
    __slots__ = ("c", "state", "listening_port", "announced_ip", "capa", "ack_off",
                 "ack_time", "initial_offset", "pending", "pending_bytes", "socket_mode",
                 "rdb_fd", "rdb_off", "rdb_size", "out", "hold", "since", "is_replica",
                 "old_sync", "cron_usage", "partial_write")

    def __init__(self, c: Client) -> None:
        self.c = c
        self.state = 0
        self.listening_port = 0
        self.announced_ip = ""
        self.capa = 0
        self.ack_off = 0
        self.ack_time = time.time()
        self.initial_offset = -1
        # The stream since the snapshot's fork point, held until the
        # replica is online (and, diskless, has sent its first ACK); it
        # counts against client-output-buffer-limit replica.
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.cron_usage = 0          # output usage seen by the last cron check
        self.socket_mode = False
        self.rdb_fd = -1
        self.rdb_off = 0
        self.rdb_size = 0
        self.out = bytearray()       # bytes to write before/with the payload
        self.hold = HOLD_NONE          # the stream goes to ``pending`` while set
        self.since = time.time()
        self.is_replica = False
        self.old_sync = False
        # diskless: when a relay write last left bytes unsent (0: none left)
        self.partial_write = 0.0

    def ip(self) -> str:
        if self.announced_ip:
            return self.announced_ip
        addr = self.c.addr
        if addr.startswith("/") or not addr:
            return "127.0.0.1"
        return addr.rsplit(":", 1)[0].strip("[]")

    def name(self) -> str:
        """replicationGetSlaveName: "ip:port" ("[ip]:port" for IPv6), as
        replicas are named in the log."""
        ip = self.ip()
        if not self.listening_port:
            return f"{ip}:<unknown-replica-port>"
        return f"[{ip}]:{self.listening_port}" if ":" in ip else f"{ip}:{self.listening_port}"

    def state_name(self) -> str:
        if self.state in (WAIT_BGSAVE_START, WAIT_BGSAVE_END):
            return "wait_bgsave"
        if self.state == SEND_BULK:
            return "send_bulk"
        return "online" if self.state == ONLINE else "unknown"


def _pipe_pending(fd: int) -> int:
    """Bytes waiting in a pipe (FIONREAD)."""
    import fcntl
    import termios
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


class _PipeWriter:
    """A blocking file-like over a pipe's write end (the diskless child)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: Any) -> int:
        mv = memoryview(data)
        total = len(mv)
        while mv:
            n = os.write(self.fd, mv)
            mv = mv[n:]
        return total


class StreamParser:
    """The master's stream: multibulk commands (and stray newlines), with
    the exact byte length of each, which the offset needs."""
    __slots__ = ("buf", "pos", "applied")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.pos = 0
        self.applied = 0     # bytes before this were applied (and counted)

    def feed(self, data: bytes) -> None:
        done = self.applied
        if done > 65536 and done * 2 > len(self.buf):
            del self.buf[:done]
            self.pos -= done
            self.applied = 0
        self.buf += data

    def next(self) -> list[bytes] | None:
        """The next argv ([] for an inline/empty line), None if incomplete."""
        buf = self.buf
        pos = self.pos
        if pos >= len(buf):
            return None
        if buf[pos] != 42:   # '*': an inline line (only newlines in practice)
            end = buf.find(b"\n", pos)
            if end < 0:
                return None
            line = bytes(buf[pos:end]).strip()
            self.pos = end + 1
            return line.split() if line else []
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return None
        n = int(buf[pos + 1:end])
        p = end + 2
        argv = []
        for _ in range(n):
            end = buf.find(b"\r\n", p)
            if end < 0:
                return None
            if buf[p] != 36:
                raise ValueError("expected '$' in the master stream")
            ln = int(buf[p + 1:end])
            start = end + 2
            if start + ln + 2 > len(buf):
                return None
            argv.append(bytes(buf[start:start + ln]))
            p = start + ln + 2
        self.pos = p
        return argv


class Replication:
    """``server.repl``: the state of replication.c's globals."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.replid = getattr(server, "replid", None) or _new_replid()
        self.replid2 = "0" * 40
        self.master_repl_offset = 0
        self.second_replid_offset = -1
        self.backlog: Backlog | None = None
        self.links: dict[int, ReplicaLink] = {}     # client id -> link (REPLCONF seen)
        self.replicas: list[ReplicaLink] = []
        self.slaveseldb = -1
        self.no_replicas_since = time.time()
        self.last_ping = time.time()
        self.last_second = 0.0
        self.get_ack = False
        self.waiting: list[Client] = []
        self.wait_info: dict[int, tuple[int, int]] = {}
        self.ack_pending = False
        self.ack_pending_off = 0
        self.cached_db = 0
        # the child (disk BGSAVE for replication, or the diskless writer)
        self.child_kind: str | None = None
        self.pipe_fd = -1
        self.pipe_ok_fd = -1         # the child writes a byte there once it wrote it all
        self.pipe_links: list[ReplicaLink] = []
        self.relay_buf: bytearray | None = None
        self.relay_view = memoryview(b"")
        # False: no splice() to a lone replica (DEBUG REPL-SPLICE 0, for the bench).
        self.splice = hasattr(os, "splice")
        # False forces the read()+send() loop for disk payloads (DEBUG
        # REPL-SENDFILE 0: for bench/replication.py, not a user setting).
        self.sendfile = True
        # replica side
        self.masterhost: str | None = None
        self.masterport = 0
        self.state = REPL_NONE
        self.master: Client | None = None
        self.master_reploff = 0
        self.master_read_reploff = 0
        self.master_replid = ""
        self.cached: tuple[str, int] | None = None     # (replid, reploff)
        self.down_since = 0
        self.sock: socket.socket | None = None
        self.inbuf = bytearray()
        self.hs_expect: list[str] = []
        self.last_io = 0.0
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_eofmark = b""
        self.transfer_tmp = ""
        self.transfer_fd = -1
        self.transfer_mem: bytearray | None = None
        self.transfer_tail = b""
        self.parser: StreamParser | None = None
        self.psync_offset = -1
        self.initial_offset = -1
        self.failover_state = NO_FAILOVER
        self.failover_end = 0.0
        self.failover_target: tuple[str, int] | None = None
        self.failover_force = False
        self.failover_client: Client | None = None
        self.failover_host: str | None = None

    @property
    def log(self) -> Any:
        return self.server.log

    # ------------------------------------------------------------------
    # The stream: backlog, offset, replicas
    # ------------------------------------------------------------------
    def create_backlog(self) -> None:
        self.backlog = Backlog(self.server.config.repl_backlog_size)
        targets = self.server.propagation_targets
        if self.on_propagate not in targets:
            targets.append(self.on_propagate)

    def free_backlog(self) -> None:
        self.backlog = None
        server = self.server
        if self.on_propagate in server.propagation_targets:
            server.propagation_targets = [t for t in server.propagation_targets
                                          if t != self.on_propagate]

    def update_guard(self) -> None:
        """The replication guard runs only when it can refuse something:
        on a replica, or with min-replicas-to-write."""
        server = self.server
        cfg = server.config
        want = self.masterhost is not None or bool(cfg.min_replicas_to_write
                                                   and cfg.min_replicas_max_lag)
        hooks = server.guard_hooks
        if want and self.guard not in hooks:
            hooks.append(self.guard)
        elif not want and self.guard in hooks:
            server.guard_hooks = [g for g in hooks if g != self.guard]
        server.refresh_guards()

    def guard(self, c: Client, cmd: Any, argv: list[bytes]) -> str | None:
        return _guard(self, c, cmd)

    def on_propagate(self, ops: list[tuple[int, list[bytes]]]) -> None:
        """A propagation target: commands a master executed."""
        if self.masterhost is not None or self.backlog is None:
            return
        parts = []
        for db, argv in ops:
            if db != self.slaveseldb:
                parts.append(_pack((b"SELECT", b"%d" % db)))
                self.slaveseldb = db
            parts.append(_pack(tuple(argv)))
        self.feed_stream(parts[0] if len(parts) == 1 else b"".join(parts))

    def feed_command(self, argv: list[bytes]) -> None:
        """PING / REPLCONF GETACK: fed in the current db, no SELECT."""
        if self.masterhost is not None or self.backlog is None:
            return
        self.feed_stream(_pack(tuple(argv)))

    def feed_stream(self, data: bytes) -> None:
        if self.backlog is None:
            return
        self.backlog.feed(data)
        self.master_repl_offset += len(data)
        over = None
        for link in self.replicas:
            st = link.state
            if st == ONLINE and not link.hold:
                # The output limits of an online replica are checked when
                # its output is written (networking.write_pending).
                c = link.c
                c.reply.append(data)
                c.queue_write()
            elif st != WAIT_BGSAVE_START:
                link.pending.append(data)
                link.pending_bytes += len(data)
                if (link.pending_bytes > self.server.obuf_check_min
                        or link.hold == HOLD_BACKLOG):
                    over = [link] if over is None else over + [link]
        if over is not None:
            self._check_pending_limits(over)

    def _check_pending_limits(self, links: list[ReplicaLink]) -> None:
        """The output-buffer limits of replicas that are not streaming yet
        (the check feedReplicationBuffer makes as the shared buffer grows):
        their usage is the stream held since the fork point."""
        check_min = self.server.obuf_check_min
        for link in links:
            c = link.c
            used = self.output_usage(link)
            if link.state and used > check_min and output_limit_reached(c, used):
                close_on_output_limit(c)

    def output_usage(self, link: ReplicaLink) -> int:
        """A replica's output-buffer usage (getClientOutputBufferMemoryUsage
        for replicas: the part of the stream it has not been sent): the
        stream held back during the full sync plus the output queued and
        unsent on its socket (and, after a +CONTINUE, the part of the
        backlog not sent yet)."""
        used = link.pending_bytes + link.c.output_bytes()
        if link.hold == HOLD_BACKLOG:
            used += len(link.out)
        return used

    def check_output_limits(self) -> None:
        """clientsCron's closeClientOnOutputBufferLimitReached(c, 0) for
        replicas: a replica that stopped reading while no more writes come
        is still closed once it has been over the soft limit for the soft
        seconds.  As in Redis this check frees the client at once and logs
        after the "Connection with replica ... lost." line.

        Redis refreshes its clock at every command, so a replica still being
        fed is caught by the check as the stream grows (the "scheduled to be
        closed ASAP" line) before serverCron gets to it; our clock moves
        only in serverCron, so a replica whose output grew since the last
        tick is left to that write-path check, and this one closes the
        replicas that are not being fed."""
        server = self.server
        for link in list(self.replicas):
            c = link.c
            used = self.output_usage(link)
            grew = used > link.cron_usage
            link.cron_usage = used
            if ((used > server.obuf_check_min or c.obuf_soft_since)
                    and output_limit_reached(c, used) and not grew):
                close_on_output_limit(c, scheduled=False)

    def good_replicas(self) -> int:
        lag = self.server.config.min_replicas_max_lag
        now = time.time()
        return sum(1 for link in self.replicas
                   if link.state == ONLINE and now - link.ack_time <= lag)

    # ------------------------------------------------------------------
    # Master side: REPLCONF, PSYNC
    # ------------------------------------------------------------------
    def link_for(self, c: Client) -> ReplicaLink:
        link = self.links.get(c.id)
        if link is None:
            link = self.links[c.id] = ReplicaLink(c)
        return link

    def replconf(self, c: Client, argv: list[bytes]) -> None:
        if len(argv) % 2 == 0:
            c.add_reply_error("syntax error")
            return
        for i in range(1, len(argv), 2):
            opt = argv[i].lower()
            val = argv[i + 1]
            if opt == b"listening-port":
                try:
                    port = int(val)
                except ValueError:
                    c.add_reply_error("value is not an integer or out of range")
                    return
                self.link_for(c).listening_port = port
            elif opt == b"ip-address":
                if len(val) >= 46:
                    c.add_reply_error(f"REPLCONF ip-address provided by replica instance "
                                      f"is too long: {len(val)} bytes")
                    return
                self.link_for(c).announced_ip = val.decode("latin-1")
            elif opt == b"capa":
                link = self.link_for(c)
                if val.lower() == b"eof":
                    link.capa |= CAPA_EOF
                elif val.lower() == b"psync2":
                    link.capa |= CAPA_PSYNC2
            elif opt == b"ack":
                link = self.links.get(c.id)
                if link is None or not c.flags & ClientFlag.SLAVE:
                    return
                try:
                    off = int(val)
                except ValueError:
                    return
                if off > link.ack_off:
                    link.ack_off = off
                link.ack_time = time.time()
                if link.hold == HOLD_ACK and link.state == ONLINE:
                    self._start_command_stream(link)
                if self.waiting or self.failover_state == FAILOVER_WAIT_FOR_SYNC:
                    self.check_waiting()
                if self.server.shutdown_mstime and self.is_ready_to_shutdown():
                    # Finish the waiting SHUTDOWN now rather than at the
                    # next serverCron (outside this command: beforeSleep).
                    self.server.before_sleep_once.append(self.server.shutdown_cron)
                return
            elif opt == b"getack":
                if c is self.master:
                    # Answered once the command is done, with the offset
                    # before it (replicationSendAck from replconfCommand).
                    self.ack_pending = True
                    self.ack_pending_off = self.master_reploff
                return
            elif opt in (b"rdb-only", b"rdb-filter-only"):
                pass
            else:
                c.add_reply_error(f"Unrecognized REPLCONF option: "
                                  f"{argv[i].decode('utf-8', 'replace')}")
                return
        c.add_reply_ok()

    def psync(self, c: Client, argv: list[bytes]) -> None:
        """syncCommand: SYNC and PSYNC."""
        if c.flags & ClientFlag.SLAVE:
            return
        is_psync = argv[0].lower() == b"psync"
        if is_psync and len(argv) > 3 and argv[3].lower() == b"failover":
            if argv[1].decode("latin-1").lower() == self.replid:
                self.unset_master()
                self.log.notice(f"MASTER MODE enabled (failover request from "
                                f"'{c.info_line()}')")
            else:
                c.add_reply_error("PSYNC FAILOVER replid must match my replid.")
                return
        if self.failover_state != NO_FAILOVER:
            c.add_reply_error("-NOMASTERLINK Can't SYNC while failing over")
            return
        if self.masterhost is not None and self.state != REPL_CONNECTED:
            c.add_reply_error("-NOMASTERLINK Can't SYNC while not connected with my master")
            return
        if c.reply:
            c.add_reply_error("SYNC and PSYNC are invalid with pending output")
            return
        link = self.link_for(c)
        name = link.name()
        self.log.notice(f"Replica {name} asks for synchronization")
        if is_psync:
            replid = argv[1].decode("latin-1").lower()
            try:
                offset = int(argv[2])
            except ValueError:
                offset = -1
            if self._try_partial(c, link, replid, offset):
                self.server.stat_sync_partial_ok += 1
                return
            if replid != "?":
                self.server.stat_sync_partial_err += 1
        else:
            link.capa = 0   # an old SYNC replica: no +FULLRESYNC, disk only
        self.server.stat_sync_full += 1
        c.flags |= ClientFlag.SLAVE
        link.is_replica = True
        link.state = WAIT_BGSAVE_START
        link.since = time.time()
        link.old_sync = not is_psync
        self.replicas.append(link)
        if self.backlog is None and len(self.replicas) == 1:
            # The first replica of a master without history: a new history.
            if self.masterhost is None:
                self.replid = _new_replid()
                self.clear_replid2()
            self.create_backlog()
            self.log.notice(f"Replication backlog created, my new replication IDs are "
                            f"'{self.replid}' and '{self.replid2}'")
        elif self.backlog is None:
            self.create_backlog()
        server = self.server
        if self.child_kind == "disk" and server.child_type == "rdb":
            # A BGSAVE for replication runs: attach if another replica
            # records the stream since its fork.
            for other in self.replicas:
                if (other is not link and other.state == WAIT_BGSAVE_END
                        and not other.socket_mode and (link.capa & other.capa) == other.capa):
                    link.pending = list(other.pending)
                    link.pending_bytes = other.pending_bytes
                    self._setup_full_resync(link, other.initial_offset)
                    self.log.notice("Waiting for end of BGSAVE for SYNC")
                    return
            self.log.notice("Can't attach the replica to the current BGSAVE. Waiting for "
                            "next BGSAVE for SYNC")
        elif server.child_pid:
            self.log.notice("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC"
                            if self.child_kind == "socket" else
                            "No BGSAVE in progress, but another BG operation is active. "
                            "BGSAVE for replication delayed")
        elif server.config.repl_diskless_sync and link.capa & CAPA_EOF:
            if server.config.repl_diskless_sync_delay:
                self.log.notice("Delay next BGSAVE for diskless SYNC")
            else:
                self.start_pending_fork()
        else:
            self.start_bgsave_for_replication(link.capa)

    def _try_partial(self, c: Client, link: ReplicaLink, replid: str, offset: int) -> bool:
        """masterTryPartialResynchronization."""
        name = link.name()
        if replid != self.replid and (replid != self.replid2
                                      or offset > self.second_replid_offset):
            if replid == "?":
                self.log.notice(f"Full resync requested by replica {name}")
            elif replid != self.replid2:
                self.log.notice(f"Partial resynchronization not accepted: Replication ID "
                                f"mismatch (Replica asked for '{replid}', my replication "
                                f"IDs are '{self.replid}' and '{self.replid2}')")
            else:
                self.log.notice(f"Partial resynchronization not accepted: Requested offset "
                                f"for second ID was {offset}, but I can reply up to "
                                f"{self.second_replid_offset}")
            return False
        bl = self.backlog
        first = self.master_repl_offset - (bl.histlen if bl else 0) + 1
        if bl is None or offset < first or offset > self.master_repl_offset + 1:
            self.log.notice(f"Unable to partial resync with replica {name} for lack of "
                            f"backlog (Replica request was: {offset}).")
            return False
        c.flags |= ClientFlag.SLAVE
        link.is_replica = True
        link.state = ONLINE
        link.ack_time = time.time()
        self.replicas.append(link)
        if link.capa & CAPA_PSYNC2:
            c.add_reply(b"+CONTINUE %s\r\n" % self.replid.encode())
        else:
            c.add_reply(b"+CONTINUE\r\n")
        count = self.master_repl_offset + 1 - offset
        if count:
            # The backlog goes out from our own writable handler, and the
            # stream meanwhile to ``pending``: as in Redis (where the
            # replica references the backlog's blocks) it counts against
            # the output limits only as the stream grows and in serverCron,
            # so a replica reading it fast is not refused for its size.
            link.out += bl.tail(count)
            link.hold = HOLD_BACKLOG
            self._take_writer(link, self._send_backlog)
        else:
            c.queue_write()
        self.log.notice(f"Partial resynchronization request from {name} accepted. Sending "
                        f"{count} bytes of backlog starting from offset {offset}.")
        return True

    def _setup_full_resync(self, link: ReplicaLink, offset: int) -> None:
        """replicationSetupSlaveForFullResync."""
        link.initial_offset = offset
        link.state = WAIT_BGSAVE_END
        self.slaveseldb = -1
        if not link.old_sync:
            link.c.add_reply(b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), offset))
            link.c.queue_write()

    def save_info(self) -> dict[bytes, bytes] | None:
        """rdbPopulateSaveInfo + rdbSaveInfoAuxFields: the ``repl-stream-db``,
        ``repl-id`` and ``repl-offset`` AUX fields every RDB we write carries
        when it can name a point of a replication history: a master with a
        backlog (the db of its stream, 0 when no SELECT went out since the
        last full sync: the next write sends one), a replica with a master
        link (the db its master client has selected) or a cached master.
        None otherwise (no history anyone could continue from)."""
        if self.masterhost is None and self.backlog is not None:
            db = 0 if self.slaveseldb == -1 else self.slaveseldb
        elif self.master is not None:
            db = self.master.db.id
        elif self.masterhost is not None and self.cached is not None:
            db = self.cached_db
        else:
            return None
        return {b"repl-stream-db": b"%d" % db, b"repl-id": self.replid.encode(),
                b"repl-offset": b"%d" % self.master_repl_offset}

    def restore_from_rdb(self, aux: dict[bytes, bytes],
                         expired: list[tuple[int, bytes]]) -> None:
        """The replication half of loadDataFromDisk, after the RDB loaded.

        A replica (``replicaof`` in the config) takes the file's id and
        offset as its own and caches itself as the master to continue from
        (``replicationCacheMasterUsingMyself``, the master client in
        ``repl-stream-db``), so its first PSYNC asks for ``<id> <offset+1>``.
        A master keeps that history as its secondary id, valid up to
        ``offset + 1`` (PSYNC2), under a new id, with an empty backlog whose
        first byte is ``offset + 1``: replicas that were in sync when it
        stopped continue.  ``expired`` are the keys a master dropped while
        loading; as with RDBFLAGS_FEED_REPL they go to the backlog as DELs
        (without a history the backlog is then freed, but the offset keeps
        their bytes, as in 7.0.15)."""
        info = _parse_save_info(aux)
        if self.server.config.replicaof:
            if info is not None:
                replid, offset, dbid = info
                self.replid = replid
                self.master_repl_offset = offset
                self.cache_myself()
                self.cached_db = dbid if 0 <= dbid < len(self.server.dbs) else 0
            return
        if info is None and not expired:
            return
        if self.backlog is None:
            self.create_backlog()
        self.no_replicas_since = time.time()
        if info is not None:
            replid, offset, _ = info
            self.replid2 = replid
            self.second_replid_offset = offset + 1
            self.master_repl_offset = offset
        for dbid, key in expired:
            self.on_propagate([(dbid, [b"DEL", key])])
        if info is None:
            # No history to continue: the DELs only moved the offset.
            self.free_backlog()

    def start_pending_fork(self) -> None:
        """replicationStartPendingFork: replicas waiting for a BGSAVE."""
        server = self.server
        if server.child_pid or self.pipe_fd >= 0:
            return      # (a diskless child may end before its relay does)
        waiting = [lk for lk in self.replicas if lk.state == WAIT_BGSAVE_START]
        if not waiting:
            return
        cfg = server.config
        mincapa = -1
        maxidle = 0.0
        now = time.time()
        for lk in waiting:
            mincapa = lk.capa if mincapa == -1 else mincapa & lk.capa
            maxidle = max(maxidle, now - lk.since)
        if (not cfg.repl_diskless_sync
                or (cfg.repl_diskless_sync_max_replicas
                    and len(waiting) >= cfg.repl_diskless_sync_max_replicas)
                or maxidle >= cfg.repl_diskless_sync_delay):
            self.start_bgsave_for_replication(mincapa)

    def start_bgsave_for_replication(self, mincapa: int) -> None:
        """startBgsaveForReplication."""
        server = self.server
        waiting = [lk for lk in self.replicas if lk.state == WAIT_BGSAVE_START]
        if not waiting:
            return
        socket_target = bool(server.config.repl_diskless_sync and mincapa & CAPA_EOF)
        self.log.notice(f"Starting BGSAVE for SYNC with target: "
                        f"{'replicas sockets' if socket_target else 'disk'}")
        aux = self.save_info()
        if aux is None:
            # Without repl-stream-db the replica could not follow our stream.
            self.log.warning("BGSAVE for replication: replication information not "
                             "available, can't generate the RDB file right now. Try later.")
            ok = False
        elif socket_target:
            ok = self._diskless_start(waiting, aux)
        else:
            from omakase.persistence import snapshot
            offset = self.master_repl_offset
            ok = snapshot.rdb_save_background(server, aux)
            if ok:
                self.child_kind = "disk"
                for lk in waiting:
                    self._setup_full_resync(lk, offset)
        if not ok:
            self.log.warning("BGSAVE for replication failed")
            for lk in waiting:
                lk.c.add_reply_error("BGSAVE failed, replication can't continue")
                lk.c.flags |= ClientFlag.CLOSE_AFTER_REPLY
                self._drop_replica(lk)
                lk.c.queue_write()

    def _drop_replica(self, link: ReplicaLink) -> None:
        if link in self.replicas:
            self.replicas.remove(link)
            link.state = 0
            if not self.replicas:
                self.no_replicas_since = time.time()

    # -- disk target -------------------------------------------------------
    def on_rdb_done(self, ok: bool) -> None:
        """updateSlavesWaitingBgsave for the disk target."""
        if self.child_kind != "disk":
            return
        self.child_kind = None
        from omakase.persistence import snapshot
        for link in list(self.replicas):
            if link.state != WAIT_BGSAVE_END or link.socket_mode:
                continue
            if not ok:
                self.log.warning("SYNC failed. BGSAVE child returned an error")
                self.server.free_client(link.c)
                continue
            try:
                fd = os.open(snapshot.rdb_path(self.server), os.O_RDONLY)
            except OSError as exc:
                self.log.warning(f"SYNC failed. Can't open/stat DB after BGSAVE: {exc}")
                self.server.free_client(link.c)
                continue
            link.rdb_fd = fd
            link.rdb_off = 0
            link.rdb_size = os.fstat(fd).st_size
            link.out += b"$%d\r\n" % link.rdb_size
            link.state = SEND_BULK
            self._take_writer(link, self._send_bulk)
        self.start_pending_fork()

    def _take_writer(self, link: ReplicaLink, handler: Any) -> None:
        """Our handler owns the socket's writable event while the payload
        goes out; what the client had queued is sent first."""
        c = link.c
        if c.reply:
            link.out[0:0] = b"".join(bytes(x) for x in c.reply)
            c.reply = []
        c.write_installed = False
        self.server.el.add_writer(c.fd, lambda fd, lk=link: handler(lk))

    def _write_out(self, link: ReplicaLink) -> bool:
        """Send link.out; True when it is empty."""
        out = link.out
        while out:
            try:
                n = link.c.sock.send(out)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as exc:
                if link.hold == HOLD_BACKLOG:
                    self.log.verbose(f"Error writing to client: {exc.strerror}")
                else:
                    self.log.warning(f"Write error sending DB to replica: {exc.strerror}")
                self.server.free_client(link.c)
                return False
            self.server.stat_net_output_bytes += n
            del out[:n]
        return True

    def _send_bulk(self, link: ReplicaLink) -> None:
        """sendBulkToSlave: the preamble, then the file by sendfile()."""
        if link.state != SEND_BULK or not self._write_out(link):
            return
        c = link.c
        # sendfile() copies file pages to the socket inside the kernel; a TLS
        # connection must encrypt in user space, so it gets read + send.
        zero_copy = self.sendfile and isinstance(c.sock, socket.socket)
        while link.rdb_off < link.rdb_size:
            try:
                if zero_copy:
                    n = os.sendfile(c.fd, link.rdb_fd, link.rdb_off,
                                    min(link.rdb_size - link.rdb_off, 1 << 22))
                else:
                    chunk = os.pread(link.rdb_fd, min(link.rdb_size - link.rdb_off, 1 << 16),
                                     link.rdb_off)
                    n = c.sock.send(chunk) if chunk else 0
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.log.warning(f"Sendfile error sending DB to replica: {exc.strerror}")
                self.server.free_client(c)
                return
            if n == 0:
                break
            link.rdb_off += n
            self.server.stat_net_output_bytes += n
        os.close(link.rdb_fd)
        link.rdb_fd = -1
        self._put_online(link, wait_ack=False)

    def _send_backlog(self, link: ReplicaLink) -> None:
        """The backlog after +CONTINUE; then the stream held meanwhile."""
        if link.hold != HOLD_BACKLOG or not self._write_out(link):
            return
        self.server.el.remove_writer(link.c.fd)
        self._start_command_stream(link)

    def _put_online(self, link: ReplicaLink, wait_ack: bool) -> None:
        """replicaPutOnline (+ replicaStartCommandStream)."""
        c = link.c
        self.server.el.remove_writer(c.fd)
        link.state = ONLINE
        link.ack_time = time.time()
        link.hold = HOLD_ACK if wait_ack else HOLD_NONE
        self.log.notice(f"Synchronization with replica {link.name()} "
                        f"succeeded")
        if not wait_ack:
            self._start_command_stream(link)

    def _start_command_stream(self, link: ReplicaLink) -> None:
        link.hold = HOLD_NONE
        if link.pending:
            link.c.reply.extend(link.pending)
            link.pending = []
            link.pending_bytes = 0
            link.c.queue_write()

    # -- socket target (diskless) -----------------------------------------
    def _diskless_start(self, waiting: list[ReplicaLink], aux: dict[bytes, bytes]) -> bool:
        """rdbSaveToSlavesSockets: fork a child writing the payload into a
        pipe (see "Diskless relay" in the module docstring)."""
        from omakase.persistence import child as childproc
        from omakase.persistence import rdb
        server = self.server
        mark = os.urandom(EOF_MARK_SIZE // 2).hex().encode()
        r, w = os.pipe()
        ok_r, ok_w = os.pipe()           # one byte once the payload is complete
        try:
            import fcntl
            fcntl.fcntl(w, F_SETPIPE_SZ, PIPE_SIZE)
        except (OSError, ImportError):
            pass

        def work() -> bool:
            os.close(r)
            os.close(ok_r)
            out = _PipeWriter(w)
            out.write(b"$EOF:" + mark + b"\r\n")
            rdb.write_rdb(server, out, aux_extra=aux)
            out.write(mark)
            # Before the pipe's EOF: the parent finding it at the EOF knows
            # the payload is whole without waiting to reap us.
            os.write(ok_w, b"+")
            os.close(w)
            return True

        offset = self.master_repl_offset
        try:
            childproc.fork_child(server, "rdb", work, self._diskless_done)
        except OSError as exc:
            for fd in (r, w, ok_r, ok_w):
                os.close(fd)
            self.log.warning(f"Can't save in background: fork: {exc}")
            return False
        os.close(w)
        os.close(ok_w)
        os.set_blocking(ok_r, False)
        server.rdb_child_pid = server.child_pid
        self.child_kind = "socket"
        os.set_blocking(r, False)
        self.pipe_fd = r
        self.pipe_ok_fd = ok_r
        self.pipe_links = []
        if self.relay_buf is None:
            self.relay_buf = bytearray(RELAY_BUF)
            self.relay_view = memoryview(self.relay_buf)
        for lk in waiting:
            self._setup_full_resync(lk, offset)
            lk.socket_mode = True
            lk.partial_write = 0.0
            self.pipe_links.append(lk)
            # The +FULLRESYNC line goes out first, from link.out.
            c = lk.c
            if c.reply:
                lk.out += b"".join(bytes(x) for x in c.reply)
                c.reply = []
            c.write_installed = False
        self.log.notice(f"Background RDB transfer started by pid {server.child_pid}")
        for lk in list(self.pipe_links):
            if lk.out and self._relay_flush(lk):
                self.server.el.remove_writer(lk.c.fd)
        if self.pipe_fd >= 0 and not any(lk.out for lk in self.pipe_links):
            server.el.add_reader(r, self._pipe_readable)
        return True

    def _splice_target(self) -> ReplicaLink | None:
        """The one replica the pipe can be spliced to, if that is the case."""
        if len(self.pipe_links) != 1 or not self.splice:
            return None
        link = self.pipe_links[0]
        return link if type(link.c.sock) is socket.socket else None

    def _pipe_readable(self, fd: int) -> None:
        """rdbPipeReadHandler: read what the child wrote and give it to every
        replica; stop reading (until _relay_writable) while any of them has
        not taken all of it."""
        link = self._splice_target()
        if link is not None:
            self._splice(link)
            return
        view = self.relay_view
        size = len(view)
        budget = RELAY_BUDGET
        el = self.server.el
        while True:
            try:
                n = os.readv(fd, (view,))
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.log.warning(f"Diskless rdb transfer, read error sending DB to "
                                 f"replicas: {exc.strerror}")
                for lk in list(self.pipe_links):
                    self.server.free_client(lk.c)
                self._pipe_close()
                return
            if not n:
                self._pipe_eof()
                return
            data = view[:n] if n < size else view
            stalled = False
            links = self.pipe_links
            for lk in list(links):
                if not self._relay_send(lk, data):
                    stalled = True
            if self.pipe_links is not links or self.pipe_fd != fd:
                return                   # the last replica dropped: torn down
            if stalled:
                el.remove_reader(fd)
                return
            budget -= n
            if n < size or budget <= 0:  # the pipe is drained (or our turn is over)
                return

    def _relay_send(self, link: ReplicaLink, data: memoryview) -> bool:
        """One send of a chunk to a replica; what it did not take is kept in
        link.out and its writable handler installed.  False if not all sent
        (or the replica was freed)."""
        try:
            n = link.c.sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as exc:
            self._relay_error(link, exc)
            return False
        self.server.stat_net_output_bytes += n
        if n == len(data):
            return True
        link.out += data[n:]
        link.partial_write = time.time()
        self.server.el.add_writer(link.c.fd, lambda fd, lk=link: self._relay_writable(lk))
        return False

    def _relay_error(self, link: ReplicaLink, exc: OSError) -> None:
        self.log.warning(f"Diskless rdb transfer, write error sending DB to replica: "
                         f"{exc.strerror}")
        self.server.free_client(link.c)

    def _relay_flush(self, link: ReplicaLink) -> bool:
        """rdbPipeWriteHandler: send link.out; True once it is empty (the
        writable handler is then installed only while it is not)."""
        out = link.out
        while out:
            try:
                n = link.c.sock.send(out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._relay_error(link, exc)
                return False
            self.server.stat_net_output_bytes += n
            del out[:n]
        if out:
            link.partial_write = time.time()
            self.server.el.add_writer(link.c.fd, lambda fd, lk=link: self._relay_writable(lk))
            return False
        link.partial_write = 0.0
        return True

    def _relay_writable(self, link: ReplicaLink) -> None:
        if link not in self.pipe_links:
            self.server.el.remove_writer(link.c.fd)
            return
        if link is self._splice_target() and not link.out:
            self._splice(link)
            return
        if not self._relay_flush(link):
            return
        el = self.server.el
        el.remove_writer(link.c.fd)
        if self.pipe_fd >= 0 and not any(lk.out for lk in self.pipe_links):
            if link is self._splice_target():
                self._splice(link)
            else:
                el.add_reader(self.pipe_fd, self._pipe_readable)

    def _splice(self, link: ReplicaLink) -> None:
        """One replica: move the pipe's pages to its socket in the kernel
        (no copy through Python), until the pipe is empty or the socket is
        full -- then wait for whichever of the two is the reason."""
        fd = self.pipe_fd
        out_fd = link.c.fd
        el = self.server.el
        if link.out and not self._relay_flush(link):
            el.remove_reader(fd)
            return
        budget = RELAY_BUDGET
        moved = 0
        try:
            while budget > 0:
                n = os.splice(fd, out_fd, SPLICE_CHUNK,
                              flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK)
                if not n:
                    break
                moved += n
                budget -= n
        except (BlockingIOError, InterruptedError):
            n = -1
        except OSError as exc:
            self.server.stat_net_output_bytes += moved
            self._relay_error(link, exc)
            return
        self.server.stat_net_output_bytes += moved
        if n == 0:
            el.remove_writer(out_fd)
            self._pipe_eof()
        elif n > 0 or not _pipe_pending(fd):
            # Our turn is over, or the pipe is empty: wait for the child.
            link.partial_write = 0.0
            el.remove_writer(out_fd)
            el.add_reader(fd, self._pipe_readable)
        else:
            # The socket is full: wait for it.
            link.partial_write = time.time()
            el.remove_reader(fd)
            el.add_writer(out_fd, lambda f, lk=link: self._relay_writable(lk))

    def _pipe_eof(self) -> None:
        """The child closed the pipe and every replica took all of it: if
        the child said the payload is whole, the replicas go online now.
        DIVERGENCE: Redis puts them online (and logs "Streamed RDB transfer
        ...") when it reaps the child, up to a cron tick later, after
        "Background RDB transfer terminated with success"; here it happens
        at once, so the replica's first REPLCONF ACK finds it online."""
        try:
            whole = os.read(self.pipe_ok_fd, 1) == b"+"
        except OSError:
            whole = False
        self.log.warning(f"Diskless rdb transfer, done reading from pipe, "
                         f"{len(self.pipe_links)} replicas still up.")
        self._pipe_close()
        if not whole:
            return      # the child failed: _diskless_done drops the replicas
        links, self.pipe_links = self.pipe_links, []
        for lk in links:
            self.server.el.remove_writer(lk.c.fd)
            if lk.state != WAIT_BGSAVE_END:
                continue
            lk.partial_write = 0.0
            self.log.notice(f"Streamed RDB transfer with replica {lk.name()} succeeded "
                            f"(socket). Waiting for REPLCONF ACK from slave to enable "
                            f"streaming")
            self._put_online(lk, wait_ack=True)
        if not self.server.child_pid:       # it was reaped first
            self.start_pending_fork()

    def _pipe_close(self) -> None:
        """Stop reading the pipe."""
        if self.pipe_fd >= 0:
            self.server.el.remove_reader(self.pipe_fd)
            os.close(self.pipe_fd)
            self.pipe_fd = -1
        if self.pipe_ok_fd >= 0:
            os.close(self.pipe_ok_fd)
            self.pipe_ok_fd = -1

    def _diskless_done(self, ok: bool, by_signal: int, cow: int) -> None:
        """backgroundSaveDoneHandlerSocket + updateSlavesWaitingBgsave for
        the socket target.  A child that ended well may be reaped before
        its last bytes were relayed: the relay then goes on to the pipe's
        EOF.  A failed one takes the replicas still in the transfer with it."""
        server = self.server
        server.rdb_child_pid = 0
        self.child_kind = None
        server.stat_rdb_cow_bytes = cow
        if cow:
            self.log.notice(f"Fork CoW for RDB: current {cow >> 20} MB, peak {cow >> 20} MB, "
                            f"average {cow >> 20} MB")
        if ok:
            self.log.notice("Background RDB transfer terminated with success")
        else:
            self.log.warning("Background transfer error" if not by_signal else
                             f"Background transfer terminated by signal {by_signal}")
        if not ok or self.pipe_fd < 0:
            self._pipe_close()
            links, self.pipe_links = self.pipe_links, []
            for lk in links:
                server.el.remove_writer(lk.c.fd)
                if lk.state == WAIT_BGSAVE_END:
                    self.log.warning("SYNC failed. BGSAVE child returned an error")
                    server.free_client(lk.c)
        self.start_pending_fork()

    # ------------------------------------------------------------------
    # Client lifecycle
    # ------------------------------------------------------------------
    def on_client_free(self, c: Client) -> None:
        if c.id in self.wait_info:
            del self.wait_info[c.id]
            if c in self.waiting:
                self.waiting.remove(c)
        if c is self.master:
            self._master_lost()
            return
        if c is self.failover_client:
            self.failover_client = None
        link = self.links.pop(c.id, None)
        if link is None:
            return
        if link.is_replica:
            # First, as freeClient logs it before unlinking the client.
            self.log.warning(f"Connection with replica {link.name()} lost.")
        if link.rdb_fd >= 0:
            os.close(link.rdb_fd)
            link.rdb_fd = -1
        if link in self.pipe_links:
            self.pipe_links.remove(link)
            if self.pipe_fd < 0:
                pass                # all relayed: the child is ending anyway
            elif not self.pipe_links and self.child_kind == "socket":
                from omakase.persistence import child as childproc
                self.log.warning("Diskless rdb transfer, last replica dropped, killing "
                                 "fork child.")
                childproc.kill_child(self.server)
            elif self.pipe_fd >= 0 and not any(lk.out for lk in self.pipe_links):
                self.server.el.add_reader(self.pipe_fd, self._pipe_readable)
        self._drop_replica(link)

    def disconnect_replicas(self) -> None:
        for link in list(self.replicas):
            self.server.free_client(link.c)

    # ------------------------------------------------------------------
    # Replication ids
    # ------------------------------------------------------------------
    def clear_replid2(self) -> None:
        self.replid2 = "0" * 40
        self.second_replid_offset = -1

    def shift_replid(self) -> None:
        """shiftReplicationId: our history continues under a new id."""
        self.replid2 = self.replid
        self.second_replid_offset = self.master_repl_offset + 1
        self.replid = _new_replid()
        self.log.notice(f"Setting secondary replication ID to {self.replid2}, valid up to "
                        f"offset: {self.second_replid_offset}. New replication ID is "
                        f"{self.replid}")

    # ------------------------------------------------------------------
    # Replica side: REPLICAOF
    # ------------------------------------------------------------------
    def set_master(self, host: str, port: int, from_config: bool = False) -> None:
        """replicationSetMaster.  ``from_config``: ``replicaof`` read at
        start-up, where Redis only sets masterhost: the cached master, if
        any, is the one ``restore_from_rdb`` made from the RDB."""
        server = self.server
        was_master = self.masterhost is None and not from_config
        self.masterhost = host
        self.masterport = port
        server.masterhost = host
        server.config.replicaof = (host, port)
        self.update_guard()
        if self.master is not None:
            server.free_client(self.master)      # caches it
        self._cancel_handshake()
        if was_master:
            self.cache_myself()
        self.state = REPL_CONNECT
        if hasattr(server.log, "set_role"):
            server.log.set_role("S")
        self.log.notice(f"Connecting to MASTER {host}:{port}")
        self.connect()

    def unset_master(self) -> None:
        """replicationUnsetMaster."""
        server = self.server
        if self.masterhost is None:
            return
        self.log.notice("MASTER MODE enabled")
        self.masterhost = None
        server.masterhost = None
        server.config.replicaof = None
        self.update_guard()
        if self.master is not None:
            m = self.master
            self.master = None
            server.free_client(m)
        self.cached = None
        self._cancel_handshake()
        self.shift_replid()
        self.disconnect_replicas()
        self.state = REPL_NONE
        self.slaveseldb = -1
        self.no_replicas_since = time.time()
        if hasattr(server.log, "set_role"):
            server.log.set_role("M")

    def cache_myself(self) -> None:
        """replicationCacheMasterUsingMyself: continue from our own history."""
        self.cached = (self.replid, self.master_repl_offset)
        self.log.notice("Before turning into a replica, using my own master parameters to "
                        "synthesize a cached master: I may be able to synchronize with the "
                        "new master with just a partial transfer.")

    def _cancel_handshake(self) -> None:
        """cancelReplicationHandshake."""
        if self.sock is not None:
            fd = self.sock.fileno()
            if fd >= 0:
                self.server.el.remove_fd(fd)
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        self._transfer_cleanup()
        if self.state not in (REPL_NONE, REPL_CONNECTED):
            self.state = REPL_CONNECT
        self.inbuf = bytearray()

    def _transfer_cleanup(self) -> None:
        if self.transfer_fd >= 0:
            os.close(self.transfer_fd)
            self.transfer_fd = -1
        if self.transfer_tmp:
            try:
                os.unlink(self.transfer_tmp)
            except OSError:
                pass
            self.transfer_tmp = ""
        self.transfer_mem = None

    def _link_failed(self, why: str | None = None) -> None:
        if why:
            self.log.warning(why)
        self._cancel_handshake()
        self.state = REPL_CONNECT

    def connect(self) -> None:
        """connectWithMaster: a non-blocking connect."""
        self._cancel_handshake()
        try:
            infos = socket.getaddrinfo(self.masterhost, self.masterport, 0, socket.SOCK_STREAM)
            fam, stype, proto, _, addr = infos[0]
            s = socket.socket(fam, stype, proto)
        except OSError as exc:
            self.log.warning(f"Unable to connect to MASTER: {exc}")
            self.state = REPL_CONNECT
            return
        s.setblocking(False)
        err = s.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            s.close()
            self.log.warning(f"Unable to connect to MASTER: {os.strerror(err)}")
            self.state = REPL_CONNECT
            return
        self.sock = s
        self.state = REPL_CONNECTING
        self.last_io = time.time()
        self.server.el.add_writer(s.fileno(), self._on_connected)
        self.log.notice("MASTER <-> REPLICA sync started")

    def _on_connected(self, fd: int) -> None:
        s = self.sock
        if s is None:
            return
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self.server.el.remove_writer(fd)
        if err:
            self._link_failed(f"Error condition on socket for SYNC: {os.strerror(err)}")
            return
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.log.notice("Non blocking connect for SYNC fired the event.")
        self.state = REPL_RECEIVE_PING
        self._send([b"PING"])
        self.server.el.add_reader(fd, self._on_handshake_readable)

    def _send(self, *cmds: list[bytes]) -> None:
        data = b"".join(_pack(tuple(c)) for c in cmds)
        try:
            self.sock.setblocking(True)
            self.sock.settimeout(self.server.config.repl_timeout)
            self.sock.sendall(data)
        except OSError as exc:
            self._link_failed(f"Error writing to MASTER: {exc}")
        finally:
            if self.sock is not None:
                self.sock.setblocking(False)

    def _read_into_inbuf(self) -> bool:
        try:
            data = self.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as exc:
            self._link_failed(f"Error reading from MASTER: {exc}")
            return False
        if not data:
            self._link_failed("Master closed the connection during the handshake")
            return False
        self.inbuf += data
        self.last_io = time.time()
        return True

    def _line(self) -> bytes | None:
        end = self.inbuf.find(b"\n")
        if end < 0:
            return None
        line = bytes(self.inbuf[:end]).rstrip(b"\r")
        del self.inbuf[:end + 1]
        return line

    def _on_handshake_readable(self, fd: int) -> None:
        if not self._read_into_inbuf():
            return
        while self.sock is not None and self.state in (REPL_RECEIVE_PING,
                                                       REPL_RECEIVE_HANDSHAKE,
                                                       REPL_RECEIVE_PSYNC):
            line = self._line()
            if line is None:
                return
            if self.state == REPL_RECEIVE_PING:
                if line.startswith(b"-") and not line.startswith(
                        (b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")):
                    self._link_failed(f"Error reply to PING from master: "
                                      f"'{line.decode('utf-8', 'replace')}'")
                    return
                self.log.notice("Master replied to PING, replication can continue...")
                self._send_handshake()
            elif self.state == REPL_RECEIVE_HANDSHAKE:
                what = self.hs_expect.pop(0)
                if line.startswith(b"-"):
                    text = line[1:].decode("utf-8", "replace")
                    if what == "auth":
                        self._link_failed(f"Unable to AUTH to MASTER: {text}")
                        return
                    self.log.notice(f"(Non critical) Master does not understand REPLCONF "
                                    f"{what}: {text}")
                if not self.hs_expect:
                    self._send_psync()
            else:
                if not line:
                    continue       # a keepalive newline before the reply
                self._on_psync_reply(line)

    def _send_handshake(self) -> None:
        cfg = self.server.config
        cmds = []
        self.hs_expect = []
        if cfg.masterauth:
            if cfg.masteruser:
                cmds.append([b"AUTH", cfg.masteruser.encode(), cfg.masterauth.encode()])
            else:
                cmds.append([b"AUTH", cfg.masterauth.encode()])
            self.hs_expect.append("auth")
        port = cfg.replica_announce_port or cfg.port or cfg.tls_port
        cmds.append([b"REPLCONF", b"listening-port", b"%d" % port])
        self.hs_expect.append("listening-port")
        if cfg.replica_announce_ip:
            cmds.append([b"REPLCONF", b"ip-address", cfg.replica_announce_ip.encode()])
            self.hs_expect.append("ip-address")
        cmds.append([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        self.hs_expect.append("capa")
        self.state = REPL_RECEIVE_HANDSHAKE
        self._send(*cmds)

    def _send_psync(self) -> None:
        """slaveTryPartialResynchronization, the sending half."""
        if self.cached is not None:
            replid, off = self.cached
            self.psync_offset = off + 1
            self.log.notice(f"Trying a partial resynchronization (request "
                            f"{replid}:{self.psync_offset}).")
            argv = [b"PSYNC", replid.encode(), b"%d" % self.psync_offset]
        else:
            self.log.notice("Partial resynchronization not possible (no cached master)")
            argv = [b"PSYNC", b"?", b"-1"]
        if self.failover_state == FAILOVER_IN_PROGRESS:
            argv.append(b"FAILOVER")
        self.state = REPL_RECEIVE_PSYNC
        self._send(argv)

    def _on_psync_reply(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        if line.startswith(b"+FULLRESYNC"):
            parts = text.split()
            if len(parts) >= 3:
                self.master_replid = parts[1]
                self.initial_offset = int(parts[2])
            else:
                self.master_replid = ""
                self.initial_offset = -1
            self.log.notice(f"Full resync from master: {self.master_replid}:"
                            f"{self.initial_offset}")
            self.cached = None
            # replicationAttachToNewMaster
            self.disconnect_replicas()
            self.free_backlog()
            if self.failover_state == FAILOVER_IN_PROGRESS:
                self._failover_done()
            self._start_transfer()
            return
        if line.startswith(b"+CONTINUE"):
            parts = text.split()
            new_id = parts[1] if len(parts) > 1 else ""
            self.log.notice("Successful partial resynchronization with master.")
            self._continue(new_id)
            if self.failover_state == FAILOVER_IN_PROGRESS:
                self._failover_done()
            return
        if line.startswith((b"-NOMASTERLINK", b"-LOADING")):
            self.log.notice(f"Master is currently unable to PSYNC but should be in the "
                            f"future: {text}")
            self._link_failed()
            return
        self._link_failed(f"Unexpected reply to PSYNC from master: {text}")
        if self.failover_state == FAILOVER_IN_PROGRESS:
            self._failover_abort("PSYNC failed")

    # -- the payload ---------------------------------------------------
    def _start_transfer(self) -> None:
        self.state = REPL_TRANSFER
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_eofmark = b""
        self.transfer_tail = b""
        fd = self.sock.fileno()
        self.server.el.add_reader(fd, self._on_transfer_readable)
        if self.inbuf:
            self._transfer_data(b"")

    def _on_transfer_readable(self, fd: int) -> None:
        for _ in range(16):
            if self.sock is None or self.state != REPL_TRANSFER:
                return
            try:
                data = self.sock.recv(1 << 20 if self.transfer_size != -1 else READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._link_failed(f"I/O error trying to sync with MASTER: {exc}")
                return
            if not data:
                self._link_failed("I/O error trying to sync with MASTER: connection lost")
                return
            self.last_io = time.time()
            self._transfer_data(data)

    def _transfer_data(self, data: bytes) -> None:
        if self.transfer_size == -1 and not self.transfer_eofmark:
            self.inbuf += data
            while True:
                line = self._line()
                if line is None:
                    return
                if not line:
                    continue        # keepalive newline while the master forks
                if line.startswith(b"-"):
                    self._link_failed(f"MASTER aborted replication with an error: "
                                      f"{line[1:].decode('utf-8', 'replace')}")
                    return
                if not line.startswith(b"$"):
                    self._link_failed(f"Bad protocol from MASTER, the first byte is not "
                                      f"'$' (we received '{line.decode('latin-1')}'), "
                                      f"are you sure the host and port are right?")
                    return
                break
            if line.startswith(b"$EOF:") and len(line) >= 5 + EOF_MARK_SIZE:
                self.transfer_eofmark = line[5:5 + EOF_MARK_SIZE]
                self.transfer_size = 0
                self.log.notice("MASTER <-> REPLICA sync: receiving streamed RDB from "
                                "master with EOF to disk" if not self._load_in_memory()
                                else "MASTER <-> REPLICA sync: receiving streamed RDB from "
                                "master with EOF to parser")
            else:
                self.transfer_size = int(line[1:])
                self.log.notice(f"MASTER <-> REPLICA sync: receiving {self.transfer_size} "
                                f"bytes from master to "
                                f"{'parser' if self._load_in_memory() else 'disk'}")
            if self._load_in_memory():
                self.transfer_mem = bytearray()
            else:
                cfg = self.server.config
                self.transfer_tmp = os.path.join(
                    cfg.dir or os.getcwd(), f"temp-{int(time.time())}.{os.getpid()}.rdb")
                self.transfer_fd = os.open(self.transfer_tmp,
                                           os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            data = bytes(self.inbuf)
            self.inbuf = bytearray()
        rest = b""
        if self.transfer_eofmark:
            tail = self.transfer_tail + data[-EOF_MARK_SIZE:]
            self.transfer_tail = tail[-EOF_MARK_SIZE:]
            self._store(data)
            done = self.transfer_tail == self.transfer_eofmark
        else:
            need = self.transfer_size - self.transfer_read
            if len(data) > need:
                data, rest = data[:need], data[need:]
            self._store(data)
            done = self.transfer_read >= self.transfer_size
        if done:
            self._transfer_done(rest)

    def _store(self, data: bytes) -> None:
        if not data:
            return
        self.transfer_read += len(data)
        if self.transfer_mem is not None:
            self.transfer_mem += data
        else:
            mv = memoryview(data)
            while mv:
                n = os.write(self.transfer_fd, mv)
                mv = mv[n:]

    def _load_in_memory(self) -> bool:
        mode = self.server.config.repl_diskless_load
        if mode == "swapdb":
            return True
        if mode == "on-empty-db":
            return all(not db.keys.used for db in self.server.dbs)
        return False

    def _transfer_done(self, rest: bytes) -> None:
        """The end of readSyncBulkPayload: load, then the master client."""
        from omakase.commands.generic import empty_data
        from omakase.persistence import rdb, snapshot
        server = self.server
        self.server.el.remove_fd(self.sock.fileno())
        self.log.notice("MASTER <-> REPLICA sync: Flushing old data")
        self.log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        eof = len(self.transfer_eofmark) if self.transfer_eofmark else 0
        try:
            if self.transfer_mem is not None:
                payload = self.transfer_mem
                if eof:
                    del payload[-eof:]
                self.transfer_mem = None
                f = io.BytesIO(payload)
                server.loading = True
                server.refresh_guards()
                try:
                    tables, stats = rdb.read_rdb(server, f, keep_expired=True)
                finally:
                    server.loading = False
                    server.refresh_guards()
                empty_data(server, -1, False)
                rdb.install_tables(server, tables)
            else:
                if eof:
                    os.ftruncate(self.transfer_fd, self.transfer_read - eof)
                os.fsync(self.transfer_fd)
                os.close(self.transfer_fd)
                self.transfer_fd = -1
                path = snapshot.rdb_path(server)
                os.rename(self.transfer_tmp, path)
                self.transfer_tmp = ""
                empty_data(server, -1, False)
                stats = snapshot.load_rdb_file(server, path, progress=False)
        except (rdb.RdbError, OSError, ValueError) as exc:
            self._link_failed(f"Failed trying to load the MASTER synchronization DB from "
                              f"{'socket' if eof else 'disk'}: {exc}")
            self.server.dirty += 1
            return
        server.dirty += 1
        self.log.notice(f"Done loading RDB, keys loaded: {stats.keys_loaded}, keys expired: "
                        f"{stats.keys_expired}.")
        try:
            dbid = int(stats.aux.get(b"repl-stream-db", b"0"))
        except ValueError:
            dbid = 0
        sock = self.sock
        self.sock = None
        self._create_master_client(sock, self.initial_offset, dbid)
        self.replid = self.master_replid
        self.master_repl_offset = self.initial_offset
        self.clear_replid2()
        if self.backlog is None:
            self.create_backlog()
        self.log.notice("MASTER <-> REPLICA sync: Finished with success")
        self.send_ack()
        if rest:
            self._master_data(rest)

    def _continue(self, new_id: str) -> None:
        """replicationResurrectCachedMaster."""
        replid, off = self.cached
        self.cached = None
        if new_id and new_id != replid:
            self.replid2 = replid
            self.second_replid_offset = off + 1
            self.replid = new_id
            self.log.notice(f"Master replication ID changed to {new_id}")
            self.disconnect_replicas()
        elif not new_id:
            pass
        else:
            self.replid = replid
        self.master_repl_offset = off
        if self.backlog is None:
            self.create_backlog()
        sock = self.sock
        self.sock = None
        self.server.el.remove_fd(sock.fileno())
        rest = bytes(self.inbuf)
        self.inbuf = bytearray()
        self._create_master_client(sock, off, getattr(self, "cached_db", 0))
        self.send_ack()
        if rest:
            self._master_data(rest)

    def _create_master_client(self, sock: socket.socket, reploff: int, dbid: int) -> None:
        """replicationCreateMasterClient."""
        server = self.server
        try:
            peer = sock.getpeername()
            addr = f"{peer[0]}:{peer[1]}"
            lp = sock.getsockname()
            laddr = f"{lp[0]}:{lp[1]}"
        except OSError:
            addr = laddr = ""
        c = Client(server, sock, addr, laddr)
        c.flags |= ClientFlag.MASTER
        c.authenticated = True
        c.parser.auth_limits = False
        if 0 <= dbid < len(server.dbs):
            c.db = server.dbs[dbid]
        server.clients[c.id] = c
        server.clients_by_fd[c.fd] = c
        self.master = c
        self.master_reploff = reploff
        self.master_read_reploff = reploff
        self.parser = StreamParser()
        self.state = REPL_CONNECTED
        self.down_since = 0
        self.last_io = time.time()
        server.el.add_reader(c.fd, self._on_master_readable)

    def _on_master_readable(self, fd: int) -> None:
        c = self.master
        if c is None:
            return
        try:
            data = c.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.log.warning(f"Error reading from MASTER: {exc}")
            self.server.free_client(c)
            return
        if not data:
            self.log.notice("MASTER closed the connection")
            self.server.free_client(c)
            return
        self.server.stat_net_input_bytes += len(data)
        self._master_data(data)

    def _master_data(self, data: bytes) -> None:
        """processInputBuffer for the master client, with offsets."""
        c = self.master
        server = self.server
        parser = self.parser
        parser.feed(data)
        self.master_read_reploff += len(data)
        self.last_io = time.time()
        c.last_interaction = server.unixtime
        while c is self.master and not c.closing:
            try:
                argv = parser.next()
            except ValueError as exc:
                self.log.warning(f"Protocol error from MASTER: {exc}")
                server.free_client(c)
                return
            if argv is None:
                break
            if argv:
                keep = len(c.reply)
                server.process_command(c, argv)
                if len(c.reply) > keep:
                    del c.reply[keep:]
            if not c.flags & ClientFlag.MULTI:
                # A transaction counts (and is proxied) once EXEC ran,
                # whichever reads its parts came in.
                end = parser.pos
                raw = bytes(parser.buf[parser.applied:end])
                parser.applied = end
                self.master_reploff += len(raw)
                if self.backlog is not None:
                    self.feed_stream(raw)
                else:
                    self.master_repl_offset += len(raw)
        if self.ack_pending:
            self.ack_pending = False
            self._write_ack(self.ack_pending_off)

    def send_ack(self) -> None:
        """replicationSendAck (GETACK answers with the offset before it)."""
        c = self.master
        if c is None:
            return
        self._write_ack(self.master_reploff)

    def _write_ack(self, off: int) -> None:
        c = self.master
        if c is None:
            return
        c.reply.append(_pack((b"REPLCONF", b"ACK", b"%d" % off)))
        c.queue_write()

    def _master_lost(self) -> None:
        """replicationCacheMaster: the link is gone, its offset stays."""
        c = self.master
        self.master = None
        self.cached = (self.replid, self.master_reploff)
        self.cached_db = c.db.id if c is not None else 0
        self.parser = None
        self.state = REPL_CONNECT if self.masterhost is not None else REPL_NONE
        self.down_since = time.time()
        self.log.notice("Connection with master lost.")
        self.log.notice("Caching the disconnected master state.")

    # ------------------------------------------------------------------
    # Cron (replicationCron) and before_sleep
    # ------------------------------------------------------------------
    def cron(self) -> None:
        now = time.time()
        if self.replicas:
            self.check_output_limits()
        if not self.server.child_pid:
            self.start_pending_fork()
        if self.failover_state != NO_FAILOVER:
            self._failover_cron(now)
        if now - self.last_second < 1.0:
            return
        self.last_second = now
        cfg = self.server.config
        # The replica side.
        if self.masterhost is not None:
            if self.state in (REPL_CONNECTING, REPL_RECEIVE_PING, REPL_RECEIVE_HANDSHAKE,
                              REPL_RECEIVE_PSYNC) and now - self.last_io > cfg.repl_timeout:
                self._link_failed("Timeout connecting to the MASTER...")
            elif self.state == REPL_TRANSFER and now - self.last_io > cfg.repl_timeout:
                self._link_failed("Timeout receiving bulk data from MASTER... If the problem "
                                  "persists try to set the 'repl-timeout' parameter in "
                                  "redis.conf to a larger value.")
            elif (self.state == REPL_CONNECTED and self.master is not None
                  and now - self.last_io > cfg.repl_timeout):
                self.log.warning("MASTER timeout: no data nor PING received...")
                self.server.free_client(self.master)
            if self.state == REPL_CONNECT:
                self.log.notice(f"Connecting to MASTER {self.masterhost}:{self.masterport}")
                self.connect()
            if self.master is not None:
                self.send_ack()
        # The master side.
        if self.replicas and self.masterhost is None and self.failover_state == NO_FAILOVER:
            if now - self.last_ping >= cfg.repl_ping_replica_period:
                self.last_ping = now
                self.feed_command([b"PING"])
        for link in list(self.replicas):
            if link.state in (WAIT_BGSAVE_START, WAIT_BGSAVE_END) and not link.socket_mode:
                link.c.reply.append(b"\n")
                link.c.queue_write()
            elif (link.state == WAIT_BGSAVE_END and link.partial_write
                  and now - link.partial_write > cfg.repl_timeout):
                # A diskless replica that has not taken a byte for so long
                # stalls the others: drop it.
                self.log.warning(f"Disconnecting timedout replica (full sync): {link.name()}")
                self.server.free_client(link.c)
            elif (link.state == ONLINE and now - link.ack_time > cfg.repl_timeout
                  and not link.old_sync):
                self.log.warning(f"Disconnecting timedout replica (streaming sync): {link.name()}")
                self.server.free_client(link.c)
        if (not self.replicas and self.masterhost is None and self.backlog is not None
                and cfg.repl_backlog_ttl and now - self.no_replicas_since > cfg.repl_backlog_ttl):
            self.replid = _new_replid()
            self.clear_replid2()
            self.free_backlog()
            self.log.notice(f"Replication backlog freed after {cfg.repl_backlog_ttl} seconds "
                            f"without connected replicas.")

    def request_ack(self) -> None:
        """Ask the replicas for their offsets before the next sleep (WAIT)."""
        if not self.get_ack:
            self.get_ack = True
            self.server.before_sleep_once.append(self.before_sleep)

    def before_sleep(self) -> None:
        """A one-shot beforeSleep step, armed by request_ack: during a
        FAILOVER the GETACK waits, so the step re-arms itself."""
        if not self.get_ack:
            return
        if self.failover_state == NO_FAILOVER:
            self.get_ack = False
            self.feed_command([b"REPLCONF", b"GETACK", b"*"])
        else:
            self.server.before_sleep_once.append(self.before_sleep)

    # ------------------------------------------------------------------
    # WAIT, min-replicas
    # ------------------------------------------------------------------
    def replicas_acked(self, offset: int) -> int:
        return sum(1 for lk in self.replicas if lk.state == ONLINE and lk.ack_off >= offset)

    def check_waiting(self) -> None:
        """processClientsWaitingReplicas."""
        from omakase.blocking import unblock_client
        for c in list(self.waiting):
            numreplicas, offset = self.wait_info[c.id]
            n = self.replicas_acked(offset)
            if n >= numreplicas:
                self.waiting.remove(c)
                del self.wait_info[c.id]
                c.add_reply_int(n)
                unblock_client(c)
        if self.failover_state == FAILOVER_WAIT_FOR_SYNC:
            self._failover_check_sync()

    # ------------------------------------------------------------------
    # SHUTDOWN and lagging replicas (server.c)
    # ------------------------------------------------------------------
    def is_ready_to_shutdown(self) -> bool:
        """isReadyToShutdown: every replica acked the whole stream."""
        off = self.master_repl_offset
        for lk in self.replicas:
            if lk.ack_off != off:
                return False
        return True

    def send_getack(self) -> None:
        """sendGetackToReplicas: ask for offsets now (a waiting SHUTDOWN)."""
        self.feed_command([b"REPLCONF", b"GETACK", b"*"])

    def log_lagging_replicas(self) -> None:
        """finishShutdown's report on the replicas that are behind."""
        if not self.replicas:
            return
        off = self.master_repl_offset
        now = int(time.time())
        lagging = 0
        for lk in self.replicas:
            if lk.ack_off == off:
                continue
            lagging += 1
            lag = now - int(lk.ack_time) if lk.state == ONLINE else 0
            self.log.warning(f"Lagging replica {lk.name()} reported offset "
                             f"{off - lk.ack_off} behind master, lag={lag}, "
                             f"state={lk.state_name()}.")
        total = len(self.replicas)
        self.log.notice(f"{total - lagging} of {total} replicas are in sync when "
                        f"shutting down.")

    # ------------------------------------------------------------------
    # FAILOVER
    # ------------------------------------------------------------------
    def _failover_cron(self, now: float) -> None:
        if self.failover_state == FAILOVER_WAIT_FOR_SYNC:
            if self.failover_end and now > self.failover_end:
                if self.failover_force:
                    self._failover_begin()
                else:
                    self._failover_abort("Replica never caught up before timeout")
                return
            self._failover_check_sync()

    def _failover_check_sync(self) -> None:
        if self.failover_state != FAILOVER_WAIT_FOR_SYNC:
            return
        target = self.failover_target
        for lk in self.replicas:
            if lk.state != ONLINE:
                continue
            if target is None or (lk.ip() == target[0] and lk.listening_port == target[1]):
                if lk.ack_off == self.master_repl_offset:
                    if target is None:
                        self.failover_target = (lk.ip(), lk.listening_port)
                    self._failover_begin()
                    return

    def _failover_begin(self) -> None:
        host, port = self.failover_target
        self.log.notice(f"Failover target {host}:{port} is synced, failing over.")
        self.failover_state = FAILOVER_IN_PROGRESS
        self.failover_host = host
        self.set_master(host, port)

    def _failover_done(self) -> None:
        self.log.notice("Failover target has been promoted to master, failover complete")
        self._failover_reset()

    def _failover_abort(self, why: str) -> None:
        self.log.notice(f"FAILOVER to {self.failover_target} aborted: {why}")
        if self.failover_state == FAILOVER_IN_PROGRESS:
            self.unset_master()
        self._failover_reset()

    def _failover_reset(self) -> None:
        from omakase.commands.client import end_pause
        self.failover_state = NO_FAILOVER
        self.failover_end = 0.0
        self.failover_target = None
        self.failover_force = False
        if getattr(self.server, "clients_paused_until", 0):
            try:
                end_pause(self.server)
            except Exception:  # pragma: no cover - a pause of another kind
                pass

    # ------------------------------------------------------------------
    # Introspection: INFO replication and ROLE
    # ------------------------------------------------------------------
    def link_state_name(self) -> str:
        st = self.state
        if st == REPL_NONE:
            return "none"
        if st == REPL_CONNECT:
            return "connect"
        if st == REPL_CONNECTING:
            return "connecting"
        if st in (REPL_RECEIVE_PING, REPL_RECEIVE_HANDSHAKE, REPL_RECEIVE_PSYNC):
            return "handshake"
        if st == REPL_TRANSFER:
            return "sync"
        return "connected"

    def replica_offset(self) -> int:
        if self.master is not None:
            return self.master_reploff
        if self.cached is not None:
            return self.cached[1]
        return 0

    def info_lines(self) -> list[str]:
        server = self.server
        cfg = server.config
        now = time.time()
        lines = ["role:" + ("slave" if self.masterhost is not None else "master")]
        if self.masterhost is not None:
            if self.master is not None:
                read_off, off = self.master_read_reploff, self.master_reploff
            else:
                read_off = off = self.replica_offset()
            last_io = int(server.unixtime - self.master.last_interaction) \
                if self.master is not None else -1
            if self.master is not None:
                last_io = int(now - self.last_io)
            lines += [f"master_host:{self.masterhost}", f"master_port:{self.masterport}",
                      f"master_link_status:{'up' if self.state == REPL_CONNECTED else 'down'}",
                      f"master_last_io_seconds_ago:{last_io}",
                      f"master_sync_in_progress:{int(self.state == REPL_TRANSFER)}",
                      f"slave_read_repl_offset:{read_off}",
                      f"slave_repl_offset:{off}"]
            if self.state == REPL_TRANSFER:
                total = self.transfer_size if not self.transfer_eofmark else -1
                perc = (self.transfer_read * 100.0 / total) if total > 0 else 0.0
                lines += [f"master_sync_total_bytes:{total}",
                          f"master_sync_read_bytes:{self.transfer_read}",
                          f"master_sync_left_bytes:{total - self.transfer_read}",
                          f"master_sync_perc:{perc:.2f}",
                          f"master_sync_last_io_seconds_ago:{int(now - self.last_io)}"]
            if self.state != REPL_CONNECTED:
                since = int(now - self.down_since) if self.down_since else -1
                lines.append(f"master_link_down_since_seconds:{since}")
            lines += [f"slave_priority:{cfg.replica_priority}",
                      f"slave_read_only:{int(bool(cfg.replica_read_only))}",
                      f"replica_announced:{int(bool(cfg.replica_announced))}"]
        lines.append(f"connected_slaves:{len(self.replicas)}")
        if cfg.min_replicas_to_write and cfg.min_replicas_max_lag:
            lines.append(f"min_slaves_good_slaves:{self.good_replicas()}")
        for i, lk in enumerate(self.replicas):
            lines.append(f"slave{i}:ip={lk.ip()},port={lk.listening_port},"
                         f"state={lk.state_name()},offset={lk.ack_off},"
                         f"lag={int(now - lk.ack_time)}")
        bl = self.backlog
        histlen = bl.histlen if bl is not None else 0
        first = self.master_repl_offset - histlen + 1 if bl is not None else 0
        lines += [f"master_failover_state:{self.failover_state}",
                  f"master_replid:{self.replid}",
                  f"master_replid2:{self.replid2}",
                  f"master_repl_offset:{self.master_repl_offset}",
                  f"second_repl_offset:{self.second_replid_offset}",
                  f"repl_backlog_active:{int(bl is not None)}",
                  f"repl_backlog_size:{bl.size if bl is not None else cfg.repl_backlog_size}",
                  f"repl_backlog_first_byte_offset:{first}",
                  f"repl_backlog_histlen:{histlen}"]
        return lines

    def role_reply(self, c: Client) -> None:
        if self.masterhost is None:
            c.add_reply_array_len(3)
            c.add_reply_bulk(b"master")
            c.add_reply_int(self.master_repl_offset)
            online = [lk for lk in self.replicas if lk.state == ONLINE]
            c.add_reply_array_len(len(online))
            for lk in online:
                c.add_reply_array_len(3)
                c.add_reply_bulk(lk.ip().encode())
                c.add_reply_bulk(b"%d" % lk.listening_port)
                c.add_reply_bulk(b"%d" % lk.ack_off)
            return
        c.add_reply_array_len(5)
        c.add_reply_bulk(b"slave")
        c.add_reply_bulk(self.masterhost.encode())
        c.add_reply_int(self.masterport)
        c.add_reply_bulk(self.link_state_name().encode())
        c.add_reply_int(self.master_reploff if self.master is not None else -1)


# ----------------------------------------------------------------------
# Wiring
# ----------------------------------------------------------------------
def replication(server: Any) -> Replication:
    return server.repl


def install(server: Any) -> None:
    """Attach replication to a server (called once from Server.__init__)."""
    repl = Replication(server)
    server.repl = repl
    server.replid = repl.replid
    server.stat_sync_full = 0
    server.stat_sync_partial_ok = 0
    server.stat_sync_partial_err = 0
    server.cron_hooks.append(repl.cron)
    server.client_free_hooks.append(repl.on_client_free)
    server.rdb_done_hooks.append(repl.on_rdb_done)
    from omakase.commands.debug import DEBUG_SUBCOMMANDS
    DEBUG_SUBCOMMANDS[b"repl-sendfile"] = _debug_repl_sendfile
    DEBUG_SUBCOMMANDS[b"repl-splice"] = _debug_repl_splice
    cfg = server.config
    if hasattr(cfg, "add_listener"):
        cfg.add_listener("repl-backlog-size", lambda *a: _resize_backlog(repl))
        cfg.add_listener("min-replicas-to-write", lambda *a: repl.update_guard())
        cfg.add_listener("min-replicas-max-lag", lambda *a: repl.update_guard())
    repl.update_guard()

    def startup() -> None:
        # After persistence's start-up hook: the RDB (and restore_from_rdb)
        # came first, as in loadDataFromDisk.
        if cfg.replicaof:
            host, port = cfg.replicaof
            repl.set_master(host, port, from_config=True)

    server.startup_hooks.append(startup)


def _debug_repl_sendfile(c: Client, argv: list[bytes]) -> bool:
    """DEBUG REPL-SENDFILE <0|1>: undocumented, for the replication bench
    (compare sendfile() with the read/send loop on one master)."""
    if len(argv) != 3:
        return False
    c.server.repl.sendfile = argv[2] not in (b"0", b"no")
    c.add_reply_ok()
    return True


def _debug_repl_splice(c: Client, argv: list[bytes]) -> bool:
    """DEBUG REPL-SPLICE <0|1>: undocumented, for the replication bench
    (a lone diskless replica fed by splice() or by the read/send relay)."""
    if len(argv) != 3:
        return False
    c.server.repl.splice = argv[2] not in (b"0", b"no") and hasattr(os, "splice")
    c.add_reply_ok()
    return True


def _resize_backlog(repl: Replication) -> None:
    if repl.backlog is not None:
        repl.backlog = repl.backlog.resized(repl.server.config.repl_backlog_size)


def _guard(repl: Replication, c: Client, cmd: Any) -> str | None:
    """The replication checks of processCommand: NOREPLICAS, MASTERDOWN."""
    from omakase.commands.registry import CmdFlag
    server = repl.server
    if c.flags & ClientFlag.MASTER:
        return None
    cfg = server.config
    flags = cmd.flags
    if repl.masterhost is None:
        if (cfg.min_replicas_to_write and cfg.min_replicas_max_lag and flags & CmdFlag.WRITE
                and repl.good_replicas() < cfg.min_replicas_to_write):
            return NOREPLICAS
        return None
    if (repl.state != REPL_CONNECTED and not cfg.replica_serve_stale_data
            and not flags & CmdFlag.STALE):
        if flags & CmdFlag.WRITE and cfg.replica_read_only:
            return None          # READONLY comes first
        return MASTERDOWN
    return None
