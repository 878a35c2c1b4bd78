"""CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

The handlers are thin, as in Redis's ``config.c``: all the logic (pattern
matching, validation, atomic multi-set, listeners, rewrite) lives in
``omakase.config``; here we only turn argv into calls and results into
replies.  CONFIG GET answers a map (RESP3) or a flat array (RESP2).

Protected directives (``dir``, ``dbfilename``) need
``enable-protected-configs yes``, or ``local`` and a client on the loopback
interface or a unix socket (``islocalClient``).  Values of sensitive
directives (``requirepass``, ``masterauth``, ``masteruser``) are redacted from
the command's argv before it can reach SLOWLOG or MONITOR, when the client
offers ``redact_argument(index)``.
"""
from __future__ import annotations

from typing import Any

from omakase import replies
from omakase.commands.registry import command
from omakase.config import ConfigSetError

HELP = [
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
]


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def client_is_local(c: Any) -> bool:
    """islocalClient: a unix socket, or a loopback peer address."""
    if getattr(c, "is_unix", False):
        return True
    addr = getattr(c, "addr", "") or ""
    host = addr.rsplit(":", 1)[0] if ":" in addr else addr
    host = host.strip("[]")
    return host.startswith("127.") or host in ("::1", "localhost") or host.startswith("::ffff:127.")


@command("config|get")
def config_get_command(c: Any, argv: list[bytes]) -> None:
    pairs = c.server.config.get(argv[2:])
    c.add_reply_map_len(len(pairs))
    for name, value in pairs:
        c.add_reply_bulk(_enc(name))
        c.add_reply_bulk(_enc(value))


@command("config|set")
def config_set_command(c: Any, argv: list[bytes]) -> None:
    if len(argv) & 1:
        c.add_reply_error(replies.SYNTAX)
        return
    cfg = c.server.config
    # Redact every sensitive value first, even if the command then fails.
    redact = getattr(c, "redact_argument", None)
    if redact is not None:
        for i in range(2, len(argv), 2):
            if cfg.is_sensitive(argv[i]):
                redact(i + 1)
    pairs = list(zip(argv[2::2], argv[3::2]))
    try:
        cfg.set(pairs, client_is_local=client_is_local(c),
                loading=bool(getattr(c.server, "loading", False)))
    except ConfigSetError as exc:
        c.add_reply_error(exc.reply)
        return
    c.add_reply_ok()


@command("config|resetstat")
def config_resetstat_command(c: Any, argv: list[bytes]) -> None:
    c.server.reset_stats()
    c.add_reply_ok()


@command("config|rewrite")
def config_rewrite_command(c: Any, argv: list[bytes]) -> None:
    server = c.server
    try:
        server.config.rewrite(server.config_file)
    except ConfigSetError as exc:
        if server.config_file is not None:
            server.log.warning("CONFIG REWRITE failed: %s" % exc.reply.split(": ", 1)[-1])
        c.add_reply_error(exc.reply)
        return
    server.log.warning("CONFIG REWRITE executed with success.")
    c.add_reply_ok()


@command("config|help")
def config_help_command(c: Any, argv: list[bytes]) -> None:
    c.add_reply_help("config", HELP)
