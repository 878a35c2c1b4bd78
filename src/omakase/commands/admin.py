"""Server administration: SHUTDOWN (Redis's ``shutdownCommand``, db.c).

``SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`` with Redis 7.0's parsing and
errors: an unknown word, ABORT combined with anything, or NOSAVE with SAVE is
a syntax error.  ABORT cancels a shutdown that waits for lagging replicas, or
a SIGTERM/SIGINT one not started yet (``server.abort_shutdown``), and answers
OK; otherwise "No shutdown in progress.".  A client that may not block
(CLIENT_DENY_BLOCKING: a fake client; SHUTDOWN is refused inside MULTI and
scripts anyway) must say NOW, as in Redis 7.0.

Otherwise the flags go to ``server.prepare_for_shutdown(flags)`` as a set of
lower-case words (``{"nosave", "save", "now", "force"}``), exactly as
``prepareForShutdown``/``finishShutdown`` do in Redis (see server.py):

* it may exit now: the event loop stops and ``Server.run`` closes every
  client and returns exit code 0, so the client that asked gets no reply
  (the connection just closes), as with Redis's ``exit(0)``;
* it waits for lagging replicas (``shutdown-timeout``; ``server.shutdown_mstime``
  is set): the client is blocked (``blocking.BLOCKED_SHUTDOWN``) with no
  reply; serverCron finishes the shutdown later, or a cancel (SHUTDOWN ABORT,
  a failed final save) answers it "-ERR Errors trying to SHUTDOWN. Check
  logs." -- a SHUTDOWN sent while one already waits joins it;
* it failed (a failed save without FORCE): the same error, and the server
  keeps running.

Redis blocks the client before ``prepareForShutdown``; here it is blocked only
when the shutdown waits, so the common path (no replicas) never touches the
blocking machinery.  The replies are the same.
"""
from __future__ import annotations

from typing import Any

from omakase import replies
from omakase.blocking import BLOCKED_SHUTDOWN, block_for_keys, deny_blocking
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
        if server.abort_shutdown():
            c.add_reply_ok()
        else:
            c.add_reply_error("No shutdown in progress.")
        return
    if "now" not in flags and deny_blocking(c):
        c.add_reply_error("SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client")
        return
    if server.prepare_for_shutdown(flags):
        server.exit_code = 0
        server.el.stop()
        return
    if server.shutdown_mstime:
        # Waiting for replicas: no reply until it is cancelled.
        block_for_keys(c, [], 0, _never_ready, None, BLOCKED_SHUTDOWN)
        return
    c.add_reply_error("Errors trying to SHUTDOWN. Check logs.")


def _never_ready(c: Any, db: Any, key: bytes) -> bool:
    return False
