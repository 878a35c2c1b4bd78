"""What the collection types share: removing members from a collection,
and deleting the destination of a STORE-style command.

HDEL, SREM and ZREM (Redis's hdelCommand, sremCommand, zremCommand) have one
shape: remove each named member, delete the key when the collection becomes
empty, then signal WATCH, raise the type's event (and "del"), and count every
removal as a change.  The type passes its own remove function and event.

A command that stores a computed result (SINTERSTORE and friends,
ZRANGESTORE / ZUNIONSTORE, GEOSEARCHSTORE / GEORADIUS STORE, SORT STORE,
BITOP) deletes its destination when the result is empty: ``dbDelete``, then
``signalModifiedKey``, a "del" event and one change, only when a key went.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

NOTIFY_GENERIC = 1 << 2


def remove_members(c: Any, key: bytes, obj: Any, members: Iterable[bytes],
                   remove: Callable[[Any, bytes], bool], notify_flag: int,
                   event: str) -> int:
    """Remove members from obj (stored at key); returns how many went."""
    db = c.db
    deleted = 0
    key_removed = False
    for member in members:
        if remove(obj, member):
            deleted += 1
            if not len(obj):
                db.delete(key)
                key_removed = True
                break
    if deleted:
        server = c.server
        db.signal_modified_key(key)
        server.notify(notify_flag, event, key, db.id)
        if key_removed:
            server.notify(NOTIFY_GENERIC, "del", key, db.id)
        server.dirty += deleted
    return deleted


def delete_destination(c: Any, key: bytes) -> None:
    """An empty STORE result: delete ``key`` (if present) as a change."""
    db = c.db
    if db.delete(key):
        server = c.server
        db.signal_modified_key(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
        server.dirty += 1
