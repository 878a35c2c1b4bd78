"""Streams in RDB, in-process (``persistence/rdb_stream.py``).

Round trips (DUMP payloads and whole files) of streams with deletions,
several nodes, SAMEFIELDS and mixed entries, trimmed and empty streams,
groups, PELs and consumers; the old type 15 (fields computed on load) and
the 7.2 type 21 (consumer active time); the always-on and deep checks, one
hand-made corruption per check; truncations at every byte; and fuzzed
payloads that must either be refused (no key is left) or load into a value
every stream command can work on (no internal error).

``SCENARIOS``, ``build``, ``convert`` and ``exercise`` are also used by
``tests/differential/test_rdb_stream_interop.py``."""
from __future__ import annotations

import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omakase.persistence import rdb
from omakase.persistence.rdb import RdbError, Reader
from omakase.persistence.rdb_stream import RDB_TYPE_STREAM_LISTPACKS_3
from omakase.types.stream import Stream
from test_rdb import Local

U64 = (1 << 64) - 1
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# ---------------------------------------------------------------------------
# Streams to persist (explicit IDs: the same commands give the same bytes in
# Redis; times only appear in PELs and consumers)
# ---------------------------------------------------------------------------
def _many(n: int, start: int = 1) -> list[tuple]:
    out = []
    for i in range(start, start + n):
        if i % 5 == 0:
            out.append(("XADD", "s", "%d-%d" % (i, i % 3), "other", i, "x", "y" * (i % 40)))
        else:
            out.append(("XADD", "s", "%d-%d" % (i, i % 3), "a", i, "b", "text-%d" % i))
    return out


SCENARIOS: dict[str, tuple[dict, list[tuple]]] = {
    "one-entry": ({}, [("XADD", "s", "1-1", "field", "value")]),
    "nodes-and-deletions": ({"stream-node-max-entries": 4}, _many(30) + [
        ("XDEL", "s", "2-2", "3-0", "7-1", "8-2"),             # inside nodes
        ("XDEL", "s", "9-0", "10-1", "11-2", "12-0"),          # a whole node
        ("XDEL", "s", "30-0"),                                 # the top entry
    ]),
    "trimmed": ({"stream-node-max-entries": 5}, _many(40) + [
        ("XTRIM", "s", "MAXLEN", "=", 23), ("XTRIM", "s", "MINID", "20"),
    ]),
    "trimmed-to-zero": ({}, _many(6) + [("XTRIM", "s", "MAXLEN", 0)]),
    "empty-mkstream": ({}, [("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")]),
    "count-zero-node": ({}, [
        ("XADD", "s", "1-0", "a", 1), ("XADD", "s", "2-0", "a", 2), ("XADD", "s", "3-0", "a", 3),
        ("XDEL", "s", "3-0"), ("XTRIM", "s", "MINID", "3")]),
    "tombstone-above-last-id": ({}, [
        ("XADD", "s", "1-1", "a", 1), ("XADD", "s", "2-1", "a", 2), ("XDEL", "s", "2-1"),
        ("XSETID", "s", "1-5"), ("XADD", "s", "1-7", "a", 3)]),
    "huge-ids": ({}, [
        ("XADD", "s", "%d-%d" % (U64 - 1, U64), "a", "1"),
        ("XADD", "s", "%d-0" % U64, "a", "2"),
        ("XADD", "s", "%d-%d" % (U64, U64 - 5), "b", -(1 << 63)),
        ("XSETID", "s", "%d-%d" % (U64, U64 - 1), "ENTRIESADDED", 99,
         "MAXDELETEDID", "%d-0" % (U64 - 1))]),
    "big-values-lzf": ({}, [("XADD", "s", "%d-0" % i, "payload", "abcdefgh" * 40, "n", i)
                            for i in range(1, 30)]),
    "numeric-fields": ({}, [("XADD", "s", "5-5", 1, 2, -3, 70000),
                            ("XADD", "s", "6-0", 1, 4, -3, 1 << 40),
                            ("XADD", "s", "7-0", "1", "x")]),
    "groups": ({"stream-node-max-entries": 3}, _many(12) + [
        ("XGROUP", "CREATE", "s", "readers", "0"),
        ("XGROUP", "CREATE", "s", "late", "$"),
        ("XGROUP", "CREATE", "s", "mid", "6-0", "ENTRIESREAD", 5),
        ("XGROUP", "CREATE", "s", "a-longer-group-name-to-sort-first", "0"),
        ("XREADGROUP", "GROUP", "readers", "alice", "COUNT", 4, "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "readers", "bob", "COUNT", 3, "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "readers", "carol", "NOACK", "COUNT", 1, "STREAMS", "s", ">"),
        ("XGROUP", "CREATECONSUMER", "s", "readers", "idle"),
        ("XACK", "s", "readers", "2-2"),
        ("XCLAIM", "s", "readers", "bob", 0, "1-1", "RETRYCOUNT", 7),
        ("XDEL", "s", "3-0"),                                   # pending but deleted
        ("XREADGROUP", "GROUP", "mid", "m", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "a-longer-group-name-to-sort-first", "z", "COUNT", 2,
         "STREAMS", "s", ">"),
    ]),
}


