"""CLIENT: connection introspection and control (Redis's ``clientCommand``).

Mirrors ``clientCommand``, ``catClientInfoString``, ``clientSetName``,
``getClientType``/``getClientTypeByName`` and the client pause machinery
(``pauseClients``/``unpauseClients``/``checkClientPauseTimeoutAndReturnIfPaused``)
of Redis 7.0's ``networking.c``.

Subcommands: ID, SETNAME, GETNAME, LIST [TYPE t | ID id...], INFO, KILL (the
old ``ip:port`` form and the ID/TYPE/USER/ADDR/LADDR/SKIPME filters), PAUSE
timeout [WRITE|ALL], UNPAUSE, REPLY ON|OFF|SKIP, NO-EVICT ON|OFF, HELP, and the
client-side caching ones: TRACKING, CACHING, GETREDIR, TRACKINGINFO (argument
checks and replies here, the tables and invalidation in ``omakase.tracking``).
Redis 7.0.15 has neither SETINFO nor NO-TOUCH, so they do not exist here
either.  UNBLOCK belongs to the blocking module.

As in Redis, one handler serves every subcommand: the spec's arity is checked
first by ``process_command``, then each subcommand checks the exact argument
count it accepts and answers ``unknown subcommand or wrong number of
arguments for '<sub>'`` otherwise.

CLIENT LIST lines
-----------------
``client_info_string(server, c)`` renders Redis 7.0's line::

    id addr laddr fd name age idle flags db sub psub ssub multi qbuf
    qbuf-free argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user
    redir resp

DIVERGENCE: the buffer fields describe omakase's buffers, which are not
Redis's: ``qbuf`` is what the request parser still holds, plus, for the
client running the command, that request's encoded size (Redis trims the
query buffer after running it, so a plain ``CLIENT LIST`` shows ``qbuf=26``
as in Redis); ``qbuf-free`` is 0 (no spare capacity is
kept); ``rbs``/``rbp`` report the bytes queued for output (there is no
fixed reply buffer); ``oll`` is the number of queued reply chunks and
``omem`` their size; ``tot-mem`` adds a fixed per-client estimate
(``CLIENT_BASE_MEM``) to those buffers.

Pausing
-------
CLIENT PAUSE stores the deadline (``server.clients_paused_until``, absolute
ms) and the mode (``server.client_pause_write_only``) and installs, only for
the pause's lifetime, a guard hook and a before-sleep hook.  The guard runs in
``process_command`` after the arity/auth/MULTI checks; a command the pause
covers (any under ALL; under WRITE those flagged WRITE or MAY_REPLICATE) is
parked in ``c.paused_cmd`` and the client is appended to
``server.paused_clients``; ``Client.process_input`` stops reading that
client's requests until it is released.  Replicas are never paused.  A second
pause keeps the later deadline and the stricter mode, as Redis does.  When
the deadline passes (a one-shot timer wakes the loop) or CLIENT UNPAUSE runs,
the before-sleep hook releases the clients in the order they were parked:
each parked command goes through ``process_command`` again (Redis's
``processPendingCommandAndInputBuffer``), then the rest of its input.
Releasing happens in before-sleep, never inside another client's command.
Expiry is suspended while clients are paused through
``server.expire_paused()`` (see ``clients_are_paused``).

CLIENT REPLY
------------
ON/OFF set ``c.reply_off`` (the reply API drops everything while it is set)
and the REPLY_OFF flag.  SKIP sets REPLY_SKIP_NEXT; ``reset_reply_skip(c)``
must run after every top-level command (Redis's ``resetClient``): it turns
REPLY_SKIP_NEXT into REPLY_SKIP for the next command and clears REPLY_SKIP
after it, keeping ``c.reply_off`` in step.  ``c.skip_next_reply`` is the
one-test "resetClient has work" mark the input loop reads: it is also set
while a client holds the TRACKING_CACHING flag (CLIENT CACHING), which the
same reset drops after the next command (see ``tracking.after_command``).
"""
from __future__ import annotations

import time
from typing import Any

import hiredis

