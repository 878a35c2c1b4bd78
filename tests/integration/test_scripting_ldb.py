"""The Lua debugger (SCRIPT DEBUG YES|SYNC|NO, redis-cli --ldb).

Sessions are driven over raw sockets (every debugger reply is read before
the next command is sent, so nothing depends on timing) and through
redis-cli --ldb / --ldb-sync-mode with the debugger commands on stdin.
SYNC tests use the shared server; tests of forked (YES) sessions get their
own server.  The differential test runs the same sessions on omakase and on
Debian's redis-server 7.0 and compares the transcripts byte for byte; the
only normalisation is the address in "function@0x..." / "thread@0x..."
values (a pointer, different in every process).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest

TIMEOUT = 10


def enc(*args) -> bytes:
    out = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    """A raw RESP connection that returns each reply's bytes."""

    def __init__(self, srv) -> None:
        self.sock = socket.create_connection((srv.host, srv.port), timeout=TIMEOUT)
        self.f = self.sock.makefile("rb")

    def send(self, *args) -> None:
        self.sock.sendall(enc(*args))

    def read(self) -> bytes:
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed")
        t = line[:1]
        if t == b"$":
            n = int(line[1:])
            return line if n < 0 else line + self.f.read(n + 2)
        if t in (b"*", b"~", b"%"):
            n = int(line[1:]) * (2 if t == b"%" else 1)
            out = line
            for _ in range(max(n, 0)):
                out += self.read()
            return out
        return line

    def call(self, *args) -> bytes:
        self.send(*args)
        return self.read()

    def at_eof(self) -> bool:
        return self.f.read(1) == b""

    def close(self) -> None:
        self.f.close()
        self.sock.close()


def lines(reply: bytes) -> list[str]:
    """The log lines of a debugger reply (an array of status replies)."""
    parts = reply.decode().split("\r\n")
    assert parts[0].startswith("*"), reply
    return [p[1:] for p in parts[1:-1]]


def run_session(srv, script: str, commands: list, keys=(), args=(), mode="sync",
                setup=()) -> bytes:
    """A whole session: SCRIPT DEBUG, EVAL, the commands (one per stop)
    until <endsession>, the EVAL reply and the server closing the
    connection.  The transcript is every byte received."""
    c = Conn(srv)
    out = []
    try:
        for cmd in setup:
            out.append(c.call(*cmd))
        out.append(c.call("SCRIPT", "DEBUG", mode))
        c.send("EVAL", script, str(len(keys)), *keys, *args)
        commands = list(commands)
        while True:
            reply = c.read()
            out.append(reply)
            if b"+<endsession>\r\n" in reply:
                out.append(c.read())
                break
            assert reply.startswith(b"*"), out
            assert commands, b"".join(out)
            cmd = commands.pop(0)
            c.send(*(cmd.split(" ") if isinstance(cmd, str) else cmd))
        assert c.at_eof()
    finally:
        c.close()
    return b"".join(out)


# ---------------------------------------------------------------------------
# SCRIPT DEBUG itself
# ---------------------------------------------------------------------------
def test_script_debug_modes(server):
    c = Conn(server)
    try:
        assert c.call("SCRIPT", "DEBUG", "YES") == b"+OK\r\n"
        assert c.call("SCRIPT", "DEBUG", "sync") == b"+OK\r\n"
        assert c.call("SCRIPT", "DEBUG", "no") == b"+OK\r\n"
        assert c.call("SCRIPT", "DEBUG", "maybe") == b"-ERR Use SCRIPT DEBUG YES/SYNC/NO\r\n"
        assert c.call("SCRIPT", "DEBUG", "yes", "x") == (
            b"-ERR wrong number of arguments for 'script|debug' command\r\n")
        # NO really turns it off: the EVAL runs plainly.
        assert c.call("EVAL", "return 1", "0") == b":1\r\n"
        assert c.call("EVAL", "return redis.call('script', 'debug', 'yes')", "0").startswith(
            b"-ERR This Redis command is not allowed from script")
        assert c.call("MULTI") == b"+OK\r\n"
        assert c.call("SCRIPT", "DEBUG", "YES") == b"+QUEUED\r\n"
        assert c.call("EXEC") == (
            b"*1\r\n-ERR SCRIPT DEBUG must be called outside a pipeline\r\n")
        # Pipelined behind a command whose reply is not written yet.
        c.sock.sendall(enc("PING") + enc("SCRIPT", "DEBUG", "YES"))
        assert c.read() == b"+PONG\r\n"
        assert c.read() == b"-ERR SCRIPT DEBUG must be called outside a pipeline\r\n"
        assert c.call("PING") == b"+PONG\r\n"
    finally:
        c.close()


