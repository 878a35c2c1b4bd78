"""Bitmap commands through redis-py: SETBIT GETBIT BITCOUNT BITPOS BITOP
BITFIELD BITFIELD_RO, their errors, encodings, events, dirty counting and
propagation (the last ones in process, through ``Server.call_from``)."""
from __future__ import annotations

import time

from helpers import err
from inproc import inproc_fixture, name_key

OFFSET_ERR = "bit offset is not an integer or out of range"
BIT_ERR = "bit is not an integer or out of range"
TYPE_ERR = ("Invalid bitfield type. Use something like i16 u8. "
            "Note that u64 is not supported but i64 is.")
NOT_INT = "value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


# -- SETBIT / GETBIT ------------------------------------------------------------
def test_setbit_getbit_basics(r):
    assert r.setbit("k", 7, 1) == 0
    assert r.get("k") == b"\x01"
    assert r.setbit("k", 7, 1) == 1
    assert r.setbit("k", 7, 0) == 1
    assert r.get("k") == b"\x00"
    assert r.setbit("k", 0, 1) == 0
    assert r.get("k") == b"\x80"
    assert r.setbit("k", 17, 1) == 0          # grows with zeros
    assert r.get("k") == b"\x80\x00\x40"
    assert r.strlen("k") == 3
    assert [r.getbit("k", i) for i in (0, 1, 17, 18, 100000)] == [1, 0, 1, 0, 0]
    assert r.getbit("nokey", 5) == 0
    assert r.exists("nokey") == 0


def test_setbit_on_existing_strings_and_encoding(r):
    r.set("i", "12345")
    assert r.object("encoding", "i") == b"int"
    assert r.getbit("i", 2) == 1                # '1' = 0x31 = 00110001
    assert r.setbit("i", 7, 0) == 1
    assert r.get("i") == b"02345"
    assert r.object("encoding", "i") == b"raw"
    r.set("e", "ab")
    r.setbit("e", 7, 1)                         # same value: still unshared
    assert r.object("encoding", "e") == b"raw"
    assert r.get("e") == b"ab"
    r.setbit("new", 3, 1)
    assert r.object("encoding", "new") == b"raw"


def test_setbit_keeps_ttl(r):
    r.set("k", "a", ex=100)
    r.setbit("k", 0, 1)
    assert 0 < r.ttl("k") <= 100


def test_setbit_getbit_errors(r):
    assert err(r, "SETBIT", "k", -1, 1) == OFFSET_ERR
    assert err(r, "SETBIT", "k", "x", 1) == OFFSET_ERR
    assert err(r, "SETBIT", "k", 4294967296, 1) == OFFSET_ERR
    assert err(r, "SETBIT", "k", "#1", 1) == OFFSET_ERR
    assert err(r, "SETBIT", "k", 1, 2) == BIT_ERR
    assert err(r, "SETBIT", "k", 1, -1) == BIT_ERR
    assert err(r, "SETBIT", "k", 1, "x") == BIT_ERR
    assert err(r, "GETBIT", "k", -1) == OFFSET_ERR
    assert err(r, "GETBIT", "k", 4294967296) == OFFSET_ERR
    assert err(r, "SETBIT", "k", 1) == "wrong number of arguments for 'setbit' command"
    assert r.exists("k") == 0
    r.lpush("l", "a")
    assert err(r, "SETBIT", "l", 1, 1) == WRONGTYPE
    assert err(r, "GETBIT", "l", 1) == WRONGTYPE
    assert err(r, "GETBIT", "l", -1) == OFFSET_ERR   # the offset is checked first
    assert r.getbit("k", 4294967295) == 0


def test_offset_limit_follows_proto_max_bulk_len(r):
    try:
        r.config_set("proto-max-bulk-len", "1mb")
        assert r.setbit("k", 8 * 1024 * 1024 - 1, 1) == 0
        assert r.strlen("k") == 1024 * 1024
        assert err(r, "SETBIT", "k", 8 * 1024 * 1024, 1) == OFFSET_ERR
        assert err(r, "BITFIELD", "k", "GET", "u8", "#1048576") == OFFSET_ERR
        assert r.bitfield("k").get("u8", "#1048575").execute() == [1]
    finally:
        r.config_set("proto-max-bulk-len", "512mb")


