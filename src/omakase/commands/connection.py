"""Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET.

Mirrors ``pingCommand``/``echoCommand``/``selectCommand`` (server.c, db.c),
``authCommand``/``helloCommand`` (acl.c, networking.c) and ``resetCommand``.
Users and passwords live in ``omakase.acl`` (``requirepass`` is the default
user's password); a failed AUTH or HELLO AUTH is an ACL log entry.
"""
from __future__ import annotations

from omakase import replies
from omakase.acl import DENIED_AUTH
from omakase.commands.registry import command
from omakase.networking import Client, ClientFlag
from omakase.util import parse_ll


@command("ping")
def ping_command(c: Client, argv: list[bytes]) -> None:
    if len(argv) == 1 and not c.flags & _PUBSUB:
        c.add_reply(replies.PONG)       # the benchmarked case first
        return
    if len(argv) > 2:
        c.add_reply_error(replies.wrong_arity("ping"))
        return
    if c.flags & ClientFlag.PUBSUB and c.resp == 2:
        c.add_reply(b"*2\r\n$4\r\npong\r\n")
        c.add_reply_bulk(argv[1] if len(argv) == 2 else b"")
        return
    if len(argv) == 1:
        c.add_reply(replies.PONG)
    else:
        c.add_reply_bulk(argv[1])


_PUBSUB = ClientFlag.PUBSUB


@command("echo")
def echo_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_bulk(argv[1])


@command("quit")
def quit_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_ok()
    c.close_after_reply()


def select_db(c: Client, raw: bytes) -> str | None:
    ok, n = parse_ll(raw)
    if not ok:
        return replies.NOT_INTEGER
    if not -(2**31) <= n < 2**31:
        return replies.out_of_int_range(-(2**31), 2**31 - 1)
    if n < 0 or n >= len(c.server.dbs):
        return replies.DB_INDEX
    c.db = c.server.dbs[n]
    return None


@command("select")
def select_command(c: Client, argv: list[bytes]) -> None:
    err = select_db(c, argv[1])
    if err:
        c.add_reply_error(err)
    else:
        c.add_reply_ok()


def _authenticate(c: Client, user: bytes, password: bytes) -> bool:
    """ACLAuthenticateUser: on failure the attempt goes to the ACL log."""
    acl = c.server.acl
    name = user.decode("utf-8", "surrogateescape")
    u = acl.check_password(name, password)
    if u is None:
        context = "multi" if c.flags & ClientFlag.MULTI else "toplevel"
        acl.add_log_entry(c, DENIED_AUTH, context, c.argv[0] if c.argv else b"AUTH", user)
        return False
    c.authenticated = True
    c.parser.auth_limits = False
    c.user = name
    acl.set_client_user(c, u)
    return True


@command("auth")
def auth_command(c: Client, argv: list[bytes]) -> None:
    if len(argv) > 3:
        c.add_reply_error(replies.SYNTAX)
        return
    if len(argv) == 2:
        if c.server.acl.default.nopass:
            c.add_reply_error("AUTH <password> called without any password configured for "
                              "the default user. Are you sure your configuration is correct?")
            return
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    if _authenticate(c, user, password):
        c.add_reply_ok()
    else:
        c.add_reply_error(replies.WRONGPASS)


@command("hello")
def hello_command(c: Client, argv: list[bytes]) -> None:
    ver = 0
    i = 1
    if len(argv) >= 2:
        ok, ver = parse_ll(argv[1])
        if not ok:
            c.add_reply_error("Protocol version is not an integer or out of range")
            return
        i = 2
        if ver < 2 or ver > 3:
            c.add_reply_error("-NOPROTO unsupported protocol version")
            return
    setname = None
    auth = None
    while i < len(argv):
        opt = argv[i].lower()
        left = len(argv) - i - 1
        if opt == b"auth" and left >= 2:
            auth = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and left >= 1:
            setname = argv[i + 1]
            i += 2
        else:
            c.add_reply_error("Syntax error in HELLO option '%s'"
                              % argv[i].decode("utf-8", "replace"))
            return
    if auth is not None and not _authenticate(c, *auth):
        c.add_reply_error(replies.WRONGPASS)
        return
    if not c.authenticated:
        c.add_reply_error("-NOAUTH HELLO must be called with the client already "
                          "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
                          "option can be used to authenticate the client and select the "
                          "RESP protocol version at the same time")
        return
    if setname is not None:
        from omakase.commands.client import validate_client_name
        err = validate_client_name(setname)
        if err:
            c.add_reply_error(err)
            return
        c.name = setname or None
    if ver:
        c.resp = ver
    server = c.server
    role = "replica" if server.masterhost else "master"
    c.add_reply_map_len(7)
    c.add_reply_bulk(b"server")
    c.add_reply_bulk(b"redis")
    c.add_reply_bulk(b"version")
    c.add_reply_bulk(b"7.0.15")
    c.add_reply_bulk(b"proto")
    c.add_reply_int(c.resp)
    c.add_reply_bulk(b"id")
    c.add_reply_int(c.id)
    c.add_reply_bulk(b"mode")
    c.add_reply_bulk(b"standalone")
    c.add_reply_bulk(b"role")
    c.add_reply_bulk(role.encode())
    c.add_reply_bulk(b"modules")
    c.add_reply_array_len(0)


@command("reset")
def reset_command(c: Client, argv: list[bytes]) -> None:
    """clearClientConnectionState: back to a fresh connection's state."""
    server = c.server
    for hook in getattr(server, "client_reset_hooks", ()):
        hook(c)
    c.db = server.dbs[0]
    c.resp = 2
    c.name = None
    c.flags &= ~(ClientFlag.ASKING | ClientFlag.READONLY | ClientFlag.REPLY_OFF
                 | ClientFlag.REPLY_SKIP_NEXT | ClientFlag.NO_TOUCH | ClientFlag.NO_EVICT)
    c.reply_off = False
    c.skip_next_reply = False
    c.authenticated = not server.auth_required()
    c.parser.auth_limits = not c.authenticated
    c.user = "default"
    server.acl.set_client_user(c, server.acl.default)
    c.add_reply_status("RESET")
