"""Geo commands through redis-py and raw RESP bytes.

Every expected value is what redis-server 7.0.15 answers (the file also
passes with ``--redis-url`` pointed at it, except the in-process
propagation tests at the end).
"""
from __future__ import annotations

import os
import sys

import pytest
from redis.exceptions import ResponseError

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from helpers import raw_reply as raw  # noqa: E402
from inproc import InProcess, flag_name_key  # noqa: E402
from rawclient import RawClient  # noqa: E402

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "syntax error"
UNIT = "unsupported unit provided. please use M, KM, FT, MI"
DECODE = "could not decode requested zset member"


def err(r, *args) -> str:
    with pytest.raises(ResponseError) as e:
        raw(r, *args)
    return str(e.value)


@pytest.fixture
def sicily(r):
    raw(r, "GEOADD", "Sicily", 13.361389, 38.115556, "Palermo",
                      15.087269, 37.502669, "Catania")
    return r


@pytest.fixture
def raw2(server, r):
    c = RawClient(server.host, server.port)
    yield c
    c.close()


@pytest.fixture
def raw3(server, r):
    c = RawClient(server.host, server.port)
    c.call("HELLO", "3")
    yield c
    c.close()


# -- GEOADD ---------------------------------------------------------------------
def test_geoadd_stores_52_bit_scores(r):
    assert raw(r, "GEOADD", "k", 13.361389, 38.115556, "Palermo") == 1
    assert r.zscore("k", "Palermo") == 3479099956230698
    assert r.type("k") == b"zset"
    assert raw(r, "GEOADD", "k", 180, 85.05112878, "top") == 1
    assert r.zscore("k", "top") == 13510798882111488


def test_geoadd_nx_xx_ch(sicily):
    r = sicily
    assert raw(r, "GEOADD", "Sicily", "NX", 1, 1, "Palermo", 2, 2, "new") == 1
    assert r.zscore("Sicily", "Palermo") == 3479099956230698
    assert raw(r, "GEOADD", "Sicily", "XX", 3, 3, "Palermo", 4, 4, "other") == 0
    assert r.zscore("Sicily", "other") is None
    assert raw(r, "GEOADD", "Sicily", "CH", "XX", 5, 5, "Palermo") == 1
    assert raw(r, "GEOADD", "Sicily", "ch", 5, 5, "Palermo", 6, 6, "x") == 1
    assert raw(r, "GEOADD", "nokey", "XX", 5, 5, "a") == 0
    assert r.exists("nokey") == 0


def test_geoadd_errors(r):
    assert err(r, "GEOADD", "k", "NX", "XX", 1, 1, "a") == SYNTAX
    assert err(r, "GEOADD", "k", "ch", 1, 1) == SYNTAX
    assert err(r, "GEOADD", "k", 1, 1, "a", 2) == SYNTAX
    pair = "invalid longitude,latitude pair %s"
    assert err(r, "GEOADD", "k", 1, 100, "a") == pair % "1.000000,100.000000"
    assert err(r, "GEOADD", "k", 181, 1, "a") == pair % "181.000000,1.000000"
    assert err(r, "GEOADD", "k", 1, "inf", "a") == pair % "1.000000,inf"
    assert err(r, "GEOADD", "k", "nan", 1, "a") == "value is not a valid float"
    assert err(r, "GEOADD", "k", 1, 1) == "wrong number of arguments for 'geoadd' command"
    # a bad pair anywhere adds nothing
    assert err(r, "GEOADD", "k", 1, 1, "a", 1, 91, "b").startswith("invalid longitude")
    assert r.exists("k") == 0
    r.set("s", "x")
    assert err(r, "GEOADD", "s", 1, 1, "a") == WRONGTYPE


# -- GEOPOS / GEOHASH / GEODIST --------------------------------------------------------
def test_geopos(sicily, raw2, raw3):
    r = sicily
    assert raw2.call("GEOPOS", "Sicily", "Palermo", "nope") == (
        b"*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n")
    assert raw3.call("GEOPOS", "Sicily", "Palermo", "nope") == (
        b"*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n")
    assert raw2.call("GEOPOS", "nokey", "a") == b"*1\r\n*-1\r\n"
    r.zadd("w", {"neg": -1, "big": 1e30})
    assert raw2.call("GEOPOS", "w", "neg") == (
        b"*1\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n")
    assert raw2.call("GEOPOS", "w", "big") == (
        b"*1\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n")


