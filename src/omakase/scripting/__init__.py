"""Lua scripting and functions (Redis's ``eval.c``, ``script.c``,
``script_lua.c``, ``function_lua.c`` and ``functions.c``).

Rooms
-----
``lua_env``    one Lua 5.1 state (lupa's ``lua51``): the sandbox (read-only
               globals, removed builtins), the ``redis.*`` API, the
               conversions Redis reply <-> Lua value, the error handler.
``libs``       cjson, cmsgpack, struct and bit, written in Python and exposed
               to Lua (lupa's Lua has none of Redis's bundled C libraries).
``run``        one script run (``script.c``): the run context, the checks
               ``scriptCall`` makes before a command from a script reaches
               ``server.call``, the busy-script state (BUSY replies, SCRIPT
               KILL / FUNCTION KILL) and the event processing while a slow
               script runs.
``eval``       EVAL/EVALSHA/EVAL_RO/EVALSHA_RO and SCRIPT *: the script cache,
               shebang flags.
``functions``  FUNCTION * and FCALL/FCALL_RO: libraries, DUMP/RESTORE
               payloads, the hooks RDB/AOF use to persist libraries.
``ldb``        the Lua debugger: SCRIPT DEBUG YES|SYNC|NO and the debugging
               session of the EVAL that follows (forked or synchronous).

The command handlers live in ``commands/scripting_cmds.py`` and
``commands/function_cmds.py`` (thin: they parse and call in here), so the
registry's ``load_all()`` finds them.  Everything is created lazily on the
first script: ``state(server)`` returns the server's ``ScriptingState``.
"""
from __future__ import annotations

from typing import Any


def state(server: Any):
    """The server's scripting state, created on first use."""
    st = getattr(server, "scripting", None)
    if st is None:
        from omakase.scripting.run import ScriptingState
        st = ScriptingState(server)
        server.scripting = st
    return st
