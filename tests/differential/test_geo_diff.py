"""Geo commands: omakase vs Debian's redis-server 7.0, byte for byte.

Hypothesis generates point sets (anywhere, near the poles and the
antimeridian, on the range limits, and on a coarse grid so that many
members share a position and distances tie) and searches over them
(GEOSEARCH, GEOSEARCHSTORE, GEORADIUS[BYMEMBER][_RO] with every option,
radius 0 to infinite, boxes thin and huge), plus GEOPOS, GEOHASH and
GEODIST.  Every reply must be the same bytes in RESP2 and RESP3: the
unsorted scan order, the order of ties (qsort / pqsort), ``%.4f``
distances and ``%.17Lf`` coordinates included.  Sets are tried in both
zset encodings (listpack and skiplist).
"""
from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import close_pairs, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential

LAT_MAX = 85.05112878


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs, ("CONFIG", "SET", "zset-max-listpack-entries", "128"), ("FLUSHALL",))


def same(pairs, *args) -> bytes:
    """Send args over RESP2 and RESP3 to both servers; replies must match."""
    out = b""
    for proto, (a, b) in pairs.items():
        x = a.call(*args)
        y = b.call(*args)
        assert x == y, (proto, args, x, y)
        out = x
    return out


def num(x: float) -> str:
    return repr(float(x))


# -- strategies ---------------------------------------------------------------------
lon_any = st.floats(-180, 180, allow_nan=False)
lat_any = st.floats(-LAT_MAX, LAT_MAX, allow_nan=False)
lon_edge = st.one_of(st.floats(179.0, 180.0), st.floats(-180.0, -179.0),
                     st.sampled_from([-180.0, 180.0, 0.0, 179.9999999, -179.9999999]))
lat_edge = st.one_of(st.floats(80.0, LAT_MAX), st.floats(-LAT_MAX, -80.0),
                     st.sampled_from([LAT_MAX, -LAT_MAX, 0.0, 66.0, -66.0, 85.0]))
grid = st.integers(-3, 3).map(lambda i: i * 0.05)

point = st.one_of(
    st.tuples(lon_any, lat_any),
    st.tuples(lon_edge, lat_any),
    st.tuples(lon_any, lat_edge),
    st.tuples(lon_edge, lat_edge),
    st.tuples(grid, grid),
)

_radius = st.one_of(
    st.sampled_from(["0", "1", "500", "10", "100", "1000", "5000", "20000", "1e7", "inf",
                     "0.001"]),
    st.floats(0, 30000).map(num),
)
_unit = st.sampled_from(["km", "km", "mi", "ft", "KM", "m"])


def rarely_bad(good, bad):
    """Mostly a valid value, one time in 25 an invalid one."""
    return st.integers(0, 24).flatmap(lambda i: bad if i == 24 else good)


radius = rarely_bad(_radius, st.sampled_from(["-1", "x", "nan"]))
unit = rarely_bad(_unit, st.just("yd"))


@st.composite
def near(draw, pts):
    """A point, half the time one of the stored positions."""
    if draw(st.booleans()):
        return draw(st.sampled_from(pts))
    return draw(point)


@st.composite
def center(draw, pts):
    n = len(pts)
    if draw(st.booleans()):
        return ["FROMMEMBER", "p%d" % draw(st.integers(0, n))]
    lon, lat = draw(near(pts))
    if draw(st.integers(0, 40)) == 40:
        lat = 86.0      # invalid pair
    return ["FROMLONLAT", num(lon), num(lat)]


@st.composite
def options(draw):
    opts = []
    for o in draw(st.lists(st.sampled_from(["WITHDIST", "WITHCOORD", "WITHHASH", "ASC",
                                            "DESC", "COUNT", "ANY"]), max_size=4, unique=True)):
        if o == "COUNT":
            opts += ["COUNT", str(draw(st.sampled_from([1, 2, 3, 5, 10, 40, 100])))]
        elif o == "ANY":
            if "COUNT" not in opts and draw(st.integers(0, 5)) < 5:
                opts += ["COUNT", str(draw(st.integers(1, 6)))]
            opts.append("ANY")
        else:
            opts.append(o)
    return opts


