"""The reactor: file events, time events, and the before/after-sleep hooks.

Mirrors Redis's ``ae.c``.  One loop pass is:

    before_sleep()  ->  poll(timeout of the nearest timer)  ->  after_sleep()
        -> fire the ready file events  ->  fire the due time events

A file event is a (fd, mask) registration with a read handler and a write
handler.  The poll backend is pluggable, as ``ae_epoll.c``/``ae_select.c`` are
in Redis: ``epoll`` (the default on Linux, level-triggered unless
``edge_triggered`` is set), ``poll`` and ``select``.  The backend is chosen by
the ``event-loop-backend`` directive, an omakase extension (Redis chooses at
compile time) so the three can be measured against each other.

Handlers are plain callables; the loop keeps them in two dicts indexed by fd so
that dispatching a ready descriptor is two dict lookups and a call.  Nothing in
here knows about clients, RESP or the server: the dependency points the other
way.

Time events are kept in a heap ordered by due time.  A handler returns the
number of milliseconds until it should run again, or ``NOMORE`` to be removed,
like ``aeTimeProc``.  The poll timeout is taken from the nearest timer, so an
idle server wakes only ``hz`` times a second.

Another thread wakes the loop through a self-pipe (``wake()``), which is how
background jobs (lazy free, fsync) report back without locks on the data.
"""
from __future__ import annotations

import heapq
import os
import select
import time
from typing import Callable, Optional

_monotonic = time.monotonic
_INF = float("inf")

READABLE = 1
WRITABLE = 2
NOMORE = -1

Handler = Callable[[int], None]


class _EpollBackend:
    name = "epoll"

    def __init__(self, edge_triggered: bool = False) -> None:
        self._ep = select.epoll()
        self._et = select.EPOLLET if edge_triggered else 0
        # (fd, raw event bits), timeout in seconds (-1: block): the C method
        # itself, so a loop pass makes no Python call to poll.
        self.poll = self._ep.poll

    def _bits(self, mask: int) -> int:
        bits = self._et
        if mask & READABLE:
            bits |= select.EPOLLIN
        if mask & WRITABLE:
            bits |= select.EPOLLOUT
        return bits

    def register(self, fd: int, mask: int) -> None:
        self._ep.register(fd, self._bits(mask))

    def modify(self, fd: int, mask: int) -> None:
        self._ep.modify(fd, self._bits(mask))

    def unregister(self, fd: int) -> None:
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    # epoll reports EPOLLERR/EPOLLHUP without asking; they count as both
    # readable and writable so the handler discovers the error itself.
    read_bits = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
    write_bits = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP

    def close(self) -> None:
        self._ep.close()


class _PollBackend:
    name = "poll"

    def __init__(self) -> None:
        self._p = select.poll()

    @staticmethod
    def _bits(mask: int) -> int:
        bits = 0
        if mask & READABLE:
            bits |= select.POLLIN
        if mask & WRITABLE:
            bits |= select.POLLOUT
        return bits

    def register(self, fd: int, mask: int) -> None:
        self._p.register(fd, self._bits(mask))

    def modify(self, fd: int, mask: int) -> None:
        self._p.modify(fd, self._bits(mask))

    def unregister(self, fd: int) -> None:
        try:
            self._p.unregister(fd)
        except (KeyError, ValueError):
            pass

    read_bits = select.POLLIN | select.POLLERR | select.POLLHUP | select.POLLNVAL
    write_bits = select.POLLOUT | select.POLLERR | select.POLLHUP

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        ms = None if timeout < 0 else int(timeout * 1000 + 0.999)
        return self._p.poll(ms)

    def close(self) -> None:
        pass


