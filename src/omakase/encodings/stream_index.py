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

from omakase.encodings.listpack import Listpack

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


def node_append(lp: Listpack, master: tuple, sid: tuple, pairs: list) -> None:
    """Append an entry to an existing node (count + 1, SAMEFIELDS if the
    field names equal the master's, in order)."""
    lp.replace(0, _int(lp.get_value(0)) + 1)
    nf = len(pairs) // 2
    same = False
    mnf = _int(lp.get_value(2))
    if mnf == nf:
        same = lp.range(3, 3 + nf) == pairs[0::2]
    if same:
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
            new = False
            if lp.nbytes + sum(map(len, pairs)) >= limit:
                new = True
            elif max_entries:
                count, deleted = node_counts(lp)
                if count + deleted >= max_entries:
                    new = True
            if not new:
                node_append(lp, decode_id(self.keys[-1]), sid, pairs)
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
        for _ in self.range(sid, sid):
            return True
        return False

    def get(self, sid: tuple) -> Optional[list]:
        for _eid, pairs in self.range(sid, sid):
            return pairs
        return None

    def range(self, start: tuple = MIN_ID, end: tuple = MAX_ID, rev: bool = False,
              tombstones: bool = False) -> Iterator[tuple]:
        """Entries ``(id, pairs)`` with start <= id <= end, in ID order or
        reversed (``streamIteratorStart``/``GetID``); deleted entries are
        skipped unless ``tombstones``.  The iterator works node by node on
        decoded snapshots, so callers may change the stream between items
        only if they stop iterating (as Redis's callers do)."""
        keys = self.keys
        nodes = self.nodes
        if not keys:
            return
        if not rev:
            i = 0
            if start != MIN_ID:
                i = self.seek_le(encode_id(start))
                if i < 0:
                    i = 0
            n = len(keys)
            while i < n:
                for eid, flags, _fpos, pairs in parse_node(nodes[i], decode_id(keys[i])):
                    if eid < start or (flags & FLAG_DELETED and not tombstones):
                        continue
                    if eid > end:
                        return
                    yield eid, pairs
                i += 1
        else:
            i = len(keys) - 1
            if end != MIN_ID:
                j = self.seek_le(encode_id(end))
                if j >= 0:
                    i = j
            while i >= 0:
                entries = parse_node(nodes[i], decode_id(keys[i]))
                for k in range(len(entries) - 1, -1, -1):
                    eid, flags, _fpos, pairs = entries[k]
                    if eid > end or (flags & FLAG_DELETED and not tombstones):
                        continue
                    if eid < start:
                        return
                    yield eid, pairs
                i -= 1

    def first_id(self, tombstones: bool = False) -> Optional[tuple]:
        for eid, _ in self.range(tombstones=tombstones):
            return eid
        return None

    def last_id(self, tombstones: bool = False) -> Optional[tuple]:
        for eid, _ in self.range(rev=True, tombstones=tombstones):
            return eid
        return None

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
