"""An omakase Server in the test process, with what it propagates and the
keyspace events it fires captured for assertions (no socket, no AOF).

``InProcess()`` builds a fresh ``Server(Config())`` and one socketless
client.  Calling it with a command's arguments runs that command through
``server.call_from`` (the path a real client's command takes after parsing)
and returns the reply bytes.  Every propagated argv (what AOF and replicas
would be sent) is appended to ``propagated`` and every ``server.notify``
event to ``events``; ``take()`` returns both and starts afresh.

Test files differ only in how much of an event they assert on, so the
constructor takes ``event``, which maps the notify hook's
``(flag, name, key, db)`` to what is recorded (``raw_event``, the default,
keeps the whole tuple; ``flag_name_key``, ``name_key``, ``name_only`` drop
the rest), and ``with_dirty``, which makes ``take()`` also return
``server.dirty``.

``QuietLog`` is a logger that drops everything, for tests that build a
Server themselves and do not want its log lines.
"""
from __future__ import annotations

import pytest


def raw_event(flag, name, key, db):
    return (flag, name, key, db)


def flag_name_key(flag, name, key, db):
    return (flag, name, key)


def name_key(flag, name, key, db):
    return (name, key)


def name_only(flag, name, key, db):
    return name


class QuietLog:
    """A logger whose every method does nothing."""

    def __getattr__(self, name):
        return lambda *a, **k: None


def argv_of(args) -> list[bytes]:
    """Command arguments as bytes (str and int are encoded)."""
    return [a if isinstance(a, bytes) else str(a).encode() for a in args]


class InProcess:
    def __init__(self, event=raw_event, with_dirty: bool = False) -> None:
        from omakase.config import Config
        from omakase.networking import Client
        from omakase.server import Server
        config = Config(chdir=False)
        config.save = []      # no save points: FLUSHALL must not write dump.rdb here
        self.server = Server(config)
        self.client = Client(self.server, None)
        self.with_dirty = with_dirty
        self.propagated: list[list[bytes]] = []
        self.events: list = []
        self.server.propagation_targets.append(
            lambda ops: self.propagated.extend(argv for _db, argv in ops))
        self.server.notify_hook = lambda *ev: self.events.append(event(*ev))

    def __call__(self, *args) -> bytes:
        self.server.call_from(self.client, argv_of(args))
        out = b"".join(self.client.reply)
        self.client.reply = []
        return out

    def take(self):
        """(propagated argvs, events) since the last take, and server.dirty
        too when built ``with_dirty``."""
        p, e = self.propagated, self.events
        self.propagated, self.events = [], []
        if self.with_dirty:
            return p, e, self.server.dirty
        return p, e


def inproc_fixture(**kw):
    """A function-scoped ``inproc`` fixture building ``InProcess(**kw)``."""
    @pytest.fixture
    def inproc():
        return InProcess(**kw)
    return inproc
