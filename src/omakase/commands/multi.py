"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's ``multi.c``).

MULTI sets ``ClientFlag.MULTI`` and gives the client a queue (``c.mstate``).
``Server.process_command`` does every check a command gets (lookup, arity,
auth...) and then, for a client in MULTI, queues it and replies +QUEUED; a
command refused at that point marks the transaction ``DIRTY_EXEC``, and EXEC
answers EXECABORT.  EXEC runs the queue through ``Server.call`` -- the same
path every command takes -- so each queued command is timed, counted and its
effects propagated; the server's propagation batch wraps the effects of the
whole transaction in MULTI/EXEC when there is more than one.  A failing
command inside EXEC does not roll anything back, as in Redis.

WATCH keeps, per db, ``db.watched_keys[key] -> [clients]`` and, per client,
``c.watched_keys`` as a list of (db, key).  Every write goes through
``Db.signal_modified_key`` (or ``Server.touch_watched_key``), which marks the
watching clients ``DIRTY_CAS``; EXEC of a dirty transaction replies a null
array.  Expiry, eviction, FLUSH*, SWAPDB and RESTORE all signal through the
same hook.
DIVERGENCE: Redis 7.0 remembers whether a watched key was already expired at
WATCH time; here expiry of a watched key while it is watched always counts as
a change when it is deleted (lazily or actively).
"""
from __future__ import annotations

from typing import Any

from omakase import replies
from omakase.acl import ACL_RESTRICTED, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY
from omakase.commands.registry import command
from omakase.networking import Client, ClientFlag

_IN_MULTI = ClientFlag.MULTI | ClientFlag.DIRTY_CAS | ClientFlag.DIRTY_EXEC


def discard_transaction(c: Client) -> None:
    c.mstate = None
    c.flags &= ~_IN_MULTI
    unwatch_all_keys(c)


def watch_key(c: Client, key: bytes) -> None:
    db = c.db
    if c.watched_keys is None:
        c.watched_keys = []
    for wdb, wkey in c.watched_keys:
        if wdb is db and wkey == key:
            return
    db.watched_keys.setdefault(key, []).append(c)
    c.watched_keys.append((db, key))


def unwatch_all_keys(c: Client) -> None:
    if not c.watched_keys:
        return
    for db, key in c.watched_keys:
        clients = db.watched_keys.get(key)
        if clients is not None:
            try:
                clients.remove(c)
            except ValueError:
                pass
            if not clients:
                del db.watched_keys[key]
    c.watched_keys = None


def install(server: Any) -> None:
    """Clean a client's transaction state when it closes or RESETs."""
    server.client_free_hooks.append(discard_transaction)
    if not hasattr(server, "client_reset_hooks"):
        server.client_reset_hooks = []
    server.client_reset_hooks.append(discard_transaction)


@command("multi")
def multi_command(c: Client, argv: list[bytes]) -> None:
    if c.flags & ClientFlag.MULTI:
        c.add_reply_error("MULTI calls can not be nested")
        return
    c.flags |= ClientFlag.MULTI
    c.mstate = []
    c.add_reply_ok()


@command("discard")
def discard_command(c: Client, argv: list[bytes]) -> None:
    if not c.flags & ClientFlag.MULTI:
        c.add_reply_error("DISCARD without MULTI")
        return
    discard_transaction(c)
    c.add_reply_ok()


@command("exec")
def exec_command(c: Client, argv: list[bytes]) -> None:
    if not c.flags & ClientFlag.MULTI:
        c.add_reply_error("EXEC without MULTI")
        return
    server = c.server
    if c.flags & ClientFlag.DIRTY_EXEC:
        discard_transaction(c)
        c.add_reply_error(replies.EXECABORT)
        c.rewritten_argv = []
        return
    if c.flags & ClientFlag.DIRTY_CAS:
        discard_transaction(c)
        c.add_reply_null_array()
        c.rewritten_argv = []
        return
    queue = c.mstate or []
    unwatch_all_keys(c)
    c.add_reply_array_len(len(queue))
    server.in_exec = True
    try:
        for cmd, qargv in queue:
            # ACL rules may have changed since the command was queued.
            if c.flags & ACL_RESTRICTED:
                err = exec_acl_denial(c, cmd, qargv)
                if err is not None:
                    c.add_reply_error(err)
                    continue
            server.call(c, cmd, qargv)
    finally:
        server.in_exec = False
        c.mstate = None
        c.flags &= ~_IN_MULTI
    # EXEC itself is not propagated: its commands' effects were.
    c.rewritten_argv = []


def exec_acl_denial(c: Client, cmd: Any, argv: list[bytes]) -> str | None:
    """execCommand's second ACL check, with its own wording."""
    acl = c.server.acl
    user = acl.users.get(c.user)
    if user is None:
        return None
    reason, pos = user.check(cmd, argv)
    if reason == 0:
        return None
    acl.add_log_entry(c, reason, "multi",
                      cmd.fullname.encode() if reason == DENIED_CMD else argv[pos])
    why = {DENIED_CMD: "no permission to execute the command or subcommand",
           DENIED_KEY: "no permission to touch the specified keys",
           DENIED_CHANNEL: "no permission to access one of the channels used as arguments"}
    return ("-NOPERM ACLs rules changed between the moment the transaction was accumulated "
            "and the EXEC call. This command is no longer allowed for the following reason: "
            + why.get(reason, "no permission"))


@command("watch")
def watch_command(c: Client, argv: list[bytes]) -> None:
    if c.flags & ClientFlag.MULTI:
        c.add_reply_error("WATCH inside MULTI is not allowed")
        return
    for key in argv[1:]:
        watch_key(c, key)
    c.add_reply_ok()


@command("unwatch")
def unwatch_command(c: Client, argv: list[bytes]) -> None:
    unwatch_all_keys(c)
    c.flags &= ~ClientFlag.DIRTY_CAS
    c.add_reply_ok()
