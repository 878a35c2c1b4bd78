"""Background jobs: one worker thread per job type (Redis's ``bio.c``).

DESIGN
------
As in Redis, the main thread owns the data and only hands *detached* work to
background threads: a job type (``LAZY_FREE`` here; Redis also has file
closing and AOF fsync) has a FIFO queue and one thread, started on the first
job.  ``submit(jtype, fn)`` appends a callable; the worker runs jobs in order
and counts them.  ``pending(jtype)`` is the number of jobs queued or running
(``bioPendingJobsOfType``); ``drain(jtype)`` waits for the queue to empty
(``bioDrainWorker``).  Workers are daemon threads: nothing waits for them at
exit (Redis does not wait for lazy free at shutdown either).

A job runs with the GIL like any Python code, so a job that would hold it for
long must cut its work into short slices and call ``yield_gil()`` between
them (see ``lazyfree``).  ``yield_gil`` sleeps a few microseconds: a plain
``sleep(0)`` releases the GIL, but the worker usually takes it back before the
main thread -- woken by the release but still to be scheduled -- gets it; a
real sleep lets the main thread in when it is waiting, and costs the worker
~60 us per slice when it is not.  On a busy machine even that window is
missed, and the main thread then waits for the interpreter's switch interval
(5 ms) before it can force the worker off the GIL: measured, UNLINK of a
2,000,000-member set gave PING a p99 of 8 ms that way.  So while a worker has
a job, the switch interval is lowered to JOB_SWITCH_INTERVAL_S (0.5 ms) and
restored when its queue is empty.

Nothing else is shared: a worker touches its own queue (under its
``Condition``) and the objects its jobs were given.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import Callable

LAZY_FREE = 0
JOB_TYPES = ("lazy_free",)
YIELD_SLEEP_S = 0.00005
# While a job runs, the interpreter's switch interval (how long a thread
# waiting for the GIL waits before forcing the holder to drop it, 5 ms by
# default) is lowered so that the main thread never waits long for a worker.
JOB_SWITCH_INTERVAL_S = 0.0005


def yield_gil() -> None:
    """Let the main thread run if it wants the GIL (see the docstring)."""
    time.sleep(YIELD_SLEEP_S)


class _Worker:
    __slots__ = ("name", "queue", "cond", "thread", "done", "running", "stopping")

    def __init__(self, name: str) -> None:
        self.name = name
        self.queue: deque[Callable[[], None]] = deque()
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.done = 0
        self.running = False
        self.stopping = False

    def start(self) -> None:
        t = threading.Thread(target=self._loop, name=f"bio_{self.name}", daemon=True)
        self.thread = t
        t.start()

    def _loop(self) -> None:
        cond = self.cond
        q = self.queue
        normal = sys.getswitchinterval()
        while True:
            with cond:
                while not q and not self.stopping:
                    sys.setswitchinterval(normal)
                    cond.wait()
                if not q:
                    return
                job = q[0]
                self.running = True
            sys.setswitchinterval(min(normal, JOB_SWITCH_INTERVAL_S))
            try:
                job()
            except Exception:   # a failing job must not kill the worker
                pass
            with cond:
                q.popleft()
                self.running = False
                self.done += 1
                cond.notify_all()


class Bio:
    """The background workers of one server."""

    def __init__(self) -> None:
        self.workers = [_Worker(name) for name in JOB_TYPES]

    def submit(self, jtype: int, fn: Callable[[], None]) -> None:
        w = self.workers[jtype]
        with w.cond:
            w.queue.append(fn)
            if w.thread is None:
                w.start()
            w.cond.notify()

    def pending(self, jtype: int) -> int:
        return len(self.workers[jtype].queue)

    def drain(self, jtype: int, timeout: float | None = None) -> bool:
        """bioDrainWorker: wait until every job of this type has run."""
        w = self.workers[jtype]
        deadline = None if timeout is None else time.monotonic() + timeout
        with w.cond:
            while w.queue:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                w.cond.wait(left)
        return True

    def stop(self) -> None:
        for w in self.workers:
            with w.cond:
                w.stopping = True
                w.cond.notify_all()
