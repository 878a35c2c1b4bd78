"""Generic keyspace commands (Redis's ``db.c`` and a few of ``server.c``).

DEL UNLINK EXISTS TYPE RENAME RENAMENX MOVE COPY SWAPDB TOUCH DBSIZE FLUSHDB
FLUSHALL KEYS SCAN RANDOMKEY TIME LOLWUT, and the SCAN machinery shared with
SSCAN/HSCAN/ZSCAN.

Every handler has the shape of its Redis counterpart (``delGenericCommand``,
``renameGenericCommand``, ``moveCommand``, ``copyCommand``...): validate all
arguments first, look keys up with the lookup flavour Redis uses (write
lookups for the keys a command changes, no-touch lookups for TYPE/EXISTS),
change the keyspace, then ``signal_modified_key`` (WATCH), a keyspace
notification with Redis's event name, ``server.dirty`` and the reply.

Lookup flavours, as in Redis 7.0:

* EXISTS, TYPE, SCAN's TYPE filter: ``lookupKeyReadWithFlags(NOTOUCH)`` --
  keyspace hits/misses are counted but the LRU/LFU field is left alone:
  ``db.lookup(key, touch=False)``.
* TOUCH, COPY's source: ``lookupKeyRead`` -- ``db.lookup_read``.
* DEL, RENAME, MOVE, COPY's destination: ``lookupKeyWrite`` / expireIfNeeded.

Freeing values
--------------
Redis frees big values in a background thread (``lazyfree.c``) for UNLINK,
FLUSH* ASYNC and when the ``lazyfree-lazy-*`` options say so.  Every place
that drops a value here goes through ``free_value_maybe_async(server, v)``
(and ``free_db_tables_maybe_async`` for a whole flushed keyspace), which call
the hooks ``omakase.lazyfree`` installs (``server.lazyfree_hook`` /
``server.lazyfree_tables_hook``): big values go to the background thread,
small ones are freed when the caller drops its reference.

SCAN helpers (for SSCAN / HSCAN / ZSCAN)
----------------------------------------
``parse_scan_cursor(c, raw)`` -> int or None (replied "invalid cursor"):
Redis's ``parseScanCursorOrReply``, i.e. ``strtoul`` base 10: optional sign
(a negative cursor wraps modulo 2**64), no leading space, no trailing junk,
the empty string is cursor 0, overflow is an error.

``scan_generic(c, obj, cursor, argv, first_opt)``: Redis's
``scanGenericCommand``.  ``obj`` is ``None`` to scan ``c.db``; otherwise a
collection value providing

* ``obj.scan(cursor: int, emit: Callable[[bytes, bytes | None], None]) -> int``
  -- one ``dictScan`` step for a hash-table encoding (calling
  ``emit(member, value)`` for every entry of the visited bucket(s) and
  returning the next cursor), or, for a compact encoding (listpack, intset),
  every element at once and the cursor 0.  ``value`` is the reply-ready bytes
  (hash field value, zset score formatted as Redis's ``ld2string``), or
  ``None`` for sets;
* a class attribute ``scan_pairs``: True when the reply carries
  member/value pairs (hash, zset), False for sets.

Options (``COUNT n``, ``MATCH pattern`` and, for the keyspace only,
``TYPE name``) are parsed from ``argv[first_opt:]`` by
``parse_scan_options`` with Redis's errors (COUNT not an integer:
"value is not an integer or out of range"; COUNT < 1, unknown option or a
missing value: "syntax error").  MATCH filters on the member only.

``scan_collection_command(c, argv, type_name)`` is a whole SSCAN/HSCAN/ZSCAN:
cursor parse (first), lookup (a missing key replies an empty scan without
looking at the options), type check, ``scan_generic``.

DIVERGENCE: omakase's hash table keeps ~64 keys per bucket (see
``hashtable``), so one SCAN step returns a bucket's worth of keys and the
cursors are bucket indexes of a smaller table than Redis's: the numbers
differ from Redis's, the guarantees (every key present for the whole
iteration is returned, cursor 0 ends) are the same.
"""
from __future__ import annotations

