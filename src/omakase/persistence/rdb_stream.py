"""Streams in the RDB format: ``RDB_TYPE_STREAM_LISTPACKS_2`` written as
Redis 7.0 writes it, types 15, 19 and 21 read (the stream halves of
``rdbSaveObject`` / ``rdbLoadObject`` in ``rdb.c``, plus
``streamValidateListpackIntegrity`` from ``t_stream.c``).

This module only plugs into ``persistence/rdb.py``'s registries
(``VALUE_WRITERS[Stream]``, ``VALUE_READERS[15/19/21]``); ``rdb.py`` imports
it at its end, so DUMP, RESTORE, SAVE, BGSAVE, the AOF base and DEBUG
OBJECT's serializedlength handle streams with no other change.

The encoding (type 19)
----------------------
::

    nodes                        RDB length
    per node: master key         RDB string (the 16-byte big-endian ID)
              listpack           RDB string (LZF as any string: > 20 bytes,
                                 rdbcompression yes, saves at least 4 bytes)
    length                       RDB length
    last_id ms, seq              RDB lengths
    first_id ms, seq             RDB lengths  (the "recorded" first ID)
    max_deleted_entry_id ms, seq RDB lengths
    entries_added                RDB length
    groups                       RDB length
    per group (name order):
        name                     RDB string
        last_id ms, seq          RDB lengths
        entries_read             RDB length (-1 is written as 2**64 - 1)
        global PEL: count        RDB length
            per entry (ID order): 16-byte raw ID, delivery time (8 bytes LE
                                 ms), delivery count (RDB length)
        consumers: count         RDB length
            per consumer (name order): name (RDB string), seen time (8 bytes
                                 LE ms), PEL count (RDB length), 16-byte raw
                                 IDs (resolved against the global PEL on load)

The node listpacks are written verbatim: ``encodings/stream_index.py`` keeps
them in Redis's exact node format, so a stream dumps byte-identically to
Redis's DUMP of the same stream.

Type 15 (Redis 5/6) lacks first_id, max_deleted_entry_id, entries_added and
each group's entries_read; they are computed as Redis computes them on load:
entries_added = length, max deleted = 0-0, first_id = the first live entry
(``streamGetEdgeID``, MAX_ID when empty), entries_read =
``streamEstimateDistanceFromFirstEverEntry``.  Type 21 (Redis 7.2) adds each
consumer's active time after its seen time; it is read and dropped.
DIVERGENCE: Redis 7.0 does not know type 21; it can only arrive here inside
a version-10 file, since RESTORE's type check and the file version check in
``rdb.py`` still refuse everything newer.

Validation
----------
Always (whatever ``sanitize-dump-payload`` says): node keys of 16 bytes, no
duplicate node, group, consumer or PEL entry, listpack headers, no empty
listpack, "length but no nodes", and a structural walk of every node: the
master entry (count, deleted, field count, fields, the 0 terminator), every
entry's flags, ID deltas, field count and lp-count, nothing after the last
entry (what ``streamValidateListpackIntegrity`` checks in deep mode), plus:

* the master entry's counters equal the live and deleted entries found, and
  the counts of all nodes add up to the stream's length;
* live entries are in strictly increasing ID order across the whole stream,
  none below its node's master ID, none above ``last_id`` (deleted entries
  are not ordered: after ``XDEL`` of the top entry and ``XSETID`` below it,
  Redis appends lower IDs after the tombstone);
* every consumer PEL ID is in the group's PEL (``Consumer entry not found in
  group global PEL``), and every group PEL entry has exactly one consumer.

The walk decodes each node once (``Listpack.to_values``): loading a
100,000-entry stream from a file takes about 0.5 s here, a fraction of
what building it with XADD costs.

In deep mode (``rdb.py``'s ``ctx.deep``: RESTORE always, files under
``sanitize-dump-payload yes``) each listpack is also walked entry by entry
(encodings, back lengths, element count) and counted in INFO's
``dump_payload_sanitizations``.

DIVERGENCE: the checks above are stricter than Redis 7.0, which only walks
the node structure in deep mode and never checks the counters, the order,
the length or the PEL owners (a "PEL entry without consumer" only in deep
mode): a corrupt stream is refused here instead of loaded broken.  A
structurally valid node whose integer fields are stored as strings that
parse as integers (never written by Redis, accepted by its
``lpGetIntegerIfValid``) is refused too.  Every failure is an ``RdbError``;
nothing half-built escapes.  (Fuzzing against redis-server 7.0 under
``sanitize-dump-payload yes`` finds no payload omakase accepts and Redis
refuses; the reverse happens for the stricter checks above, and for lengths
with an invalid encoding, which Redis's loader reads as 2**64 - 1.)
"""
from __future__ import annotations

