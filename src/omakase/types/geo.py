"""Geo commands: positions kept in a sorted set (Redis's ``geo.c``, 7.0).

A geo key is an ordinary zset (``types.zset.ZSetValue``): each member's
score is the 52-bit interleaved geohash of its position
(``encodings.geohash``).  There is no geo type of its own, so TYPE says
``zset`` and every zset command works on it.  This module only goes through
the zset type API (``lookup_read_zset``, ``zset_score``,
``zset_range_by_score``, ``zset_from_pairs``, ``zadd_command``).

Commands
--------
* GEOADD [NX|XX] [CH] checks every longitude/latitude pair first, then
  rewrites itself into ``zadd key [options] score member ...`` and runs
  ZADD (as ``geoaddCommand`` + ``replaceClientCommandVector``): the reply,
  the ``zadd`` keyspace event and the propagated command are ZADD's.
  NX together with XX is a plain syntax error here (geo.c checks it).
* GEOPOS / GEOHASH / GEODIST decode scores; a missing key is treated as a
  key without the members (null entries), as 7.0 does.  GEOHASH re-encodes
  over the standard -90..90 latitude range and ends with '0'.
* GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO], GEOSEARCH and GEOSEARCHSTORE
  share ``_georadius_generic`` (``georadiusGeneric``): the same option loop
  (same errors, in the same order), the 9 cells of
  ``geohash.areas_for_shape`` scanned in Redis's order (centre, N, S, E,
  W, NE, NW, SE, SW; a cell equal to the one scanned just before is
  skipped), each cell's score range walked in score order, members kept
  when their exact distance passes (``geoWithinShape``).  Without ASC/DESC
  the reply keeps that scan order; COUNT without ANY sorts ascending.
  Sorting is glibc 2.36's ``qsort`` (a stable merge sort) when every result
  is returned, and Redis 7.0's own partial quicksort (``pqsort``, ported in
  ``_pqsort``; 7.0's copy lacks the insertion-sort shortcut of later
  versions) when COUNT cuts the result, so equal distances come out in
  Redis's order too.  STORE/STOREDIST (and GEOSEARCHSTORE) write a zset
  encoded like a computed zset result and notify ``georadiusstore`` /
  ``geosearchstore``; an empty result deletes the destination.

Number formats: distances are ``%.4f`` bulk strings in both protocols
(``addReplyDoubleDistance``); coordinates are ``addReplyHumanLongDouble``:
``%.17Lf`` of the double with trailing zeros removed, a bulk string in
RESP2 and a RESP3 double (``,``) in RESP3.  The reply layer has no
"human long double" method, so ``_add_reply_human_double`` writes that
RESP3 double itself.

Errors are geo.c's, checked against redis-server 7.0.15: GEOADD with both
NX and XX replies "syntax error" (not ZADD's "XX and NX options at the same
time are not compatible": geo.c rejects it before ZADD runs); a bad pair is
"invalid longitude,latitude pair %f,%f"; a missing FROMMEMBER member is
"could not decode requested zset member".

Cost: each member of the scanned cells is decoded and measured in Python
(a few microseconds each); small radii touch few members, a search over a
whole large set is linear in its size.

DIVERGENCE: a search whose cells overlap could list a member twice; Redis
then returns it twice but crashes on STORE (dictAdd assertion); here STORE
keeps the first occurrence.
"""
from __future__ import annotations

import math
from typing import Any

from omakase import replies
from omakase.commands.registry import command
from omakase.encodings import geohash as gh
from omakase.encodings.skiplist import ZRangeSpec
from omakase.types._members import delete_destination
from omakase.types.zset import (ZSetValue, lookup_read_zset, parse_score, zadd_command,
                                zset_from_pairs, zset_range_by_score, zset_score)
from omakase.util import parse_ll

NOTIFY_ZSET = 1 << 7

UNIT_ERR = "unsupported unit provided. please use M, KM, FT, MI"
DECODE_ERR = "could not decode requested zset member"

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}

SORT_NONE = 0
SORT_ASC = 1
SORT_DESC = 2

