"""Streams: the stream type API, consumer groups, and every X* command
(Redis 7.0's ``t_stream.c``).

Storage
-------
A stream value is a ``Stream`` (``__slots__``).  Its entries live in
``index``, an ``encodings.stream_index.StreamIndex``: listpack nodes keyed by
their 16-byte big-endian master ID, in Redis's exact node format (master
entry, SAMEFIELDS/DELETED flags, ID deltas, lp-count terminators; see that
module), cut by ``stream-node-max-bytes`` / ``stream-node-max-entries``.

The API an RDB writer (STREAM_LISTPACKS_2) or DEBUG/COPY uses
-------------------------------------------------------------
``s.rdb_nodes()``
    iterator of ``(master_key: bytes[16], listpack_bytes: bytes)`` in ID order.
``s.length``                 number of valid entries.
``s.last_id``, ``s.first_id``, ``s.max_deleted_entry_id``
    ``(ms, seq)`` tuples of ints (``first_id`` is the "recorded" first ID).
``s.entries_added``          int.
``s.groups()``               the consumer groups sorted by name (rax order).
A ``ConsumerGroup`` has ``name`` (bytes), ``last_id`` (tuple),
``entries_read`` (int, -1 = invalid/unknown), ``pel`` (a ``PelMap``: ordered
``(ms, seq) -> Nack``; ``pel.items()`` in ID order) and ``consumers()``
(sorted by name).  ``group.rdb_pel()`` yields ``(id16, delivery_time_ms,
delivery_count, consumer_name)``.  A ``Nack`` has ``delivery_time``,
``delivery_count`` and ``consumer`` (the ``Consumer``).  A ``Consumer`` has
``name``, ``seen_time`` (ms) and its own ``pel`` (a ``PelMap`` sharing the
group's ``Nack`` objects).  ``Stream.from_parts``-style loading: build a
``Stream()``, ``index.insert_node(key, Listpack.from_bytes(blob))``, set the
counters (``index.length`` too), then ``add_group`` / ``Consumer`` / ``Nack``
as ``xgroup_create``/``_new_nack`` do.

Commands
--------
XADD XRANGE XREVRANGE XLEN XDEL XTRIM XREAD XREADGROUP XSETID XACK XPENDING
XCLAIM XAUTOCLAIM XINFO (STREAM [FULL [COUNT]] / GROUPS / CONSUMERS / HELP)
XGROUP (CREATE / CREATECONSUMER / DELCONSUMER / DESTROY / SETID / HELP).
Each follows ``t_stream.c`` 7.0: argument parsing and error strings in
Redis's order, keyspace events (xadd, xtrim, xdel, xsetid, xgroup-create,
xgroup-createconsumer, xgroup-delconsumer, xgroup-destroy, xgroup-setid),
``server.dirty`` and propagation:

* XADD with ``*`` / ``<ms>-*`` propagates the generated ID; ``~`` trims (XADD
  and XTRIM) propagate ``= <resulting length>`` / ``= <first ID>``;
* XREADGROUP, XCLAIM and XAUTOCLAIM never propagate themselves: each PEL
  change goes out as ``XCLAIM key group consumer 0 id TIME t RETRYCOUNT n
  FORCE JUSTID LASTID last`` (``streamPropagateXCLAIM``), a NOACK read as
  ``XGROUP SETID key group id ENTRIESREAD n`` (and ``XGROUP CREATECONSUMER``
  for a consumer it created), XCLAIM ... LASTID that moved the group as
  ``XGROUP SETID``.

Replies: an entry is encoded as one string (``entry_resp``: id and
``hiredis.pack_command`` of its pairs); XRANGE/XREVRANGE/XREAD without a
group collect the entries and write the array length first (no deferred
length); ``-`` and ``+`` bounds skip ID parsing.  The node walk that feeds
them decodes only the entries returned (see stream_index.py).

Blocking XREAD / XREADGROUP use ``blocking.block_for_keys`` (BLOCKED_STREAM).
XADD signals the key ready; XGROUP DESTROY too (waiters of the group get
``-NOGROUP``); deleting or overwriting the key wakes XREADGROUP waiters with
``-UNBLOCKED the stream key no longer exists`` (``keyspace`` signals stream
keys with waiters on delete, ``blocking`` hands a missing key to stream
waiters).  A served client gets at most COUNT entries (1000 without COUNT).

DIVERGENCE: ``radix-tree-nodes`` is computed from the canonical compressed
radix tree of the node keys; Redis's rax after some deletion sequences may
keep a differently split (non-recompressed) shape.
"""
from __future__ import annotations

import time
from bisect import bisect_left, insort
from typing import Any, Iterator, Optional

from hiredis import pack_command as _pack

from omakase import replies
from omakase.blocking import BLOCKED_STREAM, block_for_keys, deny_blocking
from omakase.commands.registry import command
from omakase.encodings.stream_index import (MAX_ID, MIN_ID, STREAM_LISTPACK_MAX_SIZE,
                                            UINT64_MAX, StreamIndex, encode_id)
from omakase.networking import ClientFlag
from omakase.notify import NOTIFY_STREAM
from omakase.util import LLONG_MAX, parse_ll

WRONGTYPE = replies.WRONGTYPE
SCG_INVALID_ENTRIES_READ = -1
XREAD_BLOCKED_DEFAULT_COUNT = 1000
LONG_MAX = LLONG_MAX

ERR_INVALID_ID = "Invalid stream ID specified as stream command argument"
ERR_XADD_SMALLER = "The ID specified in XADD is equal or smaller than the target stream top item"
ERR_XADD_ZERO = "The ID specified in XADD must be greater than 0-0"
ERR_EXHAUSTED = "The stream has exhausted the last possible ID, unable to add more items"
ERR_TOO_LARGE = "Elements are too large to be stored"
ERR_TRIM_BOTH = "syntax error, MAXLEN and MINID options at the same time are not compatible"
ERR_MAXLEN_NEG = "The MAXLEN argument must be >= 0."
ERR_LIMIT_NEG = "The LIMIT argument must be >= 0."
ERR_LIMIT_NO_STRATEGY = "syntax error, LIMIT cannot be used without specifying a trimming strategy"
ERR_XTRIM_NO_STRATEGY = "syntax error, XTRIM must be called with a trimming strategy"
ERR_LIMIT_NO_APPROX = "syntax error, LIMIT cannot be used without the special ~ option"
ERR_BAD_START = "invalid start ID for the interval"
ERR_BAD_END = "invalid end ID for the interval"
ERR_BUSYGROUP = "-BUSYGROUP Consumer Group name already exists"
ERR_TIMEOUT_INT = "timeout is not an integer or out of range"
ERR_TIMEOUT_NEG = "timeout is negative"
ERR_UNBLOCKED_DELETED = "-UNBLOCKED the stream key no longer exists"
ERR_NOGROUP_BLOCKED = "-NOGROUP the consumer group this client was blocked on no longer exists"

XGROUP_HELP = [
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
]
XINFO_HELP = [
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
]

_XCLAIM = b"XCLAIM"
_XGROUP = b"XGROUP"


def _mstime() -> int:
    return int(time.time() * 1000)


def fmt_id(sid: tuple) -> bytes:
    return b"%d-%d" % sid


def incr_id(sid: tuple) -> Optional[tuple]:
    """``streamIncrID``; None when ``sid`` is the maximum (Redis wraps to 0-0
    and reports an error)."""
    ms, seq = sid
    if seq == UINT64_MAX:
        if ms == UINT64_MAX:
            return None
        return (ms + 1, 0)
    return (ms, seq + 1)


def decr_id(sid: tuple) -> Optional[tuple]:
    ms, seq = sid
    if seq == 0:
        if ms == 0:
            return None
        return (ms - 1, UINT64_MAX)
    return (ms, seq - 1)


# ---------------------------------------------------------------------------
# Stream API
# ---------------------------------------------------------------------------
class Nack:
    """A pending entry (``streamNACK``)."""
    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer: Optional["Consumer"], now: int) -> None:
        self.delivery_time = now
        self.delivery_count = 1
        self.consumer = consumer


