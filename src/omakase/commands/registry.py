"""Commands as data: one declaration per command, one table built from it.

Redis generates its command table from ``src/commands/*.json`` (arity, flags,
ACL categories, key specs, arguments, docs).  omakase ships the same facts,
folded into ``redis_commands.json`` by ``tools/gen_command_specs.py``, and a
handler is bound to its spec with a decorator:

    @command("get")
    def get_command(c: Client, argv: list[bytes]) -> None: ...

    @command("config|get")          # a subcommand of a container
    def config_get_command(c, argv): ...

The decorator only records ``name -> handler`` in ``DECLARATIONS`` (the
static equivalent of Redis's ``commands.def``, written once at import time
and never mutated afterwards).  A ``CommandTable`` is built per ``Server``
from the specs and the declarations: only commands that have a handler exist
(COMMAND COUNT, COMMAND INFO and dispatch all read this one table), and each
``Command`` carries its own statistics (calls, usec, failed and rejected
calls), so two servers in one process never share counters.

Dispatch is one dict lookup keyed by the exact bytes the client sent; a miss
lower-cases the name and, if found, remembers that spelling too (bounded), so
``GET``, ``get`` and ``Get`` all cost one lookup after the first time.
"""
from __future__ import annotations

import enum
import json
import pathlib
from typing import Callable

SPEC_FILE = pathlib.Path(__file__).with_name("redis_commands.json")

Handler = Callable[..., None]
DECLARATIONS: dict[str, Handler] = {}
GETKEYS_PROCS: dict[str, Callable] = {}


def command(name: str, getkeys: Callable | None = None) -> Callable[[Handler], Handler]:
    """Bind a handler (and optionally a key-extraction proc) to a spec."""
    def bind(fn: Handler) -> Handler:
        DECLARATIONS[name] = fn
        if getkeys is not None:
            GETKEYS_PROCS[name] = getkeys
        return fn
    return bind


class CmdFlag(enum.IntFlag):
    """Redis's CMD_* flags (server.h), named as in the JSON specs."""
    WRITE = 1 << 0
    READONLY = 1 << 1
    DENYOOM = 1 << 2
    MODULE = 1 << 3
    ADMIN = 1 << 4
    PUBSUB = 1 << 5
    NOSCRIPT = 1 << 6
    BLOCKING = 1 << 8
    LOADING = 1 << 9
    STALE = 1 << 10
    SKIP_MONITOR = 1 << 11
    SKIP_SLOWLOG = 1 << 12
    ASKING = 1 << 13
    FAST = 1 << 14
    NO_AUTH = 1 << 15
    MAY_REPLICATE = 1 << 16
    SENTINEL = 1 << 17
    ONLY_SENTINEL = 1 << 18
    NO_MANDATORY_KEYS = 1 << 19
    PROTECTED = 1 << 20
    MODULE_GETKEYS = 1 << 21
    MODULE_NO_CLUSTER = 1 << 22
    NO_ASYNC_LOADING = 1 << 23
    NO_MULTI = 1 << 24
    MOVABLE_KEYS = 1 << 25
    ALLOW_BUSY = 1 << 26
    MODULE_GETCHANNELS = 1 << 27
    TOUCHES_ARBITRARY_KEYS = 1 << 28


class AclCat(enum.IntFlag):
    """ACL categories in Redis's ACLCommandCategories order."""
    KEYSPACE = 1 << 0
    READ = 1 << 1
    WRITE = 1 << 2
    SET = 1 << 3
    SORTEDSET = 1 << 4
    LIST = 1 << 5
    HASH = 1 << 6
    STRING = 1 << 7
    BITMAP = 1 << 8
    HYPERLOGLOG = 1 << 9
    GEO = 1 << 10
    STREAM = 1 << 11
    PUBSUB = 1 << 12
    ADMIN = 1 << 13
    FAST = 1 << 14
    SLOW = 1 << 15
    BLOCKING = 1 << 16
    DANGEROUS = 1 << 17
    CONNECTION = 1 << 18
    TRANSACTION = 1 << 19
    SCRIPTING = 1 << 20


def _implicit_categories(flags: CmdFlag, cats: AclCat) -> AclCat:
    """setImplicitACLCategories."""
    if flags & CmdFlag.WRITE:
        cats |= AclCat.WRITE
    if flags & CmdFlag.READONLY and not cats & AclCat.SCRIPTING:
        cats |= AclCat.READ
    if flags & CmdFlag.ADMIN:
        cats |= AclCat.ADMIN | AclCat.DANGEROUS
    if flags & CmdFlag.PUBSUB:
        cats |= AclCat.PUBSUB
    if flags & CmdFlag.FAST:
        cats |= AclCat.FAST
    if flags & CmdFlag.BLOCKING:
        cats |= AclCat.BLOCKING
    if not cats & AclCat.FAST:
        cats |= AclCat.SLOW
    return cats


