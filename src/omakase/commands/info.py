"""INFO: the server's state as ``field:value`` lines (Redis's ``genRedisInfoString``).

Mirrors ``infoCommand``/``genInfoSectionDict``/``genRedisInfoString`` of Redis
7.0's ``server.c``: the same sections in the same order (server, clients,
memory, persistence, stats, replication, cpu, modules, commandstats,
errorstats, latencystats, cluster, keyspace) with the same field names in the
same order.  ``INFO`` and ``INFO default`` give the default sections, ``all``
adds commandstats and latencystats, ``everything`` is ``all`` plus module
sections; several section names may be given and are printed in Redis's order,
whatever order they were asked in; an unknown name contributes nothing.  The
reply is a bulk string in RESP2 and a verbatim ``txt`` string in RESP3.

Every field is present, with an honest value: counters this server keeps are
reported, facts that do not apply to a Python process are reported as what
they are here (``multiplexing_api`` is the event loop backend,
``mem_allocator`` is ``pymalloc``), and subsystems that do not exist yet report
their idle state (no fork child, no replica, no AOF).

Where the values come from
--------------------------
Most values are attributes of the server (``stat_*`` counters, ``dirty``,
``clients``, ``dbs``, ``config``...).  Subsystems that own a figure publish it
as a server attribute read here with a default (so INFO needs no change when
they land): ``lastsave``, ``lastbgsave_ok``, ``stat_rdb_saves``,
``rdb_save_time_last``, ``child_type`` ("rdb"/"aof"), ``child_start_time``,
``stat_fork_time``, ``stat_total_forks``, ``aof_rewrite_scheduled``,
``aof_last_write_ok``, ``aof_lastbgrewrite_ok``, ``stat_aofrw_consecutive_failures``,
``stat_aof_rewrites``, ``replid``/``replid2``/``master_repl_offset``/
``second_replid_offset``, ``repl_backlog`` (an object with ``size``,
``offset``, ``histlen``), ``stat_sync_full``/``stat_sync_partial_ok``/
``stat_sync_partial_err``, ``pubsub_channels``/``pubsub_patterns``/
``pubsub_shard_channels`` (dicts), ``tracking_clients``, ``blocked_clients``,
``lua_memory``, ``lua_scripts``, ``stat_total_reads_processed``,
``stat_total_writes_processed``.  A subsystem that has more to say (the
``aof_*`` block Redis adds when AOF is on, ``loading_*`` while loading, the
replica lines of ``# Replication``) registers a provider:
``server.info_providers[section] = fn`` where ``fn(server) -> list[str]``
returns extra ``field:value`` lines appended to that section.

Memory
------
The section comes from ``omakase.memory.info_lines`` (allocator-counted
``used_memory``: glibc's mallinfo2 plus pymalloc's allocated blocks, sampled
when INFO runs; see that module).  The fallback below (a Server built
without the memory module) reports the process RSS as ``used_memory``.

Latencystats
------------
One ``latency_percentiles_usec_<command>`` line per command that ran, from
the per-command histograms ``latency-tracking`` keeps (``commands/latency``,
which LATENCY HISTOGRAM reads too), at the percentiles of
``latency-tracking-info-percentiles``.  DIVERGENCE: the lines come in
the order the commands first ran (Redis walks its command table: hash
order).
"""
from __future__ import annotations

import os
import platform
import resource
import struct
import sys
import time
from typing import Any, Callable

from omakase.commands.registry import command

DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                    "cpu", "module_list", "errorstats", "cluster", "keyspace")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
REPL_BACKLOG_DEFAULT = 1048576


# --------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------
def bytes_to_human(n: int) -> str:
    """bytesToHuman: 1023B, 1.00K, 1.50M, ... (binary units, two decimals)."""
    if n < 1024:
        return "%dB" % n
    for i, unit in enumerate("KMGTP", start=1):
        if n < 1024 ** (i + 1):
            return "%.2f%s" % (n / 1024 ** i, unit)
    return "%dB" % n


