"""The skiplist-encoded ZSet's bucket structure (encodings/skiplist.py):
splits, merges, the deferred writes (pend/gone) and their syncs, the rank
cache, and the skiplist-shaped ``zsl`` view, all against a plain model.
Buckets are made tiny here so every path runs on small sets."""

import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import omakase.encodings.skiplist as sk
from omakase.encodings.skiplist import ZRangeSpec, ZSet, parse_lex_range


@pytest.fixture(autouse=True)
def tiny_buckets(monkeypatch):
    monkeypatch.setattr(sk, "LOAD", 4)
    monkeypatch.setattr(sk, "_SPLIT", 8)
    monkeypatch.setattr(sk, "_MERGE", 2)
    monkeypatch.setattr(sk, "_PENDING_MIN", 3)
    monkeypatch.setattr(sk, "_PENDING_MAX", 16)


def model_items(model):
    return sorted(model.items(), key=lambda p: (p[1], p[0]))


def check_all(zs, model):
    zs.check()
    items = model_items(model)
    assert len(zs) == len(model)
    assert zs.items() == items
    zs.check()
    assert not zs.pend and not zs.gone
    for i, (m, s) in enumerate(items):
        assert zs.rank(m) == i
        assert zs.rank(m, reverse=True) == len(items) - 1 - i
        assert zs.by_rank(i) == (m, s)
        assert zs.score(m) == s


def test_random_ops_against_model():
    rnd = random.Random(7)
    zs = ZSet()
    model = {}
    for step in range(4000):
        m = b"m%d" % rnd.randrange(120)
        r = rnd.random()
        if r < 0.45:
            s = float(rnd.randrange(30))
            assert zs.add(m, s) == (m not in model)
            model[m] = s
        elif r < 0.6:
            assert zs.remove(m) == (model.pop(m, None) is not None)
        elif r < 0.7 and m in model:
            s = model[m] + rnd.choice([0.5, -3.0, 20.0])
            assert zs.update_score(m, s) == model[m]
            model[m] = s
        elif r < 0.75:
            k = rnd.randrange(4)
            items = model_items(model)
            exp = items[:k]
            assert zs.pop_min(k) == exp
            for pm, _ in exp:
                del model[pm]
        elif r < 0.78:
            items = model_items(model)
            exp = items[::-1][:1]
            got = zs.pop_last()
            assert ([got] if got else []) == exp
            for pm, _ in exp:
                del model[pm]
        elif r < 0.81:
            got = zs.pop_first()
            items = model_items(model)
            assert ([got] if got else []) == items[:1]
            if got:
                del model[got[0]]
        elif r < 0.86:
            lo = float(rnd.randrange(-2, 35))
            hi = lo + rnd.randrange(0, 8)
            spec = ZRangeSpec(lo, hi, rnd.random() < 0.3, rnd.random() < 0.3)
            exp = [(pm, s) for pm, s in model_items(model) if spec.gte_min(s) and spec.lte_max(s)]
            if rnd.random() < 0.5:
                assert zs.delete_range_by_score(spec) == [pm for pm, _ in exp]
                for pm, _ in exp:
                    del model[pm]
            else:
                assert zs.count_by_score(spec) == len(exp)
                off, lim = rnd.randrange(0, 40), rnd.randrange(-1, 40)
                rev = rnd.random() < 0.5
                e = exp[::-1] if rev else exp
                e = e[off:]
                if lim >= 0:
                    e = e[:lim]
                assert zs.range_by_score(spec, reverse=rev, offset=off, limit=lim) == e
        elif r < 0.9:
            a, b = rnd.randrange(-30, 30), rnd.randrange(-30, 30)
            items = model_items(model)
            n = len(items)
            s0, e0 = (a + n if a < 0 else a), (b + n if b < 0 else b)
            s0 = max(s0, 0)
            exp = [] if (s0 > e0 or s0 >= n) else items[s0:min(e0, n - 1) + 1]
            if rnd.random() < 0.3:
                assert zs.delete_range_by_rank(a, b) == [pm for pm, _ in exp]
                for pm, _ in exp:
                    del model[pm]
            else:
                rev = rnd.random() < 0.5
                ritems = items[::-1] if rev else items
                exp = [] if (s0 > e0 or s0 >= n) else ritems[s0:min(e0, n - 1) + 1]
                assert zs.range_by_rank(a, b, reverse=rev) == exp
        elif r < 0.93:
            items = model_items(model)
            if items:
                k = rnd.randrange(len(items))
                assert list(zs.iter_from_rank(k)) == items[k:]
                assert list(zs.iter_from_rank(k, reverse=True)) == items[::-1][k:]
        if step % 97 == 0:
            zs.check()
        if step % 500 == 0:
            check_all(zs, model)
    check_all(zs, model)


