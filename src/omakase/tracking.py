"""Client-side caching: key tracking and invalidation (Redis's ``tracking.c``).

A client that runs ``CLIENT TRACKING on`` asks to be told when keys it may
hold in a local cache change.  Two ways to know which keys those are:

* default mode: the server remembers the keys the client read.  After every
  READONLY command (``call()``), the command's keys (from its key specs,
  ``commands.introspection.get_keys``) go into the *tracking table*, a dict
  ``key -> {client id: None}`` -- one table for the whole server, as in Redis:
  key names are not qualified by db.  When a key is modified
  (``Db.signal_modified_key``, which every write, expiry and eviction goes
  through), every client remembered for it gets an invalidation and the key
  is forgotten (``trackingInvalidateKey``): one message per modification,
  then nothing until the client reads the key again.
  OPTIN / OPTOUT restrict this to reads preceded (OPTIN, ``CLIENT CACHING
  yes``) or not preceded (OPTOUT, ``CLIENT CACHING no``) by CLIENT CACHING;
  the CACHING flag covers the next command, or the next MULTI/EXEC
  transaction, and survives other CLIENT subcommands in between, as Redis's
  ``resetClient`` keeps it.
* BCAST mode: nothing is remembered per client.  The *prefix table*
  ``prefix -> Bcast(keys, clients)`` collects each modified key under every
  prefix it starts with (with the client that changed it last), and the
  before-sleep hook sends each prefix's keys, sorted, as one invalidation to
  each client subscribed to that prefix
  (``trackingBroadcastInvalidationMessages``).  BCAST without PREFIX is the
  empty prefix: every key.

NOLOOP: no invalidation for a change made by the client itself (its own
top-level command) -- default mode skips the client, BCAST leaves out the
keys it modified last.

Messages (``sendTrackingMessage``)
----------------------------------
A RESP3 client gets a push ``>2 $10 invalidate <payload>``; with ``REDIRECT
id`` the message goes to that client instead: a push if it speaks RESP3, a
pub/sub ``message`` on ``__redis__:invalidate`` if it is a RESP2 client in
subscribed context, nothing otherwise (a RESP2 client without redirect gets
nothing at all).  The payload is an array of key names; a flush of one or
all dbs sends a null instead (``_`` / ``$-1``, in the protocol of the
*tracking* client, as Redis does) to every tracking client and empties the
tracking table.  When the redirect target has gone, the tracking client is
flagged ``broken_redirect`` and, in RESP3, gets
``>2 tracking-redir-broken <id>``.  Like every push (Redis's
``CLIENT_PUSHING``), these messages ignore CLIENT REPLY OFF/SKIP.

An invalidation addressed to the client whose command is running is held
back (``pending``) and sent after that command's reply -- after EXEC's reply
for a transaction (``trackingHandlePendingKeyInvalidations``).

``tracking-table-max-keys`` bounds the tracking table: before each top-level
command (Redis does it in processCommand, before the command executes, so
the messages are sent at once) and in serverCron, keys beyond the limit are
evicted with an invalidation sent to their clients, as if they had changed
(``trackingLimitUsedSlots``, with its effort budget).
DIVERGENCE: Redis evicts random keys (a radix-tree random walk); here the
oldest remembered keys go first (dict order), with the same effort budget.
DIVERGENCE: a flush tells tracking clients in connection order; Redis walks
its client list, which its cron keeps rotating (only observable when two
tracking clients redirect to the same connection).

Costs when nobody tracks
------------------------
Nothing is installed until the first CLIENT TRACKING on: no state, no hooks.
From then on ``Server.call`` is wrapped (an instance attribute shadowing the
method, removed again when the last tracking client goes) to know the
top-level client, remember keys and send held-back invalidations; every
``Db.tracking_hook`` points at ``invalidate_key`` (one ``is not None`` test
per modified key while it is unset); the before-sleep hook is one flag test
unless BCAST keys are waiting.  CLIENT CACHING's one-command lifetime rides
on the input loop's existing per-command reset test (``c.skip_next_reply``,
see ``commands.client.reset_reply_skip``), set only while the flag is held.  Like Redis's tables, the tracking table
outlives the clients that filled it: ids of clients that left or turned
tracking off are dropped lazily, when their key changes or is evicted.

Per-client state lives in ``c.tracking`` (a ``ClientTracking``: the redirect
id and the client's BCAST prefixes) and in ``c.flags`` (Redis's
``CLIENT_TRACKING*`` bits, ``ClientFlag.TRACKING...``).  The INFO fields
``tracking_clients``, ``tracking_total_keys``, ``tracking_total_items`` and
``tracking_total_prefixes`` are kept as server attributes.

Scripts, as in Redis 7.0 (``trackingRememberKeys(caller)``): a READONLY
command a script runs makes the script's *caller* remember the keys of the
caller's own command -- the EVAL/FCALL keys, not the keys the script read --
and EVAL_RO/EVALSHA_RO/FCALL_RO remember nothing by themselves.

The client that modified a key is the client whose top-level command is
running (Redis's ``server.current_client``), except for an expired or
evicted key, which has no author (Redis's ``signalModifiedKey(NULL, ...)``):
a NOLOOP BCAST client is told about keys its own reads expired.  An expiry
is recognised by the expired/evicted counters having moved since the last
signal (they are bumped just before the key is signalled).
DIVERGENCE: right after CONFIG RESETSTAT the first modified key counts as
authorless for that purpose.
"""
from __future__ import annotations

