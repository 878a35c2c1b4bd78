"""Quicklist: node layouts checked against Redis 7.0.15, a model-based state
machine, compression and plain nodes."""

import hashlib
import random

import lzf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from omakase.encodings import quicklist as qlmod
from omakase.encodings.listpack import Listpack
from omakase.encodings.quicklist import LZF, PACKED, PLAIN, RAW, Quicklist


@pytest.fixture(autouse=True)
def restore_threshold():
    yield
    qlmod.set_packed_threshold(0)


def nodes_digest(ql):
    h = hashlib.sha256()
    for c, payload in ql.nodes():
        h.update(bytes([c]) + len(payload).to_bytes(4, "little") + payload)
    return h.hexdigest()


# --- golden layouts -------------------------------------------------------------


def test_push_layout_fill_minus2():
    # RPUSH l aaaaaaaaaa x2000 on redis 7.0.15 -> nodes of 681, 681, 638
    # entries, listpack sizes 8179, 8179, 7663.
    ql = Quicklist(-2, 0)
    for _ in range(2000):
        ql.push_tail(b"aaaaaaaaaa")
    assert [(c, n, sz) for c, _, n, sz in ql.node_info()] == [(2, 681, 8179), (2, 681, 8179), (2, 638, 7663)]
    bulk = Quicklist(-2, 0)
    bulk.extend_tail([b"aaaaaaaaaa"] * 2000)
    assert list(bulk.nodes()) == list(ql.nodes())
    head = Quicklist(-2, 0)
    head.extend_head([b"aaaaaaaaaa"] * 2000)
    assert [n for _, _, n, _ in head.node_info()] == [638, 681, 681]


def test_linsert_split_layout_fill5():
    # CONFIG SET list-max-listpack-size 5; RPUSH l 0..11; LINSERT l AFTER 2 x
    ql = Quicklist(5, 0)
    ql.extend_tail([b"%d" % i for i in range(12)])
    assert [n for _, _, n, _ in ql.node_info()] == [5, 5, 2]
    assert ql.insert_pivot(b"2", b"x", after=True)
    info = [(n, sz) for _, _, n, sz in ql.node_info()]
    assert info == [(3, 13), (3, 14), (5, 17), (2, 11)]
    assert [Listpack.from_bytes(p).to_list() for _, p in ql.nodes()][:2] == [[b"0", b"1", b"2"], [b"x", b"3", b"4"]]
    assert not ql.insert_pivot(b"nope", b"y", after=True)


def make_ops(seed, n, maxval):
    """A deterministic command script plus the expected final list contents,
    computed with plain Python list semantics of the Redis commands."""
    rnd = random.Random(seed)
    model = []
    ops = []

    def val():
        k = rnd.random()
        if k < 0.3:
            return b"%d" % rnd.randint(-5000, 5000)
        if k < 0.9:
            return bytes(rnd.choice(b"abc") for _ in range(rnd.randint(0, 30)))
        return b"x" * rnd.randint(50, maxval)

    for _ in range(n):
        op = rnd.random()
        ln = len(model)
        if op < 0.25:
            vs = [val() for _ in range(rnd.randint(1, 5))]
            ops.append(("rpush", vs))
            model.extend(vs)
        elif op < 0.4:
            vs = [val() for _ in range(rnd.randint(1, 5))]
            ops.append(("lpush", vs))
            for v in vs:
                model.insert(0, v)
        elif op < 0.55 and ln:
            piv = model[rnd.randrange(ln)]
            v = val()
            after = rnd.random() < 0.5
            ops.append(("linsert", piv, v, after))
            i = model.index(piv)
            model.insert(i + 1 if after else i, v)
        elif op < 0.65 and ln:
            i = rnd.randrange(-ln, ln)
            v = val()
            ops.append(("lset", i, v))
            model[i] = v
        elif op < 0.72 and ln:
            v = model[rnd.randrange(ln)]
            c = rnd.randint(-3, 3)
            ops.append(("lrem", c, v))
            idxs = [i for i, x in enumerate(model) if x == v]
            if c > 0:
                idxs = idxs[:c]
            elif c < 0:
                idxs = idxs[c:]
            for i in reversed(idxs):
                del model[i]
        elif op < 0.75 and ln:
            s, e = rnd.randint(0, 3), -rnd.randint(1, 4)
            ops.append(("ltrim", s, e))
            model[:] = model[s:ln + e + 1]
        elif op < 0.87 and ln:
            ops.append(("lpop",))
            model.pop(0)
        elif ln:
            ops.append(("rpop",))
            model.pop()
    return ops, model


