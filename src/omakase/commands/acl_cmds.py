"""The ACL command (Redis 7.0's ``aclCommand``, acl.c) over ``omakase.acl``.

SETUSER applies all its rules to a copy of the user and installs the copy
only when every rule was valid (so a failed SETUSER changes nothing).
DELUSER closes the connections authenticated as the deleted users.  LOAD
reads ``aclfile`` completely, builds the new users aside, and replaces the
live set only when every line was valid.  The log, GETUSER, LIST, CAT,
DRYRUN and GENPASS replies are shaped as 7.0's (maps in RESP3, flat arrays in
RESP2).
"""
from __future__ import annotations

import os
import time
from typing import Any

from omakase import acl as acl_mod
from omakase import replies
from omakase.acl import AclError
from omakase.commands.registry import command
from omakase.util import parse_ll

ACL_HELP = [
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
]
NO_ACLFILE = ("This Redis instance is not configured to use an ACL file. You may want to specify "
              "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you "
              "have a Redis configuration file set) in order to store users in the Redis "
              "configuration.")


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@command("acl|help")
def acl_help_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_help("acl", ACL_HELP)


@command("acl|setuser")
def acl_setuser_command(c: Any, argv: list[bytes]) -> None:
    try:
        c.server.acl.set_user(_s(argv[2]), [_s(a) for a in argv[3:]])
    except AclError as exc:
        c.add_reply_error(str(exc))
        return
    c.add_reply_ok()


@command("acl|deluser")
def acl_deluser_command(c: Any, argv: list[bytes]) -> None:
    acl = c.server.acl
    names = [_s(a) for a in argv[2:]]
    if "default" in names:
        c.add_reply_error("The 'default' user cannot be removed")
        return
    c.add_reply_int(sum(acl.delete_user(n) for n in names))


@command("acl|getuser")
def acl_getuser_command(c: Any, argv: list[bytes]) -> None:
    user = c.server.acl.users.get(_s(argv[2]))
    if user is None:
        c.add_reply_null()
        return
    c.add_reply_map_len(6)
    c.add_reply_bulk(b"flags")
    flags = [n for n in acl_mod.USER_FLAG_ORDER if n in user.flag_names()]
    c.add_reply_set_len(len(flags))
    for f in flags:
        c.add_reply_bulk(f.encode())
    c.add_reply_bulk(b"passwords")
    c.add_reply_array_len(len(user.passwords))
    for h in user.passwords:
        c.add_reply_bulk(h.encode())
    _reply_selector(c, user.root)
    c.add_reply_bulk(b"selectors")
    c.add_reply_array_len(len(user.selectors) - 1)
    for sel in user.selectors[1:]:
        c.add_reply_map_len(3)
        _reply_selector(c, sel)


def _reply_selector(c: Any, sel: acl_mod.Selector) -> None:
    c.add_reply_bulk(b"commands")
    c.add_reply_bulk(sel.describe_commands().encode())
    c.add_reply_bulk(b"keys")
    c.add_reply_bulk(sel.describe_keys().encode("utf-8", "surrogateescape"))
    c.add_reply_bulk(b"channels")
    c.add_reply_bulk(sel.describe_channels().encode("utf-8", "surrogateescape"))


@command("acl|users")
def acl_users_command(c: Any, argv: list[bytes]) -> None:
    names = sorted(c.server.acl.users, key=lambda n: n.encode("utf-8", "surrogateescape"))
    c.add_reply_array_len(len(names))
    for n in names:
        c.add_reply_bulk(n.encode("utf-8", "surrogateescape"))


@command("acl|list")
def acl_list_command(c: Any, argv: list[bytes]) -> None:
    lines = c.server.acl.lines()
    c.add_reply_array_len(len(lines))
    for line in lines:
        c.add_reply_bulk(line.encode("utf-8", "surrogateescape"))


@command("acl|whoami")
def acl_whoami_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_bulk(c.user.encode("utf-8", "surrogateescape"))


@command("acl|cat")
def acl_cat_command(c: Any, argv: list[bytes]) -> None:
    if len(argv) == 2:
        c.add_reply_array_len(len(acl_mod.CATEGORIES))
        for name, _ in acl_mod.CATEGORIES:
            c.add_reply_bulk(name.encode())
        return
    cat = acl_mod.CATEGORY_BY_NAME.get(_s(argv[2]).lower())
    if cat is None:
        c.add_reply_error(f"Unknown category '{_s(argv[2])}'")
        return
    names = [cmd.fullname for cmd in c.server.acl.every_command() if cmd.acl_categories & cat]
    c.add_reply_array_len(len(names))
    for n in names:
        c.add_reply_bulk(n.encode())