from omakase import replies
from omakase.commands.registry import CmdFlag, command
from omakase.networking import Client, ClientFlag
from omakase.util import parse_ll

CLIENT_TYPE_NORMAL = 0
CLIENT_TYPE_SLAVE = 1
CLIENT_TYPE_PUBSUB = 2
CLIENT_TYPE_MASTER = 3
CLIENT_BASE_MEM = 2048
LLONG_MAX = 2**63 - 1

CLIENT_HELP = [
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
]

NAME_ERROR = "Client names cannot contain spaces, newlines or special characters."


# --------------------------------------------------------------------------
# Helpers shared with the rest of the server
# --------------------------------------------------------------------------
def validate_client_name(name: bytes) -> str | None:
    """clientSetName's charset check: the error, or None if acceptable."""
    for ch in name:
        if ch < 33 or ch > 126:
            return NAME_ERROR
    return None


def client_type(c: Client) -> int:
    """getClientType (MONITOR clients count as normal ones)."""
    flags = c.flags
    if flags & ClientFlag.MASTER:
        return CLIENT_TYPE_MASTER
    if flags & ClientFlag.SLAVE and not flags & ClientFlag.MONITOR:
        return CLIENT_TYPE_SLAVE
    if flags & ClientFlag.PUBSUB:
        return CLIENT_TYPE_PUBSUB
    return CLIENT_TYPE_NORMAL


def client_type_by_name(name: bytes) -> int:
    """getClientTypeByName: -1 for an unknown name."""
    return {b"normal": CLIENT_TYPE_NORMAL, b"slave": CLIENT_TYPE_SLAVE,
            b"replica": CLIENT_TYPE_SLAVE, b"pubsub": CLIENT_TYPE_PUBSUB,
            b"master": CLIENT_TYPE_MASTER}.get(name.lower(), -1)


_FLAG_CHARS = (
    (ClientFlag.MASTER, "M"), (ClientFlag.PUBSUB, "P"), (ClientFlag.MULTI, "x"),
    (ClientFlag.BLOCKED, "b"), (ClientFlag.TRACKING, "t"),
    (getattr(ClientFlag, "TRACKING_BROKEN_REDIR", 0), "R"),
    (getattr(ClientFlag, "TRACKING_BCAST", 0), "B"),
    (ClientFlag.DIRTY_CAS, "d"), (ClientFlag.CLOSE_AFTER_REPLY, "c"),
    (ClientFlag.UNBLOCKED, "u"), (ClientFlag.CLOSE_ASAP, "A"),
    (ClientFlag.UNIX_SOCKET, "U"), (ClientFlag.READONLY, "r"),
    (ClientFlag.NO_EVICT, "e"),
)


def client_flags_string(c: Client) -> str:
    flags = c.flags
    out = []
    if flags & ClientFlag.MONITOR:
        out.append("O")
    elif flags & ClientFlag.SLAVE:
        out.append("S")
    for flag, ch in _FLAG_CHARS:
        if flag and flags & flag:
            out.append(ch)
    if c.paused_cmd is not None and "b" not in out:
        out.append("b")          # a paused client is blocked (BLOCKED_POSTPONE)
    return "".join(out) or "N"


