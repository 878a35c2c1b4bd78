"""COMMAND and its subcommands: the command table described to clients.

Mirrors ``commandCommand`` and friends in Redis's ``server.c`` and the key
extraction of ``db.c`` (``getKeysUsingKeySpecs``, ``getKeysFromCommandWithSpecs``
and the native ``*GetKeys`` procs).

Commands are data
-----------------
Everything COMMAND INFO and COMMAND DOCS say comes from the spec each command
was built from (``Command.spec``, i.e. Redis 7.0's ``src/commands/*.json``
folded into ``redis_commands.json``); nothing here is written per command.
Only commands that have a handler exist in the table, so COMMAND COUNT, LIST,
INFO and DOCS describe exactly what this server can run.

The reply shapes are Redis's, byte for byte (``tests/differential/
test_command_diff.py`` compares them with redis-server 7.0.15, RESP2 and RESP3):

* INFO: ``[name, arity, flags (set of status), first, last, step,
  categories (set of status), tips (set), key specs (set of maps),
  subcommands (array)]``.  Flags are listed in ``addReplyFlagsForCommand``'s
  order; MAY_REPLICATE, SENTINEL, ONLY_SENTINEL, PROTECTED and
  TOUCHES_ARBITRARY_KEYS are hidden as in Redis.  first/last/step are the
  "legacy range" Redis derives from the key specs
  (``populateCommandLegacyRangeSpec``), and ``movablekeys`` is set exactly
  where that function sets it (a spec that is not index+range, a range that is
  not plain or not consecutive, an incomplete spec).  This module computes
  ``movablekeys`` itself rather than trusting ``Command.flags``.
* DOCS: a map per command (summary, since, group, complexity, doc_flags,
  deprecated_since, replaced_by, history, arguments, subcommands) with the
  argument maps of ``addReplyCommandArgList`` (name, type, key_spec_index,
  token, summary, since, deprecated_since, flags, arguments).  Redis 7.0 has no
  ``display_text``; that came with 7.2.  Argument names are lower-cased and
  tokens upper-cased, as Redis's ``generate-command-code.py`` does when it
  compiles the JSON into ``commands.c``.

Key extraction
--------------
``get_keys(server, cmd, argv)`` returns ``[(position, key_spec_flags), ...]``
the way ``getKeysFromCommandWithSpecs`` does: key specs first when they are
reliable (some spec is a real key and none has VARIABLE_FLAGS), falling back to
the command's getkeys proc when a spec is unknown or incomplete.  A getkeys
proc is, in order: one a command module registered with
``@command(name, getkeys=proc)`` (``registry.GETKEYS_PROCS``), else the
native proc named by the spec's ``get_keys_function`` (implemented below, as
in ``db.c``).  A proc is called as ``proc(cmd, argv)`` and returns a list of
``(position, flags)`` pairs (``flags`` a tuple of key-spec flag names such as
``("RW", "ACCESS")``, empty when it cannot tell) or plain positions.

DIVERGENCE: the order in which COMMAND, COMMAND LIST, COMMAND INFO (no args),
COMMAND DOCS (no args) and the subcommands of a container are listed is the
table's (sorted by name); Redis lists them in its dict's hash order, which is
randomised per process, so clients cannot depend on it.
"""
from __future__ import annotations

from typing import Any, Callable

from omakase import replies
from omakase.commands.registry import GETKEYS_PROCS, AclCat, CmdFlag, Command, command
from omakase.util import glob_match, parse_ll

# --------------------------------------------------------------------------
# Names and orders of the wire vocabulary (server.c)
# --------------------------------------------------------------------------
# addReplyFlagsForCommand: reply order; flags not listed are hidden.
COMMAND_FLAG_NAMES: tuple[tuple[CmdFlag, bytes], ...] = (
    (CmdFlag.WRITE, b"write"),
    (CmdFlag.READONLY, b"readonly"),
    (CmdFlag.DENYOOM, b"denyoom"),
    (CmdFlag.MODULE, b"module"),
    (CmdFlag.ADMIN, b"admin"),
    (CmdFlag.PUBSUB, b"pubsub"),
    (CmdFlag.NOSCRIPT, b"noscript"),
    (CmdFlag.BLOCKING, b"blocking"),
    (CmdFlag.LOADING, b"loading"),
    (CmdFlag.STALE, b"stale"),
    (CmdFlag.SKIP_MONITOR, b"skip_monitor"),
    (CmdFlag.SKIP_SLOWLOG, b"skip_slowlog"),
    (CmdFlag.ASKING, b"asking"),
    (CmdFlag.FAST, b"fast"),
    (CmdFlag.NO_AUTH, b"no_auth"),
    (CmdFlag.NO_MANDATORY_KEYS, b"no_mandatory_keys"),
    (CmdFlag.NO_ASYNC_LOADING, b"no_async_loading"),
    (CmdFlag.NO_MULTI, b"no_multi"),
    (CmdFlag.MOVABLE_KEYS, b"movablekeys"),
    (CmdFlag.ALLOW_BUSY, b"allow_busy"),
)

