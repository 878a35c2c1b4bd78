"""The latency monitor and per-command latency histograms: LATENCY
LATEST / HISTORY / RESET / GRAPH / DOCTOR / HISTOGRAM / HELP (Redis's
``latency.c``, ``sparkline.c`` and the histogram part of ``call()``).

Events
------
``add_sample(event, ms)`` is ``latencyAddSample``: one time series of 160
(time, latency) samples per event, at most one sample per second (a second
sample in the same second only raises it), plus the all-time max.  The
after-call hook (``slowlog.py``) adds "command" / "fast-command" samples
when ``latency-monitor-threshold`` (ms) is set and a command took at least
that long; other subsystems may call ``server.latency.add_sample_if_needed``.

Histograms
----------
With ``latency-tracking yes`` every command's duration is recorded.  Redis
keeps an HdrHistogram per command (values in ns, clamped to 1 ns .. 1 s,
2 significant digits: 256 sub-buckets per power of two).  A duration here is
a whole number of µs (as Redis's ``ustime`` difference), so the histogram is
kept as a sparse dict ``µs -> count``: one dict update per command, and
everything Redis derives from its HdrHistogram can be derived exactly from
it: LATENCY HISTOGRAM's cumulative buckets (iterated logarithmically from
1024 ns by powers of two; each step's "highest equivalent value" / 1000 is
the label: 1, 2, 4, 8, 16, 33, 66, 132 ... µs) and INFO latencystats'
percentiles (``hdr_value_at_percentile``: the highest equivalent value of
the first recorded value whose cumulative count reaches the percentile's
share, printed in µs with ``%.3f``).  CONFIG RESETSTAT clears them.

LATENCY DOCTOR is ``createLatencyReport``: per event its sample count,
average, mean deviation and period, then the advice the events call for
(slow log settings, fork rate, disks, fsync policy, hz, large objects,
transparent huge pages), in Redis's words and order.

DIVERGENCES: LATENCY LATEST, LATENCY DOCTOR and a bare LATENCY HISTOGRAM
list events / commands in first-seen order (Redis: hash-table order).
"""
from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from typing import Any

from omakase.commands.registry import command

TS_LEN = 160
GRAPH_COLS = 80
# Bucket labels (µs): highest_equivalent_value(1024 * 2**k) // 1000 for an
# HdrHistogram with 2 significant digits (sub-bucket count 256).
LABELS = [((1 << (10 + k)) + (1 << (3 + k)) - 1) // 1000 for k in range(21)]
_MAX_US = 1_000_000          # values above 1 s are clamped, as by hdr max
HDR_MIN_NS = 1               # LATENCY_HISTOGRAM_MIN_VALUE
HDR_MAX_NS = 1_000_000_000   # LATENCY_HISTOGRAM_MAX_VALUE

LATENCY_HELP = [
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram "
    "for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
]

DAVE_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
    "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
    "order to enable it. If we weren't in a deep space mission I'd suggest to take a look "
    "at https://redis.io/topics/latency-monitor.\n")
DAVE_NOTHING = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, "
    "not in the slightest bit. I honestly think you ought to sit down calmly, take a "
    "stress pill, and think things over.\n")


class TimeSeries:
    __slots__ = ("times", "latencies", "idx", "max")

    def __init__(self) -> None:
        self.times = [0] * TS_LEN
        self.latencies = [0] * TS_LEN
        self.idx = 0
        self.max = 0

    def samples(self) -> list[tuple[int, int]]:
        out = []
        for j in range(TS_LEN):
            i = (self.idx + j) % TS_LEN
            if self.times[i]:
                out.append((self.times[i], self.latencies[i]))
        return out


