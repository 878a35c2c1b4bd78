"""Threaded I/O: ``io-threads`` and ``io-threads-do-reads`` (Redis 6+).

Mirrors ``initThreadedIO``, ``startThreadedIO``/``stopThreadedIO``,
``stopThreadedIOIfNeeded``, ``postponeClientRead``,
``handleClientsWithPendingWritesUsingThreads`` and
``handleClientsWithPendingReadsUsingThreads`` of Redis's ``networking.c``.

The head chef still cooks alone: the main thread executes every command, in
order, and is the only one that touches the data, the event loop, the client
tables and the statistics.  The waiters (``io-threads`` - 1 worker threads;
the main thread is one of the N) only move bytes:

* Writes.  In ``before_sleep`` the clients with pending output are dealt out
  round-robin, one share per thread, the main thread keeping share 0.  Each
  thread joins and ``send``\\ s its clients' replies while the main thread
  sends its own share; then the main thread waits until every worker has
  reported (the barrier) and finishes each client alone: statistics, keeping
  an unsent tail and installing the write handler, closing after the reply.
* Reads (``io-threads-do-reads yes``).  While threaded I/O is active a
  readable client is not read in the poll pass: it is queued
  (``postponeClientRead``; flag ``PENDING_READ``).  At the start of the next
  ``before_sleep`` the queued clients are dealt out the same way; each thread
  ``recv``\\ s, feeds the client's parser (hiredis parses in the client's own
  parser object) and parses the first request into an argv list, as Redis's
  I/O threads parse one command and set ``CLIENT_PENDING_COMMAND``.  After
  the barrier the main thread, client by client in queue order, executes the
  parsed command and then the rest of the client's input exactly as the
  single-threaded path does.

A worker never touches anything but the sockets, reply lists and parsers of
the clients in its share, and it never runs while the main thread executes
commands, so nothing needs a lock; the job and done queues
(``queue.SimpleQueue``) are the only synchronisation.

When threads are used
---------------------
As ``stopThreadedIOIfNeeded``: only when at least 2 x io-threads clients have
pending output; below that the threads are parked ("inactive", reads are not
postponed) and the single-threaded path runs unchanged.  With ``io-threads
1`` nothing here runs at all: the server keeps ``io_threads = None`` and the
only cost on the request path is one attribute test per loop pass.

Who stays on the main thread
----------------------------
Clients whose write needs the main thread's care are written by the main
thread after the barrier, with the ordinary ``write_pending``: a backlogged
client (a slow reader; its backlog blocks and output limits live on the main
thread), output above the smallest output-buffer limit (the limit check
frees clients), replicas and the master (the replication stream), and TLS
connections (their state machine calls back into the server).  Reads are not
postponed for the master, replicas and blocked clients (as in Redis), nor
while a command runs (a slow script's event processing, Redis's
``ProcessingEventsWhileBlocked``).

What it buys in Python
----------------------
Only the ``send``/``recv`` system calls release the GIL; joining replies,
feeding and running the parser hold it.  On the 2-core project machine the
threads overlap little besides the kernel's socket copies, and every handoff
costs a futex wake-up and a GIL transfer.  ``bench/iothreads.py`` (50
clients, SET/GET, 100k requests, median of 3 rounds on a shared, noisy
machine) measured:

    config             unpipelined rps  CPU µs/req   -P 16 rps  CPU µs/req
    io-threads 1            19,232        31.6       105,108      7.5
    io-threads 2 +reads     21,182        35.8        75,721     10.0
    io-threads 4 +reads     16,263        49.0        71,405     11.7

Two threads roughly hold unpipelined throughput (within the noise) for
~13% more CPU per request; pipelined they lose ~28% of the throughput;
four threads on two cores lose everywhere.  The default stays
``io-threads 1``.

Testing knob
------------
``OMAKASE_IO_THREADS_MIN_PENDING=n`` (environment) lowers the activation
threshold (1: always threaded when io-threads > 1) and rotates the share the
main thread keeps, so the test suite can push every reply and request
through the worker threads (``tests/helpers.py`` sets it under
``OMAKASE_TEST_IO_THREADS``).
"""
from __future__ import annotations