def test_evalsha_refused_while_debugging(server):
    c = Conn(server)
    try:
        assert c.call("SCRIPT", "DEBUG", "SYNC") == b"+OK\r\n"
        assert c.call("EVALSHA", "a" * 40, "0") == (
            b"-ERR Please use EVAL instead of EVALSHA for debugging\r\n")
        assert c.call("EVALSHA", "abc", "0") == b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
        # FCALL is not debugged.
        assert c.call("FCALL", "nosuch", "0") == b"-ERR Function not found\r\n"
    finally:
        c.close()


# ---------------------------------------------------------------------------
# Sessions (SYNC, on the shared server)
# ---------------------------------------------------------------------------
def test_step_print_and_redis_logging(server, r):
    r.set("cnt", "10")
    script = ("local a = 1\n"
              "local b = {1, 2, 'x'}\n"
              "local n = redis.call('incr', KEYS[1])\n"
              "return n")
    out = run_session(server, script, ["s", "n", "p", "p b", "p KEYS", "p ARGV", "p nope",
                                       "s", "c"], keys=["cnt"], args=["arg1"])
    assert out.decode() == (
        "+OK\r\n"
        "*2\r\n+* Stopped at 1, stop reason = step over\r\n+-> 1   local a = 1\r\n"
        "*2\r\n+* Stopped at 2, stop reason = step over\r\n+-> 2   local b = {1, 2, 'x'}\r\n"
        "*2\r\n+* Stopped at 3, stop reason = step over\r\n"
        "+-> 3   local n = redis.call('incr', KEYS[1])\r\n"
        "*2\r\n+<value> a = 1\r\n+<value> b = {1; 2; \"x\"}\r\n"
        "*1\r\n+<value> {1; 2; \"x\"}\r\n"
        "*1\r\n+<value> {\"cnt\"}\r\n"
        "*1\r\n+<value> {\"arg1\"}\r\n"
        "*1\r\n+No such variable.\r\n"
        "*4\r\n+<redis> incr cnt\r\n+<reply> 11\r\n"
        "+* Stopped at 4, stop reason = step over\r\n+-> 4   return n\r\n"
        "*1\r\n+<endsession>\r\n"
        ":11\r\n")
    # SYNC: the change is kept.
    assert r.get("cnt") == b"11"


def test_breakpoints_list_and_whole(server):
    script = "local a = 1\nlocal b = 2\nlocal c = 3\nlocal d = 4\nreturn a + b + c + d"
    out = run_session(server, script, ["b 3", "b", "b 99", "b x", "l", "l 4 1", "w", "c",
                                       "t", "b -3", "b", "c"])
    assert out.decode() == (
        "+OK\r\n"
        "*2\r\n+* Stopped at 1, stop reason = step over\r\n+-> 1   local a = 1\r\n"
        "*3\r\n+   2   local b = 2\r\n+  #3   local c = 3\r\n+   4   local d = 4\r\n"
        "*2\r\n+1 breakpoints set:\r\n+  #3   local c = 3\r\n"
        "*1\r\n+Wrong line number.\r\n"
        "*1\r\n+Invalid argument:'x'\r\n"
        "*5\r\n+-> 1   local a = 1\r\n+   2   local b = 2\r\n+  #3   local c = 3\r\n"
        "+   4   local d = 4\r\n+   5   return a + b + c + d\r\n"
        "*3\r\n+  #3   local c = 3\r\n+   4   local d = 4\r\n+   5   return a + b + c + d\r\n"
        "*5\r\n+-> 1   local a = 1\r\n+   2   local b = 2\r\n+  #3   local c = 3\r\n"
        "+   4   local d = 4\r\n+   5   return a + b + c + d\r\n"
        "*2\r\n+* Stopped at 3, stop reason = break point\r\n+->#3   local c = 3\r\n"
        "*2\r\n+In top level:\r\n+->#3   local c = 3\r\n"
        "*1\r\n+Breakpoint removed.\r\n"
        "*1\r\n+No breakpoints set. Use 'b <line>' to add one.\r\n"
        "*1\r\n+<endsession>\r\n"
        ":10\r\n")