def build(local: Local, name: str, key: str = "s") -> None:
    config, cmds = SCENARIOS[name]
    for k, v in config.items():
        assert local.call("CONFIG", "SET", k, v) == b"+OK\r\n"
    for cmd in cmds:
        cmd = tuple(key if a == "s" else a for a in cmd)
        reply = local.call(*cmd)
        assert not reply.startswith(b"-"), (cmd, reply)
    for k in config:
        local.call("CONFIG", "SET", k, 100 if k == "stream-node-max-entries" else 4096)


def payload_of(name: str) -> bytes:
    local = Local()
    build(local, name)
    return rdb.dump_payload(local.value(b"s"), local.server)


def restored(payload: bytes, server=None) -> Stream:
    return rdb.restore_value(server or Local().server, payload)


def with_footer(value: bytes) -> bytes:
    out = bytearray(value)
    out += rdb.RDB_VERSION.to_bytes(2, "little")
    out += rdb.crc64(out).to_bytes(8, "little")
    return bytes(out)


def convert(payload: bytes, target: int) -> bytes:
    """Re-encode a type-19 payload (type byte + value, footer optional) as
    type 15 (no first/max-deleted/entries-added/entries-read) or 21 (a
    consumer active time after each seen time).  Returns the value only."""
    r = Reader(payload)
    assert r.byte() == 19
    out = bytearray([target])
    raw_len = rdb.save_len

    def copy_string():
        rdb.save_string(out, r.read_string(), False)

    n = r.read_len()
    raw_len(out, n)
    for _ in range(n):
        copy_string()
        copy_string()
    for _ in range(3):                      # length, last_id
        raw_len(out, r.read_len())
    extra = [r.read_len() for _ in range(5)]
    if target != 15:
        for v in extra:
            raw_len(out, v)
    groups = r.read_len()
    raw_len(out, groups)
    for _ in range(groups):
        copy_string()
        raw_len(out, r.read_len())
        raw_len(out, r.read_len())
        entries_read = r.read_len()
        if target != 15:
            raw_len(out, entries_read)
        pel = r.read_len()
        raw_len(out, pel)
        for _ in range(pel):
            out += r.read(16) + r.read(8)
            raw_len(out, r.read_len())
        consumers = r.read_len()
        raw_len(out, consumers)
        for _ in range(consumers):
            copy_string()
            seen = r.read(8)
            out += seen
            if target == RDB_TYPE_STREAM_LISTPACKS_3:
                out += seen
            cp = r.read_len()
            raw_len(out, cp)
            out += r.read(16 * cp)
    return bytes(out)