from omakase.encodings.listpack import Listpack
from omakase.encodings.stream_index import (FLAG_DELETED, FLAG_SAMEFIELDS, MIN_ID, UINT64_MAX,
                                            decode_id, encode_id)
from omakase.persistence.rdb import (RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_2,
                                     VALUE_READERS, VALUE_WRITERS, LoadContext, Reader,
                                     save_len, save_millis, save_string)
from omakase.types.stream import Consumer, Nack, Stream, estimate_distance

__all__ = ["RDB_TYPE_STREAM_LISTPACKS_3", "write_stream", "read_stream"]

RDB_TYPE_STREAM_LISTPACKS_3 = 21

_INT64_SIGN = 1 << 63
_BAD_LP = "Stream listpack integrity check failed."


# ---------------------------------------------------------------------------
# Writing (rdbSaveObject, OBJ_STREAM)
# ---------------------------------------------------------------------------
def write_stream(out: bytearray, s: Stream, compress: bool) -> int:
    """Append the STREAM_LISTPACKS_2 encoding of ``s``; returns 19."""
    save_len(out, len(s.index))
    for key, blob in s.rdb_nodes():
        save_string(out, key, compress)
        save_string(out, blob, compress)
    save_len(out, s.length)
    for ms, seq in (s.last_id, s.first_id, s.max_deleted_entry_id):
        save_len(out, ms)
        save_len(out, seq)
    save_len(out, s.entries_added)
    groups = s.groups()
    save_len(out, len(groups))
    for g in groups:
        save_string(out, g.name, compress)
        save_len(out, g.last_id[0])
        save_len(out, g.last_id[1])
        save_len(out, g.entries_read & UINT64_MAX)
        save_len(out, len(g.pel))
        for id16, delivery_time, delivery_count, _owner in g.rdb_pel():
            out += id16
            save_millis(out, delivery_time)
            save_len(out, delivery_count)
        consumers = g.consumers()
        save_len(out, len(consumers))
        for cons in consumers:
            save_string(out, cons.name, compress)
            save_millis(out, cons.seen_time)
            pel = cons.pel
            save_len(out, len(pel))
            for sid in pel.ids:
                out += encode_id(sid)
    return RDB_TYPE_STREAM_LISTPACKS_2


# ---------------------------------------------------------------------------
# Reading (rdbLoadObject, RDB_TYPE_STREAM_LISTPACKS*)
# ---------------------------------------------------------------------------
def _walk_node(r: Reader, lp: Listpack, master: tuple, prev: tuple | None) -> tuple:
    """The structural walk of one node (see the module docstring).  Returns
    ``(live entries, last live ID or prev)``; raises RdbError."""
    try:
        vals = lp.to_values()
    except (ValueError, IndexError, TypeError):
        raise r.error(_BAD_LP) from None
    n = len(vals)
    if n < 4:
        raise r.error(_BAD_LP)
    count, deleted, nf = vals[0], vals[1], vals[2]
    if (count.__class__ is not int or deleted.__class__ is not int or nf.__class__ is not int
            or count < 0 or deleted < 0 or nf < 0 or count + deleted > n):
        raise r.error(_BAD_LP)
    p = 3 + nf
    if p >= n or vals[p].__class__ is not int or vals[p] != 0:
        raise r.error(_BAD_LP)
    p += 1
    mms, mseq = master
    live = dead = 0
    last = prev
    for _ in range(count + deleted):
        if p + 4 > n:
            raise r.error(_BAD_LP)
        flags, dms, dseq = vals[p], vals[p + 1], vals[p + 2]
        if (flags.__class__ is not int or dms.__class__ is not int
                or dseq.__class__ is not int or not 0 <= flags <= 3):
            raise r.error(_BAD_LP)
        if flags & FLAG_SAMEFIELDS:
            q = p + 3 + nf
            expect = 3 + nf
        else:
            f = vals[p + 3]
            if f.__class__ is not int or f < 0:
                raise r.error(_BAD_LP)
            q = p + 4 + 2 * f
            expect = 4 + 2 * f
        if q >= n or vals[q].__class__ is not int or vals[q] != expect:
            raise r.error(_BAD_LP)
        if flags & FLAG_DELETED:
            dead += 1
        else:
            live += 1
            sid = ((mms + dms) & UINT64_MAX, (mseq + dseq) & UINT64_MAX)
            if sid < master or (last is not None and sid <= last):
                raise r.error("Stream entries out of order")
            last = sid
        p = q + 1
    if p != n or live != count or dead != deleted:
        raise r.error(_BAD_LP)
    return count, last


