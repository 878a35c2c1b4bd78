"""Access control lists: users, selectors, permission checks, the ACL log.

This is Redis 7.0's ``acl.c``.  A ``User`` has flags (on/off, nopass,
[skip-]sanitize-payload), SHA-256 password hashes and a list of
``Selector``s: the first is the root selector (the rules written without
parentheses), the others come from ``(...)`` groups.  A command is allowed
when *any* selector allows all of it: the command itself, every key it
touches (with the access it needs: a key-spec flag ACCESS needs ``R``,
INSERT/DELETE/UPDATE need ``W``), and every channel it publishes or
subscribes to.

A selector's command permissions are the set of allowed ``Command`` objects
(Redis's bitmap of command ids; a container command and each of its
subcommands are separate members, ``+config`` adds the container and all its
subcommands), plus the "future commands" bit that only ``+@all`` sets (Redis
reserves the last id for it), plus legacy first-argument rules such as
``+select|0`` for commands without subcommands.  The rules are not stored as
text: like 7.0's ``ACLDescribeSelectorCommandRules``, the description is
recomputed from the set -- ``+@all`` or ``-@all``, then the categories
chosen by 7.0's best-fit loop (the one sharing most with what is still
unexplained while differing least), then the single commands that still
differ.  DIVERGENCE: Redis lists those single commands in its command
dict's (seeded, per-process random) hash order; omakase lists them in
command-table order.  Categories count only the commands omakase has.

The permission check runs only for clients whose user is restricted: a
client authenticated as a user with ``+@all ~* &*`` and one selector carries
no ``ACL_RESTRICTED`` flag, so the request path pays nothing (it already
branches once on ``c.flags``).  Every change to a user refreshes the flag of
the clients authenticated as that user.

Every denial (command, key, channel, failed AUTH) is an entry of the ACL log:
entries with the same reason, context, object and user within 60 seconds
are merged (``count`` grows), the log keeps ``acllog-max-len`` entries.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Any, Iterable

from omakase.commands.registry import AclCat, CmdFlag, Command
from omakase.config import stringmatch

ACL_RESTRICTED = 1 << 44          # a client flag (not Redis's): its user is restricted

PERM_READ = 1
PERM_WRITE = 2
PERM_ALL = 3

DENIED_CMD = 1
DENIED_KEY = 2
DENIED_AUTH = 3
DENIED_CHANNEL = 4
REASON_NAMES = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_AUTH: "auth",
                DENIED_CHANNEL: "channel"}
CONTEXT_TOPLEVEL = "toplevel"
CONTEXT_MULTI = "multi"
CONTEXT_LUA = "lua"
LOG_GROUPING_MS = 60000

CATEGORIES = [(m.name.lower(), m) for m in AclCat]
CATEGORY_BY_NAME = dict(CATEGORIES)

USER_FLAG_ORDER = ("on", "off", "nopass", "skip-sanitize-payload", "sanitize-payload")

ERR_UNKNOWN = "Unknown command or category name in ACL"
ERR_SYNTAX = "Syntax error"
ERR_KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid "
                      "and does not have any effect. Try 'resetkeys' to start with an empty list "
                      "of patterns")
ERR_CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not "
                          "valid and does not have any effect. Try 'resetchannels' to start with "
                          "an empty list of channels")
ERR_NO_PASSWORD = "The password you are trying to remove from the user does not exist"
ERR_BAD_HASH = ("The password hash must be exactly 64 characters and contain only lowercase "
                "hexadecimal characters")
ERR_DUPLICATE = "Duplicate user found. A user can only be defined once in config files"


class AclError(Exception):
    """A rule that cannot be applied; the message is Redis's text."""


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def _valid_hash(h: str) -> bool:
    return len(h) == 64 and all(ch in "0123456789abcdef" for ch in h)


