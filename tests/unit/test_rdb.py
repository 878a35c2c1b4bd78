"""RDB v10 in-process: primitives, value round trips of every type and
encoding, old encodings (ziplist, zipmap, quicklist v1, text scores), whole
files (AUX, expires, LRU/LFU opcodes, expired keys, checksum), and corrupt
input (truncation, bit flips, fuzzed payloads) that must raise RdbError and
never leave a half-loaded dataset or a broken value.

Old-format payloads are built here by small encoders (``ziplist``,
``zipmap``); ``tests/differential/test_rdb_interop.py`` checks the same
encoders against redis-server, which must accept their output."""
from __future__ import annotations

import io
import random
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omakase.config import Config
from omakase.networking import FakeClient
from omakase.objects import string_value
from omakase.persistence import rdb
from omakase.persistence.rdb import RdbError
from omakase.server import Server

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# ---------------------------------------------------------------------------
# Helpers (also imported by the differential test)
# ---------------------------------------------------------------------------
class Local:
    """An in-process server with a fake client: commands without sockets."""

    def __init__(self, **config) -> None:
        cfg = Config(chdir=False)
        cfg.save = []           # no save points: FLUSHALL must not write dump.rdb
        self.server = Server(cfg)
        self.client = FakeClient(self.server)
        for k, v in config.items():
            self.call("CONFIG", "SET", k.replace("_", "-"), v)

    def call(self, *args) -> bytes:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.server.call_from(self.client, argv)
        return self.client.take_reply()

    def value(self, key: bytes, db: int = 0):
        return self.server.dbs[db].keys.get(key)


def content(v):
    """A plain-Python picture of a value (type, encoding, elements)."""
    from omakase.objects import encoding_name, type_name
    t = type_name(v)
    if t == "string":
        return t, None, string_value(v)       # embstr/raw is not serialized
    elif t == "list":
        body = v.ql.to_list()
    elif t == "set":
        body = sorted(v.members())
    elif t == "hash":
        body = sorted(v.items())
    elif t == "zset":
        body = v.items()
    else:
        body = repr(v)
    return t, encoding_name(v), body


def ziplist(values) -> bytes:
    """A ziplist (Redis <= 6) holding values (bytes, or int for integer
    entries in the smallest integer encoding)."""
    body = bytearray()
    prevlen = 0
    tail = 10
    for v in values:
        e = bytearray(bytes([prevlen]) if prevlen < 254 else b"\xfe" + struct.pack("<I", prevlen))
        if isinstance(v, int):
            if 0 <= v <= 12:
                e.append(0xF1 + v)
            elif -128 <= v <= 127:
                e += b"\xfe" + struct.pack("<b", v)
            elif -32768 <= v <= 32767:
                e += b"\xc0" + struct.pack("<h", v)
            elif -(1 << 23) <= v < (1 << 23):
                e += b"\xf0" + v.to_bytes(3, "little", signed=True)
            elif -(1 << 31) <= v < (1 << 31):
                e += b"\xd0" + struct.pack("<i", v)
            else:
                e += b"\xe0" + struct.pack("<q", v)
        else:
            n = len(v)
            if n < 64:
                e.append(n)
            elif n < 16384:
                e += bytes((0x40 | (n >> 8), n & 0xFF))
            else:
                e += b"\x80" + struct.pack(">I", n)
            e += v
        tail = 10 + len(body)
        body += e
        prevlen = len(e)
    return struct.pack("<IIH", 10 + len(body) + 1, tail, min(len(values), 0xFFFF)) \
        + bytes(body) + b"\xff"


def zipmap(pairs) -> bytes:
    """A zipmap (Redis <= 2.4 hashes)."""
    def enc(n: int) -> bytes:
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)
    out = bytearray([len(pairs) if len(pairs) < 254 else 254])
    for f, v in pairs:
        out += enc(len(f)) + f + enc(len(v)) + b"\x00" + v
    out.append(0xFF)
    return bytes(out)


def rdb_string(s: bytes) -> bytes:
    out = bytearray()
    rdb.save_string(out, s, False)
    return bytes(out)


def rdb_len(n: int) -> bytes:
    out = bytearray()
    rdb.save_len(out, n)
    return bytes(out)


def payload(type_byte: int, body: bytes, version: int = 10) -> bytes:
    """A DUMP payload with a valid footer."""
    data = bytes([type_byte]) + body + struct.pack("<H", version)
    return data + struct.pack("<Q", rdb.crc64(data))