def test_deferred_writes_keep_exact_order_and_identity():
    zs = ZSet.from_sorted([(b"a", 1.0), (b"b", 2.0), (b"c", 3.0), (b"d", 4.0), (b"e", 5.0)])
    five = zs.score(b"e")
    zs.add(b"a", 9.0)           # a sorted member moves: gone + pend
    zs.add(b"a", 1.0)           # ... and back, with an equal score
    zs.remove(b"b")
    zs.add(b"b", 2.0)           # removed then re-added with the old score
    zs.add(b"x", -0.0)
    zs.add(b"y", 0.0)           # -0.0 == 0.0: ties broken by member
    zs.check()
    assert zs.pend and zs.gone
    assert zs.items() == [(b"x", -0.0), (b"y", 0.0), (b"a", 1.0), (b"b", 2.0), (b"c", 3.0),
                          (b"d", 4.0), (b"e", 5.0)]
    assert str(zs.score(b"x")) == "-0.0"
    assert zs.score(b"e") is five
    zs.check()


def test_pending_cap_syncs_without_reads():
    zs = ZSet()
    for i in range(200):
        zs.add(b"k%03d" % i, float(i % 7))
        assert len(zs.pend) <= sk._PENDING_MAX
    zs.check()
    assert sum(map(len, zs.buckets)) + len(zs.pend) == 200


def test_lex_ranges_across_buckets():
    zs = ZSet()
    members = [b"%c%c" % (a, b) for a in b"abcdef" for b in b"xyz"]
    for m in members:
        zs.add(m, 0.0)
    q = parse_lex_range
    for lo, hi in [(b"-", b"+"), (b"[b", b"(d"), (b"(bx", b"[ez"), (b"[zz", b"+"), (b"-", b"(a"),
                   (b"[c", b"[c"), (b"+", b"-"), (b"[b", b"[a")]:
        spec = q(lo, hi)
        exp = [(m, 0.0) for m in sorted(members) if spec.gte_min(m) and spec.lte_max(m)]
        assert zs.range_by_lex(spec) == exp
        assert zs.range_by_lex(spec, reverse=True) == exp[::-1]
        assert zs.range_by_lex(spec, offset=2, limit=3) == exp[2:5]
        assert zs.count_by_lex(spec) == len(exp)
    assert zs.delete_range_by_lex(q(b"[b", b"(d")) == sorted(members)[3:9]
    zs.check()