# -- BITCOUNT -------------------------------------------------------------------
def test_bitcount(r):
    r.set("s", "foobar")
    assert r.bitcount("s") == 26
    assert r.bitcount("s", 0, 0) == 4
    assert r.bitcount("s", 1, 1) == 6
    assert r.bitcount("s", 1, 1, "BIT") == 1
    assert r.bitcount("s", 5, 30, "bit") == 17
    assert r.bitcount("s", -2, -1) == 7
    assert r.bitcount("s", -3, -1, "BIT") == 1
    assert r.bitcount("s", 0, -1, "byte") == 26
    assert r.bitcount("s", 4, 2) == 0
    assert r.bitcount("s", 100, 200) == 0
    assert r.bitcount("s", -100, 100) == 26
    assert r.bitcount("nokey") == 0
    r.set("e", "")
    assert r.bitcount("e") == 0
    assert r.bitcount("e", 0, -1, "BIT") == 0


def test_bitcount_large_string_is_fast(r):
    r.setrange("big", 0, b"\xa5" * (4 * 1024 * 1024))
    t = time.perf_counter()
    assert r.bitcount("big") == 4 * 4 * 1024 * 1024
    assert r.bitcount("big", 3, -1, "BIT") == 4 * 4 * 1024 * 1024 - 2
    assert time.perf_counter() - t < 1.0


def test_bitcount_errors_and_argument_order(r):
    r.set("s", "foobar")
    r.lpush("l", "a")
    assert err(r, "BITCOUNT", "s", 0) == "syntax error"
    assert err(r, "BITCOUNT", "s", 0, 1, "BIT", "x") == "syntax error"
    assert err(r, "BITCOUNT", "s", 0, 1, "FOO") == "syntax error"
    assert err(r, "BITCOUNT", "s", "a", 1) == NOT_INT
    assert err(r, "BITCOUNT", "s", 1, "b") == NOT_INT
    # 7.0: both negative with start > end answers 0 before the unit is read
    assert r.execute_command("BITCOUNT", "s", -1, -2, "FOO") == 0
    # 7.0: the key is looked up first
    assert r.execute_command("BITCOUNT", "nokey", "a", "b", "c") == 0
    assert r.execute_command("BITCOUNT", "nokey", 1) == 0
    assert err(r, "BITCOUNT", "l", 0, 1, "FOO") == WRONGTYPE
    assert err(r, "BITCOUNT", "l") == WRONGTYPE
    assert err(r, "BITCOUNT") == "wrong number of arguments for 'bitcount' command"


# -- BITPOS ---------------------------------------------------------------------
def test_bitpos(r):
    r.set("k", b"\xff\xf0\x00")
    assert r.bitpos("k", 0) == 12
    assert r.bitpos("k", 1) == 0
    assert r.bitpos("k", 1, 2) == -1
    assert r.bitpos("k", 0, 2) == 16
    assert r.bitpos("k", 1, 1) == 8
    assert r.bitpos("k", 0, 1, -1, "BIT") == 12
    assert r.bitpos("k", 1, 13, -1, "bit") == -1
    assert r.bitpos("k", 1, 7, 9, "BIT") == 7
    assert r.bitpos("k", 0, 0, 3, "BIT") == -1
    assert r.bitpos("k", 0, -100, 100) == 12
    assert r.bitpos("k", 1, 3, 1) == -1
    assert r.bitpos("nokey", 1) == -1
    assert r.bitpos("nokey", 0) == 0