class PelMap:
    """An ordered map ``(ms, seq) -> Nack`` (Redis uses a rax): a dict plus
    a sorted list of its keys."""
    __slots__ = ("map", "ids")

    def __init__(self) -> None:
        self.map: dict[tuple, Nack] = {}
        self.ids: list[tuple] = []

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, sid: tuple) -> Optional[Nack]:
        return self.map.get(sid)

    def insert(self, sid: tuple, nack: Nack) -> bool:
        """raxTryInsert: False (and no change) if the ID is present."""
        if sid in self.map:
            return False
        self.map[sid] = nack
        ids = self.ids
        if not ids or sid > ids[-1]:
            ids.append(sid)
        else:
            insort(ids, sid)
        return True

    def remove(self, sid: tuple) -> None:
        if self.map.pop(sid, None) is not None:
            ids = self.ids
            del ids[bisect_left(ids, sid)]

    def index_ge(self, sid: tuple) -> int:
        return bisect_left(self.ids, sid)

    def items(self) -> Iterator[tuple]:
        m = self.map
        return ((sid, m[sid]) for sid in list(self.ids))


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, seen_time: int) -> None:
        self.name = name
        self.seen_time = seen_time
        self.pel = PelMap()


class ConsumerGroup:
    __slots__ = ("name", "last_id", "entries_read", "pel", "consumer_map")

    def __init__(self, name: bytes, last_id: tuple, entries_read: int) -> None:
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = PelMap()
        self.consumer_map: dict[bytes, Consumer] = {}

    def consumers(self) -> list:
        m = self.consumer_map
        return [m[k] for k in sorted(m)]

    def __del__(self) -> None:
        # A pending entry names its consumer and the consumer's PEL holds the
        # entry: a reference cycle per entry.  The server runs without the
        # cyclic collector's full passes, so a dropped group (XGROUP DESTROY,
        # the stream deleted) breaks them and reference counting frees all.
        for nack in self.pel.map.values():
            nack.consumer = None

    def rdb_pel(self) -> Iterator[tuple]:
        for sid, nack in self.pel.items():
            yield (encode_id(sid), nack.delivery_time, nack.delivery_count,
                   nack.consumer.name if nack.consumer is not None else b"")


class Stream:
    """A stream value (see the module docstring for the API)."""
    __slots__ = ("index", "last_id", "first_id", "max_deleted_entry_id",
                 "entries_added", "cgroups", "lru")
    type_name = "stream"
    encoding = "stream"

    def __init__(self, lru: int = 0) -> None:
        self.index = StreamIndex()
        self.last_id = MIN_ID
        self.first_id = MIN_ID
        self.max_deleted_entry_id = MIN_ID
        self.entries_added = 0
        self.cgroups: Optional[dict[bytes, ConsumerGroup]] = None
        self.lru = lru

    @property
    def length(self) -> int:
        return self.index.length

    def __len__(self) -> int:
        return self.index.length

    def rdb_nodes(self) -> Iterator[tuple]:
        for key, lp in self.index.items():
            yield key, lp.to_bytes()

    def groups(self) -> list:
        cg = self.cgroups
        if not cg:
            return []
        return [cg[k] for k in sorted(cg)]

    def lookup_group(self, name: bytes) -> Optional[ConsumerGroup]:
        cg = self.cgroups
        return cg.get(name) if cg else None

    def add_group(self, name: bytes, last_id: tuple, entries_read: int) -> Optional[ConsumerGroup]:
        """streamCreateCG: None if the name exists."""
        if self.cgroups is None:
            self.cgroups = {}
        if name in self.cgroups:
            return None
        g = self.cgroups[name] = ConsumerGroup(name, last_id, entries_read)
        return g

    def edge_id(self, first: bool, tombstones: bool) -> tuple:
        """streamGetEdgeID."""
        if first:
            sid = self.index.first_id(tombstones)
            return MAX_ID if sid is None else sid
        sid = self.index.last_id(tombstones)
        return MIN_ID if sid is None else sid

    def copy(self) -> "Stream":
        """streamDup (COPY)."""
        s = Stream(self.lru)
        s.index = self.index.copy()
        s.last_id = self.last_id
        s.first_id = self.first_id
        s.max_deleted_entry_id = self.max_deleted_entry_id
        s.entries_added = self.entries_added
        for g in self.groups():
            ng = s.add_group(g.name, g.last_id, g.entries_read)
            nacks = {}
            for sid, nack in g.pel.items():
                nn = Nack(None, nack.delivery_time)
                nn.delivery_count = nack.delivery_count
                ng.pel.insert(sid, nn)
                nacks[sid] = nn
            for cons in g.consumers():
                nc = Consumer(cons.name, cons.seen_time)
                ng.consumer_map[cons.name] = nc
                for sid, _n in cons.pel.items():
                    nn = nacks[sid]
                    nn.consumer = nc
                    nc.pel.insert(sid, nn)
        return s

    def digest_into(self, digest: bytearray) -> None:
        """xorObjectDigest: each entry's "ms.seq" then fields and values."""
        from omakase.commands.debug import mix_digest
        for sid, pairs in self.index.range():
            mix_digest(digest, b"%d.%d" % sid)
            for x in pairs:
                mix_digest(digest, x)

    def __repr__(self) -> str:
        return "Stream(length=%d, last_id=%r)" % (self.length, self.last_id)


def new_stream(server: Any) -> Stream:
    return Stream(int.from_bytes(server.new_object_trailer, "little"))


def range_has_tombstones(s: Stream, start: Optional[tuple], end: Optional[tuple]) -> bool:
    """streamRangeHasTombstones (7.0)."""
    mx = s.max_deleted_entry_id
    if not s.length or mx == MIN_ID:
        return False
    if s.first_id > mx:
        return False
    start_id = start if start is not None else MIN_ID
    end_id = end if end is not None else MAX_ID
    return start_id <= mx <= end_id


def estimate_distance(s: Stream, sid: tuple) -> int:
    """streamEstimateDistanceFromFirstEverEntry (7.0)."""
    if not s.entries_added:
        return 0
    if not s.length and sid <= s.last_id:
        return s.entries_added
    if sid == s.last_id:
        return s.entries_added
    if sid > s.last_id:
        return SCG_INVALID_ENTRIES_READ
    mx = s.max_deleted_entry_id
    if mx == MIN_ID or mx < s.first_id:
        if sid < s.first_id:
            return s.entries_added - s.length
        if sid == s.first_id:
            return s.entries_added - s.length + 1
    return SCG_INVALID_ENTRIES_READ


def group_lag(s: Stream, g: ConsumerGroup) -> Optional[int]:
    """streamReplyWithCGLag's value (None = unknown)."""
    if not s.entries_added:
        return 0
    if g.entries_read != SCG_INVALID_ENTRIES_READ and not range_has_tombstones(s, g.last_id, None):
        return s.entries_added - g.entries_read
    er = estimate_distance(s, g.last_id)
    if er != SCG_INVALID_ENTRIES_READ:
        return s.entries_added - er
    return None


def create_consumer(c: Any, g: ConsumerGroup, name: bytes, key: bytes,
                    notify: bool = True, dirty: bool = True) -> Optional[Consumer]:
    """streamCreateConsumer: None if it exists."""
    if name in g.consumer_map:
        return None
    cons = g.consumer_map[name] = Consumer(name, _mstime())
    server = c.server
    if dirty:
        server.dirty += 1
    if notify:
        server.notify(NOTIFY_STREAM, "xgroup-createconsumer", key, c.db.id)
    return cons


def lookup_consumer(g: ConsumerGroup, name: bytes, refresh: bool = True) -> Optional[Consumer]:
    cons = g.consumer_map.get(name)
    if cons is not None and refresh:
        cons.seen_time = _mstime()
    return cons


def lookup_or_create_consumer(c: Any, g: ConsumerGroup, name: bytes, key: bytes,
                              refresh: bool = True) -> Consumer:
    """The consumer a read or claim acts for, created (and notified) if
    missing."""
    cons = lookup_consumer(g, name, refresh)
    if cons is None:
        cons = create_consumer(c, g, name, key)
    return cons


def del_consumer(g: ConsumerGroup, cons: Consumer) -> None:
    for sid, _n in cons.pel.items():
        g.pel.remove(sid)
    del g.consumer_map[cons.name]


# ---------------------------------------------------------------------------
# Parsing helpers
# ---------------------------------------------------------------------------
_SPACES = b" \t\n\v\f\r"