def _ok(reply: bytes) -> bool:
    return b"internal error" not in reply


def exercise(local: Local, key: str = "s") -> None:
    """Run the stream commands on a loaded key: none may hit an internal
    error (a broken value), and the value must dump and reload."""
    call = local.call
    value = local.value(key.encode())
    assert value is not None and value.__class__ is Stream
    again = rdb.dump_payload(value, local.server)
    assert rdb.dump_payload(rdb.restore_value(local.server, again), local.server) == again
    groups = [g.name for g in value.groups()]
    cmds = [("XINFO", "STREAM", key), ("XINFO", "STREAM", key, "FULL"), ("XINFO", "GROUPS", key),
            ("XRANGE", key, "-", "+"), ("XREVRANGE", key, "+", "-"), ("XLEN", key),
            ("XRANGE", key, "5", "+", "COUNT", 2), ("XREVRANGE", key, "+", "5"),
            ("XREAD", "STREAMS", key, "0"), ("DEBUG", "DIGEST-VALUE", key), ("DUMP", key),
            ("DEBUG", "OBJECT", key), ("COPY", key, key + "-copy")]
    for g in groups:
        cmds += [("XINFO", "CONSUMERS", key, g), ("XPENDING", key, g),
                 ("XPENDING", key, g, "-", "+", 100),
                 ("XREADGROUP", "GROUP", g, "newc", "STREAMS", key, "0"),
                 ("XREADGROUP", "GROUP", g, "newc", "COUNT", 3, "STREAMS", key, ">"),
                 ("XAUTOCLAIM", key, g, "newc", 0, "0-0", "COUNT", 100),
                 ("XPENDING", key, g, "IDLE", 0, "-", "+", 100)]
        for c in value.lookup_group(g).consumers() if value.lookup_group(g) else []:
            cmds.append(("XREADGROUP", "GROUP", g, c.name, "STREAMS", key, "0"))
            cmds.append(("XGROUP", "DELCONSUMER", key, g, c.name))
    cmds += [("XDEL", key, "1-1", "2-0", "5-0"), ("XTRIM", key, "MAXLEN", 3),
             ("XADD", key, "*", "f", "v"), ("XADD", key, "MAXLEN", "~", 2, "*", "g", "w"),
             ("XRANGE", key, "-", "+"), ("XINFO", "STREAM", key, "FULL")]
    for g in groups:
        cmds += [("XACK", key, g, "1-1", "2-2"), ("XGROUP", "SETID", key, g, "0"),
                 ("XGROUP", "DESTROY", key, g)]
    cmds += [("XTRIM", key, "MAXLEN", 0), ("XINFO", "STREAM", key, "FULL"), ("DEL", key)]
    for cmd in cmds:
        reply = call(*cmd)
        assert _ok(reply), (cmd, reply)


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_dump_restore_round_trip(name):
    local = Local()
    build(local, name)
    value = local.value(b"s")
    payload = rdb.dump_payload(value, local.server)
    assert payload[0] == 19
    back = rdb.restore_value(local.server, payload)
    assert rdb.dump_payload(back, local.server) == payload
    assert local.call("RESTORE", "copy", 0, payload) == b"+OK\r\n"
    def both(*sub):
        # Idle times are "now" minus a stored time: two calls a millisecond
        # apart differ by one, so read the pair again when that happened.
        for _ in range(5):
            a = local.call(*[x.format("s") if isinstance(x, str) else x for x in sub])
            b = local.call(*[x.format("copy") if isinstance(x, str) else x for x in sub])
            if a == b:
                break
        return a, b

    for sub in (("XINFO", "STREAM", "{}", "FULL"), ("XINFO", "GROUPS", "{}"),
                ("DEBUG", "DIGEST-VALUE", "{}"), ("XRANGE", "{}", "-", "+"),
                ("XINFO", "STREAM", "{}")):
        a, b = both(*sub)
        assert a == b, (sub, a, b)
    for g in value.groups():
        a, b = both("XINFO", "CONSUMERS", "{}", g.name)
        assert a == b
        a, b = both("XPENDING", "{}", g.name, "-", "+", 100)
        assert a == b
    assert rdb.saved_object_len(local.server, back) == len(payload) - 11
    exercise(local, "copy")