# ---------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------
class Selector:
    __slots__ = ("root", "future", "allcommands", "allowed", "first_args",
                 "allkeys", "keys", "allchannels", "channels", "acl")

    def __init__(self, acl: "Acl", root: bool = False) -> None:
        self.acl = acl
        self.root = root
        self.future = False          # the reserved "future commands" bit of +@all
        self.allcommands = False     # SELECTOR_FLAG_ALLCOMMANDS: skip the bit test
        self.allowed: set[Command] = set()
        self.first_args: dict[Command, list[bytes]] = {}
        self.allkeys = False
        self.keys: list[tuple[int, bytes]] = []       # (PERM_* flags, pattern)
        self.allchannels = False
        self.channels: list[bytes] = []

    def copy(self) -> "Selector":
        s = Selector(self.acl, self.root)
        s.future, s.allcommands = self.future, self.allcommands
        s.allowed = set(self.allowed)
        s.first_args = {k: list(v) for k, v in self.first_args.items()}
        s.allkeys, s.keys = self.allkeys, list(self.keys)
        s.allchannels, s.channels = self.allchannels, list(self.channels)
        return s

    # -- changing ------------------------------------------------------------
    def _change(self, cmd: Command, allow: bool) -> None:
        """ACLChangeSelectorPerm: a container and all its subcommands."""
        for c in (cmd, *(cmd.subcommands.values() if cmd.subcommands else ())):
            if allow:
                self.allowed.add(c)
            else:
                self.allowed.discard(c)
            self.first_args.pop(c, None)

    def _change_category(self, cat: AclCat, allow: bool) -> None:
        for cmd in self.acl.top_commands():
            if cmd.acl_categories & cat:
                self._change(cmd, allow)
            for sub in (cmd.subcommands or {}).values():
                if sub.acl_categories & cat:
                    self._change(sub, allow)

    def apply(self, op: str) -> None:
        """ACLSetSelector: one rule; raises AclError."""
        low = op.lower()
        if low in ("allkeys", "~*"):
            self.allkeys = True
            self.keys = []
        elif low == "resetkeys":
            self.allkeys = False
            self.keys = []
        elif low in ("allchannels", "&*"):
            self.allchannels = True
            self.channels = []
        elif low == "resetchannels":
            self.allchannels = False
            self.channels = []
        elif low in ("allcommands", "+@all"):
            self.future = self.allcommands = True
            self.allowed = set(self.acl.every_command())
            self.first_args = {}
        elif low in ("nocommands", "-@all"):
            self.future = self.allcommands = False
            self.allowed = set()
            self.first_args = {}
        elif op[:1] in ("~", "%"):
            self._add_key_pattern(op)
        elif op[:1] == "&":
            if self.allchannels:
                raise AclError(ERR_CHANNELS_AFTER_ALL)
            pat = op[1:].encode("utf-8", "surrogateescape")
            if pat not in self.channels:
                self.channels.append(pat)
        elif op[:2] in ("+@", "-@"):
            cat = CATEGORY_BY_NAME.get(low[2:])
            if cat is None:
                raise AclError(ERR_UNKNOWN)
            self._change_category(cat, op[0] == "+")
            if op[0] == "-":
                self.allcommands = False
        elif op[:1] in ("+", "-"):
            self._command_rule(op[1:], op[0] == "+")
        else:
            raise AclError(ERR_SYNTAX)

    def _add_key_pattern(self, op: str) -> None:
        if self.allkeys:
            raise AclError(ERR_KEYS_AFTER_ALL)
        if op[0] == "~":
            flags, offset = PERM_ALL, 1
        else:
            flags, offset = 0, 1
            while offset < len(op):
                ch = op[offset].upper()
                if ch == "R" and not flags & PERM_READ:
                    flags |= PERM_READ
                elif ch == "W" and not flags & PERM_WRITE:
                    flags |= PERM_WRITE
                elif op[offset] == "~":
                    offset += 1
                    break
                else:
                    raise AclError(ERR_SYNTAX)
                offset += 1
            if not flags:
                raise AclError(ERR_SYNTAX)
        pat = op[offset:].encode("utf-8", "surrogateescape")
        if flags == PERM_ALL and pat == b"*":
            self.allkeys = True
            self.keys = []
            return
        for i, (f, p) in enumerate(self.keys):
            if p == pat:
                self.keys[i] = (f | flags, p)
                return
        self.keys.append((flags, pat))

    def _command_rule(self, name: str, allow: bool) -> None:
        table = self.acl.server.commands
        if "|" not in name:
            cmd = table.lookup_by_fullname(name.lower())
            if cmd is None:
                raise AclError(ERR_UNKNOWN)
            self._change(cmd, allow)
            if not allow:
                self.allcommands = False
            return
        parent_name, _, sub = name.partition("|")
        parent = table.lookup_by_fullname(parent_name.lower())
        if parent is None:
            raise AclError(ERR_UNKNOWN)
        if not sub:
            raise AclError(ERR_SYNTAX)
        if parent.subcommands:
            cmd = table.lookup_by_fullname(name.lower())
            if cmd is None or "|" in sub:
                raise AclError(ERR_UNKNOWN)
            self._change(cmd, allow)
            if not allow:
                self.allcommands = False
            return
        # A legacy first-argument rule (+select|0) on a command without
        # subcommands: only allowing is supported.
        if "|" in sub:
            raise AclError(ERR_UNKNOWN)
        if not allow:
            raise AclError(ERR_UNKNOWN)
        if parent in self.allowed:
            return
        args = self.first_args.setdefault(parent, [])
        arg = sub.lower().encode("utf-8", "surrogateescape")
        if arg not in args:
            args.append(arg)

    # -- checking ------------------------------------------------------------
    def check(self, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
        """ACLSelectorCheckCmd: (0 or DENIED_*, argv position of the culprit)."""
        if (not self.allcommands and cmd not in self.allowed
                and not cmd.flags & CmdFlag.NO_AUTH):
            args = self.first_args.get(cmd)
            if not args or len(argv) < 2 or argv[1].lower() not in args:
                return DENIED_CMD, 0
        if not self.allkeys:
            from omakase.commands.introspection import get_keys
            for pos, flags in get_keys(cmd, argv):
                if not self.key_allowed(argv[pos], flags):
                    return DENIED_KEY, pos
        if not self.allchannels:
            for pos, is_pattern in command_channels(cmd, argv):
                if not self.channel_allowed(argv[pos], is_pattern):
                    return DENIED_CHANNEL, pos
        return 0, 0

    def key_allowed(self, key: bytes, spec_flags: Iterable[str]) -> bool:
        """ACLSelectorCheckKey."""
        if self.allkeys:
            return True
        need = 0
        if "ACCESS" in spec_flags:
            need |= PERM_READ
        if "INSERT" in spec_flags or "DELETE" in spec_flags or "UPDATE" in spec_flags:
            need |= PERM_WRITE
        for flags, pat in self.keys:
            if flags & need == need and stringmatch(pat, key, False):
                return True
        return False

    def channel_allowed(self, channel: bytes, is_pattern: bool) -> bool:
        """ACLCheckChannelAgainstList: a pattern must appear literally."""
        if self.allchannels:
            return True
        for pat in self.channels:
            if (pat == channel) if is_pattern else stringmatch(pat, channel, False):
                return True
        return False

    # -- describing ----------------------------------------------------------
    def describe_commands(self) -> str:
        """ACLDescribeSelectorCommandRules (7.0's recomputation)."""
        acl = self.acl
        fake = Selector(acl)
        if self.future:
            rules = ["+@all"]
            fake.apply("+@all")
            additive = False
        else:
            rules = ["-@all"]
            additive = True
        # The best-fit loop: repeatedly take the category sharing the most
        # with the user's set while differing the least; a temp copy of the
        # user's set loses (additive) or gains (subtractive) each category
        # taken, so later counts only see what is still unexplained.
        every = acl.every_command()
        temp = set(self.allowed)
        applied: set[str] = set()
        while True:
            best = None
            mindiff, maxsame = 1 << 62, 0
            for name, cat in CATEGORIES:
                if name in applied:
                    continue
                on = off = 0
                for cmd in every:
                    if cmd.acl_categories & cat:
                        if cmd in temp:
                            on += 1
                        else:
                            off += 1
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = (name, cat), diff, same
            if best is None:
                break
            name, cat = best
            fake.apply(("+@" if additive else "-@") + name)
            rules.append(("+@" if additive else "-@") + name)
            for cmd in every:
                if cmd.acl_categories & cat:
                    if additive:
                        temp.discard(cmd)
                    else:
                        temp.add(cmd)
            applied.add(name)
        for cmd in acl.top_commands():
            self._describe_single(cmd, fake, rules)
        return " ".join(rules)

    def _describe_single(self, cmd: Command, fake: "Selector", rules: list[str]) -> None:
        user_bit = cmd in self.allowed
        if user_bit != (cmd in fake.allowed):
            rules.append(("+" if user_bit else "-") + cmd.fullname)
            fake._change(cmd, user_bit)
        for sub in (cmd.subcommands or {}).values():
            self._describe_single(sub, fake, rules)
        if not user_bit:
            for arg in self.first_args.get(cmd, ()):
                rules.append(f"+{cmd.fullname}|{arg.decode('utf-8', 'surrogateescape')}")

    def describe_keys(self) -> str:
        if self.allkeys:
            return "~*"
        return " ".join(_pattern_string(f, p) for f, p in self.keys)

    def describe_channels(self) -> str:
        if self.allchannels:
            return "&*"
        return " ".join("&" + p.decode("utf-8", "surrogateescape") for p in self.channels)

    def describe(self) -> str:
        """ACLDescribeSelector: keys, channels, commands."""
        parts = []
        if self.allkeys:
            parts.append("~*")
        else:
            parts += [_pattern_string(f, p) for f, p in self.keys]
        if self.allchannels:
            parts.append("&*")
        else:
            parts.append("resetchannels")
            parts += ["&" + p.decode("utf-8", "surrogateescape") for p in self.channels]
        parts.append(self.describe_commands())
        return " ".join(parts)


def _pattern_string(flags: int, pat: bytes) -> str:
    text = pat.decode("utf-8", "surrogateescape")
    if flags == PERM_ALL:
        return "~" + text
    return ("%R~" if flags == PERM_READ else "%W~") + text


def command_channels(cmd: Command, argv: list[bytes]) -> list[tuple[int, bool]]:
    """getChannelsFromCommand, for the publish/subscribe kinds ACL checks."""
    name = cmd.fullname
    if name in ("subscribe", "ssubscribe"):
        return [(i, False) for i in range(1, len(argv))]
    if name == "psubscribe":
        return [(i, True) for i in range(1, len(argv))]
    if name in ("publish", "spublish") and len(argv) > 1:
        return [(1, False)]
    return []


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------
class User:
    __slots__ = ("name", "enabled", "nopass", "sanitize", "passwords", "selectors",
                 "unrestricted")

    def __init__(self, acl: "Acl", name: str) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize: str | None = None     # "sanitize-payload" / "skip-sanitize-payload"
        self.passwords: list[str] = []
        root = Selector(acl, root=True)
        if acl.server.config.acl_pubsub_default == "allchannels":
            root.allchannels = True
        self.selectors = [root]
        self.unrestricted = False

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy(self, acl: "Acl") -> "User":
        u = User.__new__(User)
        u.name, u.enabled, u.nopass, u.sanitize = self.name, self.enabled, self.nopass, self.sanitize
        u.passwords = list(self.passwords)
        u.selectors = [s.copy() for s in self.selectors]
        u.unrestricted = self.unrestricted
        return u

    def flag_names(self) -> list[str]:
        names = ["on" if self.enabled else "off"]
        if self.nopass:
            names.append("nopass")
        if self.sanitize:
            names.append(self.sanitize)
        return names

    def apply(self, acl: "Acl", op: str) -> None:
        """ACLSetUser: one rule (selectors arrive as one "(...)" op)."""
        low = op.lower()
        if low == "on":
            self.enabled = True
        elif low == "off":
            self.enabled = False
        elif low in ("skip-sanitize-payload", "sanitize-payload"):
            self.sanitize = low
        elif low == "nopass":
            self.nopass = True
            self.passwords = []
        elif low == "resetpass":
            self.nopass = False
            self.passwords = []
        elif op[:1] in (">", "#"):
            h = hash_password(op[1:].encode("utf-8", "surrogateescape")) if op[0] == ">" else op[1:]
            if op[0] == "#" and not _valid_hash(h):
                raise AclError(ERR_BAD_HASH)
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif op[:1] in ("<", "!"):
            h = hash_password(op[1:].encode("utf-8", "surrogateescape")) if op[0] == "<" else op[1:]
            if op[0] == "!" and not _valid_hash(h):
                raise AclError(ERR_BAD_HASH)
            if h not in self.passwords:
                raise AclError(ERR_NO_PASSWORD)
            self.passwords.remove(h)
            self.nopass = False
        elif op[:1] == "(" and op[-1:] == ")":
            sel = Selector(acl)
            if acl.server.config.acl_pubsub_default == "allchannels":
                sel.allchannels = True
            for part in op[1:-1].split():
                sel.apply(part)
            self.selectors.append(sel)
        elif low == "clearselectors":
            del self.selectors[1:]
        elif low == "reset":
            for step in ("resetpass", "resetkeys", "resetchannels"):
                self.apply(acl, step)
            if acl.server.config.acl_pubsub_default == "allchannels":
                self.apply(acl, "allchannels")
            for step in ("off", "sanitize-payload", "clearselectors", "-@all"):
                self.apply(acl, step)
        else:
            self.root.apply(op)
        self.refresh()

    def refresh(self) -> None:
        root = self.root
        self.unrestricted = (len(self.selectors) == 1 and root.allcommands and root.allkeys
                             and root.allchannels)

    def describe(self) -> str:
        """ACLDescribeUser: the ACL LIST / aclfile line after 'user <name> '."""
        parts = [n for n in USER_FLAG_ORDER if n in self.flag_names()]
        parts += ["#" + h for h in self.passwords]
        parts.append(self.root.describe())
        text = " ".join(parts)
        for sel in self.selectors[1:]:
            text += f" ({sel.describe()})"
        return text

    def check(self, cmd: Command, argv: list[bytes]) -> tuple[int, int]:
        """ACLCheckAllUserCommandPerm: 0 when any selector allows it all,
        else the most relevant denial (cmd < key < channel, last position)."""
        worst, worst_pos = DENIED_CMD, 0
        for sel in self.selectors:
            reason, pos = sel.check(cmd, argv)
            if reason == 0:
                return 0, 0
            if reason > worst or (reason == worst and pos > worst_pos):
                worst, worst_pos = reason, pos
        return worst, worst_pos


def split_rules(args: list[str]) -> list[str]:
    """ACLMergeSelectorArguments: join "(" ... ")" groups into one op."""
    out: list[str] = []
    group: list[str] | None = None
    for arg in args:
        if group is not None:
            group.append(arg)
            if arg.endswith(")"):
                out.append(" ".join(group))
                group = None
        elif arg.startswith("(") and not arg.endswith(")"):
            group = [arg]
        else:
            out.append(arg)
    if group is not None:
        raise AclError(f"Unmatched parenthesis in acl selector starting at '{group[0]}'.")
    return out


# ---------------------------------------------------------------------------
# The ACL log
# ---------------------------------------------------------------------------
class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "cinfo")

    def __init__(self, reason: int, context: str, obj: bytes, username: bytes,
                 cinfo: str) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.object = obj
        self.username = username
        self.ctime = int(time.time() * 1000)
        self.cinfo = cinfo