class Latency:
    __slots__ = ("server", "events", "_histograms")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.events: dict[bytes, TimeSeries] = {}
        self._histograms: dict[Any, Counter] = {}   # cmd -> {µs: count}

    @property
    def histograms(self) -> dict[Any, Counter]:
        """cmd -> {µs: count}, with every pending sample folded in."""
        self.fold_samples()
        return self._histograms

    def fold_samples(self) -> None:
        """Move the durations call() appended to ``cmd.latency_samples``
        into the commands' calls/usec counters and, with latency-tracking
        on, the per-command histograms (one C-level count per command).
        Runs when the histograms are read and from serverCron, so the
        pending lists stay short."""
        hists = self._histograms
        tracking = self.server.latency_tracking
        for cmd in self.server.commands.all_commands():
            if cmd.latency_samples:
                samples = cmd.fold_samples()
                if tracking:
                    h = hists.get(cmd)
                    if h is None:
                        h = hists[cmd] = Counter()
                    h.update(samples)

    def add_histogram_sample(self, cmd: Any, usec: int) -> None:
        """updateCommandLatencyHistogram for a duration measured outside
        call() (a blocked command when it is served)."""
        if self.server.latency_tracking:
            h = self._histograms.get(cmd)
            if h is None:
                h = self._histograms[cmd] = Counter()
            h[usec] += 1

    def add_sample(self, event: bytes, ms: int) -> None:
        """latencyAddSample."""
        ts = self.events.get(event)
        if ts is None:
            ts = self.events[event] = TimeSeries()
        now = int(time.time())
        if ms > ts.max:
            ts.max = ms
        prev = (ts.idx + TS_LEN - 1) % TS_LEN
        if ts.times[prev] == now:
            if ms > ts.latencies[prev]:
                ts.latencies[prev] = ms
            return
        ts.times[ts.idx] = now
        ts.latencies[ts.idx] = ms
        ts.idx = (ts.idx + 1) % TS_LEN

    def add_sample_if_needed(self, event: bytes, ms: int) -> None:
        threshold = self.server.config.latency_monitor_threshold
        if threshold and ms >= threshold:
            self.add_sample(event, ms)

    def reset_histograms(self) -> None:
        self._histograms.clear()
        for cmd in self.server.commands.all_commands():
            cmd.latency_samples = []


def install(server: Any) -> None:
    server.latency = Latency(server)
    server.cron_hooks.append(server.latency.fold_samples)


def hdr_equivalent_range_ns(us: int) -> tuple[int, int]:
    """The HdrHistogram (2 significant digits) bucket holding a duration:
    (lowest, highest) equivalent values in ns."""
    v = us * 1000
    v = HDR_MIN_NS if v < HDR_MIN_NS else HDR_MAX_NS if v > HDR_MAX_NS else v
    bucket = (v | 255).bit_length() - 8
    low = (v >> bucket) << bucket
    return low, low + (1 << bucket) - 1


def value_at_percentile_us(h: dict[int, int], percentile: float) -> float:
    """hdr_value_at_percentile, in µs."""
    total = sum(h.values())
    want = max(int(min(percentile, 100.0) / 100 * total + 0.5), 1)
    seen = 0
    for us in sorted(h):
        seen += h[us]
        if seen >= want:
            low, high = hdr_equivalent_range_ns(us)
            return (low if percentile == 0.0 else high) / 1000
    return 0.0


def _percentile_label(p: float) -> str:
    text = "%f" % p
    return text.rstrip("0").rstrip(".") if "." in text else text


def percentiles_line(name: str, h: dict[int, int], percentiles: list[float]) -> str:
    """One INFO latencystats line (fillPercentileDistributionLatencies)."""
    parts = ["p%s=%.3f" % (_percentile_label(p), value_at_percentile_us(h, p))
             for p in percentiles]
    return f"latency_percentiles_usec_{name}:" + ",".join(parts)


def _reply_cdf(c: Any, h: dict[int, int]) -> None:
    """fillCommandCDF: {calls, histogram_usec: {label: cumulative count}}."""
    buckets = [0] * len(LABELS)
    for us, n in h.items():
        buckets[bisect_left(LABELS, us if us < _MAX_US else _MAX_US)] += n
    c.add_reply_map_len(2)
    c.add_reply_bulk(b"calls")
    c.add_reply_int(sum(buckets))
    c.add_reply_bulk(b"histogram_usec")
    pairs = []
    total = 0
    for k, n in enumerate(buckets):
        if n:
            total += n
            pairs.append((LABELS[k], total))
    c.add_reply_map_len(len(pairs))
    for label, cum in pairs:
        c.add_reply_int(label)
        c.add_reply_int(cum)


@command("latency|help")
def latency_help_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_help("latency", LATENCY_HELP)


@command("latency|latest")
def latency_latest_command(c: Any, argv: list[bytes]) -> None:
    events = c.server.latency.events
    c.add_reply_array_len(len(events))
    for name, ts in events.items():
        last = (ts.idx + TS_LEN - 1) % TS_LEN
        c.add_reply_array_len(4)
        c.add_reply_bulk(name)
        c.add_reply_int(ts.times[last])
        c.add_reply_int(ts.latencies[last])
        c.add_reply_int(ts.max)