def _c_float(x: float) -> float:
    """Round to C float precision (Redis computes usec_per_call as a float)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def safe_info_string(s: str) -> str:
    """getSafeInfoString: '#', ':', CR and LF would break the format."""
    for ch in "#:\r\n":
        s = s.replace(ch, "_")
    return s


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def total_system_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * PAGE_SIZE
    except (ValueError, OSError, AttributeError):
        return 0


def used_memory(server: Any) -> int:
    """zmalloc_used_memory; see the DIVERGENCE note on memory above."""
    fn = getattr(server, "used_memory", None)
    if callable(fn):
        return fn()
    return rss_bytes()


def _gcc_version() -> str:
    comp = platform.python_compiler()      # e.g. "GCC 12.2.0"
    parts = comp.split()
    if len(parts) >= 2 and parts[0] == "GCC":
        nums = (parts[1].split(".") + ["0", "0", "0"])[:3]
        if all(n.isdigit() for n in nums):
            return ".".join(nums)
    return "0.0.0"


def _build_id() -> str:
    import hashlib
    from omakase.server import OMAKASE_VERSION
    return hashlib.sha1(f"omakase-{OMAKASE_VERSION}".encode()).hexdigest()[:16]


def _fmt_rusage(tv: float) -> str:
    sec = int(tv)
    return "%d.%06d" % (sec, int(round((tv - sec) * 1e6)))


def _attr(server: Any, name: str, default: Any = 0) -> Any:
    return getattr(server, name, default)


def _io_threads_active(server: Any) -> bool:
    io = getattr(server, "io_threads", None)
    return io is not None and io.active


def _recent_max_output(server: Any) -> int:
    """client_recent_max_output_buffer's recent peak (networking.py)."""
    if not hasattr(server, "clients_peak_out"):
        return 0
    from omakase.networking import recent_max_output_buffer
    return recent_max_output_buffer(server)


def _count(obj: Any) -> int:
    return len(obj) if obj is not None else 0


def replication_ids(server: Any) -> tuple[str, str]:
    """master_replid/master_replid2, created on first use if replication
    has not set them (Redis makes one at start-up)."""
    replid = getattr(server, "replid", None)
    if not replid:
        replid = os.urandom(20).hex()
        server.replid = replid
    replid2 = getattr(server, "replid2", None) or "0" * 40
    return replid, replid2


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------
def _server_section(server: Any) -> list[str]:
    from omakase.server import OMAKASE_VERSION, REDIS_VERSION
    uname = os.uname()
    now = time.time()
    uptime = int(now - server.start_time)
    cfg = server.config
    executable = getattr(server, "executable", None) or os.path.abspath(sys.argv[0])
    lines = [
        f"redis_version:{REDIS_VERSION}",
        f"omakase_version:{OMAKASE_VERSION}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        f"redis_build_id:{_build_id()}",
        "redis_mode:standalone",
        f"os:{uname.sysname} {uname.release} {uname.machine}",
        f"arch_bits:{struct.calcsize('P') * 8}",
        "monotonic_clock:POSIX clock_gettime",
        f"multiplexing_api:{server.el.backend.name}",
        "atomicvar_api:python-gil",
        f"gcc_version:{_gcc_version()}",
        f"process_id:{os.getpid()}",
        f"process_supervised:{_supervised(cfg)}",
        f"run_id:{server.run_id}",
        f"tcp_port:{cfg.port}",
        f"server_time_usec:{int(now * 1_000_000)}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{server.hz}",
        f"configured_hz:{cfg.hz}",
        f"lru_clock:{server.lru_clock}",
        f"executable:{executable}",
        f"config_file:{os.path.abspath(server.config_file) if server.config_file else ''}",
        f"io_threads_active:{int(_io_threads_active(server))}",
    ]
    return lines


def _supervised(cfg: Any) -> str:
    mode = str(getattr(cfg, "supervised", "no") or "no")
    return mode if mode in ("upstart", "systemd") else "no"


