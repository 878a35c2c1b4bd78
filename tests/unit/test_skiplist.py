"""ZSet (the skiplist encoding): model-based state machine against a sorted
list, plus range-spec semantics taken from Redis 7.0's t_zset.c.  The
bucket structure itself (splits, merges, rank caches) is exercised with
small buckets in test_zset_structure.py."""

import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from omakase.encodings.skiplist import (
    LEX_MAX,
    LEX_MIN,
    ZRangeSpec,
    ZSet,
    parse_lex_range,
)


def test_parse_lex_range():
    s = parse_lex_range(b"[a", b"(c")
    assert (s.min, s.minex, s.max, s.maxex) == (b"a", False, b"c", True)
    s = parse_lex_range(b"-", b"+")
    assert s.min is LEX_MIN and s.max is LEX_MAX and s.minex and s.maxex
    assert parse_lex_range(b"(", b"[") is not None  # empty strings are valid bounds
    for bad in (b"a", b"", b"-x", b"+x", b"{a"):
        assert parse_lex_range(bad, b"+") is None
        assert parse_lex_range(b"-", bad) is None
    assert parse_lex_range(b"+", b"-").is_empty()
    assert parse_lex_range(b"-", b"-").is_empty()
    assert parse_lex_range(b"[a", b"(a").is_empty()
    assert not parse_lex_range(b"[a", b"[a").is_empty()


def test_basic_zset():
    zs = ZSet()
    for m, s in [(b"c", 3.0), (b"a", 1.0), (b"b", 1.0), (b"d", float("inf")), (b"e", float("-inf"))]:
        assert zs.add(m, s)
    assert not zs.add(b"a", 1.0)
    assert zs.items() == [(b"e", float("-inf")), (b"a", 1.0), (b"b", 1.0), (b"c", 3.0), (b"d", float("inf"))]
    assert zs.rank(b"b") == 2 and zs.rank(b"b", reverse=True) == 2 and zs.rank(b"zz") is None
    assert zs.by_rank(0) == (b"e", float("-inf")) and zs.by_rank(0, reverse=True) == (b"d", float("inf"))
    assert zs.by_rank(5) is None
    assert zs.score(b"c") == 3.0 and zs.score(b"x") is None
    assert zs.range_by_rank(1, -2) == zs.items()[1:4]
    assert zs.range_by_rank(-2, -1, reverse=True) == [(b"a", 1.0), (b"e", float("-inf"))]
    assert zs.range_by_rank(3, 1) == [] and zs.range_by_rank(10, 20) == []
    assert list(zs.iter_from_rank(3)) == zs.items()[3:]
    assert list(zs.iter_from_rank(1, reverse=True)) == zs.items()[::-1][1:]
    zs.check()


def test_update_score_moves_the_member():
    zs = ZSet()
    for i in range(10):
        zs.add(b"m%d" % i, float(i))
    assert zs.update_score(b"m5", 5.5) == 5.0
    assert zs.items()[5] == (b"m5", 5.5)
    zs.update_score(b"m5", 100.0)
    assert zs.items()[-1] == (b"m5", 100.0)
    zs.update_score(b"m5", -1.0)
    assert zs.items()[0] == (b"m5", -1.0) and zs.rank(b"m5") == 0
    zs.check()
    with pytest.raises(KeyError):
        zs.update_score(b"nope", 1.0)
    assert zs.delete(-1.0, b"m5") and not zs.delete(-1.0, b"m5")
    assert not zs.delete(3.5, b"m3") and b"m3" in zs
    zs.check()


