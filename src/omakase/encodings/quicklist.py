"""Quicklist: a list stored as a sequence of listpack nodes.

Mirrors Redis 7.0 ``src/quicklist.c``: ``quicklistPushHead``/``PushTail``,
``_quicklistNodeAllowInsert``, ``_quicklistNodeAllowMerge``,
``_quicklistInsert`` (with ``_quicklistSplitNode`` and
``_quicklistMergeNodes``), ``quicklistReplaceEntry``, ``quicklistDelRange``,
``quicklistDelIndex``, ``__quicklistCompress``, ``__quicklistCompressNode``,
plus the plain-node support added in 7.0 for huge elements.

Nodes
-----
Each node is a ``QuicklistNode`` with a container type:

* PACKED (2): a ``Listpack`` holding ``count`` elements;
* PLAIN (1): one element whose size is at least ``packed_threshold`` (1 GiB
  by default; ``set_packed_threshold`` backs ``DEBUG
  QUICKLIST-PACKED-THRESHOLD``), kept as raw ``bytes``.

Either kind may be LZF-compressed (``encoding`` LZF), in which case ``data``
holds the compressed bytes and ``sz`` the uncompressed size, as
``node->sz`` does in Redis.

Hot paths
---------
LPUSH/RPUSH/LPOP/RPOP are benchmark commands, so their common case is one
call each with no helper calls inside, and the quicklist edits the end
node's listpack blob itself (the one place outside listpack.py that writes
``Listpack`` internals: ``_buf``, ``_n``, ``_resp``):

* ``push_head``/``push_tail`` (returning the new ``count``): a value that is
  stored as a 6-bit-length string (under 64 bytes, not integer-looking --
  redis-benchmark's ``xxx``; ``_PUSH_LIMIT`` decides it from the first
  byte and the length, and keeps ``packed_threshold`` in it) going into a
  raw end node with room (``count < _cntmax`` and ``sz + len <= _szroom``,
  ``_quicklistNodeAllowInsert`` precomputed from the fill) and no offset
  index.  The entry is built by one %-format (``_ENTRY6``) and spliced in.
* ``pop_head_resp``/``pop_tail_resp``: an end entry that is a 6-bit string
  or a 7-bit uint, in a raw node that keeps another element, comes back
  already encoded as a RESP bulk string (its data sliced from the blob into
  a %-format, ``_BULK6``), the tables giving the entry's slices by its
  encoding byte (head) or backlen byte (tail).  Anything else returns None
  without changing the list, and the caller pops with ``pop_head``/
  ``pop_tail``.

Neither rewrites the listpack header: ``Listpack.to_bytes``/``copy``/
``validate`` rebuild it from ``len(_buf)`` and ``_n`` (see listpack.py), so
every exported blob has the bytes Redis writes.  Everything else takes the
full ``quicklistPush*``/``Pop`` logic (``_push_slow``, ``_pop_end``,
``_pop``); both give the same bytes.  ``count`` (the element count,
``ql->count``) is a plain attribute so that callers read it without a
``len()`` call.

DIVERGENCE: the nodes live in a Python ``list``, not a doubly linked list.
Pushing at the head is a pointer memmove in C, negligible next to the Python
work even at thousands of nodes, and the list gives O(1) access to the nodes
at compress depth from both ends.  Node order, node boundaries and the
listpack bytes are the ones Redis produces for the same command sequence.

LREM finds matches per node with ``Listpack.find`` (a C-level search of
the encoded element, then the boundary check; nodes without the encoded
bytes are skipped after one search) instead of decoding every element of a
node that may contain it; from the head it stops at the matches still to
remove.

Fill (``list-max-listpack-size``)
---------------------------------
``fill < 0`` (-1..-5) caps a node's listpack at 4/8/16/32/64 KiB.
``fill > 0`` caps its element count, and then SIZE_SAFETY_LIMIT (8 KiB) also
applies.  As in Redis 7.0, an insert is allowed when
``node.sz + len(value) + SIZE_ESTIMATE_OVERHEAD(8)`` fits.  A merge is
allowed when ``a.sz + b.sz - 11`` fits (and the counts, for positive fill).
Values of ``fill`` are clamped to [-5, 32767].

Merging follows Redis exactly: nodes merge only after an insert had to split
a full node.  LREM, LTRIM, pops and range deletes never merge, and neither do
they in Redis.

Compression (``list-compress-depth``)
-------------------------------------
``compress = d > 0`` keeps the ``d`` nodes at each end uncompressed and LZF
compresses interior nodes when they are created or touched, following
``__quicklistCompress``: nodes under MIN_COMPRESS_BYTES (48) are left alone,
and compression is kept only if it saves at least MIN_COMPRESS_IMPROVE (8)
bytes.  python-lzf produces the same bytes as Redis's bundled lzf.  Reads from
a compressed node decompress into a temporary and leave the node compressed
(Redis decompresses in place and recompresses afterwards, with the same
result).  A node modified in place is recompressed if it lies outside the
depth.  DIVERGENCE: Redis's per-node ``recompress`` flag is replaced by
re-applying that depth rule.  In edge cases a node may be compressed here
and not in Redis, or the other way round; the uncompressed listpack bytes
always agree.
"""

from __future__ import annotations

from typing import Iterable, Iterator, List, Optional, Tuple, Union

import lzf

from .listpack import _INT_START, Listpack, encode_entry

__all__ = [
    "Quicklist",
    "QuicklistNode",
    "PLAIN",
    "PACKED",
    "RAW",
    "LZF",
    "set_packed_threshold",
    "get_packed_threshold",
    "SIZE_SAFETY_LIMIT",
    "MIN_COMPRESS_BYTES",
    "MIN_COMPRESS_IMPROVE",
]

# Container kinds, numbered as in quicklist.h and the RDB format.
PLAIN = 1
PACKED = 2
# Node encodings (QUICKLIST_NODE_ENCODING_*).
RAW = 1
LZF = 2

