"""Logging in Redis's exact format (``serverLog``/``serverLogRaw`` in server.c).

Every line is::

    <pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <level> <message>

    12345:M 25 Nov 2026 20:00:51.276 * Ready to accept connections

``role`` is ``M`` (master), ``S`` (replica), ``C`` (a forked RDB/AOF child,
and also the process itself before the server is initialised, exactly as
Redis prints its first start-up lines) or ``X`` (sentinel).  ``level`` is
``.`` debug, ``-`` verbose, ``*`` notice, ``#`` warning.  Month names are
always English (Redis never sets LC_TIME), time is local time.

Where the lines go follows the configuration, read live from the ``Config``
at every call, so ``CONFIG SET loglevel`` needs no listener:

* ``loglevel`` filters (a message below it costs one dict lookup);
* ``logfile ""`` writes to stdout and flushes each line; a path is opened in
  append mode, written and closed for every line, as Redis does, so log
  rotation (move the file away) needs no signal;
* ``syslog-enabled yes`` also sends each message to syslog with
  ``syslog-ident`` and ``syslog-facility`` (stdlib ``syslog``).

A message is cut to 1023 characters like Redis's ``LOG_MAX_LEN`` buffer;
``raw`` writes text as is (no prefix, no newline, no cut), for the ASCII logo
and crash reports.

The module has no state of its own: the pid and role of the main process live
in the ``Logger`` (``set_role``), and a process that forks and keeps using the
same logger is recognised as a child because its pid differs.  ``Logger`` can
also be built without a config (defaults: notice, stdout), or through the
``create_logger`` factory.
"""
from __future__ import annotations

import os
import sys
import time
from types import MappingProxyType
from typing import Any, TextIO

LL_DEBUG = 0
LL_VERBOSE = 1
LL_NOTICE = 2
LL_WARNING = 3
LOG_MAX_LEN = 1024

LEVELS = MappingProxyType({"debug": LL_DEBUG, "verbose": LL_VERBOSE, "notice": LL_NOTICE,
                           "warning": LL_WARNING})
_LEVEL_CHARS = ".-*#"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_timestamp(t_ns: int) -> str:
    """``%d %b %Y %H:%M:%S.`` plus milliseconds, in local time."""
    sec, ns = divmod(t_ns, 1_000_000_000)
    tm = time.localtime(sec)
    return "%02d %s %d %02d:%02d:%02d.%03d" % (tm.tm_mday, _MONTHS[tm.tm_mon - 1], tm.tm_year,
                                              tm.tm_hour, tm.tm_min, tm.tm_sec, ns // 1_000_000)


class Logger:
    """serverLog for one server.

    ``config`` is anything with ``loglevel`` (str), ``logfile`` (str) and,
    optionally, ``syslog_enabled``, ``syslog_ident``, ``syslog_facility``;
    None means notice level on ``stream``.  ``stream`` replaces stdout (tests).
    """
    __slots__ = ("config", "stream", "role", "main_pid", "_syslog_open")

    def __init__(self, config: Any = None, stream: TextIO | None = None) -> None:
        self.config = config
        self.stream = stream
        self.role = "C"              # until set_role(): Redis prints 'C' before initServer
        self.main_pid: int | None = None
        self._syslog_open = False

    def set_role(self, ch: str) -> None:
        """'M', 'S' or 'X' from now on for this process ('C' in its children)."""
        if ch not in ("M", "S", "C", "X"):
            raise ValueError(f"bad log role {ch!r}")
        self.role = ch
        self.main_pid = os.getpid()

    # -- the API -----------------------------------------------------------

    def debug(self, msg: str) -> None:
        self.log(LL_DEBUG, msg)

    def verbose(self, msg: str) -> None:
        self.log(LL_VERBOSE, msg)

    def notice(self, msg: str) -> None:
        self.log(LL_NOTICE, msg)

    def warning(self, msg: str) -> None:
        self.log(LL_WARNING, msg)

    def enabled(self, level: int) -> bool:
        """True if a message at ``level`` would be written (to skip building it)."""
        cfg = self.config
        return level >= (LEVELS.get(cfg.loglevel, LL_NOTICE) if cfg is not None else LL_NOTICE)

    def log(self, level: int, msg: str) -> None:
        if not self.enabled(level):
            return
        if len(msg) >= LOG_MAX_LEN:
            msg = msg[:LOG_MAX_LEN - 1]
        pid = os.getpid()
        if self.role == "X":
            role = "X"
        elif self.main_pid is None or pid != self.main_pid:
            role = "C"
        else:
            role = self.role
        line = "%d:%s %s %s %s\n" % (pid, role, format_timestamp(time.time_ns()),
                                     _LEVEL_CHARS[level], msg)
        self._write(line)
        self._syslog(level, msg)

    def raw(self, msg: str, level: int = LL_NOTICE) -> None:
        """serverLogRaw with LL_RAW: the text exactly, no prefix or newline."""
        if not self.enabled(level):
            return
        self._write(msg)
        self._syslog(level, msg)

    # -- output --------------------------------------------------------------

    def _write(self, text: str) -> None:
        cfg = self.config
        logfile = getattr(cfg, "logfile", "") if cfg is not None else ""
        data = text.encode("utf-8", "surrogateescape")
        if not logfile:
            stream = self.stream if self.stream is not None else sys.stdout
            try:
                buf = getattr(stream, "buffer", None)
                if buf is not None:
                    stream.flush()
                    buf.write(data)
                    buf.flush()
                else:
                    stream.write(text)
                    stream.flush()
            except (OSError, ValueError):
                pass                   # stdout closed: Redis ignores it too
            return
        try:
            with open(logfile, "ab") as f:
                f.write(data)
        except OSError:
            pass                       # fopen() failed: the line is lost, as in Redis

    def _syslog(self, level: int, msg: str) -> None:
        cfg = self.config
        if cfg is None or not getattr(cfg, "syslog_enabled", False):
            return
        try:
            import syslog
        except ImportError:            # not on this platform
            return
        if not self._syslog_open:
            facility = getattr(cfg, "syslog_facility", "local0")
            fac = syslog.LOG_USER if facility == "user" else getattr(
                syslog, "LOG_" + facility.upper(), syslog.LOG_LOCAL0)
            syslog.openlog(getattr(cfg, "syslog_ident", "redis"),
                           syslog.LOG_PID | syslog.LOG_NDELAY | syslog.LOG_NOWAIT, fac)
            self._syslog_open = True
        prio = (syslog.LOG_DEBUG, syslog.LOG_INFO, syslog.LOG_NOTICE, syslog.LOG_WARNING)[level]
        syslog.syslog(prio, msg)


def create_logger(config: Any = None, stream: TextIO | None = None, role: str | None = None) -> Logger:
    """Build a Logger; with ``role`` it is already set (``set_role``)."""
    logger = Logger(config, stream)
    if role is not None:
        logger.set_role(role)
    return logger