def test_eval_redis_and_maxlen(server, r):
    script = "local big = string.rep('x', 300)\nreturn 1"
    out = run_session(server, script, [
        "e 1 + 1", "e big", "e foo(", "e return 5", "r set dbg v", "r get dbg",
        "r nosuchcmd", "r", "s", "p", "m", "m 10", "p", "m 0", "p big", "r get dbg", "c"])
    got = lines_of(out)
    assert got[:8] == [
        ["* Stopped at 1, stop reason = step over", "-> 1   local big = string.rep('x', 300)"],
        ["<retval> 2"],
        ["<error> ldb_eval:1: Script attempted to access nonexistent global variable 'big'"],
        ["<error> ldb_eval:1: unexpected symbol near '<eof>'"],
        ["<retval> 5"],
        ["<redis> set dbg v", '<reply> "+OK"'],
        ["<redis> get dbg", '<reply> "v"'],
        ["<redis> nosuchcmd", "<error> Unknown Redis command called from script"],
    ]
    assert got[8] == ["<error> Unknown Redis Lua debugger command or wrong number of arguments."]
    assert got[9] == ["* Stopped at 2, stop reason = step over", "-> 2   return 1"]
    value = '<value> big = "' + "x" * 300 + '"'
    assert got[10] == [value[:256] + " ...",
                       "<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming."]
    assert got[11] == ["<value> replies are truncated at 256 bytes."]
    assert got[12] == ["<value> replies are truncated at 60 bytes."]
    assert got[13] == [value[:60] + " ..."]
    assert got[14] == ["<value> replies are unlimited."]
    assert got[15] == ['<value> "' + "x" * 300 + '"']
    assert got[16] == ["<redis> get dbg", '<reply> "v"']
    assert got[17] == ["<endsession>"]
    assert out.endswith(b"*1\r\n+<endsession>\r\n:1\r\n")
    assert r.get("dbg") == b"v"


def lines_of(transcript: bytes) -> list[list[str]]:
    """Split a transcript into the log lines of each debugger reply."""
    text = transcript.decode()
    assert text.startswith("+OK\r\n")
    text = text[5:]
    out = []
    for m in re.finditer(r"\*(\d+)\r\n((?:\+[^\r\n]*\r\n)*)", text):
        n = int(m.group(1))
        items = [x[1:] for x in m.group(2).split("\r\n")[:-1]][:n]
        if len(items) == n:
            out.append(items)
    return out


def test_breakpoint_and_debug_from_the_script(server):
    script = ("local a = 1\n"
              "redis.breakpoint()\n"
              "local b = 2\n"
              "redis.debug('values', a, b, {1, 2}, {x = true}, nil)\n"
              "return redis.breakpoint()")
    # The last breakpoint has no line after it to stop at; redis.debug's
    # line waits for the next reply.
    out = run_session(server, script, ["c", "c"])
    assert out.decode() == (
        "+OK\r\n"
        "*2\r\n+* Stopped at 1, stop reason = step over\r\n+-> 1   local a = 1\r\n"
        "*2\r\n+* Stopped at 3, stop reason = redis.breakpoint() called\r\n"
        "+-> 3   local b = 2\r\n"
        "*2\r\n+<debug> line 4: \"values\", 1, 2, {1; 2}, {[\"x\"]=true}, nil\r\n"
        "+<endsession>\r\n"
        ":1\r\n")
    # Outside a session both are no-ops.
    c = Conn(server)
    try:
        assert c.call("EVAL", "redis.debug('x') return redis.breakpoint()", "0") == b"$-1\r\n"
    finally:
        c.close()


