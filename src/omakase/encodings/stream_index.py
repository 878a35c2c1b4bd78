"""Stream storage: an ordered index of listpack nodes (Redis's ``t_stream.c``
low level part, and the ``rax`` it keeps them in).

The index
---------
Redis keeps a stream's entries in a radix tree keyed by the 128-bit
big-endian ID of each node's *master entry*; the value is a listpack holding
a run of consecutive entries.  The only radix-tree operations streams use are
"seek the last key <= K", "first", "last", "next/prev", insert at the tail
and remove a key, so ``StreamIndex`` keeps two parallel Python lists: the
sorted 16-byte keys (searched with ``bisect``) and the ``Listpack`` nodes.
Appends go to the end of both lists (IDs only grow), removals are a
``del`` at the position.  ``rax_nodes()`` computes the number of nodes
Redis's rax would have for the same key set (XINFO STREAM's
``radix-tree-nodes``): for keys of equal length the compressed radix tree is
canonical -- one node for the root, one per branching prefix, one per child
of a branching prefix, one per key.

The node format (byte-exact with Redis, so an RDB writer can emit
``RDB_TYPE_STREAM_LISTPACKS_2`` nodes verbatim)
------------------------------------------------------------------------
A node's listpack starts with the master entry::

    count | deleted | num-fields | field_1 ... field_N | 0

``count`` valid entries, ``deleted`` entries flagged deleted, the field names
of the node's first entry, and a 0 that doubles as the "lp-count" of the
master entry when walking backwards.  Each entry follows::

    flags | ms-delta | seq-delta | [num-fields | f1 | v1 ... fN | vN] | lp-count
    flags | ms-delta | seq-delta | v1 ... vN | lp-count          (SAMEFIELDS)

``flags`` has ``FLAG_DELETED`` (1) and ``FLAG_SAMEFIELDS`` (2, the entry has
exactly the master's field names, which are then omitted).  The ID is stored
as the difference from the master ID.  ``lp-count`` is the number of listpack
elements of the entry before it (3 + N with SAMEFIELDS, 4 + 2N without).
Deleting never removes bytes: the entry is flagged and the counters change;
a node whose last valid entry goes is removed from the index.  Every integer
is written the way ``lpAppendInteger`` writes it, strings the way
``lpAppend`` does (``Listpack`` already picks Redis's encodings).

A new node is started when the tail node's bytes plus the new entry's field
and value bytes reach ``stream-node-max-bytes`` (0 or > 1 GiB means 1 GiB), or
when its count plus deleted reaches ``stream-node-max-entries`` (0 = no
limit), as ``streamAppendItem`` decides.

Walking a node
--------------
``range`` (and everything built on it: ``first_id``/``last_id``, ``get``,
``exists``, XRANGE/XREVRANGE/XREAD replies) walks a node element by element,
as ``streamIteratorGetID`` does with ``lpNext``/``lpPrev``, instead of
decoding the whole node: the master fields once, then per entry its flags
and ID deltas; the fields and values are decoded only for an entry that is
returned, and a skipped entry costs a table lookup per element.  Backwards,
an entry is found from its lp-count (read the count, step back that many
elements).  So ``XRANGE - + COUNT 1``, ``XREVRANGE + - COUNT 1`` and the last
valid ID XREAD needs cost one entry, not one node.  Each visited node is
read from a ``bytes`` snapshot (one memcpy of the node, at most
``stream-node-max-bytes``), so the iterator never sees a change made while
it is suspended.  Nothing is cached: a cache of decoded nodes would save
the master-field decode (a few elements) per call, but costs Python objects
per entry for as long as it lives and needs invalidation on every append,
delete and trim; the walk already touches only what it returns.  XADD reads
the tail node's master entry (count, deleted, fields) once
(``_node_head``).  ``parse_node`` (whole-node decode with flag positions)
remains for XDEL and XTRIM, which rewrite flags by element index.

Operations here are the stream's data operations only (append, delete by
ID, range iteration, trim by MAXLEN/MINID, edge IDs); IDs are
``(ms, seq)`` tuples of ints, which compare like Redis's ``streamCompareID``.
Consumer groups, metadata such as ``last_id``, and commands live in
``types/stream.py``.

DIVERGENCE: Redis shrinks a full node's allocation (``lpShrinkToFit``);
Python's ``bytearray`` slack is not observable, so nothing happens here.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from struct import Struct
from typing import Iterator, Optional

from omakase.encodings.listpack import (_DEC7, HDR_SIZE, Listpack, _decode_bytes,
                                        _decode_value, _entry_size, _prev_start, skip_entries)

FLAG_NONE = 0
FLAG_DELETED = 1
FLAG_SAMEFIELDS = 2

STREAM_LISTPACK_MAX_SIZE = 1 << 30
UINT64_MAX = (1 << 64) - 1
MIN_ID = (0, 0)
MAX_ID = (UINT64_MAX, UINT64_MAX)

_KEY = Struct(">QQ")
_pack_key = _KEY.pack
_unpack_key = _KEY.unpack

StreamID = tuple  # (ms, seq)


def encode_id(sid: tuple) -> bytes:
    """``streamEncodeID``: the 16-byte big-endian form (the rax key)."""
    return _pack_key(sid[0], sid[1])


def decode_id(key: bytes) -> tuple:
    return _unpack_key(key)


def _int(v) -> int:
    return v if v.__class__ is int else int(v)


def _delta(a: int, b: int) -> int:
    """a - b as Redis stores it: uint64 arithmetic seen as an int64."""
    d = (a - b) & UINT64_MAX
    return d - (1 << 64) if d >> 63 else d


# ---------------------------------------------------------------------------
# Incremental node walks (streamIteratorGetID's lpNext/lpPrev steps).  They
# read a node's bytes (a ``bytes`` snapshot, so slices are ``bytes``) one
# element at a time and decode only what is compared or returned: an entry's
# ID costs its three small ints, its values are decoded only if the entry is
# emitted, and a skipped entry costs one table lookup per element.
# ---------------------------------------------------------------------------
def _int_at(data: bytes, p: int) -> tuple:
    """(value, next position) of the integer element at ``p``."""
    b = data[p]
    if b < 0x80:
        return b, p + 2
    if 0xC0 <= b < 0xE0:
        v = ((b & 0x1F) << 8) | data[p + 1]
        return (v - 8192 if v >= 4096 else v), p + 3
    return _int(_decode_value(data, p)), p + _entry_size(data, p)


_skip = skip_entries     # position after ``count`` elements from ``p``


def _strs_at(data: bytes, p: int, count: int, out: list) -> int:
    """Append ``count`` elements from ``p`` to ``out`` as bytes; returns the
    position after them."""
    dec7 = _DEC7
    app = out.append
    while count:
        b = data[p]
        if b < 0x80:
            app(dec7[b])
            p += 2
        elif b < 0xC0:
            q = p + 1 + (b & 0x3F)
            app(data[p + 1:q])
            p = q + 1
        else:
            app(_decode_bytes(data, p))
            p += _entry_size(data, p)
        count -= 1
    return p


def _node_head(data: bytes) -> tuple:
    """The master entry: (count, deleted, field names, position of the
    first entry).  Read once per node, so by plain ``_int_at`` calls; the
    per-entry reads in ``_read_entry`` inline the 7-bit case instead."""
    count, p = _int_at(data, HDR_SIZE)
    deleted, p = _int_at(data, p)
    nf, p = _int_at(data, p)
    fields: list = []
    p = _strs_at(data, p, nf, fields)
    return count, deleted, fields, (p + 2 if data[p] == 0 else _skip(data, p, 1))


def _read_entry(data: bytes, p: int, mms: int, mseq: int, mfields: list, start: tuple,
                end: tuple, tombstones: bool) -> tuple:
    """Read the entry whose flags are at ``p``: ``(id, pairs, next entry
    position)``; ``pairs`` is None (nothing decoded, the elements only
    stepped over) unless start <= id <= end and the entry is live or
    ``tombstones``."""
    b = data[p]
    if b < 0x80:
        flags = b
        p += 2
    else:
        flags, p = _int_at(data, p)
    b = data[p]
    if b < 0x80:
        d = b
        p += 2
    else:
        d, p = _int_at(data, p)
    ms = (mms + d) & UINT64_MAX         # uint64 arithmetic, as stored
    b = data[p]
    if b < 0x80:
        d = b
        p += 2
    else:
        d, p = _int_at(data, p)
    eid = (ms, (mseq + d) & UINT64_MAX)
    if flags & FLAG_SAMEFIELDS:
        nv = len(mfields)
    else:
        b = data[p]
        if b < 0x80:
            nv = 2 * b
            p += 2
        else:
            nv, p = _int_at(data, p)
            nv *= 2
    if start <= eid <= end and (tombstones or not flags & FLAG_DELETED):
        if flags & FLAG_SAMEFIELDS:
            vals: list = []
            p = _strs_at(data, p, nv, vals)
            pairs: Optional[list] = [None] * (2 * nv)
            pairs[0::2] = mfields
            pairs[1::2] = vals
        else:
            pairs = []
            p = _strs_at(data, p, nv, pairs)
    else:
        pairs = None
        p = _skip(data, p, nv)
    # the lp-count: a 7-bit int unless the entry has 62+ fields
    return eid, pairs, (p + 2 if data[p] < 0x80 else _skip(data, p, 1))


def _entry_before(data: bytes, e: int) -> int:
    """Start (flags position) of the entry that ends at ``e``, or -1 when
    the element before ``e`` is the master entry's terminator (its
    lp-count 0): read the lp-count, then step back that many elements."""
    bl = data[e - 1]
    q = e - 1 - bl if bl < 128 else _prev_start(data, e)
    lpcount = _int_at(data, q)[0]
    if lpcount == 0:
        return -1
    while lpcount:
        bl = data[q - 1]
        q = q - 1 - bl if bl < 128 else _prev_start(data, q)
        lpcount -= 1
    return q


def _walk_node(data: bytes, master: tuple, start: tuple, end: tuple, rev: bool,
               tombstones: bool, limit: int, out: list) -> bool:
    """Append ``(id, pairs)`` for the node's entries with start <= id <=
    end to ``out``, in ID order or reversed, skipping deleted ones unless
    ``tombstones``, until ``out`` holds ``limit`` entries (0: no limit).
    True when the walk is over: it passed the far end of the interval or
    reached the limit."""
    mms, mseq = master
    mfields, p = _node_head(data)[2:]
    if not rev:
        last = len(data) - 1
        while p < last:
            eid, pairs, p = _read_entry(data, p, mms, mseq, mfields, start, end, tombstones)
            if pairs is not None:
                out.append((eid, pairs))
                if len(out) == limit:
                    return True
            elif eid > end:
                return True
        return False
    e = len(data) - 1
    while True:
        e = _entry_before(data, e)
        if e < 0:
            return False
        eid, pairs, _ = _read_entry(data, e, mms, mseq, mfields, start, end, tombstones)
        if pairs is not None:
            out.append((eid, pairs))
            if len(out) == limit:
                return True
        elif eid < start:
            return True


def parse_node(lp: Listpack, master: tuple) -> list:
    """Decode a node: a list of entries ``(id, flags, flags_index, pairs)``
    in order, deleted ones included; ``pairs`` is ``[f1, v1, f2, v2, ...]``
    as bytes.  ``flags_index`` is the listpack position of the flags."""
    vals = lp.to_values()
    nmaster = _int(vals[2])
    mfields = [v if v.__class__ is bytes else b"%d" % v for v in vals[3:3 + nmaster]]
    p = 4 + nmaster
    n = len(vals)
    mms, mseq = master
    out = []
    while p < n:
        flags = vals[p]
        sid = ((mms + vals[p + 1]) & UINT64_MAX, (mseq + vals[p + 2]) & UINT64_MAX)
        if flags & FLAG_SAMEFIELDS:
            raw = vals[p + 3:p + 3 + nmaster]
            pairs = []
            for f, v in zip(mfields, raw):
                pairs.append(f)
                pairs.append(v if v.__class__ is bytes else b"%d" % v)
            nxt = p + 3 + nmaster + 1
        else:
            nf = vals[p + 3]
            raw = vals[p + 4:p + 4 + 2 * nf]
            pairs = [v if v.__class__ is bytes else b"%d" % v for v in raw]
            nxt = p + 4 + 2 * nf + 1
        out.append((sid, flags, p, pairs))
        p = nxt
    return out


def new_node(sid: tuple, pairs: list) -> Listpack:
    """A node whose master entry is taken from this first entry."""
    nf = len(pairs) // 2
    fields = pairs[0::2]
    values = pairs[1::2]
    elems = [1, 0, nf]
    elems.extend(fields)
    elems.append(0)
    elems.extend((FLAG_SAMEFIELDS, 0, 0))
    elems.extend(values)
    elems.append(3 + nf)
    return Listpack(elems)


def node_append(lp: Listpack, master: tuple, sid: tuple, pairs: list,
                head: Optional[tuple] = None) -> None:
    """Append an entry to an existing node (count + 1, SAMEFIELDS if the
    field names equal the master's, in order).  ``head`` is the node's
    ``_node_head`` when the caller already read it."""
    if head is None:
        head = _node_head(lp.to_bytes())
    count, _deleted, mfields, _p = head
    lp.replace(0, count + 1)
    nf = len(pairs) // 2
    if len(mfields) == nf and mfields == pairs[0::2]:
        elems = [FLAG_SAMEFIELDS, _delta(sid[0], master[0]), _delta(sid[1], master[1])]
        elems.extend(pairs[1::2])
        elems.append(3 + nf)
    else:
        elems = [FLAG_NONE, _delta(sid[0], master[0]), _delta(sid[1], master[1]), nf]
        elems.extend(pairs)
        elems.append(4 + 2 * nf)
    lp.extend(elems)


def node_counts(lp: Listpack) -> tuple:
    """(count, deleted) of a node's master entry."""
    return _int(lp.get_value(0)), _int(lp.get_value(1))


def node_last_id(lp: Listpack, master: tuple) -> Optional[tuple]:
    """``lpGetEdgeStreamID(lp, 0, ...)``: the last entry's ID, deleted or not."""
    n = len(lp)
    lpcount = _int(lp.get_value(n - 1))
    if lpcount == 0:
        return None
    p = n - 1 - lpcount
    return ((master[0] + _int(lp.get_value(p + 1))) & UINT64_MAX,
            (master[1] + _int(lp.get_value(p + 2))) & UINT64_MAX)


class StreamIndex:
    """The ordered index of listpack nodes plus the entry count.

    ``keys[i]`` is the 16-byte master ID of ``nodes[i]``; ``length`` is the
    number of valid (not deleted) entries."""

    __slots__ = ("keys", "nodes", "length")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.nodes: list[Listpack] = []
        self.length = 0

    # -- the radix tree part ------------------------------------------------
    def __len__(self) -> int:
        return len(self.keys)

    def items(self) -> Iterator[tuple]:
        """(16-byte master key, Listpack) in ID order."""
        return zip(list(self.keys), list(self.nodes))

    def insert_node(self, key: bytes, lp: Listpack) -> None:
        """Insert a node (any position; RDB loading and tests use this)."""
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            self.nodes[i] = lp
            return
        self.keys.insert(i, key)
        self.nodes.insert(i, lp)

    def remove_node(self, i: int) -> None:
        del self.keys[i]
        del self.nodes[i]

    def seek_le(self, key: bytes) -> int:
        """Position of the last node key <= key, or -1."""
        return bisect_right(self.keys, key) - 1

    def rax_nodes(self) -> int:
        """The node count of Redis's rax holding these keys (see above)."""
        keys = self.keys
        n = len(keys)
        if n == 0:
            return 1
        pos = {b""}
        pos.update(keys)
        prev = keys[0]
        for k in keys[1:]:
            l = 0
            while prev[l] == k[l]:
                l += 1
            pos.add(k[:l])
            pos.add(k[:l + 1])
            pos.add(prev[:l + 1])
            prev = k
        return len(pos)

    def copy(self) -> "StreamIndex":
        other = StreamIndex()
        other.keys = list(self.keys)
        other.nodes = [lp.copy() for lp in self.nodes]
        other.length = self.length
        return other

    # -- entries --------------------------------------------------------------
    def append(self, sid: tuple, pairs: list, max_bytes: int, max_entries: int) -> None:
        """``streamAppendItem`` once the ID was validated."""
        nodes = self.nodes
        if nodes:
            lp = nodes[-1]
            limit = max_bytes
            if limit == 0 or limit > STREAM_LISTPACK_MAX_SIZE:
                limit = STREAM_LISTPACK_MAX_SIZE
            if lp.nbytes + sum(map(len, pairs)) < limit:
                head = _node_head(lp.to_bytes())
                if not max_entries or head[0] + head[1] < max_entries:
                    node_append(lp, _unpack_key(self.keys[-1]), sid, pairs, head)
                    self.length += 1
                    return
        self.keys.append(encode_id(sid))
        nodes.append(new_node(sid, pairs))
        self.length += 1

    def delete(self, sid: tuple) -> bool:
        """``streamDeleteItem``: flag the entry deleted; False if absent."""
        i = self.seek_le(encode_id(sid))
        if i < 0:
            return False
        lp = self.nodes[i]
        master = decode_id(self.keys[i])
        for eid, flags, fpos, _pairs in parse_node(lp, master):
            if eid == sid:
                if flags & FLAG_DELETED:
                    return False
                self._mark_deleted(i, lp, fpos, flags)
                self.length -= 1
                return True
            if eid > sid:
                break
        return False

    def _mark_deleted(self, i: int, lp: Listpack, fpos: int, flags: int) -> None:
        lp.replace(fpos, flags | FLAG_DELETED)
        count, deleted = node_counts(lp)
        if count == 1:
            self.remove_node(i)
        else:
            lp.replace(0, count - 1)
            lp.replace(1, deleted + 1)

    def exists(self, sid: tuple) -> bool:
        """``streamEntryExists``: present and not deleted."""
        return bool(self.entries(sid, sid, count=1))

    def get(self, sid: tuple) -> Optional[list]:
        r = self.entries(sid, sid, count=1)
        return r[0][1] if r else None

    def _node_order(self, start: tuple, end: tuple, rev: bool) -> range:
        """Positions of the nodes an interval walk visits, in visiting order
        (from the node holding ``start``, or ``end`` backwards)."""
        n = len(self.keys)
        if not rev:
            i = 0
            if start != MIN_ID:
                i = max(self.seek_le(encode_id(start)), 0)
            return range(i, n)
        i = n - 1
        if end != MIN_ID:
            j = self.seek_le(encode_id(end))
            if j >= 0:
                i = j
        return range(i, -1, -1)

    def entries(self, start: tuple = MIN_ID, end: tuple = MAX_ID, rev: bool = False,
                count: int = 0, tombstones: bool = False) -> list:
        """The entries ``(id, pairs)`` with start <= id <= end, in ID order
        or reversed, at most ``count`` of them (0: all), deleted ones skipped
        unless ``tombstones`` (``streamIteratorStart``/``GetID`` as
        streamReplyWithRange drives them).  Only the entries returned are
        decoded (see "Walking a node")."""
        out: list = []
        keys = self.keys
        nodes = self.nodes
        for i in self._node_order(start, end, rev):
            if _walk_node(nodes[i].to_bytes(), _unpack_key(keys[i]), start, end, rev,
                          tombstones, count, out):
                break
        return out

    def range(self, start: tuple = MIN_ID, end: tuple = MAX_ID, rev: bool = False,
              tombstones: bool = False) -> Iterator[tuple]:
        """``entries`` as an iterator that walks one node at a time (for
        whole-stream walks: DEBUG DIGEST, AOF rewrite).  Callers may change
        the stream between items only if they stop iterating."""
        keys = self.keys
        nodes = self.nodes
        for i in self._node_order(start, end, rev):
            out: list = []
            done = _walk_node(nodes[i].to_bytes(), _unpack_key(keys[i]), start, end, rev,
                              tombstones, 0, out)
            yield from out
            if done:
                return

    def first_id(self, tombstones: bool = False) -> Optional[tuple]:
        r = self.entries(count=1, tombstones=tombstones)
        return r[0][0] if r else None

    def last_id(self, tombstones: bool = False) -> Optional[tuple]:
        r = self.entries(rev=True, count=1, tombstones=tombstones)
        return r[0][0] if r else None

    def trim(self, maxlen: int = -1, minid: Optional[tuple] = None, approx: bool = False,
             limit: int = 0) -> int:
        """``streamTrim``: MAXLEN (``maxlen >= 0``) or MINID (``minid``).
        Whole nodes go first; with ``approx`` nothing inside a node is
        touched; ``limit`` (0 = none) caps the entries removed by whole
        nodes.  Returns the number of entries removed."""
        by_len = minid is None
        deleted = 0
        while self.keys:
            if by_len and self.length <= maxlen:
                break
            lp = self.nodes[0]
            entries, marked = node_counts(lp)
            if limit and deleted + entries > limit:
                break
            master = decode_id(self.keys[0])
            if by_len:
                remove = self.length - entries >= maxlen
            else:
                last = node_last_id(lp, master)
                remove = (last if last is not None else MIN_ID) < minid
            if remove:
                self.remove_node(0)
                self.length -= entries
                deleted += entries
                continue
            if approx:
                break
            removed = 0
            for eid, flags, fpos, _pairs in parse_node(lp, master):
                if by_len:
                    if self.length <= maxlen:
                        break
                elif eid >= minid:
                    break
                if not flags & FLAG_DELETED:
                    lp.replace(fpos, flags | FLAG_DELETED)
                    removed += 1
                    self.length -= 1
            deleted += removed
            lp.replace(0, entries - removed)
            lp.replace(1, marked + removed)
            break
        return deleted