class _SelectBackend:
    name = "select"
    read_bits = READABLE
    write_bits = WRITABLE

    def __init__(self) -> None:
        self._r: set[int] = set()
        self._w: set[int] = set()

    def register(self, fd: int, mask: int) -> None:
        self.modify(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        (self._r.add if mask & READABLE else self._r.discard)(fd)
        (self._w.add if mask & WRITABLE else self._w.discard)(fd)

    def unregister(self, fd: int) -> None:
        self._r.discard(fd)
        self._w.discard(fd)

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        r, w, _ = select.select(self._r, self._w, (), None if timeout < 0 else timeout)
        ready: dict[int, int] = {}
        for fd in r:
            ready[fd] = READABLE
        for fd in w:
            ready[fd] = ready.get(fd, 0) | WRITABLE
        return list(ready.items())

    def close(self) -> None:
        pass


def make_backend(name: str, edge_triggered: bool = False):
    if name == "epoll" and hasattr(select, "epoll"):
        return _EpollBackend(edge_triggered)
    if name in ("epoll", "poll") and hasattr(select, "poll"):
        return _PollBackend()
    return _SelectBackend()


class _TimeEvent:
    __slots__ = ("id", "when", "proc", "cancelled")

    def __init__(self, ev_id: int, when: float, proc: Callable[[], int]) -> None:
        self.id = ev_id
        self.when = when
        self.proc = proc
        self.cancelled = False

    def __lt__(self, other: "_TimeEvent") -> bool:
        return self.when < other.when


class EventLoop:
    """ae's aeEventLoop: registrations, timers and the main loop."""

    def __init__(self, backend: str = "epoll", edge_triggered: bool = False) -> None:
        self.backend = make_backend(backend, edge_triggered)
        self.poll = self.backend.poll
        self.read_bits = self.backend.read_bits
        self.write_bits = self.backend.write_bits
        self.readers: dict[int, Handler] = {}
        self.writers: dict[int, Handler] = {}
        self.masks: dict[int, int] = {}
        self._timers: list[_TimeEvent] = []
        self.next_timer_at = _INF         # the heap's first deadline
        self._timer_by_id: dict[int, _TimeEvent] = {}
        self._next_timer_id = 0
        self.stopped = False
        # AE_BARRIER for every fd: fire writable before readable, so a reply
        # produced by this pass's reads is written only after the next
        # beforeSleep (where the AOF is fsynced under appendfsync always).
        self.barrier = False
        self.before_sleep: Optional[Callable[[], None]] = None
        self.after_sleep: Optional[Callable[[], None]] = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.add_reader(self._wake_r, self._drain_wakeup)
        self.wakeup_handlers: list[Callable[[], None]] = []

    # -- file events --------------------------------------------------------
    def _set_mask(self, fd: int, mask: int) -> None:
        old = self.masks.get(fd, 0)
        if mask == old:
            return
        if mask == 0:
            self.backend.unregister(fd)
            del self.masks[fd]
        elif old == 0:
            self.backend.register(fd, mask)
            self.masks[fd] = mask
        else:
            self.backend.modify(fd, mask)
            self.masks[fd] = mask

    def add_reader(self, fd: int, handler: Handler) -> None:
        self.readers[fd] = handler
        self._set_mask(fd, self.masks.get(fd, 0) | READABLE)

    def remove_reader(self, fd: int) -> None:
        if self.readers.pop(fd, None) is not None:
            self._set_mask(fd, self.masks.get(fd, 0) & ~READABLE)

    def add_writer(self, fd: int, handler: Handler) -> None:
        self.writers[fd] = handler
        self._set_mask(fd, self.masks.get(fd, 0) | WRITABLE)

    def remove_writer(self, fd: int) -> None:
        if self.writers.pop(fd, None) is not None:
            self._set_mask(fd, self.masks.get(fd, 0) & ~WRITABLE)

    def remove_fd(self, fd: int) -> None:
        self.readers.pop(fd, None)
        self.writers.pop(fd, None)
        if fd in self.masks:
            self._set_mask(fd, 0)

    # -- time events --------------------------------------------------------
    def add_timer(self, delay_ms: float, proc: Callable[[], int]) -> int:
        self._next_timer_id += 1
        ev = _TimeEvent(self._next_timer_id, time.monotonic() + delay_ms / 1000.0, proc)
        heapq.heappush(self._timers, ev)
        self._timer_by_id[ev.id] = ev
        self.next_timer_at = self._timers[0].when
        return ev.id

    def cancel_timer(self, ev_id: int) -> None:
        ev = self._timer_by_id.pop(ev_id, None)
        if ev is not None:
            ev.cancelled = True

    def _process_timers(self) -> None:
        now = time.monotonic()
        timers = self._timers
        while timers and timers[0].when <= now:
            ev = heapq.heappop(timers)
            if ev.cancelled:
                continue
            again = ev.proc()
            if again == NOMORE or ev.cancelled:
                self._timer_by_id.pop(ev.id, None)
            else:
                ev.when = time.monotonic() + again / 1000.0
                heapq.heappush(timers, ev)
        self.next_timer_at = timers[0].when if timers else _INF

    # -- cross-thread wakeup --------------------------------------------------
    def wake(self) -> None:
        """Safe from any thread: makes the next poll return at once."""
        try:
            os.write(self._wake_w, b"x")
        except BlockingIOError:
            pass

    def _drain_wakeup(self, fd: int) -> None:
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass
        for handler in self.wakeup_handlers:
            handler()

    # -- the loop -------------------------------------------------------------
    def process_events(self, dont_wait: bool = False, timers: bool = True) -> None:
        """One pass: beforeSleep, poll, file events, due timers.  ``timers``
        False is Redis's processEventsWhileBlocked (file events only, used
        while loading a dataset or running a long script).  The nearest
        timer's deadline is kept in ``next_timer_at`` (one clock read before
        the poll, one after the events), and the handlers are found through
        the attributes directly: with one or two ready fds a pass (shape c)
        costs less than copying them into locals."""
        if self.before_sleep is not None:
            self.before_sleep()
        if dont_wait:
            timeout = 0.0
        else:
            timeout = self.next_timer_at - _monotonic()
            if timeout < 0.0:
                timeout = 0.0
            elif timeout == _INF:
                timeout = -1
        try:
            ready = self.poll(timeout)
        except InterruptedError:
            ready = []
        if self.after_sleep is not None:
            self.after_sleep()
        if self.barrier:
            for fd, ev in ready:
                if ev & self.write_bits:
                    h = self.writers.get(fd)
                    if h is not None:
                        h(fd)
                if ev & self.read_bits:
                    h = self.readers.get(fd)
                    if h is not None:
                        h(fd)
        else:
            for fd, ev in ready:
                # Like Redis (without AE_BARRIER) fire readable first, then
                # writable; a handler may have closed the fd in between.
                if ev & self.read_bits:
                    h = self.readers.get(fd)
                    if h is not None:
                        h(fd)
                if ev & self.write_bits:
                    h = self.writers.get(fd)
                    if h is not None:
                        h(fd)
        if timers and self.next_timer_at <= _monotonic():
            self._process_timers()

    def run(self) -> None:
        while not self.stopped:
            self.process_events()

    def stop(self) -> None:
        self.stopped = True
        self.wake()

    def close(self) -> None:
        self.backend.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
