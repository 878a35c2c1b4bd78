"""Pub/Sub: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB *
(Redis's ``pubsub.c``).

State
-----
Server side, a ``PubSub`` object attached by ``install`` as
``server.pubsub`` holds three dicts, ``channels``, ``patterns`` and
``shard_channels``: name -> {client: None}.  A dict used as an ordered set
keeps subscription order (Redis appends subscribers to a list) and removes a
client in O(1).  The same dicts are also published as the server attributes
``pubsub_channels`` / ``pubsub_patterns`` / ``pubsub_shard_channels`` that
INFO reads.  Client side, ``c.pubsub_channels`` / ``c.pubsub_patterns`` /
``c.pubsub_shard_channels`` are dicts (ordered sets) too; a client with no
subscriptions of a kind keeps ``None`` there.

Replies
-------
Every pub/sub reply -- subscribe confirmations and delivered messages -- is an
array in RESP2 and a push in RESP3, and, as in Redis 7.0 (``CLIENT_PUSHING``),
bypasses ``CLIENT REPLY OFF|SKIP``: they are appended to ``c.reply`` directly.
A published message is encoded once per protocol and the same bytes object is
appended to every receiver, which is then queued for ``before_sleep`` to write.

``ClientFlag.PUBSUB`` is set by every (P|S)SUBSCRIBE and cleared when the
client's total count (channels + patterns + shard channels) drops to zero;
``Server.process_command`` enforces the RESP2 subscribed-context rule with it.
Clients leaving (``client_free_hooks``) or RESET (``client_reset_hooks``) drop
every subscription silently.

Keyspace notifications (``omakase.notify``) publish through
``PubSub.publish``.

DIVERGENCE: PUBSUB CHANNELS / SHARDCHANNELS list channels, and a message
matching several patterns is delivered, in subscription order rather than
Redis's hash-table order.  PUBLISH is not propagated to replicas (Redis
forces replication propagation of PUBLISH); the client-output-buffer-limit
``pubsub`` class is not enforced here.
"""
from __future__ import annotations

from typing import Any

from omakase.commands.registry import command
from omakase.networking import Client, ClientFlag
from omakase.util import glob_match

_MESSAGE = b"$7\r\nmessage\r\n"
_PMESSAGE = b"$8\r\npmessage\r\n"
_SMESSAGE = b"$8\r\nsmessage\r\n"
_NULL2 = b"$-1\r\n"
_NULL3 = b"_\r\n"


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(b), b)


class _Kind:
    """Redis's ``pubsubtype``: plain channels or shard channels."""
    __slots__ = ("shard", "attr", "sub_msg", "unsub_msg", "msg_bulk")

    def __init__(self, shard: bool, attr: str, sub: bytes, unsub: bytes, msg: bytes) -> None:
        self.shard = shard
        self.attr = attr                # client attribute holding its channels
        self.sub_msg = _bulk(sub)
        self.unsub_msg = _bulk(unsub)
        self.msg_bulk = msg


CHANNELS = _Kind(False, "pubsub_channels", b"subscribe", b"unsubscribe", _MESSAGE)
SHARD = _Kind(True, "pubsub_shard_channels", b"ssubscribe", b"sunsubscribe", _SMESSAGE)
_PSUB = _bulk(b"psubscribe")
_PUNSUB = _bulk(b"punsubscribe")


def subscription_count(c: Client) -> int:
    """clientSubscriptionsCount: channels + patterns."""
    return len(c.pubsub_channels or ()) + len(c.pubsub_patterns or ())


def total_count(c: Client) -> int:
    """clientTotalPubSubSubscriptionCount."""
    return (len(c.pubsub_channels or ()) + len(c.pubsub_patterns or ())
            + len(c.pubsub_shard_channels or ()))


def _kind_count(c: Client, kind: _Kind) -> int:
    return len(c.pubsub_shard_channels or ()) if kind.shard else subscription_count(c)


def _push3(c: Client, body: bytes) -> None:
    """A three-element pub/sub reply (array / push), ignoring REPLY OFF."""
    c.reply.append((b">3\r\n" if c.resp == 3 else b"*3\r\n") + body)


def _null(c: Client) -> bytes:
    return _NULL3 if c.resp == 3 else _NULL2


