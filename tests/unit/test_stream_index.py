"""StreamIndex (encodings/stream_index.py) against a plain sorted dict.

A hypothesis state machine appends, deletes, range-reads (both directions)
and trims (MAXLEN/MINID, exact/approximate, with LIMIT) on a StreamIndex and
on a model ``{id: pairs}``; after every step the live entries, the length and
the node invariants (master counters, lp-count terminators, node size limits)
must agree.  Fixed tests pin the byte layout of a node against Redis's
format.
"""
from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from omakase.encodings.listpack import Listpack
from omakase.encodings.stream_index import (FLAG_DELETED, FLAG_SAMEFIELDS, MAX_ID, MIN_ID,
                                            StreamIndex, decode_id, encode_id, parse_node)


def test_node_layout_matches_redis():
    idx = StreamIndex()
    idx.append((5, 0), [b"a", b"1", b"b", b"x"], 4096, 100)
    idx.append((5, 1), [b"a", b"2", b"b", b"y"], 4096, 100)
    idx.append((7, 0), [b"c", b"3"], 4096, 100)
    assert idx.keys == [encode_id((5, 0))]
    lp = idx.nodes[0]
    assert lp.to_values() == [
        3, 0, 2, b"a", b"b", 0,
        FLAG_SAMEFIELDS, 0, 0, 1, b"x", 5,
        FLAG_SAMEFIELDS, 0, 1, 2, b"y", 5,
        0, 2, 0, 1, b"c", 3, 6,
    ]
    assert idx.delete((5, 1))
    assert lp.to_values()[:2] == [2, 1]
    assert lp.to_values()[12] == FLAG_SAMEFIELDS | FLAG_DELETED
    assert not idx.delete((5, 1))
    assert idx.length == 2
    assert [e[0] for e in idx.range()] == [(5, 0), (7, 0)]


def test_node_limits_and_rax_nodes():
    idx = StreamIndex()
    for i in range(10):
        idx.append((i + 1, 0), [b"f", b"v"], 4096, 3)
    assert len(idx) == 4
    assert idx.rax_nodes() > len(idx)
    assert StreamIndex().rax_nodes() == 1
    one = StreamIndex()
    one.append((1, 1), [b"f", b"v"], 0, 0)
    assert one.rax_nodes() == 2
    big = StreamIndex()
    for i in range(5):
        big.append((i + 1, 0), [b"f", b"x" * 100], 150, 0)
    assert len(big) == 5


def test_huge_id_deltas_wrap_like_int64():
    idx = StreamIndex()
    idx.append((1, 0), [b"a", b"b"], 4096, 100)
    top = (2 ** 64 - 1, 2 ** 64 - 1)
    idx.append(top, [b"a", b"b"], 4096, 100)
    assert [e[0] for e in idx.range()] == [(1, 0), top]
    assert idx.last_id() == top
    assert idx.trim(minid=(2, 0)) == 1


ids = st.tuples(st.integers(0, 30), st.integers(0, 3))
pairs = st.lists(st.tuples(st.sampled_from([b"a", b"b", b"12", b"-7"]),
                           st.sampled_from([b"x", b"0", b"y" * 80])),
                 min_size=1, max_size=3).map(lambda ps: [x for p in ps for x in p])


class StreamIndexMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.idx = StreamIndex()
        self.model: dict[tuple, list] = {}
        self.last = MIN_ID
        self.max_entries = 3
        self.max_bytes = 200

    @rule(sid=ids, p=pairs)
    def append(self, sid, p):
        if sid <= self.last:
            return
        self.idx.append(sid, p, self.max_bytes, self.max_entries)
        self.model[sid] = p
        self.last = sid

    @rule(sid=ids)
    def delete(self, sid):
        expected = sid in self.model
        assert self.idx.delete(sid) == expected
        self.model.pop(sid, None)

    @rule(a=ids, b=ids, rev=st.booleans())
    def read_range(self, a, b, rev):
        got = list(self.idx.range(a, b, rev))
        want = [(k, self.model[k]) for k in sorted(self.model) if a <= k <= b]
        if rev:
            want.reverse()
        assert got == want

    @rule(maxlen=st.integers(0, 10), approx=st.booleans(), limit=st.integers(0, 6))
    def trim_maxlen(self, maxlen, approx, limit):
        before = dict(self.model)
        n = self.idx.trim(maxlen=maxlen, approx=approx, limit=limit if approx else 0)
        keys = sorted(before)
        removed = keys[:n]
        for k in removed:
            del self.model[k]
        if not approx:
            assert len(self.model) == min(len(before), maxlen) or len(before) <= maxlen

    @rule(minid=ids, approx=st.booleans())
    def trim_minid(self, minid, approx):
        before = sorted(self.model)
        n = self.idx.trim(minid=minid, approx=approx)
        for k in before[:n]:
            del self.model[k]
        if not approx:
            assert all(k >= minid for k in self.model)

    @invariant()
    def agrees(self):
        idx = self.idx
        assert idx.length == len(self.model)
        assert [e[0] for e in idx.range()] == sorted(self.model)
        assert idx.first_id() == (min(self.model) if self.model else None)
        assert idx.last_id() == (max(self.model) if self.model else None)
        assert idx.keys == sorted(idx.keys)
        for key, lp in zip(idx.keys, idx.nodes):
            lp2 = Listpack.from_bytes(lp.to_bytes())
            entries = parse_node(lp2, decode_id(key))
            live = sum(1 for e in entries if not e[1] & FLAG_DELETED)
            vals = lp2.to_values()
            assert vals[0] == live > 0
            assert vals[1] == len(entries) - live
            assert entries[0][0] == decode_id(key)
            assert len(entries) <= self.max_entries


StreamIndexMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=25,
                                                deadline=None)
TestStreamIndex = StreamIndexMachine.TestCase


def test_range_edges():
    idx = StreamIndex()
    assert list(idx.range()) == []
    idx.append((1, 1), [b"a", b"b"], 0, 0)
    assert list(idx.range(MIN_ID, MAX_ID, True)) == [((1, 1), [b"a", b"b"])]
    assert list(idx.range((2, 0), MAX_ID)) == []
    assert list(idx.range(MIN_ID, (0, 5), True)) == []
