"""MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP (Redis's
``memoryCommand`` in ``object.c``).

The figures come from ``omakase.memory`` (see its docstring for what is
counted and how it was measured):

* USAGE key [SAMPLES n]: ``memory.key_usage`` -- the value's estimate (a
  collection's first ``n`` elements averaged and scaled, default 5, 0 = all)
  plus the key's bytes object and its table entry.  As in Redis the key is
  found with a plain table lookup (no expiry, no LRU/LFU touch, no stats);
  a missing key is a null; SAMPLES must be a non-negative integer, anything
  else is a syntax error.
* STATS: ``getMemoryOverheadData``'s map, every field of Redis 7.0 in its
  order, with this process's honest numbers (doubles rounded to C floats as
  Redis computes them).
* DOCTOR: ``getMemoryDoctorReport``'s texts on the same figures (verbatim).
* MALLOC-STATS: DIVERGENCE: Redis prints jemalloc's report; here it is
  CPython's pymalloc report (``sys._debugmallocstats``) followed by glibc's
  ``mallinfo2`` counters (verbatim ``txt``).
* PURGE: a full cyclic collection and ``malloc_trim(0)`` (Redis purges
  jemalloc's dirty pages), then a fresh allocator sample.
"""
from __future__ import annotations

import struct
from typing import Any

from omakase import memory, replies
from omakase.commands.registry import command
from omakase.util import parse_ll

MEMORY_HELP = [
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
]


def _f(x: float) -> float:
    """Redis computes these ratios as C floats."""
    return struct.unpack("f", struct.pack("f", x))[0]


@command("memory|help")
def memory_help_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_help("memory", MEMORY_HELP)


@command("memory|usage")
def memory_usage_command(c: Any, argv: list[bytes]) -> None:
    samples = memory.SAMPLES_DEFAULT
    j = 3
    while j < len(argv):
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            ok, n = parse_ll(argv[j + 1])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            if n < 0:
                c.add_reply_error(replies.SYNTAX)
                return
            samples = n if n else 1 << 62
            j += 2
        else:
            c.add_reply_error(replies.SYNTAX)
            return
    db = c.db
    key = argv[2]
    value = db.peek(key)
    if value is None:
        c.add_reply_null()
        return
    has_expire = bool(db.expires.used) and db.expires.get(key) is not None
    c.add_reply_int(memory.key_usage(key, value, samples, has_expire))


@command("memory|stats")
def memory_stats_command(c: Any, argv: list[bytes]) -> None:
    oh = c.server.memory.overhead()
    dbs = oh["dbs"]
    c.add_reply_map_len(27 + len(dbs))
    ints = [("peak.allocated", oh["peak"]), ("total.allocated", oh["used"]),
            ("startup.allocated", oh["startup"]),
            ("replication.backlog", oh["repl_backlog"]),
            ("clients.slaves", oh["clients_replicas"]),
            ("clients.normal", oh["clients_normal"]), ("cluster.links", 0),
            ("aof.buffer", oh["aof"]), ("lua.caches", oh["lua_caches"]),
            ("functions.caches", oh["functions_caches"])]
    for name, v in ints:
        c.add_reply_bulk(name.encode())
        c.add_reply_int(v)
    for dbid, main, exp in dbs:
        c.add_reply_bulk(b"db.%d" % dbid)
        c.add_reply_map_len(3)
        c.add_reply_bulk(b"overhead.hashtable.main")
        c.add_reply_int(main)
        c.add_reply_bulk(b"overhead.hashtable.expires")
        c.add_reply_int(exp)
        c.add_reply_bulk(b"overhead.hashtable.slot-to-keys")
        c.add_reply_int(0)
    rest: list[tuple[str, Any]] = [
        ("overhead.total", oh["overhead"]), ("keys.count", oh["keys"]),
        ("keys.bytes-per-key", oh["bytes_per_key"]), ("dataset.bytes", oh["dataset"]),
        ("dataset.percentage", _f(oh["dataset_perc"])),
        ("peak.percentage", _f(oh["peak_perc"])),
        ("allocator.allocated", oh["allocated"]), ("allocator.active", oh["active"]),
        ("allocator.resident", oh["resident"]),
        ("allocator-fragmentation.ratio", _f(oh["alloc_frag"])),
        ("allocator-fragmentation.bytes", oh["alloc_frag_bytes"]),
        ("allocator-rss.ratio", _f(oh["alloc_rss"])),
        ("allocator-rss.bytes", oh["alloc_rss_bytes"]),
        ("rss-overhead.ratio", _f(oh["rss_extra"])),
        ("rss-overhead.bytes", oh["rss_extra_bytes"]),
        ("fragmentation", _f(oh["frag"])), ("fragmentation.bytes", oh["frag_bytes"]),
    ]
    for name, v in rest:
        c.add_reply_bulk(name.encode())
        if isinstance(v, float):
            c.add_reply_double(v)
        else:
            c.add_reply_int(v)


@command("memory|doctor")
def memory_doctor_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_verbatim(memory.doctor_report(c.server).encode())


@command("memory|malloc-stats")
def memory_malloc_stats_command(c: Any, argv: list[bytes]) -> None:
    mem = c.server.memory
    probe = mem.probe
    text = probe.pymalloc_report()
    if not text:
        text = b"pymalloc: not in use (PYTHONMALLOC)\n"
    inuse, system = probe.malloc_counts()
    text += (b"\n___ glibc malloc (mallinfo2) ___\n"
             b"bytes in use (uordblks + hblkhd) = %d\n"
             b"bytes from the system (arena + hblkhd) = %d\n" % (inuse, system))
    c.add_reply_verbatim(text)


@command("memory|purge")
def memory_purge_command(c: Any, argv: list[bytes]) -> None:
    memory.purge(c.server)
    c.add_reply_ok()
