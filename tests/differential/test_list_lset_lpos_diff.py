"""LSET / LINSERT / LPOS on big lists, omakase vs Debian's redis-server 7.0.

A list of a few thousand elements spans several quicklist nodes of hundreds
of entries, each keeping a listpack offset index, so LSET and LINSERT in the
middle of a node shift the index (``Listpack._shift``), LINSERT splits full
nodes (``Listpack.slice`` hands the split part its index) and LPOS searches
each node with ``Listpack.find`` (``Quicklist.positions``).  Random
sequences of those commands, with RANK (negative too), COUNT and MAXLEN,
under several quicklist layouts, must give the same replies, the same list
and the same DUMP payload as redis-server.  ``run_same`` and the
module-scoped client pairs come from ``test_list_diff``.
"""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import examples  # noqa: E402
from test_list_diff import clients, run_same  # noqa: E402,F401  (module-scoped pairs)

pytestmark = pytest.mark.differential

SIZE = 3000
# Values that repeat along the list (LPOS finds many matches) and that change
# an entry's size and encoding when written over another.
VALUES = ["a", "b", "7", "-1", "300", "70000", "123456789012", "x" * 40, "y" * 70, "z" * 200, "v17"]


def _build() -> list[list[str]]:
    elems = [VALUES[i % 7] if i % 13 == 0 else "v%d" % (i % 500) for i in range(SIZE)]
    return [["RPUSH", "big"] + elems[j:j + 500] for j in range(0, SIZE, 500)]


index = st.integers(-SIZE - 50, SIZE + 50).map(str)
value = st.sampled_from(VALUES + ["v%d" % i for i in (0, 1, 250, 499, 500)])
count = st.sampled_from(["0", "1", "2", "5", "100"])
rank = st.sampled_from(["1", "2", "3", "-1", "-2", "-3", "-7", "40", "-40"])
maxlen = st.sampled_from(["0", "1", "10", "600", "1500", "2999", "5000"])


def _lpos_options():
    opt = st.one_of(st.tuples(st.just("RANK"), rank), st.tuples(st.just("COUNT"), count),
                    st.tuples(st.just("MAXLEN"), maxlen))
    return st.lists(opt, max_size=3).map(lambda ops: [w for o in ops for w in o])


step = st.one_of(
    st.tuples(index, value).map(lambda t: ["LSET", "big", t[0], t[1]]),
    st.tuples(st.sampled_from(["BEFORE", "AFTER"]), value, value)
    .map(lambda t: ["LINSERT", "big", t[0], t[1], t[2]]),
    st.tuples(value, _lpos_options()).map(lambda t: ["LPOS", "big", t[0]] + t[1]),
    st.tuples(index).map(lambda t: ["LINDEX", "big", t[0]]),
)

LAYOUTS = [(-2, 0), (-1, 1), (128, 0), (-3, 2), (1000, 0)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("proto", [2, 3])
def test_fixed_lpos_lset_linsert(clients, proto, layout):
    a, b = clients[proto]
    cmds = _build()
    for v in ("a", "b", "7", "v17", "v499", "nope"):
        for opts in ([], ["RANK", "-1"], ["RANK", "-3", "COUNT", "0"], ["COUNT", "0"],
                     ["RANK", "2", "COUNT", "3", "MAXLEN", "1000"],
                     ["RANK", "-2", "COUNT", "0", "MAXLEN", "1500"], ["MAXLEN", "1"]):
            cmds.append(["LPOS", "big", v] + opts)
    for i in range(0, SIZE, 97):
        cmds.append(["LSET", "big", str(i), VALUES[i % len(VALUES)]])
        cmds.append(["LINSERT", "big", "AFTER", "v%d" % (i % 500), VALUES[(i + 3) % len(VALUES)]])
    cmds += [["LPOS", "big", "a", "RANK", "-1", "COUNT", "0"], ["LRANGE", "big", "0", "-1"],
             ["DUMP", "big"]]
    run_same(a, b, cmds, layout)


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(proto=st.sampled_from([2, 3]), layout=st.sampled_from(LAYOUTS),
       steps=st.lists(step, min_size=1, max_size=40))
def test_random_big_list_sequences(clients, proto, layout, steps):
    a, b = clients[proto]
    cmds = _build() + steps + [["LRANGE", "big", "0", "-1"], ["DUMP", "big"]]
    run_same(a, b, cmds, layout)