import os
import queue
import socket
import threading
from typing import Any, Callable

from omakase.networking import (READ_CHUNK, Client, ClientFlag,
                                reset_reply_skip)
from omakase.resp import ProtocolError

_PENDING_READ = ClientFlag.PENDING_READ
_NO_POSTPONE = ClientFlag.MASTER | ClientFlag.SLAVE | ClientFlag.BLOCKED
_MAIN_ONLY = ClientFlag.MASTER | ClientFlag.SLAVE | ClientFlag.CLOSE_ASAP
_CLOSE_AFTER_REPLY = ClientFlag.CLOSE_AFTER_REPLY
_BLOCKED = ClientFlag.BLOCKED
_SOCKET = socket.socket


# --------------------------------------------------------------------------
# The work a share does (runs in any thread; touches only its own clients)
# --------------------------------------------------------------------------
def write_share(clients: list[Client], check_min: int) -> list[Any]:
    """Send each client's queued replies.  Per client: (data, sent, chunks)
    for the main thread to finish, an OSError, or None when the output is
    too big to write without the limit check (left joined in c.reply)."""
    out: list[Any] = []
    append = out.append
    for c in clients:
        reply = c.reply
        count = len(reply)
        data = reply[0] if count == 1 else b"".join(reply)
        if len(data) > check_min:
            reply[:count] = [data]
            append(None)
            continue
        try:
            n = c.sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as exc:
            append(exc)
            continue
        append((data, n, count))
    return out


def read_share(clients: list[Client], edge_triggered: bool) -> list[Any]:
    """Read each client once, feed its parser, parse the first request.
    Per client: None (nothing to read), b"" (EOF), an OSError, or
    (bytes read, argv or None, ProtocolError or None, qbuf head or None)."""
    out: list[Any] = []
    append = out.append
    for c in clients:
        try:
            data = c.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            append(None)
            continue
        except OSError as exc:
            append(exc)
            continue
        if not data:
            append(b"")
            continue
        if len(data) == READ_CHUNK and edge_triggered:
            data = c._drain_socket(data)
        parser = c.parser
        argv = err = head = None
        if parser.feed(data):
            head = data[:64]        # the main thread checks the query limit
        elif not c.closing and not c.flags & _BLOCKED and c.paused_cmd is None:
            try:
                argv = parser.next()
            except ProtocolError as exc:
                err = exc
        append((len(data), argv, err, head))
    return out


