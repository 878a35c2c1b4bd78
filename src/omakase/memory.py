"""Memory accounting: ``used_memory``, INFO memory, MEMORY STATS (Redis's ``zmalloc.c``
counter, ``object.c``'s ``getMemoryOverheadData``/``objectComputeSize``).

WHAT IS COUNTED
---------------
Redis counts every byte it asks its allocator for (``zmalloc_used_memory``).
CPython has two allocators and no running counter, so the honest equivalent is
asked of both allocators when it is needed:

* glibc malloc (objects over 512 bytes, dict tables, lists' arrays, bytearray
  buffers, everything C code mallocs): ``mallinfo2()`` -- ``uordblks`` (bytes
  in use in the heap arenas) + ``hblkhd`` (bytes in mmapped chunks);
* pymalloc (every object of at most 512 bytes: keys, most values, members):
  its arenas are mmapped directly, so malloc does not see them.  The exact
  "bytes in allocated blocks" comes from CPython's own
  ``_PyObject_DebugMallocStats`` (what ``sys._debugmallocstats`` prints),
  written to an ``open_memstream`` buffer and parsed.

``exact()`` = the two added; it is what INFO, MEMORY STATS/DOCTOR and the
cron see.  Measured on the project machine (CPython 3.11.7, glibc 2.36):

  ==========================  ==========  ===========
  probe                       200k keys   2M keys
  ==========================  ==========  ===========
  mallinfo2() (fresh heap)     1.3-2.9 us  1.3 us
  _PyObject_DebugMallocStats  43 us       183 us (O(arenas): ~1.5 us/MiB)
  /proc/self/statm (pread)    4.8 us      5.7 us
  sys.getallocatedblocks()    8 us        146 us (blocks, not bytes)
  ==========================  ==========  ===========

Against RSS: a fresh server filled with 200k keys of mixed types (150k
strings, 50k small hashes/sets/lists/zsets) grew ``used_memory`` by 42.7 MB
and its RSS by 40.3 MB (used/RSS growth = 1.06 in two runs; 214 bytes per
key; the test allows 20%).  After FLUSHALL ``exact()`` falls back to the
startup figure while RSS keeps the freed pages (fragmentation), which is why
eviction must not be driven by RSS.

PER COMMAND: ESTIMATE BETWEEN EXACT SAMPLES
-------------------------------------------
0.05-2 ms is too much for every command, and ``performEvictions`` runs before
every command while ``maxmemory`` is set.  So ``used()`` is

    last exact sample + growth estimate since - freed estimate since

* the growth estimate is added for every DENYOOM command (the ones that can
  grow the dataset): for each argument after the name, a bytes object of that
  length plus one hash-table entry (``arg_growth``).  That is right for
  SET/SADD/HSET/RPUSH into hash tables and an overestimate for compact
  encodings and overwrites: eviction starts slightly early, never late;
* the freed estimate is ``key_usage()`` of every evicted key (MEMORY USAGE's
  estimate with 5 samples, O(1)), as Redis measures each eviction's delta;
* the sample is retaken once a second from the cron, every tick while
  used memory is over 3/4 of maxmemory, and when INFO/MEMORY ask or eviction
  starts -- but never sooner than 20x the last sample's cost (at least 1 ms)
  after the previous one, so sampling stays under ~5% of the CPU on a large,
  fragmented heap (``resample_due``).  mallinfo2 walks glibc's free lists,
  so its cost grows with fragmentation: 1-4 ms measured with a 2,000,000-
  member set (31k bucket dicts), against 1.3 us on a fresh heap.

When maxmemory is 0 nothing runs per command.

PER-VALUE ESTIMATES (MEMORY USAGE)
----------------------------------
Sizes are CPython's: a bytes object of length n takes ``alloc(33 + n)`` where
``alloc`` rounds to pymalloc's 16-byte classes up to 512 bytes and to glibc's
chunks (+8, 16-byte aligned) above; a hash-table entry (the keyspace's and a
collection's: an entry in a bucket dict of ~64 plus the bucket's share) costs
ENTRY_OVERHEAD = 43 bytes, measured by filling 200k keys (the per-key cost
minus the key and value objects was 42.7 bytes for every value size).
Collections are estimated as Redis's ``objectComputeSize``: the container's
fixed parts plus the average of the first ``samples`` elements times the
element count (``SAMPLES 0`` = all).
DIVERGENCE: the numbers are this process's, so they are larger than Redis's
for the same data (see PERFORMANCE.md: ~1.25x-1.6x per key).
"""
from __future__ import annotations