def client_info_string(server: Any, c: Client, caller: Client | None = None) -> str:
    """catClientInfoString: one CLIENT LIST line (without the newline).
    ``caller`` is the client running the command, whose request is counted
    in qbuf and argv-mem as Redis counts it."""
    now = time.time()
    executing = caller is c
    qbuf = c.parser.pending_bytes() if c.parser is not None else 0
    argv_mem = 0
    if executing and c.argv:
        argv_mem = sum(len(a) for a in c.argv)
        # Redis trims the query buffer only after running what it parsed:
        # the request being executed still counts.
        qbuf += len(hiredis.pack_command(tuple(c.argv)))
    multi = -1
    multi_mem = 0
    if c.flags & ClientFlag.MULTI:
        queued = c.mstate or []
        multi = len(queued)
        for entry in queued:
            argv = entry[1] if isinstance(entry, tuple) else getattr(entry, "argv", ())
            multi_mem += sum(len(a) for a in argv)
    link = server.repl.links.get(c.id) if c.flags & ClientFlag.SLAVE else None
    if link is not None:
        # What the replica still references of the stream, the held-back
        # full-sync part included (getClientOutputBufferMemoryUsage).
        omem = server.repl.output_usage(link)
    else:
        omem = sum(len(x) for x in c.reply)
    oll = len(c.reply)
    events = ""
    if c.sock is not None and not c.closing:
        events = "r"
    if c.write_installed:
        events += "w"
    name = c.name.decode("ascii", "replace") if c.name else ""
    cmd = c.cmd.fullname if c.cmd is not None else "NULL"
    redir = c.tracking.redirect if c.flags & ClientFlag.TRACKING else -1
    tot = CLIENT_BASE_MEM + qbuf + argv_mem + multi_mem + omem
    return (f"id={c.id} addr={c.addr} laddr={c.laddr} fd={c.fd} name={name} "
            f"age={int(now - c.ctime)} idle={max(0, int(now - c.last_interaction))} "
            f"flags={client_flags_string(c)} db={c.db.id} "
            f"sub={len(c.pubsub_channels or ())} psub={len(c.pubsub_patterns or ())} "
            f"ssub={len(c.pubsub_shard_channels or ())} multi={multi} "
            f"qbuf={qbuf} qbuf-free=0 argv-mem={argv_mem} multi-mem={multi_mem} "
            f"rbs={omem} rbp={omem} obl=0 oll={oll} omem={omem} tot-mem={tot} "
            f"events={events} cmd={cmd} user={c.user} redir={redir} resp={c.resp}")


def _subcommand_syntax_error(c: Client, argv: list[bytes]) -> None:
    """addReplySubcommandSyntaxError."""
    c.add_reply_error("unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
                      % (argv[1][:128].decode("utf-8", "replace"),
                         argv[0].decode("utf-8", "replace").upper()))


# --------------------------------------------------------------------------
# CLIENT REPLY support
# --------------------------------------------------------------------------
def reset_reply_skip(c: Client) -> None:
    """The reply-skip part of resetClient, run after each top-level command:
    a SKIP covers exactly the next command."""
    flags = c.flags
    if flags & ClientFlag.TRACKING_CACHING:
        c.server.tracking.after_command(c)
        flags = c.flags
    if flags & (ClientFlag.REPLY_SKIP | ClientFlag.REPLY_SKIP_NEXT):
        flags &= ~ClientFlag.REPLY_SKIP
        if flags & ClientFlag.REPLY_SKIP_NEXT:
            flags = (flags | ClientFlag.REPLY_SKIP) & ~ClientFlag.REPLY_SKIP_NEXT
        c.flags = flags
        c.reply_off = bool(flags & (ClientFlag.REPLY_OFF | ClientFlag.REPLY_SKIP))
    c.skip_next_reply = bool(flags & (ClientFlag.REPLY_SKIP_NEXT | ClientFlag.TRACKING_CACHING))


# --------------------------------------------------------------------------
# Client pause
# --------------------------------------------------------------------------
def clients_are_paused(server: Any) -> bool:
    """True while a CLIENT PAUSE is in force (what expire_paused() asks)."""
    until = server.clients_paused_until
    return bool(until) and time.time() * 1000 < until


