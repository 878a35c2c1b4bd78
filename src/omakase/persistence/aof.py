"""The multi-part append-only file of Redis 7.0 (Redis's ``aof.c``).

Files
-----
Everything lives in ``<dir>/<appenddirname>`` (``appendonlydir``):

* a BASE file, the dataset as of the last rewrite: ``<appendfilename>.<seq>.base.rdb``
  (an RDB, ``aof-use-rdb-preamble yes``) or ``.base.aof`` (commands);
* INCR files ``<appendfilename>.<seq>.incr.aof``: the write commands executed
  since, as RESP multibulk, with ``SELECT`` whenever the db changes;
* the manifest ``<appendfilename>.manifest`` naming them, one line per file:
  ``file <name> seq <n> type <b|h|i>`` (base first, then history, then incr).
  It is replaced atomically (write ``temp-<name>.manifest``, fsync, rename,
  fsync the directory), so a crash leaves the old or the new list, never a
  mix.  HISTORY files are the previous base and incr files after a rewrite;
  they are deleted in the background and drop out of the manifest.

Feeding and flushing (``feedAppendOnlyFile``, ``flushAppendOnlyFile``)
---------------------------------------------------------------------
The AOF is a propagation target (``server.propagation_targets``): after each
command the server hands it the command's effects, already in their
deterministic form (relative expiries as ``PEXPIREAT``/``SET .. PXAT``,
several effects wrapped in MULTI/EXEC by ``flush_propagation``).  They are
appended, RESP-encoded, to an in-memory buffer.  ``server.aof_flush_hook``
(run by ``before_sleep`` after every other hook and *before* any reply is
written) writes the buffer with one ``write()`` and, for ``appendfsync
always``, ``fdatasync()``s before the replies go out -- an acknowledged write
is on disk.  With ``everysec`` a worker thread (Redis's bio) does the
``fdatasync`` at most once a second; a write is postponed (up to 2 s) while
that fsync is still running, as Redis does.  ``no`` leaves it to the kernel.
``no-appendfsync-on-rewrite`` skips fsyncs while a child is active.  A failed
write keeps the data in the buffer, refuses write commands with ``-MISCONF``
and is retried from serverCron every second (with ``always`` it is fatal).

Rewriting (``rewriteAppendOnlyFileBackground``)
-----------------------------------------------
BGREWRITEAOF forks (``child.fork_child``).  At the fork the parent opens a new
INCR file and records it in the manifest, so everything written from then on
lands in a file that will survive the rewrite; the child writes the dataset
as of the fork to ``temp-rewriteaof-bg-<pid>.aof`` (an RDB, or SET/RPUSH/SADD/
ZADD/HMSET batches of ``AOF_REWRITE_ITEMS_PER_CMD`` plus PEXPIREAT, as
``rewriteAppendOnlyFileRio``).  When serverCron reaps a successful child the
parent renames that file to the next BASE name, marks the old base and the
older incr files HISTORY, installs the new manifest and deletes the history.
``CONFIG SET appendonly yes`` (``startAppendOnly``) starts the same rewrite in
the WAIT_REWRITE state: commands go to ``temp-<appendfilename>.incr`` until
the rewrite succeeds, which renames it to a real INCR file and turns the AOF
ON.  serverCron also starts the automatic rewrite
(``auto-aof-rewrite-percentage``/``-min-size``) and rewrites scheduled while
another child was running.

Loading (``loadAppendOnlyFiles``)
---------------------------------
``load_append_only_files`` (start-up, instead of the RDB) reads the manifest,
loads the BASE (an RDB when it starts with ``REDIS``), then replays every
INCR file through ``server.call`` with a fake client, as Redis does, with
``server.loading`` set.  A file cut in the middle of a command is truncated
at the last whole command when ``aof-load-truncated yes`` (only for the last
file); anything else malformed raises ``AofLoadError``.  An old single
``appendonly.aof`` in ``dir`` with no manifest is moved into the directory
and recorded as the base (Redis's upgrade path).

DIVERGENCE: the aof-timestamp annotations (``aof-timestamp-enabled``) are
skipped when reading but never written; module and function (FUNCTION LOAD)
rewrites do not exist here; the rewrite without preamble knows the types
omakase has (string, list, set, zset, hash) and fails on any other.
DEBUG LOADAOF answers an error instead of exiting on a bad file.  Replayed
commands go through ``server.call`` (Redis calls ``cmd->proc``), so they
count in INFO commandstats.
"""
from __future__ import annotations

import errno
import os
import queue
import signal
import threading
import time
from typing import Any, Callable

from omakase.commands.registry import command
from omakase.networking import ClientFlag
from omakase.persistence import child as childproc

try:
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover - hiredis is a dependency
    _pack = None

AOF_OFF = 0
AOF_ON = 1
AOF_WAIT_REWRITE = 2

AOF_REWRITE_ITEMS_PER_CMD = 64
AOF_ANNOTATION_LINE_MAX_LEN = 1024
REDIS_AUTOSYNC_BYTES = 4 * 1024 * 1024
AOF_WRITE_LOG_ERROR_RATE = 30
AOF_REWRITE_LIMITE_THRESHOLD = 3
AOF_REWRITE_LIMITE_MAX_MINUTES = 60
MANIFEST_MAX_LINE = 1024
TEMP_PREFIX = "temp-"

# loadSingleAppendOnlyFile results
AOF_OK = "ok"
AOF_NOT_EXIST = "not-exist"
AOF_EMPTY = "empty"
AOF_OPEN_ERR = "open-err"
AOF_FAILED = "failed"
AOF_TRUNCATED = "truncated"

TYPE_BASE = "b"
TYPE_HIST = "h"
TYPE_INCR = "i"

_SELECT = b"*2\r\n$6\r\nSELECT\r\n"