def _clients_section(server: Any) -> list[str]:
    from omakase.networking import ClientFlag
    clients = server.clients.values()
    replicas = 0
    blocked = 0
    max_in = 0
    max_out = 0
    for c in clients:
        if c.flags & ClientFlag.SLAVE and not c.flags & ClientFlag.MONITOR:
            replicas += 1
        if c.flags & ClientFlag.BLOCKED:
            blocked += 1
        if c.parser is not None:
            max_in = max(max_in, c.parser.pending_bytes())
        if c.reply:
            max_out = max(max_out, c.output_bytes())
    blocked = _attr(server, "blocked_clients", blocked)
    return [
        f"connected_clients:{len(server.clients) - replicas}",
        "cluster_connections:0",
        f"maxclients:{server.config.maxclients}",
        f"client_recent_max_input_buffer:{max_in}",
        f"client_recent_max_output_buffer:{max(max_out, _recent_max_output(server))}",
        f"blocked_clients:{blocked}",
        f"tracking_clients:{_attr(server, 'tracking_clients', 0)}",
        f"clients_in_timeout_table:{_attr(server, 'clients_in_timeout_table', 0)}",
    ]


def _memory_section(server: Any) -> list[str]:
    if getattr(server, "memory", None) is not None:
        from omakase.memory import info_lines     # the accounting module's figures
        return info_lines(server)
    cfg = server.config
    used = used_memory(server)
    rss = rss_bytes()
    startup = getattr(server, "stat_memory_startup", None)
    if startup is None:
        startup = used
        server.stat_memory_startup = startup
    peak = max(_attr(server, "stat_peak_memory", 0), used)
    server.stat_peak_memory = peak
    clients_normal = 0
    clients_replicas = 0
    from omakase.networking import ClientFlag
    for c in server.clients.values():
        mem = sum(len(x) for x in c.reply)
        if c.parser is not None:
            mem += c.parser.pending_bytes()
        if c.flags & ClientFlag.SLAVE and not c.flags & ClientFlag.MONITOR:
            clients_replicas += mem
        else:
            clients_normal += mem
    aof_buffer = _attr(server, "aof_buffer_size", 0)
    overhead = min(used, startup + clients_normal + clients_replicas + aof_buffer)
    dataset = max(0, used - overhead)
    net = used - startup
    dataset_perc = dataset * 100.0 / net if net > 0 else 0.0
    peak_perc = used * 100.0 / peak if peak else 0.0
    total_mem = total_system_memory()
    lua = _attr(server, "lua_memory", 0)
    scripts = _attr(server, "lua_scripts", None)
    functions_mem = _attr(server, "functions_memory", 0)
    maxmemory = cfg.maxmemory
    frag = rss / used if used else 0.0
    return [
        f"used_memory:{used}",
        f"used_memory_human:{bytes_to_human(used)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{bytes_to_human(rss)}",
        f"used_memory_peak:{peak}",
        f"used_memory_peak_human:{bytes_to_human(peak)}",
        "used_memory_peak_perc:%.2f%%" % peak_perc,
        f"used_memory_overhead:{overhead}",
        f"used_memory_startup:{startup}",
        f"used_memory_dataset:{dataset}",
        "used_memory_dataset_perc:%.2f%%" % dataset_perc,
        f"allocator_allocated:{used}",
        f"allocator_active:{used}",
        f"allocator_resident:{rss}",
        f"total_system_memory:{total_mem}",
        f"total_system_memory_human:{bytes_to_human(total_mem)}",
        f"used_memory_lua:{lua}",
        f"used_memory_vm_eval:{lua}",
        f"used_memory_lua_human:{bytes_to_human(lua)}",
        f"used_memory_scripts_eval:{_attr(server, 'lua_scripts_memory', 0)}",
        f"number_of_cached_scripts:{_count(scripts)}",
        f"number_of_functions:{_attr(server, 'functions_count', 0)}",
        f"number_of_libraries:{_attr(server, 'functions_libraries', 0)}",
        f"used_memory_vm_functions:{functions_mem}",
        f"used_memory_vm_total:{functions_mem + lua}",
        f"used_memory_vm_total_human:{bytes_to_human(functions_mem + lua)}",
        f"used_memory_functions:{_attr(server, 'functions_caches_memory', 0)}",
        f"used_memory_scripts:{_attr(server, 'lua_scripts_memory', 0)}",
        f"used_memory_scripts_human:{bytes_to_human(_attr(server, 'lua_scripts_memory', 0))}",
        f"maxmemory:{maxmemory}",
        f"maxmemory_human:{bytes_to_human(maxmemory)}",
        f"maxmemory_policy:{cfg.maxmemory_policy}",
        "allocator_frag_ratio:1.00",
        "allocator_frag_bytes:0",
        "allocator_rss_ratio:%.2f" % (rss / used if used else 0.0),
        f"allocator_rss_bytes:{rss - used}",
        "rss_overhead_ratio:1.00",
        "rss_overhead_bytes:0",
        "mem_fragmentation_ratio:%.2f" % frag,
        f"mem_fragmentation_bytes:{rss - used}",
        f"mem_not_counted_for_evict:{aof_buffer}",
        f"mem_replication_backlog:{_backlog(server)[0] if _attr(server, 'repl_backlog', None) else 0}",
        f"mem_total_replication_buffers:{_attr(server, 'repl_buffer_mem', 0)}",
        f"mem_clients_slaves:{clients_replicas}",
        f"mem_clients_normal:{clients_normal}",
        "mem_cluster_links:0",
        f"mem_aof_buffer:{aof_buffer}",
        "mem_allocator:pymalloc",
        "active_defrag_running:0",
        f"lazyfree_pending_objects:{_attr(server, 'lazyfree_pending_objects', 0)}",
        f"lazyfreed_objects:{_attr(server, 'lazyfreed_objects', 0)}",
    ]