class _PauseHooks:
    """The hooks a pause installs on one server, removed when it ends."""
    __slots__ = ("server", "timer", "releasing")

    def __init__(self, server: Any) -> None:
        self.server = server
        self.timer: int | None = None
        self.releasing = False

    def install(self) -> None:
        server = self.server
        if self.guard not in server.guard_hooks:
            server.guard_hooks.append(self.guard)
            server.refresh_guards()
        if self.before_sleep not in server.before_sleep_hooks:
            server.before_sleep_hooks.append(self.before_sleep)

    def uninstall(self) -> None:
        server = self.server
        if self.guard in server.guard_hooks:
            # A new list: the guard may be running inside the loop over it.
            server.guard_hooks = [g for g in server.guard_hooks if g != self.guard]
            server.refresh_guards()

    def arm_timer(self, end_ms: int) -> None:
        el = self.server.el
        if self.timer is not None:
            el.cancel_timer(self.timer)
        delay = max(1, end_ms - int(time.time() * 1000) + 1)
        self.timer = el.add_timer(delay, self._wake)

    def _wake(self) -> int:
        # Only wakes the loop at the deadline; before_sleep does the work.
        self.timer = None
        return -1

    def guard(self, c: Client, cmd: Any, argv: list[bytes]) -> Any:
        server = self.server
        if not server.clients_paused_until:
            return None
        if time.time() * 1000 >= server.clients_paused_until:
            end_pause(server)
            return None
        if c.flags & ClientFlag.SLAVE:
            return None
        if server.client_pause_write_only and not cmd.flags & (CmdFlag.WRITE
                                                               | CmdFlag.MAY_REPLICATE):
            return None
        c.paused_cmd = argv
        c.flags |= ClientFlag.PAUSED
        server.paused_clients.append(c)
        return False

    def before_sleep(self) -> None:
        server = self.server
        until = server.clients_paused_until
        if until and time.time() * 1000 < until:
            return                              # still paused
        if until:
            end_pause(server)
        else:
            self.uninstall()
        if self.releasing:
            return
        # A new list: before_sleep is iterating over the current one.
        server.before_sleep_hooks = [h for h in server.before_sleep_hooks
                                     if h != self.before_sleep]
        self.release()

    def release(self) -> None:
        """Run every parked command again, in the order they were parked."""
        server = self.server
        self.releasing = True
        try:
            while server.paused_clients and not server.clients_paused_until:
                c = server.paused_clients.pop(0)
                argv = c.paused_cmd
                c.paused_cmd = None
                c.flags &= ~ClientFlag.PAUSED
                if argv is None or c.closing or c.id not in server.clients:
                    continue
                server.process_command(c, argv)
                reset_reply_skip(c)
                c.process_input()
        finally:
            self.releasing = False
        if server.paused_clients and self.before_sleep not in server.before_sleep_hooks:
            server.before_sleep_hooks.append(self.before_sleep)


def _pause_hooks(server: Any) -> _PauseHooks:
    hooks = getattr(server, "client_pause_hooks", None)
    if hooks is None:
        hooks = _PauseHooks(server)
        server.client_pause_hooks = hooks
    return hooks


def pause_clients(server: Any, end_ms: int, write_only: bool) -> None:
    """pauseClients: the later deadline and the stricter mode win."""
    if server.clients_paused_until:
        write_only = server.client_pause_write_only and write_only
        end_ms = max(end_ms, server.clients_paused_until)
    server.clients_paused_until = end_ms
    server.client_pause_write_only = write_only
    hooks = _pause_hooks(server)
    hooks.install()
    hooks.arm_timer(end_ms)


# A pause with no end (FAILOVER, a SHUTDOWN waiting for replicas): ten years.
_FOREVER_MS = 10 * 365 * 86400 * 1000


def pause_writes_indefinitely(server: Any) -> None:
    """A write pause that lasts until end_pause (FAILOVER, a SHUTDOWN
    waiting for lagging replicas)."""
    pause_clients(server, int(time.time() * 1000) + _FOREVER_MS, True)


def end_pause(server: Any) -> None:
    """unpauseClients: parked clients are released at the next before-sleep."""
    server.clients_paused_until = 0
    server.client_pause_write_only = False
    hooks = _pause_hooks(server)
    hooks.uninstall()
    if hooks.timer is not None:
        server.el.cancel_timer(hooks.timer)
        hooks.timer = None
    if server.paused_clients and hooks.before_sleep not in server.before_sleep_hooks:
        server.before_sleep_hooks.append(hooks.before_sleep)


# --------------------------------------------------------------------------
# The subcommands
# --------------------------------------------------------------------------
@command("client|help")
def client_help_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_help("client", CLIENT_HELP)


@command("client|id")
def client_id_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_int(c.id)


@command("client|info")
def client_info_command(c: Client, argv: list[bytes]) -> None:
    line = client_info_string(c.server, c, caller=c) + "\n"
    c.add_reply_verbatim(line.encode("utf-8", "surrogateescape"), b"txt")