def apply_ops(ql, ops):
    for op in ops:
        name = op[0]
        if name == "rpush":
            ql.extend_tail(op[1])
        elif name == "lpush":
            ql.extend_head(op[1])
        elif name == "linsert":
            assert ql.insert_pivot(op[1], op[2], op[3])
        elif name == "lset":
            ql.replace(op[1], op[2])
        elif name == "lrem":
            ql.remove(op[2], op[1])
        elif name == "ltrim":
            ql.trim(op[1], op[2])
        elif name == "lpop":
            ql.pop_head()
        else:
            ql.pop_tail()


# (seed, ops, max value size, fill, compress depth, packed threshold or 0) ->
# sha256 of the node payloads that redis-server 7.0.15 DUMPs after running the
# script (computed once with tools outside this repo; see make_ops).
GOLDEN_SCRIPTS = [
    ((11, 400, 300, 4, 2, 60), "7f164d94e3c4d0ef4bdaf776973ae1fdc0dfa855ec26604d7067331fbf36d77c"),
    ((12, 700, 300, -1, 1, 0), "6169cf8461fc19488e5f5d880fcb6e2497e2dbb6b2d74ade8afed4f6e33b6139"),
    ((13, 500, 120, 3, 0, 100), "e664f43a91ca9314bc7130e1ee7334483037951086ac3c2b5c0120c3e53224dc"),
]


@pytest.mark.parametrize("params,digest", GOLDEN_SCRIPTS)
def test_script_matches_redis(params, digest):
    seed, n, maxval, fill, comp, thr = params
    qlmod.set_packed_threshold(thr)
    ops, model = make_ops(seed, n, maxval)
    ql = Quicklist(fill, comp)
    apply_ops(ql, ops)
    assert ql.to_list() == model
    assert nodes_digest(ql) == digest


# --- plain nodes and compression ------------------------------------------------


def test_plain_nodes():
    qlmod.set_packed_threshold(10)
    ql = Quicklist(-2, 0)
    ql.extend_tail([b"a", b"b", b"0123456789", b"c"])
    assert [(c, n) for c, _, n, _ in ql.node_info()] == [(PACKED, 2), (PLAIN, 1), (PACKED, 1)]
    assert ql.get(2) == b"0123456789"
    assert list(ql.nodes())[1] == (PLAIN, b"0123456789")
    ql.replace(2, b"short")  # plain -> packed value: lands in the next node's head
    assert ql.to_list() == [b"a", b"b", b"short", b"c"]
    assert [c for c, _, _, _ in ql.node_info()] == [PACKED, PACKED]
    ql.replace(0, b"X" * 20)  # large value into a packed node
    assert ql.to_list() == [b"X" * 20, b"b", b"short", b"c"]
    assert [c for c, _, _, _ in ql.node_info()] == [PLAIN, PACKED, PACKED]
    ql.insert_after(1, b"Y" * 12)  # at the tail of its node: a new plain node
    assert ql.to_list() == [b"X" * 20, b"b", b"Y" * 12, b"short", b"c"]
    assert [c for c, _, _, _ in ql.node_info()] == [PLAIN, PACKED, PLAIN, PACKED]
    ql.insert_after(3, b"Z" * 12)  # middle of a packed node: split around it
    assert ql.to_list() == [b"X" * 20, b"b", b"Y" * 12, b"short", b"Z" * 12, b"c"]
    assert [c for c, _, _, _ in ql.node_info()] == [PLAIN, PACKED, PLAIN, PACKED, PLAIN, PACKED]
    assert ql.pop_head() == b"X" * 20
    back = Quicklist.from_nodes(ql.nodes())
    assert back.to_list() == ql.to_list()
    assert not qlmod.set_packed_threshold(1 << 33) and qlmod.set_packed_threshold(0)
    assert qlmod.get_packed_threshold() == 1 << 30