OPTIMIZATION_LEVEL = (4096, 8192, 16384, 32768, 65536)
SIZE_SAFETY_LIMIT = 8192
SIZE_ESTIMATE_OVERHEAD = 8
MIN_COMPRESS_BYTES = 48
MIN_COMPRESS_IMPROVE = 8
FILL_MAX = (1 << 15) - 1
COMPRESS_MAX = (1 << 16) - 1
DEFAULT_PACKED_THRESHOLD = 1 << 30
_NO_COUNT_LIMIT = 1 << 62

# Elements of at least this many bytes get their own PLAIN node.
packed_threshold: int = DEFAULT_PACKED_THRESHOLD

# -- tables for the end fast paths (see "Hot paths") ---------------------------
# _PUSH_LIMIT[first byte]: a bytes value whose length is below this is stored
# as a 6-bit-length string entry in a packed node: 0 for bytes that may start
# an integer ('-', digits), else min(64, packed_threshold).  Kept in step with
# packed_threshold by set_packed_threshold (updated in place).
_PUSH_LIMIT: List[int] = [0 if _INT_START[c] else 64 for c in range(256)]
# By length n < 64: a %-format that wraps the n data bytes into their
# 6-bit-length string entry (encoding byte, data, one-byte backlen n + 1).
_ENTRY6 = tuple(bytes((0x80 | n,)).replace(b"%", b"%%") + b"%b" + bytes((n + 1,)).replace(b"%", b"%%")
                for n in range(64))
# By encoding byte b: for a 6-bit string (0x80..0xBF) a %-format that wraps
# its data into a RESP bulk string (the same in RESP2 and RESP3), else None;
# the RESP bulk of a 7-bit uint (b < 0x80).
_BULK6 = tuple(b"$%d\r\n%%b\r\n" % (b & 0x3F) if 0x80 <= b < 0xC0 else None for b in range(256))
_RESP7 = tuple(b"$%d\r\n%d\r\n" % (len(b"%d" % b), b) for b in range(128))
# By the encoding byte b of a 6-bit string first in a listpack: the slices
# of its data and of the whole entry (encoding, data, backlen).
_HEAD6_DATA = tuple(slice(7, 7 + (b & 0x3F)) if 0x80 <= b < 0xC0 else None for b in range(256))
_HEAD6_ENTRY = tuple(slice(6, 8 + (b & 0x3F)) if 0x80 <= b < 0xC0 else None for b in range(256))
# By the last entry's backlen byte bl: where that entry starts, counted from
# the end of the blob, when bl < 128 (a one-byte backlen); else -1, the 0xFF
# terminator, which is no entry's encoding byte.  Then, for a 6-bit string
# (of bl - 1 bytes): the slices of its data and of the whole entry.
_TAIL_AT = tuple(-2 - bl if bl < 128 else -1 for bl in range(256))
_TAIL6_DATA = tuple(slice(-1 - bl, -2) for bl in range(256))
_TAIL6_ENTRY = tuple(slice(-2 - bl, -1) for bl in range(256))
_LP_HEAD = slice(6, 6)          # insertion point after the listpack header
_LP_TAIL = slice(-1, -1)        # insertion point before the 0xFF terminator

Bytesish = Union[bytes, bytearray, memoryview]


def set_packed_threshold(sz: int) -> bool:
    """``quicklistisSetPackedThreshold``: 0 restores the 1 GiB default;
    values above 4 GiB - 1 MiB (or negative) are refused (returns False)."""
    global packed_threshold
    if sz < 0 or sz > (1 << 32) - (1 << 20):
        return False
    if sz == 0:
        sz = DEFAULT_PACKED_THRESHOLD
    packed_threshold = sz
    lim = 64 if sz > 64 else sz
    for c in range(256):
        _PUSH_LIMIT[c] = 0 if _INT_START[c] else lim
    return True


def get_packed_threshold() -> int:
    return packed_threshold


class QuicklistNode:
    """One quicklist node.  PACKED+RAW: ``lp`` is set.  Anything else:
    ``data`` holds the plain element or the LZF bytes, and ``lp`` is None."""

    __slots__ = ("container", "encoding", "lp", "data", "count", "sz", "canon")

    def __init__(self, container: int, lp: Optional[Listpack] = None, data: Optional[bytes] = None) -> None:
        self.container = container
        self.encoding = RAW
        self.canon: Optional[bool] = None
        self.lp = lp
        self.data = data
        if container == PACKED:
            assert lp is not None
            self.count = len(lp)
            self.sz = lp.nbytes
        else:
            assert data is not None
            self.count = 1
            self.sz = len(data)

    def __repr__(self) -> str:
        kind = "PLAIN" if self.container == PLAIN else "PACKED"
        enc = "LZF" if self.encoding == LZF else "RAW"
        return "<QuicklistNode %s %s count=%d sz=%d>" % (kind, enc, self.count, self.sz)

    # -- raw access ------------------------------------------------------------

    def raw_bytes(self) -> bytes:
        """Uncompressed payload: the listpack blob or the plain element."""
        if self.encoding == LZF:
            out = lzf.decompress(self.data, self.sz)
            if out is None or len(out) != self.sz:
                raise ValueError("corrupt LZF quicklist node")
            return out
        if self.container == PACKED:
            return self.lp.to_bytes()
        return self.data  # type: ignore[return-value]

    def reader(self) -> Listpack:
        """The node's listpack for reading (a temporary if compressed)."""
        if self.lp is not None:
            return self.lp
        return Listpack._adopt(bytearray(self.raw_bytes()), self.count, self.canon)

    def values(self) -> List[bytes]:
        if self.container == PLAIN:
            return [self.raw_bytes()]
        return self.reader().to_list()

    def decompress(self) -> None:
        """``__quicklistDecompressNode``: make the node RAW in place."""
        if self.encoding != LZF:
            return
        raw = self.raw_bytes()
        if self.container == PACKED:
            self.lp = Listpack._adopt(bytearray(raw), self.count, self.canon)
            self.data = None
        else:
            self.data = raw
        self.encoding = RAW

    def compress(self) -> bool:
        """``__quicklistCompressNode``: LZF the payload if it is at least
        MIN_COMPRESS_BYTES long and compression saves MIN_COMPRESS_IMPROVE
        bytes or more.  Returns True if the node is now compressed."""
        if self.encoding == LZF:
            return True
        sz = self.sz
        if sz < MIN_COMPRESS_BYTES:
            return False
        if self.container == PACKED:
            raw = self.lp.to_bytes()
            self.canon = self.lp.canonical
        else:
            raw = self.data
        comp = lzf.compress(raw, sz - MIN_COMPRESS_IMPROVE - 1)
        if comp is None:
            return False
        self.data = comp
        self.lp = None
        self.encoding = LZF
        return True


