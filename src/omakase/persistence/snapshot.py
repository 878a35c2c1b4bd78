"""Snapshots: SAVE, BGSAVE, save points, loading at start-up, DEBUG RELOAD.

The RDB half of Redis's ``server.c`` and ``rdb.c`` (``rdbSave``,
``rdbSaveBackground``, ``backgroundSaveDoneHandler``, ``loadDataFromDisk``),
built on ``rdb.write_rdb``/``rdb.load_rdb`` (the format) and ``child.py``
(the fork).

Saving.  Both SAVE and the BGSAVE child write ``temp-<pid>.rdb`` in ``dir``,
fsync it and ``rename()`` it over ``dbfilename``, so a reader (or a crash)
only ever sees the old file or the complete new one.  SAVE blocks the event
loop, as in Redis.  BGSAVE forks: the child writes the dataset as it was at
the fork while the parent keeps serving; serverCron reaps the child and the
parent then updates ``lastsave``, ``rdb_last_bgsave_status``,
``rdb_last_cow_size`` and subtracts the changes that were on disk from
``dirty`` (``dirty_before_bgsave``), exactly as Redis does.

Save points.  serverCron starts a BGSAVE when any ``save <seconds> <changes>``
pair is met, but not again within ``CONFIG_BGSAVE_RETRY_DELAY`` seconds of a
failed attempt; ``BGSAVE SCHEDULE`` asked while an AOF rewrite child runs is
remembered and started once no child is active.  When the last background
save failed and ``stop-writes-on-bgsave-error`` is on, a guard refuses write
commands (and PING) with Redis's ``-MISCONF`` text until a save succeeds.

Loading.  At start-up (``startup_hooks``) the AOF is loaded when
``appendonly yes`` (``aof.load_append_only_files``), otherwise ``dbfilename``
if it exists.  ``load_rdb`` reads into fresh tables and swaps them in only
when the whole file, checksum included, is valid; a corrupt file is logged
and the server exits with status 1 rather than serve a partial dataset.
While loading, ``server.loading`` is set and the loop keeps answering
clients every ``loading-process-events-interval-bytes`` read
(``processEventsWhileBlocked``): commands without the LOADING flag get
``-LOADING``; INFO shows the ``loading_*`` fields.

Replication info.  Every save (SAVE, BGSAVE, save points, SHUTDOWN, FLUSHALL,
DEBUG RELOAD) asks ``server.repl.save_info()`` (``rdbPopulateSaveInfo``) for
the ``repl-stream-db``/``repl-id``/``repl-offset`` AUX fields; at start-up the
loaded file's AUX fields go back to ``server.repl.restore_from_rdb`` so a
restarted replica (or its restarted master) can continue with a partial
resync.  As in Redis a replica (``replicaof`` in the config) keeps keys that
already expired (its master will send their DELs); a master drops them after
the load and hands their names to replication, which feeds them to its
backlog as DELs (``RDBFLAGS_FEED_REPL``).

SHUTDOWN (``shutdown_hooks``): a running child is killed; with save points
configured (or ``SHUTDOWN SAVE``) and without NOSAVE the dataset is saved
synchronously and a failed save keeps the server up unless FORCE.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

from omakase import replies
from omakase.commands.registry import command
from omakase.networking import ClientFlag
from omakase.persistence import child as childproc

CONFIG_BGSAVE_RETRY_DELAY = 5
LOADING_LOG_SECONDS = 0.5     # a progress line this often while loading
MISCONF_RDB = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable "
               "to persist to disk. Commands that may modify the data set are disabled, because "
               "this instance is configured to report errors during writes if RDB snapshotting "
               "fails (stop-writes-on-bgsave-error option). Please check the Redis logs for "
               "details about the RDB error.")


# ---------------------------------------------------------------------------
# Paths and the synchronous save
# ---------------------------------------------------------------------------
def rdb_path(server: Any) -> str:
    cfg = server.config
    return os.path.join(cfg.dir or os.getcwd(), cfg.dbfilename)


def _temp_path(server: Any, pid: int) -> str:
    return os.path.join(server.config.dir or os.getcwd(), f"temp-{pid}.rdb")


def write_rdb_file(server: Any, path: str, temp: str,
                   aux_extra: dict[bytes, bytes] | None = None) -> bool:
    """Write the dataset to ``temp``, fsync, rename over ``path``."""
    from omakase.persistence import rdb
    try:
        f = open(temp, "wb")
    except OSError as exc:
        server.log.warning(
            f"Failed opening the temp RDB file {os.path.basename(temp)} (in server root dir "
            f"{server.config.dir}) for saving: {exc.strerror}")
        return False
    try:
        with f:
            rdb.write_rdb(server, f, aux_extra=aux_extra)
            f.flush()
            os.fsync(f.fileno())
        os.rename(temp, path)
    except OSError as exc:
        server.log.warning(f"Write error saving DB on disk: {exc.strerror or exc}")
        _unlink(temp)
        return False
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def save_info(server: Any) -> dict[bytes, bytes] | None:
    """rdbPopulateSaveInfo: the replication AUX fields, or None."""
    repl = getattr(server, "repl", None)
    return repl.save_info() if repl is not None else None


def rdb_save(server: Any) -> bool:
    """rdbSave: the blocking save SAVE, SHUTDOWN and FLUSHALL use."""
    if not write_rdb_file(server, rdb_path(server), _temp_path(server, os.getpid()),
                          save_info(server)):
        return False
    server.log.notice("DB saved on disk")
    server.dirty = 0
    server.lastsave = time.time()
    _set_bgsave_status(server, True)
    return True


def _set_bgsave_status(server: Any, ok: bool) -> None:
    server.lastbgsave_ok = ok
    guard = server.misconf_guard
    active = guard in server.guard_hooks
    want = not ok
    if want != active:
        if want:
            server.guard_hooks.append(guard)
        else:
            server.guard_hooks.remove(guard)
        server.refresh_guards()


# ---------------------------------------------------------------------------
# BGSAVE
# ---------------------------------------------------------------------------
def rdb_save_background(server: Any, aux_extra: dict[bytes, bytes] | None = None) -> bool:
    """rdbSaveBackground: fork a child that writes the snapshot.  When it
    ends, ``server.rdb_done_hooks`` run with (ok) after the bookkeeping
    (replication waits on them to stream the file to replicas).
    ``aux_extra`` None: the replication info of ``save_info``."""
    if aux_extra is None:
        aux_extra = save_info(server)
    server.dirty_before_bgsave = server.dirty
    server.lastbgsave_try = time.time()
    server.rdb_save_time_start = time.time()
    path = rdb_path(server)

    def work() -> bool:
        ok = write_rdb_file(server, path, _temp_path(server, os.getpid()), aux_extra)
        if ok:
            server.log.notice("DB saved on disk")
        return ok

    try:
        pid = childproc.fork_child(server, "rdb", work, lambda *a: _bgsave_done(server, *a))
    except OSError as exc:
        server.lastbgsave_ok = False
        server.log.warning(f"Can't save in background: fork: {exc.strerror or exc}")
        return False
    server.rdb_child_pid = pid
    server.log.notice(f"Background saving started by pid {pid}")
    return True


def _bgsave_done(server: Any, ok: bool, by_signal: int, cow: int) -> None:
    """backgroundSaveDoneHandlerDisk."""
    pid = server.rdb_child_pid
    server.rdb_child_pid = 0
    server.rdb_save_time_last = int(time.time() - server.rdb_save_time_start)
    server.stat_rdb_cow_bytes = cow
    if cow:
        server.log.notice(f"Fork CoW for RDB: current {cow >> 20} MB, peak {cow >> 20} MB, "
                          f"average {cow >> 20} MB")
    if ok:
        server.log.notice("Background saving terminated with success")
        server.dirty -= server.dirty_before_bgsave
        server.lastsave = time.time()
        server.stat_rdb_saves += 1
        _set_bgsave_status(server, True)
    elif by_signal:
        server.log.warning(f"Background saving terminated by signal {by_signal}")
        _unlink(_temp_path(server, pid))
        if by_signal != signal.SIGUSR1:
            _set_bgsave_status(server, False)
    else:
        server.log.warning("Background saving error")
        _set_bgsave_status(server, False)
    for hook in list(server.rdb_done_hooks):
        hook(ok)


@command("bgsave")
def bgsave_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            c.add_reply_error(replies.SYNTAX)
            return
    if server.child_type == "rdb":
        c.add_reply_error("Background save already in progress")
    elif childproc.has_active_child(server):
        if schedule:
            server.rdb_bgsave_scheduled = True
            c.add_reply_status("Background saving scheduled")
        else:
            c.add_reply_error(
                "Another child process is active (AOF?): can't BGSAVE right now. "
                "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    elif rdb_save_background(server):
        c.add_reply_status("Background saving started")
    else:
        c.add_reply_error("ERR")


@command("save")
def save_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    if server.child_type == "rdb":
        c.add_reply_error("Background save already in progress")
        return
    if rdb_save(server):
        c.add_reply_ok()
    else:
        c.add_reply_error("ERR")


@command("lastsave")
def lastsave_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_int(int(c.server.lastsave))


# ---------------------------------------------------------------------------
# serverCron, FLUSHALL, SHUTDOWN
# ---------------------------------------------------------------------------
def snapshot_cron(server: Any) -> None:
    if server.child is not None:
        childproc.check_child_done(server)
        return
    now = time.time()
    retry_ok = (now - server.lastbgsave_try > CONFIG_BGSAVE_RETRY_DELAY or server.lastbgsave_ok)
    for seconds, changes in server.config.save:
        if server.dirty >= changes and now - server.lastsave > seconds and retry_ok:
            server.log.notice(f"{changes} changes in {seconds} seconds. Saving...")
            rdb_save_background(server)
            return
    if server.rdb_bgsave_scheduled and retry_ok:
        server.rdb_bgsave_scheduled = False
        rdb_save_background(server)


def _flushall_hook(server: Any) -> None:
    """flushAllDataAndResetRDB: kill a saving child, save the empty set."""
    if server.child_type == "rdb":
        childproc.kill_child(server)
    if server.config.save:
        rdb_save(server)


def _shutdown_hook(server: Any, flags: set[str]) -> bool:
    if server.child is not None:
        kind = server.child_type
        if kind == "rdb":
            server.log.warning("There is a child saving an .rdb. Killing it!")
        else:
            server.log.warning("There is a child rewriting the AOF. Killing it!")
        childproc.kill_child(server)
    if "nosave" in flags:
        return True
    if server.config.save or "save" in flags:
        server.log.notice("Saving the final RDB snapshot before exiting.")
        if not rdb_save(server):
            if "force" in flags:
                server.log.warning("Error trying to save the DB. Exit anyway.")
                return True
            server.log.warning("Error trying to save the DB, can't exit.")
            return False
    return True


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------
class LoadingProgress:
    """Feeds INFO's loading_* fields and keeps clients answered: after every
    ``loading-process-events-interval-bytes`` read, a few loop passes run
    file events only (``processEventsWhileBlocked`` does up to 4)."""

    def __init__(self, server: Any, total_bytes: int) -> None:
        self.server = server
        self.stats: Any = None            # the loader's live LoadStats
        server.loading_start_time = time.time()
        server.loading_total_bytes = total_bytes
        server.loading_loaded_bytes = 0
        self.last_events = 0
        self.last_log = time.monotonic()

    def __call__(self, loaded_bytes: int, total: int) -> None:
        server = self.server
        server.loading_loaded_bytes = loaded_bytes
        now = time.monotonic()
        if now - self.last_log >= LOADING_LOG_SECONDS and total:
            self.last_log = now
            keys = self.stats.keys_loaded if self.stats is not None else 0
            server.log.notice(f"Loading RDB: {loaded_bytes * 100 / total:.1f}% "
                              f"({keys} keys loaded)")
        if loaded_bytes - self.last_events >= server.config.loading_process_events_interval_bytes:
            self.last_events = loaded_bytes
            for _ in range(4):
                server.el.process_events(dont_wait=True, timers=False)
            latency = getattr(server, "latency", None)
            if latency is not None:     # (serverCron does it otherwise)
                latency.fold_samples()  # an AOF's calls: keep the lists short


def load_rdb_file(server: Any, path: str, progress: bool = True,
                  keep_expired: bool | None = None) -> Any:
    """rdbLoad with the loading state set; returns the load statistics."""
    from omakase.persistence import rdb
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        server.loading = True
        server.refresh_guards()
        try:
            return rdb.load_rdb(server, f, progress=LoadingProgress(server, size)
                                if progress else None, keep_expired=keep_expired)
        finally:
            server.loading = False
            server.refresh_guards()


def load_data_from_disk(server: Any) -> bool:
    """loadDataFromDisk: the AOF when on, else the RDB; False = exit(1)."""
    start = time.time()
    if server.config.appendonly:
        from omakase.persistence import aof
        try:
            aof.load_append_only_files(server)
        except aof.AofLoadError as exc:
            server.log.warning(f"Fatal error loading the DB: {exc}. Exiting.")
            return False
        return True
    try:
        from omakase.persistence import rdb
    except ImportError:   # pragma: no cover - until the format module lands
        return True
    path = rdb_path(server)
    # Keep expired keys while reading: a replica keeps them, a master drops
    # them below and replication sends their DELs.
    try:
        stats = load_rdb_file(server, path, keep_expired=True)
    except FileNotFoundError:
        return True
    except (rdb.RdbError, OSError) as exc:
        server.log.warning(f"Fatal error loading the DB: {exc}. Exiting.")
        return False
    expired: list[tuple[int, bytes]] = []
    if not server.config.replicaof:
        expired = _drop_expired_keys(server)
        stats.keys_loaded -= len(expired)
        stats.keys_expired += len(expired)
    _record_load_stats(server, stats)
    server.log.notice(f"DB loaded from disk: {time.time() - start:.3f} seconds")
    repl = getattr(server, "repl", None)
    if repl is not None:
        repl.restore_from_rdb(stats.aux, expired)
    return True


def _drop_expired_keys(server: Any) -> list[tuple[int, bytes]]:
    """The keys a master does not load because they already expired:
    deleted, and returned as (db, key) for the replication stream."""
    now = int(time.time() * 1000)
    gone: list[tuple[int, bytes]] = []
    for db in server.dbs:
        if not db.expires.used:
            continue
        dead = [key for key, when in db.expires.items() if when < now]
        for key in dead:
            db.delete(key)
            gone.append((db.id, key))
    return gone


def _record_load_stats(server: Any, stats: Any) -> None:
    loaded = getattr(stats, "keys_loaded", 0)
    expired = getattr(stats, "keys_expired", 0)
    server.rdb_last_load_keys_loaded = loaded
    server.rdb_last_load_keys_expired = expired
    server.log.notice(f"Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.")


# ---------------------------------------------------------------------------
# DEBUG RELOAD
# ---------------------------------------------------------------------------
def debug_reload(c: Any, argv: list[bytes]) -> bool:
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, flush, load back."""
    from omakase.commands.generic import empty_data
    from omakase.persistence import rdb
    server = c.server
    merge = noflush = nosave = False
    for arg in argv[2:]:
        word = arg.lower()
        if word == b"merge":
            merge = True
        elif word == b"noflush":
            noflush = True
        elif word == b"nosave":
            nosave = True
        else:
            c.add_reply_error("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
            return True
    if not nosave and not rdb_save(server):
        c.add_reply_error("ERR")
        return True
    old = None
    if noflush:
        old = [(db, list(db.keys.items()), dict(db.expires.items())) for db in server.dbs]
    else:
        empty_data(server, -1, False)
    try:
        stats = load_rdb_file(server, rdb_path(server), progress=False)
    except (rdb.RdbError, OSError) as exc:
        server.log.warning(f"Error loading the RDB dump: {exc}")
        c.add_reply_error("Error trying to load the RDB dump, check server logs.")
        return True
    if old is not None:
        for db, items, expires in old:
            for key, value in items:
                if db.peek(key) is not None:
                    if not merge:
                        server.log.warning(f"RDB has duplicated key '{key!r}' in DB {db.id}")
                    continue
                db.add(key, value)
                if key in expires:
                    db.set_expire(key, expires[key])
    _record_load_stats(server, stats)
    server.log.warning("DB reloaded by DEBUG RELOAD")
    c.add_reply_ok()
    return True


# ---------------------------------------------------------------------------
# Wiring
# ---------------------------------------------------------------------------
def install(server: Any) -> None:
    from omakase.commands.debug import DEBUG_SUBCOMMANDS
    DEBUG_SUBCOMMANDS[b"reload"] = debug_reload
    server.lastsave = time.time()
    server.lastbgsave_ok = True
    server.lastbgsave_try = 0.0
    server.rdb_bgsave_scheduled = False
    server.dirty_before_bgsave = 0
    server.rdb_child_pid = 0
    server.rdb_done_hooks = []
    server.rdb_save_time_start = 0.0
    server.rdb_save_time_last = -1
    server.stat_rdb_saves = 0
    server.stat_rdb_cow_bytes = 0
    server.stat_fork_time = 0
    server.stat_total_forks = 0
    server.child_type = None
    server.child_start_time = 0.0

    def misconf_guard(c: Any, cmd: Any, argv: list[bytes]) -> str | None:
        if (not server.config.stop_writes_on_bgsave_error or not server.config.save
                or c.flags & ClientFlag.MASTER):
            return None
        if cmd.is_write or cmd.name == "ping":
            return MISCONF_RDB
        return None

    server.misconf_guard = misconf_guard
    server.cron_hooks.append(lambda: snapshot_cron(server))
    server.shutdown_hooks.append(lambda flags: _shutdown_hook(server, flags))
    server.flushall_hook = lambda: _flushall_hook(server)

    def startup() -> None:
        if not load_data_from_disk(server):
            server.exit_code = 1
            server.el.stop()

    server.startup_hooks.append(startup)