class Command:
    """One entry of the command table (Redis's struct redisCommand)."""
    __slots__ = ("name", "fullname", "arity", "flags", "acl_categories",
                 "key_specs", "spec", "proc", "getkeys_proc", "subcommands",
                 "parent", "id", "_calls", "_usec", "rejected_calls",
                 "failed_calls", "is_write", "is_denyoom", "is_readonly",
                 "is_protected", "latency_samples")

    def __init__(self, name: str, spec: dict, proc: Handler | None,
                 parent: "Command | None" = None) -> None:
        self.name = name
        self.fullname = f"{parent.name}|{name}" if parent else name
        self.arity: int = spec["arity"]
        flags = CmdFlag(0)
        for f in spec.get("command_flags", ()):
            flags |= CmdFlag[f]
        cats = AclCat(0)
        for cat in spec.get("acl_categories", ()):
            cats |= AclCat[cat]
        self.key_specs: list[dict] = spec.get("key_specs", [])
        for ks in self.key_specs:
            if "unknown" in ks.get("begin_search", {}) or "keynum" in ks.get("find_keys", {}):
                flags |= CmdFlag.MOVABLE_KEYS
        self.flags = flags
        self.acl_categories = _implicit_categories(flags, cats)
        self.spec = spec
        self.proc = proc
        self.getkeys_proc = GETKEYS_PROCS.get(self.fullname)
        self.subcommands: dict[bytes, Command] | None = None
        self.parent = parent
        self.id = 0
        # calls and usec are these plus the pending samples (see below)
        self._calls = 0
        self._usec = 0
        self.rejected_calls = 0
        self.failed_calls = 0
        # call() appends each duration (µs) here, and that one append is all
        # its counting: ``commands.latency`` folds the list into _calls,
        # _usec and the latency histogram from serverCron and on read.
        self.latency_samples: list[int] = []
        self.is_write = bool(flags & CmdFlag.WRITE)
        self.is_denyoom = bool(flags & CmdFlag.DENYOOM)
        self.is_readonly = bool(flags & CmdFlag.READONLY)
        # Hot-path checks read these plain bools: an IntFlag "&" costs about
        # a microsecond.
        self.is_protected = bool(flags & CmdFlag.PROTECTED)

    @property
    def calls(self) -> int:
        return self._calls + len(self.latency_samples)

    @property
    def usec(self) -> int:
        samples = self.latency_samples
        return self._usec + sum(samples) if samples else self._usec

    def count_without_sample(self, usec: int) -> None:
        """One call of usec that counts in calls and usec but not in the
        latency histogram (a call that blocked: its sample is taken when
        it is served)."""
        self._calls += 1
        self._usec += usec

    def add_usec(self, usec: int) -> None:
        """Time spent for this command outside call() (a blocked client
        served later)."""
        self._usec += usec

    def fold_samples(self) -> list[int]:
        """Count the pending samples into calls/usec; return them."""
        samples = self.latency_samples
        self.latency_samples = []
        self._calls += len(samples)
        self._usec += sum(samples)
        return samples

    def reset_stats(self) -> None:
        self._calls = self._usec = self.rejected_calls = self.failed_calls = 0
        self.latency_samples = []
        if self.subcommands:
            for sub in self.subcommands.values():
                sub.reset_stats()


def load_specs() -> dict:
    return json.loads(SPEC_FILE.read_text())


class CommandTable:
    """The server's command table (server.commands in Redis)."""

    def __init__(self, specs: dict | None = None) -> None:
        # Import every module that declares commands, so DECLARATIONS is full.
        from omakase.commands import load_all
        load_all()
        specs = specs if specs is not None else load_specs()
        self.commands: dict[str, Command] = {}
        next_id = 0
        for name, spec in sorted(specs.items()):
            subs = spec.get("subcommands")
            proc = DECLARATIONS.get(name)
            if subs:
                children = {s: DECLARATIONS[f"{name}|{s}"] for s in subs
                            if f"{name}|{s}" in DECLARATIONS}
                if not children and proc is None:
                    continue
                cmd = Command(name, spec, proc)
                cmd.subcommands = {}
                for sname, sproc in sorted(children.items()):
                    sub = Command(sname, subs[sname], sproc, parent=cmd)
                    next_id += 1
                    sub.id = next_id
                    cmd.subcommands[sname.encode()] = sub
            elif proc is None:
                continue
            else:
                cmd = Command(name, spec, proc)
            next_id += 1
            cmd.id = next_id
            self.commands[name] = cmd
        self._dispatch: dict[bytes, Command] = {n.encode(): c for n, c in self.commands.items()}

    def rename(self, old: str, new: str) -> None:
        """rename-command: the command answers to a new name ("" hides it)."""
        cmd = self.commands.pop(old.lower(), None)
        if cmd is None:
            return
        for k in [k for k, v in self._dispatch.items() if v is cmd]:
            del self._dispatch[k]
        if new:
            self.commands[new.lower()] = cmd
            self._dispatch[new.lower().encode()] = cmd

    def lookup_base(self, name: bytes) -> Command | None:
        cmd = self._dispatch.get(name)
        if cmd is None:
            cmd = self._dispatch.get(name.lower())
            if cmd is not None and len(self._dispatch) < 4096:
                self._dispatch[name] = cmd
        return cmd

    def lookup(self, argv: list[bytes]) -> Command | None:
        """lookupCommand: the command (or subcommand) argv names."""
        cmd = self._dispatch.get(argv[0])
        if cmd is None:
            cmd = self.lookup_base(argv[0])
            if cmd is None:
                return None
        if cmd.subcommands is not None and len(argv) >= 2:
            return cmd.subcommands.get(argv[1].lower())
        return cmd

    def lookup_by_fullname(self, fullname: str) -> Command | None:
        base, _, sub = fullname.lower().partition("|")
        cmd = self.commands.get(base)
        if cmd is None or not sub:
            return cmd
        return (cmd.subcommands or {}).get(sub.encode())

    def all_commands(self):
        """Every command and subcommand."""
        for cmd in self.commands.values():
            yield cmd
            if cmd.subcommands:
                yield from cmd.subcommands.values()

    def reset_stats(self) -> None:
        for cmd in self.commands.values():
            cmd.reset_stats()