def _plain(value: bytes) -> QuicklistNode:
    return QuicklistNode(PLAIN, data=value)


def _as_bytes(v: Bytesish) -> bytes:
    return v if type(v) is bytes else bytes(v)


class Quicklist:
    """A Redis list (see module docstring).

    Element indexes are 0-based, negative counting from the tail, as in
    LINDEX.  Values are bytes-like and read back as ``bytes``.
    """

    __slots__ = ("_nodes", "count", "_fill", "_compress", "_szroom", "_cntmax")

    def __init__(self, fill: int = -2, compress: int = 0, values: Iterable[Bytesish] = ()) -> None:
        self._nodes: List[QuicklistNode] = []
        self.count = 0
        self._fill = -2
        self._compress = 0
        self._szroom = OPTIMIZATION_LEVEL[1] - SIZE_ESTIMATE_OVERHEAD
        self._cntmax = _NO_COUNT_LIMIT
        self.fill = fill
        self.compress = compress
        if values:
            self.extend_tail(values)

    # -- options -------------------------------------------------------------

    @property
    def fill(self) -> int:
        return self._fill

    @fill.setter
    def fill(self, fill: int) -> None:
        """``quicklistSetFill``: clamped to [-5, 32767]."""
        fill = self._fill = FILL_MAX if fill > FILL_MAX else (-5 if fill < -5 else fill)
        # _fits as two bounds, for the push fast paths: a node of ``sz`` bytes
        # and ``count`` elements takes a value of n bytes when
        # ``count < _cntmax and sz + n <= _szroom``.
        if fill < 0:
            self._szroom = OPTIMIZATION_LEVEL[-fill - 1] - SIZE_ESTIMATE_OVERHEAD
            self._cntmax = _NO_COUNT_LIMIT
        else:
            self._szroom = SIZE_SAFETY_LIMIT - SIZE_ESTIMATE_OVERHEAD
            self._cntmax = fill

    @property
    def compress(self) -> int:
        return self._compress

    @compress.setter
    def compress(self, depth: int) -> None:
        """``quicklistSetCompressDepth``: clamped to [0, 65535]."""
        self._compress = COMPRESS_MAX if depth > COMPRESS_MAX else (0 if depth < 0 else depth)

    # -- sizing rules ----------------------------------------------------------

    def _fits(self, node_sz: int, node_count: int, sz: int) -> bool:
        """``_quicklistNodeAllowInsert`` minus the plain/large checks."""
        new_sz = node_sz + sz + SIZE_ESTIMATE_OVERHEAD
        fill = self._fill
        if fill < 0:
            return new_sz <= OPTIMIZATION_LEVEL[-fill - 1]
        if new_sz > SIZE_SAFETY_LIMIT:
            return False
        return node_count < fill

    def _allow_insert(self, node: Optional[QuicklistNode], sz: int) -> bool:
        if node is None or node.container == PLAIN or sz >= packed_threshold:
            return False
        return self._fits(node.sz, node.count, sz)

    def _allow_merge(self, a: Optional[QuicklistNode], b: Optional[QuicklistNode]) -> bool:
        """``_quicklistNodeAllowMerge``."""
        if a is None or b is None or a.container == PLAIN or b.container == PLAIN:
            return False
        merge_sz = a.sz + b.sz - 11
        fill = self._fill
        if fill < 0:
            return merge_sz <= OPTIMIZATION_LEVEL[-fill - 1]
        if merge_sz > SIZE_SAFETY_LIMIT:
            return False
        return a.count + b.count <= fill

    # -- compression -------------------------------------------------------------

    def _compress_at(self, idx: Optional[int] = None) -> None:
        """``__quicklistCompress(ql, node)``: decompress the ``depth`` nodes
        at each end, then compress ``idx`` (if outside them) and the first
        node past the depth on each side."""
        depth = self._compress
        if not depth:
            return
        nodes = self._nodes
        ln = len(nodes)
        if ln <= 2 * depth:
            for node in nodes:
                if node.encoding == LZF:
                    node.decompress()
            return
        for i in range(depth):
            a = nodes[i]
            if a.encoding == LZF:
                a.decompress()
            b = nodes[ln - 1 - i]
            if b.encoding == LZF:
                b.decompress()
        if idx is not None and depth <= idx < ln - depth:
            nodes[idx].compress()
        nodes[depth].compress()
        nodes[ln - 1 - depth].compress()

    def _compress_span(self, lo: int, hi: int) -> None:
        """Compress every node in [lo, hi] that lies outside the depth (used
        after bulk operations that move many nodes across the boundary)."""
        depth = self._compress
        if not depth:
            return
        nodes = self._nodes
        ln = len(nodes)
        self._compress_at(None)
        if ln <= 2 * depth:
            return
        for i in range(max(lo, depth), min(hi, ln - 1 - depth) + 1):
            nodes[i].compress()

    def _recompress(self, idx: int) -> None:
        """Re-compress a node just modified in place if it is interior."""
        depth = self._compress
        if depth and depth <= idx < len(self._nodes) - depth:
            self._nodes[idx].compress()

    def _insert_node(self, idx: int, node: QuicklistNode) -> None:
        """``__quicklistInsertNode``: place ``node`` at position ``idx``."""
        self._nodes.insert(idx, node)
        if self._compress:
            self._compress_at(idx)
            # The old neighbour may now have moved past the depth.
            if idx + 1 < len(self._nodes):
                self._compress_at(idx + 1)
            if idx > 0:
                self._compress_at(idx - 1)

    def _del_node(self, idx: int) -> None:
        """``__quicklistDelNode`` (the caller adjusts ``count``)."""
        del self._nodes[idx]
        if self._compress:
            self._compress_at(None)

    # -- basic properties ----------------------------------------------------

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count != 0

    def __repr__(self) -> str:
        return "Quicklist(fill=%d, compress=%d, %r)" % (self._fill, self._compress, self.to_list())

    @property
    def node_count(self) -> int:
        """Number of nodes (``ql->len``)."""
        return len(self._nodes)

    def node_info(self) -> List[Tuple[int, int, int, int]]:
        """(container, encoding, count, uncompressed size) per node."""
        return [(n.container, n.encoding, n.count, n.sz) for n in self._nodes]

    # -- push / pop ----------------------------------------------------------

    def push_head(self, value: Bytesish) -> int:
        """``quicklistPushHead`` (LPUSH); returns the new element count.

        Fast path (see "Hot paths"): a short string into a raw head node
        with room, written into the node's listpack blob here; anything
        else takes ``_push_slow``."""
        try:
            node = self._nodes[0]
            n = len(value)
            if n < _PUSH_LIMIT[value[0]]:
                lp = node.lp
                if (lp is not None and node.count < self._cntmax
                        and node.sz + n <= self._szroom and lp._offs is None):
                    buf = lp._buf
                    buf[_LP_HEAD] = _ENTRY6[n] % value
                    node.count = lp._n = node.count + 1
                    lp._resp = None
                    node.sz = len(buf)
                    c = self.count + 1
                    self.count = c
                    return c
        except IndexError:      # no node yet, or an empty value
            pass
        return self._push_slow(value, True)

    def push_tail(self, value: Bytesish) -> int:
        """``quicklistPushTail`` (RPUSH); returns the new element count.
        The mirror of ``push_head``."""
        try:
            node = self._nodes[-1]
            n = len(value)
            if n < _PUSH_LIMIT[value[0]]:
                lp = node.lp
                if (lp is not None and node.count < self._cntmax
                        and node.sz + n <= self._szroom and lp._offs is None):
                    buf = lp._buf
                    buf[_LP_TAIL] = _ENTRY6[n] % value
                    node.count = lp._n = node.count + 1
                    lp._resp = None
                    node.sz = len(buf)
                    c = self.count + 1
                    self.count = c
                    return c
        except IndexError:
            pass
        return self._push_slow(value, False)

    def _push_slow(self, value: Bytesish, at_head: bool) -> int:
        """``quicklistPushHead``/``PushTail`` in full: a plain node for a
        large element, a compressed end node, or a new node when full."""
        v = value if value.__class__ is bytes else bytes(value)
        sz = len(v)
        nodes = self._nodes
        where = 0 if at_head else len(nodes)
        if sz >= packed_threshold:
            self._insert_node(where, _plain(v))
            self.count += 1
            return self.count
        node = (nodes[0] if at_head else nodes[-1]) if nodes else None
        if node is not None and node.container == PACKED and self._fits(node.sz, node.count, sz):
            if node.encoding == LZF:
                node.decompress()
            lp = node.lp
            node.sz = lp.push_bytes(v, at_head)
            node.count += 1
        else:
            self._insert_node(where, QuicklistNode(PACKED, Listpack((v,))))
        self.count += 1
        return self.count

    def extend_tail(self, values: Iterable[Bytesish]) -> None:
        """RPUSH of many values: same node layout as pushing one by one, but
        each node's listpack is extended with a single memmove."""
        self._extend(values, False)

    def extend_head(self, values: Iterable[Bytesish]) -> None:
        """LPUSH of many values (each goes to the head in turn, so the last
        value ends up first)."""
        self._extend(values, True)

    def _extend(self, values: Iterable[Bytesish], head: bool) -> None:
        nodes = self._nodes
        thr = packed_threshold
        old_len = len(nodes)
        added_nodes = 0
        cur: Optional[QuicklistNode] = None
        if nodes:
            cand = nodes[0] if head else nodes[-1]
            if cand.container == PACKED:
                cur = cand
        batch: List[bytes] = []
        cur_sz = cur.sz if cur is not None else 0
        cur_count = cur.count if cur is not None else 0
        fits = self._fits

        def flush() -> None:
            if cur is None or not batch:
                return
            if cur.encoding == LZF:
                cur.decompress()
            lp = cur.lp
            if head:
                batch.reverse()
            lp._insert_encoded(0 if head else len(lp), b"".join(batch), [len(e) for e in batch])
            cur.count = len(lp)
            cur.sz = lp.nbytes
            batch.clear()

        total = 0
        for value in values:
            v = _as_bytes(value)
            sz = len(v)
            total += 1
            if sz >= thr:
                flush()
                if head:
                    nodes.insert(0, _plain(v))
                else:
                    nodes.append(_plain(v))
                added_nodes += 1
                cur = None
                continue
            enc = encode_entry(v)
            if cur is None or not fits(cur_sz, cur_count, sz):
                flush()
                cur = QuicklistNode(PACKED, Listpack())
                if head:
                    nodes.insert(0, cur)
                else:
                    nodes.append(cur)
                added_nodes += 1
                cur_sz = cur.sz
                cur_count = 0
            batch.append(enc)
            cur_sz += len(enc)
            cur_count += 1
        flush()
        self.count += total
        if self._compress and added_nodes:
            ln = len(nodes)
            if head:
                self._compress_span(0, added_nodes + self._compress)
            else:
                self._compress_span(old_len - 1 - self._compress, ln - 1)

    def pop_head(self) -> Optional[bytes]:
        """Remove and return the first element (None if empty)."""
        return self._pop_end(0)

    def pop_tail(self) -> Optional[bytes]:
        """Remove and return the last element (None if empty)."""
        return self._pop_end(-1)

    def _pop_end(self, where: int) -> Optional[bytes]:
        """LPOP/RPOP's common case: the end node is a raw listpack that keeps
        an element after this one, so the listpack pops in place (its own
        fast path); anything else (compressed or last element of a node,
        an empty list) takes ``_pop``."""
        nodes = self._nodes
        if nodes:
            node = nodes[where]
            lp = node.lp
            if lp is not None and node.count > 1:
                v = lp.pop_head() if where == 0 else lp.pop_tail()
                node.sz = len(lp._buf)
                node.count -= 1
                self.count -= 1
                return v
        return self._pop(where)

    def pop_head_resp(self) -> Optional[bytes]:
        """LPOP's fast path: if the head node is a raw listpack that keeps
        an element after this one and its first entry is a 6-bit string or
        a 7-bit uint, remove it and return it as a RESP bulk string
        (``$<len>\\r\\n<element>\\r\\n``, the same in RESP2 and RESP3).
        Otherwise change nothing and return None: the caller pops with
        ``pop_head``."""
        try:
            node = self._nodes[0]
        except IndexError:
            return None
        lp = node.lp
        c = node.count - 1
        if lp is None or not c or lp._offs is not None:
            return None
        buf = lp._buf
        b = buf[6]                          # the first entry's encoding byte
        fmt = _BULK6[b]
        if fmt is not None:                 # 6-bit string
            r = fmt % buf[_HEAD6_DATA[b]]
            del buf[_HEAD6_ENTRY[b]]
        elif b < 0x80:                      # 7-bit uint
            r = _RESP7[b]
            del buf[6:8]
        else:
            return None
        node.count = lp._n = c
        lp._resp = None
        node.sz = len(buf)
        self.count -= 1
        return r

    def pop_tail_resp(self) -> Optional[bytes]:
        """RPOP's fast path: ``pop_head_resp`` for the last entry (found
        through its one-byte backlen)."""
        try:
            node = self._nodes[-1]
        except IndexError:
            return None
        lp = node.lp
        c = node.count - 1
        if lp is None or not c or lp._offs is not None:
            return None
        buf = lp._buf
        bl = buf[-2]                        # the last entry's backlen byte
        b = buf[_TAIL_AT[bl]]               # its encoding byte (bl < 128)
        fmt = _BULK6[b]
        if fmt is not None:                 # 6-bit string of bl - 1 bytes
            r = fmt % buf[_TAIL6_DATA[bl]]
            del buf[_TAIL6_ENTRY[bl]]
        elif b < 0x80:                      # 7-bit uint (bl == 1)
            r = _RESP7[b]
            del buf[-3:-1]
        else:
            return None
        node.count = lp._n = c
        lp._resp = None
        node.sz = len(buf)
        self.count -= 1
        return r

    def _pop(self, where: int) -> Optional[bytes]:
        if not self.count:
            return None
        nodes = self._nodes
        idx = 0 if where == 0 else len(nodes) - 1
        node = nodes[idx]
        if node.encoding == LZF:
            node.decompress()
        if node.container == PLAIN:
            v = node.data
            self._del_node(idx)
        else:
            lp = node.lp
            v = lp.pop_head() if where == 0 else lp.pop_tail()
            node.count -= 1
            if node.count == 0:
                self._del_node(idx)
            else:
                node.sz = lp.nbytes
        self.count -= 1
        return v  # type: ignore[return-value]

    # -- positional access ---------------------------------------------------

    def _locate(self, index: int) -> Optional[Tuple[int, int]]:
        """(node index, offset inside node) of element ``index``, scanning
        from the nearer end (``quicklistGetIteratorAtIdx``)."""
        n = self.count
        if index < 0:
            index += n
        if index < 0 or index >= n:
            return None
        nodes = self._nodes
        if index <= (n - 1) // 2:
            acc = 0
            i = 0
            for node in nodes:
                c = node.count
                if acc + c > index:
                    return i, index - acc
                acc += c
                i += 1
        else:
            acc = n
            i = len(nodes) - 1
            while i >= 0:
                acc -= nodes[i].count
                if acc <= index:
                    return i, index - acc
                i -= 1
        raise AssertionError("quicklist counts are inconsistent")

    def get(self, index: int) -> bytes:
        """Element at ``index`` (LINDEX); IndexError if out of range."""
        loc = self._locate(index)
        if loc is None:
            raise IndexError("quicklist index out of range")
        node = self._nodes[loc[0]]
        if node.container == PLAIN:
            return node.raw_bytes()
        if node.lp is not None:
            return node.lp.get(loc[1])
        return node.reader().get(loc[1], build_index=False)

    def first(self) -> Optional[bytes]:
        return self.get(0) if self.count else None

    def last(self) -> Optional[bytes]:
        return self.get(-1) if self.count else None

    def range(self, start: int, stop: int) -> List[bytes]:
        """Elements with ``start <= i < stop`` as a list (negative bounds
        count from the tail, both clamped: Python slice semantics without a
        step).  LRANGE's inclusive end is ``stop = end + 1``."""
        n = self.count
        if start < 0:
            start = max(start + n, 0)
        if stop < 0:
            stop += n
        if stop > n:
            stop = n
        if start >= stop:
            return []
        ni, off = self._locate(start)  # type: ignore[misc]
        want = stop - start
        out: List[bytes] = []
        nodes = self._nodes
        while want > 0:
            node = nodes[ni]
            if node.container == PLAIN:
                out.append(node.raw_bytes())
                want -= 1
            else:
                take = node.count - off
                if take > want:
                    take = want
                lp = node.reader()
                if off == 0 and take == node.count:
                    out += lp.to_list()
                else:
                    out += lp.range(off, off + take, build_index=node.lp is not None)
                want -= take
            off = 0
            ni += 1
        return out

    def range_resp(self, start: int, stop: int) -> Tuple[int, bytes]:
        """Like ``range`` but returns (count, the elements encoded as RESP
        bulk strings), using each node's cached encoding (see
        ``Listpack.resp_range``)."""
        nodes = self._nodes
        if 0 <= start and nodes:
            # Fast path (LRANGE 0 99): the range lies in the raw head node.
            node = nodes[0]
            lp = node.lp
            if lp is not None and start < stop <= node.count:
                return stop - start, lp.resp_range(start, stop)
        n = self.count
        if start < 0:
            start = max(start + n, 0)
        if stop < 0:
            stop += n
        if stop > n:
            stop = n
        if start >= stop:
            return 0, b""
        ni, off = self._locate(start)  # type: ignore[misc]
        count = want = stop - start
        out: List[bytes] = []
        nodes = self._nodes
        while want > 0:
            node = nodes[ni]
            if node.container == PLAIN:
                raw = node.raw_bytes()
                out.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
                want -= 1
            else:
                take = node.count - off
                if take > want:
                    take = want
                out.append(node.reader().resp_range(off, off + take))
                want -= take
            off = 0
            ni += 1
        return count, out[0] if len(out) == 1 else b"".join(out)

    def to_list(self) -> List[bytes]:
        out: List[bytes] = []
        for node in self._nodes:
            out += node.values()
        return out

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_from(0)

    def __reversed__(self) -> Iterator[bytes]:
        return self.iter_from(-1, reverse=True)

    def iter_from(self, index: int = 0, reverse: bool = False) -> Iterator[bytes]:
        """Iterate from element ``index`` towards the tail (or the head with
        ``reverse``), one node decoded at a time."""
        loc = self._locate(index)
        if loc is None:
            return iter(())
        return self._gen(loc[0], loc[1], reverse)

    def _gen(self, ni: int, off: int, reverse: bool) -> Iterator[bytes]:
        nodes = list(self._nodes)
        if reverse:
            vals = nodes[ni].values()
            yield from reversed(vals[: off + 1])
            for i in range(ni - 1, -1, -1):
                yield from reversed(nodes[i].values())
        else:
            vals = nodes[ni].values()
            yield from vals[off:]
            for i in range(ni + 1, len(nodes)):
                yield from nodes[i].values()

    # -- insertion in the middle ---------------------------------------------

    def _split(self, ni: int, off: int, after: bool) -> QuicklistNode:
        """``_quicklistSplitNode``: with ``after`` the node keeps [0, off] and
        the returned node gets (off, end]; otherwise the returned node gets
        [0, off) and the node keeps [off, end]."""
        node = self._nodes[ni]
        node.decompress()
        lp = node.lp
        n = node.count
        if after:
            new_lp = lp.slice(off + 1, n)
            lp.delete_range(off + 1, n - off - 1)
        else:
            new_lp = lp.slice(0, off)
            lp.delete_range(0, off)
        node.count = len(lp)
        node.sz = lp.nbytes
        return QuicklistNode(PACKED, new_lp)

    def _merge_pair(self, i: int) -> None:
        """``_quicklistListpackMerge`` of nodes i and i+1 into node i."""
        nodes = self._nodes
        a, b = nodes[i], nodes[i + 1]
        a.decompress()
        b.decompress()
        a.lp = Listpack.concat(a.lp, b.lp)  # type: ignore[arg-type]
        a.count = len(a.lp)
        a.sz = a.lp.nbytes
        self._del_node(i + 1)
        self._compress_at(i)

    def _merge_around(self, ci: int) -> None:
        """``_quicklistMergeNodes``: try (prev_prev, prev), (next,
        next_next), (prev, center), then (center, next)."""
        nodes = self._nodes
        if ci >= 2 and self._allow_merge(nodes[ci - 1], nodes[ci - 2]):
            self._merge_pair(ci - 2)
            ci -= 1
        if ci + 2 < len(nodes) and self._allow_merge(nodes[ci + 1], nodes[ci + 2]):
            self._merge_pair(ci + 1)
        if ci >= 1 and self._allow_merge(nodes[ci], nodes[ci - 1]):
            self._merge_pair(ci - 1)
            ci -= 1
        if ci + 1 < len(nodes) and self._allow_merge(nodes[ci], nodes[ci + 1]):
            self._merge_pair(ci)

    def _insert(self, ni: int, off: int, v: bytes, after: bool) -> None:
        """``_quicklistInsert``: insert ``v`` before/after element ``off`` of
        node ``ni``."""
        nodes = self._nodes
        node = nodes[ni]
        sz = len(v)
        full = not self._allow_insert(node, sz)
        at_tail = at_head = avail_next = avail_prev = False
        if after and off == node.count - 1:
            at_tail = True
            if ni + 1 < len(nodes) and self._allow_insert(nodes[ni + 1], sz):
                avail_next = True
        if not after and off == 0:
            at_head = True
            if ni > 0 and self._allow_insert(nodes[ni - 1], sz):
                avail_prev = True

        if sz >= packed_threshold:
            if node.container == PLAIN or at_tail or at_head:
                self._insert_node(ni + 1 if after else ni, _plain(v))
            else:
                new = self._split(ni, off, after)
                if after:
                    self._insert_node(ni + 1, _plain(v))
                    self._insert_node(ni + 2, new)
                else:
                    self._insert_node(ni, _plain(v))
                    self._insert_node(ni, new)
            self.count += 1
            return

        if not full:
            node.decompress()
            lp = node.lp
            lp.insert(off + 1 if after else off, v)
            node.count += 1
            node.sz = lp.nbytes
            self._recompress(ni)
        elif at_tail and avail_next:
            nxt = nodes[ni + 1]
            nxt.decompress()
            nxt.lp.prepend(v)
            nxt.count += 1
            nxt.sz = nxt.lp.nbytes
            self._recompress(ni + 1)
        elif at_head and avail_prev:
            prv = nodes[ni - 1]
            prv.decompress()
            prv.lp.append(v)
            prv.count += 1
            prv.sz = prv.lp.nbytes
            self._recompress(ni - 1)
        elif at_tail or at_head:
            self._insert_node(ni + 1 if after else ni, QuicklistNode(PACKED, Listpack((v,))))
        else:
            new = self._split(ni, off, after)
            if after:
                new.lp.prepend(v)  # type: ignore[union-attr]
            else:
                new.lp.append(v)  # type: ignore[union-attr]
            new.count += 1
            new.sz = new.lp.nbytes  # type: ignore[union-attr]
            if after:
                self._insert_node(ni + 1, new)
                center = ni
            else:
                self._insert_node(ni, new)
                center = ni + 1
            self._merge_around(center)
        self.count += 1

    def insert_before(self, index: int, value: Bytesish) -> None:
        """Insert ``value`` before element ``index`` (``quicklistInsertBefore``);
        IndexError if out of range."""
        loc = self._locate(index)
        if loc is None:
            raise IndexError("quicklist index out of range")
        self._insert(loc[0], loc[1], _as_bytes(value), False)

    def insert_after(self, index: int, value: Bytesish) -> None:
        """Insert ``value`` after element ``index`` (``quicklistInsertAfter``)."""
        loc = self._locate(index)
        if loc is None:
            raise IndexError("quicklist index out of range")
        self._insert(loc[0], loc[1], _as_bytes(value), True)

    def insert(self, index: int, value: Bytesish) -> None:
        """``list.insert`` semantics: ``value`` ends up at ``index`` (clamped;
        ``len`` or more appends)."""
        n = self.count
        if index < 0:
            index = max(index + n, 0)
        if index >= n:
            self.push_tail(value)
        elif index == 0:
            self.push_head(value)
        else:
            self.insert_before(index, value)

    def insert_pivot(self, pivot: Bytesish, value: Bytesish, after: bool) -> bool:
        """LINSERT: insert next to the first element equal to ``pivot``
        (scanning from the head).  Returns False if there is no pivot."""
        p = _as_bytes(pivot)
        enc = encode_entry(p)
        for ni, node in enumerate(self._nodes):
            if node.container == PLAIN:
                if node.raw_bytes() == p:
                    self._insert(ni, 0, _as_bytes(value), after)
                    return True
                continue
            lp = node.reader()
            if not lp.may_contain_entry(enc):
                continue
            off = lp.find(p)
            if off >= 0:
                self._insert(ni, off, _as_bytes(value), after)
                return True
        return False

    # -- replacement ---------------------------------------------------------

    def replace(self, index: int, value: Bytesish) -> None:
        """LSET (``quicklistReplaceEntry``); IndexError if out of range."""
        loc = self._locate(index)
        if loc is None:
            raise IndexError("quicklist index out of range")
        ni, off = loc
        v = _as_bytes(value)
        sz = len(v)
        node = self._nodes[ni]
        large = sz >= packed_threshold
        if node.container == PACKED and not large:
            node.decompress()
            lp = node.lp
            lp.replace(off, v)
            node.sz = lp.nbytes
            self._recompress(ni)
        elif node.container == PLAIN:
            if large:
                node.decompress()
                node.data = v
                node.sz = sz
                self._recompress(ni)
            else:
                self._insert(ni, 0, v, True)
                self._del_node(ni)
                self.count -= 1
        else:
            # A large value replacing an element of a packed node: insert it
            # after the element (splitting the node), then drop the element,
            # which is now the last one of its node.
            self._insert(ni, off, v, True)
            node = self._nodes[ni]
            if node.count == 1:
                self._del_node(ni)
            else:
                node.decompress()
                node.lp.delete(-1)  # type: ignore[union-attr]
                node.count -= 1
                node.sz = node.lp.nbytes  # type: ignore[union-attr]
                self._recompress(ni)
            self.count -= 1

    # -- deletion ------------------------------------------------------------

    def delete_range(self, start: int, count: int) -> int:
        """``quicklistDelRange``: remove up to ``count`` elements from
        ``start`` (negative counts from the tail).  Returns the number removed.
        Never merges nodes."""
        if count <= 0:
            return 0
        n = self.count
        extent = count
        if start >= 0 and extent > n - start:
            extent = n - start
        elif start < 0 and extent > -start:
            extent = -start
        loc = self._locate(start)
        if loc is None:
            return 0
        ni, off = loc
        removed = extent
        nodes = self._nodes
        dropped = False
        while extent > 0:
            node = nodes[ni]
            if off == 0 and extent >= node.count:
                extent -= node.count
                self.count -= node.count
                del nodes[ni]
                dropped = True
            else:
                d = node.count - off
                if d > extent:
                    d = extent
                node.decompress()
                lp = node.lp
                lp.delete_range(off, d)  # type: ignore[union-attr]
                node.count -= d
                node.sz = lp.nbytes  # type: ignore[union-attr]
                self.count -= d
                extent -= d
                if node.count == 0:
                    del nodes[ni]
                    dropped = True
                else:
                    self._recompress(ni)
                    ni += 1
            off = 0
        if dropped and self._compress:
            self._compress_at(None)
        return removed

    def delete(self, index: int) -> None:
        """Remove element ``index``; IndexError if out of range."""
        if self._locate(index) is None:
            raise IndexError("quicklist index out of range")
        self.delete_range(index, 1)

    def trim(self, start: int, end: int) -> None:
        """LTRIM semantics: keep elements ``start..end`` inclusive (negative
        indexes from the tail), exactly as ``ltrimCommand`` computes it."""
        llen = self.count
        if start < 0:
            start += llen
        if end < 0:
            end += llen
        if start < 0:
            start = 0
        if start > end or start >= llen:
            ltrim, rtrim = llen, 0
        else:
            if end >= llen:
                end = llen - 1
            ltrim, rtrim = start, llen - end - 1
        self.delete_range(0, ltrim)
        self.delete_range(-rtrim, rtrim)

    def remove(self, value: Bytesish, count: int = 0) -> int:
        """LREM: remove elements equal to ``value`` -- the first ``count``
        from the head if ``count > 0``, the last ``-count`` from the tail if
        ``count < 0``, all if 0.  Returns the number removed.  Like Redis,
        emptied nodes are deleted and nothing is merged."""
        v = _as_bytes(value)
        enc = encode_entry(v)
        limit = -count if count < 0 else count
        reverse = count < 0
        nodes = self._nodes
        order = range(len(nodes) - 1, -1, -1) if reverse else range(len(nodes))
        removed = 0
        emptied: List[int] = []
        for ni in order:
            node = nodes[ni]
            if node.container == PLAIN:
                if node.raw_bytes() == v:
                    emptied.append(ni)
                    removed += 1
            else:
                lp = node.reader()
                if not lp.may_contain_entry(enc):
                    continue
                # The matches by search (Listpack.find: a C-level search of
                # the encoded entry, checked against the entry boundaries),
                # not by decoding the whole node; from the head, only as
                # many as are still to be removed.
                room = limit - removed if limit else -1
                hits = []
                i = lp.find(v)
                while i >= 0:
                    hits.append(i)
                    if len(hits) == room and not reverse:
                        break
                    i = lp.find(v, i + 1)
                if not hits:
                    continue
                if reverse and limit:
                    hits = hits[-room:]
                if node.lp is None:
                    node.decompress()
                    lp = node.lp
                for i in reversed(hits):
                    lp.delete(i)  # type: ignore[union-attr]
                node.count -= len(hits)
                node.sz = lp.nbytes  # type: ignore[union-attr]
                removed += len(hits)
                if node.count == 0:
                    emptied.append(ni)
                else:
                    self._recompress(ni)
            if limit and removed >= limit:
                break
        if emptied:
            for ni in sorted(emptied, reverse=True):
                del nodes[ni]
            self._compress_at(None)
        self.count -= removed
        return removed

    def positions(self, value: Bytesish, rank: int = 1, count: int = 1, maxlen: int = 0) -> List[int]:
        """LPOS: indexes of matches of ``value``.  ``rank`` (non-zero) picks
        the rank-th match, counting from the tail if negative; ``count`` caps
        the number of results (0 = all); ``maxlen`` caps how many elements are
        examined (0 = all).

        Like ``remove``, a node's matches are found by ``Listpack.find``
        (one C-level search each), never by decoding the node; from the
        tail, the node's matches within reach are found first and taken
        last to first."""
        if rank == 0:
            raise ValueError("rank can't be zero")
        v = _as_bytes(value)
        enc = encode_entry(v)
        reverse = rank < 0
        if reverse:
            rank = -rank
        n = self.count
        nodes = self._nodes
        scanned = 0        # elements examined before this node
        matches = 0
        out: List[int] = []
        start = n if reverse else 0    # index of the node's first element
        for node in (reversed(nodes) if reverse else nodes):
            if maxlen and scanned >= maxlen:
                break
            c = node.count
            if reverse:
                start -= c
            # the node's elements within MAXLEN: [lo, hi) in node order
            reach = maxlen - scanned if maxlen and maxlen - scanned < c else c
            lo, hi = (c - reach, c) if reverse else (0, reach)
            if node.container == PLAIN:
                hits = [0] if node.raw_bytes() == v else []
            else:
                lp = node.reader()
                hits = []
                if lp.may_contain_entry(enc):
                    find = lp.find
                    need = rank - matches + (count - 1 if count else hi)
                    i = find(v, lo)
                    while 0 <= i < hi:
                        hits.append(i)
                        if not reverse and len(hits) >= need:
                            break
                        i = find(v, i + 1)
            if reverse:
                hits.reverse()
            for i in hits:
                matches += 1
                if matches >= rank:
                    out.append(start + i)
                    if count and len(out) >= count:
                        return out
            scanned += c
            if not reverse:
                start += c
        return out

    # -- RDB support ---------------------------------------------------------

    def nodes(self) -> Iterator[Tuple[int, bytes]]:
        """(container, payload) per node, payload uncompressed: the listpack
        blob for PACKED nodes, the element for PLAIN ones.  This is what
        RDB_TYPE_LIST_QUICKLIST_2 stores."""
        for node in self._nodes:
            yield node.container, node.raw_bytes()

    def rdb_nodes(self) -> Iterator[Tuple[int, bytes, int]]:
        """(container, payload, raw_len) per node.  ``raw_len`` is 0 when
        the payload is uncompressed, else the payload is the node's LZF data
        and ``raw_len`` its uncompressed size.  ``rdbSaveObject`` writes such
        nodes with ``rdbSaveLzfBlob``."""
        for node in self._nodes:
            if node.encoding == LZF:
                yield node.container, node.data, node.sz  # type: ignore[misc]
            else:
                yield node.container, node.raw_bytes(), 0

    @classmethod
    def from_nodes(
        cls,
        nodes: Iterable[Tuple[int, Bytesish]],
        fill: int = -2,
        compress: int = 0,
        validate: bool = True,
    ) -> "Quicklist":
        """Rebuild from ``nodes()`` output (RDB load).  Empty listpacks are
        skipped, as ``rdbLoadObject`` does.  Nodes are kept as they are, even
        if they exceed ``fill``.  Raises ValueError on a bad container or a
        corrupt listpack."""
        return cls(fill, compress).with_nodes(nodes, validate)

    def with_nodes(self, nodes: Iterable[Tuple[int, Bytesish]], validate: bool = True) -> "Quicklist":
        """``from_nodes`` with this quicklist's fill and compress depth: a
        loader builds one empty quicklist from the config and makes every
        list of the load from it, without setting the options again."""
        ql = Quicklist.__new__(Quicklist)
        ql._fill = self._fill
        ql._compress = self._compress
        ql._szroom = self._szroom
        ql._cntmax = self._cntmax
        out = ql._nodes = []
        total = 0
        for container, payload in nodes:
            if container == PLAIN:
                node = QuicklistNode(PLAIN, data=_as_bytes(payload))
            elif container == PACKED:
                node = QuicklistNode(PACKED, Listpack.from_bytes(payload, validate=validate))
                if not node.count:
                    continue
            else:
                raise ValueError("invalid quicklist node container %r" % (container,))
            out.append(node)
            total += node.count
        ql.count = total
        if ql._compress:
            ql._compress_span(0, len(out) - 1)
        return ql

    def copy(self) -> "Quicklist":
        """An independent copy with the same nodes and compression state."""
        ql = Quicklist(self._fill, self._compress)
        out = ql._nodes
        for node in self._nodes:
            n = QuicklistNode.__new__(QuicklistNode)
            n.container = node.container
            n.encoding = node.encoding
            n.lp = node.lp.copy() if node.lp is not None else None
            n.data = node.data
            n.count = node.count
            n.sz = node.sz
            n.canon = node.canon
            out.append(n)
        ql.count = self.count
        return ql