def old_payloads() -> dict[str, tuple[bytes, tuple]]:
    """Old encodings Redis 7.0 still reads: name -> (payload, expected
    (type, elements))."""
    big = 1 << 40
    zl_list = [b"a", 5, -100, 1000, 70000, 1 << 30, big, b"x" * 70, b"-12", b""]
    list_vals = [b"a", b"5", b"-100", b"1000", b"70000", b"%d" % (1 << 30), b"%d" % big,
                 b"x" * 70, b"-12", b""]
    return {
        "list_ziplist": (payload(10, rdb_string(ziplist(zl_list)), 7), ("list", list_vals)),
        "list_quicklist_v1": (
            payload(14, rdb_len(2) + rdb_string(ziplist(zl_list[:4]))
                    + rdb_string(ziplist(zl_list[4:])), 9), ("list", list_vals)),
        "list_linked": (payload(1, rdb_len(3) + b"".join(rdb_string(v) for v in
                                                        (b"a", b"12", b"z" * 30))),
                        ("list", [b"a", b"12", b"z" * 30])),
        "hash_ziplist": (payload(13, rdb_string(ziplist([b"f1", b"v1", b"n", 7, b"e", b""]))),
                         ("hash", sorted([(b"f1", b"v1"), (b"n", b"7"), (b"e", b"")]))),
        "hash_zipmap": (payload(9, rdb_string(zipmap([(b"a", b"1"), (b"bb", b"x" * 10),
                                                      (b"c", b"")])), 2),
                        ("hash", [(b"a", b"1"), (b"bb", b"x" * 10), (b"c", b"")])),
        "zset_ziplist": (payload(12, rdb_string(ziplist([b"a", 1, b"b", b"2.5", b"c", 3]))),
                         ("zset", [(b"a", 1.0), (b"b", 2.5), (b"c", 3.0)])),
        "zset_text_scores": (
            payload(3, rdb_len(3) + rdb_string(b"m1") + b"\x031.5" + rdb_string(b"m2")
                    + b"\xfe" + rdb_string(b"m3") + b"\xff", 6),
            ("zset", [(b"m3", float("-inf")), (b"m1", 1.5), (b"m2", float("inf"))])),
        "set_plain_ints": (payload(2, rdb_len(3) + b"".join(rdb_string(v) for v in
                                                           (b"3", b"1", b"2"))),
                           ("set", [b"1", b"2", b"3"])),
        "set_plain_mixed": (payload(2, rdb_len(2) + rdb_string(b"1") + rdb_string(b"a")),
                            ("set", [b"1", b"a"])),
    }


@pytest.fixture(scope="module")
def local():
    return Local()


@pytest.fixture
def loc(local):
    local.call("FLUSHALL")
    for name, value in (("hash-max-listpack-entries", 128), ("hash-max-listpack-value", 64),
                        ("zset-max-listpack-entries", 128), ("zset-max-listpack-value", 64),
                        ("set-max-intset-entries", 512), ("list-max-listpack-size", -2),
                        ("list-compress-depth", 0), ("rdbcompression", "yes"),
                        ("maxmemory-policy", "noeviction"),
                        ("sanitize-dump-payload", "no")):
        local.call("CONFIG", "SET", name, value)
    local.server.skip_checksum_validation = 0
    return local


# ---------------------------------------------------------------------------
# Primitives
# ---------------------------------------------------------------------------
def test_crc64_vector():
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert rdb.crc64(b"6789", rdb.crc64(b"12345")) == 0xE9C6D914C4B8D9CA


@pytest.mark.parametrize("n,encoded", [
    (0, b"\x00"), (63, b"\x3f"), (64, b"\x40\x40"), (16383, b"\x7f\xff"),
    (16384, b"\x80\x00\x00\x40\x00"), (0xFFFFFFFF, b"\x80\xff\xff\xff\xff"),
    (1 << 32, b"\x81\x00\x00\x00\x01\x00\x00\x00\x00"),
])
def test_len_encoding(n, encoded):
    assert rdb_len(n) == encoded
    assert rdb.Reader(encoded).read_len() == n


@pytest.mark.parametrize("s,encoded", [
    (b"0", b"\xc0\x00"), (b"-128", b"\xc0\x80"), (b"127", b"\xc0\x7f"),
    (b"128", b"\xc1\x80\x00"), (b"-32768", b"\xc1\x00\x80"), (b"32768", b"\xc2\x00\x80\x00\x00"),
    (b"-2147483648", b"\xc2\x00\x00\x00\x80"), (b"2147483648", b"\x0a2147483648"),
    (b"012", b"\x03012"), (b"-0", b"\x02-0"), (b"+1", b"\x02+1"), (b"", b"\x00"),
])
def test_string_int_encodings(s, encoded):
    assert rdb_string(s) == encoded
    assert rdb.Reader(encoded).read_string() == s


def test_lzf_strings():
    out = bytearray()
    rdb.save_string(out, b"a" * 30, True)
    assert bytes(out) == b"\xc3\x09\x1e\x01aa\xe0\x11\x00\x01aa"    # as redis-server
    assert rdb.Reader(bytes(out)).read_string() == b"a" * 30
    short = bytearray()
    rdb.save_string(short, b"a" * 20, True)            # never compressed at <= 20
    assert bytes(short) == b"\x14" + b"a" * 20
    noisy = random.Random(1).randbytes(100)
    out = bytearray()
    rdb.save_string(out, noisy, True)                  # incompressible: verbatim
    assert bytes(out) == b"\x40\x64" + noisy