def _read_nodes(r: Reader, ctx: LoadContext, s: Stream) -> tuple:
    """Load the nodes into ``s.index``; returns (sum of counts, last live ID)."""
    nodes = r.read_len()
    loaded: list[tuple[bytes, Listpack]] = []
    seen: set[bytes] = set()
    for _ in range(nodes):
        key = r.read_string()
        if len(key) != 16:
            raise r.error("Stream node key entry is not the size of a stream ID")
        blob = r.read_string()
        ctx.sanitized()
        try:
            lp = Listpack.from_bytes(blob, validate=ctx.deep)
        except (ValueError, IndexError, TypeError):
            raise r.error(_BAD_LP) from None
        if not len(lp):
            raise r.error("Empty listpack inside stream")
        if key in seen:
            raise r.error("Listpack re-added with existing key")
        seen.add(key)
        loaded.append((key, lp))
    # Nodes are walked in ID order (Redis's rax sorts them whatever the
    # order in the payload; Redis itself always writes them sorted).
    if any(loaded[i][0] >= loaded[i + 1][0] for i in range(len(loaded) - 1)):
        loaded.sort(key=lambda kv: kv[0])
    total = 0
    last = None
    index = s.index
    for key, lp in loaded:
        count, last = _walk_node(r, lp, decode_id(key), last)
        total += count
        index.keys.append(key)
        index.nodes.append(lp)
    return total, last


def _read_id(r: Reader) -> tuple:
    ms = r.read_len()
    return ms, r.read_len()


def read_stream(r: Reader, ctx: LoadContext, rdbtype: int = RDB_TYPE_STREAM_LISTPACKS_2
                ) -> Stream:
    """One stream value of type 15, 19 or 21 (never None: an empty stream
    is a valid value)."""
    s = Stream(ctx.lru)
    total, last_live = _read_nodes(r, ctx, s)
    length = r.read_len()
    s.index.length = length
    s.last_id = _read_id(r)
    if rdbtype == RDB_TYPE_STREAM_LISTPACKS:
        s.max_deleted_entry_id = MIN_ID
        s.entries_added = length
        s.first_id = s.edge_id(True, False)
    else:
        s.first_id = _read_id(r)
        s.max_deleted_entry_id = _read_id(r)
        s.entries_added = r.read_len()
    if length and not s.index.keys:
        raise r.error("Stream length inconsistent with rax entries")
    if length != total:
        raise r.error("Stream length inconsistent with the nodes' entry counts")
    if last_live is not None and last_live > s.last_id:
        raise r.error("Stream entry above the stream's last ID")
    for _ in range(r.read_len()):
        _read_group(r, s, rdbtype)
    return s


def _read_group(r: Reader, s: Stream, rdbtype: int) -> None:
    name = r.read_string()
    last_id = _read_id(r)
    if rdbtype == RDB_TYPE_STREAM_LISTPACKS:
        entries_read = estimate_distance(s, last_id)
    else:
        entries_read = r.read_len()
        if entries_read >= _INT64_SIGN:       # a long long in Redis: -1 is 2**64 - 1
            entries_read -= 1 << 64
    g = s.add_group(name, last_id, entries_read)
    if g is None:
        raise r.error("Duplicated consumer group name %s"
                      % name.decode("utf-8", "backslashreplace"))
    pel = g.pel
    for _ in range(r.read_len()):
        sid = decode_id(r.read(16))
        nack = Nack(None, r.read_millis())
        nack.delivery_count = r.read_len()
        if not pel.insert(sid, nack):
            raise r.error("Duplicated global PEL entry loading stream consumer group")
    consumers = g.consumer_map
    for _ in range(r.read_len()):
        cname = r.read_string()
        if cname in consumers:
            raise r.error("Duplicate stream consumer detected.")
        cons = consumers[cname] = Consumer(cname, r.read_millis())
        if rdbtype == RDB_TYPE_STREAM_LISTPACKS_3:
            r.read_millis()                   # active_time (7.2): not kept
        cpel = cons.pel
        for _ in range(r.read_len()):
            sid = decode_id(r.read(16))
            nack = pel.get(sid)
            if nack is None:
                raise r.error("Consumer entry not found in group global PEL")
            if nack.consumer is not None:
                raise r.error("Duplicated consumer PEL entry  loading a stream consumer group")
            nack.consumer = cons
            cpel.insert(sid, nack)
    for _sid, nack in pel.items():
        if nack.consumer is None:
            raise r.error("Stream CG PEL entry without consumer")


def _reader(rdbtype: int):
    def read(r: Reader, ctx: LoadContext) -> Stream:
        return read_stream(r, ctx, rdbtype)
    return read


VALUE_WRITERS[Stream] = write_stream
for _t in (RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_2, RDB_TYPE_STREAM_LISTPACKS_3):
    VALUE_READERS[_t] = _reader(_t)
del _t