# addReplyFlagsForKeyArgs: spec flag name (as in the JSON) -> reply spelling.
KEY_FLAG_NAMES: tuple[tuple[str, bytes], ...] = (
    ("RO", b"RO"), ("RW", b"RW"), ("OW", b"OW"), ("RM", b"RM"),
    ("ACCESS", b"access"), ("UPDATE", b"update"), ("INSERT", b"insert"),
    ("DELETE", b"delete"), ("NOT_KEY", b"not_key"), ("INCOMPLETE", b"incomplete"),
    ("VARIABLE_FLAGS", b"variable_flags"),
)
_KEY_FLAG_ORDER = {name: i for i, (name, _) in enumerate(KEY_FLAG_NAMES)}
_KEY_FLAG_REPLY = dict(KEY_FLAG_NAMES)

DOC_FLAG_NAMES: tuple[tuple[str, bytes], ...] = (("DEPRECATED", b"deprecated"),
                                                 ("SYSCMD", b"syscmd"))
ARG_FLAG_NAMES: tuple[tuple[str, bytes], ...] = (("optional", b"optional"),
                                                 ("multiple", b"multiple"),
                                                 ("multiple_token", b"multiple_token"))

# COMMAND_GROUP_STR: the JSON's group names -> the reply's.
GROUP_NAMES = {"sorted_set": b"sorted-set"}

ACL_CATEGORY_NAMES: tuple[tuple[AclCat, bytes], ...] = tuple(
    (cat, b"@" + cat.name.lower().encode()) for cat in AclCat)

# Plain ints for the reply loops (IntFlag arithmetic costs ~1 us per operation).
_FLAG_BITS = tuple((int(flag), name) for flag, name in COMMAND_FLAG_NAMES)
_CAT_BITS = tuple((int(cat), name) for cat, name in ACL_CATEGORY_NAMES)
_MOVABLE = int(CmdFlag.MOVABLE_KEYS)

COMMAND_HELP = [
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
]


# --------------------------------------------------------------------------
# Legacy range and movablekeys (populateCommandLegacyRangeSpec)
# --------------------------------------------------------------------------
def _u32(n: int) -> int:
    return n & 0xFFFFFFFF