RADIUS_COORDS = 1
RADIUS_MEMBER = 2
RADIUS_NOSTORE = 4
GEOSEARCH = 8
GEOSEARCHSTORE = 16


# ---------------------------------------------------------------------------
# Argument helpers
# ---------------------------------------------------------------------------
def _opt(a: bytes) -> bytes:
    """An option word as strcasecmp sees it (a C string: up to a NUL)."""
    z = a.find(b"\0")
    if z >= 0:
        a = a[:z]
    return a.lower()


def _fmt_f(x: float) -> str:
    """C's ``%f``."""
    if x != x:
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return "%f" % x


def _extract_lonlat(c: Any, a: bytes, b: bytes) -> tuple[float, float] | None:
    """extractLongLatOrReply."""
    lon = parse_score(a)
    if lon is None:
        c.add_reply_error(replies.NOT_FLOAT)
        return None
    lat = parse_score(b)
    if lat is None:
        c.add_reply_error(replies.NOT_FLOAT)
        return None
    if (lon < gh.GEO_LONG_MIN or lon > gh.GEO_LONG_MAX
            or lat < gh.GEO_LAT_MIN or lat > gh.GEO_LAT_MAX):
        c.add_reply_error("invalid longitude,latitude pair %s,%s" % (_fmt_f(lon), _fmt_f(lat)))
        return None
    return lon, lat


def _extract_unit(c: Any, a: bytes) -> float | None:
    """extractUnitOrReply: meters per unit."""
    u = _UNITS.get(_opt(a))
    if u is None:
        c.add_reply_error(UNIT_ERR)
    return u


def _extract_distance(c: Any, num: bytes, unit: bytes) -> tuple[float, float] | None:
    """extractDistanceOrReply: (radius in units, meters per unit)."""
    d = parse_score(num)
    if d is None:
        c.add_reply_error("need numeric radius")
        return None
    if d < 0:
        c.add_reply_error("radius cannot be negative")
        return None
    conv = _extract_unit(c, unit)
    if conv is None:
        return None
    return d, conv


def _extract_box(c: Any, wa: bytes, ha: bytes, unit: bytes) -> tuple[float, float, float] | None:
    """extractBoxOrReply: (width, height, meters per unit)."""
    w = parse_score(wa)
    if w is None:
        c.add_reply_error("need numeric width")
        return None
    h = parse_score(ha)
    if h is None:
        c.add_reply_error("need numeric height")
        return None
    if h < 0 or w < 0:
        c.add_reply_error("height or width cannot be negative")
        return None
    conv = _extract_unit(c, unit)
    if conv is None:
        return None
    return w, h, conv


# ---------------------------------------------------------------------------
# Reply formats
# ---------------------------------------------------------------------------
def distance_text(d: float) -> bytes:
    """addReplyDoubleDistance's ``%.4f`` (glibc spelling of NaN)."""
    if d != d:
        return b"-nan" if math.copysign(1.0, d) < 0 else b"nan"
    return b"%.4f" % d


def human_double_text(x: float) -> bytes:
    """ld2string(LD_STR_HUMAN): ``%.17Lf`` without trailing zeros."""
    if x != x:
        return b"-nan" if math.copysign(1.0, x) < 0 else b"nan"
    if x in (math.inf, -math.inf):
        return b"inf" if x > 0 else b"-inf"
    s = b"%.17f" % x
    if b"." in s:
        s = s.rstrip(b"0")
        if s.endswith(b"."):
            s = s[:-1]
    if s == b"-0":
        s = b"0"
    return s


def _add_reply_human_double(c: Any, x: float) -> None:
    """addReplyHumanLongDouble: a bulk string in RESP2, a double in RESP3."""
    t = human_double_text(x)
    if c.resp == 2:
        c.add_reply_bulk(t)
    else:
        c.add_reply(b",%b\r\n" % t)


# ---------------------------------------------------------------------------
# Lookups
# ---------------------------------------------------------------------------
def _member_lonlat(z: ZSetValue | None, member: bytes) -> tuple[float, float] | None:
    """longLatFromMember."""
    if z is None:
        return None
    s = zset_score(z, member)
    if s is None:
        return None
    return gh.decode_score(s)