def test_pel_sharing_survives_reload():
    local = Local()
    build(local, "groups")
    back = restored(rdb.dump_payload(local.value(b"s"), local.server))
    g = back.lookup_group(b"readers")
    owners = {}
    for c in g.consumers():
        for sid, nack in c.pel.items():
            assert g.pel.get(sid) is nack and nack.consumer is c
            owners[sid] = c.name
    assert set(owners) == set(g.pel.ids)
    assert owners[(1, 1)] == b"bob"
    assert g.pel.get((1, 1)).delivery_count == 7
    assert g.entries_read == local.value(b"s").lookup_group(b"readers").entries_read
    assert back.lookup_group(b"late").entries_read == \
        local.value(b"s").lookup_group(b"late").entries_read
    assert [x.name for x in back.groups()] == sorted(x.name for x in back.groups())


def test_entries_read_minus_one_is_written_as_uint64_max():
    local = Local()
    local.call("XADD", "s", "1-0", "a", 1)
    local.call("XADD", "s", "2-0", "a", 1)
    local.call("XDEL", "s", "1-0")
    local.call("XGROUP", "CREATE", "s", "g", "0")
    local.call("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", -1)
    value = local.value(b"s")
    assert value.lookup_group(b"g").entries_read == -1
    payload = rdb.dump_value(value)
    assert b"\x01g\x00\x00\x81" + b"\xff" * 8 in payload
    assert restored(payload).lookup_group(b"g").entries_read == -1


def test_compression_follows_rdbcompression():
    local = Local()
    build(local, "big-values-lzf")
    value = local.value(b"s")
    compressed = rdb.dump_value(value, local.server)
    local.call("CONFIG", "SET", "rdbcompression", "no")
    plain = rdb.dump_value(value, local.server)
    assert len(compressed) < len(plain) // 4
    assert plain.find(value.index.nodes[0].to_bytes()) > 0
    for p in (compressed, plain):
        assert rdb.dump_value(restored(p)) == compressed


@pytest.mark.parametrize("sanitize", ["no", "yes"])
def test_whole_file_round_trip(sanitize):
    local = Local(sanitize_dump_payload=sanitize)
    for i, name in enumerate(sorted(SCENARIOS)):
        build(local, name, key="k%d" % i)
    local.call("SET", "plain", "string")
    local.call("PEXPIREAT", "k0", 4102444800000)
    buf = io.BytesIO()
    rdb.write_rdb(local.server, buf)
    other = Local(sanitize_dump_payload=sanitize)
    before = other.server.__dict__.get("stat_dump_payload_sanitizations", 0)
    stats = rdb.load_rdb(other.server, io.BytesIO(buf.getvalue()))
    assert stats.keys_loaded == len(SCENARIOS) + 1
    assert other.call("DEBUG", "DIGEST") == local.call("DEBUG", "DIGEST")
    for i in range(len(SCENARIOS)):
        key = b"k%d" % i
        assert (rdb.dump_payload(other.value(key), other.server)
                == rdb.dump_payload(local.value(key), local.server))
        assert other.call("XINFO", "STREAM", key, "FULL") == \
            local.call("XINFO", "STREAM", key, "FULL")
    assert other.server.dbs[0].get_expire(b"k0") == 4102444800000
    after = other.server.__dict__.get("stat_dump_payload_sanitizations", 0)
    if sanitize == "yes":
        assert after > before


# ---------------------------------------------------------------------------
# Type 15 (Redis 5/6) and type 21 (Redis 7.2)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["groups", "nodes-and-deletions", "trimmed-to-zero",
                                  "empty-mkstream", "count-zero-node"])
