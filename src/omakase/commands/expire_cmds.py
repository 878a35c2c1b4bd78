"""TTL commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
PEXPIRETIME PERSIST (Redis's ``expire.c``: ``expireGenericCommand``,
``ttlGenericCommand``, ``persistCommand``).

``expire_generic`` follows ``expireGenericCommand`` step by step:

1. NX/XX/GT/LT flags (``parseExtendedExpireArgumentsOrReply``): an unknown
   word is "Unsupported option <word>"; NX with XX/GT/LT, or GT with LT, are
   refused -- all before the number is looked at;
2. the number (64-bit), scaled to ms for the second variants and added to
   the base time (now for relative commands); overflow either way is
   "invalid expire time in '<cmd>' command";
3. missing key -> 0; the NX/XX/GT/LT conditions (no TTL counts as an
   infinite TTL: GT never passes, LT always does) -> 0;
4. a time not in the future deletes the key (unless loading or a replica),
   propagated as DEL, or UNLINK under ``lazyfree-lazy-expire``, with a "del"
   notification; otherwise the TTL is set, an "expire" notification fires,
   and the command propagates as ``PEXPIREAT key <abs-ms> [flags]``
   (relative times must not be re-evaluated by a replica or an AOF reload).

TTL/PTTL/EXPIRETIME/PEXPIRETIME use a no-touch lookup that still counts
keyspace hits/misses (``LOOKUP_NOTOUCH``), answer -2 for a missing key, -1
without TTL; second-resolution answers are rounded to the nearest second
(``(ms + 500) / 1000``), EXPIRETIME included, as Redis does.
"""
from __future__ import annotations

import time
from typing import Any

from omakase import replies
from omakase.commands.generic import NOTIFY_GENERIC, db_delete
from omakase.commands.registry import command
from omakase.util import LLONG_MAX, LLONG_MIN, parse_ll

EXPIRE_NX = 1 << 0
EXPIRE_XX = 1 << 1
EXPIRE_GT = 1 << 2
EXPIRE_LT = 1 << 3

UNIT_SECONDS = 0
UNIT_MS = 1