# ---------------------------------------------------------------------------
# GEOADD, GEOPOS, GEOHASH, GEODIST
# ---------------------------------------------------------------------------
@command("geoadd")
def geoadd_command(c: Any, argv: list[bytes]) -> None:
    xx = nx = False
    longidx = 2
    n = len(argv)
    while longidx < n:
        o = _opt(argv[longidx])
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o != b"ch":
            break
        longidx += 1
    if (n - longidx) % 3 or (xx and nx):
        c.add_reply_error(replies.SYNTAX)
        return
    new_argv = [b"zadd"] + argv[1:longidx]
    for i in range(longidx, n, 3):
        xy = _extract_lonlat(c, argv[i], argv[i + 1])
        if xy is None:
            return
        new_argv.append(b"%d" % gh.encode_score(xy[0], xy[1]))
        new_argv.append(argv[i + 2])
    c.rewritten_argv = new_argv
    zadd_command(c, new_argv)


@command("geopos")
def geopos_command(c: Any, argv: list[bytes]) -> None:
    z, ok = lookup_read_zset(c, argv[1])
    if not ok:
        return
    c.add_reply_array_len(len(argv) - 2)
    for m in argv[2:]:
        s = None if z is None else zset_score(z, m)
        if s is None:
            c.add_reply_null_array()
            continue
        lon, lat = gh.decode_score(s)
        c.add_reply_array_len(2)
        _add_reply_human_double(c, lon)
        _add_reply_human_double(c, lat)


@command("geohash")
def geohash_command(c: Any, argv: list[bytes]) -> None:
    z, ok = lookup_read_zset(c, argv[1])
    if not ok:
        return
    out: list[bytes | None] = []
    for m in argv[2:]:
        s = None if z is None else zset_score(z, m)
        out.append(None if s is None else gh.standard_geohash(s))
    c.add_reply_bulk_or_null_array(out)


@command("geodist")
def geodist_command(c: Any, argv: list[bytes]) -> None:
    to_meter = 1.0
    if len(argv) == 5:
        u = _extract_unit(c, argv[4])
        if u is None:
            return
        to_meter = u
    elif len(argv) > 5:
        c.add_reply_error(replies.SYNTAX)
        return
    z, ok = lookup_read_zset(c, argv[1])
    if not ok:
        return
    if z is None:
        c.add_reply_null()
        return
    s1 = zset_score(z, argv[2])
    s2 = zset_score(z, argv[3]) if s1 is not None else None
    if s2 is None:
        c.add_reply_null()
        return
    x1, y1 = gh.decode_score(s1)
    x2, y2 = gh.decode_score(s2)
    c.add_reply_bulk(distance_text(gh.distance(x1, y1, x2, y2) / to_meter))


# ---------------------------------------------------------------------------
# Searching (membersOfAllNeighbors / geoGetPointsInRange)
# ---------------------------------------------------------------------------
class GeoShape:
    """GeoShape: a centre and a circle (``radius``) or a box (``width``,
    ``height``), sizes in the unit whose meters are ``conversion``."""

    __slots__ = ("lon", "lat", "radius", "width", "height", "conversion")

    def __init__(self) -> None:
        self.lon = 0.0
        self.lat = 0.0
        self.radius: float | None = None
        self.width = 0.0
        self.height = 0.0
        self.conversion = 1.0


