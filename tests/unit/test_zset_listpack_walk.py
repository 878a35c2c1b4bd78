"""Listpack-encoded sorted sets: the incremental pair walks of
``Listpack.zwalk``/``zskip``/``zupdate``/``zdelete`` and the zzl* algorithms
of types/zset.py built on them, against a plain model that follows Redis's
``zzlFirstInRange``/``zzlLastInRange`` (and their lex forms, including lex
ranges over members whose scores differ), ``genericZrangebyscoreCommand``'s
offset/limit handling, ``zzlDeleteRangeBy*`` and ``zsetAdd``'s update.

After every write the blob must be exactly the listpack of the sorted pairs
(what ``zzlDelete`` + ``zzlInsert`` leave), and an offset index, when one
exists, must match a fresh one."""
from __future__ import annotations

import os
import random
import sys
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import examples  # noqa: E402

from omakase.encodings.listpack import Listpack, encode_entry, zset_score_entry
from omakase.encodings.skiplist import LEX_MAX, LEX_MIN, ZLexRangeSpec, ZRangeSpec
from omakase.types import zset as Z

CFG = SimpleNamespace(zset_max_listpack_entries=1 << 20, zset_max_listpack_value=1 << 20)
INF = float("inf")


# -- model ---------------------------------------------------------------------
def model_blob(pairs) -> bytes:
    lp = Listpack()
    for m, s in pairs:
        lp.append(m)
        lp.append(zset_score_entry(s))
    return lp.to_bytes()


def key_of(pair, lex):
    return pair[0] if lex else pair[1]


def m_first(pairs, spec, lex):
    """zzlFirstInRange / zzlFirstInLexRange on the list of pairs."""
    if not pairs or spec.is_empty():
        return -1
    if not spec.gte_min(key_of(pairs[-1], lex)) or not spec.lte_max(key_of(pairs[0], lex)):
        return -1
    for i, p in enumerate(pairs):
        if spec.gte_min(key_of(p, lex)):
            return i if spec.lte_max(key_of(p, lex)) else -1
    return -1


def m_last(pairs, spec, lex):
    if not pairs or spec.is_empty():
        return -1
    if not spec.gte_min(key_of(pairs[-1], lex)) or not spec.lte_max(key_of(pairs[0], lex)):
        return -1
    for i in range(len(pairs) - 1, -1, -1):
        if spec.lte_max(key_of(pairs[i], lex)):
            return i if spec.gte_min(key_of(pairs[i], lex)) else -1
    return -1


def m_range(pairs, spec, lex, reverse, offset, limit):
    if offset < 0 or limit == 0:
        return []
    i = (m_last if reverse else m_first)(pairs, spec, lex)
    if i < 0:
        return []
    step = -1 if reverse else 1
    i += step * offset
    out = []
    while 0 <= i < len(pairs) and limit != 0:
        k = key_of(pairs[i], lex)
        if not (spec.gte_min(k) if reverse else spec.lte_max(k)):
            break
        out.append(pairs[i])
        i += step
        limit -= 1
    return out


def m_span(pairs, spec, lex):
    i = m_first(pairs, spec, lex)
    if i < 0:
        return 0, 0
    j = i
    while j < len(pairs) and spec.lte_max(key_of(pairs[j], lex)):
        j += 1
    return i, j


# -- helpers -------------------------------------------------------------------
def build(pairs, index: bool) -> Z.ZSetValue:
    z = Z.ZSetValue(Listpack(), 0)
    for m, s in pairs:
        Z.zset_add(z, CFG, s, m, 0)
    if index:
        z.ptr._index()
    return z


def check(z: Z.ZSetValue, pairs) -> None:
    lp = z.ptr
    assert lp.to_bytes() == model_blob(pairs)
    assert Z._lp_pairs(lp) == pairs
    if lp._offs is not None:
        fresh = Listpack.from_bytes(lp.to_bytes())
        want = list(fresh._index())
        assert [o - lp._bias for o in lp._offs] == want


def sort_pairs(d):
    return sorted(((m, s) for m, s in d.items()), key=lambda p: (p[1], p[0]))


SCORES = [0.0, 1.0, -1.0, 2.0, 2.5, -2.5, 100.0, 1e20, 0.1, INF, -INF, 5000.0, 127.0, 128.0,
          -4096.0, 70000.0, 2.0 ** 40, 1.5e-7]
MEMBERS = [b"a", b"b", b"c", b"aa", b"ab", b"", b"1", b"10", b"-2", b"z" * 70, b"m\x00n",
           b"9223372036854775808", b"x" * 63, b"y" * 64]
LEX_BOUNDS = [LEX_MIN, LEX_MAX, b"", b"a", b"aa", b"b", b"c", b"1", b"z", b"zz"]

MEMBERS += [b"k%d" % i for i in range(40)]     # listpacks past 64 entries: zseek bisects
pair_dict = st.one_of(
    st.dictionaries(st.sampled_from(MEMBERS), st.sampled_from(SCORES), max_size=14),
    st.dictionaries(st.sampled_from(MEMBERS), st.sampled_from(SCORES), min_size=30,
                    max_size=54),
    # one score for all: members in order, lex bounds are sought
    st.tuples(st.lists(st.sampled_from(MEMBERS), unique=True, max_size=54),
              st.sampled_from(SCORES)).map(lambda t: dict.fromkeys(*t)))
score_bound = st.sampled_from(SCORES + [3.0, -0.0, 1e300])


@st.composite
def score_spec(draw):
    return ZRangeSpec(draw(score_bound), draw(score_bound), draw(st.booleans()),
                      draw(st.booleans()))