from itertools import islice
from typing import Any, Callable

from omakase.networking import Client, ClientFlag

TRACKING = ClientFlag.TRACKING
BROKEN_REDIR = ClientFlag.TRACKING_BROKEN_REDIR
BCAST = ClientFlag.TRACKING_BCAST
OPTIN = ClientFlag.TRACKING_OPTIN
OPTOUT = ClientFlag.TRACKING_OPTOUT
CACHING = ClientFlag.TRACKING_CACHING
NOLOOP = ClientFlag.TRACKING_NOLOOP
ALL_TRACKING_FLAGS = TRACKING | BROKEN_REDIR | BCAST | OPTIN | OPTOUT | CACHING | NOLOOP
_MULTI = ClientFlag.MULTI
_PUBSUB = ClientFlag.PUBSUB
_CLOSING = ClientFlag.CLOSE_AFTER_REPLY | ClientFlag.CLOSE_ASAP

_INVALIDATE_PUSH = b">2\r\n$10\r\ninvalidate\r\n"
_INVALIDATE_MESSAGE = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}
# READONLY commands that remember nothing themselves: only the READONLY
# commands their script runs do (call()'s exclusion of evalRo/evalShaRo/fcallro).
_NOT_REMEMBERED = {"eval_ro", "evalsha_ro", "fcall_ro"}


class ClientTracking:
    """A client's tracking settings (c.tracking)."""
    __slots__ = ("redirect", "prefixes", "executed")

    def __init__(self) -> None:
        self.redirect = 0
        self.prefixes: dict[bytes, None] = {}   # BCAST prefixes (Redis: a rax)
        self.executed = False     # the last top-level command went through call()


class Bcast:
    """One prefix of the prefix table (Redis's bcastState)."""
    __slots__ = ("keys", "clients")

    def __init__(self) -> None:
        self.keys: dict[bytes, Client | None] = {}   # key -> last modifier
        self.clients: dict[Client, None] = {}


def key_array(keys: list[bytes]) -> bytes:
    """An array of bulk strings (the invalidation payload)."""
    parts = [b"*%d\r\n" % len(keys)]
    for k in keys:
        parts.append(b"$%d\r\n%b\r\n" % (len(k), k))
    return b"".join(parts)


def _id_order(cid: int) -> bytes:
    # Redis keys the per-key id set by the id's 8 native (little-endian)
    # bytes, so that is the order clients are told in.
    return cid.to_bytes(8, "little")