def search(z: ZSetValue, shape: GeoShape, limit: int = 0) -> list[list]:
    """All members inside the shape as ``[member, dist_m, score, lon, lat]``
    in Redis's scan order; stop at ``limit`` (0: no limit) results."""
    cells = gh.areas_for_shape(shape.lon, shape.lat, shape.conversion, shape.radius,
                               shape.width, shape.height)
    cx = shape.lon
    cy = shape.lat
    conv = shape.conversion
    circle = shape.radius is not None
    if circle:
        radius_m = shape.radius * conv
    else:
        width_m = shape.width * conv
        height_m = shape.height * conv
        in_rect = gh.in_rectangle
    decode = gh.decode_score
    if circle:
        dist_to = gh.distance_from(cx, cy)
    out: list[list] = []
    append = out.append
    last = 0
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        if last and cell == cells[last]:
            continue
        if out and limit and len(out) >= limit:
            break
        lo, hi = gh.box_score_range(cell[0], cell[1])
        pairs = zset_range_by_score(z, ZRangeSpec(float(lo), float(hi), False, True),
                                    False, 0, -1)
        if circle and not limit:
            for member, score in pairs:
                lon, lat = decode(score)
                d = dist_to(lon, lat)
                if not d > radius_m:
                    append([member, d, score, lon, lat])
        else:
            for member, score in pairs:
                lon, lat = decode(score)
                if circle:
                    d = dist_to(lon, lat)
                    if d > radius_m:
                        d = None
                else:
                    d = in_rect(width_m, height_m, cx, cy, lon, lat)
                if d is not None:
                    append([member, d, score, lon, lat])
                if out and limit and len(out) >= limit:
                    break
        last = i
    return out


def _cmp_asc(a: list, b: list) -> int:
    """sort_gp_asc."""
    da = a[1]
    db = b[1]
    if da > db:
        return 1
    if da == db:
        return 0
    return -1


def _cmp_desc(a: list, b: list) -> int:
    return -_cmp_asc(a, b)


def _msort(a: list, cmp) -> None:
    """glibc 2.36 ``qsort`` (msort: top-down stable merge sort), in place;
    used only when a NaN distance makes the comparator inconsistent."""
    n = len(a)
    if n <= 1:
        return
    n1 = n // 2
    left = a[:n1]
    right = a[n1:]
    _msort(left, cmp)
    _msort(right, cmp)
    i = j = k = 0
    n2 = n - n1
    while i < n1 and j < n2:
        if cmp(left[i], right[j]) <= 0:
            a[k] = left[i]
            i += 1
        else:
            a[k] = right[j]
            j += 1
        k += 1
    while i < n1:
        a[k] = left[i]
        i += 1
        k += 1
    while j < n2:
        a[k] = right[j]
        j += 1
        k += 1


def _med3(a: list, i: int, j: int, k: int, cmp) -> int:
    if cmp(a[i], a[j]) < 0:
        if cmp(a[j], a[k]) < 0:
            return j
        return k if cmp(a[i], a[k]) < 0 else i
    if cmp(a[j], a[k]) > 0:
        return j
    return i if cmp(a[i], a[k]) < 0 else k


def _vecswap(a: list, i: int, j: int, n: int) -> None:
    for t in range(n):
        a[i + t], a[j + t] = a[j + t], a[i + t]


def _insertion(a: list, base: int, n: int, cmp) -> None:
    for m in range(base + 1, base + n):
        p = m
        while p > base and cmp(a[p - 1], a[p]) > 0:
            a[p], a[p - 1] = a[p - 1], a[p]
            p -= 1


