"""Sorted-set range reads and score updates, omakase vs redis-server 7.0.

omakase walks listpack-encoded zsets incrementally (types/zset.py
``_lp_edge_in``/``_lp_walk_in`` over ``Listpack.zseek``/``zwalk``)
and moves an updated pair in place (``Listpack.zupdate``).  These tests run
random sequences of range reads (ZRANGE BYSCORE/BYLEX/REV/LIMIT/WITHSCORES,
the older Z[REV]RANGEBY{SCORE,LEX}, ZCOUNT, ZLEXCOUNT, ZRANGESTORE) and of
writes (ZINCRBY, ZADD of existing members with GT/LT/XX/NX/CH/INCR,
ZREMRANGEBY{SCORE,LEX,RANK}) on listpack and skiplist keys, on both servers,
and compare every reply, and after every write the DUMP payload and OBJECT
ENCODING of the written key (so the listpack bytes are Redis's).

Lex ranges over members whose scores differ run on the listpack keys only:
on a skiplist Redis's answer depends on the random node levels.
"""
from __future__ import annotations

import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_zset_diff import clients, run_same  # noqa: E402,F401  (module-scoped pairs)

pytestmark = pytest.mark.differential

# key -> (members, all scores zero, lex ranges allowed)
LP, LPX, SK, SKX = "lp", "lpx", "sk", "skx"
SCORE_POOL = ["0", "1", "-1", "2", "3", "7", "10", "-10", "42", "1.5", "-2.5", "0.1", "1e20",
              "-1e20", "inf", "-inf", "100", "127", "128", "5000", "-4097", "70000", "3.25"]
BOUND_EXTRA = ["-inf", "+inf", "(-inf", "(+inf", "0", "(0", "1e300", "-0"]