def _persistence_section(server: Any) -> list[str]:
    now = time.time()
    child = _attr(server, "child_type", None)
    child_start = _attr(server, "child_start_time", now)
    aof_on = bool(getattr(server.config, "appendonly", False))
    lastsave = int(_attr(server, "lastsave", server.start_time))
    ok = lambda name: "ok" if _attr(server, name, True) else "err"  # noqa: E731
    return [
        f"loading:{int(bool(server.loading) and not _attr(server, 'async_loading', False))}",
        f"async_loading:{int(bool(_attr(server, 'async_loading', False)))}",
        "current_cow_peak:0",
        "current_cow_size:0",
        "current_cow_size_age:0",
        "current_fork_perc:%.2f" % _attr(server, "current_fork_perc", 0.0),
        f"current_save_keys_processed:{_attr(server, 'current_save_keys_processed', 0)}",
        f"current_save_keys_total:{_attr(server, 'current_save_keys_total', 0)}",
        f"rdb_changes_since_last_save:{server.dirty}",
        f"rdb_bgsave_in_progress:{int(child == 'rdb')}",
        f"rdb_last_save_time:{lastsave}",
        f"rdb_last_bgsave_status:{ok('lastbgsave_ok')}",
        f"rdb_last_bgsave_time_sec:{_attr(server, 'rdb_save_time_last', -1)}",
        f"rdb_current_bgsave_time_sec:{int(now - child_start) if child == 'rdb' else -1}",
        f"rdb_saves:{_attr(server, 'stat_rdb_saves', 0)}",
        f"rdb_last_cow_size:{_attr(server, 'stat_rdb_cow_bytes', 0)}",
        f"rdb_last_load_keys_expired:{_attr(server, 'rdb_last_load_keys_expired', 0)}",
        f"rdb_last_load_keys_loaded:{_attr(server, 'rdb_last_load_keys_loaded', 0)}",
        f"aof_enabled:{int(aof_on)}",
        f"aof_rewrite_in_progress:{int(child == 'aof')}",
        f"aof_rewrite_scheduled:{int(bool(_attr(server, 'aof_rewrite_scheduled', False)))}",
        f"aof_last_rewrite_time_sec:{_attr(server, 'aof_rewrite_time_last', -1)}",
        f"aof_current_rewrite_time_sec:{int(now - child_start) if child == 'aof' else -1}",
        f"aof_last_bgrewrite_status:{ok('aof_lastbgrewrite_ok')}",
        f"aof_rewrites:{_attr(server, 'stat_aof_rewrites', 0)}",
        f"aof_rewrites_consecutive_failures:{_attr(server, 'stat_aofrw_consecutive_failures', 0)}",
        f"aof_last_write_status:{ok('aof_last_write_ok')}",
        f"aof_last_cow_size:{_attr(server, 'stat_aof_cow_bytes', 0)}",
        "module_fork_in_progress:0",
        "module_fork_last_cow_size:0",
    ] + _aof_lines(server) + _loading_lines(server, now)


