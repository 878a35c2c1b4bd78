"""Lists: the list type API and every list command (Redis 7.0's ``t_list.c``).

Encoding
--------
In Redis 7.0 every list is a quicklist (OBJECT ENCODING says ``quicklist``
from the first element on; the listpack-encoded list arrived in 7.2).  A
``ListObject`` holds an ``encodings.quicklist.Quicklist`` in ``ql``: a
sequence of listpack nodes bounded by ``list-max-listpack-size`` (the fill)
with interior nodes LZF-compressed per ``list-compress-depth``.  Both options
are read from the config when the list is created and stay with it, as
``quicklistSetOptions`` in ``pushGenericCommand``/``lmoveHandlePush`` does:
a later CONFIG SET affects new lists only.  RDB saving walks ``ql`` (its
``nodes()``/``rdb_nodes()`` give the listpack blobs); ``ListObject(ql, lru)``
wraps a quicklist built by the loader.

Commands
--------
LPUSH RPUSH LPUSHX RPUSHX LINSERT LLEN LINDEX LSET LRANGE LTRIM LREM LPOS
LPOP RPOP (with count) LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP
BLMOVE BRPOPLPUSH BLMPOP.  Each follows Redis's shape and order of checks
(argument parsing before or after the key lookup exactly where Redis does it,
because the error a client sees depends on it), then the keyspace change,
``signal_modified_key``, the keyspace event (``lpush``, ``rpop``, ``lset``,
``linsert``, ``ltrim``, ``lrem``, ``del`` when the last element goes: empty
lists are never stored), ``server.dirty`` and the reply.

Blocking
--------
The blocking variants first try the non-blocking path; when every key is
missing they park the client with ``blocking.block_for_keys`` and an
``on_ready`` callback that re-runs the pop/move when a key gets elements
(Redis's ``serveClientBlockedOnList``).  Propagation follows Redis:
BLPOP/BRPOP served at once or later go to AOF/replicas as ``LPOP``/``RPOP
key``, BLMPOP and LMPOP as ``LPOP``/``RPOP key count``, BLMOVE as ``LMOVE``
(with ``left``/``right`` spelled as Redis's shared objects when served
later), BRPOPLPUSH as ``RPOPLPUSH``.  Inside MULTI or a script they answer as
on timeout (BLMOVE/BRPOPLPUSH with a null bulk, the others a null array).
Pushing into an existing list that has waiters (possible only in corner cases
such as a key whose type changed while clients waited) signals it ready too;
creating a key goes through ``Db.add``, which does it.

Hot path
--------
LPUSH/RPUSH with one element, LPOP/RPOP without a count and LRANGE are
benchmark commands.  Their handlers (``_make_push``/``_make_pop`` build the
left/right pair from one body) inline what they call per request:

* ``Db.lookup``'s hit case: when the key's table is not rehashing and no key
  has a TTL, the value is read from ``db.keys``' bucket and, if it is a list,
  only the LRU/LFU touch (and for LRANGE the hit count) is left to do; any
  other case (missing key, wrong type, rehashing, TTLs) goes through
  ``db.lookup`` itself, so expiry, stats and touch stay exactly Db's;
* the reply (``INTEGERS``/``BULK_HDR`` appended directly),
  ``signal_modified_key`` (only when WATCH or tracking is on) and
  ``server.notify`` (the hook called directly);
* one quicklist call, whose own fast path edits the end node's listpack
  (see quicklist.py): the push returns the new length for the reply, the
  pop (``pop_head_resp``/``pop_tail_resp``) returns the element already
  encoded as a RESP bulk string, or None for the uncommon cases (another
  encoding, the node's last element), which pop through ``pop_head``/
  ``pop_tail`` and may delete the key;
* the argument count is checked by unpacking ``argv`` (a ValueError sends
  the multi-element/COUNT forms to ``_push_generic``/``_pop_generic``).

LRANGE parses small indexes from a table and replies with the node's cached
RESP encoding (``Quicklist.range_resp``).  The order of reply, events, WATCH
and dirty is Redis's (pushGenericCommand, popGenericCommand +
listElementsRemoved).

DIVERGENCE: none intended for replies or events.  A BLPOP/BRPOP/BLMOVE
served after blocking increments ``server.dirty`` like its immediate form
(Redis's ``serveClientBlockedOnList`` only does for BLMPOP), so
``rdb_changes_since_last_save`` can be higher by the number of such pops.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from omakase import replies
from omakase.blocking import block_for_keys, deny_blocking, parse_timeout
from omakase.commands.registry import command
from omakase.encodings.quicklist import Quicklist
from omakase.replies import BULK_HDR, INTEGERS, MBULK_HDR, WRONGTYPE
from omakase.util import LLONG_MIN, index_span, parse_ll

try:  # the notify module defines these once it exists
    from omakase.notify import NOTIFY_GENERIC, NOTIFY_LIST  # type: ignore
except ImportError:  # pragma: no cover - until the notify module lands
    NOTIFY_GENERIC = 1 << 2
    NOTIFY_LIST = 1 << 4

LIST_HEAD = True
LIST_TAIL = False

ERR_POSITIVE = "value is out of range, must be positive"
ERR_RANK_ZERO = ("RANK can't be zero: use 1 to start from the first match, 2 from the "
                 "second ... or use negative to start from the end of the list")
ERR_COUNT_NEGATIVE = "COUNT can't be negative"
ERR_MAXLEN_NEGATIVE = "MAXLEN can't be negative"
ERR_NUMKEYS = "numkeys should be greater than 0"
ERR_COUNT_POSITIVE = "count should be greater than 0"

_LPOP = b"LPOP"
_RPOP = b"RPOP"
_LMOVE = b"LMOVE"
_RPOPLPUSH = b"RPOPLPUSH"
_SIDE = {True: b"left", False: b"right"}       # shared.left / shared.right


# ---------------------------------------------------------------------------
# List API
# ---------------------------------------------------------------------------
class ListObject:
    """A list value: a Quicklist plus the 24-bit LRU/LFU field."""
    __slots__ = ("ql", "lru")
    type_name = "list"
    encoding = "quicklist"

    def __init__(self, ql: Quicklist, lru: int) -> None:
        self.ql = ql
        self.lru = lru

    @property
    def quicklist(self) -> Quicklist:
        """The underlying quicklist (RDB writes its nodes as listpacks)."""
        return self.ql

    def __len__(self) -> int:
        return len(self.ql)

    def digest_into(self, digest: bytearray) -> None:
        """xorObjectDigest for a list: every element mixed in, in order."""
        from omakase.commands.debug import mix_digest
        for element in self.ql:
            mix_digest(digest, element)

    def copy(self) -> "ListObject":
        return ListObject(self.ql.copy(), self.lru)

    def __repr__(self) -> str:
        return "ListObject(%r)" % (self.ql,)


def new_list(server: Any) -> ListObject:
    """createQuicklistObject + quicklistSetOptions from the current config."""
    cfg = server.config
    return ListObject(Quicklist(cfg.list_max_listpack_size, cfg.list_compress_depth),
                      int.from_bytes(server.new_object_trailer, "little"))


def list_pop(o: ListObject, head: bool) -> bytes:
    """listTypePop (the list is not empty)."""
    return o.ql.pop_head() if head else o.ql.pop_tail()


def list_push(o: ListObject, value: bytes, head: bool) -> None:
    if head:
        o.ql.push_head(value)
    else:
        o.ql.push_tail(value)


def list_pop_range(o: ListObject, head: bool, count: int) -> list[bytes]:
    """Remove up to ``count`` elements from one end; return them in pop
    order (head first for LEFT, tail first for RIGHT)."""
    ql = o.ql
    llen = len(ql)
    n = count if count < llen else llen
    if head:
        items = ql.range(0, n)
        ql.delete_range(0, n)
    else:
        items = ql.range(llen - n, llen)
        items.reverse()
        ql.delete_range(-n, n)
    return items


def _signal_if_waited(db: Any, key: bytes) -> None:
    if db.blocking_keys and key in db.blocking_keys:
        db.server.signal_key_as_ready(db, key)


def _elements_removed(c: Any, db: Any, key: bytes, o: ListObject, head: bool,
                      count: int) -> bool:
    """listElementsRemoved: events, delete when empty, WATCH, dirty.
    Returns True if the key was deleted."""
    server = c.server
    server.notify(NOTIFY_LIST, "lpop" if head else "rpop", key, db.id)
    deleted = False
    if not len(o.ql):
        db.delete(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
        deleted = True
    db.signal_modified_key(key)
    server.dirty += count
    return deleted


def _position(arg: bytes) -> bool | None:
    """getListPositionFromObjectOrReply: LEFT -> head, RIGHT -> tail."""
    a = arg.lower()
    if a == b"left":
        return LIST_HEAD
    if a == b"right":
        return LIST_TAIL
    return None


def _get_long(c: Any, arg: bytes, msg: str = replies.NOT_INTEGER,
              minimum: int | None = None) -> int | None:
    """getLongLongFromObjectOrReply, with an optional lower bound (Redis's
    getPositiveLong... and getRangeLong(1, LONG_MAX)...) sharing the message."""
    ok, v = parse_ll(arg)
    if not ok or (minimum is not None and v < minimum):
        c.add_reply_error(msg)
        return None
    return v


def _get_positive(c: Any, arg: bytes, msg: str) -> int | None:
    """getPositiveLongFromObjectOrReply."""
    return _get_long(c, arg, msg, 0)


def _get_range_positive(c: Any, arg: bytes, msg: str) -> int | None:
    """getRangeLongFromObjectOrReply(1, LONG_MAX, msg)."""
    return _get_long(c, arg, msg, 1)


# ---------------------------------------------------------------------------
# List commands
# ---------------------------------------------------------------------------
def _push_generic(c: Any, argv: list[bytes], head: bool) -> None:
    """pushGenericCommand."""
    db = c.db
    key = argv[1]
    o = db.lookup(key, True, False)
    if o is None:
        o = new_list(c.server)
        db.add(key, o)
    elif o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    elif db.blocking_keys:
        _signal_if_waited(db, key)
    ql = o.ql
    n = len(argv) - 2
    if n == 1:
        if head:
            ql.push_head(argv[2])
        else:
            ql.push_tail(argv[2])
    elif head:
        ql.extend_head(argv[2:])
    else:
        ql.extend_tail(argv[2:])
    c.add_reply_int(len(ql))
    server = c.server
    db.signal_modified_key(key)
    server.notify(NOTIFY_LIST, "lpush" if head else "rpush", key, db.id)
    server.dirty += n


def _make_push(head: bool, event: str):
    """LPUSH/RPUSH: the one-element form (redis-benchmark's) inline, the
    rest through ``_push_generic``.  Same checks, events and order as
    pushGenericCommand; the reply, ``signal_modified_key`` and the notify
    hook are inlined (the hottest list commands)."""
    push = Quicklist.push_head if head else Quicklist.push_tail

    def push_command(c: Any, argv: list[bytes]) -> None:
        try:
            _, key, value = argv
        except ValueError:          # several elements
            _push_generic(c, argv, head)
            return
        db = c.db
        server = c.server
        ht = db.keys
        o = (ht.t0[hash(key) & ht.mask0].get(key)
             if ht.rehashidx < 0 and not db.expires.used else None)
        if o.__class__ is ListObject:
            # db.lookup(key, True, False) for a list found without
            # rehashing or TTLs around: only the LRU/LFU touch is left.
            if not server.no_touch:
                o.lru = server.lfu_touch(o.lru) if server.lfu else server.lru_clock
            if db.blocking_keys:
                _signal_if_waited(db, key)
        else:
            o = db.lookup(key, True, False)
            if o is None:
                o = new_list(server)
                db.add(key, o)
            elif o.__class__ is not ListObject:
                c.add_reply_error(WRONGTYPE)
                return
            elif db.blocking_keys:
                _signal_if_waited(db, key)
        n = push(o.ql, value)
        if not c.reply_off:
            c.reply.append(INTEGERS[n] if n < 10000 else b":%d\r\n" % n)
        if db.watched_keys or db.tracking_hook is not None:
            db.signal_modified_key(key)
        hook = server.notify_hook
        if hook is not None:
            hook(NOTIFY_LIST, event, key, db.id)
        server.dirty += 1
    return push_command


lpush_command = command("lpush")(_make_push(LIST_HEAD, "lpush"))
rpush_command = command("rpush")(_make_push(LIST_TAIL, "rpush"))


def _pushx_generic(c: Any, argv: list[bytes], head: bool) -> None:
    """pushxGenericCommand: only into an existing list."""
    db = c.db
    key = argv[1]
    o = db.lookup(key, True, False)
    if o is None:
        c.add_reply_int(0)
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    _signal_if_waited(db, key)
    ql = o.ql
    values = argv[2:]
    if head:
        ql.extend_head(values)
    else:
        ql.extend_tail(values)
    c.add_reply_int(len(ql))
    server = c.server
    db.signal_modified_key(key)
    server.notify(NOTIFY_LIST, "lpush" if head else "rpush", key, db.id)
    server.dirty += len(values)


@command("lpushx")
def lpushx_command(c: Any, argv: list[bytes]) -> None:
    _pushx_generic(c, argv, LIST_HEAD)


@command("rpushx")
def rpushx_command(c: Any, argv: list[bytes]) -> None:
    _pushx_generic(c, argv, LIST_TAIL)


@command("linsert")
def linsert_command(c: Any, argv: list[bytes]) -> None:
    where = argv[2].lower()
    if where == b"after":
        after = True
    elif where == b"before":
        after = False
    else:
        c.add_reply_error(replies.SYNTAX)
        return
    db = c.db
    key = argv[1]
    o = db.lookup(key, True, False)
    if o is None:
        c.add_reply_int(0)
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    if not o.ql.insert_pivot(argv[3], argv[4], after):
        c.add_reply_int(-1)
        return
    _signal_if_waited(db, key)
    server = c.server
    db.signal_modified_key(key)
    server.notify(NOTIFY_LIST, "linsert", key, db.id)
    server.dirty += 1
    c.add_reply_int(len(o.ql))


@command("llen")
def llen_command(c: Any, argv: list[bytes]) -> None:
    o = c.db.lookup(argv[1])
    if o is None:
        c.add_reply_int(0)
    elif o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
    else:
        c.add_reply_int(len(o.ql))


@command("lindex")
def lindex_command(c: Any, argv: list[bytes]) -> None:
    o = c.db.lookup(argv[1])
    if o is None:
        c.add_reply_null()
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    index = _get_long(c, argv[2])
    if index is None:
        return
    try:
        value = o.ql.get(index)
    except IndexError:
        c.add_reply_null()
        return
    c.add_reply_bulk(value)


@command("lset")
def lset_command(c: Any, argv: list[bytes]) -> None:
    db = c.db
    key = argv[1]
    o = db.lookup(key, True, False)
    if o is None:
        c.add_reply_error(replies.NO_SUCH_KEY)
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    index = _get_long(c, argv[2])
    if index is None:
        return
    try:
        o.ql.replace(index, argv[3])
    except IndexError:
        c.add_reply_error(replies.OUT_OF_RANGE)
        return
    c.add_reply_ok()
    server = c.server
    db.signal_modified_key(key)
    server.notify(NOTIFY_LIST, "lset", key, db.id)
    server.dirty += 1


def _pop_generic(c: Any, argv: list[bytes], head: bool) -> None:
    """popGenericCommand: LPOP/RPOP key [count]."""
    argc = len(argv)
    count = 0
    if argc > 3:
        c.add_reply_error(replies.wrong_arity("lpop" if head else "rpop"))
        return
    if argc == 3:
        count = _get_positive(c, argv[2], ERR_POSITIVE)
        if count is None:
            return
    db = c.db
    key = argv[1]
    o = db.lookup(key, True, False)
    if o is None:
        if argc == 3:
            c.add_reply_null_array()
        else:
            c.add_reply_null()
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    if argc == 3:
        if not count:
            c.add_reply(replies.EMPTY_ARRAY)
            return
        items = list_pop_range(o, head, count)
        c.add_reply_bulks(items)
        _elements_removed(c, db, key, o, head, len(items))
        return
    ql = o.ql
    c.add_reply_bulk(ql.pop_head() if head else ql.pop_tail())
    _elements_removed(c, db, key, o, head, 1)


def _make_pop(head: bool, event: str):
    """LPOP/RPOP: the count-less form inline (see ``_make_push``), the rest
    through ``_pop_generic``.  Same order as popGenericCommand +
    listElementsRemoved: reply, event, delete when empty, WATCH, dirty."""
    pop_resp = Quicklist.pop_head_resp if head else Quicklist.pop_tail_resp

    def pop_command(c: Any, argv: list[bytes]) -> None:
        try:
            _, key = argv
        except ValueError:          # with a count
            _pop_generic(c, argv, head)
            return
        db = c.db
        server = c.server
        ht = db.keys
        o = (ht.t0[hash(key) & ht.mask0].get(key)
             if ht.rehashidx < 0 and not db.expires.used else None)
        if o.__class__ is ListObject:
            # db.lookup(key, True, False), inline (see _make_push)
            if not server.no_touch:
                o.lru = server.lfu_touch(o.lru) if server.lfu else server.lru_clock
        else:
            o = db.lookup(key, True, False)
            if o is None:
                c.add_reply_null()
                return
            if o.__class__ is not ListObject:
                c.add_reply_error(WRONGTYPE)
                return
        r = pop_resp(o.ql)
        if r is not None:
            # the common case: the element came back as its RESP bulk, and
            # the list keeps elements (no "del")
            if not c.reply_off:
                c.reply.append(r)
            hook = server.notify_hook
            if hook is not None:
                hook(NOTIFY_LIST, event, key, db.id)
            if db.watched_keys or db.tracking_hook is not None:
                db.signal_modified_key(key)
            server.dirty += 1
            return
        ql = o.ql
        v = ql.pop_head() if head else ql.pop_tail()
        if not c.reply_off:
            n = len(v)
            if n < 1024:
                c.reply.append(BULK_HDR[n] + v + b"\r\n")
            else:
                c.add_reply_bulk(v)
        hook = server.notify_hook
        if hook is not None:
            hook(NOTIFY_LIST, event, key, db.id)
        if not ql.count:
            db.delete(key)
            server.notify(NOTIFY_GENERIC, "del", key, db.id)
        if db.watched_keys or db.tracking_hook is not None:
            db.signal_modified_key(key)
        server.dirty += 1
    return pop_command


lpop_command = command("lpop")(_make_pop(LIST_HEAD, "lpop"))
rpop_command = command("rpop")(_make_pop(LIST_TAIL, "rpop"))


# Canonical decimal text of small integers -> value: LRANGE's indexes
# without a parse_ll call (anything not in the table goes through it).
_SMALL_INTS = {b"%d" % i: i for i in range(-1024, 10001)}


@command("lrange")
def lrange_command(c: Any, argv: list[bytes]) -> None:
    start = _SMALL_INTS.get(argv[2])
    end = _SMALL_INTS.get(argv[3])
    if start is None or end is None:
        ok1, start = parse_ll(argv[2])
        ok2, end = parse_ll(argv[3])
        if not (ok1 and ok2):
            c.add_reply_error(replies.NOT_INTEGER)
            return
    db = c.db
    key = argv[1]
    ht = db.keys
    if ht.rehashidx < 0 and not db.expires.used:
        o = ht.t0[hash(key) & ht.mask0].get(key)
        if o is None:
            # db.lookup(key)'s miss, inline: the miss count
            c.server.stat_keyspace_misses += 1
            c.add_reply(replies.EMPTY_ARRAY)
            return
    else:
        o = None
    if o.__class__ is ListObject:
        # db.lookup(key)'s hit, inline (see _make_push): hit count and touch
        server = c.server
        server.stat_keyspace_hits += 1
        if not server.no_touch:
            o.lru = server.lfu_touch(o.lru) if server.lfu else server.lru_clock
    else:
        o = db.lookup(key)
        if o is None:
            c.add_reply(replies.EMPTY_ARRAY)
            return
        if o.__class__ is not ListObject:
            c.add_reply_error(WRONGTYPE)
            return
    ql = o.ql
    span = index_span(start, end, ql.count)
    if span is None:
        c.add_reply(replies.EMPTY_ARRAY)
        return
    n, body = ql.range_resp(span[0], span[1] + 1)
    if not c.reply_off:
        reply = c.reply
        reply.append(MBULK_HDR[n] if n < 1024 else b"*%d\r\n" % n)
        reply.append(body)


@command("ltrim")
def ltrim_command(c: Any, argv: list[bytes]) -> None:
    ok1, start = parse_ll(argv[2])
    ok2, end = parse_ll(argv[3])
    if not (ok1 and ok2):
        c.add_reply_error(replies.NOT_INTEGER)
        return
    db = c.db
    key = argv[1]
    o = db.lookup(key, True, False)
    if o is None:
        c.add_reply_ok()
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    ql = o.ql
    llen = len(ql)
    span = index_span(start, end, llen)
    if span is None:
        ltrim, rtrim = llen, 0
    else:
        ltrim, rtrim = span[0], llen - span[1] - 1
    ql.delete_range(0, ltrim)
    ql.delete_range(-rtrim, rtrim)
    server = c.server
    server.notify(NOTIFY_LIST, "ltrim", key, db.id)
    if not len(ql):
        db.delete(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
    db.signal_modified_key(key)
    server.dirty += ltrim + rtrim
    c.add_reply_ok()


@command("lrem")
def lrem_command(c: Any, argv: list[bytes]) -> None:
    count = _get_long(c, argv[2])
    if count is None:
        return
    db = c.db
    key = argv[1]
    o = db.lookup(key, True, False)
    if o is None:
        c.add_reply_int(0)
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    removed = o.ql.remove(argv[3], count)
    server = c.server
    if removed:
        db.signal_modified_key(key)
        server.notify(NOTIFY_LIST, "lrem", key, db.id)
    if not len(o.ql):
        db.delete(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
    server.dirty += removed
    c.add_reply_int(removed)


@command("lpos")
def lpos_command(c: Any, argv: list[bytes]) -> None:
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]."""
    rank = 1
    count = -1                  # -1: COUNT not given
    maxlen = 0
    argc = len(argv)
    j = 3
    while j < argc:
        opt = argv[j].lower()
        moreargs = argc - 1 - j
        if opt == b"rank" and moreargs:
            j += 1
            rank = _get_long(c, argv[j])
            if rank is None:
                return
            if rank == 0:
                c.add_reply_error(ERR_RANK_ZERO)
                return
        elif opt == b"count" and moreargs:
            j += 1
            count = _get_positive(c, argv[j], ERR_COUNT_NEGATIVE)
            if count is None:
                return
        elif opt == b"maxlen" and moreargs:
            j += 1
            maxlen = _get_positive(c, argv[j], ERR_MAXLEN_NEGATIVE)
            if maxlen is None:
                return
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    o = c.db.lookup(argv[1])
    if o is None:
        if count != -1:
            c.add_reply(replies.EMPTY_ARRAY)
        else:
            c.add_reply_null()
        return
    if o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    want = count
    if rank == LLONG_MIN:
        # Redis negates rank in a C long: LONG_MIN stays negative, so every
        # match from the tail qualifies and the COUNT test never stops the
        # scan (its arithmetic wraps).  Reproduce the outcome.
        rank = -1
        if want > 0:
            want = 0
    if count == -1:
        found = o.ql.positions(argv[2], rank, 1, maxlen)
        if found:
            c.add_reply_int(found[0])
        else:
            c.add_reply_null()
        return
    found = o.ql.positions(argv[2], rank, want, maxlen)
    c.add_reply_array_len(len(found))
    for idx in found:
        c.add_reply_int(idx)


# -- LMOVE / RPOPLPUSH --------------------------------------------------------
def _lmove_push(c: Any, db: Any, dstkey: bytes, dobj: ListObject | None, value: bytes,
                head: bool) -> None:
    """lmoveHandlePush: create the destination if needed, push, reply."""
    server = c.server
    if dobj is None:
        dobj = new_list(server)
        db.add(dstkey, dobj)
    else:
        _signal_if_waited(db, dstkey)
    db.signal_modified_key(dstkey)
    list_push(dobj, value, head)
    server.notify(NOTIFY_LIST, "lpush" if head else "rpush", dstkey, db.id)
    c.add_reply_bulk(value)


def _lmove_generic(c: Any, src: bytes, dst: bytes, wherefrom: bool, whereto: bool) -> bool:
    """lmoveGenericCommand: True if an element moved."""
    db = c.db
    sobj = db.lookup(src, True, False)
    if sobj is None:
        c.add_reply_null()
        return False
    if sobj.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return False
    if not len(sobj.ql):
        c.add_reply_null()
        return False
    dobj = db.lookup(dst, True, False)
    if dobj is not None and dobj.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return False
    value = list_pop(sobj, wherefrom)
    _lmove_push(c, db, dst, dobj, value, whereto)
    server = c.server
    server.notify(NOTIFY_LIST, "lpop" if wherefrom else "rpop", src, db.id)
    if not len(sobj.ql):
        db.delete(src)
        server.notify(NOTIFY_GENERIC, "del", src, db.id)
    db.signal_modified_key(src)
    server.dirty += 1
    return True


@command("lmove")
def lmove_command(c: Any, argv: list[bytes]) -> None:
    wherefrom = _position(argv[3])
    whereto = _position(argv[4]) if wherefrom is not None else None
    if whereto is None:
        c.add_reply_error(replies.SYNTAX)
        return
    _lmove_generic(c, argv[1], argv[2], wherefrom, whereto)


@command("rpoplpush")
def rpoplpush_command(c: Any, argv: list[bytes]) -> None:
    _lmove_generic(c, argv[1], argv[2], LIST_TAIL, LIST_HEAD)


# -- LMPOP ---------------------------------------------------------------------
def _pop_range_reply_with_key(c: Any, db: Any, key: bytes, o: ListObject, head: bool,
                              count: int) -> int:
    """listPopRangeAndReplyWithKey: [key, [elements]]; returns how many."""
    items = list_pop_range(o, head, count)
    c.add_reply_array_len(2)
    c.add_reply_bulk(key)
    c.add_reply_bulks(items)
    _elements_removed(c, db, key, o, head, len(items))
    return len(items)


def _parse_mpop(c: Any, argv: list[bytes], numkeys_idx: int):
    """lmpopGenericCommand's parsing: (keys, head, count) or None."""
    numkeys = _get_range_positive(c, argv[numkeys_idx], ERR_NUMKEYS)
    if numkeys is None:
        return None
    where_idx = numkeys_idx + numkeys + 1
    argc = len(argv)
    if where_idx >= argc:
        c.add_reply_error(replies.SYNTAX)
        return None
    head = _position(argv[where_idx])
    if head is None:
        c.add_reply_error(replies.SYNTAX)
        return None
    count = -1
    j = where_idx + 1
    while j < argc:
        if count == -1 and argv[j].lower() == b"count" and argc - 1 - j > 0:
            j += 1
            count = _get_range_positive(c, argv[j], ERR_COUNT_POSITIVE)
            if count is None:
                return None
        else:
            c.add_reply_error(replies.SYNTAX)
            return None
        j += 1
    if count == -1:
        count = 1
    return argv[numkeys_idx + 1:where_idx], head, count


@command("lmpop")
def lmpop_command(c: Any, argv: list[bytes]) -> None:
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]."""
    parsed = _parse_mpop(c, argv, 1)
    if parsed is None:
        return
    keys, head, count = parsed
    db = c.db
    for key in keys:
        o = db.lookup(key, True, False)
        if o is None:
            continue
        if o.__class__ is not ListObject:
            c.add_reply_error(WRONGTYPE)
            return
        if not len(o.ql):
            continue
        n = _pop_range_reply_with_key(c, db, key, o, head, count)
        c.rewritten_argv = [_LPOP if head else _RPOP, key, b"%d" % n]
        return
    c.add_reply_null_array()


# -- blocking variants ---------------------------------------------------------
def _blocking_pop_generic(c: Any, keys: list[bytes], head: bool, deadline: int,
                          count: int | None) -> None:
    """blockingPopGenericCommand: BLPOP/BRPOP (count None) and BLMPOP."""
    db = c.db
    for key in keys:
        o = db.lookup(key, True, False)
        if o is None:
            continue
        if o.__class__ is not ListObject:
            c.add_reply_error(WRONGTYPE)
            return
        if not len(o.ql):
            continue
        if count is not None:
            n = _pop_range_reply_with_key(c, db, key, o, head, count)
            c.rewritten_argv = [_LPOP if head else _RPOP, key, b"%d" % n]
            return
        value = list_pop(o, head)
        c.add_reply_array_len(2)
        c.add_reply_bulk(key)
        c.add_reply_bulk(value)
        _elements_removed(c, db, key, o, head, 1)
        c.rewritten_argv = [_LPOP if head else _RPOP, key]
        return
    if deny_blocking(c):
        c.add_reply_null_array()
        return
    block_for_keys(c, keys, deadline, partial(_serve_pop, head, count))


def _serve_pop(head: bool, count: int | None, c: Any, db: Any, key: bytes) -> bool:
    """serveClientBlockedOnList for BLPOP/BRPOP/BLMPOP."""
    o = db.lookup(key, True, False)
    if o is None or o.__class__ is not ListObject or not len(o.ql):
        return False
    server = c.server
    op = _LPOP if head else _RPOP
    if count is not None:
        llen = len(o.ql)
        server.also_propagate(db.id, [op, key, b"%d" % (count if count < llen else llen)])
        _pop_range_reply_with_key(c, db, key, o, head, count)
        return True
    server.also_propagate(db.id, [op, key])
    value = list_pop(o, head)
    c.add_reply_array_len(2)
    c.add_reply_bulk(key)
    c.add_reply_bulk(value)
    _elements_removed(c, db, key, o, head, 1)
    return True


@command("blpop")
def blpop_command(c: Any, argv: list[bytes]) -> None:
    deadline = parse_timeout(c, argv[-1])
    if deadline is not None:
        _blocking_pop_generic(c, argv[1:-1], LIST_HEAD, deadline, None)


@command("brpop")
def brpop_command(c: Any, argv: list[bytes]) -> None:
    deadline = parse_timeout(c, argv[-1])
    if deadline is not None:
        _blocking_pop_generic(c, argv[1:-1], LIST_TAIL, deadline, None)


@command("blmpop")
def blmpop_command(c: Any, argv: list[bytes]) -> None:
    """BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]."""
    parsed = _parse_mpop(c, argv, 2)
    if parsed is None:
        return
    keys, head, count = parsed
    deadline = parse_timeout(c, argv[1])
    if deadline is not None:
        _blocking_pop_generic(c, keys, head, deadline, count)


def _blmove_generic(c: Any, argv: list[bytes], wherefrom: bool, whereto: bool,
                    deadline: int, rpoplpush: bool) -> None:
    """blmoveGenericCommand."""
    src, dst = argv[1], argv[2]
    o = c.db.lookup(src, True, False)
    if o is not None and o.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)
        return
    if o is None:
        if deny_blocking(c):
            c.add_reply_null()
            return
        block_for_keys(c, (src,), deadline,
                       partial(_serve_move, dst, wherefrom, whereto, rpoplpush))
        return
    if _lmove_generic(c, src, dst, wherefrom, whereto):
        if rpoplpush:
            c.rewritten_argv = [_RPOPLPUSH, src, dst]
        else:
            c.rewritten_argv = [_LMOVE, src, dst, argv[3], argv[4]]


def _serve_move(dst: bytes, wherefrom: bool, whereto: bool, rpoplpush: bool,
                c: Any, db: Any, key: bytes) -> bool:
    """serveClientBlockedOnList for BLMOVE/BRPOPLPUSH."""
    o = db.lookup(key, True, False)
    if o is None or o.__class__ is not ListObject or not len(o.ql):
        return False
    dobj = db.lookup(dst, True, False)
    if dobj is not None and dobj.__class__ is not ListObject:
        c.add_reply_error(WRONGTYPE)        # served with an error, nothing moves
        return True
    server = c.server
    value = list_pop(o, wherefrom)
    _lmove_push(c, db, dst, dobj, value, whereto)
    if rpoplpush:
        server.also_propagate(db.id, [_RPOPLPUSH, key, dst])
    else:
        server.also_propagate(db.id, [_LMOVE, key, dst, _SIDE[wherefrom], _SIDE[whereto]])
    server.notify(NOTIFY_LIST, "lpop" if wherefrom else "rpop", key, db.id)
    if not len(o.ql):
        db.delete(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
    server.dirty += 1
    return True


@command("blmove")
def blmove_command(c: Any, argv: list[bytes]) -> None:
    wherefrom = _position(argv[3])
    whereto = _position(argv[4]) if wherefrom is not None else None
    if whereto is None:
        c.add_reply_error(replies.SYNTAX)
        return
    deadline = parse_timeout(c, argv[5])
    if deadline is not None:
        _blmove_generic(c, argv, wherefrom, whereto, deadline, False)


@command("brpoplpush")
def brpoplpush_command(c: Any, argv: list[bytes]) -> None:
    deadline = parse_timeout(c, argv[3])
    if deadline is not None:
        _blmove_generic(c, argv, LIST_TAIL, LIST_HEAD, deadline, True)
