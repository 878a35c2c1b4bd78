"""Persistence: the dataset on disk, as Redis 7.0 writes and reads it.

* ``rdb.py``      -- the RDB format (version 10): values, whole files, DUMP
  payloads (Redis's ``rdb.c``); pure functions of a server's data.
* ``child.py``    -- forking the one background child and reaping it.
* ``snapshot.py`` -- SAVE, BGSAVE, save points, LASTSAVE, loading at start-up,
  DEBUG RELOAD, SHUTDOWN's final save (the RDB half of ``server.c``).
* ``aof.py``      -- the multi-part append-only file: feeding, fsync
  policies, BGREWRITEAOF, loading (Redis's ``aof.c``).

``install(server)`` wires them into a server (hooks, config listeners); the
server calls it once from its constructor.
"""
from __future__ import annotations

from typing import Any


def install(server: Any) -> None:
    from omakase.persistence import snapshot
    server.child = None
    snapshot.install(server)
    try:
        from omakase.persistence import aof
    except ImportError:   # pragma: no cover - while aof.py does not exist
        return
    aof.install(server)
