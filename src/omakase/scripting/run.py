"""One script run and the server side of ``redis.*`` (Redis's ``script.c``).

``ScriptingState`` is the server's scripting room: the two Lua states (EVAL
scripts and function libraries, separate as in Redis), the EVAL script
cache, the function libraries, and the run context of the script being
executed (``RunCtx``, Redis's ``scriptRunCtx``).

A command called from a script (``lua_call``) gets the checks of
``scriptCall`` in its order -- unknown command, arity, NOSCRIPT, read-only
script, OOM -- and then runs through ``server.call`` on the script's fake
client (``ClientFlag.LUA``), in the caller's db, speaking the protocol the
script chose with ``redis.setresp``.  The RESP bytes the fake client received
become the Lua value (``LuaEngine.reply_to_lua``).  Being inside the outer
EVAL's ``call()``, each write is queued on ``server.pending_propagate`` and
the whole script's effects leave as one MULTI/EXEC when the EVAL returns
(effects replication, the only mode of Redis 7.0); EVAL itself is never
propagated.  ``redis.set_repl`` with anything but REPL_ALL drops the effects
of the following commands.  DIVERGENCE: REPL_AOF and REPL_REPLICA are not
told apart (both drop), since propagation here has one stream for both.

A run (``ScriptingState.run_ctx``) is one call into Lua: the script's
runner, made once per script, receives nothing (no keys, no arguments), or
the number of keys and the arguments (or, past ``MAX_VARARGS``, the two
tables) and returns the script's value, or ``(False, error)``.  The run
context (``RunCtx``) is made once per EVAL script and mode (``make_ctx``;
FCALL refills a shared one through ``run``), so a run sets only what
depends on the call.  A small non-negative Lua integer reply is written
straight to the caller's reply list; anything else goes through
``reply_from_lua`` (a table under a deeper recursion limit, see
``lua_env.deep_recursion``).  EVAL is kept out of propagation by
``c.rewritten_argv = []`` only when the dataset changed (otherwise call()
would not propagate it anyway).

Slow scripts (``scriptInterrupt``): a Lua count hook calls ``lua_interrupt``
every 100000 instructions (it stays installed between runs and is set
again only when busy-reply-threshold changes, see the bootstrap in
``lua_env``; outside a run it does nothing).  Past ``busy-reply-threshold`` the script is
"timed out": the caller stops being read (``protectClient``), a guard answers
every command without the ALLOW_BUSY flag with -BUSY, and the hook processes
file events (``processEventsWhileBlocked``: poll, read, run allowed commands,
write replies -- no timers, no expiry, no other beforeSleep work).  SCRIPT
KILL / FUNCTION KILL set ``killed``; the hook then raises the kill error and
keeps raising it on every line so ``pcall`` cannot swallow it.
As in Redis, FUNCTION STATS (flagged ALLOW_BUSY) is still refused while an
EVAL script is busy.  DIVERGENCE: the BUSY check is a server guard
(``server.guard_hooks``, no edit of ``server.py``), so it runs after MULTI
queueing: a command sent inside MULTI while a script is busy is queued
instead of refused.

Other facts kept from Redis: one ``math.random`` generator (rand48) for all
scripts, never reseeded by the server; error statistics count an error of a
command inside a script once (the final script error carries
``ignore_error_stats_update``), and the EVAL/FCALL itself counts as failed
only for errors after its last inner command (``incrCommandStatsOnError``'s
running mark) -- ``run`` offsets ``call()``'s whole-call comparison for that.
"""
from __future__ import annotations

import time
from time import monotonic as _monotonic
from typing import Any

from omakase.acl import ACL_RESTRICTED, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY
from omakase.networking import ClientFlag, FakeClient
from omakase.replies import INTEGERS
from omakase.scripting.lua_env import (LUA_TYPE, LuaEngine, RedisRand48,
                                       ScriptRaise, add_error, deep_recursion,
                                       reply_from_lua)

# Script flags (SCRIPT_FLAG_* in script.h).
FLAG_NO_WRITES = 1 << 0
FLAG_ALLOW_OOM = 1 << 1
FLAG_ALLOW_STALE = 1 << 2
FLAG_NO_CLUSTER = 1 << 3
FLAG_EVAL_COMPAT_MODE = 1 << 4
FLAG_ALLOW_CROSS_SLOT = 1 << 5
FLAG_NAMES = [(b"no-writes", FLAG_NO_WRITES), (b"allow-oom", FLAG_ALLOW_OOM),
              (b"allow-stale", FLAG_ALLOW_STALE), (b"no-cluster", FLAG_NO_CLUSTER),
              (b"allow-cross-slot-keys", FLAG_ALLOW_CROSS_SLOT)]