class PubSub:
    """The server's subscription tables and the publish path."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.channels: dict[bytes, dict[Client, None]] = {}
        self.patterns: dict[bytes, dict[Client, None]] = {}
        self.shard_channels: dict[bytes, dict[Client, None]] = {}

    def _table(self, kind: _Kind) -> dict[bytes, dict[Client, None]]:
        return self.shard_channels if kind.shard else self.channels

    # -- channels ----------------------------------------------------------
    def subscribe(self, c: Client, channel: bytes, kind: _Kind) -> bool:
        """pubsubSubscribeChannel: True if newly subscribed; always replies."""
        mine = getattr(c, kind.attr)
        if mine is None:
            mine = {}
            setattr(c, kind.attr, mine)
        added = channel not in mine
        if added:
            mine[channel] = None
            self._table(kind).setdefault(channel, {})[c] = None
        _push3(c, kind.sub_msg + _bulk(channel) + b":%d\r\n" % _kind_count(c, kind))
        return added

    def unsubscribe(self, c: Client, channel: bytes | None, notify: bool, kind: _Kind) -> bool:
        """pubsubUnsubscribeChannel (channel None: only the 'nothing' reply)."""
        removed = False
        mine = getattr(c, kind.attr)
        if channel is not None and mine and channel in mine:
            removed = True
            del mine[channel]
            if not mine:
                setattr(c, kind.attr, None)
            table = self._table(kind)
            subs = table.get(channel)
            if subs is not None:
                subs.pop(c, None)
                if not subs:
                    del table[channel]
        if notify:
            _push3(c, kind.unsub_msg + (_bulk(channel) if channel is not None else _null(c))
                   + b":%d\r\n" % _kind_count(c, kind))
        return removed

    def unsubscribe_all(self, c: Client, notify: bool, kind: _Kind) -> int:
        """pubsubUnsubscribeAllChannelsInternal."""
        mine = getattr(c, kind.attr)
        count = 0
        if mine:
            for channel in list(mine):
                self.unsubscribe(c, channel, notify, kind)
                count += 1
        if notify and count == 0:
            self.unsubscribe(c, None, True, kind)
        return count

    # -- patterns ----------------------------------------------------------
    def psubscribe(self, c: Client, pattern: bytes) -> bool:
        mine = c.pubsub_patterns
        if mine is None:
            mine = c.pubsub_patterns = {}
        added = pattern not in mine
        if added:
            mine[pattern] = None
            self.patterns.setdefault(pattern, {})[c] = None
        _push3(c, _PSUB + _bulk(pattern) + b":%d\r\n" % subscription_count(c))
        return added

    def punsubscribe(self, c: Client, pattern: bytes | None, notify: bool) -> bool:
        removed = False
        mine = c.pubsub_patterns
        if pattern is not None and mine and pattern in mine:
            removed = True
            del mine[pattern]
            if not mine:
                c.pubsub_patterns = None
            subs = self.patterns.get(pattern)
            if subs is not None:
                subs.pop(c, None)
                if not subs:
                    del self.patterns[pattern]
        if notify:
            _push3(c, _PUNSUB + (_bulk(pattern) if pattern is not None else _null(c))
                   + b":%d\r\n" % subscription_count(c))
        return removed

    def punsubscribe_all(self, c: Client, notify: bool) -> int:
        mine = c.pubsub_patterns
        count = 0
        if mine:
            for pattern in list(mine):
                self.punsubscribe(c, pattern, notify)
                count += 1
        if notify and count == 0:
            self.punsubscribe(c, None, True)
        return count

    # -- publishing --------------------------------------------------------
    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """pubsubPublishMessage(Internal): the number of receivers."""
        receivers = 0
        subs = (self.shard_channels if shard else self.channels).get(channel)
        if subs:
            body = (_SMESSAGE if shard else _MESSAGE) + _bulk(channel) + _bulk(message)
            m2 = m3 = None
            for c in subs:
                if c.resp == 3:
                    if m3 is None:
                        m3 = b">3\r\n" + body
                    c.reply.append(m3)
                else:
                    if m2 is None:
                        m2 = b"*3\r\n" + body
                    c.reply.append(m2)
                c.queue_write()
                receivers += 1
        if shard or not self.patterns:
            return receivers
        tail = None
        for pattern, subs in self.patterns.items():
            if not glob_match(pattern, channel):
                continue
            if tail is None:
                tail = _bulk(channel) + _bulk(message)
            body = _PMESSAGE + _bulk(pattern) + tail
            m2 = m3 = None
            for c in subs:
                if c.resp == 3:
                    if m3 is None:
                        m3 = b">4\r\n" + body
                    c.reply.append(m3)
                else:
                    if m2 is None:
                        m2 = b"*4\r\n" + body
                    c.reply.append(m2)
                c.queue_write()
                receivers += 1
        return receivers

    # -- client life -------------------------------------------------------
    def drop_client(self, c: Client) -> None:
        """freeClient / clearClientConnectionState: silently unsubscribe all."""
        if c.pubsub_shard_channels:
            self.unsubscribe_all(c, False, SHARD)
        if c.pubsub_channels:
            self.unsubscribe_all(c, False, CHANNELS)
        if c.pubsub_patterns:
            self.punsubscribe_all(c, False)
        c.flags &= ~ClientFlag.PUBSUB


def install(server: Any) -> None:
    """Attach the pub/sub state, client cleanup and keyspace notifications."""
    state = PubSub(server)
    server.pubsub = state
    server.pubsub_channels = state.channels
    server.pubsub_patterns = state.patterns
    server.pubsub_shard_channels = state.shard_channels
    server.client_free_hooks.append(state.drop_client)
    if not hasattr(server, "client_reset_hooks"):
        server.client_reset_hooks = []
    server.client_reset_hooks.append(state.drop_client)
    from omakase.notify import install as install_notify
    install_notify(server)


def _update_flag(c: Client) -> None:
    if total_count(c) == 0:
        c.flags &= ~ClientFlag.PUBSUB


def _deny_blocking(c: Client, name: str, in_multi_ok: bool) -> bool:
    """CLIENT_DENY_BLOCKING clients (scripts, EXEC) expect one reply per command."""
    server = c.server
    if c.flags & ClientFlag.LUA or (server.in_exec and not in_multi_ok):
        c.add_reply_error(f"{name} isn't allowed for a DENY BLOCKING client")
        return True
    return False


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

@command("subscribe")
def subscribe_command(c: Client, argv: list[bytes]) -> None:
    if _deny_blocking(c, "SUBSCRIBE", True):
        return
    ps = c.server.pubsub
    for channel in argv[1:]:
        ps.subscribe(c, channel, CHANNELS)
    c.flags |= ClientFlag.PUBSUB


@command("unsubscribe")
def unsubscribe_command(c: Client, argv: list[bytes]) -> None:
    ps = c.server.pubsub
    if len(argv) == 1:
        ps.unsubscribe_all(c, True, CHANNELS)
    else:
        for channel in argv[1:]:
            ps.unsubscribe(c, channel, True, CHANNELS)
    _update_flag(c)


@command("psubscribe")
def psubscribe_command(c: Client, argv: list[bytes]) -> None:
    if _deny_blocking(c, "PSUBSCRIBE", True):
        return
    ps = c.server.pubsub
    for pattern in argv[1:]:
        ps.psubscribe(c, pattern)
    c.flags |= ClientFlag.PUBSUB


@command("punsubscribe")
def punsubscribe_command(c: Client, argv: list[bytes]) -> None:
    ps = c.server.pubsub
    if len(argv) == 1:
        ps.punsubscribe_all(c, True)
    else:
        for pattern in argv[1:]:
            ps.punsubscribe(c, pattern, True)
    _update_flag(c)


@command("ssubscribe")
def ssubscribe_command(c: Client, argv: list[bytes]) -> None:
    if _deny_blocking(c, "SSUBSCRIBE", False):
        return
    ps = c.server.pubsub
    for channel in argv[1:]:
        ps.subscribe(c, channel, SHARD)
    c.flags |= ClientFlag.PUBSUB


@command("sunsubscribe")
def sunsubscribe_command(c: Client, argv: list[bytes]) -> None:
    ps = c.server.pubsub
    if len(argv) == 1:
        ps.unsubscribe_all(c, True, SHARD)
    else:
        for channel in argv[1:]:
            ps.unsubscribe(c, channel, True, SHARD)
    _update_flag(c)


@command("publish")
def publish_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_int(c.server.pubsub.publish(argv[1], argv[2]))


@command("spublish")
def spublish_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_int(c.server.pubsub.publish(argv[1], argv[2], shard=True))


def _syntax_error(c: Client, argv: list[bytes]) -> None:
    """addReplySubcommandSyntaxError."""
    sub = argv[1][:128].decode("utf-8", "replace")
    cmd = argv[0].decode("utf-8", "replace").upper()
    c.add_reply_error(f"unknown subcommand or wrong number of arguments for '{sub}'. "
                      f"Try {cmd} HELP.")


def _channel_list(c: Client, argv: list[bytes], table: dict) -> None:
    if len(argv) > 3:
        _syntax_error(c, argv)
        return
    pat = argv[2] if len(argv) == 3 else None
    out = [ch for ch in table if pat is None or glob_match(pat, ch)]
    c.add_reply_bulks(out)


def _numsub(c: Client, argv: list[bytes], table: dict) -> None:
    c.add_reply_array_len((len(argv) - 2) * 2)
    for ch in argv[2:]:
        c.add_reply_bulk(ch)
        subs = table.get(ch)
        c.add_reply_int(len(subs) if subs else 0)


@command("pubsub|channels")
def pubsub_channels_command(c: Client, argv: list[bytes]) -> None:
    _channel_list(c, argv, c.server.pubsub.channels)


@command("pubsub|shardchannels")
def pubsub_shardchannels_command(c: Client, argv: list[bytes]) -> None:
    _channel_list(c, argv, c.server.pubsub.shard_channels)


@command("pubsub|numsub")
def pubsub_numsub_command(c: Client, argv: list[bytes]) -> None:
    _numsub(c, argv, c.server.pubsub.channels)


@command("pubsub|shardnumsub")
def pubsub_shardnumsub_command(c: Client, argv: list[bytes]) -> None:
    _numsub(c, argv, c.server.pubsub.shard_channels)


@command("pubsub|numpat")
def pubsub_numpat_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_int(len(c.server.pubsub.patterns))


@command("pubsub|help")
def pubsub_help_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_help("pubsub", [
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ])