def _string2ull(s: bytes) -> Optional[int]:
    """Redis's string2ull: string2ll (non-negative), else strtoull."""
    ok, v = parse_ll(s)
    if ok:
        return v if v >= 0 else None
    n = len(s)
    i = 0
    while i < n and s[i] in _SPACES:
        i += 1
    neg = False
    if i < n and s[i] in b"+-":
        neg = s[i] == 45
        i += 1
    j = i
    while j < n and 48 <= s[j] <= 57:
        j += 1
    if j == i or j != n:
        return None
    v = int(s[i:j])
    if v > UINT64_MAX:
        return None
    return (-v) & UINT64_MAX if neg else v


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False,
             seq_star: bool = False) -> Optional[tuple]:
    """streamGenericParseIDOrReply without the reply: ``(id, seq_given)``
    or None."""
    if len(arg) > 127:
        return None
    z = arg.find(b"\0")
    buf = arg if z < 0 else arg[:z]
    if buf == b"-" or buf == b"+":
        if strict:
            return None
        return (MIN_ID, True) if buf == b"-" else (MAX_ID, True)
    dash = buf.find(b"-")
    mspart = buf if dash < 0 else buf[:dash]
    ms = _string2ull(mspart)
    if ms is None:
        return None
    seq_given = True
    if dash >= 0:
        rest = buf[dash + 1:]
        if seq_star and rest == b"*":
            seq = 0
            seq_given = False
        else:
            seq = _string2ull(rest)
            if seq is None:
                return None
    else:
        seq = missing_seq
    return (ms, seq), seq_given


def parse_id_or_reply(c: Any, arg: bytes, missing_seq: int = 0,
                      strict: bool = False) -> Optional[tuple]:
    r = parse_id(arg, missing_seq, strict)
    if r is None:
        c.add_reply_error(ERR_INVALID_ID)
        return None
    return r[0]


def parse_ids_or_reply(c: Any, args: list[bytes]) -> Optional[list]:
    """Every ID of XDEL / XACK, all checked before any is acted on; None
    after the error reply."""
    ids = []
    for arg in args:
        sid = parse_id_or_reply(c, arg, 0, True)
        if sid is None:
            return None
        ids.append(sid)
    return ids


def parse_interval(c: Any, arg: bytes, missing_seq: int) -> Optional[tuple]:
    """streamParseIntervalIDOrReply: (id, exclusive) or None."""
    if len(arg) > 1 and arg[0] == 40:  # "("
        sid = parse_id_or_reply(c, arg[1:], missing_seq, True)
        return None if sid is None else (sid, True)
    sid = parse_id_or_reply(c, arg, missing_seq, False)
    return None if sid is None else (sid, False)


def parse_bound(c: Any, arg: bytes, is_start: bool) -> Optional[tuple]:
    """One end of an XRANGE-like interval with '(' exclusion applied: an
    exclusive start moves to the next ID, an exclusive end to the previous
    one.  None after an error reply."""
    if arg == b"-":
        return MIN_ID
    if arg == b"+":
        return MAX_ID
    r = parse_interval(c, arg, 0 if is_start else UINT64_MAX)
    if r is None:
        return None
    sid, ex = r
    if ex:
        sid = incr_id(sid) if is_start else decr_id(sid)
        if sid is None:
            c.add_reply_error(ERR_BAD_START if is_start else ERR_BAD_END)
    return sid


def parse_range(c: Any, start_arg: bytes, end_arg: bytes) -> Optional[tuple]:
    """Start/end of XRANGE-like intervals with '(' exclusion applied."""
    start = parse_bound(c, start_arg, True)
    if start is None:
        return None
    end = parse_bound(c, end_arg, False)
    if end is None:
        return None
    return start, end


def _get_ll(c: Any, arg: bytes, msg: str = replies.NOT_INTEGER) -> Optional[int]:
    ok, v = parse_ll(arg)
    if not ok:
        c.add_reply_error(msg)
        return None
    return v


def _subcommand_syntax_error(c: Any, argv: list[bytes]) -> None:
    """addReplySubcommandSyntaxError."""
    sub = argv[1][:128].decode("utf-8", "surrogateescape")
    c.add_reply_error("unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
                      % (sub, argv[0].decode("utf-8", "surrogateescape").upper()))


def _nogroup(c: Any, key: bytes, group: bytes, suffix: str = "") -> None:
    c.add_reply_error("-NOGROUP No such key '%s' or consumer group '%s'%s"
                      % (key.decode("utf-8", "surrogateescape"),
                         group.decode("utf-8", "surrogateescape"), suffix))


def _nogroup_for_key(c: Any, group: bytes, key: bytes) -> None:
    """XGROUP / XINFO CONSUMERS on an existing key without that group."""
    c.add_reply_error("-NOGROUP No such consumer group '%s' for key name '%s'"
                      % (group.decode("utf-8", "surrogateescape"),
                         key.decode("utf-8", "surrogateescape")))


def _lookup_stream(c: Any, key: bytes, write: bool = False):
    """(value or None, ok): a type error replies and gives ok False.  A
    write lookup does not count keyspace hits/misses (lookupKeyWrite)."""
    o = c.db.lookup(key, True, not write)
    if o is not None and o.__class__ is not Stream:
        c.add_reply_error(WRONGTYPE)
        return None, False
    return o, True


def _lookup_group(c: Any, key: bytes, groupname: bytes):
    """(stream, group) of XPENDING/XCLAIM/XAUTOCLAIM, or None after the
    WRONGTYPE or -NOGROUP reply."""
    s, ok = _lookup_stream(c, key)
    if not ok:
        return None
    g = s.lookup_group(groupname) if s is not None else None
    if g is None:
        _nogroup(c, key, groupname)
        return None
    return s, g


def _must_obey(c: Any) -> bool:
    f = c.flags
    return bool(f & ClientFlag.MASTER) or (bool(f & ClientFlag.FAKE) and not f & ClientFlag.LUA)


# ---------------------------------------------------------------------------
# Replies
# ---------------------------------------------------------------------------
def entry_resp(sid: tuple, pairs: list) -> bytes:
    """One stream entry as a reply: ``[id, [f1, v1, ...]]`` (the same
    bytes in RESP2 and RESP3), built as one string."""
    idb = b"%d-%d" % sid
    return b"*2\r\n$%d\r\n%b\r\n%b" % (len(idb), idb, _pack(tuple(pairs)))


def _reply_entry(c: Any, sid: tuple, pairs: list) -> None:
    c.add_reply(entry_resp(sid, pairs))


def _propagate_xclaim(c: Any, key: bytes, g: ConsumerGroup, groupname: bytes,
                      idarg: bytes, nack: Nack) -> None:
    """streamPropagateXCLAIM."""
    c.server.also_propagate(c.db.id, [
        _XCLAIM, key, groupname, nack.consumer.name, b"0", idarg, b"TIME",
        b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
        b"FORCE", b"JUSTID", b"LASTID", fmt_id(g.last_id)])


def _propagate_group_id(c: Any, key: bytes, g: ConsumerGroup, groupname: bytes) -> None:
    """streamPropagateGroupID."""
    c.server.also_propagate(c.db.id, [
        _XGROUP, b"SETID", key, groupname, fmt_id(g.last_id), b"ENTRIESREAD",
        b"%d" % g.entries_read])


def reply_range(c: Any, s: Stream, start: tuple, end: tuple, count: int, rev: bool,
                group: Optional[ConsumerGroup] = None, consumer: Optional[Consumer] = None,
                noack: bool = False, raw: bool = False,
                spi: Optional[tuple] = None) -> tuple:
    """streamReplyWithRange: returns (emitted, propagated)."""
    if group is None:
        # Plain XRANGE / XREVRANGE / XREAD: the entries are collected
        # first, so the array length goes in front without a deferred slot.
        entries = s.index.entries(start, end, rev, count)
        if not raw:
            c.add_reply_array_len(len(entries))
        if entries:
            c.add_reply(b"".join([entry_resp(sid, pairs) for sid, pairs in entries]))
        return len(entries), 0
    idx = None if raw else c.add_reply_deferred_len()
    n = 0
    prop = 0
    propagate_last_id = False
    now = _mstime()
    for sid, pairs in s.index.entries(start, end, rev, count):
        if sid > group.last_id:
            if (group.entries_read != SCG_INVALID_ENTRIES_READ
                    and not range_has_tombstones(s, sid, None)):
                group.entries_read += 1
            elif s.entries_added:
                group.entries_read = estimate_distance(s, sid)
            group.last_id = sid
            if noack:
                propagate_last_id = True
        _reply_entry(c, sid, pairs)
        if not noack:
            nack = Nack(consumer, now)
            if not group.pel.insert(sid, nack):
                nack = group.pel.get(sid)
                nack.consumer.pel.remove(sid)
                nack.consumer = consumer
                nack.delivery_time = now
                nack.delivery_count = 1
                consumer.pel.insert(sid, nack)
            else:
                consumer.pel.insert(sid, nack)
            if spi is not None:
                _propagate_xclaim(c, spi[0], group, spi[1], fmt_id(sid), nack)
                prop += 1
        n += 1
    if spi is not None and propagate_last_id:
        _propagate_group_id(c, spi[0], group, spi[1])
        prop += 1
    if idx is not None:
        c.set_deferred_array_len(idx, n)
    return n, prop