def test_type_15_computes_the_new_fields(name):
    local = Local()
    build(local, name)
    new = local.value(b"s")
    old = restored(convert(rdb.dump_payload(new, local.server), 15))
    assert old.length == new.length and old.last_id == new.last_id
    assert old.entries_added == new.length
    assert old.max_deleted_entry_id == (0, 0)
    assert old.first_id == new.edge_id(True, False)
    if not new.length:
        assert old.first_id == (U64, U64)
    from omakase.types.stream import estimate_distance
    for g in old.groups():
        assert g.entries_read == estimate_distance(old, g.last_id)
    # and it saves as type 19 from then on
    again = rdb.dump_value(old)
    assert again[0] == 19 and rdb.dump_value(restored(again)) == again


def test_type_15_entries_read_estimates():
    local = Local()
    for i in range(1, 6):
        local.call("XADD", "s", "%d-0" % i, "f", i)
    local.call("XGROUP", "CREATE", "s", "at-top", "$")
    local.call("XGROUP", "CREATE", "s", "before", "0")
    local.call("XGROUP", "CREATE", "s", "first", "1-0")
    local.call("XGROUP", "CREATE", "s", "middle", "3-0")
    old = restored(convert(rdb.dump_payload(local.value(b"s")), 15))
    got = {g.name: g.entries_read for g in old.groups()}
    assert got == {b"at-top": 5, b"before": 0, b"first": 1, b"middle": -1}


def test_type_21_is_read_and_active_time_dropped():
    local = Local()
    build(local, "groups")
    payload = rdb.dump_payload(local.value(b"s"))
    v21 = convert(payload, RDB_TYPE_STREAM_LISTPACKS_3)
    ctx = rdb.LoadContext(local.server, True, True)
    r = Reader(v21)
    t = r.byte()
    value = rdb.VALUE_READERS[t](r, ctx)
    assert r.offset == len(v21)
    assert rdb.dump_payload(value) == payload
    # RESTORE keeps Redis 7.0's object-type check: 21 is unknown there.
    with pytest.raises(RdbError):
        rdb.restore_value(local.server, with_footer(v21))


# ---------------------------------------------------------------------------
# Corruption: one hand-made case per check
# ---------------------------------------------------------------------------
def _node_payload(nodes, length, last_id=(9, 0), tail=None) -> bytes:
    """A type-19 value from raw node (key, listpack bytes) pairs."""
    from omakase.encodings.stream_index import encode_id
    out = bytearray([19])
    rdb.save_len(out, len(nodes))
    for key, lp in nodes:
        rdb.save_string(out, key if isinstance(key, bytes) else encode_id(key), False)
        rdb.save_string(out, lp, False)
    rdb.save_len(out, length)
    for v in (*last_id, 0, 0, 0, 0, length):
        rdb.save_len(out, v)
    if tail is None:
        rdb.save_len(out, 0)
    else:
        out += tail
    return bytes(out)


def _lp(*elems) -> bytes:
    from omakase.encodings.listpack import Listpack
    return Listpack(list(elems)).to_bytes()


GOOD_NODE = _lp(2, 0, 1, b"f", 0, 2, 0, 0, b"v", 4, 2, 1, 0, b"w", 4)   # 1-0, 2-0


def _group_tail(pel, consumers, name=b"g") -> bytes:
    from omakase.encodings.stream_index import encode_id
    out = bytearray()
    rdb.save_len(out, 1)
    rdb.save_string(out, name, False)
    for v in (2, 0, 2):
        rdb.save_len(out, v)
    rdb.save_len(out, len(pel))
    for sid in pel:
        out += encode_id(sid) + (1000).to_bytes(8, "little") + b"\x01"
    rdb.save_len(out, len(consumers))
    for cname, ids in consumers:
        rdb.save_string(out, cname, False)
        out += (1000).to_bytes(8, "little")
        rdb.save_len(out, len(ids))
        for sid in ids:
            out += encode_id(sid)
    return bytes(out)