# C's LLONG_MAX / 1000 and LLONG_MIN / 1000 (division truncates to zero).
_SEC_MAX = LLONG_MAX // 1000
_SEC_MIN = -(-LLONG_MIN // 1000)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_expire_flags(c: Any, argv: list[bytes], first: int = 3) -> int | None:
    """parseExtendedExpireArgumentsOrReply."""
    flags = 0
    for raw in argv[first:]:
        opt = raw.lower()
        if opt == b"nx":
            flags |= EXPIRE_NX
        elif opt == b"xx":
            flags |= EXPIRE_XX
        elif opt == b"gt":
            flags |= EXPIRE_GT
        elif opt == b"lt":
            flags |= EXPIRE_LT
        else:
            # %s of a C string: stops at the first NUL byte.
            c.add_reply_error("Unsupported option %s"
                              % raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape"))
            return None
    if flags & EXPIRE_NX and flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT):
        c.add_reply_error("NX and XX, GT or LT options at the same time are not compatible")
        return None
    if flags & EXPIRE_GT and flags & EXPIRE_LT:
        c.add_reply_error("GT and LT options at the same time are not compatible")
        return None
    return flags


def check_already_expired(server: Any, when: int, basetime: int) -> bool:
    """checkAlreadyExpired: never delete while loading or on a replica; the
    master's DEL will come.  Relative expiries compare with the base time
    they were computed from (Redis 7.2's commandTimeSnapshot; 7.0 reads the
    clock again, a race Redis's speed hides and ours would not: PEXPIRE k 1
    must set a TTL, not delete)."""
    limit = basetime or _now_ms()       # basetime 0: EXPIREAT/PEXPIREAT
    return when <= limit and not server.loading and not server.masterhost


def expire_generic(c: Any, argv: list[bytes], basetime: int, unit: int) -> None:
    flags = parse_expire_flags(c, argv)
    if flags is None:
        return
    ok, when = parse_ll(argv[2])
    if not ok:
        c.add_reply_error(replies.NOT_INTEGER)
        return
    name = c.cmd.fullname if c.cmd is not None else argv[0].decode().lower()
    if unit == UNIT_SECONDS:
        if when > _SEC_MAX or when < _SEC_MIN:
            c.add_reply_error(replies.INVALID_EXPIRE % name)
            return
        when *= 1000
    if when > LLONG_MAX - basetime:
        c.add_reply_error(replies.INVALID_EXPIRE % name)
        return
    when += basetime

    db = c.db
    key = argv[1]
    if db.lookup_write(key) is None:
        c.add_reply_int(0)
        return
    if flags:
        current = db.get_expire(key)
        if flags & EXPIRE_NX and current != -1:
            c.add_reply_int(0)
            return
        if flags & EXPIRE_XX and current == -1:
            c.add_reply_int(0)
            return
        if flags & EXPIRE_GT and (current == -1 or when <= current):
            c.add_reply_int(0)
            return
        if flags & EXPIRE_LT and current != -1 and when >= current:
            c.add_reply_int(0)
            return

    server = c.server
    if check_already_expired(server, when, basetime):
        lazy = bool(server.config.lazyfree_lazy_expire)
        db_delete(db, key, lazy)
        server.dirty += 1
        c.rewritten_argv = [b"UNLINK" if lazy else b"DEL", key]
        db.signal_modified_key(key)
        server.notify(NOTIFY_GENERIC, "del", key, db.id)
        c.add_reply_int(1)
        return
    db.set_expire(key, when)
    c.add_reply_int(1)
    if name != "pexpireat":
        c.rewritten_argv = [b"PEXPIREAT", key, b"%d" % when] + argv[3:]
    db.signal_modified_key(key)
    server.notify(NOTIFY_GENERIC, "expire", key, db.id)
    server.dirty += 1


@command("expire")
def expire_command(c: Any, argv: list[bytes]) -> None:
    expire_generic(c, argv, _now_ms(), UNIT_SECONDS)


@command("pexpire")
def pexpire_command(c: Any, argv: list[bytes]) -> None:
    expire_generic(c, argv, _now_ms(), UNIT_MS)


@command("expireat")
def expireat_command(c: Any, argv: list[bytes]) -> None:
    expire_generic(c, argv, 0, UNIT_SECONDS)


@command("pexpireat")
def pexpireat_command(c: Any, argv: list[bytes]) -> None:
    expire_generic(c, argv, 0, UNIT_MS)


def ttl_generic(c: Any, argv: list[bytes], output_ms: bool, output_abs: bool) -> None:
    db = c.db
    key = argv[1]
    if db.lookup(key, touch=False) is None:
        c.add_reply_int(-2)
        return
    expire = db.get_expire(key)
    if expire == -1:
        c.add_reply_int(-1)
        return
    ttl = expire if output_abs else expire - _now_ms()
    if ttl < 0:
        ttl = 0
    c.add_reply_int(ttl if output_ms else (ttl + 500) // 1000)


@command("ttl")
def ttl_command(c: Any, argv: list[bytes]) -> None:
    ttl_generic(c, argv, False, False)


@command("pttl")
def pttl_command(c: Any, argv: list[bytes]) -> None:
    ttl_generic(c, argv, True, False)


@command("expiretime")
def expiretime_command(c: Any, argv: list[bytes]) -> None:
    ttl_generic(c, argv, False, True)


@command("pexpiretime")
def pexpiretime_command(c: Any, argv: list[bytes]) -> None:
    ttl_generic(c, argv, True, True)


@command("persist")
def persist_command(c: Any, argv: list[bytes]) -> None:
    db = c.db
    key = argv[1]
    if db.lookup_write(key) is not None and db.remove_expire(key):
        db.signal_modified_key(key)
        c.server.notify(NOTIFY_GENERIC, "persist", key, db.id)
        c.server.dirty += 1
        c.add_reply_int(1)
    else:
        c.add_reply_int(0)