def test_bitpos_clear_bit_end_of_string(r):
    r.set("k", b"\xff\xff\xff")
    assert r.bitpos("k", 0) == 24               # zero padded on the right
    assert r.bitpos("k", 0, 1) == 24
    assert r.bitpos("k", 0, 0, -1) == -1        # an explicit end: not found
    assert r.bitpos("k", 0, 0, 100) == -1
    assert r.bitpos("k", 0, 0, -1, "BIT") == -1
    r.set("e", "")
    assert r.bitpos("e", 0) == -1
    assert r.bitpos("e", 1) == -1


def test_bitpos_large_string(r):
    n = 3 * 1024 * 1024
    r.setrange("big", n, b"\x01")
    assert r.bitpos("big", 1) == n * 8 + 7
    assert r.bitpos("big", 1, 0, -1, "BIT") == n * 8 + 7
    assert r.bitpos("big", 1, 5, n - 1) == -1
    r.set("ones", b"\xff" * n + b"\xfe")
    assert r.bitpos("ones", 0) == n * 8 + 7
    assert r.bitpos("ones", 0, 0, n - 1) == -1


def test_bitpos_errors(r):
    r.set("k", "a")
    r.lpush("l", "a")
    assert err(r, "BITPOS", "k", 2) == "The bit argument must be 1 or 0."
    assert err(r, "BITPOS", "k", "x") == NOT_INT
    assert err(r, "BITPOS", "l", 2) == "The bit argument must be 1 or 0."
    assert err(r, "BITPOS", "l", 1) == WRONGTYPE
    assert err(r, "BITPOS", "k", 1, "a") == NOT_INT
    assert err(r, "BITPOS", "k", 1, 0, "b") == NOT_INT
    assert err(r, "BITPOS", "k", 1, 0, 1, "FOO") == "syntax error"
    assert err(r, "BITPOS", "k", 1, 0, "b", "FOO") == "syntax error"
    assert err(r, "BITPOS", "k", 1, 0, 1, "BIT", "x") == "syntax error"
    assert r.execute_command("BITPOS", "nokey", 1, "a", "b", "c") == -1
    assert err(r, "BITPOS", "k") == "wrong number of arguments for 'bitpos' command"


# -- BITOP ----------------------------------------------------------------------
def test_bitop(r):
    r.set("a", b"\x0f\xf0")
    r.set("b", b"\xff")
    assert r.bitop("AND", "d", "a", "b") == 2
    assert r.get("d") == b"\x0f\x00"
    assert r.object("encoding", "d") == b"raw"
    assert r.bitop("or", "d", "a", "b") == 2
    assert r.get("d") == b"\xff\xf0"
    assert r.bitop("XOR", "d", "a", "b", "a") == 2
    assert r.get("d") == b"\xff\x00"
    assert r.bitop("NOT", "d", "a") == 2
    assert r.get("d") == b"\xf0\x0f"
    assert r.bitop("AND", "d", "a", "nokey") == 2
    assert r.get("d") == b"\x00\x00"
    r.set("i", 12)
    assert r.bitop("OR", "d", "i") == 2
    assert r.get("d") == b"12"
    # in-place, with the destination among the sources
    assert r.bitop("NOT", "a", "a") == 2
    assert r.get("a") == b"\xf0\x0f"


def test_bitop_empty_result_deletes_destination(r):
    r.set("d", "x", ex=100)
    assert r.bitop("AND", "d", "nokey", "nokey2") == 0
    assert r.exists("d") == 0
    r.set("e", "")
    assert r.bitop("OR", "d", "e") == 0
    assert r.exists("d") == 0


def test_bitop_replaces_destination_and_ttl(r):
    r.lpush("d", "x")
    r.expire("d", 100)
    r.set("a", "z")
    assert r.bitop("OR", "d", "a") == 1
    assert r.type("d") == b"string"
    assert r.ttl("d") == -1


def test_bitop_large(r):
    n = 2 * 1024 * 1024
    r.setrange("a", 0, b"\x55" * n)
    r.setrange("b", 0, b"\x0f" * (n + 3))
    assert r.bitop("XOR", "d", "a", "b") == n + 3
    assert r.get("d") == b"\x5a" * n + b"\x0f" * 3