def reply_range_from_pel(c: Any, s: Stream, start: tuple, count: int,
                         consumer: Consumer) -> int:
    """streamReplyWithRangeFromConsumerPEL (history of one consumer)."""
    idx = c.add_reply_deferred_len()
    pel = consumer.pel
    ids = pel.ids
    i = pel.index_ge(start)
    n = 0
    now = _mstime()
    index = s.index
    while i < len(ids) and (not count or n < count):
        sid = ids[i]
        pairs = index.get(sid)
        if pairs is None:
            c.add_reply_array_len(2)
            c.add_reply_bulk(fmt_id(sid))
            c.add_reply_null_array()
        else:
            _reply_entry(c, sid, pairs)
            nack = pel.get(sid)
            nack.delivery_time = now
            nack.delivery_count += 1
        n += 1
        i += 1
    c.set_deferred_array_len(idx, n)
    return n


# ---------------------------------------------------------------------------
# XADD / XTRIM
# ---------------------------------------------------------------------------
TRIM_NONE = 0
TRIM_MAXLEN = 1
TRIM_MINID = 2


class _AddTrimArgs:
    __slots__ = ("id", "id_given", "seq_given", "no_mkstream", "strategy", "arg_idx",
                 "approx", "limit", "maxlen", "minid", "idpos")

    def __init__(self) -> None:
        self.id = MIN_ID
        self.id_given = False
        self.seq_given = True
        self.no_mkstream = False
        self.strategy = TRIM_NONE
        self.arg_idx = 0
        self.approx = False
        self.limit = 0
        self.maxlen = 0
        self.minid = MIN_ID
        self.idpos = 0


def _parse_add_trim(c: Any, argv: list[bytes], xadd: bool) -> Optional[_AddTrimArgs]:
    """streamParseAddOrTrimArgsOrReply."""
    a = _AddTrimArgs()
    argc = len(argv)
    i = 2
    limit_given = False
    while i < argc:
        moreargs = argc - 1 - i
        opt = argv[i]
        lopt = opt.lower()
        if xadd and opt == b"*":
            break
        if (lopt == b"maxlen" or lopt == b"minid") and moreargs:
            # Both strategies take an optional "~" / "=" then their threshold.
            if a.strategy != TRIM_NONE:
                c.add_reply_error(ERR_TRIM_BOTH)
                return None
            a.approx = False
            nxt = argv[i + 1]
            if moreargs >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif moreargs >= 2 and nxt == b"=":
                i += 1
            if lopt == b"maxlen":
                v = _get_ll(c, argv[i + 1])
                if v is None:
                    return None
                if v < 0:
                    c.add_reply_error(ERR_MAXLEN_NEG)
                    return None
                a.maxlen = v
                a.strategy = TRIM_MAXLEN
            else:
                sid = parse_id_or_reply(c, argv[i + 1], 0, True)
                if sid is None:
                    return None
                a.minid = sid
                a.strategy = TRIM_MINID
            i += 1
            a.arg_idx = i
        elif lopt == b"limit" and moreargs:
            v = _get_ll(c, argv[i + 1])
            if v is None:
                return None
            if v < 0:
                c.add_reply_error(ERR_LIMIT_NEG)
                return None
            a.limit = v
            limit_given = True
            i += 1
        elif xadd and lopt == b"nomkstream":
            a.no_mkstream = True
        elif xadd:
            r = parse_id(opt, 0, True, True)
            if r is None:
                c.add_reply_error(ERR_INVALID_ID)
                return None
            a.id, a.seq_given = r
            a.id_given = True
            break
        else:
            c.add_reply_error(replies.SYNTAX)
            return None
        i += 1
    if a.limit and a.strategy == TRIM_NONE:
        c.add_reply_error(ERR_LIMIT_NO_STRATEGY)
        return None
    if not xadd and a.strategy == TRIM_NONE:
        c.add_reply_error(ERR_XTRIM_NO_STRATEGY)
        return None
    if _must_obey(c):
        a.limit = 0
    elif limit_given:
        if not a.approx:
            c.add_reply_error(ERR_LIMIT_NO_APPROX)
            return None
    elif a.approx:
        limit = 100 * c.server.config.stream_node_max_entries
        if limit <= 0:
            limit = 10000
        if limit > 1000000:
            limit = 1000000
        a.limit = limit
    else:
        a.limit = 0
    a.idpos = i
    return a


def stream_trim(s: Stream, a: _AddTrimArgs) -> int:
    """streamTrim plus the first-ID bookkeeping."""
    if a.strategy == TRIM_NONE:
        return 0
    if a.strategy == TRIM_MAXLEN:
        deleted = s.index.trim(maxlen=a.maxlen, approx=a.approx, limit=a.limit)
    else:
        deleted = s.index.trim(minid=a.minid, approx=a.approx, limit=a.limit)
    if s.length == 0:
        s.first_id = MIN_ID
    elif deleted:
        s.first_id = s.edge_id(True, False)
    return deleted


def _rewrite_trim(c: Any, argv: list[bytes], s: Stream, a: _AddTrimArgs) -> list[bytes]:
    """streamRewriteApproxSpecifier + streamRewriteTrimArgument."""
    out = list(c.rewritten_argv if c.rewritten_argv is not None else argv)
    out[a.arg_idx - 1] = b"="
    if a.strategy == TRIM_MAXLEN:
        out[a.arg_idx] = b"%d" % s.length
    else:
        out[a.arg_idx] = fmt_id(s.edge_id(True, True))
    return out


def stream_append(s: Stream, pairs: list, use_id: Optional[tuple], seq_given: bool,
                  cfg: Any) -> Any:
    """streamAppendItem: the new ID, or "EDOM"/"ERANGE"."""
    last = s.last_id
    if use_id is not None:
        if seq_given:
            sid = use_id
        elif last[0] == use_id[0]:
            if last[1] == UINT64_MAX:
                return "EDOM"
            sid = (last[0], last[1] + 1)
        else:
            sid = use_id
    else:
        ms = _mstime()
        if ms > last[0]:
            sid = (ms, 0)
        else:
            sid = incr_id(last) or MIN_ID
    if sid <= last:
        return "EDOM"
    if sum(map(len, pairs)) > STREAM_LISTPACK_MAX_SIZE:
        return "ERANGE"
    s.index.append(sid, pairs, cfg.stream_node_max_bytes, cfg.stream_node_max_entries)
    s.entries_added += 1
    s.last_id = sid
    if s.length == 1:
        s.first_id = sid
    return sid


def _signal_ready(db: Any, key: bytes) -> None:
    if db.blocking_keys and key in db.blocking_keys:
        db.server.signal_key_as_ready(db, key)