# ---------------------------------------------------------------------------
# The ACL state of a server
# ---------------------------------------------------------------------------
class Acl:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.users: dict[str, User] = {}
        self.log: list[LogEntry] = []          # newest first
        self.default = self.create_default_user()
        if server.config.requirepass:
            self.update_default_password(server.config.requirepass)

    # -- the command universe (containers and subcommands) --------------------
    def top_commands(self) -> Iterable[Command]:
        return self.server.commands.commands.values()

    def every_command(self) -> list[Command]:
        return list(self.server.commands.all_commands())

    # -- users ----------------------------------------------------------------
    def create_default_user(self) -> User:
        u = User(self, "default")
        for op in ("+@all", "~*", "&*", "on", "nopass"):
            u.apply(self, op)
        self.users["default"] = u
        return u

    def set_user(self, name: str, ops: list[str]) -> None:
        """ACL SETUSER: all rules or none (raises AclError)."""
        ops = split_rules(ops)
        existing = self.users.get(name)
        user = existing.copy(self) if existing is not None else User(self, name)
        for op in ops:
            try:
                user.apply(self, op)
            except AclError as exc:
                if str(exc).startswith("Unmatched"):
                    raise
                raise AclError(f"Error in ACL SETUSER modifier '{op}': {exc}") from None
        self.users[name] = user
        if name == "default":
            self.default = user
        self.refresh_clients(name)

    def delete_user(self, name: str) -> bool:
        if self.users.pop(name, None) is None:
            return False
        self.kill_clients_of(name)
        return True

    def refresh_clients(self, name: str | None = None) -> None:
        """Recompute every client's ACL_RESTRICTED flag (after a change)."""
        for c in self.server.clients.values():
            if name is None or c.user == name:
                self.set_client_user(c, self.users.get(c.user))

    def set_client_user(self, c: Any, user: User | None) -> None:
        if user is None or user.unrestricted:
            c.flags &= ~ACL_RESTRICTED
        else:
            c.flags |= ACL_RESTRICTED

    def kill_clients_of(self, name: str) -> None:
        for c in list(self.server.clients.values()):
            if c.user == name:
                self.server.free_client_async(c)

    # -- authentication -------------------------------------------------------
    def check_password(self, username: str, password: bytes) -> User | None:
        u = self.users.get(username)
        if u is None or not u.enabled:
            return None
        if u.nopass:
            return u
        h = hash_password(password)
        ok = False
        for stored in u.passwords:
            ok |= hmac.compare_digest(stored, h)
        return u if ok else None

    def auth_required(self) -> bool:
        d = self.default
        return not d.nopass or not d.enabled

    def update_default_password(self, password: str | None) -> None:
        """ACLUpdateDefaultUserPassword: requirepass drives the default user."""
        d = self.default
        d.apply(self, "resetpass")
        if password:
            d.apply(self, ">" + password)
        else:
            d.apply(self, "nopass")
        self.refresh_clients("default")

    # -- the log ----------------------------------------------------------------
    def add_log_entry(self, c: Any, reason: int, context: str, obj: bytes,
                      username: bytes | None = None) -> None:
        """addACLLogEntry."""
        from omakase.commands.client import client_info_string
        if username is None:
            username = c.user.encode()
        entry = LogEntry(reason, context, obj, username, client_info_string(self.server, c))
        for i, old in enumerate(self.log):
            if (old.reason == reason and old.context == context and old.object == obj
                    and old.username == username
                    and entry.ctime - old.ctime <= LOG_GROUPING_MS):
                old.cinfo = entry.cinfo
                old.ctime = entry.ctime
                old.count += 1
                if i:
                    del self.log[i]
                    self.log.insert(0, old)
                return
        self.log.insert(0, entry)
        limit = self.server.config.acllog_max_len
        del self.log[limit:]

    # -- the permission check of the request path ------------------------------
    def deny_reason(self, c: Any, cmd: Command, argv: list[bytes],
                    context: str) -> str | None:
        """ACLCheckAllPerm + logging: the NOPERM text, or None if allowed."""
        user = self.users.get(c.user)
        if user is None or user.unrestricted:
            return None
        reason, pos = user.check(cmd, argv)
        if reason == 0:
            return None
        obj = cmd.fullname.encode() if reason == DENIED_CMD else argv[pos]
        c.cmd = cmd               # Redis's c->cmd is the rejected command here
        self.add_log_entry(c, reason, context, obj)
        return noperm_message(reason, cmd)

    # -- files ----------------------------------------------------------------
    def load_users_at_startup(self) -> str | None:
        """ACLLoadUsersAtStartup: "user" lines of redis.conf or aclfile; an
        error message (the server refuses to start) or None."""
        cfg = self.server.config
        if cfg.users and cfg.aclfile:
            return ("Configuring Redis with users defined in redis.conf and at the same "
                    "setting an ACL file path is invalid. This setup is very likely to lead "
                    "to configuration errors and security holes, please define either an "
                    "ACL file or declare users directly in your redis.conf, but not both.")
        try:
            if cfg.aclfile:
                from omakase.commands.acl_cmds import read_acl_file
                users = read_acl_file(self.server, cfg.aclfile)
            elif cfg.users:
                users = self.load_lines([(0, ["user", *words]) for words in cfg.users],
                                        "redis.conf")
            else:
                return None
        except AclError as exc:
            return str(exc)
        self.replace_users(users)
        return None

    def lines(self) -> list[str]:
        return [f"user {name} {self.users[name].describe()}" for name in sorted(self.users)]

    def load_lines(self, lines: Iterable[tuple[int, list[str]]], origin: str) -> dict[str, User]:
        """Build users from "user" lines without touching the live set."""
        users: dict[str, User] = {}
        saved, self.users = self.users, users
        try:
            for lineno, words in lines:
                if len(words) < 2 or words[0] != "user":
                    raise AclError(f"{origin}:{lineno}: line should start with user keyword")
                name = words[1]
                if name in users:
                    raise AclError(f"{origin}:{lineno}: {ERR_DUPLICATE}")
                user = User(self, name)
                try:
                    for op in split_rules(words[2:]):
                        user.apply(self, op)
                except AclError as exc:
                    raise AclError(f"{origin}:{lineno}: {exc}. ") from None
                users[name] = user
        finally:
            self.users = saved
        return users

    def replace_users(self, users: dict[str, User]) -> None:
        old = set(self.users)
        if "default" not in users:
            self.users = users
            self.create_default_user()
        self.users = users
        self.default = users["default"]
        for name in old - set(users):
            self.kill_clients_of(name)
        self.refresh_clients()


def noperm_message(reason: int, cmd: Command) -> str:
    if reason == DENIED_CMD:
        return f"-NOPERM this user has no permissions to run the '{cmd.fullname}' command"
    if reason == DENIED_KEY:
        return "-NOPERM this user has no permissions to access one of the keys used as arguments"
    return ("-NOPERM this user has no permissions to access one of the channels used as "
            "arguments")


def genpass(bits: int) -> str:
    nchars = (bits + 3) // 4
    return os.urandom((nchars + 1) // 2).hex()[:nchars]