def _pqsort(a: list, base: int, n: int, cmp, lrange: int, rrange: int) -> None:
    """Redis 7.0's pqsort.c (NetBSD's Bentley-McIlroy quicksort that only
    recurses into parts overlapping elements lrange..rrange), on list
    indexes.  7.0's version has no "no swaps: switch to insertion sort"
    shortcut (later versions do), which changes the order of ties."""
    while True:
        if n < 7:
            _insertion(a, base, n, cmp)
            return
        pm = base + n // 2
        if n > 7:
            pl = base
            pn = base + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(a, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(a, pm - d, pm, pm + d, cmp)
                pn = _med3(a, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(a, pl, pm, pn, cmp)
        a[base], a[pm] = a[pm], a[base]
        pa = pb = base + 1
        pc = pd = base + n - 1
        pivot = a[base]
        while True:
            while pb <= pc:
                r = cmp(a[pb], pivot)
                if r > 0:
                    break
                if r == 0:
                    a[pa], a[pb] = a[pb], a[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(a[pc], pivot)
                if r < 0:
                    break
                if r == 0:
                    a[pc], a[pd] = a[pd], a[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            a[pb], a[pc] = a[pc], a[pb]
            pb += 1
            pc -= 1
        pn = base + n
        r = min(pa - base, pb - pa)
        _vecswap(a, base, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(a, pb, pn - r, r)
        r = pb - pa
        if r > 1:
            s, e = base, base + r - 1
            if not ((lrange < s and rrange < s) or (lrange > e and rrange > e)):
                _pqsort(a, s, r, cmp, lrange, rrange)
        r = pd - pc
        if r > 1:
            base = pn - r
            n = r
            s, e = base, base + r - 1
            if not ((lrange < s and rrange < s) or (lrange > e and rrange > e)):
                continue
        return


def sort_results(ga: list[list], sort: int, returned: int) -> None:
    """The ASC/DESC sort of georadiusGeneric (in place)."""
    if sort == SORT_NONE or len(ga) < 2:
        return
    cmp = _cmp_asc if sort == SORT_ASC else _cmp_desc
    if returned == len(ga):
        if any(p[1] != p[1] for p in ga):
            _msort(ga, cmp)
        else:
            ga.sort(key=lambda p: p[1], reverse=sort == SORT_DESC)
    else:
        _pqsort(ga, 0, len(ga), cmp, 0, returned - 1)


# ---------------------------------------------------------------------------
# GEORADIUS family and GEOSEARCH
# ---------------------------------------------------------------------------
def _georadius_generic(c: Any, argv: list[bytes], src_index: int, flags: int) -> None:
    """georadiusGeneric."""
    z, ok = lookup_read_zset(c, argv[src_index])
    if not ok:
        return
    storekey: bytes | None = None
    storedist = False
    shape = GeoShape()
    if flags & RADIUS_COORDS:
        base = 6
        xy = _extract_lonlat(c, argv[2], argv[3])
        if xy is None:
            return
        shape.lon, shape.lat = xy
        rd = _extract_distance(c, argv[4], argv[5])
        if rd is None:
            return
        shape.radius, shape.conversion = rd
    elif flags & RADIUS_MEMBER and z is None:
        base = 5
    elif flags & RADIUS_MEMBER:
        base = 5
        xy = _member_lonlat(z, argv[2])
        if xy is None:
            c.add_reply_error(DECODE_ERR)
            return
        shape.lon, shape.lat = xy
        rd = _extract_distance(c, argv[3], argv[4])
        if rd is None:
            return
        shape.radius, shape.conversion = rd
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            storekey = argv[1]

    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = False
    sort = SORT_NONE
    any_ = False
    count = 0
    n = len(argv)
    remaining = n - base
    i = 0
    geosearch = flags & GEOSEARCH
    while i < remaining:
        raw = argv[base + i]
        arg = _opt(raw)
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoords = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = SORT_ASC
        elif arg == b"desc":
            sort = SORT_DESC
        elif arg == b"count" and i + 1 < remaining:
            ok, count = parse_ll(argv[base + i + 1])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            if count <= 0:
                c.add_reply_error("COUNT must be > 0")
                return
            i += 1
        elif (arg == b"store" and i + 1 < remaining and not flags & RADIUS_NOSTORE
              and not geosearch):
            storekey = argv[base + i + 1]
            storedist = False
            i += 1
        elif (arg == b"storedist" and i + 1 < remaining and not flags & RADIUS_NOSTORE
              and not geosearch):
            storekey = argv[base + i + 1]
            storedist = True
            i += 1
        elif arg == b"storedist" and geosearch and flags & GEOSEARCHSTORE:
            storedist = True
        elif arg == b"frommember" and i + 1 < remaining and geosearch and not fromloc:
            if z is not None:
                xy = _member_lonlat(z, argv[base + i + 1])
                if xy is None:
                    c.add_reply_error(DECODE_ERR)
                    return
                shape.lon, shape.lat = xy
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and geosearch and not frommember:
            xy = _extract_lonlat(c, argv[base + i + 1], argv[base + i + 2])
            if xy is None:
                return
            shape.lon, shape.lat = xy
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and geosearch and not bybox:
            rd = _extract_distance(c, argv[base + i + 1], argv[base + i + 2])
            if rd is None:
                return
            shape.radius, shape.conversion = rd
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and geosearch and not byradius:
            box = _extract_box(c, argv[base + i + 1], argv[base + i + 2], argv[base + i + 3])
            if box is None:
                return
            shape.width, shape.height, shape.conversion = box
            shape.radius = None
            bybox = True
            i += 3
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        i += 1

    if storekey is not None and (withdist or withhash or withcoords):
        c.add_reply_error("%s is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
                          % ("GEOSEARCHSTORE" if flags & GEOSEARCHSTORE
                             else "STORE option in GEORADIUS"))
        return
    name = argv[0].decode("utf-8", "surrogateescape")
    if geosearch and not (frommember or fromloc):
        c.add_reply_error("exactly one of FROMMEMBER or FROMLONLAT can be specified for %s"
                          % name)
        return
    if geosearch and not (byradius or bybox):
        c.add_reply_error("exactly one of BYRADIUS and BYBOX can be specified for %s" % name)
        return
    if any_ and not count:
        c.add_reply_error("the ANY argument requires COUNT argument")
        return

    db = c.db
    server = c.server
    if z is None:
        if storekey is not None:
            delete_destination(c, storekey)
            c.add_reply_int(0)
        else:
            c.add_reply(replies.EMPTY_ARRAY)
        return

    if count and sort == SORT_NONE and not any_:
        sort = SORT_ASC

    ga = search(z, shape, count if any_ else 0)
    if not ga and storekey is None:
        c.add_reply(replies.EMPTY_ARRAY)
        return
    result_length = len(ga)
    returned = result_length if (count == 0 or result_length < count) else count
    sort_results(ga, sort, returned)
    conv = shape.conversion

    if storekey is None:
        option_length = withdist + withcoords + withhash
        if not option_length:
            c.add_reply_bulks([ga[k][0] for k in range(returned)])
            return
        c.add_reply_array_len(returned)
        for k in range(returned):
            member, dist, score, lon, lat = ga[k]
            c.add_reply_array_len(option_length + 1)
            c.add_reply_bulk(member)
            if withdist:
                c.add_reply_bulk(distance_text(dist / conv))
            if withhash:
                c.add_reply_int(int(score))
            if withcoords:
                c.add_reply_array_len(2)
                _add_reply_human_double(c, lon)
                _add_reply_human_double(c, lat)
        return

    if returned:
        seen: dict[bytes, float] = {}
        for k in range(returned):
            member, dist, score = ga[k][0], ga[k][1], ga[k][2]
            if member not in seen:
                seen[member] = dist / conv if storedist else score
        pairs = sorted(seen.items(), key=lambda p: (p[1], p[0]))
        db.set_key(storekey, zset_from_pairs(server, pairs))
        server.notify(NOTIFY_ZSET, "geosearchstore" if geosearch else "georadiusstore",
                      storekey, db.id)
        server.dirty += returned
    else:
        delete_destination(c, storekey)
    c.add_reply_int(returned)


@command("georadius")
def georadius_command(c: Any, argv: list[bytes]) -> None:
    _georadius_generic(c, argv, 1, RADIUS_COORDS)


@command("georadius_ro")
def georadius_ro_command(c: Any, argv: list[bytes]) -> None:
    _georadius_generic(c, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)


@command("georadiusbymember")
def georadiusbymember_command(c: Any, argv: list[bytes]) -> None:
    _georadius_generic(c, argv, 1, RADIUS_MEMBER)


@command("georadiusbymember_ro")
def georadiusbymember_ro_command(c: Any, argv: list[bytes]) -> None:
    _georadius_generic(c, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


@command("geosearch")
def geosearch_command(c: Any, argv: list[bytes]) -> None:
    _georadius_generic(c, argv, 1, GEOSEARCH)


@command("geosearchstore")
def geosearchstore_command(c: Any, argv: list[bytes]) -> None:
    _georadius_generic(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