@command("client|list")
def client_list_command(c: Client, argv: list[bytes]) -> None:
    server = c.server
    argc = len(argv)
    ctype = -1
    clients = None
    if argc == 4 and argv[2].lower() == b"type":
        ctype = client_type_by_name(argv[3])
        if ctype == -1:
            c.add_reply_error("Unknown client type '%s'" % argv[3].decode("utf-8", "replace"))
            return
    elif argc > 3 and argv[2].lower() == b"id":
        clients = []
        for raw in argv[3:]:
            ok, cid = parse_ll(raw)
            if not ok:
                c.add_reply_error("Invalid client ID")
                return
            other = server.clients.get(cid)
            if other is not None:
                clients.append(other)
    elif argc != 2:
        c.add_reply_error(replies.SYNTAX)
        return
    if clients is None:
        clients = [cl for cl in server.clients.values()
                   if ctype == -1 or client_type(cl) == ctype]
    text = "".join(client_info_string(server, cl, caller=c) + "\n" for cl in clients)
    c.add_reply_verbatim(text.encode("utf-8", "surrogateescape"), b"txt")


@command("client|setname")
def client_setname_command(c: Client, argv: list[bytes]) -> None:
    err = validate_client_name(argv[2])
    if err:
        c.add_reply_error(err)
        return
    c.name = argv[2] or None
    c.add_reply_ok()


@command("client|getname")
def client_getname_command(c: Client, argv: list[bytes]) -> None:
    if c.name:
        c.add_reply_bulk(c.name)
    else:
        c.add_reply_null()


@command("client|reply")
def client_reply_command(c: Client, argv: list[bytes]) -> None:
    mode = argv[2].lower()
    if mode == b"on":
        c.flags &= ~(ClientFlag.REPLY_SKIP | ClientFlag.REPLY_OFF | ClientFlag.REPLY_SKIP_NEXT)
        c.reply_off = False
        c.skip_next_reply = False
        c.add_reply_ok()
    elif mode == b"off":
        c.flags |= ClientFlag.REPLY_OFF
        c.reply_off = True
    elif mode == b"skip":
        if not c.flags & ClientFlag.REPLY_OFF:
            c.flags |= ClientFlag.REPLY_SKIP_NEXT
            c.skip_next_reply = True
    else:
        c.add_reply_error(replies.SYNTAX)


@command("client|no-evict")
def client_no_evict_command(c: Client, argv: list[bytes]) -> None:
    mode = argv[2].lower()
    if mode == b"on":
        c.flags |= ClientFlag.NO_EVICT
    elif mode == b"off":
        c.flags &= ~ClientFlag.NO_EVICT
    else:
        c.add_reply_error(replies.SYNTAX)
        return
    c.add_reply_ok()


@command("client|kill")
def client_kill_command(c: Client, argv: list[bytes]) -> None:
    server = c.server
    argc = len(argv)
    addr = laddr = user = None
    ctype = -1
    cid = 0
    skipme = True
    if argc == 3:
        addr = argv[2]
        skipme = False          # the old form can kill the caller
    elif argc > 3:
        i = 2
        while i < argc:
            opt = argv[i].lower()
            moreargs = argc > i + 1
            if opt == b"id" and moreargs:
                ok, n = parse_ll(argv[i + 1])
                if not ok or n < 1:
                    c.add_reply_error("client-id should be greater than 0")
                    return
                cid = n
            elif opt == b"type" and moreargs:
                ctype = client_type_by_name(argv[i + 1])
                if ctype == -1:
                    c.add_reply_error("Unknown client type '%s'"
                                      % argv[i + 1].decode("utf-8", "replace"))
                    return
            elif opt == b"addr" and moreargs:
                addr = argv[i + 1]
            elif opt == b"laddr" and moreargs:
                laddr = argv[i + 1]
            elif opt == b"user" and moreargs:
                user = argv[i + 1]
                if not _user_exists(server, user):
                    c.add_reply_error("No such user '%s'" % user.decode("utf-8", "replace"))
                    return
            elif opt == b"skipme" and moreargs:
                yn = argv[i + 1].lower()
                if yn == b"yes":
                    skipme = True
                elif yn == b"no":
                    skipme = False
                else:
                    c.add_reply_error(replies.SYNTAX)
                    return
            else:
                c.add_reply_error(replies.SYNTAX)
                return
            i += 2
    else:
        c.add_reply_error(replies.SYNTAX)
        return

    killed = 0
    close_this_client = False
    for other in list(server.clients.values()):
        if addr is not None and other.addr.encode() != addr:
            continue
        if laddr is not None and other.laddr.encode() != laddr:
            continue
        if ctype != -1 and client_type(other) != ctype:
            continue
        if cid and other.id != cid:
            continue
        if user is not None and other.user.encode() != user:
            continue
        if other is c and skipme:
            continue
        if other is c:
            close_this_client = True
        else:
            server.free_client(other)
        killed += 1
    if argc == 3:
        if killed == 0:
            c.add_reply_error("No such client")
        else:
            c.add_reply_ok()
    else:
        c.add_reply_int(killed)
    if close_this_client:
        c.close_after_reply()