import math
import random
import time
from typing import Any

from omakase import replies
from omakase.commands.registry import command
from omakase.keyspace import Db
from omakase.objects import RawString, TRAILER, type_name
from omakase.util import glob_matcher, parse_ll

# Keyspace notification classes (server.h NOTIFY_*), same bits as config.py.
NOTIFY_GENERIC = 1 << 2

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1
ULONG_MAX = 2**64 - 1

EMPTY_SCAN = b"*2\r\n$1\r\n0\r\n*0\r\n"
_SPACES = b" \t\n\v\f\r"


# ---------------------------------------------------------------------------
# Freeing hooks (lazyfree.c)
# ---------------------------------------------------------------------------
def free_value_maybe_async(server: Any, value: Any) -> None:
    """freeObjAsync's entry point: hand a detached value to a background
    freer when it is big enough to be worth it (see omakase.lazyfree);
    otherwise the caller drops its reference and CPython frees it."""
    hook = getattr(server, "lazyfree_hook", None)
    if hook is not None:
        hook(value)


def free_db_tables_maybe_async(server: Any, keys: Any, expires: Any) -> None:
    """emptyDbAsync's entry point for the detached tables of a flushed db."""
    hook = getattr(server, "lazyfree_tables_hook", None)
    if hook is not None:
        hook(keys, expires)


def db_delete(db: Db, key: bytes, lazy: bool) -> bool:
    """dbGenericDelete: remove key (and its TTL); lazy hands the value to
    the lazyfree hook.  No notification, no WATCH signal (the caller's)."""
    if not lazy:
        return db.delete(key)
    value = db.peek(key)
    if value is None:
        return False
    db.delete(key)
    free_value_maybe_async(db.server, value)
    return True


def get_int_or_reply(c: Any, raw: bytes, msg: str | None = None) -> int | None:
    """getIntFromObjectOrReply: a 32-bit signed integer, else an error
    (Redis's getRangeLongFromObjectOrReply wording for out of range)."""
    ok, n = parse_ll(raw)
    if not ok:
        c.add_reply_error(msg or replies.NOT_INTEGER)
        return None
    if not INT_MIN <= n <= INT_MAX:
        c.add_reply_error(msg or "value is out of range, value must between %d and %d"
                          % (INT_MIN, INT_MAX))
        return None
    return n


def get_long_or_reply(c: Any, raw: bytes, msg: str | None = None) -> int | None:
    """getLongFromObjectOrReply (64-bit long)."""
    ok, n = parse_ll(raw)
    if not ok:
        c.add_reply_error(msg or replies.NOT_INTEGER)
        return None
    return n


def touch_all_watched_keys_in_db(server: Any, emptied: Db, replaced_with: Db | None) -> None:
    """touchAllWatchedKeysInDb: a flush or swap invalidates WATCHes on keys
    that existed in the emptied db (or exist in the db that replaces it)."""
    if not emptied.watched_keys:
        return
    for key in list(emptied.watched_keys):
        if key in emptied.keys or (replaced_with is not None and key in replaced_with.keys):
            server.touch_watched_key(emptied, key)


def scan_database_for_ready_keys(server: Any, db: Db) -> None:
    """scanDatabaseForReadyKeys: after SWAPDB, keys that blocked clients of
    this db wait on may now exist."""
    if not db.blocking_keys:
        return
    for key in list(db.blocking_keys):
        if key in db.keys:
            server.signal_key_as_ready(db, key)


def _select_db(c: Any, dbid: int) -> Db | None:
    dbs = c.server.dbs
    if 0 <= dbid < len(dbs):
        return dbs[dbid]
    return None


def _cluster_enabled(server: Any) -> bool:
    return bool(getattr(server.config, "cluster_enabled", False))


