"""The single-search / incremental paths of hashes, streams and lists, against
the slow forms they replace (no sockets).

* ``Listpack.find_value`` + ``replace_at`` must give the bytes of a
  listpack built from the edited list, with and without an offset index;
  ``Hash.find_slot`` + ``set_at`` those of ``Hash.get`` + ``Hash.set``.
* ``StreamIndex.entries`` / ``range`` / ``first_id`` / ``last_id`` /
  ``get`` (the incremental node walk) must agree with a whole-node decode
  (``parse_node``) for every interval, direction, count and tombstone mode.
* ``Quicklist.remove`` (search per node) must agree with a Python list.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omakase.encodings.listpack import Listpack
from omakase.encodings.quicklist import Quicklist
from omakase.encodings.stream_index import (MAX_ID, MIN_ID, StreamIndex, decode_id,
                                            parse_node)
from omakase.types.hash import Hash

VALUES = [b"", b"0", b"1", b"-1", b"127", b"128", b"-4096", b"4095", b"32767", b"-32768",
          b"8388607", b"-8388608", b"2147483647", b"2147483648", b"9223372036854775807",
          b"-9223372036854775808", b"01", b"1.5", b"abc", b"x" * 63, b"x" * 64,
          b"y" * 200, b"z" * 4095, b"w" * 4096]


class _Cfg:
    hash_max_listpack_value = 64
    hash_max_listpack_entries = 128


# ---------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("npairs", [1, 5, 31, 32, 33, 100])
@pytest.mark.parametrize("indexed", [False, True])
def test_replace_at_matches_listpack_replace(npairs, indexed):
    rng = random.Random(npairs * 2 + indexed)
    flat = []
    for i in range(npairs):
        flat += [b"f%d" % i, rng.choice(VALUES)]
    fast, slow = Listpack(flat), list(flat)
    for _ in range(200):
        if indexed:
            fast.get(len(fast) // 2)          # builds the offset index when big
        field = b"f%d" % rng.randrange(npairs + 2)
        new = rng.choice(VALUES)
        k, a = fast.find_value(field)
        i = slow[::2].index(field) * 2 if field in slow[::2] else -1
        assert k == (i + 1 if i >= 0 else -1)
        if k < 0:
            continue
        v = fast.value_at(a)
        assert fast.get(k) == (b"%d" % v if isinstance(v, int) else v) == slow[i + 1]
        fast.replace_at(k, a, int(new) if new in (b"4095", b"-1") else new)
        slow[i + 1] = new
        assert fast.to_bytes() == Listpack(slow).to_bytes()
        assert fast.to_list() == slow
    fast.validate()
    assert [fast.get(j) for j in range(len(fast))] == slow


@pytest.mark.parametrize("encoding", ["listpack", "hashtable"])
def test_find_slot_set_at(encoding):
    h = Hash.from_pairs({b"a": b"1", b"b": b"x", b"c": b"-5000"}, 0, _Cfg,
                        force_ht=encoding == "hashtable")
    assert h.encoding == encoding
    v, slot = h.find_slot(b"a")
    assert v == (1 if encoding == "listpack" else b"1") and slot is not None
    h.set_at(slot, b"a", b"2", _Cfg, 2)
    v, slot = h.find_slot(b"b")
    assert v == b"x"
    h.set_at(slot, b"b", b"y", _Cfg)
    v, slot = h.find_slot(b"new")
    assert v is None and slot is None
    h.set_at(slot, b"new", b"3", _Cfg)
    if encoding == "listpack":
        assert h.flat() == [b"a", b"2", b"b", b"y", b"c", b"-5000", b"new", b"3"]
    assert dict(h.items()) == {b"a": b"2", b"b": b"y", b"c": b"-5000", b"new": b"3"}
    # a value over hash-max-listpack-value converts first (hashTypeSet)
    v, slot = h.find_slot(b"c")
    h.set_at(slot, b"c", b"v" * 65, _Cfg)
    assert h.encoding == "hashtable" and h.get(b"c") == b"v" * 65


def test_set_one_search_matches_old_bytes():
    """Hash.set on a listpack: same bytes as find + replace / append."""
    rng = random.Random(7)
    h = Hash(Listpack(), 0)
    ref = Listpack()
    for _ in range(300):
        f = b"f%d" % rng.randrange(20)
        v = rng.choice(VALUES[:19])
        existed = h.set(f, v, _Cfg)
        i = ref.find(f, 0, 1)
        assert existed == (i >= 0)
        if i >= 0:
            ref.replace(i + 1, v)
        else:
            ref.extend((f, v))
        assert h.data.to_bytes() == ref.to_bytes()


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------
def _reference(idx: StreamIndex, start, end, rev, count, tombstones):
    """The interval by whole-node decoding (the previous implementation)."""
    out = []
    for key, lp in zip(idx.keys, idx.nodes):
        for eid, flags, _p, pairs in parse_node(lp, decode_id(key)):
            if start <= eid <= end and (tombstones or not flags & 1):
                out.append((eid, pairs))
    if rev:
        out.reverse()
    return out[:count] if count else out


PAIRS = [[b"a", b"1"], [b"a", b"2", b"b", b"x"], [b"a", b"300"], [b"c", b"-7"],
         [b"a", b"z" * 70], [b"a", b"1", b"b", b"2", b"c", b"3"], [b"12", b"-70000"]]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_stream_walk_matches_parse_node(data):
    rng = random.Random(data.draw(st.integers(0, 1 << 30)))
    idx = StreamIndex()
    max_entries = data.draw(st.sampled_from([0, 1, 2, 3, 7, 100]))
    max_bytes = data.draw(st.sampled_from([0, 60, 200, 4096]))
    top = (1 << 64) - 1
    huge = data.draw(st.booleans())        # IDs at the top of uint64: deltas wrap
    ms, seq = (top - 3, top - 40) if huge else (rng.choice([0, 5, 1 << 40]), 1)
    ids = []
    for _ in range(data.draw(st.integers(1, 60))):
        if huge:
            step = rng.choice([0, 0, 1])
            if ms + step > top or (not step and seq >= top):
                break
        else:
            step = rng.choice([0, 0, 1, 3, 200, 70000, 1 << 33])
        ms, seq = (ms + step, 0) if step else (ms, seq + rng.choice([1, 1, 5, 300]))
        if seq > top:
            break
        ids.append((ms, seq))
        idx.append((ms, seq), rng.choice(PAIRS), max_bytes, max_entries)
    if not ids:
        return
    for sid in rng.sample(ids, rng.randrange(len(ids))):
        if rng.random() < 0.5:
            idx.delete(sid)
    bounds = ids + [MIN_ID, MAX_ID] + [x for x in [(ids[0][0], ids[0][1] + 1), (ids[-1][0] + 1, 0)]
                                       if max(x) <= top]
    for _ in range(30):
        start, end = rng.choice(bounds), rng.choice(bounds)
        rev = rng.random() < 0.5
        count = rng.choice([0, 1, 2, 5])
        tomb = rng.random() < 0.3
        want = _reference(idx, start, end, rev, count, tomb)
        assert idx.entries(start, end, rev, count, tomb) == want
        if not count:
            assert list(idx.range(start, end, rev, tomb)) == want
    live = _reference(idx, MIN_ID, MAX_ID, False, 0, False)
    assert idx.first_id() == (live[0][0] if live else None)
    assert idx.last_id() == (live[-1][0] if live else None)
    everything = _reference(idx, MIN_ID, MAX_ID, False, 0, True)
    assert idx.last_id(True) == (everything[-1][0] if everything else None)
    for sid in rng.sample(ids, min(5, len(ids))):
        hit = [p for e, p in live if e == sid]
        assert idx.get(sid) == (hit[0] if hit else None)
        assert idx.exists(sid) == bool(hit)


# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fill,compress", [(-2, 0), (-1, 1), (3, 0), (128, 1)])
def test_lrem_matches_python_list(fill, compress):
    rng = random.Random(fill * 10 + compress)
    vals = [b"a", b"b", b"1", b"300", b"x" * 70, b"c"]
    for _ in range(40):
        items = [rng.choice(vals) for _ in range(rng.randrange(1, 600))]
        ql = Quicklist(fill, compress, items)
        if rng.random() < 0.5 and len(ql):
            ql.get(len(ql) // 2)              # a node with an offset index
        v = rng.choice(vals + [b"nope"])
        count = rng.choice([0, 1, 2, 50, -1, -3])
        want = list(items)
        n = 0
        if count >= 0:
            i = 0
            while i < len(want) and (not count or n < count):
                if want[i] == v:
                    del want[i]
                    n += 1
                else:
                    i += 1
        else:
            i = len(want) - 1
            while i >= 0 and n < -count:
                if want[i] == v:
                    del want[i]
                    n += 1
                i -= 1
        assert ql.remove(v, count) == n
        assert ql.to_list() == want
        assert len(ql) == len(want)