def test_hand_made_payload_is_valid():
    v = restored(_node_payload([((1, 0), GOOD_NODE)], 2, (2, 0)))
    assert v.length == 2 and v.index.range().__next__()[1] == [b"f", b"v"]
    v = restored(_node_payload([((1, 0), GOOD_NODE)], 2, (2, 0),
                               _group_tail([(1, 0), (2, 0)], [(b"c", [(1, 0)]),
                                                              (b"d", [(2, 0)])])))
    assert len(v.lookup_group(b"g").pel) == 2


CORRUPT = {
    "node key not 16 bytes": _node_payload([(b"\0" * 15, GOOD_NODE)], 2, (2, 0)),
    "empty listpack": _node_payload([((1, 0), _lp())], 0, (2, 0)),
    "listpack header size": _node_payload([((1, 0), GOOD_NODE[:-1] + b"\x00\xff")], 2, (2, 0)),
    "duplicate node": _node_payload([((1, 0), GOOD_NODE), ((1, 0), GOOD_NODE)], 4, (2, 0)),
    "no master terminator": _node_payload([((1, 0), _lp(1, 0, 1, b"f", 5, 2, 0, 0, b"v", 4))],
                                          1, (2, 0)),
    "master field count past end": _node_payload([((1, 0), _lp(1, 0, 50, b"f", 0))], 1),
    "negative count": _node_payload([((1, 0), _lp(-1, 0, 0, 0))], 0),
    "string count": _node_payload([((1, 0), _lp(b"x", 0, 0, 0))], 0),
    "counts exceed entries": _node_payload([((1, 0), _lp(3, 0, 1, b"f", 0, 2, 0, 0, b"v", 4))],
                                           3),
    "bad lp-count": _node_payload([((1, 0), _lp(1, 0, 1, b"f", 0, 2, 0, 0, b"v", 5))], 1),
    "bad flags": _node_payload([((1, 0), _lp(1, 0, 1, b"f", 0, 6, 0, 0, b"v", 4))], 1),
    "string delta": _node_payload([((1, 0), _lp(1, 0, 1, b"f", 0, 2, b"a", 0, b"v", 4))], 1),
    "trailing element": _node_payload(
        [((1, 0), _lp(2, 0, 1, b"f", 0, 2, 0, 0, b"v", 4, 2, 1, 0, b"w", 4, 7))], 2, (2, 0)),
    "deleted counter wrong": _node_payload(
        [((1, 0), _lp(1, 1, 1, b"f", 0, 2, 0, 0, b"v", 4, 2, 1, 0, b"w", 4))], 1, (2, 0)),
    "entries out of order": _node_payload(
        [((1, 0), _lp(2, 0, 1, b"f", 0, 2, 5, 0, b"v", 4, 2, 1, 0, b"w", 4))], 2, (9, 0)),
    "entry below master": _node_payload(
        [((5, 0), _lp(1, 0, 1, b"f", 0, 2, -1, 0, b"v", 4))], 1, (9, 0)),
    "nodes overlap": _node_payload([((1, 0), GOOD_NODE), ((2, 0), GOOD_NODE)], 4, (9, 0)),
    "entry above last id": _node_payload([((1, 0), GOOD_NODE)], 2, (1, 5)),
    "length but no nodes": _node_payload([], 3),
    "length differs from counts": _node_payload([((1, 0), GOOD_NODE)], 5, (2, 0)),
    "consumer entry not in PEL": _node_payload(
        [((1, 0), GOOD_NODE)], 2, (2, 0), _group_tail([(1, 0)], [(b"c", [(1, 0), (2, 0)])])),
    "PEL entry without consumer": _node_payload(
        [((1, 0), GOOD_NODE)], 2, (2, 0), _group_tail([(1, 0), (2, 0)], [(b"c", [(1, 0)])])),
    "PEL entry with two consumers": _node_payload(
        [((1, 0), GOOD_NODE)], 2, (2, 0),
        _group_tail([(1, 0)], [(b"c", [(1, 0)]), (b"d", [(1, 0)])])),
    "duplicate consumer PEL entry": _node_payload(
        [((1, 0), GOOD_NODE)], 2, (2, 0), _group_tail([(1, 0)], [(b"c", [(1, 0), (1, 0)])])),
    "duplicate consumer": _node_payload(
        [((1, 0), GOOD_NODE)], 2, (2, 0), _group_tail([], [(b"c", []), (b"c", [])])),
    "duplicate PEL entry": _node_payload(
        [((1, 0), GOOD_NODE)], 2, (2, 0), _group_tail([(1, 0), (1, 0)], [(b"c", [(1, 0)])])),
    "duplicate group": _node_payload(
        [((1, 0), GOOD_NODE)], 2, (2, 0),
        b"\x02" + _group_tail([], [])[1:] + _group_tail([], [])[1:]),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_payloads_are_refused(case):
    local = Local()
    with pytest.raises(RdbError):
        rdb.restore_value(local.server, CORRUPT[case])
    reply = local.call("RESTORE", "k", 0, with_footer(CORRUPT[case]))
    assert reply.startswith(b"-ERR Bad data format"), reply
    assert local.call("EXISTS", "k") == b":0\r\n"


@pytest.mark.parametrize("case", ["nodes overlap", "entries out of order",
                                  "length differs from counts", "PEL entry without consumer",
                                  "bad lp-count"])
def test_structural_checks_run_without_deep_sanitization(case):
    """A file loaded under sanitize-dump-payload no still gets the walk."""
    local = Local()
    r = Reader(CORRUPT[case])
    ctx = rdb.LoadContext(local.server, False, False)
    with pytest.raises(RdbError):
        rdb.VALUE_READERS[r.byte()](r, ctx)


def test_nodes_out_of_order_in_payload_are_sorted():
    second = _lp(1, 0, 1, b"f", 0, 2, 0, 0, b"x", 4)
    v = restored(_node_payload([((5, 0), second), ((1, 0), GOOD_NODE)], 3, (5, 0)))
    assert [sid for sid, _ in v.index.range()] == [(1, 0), (2, 0), (5, 0)]


def test_every_truncation_is_refused():
    local = Local()
    build(local, "groups")
    value = rdb.dump_value(local.value(b"s"), local.server)
    for n in range(1, len(value)):
        with pytest.raises(RdbError):
            rdb.restore_value(local.server, value[:n])


def test_truncated_file_leaves_dataset_untouched():
    local = Local()
    build(local, "groups")
    buf = io.BytesIO()
    rdb.write_rdb(local.server, buf)
    data = buf.getvalue()
    other = Local()
    other.call("SET", "keep", "me")
    for cut in (len(data) // 2, len(data) - 12):
        with pytest.raises(RdbError):
            rdb.load_rdb(other.server, io.BytesIO(data[:cut]))
    assert other.call("GET", "keep") == b"$2\r\nme\r\n"


def _mutations(payload: bytes, rng: random.Random, count: int):
    body = payload[:-10]
    for _ in range(count):
        b = bytearray(body)
        for _ in range(rng.choice((1, 1, 2, 4))):
            i = rng.randrange(1, len(b))
            kind = rng.random()
            if kind < 0.4:
                b[i] ^= 1 << rng.randrange(8)
            elif kind < 0.8:
                b[i] = rng.randrange(256)
            elif kind < 0.9:
                del b[i]
            else:
                b.insert(i, rng.randrange(256))
        yield with_footer(bytes(b))


@pytest.mark.parametrize("name", ["groups", "nodes-and-deletions", "numeric-fields",
                                  "tombstone-above-last-id"])
def test_fuzzed_payloads_never_make_a_broken_stream(name):
    rng = random.Random(name)
    payload = payload_of(name)
    local = Local()
    accepted = 0
    for mutated in _mutations(payload, rng, 150):
        reply = local.call("RESTORE", "s", 0, mutated, "REPLACE")
        if reply == b"+OK\r\n":
            accepted += 1
            exercise(local)
        else:
            assert reply.startswith(b"-ERR Bad data format"), reply
        local.call("FLUSHALL")
        assert local.call("DBSIZE") == b":0\r\n"
    assert accepted < 150


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["add", "add", "add", "del", "trim", "group",
                                           "read", "ack", "claim", "setid"]),
                          st.integers(0, 1 << 20)), max_size=60),
       st.sampled_from([1, 2, 3, 100]))