# ---------------------------------------------------------------------------
# DEL / UNLINK / EXISTS / TYPE / TOUCH / DBSIZE
# ---------------------------------------------------------------------------
def del_generic(c: Any, argv: list[bytes], lazy: bool) -> None:
    db = c.db
    server = c.server
    deleted = 0
    for key in argv[1:]:
        if db.expires.used:
            db.expire_if_needed(key)
        if db_delete(db, key, lazy):
            db.signal_modified_key(key)
            server.notify(NOTIFY_GENERIC, "del", key, db.id)
            server.dirty += 1
            deleted += 1
    c.add_reply_int(deleted)


@command("del")
def del_command(c: Any, argv: list[bytes]) -> None:
    del_generic(c, argv, c.server.config.lazyfree_lazy_user_del)


@command("unlink")
def unlink_command(c: Any, argv: list[bytes]) -> None:
    del_generic(c, argv, True)


@command("exists")
def exists_command(c: Any, argv: list[bytes]) -> None:
    lookup = c.db.lookup
    count = 0
    for key in argv[1:]:
        if lookup(key, touch=False) is not None:
            count += 1
    c.add_reply_int(count)


@command("type")
def type_command(c: Any, argv: list[bytes]) -> None:
    v = c.db.lookup(argv[1], touch=False)
    c.add_reply_status("none" if v is None else type_name(v))


@command("touch")
def touch_command(c: Any, argv: list[bytes]) -> None:
    lookup = c.db.lookup_read
    touched = 0
    for key in argv[1:]:
        if lookup(key) is not None:
            touched += 1
    c.add_reply_int(touched)


@command("dbsize")
def dbsize_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_int(len(c.db))


# ---------------------------------------------------------------------------
# RENAME / RENAMENX / MOVE / COPY
# ---------------------------------------------------------------------------
def rename_generic(c: Any, argv: list[bytes], nx: bool) -> None:
    db = c.db
    server = c.server
    src, dst = argv[1], argv[2]
    value = db.lookup_write(src)
    if value is None:
        c.add_reply_error(replies.NO_SUCH_KEY)
        return
    if src == dst:
        if nx:
            c.add_reply_int(0)
        else:
            c.add_reply_ok()
        return
    expire = db.get_expire(src)
    if db.lookup_write(dst) is not None:
        if nx:
            c.add_reply_int(0)
            return
        db_delete(db, dst, server.config.lazyfree_lazy_server_del)
    db.add(dst, value)
    if expire != -1:
        db.set_expire(dst, expire)
    db.delete(src)
    db.signal_modified_key(src)
    db.signal_modified_key(dst)
    server.notify(NOTIFY_GENERIC, "rename_from", src, db.id)
    server.notify(NOTIFY_GENERIC, "rename_to", dst, db.id)
    server.dirty += 1
    if nx:
        c.add_reply_int(1)
    else:
        c.add_reply_ok()


@command("rename")
def rename_command(c: Any, argv: list[bytes]) -> None:
    rename_generic(c, argv, False)


@command("renamenx")
def renamenx_command(c: Any, argv: list[bytes]) -> None:
    rename_generic(c, argv, True)


@command("move")
def move_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    if _cluster_enabled(server):
        c.add_reply_error("MOVE is not allowed in cluster mode")
        return
    src = c.db
    dbid = get_int_or_reply(c, argv[2])
    if dbid is None:
        return
    dst = _select_db(c, dbid)
    if dst is None:
        c.add_reply_error(replies.DB_INDEX)
        return
    if dst is src:
        c.add_reply_error(replies.SAME_OBJECT)
        return
    key = argv[1]
    value = src.lookup_write(key)
    if value is None:
        c.add_reply_int(0)
        return
    expire = src.get_expire(key)
    if dst.lookup_write(key) is not None:
        c.add_reply_int(0)
        return
    dst.add(key, value)
    if expire != -1:
        dst.set_expire(key, expire)
    src.delete(key)
    src.signal_modified_key(key)
    dst.signal_modified_key(key)
    server.notify(NOTIFY_GENERIC, "move_from", key, src.id)
    server.notify(NOTIFY_GENERIC, "move_to", key, dst.id)
    server.dirty += 1
    c.add_reply_int(1)