@command("xadd")
def xadd_command(c: Any, argv: list[bytes]) -> None:
    a = _parse_add_trim(c, argv, True)
    if a is None:
        return
    idpos = a.idpos
    field_pos = idpos + 1
    nargs = len(argv) - field_pos
    if nargs < 2 or nargs % 2 == 1:
        c.add_reply_error(replies.wrong_arity("xadd"))
        return
    if a.id_given and a.seq_given and a.id == MIN_ID:
        c.add_reply_error(ERR_XADD_ZERO)
        return
    db = c.db
    key = argv[1]
    s, ok = _lookup_stream(c, key, True)
    if not ok:
        return
    server = c.server
    if s is None:
        if a.no_mkstream:
            c.add_reply_null()
            return
        s = new_stream(server)
        db.add(key, s)
    if s.last_id == MAX_ID:
        c.add_reply_error(ERR_EXHAUSTED)
        return
    sid = stream_append(s, argv[field_pos:], a.id if a.id_given else None, a.seq_given,
                        server.config)
    if sid.__class__ is str:
        c.add_reply_error(ERR_XADD_SMALLER if sid == "EDOM" else ERR_TOO_LARGE)
        return
    idb = fmt_id(sid)
    c.add_reply_bulk(idb)
    server.notify(NOTIFY_STREAM, "xadd", key, db.id)
    server.dirty += 1
    if a.strategy != TRIM_NONE:
        if stream_trim(s, a):
            server.notify(NOTIFY_STREAM, "xtrim", key, db.id)
        if a.approx:
            c.rewritten_argv = _rewrite_trim(c, argv, s, a)
    db.signal_modified_key(key)
    if not a.id_given or not a.seq_given:
        out = list(c.rewritten_argv if c.rewritten_argv is not None else argv)
        out[idpos] = idb
        c.rewritten_argv = out
    _signal_ready(db, key)


@command("xtrim")
def xtrim_command(c: Any, argv: list[bytes]) -> None:
    a = _parse_add_trim(c, argv, False)
    if a is None:
        return
    key = argv[1]
    s, ok = _lookup_stream(c, key, True)
    if not ok:
        return
    if s is None:
        c.add_reply_int(0)
        return
    deleted = stream_trim(s, a)
    if deleted:
        server = c.server
        server.notify(NOTIFY_STREAM, "xtrim", key, c.db.id)
        if a.approx:
            c.rewritten_argv = _rewrite_trim(c, argv, s, a)
        c.db.signal_modified_key(key)
        server.dirty += deleted
    c.add_reply_int(deleted)


# ---------------------------------------------------------------------------
# XRANGE / XREVRANGE / XLEN / XDEL
# ---------------------------------------------------------------------------
def _xrange_generic(c: Any, argv: list[bytes], rev: bool) -> None:
    start_arg, end_arg = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    r = parse_range(c, start_arg, end_arg)
    if r is None:
        return
    start, end = r
    count = -1
    argc = len(argv)
    j = 4
    while j < argc:
        if argv[j].lower() == b"count" and argc - j - 1 >= 1:
            v = _get_ll(c, argv[j + 1])
            if v is None:
                return
            count = v if v >= 0 else 0
            j += 1
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    s, ok = _lookup_stream(c, argv[1])
    if not ok:
        return
    if s is None:
        c.add_reply(replies.EMPTY_ARRAY)
        return
    if count == 0:
        c.add_reply_null_array()
        return
    reply_range(c, s, start, end, 0 if count == -1 else count, rev)


@command("xrange")
def xrange_command(c: Any, argv: list[bytes]) -> None:
    _xrange_generic(c, argv, False)


@command("xrevrange")
def xrevrange_command(c: Any, argv: list[bytes]) -> None:
    _xrange_generic(c, argv, True)


@command("xlen")
def xlen_command(c: Any, argv: list[bytes]) -> None:
    s, ok = _lookup_stream(c, argv[1])
    if ok:
        c.add_reply_int(0 if s is None else s.length)


@command("xdel")
def xdel_command(c: Any, argv: list[bytes]) -> None:
    key = argv[1]
    s, ok = _lookup_stream(c, key, True)
    if not ok:
        return
    if s is None:
        c.add_reply_int(0)
        return
    ids = parse_ids_or_reply(c, argv[2:])
    if ids is None:
        return
    deleted = 0
    first_entry = False
    for sid in ids:
        if s.index.delete(sid):
            if sid == s.first_id:
                first_entry = True
            if sid > s.max_deleted_entry_id:
                s.max_deleted_entry_id = sid
            deleted += 1
    if deleted:
        if s.length == 0:
            s.first_id = MIN_ID
        elif first_entry:
            s.first_id = s.edge_id(True, False)
        server = c.server
        c.db.signal_modified_key(key)
        server.notify(NOTIFY_STREAM, "xdel", key, c.db.id)
        server.dirty += deleted
    c.add_reply_int(deleted)


# ---------------------------------------------------------------------------
# XREAD / XREADGROUP
# ---------------------------------------------------------------------------
class _XReadBlock:
    """What Redis keeps in c->bpop for a blocked XREAD/XREADGROUP."""
    __slots__ = ("ids", "count", "group", "consumer", "noack")

    def __init__(self, ids: dict, count: int, group: Optional[bytes],
                 consumer: Optional[bytes], noack: bool) -> None:
        self.ids = ids
        self.count = count
        self.group = group
        self.consumer = consumer
        self.noack = noack