def test_abort_keeps_sync_changes(server, r):
    script = "redis.call('set', 'aborted', 'before')\nredis.call('set', 'aborted', 'after')\nreturn 1"
    out = run_session(server, script, ["s", "a"])
    sha = hashlib.sha1(script.encode()).hexdigest()
    assert out.endswith(b"*1\r\n+<endsession>\r\n-ERR script aborted for user request script: "
                        + sha.encode() + b", on @user_script:2.\r\n")
    assert r.get("aborted") == b"before"


def test_script_error_ends_session(server):
    out = run_session(server, "local a = 1\nreturn a + nil", ["c"])
    assert b"+<endsession>\r\n-ERR user_script:2: attempt to perform arithmetic on a nil value" in out
    # An argument error of EVAL itself still opens (and closes) a session.
    c = Conn(server)
    try:
        assert c.call("SCRIPT", "DEBUG", "SYNC") == b"+OK\r\n"
        assert c.call("EVAL", "return 1", "x") == b"*1\r\n+<endsession>\r\n"
        assert c.read() == b"-ERR value is not an integer or out of range\r\n"
        assert c.at_eof()
    finally:
        c.close()


def test_protocol_error_and_help(server):
    c = Conn(server)
    try:
        assert c.call("SCRIPT", "DEBUG", "SYNC") == b"+OK\r\n"
        c.send("EVAL", "return 1", "0")
        assert lines(c.read()) == ["* Stopped at 1, stop reason = step over", "-> 1   return 1"]
        help_lines = lines(c.call("h"))
        assert help_lines[0] == "Redis Lua debugger help:"
        assert help_lines[-1] == "                     next line of code."
        assert len(help_lines) == 30
        c.sock.sendall(b"hello\r\n")
        assert c.read() == b"*1\r\n+<endsession>\r\n"
        assert c.read().startswith(b"-ERR protocol error script: ")
        assert c.at_eof()
    finally:
        c.close()


def test_client_gone_script_runs_to_the_end(server, r):
    c = Conn(server)
    assert c.call("SCRIPT", "DEBUG", "SYNC") == b"+OK\r\n"
    c.send("EVAL", "redis.call('set', 'gone', '1')\nredis.breakpoint()\n"
           "redis.call('set', 'gone', '2')\nreturn 1", "0")
    assert lines(c.read())[0] == "* Stopped at 1, stop reason = step over"
    c.close()
    # The server goes on without stops and keeps serving.
    assert r.get("gone") == b"2"
    assert r.ping()


# ---------------------------------------------------------------------------
# Forked sessions (YES) and redis-cli
# ---------------------------------------------------------------------------
@pytest.fixture
def own(start_server):
    return start_server("omakase")


def test_yes_rolls_back_and_server_keeps_serving(own):
    r = own.client()
    r.set("k", "orig")
    c = Conn(own)
    try:
        assert c.call("SCRIPT", "DEBUG", "YES") == b"+OK\r\n"
        c.send("EVAL", "redis.call('set', KEYS[1], 'changed')\n"
               "return redis.call('get', KEYS[1])", "1", "k")
        assert lines(c.read()) == ["* Stopped at 1, stop reason = step over",
                                   "-> 1   redis.call('set', KEYS[1], 'changed')"]
        assert lines(c.call("s")) == ["<redis> set k changed", '<reply> "+OK"',
                                      "* Stopped at 2, stop reason = step over",
                                      "-> 2   return redis.call('get', KEYS[1])"]
        # The session runs in a child: the server answers others meanwhile.
        assert r.get("k") == b"orig"
        assert r.set("other", "1")
        assert c.call("c") == b"*1\r\n+<endsession>\r\n"
        assert c.read() == b"$7\r\nchanged\r\n"
        assert c.at_eof()
    finally:
        c.close()
    assert r.get("k") == b"orig"
    assert r.get("other") == b"1"
    assert "Redis forked for debugging eval" in own.log_text()