@SETTINGS
@given(st.binary(max_size=300), st.booleans())
def test_string_round_trip(s, compress):
    out = bytearray()
    rdb.save_string(out, s, compress)
    r = rdb.Reader(bytes(out))
    assert r.read_string() == s
    assert r.offset == len(out)


def test_corrupt_lzf_and_lengths():
    for data in (b"\xc3\x05\x1e\x01aa\xe0\x11", b"\xc3\x09\x40\x01aa\xe0\x11\x00\x01aa",
                 b"\xc3\x02\xff\x7f\x00\x00", b"\xc4", b"\x82\x00", b"\x45", b"\x80\xff\xff\xff\xff"):
        with pytest.raises(RdbError):
            rdb.Reader(data).read_string()


# ---------------------------------------------------------------------------
# Values: every type and encoding, round trips
# ---------------------------------------------------------------------------
MEMBERS = st.one_of(st.binary(max_size=12), st.integers(-(1 << 63), (1 << 63) - 1).map(
    lambda i: b"%d" % i), st.sampled_from([b"1", b"-1", b"0", b"x" * 80, b"12345678901"]))


def round_trip(loc, key: bytes):
    v = loc.value(key)
    data = rdb.dump_value(v, loc.server)
    v2 = rdb.restore_value(loc.server, data)
    assert content(v2) == content(v)
    if content(v)[1] != "hashtable":        # a hash table's order is its own
        assert rdb.dump_value(v2, loc.server) == data
    assert rdb.saved_object_len(loc.server, v) == len(data) - 1
    return data


@SETTINGS
@given(st.lists(MEMBERS, min_size=1, max_size=60), st.sampled_from([-2, -1, 1, 3, 8]),
       st.sampled_from([0, 1, 2]), st.booleans())
def test_list_round_trip(loc, items, fill, depth, compression):
    loc.call("FLUSHALL")
    loc.call("CONFIG", "SET", "list-max-listpack-size", fill)
    loc.call("CONFIG", "SET", "list-compress-depth", depth)
    loc.call("CONFIG", "SET", "rdbcompression", "yes" if compression else "no")
    loc.call("RPUSH", "l", *items)
    data = round_trip(loc, b"l")
    assert data[0] == 18


def test_list_plain_nodes(loc):
    from omakase.encodings.quicklist import get_packed_threshold, set_packed_threshold
    old = get_packed_threshold()
    set_packed_threshold(50)
    try:
        loc.call("RPUSH", "l", "a", "b" * 60, "c", "d" * 200)
        v = loc.value(b"l")
        assert any(c == 1 for c, _ in v.ql.nodes())
        round_trip(loc, b"l")
    finally:
        set_packed_threshold(old)


@SETTINGS
@given(st.lists(MEMBERS, min_size=1, max_size=40), st.sampled_from([2, 8, 512]))
def test_set_round_trip(loc, members, maxints):
    loc.call("FLUSHALL")
    loc.call("CONFIG", "SET", "set-max-intset-entries", maxints)
    loc.call("SADD", "s", *members)
    data = round_trip(loc, b"s")
    assert data[0] == (11 if loc.value(b"s").encoding == "intset" else 2)


@SETTINGS
@given(st.dictionaries(MEMBERS, MEMBERS, min_size=1, max_size=30), st.sampled_from([4, 128]),
       st.sampled_from([8, 64]))
def test_hash_round_trip(loc, pairs, entries, value):
    loc.call("FLUSHALL")
    loc.call("CONFIG", "SET", "hash-max-listpack-entries", entries)
    loc.call("CONFIG", "SET", "hash-max-listpack-value", value)
    flat = [x for kv in pairs.items() for x in kv]
    loc.call("HSET", "h", *flat)
    data = round_trip(loc, b"h")
    assert data[0] == (16 if loc.value(b"h").encoding == "listpack" else 4)


SCORES = st.one_of(st.floats(allow_nan=False), st.integers(-(1 << 53), 1 << 53).map(float),
                   st.sampled_from([0.1, -0.0, 1e20, float("inf"), float("-inf")]))


@SETTINGS
@given(st.dictionaries(MEMBERS, SCORES, min_size=1, max_size=30), st.sampled_from([4, 128]),
       st.sampled_from([8, 64]))
def test_zset_round_trip(loc, pairs, entries, value):
    loc.call("FLUSHALL")
    loc.call("CONFIG", "SET", "zset-max-listpack-entries", entries)
    loc.call("CONFIG", "SET", "zset-max-listpack-value", value)
    for m, s in pairs.items():
        loc.call("ZADD", "z", repr(s) if s == s else "0", m)
    data = round_trip(loc, b"z")
    assert data[0] == (17 if loc.value(b"z").encoding == "listpack" else 5)


@SETTINGS
@given(MEMBERS | st.binary(max_size=200))
def test_string_value_round_trip(loc, s):
    loc.call("SET", "k", s)
    round_trip(loc, b"k")
    loc.call("SETRANGE", "k", 0, "")            # may turn it into a RawString
    loc.call("APPEND", "k", "tail")
    round_trip(loc, b"k")