def _aof_lines(server: Any) -> list[str]:
    """The aof_* block Redis adds while AOF is on (the AOF module's)."""
    provider = _attr(server, "aof_info_lines", None)
    return provider() if provider is not None and server.config.appendonly else []


def _loading_lines(server: Any, now: float) -> list[str]:
    if not server.loading:
        return []
    start = _attr(server, "loading_start_time", now)
    total = _attr(server, "loading_total_bytes", 0)
    loaded = _attr(server, "loading_loaded_bytes", 0)
    elapsed = now - start
    perc = loaded * 100.0 / total if total else 0.0
    eta = int((total - loaded) / (loaded / elapsed)) if loaded and elapsed > 0 else 1
    return [
        f"loading_start_time:{int(start)}",
        f"loading_total_bytes:{total}",
        f"loading_rdb_used_mem:{_attr(server, 'loading_rdb_used_mem', 0)}",
        f"loading_loaded_bytes:{loaded}",
        "loading_loaded_perc:%.2f" % perc,
        f"loading_eta_seconds:{eta}",
    ]


def _stats_section(server: Any) -> list[str]:
    inst = server.instantaneous
    pubsub = _attr(server, "pubsub_channels", None)
    patterns = _attr(server, "pubsub_patterns", None)
    shard = _attr(server, "pubsub_shard_channels", None)
    return [
        f"total_connections_received:{server.stat_numconnections}",
        f"total_commands_processed:{server.stat_numcommands}",
        f"instantaneous_ops_per_sec:{int(inst('command'))}",
        f"total_net_input_bytes:{server.stat_net_input_bytes}",
        f"total_net_output_bytes:{server.stat_net_output_bytes}",
        f"total_net_repl_input_bytes:{_attr(server, 'stat_net_repl_input_bytes', 0)}",
        f"total_net_repl_output_bytes:{_attr(server, 'stat_net_repl_output_bytes', 0)}",
        "instantaneous_input_kbps:%.2f" % (inst("net_input") / 1024),
        "instantaneous_output_kbps:%.2f" % (inst("net_output") / 1024),
        "instantaneous_input_repl_kbps:%.2f" % (inst("net_repl_input") / 1024),
        "instantaneous_output_repl_kbps:%.2f" % (inst("net_repl_output") / 1024),
        f"rejected_connections:{server.stat_rejected_conn}",
        f"sync_full:{_attr(server, 'stat_sync_full', 0)}",
        f"sync_partial_ok:{_attr(server, 'stat_sync_partial_ok', 0)}",
        f"sync_partial_err:{_attr(server, 'stat_sync_partial_err', 0)}",
        f"expired_keys:{server.stat_expiredkeys}",
        "expired_stale_perc:%.2f" % (server.stat_expired_stale_perc * 100),
        f"expired_time_cap_reached_count:{server.stat_expired_time_cap_reached_count}",
        f"expire_cycle_cpu_milliseconds:{server.stat_expire_cycle_time_used // 1000}",
        f"evicted_keys:{server.stat_evictedkeys}",
        f"evicted_clients:{_attr(server, 'stat_evictedclients', 0)}",
        f"total_eviction_exceeded_time:{_attr(server, 'stat_total_eviction_exceeded_time', 0)}",
        f"current_eviction_exceeded_time:{_attr(server, 'current_eviction_exceeded_time', 0)}",
        f"keyspace_hits:{server.stat_keyspace_hits}",
        f"keyspace_misses:{server.stat_keyspace_misses}",
        f"pubsub_channels:{_count(pubsub)}",
        f"pubsub_patterns:{_count(patterns)}",
        f"pubsubshard_channels:{_count(shard)}",
        f"latest_fork_usec:{_attr(server, 'stat_fork_time', 0)}",
        f"total_forks:{_attr(server, 'stat_total_forks', 0)}",
        "migrate_cached_sockets:0",
        f"slave_expires_tracked_keys:{_attr(server, 'slave_expires_tracked_keys', 0)}",
        "active_defrag_hits:0",
        "active_defrag_misses:0",
        "active_defrag_key_hits:0",
        "active_defrag_key_misses:0",
        "total_active_defrag_time:0",
        "current_active_defrag_time:0",
        f"tracking_total_keys:{_attr(server, 'tracking_total_keys', 0)}",
        f"tracking_total_items:{_attr(server, 'tracking_total_items', 0)}",
        f"tracking_total_prefixes:{_attr(server, 'tracking_total_prefixes', 0)}",
        f"unexpected_error_replies:{server.stat_unexpected_error_replies}",
        f"total_error_replies:{server.stat_total_error_replies}",
        f"dump_payload_sanitizations:{_attr(server, 'stat_dump_payload_sanitizations', 0)}",
        f"total_reads_processed:{_attr(server, 'stat_total_reads_processed', 0)}",
        f"total_writes_processed:{_attr(server, 'stat_total_writes_processed', 0)}",
        f"io_threaded_reads_processed:{_attr(server, 'stat_io_reads_processed', 0)}",
        f"io_threaded_writes_processed:{_attr(server, 'stat_io_writes_processed', 0)}",
        "reply_buffer_shrinks:0",
        "reply_buffer_expands:0",
    ]


