"""OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP (Redis's
``objectCommand`` in ``object.c``).

Every subcommand looks the key up with ``objectCommandLookup``'s flags
(NOTOUCH | NONOTIFY): the LRU/LFU field is not refreshed (else IDLETIME would
always be 0), keyspace hits/misses are counted; a missing key is a null.

* ENCODING: ``objects.encoding_name``.
* REFCOUNT: values are not reference counted here; Redis's observable
  answers are reproduced: the shared integers 0..9999 (``shared.integers``,
  used unless maxmemory is set with an LRU/LFU policy) report
  ``OBJ_SHARED_REFCOUNT`` (INT_MAX), everything else 1.
* IDLETIME: ``estimateObjectIdleTime`` / 1000: seconds between the cached LRU
  clock and the value's 24-bit field, modulo the clock's wrap.  Refused
  under an LFU policy (the field holds a counter then).
* FREQ: ``LFUDecrAndReturn``: the 8-bit counter after decay.  Refused unless
  an LFU policy is selected.
"""
from __future__ import annotations

from typing import Any

from omakase.commands.registry import command
from omakase.evict import lfu_decr_and_return
from omakase.objects import (LRU_CLOCK_MAX, SHARED_REFCOUNT, encoding_name,
                             is_shared_integer, stored_lru)

LFU_POLICY_ERR = ("An LFU maxmemory policy is selected, idle time not tracked. Please note "
                  "that when switching between policies at runtime LRU and LFU data will "
                  "take some time to adjust.")
NOT_LFU_POLICY_ERR = ("An LFU maxmemory policy is not selected, access frequency not tracked. "
                      "Please note that when switching between policies at runtime LRU and "
                      "LFU data will take some time to adjust.")

OBJECT_HELP = [
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
]


def _policy_is_lfu(server: Any) -> bool:
    return server.config.maxmemory_policy.endswith("lfu")


def _no_shared_integers(server: Any) -> bool:
    """maxmemory set with a policy that needs per-object LRU/LFU
    (MAXMEMORY_FLAG_NO_SHARED_INTEGERS)."""
    cfg = server.config
    return bool(cfg.maxmemory) and cfg.maxmemory_policy.endswith(("lru", "lfu"))


def _lookup_or_null(c: Any, key: bytes) -> Any:
    v = c.db.lookup(key, touch=False)
    if v is None:
        c.add_reply_null()
    return v


def estimate_idle_ms(server: Any, field: int) -> int:
    """estimateObjectIdleTime, in milliseconds."""
    clock = server.lru_clock
    if clock >= field:
        return (clock - field) * 1000
    return (clock + (LRU_CLOCK_MAX - field)) * 1000


@command("object|help")
def object_help_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_help("object", OBJECT_HELP)


@command("object|encoding")
def object_encoding_command(c: Any, argv: list[bytes]) -> None:
    v = _lookup_or_null(c, argv[2])
    if v is not None:
        c.add_reply_bulk(encoding_name(v).encode())


@command("object|refcount")
def object_refcount_command(c: Any, argv: list[bytes]) -> None:
    v = _lookup_or_null(c, argv[2])
    if v is not None:
        shared = is_shared_integer(v, _no_shared_integers(c.server))
        c.add_reply_int(SHARED_REFCOUNT if shared else 1)


@command("object|idletime")
def object_idletime_command(c: Any, argv: list[bytes]) -> None:
    v = _lookup_or_null(c, argv[2])
    if v is None:
        return
    server = c.server
    if _policy_is_lfu(server):
        c.add_reply_error(LFU_POLICY_ERR)
        return
    c.add_reply_int(estimate_idle_ms(server, stored_lru(v)) // 1000)


@command("object|freq")
def object_freq_command(c: Any, argv: list[bytes]) -> None:
    v = _lookup_or_null(c, argv[2])
    if v is None:
        return
    server = c.server
    if not _policy_is_lfu(server):
        c.add_reply_error(NOT_LFU_POLICY_ERR)
        return
    c.add_reply_int(lfu_decr_and_return(server, stored_lru(v)))