def test_bitop_errors(r):
    r.set("a", "x")
    r.lpush("l", "y")
    assert err(r, "BITOP", "NAND", "d", "a") == "syntax error"
    assert err(r, "BITOP", "NOT", "d", "a", "a") == \
        "BITOP NOT must be called with a single source key."
    assert err(r, "BITOP", "AND", "d", "a", "l") == WRONGTYPE
    assert err(r, "BITOP", "AND", "d") == "wrong number of arguments for 'bitop' command"
    assert r.exists("d") == 0
    assert r.bitop("AND", "l", "a") == 1        # a non-string destination is replaced
    assert r.get("l") == b"x"


# -- BITFIELD -------------------------------------------------------------------
def test_bitfield_get_set_incrby(r):
    assert r.execute_command("BITFIELD", "k", "SET", "u8", 0, 255, "GET", "u8", 0,
                             "GET", "i8", 0, "INCRBY", "u4", 4, 1,
                             "GET", "u8", 0) == [0, 255, -1, 0, 240]
    assert r.get("k") == b"\xf0"
    assert r.execute_command("BITFIELD", "k", "SET", "i5", "#2", 7,
                             "GET", "u16", 0) == [0, 0xf000 | (7 << 1)]
    word = 0xf00e << 48
    assert r.execute_command("BITFIELD", "k", "GET", "i64", 0, "GET", "u63", 1,
                             "GET", "u8", 1000) == [word - (1 << 64), word & ((1 << 63) - 1), 0]
    assert r.object("encoding", "k") == b"raw"


def test_bitfield_overflow_modes(r):
    cmd = ["BITFIELD", "k", "SET", "i8", 0, 127, "INCRBY", "i8", 0, 1,
           "OVERFLOW", "SAT", "INCRBY", "i8", 0, -200, "INCRBY", "i8", 0, 500,
           "OVERFLOW", "FAIL", "INCRBY", "i8", 0, 1, "INCRBY", "i8", 0, -1,
           "OVERFLOW", "WRAP", "SET", "i8", 0, 300]
    assert r.execute_command(*cmd) == [0, -128, -128, 127, None, 126, 126]
    assert r.get("k") == bytes([300 & 255])
    cmd = ["BITFIELD", "u", "SET", "u2", 0, 5, "GET", "u2", 0,
           "OVERFLOW", "SAT", "SET", "u2", 0, -1, "GET", "u2", 0, "INCRBY", "u2", 0, -7,
           "OVERFLOW", "FAIL", "INCRBY", "u2", 0, -1, "SET", "u2", 0, 4,
           "SET", "u2", 0, 2, "OVERFLOW", "WRAP", "INCRBY", "u2", 0, -3]
    assert r.execute_command(*cmd) == [0, 1, 1, 3, 0, None, None, 0, 3]


def test_bitfield_64_bit_limits(r):
    imax, imin = (1 << 63) - 1, -(1 << 63)
    assert r.execute_command("BITFIELD", "k", "INCRBY", "i64", 0, imax,
                             "INCRBY", "i64", 0, 1, "OVERFLOW", "SAT",
                             "INCRBY", "i64", 0, -1, "INCRBY", "i64", 0, imin,
                             "OVERFLOW", "FAIL", "INCRBY", "i64", 0, -1) == [
        imax, imin, imin, imin, None]
    assert r.execute_command("BITFIELD", "k", "SET", "u63", 0, -1,
                             "GET", "u63", 0) == [1 << 62, (1 << 63) - 1]


def test_bitfield_fail_still_creates_the_key(r):
    assert r.execute_command("BITFIELD", "k", "OVERFLOW", "FAIL",
                             "INCRBY", "u2", 10, 9) == [None]
    assert r.get("k") == b"\x00\x00"
    r.set("e", "ab")
    r.execute_command("BITFIELD", "e", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 999)
    assert r.object("encoding", "e") == b"raw"