def copy_value(server: Any, value: Any) -> Any:
    """A new value equal to `value` (Redis's dup*Object), with a fresh
    LRU/LFU field as a newly created object has.  Strings keep their
    encoding (a RawString stays raw); other types implement ``copy()``."""
    trailer = server.new_object_trailer
    cls = value.__class__
    if cls is bytes:
        if value.endswith(trailer):
            return value            # immutable: the stored bytes are shared
        return value[:-TRAILER] + trailer
    lru = int.from_bytes(trailer, "little")
    if cls is RawString:
        return RawString(bytearray(value.buf), lru)
    new = value.copy()
    new.lru = lru
    return new


@command("copy")
def copy_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    src = dst = c.db
    replace = False
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and j + 1 < n:
            dbid = get_int_or_reply(c, argv[j + 1])
            if dbid is None:
                return
            dst = _select_db(c, dbid)
            if dst is None:
                c.add_reply_error(replies.DB_INDEX)
                return
            j += 1
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    if _cluster_enabled(server) and (src.id != 0 or dst.id != 0):
        c.add_reply_error("Copying to another database is not allowed in cluster mode")
        return
    key, newkey = argv[1], argv[2]
    if src is dst and key == newkey:
        c.add_reply_error(replies.SAME_OBJECT)
        return
    value = src.lookup_read(key)
    if value is None:
        c.add_reply_int(0)
        return
    expire = src.get_expire(key)
    delete = False
    if dst.lookup_write(newkey) is not None:
        if not replace:
            c.add_reply_int(0)
            return
        delete = True
    newvalue = copy_value(server, value)
    if delete:
        db_delete(dst, newkey, server.config.lazyfree_lazy_server_del)
    dst.add(newkey, newvalue)
    if expire != -1:
        dst.set_expire(newkey, expire)
    dst.signal_modified_key(newkey)
    server.notify(NOTIFY_GENERIC, "copy_to", newkey, dst.id)
    server.dirty += 1
    c.add_reply_int(1)


# ---------------------------------------------------------------------------
# SWAPDB / FLUSHDB / FLUSHALL
# ---------------------------------------------------------------------------
def swap_databases(server: Any, id1: int, id2: int) -> bool:
    """dbSwapDatabases: swap contents; clients stay in their db number,
    blocked/watched keys stay with the db number too."""
    n = len(server.dbs)
    if not (0 <= id1 < n and 0 <= id2 < n):
        return False
    if id1 == id2:
        return True
    db1, db2 = server.dbs[id1], server.dbs[id2]
    touch_all_watched_keys_in_db(server, db1, db2)
    touch_all_watched_keys_in_db(server, db2, db1)
    db1.keys, db2.keys = db2.keys, db1.keys
    db1.expires, db2.expires = db2.expires, db1.expires
    db1.avg_ttl, db2.avg_ttl = db2.avg_ttl, db1.avg_ttl
    db1.expires_cursor, db2.expires_cursor = db2.expires_cursor, db1.expires_cursor
    scan_database_for_ready_keys(server, db1)
    scan_database_for_ready_keys(server, db2)
    return True


@command("swapdb")
def swapdb_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    if _cluster_enabled(server):
        c.add_reply_error("SWAPDB is not allowed in cluster mode")
        return
    id1 = get_int_or_reply(c, argv[1], "invalid first DB index")
    if id1 is None:
        return
    id2 = get_int_or_reply(c, argv[2], "invalid second DB index")
    if id2 is None:
        return
    if not swap_databases(server, id1, id2):
        c.add_reply_error(replies.DB_INDEX)
        return
    server.dirty += 1
    c.add_reply_ok()