def test_load_conversions_follow_config(loc):
    loc.call("RPUSH", "l", *range(10))
    loc.call("SADD", "s", *range(10))
    loc.call("HSET", "h", *[x for i in range(10) for x in (f"f{i}", i)])
    loc.call("ZADD", "z", *[x for i in range(10) for x in (i, f"m{i}")])
    dumps = {k: rdb.dump_value(loc.value(k), loc.server) for k in (b"l", b"s", b"h", b"z")}
    loc.call("CONFIG", "SET", "set-max-intset-entries", 5)
    loc.call("CONFIG", "SET", "hash-max-listpack-entries", 5)
    loc.call("CONFIG", "SET", "zset-max-listpack-entries", 5)
    s = loc.server
    assert rdb.restore_value(s, dumps[b"s"]).encoding == "hashtable"
    assert rdb.restore_value(s, dumps[b"h"]).encoding == "hashtable"
    assert rdb.restore_value(s, dumps[b"z"]).encoding == "skiplist"
    z = rdb.restore_value(s, dumps[b"z"])
    assert z.items() == [(b"m%d" % i, float(i)) for i in range(10)]
    # and back: a ZSET_2 payload small enough becomes a listpack
    loc.call("CONFIG", "SET", "zset-max-listpack-entries", 128)
    skip = rdb.dump_value(z, s)
    assert skip[0] == 5
    assert rdb.restore_value(s, skip).encoding == "listpack"


@pytest.mark.parametrize("name", sorted(old_payloads()))
def test_old_encodings(loc, name):
    data, (tname, expected) = old_payloads()[name]
    assert rdb.verify_dump_payload(data)
    v = rdb.restore_value(loc.server, data)
    t, _, body = content(v)
    assert t == tname
    if tname in ("set", "hash"):
        assert body == sorted(expected)
    else:
        assert body == expected


def test_old_encodings_conversions(loc):
    loc.call("CONFIG", "SET", "hash-max-listpack-value", 5)
    data, _ = old_payloads()["hash_zipmap"]
    assert rdb.restore_value(loc.server, data).encoding == "hashtable"
    loc.call("CONFIG", "SET", "hash-max-listpack-entries", 2)
    data, _ = old_payloads()["hash_ziplist"]
    assert rdb.restore_value(loc.server, data).encoding == "hashtable"
    loc.call("CONFIG", "SET", "zset-max-listpack-entries", 2)
    data, _ = old_payloads()["zset_ziplist"]
    assert rdb.restore_value(loc.server, data).encoding == "skiplist"


@pytest.mark.parametrize("bad", [
    payload(13, rdb_string(ziplist([b"f", b"v", b"f", b"w"]))),     # duplicate field
    payload(13, rdb_string(ziplist([b"f", b"v", b"g"]))),            # odd count
    payload(9, rdb_string(zipmap([(b"a", b"1"), (b"a", b"2")]))),     # duplicate field
    payload(9, rdb_string(b"\x00\xff")),                             # empty zipmap
    payload(2, rdb_len(2) + rdb_string(b"a") + rdb_string(b"a")),     # duplicate member
    payload(2, rdb_len(2) + rdb_string(b"1") + rdb_string(b"1")),
    payload(5, rdb_len(1) + rdb_string(b"a") + struct.pack("<d", float("nan"))),
    payload(5, rdb_len(2) + rdb_string(b"a") + struct.pack("<d", 1.0) + rdb_string(b"a")
            + struct.pack("<d", 2.0)),
    payload(4, rdb_len(2) + rdb_string(b"f") + rdb_string(b"1") + rdb_string(b"f")
            + rdb_string(b"2")),
    payload(18, rdb_len(1) + rdb_len(3) + rdb_string(b"x")),         # bad container
    payload(18, rdb_len(1) + rdb_len(2) + rdb_string(b"")),          # empty node
    payload(11, rdb_string(b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00")),  # unsorted
    payload(11, rdb_string(b"\x02\x00\x00\x00\x00\x00\x00\x00")),    # empty intset
    payload(16, rdb_string(b"\x07\x00\x00\x00\x00\x00\xff")),        # empty: "Bad data format"
    payload(16, rdb_string(b"\x0b\x00\x00\x00\x01\x00\x81a\x02\xff" + b"\x00")),  # bad size
    payload(0, b""),                                                 # truncated
    payload(15, rdb_len(0)),                                         # stream: not yet
    payload(7, rdb_len(0)),                                          # module
    payload(8, b""),                                                 # not a type
])
def test_corrupt_values(loc, bad):
    with pytest.raises(RdbError):
        rdb.restore_value(loc.server, bad)


def test_restore_validates_listpacks_deeply(loc):
    loc.call("HSET", "h", "a", "1", "b", "2")
    data = bytearray(rdb.dump_value(loc.value(b"h"), loc.server))
    # duplicate field (rename b -> a): valid listpack, invalid hash
    i = data.rindex(b"\x81b")
    data[i + 1] = ord("a")
    with pytest.raises(RdbError):
        rdb.restore_value(loc.server, bytes(data))
    loc.call("ZADD", "z", 1, "a", 2, "b")
    data = bytearray(rdb.dump_value(loc.value(b"z"), loc.server))
    i = data.index(b"\x81b\x02\x02\x01")
    data[i + 3] = 0                 # b's score 2 -> 0: pairs out of order
    with pytest.raises(RdbError):
        rdb.restore_value(loc.server, bytes(data))


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_payloads_never_give_broken_values(loc, data):
    loc.call("FLUSHALL")
    loc.call("RPUSH", "l", *range(20), "abc", "x" * 40)
    loc.call("HSET", "h", "a", 1, "b", "hello", "c", "x" * 30)
    loc.call("ZADD", "z", 1, "a", 2.5, "b", 3, "c")
    loc.call("SADD", "s", 1, 2, 3, 1000, 100000)
    loc.call("SADD", "t", "a", "b", "c")
    key = data.draw(st.sampled_from([b"l", b"h", b"z", b"s", b"t"]))
    good = bytearray(rdb.dump_value(loc.value(key), loc.server))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(good) - 1))
        good[i] = data.draw(st.integers(0, 255))
    try:
        v = rdb.restore_value(loc.server, bytes(good))
    except RdbError:
        return
    # Accepted: the value must be whole (serializes, reads back the same).
    again = rdb.dump_value(v, loc.server)
    assert content(rdb.restore_value(loc.server, again)) == content(v)