def test_geohash(sicily, raw2, raw3):
    assert raw2.call("GEOHASH", "Sicily", "Palermo", "nope", "Catania") == (
        b"*3\r\n$11\r\nsqc8b49rny0\r\n$-1\r\n$11\r\nsqdtr74hyu0\r\n")
    assert raw3.call("GEOHASH", "Sicily", "nope") == b"*1\r\n_\r\n"
    assert raw2.call("GEOHASH", "nokey", "a", "b") == b"*2\r\n$-1\r\n$-1\r\n"


def test_geodist(sicily, raw3):
    r = sicily
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania") == b"166274.1516"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania", "km") == b"166.2742"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania", "MI") == b"103.3182"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania", "ft") == b"545518.8700"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Palermo") == b"0.0000"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "nope") is None
    assert raw(r, "GEODIST", "nokey", "a", "b") is None
    assert raw3.call("GEODIST", "Sicily", "Palermo", "Catania") == b"$11\r\n166274.1516\r\n"
    assert raw3.call("GEODIST", "Sicily", "a", "b") == b"_\r\n"
    assert err(r, "GEODIST", "Sicily", "a", "b", "parsec") == UNIT
    assert err(r, "GEODIST", "Sicily", "a", "b", "m", "x") == SYNTAX
    r.set("s", "x")
    assert err(r, "GEODIST", "s", "a", "b") == WRONGTYPE
    assert err(r, "GEOPOS", "s", "a") == WRONGTYPE
    assert err(r, "GEOHASH", "s", "a") == WRONGTYPE


# -- GEORADIUS family ----------------------------------------------------------------
def test_georadius_replies(sicily, raw2, raw3):
    r = sicily
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, 200, "km") == [b"Palermo", b"Catania"]
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, 100, "km") == [b"Catania"]
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, 200, "km", "ASC") == [
        b"Catania", b"Palermo"]
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, 200, "km", "DESC") == [
        b"Palermo", b"Catania"]
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, 200, "km", "COUNT", 1) == [b"Catania"]
    assert raw2.call("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD",
                     "WITHHASH") == (
        b"*2\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n"
        b"*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"
        b"*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n"
        b"*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n")
    assert raw3.call("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "COUNT", "1") == (
        b"*1\r\n*2\r\n$7\r\nCatania\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n")
    assert raw(r, "GEORADIUS_RO", "Sicily", 15, 37, 100, "km") == [b"Catania"]
    assert raw(r, "GEORADIUSBYMEMBER", "Sicily", "Palermo", 200, "km", "WITHDIST") == [
        [b"Palermo", b"0.0000"], [b"Catania", b"166.2742"]]
    assert raw(r, "GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", 1, "km") == [b"Palermo"]
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, "0", "km") == []
    assert raw(r, "GEORADIUS", "Sicily", 0, 0, "inf", "km") == [b"Palermo", b"Catania"]
    assert raw(r, "GEORADIUS", "nokey", 15, 37, 200, "km") == []
    assert raw(r, "GEORADIUSBYMEMBER", "nokey", "x", "bad", "km") == []


def test_georadius_any(r):
    raw(r, "GEOADD", "k", 0, 0, "a", 0.001, 0, "b", 0.002, 0, "c")
    assert raw(r, "GEORADIUS", "k", 0.002, 0, 10, "km", "COUNT", 1) == [b"c"]
    # ANY stops at the first match in scan order, unsorted
    assert raw(r, "GEORADIUS", "k", 0.002, 0, 10, "km", "COUNT", 1, "ANY") == [b"a"]
    assert raw(r, "GEORADIUS", "k", 0.002, 0, 10, "km", "COUNT", 2, "ANY",
                             "DESC") == [b"a", b"b"]


def test_georadius_store(sicily):
    r = sicily
    r.set("dst", "old")
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, 200, "km", "STORE", "dst") == 2
    assert r.zrange("dst", 0, -1, withscores=True) == [
        (b"Palermo", 3479099956230698.0), (b"Catania", 3479447370796909.0)]
    assert raw(r, "GEORADIUS", "Sicily", 15, 37, 200, "km", "STOREDIST", "dst") == 2
    assert r.zrange("dst", 0, -1, withscores=True) == [
        (b"Catania", 56.4412578701582), (b"Palermo", 190.44242984775784)]
    assert r.object("encoding", "dst") == b"listpack"
    assert raw(r, "GEORADIUSBYMEMBER", "Sicily", "Palermo", 10, "km",
                             "STORE", "d2") == 1
    # an empty result deletes the destination
    assert raw(r, "GEORADIUS", "Sicily", 0, 0, 1, "km", "STORE", "dst") == 0
    assert r.exists("dst") == 0
    assert raw(r, "GEORADIUS", "nokey", 0, 0, 1, "km", "STORE", "d2") == 0
    assert r.exists("d2") == 0