def test_compression_depth():
    ql = Quicklist(4, 1)
    ql.extend_tail([b"value-%03d" % i for i in range(40)])
    info = ql.node_info()
    assert len(info) == 10
    assert info[0][1] == RAW and info[-1][1] == RAW
    assert all(enc == LZF for _, enc, _, _ in info[1:-1])
    assert ql.to_list() == [b"value-%03d" % i for i in range(40)]
    assert ql.get(17) == b"value-017" and ql.range(5, 9) == [b"value-%03d" % i for i in range(5, 9)]
    # rdb_nodes exposes the LZF payloads as they are stored
    for (c, payload, raw_len), (_, raw) in zip(ql.rdb_nodes(), ql.nodes()):
        if raw_len:
            assert lzf.decompress(payload, raw_len) == raw
    cp = ql.copy()
    assert cp.node_info() == ql.node_info() and list(cp.nodes()) == list(ql.nodes())
    cp.pop_head()
    assert len(cp) == len(ql) - 1 and ql.get(0) == b"value-000"
    # small nodes (< 48 bytes) are never compressed
    small = Quicklist(1, 1)
    small.extend_tail([b"a", b"b", b"c", b"d"])
    assert all(enc == RAW for _, enc, _, _ in small.node_info())
    # popping brings compressed nodes back within the depth, uncompressed
    for _ in range(36):
        ql.pop_tail()
    assert all(enc == RAW for _, enc, _, _ in ql.node_info())
    assert ql.to_list() == [b"value-%03d" % i for i in range(4)]


def test_from_nodes_validation():
    good = Listpack([b"a", b"b"]).to_bytes()
    ql = Quicklist.from_nodes([(PACKED, good), (PACKED, Listpack().to_bytes()), (PLAIN, b"zz")], -2, 0)
    assert ql.to_list() == [b"a", b"b", b"zz"] and ql.node_count == 2
    with pytest.raises(ValueError):
        Quicklist.from_nodes([(3, good)])
    with pytest.raises(ValueError):
        Quicklist.from_nodes([(PACKED, good[:-1] + b"\x00")])


def test_with_nodes_uses_the_template_options():
    good = Listpack([b"a", b"b"]).to_bytes()
    template = Quicklist(3, 1)
    nodes = [(PACKED, good), (PACKED, Listpack().to_bytes()), (PLAIN, b"zz"), (PACKED, good)]
    ql = template.with_nodes(nodes, validate=True)
    ref = Quicklist.from_nodes(nodes, 3, 1)
    assert ql is not template and len(template) == 0
    assert (ql.fill, ql.compress, len(ql), ql.to_list()) == (3, 1, 5, ref.to_list())
    assert [n.encoding for n in ql._nodes] == [n.encoding for n in ref._nodes]
    ql.push_tail(b"c")                  # an ordinary quicklist afterwards
    assert ql.to_list()[-1] == b"c" and len(template) == 0
    with pytest.raises(ValueError):
        template.with_nodes([(PACKED, good[:-1] + b"\x00")])


def test_trim_positions_and_ranges():
    ql = Quicklist(3, 0, values=[b"%d" % (i % 5) for i in range(23)])
    model = ql.to_list()
    assert ql.positions(b"3") == [3]
    assert ql.positions(b"3", rank=2, count=0) == [8, 13, 18]
    assert ql.positions(b"3", rank=-1, count=2) == [18, 13]
    assert ql.positions(b"3", count=0, maxlen=9) == [3, 8]
    assert ql.positions(b"3", rank=-1, count=0, maxlen=6) == [18]
    assert ql.positions(b"nope") == []
    assert ql.range(-3, 100) == model[-3:]
    assert list(ql.iter_from(-4)) == model[-4:]
    assert list(ql.iter_from(4, reverse=True)) == model[4::-1]
    ql.trim(2, -3)
    assert ql.to_list() == model[2:-2]
    ql.trim(5, 2)
    assert len(ql) == 0 and ql.node_count == 0
    assert ql.pop_head() is None and ql.pop_tail() is None


# --- model-based state machine ------------------------------------------------------

values = st.one_of(
    st.sampled_from([b"a", b"b", b"1", b"-7", b"300", b""]),
    st.binary(max_size=8),
    st.integers(20, 90).map(lambda n: b"z" * n),
)