def test_score_ranges_match_redis_semantics():
    zs = ZSet()
    for i in range(20):
        zs.add(b"m%02d" % i, float(i // 2))
    spec = ZRangeSpec(2, 5, minex=True)
    exp = [(m, s) for m, s in zs.items() if 2 < s <= 5]
    assert zs.range_by_score(spec) == exp
    assert zs.range_by_score(spec, reverse=True) == exp[::-1]
    assert zs.range_by_score(spec, offset=1, limit=2) == exp[1:3]
    assert zs.range_by_score(spec, reverse=True, offset=20) == []
    assert zs.range_by_score(ZRangeSpec(0, 9), offset=17) == zs.items()[17:]
    assert zs.count_by_score(spec) == len(exp)
    assert zs.count_by_score(ZRangeSpec(5, 5, maxex=True)) == 0
    assert zs.count_by_score(ZRangeSpec(float("-inf"), float("inf"))) == 20
    assert zs.range_by_score(ZRangeSpec(100, 200)) == []
    assert zs.range_by_score(ZRangeSpec(-5, -1), reverse=True) == []
    removed = zs.delete_range_by_score(ZRangeSpec(3, 4))
    assert removed == [b"m06", b"m07", b"m08", b"m09"]
    assert b"m06" not in zs and len(zs) == 16
    zs.check()


def test_lex_ranges():
    zs = ZSet()
    for m in [b"a", b"b", b"c", b"d", b"e", b"f", b"g"]:
        zs.add(m, 0.0)
    q = lambda a, b: parse_lex_range(a, b)  # noqa: E731
    assert [m for m, _ in zs.range_by_lex(q(b"-", b"[c"))] == [b"a", b"b", b"c"]
    assert [m for m, _ in zs.range_by_lex(q(b"-", b"(c"))] == [b"a", b"b"]
    assert [m for m, _ in zs.range_by_lex(q(b"[aaa", b"(g"))] == [b"b", b"c", b"d", b"e", b"f"]
    assert [m for m, _ in zs.range_by_lex(q(b"+", b"[c"), reverse=True)] == []
    assert [m for m, _ in zs.range_by_lex(q(b"[e", b"+"), reverse=True, offset=1)] == [b"f", b"e"]
    assert zs.count_by_lex(q(b"(b", b"[f")) == 4
    assert zs.count_by_lex(q(b"-", b"+")) == 7
    assert zs.delete_range_by_lex(q(b"(b", b"[d")) == [b"c", b"d"]
    zs.check()


def test_rank_deletion_and_pops():
    zs = ZSet.from_sorted([(b"m%03d" % i, float(i)) for i in range(50)])
    zs.check()
    assert zs.delete_range_by_rank(10, 14) == [b"m%03d" % i for i in range(10, 15)]
    assert zs.delete_range_by_rank(-2, -1) == [b"m048", b"m049"]
    assert zs.delete_range_by_rank(5, 2) == []
    assert zs.pop_min(2) == [(b"m000", 0.0), (b"m001", 1.0)]
    assert zs.pop_max(2) == [(b"m047", 47.0), (b"m046", 46.0)]
    assert len(zs) == 50 - 5 - 2 - 4
    m, s = zs.random_pair()
    assert zs.score(m) == s
    zs.check()
    with pytest.raises(ValueError):
        ZSet.from_sorted([(b"b", 1.0), (b"a", 1.0)])
    with pytest.raises(ValueError):
        ZSet.from_sorted([(b"a", 1.0), (b"a", 2.0)])
    assert len(ZSet.from_sorted([])) == 0


# --- model-based state machine ------------------------------------------------

members = st.sampled_from([b"", b"a", b"ab", b"b", b"ba", b"c", b"m1", b"m2", b"m10", b"z", b"\xff"])
scores = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 2.5, float("inf"), float("-inf")]), st.integers(-5, 5).map(float))
lexitems = st.one_of(st.sampled_from([b"-", b"+"]), st.tuples(st.sampled_from([b"[", b"("]), members).map(b"".join))


def model_items(model):
    return sorted(((m, s) for m, s in model.items()), key=lambda p: (p[1], p[0]))