def test_georadius_errors(sicily):
    r = sicily
    assert err(r, "GEORADIUSBYMEMBER", "Sicily", "nope", 1, "km") == DECODE
    assert err(r, "GEORADIUS", "Sicily", 15, 37, -1, "km") == "radius cannot be negative"
    assert err(r, "GEORADIUS", "Sicily", 15, 37, "abc", "km") == "need numeric radius"
    assert err(r, "GEORADIUS", "Sicily", 15, 37, "nan", "km") == "need numeric radius"
    assert err(r, "GEORADIUS", "Sicily", 15, 37, 1, "parsec") == UNIT
    assert err(r, "GEORADIUS", "Sicily", 15, 91, 1, "km") == (
        "invalid longitude,latitude pair 15.000000,91.000000")
    assert err(r, "GEORADIUS", "Sicily", 15, 37, 1, "km", "WITHDIST", "STORE", "x") == (
        "STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    assert err(r, "GEORADIUS_RO", "Sicily", 15, 37, 1, "km", "STORE", "x") == SYNTAX
    assert err(r, "GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", 1, "km", "STOREDIST", "x") == SYNTAX
    assert err(r, "GEORADIUS", "Sicily", 15, 37, 1, "km", "COUNT", 0) == "COUNT must be > 0"
    assert err(r, "GEORADIUS", "Sicily", 15, 37, 1, "km", "COUNT", "x") == (
        "value is not an integer or out of range")
    assert err(r, "GEORADIUS", "Sicily", 15, 37, 1, "km", "COUNT") == SYNTAX
    assert err(r, "GEORADIUS", "Sicily", 15, 37, 1, "km", "ANY") == (
        "the ANY argument requires COUNT argument")
    assert err(r, "GEORADIUS", "Sicily", 15, 37, 1, "km", "FROMLONLAT", 1, 1) == SYNTAX
    r.set("s", "x")
    assert err(r, "GEORADIUS", "s", 15, 37, 1, "km") == WRONGTYPE
    assert err(r, "GEORADIUSBYMEMBER", "s", "a", 1, "km") == WRONGTYPE


# -- GEOSEARCH / GEOSEARCHSTORE ------------------------------------------------------------
def test_geosearch(sicily):
    r = sicily
    raw(r, "GEOADD", "Sicily", 12.758489, 38.788135, "edge1",
                      17.241510, 38.788135, "edge2")
    assert raw(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km",
                             "ASC") == [b"Catania", b"Palermo"]
    assert raw(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYBOX", 400, 400, "km",
                             "ASC", "WITHCOORD", "WITHDIST", "WITHHASH") == [
        [b"Catania", b"56.4413", 3479447370796909,
         [b"15.08726745843887329", b"37.50266842333162032"]],
        [b"Palermo", b"190.4424", 3479099956230698,
         [b"13.36138933897018433", b"38.11555639549629859"]],
        [b"edge2", b"279.7403", 3481342659049484,
         [b"17.24151045083999634", b"38.78813451624225195"]],
        [b"edge1", b"279.7405", 3479273021651468,
         [b"12.7584877610206604", b"38.78813451624225195"]]]
    assert raw(r, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", 1, "km"
                             ) == [b"Palermo"]
    assert raw(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYBOX", 400, 400, "km",
                             "DESC", "COUNT", 2) == [b"edge1", b"edge2"]
    assert raw(r, "GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", 1, "km") == []


def test_geosearchstore(sicily):
    r = sicily
    assert raw(r, "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", 15, 37,
                             "BYRADIUS", 200, "km", "STOREDIST") == 2
    assert r.zrange("dst", 0, -1, withscores=True) == [
        (b"Catania", 56.4412578701582), (b"Palermo", 190.44242984775784)]
    assert raw(r, "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", 15, 37,
                             "BYRADIUS", 100, "km") == 1
    assert r.zrange("dst", 0, -1, withscores=True) == [(b"Catania", 3479447370796909.0)]
    assert raw(r, "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", 0, 0,
                             "BYRADIUS", 1, "km") == 0
    assert r.exists("dst") == 0
    assert raw(r, "GEOSEARCHSTORE", "dst", "nokey", "FROMMEMBER", "a",
                             "BYRADIUS", 1, "km") == 0


def test_geosearch_errors(sicily):
    r = sicily
    ex_from = "exactly one of FROMMEMBER or FROMLONLAT can be specified for %s"
    ex_by = "exactly one of BYRADIUS and BYBOX can be specified for %s"
    assert err(r, "GEOSEARCH", "Sicily", "ASC", "ASC", "ASC", "ASC", "ASC") == ex_from % "GEOSEARCH"
    assert err(r, "geosearch", "Sicily", "FROMMEMBER", "Palermo", "ASC", "ASC", "ASC") == (
        ex_by % "geosearch")
    assert err(r, "GEOSEARCH", "Sicily", "BYRADIUS", 1, "km", "ASC", "ASC") == ex_from % "GEOSEARCH"
    assert err(r, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", 1, 2,
               "BYRADIUS", 1, "km") == SYNTAX
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km",
               "BYBOX", 1, 1, "km") == SYNTAX
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYBOX", 1, "km") == SYNTAX
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYBOX", -1, 1, "km") == (
        "height or width cannot be negative")
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYBOX", "a", 1, "km") == (
        "need numeric width")
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYBOX", 1, "a", "km") == (
        "need numeric height")
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYBOX", 1, 1, "yd") == UNIT
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 200, 2, "BYRADIUS", 1, "km") == (
        "invalid longitude,latitude pair 200.000000,2.000000")
    assert err(r, "GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", 1, "km") == DECODE
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km", "STOREDIST") == (
        SYNTAX)
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km",
               "STORE", "x") == SYNTAX
    assert err(r, "GEOSEARCH", "Sicily", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km", "ANY") == (
        "the ANY argument requires COUNT argument")
    assert err(r, "GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km",
               "WITHDIST") == (
        "GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    assert err(r, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo") == (
        "wrong number of arguments for 'geosearch' command")
    r.set("s", "x")
    assert err(r, "GEOSEARCH", "s", "FROMMEMBER", "a", "BYRADIUS", 1, "km") == WRONGTYPE
    assert err(r, "GEOSEARCHSTORE", "d", "s", "FROMMEMBER", "a", "BYRADIUS", 1, "km") == WRONGTYPE