class AofLoadError(Exception):
    """The AOF could not be loaded: the server must not start."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def encode_command(argv: list) -> bytes:
    """catAppendOnlyGenericCommand: one RESP multibulk."""
    if _pack is not None:
        try:
            return _pack(tuple(argv))
        except (TypeError, ValueError):
            pass
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if isinstance(a, int):
            a = b"%d" % a
        elif isinstance(a, str):
            a = a.encode()
        parts.append(b"$%d\r\n" % len(a))
        parts.append(bytes(a))
        parts.append(b"\r\n")
    return b"".join(parts)


# ---------------------------------------------------------------------------
# The manifest
# ---------------------------------------------------------------------------
class AofInfo:
    __slots__ = ("name", "seq", "type")

    def __init__(self, name: str, seq: int, ftype: str) -> None:
        self.name = name
        self.seq = seq
        self.type = ftype

    def dup(self) -> "AofInfo":
        return AofInfo(self.name, self.seq, self.type)

    def line(self) -> str:
        from omakase.config import repr_string
        name = self.name
        if _needs_repr(name):
            name = repr_string(name)
        return f"file {name} seq {self.seq} type {self.type}\n"


def _needs_repr(s: str) -> bool:
    """sdsneedsrepr."""
    for ch in s.encode("utf-8", "surrogateescape"):
        if ch in b'\\"\n\r\t\a\b' or not 0x21 <= ch <= 0x7E:
            return True
    return False


class Manifest:
    """aofManifest: the base, the history and the incr files."""
    __slots__ = ("base", "incr", "history", "curr_base_seq", "curr_incr_seq", "dirty")

    def __init__(self) -> None:
        self.base: AofInfo | None = None
        self.incr: list[AofInfo] = []
        self.history: list[AofInfo] = []
        self.curr_base_seq = 0
        self.curr_incr_seq = 0
        self.dirty = False

    def dup(self) -> "Manifest":
        m = Manifest()
        m.base = self.base.dup() if self.base else None
        m.incr = [i.dup() for i in self.incr]
        m.history = [i.dup() for i in self.history]
        m.curr_base_seq = self.curr_base_seq
        m.curr_incr_seq = self.curr_incr_seq
        m.dirty = self.dirty
        return m

    def text(self) -> str:
        out = []
        if self.base:
            out.append(self.base.line())
        out += [i.line() for i in self.history]
        out += [i.line() for i in self.incr]
        return "".join(out)

    def new_base_name(self, filename: str, rdb_preamble: bool) -> str:
        """getNewBaseFileNameAndMarkPreAsHistory."""
        if self.base:
            self.base.type = TYPE_HIST
            self.history.insert(0, self.base)
        self.curr_base_seq += 1
        name = "%s.%d.base.%s" % (filename, self.curr_base_seq, "rdb" if rdb_preamble else "aof")
        self.base = AofInfo(name, self.curr_base_seq, TYPE_BASE)
        self.dirty = True
        return name

    def new_incr_name(self, filename: str) -> str:
        """getNewIncrAofName."""
        self.curr_incr_seq += 1
        name = "%s.%d.incr.aof" % (filename, self.curr_incr_seq)
        self.incr.append(AofInfo(name, self.curr_incr_seq, TYPE_INCR))
        self.dirty = True
        return name

    def last_incr_name(self, filename: str) -> str:
        if not self.incr:
            return self.new_incr_name(filename)
        return self.incr[-1].name

    def mark_rewritten_incr_as_history(self, keep_last: bool) -> None:
        """markRewrittenIncrAofAsHistory: every incr file but the one being
        written (when the AOF is on) becomes history."""
        if not self.incr:
            return
        keep = [self.incr[-1]] if keep_last else []
        moved = self.incr[:-1] if keep_last else self.incr
        for ai in reversed(moved):
            h = ai.dup()
            h.type = TYPE_HIST
            self.history.insert(0, h)
        self.incr = keep
        self.dirty = True


def parse_manifest(data: bytes) -> Manifest:
    """aofLoadManifestFromFile; raises AofLoadError(message, lines logged)."""
    from omakase.config import split_args
    am = Manifest()
    maxseq = 0
    linenum = 0
    line = None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
        complete = len(lines)
    else:
        complete = len(lines) - 1       # the last one has no newline
    if not lines:
        raise _ManifestError("Found an empty AOF manifest", None, 0)
    for idx, raw in enumerate(lines):
        linenum += 1
        if raw.startswith(b"#"):
            continue
        line = raw.decode("utf-8", "surrogateescape")
        if idx >= complete or len(raw) + 1 > MANIFEST_MAX_LINE:
            raise _ManifestError("The AOF manifest file contains too long line", None, linenum)
        line = line.strip(" \t\r\n")
        if not line:
            raise _ManifestError("Invalid AOF manifest file format", line, linenum)
        argv = split_args(line)
        if argv is None or len(argv) < 6 or len(argv) % 2:
            raise _ManifestError("Invalid AOF manifest file format", line, linenum)
        name, seq, ftype = None, 0, ""
        for i in range(0, len(argv), 2):
            k = argv[i].lower()
            if k == "file":
                name = argv[i + 1]
                if "/" in name:
                    raise _ManifestError("File can't be a path, just a filename", line, linenum)
            elif k == "seq":
                seq = _atoll(argv[i + 1])
            elif k == "type":
                ftype = argv[i + 1][:1]
        if not name or not seq or not ftype:
            raise _ManifestError("Invalid AOF manifest file format", line, linenum)
        ai = AofInfo(name, seq, ftype)
        if ftype == TYPE_BASE:
            if am.base is not None:
                raise _ManifestError("Found duplicate base file information", line, linenum)
            am.base = ai
            am.curr_base_seq = seq
        elif ftype == TYPE_HIST:
            am.history.append(ai)
        elif ftype == TYPE_INCR:
            if seq <= maxseq:
                raise _ManifestError("Found a non-monotonic sequence number", line, linenum)
            am.incr.append(ai)
            am.curr_incr_seq = seq
            maxseq = seq
        else:
            raise _ManifestError("Unknown AOF file type", line, linenum)
    return am


class _ManifestError(Exception):
    def __init__(self, err: str, line: str | None, linenum: int) -> None:
        super().__init__(err)
        self.err = err
        self.line = line
        self.linenum = linenum


def _atoll(s: str) -> int:
    """atoll: leading blanks, a sign, digits; anything else stops it."""
    s = s.lstrip(" \t\n\r\f\v")
    i = 0
    if s[:1] in ("-", "+"):
        i = 1
    j = i
    while j < len(s) and s[j].isdigit() and s[j] in "0123456789":
        j += 1
    if j == i:
        return 0
    return int(s[:j])


def _c_atoi(b: bytes) -> int:
    """atoi/strtol on bytes (the AOF reader's count and length fields)."""
    b = b.lstrip(b" \t\n\r\f\v")
    i = 0
    if b[:1] in (b"-", b"+"):
        i = 1
    j = i
    while j < len(b) and 48 <= b[j] <= 57:
        j += 1
    if j == i:
        return 0
    return int(b[:j])


# ---------------------------------------------------------------------------
# The background worker (Redis's bio for AOF fsync, close and unlink)
# ---------------------------------------------------------------------------
class _Worker:
    """One daemon thread running jobs in order: fsyncs (counted, so a
    postponed write can see one is in progress), closes and unlinks."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.fsync_pending = 0
        self.fsync_error: int = 0
        self.thread: threading.Thread | None = None

    def _start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="omakase-aof-bio", daemon=True)
            self.thread.start()

    def fsync(self, fd: int, close: bool = False) -> None:
        with self.lock:
            self.fsync_pending += 1
        self._start()
        self.jobs.put(("fsync", fd, close))

    def unlink(self, path: str) -> None:
        self._start()
        self.jobs.put(("unlink", path, False))

    def _run(self) -> None:
        while True:
            kind, arg, close = self.jobs.get()
            if kind == "fsync":
                try:
                    os.fdatasync(arg)
                    self.fsync_error = 0
                except OSError as exc:
                    if exc.errno not in (errno.EBADF, errno.EINVAL):
                        self.fsync_error = exc.errno or errno.EIO
                if close:
                    try:
                        os.close(arg)
                    except OSError:
                        pass
                with self.lock:
                    self.fsync_pending -= 1
            else:
                try:
                    os.unlink(arg)
                except OSError:
                    pass


# ---------------------------------------------------------------------------
# The AOF state of one server
# ---------------------------------------------------------------------------
class Aof:
    __slots__ = ("server", "_state", "fd", "buf", "selected_db", "manifest",
                 "current_size", "last_incr_size", "rewrite_base_size",
                 "fsync_offset", "last_fsync", "flush_postponed_start",
                 "delayed_fsync", "last_write_errno", "last_write_error_log",
                 "rewrite_time_start", "child_pid", "worker", "next_delay_minutes",
                 "next_rewrite_time", "loading_manifest_done", "last_cron_retry")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.state = AOF_ON if server.config.appendonly else AOF_OFF
        self.fd = -1
        self.buf = bytearray()
        self.selected_db = -1
        self.manifest = Manifest()
        self.current_size = 0
        self.last_incr_size = 0
        self.rewrite_base_size = 0
        self.fsync_offset = 0
        self.last_fsync = int(time.time())
        self.flush_postponed_start = 0
        self.delayed_fsync = 0
        self.last_write_errno = 0
        self.last_write_error_log = 0
        self.rewrite_time_start = -1
        self.child_pid = 0
        self.worker = _Worker()
        self.next_delay_minutes = 0
        self.next_rewrite_time = 0
        self.loading_manifest_done = False
        self.last_cron_retry = 0.0

    # -- paths -------------------------------------------------------------------------
    @property
    def dirname(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg.dir or os.getcwd(), cfg.appenddirname)

    def path(self, name: str) -> str:
        return os.path.join(self.dirname, name)

    def root_path(self, name: str) -> str:
        return os.path.join(self.server.config.dir or os.getcwd(), name)

    @property
    def filename(self) -> str:
        return self.server.config.appendfilename

    def temp_incr_name(self) -> str:
        return f"{TEMP_PREFIX}{self.filename}.incr"

    # -- feeding ---------------------------------------------------------------------------
    def set_feeding(self, on: bool) -> None:
        """Be a propagation target only while the AOF is on: with no target
        the server skips propagation bookkeeping entirely."""
        targets = self.server.propagation_targets
        if on and self.feed not in targets:
            targets.append(self.feed)
        elif not on and self.feed in targets:
            targets.remove(self.feed)

    def feed(self, ops: list) -> None:
        """feedAppendOnlyFile for a batch of (db_id, argv) effects."""
        state = self.state
        if state == AOF_OFF or (state == AOF_WAIT_REWRITE
                                and self.server.child_type != "aof"):
            return
        buf = self.buf
        for db_id, argv in ops:
            if db_id != self.selected_db and db_id >= 0:
                buf += _SELECT + _bulk(b"%d" % db_id)
                self.selected_db = db_id
            buf += encode_command(argv)

    # -- flushing ----------------------------------------------------------------------------
    def fsync_in_progress(self) -> bool:
        return self.worker.fsync_pending != 0

    def flush(self, force: bool = False) -> None:
        """flushAppendOnlyFile."""
        server = self.server
        cfg = server.config
        policy = cfg.appendfsync
        sync_in_progress = False
        if self.fd == -1:
            return
        if not self.buf:
            # An everysec fsync still owed for data written earlier.
            if (policy == "everysec" and self.fsync_offset != self.current_size
                    and server.unixtime > self.last_fsync
                    and not self.fsync_in_progress()):
                self._try_fsync(policy, False)
            return
        if policy == "everysec":
            sync_in_progress = self.fsync_in_progress()
            if not force and sync_in_progress:
                if self.flush_postponed_start == 0:
                    self.flush_postponed_start = server.unixtime
                    return
                if server.unixtime - self.flush_postponed_start < 2:
                    return
                self.delayed_fsync += 1
                server.log.notice("Asynchronous AOF fsync is taking too long (disk is busy?). "
                                  "Writing the AOF buffer without waiting for fsync to complete, "
                                  "this may slow down Redis.")
        self.flush_postponed_start = 0
        data = self.buf
        expected = len(data)
        written = 0
        err = 0
        view = memoryview(data)
        try:
            while written < expected:
                n = os.write(self.fd, view[written:])
                if n <= 0:
                    break
                written += n
        except OSError as exc:
            err = exc.errno or errno.EIO
        finally:
            view.release()
        if written != expected:
            self._write_failed(written, expected, err, policy)
            return
        if not server.aof_last_write_ok:
            server.log.warning("AOF write error looks solved, Redis can write again.")
            self._set_write_ok(True)
        self.current_size += written
        self.last_incr_size += written
        self.buf = bytearray()
        server.aof_buffer_size = 0
        self._try_fsync(policy, sync_in_progress)

    def _write_failed(self, written: int, expected: int, err: int, policy: str) -> None:
        server = self.server
        can_log = server.unixtime - self.last_write_error_log > AOF_WRITE_LOG_ERROR_RATE
        if can_log:
            self.last_write_error_log = server.unixtime
        if written == 0 and err:
            if can_log:
                server.log.warning(f"Error writing to the AOF file: {os.strerror(err)}")
            self.last_write_errno = err
        else:
            if can_log:
                server.log.warning("Short write while writing to the AOF file: "
                                   f"(nwritten={written}, expected={expected})")
            try:
                os.ftruncate(self.fd, self.last_incr_size)
                written = 0
            except OSError as exc:
                if can_log:
                    server.log.warning(
                        "Could not remove short write from the append-only file.  Redis may "
                        "refuse to load the AOF the next time it starts.  ftruncate: "
                        f"{exc.strerror}")
            self.last_write_errno = errno.ENOSPC
        if policy == "always":
            server.log.warning("Can't recover from AOF write error when the AOF fsync policy "
                               "is 'always'. Exiting...")
            os._exit(1)
        self._set_write_ok(False)
        if written > 0:
            self.current_size += written
            self.last_incr_size += written
            del self.buf[:written]
        server.aof_buffer_size = len(self.buf)

    def _try_fsync(self, policy: str, sync_in_progress: bool) -> None:
        server = self.server
        if server.config.no_appendfsync_on_rewrite and childproc.has_active_child(server):
            return
        if policy == "always":
            try:
                os.fdatasync(self.fd)
            except OSError as exc:
                server.log.warning("Can't persist AOF for fsync error when the AOF fsync "
                                   f"policy is 'always': {exc.strerror}. Exiting...")
                os._exit(1)
            self.fsync_offset = self.current_size
            self.last_fsync = server.unixtime
        elif policy == "everysec" and server.unixtime > self.last_fsync:
            if not sync_in_progress:
                self.worker.fsync(self.fd)
                self.fsync_offset = self.current_size
            self.last_fsync = server.unixtime

    def _set_write_ok(self, ok: bool) -> None:
        server = self.server
        server.aof_last_write_ok = ok
        guard = self.misconf_guard
        active = guard in server.guard_hooks
        if ok == active:
            if ok:
                server.guard_hooks.remove(guard)
            else:
                server.guard_hooks.append(guard)
            server.refresh_guards()

    def misconf_guard(self, c: Any, cmd: Any, argv: list[bytes]) -> str | None:
        """writeCommandsDeniedByDiskError for the AOF."""
        if self.state == AOF_OFF or c.flags & ClientFlag.MASTER:
            return None
        if cmd.is_write or cmd.name == "ping":
            return ("MISCONF Errors writing to the AOF file: "
                    + os.strerror(self.last_write_errno or errno.EIO))
        return None

    @property
    def state(self) -> int:
        return self._state

    @state.setter
    def state(self, value: int) -> None:
        # beforeSleep calls the flush hook only while the AOF is not off, so
        # a server without AOF pays nothing per event-loop pass.
        self._state = value
        server = self.server
        if value == AOF_OFF:
            server.aof_flush_hook = None
            server.el.barrier = False
        else:
            server.aof_flush_hook = self.before_sleep

    def before_sleep(self) -> None:
        server = self.server
        # appendfsync always: no reply may leave before its fsync, even a
        # partly written one continued by the writable handler (AE_BARRIER).
        server.el.barrier = self.state != AOF_OFF and server.config.appendfsync == "always"
        if self.buf or self.fd != -1:
            self.flush(False)

    def fsync_now(self) -> None:
        """Synchronous fsync (shutdown, stopAppendOnly)."""
        if self.fd == -1:
            return
        try:
            os.fdatasync(self.fd)
        except OSError as exc:
            self.server.log.warning(f"Fail to fsync the AOF file: {exc.strerror}")
            return
        self.fsync_offset = self.current_size
        self.last_fsync = self.server.unixtime

    # -- the manifest on disk -------------------------------------------------------------
    def load_manifest_from_disk(self) -> None:
        """aofLoadManifestFromDisk (fatal errors raise AofLoadError)."""
        self.manifest = Manifest()
        self.loading_manifest_done = True
        if not os.path.isdir(self.dirname):
            return
        path = self.path(self.filename + ".manifest")
        if not os.path.exists(path):
            return
        log = self.server.log
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            msg = (f"Fatal error: can't open the AOF manifest file {path} for reading: "
                   f"{exc.strerror}")
            log.warning(msg)
            raise AofLoadError(msg) from None
        try:
            self.manifest = parse_manifest(data)
        except _ManifestError as exc:
            log.warning("\n*** FATAL AOF MANIFEST FILE ERROR ***\n")
            if exc.line is not None:
                log.warning(f"Reading the manifest file, at line {exc.linenum}\n")
                log.warning(f">>> '{exc.line}'\n")
            log.warning(f"{exc.err}\n")
            raise AofLoadError(exc.err) from None

    def persist_manifest(self, am: Manifest) -> bool:
        """persistAofManifest: write a temp file, fsync, rename, fsync dir."""
        if not am.dirty:
            return True
        log = self.server.log
        name = self.filename + ".manifest"
        tmp_name = TEMP_PREFIX + name
        path, tmp = self.path(name), self.path(tmp_name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning(f"Can't open the AOF manifest file {tmp_name}: {exc.strerror}")
            return False
        try:
            data = am.text().encode("utf-8", "surrogateescape")
            try:
                while data:
                    n = os.write(fd, data)
                    data = data[n:]
            except OSError as exc:
                log.warning(f"Error trying to write the temporary AOF manifest file "
                            f"{tmp_name}: {exc.strerror}")
                return False
            try:
                os.fsync(fd)
            except OSError as exc:
                log.warning(f"Fail to fsync the temp AOF file {tmp_name}: {exc.strerror}.")
                return False
            try:
                os.rename(tmp, path)
            except OSError as exc:
                log.warning(f"Error trying to rename the temporary AOF manifest file "
                            f"{tmp_name} into {name}: {exc.strerror}")
                return False
            if not _fsync_dir(self.dirname):
                log.warning(f"Fail to fsync AOF directory {path}.")
                return False
        finally:
            os.close(fd)
        am.dirty = False
        return True

    def make_dir(self) -> bool:
        try:
            os.makedirs(self.dirname, exist_ok=True)
        except OSError as exc:
            self.server.log.warning(f"Can't open or create append-only dir "
                                    f"{self.server.config.appenddirname}: {exc.strerror}")
            return False
        return True

    def del_history_files(self) -> bool:
        """aofDelHistoryFiles."""
        am = self.manifest
        if self.server.config.aof_disable_auto_gc or not am.history:
            return True
        for ai in am.history:
            self.server.log.notice(f"Removing the history file {ai.name} in the background")
            self.worker.unlink(self.path(ai.name))
        am.history = []
        am.dirty = True
        return self.persist_manifest(am)

    def file_size(self, name: str) -> int | None:
        try:
            return os.stat(self.path(name)).st_size
        except OSError as exc:
            self.server.log.warning(
                f"Unable to obtain the AOF file {name} length. stat: {exc.strerror}")
            return None

    # -- opening ------------------------------------------------------------------------
    def open_on_server_start(self) -> None:
        """aofOpenIfNeededOnServerStart (errors raise AofLoadError)."""
        if self.state != AOF_ON or self.fd != -1:
            return
        if not self.make_dir():
            raise AofLoadError("Can't open or create append-only dir")
        am = self.manifest
        log = self.server.log
        if am.base is None and not am.incr:
            base = am.new_base_name(self.filename, self.server.config.aof_use_rdb_preamble)
            if not rewrite_append_only_file(self.server, self.path(base)):
                raise AofLoadError("Can't create the AOF base file")
            log.notice(f"Creating AOF base file {base} on server start")
        had_incr = bool(am.incr)
        name = am.last_incr_name(self.filename)
        try:
            self.fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning(f"Can't open the append-only file {name}: {exc.strerror}")
            raise AofLoadError(f"Can't open the append-only file {name}") from None
        if not self.persist_manifest(am):
            raise AofLoadError("Can't persist the AOF manifest")
        self.last_incr_size = self.file_size(name) or 0
        if had_incr:
            log.notice(f"Opening AOF incr file {name} on server start")
        else:
            log.notice(f"Creating AOF incr file {name} on server start")

    def open_new_incr_for_append(self) -> bool:
        """openNewIncrAofForAppend: the parent's side of a rewrite's fork."""
        if self.state == AOF_OFF:
            return True
        temp_am = None
        if self.state == AOF_WAIT_REWRITE:
            name = self.temp_incr_name()
        else:
            temp_am = self.manifest.dup()
            name = temp_am.new_incr_name(self.filename)
        try:
            newfd = os.open(self.path(name), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        except OSError as exc:
            self.server.log.warning(f"Can't open the append-only file {name}: {exc.strerror}")
            return False
        if temp_am is not None and not self.persist_manifest(temp_am):
            os.close(newfd)
            return False
        self.server.log.notice(f"Creating AOF incr file {name} on background rewrite")
        if self.fd != -1:
            self.worker.fsync(self.fd, close=True)
            self.fsync_offset = self.current_size
            self.last_fsync = self.server.unixtime
        self.fd = newfd
        self.last_incr_size = 0
        if temp_am is not None:
            self.manifest = temp_am
        return True

    # -- turning it on and off at run time -------------------------------------------------
    def start(self) -> bool:
        """startAppendOnly (CONFIG SET appendonly yes)."""
        server = self.server
        self.state = AOF_WAIT_REWRITE
        self.set_feeding(True)
        if childproc.has_active_child(server) and server.child_type != "aof":
            server.aof_rewrite_scheduled = True
            server.log.warning("AOF was enabled but there is already another background "
                               "operation. An AOF background was scheduled to start when "
                               "possible.")
        elif server.in_exec:
            server.aof_rewrite_scheduled = True
            server.log.warning("AOF was enabled during a transaction. An AOF background was "
                               "scheduled to start when possible.")
        else:
            if server.child_type == "aof":
                server.log.warning("AOF was enabled but there is already an AOF rewriting in "
                                   "background. Stopping background AOF and starting a "
                                   "rewrite now.")
                self.kill_child()
            if not rewrite_background(server):
                self.state = AOF_OFF
                self.set_feeding(False)
                server.log.warning("Redis needs to enable the AOF but can't trigger a "
                                   "background AOF rewrite operation. Check the above logs "
                                   "for more info about the error.")
                return False
        self.last_fsync = server.unixtime
        if self.worker.fsync_error:
            server.log.warning("AOF reopen, just ignore the AOF fsync error in bio job")
            self.worker.fsync_error = 0
        if not server.aof_last_write_ok:
            server.log.warning("AOF reopen, just ignore the last error.")
            self._set_write_ok(True)
        return True

    def stop(self) -> None:
        """stopAppendOnly (CONFIG SET appendonly no)."""
        server = self.server
        self.flush(True)
        self.fsync_now()
        if self.fd != -1:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd = -1
        self.selected_db = -1
        self.state = AOF_OFF
        self.set_feeding(False)
        server.aof_rewrite_scheduled = False
        self.last_incr_size = 0
        self.kill_child()
        self.buf = bytearray()
        server.aof_buffer_size = 0

    def kill_child(self) -> None:
        """killAppendOnlyChild."""
        server = self.server
        if server.child_type != "aof":
            return
        server.log.notice(f"Killing running AOF rewrite child: {server.child_pid}")
        childproc.kill_child(server)       # reaps it; _rewrite_done sees SIGUSR1
        self.rewrite_time_start = -1

    def remove_temp_files(self, pid: int) -> None:
        """aofRemoveTempFile."""
        for name in (f"temp-rewriteaof-bg-{pid}.aof", f"temp-rewriteaof-{pid}.aof"):
            path = self.root_path(name)
            if os.path.exists(path):
                self.worker.unlink(path)

    # -- rewrite limiting --------------------------------------------------------------------
    def rewrite_limited(self) -> bool:
        """aofRewriteLimited: back off after repeated failures."""
        server = self.server
        if server.stat_aofrw_consecutive_failures < AOF_REWRITE_LIMITE_THRESHOLD:
            self.next_delay_minutes = 0
            self.next_rewrite_time = 0
            return False
        if self.next_rewrite_time:
            if server.unixtime < self.next_rewrite_time:
                return True
            self.next_rewrite_time = 0
            return False
        self.next_delay_minutes = 1 if not self.next_delay_minutes else self.next_delay_minutes * 2
        self.next_delay_minutes = min(self.next_delay_minutes, AOF_REWRITE_LIMITE_MAX_MINUTES)
        self.next_rewrite_time = server.unixtime + self.next_delay_minutes * 60
        server.log.warning("Background AOF rewrite has repeatedly failed and triggered the "
                           f"limit, will retry in {self.next_delay_minutes} minutes")
        return True

    # -- serverCron ----------------------------------------------------------------------------
    def cron(self) -> None:
        server = self.server
        if server.loading:
            return
        cfg = server.config
        if (not childproc.has_active_child(server) and server.aof_rewrite_scheduled
                and not self.rewrite_limited()):
            rewrite_background(server)
        if (self.state == AOF_ON and not childproc.has_active_child(server)
                and cfg.auto_aof_rewrite_percentage
                and self.current_size > cfg.auto_aof_rewrite_min_size):
            base = self.rewrite_base_size or 1
            growth = self.current_size * 100 // base - 100
            if growth >= cfg.auto_aof_rewrite_percentage and not self.rewrite_limited():
                server.log.notice(f"Starting automatic rewriting of AOF on {growth}% growth")
                rewrite_background(server)
        if self.state != AOF_OFF:
            if self.flush_postponed_start:
                self.flush(False)
            now = time.monotonic()
            if now - self.last_cron_retry >= 1.0:
                self.last_cron_retry = now
                if not server.aof_last_write_ok:
                    self.flush(False)

    # -- INFO --------------------------------------------------------------------------------
    def info_lines(self) -> list[str]:
        server = self.server
        if not server.config.appendonly:
            return []
        return [
            f"aof_current_size:{self.current_size}",
            f"aof_base_size:{self.rewrite_base_size}",
            f"aof_pending_rewrite:{int(bool(server.aof_rewrite_scheduled))}",
            f"aof_buffer_length:{len(self.buf)}",
            f"aof_pending_bio_fsync:{self.worker.fsync_pending}",
            f"aof_delayed_fsync:{self.delayed_fsync}",
        ]


def _fsync_dir(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EBADF, errno.EINVAL):
            return False
    finally:
        os.close(fd)
    return True


# ---------------------------------------------------------------------------
# Rewriting: the dataset as commands (rewriteAppendOnlyFileRio)
# ---------------------------------------------------------------------------
class _Writer:
    """A buffered writer with aof-rewrite-incremental-fsync."""

    def __init__(self, f: Any, autosync: bool) -> None:
        self.f = f
        self.parts: list[bytes] = []
        self.size = 0
        self.autosync = autosync
        self.since_sync = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= 65536:
            self.drain()

    def drain(self) -> None:
        if self.parts:
            self.f.write(b"".join(self.parts))
            self.since_sync += self.size
            self.parts = []
            self.size = 0
        if self.autosync and self.since_sync >= REDIS_AUTOSYNC_BYTES:
            self.f.flush()
            os.fdatasync(self.f.fileno())
            self.since_sync = 0


def _format_score(score: float) -> bytes:
    """rioWriteBulkDouble: %.17g."""
    return ("%.17g" % score).encode()


def _batched(w: _Writer, name: bytes, key: bytes, items: list, per_item: int) -> None:
    """Variadic commands of at most AOF_REWRITE_ITEMS_PER_CMD items."""
    total = len(items)
    head_name = _bulk(name)
    head_key = _bulk(key)
    for start in range(0, total, AOF_REWRITE_ITEMS_PER_CMD):
        chunk = items[start:start + AOF_REWRITE_ITEMS_PER_CMD]
        parts = [b"*%d\r\n" % (2 + len(chunk) * per_item), head_name, head_key]
        if per_item == 1:
            parts += [_bulk(x) for x in chunk]
        else:
            for a, b in chunk:
                parts.append(_bulk(a))
                parts.append(_bulk(b))
        w.write(b"".join(parts))


def rewrite_commands(server: Any, w: _Writer) -> None:
    """rewriteAppendOnlyFileRio: every db as SELECT + commands + PEXPIREAT."""
    from omakase import objects
    delay = getattr(server.config, "rdb_key_save_delay", 0)   # tests slow the child
    from omakase.scripting.functions import libraries_code
    for code in libraries_code(server):            # rewriteFunctions
        w.write(encode_command([b"FUNCTION", b"LOAD", code]))
    for db in server.dbs:
        if not len(db):
            continue
        w.write(_SELECT + _bulk(b"%d" % db.id))
        expires = db.expires
        for key, value in db.keys.items():
            tname = objects.type_name(value)
            if tname == "string":
                w.write(b"*3\r\n$3\r\nSET\r\n" + _bulk(key) + _bulk(objects.string_value(value)))
            elif tname == "list":
                _batched(w, b"RPUSH", key, value.ql.to_list(), 1)
            elif tname == "set":
                _batched(w, b"SADD", key, value.members(), 1)
            elif tname == "zset":
                pairs = [(_format_score(s), m) for m, s in value.items()]
                _batched(w, b"ZADD", key, pairs, 2)
            elif tname == "hash":
                _batched(w, b"HMSET", key, value.items(), 2)
            elif tname == "stream":
                _rewrite_stream(w, key, value)
            else:
                raise ValueError(f"Unknown object type {tname}")
            when = expires.get(key)
            if when is not None:
                w.write(b"*3\r\n$9\r\nPEXPIREAT\r\n" + _bulk(key) + _bulk(b"%d" % when))
            if delay > 0:
                time.sleep(delay / 1e6)
    w.drain()


def _sid(sid: tuple) -> bytes:
    return b"%d-%d" % sid


def _rewrite_stream(w: "_Writer", key: bytes, s: Any) -> None:
    """rewriteStreamObject: XADDs of every entry (or the XADD MAXLEN 0 trick
    for an empty stream), XSETID for the counters, then per group XGROUP
    CREATE and, per consumer, XCLAIM ... JUSTID FORCE of its pending entries
    (XGROUP CREATECONSUMER for a consumer without any)."""
    if s.length:
        for sid, pairs in s.index.range():
            w.write(encode_command([b"XADD", key, _sid(sid), *pairs]))
    else:
        w.write(encode_command([b"XADD", key, b"MAXLEN", b"0", _sid(s.last_id), b"x", b"y"]))
    w.write(encode_command([b"XSETID", key, _sid(s.last_id), b"ENTRIESADDED",
                      b"%d" % s.entries_added, b"MAXDELETEDID",
                      _sid(s.max_deleted_entry_id)]))
    for group in s.groups():
        w.write(encode_command([b"XGROUP", b"CREATE", key, group.name, _sid(group.last_id),
                          b"ENTRIESREAD", b"%d" % group.entries_read]))
        for consumer in group.consumers():
            pending = list(consumer.pel.items())
            if not pending:
                w.write(encode_command([b"XGROUP", b"CREATECONSUMER", key, group.name,
                                  consumer.name]))
            for sid, nack in pending:
                w.write(encode_command([b"XCLAIM", key, group.name, consumer.name, b"0", _sid(sid),
                                  b"TIME", b"%d" % nack.delivery_time, b"RETRYCOUNT",
                                  b"%d" % nack.delivery_count, b"JUSTID", b"FORCE"]))


def rewrite_append_only_file(server: Any, filename: str) -> bool:
    """rewriteAppendOnlyFile: write the dataset to a temp file, fsync,
    rename to ``filename`` (a path)."""
    cfg = server.config
    log = server.log
    tmp = os.path.join(cfg.dir or os.getcwd(), f"temp-rewriteaof-{os.getpid()}.aof")
    try:
        f = open(tmp, "wb")
    except OSError as exc:
        log.warning("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): "
                    f"{exc.strerror}")
        return False
    try:
        with f:
            if cfg.aof_use_rdb_preamble:
                from omakase.persistence import rdb
                _write_rdb_preamble(rdb, server, f)
            else:
                rewrite_commands(server, _Writer(f, cfg.aof_rewrite_incremental_fsync))
            f.flush()
            os.fsync(f.fileno())
    except Exception as exc:  # noqa: BLE001 - any failure is a failed rewrite
        log.warning("Write error writing append only file on disk: "
                    f"{getattr(exc, 'strerror', None) or exc}")
        _unlink(tmp)
        return False
    try:
        os.rename(tmp, filename)
    except OSError as exc:
        log.warning(f"Error moving temp append only file on the final destination: "
                    f"{exc.strerror}")
        _unlink(tmp)
        return False
    return True


def _write_rdb_preamble(rdb: Any, server: Any, f: Any) -> None:
    rdb.write_rdb(server, f, aux_extra={b"aof-base": b"1"})


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# ---------------------------------------------------------------------------
# BGREWRITEAOF
# ---------------------------------------------------------------------------
def rewrite_background(server: Any) -> bool:
    """rewriteAppendOnlyFileBackground."""
    aof: Aof = server.aof
    if childproc.has_active_child(server):
        return False
    if not aof.make_dir():
        server.aof_lastbgrewrite_ok = False
        return False
    aof.selected_db = -1
    aof.flush(True)
    if not aof.open_new_incr_for_append():
        server.aof_lastbgrewrite_ok = False
        return False
    server.stat_aof_rewrites += 1

    def work() -> bool:
        try:
            server.log.set_role("C")
        except Exception:  # noqa: BLE001
            pass
        tmpfile = f"temp-rewriteaof-bg-{os.getpid()}.aof"
        if rewrite_append_only_file(server, aof.root_path(tmpfile)):
            server.log.notice(f"Successfully created the temporary AOF base file {tmpfile}")
            return True
        return False

    try:
        pid = childproc.fork_child(server, "aof", work,
                                   lambda ok, sig, cow: _rewrite_done(server, ok, sig, cow))
    except OSError as exc:
        server.aof_lastbgrewrite_ok = False
        server.log.warning(f"Can't rewrite append only file in background: fork: "
                           f"{exc.strerror or exc}")
        return False
    aof.child_pid = pid
    server.log.notice(f"Background append only file rewriting started by pid {pid}")
    server.aof_rewrite_scheduled = False
    aof.rewrite_time_start = time.time()
    return True


def _rewrite_done(server: Any, ok: bool, by_signal: int, cow: int) -> None:
    """backgroundRewriteDoneHandler."""
    aof: Aof = server.aof
    pid = aof.child_pid
    aof.child_pid = 0
    log = server.log
    if by_signal == signal.SIGUSR1:
        # Killed on purpose (killAppendOnlyChild, shutdown): no verdict.
        aof.remove_temp_files(pid)
        if aof.state == AOF_WAIT_REWRITE:
            aof.buf = bytearray()
            aof.worker.unlink(aof.path(aof.temp_incr_name()))
            server.aof_rewrite_scheduled = True
        aof.rewrite_time_start = -1
        return
    if ok:
        _install_rewrite(server, aof, pid, cow)
    elif not by_signal:
        server.aof_lastbgrewrite_ok = False
        server.stat_aofrw_consecutive_failures += 1
        log.warning("Background AOF rewrite terminated with error")
    else:
        server.aof_lastbgrewrite_ok = False
        server.stat_aofrw_consecutive_failures += 1
        log.warning(f"Background AOF rewrite terminated by signal {by_signal}")
    aof.remove_temp_files(pid)
    if aof.state == AOF_WAIT_REWRITE:
        aof.buf = bytearray()
        name = aof.temp_incr_name()
        log.notice(f"Removing the temp incr aof file {name} in the background")
        aof.worker.unlink(aof.path(name))
    if aof.rewrite_time_start >= 0:
        server.aof_rewrite_time_last = int(time.time() - aof.rewrite_time_start)
    aof.rewrite_time_start = -1
    if aof.state == AOF_WAIT_REWRITE:
        server.aof_rewrite_scheduled = True


def _install_rewrite(server: Any, aof: Aof, pid: int, cow: int) -> None:
    log = server.log
    log.notice("Background AOF rewrite terminated with success")
    server.stat_aof_cow_bytes = cow
    if cow:
        log.notice(f"Fork CoW for AOF rewrite: current {cow >> 20} MB, peak {cow >> 20} MB, "
                   f"average {cow >> 20} MB")
    tmpfile = f"temp-rewriteaof-bg-{pid}.aof"
    temp_am = aof.manifest.dup()
    base_name = temp_am.new_base_name(aof.filename, server.config.aof_use_rdb_preamble)
    base_path = aof.path(base_name)
    try:
        os.rename(aof.root_path(tmpfile), base_path)
    except OSError as exc:
        log.warning(f"Error trying to rename the temporary AOF base file {tmpfile} into "
                    f"{base_path}: {exc.strerror}")
        server.aof_lastbgrewrite_ok = False
        server.stat_aofrw_consecutive_failures += 1
        return
    log.notice(f"Successfully renamed the temporary AOF base file {tmpfile} into {base_name}")
    incr_path = None
    if aof.state == AOF_WAIT_REWRITE:
        temp_incr = aof.temp_incr_name()
        incr_name = temp_am.new_incr_name(aof.filename)
        incr_path = aof.path(incr_name)
        try:
            os.rename(aof.path(temp_incr), incr_path)
        except OSError as exc:
            log.warning(f"Error trying to rename the temporary AOF incr file "
                        f"{aof.path(temp_incr)} into {incr_path}: {exc.strerror}")
            aof.worker.unlink(base_path)
            server.aof_lastbgrewrite_ok = False
            server.stat_aofrw_consecutive_failures += 1
            return
        log.notice(f"Successfully renamed the temporary AOF incr file {temp_incr} into "
                   f"{incr_name}")
    temp_am.mark_rewritten_incr_as_history(keep_last=aof.fd != -1)
    if not aof.persist_manifest(temp_am):
        aof.worker.unlink(base_path)
        if incr_path:
            aof.worker.unlink(incr_path)
        server.aof_lastbgrewrite_ok = False
        server.stat_aofrw_consecutive_failures += 1
        return
    aof.manifest = temp_am
    if aof.fd != -1:
        aof.selected_db = -1
        aof.current_size = (aof.file_size(base_name) or 0) + aof.last_incr_size
        aof.rewrite_base_size = aof.current_size
        aof.fsync_offset = aof.current_size
        aof.last_fsync = server.unixtime
    aof.del_history_files()
    server.aof_lastbgrewrite_ok = True
    server.stat_aofrw_consecutive_failures = 0
    log.notice("Background AOF rewrite finished successfully")
    if aof.state == AOF_WAIT_REWRITE:
        aof.state = AOF_ON


@command("bgrewriteaof")
def bgrewriteaof_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    if server.child_type == "aof":
        c.add_reply_error("Background append only file rewriting already in progress")
    elif childproc.has_active_child(server) or server.in_exec:
        server.aof_rewrite_scheduled = True
        server.stat_aofrw_consecutive_failures = 0
        c.add_reply_status("Background append only file rewriting scheduled")
    elif rewrite_background(server):
        c.add_reply_status("Background append only file rewriting started")
    else:
        c.add_reply_error("Can't execute an AOF background rewriting. "
                          "Please check the server logs for more information.")


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------
class _ReadErr(Exception):
    pass


class _FmtErr(Exception):
    pass


def load_single_file(server: Any, aof: Aof, name: str, progress: Any, base_offset: int,
                     old_style: bool = False) -> str:
    """loadSingleAppendOnlyFile: replay one file; returns an AOF_* status."""
    from omakase.networking import FakeClient
    log = server.log
    path = aof.path(name)
    try:
        f = open(path, "rb")
    except FileNotFoundError as exc:
        log.warning(f"The append log file {name} doesn't exist: {exc.strerror}")
        return AOF_NOT_EXIST
    except OSError as exc:
        log.warning(f"Fatal error: can't open the append log file {name} for reading: "
                    f"{exc.strerror}")
        return AOF_OPEN_ERR
    with f:
        if os.fstat(f.fileno()).st_size == 0:
            return AOF_EMPTY
        old_state = aof.state
        aof.state = AOF_OFF
        fake = FakeClient(server)
        try:
            return _replay(server, aof, f, name, path, fake, progress, base_offset, old_style)
        finally:
            if fake.flags & ClientFlag.MULTI:
                fake.mstate = None
                fake.flags &= ~ClientFlag.MULTI
            aof.state = old_state
            hooks = server.client_free_hooks
            for hook in hooks:
                try:
                    hook(fake)
                except Exception:  # noqa: BLE001
                    pass


def _replay(server: Any, aof: Aof, f: Any, name: str, path: str, fake: Any,
            progress: Any, base_offset: int, old_style: bool) -> str:
    log = server.log
    cfg = server.config
    truncated_ok = cfg.aof_load_truncated
    if f.read(5) == b"REDIS":
        from omakase.persistence import rdb
        if old_style:
            log.notice("Reading RDB preamble from AOF file...")
        else:
            log.notice("Reading RDB base file on AOF loading...")
        f.seek(0)
        try:
            _load_rdb(rdb, server, f, progress, base_offset)
        except Exception as exc:  # noqa: BLE001 - RdbError or a format bug
            if old_style:
                log.warning(f"Error reading the RDB preamble of the AOF file {name}, AOF "
                            f"loading aborted")
            else:
                log.warning(f"Error reading the RDB base file {name}, AOF loading aborted")
            log.warning(str(exc))
            return AOF_FAILED
        if old_style:
            log.notice("Reading the remaining AOF tail...")
    else:
        f.seek(0)
    commands = server.commands
    call = server.call
    valid_up_to = 0
    valid_before_multi = 0
    loops = 0
    cmd_start = 0
    readline = f.readline
    read = f.read
    try:
        while True:
            if progress is not None and not loops % 1024:
                progress(base_offset + f.tell(), loops)
            loops += 1
            cmd_start = f.tell()
            line = readline(AOF_ANNOTATION_LINE_MAX_LEN - 1)
            if not line:
                break
            if line[0] == 35:            # '#': an annotation
                continue
            if line[0] != 42:            # '*'
                raise _FmtErr()
            if len(line) == 1:
                raise _ReadErr()
            argc = _c_atoi(line[1:])
            if argc < 1:
                raise _FmtErr()
            argv = []
            for _ in range(argc):
                line = readline(AOF_ANNOTATION_LINE_MAX_LEN - 1)
                if not line:
                    raise _ReadErr()
                if line[0] != 36:        # '$'
                    raise _FmtErr()
                n = _c_atoi(line[1:])
                if n < 0:
                    raise _FmtErr()
                arg = read(n) if n else b""
                if len(arg) < n:
                    raise _ReadErr()
                if len(read(2)) < 2:
                    raise _ReadErr()
                argv.append(arg)
            cmd = commands.lookup(argv)
            if cmd is None:
                log.warning(f"Unknown command '{argv[0].decode('utf-8', 'replace')}' reading "
                            f"the append only file {name}")
                return AOF_FAILED
            top = cmd.parent.name if cmd.parent else cmd.name
            if top == "multi":
                valid_before_multi = valid_up_to
            if fake.flags & ClientFlag.MULTI and top != "exec":
                fake.mstate.append((cmd, argv))
            else:
                call(fake, cmd, argv)
            if fake.reply:
                fake.reply = []
            if truncated_ok:
                valid_up_to = f.tell()
    except _FmtErr:
        log.warning(f"Bad file format reading the append only file {name}: make a backup of "
                    f"your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
        raise AofLoadError(f"Bad file format reading the append only file {name} "
                           f"(the command at offset {cmd_start})") from None
    except _ReadErr:
        pass
    else:
        if not fake.flags & ClientFlag.MULTI:
            return AOF_OK
        log.warning(f"Revert incomplete MULTI/EXEC transaction in AOF file {name}")
        valid_up_to = valid_before_multi
    # Unexpected end of file.
    if truncated_ok:
        log.warning(f"!!! Warning: short read while loading the AOF file {name}!!!")
        log.warning(f"!!! Truncating the AOF {name} at offset {valid_up_to} !!!")
        try:
            os.truncate(path, valid_up_to)
        except OSError as exc:
            log.warning(f"Error truncating the AOF file {name}: {exc.strerror}")
        else:
            log.warning(f"AOF {name} loaded anyway because aof-load-truncated is enabled")
            return AOF_TRUNCATED
    log.warning(f"Unexpected end of file reading the append only file {name}. You can: "
                "1) Make a backup of your AOF file, then use ./redis-check-aof --fix "
                "<filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' "
                "configuration option to yes and restart the server.")
    return AOF_FAILED


def _load_rdb(rdb: Any, server: Any, f: Any, progress: Any, base_offset: int) -> None:
    """rdbLoadRio with RDBFLAGS_AOF_PREAMBLE: expired keys are kept (the
    incr files may still touch them); leave ``f`` just after the RDB, where
    an old-style preamble file continues with commands."""
    calls = [0]

    def on_progress(done: int, total: int) -> None:
        calls[0] += 1
        if progress is not None:
            progress(base_offset + done, calls[0] * 1024)

    stats = rdb.load_rdb(server, f, progress=on_progress, keep_expired=True)
    f.seek(stats.bytes_read)
    try:
        from omakase.persistence.snapshot import _record_load_stats
        _record_load_stats(server, stats)
    except ImportError:  # pragma: no cover
        pass


def _upgrade_prepare(server: Any, aof: Aof) -> None:
    """aofUpgradePrepare: move an old single-file AOF into the directory."""
    am = aof.manifest
    name = aof.filename
    if not aof.make_dir():
        raise AofLoadError("Can't open or create append-only dir")
    am.base = AofInfo(name, 1, TYPE_BASE)
    am.curr_base_seq = 1
    am.dirty = True
    if not aof.persist_manifest(am):
        raise AofLoadError("Can't persist the AOF manifest")
    try:
        os.rename(aof.root_path(name), aof.path(name))
    except OSError as exc:
        server.log.warning(f"Error trying to move the old AOF file {name} into dir "
                           f"{server.config.appenddirname}: {exc.strerror}")
        raise AofLoadError("Can't move the old AOF file") from None
    server.log.notice(f"Successfully migrated an old-style AOF file ({name}) into the AOF "
                      f"directory ({server.config.appenddirname}).")


def load_append_only_files(server: Any) -> str:
    """Start-up with ``appendonly yes``: aofLoadManifestFromDisk,
    loadAppendOnlyFiles, then aofOpenIfNeededOnServerStart and
    aofDelHistoryFiles.  Raises AofLoadError when the server must exit."""
    aof: Aof = server.aof
    start = time.time()
    aof.load_manifest_from_disk()
    status = _load_files(server, aof)
    if status in (AOF_FAILED, AOF_OPEN_ERR):
        raise AofLoadError("Fatal error loading the append only file")
    if status != AOF_NOT_EXIST:
        server.log.notice(f"DB loaded from append only file: {time.time() - start:.3f} seconds")
    aof.open_on_server_start()
    aof.del_history_files()
    return status


def _load_files(server: Any, aof: Aof) -> str:
    """loadAppendOnlyFiles."""
    am = aof.manifest
    name = aof.filename
    if os.path.exists(aof.root_path(name)):
        if (not os.path.isdir(aof.dirname)
                or (am.base is None and not am.incr)
                or (am.base is not None and not am.incr and am.base.name == name
                    and not os.path.exists(aof.path(name)))):
            _upgrade_prepare(server, aof)
    if am.base is None and not am.incr:
        return AOF_NOT_EXIST
    files = ([am.base] if am.base else []) + list(am.incr)
    total = 0
    for ai in files:
        size = aof.file_size(ai.name)
        if size is None:
            return AOF_FAILED
        total += size
    if total == 0:
        return AOF_EMPTY
    from omakase.persistence.snapshot import LoadingProgress
    progress = LoadingProgress(server, total)
    dirty = server.dirty
    server.loading = True
    server.refresh_guards()
    ret = AOF_OK
    base_size = 0
    offset = 0
    try:
        for i, ai in enumerate(files):
            last = i == len(files) - 1
            is_base = ai is am.base
            started = time.time()
            ret = load_single_file(server, aof, ai.name, progress, offset,
                                   old_style=is_base and ai.name == name)
            size = aof.file_size(ai.name) or 0
            if is_base:
                base_size = size
            offset += size
            if ret == AOF_OK or (ret == AOF_TRUNCATED and last):
                server.log.notice(f"DB loaded from {'base' if is_base else 'incr'} file "
                                  f"{ai.name}: {time.time() - started:.3f} seconds")
            if ret == AOF_EMPTY and not is_base:
                ret = AOF_OK
            if ret == AOF_TRUNCATED and not last:
                ret = AOF_FAILED
                server.log.warning("Fatal error: the truncated file is not the last file")
            if ret in (AOF_OPEN_ERR, AOF_FAILED, AOF_NOT_EXIST):
                return AOF_FAILED if ret == AOF_NOT_EXIST else ret
        aof.current_size = offset
        aof.rewrite_base_size = base_size
        aof.fsync_offset = aof.current_size
    finally:
        server.loading = False
        server.refresh_guards()
        server.dirty = dirty
    return ret


def debug_loadaof(c: Any, argv: list[bytes]) -> bool:
    """DEBUG LOADAOF: flush the AOF, empty the dataset, load it back."""
    if len(argv) != 2:
        return False
    from omakase.commands.generic import empty_data
    server = c.server
    aof: Aof = server.aof
    if aof.state == AOF_ON:
        aof.flush(True)
    empty_data(server, -1, False)
    try:
        aof.load_manifest_from_disk()
        aof.del_history_files()
        status = _load_files(server, aof)
    except AofLoadError as exc:
        status = AOF_FAILED
        server.log.warning(str(exc))
    if status not in (AOF_OK, AOF_EMPTY, AOF_TRUNCATED, AOF_NOT_EXIST):
        c.add_reply_error("Error loading the append only file, check server logs.")
        return True
    server.dirty = 0
    server.log.warning("Append Only File loaded by DEBUG LOADAOF")
    c.add_reply_ok()
    return True


# ---------------------------------------------------------------------------
# Wiring
# ---------------------------------------------------------------------------
def install(server: Any) -> None:
    aof = Aof(server)
    server.aof = aof
    server.aof_rewrite_scheduled = False
    server.aof_last_write_ok = True
    server.aof_lastbgrewrite_ok = True
    server.stat_aof_rewrites = 0
    server.stat_aof_cow_bytes = 0
    server.stat_aofrw_consecutive_failures = 0
    server.aof_rewrite_time_last = -1
    server.aof_buffer_size = 0
    from omakase.commands.debug import DEBUG_SUBCOMMANDS
    DEBUG_SUBCOMMANDS[b"loadaof"] = debug_loadaof

    aof.set_feeding(aof.state != AOF_OFF)
    aof.state = aof.state           # installs server.aof_flush_hook if on
    server.cron_hooks.append(aof.cron)

    def shutdown(flags: set[str]) -> bool:
        if aof.fd != -1:
            server.log.notice("Calling fsync() on the AOF file.")
            aof.flush(True)
            aof.fsync_now()
        return True

    server.shutdown_hooks.append(shutdown)

    providers = getattr(server, "info_providers", None)
    if providers is None:
        providers = server.info_providers = {}
    previous = providers.get("persistence")

    def info_persistence(srv: Any) -> list[str]:
        lines = aof.info_lines()
        if previous is not None:
            lines += previous(srv)
        return lines

    providers["persistence"] = info_persistence

    def on_appendonly(cfg: Any, old: Any, new: Any) -> None:
        from omakase.config import ConfigSetError
        if new and not old and aof.state == AOF_OFF:
            if not aof.start():
                raise ConfigSetError("Unable to turn on AOF. Check server logs.")
        elif old and not new and aof.state != AOF_OFF:
            aof.stop()

    server.config.add_listener("appendonly", on_appendonly)

    def startup() -> None:
        """The manifest is read at start-up even with the AOF off (a later
        BGREWRITEAOF or CONFIG SET appendonly yes continues its sequence);
        with it on, open the files if the loader has not."""
        if server.exit_code or server.el.stopped:
            return
        try:
            if not aof.loading_manifest_done:
                aof.load_manifest_from_disk()
            aof.open_on_server_start()
        except AofLoadError as exc:
            server.log.warning(f"Fatal error loading the DB: {exc}. Exiting.")
            server.exit_code = 1
            server.el.stop()

    if not hasattr(server, "startup_hooks"):
        server.startup_hooks = []
    server.startup_hooks.append(startup)