def _backlog(server: Any) -> tuple[int, int, int, int]:
    """(size, active, first_byte_offset, histlen) of the replication backlog."""
    bl = _attr(server, "repl_backlog", None)
    size = getattr(server.config, "repl_backlog_size", REPL_BACKLOG_DEFAULT)
    if bl is None:
        return size, 0, 0, 0
    return (getattr(bl, "size", size), 1, getattr(bl, "offset", 0),
            getattr(bl, "histlen", 0))


def _replication_section(server: Any) -> list[str]:
    repl = getattr(server, "repl", None)
    if repl is not None:
        return repl.info_lines()
    replid, replid2 = replication_ids(server)
    size, active, first, histlen = _backlog(server)
    role = "slave" if server.masterhost else "master"
    lines = [f"role:{role}"]
    if not server.masterhost:
        lines.append(f"connected_slaves:{_attr(server, 'connected_replicas', 0)}")
    lines += [
        f"master_failover_state:{_attr(server, 'failover_state', 'no-failover')}",
        f"master_replid:{replid}",
        f"master_replid2:{replid2}",
        f"master_repl_offset:{_attr(server, 'master_repl_offset', 0)}",
        f"second_repl_offset:{_attr(server, 'second_replid_offset', -1)}",
        f"repl_backlog_active:{active}",
        f"repl_backlog_size:{size}",
        f"repl_backlog_first_byte_offset:{first}",
        f"repl_backlog_histlen:{histlen}",
    ]
    return lines


def _cpu_section(server: Any) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    thread = getattr(resource, "RUSAGE_THREAD", None)
    th = resource.getrusage(thread) if thread is not None else me
    return [
        f"used_cpu_sys:{_fmt_rusage(me.ru_stime)}",
        f"used_cpu_user:{_fmt_rusage(me.ru_utime)}",
        f"used_cpu_sys_children:{_fmt_rusage(ch.ru_stime)}",
        f"used_cpu_user_children:{_fmt_rusage(ch.ru_utime)}",
        f"used_cpu_sys_main_thread:{_fmt_rusage(th.ru_stime)}",
        f"used_cpu_user_main_thread:{_fmt_rusage(th.ru_utime)}",
    ]


