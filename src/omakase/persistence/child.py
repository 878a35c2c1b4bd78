"""Forked children: the one background process BGSAVE and BGREWRITEAOF use.

Redis snapshots by ``fork()``: the child inherits the parent's memory as it
was at the instant of the fork and writes it out, while the parent keeps
serving; the kernel copies a page only when one side writes to it
(copy-on-write).  This module is the fork part of ``server.c``
(``redisFork``, ``checkChildrenDone``, ``killRDBChild``) and of
``childinfo.c`` (the child reporting its copy-on-write size to the parent).

At most one child runs at a time (``hasActiveChildProcess``): a BGSAVE asked
for while an AOF rewrite runs is refused or scheduled by its caller.  The
parent records ``server.child_pid``, ``child_type`` ("rdb" or "aof") and
``child_start_time`` (INFO persistence reads them) and reaps the child from
serverCron with ``waitpid(WNOHANG)``, then calls the ``on_done`` callback the
starter gave, with (ok, by_signal, cow_bytes).

Copy-on-write in CPython.  Redis's child only reads its data; a CPython child
that merely *reads* an object still writes to it (reference counts), and the
cyclic garbage collector writes to the header of every tracked object it
visits.  So before forking the parent calls ``gc.freeze()`` (every object
moves to the permanent generation, so a collection in either process never
walks -- and dirties -- the shared heap) and the child never collects.
Reference-count writes remain: every page holding an object the child
visits gets copied.  That cost is measured, not hidden: the child reads its
own ``Private_Dirty`` total from ``/proc/self/smaps_rollup`` at the end and
reports it through a pipe (``rdb_last_cow_size`` / ``aof_last_cow_size``).

In the child: signal handlers go back to their defaults except SIGUSR1,
which ends it quietly (a parent killing its child on purpose, as Redis's
``killRDBChild`` does with SIGUSR1, must not count as a failure); listening
sockets are closed so a restart of the parent can bind again while the
child finishes; the work function's result decides the exit code and the
child leaves with ``os._exit`` (no atexit handlers, no buffered output of the
parent flushed twice).
"""
from __future__ import annotations

import gc
import os
import signal
import time
from typing import Any, Callable

OnDone = Callable[[bool, int, int], None]


class ChildProcess:
    __slots__ = ("pid", "type", "start_time", "info_fd", "on_done", "killed")

    def __init__(self, pid: int, child_type: str, info_fd: int, on_done: OnDone) -> None:
        self.pid = pid
        self.type = child_type
        self.start_time = time.time()
        self.info_fd = info_fd
        self.on_done = on_done
        self.killed = False


def has_active_child(server: Any) -> bool:
    return bool(server.child_pid)


def private_dirty_bytes() -> int:
    """This process's private dirty memory (what copy-on-write cost it)."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def fork_child(server: Any, child_type: str, work: Callable[[], bool],
               on_done: OnDone) -> int:
    """redisFork: run ``work()`` in a child; return its pid (raises OSError)."""
    if server.child_pid:
        raise OSError("a child process is already active")
    info_r, info_w = os.pipe()
    gc.freeze()
    start = time.perf_counter()
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        os.close(info_r)
        os.close(info_w)
        raise
    if pid == 0:   # ---- the child -------------------------------------
        code = 1
        try:
            os.close(info_r)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGUSR1, lambda *a: os._exit(255))
            for sock in server.listeners:
                try:
                    sock.close()
                except OSError:
                    pass
            code = 0 if work() else 1
            os.write(info_w, str(private_dirty_bytes()).encode())
        except BaseException as exc:  # never return into the parent's loop
            try:
                server.log.warning(f"Child process failed: {exc!r}")
            except Exception:
                pass
        finally:
            os._exit(code)
    # ---- the parent -----------------------------------------------------
    gc.unfreeze()
    os.close(info_w)
    server.stat_fork_time = int((time.perf_counter() - start) * 1_000_000)
    server.stat_total_forks = getattr(server, "stat_total_forks", 0) + 1
    child = ChildProcess(pid, child_type, info_r, on_done)
    server.child = child
    server.child_pid = pid
    server.child_type = child_type
    server.child_start_time = child.start_time
    return pid


def _finish(server: Any, status: int) -> None:
    child = server.child
    server.child = None
    server.child_pid = 0
    server.child_type = None
    try:
        report = os.read(child.info_fd, 64)
    except OSError:
        report = b""
    os.close(child.info_fd)
    cow = int(report) if report.isdigit() else 0
    by_signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 255:
        by_signal = signal.SIGUSR1      # our own quiet kill (see the docstring)
    ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and not child.killed
    child.on_done(ok, by_signal, cow)


def check_child_done(server: Any) -> bool:
    """checkChildrenDone, from serverCron: reap a finished child."""
    child = getattr(server, "child", None)
    if child is None:
        return False
    try:
        pid, status = os.waitpid(child.pid, os.WNOHANG)
    except ChildProcessError:
        pid, status = child.pid, 1 << 8
    if pid == 0:
        return False
    _finish(server, status)
    return True


def wait_child(server: Any) -> None:
    """Block until the active child ends (SHUTDOWN, SAVE while a child runs)."""
    child = getattr(server, "child", None)
    if child is None:
        return
    try:
        _, status = os.waitpid(child.pid, 0)
    except ChildProcessError:
        status = 1 << 8
    _finish(server, status)


def kill_child(server: Any) -> None:
    """killRDBChild / killAppendOnlyChild: stop the child, reap it now."""
    child = getattr(server, "child", None)
    if child is None:
        return
    child.killed = True
    try:
        os.kill(child.pid, signal.SIGUSR1)
    except ProcessLookupError:
        pass
    wait_child(server)
