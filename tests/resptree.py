"""RESP reply trees for differential tests: parse raw reply bytes, then
normalise the parts whose order or content cannot match by nature.

A node is ``(type, payload)``: ``type`` is the one-byte RESP type marker
(``b"$"``, ``b"*"``, ``b"%"`` ...); the payload of a bulk is its bytes (None
for a null), of an aggregate the list of child nodes (a map's keys and
values alternate), and of anything else the header line's bytes.  The
normalisers return new nodes, so ``norm(ta) == norm(tb)`` compares two
replies modulo the one relaxation a test allows:

* ``sorted_children``: a hashtable's iteration order (SMEMBERS, HKEYS ...);
* ``sorted_pairs``: a hash's field/value pairs, flat array or RESP3 map;
* ``scan_normal``: a SCAN-family ``[cursor, elements]`` reply;
* ``shape``: random choices, same types and lengths but any bulk content.
"""
from __future__ import annotations


def parse(buf: bytes, pos: int = 0):
    """(node, next_pos); node = (type, payload), aggregates hold children."""
    t = buf[pos:pos + 1]
    eol = buf.index(b"\r\n", pos)
    head = buf[pos + 1:eol]
    pos = eol + 2
    if t in (b"$", b"=", b"!"):
        n = int(head)
        if n < 0:
            return (t, None), pos
        return (t, buf[pos:pos + n]), pos + n + 2
    if t in (b"*", b"~", b">", b"%"):
        n = int(head)
        if n < 0:
            return (t, None), pos
        if t == b"%":
            n *= 2
        items = []
        for _ in range(n):
            node, pos = parse(buf, pos)
            items.append(node)
        return (t, items), pos
    return (t, head), pos


def tree(raw: bytes):
    """The node of one complete reply."""
    return parse(raw)[0]


def sorted_children(node):
    """An aggregate with its children sorted (a map's pairs kept together)."""
    t, items = node
    if items is None or not isinstance(items, list):
        return node
    if t == b"%":
        pairs = sorted(zip(items[0::2], items[1::2]), key=repr)
        return (t, [x for p in pairs for x in p])
    return (t, sorted(items, key=repr))


def sorted_pairs(node):
    """A hash reply as pairs (RESP2 flat array or RESP3 map), sorted."""
    t, items = node
    if items is None or not isinstance(items, list):
        return node
    pairs = sorted(zip(items[0::2], items[1::2]), key=repr)
    return (t, [x for p in pairs for x in p])


def scan_normal(node, pairs: bool):
    """A SCAN-family reply with its elements sorted (as pairs for HSCAN)."""
    t, (cursor, body) = node
    return (t, [cursor, sorted_pairs(body) if pairs else sorted_children(body)])


def shape(node):
    """The node with every bulk's content replaced by a marker."""
    t, v = node
    if isinstance(v, list):
        return (t, [shape(x) for x in v])
    if t in (b"$", b"="):
        return (t, None if v is None else "bulk")
    return node
