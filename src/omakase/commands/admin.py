"""Server administration: SHUTDOWN (Redis's ``shutdownCommand``, server.c).

``SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`` with Redis 7.0's parsing and
errors: an unknown word, ABORT combined with anything, or NOSAVE with SAVE is
a syntax error; ABORT answers "No shutdown in progress." unless a shutdown is
waiting (Redis waits for lagging replicas when ``shutdown-timeout`` allows;
without replication nothing ever waits, so there is never one to abort).

Otherwise the flags go to ``server.prepare_for_shutdown(flags)`` as a set of
lower-case words (``{"nosave", "save", "now", "force"}``): its hooks (the final
RDB save, the AOF fsync, killing a child) decide what they mean, exactly as
``prepareForShutdown``/``finishShutdown`` do in Redis.  If it succeeds the
event loop stops and ``Server.run`` closes every client and returns exit code
0, so the client that asked gets no reply (the connection just closes), as
with Redis's ``exit(0)``.  If a hook refuses (a failed save without FORCE) the
client gets ``-ERR Errors trying to SHUTDOWN. Check logs.`` and the server
keeps running.
"""
from __future__ import annotations

from typing import Any

from omakase import replies
from omakase.commands.registry import command

SHUTDOWN_WORDS = (b"nosave", b"save", b"now", b"force")


@command("shutdown")
def shutdown_command(c: Any, argv: list[bytes]) -> None:
    flags: set[str] = set()
    abort = False
    for arg in argv[1:]:
        word = arg.lower()
        if word in SHUTDOWN_WORDS:
            flags.add(word.decode())
        elif word == b"abort":
            abort = True
        else:
            c.add_reply_error(replies.SYNTAX)
            return
    if (abort and flags) or ("nosave" in flags and "save" in flags):
        c.add_reply_error(replies.SYNTAX)
        return
    server = c.server
    if abort:
        cancel = getattr(server, "abort_shutdown", None)
        if callable(cancel) and cancel():
            c.add_reply_ok()
        else:
            c.add_reply_error("No shutdown in progress.")
        return
    if server.prepare_for_shutdown(flags):
        server.exit_code = 0
        server.el.stop()
        return
    c.add_reply_error("Errors trying to SHUTDOWN. Check logs.")