def test_poles_and_antimeridian(r):
    raw(r, "GEOADD", "k", 179.9999, 0, "east", -179.9999, 0, "west",
                      0, 85.05, "north", 180, 85.0, "ne")
    assert raw(r, "GEOSEARCH", "k", "FROMLONLAT", 180, 0, "BYRADIUS", 50, "km",
                             "ASC", "WITHDIST") == [[b"east", b"0.0110"]]
    # the cells do not wrap around the antimeridian the same way both sides
    assert raw(r, "GEOSEARCH", "k", "FROMLONLAT", -180, 0, "BYRADIUS", 50, "km",
               "ASC", "WITHDIST") == [[b"west", b"0.0110"], [b"east", b"0.0110"]]
    assert raw(r, "GEORADIUS", "k", 0, 85, 200, "km", "WITHDIST") == [
        [b"north", b"5.5613"]]
    assert raw(r, "GEORADIUS", "k", 90, 85, 2000, "km", "ASC") == [b"north"]


# -- in process: propagation and keyspace events --------------------------------------------
NOTIFY_GENERIC = 1 << 2
NOTIFY_ZSET = 1 << 7


def test_propagation_and_events():
    if os.environ.get("OMAKASE_SKIP_INPROC"):
        pytest.skip()
    ip = InProcess(event=flag_name_key)
    assert ip("GEOADD", "k", "CH", "13.361389", "38.115556", "Palermo") == b":1\r\n"
    assert ip.take() == ([[b"zadd", b"k", b"CH", b"3479099956230698", b"Palermo"]],
                         [(NOTIFY_ZSET, "zadd", b"k")])
    ip("GEOADD", "k", "NX", "1", "1", "Palermo")
    assert ip.take() == ([], [])
    ip("GEORADIUS", "k", "13", "38", "100", "km")
    assert ip.take() == ([], [])
    assert ip("GEORADIUS", "k", "13", "38", "100", "km", "STORE", "d") == b":1\r\n"
    assert ip.take() == ([[b"GEORADIUS", b"k", b"13", b"38", b"100", b"km", b"STORE", b"d"]],
                         [(NOTIFY_ZSET, "georadiusstore", b"d")])
    ip("GEOSEARCHSTORE", "d", "k", "FROMLONLAT", "13", "38", "BYRADIUS", "100", "km")
    assert ip.take()[1] == [(NOTIFY_ZSET, "geosearchstore", b"d")]
    dirty = ip.server.dirty
    ip("GEOSEARCHSTORE", "d", "k", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    assert ip.take()[1] == [(NOTIFY_GENERIC, "del", b"d")]
    assert ip.server.dirty == dirty + 1
