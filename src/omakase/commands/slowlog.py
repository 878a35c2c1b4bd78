"""SLOWLOG and the after-call hook shared by the operator tools
(Redis's ``slowlog.c``, plus the tail of ``call()`` in ``server.c``).

The after-call hook
-------------------
``Server.call`` ends with two cheap steps for the operator tools:

* per-command latency histograms (``latency-tracking``, Redis's default):
  one ``cmd.latency_samples.append(duration)``; ``commands.latency`` folds
  the samples into the histograms when they are read and from serverCron
  (measured: a list append instead of a hook call that bumped a dict
  counter, about 0.4 µs less per command);
* one comparison, ``duration >= server.after_call_us``, guarding
  ``server.after_call_hook``: MONITOR feeds (``after_call_us`` is 0 while a
  monitor is attached), the slowlog (``slowlog-log-slower-than``, µs, -1 =
  off) and the latency monitor (``latency-monitor-threshold``, ms, 0 =
  off).  ``refresh_threshold`` keeps ``after_call_us`` at the lowest value
  any of them needs.

The hook gets the command from ``call()`` itself, so a nested call (EXEC)
needs no lookup.

Slowlog entries
---------------
As ``slowlogCreateEntry``: at most 32 arguments (the last one replaced by
"... (N more arguments)"), arguments longer than 128 bytes cut to 128 bytes
plus "... (N more bytes)"; id, unix time, duration (µs), client address and
name.  New entries go to the head; the list is trimmed to ``slowlog-max-len``
when an entry is added (as Redis: lowering the limit trims on the next push).
Commands flagged ``skip_slowlog`` (EXEC) are not logged.

Redaction (Redis's ``redactClientCommandArgument``): AUTH (when it has at
most 2 arguments), HELLO ... AUTH user pass (when the protocol version is
valid), MIGRATE AUTH/AUTH2 and the values of sensitive configs in
CONFIG SET are shown as "(redacted)" in the slowlog and to MONITOR.
DIVERGENCE: CONFIG SET redacts every sensitive pair even after an unknown
option (Redis stops redacting at the first invalid pair).
"""
from __future__ import annotations

import time
from typing import Any


from omakase.commands.registry import CmdFlag, command
from omakase.networking import ClientFlag
from omakase.util import parse_ll

MAX_ARGC = 32
MAX_STRING = 128
REDACTED = b"(redacted)"
_SKIP_SLOWLOG = CmdFlag.SKIP_SLOWLOG
_FAST = CmdFlag.FAST
_BLOCKED = ClientFlag.BLOCKED
_SKIP_MONITOR_OR_ADMIN = CmdFlag.SKIP_MONITOR | CmdFlag.ADMIN

SLOWLOG_HELP = [
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
]


class SlowLog:
    __slots__ = ("entries", "next_id")

    def __init__(self) -> None:
        self.entries: list[tuple] = []    # newest first
        self.next_id = 0

    def push(self, c: Any, argv: list[bytes], duration: int, max_len: int) -> None:
        argc = len(argv)
        slargc = argc if argc <= MAX_ARGC else MAX_ARGC
        args = []
        for j in range(slargc):
            if slargc != argc and j == slargc - 1:
                args.append(b"... (%d more arguments)" % (argc - slargc + 1))
                break
            a = argv[j]
            if len(a) > MAX_STRING:
                a = a[:MAX_STRING] + b"... (%d more bytes)" % (len(a) - MAX_STRING)
            args.append(a)
        self.entries.insert(0, (self.next_id, int(time.time()), duration, args,
                                c.addr.encode(), c.name or b""))
        self.next_id += 1
        if len(self.entries) > max_len:
            del self.entries[max_len:]


def slowlog_push_if_needed(server: Any, c: Any, cmd: Any, argv: list[bytes],
                           duration: int) -> None:
    """slowlogPushCurrentCommand: past slowlog-log-slower-than, unless the
    command is SKIP_SLOWLOG; the arguments as redactClientCommandArgument
    leaves them."""
    if 0 <= server.after_call_state.slowlog_us <= duration and not cmd.flags & _SKIP_SLOWLOG:
        server.slowlog.push(c, redact(cmd, argv) if cmd.fullname in _REDACTING else argv,
                            duration, server.config.slowlog_max_len)


def redact(cmd: Any, argv: list[bytes]) -> list[bytes]:
    """The argv as Redis shows it after redactClientCommandArgument."""
    name = cmd.fullname
    if name == "auth":
        if len(argv) <= 3:
            return [argv[0]] + [REDACTED] * (len(argv) - 1)
        return argv
    if name == "hello":
        if len(argv) >= 2:
            ok, ver = parse_ll(argv[1])
            if not ok or ver < 2 or ver > 3:
                return argv
        out = list(argv)
        j = 2
        while j < len(out):
            more = len(out) - 1 - j
            opt = out[j].lower()
            if opt == b"auth" and more >= 2:
                out[j + 1] = out[j + 2] = REDACTED
                j += 3
            elif opt == b"setname" and more:
                j += 2
            else:
                break
        return out
    if name == "config|set":
        if len(argv) % 2:
            return argv
        from omakase.config import Config
        out = list(argv)
        for j in range(2, len(out) - 1, 2):
            if Config.is_sensitive(out[j]):
                out[j + 1] = REDACTED
        return out
    if name == "migrate":
        out = list(argv)
        j = 6
        while j < len(out):
            more = len(out) - 1 - j
            opt = out[j].lower()
            if opt == b"auth" and more:
                out[j + 1] = REDACTED
                j += 2
            elif opt == b"auth2" and more >= 2:
                out[j + 1] = out[j + 2] = REDACTED
                j += 3
            elif opt in (b"copy", b"replace"):
                j += 1
            else:
                break
        return out
    return argv