def test_yes_abort(own):
    out = run_session(own, "local x = 1\nreturn x", ["a"], mode="yes")
    assert out.startswith(b"+OK\r\n*2\r\n+* Stopped at 1, stop reason = step over\r\n")
    assert b"*1\r\n+<endsession>\r\n-ERR script aborted for user request script: " in out
    assert own.client().ping()


def _redis_cli(srv, args: list[str], stdin: str, script: str) -> str:
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "script.lua")
        with open(path, "w") as f:
            f.write(script)
        p = subprocess.run([shutil.which("redis-cli") or "redis-cli", "-p", str(srv.port),
                            *args, "--eval", path, "cnt", ",", "x"],
                           input=stdin, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return re.sub(r"\x1b\[[0-9;]*m", "", p.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


CLI_SCRIPT = ('local a = redis.call("incr", KEYS[1])\n'
              'redis.debug("a is", a, ARGV[1])\n'
              'return a\n')


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli not installed")
def test_redis_cli_ldb_rolls_back(own):
    r = own.client()
    r.set("cnt", "10")
    out = _redis_cli(own, ["--ldb"], "s\ns\np\nc\n", CLI_SCRIPT)
    assert "* Stopped at 1, stop reason = step over" in out
    assert "<redis> incr cnt\n<reply> 11\n" in out
    assert '<debug> line 2: "a is", 11, "x"' in out
    assert "<value> a = 11" in out
    assert "(integer) 11" in out
    assert "(Lua debugging session ended -- dataset changes rolled back)" in out
    assert r.get("cnt") == b"10"


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli not installed")
def test_redis_cli_ldb_sync_keeps(own):
    r = own.client()
    r.set("cnt", "10")
    out = _redis_cli(own, ["--ldb-sync-mode"], "s\nc\n", CLI_SCRIPT)
    assert "<redis> incr cnt\n<reply> 11\n" in out
    assert "(integer) 11" in out
    assert "(Lua debugging session ended)" in out
    assert r.get("cnt") == b"11"


# ---------------------------------------------------------------------------
# omakase vs redis-server 7.0, byte for byte
# ---------------------------------------------------------------------------
DIFF_SESSIONS = [
    # (script, commands, keys, args, mode)
    ("local a = 1\nlocal b = {1,2,\"x\"}\nredis.call(\"set\",\"k\",\"v\")\nreturn a",
     ["s", "s", "p", "p b", "s", "c"], (), (), "sync"),
    ("local function foo(x)\n  local y = x*2\n  return y\nend\nreturn foo(3)",
     ["s", "s", "s", "t", "p", "p x", "p KEYS", "p ARGV", "p nope", "c"], ("k1",), ("a1",), "sync"),
    ("local function inner(a, b)\n  local c = a + b\n  redis.breakpoint()\n  return c\nend\n"
     "local function outer(x)\n  local r = inner(x, 1)\n  return r\nend\nlocal res = outer(5)\n"
     "return res", ["c", "t", "p", "p x", "p res", "s", "t", "p", "c"], (), (), "sync"),
    ("local a=1\nreturn a", ["e 1+1", "e a", "e foo(", "e nosuch.x", "e redis.call('set','x','y')",
                             "e return 5", "e x = 1", "e error('boom')", "l", "c"], (), (), "yes"),
    ("local a=1\nreturn a", ["r set foo bar", "r get foo", "r nosuch", "r incr foo", "r",
                             "r mget a b c d e f g h i j k l", "c"], (), (), "yes"),
    ("local a=string.rep('x',300)\nlocal b = 1\nreturn 1",
     ["s", "p", "m", "m 10", "p", "m 0", "p", "m 100", "m -5", "c"], (), (), "yes"),
    ("local a=1\nlocal b=2\nlocal c=3\nredis.breakpoint()\nlocal d=4\n"
     "redis.debug('hi', a, {1,2}, {x=1})\nreturn d",
     ["b 3", "b", "b 99", "b x", "b -3", "b -3", "b 2 3", "b 0", "b 2", "c", "c", "c"],
     (), (), "yes"),
    ("local a=1\nlocal b=2\nlocal c=3\nlocal d=4\nreturn 1",
     ["b 2 3 4", "b -2", "b", "c", "c", "c"], (), (), "yes"),
    ("redis.setresp(3)\nredis.call('hset','hh','f','v')\nredis.call('hgetall','hh')\n"
     "redis.call('sadd','ss','m')\nredis.call('smembers','ss')\nredis.call('zadd','zz','1.5','a')\n"
     "redis.call('zscore','zz','a')\nredis.call('get','nokey')\nredis.call('exists','hh')\n"
     "redis.call('lrange','nolist',0,-1)\nredis.pcall('incr','hh')\nreturn 1",
     ["s"] * 12, (), (), "yes"),
    ("redis.call('get','nokey')\nredis.call('lrange','nolist',0,-1)\nredis.pcall('incr','hh')\n"
     "redis.call('set','x',string.rep('y',300))\nredis.call('get','x')\n"
     "redis.call('rpush','l','a','b')\nredis.call('lrange','l',0,-1)\nreturn 1",
     ["s"] * 8, (), (), "yes"),
    ("local t = {{{{{{{{{{{{{1}}}}}}}}}}}}}\nlocal u = {a={b=1}, [3]=true, [1.5]=false}\n"
     "local g = function() end\nlocal h = coroutine.create(g)\nlocal n = cjson.null\nreturn 1",
     ["s"] * 5 + ["p", "p t", "e {1,2,{a=1}}", "t", "c"], (), (), "yes"),
    ("local s = 'a\\\\b\"c\\n\\r\\t\\a\\b\\0\\255 ~'\nlocal n = 1/0\nlocal m = -1/0\n"
     "local z = 0/0\nlocal q = 1e300\nlocal r = 0.1\nlocal big = 2^53\nreturn 1",
     ["s"] * 7 + ["p", "c"], (), (), "yes"),
    ("local ok, e = pcall(function()\n  return redis.call('incr', 'str')\nend)\n"
     "redis.pcall('set')\nlocal x = redis.error_reply('boom')\nreturn {ok, e}",
     ["s"] * 8, (), (), "yes"),
    ("for i=1,2 do\n  local x = i\nend\nreturn 1", ["s"] * 8, (), (), "yes"),
    ("redis.call('set','a','b')\n", ["s"] * 3, (), (), "yes"),
    ("#!lua\nreturn redis.call('get','str')", ["w", "s", "c"], (), (), "yes"),
    ("return 1\n\n\r\n", ["w", "l 0 0", "l -3", "l 1 x", "c"], (), (), "yes"),
    ("", ["c"], (), (), "yes"),
    ("x = 1", ["c"], (), (), "yes"),
    ("local a = 1\nreturn a", ["a"], (), (), "yes"),
    ("redis.call('nosuch','x')\nreturn 1", ["s", "c"], (), (), "yes"),
    ("local a = 1\nreturn a", ["h", "C"], (), (), "yes"),
]


def _normalise(transcript: bytes) -> bytes:
    # Pointers differ from process to process (and Python's are not C's).
    return re.sub(rb"@0x[0-9a-f]+", b"@PTR", transcript)


@pytest.mark.differential
def test_sessions_match_redis(start_server, oracle):
    ours_srv = start_server("omakase")      # it forks: a server of its own
    setup = [("FLUSHALL",), ("SET", "str", "abc")]
    for script, commands, keys, args, mode in DIFF_SESSIONS:
        ours = run_session(ours_srv, script, commands, keys, args, mode, setup)
        theirs = run_session(oracle, script, commands, keys, args, mode, setup)
        assert _normalise(ours) == _normalise(theirs), (script, ours, theirs)
