"""The ``omakase-server`` command: redis-server's command line and start-up.

Mirrors ``main()`` in Redis's server.c, in the same order:

1. ``-v``/``--version``, ``-h``/``--help`` as the first argument print and
   exit; ``--test-memory`` and ``--check-system`` (Redis's memtest and system
   checks) and sentinel mode are refused with a message and exit code 1.
2. The configuration: ``[config-file] [-] [--name value ...] [-]`` goes
   through ``Config.load_args`` (file, then stdin, then the options, so the
   last word wins).  A bad configuration prints Redis's exact
   ``*** FATAL CONFIG FILE ERROR`` block on stderr and exits 1.
3. ``daemonize yes`` (unless supervised by systemd/upstart) detaches: fork,
   setsid, fork again so the daemon can never reacquire a terminal (Redis
   forks once), stdio to /dev/null.  The first process exits 0.
4. The start-up log lines, each as Redis 7.0.15 prints them::

       # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo
       # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=N, just started
       # Configuration loaded
       * Running mode=standalone, port=6379.
       # Server initialized
       * Ready to accept connections        (logged by Server.run)

   The role character is 'C' until the server exists, then 'M' (or 'S' with
   ``replicaof``), as in Redis where it depends on ``server.pid``.
5. ``Server(config, logger, config_file=path).run()`` serves until shutdown
   and returns the exit code.  The pid file (``pidfile``, or
   /var/run/redis.pid when daemonized without one) is written after the
   server is built and removed by the server at shutdown.

DIVERGENCE: no ASCII-art logo (Redis shows one on a terminal; we always log
the "Running mode" line it prints otherwise); no memtest; modules cannot be
loaded, so ``loadmodule`` aborts start-up the way a failed module load does.
"""
from __future__ import annotations

import os
import socket
import sys
from typing import Any, TextIO

from omakase.config import REDIS_VERSION, Config, ConfigError, parse_command_line
from omakase.log import Logger

BITS = 64


def version_line() -> str:
    """What ``redis-server --version`` prints (build says who we are)."""
    return "Redis server v=%s sha=00000000:0 malloc=libc bits=%d build=omakase" % (REDIS_VERSION, BITS)


def usage(prog: str) -> str:
    return f"""Usage: {prog} [/path/to/redis.conf] [options] [-]
       {prog} - (read the configuration from stdin)
       {prog} -v or --version
       {prog} -h or --help

Options are configuration directives written as --name value, applied
after the configuration file and stdin, so they win:
       {prog} (start with the default configuration)
       echo 'maxmemory 128mb' | {prog} -
       {prog} /etc/redis/6379.conf
       {prog} --port 7777
       {prog} --port 7777 --replicaof 127.0.0.1 8888
       {prog} /etc/myredis.conf --loglevel verbose -
       {prog} /etc/myredis.conf --loglevel verbose

omakase speaks the Redis 7.0 protocol and reads redis.conf; it has no
memory tester (--test-memory), no --check-system and no sentinel mode.
"""


def _prog_name() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not name or name in ("__main__.py", "-c", "-m"):
        return "omakase-server"
    return name


def _write(stream: TextIO, text: str) -> None:
    buf = getattr(stream, "buffer", None)
    if buf is not None:
        stream.flush()
        buf.write(text.encode("utf-8", "surrogateescape"))
        buf.flush()
    else:
        stream.write(text)
        stream.flush()


def _command_checker() -> Any:
    """rename-command needs the command table: use Redis's command specs."""
    try:
        from omakase.commands.registry import load_specs
        names = frozenset(load_specs())
    except Exception:
        return None
    return names.__contains__


def _supervised(config: Config, logger: Logger) -> str | None:
    """redisIsSupervised: 'systemd', 'upstart' or None."""
    mode = config.supervised
    if mode == "auto":
        if os.environ.get("UPSTART_JOB"):
            mode = "upstart"
        elif os.environ.get("NOTIFY_SOCKET"):
            mode = "systemd"
        else:
            return None
    if mode == "upstart":
        if not os.environ.get("UPSTART_JOB"):
            logger.verbose("upstart supervision requested, but UPSTART_JOB not found!")
            return None
        return "upstart"
    if mode == "systemd":
        if not os.environ.get("NOTIFY_SOCKET"):
            logger.warning("systemd supervision requested or auto-detected, but NOTIFY_SOCKET "
                           "not found!")
            return None
        return "systemd"
    return None