# --------------------------------------------------------------------------
# The pool
# --------------------------------------------------------------------------
class IOThreads:
    """The io-threads - 1 workers and the main thread's side of the barrier."""

    def __init__(self, server: Any, n: int, do_reads: bool, min_pending: int = 0) -> None:
        self.server = server
        self.n = n
        self.do_reads = do_reads
        self.forced = bool(min_pending)
        self.min_pending = min_pending or 2 * n
        self.active = False
        self.jobs: list[queue.SimpleQueue] = []
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.rr = 0                 # the share the main thread keeps (forced mode rotates it)
        self.wrapped_upto = -1      # clients up to this id have the postponing read handler

    # -- thread life (initThreadedIO / startThreadedIO / stopThreadedIO) -------
    def _spawn(self) -> None:
        for i in range(1, self.n):
            q: queue.SimpleQueue = queue.SimpleQueue()
            t = threading.Thread(target=self._worker, args=(q,), name=f"io_thd_{i}",
                                 daemon=True)
            self.jobs.append(q)
            self.threads.append(t)
            t.start()

    def _worker(self, jobs: queue.SimpleQueue) -> None:
        get = jobs.get
        put = self.done.put
        while True:
            job = get()
            if job is None:
                return
            fn, clients, arg, idx = job
            try:
                res = fn(clients, arg)
            except BaseException as exc:   # reported to the main thread
                res = exc
            put((idx, res))

    def start(self) -> None:
        if not self.threads:
            self._spawn()
        self.active = True
        if self.do_reads and self.wrapped_upto != self.server._next_client_id:
            self._install_postponers()

    def stop(self) -> None:
        """The workers simply stay parked on their queues."""
        self.active = False

    def shutdown(self) -> None:
        for q in self.jobs:
            q.put(None)
        for t in self.threads:
            t.join(1)
        self.jobs = []
        self.threads = []
        self.active = False

    def _install_postponers(self) -> None:
        """Route the readable events of the clients connected since the
        last call through postpone() (once per client: server.clients is in
        connection order, so only its tail is walked)."""
        server = self.server
        readers = server.el.readers
        on_readable = Client.on_readable
        postpone = self.postpone
        upto = self.wrapped_upto
        for c in reversed(server.clients.values()):
            if c.id <= upto:
                break
            h = readers.get(c.fd)
            if getattr(h, "__func__", None) is on_readable and h.__self__ is c:
                readers[c.fd] = postpone
        self.wrapped_upto = server._next_client_id

    # -- the barrier -------------------------------------------------------------
    def _deal(self, clients: list[Client]) -> list[list[Client]]:
        n = self.n
        start = self.rr
        if self.forced:
            self.rr = (start + 1) % n
        if start == 0:
            return [clients[i::n] for i in range(n)]
        shares: list[list[Client]] = [[] for _ in range(n)]
        for k, c in enumerate(clients):
            shares[(k + start) % n].append(c)
        return shares

    def _run(self, fn: Callable[[list[Client], Any], list[Any]],
             shares: list[list[Client]], arg: Any) -> list[list[Any]]:
        """Hand shares 1..n-1 to the workers, do share 0, wait for all (the
        barrier).  A share whose worker failed comes back as all None: the
        main thread then redoes those writes itself (reads are retried by the
        next poll)."""
        posted = 0
        for i in range(1, self.n):
            if shares[i]:
                self.jobs[i - 1].put((fn, shares[i], arg, i))
                posted += 1
        results: list[list[Any]] = [[] for _ in shares]
        if shares[0]:
            results[0] = fn(shares[0], arg)
        get = self.done.get
        for _ in range(posted):
            idx, res = get()
            if isinstance(res, BaseException):
                self.server.log.warning(f"I/O thread failed: {res!r}")
                res = [None] * len(shares[idx])
            results[idx] = res
        return results

    # -- writes (handleClientsWithPendingWritesUsingThreads) ----------------------
    def handle_pending_writes(self) -> bool:
        """Write server.clients_pending_write with the threads.  False when
        there are too few (the caller runs the single-threaded loop)."""
        server = self.server
        pending = server.clients_pending_write
        if len(pending) < self.min_pending:
            if self.active:
                self.stop()
            return False
        if not self.active:
            self.start()
        elif self.do_reads and self.wrapped_upto != server._next_client_id:
            self._install_postponers()
        server.clients_pending_write = []
        eligible: list[Client] = []
        main_only: list[Client] = []
        for c in pending:
            c.pending_write = False
            if not (c.sock is not None and not c.closing
                    or c.flags & _CLOSE_AFTER_REPLY and c.id in server.clients):
                continue
            if not c.reply:
                continue
            if c.write_installed or c.flags & _MAIN_ONLY or type(c.sock) is not _SOCKET:
                main_only.append(c)
            else:
                eligible.append(c)
        shares = self._deal(eligible)
        results = self._run(write_share, shares, server.obuf_check_min)
        for share, res in zip(shares, results):
            for c, r in zip(share, res):
                self._finish_write(c, r)
        for c in main_only:
            if c.sock is not None and not c.closing or (
                    c.flags & _CLOSE_AFTER_REPLY and c.id in server.clients):
                c.write_pending()
        server.stat_io_writes_processed += len(pending)
        return True

    def _finish_write(self, c: Client, r: Any) -> None:
        server = self.server
        if c.id not in server.clients or c.sock is None:
            return
        if r is None:
            c.write_pending()           # big output: limits first
            return
        if isinstance(r, OSError):
            server.log.verbose(f"Error writing to client: {r.strerror}")
            server.free_client(c)
            return
        data, n, count = r
        server.stat_net_output_bytes += n
        reply = c.reply
        extra = reply[count:] if len(reply) > count else None
        if n < len(data):
            c._start_backlog(data, n)
            if extra:
                c.reply.extend(extra)
            return
        if extra:                       # queued while we were writing
            c.reply = extra
            c.write_pending()
            return
        c.reply = []
        if c.flags & _CLOSE_AFTER_REPLY:
            server.free_client(c)

    # -- reads (postponeClientRead / handleClientsWithPendingReadsUsingThreads) ---
    def postpone(self, fd: int) -> None:
        """The read handler of every client while io-threads-do-reads is on."""
        server = self.server
        c = server.clients_by_fd.get(fd)
        if c is None:
            return
        if c.flags & _PENDING_READ:
            # Queued, or read with a parsed request not executed yet (a slow
            # script processing events in between): leave it in the kernel.
            return
        if (not self.active or server.in_call or c.flags & _NO_POSTPONE
                or c.paused_cmd is not None or type(c.sock) is not _SOCKET):
            c.on_readable(fd)
            return
        c.flags |= _PENDING_READ
        server.clients_pending_read.append(c)

    def handle_pending_reads(self) -> None:
        server = self.server
        pending = server.clients_pending_read
        server.clients_pending_read = []
        live = []
        for c in pending:
            if c.id in server.clients and not c.closing:
                live.append(c)
            else:
                c.flags &= ~_PENDING_READ
        if not live:
            return
        shares = self._deal(live)
        results = self._run(read_share, shares, server.edge_triggered)
        found: dict[int, Any] = {}
        for share, res in zip(shares, results):
            for c, r in zip(share, res):
                found[c.id] = r
        for c in live:
            c.flags &= ~_PENDING_READ
            self._finish_read(c, found[c.id])
        server.stat_io_reads_processed += len(live)

    def _finish_read(self, c: Client, r: Any) -> None:
        """The main thread's half of readQueryFromClient + processInputBuffer."""
        server = self.server
        if r is None or c.id not in server.clients or c.closing:
            return
        if isinstance(r, OSError):
            server.log.verbose(f"Reading from client: {r.strerror}")
            server.free_client(c)
            return
        if r == b"":
            server.free_client(c)
            return
        nbytes, argv, err, head = r
        c.last_interaction = server.unixtime
        server.stat_net_input_bytes += nbytes
        if head is not None and c.query_buffer_too_big(head):
            return
        if err is not None:
            c.protocol_error(err)
        elif argv:
            server.process_command(c, argv)
            if c.reply_off or c.skip_next_reply:
                reset_reply_skip(c)
        c.process_input()