def _flush_flags(c: Any, argv: list[bytes]) -> bool | None:
    """getFlushCommandFlags: True for ASYNC, False for SYNC, None on error."""
    if len(argv) == 1:
        return bool(c.server.config.lazyfree_lazy_user_flush)
    if len(argv) == 2:
        opt = argv[1].lower()
        if opt == b"sync":
            return False
        if opt == b"async":
            return True
    c.add_reply_error(replies.SYNTAX)
    return None


def empty_db(server: Any, db: Db, lazy: bool) -> int:
    """One db of emptyData: invalidate WATCHes, drop the tables."""
    touch_all_watched_keys_in_db(server, db, None)
    keys, expires = db.keys, db.expires
    removed = db.flush()
    if lazy:
        free_db_tables_maybe_async(server, keys, expires)
    return removed


def empty_data(server: Any, dbnum: int, lazy: bool) -> int:
    """emptyData(dbnum or -1 for all): the number of keys removed."""
    dbs = server.dbs if dbnum == -1 else [server.dbs[dbnum]]
    tracking = getattr(server, "tracking", None)
    if tracking is not None:    # signalFlushedDb: client-side caches drop all
        tracking.invalidate_on_flush()
    removed = 0
    for db in dbs:
        removed += empty_db(server, db, lazy)
    return removed


def _force_propagation(c: Any, argv: list[bytes], dirty_before: int) -> None:
    """forceCommandPropagation: FLUSH* reach AOF/replicas even when nothing
    was removed (call() only propagates when server.dirty moved)."""
    server = c.server
    if server.dirty == dirty_before:
        server.also_propagate(c.db.id, argv)


@command("flushdb")
def flushdb_command(c: Any, argv: list[bytes]) -> None:
    lazy = _flush_flags(c, argv)
    if lazy is None:
        return
    server = c.server
    before = server.dirty
    server.dirty += empty_data(server, c.db.id, lazy)
    _force_propagation(c, argv, before)
    c.add_reply_ok()


def after_flushall(server: Any) -> None:
    """flushAllDataAndResetRDB's persistence step: kill an RDB child and,
    when save points are configured, save an (empty) RDB right away.
    The persistence module installs ``server.flushall_hook`` (no argument);
    rdbSave resets server.dirty, Redis restores it so FLUSHALL still
    propagates, and so do we."""
    hook = getattr(server, "flushall_hook", None)
    if hook is None:
        return
    saved_dirty = server.dirty
    hook()
    server.dirty = saved_dirty


@command("flushall")
def flushall_command(c: Any, argv: list[bytes]) -> None:
    lazy = _flush_flags(c, argv)
    if lazy is None:
        return
    server = c.server
    before = server.dirty
    server.dirty += empty_data(server, -1, lazy)
    after_flushall(server)
    _force_propagation(c, argv, before)
    c.add_reply_ok()


# ---------------------------------------------------------------------------
# KEYS / RANDOMKEY
# ---------------------------------------------------------------------------
@command("keys")
def keys_command(c: Any, argv: list[bytes]) -> None:
    db = c.db
    pattern = argv[1]
    allkeys = pattern == b"*"
    if allkeys:
        keys = db.keys.key_list()
    else:
        keys = list(filter(glob_matcher(pattern), db.keys.key_list()))
    if db.expires.used and keys:
        expired = db.key_is_expired
        keys = [k for k in keys if not expired(k)]
    c.add_reply_bulks(keys)


@command("randomkey")
def randomkey_command(c: Any, argv: list[bytes]) -> None:
    key = c.db.random_key()
    if key is None:
        c.add_reply_null()
    else:
        c.add_reply_bulk(key)


