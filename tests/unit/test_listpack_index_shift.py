"""The listpack offset index under mid-listpack edits (no sockets).

Every edit that changes a size in the middle of an indexed listpack shifts
part of the index (``Listpack._shift``: entry by entry for short spans, one
big-integer addition for long ones).  After random inserts, replaces,
deletes, end pushes/pops and slices at random positions on listpacks above
the 64-entry index threshold, the index must give the offsets of a freshly
built one and the bytes must be those of a listpack built from a list model.
Also: ``_shift`` itself on both index widths and across the sign of the
stored values, ``find_value``/``replace_at`` with an index, and the
sorted-set insert (``zseek`` + ``zinsert``) against a listpack built from
the sorted pairs.
"""
from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omakase.encodings.listpack import Listpack
from omakase.types.zset import _lp_insert

# Sizes that move entries across encodings and backlen widths.
VALUES = [b"", b"0", b"7", b"-1", b"127", b"128", b"4095", b"-4096", b"32767", b"8388608",
          b"2147483648", b"-9223372036854775808", b"abc", b"x" * 63, b"x" * 64, b"y" * 126,
          b"y" * 127, b"y" * 128, b"z" * 300, b"w" * 4096]
value = st.sampled_from(VALUES)
frac = st.floats(0, 1, exclude_max=True)

op = st.one_of(
    st.tuples(st.just("insert"), frac, value),
    st.tuples(st.just("insert_many"), frac, st.lists(value, min_size=1, max_size=4)),
    st.tuples(st.just("replace"), frac, value),
    st.tuples(st.just("replace_at"), frac, value),
    st.tuples(st.just("delete"), frac, value),
    st.tuples(st.just("delete_range"), frac, st.integers(1, 5)),
    st.tuples(st.just("append"), frac, value),
    st.tuples(st.just("prepend"), frac, value),
    st.tuples(st.just("pop_head"), frac, value),
    st.tuples(st.just("pop_tail"), frac, value),
    st.tuples(st.just("slice"), frac, st.integers(65, 200)),
)


def fresh_offsets(model: list) -> list:
    lp = Listpack(model)
    offs = lp._index()
    assert lp._bias == 0
    return list(offs)


def check(lp: Listpack, model: list) -> None:
    assert lp.to_list() == model
    assert lp.to_bytes() == Listpack(model).to_bytes()
    if lp._offs is not None:
        assert [o - lp._bias for o in lp._offs] == fresh_offsets(model)


def apply(lp: Listpack, model: list, name: str, f: float, arg) -> Listpack:
    n = len(model)
    k = int(f * n) if n else 0
    if name == "insert":
        lp.insert(k, arg)
        model.insert(k, arg)
    elif name == "insert_many":
        lp.insert_many(k, arg)
        model[k:k] = arg
    elif n == 0:
        pass
    elif name == "replace":
        lp.replace(k, arg)
        model[k] = arg
    elif name == "replace_at":
        lp.replace_at(k, lp._offset(k), arg)
        model[k] = arg
    elif name == "delete":
        lp.delete(k)
        del model[k]
    elif name == "delete_range":
        assert lp.delete_range(k, arg) == len(model[k:k + arg])
        del model[k:k + arg]
    elif name == "append":
        lp.append(arg)
        model.append(arg)
    elif name == "prepend":
        lp.prepend(arg)
        model.insert(0, arg)
    elif name == "pop_head":
        assert lp.pop_head() == model.pop(0)
    elif name == "pop_tail":
        assert lp.pop_tail() == model.pop()
    elif name == "slice":
        lp = lp.slice(k, k + arg)
        model[:] = model[k:k + arg]
    return lp


@settings(max_examples=150, deadline=None)
@given(st.lists(value, min_size=65, max_size=400), st.lists(op, min_size=1, max_size=40))
def test_index_matches_fresh_index(init, ops):
    lp = Listpack(init)
    model = list(init)
    lp._index()
    for name, f, arg in ops:
        lp = apply(lp, model, name, f, arg)
        check(lp, model)
        if len(model) > 64 and lp._offs is None:
            lp._index()
    lp.validate()


@pytest.mark.parametrize("typecode", ["i", "q"])
@pytest.mark.parametrize("span", [0, 1, 12, 13, 100, 1024, 1025, 5000])
@pytest.mark.parametrize("delta", [1, -1, 1000, -70000])
def test_shift_adds_delta_to_a_span(typecode, span, delta):
    lp = Listpack()
    vals = list(range(-3000, -3000 + 7 * (span + 20), 7))     # negative and positive
    lp._offs = array(typecode, vals)
    lp._shift(10, 10 + span, delta)
    assert list(lp._offs) == vals[:10] + [v + delta for v in vals[10:10 + span]] + vals[10 + span:]


def test_slice_of_indexed_listpack_keeps_an_exact_index():
    model = [b"v%d" % i for i in range(1000)]
    lp = Listpack(model)
    lp._index()
    lp.prepend(b"h")
    model.insert(0, b"h")
    for a, b in [(0, 500), (300, 1001), (1, 66), (400, 430)]:
        part = lp.slice(a, b)
        check(part, model[a:b])
        assert (part._offs is not None) == (b - a > 64)


def test_find_value_replace_at_with_index():
    flat = []
    for i in range(100):
        flat += [b"f%d" % i, b"%d" % i]
    lp = Listpack(flat)
    lp._index()
    for i in range(0, 100, 7):
        k, a = lp.find_value(b"f%d" % i)
        assert k == 2 * i + 1 and lp.value_at(a) == i
        lp.replace_at(k, a, b"x" * (i * 3))
        flat[k] = b"x" * (i * 3)
        check(lp, flat)
    assert lp.find_value(b"nope") == (-1, -1)


pair = st.tuples(st.binary(min_size=0, max_size=3).map(lambda b: b"m" + b),
                 st.sampled_from([0.0, 1.0, -1.0, 2.5, 100.0, 1e300, float("inf"), float("-inf")]))


@settings(max_examples=150, deadline=None)
@given(st.lists(pair, min_size=1, max_size=120, unique_by=lambda p: p[0]), st.booleans())
def test_zset_insert_places_pairs_in_order(pairs, indexed):
    lp = Listpack()
    done = []
    for m, s in pairs:
        if indexed and len(lp) > 64:
            lp._index()
        _lp_insert(lp, m, s)
        done.append((s, m))
        if lp._offs is not None:
            assert [o - lp._bias for o in lp._offs] == fresh_offsets(lp.to_list())
    expect = Listpack.from_zset_pairs((m, s) for s, m in sorted(done))
    assert lp.to_bytes() == expect.to_bytes()