# ---------------------------------------------------------------------------
# Whole files
# ---------------------------------------------------------------------------
def build_dataset(loc):
    loc.call("SET", "s", "hello")
    loc.call("SET", "n", 42)
    loc.call("SET", "long", "y" * 200)
    loc.call("RPUSH", "l", *range(300))
    loc.call("SADD", "is", 1, 2, 3)
    loc.call("SADD", "hs", "a", "b")
    loc.call("HSET", "h", "f", "v")
    loc.call("ZADD", "z", 1, "a")
    loc.call("SET", "ttl", "v", "PX", 100000)
    loc.call("SELECT", 5)
    loc.call("SET", "other", "db5")
    loc.call("SELECT", 0)


def snapshot(server):
    return [{k: content(v) for k, v in db.keys.items()} for db in server.dbs]


def write(server, **kw) -> bytes:
    f = io.BytesIO()
    rdb.write_rdb(server, f, **kw)
    return f.getvalue()


def test_file_round_trip(loc):
    build_dataset(loc)
    data = write(loc.server, aux_extra={b"repl-id": b"x" * 40, b"repl-offset": b"123"})
    assert data.startswith(b"REDIS0010\xfa\x09redis-ver\x067.0.15")
    assert data[-8:] == struct.pack("<Q", rdb.crc64(data[:-8]))
    other = Local()
    stats = rdb.load_rdb(other.server, io.BytesIO(data))
    assert stats.keys_loaded == 10 and stats.keys_expired == 0
    assert stats.aux[b"repl-id"] == b"x" * 40 and stats.aux[b"aof-base"] == b"0"
    assert list(stats.aux) == [b"redis-ver", b"redis-bits", b"ctime", b"used-mem", b"repl-id",
                               b"repl-offset", b"aof-base"]
    assert snapshot(other.server) == snapshot(loc.server)
    ttl = other.server.dbs[0].get_expire(b"ttl")
    assert ttl == loc.server.dbs[0].get_expire(b"ttl")
    # a file without a checksum
    loc.server.config.rdbchecksum = False         # immutable: set as at start-up
    try:
        plain = write(loc.server)
    finally:
        loc.server.config.rdbchecksum = True
    assert plain[-8:] == b"\0" * 8
    rdb.load_rdb(Local().server, io.BytesIO(plain))


def test_file_written_in_chunks(loc):
    loc.call("DEBUG", "POPULATE", 20000, "key", 10)
    writes = []

    class Sink:
        def write(self, b):
            writes.append(bytes(b))

    rdb.write_rdb(loc.server, Sink())
    assert 4 < len(writes) < 40
    data = b"".join(writes)
    other = Local()
    assert rdb.load_rdb(other.server, io.BytesIO(data)).keys_loaded == 20000


def test_expired_keys_skipped_on_master_kept_on_replica(loc):
    loc.call("SET", "gone", "v", "PX", 10000)
    loc.call("SET", "stay", "v")
    loc.server.dbs[0].set_expire(b"gone", int(time.time() * 1000) - 1000)
    data = write(loc.server)
    other = Local()
    stats = rdb.load_rdb(other.server, io.BytesIO(data))
    assert (stats.keys_loaded, stats.keys_expired) == (1, 1)
    assert other.value(b"gone") is None
    stats = rdb.load_rdb(other.server, io.BytesIO(data), keep_expired=True)
    assert (stats.keys_loaded, stats.keys_expired) == (2, 0)


