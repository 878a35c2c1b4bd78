"""The keyspace: one ``Db`` per logical database (Redis's ``db.c``).

A ``Db`` holds two hash tables (``hashtable.HashTable``, with incremental
rehashing): ``keys`` maps key -> stored value (see ``objects`` for how values
and their LRU/LFU field are stored) and ``expires`` maps key -> absolute unix
time in milliseconds, only for keys with a TTL, as Redis's ``db->expires``.

Every command reaches values through the lookups here, never through the
tables directly, because a lookup is where three of Redis's behaviours live:

* lazy expiry: a key whose time has passed is deleted when touched
  (``expire_if_needed``), on a master; a replica only pretends it is gone;
* the LRU/LFU field is refreshed (unless the client set CLIENT NO-TOUCH or the
  lookup is a "no touch" one such as TYPE or OBJECT);
* keyspace hits and misses are counted for INFO.

Writes go through ``add``/``overwrite``/``set_key``/``delete`` so that the
hooks other subsystems need run in one place: WATCH and client-side caching
invalidation (``signal_modified_key``), readiness of keys that blocked
clients wait on, and (under ``lazyfree-lazy-server-del``) handing the
replaced value of an overwrite to the lazyfree module.

The hot path (GET/SET on a table that is not rehashing) inlines the bucket
lookup rather than calling ``HashTable`` methods: one method call less per
request, measured at about 6% of GET's server CPU pipelined.
"""
from __future__ import annotations

from typing import Any, Callable

from omakase.hashtable import HashTable
from omakase.objects import RawString, TRAILER