@command("latency|history")
def latency_history_command(c: Any, argv: list[bytes]) -> None:
    ts = c.server.latency.events.get(argv[2])
    if ts is None:
        c.add_reply_array_len(0)
        return
    samples = ts.samples()
    c.add_reply_array_len(len(samples))
    for t, ms in samples:
        c.add_reply_array_len(2)
        c.add_reply_int(t)
        c.add_reply_int(ms)


@command("latency|reset")
def latency_reset_command(c: Any, argv: list[bytes]) -> None:
    events = c.server.latency.events
    if len(argv) == 2:
        n = len(events)
        events.clear()
    else:
        n = 0
        for name in argv[2:]:
            if events.pop(name, None) is not None:
                n += 1
    c.add_reply_int(n)


@command("latency|graph")
def latency_graph_command(c: Any, argv: list[bytes]) -> None:
    event = argv[2]
    ts = c.server.latency.events.get(event)
    if ts is None:
        c.add_reply_error("No samples available for event '%s'"
                          % event.decode("utf-8", "surrogateescape"))
        return
    c.add_reply_verbatim(render_graph(event, ts), b"txt")


def render_graph(event: bytes, ts: TimeSeries) -> bytes:
    """latencyCommandGenSparkeline + sparklineRender (4 rows, filled)."""
    now = int(time.time())
    values: list[int] = []
    labels: list[bytes] = []
    for t, ms in ts.samples():
        elapsed = now - t
        if elapsed < 60:
            label = b"%ds" % elapsed
        elif elapsed < 3600:
            label = b"%dm" % (elapsed // 60)
        elif elapsed < 86400:
            label = b"%dh" % (elapsed // 3600)
        else:
            label = b"%dd" % (elapsed // 86400)
        values.append(ms)
        labels.append(label)
    lo = min(values) if values else 0
    hi = max(values) if values else 0
    out = [b"%b - high %d ms, low %d ms (all time high %d ms)\n" % (event, hi, lo, ts.max),
           b"-" * GRAPH_COLS + b"\n"]
    for j in range(0, len(values), GRAPH_COLS):
        if j:
            out.append(b"\n")
        out.append(_render_range(values[j:j + GRAPH_COLS], labels[j:j + GRAPH_COLS],
                                 lo, hi, 4))
    return b"".join(out)


def _render_range(values: list[int], labels: list[bytes], lo: int, hi: int,
                  rows: int) -> bytes:
    """sparklineRenderRange with SPARKLINE_FILL and one label margin row."""
    fill = b"_o#"
    steps = 3 * rows
    relmax = float(hi - lo) or 1.0
    stepv = []
    for v in values:
        step = int(int((v - lo) * steps) / relmax)
        stepv.append(min(max(step, 0), steps - 1))
    out = []
    row = 0
    n = len(values)
    while True:
        chars = bytearray(b" " * n)
        more = False
        if row < rows:
            more = n > 0
            for j in range(n):
                idx = stepv[j] - (rows - row - 1) * 3
                if 0 <= idx < 3:
                    chars[j] = fill[idx]
                elif idx >= 3:
                    chars[j] = ord("|")
        elif row - rows < 1:
            more = n > 0             # the blank row between graph and labels
        else:
            pos = row - rows - 1
            for j in range(n):
                if len(labels[j]) > pos:
                    more = True
                    chars[j] = labels[j][pos]
        if not more:
            break
        out.append(bytes(chars) + b"\n")
        row += 1
    return b"".join(out)


# The advice LATENCY DOCTOR may give, in the order it prints them.
ADVICE = {
    "better_vm": "- If you are using a virtual machine, consider upgrading it with a faster one "
    "using a hypervisior that provides less latency during fork() calls. Xen is known to have "
    "poor fork() performance. Even in the context of the same VM provider, certain kinds of "
    "instances can execute fork faster than others.\n",
    "slowlog_enabled": "- There are latency issues with potentially slow commands you are "
    "using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET "
    "slowlog-log-slower-than {us}'. If the Slow log is disabled Redis is not able to log slow "
    "commands execution for you.\n",
    "slowlog_tuning": "- Your current Slow Log configuration only logs events that are slower "
    "than your configured latency monitor threshold. Please use 'CONFIG SET "
    "slowlog-log-slower-than {us}'.\n",
    "slowlog_inspect": "- Check your Slow Log to understand what are the commands you are "
    "running which are too slow to execute. Please check https://redis.io/commands/slowlog for "
    "more information.\n",
    "scheduler": "- The system is slow to execute Redis code paths not containing system "
    "calls. This usually means the system does not provide Redis CPU time to run for long "
    "periods. You should try to:\n"
    "  1) Lower the system load.\n"
    "  2) Use a computer / VM just for Redis if you are running other software in the same "
    "system.\n"
    "  3) Check if you have a \"noisy neighbour\" problem.\n"
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your "
    "system.\n"
    "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if "
    "you are using Jemalloc. However this may create fragmentation problems.\n",
    "local_disk": "- It is strongly advised to use local disks for persistence, especially if "
    "you are using AOF. Remote disks provided by platform-as-a-service providers are known to "
    "be slow.\n",
    "ssd": "- SSD disks are able to reduce fsync latency, and total time needed for "
    "snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely "
    "high write load SSD disks can be a good option. However Redis should perform reasonably "
    "with high load using normal disks. Use this advice as a last resort.\n",
    "data_writeback": "- Mounting ext3/4 filesystems with data=writeback can provide a "
    "performance boost compared to data=ordered, however this mode of operation provides less "
    "guarantees, and sometimes it can happen that after a hard crash the AOF file will have a "
    "half-written command at the end and will require to be repaired before Redis restarts.\n",
    "disk_contention": "- Try to lower the disk contention. This is often caused by other disk "
    "intensive processes running in the same computer (including other Redis instances).\n",
    "no_appendfsync": "- Assuming from the point of view of data safety this is viable in "
    "your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that "
    "fsync will not be performed while there is a child rewriting the AOF file or producing an "
    "RDB file (the moment where there is high disk contention).\n",
    "relax_fsync_policy": "- Your fsync policy is set to 'always'. It is very hard to get good "
    "performances with such a setup, if possible try to relax the fsync policy to "
    "'onesec'.\n",
    "write_load_info": "- Latency during the AOF atomic rename operation or when the final "
    "difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by "
    "very high write load, causing the AOF buffer to get very large. If possible try to send "
    "less commands to accomplish the same work, or use Lua scripts to group multiple "
    "operations into a single EVALSHA call.\n",
    "hz": "- In order to make the Redis keys expiring process more incremental, try to set the "
    "'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n",
    "large_objects": "- Deleting, expiring or evicting (because of maxmemory policy) large "
    "objects is a blocking operation. If you have very large objects that are often deleted, "
    "expired, or evicted, try to fragment those objects into multiple smaller objects.\n",
    "mass_eviction": "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or "
    "allocation of large objects via sets or sorted sets intersections, STORE option of SORT, "
    "Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure "
    "forcing the server to block trying to evict keys. \n",
    "disable_thp": "- I detected a non zero amount of anonymous huge pages used by your "
    "process. This creates very serious latency events in different conditions, especially "
    "when Redis is persisting on disk. To disable THP support use the command 'echo never > "
    "/sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local "
    "so that the command will be executed again after a reboot. Note that even if you have "
    "already disabled THP, you still need to restart the Redis process to get rid of the huge "
    "pages already created.\n",
}
# Event -> advice it triggers (createLatencyReport's per-event rules).
EVENT_ADVICE = {
    "fast-command": ("scheduler",),
    "aof-write-pending-fsync": ("local_disk", "disk_contention", "ssd", "data_writeback"),
    "aof-write-active-child": ("no_appendfsync", "data_writeback", "ssd"),
    "aof-write-alone": ("local_disk", "data_writeback", "ssd"),
    "aof-fsync-always": ("relax_fsync_policy",),
    "aof-fstat": ("disk_contention", "local_disk"),
    "rdb-unlink-temp-file": ("disk_contention", "local_disk"),
    "aof-rewrite-diff-write": ("write_load_info", "data_writeback", "ssd", "local_disk"),
    "aof-rename": ("write_load_info", "data_writeback", "ssd", "local_disk"),
    "expire-cycle": ("hz", "large_objects"),
    "eviction-del": ("large_objects",),
    "eviction-cycle": ("mass_eviction",),
}


def anon_huge_pages_bytes() -> int:
    """THPGetAnonHugePagesSize: AnonHugePages of this process."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"AnonHugePages:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def event_stats(ts: TimeSeries, now: int) -> tuple[int, int, int, float]:
    """analyzeLatencyForEvent: samples, average, mean absolute deviation
    (ms, integer arithmetic as Redis's) and the period per sample."""
    samples = ts.samples()
    n = len(samples)
    if not n:
        return 0, 0, 0, 0.0
    avg = sum(ms for _, ms in samples) // n
    mad = sum(abs(avg - ms) for _, ms in samples) // n
    period = (now - min(t for t, _ in samples)) or 1
    return n, avg, mad, period / n


def fork_rate_gb_per_sec(server: Any) -> float:
    """stat_fork_rate: memory forked per second of fork() time."""
    from omakase.commands.info import used_memory
    usec = getattr(server, "stat_fork_time", 0)
    return used_memory(server) * 1_000_000 / usec / (1024 ** 3) if usec else 0.0


def latency_report(server: Any) -> str:
    """createLatencyReport: the events, then the advice they call for."""
    cfg = server.config
    events = server.latency.events
    if not events and cfg.latency_monitor_threshold == 0:
        return DAVE_DISABLED
    advice: set[str] = set()
    out = []
    now = int(time.time())
    for num, (name, ts) in enumerate(events.items(), 1):
        if num == 1:
            out.append("Dave, I have observed latency spikes in this Redis instance. "
                       "You don't mind talking about it, do you Dave?\n\n")
        event = name.decode("utf-8", "replace")
        n, avg, mad, period = event_stats(ts, now)
        line = (f"{num}. {event}: {n} latency spikes (average {avg}ms, mean deviation "
                f"{mad}ms, period {period:.2f} sec). Worst all time event {ts.max}ms.")
        low = event.lower()
        if low == "fork":
            rate = fork_rate_gb_per_sec(server)
            quality = ("terrible" if rate < 10 else "poor" if rate < 25
                       else "good" if rate < 100 else "excellent")
            if rate < 25:
                advice.add("better_vm")
            line += f" Fork rate is {rate:.2f} GB/sec ({quality})."
        if low == "command":
            if cfg.slowlog_log_slower_than < 0 or cfg.slowlog_max_len == 0:
                advice.add("slowlog_enabled")
            elif cfg.slowlog_log_slower_than // 1000 > cfg.latency_monitor_threshold:
                advice.add("slowlog_tuning")
            advice.update(("slowlog_inspect", "large_objects"))
        advice.update(EVENT_ADVICE.get(low, ()))
        out.append(line + "\n")
    if anon_huge_pages_bytes() > 0:
        advice.add("disable_thp")
    if not events and not advice:
        return DAVE_NOTHING
    if not advice:
        out.append("\nWhile there are latency events logged, I'm not able to suggest any easy "
                   "fix. Please use the Redis community to get some help, providing this report "
                   "in your help request.\n")
        return "".join(out)
    # Two pieces of advice count (so the header is printed) but are shown
    # only when they apply.
    if cfg.appendfsync != "always":
        advice.discard("relax_fsync_policy")
    if server.hz >= 100:
        advice.discard("hz")
    out.append("\nI have a few advices for you:\n\n")
    us = cfg.latency_monitor_threshold * 1000
    for key, text in ADVICE.items():
        if key in advice:
            out.append(text.format(us=us) if "{us}" in text else text)
    return "".join(out)


@command("latency|doctor")
def latency_doctor_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_verbatim(latency_report(c.server).encode(), b"txt")


@command("latency|histogram")
def latency_histogram_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    hists = server.latency.histograms
    if len(argv) == 2:
        items = [(cmd, h) for cmd, h in hists.items() if h]
        c.add_reply_map_len(len(items))
        for cmd, h in items:
            c.add_reply_bulk(cmd.fullname.encode())
            _reply_cdf(c, h)
        return
    idx = c.add_reply_deferred_len()
    n = 0
    for name in argv[2:]:
        cmd = server.commands.lookup_by_fullname(name.decode("utf-8", "surrogateescape"))
        if cmd is None:
            continue
        h = hists.get(cmd)
        if h:
            c.add_reply_bulk(cmd.fullname.encode())
            _reply_cdf(c, h)
            n += 1
        if cmd.subcommands:
            for sub in cmd.subcommands.values():
                h = hists.get(sub)
                if h:
                    c.add_reply_bulk(sub.fullname.encode())
                    _reply_cdf(c, h)
                    n += 1
    c.set_deferred_map_len(idx, n)