def test_random_streams_round_trip(ops, node_entries):
    local = Local(stream_node_max_entries=node_entries)
    call = local.call
    call("XADD", "s", "1-0", "start", 1)
    nid = 1
    for op, n in ops:
        if op == "add":
            nid += 1 + n % 3
            fields = [("a", n), ("b", "v%d" % n)] if n % 4 else [("k%d" % (n % 7), "x" * (n % 50))]
            call("XADD", "s", "%d-%d" % (nid, n % 5), *[x for f in fields for x in f])
        elif op == "del":
            call("XDEL", "s", "%d-%d" % (n % (nid + 1), n % 5))
        elif op == "trim":
            call("XTRIM", "s", "MAXLEN", "~" if n & 1 else "=", n % 20)
        elif op == "group":
            call("XGROUP", "CREATE", "s", "g%d" % (n % 3), "%d" % (n % (nid + 1)))
        elif op == "read":
            call("XREADGROUP", "GROUP", "g%d" % (n % 3), "c%d" % (n % 4), "COUNT", 1 + n % 4,
                 "STREAMS", "s", ">" if n & 1 else "0")
        elif op == "ack":
            call("XACK", "s", "g%d" % (n % 3), "%d-%d" % (n % (nid + 1), n % 5))
        elif op == "claim":
            call("XAUTOCLAIM", "s", "g%d" % (n % 3), "c%d" % (n % 4), 0, "0-0",
                 "COUNT", 1 + n % 3)
        else:
            call("XGROUP", "SETID", "s", "g%d" % (n % 3), "%d" % (n % (nid + 1)))
    value = local.value(b"s")
    if value is None:
        return
    payload = rdb.dump_payload(value, local.server)
    back = rdb.restore_value(local.server, payload)
    assert rdb.dump_payload(back, local.server) == payload
    assert local.call("RESTORE", "copy", 0, payload) == b"+OK\r\n"
    assert call("XINFO", "STREAM", "copy", "FULL") == call("XINFO", "STREAM", "s", "FULL")
    assert call("DEBUG", "DIGEST-VALUE", "copy") == call("DEBUG", "DIGEST-VALUE", "s")


def test_type_15_in_a_version_9_file():
    """A Redis 6 file (RDB 9) holding a STREAM_LISTPACKS value."""
    local = Local()
    build(local, "groups")
    value15 = convert(rdb.dump_value(local.value(b"s")), 15)
    out = bytearray(b"REDIS0009")
    out += b"\xfe\x00\xfb\x01\x00"                      # SELECTDB 0, RESIZEDB 1 0
    out += value15[:1] + b"\x01s" + value15[1:]        # type, key, value
    out += b"\xff" + b"\0" * 8                          # EOF, no checksum
    other = Local()
    stats = rdb.load_rdb(other.server, io.BytesIO(bytes(out)))
    assert stats.keys_loaded == 1 and stats.rdb_version == 9
    loaded = other.value(b"s")
    assert loaded.entries_added == loaded.length == local.value(b"s").length
    assert other.call("XRANGE", "s", "-", "+") == local.call("XRANGE", "s", "-", "+")
    exercise(other)