def _xread_generic(c: Any, argv: list[bytes], xreadgroup: bool) -> None:
    timeout = -1
    count = 0
    streams_arg = 0
    streams_count = 0
    noack = False
    groupname = consumername = None
    argc = len(argv)
    i = 1
    while i < argc:
        moreargs = argc - i - 1
        o = argv[i].lower()
        if o == b"block" and moreargs:
            i += 1
            ok, t = parse_ll(argv[i])
            if not ok:
                c.add_reply_error(ERR_TIMEOUT_INT)
                return
            if t < 0:
                c.add_reply_error(ERR_TIMEOUT_NEG)
                return
            if t > 0:
                t += _mstime()
                if t > LLONG_MAX:
                    t = 0
            timeout = t
        elif o == b"count" and moreargs:
            i += 1
            v = _get_ll(c, argv[i])
            if v is None:
                return
            count = v if v >= 0 else 0
        elif o == b"streams" and moreargs:
            streams_arg = i + 1
            streams_count = argc - streams_arg
            if streams_count % 2:
                symbol = "ID or '>'" if xreadgroup else "ID or '$'"
                c.add_reply_error("Unbalanced '%s' list of streams: for each stream key an %s "
                                  "must be specified." % (c.cmd.fullname, symbol))
                return
            streams_count //= 2
            break
        elif o == b"group" and moreargs >= 2:
            if not xreadgroup:
                c.add_reply_error("The GROUP option is only supported by XREADGROUP. "
                                  "You called XREAD instead.")
                return
            groupname = argv[i + 1]
            consumername = argv[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                c.add_reply_error("The NOACK option is only supported by XREADGROUP. "
                                  "You called XREAD instead.")
                return
            noack = True
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        i += 1
    if streams_arg == 0:
        c.add_reply_error(replies.SYNTAX)
        return
    if xreadgroup and groupname is None:
        c.add_reply_error("Missing GROUP option for XREADGROUP")
        return
    db = c.db
    keys = argv[streams_arg:streams_arg + streams_count]
    ids: list = []
    groups: list = []
    for k in range(streams_count):
        key = keys[k]
        arg = argv[streams_arg + streams_count + k]
        o = db.lookup(key)
        if o is not None and o.__class__ is not Stream:
            c.add_reply_error(WRONGTYPE)
            return
        if groupname is not None:
            g = o.lookup_group(groupname) if o is not None else None
            if g is None:
                c.add_reply_error("-NOGROUP No such key '%s' or consumer group '%s' in "
                                  "XREADGROUP with GROUP option"
                                  % (key.decode("utf-8", "surrogateescape"),
                                     groupname.decode("utf-8", "surrogateescape")))
                return
            groups.append(g)
        if arg == b"$":
            if xreadgroup:
                c.add_reply_error("The $ ID is meaningless in the context of XREADGROUP: you "
                                  "want to read the history of this consumer by specifying a "
                                  "proper ID, or use the > ID to get new messages. The $ ID "
                                  "would just return an empty result set.")
                return
            ids.append(o.last_id if o is not None else MIN_ID)
            continue
        if arg == b">":
            if not xreadgroup:
                c.add_reply_error("The > ID can be specified only when calling XREADGROUP "
                                  "using the GROUP <group> <consumer> option.")
                return
            ids.append(MAX_ID)
            continue
        sid = parse_id_or_reply(c, arg, 0, True)
        if sid is None:
            return
        ids.append(sid)
    server = c.server
    arraylen = 0
    hdr = None
    for k in range(streams_count):
        key = keys[k]
        s = db.lookup(key)
        if s is None:
            continue
        gt = ids[k]
        serve = False
        history = False
        consumer = None
        if groups:
            g = groups[k]
            if gt != MAX_ID:
                serve = history = True
            elif s.length:
                maxid = s.index.last_id()
                if maxid > g.last_id:
                    serve = True
                    gt = g.last_id
        elif s.length:
            if s.index.last_id() > gt:
                serve = True
        if serve:
            arraylen += 1
            if arraylen == 1:
                hdr = c.add_reply_deferred_len()
            start = incr_id(gt) or MIN_ID
            if c.resp == 2:
                c.add_reply_array_len(2)
            c.add_reply_bulk(key)
            if groups:
                # 7.0 creates the consumer only when it serves it here.
                consumer = lookup_consumer(groups[k], consumername)
                if consumer is None:
                    consumer = create_consumer(c, groups[k], consumername, key)
                    if noack:
                        server.also_propagate(db.id, [_XGROUP, b"CREATECONSUMER", key,
                                                      groupname, consumername])
            if history:
                reply_range_from_pel(c, s, start, count, consumer)
            else:
                reply_range(c, s, start, MAX_ID, count, False,
                            groups[k] if groups else None, consumer, noack,
                            spi=(key, groupname) if groups else None)
            if groups:
                server.dirty += 1
    if xreadgroup:
        c.rewritten_argv = []
    if arraylen:
        if c.resp == 2:
            c.set_deferred_array_len(hdr, arraylen)
        else:
            c.set_deferred_map_len(hdr, arraylen)
        return
    if timeout != -1:
        if deny_blocking(c):
            c.add_reply_null_array()
            return
        state = _XReadBlock({keys[k]: ids[k] for k in range(streams_count)},
                            count if count else XREAD_BLOCKED_DEFAULT_COUNT,
                            groupname, consumername, noack)

        def on_ready(cc: Any, rdb: Any, rkey: bytes) -> bool:
            return _serve_blocked(state, cc, rdb, rkey)

        block_for_keys(c, keys, timeout, on_ready, None, BLOCKED_STREAM)
        return
    c.add_reply_null_array()


def _serve_blocked(state: _XReadBlock, c: Any, db: Any, key: bytes) -> bool:
    """serveClientsBlockedOnStreamKey / unblockDeletedStreamReadgroupClients."""
    s = db.lookup(key, True, False)
    if s is None or s.__class__ is not Stream:
        if state.group is not None:
            c.add_reply_error(ERR_UNBLOCKED_DELETED)
            return True
        return False
    gt = state.ids.get(key, MIN_ID)
    g = None
    if state.group is not None:
        g = s.lookup_group(state.group)
        if g is None:
            c.add_reply_error(ERR_NOGROUP_BLOCKED)
            return True
        gt = g.last_id
    if not s.last_id > gt:
        return False
    start = incr_id(gt) or MIN_ID
    consumer = None
    noack = False
    if g is not None:
        noack = state.noack
        consumer = lookup_or_create_consumer(c, g, state.consumer, key, False)
    if c.resp == 2:
        c.add_reply_array_len(1)
        c.add_reply_array_len(2)
    else:
        c.add_reply_map_len(1)
    c.add_reply_bulk(key)
    reply_range(c, s, start, MAX_ID, state.count, False, g, consumer, noack,
                spi=(key, state.group) if g is not None else None)
    return True


@command("xread")
def xread_command(c: Any, argv: list[bytes]) -> None:
    _xread_generic(c, argv, False)


@command("xreadgroup")
def xreadgroup_command(c: Any, argv: list[bytes]) -> None:
    _xread_generic(c, argv, True)


# ---------------------------------------------------------------------------
# XGROUP / XSETID
# ---------------------------------------------------------------------------
def _xgroup(c: Any, argv: list[bytes]) -> None:
    """xgroupCommand: all subcommands share its order of checks."""
    argc = len(argv)
    opt = argv[1].lower()
    mkstream = False
    entries_read = SCG_INVALID_ENTRIES_READ
    s = None
    g = None
    grpname = b""
    if argc >= 4:
        i = 5
        create = opt == b"create"
        setid = opt == b"setid"
        while i < argc:
            a = argv[i].lower()
            if create and a == b"mkstream":
                mkstream = True
                i += 1
            elif (create or setid) and a == b"entriesread" and i + 1 < argc:
                v = _get_ll(c, argv[i + 1])
                if v is None:
                    return
                if v < 0 and v != SCG_INVALID_ENTRIES_READ:
                    c.add_reply_error("value for ENTRIESREAD must be positive or -1")
                    return
                entries_read = v
                i += 2
            else:
                _subcommand_syntax_error(c, argv)
                return
        s, ok = _lookup_stream(c, argv[2], True)
        if not ok:
            return
        grpname = argv[3]
    if argc >= 4 and not mkstream:
        if s is None:
            c.add_reply_error("The XGROUP subcommand requires the key to exist. Note that for "
                              "CREATE you may want to use the MKSTREAM option to create an "
                              "empty stream automatically.")
            return
        g = s.lookup_group(grpname)
        if g is None and opt in (b"setid", b"createconsumer", b"delconsumer"):
            _nogroup_for_key(c, grpname, argv[2])
            return
    server = c.server
    db = c.db
    if argc == 2 and opt == b"help":
        c.add_reply_help("xgroup", XGROUP_HELP)
    elif opt == b"create" and 5 <= argc <= 8:
        if argv[4] == b"$":
            sid = s.last_id if s is not None else MIN_ID
        else:
            sid = parse_id_or_reply(c, argv[4], 0, True)
            if sid is None:
                return
        if s is None:
            s = new_stream(server)
            db.add(argv[2], s)
            db.signal_modified_key(argv[2])
        if s.add_group(grpname, sid, entries_read) is not None:
            c.add_reply_ok()
            server.dirty += 1
            server.notify(NOTIFY_STREAM, "xgroup-create", argv[2], db.id)
        else:
            c.add_reply_error(ERR_BUSYGROUP)
    elif opt == b"setid" and argc in (5, 7):
        if argv[4] == b"$":
            sid = s.last_id
        else:
            sid = parse_id_or_reply(c, argv[4], 0, False)
            if sid is None:
                return
        g.last_id = sid
        g.entries_read = entries_read
        c.add_reply_ok()
        server.dirty += 1
        server.notify(NOTIFY_STREAM, "xgroup-setid", argv[2], db.id)
    elif opt == b"destroy" and argc == 4:
        if g is not None:
            del s.cgroups[grpname]
            c.add_reply_int(1)
            server.dirty += 1
            server.notify(NOTIFY_STREAM, "xgroup-destroy", argv[2], db.id)
            server.signal_key_as_ready(db, argv[2])
        else:
            c.add_reply_int(0)
    elif opt == b"createconsumer" and argc == 5:
        created = create_consumer(c, g, argv[4], argv[2])
        c.add_reply_int(1 if created is not None else 0)
    elif opt == b"delconsumer" and argc == 5:
        pending = 0
        cons = lookup_consumer(g, argv[4], False)
        if cons is not None:
            pending = len(cons.pel)
            del_consumer(g, cons)
            server.dirty += 1
            server.notify(NOTIFY_STREAM, "xgroup-delconsumer", argv[2], db.id)
        c.add_reply_int(pending)
    else:
        _subcommand_syntax_error(c, argv)


for _sub in ("help", "create", "setid", "destroy", "createconsumer", "delconsumer"):
    command("xgroup|" + _sub)(_xgroup)


@command("xsetid")
def xsetid_command(c: Any, argv: list[bytes]) -> None:
    sid = parse_id_or_reply(c, argv[2], 0, True)
    if sid is None:
        return
    max_xdel = MIN_ID
    entries_added = -1
    argc = len(argv)
    i = 3
    while i < argc:
        moreargs = argc - 1 - i
        opt = argv[i].lower()
        if opt == b"entriesadded" and moreargs:
            v = _get_ll(c, argv[i + 1])
            if v is None:
                return
            if v < 0:
                c.add_reply_error("entries_added must be positive")
                return
            entries_added = v
            i += 2
        elif opt == b"maxdeletedid" and moreargs:
            mx = parse_id_or_reply(c, argv[i + 1], 0, True)
            if mx is None:
                return
            if sid < mx:
                c.add_reply_error("The ID specified in XSETID is smaller than the provided "
                                  "max_deleted_entry_id")
                return
            max_xdel = mx
            i += 2
        else:
            c.add_reply_error(replies.SYNTAX)
            return
    s, ok = _lookup_stream(c, argv[1], True)
    if not ok:
        return
    if s is None:
        c.add_reply_error(replies.NO_SUCH_KEY)
        return
    if s.length > 0:
        maxid = s.index.last_id()
        if sid < maxid:
            c.add_reply_error("The ID specified in XSETID is smaller than the target stream "
                              "top item")
            return
        if entries_added != -1 and s.length > entries_added:
            c.add_reply_error("The entries_added specified in XSETID is smaller than the "
                              "target stream length")
            return
    s.last_id = sid
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel != MIN_ID:
        s.max_deleted_entry_id = max_xdel
    c.add_reply_ok()
    server = c.server
    server.dirty += 1
    server.notify(NOTIFY_STREAM, "xsetid", argv[1], c.db.id)


# ---------------------------------------------------------------------------
# XACK / XPENDING / XCLAIM / XAUTOCLAIM
# ---------------------------------------------------------------------------
@command("xack")
def xack_command(c: Any, argv: list[bytes]) -> None:
    s, ok = _lookup_stream(c, argv[1])
    if not ok:
        return
    g = s.lookup_group(argv[2]) if s is not None else None
    if g is None:
        c.add_reply_int(0)
        return
    ids = parse_ids_or_reply(c, argv[3:])
    if ids is None:
        return
    acked = 0
    server = c.server
    for sid in ids:
        nack = g.pel.get(sid)
        if nack is not None:
            g.pel.remove(sid)
            nack.consumer.pel.remove(sid)
            acked += 1
            server.dirty += 1
    c.add_reply_int(acked)




@command("xpending")
def xpending_command(c: Any, argv: list[bytes]) -> None:
    argc = len(argv)
    justinfo = argc == 3
    if argc != 3 and (argc < 6 or argc > 9):
        c.add_reply_error(replies.SYNTAX)
        return
    minidle = 0
    consumername = None
    start = end = MIN_ID
    count = 0
    if argc >= 6:
        startidx = 3
        if argv[3].lower() == b"idle":
            v = _get_ll(c, argv[4])
            if v is None:
                return
            minidle = v
            if argc < 8:
                c.add_reply_error(replies.SYNTAX)
                return
            startidx += 2
        v = _get_ll(c, argv[startidx + 2])
        if v is None:
            return
        count = v if v >= 0 else 0
        r = parse_range(c, argv[startidx], argv[startidx + 1])
        if r is None:
            return
        start, end = r
        if startidx + 3 < argc:
            consumername = argv[startidx + 3]
    sg = _lookup_group(c, argv[1], argv[2])
    if sg is None:
        return
    g = sg[1]
    if justinfo:
        c.add_reply_array_len(4)
        pel = g.pel
        c.add_reply_int(len(pel))
        if not len(pel):
            c.add_reply_null()
            c.add_reply_null()
            c.add_reply_null_array()
            return
        c.add_reply_bulk(fmt_id(pel.ids[0]))
        c.add_reply_bulk(fmt_id(pel.ids[-1]))
        rows = [(cons.name, len(cons.pel)) for cons in g.consumers() if len(cons.pel)]
        c.add_reply_array_len(len(rows))
        for name, n in rows:
            c.add_reply_array_len(2)
            c.add_reply_bulk(name)
            c.add_reply_bulk(b"%d" % n)
        return
    if consumername is not None:
        cons = lookup_consumer(g, consumername, False)
        if cons is None:
            c.add_reply(replies.EMPTY_ARRAY)
            return
        pel = cons.pel
    else:
        pel = g.pel
    now = _mstime()
    idx = c.add_reply_deferred_len()
    n = 0
    ids = pel.ids
    i = pel.index_ge(start)
    while count and i < len(ids) and ids[i] <= end:
        sid = ids[i]
        i += 1
        nack = pel.map[sid]
        if minidle and now - nack.delivery_time < minidle:
            continue
        n += 1
        count -= 1
        c.add_reply_array_len(4)
        c.add_reply_bulk(fmt_id(sid))
        c.add_reply_bulk(nack.consumer.name)
        elapsed = now - nack.delivery_time
        c.add_reply_int(elapsed if elapsed > 0 else 0)
        c.add_reply_int(nack.delivery_count)
    c.set_deferred_array_len(idx, n)


def _claim_entry(c: Any, s: Stream, g: ConsumerGroup, key: bytes, groupname: bytes,
                 idarg: bytes, sid: tuple, nack: Nack, consumer: Consumer,
                 delivery_time: int, retrycount: int, justid: bool) -> None:
    """XCLAIM / XAUTOCLAIM of one existing entry: hand its NACK to
    ``consumer``, update the delivery time and count, reply with the entry
    (or only its ID) and propagate the claim."""
    if nack.consumer is not consumer:
        if nack.consumer is not None:
            nack.consumer.pel.remove(sid)
        consumer.pel.insert(sid, nack)
        nack.consumer = consumer
    nack.delivery_time = delivery_time
    if retrycount >= 0:
        nack.delivery_count = retrycount
    elif not justid:
        nack.delivery_count += 1
    if justid:
        c.add_reply_bulk(fmt_id(sid))
    else:
        _reply_entry(c, sid, s.index.get(sid))
    _propagate_xclaim(c, key, g, groupname, idarg, nack)
    c.server.dirty += 1


def _claim_deleted(c: Any, g: ConsumerGroup, key: bytes, groupname: bytes,
                   idarg: bytes, sid: tuple, nack: Nack) -> None:
    """XCLAIM / XAUTOCLAIM met a pending ID whose entry was deleted: drop
    it from the PELs and propagate the claim so replicas drop it too."""
    _propagate_xclaim(c, key, g, groupname, idarg, nack)
    c.server.dirty += 1
    g.pel.remove(sid)
    nack.consumer.pel.remove(sid)


@command("xclaim")
def xclaim_command(c: Any, argv: list[bytes]) -> None:
    key, groupname = argv[1], argv[2]
    sg = _lookup_group(c, key, groupname)
    if sg is None:
        return
    s, g = sg
    minidle = _get_ll(c, argv[4], "Invalid min-idle-time argument for XCLAIM")
    if minidle is None:
        return
    if minidle < 0:
        minidle = 0
    argc = len(argv)
    ids = []
    j = 5
    while j < argc:
        r = parse_id(argv[j], 0, True)
        if r is None:
            break
        ids.append(r[0])
        j += 1
    last_id_arg = j - 1
    now = _mstime()
    last_id = MIN_ID
    deliverytime = -1
    retrycount = -1
    force = justid = False
    while j < argc:
        moreargs = argc - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and moreargs:
            j += 1
            v = _get_ll(c, argv[j], "Invalid IDLE option argument for XCLAIM")
            if v is None:
                return
            deliverytime = now - v
        elif opt == b"time" and moreargs:
            j += 1
            v = _get_ll(c, argv[j], "Invalid TIME option argument for XCLAIM")
            if v is None:
                return
            deliverytime = v
        elif opt == b"retrycount" and moreargs:
            j += 1
            v = _get_ll(c, argv[j], "Invalid RETRYCOUNT option argument for XCLAIM")
            if v is None:
                return
            retrycount = v
        elif opt == b"lastid" and moreargs:
            j += 1
            sid = parse_id_or_reply(c, argv[j], 0, True)
            if sid is None:
                return
            last_id = sid
        else:
            c.add_reply_error("Unrecognized XCLAIM option '%s'"
                              % argv[j].decode("utf-8", "surrogateescape"))
            return
        j += 1
    server = c.server
    propagate_last_id = False
    if last_id > g.last_id:
        g.last_id = last_id
        propagate_last_id = True
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    consumer = None
    name = argv[3]
    idx = c.add_reply_deferred_len()
    n = 0
    for k, sid in enumerate(ids):
        idarg = argv[5 + k]
        nack = g.pel.get(sid)
        if not s.index.exists(sid):
            if nack is not None:
                _claim_deleted(c, g, key, groupname, idarg, sid, nack)
                propagate_last_id = False
            continue
        if force and nack is None:
            nack = Nack(None, now)
            g.pel.insert(sid, nack)
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = lookup_or_create_consumer(c, g, name, key)
        _claim_entry(c, s, g, key, groupname, idarg, sid, nack, consumer,
                     deliverytime, retrycount, justid)
        n += 1
        propagate_last_id = False
    if propagate_last_id:
        _propagate_group_id(c, key, g, groupname)
        server.dirty += 1
    c.set_deferred_array_len(idx, n)
    c.rewritten_argv = []


@command("xautoclaim")
def xautoclaim_command(c: Any, argv: list[bytes]) -> None:
    key, groupname = argv[1], argv[2]
    minidle = _get_ll(c, argv[4], "Invalid min-idle-time argument for XAUTOCLAIM")
    if minidle is None:
        return
    if minidle < 0:
        minidle = 0
    start = parse_bound(c, argv[5], True)
    if start is None:
        return
    count = 100
    justid = False
    argc = len(argv)
    j = 6
    attempts_factor = 10
    while j < argc:
        moreargs = argc - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and moreargs:
            ok, v = parse_ll(argv[j + 1])
            if not ok or v < 1 or v > LONG_MAX // 16:
                c.add_reply_error("COUNT must be > 0")
                return
            count = v
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    sg = _lookup_group(c, key, groupname)
    if sg is None:
        return
    s, g = sg
    consumer = None
    name = argv[3]
    attempts = count * attempts_factor
    c.add_reply_array_len(3)
    cursor_idx = c.add_reply_deferred_len()
    arr_idx = c.add_reply_deferred_len()
    pel = g.pel
    ids = pel.ids
    i = pel.index_ge(start)
    now = _mstime()
    n = 0
    deleted_ids = []
    while attempts and count and i < len(ids):
        attempts -= 1
        sid = ids[i]
        nack = pel.map[sid]
        if not s.index.exists(sid):
            _claim_deleted(c, g, key, groupname, fmt_id(sid), sid, nack)
            deleted_ids.append(sid)
            count -= 1
            continue
        i += 1
        if minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = lookup_or_create_consumer(c, g, name, key)
        _claim_entry(c, s, g, key, groupname, fmt_id(sid), sid, nack, consumer,
                     now, -1, justid)
        n += 1
        count -= 1
    cursor = ids[i] if i < len(ids) else MIN_ID
    c.set_deferred_array_len(arr_idx, n)
    if not c.reply_off:
        cb = fmt_id(cursor)
        c.reply[cursor_idx] = b"$%d\r\n%b\r\n" % (len(cb), cb)
    c.add_reply_bulks([fmt_id(x) for x in deleted_ids])
    c.rewritten_argv = []


# ---------------------------------------------------------------------------
# XINFO
# ---------------------------------------------------------------------------
def _reply_group_position(c: Any, s: Stream, g: ConsumerGroup) -> None:
    """The "last-delivered-id", "entries-read" and "lag" fields a group has
    in both XINFO GROUPS and XINFO STREAM FULL (unknown values are nulls)."""
    c.add_reply_bulk(b"last-delivered-id")
    c.add_reply_bulk(fmt_id(g.last_id))
    c.add_reply_bulk(b"entries-read")
    if g.entries_read != SCG_INVALID_ENTRIES_READ:
        c.add_reply_int(g.entries_read)
    else:
        c.add_reply_null()
    c.add_reply_bulk(b"lag")
    lag = group_lag(s, g)
    if lag is None:
        c.add_reply_null()
    else:
        c.add_reply_int(lag)


def _reply_full_pel(c: Any, pel: PelMap, count: int, with_owner: bool) -> None:
    """XINFO STREAM FULL's "pel-count" and "pending" fields of a group (each
    row names the owning consumer) or of one consumer (it does not)."""
    c.add_reply_bulk(b"pel-count")
    c.add_reply_int(len(pel))
    c.add_reply_bulk(b"pending")
    items = list(pel.items())
    if count:
        items = items[:count]
    c.add_reply_array_len(len(items))
    for sid, nack in items:
        c.add_reply_array_len(4 if with_owner else 3)
        c.add_reply_bulk(fmt_id(sid))
        if with_owner:
            c.add_reply_bulk(nack.consumer.name)
        c.add_reply_int(nack.delivery_time)
        c.add_reply_int(nack.delivery_count)


def _xinfo_stream(c: Any, argv: list[bytes], s: Stream) -> None:
    optv = argv[3:]
    full = True
    count = 10
    if not optv:
        full = False
    else:
        if len(optv) not in (1, 3) or optv[0].lower() != b"full":
            _subcommand_syntax_error(c, argv)
            return
        if len(optv) == 3:
            if optv[1].lower() != b"count":
                _subcommand_syntax_error(c, argv)
                return
            v = _get_ll(c, optv[2])
            if v is None:
                return
            count = v if v >= 0 else 10
    c.add_reply_map_len(9 if full else 10)
    c.add_reply_bulk(b"length")
    c.add_reply_int(s.length)
    c.add_reply_bulk(b"radix-tree-keys")
    c.add_reply_int(len(s.index))
    c.add_reply_bulk(b"radix-tree-nodes")
    c.add_reply_int(s.index.rax_nodes())
    c.add_reply_bulk(b"last-generated-id")
    c.add_reply_bulk(fmt_id(s.last_id))
    c.add_reply_bulk(b"max-deleted-entry-id")
    c.add_reply_bulk(fmt_id(s.max_deleted_entry_id))
    c.add_reply_bulk(b"entries-added")
    c.add_reply_int(s.entries_added)
    c.add_reply_bulk(b"recorded-first-entry-id")
    c.add_reply_bulk(fmt_id(s.first_id))
    if not full:
        c.add_reply_bulk(b"groups")
        c.add_reply_int(len(s.cgroups) if s.cgroups else 0)
        c.add_reply_bulk(b"first-entry")
        if not reply_range(c, s, MIN_ID, MAX_ID, 1, False, raw=True)[0]:
            c.add_reply_null()
        c.add_reply_bulk(b"last-entry")
        if not reply_range(c, s, MIN_ID, MAX_ID, 1, True, raw=True)[0]:
            c.add_reply_null()
        return
    c.add_reply_bulk(b"entries")
    reply_range(c, s, MIN_ID, MAX_ID, count, False)
    c.add_reply_bulk(b"groups")
    groups = s.groups()
    c.add_reply_array_len(len(groups))
    for g in groups:
        c.add_reply_map_len(7)
        c.add_reply_bulk(b"name")
        c.add_reply_bulk(g.name)
        _reply_group_position(c, s, g)
        _reply_full_pel(c, g.pel, count, True)
        c.add_reply_bulk(b"consumers")
        consumers = g.consumers()
        c.add_reply_array_len(len(consumers))
        for cons in consumers:
            c.add_reply_map_len(4)
            c.add_reply_bulk(b"name")
            c.add_reply_bulk(cons.name)
            c.add_reply_bulk(b"seen-time")
            c.add_reply_int(cons.seen_time)
            _reply_full_pel(c, cons.pel, count, False)


def _xinfo(c: Any, argv: list[bytes]) -> None:
    opt = argv[1].lower()
    if opt == b"help":
        c.add_reply_help("xinfo", XINFO_HELP)
        return
    key = argv[2]
    s, ok = _lookup_stream(c, key)
    if not ok:
        return
    if s is None:
        c.add_reply_error(replies.NO_SUCH_KEY)
        return
    argc = len(argv)
    if opt == b"consumers" and argc == 4:
        g = s.lookup_group(argv[3])
        if g is None:
            _nogroup_for_key(c, argv[3], key)
            return
        consumers = g.consumers()
        c.add_reply_array_len(len(consumers))
        now = _mstime()
        for cons in consumers:
            idle = now - cons.seen_time
            c.add_reply_map_len(3)
            c.add_reply_bulk(b"name")
            c.add_reply_bulk(cons.name)
            c.add_reply_bulk(b"pending")
            c.add_reply_int(len(cons.pel))
            c.add_reply_bulk(b"idle")
            c.add_reply_int(idle if idle > 0 else 0)
    elif opt == b"groups" and argc == 3:
        groups = s.groups()
        c.add_reply_array_len(len(groups))
        for g in groups:
            c.add_reply_map_len(6)
            c.add_reply_bulk(b"name")
            c.add_reply_bulk(g.name)
            c.add_reply_bulk(b"consumers")
            c.add_reply_int(len(g.consumer_map))
            c.add_reply_bulk(b"pending")
            c.add_reply_int(len(g.pel))
            _reply_group_position(c, s, g)
    elif opt == b"stream":
        _xinfo_stream(c, argv, s)
    else:
        _subcommand_syntax_error(c, argv)


for _sub in ("help", "stream", "groups", "consumers"):
    command("xinfo|" + _sub)(_xinfo)