@st.composite
def query(draw, pts):
    n = len(pts)
    kind = draw(st.sampled_from(["search", "search", "searchstore", "radius", "bymember",
                                 "pos", "hash", "dist"]))
    key = draw(st.sampled_from(["geo", "geo", "geo", "nokey"]))
    if kind in ("search", "searchstore"):
        if draw(st.booleans()):
            shape = ["BYRADIUS", draw(radius), draw(unit)]
        else:
            shape = ["BYBOX", draw(radius), draw(radius), draw(unit)]
        opts = draw(options())
        if kind == "search":
            return [["GEOSEARCH", key] + draw(center(pts)) + shape + opts]
        opts = [o for o in opts if not o.startswith("WITH")]
        if draw(st.booleans()):
            opts.append("STOREDIST")
        return [["GEOSEARCHSTORE", "dst", key] + draw(center(pts)) + shape + opts,
                ["ZRANGE", "dst", "0", "-1", "WITHSCORES"]]
    if kind == "radius":
        lon, lat = draw(near(pts))
        name = draw(st.sampled_from(["GEORADIUS", "GEORADIUS_RO"]))
        cmd = [name, key, num(lon), num(lat), draw(radius), draw(unit)] + draw(options())
        if name == "GEORADIUS" and draw(st.integers(0, 3)) == 0:
            cmd = [c for c in cmd if not c.startswith("WITH")]
            cmd += [draw(st.sampled_from(["STORE", "STOREDIST"])), "dst"]
            return [cmd, ["ZRANGE", "dst", "0", "-1", "WITHSCORES"]]
        return [cmd]
    if kind == "bymember":
        name = draw(st.sampled_from(["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]))
        return [[name, key, "p%d" % draw(st.integers(0, n)), draw(radius), draw(unit)]
                + draw(options())]
    members = ["p%d" % draw(st.integers(0, n)) for _ in range(draw(st.integers(1, 4)))]
    if kind == "pos":
        return [["GEOPOS", key] + members]
    if kind == "hash":
        return [["GEOHASH", key] + members]
    cmd = ["GEODIST", key, members[0], "p%d" % draw(st.integers(0, n))]
    if draw(st.booleans()):
        cmd.append(draw(unit))
    return [cmd]


@st.composite
def scenario(draw):
    pts = draw(st.lists(point, min_size=1, max_size=60))
    qs = draw(st.lists(query(pts), min_size=1, max_size=12))
    return pts, draw(st.sampled_from(["128", "0"])), qs


@given(scenario())
@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
def test_geo_matches_redis(clients, sc):
    pts, entries, queries = sc
    same(clients, "FLUSHALL")
    same(clients, "CONFIG", "SET", "zset-max-listpack-entries", entries)
    args = ["GEOADD", "geo"]
    for i, (lon, lat) in enumerate(pts):
        args += [num(lon), num(lat), "p%d" % i]
    same(clients, *args)
    same(clients, "OBJECT", "ENCODING", "geo")
    for q in queries:
        for cmd in q:
            same(clients, *cmd)


def test_count_ties(clients):
    """COUNT smaller than the result runs Redis 7.0's partial quicksort:
    many members at few positions make the order of ties visible."""
    import random
    rnd = random.Random(7)
    for n in (8, 12, 30, 60, 200):
        same(clients, "FLUSHALL")
        args = ["GEOADD", "geo"]
        for i in range(n):
            args += [str(rnd.choice([0, 0.1, 0.2, -0.1])), str(rnd.choice([0, 0.1, -0.1])),
                     "m%d" % i]
        same(clients, *args)
        for _ in range(12):
            c = str(rnd.choice([1, 2, 3, 5, 7, 10, 20, 41, 45, 60]))
            o = rnd.choice(["ASC", "DESC"])
            x = rnd.choice(["0", "0.05", "0.1"])
            same(clients, "GEOSEARCH", "geo", "FROMLONLAT", x, "0", "BYRADIUS", "100", "km",
                 "COUNT", c, o, "WITHDIST")
            same(clients, "GEORADIUS", "geo", x, "0.05", "50", "km", "COUNT", c)
            same(clients, "GEOSEARCH", "geo", "FROMLONLAT", x, "0", "BYBOX", "50", "60", "km", o)


def test_fixed_cases(clients):
    """Hand-picked corners: radius 0 and huge, both poles, the antimeridian
    from both sides, a whole-world box, COUNT cutting ties."""
    same(clients, "FLUSHALL")
    same(clients, "CONFIG", "SET", "zset-max-listpack-entries", "128")
    args = ["GEOADD", "geo"]
    k = 0
    for lon in (-180, -179.9999, -90, 0, 0.00001, 90, 179.9999, 180):
        for lat in (-LAT_MAX, -85, -66.5, 0, 0.00001, 66.5, 85, LAT_MAX):
            args += [num(lon), num(lat), "p%d" % k]
            k += 1
    for i in range(30):                       # 30 members at one position
        args += ["10", "10", "same%d" % i]
    same(clients, *args)
    for lon, lat in ((0, 0), (180, 0), (-180, 0), (0, LAT_MAX), (90, -LAT_MAX), (10, 10)):
        for r in ("0", "0.5", "100", "3000", "20000", "inf"):
            for opts in ([], ["ASC", "WITHDIST"], ["DESC", "COUNT", "7"], ["COUNT", "3", "ANY"]):
                same(clients, "GEOSEARCH", "geo", "FROMLONLAT", num(lon), num(lat),
                     "BYRADIUS", r, "km", *opts)
                same(clients, "GEOSEARCH", "geo", "FROMLONLAT", num(lon), num(lat),
                     "BYBOX", r, r, "km", *opts)
                same(clients, "GEORADIUS", "geo", num(lon), num(lat), r, "km", *opts)
    same(clients, "GEOSEARCH", "geo", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "m",
         "COUNT", "5", "WITHHASH", "WITHCOORD")
    same(clients, "GEORADIUSBYMEMBER", "geo", "same3", "1", "km", "DESC", "COUNT", "12")
    same(clients, "GEOPOS", "geo", *["p%d" % i for i in range(k)])
    same(clients, "GEOHASH", "geo", *["p%d" % i for i in range(k)])
    same(clients, "GEOSEARCHSTORE", "dst", "geo", "FROMLONLAT", "0", "0", "BYBOX", "1e5", "1e5",
         "km", "STOREDIST")
    same(clients, "ZRANGE", "dst", "0", "-1", "WITHSCORES")
    same(clients, "OBJECT", "ENCODING", "dst")