import ctypes
import gc
import os
import re
import resource
import sys
import time
from typing import Any

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
ENTRY_OVERHEAD = 43          # one entry of a bucketed HashTable (measured)
INT_SIZE = 32                # an int object holding a ms timestamp
BYTES_HEADER = 33            # sys.getsizeof(b"")
SAMPLES_DEFAULT = 5          # OBJ_COMPUTE_SIZE_DEF_SAMPLES

_ALLOCATED_RE = re.compile(rb"# bytes in allocated blocks\s*=\s*([\d,]+)")
_ARENAS_RE = re.compile(rb"(\d+) arenas \* (\d+) bytes/arena")


def alloc(n: int) -> int:
    """The bytes an allocation of n bytes really takes (pymalloc or glibc)."""
    if n <= 512:
        return (n + 15) & ~15 if n > 0 else 16
    n += 8
    return max(32, (n + 15) & ~15)


def bytes_alloc(b: Any) -> int:
    return alloc(BYTES_HEADER + len(b))


# ---------------------------------------------------------------------------
# The allocator probes
# ---------------------------------------------------------------------------
class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


class _MallInfo(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


class AllocatorProbe:
    """ctypes handles for mallinfo2 / pymalloc stats / malloc_trim; each is
    None where this platform lacks it (then RSS stands in)."""

    def __init__(self) -> None:
        self.mallinfo = None
        self.malloc_trim = None
        self.memstream = None
        self.pystats = None
        try:
            libc = ctypes.CDLL(None)
        except OSError:
            return
        for name, struct in (("mallinfo2", _MallInfo2), ("mallinfo", _MallInfo)):
            fn = getattr(libc, name, None)
            if fn is not None:
                fn.restype = struct
                fn.argtypes = []
                self.mallinfo = fn
                break
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim.restype = ctypes.c_int
            trim.argtypes = [ctypes.c_size_t]
            self.malloc_trim = trim
        try:
            oms = libc.open_memstream
            oms.restype = ctypes.c_void_p
            oms.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
            fclose = libc.fclose
            fclose.argtypes = [ctypes.c_void_p]
            free = libc.free
            free.argtypes = [ctypes.c_void_p]
            stats = ctypes.pythonapi._PyObject_DebugMallocStats
            stats.argtypes = [ctypes.c_void_p]
            stats.restype = ctypes.c_int
        except (AttributeError, OSError):
            return
        self.memstream = (oms, fclose, free)
        self.pystats = stats

    def malloc_counts(self) -> tuple[int, int]:
        """(bytes in use, bytes obtained from the system) of glibc malloc."""
        fn = self.mallinfo
        if fn is None:
            return 0, 0
        m = fn()
        inuse = (m.uordblks & 0xFFFFFFFF if isinstance(m, _MallInfo) else m.uordblks)
        hblkhd = (m.hblkhd & 0xFFFFFFFF if isinstance(m, _MallInfo) else m.hblkhd)
        arena = (m.arena & 0xFFFFFFFF if isinstance(m, _MallInfo) else m.arena)
        return inuse + hblkhd, arena + hblkhd

    def pymalloc_report(self) -> bytes:
        """The text of _PyObject_DebugMallocStats (empty if not pymalloc)."""
        if self.pystats is None:
            return b""
        oms, fclose, free = self.memstream
        buf = ctypes.c_char_p()
        size = ctypes.c_size_t()
        f = oms(ctypes.byref(buf), ctypes.byref(size))
        if not f:
            return b""
        try:
            self.pystats(f)
        finally:
            fclose(f)
        try:
            return ctypes.string_at(buf, size.value)
        finally:
            free(buf)

    def pymalloc_counts(self) -> tuple[int, int]:
        """(bytes in allocated blocks, bytes of arenas) of pymalloc."""
        text = self.pymalloc_report()
        m = _ALLOCATED_RE.search(text)
        if m is None:
            return 0, 0
        a = _ARENAS_RE.search(text)
        arenas = int(a.group(1)) * int(a.group(2)) if a else 0
        return int(m.group(1).replace(b",", b"")), arenas

    @property
    def usable(self) -> bool:
        return self.mallinfo is not None and self.pystats is not None


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------------------
# Per-value estimates (objectComputeSize)
# ---------------------------------------------------------------------------
def _ht_size(ht: Any, samples: int, pairs: bool) -> int:
    """A HashTable of members (pairs: member -> bytes value)."""
    size = sys.getsizeof(ht) + sys.getsizeof(ht.t0)
    if ht.t1 is not None:
        size += sys.getsizeof(ht.t1)
    n = ht.used
    if not n:
        return size
    elesize = 0
    seen = 0
    for b in ht.buckets():
        if not b:
            continue
        for k, v in b.items():
            elesize += alloc(BYTES_HEADER + len(k)) + ENTRY_OVERHEAD
            if pairs and v is not None:
                elesize += alloc(BYTES_HEADER + len(v))
            seen += 1
            if seen >= samples:
                break
        if seen >= samples:
            break
    return size + int(elesize / seen * n) if seen else size


def _listpack_size(lp: Any) -> int:
    size = sys.getsizeof(lp) + sys.getsizeof(lp._buf)
    if lp._offs is not None:
        size += sys.getsizeof(lp._offs)
    return size


def _quicklist_size(ql: Any, samples: int) -> int:
    nodes = ql._nodes
    size = sys.getsizeof(ql) + sys.getsizeof(nodes)
    n = len(nodes)
    if not n:
        return size
    elesize = 0
    seen = 0
    for node in nodes:
        elesize += sys.getsizeof(node)
        if node.lp is not None:
            elesize += _listpack_size(node.lp)
        if node.data is not None:
            elesize += bytes_alloc(node.data)
        seen += 1
        if seen >= samples:
            break
    return size + int(elesize / seen * n)


def _zset_size(zs: Any, samples: int) -> int:
    zsl = zs.zsl
    size = sys.getsizeof(zs) + sys.getsizeof(zsl) + sys.getsizeof(zs.dict)
    size += sys.getsizeof(zsl.header) + sys.getsizeof(zsl.header.lv)
    n = zsl.length
    x = zsl.header.lv[0]
    elesize = 0
    seen = 0
    while x is not None and seen < samples:
        elesize += (sys.getsizeof(x) + sys.getsizeof(x.lv) + bytes_alloc(x.ele)
                    + 24)       # the float score
        seen += 1
        x = x.lv[0]
    return size + int(elesize / seen * n) if seen else size


def _stream_size(s: Any, samples: int) -> int:
    idx = s.index
    size = sys.getsizeof(s) + sys.getsizeof(idx) + sys.getsizeof(idx.keys) \
        + sys.getsizeof(idx.nodes)
    nodes = idx.nodes
    n = len(nodes)
    if n:
        lpsize = 0
        seen = 0
        for lp in nodes:
            lpsize += _listpack_size(lp) + 49       # + its 16-byte master key
            seen += 1
            if seen >= samples:
                break
        if n <= seen:
            size += lpsize
        else:
            size += lpsize // seen * (n - 1) + _listpack_size(nodes[-1]) + 49
    if s.cgroups:
        size += sys.getsizeof(s.cgroups)
        for name, cg in s.cgroups.items():
            size += bytes_alloc(name) + sys.getsizeof(cg) + ENTRY_OVERHEAD
            pel = getattr(cg, "pel", None)
            if pel is not None:
                npel = len(getattr(pel, "map", ()) or ())
                size += npel * (ENTRY_OVERHEAD + 64 + 49)   # NACK + id + entry
            cmap = getattr(cg, "consumer_map", None) or {}
            for cname, consumer in cmap.items():
                size += bytes_alloc(cname) + sys.getsizeof(consumer) + ENTRY_OVERHEAD
                cpel = getattr(consumer, "pel", None)
                if cpel is not None:
                    size += len(getattr(cpel, "map", ()) or ()) * ENTRY_OVERHEAD
    return size


def object_size(v: Any, samples: int = SAMPLES_DEFAULT) -> int:
    """objectComputeSize: the bytes a stored value takes (estimated by
    sampling ``samples`` elements of a collection)."""
    cls = v.__class__
    if cls is bytes:
        return alloc(BYTES_HEADER + len(v))
    if samples <= 0:
        samples = 1 << 62
    tname = v.type_name
    own = sys.getsizeof(v)
    if tname == "string":                       # RawString
        return own + alloc(sys.getsizeof(v.buf))
    if tname in ("set", "hash"):
        d = v.data
        dn = d.__class__.__name__
        if dn == "HashTable":
            return own + _ht_size(d, samples, tname == "hash")
        if dn == "Listpack":
            return own + _listpack_size(d)
        return own + sys.getsizeof(d) + sys.getsizeof(getattr(d, "_a", b""))  # intset
    if tname == "zset":
        p = v.ptr
        if p.__class__.__name__ == "Listpack":
            return own + _listpack_size(p)
        return own + _zset_size(p, samples)
    if tname == "list":
        return own + _quicklist_size(v.ql, samples)
    if tname == "stream":
        return _stream_size(v, samples)
    return own


def key_usage(key: bytes, value: Any, samples: int = SAMPLES_DEFAULT,
              has_expire: bool = False) -> int:
    """MEMORY USAGE: the value, the key's bytes and its table entry."""
    size = object_size(value, samples) + alloc(BYTES_HEADER + len(key)) + ENTRY_OVERHEAD
    if has_expire:
        size += ENTRY_OVERHEAD + INT_SIZE
    return size


# Per argument of a DENYOOM command: a bytes object's header, its rounding
# and the 3-byte LRU trailer (~8 + 33 + 3), plus one hash-table entry.
GROWTH_PER_ARG = BYTES_HEADER + 3 + 8 + ENTRY_OVERHEAD


def arg_growth(argv: list[bytes]) -> int:
    """The growth a DENYOOM command may cause: every argument after the
    name stored as a bytes object in a hash-table entry (the name's length
    stands for the rounding)."""
    return sum(map(len, argv)) + GROWTH_PER_ARG * (len(argv) - 1)


# ---------------------------------------------------------------------------
# The accounting state
# ---------------------------------------------------------------------------
class MemoryState:
    """server.memory: the sampled counter, its estimate, peak and startup."""
    __slots__ = ("server", "probe", "sample", "sample_time", "sample_cost",
                 "grown", "freed", "peak", "startup", "pymalloc_arenas",
                 "pymalloc_used", "malloc_used", "malloc_system", "startup_rss_extra")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.probe = AllocatorProbe()
        self.sample = 0
        self.sample_time = 0.0
        self.sample_cost = 0.0
        self.grown = 0
        self.freed = 0
        self.peak = 0
        self.pymalloc_arenas = 0
        self.pymalloc_used = 0
        self.malloc_used = 0
        self.malloc_system = 0
        self.startup = self.exact()
        self.startup_rss_extra = 0

    def mark_startup(self) -> None:
        """initial_memory_usage: taken when start-up is done, before loading."""
        self.startup = self.exact()
        self.peak = self.startup
        self.startup_rss_extra = max(0, rss_bytes() - (self.allocator_active() or self.startup))
        self.server.stat_memory_startup = self.startup

    def exact(self) -> int:
        """Ask both allocators (zmalloc_used_memory); resets the estimate."""
        t0 = time.perf_counter()
        probe = self.probe
        if probe.usable:
            self.malloc_used, self.malloc_system = probe.malloc_counts()
            self.pymalloc_used, self.pymalloc_arenas = probe.pymalloc_counts()
            total = self.malloc_used + self.pymalloc_used
        else:
            total = rss_bytes()
            self.malloc_used, self.malloc_system = total, total
        t1 = time.perf_counter()
        self.sample = total
        self.sample_time = t1
        self.sample_cost = t1 - t0
        self.grown = 0
        self.freed = 0
        if total > self.peak:
            self.peak = total
        return total

    def used(self) -> int:
        """The estimate between samples (cheap: what eviction reads)."""
        u = self.sample + self.grown - self.freed
        return u if u > 0 else 0

    def resample_due(self) -> bool:
        """A new sample is due when the last one is older than 20 times
        what it cost (at least 1 ms): sampling stays under ~5% of the time."""
        return (time.perf_counter() - self.sample_time
                > max(0.001, 20 * self.sample_cost))

    def fresh(self) -> int:
        """An exact sample unless the last one is recent (see resample_due)."""
        return self.exact() if self.resample_due() else self.used()

    def allocator_active(self) -> int:
        return self.pymalloc_arenas + self.malloc_system

    # -- what INFO and MEMORY STATS print --------------------------------------
    def overhead(self) -> dict[str, Any]:
        """getMemoryOverheadData, with honest values of this process."""
        server = self.server
        used = self.fresh()
        rss = rss_bytes()
        from omakase.networking import ClientFlag
        clients_normal = clients_replicas = 0
        nreplicas = 0
        for c in server.clients.values():
            mem = sum(len(x) for x in c.reply) if c.reply else 0
            if c.parser is not None:
                mem += c.parser.pending_bytes()
            if c.flags & ClientFlag.SLAVE and not c.flags & ClientFlag.MONITOR:
                clients_replicas += mem
                nreplicas += 1
            else:
                clients_normal += mem
        aof = getattr(server, "aof_buffer_size", 0) or 0
        backlog = getattr(server, "repl_backlog", None)
        repl_backlog = getattr(backlog, "histlen", 0) if backlog is not None else 0
        scripts = getattr(server, "lua_scripts_memory", 0) or 0
        functions = getattr(server, "functions_caches_memory", 0) or 0
        total = self.startup + repl_backlog + clients_normal + clients_replicas + aof \
            + scripts + functions
        dbs = []
        keys = 0
        for db in server.dbs:
            n = db.keys.used
            if not n:
                continue
            keys += n
            main = n * ENTRY_OVERHEAD + sys.getsizeof(db.keys.t0)
            exp = (db.expires.used * (ENTRY_OVERHEAD + INT_SIZE) + sys.getsizeof(db.expires.t0)
                   if db.expires.used else 0)
            dbs.append((db.id, main, exp))
            total += main + exp
        total = min(total, used)
        net = used - self.startup if used > self.startup else 1
        active = self.allocator_active() or used
        resident = active
        return {
            "used": used, "rss": rss, "peak": self.peak, "startup": self.startup,
            "repl_backlog": repl_backlog, "clients_normal": clients_normal,
            "clients_replicas": clients_replicas, "nreplicas": nreplicas,
            "aof": aof, "lua_caches": scripts, "functions_caches": functions,
            "dbs": dbs, "overhead": total, "keys": keys,
            "bytes_per_key": net // keys if keys else 0,
            "dataset": used - total, "dataset_perc": (used - total) * 100.0 / net,
            "peak_perc": used * 100.0 / self.peak if self.peak else 0.0,
            "allocated": used, "active": active, "resident": resident,
            "alloc_frag": active / used if used else 0.0, "alloc_frag_bytes": active - used,
            "alloc_rss": resident / active if active else 0.0,
            "alloc_rss_bytes": resident - active,
            "rss_extra": rss / resident if resident else 0.0,
            "rss_extra_bytes": rss - resident,
            "frag": rss / used if used else 0.0, "frag_bytes": rss - used,
        }

    def not_counted_for_evict(self) -> int:
        """freeMemoryGetNotCountedMemory: AOF buffer and replica buffers."""
        server = self.server
        n = getattr(server, "aof_buffer_size", 0) or 0
        extra = getattr(server, "repl_buffer_mem", 0) or 0
        backlog = getattr(server.config, "repl_backlog_size", 0) or 0
        if extra > backlog:
            n += extra - backlog
        return n


def info_lines(server: Any) -> list[str]:
    """The # Memory section of INFO (Redis 7.0's fields, in order)."""
    from omakase.commands.info import bytes_to_human, total_system_memory
    mem: MemoryState = server.memory
    oh = mem.overhead()
    cfg = server.config
    used, rss, peak = oh["used"], oh["rss"], oh["peak"]
    total_mem = total_system_memory()
    lua = getattr(server, "lua_memory", 0) or 0
    scripts = getattr(server, "lua_scripts", None)
    nscripts = len(scripts) if scripts is not None else 0
    functions_mem = getattr(server, "functions_memory", 0) or 0
    scripts_mem = getattr(server, "lua_scripts_memory", 0) or 0
    maxmemory = cfg.maxmemory
    lazy = server.lazyfree if getattr(server, "lazyfree", None) is not None else None
    return [
        f"used_memory:{used}",
        f"used_memory_human:{bytes_to_human(used)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{bytes_to_human(rss)}",
        f"used_memory_peak:{peak}",
        f"used_memory_peak_human:{bytes_to_human(peak)}",
        "used_memory_peak_perc:%.2f%%" % oh["peak_perc"],
        f"used_memory_overhead:{oh['overhead']}",
        f"used_memory_startup:{oh['startup']}",
        f"used_memory_dataset:{oh['dataset']}",
        "used_memory_dataset_perc:%.2f%%" % oh["dataset_perc"],
        f"allocator_allocated:{oh['allocated']}",
        f"allocator_active:{oh['active']}",
        f"allocator_resident:{oh['resident']}",
        f"total_system_memory:{total_mem}",
        f"total_system_memory_human:{bytes_to_human(total_mem)}",
        f"used_memory_lua:{lua}",
        f"used_memory_vm_eval:{lua}",
        f"used_memory_lua_human:{bytes_to_human(lua)}",
        f"used_memory_scripts_eval:{scripts_mem}",
        f"number_of_cached_scripts:{nscripts}",
        f"number_of_functions:{getattr(server, 'functions_count', 0) or 0}",
        f"number_of_libraries:{getattr(server, 'functions_libraries', 0) or 0}",
        f"used_memory_vm_functions:{functions_mem}",
        f"used_memory_vm_total:{functions_mem + lua}",
        f"used_memory_vm_total_human:{bytes_to_human(functions_mem + lua)}",
        f"used_memory_functions:{oh['functions_caches']}",
        f"used_memory_scripts:{scripts_mem + oh['functions_caches']}",
        f"used_memory_scripts_human:{bytes_to_human(scripts_mem + oh['functions_caches'])}",
        f"maxmemory:{maxmemory}",
        f"maxmemory_human:{bytes_to_human(maxmemory)}",
        f"maxmemory_policy:{cfg.maxmemory_policy}",
        "allocator_frag_ratio:%.2f" % oh["alloc_frag"],
        f"allocator_frag_bytes:{oh['alloc_frag_bytes']}",
        "allocator_rss_ratio:%.2f" % oh["alloc_rss"],
        f"allocator_rss_bytes:{oh['alloc_rss_bytes']}",
        "rss_overhead_ratio:%.2f" % oh["rss_extra"],
        f"rss_overhead_bytes:{oh['rss_extra_bytes']}",
        "mem_fragmentation_ratio:%.2f" % oh["frag"],
        f"mem_fragmentation_bytes:{oh['frag_bytes']}",
        f"mem_not_counted_for_evict:{mem.not_counted_for_evict()}",
        f"mem_replication_backlog:{oh['repl_backlog']}",
        f"mem_total_replication_buffers:{getattr(server, 'repl_buffer_mem', 0) or 0}",
        f"mem_clients_slaves:{oh['clients_replicas']}",
        f"mem_clients_normal:{oh['clients_normal']}",
        "mem_cluster_links:0",
        f"mem_aof_buffer:{oh['aof']}",
        "mem_allocator:pymalloc+libc",
        "active_defrag_running:0",
        f"lazyfree_pending_objects:{lazy.pending if lazy else 0}",
        f"lazyfreed_objects:{lazy.freed if lazy else 0}",
    ]


def doctor_report(server: Any) -> str:
    """getMemoryDoctorReport, on this process's figures.  DIVERGENCE: the
    interpreter itself takes ~16 MB before any data, so "empty" means less
    than 5 MB *above the startup figure*, and the non-allocator RSS check
    ignores the interpreter's own share measured at startup."""
    oh = server.memory.overhead()
    reports = []
    if oh["used"] - oh["startup"] < 5 * 1024 * 1024:
        return ("Hi Sam, this instance is empty or is using very little memory, my issues "
                "detector can't be used in these conditions. Please, leave for your mission "
                "on Earth and fill it with some data. The new Sam and I will be back to our "
                "programming as soon as I finished rebooting.\n")
    if oh["peak"] / oh["used"] > 1.5:
        reports.append(
            " * Peak memory: In the past this instance used more than 150% the memory that is "
            "currently using. The allocator is normally not able to release memory after a peak, "
            "so you can expect to see a big fragmentation ratio, however this is actually "
            "harmless and is only due to the memory peak, and if the Redis instance Resident Set "
            "Size (RSS) is currently bigger than expected, the memory will be used as soon as you "
            "fill the Redis instance with more data. If the memory peak was only occasional and "
            "you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the "
            "only other option is to shutdown and restart the instance.\n\n")
    if oh["frag"] > 1.4 and oh["frag_bytes"] > 10 << 20:
        reports.append(
            " * High total RSS: This instance has a memory fragmentation and RSS overhead greater "
            "than 1.4 (this means that the Resident Set Size of the Redis process is much larger "
            "than the sum of the logical allocations Redis performed). This problem is usually "
            "due either to a large peak memory (check if there is a peak memory entry above in "
            "the report) or may result from a workload that causes the allocator to fragment "
            "memory a lot. If the problem is a large peak memory, then there is no issue. "
            "Otherwise, make sure you are using the Jemalloc allocator and not the default libc "
            "malloc. Note: The currently used allocator is \"pymalloc+libc\".\n\n")
    if oh["alloc_frag"] > 1.1 and oh["alloc_frag_bytes"] > 10 << 20:
        reports.append(
            " * High allocator fragmentation: This instance has an allocator external "
            "fragmentation greater than 1.1. This problem is usually due either to a large peak "
            "memory (check if there is a peak memory entry above in the report) or may result "
            "from a workload that causes the allocator to fragment memory a lot. You can try "
            "enabling 'activedefrag' config option.\n\n")
    if oh["alloc_rss"] > 1.1 and oh["alloc_rss_bytes"] > 10 << 20:
        reports.append(
            " * High allocator RSS overhead: This instance has an RSS memory overhead is greater "
            "than 1.1 (this means that the Resident Set Size of the allocator is much larger than "
            "the sum what the allocator actually holds). This problem is usually due to a large "
            "peak memory (check if there is a peak memory entry above in the report), you can "
            "try the MEMORY PURGE command to reclaim it.\n\n")
    if oh["rss_extra"] > 1.1 and oh["rss_extra_bytes"] - server.memory.startup_rss_extra > 10 << 20:
        reports.append(
            " * High process RSS overhead: This instance has non-allocator RSS memory overhead "
            "is greater than 1.1 (this means that the Resident Set Size of the Redis process is "
            "much larger than the RSS the allocator holds). This problem may be due to Lua "
            "scripts or Modules.\n\n")
    nrep = oh["nreplicas"]
    nclients = max(1, len(server.clients) - nrep)
    if nrep and oh["clients_replicas"] / nrep > 10 * 1024 * 1024:
        reports.append(
            " * Big replica buffers: The replica output buffers in this instance are greater "
            "than 10MB for each replica (on average). This likely means that there is some "
            "replica instance that is struggling receiving data, either because it is too slow "
            "or because of networking issues. As a result, data piles on the master output "
            "buffers. Please try to identify what replica is not receiving data correctly and "
            "why. You can use the INFO output in order to check the replicas delays and the "
            "CLIENT LIST command to check the output buffers of each replica.\n\n")
    if oh["clients_normal"] / nclients > 200 * 1024:
        reports.append(
            " * Big client buffers: The clients output buffers in this instance are greater than "
            "200K per client (on average). This may result from different causes, like Pub/Sub "
            "clients subscribed to channels bot not receiving data fast enough, so that data "
            "piles on the Redis instance output buffer, or clients sending commands with large "
            "replies or very large sequences of commands in the same pipeline. Please use the "
            "CLIENT LIST command in order to investigate the issue if it causes problems in your "
            "instance, or to understand better why certain clients are using a big amount of "
            "memory.\n\n")
    scripts = getattr(server, "lua_scripts", None)
    if scripts is not None and len(scripts) > 1000:
        reports.append(
            " * Many scripts: There seem to be many cached scripts in this instance (more than "
            "1000). This may be because scripts are generated and `EVAL`ed, instead of being "
            "parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT "
            "FLUSH` is called periodically, the scripts' caches may end up consuming most of your "
            "memory.\n\n")
    if not reports:
        return ("Hi Sam, I can't find any memory issue in your instance. "
                "I can only account for what occurs on this base.\n")
    return ("Sam, I detected a few issues in this Redis instance memory implants:\n\n"
            + "".join(reports) + "I'm here to keep you safe, Sam. I want to help you.\n")


def purge(server: Any) -> None:
    """MEMORY PURGE: a full collection, then give free heap pages back."""
    gc.collect()
    trim = server.memory.probe.malloc_trim
    if trim is not None:
        trim(0)
    server.memory.exact()


# ---------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------
def install(server: Any) -> None:
    """Attach accounting, eviction and lazy free to a server."""
    mem = MemoryState(server)
    server.memory = mem
    server.used_memory = mem.used
    server.stat_memory_startup = mem.startup

    def cron() -> None:
        # every tick while maxmemory is set and used memory is over 3/4 of
        # it; else once a second (peak, MEMORY DOCTOR)
        maxmemory = server.config.maxmemory
        if server.cronloops % max(1, server.hz) == 0 or (
                maxmemory and mem.used() * 4 > maxmemory * 3 and mem.resample_due()):
            mem.exact()
    server.cron_hooks.append(cron)
    server.startup_hooks.insert(0, mem.mark_startup)
    from omakase import evict, lazyfree
    lazyfree.install(server)
    evict.install(server)
