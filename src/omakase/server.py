"""The server: its state, the command path, serverCron and beforeSleep.

Mirrors the parts of Redis's ``server.c`` that tie everything together.

Request path
------------
``networking.Client`` turns bytes into argv and calls ``process_command``,
which runs Redis's checks in Redis's order (``processCommand``):

    lookup -> arity -> protected command -> auth -> MULTI-forbidden ->
    OOM (evict first) -> MISCONF -> read-only replica -> pub/sub context ->
    stale replica -> loading -> busy script -> MULTI queueing -> call()

``call()`` is the one way a command runs, whoever asks: a socket client,
EXEC, Lua's ``redis.call``, the AOF loader, the master's replication stream.
It times the handler (commandstats, slowlog), counts failures (a handler that
replied an error), and when the dataset changed (``self.dirty`` moved) hands
the command -- or the rewritten form the handler left in
``c.rewritten_argv`` plus anything added with ``also_propagate`` -- to the
propagation targets (AOF, replicas) registered by those subsystems.

Periodic work
-------------
``server_cron`` runs ``hz`` times a second (``dynamic-hz`` raises it with the
number of clients, as Redis does): clocks, client timeouts, the slow active
expire cycle, bounded rehashing (1 ms per db), shrinking hash tables,
instantaneous metrics, and the cron hooks of other subsystems (persistence
children, replication); first of all it finishes a SHUTDOWN that waits for
lagging replicas once they are in sync or ``shutdown-timeout`` passed (see
"SHUTDOWN" before ``prepare_for_shutdown``).  DIVERGENCE: Redis keeps one
pause per purpose; here the shutdown's write pause shares the one CLIENT
PAUSE slot, so CLIENT UNPAUSE lifts it until the next serverCron re-applies
it, and a pause that was in force before is restored when the shutdown is
cancelled.  ``before_sleep`` runs before every poll: clients
unblocked by ready keys, the fast expire cycle, its hooks (AOF flush), then one
write per client with pending output.

Garbage collection
------------------
CPython's cyclic collector would walk every container object of the dataset
(hash-table buckets, collection values) in its oldest generation, a pause
proportional to the dataset -- and in a forked child it would dirty every
page it touches, defeating copy-on-write.  Values here form no reference
cycles, so automatic collection is off: serverCron collects the young
generations (cheap, bounded by recent allocations) and a full collection
runs only on demand (MEMORY PURGE) .  DIVERGENCE: Redis has no collector.

Subsystems attach to the server through the hook lists (``cron_hooks``,
``before_sleep_hooks``, ``propagation_targets``, ``client_free_hooks``) rather
than the server importing them: the server knows the path, not the rooms.
"""
from __future__ import annotations

import errno
import gc
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any, Callable

from omakase import replies
from omakase.acl import ACL_RESTRICTED, Acl
from omakase.commands.registry import CmdFlag, Command, CommandTable
from omakase.config import ShutdownFlag
from omakase.eventloop import EventLoop
from omakase.expire import FAST_CYCLE, SLOW_CYCLE, CycleState, active_expire_cycle
from omakase.keyspace import Db
from omakase.networking import Client, ClientFlag
from omakase.objects import lru_trailer

REDIS_VERSION = "7.0.15"
OMAKASE_VERSION = "0.1.0"
MAX_ACCEPTS_PER_CALL = 1000
CONFIG_MIN_HZ = 1
CONFIG_MAX_HZ = 500
MAX_CLIENTS_PER_CLOCK_TICK = 200
LFU_INIT_VAL = 5

PROTECTED_MODE_MSG = (
    "-DENIED Redis is running in protected mode because protected mode is enabled and "
    "no password is set for the default user. In this mode connections are only accepted "
    "from the loopback interface. If you want to connect from external computers to Redis "
    "you may adopt one of the following solutions: 1) Just disable protected mode sending "
    "the command 'CONFIG SET protected-mode no' from the loopback interface by connecting "
    "to Redis from the same host the server is running, however MAKE SURE Redis is not "
    "publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
    "permanent. 2) Alternatively you can just disable the protected mode by editing the Redis "
    "configuration file, and setting the protected mode option to 'no', and then restarting "
    "the server. 3) If you started the server manually just for testing, restart it with the "
    "'--protected-mode no' option. 4) Setup a an authentication password for the default user. "
    "NOTE: You only need to do one of the above things in order for the server to start "
    "accepting connections from the outside.\r\n")