@command("acl|genpass")
def acl_genpass_command(c: Any, argv: list[bytes]) -> None:
    bits = 256
    if len(argv) == 3:
        ok, bits = parse_ll(argv[2])
        if not ok:
            c.add_reply_error(replies.NOT_INTEGER)
            return
        if bits <= 0 or bits > 4096:
            c.add_reply_error("ACL GENPASS argument must be the number of bits for the output "
                              "password, a positive number up to 4096")
            return
    c.add_reply_bulk(acl_mod.genpass(bits).encode())


@command("acl|log")
def acl_log_command(c: Any, argv: list[bytes]) -> None:
    acl = c.server.acl
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            acl.log.clear()
            c.add_reply_ok()
            return
        ok, count = parse_ll(argv[2])
        if not ok:
            c.add_reply_error(replies.NOT_INTEGER)
            return
        count = max(count, 0)
    entries = acl.log[:count]
    now = int(time.time() * 1000)
    c.add_reply_array_len(len(entries))
    for e in entries:
        c.add_reply_map_len(7)
        c.add_reply_bulk(b"count")
        c.add_reply_int(e.count)
        c.add_reply_bulk(b"reason")
        c.add_reply_bulk(acl_mod.REASON_NAMES[e.reason].encode())
        c.add_reply_bulk(b"context")
        c.add_reply_bulk(e.context.encode())
        c.add_reply_bulk(b"object")
        c.add_reply_bulk(e.object)
        c.add_reply_bulk(b"username")
        c.add_reply_bulk(e.username)
        c.add_reply_bulk(b"age-seconds")
        c.add_reply_double((now - e.ctime) / 1000.0)
        c.add_reply_bulk(b"client-info")
        c.add_reply_bulk(e.cinfo.encode("utf-8", "surrogateescape"))


@command("acl|dryrun")
def acl_dryrun_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    user = server.acl.users.get(_s(argv[2]))
    if user is None:
        c.add_reply_error(f"User '{_s(argv[2])}' not found")
        return
    cmd = server.commands.lookup(argv[3:])
    if cmd is None:
        c.add_reply_error(f"Command '{_s(argv[3])}' not found")
        return
    args = argv[3:]
    if (cmd.arity > 0 and len(args) != cmd.arity) or len(args) < -cmd.arity:
        c.add_reply_error(replies.wrong_arity(cmd.fullname))
        return
    reason, pos = user.check(cmd, args)
    if reason == 0:
        c.add_reply_ok()
    elif reason == acl_mod.DENIED_CMD:
        c.add_reply_bulk(f"This user has no permissions to run the '{cmd.fullname}' command"
                         .encode())
    else:
        what = "key" if reason == acl_mod.DENIED_KEY else "channel"
        c.add_reply_bulk(b"This user has no permissions to access the '" + args[pos]
                         + b"' " + what.encode())


# ---------------------------------------------------------------------------
# aclfile
# ---------------------------------------------------------------------------
def read_acl_file(server: Any, path: str) -> dict[str, acl_mod.User]:
    """ACLLoadFromFile's parsing: the new users, or AclError."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise AclError(f"Error loading ACLs, opening file '{path}': {exc.strerror}") from None
    lines = []
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        lines.append((lineno, line.split()))
    return server.acl.load_lines(lines, path)


def save_acl_file(server: Any, path: str) -> None:
    """ACLSaveToFile: write a temp file and rename it over the old one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        for line in server.acl.lines():
            f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


@command("acl|save")
def acl_save_command(c: Any, argv: list[bytes]) -> None:
    path = c.server.config.aclfile
    if not path:
        c.add_reply_error(NO_ACLFILE)
        return
    try:
        save_acl_file(c.server, path)
    except OSError as exc:
        c.server.log.warning(f"Saving ACL file: {exc}")
        c.add_reply_error("There was an error trying to save the ACLs. Please check the server "
                          "logs for more information")
        return
    c.add_reply_ok()


@command("acl|load")
def acl_load_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    path = server.config.aclfile
    if not path:
        c.add_reply_error(NO_ACLFILE)
        return
    try:
        users = read_acl_file(server, path)
    except AclError as exc:
        c.add_reply_error(str(exc))
        return
    server.acl.replace_users(users)
    c.add_reply_ok()