def _user_exists(server: Any, user: bytes) -> bool:
    """ACLGetUserByName; until the ACL issue there is only 'default'."""
    acl = getattr(server, "acl", None)
    if acl is not None and hasattr(acl, "get_user"):
        return acl.get_user(user) is not None
    return user == b"default"


@command("client|unpause")
def client_unpause_command(c: Client, argv: list[bytes]) -> None:
    end_pause(c.server)
    c.add_reply_ok()


@command("client|pause")
def client_pause_command(c: Client, argv: list[bytes]) -> None:
    if len(argv) not in (3, 4):
        _subcommand_syntax_error(c, argv)
        return
    write_only = False
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            write_only = True
        elif mode != b"all":
            c.add_reply_error("CLIENT PAUSE mode must be WRITE or ALL")
            return
    ok, timeout = parse_ll(argv[2])
    if not ok:
        c.add_reply_error("timeout is not an integer or out of range")
        return
    if timeout < 0:
        c.add_reply_error("timeout is negative")
        return
    now = int(time.time() * 1000)
    end = timeout + now if timeout else 0
    if end > LLONG_MAX:
        end -= 2**64            # Redis's long long wraps: a deadline in the past
    pause_clients(c.server, end, write_only)
    c.add_reply_ok()


# --------------------------------------------------------------------------
# Client-side caching (the tables live in omakase.tracking)
# --------------------------------------------------------------------------
@command("client|tracking")
def client_tracking_command(c: Client, argv: list[bytes]) -> None:
    """CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN]
    [OPTOUT] [NOLOOP]: every option is parsed (and REDIRECT checked) before
    ON/OFF is looked at, as Redis does."""
    from omakase import tracking
    server = c.server
    argc = len(argv)
    redirect = 0
    options = 0
    prefixes: list[bytes] = []
    j = 3
    while j < argc:
        opt = argv[j].lower()
        moreargs = j + 1 < argc
        if opt == b"redirect" and moreargs:
            j += 1
            if redirect != 0:
                c.add_reply_error("A client can only redirect to a single other client")
                return
            ok, redirect = parse_ll(argv[j])
            if not ok:
                c.add_reply_error(replies.NOT_INTEGER)
                return
            if redirect not in server.clients:
                c.add_reply_error("The client ID you want redirect to does not exist")
                return
        elif opt == b"bcast":
            options |= tracking.BCAST
        elif opt == b"optin":
            options |= tracking.OPTIN
        elif opt == b"optout":
            options |= tracking.OPTOUT
        elif opt == b"noloop":
            options |= tracking.NOLOOP
        elif opt == b"prefix" and moreargs:
            j += 1
            prefixes.append(argv[j])
        else:
            c.add_reply_error(replies.SYNTAX)
            return
        j += 1
    mode = argv[2].lower()
    if mode == b"on":
        flags = c.flags
        if not options & tracking.BCAST and prefixes:
            c.add_reply_error("PREFIX option requires BCAST mode to be enabled")
            return
        if flags & tracking.TRACKING and (
                bool(flags & tracking.BCAST) != bool(options & tracking.BCAST)):
            c.add_reply_error("You can't switch BCAST mode on/off before disabling tracking "
                              "for this client, and then re-enabling it with a different mode.")
            return
        if options & tracking.BCAST and options & (tracking.OPTIN | tracking.OPTOUT):
            c.add_reply_error("OPTIN and OPTOUT are not compatible with BCAST")
            return
        if options & tracking.OPTIN and options & tracking.OPTOUT:
            c.add_reply_error("You can't specify both OPTIN mode and OPTOUT mode")
            return
        if ((options & tracking.OPTIN and flags & tracking.OPTOUT)
                or (options & tracking.OPTOUT and flags & tracking.OPTIN)):
            c.add_reply_error("You can't switch OPTIN/OPTOUT mode before disabling tracking "
                              "for this client, and then re-enabling it with a different mode.")
            return
        state = tracking.get_tracking(server)
        if options & tracking.BCAST:
            err, go_on = state.prefix_collision(c, prefixes)
            if err:
                c.add_reply_error(err)
                if not go_on:
                    return
        state.enable(c, redirect, options, prefixes)
    elif mode == b"off":
        if c.flags & tracking.ALL_TRACKING_FLAGS:
            tracking.get_tracking(server).disable(c)
    else:
        c.add_reply_error(replies.SYNTAX)
        return
    c.add_reply_ok()


