"""The Lua debugger, "ldb" (Redis's ``eval.c`` ``ldb*`` functions and
``luaLdbLineHook``).

A client asks for it with SCRIPT DEBUG YES or SYNC (``script_debug``); its
next EVAL (or EVAL_RO) then runs as a debugging session
(``eval_with_debugging``, evalGenericCommandWithDebugging):

* YES: the server forks.  The parent frees the client at once (without a
  word: the child owns the conversation now) and keeps serving; the child
  runs the session and the script, writes the EVAL reply and leaves with
  ``os._exit``, so whatever the script wrote dies with it ("dataset changes
  rolled back").  The child ignores SIGTERM and SIGINT, closes the listening
  sockets and the other clients' sockets, and gets an inert event-loop
  backend: the epoll instance is shared with the parent across fork, and a
  registration changed from the child would change the parent's.  The
  parent reaps its debugging children from a timer (``_reap``) and a
  SHUTDOWN kills the ones left (ldbKillForkedSessions).
* SYNC: the session runs in the server itself, which serves nobody else
  until it ends; the script's writes stay.  The client is closed after the
  EVAL reply.

During a session the server talks to the client directly on its socket,
switched to blocking mode with a 5 s send timeout (connBlock,
connSendTimeout): the Lua hook (``line_hook``, called by the bootstrap's
``ldb_hook`` on every line and every 100000 instructions) stops at the
first line, on a breakpoint, after ``redis.breakpoint()``, or when the
script has run busy-reply-threshold ms (5 s if 0) without a stop, sends
the log lines gathered so far and reads debugger commands (``repl``) until
one resumes the script.  Every reply is the pending log lines as an array
of status replies; CR and LF inside a line become spaces.  Commands arrive
as RESP arrays parsed by a deliberately lax parser (``parse_command``,
ldbReplParseCommand: whatever follows a complete command in the buffer is
dropped); a protocol error or more than 1 MiB buffered ends the script with
an error.  If the client goes away, the script runs to its end without
stops.  The session ends with an ``<endsession>`` line, then the EVAL
reply.

While the debugger steps, each ``redis.call`` logs ``<redis> argv`` (the
first ten arguments) and ``<reply> ...`` (the reply in ldbRedisProtocolToHuman's
notation), and each error built for the script logs ``<error> ...`` (see
``LuaEngine.push_error``).  Values are shown as ldbCatStackValue shows them
(strings quoted and escaped, numbers with %g, tables as ``{1; 2}`` or
``{["k"]=v}``, functions and the like as ``"function@0x..."``); that code,
and the stack walks of print, trace and eval, are in the Lua bootstrap
(``lua_env``), so they see Lua's own frames, locals and table order.
Replies and values longer than ``maxlen`` (256 by default) are cut, with a
hint the first time.

Facts kept from Redis on purpose: a breakpoint already set cannot be set
again ("Wrong line number."), removing one shifts the table by bytes, not
entries (memmove with a count of ints), so the breakpoints after it are
garbled as in Redis; ``<redis>`` logs the first ten arguments then
"... (N more)" with N one less than the arguments left out; SCRIPT DEBUG
refuses to run with replies pending ("outside a pipeline"), which is also
what it answers inside MULTI.

DIVERGENCE: Redis keeps one debugger state for the whole server, reset by
every SCRIPT DEBUG YES/SYNC, and a session talks to the connection of the
client that asked last; here each session starts from the defaults and
talks to its own client.  ``eval`` of code that raises a non-string error
(a table, nil) crashes Redis 7.0.15's child (a NULL ``%s``); here the
table's ``err`` field, or "(null)", is shown.  Coroutines created by the
script run without the debugger's hook (the Lua-level hook is per
coroutine).  The ``<error>`` line of a ``-READONLY`` or ``-OOM`` refusal
lacks the two trailing spaces Redis's CRLF-terminated message gives.
"""
from __future__ import annotations

import os
import signal
import socket
import struct
import time
from typing import Any, Callable

from omakase.eventloop import NOMORE
from omakase.networking import ClientFlag
from omakase.scripting.lua_env import ScriptRaise
from omakase.util import parse_ll