class ZSetMachine(RuleBasedStateMachine):
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

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 100), s=scores)
    def update(self, i, s):
        m = sorted(self.model)[i % len(self.model)]
        assert self.zs.update_score(m, s) == self.model[m]
        self.model[m] = s

    @rule(m=members)
    def rank(self, m):
        items = model_items(self.model)
        exp = next((i for i, (x, _) in enumerate(items) if x == m), None)
        assert self.zs.rank(m) == exp
        if exp is not None:
            assert self.zs.rank(m, reverse=True) == len(items) - 1 - exp
            assert self.zs.by_rank(exp) == items[exp]

    @rule(a=st.integers(-8, 8), b=st.integers(-8, 8), rev=st.booleans())
    def range_rank(self, a, b, rev):
        items = model_items(self.model)
        if rev:
            items = items[::-1]
        n = len(items)
        s, e = (a + n if a < 0 else a), (b + n if b < 0 else b)
        s = max(s, 0)
        exp = [] if (s > e or s >= n) else items[s:min(e, n - 1) + 1]
        assert self.zs.range_by_rank(a, b, reverse=rev) == exp

    @rule(lo=scores, hi=scores, minex=st.booleans(), maxex=st.booleans(), rev=st.booleans(),
          off=st.integers(0, 3), lim=st.integers(-1, 3))
    def range_score(self, lo, hi, minex, maxex, rev, off, lim):
        spec = ZRangeSpec(lo, hi, minex, maxex)
        exp = [(m, s) for m, s in model_items(self.model) if spec.gte_min(s) and spec.lte_max(s)]
        assert self.zs.count_by_score(spec) == len(exp)
        if rev:
            exp = exp[::-1]
        exp = exp[off:]
        if lim >= 0:
            exp = exp[:lim]
        assert self.zs.range_by_score(spec, reverse=rev, offset=off, limit=lim) == exp

    @rule(lo=lexitems, hi=lexitems, rev=st.booleans(), off=st.integers(0, 2), lim=st.integers(-1, 3))
    def range_lex(self, lo, hi, rev, off, lim):
        # lex ranges are only meaningful when all scores are equal; test on
        # the members with score 0 by building a same-score zset
        spec = parse_lex_range(lo, hi)
        same = ZSet()
        for m in self.model:
            same.add(m, 0.0)
        exp = [(m, 0.0) for m in sorted(self.model) if spec.gte_min(m) and spec.lte_max(m)]
        assert same.count_by_lex(spec) == len(exp)
        if rev:
            exp = exp[::-1]
        exp = exp[off:]
        if lim >= 0:
            exp = exp[:lim]
        assert same.range_by_lex(spec, reverse=rev, offset=off, limit=lim) == exp

    @rule(lo=scores, hi=scores, minex=st.booleans(), maxex=st.booleans())
    def delete_score_range(self, lo, hi, minex, maxex):
        spec = ZRangeSpec(lo, hi, minex, maxex)
        exp = [m for m, s in model_items(self.model) if spec.gte_min(s) and spec.lte_max(s)]
        assert self.zs.delete_range_by_score(spec) == exp
        for m in exp:
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

    @rule(n=st.integers(0, 3), mx=st.booleans())
    def pop(self, n, mx):
        items = model_items(self.model)
        exp = items[::-1][:n] if mx else items[:n]
        assert (self.zs.pop_max(n) if mx else self.zs.pop_min(n)) == exp
        for m, _ in exp:
            del self.model[m]

    @invariant()
    def consistent(self):
        assert len(self.zs) == len(self.model)
        assert self.zs.items() == model_items(self.model)
        for m, s in self.model.items():
            assert self.zs.score(m) == s
        self.zs.check()


TestZSetMachine = ZSetMachine.TestCase
TestZSetMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_larger_random_against_model():
    rnd = random.Random(3)
    zs = ZSet()
    model = {}
    for _ in range(6000):
        m = b"k%d" % rnd.randrange(800)
        r = rnd.random()
        if r < 0.55:
            s = float(rnd.randrange(50))
            zs.add(m, s)
            model[m] = s
        elif r < 0.8:
            assert zs.remove(m) == (model.pop(m, None) is not None)
        elif m in model:
            s = model[m] + rnd.choice([0.25, -0.25, 10.0])
            zs.update_score(m, s)
            model[m] = s
    zs.check()
    items = model_items(model)
    assert zs.items() == items
    for i in range(0, len(items), 37):
        assert zs.rank(items[i][0]) == i and zs.by_rank(i) == items[i]
    rebuilt = ZSet.from_sorted(items)
    rebuilt.check()
    assert rebuilt.items() == items
