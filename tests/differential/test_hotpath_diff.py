"""The benchmark commands' fast paths, omakase vs Debian's redis-server 7.0.

LPUSH/RPUSH/LPOP/RPOP with one element, LRANGE, SADD/SPOP with one member
and HSET with one pair have inline fast paths (types/list.py, set.py,
hash.py; quicklist.py's push/pop).  These sequences mix them with values of
every listpack encoding (7-bit and 13-bit ints, int-looking strings that stay
strings, 6-bit / 12-bit strings, the 63/64 boundary, the empty string) and
with every way out of a fast path (a node that is full, a node with an offset
index, LZF-compressed interior nodes, intset/listpack encodings, conversions
at the thresholds), and compare raw replies, OBJECT ENCODING and DUMP bytes.
"""
from __future__ import annotations

import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rawclient import close_pairs, open_pairs  # noqa: E402

pytestmark = pytest.mark.differential

VALUES = ["xxx", "", "0", "7", "127", "128", "-1", "-4096", "4095", "4096", "70000",
          "-", "-0", "01", "+1", "1x", "x" * 20, "1" * 20, "1" * 21, "y" * 63,
          "y" * 64, "z" * 300, "9223372036854775807", "9223372036854775808"]


@pytest.fixture(scope="module")
def clients(server, oracle):
    pairs = open_pairs(server, oracle)
    yield pairs
    close_pairs(pairs, ("CONFIG", "SET", "list-max-listpack-size", "-2"),
                ("CONFIG", "SET", "list-compress-depth", "0"),
                ("CONFIG", "SET", "set-max-intset-entries", "512"),
                ("CONFIG", "SET", "hash-max-listpack-entries", "512"),
                ("CONFIG", "SET", "hash-max-listpack-value", "64"))


def _same(a, b, *cmd):
    ra = a.call(*cmd)
    rb = b.call(*cmd)
    assert ra == rb, f"{cmd!r}: omakase {ra!r} != redis {rb!r}"
    return ra


def _setup(a, b, **cfg):
    for c in (a, b):
        c.call("FLUSHALL")
        for name, value in cfg.items():
            c.call("CONFIG", "SET", name.replace("_", "-"), str(value))
        c.call("SET", "s", "string")


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("fill,depth", [(-2, 0), (5, 0), (-1, 1), (3, 1), (2, 2)])
def test_push_pop_sequences(clients, proto, fill, depth):
    a, b = clients[proto]
    _setup(a, b, list_max_listpack_size=fill, list_compress_depth=depth)
    rnd = random.Random(fill * 10 + depth)
    for step in range(1500):
        r = rnd.random()
        v = rnd.choice(VALUES) if rnd.random() < 0.5 else "xxx"
        if r < 0.3:
            _same(a, b, "LPUSH", "l", v)
        elif r < 0.6:
            _same(a, b, "RPUSH", "l", v)
        elif r < 0.75:
            _same(a, b, "LPOP", "l")
        elif r < 0.9:
            _same(a, b, "RPOP", "l")
        elif r < 0.93:
            _same(a, b, "LINDEX", "l", str(rnd.randrange(-40, 40)))   # may index a node
        elif r < 0.96:
            _same(a, b, "LRANGE", "l", "0", "99")
        else:
            _same(a, b, "LRANGE", "l", str(rnd.randrange(-200, 200)),
                  str(rnd.randrange(-200, 200)))
        if step % 100 == 0:
            _same(a, b, "LRANGE", "l", "0", "-1")
            if depth == 0:
                _same(a, b, "DUMP", "l")
    _same(a, b, "LRANGE", "l", "0", "-1")
    _same(a, b, "OBJECT", "ENCODING", "l")
    if depth == 0:
        _same(a, b, "DUMP", "l")
    for cmd in (("LPUSH", "s", "x"), ("RPUSH", "s", "x"), ("LPOP", "s"), ("RPOP", "s"),
                ("LRANGE", "s", "0", "99"), ("LRANGE", "l", "0", "x"), ("LPOP", "nokey"),
                ("RPOP", "nokey"), ("LRANGE", "nokey", "0", "99"), ("LPOP", "l", "0"),
                ("LRANGE", "l", "-9223372036854775808", "9223372036854775807")):
        _same(a, b, *cmd)
    while _same(a, b, "LPOP", "l") not in (b"$-1\r\n", b"_\r\n"):
        pass
    _same(a, b, "EXISTS", "l")


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("intset_max,ht", [(512, False), (16, False), (512, True)])
def test_sadd_spop_sequences(clients, proto, intset_max, ht):
    a, b = clients[proto]
    _setup(a, b, set_max_intset_entries=intset_max)
    rnd = random.Random(intset_max)
    members = ["%d" % i for i in range(300)]
    if ht:
        members = ["element:%d" % i for i in range(3000)]
    for step in range(2500):
        if rnd.random() < 0.8:
            _same(a, b, "SADD", "st", rnd.choice(members))
        else:
            _same(a, b, "SISMEMBER", "st", rnd.choice(members))
        if step % 250 == 0:
            _same(a, b, "OBJECT", "ENCODING", "st")
            _same(a, b, "SCARD", "st")
    card = int(_same(a, b, "SCARD", "st")[1:-2])
    # SPOP picks at random: compare what is left, not the picks.
    popped = set()
    for _ in range(card + 2):
        ra = a.call("SPOP", "st")
        rb = b.call("SPOP", "st")
        nil = ra in (b"$-1\r\n", b"_\r\n")
        assert nil == (rb in (b"$-1\r\n", b"_\r\n"))
        assert nil or ra not in popped
        popped.add(ra)
        if len(popped) % 300 == 0:
            _same(a, b, "SCARD", "st")
            _same(a, b, "OBJECT", "ENCODING", "st")
    _same(a, b, "EXISTS", "st")
    for cmd in (("SADD", "s", "x"), ("SPOP", "s"), ("SPOP", "nokey"), ("SADD", "n", "1"),
                ("SPOP", "n"), ("EXISTS", "n")):
        _same(a, b, *cmd)


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("entries,value", [(128, 64), (8, 64), (128, 4)])
def test_hset_sequences(clients, proto, entries, value):
    a, b = clients[proto]
    _setup(a, b, hash_max_listpack_entries=entries, hash_max_listpack_value=value)
    rnd = random.Random(entries + value)
    for step in range(2000):
        f = "element:%d" % rnd.randrange(400)
        _same(a, b, "HSET", "h", f, rnd.choice(VALUES))
        if step % 200 == 0:
            _same(a, b, "OBJECT", "ENCODING", "h")
            _same(a, b, "HLEN", "h")
            if _same(a, b, "OBJECT", "ENCODING", "h") in (b"$8\r\nlistpack\r\n", b"+listpack\r\n"):
                _same(a, b, "DUMP", "h")
    for i in range(0, 400, 7):
        _same(a, b, "HGET", "h", "element:%d" % i)
    for cmd in (("HSET", "s", "f", "v"), ("HSET", "h", "f"), ("HSET", "h", "a", "1", "b", "2"),
                ("HSET", "n", "f", "v"), ("OBJECT", "ENCODING", "n"), ("DUMP", "n")):
        _same(a, b, *cmd)