class Db:
    __slots__ = ("id", "keys", "expires", "server", "avg_ttl",
                 "expires_cursor", "blocking_keys", "watched_keys", "tracking_hook")

    def __init__(self, db_id: int, server: Any) -> None:
        self.id = db_id
        self.keys = HashTable()
        self.expires = HashTable()
        self.server = server
        self.avg_ttl = 0
        self.expires_cursor = 0
        # key -> list of blocked clients (filled by the blocking module)
        self.blocking_keys: dict[bytes, list] = {}
        # key -> list of clients WATCHing it (filled by the multi module)
        self.watched_keys: dict[bytes, list] = {}
        # key -> None: client-side caching invalidation (tracking module,
        # set on every db once a client has enabled CLIENT TRACKING)
        self.tracking_hook: Callable[[bytes], None] | None = None

    def __len__(self) -> int:
        return self.keys.used

    # -- lookups --------------------------------------------------------------
    def _find(self, key: bytes):
        ht = self.keys
        if ht.rehashidx < 0:
            return ht.t0[hash(key) & ht.mask0].get(key)
        return ht.get(key)

    def lookup(self, key: bytes, touch: bool = True, stats: bool = True):
        """lookupKey: the value or None, with lazy expiry and LRU touch."""
        ht = self.keys
        if ht.rehashidx < 0:
            b = ht.t0[hash(key) & ht.mask0]
        else:
            b = ht.bucket_for(key)
        v = b.get(key)
        server = self.server
        if v is None:
            if stats:
                server.stat_keyspace_misses += 1
            return None
        if self.expires.used:
            # key_is_expired inline for the common answers (no TTL, or a TTL
            # in the future); expire_if_needed decides the rest.
            ex = self.expires
            when = ex.t0[hash(key) & ex.mask0].get(key) if ex.rehashidx < 0 else ex.get(key)
            if when is not None and server.expire_now_ms() > when \
                    and self.expire_if_needed(key):
                if stats:
                    server.stat_keyspace_misses += 1
                return None
        if stats:
            server.stat_keyspace_hits += 1
        if touch and not server.no_touch:
            if v.__class__ is bytes:
                if server.lfu:
                    v = self._touch_lfu_bytes(b, key, v)
                elif not v.endswith(server.lru_trailer):
                    v = v[:-3] + server.lru_trailer
                    b[key] = v
            elif server.lfu:
                v.lru = server.lfu_touch(v.lru)
            else:
                v.lru = server.lru_clock
        return v

    def _touch_lfu_bytes(self, bucket: dict, key: bytes, v: bytes) -> bytes:
        old = int.from_bytes(v[-3:], "little")
        new = self.server.lfu_touch(old)
        if new != old:
            v = v[:-3] + new.to_bytes(3, "little")
            bucket[key] = v
        return v

    def lookup_read(self, key: bytes):
        return self.lookup(key)

    def lookup_write(self, key: bytes):
        return self.lookup(key, stats=False)

    def exists(self, key: bytes) -> bool:
        return self.lookup(key, touch=False, stats=False) is not None

    def peek(self, key: bytes):
        """The stored value without expiry, touch or stats (internal use)."""
        return self._find(key)

    # -- writes ---------------------------------------------------------------
    def add(self, key: bytes, value: Any) -> None:
        """dbAdd: the key must not exist."""
        self.keys.add(key, value)
        if self.blocking_keys and key in self.blocking_keys:
            self.server.signal_key_as_ready(self, key)

    def overwrite(self, key: bytes, value: Any) -> None:
        """dbOverwrite: replace the value, keep the TTL."""
        if self.server.lazyfree_server_del:
            self._overwrite_lazy(key, value)
        else:
            self.keys.set(key, value)
        if self.blocking_keys and key in self.blocking_keys:
            # signalDeletedKeyAsReady: XREADGROUP waiters learn the stream went.
            self.server.signal_key_as_ready(self, key)

    def set_key(self, key: bytes, value: Any, keepttl: bool = False,
                signal: bool = True) -> None:
        """setKey: add or overwrite; drop the TTL unless keepttl."""
        if self.server.lazyfree_server_del:
            added = self._overwrite_lazy(key, value)
        else:
            added = self.keys.set(key, value)
        if added:
            if self.blocking_keys and key in self.blocking_keys:
                self.server.signal_key_as_ready(self, key)
        else:
            if self.blocking_keys and key in self.blocking_keys:
                # signalDeletedKeyAsReady (overwritten stream, see delete()).
                self.server.signal_key_as_ready(self, key)
            if not keepttl and self.expires.used:
                self.expires.pop(key)
        if signal:
            if self.watched_keys:
                self.server.touch_watched_key(self, key)
            if self.tracking_hook is not None:
                self.tracking_hook(key)

    def _overwrite_lazy(self, key: bytes, value: Any) -> bool:
        """keys.set under lazyfree-lazy-server-del: the replaced value goes
        to the lazyfree hook (dbOverwrite's freeObjAsync).  True if new."""
        old = self._find(key)
        added = self.keys.set(key, value)
        if old is not None and old is not value:
            self.server.lazyfree_hook(old)
        return added

    def delete(self, key: bytes) -> bool:
        """dbSyncDelete (dbAsyncDelete lives in lazyfree)."""
        if self.keys.pop(key) is None:
            return False
        if self.expires.used:
            self.expires.pop(key)
        if self.blocking_keys and key in self.blocking_keys:
            # signalDeletedKeyAsReady: blocked XREADGROUP clients get an error.
            self.server.signal_key_as_ready(self, key)
        return True

    def signal_modified_key(self, key: bytes) -> None:
        if self.watched_keys:
            self.server.touch_watched_key(self, key)
        if self.tracking_hook is not None:
            self.tracking_hook(key)

    def flush(self) -> int:
        n = self.keys.used
        self.keys = HashTable()
        self.expires = HashTable()
        self.avg_ttl = 0
        self.expires_cursor = 0
        return n

    # -- expiry ---------------------------------------------------------------
    def get_expire(self, key: bytes) -> int:
        """Absolute expire time in ms, or -1."""
        if not self.expires.used:
            return -1
        when = self.expires.get(key)
        return -1 if when is None else when

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires.set(key, when_ms)

    def remove_expire(self, key: bytes) -> bool:
        return self.expires.pop(key) is not None

    def key_is_expired(self, key: bytes) -> bool:
        when = self.expires.get(key)
        if when is None:
            return False
        server = self.server
        if server.loading:
            return False
        return server.expire_now_ms() > when    # keyIsExpired: now > when

    def expire_if_needed(self, key: bytes) -> bool:
        """True if the key is (logically) expired; deletes it on a master."""
        if not self.key_is_expired(key):
            return False
        server = self.server
        if server.is_replica_of_master():
            return True
        if server.expire_paused():
            return True
        server.delete_expired_key(self, key)
        return True

    # -- whole-keyspace helpers -------------------------------------------------
    def random_key(self) -> bytes | None:
        """RANDOMKEY: sample, skipping expired keys (bounded tries)."""
        tries = 0
        while True:
            item = self.keys.random_item()
            if item is None:
                return None
            key = item[0]
            if self.expires.used and self.key_is_expired(key):
                tries += 1
                if self.server.is_replica_of_master() and tries > 100 \
                        and self.expires.used == self.keys.used:
                    return key
                self.expire_if_needed(key)
                continue
            return key

    def scan(self, cursor: int, fn: Callable[[bytes, Any], None]) -> int:
        return self.keys.scan(cursor, fn)


def new_string(server: Any, body: bytes) -> bytes:
    """A string value ready to store: body plus the current LRU/LFU field."""
    return body + server.new_object_trailer


def stored_string_mutable(value: Any, server: Any) -> RawString:
    """Turn a stored string into its in-place form (raw encoding)."""
    if value.__class__ is RawString:
        return value
    return RawString(bytearray(value[:-TRAILER]), int.from_bytes(value[-TRAILER:], "little"))
