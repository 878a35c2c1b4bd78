"""TTL commands (expire.c) and expiry itself, through redis-py.

EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX/XX/GT/LT and their errors, TTL
PTTL EXPIRETIME PEXPIRETIME PERSIST; lazy expiry on access; the active
expire cycle reclaiming keys nobody touches, and DEBUG SET-ACTIVE-EXPIRE 0
stopping it.  Everything asserted is Redis 7.0's behaviour (the file passes
with ``--redis-url`` against Debian's redis-server).
"""
from __future__ import annotations

import time

import pytest

from helpers import err, wait_for


@pytest.fixture
def no_active_expire(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    yield r
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


# -- setting TTLs ----------------------------------------------------------------
def test_expire_and_ttl(r):
    r.set("k", "v")
    assert r.ttl("k") == -1 and r.pttl("k") == -1
    assert r.ttl("nokey") == -2 and r.pttl("nokey") == -2
    assert r.expire("k", 100) is True
    assert r.ttl("k") == 100
    assert 99000 < r.pttl("k") <= 100000
    assert r.pexpire("k", 50000) is True
    assert 49000 < r.pttl("k") <= 50000
    assert r.expire("nokey", 100) is False
    assert r.pexpire("nokey", 100) is False


def test_expireat_and_expiretime(r):
    r.set("k", "v")
    at = int(time.time()) + 1000
    assert r.expireat("k", at) is True
    assert r.expiretime("k") == at
    assert r.pexpiretime("k") == at * 1000
    assert r.execute_command("EXPIRETIME", "nokey") == -2
    r.set("p", "v")
    assert r.execute_command("EXPIRETIME", "p") == -1
    assert r.execute_command("PEXPIRETIME", "p") == -1
    ms = (int(time.time()) + 1000) * 1000 + 1500
    assert r.pexpireat("p", ms) is True
    assert r.pexpiretime("p") == ms
    # EXPIRETIME rounds to the nearest second, as TTL does
    assert r.expiretime("p") == (ms + 500) // 1000
    r.pexpireat("p", ms - 1000 + 499)
    assert r.expiretime("p") == (ms - 1000 + 499 + 500) // 1000


def test_ttl_rounds_to_nearest_second(r):
    r.set("k", "v")
    r.pexpire("k", 1800)
    assert r.ttl("k") == 2
    r.pexpire("k", 1200)
    assert r.ttl("k") == 1
    r.pexpire("k", 400)
    assert r.ttl("k") == 0


def test_past_time_deletes(r):
    for args in (("EXPIRE", -1), ("PEXPIRE", 0), ("EXPIREAT", 1), ("PEXPIREAT", 1),
                 ("EXPIREAT", int(time.time()) - 10), ("EXPIRE", 0)):
        r.set("k", "v")
        assert r.execute_command(args[0], "k", args[1]) == 1
        assert r.exists("k") == 0
        assert r.ttl("k") == -2


def test_persist(r):
    r.set("k", "v", ex=100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.persist("k") is False
    assert r.persist("nokey") is False


def test_negative_large_values_and_zero_relative(r):
    r.set("k", "v")
    assert r.execute_command("EXPIRE", "k", -9223372036854775) == 1    # huge negative ok
    assert r.exists("k") == 0


# -- NX / XX / GT / LT --------------------------------------------------------------
@pytest.mark.parametrize("cmd,unit", [("EXPIRE", 1), ("PEXPIRE", 1000)])
def test_nx_xx(r, cmd, unit):
    r.set("k", "v")
    assert r.execute_command(cmd, "k", 100 * unit, "XX") == 0
    assert r.ttl("k") == -1
    assert r.execute_command(cmd, "k", 100 * unit, "NX") == 1
    assert r.execute_command(cmd, "k", 200 * unit, "NX") == 0
    assert r.ttl("k") == 100
    assert r.execute_command(cmd, "k", 200 * unit, "xx") == 1
    assert r.ttl("k") == 200


@pytest.mark.parametrize("cmd,unit", [("EXPIRE", 1), ("PEXPIRE", 1000)])
def test_gt_lt(r, cmd, unit):
    r.set("k", "v")
    # no TTL = infinite: GT never passes, LT always does
    assert r.execute_command(cmd, "k", 100 * unit, "GT") == 0
    assert r.ttl("k") == -1
    assert r.execute_command(cmd, "k", 100 * unit, "LT") == 1
    assert r.ttl("k") == 100
    assert r.execute_command(cmd, "k", 200 * unit, "LT") == 0
    assert r.execute_command(cmd, "k", 50 * unit, "GT") == 0
    assert r.ttl("k") == 100
    assert r.execute_command(cmd, "k", 200 * unit, "GT") == 1
    assert r.ttl("k") == 200
    assert r.execute_command(cmd, "k", 150 * unit, "LT", "XX") == 1
    assert r.ttl("k") == 150
    assert r.execute_command(cmd, "k", 300 * unit, "gt", "xx") == 1
    assert r.ttl("k") == 300


def test_lt_with_past_time_deletes(r):
    r.set("k", "v", ex=100)
    assert r.execute_command("EXPIRE", "k", -1, "LT") == 1
    assert r.exists("k") == 0


def test_expireat_gt_lt(r):
    now = int(time.time())
    r.set("k", "v")
    assert r.execute_command("EXPIREAT", "k", now + 100, "NX") == 1
    assert r.execute_command("EXPIREAT", "k", now + 100, "GT") == 0     # equal: not greater
    assert r.execute_command("EXPIREAT", "k", now + 100, "LT") == 0     # equal: not less
    assert r.execute_command("PEXPIREAT", "k", (now + 101) * 1000, "GT") == 1
    assert r.expiretime("k") == now + 101


@pytest.mark.parametrize("opts", [("NX", "XX"), ("NX", "GT"), ("NX", "LT"), ("xx", "nx"),
                                  ("NX", "XX", "GT", "LT")])
def test_nx_incompatible(r, opts):
    r.set("k", "v")
    msg = "NX and XX, GT or LT options at the same time are not compatible"
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert err(r, cmd, "k", 100, *opts) == msg
        assert err(r, cmd, "nokey", "notanumber", *opts) == msg    # before the number


def test_gt_lt_incompatible(r):
    r.set("k", "v")
    assert err(r, "EXPIRE", "k", 100, "GT", "LT") == \
        "GT and LT options at the same time are not compatible"
    assert err(r, "PEXPIRE", "k", 100, "LT", "XX", "GT") == \
        "GT and LT options at the same time are not compatible"


def test_unsupported_option(r):
    r.set("k", "v")
    assert err(r, "EXPIRE", "k", 100, "FOO") == "Unsupported option FOO"
    assert err(r, "EXPIRE", "k", 100, "NX", "bar") == "Unsupported option bar"
    assert err(r, "PEXPIREAT", "k", "x", "EX") == "Unsupported option EX"
    assert r.ttl("k") == -1


def test_not_an_integer(r):
    r.set("k", "v")
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert err(r, cmd, "k", "1.5") == "value is not an integer or out of range"
        assert err(r, cmd, "k", "abc", "NX") == "value is not an integer or out of range"
        assert err(r, cmd, "k", "9223372036854775808") == \
            "value is not an integer or out of range"


def test_invalid_expire_time_overflow(r):
    r.set("k", "v")
    assert err(r, "EXPIRE", "k", 9223372036854775) == "invalid expire time in 'expire' command"
    assert err(r, "EXPIRE", "k", 9223372036854776) == "invalid expire time in 'expire' command"
    assert err(r, "EXPIRE", "k", -9223372036854776) == "invalid expire time in 'expire' command"
    assert err(r, "PEXPIRE", "k", 9223372036854775807) == \
        "invalid expire time in 'pexpire' command"
    assert err(r, "EXPIREAT", "k", 9223372036854775807) == \
        "invalid expire time in 'expireat' command"
    assert err(r, "EXPIREAT", "k", 9223372036854776) == \
        "invalid expire time in 'expireat' command"
    assert r.execute_command("PEXPIREAT", "k", 9223372036854775807) == 1
    assert r.ttl("k") > 10**9
    # checked even when the key does not exist
    assert err(r, "EXPIRE", "nokey", 9223372036854776) == \
        "invalid expire time in 'expire' command"


def test_arity(r):
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert err(r, cmd, "k") == f"wrong number of arguments for '{cmd.lower()}' command"
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST"):
        assert err(r, cmd) == f"wrong number of arguments for '{cmd.lower()}' command"
        assert err(r, cmd, "a", "b") == f"wrong number of arguments for '{cmd.lower()}' command"


def test_rename_keeps_ttl(r):
    r.set("a", "v", px=100000)
    r.rename("a", "b")
    assert 99000 < r.pttl("b") <= 100000


# -- lazy expiry -------------------------------------------------------------------
def test_lazy_expiry_on_access(no_active_expire):
    r = no_active_expire
    r.set("k", "v", px=50)
    r.set("other", "v", px=50)
    time.sleep(0.1)
    assert r.dbsize() == 2               # nobody touched them, active expiry off
    assert r.get("k") is None
    assert r.dbsize() == 1
    assert r.ttl("other") == -2
    assert r.dbsize() == 0


def test_expire_on_already_expired_key_is_zero(no_active_expire):
    r = no_active_expire
    r.set("k", "v", px=10)
    time.sleep(0.05)
    assert r.expire("k", 100) is False
    assert r.persist("k") is False
    assert r.exists("k") == 0


def test_debug_set_active_expire_off_keeps_keys(no_active_expire):
    r = no_active_expire
    p = r.pipeline(transaction=False)
    for i in range(2000):
        p.set(f"k{i}", 1, px=50)
    p.execute()
    time.sleep(0.6)
    assert r.dbsize() == 2000
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
    assert wait_for(lambda: r.dbsize() == 0, 3.0)


# -- active expiry -----------------------------------------------------------------
def test_active_expire_reclaims_10000_keys(r):
    info = r.info("stats")
    expired_before = info.get("expired_keys", 0)
    p = r.pipeline(transaction=False)
    for i in range(10000):
        p.set(f"vol:{i}", "x", px=100)
    r.set("persistent", "x")
    p.execute()
    start = time.time()
    assert wait_for(lambda: r.dbsize() == 1, 3.0), f"dbsize still {r.dbsize()}"
    elapsed = time.time() - start
    assert elapsed < 3.0
    assert r.exists("persistent") == 1
    if "expired_keys" in info:
        assert r.info("stats")["expired_keys"] - expired_before == 10000


def test_active_expire_other_databases(r):
    r.execute_command("SELECT", 9)
    try:
        p = r.pipeline(transaction=False)
        for i in range(500):
            p.set(f"k{i}", 1, px=50)
        p.execute()
        assert wait_for(lambda: r.dbsize() == 0, 3.0)
    finally:
        r.execute_command("SELECT", 0)


def test_active_expire_leaves_future_keys(r):
    p = r.pipeline(transaction=False)
    for i in range(300):
        p.set(f"short{i}", 1, px=50)
        p.set(f"long{i}", 1, ex=100)
    p.execute()
    assert wait_for(lambda: r.dbsize() == 300, 3.0)
    assert r.exists(*[f"long{i}" for i in range(300)]) == 300