# ---------------------------------------------------------------------------
# SCAN and the helpers SSCAN/HSCAN/ZSCAN share
# ---------------------------------------------------------------------------
def parse_scan_cursor(c: Any, raw: bytes) -> int | None:
    """parseScanCursorOrReply (strtoul base 10, see module docstring)."""
    s = raw
    if s and s[0] in _SPACES:
        c.add_reply_error("invalid cursor")
        return None
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
        if not s:
            c.add_reply_error("invalid cursor")
            return None
    elif not s:
        return 0
    if not s.isdigit():
        c.add_reply_error("invalid cursor")
        return None
    v = int(s)
    if v > ULONG_MAX:
        c.add_reply_error("invalid cursor")
        return None
    if neg:
        v = (-v) & ULONG_MAX
    return v


class ScanOptions:
    __slots__ = ("count", "pattern", "typename")

    def __init__(self) -> None:
        self.count = 10
        self.pattern: bytes | None = None     # None: no filtering ("*")
        self.typename: bytes | None = None


def parse_scan_options(c: Any, argv: list[bytes], i: int,
                       allow_type: bool) -> ScanOptions | None:
    """Step 1 of scanGenericCommand: COUNT/MATCH/TYPE from argv[i:]."""
    opts = ScanOptions()
    n = len(argv)
    while i < n:
        left = n - i
        opt = argv[i].lower()
        if opt == b"count" and left >= 2:
            count = get_long_or_reply(c, argv[i + 1])
            if count is None:
                return None
            if count < 1:
                c.add_reply_error(replies.SYNTAX)
                return None
            opts.count = count
        elif opt == b"match" and left >= 2:
            pat = argv[i + 1]
            opts.pattern = None if pat == b"*" else pat
        elif opt == b"type" and allow_type and left >= 2:
            opts.typename = argv[i + 1]
        else:
            c.add_reply_error(replies.SYNTAX)
            return None
        i += 2
    return opts


def _reply_scan(c: Any, cursor: int, items: list[bytes]) -> None:
    c.add_reply_array_len(2)
    c.add_reply_bulk(b"%d" % cursor)
    c.add_reply_bulks(items)


def scan_generic(c: Any, obj: Any, cursor: int, argv: list[bytes], first_opt: int) -> None:
    """scanGenericCommand: obj None scans c.db's keys; else a collection
    value with .scan(cursor, emit) and .scan_pairs (module docstring)."""
    opts = parse_scan_options(c, argv, first_opt, obj is None)
    if opts is None:
        return
    count = opts.count
    pattern = opts.pattern
    if obj is None:
        db = c.db
        keys: list[bytes] = []
        scan_keys = db.keys.scan_keys
        maxiterations = count * 10
        while True:
            cursor = scan_keys(cursor, keys)
            if not cursor or not maxiterations or len(keys) >= count:
                break
            maxiterations -= 1
        if pattern is not None:
            keys = list(filter(glob_matcher(pattern), keys))
        if opts.typename is not None:
            want = opts.typename.lower()
            lookup = db.lookup
            kept = []
            for k in keys:
                v = lookup(k, touch=False)
                if (b"none" if v is None else type_name(v).encode()) == want:
                    kept.append(k)
            keys = kept
        if db.expires.used and keys:
            expire_if_needed = db.expire_if_needed
            keys = [k for k in keys if not expire_if_needed(k)]
        _reply_scan(c, cursor, keys)
        return

    pairs = obj.scan_pairs
    out: list[bytes] = []
    if pairs:
        def emit(member: bytes, value: Any) -> None:
            out.append(member)
            out.append(value)
        limit = count * 2
    else:
        def emit(member: bytes, value: Any) -> None:
            out.append(member)
        limit = count
    maxiterations = count * 10
    while True:
        cursor = obj.scan(cursor, emit)
        if not cursor or not maxiterations or len(out) >= limit:
            break
        maxiterations -= 1
    if pattern is not None:
        if pairs:
            matches = glob_matcher(pattern)
            kept = []
            for member, value in zip(out[::2], out[1::2]):
                if matches(member):
                    kept.append(member)
                    kept.append(value)
            out = kept
        else:
            out = list(filter(glob_matcher(pattern), out))
    _reply_scan(c, cursor, out)