@st.composite
def lex_spec(draw):
    lo, hi = draw(st.sampled_from(LEX_BOUNDS)), draw(st.sampled_from(LEX_BOUNDS))
    return ZLexRangeSpec(lo, hi, lo in (LEX_MIN, LEX_MAX) or draw(st.booleans()),
                         hi in (LEX_MIN, LEX_MAX) or draw(st.booleans()))


# -- tests ---------------------------------------------------------------------
@settings(max_examples=examples(50), deadline=None)
@given(d=pair_dict, index=st.booleans(), lex=st.booleans(), data=st.data())
def test_reads_match_the_model(d, index, lex, data):
    pairs = sort_pairs(d)
    z = build(pairs, index)
    check(z, pairs)
    assert Listpack.from_zset_pairs(pairs).to_bytes() == model_blob(pairs)
    spec = data.draw(lex_spec() if lex else score_spec())
    for reverse in (False, True):
        for offset, limit in ((0, -1), (0, 1), (1, 2), (3, -1), (20, 1), (-1, 5), (0, 0)):
            got = (Z.zset_range_by_lex if lex else Z.zset_range_by_score)(
                z, spec, reverse, offset, limit)
            assert got == m_range(pairs, spec, lex, reverse, offset, limit), (spec, reverse)
    i, j = m_span(pairs, spec, lex)
    assert (Z.zset_lex_count if lex else Z.zset_count)(z, spec) == j - i
    removed = (Z.zset_delete_range_by_lex if lex else Z.zset_delete_range_by_score)(z, spec)
    assert removed == j - i
    check(z, pairs[:i] + pairs[j:])


@settings(max_examples=examples(50), deadline=None)
@given(d=pair_dict, index=st.booleans(), data=st.data())
def test_lex_walks_over_members_out_of_order(d, index, data):
    """Lex ranges over members whose scores differ: Redis's linear walk,
    not a bisect."""
    pairs = sort_pairs(d)
    z = build(pairs, index)
    spec = data.draw(lex_spec())
    for reverse in (False, True):
        assert Z.zset_range_by_lex(z, spec, reverse, 0, -1) == m_range(pairs, spec, True,
                                                                       reverse, 0, -1)


@settings(max_examples=examples(50), deadline=None)
@given(d=pair_dict, index=st.booleans(),
       ops=st.lists(st.tuples(st.sampled_from(MEMBERS), st.sampled_from(SCORES + [3.0, -0.0]),
                              st.sampled_from([0, Z.ZADD_INCR, Z.ZADD_GT, Z.ZADD_LT,
                                               Z.ZADD_XX, Z.ZADD_NX, Z.ZADD_INCR | Z.ZADD_XX])),
                    max_size=12))
def test_updates_leave_redis_bytes(d, index, ops):
    model = dict(d)
    z = build(sort_pairs(model), index)
    for m, s, flags in ops:
        cur = model.get(m)
        ret, new = Z.zset_add(z, CFG, s, m, flags)
        if cur is None:
            if flags & Z.ZADD_XX:
                assert ret == Z.ZADD_OUT_NOP
            else:
                assert ret == Z.ZADD_OUT_ADDED
                model[m] = s
        elif flags & Z.ZADD_NX:
            assert ret == Z.ZADD_OUT_NOP
        else:
            want = cur + s if flags & Z.ZADD_INCR else s
            if want != want:
                assert ret == Z.ZADD_OUT_NAN
            elif (flags & Z.ZADD_LT and want >= cur) or (flags & Z.ZADD_GT and want <= cur):
                assert ret == Z.ZADD_OUT_NOP
            elif want != cur:
                assert ret == Z.ZADD_OUT_UPDATED and new == want
                model[m] = want
            else:
                assert ret == 0
        check(z, sort_pairs(model))
        assert Z.zset_score(z, m) == model.get(m)


def test_update_moves_across_a_long_listpack_with_an_index():
    rnd = random.Random(7)
    model = {b"m%d" % i: float(i) for i in range(120)}
    z = build(sort_pairs(model), True)
    for _ in range(400):
        m = b"m%d" % rnd.randrange(120)
        delta = rnd.choice([1.0, -1.0, 0.5, 1000.0, -1000.0, 1e-3, 60.0])
        Z.zset_add(z, CFG, delta, m, Z.ZADD_INCR)
        model[m] += delta
        check(z, sort_pairs(model))
    assert z.ptr._offs is not None


def test_delete_with_and_without_index():
    for index in (False, True):
        pairs = sort_pairs({b"m%d" % i: float(i // 3) for i in range(90)})
        z = build(pairs, index)
        assert Z.zset_delete_range_by_score(z, ZRangeSpec(5.0, 9.0, True, False)) == 12
        pairs = [p for p in pairs if not 5.0 < p[1] <= 9.0]
        check(z, pairs)
        assert Z.zset_delete_range_by_score(z, ZRangeSpec(-INF, INF)) == len(pairs)
        check(z, [])


@pytest.mark.parametrize("reverse", [False, True])
def test_walk_primitive_counts_and_positions(reverse):
    lp = Listpack([b"a", 1, b"b", 2, b"c", 300, b"d", b"3.5"])
    start = lp.ztail() if reverse else lp.zhead()
    out: list = []
    n, p = lp.zwalk(start, reverse, False, None, False, -1, out)
    assert n == 4 and not lp.zvalid(p)
    want = [(b"a", 1.0), (b"b", 2.0), (b"c", 300.0), (b"d", 3.5)]
    assert out == (want[::-1] if reverse else want)
    assert lp.zskip(start, 2, reverse) == lp.zpos(1 if reverse else 2)
    assert lp.zmember_at(lp.zpos(2)) == b"c" and lp.zscore_at(lp.zpos(2)) == 300.0
    assert encode_entry(b"a") in lp.to_bytes()