def test_lru_and_lfu_opcodes(loc):
    loc.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    loc.call("SET", "a", "1")
    loc.call("HSET", "h", "f", "v")
    srv = loc.server
    srv.dbs[0].keys.set(b"a", b"1" + ((srv.lru_clock - 100) & 0xFFFFFF).to_bytes(3, "little"))
    srv.dbs[0].keys.get(b"h").lru = (srv.lru_clock - 50) & 0xFFFFFF
    data = write(srv)
    assert b"\xf8" in data
    other = Local(maxmemory_policy="allkeys-lru")
    rdb.load_rdb(other.server, io.BytesIO(data))
    assert int(other.call("OBJECT", "IDLETIME", "a")[1:-2]) in range(99, 103)
    assert int(other.call("OBJECT", "IDLETIME", "h")[1:-2]) in range(49, 53)

    loc.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    from omakase.evict import lfu_minutes
    srv.dbs[0].keys.get(b"h").lru = (lfu_minutes() << 8) | 77
    data = write(srv)
    other = Local(maxmemory_policy="allkeys-lfu")
    rdb.load_rdb(other.server, io.BytesIO(data))
    assert other.call("OBJECT", "FREQ", "h") == b":77\r\n"


def test_truncated_files_raise_and_keep_dataset(loc):
    build_dataset(loc)
    data = write(loc.server)
    other = Local()
    other.call("SET", "keep", "me")
    before = snapshot(other.server)
    for n in list(range(0, len(data), 7)) + [len(data) - 1]:
        with pytest.raises(RdbError):
            rdb.load_rdb(other.server, io.BytesIO(data[:n]))
        assert snapshot(other.server) == before


def test_bit_flips_raise_and_keep_dataset(loc):
    build_dataset(loc)
    data = write(loc.server)
    other = Local()
    other.call("SET", "keep", "me")
    before = snapshot(other.server)
    rng = random.Random(7)
    for _ in range(300):
        bad = bytearray(data)
        i = rng.randrange(len(bad))
        bad[i] ^= 1 << rng.randrange(8)
        with pytest.raises(RdbError):
            rdb.load_rdb(other.server, io.BytesIO(bytes(bad)))
        assert snapshot(other.server) == before


def test_skip_checksum_validation(loc):
    loc.call("SET", "a", "b")
    data = bytearray(write(loc.server))
    data[-1] ^= 0xFF
    other = Local()
    with pytest.raises(RdbError, match="CRC"):
        rdb.load_rdb(other.server, io.BytesIO(bytes(data)))
    other.server.skip_checksum_validation = 1
    assert rdb.load_rdb(other.server, io.BytesIO(bytes(data))).keys_loaded == 1


def test_file_header_errors(loc):
    other = Local()
    for bad, msg in ((b"RUBBISH00", "signature"), (b"REDIS0011" + b"\xff" + b"\0" * 8, "version"),
                     (b"REDIS0010\xfe\x40\x40\xff", "databases"), (b"REDIS0010\xf7", "module"),
                     (b"REDIS0010\x14\x01a", "Unknown")):
        with pytest.raises(RdbError, match=msg):
            rdb.load_rdb(other.server, io.BytesIO(bad))


def test_old_file_versions_and_opcodes(loc):
    """A version-6 style file: EXPIRETIME (seconds), a ziplist list, text
    zset scores, and an RDB without AUX fields."""
    body = bytearray(b"REDIS0006\xfe\x00")
    body += b"\xfd" + struct.pack("<i", int(time.time()) + 1000)
    body += b"\x00" + rdb_string(b"k") + rdb_string(b"v")
    body += b"\x0a" + rdb_string(b"l") + rdb_string(ziplist([b"a", 1]))
    body += b"\x03" + rdb_string(b"z") + rdb_len(1) + rdb_string(b"m") + b"\x012"
    body += b"\xff"
    body += struct.pack("<Q", rdb.crc64(bytes(body)))
    other = Local()
    stats = rdb.load_rdb(other.server, io.BytesIO(bytes(body)))
    assert stats.keys_loaded == 3 and stats.rdb_version == 6
    assert other.call("TTL", "k") in (b":1000\r\n", b":999\r\n")
    assert other.call("LRANGE", "l", 0, -1) == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert other.call("ZSCORE", "z", "m") == b"$1\r\n2\r\n"


def test_empty_keys_are_skipped_and_duplicates_refused(loc):
    body = bytearray(b"REDIS0010\xfe\x00")
    body += b"\x12" + rdb_string(b"empty") + rdb_len(0)
    body += b"\x00" + rdb_string(b"a") + rdb_string(b"1")
    good = bytes(body) + b"\xff" + b"\0" * 8
    stats = rdb.load_rdb(Local().server, io.BytesIO(good))
    assert (stats.keys_loaded, stats.empty_keys_skipped) == (1, 1)
    dup = bytes(body) + b"\x00" + rdb_string(b"a") + rdb_string(b"2") + b"\xff" + b"\0" * 8
    with pytest.raises(RdbError, match="Duplicated key"):
        rdb.load_rdb(Local().server, io.BytesIO(dup))