class QuicklistMachine(RuleBasedStateMachine):
    @initialize(fill=st.sampled_from([1, 2, 3, 5, -1]), comp=st.sampled_from([0, 0, 1, 2]),
                thr=st.sampled_from([0, 0, 64]))
    def setup(self, fill, comp, thr):
        qlmod.set_packed_threshold(thr)
        self.ql = Quicklist(fill, comp)
        self.model = []

    @rule(v=values)
    def push_tail(self, v):
        self.ql.push_tail(v)
        self.model.append(v)

    @rule(v=values)
    def push_head(self, v):
        self.ql.push_head(v)
        self.model.insert(0, v)

    @rule(vs=st.lists(values, max_size=6), head=st.booleans())
    def extend(self, vs, head):
        if head:
            self.ql.extend_head(vs)
            for v in vs:
                self.model.insert(0, v)
        else:
            self.ql.extend_tail(vs)
            self.model.extend(vs)

    @rule(head=st.booleans())
    def pop(self, head):
        got = self.ql.pop_head() if head else self.ql.pop_tail()
        exp = (self.model.pop(0) if head else self.model.pop()) if self.model else None
        assert got == exp

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 100), v=values, after=st.booleans())
    def insert_at(self, i, v, after):
        i %= len(self.model)
        if after:
            self.ql.insert_after(i, v)
            self.model.insert(i + 1, v)
        else:
            self.ql.insert_before(i, v)
            self.model.insert(i, v)

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 100), v=values)
    def replace(self, i, v):
        i %= len(self.model)
        self.ql.replace(i - len(self.model), v)
        self.model[i] = v

    @rule(start=st.integers(-20, 20), count=st.integers(0, 10))
    def delete_range(self, start, count):
        n = len(self.model)
        got = self.ql.delete_range(start, count)
        s = start + n if start < 0 else start
        if count <= 0 or s < 0 or s >= n:
            assert got == 0
            return
        e = min(s + count, n)
        assert got == e - s
        del self.model[s:e]

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 100), c=st.integers(-3, 3))
    def remove(self, i, c):
        v = self.model[i % len(self.model)]
        idxs = [j for j, x in enumerate(self.model) if x == v]
        idxs = idxs[:c] if c > 0 else (idxs[c:] if c < 0 else idxs)
        for j in reversed(idxs):
            del self.model[j]
        assert self.ql.remove(v, c) == len(idxs)

    @rule(s=st.integers(-10, 10), e=st.integers(-10, 10))
    def trim(self, s, e):
        n = len(self.model)
        self.ql.trim(s, e)
        s2 = s + n if s < 0 else s
        e2 = e + n if e < 0 else e
        s2 = max(s2, 0)
        self.model[:] = [] if (s2 > e2 or s2 >= n) else self.model[s2:min(e2, n - 1) + 1]

    @rule(i=st.integers(-30, 30))
    def get(self, i):
        n = len(self.model)
        if -n <= i < n:
            assert self.ql.get(i) == self.model[i]
        else:
            with pytest.raises(IndexError):
                self.ql.get(i)

    @rule(a=st.integers(-20, 20), b=st.integers(-20, 20))
    def range(self, a, b):
        assert self.ql.range(a, b) == self.model[a:b]

    @invariant()
    def consistent(self):
        ql = self.ql
        assert len(ql) == len(self.model)
        assert ql.to_list() == self.model
        nodes = ql._nodes
        assert sum(n.count for n in nodes) == len(self.model)
        depth = ql.compress
        for i, node in enumerate(nodes):
            assert node.count > 0
            raw = node.raw_bytes()
            assert node.sz == len(raw)
            if node.container == PACKED:
                lp = Listpack.from_bytes(raw)
                assert len(lp) == node.count
                if node.encoding == RAW:
                    assert node.lp.nbytes == node.sz
            else:
                assert node.count == 1
            if depth and (i < depth or i >= len(nodes) - depth):
                assert node.encoding == RAW

    def teardown(self):
        qlmod.set_packed_threshold(0)


TestQuicklistMachine = QuicklistMachine.TestCase
TestQuicklistMachine.settings = settings(max_examples=50, stateful_step_count=40, deadline=None)


def _resp(items):
    return b"".join(b"$%d\r\n%b\r\n" % (len(x), x) for x in items)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["push_head", "push_tail", "pop_head", "pop_tail",
                                           "replace", "insert", "delete", "read"]),
                          st.binary(max_size=12), st.integers(0, 50)), max_size=60),
       st.sampled_from([-2, 3]))
def test_cached_resp_ranges_follow_every_change(ops, fill):
    """range_resp's per-node cache must never serve stale bytes."""
    ql = Quicklist(fill, 0)
    model: list[bytes] = []
    for op, value, idx in ops:
        if op == "push_head":
            ql.push_head(value); model.insert(0, value)
        elif op == "push_tail":
            ql.push_tail(value); model.append(value)
        elif model and op == "pop_head":
            assert ql.pop_head() == model.pop(0)
        elif model and op == "pop_tail":
            assert ql.pop_tail() == model.pop()
        elif model and op == "replace":
            i = idx % len(model); ql.replace(i, value); model[i] = value
        elif model and op == "insert":
            i = idx % len(model); ql.insert_before(i, value); model.insert(i, value)
        elif model and op == "delete":
            i = idx % len(model); ql.delete_range(i, 2); del model[i:i + 2]
        n = len(model)
        a, b = (idx % (n + 1)), n
        assert ql.range_resp(a, b) == (max(0, b - a), _resp(model[a:b]))