_REDACTING = {"auth", "hello", "config|set", "migrate"}


def install(server: Any) -> None:
    """Attach the slowlog, MONITOR and the latency monitor to ``server``."""
    from omakase.commands import latency, monitor
    server.slowlog = SlowLog()
    server.monitors = []
    latency.install(server)
    cfg = server.config
    commands = server.commands
    monitor_feed = monitor.feed
    latency_state = server.latency

    state = server.after_call_state = _State()
    skip = _SKIP_MONITOR_OR_ADMIN

    def after_call(c: Any, cmd: Any, argv: list[bytes], duration: int) -> None:
        """Monitors, slowlog and latency events: only past a threshold.
        A command that blocked goes to the slowlog when it is served
        (``blocking.update_stats_on_unblock``), with its whole duration."""
        flags = cmd.flags
        if server.monitors and not flags & skip and not server.loading:
            monitor_feed(server, c, redact(cmd, argv) if cmd.fullname in _REDACTING else argv)
        if not c.flags & _BLOCKED:
            slowlog_push_if_needed(server, c, cmd, argv, duration)
        if state.latency_us and duration >= state.latency_us:
            latency_state.add_sample(b"fast-command" if flags & _FAST else b"command",
                                     duration // 1000)

    server.after_call_hook = after_call

    def refresh(*_: Any) -> None:
        refresh_threshold(server)

    server.refresh_after_call_threshold = refresh
    for name in ("slowlog-log-slower-than", "latency-monitor-threshold", "latency-tracking"):
        cfg.add_listener(name, refresh)
    server.client_free_hooks.append(monitor.remove_monitor)
    if not hasattr(server, "client_reset_hooks"):
        server.client_reset_hooks = []
    server.client_reset_hooks.append(monitor.remove_monitor)
    if not hasattr(server, "reset_stats_hooks"):
        server.reset_stats_hooks = []
    server.reset_stats_hooks.append(latency_state.reset_histograms)
    refresh_threshold(server)


class _State:
    """Config values the after-call hook reads, refreshed on CONFIG SET."""
    __slots__ = ("tracking", "slowlog_us", "latency_us", "rare_us")

    def __init__(self) -> None:
        self.tracking = False
        self.slowlog_us = -1
        self.latency_us = 0
        self.rare_us = 1 << 62


def refresh_threshold(server: Any) -> None:
    """The lowest duration (µs) any after-call consumer wants."""
    cfg = server.config
    st = server.after_call_state
    st.tracking = bool(cfg.latency_tracking)
    st.slowlog_us = cfg.slowlog_log_slower_than
    st.latency_us = cfg.latency_monitor_threshold * 1000
    candidates = []
    if cfg.slowlog_log_slower_than >= 0:
        candidates.append(cfg.slowlog_log_slower_than)
    if cfg.latency_monitor_threshold > 0:
        candidates.append(cfg.latency_monitor_threshold * 1000)
    st.rare_us = min(candidates) if candidates else 1 << 62
    latency = getattr(server, "latency", None)
    if latency is not None and server.latency_tracking != st.tracking:
        latency.fold_samples()      # samples taken so far follow the old setting
    server.latency_tracking = st.tracking
    server.after_call_us = 0 if server.monitors else st.rare_us


@command("slowlog|help")
def slowlog_help_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_help("slowlog", SLOWLOG_HELP)


@command("slowlog|len")
def slowlog_len_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_int(len(c.server.slowlog.entries))


@command("slowlog|reset")
def slowlog_reset_command(c: Any, argv: list[bytes]) -> None:
    c.server.slowlog.entries.clear()
    c.add_reply_ok()


@command("slowlog|get")
def slowlog_get_command(c: Any, argv: list[bytes]) -> None:
    entries = c.server.slowlog.entries
    count = 10
    if len(argv) > 3:
        c.add_reply_error("unknown subcommand or wrong number of arguments for '%s'. "
                          "Try SLOWLOG HELP." % argv[1][:128].decode("utf-8", "replace"))
        return
    if len(argv) == 3:
        ok, count = parse_ll(argv[2])
        if not ok or count < -1:
            c.add_reply_error("count should be greater than or equal to -1")
            return
        if count == -1:
            count = len(entries)
    selected = entries[:count]
    c.add_reply_array_len(len(selected))
    for eid, ts, duration, args, addr, name in selected:
        c.add_reply_array_len(6)
        c.add_reply_int(eid)
        c.add_reply_int(ts)
        c.add_reply_int(duration)
        c.add_reply_bulks(args)
        c.add_reply_bulk(addr)
        c.add_reply_bulk(name)