# ---------------------------------------------------------------------------
# The loader's fast paths (short keys and strings straight from the buffer,
# lengths and LZF headers decoded inline, sets built in one pass)
# ---------------------------------------------------------------------------
def rdb_file(body: bytes) -> bytes:
    """A whole RDB file around ``body`` (db 0, no checksum)."""
    return b"REDIS0010\xfe\x00" + body + b"\xff" + b"\0" * 8


def lzf_string(s: bytes) -> bytes:
    out = bytearray()
    rdb.save_string(out, s, True)
    assert out[0] == 0xC3
    return bytes(out)


def load_error(data: bytes) -> RdbError:
    with pytest.raises(RdbError) as info:
        rdb.load_rdb(Local().server, io.BytesIO(data))
    return info.value


def test_fast_path_mixed_with_the_general_path(loc):
    loc.call("SET", "lzf", "a" * 30)                 # short LZF: inline
    loc.call("SET", "lzf2", "b" * 300)               # 14-bit lengths: general path
    loc.call("SET", "empty", "")
    loc.call("SET", "int", 12345)                    # integer encoded value
    loc.call("SET", 777, "integer-encoded key")
    loc.call("SET", "k" * 100, "long key")
    loc.call("SET", "ttl1", "v", "PX", 100000)       # EXPIRETIME_MS: general path
    loc.call("SET", "after-ttl", "v")
    loc.call("HSET", "h", *[f"f{i}" for i in range(40)])
    loc.call("RPUSH", "l", *[f"element-{i}" for i in range(50)])
    loc.call("SADD", "s", *[f"member-{i}" for i in range(10)])
    loc.call("ZADD", "z", *[x for i in range(10) for x in (i, f"zm-{i}")])
    loc.call("DEL", "ttl1")
    loc.call("SET", "ttl1", "v", "PX", 100000)
    data = write(loc.server)
    other = Local()
    assert rdb.load_rdb(other.server, io.BytesIO(data)).keys_loaded == 12
    assert snapshot(other.server) == snapshot(loc.server)
    assert other.server.dbs[0].get_expire(b"ttl1") == loc.server.dbs[0].get_expire(b"ttl1")
    assert other.server.dbs[0].get_expire(b"after-ttl") == -1


@pytest.mark.parametrize("chunk", [5, 64, 333])
def test_keys_across_read_chunks(loc, monkeypatch, chunk):
    build_dataset(loc)
    for i in range(40):
        loc.call("SET", f"s{i}", "x" * (i % 35) + "abcabcabcabcabcabcabcabc")
        loc.call("HSET", f"h{i}", "f", "v" * i)
    data = write(loc.server)
    monkeypatch.setattr(rdb, "READ_CHUNK", chunk)    # every key crosses a boundary somewhere
    other = Local()
    assert rdb.load_rdb(other.server, io.BytesIO(data)).keys_loaded == 90
    assert snapshot(other.server) == snapshot(loc.server)


@pytest.mark.parametrize("blob", [
    b"\xc3\x05\x1e\x01aa\xe0\x11",       # back reference past the output
    b"\xc3\x04\x10\x01aab",                # output shorter than its length
    b"\xc3\x02\x3f\x7f\x00",              # literal run past the input
    b"\xc3\x09\x40\x01aa\xe0\x11\x00\x01aa",  # 14-bit length, truncated input
])
def test_corrupt_lzf_in_a_file_is_an_rdb_error(blob):
    good = b"\x00" + rdb_string(b"first") + lzf_string(b"a" * 30)
    err = load_error(rdb_file(good + b"\x00" + rdb_string(b"bad") + blob + b"\x00" * 20))
    assert err.message == "Invalid LZF compressed string"
    with pytest.raises(RdbError, match="Invalid LZF"):
        rdb.Reader(blob + b"\x00" * 20).read_string()


def test_duplicate_keys_report_the_offset_of_the_key():
    head = b"\x00" + rdb_string(b"a") + rdb_string(b"1")
    for second in (b"\x00" + rdb_string(b"a") + lzf_string(b"x" * 30),       # fast, string
                   b"\x02" + rdb_string(b"a") + rdb_len(1) + rdb_string(b"m"),  # fast, reader
                   b"\xfc" + struct.pack("<q", 1 << 50) + b"\x00" + rdb_string(b"a")
                   + rdb_string(b"2")):                                       # general path
        data = rdb_file(head + head.replace(b"a", b"b") + second)
        err = load_error(data)
        assert err.message == "Duplicated key found in RDB file"
        assert err.offset == data.rindex(b"\x01a")      # the second key's name


def test_empty_values_after_a_key_are_skipped():
    body = b"\x00" + rdb_string(b"a") + rdb_string(b"1")
    body += b"\x12" + rdb_string(b"empty") + rdb_len(0)     # read by the fast path
    body += b"\x00" + rdb_string(b"b") + rdb_string(b"2")
    stats = rdb.load_rdb(Local().server, io.BytesIO(rdb_file(body)))
    assert (stats.keys_loaded, stats.empty_keys_skipped) == (2, 1)