def install(server: Any) -> None:
    """initThreadedIO: the pool exists only with io-threads > 1."""
    server.clients_pending_read = []
    server.stat_io_reads_processed = 0
    server.stat_io_writes_processed = 0
    n = int(getattr(server.config, "io_threads", 1) or 1)
    server.io_threads = None
    if n > 1:
        try:
            forced = int(os.environ.get("OMAKASE_IO_THREADS_MIN_PENDING", "0") or 0)
        except ValueError:
            forced = 0
        io = server.io_threads = IOThreads(server, n, bool(server.config.io_threads_do_reads),
                                           max(0, forced))
        if io.do_reads:
            # The read phase runs first in beforeSleep (the commands it runs
            # may unblock clients, expire keys, feed the AOF); wrapping the
            # loop's hook keeps the single-threaded beforeSleep untouched.
            plain = server.el.before_sleep

            def before_sleep() -> None:
                if server.clients_pending_read:
                    io.handle_pending_reads()
                plain()
            server.el.before_sleep = before_sleep

    def reset() -> None:
        server.stat_io_reads_processed = 0
        server.stat_io_writes_processed = 0
    hooks = getattr(server, "reset_stats_hooks", None)
    if hooks is None:
        hooks = server.reset_stats_hooks = []
    hooks.append(reset)