def legacy_range(cmd: Command) -> tuple[int, int, int, bool]:
    """(first_key, last_key, step, movablekeys) as COMMAND INFO reports them."""
    specs = cmd.key_specs
    if not specs:
        return 0, 0, 0, False
    if (len(specs) == 1 and "index" in specs[0]["begin_search"]
            and "range" in specs[0]["find_keys"]):
        rng = specs[0]["find_keys"]["range"]
        first = specs[0]["begin_search"]["index"]["pos"]
        last = rng["lastkey"]
        if last >= 0:
            last += first
        return first, last, rng["step"], "INCOMPLETE" in specs[0]["flags"]
    movable = False
    firstkey = None
    lastkey = 0
    prev_lastkey = 0
    for ks in specs:
        bs, fk = ks["begin_search"], ks["find_keys"]
        if "index" not in bs or "range" not in fk:
            movable = True
            continue
        pos = bs["index"]["pos"]
        rng = fk["range"]
        if rng["step"] != 1 or (prev_lastkey and prev_lastkey != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in ks["flags"]:
            movable = True
        firstkey = pos if firstkey is None else min(firstkey, pos)
        abs_last = rng["lastkey"]
        if abs_last >= 0:
            abs_last += pos
        # Redis compares as unsigned, so a negative (relative-to-end) last
        # key wins over any positive one.
        if _u32(abs_last) > _u32(lastkey):
            lastkey = abs_last
        prev_lastkey = lastkey
    if firstkey is None:
        return 0, 0, 0, True
    # The legacy spec stores lastkey relative to firstkey; COMMAND INFO adds
    # firstkey back, so a non-negative lastkey comes out absolute.
    return firstkey, lastkey, 1, movable


def command_flags(cmd: Command) -> CmdFlag:
    """The command's flags with MOVABLE_KEYS as Redis derives it."""
    flags = cmd.flags & ~CmdFlag.MOVABLE_KEYS
    if legacy_range(cmd)[3]:
        flags |= CmdFlag.MOVABLE_KEYS
    return flags


# --------------------------------------------------------------------------
# Lookup by full name (lookupCommandBySds)
# --------------------------------------------------------------------------
def lookup_by_fullname(server: Any, name: bytes) -> Command | None:
    """'get' or 'config|get', case-insensitive; one level of subcommands."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    base = server.commands.commands.get(parts[0].decode("latin-1"))
    if base is None:
        return None
    if len(parts) == 1:
        return base
    if base.subcommands is None:
        return None
    return base.subcommands.get(parts[1])


# --------------------------------------------------------------------------
# COMMAND INFO replies
# --------------------------------------------------------------------------
def _reply_status_set(c: Any, names: list[bytes]) -> None:
    c.add_reply_set_len(len(names))
    for n in names:
        c.add_reply(b"+%b\r\n" % n)


def _key_flags_reply(c: Any, flags) -> None:
    names = sorted((f for f in flags if f in _KEY_FLAG_ORDER), key=_KEY_FLAG_ORDER.__getitem__)
    _reply_status_set(c, [_KEY_FLAG_REPLY[f] for f in names])


def reply_key_specs(c: Any, cmd: Command) -> None:
    """addReplyCommandKeySpecs."""
    specs = cmd.key_specs
    c.add_reply_set_len(len(specs))
    bulk = c.add_reply_bulk
    for ks in specs:
        notes = ks.get("notes")
        c.add_reply_map_len(4 if notes else 3)
        if notes:
            bulk(b"notes")
            bulk(notes.encode())
        bulk(b"flags")
        _key_flags_reply(c, ks["flags"])
        bulk(b"begin_search")
        bs = ks["begin_search"]
        c.add_reply_map_len(2)
        bulk(b"type")
        if "index" in bs:
            bulk(b"index")
            bulk(b"spec")
            c.add_reply_map_len(1)
            bulk(b"index")
            c.add_reply_int(bs["index"]["pos"])
        elif "keyword" in bs:
            bulk(b"keyword")
            bulk(b"spec")
            c.add_reply_map_len(2)
            bulk(b"keyword")
            bulk(bs["keyword"]["keyword"].encode())
            bulk(b"startfrom")
            c.add_reply_int(bs["keyword"]["startfrom"])
        else:
            bulk(b"unknown")
            bulk(b"spec")
            c.add_reply_map_len(0)
        bulk(b"find_keys")
        fk = ks["find_keys"]
        c.add_reply_map_len(2)
        bulk(b"type")
        if "range" in fk:
            rng = fk["range"]
            bulk(b"range")
            bulk(b"spec")
            c.add_reply_map_len(3)
            bulk(b"lastkey")
            c.add_reply_int(rng["lastkey"])
            bulk(b"keystep")
            c.add_reply_int(rng["step"])
            bulk(b"limit")
            c.add_reply_int(rng["limit"])
        elif "keynum" in fk:
            kn = fk["keynum"]
            bulk(b"keynum")
            bulk(b"spec")
            c.add_reply_map_len(3)
            bulk(b"keynumidx")
            c.add_reply_int(kn["keynumidx"])
            bulk(b"firstkey")
            c.add_reply_int(kn["firstkey"])
            bulk(b"keystep")
            c.add_reply_int(kn["step"])
        else:
            bulk(b"unknown")
            bulk(b"spec")
            c.add_reply_map_len(0)


def reply_command_info(c: Any, cmd: Command | None) -> None:
    """addReplyCommandInfo (a null for an unknown name)."""
    if cmd is None:
        c.add_reply_null()
        return
    first, last, step, movable = legacy_range(cmd)
    flags = int(cmd.flags) & ~_MOVABLE
    if movable:
        flags |= _MOVABLE
    c.add_reply_array_len(10)
    c.add_reply_bulk(cmd.fullname.encode())
    c.add_reply_int(cmd.arity)
    _reply_status_set(c, [name for bit, name in _FLAG_BITS if flags & bit])
    c.add_reply_int(first)
    c.add_reply_int(last)
    c.add_reply_int(step)
    cats = int(cmd.acl_categories)
    _reply_status_set(c, [name for bit, name in _CAT_BITS if cats & bit])
    tips = cmd.spec.get("command_tips", ())
    c.add_reply_set_len(len(tips))
    for tip in tips:
        c.add_reply_bulk(tip.lower().encode())
    reply_key_specs(c, cmd)
    subs = cmd.subcommands
    if subs is None:
        c.add_reply_set_len(0)
    else:
        c.add_reply_array_len(len(subs))
        for sub in subs.values():
            reply_command_info(c, sub)


# --------------------------------------------------------------------------
# COMMAND DOCS replies
# --------------------------------------------------------------------------
def _token(token: str) -> bytes:
    """A token as Redis's generate-command-code.py compiles it: upper-cased,
    and written into a C string literal, so the JSON's '""' (MIGRATE's empty
    key) becomes the empty string."""
    return token.upper().replace('"', "").encode()


def _reply_args(c: Any, args: list[dict]) -> None:
    """addReplyCommandArgList."""
    bulk = c.add_reply_bulk
    c.add_reply_array_len(len(args))
    for arg in args:
        typ = arg["type"]
        flags = [name for key, name in ARG_FLAG_NAMES if arg.get(key)]
        nested = typ in ("oneof", "block")
        n = 2
        n += "key_spec_index" in arg
        n += "token" in arg
        n += "summary" in arg
        n += "since" in arg
        n += "deprecated_since" in arg
        n += bool(flags)
        n += nested
        c.add_reply_map_len(n)
        bulk(b"name")
        bulk(arg["name"].lower().encode())
        bulk(b"type")
        bulk(typ.encode())
        if "key_spec_index" in arg:
            bulk(b"key_spec_index")
            c.add_reply_int(arg["key_spec_index"])
        if "token" in arg:
            bulk(b"token")
            bulk(_token(arg["token"]))
        for field in ("summary", "since", "deprecated_since"):
            if field in arg:
                bulk(field.encode())
                bulk(arg[field].encode())
        if flags:
            bulk(b"flags")
            _reply_status_set(c, flags)
        if nested:
            bulk(b"arguments")
            _reply_args(c, arg.get("arguments", []))


def reply_command_docs(c: Any, cmd: Command) -> None:
    """addReplyCommandDocs."""
    spec = cmd.spec
    bulk = c.add_reply_bulk
    doc_flags = spec.get("doc_flags") or ()
    history = spec.get("history") or ()
    args = spec.get("arguments") or ()
    n = 3
    n += "complexity" in spec
    n += bool(doc_flags)
    n += bool(spec.get("deprecated_since"))
    n += bool(spec.get("replaced_by"))
    n += bool(history)
    n += bool(args)
    n += cmd.subcommands is not None
    c.add_reply_map_len(n)
    bulk(b"summary")
    bulk(spec["summary"].encode())
    bulk(b"since")
    bulk(spec["since"].encode())
    bulk(b"group")
    group = spec["group"]
    bulk(GROUP_NAMES.get(group, group.encode()))
    if "complexity" in spec:
        bulk(b"complexity")
        bulk(spec["complexity"].encode())
    if doc_flags:
        bulk(b"doc_flags")
        _reply_status_set(c, [name for key, name in DOC_FLAG_NAMES if key in doc_flags])
    for field in ("deprecated_since", "replaced_by"):
        if spec.get(field):
            bulk(field.encode())
            bulk(spec[field].encode())
    if history:
        bulk(b"history")
        c.add_reply_set_len(len(history))
        for since, changes in history:
            c.add_reply_array_len(2)
            bulk(since.encode())
            bulk(changes.encode())
    if args:
        bulk(b"arguments")
        _reply_args(c, args)
    if cmd.subcommands is not None:
        bulk(b"subcommands")
        c.add_reply_map_len(len(cmd.subcommands))
        for sub in cmd.subcommands.values():
            bulk(sub.fullname.encode())
            reply_command_docs(c, sub)


# --------------------------------------------------------------------------
# Key extraction (db.c)
# --------------------------------------------------------------------------
KeyRef = tuple[int, tuple[str, ...]]


def _strcasecmp_eq(a: bytes, b: str) -> bool:
    return a.lower() == b.lower().encode()


def get_keys_using_specs(cmd: Command, argv: list[bytes], include_not_keys: bool = False,
                         partial: bool = False) -> list[KeyRef] | None:
    """getKeysUsingKeySpecs: key positions and flags, None on an invalid or
    incomplete spec (unless ``partial``)."""
    argc = len(argv)
    out: list[KeyRef] = []
    for ks in cmd.key_specs:
        flags = tuple(ks["flags"])
        if "NOT_KEY" in flags and not include_not_keys:
            continue
        bs, fk = ks["begin_search"], ks["find_keys"]
        valid = True
        first = 0
        if "index" in bs:
            first = bs["index"]["pos"]
        elif "keyword" in bs:
            keyword = bs["keyword"]["keyword"].lower().encode()
            startfrom = bs["keyword"]["startfrom"]
            start = startfrom if startfrom > 0 else argc + startfrom
            end = argc - 1 if startfrom > 0 else 1
            i = start
            while i != end:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == keyword:
                    first = i + 1
                    break
                i = i + 1 if start <= end else i - 1
            if not first:
                continue
        else:
            valid = False
        if valid:
            if "range" in fk:
                rng = fk["range"]
                step = rng["step"]
                if rng["lastkey"] >= 0:
                    last = first + rng["lastkey"]
                elif not rng["limit"]:
                    last = argc + rng["lastkey"]
                else:
                    last = first + ((argc - first) // rng["limit"] + rng["lastkey"])
            elif "keynum" in fk:
                kn = fk["keynum"]
                step = kn["step"]
                if kn["keynumidx"] >= argc or first + kn["keynumidx"] >= argc:
                    valid = False
                else:
                    ok, numkeys = parse_ll(argv[first + kn["keynumidx"]])
                    if not ok or numkeys < 0:
                        valid = False
                    else:
                        first += kn["firstkey"]
                        last = first + numkeys - 1
            else:
                valid = False
        if valid and (last >= argc or last < first or first >= argc):
            valid = False
        if valid:
            i = first
            while i <= last:
                if i >= argc or i < first:
                    # Variable-arity commands check their arguments later.
                    i += step
                    continue
                out.append((i, flags))
                i += step
            if "INCOMPLETE" in flags:
                valid = False
        if not valid:
            if partial:
                continue
            return None
    return out


def getkeys_proc_for(cmd: Command) -> Callable | None:
    proc = cmd.getkeys_proc or GETKEYS_PROCS.get(cmd.fullname)
    if proc is None:
        proc = NATIVE_GETKEYS.get(cmd.spec.get("get_keys_function", ""))
    return proc


def _all_spec_flags(cmd: Command) -> set[str]:
    out: set[str] = set()
    for ks in cmd.key_specs:
        out.update(ks["flags"])
    return out


def _some_spec_is_key(cmd: Command) -> bool:
    return any("NOT_KEY" not in ks["flags"] for ks in cmd.key_specs)


def does_command_have_keys(cmd: Command) -> bool:
    """doesCommandHaveKeys."""
    return getkeys_proc_for(cmd) is not None or _some_spec_is_key(cmd)


def get_keys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    """getKeysFromCommandWithSpecs: [(position, flags)], [] when none/invalid."""
    if _some_spec_is_key(cmd) and "VARIABLE_FLAGS" not in _all_spec_flags(cmd):
        keys = get_keys_using_specs(cmd, argv)
        if keys is not None:
            return keys
    proc = getkeys_proc_for(cmd)
    if proc is None:
        return []
    out: list[KeyRef] = []
    for ref in proc(cmd, argv):
        out.append((ref, ()) if isinstance(ref, int) else (ref[0], tuple(ref[1])))
    return out


# The native getkeys procs of db.c.  Flags are given only where Redis gives
# them (procs for commands whose specs are incomplete or have VARIABLE_FLAGS).
def _generic_getkeys(store: int, count_at: int, first: int, step: int,
                     argv: list[bytes]) -> list[KeyRef]:
    num = _atoi(argv[count_at]) if count_at < len(argv) else 0
    if num < 1 or num > (len(argv) - first) // step:
        return []
    keys = [(first + i * step, ()) for i in range(num)]
    if store:
        keys.append((store, ()))
    return keys


def _atoi(b: bytes) -> int:
    """C atoi: leading spaces, optional sign, digits; 0 if none."""
    s = b.lstrip(b" \t\n\v\f\r")
    i = 0
    if s[:1] in (b"+", b"-"):
        i = 1
    j = i
    while j < len(s) and 48 <= s[j] <= 57:
        j += 1
    if j == i:
        return 0
    v = int(s[:j])
    return max(-(2**31), min(2**31 - 1, v))


def _sort_ro_getkeys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    return [(1, ("RO", "ACCESS"))]


def _sort_getkeys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    keys: list[KeyRef] = [(1, ("RO", "ACCESS"))]
    store = None
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    argc = len(argv)
    while i < argc:
        arg = argv[i].lower()
        if arg in skips:
            i += skips[arg]
        elif arg == b"store" and i + 1 < argc:
            store = i + 1
        i += 1
    if store is not None:
        keys.append((store, ("OW", "UPDATE")))
    return keys


def _migrate_getkeys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    first, num = 3, 1
    argc = len(argv)
    if argc > 6:
        skips = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}
        i = 6
        while i < argc:
            arg = argv[i].lower()
            if arg == b"keys":
                if argv[3]:
                    num = 0
                else:
                    first = i + 1
                    num = argc - first
                break
            i += skips.get(arg, 0) + 1
    return [(first + i, ("RW", "ACCESS", "DELETE")) for i in range(num)]


def _georadius_getkeys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    stored = -1
    i = 5
    while i < len(argv):
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < len(argv):
            stored = i + 1
            i += 1
        i += 1
    keys: list[KeyRef] = [(1, ())]
    if stored != -1:
        keys.append((stored, ()))
    return keys


def _xread_getkeys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    streams_pos = -1
    i = 1
    argc = len(argv)
    while i < argc:
        arg = argv[i].lower()
        if arg in (b"block", b"count"):
            i += 1
        elif arg == b"group":
            i += 2
        elif arg == b"noack":
            pass
        elif arg == b"streams":
            streams_pos = i
            break
        else:
            break
        i += 1
    num = argc - streams_pos - 1 if streams_pos != -1 else 0
    if streams_pos == -1 or num == 0 or num % 2:
        return []
    num //= 2
    return [(i, ()) for i in range(streams_pos + 1, argc - num)]


def _set_getkeys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    for arg in argv[3:]:
        if arg.lower() == b"get":
            return [(1, ("RW", "ACCESS", "UPDATE"))]
    return [(1, ("OW", "UPDATE"))]


def _bitfield_getkeys(cmd: Command, argv: list[bytes]) -> list[KeyRef]:
    readonly = True
    i = 2
    argc = len(argv)
    while i < argc:
        remargs = argc - i - 1
        arg = argv[i].lower()
        if arg == b"get" and remargs >= 2:
            i += 2
        elif arg in (b"set", b"incrby") and remargs >= 3:
            readonly = False
            break
        elif arg == b"overflow" and remargs >= 1:
            i += 1
        else:
            readonly = False
            break
        i += 1
    if readonly:
        return [(1, ("RO", "ACCESS"))]
    return [(1, ("RW", "ACCESS", "UPDATE"))]


NATIVE_GETKEYS: dict[str, Callable[[Command, list[bytes]], list[KeyRef]]] = {
    "sintercardGetKeys": lambda cmd, argv: _generic_getkeys(0, 1, 2, 1, argv),
    "zunionInterDiffStoreGetKeys": lambda cmd, argv: _generic_getkeys(1, 2, 3, 1, argv),
    "zunionInterDiffGetKeys": lambda cmd, argv: _generic_getkeys(0, 1, 2, 1, argv),
    "evalGetKeys": lambda cmd, argv: _generic_getkeys(0, 2, 3, 1, argv),
    "functionGetKeys": lambda cmd, argv: _generic_getkeys(0, 2, 3, 1, argv),
    "lmpopGetKeys": lambda cmd, argv: _generic_getkeys(0, 1, 2, 1, argv),
    "blmpopGetKeys": lambda cmd, argv: _generic_getkeys(0, 2, 3, 1, argv),
    "zmpopGetKeys": lambda cmd, argv: _generic_getkeys(0, 1, 2, 1, argv),
    "bzmpopGetKeys": lambda cmd, argv: _generic_getkeys(0, 2, 3, 1, argv),
    "sortROGetKeys": _sort_ro_getkeys,
    "sortGetKeys": _sort_getkeys,
    "migrateGetKeys": _migrate_getkeys,
    "georadiusGetKeys": _georadius_getkeys,
    "xreadGetKeys": _xread_getkeys,
    "setGetKeys": _set_getkeys,
    "bitfieldGetKeys": _bitfield_getkeys,
}


# --------------------------------------------------------------------------
# The commands
# --------------------------------------------------------------------------
@command("command")
def command_command(c: Any, argv: list[bytes]) -> None:
    """COMMAND: info about every command."""
    table = c.server.commands.commands
    c.add_reply_array_len(len(table))
    for cmd in table.values():
        reply_command_info(c, cmd)


@command("command|count")
def command_count_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_int(len(c.server.commands.commands))


@command("command|info")
def command_info_command(c: Any, argv: list[bytes]) -> None:
    if len(argv) == 2:
        command_command(c, argv)
        return
    c.add_reply_array_len(len(argv) - 2)
    for name in argv[2:]:
        reply_command_info(c, lookup_by_fullname(c.server, name))


@command("command|docs")
def command_docs_command(c: Any, argv: list[bytes]) -> None:
    if len(argv) == 2:
        table = c.server.commands.commands
        c.add_reply_map_len(len(table))
        for cmd in table.values():
            c.add_reply_bulk(cmd.fullname.encode())
            reply_command_docs(c, cmd)
        return
    found = [cmd for cmd in (lookup_by_fullname(c.server, n) for n in argv[2:])
             if cmd is not None]
    c.add_reply_map_len(len(found))
    for cmd in found:
        c.add_reply_bulk(cmd.fullname.encode())
        reply_command_docs(c, cmd)


def _acl_category_by_name(name: bytes) -> AclCat | None:
    for cat, reply_name in ACL_CATEGORY_NAMES:
        if reply_name[1:] == name.lower():
            return cat
    return None


@command("command|list")
def command_list_command(c: Any, argv: list[bytes]) -> None:
    filter_type = None
    filter_arg = b""
    i = 2
    while i < len(argv):
        moreargs = len(argv) - 1 - i
        if argv[i].lower() == b"filterby" and moreargs == 2:
            kind = argv[i + 1].lower()
            if kind not in (b"module", b"aclcat", b"pattern"):
                c.add_reply_error(replies.SYNTAX)
                return
            filter_type = kind
            filter_arg = argv[i + 2]
            i += 3
        else:
            c.add_reply_error(replies.SYNTAX)
            return
    match: Callable[[Command], bool]
    if filter_type is None:
        def match(cmd: Command) -> bool:
            return True
    elif filter_type == b"module":
        def match(cmd: Command) -> bool:
            return False            # no modules are loaded
    elif filter_type == b"aclcat":
        cat = _acl_category_by_name(filter_arg)

        def match(cmd: Command) -> bool:
            return cat is not None and bool(cmd.acl_categories & cat)
    else:
        def match(cmd: Command) -> bool:
            return glob_match(filter_arg, cmd.fullname.encode(), nocase=True)
    names = [cmd.fullname.encode() for cmd in c.server.commands.all_commands() if match(cmd)]
    c.add_reply_bulks(names)


def _getkeys_reply(c: Any, argv: list[bytes], with_flags: bool) -> None:
    """getKeysSubcommandImpl."""
    args = argv[2:]
    cmd = c.server.commands.lookup(args)
    if cmd is None:
        c.add_reply_error("Invalid command specified")
        return
    if not does_command_have_keys(cmd):
        c.add_reply_error("The command has no key arguments")
        return
    arity = cmd.arity
    if (arity > 0 and arity != len(args)) or len(args) < -arity:
        c.add_reply_error("Invalid number of arguments specified for command")
        return
    keys = get_keys(cmd, args)
    if not keys:
        if cmd.flags & CmdFlag.NO_MANDATORY_KEYS:
            c.add_reply_array_len(0)
        else:
            c.add_reply_error("Invalid arguments specified for command")
        return
    c.add_reply_array_len(len(keys))
    for pos, flags in keys:
        if with_flags:
            c.add_reply_array_len(2)
            c.add_reply_bulk(args[pos])
            _key_flags_reply(c, flags)
        else:
            c.add_reply_bulk(args[pos])


@command("command|getkeys")
def command_getkeys_command(c: Any, argv: list[bytes]) -> None:
    _getkeys_reply(c, argv, False)


@command("command|getkeysandflags")
def command_getkeysandflags_command(c: Any, argv: list[bytes]) -> None:
    _getkeys_reply(c, argv, True)


@command("command|help")
def command_help_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_help("command", COMMAND_HELP)