LUA_DEBUG = ClientFlag.LUA_DEBUG
LUA_DEBUG_SYNC = 1 << 26            # CLIENT_LUA_DEBUG_SYNC (no ClientFlag entry)
MAX_BREAKPOINTS = 64                # LDB_BREAKPOINTS_MAX
MAX_LEN_DEFAULT = 256               # LDB_MAX_LEN_DEFAULT
MAX_CMD_BUFFER = 1 << 20
READ_SIZE = 1024
SEND_TIMEOUT = 5
REAP_INTERVAL_MS = 100
OUT_OF_RANGE = b"<out of range source code line>"

HELP = [
    b"Redis Lua debugger help:",
    b"[h]elp               Show this help.",
    b"[s]tep               Run current line and stop again.",
    b"[n]ext               Alias for step.",
    b"[c]ontinue           Run till next breakpoint.",
    b"[l]ist               List source code around current line.",
    b"[l]ist [line]        List source code around [line].",
    b"                     line = 0 means: current position.",
    b"[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    b"                     to show before/after [line].",
    b"[w]hole              List all source code. Alias for 'list 1 1000000'.",
    b"[p]rint              Show all the local variables.",
    b"[p]rint <var>        Show the value of the specified variable.",
    b"                     Can also show global vars KEYS and ARGV.",
    b"[b]reak              Show all breakpoints.",
    b"[b]reak <line>       Add a breakpoint to the specified line.",
    b"[b]reak -<line>      Remove breakpoint from the specified line.",
    b"[b]reak 0            Remove all breakpoints.",
    b"[t]race              Show a backtrace.",
    b"[e]val <code>        Execute some Lua code (in a different callframe).",
    b"[r]edis <cmd>        Execute a Redis command.",
    b"[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    b"                     Specifying zero as <len> means unlimited.",
    b"[a]bort              Stop the execution of the script. In sync",
    b"                     mode dataset changes will be retained.",
    b"",
    b"Debugger functions you can call from Lua scripts:",
    b"redis.debug()        Produce logs in the debugger console.",
    b"redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    b"                     next line of code.",
]


# -- small C helpers ----------------------------------------------------------
def c_atoi(s: bytes) -> int:
    """atoi: optional blanks and sign, then digits; 0 if none (wrapped to a
    C int, as the overflow does on the platforms Redis runs on)."""
    i, n = 0, len(s)
    while i < n and s[i] in b" \t\n\v\f\r":
        i += 1
    neg = False
    if i < n and s[i] in b"+-":
        neg = s[i] == 45
        i += 1
    v = 0
    while i < n and 48 <= s[i] <= 57:
        v = v * 10 + s[i] - 48
        i += 1
    v = -v if neg else v
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def c_str(s: bytes) -> bytes:
    """What a C string function sees of s (up to the first NUL)."""
    nul = s.find(b"\0")
    return s if nul < 0 else s[:nul]


def _cfind(buf: bytes, sub: bytes, pos: int) -> int:
    """strstr/strchr from pos: the search stops at a NUL."""
    end = buf.find(b"\0", pos)
    return buf.find(sub, pos, len(buf) if end < 0 else end)


def catrepr(s: bytes) -> bytes:
    """sdscatrepr: quoted, with escapes for what isprint refuses."""
    out = bytearray(b'"')
    for ch in s:
        if ch == 92 or ch == 34:
            out += b"\\" + bytes((ch,))
        elif ch == 10:
            out += b"\\n"
        elif ch == 13:
            out += b"\\r"
        elif ch == 9:
            out += b"\\t"
        elif ch == 7:
            out += b"\\a"
        elif ch == 8:
            out += b"\\b"
        elif 32 <= ch <= 126:
            out.append(ch)
        else:
            out += b"\\x%02x" % ch
    out += b'"'
    return bytes(out)