HOOK_COUNT = 100000
# A table reply may nest deeper than Python's default recursion limit.
_deep_reply_from_lua = deep_recursion(reply_from_lua)
# Values lupa hands back that reply_from_lua answers without recursing.
_FLAT_VALUES = frozenset((bytes, int, float, bool, type(None)))
# Up to this many KEYS+ARGV go to Lua as call arguments; more as two tables.
MAX_VARARGS = 64
SLOW_EVAL_ERR = ("-BUSY Redis is busy running a script. You can only call SCRIPT KILL "
                 "or SHUTDOWN NOSAVE.")
SLOW_SCRIPT_ERR = ("-BUSY Redis is busy running a script. You can only call FUNCTION KILL "
                   "or SHUTDOWN NOSAVE.")
UNKILLABLE = ("-UNKILLABLE Sorry the script already executed write commands against the "
              "dataset. You can either wait the script termination or kill the server in a "
              "hard way using the SHUTDOWN NOSAVE command.")
NOTBUSY = "-NOTBUSY No scripts in execution right now."


def numkeys_fit(c: Any, numkeys: int, nargs: int) -> bool:
    """EVAL's and FCALL's check of numkeys against the ``nargs`` arguments
    after it; False after the error reply."""
    if numkeys > nargs:
        c.add_reply_error("Number of keys can't be greater than number of args")
        return False
    if numkeys < 0:
        c.add_reply_error("Number of keys can't be negative")
        return False
    return True


class RunCtx:
    """scriptRunCtx: the state of the script being executed.  Only one
    script runs at a time.  What does not depend on the call (engine,
    runner, name, mode, read-only, allow-oom) is set once when the context
    is made (``make_ctx``): an EVAL script keeps one context per mode
    (``eval.Script``), FCALL fills the shared one; ``run_ctx`` sets the
    rest on every run (no constructor call per run)."""
    __slots__ = ("caller", "engine", "runner", "funcname", "eval_mode", "read_only",
                 "allow_oom", "write_dirty", "killed", "timed_out", "start", "resp", "repl",
                 "oom_at_start", "argv")


def make_ctx(ctx: RunCtx | None, engine: Any, runner: Any, eval_mode: bool, flags: int,
             read_only_cmd: bool, funcname: bytes) -> RunCtx:
    """A run context (``ctx``, or a new one) with the fields that do not
    depend on the call."""
    if ctx is None:
        ctx = RunCtx()
        ctx.caller = ctx.argv = None
        ctx.write_dirty = ctx.killed = ctx.timed_out = ctx.oom_at_start = False
        ctx.start = 0.0
        ctx.resp = 2
        ctx.repl = 3
    ctx.engine = engine
    ctx.runner = runner
    ctx.funcname = funcname
    ctx.eval_mode = eval_mode
    ctx.read_only = read_only_cmd or flags & FLAG_NO_WRITES != 0
    ctx.allow_oom = flags & FLAG_ALLOW_OOM != 0
    return ctx