def test_score_groups_for_zscan():
    zs = ZSet.from_sorted([(b"m%02d" % i, float(i // 5)) for i in range(40)])
    seen = []
    x = None
    while True:
        g = zs.score_group_after(x)
        if not g:
            break
        assert len({s for _, s in g}) == 1 and len(g) == 5
        seen += g
        x = g[0][1]
    assert seen == zs.items()


def test_large_offsets_use_the_rank_cache():
    zs = ZSet.from_sorted([(b"m%04d" % i, float(i)) for i in range(300)])
    spec = ZRangeSpec(10, 250)
    assert zs.range_by_score(spec, offset=100, limit=5) == [(b"m%04d" % i, float(i)) for i in range(110, 115)]
    assert zs.range_by_score(spec, reverse=True, offset=100, limit=2) == [(b"m0150", 150.0), (b"m0149", 149.0)]
    assert zs.range_by_score(spec, offset=1000) == []
    zs.check()


def test_copy_is_independent():
    zs = ZSet()
    for i in range(50):
        zs.add(b"m%d" % i, float(i))
    cp = zs.copy()
    zs.add(b"m0", 100.0)
    zs.remove(b"m1")
    assert cp.items() == [(b"m%d" % i, float(i)) for i in range(50)]
    cp.check()
    zs.check()


def test_zsl_view_walks_like_a_skiplist():
    pairs = [(b"m%02d" % i, float(i)) for i in range(30)]
    zs = ZSet.from_sorted(pairs)
    zs.add(b"new", 4.5)                      # pending: the view syncs first
    zsl = zs.zsl
    assert zsl.length == len(zs) == 31
    exp = zs.items()
    walked = []
    x = zsl.header.lv[0]
    while x is not None:
        walked.append((x.ele, x.score))
        x = x.lv[0]
    assert walked == exp
    assert [(n.ele, n.score) for n in zsl.iter_nodes(reverse=True)] == exp[::-1]
    t = zsl.tail
    back = []
    while t is not None:
        back.append(t.ele)
        t = t.backward
    assert back == [m for m, _ in exp[::-1]]
    # lazy free's walk releases the buckets as it passes them
    x = zsl.header
    zsl.tail = None
    while x is not None:
        nxt = x.lv[0]
        x.backward = None
        x.lv = None
        x = nxt
    assert all(not b for b in zs.buckets)


class BucketMachine(RuleBasedStateMachine):
    members = st.sampled_from([b"", b"a", b"ab", b"b", b"ba", b"c", b"m1", b"m2", b"m10", b"z",
                               b"\xff", b"q", b"r", b"s", b"t", b"u"])
    scores = st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, float("inf"), float("-inf")]),
                       st.integers(-3, 3).map(float))

    def __init__(self):
        super().__init__()
        self.zs = ZSet()
        self.model = {}

    @rule(m=members, s=scores)
    def add(self, m, s):
        assert self.zs.add(m, s) == (m not in self.model)
        self.model[m] = s

    @rule(m=members)
    def remove(self, m):
        assert self.zs.remove(m) == (m in self.model)
        self.model.pop(m, None)

    @rule(n=st.integers(0, 3), mx=st.booleans())
    def pop(self, n, mx):
        items = model_items(self.model)
        exp = items[::-1][:n] if mx else items[:n]
        assert (self.zs.pop_max(n) if mx else self.zs.pop_min(n)) == exp
        for m, _ in exp:
            del self.model[m]

    @rule(a=st.integers(-6, 6), b=st.integers(-6, 6))
    def delete_rank_range(self, a, b):
        items = model_items(self.model)
        n = len(items)
        s, e = (a + n if a < 0 else a), (b + n if b < 0 else b)
        s = max(s, 0)
        exp = [] if (s > e or s >= n) else [m for m, _ in items[s:min(e, n - 1) + 1]]
        assert self.zs.delete_range_by_rank(a, b) == exp
        for m in exp:
            del self.model[m]

    @rule(m=members)
    def rank(self, m):
        items = model_items(self.model)
        exp = next((i for i, (x, _) in enumerate(items) if x == m), None)
        assert self.zs.rank(m) == exp

    @invariant()
    def consistent(self):
        self.zs.check()
        assert len(self.zs) == len(self.model)
        for m, s in self.model.items():
            assert self.zs.score(m) == s


@pytest.mark.usefixtures("tiny_buckets")
class TestBucketMachine(BucketMachine.TestCase):
    settings = settings(max_examples=60, stateful_step_count=50, deadline=None)
