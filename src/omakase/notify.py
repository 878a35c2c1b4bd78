"""Keyspace event notifications (Redis's ``notify.c``).

Commands call ``server.notify(type_flag, event, key, dbid)`` with one of the
``NOTIFY_*`` classes below (the values of Redis's ``server.h``, identical to
``config.KeyspaceEvents``).  ``install`` sets ``server.notify_hook`` to a
closure that mirrors ``notifyKeyspaceEvent`` -- only while
``notify-keyspace-events`` enables something; otherwise the hook is None and
hot commands skip the call:

* nothing happens unless the class is enabled in ``notify-keyspace-events``
  (``server.config.notify_keyspace_events``, an int bitmask);
* with ``K``: PUBLISH ``__keyspace@<db>__:<key>`` -> ``<event>``;
* with ``E``: PUBLISH ``__keyevent@<db>__:<event>`` -> ``<key>``;

both through ``PubSub.publish`` (``commands/pubsub.py``), so pattern
subscribers get them too.  The hook returns at once when nobody is
subscribed to anything, which cannot change what any client observes.

DIVERGENCE: there are no modules, so ``moduleNotifyKeyspaceEvent`` has no
equivalent.
"""
from __future__ import annotations

from typing import Any

NOTIFY_KEYSPACE = 1 << 0    # K
NOTIFY_KEYEVENT = 1 << 1    # E
NOTIFY_GENERIC = 1 << 2     # g
NOTIFY_STRING = 1 << 3      # $
NOTIFY_LIST = 1 << 4        # l
NOTIFY_SET = 1 << 5         # s
NOTIFY_HASH = 1 << 6        # h
NOTIFY_ZSET = 1 << 7        # z
NOTIFY_EXPIRED = 1 << 8     # x
NOTIFY_EVICTED = 1 << 9     # e
NOTIFY_STREAM = 1 << 10     # t
NOTIFY_KEY_MISS = 1 << 11   # m
NOTIFY_LOADED = 1 << 12     # module only
NOTIFY_MODULE = 1 << 13     # d
NOTIFY_NEW = 1 << 14        # n
NOTIFY_ALL = (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH
              | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)


def install(server: Any) -> None:
    """Install the notify hook; needs ``server.pubsub`` (commands/pubsub.py)."""
    config = server.config
    pubsub = server.pubsub
    channels = pubsub.channels
    patterns = pubsub.patterns
    publish = pubsub.publish
    event_bytes: dict[str, bytes] = {}

    def notify_keyspace_event(type_flag: int, event: str | bytes, key: bytes,
                              dbid: int) -> None:
        flags = config.notify_keyspace_events
        if not flags & type_flag or not (channels or patterns):
            return
        ev = event_bytes.get(event)
        if ev is None:
            ev = event.encode() if isinstance(event, str) else bytes(event)
            if len(event_bytes) < 256:
                event_bytes[event] = ev
        if flags & NOTIFY_KEYSPACE:
            publish(b"__keyspace@%d__:%b" % (dbid, key), ev)
        if flags & NOTIFY_KEYEVENT:
            publish(b"__keyevent@%d__:%b" % (dbid, ev), bytes(key))

    def refresh(*_: Any) -> None:
        # No hook at all while notify-keyspace-events enables no class (the
        # default): a write then skips a Python call per key.  A hook put
        # in place by someone else (tests record every event) is kept.
        if server.notify_hook not in (None, notify_keyspace_event):
            return
        flags = config.notify_keyspace_events
        on = flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT) and flags & ~(
            NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)
        server.notify_hook = notify_keyspace_event if on else None

    server.notify_hook = None
    refresh()
    if hasattr(config, "add_listener"):
        config.add_listener("notify-keyspace-events", refresh)