def _notify_supervisor(kind: str, config: Config, logger: Logger) -> None:
    """Tell systemd (sd_notify protocol) or upstart (SIGSTOP) we are ready."""
    if kind == "upstart":
        logger.notice("supervised by upstart, will stop to signal readiness.")
        os.environ.pop("UPSTART_JOB", None)
        import signal
        os.kill(os.getpid(), signal.SIGSTOP)
        return
    path = os.environ.get("NOTIFY_SOCKET", "")
    if path.startswith("@"):
        path = "\0" + path[1:]
    status = ("STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> "
              "REPLICA sync\n" if config.replicaof else "STATUS=Ready to accept connections\n")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(path)
            s.send(status.encode())
            s.send(b"READY=1\n")
    except OSError as exc:
        logger.warning("Can't send notification to systemd: %s" % exc.strerror)


def _daemonize() -> None:
    """Detach from the terminal: the first process exits 0."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def _create_pidfile(config: Config, logger: Logger) -> None:
    """createPidFile: best effort."""
    if not config.pidfile:
        config.pidfile = "/var/run/redis.pid"
    try:
        with open(config.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    except OSError as exc:
        logger.warning("Failed to write PID file: %s" % os.strerror(exc.errno or 0))


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None,
         prog: str | None = None) -> int:
    """Run a server as ``redis-server argv...`` would; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    prog = prog or _prog_name()
    if args:
        first = args[0]
        if first in ("-v", "--version"):
            _write(sys.stdout, version_line() + "\n")
            return 0
        if first in ("-h", "--help"):
            _write(sys.stderr, usage(prog))
            return 1
        if first == "--test-memory":
            _write(sys.stderr, "omakase has no memory tester: --test-memory is Redis's memtest. "
                               "Try memtester(8) or the Linux kernel's memtest= option.\n")
            return 1
        if first == "--check-system":
            _write(sys.stderr, "omakase does not implement --check-system.\n")
            return 1
    if "--sentinel" in args or prog.endswith("sentinel"):
        _write(sys.stderr, "omakase has no sentinel mode.\n")
        return 1

    config = Config()
    logger = Logger(config)
    config.logger = logger
    config.command_exists = _command_checker()
    path = None
    if args:
        if parse_command_line(args).from_stdin:
            logger.warning("Reading config from stdin")
        try:
            path = config.load_args(args, stdin=stdin)
        except ConfigError as exc:
            if exc.log:
                logger.warning(exc.message)
            else:
                _write(sys.stderr, exc.message)
            return 1

    supervised = _supervised(config, logger)
    background = config.daemonize and supervised is None
    if background:
        _daemonize()

    logger.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    logger.warning("Redis version=%s, bits=%d, commit=%s, modified=%d, pid=%d, just started"
                   % (REDIS_VERSION, BITS, "00000000", 0, os.getpid()))
    if not args:
        logger.warning("Warning: no config file specified, using the default config. In order "
                       "to specify a config file use %s /path/to/redis.conf" % prog)
    else:
        logger.warning("Configuration loaded")

    from omakase.server import Server
    server = Server(config, logger, config_file=path)
    logger.set_role("S" if config.replicaof else "M")
    if background or config.pidfile:
        _create_pidfile(config, logger)
    logger.notice("Running mode=standalone, port=%d." % (config.port or config.tls_port))
    logger.warning("Server initialized")
    for mod in config.loadmodule_queue:
        logger.warning("Module %s failed to load: omakase does not support modules" % mod[0])
        logger.warning("Can't load module from %s: server aborting" % mod[0])
        return 1
    if config.module_configs_queue:
        logger.warning("Module Configuration detected without loadmodule directive or no "
                       "ApplyConfig call: aborting")
        return 1
    if config.maxmemory and config.maxmemory < 1024 * 1024:
        logger.warning("WARNING: You specified a maxmemory value that is less than 1MB (current "
                       "value is %d bytes). Are you sure this is what you really want?"
                       % config.maxmemory)
    if supervised is not None:
        hooks = getattr(server, "startup_hooks", None)
        if hooks is None:
            hooks = []
            server.startup_hooks = hooks
        hooks.append(lambda: _notify_supervisor(supervised, config, logger))
    return int(server.run() or 0)