# Commands a RESP2 client in subscribed context may run.
_PUBSUB_ALLOWED = {"ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                   "psubscribe", "punsubscribe", "quit", "reset"}
# Commands that run (not queue) inside MULTI.
_MULTI_IMMEDIATE = {"exec", "discard", "multi", "watch", "quit", "reset"}


class Server:
    def __init__(self, config: Any, logger: Any = None, config_file: str | None = None) -> None:
        self.config = config
        if logger is None:
            from omakase.log import Logger
            logger = Logger(config)
        self.log = logger
        self.config_file = config_file
        self.pid = os.getpid()
        self.run_id = os.urandom(20).hex()
        self.start_time = time.time()
        self.commands = CommandTable()
        for old, new in getattr(config, "rename_commands", ()):
            self.commands.rename(old, new)
        # The command table's exact-spelling dict, read first on every request.
        self.dispatch = self.commands._dispatch
        # (spelling, argc) -> Command: see process_command
        self.plain_commands: dict[tuple[bytes, int], Command] = {}
        self.dbs = [Db(i, self) for i in range(config.databases)]
        self.edge_triggered = bool(getattr(config, "event_loop_edge_triggered", False))
        self.el = EventLoop(getattr(config, "event_loop_backend", "epoll"), self.edge_triggered)
        self.el.before_sleep = self.before_sleep
        self.clients: dict[int, Client] = {}          # id -> client
        self.clients_by_fd: dict[int, Client] = {}
        self.clients_pending_write: list[Client] = []
        self.clients_to_close: list[Client] = []
        self.listeners: list[socket.socket] = []
        self._next_client_id = 0
        self.shutdown_asap = False
        self.shutdown_signal = 0            # the last SIGINT/SIGTERM received
        # A SHUTDOWN waiting for lagging replicas (see prepare_for_shutdown):
        # the deadline in unix ms (0: none waiting) and its flags.
        self.shutdown_mstime = 0
        self.shutdown_flags: set[str] = set()
        self._shutdown_saved_pause: tuple[int, bool] | None = None
        self.exit_code = 0
        self.loading = False
        self.masterhost: str | None = None
        self.no_touch = False               # set while a NO-TOUCH client runs
        self.in_call = 0
        self.dirty = 0
        self.pending_propagate: list[tuple[int, list[bytes]]] = []
        self.propagation_targets: list[Callable[[list[tuple[int, list[bytes]]]], None]] = []
        self.cron_hooks: list[Callable[[], None]] = []
        self.before_sleep_hooks: list[Callable[[], None]] = []
        # One-shot beforeSleep steps: a subsystem with work for the next
        # pass appends one (lazy free's hand-over, replication's GETACK), so
        # a pass with nothing to do calls nothing.
        self.before_sleep_once: list[Callable[[], None]] = []
        # The AOF flush (persistence.aof): runs after every other hook and
        # before any reply is written (appendfsync always: fsync, then reply).
        self.aof_flush_hook: Callable[[], None] | None = None
        self.client_free_hooks: list[Callable[[Client], None]] = []
        self.shutdown_hooks: list[Callable[[set[str]], bool | None]] = []
        self.startup_hooks: list[Callable[[], None]] = []
        self.ready_keys: list[tuple[Db, bytes]] = []
        # blocking.py installs its handler; without it keys are just dropped
        self.ready_keys_handler: Callable[[], None] = self._drop_ready_keys
        self.in_exec = False
        self.notify_hook: Callable[[int, str, bytes, int], None] | None = None
        self.clients_paused_until = 0
        self.client_pause_write_only = False
        self.paused_clients: list[Client] = []
        self.cronloops = 0
        self.expire_cycle_state = CycleState()
        self.hz = config.hz
        self.reset_stats()
        self.stat_numconnections = 0
        self.stat_rejected_conn = 0
        self.update_cached_time()
        self._register_config_listeners()
        from omakase.commands.multi import install as install_multi
        install_multi(self)
        from omakase.commands.pubsub import install as install_pubsub
        install_pubsub(self)
        from omakase.commands.slowlog import install as install_operator_tools
        install_operator_tools(self)
        from omakase.persistence import install as install_persistence
        install_persistence(self)
        from omakase.replication import install as install_replication
        install_replication(self)
        from omakase.tls import install as install_tls
        install_tls(self)
        from omakase.memory import install as install_memory
        install_memory(self)     # accounting, eviction (OOM guard), lazy free
        from omakase.networking import install as install_client_limits
        install_client_limits(self)  # output buffer limits, maxmemory-clients
        from omakase.iothreads import install as install_io_threads
        install_io_threads(self)     # io-threads (a no-op with io-threads 1)
        # Last: subsystems above may add commands, and +@all means all of them.
        self.acl = Acl(self)

    # ------------------------------------------------------------------
    # Clocks
    # ------------------------------------------------------------------
    def update_cached_time(self) -> None:
        now = time.time()
        self.unixtime = int(now)
        self.mstime = int(now * 1000)
        self.lru_clock = int(now) & 0xFFFFFF
        self.lfu = self.config.maxmemory_policy.endswith("lfu")
        if self.lfu:
            minutes = (int(now) // 60) & 0xFFFF
            self.new_object_trailer = lru_trailer((minutes << 8) | LFU_INIT_VAL)
        else:
            self.new_object_trailer = lru_trailer(self.lru_clock)
        self.lru_trailer = self.new_object_trailer if not self.lfu else b""

    def expire_now_ms(self) -> int:
        """The time expiry decisions use (a snapshot inside scripts/EXEC)."""
        return int(time.time() * 1000)

    def lfu_touch(self, field: int) -> int:
        """updateLFU: decay by elapsed minutes, then log-increment."""
        from omakase.evict import lfu_update
        return lfu_update(self, field)

    def next_client_id(self) -> int:
        self._next_client_id += 1
        return self._next_client_id

    # ------------------------------------------------------------------
    # Statistics
    # ------------------------------------------------------------------
    def reset_stats(self) -> None:
        """CONFIG RESETSTAT (resetServerStats)."""
        self.stat_expiredkeys = 0
        self.stat_expired_stale_perc = 0.0
        self.stat_expired_time_cap_reached_count = 0
        self.stat_expire_cycle_time_used = 0
        self.stat_evictedkeys = 0
        self.stat_keyspace_hits = 0
        self.stat_keyspace_misses = 0
        self.stat_net_input_bytes = 0
        self.stat_net_output_bytes = 0
        self.stat_total_error_replies = 0
        self.stat_unexpected_error_replies = 0
        self.errorstats: dict[str, int] = {}
        self.inst_metrics: dict[str, list] = {}
        if hasattr(self, "commands"):
            self.commands.reset_stats()
        self.stat_numconnections = getattr(self, "stat_numconnections", 0)
        self.stat_rejected_conn = 0
        for hook in getattr(self, "reset_stats_hooks", ()):
            hook()

    def count_error_reply(self, msg: str) -> None:
        """afterErrorReply: total and per-code error counters."""
        self.stat_total_error_replies += 1
        # The code is the first word when a space comes within the first 32
        # characters of "-CODE ..."; otherwise (or without the "-") "ERR".
        space = msg.find(" ", 0, 32)
        code = msg[1:space] if space > 0 and msg[:1] == "-" else "ERR"
        if code in self.errorstats:
            self.errorstats[code] += 1
        elif len(self.errorstats) < 128:
            self.errorstats[code] = 1

    # ------------------------------------------------------------------
    # Networking: listeners and clients
    # ------------------------------------------------------------------
    def listen(self) -> None:
        cfg = self.config
        if self.tls.wanted() and not self.tls.configure():
            raise OSError(errno.EINVAL, "Failed to configure TLS. Check logs for more info.")
        if cfg.port:
            for s in self.bind_tcp(cfg.port):
                self.add_listener_socket(s, False)
        if cfg.tls_port:
            self.tls.listen(cfg.tls_port)
        if cfg.unixsocket:
            path = cfg.unixsocket
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            if cfg.unixsocketperm:
                os.chmod(path, cfg.unixsocketperm)
            s.listen(cfg.tcp_backlog)
            s.setblocking(False)
            self.add_listener_socket(s, True)
        if not self.listeners:
            raise OSError(errno.EINVAL, "Configured to not listen anywhere, exiting.")

    def bind_tcp(self, port: int) -> list[socket.socket]:
        """listenToPort: a non-blocking listening socket per bind address."""
        cfg = self.config
        socks: list[socket.socket] = []
        for addr in cfg.bind:
            optional = addr.startswith("-")
            addr = addr.lstrip("-")
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            host = {"*": "0.0.0.0", "::*": "::"}.get(addr, addr)
            try:
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
                s.listen(cfg.tcp_backlog)
            except OSError as exc:
                s.close()
                if optional or (exc.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL)
                                and fam == socket.AF_INET6):
                    self.log.warning(f"Warning: Could not create server TCP listening "
                                     f"socket {addr}:{port}: {exc.strerror}")
                    continue
                for other in socks:
                    other.close()
                raise OSError(exc.errno, f"Could not create server TCP listening socket "
                              f"{addr}:{port}: {exc.strerror}") from None
            s.setblocking(False)
            socks.append(s)
        return socks

    def add_listener_socket(self, s: socket.socket, is_unix: bool, tls: bool = False) -> None:
        self.listeners.append(s)
        self.el.add_reader(s.fileno(), self._make_acceptor(s, is_unix, tls))

    def _make_acceptor(self, lsock: socket.socket, is_unix: bool,
                       tls: bool = False) -> Callable[[int], None]:
        def accept_handler(fd: int) -> None:
            # Level-triggered: a bounded batch per wakeup (the rest wakes us
            # again).  Edge-triggered: accept until EAGAIN or we miss some.
            limit = 1 << 30 if self.edge_triggered else MAX_ACCEPTS_PER_CALL
            for _ in range(limit):
                try:
                    sock, peer = lsock.accept()
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    self.log.warning(f"Accepting client connection: {exc.strerror}")
                    return
                self._accept_client(sock, peer, is_unix, tls)
        return accept_handler

    def _accept_client(self, sock: socket.socket, peer: Any, is_unix: bool,
                       tls: bool = False) -> None:
        sock.setblocking(False)
        cfg = self.config
        if is_unix:
            addr = f"{cfg.unixsocket}:0"
            laddr = addr
        else:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if cfg.tcp_keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if hasattr(socket, "TCP_KEEPIDLE"):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, cfg.tcp_keepalive)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL,
                                    max(1, cfg.tcp_keepalive // 3))
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
            addr = _fmt_addr(peer)
            laddr = _fmt_addr(sock.getsockname())
        if len(self.clients) >= cfg.maxclients:
            # Nothing can be written before a TLS handshake: just drop.
            self._refuse(sock, b"" if tls else b"-ERR max number of clients reached\r\n")
            self.stat_rejected_conn += 1
            return
        if tls:
            # Protected mode is checked once the handshake is done (tls.py).
            sock = self.tls.wrap(sock, _is_loopback(peer[0]))
            if sock is None:
                return
        elif not is_unix and not _is_loopback(peer[0]) and self.protected_mode_refuses():
            self._refuse(sock, PROTECTED_MODE_MSG.encode())
            self.stat_rejected_conn += 1
            return
        c = Client(self, sock, addr, laddr, is_unix)
        if is_unix:
            c.flags |= ClientFlag.UNIX_SOCKET
        if not self.acl.default.unrestricted:
            c.flags |= ACL_RESTRICTED
        self.clients[c.id] = c
        self.clients_by_fd[c.fd] = c
        self.el.add_reader(c.fd, c.on_readable)
        self.log.verbose(f"Accepted {addr}")
        if tls:
            sock.client = c
            sock.start()         # counted in stat_numconnections once done
        else:
            self.stat_numconnections += 1

    @staticmethod
    def _refuse(sock: socket.socket, msg: bytes) -> None:
        try:
            sock.send(msg)
        except OSError:
            pass
        sock.close()

    def protected_mode_refuses(self) -> bool:
        """Protected mode refuses a non-local client (default bind, no password)."""
        return bool(self.config.protected_mode and self._bind_is_default()
                    and not self.auth_required())

    def _bind_is_default(self) -> bool:
        return sorted(self.config.bind) in (["*", "-::*"], ["-::*", "*"]) or \
            self.config.bind == ["*", "-::*"]

    def auth_required(self) -> bool:
        """authRequired: the default user has a password or is off."""
        return self.acl.auth_required()

    def free_client(self, c: Client) -> None:
        """freeClient: unregister, run subsystem hooks, close."""
        if c.id not in self.clients:
            return
        for hook in self.client_free_hooks:
            hook(c)
        del self.clients[c.id]
        self.clients_by_fd.pop(c.fd, None)
        if c.sock is not None:
            self.el.remove_fd(c.fd)
            try:
                c.sock.close()
            except OSError:
                pass
        c.mark_closing()
        c.reply = []
        c.pending_write = False

    def free_client_async(self, c: Client) -> None:
        """freeClientAsync: close after the current command returns."""
        if not c.flags & ClientFlag.CLOSE_ASAP:
            c.flags |= ClientFlag.CLOSE_ASAP
            c.mark_closing()
            self.clients_to_close.append(c)

    def client_info_string(self, c: Client) -> str:
        from omakase.commands.client import client_info_string
        return client_info_string(self, c)

    # ------------------------------------------------------------------
    # The command path
    # ------------------------------------------------------------------
    def process_command(self, c: Client, argv: list[bytes]) -> None:
        """processCommand: every check, in Redis's order.

        The common case skips it: ``Client.process_input`` sends a request
        straight to ``call()`` when its (name, argument count) is in
        ``plain_commands`` (the spellings clients sent of commands without
        subcommands that are not protected, with an argument count that
        passed the arity check, up to PLAIN_MAX_ARGC: one dict lookup checks
        both; filled here while no server guard is active, and emptied
        by ``refresh_guards`` when one becomes active: OOM, loading, replica,
        pause, monitors) and the client has none of the
        states that need checking (``CHECKED_CLIENT_FLAGS``: not
        authenticated, MULTI, ACL-restricted, pub/sub, NO-TOUCH).  Every
        check below would pass for such a request."""
        name = argv[0]
        cmd = self.dispatch.get(name)
        if cmd is None or cmd.subcommands is not None:
            cmd = self.commands.lookup(argv)
        if cmd is None:
            base = self.commands.lookup_base(name)
            if base is not None and base.subcommands is not None:
                err = replies.unknown_subcommand(argv[1], name.decode("utf-8", "replace"))
            else:
                err = replies.unknown_command(name, argv[1:])
            self.reject_command(c, err)
            return
        arity = cmd.arity
        argc = len(argv)
        if (arity > 0 and arity != argc) or argc < -arity:
            self.reject_command(c, replies.wrong_arity(cmd.fullname), cmd)
            return
        if (argc <= PLAIN_MAX_ARGC and cmd.parent is None and cmd.subcommands is None
                and not cmd.is_protected and not self._guards_active
                and len(self.plain_commands) < 4096):
            self.plain_commands[(name, argc)] = cmd
        if cmd.is_protected and not self._protected_allowed(c, cmd):
            return
        if not c.auth_ok and not cmd.flags & CmdFlag.NO_AUTH:
            self.reject_command(c, replies.NOAUTH, cmd)
            return
        flags = c.flags
        if flags:
            if not self._client_state_checks(c, cmd, argv):
                return
        if self._guards_active and not self._server_guards(c, cmd, argv):
            return
        if flags & _MULTI and (cmd.parent or cmd).name not in _MULTI_IMMEDIATE:
            # Queued only after every check, as Redis does (a busy script,
            # a pause or OOM apply to the commands of a transaction too).
            self.queue_multi_command(c, cmd, argv)
            return
        if flags & _NO_TOUCH:
            # lookupKey's "current client is NO-TOUCH": for the whole command,
            # including what it runs (EXEC, scripts).
            self.no_touch = True
            try:
                self.call(c, cmd, argv)
            finally:
                self.no_touch = False
        else:
            self.call(c, cmd, argv)
        if c.flags & ClientFlag.BLOCKED:
            self.blocking_state.note_blocked_call(c, cmd)
        if self.ready_keys:
            self.ready_keys_handler()

    def reject_command(self, c: Client, err: str, cmd: Command | None = None) -> None:
        """rejectCommand: error reply, and a queued MULTI becomes EXECABORT."""
        if cmd is not None:
            cmd.rejected_calls += 1
        if c.flags & ClientFlag.MULTI:
            c.flags |= ClientFlag.DIRTY_EXEC
            if cmd is not None and cmd.parent is None and cmd.name == "exec":
                # execCommandAbort: a refused EXEC (OOM, MISCONF...) discards
                from omakase.commands.multi import discard_transaction
                discard_transaction(c)
                err = ("-EXECABORT Transaction discarded because of: "
                       + (err[1:] if err.startswith("-") else err))
        c.add_reply_error(err)

    def _protected_allowed(self, c: Client, cmd: Command) -> bool:
        name = cmd.parent.name if cmd.parent else cmd.name
        option = {"debug": "enable-debug-command", "module": "enable-module-command"}.get(name)
        if option is None:
            return True
        value = getattr(self.config, option.replace("-", "_"))
        if value == "yes" or (value == "local" and _client_is_local(c)):
            return True
        self.reject_command(
            c, f"{name.upper()} command not allowed. If the {option} option is set to "
               f"\"local\", you can run it from a local connection, otherwise you need to "
               f"set this option in the configuration file, and then restart the server.",
            cmd)
        return False

    def _client_state_checks(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        """Checks that depend on the client's own state (MULTI, ACL, pub/sub);
        MULTI queueing itself comes after the server guards."""
        name = cmd.parent.name if cmd.parent else cmd.name
        if c.flags & ClientFlag.MULTI and cmd.flags & CmdFlag.NO_MULTI:
            self.reject_command(c, "Command not allowed inside a transaction", cmd)
            return False
        if c.flags & ACL_RESTRICTED:
            err = self.acl.deny_reason(c, cmd, argv, "multi" if c.flags & ClientFlag.MULTI
                                       else "toplevel")
            if err is not None:
                self.reject_command(c, err, cmd)
                return False
        if c.flags & ClientFlag.PUBSUB and c.resp == 2 and name not in _PUBSUB_ALLOWED:
            self.reject_command(
                c, f"Can't execute '{cmd.fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE "
                   f"/ PING / QUIT / RESET are allowed in this context", cmd)
            return False
        return True

    def refresh_guards(self) -> None:
        """Guards on: every request takes process_command.  A module that
        wraps ``self.call`` (tracking does) counts as one: the input loop's
        inline call would bypass the wrapper.  Call after (un)wrapping."""
        self._guards_active = bool(self.loading or self.config.maxmemory or self.masterhost
                                   or self.guard_hooks or "call" in self.__dict__)
        if self._guards_active:
            # Every request takes the full path now (see process_command);
            # cleared in place, so a batch already running sees it too.
            self.plain_commands.clear()

    def _server_guards(self, c: Client, cmd: Command, argv: list[bytes]) -> bool:
        flags = cmd.flags
        if self.config.maxmemory and self.oom_guard is not None:
            err = self.oom_guard(c, cmd, argv)     # performEvictions, OOM
            if err is not None:
                self.reject_command(c, err, cmd)
                return False
        for guard in self.guard_hooks:
            err = guard(c, cmd, argv)
            if err is not None:
                # False: the guard kept the command for later (CLIENT PAUSE
                # parks the client in c.paused_cmd); a string is an error.
                if err is not False:
                    self.reject_command(c, err, cmd)
                return False
        if (self.masterhost and self.config.replica_read_only
                and not c.flags & ClientFlag.MASTER and flags & CmdFlag.WRITE):
            self.reject_command(c, replies.READONLY, cmd)
            return False
        if self.loading and not flags & CmdFlag.LOADING:
            self.reject_command(c, replies.LOADING, cmd)
            return False
        return True

    def queue_multi_command(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """Replaced by the multi module; without it MULTI cannot start."""
        c.mstate.append((cmd, argv))
        c.add_reply(replies.QUEUED)

    def call(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """call(): run a command, time it, count it, propagate its effects.

        This is the hottest function of the server (it wraps every command),
        so it reads each attribute once and keeps the uncommon work behind
        one comparison each: the latency histogram takes the duration in one
        list append (``cmd.latency_samples``, folded by ``commands.latency``
        into the command's calls, usec and latency histogram);
        slowlog, latency monitor and MONITOR feed run only past
        ``after_call_us`` (``commands.slowlog``); propagation only when the
        dataset changed and someone listens (``after_call``).

        DUPLICATE ON PURPOSE: ``Client.process_input`` runs these same lines
        inline for the top-level requests it sends past process_command
        (measured: 26 of 190 bytecodes per pipelined PING are the call
        itself).  A change here is a change there."""
        dirty = self.dirty
        errors = self.stat_total_error_replies
        c.argv = argv
        c.cmd = cmd                     # also c.lastcmd
        self.in_call += 1
        start = _now_ns()
        try:
            cmd.proc(c, argv)
        except Exception as exc:  # a bug in one command must not stop the server
            self._internal_error(c, cmd, exc)
        duration = (_now_ns() - start) // 1000
        self.in_call -= 1
        cmd.latency_samples.append(duration)   # calls, usec and histogram
        if self.stat_total_error_replies != errors:
            cmd.failed_calls += 1
        if (duration >= self.after_call_us or c.rewritten_argv is not None
                or self.propagation_targets and self.dirty != dirty or self.pending_propagate):
            self.after_call(c, cmd, argv, duration, dirty)

    def after_call(self, c: Client, cmd: Command, argv: list[bytes], duration: int,
                   dirty_before: int) -> None:
        """call()'s uncommon tail: slowlog/latency monitor/MONITOR, the
        command's propagation (its rewritten form if it made one), and the
        flush of what is pending once the top-level call is over."""
        if duration >= self.after_call_us:
            self.after_call_hook(c, cmd, argv, duration)
        if self.dirty != dirty_before and self.propagation_targets:
            if c.rewritten_argv is not None:
                argv = c.rewritten_argv
            if argv:   # [] means "my effects were propagated already" (EXEC)
                self.pending_propagate.append((c.db.id, argv))
        if c.rewritten_argv is not None:
            c.rewritten_argv = None
        if self.pending_propagate and self.in_call == 0:
            self.flush_propagation()
            # c->woff: the replication offset right after this client's last
            # call that propagated something (what its WAIT waits for).
            c.woff = self.repl.master_repl_offset

    @property
    def stat_numcommands(self) -> int:
        """total_commands_processed: every call() counts its command."""
        return sum(cmd.calls for cmd in self.commands.all_commands())

    def _internal_error(self, c: Client, cmd: Command, exc: Exception) -> None:
        self.log.warning(f"Internal error in '{cmd.fullname}': {exc!r}\n"
                         f"{traceback.format_exc()}")
        c.add_reply_error(f"internal error in '{cmd.fullname}' "
                          f"(see the server log): {type(exc).__name__}")

    def also_propagate(self, db_id: int, argv: list[bytes]) -> None:
        if self.propagation_targets:
            self.pending_propagate.append((db_id, argv))

    def flush_propagation(self) -> None:
        """propagatePendingCommands: several effects go out as MULTI/EXEC."""
        ops = self.pending_propagate
        self.pending_propagate = []
        if len(ops) > 1:
            ops = [(ops[0][0], [b"MULTI"])] + ops + [(ops[-1][0], [b"EXEC"])]
        for target in self.propagation_targets:
            target(ops)

    def call_from(self, c: Client, argv: list[bytes]) -> Command | None:
        """Run argv on client c through call(): the entry for callers that
        have no socket (AOF loading, Lua, the master stream, in-process
        tests)."""
        cmd = self.commands.lookup(argv)
        if cmd is None:
            return None
        self.call(c, cmd, argv)
        return cmd

    # ------------------------------------------------------------------
    # Keyspace hooks used by Db
    # ------------------------------------------------------------------
    def signal_key_as_ready(self, db: Db, key: bytes) -> None:
        self.ready_keys.append((db, key))

    def _drop_ready_keys(self) -> None:
        self.ready_keys = []

    def touch_watched_key(self, db: Db, key: bytes) -> None:
        """touchWatchedKey: transactions watching key will fail."""
        clients = db.watched_keys.get(key)
        if clients:
            for c in clients:
                c.flags |= ClientFlag.DIRTY_CAS

    def notify(self, type_flag: int, event: str, key: bytes, dbid: int) -> None:
        if self.notify_hook is not None:
            self.notify_hook(type_flag, event, key, dbid)

    def is_replica_of_master(self) -> bool:
        return self.masterhost is not None

    def expire_paused(self) -> bool:
        """Keys do not expire while clients are paused (CLIENT PAUSE)."""
        return bool(self.clients_paused_until) and time.time() * 1000 < self.clients_paused_until

    def delete_expired_key(self, db: Db, key: bytes) -> None:
        """deleteExpiredKeyAndPropagate."""
        lazy = self.config.lazyfree_lazy_expire
        if lazy:
            from omakase.commands.generic import db_delete
            db_delete(db, key, True)
        else:
            db.delete(key)
        self.stat_expiredkeys += 1
        self.notify(NOTIFY_EXPIRED, "expired", key, db.id)
        db.signal_modified_key(key)
        self.propagate_now(db.id, [b"UNLINK" if lazy else b"DEL", key])

    def propagate_now(self, db_id: int, argv: list[bytes]) -> None:
        """Propagate an effect that happens outside a command (expiry,
        eviction): inside a command it joins the command's batch."""
        if not self.propagation_targets:
            return
        if self.in_call:
            self.pending_propagate.append((db_id, argv))
        else:
            for target in self.propagation_targets:
                target([(db_id, argv)])

    # ------------------------------------------------------------------
    # serverCron and beforeSleep
    # ------------------------------------------------------------------
    def server_cron(self) -> int:
        self.update_cached_time()
        cfg = self.config
        self.hz = cfg.hz
        if cfg.dynamic_hz:
            while (len(self.clients) / self.hz > MAX_CLIENTS_PER_CLOCK_TICK
                   and self.hz < CONFIG_MAX_HZ):
                self.hz *= 2
                if self.hz > CONFIG_MAX_HZ:
                    self.hz = CONFIG_MAX_HZ
        self.cronloops += 1
        if self.shutdown_mstime:
            self.shutdown_cron()
            if self.el.stopped:
                return int(1000 / self.hz)
        # Young-generation garbage only (see "Garbage collection" above).
        gc.collect(1 if self.cronloops % 10 == 0 else 0)
        self._track_metrics()
        self._clients_cron()
        self._databases_cron()
        for hook in self.cron_hooks:
            hook()
        return int(1000 / self.hz)

    def _clients_cron(self) -> None:
        timeout = self.config.timeout
        if not timeout:
            return
        now = self.unixtime
        for c in list(self.clients.values()):
            if (c.flags & (ClientFlag.SLAVE | ClientFlag.MASTER | ClientFlag.BLOCKED
                           | ClientFlag.PUBSUB)):
                continue
            if now - c.last_interaction > timeout:
                self.log.verbose("Closing idle client")
                self.free_client(c)

    def _databases_cron(self) -> None:
        if self.config.active_expire_enabled and not self.masterhost:
            active_expire_cycle(self, SLOW_CYCLE)
        child = self.has_active_child()
        for db in self.dbs:
            for ht in (db.keys, db.expires):
                ht.resize_allowed = not child
                if not child:
                    ht.try_shrink()
        if self.config.activerehashing and not child:
            for db in self.dbs:
                if db.keys.rehashing:
                    db.keys.rehash_ms(1)
                    break
                if db.expires.rehashing:
                    db.expires.rehash_ms(1)
                    break

    def has_active_child(self) -> bool:
        return bool(self.child_pid)

    def _track_metrics(self) -> None:
        """trackInstantaneousMetric for ops/sec and network KB/sec."""
        now = time.time()
        for name, value in (("command", self.stat_numcommands),
                            ("net_input", self.stat_net_input_bytes),
                            ("net_output", self.stat_net_output_bytes)):
            m = self.inst_metrics.setdefault(name, [now, value, [0.0] * 16, 0])
            dt = now - m[0]
            if dt >= 0.1:
                m[2][m[3] % 16] = (value - m[1]) / dt
                m[3] += 1
                m[0], m[1] = now, value

    def instantaneous(self, name: str) -> float:
        m = self.inst_metrics.get(name)
        if not m:
            return 0.0
        return sum(m[2]) / 16

    def before_sleep(self) -> None:
        """beforeSleep: runs before every poll, so each step is guarded by
        one cheap test and the common pass (nothing to do but write
        replies) costs a few attribute reads."""
        if self.ready_keys:
            self.ready_keys_handler()
        if (self.expire_cycle_state.fast_wanted and self.config.active_expire_enabled
                and not self.masterhost):
            active_expire_cycle(self, FAST_CYCLE)
        if self.before_sleep_once:
            once = self.before_sleep_once
            self.before_sleep_once = []
            for step in once:
                step()
        if self.before_sleep_hooks:
            for hook in self.before_sleep_hooks:
                hook()
        if self.aof_flush_hook is not None:
            self.aof_flush_hook()
        if self.clients_to_close:
            closing = self.clients_to_close
            self.clients_to_close = []
            for c in closing:
                if c.reply and c.sock is not None and not c.flags & ClientFlag.CLOSE_ASAP:
                    c.write_pending()
                self.free_client(c)
        pending = self.clients_pending_write
        # io-threads > 1: iothreads.py writes them when enough are pending.
        if pending and (self.io_threads is None
                        or not self.io_threads.handle_pending_writes()):
            self.clients_pending_write = []
            for c in pending:
                c.pending_write = False
                if c.sock is not None and not c.flags & _CLOSING or (
                        c.flags & _CLOSE_AFTER_REPLY and c.id in self.clients):
                    c.write_pending()

    # ------------------------------------------------------------------
    # Start-up and shutdown
    # ------------------------------------------------------------------
    def _register_config_listeners(self) -> None:
        self.guard_hooks: list[Callable] = []
        self.oom_guard: Callable | None = None     # evict.oom_guard
        # commands.slowlog sets these (see call()).
        self.latency_tracking = False
        self.after_call_us = 1 << 62
        self.after_call_hook: Callable | None = None
        self.child_pid = 0
        self._guards_active = False
        cfg = self.config
        if hasattr(cfg, "add_listener"):
            cfg.add_listener("maxmemory", lambda *a: self.refresh_guards())
            cfg.add_listener("maxmemory-policy", lambda *a: self.update_cached_time())
            cfg.add_listener("proto-max-bulk-len", self._apply_max_bulk_len)
            cfg.add_listener("requirepass",
                             lambda cfg, old, new: self.acl.update_default_password(new))
        self.refresh_guards()

    def _apply_max_bulk_len(self, cfg: Any, old: Any, new: Any) -> None:
        for c in self.clients.values():
            c.parser.max_bulk_len = new

    # SHUTDOWN (server.c: prepareForShutdown, isReadyToShutdown,
    # finishShutdown, cancelShutdown, abortShutdown).  A shutdown without NOW
    # and with shutdown-timeout > 0 first waits for lagging replicas: writes
    # are paused (CLIENT PAUSE WRITE, Redis's PAUSE_DURING_SHUTDOWN), the
    # replicas are asked for their offsets, the SHUTDOWN clients stay blocked
    # (BLOCKED_SHUTDOWN) and serverCron -- or an ACK that makes every replica
    # current -- finishes it once all replicas are in sync or the deadline
    # passed.  A failed finish (the final save, without FORCE) or SHUTDOWN
    # ABORT cancels it: the blocked clients get an error, writes resume.
    def prepare_for_shutdown(self, flags: set[str] | None = None) -> bool:
        """prepareForShutdown: True when the server may exit now; False when
        the shutdown waits for replicas (``shutdown_mstime`` is set) or
        failed (it was cancelled, see ``finish_shutdown``)."""
        if self.shutdown_mstime:
            return False                    # one is already waiting
        flags = set(flags or ())
        if self.loading:
            # Never overwrite the RDB with a half-loaded dataset.
            flags.discard("save")
            flags.add("nosave")
        self.shutdown_flags = flags
        self.log.warning("User requested shutdown...")
        if ("now" not in flags and self.config.shutdown_timeout
                and not self.repl.is_ready_to_shutdown()):
            from omakase.commands.client import clients_are_paused, pause_writes_indefinitely
            self.shutdown_mstime = int(time.time() * 1000) + self.config.shutdown_timeout * 1000
            if clients_are_paused(self):
                self._shutdown_saved_pause = (self.clients_paused_until,
                                              self.client_pause_write_only)
            else:
                self._shutdown_saved_pause = None
                self.repl.send_getack()
            pause_writes_indefinitely(self)
            self.log.notice("Waiting for replicas before shutting down.")
            return False
        return self.finish_shutdown()

    def shutdown_cron(self) -> None:
        """serverCron's part: finish a waiting shutdown when every replica
        is in sync or the deadline passed.  Also run from beforeSleep when
        an ACK made the replicas current."""
        if not self.shutdown_mstime or self.el.stopped:
            return
        if (int(time.time() * 1000) >= self.shutdown_mstime
                or self.repl.is_ready_to_shutdown()):
            if self.finish_shutdown():
                self.exit_code = 0
                self.el.stop()
            return
        if not self.clients_paused_until:
            # CLIENT UNPAUSE lifted our pause (there is one pause here, not
            # one per purpose as in Redis): writes stay paused while waiting.
            from omakase.commands.client import pause_writes_indefinitely
            pause_writes_indefinitely(self)

    def finish_shutdown(self) -> bool:
        """finishShutdown: report lagging replicas, run the hooks (kill a
        child, fsync the AOF, the final save), close, unlink.  A hook that
        fails without FORCE cancels the shutdown (False)."""
        flags = self.shutdown_flags
        self.repl.log_lagging_replicas()
        for hook in self.shutdown_hooks:
            if hook(flags) is False and "force" not in flags:
                self.log.warning("Errors trying to shut down the server. "
                                 "Check the logs for more information.")
                self.cancel_shutdown()
                return False
        for c in list(self.clients.values()):
            if c.reply:
                c.write_pending()
        if self.config.pidfile:
            try:
                os.unlink(self.config.pidfile)
            except OSError:
                pass
        if self.config.unixsocket:
            try:
                os.unlink(self.config.unixsocket)
            except OSError:
                pass
        self.log.warning("Redis is now ready to exit, bye bye...")
        return True

    def cancel_shutdown(self) -> None:
        """cancelShutdown: answer the blocked SHUTDOWN clients, resume writes."""
        waited = bool(self.shutdown_mstime)
        self.shutdown_asap = False
        self.shutdown_flags = set()
        self.shutdown_mstime = 0
        self.reply_to_clients_blocked_on_shutdown()
        if waited:
            from omakase.commands.client import end_pause, pause_clients
            saved = self._shutdown_saved_pause
            self._shutdown_saved_pause = None
            end_pause(self)
            if saved is not None and saved[0] > time.time() * 1000:
                pause_clients(self, saved[0], saved[1])   # a pause from before

    def abort_shutdown(self) -> bool:
        """abortShutdown (SHUTDOWN ABORT): False when nothing was pending."""
        if self.shutdown_mstime:
            self.cancel_shutdown()
        elif self.shutdown_asap:
            self.shutdown_asap = False
        else:
            return False
        self.log.notice("Shutdown manually aborted.")
        return True

    def reply_to_clients_blocked_on_shutdown(self) -> None:
        """replyToClientsBlockedOnShutdown."""
        from omakase.blocking import BLOCKED_SHUTDOWN, unblock_client
        st = getattr(self, "blocking_state", None)
        if st is None or not st.blocked_by_type.get(BLOCKED_SHUTDOWN):
            return
        for c in list(self.clients.values()):
            bs = c.bpop
            if bs is not None and bs.btype == BLOCKED_SHUTDOWN:
                c.add_reply_error("Errors trying to SHUTDOWN. Check logs.")
                unblock_client(c)

    def _signal_shutdown_flags(self) -> set[str]:
        """shutdown-on-sigint / shutdown-on-sigterm for the last signal."""
        cfg = self.config
        bits = int(cfg.shutdown_on_sigint if self.shutdown_signal == signal.SIGINT
                   else cfg.shutdown_on_sigterm)
        return {flag.name.lower() for flag in ShutdownFlag if bits & flag}

    def _on_signal(self, signum: int, frame: Any) -> None:
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        if self.shutdown_asap and signum == signal.SIGINT:
            # A second Ctrl-C: quit without saving or waiting for replicas.
            self.log.warning("You insist... exiting now.")
            os._exit(1)
        self.log.warning(f"Received {name} scheduling shutdown...")
        self.shutdown_asap = True
        self.shutdown_signal = signum
        self.el.wake()

    def run(self) -> int:
        """Listen, serve until shutdown, return the exit code."""
        err = self.acl.load_users_at_startup()
        if err is not None:
            self.log.warning(f"Aborting Redis startup because of ACL errors: {err}")
            return 1
        self.config.acl_rewrite_lines = self.acl.lines
        try:
            self.listen()
        except OSError as exc:
            self.log.warning(str(exc.strerror or exc))
            return 1
        gc.disable()
        gc.freeze()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.el.add_timer(1, self.server_cron)
        for hook in self.startup_hooks:
            hook()
        if self.el.stopped:       # a start-up step failed (a corrupt RDB/AOF)
            for s in self.listeners:
                s.close()
            self.el.close()
            return self.exit_code
        self.log.notice("Ready to accept connections")
        while not self.el.stopped:
            self.el.process_events()
            if self.shutdown_asap and not self.shutdown_mstime:
                # Stays set while the shutdown waits for replicas (cleared
                # by a cancel: a failed save or SHUTDOWN ABORT).
                if self.prepare_for_shutdown(self._signal_shutdown_flags()):
                    break
        for s in self.listeners:
            s.close()
        for c in list(self.clients.values()):
            self.free_client(c)
        self.el.close()
        return self.exit_code


NOTIFY_EXPIRED = 1 << 8
_MULTI = ClientFlag.MULTI
_NO_TOUCH = ClientFlag.NO_TOUCH
_CLOSING = ClientFlag.CLOSING
_CLOSE_AFTER_REPLY = ClientFlag.CLOSE_AFTER_REPLY
# Requests with more arguments always take process_command (the lookup
# table stays small; such requests are long enough that it costs little).
PLAIN_MAX_ARGC = 64
_now_ns = time.perf_counter_ns


def _fmt_addr(addr: Any) -> str:
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        if ":" in host:
            return f"[{host}]:{port}"
        return f"{host}:{port}"
    return str(addr)


def _is_loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost") or host.startswith("::ffff:127.")


def _client_is_local(c: Client) -> bool:
    return c.is_unix or _is_loopback(c.addr.rsplit(":", 1)[0].strip("[]"))