def scan_collection_command(c: Any, argv: list[bytes], type_name_: str) -> None:
    """SSCAN/HSCAN/ZSCAN key cursor [MATCH p] [COUNT n]."""
    cursor = parse_scan_cursor(c, argv[2])
    if cursor is None:
        return
    obj = c.db.lookup_read(argv[1])
    if obj is None:
        c.add_reply(EMPTY_SCAN)
        return
    if type_name(obj) != type_name_:
        c.add_reply_error(replies.WRONGTYPE)
        return
    scan_generic(c, obj, cursor, argv, 3)


@command("scan")
def scan_command(c: Any, argv: list[bytes]) -> None:
    cursor = parse_scan_cursor(c, argv[1])
    if cursor is None:
        return
    scan_generic(c, None, cursor, argv, 2)


# ---------------------------------------------------------------------------
# TIME / LOLWUT
# ---------------------------------------------------------------------------
@command("time")
def time_command(c: Any, argv: list[bytes]) -> None:
    ns = time.time_ns()
    sec, usec = divmod(ns // 1000, 1_000_000)
    c.add_reply_array_len(2)
    c.add_reply_bulk(b"%d" % sec)
    c.add_reply_bulk(b"%d" % usec)


class _Canvas:
    """lolwut.c's canvas: width x height pixels, one small int each."""
    __slots__ = ("width", "height", "pixels")

    def __init__(self, width: int, height: int, bgcolor: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray([bgcolor]) * (width * height)

    def put(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """Bresenham, as lwDrawLine."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.put(x1, y1, color)
            if x1 == x2 and y1 == y2:
                break
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """A square centred on x,y, rotated by angle (lwDrawSquare)."""
        size = _c_round(size / 1.4142135623)
        k = math.pi / 4 + angle
        px, py = [], []
        for _ in range(4):
            px.append(_c_round(math.sin(k) * size + x))
            py.append(_c_round(math.cos(k) * size + y))
            k += math.pi / 2
        for j in range(4):
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)


def _c_round(v: float) -> int:
    """C's round(): halves away from zero."""
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


def _schotter(cols: int, per_row: int, per_col: int, rng: random.Random) -> _Canvas:
    """Georg Nees' Schotter: squares more and more disordered downwards."""
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = (width - padding * 2) / per_row
    height = int(side * per_col + padding * 2)
    canvas = _Canvas(width, height, 0)
    for y in range(per_col):
        for x in range(per_row):
            sx = int(x * side + side / 2 + padding)
            sy = int(y * side + side / 2 + padding)
            angle = 0.0
            if y > 1:
                r1 = rng.random() / per_col * y
                r2 = rng.random() / per_col * y
                r3 = rng.random() / per_col * y
                if rng.getrandbits(1):
                    r1 = -r1
                if rng.getrandbits(1):
                    r2 = -r2
                if rng.getrandbits(1):
                    r3 = -r3
                angle = r1
                sx = int(sx + r2 * side / 3)
                sy = int(sy + r3 * side / 3)
            canvas.square(sx, sy, side, angle, 1)
    return canvas


def _render_braille(canvas: _Canvas) -> bytes:
    """Each 2x4 block of pixels becomes one Braille character (U+2800+)."""
    out = []
    get = canvas.get
    for y in range(0, canvas.height, 4):
        row = []
        for x in range(0, canvas.width, 2):
            bits = (get(x, y) | get(x, y + 1) << 1 | get(x, y + 2) << 2
                    | get(x + 1, y) << 3 | get(x + 1, y + 1) << 4
                    | get(x + 1, y + 2) << 5 | get(x, y + 3) << 6
                    | get(x + 1, y + 3) << 7)
            row.append(chr(0x2800 + bits))
        out.append("".join(row))
        if y != canvas.height - 1:
            out.append("\n")
    return "".join(out).encode()


def _skyscraper(canvas: _Canvas, xoff: int, width: int, height: int,
                windows: bool, color: int, rng: random.Random) -> None:
    starty = canvas.height - 1
    endy = starty - height + 1
    for y in range(starty, endy - 1, -1):
        for x in range(xoff, xoff + width):
            if y == endy and (x <= xoff + 1 or x >= xoff + width - 2):
                continue            # the roof is narrower
            col = color
            if windows and xoff + 1 < x < xoff + width - 2 and endy + 1 < y < starty - 1:
                relx = x - (xoff + 1)
                rely = y - (endy + 1)
                if (relx // 2) % 2 and rely % 2:
                    col = 1 + rng.randrange(2)
                    while col == color:
                        col = 1 + rng.randrange(2)
                    if relx % 2:
                        col = canvas.get(x - 1, y)
            canvas.put(x, y, col)


def _skyline(cols: int, rows: int, rng: random.Random) -> _Canvas:
    """An 8-bit parallax city skyline in four grays (LOLWUT 6)."""
    canvas = _Canvas(cols, rows, 3)
    h = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += rng.randrange(8)
            width = 10 + rng.randrange(9)
            if color == 2:
                height = h // 2 + rng.randrange(h) // 2
            else:
                height = h // 2 + rng.randrange(h) // 3
            _skyscraper(canvas, offset, width, height, False, color, rng)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += rng.randrange(8)
        width = 5 + rng.randrange(14)
        if width % 4:
            width += width % 3
        height = h // 3 + rng.randrange(h) // 2
        _skyscraper(canvas, offset, width, height, True, 0, rng)
        offset += width + 5
    return canvas


_GRAYS = (b"0;30;40m", b"0;90;100m", b"0;37;47m", b"0;97;107m")


def _render_gray(canvas: _Canvas) -> bytes:
    cells = [b"\033[%b \033[0m" % g for g in _GRAYS]
    out = []
    w = canvas.width
    px = canvas.pixels
    for y in range(canvas.height):
        out.append(b"".join(cells[p] if p < 4 else cells[0] for p in px[y * w:(y + 1) * w]))
        if y != canvas.height - 1:
            out.append(b"\n")
    return b"".join(out)


def _clamp(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else hi if v > hi else v


def _lolwut_args(c: Any, args: list[bytes], defaults: list[int]) -> list[int] | None:
    vals = list(defaults)
    for i, raw in enumerate(args[:len(defaults)]):
        v = get_long_or_reply(c, raw)
        if v is None:
            return None
        vals[i] = v
    return vals


@command("lolwut")
def lolwut_command(c: Any, argv: list[bytes]) -> None:
    from omakase.server import REDIS_VERSION
    version = REDIS_VERSION
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        ver = get_long_or_reply(c, argv[2])
        if ver is None:
            return
        version = "%d.0.0" % (ver & 0xFFFFFFFF)
        args = argv[3:]
    major = version.split(".", 1)[0]
    rng = random.Random()
    tail = REDIS_VERSION.encode() + b"\n"
    if major == "5":
        vals = _lolwut_args(c, args, [66, 8, 12])
        if vals is None:
            return
        cols = _clamp(vals[0], 1, 1000)
        per_row = _clamp(vals[1], 1, 200)
        per_col = _clamp(vals[2], 1, 200)
        text = (_render_braille(_schotter(cols, per_row, per_col, rng))
                + b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. " + tail)
    elif major == "6":
        vals = _lolwut_args(c, args, [80, 20])
        if vals is None:
            return
        cols = _clamp(vals[0], 1, 1000)
        rows = _clamp(vals[1], 1, 1000)
        text = (_render_gray(_skyline(cols, rows, rng))
                + b"\nDedicated to the 8 bit game developers of past and present.\n"
                  b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. " + tail)
    else:
        text = b"Redis ver. " + tail
    c.add_reply_verbatim(text, b"txt")