def test_bitfield_read_only_paths(r):
    r.set("k", "ab")
    assert r.execute_command("BITFIELD", "k", "GET", "u8", 8) == [ord("b")]
    assert r.object("encoding", "k") == b"embstr"
    assert r.execute_command("BITFIELD", "nokey", "GET", "i8", 0) == [0]
    assert r.exists("nokey") == 0
    assert r.execute_command("BITFIELD", "k") == []
    assert r.execute_command("BITFIELD", "k", "OVERFLOW", "SAT") == []
    assert r.execute_command("BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i4", "#1") == [97, 1]
    assert r.execute_command("BITFIELD_RO", "k", "OVERFLOW", "FAIL",
                             "GET", "u8", 0) == [97]
    assert r.execute_command("BITFIELD_RO", "nokey", "GET", "u8", 0) == [0]
    assert r.execute_command("BITFIELD_RO", "k") == []


def test_bitfield_errors(r):
    r.set("k", "ab")
    r.lpush("l", "x")
    assert err(r, "BITFIELD", "k", "GET", "u64", 0) == TYPE_ERR
    assert err(r, "BITFIELD", "k", "GET", "i65", 0) == TYPE_ERR
    assert err(r, "BITFIELD", "k", "GET", "i0", 0) == TYPE_ERR
    assert err(r, "BITFIELD", "k", "GET", "x8", 0) == TYPE_ERR
    assert err(r, "BITFIELD", "k", "GET", "i08", 0) == TYPE_ERR
    assert err(r, "BITFIELD", "k", "GET", "", 0) == TYPE_ERR
    assert err(r, "BITFIELD", "k", "GET", "i8", -1) == OFFSET_ERR
    assert err(r, "BITFIELD", "k", "GET", "i8", "#-1") == OFFSET_ERR
    assert err(r, "BITFIELD", "k", "GET", "i8", "#x") == OFFSET_ERR
    assert err(r, "BITFIELD", "k", "GET", "i64", "#9223372036854775807") == OFFSET_ERR
    assert err(r, "BITFIELD", "k", "GET", "i8") == "syntax error"
    assert err(r, "BITFIELD", "k", "SET", "i8", 0) == "syntax error"
    assert err(r, "BITFIELD", "k", "FOO", "i8", 0) == "syntax error"
    assert err(r, "BITFIELD", "k", "OVERFLOW") == "syntax error"
    assert err(r, "BITFIELD", "k", "OVERFLOW", "FOO") == "Invalid OVERFLOW type specified"
    assert err(r, "BITFIELD", "k", "SET", "i8", 0, "x") == NOT_INT
    assert err(r, "BITFIELD", "k", "INCRBY", "i8", 0, "99999999999999999999") == NOT_INT
    # every operation is validated before anything runs
    assert err(r, "BITFIELD", "k", "SET", "u8", 0, 1, "GET", "u64", 0) == TYPE_ERR
    assert r.get("k") == b"ab"
    assert err(r, "BITFIELD", "l", "GET", "u8", 0) == WRONGTYPE
    assert err(r, "BITFIELD", "l", "SET", "u8", 0, 1) == WRONGTYPE
    assert err(r, "BITFIELD_RO", "l", "GET", "u8", 0) == WRONGTYPE
    assert err(r, "BITFIELD_RO", "k", "SET", "u8", 0, 1) == \
        "BITFIELD_RO only supports the GET subcommand"
    assert err(r, "BITFIELD_RO", "k", "GET", "u8", 0, "INCRBY", "u8", 0, 1) == \
        "BITFIELD_RO only supports the GET subcommand"
    assert err(r, "BITFIELD_RO", "l", "INCRBY", "u8", 0, 1) == \
        "BITFIELD_RO only supports the GET subcommand"
    assert err(r, "BITFIELD_RO", "k", "GET", "u64", 0) == TYPE_ERR
    assert r.get("k") == b"ab"


def test_bitfield_resp3_null(r3):
    assert r3.execute_command("BITFIELD", "k", "OVERFLOW", "FAIL",
                              "INCRBY", "u2", 0, 9, "GET", "u2", 0) == [None, 0]