def parse_command(buf: bytes) -> tuple[list[bytes] | None, bool]:
    """ldbReplParseCommand: (argv, False) for a complete command, (None,
    False) to read more, (None, True) on a protocol error."""
    if not buf:
        return None, False
    p = _cfind(buf, b"*", 0)
    if p < 0:
        return None, True
    e = _cfind(buf, b"\r\n", p)
    if e < 0:
        return None, False
    argc = c_atoi(c_str(buf[p + 1:e]))
    if argc <= 0 or argc > 1024:
        return None, True
    pos = e + 2
    argv: list[bytes] = []
    n = len(buf)
    while len(argv) < argc:
        if pos >= n or buf[pos] == 0:
            return None, False
        if buf[pos] != 36:          # '$'
            return None, True
        e = _cfind(buf, b"\r\n", pos)
        if e < 0:
            return None, False
        slen = c_atoi(c_str(buf[pos + 1:e]))
        if slen <= 0 or slen > 1024:
            return None, True
        pos = e + 2
        if pos + slen + 2 > n:
            return None, False
        argv.append(buf[pos:pos + slen])
        pos += slen
        if buf[pos:pos + 2] != b"\r\n":
            return None, True
        pos += 2
    return argv, False


def protocol_to_human(reply: bytes, pos: int, out: bytearray) -> int:
    """ldbRedisProtocolToHuman: append the reply at ``pos`` in the
    debugger's notation, return the position after it.  A type it does not
    know appends nothing and does not move (as in Redis)."""
    t = reply[pos:pos + 1]
    if t not in b":$+-*~%_#," or not t:
        return pos
    eol = reply.find(b"\r", pos + 1)
    head = reply[pos + 1:eol]
    nxt = eol + 2
    if t == b":":
        out += head
        return nxt
    if t == b"$":
        ok, n = parse_ll(head)
        if n == -1:
            out += b"NULL"
            return nxt
        out += catrepr(reply[nxt:nxt + n])
        return nxt + n + 2
    if t in b"+-":
        out += catrepr(reply[pos:eol])
        return nxt
    if t == b"_":
        out += b"(null)"
        return nxt
    if t == b"#":
        out += b"#true" if head[:1] == b"t" else b"#false"
        return nxt
    if t == b",":
        out += b"(double) " + head
        return nxt
    ok, n = parse_ll(head)
    p = nxt
    if t == b"*":
        if n == -1:
            out += b"NULL"
            return p
        out += b"["
        for j in range(n):
            p = protocol_to_human(reply, p, out)
            if j != n - 1:
                out += b","
        out += b"]"
    elif t == b"~":
        out += b"~("
        for j in range(n):
            p = protocol_to_human(reply, p, out)
            if j != n - 1:
                out += b","
        out += b")"
    else:                           # '%'
        out += b"{"
        for j in range(n):
            p = protocol_to_human(reply, p, out)
            out += b" => "
            p = protocol_to_human(reply, p, out)
            if j != n - 1:
                out += b","
        out += b"}"
    return p


