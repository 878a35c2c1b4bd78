"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's ``eval.c``).

The script cache maps the SHA1 of a body (lower-case hex) to a ``Script``:
the body, its compiled Lua function, its flags and its runner (the Lua
closure that sets KEYS/ARGV and makes the protected call, see
``LuaEngine.make_runner``).  A second dict maps the body itself to the same
``Script``, so an EVAL of a known body costs one dict lookup and no SHA1
(DIVERGENCE: Redis hashes the body on every EVAL; nothing observable
differs).  Whatever does not depend on the call is decided when the script
is created: a script without shebang skips ``prepare``'s checks.  As in Redis 7.0 the body
is compiled as a chunk named ``@user_script`` (errors read
"user_script:LINE:") -- 7.0 no longer wraps it in ``function f_<sha>()``.
A body that starts with ``#!`` carries a shebang (``#!lua flags=...``,
``evalExtractShebangFlags``); the shebang line is blanked before compiling so
line numbers stay those of the body.  A body without shebang runs in
"EVAL compatibility mode": writes allowed, no OOM/read-only pre-checks.

EVAL adds the script to the cache (SCRIPT EXISTS sees it afterwards).  As in
Redis 7.0, nothing reseeds ``math.random`` between runs (scripts that want a
repeatable sequence call ``math.randomseed``).  SCRIPT DEBUG YES/SYNC and
the EVAL that follows are the Lua debugger's (``ldb``): ``eval_generic``
hands a client with the LUA_DEBUG flag over to ``ldb.eval_with_debugging``.
"""
from __future__ import annotations

import hashlib
from typing import Any

from omakase import replies
from omakase.networking import ClientFlag
from omakase.scripting import ldb, state
from omakase.scripting.run import FLAG_EVAL_COMPAT_MODE, FLAG_NAMES, make_ctx, numkeys_fit
from omakase.util import parse_ll

NOSCRIPT = "-NOSCRIPT No matching script. Please use EVAL."
_LUA_DEBUG = ClientFlag.LUA_DEBUG
# numkeys as sent most of the time: canonical small integers, no parse_ll.
_SMALL_INTS = {b"%d" % i: i for i in range(256)}


class Script:
    """A cached script.  Everything a run needs that does not depend on the
    call is computed here once: the runner (the Lua closure that sets
    KEYS/ARGV and makes the protected call), the run contexts of EVAL and
    EVAL_RO (``run.make_ctx``) and whether ``prepare``'s checks apply at
    all (never to a script without shebang)."""
    __slots__ = ("sha", "body", "fn", "flags", "runner", "checked", "ctx", "ro_ctx")

    def __init__(self, sha: bytes, body: bytes, fn: Any, flags: int, runner: Any,
                 engine: Any = None) -> None:
        self.sha = sha
        self.body = body
        self.fn = fn
        self.flags = flags
        self.runner = runner
        self.checked = not flags & FLAG_EVAL_COMPAT_MODE
        self.ctx = make_ctx(None, engine, runner, True, flags, False, sha)
        self.ro_ctx = make_ctx(None, engine, runner, True, flags, True, sha)


def shebang_flags(body: bytes) -> tuple[int, str | None]:
    """evalExtractShebangFlags: (flags, error)."""
    if not body.startswith(b"#!"):
        return FLAG_EVAL_COMPAT_MODE, None
    nl = body.find(b"\n")
    if nl < 0:
        return 0, "Invalid script shebang"
    parts = body[:nl].split()
    if not parts:
        return 0, "Invalid engine in script shebang"
    if parts[0] != b"#!lua":
        return 0, "Unexpected engine in script shebang: %s" % parts[0].decode("utf-8", "replace")
    flags = 0
    names = dict(FLAG_NAMES)
    for part in parts[1:]:
        if part.startswith(b"flags="):
            value = part[6:]
            for f in (value.split(b",") if value else []):
                bit = names.get(f)
                if bit is None:
                    return 0, "Unexpected flag in script shebang: %s" % f.decode("utf-8", "replace")
                flags |= bit
        else:
            return 0, "Unknown lua shebang option: %s" % part.decode("utf-8", "replace")
    return flags, None


def create_script(c: Any, body: bytes) -> Script | None:
    """luaCreateFunction: compile and cache (or find) the script; on error
    reply it and return None."""
    st = state(c.server)
    script = st.bodies.get(body)
    if script is not None:
        return script
    sha = hashlib.sha1(body).hexdigest().encode()
    script = st.scripts.get(sha)
    if script is not None:
        st.bodies[body] = script
        return script
    flags, err = shebang_flags(body)
    if err is not None:
        c.add_reply_error(err)
        return None
    code = body
    if not flags & FLAG_EVAL_COMPAT_MODE:
        code = body[body.index(b"\n"):]
    engine = st.eval_engine
    fn, cerr = engine.compile(code, b"@user_script")
    if fn is None:
        c.add_reply_error(b"Error compiling script (new function): " + cerr)
        return None
    script = Script(sha, body, fn, flags, engine.make_runner(fn, True), engine)
    st.scripts[sha] = script
    st.bodies[body] = script
    return script


def eval_generic(c: Any, argv: list[bytes], evalsha: bool = False,
                 read_only: bool = False) -> None:
    """evalGenericCommand; with the defaults, EVAL's handler itself (bound
    directly by ``commands/scripting_cmds``).  The hot case (EVAL of a cached
    body) is two dict lookups before the run: the cache is also keyed by the
    body itself, so no SHA1 is computed again (Redis hashes the body on every
    EVAL), and the script carries its run contexts.  A client that asked
    for SCRIPT DEBUG gets a debugging session around this same path."""
    if c.flags & _LUA_DEBUG:
        ldb.eval_with_debugging(c, argv, evalsha, read_only, eval_generic)
        return
    numkeys = _SMALL_INTS.get(argv[2])      # never negative
    if numkeys is None:
        ok, numkeys = parse_ll(argv[2])
        if not ok:
            c.add_reply_error(replies.NOT_INTEGER)
            return
        if numkeys < 0 and not numkeys_fit(c, numkeys, len(argv) - 3):
            return
    if numkeys > len(argv) - 3 and not numkeys_fit(c, numkeys, len(argv) - 3):
        return
    try:
        st = c.server.scripting
    except AttributeError:
        st = state(c.server)
    if evalsha:
        script = st.scripts.get(argv[1].lower())
        if script is None:
            c.add_reply_error(NOSCRIPT)
            return
    else:
        script = st.bodies.get(argv[1]) or create_script(c, argv[1])
        if script is None:
            return
    if script.checked:
        err = st.prepare(c, script.flags, read_only)
        if err is not None:
            c.add_reply_error(err)
            return
    st.run_ctx(c, script.ro_ctx if read_only else script.ctx, argv, numkeys)


SCRIPT_HELP = [
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
]


def script_exists(c: Any, argv: list[bytes]) -> None:
    scripts = state(c.server).scripts
    c.add_reply_array_len(len(argv) - 2)
    for sha in argv[2:]:
        c.add_reply_int(1 if sha.lower() in scripts else 0)


def script_flush(c: Any, argv: list[bytes]) -> None:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        c.add_reply_error("SCRIPT FLUSH only support SYNC|ASYNC option")
        return
    state(c.server).reset_eval()
    c.add_reply_ok()


def script_load(c: Any, argv: list[bytes]) -> None:
    script = create_script(c, argv[2])
    if script is not None:
        c.add_reply_bulk(script.sha)


def script_debug(c: Any, argv: list[bytes]) -> None:
    ldb.script_debug(c, argv)


def script_kill(c: Any, argv: list[bytes]) -> None:
    state(c.server).kill(c, True)