def _commandstats_section(server: Any) -> list[str]:
    lines = []
    for cmd in server.commands.all_commands():
        if cmd.calls or cmd.failed_calls or cmd.rejected_calls:
            per_call = _c_float(cmd.usec / cmd.calls) if cmd.calls else 0.0
            lines.append(
                "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,"
                "failed_calls=%d" % (safe_info_string(cmd.fullname), cmd.calls, cmd.usec,
                                     per_call, cmd.rejected_calls, cmd.failed_calls))
    return lines


def _latencystats_section(server: Any) -> list[str]:
    from omakase.commands.latency import percentiles_line
    percentiles = server.config.latency_tracking_info_percentiles
    return [percentiles_line(safe_info_string(cmd.fullname), h, percentiles)
            for cmd, h in server.latency.histograms.items() if h]


def _errorstats_section(server: Any) -> list[str]:
    # Redis keeps them in a radix tree: sorted by the error code's bytes.
    return ["errorstat_%s:count=%d" % (safe_info_string(code), n)
            for code, n in sorted(server.errorstats.items(),
                                  key=lambda kv: kv[0].encode("utf-8", "surrogateescape"))]


def _keyspace_section(server: Any) -> list[str]:
    lines = []
    for db in server.dbs:
        keys = len(db)
        if keys:
            lines.append(f"db{db.id}:keys={keys},expires={db.expires.used},avg_ttl={db.avg_ttl}")
    return lines


# (title, names that select it, in default?, generator)
SECTIONS: tuple[tuple[str, tuple[str, ...], bool, Callable[[Any], list[str]] | None], ...] = (
    ("Server", ("server",), True, _server_section),
    ("Clients", ("clients",), True, _clients_section),
    ("Memory", ("memory",), True, _memory_section),
    ("Persistence", ("persistence",), True, _persistence_section),
    ("Stats", ("stats",), True, _stats_section),
    ("Replication", ("replication",), True, _replication_section),
    ("CPU", ("cpu",), True, _cpu_section),
    ("Modules", ("module_list", "modules"), True, None),
    ("Commandstats", ("commandstats",), False, _commandstats_section),
    ("Errorstats", ("errorstats",), True, _errorstats_section),
    ("Latencystats", ("latencystats",), False, _latencystats_section),
    ("Cluster", ("cluster",), True, lambda server: ["cluster_enabled:0"]),
    ("Keyspace", ("keyspace",), True, _keyspace_section),
)


def parse_sections(args: list[bytes]) -> tuple[set[str], bool]:
    """genInfoSectionDict: (requested section names, all_sections)."""
    if not args:
        return set(DEFAULT_SECTIONS), False
    wanted: set[str] = set()
    all_sections = False
    for a in args:
        name = a.decode("utf-8", "replace").lower()
        if name == "default":
            wanted.update(DEFAULT_SECTIONS)
        elif name in ("all", "everything"):
            all_sections = True
        else:
            wanted.add(name)
    return wanted, all_sections


def gen_info_string(server: Any, args: list[bytes]) -> str:
    """genRedisInfoString for the sections ``args`` name."""
    wanted, all_sections = parse_sections(args)
    providers = getattr(server, "info_providers", None) or {}
    out: list[str] = []
    for title, names, _default, gen in SECTIONS:
        if not (all_sections or any(n in wanted for n in names)):
            continue
        if out:
            out.append("")
        out.append(f"# {title}")
        if gen is not None:
            out.extend(gen(server))
        extra = providers.get(names[0])
        if extra is not None:
            out.extend(extra(server))
    if not out:
        return ""
    return "\r\n".join(out) + "\r\n"


@command("info")
def info_command(c: Any, argv: list[bytes]) -> None:
    text = gen_info_string(c.server, argv[1:])
    c.add_reply_verbatim(text.encode("utf-8", "surrogateescape"), b"txt")