class Session:
    """One debugging session (Redis's global ``ldb`` while ``ldb.active``)."""
    __slots__ = ("st", "engine", "client", "sock", "forked", "logs", "step", "luabp",
                 "bp", "bpcount", "src", "currentline", "cbuf", "maxlen", "maxlen_hint_sent")

    def __init__(self, st: Any, engine: Any, c: Any, body: bytes, forked: bool) -> None:
        self.st = st
        self.engine = engine
        self.client = c
        self.sock = c.sock
        self.forked = forked
        self.logs: list[bytes] = []
        self.step = True
        self.luabp = False
        # int bp[64] with its byte-wise removal (see the module docstring).
        self.bp = bytearray(4 * MAX_BREAKPOINTS)
        self.bpcount = 0
        body = body.rstrip(b"\r\n")
        self.src = body.split(b"\n") if body else []
        self.currentline = 0
        self.cbuf = b""
        self.maxlen = MAX_LEN_DEFAULT
        self.maxlen_hint_sent = False

    # -- logs ------------------------------------------------------------------
    def log(self, entry: bytes) -> None:
        self.logs.append(entry)

    def log_maxlen(self, entry: bytes) -> None:
        """ldbLogWithMaxLen."""
        trimmed = False
        if self.maxlen and len(entry) > self.maxlen:
            entry = entry[:self.maxlen] + b" ..."
            trimmed = True
        self.logs.append(entry)
        if trimmed and not self.maxlen_hint_sent:
            self.maxlen_hint_sent = True
            self.logs.append(b"<hint> The above reply was trimmed. "
                             b"Use 'maxlen 0' to disable trimming.")

    def send_logs(self) -> None:
        """ldbSendLogs: the pending lines as an array of status replies.
        Write errors are ignored: the next read finds a dead client."""
        parts = [b"*%d\r\n" % len(self.logs)]
        for entry in self.logs:
            parts.append(b"+" + entry.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n")
        self.logs = []
        try:
            self.sock.sendall(b"".join(parts))
        except OSError:
            pass

    def log_command(self, argv: list[bytes]) -> None:
        """The ``<redis>`` line of a redis.call while stepping."""
        entry = bytearray(b"<redis>")
        for j, arg in enumerate(argv):
            if j == 10:
                entry += b" ... (%d more)" % (len(argv) - j - 1)
                break
            entry += b" " + arg
        self.logs.append(bytes(entry))

    def log_reply(self, reply: bytes) -> None:
        """ldbLogRedisReply."""
        out = bytearray(b"<reply> ")
        try:
            protocol_to_human(reply, 0, out)
        except (ValueError, IndexError):
            pass
        self.log_maxlen(bytes(out))

    def source_line(self, line: int) -> bytes:
        """ldbGetSourceLine."""
        if 1 <= line <= len(self.src):
            return c_str(self.src[line - 1])
        return OUT_OF_RANGE

    def log_source_line(self, line: int) -> None:
        """ldbLogSourceLine: "-> " marks the current line, "#" a breakpoint."""
        bp = self.is_breakpoint(line)
        current = self.currentline == line
        prefix = b"->#" if current and bp else b"-> " if current else b"  #" if bp else b"   "
        self.logs.append(b"%s%-3d %s" % (prefix, line, self.source_line(line)))

    def list(self, around: int, context: int) -> None:
        """ldbList: the lines within ``context`` of ``around`` (0: all)."""
        for j in range(1, len(self.src) + 1):
            if around != 0 and abs(around - j) > context:
                continue
            self.log_source_line(j)

    # -- breakpoints -------------------------------------------------------------
    def _bp_get(self, j: int) -> int:
        return struct.unpack_from("<i", self.bp, 4 * j)[0]

    def is_breakpoint(self, line: int) -> bool:
        return any(self._bp_get(j) == line for j in range(self.bpcount))

    def add_breakpoint(self, line: int) -> bool:
        if line <= 0 or line > len(self.src):
            return False
        if not self.is_breakpoint(line) and self.bpcount != MAX_BREAKPOINTS:
            struct.pack_into("<i", self.bp, 4 * self.bpcount, line)
            self.bpcount += 1
            return True
        return False

    def del_breakpoint(self, line: int) -> bool:
        for j in range(self.bpcount):
            if self._bp_get(j) == line:
                self.bpcount -= 1
                n = self.bpcount - j    # bytes, as Redis's memmove moves
                self.bp[4 * j:4 * j + n] = self.bp[4 * (j + 1):4 * (j + 1) + n]
                return True
        return False

    # -- callbacks from Lua ------------------------------------------------------
    def breakpoint(self) -> None:
        """redis.breakpoint(): stop at the next line."""
        self.luabp = True

    def debug(self, values: bytes) -> None:
        """redis.debug(...): the values, already represented by Lua."""
        self.logs.append(b"<debug> line %d: %s" % (self.currentline, values))

    def line_hook(self, is_count: bool, line: int, short_src: bytes) -> None:
        """luaLdbLineHook."""
        self.currentline = line
        bp = self.luabp or self.is_breakpoint(line)
        if b"user_script" not in short_src:
            return
        timeout = False
        ctx = self.st.ctx
        if is_count and not self.step and not bp:
            limit = self.st.server.config.busy_reply_threshold or 5000
            if ctx is None or (time.monotonic() - ctx.start) * 1000 < limit:
                return
            timeout = True
            self.step = True
        if not (self.step or bp):
            return
        reason = b"step over"
        if bp:
            reason = b"redis.breakpoint() called" if self.luabp else b"break point"
        elif timeout:
            reason = b"timeout reached, infinite loop?"
        self.step = False
        self.luabp = False
        self.logs.append(b"* Stopped at %d, stop reason = %s" % (line, reason))
        self.log_source_line(line)
        self.send_logs()
        if not self.repl() and timeout:
            raise ScriptRaise(self.engine.push_error(
                "timeout during Lua debugging with client closing connection"))
        if ctx is not None:
            ctx.start = time.monotonic()

    # -- the command loop -----------------------------------------------------
    def _read_command(self) -> list[bytes] | None:
        """A complete command from the client, None if it went away."""
        while True:
            argv, proto_error = parse_command(self.cbuf)
            if argv is not None:
                self.cbuf = b""     # what followed the command is dropped
                return argv
            if proto_error:
                raise ScriptRaise(self.engine.push_error("protocol error"))
            try:
                data = self.sock.recv(READ_SIZE)
            except OSError:
                data = b""
            if not data:
                # Without its client the script runs to its end, no stops.
                self.step = False
                self.bpcount = 0
                return None
            self.cbuf += data
            if len(self.cbuf) > MAX_CMD_BUFFER:
                self.cbuf = b""
                raise ScriptRaise(self.engine.push_error("max client buffer reached"))

    def repl(self) -> bool:
        """ldbRepl: run debugger commands until one resumes the script;
        False if the client went away."""
        while True:
            argv = self._read_command()
            if argv is None:
                return False
            name = argv[0].lower()
            argc = len(argv)
            if name in (b"h", b"help"):
                self.logs.extend(HELP)
            elif name in (b"s", b"step", b"n", b"next"):
                self.step = True
                return True
            elif name in (b"c", b"continue"):
                return True
            elif name in (b"t", b"trace"):
                self.trace()
            elif name in (b"m", b"maxlen"):
                self.cmd_maxlen(argv)
            elif name in (b"b", b"break"):
                self.cmd_break(argv)
            elif name in (b"e", b"eval"):
                self.cmd_eval(argv)
            elif name in (b"a", b"abort"):
                raise ScriptRaise(self.engine.push_error("script aborted for user request"))
            elif argc > 1 and name in (b"r", b"redis"):
                self.cmd_redis(argv)
            elif name in (b"p", b"print"):
                if argc == 2:
                    self.print_var(argv[1])
                else:
                    self.print_all()
            elif name in (b"l", b"list"):
                around, context = self.currentline, 5
                if argc > 1:
                    num = c_atoi(c_str(argv[1]))
                    if num > 0:
                        around = num
                if argc > 2:
                    context = c_atoi(c_str(argv[2]))
                self.list(around, context)
            elif name in (b"w", b"whole"):
                self.list(1, 1000000)
            else:
                self.logs.append(b"<error> Unknown Redis Lua debugger command or "
                                 b"wrong number of arguments.")
            self.send_logs()

    # -- commands --------------------------------------------------------------
    def print_all(self) -> None:
        """ldbPrintAll: the locals of the current frame."""
        t = self.engine.ldb_locals()
        n = len(t)
        for i in range(1, n + 1, 2):
            self.log_maxlen(b"<value> %s = %s" % (t[i], t[i + 1]))
        if n == 0:
            self.logs.append(b"No local variables in the current context.")

    def print_var(self, name: bytes) -> None:
        """ldbPrint."""
        v = self.engine.ldb_print(c_str(name))
        if v is None:
            self.logs.append(b"No such variable.")
        else:
            self.log_maxlen(b"<value> " + v)

    def trace(self) -> None:
        """ldbTrace."""
        t = self.engine.ldb_trace()
        for i in range(1, len(t) + 1, 3):
            self.logs.append(b"%s %s:" % (t[i], t[i + 1]))
            self.log_source_line(int(t[i + 2]))

    def cmd_break(self, argv: list[bytes]) -> None:
        """ldbBreak: list, add, remove breakpoints."""
        if len(argv) == 1:
            if self.bpcount == 0:
                self.logs.append(b"No breakpoints set. Use 'b <line>' to add one.")
                return
            self.logs.append(b"%d breakpoints set:" % self.bpcount)
            for j in range(self.bpcount):
                self.log_source_line(self._bp_get(j))
            return
        for arg in argv[1:]:
            ok, line = parse_ll(arg)
            if not ok:
                self.logs.append(b"Invalid argument:'%s'" % c_str(arg))
            elif line == 0:
                self.bpcount = 0
                self.logs.append(b"All breakpoints removed.")
            elif line > 0:
                if self.bpcount == MAX_BREAKPOINTS:
                    self.logs.append(b"Too many breakpoints set.")
                elif self.add_breakpoint(line):
                    self.list(line, 1)
                else:
                    self.logs.append(b"Wrong line number.")
            elif self.del_breakpoint(-line):
                self.logs.append(b"Breakpoint removed.")
            else:
                self.logs.append(b"No breakpoint in the specified line.")

    def cmd_maxlen(self, argv: list[bytes]) -> None:
        """ldbMaxlen: show or set the length replies and values are cut at."""
        if len(argv) == 2:
            newval = c_atoi(c_str(argv[1]))
            self.maxlen_hint_sent = True
            if newval != 0 and newval <= 60:
                newval = 60
            self.maxlen = newval
        if self.maxlen:
            self.logs.append(b"<value> replies are truncated at %d bytes." % self.maxlen)
        else:
            self.logs.append(b"<value> replies are unlimited.")

    def cmd_eval(self, argv: list[bytes]) -> None:
        """ldbEval: run Lua code in a frame of its own."""
        ok, v = self.engine.ldb_eval(b" ".join(argv[1:]))
        if ok:
            self.log_maxlen(b"<retval> " + v)
        else:
            if not isinstance(v, bytes):
                v = str(v).encode()
            self.logs.append(b"<error> " + c_str(v))

    def cmd_redis(self, argv: list[bytes]) -> None:
        """ldbRedis: redis.call with logging forced on."""
        self.step = True
        try:
            self.st.lua_call(True, tuple(argv[1:]))
        except ScriptRaise:
            pass
        finally:
            self.step = False


# -- SCRIPT DEBUG and EVAL ------------------------------------------------------
def script_debug(c: Any, argv: list[bytes]) -> None:
    """SCRIPT DEBUG YES|SYNC|NO."""
    if c.reply:
        c.add_reply_error("SCRIPT DEBUG must be called outside a pipeline")
        return
    mode = argv[2].lower()
    if mode == b"no":
        c.flags &= ~(LUA_DEBUG | LUA_DEBUG_SYNC)
    elif mode == b"yes":
        c.flags |= LUA_DEBUG
    elif mode == b"sync":
        c.flags |= LUA_DEBUG | LUA_DEBUG_SYNC
    else:
        c.add_reply_error("Use SCRIPT DEBUG YES/SYNC/NO")
        return
    c.add_reply_ok()


def eval_with_debugging(c: Any, argv: list[bytes], evalsha: bool, read_only: bool,
                        run: Callable[[Any, list[bytes], bool, bool], None]) -> None:
    """evalGenericCommandWithDebugging: ``run`` (the plain EVAL path) inside
    a debugging session."""
    if evalsha:
        if len(argv[1]) != 40:
            c.add_reply_error("-NOSCRIPT No matching script. Please use EVAL.")
        else:
            c.add_reply_error("Please use EVAL instead of EVALSHA for debugging")
        return
    from omakase.scripting import state
    st = state(c.server)
    server = c.server
    forked = not c.flags & LUA_DEBUG_SYNC
    if forked:
        if not _fork_session(st, c):
            return
    else:
        server.log.warning("Redis synchronous debugging eval session started")
    try:
        engine = st.eval_engine
        session = Session(st, engine, c, argv[1], forked)
        sock = c.sock
        sock.setblocking(True)
        _set_send_timeout(sock, SEND_TIMEOUT)
        threshold = server.config.busy_reply_threshold
        if threshold != engine.hook_threshold:
            st._set_hook(engine, threshold)     # so the run keeps the ldb hook
        engine.ldb_sethook(True)
        st.ldb_session = session
        c.flags &= ~LUA_DEBUG       # the plain path, this once
        try:
            run(c, argv, False, read_only)
        finally:
            c.flags |= LUA_DEBUG
            st.ldb_session = None
            engine.ldb_sethook(False)
        _end_session(session, c)
    except BaseException:
        if forked:
            os._exit(1)     # never back into the parent's event loop
        raise


def _end_session(session: Session, c: Any) -> None:
    """ldbEndSession."""
    server = c.server
    session.logs.append(b"<endsession>")
    session.send_logs()
    sock = session.sock
    if session.forked:
        try:
            data = b"".join(c.reply)
            if data:
                sock.sendall(data)
        except OSError:
            pass
        server.log.warning("Lua debugging session child exiting")
        os._exit(0)
    server.log.warning("Redis synchronous debugging eval session ended")
    _set_send_timeout(sock, 0)
    sock.setblocking(False)
    c.close_after_reply()


def _set_send_timeout(sock: Any, seconds: int) -> None:
    """connSendTimeout (SO_SNDTIMEO)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", seconds, 0))
    except (OSError, AttributeError):
        pass


class _InertBackend:
    """The event-loop backend of a debugging child: registrations change
    nothing (the epoll instance is the parent's too) and polling finds
    nothing."""
    read_bits = write_bits = 0

    def register(self, fd: int, mask: int) -> None:
        pass

    modify = register

    def unregister(self, fd: int) -> None:
        pass

    def poll(self, timeout: float) -> list:
        return []

    def close(self) -> None:
        pass


def _fork_session(st: Any, c: Any) -> bool:
    """ldbStartSession's fork: True in the child (which runs the session),
    False in the parent (the client is freed) or when fork failed."""
    server = c.server
    try:
        pid = os.fork()
    except OSError as exc:
        c.add_reply_error("Fork() failed: can't run EVAL in debugging mode: %s"
                          % (exc.strerror or exc))
        c.flags &= ~(LUA_DEBUG | LUA_DEBUG_SYNC)
        return False
    if pid:
        forks = st.ldb_children
        if not forks:
            server.el.add_timer(REAP_INTERVAL_MS, lambda: _reap(st))
        if not st.ldb_shutdown_hook:
            st.ldb_shutdown_hook = True
            server.shutdown_hooks.append(lambda flags: _kill_forked_sessions(st))
        forks.append(pid)
        # The child speaks to the client from now on: stop reading it here
        # and close it without a word (freeClientAsync).
        c.flags &= ~(LUA_DEBUG | LUA_DEBUG_SYNC)
        server.el.remove_fd(c.fd)
        server.free_client_async(c)
        return False
    # -- the child ---------------------------------------------------------
    try:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        el = server.el
        try:
            el.backend.close()
        except OSError:
            pass
        el.backend = _InertBackend()
        el.poll = el.backend.poll
        for sock in server.listeners:
            try:
                sock.close()
            except OSError:
                pass
        for other in list(server.clients.values()):
            if other is not c and other.sock is not None:
                try:
                    other.sock.close()
                except OSError:
                    pass
        server.log.warning("Redis forked for debugging eval")
    except BaseException:
        os._exit(1)
    return True


def _reap(st: Any) -> int:
    """The parent's timer: collect the debugging children that ended."""
    forks = st.ldb_children
    for pid in list(forks):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            forks.remove(pid)
    return REAP_INTERVAL_MS if forks else NOMORE


def _kill_forked_sessions(st: Any) -> None:
    """ldbKillForkedSessions, at shutdown."""
    for pid in st.ldb_children:
        st.server.log.warning("Killing debugging session %d" % pid)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    st.ldb_children.clear()