@command("client|caching")
def client_caching_command(c: Client, argv: list[bytes]) -> None:
    flags = c.flags
    if not flags & ClientFlag.TRACKING:
        c.add_reply_error("CLIENT CACHING can be called only when the client is in tracking "
                          "mode with OPTIN or OPTOUT mode enabled")
        return
    opt = argv[2].lower()
    if opt == b"yes":
        if not flags & ClientFlag.TRACKING_OPTIN:
            c.add_reply_error("CLIENT CACHING YES is only valid when tracking is enabled in "
                              "OPTIN mode.")
            return
    elif opt == b"no":
        if not flags & ClientFlag.TRACKING_OPTOUT:
            c.add_reply_error("CLIENT CACHING NO is only valid when tracking is enabled in "
                              "OPTOUT mode.")
            return
    else:
        c.add_reply_error(replies.SYNTAX)
        return
    c.flags = flags | ClientFlag.TRACKING_CACHING
    c.skip_next_reply = True        # resetClient drops CACHING after the next command
    c.add_reply_ok()


@command("client|getredir")
def client_getredir_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_int(c.tracking.redirect if c.flags & ClientFlag.TRACKING else -1)


@command("client|trackinginfo")
def client_trackinginfo_command(c: Client, argv: list[bytes]) -> None:
    flags = c.flags
    names = [b"on" if flags & ClientFlag.TRACKING else b"off"]
    if flags & ClientFlag.TRACKING_BCAST:
        names.append(b"bcast")
    if flags & ClientFlag.TRACKING_OPTIN:
        names.append(b"optin")
        if flags & ClientFlag.TRACKING_CACHING:
            names.append(b"caching-yes")
    if flags & ClientFlag.TRACKING_OPTOUT:
        names.append(b"optout")
        if flags & ClientFlag.TRACKING_CACHING:
            names.append(b"caching-no")
    if flags & ClientFlag.TRACKING_NOLOOP:
        names.append(b"noloop")
    if flags & ClientFlag.TRACKING_BROKEN_REDIR:
        names.append(b"broken_redirect")
    c.add_reply_map_len(3)
    c.add_reply_bulk(b"flags")
    c.add_reply_set_len(len(names))
    for name in names:
        c.add_reply_bulk(name)
    c.add_reply_bulk(b"redirect")
    c.add_reply_int(c.tracking.redirect if flags & ClientFlag.TRACKING else -1)
    c.add_reply_bulk(b"prefixes")
    prefixes = sorted(c.tracking.prefixes) if c.tracking is not None else []
    c.add_reply_array_len(len(prefixes))
    for p in prefixes:
        c.add_reply_bulk(p)