@pytest.mark.parametrize("members,dup", [
    ([b"a", b"b", b"a", b"c"], 2),
    ([b"1", b"2", b"x", b"2", b"y"], 3),          # an integer seen while still an intset
    ([b"1", b"1", b"x"], 1),
    ([b"x", b"y"] + [b"m%d" % i for i in range(600)] + [b"x"], 602),  # over max intset entries
])
def test_set_duplicate_members_are_refused_where_they_are(loc, members, dup):
    body = rdb_len(len(members)) + b"".join(rdb_string(m) for m in members)
    data = payload(2, body)
    with pytest.raises(RdbError, match="Duplicate set members detected") as info:
        rdb.restore_value(loc.server, data)
    end = 1 + len(rdb_len(len(members))) + sum(len(rdb_string(m)) for m in members[:dup + 1])
    assert info.value.offset == end               # right after the repeated member


def test_sets_built_in_one_pass_keep_order_and_encoding(loc):
    def load(members):
        v = rdb.restore_value(loc.server, payload(2, rdb_len(len(members))
                                                  + b"".join(rdb_string(m) for m in members)))
        return v, content(v)[1]
    v, enc = load([b"3", b"-1", b"2"])
    assert enc == "intset" and sorted(v.members()) == [b"-1", b"2", b"3"]
    order = [b"1", b"3", b"x", b"y", b"-5", b"01", b"--1"]   # setTypeConvert's, then the file's
    v, enc = load([b"3", b"1", b"x", b"y", b"-5", b"01", b"--1"])
    assert enc == "hashtable" and sorted(v.members()) == sorted(order)
    for bucket in v.data.t0:
        assert list(bucket) == sorted(bucket, key=order.index)
    big = [b"m%d" % i for i in range(1000)]
    v, enc = load(big)
    from omakase.hashtable import buckets_for
    assert enc == "hashtable" and len(v.data) == 1000 and not v.data.rehashing
    assert len(v.data.t0) == buckets_for(1000)      # presized, as dictExpand does
    assert v.data.get(b"m999", 0) is None


def test_hash_listpack_converted_on_load_refuses_duplicates():
    from omakase.encodings.listpack import Listpack
    other = Local(hash_max_listpack_entries=1)

    def load(flat):
        return rdb.restore_value(other.server, payload(16, rdb_string(Listpack(flat).to_bytes())))
    h = load([b"f", b"1", b"g", b"2"])
    assert content(h) == ("hash", "hashtable", [(b"f", b"1"), (b"g", b"2")])
    with pytest.raises(RdbError, match="Duplicate hash fields detected"):
        load([b"f", b"1", b"f", b"2"])


def test_reader_inline_lengths_and_lzf_headers():
    for n in (0, 63, 64, 300, 16383, 16384, 1 << 20):
        r = rdb.Reader(rdb_len(n) + b"!")
        assert r.read_len() == n and r.byte() == ord("!")
    assert rdb.Reader(b"\xc5").read_len() == 5        # an encoded-value byte: its 6 bits
    with pytest.raises(RdbError, match="Unexpected EOF"):
        rdb.Reader(b"\x41").read_len()
    for s in (b"ab" * 100, b"abc" * 6000):            # 14-bit and 32-bit LZF lengths
        blob = lzf_string(s)
        r = rdb.Reader(blob + b"!")
        assert r.read_string() == s and r.byte() == ord("!")
        with pytest.raises(RdbError):
            rdb.Reader(blob[:-1]).read_string()
    r = rdb.Reader(rdb_string(b"a") + lzf_string(b"z" * 40) + rdb_string(b"c"))
    it = r.strings(3)
    assert next(it) == b"a" and r.offset == 2
    assert list(it) == [b"z" * 40, b"c"] and r.offset == len(r.buf)


LIB_CODE = b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"


def test_bad_library_in_file_fails_the_load(loc, tmp_path):
    loc.call("SET", "k", "v")
    path = tmp_path / "dump.rdb"
    with open(path, "wb") as f:
        rdb.write_rdb(loc.server, f, functions=[b"#!lua name=lib\nreturn 1"])
    other = Local()
    other.call("SET", "mine", "1")
    with open(path, "rb") as f, pytest.raises(rdb.RdbError, match="Failed loading library"):
        rdb.load_rdb(other.server, f)
    assert other.call("GET", "mine") == b"$1\r\n1\r\n"     # nothing installed


def test_progress_and_functions(loc, tmp_path):
    loc.call("DEBUG", "POPULATE", 5000, "key", 500)
    loc.call("CONFIG", "SET", "rdbcompression", "no")
    path = tmp_path / "dump.rdb"
    with open(path, "wb") as f:
        rdb.write_rdb(loc.server, f, functions=[LIB_CODE])
    seen = []
    other = Local()
    with open(path, "rb") as f:
        stats = rdb.load_rdb(other.server, f, progress=lambda done, total: seen.append(
            (done, total)))
    assert stats.functions == [LIB_CODE]
    from omakase.scripting.functions import libraries_code
    assert libraries_code(other.server) == [LIB_CODE]     # loaded, not only read
    assert seen and seen[-1][1] == path.stat().st_size and seen[-1][0] <= seen[-1][1]