def test_keyspace_events(r):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        p = r.pubsub()
        p.psubscribe("__keyevent@0__:*")
        assert p.get_message(timeout=1)["type"] == "psubscribe"
        r.setbit("k", 1, 1)
        r.setbit("k", 1, 1)                     # no change: no event
        r.execute_command("BITFIELD", "k", "INCRBY", "u8", 0, 1)
        r.execute_command("BITFIELD", "k", "GET", "u8", 0)
        r.bitop("NOT", "d", "k")
        r.bitop("AND", "d", "nokey")
        seen = []
        while True:
            m = p.get_message(timeout=0.5)
            if m is None:
                break
            seen.append((m["channel"].split(b":", 1)[1], m["data"]))
        assert seen == [(b"setbit", b"k"), (b"setbit", b"k"), (b"set", b"d"),
                        (b"del", b"d")]
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")


# -- in process: dirty, propagation, events, must-obey clients --------------------
inproc = inproc_fixture(event=name_key, with_dirty=True)


def test_dirty_and_propagation(inproc):
    d0 = inproc.server.dirty
    assert inproc("SETBIT", "k", 9, 1) == b":0\r\n"
    assert inproc.take() == ([[b"SETBIT", b"k", b"9", b"1"]], [("setbit", b"k")], d0 + 1)
    assert inproc("SETBIT", "k", 9, 1) == b":1\r\n"
    assert inproc.take() == ([], [], d0 + 1)
    assert inproc("SETBIT", "k", 9, 0) == b":1\r\n"
    assert inproc.take() == ([[b"SETBIT", b"k", b"9", b"0"]], [("setbit", b"k")], d0 + 2)
    assert inproc("SETBIT", "k", 100, 0) == b":0\r\n"     # grows: a change
    assert inproc.take()[2] == d0 + 3
    # BITFIELD: one dirty per changed field, propagated as sent
    cmd = ["BITFIELD", "k", "SET", "u8", 0, 1, "SET", "u8", 8, 0, "INCRBY", "u8", 0, 1,
           "GET", "u8", 0]
    assert inproc(*cmd) == b"*4\r\n:0\r\n:0\r\n:2\r\n:2\r\n"
    assert inproc.take() == ([[str(a).encode() for a in cmd]], [("setbit", b"k")], d0 + 5)
    assert inproc("BITFIELD", "k", "GET", "u8", 0) == b"*1\r\n:2\r\n"
    assert inproc.take() == ([], [], d0 + 5)
    # FAIL on a new key: created silently, not propagated
    assert inproc("BITFIELD", "n", "OVERFLOW", "FAIL", "INCRBY", "u1", 0, 5) == \
        b"*1\r\n$-1\r\n"
    assert inproc.take() == ([], [], d0 + 5)
    assert inproc("EXISTS", "n") == b":1\r\n"
    # BITOP: set or del
    assert inproc("BITOP", "NOT", "d", "k") == b":13\r\n"
    assert inproc.take() == ([[b"BITOP", b"NOT", b"d", b"k"]], [("set", b"d")], d0 + 6)
    assert inproc("BITOP", "OR", "d", "nokey") == b":0\r\n"
    assert inproc.take() == ([[b"BITOP", b"OR", b"d", b"nokey"]], [("del", b"d")], d0 + 7)
    assert inproc("BITOP", "OR", "d", "nokey") == b":0\r\n"
    assert inproc.take() == ([], [], d0 + 7)


def test_offset_limit_skipped_for_master(inproc):
    from omakase.networking import ClientFlag
    inproc.server.config.proto_max_bulk_len = 1024
    assert inproc("SETBIT", "k", 8192, 1).startswith(b"-ERR bit offset")
    inproc.client.flags |= ClientFlag.MASTER
    inproc("SETBIT", "k", 8192, 1)
    assert inproc("STRLEN", "k") == b":1025\r\n"
    assert inproc("BITFIELD", "k", "GET", "u8", "#1024") == b"*1\r\n:128\r\n"