def _members(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        kind = rng.randrange(6)
        if kind == 0:
            out.add(str(rng.randint(-300, 300)))
        elif kind == 1:
            # 62..64 bytes: the 12-bit string encoding, still a listpack
            out.add("x" * rng.randint(60, 62) + "%02d" % rng.randrange(100))
        elif kind == 2:
            out.add("".join(rng.choice("abc") for _ in range(rng.randint(0, 3))))
        else:
            out.add("m%d" % rng.randrange(1000))
    return sorted(out)


def _zadd_all(key: str, pairs: list[tuple[str, str]]) -> list[list[str]]:
    cmds = []
    for i in range(0, len(pairs), 50):
        cmds.append(["ZADD", key, *[x for s, m in pairs[i:i + 50] for x in (s, m)]])
    return cmds


def _score_bound(rng: random.Random) -> str:
    b = rng.choice(SCORE_POOL + BOUND_EXTRA) if rng.randrange(4) else str(rng.randint(-60, 60))
    if rng.randrange(3) == 0 and not b.startswith("("):
        b = "(" + b
    return b


def _lex_bound(rng: random.Random, members: list[str]) -> str:
    r = rng.randrange(10)
    if r == 0:
        return "-"
    if r == 1:
        return "+"
    base = rng.choice(members) if r < 7 else rng.choice(["", "a", "b", "m5", "m", "x", "1", "-"])
    if rng.randrange(4) == 0 and base:
        base = base[:-1]
    return rng.choice("[(") + base


def _limit(rng: random.Random) -> list[str]:
    if rng.randrange(3):
        return []
    return ["LIMIT", str(rng.choice([-1, 0, 0, 1, 2, 3, 10, 150])),
            str(rng.choice([-1, -5, 0, 1, 2, 5, 10, 1000]))]


def _read(rng: random.Random, key: str, lex_ok: bool, members: list[str]) -> list[str]:
    lex = lex_ok and rng.randrange(2) == 0
    kind = rng.randrange(6)
    ws = ["WITHSCORES"] if not lex and rng.randrange(2) else []
    if lex:
        lo, hi = _lex_bound(rng, members), _lex_bound(rng, members)
        if kind == 0:
            return ["ZLEXCOUNT", key, lo, hi]
        if kind == 1:
            return ["ZRANGEBYLEX", key, lo, hi, *_limit(rng)]
        if kind == 2:
            return ["ZREVRANGEBYLEX", key, hi, lo, *_limit(rng)]
        if kind == 3:
            return ["ZRANGESTORE", "dst", key, lo, hi, "BYLEX", *_limit(rng)]
        rev = ["REV"] if kind == 4 else []
        return ["ZRANGE", key, *((hi, lo) if rev else (lo, hi)), "BYLEX", *rev, *_limit(rng)]
    lo, hi = _score_bound(rng), _score_bound(rng)
    if kind == 0:
        return ["ZCOUNT", key, lo, hi]
    if kind == 1:
        return ["ZRANGEBYSCORE", key, lo, hi, *ws, *_limit(rng)]
    if kind == 2:
        return ["ZREVRANGEBYSCORE", key, hi, lo, *ws, *_limit(rng)]
    if kind == 3:
        if rng.randrange(2):
            return ["ZRANGESTORE", "dst", key, lo, hi, "BYSCORE", *_limit(rng)]
        a, b = rng.randint(-20, 20), rng.randint(-20, 20)
        return ["ZRANGESTORE", "dst", key, str(a), str(b), *(["REV"] if rng.randrange(2) else [])]
    if kind == 4 and rng.randrange(2):
        a, b = rng.randint(-15, 15), rng.randint(-15, 15)
        return [rng.choice(["ZRANGE", "ZREVRANGE"]), key, str(a), str(b), *ws]
    rev = ["REV"] if rng.randrange(2) else []
    return ["ZRANGE", key, *((hi, lo) if rev else (lo, hi)), "BYSCORE", *rev, *ws, *_limit(rng)]


def _write(rng: random.Random, key: str, zero: bool, members: list[str]) -> list[str]:
    m = rng.choice(members)
    kind = rng.randrange(10)
    if kind < 3:
        inc = "0" if zero else rng.choice(["1", "-1", "0.5", "2", "-3", "100", "0.1", "1e20", "-inf",
                                          str(rng.randint(-40, 40))])
        return ["ZINCRBY", key, inc, m]
    if kind < 7:
        flags = rng.sample(["GT", "LT", "XX", "NX", "CH", "INCR"], rng.randint(0, 2))
        if "INCR" in flags:
            flags = [f for f in flags if f != "INCR"] + ["INCR"]
        s = "0" if zero else rng.choice(SCORE_POOL + [str(rng.randint(-40, 40))])
        pairs = [s, m]
        if "INCR" not in flags and rng.randrange(3) == 0:
            pairs += ["0" if zero else rng.choice(SCORE_POOL), rng.choice(members)]
        return ["ZADD", key, *flags, *pairs]
    if kind == 7:
        return ["ZREMRANGEBYSCORE", key, _score_bound(rng), _score_bound(rng)]
    if kind == 8 and zero:
        return ["ZREMRANGEBYLEX", key, _lex_bound(rng, members), _lex_bound(rng, members)]
    a = rng.randint(-40, 40)
    return ["ZREMRANGEBYRANK", key, str(a), str(a + rng.randint(0, 2))]


def _sequence(seed: int, big: bool) -> list[list[str]]:
    rng = random.Random(seed)
    n = rng.choice([150, 300]) if big else rng.choice([3, 10, 40, 64, 100, 128])
    members = _members(rng, n)
    mixed = [(rng.choice(SCORE_POOL) if rng.randrange(3) else str(rng.randint(-50, 50)), m)
             for m in members]
    key, xkey = (SK, SKX) if big else (LP, LPX)
    cmds = _zadd_all(key, mixed) + _zadd_all(xkey, [("0", m) for m in members])
    cmds += [["OBJECT", "ENCODING", key], ["OBJECT", "ENCODING", xkey]]
    for _ in range(120):
        k, zero = (xkey, True) if rng.randrange(3) == 0 else (key, False)
        if rng.randrange(4):
            cmd = _read(rng, k, zero or not big, members)
            cmds.append(cmd)
            if cmd[0] == "ZRANGESTORE":
                cmds += [["DUMP", "dst"], ["OBJECT", "ENCODING", "dst"]]
        else:
            cmds += [_write(rng, k, zero, members), ["DUMP", k], ["OBJECT", "ENCODING", k]]
    cmds += [["ZRANGE", k, "0", "-1", "WITHSCORES"] for k in (key, xkey)]
    return cmds


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("seed", range(12))
def test_listpack_ranges_and_updates(clients, seed, proto):
    a, b = clients[proto]
    run_same(a, b, _sequence(seed, False), ("128", "64"))
    for k in (LP, LPX):
        assert b.call("OBJECT", "ENCODING", k) in (b"$8\r\nlistpack\r\n", b"$-1\r\n", b"_\r\n")


@pytest.mark.parametrize("seed", range(6))
def test_skiplist_ranges_and_updates(clients, seed):
    a, b = clients[2]
    run_same(a, b, _sequence(1000 + seed, True), ("128", "64"))


def test_incr_walks_far_both_ways(clients):
    """ZINCRBY moving a pair from one end of a 128-pair listpack to the
    other and back, equal scores ordered by member, integer and text
    scores of every encoding width."""
    a, b = clients[2]
    cmds = _zadd_all(LP, [(str(i // 2), "m%03d" % i) for i in range(128)])
    for m, inc in [("m000", "100"), ("m000", "-100"), ("m127", "-70"), ("m127", "70"),
                   ("m050", "0.5"), ("m050", "-0.5"), ("m010", "1e20"), ("m010", "-1e20"),
                   ("m064", "-inf"), ("m064", "inf"), ("m003", "40000"), ("m003", "-40000"),
                   ("m100", "-100000"), ("m100", "3e9"), ("m099", "1"), ("m098", "-1")]:
        cmds += [["ZINCRBY", LP, inc, m], ["DUMP", LP],
                 ["ZRANGE", LP, "(10", "+inf", "BYSCORE", "LIMIT", "0", "3", "WITHSCORES"]]
    cmds += [["ZADD", LP, "XX", "CH", "GT", "70", "m001", "-5", "m002"], ["DUMP", LP],
             ["ZADD", LP, "LT", "INCR", "-2", "m126"], ["DUMP", LP], ["OBJECT", "ENCODING", LP]]
    run_same(a, b, cmds, ("128", "64"))
