"""DEBUG DIGEST / DIGEST-VALUE: the same dataset gives the same digests."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.differential


def fill(r):
    r.rpush("l", *range(10))
    r.rpush("bl", *[f"x{i}" for i in range(700)])
    r.sadd("iset", 1, 2, 3)
    r.sadd("set", "a", "b", *[f"m{i}" for i in range(600)])
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.hset("bh", mapping={f"f{i}": i for i in range(600)})
    r.zadd("z", {"a": 1.5, "b": -2})
    r.zadd("bz", {f"m{i}": i / 7 for i in range(300)})
    r.set("k", "v")
    r.set("n", 42)
    r.set("t", "x", px=10_000_000)


def test_digests_match_for_every_type(r, o):
    fill(r)
    fill(o)
    assert r.execute_command("DEBUG", "DIGEST") == o.execute_command("DEBUG", "DIGEST")
    keys = ["l", "bl", "iset", "set", "h", "bh", "z", "bz", "k", "n", "t", "missing"]
    assert r.execute_command("DEBUG", "DIGEST-VALUE", *keys) == \
        o.execute_command("DEBUG", "DIGEST-VALUE", *keys)