class Tracking:
    """The server's tracking and prefix tables (server.tracking)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.table: dict[bytes, dict[int, None]] = {}
        self.items = 0
        self.prefixes: dict[bytes, Bcast] = {}
        self.bcast_pending = False
        self.current: Client | None = None     # the top-level client executing
        self.pending: list[bytes | None] = []  # held back for self.current
        self.limit_rounds = 0                  # trackingLimitUsedSlots' timeout_counter
        self.removed_seen = 0                  # expired + evicted keys, last seen
        self.keys_of: dict[Any, Callable[[list[bytes]], Any] | None] = {}
        self.call_installed = False
        self._base_call: Callable[..., None] = server.call
        server.tracking_clients = 0
        self.update_stats()
        server.client_free_hooks.append(self.disable)
        if not hasattr(server, "client_reset_hooks"):
            server.client_reset_hooks = []
        server.client_reset_hooks.append(self.disable)
        server.before_sleep_hooks.append(self.before_sleep)
        server.cron_hooks.append(self.cron)
        for db in server.dbs:
            db.tracking_hook = self.invalidate_key

    def update_stats(self) -> None:
        server = self.server
        server.tracking_total_keys = len(self.table)
        server.tracking_total_items = self.items
        server.tracking_total_prefixes = len(self.prefixes)

    # ------------------------------------------------------------------
    # Enabling and disabling (enableTracking / disableTracking)
    # ------------------------------------------------------------------
    def enable(self, c: Client, redirect: int, options: int, prefixes: list[bytes]) -> None:
        server = self.server
        if not c.flags & TRACKING:
            server.tracking_clients += 1
            if not self.call_installed:
                self.call_installed = True
                self._base_call = server.call       # the method, or another wrapper
                server.call = self.call
                server.refresh_guards()
        tr = c.tracking
        if tr is None:
            tr = c.tracking = ClientTracking()
        c.flags = (c.flags | TRACKING) & ~(BROKEN_REDIR | BCAST | OPTIN | OPTOUT | NOLOOP)
        tr.redirect = redirect
        if options & BCAST:
            c.flags |= BCAST
            self.removed_seen = server.stat_expiredkeys + server.stat_evictedkeys
            for p in prefixes or [b""]:
                bs = self.prefixes.get(p)
                if bs is None:
                    bs = self.prefixes[p] = Bcast()
                if c not in bs.clients:
                    bs.clients[c] = None
                    tr.prefixes[p] = None
        c.flags |= options & (OPTIN | OPTOUT | NOLOOP)
        self.update_stats()

    def disable(self, c: Client) -> None:
        flags = c.flags
        if not flags & ALL_TRACKING_FLAGS:
            return
        tr = c.tracking
        if flags & BCAST and tr is not None:
            for p in tr.prefixes:
                bs = self.prefixes.get(p)
                if bs is None:
                    continue
                bs.clients.pop(c, None)
                if not bs.clients:
                    del self.prefixes[p]
            tr.prefixes = {}
        if flags & TRACKING:
            server = self.server
            server.tracking_clients -= 1
            c.flags = flags & ~ALL_TRACKING_FLAGS
            if server.tracking_clients == 0 and self.call_installed:
                self.call_installed = False
                base = self._base_call
                if getattr(base, "__func__", None) is type(server).call:
                    server.__dict__.pop("call", None)
                else:
                    server.call = base
                server.refresh_guards()
        self.update_stats()

    def prefix_collision(self, c: Client, prefixes: list[bytes]) -> tuple[str, bool]:
        """checkPrefixCollisionsOrReply: ('', True) when the prefixes are
        fine, else the error and whether tracking is still enabled: Redis
        returns the index of the prefix that overlaps a later one given in
        the same command, so past the first prefix it replies the error and
        then enables tracking anyway."""
        tr = c.tracking
        existing = sorted(tr.prefixes) if tr is not None else []
        for i, p in enumerate(prefixes):
            for old in existing:
                n = min(len(old), len(p))
                if old[:n] == p[:n]:
                    return (f"Prefix '{_cstr(p)}' overlaps with an existing prefix "
                            f"'{_cstr(old)}'. Prefixes for a single client must not "
                            f"overlap.", False)
            for q in prefixes[i + 1:]:
                n = min(len(q), len(p))
                if q[:n] == p[:n]:
                    return (f"Prefix '{_cstr(p)}' overlaps with another provided prefix "
                            f"'{_cstr(q)}'. Prefixes for a single client must not "
                            f"overlap.", i != 0)
        return "", True

    # ------------------------------------------------------------------
    # call(): the top-level client, remembered keys, held-back messages
    # ------------------------------------------------------------------
    def call(self, c: Client, cmd: Any, argv: list[bytes]) -> None:
        """Server.call while some client tracks (installed by enable)."""
        server = self.server
        if server.in_call:
            self._base_call(c, cmd, argv)
            if cmd.is_readonly and cmd.fullname not in _NOT_REMEMBERED:
                caller = self.current or c
                if caller.flags & TRACKING:
                    if caller is c:             # a command of MULTI/EXEC
                        self.remember(c, cmd, argv)
                    else:                       # redis.call() in a script
                        self.remember(caller, caller.cmd, caller.argv)
            return
        max_keys = server.config.tracking_table_max_keys
        if max_keys and len(self.table) > max_keys:
            self.limit_used_slots()         # processCommand's step: sent at once
        self.current = c
        try:
            self._base_call(c, cmd, argv)
            flags = c.flags
            if cmd.is_readonly and flags & TRACKING and cmd.fullname not in _NOT_REMEMBERED:
                self.remember(c, cmd, argv)
            if flags & CACHING:
                # resetClient: CACHING covers one command (or transaction),
                # CLIENT subcommands do not use it up.
                if not flags & _MULTI and (cmd.parent is None or cmd.parent.name != "client"):
                    c.flags = flags & ~CACHING
                else:
                    c.tracking.executed = True      # decided: after_command keeps it
        finally:
            self.current = None
        if self.pending:
            self.flush_pending(c)

    def after_command(self, c: Client) -> None:
        """resetClient's CACHING step for a command that did not go through
        call() (rejected, or queued by MULTI): called after every command of
        a client holding the CACHING flag (see client.reset_reply_skip)."""
        tr = c.tracking
        if tr is not None and tr.executed:
            tr.executed = False
            return
        if not c.flags & _MULTI:
            c.flags &= ~CACHING

    def remember(self, c: Client, cmd: Any, argv: list[bytes]) -> None:
        """trackingRememberKeys (c is the tracking client)."""
        flags = c.flags
        if flags & BCAST:
            return
        if flags & (OPTIN | OPTOUT):
            caching = flags & CACHING
            if (flags & OPTIN and not caching) or (flags & OPTOUT and caching):
                return
        try:
            keys_of = self.keys_of[cmd]
        except KeyError:
            keys_of = self.keys_of[cmd] = _key_extractor(cmd)
        if keys_of is None:
            return
        table = self.table
        cid = c.id
        added = 0
        for pos in keys_of(argv):
            key = argv[pos]
            ids = table.get(key)
            if ids is None:
                table[key] = {cid: None}
                added += 1
            elif cid not in ids:
                ids[cid] = None
                added += 1
        if added:
            self.items += added
            self.update_stats()

    def flush_pending(self, c: Client) -> None:
        """trackingHandlePendingKeyInvalidations."""
        pending = self.pending
        self.pending = []
        if c.id not in self.server.clients:
            return
        for key in pending:
            if key is None:
                self.send(c, _NULL[3 if c.resp == 3 else 2], True)
            else:
                self.send(c, key, False)

    # ------------------------------------------------------------------
    # Invalidation
    # ------------------------------------------------------------------
    def invalidate_key(self, key: bytes) -> None:
        """trackingInvalidateKey(current client, key, bcast=1): the
        Db.tracking_hook, run for every modified key."""
        if self.prefixes:
            modifier = self.current
            server = self.server
            removed = server.stat_expiredkeys + server.stat_evictedkeys
            if removed != self.removed_seen:
                # An expiry or eviction counts itself just before it signals
                # the key: Redis names no client as its author.
                self.removed_seen = removed
                modifier = None
            for p, bs in self.prefixes.items():
                if key.startswith(p):
                    bs.keys[key] = modifier
                    self.bcast_pending = True
        if key in self.table:
            self._invalidate(key)

    def _invalidate(self, key: bytes) -> None:
        ids = self.table.pop(key)
        self.items -= len(ids)
        self.update_stats()
        clients = self.server.clients
        current = self.current
        order = sorted(ids, key=_id_order) if len(ids) > 1 else ids
        for cid in order:
            target = clients.get(cid)
            if target is None:
                continue
            flags = target.flags
            if not flags & TRACKING or flags & BCAST:
                continue
            if target is current:
                if not flags & NOLOOP:
                    self.pending.append(key)
                continue
            self.send(target, key, False)

    def invalidate_on_flush(self) -> None:
        """trackingInvalidateKeysOnFlush: a null to every tracking client,
        then forget every remembered key."""
        server = self.server
        if server.tracking_clients:
            current = self.current
            for c in list(server.clients.values()):
                if c.flags & TRACKING:
                    if c is current:
                        self.pending.append(None)
                    else:
                        self.send(c, _NULL[3 if c.resp == 3 else 2], True)
        self.table = {}
        self.items = 0
        self.update_stats()

    def limit_used_slots(self) -> None:
        """trackingLimitUsedSlots: keep the table within
        tracking-table-max-keys, a bounded effort per call."""
        max_keys = self.server.config.tracking_table_max_keys
        table = self.table
        if not max_keys:
            return
        if len(table) <= max_keys:
            self.limit_rounds = 0
            return
        effort = 100 * (self.limit_rounds + 1)
        for key in list(islice(table, min(effort, len(table) - max_keys))):
            if key in table:
                self._invalidate(key)
        if len(table) <= max_keys:
            self.limit_rounds = 0
        else:
            self.limit_rounds += 1

    def cron(self) -> None:
        if self.server.tracking_clients:
            self.limit_used_slots()

    # ------------------------------------------------------------------
    # BCAST: one message per prefix, before sleeping
    # ------------------------------------------------------------------
    def before_sleep(self) -> None:
        """trackingBroadcastInvalidationMessages."""
        if not self.bcast_pending:
            return
        self.bcast_pending = False
        if not self.server.tracking_clients:
            return
        for p in sorted(self.prefixes):
            bs = self.prefixes.get(p)
            if bs is None:
                continue
            if bs.keys:
                keys = sorted(bs.keys)
                proto = key_array(keys)
                for c in list(bs.clients):
                    if c.flags & NOLOOP:
                        mods = bs.keys
                        own = [k for k in keys if mods[k] is not c]
                        if own:
                            self.send(c, key_array(own), True)
                    else:
                        self.send(c, proto, True)
                bs.keys = {}

    # ------------------------------------------------------------------
    # Delivery
    # ------------------------------------------------------------------
    def send(self, c: Client, payload: bytes, proto: bool) -> None:
        """sendTrackingMessage: payload is a key name, or (proto) RESP
        already (an array of keys, or a null for a flush)."""
        target = c
        redirected = False
        redirect = c.tracking.redirect if c.tracking is not None else 0
        if redirect:
            target = self.server.clients.get(redirect)
            if target is None:
                c.flags |= BROKEN_REDIR
                if c.resp == 3:
                    c.reply.append(b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % redirect)
                    c.queue_write()
                return
            redirected = True
        if target.resp == 3:
            head = _INVALIDATE_PUSH
        elif redirected and target.flags & _PUBSUB:
            head = _INVALIDATE_MESSAGE
        else:
            return
        if target.flags & _CLOSING:
            return              # prepareClientToWrite: no output for a closing client
        if not proto:
            payload = b"*1\r\n$%d\r\n%b\r\n" % (len(payload), payload)
        target.reply.append(head + payload)
        target.queue_write()


def _cstr(b: bytes) -> str:
    """A prefix as Redis's %s prints it: up to the first NUL byte."""
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _key_extractor(cmd: Any) -> Callable[[list[bytes]], Any] | None:
    """The key positions of a READONLY command, fast for the usual one-key
    spec; None when its keys are never remembered."""
    from omakase.commands.introspection import get_keys, getkeys_proc_for
    from omakase.commands.registry import CmdFlag
    if cmd.flags & CmdFlag.PUBSUB:
        return None
    specs = cmd.key_specs
    if (len(specs) == 1 and getkeys_proc_for(cmd) is None
            and "index" in specs[0]["begin_search"] and "range" in specs[0]["find_keys"]
            and not set(specs[0]["flags"]) & {"INCOMPLETE", "VARIABLE_FLAGS", "NOT_KEY"}):
        first = specs[0]["begin_search"]["index"]["pos"]
        rng = specs[0]["find_keys"]["range"]
        if rng["lastkey"] == 0:
            only = (first,)
            return lambda argv: only if first < len(argv) else ()
    return lambda argv: [pos for pos, _flags in get_keys(cmd, argv)]


def get_tracking(server: Any) -> Tracking:
    """The server's tracking state, created by the first CLIENT TRACKING."""
    state = getattr(server, "tracking", None)
    if state is None:
        state = server.tracking = Tracking(server)
    return state