class ScriptingState:
    def __init__(self, server: Any) -> None:
        self.server = server
        self._eval_engine: LuaEngine | None = None
        self._func_engine: LuaEngine | None = None
        self.scripts: dict[bytes, Any] = {}          # sha1 hex -> eval.Script
        self.bodies: dict[bytes, Any] = {}           # body -> the same eval.Script
        self.libraries: dict[bytes, Any] = {}        # name -> functions.Library
        self.functions: dict[bytes, Any] = {}        # name -> functions.Function
        self.ctx: RunCtx | None = None
        self._run_ctx = make_ctx(None, None, None, False, 0, False, b"")   # FCALL's
        self.fake = FakeClient(server)
        self.fake.flags |= ClientFlag.LUA
        self.fake.name = None
        # One PRNG for math.random in every script, never reseeded by the
        # server (Redis 7.0 no longer calls redisSrand48(0) per EVAL).
        self.rand = RedisRand48()
        self._flag_cache: dict[Any, int] = {}     # Command -> plain int flags
        # The Lua debugger's session (ldb.Session) while one runs, else None.
        self.ldb_session: Any = None
        self.ldb_children: list[int] = []           # pids of forked debugging sessions
        self.ldb_shutdown_hook = False

    # -- the Lua states ------------------------------------------------------
    @property
    def eval_engine(self) -> LuaEngine:
        if self._eval_engine is None:
            self._eval_engine = LuaEngine(self, "eval")
        return self._eval_engine

    @property
    def func_engine(self) -> LuaEngine:
        if self._func_engine is None:
            self._func_engine = LuaEngine(self, "function")
        return self._func_engine

    def reset_eval(self) -> None:
        """SCRIPT FLUSH: a new Lua state and an empty cache."""
        self.scripts = {}
        self.bodies = {}
        self._eval_engine = None

    def reset_functions(self) -> None:
        self.libraries = {}
        self.functions = {}
        self._func_engine = None

    # -- running a script (scriptPrepareForRun / luaCallFunction) ------------
    def prepare(self, c: Any, flags: int, read_only_cmd: bool) -> str | None:
        """The checks made before a script starts; an error string or None."""
        server = self.server
        if not flags & FLAG_EVAL_COMPAT_MODE:
            if (not flags & FLAG_ALLOW_OOM and server.config.maxmemory
                    and not flags & FLAG_NO_WRITES and self._over_maxmemory()):
                # Redis refuses it earlier, in processCommand (the script's
                # flags make the EVAL a DENYOOM command), with the shared error.
                return "-OOM command not allowed when used memory > 'maxmemory'."
            if not flags & FLAG_NO_WRITES:
                if (server.masterhost and server.config.replica_read_only
                        and not c.flags & ClientFlag.MASTER):
                    return "-READONLY Can not run script with write flag on readonly replica"
                if read_only_cmd:
                    return "Can not execute a script with write flag using *_ro command."
        return None

    def _over_maxmemory(self) -> bool:
        from omakase.commands.info import used_memory
        maxmemory = self.server.config.maxmemory
        return bool(maxmemory) and used_memory(self.server) > maxmemory

    def run(self, c: Any, engine: LuaEngine, runner: Any, argv: list[bytes], numkeys: int,
            eval_mode: bool, flags: int, read_only_cmd: bool, funcname: bytes) -> None:
        """luaCallFunction: run a script (its ``runner``, see
        ``LuaEngine.make_runner``) with KEYS = argv[3:3+numkeys] and ARGV =
        the rest, and reply its value.  The caller made every check
        (numkeys, ``prepare``).  FCALL's entry; EVAL keeps a context per
        script and calls ``run_ctx`` itself."""
        self.run_ctx(c, make_ctx(self._run_ctx, engine, runner, eval_mode, flags,
                                 read_only_cmd, funcname), argv, numkeys)

    def run_ctx(self, c: Any, ctx: RunCtx, argv: list[bytes], numkeys: int) -> None:
        """``run`` with a context made by ``make_ctx``.  Hot (every EVAL):
        each statement counts."""
        server = self.server
        config = server.config
        ctx.caller = c
        ctx.argv = argv         # FUNCTION STATS; no command rebuilds it in place
        ctx.write_dirty = ctx.killed = ctx.timed_out = False
        ctx.resp = 2
        ctx.repl = 3
        ctx.oom_at_start = (config.maxmemory and not ctx.allow_oom
                            and self._over_maxmemory())
        self.fake.db = c.db
        engine = ctx.engine
        # The count hook stays installed between runs (see the bootstrap);
        # it is set again only when busy-reply-threshold changed.
        if config.busy_reply_threshold != engine.hook_threshold:
            self._set_hook(engine, config.busy_reply_threshold)
        errors_before = server.stat_total_error_replies
        dirty_before = server.dirty
        self.ctx = ctx
        ctx.start = _monotonic()
        try:
            if len(argv) == 3:
                val = ctx.runner()
            elif len(argv) <= 3 + MAX_VARARGS:
                val = ctx.runner(numkeys, *argv[3:])
            else:       # long lists: no huge vararg call, two tables
                table_from = engine.table_from
                val = ctx.runner(-1, table_from(argv[3:3 + numkeys]),
                                 table_from(argv[3 + numkeys:]))
        finally:
            self.ctx = None
            if ctx.timed_out:
                self._leave_busy(ctx)
            ctx.caller = ctx.argv = None
        errors_inside = server.stat_total_error_replies
        if val.__class__ is int and 0 <= val < 10000:
            # The common "return <integer>" (lupa gives integral Lua
            # numbers as int): luaReplyToRedisReply's number case.
            if not c.reply_off:
                c.reply.append(INTEGERS[val])
        elif val.__class__ is tuple:        # (False, error): the run failed
            self._reply_error(c, val[1], ctx.funcname)
        elif val.__class__ in _FLAT_VALUES:
            reply_from_lua(c, val, ctx.resp)
        else:
            # A table may nest deeper than Python's default recursion limit.
            _deep_reply_from_lua(c, val, ctx.resp)
        # Redis counts a failed EVAL only for errors after its last inner
        # command (incrCommandStatsOnError's running mark); call() here
        # looks at the whole EVAL, so errors of inner commands are offset.
        if errors_inside != errors_before:
            if server.stat_total_error_replies == errors_inside and c.cmd is not None:
                c.cmd.failed_calls -= 1
        # The script's effects were propagated command by command: EVAL
        # itself never is (call() propagates a command only if it dirtied).
        if server.dirty != dirty_before:
            c.rewritten_argv = []

    @staticmethod
    def _set_hook(engine: LuaEngine, threshold: Any) -> None:
        """Install the count hook for busy-reply-threshold ``threshold``
        (none when it is 0); the Lua side keeps the count it installed."""
        engine.set_hook(HOOK_COUNT if threshold > 0 else 0)
        engine.hook_threshold = threshold

    def _reply_error(self, c: Any, err: Any, funcname: bytes) -> None:
        if err is None or LUA_TYPE(err) != "table":
            msg = err if isinstance(err, bytes) else b"execution failure"
            c.add_reply_error(b"Error running script %s, %s\n" % (funcname, msg[:100]))
            return
        msg = err[b"err"]
        if isinstance(msg, (int, float)) and not isinstance(msg, bool):
            msg = b"%d" % msg if msg == int(msg) else b"%.14g" % msg
        elif not isinstance(msg, bytes):
            msg = b"ERR unknown error"
        source, line = err[b"source"], err[b"line"]
        final = b"-" + msg
        if source is not None and line is not None:
            if isinstance(line, (int, float)):
                line = b"%d" % line
            final += b" script: %s, on %s:%s." % (funcname, source, line)
        add_error(c, final, err[b"ignore_error_stats_update"] is True)

    # -- redis.call / redis.pcall (scriptCall) -------------------------------
    def _engine(self) -> LuaEngine:
        return self.ctx.engine if self.ctx is not None else self.eval_engine

    def lua_call(self, raise_error: bool, args: tuple) -> Any:
        """redis.call (raise_error) and redis.pcall: luaRedisGenericCommand."""
        ctx = self.ctx
        if ctx is None:
            self.eval_engine.raise_table("redis.call/pcall can only be called inside a script "
                                         "invocation")
        engine = ctx.engine
        argv = _lua_argv(args)
        if isinstance(argv, str):
            t = engine.push_error(argv)
            if raise_error:
                raise ScriptRaise(t)
            return t
        ldb = self.ldb_session
        if ldb is not None and ldb.step:
            ldb.log_command(argv)
        v, is_err = self._script_call(ctx, engine, argv)
        if is_err and raise_error:
            raise ScriptRaise(v)
        return v

    def _script_call(self, ctx: RunCtx, engine: LuaEngine, argv: list[bytes]) -> tuple:
        """scriptCall: the checks, then the command through server.call."""
        server = self.server
        cmd = server.commands.lookup(argv)
        err = None
        if cmd is None:
            err = "Unknown Redis command called from script"
        elif (cmd.arity > 0 and cmd.arity != len(argv)) or len(argv) < -cmd.arity:
            err = "Wrong number of args calling Redis command from script"
        else:
            flags = self._flag_cache.get(cmd)
            if flags is None:
                flags = self._flag_cache[cmd] = int(cmd.flags)
            if flags & _NOSCRIPT:
                err = "This Redis command is not allowed from script"
            elif ctx.caller.flags & ACL_RESTRICTED and (err := _acl_denial(ctx.caller, cmd, argv)):
                pass
            elif ctx.read_only and flags & (_WRITE | _MAY_REPLICATE):
                err = "Write commands are not allowed from read-only scripts."
            elif (flags & _WRITE and not ctx.write_dirty and server.masterhost
                  and server.config.replica_read_only
                  and not ctx.caller.flags & ClientFlag.MASTER):
                err = "-READONLY You can't write against a read only replica."
            elif (not ctx.allow_oom and server.config.maxmemory and not ctx.write_dirty
                  and ctx.oom_at_start and flags & _DENYOOM):
                err = "-OOM command not allowed when used memory > 'maxmemory'."
        if err is not None:
            server.count_error_reply(err if err.startswith("-") else "-ERR " + err)
            if cmd is not None:
                cmd.rejected_calls += 1
            t = engine.push_error(err)
            t[b"ignore_error_stats_update"] = True
            return t, True
        if cmd.is_write:
            ctx.write_dirty = True
        fake = self.fake
        fake.resp = ctx.resp
        fake.reply = []         # (not reset per run: here, around each call)
        mark = len(server.pending_propagate)
        server.call(fake, cmd, argv)
        if ctx.repl != 3:
            del server.pending_propagate[mark:]
        reply = b"".join(fake.reply)
        fake.reply = []
        ldb = self.ldb_session
        if ldb is None:
            return engine.reply_to_lua(reply)
        result = engine.reply_to_lua(reply)
        if ldb.step:
            ldb.log_reply(reply)
        return result

    def lua_acl_check(self, *args: Any) -> bool:
        engine = self._engine()
        if self.ctx is None:
            engine.raise_table("redis.acl_check_cmd can only be called inside a script "
                               "invocation")
        argv = _lua_argv(args)
        if isinstance(argv, str):
            engine.raise_table(argv)
        if self.server.commands.lookup(argv) is None:
            engine.raise_table("Invalid command passed to redis.acl_check_cmd()")
        return True

    def lua_log(self, *args: Any) -> None:
        engine = self._engine()
        if len(args) < 2:
            engine.raise_table("redis.log() requires two arguments or more.")
        level = args[0]
        if isinstance(level, bytes):
            try:
                level = float(level)
            except ValueError:
                level = None
        if not isinstance(level, (int, float)) or isinstance(level, bool):
            engine.raise_table("First argument must be a number (log level).")
        level = int(level)
        if level < 0 or level > 3:
            engine.raise_table("Invalid debug level.")
        parts = []
        for a in args[1:]:
            if isinstance(a, bytes):
                parts.append(a)
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                parts.append(b"%d" % a if a == int(a) and abs(a) < 1e15 else b"%.14g" % a)
        log = self.server.log
        if log.enabled(level):
            log.log(level, b" ".join(parts).decode("utf-8", "replace"))

    def lua_setresp(self, *args: Any) -> None:
        ctx = self.ctx
        engine = self._engine()
        if ctx is None:
            engine.raise_table("redis.setresp can only be called inside a script invocation")
        if len(args) != 1:
            engine.raise_table("redis.setresp() requires one argument.")
        v = _to_int(args[0])
        if v not in (2, 3):
            engine.raise_table("RESP version must be 2 or 3.")
        ctx.resp = v

    def lua_set_repl(self, *args: Any) -> None:
        ctx = self.ctx
        engine = self._engine()
        if ctx is None:
            engine.raise_table("redis.set_repl can only be called inside a script invocation")
        if len(args) != 1:
            engine.raise_table("redis.set_repl() requires two arguments.")
        v = _to_int(args[0])
        if v & ~3:
            engine.raise_table("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                               "REPL_ALL or REPL_NONE.")
        ctx.repl = v

    # -- slow scripts (scriptInterrupt) ---------------------------------------
    def lua_interrupt(self) -> bool:
        ctx = self.ctx
        if ctx is None:
            return False
        if ctx.killed:
            return True
        server = self.server
        elapsed = (time.monotonic() - ctx.start) * 1000
        if elapsed < server.config.busy_reply_threshold:
            return False
        if not ctx.timed_out:
            ctx.timed_out = True
            server.log.warning(
                "Slow script detected: still in execution after %d milliseconds. You can try "
                "killing the script using the %s command. Script name is: %s." % (
                    elapsed, "SCRIPT KILL" if ctx.eval_mode else "FUNCTION KILL",
                    ctx.funcname.decode("utf-8", "replace")))
            self._enter_busy(ctx)
        self._process_events_while_blocked()
        return ctx.killed

    def _busy_guard(self, c: Any, cmd: Any, argv: list[bytes]) -> str | None:
        ctx = self.ctx
        if ctx is None:
            return None
        if cmd.flags & _ALLOW_BUSY and not (ctx.eval_mode and cmd.fullname == "function|stats"):
            return None
        return SLOW_EVAL_ERR if ctx.eval_mode else SLOW_SCRIPT_ERR

    def _enter_busy(self, ctx: RunCtx) -> None:
        server = self.server
        caller = ctx.caller
        if caller.sock is not None and caller.fd in server.el.readers:
            server.el.remove_reader(caller.fd)
        server.guard_hooks.append(self._busy_guard)
        server.refresh_guards()

    def _leave_busy(self, ctx: RunCtx) -> None:
        server = self.server
        if self._busy_guard in server.guard_hooks:
            server.guard_hooks.remove(self._busy_guard)
            server.refresh_guards()
        caller = ctx.caller
        if caller.sock is not None and not caller.closing and caller.id in server.clients:
            server.el.add_reader(caller.fd, caller.on_readable)

    def _process_events_while_blocked(self) -> None:
        server = self.server
        el = server.el
        saved = el.before_sleep
        el.before_sleep = self._blocked_before_sleep
        try:
            for _ in range(4):
                el.process_events(dont_wait=True, timers=False)
            self._blocked_before_sleep()
        finally:
            el.before_sleep = saved

    def _blocked_before_sleep(self) -> None:
        """beforeSleep while processing events during a slow script: only
        replies are written and closed clients freed."""
        server = self.server
        caller = self.ctx.caller if self.ctx is not None else None
        pending = server.clients_pending_write
        if pending:
            server.clients_pending_write = []
            keep = []
            for c in pending:
                if c is caller:
                    keep.append(c)
                    continue
                c.pending_write = False
                if c.sock is not None and not c.closing:
                    c.write_pending()
            server.clients_pending_write.extend(keep)
        if server.clients_to_close:
            closing = [c for c in server.clients_to_close if c is not caller]
            server.clients_to_close = [c for c in server.clients_to_close if c is caller]
            for c in closing:
                if c.reply and c.sock is not None and not c.flags & ClientFlag.CLOSE_ASAP:
                    c.write_pending()
                server.free_client(c)

    def kill(self, c: Any, is_eval: bool) -> None:
        """scriptKill: SCRIPT KILL (is_eval) or FUNCTION KILL."""
        ctx = self.ctx
        if ctx is None:
            c.add_reply_error(NOTBUSY)
            return
        if ctx.caller.flags & ClientFlag.MASTER:
            c.add_reply_error("-UNKILLABLE The busy script was sent by a master instance in "
                              "the context of replication and cannot be killed.")
            return
        if ctx.write_dirty:
            c.add_reply_error(UNKILLABLE)
            return
        if is_eval and not ctx.eval_mode:
            c.add_reply_error(SLOW_SCRIPT_ERR)
            return
        if not is_eval and ctx.eval_mode:
            c.add_reply_error(SLOW_EVAL_ERR)
            return
        ctx.killed = True
        c.add_reply_ok()


_ACL_SCRIPT_ERRORS = {
    DENIED_CMD: "The user executing the script can't run this command or subcommand",
    DENIED_KEY: "The user executing the script can't access at least one of the keys "
                "mentioned in the command arguments",
    DENIED_CHANNEL: "The user executing the script can't publish to the channel mentioned in "
                    "the command",
}


def _acl_denial(caller: Any, cmd: Any, argv: list[bytes]) -> str | None:
    """scriptVerifyACL: the caller's user must be allowed the command, its
    keys and channels; a denial is logged with context "lua"."""
    acl = caller.server.acl
    user = acl.users.get(caller.user)
    if user is None:
        return None
    reason, pos = user.check(cmd, argv)
    if reason == 0:
        return None
    acl.add_log_entry(caller, reason, "lua",
                      cmd.fullname.encode() if reason == DENIED_CMD else argv[pos])
    return _ACL_SCRIPT_ERRORS[reason]


def _lua_argv(args: tuple) -> list[bytes] | str:
    """luaArgsToRedisArgv: numbers as %.17g; an error message otherwise."""
    if not args:
        return "Please specify at least one argument for this redis lib call"
    argv = []
    for a in args:
        if isinstance(a, bytes):
            argv.append(a)
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            argv.append(b"%.17g" % a)
        else:
            return "Lua redis lib command arguments must be strings or integers"
    return argv


def _to_int(v: Any) -> int:
    """lua_tonumber then a C int cast (0 for non-numbers)."""
    if isinstance(v, bool) or v is None:
        return 0
    if isinstance(v, bytes):
        try:
            v = float(v)
        except ValueError:
            return 0
    try:
        return int(v)
    except (ValueError, OverflowError):
        return 0


def _flag(name: str) -> int:
    from omakase.commands.registry import CmdFlag
    return int(CmdFlag[name])


_NOSCRIPT = _flag("NOSCRIPT")
_WRITE = _flag("WRITE")
_MAY_REPLICATE = _flag("MAY_REPLICATE")
_DENYOOM = _flag("DENYOOM")
_ALLOW_BUSY = _flag("ALLOW_BUSY")
